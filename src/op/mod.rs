//! Layer 3: every operation, declared once.
//!
//! An operation is a struct holding its arguments, declared in [`list`] by one entry of the
//! [`ops!`] table: its fields, its output, its opcode and how it fills a submission entry.
//! That is the whole declaration of most operations. The few that differ from the syscall
//! in some way write out only the hooks of [`Op`] where they differ. Everything else is
//! derived from the declaration:
//! - the direct syscall that does the same: the filled entry run through
//!   [`ring::emulate`](crate::ring::emulate) (an operation whose arguments an entry cannot
//!   carry states its syscall outright);
//! - the blocking call and the batch method: one line each in `calls.rs`;
//! - the ring-or-syscall decision, the `O_NONBLOCK`, `ESPIPE` and signal behaviour of the
//!   syscall: from the hooks, in the driver.
//!
//! The memory an entry points to lives in the operation (a path, a `statx` buffer, a socket
//! address) or in what it borrows (the caller's buffer). Whoever runs it keeps the operation
//! at one address from `prep` until its completion is reaped.

mod args;
mod list;
mod rest;

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

pub(crate) use args::{
    CPath, RawBuf, RawData, RawSockAddr, monotonic_timespec, shutdown_how, timespec,
};
pub use list::with_unread_iovecs;
pub(crate) use list::*;
pub(crate) use rest::StreamRest;

use crate::ring::Sqe;
use crate::sys::syscall::Errno;

/// What a signal does to a call waiting for its operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OnSignal {
    /// A handler installed without `SA_RESTART` makes the call fail with `EINTR`; an
    /// `SA_RESTART` handler, a stop or a ptrace attach make it go on waiting (read(2)).
    Interrupt,
    /// Any handler makes it fail with `EINTR`, `SA_RESTART` or not (poll(2)).
    InterruptAlways,
    /// It goes on waiting: std retries it on `EINTR` (open, fsync, ftruncate, accept) or it
    /// ignores signals (a sleep).
    Restart,
}

/// How an operation may wait on an fd (a pipe or a socket). The ring must know it to answer
/// as the syscall does: on an `O_NONBLOCK` fd the syscall fails instead of waiting, and
/// without a ring a deadline is kept by polling before the call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FdWait {
    /// The fd.
    pub fd: RawFd,
    /// The poll(2) events it waits for.
    pub events: i16,
    /// Whether readiness can be polled for before the call (not for connect).
    pub poll_first: bool,
    /// What the syscall fails with on an `O_NONBLOCK` fd instead of waiting: `EAGAIN`, or
    /// `EINPROGRESS` for connect; `None` when it waits regardless (poll).
    pub would_block: Option<Errno>,
    /// Whether `O_NONBLOCK` is checked before submitting rather than after: a socket call
    /// may complete inside the submitting enter where the syscall would have said EAGAIN.
    pub check_first: bool,
}

impl FdWait {
    /// A read or write of a file, pipe or socket (read(2), write(2) and their vectored and
    /// positioned forms): `O_NONBLOCK` checked after submitting, as most fds are files.
    #[inline]
    pub(crate) const fn transfer(fd: RawFd, write: bool) -> FdWait {
        FdWait {
            fd,
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            poll_first: true,
            would_block: Some(Errno(libc::EAGAIN)),
            check_first: false,
        }
    }

    /// A socket call that waits to read (recv, accept) or write (send): `O_NONBLOCK` checked
    /// first, since one fcntl is cheaper than a second enter.
    #[inline]
    pub(crate) const fn socket(fd: RawFd, write: bool) -> FdWait {
        FdWait {
            check_first: true,
            ..FdWait::transfer(fd, write)
        }
    }

    /// connect(2): `EINPROGRESS` on an `O_NONBLOCK` socket.
    #[inline]
    pub(crate) const fn connect(fd: RawFd) -> FdWait {
        FdWait {
            poll_first: false,
            would_block: Some(Errno(libc::EINPROGRESS)),
            ..FdWait::socket(fd, true)
        }
    }

    /// poll(2) of `events`: waits whatever the fd's flags and timeouts.
    #[inline]
    pub(crate) const fn poll(fd: RawFd, events: i16) -> FdWait {
        FdWait {
            fd,
            events,
            poll_first: true,
            would_block: None,
            check_first: false,
        }
    }
}

/// One operation: the entry it fills, the syscall it stands for, what its result means, and
/// how it relates to its fd. Implemented through [`ops!`].
pub(crate) trait Op: Sized {
    // The entry.

