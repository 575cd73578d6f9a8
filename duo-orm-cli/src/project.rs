//! The user's project: its root, its `[package.metadata.duo-orm]` settings, its models (read
//! with the derive's own parser, without compiling the crate) and its database URL.

use std::path::{Path, PathBuf};

use duo_orm::migrate::Schema;
use duo_orm::schema::ColumnType;
use duo_orm_macros_core::field_type::{FieldTypeDef, Shape, parse_field_type};
use duo_orm_macros_core::schema::tables_of;
use duo_orm_macros_core::{ModelDef, parse_model};

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
        Ok(Schema { tables: tables_of(&models).map_err(Failure::new)? })
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
        for field in model.fields.iter_mut().filter(|f| f.sql_type.is_none()) {
            let name = type_name(&field.ty).unwrap_or_default();
            let resolved = declared_type(&name, field_types, &mut Vec::new()).map_err(|why| {
                Failure::new(format!(
                    "`{}.{}` has the type `{name}`, whose column type the CLI cannot tell (it reads the models directory \
                     without compiling it): {why}",
                    model.ident, field.ident
                ))
            })?;
            field.sql_type = Some(resolved);
        }
    }
    Ok(())
}

/// The column type of the field type named `name` (by its last path segment, as a model
/// writes it). Every type of that name must agree: the CLI cannot tell which one a field
/// means. `seen` holds the newtypes on the way, which a cycle would repeat.
fn declared_type(name: &str, field_types: &[FieldTypeDef], seen: &mut Vec<String>) -> Result<ColumnType, String> {
    let help = "help: give the column type with #[duo(sql_type = \"...\")]";
    if seen.iter().any(|s| s == name) {
        return Err(format!("`{name}` wraps itself through other types, or two types share its name; {help}"));
    }
    seen.push(name.to_string());
    let mut found: Option<ColumnType> = None;
    for declared in field_types.iter().filter(|t| t.ident == name) {
        let sql_type = match (declared.sql_type()?, &declared.shape) {
            (None, Shape::Newtype(inner)) => declared_type(&type_name(inner).unwrap_or_default(), field_types, seen)?,
            (Some(sql_type), _) => sql_type,
            (None, _) => return Err(format!("`{name}` declares no column type the CLI can read; {help}")),
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
