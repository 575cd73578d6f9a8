//! The drivers: everything that differs between talking to one database client library and
//! another, behind one trait, [`Driver`], with one module per driver. The rest of duo-orm (the
//! engine, transactions, queries, loading, migrations) sees only the enums this module builds
//! over the drivers compiled in ([`Pool`], [`Conn`], [`RowRef`]) and names no client library.
//!
//! - `sqlx_shared.rs`: what the three sqlx drivers share (pools, transactions, errors);
//! - `sqlite.rs`, `postgres.rs`, `mysql.rs`: what each of them does its own way;
//! - `mock.rs` (feature `mock`): the recording driver of users' unit tests.
//!
//! Adding a driver is a module implementing [`Driver`], one line in [`drivers!`], its dialect's
//! arm in [`Pool::open`], and a feature: see the guide's "Adding a backend".

use sea_query::Value;

use crate::config::{DatabaseUrl, PoolOptions};
use crate::dialect::{Dialect, Statement};
use crate::error::{ConfigurationKind, DriverError, Error, Result};
use crate::types::SqlType;

#[cfg(feature = "mock")]
pub mod mock;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sqlx_shared;

/// One database client library: its pools, connections, statements, transactions and rows.
///
/// Its methods take the pool or connection they act on and are called through the enums of
/// [`drivers!`], on a concrete driver each time (static dispatch: a driver adds no work to
/// another's hot path, and its futures are `Send` when its types are).
pub(crate) trait Driver: 'static {
    /// A pool of connections: a handle, cheap to clone.
    type Pool: Clone + Send + Sync + 'static;
    /// A connection checked out of its pool, which goes back to the pool when dropped.
    type Conn: Send + 'static;
    /// One row of a result.
    type Row;

    /// Whether connections are sockets driven by the runtime that opened them: a server's.
    /// duo-orm then keeps a pool per caller runtime, may resend a statement on a fresh
    /// connection when the server had closed an idle one, and closes a connection whose
    /// statement was cut short.
    const SOCKETS: bool;

    /// A pool for `url` that connects on first use, owned by the runtime entered by the
    /// caller. The error is the driver's reason for refusing the URL.
    fn pool(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self::Pool, DriverError>;

    /// Whether connections to `url` are bound to no runtime, so any runtime may open, use and
    /// return them.
    fn runtime_free(url: &DatabaseUrl) -> bool;

    /// An idle connection, without checking it (no ping), if there is one.
    fn try_acquire(pool: &Self::Pool) -> Option<Self::Conn>;

    /// Whether the pool could give a caller that waits on it a connection now (an idle one,
    /// or room to open one). duo-orm keeps a connection out of its pool between statements
    /// only then (`database/pool.rs`), so that no waiter is left waiting for it.
    fn has_spare(pool: &Self::Pool) -> bool;

    /// A checked connection, waiting for one up to the pool's timeout. The error says why
    /// none could be had (the server's refusal, when it refused), and never holds a password.
    async fn acquire(pool: &Self::Pool) -> Result<Self::Conn, String>;

    /// Closes the pool, waiting for its connections to close.
    async fn close(pool: &Self::Pool);

    /// Runs a statement that returns no rows.
    async fn execute(conn: &mut Self::Conn, stmt: Statement) -> Result<Executed, Failure>;

    /// Runs a statement and hands each row to `each` as it arrives, until `each` returns
    /// `false` or the rows end.
    async fn fetch(conn: &mut Self::Conn, stmt: Statement, each: impl FnMut(&Self::Row) -> bool) -> Result<(), Failure>;

    /// Checks that the server still answers on this connection.
    async fn ping(conn: &mut Self::Conn) -> Result<(), Failure>;

    /// BEGIN, COMMIT or ROLLBACK, or their savepoint forms inside a transaction: the driver
    /// tracks the depth.
    async fn control(conn: &mut Self::Conn, control: Control) -> Result<(), Failure>;

    /// Queues a rollback of the innermost level, sent before the connection's next use.
    fn start_rollback(conn: &mut Self::Conn);

    /// Queues a rollback of every level still open, for a transaction whose block ended
    /// without COMMIT or ROLLBACK (cancelled, or panicking).
    fn abandon(conn: &mut Self::Conn) {
        for _ in 0..Self::transaction_depth(conn) {
            Self::start_rollback(conn);
        }
    }

    /// How many transaction levels are open on this connection.
    fn transaction_depth(conn: &Self::Conn) -> usize;

    /// Takes `conn` out of its pool at once and drops it (its socket with it).
    fn detach(conn: Self::Conn);

    /// Makes the pool close `conn` when it comes back instead of reusing it.
    fn close_on_drop(conn: &mut Self::Conn);

    /// Column `index` of `row`, read as a column of `sql_type`. When `nullable`, a `NULL` is
    /// the variant's `None`; otherwise it is an error.
    fn value<S, L>(row: &Self::Row, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError>;

    /// Whether column `index` of `row` is `NULL`.
    fn is_null(row: &Self::Row, index: usize) -> Result<bool, DriverError>;

    /// How many columns `row` has.
    fn width(row: &Self::Row) -> usize;
}

/// What an executed statement reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Executed {
    pub rows_affected: u64,
    /// MySQL's `LAST_INSERT_ID()` / SQLite's rowid of the last insert.
    pub last_insert_id: Option<i64>,
}

