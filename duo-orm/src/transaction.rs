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
use crate::dialect::Dialect;
use crate::error::{ConfigurationKind, ConflictKind, Error, InvalidQueryKind, Result};
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

/// `error`, noted on the transaction of `database` the running code is inside, if any (see
/// [`TxConn::note_failure`]): for an error duo-orm finds between statements.
pub(crate) async fn noted(database: &Database, error: Error) -> Error {
    if let Some(tx) = current(database) {
        tx.lock().await.note_failure(tx.engine.url.dialect(), &error, false);
    }
    error
}

/// The access of the transaction of `database` that the running code is inside, if any.
pub(crate) fn current_access(database: &Database) -> Option<Access> {
    current(database).map(|tx| tx.access)
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
    /// What the outermost level asked for (nested levels share it).
    access: Access,
    /// The isolation level the outermost level asked for, if any.
    isolation: Option<Isolation>,
}

impl TxShared {
    fn levels(&self) -> std::sync::MutexGuard<'_, Vec<FrameId>> {
        self.levels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The connection of an open transaction.
pub(crate) struct TxConn {
    /// `None` once the transaction has ended.
    leased: Option<Leased>,
    /// The first conflict with a concurrent transaction that a statement of this one failed
    /// with. One that [`dooms`](ConflictKind::dooms_transaction) it ends the transaction on
    /// the server (MySQL goes on in autocommit): nothing more may run in it, and it cannot
    /// commit. A retried block runs again after any retryable one.
    conflict: Option<ConflictKind>,
    /// PostgreSQL: the depth of the innermost level at which a statement failed. PostgreSQL
    /// ignores everything after it until a rollback to a savepoint outside that level, and
    /// answers `COMMIT` with a silent `ROLLBACK`, so this transaction must not report one.
    aborted_at: Option<usize>,
    /// Whether the server closed the connection under the transaction: nothing of it
    /// committed, so running it again is safe.
    lost: bool,
    /// Whether a versioned row the transaction wrote had changed since it was read.
    stale: bool,
}

impl TxConn {
    fn new(leased: Leased) -> Self {
        TxConn { leased: Some(leased), conflict: None, aborted_at: None, lost: false, stale: false }
    }

    /// Notes that a statement of this transaction, in `dialect`, failed with `error`
    /// (`answered`: the server received it and answered with the error).
    pub(crate) fn note_failure(&mut self, dialect: Dialect, error: &Error, answered: bool) {
        let depth = self.leased.as_mut().map_or(0, |leased| leased.conn().transaction_depth());
        match error {
            Error::Conflict { kind, .. } if self.conflict.is_none_or(|seen| !seen.dooms_transaction()) => {
                self.conflict = Some(*kind);
            }
            // The block read a row someone else has changed since: running it again reads it
            // afresh. (Not a failed statement: the server aborted nothing.)
            Error::StaleObject { .. } => self.stale = true,
            Error::ConnectionLost { .. } => {
                self.lost = true;
                if let Some(leased) = self.leased.as_mut() {
                    leased.mark_lost();
                }
            }
            _ => {}
        }
        // What never reached the server (our own checks, a value that could not be encoded)
        // aborts nothing.
        if dialect == Dialect::Postgres && answered && self.aborted_at.is_none_or(|at| depth < at) {
            self.aborted_at = Some(depth);
        }
    }

    /// The conflict that ended this transaction on the server, if one did.
    fn doomed(&self) -> Option<ConflictKind> {
        self.conflict.filter(|kind| kind.dooms_transaction())
    }

