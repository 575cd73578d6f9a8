//! The tables a set of parsed models describes, as `duo-orm-schema`'s [`Table`]s: what the CLI
//! autogenerates migrations from without compiling the models. The runtime builds the same
//! tables from the compiled models (`ModelMeta::to_table`); a test holds the two to the same
//! DDL in five dialects.

use duo_orm_schema::{Column, ForeignKey, Index, ReferentialAction, RelationKind, Table};

use crate::model::{FieldDef, ModelDef};
use crate::relation::ThroughTable;

/// The column type of `field`: known from the syntax, or resolved from its type's
/// `#[derive(FieldType)]` by the caller.
fn column_type(model: &ModelDef, field: &FieldDef) -> Result<duo_orm_schema::ColumnType, String> {
    field
        .sql_type
        .clone()
        .ok_or_else(|| format!("the column type of `{}.{}` is declared by its type, which was not resolved", model.ident, field.ident))
}

fn last_ident(path: &syn::Path) -> String {
    path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
}

/// The tables of `models`, plus the bare join tables of their many-to-many relationships,
/// as the runtime's `create_all` creates them from the compiled models. Every field's column
/// type must be known (`FieldDef::sql_type` resolved); the error says what is wrong.
pub fn tables_of(models: &[ModelDef]) -> Result<Vec<Table>, String> {
    let find = |path: &syn::Path| -> Result<&ModelDef, String> {
        let name = last_ident(path);
        models
            .iter()
            .find(|m| m.ident == name)
            .ok_or_else(|| format!("the model `{name}` is referenced but not defined in the models directory; help: move it there"))
    };
    let key_of = |model: &ModelDef| -> Result<Column, String> {
        let keys: Vec<_> = model.primary_key().collect();
        match keys.as_slice() {
            [(_, field)] => Ok(Column {
                name: field.column.clone(),
                column_type: column_type(model, field)?,
                nullable: false,
                auto_increment: false,
                max_length: field.max_length,
                default: None,
            }),
            _ => Err(format!("`{}` is referenced but has a composite key; relationships need a single-column key", model.ident)),
        }
    };
    let mut tables: Vec<Table> = Vec::new();
    let exists = |tables: &[Table], name: &str| tables.iter().any(|t| t.name == name);
    for model in models {
        if exists(&tables, &model.table) {
            return Err(format!("two models use the table `{}`", model.table));
        }
        let mut table = Table {
            name: model.table.clone(),
            columns: Vec::new(),
            primary_key: model.primary_key().map(|(_, f)| f.column.clone()).collect(),
            indexes: model
                .indexes
                .iter()
                .map(|i| Index {
                    name: Index::conventional_name(&model.table, &i.columns, i.unique),
                    columns: i.columns.clone(),
                    unique: i.unique,
                })
                .collect(),
            foreign_keys: Vec::new(),
        };
        for field in &model.fields {
            table.columns.push(Column {
                name: field.column.clone(),
                column_type: column_type(model, field)?,
                nullable: field.nullable,
                auto_increment: field.auto_increment,
                max_length: field.max_length,
                default: field.default.clone(),
            });
            if let Some(reference) = &field.references {
                let target = find(&reference.target)?;
                let columns = vec![field.column.clone()];
                table.foreign_keys.push(ForeignKey {
                    name: ForeignKey::conventional_name(&model.table, &columns),
                    columns,
                    references: target.table.clone(),
                    referenced_columns: vec![key_of(target)?.name],
                    on_delete: reference.on_delete,
                    on_update: reference.on_update,
                });
            }
        }
        tables.push(table);
    }
    for model in models {
        for relation in model.relations.iter().filter(|r| r.kind == RelationKind::ManyToMany) {
            let Some(through) = &relation.through else { continue };
            let ThroughTable::Table(name) = &through.table else { continue };
            let name = name.value();
            if exists(&tables, &name) {
                continue;
            }
            let target = find(&relation.target)?;
            let side = |column: &syn::Ident, model: &ModelDef| -> Result<(Column, ForeignKey), String> {
                let key = key_of(model)?;
                let column = Column { name: column.to_string(), ..key.clone() };
                let columns = vec![column.name.clone()];
                let fk = ForeignKey {
                    name: ForeignKey::conventional_name(&name, &columns),
                    columns,
                    references: model.table.clone(),
                    referenced_columns: vec![key.name],
                    on_delete: Some(ReferentialAction::Cascade),
                    on_update: None,
                };
                Ok((column, fk))
            };
            let (owner_column, owner_fk) = side(&through.owner_key, model)?;
            let (target_column, target_fk) = side(&through.target_key, target)?;
            tables.push(Table {
                name: name.clone(),
                primary_key: vec![owner_column.name.clone(), target_column.name.clone()],
                columns: vec![owner_column, target_column],
                indexes: vec![],
                foreign_keys: vec![owner_fk, target_fk],
            });
        }
    }
    Ok(tables)
}
