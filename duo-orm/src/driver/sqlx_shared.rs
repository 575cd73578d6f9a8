//! What the three sqlx drivers share: one [`Driver`] implementation, generic over the sqlx
//! database, for pools, statements, transactions and errors. What each does its own way
//! (connect options, what an execution reports, its column codecs, how its server says it is
//! closing a session) is [`SqlxDriver`], implemented in `sqlite.rs`, `postgres.rs` and `mysql.rs`.

use std::marker::PhantomData;

use futures_util::StreamExt;
use sea_query::Value;
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, SqlSafeStr};
use sqlx_core::transaction::TransactionManager as _;

use super::{Control, Driver, Executed, Failure};
use crate::config::{DatabaseUrl, PoolOptions};
use crate::dialect::Statement;
use crate::error::{ConflictKind, DatabaseError, DriverError, Error, IntegrityKind};
use crate::types::SqlType;

/// The [`Driver`] of the sqlx database `DB`.
pub(crate) struct Sqlx<DB>(PhantomData<DB>);

/// What one sqlx driver does its own way.
pub(crate) trait SqlxDriver: sqlx::Database {
    /// See [`Driver::SOCKETS`].
    const SOCKETS: bool;

    /// A lazy pool for `url` with `pool`'s options (which the driver may adjust).
    fn pool(url: &DatabaseUrl, pool: sqlx::pool::PoolOptions<Self>) -> Result<sqlx::Pool<Self>, sqlx::Error>;

    /// See [`Driver::runtime_free`].
    fn runtime_free(url: &DatabaseUrl) -> bool;

    /// Rollbacks to queue for an abandoned transaction beyond the levels counted open.
    const EXTRA_ABANDON_ROLLBACKS: usize = 0;

    /// What an execution reports, in duo-orm's terms.
    fn executed(result: Self::QueryResult) -> Executed;

    /// Whether the server's error says it is closing the session.
    fn server_closed(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool;

    /// The conflict with a concurrent transaction that the server's error reports, if it is
    /// one (see [`Error::Conflict`]).
    fn conflict(error: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<ConflictKind>;

    /// See [`Driver::value`]. (The error is boxed where it arises, so that a column read
    /// well is not wrapped again on its way out.)
    fn value<S, L>(row: &Self::Row, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError>;
}

impl<DB> Driver for Sqlx<DB>
where
    DB: SqlxDriver,
    SqlxValues: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    type Pool = sqlx::Pool<DB>;
    type Conn = sqlx::pool::PoolConnection<DB>;
    type Row = DB::Row;

    const SOCKETS: bool = DB::SOCKETS;

    fn pool(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self::Pool, DriverError> {
        let pool = sqlx::pool::PoolOptions::<DB>::new()
            .max_connections(options.max_connections)
            .min_connections(options.min_connections)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(options.idle_timeout)
            .max_lifetime(options.max_lifetime);
        DB::pool(url, pool).map_err(|e| Box::new(e) as DriverError)
    }

    fn runtime_free(url: &DatabaseUrl) -> bool {
        DB::runtime_free(url)
    }

    fn try_acquire(pool: &Self::Pool) -> Option<Self::Conn> {
        pool.try_acquire()
    }

    fn has_spare(pool: &Self::Pool) -> bool {
        pool.num_idle() > 0 || pool.size() < pool.options().get_max_connections()
    }

    async fn acquire(pool: &Self::Pool) -> Result<Self::Conn, String> {
        match pool.acquire().await {
            Ok(conn) => Ok(conn),
            Err(sqlx::Error::PoolTimedOut) => Err(driver_message(&why_no_connection(pool).await)),
            Err(error) => Err(driver_message(&error)),
        }
    }

    async fn close(pool: &Self::Pool) {
        pool.close().await
    }

    async fn execute(conn: &mut Self::Conn, stmt: Statement) -> Result<Executed, Failure> {
        let Statement { sql, values } = stmt;
        match sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values)).execute(&mut **conn).await {
            Ok(done) => Ok(DB::executed(done)),
            Err(error) => Err(failure::<DB>(error)),
        }
    }

    async fn fetch(conn: &mut Self::Conn, stmt: Statement, mut each: impl FnMut(&Self::Row) -> bool) -> Result<(), Failure> {
        let Statement { sql, values } = stmt;
        // `fetch_many`, not `fetch`: `fetch` is this stream wrapped in a filter (a future per
        // row) and a second box, to drop the final result that the match below skips.
        let mut steps = sqlx::Executor::fetch_many(&mut **conn, sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values)));
        while let Some(step) = steps.next().await {
            match step {
                Ok(sqlx::Either::Right(row)) if each(&row) => {}
                Ok(sqlx::Either::Right(_)) => break,
                Ok(sqlx::Either::Left(_)) => {}
                Err(error) => return Err(failure::<DB>(error)),
            }
        }
        Ok(())
    }

    async fn ping(conn: &mut Self::Conn) -> Result<(), Failure> {
        sqlx::Connection::ping(&mut **conn).await.map_err(failure::<DB>)
    }

    async fn control(conn: &mut Self::Conn, control: Control) -> Result<(), Failure> {
        let done = match control {
            Control::Begin(statement) => {
                let statement = statement.map(|s| AssertSqlSafe(s).into_sql_str());
                DB::TransactionManager::begin(&mut **conn, statement).await
            }
            Control::Commit => DB::TransactionManager::commit(&mut **conn).await,
            Control::Rollback => DB::TransactionManager::rollback(&mut **conn).await,
        };
        done.map_err(failure::<DB>)
    }

    fn start_rollback(conn: &mut Self::Conn) {
        DB::TransactionManager::start_rollback(&mut **conn)
    }

    fn transaction_depth(conn: &Self::Conn) -> usize {
        DB::TransactionManager::get_transaction_depth(&**conn)
    }

    fn abandon(conn: &mut Self::Conn) {
        for _ in 0..Self::transaction_depth(conn) + DB::EXTRA_ABANDON_ROLLBACKS {
            Self::start_rollback(conn);
        }
    }

    fn detach(conn: Self::Conn) {
        drop(conn.detach());
    }

    fn close_on_drop(conn: &mut Self::Conn) {
        conn.close_on_drop();
    }

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn value<S, L>(row: &Self::Row, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError> {
        DB::value(row, index, sql_type, nullable)
    }

    fn is_null(row: &Self::Row, index: usize) -> Result<bool, DriverError> {
        match sqlx::Row::try_get_raw(row, index) {
            Ok(raw) => Ok(sqlx::ValueRef::is_null(&raw)),
            Err(error) => Err(Box::new(error)),
        }
    }

    fn width(row: &Self::Row) -> usize {
        sqlx::Row::len(row)
    }
}

