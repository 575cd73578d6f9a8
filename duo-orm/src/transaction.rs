//! Units of work: ambient transactions, savepoints and the explicit [`Transaction`] handle.
//!
//! # How the ambient transaction is found
//! [`Database::transaction`] runs its block inside a tokio task-local scope that holds the
//! transaction's connection. Every statement looks that scope up (by database) before it
//! takes a connection of its own, so ORM calls inside the block join the transaction without
//! a handle. A sync block ([`Database::transaction_sync`]) keeps the same state in a
//! thread-local, and `.wait()` carries it into the scope of the future it blocks on.
//!
//! Tasks spawned inside a block start outside that scope: they run on their own connections
//! and do not see the block's uncommitted rows.
//!
//! # Why the connection cannot leak an open transaction
//! The connection lives in `TxConn`, shared by the block's frames and by any statement in
//! flight. When the last of them is dropped — whatever the reason: commit, error, panic or a
//! cancelled future — `TxConn`'s `Drop` queues a rollback of every level still open before the
//! connection goes back to its pool, and the pool flushes queued rollbacks before it hands the
//! connection out again.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::FutureExt;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::database::{Control, Database, Engine, Leased};
use crate::error::{ConfigurationKind, Error, InvalidQueryKind, Result};
use crate::pending::Pending;

tokio::task_local! {
    /// The transactions open in the current task, innermost last.
    static AMBIENT: Ambient;
}

thread_local! {
    /// The transactions opened by `transaction_sync` on this thread, innermost last.
    static SYNC_AMBIENT: std::cell::RefCell<Ambient> = const { std::cell::RefCell::new(Ambient(Vec::new())) };
}

/// The open transactions visible to the code running now: per database, the transaction and
/// the innermost level (frame) of it that the code runs in.
#[derive(Clone, Default)]
pub(crate) struct Ambient(Vec<(Arc<TxShared>, FrameId)>);

/// Identifies one level of a transaction. Ids grow, so a later (inner) level has a larger one.
type FrameId = u64;

fn next_frame_id() -> FrameId {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Ambient {
    /// What the current task or thread sees: the task-local scope and the sync blocks open on
    /// this thread, the innermost level winning for each database.
    pub(crate) fn current() -> Ambient {
        let scoped = AMBIENT.try_with(Ambient::clone).unwrap_or_default();
        SYNC_AMBIENT.with(|sync| scoped.merged_with_sync(&sync.borrow()))
    }

    fn find(&self, database: &Database) -> Option<(Arc<TxShared>, FrameId)> {
        let id = database_id(database);
        self.0.iter().find(|(tx, _)| tx.database == id).cloned()
    }

    /// This ambient with `tx` at level `frame`: a new level of the transaction it already
    /// sees for that database, or that database's transaction.
    fn with(&self, tx: Arc<TxShared>, frame: FrameId) -> Ambient {
        let mut out = self.0.clone();
        match out.iter_mut().find(|(t, _)| t.database == tx.database) {
            Some(entry) => *entry = (tx, frame),
            None => out.push((tx, frame)),
        }
        Ambient(out)
    }

    /// Adds what a sync block of this thread sees: for a database this ambient already has a
    /// transaction of, only an inner level of that same transaction (the scoped one wins over
    /// another transaction, e.g. an explicit handle given with `using`).
    fn merged_with_sync(mut self, sync: &Ambient) -> Ambient {
        for (tx, frame) in &sync.0 {
            match self.0.iter_mut().find(|(t, _)| t.database == tx.database) {
                Some(entry) if Arc::ptr_eq(&entry.0, tx) && entry.1 < *frame => entry.1 = *frame,
                Some(_) => {}
                None => self.0.push((tx.clone(), *frame)),
            }
        }
        self
    }

    /// Refuses a blocking call on a runtime thread while `database`'s transaction here has its
    /// connection taken: the taker can only be another future of the same task, which cannot
    /// run while the thread blocks, so waiting would never end.
    pub(crate) fn check_blocking(&self, database: &Database) -> Result<()> {
        let taken = self.find(database).is_some_and(|(tx, _)| tx.conn.try_lock().is_err());
        if taken && tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::config(
                ConfigurationKind::Runtime,
                "`.wait()` / `transaction_sync` would never return: another future of this task holds \
                 the transaction's connection (e.g. an ORM call joined with this one) and cannot run \
                 while this thread blocks; use `.await` here",
            ));
        }
        Ok(())
    }

    /// Runs `future` with this as its ambient state.
    pub(crate) async fn scope<F: Future>(self, future: F) -> F::Output {
        AMBIENT.scope(self, future).await
    }
}

