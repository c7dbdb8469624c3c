//! Counters of what went through the rings, per thread, summed on demand.

use std::sync::atomic::{AtomicU64, Ordering};

use thread_local::ThreadLocal;

/// One thread's counters. Only the owning thread writes them (plain load + store, no locked
/// instruction on the hot path); [`stats()`] reads them from any thread.
#[derive(Default)]
pub(crate) struct Counters {
    ops: AtomicU64,
    enters: AtomicU64,
    fallbacks: AtomicU64,
    batches: AtomicU64,
}

/// Every thread's counters. A thread's slot outlives the thread (an exited thread's id, and
/// its counters, pass to the next thread), so sums cover live and exited threads.
static COUNTERS: ThreadLocal<Counters> = ThreadLocal::new();

#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

impl Counters {
    /// This thread's counters.
    #[inline]
    pub(crate) fn current() -> &'static Counters {
        thread_local! {
            static MINE: std::cell::Cell<Option<&'static Counters>> =
                const { std::cell::Cell::new(None) };
        }
        MINE.try_with(|mine| match mine.get() {
            Some(counters) => counters,
            None => {
                let counters = COUNTERS.get_or_default();
                mine.set(Some(counters));
                counters
            }
        })
        .unwrap_or_else(|_| COUNTERS.get_or_default())
    }
    #[inline]
    pub(crate) fn op(&self) {
        bump(&self.ops, 1);
    }
    #[inline]
    pub(crate) fn ops(&self, n: u64) {
        bump(&self.ops, n);
    }
    #[inline]
    pub(crate) fn enter(&self) {
        bump(&self.enters, 1);
    }
    #[inline]
    pub(crate) fn fallback(&self) {
        bump(&self.fallbacks, 1);
    }
    #[inline]
    pub(crate) fn batch(&self) {
        bump(&self.batches, 1);
    }
}

/// What went through the rings, summed over every thread of the process, live or exited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Operations completed through an io_uring ring.
    pub ops: u64,
    /// `io_uring_enter` calls made.
    pub enters: u64,
    /// Operations run as direct syscalls: no ring, a missing opcode, arguments a ring entry
    /// cannot carry, or by choice (a thread's warm-up call, `Dispatch::Auto`).
    pub fallbacks: u64,
    /// Batch scopes run.
    pub batches: u64,
}

impl Stats {
    /// Syscalls made on the callers' behalf: ring entries plus direct syscalls.
    pub fn syscalls(&self) -> u64 {
        self.enters + self.fallbacks
    }
}

/// The counters of every thread, summed.
///
/// ```
/// let before = uring_os::stats();
/// uring_os::nop().unwrap();
/// let after = uring_os::stats();
/// assert_eq!(after.ops + after.fallbacks, before.ops + before.fallbacks + 1);
/// ```
pub fn stats() -> Stats {
    let mut total = Stats::default();
    for c in COUNTERS.iter() {
        total.ops += c.ops.load(Ordering::Relaxed);
        total.enters += c.enters.load(Ordering::Relaxed);
        total.fallbacks += c.fallbacks.load(Ordering::Relaxed);
        total.batches += c.batches.load(Ordering::Relaxed);
    }
    total
}
