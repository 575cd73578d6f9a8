//! DDL, in one place: CREATE TABLE / CREATE INDEX / DROP TABLE here, for `create_all` and
//! migrations alike (they differ only in `IF NOT EXISTS`); a migration's other steps (ALTER,
//! SQLite's table rebuilds) in `alter.rs`.
//!
//! PostgreSQL, MySQL and SQLite go through sea-query's table builders; SQL Server and Oracle
//! through `CustomDdl`, implemented by each dialect's module.

#[cfg(feature = "migrate")]
pub(crate) mod alter;

use sea_query::{
    ColumnDef, ColumnType as SeaColumnType, Expr, ForeignKey, ForeignKeyAction, MysqlQueryBuilder, PostgresQueryBuilder,
    SqliteQueryBuilder, Table as SeaTable,
};

use crate::dialect::{self, Dialect, mssql, oracle};
use crate::error::{Error, Result};
use crate::model::{ModelMeta, ReferentialAction};
use crate::schema::{Column, ColumnType, DefaultValue, EnumType, Index, Table};

/// Orders models so that referenced tables come before the tables referencing them
/// (self-references and cycles fall back to declaration order).
pub fn dependency_order(metas: Vec<&'static ModelMeta>) -> Vec<&'static ModelMeta> {
    let mut unique: Vec<&'static ModelMeta> = Vec::new();
    for meta in metas {
        if !unique.iter().any(|m| m.table == meta.table) {
            unique.push(meta);
        }
    }
    let order = crate::schema::dependency_order(&unique, |m| m.table, |m| m.dependencies().map(|d| d.table).collect());
    order.into_iter().map(|i| unique[i]).collect()
}

/// The CREATE TABLE statement of a model's table, then one CREATE INDEX per plain index.
pub fn create_table(meta: &ModelMeta, dialect: Dialect, if_not_exists: bool) -> Result<Vec<String>> {
    render_create_table(&meta.to_table(), dialect, CreateTable { if_not_exists })
}

/// The DROP TABLE statement of a model's table.
pub fn drop_table(meta: &ModelMeta, dialect: Dialect, if_exists: bool) -> String {
    render_drop_table(meta.table, dialect, if_exists)
}

/// What `create_all` runs for `metas` (in dependency order, as [`dependency_order`] gives
/// them): the PostgreSQL enum types they use, then each table with its indexes.
pub fn create_all_sql(metas: &[&'static ModelMeta], dialect: Dialect, if_not_exists: bool) -> Result<Vec<String>> {
    let mut sql = Vec::new();
    for enum_type in enum_types_of(metas)? {
        sql.extend(render_create_enum(&enum_type, dialect, if_not_exists)?);
    }
    for meta in metas {
        sql.extend(create_table(meta, dialect, if_not_exists)?);
    }
    Ok(sql)
}

/// What `drop_all` runs for `metas` (in dependency order): the tables, referencing ones
/// first, then the PostgreSQL enum types they used.
pub fn drop_all_sql(metas: &[&'static ModelMeta], dialect: Dialect, if_exists: bool) -> Result<Vec<String>> {
    let mut sql: Vec<String> = metas.iter().rev().map(|meta| drop_table(meta, dialect, if_exists)).collect();
    for enum_type in enum_types_of(metas)? {
        sql.extend(render_drop_enum(&enum_type.name, dialect, if_exists));
    }
    Ok(sql)
}

/// The PostgreSQL enum types the tables of `metas` use, each once (an error when two models
/// give one type different labels).
fn enum_types_of(metas: &[&'static ModelMeta]) -> Result<Vec<EnumType>> {
    let tables: Vec<Table> = metas.iter().map(|meta| meta.to_table()).collect();
    crate::schema::enum_types(&tables).map_err(|why| Error::config(crate::error::ConfigurationKind::Model, why))
}

/// `CREATE TYPE "name" AS ENUM (…)` on PostgreSQL; nothing elsewhere, where the labels are
/// text. PostgreSQL has no `CREATE TYPE IF NOT EXISTS`: `if_not_exists` wraps the statement in
/// a block that creates the type unless an enum type of that name is in the current schema
/// (its labels are then left as they are, as `create_all` leaves an existing table's columns).
/// Any other type of that name still makes the statement fail.
pub(crate) fn render_create_enum(enum_type: &EnumType, dialect: Dialect, if_not_exists: bool) -> Result<Vec<String>> {
    if dialect != Dialect::Postgres {
        return Ok(Vec::new());
    }
    enum_type.check().map_err(|why| Error::unsupported(dialect, why))?;
    let labels: Vec<String> = enum_type.labels.iter().map(|label| pg_literal(label)).collect();
    let create = format!("CREATE TYPE {} AS ENUM ({})", dialect.quote_identifier(&enum_type.name), labels.join(", "));
    if !if_not_exists {
        return Ok(vec![create]);
    }
    let exists = format!(
        "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = current_schema() AND t.typname = {} AND t.typtype = 'e'",
        pg_literal(&enum_type.name)
    );
    // A dollar-quote tag that no label holds, so no label can end the block's body early.
    let tag = (0u32..).map(|n| format!("$duo{n}$")).find(|tag| !create.contains(tag.as_str())).unwrap_or_default();
    Ok(vec![format!("DO {tag} BEGIN IF NOT EXISTS ({exists}) THEN {create}; END IF; END {tag}")])
}

/// `DROP TYPE "name"` on PostgreSQL; nothing elsewhere.
pub(crate) fn render_drop_enum(name: &str, dialect: Dialect, if_exists: bool) -> Vec<String> {
    match dialect {
        Dialect::Postgres => {
            vec![format!("DROP TYPE {}{}", if if_exists { "IF EXISTS " } else { "" }, dialect.quote_identifier(name))]
        }
        _ => Vec::new(),
    }
}

/// A PostgreSQL string literal of `text`, whatever `standard_conforming_strings` says: an
/// `E'…'` string (with `\` doubled) when it holds a backslash.
pub(crate) fn pg_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') { format!("E'{}'", quoted.replace('\\', "\\\\")) } else { format!("'{quoted}'") }
}

/// How a CREATE TABLE is written. `create_all` and a migration's CREATE TABLE differ in this
/// alone, so a database made either way takes the same later migrations (a unique index
/// `create_all` declared inline would be a constraint that `DROP INDEX` cannot remove).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CreateTable {
    /// Run only when the table (and each index) is missing (`create_all`).
    pub if_not_exists: bool,
}

/// Whether indexes are declared inside CREATE TABLE: only on MySQL, which has no
/// `CREATE INDEX IF NOT EXISTS`, and where an inline (named) index is an index like any other.
fn indexes_inline(dialect: Dialect) -> bool {
    dialect == Dialect::MySql
}

/// CREATE TABLE for `table`, then its separate CREATE INDEX statements.
pub(crate) fn render_create_table(table: &Table, dialect: Dialect, how: CreateTable) -> Result<Vec<String>> {
    match dialect {
        Dialect::Postgres | Dialect::MySql | Dialect::Sqlite => sea_query_create_table(table, dialect, how),
        Dialect::MsSql | Dialect::Oracle => custom_ddl(dialect).create_table(table, how),
    }
}

/// DROP TABLE, optionally tolerating a missing table.
pub(crate) fn render_drop_table(table: &str, dialect: Dialect, if_exists: bool) -> String {
    match dialect {
        Dialect::MsSql | Dialect::Oracle => custom_ddl(dialect).drop_table(table, if_exists),
        _ => {
            let mut stmt = SeaTable::drop();
            stmt.table(sea_query::Alias::new(table));
            if if_exists {
                stmt.if_exists();
            }
            build_schema(dialect, &stmt)
        }
    }
}

/// CREATE [UNIQUE] INDEX `index` ON `table`.
pub(crate) fn render_create_index(table: &str, index: &Index, dialect: Dialect, if_not_exists: bool) -> String {
    match dialect {
        Dialect::MsSql | Dialect::Oracle => custom_ddl(dialect).create_index(table, index, if_not_exists),
        _ => {
            let mut def = sea_query_index(index, dialect);
            def.table(sea_query::Alias::new(table));
            if if_not_exists {
                def.if_not_exists();
            }
            build_schema(dialect, &def)
        }
    }
}

/// A sea-query schema statement (CREATE, ALTER, DROP) written for PostgreSQL, MySQL or SQLite;
/// SQL Server and Oracle write their DDL through `CustomDdl`.
pub(crate) fn build_schema(dialect: Dialect, stmt: &impl sea_query::SchemaStatementBuilder) -> String {
    match dialect {
        Dialect::Postgres => stmt.to_string(PostgresQueryBuilder),
        Dialect::MySql => stmt.to_string(MysqlQueryBuilder),
        _ => stmt.to_string(SqliteQueryBuilder),
    }
}

/// A constraint or index name as sea-query needs it: sea-query writes these names between the
/// dialect's quotes without escaping them (unlike table and column names), so the quote
/// character is doubled here.
fn constraint_name(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => name.replace('`', "``"),
        _ => name.replace('"', "\"\""),
    }
}

fn sea_query_index(index: &Index, dialect: Dialect) -> sea_query::IndexCreateStatement {
    let mut def = sea_query::Index::create();
    def.name(constraint_name(dialect, &index.name));
    for column in &index.columns {
        def.col(sea_query::Alias::new(column));
    }
    if index.unique {
        def.unique();
    }
    def
}

pub(crate) fn fk_action(action: ReferentialAction) -> ForeignKeyAction {
    match action {
        ReferentialAction::Cascade => ForeignKeyAction::Cascade,
        ReferentialAction::SetNull => ForeignKeyAction::SetNull,
        ReferentialAction::SetDefault => ForeignKeyAction::SetDefault,
        ReferentialAction::Restrict => ForeignKeyAction::Restrict,
        ReferentialAction::NoAction => ForeignKeyAction::NoAction,
    }
}

fn default_expr(default: &DefaultValue) -> Expr {
    match default {
        DefaultValue::Bool(b) => Expr::val(*b),
        DefaultValue::Int(i) => Expr::val(*i),
        DefaultValue::Float(f) => Expr::val(*f),
        DefaultValue::Str(s) => Expr::val(s.clone()),
        DefaultValue::Sql(sql) => Expr::cust(sql.clone()),
    }
}

/// A sea-query column definition of `column` in `table` (PostgreSQL, MySQL, SQLite).
pub(crate) fn sea_query_column(table: &Table, column: &Column, dialect: Dialect) -> Result<ColumnDef> {
    let type_name = dialect::column_type(dialect, table, column)?;
    // PostgreSQL writes identity columns from sea-query's own integer types.
    let column_type = match (dialect, column.auto_increment, &column.column_type) {
        (Dialect::Postgres, true, ColumnType::SmallInt) => SeaColumnType::SmallInteger,
        (Dialect::Postgres, true, ColumnType::Integer) => SeaColumnType::Integer,
        (Dialect::Postgres, true, ColumnType::BigInt) => SeaColumnType::BigInteger,
        _ => SeaColumnType::custom(type_name),
    };
    let mut def = ColumnDef::new_with_type(sea_query::Alias::new(&column.name), column_type);
    if !column.nullable {
        def.not_null();
    }
    if column.auto_increment {
        def.auto_increment();
    }
    // SQLite only auto-increments an inline `integer PRIMARY KEY`.
    if dialect == Dialect::Sqlite && table.auto_increment_key().is_some_and(|k| k.name == column.name) {
        def.primary_key();
    }
    if let Some(default) = &column.default {
        def.default(default_expr(default));
    }
    Ok(def)
}

/// A sea-query foreign key of `table`.
pub(crate) fn sea_query_foreign_key(table: &str, fk: &crate::schema::ForeignKey, dialect: Dialect) -> sea_query::ForeignKeyCreateStatement {
    let mut key = ForeignKey::create();
    key.name(constraint_name(dialect, &fk.name)).from_tbl(sea_query::Alias::new(table)).to_tbl(sea_query::Alias::new(&fk.references));
    for column in &fk.columns {
        key.from_col(sea_query::Alias::new(column));
    }
    for column in &fk.referenced_columns {
        key.to_col(sea_query::Alias::new(column));
    }
    if let Some(action) = fk.on_delete {
        key.on_delete(fk_action(action));
    }
    if let Some(action) = fk.on_update {
        key.on_update(fk_action(action));
    }
    key
}

fn sea_query_create_table(table: &Table, dialect: Dialect, how: CreateTable) -> Result<Vec<String>> {
    let mut stmt = SeaTable::create();
    stmt.table(sea_query::Alias::new(&table.name));
    if how.if_not_exists {
        stmt.if_not_exists();
    }
    for column in &table.columns {
        stmt.col(sea_query_column(table, column, dialect)?);
    }
    if !(dialect == Dialect::Sqlite && table.auto_increment_key().is_some()) {
        let mut pk = sea_query::Index::create();
        pk.name(constraint_name(dialect, &Table::primary_key_name(&table.name)));
        for column in &table.primary_key {
            pk.col(sea_query::Alias::new(column));
        }
        stmt.primary_key(&mut pk);
    }
    for fk in &table.foreign_keys {
        stmt.foreign_key(&mut sea_query_foreign_key(&table.name, fk, dialect));
    }
    let mut separate_indexes = Vec::new();
    for index in &table.indexes {
        if indexes_inline(dialect) {
            stmt.index(&mut sea_query_index(index, dialect));
        } else {
            separate_indexes.push(render_create_index(&table.name, index, dialect, how.if_not_exists));
        }
    }
    let mut statements = vec![build_schema(dialect, &stmt)];
    statements.extend(separate_indexes);
    Ok(statements)
}

/// The DDL writer of a dialect sea-query cannot write DDL for (SQL Server, Oracle).
pub(crate) fn custom_ddl(dialect: Dialect) -> &'static dyn CustomDdl {
    match dialect {
        Dialect::MsSql => &mssql::MsSqlDdl,
        _ => &oracle::OracleDdl,
    }
}