fn database_id(database: &Database) -> usize {
    database as *const Database as usize
}

/// The transaction of `database` that the running code is inside, if any (task-local scope or
/// sync block, the innermost level winning).
pub(crate) fn current(database: &Database) -> Option<Arc<TxShared>> {
    // Levels of one transaction share its connection: which level wins does not matter here,
    // only which transaction, and a scoped one wins over a sync block's.
    AMBIENT
        .try_with(|ambient| ambient.find(database))
        .ok()
        .flatten()
        .or_else(|| SYNC_AMBIENT.with(|sync| sync.borrow().find(database)))
        .map(|(tx, _)| tx)
}

/// One transaction's connection, shared by its frames (nested savepoints included) and the
/// statements running in it.
pub(crate) struct TxShared {
    database: usize,
    engine: Arc<Engine>,
    conn: Arc<Mutex<TxConn>>,
    /// A savepoint could not be rolled back (its block was cancelled while a statement held
    /// the connection), or levels overlapped: the transaction must not commit.
    broken: AtomicBool,
    /// The open levels, outermost first. Only the innermost may begin a level or end.
    levels: std::sync::Mutex<Vec<FrameId>>,
}

impl TxShared {
    fn levels(&self) -> std::sync::MutexGuard<'_, Vec<FrameId>> {
        self.levels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The connection of an open transaction; `None` once the transaction has ended.
pub(crate) struct TxConn(Option<Leased>);

impl TxConn {
    pub(crate) fn lease(&mut self) -> Result<&mut Leased> {
        self.0.as_mut().ok_or_else(|| {
            Error::invalid(InvalidQueryKind::Transaction, "this transaction has already ended (committed or rolled back); start a new one")
        })
    }
}

impl Drop for TxConn {
    fn drop(&mut self) {
        if let Some(mut lease) = self.0.take() {
            if lease.cut_short() || lease.lost() {
                // Cut short mid-statement: the lease closes the connection as it drops, and
                // the server rolls the transaction back with it.
                return;
            }
            // Ended without a commit or rollback (a cancelled or panicking block): roll every
            // open level back before the connection returns to the pool.
            lease.conn().abandon();
        }
    }
}

impl TxShared {
    /// Locks the connection.
    async fn lock(self: &Arc<Self>) -> OwnedMutexGuard<TxConn> {
        self.conn.clone().lock_owned().await
    }

    /// Locks the connection for one statement of the transaction. A broken transaction runs
    /// none: its connection may have left the transaction (a driver rolls all of it back when
    /// opening a savepoint is cancelled), and a statement there would commit by itself.
    pub(crate) async fn lock_for_statement(self: &Arc<Self>) -> Result<OwnedMutexGuard<TxConn>> {
        let guard = self.lock().await;
        if self.broken.load(Ordering::SeqCst) {
            return Err(broken_error());
        }
        Ok(guard)
    }
}

/// One level of a transaction: the transaction itself (depth 1) or a savepoint in it.
struct Frame {
    shared: Arc<TxShared>,
    id: FrameId,
    /// 1 for the transaction, 2 and more for savepoints.
    depth: usize,
    ended: bool,
}

/// How a frame ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Commit,
    Rollback,
}

