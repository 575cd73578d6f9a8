//! Blocking on ORM futures: the engine behind `.wait()` and `transaction_sync`.

use std::future::Future;

use crate::database::{IO_THREAD_NAME, runtime};
use crate::error::{ConfigurationKind, Error, Result};

/// Runs `future` to completion on the I/O runtime, blocking the calling thread.
///
/// A plain thread drives the future itself (`Runtime::block_on`), so statements run in place
/// on it. A thread that belongs to an async runtime cannot (tokio forbids nesting runtimes),
/// so a scoped helper thread drives the future while the caller blocks on it: slower, but it
/// neither panics nor deadlocks, because nothing the future needs runs on the blocked thread.
/// The I/O runtime's own threads are refused: blocking them could starve the very statement
/// being waited for.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    if std::thread::current().name() == Some(IO_THREAD_NAME) {
        return Err(Error::config(
            ConfigurationKind::Runtime,
            "`.wait()` and `transaction_sync` cannot run on duo-orm's own I/O threads \
             (from a hook or a callback of an async operation): use `.await` there",
        ));
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(on_io_runtime(|| runtime().block_on(future)));
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("duo-orm-wait".into())
            .spawn_scoped(scope, || {
                BLOCKING_A_RUNTIME.set(true);
                on_io_runtime(|| runtime().block_on(future))
            })
            .map_err(Error::Io)?;
        helper.join().map_err(|panic| std::panic::resume_unwind(panic))
    })
}

thread_local! {
    /// Set while this thread drives a future with the I/O runtime's `block_on`.
    static DRIVING_IO_RUNTIME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set on the helper thread of a `.wait()` called from async code: the caller's runtime
    /// thread is blocked until it finishes.
    static BLOCKING_A_RUNTIME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the running code is a `.wait()` whose caller blocks a runtime's thread: whatever
/// that runtime was to run (a connection going back to its pool) waits until this returns,
/// so this must not wait for it.
pub(crate) fn blocking_a_runtime() -> bool {
    BLOCKING_A_RUNTIME.get()
}

fn on_io_runtime<T>(drive: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            DRIVING_IO_RUNTIME.set(self.0);
        }
    }
    let _reset = Reset(DRIVING_IO_RUNTIME.replace(true));
    drive()
}

/// Whether the running code is a `.wait()` driving the I/O runtime on this thread: a
/// connection it opens belongs to the I/O runtime, so it may acquire in place.
pub(crate) fn driving_io_runtime() -> bool {
    DRIVING_IO_RUNTIME.get()
}
