//! The engine behind a [`Database`]: its pools on the process-wide I/O runtime, statement
//! execution with its tracing span, and sending a statement again on a fresh connection when
//! the server had dropped the old one and that is safe.

use super::*;

/// The name of the I/O runtime's worker threads.
pub(crate) const IO_THREAD_NAME: &str = "duo-orm-io";

/// The process-wide I/O runtime that owns every pool and opens every connection. It is never
/// shut down, so a server socket opened here stays usable from any caller.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(IO_THREAD_NAME)
            .enable_all()
            .build()
            .expect("duo-orm cannot start its I/O runtime (the OS refused to create threads)")
    })
}

/// What an executed statement reports.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Executed {
    pub rows_affected: u64,
    /// MySQL's `LAST_INSERT_ID()` / SQLite's rowid of the last insert.
    pub last_insert_id: Option<i64>,
}

/// A connected database: its URL and its pool.
pub(crate) struct Engine {
    pub url: DatabaseUrl,
    /// The pool whose connections live on the I/O runtime.
    pub(super) pool: Pool,
    /// Server connections opened on the caller's own runtime, one pool per runtime: a socket
    /// driven by the runtime that reads it saves a cross-runtime wake-up per read (5–20 % of a
    /// large result). A pool goes when its runtime shuts down.
    pub(super) local: std::sync::Mutex<std::collections::HashMap<tokio::runtime::Id, (tokio::runtime::Handle, Pool)>>,
    pub(super) options: PoolOptions,
    pub(super) log_values: bool,
    /// Whether a MySQL-dialect server is MariaDB (which has `INSERT … RETURNING`), once asked.
    pub(super) mariadb: OnceLock<bool>,
}

#[derive(Clone)]
pub(super) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

impl Pool {
    pub(super) fn try_acquire(&self) -> Option<Conn> {
        match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.try_acquire().map(Conn::Sqlite),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.try_acquire().map(Conn::Postgres),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.try_acquire().map(Conn::MySql),
        }
    }

    pub(super) async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let acquired = async {
            Ok(match self {
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => Conn::MySql(pool.acquire().await?),
            })
        }
        .await;
        match acquired {
            Err(sqlx::Error::PoolTimedOut) => Err(self.why_no_connection().await),
            other => other,
        }
    }

    /// Why a pool that timed out could not connect. The pool keeps retrying until its timeout
    /// and then reports only that it timed out; when it holds no connection at all, one direct
    /// attempt with its options brings back the cause (refused, unknown host, bad password).
    pub(super) async fn why_no_connection(&self) -> sqlx::Error {
        use sqlx::ConnectOptions;
        async fn attempt<O: ConnectOptions>(options: &O) -> Option<sqlx::Error>
        where
            O::Connection: Sized,
        {
            match tokio::time::timeout(std::time::Duration::from_secs(5), options.connect()).await {
                Ok(Err(cause)) => Some(cause),
                Ok(Ok(connection)) => {
                    // It connects now: the server came back; close this one properly.
                    let _ = sqlx::Connection::close(connection).await;
                    None
                }
                Err(_) => None,
            }
        }
        let cause = match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) if pool.size() == 0 => attempt(&*pool.connect_options()).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) if pool.size() == 0 => attempt(&*pool.connect_options()).await,
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) if pool.size() == 0 => attempt(&*pool.connect_options()).await,
            _ => None,
        };
        cause.unwrap_or(sqlx::Error::PoolTimedOut)
    }
}

/// Removes the password of `url` from a driver message, wherever the driver put it.
pub(super) fn scrub(message: String, url: &str) -> String {
    let mut out = message.replace(url, &redact(url));
    if let Some(password) = password_range(url).map(|range| &url[range]).filter(|p| !p.is_empty()) {
        out = out.replace(password, "***");
        let decoded = crate::config::percent_decode(password);
        if !decoded.is_empty() {
            out = out.replace(&decoded, "***");
        }
    }
    out
}

impl Engine {
    pub(super) fn open(url: DatabaseUrl, options: &PoolOptions, log_values: bool) -> Result<Self> {
        options.check()?;
        // Pools spawn maintenance tasks: create them inside the runtime that will own them.
        let pool = {
            let _guard = runtime().enter();
            Self::build_pool(&url, options)?
        };
        Ok(Engine {
            url,
            pool,
            local: std::sync::Mutex::new(std::collections::HashMap::new()),
            options: *options,
            log_values,
            mariadb: OnceLock::new(),
        })
    }

