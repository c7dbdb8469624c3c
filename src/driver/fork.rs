//! Fork: a child never uses its parent's ring. Every fork child bumps a generation number;
//! a thread whose ring was made in another generation sets up a new one.
//!
//! A vfork child (or any child made with `clone` without fork's handlers, as posix_spawn
//! does) shares its parent's memory, thread-locals included: it must not set up a ring,
//! which would be written into the parent's state. It is told apart by its pid, which
//! differs from the one the process recorded at load time (and every fork child records
//! its own).

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::sys::syscall as sc;

/// Bumped in every fork child, so a thread notices that its ring belongs to the parent.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation: changes in every fork child.
#[inline]
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// The pid of this process, as recorded at load time and by every fork child.
static PROCESS_PID: AtomicI32 = AtomicI32::new(0);

unsafe extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    PROCESS_PID.store(sc::getpid(), Ordering::Relaxed);
}

/// Runs when the program (or a library holding the crate) is loaded: records the pid and
/// registers the fork handler before any fork can happen.
extern "C" fn at_load() {
    PROCESS_PID.store(sc::getpid(), Ordering::Relaxed);
    register_fork_handler();
}

#[used]
#[unsafe(link_section = ".init_array")]
static AT_LOAD: extern "C" fn() = at_load;

/// Whether this is a child that shares its parent's memory without having run fork's
/// handlers (vfork, `clone(CLONE_VM)`): then it must leave the thread's state alone.
#[cold]
pub(crate) fn in_vfork_child() -> bool {
    // Referenced, so the linker keeps the object that registers `at_load`.
    let at_load = std::hint::black_box(&AT_LOAD);
    let recorded = PROCESS_PID.load(Ordering::Relaxed);
    if recorded == 0 {
        // Loaded without running constructors: record now.
        at_load();
        return false;
    }
    recorded != sc::getpid()
}

/// Registers the fork handler, once per process (when a thread first sets up its state or
/// a scope begins: before that, nothing can be in flight).
pub(crate) fn register_fork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // The handler only bumps an atomic, which is async-signal-safe as a fork child handler
    // must be.
    ONCE.call_once(|| sc::at_fork_in_child(after_fork_in_child));
}
