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

/// A connected database: its URL and its pool.
pub(crate) struct Engine {
    pub url: DatabaseUrl,
    /// The pool whose connections live on the I/O runtime.
    pub(super) pool: ConnPool,
    /// Server connections opened on the caller's own runtime, one pool per runtime: a socket
    /// driven by the runtime that reads it saves a cross-runtime wake-up per read (5–20 % of a
    /// large result). A pool goes when its runtime shuts down.
    pub(super) local: std::sync::Mutex<std::collections::HashMap<tokio::runtime::Id, ConnPool>>,
    pub(super) options: PoolOptions,
    pub(super) log_values: bool,
    /// Whether a MySQL-dialect server is MariaDB (which has `INSERT … RETURNING`), once asked.
    pub(super) mariadb: OnceLock<bool>,
}

impl Engine {
    pub(super) fn open(url: DatabaseUrl, options: &PoolOptions, log_values: bool) -> Result<Self> {
        options.check()?;
        // Pools spawn maintenance tasks: create them inside the runtime that will own them.
        let pool = {
            let _guard = runtime().enter();
            Pool::open(&url, options)?
        };
        Ok(Self::with_pool(url, pool, options, log_values))
    }

    /// An engine on `pool`, opened already.
    pub(super) fn with_pool(url: DatabaseUrl, pool: Pool, options: &PoolOptions, log_values: bool) -> Self {
        let home = (!pool.runtime_free(&url)).then(|| runtime().handle().clone());
        Engine {
            url,
            pool: ConnPool::new(pool, home),
            local: std::sync::Mutex::new(std::collections::HashMap::new()),
            options: *options,
            log_values,
            mariadb: OnceLock::new(),
        }
    }

