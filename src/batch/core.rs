//! The non-generic part of a scope: its queued entries, and how they start — on the ring,
//! chain by chain, or as syscalls — and how a result is taken.

use std::cell::{Cell, RefCell};
use std::io;
use std::ops::Range;
use std::time::Instant;

use super::arena::Arena;
use super::emulate::EmulatedChain;
use super::erased::OpFns;
use crate::driver::{
    Driver, FixedSlot, IGNORED, Slot, auto_dispatch, auto_syscall_in_batch, forget_fd,
    fork_generation, nonblocking_stream, run_syscall, socket_timeout, with_driver,
};
use crate::op::{self, FixedUse, Op};
use crate::stats::Counters;
use crate::sys::*;

thread_local! {
    /// The entry list of the thread's last finished scope, kept (empty) for the next one.
    pub(super) static SPARE_QUEUE: Cell<Vec<Queued>> = const { Cell::new(Vec::new()) };
}

/// One queued operation of a scope.
pub(super) struct Queued {
    /// The operation in the scope's arena; null once its handle took it, or for a
    /// conversion error.
    pub(super) op: *mut (),
    /// Where its operation lives in the arena (kept after the handle took it).
    pub(super) mem: *mut (),
    pub(super) fns: &'static OpFns,
    pub(super) state: State,
    /// `IOSQE_*` flags asked for when it was queued (drain).
    pub(super) flags: u8,
    /// Whether the next entry is linked to this one (a chain).
    pub(super) link: bool,
    /// Its result nobody waits for: the close of a direct-descriptor chain, whose completion
    /// frees this fixed-file slot.
    pub(super) detached: Option<u32>,
    /// The earlier entry of a chain whose error explains this entry's `ECANCELED`.
    pub(super) after: Option<usize>,
    /// The deadline of a [`with_timeout`](crate::with_timeout) in force when it was queued.
    pub(super) deadline: Option<Instant>,
    /// The completion slot of its linked timeout, once on the ring: its `-ETIME` says the
    /// deadline, not something else, cancelled the operation.
    pub(super) timeout_slot: Option<u32>,
    /// Its linked timeout fired (known once its result was taken).
    pub(super) fired: bool,
    /// Run as syscalls because the ring lacks the operation (`Fallback::Error` refuses).
    pub(super) fallback: bool,
    /// The entry whose fd (a scope fd) this one uses as its main fd.
    pub(super) fd_entry: Option<usize>,
    /// For an entry that makes an fd: the fixed file slot it opened into.
    pub(super) fixed_slot: Option<u32>,
    /// For an entry that makes an fd: the fd is no longer the scope's (taken by its
    /// handle, or closed by a call that completed), so the scope does not close it.
    pub(super) fd_gone: bool,
    /// For an entry that makes an fd: the call of the scope that closes it. Calls queued
    /// after it find the fd gone (`EBADF`).
    pub(super) closer: Option<usize>,
    /// For an fd registered with `Batch::fixed`: the fd is the caller's, never closed.
    pub(super) borrowed: bool,
    /// The registered buffer slot of the pool buffer it reads into or writes from.
    pub(super) reg_buf: Option<u16>,
    /// For the close of a scope fd that earlier calls of the scope may still look up: the
    /// fd number, now standing for an `O_PATH` placeholder (where those calls fail with
    /// `EBADF`) so that nothing else gets it before they finish; closed when the scope ends.
    pub(super) held: Option<i32>,
    /// For an entry that makes an fd: its handle took the fd while calls of the scope still
    /// used it (they keep the scope's own; see `hand_out_fd`); calls queued from this index
    /// on find it gone (`EBADF`).
    pub(super) taken_at: Option<usize>,
    /// Run as syscalls and found waiting on a socket: when its own timeout
    /// (`SO_RCVTIMEO`/`SO_SNDTIMEO`) ends the wait, if it has one (`Some(None)`: it has
    /// none).
    pub(super) socket_deadline: Option<Option<Instant>>,
    /// A regular fd installed for the fixed file this entry names, as it runs as a syscall
    /// (where a fixed file cannot stand for an fd); closed when the scope ends.
    pub(super) installed: Option<i32>,
    /// Run as syscalls, a write to a blocking pipe or socket written in part: how much (the
    /// rest is written as write(2) would, part by part without waiting).
    pub(super) partial: usize,
    /// Cancelled because its socket's timeout ran out: the errno the syscall gives then.
    pub(super) socket_timed_out: Option<i32>,
    /// For an entry that makes or stands for an fd: the fd is an `O_DIRECT` file.
    pub(super) direct: bool,
    /// It reads or writes at the file position of an `O_DIRECT` scope fd: it runs as its
    /// syscall, which moves the position as the transfer's own (through io_uring a transfer
    /// completing later, from the device, reads the position as it was at submission,
    /// not as the transfers before it left it).
    pub(super) syscall_only: bool,
}

impl Queued {
    /// Whether it is queued and may run on the ring as far as the scope knows (the ring
    /// may still lack its operation or refuse its arguments).
    fn may_go_on_ring(&self) -> bool {
        matches!(self.state, State::Queued)
            && !auto_syscall_in_batch(self.fns.punted)
            && !self.syscall_only
    }

    /// Whether its main fd is the caller's fd number, open while the scope lasts (not a
    /// fixed file, not an fd the scope made): fixes made on the fd itself after the ring
    /// answered (see `Op::after_ring_on_fd`) may run on it.
    pub(super) fn on_callers_fd(&self) -> bool {
        self.flags & IOSQE_FIXED_FILE == 0 && self.fd_entry.is_none()
    }
}

/// A buffer of the scope's pool.
pub(super) struct PoolBuf {
    pub(super) ptr: *mut u8,
    pub(super) len: usize,
    /// Entries that name it.
    pub(super) users: Vec<usize>,
    /// How many views lend its bytes out now (`Batch::view`, nested or not): no operation
    /// may name it meanwhile.
    pub(super) viewing: u32,
    /// Its slot in the ring's registered buffer table.
    pub(super) reg: Option<u16>,
}

/// The allocation of a pool buffer of `len` bytes: page-aligned (for `O_DIRECT`), never
/// empty.
pub(super) fn pool_layout(len: usize) -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(len.max(1), 4096).expect("a buffer size below isize::MAX")
}

/// What a scope fd stands for when an entry that uses it starts.
pub(super) enum ScopeFdValue {
    /// A fixed file slot.
    Fixed(u32),
    /// An fd number.
    Raw(i32),
    /// Nothing: the open failed, or the fd was taken or closed (`EBADF`).
    Bad,
}

pub(super) enum State {
    /// Queued, not started yet.
    Queued,
    /// On the ring, in completion slot `slot`.
    Ring { slot: u32 },
    /// Started as syscalls, not finished: see `emulate.rs`.
    Emulated,
    /// Finished without the ring (direct syscall, conversion error, cancelled chain).
    Done(io::Result<i32>),
    /// Its result was taken, or nobody takes it.
    Taken,
}

/// Unstarted entries that make a scope start them by itself.
const AUTO_START: usize = 64;

