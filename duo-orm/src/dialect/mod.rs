//! Everything that differs between dialects, one module per dialect.
//!
//! PostgreSQL, MySQL/MariaDB and SQLite render through sea-query's own builders. SQL Server
//! and Oracle have no open-source sea-query backend, so [`mssql`] and [`oracle`] implement
//! sea-query's `QueryBuilder` for expressions and statement bodies and write the
//! dialect-specific tails (paging, `OUTPUT`, `RETURNING … INTO`) themselves.

use std::fmt;
use std::str::FromStr;

use sea_query::{InsertStatement, QueryBuilder, SelectStatement, SqlWriterValues, Value, Values};

use crate::error::{ConfigurationKind, Error, Result};
use crate::schema::{Column, ColumnType, Table};

pub mod mssql;
pub(crate) mod mysql;
pub mod oracle;
pub(crate) mod postgres;
pub(crate) mod sqlite;

/// The SQL dialects duo-orm renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL and MariaDB (`mysql://`, `mariadb://`).
    MySql,
    /// SQLite (`sqlite://path`, `sqlite::memory:`).
    Sqlite,
    /// Microsoft SQL Server (`mssql://`): SQL rendering only in this version.
    MsSql,
    /// Oracle Database (`oracle://`): SQL rendering only in this version.
    Oracle,
}

impl Dialect {
    /// Every dialect, in a stable order.
    pub const ALL: [Dialect; 5] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite, Dialect::MsSql, Dialect::Oracle];

    /// The dialect's name as users write it.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Sqlite => "SQLite",
            Dialect::MsSql => "SQL Server",
            Dialect::Oracle => "Oracle",
        }
    }

    /// The most bound parameters one statement may carry (bulk inserts are chunked by it).
    pub const fn max_parameters(self) -> usize {
        match self {
            // The wire protocols count parameters in 16 bits.
            Dialect::Postgres => 65_535,
            Dialect::MySql => 65_535,
            // SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32 (sqlx bundles a newer one).
            Dialect::Sqlite => 32_766,
            // "The server supports a maximum of 2100 parameters", and sp_executesql, which runs
            // every parameterised statement, takes two of them for itself.
            Dialect::MsSql => 2_098,
            Dialect::Oracle => 65_535,
        }
    }

    /// The most values one `IN (…)` list carries: the parameter limit, and Oracle's 1 000
    /// expressions per list (ORA-01795). Longer lists are split across statements.
    ///
    /// ```
    /// use duo_orm::Dialect;
    /// assert_eq!(Dialect::Oracle.max_in_list(), 1_000);
    /// assert_eq!(Dialect::Postgres.max_in_list(), Dialect::Postgres.max_parameters());
    /// ```
    pub const fn max_in_list(self) -> usize {
        match self {
            Dialect::Oracle => 1_000,
            other => other.max_parameters(),
        }
    }
}

impl Dialect {
    /// `name` as an identifier in this dialect: between its quotes (`"…"`, MySQL's `` `…` ``,
    /// SQL Server's `[…]`), with the closing quote doubled inside, as the dialect escapes it.
    /// Every identifier duo-orm writes as text (DDL, catalogue queries, configured names such as
    /// the version table) goes through here; sea-query's builders quote the same way.
    ///
    /// ```
    /// use duo_orm::Dialect;
    /// assert_eq!(Dialect::Postgres.quote_identifier(r#"odd"name"#), r#""odd""name""#);
    /// assert_eq!(Dialect::MySql.quote_identifier("a`b"), "`a``b`");
    /// assert_eq!(Dialect::MsSql.quote_identifier("a]b"), "[a]]b]");
    /// ```
    pub fn quote_identifier(self, name: &str) -> String {
        let (open, close) = match self {
            Dialect::MySql => ('`', '`'),
            Dialect::MsSql => ('[', ']'),
            Dialect::Postgres | Dialect::Sqlite | Dialect::Oracle => ('"', '"'),
        };
        let mut quoted = String::with_capacity(name.len() + 2);
        quoted.push(open);
        for c in name.chars() {
            if c == close {
                quoted.push(close);
            }
            quoted.push(c);
        }
        quoted.push(close);
        quoted
    }

