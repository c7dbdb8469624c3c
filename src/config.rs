//! Process-wide configuration and status.

use std::fmt;
use std::time::Duration;

use once_cell::sync::OnceCell;

use crate::ring::DeniedBy;

/// How the crate sets up and uses its rings. Set it once with [`configure`] before the first
/// call; without that, [`Config::default`] applies, which reads the environment:
/// `URING_OS=off` forces the direct-syscall path, `URING_OS_ENTRIES=N` sizes the rings and
/// `URING_OS_DISPATCH=auto|ring` picks the [`Dispatch`] policy (default `ring`).
///
/// ```
/// use uring_os::{Config, Fallback};
/// let config = Config::default().entries(128).fallback(Fallback::Syscall);
/// uring_os::configure(config).expect("configured before first use");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) enabled: bool,
    pub(crate) entries: u32,
    pub(crate) sqpoll: Option<Duration>,
    pub(crate) iowq_max_workers: Option<[u32; 2]>,
    pub(crate) fallback: Fallback,
    pub(crate) dispatch: Dispatch,
    pub(crate) warmup_calls: u32,
}

/// What a call does when io_uring cannot serve it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// Run the direct syscall, with the same result (the default).
    #[default]
    Syscall,
    /// Fail the call with the reason (`Unsupported`, or the ring setup's errno) instead.
    Error,
}

/// Which path a single call takes when both could serve it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dispatch {
    /// Every call goes through the ring (the default).
    #[default]
    Ring,
    /// Whichever path the benchmark shows faster, per operation kind and batch: a single
    /// blocking call runs as the direct syscall (through a ring it pays a round trip the
    /// syscall does not), except under [`with_timeout`](crate::with_timeout), which only the
    /// ring can give; batch operations go through the ring, except opcodes the kernel always
    /// hands to an io-wq worker (statx, mkdirat, unlinkat, renameat, symlinkat, linkat),
    /// which run as syscalls one after the other.
    Auto,
}

/// The smallest SQ a thread's ring gets: room for an operation with its linked timeout and
/// a cancel, or a linked open → read → close with timeouts.
const MIN_ENTRIES: u32 = 8;

/// The default SQ size of a thread's ring.
pub const DEFAULT_ENTRIES: u32 = 64;

/// Single calls a thread makes as direct syscalls before it sets up its ring, by default.
pub const DEFAULT_WARMUP_CALLS: u32 = 1;

impl Default for Config {
    fn default() -> Config {
        let enabled = !matches!(
            std::env::var("URING_OS").as_deref(),
            Ok("off" | "0" | "false" | "no")
        );
        let entries = std::env::var("URING_OS_ENTRIES")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&n| (MIN_ENTRIES..=crate::ring::MAX_ENTRIES).contains(&n))
            .map(u32::next_power_of_two)
            .unwrap_or(DEFAULT_ENTRIES);
        let dispatch = match std::env::var("URING_OS_DISPATCH").as_deref().map(str::trim) {
            Ok("auto") => Dispatch::Auto,
            _ => Dispatch::Ring,
        };
        Config {
            enabled,
            entries,
            sqpoll: None,
            iowq_max_workers: None,
            fallback: Fallback::Syscall,
            dispatch,
            warmup_calls: DEFAULT_WARMUP_CALLS,
        }
    }
}

impl Config {
    /// Whether io_uring is used at all; `false` makes every call a direct syscall.
    pub fn enabled(mut self, enabled: bool) -> Config {
        self.enabled = enabled;
        self
    }

    /// SQ entries per thread ring (rounded up to a power of two, 8 to 32768).
    pub fn entries(mut self, entries: u32) -> Config {
        self.entries = entries
            .clamp(MIN_ENTRIES, crate::ring::MAX_ENTRIES)
            .next_power_of_two();
        self
    }

    /// Opt-in SQPOLL with the given idle time. A poller thread per ring competes with the
    /// application for CPUs; on small machines it is slower.
    pub fn sqpoll(mut self, idle: Duration) -> Config {
        self.sqpoll = Some(idle);
        self
    }