/// What [`Core::take_result`] takes out of an entry.
pub(super) struct Taken {
    pub(super) res: io::Result<i32>,
    /// Its linked timeout fired.
    pub(super) timed_out: bool,
    /// The operation, now owned by the caller (null for a conversion error).
    pub(super) op: *mut (),
    pub(super) after: Option<usize>,
}

/// The non-generic part of a scope, which handles point to.
pub(super) struct Core {
    pub(super) queued: RefCell<Vec<Queued>>,
    pub(super) arena: RefCell<Arena>,
    /// Entries before this index have been started.
    pub(super) started: Cell<usize>,
    /// IOSQE_* flags for the next entry (drain).
    pub(super) next_flags: Cell<u8>,
    /// Inside [`Batch::link`].
    pub(super) linking: Cell<bool>,
    /// A drained entry is queued and not started: nothing queued after it may run first.
    pub(super) drain_queued: Cell<bool>,
    /// The fork generation the scope began in: a fork child cannot wait for its parent's
    /// operations, which live in the parent's ring.
    pub(super) generation: u64,
    /// Set when an operation's completion could not be reaped: its memory must never be
    /// freed.
    pub(super) leak: Cell<bool>,
    /// Values the scope keeps until its end, after every completion (fds passed by value,
    /// which must stay open while the kernel may look them up): each in the arena, with
    /// its drop function.
    pub(super) kept: RefCell<Vec<Kept>>,
    /// Set when the scope's closure returned; a scope dropped without it is unwinding
    /// from a panic of its own closure (not merely dropped while another panic unwinds).
    pub(super) returned: Cell<bool>,
    /// Chains running as syscalls.
    pub(super) emulated: RefCell<Vec<EmulatedChain>>,
    /// The scope's buffer pool.
    pub(super) bufs: RefCell<Vec<PoolBuf>>,
    /// The scope fd the entry being pushed uses (see `push_with`).
    pub(super) pending_fd: Cell<Option<usize>>,
    /// Entries a window or stream finished with, whose places new entries may take.
    pub(super) recycled: RefCell<Vec<usize>>,
    /// Entries queued in recycled places, to start with the next `start_pending`.
    pub(super) restart: RefCell<Vec<usize>>,
}

/// A value kept in the arena until the scope ends, and its drop function.
pub(super) type Kept = (*mut (), unsafe fn(*mut ()));

impl Core {
    /// Keeps `value` until the scope ends, after every completion; a value without drop
    /// glue (a reference, a borrowed fd) needs no keeping.
    pub(super) fn keep<T>(&self, value: T) {
        if std::mem::needs_drop::<T>() {
            let ptr = self.arena.borrow_mut().alloc(value);
            self.kept.borrow_mut().push((ptr, drop_kept::<T>));
        }
    }

    /// Queues an operation that names the fd made by entry `fd_entry` (and `closes` it),
    /// and returns its index.
    pub(super) fn push_with<O: Op>(
        &self,
        op: io::Result<O>,
        fd_entry: Option<usize>,
        closes: bool,
    ) -> usize {
        if fd_entry.is_none() {
            return self.push(op);
        }
        // Set before it may start (push starts a full queue).
        self.pending_fd.set(fd_entry);
        let index = self.push(op);
        if let (Some(j), true) = (fd_entry, closes) {
            let mut queued = self.queued.borrow_mut();
            if queued[j].closer.is_none() {
                queued[j].closer = Some(index);
            }
        }
        index
    }

    /// Queues an operation (or a conversion error) and returns its index.
    pub(super) fn push<O: Op>(&self, op: io::Result<O>) -> usize {
        let flags = self.next_flags.replace(0);
        let link = self.linking.get();
        let deadline = crate::timeout::current_deadline();
        let fd_entry = self.pending_fd.take();
        let (at_position, direct) = op.as_ref().map_or((false, false), |op| {
            (op.current_position_fd().is_some(), op.opens_direct())
        });
        // An entry a window or stream is done with takes the new one, when it can stand
        // alone in that place (see `recyclable`).
        let reuse = match &op {
            Ok(_) if !link && flags == 0 && !self.drain_queued.get() => {
                self.reusable_entry(fd_entry, size_of::<O>(), align_of::<O>())
            }
            _ => None,
        };
        let (op, mut state) = match (op, reuse) {
            (Ok(op), Some((_, mem))) if !mem.is_null() => {
                // SAFETY: `mem` is the arena memory of a finished entry whose operation was
                // moved out by its handle, at least as large and aligned as an `O`.
                unsafe { mem.cast::<O>().write(op) };
                (mem, State::Queued)
            }
            (Ok(op), _) => (self.arena.borrow_mut().alloc(op), State::Queued),
            (Err(e), _) => (std::ptr::null_mut(), State::Done(Err(e))),
        };
        if flags & IOSQE_IO_DRAIN != 0 {
            self.drain_queued.set(true);
        }
        if matches!(state, State::Queued)
            && !link
            && flags == 0
            && deadline.is_none()
            && fd_entry.is_none()
            && !self.drain_queued.get()
            && auto_dispatch()
        {
            // SAFETY: op is the live operation just placed in the arena.
            state = unsafe { Self::auto_now::<O>(op) }.unwrap_or(State::Queued);
        }
        let mut queued = self.queued.borrow_mut();
        let syscall_only = at_position && fd_entry.is_some_and(|j| queued[j].direct);
        let entry = Queued {
            op,
            mem: op,
            fns: const { &OpFns::of::<O>() },
            state,
            flags,
            link,
            detached: None,
            after: None,
            deadline,
            timeout_slot: None,
            fired: false,
            fallback: false,
            fd_entry,
            fixed_slot: None,
            fd_gone: false,
            closer: None,
            borrowed: false,
            reg_buf: None,
            held: None,
            taken_at: None,
            socket_deadline: None,
            socket_timed_out: None,
            installed: None,
            partial: 0,
            direct,
            syscall_only,
        };
        if let Some((index, _)) = reuse {
            let queued_now = matches!(entry.state, State::Queued);
            queued[index] = entry;
            if queued_now {
                // Its place is among the started ones: start_pending starts it.
                self.restart.borrow_mut().push(index);
            }
            return index;
        }
        queued.push(entry);
        let index = queued.len() - 1;
        let unstarted = queued.len() - self.started.get();
        drop(queued);
        if unstarted >= AUTO_START && !self.linking.get() {
            self.start_pending();
        }
        index
    }

    /// Offers entry `index`, whose result a window or stream just took, for a later entry
    /// to take its place, so that a stream of any length keeps the scope's memory bounded.
    /// Only an entry nothing else refers to qualifies: alone (no chain), its result taken,
    /// no fd of its own, no fd, slot or timeout left for the scope's end.
    pub(super) fn recyclable(&self, index: usize) {
        let queued = self.queued.borrow();
        let q = &queued[index];
        let alone = !q.link && (index == 0 || !queued[index - 1].link);
        let closes = q.fd_entry.is_some_and(|j| queued[j].closer == Some(index));
        if alone
            && !closes
            && matches!(q.state, State::Taken)
            && q.op.is_null()
            && !q.fns.makes_fd
            && q.detached.is_none()
            && q.timeout_slot.is_none()
            && q.held.is_none()
            && q.installed.is_none()
        {
            drop(queued);
            self.recycled.borrow_mut().push(index);
        }
    }

