//! duo-orm's pool: the driver's pool, and in front of it the connections duo-orm keeps
//! between statements.
//!
//! # Why keep connections
//! sqlx checks every connection it takes back: a task spawned for it sends a ping (a round trip
//! to a server, a message to a SQLite connection's thread) before the connection is idle
//! again. For a lookup by key, that is as much work again as the lookup, and the next
//! statement either waits for it or opens another connection. So a connection whose statement
//! ended cleanly, outside a transaction, is kept here instead, and the next statement takes it
//! as it would take an idle connection of the pool: without a check. If the server closed it
//! meanwhile, the statement goes again on a fresh one (`Engine::spare`), as for any connection
//! handed out unchecked.
//!
//! A kept connection is still checked out of the driver's pool, so:
//! - one is kept only in a known state: no transaction open or rolling back, no statement cut
//!   short or left unread, no error but the server's answer to a statement;
//! - one is kept only while nobody waits on the driver's pool (every wait goes through
//!   [`ConnPool::take`], which counts itself under the same lock), and while that pool could
//!   give a newcomer another connection (an idle one, or room to open one): a connection let
//!   go while someone waits goes back to the driver's pool, which hands it to the first waiter;
//! - a connection goes back to the driver's pool (its ping, its lifetime and idle limits) once
//!   it has been out of it for [`KEEP_FOR`], when it is next let go or at the next tick of a
//!   sweeper task (so within twice that);
//! - closing the pool gives every kept connection back first.

use std::time::Duration;

use super::*;

/// How long a connection stays out of the driver's pool, kept between statements, before it
/// goes back (at most twice this: the sweeper looks once per period).
pub(crate) const KEEP_FOR: Duration = Duration::from_secs(1);

/// A driver's pool and the connections kept in front of it; a handle, cheap to clone.
#[derive(Clone)]
pub(crate) struct ConnPool(Arc<Inner>);

struct Inner {
    driver: Pool,
    /// The runtime this pool's connections go back to it on (see [`Leased`]).
    home: Option<tokio::runtime::Handle>,
    kept: Mutex<Kept>,
}

/// What [`ConnPool`] keeps, under one lock.
#[derive(Default)]
struct Kept {
    /// The connections kept between statements, the most recently used last.
    leases: Vec<Leased>,
    /// How many callers wait on the driver's pool.
    waiting: usize,
    closed: bool,
    /// Whether the sweeper task runs.
    sweeping: bool,
}

impl ConnPool {
    /// duo-orm's pool over `driver`, whose connections go back to it on `home`.
    pub(super) fn new(driver: Pool, home: Option<tokio::runtime::Handle>) -> Self {
        ConnPool(Arc::new(Inner { driver, home, kept: Mutex::default() }))
    }

    /// The driver's pool.
    pub(super) fn driver(&self) -> &Pool {
        &self.0.driver
    }

    /// The runtime this pool's connections go back to it on.
    pub(super) fn home(&self) -> Option<&tokio::runtime::Handle> {
        self.0.home.as_ref()
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A kept connection, else an idle one of the driver's pool: unchecked, at once, if there
    /// is one.
    pub(super) fn try_take(&self) -> Option<Leased> {
        if let Some(kept) = self.take_kept() {
            return Some(kept);
        }
        self.0.driver.try_acquire().map(|conn| self.lease(conn, false))
    }

    /// A kept connection (unchecked), else one the driver's pool checks or opens, waiting for
    /// one up to the pool's timeout. The error says why none could be had.
    pub(super) async fn take(&self) -> Result<Leased, String> {
        let waiting = {
            let mut kept = self.kept();
            if !kept.closed
                && let Some(lease) = kept.leases.pop()
            {
                return Ok(self.adopt(lease));
            }
            // Counted under the lock that `keep` checks it under: from here on, a connection let
            // go goes back to the driver's pool, to its first waiter.
            kept.waiting += 1;
            Waiting(self)
        };
        let conn = self.0.driver.acquire().await;
        drop(waiting);
        conn.map(|conn| self.lease(conn, true))
    }

    /// Closes the pool: the kept connections go back to the driver's pool, which then closes,
    /// waiting for its connections to close.
    pub(super) async fn close(&self) {
        let leases = {
            let mut kept = self.kept();
            kept.closed = true;
            std::mem::take(&mut kept.leases)
        };
        // (Dropped outside the lock: each goes back to the driver's pool on its home.)
        drop(leases);
        self.0.driver.close().await;
    }

    fn take_kept(&self) -> Option<Leased> {
        let lease = {
            let mut kept = self.kept();
            if kept.closed {
                return None;
            }
            kept.leases.pop()?
        };
        Some(self.adopt(lease))
    }

    /// A kept lease, handed out: it may be kept again when it ends.
    fn adopt(&self, mut lease: Leased) -> Leased {
        lease.pool = Some(self.clone());
        lease
    }

    /// A lease of `conn`, fresh out of the driver's pool (`checked`: by a ping or a connect).
    fn lease(&self, conn: Conn, checked: bool) -> Leased {
        Leased {
            conn: Some(conn),
            checked,
            in_flight: false,
            lost: false,
            clean: true,
            home: self.0.home.clone(),
            pool: Some(self.clone()),
            out_since: Instant::now(),
        }
    }

    /// Keeps `lease` (a connection in a known state, see the module's doc) for the next
    /// statement, or hands it back when it should go to the driver's pool.
    pub(super) fn keep(&self, lease: Leased) -> std::result::Result<(), Leased> {
        let fits = lease.out_since.elapsed() < KEEP_FOR
            && lease.conn.as_ref().is_some_and(|conn| conn.transaction_depth() == 0)
            && self.0.driver.has_spare();
        if !fits {
            return Err(lease);
        }
        let mut kept = self.kept();
        if kept.closed || kept.waiting > 0 {
            return Err(lease);
        }
        kept.leases.push(lease);
        if !kept.sweeping {
            kept.sweeping = true;
            self.sweep_later();
        }
        Ok(())
    }

    /// Starts the task that gives kept connections back to the driver's pool once they have
    /// been out of it for [`KEEP_FOR`], so that a program that stops running statements does
    /// not hold them. It runs on the I/O runtime (a caller's may have no timer) and ends when
    /// nothing is kept (`keep` starts it again) or the pool is gone.
    fn sweep_later(&self) {
        let pool = Arc::downgrade(&self.0);
        runtime().spawn(async move {
            loop {
                tokio::time::sleep(KEEP_FOR).await;
                let Some(pool) = pool.upgrade().map(ConnPool) else { return };
                let (stale, done) = {
                    let mut kept = pool.kept();
                    let (stale, fresh): (Vec<_>, _) =
                        std::mem::take(&mut kept.leases).into_iter().partition(|lease| lease.out_since.elapsed() >= KEEP_FOR);
                    kept.leases = fresh;
                    kept.sweeping = !kept.leases.is_empty();
                    (stale, !kept.sweeping)
                };
                // (Dropped outside the lock: each goes back to the driver's pool on its home.)
                drop(stale);
                if done {
                    return;
                }
            }
        });
    }
}

/// A caller counted as waiting on the driver's pool, until this drops (also when its future is
/// cancelled).
struct Waiting<'a>(&'a ConnPool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.kept().waiting -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(pool: &ConnPool) -> usize {
        pool.kept().leases.len()
    }