impl Frame {
    /// Opens a transaction on `database`, or a savepoint when `ambient` already holds one.
    async fn begin(database: &Database, ambient: &Ambient, access: Access) -> Result<Frame> {
        if let Some((shared, parent)) = ambient.find(database) {
            let mut guard = shared.lock_for_statement().await?;
            let leased = guard.lease()?;
            let id = next_frame_id();
            let depth = {
                let mut levels = shared.levels();
                if levels.last() != Some(&parent) {
                    // A sibling level is open: the two would interleave their writes, and one's
                    // rollback would undo the other's. Refuse this one; the other goes on.
                    return Err(overlap());
                }
                levels.push(id);
                levels.len()
            };
            let mut opening = OpeningLevel { shared: &shared, id, settled: false };
            let opened = shared.engine.control(leased, Control::Begin(None), true).await;
            opening.settled = true;
            if let Err(error) = opened {
                shared.levels().retain(|level| *level != id);
                return Err(error);
            }
            drop(opening);
            drop(guard);
            return Ok(Frame { shared, id, depth, ended: false });
        }
        let engine = database.engine()?;
        let mut lease = Database::acquire(engine.clone(), false).await?;
        // SQLite: take the write lock at BEGIN, so concurrent writers queue (busy timeout)
        // instead of failing when a reader upgrades to a writer; a read-only block takes no
        // lock, so readers are not serialised. The servers enforce read-only themselves.
        let statement = match (engine.url.dialect(), access) {
            (crate::Dialect::Sqlite, Access::ReadWrite) => Some("BEGIN IMMEDIATE"),
            (crate::Dialect::Sqlite, Access::ReadOnly) => Some("BEGIN DEFERRED"),
            // Repeatable read: one snapshot for the whole block, as MySQL's default level and
            // a SQLite read transaction give (a read-only one never fails to serialise).
            (crate::Dialect::Postgres, Access::ReadOnly) => Some("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            (crate::Dialect::MySql, Access::ReadOnly) => Some("START TRANSACTION READ ONLY"),
            _ => None,
        };
        // Cancelled while BEGIN is in flight, the lease closes the connection as it drops: the
        // server may have begun a transaction that the driver does not count yet (sqlx counts
        // it only once BEGIN answers, on MySQL), which the pool's next user would run inside.
        let begin = Control::Begin(statement);
        if let Err(error) = engine.control(&mut lease, begin, false).await {
            // An idle connection the server had closed: BEGIN goes again on a checked one.
            if !(matches!(error, Error::ConnectionLost { .. }) && engine.may_reconnect(&lease)) {
                return Err(error);
            }
            engine.reconnect(&mut lease).await?;
            engine.control(&mut lease, begin, false).await?;
        }
        let id = next_frame_id();
        let shared = Arc::new(TxShared {
            database: database_id(database),
            engine,
            conn: Arc::new(Mutex::new(TxConn(Some(lease)))),
            broken: AtomicBool::new(false),
            levels: std::sync::Mutex::new(vec![id]),
        });
        Ok(Frame { shared, id, depth: 1, ended: false })
    }

    /// Commits (or releases the savepoint) or rolls back this level.
    async fn end(mut self, how: End) -> Result<()> {
        let outcome = self.finish(how).await;
        // Only now: if `finish` was cancelled part-way, `Drop` must see an unended level.
        self.ended = true;
        outcome
    }

    async fn finish(&self, how: End) -> Result<()> {
        let mut guard = self.shared.lock().await;
        let innermost = {
            let mut levels = self.shared.levels();
            let innermost = levels.last() == Some(&self.id);
            levels.retain(|level| *level != self.id);
            innermost
        };
        let lease = guard.lease()?;
        let engine = &self.shared.engine;
        let nested = self.depth > 1;
        if !innermost {
            // Levels ended out of order (overlapping blocks): no savepoint can be trusted.
            self.shared.broken.store(true, Ordering::SeqCst);
            return Err(overlap());
        }
        let broken = self.shared.broken.load(Ordering::SeqCst);
        if broken && nested {
            // The connection's state is unknown: send nothing; the outermost level rolls back.
            return match how {
                End::Commit => Err(broken_error()),
                End::Rollback => Ok(()),
            };
        }
        let mut outcome = match how {
            End::Commit if broken && !nested => {
                let _ = engine.control(lease, Control::Rollback, nested).await;
                Err(broken_error())
            }
            End::Commit => engine.control(lease, Control::Commit, nested).await,
            End::Rollback => engine.control(lease, Control::Rollback, nested).await,
        };
        if !nested {
            // The transaction is over: return the connection now, unless it may still be in
            // one, in which case it is closed instead (discarding whatever it holds).
            if let Some(mut lease) = guard.0.take() {
                let still_open = lease.conn().transaction_depth() > 0;
                if outcome.is_ok() && still_open && how == End::Commit {
                    outcome = Err(Error::invalid(
                        InvalidQueryKind::Transaction,
                        "COMMIT did not end the transaction (a savepoint was left open); the connection \
                         was closed and the transaction discarded",
                    ));
                }
                if outcome.is_err() || still_open {
                    lease.close_on_drop();
                }
            }
        }
        outcome
    }
}

fn broken_error() -> Error {
    Error::invalid(
        InvalidQueryKind::Transaction,
        "a nested transaction of this transaction was cancelled while it talked to the database, or \
         nested transactions overlapped, so the whole transaction was rolled back",
    )
}

/// A savepoint being opened. Dropped before the SAVEPOINT statement came back (its block was
/// cancelled), nobody knows whether it exists: the level is forgotten and the transaction
/// refuses to commit.
struct OpeningLevel<'a> {
    shared: &'a TxShared,
    id: FrameId,
    settled: bool,
}

