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

use std::cell::{Cell, RefCell};
use std::io;
use std::marker::PhantomData;

use crate::local::{self, Driver, with_driver};
use crate::op::Op;
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
}

#[derive(Clone, Copy)]
enum Slot {
    Free,
    Pending,
    Done(i32),
}

impl Completions {
    fn alloc(&mut self) -> u32 {
        self.in_flight += 1;
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Slot::Pending;
                slot
            }
            None => {
                self.slots.push(Slot::Pending);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Files the result of slot `user_data`.
    pub(crate) fn complete(&mut self, user_data: u64, res: i32) {
        if let Some(slot @ Slot::Pending) = self.slots.get_mut(user_data as usize) {
            *slot = Slot::Done(res);
            self.in_flight -= 1;
        }
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
}

/// One queued operation of a scope: the boxed operation and where its result comes from.
struct Queued {
    /// The `Box<O>` of the operation, null once its handle took it.
    op: *mut (),
    drop_op: unsafe fn(*mut ()),
    state: QueuedState,
}

enum QueuedState {
    /// On the ring, in completion slot `slot` of ring generation `ring`.
    Ring { slot: u32 },
    /// Ran as a direct syscall already, with this result.
    Done(io::Result<i32>),
    /// Its result was taken.
    Taken,
}

/// The non-generic part of a scope, which handles point to.
struct Core {
    queued: RefCell<Vec<Queued>>,
    /// IOSQE_* flags added to the next entry (drain).
    next_flags: Cell<u8>,
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
/// unless linked ([`Batch::drain`]). Errors are per operation, each the syscall's errno.
pub fn batch<'env, T>(f: impl for<'scope> FnOnce(&'scope Batch<'scope, 'env>) -> T) -> T {
    let scope = Batch {
        core: Core {
            queued: RefCell::new(Vec::new()),
            next_flags: Cell::new(0),
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
        let cancel = std::thread::panicking();
        let queued = self.queued.get_mut();
        let pending: Vec<u32> = queued
            .iter()
            .filter_map(|q| match q.state {
                QueuedState::Ring { slot } => Some(slot),
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
                unsafe { (q.drop_op)(q.op) };
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

impl<'scope> Batch<'scope, '_> {
    /// Queues an operation; a failed conversion (a path with a NUL) gives a failed handle.
    pub(crate) fn push<O: Op + 'scope>(
        &'scope self,
        op: io::Result<O>,
    ) -> Handle<'scope, O::Output> {
        let op = match op {
            Ok(op) => Box::into_raw(Box::new(op)),
            Err(e) => {
                return self.handle_for(
                    std::ptr::null_mut(),
                    drop_boxed::<O>,
                    finish_boxed::<O>,
                    QueuedState::Done(Err(e)),
                );
            }
        };
        let flags = self.core.next_flags.replace(0);
        let queued = with_driver(|driver| {
            // SAFETY: op is the live box made above.
            if !driver.can_run(unsafe { &*op }) {
                return None;
            }
            driver.make_room(1);
            let slot = driver.completions.alloc();
            let sqe = driver.ring.get_sqe().expect("make_room left SQ space");
            // SAFETY: op is the live box made above; its address is stable until the scope
            // ends, which waits for this entry's completion.
            unsafe { &mut *op }.prep(sqe);
            sqe.user_data(u64::from(slot)).flags(flags);
            driver.counters.op();
            Some(slot)
        })
        .flatten();
        let state = match queued {
            Some(slot) => QueuedState::Ring { slot },
            // SAFETY: op is the live box made above.
            None => QueuedState::Done(local::fallback(unsafe { &mut *op })),
        };
        self.handle_for(op.cast(), drop_boxed::<O>, finish_boxed::<O>, state)
    }

    fn handle_for<T>(
        &'scope self,
        op: *mut (),
        drop_op: unsafe fn(*mut ()),
        finish: unsafe fn(*mut (), io::Result<i32>) -> io::Result<T>,
        state: QueuedState,
    ) -> Handle<'scope, T> {
        let mut queued = self.core.queued.borrow_mut();
        queued.push(Queued { op, drop_op, state });
        Handle {
            core: &self.core,
            index: queued.len() - 1,
            finish,
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
}

impl<T> Handle<'_, T> {
    /// Waits for the operation and gives its result, submitting what is queued if needed.
    pub fn wait(self) -> io::Result<T> {
        let (op, state) = {
            let mut queued = self.core.queued.borrow_mut();
            let q = &mut queued[self.index];
            let op = std::mem::replace(&mut q.op, std::ptr::null_mut());
            (op, std::mem::replace(&mut q.state, QueuedState::Taken))
        };
        let res = match state {
            QueuedState::Done(res) => res,
            QueuedState::Ring { slot } => match wait_slot(slot) {
                Some(res) => Ok(res),
                None => {
                    // No driver to wait on (see Core::drop): the kernel may still use the
                    // operation's memory, so leak it rather than free it.
                    return Err(io::Error::from_raw_os_error(libc::ECANCELED));
                }
            },
            QueuedState::Taken => unreachable!("a handle is waited once"),
        };
        if op.is_null() {
            // A conversion error, carried in `res`.
            return res.map(|_| unreachable!("no operation without an error"));
        }
        // SAFETY: op is this handle's box, taken out of the scope above, and its completion
        // has been reaped by wait_slot (or it never went to the kernel).
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
