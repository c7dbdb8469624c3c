//! Layer 4: the driver — the calling thread's ring and everything that keeps it honest.
//!
//! | file | owns |
//! |---|---|
//! | `thread.rs` | where a thread's ring lives: the thread-local, setup on first use, warm-up, the reason a thread runs syscalls |
//! | `wait.rs` | where a wait loops: submitting, waiting for the blocking entry or any completion, signals, making room |
//! | `slots.rs` | completion slots of batch entries, and the fixed file slots of linked chains |
//! | `fdcache.rs` | what is known of fd numbers: seekable, buffered, `O_NONBLOCK` streams |
//! | `syscall.rs` | running an operation as its syscall: the fallback decision, deadlines without a ring |
//! | `fork.rs` | the fork generation, so a child never uses its parent's ring |
//! | `reaper.rs` | unmapping an exited thread's ring off that thread's exit path |
//!
//! Single calls (`single.rs`) and batches (`batch/`) sit on top of the driver, side by side.

mod creds;
mod fdcache;
mod fork;
mod reaper;
mod slots;
mod syscall;
mod thread;
mod wait;

use crate::op::Op;
use crate::ring::{Cqe, Probe, Ring};
use crate::stats::Counters;

pub(crate) use fdcache::{FdCache, blocking_stream, is_direct, nonblocking_stream};
pub(crate) use fork::{fork_generation, register_fork_handler};
pub(crate) use slots::{Completions, FixedSlot, Slot};
pub(crate) use syscall::{
    Attempt, Polled, attempt_syscall, auto_dispatch, auto_syscall_in_batch, auto_syscall_single,
    fallback, fallback_error, poll_until, run_syscall,
};
pub(crate) use thread::{forget_fd, thread_backend, with_driver, with_local};
pub(crate) use wait::{FirstWait, Waited, socket_timeout};

/// `user_data` of the one blocking operation a thread can have in flight.
pub(crate) const BLOCKING: u64 = u64::MAX;
/// `user_data` of internal entries whose completions are ignored (cancels, removals).
pub(crate) const IGNORED: u64 = u64::MAX - 1;
/// `user_data` of the linked timeout of the blocking operation.
pub(crate) const BLOCKING_TIMEOUT: u64 = u64::MAX - 2;
/// `user_data` of multishot stream `id` is `STREAMS + id` (batch slots stay far below).
pub(crate) const STREAMS: u64 = 1 << 62;

/// A thread's ring and what goes with it.
pub(crate) struct Driver {
    /// Given up to the reaper, not dropped, when the driver drops.
    pub(crate) ring: std::mem::ManuallyDrop<Ring>,
    probe: Probe,
    /// The fork generation the ring was made in.
    pub(crate) generation: u64,
    pub(crate) counters: &'static Counters,
    /// The blocking operation's result when another wait reaped it.
    blocking_result: Option<i32>,
    /// What is known of fd numbers.
    pub(crate) fds: FdCache,
    /// Completion slots of batch entries, and fixed file slots.
    pub(crate) completions: Completions,
    /// The credentials an SQPOLL ring's entries run with (see `creds.rs`); `None` without
    /// SQPOLL, where the kernel uses the submitter's current ones.
    pinned: Option<creds::Pinned>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Only a thread's exit (or a fork child replacing its parent's ring) drops a driver;
        // every operation has been reaped by then. Unmapping is left to the reaper thread so
        // the exiting thread does not wait for it.
        // SAFETY: the ring is taken once, here, and the driver is not used afterwards.
        let ring = unsafe { std::mem::ManuallyDrop::take(&mut self.ring) };
        if let Some(remains) = ring.into_remains() {
            reaper::release_later(remains);
        }
    }
}

impl Driver {
    /// Whether the kernel has `opcode`.
    #[inline]
    pub(crate) fn supports(&self, opcode: u8) -> bool {
        self.probe.is_supported(opcode)
    }

    /// Whether the kernel lets `O` through the ring at all: the opcode and the features its
    /// entry needs. When not, the operation runs as its syscall (or fails, under
    /// [`Fallback::Error`](crate::Fallback::Error)).
    #[inline]
    pub(crate) fn has<O: Op>(&self) -> bool {
        self.probe.is_supported(O::OPCODE) && self.ring.features() & O::FEATURES == O::FEATURES
    }

    /// Whether `op`, with these arguments, can go through the ring and give the syscall's
    /// answer there. An operation at an explicit offset on a file that has none (a pipe, a
    /// socket) cannot: io_uring would ignore the offset where pread(2) fails with `ESPIPE`,
    /// so it runs as the syscall, which gives that error. Nor can a read or write at the file
    /// position of an `O_DIRECT` file: io_uring would leave the position where it was.
    #[inline]
    pub(crate) fn fits<O: Op>(&mut self, op: &O) -> bool {
        op.fits_ring()
            && op.positioned_fd().is_none_or(|fd| self.fds.seekable(fd))
            && op
                .current_position_fd()
                .is_none_or(|fd| self.fds.buffered(fd))
    }

    /// Moves every ready completion into the batch slots.
    pub(crate) fn reap_into_completions(&mut self) {
        while let Some(cqe) = self.ring.peek_cqe() {
            self.dispatch(cqe);
        }
    }

    /// Files a completion: the blocking operation's for its waiter, a batch entry's in its
    /// slot.
    #[inline]
    pub(crate) fn dispatch(&mut self, cqe: Cqe) {
        match cqe.user_data() {
            IGNORED | BLOCKING_TIMEOUT => {}
            // Reaped by someone else's wait (a flush while the SQ was full): kept for
            // wait_blocking.
            BLOCKING => self.blocking_result = Some(cqe.result()),
            user_data if user_data >= STREAMS => {
                let more = cqe.flags() & crate::sys::IORING_CQE_F_MORE != 0;
                self.completions.complete_stream(
                    (user_data - STREAMS) as usize,
                    cqe.result(),
                    more,
                );
            }
            user_data => self.completions.complete(user_data, cqe.result()),
        }
    }
}
