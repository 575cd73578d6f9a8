//! Reading a live database's schema, and comparing it with the models' (`duo-orm migrate
//! check`).
//!
//! Types are compared as the dialect writes them: the model's column type is rendered for the
//! live database's dialect and normalised the way the database reports it (`varchar(20)` is
//! `character varying(20)` on PostgreSQL, `boolean` is `tinyint(1)` on MariaDB). Defaults are
//! compared by presence only, since each database reformats default expressions.

use std::fmt;

use sea_query::{Value, Values};

use super::Schema;
use crate::database::{Database, Held};
use crate::dialect::{self, Dialect, Statement};
use crate::error::Result;
use crate::model::ReferentialAction;
use crate::pending::Pending;
use crate::schema::{EnumType, ForeignKey, Index, Table};

/// A table as the database reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTable {
    /// The table's name.
    pub name: String,
    /// The columns, in order.
    pub columns: Vec<LiveColumn>,
    /// The primary-key columns, in key order.
    pub primary_key: Vec<String>,
    /// Indexes other than the primary key's.
    pub indexes: Vec<Index>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
}

/// A column as the database reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    /// The column's name.
    pub name: String,
    /// The type as the database writes it (`character varying(200)`, `bigint(20)`).
    pub sql_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Whether it has a default.
    pub has_default: bool,
}

/// A live database's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSchema {
    /// The database's dialect.
    pub dialect: Dialect,
    /// Its tables (in the current schema / database), by name.
    pub tables: Vec<LiveTable>,
    /// Its enum types with their labels in order (PostgreSQL's, in the current schema; empty
    /// elsewhere).
    pub enum_types: Vec<EnumType>,
}

impl LiveSchema {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&LiveTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// One difference between the models and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift(pub String);

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the tables of `db` (its current schema on PostgreSQL, its database on MySQL).
pub fn introspect(db: &Database) -> Pending<'_, LiveSchema> {
    Pending::on_database(db, |db| {
        Box::pin(async move {
            let mut conn = db.dedicated().await?;
            let dialect = conn.dialect();
            let names = strings(&mut conn, queries(dialect).tables, None).await?;
            let mut tables = Vec::with_capacity(names.len());
            for name in names {
                tables.push(read_table(&mut conn, dialect, name).await?);
            }
            let mut enum_types: Vec<EnumType> = Vec::new();
            if dialect == Dialect::Postgres {
                let labels = conn
                    .fetch_decoded(bound(PG_ENUM_LABELS, None), "catalogue row", |row| {
                        Ok((row.next_column::<String>()?, row.next_column::<String>()?))
                    })
                    .await?;
                for (name, label) in labels {
                    match enum_types.last_mut() {
                        Some(last) if last.name == name => last.labels.push(label),
                        _ => enum_types.push(EnumType { name, labels: vec![label] }),
                    }
                }
            }
            Ok(LiveSchema { dialect, tables, enum_types })
        })
    })
}

/// PostgreSQL's enum types in the current schema: name, label, one row per label in order.
const PG_ENUM_LABELS: &str = "SELECT t.typname::text, e.enumlabel::text FROM pg_type t \
                              JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
                              WHERE n.nspname = current_schema() ORDER BY t.typname, e.enumsortorder";

/// The catalogue queries of one dialect; `?` is the table name.
struct Queries {
    tables: &'static str,
    /// name, type, not null (0/1), has default (0/1).
    columns: &'static str,
    /// index name, unique (0/1), column, is primary (0/1): one row per indexed column, in order.
    indexes: &'static str,
    /// constraint name, referenced table, column, referenced column, on-delete rule.
    foreign_keys: &'static str,
}