/// A transaction-control statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// BEGIN (with this statement instead, when given) or, nested, SAVEPOINT.
    Begin(Option<&'static str>),
    /// COMMIT or, nested, RELEASE SAVEPOINT.
    Commit,
    /// ROLLBACK or, nested, ROLLBACK TO SAVEPOINT.
    Rollback,
}

/// How a driver call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server had closed the connection (a restart, `pg_terminate_backend`, MySQL's
    /// `KILL`, an idle timeout): what the caller makes of it depends on what had happened.
    Dropped(DriverError),
    /// The server received the statement and answered with an error (PostgreSQL then ignores
    /// the rest of the transaction until a rollback), in duo-orm's terms.
    Answered(Error),
    /// Anything else (the statement never reached the server, or its result could not be
    /// read), in duo-orm's terms.
    Final(Error),
}

impl Failure {
    /// The error, and whether the server answered with it.
    pub(crate) fn into_error(self) -> Option<(Error, bool)> {
        match self {
            Failure::Dropped(_) => None,
            Failure::Answered(error) => Some((error, true)),
            Failure::Final(error) => Some((error, false)),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Final(error)
    }
}

/// Builds, over the drivers listed, the enums the rest of duo-orm holds ([`Pool`], [`Conn`],
/// [`RowRef`]), each variant wrapping its driver's type, and their methods, each a `match`
/// that calls the variant's driver.
macro_rules! drivers {
    ($($(#[$cfg:meta])* $variant:ident => $driver:ty),* $(,)?) => {
        /// A pool of one of the drivers compiled in.
        #[derive(Clone)]
        pub(crate) enum Pool {
            $($(#[$cfg])* $variant(<$driver as Driver>::Pool),)*
        }

        /// A connection of one of the drivers compiled in.
        pub(crate) enum Conn {
            $($(#[$cfg])* $variant(<$driver as Driver>::Conn),)*
        }

        /// A row of one of the drivers compiled in.
        pub(crate) enum RowRef<'r> {
            $($(#[$cfg])* $variant(&'r <$driver as Driver>::Row),)*
            /// Keeps `'r` used whatever the features.
            #[allow(dead_code)]
            Never(std::convert::Infallible, std::marker::PhantomData<&'r ()>),
        }

        impl Pool {
            /// A pool of the same driver for `url`, owned by the runtime entered by the caller.
            pub(crate) fn reopen(&self, url: &DatabaseUrl, options: &PoolOptions) -> Result<Pool> {
                match self {
                    $($(#[$cfg])* Pool::$variant(_) => {
                        <$driver as Driver>::pool(url, options).map(Pool::$variant).map_err(|e| bad_url(url, &*e))
                    })*
                }
            }

            /// See [`Driver::SOCKETS`].
            pub(crate) fn sockets(&self) -> bool {
                match self {
                    $($(#[$cfg])* Pool::$variant(_) => <$driver as Driver>::SOCKETS,)*
                }
            }

            /// See [`Driver::runtime_free`].
            pub(crate) fn runtime_free(&self, url: &DatabaseUrl) -> bool {
                match self {
                    $($(#[$cfg])* Pool::$variant(_) => <$driver as Driver>::runtime_free(url),)*
                }
            }

            pub(crate) fn try_acquire(&self) -> Option<Conn> {
                match self {
                    $($(#[$cfg])* Pool::$variant(pool) => <$driver as Driver>::try_acquire(pool).map(Conn::$variant),)*
                }
            }

            /// See [`Driver::has_spare`].
            pub(crate) fn has_spare(&self) -> bool {
                match self {
                    $($(#[$cfg])* Pool::$variant(pool) => <$driver as Driver>::has_spare(pool),)*
                }
            }

            /// (Boxed: waiting for or opening a connection is the slow path, and sqlx's
            /// future for it is kilobytes, which every statement's future would otherwise
            /// hold and copy.)
            pub(crate) async fn acquire(&self) -> Result<Conn, String> {
                match self {
                    $($(#[$cfg])* Pool::$variant(pool) => Box::pin(<$driver as Driver>::acquire(pool)).await.map(Conn::$variant),)*
                }
            }

            pub(crate) async fn close(&self) {
                match self {
                    $($(#[$cfg])* Pool::$variant(pool) => <$driver as Driver>::close(pool).await,)*
                }
            }
        }

        impl Conn {
            /// See [`Driver::SOCKETS`].
            pub(crate) fn sockets(&self) -> bool {
                match self {
                    $($(#[$cfg])* Conn::$variant(_) => <$driver as Driver>::SOCKETS,)*
                }
            }

            pub(crate) async fn execute(&mut self, stmt: Statement) -> Result<Executed, Failure> {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::execute(conn, stmt).await,)*
                }
            }

            /// Runs `stmt`, handing each row to `each` until it returns `false`.
            pub(crate) async fn fetch(&mut self, stmt: Statement, mut each: impl FnMut(RowRef<'_>) -> bool) -> Result<(), Failure> {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => {
                        <$driver as Driver>::fetch(conn, stmt, |row| each(RowRef::$variant(row))).await
                    })*
                }
            }

            /// (Boxed, like [`Pool::acquire`]: a ping is the rare path beside a statement.)
            pub(crate) async fn ping(&mut self) -> Result<(), Failure> {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => Box::pin(<$driver as Driver>::ping(conn)).await,)*
                }
            }

            pub(crate) async fn control(&mut self, control: Control) -> Result<(), Failure> {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::control(conn, control).await,)*
                }
            }

            pub(crate) fn start_rollback(&mut self) {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::start_rollback(conn),)*
                }
            }

            pub(crate) fn abandon(&mut self) {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::abandon(conn),)*
                }
            }

            pub(crate) fn transaction_depth(&self) -> usize {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::transaction_depth(conn),)*
                }
            }

            pub(crate) fn detach(self) {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::detach(conn),)*
                }
            }

            pub(crate) fn close_on_drop(&mut self) {
                match self {
                    $($(#[$cfg])* Conn::$variant(conn) => <$driver as Driver>::close_on_drop(conn),)*
                }
            }
        }

        impl RowRef<'_> {
            /// See [`Driver::value`].
            // Forced in optimised builds: the arguments are constants at each call site, so one
            // arm of the match is left. Unoptimised, nothing is folded, and forcing it would
            // copy the whole match into every column of every model (compile time).
            #[cfg_attr(debug_assertions, inline)]
            #[cfg_attr(not(debug_assertions), inline(always))]
            pub(crate) fn value<S, L>(&self, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError> {
                match self {
                    $($(#[$cfg])* RowRef::$variant(row) => <$driver as Driver>::value(row, index, sql_type, nullable),)*
                    RowRef::Never(never, _) => match *never {},
                }
            }

            /// See [`Driver::is_null`].
            pub(crate) fn is_null(&self, index: usize) -> Result<bool, DriverError> {
                match self {
                    $($(#[$cfg])* RowRef::$variant(row) => <$driver as Driver>::is_null(row, index),)*
                    RowRef::Never(never, _) => match *never {},
                }
            }

            /// See [`Driver::width`].
            pub(crate) fn width(&self) -> usize {
                match self {
                    $($(#[$cfg])* RowRef::$variant(row) => <$driver as Driver>::width(row),)*
                    RowRef::Never(never, _) => match *never {},
                }
            }
        }
    };
}

drivers! {
    #[cfg(feature = "sqlite")]
    Sqlite => sqlx_shared::Sqlx<sqlx::Sqlite>,
    #[cfg(feature = "postgres")]
    Postgres => sqlx_shared::Sqlx<sqlx::Postgres>,
    #[cfg(feature = "mysql")]
    MySql => sqlx_shared::Sqlx<sqlx::MySql>,
    #[cfg(feature = "mock")]
    Mock => mock::MockDriver,
}

impl Pool {
    /// A pool for `url` of the driver of its dialect, owned by the runtime entered by the caller.
    pub(crate) fn open(url: &DatabaseUrl, options: &PoolOptions) -> Result<Pool> {
        fn pool_of<D: Driver>(url: &DatabaseUrl, options: &PoolOptions, wrap: fn(D::Pool) -> Pool) -> Result<Pool> {
            D::pool(url, options).map(wrap).map_err(|e| bad_url(url, &*e))
        }
        match url.dialect() {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => pool_of::<sqlx_shared::Sqlx<sqlx::Sqlite>>(url, options, Pool::Sqlite),
            #[cfg(feature = "postgres")]
            Dialect::Postgres => pool_of::<sqlx_shared::Sqlx<sqlx::Postgres>>(url, options, Pool::Postgres),
            #[cfg(feature = "mysql")]
            Dialect::MySql => pool_of::<sqlx_shared::Sqlx<sqlx::MySql>>(url, options, Pool::MySql),
            dialect @ (Dialect::MsSql | Dialect::Oracle) => Err(Error::unsupported(
                dialect,
                "connecting in this version of duo-orm (no driver yet): render its SQL with \
                 `to_sql(Dialect::…)`, `insert_sql`, `update_sql`, `delete_sql` and `create_table_sql`, \
                 or record it with the `mock` feature's `MockDatabase`",
            )),
            #[allow(unreachable_patterns)]
            other => Err(not_compiled(other)),
        }
    }
}

fn bad_url(url: &DatabaseUrl, reason: &dyn std::fmt::Display) -> Error {
    let dialect = url.dialect();
    Error::config(ConfigurationKind::Url, crate::config::scrub(format!("invalid {dialect} URL `{url}`: {reason}"), url.driver_url()))
}

/// The error for a dialect whose driver this build left out.
pub(crate) fn not_compiled(dialect: Dialect) -> Error {
    let feature = match dialect {
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
        _ => "sqlite",
    };
    Error::config(
        ConfigurationKind::MissingFeature,
        format!("duo-orm was built without {dialect} support: enable the `{feature}` feature of duo-orm"),
    )
}

/// The error for a column whose type needs a feature this build left out.
pub(crate) fn type_not_compiled() -> DriverError {
    "this column type needs a duo-orm feature that is not enabled".into()
}
