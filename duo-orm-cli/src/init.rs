//! `duo-orm init`: scaffolds the database module, the migrations directory and the settings.
//! Idempotent: an existing file is never overwritten, only reported as skipped.

use std::path::{Path, PathBuf};

use duo_orm::Dialect;

use crate::Failure;
use crate::output::Output;
use crate::project::{Settings, find_root};

/// Where the duo-orm dependency `init` adds comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local checkout's `duo-orm` crate.
    Path(PathBuf),
    /// A git repository.
    Git(String),
    /// A crates.io version requirement.
    Version(String),
}

impl Source {
    /// What this CLI was built from: the `duo-orm` crate of its own checkout when there is one
    /// beside it (`cargo install --path duo-orm-cli`: duo-orm is not published, so a version
    /// would not resolve), else its own version.
    pub fn of_this_build() -> Source {
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(|dir| dir.join("duo-orm"));
        match checkout {
            Some(dir) if dir.join("Cargo.toml").is_file() => Source::Path(dir),
            _ => Source::Version(env!("CARGO_PKG_VERSION").rsplit_once('.').map_or("0.1", |(minor, _)| minor).to_string()),
        }
    }
}

/// Checks `--dir`: relative, under `src/`, every part a valid Rust module name.
pub fn check_dir(dir: &str) -> Result<Vec<String>, Failure> {
    let path = Path::new(dir);
    if path.is_absolute() {
        return Err(Failure::new(format!("--dir `{dir}` must be relative to the project root, like `src/db`")));
    }
    let parts: Vec<String> = dir.trim_end_matches('/').split('/').map(str::to_string).collect();
    if parts.first().map(String::as_str) != Some("src") || parts.len() < 2 {
        return Err(Failure::new(format!("--dir `{dir}` must be inside src/ (the database module is part of the crate), like `src/db`")));
    }
    for part in &parts[1..] {
        if !is_module_name(part) {
            return Err(Failure::new(format!(
                "--dir `{dir}`: `{part}` is not a valid Rust module name; help: use lowercase letters, digits and `_`"
            )));
        }
    }
    Ok(parts)
}

fn is_module_name(name: &str) -> bool {
    // syn knows Rust's keywords; `main` and `lib` would clash with the crate roots, and `gen`
    // and `try` are reserved by newer editions than syn's parser assumes.
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && name != "_"
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && syn::parse_str::<syn::Ident>(name).is_ok()
        && !["main", "lib", "gen", "try"].contains(&name)
}

