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
            if !matches!(
                e.raw_os_error(),
                Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)
            ) {
                panic!("io_uring_enter failed on a working ring: {e}");
            }
        }
        self.reap_into_completions();
    }

    /// A free slot of the fixed file table, registering a sparse table on first use; `None`
    /// if the kernel has no sparse tables (before 5.19).
    fn direct_slot(&mut self) -> Option<u32> {
        if self.completions.direct_free.is_none() {
            let size = self.ring.cq_entries();
            self.ring.register_files_sparse(size).ok()?;
            self.completions.direct_free = Some((0..size).rev().collect());
        }
        loop {
            if let Some(index) = self.completions.direct_free.as_mut()?.pop() {
                return Some(index);
            }
            // All in use by chains in flight: their closes free them.
            self.wait_one();
        }
    }
}

/// The type-erased handling of one boxed operation.
struct OpFns {
    punted: bool,
    drop: unsafe fn(*mut ()),
    prep: unsafe fn(*mut (), &mut Sqe),
    fits: unsafe fn(*const (), &mut Driver) -> bool,
    syscall: unsafe fn(*mut ()) -> io::Result<i32>,
    breaks_chain: unsafe fn(*const (), i32) -> bool,
}

/// One queued operation of a scope: the boxed operation and where its result comes from.
struct Queued {
    /// The `Box<O>` of the operation, null once its handle took it.
    op: *mut (),
    fns: OpFns,
    state: State,
    /// Its result nobody waits for: the close of a direct-descriptor chain, whose completion
    /// frees this fixed-file slot.
    detached: Option<u32>,
    /// The earlier entry of a chain whose error explains this entry's `ECANCELED`.
    after: Option<usize>,
    /// The deadline of a linked timeout, to tell a timeout from a cancel.
    deadline: Option<Instant>,
}

enum State {
    /// Queued in a chain still being built.
    Deferred,
    /// On the ring, in completion slot `slot`.
    Ring { slot: u32 },
    /// Finished without the ring (direct syscall, conversion error, cancelled chain).
    Done(io::Result<i32>),
    /// Its result was taken, or it needs no waiting.
    Taken,
}

/// The non-generic part of a scope, which handles point to.
struct Core {
    queued: RefCell<Vec<Queued>>,
    /// IOSQE_* flags added to the next entry (drain).
    next_flags: Cell<u8>,
    /// Index of the first entry of the chain being built by [`Batch::link`].
    chain_start: Cell<Option<usize>>,
    /// The fork generation the scope began in: a fork child cannot wait for its parent's
    /// operations, which live in the parent's ring.
    generation: u64,
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
}

/// Runs `f` with a batch scope: calls made on `s` are queued and submitted together, and
/// every one of them has completed (or was cancelled and reaped, if `f` panicked) when
/// `batch` returns.
///
/// More operations than the ring holds are submitted automatically as the queue fills, and
/// never more are in flight than the completion queue holds. Operations run in any order
/// unless linked ([`Batch::link`], [`Batch::drain`]). Errors are per operation, each the
/// syscall's errno. Without a ring (io_uring refused, opcode missing) each operation runs as
/// its direct syscall when queued, with the same results.
pub fn batch<'env, T>(f: impl for<'scope> FnOnce(&'scope Batch<'scope, 'env>) -> T) -> T {
    let scope = Batch {
        core: Core {
            queued: RefCell::new(Vec::new()),
            next_flags: Cell::new(0),
            chain_start: Cell::new(None),
            generation: local::fork_generation(),
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
            // The operations live in the parent's ring; nothing here can reap them, and
            // their memory is this process's copy: leak it rather than free it.
            std::mem::forget(std::mem::take(self.queued.get_mut()));
            return;
        }
        if self.chain_start.get().is_some() {
            // A panic inside link(): start what was queued so it is reaped like the rest.
            self.start_chain();
        }
        let cancel = std::thread::panicking();
        let queued = self.queued.get_mut();
        let pending: Vec<u32> = queued
            .iter()
            .filter_map(|q| match q.state {
                State::Ring { slot } => Some(slot),
                _ => None,
            })
            .collect();
        if !pending.is_empty() {
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
                // No driver to wait on: this thread's ring is gone (fork child) or
                // unreachable (re-entered from a signal handler). The kernel may still write
                // to the operations' memory, so it must never be freed: leak it.
                queued.clear();
                return;
            }
        }
        for q in queued.drain(..) {
            if !q.op.is_null() {
                // SAFETY: op came from Box::into_raw in push, was not taken by a handle, and
                // its completion has been reaped above, so the kernel no longer uses it.
                unsafe { (q.fns.drop)(q.op) };
            }
        }
    }
}

