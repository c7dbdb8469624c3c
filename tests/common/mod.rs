//! Helpers shared by the integration tests, each written once:
//! - [`sys`]: the libc calls the tests make themselves, bypassing the crate;
//! - [`fork`]: running code in a fork child, with a deadline and a report;
//! - [`fresh`]: running a helper test in a fresh process of the same test binary;
//! - [`seccomp`]: refusing io_uring in a fork child, as a container's default profile does;
//! - below: skipping where there is no ring, pipes, sockets and files, results as text.
//!
//! Declare it with `#[macro_use] mod common;` for [`require_ring!`] and [`ensure!`].

#![allow(dead_code, reason = "each test binary uses only some of these helpers")]

/// Returns from the test, saying why, unless this thread's calls go through a ring
/// ([`ring_entries`]); with an op's name, unless that op goes through it ([`ring_serves`]).
#[allow(unused_macros, reason = "not every test binary skips")]
macro_rules! require_ring {
    ($test:expr) => {
        if let Err(reason) = $crate::common::ring_entries() {
            return $crate::common::skip($test, reason);
        }
    };
    ($test:expr, $op:literal) => {
        if let Err(reason) = $crate::common::ring_serves($op) {
            return $crate::common::skip($test, reason);
        }
    };
}

/// `Err(message)` from the enclosing function unless `cond` holds (for fork children, which
/// report through a pipe rather than panic).
#[allow(
    unused_macros,
    reason = "only the test binaries with reporting children use it"
)]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

pub mod fork;
pub mod fresh;
pub mod seccomp;
pub mod sys;

use std::fmt::{Debug, Display};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::panic;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use uring_os::{Backend, FallbackReason};

// ---------------------------------------------------------------------------------------------
// The ring, or why there is none
// ---------------------------------------------------------------------------------------------

/// Prints why a test is skipped; the harness shows it with `--nocapture` or on failure.
pub fn skip(test: &str, reason: impl Display) {
    eprintln!("skipped {test}: {reason}");
}

/// SQ entries of this thread's ring (set up now if needed), or why there is none where
/// io_uring is refused or disabled. Any other reason to run syscalls is a bug and panics.
pub fn ring_entries() -> Result<u32, String> {
    match uring_os::status().backend {
        Backend::IoUring { entries, .. } => Ok(entries),
        Backend::Syscall {
            reason:
                reason @ (FallbackReason::Disabled
                | FallbackReason::PermissionDenied(_)
                | FallbackReason::KernelTooOld),
        } => Err(reason.to_string()),
        other => panic!("no ring, for an unexpected reason: {other:?}"),
    }
}

/// Whether `URING_OS=off` (or `0`, `false`, `no`) disables io_uring for this process, as
/// the crate reads it: every call then runs as its syscall, for the reason `Disabled`.
pub fn disabled_by_env() -> bool {
    matches!(
        std::env::var("URING_OS").as_deref(),
        Ok("off" | "0" | "false" | "no")
    )
}

/// Whether this thread's calls go through a ring; see [`ring_entries`].
pub fn has_ring() -> bool {
    ring_entries().is_ok()
}

/// `Ok` where this thread's calls of `op` go through a ring, so that timeouts apply to them.
pub fn ring_serves(op: &str) -> Result<(), String> {
    let status = uring_os::status();
    if matches!(status.backend, Backend::IoUring { .. }) && !status.syscall_ops.contains(&op) {
        Ok(())
    } else {
        Err("calls run as direct syscalls here, which are not timed".into())
    }
}

/// Gets this thread past whatever the crate does before it sets up a thread's ring (its
/// first calls may run as direct syscalls, see `Config::warmup_calls`): a call under
/// `with_timeout` sets the ring up at once, and a few more calls pass any warm-up count.
/// Afterwards the thread's calls go through its ring wherever it can have one.
pub fn warm_up() {
    let _ = uring_os::with_timeout(Duration::from_secs(3600), uring_os::nop);
    for _ in 0..8 {
        let _ = uring_os::nop();
    }
}

/// The errno of an error from `uring_os`; `-1` if it has none (which no call should give).
pub fn ue(e: io::Error) -> i32 {
    match e.raw_os_error() {
        Some(errno) => {
            // The contract: errors are from_raw_os_error(errno), so the kind follows.
            assert_eq!(
                e.kind(),
                io::Error::from_raw_os_error(errno).kind(),
                "kind of {e:?}"
            );
            errno
        }
        None => -1,
    }
}

