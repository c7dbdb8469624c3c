//! Batch scopes: many calls, few `io_uring_enter`s, the kernel overlapping what can overlap.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! let file = std::fs::File::open("Cargo.toml")?;
//! let (mut head, mut tail) = ([0u8; 16], [0u8; 16]);
//! let (a, b) = uring_os::batch(|s| {
//!     let a = s.pread(&file, &mut head, 0); // queued, returns a handle
//!     let b = s.pread(&file, &mut tail, 16);
//!     (a.wait(), b.wait()) // wait() submits what is queued if needed
//! });
//! assert_eq!((a?, b?), (16, 16));
//! # Ok(()) }
//! ```
//!
//! A scope works like `std::thread::scope`: buffers are borrowed for the whole scope, and the
//! scope itself — not a handle's `Drop` — waits for every operation it queued before it
//! returns, so leaking a handle (`mem::forget`) or never waiting it is sound. When the closure
//! panics, the scope cancels what is still in flight and reaps it before unwinding on.
//! File descriptors are borrowed for the scope too, so none can be closed (and its number
//! reused) while the kernel may still look it up:
//!
//! ```compile_fail
//! let file = std::fs::File::open("Cargo.toml").unwrap();
//! let mut buf = [0u8; 8];
//! uring_os::batch(|s| {
//!     let read = s.pread(&file, &mut buf, 0);
//!     drop(file); // error: `file` is borrowed by the queued read
//!     read.wait()
//! });
//! ```
//!
//! Ordering is opt-in: [`Batch::link`] chains operations so each starts when the one before
//! it succeeded, [`Batch::drain`] orders the next one after everything before it, and
//! [`Batch::read_file`] reads a small file as one linked open → read → close through a
//! direct descriptor. [`Batch::window`] keeps N operations in flight and yields results as
//! they complete (the fio pattern). [`with_timeout`](crate::with_timeout) inside a scope gives
//! each operation queued under it a linked timeout.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Instant;

use crate::local::{self, Driver, with_driver};
use crate::op::{self, CPath, Op};
use crate::ring::Sqe;
use crate::stats::Counters;
use crate::sys::*;

/// Completion slots of a thread's batch operations: the `user_data` of a batch entry is its
/// slot number, and a completion that arrives while anyone waits is filed here.
#[derive(Default)]
pub(crate) struct Completions {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Entries queued or in the kernel whose completion has not arrived: never more than
    /// the CQ holds.
    pub(crate) in_flight: u32,
    /// Free slots of the ring's fixed file table (direct descriptors), once registered.
    direct_free: Option<Vec<u32>>,
}

#[derive(Clone, Copy)]
enum Slot {
    Free,
    Pending,
    /// Nobody takes the result: the slot frees itself (and a direct descriptor slot) when
    /// the completion arrives.
    Detached {
        direct: Option<u32>,
    },
    Done(i32),
}

impl Completions {
    fn alloc_as(&mut self, state: Slot) -> u32 {
        self.in_flight += 1;
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = state;
                slot
            }
            None => {
                self.slots.push(state);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Files the result of slot `user_data`.
    pub(crate) fn complete(&mut self, user_data: u64, res: i32) {
        let Some(slot) = self.slots.get_mut(user_data as usize) else {
            return;
        };
        match *slot {
            Slot::Pending => *slot = Slot::Done(res),
            Slot::Detached { direct } => {
                *slot = Slot::Free;
                self.free.push(user_data as u32);
                if let (Some(index), Some(free)) = (direct, self.direct_free.as_mut()) {
                    free.push(index);
                }
            }
            Slot::Free | Slot::Done(_) => return,
        }
        self.in_flight -= 1;
    }

    /// Takes a finished slot's result and frees the slot.
    fn take(&mut self, slot: u32) -> Option<i32> {
        match self.slots.get(slot as usize) {
            Some(Slot::Done(res)) => {
                let res = *res;
                self.slots[slot as usize] = Slot::Free;
                self.free.push(slot);
                Some(res)
            }
            _ => None,
        }
    }

    /// A finished slot's result, left in place.
    fn peek(&self, slot: u32) -> Option<i32> {
        match self.slots.get(slot as usize) {
            Some(Slot::Done(res)) => Some(*res),
            _ => None,
        }
    }

    fn is_pending(&self, slot: u32) -> bool {
        matches!(self.slots.get(slot as usize), Some(Slot::Pending))
    }
}

/// Entries kept free in the CQ for the blocking path: an operation, its linked timeout and a
/// cancel.
const CQ_RESERVE: u32 = 3;

impl Driver {
    /// Makes room for `n` more batch entries: SQ space, and CQ space counting everything in
    /// flight, submitting and waiting for completions as needed.
    pub(crate) fn make_room(&mut self, n: u32) {
        let capacity = self.ring.cq_entries().saturating_sub(CQ_RESERVE).max(1);
        while self.completions.in_flight + n > capacity && self.completions.in_flight > 0 {
            self.wait_one();
        }
        if self.ring.sq_space_left() < n {
            self.flush_queued();
        }
    }