    /// A recycled entry a new entry (using scope fd `fd_entry`, its operation `size` bytes
    /// aligned to `align`) can take the place of, with its operation's memory if that is
    /// large enough (else null). None while entries wait to start (the new one would start
    /// before them).
    fn reusable_entry(
        &self,
        fd_entry: Option<usize>,
        size: usize,
        align: usize,
    ) -> Option<(usize, *mut ())> {
        let mut recycled = self.recycled.borrow_mut();
        let queued = self.queued.borrow();
        if recycled.is_empty() || self.started.get() != queued.len() || self.linking.get() {
            return None;
        }
        // A scope fd must be made before the entries that use it.
        let pos = recycled
            .iter()
            .rposition(|&i| fd_entry.is_none_or(|j| j < i))?;
        let index = recycled.swap_remove(pos);
        let q = &queued[index];
        let mem = if size <= q.fns.size && align <= q.fns.align {
            q.mem
        } else {
            std::ptr::null_mut()
        };
        Some((index, mem))
    }

    /// Under `Dispatch::Auto`, runs an operation at once when the ring would be slower: an
    /// opcode the kernel always punts to io-wq, or a positioned read the page cache serves
    /// without waiting (`RWF_NOWAIT`). `None` leaves it for the ring.
    ///
    /// # Safety
    /// `op` must point to a live `O` in the arena.
    unsafe fn auto_now<O: Op>(op: *mut ()) -> Option<State> {
        // SAFETY: the caller's contract.
        let op = unsafe { &mut *op.cast::<O>() };
        if O::PUNTED {
            return Some(State::Done(Ok(run_syscall(op))));
        }
        let res = with_driver(|d| d.try_nowait(op)).flatten()?;
        Counters::current().fallback();
        Some(State::Done(Ok(res)))
    }

    /// Starts every queued entry. Inside [`Batch::link`] the chain ends with them.
    pub(super) fn start_pending(&self) {
        if !self.restart.borrow().is_empty() {
            let restart = std::mem::take(&mut *self.restart.borrow_mut());
            for index in restart {
                self.start(index..index + 1);
            }
        }
        self.drain_queued.set(false);
        let end = self.queued.borrow().len();
        let begin = self.started.replace(end);
        if begin == end {
            return;
        }
        self.queued.borrow_mut()[end - 1].link = false;
        self.start(begin..end);
    }

    /// Starts entries `range`, chain by chain: a chain goes to the ring when every entry of
    /// it can; else it runs as syscalls (see `emulate.rs`), a failure (or a short transfer,
    /// as the kernel counts it) cancelling the rest of the chain.
    fn start(&self, range: Range<usize>) {
        if self.forked() {
            // A fork child's scope must not leave operations in its ring past the waits
            // that give up on the parent's: they run as syscalls.
            self.emulate(range, |_| true);
            return;
        }
        // Chains that could not go on the ring, with whether the ring has each entry's
        // operation (else it is a fallback).
        let mut to_emulate: Vec<(Range<usize>, Vec<bool>)> = Vec::new();
        let mut guard = self.queued.borrow_mut();
        let queued = &mut *guard;
        let auto = auto_dispatch();
        let on_driver = with_driver(|driver| {
            let mut begin = range.start;
            // After a drained entry, nothing may run ahead of what was queued before it.
            let mut drained = false;
            while begin < range.end {
                if !auto {
                    begin += Self::start_plain(driver, &mut queued[begin..range.end]);
                    if begin == range.end {
                        break;
                    }
                }
                let end = (begin..range.end)
                    .find(|&i| !queued[i].link)
                    .map_or(range.end, |i| i + 1);
                drained |= queued[begin..end]
                    .iter()
                    .any(|q| q.flags & IOSQE_IO_DRAIN != 0);
                // A close the ring cannot make as asked runs as syscalls (see close_plan);
                // a chain the ring cannot take is known before its opens are made fixed.
                let closes_plainly = (begin..end).all(|k| {
                    matches!(
                        close_plan(queued, k, Some(&mut *driver), false),
                        ClosePlan::Plain
                    )
                });
                let on_ring = closes_plainly
                    && Self::chain_fits(driver, &queued[begin..end])
                    && Self::resolve_scope_fds(driver, queued, begin..end)
                    && (Self::start_on_ring(driver, &mut queued[begin..end], !drained)
                        || Self::unresolve_scope_fds(driver, queued, begin..end));
                if !on_ring {
                    if drained {
                        // Run as syscalls only once everything before has completed, as the
                        // kernel would have held a drained entry.
                        driver.flush_queued();
                        while driver.completions.in_flight > 0 {
                            driver.wait_one();
                        }
                    }
                    let chain = &mut queued[begin..end];
                    let has = chain.iter().map(|q| (q.fns.has)(driver)).collect();
                    to_emulate.push((begin..end, has));
                    // Fixed file chains cannot run as syscalls; free their slots.
                    for q in chain.iter_mut() {
                        if let Some(index) = q.detached.take() {
                            driver.release_fixed_slot(index);
                        }
                    }
                }
                begin = end;
            }
        });
        drop(guard);
        if on_driver.is_none() {
            self.emulate(range, |_| true);
        }
        for (chain, has) in to_emulate {
            let first = chain.start;
            self.emulate(chain, |i| !has[i - first]);
        }
    }

    /// Before chain `chain` goes on the ring: fills in the scope fds its entries use. One
    /// made in the same chain goes into a fixed file the later entries name (so they can
    /// run before it exists); one made before is its result, known by now. Returns
    /// `false`, changing nothing, if the chain cannot go on the ring that way (no fixed
    /// files, no slot free, an operation that cannot make a fixed file): it then runs as
    /// syscalls, with the fds filled in as they come.
    fn resolve_scope_fds(driver: &mut Driver, queued: &mut [Queued], chain: Range<usize>) -> bool {
        if !chain.clone().any(|k| queued[k].fd_entry.is_some()) {
            return true;
        }
        // Scope fds made before, outside the chain: their results must be known. One on the
        // ring may have completed as it was submitted; if not, or if it runs as syscalls,
        // the chain runs as syscalls too, each waiting for what it needs (waiting here
        // could wait for a call queued later, an accept for its connect).
        for k in chain.clone() {
            let Some(j) = queued[k].fd_entry.filter(|j| !chain.contains(j)) else {
                continue;
            };
            if let State::Ring { slot } = queued[j].state {
                if driver.completions.is_pending(slot) {
                    driver.flush_queued();
                    driver.reap_into_completions();
                }
            }
            finish_maker(queued, j, driver);
            if maker_unfinished(queued, j, Some(&*driver)) {
                return false;
            }
        }
        // The makers in this chain whose fd a later entry of it uses.
        let mut makers: Vec<usize> = chain
            .clone()
            .filter_map(|k| queued[k].fd_entry)
            .filter(|j| chain.contains(j) && queued[*j].fixed_slot.is_none())
            .collect();
        makers.sort_unstable();
        makers.dedup();
        if !makers.is_empty() {
            let can = driver.supports(IORING_OP_FIXED_FD_INSTALL)
                && makers.iter().all(|&j| {
                    queued[j].fns.makes_fixed && matches!(queued[j].state, State::Queued)
                });
            if !can {
                return false;
            }
            let mut slots = Vec::with_capacity(makers.len());
            for _ in &makers {
                match driver.fixed_slot() {
                    FixedSlot::Free(slot) => slots.push(slot),
                    _ => {
                        for slot in slots {
                            driver.release_fixed_slot(slot);
                        }
                        return false;
                    }
                }
            }
            for (&j, slot) in makers.iter().zip(slots) {
                // SAFETY: a Queued entry holds its live operation, not yet prepared.
                unsafe { (queued[j].fns.make_fixed)(queued[j].op, Some(slot)) };
                queued[j].fixed_slot = Some(slot);
            }
        }
        for k in chain.clone() {
            let Some(j) = queued[k].fd_entry else {
                continue;
            };
            let value = if chain.contains(&j) {
                match queued[j].fixed_slot {
                    Some(slot) => ScopeFdValue::Fixed(slot),
                    None => ScopeFdValue::Bad,
                }
            } else {
                // Known by now (checked above).
                scope_fd_value(queued, j, k, Some(&*driver))
            };
            Self::fill_fd(&mut queued[k], value);
        }
        true
    }

