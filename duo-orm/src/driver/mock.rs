//! A database that runs nothing: [`MockDatabase`] answers each statement with the next result
//! you scripted and records the statement, for unit tests that need no server.
//!
//! ```
//! use duo_orm::mock::MockDatabase;
//! use duo_orm::prelude::*;
//! use duo_orm::sea_query::Value;
//!
//! #[derive(Model, Debug, PartialEq)]
//! #[duo(table = "users")]
//! struct User {
//!     #[duo(primary_key)]
//!     id: i64,
//!     name: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> duo_orm::Result<()> {
//! let mock = MockDatabase::new(Dialect::Postgres);
//! // The next statement that returns rows gets these (columns in field order).
//! mock.rows([[Value::from(1), Value::from("Ann")]]);
//! // The next statement that returns none reports one row changed.
//! mock.executed(1);
//! let db = mock.database();
//!
//! let ann = User::get(1).on(&db).await?;
//! assert_eq!(ann, Some(User { id: 1, name: "Ann".into() }));
//! User::filter(|u| u.name.eq("Bob")).delete_bulk().on(&db).await?;
//!
//! let [get, delete] = mock.take_statements().try_into().unwrap();
//! assert_eq!(get.sql, r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."id" = $1"#);
//! assert_eq!(delete.to_string(), r#"DELETE FROM "users" WHERE "users"."name" = 'Bob'"#);
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use sea_query::Value;

use super::{Control, Driver, Executed, Failure, Pool};
use crate::config::{DatabaseUrl, PoolOptions};
use crate::database::Database;
use crate::dialect::{Dialect, Statement};
use crate::error::{DatabaseError, DriverError, Error};
use crate::model::Model;
use crate::types::{SqlType, is_null, null_of};

/// A database that runs nothing, for unit tests: each statement that returns rows takes the
/// next row set scripted with [`rows`](Self::rows) or [`models`](Self::models), each other
/// statement the next result scripted with [`executed`](Self::executed) (or an error), and
/// every statement is recorded with its values, rendered for the mock's dialect.
///
/// Statements that return rows are SELECTs, and INSERTs, UPDATEs and DELETEs with `RETURNING`
/// where the dialect has it (PostgreSQL, SQLite, MariaDB): `create` on PostgreSQL takes a row
/// set, on MySQL an execution result with the generated key. A statement that finds no result
/// of its kind left fails with an [`Error::Database`] naming it.
///
/// A `MockDatabase` is a handle: clones share the script and the record, and so does every
/// [`Database`] made with [`database`](Self::database). Transactions run as on a server:
/// `BEGIN`, `COMMIT`, `ROLLBACK` and savepoints are recorded and take no result.
#[derive(Clone)]
pub struct MockDatabase {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    dialect: Dialect,
    mariadb: bool,
    script: Mutex<Script>,
}

#[derive(Default)]
struct Script {
    row_sets: VecDeque<Result<Vec<Vec<Value>>, Error>>,
    executions: VecDeque<Result<Executed, Error>>,
    recorded: Vec<MockStatement>,
    /// Whether the next `COMMIT` loses its connection before its answer.
    drop_commit: bool,
}

impl MockDatabase {
    /// A mock that renders SQL for `dialect` (`Dialect::MySql` is MySQL proper; see
    /// [`mariadb`](Self::mariadb)).
    pub fn new(dialect: Dialect) -> Self {
        Self::with(dialect, false)
    }

    /// A mock of MariaDB: MySQL's SQL, with `INSERT … RETURNING`.
    pub fn mariadb() -> Self {
        Self::with(Dialect::MySql, true)
    }

