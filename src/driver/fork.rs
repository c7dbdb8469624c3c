//! Fork: a child never uses its parent's ring. Every fork child bumps a generation number;
//! a thread whose ring was made in another generation sets up a new one.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sys::syscall as sc;

/// Bumped in every fork child, so a thread notices that its ring belongs to the parent.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation: changes in every fork child.
#[inline]
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

unsafe extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Registers the fork handler, once per process (when a thread first sets up its state or
/// a scope begins: before that, nothing can be in flight).
pub(crate) fn register_fork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // The handler only bumps an atomic, which is async-signal-safe as a fork child handler
    // must be.
    ONCE.call_once(|| sc::at_fork_in_child(after_fork_in_child));
}