    /// A lazy pool for `url`, owned by the runtime entered by the caller.
    pub(super) fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Result<Pool> {
        let dialect = url.dialect();
        let bad_url =
            |e: sqlx::Error| Error::config(ConfigurationKind::Url, scrub(format!("invalid {dialect} URL `{url}`: {e}"), url.driver_url()));
        macro_rules! pool_options {
            ($db:ty) => {
                sqlx::pool::PoolOptions::<$db>::new()
                    .max_connections(options.max_connections)
                    .min_connections(options.min_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .idle_timeout(options.idle_timeout)
                    .max_lifetime(options.max_lifetime)
            };
        }
        let pool = match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => {
                use std::str::FromStr;
                let connect = sqlx::sqlite::SqliteConnectOptions::from_str(url.driver_url())
                    .map_err(bad_url)?
                    .create_if_missing(true)
                    .foreign_keys(true);
                let mut pool = pool_options!(sqlx::Sqlite);
                if url.is_sqlite_memory() {
                    // Each connection to `:memory:` is a database of its own: keep exactly one, forever.
                    pool = pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
                }
                Pool::Sqlite(pool.connect_lazy_with(connect))
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres => {
                use std::str::FromStr;
                let connect = sqlx::postgres::PgConnectOptions::from_str(url.driver_url()).map_err(bad_url)?;
                Pool::Postgres(pool_options!(sqlx::Postgres).connect_lazy_with(connect))
            }
            #[cfg(feature = "mysql")]
            Dialect::MySql => {
                use std::str::FromStr;
                let connect = sqlx::mysql::MySqlConnectOptions::from_str(url.driver_url()).map_err(bad_url)?;
                Pool::MySql(pool_options!(sqlx::MySql).connect_lazy_with(connect))
            }
            Dialect::MsSql | Dialect::Oracle => {
                return Err(Error::unsupported(
                    dialect,
                    "connecting in this version of duo-orm (no driver yet): render its SQL with \
                     `to_sql(Dialect::…)`, `insert_sql`, `update_sql`, `delete_sql` and `create_table_sql`",
                ));
            }
            #[allow(unreachable_patterns)]
            other => return Err(not_compiled(other)),
        };
        Ok(pool)
    }

    /// The pool of the runtime `handle` belongs to, created (with a guard task that removes
    /// it when that runtime shuts down, as tokio drops every task then) on first use.
    pub(super) fn local_pool(self: &Arc<Self>, handle: &tokio::runtime::Handle) -> Result<Pool> {
        let id = handle.id();
        let mut pools = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, pool)) = pools.get(&id) {
            return Ok(pool.clone());
        }
        let pool = {
            let _guard = handle.enter();
            Self::build_pool(&self.url, &self.options)?
        };
        pools.insert(id, (handle.clone(), pool.clone()));
        drop(pools);
        struct Evict(std::sync::Weak<Engine>, tokio::runtime::Id);
        impl Drop for Evict {
            fn drop(&mut self) {
                if let Some(engine) = self.0.upgrade() {
                    let pool = engine.local.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.1);
                    drop(pool);
                }
            }
        }
        let evict = Evict(Arc::downgrade(self), id);
        handle.spawn(async move {
            let _evict = evict;
            std::future::pending::<()>().await
        });
        Ok(pool)
    }

    /// Whether connections may live on the caller's runtime: server connections (a SQLite
    /// connection is a thread, bound to no runtime; an in-memory one is the data itself).
    pub(super) fn runtime_local(&self) -> bool {
        self.url.dialect() != Dialect::Sqlite
    }

    /// Whether this database's connections are bound to no runtime, so any runtime may open,
    /// use and return them: file SQLite (a thread and channels per connection). In-memory
    /// SQLite is excluded: its one connection is the data, and must never be closed by a
    /// runtime that shuts down.
    pub(super) fn runtime_free(&self) -> bool {
        self.url.dialect() == Dialect::Sqlite && !self.url.is_sqlite_memory()
    }

    pub(super) fn span(&self, stmt: &Statement) -> tracing::Span {
        let span = self.sql_span(&stmt.sql);
        if self.log_values {
            span.record("db.values", tracing::field::debug(&stmt.values.0));
        }
        span
    }

    pub(super) fn sql_span(&self, sql: &str) -> tracing::Span {
        tracing::info_span!(
            "duo_orm.query",
            db.system = self.url.dialect().tracing_system(),
            db.statement = %sql,
            db.values = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            rows = tracing::field::Empty,
        )
    }

    /// Runs a transaction-control statement on `conn` (`nested`: on a savepoint), traced like
    /// any other statement.
    pub(crate) async fn control(&self, leased: &mut Leased, control: Control, nested: bool) -> Result<()> {
        let sql = match (control, nested) {
            (Control::Begin(Some(statement)), _) => statement,
            (Control::Begin(None), false) => "BEGIN",
            (Control::Begin(None), true) => "SAVEPOINT",
            (Control::Commit, false) => "COMMIT",
            (Control::Commit, true) => "RELEASE SAVEPOINT",
            (Control::Rollback, false) => "ROLLBACK",
            (Control::Rollback, true) => "ROLLBACK TO SAVEPOINT",
        };
        if let Err(error) = leased.usable() {
            // A transaction whose connection is gone or in an unknown state cannot end with
            // a statement; its connection closes when the transaction ends, which rolls it
            // back. Only a rollback can be granted.
            return if control == Control::Rollback { Ok(()) } else { Err(error) };
        }
        let work = async {
            let conn = leased.start();
            let done = match control {
                Control::Begin(statement) => conn.begin(statement).await,
                Control::Commit => conn.commit().await,
                Control::Rollback => conn.rollback().await,
            };
            leased.finish(!matches!(&done, Err(error) if dropped_by_server(error)));
            done.map_err(|error| {
                let error = control_error(control, nested, error);
                if matches!(error, Error::ConnectionLost { .. }) && !matches!(control, Control::Begin(_)) {
                    leased.lost = true;
                }
                error
            })
        };
        Self::traced(self.sql_span(sql), |_| 0, work).await
    }

    /// Runs `work` inside `span` and records its duration and row count.
    pub(super) async fn traced<T>(span: tracing::Span, rows: impl Fn(&T) -> u64, work: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let result = work.instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
        match &result {
            Ok(value) => {
                span.record("rows", rows(value));
            }
            Err(error) => {
                let _entered = span.enter();
                tracing::debug!(%error, "statement failed");
            }
        }
        result
    }

    /// Closes the I/O pool, waiting for its connections, and the pools of callers' runtimes,
    /// each on its own runtime without waiting: that runtime may be the one a `.wait()` is
    /// blocking, and its connections' sockets close only as it runs.
    pub(super) async fn close(&self) {
        let local: Vec<_> = self.local.lock().unwrap_or_else(PoisonError::into_inner).drain().map(|(_, local)| local).collect();
        for (handle, pool) in local {
            handle.spawn(async move { pool.close().await });
        }
        self.pool.close().await;
    }
}