    /// Undoes [`resolve_scope_fds`](Self::resolve_scope_fds) for a chain the ring refused
    /// after all: its opens make fds again (an open into a fixed file cannot run as a
    /// syscall), their slots go back, and its entries' fds are filled in as they run.
    /// Returns `false` (the chain is not on the ring).
    fn unresolve_scope_fds(
        driver: &mut Driver,
        queued: &mut [Queued],
        chain: Range<usize>,
    ) -> bool {
        for k in chain.clone() {
            let q = &mut queued[k];
            if !matches!(q.state, State::Queued) {
                continue;
            }
            q.flags &= !IOSQE_FIXED_FILE;
            let made_here = chain.clone().any(|u| queued[u].fd_entry == Some(k));
            let q = &mut queued[k];
            if made_here && q.fns.makes_fixed && !q.op.is_null() {
                if let Some(slot) = q.fixed_slot.take() {
                    // SAFETY: a Queued entry holds its live operation, not yet prepared.
                    unsafe { (q.fns.make_fixed)(q.op, None) };
                    driver.release_fixed_slot(slot);
                }
            }
        }
        false
    }

    /// Fills in entry `q`'s main fd: a fixed file, a number, or -1 (`EBADF`).
    pub(super) fn fill_fd(q: &mut Queued, value: ScopeFdValue) {
        if !matches!(q.state, State::Queued | State::Emulated) || q.op.is_null() {
            return;
        }
        // SAFETY: a queued entry holds its live operation, not yet prepared or run.
        unsafe {
            match value {
                ScopeFdValue::Fixed(slot) => match (q.fns.use_fixed)(q.op, slot) {
                    FixedUse::Flag => q.flags |= IOSQE_FIXED_FILE,
                    FixedUse::Own => {}
                    FixedUse::Unsupported => {
                        (q.fns.set_main_fd)(q.op, -1);
                    }
                },
                ScopeFdValue::Raw(fd) => {
                    (q.fns.set_main_fd)(q.op, fd);
                }
                ScopeFdValue::Bad => {
                    (q.fns.set_main_fd)(q.op, -1);
                }
            }
        }
    }

    /// Waits until entry `j` has finished: its result is then known, and left for its
    /// handle.
    pub(super) fn settle(&self, j: usize) {
        if j >= self.started.get() || matches!(self.queued.borrow()[j].state, State::Queued) {
            self.start_pending();
        }
        let (state, timeout_slot) = {
            let queued = self.queued.borrow();
            let q = &queued[j];
            let state = match q.state {
                State::Ring { slot } => Some(slot),
                State::Emulated => None,
                _ => return,
            };
            (state, q.timeout_slot)
        };
        match state {
            Some(slot) => {
                self.wait_entry(j, slot);
                with_driver(|d| {
                    if let Some(slot) = timeout_slot {
                        while d.completions.is_pending(slot) {
                            d.wait_one();
                        }
                    }
                });
            }
            None => self.emulate_until(Some(j)),
        }
    }

    /// The common case, kept lean: puts the leading run of plain entries (not linked, not
    /// timed, queued, able to go on the ring) on the ring, making room for the whole run at
    /// once. Returns how many it took; the caller handles the entry that stopped it.
    fn start_plain(driver: &mut Driver, entries: &mut [Queued]) -> usize {
        let mut taken = 0;
        while taken < entries.len() {
            let run = &mut entries[taken..];
            let room = run.len().min(driver.ring.sq_entries() as usize);
            driver.make_room(room as u32);
            let mut put = 0;
            for q in run[..room].iter_mut() {
                // SAFETY: a Queued entry holds a live operation.
                let plain = q.detached.is_none()
                    && !q.link
                    && q.deadline.is_none()
                    && q.fd_entry.is_none()
                    && matches!(q.state, State::Queued)
                    && unsafe { (q.fns.fits)(q.op, &mut *driver, false) };
                if !plain {
                    break;
                }
                let slot = driver.completions.alloc_as(Slot::Pending);
                let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
                // SAFETY: the operation stays at its arena address until the scope ends, and
                // the scope waits for this entry's completion first.
                unsafe { (q.fns.prep)(q.op, sqe) };
                use_registered_buffer(sqe, q.reg_buf);
                sqe.user_data(u64::from(slot)).flags(q.flags);
                q.state = State::Ring { slot };
                put += 1;
            }
            driver.counters.ops(put as u64);
            taken += put;
            if put < room {
                break;
            }
        }
        taken
    }

    /// Whether chain `chain` can go on the ring at all: every entry queued, carried by the
    /// ring, and the chain (with its linked timeouts) no longer than the SQ. An entry that
    /// will name a scope fd is judged by its arguments alone (the fd may become a fixed
    /// file).
    fn chain_fits(driver: &mut Driver, chain: &[Queued]) -> bool {
        let timed = chain.iter().any(|q| q.deadline.is_some());
        let sqes = chain.len() * if timed { 2 } else { 1 };
        sqes <= driver.ring.sq_entries() as usize
            && chain.iter().all(|q| {
                let fixed = q.flags & IOSQE_FIXED_FILE != 0 || q.fd_entry.is_some();
                q.may_go_on_ring()
                    // SAFETY: every Queued entry holds a live operation.
                    && unsafe { (q.fns.fits)(q.op, &mut *driver, fixed) }
            })
    }

