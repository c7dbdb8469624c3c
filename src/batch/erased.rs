//! How a scope handles its operations without knowing their types: one table of functions
//! per operation type ([`OpFns`]), each entry of the table a thin generic function that
//! casts the arena pointer back to its operation.

use std::io;
use std::os::fd::RawFd;

use crate::config::{Fallback, config};
use crate::driver::{
    Attempt, Driver, attempt_syscall, auto_syscall_in_batch, fallback_error, run_syscall,
};
use crate::op::{FixedUse, Op};
use crate::ring::Sqe;
use crate::stats::Counters;

/// How a scope handles one type-erased operation.
pub(super) struct OpFns {
    /// The operation's size and alignment (an arena slot it fits in can be reused).
    pub(super) size: usize,
    pub(super) align: usize,
    pub(super) punted: bool,
    pub(super) soft_fail: bool,
    /// Runs it as its syscall, to the end (restarted on EINTR where std restarts it).
    pub(super) syscall: unsafe fn(*mut ()) -> i32,
    pub(super) drop: unsafe fn(*mut ()),
    pub(super) prep: unsafe fn(*mut (), &mut Sqe),
    /// Whether the kernel's io_uring has the operation at all (opcode, features).
    pub(super) has: fn(&Driver) -> bool,
    /// Whether it can go on the ring with these arguments and give the syscall's answer;
    /// the flag says its fd is a fixed file (so no fd number to check).
    pub(super) fits: unsafe fn(*const (), &mut Driver, bool) -> bool,
    /// Whether its result is a new fd (the scope closes it unless taken).
    pub(super) makes_fd: bool,
    /// Whether it can put its new fd into a fixed file slot.
    pub(super) makes_fixed: bool,
    pub(super) make_fixed: unsafe fn(*mut (), Option<u32>),
    pub(super) cloexec: unsafe fn(*const ()) -> bool,
    pub(super) use_fixed: unsafe fn(*mut (), u32) -> FixedUse,
    /// Sets its main fd; `false` if it has none.
    pub(super) set_main_fd: unsafe fn(*mut (), RawFd) -> bool,
    pub(super) try_nowait: unsafe fn(*mut (), &mut Driver) -> Option<i32>,
    /// Attempts it as its syscall without waiting on a peer (the emulation of a ring);
    /// the flag says whether this is a fallback (the ring lacks it).
    pub(super) attempt: unsafe fn(*mut (), bool) -> Attempted,
    /// Mends the ring's result to the syscall's; the flag says its main fd is the caller's
    /// fd number, open for the whole scope (not a fixed file, not a scope fd), so fixes made
    /// on the fd itself (a refused connect's disconnect) may run.
    pub(super) after_ring: unsafe fn(*mut (), i32, bool) -> i32,
    pub(super) breaks_chain: unsafe fn(*const (), i32) -> bool,
    pub(super) fd_changed: unsafe fn(*const (), i32) -> Option<RawFd>,
    /// The fd it may wait on, the poll events, and the errno the syscall gives where it
    /// would not wait; `None` for a call that waits regardless of the fd (poll) or on none.
    pub(super) socket_wait: unsafe fn(*const ()) -> Option<(RawFd, i16, i32)>,
    /// Given the ring's result of a write to a blocking pipe or socket, writes the rest as
    /// write(2) would and returns the total.
    pub(super) finish_stream: unsafe fn(*const (), i32) -> i32,
    /// After `done` bytes of a write to a blocking pipe or socket: attempts the rest as
    /// [`attempt`](Self::attempt) does; `None` when nothing is left to write there (all
    /// written, or not such a write).
    pub(super) attempt_rest: unsafe fn(*mut (), usize) -> Option<Attempted>,
    /// Whether a write of `done` bytes left some of a stream write's bytes unwritten.
    pub(super) has_rest: unsafe fn(*const (), usize) -> bool,
}