fn queries(dialect: Dialect) -> Queries {
    match dialect {
        Dialect::Postgres => Queries {
            tables: "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
            columns: "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull::int4::int8, \
                      (a.atthasdef OR a.attidentity <> '')::int4::int8 \
                      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                      JOIN pg_namespace n ON n.oid = c.relnamespace \
                      WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                      ORDER BY a.attnum",
            indexes: "SELECT ic.relname::text, i.indisunique::int4::int8, a.attname::text, i.indisprimary::int4::int8 \
                      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
                      JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) \
                      WHERE n.nspname = current_schema() AND t.relname = $1 \
                      ORDER BY ic.relname, array_position(i.indkey::int2[], a.attnum)",
            foreign_keys: "SELECT con.conname::text, ft.relname::text, a.attname::text, fa.attname::text, \
                           con.confdeltype::text \
                           FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid \
                           JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_class ft ON ft.oid = con.confrelid \
                           CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(col, fcol, ord) \
                           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.col \
                           JOIN pg_attribute fa ON fa.attrelid = ft.oid AND fa.attnum = k.fcol \
                           WHERE con.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1 \
                           ORDER BY con.conname, k.ord",
        },
        Dialect::MySql => Queries {
            tables: "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            columns: "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE = 'NO' AS SIGNED), \
                      CAST(COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL' OR EXTRA LIKE '%auto_increment%' AS SIGNED) \
                      FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                      ORDER BY ORDINAL_POSITION",
            indexes: "SELECT CAST(INDEX_NAME AS CHAR), CAST(1 - NON_UNIQUE AS SIGNED), CAST(COLUMN_NAME AS CHAR), \
                      CAST(INDEX_NAME = 'PRIMARY' AS SIGNED) \
                      FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                      ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            foreign_keys: "SELECT CAST(k.CONSTRAINT_NAME AS CHAR), CAST(k.REFERENCED_TABLE_NAME AS CHAR), \
                           CAST(k.COLUMN_NAME AS CHAR), CAST(k.REFERENCED_COLUMN_NAME AS CHAR), CAST(r.DELETE_RULE AS CHAR) \
                           FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
                           AND r.TABLE_NAME = k.TABLE_NAME \
                           WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
                           ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        },
        // SQLite's table-valued pragma functions; foreign keys have no names, so they are
        // numbered.
        _ => Queries {
            tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            columns: "SELECT name, type, \"notnull\", dflt_value IS NOT NULL FROM pragma_table_info(?1) ORDER BY cid",
            // A rowid key (`integer PRIMARY KEY`) has no index: its columns come from
            // `pragma_table_info`. The fifth column orders each index's columns.
            indexes: "SELECT il.name, il.\"unique\", ii.name, il.origin = 'pk', ii.seqno \
                      FROM pragma_index_list(?1) il JOIN pragma_index_info(il.name) ii \
                      UNION ALL SELECT 'primary key', 1, name, 1, pk FROM pragma_table_info(?1) WHERE pk > 0 \
                      AND NOT EXISTS (SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk') \
                      ORDER BY 1, 5",
            foreign_keys: "SELECT CAST(id AS TEXT), \"table\", \"from\", \"to\", on_delete \
                           FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        },
    }
}

fn bound(sql: &str, table: Option<&str>) -> Statement {
    let values = table.map(|t| vec![Value::from(t.to_string())]).unwrap_or_default();
    Statement { sql: sql.to_string(), values: Values(values) }
}

async fn strings(conn: &mut Held, sql: &str, table: Option<&str>) -> Result<Vec<String>> {
    conn.fetch_decoded(bound(sql, table), "catalogue row", |row| row.next_column::<String>()).await
}

async fn read_table(conn: &mut Held, dialect: Dialect, name: String) -> Result<LiveTable> {
    let q = queries(dialect);
    let columns = conn
        .fetch_decoded(bound(q.columns, Some(&name)), "catalogue row", |row| {
            Ok(LiveColumn {
                name: row.next_column()?,
                sql_type: row.next_column()?,
                nullable: row.next_column::<i64>()? == 0,
                has_default: row.next_column::<i64>()? != 0,
            })
        })
        .await?;
    // The primary key's columns come in key order; SQLite's come once per column (ordered by
    // the `pk` position in `pragma_table_info`, which the UNION keeps as declared).
    let index_rows = conn
        .fetch_decoded(bound(q.indexes, Some(&name)), "catalogue row", |row| {
            Ok((row.next_column::<String>()?, row.next_column::<i64>()? != 0, row.next_column::<String>()?, row.next_column::<i64>()? != 0))
        })
        .await?;
    let mut primary_key = Vec::new();
    let mut indexes: Vec<Index> = Vec::new();
    for (index, unique, column, primary) in index_rows {
        if primary {
            primary_key.push(column);
            continue;
        }
        match indexes.iter_mut().find(|i| i.name == index) {
            Some(existing) => existing.columns.push(column),
            None => indexes.push(Index { name: index, columns: vec![column], unique }),
        }
    }
    let fk_rows = conn
        .fetch_decoded(bound(q.foreign_keys, Some(&name)), "catalogue row", |row| {
            Ok((
                row.next_column::<String>()?,
                row.next_column::<String>()?,
                row.next_column::<String>()?,
                row.next_column::<String>()?,
                row.next_column::<String>()?,
            ))
        })
        .await?;
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    for (constraint, references, column, referenced, rule) in fk_rows {
        match foreign_keys.iter_mut().find(|f| f.name == constraint) {
            Some(existing) => {
                existing.columns.push(column);
                existing.referenced_columns.push(referenced);
            }
            None => foreign_keys.push(ForeignKey {
                name: constraint,
                columns: vec![column],
                references,
                referenced_columns: vec![referenced],
                on_delete: delete_rule(&rule),
                on_update: None,
            }),
        }
    }
    // MySQL creates an index for a foreign key that has none, named after the constraint.
    if dialect == Dialect::MySql {
        indexes.retain(|i| !foreign_keys.iter().any(|f| f.name == i.name));
    }
    Ok(LiveTable { name, columns, primary_key, indexes, foreign_keys })
}

