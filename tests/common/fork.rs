//! Running code in a fork child.
//!
//! The test harness runs tests on several threads, and only the forking thread exists in the
//! child, so a child's code should stay simple: no printing (another thread may have held the
//! stdout lock at the fork), no threads unless they are what it tests. Rings, files and pipes
//! are fine. A child reports through its exit code ([`in_child`]) or through a pipe
//! ([`in_child_reporting`]); a child that hangs is killed after a deadline.
//!
//! A fork child holds a copy of every fd the process had at the fork. A test that needs no
//! other process to hold one of its fds (a pipe whose read end it closes to get `EPIPE`, a
//! peer it closes to get a reset) holds [`no_forks_meanwhile`] while such fds exist: every
//! fork here waits for it ([`forking`]), and [`fork_keeping`] also has the child close the fds
//! it does not need before the lock is released.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::sys;

/// The exit code a child reports when `f` panicked (the same as a failed Rust test binary).
pub const CHILD_PANICKED: i32 = 101;

/// How long a reporting fork child may run before it counts as hung, unless a test says.
pub const CHILD_LIMIT: Duration = Duration::from_secs(10);

/// Shared by the tests that must not have their fds copied into a fork child; taken
/// exclusively by every fork.
static FORKS: RwLock<()> = RwLock::new(());

/// Whether this is the process the tests run in rather than a fork child of it. A fork child
/// runs nothing else meanwhile, and its copy of [`FORKS`] may be held by a thread that does
/// not exist in it.
fn in_test_process() -> bool {
    static TEST_PROCESS: OnceLock<libc::pid_t> = OnceLock::new();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    *TEST_PROCESS.get_or_init(|| pid) == pid
}

/// Held while this test has fds that no fork child may hold a copy of: no fork starts
/// meanwhile. `None` in a fork child, where nothing else forks.
pub fn no_forks_meanwhile() -> Option<RwLockReadGuard<'static, ()>> {
    in_test_process().then(|| FORKS.read().unwrap_or_else(PoisonError::into_inner))
}

/// Held across a fork (the helpers here take it; take it around a direct `libc::fork`).
/// `None` in a fork child.
pub fn forking() -> Option<RwLockWriteGuard<'static, ()>> {
    in_test_process().then(|| FORKS.write().unwrap_or_else(PoisonError::into_inner))
}

/// Sets up the calling thread's ring before it forks, so the child finds the process-wide
/// state (the config, the thread's statistics slot, the crate's fork handler) in place and
/// takes no lock another thread may have held at the fork. The crate registers its fork
/// handler with its first ring: without one, a fork child would not know it is one.
pub fn prepare_fork() {
    let _ = uring_os::status();
}

/// Sets a SIGALRM watchdog in a child process: its default action ends the child if it
/// hangs.
pub fn alarm(seconds: u32) {
    // SAFETY: alarm takes a plain integer.
    unsafe { libc::alarm(seconds) };
}

/// Forks; the child runs `f` and `_exit`s with its return value ([`CHILD_PANICKED`] if it
/// panicked). Returns the child's pid to the parent; pass it to [`wait_child`].
pub fn fork_child(f: impl FnOnce() -> i32) -> libc::pid_t {
    let _forking = forking();
    fork_now(f)
}

/// [`fork_child`] for a caller that holds [`forking`] already.
fn fork_now(f: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: fork has no memory preconditions; the child only runs `f` and then `_exit`s
    // without running destructors or atexit handlers that belong to the parent.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(CHILD_PANICKED);
        // SAFETY: ends the child at once, as a fork child must (no unwinding into the
        // parent's test harness, no flushing of the parent's buffers).
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for the child `pid` and returns its exit code, or 128 + the signal number if a
/// signal killed it (as a shell reports it).
pub fn wait_child(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid c_int for the call.
        let res = unsafe { libc::waitpid(pid, &mut status, 0) };
        if res == pid {
            break;
        }
        let err = sys::last_errno();
        assert_eq!(err, libc::EINTR, "waitpid failed: errno {err}");
    }
    exit_code(status)
}

fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// Waits for child `pid`; kills it once `limit` has passed and then returns `None`.
/// Otherwise its exit code, or 128 + the signal that ended it.
pub fn wait_with_deadline(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid c_int for the call.
        let res = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if res == pid {
            return Some(exit_code(status));
        }
        if res < 0 {
            let err = sys::last_errno();
            assert_eq!(err, libc::EINTR, "waitpid: errno {err}");
        }
        if Instant::now() >= deadline {
            // SAFETY: `pid` is our own child, not reaped yet, so the number is still its.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            wait_child(pid);
            return None;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `f` in a fork child and returns its exit status: what `f` returned,
/// [`CHILD_PANICKED`] if it panicked, or 128 + the signal number if it was killed.
pub fn in_child(f: impl FnOnce() -> i32) -> i32 {
    wait_child(fork_child(f))
}

/// The pipe through which a fork child reports, since it must not print.
pub struct Report {
    reader: OwnedFd,
    writer: OwnedFd,
}

impl Report {
    pub fn new() -> Report {
        let (reader, writer) = super::pipe();
        Report { reader, writer }
    }

    /// In the child: sends `outcome` and returns the exit code to leave with.
    pub fn send(&self, outcome: Result<String, String>) -> i32 {
        let (tag, text) = match outcome {
            Ok(text) => (b'O', text),
            Err(text) => (b'E', text),
        };
        let mut message = vec![tag];
        message.extend_from_slice(text.as_bytes());
        // Well under a pipe's capacity: the child never blocks on it.
        message.truncate(16 * 1024);
        let mut rest = &message[..];
        while !rest.is_empty() {
            match sys::write(&self.writer, rest) {
                Ok(n) => rest = &rest[n..],
                Err(libc::EINTR) => {}
                Err(_) => return 3,
            }
        }
        0
    }

    /// In the parent: waits for child `pid` (killing it once `limit` has passed) and
    /// returns what it reported; a child that hung, died or panicked is an `Err`.
    pub fn collect(self, pid: libc::pid_t, limit: Duration) -> Result<String, String> {
        drop(self.writer);
        let status = wait_with_deadline(pid, limit);
        // Not read to EOF: children other tests fork meanwhile share the write end.
        let message = super::read_available(&self.reader);
        let text = String::from_utf8_lossy(message.get(1..).unwrap_or_default()).into_owned();
        match (status, message.first()) {
            (Some(0), Some(b'O')) => Ok(text),
            (Some(0), Some(b'E')) => Err(text),
            (None, _) => Err(format!("child hung: killed after {limit:?}")),
            (Some(status), _) if status == 128 + libc::SIGALRM => {
                Err(format!("child hung: its alarm() watchdog ended it: {text}"))
            }
            (Some(status), _) => Err(format!("child exited with status {status}: {text}")),
        }
    }
}

/// Runs `f` in a fork child, killed once `limit` has passed, and returns what it returned; a
/// child that panicked, hung or died is an `Err`.
pub fn in_child_reporting(
    limit: Duration,
    f: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let report = Report::new();
    let pid = fork_child(|| report.send(f()));
    report.collect(pid, limit)
}

/// Closes every fd from 3 up, except those in `keep`.
fn close_all_but(keep: &[RawFd]) {
    let mut keep = keep.to_vec();
    keep.sort_unstable();
    let close_range = |first: u32, last: u32| {
        if first <= last {
            // SAFETY: closes fds of this fork child only, none of which it uses any more.
            unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
        }
    };
    let mut first = 3u32;
    for fd in keep {
        let fd = fd as u32;
        if fd >= first {
            close_range(first, fd - 1);
            first = fd + 1;
        }
    }
    close_range(first, u32::MAX);
}

/// Forks a child that keeps only stdio and `keep` of the process's fds, then runs `f` and
/// `_exit`s with its result. Returns the pid once the child has closed the others.
pub fn fork_keeping(keep: &[RawFd], f: impl FnOnce() -> i32) -> libc::pid_t {
    // The forking thread has its ring (and its slot in the crate's per-thread tables, which
    // a child could not safely allocate if another thread held their lock at the fork): the
    // child then replaces the inherited ring on its first call.
    super::warm_up();
    let _forking = forking();
    let (ready_r, ready_w) = super::pipe();
    let mut keep = keep.to_vec();
    keep.push(ready_w.as_raw_fd());
    let pid = fork_now(|| {
        close_all_but(&keep);
        let _ = sys::write(&ready_w, b"r");
        // SAFETY: the child's copy of `ready_w`, not used again (the child never drops it:
        // it ends with _exit).
        unsafe { libc::close(ready_w.as_raw_fd()) };
        f()
    });
    drop(ready_w);
    // The child's byte, or EOF if it died first.
    let _ = sys::read(&ready_r, &mut [0u8; 1]);
    pid
}

/// [`fork_keeping`], then waits for the child's exit status.
pub fn in_child_keeping(keep: &[RawFd], f: impl FnOnce() -> i32) -> i32 {
    wait_child(fork_keeping(keep, f))
}