    /// Puts one chain (or single entry) on the ring; `false` if it cannot go there.
    fn start_on_ring(driver: &mut Driver, chain: &mut [Queued], may_run_now: bool) -> bool {
        let timed = chain.iter().any(|q| q.deadline.is_some());
        let sqes = chain.len() * if timed { 2 } else { 1 };
        let fits = chain.iter().enumerate().all(|(k, q)| {
            q.may_go_on_ring()
                // The kernel completes some failures without failing the chain (the next
                // entry runs; see Op::SOFT_FAIL): a chain that goes on after such an
                // operation runs as syscalls, where a failure cancels the rest.
                && !(q.fns.soft_fail && k + 1 < chain.len())
                // SAFETY: every Queued entry holds a live operation.
                && unsafe { (q.fns.fits)(q.op, &mut *driver, q.flags & IOSQE_FIXED_FILE != 0) }
        });
        if !fits || sqes > driver.ring.sq_entries() as usize {
            return false;
        }
        if may_run_now && chain.len() == 1 && !timed && chain[0].flags == 0 && auto_dispatch() {
            // Dispatch::Auto: a read the page cache can serve right now is cheaper as a
            // syscall than through the ring; only one that would block goes there.
            let q = &mut chain[0];
            // SAFETY: the entry holds a live operation.
            if let Some(res) = unsafe { (q.fns.try_nowait)(q.op, driver) } {
                q.state = State::Done(Ok(res));
                return true;
            }
        }
        driver.make_room(sqes as u32);
        // Read by the kernel while it prepares the timeouts, in the flush below; the
        // capacity is reserved up front so the elements never move.
        let mut timespecs = Vec::with_capacity(if timed { chain.len() } else { 0 });
        let last = chain.len() - 1;
        for (k, q) in chain.iter_mut().enumerate() {
            let slot = match q.detached {
                Some(fixed) => driver
                    .completions
                    .alloc_as(Slot::Detached { fixed: Some(fixed) }),
                None => driver.completions.alloc_as(Slot::Pending),
            };
            let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
            // SAFETY: the operation stays at its arena address until the scope ends, and
            // the scope waits for this entry's completion first.
            unsafe { (q.fns.prep)(q.op, sqe) };
            use_registered_buffer(sqe, q.reg_buf);
            sqe.user_data(u64::from(slot)).flags(q.flags);
            let linked = q.link && k < last;
            if linked || q.deadline.is_some() {
                sqe.flags(IOSQE_IO_LINK);
            }
            q.state = match q.detached {
                Some(_) => State::Taken,
                None => State::Ring { slot },
            };
            driver.counters.op();
            if let Some(deadline) = q.deadline {
                timespecs.push(op::monotonic_timespec(deadline));
                let ts: *const KernelTimespec = timespecs.last().expect("just pushed");
                let timeout_slot = driver.completions.alloc_as(Slot::Pending);
                q.timeout_slot = Some(timeout_slot);
                let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
                sqe.prep_link_timeout(ts, IORING_TIMEOUT_ABS)
                    .user_data(u64::from(timeout_slot));
                // In a chain the timeout links on to the next operation.
                if linked {
                    sqe.flags(IOSQE_IO_LINK);
                }
            }
        }
        if timed {
            driver.flush_queued();
        }
        true
    }

    /// Whether entry `index` stands alone — in no chain, under no deadline — so that an
    /// `-ECANCELED` completion of it is not the crate's doing nor its chain's: io-wq gives
    /// up on work whose worker thread it could not start (as when a signal is pending at
    /// each try, under a storm of signals), and such an operation never ran. The scope then
    /// runs it as its syscall, as a single call does.
    pub(super) fn unchained_untimed(queued: &[Queued], index: usize) -> bool {
        let q = &queued[index];
        !q.link && q.deadline.is_none() && (index == 0 || !queued[index - 1].link)
    }

    /// Waits until ring entry `index` (in completion slot `slot`) has completed, answering
    /// for the fds its chain waits on as the syscalls would: an entry of the chain (up to
    /// `index`) still waiting on an `O_NONBLOCK` pipe or socket is cancelled at once, one on
    /// a socket with a timeout of its own (`SO_RCVTIMEO`/`SO_SNDTIMEO`) when that long has
    /// passed since this wait began; its handle then gets the syscall's `EAGAIN` (or
    /// `EINPROGRESS`). Entries on fixed files keep waiting (the fd behind a slot is not
    /// known).
    pub(super) fn wait_entry(&self, index: usize, slot: u32) {
        /// How often a cancel that found nothing (an entry linked behind one that has not
        /// completed yet) is tried again.
        const RETRY: std::time::Duration = std::time::Duration::from_millis(10);
        // The chain's entries that may wait on a stream: (entry, slot, fd, events, errno).
        let waits: Vec<(usize, u32, i32, i16, i32)> = {
            let queued = self.queued.borrow();
            (chain_start(&queued, index)..=index)
                .filter_map(|i| {
                    let q = &queued[i];
                    // The awaited entry's state may already say Taken (take_result).
                    let slot = match q.state {
                        State::Ring { slot } => slot,
                        _ if i == index => slot,
                        _ => return None,
                    };
                    if q.op.is_null()
                        || q.flags & IOSQE_FIXED_FILE != 0
                        || q.socket_timed_out.is_some()
                    {
                        return None;
                    }
                    // SAFETY: the entry's live operation, in the arena.
                    let (fd, events, errno) = unsafe { (q.fns.socket_wait)(q.op) }?;
                    Some((i, slot, fd, events, errno))
                })
                .collect()
        };
        let mut timed_out: Vec<(usize, i32)> = Vec::new();
        with_driver(|d| {
            if !d.completions.is_pending(slot) {
                return;
            }
            // When each may be cancelled: now for an O_NONBLOCK stream, after its timeout
            // for a socket with one. Files (seekable) never wait on a peer.
            let mut deadlines: Vec<(Instant, usize, u32, i32)> = waits
                .iter()
                .filter(|&&(_, s, fd, ..)| d.completions.is_pending(s) && !d.fds.seekable(fd))
                .filter_map(|&(i, s, fd, events, errno)| {
                    if nonblocking_stream(fd) {
                        return Some((Instant::now(), i, s, errno));
                    }
                    socket_timeout(fd, events).map(|t| (Instant::now() + t, i, s, errno))
                })
                .collect();
            while d.completions.is_pending(slot) {
                let now = Instant::now();
                for (deadline, i, s, errno) in &mut deadlines {
                    if *deadline <= now && d.completions.is_pending(*s) {
                        if d.ring.sq_space_left() == 0 {
                            d.flush_queued();
                        }
                        if let Some(sqe) = d.ring.get_sqe() {
                            sqe.prep_cancel(u64::from(*s), 0).user_data(IGNORED);
                        }
                        if !timed_out.iter().any(|(t, _)| t == i) {
                            timed_out.push((*i, *errno));
                        }
                        // Tried again later if it found nothing to cancel.
                        *deadline = now + RETRY;
                    }
                }
                deadlines.retain(|&(_, _, s, _)| d.completions.is_pending(s));
                match deadlines.iter().map(|&(t, ..)| t).min() {
                    Some(next) => d.wait_one_until(next),
                    None => d.wait_one(),
                }
            }
        });
        if !timed_out.is_empty() {
            let mut queued = self.queued.borrow_mut();
            for (i, errno) in timed_out {
                queued[i].socket_timed_out = Some(errno);
            }
        }
    }

    /// Whether this process is a fork child of the one that began the scope.
    pub(super) fn forked(&self) -> bool {
        fork_generation() != self.generation
    }