impl OpFns {
    pub(super) const fn of<O: Op>() -> OpFns {
        OpFns {
            size: size_of::<O>(),
            align: align_of::<O>(),
            punted: O::PUNTED,
            soft_fail: O::SOFT_FAIL,
            syscall: syscall_in_arena::<O>,
            drop: drop_in_arena::<O>,
            prep: prep_in_arena::<O>,
            has: Driver::has::<O>,
            fits: fits_in_arena::<O>,
            makes_fd: O::MAKES_FD,
            makes_fixed: O::MAKES_FIXED,
            make_fixed: make_fixed_in_arena::<O>,
            cloexec: cloexec_in_arena::<O>,
            use_fixed: use_fixed_in_arena::<O>,
            set_main_fd: set_main_fd_in_arena::<O>,
            try_nowait: try_nowait_in_arena::<O>,
            attempt: attempt_in_arena::<O>,
            after_ring: after_ring_in_arena::<O>,
            breaks_chain: breaks_chain_in_arena::<O>,
            fd_changed: fd_changed_in_arena::<O>,
            socket_wait: socket_wait_in_arena::<O>,
            finish_stream: finish_stream_in_arena::<O>,
            attempt_rest: attempt_rest_in_arena::<O>,
            has_rest: has_rest_in_arena::<O>,
        }
    }
}

/// # Safety
/// `ptr` must point to a live `O` in a scope's arena, not used afterwards.
unsafe fn drop_in_arena<O>(ptr: *mut ()) {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::drop_in_place(ptr.cast::<O>()) };
}

