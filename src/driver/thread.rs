//! Where a thread's ring lives: a `thread_local!` holding the thread's [`Local`] state — no
//! ring yet, warming up, its [`Driver`], or the reason its calls run as syscalls. The ring is
//! created on first use with the best flags the kernel accepts and occupies no fd number; a
//! ring inherited across fork is replaced.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::sync::Mutex;

use once_cell::sync::OnceCell;

use super::creds::Pinned;
use super::fork::{fork_generation, in_vfork_child, register_fork_handler};
use super::{Driver, FdCache};
use crate::config::{Backend, FallbackReason, config};
use crate::ring::{Probe, Ring, SetupError};
use crate::stats::Counters;
use crate::sys::IORING_SETUP_SQPOLL;

/// What the process learnt from its first ring: the probe, or why io_uring cannot be used.
struct ProcessInfo {
    probe: Probe,
}

static PROCESS: OnceCell<Result<ProcessInfo, FallbackReason>> = OnceCell::new();

/// The last per-thread setup failure (fd or memory limits), for `status()`.
static LAST_FAILURE: Mutex<Option<FallbackReason>> = Mutex::new(None);

/// A thread's state: no ring yet, its ring, or the reason it runs syscalls.
#[allow(clippy::large_enum_variant)] // one per thread, read on every call: no indirection
pub(crate) enum Local {
    Uninit,
    /// No ring yet: this many single calls ran as syscalls (see
    /// [`Config::warmup_calls`](crate::Config::warmup_calls)).
    Warmup(u32),
    Ring(Driver),
    Syscall(FallbackReason),
}

thread_local! {
    static LOCAL: RefCell<Local> = const { RefCell::new(Local::Uninit) };
}

impl Local {
    /// Counts a single call of a thread without a ring yet, and says whether it still runs
    /// as a syscall: a thread that makes one call and exits never pays for a ring. A call
    /// under a timeout needs the ring, and gets it at once.
    #[inline]
    pub(crate) fn warming_up(&mut self) -> bool {
        let made = match self {
            Local::Uninit => 0,
            Local::Warmup(made) => *made,
            _ => return false,
        };
        if made < config().warmup_calls && crate::timeout::current_deadline().is_none() {
            *self = Local::Warmup(made + 1);
            true
        } else {
            false
        }
    }

    /// The thread's own ring if it has one made in this process (the common case, checked
    /// first on every call).
    #[inline]
    pub(crate) fn current_driver(&mut self) -> Option<&mut Driver> {
        match self {
            Local::Ring(driver) if driver.generation == fork_generation() => Some(driver),
            _ => None,
        }
    }

    /// The thread's driver, creating the ring on first use and replacing a ring inherited
    /// across fork; `None` when this thread runs syscalls.
    #[inline]
    pub(crate) fn driver(&mut self) -> Option<&mut Driver> {
        let generation = fork_generation();
        let current = match self {
            Local::Ring(driver) => driver.generation == generation,
            Local::Syscall(_) => true,
            Local::Uninit | Local::Warmup(_) => false,
        };
        if !current {
            if in_vfork_child() {
                // The parent's thread-local, shared: run syscalls and leave it as it is.
                return None;
            }
            self.init(generation);
        }
        match self {
            Local::Ring(driver) => Some(driver),
            _ => None,
        }
    }

