//! Migration steps as SQL, per dialect: CREATE and DROP through `ddl/mod.rs`, the rest here.
//!
//! Most steps are one ALTER statement. SQLite cannot alter a column or add and drop foreign
//! keys: those steps rebuild the table (create the new shape, copy the rows, drop the old
//! table, rename), the procedure SQLite's documentation gives. The runner turns foreign-key
//! enforcement off around SQLite migrations so a rebuild never cascades.

use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};

use super::{
    CreateTable, build_schema, custom_ddl, render_create_index, render_create_table, render_drop_table, sea_query_column,
    sea_query_foreign_key,
};
use crate::dialect::{self, Dialect};
use crate::error::{Error, MigrationKind, Result};
use crate::migrate::{Operation, Schema, step_error};
use crate::schema::{Column, ColumnType, DefaultValue, EnumType, Table};

/// The SQL of `steps` (of migration `id`) in `dialect`, applying each to `schema` as it goes
/// (rendering needs the schema each step starts from), between the changes to PostgreSQL
/// enum types the migration makes.
pub fn render_steps(id: &str, steps: &[Operation], schema: &mut Schema, dialect: Dialect) -> Result<Vec<String>> {
    let start = schema.clone();
    let mut sql = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let before = schema.clone();
        schema.apply(step).map_err(|why| step_error(id, n, step, &why))?;
        sql.extend(render_step(step, &before, schema, dialect).map_err(|e| match e {
            Error::Migration { kind, message } => Error::migration(kind, format!("migration {id}, step {}: {message}", n + 1)),
            other => other,
        })?);
    }
    let (coming, going) = enum_type_changes(&start, schema, dialect).map_err(|e| match e {
        Error::Migration { kind, message } => Error::migration(kind, format!("migration {id}: {message}")),
        other => other,
    })?;
    Ok(coming.into_iter().chain(sql).chain(going).collect())
}

/// What a migration does to PostgreSQL enum types, before its steps and after them. Migration
/// files hold no step of their own for types: the columns say which types exist and with
/// which labels. The types are compared where the columns agree on them, at the migration's
/// start and at its end (between two steps, one column may have the new labels and another
/// the old): a type that comes is created first, one that gains labels gains them first
/// (`ALTER TYPE … ADD VALUE`, which PostgreSQL cannot undo: losing or reordering labels is
/// refused), and a type no column uses any more is dropped last.
fn enum_type_changes(start: &Schema, end: &Schema, dialect: Dialect) -> Result<(Vec<String>, Vec<String>)> {
    let types = |schema: &Schema| crate::schema::enum_types(&schema.tables).map_err(|why| Error::migration(MigrationKind::Plan, why));
    let (old, new) = (types(start)?, types(end)?);
    let mut coming = Vec::new();
    for enum_type in &new {
        match old.iter().find(|o| o.name == enum_type.name) {
            None => coming.extend(super::render_create_enum(enum_type, dialect, false)?),
            Some(before) if before.labels != enum_type.labels => coming.extend(render_alter_enum(before, enum_type, dialect)?),
            Some(_) => {}
        }
    }
    let going = old
        .iter()
        .filter(|o| !new.iter().any(|t| t.name == o.name))
        .flat_map(|o| super::render_drop_enum(&o.name, dialect, false))
        .collect();
    Ok((coming, going))
}

fn table_of<'a>(schema: &'a Schema, name: &str) -> Result<&'a Table> {
    schema.table(name).ok_or_else(|| Error::migration(MigrationKind::Plan, format!("table `{name}` does not exist")))
}

