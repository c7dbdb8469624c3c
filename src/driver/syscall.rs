//! Running an operation as its syscall: when there is no ring (io_uring refused, disabled),
//! when the kernel lacks the opcode, when the arguments do not fit an entry, or by choice
//! (a thread's warm-up call, `Dispatch::Auto`). The answer is the syscall's; a deadline of
//! [`with_timeout`](crate::with_timeout) is kept by polling the fd first.

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

use super::wait::signal_interrupts;
use super::{Driver, blocking_stream, thread_backend};
use crate::config::{Backend, Dispatch, Fallback, config};
use crate::op::{OnSignal, Op};
use crate::ring::Sqe;
use crate::stats::Counters;
use crate::sys::syscall as sc;
use crate::sys::*;

/// Whether `Dispatch::Auto` is in force.
#[inline]
pub(crate) fn auto_dispatch() -> bool {
    config().dispatch == Dispatch::Auto
}

/// Whether `Dispatch::Auto` sends a single blocking call to the syscall: always, since one
/// call through a ring costs a round trip the syscall does not, unless a timeout is in
/// force, which only the ring can give.
#[inline]
pub(crate) fn auto_syscall_single() -> bool {
    auto_dispatch() && crate::timeout::current_deadline().is_none()
}

/// Whether `Dispatch::Auto` runs a batch operation as its syscall: for opcodes the kernel
/// always hands to an io-wq worker, where a batch through the ring is slower than the
/// syscalls one after the other.
#[inline]
pub(crate) fn auto_syscall_in_batch(punted: bool) -> bool {
    punted && auto_dispatch()
}

/// Runs an operation as its syscall because the kernel's io_uring cannot serve it (no
/// ring, a missing opcode), unless the configuration asks for an error instead.
#[cold]
pub(crate) fn fallback<O: Op>(op: &mut O) -> io::Result<i32> {
    if config().fallback == Fallback::Error {
        return Err(fallback_error());
    }
    Ok(run_syscall(op))
}

/// Runs an operation as its syscall, retrying EINTR where std does. Under a
/// [`with_timeout`](crate::with_timeout) deadline, a call that would wait on a pipe or
/// socket waits only until the deadline (`ETIMEDOUT`): it is attempted without waiting,
/// and the fd polled between attempts.
#[inline]
pub(crate) fn run_syscall<O: Op>(op: &mut O) -> i32 {
    Counters::current().fallback();
    if op.waits_on().is_some() {
        if let Some(deadline) = crate::timeout::current_deadline() {
            return run_syscall_until(op, deadline);
        }
    }
    syscall_restarting(op)
}

/// The operation's syscall, retried on EINTR where std retries it.
#[inline]
fn syscall_restarting<O: Op>(op: &mut O) -> i32 {
    loop {
        let res = op.syscall();
        if !(O::ON_SIGNAL == OnSignal::Restart && res == -libc::EINTR) {
            return res;
        }
    }
}

#[cold]
fn run_syscall_until<O: Op>(op: &mut O, deadline: Instant) -> i32 {
    loop {
        let (fd, events) = match attempt_syscall(op) {
            Attempt::Done(res) => return res,
            Attempt::WouldBlock { fd, events } => (fd, events),
        };
        let mut pfd = [libc::pollfd {
            fd,
            events,
            revents: 0,
        }];
        match poll_until(&mut pfd, Some(deadline)) {
            Polled::Ready => {}
            Polled::TimedOut => return -libc::ETIMEDOUT,
            // A signal interrupts the wait as it would the syscall.
            Polled::Interrupted if signal_interrupts(O::ON_SIGNAL) => return -libc::EINTR,
            Polled::Interrupted => {}
        }
    }
}

/// What one attempt at an operation's syscall gave.
pub(crate) enum Attempt {
    /// It ran, with this result (or `-errno`).
    Done(i32),
    /// It would have waited for `events` on `fd`; nothing happened.
    WouldBlock { fd: RawFd, events: i16 },
}