    /// A SQLite file for one test, and its URL.
    struct File(std::path::PathBuf);

    impl File {
        fn new(name: &str) -> (Self, String) {
            let path = std::env::temp_dir().join(format!("duo_orm_{name}_{}.db", std::process::id()));
            std::fs::File::create(&path).unwrap();
            let url = format!("sqlite://{}", path.display());
            (File(path), url)
        }
    }

    impl Drop for File {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    /// A connection whose statement ended cleanly is kept for the next one, and goes back to
    /// the driver's pool once idle for [`KEEP_FOR`], and at once when the pool closes.
    #[tokio::test]
    async fn connections_are_kept_between_statements_and_given_back_when_idle() {
        let (_file, url) = File::new("kept");
        let db = Database::new(url).max_connections(2);
        db.execute_raw("SELECT 1").await.unwrap();
        let engine = db.engine().unwrap();
        assert_eq!(kept(&engine.pool), 1, "kept after a statement");
        db.execute_raw("SELECT 1").await.unwrap();
        assert_eq!(kept(&engine.pool), 1, "taken by the next statement and kept again");
        assert!(db.execute_raw("SELECT nonsense").await.is_err());
        assert_eq!(kept(&engine.pool), 1, "the server's error leaves the connection ready");
        tokio::time::sleep(KEEP_FOR * 2 + Duration::from_millis(300)).await;
        assert_eq!(kept(&engine.pool), 0, "given back to the driver's pool once idle");
        db.execute_raw("SELECT 1").await.unwrap();
        assert_eq!(kept(&engine.pool), 1);
        // Closing gives the kept one back before it waits for the driver's pool to close.
        let mut closing = std::pin::pin!(engine.pool.close());
        let _ = closing.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert_eq!(kept(&engine.pool), 0, "given back as the pool closes");
        closing.await;
        db.disconnect().await.unwrap();
    }

    /// No connection is kept while a caller waits on the driver's pool, out of a pool with no
    /// other connection to give, or in an unknown state.
    #[tokio::test]
    async fn connections_are_not_kept_when_someone_may_need_them_or_their_state_is_unknown() {
        let (_file, url) = File::new("not_kept");
        let db = Database::new(url.clone()).max_connections(3);
        db.execute_raw("SELECT 1").await.unwrap();
        let pool = db.engine().unwrap().pool.clone();
        let lease = pool.try_take().expect("the kept connection");
        let waiting = {
            pool.kept().waiting += 1;
            Waiting(&pool)
        };
        drop(lease);
        assert_eq!(kept(&pool), 0, "let go while a caller waits: back to the driver's pool, for it");
        drop(waiting);
        db.execute_raw("SELECT 1").await.unwrap();
        assert_eq!(kept(&pool), 1, "kept again once nobody waits");

        // Rows left unread: decoding the first failed, so the statement stopped early.
        let unread = db.fetch_scalar(Statement::raw("SELECT 'x' UNION ALL SELECT 'y' UNION ALL SELECT 'z'".into())).await;
        assert!(unread.is_err());
        assert_eq!(kept(&pool), 0, "a statement stopped before its last row is not kept");
        db.disconnect().await.unwrap();

        let single = Database::new(url).max_connections(1);
        single.execute_raw("SELECT 1").await.unwrap();
        assert_eq!(kept(&single.engine().unwrap().pool), 0, "the pool's only connection is never kept out of it");
        single.disconnect().await.unwrap();
    }
}