    /// Submits what is queued and waits for at least one completion, filing everything
    /// that arrived. A signal only shortens the wait.
    pub(crate) fn wait_one(&mut self) {
        if self.completions.in_flight == 0 && self.ring.sq_pending() == 0 {
            // Nothing can complete: blocking would never end.
            self.reap_into_completions();
            return;
        }
        // SAFETY: every queued entry points to memory its owner keeps until the completion is
        // reaped (batch operations live in their scope, which waits for all of them).
        let res = unsafe { self.ring.submit_and_wait(1) };
        self.counters.enter();
        if let Err(e) = res {
            if !local::transient(&e) {
                local::ring_failed(&e);
            }
        }
        self.reap_into_completions();
    }

    /// A free slot of the fixed file table, registering a sparse table on first use.
    fn direct_slot(&mut self) -> DirectSlot {
        let opcodes = [IORING_OP_OPENAT, IORING_OP_READ, IORING_OP_CLOSE];
        if !opcodes.iter().all(|&op| self.supports(op)) {
            return DirectSlot::Unsupported;
        }
        if self.completions.direct_free.is_none() {
            let size = self.ring.cq_entries();
            if self.ring.register_files_sparse(size).is_err() {
                return DirectSlot::Unsupported;
            }
            self.completions.direct_free = Some((0..size).rev().collect());
        }
        match self.completions.direct_free.as_mut().and_then(Vec::pop) {
            Some(index) => DirectSlot::Free(index),
            None => DirectSlot::Busy,
        }
    }
}

impl Driver {
    /// Gives back a fixed-file slot whose chain never reached the kernel.
    fn release_direct_slot(&mut self, index: u32) {
        if let Some(free) = self.completions.direct_free.as_mut() {
            free.push(index);
        }
    }
}

/// What [`Driver::direct_slot`] found.
enum DirectSlot {
    Free(u32),
    /// Every slot belongs to a chain not finished yet; its close frees one.
    Busy,
    /// No sparse fixed-file tables (before 5.19) or a missing opcode.
    Unsupported,
}

/// How a scope handles one type-erased operation.
struct OpFns {
    punted: bool,
    drop: unsafe fn(*mut ()),
    prep: unsafe fn(*mut (), &mut Sqe),
    fits: unsafe fn(*const (), &mut Driver) -> bool,
    syscall: unsafe fn(*mut ()) -> io::Result<i32>,
    breaks_chain: unsafe fn(*const (), i32) -> bool,
    fd_changed: unsafe fn(*const (), i32) -> Option<std::os::fd::RawFd>,
}

impl OpFns {
    const fn of<O: Op>() -> OpFns {
        OpFns {
            punted: O::PUNTED,
            drop: drop_in_arena::<O>,
            prep: prep_in_arena::<O>,
            fits: fits_in_arena::<O>,
            syscall: syscall_in_arena::<O>,
            breaks_chain: breaks_chain_in_arena::<O>,
            fd_changed: fd_changed_in_arena::<O>,
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
unsafe fn fits_in_arena<O: Op>(ptr: *const (), driver: &mut Driver) -> bool {
    // SAFETY: the caller's contract.
    driver.can_run(unsafe { &*ptr.cast::<O>() })
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn syscall_in_arena<O: Op>(ptr: *mut ()) -> io::Result<i32> {
    // SAFETY: the caller's contract.
    let op = unsafe { &mut *ptr.cast::<O>() };
    if local::auto_direct_in_batch(O::PUNTED) {
        Ok(local::direct(op))
    } else {
        local::fallback(op)
    }
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn breaks_chain_in_arena<O: Op>(ptr: *const (), res: i32) -> bool {
    // SAFETY: the caller's contract.
    O::map_result(res) < 0 || unsafe { &*ptr.cast::<O>() }.short(res)
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn fd_changed_in_arena<O: Op>(ptr: *const (), res: i32) -> Option<std::os::fd::RawFd> {
    // SAFETY: the caller's contract.
    unsafe { &*ptr.cast::<O>() }.fd_changed(res)
}

/// Turns a result into the operation's output, moving the operation out of the arena.
///
/// # Safety
/// `ptr` must point to a live `O` in an arena, not used afterwards, and the kernel must be
/// done with it.
unsafe fn finish_in_arena<O: Op>(ptr: *mut (), res: io::Result<i32>) -> io::Result<O::Output> {
    // SAFETY: the caller's contract.
    let op = unsafe { ptr.cast::<O>().read() };
    let res = O::map_result(res?);
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(op.output(res))
    }
}

/// Whether a raw result or error means "failed".
fn failed(res: &io::Result<i32>) -> bool {
    !matches!(res, Ok(r) if *r >= 0)
}

const CHUNK_SIZE: usize = 8192;

/// A block of operation storage.
#[repr(C, align(16))]
struct Chunk([MaybeUninit<u8>; CHUNK_SIZE]);

thread_local! {
    /// Chunks of finished scopes, kept for the next scope of the thread.
    static SPARE_CHUNKS: RefCell<Vec<Box<Chunk>>> = const { RefCell::new(Vec::new()) };
    /// The entry list of the thread's last finished scope, kept (empty) for the next one.
    static SPARE_QUEUE: Cell<Vec<Queued>> = const { Cell::new(Vec::new()) };
}

/// Where a scope keeps its operations: chunks that never move, so an operation keeps its
/// address (which the kernel holds) until the scope ends; no allocation per operation. The
/// chunks are held as raw pointers, never as references, since the kernel writes into them.
#[derive(Default)]
struct Arena {
    chunks: Vec<std::ptr::NonNull<Chunk>>,
    used: usize,
}

impl Arena {
    fn alloc<O>(&mut self, op: O) -> *mut () {
        const {
            assert!(size_of::<O>() <= CHUNK_SIZE && align_of::<O>() <= 16);
        }
        let mut start = self.used.next_multiple_of(align_of::<O>());
        if self.chunks.is_empty() || start + size_of::<O>() > CHUNK_SIZE {
            let chunk = SPARE_CHUNKS
                .try_with(|spare| spare.borrow_mut().pop())
                .ok()
                .flatten()
                .unwrap_or_else(|| {
                    // SAFETY: a chunk is uninitialised bytes, valid as MaybeUninit.
                    unsafe { Box::<Chunk>::new_uninit().assume_init() }
                });
            self.chunks.push(std::ptr::NonNull::from(Box::leak(chunk)));
            start = 0;
        }
        let chunk = *self.chunks.last().expect("a chunk was just ensured");
        self.used = start + size_of::<O>();
        // SAFETY: start + size_of::<O>() <= CHUNK_SIZE, so the pointer stays in the chunk.
        let ptr = unsafe { chunk.as_ptr().cast::<u8>().add(start) }.cast::<O>();
        // SAFETY: ptr is aligned for O (chunks are 16-aligned, start a multiple of O's
        // alignment) and its bytes belong to no other operation.
        unsafe { ptr.write(op) };
        ptr.cast()
    }

    /// Gives the chunks back to the thread; their operations were dropped or moved out.
    fn recycle(&mut self) {
        let chunks = std::mem::take(&mut self.chunks);
        let _ = SPARE_CHUNKS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            for chunk in chunks {
                // SAFETY: the chunk came from Box::leak in alloc and is used no more.
                let chunk = unsafe { Box::from_raw(chunk.as_ptr()) };
                if spare.len() < 16 {
                    spare.push(chunk);
                }
            }
        });
        self.used = 0;
    }
}

/// One queued operation of a scope.
struct Queued {
    /// The operation in the scope's arena; null once its handle took it, or for a
    /// conversion error.
    op: *mut (),
    fns: &'static OpFns,
    state: State,
    /// `IOSQE_*` flags asked for when it was queued (drain).
    flags: u8,
    /// Whether the next entry is linked to this one (a chain).
    link: bool,
    /// Its result nobody waits for: the close of a direct-descriptor chain, whose completion
    /// frees this fixed-file slot.
    detached: Option<u32>,
    /// The earlier entry of a chain whose error explains this entry's `ECANCELED`.
    after: Option<usize>,
    /// The deadline of a [`with_timeout`](crate::with_timeout) in force when it was queued.
    deadline: Option<Instant>,
    /// The completion slot of its linked timeout, once on the ring: its `-ETIME` says the
    /// deadline, not something else, cancelled the operation.
    timeout_slot: Option<u32>,
    /// Its linked timeout fired (known once its result was taken).
    fired: bool,
}

enum State {
    /// Queued, not started yet.
    Queued,
    /// On the ring, in completion slot `slot`.
    Ring { slot: u32 },
    /// Finished without the ring (direct syscall, conversion error, cancelled chain).
    Done(io::Result<i32>),
    /// Its result was taken, or nobody takes it.
    Taken,
}

/// Unstarted entries that make a scope start them by itself.
const AUTO_START: usize = 64;

/// What [`Core::take_result`] takes out of an entry.
struct Taken {
    res: io::Result<i32>,
    /// Its linked timeout fired.
    timed_out: bool,
    /// The operation, now owned by the caller (null for a conversion error).
    op: *mut (),
    after: Option<usize>,
}

/// The non-generic part of a scope, which handles point to.
struct Core {
    queued: RefCell<Vec<Queued>>,
    arena: RefCell<Arena>,
    /// Entries before this index have been started.
    started: Cell<usize>,
    /// IOSQE_* flags for the next entry (drain).
    next_flags: Cell<u8>,
    /// Inside [`Batch::link`].
    linking: Cell<bool>,
    /// A drained entry is queued and not started: nothing queued after it may run first.
    drain_queued: Cell<bool>,
    /// The fork generation the scope began in: a fork child cannot wait for its parent's
    /// operations, which live in the parent's ring.
    generation: u64,
    /// Set when an operation's completion could not be reaped: its memory must never be
    /// freed.
    leak: Cell<bool>,
}

/// A batch scope; see [`batch`]. Every blocking call of the crate has a method of the same
/// name and arguments here, which queues the operation and returns a [`Handle`].
pub struct Batch<'scope, 'env: 'scope> {
    core: Core,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

/// The pending result of one batch operation.
#[must_use = "a handle does nothing unless waited; the scope waits for it anyway"]
pub struct Handle<'scope, T> {
    core: &'scope Core,
    index: usize,
    finish: unsafe fn(*mut (), io::Result<i32>) -> io::Result<T>,
    /// Invariant in 'scope, so a handle cannot be passed to another scope's methods.
    _scope: PhantomData<fn(&'scope ()) -> &'scope ()>,
}

/// Runs `f` with a batch scope: calls made on `s` are queued and submitted together, and
/// every one of them has completed (or was cancelled and reaped, if `f` panicked) when
/// `batch` returns.
///
/// Queued operations go to the kernel when a handle is waited, on [`Batch::submit`], or
/// when 64 have piled up. Never more are in flight than the completion queue holds.
/// Operations run in any order unless linked ([`Batch::link`], [`Batch::drain`]). Errors
/// are per operation, each the syscall's errno. Without a ring (io_uring refused, opcode
/// missing) each operation runs as its direct syscall when started, with the same results.
pub fn batch<'env, T>(f: impl for<'scope> FnOnce(&'scope Batch<'scope, 'env>) -> T) -> T {
    let scope = Batch {
        core: Core {
            queued: RefCell::new(SPARE_QUEUE.try_with(Cell::take).unwrap_or_default()),
            arena: RefCell::new(Arena::default()),
            started: Cell::new(0),
            next_flags: Cell::new(0),
            linking: Cell::new(false),
            drain_queued: Cell::new(false),
            generation: local::fork_generation(),
            leak: Cell::new(false),
        },
        _scope: PhantomData,
        _env: PhantomData,
    };
    Counters::current().batch();
    // The scope's Drop, not the handles', waits for everything; it runs on unwind too.
    f(&scope)
}

impl Drop for Core {
    fn drop(&mut self) {
        if self.forked() {
            // Entries still in the parent's ring cannot be reaped here; their memory is this
            // process's copy: leak it rather than free it.
            self.leak.set(true);
        }
        self.linking.set(false);
        let cancel = std::thread::panicking();
        if cancel {
            // Unwinding: what never started never will (no write or unlink on the way out).
            let started = self.started.replace(self.queued.get_mut().len());
            for q in &mut self.queued.get_mut()[started..] {
                if matches!(q.state, State::Queued) {
                    q.state = State::Done(Ok(-libc::ECANCELED));
                }
                if let Some(index) = q.detached.take() {
                    with_driver(|d| d.release_direct_slot(index));
                }
            }
        } else {
            self.start_pending();
        }
        let queued = self.queued.get_mut();
        let pending: Vec<u32> = queued
            .iter()
            .flat_map(|q| {
                let op = match q.state {
                    State::Ring { slot } => Some(slot),
                    _ => None,
                };
                op.into_iter().chain(q.timeout_slot)
            })
            .collect();
        if !pending.is_empty() && !self.leak.get() {
            let finished = with_driver(|driver| {
                if cancel {
                    for &slot in &pending {
                        if driver.completions.is_pending(slot) {
                            if driver.ring.sq_space_left() == 0 {
                                driver.flush_queued();
                            }
                            if let Some(sqe) = driver.ring.get_sqe() {
                                sqe.prep_cancel(u64::from(slot), 0)
                                    .user_data(local::IGNORED);
                            }
                        }
                    }
                }
                for &slot in &pending {
                    while driver.completions.is_pending(slot) {
                        driver.wait_one();
                    }
                    driver.completions.take(slot);
                }
            });
            if finished.is_none() {
                self.leak.set(true);
            }
        }
        if self.leak.get() {
            // No driver to wait on: this thread's ring is unreachable (re-entered from a
            // signal handler). The kernel may still write to the operations' memory, so it
            // must never be freed: leak it.
            std::mem::forget(std::mem::take(self.queued.get_mut()));
            std::mem::forget(std::mem::take(self.arena.get_mut()));
            return;
        }
        for q in self.queued.get_mut().drain(..) {
            if !q.op.is_null() {
                // SAFETY: the operation lives in the arena, was not taken by a handle, and
                // its completion has been reaped above, so the kernel no longer uses it.
                unsafe { (q.fns.drop)(q.op) };
            }
        }
        self.arena.get_mut().recycle();
        let queue = std::mem::take(self.queued.get_mut());
        if queue.capacity() <= 4096 {
            let _ = SPARE_QUEUE.try_with(|spare| spare.set(queue));
        }
    }
}

impl Core {
    /// Queues an operation (or a conversion error) and returns its index.
    fn push<O: Op>(&self, op: io::Result<O>) -> usize {
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
            && local::auto_dispatch()
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
            return Some(State::Done(Ok(local::direct(op))));
        }
        if O::OPCODE != IORING_OP_READ && O::OPCODE != IORING_OP_READV {
            return None;
        }
        let mut sqe = Sqe(IoUringSqe::default());
        op.prep(&mut sqe);
        // SAFETY: the entry points into the live operation and what it borrows.
        let res = with_driver(|d| unsafe { d.try_nowait(sqe.as_raw()) }).flatten()?;
        Counters::current().fallback();
        Some(State::Done(Ok(res)))
    }

    /// Starts every queued entry. Inside [`Batch::link`] the chain ends with them.
    fn start_pending(&self) {
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
    /// it can; else it runs as direct syscalls now, a failure (or a short transfer, as the
    /// kernel counts it) cancelling the rest of the chain.
    fn start(&self, range: Range<usize>) {
        let mut queued = self.queued.borrow_mut();
        let entries = &mut queued[range];
        if self.forked() {
            // A fork child's scope must not leave operations in its ring past the waits
            // that give up on the parent's: run them here and now.
            Self::run_direct(entries);
            return;
        }
        let auto = local::auto_dispatch();
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
                    Self::run_direct(chain);
                    // Direct-descriptor chains cannot run as syscalls; free their slots.
                    for q in chain.iter_mut() {
                        if let Some(index) = q.detached.take() {
                            driver.release_direct_slot(index);
                        }
                    }
                }
                begin = end;
            }
        });
        if on_driver.is_none() {
            Self::run_direct(entries);
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
        // SAFETY: every Queued entry holds a live operation.
        let fits = chain.iter().all(|q| {
            matches!(q.state, State::Queued)
                && !local::auto_direct_in_batch(q.fns.punted)
                && unsafe { (q.fns.fits)(q.op, &mut *driver) }
        });
        if !fits || sqes > driver.ring.sq_entries() as usize {
            return false;
        }
        if may_run_now
            && chain.len() == 1
            && !timed
            && chain[0].flags == 0
            && local::auto_dispatch()
        {
            // Dispatch::Auto: a read the page cache can serve right now is cheaper as a
            // syscall than through the ring; only one that would block goes there.
            let q = &mut chain[0];
            let mut sqe = Sqe(IoUringSqe::default());
            // SAFETY: the entry holds a live operation.
            unsafe { (q.fns.prep)(q.op, &mut sqe) };
            // SAFETY: the entry points into the live operation and what it borrows.
            if let Some(res) = unsafe { driver.try_nowait(sqe.as_raw()) } {
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
                Some(direct) => driver.completions.alloc_as(Slot::Detached {
                    direct: Some(direct),
                }),
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

    /// Runs a chain as direct syscalls, now.
    fn run_direct(chain: &mut [Queued]) {
        let mut cancel_rest = false;
        for q in chain.iter_mut() {
            if cancel_rest {
                if matches!(q.state, State::Queued) {
                    q.state = State::Done(Ok(-libc::ECANCELED));
                }
            } else if matches!(q.state, State::Queued) {
                // SAFETY: a Queued entry holds a live operation; the syscall is done with it
                // when it returns.
                q.state = State::Done(unsafe { (q.fns.syscall)(q.op) });
            }
            if let State::Done(res) = &q.state {
                cancel_rest = q.link
                    && match res {
                        // SAFETY: a started entry still holds its live operation.
                        Ok(r) if !q.op.is_null() => unsafe { (q.fns.breaks_chain)(q.op, *r) },
                        _ => true,
                    };
            }
        }
    }

    /// Whether this process is a fork child of the one that began the scope.
    fn forked(&self) -> bool {
        local::fork_generation() != self.generation
    }

    /// Waits for entry `index` and takes its raw result and its operation; `None` if it
    /// cannot be reaped (a fork child, or no driver).
    fn take_result(&self, index: usize) -> Option<Taken> {
        if index >= self.started.get() {
            self.start_pending();
        }
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
            // In a fork child the parent's ring is out of reach.
            State::Ring { slot } => match (!self.forked()).then(|| wait_slot(slot)).flatten() {
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
                local::forget_fd(fd);
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
    fn first_ready(&self, indices: impl Iterator<Item = usize>, refilled: bool) -> Option<usize> {
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
                    State::Done(_) | State::Taken => true,
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

impl<'scope> Batch<'scope, '_> {
    /// Queues an operation; a failed conversion (a path with a NUL) gives a failed handle.
    pub(crate) fn push<O: Op + 'scope>(
        &'scope self,
        op: io::Result<O>,
    ) -> Handle<'scope, O::Output> {
        let index = self.core.push(op);
        self.handle::<O>(index)
    }

    fn handle<O: Op>(&'scope self, index: usize) -> Handle<'scope, O::Output> {
        Handle {
            core: &self.core,
            index,
            finish: finish_in_arena::<O>,
            _scope: PhantomData,
        }
    }

    /// Submits everything queued so far without waiting.
    pub fn submit(&self) {
        self.core.start_pending();
        with_driver(|driver| driver.flush_queued());
    }

    /// Makes the next queued operation start only after every operation queued before it
    /// has completed (`IOSQE_IO_DRAIN`).
    pub fn drain(&self) -> &Self {
        self.core
            .next_flags
            .set(self.core.next_flags.get() | IOSQE_IO_DRAIN);
        self
    }

    /// Links the operations queued inside `f` into a chain (`IOSQE_IO_LINK`): each starts
    /// when the one before has succeeded, and once one fails (or transfers less than asked,
    /// as the kernel counts it) the rest fail with `ECANCELED`. The chain goes to the kernel
    /// in one piece when `f` returns; waiting one of its handles inside `f` ends the chain
    /// there. A chain longer than the ring's SQ runs as direct syscalls.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("f");
    /// let file = std::fs::File::create(&path)?;
    /// let (written, synced) = uring_os::batch(|s| {
    ///     let (w, f) = s.link(|s| (s.pwrite(&file, b"data", 0), s.fsync(&file)));
    ///     (w.wait(), f.wait())
    /// });
    /// assert_eq!(written?, 4);
    /// synced?;
    /// # Ok(()) }
    /// ```
    pub fn link<R>(&'scope self, f: impl FnOnce(&'scope Self) -> R) -> R {
        if self.core.linking.get() {
            return f(self);
        }
        self.core.start_pending();
        self.core.linking.set(true);
        struct EndChain<'a>(&'a Core);
        impl Drop for EndChain<'_> {
            fn drop(&mut self) {
                self.0.linking.set(false);
            }
        }
        let end = EndChain(&self.core);
        let result = f(self);
        drop(end);
        self.core.start_pending();
        result
    }

    /// Reads up to `buf.len()` bytes from the start of `path` (relative to `dir`) as one
    /// linked chain — open into a direct descriptor, read, close — so a small file costs
    /// no file descriptor number and a third of the completions' bookkeeping. The result is
    /// the open's error if it failed, else the read's.
    ///
    /// Needs sparse fixed-file tables (5.19); before, and without a ring, it runs as
    /// openat + read + close.
    pub fn read_file(
        &'scope self,
        dir: &'scope impl AsFd,
        path: impl AsRef<Path>,
        buf: &'scope mut [u8],
    ) -> Handle<'scope, usize> {
        let dir = dir.as_fd().as_raw_fd();
        let path = match CPath::heap(path.as_ref()) {
            Ok(path) => path,
            Err(e) => return self.push::<op::Read<'scope>>(Err(e)),
        };
        // The chain stands alone: an enclosing link() ends before it.
        self.core.start_pending();
        let sqes_needed = if crate::timeout::current_deadline().is_some() {
            6
        } else {
            3
        };
        let index = loop {
            if self.core.forked() {
                // A fork child's scope runs its operations as syscalls (see start).
                break None;
            }
            match with_driver(|d| {
                if d.ring.sq_entries() < sqes_needed {
                    DirectSlot::Unsupported
                } else {
                    d.direct_slot()
                }
            }) {
                Some(DirectSlot::Free(index)) => break Some(index),
                Some(DirectSlot::Busy) => {
                    // Every slot belongs to a chain not finished: start and reap them.
                    self.core.start_pending();
                    with_driver(Driver::wait_one);
                }
                Some(DirectSlot::Unsupported) | None => break None,
            }
        };
        let Some(index) = index else {
            // No direct descriptors: the same three steps, now, one after the other.
            let res = read_whole(dir, path, buf);
            let slot = self.core.push::<op::Ready>(Ok(op::Ready));
            self.core.queued.borrow_mut()[slot].state = State::Done(res.map(|n| n as i32));
            return self.handle::<op::Ready>(slot);
        };
        let outer_link = self.core.linking.replace(true);
        let open = self.core.push(Ok(op::OpenDirect { dir, path, index }));
        let read = self.core.push(Ok(op::ReadDirect { index, buf }));
        self.core.linking.set(false);
        let close = self.core.push(Ok(op::CloseDirect { index }));
        self.core.linking.set(outer_link);
        let mut queued = self.core.queued.borrow_mut();
        queued[read].after = Some(open);
        queued[close].detached = Some(index);
        drop(queued);
        // Started now, as a unit, so no later link() entry joins the chain.
        self.core.start_pending();
        self.handle::<op::ReadDirect<'scope>>(read)
    }

    /// Keeps up to `depth` of the operations `ops` yields in flight, queueing the next one
    /// as each completes, and yields `(position, result)` in completion order — the fio
    /// pattern, for many reads or writes without waiting for the slowest of each group.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let mut bufs = vec![[0u8; 8]; 16];
    /// let total: usize = uring_os::batch(|s| {
    ///     let reads = bufs.iter_mut().enumerate().map(|(i, b)| s.pread(&file, b, i as u64 * 8));
    ///     s.window(4, reads).map(|(_, r)| r.unwrap()).sum()
    /// });
    /// assert_eq!(total, 128);
    /// # Ok(()) }
    /// ```
    pub fn window<T, I>(&'scope self, depth: usize, ops: I) -> Window<'scope, T, I::IntoIter>
    where
        I: IntoIterator<Item = Handle<'scope, T>>,
    {
        Window {
            core: &self.core,
            ops: ops.into_iter(),
            depth: depth.max(1),
            in_flight: VecDeque::new(),
            next_position: 0,
        }
    }
}

/// openat + read + close one after the other, for [`Batch::read_file`] without direct
/// descriptors.
fn read_whole(dir: i32, path: CPath, buf: &mut [u8]) -> io::Result<usize> {
    let fd = std::os::fd::IntoRawFd::into_raw_fd(local::run(op::OpenAt {
        dir,
        path,
        flags: libc::O_RDONLY | libc::O_CLOEXEC,
        mode: 0,
    })?);
    /// Closes the fd if the read unwinds (through the seam, not libc's close).
    struct CloseOnUnwind(i32);
    impl Drop for CloseOnUnwind {
        fn drop(&mut self) {
            // SAFETY: the fd was opened above and nothing else owns it.
            unsafe { crate::sys::syscall::close(self.0) };
        }
    }
    let guard = CloseOnUnwind(fd);
    let res = local::run(op::Read { fd, buf, offset: 0 });
    std::mem::forget(guard);
    local::run(op::Close { fd })?;
    res
}

/// The iterator of [`Batch::window`].
pub struct Window<'scope, T, I> {
    core: &'scope Core,
    ops: I,
    depth: usize,
    in_flight: VecDeque<(usize, Handle<'scope, T>)>,
    next_position: usize,
}

impl<'scope, T, I: Iterator<Item = Handle<'scope, T>>> Iterator for Window<'scope, T, I> {
    type Item = (usize, io::Result<T>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.depth {
            let Some(handle) = self.ops.next() else { break };
            self.in_flight.push_back((self.next_position, handle));
            self.next_position += 1;
        }
        if self.in_flight.is_empty() {
            return None;
        }
        self.core.start_pending();
        let mut refilled = true;
        loop {
            let indices = self.in_flight.iter().map(|(_, h)| h.index);
            if let Some(pos) = self
                .core
                .first_ready(indices, std::mem::take(&mut refilled))
            {
                let (position, handle) = self.in_flight.remove(pos).expect("found above");
                return Some((position, handle.wait()));
            }
            with_driver(Driver::wait_one);
        }
    }
}

impl<T> Handle<'_, T> {
    /// Waits for the operation and gives its result, submitting what is queued if needed.
    pub fn wait(self) -> io::Result<T> {
        let Some(Taken {
            mut res,
            timed_out,
            op,
            after,
        }) = self.core.take_result(self.index)
        else {
            // Not reapable (see Core::drop): the kernel may still use the operation's
            // memory, so it stays in the scope, leaked rather than freed.
            return Err(io::Error::from_raw_os_error(libc::ECANCELED));
        };
        if matches!(res, Ok(r) if r == -libc::ECANCELED || r == -libc::EINTR) {
            if timed_out {
                res = Ok(-libc::ETIMEDOUT);
            } else if let Some(index) = after {
                // A chain cut short: the earlier entry's error says why.
                if let Some(earlier) = self.core.take_result(index) {
                    if !earlier.op.is_null() {
                        // Back into the scope, which drops it.
                        self.core.queued.borrow_mut()[index].op = earlier.op;
                    }
                    if failed(&earlier.res) {
                        res = earlier.res;
                    }
                }
            }
        }
        if op.is_null() {
            // A conversion error, carried in `res`.
            return Err(match res {
                Err(e) => e,
                Ok(r) => io::Error::from_raw_os_error(if r < 0 { -r } else { libc::ECANCELED }),
            });
        }
        // SAFETY: op is this handle's operation, taken out of the scope above, and its
        // completion has been reaped (or it never went to the kernel).
        unsafe { (self.finish)(op, res) }
    }
}

/// Waits for completion slot `slot` and takes its result; `None` without a driver.
fn wait_slot(slot: u32) -> Option<i32> {
    with_driver(|driver| {
        loop {
            if let Some(res) = driver.completions.take(slot) {
                return res;
            }
            driver.wait_one();
        }
    })
}