/// Runs `init` from `cwd` with the module at `dir`, taking duo-orm from `source`.
pub fn init(cwd: &Path, dir: &str, source: &Source, out: &mut Output) -> Result<(), Failure> {
    let parts = check_dir(dir)?;
    let root = find_root(cwd)?;
    let dir = parts.join("/");
    let module_path = format!("crate::{}", parts[1..].join("::"));
    let module_name = parts.last().cloned().unwrap_or_default();

    // The module's parent file, where `mod <name>;` goes: lib.rs (as `pub mod`) or main.rs
    // for `src/<name>`, else the parent directory's mod.rs or `<parent>.rs`.
    let parent = if parts.len() == 2 {
        ["src/lib.rs", "src/main.rs"]
            .into_iter()
            .map(|f| root.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| Failure::new("the project has neither src/lib.rs nor src/main.rs to declare the module in".to_string()))?
    } else {
        let parent_dir = parts[..parts.len() - 1].join("/");
        [format!("{parent_dir}/mod.rs"), format!("{parent_dir}.rs")]
            .into_iter()
            .map(|f| root.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| Failure::new(format!("--dir `{dir}`: the parent module {parent_dir} does not exist; create it first")))?
    };

    let entry = String::from(
        "//! The database: its connection and models (scaffolded by `duo-orm init`).\n\
         \n\
         pub mod models;\n\
         pub mod schemas;\n\
         \n\
         use duo_orm::Database;\n\
         \n\
         /// The application's database: `DATABASE_URL` when set, else a SQLite file in the working\n\
         /// directory. Nothing connects until first use.\n\
         pub static DB: Database = Database::from_env(\"DATABASE_URL\", \"sqlite://./app.db\");\n",
    );
    let models = format!(
        "//! Models: one struct per table. `duo-orm migrate create \"message\"` reads this directory\n\
         //! (without compiling it) and writes a migration for what changed.\n\
         //!\n\
         //! ```ignore\n\
         //! use duo_orm::prelude::*;\n\
         //!\n\
         //! #[derive(Model, Debug, Clone, Serialize)]\n\
         //! #[duo(table = \"users\", db = {module_path}::DB)]\n\
         //! pub struct User {{\n\
         //!     #[duo(primary_key)]\n\
         //!     pub id: i64,\n\
         //!     #[duo(unique, max_length = 200)]\n\
         //!     pub email: String,\n\
         //! }}\n\
         //! ```\n"
    );
    let schemas = "//! Schemas: the payload structs (`#[derive(Payload)]`) your handlers accept, validated with\n\
                   //! `validator` before they reach the database.\n"
        .to_string();

    write_new(&root, &format!("{dir}/mod.rs"), &entry, "database entrypoint (static DB)", out)?;
    write_new(&root, &format!("{dir}/models/mod.rs"), &models, "", out)?;
    write_new(&root, &format!("{dir}/schemas/mod.rs"), &schemas, "", out)?;
    let settings = Settings::for_dir(&dir);
    let migrations = root.join(&settings.migrations);
    if migrations.is_dir() {
        out.skipped(&format!("{}/", settings.migrations), "exists");
    } else {
        std::fs::create_dir_all(&migrations).map_err(|e| Failure::new(format!("cannot create {}: {e}", migrations.display())))?;
        out.created(&format!("{}/", settings.migrations), "");
    }
    write_new(&root, ".env", "DATABASE_URL=sqlite://./app.db\n", "DATABASE_URL for the app and the CLI (SQLite to start)", out)?;
    // The database the app will use: the environment's, else the `.env` just read or written.
    let url = duo_orm::env_url("DATABASE_URL")?.unwrap_or_else(|| "sqlite://./app.db".to_string());
    let dialect = duo_orm::Database::new(url.clone()).dialect().unwrap_or(Dialect::Sqlite);
    ignore_local_files(&root, &url, out)?;
    wire_module(&root, &parent, &module_name, parts.len() == 2, out)?;
    update_manifest(&root, &settings, source, dialect, out)?;
    out.line(&format!("next: define models in {}, then `duo-orm migrate create \"initial\"` and `duo-orm migrate up`", settings.models));
    Ok(())
}

