//! [`Database`]: configuration, lazy pools, the model registry and statement execution.
//! `engine.rs` runs statements on the pools; `conn.rs` holds the leased connections. What
//! differs between client libraries is `crate::driver`'s.
//!
//! # Why a runtime of its own
//! A server connection belongs to the tokio runtime that opened it and fails once it shuts down;
//! dropping a pooled connection outside any runtime panics. A `static DB` used from several
//! `#[tokio::test]` functions (each with its own runtime) or from sync code would therefore
//! break. duo-orm runs every pool on one process-wide I/O runtime that is never shut down:
//! callers, whatever their runtime (or none), await a task handle, which works anywhere.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use tracing::Instrument;

use crate::config::{DatabaseUrl, PoolOptions, redact, scrub};
use crate::dialect::{Dialect, Statement};
use crate::driver::{Conn, Failure, Pool};
use crate::error::{ConfigurationKind, DriverError, Error, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta};
use crate::pending::Pending;
use crate::transaction::{Transaction, TxConn};
use crate::types::{RowCursor, RowResult};

mod conn;
mod engine;
mod pool;

use conn::*;
use pool::ConnPool;

pub(crate) use crate::driver::{Control, Executed};
pub(crate) use conn::Leased;
pub(crate) use engine::{Engine, IO_THREAD_NAME, runtime};

/// Where a [`Database`] finds its URL.
#[derive(Clone)]
enum Source {
    Static(&'static str),
    Owned(String),
    Env {
        var: &'static str,
        default: &'static str,
    },
    /// A driver's pool that no URL chooses (the mock's): `url` names its dialect, and every
    /// engine of this database, after a `disconnect` too, runs on `pool`.
    #[cfg(feature = "mock")]
    Pool {
        url: &'static str,
        pool: Pool,
        mariadb: bool,
    },
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
            #[cfg(feature = "mock")]
            Source::Pool { url, .. } => std::borrow::Cow::Borrowed(*url),
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
        crate::ddl::dependency_order(metas)
    }

