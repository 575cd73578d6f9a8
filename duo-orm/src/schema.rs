//! A database schema as owned data: tables, columns, indexes and foreign keys.
//!
//! Models describe their tables with `'static` metadata ([`ModelMeta`]); migrations need a
//! schema they can build up step by step, compare and write to files. Both meet here: a
//! model converts into a [`Table`] ([`ModelMeta::to_table`]), and every CREATE TABLE duo-orm
//! writes (`create_all` and migrations alike) is rendered from a [`Table`].
//!
//! The types are `duo-orm-schema`'s, the crate the derive and the CLI share: the CLI builds
//! the same [`Table`]s from model files without compiling them.

use crate::model::{ColumnDefault, ModelMeta};

pub use duo_orm_schema::{
    Column, ColumnType, DefaultValue, EnumType, ForeignKey, Index, MAX_ENUM_NAME_BYTES, ReferentialAction, RelationKind, Table, enum_types,
};

impl From<ColumnDefault> for DefaultValue {
    fn from(default: ColumnDefault) -> Self {
        match default {
            ColumnDefault::Bool(b) => DefaultValue::Bool(b),
            ColumnDefault::Int(i) => DefaultValue::Int(i),
            ColumnDefault::Float(f) => DefaultValue::Float(f),
            ColumnDefault::Str(s) => DefaultValue::Str(s.to_string()),
            ColumnDefault::Sql(s) => DefaultValue::Sql(s.to_string()),
        }
    }
}

impl ModelMeta {
    /// The table this model describes: what `create_all` creates and autogenerate compares.
    pub fn to_table(&self) -> Table {
        let meta = self;
        let columns = meta
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.to_string(),
                column_type: c.sql_type.to_column_type(),
                nullable: c.nullable,
                auto_increment: c.auto_increment,
                max_length: c.max_length,
                default: c.default.map(DefaultValue::from),
            })
            .collect();
        let indexes = meta
            .indexes
            .iter()
            .map(|i| Index { name: i.name(meta.table), columns: i.columns.iter().map(|c| c.to_string()).collect(), unique: i.unique })
            .collect();
        let foreign_keys = meta
            .columns
            .iter()
            .filter_map(|c| {
                let fk = c.references.as_ref()?;
                let columns = vec![c.name.to_string()];
                Some(ForeignKey {
                    name: ForeignKey::conventional_name(meta.table, &columns),
                    columns,
                    references: (fk.target)().table.to_string(),
                    referenced_columns: vec![fk.target_column().to_string()],
                    on_delete: fk.on_delete,
                    on_update: fk.on_update,
                })
            })
            .collect();
        Table {
            name: meta.table.to_string(),
            columns,
            primary_key: meta.key_columns().map(|c| c.name.to_string()).collect(),
            indexes,
            foreign_keys,
        }
    }
}

/// The positions of `items` ordered so that referenced tables come before the tables
/// referencing them. `name` gives an item's table, `references` the tables it references;
/// self-references, tables outside `items` and cycles fall back to the given order.
pub(crate) fn dependency_order<T>(items: &[T], name: impl Fn(&T) -> &str, references: impl Fn(&T) -> Vec<&str>) -> Vec<usize> {
    let mut ordered: Vec<usize> = Vec::with_capacity(items.len());
    let placed = |ordered: &[usize], table: &str| ordered.iter().any(|&i| name(&items[i]) == table);
    while ordered.len() < items.len() {
        let before = ordered.len();
        for (i, item) in items.iter().enumerate() {
            if ordered.contains(&i) {
                continue;
            }
            let ready = references(item)
                .into_iter()
                .all(|target| target == name(item) || placed(&ordered, target) || !items.iter().any(|other| name(other) == target));
            if ready {
                ordered.push(i);
            }
        }
        if ordered.len() == before {
            // A cycle: take the rest as given.
            ordered.extend((0..items.len()).filter(|i| !ordered.contains(i)).collect::<Vec<_>>());
        }
    }
    ordered
}