    /// Refuses a statement or a savepoint in a transaction a conflict has ended.
    pub(crate) fn check_not_doomed(&self) -> Result<()> {
        match self.doomed() {
            Some(kind) => Err(Error::Conflict {
                kind,
                message: format!(
                    "an earlier statement of this transaction failed with a {kind}, which ends the transaction on the \
                     server; nothing more runs in it, and nothing of it commits"
                ),
                source: None,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn lease(&mut self) -> Result<&mut Leased> {
        self.leased.as_mut().ok_or_else(|| {
            Error::invalid(InvalidQueryKind::Transaction, "this transaction has already ended (committed or rolled back); start a new one")
        })
    }
}

impl Drop for TxConn {
    fn drop(&mut self) {
        if let Some(mut lease) = self.leased.take() {
            if lease.cut_short() || lease.lost() {
                // Cut short mid-statement: the lease closes the connection as it drops, and
                // the server rolls the transaction back with it.
                return;
            }
            // Ended without a commit or rollback (a cancelled or panicking block): roll every
            // open level back before the connection returns to the pool.
            lease.abandon();
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
        guard.check_not_doomed()?;
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
    async fn begin(database: &Database, ambient: &Ambient, options: Options) -> Result<Frame> {
        if let Some((shared, parent)) = ambient.find(database) {
            if let Some(asked) = options.isolation.filter(|asked| shared.isolation != Some(*asked)) {
                let runs = shared.isolation.map_or("the database's default level".to_string(), |level| level.to_string());
                return Err(Error::invalid(
                    InvalidQueryKind::Transaction,
                    format!(
                        "a nested transaction asks for {asked}, but the transaction it is part of runs at {runs} (a \
                         level applies to a whole transaction): ask for it on the outermost block"
                    ),
                ));
            }
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
                // A SAVEPOINT the server refused aborts a PostgreSQL transaction like any statement.
                guard.note_failure(shared.engine.url.dialect(), &error, !matches!(error, Error::ConnectionLost { .. }));
                return Err(error);
            }
            drop(opening);
            drop(guard);
            return Ok(Frame { shared, id, depth, ended: false });
        }
        let engine = database.engine()?;
        let mut lease = Database::acquire(engine.clone(), options.local).await?;
        let statement = begin_statement(engine.url.dialect(), options)?;
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
            conn: Arc::new(Mutex::new(TxConn::new(lease))),
            broken: AtomicBool::new(false),
            levels: std::sync::Mutex::new(vec![id]),
            access: options.access,
            isolation: options.isolation,
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
        guard.lease()?;
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
        // Ended by a conflict on the server: a savepoint is gone with it (send nothing); the
        // outermost level rolls back whatever the connection still holds.
        if guard.doomed().is_some() && (nested || how == End::Commit) {
            if !nested {
                let lease = guard.lease()?;
                let _ = engine.control(lease, Control::Rollback, nested).await;
                if let Some(mut lease) = guard.leased.take() {
                    lease.close_on_drop();
                }
            }
            return match how {
                End::Commit => guard.check_not_doomed(),
                End::Rollback => Ok(()),
            };
        }
        let aborted = guard.aborted_at.is_some_and(|at| at >= self.depth);
        let lease = guard.lease()?;
        // Whether a rollback (of the transaction, or to the savepoint) went through.
        let mut undone = false;
        let mut outcome = match how {
            End::Commit if aborted => {
                let rolled_back = engine.control(lease, Control::Rollback, nested).await;
                undone = rolled_back.is_ok();
                if self.shared.access == Access::ReadOnly {
                    // A read-only transaction has nothing to commit: ending it is all COMMIT did.
                    rolled_back
                } else {
                    Err(Error::invalid(
                        InvalidQueryKind::Transaction,
                        "a statement of this transaction failed and the block went on: PostgreSQL ignores everything \
                         after a failed statement until a rollback, so nothing of it was committed; run the statement \
                         that may fail in a nested transaction (a savepoint) to go on after it",
                    ))
                }
            }
            End::Commit if broken && !nested => {
                let _ = engine.control(lease, Control::Rollback, nested).await;
                Err(broken_error())
            }
            End::Commit => engine.control(lease, Control::Commit, nested).await,
            End::Rollback => {
                let rolled_back = engine.control(lease, Control::Rollback, nested).await;
                undone = rolled_back.is_ok();
                rolled_back
            }
        };
        if nested && undone && guard.aborted_at.is_some_and(|at| at >= self.depth) {
            // Back at the savepoint, PostgreSQL runs statements again.
            guard.aborted_at = None;
        }
        if !nested {
            // The transaction is over: return the connection now, unless it may still be in
            // one, in which case it is closed instead (discarding whatever it holds).
            if let Some(mut lease) = guard.leased.take() {
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
                        lease.start_rollback();
                        // The queued rollback to the savepoint goes before any next statement.
                        if guard.aborted_at.is_some_and(|at| at >= self.depth) {
                            guard.aborted_at = None;
                        }
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

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Access {
    #[default]
    ReadWrite,
    /// `BEGIN READ ONLY` where the server has it; on SQLite a plain (deferred) `BEGIN`.
    ReadOnly,
}

/// An isolation level: how much of concurrent transactions' work a transaction may see.
/// Ask for one with [`Database::transaction_with`]`(..).isolation(..)`.
///
/// SQLite runs every transaction serializable whatever is asked (the SQL standard lets a
/// database run a stronger level than asked); PostgreSQL runs `ReadUncommitted` as
/// `ReadCommitted`; Oracle has only `ReadCommitted` and `Serializable` (the others are
/// [`Error::UnsupportedOperation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isolation {
    /// Sees rows other transactions have not committed yet (MySQL, SQL Server).
    ReadUncommitted,
    /// Each statement sees what was committed before it began (PostgreSQL's, SQL Server's
    /// and Oracle's default).
    ReadCommitted,
    /// Every statement sees what was committed before the transaction's first one (MySQL's
    /// default). PostgreSQL fails a write to a row changed since with a serialization
    /// failure; MySQL and MariaDB do not, so read the row with `for_update()` there.
    RepeatableRead,
    /// As if the transactions ran one after another: the database fails one of two that
    /// could not (PostgreSQL with a serialization failure, MySQL with a deadlock or a lock
    /// wait timeout), which `retry(..)` runs again.
    Serializable,
}

impl Isolation {
    fn sql(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "READ UNCOMMITTED",
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }
}

impl std::fmt::Display for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sql())
    }
}

/// What the outermost level of a transaction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Options {
    pub(crate) access: Access,
    pub(crate) isolation: Option<Isolation>,
    /// Whether the transaction may take a connection of the caller's own runtime (see
    /// [`Options::local_here`]) instead of one of the I/O runtime's.
    pub(crate) local: bool,
}

impl Options {
    /// These options for a block that runs whole on the current task: a connection of the
    /// caller's runtime when it is a multi-thread one. Its statements then wake nothing on
    /// another runtime (a third of a short transaction's time went to those wake-ups). A
    /// current-thread runtime keeps the I/O runtime's connection: a `.wait()` inside the block
    /// blocks that runtime's only thread, and nothing would serve a socket of it.
    fn local_here(mut self) -> Self {
        self.local =
            tokio::runtime::Handle::try_current().is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        self
    }
}

/// The statement that begins a transaction with `options` in `dialect`, when it is not the
/// driver's plain `BEGIN`.
pub(crate) fn begin_statement(dialect: Dialect, options: Options) -> Result<Option<&'static str>> {
    use Access::{ReadOnly, ReadWrite};
    use Isolation::{ReadCommitted, ReadUncommitted, RepeatableRead, Serializable};
    let level = options.isolation;
    Ok(match (dialect, options.access, level) {
        // SQLite: take the write lock at BEGIN, so concurrent writers queue (busy timeout)
        // instead of failing when a reader upgrades to a writer; a read-only block takes no
        // lock, so readers are not serialised. Every level is serializable there.
        (Dialect::Sqlite, ReadWrite, _) => Some("BEGIN IMMEDIATE"),
        (Dialect::Sqlite, ReadOnly, _) => Some("BEGIN DEFERRED"),
        (Dialect::Postgres, ReadWrite, None) => None,
        // Repeatable read by default: one snapshot for the whole block, as MySQL's default
        // level and a SQLite read transaction give (a read-only one never fails to serialise).
        (Dialect::Postgres, ReadOnly, None | Some(RepeatableRead)) => Some("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        (Dialect::Postgres, ReadWrite, Some(ReadUncommitted)) => Some("BEGIN ISOLATION LEVEL READ UNCOMMITTED"),
        (Dialect::Postgres, ReadWrite, Some(ReadCommitted)) => Some("BEGIN ISOLATION LEVEL READ COMMITTED"),
        (Dialect::Postgres, ReadWrite, Some(RepeatableRead)) => Some("BEGIN ISOLATION LEVEL REPEATABLE READ"),
        (Dialect::Postgres, ReadWrite, Some(Serializable)) => Some("BEGIN ISOLATION LEVEL SERIALIZABLE"),
        (Dialect::Postgres, ReadOnly, Some(ReadUncommitted)) => Some("BEGIN ISOLATION LEVEL READ UNCOMMITTED, READ ONLY"),
        (Dialect::Postgres, ReadOnly, Some(ReadCommitted)) => Some("BEGIN ISOLATION LEVEL READ COMMITTED, READ ONLY"),
        (Dialect::Postgres, ReadOnly, Some(Serializable)) => Some("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY"),
        // `SET TRANSACTION` (without SESSION) sets the level of the next transaction only.
        (Dialect::MySql, ReadWrite, None) => None,
        (Dialect::MySql, ReadOnly, None) => Some("START TRANSACTION READ ONLY"),
        (Dialect::MySql, ReadWrite, Some(ReadUncommitted)) => Some("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; START TRANSACTION"),
        (Dialect::MySql, ReadWrite, Some(ReadCommitted)) => Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION"),
        (Dialect::MySql, ReadWrite, Some(RepeatableRead)) => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION"),
        (Dialect::MySql, ReadWrite, Some(Serializable)) => Some("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION"),
        (Dialect::MySql, ReadOnly, Some(ReadUncommitted)) => {
            Some("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; START TRANSACTION READ ONLY")
        }
        (Dialect::MySql, ReadOnly, Some(ReadCommitted)) => {
            Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION READ ONLY")
        }
        (Dialect::MySql, ReadOnly, Some(RepeatableRead)) => {
            Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION READ ONLY")
        }
        (Dialect::MySql, ReadOnly, Some(Serializable)) => Some("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION READ ONLY"),
        // SQL Server keeps a `SET TRANSACTION` level for the rest of the session, so every
        // transaction names its level (read committed by default) and none inherits one.
        (Dialect::MsSql, ReadOnly, _) => {
            return Err(Error::unsupported(dialect, "read-only transactions (SQL Server has no BEGIN … READ ONLY)"));
        }
        (Dialect::MsSql, ReadWrite, None | Some(ReadCommitted)) => {
            Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; BEGIN TRANSACTION")
        }
        (Dialect::MsSql, ReadWrite, Some(ReadUncommitted)) => Some("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; BEGIN TRANSACTION"),
        (Dialect::MsSql, ReadWrite, Some(RepeatableRead)) => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; BEGIN TRANSACTION"),
        (Dialect::MsSql, ReadWrite, Some(Serializable)) => Some("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; BEGIN TRANSACTION"),
        // Oracle begins a transaction with its first statement; `SET TRANSACTION` must be it.
        (Dialect::Oracle, ReadWrite, None) => None,
        (Dialect::Oracle, ReadOnly, None) => Some("SET TRANSACTION READ ONLY"),
        (Dialect::Oracle, ReadWrite, Some(ReadCommitted)) => Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
        (Dialect::Oracle, ReadWrite, Some(Serializable)) => Some("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        (Dialect::Oracle, ReadOnly, Some(level)) => {
            return Err(Error::unsupported(
                dialect,
                format!("a read-only transaction at {level} (Oracle's SET TRANSACTION READ ONLY sets no level)"),
            ));
        }
        (Dialect::Oracle, ReadWrite, Some(level)) => {
            return Err(Error::unsupported(dialect, format!("the {level} isolation level (Oracle has READ COMMITTED and SERIALIZABLE)")));
        }
    })
}

/// Runs `block` inside a transaction (or a savepoint): `Ok` commits, `Err` rolls back and
/// is returned unchanged, a panic rolls back and resumes.
pub(crate) async fn run_block<T, E: From<Error>>(
    database: &Database,
    block: impl Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, E> {
    run_block_with(database, Options::default(), block).await.result
}

/// How one run of a block ended.
pub(crate) struct Attempt<T, E> {
    pub(crate) result: std::result::Result<T, E>,
    /// Whether running the block again in a new transaction may succeed: it was the
    /// outermost level, and it failed because it lost to a concurrent transaction or because
    /// the server closed the connection before `COMMIT` was sent.
    pub(crate) retryable: bool,
}

/// [`run_block`] with the options the outermost level asks for (a nested level is a
/// savepoint of its parent, whatever its access).
pub(crate) async fn run_block_with<T, E: From<Error>>(
    database: &Database,
    options: Options,
    block: impl Future<Output = std::result::Result<T, E>>,
) -> Attempt<T, E> {
    let ambient = Ambient::current();
    let frame = match Frame::begin(database, &ambient, options.local_here()).await {
        Ok(frame) => frame,
        Err(error) => {
            let retryable = ambient.find(database).is_none() && retryable_error(&error);
            return Attempt { result: Err(E::from(error)), retryable };
        }
    };
    let outermost = frame.depth == 1;
    let shared = frame.shared.clone();
    let inner = ambient.with(frame.shared.clone(), frame.id);
    let outcome = inner.scope(AssertUnwindSafe(block).catch_unwind()).await;
    let ended = frame.end(End::after(&outcome)).await;
    let retryable = outermost
        && match (&outcome, &ended) {
            // Committed; a panic; a COMMIT that may have committed: never run again.
            (Ok(Ok(_)), Ok(())) | (Err(_), _) | (_, Err(Error::CommitUnknown { .. })) => false,
            // No COMMIT went through: what failed on the way decides.
            _ => {
                let conn = shared.conn.lock().await;
                let noted = conn.conflict.is_some_and(ConflictKind::is_retryable) || conn.lost || conn.stale;
                noted || ended.as_ref().is_err_and(retryable_error)
            }
        };
    Attempt { result: conclude(outcome, ended), retryable }
}

/// Whether `error`, ending a transaction, leaves it safe and useful to run again: it lost to
/// a concurrent transaction, or the server closed the connection before `COMMIT` was sent.
fn retryable_error(error: &Error) -> bool {
    match error {
        Error::Conflict { kind, .. } => kind.is_retryable(),
        Error::ConnectionLost { .. } | Error::StaleObject { .. } => true,
        _ => false,
    }
}

/// The blocking twin of [`run_block`].
pub(crate) fn run_block_sync<T>(database: &Database, block: impl FnOnce() -> Result<T>) -> Result<T> {
    let ambient = Ambient::current();
    ambient.check_blocking(database)?;
    let frame = crate::sync::block_on(Frame::begin(database, &ambient, Options::default()))??;
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
                let frame = Frame::begin(db, &ambient, Options::default()).await?;
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

/// How [`TransactionBlock::retry`] runs a block again: up to `attempts` runs in all, waiting
/// between them a random time up to a bound that doubles after each failure (exponential
/// backoff with full jitter, so that transactions that collided do not collide again).
///
/// ```
/// use std::time::Duration;
/// use duo_orm::transaction::Retry;
/// let policy = Retry::attempts(8).backoff(Duration::from_millis(2), Duration::from_millis(200));
/// assert_eq!(policy.max_attempts(), 8);
/// assert_eq!(Retry::default(), Retry::attempts(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    attempts: u32,
    first_backoff: std::time::Duration,
    max_backoff: std::time::Duration,
}

impl Retry {
    /// At most `attempts` runs in all (0 and 1 both mean one run, no retry), waiting up to
    /// 5 ms after the first failure, doubling to at most 500 ms.
    pub const fn attempts(attempts: u32) -> Self {
        Retry {
            attempts: if attempts == 0 { 1 } else { attempts },
            first_backoff: std::time::Duration::from_millis(5),
            max_backoff: std::time::Duration::from_millis(500),
        }
    }

    /// The bound of the wait after the first failure (`first`), and the most it grows to
    /// (`max`).
    pub const fn backoff(mut self, first: std::time::Duration, max: std::time::Duration) -> Self {
        self.first_backoff = first;
        self.max_backoff = max;
        self
    }

    /// How many runs the block gets at most.
    pub const fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// Waits after `failed` runs failed, on duo-orm's own runtime, whose timer is always on.
    pub(crate) async fn pause(&self, failed: u32) {
        let _ = crate::database::runtime().spawn(tokio::time::sleep(self.delay(failed))).await;
    }

    /// The wait after `failed` runs failed: uniformly random up to
    /// `min(max, first × 2^(failed - 1))`.
    fn delay(&self, failed: u32) -> std::time::Duration {
        use std::hash::{BuildHasher, Hasher};
        let doubled = self.first_backoff.saturating_mul(1u32.checked_shl(failed.saturating_sub(1)).unwrap_or(u32::MAX));
        let bound = doubled.min(self.max_backoff);
        // A fresh `RandomState` is randomly keyed: enough randomness for a jitter.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        bound.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
    }
}

impl Default for Retry {
    /// Five runs in all: [`Retry::attempts(5)`](Retry::attempts).
    fn default() -> Self {
        Retry::attempts(5)
    }
}

/// A transaction whose block is a closure, so that it can run again: from
/// [`Database::transaction_with`]. Set its [`isolation`](Self::isolation) level, make it
/// [`read_only`](Self::read_only), or let it [`retry`](Self::retry), then `.await` it.
#[must_use = "a transaction does nothing until it is awaited"]
pub struct TransactionBlock<'db, F> {
    database: &'db Database,
    block: F,
    options: Options,
    retry: Retry,
}

impl<'db, F> TransactionBlock<'db, F> {
    pub(crate) fn new(database: &'db Database, block: F) -> Self {
        TransactionBlock { database, block, options: Options::default(), retry: Retry::attempts(1) }
    }

    /// Runs the transaction at `level` (see [`Isolation`] for what each database does with
    /// it). It applies to the whole transaction: inside another transaction of the same
    /// database, asking for a level other than the one that transaction runs at is an
    /// [`Error::InvalidQuery`].
    pub fn isolation(mut self, level: Isolation) -> Self {
        self.options.isolation = Some(level);
        self
    }

    /// Runs it as a read-only transaction, as [`Database::read_only_transaction`] does.
    pub fn read_only(mut self) -> Self {
        self.options.access = Access::ReadOnly;
        self
    }

    /// Runs the block again, in a new transaction, when it fails because it lost to a
    /// concurrent transaction ([`Error::Conflict`]: a serialization failure, a deadlock, a
    /// lock wait timeout, SQLite's BUSY; not `nowait()`'s refusal; and
    /// [`Error::StaleObject`]: a versioned row changed since the block read it), or because
    /// the server closed the connection before `COMMIT` was sent. A `COMMIT` whose answer was lost
    /// ([`Error::CommitUnknown`]) is never run again: it may have committed.
    ///
    /// Everything the block does outside the database (an email sent, a counter in memory)
    /// happens again on each run: keep such effects after the transaction. Inside another
    /// transaction the block is a savepoint and runs once: the outermost block is the one
    /// that can retry. Each run is a `duo_orm.transaction` tracing span with its `attempt`.
    pub fn retry(mut self, policy: Retry) -> Self {
        self.retry = policy;
        self
    }
}

impl<'db, F, Fut, T, E> std::future::IntoFuture for TransactionBlock<'db, F>
where
    F: FnMut() -> Fut + Send + 'db,
    Fut: std::future::IntoFuture<Output = std::result::Result<T, E>>,
    Fut::IntoFuture: Send + 'db,
    T: Send + 'db,
    E: From<Error> + Send + 'db,
{
    type Output = std::result::Result<T, E>;
    type IntoFuture = futures_util::future::BoxFuture<'db, std::result::Result<T, E>>;

    fn into_future(mut self) -> Self::IntoFuture {
        use tracing::Instrument;
        Box::pin(async move {
            self.database.check_async()?;
            let nested = current(self.database).is_some();
            let mut attempt = 1;
            loop {
                let isolation = self.options.isolation.map(Isolation::sql);
                let span = tracing::info_span!("duo_orm.transaction", attempt, isolation);
                let run = run_block_with(self.database, self.options, (self.block)().into_future()).instrument(span).await;
                // What the run lost to is noted on its transaction (the block's error may be
                // of the caller's type, which says nothing duo-orm can read).
                match run.result {
                    Err(_) if run.retryable && !nested && attempt < self.retry.attempts => {
                        tracing::info!(attempt, "the transaction lost to a concurrent one; running it again");
                        self.retry.pause(attempt).await;
                        attempt += 1;
                    }
                    result => return result,
                }
            }
        })
    }
}