fn write_new(root: &Path, relative: &str, text: &str, what: &str, out: &mut Output) -> Result<(), Failure> {
    let path = root.join(relative);
    if path.exists() {
        out.skipped(relative, "exists");
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Failure::new(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(&path, text).map_err(|e| Failure::new(format!("cannot write {relative}: {e}")))?;
    out.created(relative, what);
    Ok(())
}

/// Adds `mod <name>;` to the parent module unless it already declares the module.
fn wire_module(root: &Path, parent: &Path, name: &str, crate_root: bool, out: &mut Output) -> Result<(), Failure> {
    let shown = parent.strip_prefix(root).unwrap_or(parent).display().to_string();
    let text = std::fs::read_to_string(parent).map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?;
    let declared = text.lines().any(|line| {
        let line = line.trim();
        let line = line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")).unwrap_or(line);
        line == format!("mod {name};") || line.starts_with(&format!("mod {name} "))
    });
    if declared {
        out.skipped(&shown, &format!("already declares `mod {name}`"));
        return Ok(());
    }
    let visibility = if crate_root && shown.ends_with("main.rs") { "" } else { "pub " };
    let declaration = format!("{visibility}mod {name};");
    // After the inner doc comments and attributes at the top, before the first item.
    // `split_inclusive` keeps each line's own ending (`\n` or `\r\n`), so the sum is a byte
    // offset at a line start.
    let insert_at: usize =
        text.split_inclusive('\n').take_while(|l| l.starts_with("//!") || l.starts_with("#![") || l.trim().is_empty()).map(str::len).sum();
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut updated = String::with_capacity(text.len() + declaration.len() + 4);
    updated.push_str(&text[..insert_at]);
    if insert_at > 0 && !text[..insert_at].ends_with('\n') {
        updated.push_str(newline);
    }
    updated.push_str(&declaration);
    updated.push_str(newline);
    if insert_at < text.len() && !text[insert_at..].starts_with(newline) {
        updated.push_str(newline);
    }
    updated.push_str(&text[insert_at..]);
    std::fs::write(parent, updated).map_err(|e| Failure::new(format!("cannot write {shown}: {e}")))?;
    out.updated(&shown, &format!("`{}mod {name};`", visibility));
    Ok(())
}

/// Adds `.env` (it may hold credentials) and a SQLite database file named by a relative URL to
/// `.gitignore`, creating it if needed.
fn ignore_local_files(root: &Path, url: &str, out: &mut Output) -> Result<(), Failure> {
    let mut wanted = vec![".env".to_string()];
    if let Some(file) = duo_orm::DatabaseUrl::parse(url).ok().and_then(|parsed| parsed.sqlite_file()) {
        // Relative to the project root (what `env_url` anchors to), by path components.
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let relative = relative.strip_prefix(".").unwrap_or(relative);
        if relative.is_relative() {
            // The database and its -wal/-shm/-journal companions.
            wanted.push(format!("/{}*", relative.display()));
        }
    }
    let path = root.join(".gitignore");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let missing: Vec<&String> = wanted.iter().filter(|entry| !text.lines().any(|line| line.trim() == entry.as_str())).collect();
    if missing.is_empty() {
        out.skipped(".gitignore", "already ignores .env and the database");
        return Ok(());
    }
    let mut updated = text.clone();
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    for entry in &missing {
        updated.push_str(entry);
        updated.push('\n');
    }
    std::fs::write(&path, updated).map_err(|e| Failure::new(format!("cannot write .gitignore: {e}")))?;
    let shown: Vec<&str> = missing.iter().map(|e| e.as_str()).collect();
    if text.is_empty() {
        out.created(".gitignore", &shown.join(", "));
    } else {
        out.updated(".gitignore", &shown.join(", "));
    }
    Ok(())
}

/// The duo-orm dependency for `source` and the backend of `dialect`: the default features
/// are SQLite's, a server gets its own feature instead.
fn dependency(source: &Source, dialect: Dialect) -> toml_edit::Item {
    let mut table = toml_edit::InlineTable::new();
    match source {
        Source::Path(dir) => {
            table.insert("path", dir.display().to_string().into());
        }
        Source::Git(url) => {
            table.insert("git", url.as_str().into());
        }
        Source::Version(version) => {
            table.insert("version", version.as_str().into());
        }
    }
    let feature = match dialect {
        Dialect::Postgres => Some("postgres"),
        Dialect::MySql => Some("mysql"),
        _ => None,
    };
    if let Some(feature) = feature {
        table.insert("default-features", false.into());
        let mut features = toml_edit::Array::new();
        features.push(feature);
        table.insert("features", features.into());
    }
    toml_edit::value(table)
}

/// Adds `[package.metadata.duo-orm]`, the duo-orm dependency and the `tokio` and `serde`
/// dependencies the scaffolded code needs, keeping the file's layout and comments.
fn update_manifest(root: &Path, settings: &Settings, source: &Source, dialect: Dialect, out: &mut Output) -> Result<(), Failure> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Failure::new(format!("cannot read Cargo.toml: {e}")))?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| Failure::new(format!("Cargo.toml is not valid TOML: {}", e.message())))?;
    let mut changes = Vec::new();
    let Some(package) = doc.get_mut("package").and_then(|p| p.as_table_mut()) else {
        return Err(Failure::new("Cargo.toml has no [package] (a workspace root?); help: run init in the package's directory"));
    };
    let wanted = [
        ("models", &settings.models),
        ("schemas", &settings.schemas),
        ("migrations", &settings.migrations),
        ("version_table", &settings.version_table),
    ];
    let existing = package.get_mut("metadata").and_then(|m| m.get_mut("duo-orm")).and_then(|t| t.as_table_like_mut());
    if let Some(existing) = existing {
        // Keep every key already there; add the ones missing, so the CLI finds this module.
        let mut added = Vec::new();
        for (key, value) in wanted {
            match existing.get(key).and_then(|v| v.as_str()) {
                None if existing.get(key).is_none() => {
                    existing.insert(key, toml_edit::value(value.as_str()));
                    added.push(key);
                }
                Some(kept) if kept != value.as_str() && matches!(key, "models" | "schemas") => out.line(&format!(
                    "note: [package.metadata.duo-orm] keeps {key} = \"{kept}\"; this module's are in {value} \
                     (edit Cargo.toml to use them)"
                )),
                _ => {}
            }
        }
        if !added.is_empty() {
            changes.push(format!("[package.metadata.duo-orm] ({} added)", added.join(", ")));
        }
    } else {
        let metadata = package.entry("metadata").or_insert(toml_edit::table());
        let mut table = toml_edit::Table::new();
        for (key, value) in wanted {
            table.insert(key, toml_edit::value(value.as_str()));
        }
        if let Some(metadata) = metadata.as_table_mut() {
            metadata.set_implicit(true);
            table.decor_mut().set_prefix("\n# Read by the duo-orm CLI (`duo-orm migrate …`).\n");
            metadata.insert("duo-orm", toml_edit::Item::Table(table));
        } else if let Some(inline) = metadata.as_inline_table_mut() {
            // `metadata = { … }` stays inline.
            inline.insert("duo-orm", toml_edit::Value::InlineTable(table.into_inline_table()));
        } else {
            return Err(Failure::new("`package.metadata` in Cargo.toml is not a table; help: fix it, then run init again"));
        }
        changes.push("[package.metadata.duo-orm]".to_string());
    }
    let dependencies = doc.entry("dependencies").or_insert(toml_edit::table());
    if let Some(dependencies) = dependencies.as_table_like_mut() {
        if dependencies.get("duo-orm").is_none() && dependencies.get("duo_orm").is_none() {
            dependencies.insert("duo-orm", dependency(source, dialect));
            changes.push("duo-orm dependency".to_string());
        }
        // `#[tokio::main]` for the app, `#[derive(Serialize)]` for models and schemas.
        let needed = [
            ("tokio", r#"{ version = "1", features = ["macros", "rt-multi-thread"] }"#),
            ("serde", r#"{ version = "1", features = ["derive"] }"#),
        ];
        for (name, spec) in needed {
            if dependencies.get(name).is_none() {
                let value: toml_edit::Value = spec.parse().map_err(|_| Failure::new(format!("internal: bad {name} spec")))?;
                dependencies.insert(name, toml_edit::Item::Value(value));
                changes.push(format!("{name} dependency"));
            }
        }
    }
    if changes.is_empty() {
        out.skipped("Cargo.toml", "already set up");
        return Ok(());
    }
    std::fs::write(&path, doc.to_string()).map_err(|e| Failure::new(format!("cannot write Cargo.toml: {e}")))?;
    out.updated("Cargo.toml", &format!("{} (formatting preserved)", changes.join(", ")));
    Ok(())
}
