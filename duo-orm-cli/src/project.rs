//! The user's project: its root, its `[package.metadata.duo-orm]` settings, its models (read
//! with the derive's own parser, without compiling the crate) and its database URL.

use std::path::{Path, PathBuf};

use duo_orm::migrate::Schema;
use duo_orm::model::ReferentialAction;
use duo_orm::schema::{Column, ColumnType, DefaultValue, ForeignKey, Index, Table};
use duo_orm_macros_core::case::snake_case;
use duo_orm_macros_core::field_type::{FieldTypeDef, Shape, parse_field_type};
use duo_orm_macros_core::model::DefaultDef;
use duo_orm_macros_core::relation::ThroughTable;
use duo_orm_macros_core::{ModelDef, RelationKind, SqlType, parse_model};

use crate::Failure;

/// The settings `duo-orm init` writes under `[package.metadata.duo-orm]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where the models live (relative to the project root).
    pub models: String,
    /// Where the schemas live.
    pub schemas: String,
    /// Where the migrations live.
    pub migrations: String,
    /// The table recording applied migrations.
    pub version_table: String,
}

impl Settings {
    /// The defaults for a database module at `dir` (`src/db`).
    pub fn for_dir(dir: &str) -> Settings {
        Settings {
            models: format!("{dir}/models"),
            schemas: format!("{dir}/schemas"),
            migrations: "migrations".into(),
            version_table: duo_orm::migrate::DEFAULT_VERSION_TABLE.into(),
        }
    }
}

/// A project: its root directory and settings.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
}

/// The nearest directory at or above `start` holding a `Cargo.toml`.
pub fn find_root(start: &Path) -> Result<PathBuf, Failure> {
    let mut dir = Some(start);
    while let Some(current) = dir {
        if current.join("Cargo.toml").is_file() {
            return Ok(current.to_path_buf());
        }
        dir = current.parent();
    }
    Err(Failure::new(format!(
        "no Cargo.toml in {} or any directory above it; help: run this inside a cargo project (`cargo new app && cd app`)",
        start.display()
    )))
}