impl Drop for OpeningLevel<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.shared.levels().retain(|level| *level != self.id);
            self.shared.broken.store(true, Ordering::SeqCst);
        }
    }
}

fn overlap() -> Error {
    Error::invalid(
        InvalidQueryKind::Transaction,
        "nested transactions of one database ran concurrently (e.g. joined futures); run nested \
         transactions one after another",
    )
}

impl Drop for Frame {
    fn drop(&mut self) {
        if self.ended || self.depth == 1 {
            // The outermost level is rolled back by `TxConn` once nobody uses it any more.
            return;
        }
        // A savepoint whose block was cancelled: roll it back now if the connection is free
        // and it is the innermost level.
        let innermost = {
            let mut levels = self.shared.levels();
            let innermost = levels.last() == Some(&self.id);
            levels.retain(|level| *level != self.id);
            innermost
        };
        let rolled_back = innermost
            && match self.shared.conn.try_lock() {
                Ok(mut guard) => match guard.lease() {
                    Ok(lease) => {
                        lease.conn().start_rollback();
                        true
                    }
                    Err(_) => false,
                },
                Err(_) => false,
            };
        if !rolled_back {
            self.shared.broken.store(true, Ordering::SeqCst);
        }
    }
}

/// Runs `block` inside a transaction (or a savepoint): `Ok` commits, `Err` rolls back and
/// is returned unchanged, a panic rolls back and resumes.
/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    /// `BEGIN READ ONLY` where the server has it; on SQLite a plain (deferred) `BEGIN`.
    ReadOnly,
}

pub(crate) async fn run_block<T, E: From<Error>>(
    database: &Database,
    block: impl Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    run_block_with(database, Access::ReadWrite, block).await
}

/// [`run_block`] with the access the outermost level asks for (a nested level is a
/// savepoint of its parent, whatever its access).
pub(crate) async fn run_block_with<T, E: From<Error>>(
    database: &Database,
    access: Access,
    block: impl Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    let ambient = Ambient::current();
    let frame = Frame::begin(database, &ambient, access).await?;
    let inner = ambient.with(frame.shared.clone(), frame.id);
    let outcome = inner.scope(AssertUnwindSafe(block).catch_unwind()).await;
    let ended = frame.end(End::after(&outcome)).await;
    conclude(outcome, ended)
}

