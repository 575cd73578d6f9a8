//! DDL: CREATE TABLE / CREATE INDEX / DROP TABLE from model metadata.
//!
//! PostgreSQL, MySQL and SQLite go through sea-query's table builders; SQL Server and Oracle
//! through `CustomDdl`, written once and parameterised by each dialect's module.

use sea_query::{
    ColumnDef, ColumnType, Expr, ForeignKey, ForeignKeyAction, Index, MysqlQueryBuilder,
    PostgresQueryBuilder, SqliteQueryBuilder, Table,
};

use crate::config::Dialect;
use crate::dialect::{self, mssql, oracle};
use crate::error::{Error, Result};
use crate::model::{ColumnDefault, ColumnMeta, ModelMeta, ReferentialAction};
use crate::types::SqlType;

/// Orders models so that referenced tables come before the tables referencing them
/// (self-references and cycles fall back to declaration order).
pub fn dependency_order(metas: Vec<&'static ModelMeta>) -> Vec<&'static ModelMeta> {
    let mut unique: Vec<&'static ModelMeta> = Vec::new();
    for meta in metas {
        if !unique.iter().any(|m| m.table == meta.table) {
            unique.push(meta);
        }
    }
    let mut ordered: Vec<&'static ModelMeta> = Vec::with_capacity(unique.len());
    while ordered.len() < unique.len() {
        let before = ordered.len();
        for meta in &unique {
            if ordered.iter().any(|m| m.table == meta.table) {
                continue;
            }
            let ready = meta.dependencies().all(|dep| {
                dep.table == meta.table
                    || ordered.iter().any(|m| m.table == dep.table)
                    || !unique.iter().any(|m| m.table == dep.table)
            });
            if ready {
                ordered.push(meta);
            }
        }
        if ordered.len() == before {
            // A cycle: take the rest as declared.
            for meta in &unique {
                if !ordered.iter().any(|m| m.table == meta.table) {
                    ordered.push(meta);
                }
            }
        }
    }
    ordered
}

/// The CREATE TABLE statement, then one CREATE INDEX per plain index.
pub fn create_table(meta: &ModelMeta, dialect: Dialect, if_not_exists: bool) -> Result<Vec<String>> {
    match dialect {
        Dialect::Postgres | Dialect::MySql | Dialect::Sqlite => sea_query_create_table(meta, dialect, if_not_exists),
        Dialect::MsSql => CustomDdl::MSSQL.create_table(meta, if_not_exists),
        Dialect::Oracle => CustomDdl::ORACLE.create_table(meta, if_not_exists),
    }
}

/// The DROP TABLE statement.
pub fn drop_table(meta: &ModelMeta, dialect: Dialect, if_exists: bool) -> String {
    match dialect {
        Dialect::MsSql => CustomDdl::MSSQL.drop_table(meta, if_exists),
        Dialect::Oracle => CustomDdl::ORACLE.drop_table(meta, if_exists),
        _ => {
            let mut stmt = Table::drop();
            stmt.table(meta.table);
            if if_exists {
                stmt.if_exists();
            }
            match dialect {
                Dialect::Postgres => stmt.to_string(PostgresQueryBuilder),
                Dialect::MySql => stmt.to_string(MysqlQueryBuilder),
                _ => stmt.to_string(SqliteQueryBuilder),
            }
        }
    }
}

fn fk_action(action: ReferentialAction) -> ForeignKeyAction {
    match action {
        ReferentialAction::Cascade => ForeignKeyAction::Cascade,
        ReferentialAction::SetNull => ForeignKeyAction::SetNull,
        ReferentialAction::SetDefault => ForeignKeyAction::SetDefault,
        ReferentialAction::Restrict => ForeignKeyAction::Restrict,
        ReferentialAction::NoAction => ForeignKeyAction::NoAction,
    }
}

fn default_expr(default: ColumnDefault) -> Expr {
    match default {
        ColumnDefault::Bool(b) => Expr::val(b),
        ColumnDefault::Int(i) => Expr::val(i),
        ColumnDefault::Float(f) => Expr::val(f),
        ColumnDefault::Str(s) => Expr::val(s),
        ColumnDefault::Sql(sql) => Expr::cust(sql),
    }
}

fn sea_query_create_table(meta: &ModelMeta, dialect: Dialect, if_not_exists: bool) -> Result<Vec<String>> {
    let mut table = Table::create();
    table.table(meta.table);
    if if_not_exists {
        table.if_not_exists();
    }
    let single_auto_key = meta.auto_increment_key();
    for column in meta.columns {
        let type_name = dialect::column_type(dialect, meta, column)?;
        // PostgreSQL writes identity columns from sea-query's own integer types.
        let column_type = match (dialect, column.auto_increment, column.sql_type) {
            (Dialect::Postgres, true, SqlType::SmallInt) => ColumnType::SmallInteger,
            (Dialect::Postgres, true, SqlType::Integer) => ColumnType::Integer,
            (Dialect::Postgres, true, SqlType::BigInt) => ColumnType::BigInteger,
            _ => ColumnType::custom(type_name),
        };
        let mut def = ColumnDef::new_with_type(column.name, column_type);
        if !column.nullable {
            def.not_null();
        }
        if column.auto_increment {
            def.auto_increment();
        }
        // SQLite only auto-increments an inline `integer PRIMARY KEY`.
        if dialect == Dialect::Sqlite && single_auto_key.is_some_and(|k| std::ptr::eq(k, column)) {
            def.primary_key();
        }
        if let Some(default) = column.default {
            def.default(default_expr(default));
        }
        table.col(def);
    }
    if !(dialect == Dialect::Sqlite && single_auto_key.is_some()) {
        let mut pk = Index::create();
        pk.name(format!("pk_{}", meta.table));
        for column in meta.key_columns() {
            pk.col(column.name);
        }
        table.primary_key(&mut pk);
    }
    for column in meta.columns {
        if let Some(fk) = column.references {
            let target = (fk.target)();
            let mut key = ForeignKey::create();
            key.name(format!("fk_{}_{}", meta.table, column.name))
                .from(meta.table, column.name)
                .to(target.table, fk.target_column());
            if let Some(action) = fk.on_delete {
                key.on_delete(fk_action(action));
            }
            if let Some(action) = fk.on_update {
                key.on_update(fk_action(action));
            }
            table.foreign_key(&mut key);
        }
    }
    let mut separate_indexes = Vec::new();
    for index in meta.indexes {
        let mut def = Index::create();
        def.name(index.name(meta.table));
        for column in index.columns {
            def.col(*column);
        }
        if index.unique {
            def.unique();
            table.index(&mut def);
        } else if dialect == Dialect::MySql {
            // MySQL has no CREATE INDEX IF NOT EXISTS: declare the index with the table.
            table.index(&mut def);
        } else {
            def.table(meta.table);
            if if_not_exists {
                def.if_not_exists();
            }
            separate_indexes.push(def);
        }
    }
    let mut statements = vec![match dialect {
        Dialect::Postgres => table.to_string(PostgresQueryBuilder),
        Dialect::MySql => table.to_string(MysqlQueryBuilder),
        _ => table.to_string(SqliteQueryBuilder),
    }];
    for index in separate_indexes {
        statements.push(match dialect {
            Dialect::Postgres => index.to_string(PostgresQueryBuilder),
            _ => index.to_string(SqliteQueryBuilder),
        });
    }
    Ok(statements)
}

/// DDL for the dialects sea-query cannot write, described by what differs between them.
pub(crate) struct CustomDdl {
    pub dialect: Dialect,
    pub quote: fn(&str) -> String,
    /// Written after the type of an identity column.
    pub identity: &'static str,
    /// Literal for a boolean default.
    pub bool_literal: fn(bool) -> &'static str,
    /// `CREATE TABLE "t"`, made to run only when the table is missing if asked.
    pub create_table_head: fn(table: &str, if_not_exists: bool) -> String,
    /// `CREATE INDEX "i" ON "t"`, made to run only when the index is missing if asked.
    pub create_index_head: fn(index: &str, table: &str, if_not_exists: bool) -> String,
    /// DROP TABLE, optionally tolerating a missing table.
    pub drop_table: fn(table: &str, if_exists: bool) -> String,
    /// The referential action as the dialect writes it (`None`: omit the clause).
    pub action: fn(ReferentialAction, on_update: bool) -> Result<Option<&'static str>, String>,
}

impl CustomDdl {
    pub(crate) const MSSQL: CustomDdl = mssql::DDL;
    pub(crate) const ORACLE: CustomDdl = oracle::DDL;

    fn create_table(&self, meta: &ModelMeta, if_not_exists: bool) -> Result<Vec<String>> {
        let q = self.quote;
        let mut parts = Vec::new();
        for column in meta.columns {
            parts.push(self.column_definition(meta, column)?);
        }
        let key: Vec<String> = meta.key_columns().map(|c| q(c.name)).collect();
        parts.push(format!("CONSTRAINT {} PRIMARY KEY ({})", q(&format!("pk_{}", meta.table)), key.join(", ")));
        for index in meta.indexes.iter().filter(|i| i.unique) {
            let columns: Vec<String> = index.columns.iter().map(|c| q(c)).collect();
            parts.push(format!("CONSTRAINT {} UNIQUE ({})", q(&index.name(meta.table)), columns.join(", ")));
        }
        for column in meta.columns {
            let Some(fk) = column.references else { continue };
            let target = (fk.target)();
            let mut clause = format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                q(&format!("fk_{}_{}", meta.table, column.name)),
                q(column.name),
                q(target.table),
                q(fk.target_column())
            );
            for (action, on_update) in [(fk.on_delete, false), (fk.on_update, true)] {
                let Some(action) = action else { continue };
                let written = (self.action)(action, on_update)
                    .map_err(|what| Error::unsupported(self.dialect, format!("{what} (foreign key `{}.{}`)", meta.table, column.name)))?;
                if let Some(written) = written {
                    clause.push_str(if on_update { " ON UPDATE " } else { " ON DELETE " });
                    clause.push_str(written);
                }
            }
            parts.push(clause);
        }
        let mut statements = vec![format!("{} ({})", (self.create_table_head)(meta.table, if_not_exists), parts.join(", "))];
        for index in meta.indexes.iter().filter(|i| !i.unique) {
            let columns: Vec<String> = index.columns.iter().map(|c| q(c)).collect();
            let head = (self.create_index_head)(&index.name(meta.table), meta.table, if_not_exists);
            statements.push(format!("{head} ({})", columns.join(", ")));
        }
        Ok(statements)
    }

    fn column_definition(&self, meta: &ModelMeta, column: &ColumnMeta) -> Result<String> {
        let mut sql = format!("{} {}", (self.quote)(column.name), dialect::column_type(self.dialect, meta, column)?);
        if column.auto_increment {
            sql.push_str(self.identity);
        }
        if let Some(default) = column.default {
            sql.push_str(" DEFAULT ");
            sql.push_str(&match default {
                ColumnDefault::Bool(b) => (self.bool_literal)(b).to_string(),
                ColumnDefault::Int(i) => i.to_string(),
                ColumnDefault::Float(f) => f.to_string(),
                ColumnDefault::Str(s) => format!("'{}'", s.replace('\'', "''")),
                ColumnDefault::Sql(expr) => expr.to_string(),
            });
        }
        if !column.nullable {
            sql.push_str(" NOT NULL");
        }
        Ok(sql)
    }

    fn drop_table(&self, meta: &ModelMeta, if_exists: bool) -> String {
        (self.drop_table)(meta.table, if_exists)
    }
}