/// A delete rule as each catalogue writes it (`CASCADE`, PostgreSQL's `c`, …).
fn delete_rule(rule: &str) -> Option<ReferentialAction> {
    match rule.to_ascii_uppercase().as_str() {
        "CASCADE" | "C" => Some(ReferentialAction::Cascade),
        "SET NULL" | "N" => Some(ReferentialAction::SetNull),
        "SET DEFAULT" | "D" => Some(ReferentialAction::SetDefault),
        "RESTRICT" | "R" => Some(ReferentialAction::Restrict),
        _ => Some(ReferentialAction::NoAction),
    }
}

/// `NO ACTION`, `RESTRICT` and no clause all refuse to delete a referenced row.
fn same_rule(a: Option<ReferentialAction>, b: Option<ReferentialAction>) -> bool {
    let refuse = |r: Option<ReferentialAction>| match r {
        None | Some(ReferentialAction::NoAction) | Some(ReferentialAction::Restrict) => None,
        other => other,
    };
    refuse(a) == refuse(b)
}

/// A type as the live database reports it, for comparison.
fn normalize(dialect: Dialect, sql_type: &str) -> String {
    let lower = sql_type.trim().to_ascii_lowercase().replace(", ", ",");
    match dialect {
        Dialect::Postgres => {
            // An enum type's name, quoted as DDL writes it, bare as `format_type` does.
            let lower = lower.replace('"', "");
            if let Some(rest) = lower.strip_prefix("varchar") {
                return format!("character varying{rest}");
            }
            match lower.as_str() {
                "timestamptz" => "timestamp with time zone".into(),
                "timestamp" => "timestamp without time zone".into(),
                "time" => "time without time zone".into(),
                "int" | "int4" => "integer".into(),
                "int8" => "bigint".into(),
                "float8" => "double precision".into(),
                "bool" => "boolean".into(),
                _ => lower,
            }
        }
        Dialect::MySql => {
            // Display widths (`bigint(20)`) mean nothing for storage; `tinyint(1)` is a boolean.
            for int in ["tinyint", "smallint", "mediumint", "bigint", "int"] {
                if lower.starts_with(int) && lower != "tinyint(1)" {
                    let unsigned = if lower.ends_with("unsigned") { " unsigned" } else { "" };
                    return format!("{int}{unsigned}");
                }
            }
            match lower.as_str() {
                "boolean" | "bool" => "tinyint(1)".into(),
                // MariaDB's JSON is LONGTEXT with a check.
                "json" => "longtext".into(),
                _ => lower,
            }
        }
        _ => lower,
    }
}

/// The differences between the tables `expected` (the models) and the database (`live`),
/// ignoring the tables named in `ignore` (the version table).
pub fn compare(expected: &Schema, live: &LiveSchema, ignore: &[&str]) -> Vec<Drift> {
    let dialect = live.dialect;
    let mut drift = Vec::new();
    for table in &expected.tables {
        let Some(found) = live.table(&table.name) else {
            drift.push(Drift(format!("table `{}` is in the models but not in the database", table.name)));
            continue;
        };
        compare_table(dialect, table, found, &mut drift);
    }
    for found in &live.tables {
        if expected.table(&found.name).is_none() && !ignore.contains(&found.name.as_str()) {
            drift.push(Drift(format!("table `{}` is in the database but in no model", found.name)));
        }
    }
    if dialect == Dialect::Postgres {
        compare_enum_types(expected, live, &mut drift);
    }
    drift
}

