//! [`Database`]: configuration, lazy pools, the model registry and statement execution.
//!
//! # Why a runtime of its own
//! sqlx connections belong to the tokio runtime that opened them and fail once it shuts down;
//! dropping a pooled connection outside any runtime panics. A `static DB` used from several
//! `#[tokio::test]` functions (each with its own runtime) or from sync code would therefore
//! break. duo-orm runs every pool on one process-wide I/O runtime that is never shut down:
//! callers, whatever their runtime (or none), await a task handle, which works anywhere.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use futures_util::TryStreamExt;
use sea_query_sqlx::SqlxValues;
use sqlx::AssertSqlSafe;
use sqlx_core::transaction::TransactionManager as _;
use tracing::Instrument;

use crate::config::{DatabaseUrl, PoolOptions, password_range, redact};
use crate::dialect::{Dialect, Statement};
use crate::error::{ConfigurationKind, Error, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta};
use crate::pending::Pending;
use crate::transaction::{Transaction, TxConn};
#[allow(unused_imports)]
use crate::types::{RowCursor, RowRef, RowResult};

/// Where a [`Database`] finds its URL.
#[derive(Clone)]
enum Source {
    Static(&'static str),
    Owned(String),
    Env { var: &'static str, default: &'static str },
}

/// A database: a URL, pool options and, once used, a connection pool.
///
/// Nothing connects until the first query (or [`Database::connect`]). A `Database` can be a
/// `static`, shared by any number of tokio runtimes and by sync code.
///
/// ```
/// use duo_orm::{Database, Dialect};
/// pub static DB: Database = Database::from_env("DATABASE_URL", "sqlite::memory:").max_connections(5);
///
/// let db = Database::new("postgres://app:secret@localhost/app").expect_dialect(Dialect::Postgres);
/// assert_eq!(db.dialect().unwrap(), Dialect::Postgres);
/// assert!(!format!("{db:?}").contains("secret"));
/// ```
pub struct Database {
    source: Source,
    expected: Option<Dialect>,
    options: PoolOptions,
    log_values: bool,
    sync_only: bool,
    engine: Mutex<Option<Arc<Engine>>>,
    registered: Mutex<Vec<fn() -> &'static ModelMeta>>,
}

impl Database {
    /// A database at a fixed URL known at compile time (usable in a `static`).
    pub const fn from_url(url: &'static str) -> Self {
        Self::with_source(Source::Static(url))
    }

    /// A database whose URL is read from environment variable `var` on first use, or
    /// `default` when it is unset (usable in a `static`). As the `duo-orm` CLI does, it reads
    /// the process environment first, then the nearest `.env` file: see [`env_url`](crate::env_url).
    pub const fn from_env(var: &'static str, default: &'static str) -> Self {
        Self::with_source(Source::Env { var, default })
    }

    /// A database at a URL known at run time.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_source(Source::Owned(url.into()))
    }

    const fn with_source(source: Source) -> Self {
        Database {
            source,
            expected: None,
            options: PoolOptions::new(),
            log_values: false,
            sync_only: false,
            engine: Mutex::new(None),
            registered: Mutex::new(Vec::new()),
        }
    }

    /// Requires the URL to name `dialect`; any other URL is a configuration error.
    pub const fn expect_dialect(mut self, dialect: Dialect) -> Self {
        self.expected = Some(dialect);
        self
    }

    /// Sets all pool options at once.
    pub const fn pool_options(mut self, options: PoolOptions) -> Self {
        self.options = options;
        self
    }

    /// The most connections the pool opens (default 10).
    pub const fn max_connections(mut self, max: u32) -> Self {
        self.options.max_connections = max;
        self
    }