    /// The opcode it submits; the probe says whether the kernel has it.
    const OPCODE: u8;
    /// `IORING_FEAT_*` bits the kernel must have for the entry as `prep` fills it.
    const FEATURES: u32 = 0;
    /// Whether the kernel always hands this opcode to an io-wq worker (it cannot complete
    /// inline), so even through a batch it pays a thread handoff per operation.
    const PUNTED: bool = false;
    /// Whether the kernel completes a failure of this opcode without cutting its link chain
    /// (no `REQ_F_FAIL`: the next entry runs), where the crate's chains stop at a failure.
    const SOFT_FAIL: bool = false;
    /// Fills `sqe`. Called with `self` at the address it keeps until completion.
    fn prep(&mut self, sqe: &mut Sqe);
    /// Whether these arguments fit a ring entry; if not, the operation runs as its syscall.
    #[inline]
    fn fits_ring(&self) -> bool {
        true
    }

    // The syscall.

    /// Makes the syscall the entry stands for and returns its result or `-errno`, as a
    /// completion would carry it. By default the entry filled by `prep` runs through
    /// [`emulate`](crate::ring::emulate).
    #[inline]
    fn syscall(&mut self) -> i32 {
        let mut sqe = Sqe::zeroed();
        self.prep(&mut sqe);
        // SAFETY: the entry points into `self` and what it borrows, all alive and unmoved
        // for the call; the syscall is done with them when it returns.
        unsafe { crate::ring::emulate(sqe.as_raw()) }
    }

    /// Makes the syscall without waiting, where it has a non-blocking form (see
    /// [`emulate_nowait`](crate::ring::emulate_nowait)): the result, `-EAGAIN` if it would
    /// have waited, or `None` if the operation has no such form.
    #[inline]
    fn syscall_nowait(&mut self) -> Option<i32> {
        let mut sqe = Sqe::zeroed();
        self.prep(&mut sqe);
        // SAFETY: as for `syscall`.
        unsafe { crate::ring::emulate_nowait(sqe.as_raw()) }
    }

    // The result.

    /// What the call returns on success.
    type Output;
    /// Maps a raw result before the error check (a timeout's `-ETIME` is its success).
    #[inline]
    fn map_result(res: i32) -> i32 {
        res
    }
    /// Whether a successful result counts as a failure in a linked chain, as the kernel
    /// counts a short read or write: later entries of the chain are then cancelled.
    #[inline]
    fn short(&self, _res: i32) -> bool {
        false
    }
    /// Called with the raw result of an entry the ring ran; returns the result the syscall
    /// would have given. Repeats a side effect the syscall has and io_uring lacks (SIGPIPE on
    /// a send to a closed peer), or runs the syscall where the ring's answer differs from it
    /// (a FIFO open, which the ring does not wait for).
    #[inline]
    fn after_ring(&mut self, res: i32) -> i32 {
        res
    }
    /// As [`after_ring`](Op::after_ring), for a call whose fd is the caller's fd number: a
    /// single call, or a batch call on the caller's fd (in a batch the fd may also be a
    /// fixed file's slot, or an fd of the scope's that a later call of it may close).
    #[inline]
    fn after_ring_on_fd(&mut self, res: i32) -> i32 {
        res
    }
    /// Turns a non-negative result into the output.
    fn output(self, res: i32) -> Self::Output;

    // The fd.

    /// The fd of an operation at an explicit file offset (pread and friends), which must be
    /// seekable for the ring to answer as the syscall does (io_uring ignores the offset on a
    /// pipe, where pread(2) fails with `ESPIPE`).
    #[inline]
    fn positioned_fd(&self) -> Option<RawFd> {
        None
    }
    /// The fd of an operation at the file position (read, write, readv, writev), which must
    /// not be an `O_DIRECT` file for the ring to answer as the syscall does: io_uring moves
    /// the file position only when the transfer completes at submission, and an `O_DIRECT`
    /// transfer completes later, from the device, leaving the position where it was.
    #[inline]
    fn current_position_fd(&self) -> Option<RawFd> {
        None
    }
    /// The fd the operation may wait on, and how; see [`FdWait`].
    #[inline]
    fn waits_on(&self) -> Option<FdWait> {
        None
    }
    /// The fd number whose file this operation replaces or creates (given its raw result),
    /// so per-fd caches forget what they knew of the number.
    #[inline]
    fn fd_changed(&self, _res: i32) -> Option<RawFd> {
        None
    }
    /// Whether a successful result is a new fd (open, socket, accept): in a batch scope its
    /// handle can then serve later calls as their fd, and an fd nobody takes is closed when
    /// the scope ends.
    const MAKES_FD: bool = false;
    /// Whether an operation that makes an fd can put it into a fixed file slot instead
    /// ([`make_fixed`](Op::make_fixed)).
    const MAKES_FIXED: bool = false;
    /// For an operation that makes an fd: puts the new file into fixed file slot `slot`
    /// instead (result 0), so later entries of a chain can use it before it exists; `None`
    /// makes it an fd again.
    #[inline]
    fn make_fixed(&mut self, _slot: Option<u32>) {}
    /// Whether the fd an operation makes is an `O_DIRECT` file: calls of the scope at its
    /// file position then run as syscalls (see
    /// [`current_position_fd`](Op::current_position_fd)).
    #[inline]
    fn opens_direct(&self) -> bool {
        false
    }
    /// Whether the fd an operation makes is close-on-exec (a fixed file installed as an fd
    /// for the caller gets the same).
    #[inline]
    fn cloexec(&self) -> bool {
        true
    }
    /// The operation's main fd (the one a scope-born fd can stand for), to be filled in
    /// when the scope knows it.
    #[inline]
    fn main_fd(&mut self) -> Option<&mut RawFd> {
        None
    }
    /// Makes the operation use fixed file `slot` as its main fd.
    #[inline]
    fn use_fixed(&mut self, slot: u32) -> FixedUse {
        match self.main_fd() {
            Some(fd) => {
                *fd = slot as RawFd;
                FixedUse::Flag
            }
            None => FixedUse::Unsupported,
        }
    }
    /// What is left to write after `done` bytes, for a write that io_uring completed short
    /// on a blocking pipe or socket, where write(2) and send(2) wait to write everything;
    /// `None` when nothing is left or the syscall would have returned short too.
    #[inline]
    fn rest(&self, _done: usize) -> Option<StreamRest<'_>> {
        None
    }

    // Signals.

    /// What a signal does to a call waiting for it.
    const ON_SIGNAL: OnSignal = OnSignal::Interrupt;
}