    fn with(dialect: Dialect, mariadb: bool) -> Self {
        MockDatabase { shared: Arc::new(Shared { dialect, mariadb, script: Mutex::new(Script::default()) }) }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.shared.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The dialect the statements are rendered for.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// A [`Database`] whose statements go to this mock. Use it with `.on(&db)` and
    /// `db.transaction(…)`.
    pub fn database(&self) -> Database {
        let url = match self.shared.dialect {
            Dialect::Sqlite => "sqlite::memory:",
            Dialect::Postgres => "postgres://mock@mock/mock",
            Dialect::MySql => "mysql://mock@mock/mock",
            Dialect::MsSql => "mssql://mock@mock/mock",
            Dialect::Oracle => "oracle://mock@mock/mock",
        };
        Database::on_pool(url, Pool::Mock(self.shared.clone()), self.shared.mariadb)
    }

    /// Scripts the rows of the next statement that returns rows: each row's values in the
    /// order the statement selects its columns (a model's fields in declaration order).
    /// Integers and floats are read as the width the field asks for.
    pub fn rows<R, V>(&self, rows: impl IntoIterator<Item = R>) -> &Self
    where
        R: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        let rows = rows.into_iter().map(|row| row.into_iter().map(Into::into).collect()).collect();
        self.script().row_sets.push_back(Ok(rows));
        self
    }

    /// Scripts the rows of the next statement that returns rows as these models' rows (what
    /// `get`, `filter(…).all()` and `first` select).
    pub fn models<M: Model>(&self, models: impl IntoIterator<Item = M>) -> &Self {
        let rows = models.into_iter().map(|model| model.values()).collect();
        self.script().row_sets.push_back(Ok(rows));
        self
    }

    /// Scripts the next statement that returns no rows to report `rows_affected`.
    pub fn executed(&self, rows_affected: u64) -> &Self {
        self.script().executions.push_back(Ok(Executed { rows_affected, last_insert_id: None }));
        self
    }

    /// Scripts the next statement that returns no rows to be an INSERT of `rows_affected`
    /// rows whose generated key is `last_insert_id` (MySQL's `LAST_INSERT_ID()`, SQLite's
    /// rowid).
    pub fn inserted(&self, rows_affected: u64, last_insert_id: i64) -> &Self {
        self.script().executions.push_back(Ok(Executed { rows_affected, last_insert_id: Some(last_insert_id) }));
        self
    }

    /// Scripts the next statement that returns rows to fail with `error`.
    pub fn query_error(&self, error: Error) -> &Self {
        self.script().row_sets.push_back(Err(error));
        self
    }

    /// Scripts the next statement that returns no rows to fail with `error`.
    pub fn exec_error(&self, error: Error) -> &Self {
        self.script().executions.push_back(Err(error));
        self
    }

    /// Scripts the next `COMMIT` to be sent and then lose its connection before the answer
    /// comes, as when the server goes away mid-commit: the outcome is unknown to the client
    /// ([`Error::CommitUnknown`]).
    pub fn drop_next_commit(&self) -> &Self {
        self.script().drop_commit = true;
        self
    }

    /// The statements run so far, in order.
    pub fn statements(&self) -> Vec<MockStatement> {
        self.script().recorded.clone()
    }

    /// The statements run so far, in order, clearing the record.
    pub fn take_statements(&self) -> Vec<MockStatement> {
        std::mem::take(&mut self.script().recorded)
    }

    /// How many scripted results no statement has taken yet (row sets, executions).
    pub fn remaining(&self) -> (usize, usize) {
        let script = self.script();
        (script.row_sets.len(), script.executions.len())
    }
}

impl fmt::Debug for MockDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let script = self.script();
        f.debug_struct("MockDatabase")
            .field("dialect", &self.shared.dialect)
            .field("row_sets_left", &script.row_sets.len())
            .field("executions_left", &script.executions.len())
            .field("recorded", &script.recorded.len())
            .finish()
    }
}

/// A statement a [`MockDatabase`] received: its SQL with the dialect's placeholders, and its
/// values. `Display` writes it with the values inlined as the dialect's literals.
#[derive(Debug, Clone, PartialEq)]
pub struct MockStatement {
    /// The SQL text, with the dialect's placeholders.
    pub sql: String,
    /// The bound values, in order.
    pub values: Vec<Value>,
    dialect: Dialect,
}