/// Drops a `Box<O>` given as a raw pointer.
///
/// # Safety
/// `ptr` must come from `Box::<O>::into_raw` and be used no more.
unsafe fn drop_boxed<O>(ptr: *mut ()) {
    // SAFETY: the caller's contract.
    drop(unsafe { Box::from_raw(ptr.cast::<O>()) });
}

/// # Safety
/// `ptr` must point to a live `O` that stays at its address until the entry completes.
unsafe fn prep_boxed<O: Op>(ptr: *mut (), sqe: &mut Sqe) {
    // SAFETY: the caller's contract.
    unsafe { &mut *ptr.cast::<O>() }.prep(sqe);
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn fits_boxed<O: Op>(ptr: *const (), driver: &mut Driver) -> bool {
    // SAFETY: the caller's contract.
    driver.can_run(unsafe { &*ptr.cast::<O>() })
}

/// # Safety
/// `ptr` must point to a live `O`.
unsafe fn syscall_boxed<O: Op>(ptr: *mut ()) -> io::Result<i32> {
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
unsafe fn breaks_chain_boxed<O: Op>(ptr: *const (), res: i32) -> bool {
    // SAFETY: the caller's contract.
    unsafe { &*ptr.cast::<O>() }.short(res)
}

fn fns<O: Op>() -> OpFns {
    OpFns {
        punted: O::PUNTED,
        drop: drop_boxed::<O>,
        prep: prep_boxed::<O>,
        fits: fits_boxed::<O>,
        syscall: syscall_boxed::<O>,
        breaks_chain: breaks_chain_boxed::<O>,
    }
}

/// Turns a result into the operation's output, consuming the boxed operation.
///
/// # Safety
/// `ptr` must come from `Box::<O>::into_raw`, be used no more, and the kernel must be done
/// with it.
unsafe fn finish_boxed<O: Op>(ptr: *mut (), res: io::Result<i32>) -> io::Result<O::Output> {
    // SAFETY: the caller's contract.
    let op = unsafe { Box::from_raw(ptr.cast::<O>()) };
    let res = O::map_result(res?);
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(op.output(res))
    }
}

/// Whether a raw result or error means "failed", which stops a chain.
fn failed(res: &io::Result<i32>) -> bool {
    !matches!(res, Ok(r) if *r >= 0)
}

impl Core {
    /// Adds an operation (or a conversion error) and returns its index, unstarted.
    fn add<O: Op>(&self, op: io::Result<O>) -> usize {
        let (op, state) = match op {
            Ok(op) => (Box::into_raw(Box::new(op)).cast::<()>(), State::Deferred),
            Err(e) => (std::ptr::null_mut(), State::Done(Err(e))),
        };
        let mut queued = self.queued.borrow_mut();
        queued.push(Queued {
            op,
            fns: fns::<O>(),
            state,
            detached: None,
            after: None,
            deadline: None,
        });
        queued.len() - 1
    }

    /// Starts entries `range`: on the ring when every one fits there, linked one after the
    /// other if `link`; else each as its direct syscall now, a failure (or, as the kernel
    /// counts it, a short transfer) cancelling the rest of a linked range. Under
    /// [`with_timeout`](crate::with_timeout) each entry gets a linked timeout.
    fn start(&self, range: Range<usize>, link: bool) {
        let mut queued = self.queued.borrow_mut();
        let entries = &mut queued[range];
        if entries.is_empty() {
            return;
        }
        let deadline = crate::timeout::current_deadline();
        let conversion_failed = entries.iter().any(|q| matches!(q.state, State::Done(_)));
        let auto_direct = entries
            .iter()
            .any(|q| local::auto_direct_in_batch(q.fns.punted));
        let on_ring = !conversion_failed
            && !auto_direct
            && with_driver(|driver| {
                // SAFETY: every Deferred entry holds a live box.
                if !entries
                    .iter()
                    .all(|q| unsafe { (q.fns.fits)(q.op, &mut *driver) })
                {
                    return false;
                }
                let per_entry = if deadline.is_some() { 2 } else { 1 };
                driver.make_room(entries.len() as u32 * per_entry);
                // Read by the kernel while it prepares the timeouts, in the flush below.
                let ts =
                    deadline.map(|d| op::timespec(d.saturating_duration_since(Instant::now())));
                let mut flags = self.next_flags.replace(0);
                let last = entries.len() - 1;
                for (k, q) in entries.iter_mut().enumerate() {
                    let slot = match q.detached {
                        Some(direct) => driver.completions.alloc_as(Slot::Detached {
                            direct: Some(direct),
                        }),
                        None => driver.completions.alloc_as(Slot::Pending),
                    };
                    let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
                    // SAFETY: the box stays at its address until the scope ends, and the
                    // scope waits for this entry's completion first.
                    unsafe { (q.fns.prep)(q.op, sqe) };
                    sqe.user_data(u64::from(slot)).flags(flags);
                    flags = 0;
                    if (link && k < last) || ts.is_some() {
                        sqe.flags(IOSQE_IO_LINK);
                    }
                    q.state = match q.detached {
                        Some(_) => State::Taken,
                        None => State::Ring { slot },
                    };
                    driver.counters.op();
                    if let Some(ts) = &ts {
                        q.deadline = deadline;
                        let timeout_slot =
                            driver.completions.alloc_as(Slot::Detached { direct: None });
                        let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
                        sqe.prep_link_timeout(ts, 0)
                            .user_data(u64::from(timeout_slot));
                        // In a chain the timeout links on to the next operation.
                        if link && k < last {
                            sqe.flags(IOSQE_IO_LINK);
                        }
                    }
                }
                if ts.is_some() {
                    driver.flush_queued();
                }
                true
            })
            .unwrap_or(false);
        if on_ring {
            return;
        }
        self.next_flags.set(0);
        let mut cancel_rest = false;
        for q in entries.iter_mut() {
            if cancel_rest {
                q.state = State::Done(Ok(-libc::ECANCELED));
                continue;
            }
            if matches!(q.state, State::Deferred) {
                // SAFETY: a Deferred entry holds a live box; the syscall is done with it
                // when it returns.
                q.state = State::Done(unsafe { (q.fns.syscall)(q.op) });
            }
            if let State::Done(res) = &q.state {
                cancel_rest = link
                    && match res {
                        Ok(r) if *r >= 0 => {
                            // SAFETY: a started entry still holds its live box.
                            !q.op.is_null() && unsafe { (q.fns.breaks_chain)(q.op, *r) }
                        }
                        _ => true,
                    };
            }
        }
    }

    /// Starts the chain being built by [`Batch::link`].
    fn start_chain(&self) {
        if let Some(start) = self.chain_start.take() {
            let end = self.queued.borrow().len();
            self.start(start..end, true);
        }
    }

    /// Starts entry `index` unless a chain is being built.
    fn start_one(&self, index: usize) {
        if self.chain_start.get().is_none() {
            self.start(index..index + 1, false);
        }
    }

    /// Whether this process is a fork child of the one that began the scope.
    fn forked(&self) -> bool {
        local::fork_generation() != self.generation
    }

    /// Waits for entry `index` and takes its raw result; `None` without a driver (or in a
    /// fork child, where the parent's ring is out of reach).
    fn take_result(&self, index: usize) -> Option<(io::Result<i32>, Option<Instant>)> {
        if self.forked() {
            return None;
        }
        if matches!(self.queued.borrow()[index].state, State::Deferred) {
            // Waiting inside link(): the chain so far has to run first.
            self.start_chain();
        }
        let state = std::mem::replace(&mut self.queued.borrow_mut()[index].state, State::Taken);
        let deadline = self.queued.borrow()[index].deadline;
        let res = match state {
            State::Done(res) => res,
            State::Ring { slot } => Ok(wait_slot(slot)?),
            State::Taken => Err(io::Error::from_raw_os_error(libc::ECANCELED)),
            State::Deferred => unreachable!("started above"),
        };
        Some((res, deadline))
    }

    fn is_ready(&self, index: usize) -> bool {
        if self.forked() {
            return true;
        }
        if matches!(self.queued.borrow()[index].state, State::Deferred) {
            self.start_chain();
        }
        match self.queued.borrow()[index].state {
            State::Ring { slot } => {
                with_driver(|d| !d.completions.is_pending(slot)).unwrap_or(true)
            }
            State::Deferred => false,
            State::Done(_) | State::Taken => true,
        }
    }
}

impl<'scope> Batch<'scope, '_> {
    /// Queues an operation; a failed conversion (a path with a NUL) gives a failed handle.
    pub(crate) fn push<O: Op + 'scope>(
        &'scope self,
        op: io::Result<O>,
    ) -> Handle<'scope, O::Output> {
        let index = self.core.add(op);
        self.core.start_one(index);
        self.handle::<O>(index)
    }

    fn handle<O: Op>(&'scope self, index: usize) -> Handle<'scope, O::Output> {
        Handle {
            core: &self.core,
            index,
            finish: finish_boxed::<O>,
        }
    }

    /// Submits everything queued so far without waiting.
    pub fn submit(&self) {
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
    /// when the one before has succeeded, and once one fails the rest fail with
    /// `ECANCELED`. The chain goes to the kernel in one piece when `f` returns (or when a
    /// handle of it is waited inside `f`).
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
        self.core.start_chain();
        self.core
            .chain_start
            .set(Some(self.core.queued.borrow().len()));
        let result = f(self);
        self.core.start_chain();
        result
    }

    /// Reads up to `buf.len()` bytes from the start of `path` (relative to `dir`) as one
    /// linked chain — open into a direct descriptor, read, close — so a small file costs one
    /// submission and no file descriptor number. The result is the open's error if it
    /// failed, else the read's.
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
        let direct = with_driver(|d| {
            let opcodes = [IORING_OP_OPENAT, IORING_OP_READ, IORING_OP_CLOSE];
            if opcodes.iter().all(|&op| d.supports(op)) {
                d.direct_slot()
            } else {
                None
            }
        })
        .flatten();
        let Some(index) = direct else {
            // No direct descriptors: the same three steps, now, one after the other.
            let res = read_whole(dir, path, buf);
            let slot = self.core.add::<op::Ready>(Ok(op::Ready));
            self.core.queued.borrow_mut()[slot].state = State::Done(res.map(|n| n as i32));
            return self.handle::<op::Ready>(slot);
        };
        // Inside link(), the chain so far runs before the open, in the same chain.
        let outer = self.core.chain_start.take();
        let open = self.core.add(Ok(op::OpenDirect { dir, path, index }));
        let read = self.core.add(Ok(op::ReadDirect { index, buf }));
        let close = self.core.add(Ok(op::CloseDirect { index }));
        {
            let mut queued = self.core.queued.borrow_mut();
            queued[read].after = Some(open);
            queued[close].detached = Some(index);
        }
        // Open links to the read; the read hard-links to the close so the slot is closed
        // even when the read fails (a failed open cancels both, and leaves nothing to close).
        self.core.start(outer.unwrap_or(open)..close + 1, true);
        if outer.is_some() {
            self.core
                .chain_start
                .set(Some(self.core.queued.borrow().len()));
        }
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
    let fd = local::run(op::OpenAt {
        dir,
        path,
        flags: libc::O_RDONLY | libc::O_CLOEXEC,
        mode: 0,
    })?;
    let res = local::run(op::Read {
        fd: fd.as_raw_fd(),
        buf,
        offset: 0,
    });
    local::run(op::Close {
        fd: std::os::fd::IntoRawFd::into_raw_fd(fd),
    })?;
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
        loop {
            if let Some(pos) = self
                .in_flight
                .iter()
                .position(|(_, h)| self.core.is_ready(h.index))
            {
                let (position, handle) = self.in_flight.remove(pos).expect("found above");
                return Some((position, handle.wait()));
            }
            with_driver(|d| d.wait_one());
        }
    }
}