/// How an operation takes a fixed file as its fd.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FixedUse {
    /// Its entry needs `IOSQE_FIXED_FILE`.
    Flag,
    /// It set the fixed slot in its entry itself (a close of a fixed file).
    Own,
    /// It cannot.
    Unsupported,
}

/// Outputs that follow from the raw result alone.
pub(crate) trait FromResult {
    /// The output of a non-negative result.
    fn from_result(res: i32) -> Self;
}

impl FromResult for () {
    #[inline]
    fn from_result(_: i32) {}
}

impl FromResult for usize {
    #[inline]
    fn from_result(res: i32) -> usize {
        res as usize
    }
}

impl FromResult for OwnedFd {
    #[inline]
    fn from_result(res: i32) -> OwnedFd {
        // SAFETY: the kernel just returned `res` as a new file descriptor of this process;
        // nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(res) }
    }
}

/// The most a single read or write transfers on Linux (`MAX_RW_COUNT`); the kernel clamps
/// larger requests to it, so clamping the `u32` length field changes no result.
pub(crate) const MAX_RW_COUNT: usize = 0x7fff_f000;

/// A transfer length as the entry's 32-bit field carries it.
#[inline]
pub(crate) fn rw_len(len: usize) -> u32 {
    len.min(MAX_RW_COUNT) as u32
}

/// Declares operations, one entry each:
///
/// ```text
/// /// docs
/// Name<'a> { field: Type, ... } -> Output = OPCODE |op, sqe| prep-expression
///     [, output |op, res| expression]      // default: FromResult
///     [{ Op hooks that differ from the defaults }];
/// ```
///
/// `OPCODE` is an `IORING_OP_*` constant. The struct gets `pub(crate)` fields and an
/// [`Op`] impl.
macro_rules! ops {
    ($(
        $(#[$doc:meta])*
        $name:ident $(<$($lt:lifetime),+>)? { $($field:ident : $fty:ty),* $(,)? }
        -> $out:ty = $opcode:ident |$o:ident, $sqe:ident| $prep:expr
        $(, output |$oo:ident, $ores:ident| $output:expr)?
        $(, { $($hooks:tt)* })?
        ;
    )*) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name $(<$($lt),+>)? {
                $(pub(crate) $field: $fty,)*
            }

            impl $(<$($lt),+>)? $crate::op::Op for $name $(<$($lt),+>)? {
                const OPCODE: u8 = $opcode;
                type Output = $out;
                #[inline]
                fn prep(&mut self, sqe: &mut $crate::ring::Sqe) {
                    let $o = self;
                    let $sqe = sqe;
                    $prep;
                }
                $crate::op::ops_output!($out $(, |$oo, $ores| $output)?);
                $($($hooks)*)?
            }
        )*
    };
}

/// The `output` of an [`ops!`] entry: the stated one, or [`FromResult`].
macro_rules! ops_output {
    ($out:ty) => {
        #[inline]
        fn output(self, res: i32) -> $out {
            <$out as $crate::op::FromResult>::from_result(res)
        }
    };
    ($out:ty, |$o:ident, $res:ident| $output:expr) => {
        #[inline]
        fn output(self, res: i32) -> $out {
            let $o = self;
            let $res = res;
            $output
        }
    };
}

pub(crate) use {ops, ops_output};