    /// Waits for entry `index` and takes its raw result and its operation; `None` if it
    /// cannot be reaped (a fork child, or no driver).
    pub(super) fn take_result(&self, index: usize) -> Option<Taken> {
        // A wait starts everything queued before it: the awaited operation may depend on
        // one queued after it (a read on a pipe, then the write that feeds it).
        self.start_pending();
        let makes_fd = {
            let q = &self.queued.borrow()[index];
            !q.op.is_null() && q.fns.makes_fd
        };
        let (state, timeout_slot, op, after, fns, alone, on_fd) = {
            let mut queued = self.queued.borrow_mut();
            let alone = Self::unchained_untimed(&queued, index);
            let q = &mut queued[index];
            (
                std::mem::replace(&mut q.state, State::Taken),
                q.timeout_slot.take(),
                std::mem::replace(&mut q.op, std::ptr::null_mut()),
                q.after,
                q.fns,
                alone,
                q.on_callers_fd(),
            )
        };
        let res = match state {
            State::Done(res) => res,
            State::Emulated => {
                // Back in place while the emulation runs it to its end.
                {
                    let mut queued = self.queued.borrow_mut();
                    queued[index].state = State::Emulated;
                    queued[index].op = op;
                }
                self.emulate_until(Some(index));
                let mut queued = self.queued.borrow_mut();
                queued[index].op = std::ptr::null_mut();
                match std::mem::replace(&mut queued[index].state, State::Taken) {
                    State::Done(res) => res,
                    // The parent's entry, in a fork child: the parent runs it, not us.
                    _ => {
                        queued[index].op = op;
                        queued[index].state = State::Emulated;
                        self.leak.set(true);
                        return None;
                    }
                }
            }
            // In a fork child the parent's ring is out of reach.
            State::Ring { slot } => match (!self.forked())
                .then(|| {
                    self.queued.borrow_mut()[index].op = op;
                    self.wait_entry(index, slot);
                    self.queued.borrow_mut()[index].op = std::ptr::null_mut();
                    wait_slot(slot)
                })
                .flatten()
            {
                // Its socket's timeout ran out and cancelled it: the syscall's errno.
                Some(res)
                    if res == -libc::ECANCELED
                        && self.queued.borrow()[index].socket_timed_out.is_some() =>
                {
                    Ok(-self.queued.borrow()[index]
                        .socket_timed_out
                        .unwrap_or(libc::EAGAIN))
                }
                // io-wq cancelled it on its own (see unchained_untimed): it never ran.
                Some(res) if !op.is_null() && alone && res == -libc::ECANCELED => {
                    // SAFETY: op is this entry's live operation, taken out above; the ring
                    // is done with it.
                    Ok(unsafe { (fns.syscall)(op) })
                }
                // SAFETY: op is this entry's live operation, taken out above; the ring is
                // done with it.
                Some(res) if !op.is_null() => {
                    // SAFETY: as above; `on_fd` says its fd is the caller's, open while the
                    // scope lasts.
                    let res = unsafe { (fns.after_ring)(op, res, on_fd) };
                    // A write the ring completed short on a blocking pipe or socket: the rest
                    // is written as write(2) would (its waits keep reaping the ring).
                    Ok(if res > 0 {
                        // SAFETY: as above.
                        unsafe { (fns.finish_stream)(op, res) }
                    } else {
                        res
                    })
                }
                Some(res) => Ok(res),
                None => {
                    // Leaked with the scope: the kernel may still use the operation.
                    self.leak.set(true);
                    return None;
                }
            },
            State::Taken => Err(io::Error::from_raw_os_error(libc::ECANCELED)),
            State::Queued => unreachable!("started above"),
        };
        // The linked timeout completes too: -ETIME if it fired, -ECANCELED if not.
        let mut timed_out = match timeout_slot {
            Some(slot) => match wait_slot(slot) {
                Some(r) => r == -libc::ETIME,
                None => {
                    self.leak.set(true);
                    return None;
                }
            },
            None => false,
        };
        self.queued.borrow_mut()[index].fired = timed_out;
        let cancelled = matches!(res, Ok(r) if r == -libc::ECANCELED || r == -libc::EINTR);
        if cancelled && !timed_out {
            // Cancelled in a chain whose earlier entry ran out of time: that deadline is why.
            timed_out = self.earlier_in_chain_timed_out(index)?;
        }
        if let (Ok(r), false) = (&res, op.is_null()) {
            // SAFETY: op is this entry's live operation, taken out above.
            if let Some(fd) = unsafe { (fns.fd_changed)(op, *r) } {
                forget_fd(fd);
            }
        }
        let mut res = res;
        if makes_fd {
            res = self.hand_out_fd(index, res, op);
        }
        self.note_close(index, &res);
        Some(Taken {
            res,
            timed_out,
            op,
            after,
        })
    }

    /// The result of fd-making entry `index` as its handle gives it: the fd, which is the
    /// caller's from now on. A fixed file is installed as a regular fd; an fd `close`d in
    /// the scope is gone (`EBADF`).
    ///
    /// Calls of the scope that name the fd and have not finished keep the scope's own fd
    /// (it must not be closed or its number reused under them): the handle then gets a
    /// duplicate, and the scope closes its fd when it ends. Calls queued from now on find
    /// the fd taken (`EBADF`).
    fn hand_out_fd(&self, index: usize, res: io::Result<i32>, op: *mut ()) -> io::Result<i32> {
        // Closed by a call of the scope: only if that close ran and succeeded. One still
        // pending is a call that uses the fd (in_use below).
        let closed = {
            let queued = self.queued.borrow();
            with_driver(|d| closed_by_scope(&queued, index, Some(&*d)))
                .unwrap_or_else(|| closed_by_scope(&queued, index, None))
        };
        let in_use = {
            let queued = self.queued.borrow();
            let end = queued.len();
            with_driver(|d| users_pending(&queued, index, end, Some(&*d)))
                .unwrap_or_else(|| users_pending(&queued, index, end, None))
        };
        let (gone, fixed, fns) = {
            let mut queued = self.queued.borrow_mut();
            let end = queued.len();
            let q = &mut queued[index];
            let gone = q.fd_gone || closed;
            if in_use && !gone {
                q.taken_at = Some(end);
                // The result stays for the calls still to look the fd up.
                if let Ok(r) = res {
                    q.state = State::Done(Ok(r));
                }
            } else {
                q.fd_gone = true;
            }
            (gone, q.fixed_slot, q.fns)
        };
        // SAFETY: op is this entry's live operation, taken out by the caller.
        let cloexec = || unsafe { (fns.cloexec)(op) };
        match res {
            // The scope closed it (Batch::close of its ScopeFd); its number may be someone
            // else's by now.
            Ok(r) if r >= 0 && gone => Ok(-libc::EBADF),
            Ok(r) if r >= 0 => match (fixed, in_use) {
                (Some(slot), false) => {
                    self.queued.borrow_mut()[index].fixed_slot = None;
                    self.install_fixed(slot, cloexec(), true)
                }
                // The slot stays the scope's (closed when it ends).
                (Some(slot), true) => self.install_fixed(slot, cloexec(), false),
                (None, false) => Ok(r),
                (None, true) => {
                    // The scope keeps `r` until its end.
                    self.queued.borrow_mut()[index].held = Some(r);
                    let cmd = if cloexec() {
                        libc::F_DUPFD_CLOEXEC
                    } else {
                        libc::F_DUPFD
                    };
                    // SAFETY: duplicates the scope's open fd `r` into a new fd.
                    let dup = unsafe { crate::sys::syscall::fcntl(r, cmd, 0) };
                    match crate::sys::syscall::result(dup) {
                        Ok(fd) => {
                            forget_fd(fd as i32);
                            Ok(fd as i32)
                        }
                        Err(e) => Err(e.into_io()),
                    }
                }
            },
            other => other,
        }
    }