impl<T> Handle<'_, T> {
    /// Waits for the operation and gives its result, submitting what is queued if needed.
    pub fn wait(self) -> io::Result<T> {
        let Some((mut res, deadline)) = self.core.take_result(self.index) else {
            // No driver to wait on (see Core::drop): the kernel may still use the
            // operation's memory, so it stays in the scope, leaked rather than freed.
            return Err(io::Error::from_raw_os_error(libc::ECANCELED));
        };
        let (op, after) = {
            let mut queued = self.core.queued.borrow_mut();
            let q = &mut queued[self.index];
            (std::mem::replace(&mut q.op, std::ptr::null_mut()), q.after)
        };
        let cancelled = matches!(res, Ok(r) if r == -libc::ECANCELED || r == -libc::EINTR);
        if cancelled {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                res = Ok(-libc::ETIMEDOUT);
            } else if let Some(earlier) = after {
                // A chain cut short: the earlier entry's error says why.
                if let Some((earlier_res, _)) = self.core.take_result(earlier) {
                    if failed(&earlier_res) {
                        res = earlier_res;
                    }
                }
            }
        }
        if op.is_null() {
            // A conversion error, carried in `res`.
            return res.map(|_| unreachable!("no operation without an error"));
        }
        // SAFETY: op is this handle's box, taken out of the scope above, and its completion
        // has been reaped (or it never went to the kernel).
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