/// DDL for the dialects sea-query cannot write (SQL Server, Oracle): each implements what
/// differs between them, and the provided methods write the statements from it.
pub(crate) trait CustomDdl: Sync {
    fn dialect(&self) -> Dialect;
    /// Written after the type of an identity column.
    fn identity(&self) -> &'static str;
    /// Literal for a boolean default.
    fn bool_literal(&self, value: bool) -> &'static str;
    /// Whether a default is written as a named constraint (`CONSTRAINT df_<table>_<column>
    /// DEFAULT …`, SQL Server), so that a migration can drop or change it by name.
    fn named_defaults(&self) -> bool {
        false
    }
    /// `CREATE TABLE "t"`, made to run only when the table is missing if asked.
    fn create_table_head(&self, table: &str, if_not_exists: bool) -> String;
    /// `CREATE [UNIQUE] INDEX "i" ON "t"`, made to run only when the index is missing if asked.
    fn create_index_head(&self, index: &str, table: &str, unique: bool, if_not_exists: bool) -> String;
    /// DROP TABLE, optionally tolerating a missing table.
    fn drop_table(&self, table: &str, if_exists: bool) -> String;
    /// The referential action as the dialect writes it (`None`: omit the clause), or what it
    /// cannot do.
    fn action(&self, action: ReferentialAction, on_update: bool) -> Result<Option<&'static str>, String>;