impl MockStatement {
    /// A statement as `dialect` would record it, to compare with what was recorded.
    ///
    /// ```
    /// use duo_orm::Dialect;
    /// use duo_orm::mock::MockStatement;
    /// let stmt = MockStatement::new(Dialect::Postgres, r#"SELECT 1 FROM "users" WHERE "name" = $1"#, ["O'Hara".into()]);
    /// assert_eq!(stmt.to_string(), r#"SELECT 1 FROM "users" WHERE "name" = E'O\'Hara'"#);
    /// ```
    pub fn new(dialect: Dialect, sql: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Self {
        MockStatement { sql: sql.into(), values: values.into_iter().collect(), dialect }
    }

    /// The dialect the statement was rendered for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

impl fmt::Display for MockStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&inline_values(self.dialect, &self.sql, &self.values))
    }
}

/// `sql` with each placeholder replaced by its value written as `dialect`'s literal. Quoted
/// strings and identifiers are left alone, and so is a placeholder with no value (the text is
/// any statement's, raw SQL included: nothing here may panic).
pub(crate) fn inline_values(dialect: Dialect, sql: &str, values: &[Value]) -> String {
    let (mark, numbered) = dialect.placeholder();
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut copied, mut at, mut next) = (0, 0, 0);
    while at < bytes.len() {
        let (skip, number) = match (dialect, bytes[at]) {
            (_, quote @ (b'\'' | b'"' | b'`')) => {
                // MySQL's strings, and PostgreSQL's `E'…'` strings, escape with backslashes.
                let escape_string = quote == b'\'' && at > 0 && matches!(bytes[at - 1], b'E' | b'e');
                let backslash = dialect == Dialect::MySql || (dialect == Dialect::Postgres && escape_string);
                (quoted_end(bytes, at, quote, backslash) - at, None)
            }
            (Dialect::MsSql, b'[') => (bytes[at..].iter().position(|&b| b == b']').map_or(bytes.len() - at, |end| end + 1), None),
            (Dialect::Postgres, b'$') if digits_after(bytes, at + 1).is_none() => (dollar_quoted_len(&sql[at..]), None),
            _ if !bytes[at..].starts_with(mark.as_bytes()) => (1, None),
            _ if !numbered => {
                next += 1;
                (mark.len(), Some(next))
            }
            _ => digits_after(bytes, at + mark.len()).map_or((1, None), |(len, n)| (mark.len() + len, Some(n))),
        };
        if let Some(value) = number.and_then(|n| n.checked_sub(1)).and_then(|i| values.get(i)) {
            out.push_str(&sql[copied..at]);
            out.push_str(&literal(dialect, value));
            copied = at + skip;
        }
        at += skip;
    }
    out.push_str(&sql[copied..]);
    out
}

/// Where the quoted text opened at `start` ends (one past its closing quote, or the end).
/// A doubled quote is part of the text; so is a backslash-escaped one with `backslash`.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if backslash => at += 2,
            b if b == quote && bytes.get(at + 1) == Some(&quote) => at += 2,
            b if b == quote => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The length of PostgreSQL's dollar-quoted text at the start of `text` (`$$…$$`,
/// `$tag$…$tag$`), up to the end when it is not closed; 1 when `text` opens none.
fn dollar_quoted_len(text: &str) -> usize {
    let tag_len = text[1..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if text.as_bytes().get(1 + tag_len) != Some(&b'$') {
        return 1;
    }
    let tag = &text[..tag_len + 2];
    text[tag.len()..].find(tag).map_or(text.len(), |end| tag.len() + end + tag.len())
}

/// The length and value of the decimal number starting at `at`, if one does.
fn digits_after(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let len = bytes.get(at..)?.iter().take_while(|b| b.is_ascii_digit()).count();
    let number = std::str::from_utf8(&bytes[at..at + len]).ok()?.parse().ok()?;
    Some((len, number))
}

fn literal(dialect: Dialect, value: &Value) -> String {
    use crate::dialect::{mssql::MsSqlQueryBuilder, oracle::OracleQueryBuilder};
    use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, QueryBuilder, SqliteQueryBuilder};
    match dialect {
        Dialect::Postgres => PostgresQueryBuilder.value_to_string(value),
        Dialect::MySql => MysqlQueryBuilder.value_to_string(value),
        Dialect::Sqlite => SqliteQueryBuilder.value_to_string(value),
        Dialect::MsSql => MsSqlQueryBuilder.value_to_string(value),
        Dialect::Oracle => OracleQueryBuilder.value_to_string(value),
    }
}