    /// How the dialect marks a bound value in SQL text: the mark, and whether the value's
    /// position (from 1) follows it. `?` on SQLite and MySQL, `$1` on PostgreSQL, `@P1` on SQL
    /// Server, `:1` on Oracle.
    ///
    /// ```
    /// use duo_orm::Dialect;
    /// assert_eq!(Dialect::Postgres.placeholder(), ("$", true));
    /// assert_eq!(Dialect::MySql.placeholder(), ("?", false));
    /// ```
    pub const fn placeholder(self) -> (&'static str, bool) {
        match self {
            Dialect::Postgres => ("$", true),
            Dialect::MySql | Dialect::Sqlite => ("?", false),
            Dialect::MsSql => ("@P", true),
            Dialect::Oracle => (":", true),
        }
    }

    /// The OpenTelemetry `db.system` name, recorded on every statement's tracing span.
    pub const fn tracing_system(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgresql",
            Dialect::MySql => "mysql",
            Dialect::Sqlite => "sqlite",
            Dialect::MsSql => "mssql",
            Dialect::Oracle => "oracle",
        }
    }
}

/// A session-level lock that serialises migration runs on a server: taken on the run's
/// connection before the run, released after. `acquire` answers one row whose first column is
/// 1 when the lock is held (PostgreSQL's waits for it; MySQL's gives up after 10 minutes).
#[cfg(feature = "migrate")]
pub(crate) struct SessionLock {
    pub(crate) acquire: Statement,
    pub(crate) release: Statement,
}

#[cfg(feature = "migrate")]
impl Dialect {
    /// The migration lock named by `key` (derived from the version table's name, so that
    /// runners of one migration set meet), or `None` where runs are serialised otherwise
    /// (SQLite: one exclusive transaction per migration).
    pub(crate) fn migration_lock(self, key: i64) -> Option<SessionLock> {
        match self {
            Dialect::Postgres => Some(SessionLock {
                acquire: Statement::with_values("SELECT CAST(1 AS BIGINT) FROM pg_advisory_lock($1)", [key.into()]),
                release: Statement::with_values("SELECT pg_advisory_unlock($1)", [key.into()]),
            }),
            Dialect::MySql => {
                // At most 64 characters, whatever the table's name.
                let name = format!("duo-orm:{key:x}");
                Some(SessionLock {
                    acquire: Statement::with_values("SELECT GET_LOCK(?, 600)", [name.clone().into()]),
                    release: Statement::with_values("SELECT RELEASE_LOCK(?)", [name.into()]),
                })
            }
            _ => None,
        }
    }
}

/// Parses a dialect's name as a command line or configuration writes it: any URL scheme
/// (`postgres`, `postgresql`, `mysql`, `mariadb`, `sqlite`, `mssql`, `sqlserver`, `oracle`)
/// or `pg`, in any case.
///
/// ```
/// use duo_orm::Dialect;
/// assert_eq!("pg".parse::<Dialect>().unwrap(), Dialect::Postgres);
/// assert_eq!("MariaDB".parse::<Dialect>().unwrap(), Dialect::MySql);
/// assert!("db2".parse::<Dialect>().unwrap_err().to_string().contains("expected one of"));
/// ```
impl FromStr for Dialect {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        let lower = name.trim().to_ascii_lowercase();
        SCHEMES.iter().chain(&[("pg", Dialect::Postgres)]).find(|(known, _)| *known == lower).map(|(_, dialect)| *dialect).ok_or_else(
            || {
                let known: Vec<&str> = SCHEMES.iter().map(|(n, _)| *n).chain(["pg"]).collect();
                Error::config(ConfigurationKind::Url, format!("unknown dialect `{name}`; expected one of {}", known.join(", ")))
            },
        )
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The URL schemes duo-orm accepts, with the dialect each one names.
pub(crate) const SCHEMES: &[(&str, Dialect)] = &[
    ("postgres", Dialect::Postgres),
    ("postgresql", Dialect::Postgres),
    ("mysql", Dialect::MySql),
    ("mariadb", Dialect::MySql),
    ("sqlite", Dialect::Sqlite),
    ("mssql", Dialect::MsSql),
    ("sqlserver", Dialect::MsSql),
    ("oracle", Dialect::Oracle),
];

/// A rendered statement: SQL text and its bound values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text, with the dialect's placeholders.
    pub sql: String,
    /// The values bound to the placeholders, in order.
    pub values: Values,
}

impl Statement {
    pub(crate) fn new((sql, values): (String, Values)) -> Self {
        Statement { sql, values }
    }