/// The blocking twin of [`run_block`].
pub(crate) fn run_block_sync<T>(database: &Database, block: impl FnOnce() -> Result<T>) -> Result<T> {
    let ambient = Ambient::current();
    ambient.check_blocking(database)?;
    let frame = crate::sync::block_on(Frame::begin(database, &ambient, Access::ReadWrite))??;
    let inner = ambient.with(frame.shared.clone(), frame.id);
    let outer = SYNC_AMBIENT.with(|a| a.replace(inner));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(block));
    SYNC_AMBIENT.with(|a| a.replace(outer));
    let how = End::after(&outcome);
    let ended = crate::sync::block_on(frame.end(how)).and_then(|ended| ended);
    conclude(outcome, ended)
}

impl End {
    /// Commit after `Ok`; roll back after an error or a panic.
    fn after<T, E>(outcome: &std::thread::Result<std::result::Result<T, E>>) -> End {
        if matches!(outcome, Ok(Ok(_))) { End::Commit } else { End::Rollback }
    }
}

/// The block's result once its level has ended: a failed commit is the error; after an
/// error the block's own error wins; a panic resumes.
fn conclude<T, E: From<Error>>(outcome: std::thread::Result<std::result::Result<T, E>>, ended: Result<()>) -> std::result::Result<T, E> {
    match outcome {
        Ok(Ok(value)) => ended.map(|()| value).map_err(E::from),
        Ok(Err(error)) => {
            if let Err(rollback) = ended {
                tracing::warn!(%rollback, "rolling back after an error failed; the connection was closed");
            }
            Err(error)
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// An explicit transaction: run operations in it with [`Pending::using`], then
/// [`commit`](Transaction::commit) or [`rollback`](Transaction::rollback). Dropped without
/// either, it rolls back.
///
/// ```
/// # use duo_orm::prelude::*;
/// # static DB: Database = Database::from_url("sqlite::memory:");
/// # #[derive(Model, Debug)]
/// # #[duo(table = "notes", db = DB)]
/// # struct Note { #[duo(primary_key)] id: i64, text: String }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> duo_orm::Result<()> {
/// # DB.create_all().await?;
/// let tx = DB.begin().await?;
/// let note = Note::create(json!({"text": "draft"})).using(&tx).await?;
/// assert_eq!(Note::query().count().using(&tx).await?, 1);
/// tx.rollback().await?;
/// assert!(Note::get(note.id).await?.is_none());
/// # Ok(())
/// # }
/// ```
pub struct Transaction<'db> {
    database: &'db Database,
    frame: Option<Frame>,
    ambient: Ambient,
}

impl<'db> Transaction<'db> {
    pub(crate) fn begin(database: &'db Database) -> Pending<'db, Transaction<'db>> {
        Pending::on_database(database, move |db| {
            Box::pin(async move {
                let ambient = Ambient::current();
                let frame = Frame::begin(db, &ambient, Access::ReadWrite).await?;
                let ambient = ambient.with(frame.shared.clone(), frame.id);
                Ok(Transaction { database: db, frame: Some(frame), ambient })
            })
        })
    }

    /// The database this transaction runs on.
    pub fn database(&self) -> &'db Database {
        self.database
    }

    pub(crate) fn ambient(&self) -> Ambient {
        self.ambient.clone()
    }

    /// Commits the transaction (or releases its savepoint).
    pub fn commit(self) -> Pending<'db, ()> {
        self.end(End::Commit)
    }

    /// Rolls the transaction (or its savepoint) back.
    pub fn rollback(self) -> Pending<'db, ()> {
        self.end(End::Rollback)
    }

    fn end(mut self, how: End) -> Pending<'db, ()> {
        let frame = self.frame.take().expect("a transaction holds its frame until it ends");
        Pending::on_database(self.database, move |_| Box::pin(frame.end(how)))
    }
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("depth", &self.frame.as_ref().map(|f| f.depth)).finish()
    }
}