/// The mock as a [`Driver`]: its pool is the shared script, a connection the script and its
/// transaction depth.
pub(crate) struct MockDriver;

pub(crate) struct MockConn {
    shared: Arc<Shared>,
    depth: usize,
}

impl MockConn {
    fn record(&self, stmt: Statement) -> std::sync::MutexGuard<'_, Script> {
        let mut script = self.shared.script.lock().unwrap_or_else(PoisonError::into_inner);
        script.recorded.push(MockStatement { sql: stmt.sql, values: stmt.values.0, dialect: self.shared.dialect });
        script
    }

    fn record_control(&self, sql: String) {
        drop(self.record(Statement::raw(sql)));
    }
}

/// A scripted error as the engine sees it: `Error::ConnectionLost` as a connection the server
/// closed (so a transaction is lost as on a server, and the error says what that means where
/// it happened), anything else as it is.
fn scripted(error: Error) -> Failure {
    match error {
        Error::ConnectionLost { source, .. } => Failure::Dropped(source),
        // As a server's answer (PostgreSQL's transaction is aborted by it).
        other => Failure::Answered(other),
    }
}

/// The error of a statement the script has no result for.
fn unscripted(kind: &str, sql: &str, add: &str) -> Failure {
    let message = format!("the mock has no {kind} left for `{sql}`: script one with `MockDatabase::{add}`");
    Failure::Final(Error::Database(DatabaseError::new(None, None, message.clone(), message.into())))
}

impl Driver for MockDriver {
    type Pool = Arc<Shared>;
    type Conn = MockConn;
    type Row = Vec<Value>;

    const SOCKETS: bool = false;

    fn pool(_: &DatabaseUrl, _: &PoolOptions) -> Result<Self::Pool, DriverError> {
        Err("the mock is not opened from a URL: use `MockDatabase::database`".into())
    }

    fn runtime_free(_: &DatabaseUrl) -> bool {
        true
    }

    fn try_acquire(pool: &Self::Pool) -> Option<Self::Conn> {
        Some(MockConn { shared: pool.clone(), depth: 0 })
    }

    async fn acquire(pool: &Self::Pool) -> Result<Self::Conn, String> {
        Ok(MockConn { shared: pool.clone(), depth: 0 })
    }

    /// (A mock connection costs nothing to hand out: none is kept between statements.)
    fn has_spare(_: &Self::Pool) -> bool {
        false
    }

    async fn close(_: &Self::Pool) {}

    async fn execute(conn: &mut Self::Conn, stmt: Statement) -> Result<Executed, Failure> {
        let sql = stmt.sql.clone();
        let next = conn.record(stmt).executions.pop_front();
        match next {
            Some(Ok(executed)) => Ok(executed),
            Some(Err(error)) => Err(scripted(error)),
            None => Err(unscripted("execution result", &sql, "executed")),
        }
    }

    async fn fetch(conn: &mut Self::Conn, stmt: Statement, mut each: impl FnMut(&Self::Row) -> bool) -> Result<(), Failure> {
        let sql = stmt.sql.clone();
        let next = conn.record(stmt).row_sets.pop_front();
        match next {
            Some(Ok(rows)) => {
                for row in &rows {
                    if !each(row) {
                        break;
                    }
                }
                Ok(())
            }
            Some(Err(error)) => Err(scripted(error)),
            None => Err(unscripted("row set", &sql, "rows")),
        }
    }

    async fn ping(_: &mut Self::Conn) -> Result<(), Failure> {
        Ok(())
    }

