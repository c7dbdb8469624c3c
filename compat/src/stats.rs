//! The knobs (`URING_OS_PRELOAD`, `URING_OS_PRELOAD_OPS`, `URING_OS_STATS`) and the stats line
//! printed at exit.

use std::ffi::{CStr, c_char};
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::calls::{GROUPS, SYMBOLS};
use crate::state::{self, WHYS, Why};
use crate::sys::{self, syscall};

/// What the environment asked for.
pub(crate) struct Knobs {
    /// `URING_OS_PRELOAD=off` (or 0, false, no).
    pub(crate) off: bool,
    /// The selected groups' bits.
    pub(crate) selected: u64,
    /// Whether `URING_OS_PRELOAD_OPS` was given (punted operations then follow it).
    pub(crate) explicit: bool,
}

/// The lowest fd number for the fd the stats line is written to.
const STATS_FD_MIN: i32 = 1000;

/// The fd the stats line goes to, opened at load, or a negative number.
static STATS_FD: AtomicI32 = AtomicI32::new(-1);

/// Opens the stats file (`path`), or copies stderr (an empty path), at `STATS_FD_MIN` or
/// above; a negative number on failure.
fn keep_open(path: &[u8]) -> i32 {
    let fd = if path.is_empty() {
        2
    } else {
        open_append(path)
    };
    if fd < 0 {
        return -1;
    }
    // SAFETY: F_DUPFD_CLOEXEC only makes a new fd.
    let copy = unsafe { syscall!(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, STATS_FD_MIN) };
    if !path.is_empty() {
        sys::close(fd);
    }
    copy as i32
}

/// Opens `path` for appending the stats line, or a negative number.
fn open_append(path: &[u8]) -> i32 {
    let mut path = path.to_vec();
    path.push(0);
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path and plain flags.
    unsafe {
        syscall!(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            0o644
        ) as i32
    }
}

/// Where the stats line goes: `None` for nowhere, an empty path for stderr.
static STATS_TO: OnceLock<Option<Vec<u8>>> = OnceLock::new();

fn env(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: getenv reads the environment; the string lives until the variable changes,
    // and is copied or parsed at once at load.
    let value = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: a non-null getenv result is a NUL-terminated string.
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) }.to_bytes())
}

/// Reads the knobs (at load).
pub(crate) fn read_knobs() -> Knobs {
    let off = matches!(
        env(c"URING_OS_PRELOAD").map(|v| v.trim_ascii()),
        Some(b"off" | b"0" | b"false" | b"no")
    );
    let (selected, explicit) = match env(c"URING_OS_PRELOAD_OPS") {
        Some(list) => (select(list), true),
        None => (
            GROUPS
                .iter()
                .filter(|(_, _, punted)| !punted)
                .fold(0, |bits, (group, _, _)| bits | group.bit()),
            false,
        ),
    };
    let to = match env(c"URING_OS_STATS").map(|v| v.trim_ascii()) {
        None | Some(b"" | b"0" | b"off" | b"no" | b"false") => None,
        Some(path) if path.starts_with(b"/") => Some(path.to_vec()),
        Some(_) => Some(Vec::new()),
    };
    if let Some(path) = &to {
        // Opened now, while the program's credentials and working directory are the ones it
        // started with, at a number far from the low ones programs reuse; stderr is copied
        // too, as programs close it before exit (coreutils do).
        STATS_FD.store(keep_open(path), Ordering::Relaxed);
    }
    let _ = STATS_TO.set(to);
    Knobs {
        off,
        selected,
        explicit,
    }
}

/// The groups a comma-separated list names: group names, symbol names (their group) or `all`.
fn select(list: &[u8]) -> u64 {
    let mut bits = 0;
    for token in list.split(|&b| b == b',').map(|t| t.trim_ascii()) {
        if token == b"all" {
            bits = GROUPS.iter().fold(bits, |b, (g, _, _)| b | g.bit());
        }
        for (group, name, _) in GROUPS {
            if name.as_bytes() == token {
                bits |= group.bit();
            }
        }
        for (name, group) in SYMBOLS {
            if name.as_bytes() == token {
                bits |= group.bit();
            }
        }
    }
    bits
}

/// uring_os's own counts when this process forked from its parent (the child inherits them).
static BASE_RING: AtomicU64 = AtomicU64::new(0);
static BASE_DIRECT: AtomicU64 = AtomicU64::new(0);

/// In a fork child: the counts so far are the parent's.
pub(crate) fn fork_child() {
    let stats = uring_os::stats();
    BASE_RING.store(stats.ops, Ordering::Relaxed);
    BASE_DIRECT.store(stats.fallbacks, Ordering::Relaxed);
}

unsafe extern "C" {
    static program_invocation_short_name: *const c_char;
}

/// The stats line: calls that went to uring_os (and how uring_os ran them), calls that went to
/// libc, and why.
pub(crate) fn line() -> String {
    let (routed, to_libc) = state::totals();
    let core = uring_os::stats();
    let ring = core.ops.saturating_sub(BASE_RING.load(Ordering::Relaxed));
    let direct = core
        .fallbacks
        .saturating_sub(BASE_DIRECT.load(Ordering::Relaxed));
    // SAFETY: glibc sets the program name before any constructor runs and never frees it.
    let name = unsafe {
        let name = program_invocation_short_name;
        if name.is_null() {
            c"?"
        } else {
            CStr::from_ptr(name)
        }
    };
    let mut line = String::new();
    let _ = write!(
        line,
        "uring_os_preload: {}[{}]: {routed} calls to uring_os ({ring} through the ring, \
         {direct} as direct syscalls); ",
        name.to_string_lossy(),
        std::process::id(),
    );
    // Calls the shim's own helpers and uring_os's fallbacks made are not the program's.
    let counted = WHYS
        .iter()
        .zip(to_libc)
        .filter(|(why, n)| **why != Why::Nested && *n > 0);
    let total: u64 = counted.clone().map(|(_, n)| n).sum();
    let _ = write!(line, "{total} to libc");
    let mut first = true;
    for (why, n) in counted {
        let _ = write!(
            line,
            "{}{}: {n}",
            if first { " (" } else { ", " },
            why.label()
        );
        first = false;
    }
    if !first {
        line.push(')');
    }
    line.push('\n');
    line
}

/// Prints the stats line where `URING_OS_STATS` asked (at exit).
pub(crate) fn report() {
    let Some(Some(to)) = STATS_TO.get() else {
        return;
    };
    let line = line();
    let fd = STATS_FD.load(Ordering::Relaxed);
    if fd >= 0 && sys::write_all(fd, line.as_bytes()) {
        return;
    }
    // The program closed the fd kept at load: the path again, or stderr.
    if to.is_empty() {
        sys::write_all(2, line.as_bytes());
    } else {
        let fd = open_append(to);
        if fd >= 0 {
            sys::write_all(fd, line.as_bytes());
            sys::close(fd);
        }
    }
}