    fn create_table(&self, table: &Table, how: CreateTable) -> Result<Vec<String>> {
        let q = |name: &str| self.dialect().quote_identifier(name);
        let mut parts = Vec::new();
        for column in &table.columns {
            parts.push(self.column_definition(table, column)?);
        }
        let key: Vec<String> = table.primary_key.iter().map(|c| q(c)).collect();
        parts.push(format!("CONSTRAINT {} PRIMARY KEY ({})", q(&Table::primary_key_name(&table.name)), key.join(", ")));
        for fk in &table.foreign_keys {
            parts.push(self.foreign_key_clause(&table.name, fk)?);
        }
        let mut statements = vec![format!("{} ({})", self.create_table_head(&table.name, how.if_not_exists), parts.join(", "))];
        for index in &table.indexes {
            statements.push(self.create_index(&table.name, index, how.if_not_exists));
        }
        Ok(statements)
    }

    /// `CONSTRAINT "fk" FOREIGN KEY ("col") REFERENCES "t" ("id") [ON DELETE …]`.
    fn foreign_key_clause(&self, table: &str, fk: &crate::schema::ForeignKey) -> Result<String> {
        let q = |name: &str| self.dialect().quote_identifier(name);
        let list = |columns: &[String]| columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
        let mut clause = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            q(&fk.name),
            list(&fk.columns),
            q(&fk.references),
            list(&fk.referenced_columns)
        );
        for (action, on_update) in [(fk.on_delete, false), (fk.on_update, true)] {
            let Some(action) = action else { continue };
            let written = self
                .action(action, on_update)
                .map_err(|what| Error::unsupported(self.dialect(), format!("{what} (foreign key `{table}.{}`)", fk.columns.join(", "))))?;
            if let Some(written) = written {
                clause.push_str(if on_update { " ON UPDATE " } else { " ON DELETE " });
                clause.push_str(written);
            }
        }
        Ok(clause)
    }

    fn create_index(&self, table: &str, index: &Index, if_not_exists: bool) -> String {
        let columns: Vec<String> = index.columns.iter().map(|c| self.dialect().quote_identifier(c)).collect();
        let head = self.create_index_head(&index.name, table, index.unique, if_not_exists);
        format!("{head} ({})", columns.join(", "))
    }

    /// `"col" TYPE [identity] [DEFAULT …] [NOT NULL]`.
    fn column_definition(&self, table: &Table, column: &Column) -> Result<String> {
        let mut sql = format!("{} {}", self.dialect().quote_identifier(&column.name), dialect::column_type(self.dialect(), table, column)?);
        if column.auto_increment {
            sql.push_str(self.identity());
        }
        if let Some(default) = &column.default {
            if self.named_defaults() {
                sql.push_str(&format!(
                    " CONSTRAINT {}",
                    self.dialect().quote_identifier(&Table::default_constraint_name(&table.name, &column.name))
                ));
            }
            sql.push_str(" DEFAULT ");
            sql.push_str(&self.default_literal(default));
        }
        if !column.nullable {
            sql.push_str(" NOT NULL");
        }
        Ok(sql)
    }

    fn default_literal(&self, default: &DefaultValue) -> String {
        match default {
            DefaultValue::Bool(b) => self.bool_literal(*b).to_string(),
            DefaultValue::Int(i) => i.to_string(),
            DefaultValue::Float(f) => f.to_string(),
            DefaultValue::Str(s) => format!("'{}'", s.replace('\'', "''")),
            DefaultValue::Sql(expr) => expr.clone(),
        }
    }
}