    #[cold]
    fn init(&mut self, generation: u64) {
        // A ring inherited from the parent is dropped here: its Drop sees the other pid and
        // touches nothing of the parent's.
        *self = Local::Uninit;
        // Fork children must be told apart from their parent whatever path calls take (a
        // batch scope without a ring still runs operations the parent started).
        register_fork_handler();
        let config = config();
        if !config.enabled {
            *self = Local::Syscall(FallbackReason::Disabled);
            return;
        }
        if let Some(Err(reason)) = PROCESS.get() {
            *self = Local::Syscall(reason.clone());
            return;
        }
        let mut builder = Ring::builder().hide_fd(true);
        if let Some(idle) = config.sqpoll {
            builder = builder.sqpoll(idle);
        }
        match builder.build(config.entries) {
            Ok(mut ring) => {
                if let Some(mut workers) = config.iowq_max_workers {
                    // Best effort: a kernel without the cap (before 5.15) runs uncapped.
                    let _ = ring.register_iowq_max_workers(&mut workers);
                }
                let info = PROCESS.get_or_init(|| {
                    Ok(ProcessInfo {
                        probe: ring.probe().unwrap_or_else(|_| Probe::empty()),
                    })
                });
                let sqpoll = ring.setup_flags() & IORING_SETUP_SQPOLL != 0;
                *self = match info {
                    Ok(info) => Local::Ring(Driver {
                        ring: std::mem::ManuallyDrop::new(ring),
                        probe: info.probe.clone(),
                        generation,
                        counters: Counters::current(),
                        blocking_result: None,
                        fds: FdCache::default(),
                        completions: Default::default(),
                        pinned: sqpoll.then(Pinned::now),
                    }),
                    Err(reason) => Local::Syscall(reason.clone()),
                };
            }
            Err(e) => {
                let (reason, permanent) = match &e {
                    SetupError::PermissionDenied { cause } => {
                        (FallbackReason::PermissionDenied(*cause), true)
                    }
                    SetupError::KernelTooOld => (FallbackReason::KernelTooOld, true),
                    other => (
                        FallbackReason::SetupFailed {
                            errno: other.raw_os_error(),
                            message: other.to_string(),
                        },
                        matches!(other, SetupError::InvalidFlags { .. }),
                    ),
                };
                if permanent {
                    let _ = PROCESS.set(Err(reason.clone()));
                } else if let Ok(mut last) = LAST_FAILURE.lock() {
                    *last = Some(reason.clone());
                }
                *self = Local::Syscall(reason);
            }
        }
    }
}

/// Runs `f` on this thread's state; `None` when there is none to borrow (the thread-local
/// torn down, or a re-entrant call from a signal handler).
#[inline]
pub(crate) fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| {
            let mut local = cell.try_borrow_mut().ok()?;
            Some(f(&mut local))
        })
        .ok()
        .flatten()
}

/// Runs `f` on this thread's driver, or returns `None` when there is none (syscall mode, the
/// thread-local already torn down, or a re-entrant call from a signal handler).
#[inline]
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
    with_local(|local| local.driver().map(f)).flatten()
}

/// Tells this thread's driver, if it has one, to forget what it cached about fd number `fd`
/// (opened, accepted or closed by a call that did not go through its ring).
#[cold]
pub(crate) fn forget_fd(fd: RawFd) {
    with_local(|local| {
        if let Local::Ring(driver) = local {
            driver.fds.forget(fd);
        }
    });
}

/// The path this thread's calls take and, with a ring, the kernel's probe. Creates this
/// thread's ring if it has none.
pub(crate) fn thread_backend() -> (Backend, Option<Probe>) {
    let answer = LOCAL.try_with(|cell| match cell.try_borrow_mut() {
        Ok(mut local) => {
            local.driver();
            match &*local {
                Local::Ring(driver) => (
                    Backend::IoUring {
                        setup_flags: driver.ring.setup_flags(),
                        features: driver.ring.features(),
                        entries: driver.ring.sq_entries(),
                    },
                    Some(driver.probe.clone()),
                ),
                Local::Syscall(reason) => (
                    Backend::Syscall {
                        reason: reason.clone(),
                    },
                    None,
                ),
                Local::Uninit | Local::Warmup(_) => unreachable!("driver() initialises"),
            }
        }
        Err(_) => (
            Backend::Syscall {
                reason: FallbackReason::RingBroken { errno: libc::EBUSY },
            },
            None,
        ),
    });
    answer.unwrap_or((
        Backend::Syscall {
            reason: FallbackReason::RingBroken { errno: libc::ESRCH },
        },
        None,
    ))
}
