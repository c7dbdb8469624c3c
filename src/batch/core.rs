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
    Driver, Slot, auto_dispatch, auto_syscall_in_batch, forget_fd, fork_generation, run_syscall,
    with_driver,
};
use crate::op::{self, Op};
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

    /// Queues an operation (or a conversion error) and returns its index.
    pub(super) fn push<O: Op>(&self, op: io::Result<O>) -> usize {
        let (op, mut state) = match op {
            Ok(op) => (self.arena.borrow_mut().alloc(op), State::Queued),
            Err(e) => (std::ptr::null_mut(), State::Done(Err(e))),
        };
        let flags = self.next_flags.replace(0);
        let link = self.linking.get();
        let deadline = crate::timeout::current_deadline();
        if flags & IOSQE_IO_DRAIN != 0 {
            self.drain_queued.set(true);
        }
        if matches!(state, State::Queued)
            && !link
            && flags == 0
            && deadline.is_none()
            && !self.drain_queued.get()
            && auto_dispatch()
        {
            // SAFETY: op is the live operation just placed in the arena.
            state = unsafe { Self::auto_now::<O>(op) }.unwrap_or(State::Queued);
        }
        let mut queued = self.queued.borrow_mut();
        queued.push(Queued {
            op,
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
        });
        let index = queued.len() - 1;
        let unstarted = queued.len() - self.started.get();
        drop(queued);
        if unstarted >= AUTO_START && !self.linking.get() {
            self.start_pending();
        }
        index
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
        let offset = range.start;
        // Chains that could not go on the ring, with whether the ring has each entry's
        // operation (else it is a fallback).
        let mut to_emulate: Vec<(Range<usize>, Vec<bool>)> = Vec::new();
        let mut queued = self.queued.borrow_mut();
        let entries = &mut queued[range.clone()];
        let auto = auto_dispatch();
        let on_driver = with_driver(|driver| {
            let mut begin = 0;
            // After a drained entry, nothing may run ahead of what was queued before it.
            let mut drained = false;
            while begin < entries.len() {
                if !auto {
                    begin += Self::start_plain(driver, &mut entries[begin..]);
                    if begin == entries.len() {
                        break;
                    }
                }
                let end = begin
                    + entries[begin..]
                        .iter()
                        .position(|q| !q.link)
                        .map_or(entries.len() - begin, |p| p + 1);
                let chain = &mut entries[begin..end];
                drained |= chain.iter().any(|q| q.flags & IOSQE_IO_DRAIN != 0);
                if !Self::start_on_ring(driver, chain, !drained) {
                    if drained {
                        // Run as syscalls only once everything before has completed, as the
                        // kernel would have held a drained entry.
                        driver.flush_queued();
                        while driver.completions.in_flight > 0 {
                            driver.wait_one();
                        }
                    }
                    let has = chain.iter().map(|q| (q.fns.has)(driver)).collect();
                    to_emulate.push((offset + begin..offset + end, has));
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
        drop(queued);
        if on_driver.is_none() {
            self.emulate(range, |_| true);
        }
        for (chain, has) in to_emulate {
            let first = chain.start;
            self.emulate(chain, |i| !has[i - first]);
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
                    && matches!(q.state, State::Queued)
                    && unsafe { (q.fns.fits)(q.op, &mut *driver) };
                if !plain {
                    break;
                }
                let slot = driver.completions.alloc_as(Slot::Pending);
                let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
                // SAFETY: the operation stays at its arena address until the scope ends, and
                // the scope waits for this entry's completion first.
                unsafe { (q.fns.prep)(q.op, sqe) };
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

    /// Puts one chain (or single entry) on the ring; `false` if it cannot go there.
    fn start_on_ring(driver: &mut Driver, chain: &mut [Queued], may_run_now: bool) -> bool {
        let timed = chain.iter().any(|q| q.deadline.is_some());
        let sqes = chain.len() * if timed { 2 } else { 1 };
        let fits = chain.iter().all(|q| {
            matches!(q.state, State::Queued)
                && !auto_syscall_in_batch(q.fns.punted)
                // SAFETY: every Queued entry holds a live operation.
                && unsafe { (q.fns.fits)(q.op, &mut *driver) }
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
        let (state, timeout_slot, op, after, fns) = {
            let mut queued = self.queued.borrow_mut();
            let q = &mut queued[index];
            (
                std::mem::replace(&mut q.state, State::Taken),
                q.timeout_slot.take(),
                std::mem::replace(&mut q.op, std::ptr::null_mut()),
                q.after,
                q.fns,
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
            State::Ring { slot } => match (!self.forked()).then(|| wait_slot(slot)).flatten() {
                // SAFETY: op is this entry's live operation, taken out above; the ring is
                // done with it.
                Some(res) if !op.is_null() => Ok(unsafe { (fns.after_ring)(op, res) }),
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
        Some(Taken {
            res,
            timed_out,
            op,
            after,
        })
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
            if refilled && ready.is_some() {
                let unsubmitted = d.ring.sq_pending();
                if unsubmitted > 0 && d.completions.in_flight > unsubmitted {
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