    pub(crate) fn raw(sql: String) -> Self {
        Statement { sql, values: Values(Vec::new()) }
    }

    /// Fixed SQL text with bound values (written with the dialect's placeholders).
    #[cfg(feature = "migrate")]
    pub(crate) fn with_values(sql: &str, values: impl IntoIterator<Item = Value>) -> Self {
        Statement { sql: sql.to_string(), values: Values(values.into_iter().collect()) }
    }
}

/// Renders a statement whose body sea-query's builders can write in every dialect (UPDATE,
/// DELETE, and INSERT bodies).
macro_rules! build_any {
    ($dialect:expr, $stmt:expr) => {
        match $dialect {
            $crate::Dialect::Postgres => $stmt.build(sea_query::PostgresQueryBuilder),
            $crate::Dialect::MySql => $stmt.build(sea_query::MysqlQueryBuilder),
            $crate::Dialect::Sqlite => $stmt.build(sea_query::SqliteQueryBuilder),
            $crate::Dialect::MsSql => $stmt.build($crate::dialect::mssql::MsSqlQueryBuilder),
            $crate::Dialect::Oracle => $stmt.build($crate::dialect::oracle::OracleQueryBuilder),
        }
    };
}
pub(crate) use build_any;

/// Paging as the dialect writes it after `ORDER BY`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Paging {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl Paging {
    pub fn is_set(&self) -> bool {
        self.limit.is_some() || self.offset.is_some()
    }
}

/// Renders a SELECT. `stmt` carries no limit/offset: they come as `paging`, because SQL Server
/// and Oracle write them as an `OFFSET … FETCH` tail that sea-query cannot produce. `ordered`
/// says whether `stmt` has an ORDER BY (SQL Server pages only ordered queries).
pub(crate) fn render_select(dialect: Dialect, mut stmt: SelectStatement, paging: Paging, ordered: bool) -> Statement {
    match dialect {
        Dialect::Sqlite => sqlite::render_select(&stmt, paging),
        Dialect::Postgres | Dialect::MySql => {
            apply_limit_offset(dialect, &mut stmt, paging);
            Statement::new(build_any!(dialect, stmt))
        }
        Dialect::MsSql => mssql::render_select(stmt, paging, ordered),
        Dialect::Oracle => oracle::render_select(stmt, paging),
    }
}

/// The values [`render_select`] binds after the statement body's for `paging`, in order:
/// SQLite's offset (its limit is a literal), the LIMIT and OFFSET of PostgreSQL and MySQL, the
/// OFFSET … FETCH of SQL Server and Oracle.
pub(crate) fn bound_paging(dialect: Dialect, paging: Paging) -> Vec<Value> {
    let big = |n: u64| Value::BigInt(Some(n as i64));
    let unsigned = |n: u64| Value::BigUnsigned(Some(n));
    match dialect {
        Dialect::Sqlite => paging.offset.map(unsigned).into_iter().collect(),
        Dialect::Postgres | Dialect::MySql => {
            let limit = match (paging.limit, paging.offset) {
                (Some(limit), _) => Some(limit),
                (None, Some(_)) if dialect == Dialect::MySql => Some(u64::MAX),
                _ => None,
            };
            limit.map(unsigned).into_iter().chain(paging.offset.map(unsigned)).collect()
        }
        Dialect::MsSql | Dialect::Oracle if paging.is_set() => {
            std::iter::once(big(paging.offset.unwrap_or(0))).chain(paging.limit.map(big)).collect()
        }
        Dialect::MsSql | Dialect::Oracle => Vec::new(),
    }
}

/// sea-query's LIMIT/OFFSET for the three dialects that have them. MySQL and SQLite cannot
/// write OFFSET without LIMIT, so an offset alone gets the largest limit each accepts.
pub(crate) fn apply_limit_offset(dialect: Dialect, stmt: &mut SelectStatement, paging: Paging) {
    match (paging.limit, paging.offset) {
        (Some(limit), _) => {
            stmt.limit(limit);
        }
        (None, Some(_)) if dialect == Dialect::MySql => {
            stmt.limit(u64::MAX);
        }
        (None, Some(_)) if dialect == Dialect::Sqlite => {
            stmt.limit(i64::MAX as u64);
        }
        _ => {}
    }
    if let Some(offset) = paging.offset {
        stmt.offset(offset);
    }
}

