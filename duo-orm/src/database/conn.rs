//! Connections: a pooled or transaction-held connection ([`Lease`]), transaction control on
//! it, and the dispatch over the drivers compiled in (`each_conn!`, `on_conn!`). This is the
//! file a driver seam replaces.

use super::*;

/// A connection checked out of a pool.
pub(crate) enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::pool::PoolConnection<sqlx::MySql>),
}

/// A checked-out connection, returned to its pool on a runtime that is safe for it.
///
/// sqlx returns a dropped connection by spawning a task on the *current* runtime (and, when
/// the connection turns out broken, may open a replacement from that task). A server
/// connection's socket belongs to the runtime of its pool (the caller's own, or the I/O
/// runtime), so its return always runs there, whoever drops the lease (a caller whose future
/// was cancelled included). A SQLite connection is a thread and channels, bound to no runtime:
/// it returns on the caller's runtime, as with plain sqlx, so the next statement finds it idle
/// without waking the I/O runtime. Not so an in-memory SQLite database: if that runtime died
/// before the return ran, the connection would close and its data with it.
pub(crate) struct Leased {
    pub(super) conn: Option<Conn>,
    /// Whether the pool checked this connection (a ping, or a fresh connect) for this use. An
    /// idle connection taken without one may have been closed by the server meanwhile.
    pub(super) checked: bool,
    /// Whether a statement is under way on it. Dropped then (a cancelled caller), a server
    /// connection's state is unknown (a request half written, an answer unread), so it is
    /// closed instead of going back to the pool. (SQLite's driver finishes or rolls back each
    /// command on its own thread, so its connections need not be, and an in-memory database
    /// must not be: the connection is the data.)
    pub(super) in_flight: bool,
    /// Whether the server closed this connection under a transaction: nothing of it commits.
    pub(super) lost: bool,
    /// The runtime the connection goes back to its pool on: its own pool's runtime, the I/O
    /// runtime for the I/O pool, `None` for a connection bound to no runtime (file SQLite),
    /// which goes back on the caller's.
    pub(super) home: Option<tokio::runtime::Handle>,
}

impl Leased {
    pub(super) fn new(conn: Conn, engine: &Engine, checked: bool) -> Self {
        Leased {
            conn: Some(conn),
            checked,
            in_flight: false,
            lost: false,
            home: (!engine.runtime_free()).then(|| runtime().handle().clone()),
        }
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a lease holds its connection until dropped")
    }

    /// The connection, for a statement that starts now (see `in_flight`).
    pub(crate) fn start(&mut self) -> &mut Conn {
        self.in_flight = true;
        self.conn()
    }

    /// The statement started with [`start`](Self::start) has finished, one way or the other.
    /// When the connection `answered` (anything but a closed connection), it is no longer one
    /// the server may have closed unseen: later statements on it (a held connection's, with a
    /// lock or a transaction open) are never sent again elsewhere.
    pub(crate) fn finish(&mut self, answered: bool) {
        self.in_flight = false;
        self.checked |= answered;
    }

    /// Refuses a transaction's next statement when an earlier one was cut short (the
    /// connection's state is unknown) or the server closed the connection.
    pub(crate) fn usable(&self) -> Result<()> {
        if self.lost {
            return Err(Error::ConnectionLost {
                during: "earlier in this transaction: nothing of it committed; run the whole block again".into(),
                commit_unknown: false,
                source: Box::new(std::io::Error::from(std::io::ErrorKind::NotConnected)),
            });
        }
        if self.cut_short() {
            return Err(Error::invalid(
                InvalidQueryKind::Transaction,
                "a statement of this transaction was cancelled while it ran, so the connection's state is unknown: \
                 the transaction can only roll back (its connection is closed, which rolls it back)",
            ));
        }
        Ok(())
    }

    /// Whether the server closed this connection under a transaction.
    pub(crate) fn lost(&self) -> bool {
        self.lost
    }

    /// Whether a statement was cut short on this server connection: its state is unknown.
    pub(crate) fn cut_short(&self) -> bool {
        self.in_flight && self.conn.as_ref().is_some_and(Conn::is_server)
    }