/// Tries an operation's syscall without waiting on a peer. On a blocking pipe or socket it
/// makes the syscall's non-blocking form, or, for a call that has none (accept), the call
/// itself once poll(2) says the fd is ready; elsewhere (files, `O_NONBLOCK` fds, calls that
/// wait on no fd) the syscall. A `WouldBlock` attempt changed nothing.
pub(crate) fn attempt_syscall<O: Op>(op: &mut O) -> Attempt {
    let Some(wait) = op.waits_on() else {
        return Attempt::Done(syscall_restarting(op));
    };
    // A call at an explicit offset never waits on a peer: on a stream it fails with ESPIPE.
    if op.positioned_fd().is_some() {
        return Attempt::Done(syscall_restarting(op));
    }
    // poll(2) waits whatever the fd's flags; the other calls only on a blocking stream.
    if wait.would_block.is_some() && !blocking_stream(wait.fd) {
        return Attempt::Done(syscall_restarting(op));
    }
    let would_block = Attempt::WouldBlock {
        fd: wait.fd,
        events: wait.events,
    };
    match op.syscall_nowait() {
        Some(res) if res == -libc::EAGAIN => would_block,
        // EOPNOTSUPP: this fd lacks RWF_NOWAIT; the call is gated on poll below.
        Some(res) if res != -libc::EOPNOTSUPP => Attempt::Done(res),
        _ if wait.poll_first && !ready_now(wait.fd, wait.events) => would_block,
        _ => Attempt::Done(syscall_restarting(op)),
    }
}

/// Whether `fd` has any of `events` (or an error or hangup) right now.
fn ready_now(fd: RawFd, events: i16) -> bool {
    let mut pfd = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    matches!(poll_until(&mut pfd, Some(Instant::now())), Polled::Ready)
}

/// How a wait in poll(2) ended.
pub(crate) enum Polled {
    /// An fd is ready (or in error).
    Ready,
    /// The deadline passed.
    TimedOut,
    /// A signal handler ran.
    Interrupted,
}

/// poll(2) of `fds` until one is ready or `deadline` (none: no limit). A failure of poll
/// itself (a bad fd number is reported in revents, not as one) counts as ready: the call
/// then reports what is wrong.
pub(crate) fn poll_until(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> Polled {
    loop {
        let ts = deadline.map(|deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(left.subsec_nanos()),
            }
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |ts| ts as *const _);
        // SAFETY: `fds` and `ts` are valid for the call.
        let n = unsafe { sc::ppoll(fds.as_mut_ptr(), fds.len() as u64, ts_ptr) };
        match n {
            0 if deadline.is_none_or(|d| Instant::now() >= d) => return Polled::TimedOut,
            0 => continue,
            n if n == -(libc::EINTR as isize) => return Polled::Interrupted,
            _ => return Polled::Ready,
        }
    }
}

#[cold]
pub(crate) fn fallback_error() -> io::Error {
    match thread_backend().0 {
        Backend::Syscall { reason } => {
            io::Error::new(io::ErrorKind::Unsupported, reason.to_string())
        }
        Backend::IoUring { .. } => io::Error::new(
            io::ErrorKind::Unsupported,
            "the kernel's io_uring lacks this operation",
        ),
    }
}

impl Driver {
    /// Runs a positioned read as a non-blocking syscall (`RWF_NOWAIT`) when its fd is a
    /// buffered file, and returns its result if the page cache could serve all of it (or it
    /// failed for good); `None` means it would block and belongs on the ring.
    pub(crate) fn try_nowait<O: Op>(&mut self, op: &mut O) -> Option<i32> {
        if O::OPCODE != IORING_OP_READ && O::OPCODE != IORING_OP_READV {
            return None;
        }
        let mut sqe = Sqe::zeroed();
        op.prep(&mut sqe);
        let entry = sqe.as_raw();
        let positioned_read = entry.off != u64::MAX && entry.flags == 0;
        if !positioned_read || !self.fds.buffered(entry.fd) {
            return None;
        }
        // SAFETY: the entry points into the live operation and what it borrows.
        unsafe { crate::ring::try_nowait(entry) }
    }
}