impl Project {
    /// The project around `start`, with the settings of its `Cargo.toml` (defaults for
    /// missing keys).
    pub fn open(start: &Path) -> Result<Project, Failure> {
        let root = find_root(start)?;
        let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
            .map_err(|e| Failure::new(format!("cannot read {}: {e}", root.join("Cargo.toml").display())))?;
        let doc: toml_edit::DocumentMut =
            manifest.parse().map_err(|e: toml_edit::TomlError| Failure::new(format!("Cargo.toml is not valid TOML: {}", e.message())))?;
        let mut settings = Settings::for_dir("src/db");
        if let Some(table) = doc.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get("duo-orm")) {
            let read = |key: &str, slot: &mut String| {
                if let Some(value) = table.get(key).and_then(|v| v.as_str()) {
                    *slot = value.to_string();
                }
            };
            read("models", &mut settings.models);
            read("schemas", &mut settings.schemas);
            read("migrations", &mut settings.migrations);
            read("version_table", &mut settings.version_table);
        }
        Ok(Project { root, settings })
    }

    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join(&self.settings.migrations)
    }

    /// The migrations on disk (none when the directory does not exist yet).
    pub fn migrations(&self) -> Result<duo_orm::migrate::Migrations, Failure> {
        let dir = self.migrations_dir();
        if !dir.exists() {
            return Err(Failure::new(format!(
                "the migrations directory {} does not exist; help: run `duo-orm init`",
                self.settings.migrations
            )));
        }
        Ok(duo_orm::migrate::Migrations::from_dir(dir)?)
    }

    /// The schema the models describe.
    pub fn model_schema(&self) -> Result<Schema, Failure> {
        let dir = self.root.join(&self.settings.models);
        if !dir.is_dir() {
            return Err(Failure::new(format!(
                "the models directory {} does not exist; help: run `duo-orm init`, or set `models` under \
                 [package.metadata.duo-orm] in Cargo.toml",
                self.settings.models
            )));
        }
        let mut files = Vec::new();
        collect_rust_files(&dir, &mut files)?;
        files.sort();
        let mut found = Found::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?;
            let shown = file.strip_prefix(&self.root).unwrap_or(&file).display().to_string();
            let parsed = syn::parse_file(&text).map_err(|e| located(&shown, &e))?;
            found.collect(&parsed.items, &shown)?;
        }
        let Found { mut models, field_types } = found;
        resolve_declared(&mut models, &field_types)?;
        schema_of(&models)
    }

    /// The database URL: `--database-url`, else `DATABASE_URL` as the app reads it
    /// ([`duo_orm::env_url`]: the environment, else the nearest `.env`, a relative SQLite path
    /// taken from the directory of that `.env`).
    pub fn database_url(&self, flag: Option<&str>) -> Result<String, Failure> {
        if let Some(url) = flag {
            return Ok(url.to_string());
        }
        duo_orm::env_url("DATABASE_URL")?.ok_or_else(|| {
            Failure::new("no database URL; help: pass --database-url, set DATABASE_URL, or add DATABASE_URL=... to the project's .env")
        })
    }
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::new(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| Failure::new(e.to_string()))?.path();
        if path.is_dir() {
            collect_rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn located(file: &str, error: &syn::Error) -> Failure {
    let start = error.span().start();
    Failure::new(format!("{file}:{}:{}: {error}", start.line, start.column + 1))
}

/// What the models directory declares: structs deriving `Model`, and the enums and newtypes
/// deriving `FieldType` that their fields may use (by the derive's last path segment, in inline
/// modules too).
#[derive(Default)]
struct Found {
    models: Vec<ModelDef>,
    field_types: Vec<FieldTypeDef>,
}

impl Found {
    fn collect(&mut self, items: &[syn::Item], file: &str) -> Result<(), Failure> {
        for item in items {
            let (attrs, input) = match item {
                syn::Item::Struct(item) => (&item.attrs, syn::DeriveInput::from(item.clone())),
                syn::Item::Enum(item) => (&item.attrs, syn::DeriveInput::from(item.clone())),
                syn::Item::Mod(module) => {
                    if let Some((_, items)) = &module.content {
                        self.collect(items, file)?;
                    }
                    continue;
                }
                _ => continue,
            };
            if derives(attrs, "Model") {
                self.models.push(parse_model(&input).map_err(|e| located(file, &e))?);
            }
            if derives(attrs, "FieldType") {
                self.field_types.push(parse_field_type(&input).map_err(|e| located(file, &e))?);
            }
        }
        Ok(())
    }
}

fn derives(attrs: &[syn::Attribute], derive: &str) -> bool {
    attrs.iter().filter(|a| a.path().is_ident("derive")).any(|attr| {
        let mut found = false;
        let _ = attr.parse_nested_meta(|meta| {
            found |= meta.path.segments.last().is_some_and(|s| s.ident == derive);
            Ok(())
        });
        found
    })
}

/// The name a type is written with (`Plan` for `Plan`, `crate::db::Plan` or `Option<Plan>`).
fn type_name(ty: &syn::Type) -> Option<String> {
    let ty = duo_orm_macros_core::types::option_inner(ty).unwrap_or(ty);
    let syn::Type::Path(path) = ty else { return None };
    path.path.segments.last().map(|s| s.ident.to_string())
}

/// Gives each field of a type that declares its own column type (an enum or a newtype) the
/// column type of that type's `#[derive(FieldType)]`, as the compiler does for the derive.
fn resolve_declared(models: &mut [ModelDef], field_types: &[FieldTypeDef]) -> Result<(), Failure> {
    for model in models {
        for field in model.fields.iter_mut().filter(|f| f.sql_type == SqlType::Declared) {
            let name = type_name(&field.ty).unwrap_or_default();
            field.sql_type = declared_type(&name, field_types, &mut Vec::new()).map_err(|why| {
                Failure::new(format!(
                    "`{}.{}` has the type `{name}`, whose column type the CLI cannot tell (it reads the models directory \
                     without compiling it): {why}",
                    model.ident, field.ident
                ))
            })?;
        }
    }
    Ok(())
}

/// The column type of the field type named `name` (by its last path segment, as a model
/// writes it). Every type of that name must agree: the CLI cannot tell which one a field
/// means. `seen` holds the newtypes on the way, which a cycle would repeat.
fn declared_type(name: &str, field_types: &[FieldTypeDef], seen: &mut Vec<String>) -> Result<SqlType, String> {
    let help = "help: give the column type with #[duo(sql_type = \"...\")]";
    if seen.iter().any(|s| s == name) {
        return Err(format!("`{name}` wraps itself through other types, or two types share its name; {help}"));
    }
    seen.push(name.to_string());
    let mut found: Option<SqlType> = None;
    for declared in field_types.iter().filter(|t| t.ident == name) {
        let sql_type = match (declared.sql_type()?, &declared.shape) {
            (SqlType::Declared, Shape::Newtype(inner)) => declared_type(&type_name(inner).unwrap_or_default(), field_types, seen)?,
            (sql_type, _) => sql_type,
        };
        match &found {
            Some(other) if *other != sql_type => {
                return Err(format!(
                    "two types named `{name}` in the models directory are stored differently ({other:?} and {sql_type:?}); \
                     rename one, or {help}"
                ));
            }
            _ => found = Some(sql_type),
        }
    }
    seen.pop();
    found.ok_or_else(|| {
        if name == "Value" {
            "help: write `serde_json::Value` with its path, or import it as `JsonValue`".to_string()
        } else {
            format!("help: derive FieldType for `{name}` in the models directory, or give the column type with #[duo(sql_type = \"...\")]")
        }
    })
}

/// The runtime's column type for the derive's: by variant name (`TimestampTz` is
/// `timestamp_tz` in migration files), so the two enums cannot drift apart unnoticed.
fn column_type(sql_type: &SqlType) -> ColumnType {
    match sql_type {
        SqlType::Custom(sql) => ColumnType::Custom(sql.clone()),
        SqlType::Declared => unreachable!("`resolve_declared` runs before any schema is built"),
        SqlType::Array(element) => match duo_orm::types::ArrayOf::of(&column_type(element)) {
            Some(of) => ColumnType::Array(of),
            None => unreachable!("the derive maps arrays of scalars only"),
        },
        known => ColumnType::from_name(&snake_case(known.variant()))
            .unwrap_or_else(|| unreachable!("every portable type has a migration name (tested)")),
    }
}

fn action(name: &Option<String>) -> Option<ReferentialAction> {
    Some(match name.as_deref()? {
        "cascade" => ReferentialAction::Cascade,
        "set_null" => ReferentialAction::SetNull,
        "set_default" => ReferentialAction::SetDefault,
        "restrict" => ReferentialAction::Restrict,
        _ => ReferentialAction::NoAction,
    })
}

fn last_ident(path: &syn::Path) -> String {
    path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
}

/// The tables of `models`, plus the bare join tables of their many-to-many relationships,
/// as the runtime's `create_all` would create them.
pub fn schema_of(models: &[ModelDef]) -> Result<Schema, Failure> {
    let find = |path: &syn::Path| -> Result<&ModelDef, Failure> {
        let name = last_ident(path);
        models.iter().find(|m| m.ident == name).ok_or_else(|| {
            Failure::new(format!("the model `{name}` is referenced but not defined in the models directory; help: move it there"))
        })
    };
    let key_of = |model: &ModelDef| -> Result<Column, Failure> {
        let keys: Vec<_> = model.primary_key().collect();
        match keys.as_slice() {
            [(_, field)] => Ok(Column {
                name: field.column.clone(),
                column_type: column_type(&field.sql_type),
                nullable: false,
                auto_increment: false,
                max_length: field.max_length,
                default: None,
            }),
            _ => Err(Failure::new(format!(
                "`{}` is referenced but has a composite key; relationships need a single-column key",
                model.ident
            ))),
        }
    };
    let mut schema = Schema::default();
    for model in models {
        if schema.table(&model.table).is_some() {
            return Err(Failure::new(format!("two models use the table `{}`", model.table)));
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
                column_type: column_type(&field.sql_type),
                nullable: field.nullable,
                auto_increment: field.auto_increment,
                max_length: field.max_length,
                default: field.default.as_ref().map(|d| match d {
                    DefaultDef::Bool(b) => DefaultValue::Bool(*b),
                    DefaultDef::Int(i) => DefaultValue::Int(*i),
                    DefaultDef::Float(f) => DefaultValue::Float(*f),
                    DefaultDef::Str(s) => DefaultValue::Str(s.clone()),
                    DefaultDef::Sql(s) => DefaultValue::Sql(s.clone()),
                }),
            });
            if let Some(reference) = &field.references {
                let target = find(&reference.target)?;
                let columns = vec![field.column.clone()];
                table.foreign_keys.push(ForeignKey {
                    name: ForeignKey::conventional_name(&model.table, &columns),
                    columns,
                    references: target.table.clone(),
                    referenced_columns: vec![key_of(target)?.name],
                    on_delete: action(&reference.on_delete),
                    on_update: action(&reference.on_update),
                });
            }
        }
        schema.tables.push(table);
    }
    for model in models {
        for relation in model.relations.iter().filter(|r| r.kind == RelationKind::ManyToMany) {
            let Some(through) = &relation.through else { continue };
            let ThroughTable::Table(name) = &through.table else { continue };
            let name = name.value();
            if schema.table(&name).is_some() {
                continue;
            }
            let target = find(&relation.target)?;
            let side = |column: &syn::Ident, model: &ModelDef| -> Result<(Column, ForeignKey), Failure> {
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
            schema.tables.push(Table {
                name: name.clone(),
                primary_key: vec![owner_column.name.clone(), target_column.name.clone()],
                columns: vec![owner_column, target_column],
                indexes: vec![],
                foreign_keys: vec![owner_fk, target_fk],
            });
        }
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_derive_type_has_a_runtime_type() {
        let all = [
            SqlType::SmallInt,
            SqlType::Integer,
            SqlType::BigInt,
            SqlType::Float,
            SqlType::Double,
            SqlType::Boolean,
            SqlType::Text,
            SqlType::Blob,
            SqlType::TimestampTz,
            SqlType::Timestamp,
            SqlType::Date,
            SqlType::Time,
            SqlType::Uuid,
            SqlType::Decimal,
            SqlType::Json,
        ];
        let mapped: Vec<String> = all.iter().map(|t| column_type(t).name()).collect();
        assert_eq!(mapped.len(), 15);
        assert_eq!(mapped[8], "timestamp_tz");
        assert_eq!(column_type(&SqlType::Custom("citext".into())), ColumnType::Custom("citext".into()));
        assert_eq!(column_type(&SqlType::Array(Box::new(SqlType::Text))).name(), "text[]");
    }
}