/// One step: `before` is the schema it starts from, `after` the one it leaves.
fn render_step(step: &Operation, before: &Schema, after: &Schema, dialect: Dialect) -> Result<Vec<String>> {
    let q = |name: &str| dialect.quote_identifier(name);
    let sqlite = dialect == Dialect::Sqlite;
    Ok(match step {
        Operation::CreateTable { table } => render_create_table(table, dialect, CreateTable { if_not_exists: false })?,
        Operation::DropTable { table } => vec![render_drop_table(&table.name, dialect, false)],
        Operation::RenameTable { from, to } => {
            let mut sql = vec![match dialect {
                Dialect::MySql => format!("RENAME TABLE {} TO {}", q(from), q(to)),
                Dialect::MsSql => format!("EXEC sp_rename N'{}', N'{}'", sql_string(from), sql_string(to)),
                _ => format!("ALTER TABLE {} RENAME TO {}", q(from), q(to)),
            }];
            // The primary key's constraint (and index) is named after the table: rename it,
            // or a later table of the old name could not name its own.
            let (old_pk, new_pk) = (Table::primary_key_name(from), Table::primary_key_name(to));
            match dialect {
                Dialect::Postgres => sql.push(format!("ALTER TABLE {} RENAME CONSTRAINT {} TO {}", q(to), q(&old_pk), q(&new_pk))),
                Dialect::Oracle => {
                    sql.push(format!("ALTER TABLE {} RENAME CONSTRAINT {} TO {}", q(to), q(&old_pk), q(&new_pk)));
                    sql.push(format!("ALTER INDEX {} RENAME TO {}", q(&old_pk), q(&new_pk)));
                }
                Dialect::MsSql => {
                    sql.push(rename_default(&old_pk, &new_pk));
                    for column in table_of(after, to)?.columns.iter().filter(|c| c.default.is_some()) {
                        sql.push(rename_default(
                            &Table::default_constraint_name(from, &column.name),
                            &Table::default_constraint_name(to, &column.name),
                        ));
                    }
                }
                // MySQL's primary key is always `PRIMARY`; SQLite's constraint names are local.
                _ => {}
            }
            sql
        }
        Operation::AddColumn { table, column } => {
            let t = table_of(after, table)?;
            // SQLite adds a NOT NULL column only with a default, and only a constant one.
            let sql_default = matches!(column.default, Some(DefaultValue::Sql(_)));
            if sqlite && ((!column.nullable && column.default.is_none()) || sql_default) {
                return rebuild(table_of(before, table)?, t);
            }
            vec![match dialect {
                Dialect::MsSql | Dialect::Oracle => {
                    let definition = custom_ddl(dialect).column_definition(t, column)?;
                    if dialect == Dialect::Oracle {
                        format!("ALTER TABLE {} ADD ({definition})", q(table))
                    } else {
                        format!("ALTER TABLE {} ADD {definition}", q(table))
                    }
                }
                _ => {
                    let mut alter = sea_query::Table::alter();
                    alter.table(sea_query::Alias::new(table)).add_column(sea_query_column(t, column, dialect)?);
                    build_schema(dialect, &alter)
                }
            }]
        }
        Operation::DropColumn { table, column } => {
            let mut sql = Vec::new();
            if dialect == Dialect::MsSql && column.default.is_some() {
                sql.push(format!("ALTER TABLE {} DROP CONSTRAINT {}", q(table), q(&Table::default_constraint_name(table, &column.name))));
            }
            sql.push(format!("ALTER TABLE {} DROP COLUMN {}", q(table), q(&column.name)));
            sql
        }
        Operation::AlterColumn { table, from, to } => {
            let t = table_of(after, table)?;
            alter_column(dialect, before, t, from, to)?
        }
        Operation::RenameColumn { table, from, to } => {
            let mut sql = vec![match dialect {
                Dialect::MsSql => format!("EXEC sp_rename N'{}', N'{}', N'COLUMN'", sql_string(&format!("{table}.{from}")), sql_string(to)),
                _ => format!("ALTER TABLE {} RENAME COLUMN {} TO {}", q(table), q(from), q(to)),
            }];
            if dialect == Dialect::MsSql && table_of(after, table)?.column(to).is_some_and(|c| c.default.is_some()) {
                sql.push(rename_default(&Table::default_constraint_name(table, from), &Table::default_constraint_name(table, to)));
            }
            sql
        }
        Operation::CreateIndex { table, index } => {
            let mut sql = retype_indexed_text(dialect, table_of(before, table)?, table_of(after, table)?, &index.columns)?;
            sql.push(render_create_index(table, index, dialect, false));
            sql
        }
        Operation::DropIndex { table, index } => {
            let mut sql = vec![match dialect {
                Dialect::MySql | Dialect::MsSql => format!("DROP INDEX {} ON {}", q(&index.name), q(table)),
                _ => format!("DROP INDEX {}", q(&index.name)),
            }];
            sql.extend(retype_indexed_text(dialect, table_of(before, table)?, table_of(after, table)?, &index.columns)?);
            sql
        }
        Operation::AddForeignKey { table, foreign_key } => match dialect {
            Dialect::Sqlite => rebuild(table_of(before, table)?, table_of(after, table)?)?,
            Dialect::Postgres | Dialect::MySql => vec![build_schema(dialect, &sea_query_foreign_key(table, foreign_key, dialect))],
            _ => vec![format!("ALTER TABLE {} ADD {}", q(table), custom_ddl(dialect).foreign_key_clause(table, foreign_key)?)],
        },
        Operation::DropForeignKey { table, foreign_key } => match dialect {
            Dialect::Sqlite => rebuild(table_of(before, table)?, table_of(after, table)?)?,
            Dialect::MySql => vec![format!("ALTER TABLE {} DROP FOREIGN KEY {}", q(table), q(&foreign_key.name))],
            _ => vec![format!("ALTER TABLE {} DROP CONSTRAINT {}", q(table), q(&foreign_key.name))],
        },
        Operation::Sql { sql, postgres, mysql, sqlite, mssql, oracle } => {
            let own = match dialect {
                Dialect::Postgres => postgres,
                Dialect::MySql => mysql,
                Dialect::Sqlite => sqlite,
                Dialect::MsSql => mssql,
                Dialect::Oracle => oracle,
            };
            match own.as_ref().or(sql.as_ref()) {
                Some(text) => split_sql(text),
                None => {
                    return Err(Error::migration(
                        MigrationKind::File,
                        format!(
                            "a hand-written step has no SQL for {dialect}; help: add `sql = \"…\"` (every dialect) or `{} = \"…\"` to the step",
                            dialect_key(dialect)
                        ),
                    ));
                }
            }
        }
    })
}