    /// The pool of the runtime `handle` belongs to, created (with a guard task that removes
    /// it when that runtime shuts down, as tokio drops every task then) on first use.
    pub(super) fn local_pool(self: &Arc<Self>, handle: &tokio::runtime::Handle) -> Result<ConnPool> {
        let id = handle.id();
        let mut pools = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(&id) {
            return Ok(pool.clone());
        }
        let pool = {
            let _guard = handle.enter();
            ConnPool::new(self.pool.driver().reopen(&self.url, &self.options)?, Some(handle.clone()))
        };
        pools.insert(id, pool.clone());
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
        self.pool.driver().sockets()
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
            let done = leased.start().control(control).await;
            leased.finish(&done);
            if done.is_err() && matches!(control, Control::Begin(_)) {
                // A BEGIN the server refused leaves sqlx's rollback of it queued.
                leased.clean = false;
            }
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
        for pool in local {
            if let Some(home) = pool.home().cloned() {
                home.spawn(async move { pool.close().await });
            }
        }
        self.pool.close().await;
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
    pub(super) fn connect_error(&self, reason: String) -> Error {
        Error::config(
            ConfigurationKind::Connect,
            scrub(format!("cannot connect to {} at `{}`: {reason}", self.url.dialect(), self.url), self.url.driver_url()),
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
                let mut count = 0u64;
                let mut stepped = Ok(());
                // (`break` leaves the attempts of `resending!`.)
                let target = match conn.start() {
                    Ok(target) => target,
                    Err(error) => break Err(error),
                };
                let read = target
                    .fetch(stmt, |row| {
                        stepped = step(&mut state, &mut RowCursor::new(row, model));
                        count += u64::from(stepped.is_ok());
                        stepped.is_ok()
                    })
                    .await;
                match (read, stepped) {
                    (Err(failure), _) => Err(failure.after_rows(count)),
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
                // (`break` leaves the attempts of `resending!`.)
                let target = match conn.start() {
                    Ok(target) => target,
                    Err(error) => break Err(error),
                };
                target.execute(stmt).await
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
        match leased.ping().await {
            Err(Failure::Dropped(_)) => self.reconnect(leased).await?,
            Err(Failure::Final(error) | Failure::Answered(error)) => return Err(error),
            Ok(()) => {}
        }
        Ok(None)
    }

    /// Whether `leased` is an idle server connection the pool handed out unchecked.
    pub(crate) fn may_reconnect(&self, leased: &Leased) -> bool {
        !leased.checked && self.runtime_local()
    }

    /// Replaces `leased`'s connection, which the server closed, with one just checked: by its
    /// pool (which pings idle connections on this path, dropping dead ones), or by a ping here
    /// for a kept one (the server may have closed every connection at once).
    pub(crate) async fn reconnect(&self, leased: &mut Leased) -> Result<()> {
        // The dead one leaves first: its place in the pool is what the new one takes (every
        // other connection may be held by callers doing the same).
        leased.discard();
        let home = leased.home.clone().unwrap_or_else(|| runtime().handle().clone());
        let pool = if home.id() == runtime().handle().id() {
            self.pool.clone()
        } else {
            let local = self.local.lock().unwrap_or_else(PoisonError::into_inner).get(&home.id()).cloned();
            local.ok_or_else(|| Error::config(ConfigurationKind::Runtime, "the runtime that owned this connection has shut down"))?
        };
        loop {
            // Opened (or pinged) on the runtime the new connection will belong to.
            let pool = pool.clone();
            *leased = match home.spawn(async move { pool.take().await }).await {
                Ok(fresh) => fresh.map_err(|e| self.connect_error(e))?,
                Err(join) => return Err(Error::Io(std::io::Error::other(join.to_string()))),
            };
            if leased.checked {
                return Ok(());
            }
            match leased.ping().await {
                Ok(()) => return Ok(()),
                // (Each dead one leaves the pool: this ends with the pool's own.)
                Err(Failure::Dropped(_)) => leased.discard(),
                Err(Failure::Final(error) | Failure::Answered(error)) => return Err(error),
            }
        }
    }

    /// The error for a connection the server closed where the statement did not go again.
    pub(super) fn lost(&self, conn: &mut Lease, error: DriverError) -> Error {
        let during = match conn {
            Lease::Transaction(guard) => {
                if let Ok(leased) = guard.lease() {
                    leased.lost = true;
                }
                "of this transaction: the server rolls back what the transaction wrote; run the whole block again"
            }
            Lease::Pooled(_) => "just after the pool had checked it; the statement was not sent again",
        };
        Error::ConnectionLost { during: during.into(), source: error }
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
            $conn.finish(&attempt);
            match attempt {
                Ok(value) => break Ok(value),
                Err(failure @ (Failure::Final(_) | Failure::Answered(_))) => {
                    let (error, answered) = failure.into_error().expect("not a dropped connection");
                    break Err($conn.failed($engine.url.dialect(), error, answered));
                }
                Err(Failure::Dropped(error)) => match spare {
                    Some(again) => {
                        if let Lease::Pooled(leased) = &mut *$conn {
                            $engine.reconnect(leased).await?;
                        }
                        next = again;
                    }
                    None => {
                        let lost = $engine.lost($conn, error);
                        break Err($conn.failed($engine.url.dialect(), lost, false));
                    }
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

impl Failure {
    /// This failure of a statement after `delivered` of its rows went to the caller: once any
    /// did, a closed connection is final (the statement cannot go again).
    pub(super) fn after_rows(self, delivered: u64) -> Self {
        match (self, delivered) {
            (Failure::Dropped(error), n) if n > 0 => Failure::Final(Error::ConnectionLost {
                during: format!("while rows were being read ({n} already handed over); the statement was not sent again"),
                source: error,
            }),
            (failure, _) => failure,
        }
    }
}

/// The error of a transaction-control statement when the server closed the connection:
/// [`Error::CommitUnknown`] for the outermost `COMMIT`, else [`Error::ConnectionLost`] saying
/// what that means for the transaction.
pub(super) fn control_error(control: Control, nested: bool, failure: Failure) -> Error {
    let error = match failure {
        Failure::Final(error) | Failure::Answered(error) => return error,
        Failure::Dropped(error) => error,
    };
    if control == Control::Commit && !nested {
        return Error::CommitUnknown { source: error };
    }
    let during = if matches!(control, Control::Begin(_)) && !nested {
        "as the transaction began; nothing ran in it"
    } else {
        "of this transaction: the server rolls back what the transaction wrote; run the whole block again"
    };
    Error::ConnectionLost { during: during.into(), source: error }
}