/// Renders an INSERT that hands back `returning` columns of the new rows: `RETURNING`
/// (PostgreSQL, SQLite, MariaDB), `OUTPUT INSERTED.…` (SQL Server), `RETURNING … INTO`
/// (Oracle, one row only). MySQL proper has no such clause: callers ask for `returning` on
/// the MySQL dialect only when the server is MariaDB, and otherwise re-read rows by key.
pub(crate) fn render_insert(dialect: Dialect, mut stmt: InsertStatement, returning: &[&'static str]) -> Statement {
    match dialect {
        Dialect::Postgres | Dialect::Sqlite | Dialect::MsSql if !returning.is_empty() => {
            stmt.returning(sea_query::Query::returning().columns(returning.iter().copied()));
        }
        _ => {}
    }
    match dialect {
        Dialect::Oracle => oracle::render_insert(stmt, returning),
        Dialect::MySql => mysql::render_insert(stmt, returning),
        _ => Statement::new(build_any!(dialect, stmt)),
    }
}

/// The most rows one multi-row `INSERT … VALUES` may carry (SQL Server: 1 000 row values).
pub(crate) fn max_insert_rows(dialect: Dialect) -> usize {
    match dialect {
        Dialect::MsSql => 1_000,
        _ => usize::MAX,
    }
}

/// Whether an INSERT can hand back the new row in the same statement.
pub(crate) fn insert_returns_row(dialect: Dialect) -> bool {
    !matches!(dialect, Dialect::MySql)
}

/// Renders the column type of `column` (of `table`) in `dialect`.
pub(crate) fn column_type(dialect: Dialect, table: &Table, column: &Column) -> Result<String> {
    if let ColumnType::Custom(name) = &column.column_type {
        return Ok(name.clone());
    }
    if let ColumnType::Array(of) = column.column_type {
        if dialect != Dialect::Postgres {
            return Err(crate::Error::unsupported(
                dialect,
                format!(
                    "the array column `{}.{}` (arrays are PostgreSQL's); help: store it as JSON with `Json<Vec<T>>`, \
                     which works on every dialect",
                    table.name, column.name
                ),
            ));
        }
        let element = Column { column_type: of.element(), ..column.clone() };
        return Ok(format!("{}[]", postgres::column_type(&element)));
    }
    if let ColumnType::Enum(enum_type) = &column.column_type {
        if dialect == Dialect::Postgres {
            return Ok(dialect.quote_identifier(&enum_type.name));
        }
        // Elsewhere the labels are text, bounded by the longest label PostgreSQL allows: a
        // key or an index needs a bounded type on MySQL and SQL Server, a foreign key the same
        // type as its key, and a label added later must fit without a new column type.
        let max_length = Some(crate::schema::MAX_ENUM_NAME_BYTES as u32);
        let text = Column { column_type: ColumnType::Text, max_length, ..column.clone() };
        return column_type(dialect, table, &text);
    }
    let indexed = table.is_indexed(&column.name);
    match dialect {
        Dialect::Postgres => Ok(postgres::column_type(column)),
        Dialect::MySql => Ok(mysql::column_type(column, indexed)),
        Dialect::Sqlite => Ok(sqlite::column_type(column)),
        Dialect::MsSql => Ok(mssql::column_type(column, indexed)),
        Dialect::Oracle => oracle::column_type(column),
    }
}

/// The length of a text column: the declared one, else 255 where the dialect cannot index
/// or constrain an unbounded text column (MySQL, SQL Server) and the column is a key or in
/// an index or unique constraint.
pub(crate) fn indexable_text_length(column: &Column, indexed: bool) -> Option<u32> {
    column.max_length.or(indexed.then_some(255))
}

/// The parts of a sea-query `QueryBuilder` that SQL Server and Oracle share: precedence and
/// associativity as in standard SQL, statement dispatch, bound values, no boolean literals
/// (`1 = 1`), and no LIMIT/OFFSET (their paging is a tail the renderers append).
macro_rules! custom_builder {
    ($builder:ident, dialect = $dialect:expr, table_alias = $alias_keyword:literal) => {
        impl sea_query::OperLeftAssocDecider for $builder {
            fn well_known_left_associative(&self, op: &sea_query::BinOper) -> bool {
                sea_query::SqliteQueryBuilder.well_known_left_associative(op)
            }
        }

        impl sea_query::PrecedenceDecider for $builder {
            fn inner_expr_well_known_greater_precedence(&self, inner: &sea_query::Expr, outer_oper: &sea_query::Oper) -> bool {
                sea_query::SqliteQueryBuilder.inner_expr_well_known_greater_precedence(inner, outer_oper)
            }
        }

        impl sea_query::TableRefBuilder for $builder {
            // `table AS alias` (SQL Server) or `table alias` (Oracle, which refuses `AS` there).
            fn prepare_table_ref_iden(&self, table_ref: &sea_query::TableRef, sql: &mut impl sea_query::SqlWriter) {
                if let sea_query::TableRef::Table(name, alias) = table_ref {
                    self.prepare_table_name(name, sql);
                    if let Some(alias) = alias {
                        sql.write_str($alias_keyword).unwrap();
                        self.prepare_iden(alias, sql);
                    }
                }
            }
        }

        impl sea_query::EscapeBuilder for $builder {
            fn write_escaped(&self, buffer: &mut impl std::fmt::Write, string: &str) {
                for c in string.chars() {
                    if c == '\'' {
                        buffer.write_char('\'').unwrap();
                    }
                    buffer.write_char(c).unwrap();
                }
            }

            fn unescape_string(&self, string: &str) -> String {
                string.replace("''", "'")
            }
        }

        impl $builder {
            fn query_statement(&self, query: &sea_query::SubQueryStatement, sql: &mut impl sea_query::SqlWriter) {
                use sea_query::SubQueryStatement as S;
                match query {
                    S::SelectStatement(s) => self.prepare_select_statement(s, sql),
                    S::InsertStatement(s) => self.prepare_insert_statement(s, sql),
                    S::UpdateStatement(s) => self.prepare_update_statement(s, sql),
                    S::DeleteStatement(s) => self.prepare_delete_statement(s, sql),
                    S::WithStatement(s) => self.prepare_with_query(s, sql),
                }
            }

            const PLACEHOLDER: &'static str = $dialect.placeholder().0;

            /// A writer numbering this dialect's placeholders from 1.
            pub(crate) fn writer() -> sea_query::SqlWriterValues {
                sea_query::SqlWriterValues::new(Self::PLACEHOLDER, true)
            }
        }
    };
}
pub(crate) use custom_builder;

/// The `QueryBuilder` methods both custom builders implement identically.
macro_rules! custom_builder_methods {
    () => {
        fn placeholder(&self) -> (&'static str, bool) {
            (Self::PLACEHOLDER, true)
        }

        fn prepare_query_statement(&self, query: &sea_query::SubQueryStatement, sql: &mut impl sea_query::SqlWriter) {
            self.query_statement(query, sql);
        }

        fn prepare_select_into(&self, _: &sea_query::SelectInto, _: &mut impl sea_query::SqlWriter) {}

        fn prepare_explain_statement(&self, _: &sea_query::ExplainStatement, _: &mut impl sea_query::SqlWriter) {}

        fn prepare_value(&self, value: sea_query::Value, sql: &mut impl sea_query::SqlWriter) {
            sql.push_param(value, self as _);
        }

        // Paging is written by the renderer as an OFFSET … FETCH tail.
        fn prepare_select_limit_offset(&self, _: &sea_query::SelectStatement, _: &mut impl sea_query::SqlWriter) {}

        fn prepare_constant_true(&self, sql: &mut impl sea_query::SqlWriter) {
            sql.write_str("1 = 1").unwrap();
        }

        fn prepare_constant_false(&self, sql: &mut impl sea_query::SqlWriter) {
            sql.write_str("1 = 0").unwrap();
        }
    };
}
pub(crate) use custom_builder_methods;

/// Appends `OFFSET n ROWS FETCH NEXT m ROWS ONLY` (SQL Server, Oracle 12c+), values bound.
pub(crate) fn write_offset_fetch(builder: &impl QueryBuilder, writer: &mut SqlWriterValues, paging: Paging) {
    use std::fmt::Write;
    writer.write_str(" OFFSET ").unwrap();
    builder.prepare_value(Value::BigInt(Some(paging.offset.unwrap_or(0) as i64)), writer);
    writer.write_str(" ROWS").unwrap();
    if let Some(limit) = paging.limit {
        writer.write_str(" FETCH NEXT ").unwrap();
        builder.prepare_value(Value::BigInt(Some(limit as i64)), writer);
        writer.write_str(" ROWS ONLY").unwrap();
    }
}