/// The key of a dialect's own SQL in a hand-written step.
fn dialect_key(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
        Dialect::Sqlite => "sqlite",
        Dialect::MsSql => "mssql",
        Dialect::Oracle => "oracle",
    }
}

/// Hand-written SQL as statements: split at `;` that end a line (drivers run one statement
/// at a time), keeping semicolons inside lines intact. Statements made only of `--` comments
/// are left out (MySQL refuses an empty query). A body whose lines end with `;` (a PL/pgSQL
/// function, a T-SQL procedure) is split too: write such bodies with `;` inside the lines.
fn split_sql(text: &str) -> Vec<String> {
    let only_comments = |statement: &str| statement.lines().all(|l| l.trim().is_empty() || l.trim().starts_with("--"));
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim_end();
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            let statement = current.trim().trim_end_matches(';').trim().to_string();
            if !only_comments(&statement) {
                statements.push(statement);
            }
            current.clear();
        }
    }
    let rest = current.trim().trim_end_matches(';').trim();
    if !only_comments(rest) {
        statements.push(rest.to_string());
    }
    statements
}

/// `sp_rename` of a constraint (SQL Server), after its column or table was renamed.
fn rename_default(from: &str, to: &str) -> String {
    format!("EXEC sp_rename N'{}', N'{}', N'OBJECT'", sql_string(from), sql_string(to))
}

/// MySQL and SQL Server cannot index an unbounded text column, so duo-orm bounds indexed text
/// columns (255 characters unless declared): when an index makes `columns` indexed, or stops
/// indexing them, their type changes to match.
fn retype_indexed_text(dialect: Dialect, before: &Table, after: &Table, columns: &[String]) -> Result<Vec<String>> {
    let q = |name: &str| dialect.quote_identifier(name);
    let mut sql = Vec::new();
    if !matches!(dialect, Dialect::MySql | Dialect::MsSql) {
        return Ok(sql);
    }
    for name in columns {
        let Some(column) = after.column(name) else { continue };
        let unbounded_text = column.column_type == ColumnType::Text && column.max_length.is_none();
        if !unbounded_text || before.is_indexed(name) == after.is_indexed(name) {
            continue;
        }
        sql.push(match dialect {
            Dialect::MySql => {
                let mut alter = sea_query::Table::alter();
                alter.table(sea_query::Alias::new(&after.name)).modify_column(sea_query_column(after, column, dialect)?);
                build_schema(dialect, &alter)
            }
            _ => format!(
                "ALTER TABLE {} ALTER COLUMN {} {} {}",
                q(&after.name),
                q(name),
                dialect::column_type(dialect, after, column)?,
                if column.nullable { "NULL" } else { "NOT NULL" }
            ),
        });
    }
    Ok(sql)
}

fn sql_string(text: &str) -> String {
    text.replace('\'', "''")
}

/// A default as an SQL literal in `dialect` (PostgreSQL, MySQL, SQLite: by sea-query, which
/// escapes strings the way each expects).
fn default_literal(dialect: Dialect, default: &DefaultValue) -> String {
    if let DefaultValue::Sql(expr) = default {
        return expr.clone();
    }
    if matches!(dialect, Dialect::MsSql | Dialect::Oracle) {
        return custom_ddl(dialect).default_literal(default);
    }
    let value: sea_query::Value = match default {
        DefaultValue::Bool(b) => (*b).into(),
        DefaultValue::Int(i) => (*i).into(),
        DefaultValue::Float(f) => (*f).into(),
        DefaultValue::Str(s) => s.clone().into(),
        DefaultValue::Sql(_) => unreachable!("returned above"),
    };
    let select = sea_query::Query::select().expr(sea_query::Expr::val(value)).to_owned();
    let sql = match dialect {
        Dialect::Postgres => select.to_string(PostgresQueryBuilder),
        Dialect::MySql => select.to_string(MysqlQueryBuilder),
        _ => select.to_string(SqliteQueryBuilder),
    };
    sql.trim_start_matches("SELECT ").to_string()
}