/// # Safety
/// `ptr` must point to a live `O` that stays at its address until the entry completes.
unsafe fn prep_in_arena<O: Op>(ptr: *mut (), sqe: &mut Sqe) {
    // SAFETY: the caller's contract.
    unsafe { &mut *ptr.cast::<O>() }.prep(sqe);
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn fits_in_arena<O: Op>(ptr: *const (), driver: &mut Driver, fixed: bool) -> bool {
    // SAFETY: the caller's contract.
    let op = unsafe { &*ptr.cast::<O>() };
    driver.has::<O>()
        && if fixed {
            op.fits_ring()
        } else {
            driver.fits(op)
        }
}

/// # Safety
/// `ptr` must point to a live `O` not yet prepared.
unsafe fn make_fixed_in_arena<O: Op>(ptr: *mut (), slot: Option<u32>) {
    // SAFETY: the caller's contract.
    unsafe { &mut *ptr.cast::<O>() }.make_fixed(slot);
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn cloexec_in_arena<O: Op>(ptr: *const ()) -> bool {
    // SAFETY: the caller's contract.
    unsafe { &*ptr.cast::<O>() }.cloexec()
}

/// # Safety
/// `ptr` must point to a live `O` not yet prepared.
unsafe fn use_fixed_in_arena<O: Op>(ptr: *mut (), slot: u32) -> FixedUse {
    // SAFETY: the caller's contract.
    unsafe { &mut *ptr.cast::<O>() }.use_fixed(slot)
}

/// # Safety
/// `ptr` must point to a live `O` not yet prepared or run.
unsafe fn set_main_fd_in_arena<O: Op>(ptr: *mut (), fd: RawFd) -> bool {
    // SAFETY: the caller's contract.
    match unsafe { &mut *ptr.cast::<O>() }.main_fd() {
        Some(main) => {
            *main = fd;
            true
        }
        None => false,
    }
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn try_nowait_in_arena<O: Op>(ptr: *mut (), driver: &mut Driver) -> Option<i32> {
    // SAFETY: the caller's contract.
    driver.try_nowait(unsafe { &mut *ptr.cast::<O>() })
}

/// What an attempt of an emulated entry gave.
pub(super) enum Attempted {
    /// Finished: the result, or the fallback's refusal.
    Done(io::Result<i32>),
    /// It would wait for `events` on `fd`; nothing happened.
    WouldBlock { fd: RawFd, events: i16 },
}

/// # Safety
/// `ptr` must point to a live `O`, which stays where it is until the attempt returns.
unsafe fn attempt_in_arena<O: Op>(ptr: *mut (), fallback: bool) -> Attempted {
    // SAFETY: the caller's contract.
    let op = unsafe { &mut *ptr.cast::<O>() };
    if fallback && !auto_syscall_in_batch(O::PUNTED) && config().fallback == Fallback::Error {
        return Attempted::Done(Err(fallback_error()));
    }
    match attempt_syscall(op) {
        Attempt::Done(res) => {
            Counters::current().fallback();
            Attempted::Done(Ok(res))
        }
        Attempt::WouldBlock { fd, events } => Attempted::WouldBlock { fd, events },
    }
}

/// # Safety
/// `ptr` must point to a live `O` the kernel is not using.
unsafe fn syscall_in_arena<O: Op>(ptr: *mut ()) -> i32 {
    // SAFETY: the caller's contract.
    run_syscall(unsafe { &mut *ptr.cast::<O>() })
}

/// # Safety
/// `ptr` must point to a live `O` whose entry the ring completed with `res`; with `on_fd`,
/// its main fd is the caller's fd number, open.
unsafe fn after_ring_in_arena<O: Op>(ptr: *mut (), res: i32, on_fd: bool) -> i32 {
    // SAFETY: the caller's contract.
    let op = unsafe { &mut *ptr.cast::<O>() };
    let res = op.after_ring(res);
    if on_fd { op.after_ring_on_fd(res) } else { res }
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn breaks_chain_in_arena<O: Op>(ptr: *const (), res: i32) -> bool {
    // SAFETY: the caller's contract.
    O::map_result(res) < 0 || unsafe { &*ptr.cast::<O>() }.short(res)
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn fd_changed_in_arena<O: Op>(ptr: *const (), res: i32) -> Option<RawFd> {
    // SAFETY: the caller's contract.
    unsafe { &*ptr.cast::<O>() }.fd_changed(res)
}

/// Turns a result into the operation's output, moving the operation out of the arena.
///
/// # Safety
/// `ptr` must point to a live `O` in an arena, not used afterwards, and the kernel must be
/// done with it.
pub(super) unsafe fn finish_in_arena<O: Op>(
    ptr: *mut (),
    res: io::Result<i32>,
) -> io::Result<O::Output> {
    // SAFETY: the caller's contract.
    let op = unsafe { ptr.cast::<O>().read() };
    let res = O::map_result(res?);
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(op.output(res))
    }
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn socket_wait_in_arena<O: Op>(ptr: *const ()) -> Option<(RawFd, i16, i32)> {
    // SAFETY: the caller's contract.
    let wait = unsafe { &*ptr.cast::<O>() }.waits_on()?;
    Some((wait.fd, wait.events, wait.would_block?.0))
}

/// # Safety
/// `ptr` must point to a live `O` the kernel is not using.
unsafe fn finish_stream_in_arena<O: Op>(ptr: *const (), res: i32) -> i32 {
    // SAFETY: the caller's contract.
    crate::single::finish_stream_write(unsafe { &*ptr.cast::<O>() }, res)
}

/// # Safety
/// `ptr` must point to a live `O`, which stays where it is until the attempt returns.
unsafe fn attempt_rest_in_arena<O: Op>(ptr: *mut (), done: usize) -> Option<Attempted> {
    // SAFETY: the caller's contract.
    let op = unsafe { &mut *ptr.cast::<O>() };
    let fd = op.waits_on()?.fd;
    let mut rest = op.rest(done).filter(|rest| !rest.is_empty())?;
    if !crate::driver::blocking_stream(fd) {
        return None;
    }
    Some(match attempt_syscall(&mut rest) {
        Attempt::Done(res) => Attempted::Done(Ok(res)),
        Attempt::WouldBlock { fd, events } => Attempted::WouldBlock { fd, events },
    })
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn has_rest_in_arena<O: Op>(ptr: *const (), done: usize) -> bool {
    // SAFETY: the caller's contract.
    let op = unsafe { &*ptr.cast::<O>() };
    op.rest(done).is_some_and(|rest| !rest.is_empty())
}
