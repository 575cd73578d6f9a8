//! Blocking on ORM futures: the engine behind `.wait()` and `transaction_sync`.

use std::future::Future;

use crate::database::{IO_THREAD_NAME, runtime};
use crate::error::{Error, Result};

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
            "`.wait()` and `transaction_sync` cannot run on duo-orm's own I/O threads \
             (from a hook or a callback of an async operation): use `.await` there",
        ));
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(runtime().block_on(future));
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("duo-orm-wait".into())
            .spawn_scoped(scope, || runtime().block_on(future))
            .map_err(Error::Io)?;
        helper.join().map_err(|panic| std::panic::resume_unwind(panic))
    })
}