impl Pool {
    pub(super) async fn close(&self) {
        match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close().await,
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.close().await,
        }
    }
}

impl Engine {
    /// Refuses a PostgreSQL array parameter on another backend, whose driver cannot bind one
    /// (sea-query-sqlx would panic).
    pub(super) fn check_bindable(&self, stmt: &Statement) -> Result<()> {
        let dialect = self.url.dialect();
        if dialect != Dialect::Postgres && stmt.values.0.iter().any(|v| matches!(v, sea_query::Value::Array(..))) {
            return Err(Error::unsupported(dialect, "an array value (arrays are PostgreSQL's); store the list as `Json<Vec<T>>`"));
        }
        Ok(())
    }

    /// A failure to open a connection, saying where it tried (the URL shows the host, port and
    /// database, never the password) and why, the server's refusal (unknown database, bad
    /// credentials) included.
    pub(super) fn connect_error(&self, e: sqlx::Error) -> Error {
        Error::config(
            ConfigurationKind::Connect,
            scrub(
                format!("cannot connect to {} at `{}`: {}", self.url.dialect(), self.url, crate::error::driver_message(&e)),
                self.url.driver_url(),
            ),
        )
    }

    /// Runs `stmt` on `conn` and folds each row into `state` with `step` as it arrives.
    pub(super) async fn fetch_fold<A>(
        &self,
        conn: &mut Lease,
        stmt: Statement,
        span: tracing::Span,
        model: &'static str,
        mut state: A,
        mut step: impl FnMut(&mut A, &mut RowCursor<'_>) -> Result<()>,
    ) -> Result<A> {
        self.check_bindable(&stmt)?;
        let work = async {
            let count = resending!(self, conn, stmt => {
                let Statement { sql, values } = stmt;
                let mut count = 0u64;
                let mut stepped = Ok(());
                // (`break` leaves the attempts of `resending!`.)
                let target = match conn.start() {
                    Ok(target) => target,
                    Err(error) => break Err(error),
                };
                let read: Result<(), sqlx::Error> = async {
                    on_conn!(target, c, Wrap => {
                        let mut rows = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values)).fetch(c);
                        while let Some(row) = rows.try_next().await? {
                            stepped = step(&mut state, &mut RowCursor::new(Wrap(&row), model));
                            if stepped.is_err() {
                                break;
                            }
                            count += 1;
                        }
                    });
                    Ok(())
                }
                .await;
                match (read, stepped) {
                    (Err(error), _) => Err(Failure::driver(error, count)),
                    (Ok(()), Err(error)) => Err(Failure::Final(error)),
                    (Ok(()), Ok(())) => Ok(count),
                }
            });
            count.map(|count| (state, count))
        };
        Self::traced(span, |(_, count): &(A, u64)| *count, work).await.map(|(state, _)| state)
    }

    pub(super) async fn execute(&self, conn: &mut Lease, stmt: Statement, span: tracing::Span) -> Result<Executed> {
        self.check_bindable(&stmt)?;
        let work = async {
            resending!(self, conn, stmt => {
                let Statement { sql, values } = stmt;
                // (`break` leaves the attempts of `resending!`.)
                let target = match conn.start() {
                    Ok(target) => target,
                    Err(error) => break Err(error),
                };
                let done: Result<Executed, sqlx::Error> = async {
                    match target {
                        #[cfg(feature = "sqlite")]
                        Conn::Sqlite(c) => {
                            let done = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values)).execute(&mut **c).await?;
                            Ok(Executed { rows_affected: done.rows_affected(), last_insert_id: Some(done.last_insert_rowid()) })
                        }
                        #[cfg(feature = "postgres")]
                        Conn::Postgres(c) => {
                            let done = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values)).execute(&mut **c).await?;
                            Ok(Executed { rows_affected: done.rows_affected(), last_insert_id: None })
                        }
                        #[cfg(feature = "mysql")]
                        Conn::MySql(c) => {
                            let done = sqlx::query_with(AssertSqlSafe(sql), SqlxValues(values)).execute(&mut **c).await?;
                            let id = done.last_insert_id();
                            Ok(Executed { rows_affected: done.rows_affected(), last_insert_id: (id != 0).then_some(id as i64) })
                        }
                    }
                }
                .await;
                done.map_err(|error| Failure::driver(error, 0))
            })
        };
        Self::traced(span, |done: &Executed| done.rows_affected, work).await
    }

    /// A copy of `stmt` for one more attempt, when `conn` may have been closed by the server
    /// before `stmt` reaches it: an idle server connection the pool handed out unchecked (no
    /// ping, which would cost a round trip per statement), outside a transaction.
    ///
    /// A large statement (a bulk insert) is not copied: the connection is pinged first
    /// instead, one round trip beside a statement that takes many, and replaced if dead.
    pub(super) async fn spare(&self, conn: &mut Lease, stmt: &Statement) -> Result<Option<Statement>> {
        let Lease::Pooled(leased) = conn else { return Ok(None) };
        if !self.may_reconnect(leased) {
            return Ok(None);
        }
        if stmt.values.0.len() <= SPARE_VALUES && stmt.sql.len() <= SPARE_SQL {
            return Ok(Some(stmt.clone()));
        }
        let pinged = each_conn!(leased.start(), c, _Db => sqlx::Connection::ping(&mut **c).await);
        leased.finish(pinged.is_ok());
        match pinged {
            Err(error) if dropped_by_server(&error) => self.reconnect(leased).await?,
            Err(error) => return Err(Error::from(error)),
            Ok(()) => {}
        }
        Ok(None)
    }

    /// Whether `leased` is an idle server connection the pool handed out unchecked.
    pub(crate) fn may_reconnect(&self, leased: &Leased) -> bool {
        !leased.checked && self.runtime_local()
    }

    /// Replaces `leased`'s connection, which the server closed, with one its pool has just
    /// checked (the pool pings idle connections on this path, dropping dead ones).
    pub(crate) async fn reconnect(&self, leased: &mut Leased) -> Result<()> {
        // The dead one leaves first: its place in the pool is what the new one takes (every
        // other connection may be held by callers doing the same).
        leased.discard();
        let home = leased.home.clone().unwrap_or_else(|| runtime().handle().clone());
        let pool = if home.id() == runtime().handle().id() {
            self.pool.clone()
        } else {
            let local = self.local.lock().unwrap_or_else(PoisonError::into_inner).get(&home.id()).map(|(_, pool)| pool.clone());
            local.ok_or_else(|| Error::config(ConfigurationKind::Runtime, "the runtime that owned this connection has shut down"))?
        };
        // Opened (or pinged) on the runtime the new connection will belong to.
        let fresh = match home.spawn(async move { pool.acquire().await }).await {
            Ok(fresh) => fresh.map_err(|e| self.connect_error(e))?,
            Err(join) => return Err(Error::Io(std::io::Error::other(join.to_string()))),
        };
        let home = leased.home.clone();
        *leased = Leased { conn: Some(fresh), checked: true, in_flight: false, lost: false, home };
        Ok(())
    }

    /// The error for a connection the server closed where the statement did not go again.
    pub(super) fn lost(&self, conn: &mut Lease, error: sqlx::Error) -> Error {
        let during = match conn {
            Lease::Transaction(guard) => {
                if let Ok(leased) = guard.lease() {
                    leased.lost = true;
                }
                "of this transaction: the server rolls back what the transaction wrote; run the whole block again"
            }
            Lease::Pooled(_) => "just after the pool had checked it; the statement was not sent again",
        };
        Error::ConnectionLost { during: during.into(), commit_unknown: false, source: Box::new(error) }
    }
}