    /// The error entry `index` failed with, if it failed, its result left for its handle.
    pub(super) fn failure_of(&self, index: usize) -> Option<io::Error> {
        self.settle(index);
        let queued = self.queued.borrow();
        let res = match &queued[index].state {
            State::Done(Err(e)) => return Some(io::Error::new(e.kind(), e.to_string())),
            State::Done(Ok(r)) => *r,
            State::Ring { slot } => with_driver(|d| d.completions.peek(*slot)).flatten()?,
            _ => return None,
        };
        (res < 0).then(|| io::Error::from_raw_os_error(-res))
    }

    /// After the result of entry `index` is known: if it closed a scope fd, the fd is gone,
    /// and a fixed file's slot is free again.
    pub(super) fn note_close(&self, index: usize, res: &io::Result<i32>) {
        let maker = {
            let queued = self.queued.borrow();
            match queued[index].fd_entry {
                Some(j) if queued[j].closer == Some(index) => j,
                _ => return,
            }
        };
        if matches!(res, Ok(r) if *r >= 0) {
            self.queued.borrow_mut()[maker].fd_gone = true;
            with_driver(|d| {
                let mut queued = self.queued.borrow_mut();
                // The slot is free for another file only once no call of the scope that
                // named it can still look it up; else the scope's end releases it.
                let end = chain_start(&queued, index);
                // A slot of the caller's fd may still hold it (a close as syscalls only
                // forgets it): the scope's end closes it.
                if !queued[maker].borrowed && !users_pending(&queued, maker, end, Some(&*d)) {
                    if let Some(slot) = queued[maker].fixed_slot.take() {
                        d.release_fixed_slot(slot);
                    }
                }
            });
        }
    }

    /// A regular fd for fixed file `slot`; with `close`, the slot is then closed (its close
    /// frees the slot when it completes, whatever the install gave).
    fn install_fixed(&self, slot: u32, cloexec: bool, close: bool) -> io::Result<i32> {
        let outer = self.linking.replace(false);
        self.start_pending();
        let flags = if cloexec {
            0
        } else {
            IORING_FIXED_FD_NO_CLOEXEC
        };
        self.linking.set(close);
        let install = self.push(Ok(op::FixedInstall { index: slot, flags }));
        self.linking.set(false);
        if close {
            let close = self.push(Ok(op::CloseFixed { index: slot }));
            let mut queued = self.queued.borrow_mut();
            queued[install].flags |= IOSQE_IO_HARDLINK;
            queued[close].detached = Some(slot);
        }
        self.linking.set(outer);
        self.start_pending();
        match self.take_result(install) {
            Some(taken) => {
                if let Ok(fd) = taken.res {
                    if fd >= 0 {
                        forget_fd(fd);
                    }
                }
                taken.res
            }
            None => Err(io::Error::from_raw_os_error(libc::ECANCELED)),
        }
    }

    /// Whether an earlier entry of the chain that `index` ends had its linked timeout fire
    /// (waiting for those timeouts' completions, without taking anyone's result); `None`
    /// without a driver.
    fn earlier_in_chain_timed_out(&self, index: usize) -> Option<bool> {
        let mut j = index;
        while j > 0 && self.queued.borrow()[j - 1].link {
            j -= 1;
            let (fired, slot) = {
                let queued = self.queued.borrow();
                (queued[j].fired, queued[j].timeout_slot)
            };
            let fired = fired
                || match slot {
                    Some(slot) => with_driver(|d| {
                        loop {
                            if let Some(r) = d.completions.peek(slot) {
                                break r == -libc::ETIME;
                            }
                            d.wait_one();
                        }
                    })?,
                    None => false,
                };
            if fired {
                return Some(true);
            }
        }
        Some(false)
    }

    /// The position in `indices` of the first entry whose result is ready, if any. With
    /// `refilled`, first hands the kernel what was just queued if it still works on earlier
    /// operations, so it keeps a window's depth in flight (the fio pattern); when everything
    /// completed inline (cached data), the refills wait to go in one submission.
    pub(super) fn first_ready(
        &self,
        indices: impl Iterator<Item = usize>,
        refilled: bool,
    ) -> Option<usize> {
        let queued = self.queued.borrow();
        if self.forked() {
            return Some(0);
        }
        with_driver(|d| {
            let ready = indices
                .map(|i| &queued[i].state)
                .position(|state| match state {
                    State::Ring { slot } => !d.completions.is_pending(*slot),
                    State::Queued => false,
                    // An emulated entry is waited for through the emulation, which runs it.
                    State::Done(_) | State::Taken | State::Emulated => true,
                });
            // With nothing ready the caller's wait submits the refills in the same enter.
            // Else they go once the kernel has no more in flight than wait to be submitted
            // (half the window): submitted together, adjacent reads can be merged into one
            // request by the block layer, as fio's batched submission gets them.
            if refilled && ready.is_some() {
                let unsubmitted = d.ring.sq_pending();
                let in_kernel = d.completions.in_flight.saturating_sub(unsubmitted);
                if unsubmitted > 0 && in_kernel > 0 && in_kernel <= unsubmitted {
                    d.flush_queued();
                }
            }
            ready
        })
        .unwrap_or(Some(0))
    }
}

/// Waits for completion slot `slot` and takes its result; `None` without a driver.
pub(super) fn wait_slot(slot: u32) -> Option<i32> {
    with_driver(|driver| {
        loop {
            if let Some(res) = driver.completions.take(slot) {
                return res;
            }
            driver.wait_one();
        }
    })
}

/// # Safety
/// `ptr` must point to a live `T` kept in a scope's arena, not used afterwards.
unsafe fn drop_kept<T>(ptr: *mut ()) {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::drop_in_place(ptr.cast::<T>()) };
}

/// What the fd made by entry `j` stands for, for entry `user`, the result of `j` being
/// known (see `settle`): nothing once the fd was taken, or closed by a call queued before.
pub(super) fn scope_fd_value(
    queued: &[Queued],
    j: usize,
    user: usize,
    driver: Option<&Driver>,
) -> ScopeFdValue {
    let q = &queued[j];
    if q.fd_gone || q.closer.is_some_and(|c| c < user) || q.taken_at.is_some_and(|t| t <= user) {
        return ScopeFdValue::Bad;
    }
    let res = match q.state {
        State::Ring { slot } => driver.and_then(|d| d.completions.peek(slot)),
        State::Done(Ok(res)) => Some(res),
        _ => None,
    };
    match (res, q.fixed_slot) {
        (Some(r), Some(slot)) if r >= 0 => ScopeFdValue::Fixed(slot),
        (Some(r), None) if r >= 0 => ScopeFdValue::Raw(r),
        _ => ScopeFdValue::Bad,
    }
}

/// Turns a read or write of a registered buffer into its fixed-buffer opcode.
#[inline]
fn use_registered_buffer(sqe: &mut crate::ring::Sqe, index: Option<u16>) {
    let Some(index) = index else {
        return;
    };
    let entry = sqe.as_raw_mut();
    entry.opcode = match entry.opcode {
        IORING_OP_READ => IORING_OP_READ_FIXED,
        IORING_OP_WRITE => IORING_OP_WRITE_FIXED,
        _ => return,
    };
    entry.buf_index = index;
}