    /// Takes this connection out of its pool at once, dropping its socket: for a connection
    /// the server closed, or one in an unknown state (a graceful close would hold its place in
    /// the pool for up to seconds).
    pub(crate) fn discard(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _home = self.home.as_ref().map(|home| home.enter());
            each_conn!(conn, c, _Db => drop(c.detach()));
        }
    }

    /// Makes the pool close this connection instead of reusing it (its state is unknown).
    pub(crate) fn close_on_drop(&mut self) {
        // (A lease whose dead connection could not be replaced holds none.)
        if let Some(conn) = self.conn.as_mut() {
            each_conn!(conn, c, _Db => c.close_on_drop())
        }
    }
}

/// The connection a statement runs on: one of its own, or the ambient transaction's.
pub(crate) enum Lease {
    Pooled(Leased),
    Transaction(tokio::sync::OwnedMutexGuard<TxConn>),
}

impl Lease {
    /// The connection, for a statement that starts now.
    pub(super) fn start(&mut self) -> Result<&mut Conn> {
        match self {
            Lease::Pooled(leased) => Ok(leased.start()),
            Lease::Transaction(guard) => {
                let leased = guard.lease()?;
                leased.usable()?;
                Ok(leased.start())
            }
        }
    }

    /// The statement started with [`start`](Self::start) has finished.
    pub(super) fn finish(&mut self, answered: bool) {
        match self {
            Lease::Pooled(leased) => leased.finish(answered),
            Lease::Transaction(guard) => {
                if let Ok(leased) = guard.lease() {
                    leased.finish(answered);
                }
            }
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's pooled connection and `$db` naming the
/// backend's sqlx database type, once per enabled backend.
macro_rules! each_conn {
    ($conn:expr, $c:ident, $db:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite($c) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres($c) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
            #[cfg(feature = "mysql")]
            Conn::MySql($c) => {
                #[allow(dead_code)]
                type $db = sqlx::MySql;
                $body
            }
        }
    };
}

pub(super) use each_conn;

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

impl Conn {
    /// Whether this is a server's connection (not SQLite's).
    pub(crate) fn is_server(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => false,
            #[allow(unreachable_patterns)]
            _ => true,
        }
    }
}

/// Transaction control, through each driver's own transaction manager (which nests with
/// savepoints and tracks the depth).
impl Conn {
    pub(crate) async fn begin(&mut self, statement: Option<&'static str>) -> Result<(), sqlx::Error> {
        use sqlx::SqlSafeStr;
        let statement = statement.map(|s| AssertSqlSafe(s).into_sql_str());
        each_conn!(self, c, Db => <Db as sqlx::Database>::TransactionManager::begin(&mut **c, statement).await)
    }

    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        each_conn!(self, c, Db => <Db as sqlx::Database>::TransactionManager::commit(&mut **c).await)
    }

    pub(crate) async fn rollback(&mut self) -> Result<(), sqlx::Error> {
        each_conn!(self, c, Db => <Db as sqlx::Database>::TransactionManager::rollback(&mut **c).await)
    }

    /// Queues a rollback of the innermost level, sent before the connection's next use (the
    /// pool pings every returned connection, which flushes it).
    pub(crate) fn start_rollback(&mut self) {
        each_conn!(self, c, Db => <Db as sqlx::Database>::TransactionManager::start_rollback(&mut **c))
    }

    pub(crate) fn transaction_depth(&self) -> usize {
        each_conn!(self, c, Db => <Db as sqlx::Database>::TransactionManager::get_transaction_depth(&**c))
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        if self.cut_short() || self.lost {
            self.discard();
        }
        let Some(conn) = self.conn.take() else { return };
        match &self.home {
            None if tokio::runtime::Handle::try_current().is_ok() => drop(conn),
            Some(home) => {
                let _home = home.enter();
                drop(conn);
            }
            None => {
                let _io_runtime = runtime().enter();
                drop(conn);
            }
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's connection (`&mut` the driver connection)
/// and `$wrap` naming the matching [`RowRef`] variant, once per enabled backend.
macro_rules! on_conn {
    ($conn:expr, $c:ident, $wrap:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite($c) => {
                #[allow(unused_imports)]
                use RowRef::Sqlite as $wrap;
                let $c = &mut **$c;
                $body
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres($c) => {
                #[allow(unused_imports)]
                use RowRef::Postgres as $wrap;
                let $c = &mut **$c;
                $body
            }
            #[cfg(feature = "mysql")]
            Conn::MySql($c) => {
                #[allow(unused_imports)]
                use RowRef::MySql as $wrap;
                let $c = &mut **$c;
                $body
            }
        }
    };
}
pub(super) use on_conn;

pub(super) fn not_compiled(dialect: Dialect) -> Error {
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