    /// Creates the tables of every bound model that does not exist yet, in foreign-key order,
    /// after the PostgreSQL enum types they use (`#[duo(postgres_enum = "…")]`). For demos and
    /// tests; use migrations for real schemas.
    pub fn create_all(&self) -> Pending<'_, ()> {
        Pending::on_database(self, |db| {
            Box::pin(async move {
                let dialect = db.dialect()?;
                for sql in crate::ddl::create_all_sql(&db.models(), dialect, true)? {
                    db.execute(Statement::raw(sql)).await?;
                }
                Ok(())
            })
        })
    }

    /// Drops the tables of every bound model, referencing tables first, then the PostgreSQL
    /// enum types they used.
    pub fn drop_all(&self) -> Pending<'_, ()> {
        Pending::on_database(self, |db| {
            Box::pin(async move {
                let dialect = db.dialect()?;
                for sql in crate::ddl::drop_all_sql(&db.models(), dialect, true)? {
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
        let options = crate::transaction::Options { access: crate::transaction::Access::ReadOnly, ..Default::default() };
        crate::transaction::run_block_with(self, options, block).await.result
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

    /// [`transaction`](Self::transaction) for a block given as a closure that makes its
    /// future, so that it can run again: set an isolation level, or let the block run again
    /// when it loses to a concurrent transaction (see [`TransactionBlock`](crate::TransactionBlock)), then `.await`.
    /// (Rust names the closure-taking form of a call `…_with`, as in `Option::get_or_insert_with`.)
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// use duo_orm::transaction::{Isolation, Retry};
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "accounts", db = DB)]
    /// # struct Account { #[duo(primary_key)] id: i64, balance: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// # Account::create(json!({"balance": 100})).await?;
    /// # Account::create(json!({"balance": 0})).await?;
    /// let (from, to, amount) = (1, 2, 30);
    /// DB.transaction_with(|| async move {
    ///     Account::filter(|a| a.id.eq(from)).set(|a| a.balance.to(a.balance.minus(amount))).await?;
    ///     Account::filter(|a| a.id.eq(to)).set(|a| a.balance.to(a.balance.plus(amount))).await?;
    ///     Ok(())
    /// })
    /// .isolation(Isolation::Serializable)
    /// .retry(Retry::attempts(5))
    /// .await?;
    /// assert_eq!(Account::get(2).await?.unwrap().balance, 30);
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction_with<F, Fut, T>(&self, block: F) -> crate::transaction::TransactionBlock<'_, F>
    where
        F: FnMut() -> Fut,
        Fut: std::future::IntoFuture<Output = Result<T>>,
    {
        crate::transaction::TransactionBlock::new(self, block)
    }

    /// [`transaction_with`](Self::transaction_with) for a block that returns its own error
    /// type, as [`transaction_as`](Self::transaction_as) is for
    /// [`transaction`](Self::transaction): `E: From<duo_orm::Error>`, usually inferred from
    /// where the result goes. What the block lost to (a conflict, a changed versioned row) is
    /// seen on its transaction, so `.retry(..)` works whatever the error type.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "stock", db = DB)]
    /// # struct Stock { #[duo(primary_key)] id: i64, left: i64 }
    /// #[derive(Debug)]
    /// enum AppError {
    ///     Db(duo_orm::Error),
    ///     SoldOut,
    /// }
    /// impl From<duo_orm::Error> for AppError {
    ///     fn from(error: duo_orm::Error) -> Self {
    ///         AppError::Db(error)
    ///     }
    /// }
    ///
    /// async fn take_one(id: i64) -> Result<i64, AppError> {
    ///     DB.transaction_with_as(|| async move {
    ///         let mut stock = Stock::filter(|s| s.id.eq(id)).for_update().one().await?;
    ///         if stock.left == 0 {
    ///             return Err(AppError::SoldOut);
    ///         }
    ///         stock.left -= 1;
    ///         stock.save().await?;
    ///         Ok(stock.left)
    ///     })
    ///     .retry(duo_orm::Retry::default())
    ///     .await
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// # Stock::create(json!({"left": 1})).await?;
    /// assert_eq!(take_one(1).await.unwrap(), 0);
    /// assert!(matches!(take_one(1).await, Err(AppError::SoldOut)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction_with_as<F, Fut, T, E>(&self, block: F) -> crate::transaction::TransactionBlock<'_, F>
    where
        F: FnMut() -> Fut,
        Fut: std::future::IntoFuture<Output = std::result::Result<T, E>>,
        E: From<Error>,
    {
        crate::transaction::TransactionBlock::new(self, block)
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

    /// A database at `url` whose statements go to `pool`, a driver's pool that the URL does not
    /// choose (the mock's). `mariadb` answers, for a MySQL URL, whether the server is MariaDB,
    /// which duo-orm would otherwise ask the server.
    #[cfg(feature = "mock")]
    pub(crate) fn on_pool(url: &'static str, pool: Pool, mariadb: bool) -> Database {
        Self::with_source(Source::Pool { url, pool, mariadb })
    }

    pub(crate) fn engine(&self) -> Result<Arc<Engine>> {
        let mut slot = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        #[cfg(feature = "mock")]
        if let Source::Pool { pool, mariadb, .. } = &self.source {
            let engine = Engine::with_pool(self.url()?, pool.clone(), &self.options, self.log_values);
            let _ = engine.mariadb.set(*mariadb);
            let engine = Arc::new(engine);
            *slot = Some(engine.clone());
            return Ok(engine);
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
            let lease = engine.pool.take().await.map_err(|e| engine.connect_error(e))?;
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
            // A kept or idle one first: `try_take` skips the ping `take` has the pool send
            // before handing out an idle connection.
            let pool = engine.local_pool(&handle)?;
            return match pool.try_take() {
                Some(lease) => Ok(Some(lease)),
                None => Ok(Some(pool.take().await.map_err(|e| engine.connect_error(e))?)),
            };
        }
        if let Some(lease) = engine.pool.try_take() {
            return Ok(Some(lease));
        }
        if crate::sync::driving_io_runtime() {
            return Ok(Some(engine.pool.take().await.map_err(|e| engine.connect_error(e))?));
        }
        Ok(None)
    }

    /// Checks a connection out of `engine`'s pools: a local one with `local`, else one of the
    /// I/O pool (what a transaction takes).
    pub(crate) async fn acquire(engine: Arc<Engine>, local: bool) -> Result<Leased> {
        if let Some(lease) = Self::acquire_in_place(&engine, local).await? {
            return Ok(lease);
        }
        join(runtime().spawn(async move { engine.pool.take().await.map_err(|e| engine.connect_error(e)) })).await
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
            #[cfg(feature = "mock")]
            Source::Pool { url, .. } => format!("{url} (mock)"),
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
