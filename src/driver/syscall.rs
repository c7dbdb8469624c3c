//! Running an operation as its syscall: when there is no ring (io_uring refused, disabled),
//! when the kernel lacks the opcode, when the arguments do not fit an entry, or by choice
//! (a thread's warm-up call, `Dispatch::Auto`). The answer is the syscall's; a deadline of
//! [`with_timeout`](crate::with_timeout) is kept by polling the fd first.

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

use super::{Driver, nonblocking_stream, thread_backend};
use crate::config::{Backend, Dispatch, Fallback, config};
use crate::op::{OnSignal, Op};
use crate::ring::Sqe;
use crate::stats::Counters;
use crate::sys::syscall::{self as sc, Errno};
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

/// Runs an operation as its syscall, retrying EINTR where std does.
#[inline]
pub(crate) fn run_syscall<O: Op>(op: &mut O) -> i32 {
    Counters::current().fallback();
    if let Some(wait) = op.waits_on() {
        if let Some(deadline) = crate::timeout::current_deadline() {
            if wait.poll_first {
                if let Err(errno) = wait_until_ready(wait.fd, wait.events, deadline) {
                    return -errno.0;
                }
            }
        }
    }
    loop {
        let res = op.syscall();
        if !(O::ON_SIGNAL == OnSignal::Restart && res == -libc::EINTR) {
            return res;
        }
    }
}

/// Without a ring, [`with_timeout`](crate::with_timeout) on a call that may wait for an fd
/// waits for the fd with poll(2) up to the deadline first: `ETIMEDOUT` if it stays unready.
/// An `O_NONBLOCK` fd is not waited for (the call fails at once, as without a timeout).
#[cold]
fn wait_until_ready(fd: RawFd, events: i16, deadline: Instant) -> Result<(), Errno> {
    if nonblocking_stream(fd) {
        return Ok(());
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = libc::timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: libc::c_long::from(left.subsec_nanos()),
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd and timespec for the call.
        match unsafe { sc::ppoll(&mut pfd, 1, &ts) } {
            0 if Instant::now() >= deadline => return Err(Errno(libc::ETIMEDOUT)),
            0 => continue,
            n if n > 0 => return Ok(()),
            n if n == -(libc::EINTR as isize) => continue,
            // The call itself will report what is wrong with the fd.
            _ => return Ok(()),
        }
    }
}

#[cold]
fn fallback_error() -> io::Error {
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