/// Runs a statement with `$once` (an expression using `$stmt` that evaluates to
/// `Result<T, Failure>`), and once more on a fresh, checked connection when the server had
/// closed `$conn`'s before any of the result reached the caller (see [`Engine::spare`]).
macro_rules! resending {
    ($engine:ident, $conn:ident, $stmt:ident => $once:expr) => {{
        let mut next = $stmt;
        loop {
            let spare = $engine.spare($conn, &next).await?;
            let $stmt = next;
            let attempt = $once;
            $conn.finish(!matches!(attempt, Err(Failure::Dropped(_))));
            match attempt {
                Ok(value) => break Ok(value),
                Err(Failure::Final(error)) => break Err(error),
                Err(Failure::Dropped(error)) => match spare {
                    Some(again) => {
                        if let Lease::Pooled(leased) = &mut *$conn {
                            $engine.reconnect(leased).await?;
                        }
                        next = again;
                    }
                    None => break Err($engine.lost($conn, error)),
                },
            }
        }
    }};
}

pub(super) use resending;

/// The largest statement kept whole for a second attempt (bound values, SQL bytes); larger
/// ones ping their connection first instead of being copied.
pub(super) const SPARE_VALUES: usize = 1024;

pub(super) const SPARE_SQL: usize = 64 * 1024;