/// How the close of a scope fd (entry `k`, when it is a `Batch::close` of one) must run.
pub(super) enum ClosePlan {
    /// As any entry: on the ring, or as close(2).
    Plain,
    /// Not at all: the fd is the caller's (`Batch::fixed`); the scope only forgets it (and
    /// drops its fixed slot when it ends).
    Forget,
    /// Not on the ring: the fd is not made yet and earlier calls may use it; the close runs
    /// as syscalls, decided once the fd is made.
    Later,
    /// The fd number stays taken (see [`hold_number`]): an earlier call of the scope that
    /// names it, outside the close's chain, may not have looked it up yet.
    Hold(i32),
}

/// How entry `k` must close, if it closes a scope fd: see [`ClosePlan`].
///
/// `as_syscall` says the close is about to run as syscalls (where a fixed file of the
/// caller's stands for its own fd number).
pub(super) fn close_plan(
    queued: &[Queued],
    k: usize,
    driver: Option<&mut Driver>,
    as_syscall: bool,
) -> ClosePlan {
    let Some(j) = queued[k].fd_entry else {
        return ClosePlan::Plain;
    };
    if queued[j].closer != Some(k) || !matches!(queued[k].state, State::Queued | State::Emulated) {
        return ClosePlan::Plain;
    }
    let driver = driver.map(|d| &*d);
    let value = scope_fd_value(queued, j, k, driver);
    if queued[j].borrowed {
        // The caller's fd is never closed; its fixed slot (if any) is dropped on the ring
        // or, as syscalls, when the scope ends.
        return match value {
            ScopeFdValue::Fixed(_) if !as_syscall => ClosePlan::Plain,
            ScopeFdValue::Fixed(_) | ScopeFdValue::Raw(_) => ClosePlan::Forget,
            ScopeFdValue::Bad => ClosePlan::Plain,
        };
    }
    // Calls of the close's own chain run before it, in order.
    let pending = || users_pending(queued, j, chain_start(queued, k), driver);
    match value {
        // Only a number can be reused under a pending call: a fixed file's slot is released
        // once its users are done (note_close).
        ScopeFdValue::Raw(fd) if pending() => ClosePlan::Hold(fd),
        // Not made yet (in flight on the ring): decided once it is, as syscalls.
        ScopeFdValue::Bad if maker_unfinished(queued, j, driver) && pending() => ClosePlan::Later,
        _ => ClosePlan::Plain,
    }
}

/// Before fd-making entry `j`'s result is used by another call: once its completion is in,
/// the result becomes the one its handle gives (the ring's answer with its fix-up: a FIFO
/// opened as open(2) would, waiting for its other end).
pub(super) fn finish_maker(queued: &mut [Queued], j: usize, driver: &mut Driver) {
    let q = &mut queued[j];
    let State::Ring { slot } = q.state else {
        return;
    };
    if driver.completions.is_pending(slot) {
        return;
    }
    let Some(res) = driver.completions.take(slot) else {
        return;
    };
    let res = if q.op.is_null() {
        res
    } else {
        // SAFETY: the entry's live operation, its completion reaped: the ring is done with it.
        unsafe { (q.fns.after_ring)(q.op, res, q.on_callers_fd()) }
    };
    q.state = State::Done(Ok(res));
}

/// Whether the fd made by entry `j` was closed by a call of the scope (`Batch::close` of its
/// `ScopeFd`): that close finished and succeeded.
pub(super) fn closed_by_scope(queued: &[Queued], j: usize, driver: Option<&Driver>) -> bool {
    let Some(c) = queued[j].closer else {
        return false;
    };
    match queued[c].state {
        State::Done(Ok(r)) => r >= 0,
        State::Ring { slot } => driver
            .and_then(|d| d.completions.peek(slot))
            .is_some_and(|r| r >= 0),
        // Its result was taken: note_close said whether the fd is gone.
        State::Taken => queued[j].fd_gone,
        State::Queued | State::Emulated | State::Done(Err(_)) => false,
    }
}

/// Whether fd-making entry `j` has not finished yet (its result unknown).
pub(super) fn maker_unfinished(queued: &[Queued], j: usize, driver: Option<&Driver>) -> bool {
    match queued[j].state {
        State::Queued | State::Emulated => true,
        State::Ring { slot } => driver.is_some_and(|d| d.completions.is_pending(slot)),
        State::Done(_) | State::Taken => false,
    }
}

/// The first entry of the chain entry `k` belongs to.
pub(super) fn chain_start(queued: &[Queued], k: usize) -> usize {
    let mut start = k;
    while start > 0 && queued[start - 1].link {
        start -= 1;
    }
    start
}

/// Whether a call queued after scope fd maker `j` and before entry `end` that names the fd
/// may still look it up: one that has not finished.
pub(super) fn users_pending(
    queued: &[Queued],
    j: usize,
    end: usize,
    driver: Option<&Driver>,
) -> bool {
    (j + 1..end.max(j + 1)).any(|u| {
        queued[u].fd_entry == Some(j)
            && match queued[u].state {
                State::Queued | State::Emulated => true,
                State::Ring { slot } => driver.is_none_or(|d| d.completions.is_pending(slot)),
                State::Done(_) | State::Taken => false,
            }
    })
}

/// Closes fd `fd` by making its number stand for an `O_PATH` placeholder: the file is
/// closed (as close(2) would, its error unreported as dup3 leaves it), and the number stays
/// taken until [`release_number`]: a call that looks it up meanwhile fails with `EBADF`.
/// Returns the close's result and whether the number is held. With no fd to spare for the
/// placeholder (`EMFILE`, `ENFILE`) it is close(2) itself, and the number is free at once.
pub(super) fn hold_number(fd: i32) -> (io::Result<i32>, bool) {
    use crate::sys::syscall as sc;
    // SAFETY: a NUL-terminated path; the placeholder is closed below.
    let placeholder = unsafe {
        sc::openat(
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
            0,
        )
    };
    let placeholder = match sc::result(placeholder) {
        Ok(placeholder) => placeholder as i32,
        Err(_) => {
            // SAFETY: the scope's own fd, closed once, here.
            let res = unsafe { sc::close(fd) };
            forget_fd(fd);
            return (sc::result(res).map(|_| 0).map_err(|e| e.into_io()), false);
        }
    };
    // SAFETY: replaces the scope's own fd `fd` (closing its file) with the placeholder.
    let res = unsafe { sc::dup3(placeholder, fd, libc::O_CLOEXEC) };
    // SAFETY: the placeholder fd opened above.
    unsafe { sc::close(placeholder) };
    forget_fd(fd);
    match sc::result(res) {
        Ok(_) => (Ok(0), true),
        Err(e) => (Err(e.into_io()), false),
    }
}

/// Closes the placeholder a [`hold_number`] left at `fd`.
pub(super) fn release_number(fd: i32) {
    // SAFETY: the scope's placeholder, which nothing of the scope uses any more.
    unsafe { crate::sys::syscall::close(fd) };
    forget_fd(fd);
}