    /// Caps the io-wq workers each ring may start: `[bounded, unbounded]` (regular files and
    /// block devices, then sockets and pipes).
    pub fn iowq_max_workers(mut self, bounded: u32, unbounded: u32) -> Config {
        self.iowq_max_workers = Some([bounded, unbounded]);
        self
    }

    /// What a call does when the ring cannot serve it.
    pub fn fallback(mut self, fallback: Fallback) -> Config {
        self.fallback = fallback;
        self
    }

    /// How many single blocking calls a thread makes as direct syscalls (same results)
    /// before it sets up its ring; default [`DEFAULT_WARMUP_CALLS`]. Setting up and tearing
    /// down a ring costs a thread about as much as starting it, so a thread that makes one
    /// call and exits should not pay for one. 0 gives every thread its ring on its first
    /// call. A batch scope or a call under [`with_timeout`](crate::with_timeout) sets up the
    /// ring at once.
    pub fn warmup_calls(mut self, calls: u32) -> Config {
        self.warmup_calls = calls;
        self
    }

    /// Which path single calls take; see [`Dispatch`].
    pub fn dispatch(mut self, dispatch: Dispatch) -> Config {
        self.dispatch = dispatch;
        self
    }
}

/// Why [`configure`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A call already ran, so the configuration in force can no longer change.
    #[error("uring_os is already in use; call configure() before the first operation")]
    AlreadyInUse,
}

static CONFIG: OnceCell<Config> = OnceCell::new();

/// Sets the process-wide configuration. Must come before the first call of the crate.
pub fn configure(config: Config) -> Result<(), ConfigError> {
    CONFIG.set(config).map_err(|_| ConfigError::AlreadyInUse)
}

/// The configuration in force, fixing the default on first use.
#[inline]
pub(crate) fn config() -> &'static Config {
    CONFIG.get_or_init(Config::default)
}

/// Why calls run as direct syscalls.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackReason {
    /// `URING_OS=off` or [`Config::enabled`]`(false)`.
    Disabled,
    /// `io_uring_setup` answered EPERM.
    PermissionDenied(DeniedBy),
    /// The kernel has no usable io_uring (ENOSYS, or older than 5.4).
    KernelTooOld,
    /// Ring setup failed for another reason; the message says which.
    SetupFailed {
        /// The errno closest to the cause.
        errno: i32,
        /// The setup error's message.
        message: String,
    },
    /// The ring stopped accepting submissions.
    RingBroken {
        /// What `io_uring_enter` answered.
        errno: i32,
    },
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackReason::Disabled => f.write_str("disabled by URING_OS=off or the config"),
            FallbackReason::PermissionDenied(by) => write!(f, "io_uring not permitted: {by}"),
            FallbackReason::KernelTooOld => f.write_str("the kernel has no usable io_uring"),
            FallbackReason::SetupFailed { message, .. } => f.write_str(message),
            FallbackReason::RingBroken { errno } => write!(
                f,
                "the ring stopped accepting submissions: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

/// Which path the calls of this thread take.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Through this thread's io_uring ring.
    IoUring {
        /// The `IORING_SETUP_*` flags the kernel accepted.
        setup_flags: u32,
        /// The kernel's `IORING_FEAT_*` bits.
        features: u32,
        /// SQ entries of the thread's ring.
        entries: u32,
    },
    /// As direct syscalls, for this reason.
    Syscall {
        /// Why.
        reason: FallbackReason,
    },
}

/// What [`status()`](crate::status) reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The path the calling thread's calls take.
    pub backend: Backend,
    /// Calls of the public contract whose opcode this kernel lacks (they run as direct
    /// syscalls), by name.
    pub syscall_ops: Vec<&'static str>,
    /// The highest opcode the kernel knows, if a ring could be set up.
    pub last_op: Option<u8>,
}