fn alter_column(dialect: Dialect, before: &Schema, table: &Table, from: &Column, to: &Column) -> Result<Vec<String>> {
    let q = |name: &str| dialect.quote_identifier(name);
    let name = &table.name;
    // Compared as written for the dialect: an enum's labels are text outside PostgreSQL, and
    // a label PostgreSQL's type gains leaves the column's type as it is.
    let retyped = dialect::column_type(dialect, table, from).ok() != dialect::column_type(dialect, table, to).ok();
    if !retyped && from.nullable == to.nullable && from.default == to.default && from.auto_increment == to.auto_increment {
        // Only an enum's labels changed: its type took them, or they are text here.
        return Ok(Vec::new());
    }
    let mut sql = Vec::new();
    match dialect {
        Dialect::Sqlite => return rebuild(table_of(before, name)?, table),
        Dialect::MySql => {
            let mut alter = sea_query::Table::alter();
            alter.table(sea_query::Alias::new(name)).modify_column(sea_query_column(table, to, dialect)?);
            sql.push(build_schema(dialect, &alter));
        }
        Dialect::Postgres => {
            let head = format!("ALTER TABLE {} ALTER COLUMN {}", q(name), q(&to.name));
            // A default of the old type does not convert with the column (text to an enum
            // type fails): dropped first, and set again after.
            let default_in_the_way = retyped && from.default.is_some();
            if default_in_the_way {
                sql.push(format!("{head} DROP DEFAULT"));
            }
            if retyped {
                let type_name = dialect::column_type(dialect, table, to)?;
                // One enum type does not cast to another: through text.
                let via_text =
                    if matches!(from.column_type, ColumnType::Enum(_)) && to.column_type != ColumnType::Text { "::text" } else { "" };
                sql.push(format!("{head} TYPE {type_name} USING {}{via_text}::{type_name}", q(&to.name)));
            }
            if from.nullable != to.nullable {
                sql.push(format!("{head} {} NOT NULL", if to.nullable { "DROP" } else { "SET" }));
            }
            match &to.default {
                Some(default) if default_in_the_way || from.default != to.default => {
                    sql.push(format!("{head} SET DEFAULT {}", default_literal(dialect, default)))
                }
                None if from.default.is_some() && !default_in_the_way => sql.push(format!("{head} DROP DEFAULT")),
                _ => {}
            }
        }
        Dialect::MsSql => {
            // Defaults are constraints named after the column: drop the old one, add the new.
            // The default constraint also blocks a type change: drop it first, add it back.
            let constraint = q(&Table::default_constraint_name(name, &to.name));
            let readd = from.default != to.default || retyped;
            if readd && from.default.is_some() {
                sql.push(format!("ALTER TABLE {} DROP CONSTRAINT {constraint}", q(name)));
            }
            if retyped || from.nullable != to.nullable {
                let type_name = dialect::column_type(dialect, table, to)?;
                let null = if to.nullable { "NULL" } else { "NOT NULL" };
                sql.push(format!("ALTER TABLE {} ALTER COLUMN {} {type_name} {null}", q(name), q(&to.name)));
            }
            if readd && let Some(default) = &to.default {
                sql.push(format!(
                    "ALTER TABLE {} ADD CONSTRAINT {constraint} DEFAULT {} FOR {}",
                    q(name),
                    default_literal(dialect, default),
                    q(&to.name)
                ));
            }
        }
        Dialect::Oracle => {
            let head = format!("ALTER TABLE {} MODIFY ({}", q(name), q(&to.name));
            if retyped {
                sql.push(format!("{head} {})", dialect::column_type(dialect, table, to)?));
            }
            if from.default != to.default {
                let default = to.default.as_ref().map_or_else(|| "NULL".to_string(), |d| default_literal(dialect, d));
                sql.push(format!("{head} DEFAULT {default})"));
            }
            if from.nullable != to.nullable {
                sql.push(format!("{head} {})", if to.nullable { "NULL" } else { "NOT NULL" }));
            }
        }
    }
    Ok(sql)
}