    async fn control(conn: &mut Self::Conn, control: Control) -> Result<(), Failure> {
        let depth = conn.depth;
        let sql = match (control, depth) {
            (Control::Begin(Some(statement)), 0) => statement.to_string(),
            (Control::Begin(_), 0) => "BEGIN".to_string(),
            (Control::Begin(_), n) => format!("SAVEPOINT duo_orm_savepoint_{n}"),
            // As sqlx's drivers: nothing to end, nothing sent.
            (Control::Commit | Control::Rollback, 0) => return Ok(()),
            (Control::Commit, 1) => "COMMIT".to_string(),
            (Control::Commit, n) => format!("RELEASE SAVEPOINT duo_orm_savepoint_{}", n - 1),
            (Control::Rollback, 1) => "ROLLBACK".to_string(),
            (Control::Rollback, n) => format!("ROLLBACK TO SAVEPOINT duo_orm_savepoint_{}", n - 1),
        };
        let dropped = {
            let mut script = conn.record(Statement::raw(sql));
            control == Control::Commit && depth == 1 && std::mem::take(&mut script.drop_commit)
        };
        conn.depth = if matches!(control, Control::Begin(_)) { depth + 1 } else { depth - 1 };
        if dropped {
            return Err(Failure::Dropped("scripted: the connection closed while COMMIT was in flight".into()));
        }
        Ok(())
    }

    fn start_rollback(conn: &mut Self::Conn) {
        if conn.depth > 0 {
            let sql = if conn.depth == 1 {
                "ROLLBACK".to_string()
            } else {
                format!("ROLLBACK TO SAVEPOINT duo_orm_savepoint_{}", conn.depth - 1)
            };
            conn.record_control(sql);
            conn.depth -= 1;
        }
    }

    fn transaction_depth(conn: &Self::Conn) -> usize {
        conn.depth
    }

    fn detach(_: Self::Conn) {}

    fn close_on_drop(_: &mut Self::Conn) {}

    fn value<S, L>(row: &Self::Row, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError> {
        let Some(value) = row.get(index) else {
            return Err(format!("the scripted row has {} values; the statement reads column #{index}", row.len()).into());
        };
        if is_null(value) {
            return if nullable { Ok(null_of(sql_type)) } else { Err("unexpected NULL in a column of a type that is not `Option`".into()) };
        }
        Ok(as_sql_type(value.clone(), sql_type))
    }

    fn is_null(row: &Self::Row, index: usize) -> Result<bool, DriverError> {
        row.get(index)
            .map(is_null)
            .ok_or_else(|| format!("the scripted row has {} values; the statement reads column #{index}", row.len()).into())
    }

    fn width(row: &Self::Row) -> usize {
        row.len()
    }
}

/// A scripted number as the width the column is read as (what a server's driver does), so
/// that a test may write `Value::from(1)` for an `i64` field. A value out of that width's
/// range, or of another kind, is left for the field to refuse.
fn as_sql_type<S, L>(value: Value, sql_type: &SqlType<S, L>) -> Value {
    let integer = match value {
        Value::TinyInt(Some(n)) => Some(i64::from(n)),
        Value::SmallInt(Some(n)) => Some(i64::from(n)),
        Value::Int(Some(n)) => Some(i64::from(n)),
        Value::BigInt(Some(n)) => Some(n),
        Value::TinyUnsigned(Some(n)) => Some(i64::from(n)),
        Value::SmallUnsigned(Some(n)) => Some(i64::from(n)),
        Value::Unsigned(Some(n)) => Some(i64::from(n)),
        Value::BigUnsigned(Some(n)) => i64::try_from(n).ok(),
        _ => None,
    };
    match (sql_type, integer, &value) {
        (SqlType::SmallInt, Some(n), _) => i16::try_from(n).map_or(value, |n| Value::SmallInt(Some(n))),
        (SqlType::Integer, Some(n), _) => i32::try_from(n).map_or(value, |n| Value::Int(Some(n))),
        (SqlType::BigInt, Some(n), _) => Value::BigInt(Some(n)),
        (SqlType::Double, _, Value::Float(Some(x))) => Value::Double(Some(f64::from(*x))),
        (SqlType::Double, Some(n), _) if n.unsigned_abs() <= 1 << 53 => Value::Double(Some(n as f64)),
        // Only where the `f32` holds the same number.
        (SqlType::Float, _, Value::Double(Some(x))) if f64::from(*x as f32) == *x => Value::Float(Some(*x as f32)),
        (SqlType::Float, Some(n), _) if n.unsigned_abs() <= 1 << 24 => Value::Float(Some(n as f32)),
        #[cfg(feature = "decimal")]
        (SqlType::Decimal, Some(n), _) => Value::Decimal(Some(rust_decimal::Decimal::from(n))),
        _ => value,
    }
}
