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
//! - one is kept only while that pool could give a caller waiting on it another connection
//!   (an idle one, or room to open one), and only when it is in a known state: no transaction
//!   open or rolling back, no statement cut short or left unread, no error but the server's
//!   answer to a statement;
//! - a caller waiting on the driver's pool is woken when a connection is kept, and takes it;
//! - a connection goes back to the driver's pool (its ping, its lifetime and idle limits) once
//!   it has been out of it for [`KEEP_FOR`], when it is next let go or by a sweeper task;
//! - closing the pool gives every kept connection back first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::*;

/// How long a connection stays out of the driver's pool, kept between statements, before it
/// goes back: the delay it adds to the pool's lifetime and idle limits.
pub(crate) const KEEP_FOR: Duration = Duration::from_secs(1);

/// A driver's pool and the connections kept in front of it; a handle, cheap to clone.
#[derive(Clone)]
pub(crate) struct ConnPool(Arc<Inner>);

struct Inner {
    driver: Pool,
    /// The runtime this pool's connections go back to it on (see [`Leased`]).
    home: Option<tokio::runtime::Handle>,
    /// The connections kept between statements, the most recently used last.
    kept: Mutex<Vec<Leased>>,
    /// Wakes callers waiting on the driver's pool when a connection is kept.
    kept_one: Notify,
    closed: AtomicBool,
    /// Whether the sweeper task runs.
    sweeping: AtomicBool,
}

impl ConnPool {
    /// duo-orm's pool over `driver`, whose connections go back to it on `home`.
    pub(super) fn new(driver: Pool, home: Option<tokio::runtime::Handle>) -> Self {
        ConnPool(Arc::new(Inner {
            driver,
            home,
            kept: Mutex::new(Vec::new()),
            kept_one: Notify::new(),
            closed: AtomicBool::new(false),
            sweeping: AtomicBool::new(false),
        }))
    }

    /// The driver's pool.
    pub(super) fn driver(&self) -> &Pool {
        &self.0.driver
    }

    /// The runtime this pool's connections go back to it on.
    pub(super) fn home(&self) -> Option<&tokio::runtime::Handle> {
        self.0.home.as_ref()
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
        loop {
            // Listening before looking: a connection kept in between wakes this caller.
            let kept_one = self.0.kept_one.notified();
            let mut kept_one = std::pin::pin!(kept_one);
            kept_one.as_mut().enable();
            if let Some(kept) = self.take_kept() {
                return Ok(kept);
            }
            let acquire = std::pin::pin!(self.0.driver.acquire());
            match futures_util::future::select(acquire, kept_one).await {
                futures_util::future::Either::Left((conn, _)) => return conn.map(|conn| self.lease(conn, true)),
                futures_util::future::Either::Right(((), _)) => continue,
            }
        }
    }

    /// Closes the pool: the kept connections go back to the driver's pool, which then closes,
    /// waiting for its connections to close.
    pub(super) async fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        drop(std::mem::take(&mut *self.0.kept.lock().unwrap_or_else(PoisonError::into_inner)));
        self.0.driver.close().await;
    }

    fn take_kept(&self) -> Option<Leased> {
        let mut lease = self.0.kept.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
        lease.pool = Some(self.clone());
        Some(lease)
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
        let inner = &*self.0;
        let fits = !inner.closed.load(Ordering::Acquire)
            && lease.out_since.elapsed() < KEEP_FOR
            && lease.conn.as_ref().is_some_and(|conn| conn.transaction_depth() == 0)
            && inner.driver.has_spare();
        if !fits {
            return Err(lease);
        }
        inner.kept.lock().unwrap_or_else(PoisonError::into_inner).push(lease);
        inner.kept_one.notify_waiters();
        if !inner.sweeping.swap(true, Ordering::AcqRel) {
            self.sweep_later();
        }
        Ok(())
    }

    /// Starts the task that gives kept connections back to the driver's pool once they have
    /// been out of it for [`KEEP_FOR`]: a program that stops running statements does not hold
    /// them. It runs on the I/O runtime (a caller's may have no timer) and ends with the pool.
    fn sweep_later(&self) {
        let pool = Arc::downgrade(&self.0);
        runtime().spawn(async move {
            loop {
                tokio::time::sleep(KEEP_FOR).await;
                let Some(pool) = pool.upgrade() else { return };
                let stale: Vec<Leased> = {
                    let mut kept = pool.kept.lock().unwrap_or_else(PoisonError::into_inner);
                    let (stale, fresh) = std::mem::take(&mut *kept).into_iter().partition(|lease| lease.out_since.elapsed() >= KEEP_FOR);
                    *kept = fresh;
                    stale
                };
                // (Dropped outside the lock: each goes back to the driver's pool on its home.)
                drop(stale);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(pool: &ConnPool) -> usize {
        pool.0.kept.lock().unwrap().len()
    }

    /// A connection whose statement ended cleanly is kept for the next one, goes back to the
    /// driver's pool once idle for [`KEEP_FOR`], and is never kept out of a pool that has no
    /// other connection to give a waiter.
    #[tokio::test]
    async fn connections_are_kept_between_statements_and_given_back_when_idle() {
        let path = std::env::temp_dir().join(format!("duo_orm_kept_{}.db", std::process::id()));
        std::fs::File::create(&path).unwrap();
        let url = format!("sqlite://{}", path.display());

        let db = Database::new(url.clone()).max_connections(2);
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
        tokio::time::timeout(Duration::from_secs(10), db.disconnect()).await.expect("closing gives the kept one back").unwrap();
        assert_eq!(kept(&engine.pool), 0);

        let single = Database::new(url).max_connections(1);
        single.execute_raw("SELECT 1").await.unwrap();
        assert_eq!(kept(&single.engine().unwrap().pool), 0, "the pool's only connection is never kept out of it");
        single.disconnect().await.unwrap();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