    /// How long to wait for a connection before failing (default 30 s).
    pub const fn acquire_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.acquire_timeout = timeout;
        self
    }

    /// Also record bound values on each statement's tracing span (off by default: values
    /// may be personal data).
    pub const fn log_values(mut self, on: bool) -> Self {
        self.log_values = on;
        self
    }

    /// The pool options.
    pub fn options(&self) -> &PoolOptions {
        &self.options
    }

    /// The parsed URL (its `Display` hides the password).
    pub fn url(&self) -> Result<DatabaseUrl> {
        let raw = match &self.source {
            Source::Static(url) => std::borrow::Cow::Borrowed(*url),
            Source::Owned(url) => std::borrow::Cow::Borrowed(url.as_str()),
            Source::Env { var, default } => match crate::config::env_url(var)? {
                Some(url) => std::borrow::Cow::Owned(url),
                None => std::borrow::Cow::Borrowed(*default),
            },
        };
        let url = DatabaseUrl::parse(&raw)?;
        if let Some(expected) = self.expected
            && expected != url.dialect()
        {
            return Err(Error::config(
                ConfigurationKind::Binding,
                format!("this database expects {expected}, but its URL `{url}` is for {}", url.dialect()),
            ));
        }
        Ok(url)
    }

    /// The dialect this database speaks (from its URL).
    pub fn dialect(&self) -> Result<Dialect> {
        if let Some(engine) = self.engine.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            return Ok(engine.url.dialect());
        }
        self.url().map(|u| u.dialect())
    }

    /// Opens a connection now, to surface a bad URL, credentials or an unreachable server at
    /// start-up instead of at the first query.
    pub fn connect(&self) -> Pending<'_, ()> {
        // Checking a connection out opens one when none is idle; that is the whole check.
        Pending::on_database(self, |db| Box::pin(async move { Self::acquire(db.engine()?, false).await.map(drop) }))
    }

    /// Closes the pool, waiting for its connections to close. The next query opens a new one.
    /// It reports no error of its own (awaiting it on a sync-only database is the usual
    /// configuration error); it returns a `Result` like every other operation, so `.await?` and
    /// `.wait()?` read the same.
    ///
    /// `.wait()` called from async code returns once the pool is closed to new work, without
    /// waiting for connections still on their way back to it: the way back of one may run on
    /// the very runtime that `.wait()` blocks. They close as they arrive.
    pub fn disconnect(&self) -> Pending<'_, ()> {
        Pending::on_database(self, |db| {
            Box::pin(async move {
                let engine = db.engine.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(engine) = engine {
                    // Close (and drop) the pool on the runtime that owns its connections.
                    let closing = runtime().spawn(async move { engine.close().await });
                    if !crate::sync::blocking_a_runtime() {
                        let _ = closing.await;
                    }
                }
                Ok(())
            })
        })
    }

    /// Binds model `M` to this database for [`create_all`](Self::create_all) and
    /// [`drop_all`](Self::drop_all). Models declared with `#[duo(db = …)]` are registered
    /// automatically.
    pub fn register<M: Model>(&self) -> &Self {
        let mut registered = self.registered.lock().unwrap_or_else(PoisonError::into_inner);
        if !registered.iter().any(|m| std::ptr::eq(m(), M::meta())) {
            registered.push(M::meta);
        }
        self
    }

    /// The models bound to this database, referenced tables before referencing ones.
    pub fn models(&self) -> Vec<&'static ModelMeta> {
        let mut metas: Vec<&'static ModelMeta> = Vec::new();
        for registration in inventory::iter::<Registration> {
            if (registration.database)().is_some_and(|db| std::ptr::eq(db, self)) {
                metas.push((registration.meta)());
            }
        }
        for meta in self.registered.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            metas.push(meta());
        }
        // Join tables of many-to-many relationships, bare ones included.
        let join_tables: Vec<&'static ModelMeta> =
            metas.iter().flat_map(|meta| meta.relations.iter().filter_map(|r| r.through_table())).collect();
        metas.extend(join_tables);
        crate::query::schema::dependency_order(metas)
    }

    /// Creates the tables of every bound model that does not exist yet, in foreign-key order.
    /// For demos and tests; use migrations for real schemas.
    pub fn create_all(&self) -> Pending<'_, ()> {
        Pending::on_database(self, |db| {
            Box::pin(async move {
                let dialect = db.dialect()?;
                for meta in db.models() {
                    for sql in crate::query::schema::create_table(meta, dialect, true)? {
                        db.execute(Statement::raw(sql)).await?;
                    }
                }
                Ok(())
            })
        })
    }

    /// Drops the tables of every bound model, referencing tables first.
    pub fn drop_all(&self) -> Pending<'_, ()> {
        Pending::on_database(self, |db| {
            Box::pin(async move {
                let dialect = db.dialect()?;
                for meta in db.models().into_iter().rev() {
                    let sql = crate::query::schema::drop_table(meta, dialect, true);
                    db.execute(Statement::raw(sql)).await?;
                }
                Ok(())
            })
        })
    }

    /// Runs trusted SQL text with no parameters (DDL, maintenance) and returns the number
    /// of rows affected. Never build `sql` from user input: use the query builders.
    pub fn execute_raw(&self, sql: impl Into<String>) -> Pending<'_, u64> {
        let stmt = Statement::raw(sql.into());
        Pending::on_database(self, |db| Box::pin(async move { Ok(db.execute(stmt).await?.rows_affected) }))
    }

    /// Runs a sea-query statement (the escape hatch) and returns the rows affected.
    pub fn execute_statement(&self, statement: &impl sea_query::QueryStatementWriter) -> Pending<'_, u64> {
        let stmt = self.dialect().and_then(|dialect| crate::query::build_statement(dialect, statement));
        Pending::on_database(self, |db| Box::pin(async move { Ok(db.execute(stmt?).await?.rows_affected) }))
    }

    /// Runs `block` as one unit of work: every ORM call inside it — on any model bound to
    /// this database — shares one connection and one transaction, without passing a handle.
    /// `Ok` commits; `Err` rolls back and is returned unchanged; a panic rolls back and
    /// resumes; dropping the future (a timeout, a cancelled request) rolls back. Nested inside
    /// another transaction of this database, it is a savepoint: its `Err` undoes only its own
    /// work.
    ///
    /// Tasks spawned inside the block (`tokio::spawn`) are not part of the transaction: they
    /// use connections of their own and do not see its uncommitted rows.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "accounts", db = DB)]
    /// # struct Account { #[duo(primary_key)] id: i64, owner: String, balance: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// let opened = DB
    ///     .transaction(async {
    ///         let a = Account::create(json!({"owner": "Ada", "balance": 100})).await?;
    ///         let b = Account::create(json!({"owner": "Bob", "balance": 0})).await?;
    ///         Ok((a.id, b.id))
    ///     })
    ///     .await?;
    /// assert_eq!(opened, (1, 2));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction<T>(&self, block: impl Future<Output = Result<T>>) -> Result<T> {
        self.transaction_as(block).await
    }

    /// [`transaction`](Self::transaction) for a block that only reads: one consistent view
    /// of the data, without taking a writer's place. PostgreSQL runs it as `BEGIN ISOLATION
    /// LEVEL REPEATABLE READ, READ ONLY` and MariaDB/MySQL as `START TRANSACTION READ ONLY`
    /// (repeatable read by default), so a write inside fails with the server's error; SQLite
    /// begins it without `IMMEDIATE`, so read-only blocks do not queue behind each other for
    /// the write lock (SQLite does not refuse a write there, but one may fail at once with
    /// BUSY instead of waiting). Nested inside another transaction it is a savepoint of that
    /// one, read-write if that one is; a read-write block nested in a read-only one fails on
    /// the servers at its first write.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "posts", db = DB)]
    /// # struct Post { #[duo(primary_key)] id: i64, title: String }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// let (count, first) = DB
    ///     .read_only_transaction(async { Ok((Post::count().await?, Post::first().await?)) })
    ///     .await?;
    /// assert_eq!((count, first.map(|p| p.id)), (0, None));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_only_transaction<T>(&self, block: impl Future<Output = Result<T>>) -> Result<T> {
        self.read_only_transaction_as(block).await
    }

    /// [`read_only_transaction`](Self::read_only_transaction) for a block with its own error
    /// type, as [`transaction_as`](Self::transaction_as) is for [`transaction`](Self::transaction).
    pub async fn read_only_transaction_as<T, E: From<Error>>(
        &self,
        block: impl Future<Output = std::result::Result<T, E>>,
    ) -> std::result::Result<T, E> {
        self.check_async()?;
        crate::transaction::run_block_with(self, crate::transaction::Access::ReadOnly, block).await
    }

    /// [`transaction`](Self::transaction) for a block that returns its own error type, such
    /// as a web handler's (`E: From<duo_orm::Error>`, so `?` works on ORM calls inside): `Ok`
    /// commits, `Err` rolls back and comes back unchanged, with no `duo_orm::Error` made up to
    /// carry it. The error type is usually inferred from where the result goes (a handler's
    /// return type); otherwise name it: `transaction_as::<_, AppError>(..)`.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "accounts", db = DB)]
    /// # struct Account { #[duo(primary_key)] id: i64, owner: String, balance: i64 }
    /// #[derive(Debug)]
    /// enum AppError {
    ///     Db(duo_orm::Error),
    ///     Overdrawn,
    /// }
    /// impl From<duo_orm::Error> for AppError {
    ///     fn from(error: duo_orm::Error) -> Self {
    ///         AppError::Db(error)
    ///     }
    /// }
    ///
    /// async fn withdraw(amount: i64) -> Result<i64, AppError> {
    ///     DB.transaction_as(async {
    ///         let mut account = Account::get(1).await?.ok_or(AppError::Overdrawn)?;
    ///         account.balance -= amount;
    ///         account.save().await?;
    ///         if account.balance < 0 {
    ///             return Err(AppError::Overdrawn); // rolls back the save above
    ///         }
    ///         Ok(account.balance)
    ///     })
    ///     .await
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// # Account::create(json!({"owner": "Ada", "balance": 100})).await?;
    /// assert!(matches!(withdraw(150).await, Err(AppError::Overdrawn)));
    /// assert_eq!(Account::get(1).await?.unwrap().balance, 100);
    /// assert_eq!(withdraw(30).await.unwrap(), 70);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction_as<T, E: From<Error>>(
        &self,
        block: impl Future<Output = std::result::Result<T, E>>,
    ) -> std::result::Result<T, E> {
        self.check_async()?;
        crate::transaction::run_block(self, block).await
    }

    /// The blocking form of [`transaction`](Self::transaction): ORM calls inside `block`
    /// (with `.wait()`) share one connection and one transaction.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "tags", db = DB)]
    /// # struct Tag { #[duo(primary_key)] id: i64, name: String }
    /// # fn main() -> duo_orm::Result<()> {
    /// DB.create_all().wait()?;
    /// let failed: Result<()> = DB.transaction_sync(|| {
    ///     Tag::create(json!({"name": "draft"})).wait()?;
    ///     Err(Error::validation("name", "changed my mind"))
    /// });
    /// assert!(failed.is_err());
    /// assert_eq!(Tag::query().count().wait()?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction_sync<T>(&self, block: impl FnOnce() -> Result<T>) -> Result<T> {
        crate::transaction::run_block_sync(self, block)
    }

    /// Begins an explicit transaction (a savepoint inside an ambient one): run operations in
    /// it with [`Pending::using`], then commit or roll it back. See [`Transaction`].
    pub fn begin(&self) -> Pending<'_, Transaction<'_>> {
        Transaction::begin(self)
    }

    /// Makes this database sync-only (DuoORM's `derive_async=False`): awaiting any of its
    /// operations is a configuration error; use `.wait()` and
    /// [`transaction_sync`](Self::transaction_sync).
    pub const fn sync_only(mut self) -> Self {
        self.sync_only = true;
        self
    }

    /// Fails when this database is sync-only.
    pub(crate) fn check_async(&self) -> Result<()> {
        if self.sync_only {
            return Err(Error::config(
                ConfigurationKind::Runtime,
                format!(
                    "this database ({self:?}) is sync-only (built with `Database::sync_only()`): \
                 use `.wait()` instead of `.await`, and `transaction_sync` instead of `transaction`"
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn engine(&self) -> Result<Arc<Engine>> {
        let mut slot = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(Engine::open(self.url()?, &self.options, self.log_values)?);
        *slot = Some(engine.clone());
        Ok(engine)
    }

    /// Runs `work` on the ambient transaction's connection when the caller is inside a
    /// transaction of this database, else on a pooled connection of `engine`.
    ///
    /// A caller on a tokio runtime runs the statement in place (no task hop, rows flow straight
    /// to it): on a server connection of its own runtime's pool, or on an idle connection of
    /// the I/O pool (SQLite). Otherwise the work runs on the I/O runtime, which opens new
    /// connections there. [`Leased`] decides where the connection goes back to its pool.
    async fn run<T, F, Fut>(&self, engine: Arc<Engine>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Engine>, Lease) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        if let Some(tx) = crate::transaction::current(self) {
            return work(engine, Lease::Transaction(tx.lock_for_statement().await?)).await;
        }
        if let Some(lease) = Self::acquire_in_place(&engine, true).await? {
            return work(engine, Lease::Pooled(lease)).await;
        }
        let handle = runtime().spawn(async move {
            let conn = engine.pool.acquire().await.map_err(|e| engine.connect_error(e))?;
            let lease = Leased::new(conn, &engine, true);
            work(engine, Lease::Pooled(lease)).await
        });
        join(handle).await
    }

    /// Whether an INSERT can hand back its rows here: every dialect but MySQL proper (MariaDB
    /// 10.5 and later can; the server is asked once).
    pub(crate) async fn insert_returns_rows(&self) -> Result<bool> {
        let dialect = self.dialect()?;
        if dialect != Dialect::MySql {
            return Ok(crate::dialect::insert_returns_row(dialect));
        }
        let engine = self.engine()?;
        if let Some(known) = engine.mariadb.get() {
            return Ok(*known);
        }
        // MariaDB 10.5 or later: `10.11.6-MariaDB-…` → 10 * 1000 + 11 ≥ 10005.
        let probe = Statement::raw(
            "SELECT CAST(VERSION() LIKE '%MariaDB%' AND \
             CAST(SUBSTRING_INDEX(VERSION(), '.', 1) AS UNSIGNED) * 1000 + \
             CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(VERSION(), '.', 2), '.', -1) AS UNSIGNED) >= 10005 AS SIGNED)"
                .into(),
        );
        let mariadb = self.fetch_scalar(probe).await? == Some(1);
        Ok(*engine.mariadb.get_or_init(|| mariadb))
    }

    /// A connection the caller may use where it runs. With `local`, a server connection of
    /// the caller's own runtime (opened there if none is idle). Otherwise an idle connection
    /// of the I/O pool, for a caller on a tokio runtime; any one (waiting, or opening a new
    /// one), for a `.wait()` driving the I/O runtime itself, since a connection opened there
    /// belongs to that runtime. `None`: the caller must go through the I/O runtime.
    ///
    /// Transactions never take a local connection: a `.wait()` inside one blocks its thread
    /// while the statement runs on the transaction's connection, and on a current-thread
    /// runtime nothing would then drive that connection's socket.
    async fn acquire_in_place(engine: &Arc<Engine>, local: bool) -> Result<Option<Leased>> {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return Ok(None) };
        if local && engine.runtime_local() && !crate::sync::driving_io_runtime() && handle.id() != runtime().handle().id() {
            // A server connection of this runtime's own pool: opened here if none is idle.
            // An idle one first: `try_acquire` skips the ping `acquire` sends before handing out
            // an idle connection.
            let pool = engine.local_pool(&handle)?;
            let (conn, checked) = match pool.try_acquire() {
                Some(conn) => (conn, false),
                None => (pool.acquire().await.map_err(|e| engine.connect_error(e))?, true),
            };
            return Ok(Some(Leased { conn: Some(conn), checked, in_flight: false, lost: false, home: Some(handle) }));
        }
        if let Some(conn) = engine.pool.try_acquire() {
            return Ok(Some(Leased::new(conn, engine, false)));
        }
        if crate::sync::driving_io_runtime() {
            let conn = engine.pool.acquire().await.map_err(|e| engine.connect_error(e))?;
            return Ok(Some(Leased::new(conn, engine, true)));
        }
        Ok(None)
    }

    /// Checks a connection out of `engine`'s pools: a local one with `local`, else one of the
    /// I/O pool (what a transaction takes).
    pub(crate) async fn acquire(engine: Arc<Engine>, local: bool) -> Result<Leased> {
        if let Some(lease) = Self::acquire_in_place(&engine, local).await? {
            return Ok(lease);
        }
        join(runtime().spawn(async move {
            let conn = engine.pool.acquire().await.map_err(|e| engine.connect_error(e))?;
            Ok(Leased::new(conn, &engine, true))
        }))
        .await
    }

    /// A pooled connection kept for the several statements of one operation (the hops of an
    /// eager load). A pool takes a connection back asynchronously, so a statement that follows
    /// another at once rarely finds it idle and would go through the I/O runtime; holding one
    /// connection costs at most one such trip per operation. `None` inside a transaction, whose
    /// connection every statement uses anyway, and off a tokio runtime, where statements run
    /// on the I/O runtime.
    pub(crate) async fn hold(&self) -> Result<Option<Held>> {
        if crate::transaction::current(self).is_some() || tokio::runtime::Handle::try_current().is_err() {
            return Ok(None);
        }
        let engine = self.engine()?;
        let lease = Self::acquire(engine.clone(), true).await?;
        Ok(Some(Held { engine, lease: Lease::Pooled(lease) }))
    }

    // Each statement's span is created here, in the caller's context, so it nests under the
    // caller's current span and reaches the caller's subscriber, wherever the work then runs.

    pub(crate) async fn fetch_all<M: Model>(&self, stmt: Statement) -> Result<Vec<M>> {
        self.fetch_decoded(stmt, M::meta().name, M::decode).await
    }

    /// Runs `stmt` and decodes each row with `decode` (`model` names the rows in decode errors).
    pub(crate) async fn fetch_decoded<T, D>(&self, stmt: Statement, model: &'static str, decode: D) -> Result<Vec<T>>
    where
        T: Send + 'static,
        D: Fn(&mut RowCursor<'_>) -> RowResult<T> + Send + Sync + 'static,
    {
        self.fetch_fold(stmt, model, Vec::new(), collect_rows(decode)).await
    }

    /// Runs `stmt` and folds its rows into `state` with `step`, as they arrive (no list of
    /// them in between).
    pub(crate) async fn fetch_fold<A, F>(&self, stmt: Statement, model: &'static str, state: A, step: F) -> Result<A>
    where
        A: Send + 'static,
        F: FnMut(&mut A, &mut RowCursor<'_>) -> Result<()> + Send + 'static,
    {
        let engine = self.engine()?;
        let span = engine.span(&stmt);
        self.run(engine, move |engine, mut conn| async move { engine.fetch_fold(&mut conn, stmt, span, model, state, step).await }).await
    }

    /// The first column of the last row of `stmt` (a `COUNT(*)`), as an integer.
    pub(crate) async fn fetch_scalar(&self, stmt: Statement) -> Result<Option<i64>> {
        self.fetch_fold(stmt, "scalar", None, |value, row| {
            *value = Some(row.next_column::<i64>()?);
            Ok(())
        })
        .await
    }

    /// Whether `stmt` returns a row.
    pub(crate) async fn fetch_exists(&self, stmt: Statement) -> Result<bool> {
        self.fetch_fold(stmt, "exists", false, |found, _| {
            *found = true;
            Ok(())
        })
        .await
    }

    pub(crate) async fn execute(&self, stmt: Statement) -> Result<Executed> {
        let engine = self.engine()?;
        let span = engine.span(&stmt);
        self.run(engine, move |engine, mut conn| async move { engine.execute(&mut conn, stmt, span).await }).await
    }
}

/// A connection held by one operation across its statements (see [`Database::hold`]).
pub(crate) struct Held {
    engine: Arc<Engine>,
    lease: Lease,
}

impl Database {
    /// A pooled connection of this database for one long operation (a migration run), even
    /// inside a transaction of it or off a tokio runtime.
    #[cfg(feature = "migrate")]
    pub(crate) async fn dedicated(&self) -> Result<Held> {
        let engine = self.engine()?;
        let lease = Self::acquire(engine.clone(), true).await?;
        Ok(Held { engine, lease: Lease::Pooled(lease) })
    }
}

#[cfg(feature = "migrate")]
impl Held {
    /// Runs trusted SQL text without parameters and returns the rows affected.
    pub(crate) async fn execute_raw(&mut self, sql: &str) -> Result<u64> {
        let stmt = Statement::raw(sql.to_string());
        let span = self.engine.span(&stmt);
        Ok(self.engine.execute(&mut self.lease, stmt, span).await?.rows_affected)
    }

    /// Runs `stmt` and returns the rows affected.
    pub(crate) async fn execute(&mut self, stmt: Statement) -> Result<u64> {
        let span = self.engine.span(&stmt);
        Ok(self.engine.execute(&mut self.lease, stmt, span).await?.rows_affected)
    }

    /// BEGIN (or `statement` instead), COMMIT or ROLLBACK on the held connection.
    pub(crate) async fn control(&mut self, control: Control) -> Result<()> {
        let leased = match &mut self.lease {
            Lease::Pooled(leased) => leased,
            Lease::Transaction(_) => return Err(Error::invalid(InvalidQueryKind::Internal, "a held connection is never a transaction's")),
        };
        let depth = leased.conn().transaction_depth();
        let nested = if matches!(control, Control::Begin(_)) { depth > 0 } else { depth > 1 };
        self.engine.control(leased, control, nested).await
    }

    /// Closes the connection when dropped instead of returning it to its pool: whatever
    /// session state it holds (a lock, a pragma, an unfinished transaction) ends with it.
    pub(crate) fn close_on_drop(&mut self) {
        if let Lease::Pooled(leased) = &mut self.lease {
            leased.close_on_drop();
        }
    }

    /// The dialect of the held connection.
    pub(crate) fn dialect(&self) -> Dialect {
        self.engine.url.dialect()
    }
}

impl Held {
    /// [`Database::fetch_decoded`] on the held connection.
    pub(crate) async fn fetch_decoded<T>(
        &mut self,
        stmt: Statement,
        model: &'static str,
        decode: impl Fn(&mut RowCursor<'_>) -> RowResult<T>,
    ) -> Result<Vec<T>> {
        self.fetch_fold(stmt, model, Vec::new(), collect_rows(decode)).await
    }

    /// [`Database::fetch_fold`] on the held connection.
    pub(crate) async fn fetch_fold<A>(
        &mut self,
        stmt: Statement,
        model: &'static str,
        state: A,
        step: impl FnMut(&mut A, &mut RowCursor<'_>) -> Result<()>,
    ) -> Result<A> {
        let span = self.engine.span(&stmt);
        self.engine.fetch_fold(&mut self.lease, stmt, span, model, state, step).await
    }
}

/// The fold step of `fetch_decoded`: each row decoded with `decode` and pushed to a list.
fn collect_rows<T>(decode: impl Fn(&mut RowCursor<'_>) -> RowResult<T>) -> impl FnMut(&mut Vec<T>, &mut RowCursor<'_>) -> Result<()> {
    move |rows, row| {
        rows.push(decode(row)?);
        Ok(())
    }
}

/// Awaits a task of the I/O runtime, resuming its panic in the caller.
async fn join<T>(handle: tokio::task::JoinHandle<Result<T>>) -> Result<T> {
    match handle.await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(Error::Io(std::io::Error::other(join.to_string()))),
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let engine = self.engine.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(engine) = engine {
            runtime().spawn(async move { engine.close().await });
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match &self.source {
            Source::Static(url) => redact(url),
            Source::Owned(url) => redact(url),
            Source::Env { var, default } => format!("${var} (default {})", redact(default)),
        };
        f.debug_struct("Database")
            .field("url", &url)
            .field("expected_dialect", &self.expected)
            .field("options", &self.options)
            .field("connected", &self.engine.lock().unwrap_or_else(PoisonError::into_inner).is_some())
            .finish()
    }
}

/// A model bound to a `static` database, registered by `#[derive(Model)]`.
#[doc(hidden)]
pub struct Registration {
    pub meta: fn() -> &'static ModelMeta,
    pub database: fn() -> Option<&'static Database>,
}
inventory::collect!(Registration);

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
    pool: Pool,
    /// Server connections opened on the caller's own runtime, one pool per runtime: a socket
    /// driven by the runtime that reads it saves a cross-runtime wake-up per read (5–20 % of a
    /// large result). A pool goes when its runtime shuts down.
    local: std::sync::Mutex<std::collections::HashMap<tokio::runtime::Id, (tokio::runtime::Handle, Pool)>>,
    options: PoolOptions,
    log_values: bool,
    /// Whether a MySQL-dialect server is MariaDB (which has `INSERT … RETURNING`), once asked.
    mariadb: OnceLock<bool>,
}

#[derive(Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

impl Pool {
    fn try_acquire(&self) -> Option<Conn> {
        match self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.try_acquire().map(Conn::Sqlite),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.try_acquire().map(Conn::Postgres),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.try_acquire().map(Conn::MySql),
        }
    }

    async fn acquire(&self) -> Result<Conn, sqlx::Error> {
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
    async fn why_no_connection(&self) -> sqlx::Error {
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
    conn: Option<Conn>,
    /// Whether the pool checked this connection (a ping, or a fresh connect) for this use. An
    /// idle connection taken without one may have been closed by the server meanwhile.
    checked: bool,
    /// Whether a statement is under way on it. Dropped then (a cancelled caller), a server
    /// connection's state is unknown (a request half written, an answer unread), so it is
    /// closed instead of going back to the pool. (SQLite's driver finishes or rolls back each
    /// command on its own thread, so its connections need not be, and an in-memory database
    /// must not be: the connection is the data.)
    in_flight: bool,
    /// Whether the server closed this connection under a transaction: nothing of it commits.
    lost: bool,
    /// The runtime the connection goes back to its pool on: its own pool's runtime, the I/O
    /// runtime for the I/O pool, `None` for a connection bound to no runtime (file SQLite),
    /// which goes back on the caller's.
    home: Option<tokio::runtime::Handle>,
}

impl Leased {
    fn new(conn: Conn, engine: &Engine, checked: bool) -> Self {
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
    fn start(&mut self) -> Result<&mut Conn> {
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
    fn finish(&mut self, answered: bool) {
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
use each_conn;

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

fn not_compiled(dialect: Dialect) -> Error {
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

/// Removes the password of `url` from a driver message, wherever the driver put it.
fn scrub(message: String, url: &str) -> String {
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
    fn open(url: DatabaseUrl, options: &PoolOptions, log_values: bool) -> Result<Self> {
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
    fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Result<Pool> {
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
    fn local_pool(self: &Arc<Self>, handle: &tokio::runtime::Handle) -> Result<Pool> {
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
    fn runtime_local(&self) -> bool {
        self.url.dialect() != Dialect::Sqlite
    }

    /// Whether this database's connections are bound to no runtime, so any runtime may open,
    /// use and return them: file SQLite (a thread and channels per connection). In-memory
    /// SQLite is excluded: its one connection is the data, and must never be closed by a
    /// runtime that shuts down.
    fn runtime_free(&self) -> bool {
        self.url.dialect() == Dialect::Sqlite && !self.url.is_sqlite_memory()
    }

    fn span(&self, stmt: &Statement) -> tracing::Span {
        let span = self.sql_span(&stmt.sql);
        if self.log_values {
            span.record("db.values", tracing::field::debug(&stmt.values.0));
        }
        span
    }

    fn sql_span(&self, sql: &str) -> tracing::Span {
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
    async fn traced<T>(span: tracing::Span, rows: impl Fn(&T) -> u64, work: impl Future<Output = Result<T>>) -> Result<T> {
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
    async fn close(&self) {
        let local: Vec<_> = self.local.lock().unwrap_or_else(PoisonError::into_inner).drain().map(|(_, local)| local).collect();
        for (handle, pool) in local {
            handle.spawn(async move { pool.close().await });
        }
        self.pool.close().await;
    }
}

impl Pool {
    async fn close(&self) {
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
    fn check_bindable(&self, stmt: &Statement) -> Result<()> {
        let dialect = self.url.dialect();
        if dialect != Dialect::Postgres && stmt.values.0.iter().any(|v| matches!(v, sea_query::Value::Array(..))) {
            return Err(Error::unsupported(dialect, "an array value (arrays are PostgreSQL's); store the list as `Json<Vec<T>>`"));
        }
        Ok(())
    }

    /// A failure to open a connection, saying where it tried (the URL shows the host, port and
    /// database, never the password) and why, the server's refusal (unknown database, bad
    /// credentials) included.
    fn connect_error(&self, e: sqlx::Error) -> Error {
        Error::config(
            ConfigurationKind::Connect,
            scrub(
                format!("cannot connect to {} at `{}`: {}", self.url.dialect(), self.url, crate::error::driver_message(&e)),
                self.url.driver_url(),
            ),
        )
    }

    /// Runs `stmt` on `conn` and folds each row into `state` with `step` as it arrives.
    async fn fetch_fold<A>(
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

    async fn execute(&self, conn: &mut Lease, stmt: Statement, span: tracing::Span) -> Result<Executed> {
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
    async fn spare(&self, conn: &mut Lease, stmt: &Statement) -> Result<Option<Statement>> {
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
    fn lost(&self, conn: &mut Lease, error: sqlx::Error) -> Error {
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
use resending;

/// The largest statement kept whole for a second attempt (bound values, SQL bytes); larger
/// ones ping their connection first instead of being copied.
const SPARE_VALUES: usize = 1024;
const SPARE_SQL: usize = 64 * 1024;

/// How one attempt at a statement failed.
enum Failure {
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
    fn driver(error: sqlx::Error, delivered: u64) -> Self {
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
fn control_error(control: Control, nested: bool, error: sqlx::Error) -> Error {
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
