//! Fork: a child never uses its parent's ring. The fork generation lives in a page marked
//! `MADV_WIPEONFORK` (4.14): every child sees it zeroed — also one made by a raw `fork` or
//! `clone` syscall that runs no `pthread_atfork` handler — and takes a new generation, so a
//! thread whose ring was made in another generation sets up a new one. (Where the page
//! cannot be had, the generation is a counter bumped by a `pthread_atfork` handler.)
//!
//! A vfork child (or any child made with `clone` without fork's handlers, as posix_spawn
//! does) shares its parent's memory, thread-locals included: it must not set up a ring,
//! which would be written into the parent's state. It is told apart by its pid, which
//! differs from the one the process recorded at load time (and every fork child records
//! its own).

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering};

use crate::sys::syscall as sc;

/// Bumped in every fork child that runs the atfork handlers (the fallback generation).
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The page that holds the generation, zeroed in every fork child; null until made, or
/// [`NO_PAGE`] where it cannot be.
static PAGE: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());

/// [`PAGE`] where the kernel refuses `MADV_WIPEONFORK`.
const NO_PAGE: *mut AtomicU64 = std::ptr::dangling_mut::<AtomicU64>();

/// The highest generation given out in this process (and, copied, in its children).
static LAST_GIVEN: AtomicU64 = AtomicU64::new(0);

/// The current fork generation: changes in every fork child, never 0.
#[inline]
pub(crate) fn fork_generation() -> u64 {
    let page = PAGE.load(Ordering::Acquire);
    if page.is_null() || page == NO_PAGE {
        return generation_slow(page);
    }
    // SAFETY: a page made by make_page, never unmapped.
    let generation = unsafe { &*page }.load(Ordering::Relaxed);
    if generation == 0 {
        return generation_slow(page);
    }
    generation
}

#[cold]
fn generation_slow(mut page: *mut AtomicU64) -> u64 {
    if page.is_null() {
        page = make_page();
    }
    if page == NO_PAGE {
        return FORK_GENERATION.load(Ordering::Relaxed) + 1;
    }
    // SAFETY: a page made by make_page, never unmapped.
    let slot = unsafe { &*page };
    match slot.load(Ordering::Relaxed) {
        0 => {
            // A new process (the page was wiped by fork): a generation none of the
            // inherited rings has, and the pid that vfork children are told apart by.
            PROCESS_PID.store(sc::getpid(), Ordering::Relaxed);
            let new = LAST_GIVEN.fetch_add(1, Ordering::Relaxed) + 2;
            match slot.compare_exchange(0, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => new,
                Err(current) => current,
            }
        }
        generation => generation,
    }
}

/// Maps the generation page (`NO_PAGE` where the kernel cannot wipe it on fork).
#[cold]
fn make_page() -> *mut AtomicU64 {
    // SAFETY: a fresh private anonymous mapping aliases no Rust object.
    let addr = unsafe {
        sc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    let made = if addr < 0 {
        NO_PAGE
    } else {
        let ptr = addr as *mut libc::c_void;
        // SAFETY: the mapping just made, nothing else refers to it.
        if unsafe { sc::madvise(ptr, 4096, libc::MADV_WIPEONFORK) } == 0 {
            ptr.cast::<AtomicU64>()
        } else {
            // SAFETY: as above; unmapped before anyone sees it.
            unsafe { sc::munmap(ptr, 4096) };
            NO_PAGE
        }
    };
    match PAGE.compare_exchange(
        std::ptr::null_mut(),
        made,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => made,
        Err(other) => {
            if made != NO_PAGE {
                // SAFETY: our mapping lost the race and nothing refers to it.
                unsafe { sc::munmap(made.cast(), 4096) };
            }
            other
        }
    }
}

/// The pid of this process, as recorded at load time and by every fork child.
static PROCESS_PID: AtomicI32 = AtomicI32::new(0);

unsafe extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    PROCESS_PID.store(sc::getpid(), Ordering::Relaxed);
}

/// Gives the process its first generation before any fork (run at load).
fn first_generation() {
    let _ = fork_generation();
}

/// Runs when the program (or a library holding the crate) is loaded: records the pid and
/// registers the fork handler before any fork can happen.
extern "C" fn at_load() {
    PROCESS_PID.store(sc::getpid(), Ordering::Relaxed);
    register_fork_handler();
    first_generation();
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
