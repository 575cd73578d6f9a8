//! Leases: a pooled or transaction-held connection ([`Lease`]), what is known of its state,
//! and the runtime it goes back to its pool on.

use super::*;

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
    /// Whether the connection is in a known state for the next statement: every statement on
    /// it ended (all its rows read, or the server's error), and no rollback is queued on it.
    /// Only such a connection is kept between statements (`pool.rs`).
    pub(super) clean: bool,
    /// The runtime the connection goes back to its pool on: its own pool's runtime, the I/O
    /// runtime for the I/O pool, `None` for a connection bound to no runtime (file SQLite),
    /// which goes back on the caller's.
    pub(super) home: Option<tokio::runtime::Handle>,
    /// The pool that may keep the connection when the lease ends (`None` while it is kept).
    pub(super) pool: Option<ConnPool>,
    /// When the connection left the driver's pool (see [`pool::KEEP_FOR`]).
    pub(super) out_since: Instant,
}

impl Leased {
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a lease holds its connection until dropped")
    }

    /// The connection, for a statement that starts now (see `in_flight`).
    pub(crate) fn start(&mut self) -> &mut Conn {
        self.in_flight = true;
        self.conn()
    }

    /// The statement started with [`start`](Self::start) has finished with `outcome`. When
    /// the connection answered (anything but a closed connection), it is no longer one the
    /// server may have closed unseen: later statements on it (a held connection's, with a lock
    /// or a transaction open) are never sent again elsewhere. Anything but success or the
    /// server's error leaves it in a state not known well enough to keep it (see `clean`).
    pub(crate) fn finish<T>(&mut self, outcome: &std::result::Result<T, Failure>) {
        self.in_flight = false;
        self.checked |= !matches!(outcome, Err(Failure::Dropped(_)));
        self.clean &= matches!(outcome, Ok(_) | Err(Failure::Answered(_)));
    }

    /// Checks that the server still answers on this connection.
    pub(crate) async fn ping(&mut self) -> std::result::Result<(), Failure> {
        let pinged = self.start().ping().await;
        self.finish(&pinged);
        pinged
    }

    /// Marks the connection as closed by the server under a transaction: nothing more is sent
    /// on it, and it is not given back to the pool.
    pub(crate) fn mark_lost(&mut self) {
        self.lost = true;
    }

    /// Refuses a transaction's next statement when an earlier one was cut short (the
    /// connection's state is unknown) or the server closed the connection.
    pub(crate) fn usable(&self) -> Result<()> {
        if self.lost {
            return Err(Error::ConnectionLost {
                during: "earlier in this transaction: nothing of it committed; run the whole block again".into(),
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
        self.in_flight && self.conn.as_ref().is_some_and(Conn::sockets)
    }

    /// Takes this connection out of its pool at once, dropping its socket: for a connection
    /// the server closed, or one in an unknown state (a graceful close would hold its place in
    /// the pool for up to seconds).
    pub(crate) fn discard(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _home = self.home.as_ref().map(|home| home.enter());
            conn.detach();
        }
    }

    /// Makes the pool close this connection instead of reusing it (its state is unknown).
    pub(crate) fn close_on_drop(&mut self) {
        self.clean = false;
        // (A lease whose dead connection could not be replaced holds none.)
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }

    /// Queues a rollback of the innermost transaction level, sent before the connection's
    /// next use: the connection then goes back to its pool, which sends it at once.
    pub(crate) fn start_rollback(&mut self) {
        self.clean = false;
        self.conn().start_rollback();
    }

    /// Queues a rollback of every level still open (see [`start_rollback`](Self::start_rollback)).
    pub(crate) fn abandon(&mut self) {
        self.clean = false;
        self.conn().abandon();
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
                guard.check_not_doomed()?;
                let leased = guard.lease()?;
                leased.usable()?;
                Ok(leased.start())
            }
        }
    }

    /// `error` ends the statement started with [`start`](Self::start) (`answered`: by the
    /// server): a transaction notes it (see [`TxConn::note_failure`]).
    pub(super) fn failed(&mut self, dialect: crate::Dialect, error: Error, answered: bool) -> Error {
        if let Lease::Transaction(guard) = self {
            guard.note_failure(dialect, &error, answered);
        }
        error
    }

    /// The statement started with [`start`](Self::start) has finished (see [`Leased::finish`]).
    pub(super) fn finish<T>(&mut self, outcome: &std::result::Result<T, Failure>) {
        match self {
            Lease::Pooled(leased) => leased.finish(outcome),
            Lease::Transaction(guard) => {
                if let Ok(leased) = guard.lease() {
                    leased.finish(outcome);
                }
            }
        }
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        if self.cut_short() || self.lost {
            self.discard();
        }
        let Some(conn) = self.conn.take() else { return };
        if let Some(pool) = self.pool.take()
            && self.clean
            && !self.in_flight
        {
            let kept = Leased { conn: Some(conn), checked: false, home: self.home.take(), pool: None, ..*self };
            // (Refused, it goes back to the driver's pool as it drops.)
            let _ = pool.keep(kept);
            return;
        }
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