/// How one attempt at a statement failed.
pub(super) enum Failure {
    /// The server had closed the connection, and nothing of the result reached the caller.
    Dropped(sqlx::Error),
    /// Anything else.
    Final(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Final(error)
    }
}

impl Failure {
    /// A driver error after `delivered` rows went to the caller.
    pub(super) fn driver(error: sqlx::Error, delivered: u64) -> Self {
        match (dropped_by_server(&error), delivered) {
            (true, 0) => Failure::Dropped(error),
            (true, n) => Failure::Final(Error::ConnectionLost {
                during: format!("while rows were being read ({n} already handed over); the statement was not sent again"),
                commit_unknown: false,
                source: Box::new(error),
            }),
            (false, _) => Failure::Final(Error::from(error)),
        }
    }
}

/// The error of a transaction-control statement: [`Error::ConnectionLost`] when the server
/// closed the connection, saying what that means for the transaction.
pub(super) fn control_error(control: Control, nested: bool, error: sqlx::Error) -> Error {
    if !dropped_by_server(&error) {
        return Error::from(error);
    }
    let commit_unknown = control == Control::Commit && !nested;
    let during = if commit_unknown {
        "while COMMIT was in flight: the transaction may or may not have committed, and no client can tell; \
         check before running it again (see the transactions guide)"
    } else if matches!(control, Control::Begin(_)) && !nested {
        "as the transaction began; nothing ran in it"
    } else {
        "of this transaction: the server rolls back what the transaction wrote; run the whole block again"
    };
    Error::ConnectionLost { during: during.into(), commit_unknown, source: Box::new(error) }
}

/// Whether `error` says the server closed the connection (a restart, `pg_terminate_backend`,
/// MySQL's `KILL`, an idle timeout): the socket is closed, or the server's last words were
/// that it is shutting the session down.
pub(crate) fn dropped_by_server(error: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::NotConnected
        ),
        #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused_variables))]
        sqlx::Error::Database(db) => {
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
            #[cfg(feature = "postgres")]
            if matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
                && db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some()
            {
                return true;
            }
            #[cfg(feature = "mysql")]
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED, ER_CLIENT_INTERACTION_TIMEOUT.
                return matches!(my.number(), 1053 | 1927 | 4031);
            }
            false
        }
        _ => false,
    }
}