/// The models' enum types against PostgreSQL's (types no model uses are left alone: other
/// code may own them).
fn compare_enum_types(expected: &Schema, live: &LiveSchema, drift: &mut Vec<Drift>) {
    let wanted = match crate::schema::enum_types(&expected.tables) {
        Ok(wanted) => wanted,
        Err(why) => return drift.push(Drift(why)),
    };
    for enum_type in wanted {
        match live.enum_types.iter().find(|t| t.name == enum_type.name) {
            None => drift.push(Drift(format!("enum type `{}` is in the models but not in the database", enum_type.name))),
            Some(found) if found.labels != enum_type.labels => drift.push(Drift(format!(
                "enum type `{}` has the labels ({}) in the database, ({}) in the models",
                enum_type.name,
                found.labels.join(", "),
                enum_type.labels.join(", ")
            ))),
            Some(_) => {}
        }
    }
}

fn compare_table(dialect: Dialect, table: &Table, found: &LiveTable, drift: &mut Vec<Drift>) {
    let t = &table.name;
    for column in &table.columns {
        let Some(live) = found.columns.iter().find(|c| c.name == column.name) else {
            drift.push(Drift(format!("column `{t}.{}` is in the model but not in the database", column.name)));
            continue;
        };
        match dialect::column_type(dialect, table, column) {
            Ok(rendered) => {
                let (want, have) = (normalize(dialect, &rendered), normalize(dialect, &live.sql_type));
                if want != have {
                    drift.push(Drift(format!("column `{t}.{}` is `{have}` in the database, `{want}` in the model", column.name)));
                }
            }
            Err(e) => drift.push(Drift(format!("column `{t}.{}`: {e}", column.name))),
        }
        if column.nullable != live.nullable {
            let say = |nullable: bool| if nullable { "nullable" } else { "NOT NULL" };
            drift.push(Drift(format!(
                "column `{t}.{}` is {} in the database, {} in the model",
                column.name,
                say(live.nullable),
                say(column.nullable)
            )));
        }
        // Key columns are left out: how a database reports an identity or rowid key varies.
        let model_default = column.default.is_some();
        if !table.primary_key.contains(&column.name) && model_default != live.has_default {
            let say = |has: bool| if has { "has a default" } else { "has no default" };
            drift.push(Drift(format!(
                "column `{t}.{}` {} in the database but {} in the model",
                column.name,
                say(live.has_default),
                say(model_default)
            )));
        }
    }
    for live in found.columns.iter().filter(|c| table.column(&c.name).is_none()) {
        drift.push(Drift(format!("column `{t}.{}` is in the database but not in the model", live.name)));
    }
    if table.primary_key != found.primary_key {
        drift.push(Drift(format!(
            "the primary key of `{t}` is ({}) in the database, ({}) in the model",
            found.primary_key.join(", "),
            table.primary_key.join(", ")
        )));
    }
    let shape = |i: &Index| (i.columns.clone(), i.unique);
    for index in &table.indexes {
        if !found.indexes.iter().any(|i| shape(i) == shape(index)) {
            drift.push(Drift(format!(
                "{}index on `{t}` ({}) is in the model but not in the database",
                if index.unique { "unique " } else { "" },
                index.columns.join(", ")
            )));
        }
    }
    for index in &found.indexes {
        if !table.indexes.iter().any(|i| shape(i) == shape(index)) {
            drift.push(Drift(format!(
                "{}index `{}` on `{t}` ({}) is in the database but not in the model",
                if index.unique { "unique " } else { "" },
                index.name,
                index.columns.join(", ")
            )));
        }
    }
    let same_fk = |a: &ForeignKey, b: &ForeignKey| {
        a.columns == b.columns && a.references == b.references && a.referenced_columns == b.referenced_columns
    };
    for fk in &table.foreign_keys {
        match found.foreign_keys.iter().find(|f| same_fk(f, fk)) {
            None => drift.push(Drift(format!(
                "foreign key `{t}` ({}) -> `{}` is in the model but not in the database",
                fk.columns.join(", "),
                fk.references
            ))),
            Some(live) if !same_rule(live.on_delete, fk.on_delete) => drift.push(Drift(format!(
                "foreign key `{t}` ({}) -> `{}` deletes with {:?} in the database, {:?} in the model",
                fk.columns.join(", "),
                fk.references,
                live.on_delete,
                fk.on_delete
            ))),
            Some(_) => {}
        }
    }
    for live in &found.foreign_keys {
        if !table.foreign_keys.iter().any(|f| same_fk(f, live)) {
            drift.push(Drift(format!(
                "foreign key `{t}` ({}) -> `{}` is in the database but not in the model",
                live.columns.join(", "),
                live.references
            )));
        }
    }
}