/// Why a pool that timed out could not connect. The pool keeps retrying until its timeout and
/// then reports only that it timed out; when it holds no connection at all, one direct attempt
/// with its options brings back the cause (refused, unknown host, bad password).
async fn why_no_connection<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> sqlx::Error {
    use sqlx::ConnectOptions;
    if pool.size() != 0 {
        return sqlx::Error::PoolTimedOut;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(5), pool.connect_options().connect()).await {
        Ok(Err(cause)) => cause,
        Ok(Ok(connection)) => {
            // It connects now: the server came back; close this one properly.
            let _ = sqlx::Connection::close(connection).await;
            sqlx::Error::PoolTimedOut
        }
        Err(_) => sqlx::Error::PoolTimedOut,
    }
}

/// A sqlx error as a [`Failure`]: [`Failure::Dropped`] when it says the server closed the
/// connection (the socket is closed, or the server's last words were that it is shutting the
/// session down).
fn failure<DB: SqlxDriver>(error: sqlx::Error) -> Failure {
    use std::io::ErrorKind;
    let dropped = match &error {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::NotConnected
        ),
        sqlx::Error::Database(db) => DB::server_closed(&**db),
        _ => false,
    };
    if dropped {
        return Failure::Dropped(Box::new(error));
    }
    if let sqlx::Error::Database(db) = &error
        && let Some(kind) = DB::conflict(&**db)
    {
        let message = db.message().to_string();
        return Failure::Answered(Error::Conflict { kind, message, source: Some(Box::new(error)) });
    }
    let answered = matches!(error, sqlx::Error::Database(_));
    let error = Error::from(error);
    if answered { Failure::Answered(error) } else { Failure::Final(error) }
}

/// The driver's message for an error: a server's own message with its code, without the
/// server's source-file position that sqlx appends (` at line 948` of PostgreSQL's C file).
fn driver_message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(database) => match database.code() {
            Some(code) => format!("{} ({code})", database.message()),
            None => database.message().to_string(),
        },
        other => other.to_string(),
    }
}

impl DatabaseError {
    fn from_sqlx(error: sqlx::Error) -> Self {
        let (code, constraint, message) = match &error {
            sqlx::Error::Database(db) => (db.code().map(|c| c.into_owned()), db.constraint().map(str::to_string), db.message().to_string()),
            other => (None, None, other.to_string()),
        };
        DatabaseError::new(code, constraint, message, Box::new(error))
    }
}