/// The start of the note a SQLite rebuild begins with: the runner checks, before rebuilding,
/// that the live table has no column or index the migrations do not know (added by
/// hand-written SQL), which dropping the old table would lose.
pub(crate) const REBUILD_NOTE: &str = "-- duo-orm: rebuild ";

/// What [`REBUILD_NOTE`] carries (as JSON).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct RebuildGuard {
    pub table: String,
    pub columns: Vec<String>,
    pub indexes: Vec<String>,
}

/// SQLite's table rebuild: a new table of the new shape under a temporary name, the rows
/// copied (columns both shapes have), the AUTOINCREMENT high-water mark carried over, the old
/// table dropped, the new one renamed, its indexes created.
fn rebuild(before: &Table, after: &Table) -> Result<Vec<String>> {
    let temporary = format!("_duo_rebuild_{}", after.name);
    let guard = RebuildGuard {
        table: before.name.clone(),
        columns: before.columns.iter().map(|c| c.name.clone()).collect(),
        indexes: before.indexes.iter().map(|i| i.name.clone()).collect(),
    };
    let mut sql = vec![format!("{REBUILD_NOTE}{}", serde_json::to_string(&guard).unwrap_or_default())];
    let mut shape = after.clone();
    shape.name = temporary.clone();
    let indexes = std::mem::take(&mut shape.indexes);
    sql.extend(render_create_table(&shape, Dialect::Sqlite, CreateTable { if_not_exists: false })?);
    let q = |name: &str| Dialect::Sqlite.quote_identifier(name);
    let common: Vec<String> = after.columns.iter().filter(|c| before.column(&c.name).is_some()).map(|c| q(&c.name)).collect();
    if !common.is_empty() {
        let list = common.join(", ");
        sql.push(format!("INSERT INTO {} ({list}) SELECT {list} FROM {}", q(&temporary), q(&before.name)));
    }
    if after.auto_increment_key().is_some() {
        // Ids of deleted rows are not handed out again: keep the old table's high-water mark.
        let (old, new) = (sql_string(&before.name), sql_string(&temporary));
        sql.push(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT '{new}', seq FROM sqlite_sequence WHERE name = '{old}' \
             AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{new}')"
        ));
        sql.push(format!(
            "UPDATE sqlite_sequence SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('{old}', '{new}')) \
             WHERE name = '{new}'"
        ));
    }
    sql.push(render_drop_table(&before.name, Dialect::Sqlite, false));
    sql.push(format!("ALTER TABLE {} RENAME TO {}", q(&temporary), q(&after.name)));
    for index in &indexes {
        sql.push(render_create_index(&after.name, index, Dialect::Sqlite, false));
    }
    Ok(sql)
}

/// The labels `to` adds to the enum type `from`, each placed where `to` lists it
/// (`ALTER TYPE … ADD VALUE … BEFORE …`). PostgreSQL cannot remove or reorder a type's labels:
/// asking for that is an `UnsupportedOperation`, never a silent partial change.
fn render_alter_enum(from: &EnumType, to: &EnumType, dialect: Dialect) -> Result<Vec<String>> {
    if dialect != Dialect::Postgres {
        return Ok(Vec::new());
    }
    to.check().map_err(|why| Error::unsupported(dialect, why))?;
    let kept: Vec<&String> = to.labels.iter().filter(|l| from.labels.contains(l)).collect();
    if kept.len() != from.labels.len() || kept.iter().zip(&from.labels).any(|(a, b)| *a != b) {
        return Err(Error::unsupported(
            dialect,
            format!(
                "changing the labels of enum type `{}` from ({}) to ({}): PostgreSQL can add labels to an enum type but \
                 cannot remove or reorder them; help: write the change as a hand-written migration (create a new type, \
                 convert the columns with `USING`, drop the old type)",
                to.name,
                from.labels.join(", "),
                to.labels.join(", ")
            ),
        ));
    }
    let name = dialect.quote_identifier(&to.name);
    let mut sql = Vec::new();
    for (i, label) in to.labels.iter().enumerate().filter(|(_, l)| !from.labels.contains(l)) {
        // Placed before the next label the type already has; after all of them otherwise.
        let place = match to.labels[i + 1..].iter().find(|next| from.labels.contains(next)) {
            Some(next) => format!(" BEFORE {}", super::pg_literal(next)),
            None => String::new(),
        };
        sql.push(format!("ALTER TYPE {name} ADD VALUE IF NOT EXISTS {}{place}", super::pg_literal(label)));
    }
    Ok(sql)
}