/// Runs `f` on its own thread and fails the test if it has not finished within `limit`, so
/// a call that blocks when it must not shows up as a failure instead of a hang.
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = done_tx.send(f());
    });
    match done_rx.recv_timeout(limit) {
        Ok(value) => {
            worker.join().expect("worker finished");
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            // The worker panicked: report its panic as this test's.
            Err(panic) => panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not return within {limit:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Pipes and sockets
// ---------------------------------------------------------------------------------------------

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> (OwnedFd, OwnedFd) {
    sys::pipe2(libc::O_CLOEXEC)
}

/// Whether `fd` becomes readable within `timeout`.
pub fn wait_readable(fd: impl AsFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let mut pollfd = libc::pollfd {
            fd: fd.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: one valid pollfd for the call.
        let n = unsafe { libc::poll(&mut pollfd, 1, left.as_millis() as libc::c_int) };
        if n > 0 {
            return true;
        }
        if n == 0 || Instant::now() >= deadline {
            return false;
        }
    }
}

/// What the pipe (or FIFO) `fd` holds right now, read without waiting for more.
pub fn read_available(fd: impl AsFd) -> Vec<u8> {
    let fd = fd.as_fd();
    let mut out = Vec::new();
    while wait_readable(fd, Duration::ZERO) {
        let mut chunk = [0u8; 4096];
        match sys::read(fd, &mut chunk) {
            Ok(n @ 1..) => out.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    out
}

/// What the pipe `fd` holds right now, as text.
pub fn drain(fd: impl AsFd) -> String {
    String::from_utf8_lossy(&read_available(fd)).into_owned()
}

/// Checks that nothing of ours still reads the empty pipe `reader`: a byte written now is
/// still there for a plain read. The nops first run any task work the ring deferred, which is
/// where a forgotten read would take the byte.
pub fn assert_pipe_unread(reader: impl AsFd, writer: impl AsFd) {
    assert_eq!(sys::write(writer, b"Z").unwrap(), 1);
    for _ in 0..3 {
        uring_os::nop().unwrap();
    }
    thread::sleep(Duration::from_millis(20));
    uring_os::nop().unwrap();
    let reader = reader.as_fd();
    sys::set_nonblocking(reader);
    let mut buf = [0u8; 4];
    let n = sys::read(reader, &mut buf)
        .expect("the byte written after the call must still be in the pipe");
    assert_eq!(&buf[..n], b"Z", "exactly the byte written later");
}

/// A thread that writes to pipes once `after` has passed unless stopped first, so that a
/// read the test expects to end another way (a timeout, a cancel) ends anyway: a bug then
/// fails the test's checks instead of hanging it.
pub struct Watchdog {
    stop: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl Watchdog {
    /// Writes each `(fd, bytes)` after `after` (to a duplicate of `fd`) unless stopped. An fd
    /// that is no longer open (a fuzz case may have closed it) is left out.
    pub fn new(after: Duration, writes: &[(BorrowedFd<'_>, &[u8])]) -> Watchdog {
        let writes: Vec<(OwnedFd, Vec<u8>)> = writes
            .iter()
            .filter_map(|(fd, bytes)| Some((fd.try_clone_to_owned().ok()?, bytes.to_vec())))
            .collect();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            if stopped.recv_timeout(after).is_err() {
                for (fd, bytes) in &writes {
                    let _ = sys::write(fd, bytes);
                }
            }
        });
        Watchdog { stop, thread }
    }

    /// Stops it, if it has not written yet, and waits for its thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().unwrap();
    }
}

/// A TCP listener on 127.0.0.1 (ephemeral port) and its address.
pub fn listener() -> (OwnedFd, SocketAddr) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = l.local_addr().unwrap();
    (OwnedFd::from(l), addr)
}

/// A connected TCP pair on loopback: (client, server).
pub fn tcp_pair() -> (OwnedFd, OwnedFd) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let client = std::net::TcpStream::connect(l.local_addr().unwrap()).expect("connect");
    let (server, _) = l.accept().expect("accept");
    (OwnedFd::from(client), OwnedFd::from(server))
}

/// How many fd numbers this process has open.
pub fn fd_count() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// The position of `fd`.
pub fn pos(fd: impl AsFd) -> i64 {
    sys::lseek(fd, 0, libc::SEEK_CUR).unwrap_or(-1)
}

/// A file opened for reading and writing, created empty.
pub fn rw_file(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

/// The 8 bytes of record `i`: distinct for every `i`, so a misplaced offset shows.
pub fn record(i: usize) -> [u8; 8] {
    (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
        .to_le_bytes()
}

/// Writes `count` records to `path` and opens it read-only.
pub fn records_file(path: &Path, count: usize) -> File {
    let data: Vec<u8> = (0..count).flat_map(record).collect();
    fs::write(path, data).unwrap();
    File::open(path).unwrap()
}

/// The byte at `offset` of [`pattern_file`]: bytes that differ from position to position, so
/// that a misplaced offset shows.
pub fn pattern(offset: u64) -> u8 {
    (offset.wrapping_mul(7) ^ (offset >> 9)) as u8
}

/// The first `len` bytes of [`pattern`].
pub fn pattern_bytes(len: usize) -> Vec<u8> {
    (0..len as u64).map(pattern).collect()
}

/// A temporary file holding `len` bytes of [`pattern`], open for reading.
pub fn pattern_file(len: usize) -> (tempfile::TempDir, File) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("pattern");
    fs::write(&path, pattern_bytes(len)).unwrap();
    let file = File::open(&path).unwrap();
    (tmp, file)
}

/// Checks `buf` against the pattern at `offset`.
pub fn is_pattern(buf: &[u8], offset: u64) -> bool {
    buf.iter()
        .enumerate()
        .all(|(i, &b)| b == pattern(offset + i as u64))
}

/// A copy of `buf` read with volatile loads: the kernel may have written it behind the
/// compiler's back (the bugs some tests catch).
pub fn volatile_copy(buf: &[u8]) -> Vec<u8> {
    buf.iter()
        // SAFETY: each pointer comes from a live element of the slice.
        .map(|byte| unsafe { std::ptr::read_volatile(byte) })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// The errno of a result that must be an error, for comparing.
pub fn errno<T: Debug>(res: &io::Result<T>) -> Option<i32> {
    match res {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.raw_os_error(),
    }
}

/// A result as a short comparable string: "ok", the errno, or the error kind.
pub fn outcome<T>(res: &io::Result<T>) -> String {
    match res {
        Ok(_) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(errno) => errno_text(errno),
            None => format!("{:?}", e.kind()),
        },
    }
}

/// What [`outcome`] gives for an error with this errno.
pub fn errno_text(errno: i32) -> String {
    format!("errno {errno}")
}
