//! Timeouts on any call: every operation made inside [`with_timeout`] carries a linked
//! timeout (`IORING_OP_LINK_TIMEOUT`, 5.5).

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with a deadline `duration` from now on every call it makes on this thread.
///
/// A call still running at the deadline is cancelled and returns `ErrorKind::TimedOut`
/// (`ETIMEDOUT`); when it returns, the kernel no longer holds its buffer. This works on any fd —
/// pipes, sockets, files — which plain syscalls cannot do. A call that finishes in time is
/// unaffected. Nested timeouts: the earlier deadline wins. The deadline covers the whole
/// closure, not each call: later calls get what is left.
///
/// Without a ring (io_uring refused, or an opcode the kernel lacks), a call that waits on an
/// fd (read, write, recv, send, accept, poll) first waits for it with poll(2) up to the
/// deadline; other direct-syscall calls are not timed.
///
/// ```
/// use std::time::Duration;
/// let (reader, _writer) = std::io::pipe()?;
/// let mut buf = [0u8; 16];
/// let res = uring_os::with_timeout(Duration::from_millis(20), || uring_os::read(&reader, &mut buf));
/// if uring_os::status().syscall_ops.is_empty() {
///     assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn with_timeout<T>(duration: Duration, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DEADLINE.try_with(|d| d.set(self.0));
        }
    }
    let previous = DEADLINE.with(Cell::get);
    let deadline = match Instant::now().checked_add(duration) {
        Some(mine) => Some(previous.map_or(mine, |p| p.min(mine))),
        None => previous,
    };
    let _restore = Restore(previous);
    DEADLINE.with(|d| d.set(deadline));
    f()
}

/// The deadline in force on this thread, if any.
#[inline]
pub(crate) fn current_deadline() -> Option<Instant> {
    DEADLINE.try_with(Cell::get).ok().flatten()
}