impl From<sqlx::Error> for Error {
    /// Constraint violations become [`Error::Integrity`]; everything else is wrapped.
    fn from(err: sqlx::Error) -> Self {
        let sqlx::Error::Database(db) = &err else {
            return Error::Database(DatabaseError::from_sqlx(err));
        };
        if let Some(refused) = crate::dialect::postgres::nul_in_text(db.code().as_deref(), db.message()) {
            return refused;
        }
        let kind = match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => IntegrityKind::Unique,
            sqlx::error::ErrorKind::ForeignKeyViolation => IntegrityKind::ForeignKey,
            sqlx::error::ErrorKind::NotNullViolation => IntegrityKind::NotNull,
            sqlx::error::ErrorKind::CheckViolation => IntegrityKind::Check,
            _ => return Error::Database(DatabaseError::from_sqlx(err)),
        };
        let message = db.message().to_string();
        let mut constraint = db.constraint().map(str::to_string);
        let mut column = None;
        #[cfg(feature = "postgres")]
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            column = pg.column().map(str::to_string);
        }
        // SQLite and MySQL put the constraint or column only into the message text.
        if constraint.is_none() && column.is_none() {
            (constraint, column) =
                crate::dialect::sqlite::integrity_names(&message).unwrap_or_else(|| crate::dialect::mysql::integrity_names(kind, &message));
        }
        Error::Integrity { kind, constraint, column, message }
    }
}

/// Reads column `$index` of `$row` as `$sql_type` with sqlx's own codecs, for the types every
/// sqlx driver reads alike; `$decimal`, `$array` and `$enum_label` are the driver's readers of
/// the three that differ.
macro_rules! read_column {
    ($row:expr, $index:expr, $sql_type:expr, $nullable:expr, decimal: $decimal:expr, array: $array:expr, enum_label: $enum_label:expr) => {{
        use $crate::driver::sqlx_shared::get;
        let (row, index, nullable) = ($row, $index, $nullable);
        Ok(match $sql_type {
            SqlType::SmallInt => Value::SmallInt(get(row, index, nullable)?),
            SqlType::Integer => Value::Int(get(row, index, nullable)?),
            SqlType::BigInt => Value::BigInt(get(row, index, nullable)?),
            SqlType::Float => Value::Float(get(row, index, nullable)?),
            SqlType::Double => Value::Double(get(row, index, nullable)?),
            SqlType::Boolean => Value::Bool(get(row, index, nullable)?),
            SqlType::Text | SqlType::Custom(_) => Value::String(get(row, index, nullable)?),
            SqlType::Enum(_) => Value::String($enum_label(row, index, nullable)?),
            SqlType::Blob => Value::Bytes(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::TimestampTz => Value::ChronoDateTimeUtc(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::Timestamp => Value::ChronoDateTime(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::Date => Value::ChronoDate(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::Time => Value::ChronoTime(get(row, index, nullable)?),
            #[cfg(feature = "uuid")]
            SqlType::Uuid => Value::Uuid(get(row, index, nullable)?),
            #[cfg(feature = "decimal")]
            SqlType::Decimal => Value::Decimal($decimal(row, index)?),
            #[cfg(feature = "json")]
            SqlType::Json => Value::Json(get::<_, serde_json::Value>(row, index, nullable)?.map(Box::new)),
            SqlType::Array(of) => return $array(row, index, *of).map_err(Into::into),
            // A type of a feature not enabled: no field has it.
            #[allow(unreachable_patterns)]
            _ => return Err($crate::driver::sqlx_shared::not_compiled(index).into()),
        })
    }};
}
pub(super) use read_column;

/// Column `index` through sqlx's codec for `T`: as `Option<T>` when it may be `NULL`, else as
/// `T` (one test for `NULL` fewer).
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn get<'r, R, T>(row: &'r R, index: usize, nullable: bool) -> Result<Option<T>, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    if nullable { row.try_get::<Option<T>, _>(index) } else { row.try_get::<T, _>(index).map(Some) }
}

pub(super) fn not_compiled(index: usize) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: index.to_string(), source: super::type_not_compiled() }
}

/// The array reader of drivers without arrays.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(super) fn no_arrays<R>(_: &R, index: usize, _: crate::types::ArrayOf) -> Result<Value, sqlx::Error> {
    Err(sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: "array columns are PostgreSQL's; store the list as `Json<Vec<T>>` on other databases".into(),
    })
}
