//! Integration tests of the blocking facade (issue 3): every call of the contract compared
//! with the direct libc syscall — value and `raw_os_error()` — on success and on its error
//! cases, file offsets, pipes, directories and loopback TCP, paths (NUL, PATH_MAX, heap
//! paths), fork, seccomp fallback, signals, threads, configuration and timeouts.
//!
//! The call-by-call comparison is the table in `call_cases/mod.rs`, one test per group here.
//! Tests that must own the whole process (fd numbers, `URING_OS=off`) are in
//! `tests/calls_fds.rs` and `tests/fallback_off.rs`; tests that must own signals or seccomp
//! run in a fork child (see `common`).

mod call_cases;
#[macro_use]
mod common;

use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use call_cases::{Api, Case};
use common::{is_pattern, pattern_file, pipe, sys};
use uring_os::ring::DeniedBy;
use uring_os::{Backend, Config, ConfigError, FallbackReason};

// ---------------------------------------------------------------------------------------------
// Every call against libc, one test per group of the table
// ---------------------------------------------------------------------------------------------

#[test]
fn read_matches_libc() {
    check(&call_cases::read());
}

#[test]
fn pread_matches_libc() {
    check(&call_cases::pread());
}

#[test]
fn write_matches_libc() {
    check(&call_cases::write());
}

#[test]
fn pwrite_matches_libc() {
    check(&call_cases::pwrite());
}

#[test]
fn vectored_io_matches_libc() {
    check(&call_cases::vectored());
}

#[test]
fn offset_u64_max_matches_libc() {
    check(&call_cases::offset_minus_one());
}

/// A positioned call on an fd number that was a regular file earlier in the same thread and
/// is now a pipe: pread(2)/pwrite(2) give ESPIPE (io_uring would ignore the offset and read
/// or write the pipe).
#[test]
#[ignore = "known limitation: an fd number seen seekable, then replaced behind the crate's back \
            (dup2, or closed by std and reused), keeps its cached verdict; checking every call \
            would cost an lseek per pread (see README)"]
fn positioned_calls_on_a_reused_fd_number_give_espipe() {
    common::warm_up();
    let (_tmp, file) = pattern_file(4096);
    let mut problems = Vec::new();
    for write in [false, true] {
        // A number of our own, well above what the other tests' threads use.
        let number = sys::fcntl(&file, libc::F_DUPFD_CLOEXEC, 4000).unwrap();
        // SAFETY: `number` was just created by F_DUPFD and is owned by nothing else.
        let slot = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(number) };
        let mut buf = [0u8; 4];
        // Seen as a seekable file by this thread ...
        assert_eq!(uring_os::pread(&slot, &mut buf, 0).unwrap(), 4);
        // ... then the same number becomes a pipe's end (dup2 closes the file first).
        let (r, w) = pipe();
        sys::write(&w, b"pipe").unwrap();
        let end = if write { &w } else { &r };
        // SAFETY: dup2 onto a number we own; `slot` owns the pipe end afterwards.
        let res = unsafe { libc::dup2(end.as_raw_fd(), number) };
        assert_eq!(res, number);
        let ours = if write {
            uring_os::pwrite(&slot, b"x", 0).map_err(common::ue)
        } else {
            uring_os::pread(&slot, &mut buf, 0).map_err(common::ue)
        };
        let theirs = if write {
            call_cases::Libc.pwrite(slot.as_fd(), b"x", 0)
        } else {
            call_cases::Libc.pread(slot.as_fd(), &mut buf, 0)
        };
        assert_eq!(theirs, Err(libc::ESPIPE));
        if ours != theirs {
            let what = if write { "pwrite" } else { "pread" };
            problems.push(format!(
                "{what} at 0 on fd {number}, a pipe now: uring_os gave {ours:?}, libc {theirs:?}; \
                 the pipe now holds {:?}",
                common::drain(&r)
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn open_openat_match_libc() {
    check(&call_cases::open());
}

#[test]
fn close_matches_libc() {
    check(&call_cases::close());
}

#[test]
fn fsync_fdatasync_sync_file_range_match_libc() {
    check(&call_cases::sync());
}

#[test]
fn fallocate_fadvise_ftruncate_match_libc() {
    check(&call_cases::space());
}

#[test]
fn statx_matches_libc() {
    check(&call_cases::statx());
}

#[test]
fn mkdirat_unlinkat_renameat_match_libc() {
    check(&call_cases::dirs());
}

#[test]
fn symlinkat_linkat_match_libc() {
    check(&call_cases::links());
}

#[test]
fn socket_bind_listen_match_libc() {
    check(&call_cases::sockets());
}

#[test]
fn accept_connect_send_recv_shutdown_match_libc() {
    check(&call_cases::connections());
}

#[test]
fn splice_matches_libc() {
    check(&call_cases::splice());
}

#[test]
fn poll_matches_libc() {
    check(&call_cases::poll());
}

#[test]
fn o_nonblock_matches_libc() {
    check(&call_cases::nonblocking());
}

#[test]
fn poll_closed_fd_matches_libc() {
    check(&call_cases::poll_closed_fd());
}

#[test]
fn sleep_nop_match_libc() {
    check(&call_cases::misc());
}

// ---------------------------------------------------------------------------------------------
// Forking in a multi-threaded test binary
// ---------------------------------------------------------------------------------------------

/// Runs a group of the table against libc.
fn check(cases: &[Case]) {
    // Where this process can have rings, a warmed-up thread (as each case's) has one: the
    // table then compares the ring path, not the fallback.
    if uring_os::ring::Ring::new(8).is_ok() {
        let backend = thread::spawn(|| {
            common::warm_up();
            uring_os::status().backend
        })
        .join()
        .unwrap();
        assert!(
            matches!(backend, Backend::IoUring { .. }),
            "a warmed-up thread runs syscalls: {backend:?}"
        );
    }
    // Cases such as "a pipe without reader gives EPIPE" need no fork child to hold a copy of
    // their fds.
    let _no_forks = common::fork::no_forks_meanwhile();
    call_cases::check(cases);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Reads what is in the pipe within `wait` with plain libc calls (poll, then read).
fn libc_read_within(fd: impl AsFd, wait: Duration) -> io::Result<Vec<u8>> {
    let mut pfd = libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd for the call.
    let n = unsafe { libc::poll(&mut pfd, 1, wait.as_millis() as i32) };
    if n <= 0 {
        return Err(io::Error::new(ErrorKind::TimedOut, "nothing to read"));
    }
    let mut buf = vec![0u8; 64];
    let n = sys::read(fd, &mut buf).map_err(io::Error::from_raw_os_error)?;
    buf.truncate(n);
    Ok(buf)
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

fn assert_nul_error<T: std::fmt::Debug>(what: &str, res: io::Result<T>) {
    let err = res.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err:?}");
    assert_eq!(err.raw_os_error(), None, "{what}: {err:?}");
}

#[test]
fn nul_byte_in_a_path_is_invalid_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = File::open(tmp.path()).unwrap();
    let d = dir.as_fd();
    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    // std says the same for the same path.
    assert_eq!(
        File::open("a\0b").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let short = PathBuf::from("new\0name");
    let long = PathBuf::from(format!("{}\0tail", "l".repeat(500)));
    for bad in [&short, &long] {
        let ok = Path::new("file");
        let n = bad.as_os_str().len();
        let open = uring_os::open(tmp.path().join(bad), libc::O_CREAT | libc::O_RDWR, 0o644);
        assert_nul_error(&format!("open ({n} bytes)"), open);
        let openat = uring_os::openat(d, bad, libc::O_CREAT | libc::O_RDWR, 0o644);
        assert_nul_error(&format!("openat ({n} bytes)"), openat);
        assert_nul_error("statx", uring_os::statx(d, bad, 0, libc::STATX_BASIC_STATS));
        assert_nul_error("mkdirat", uring_os::mkdirat(d, bad, 0o755));
        assert_nul_error("unlinkat", uring_os::unlinkat(d, bad, 0));
        assert_nul_error("renameat old", uring_os::renameat(d, bad, d, ok, 0));
        assert_nul_error("renameat new", uring_os::renameat(d, ok, d, bad, 0));
        assert_nul_error("symlinkat target", uring_os::symlinkat(bad, d, "l1"));
        assert_nul_error("symlinkat link", uring_os::symlinkat(ok, d, bad));
        assert_nul_error("linkat old", uring_os::linkat(d, bad, d, "l2", 0));
        assert_nul_error("linkat new", uring_os::linkat(d, ok, d, bad, 0));
    }
    // Nothing was created under the part before the NUL, nor by the calls that had one good
    // path.
    let mut names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["file"]);
}

#[test]
fn path_lengths_match_libc() {
    // PATH_MAX and NAME_MAX limits, and paths beyond the crate's 384-byte stack buffer, are
    // also cases of the table; this checks the boundary itself: every length from 370 to 400
    // bytes opens the same file.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("f"), b"boundary").unwrap();
    let base = tmp.path().join("f");
    for extra in 0..40 {
        // "/./" components lengthen the path without changing what it names.
        let mut p = tmp.path().as_os_str().to_owned();
        for _ in 0..extra {
            p.push("/.");
        }
        p.push("/f");
        let p = PathBuf::from(p);
        let len = p.as_os_str().len();
        let fd = uring_os::open(&p, libc::O_RDONLY | libc::O_CLOEXEC, 0)
            .unwrap_or_else(|e| panic!("open of a {len}-byte path: {e}"));
        let mut buf = [0u8; 16];
        let n = sys::read(&fd, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"boundary", "{len}-byte path");
        let stx = uring_os::statx(uring_os::CWD, &p, 0, libc::STATX_SIZE).unwrap();
        assert_eq!(stx.stx_size, 8, "{len}-byte path");
    }
    assert!(base.exists());
}

// ---------------------------------------------------------------------------------------------
// Fork
// ---------------------------------------------------------------------------------------------

#[test]
fn fifty_forks_parent_and_child_each_use_their_ring() {
    let (_tmp, file) = pattern_file(64 * 1024);
    let check_pread = |i: u64| -> bool {
        let off = (i * 4093) % 60_000;
        let mut buf = [0u8; 1000];
        matches!(uring_os::pread(&file, &mut buf, off), Ok(1000)) && is_pattern(&buf, off)
    };
    // The parent uses its ring before forking.
    assert!(check_pread(0));
    uring_os::nop().unwrap();
    let parent_backend = uring_os::status().backend;
    for i in 0..50u64 {
        assert!(check_pread(i), "parent, before fork {i}");
        let (r, w) = pipe();
        let keep = [file.as_raw_fd(), r.as_raw_fd(), w.as_raw_fd()];
        let code = common::fork::in_child_keeping(&keep, || {
            if !check_pread(i + 1000) {
                return 1;
            }
            if uring_os::write(&w, b"child").ok() != Some(5) {
                return 2;
            }
            let mut buf = [0u8; 8];
            match uring_os::read(&r, &mut buf) {
                Ok(5) if &buf[..5] == b"child" => {}
                _ => return 3,
            }
            if uring_os::nop().is_err() {
                return 4;
            }
            // The child has a ring of its own, set up like the parent's.
            if std::mem::discriminant(&uring_os::status().backend)
                != std::mem::discriminant(&parent_backend)
            {
                return 5;
            }
            if !check_pread(i + 2000) {
                return 6;
            }
            0
        });
        assert_eq!(code, 0, "child {i} failed (see the codes in the test)");
        // The parent's ring still works, and its pipe is empty (the child read its data).
        assert!(check_pread(i + 3000), "parent, after fork {i}");
        uring_os::write(&w, b"p").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            uring_os::read(&r, &mut buf).unwrap(),
            1,
            "parent pipe after fork {i}"
        );
    }
    assert_eq!(uring_os::status().backend, parent_backend);
}

/// Every blocking call of the contract (DESIGN.md).
const CONTRACT_CALLS: [&str; 36] = [
    "read",
    "pread",
    "write",
    "pwrite",
    "readv",
    "writev",
    "preadv",
    "pwritev",
    "open",
    "openat",
    "close",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "fallocate",
    "fadvise",
    "ftruncate",
    "statx",
    "mkdirat",
    "unlinkat",
    "renameat",
    "symlinkat",
    "linkat",
    "socket",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "send",
    "recv",
    "shutdown",
    "splice",
    "poll",
    "sleep",
    "nop",
];

/// Runs `cases` in a fork child where a seccomp filter refuses `io_uring_setup` (after the
/// parent has set up its ring and cached its probe), and checks there that `status()` says so
/// and that every call ran as a direct syscall. Returns the child's exit code and its report
/// of everything that was wrong (empty if nothing).
fn in_seccomp_child(cases: &[Case], syscall_per_case: bool) -> (i32, String) {
    uring_os::nop().unwrap();
    let parent = uring_os::status();
    if !matches!(parent.backend, Backend::IoUring { .. }) {
        eprintln!("note: the parent has no ring ({parent:?}); the child inherits no probe");
    }
    let (r, w) = pipe();
    let pid = common::fork::fork_keeping(&[w.as_raw_fd()], || {
        let mut report = String::new();
        if let Err(e) = common::seccomp::forbid_io_uring_setup() {
            report.push_str(&format!("cannot install the seccomp filter: {e}\n"));
        }
        // The filter works: a ring of our own is refused.
        match uring_os::ring::Ring::new(8) {
            Err(uring_os::ring::SetupError::PermissionDenied {
                cause: DeniedBy::Seccomp,
            }) => {}
            other => report.push_str(&format!("Ring::new under seccomp: {other:?}\n")),
        }
        let before = uring_os::stats();
        let status = uring_os::status();
        let expected = Backend::Syscall {
            reason: FallbackReason::PermissionDenied(DeniedBy::Seccomp),
        };
        if status.backend != expected {
            report.push_str(&format!(
                "status().backend in the child is {:?}, expected {expected:?}\n",
                status.backend
            ));
        }
        let all_listed = CONTRACT_CALLS
            .iter()
            .all(|name| status.syscall_ops.contains(name));
        if !all_listed || status.last_op.is_some() {
            report.push_str(&format!("status() in the child: {status:?}\n"));
        }
        // The same answers: pread, open ENOENT, then the cases.
        let mut buf = [0u8; 4];
        let file = File::open("Cargo.toml").unwrap();
        match uring_os::pread(&file, &mut buf, 0) {
            Ok(4) if &buf == b"[wor" || &buf == b"[pac" => {}
            other => report.push_str(&format!("pread: {other:?}\n")),
        }
        let missing = uring_os::open("/no/such/file", libc::O_RDONLY, 0);
        if missing.as_ref().map_err(io::Error::raw_os_error).err() != Some(Some(libc::ENOENT)) {
            report.push_str(&format!("open of a missing file: {missing:?}\n"));
        }
        for problem in call_cases::run_cases_inline(cases) {
            report.push_str(&problem);
            report.push('\n');
        }
        let after = uring_os::stats();
        if after.ops != before.ops {
            report.push_str(&format!("ops went from {} to {}\n", before.ops, after.ops));
        }
        // Cases refused by argument checks (an offset beyond off_t) make no syscall.
        let per_case = if syscall_per_case {
            cases.len() as u64
        } else {
            0
        };
        if after.fallbacks < before.fallbacks + 2 + per_case {
            report.push_str(&format!(
                "fallbacks went from {} to {} for {} cases\n",
                before.fallbacks,
                after.fallbacks,
                cases.len()
            ));
        }
        // Still the same status at the end (nothing switched back to a ring).
        if uring_os::status().backend != expected {
            report.push_str(&format!("status() at the end: {:?}\n", uring_os::status()));
        }
        let _ = sys::write(&w, report.as_bytes());
        if report.is_empty() { 0 } else { 1 }
    });
    drop(w);
    let mut report = String::new();
    File::from(r).read_to_string(&mut report).unwrap();
    (common::fork::wait_child(pid), report)
}

#[test]
fn seccomp_child_falls_back_to_syscalls_with_the_same_answers() {
    let mut cases = call_cases::all();
    cases.extend(call_cases::nonblocking());
    cases.extend(call_cases::poll_closed_fd());
    let (code, report) = in_seccomp_child(&cases, true);
    assert!(
        code == 0 && report.is_empty(),
        "seccomp child exited with {code}:\n{report}"
    );
}

#[test]
fn offset_u64_max_matches_libc_without_io_uring() {
    let (code, report) = in_seccomp_child(&call_cases::offset_minus_one(), false);
    assert!(
        code == 0 && report.is_empty(),
        "seccomp child exited with {code}:\n{report}"
    );
}

// ---------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------

static ALARMS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_alarm(_: libc::c_int) {
    ALARMS.fetch_add(1, Ordering::Relaxed);
}

fn set_timer(interval: Duration) {
    let tv = libc::timeval {
        tv_sec: interval.as_secs() as libc::time_t,
        tv_usec: interval.subsec_micros() as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: `timer` is valid for the call; the old value is not asked for.
    let res = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    assert_eq!(res, 0, "setitimer: {}", io::Error::last_os_error());
}

#[test]
fn sigalrm_every_100us_during_100k_preads_gives_right_bytes_or_interrupted() {
    const LEN: usize = 256 * 1024;
    let (_tmp, file) = pattern_file(LEN);
    let (r, w) = pipe();
    // In a fork child: ITIMER_REAL signals the whole process, and the other tests' threads
    // must not see EINTR.
    let pid = common::fork::fork_keeping(&[file.as_raw_fd(), w.as_raw_fd()], || {
        let old = install_alarm_handler();
        common::warm_up();
        set_timer(Duration::from_micros(100));
        let (mut interrupted, mut wrong) = (0u64, 0u64);
        let mut first_wrong = String::new();
        let mut buf = vec![0u8; 8192];
        for i in 0..100_000u64 {
            let off = (i * 7919) % (LEN as u64 - 100);
            let len = 1 + (i as usize * 31) % 8192;
            let want = len.min(LEN - off as usize);
            match uring_os::pread(&file, &mut buf[..len], off) {
                Ok(n) if n == want && is_pattern(&buf[..n], off) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => interrupted += 1,
                other => {
                    wrong += 1;
                    if first_wrong.is_empty() {
                        first_wrong = format!("pread({len} at {off}) gave {other:?}");
                    }
                }
            }
        }
        set_timer(Duration::ZERO);
        // SAFETY: puts back the action saved above.
        unsafe { libc::sigaction(libc::SIGALRM, &old, std::ptr::null_mut()) };
        let alarms = ALARMS.load(Ordering::Relaxed);
        let msg = format!("{interrupted} {wrong} {alarms} {first_wrong}");
        let _ = sys::write(&w, msg.as_bytes());
        if wrong == 0 { 0 } else { 1 }
    });
    drop(w);
    let mut report = String::new();
    File::from(r).read_to_string(&mut report).unwrap();
    let code = common::fork::wait_child(pid);
    let mut parts = report.splitn(4, ' ');
    let mut num = || parts.next().and_then(|s| s.parse::<u64>().ok());
    let (interrupted, wrong, alarms) = (num(), num(), num());
    println!(
        "100,000 preads under SIGALRM every 100 µs: {interrupted:?} interrupted, \
         {wrong:?} wrong, {alarms:?} signals"
    );
    assert_eq!(code, 0, "child: {report}");
    assert_eq!(wrong, Some(0), "{report}");
    assert!(alarms.unwrap() > 100, "the timer barely fired: {report}");
}

/// Installs the no-op counting handler for SIGALRM without `SA_RESTART`; returns the old
/// action.
fn install_alarm_handler() -> libc::sigaction {
    // SAFETY: all-zero is a valid sigaction; the fields are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_alarm as *const () as libc::sighandler_t;
    action.sa_flags = 0; // no SA_RESTART
    // SAFETY: sa_mask is a valid sigset_t to empty.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: all-zero is a valid sigaction for the old action to be written into.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both sigactions are valid; the handler only bumps an atomic.
    let res = unsafe { libc::sigaction(libc::SIGALRM, &action, &mut old) };
    assert_eq!(res, 0, "sigaction: {}", io::Error::last_os_error());
    old
}

#[test]
fn sigalrm_every_100us_during_blocking_pipe_reads_loses_no_data() {
    const VALUES: u32 = 20_000;
    let (report_r, report_w) = pipe();
    let pid = common::fork::fork_keeping(&[report_w.as_raw_fd()], || {
        common::warm_up();
        let (r, w) = pipe();
        // A writer process (no timer: itimers are not inherited) that trickles numbered
        // values into the pipe, so that most reads wait, and the signals cut the waits.
        let writer = common::fork::fork_child(|| {
            let mut next = 0u32;
            while next < VALUES {
                let n = 1 + next % 7;
                let chunk: Vec<u8> = (next..(next + n).min(VALUES))
                    .flat_map(u32::to_le_bytes)
                    .collect();
                if sys::write(&w, &chunk) != Ok(chunk.len()) {
                    return 1;
                }
                next += n;
                let ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 30_000,
                };
                // SAFETY: `ts` is valid for the call; no remainder is asked for.
                unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
            }
            0
        });
        drop(w);
        let old = install_alarm_handler();
        set_timer(Duration::from_micros(100));
        let (mut got, mut interrupted, mut other) = (Vec::new(), 0u64, None);
        let mut buf = [0u8; 64];
        loop {
            match uring_os::read(&r, &mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => interrupted += 1,
                Err(e) => {
                    other = Some(e);
                    break;
                }
            }
        }
        set_timer(Duration::ZERO);
        // SAFETY: puts back the action saved above.
        unsafe { libc::sigaction(libc::SIGALRM, &old, std::ptr::null_mut()) };
        let writer_status = common::fork::wait_child(writer);
        let expected: Vec<u8> = (0..VALUES).flat_map(u32::to_le_bytes).collect();
        let first_difference = got.iter().zip(&expected).position(|(a, b)| a != b);
        let msg = format!(
            "{interrupted} interrupted, {} signals, {} of {} bytes, first difference at {:?}, \
             error {other:?}, writer {writer_status}",
            ALARMS.load(Ordering::Relaxed),
            got.len(),
            expected.len(),
            first_difference,
        );
        let _ = sys::write(&report_w, msg.as_bytes());
        i32::from(got != expected || other.is_some() || writer_status != 0)
    });
    drop(report_w);
    let mut report = String::new();
    File::from(report_r).read_to_string(&mut report).unwrap();
    let code = common::fork::wait_child(pid);
    println!("blocking pipe reads under SIGALRM every 100 µs: {report}");
    assert_eq!(code, 0, "{report}");
}

/// Exit status of a child that, with SIGPIPE at its default action, writes to a pipe without
/// reader (or sends on a connection the peer has reset), through `uring_os` or libc:
/// 128 + SIGPIPE if the signal killed it, else a code for the call's result.
fn sigpipe_child(use_uring: bool, socket: bool) -> i32 {
    // Everything is set up in the parent, before the fork, so that no other process holds
    // the pipe's read end or the peer socket.
    let (r, w) = pipe();
    let (client, server) = common::tcp_pair();
    drop(r);
    drop(server);
    if socket {
        // Data sent after the peer closed draws its RST, after which a send fails.
        sys::write(&client, b"x").unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    common::fork::in_child_keeping(&[client.as_raw_fd(), w.as_raw_fd()], || {
        common::warm_up();
        // SAFETY: restores the default action of SIGPIPE in this child only.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let res = match (socket, use_uring) {
            (true, true) => uring_os::send(&client, b"x", 0).map_err(common::ue),
            (true, false) => call_cases::Libc.send(client.as_fd(), b"x", 0),
            (false, true) => uring_os::write(&w, b"x").map_err(common::ue),
            (false, false) => sys::write(&w, b"x"),
        };
        match res {
            Err(libc::EPIPE) => 10,
            Err(libc::ECONNRESET) => 11,
            Err(_) => 12,
            Ok(_) => 13,
        }
    })
}

#[test]
fn write_without_reader_raises_sigpipe_like_libc() {
    let libc_status = sigpipe_child(false, false);
    assert_eq!(libc_status, 128 + libc::SIGPIPE, "libc write");
    assert_eq!(
        sigpipe_child(true, false),
        libc_status,
        "uring_os::write vs write(2)"
    );
}

#[test]
fn send_on_a_reset_connection_raises_sigpipe_like_libc() {
    let libc_status = sigpipe_child(false, true);
    assert_eq!(libc_status, 128 + libc::SIGPIPE, "libc send");
    assert_eq!(
        sigpipe_child(true, true),
        libc_status,
        "uring_os::send vs send(2)"
    );
}

// ---------------------------------------------------------------------------------------------
// Threads, stats, configuration
// ---------------------------------------------------------------------------------------------

#[test]
fn sixty_four_threads_of_2000_calls_are_all_correct() {
    const THREADS: u64 = 64;
    const CALLS: u64 = 2000;
    let (_tmp, file) = pattern_file(64 * 1024);
    let before = uring_os::stats();
    let failures: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let file = &file;
                s.spawn(move || {
                    let mut buf = [0u8; 512];
                    for i in 0..CALLS {
                        if i % 2 == 0 {
                            let off = (t * 977 + i * 131) % (64 * 1024 - 512);
                            match uring_os::pread(file, &mut buf, off) {
                                Ok(512) if is_pattern(&buf, off) => {}
                                other => {
                                    return Err(format!("thread {t} call {i}: {other:?}"));
                                }
                            }
                        } else if let Err(e) = uring_os::nop() {
                            return Err(format!("thread {t} call {i}: nop {e}"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    let after = uring_os::stats();
    let total = THREADS * CALLS;
    let done = (after.ops + after.fallbacks) - (before.ops + before.fallbacks);
    assert!(
        done >= total,
        "stats counted {done} calls of {total}: {after:?}"
    );
    assert!(
        after.syscalls() - before.syscalls() >= total,
        "stats counted {} syscalls for {total} calls",
        after.syscalls() - before.syscalls()
    );
    if matches!(uring_os::status().backend, Backend::IoUring { .. }) {
        // Each thread's first calls may run as direct syscalls (its warm-up); the rest go
        // through its ring.
        assert!(
            after.ops - before.ops >= total - THREADS * 16,
            "{} ring ops for {total} calls",
            after.ops - before.ops
        );
    }
}

#[test]
fn configure_after_first_use_is_refused() {
    uring_os::nop().unwrap();
    assert!(matches!(
        uring_os::configure(Config::default()),
        Err(ConfigError::AlreadyInUse)
    ));
    assert!(matches!(
        uring_os::configure(Config::default().enabled(false).entries(8)),
        Err(ConfigError::AlreadyInUse)
    ));
    // Still in force: the ring (nothing switched to the syscall path).
    uring_os::nop().unwrap();
    assert!(!matches!(
        uring_os::status().backend,
        Backend::Syscall {
            reason: FallbackReason::Disabled
        }
    ));
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

fn assert_timed_out<T: std::fmt::Debug>(res: io::Result<T>, started: Instant, what: &str) {
    let elapsed = started.elapsed();
    let err = res.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{what}: {err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT), "{what}: {err:?}");
    assert!(
        elapsed >= Duration::from_millis(40) && elapsed <= Duration::from_secs(2),
        "{what}: timed out after {elapsed:?}, wanted about 50 ms"
    );
}

#[test]
fn timeout_on_an_empty_pipe_read_loses_no_data() {
    require_ring!("timeout_on_an_empty_pipe_read_loses_no_data", "read");
    let (r, w) = pipe();
    let mut buf = [0xAAu8; 16];
    let started = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(50), || uring_os::read(&r, &mut buf));
    assert_timed_out(res, started, "read of an empty pipe");
    assert_eq!(buf, [0xAA; 16], "the timed-out read wrote into the buffer");
    // The cancelled read consumed nothing: a byte written now is there for a plain read.
    sys::write(&w, b"z").unwrap();
    assert_eq!(libc_read_within(&r, Duration::from_secs(5)).unwrap(), b"z");
    // And the deadline is gone after with_timeout: a later read waits for its data.
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        sys::write(&w, b"late").unwrap();
        w
    });
    let n = uring_os::read(&r, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"late");
    drop(writer.join().unwrap());
}

#[test]
fn timeout_does_not_affect_calls_that_finish_in_time() {
    require_ring!("timeout_does_not_affect_calls_that_finish_in_time", "read");
    let (_tmp, file) = pattern_file(4096);
    let mut buf = [0u8; 100];
    let n = uring_os::with_timeout(Duration::from_secs(5), || {
        uring_os::pread(&file, &mut buf, 10)
    })
    .unwrap();
    assert!(n == 100 && is_pattern(&buf, 10));
    // A read that waits a little, then gets its data before the deadline.
    let (r, w) = pipe();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        sys::write(&w, b"in time").unwrap();
        w
    });
    let n =
        uring_os::with_timeout(Duration::from_secs(10), || uring_os::read(&r, &mut buf)).unwrap();
    assert_eq!(&buf[..n], b"in time");
    drop(writer.join().unwrap());
    // A deadline too far to represent is no deadline.
    uring_os::with_timeout(Duration::MAX, uring_os::nop).unwrap();
    // Several calls in one scope, each finishing in time.
    uring_os::with_timeout(Duration::from_secs(5), || {
        for i in 0..100 {
            uring_os::nop().unwrap();
            assert_eq!(uring_os::pread(&file, &mut buf, i).unwrap(), 100);
            assert!(is_pattern(&buf, i));
        }
    });
}

#[test]
fn timeout_on_a_write_to_a_full_pipe_writes_nothing() {
    require_ring!("timeout_on_a_write_to_a_full_pipe_writes_nothing", "read");
    let (r, w) = pipe();
    // Fill the pipe through a non-blocking duplicate; `w` itself stays blocking.
    let nb = sys::open(
        Path::new(&format!("/proc/self/fd/{}", w.as_raw_fd())),
        libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        0,
    )
    .unwrap();
    let mut filled = 0;
    while let Ok(n) = sys::write(&nb, &[1u8; 4096]) {
        filled += n;
    }
    while let Ok(n) = sys::write(&nb, &[1u8]) {
        filled += n;
    }
    let started = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(50), || uring_os::write(&w, &[2u8]));
    assert_timed_out(res, started, "write of 1 byte to a full pipe");
    // The pipe holds exactly what was written before: the timed-out write wrote nothing.
    let data = common::drain(&r);
    assert_eq!(data.len(), filled);
    assert!(
        data.bytes().all(|b| b == 1),
        "the timed-out write's byte arrived"
    );
}

#[test]
fn nested_timeouts_the_earlier_deadline_wins() {
    require_ring!("nested_timeouts_the_earlier_deadline_wins", "read");
    let (r, _w) = pipe();
    let mut buf = [0u8; 8];
    let long = Duration::from_secs(30);
    let short = Duration::from_millis(50);
    // Inner earlier.
    let started = Instant::now();
    let res = uring_os::with_timeout(long, || {
        uring_os::with_timeout(short, || uring_os::read(&r, &mut buf))
    });
    assert_timed_out(res, started, "inner 50 ms in outer 30 s");
    // Outer earlier: the inner, later deadline does not extend it.
    let started = Instant::now();
    let res = uring_os::with_timeout(short, || {
        uring_os::with_timeout(long, || uring_os::read(&r, &mut buf))
    });
    assert_timed_out(res, started, "inner 30 s in outer 50 ms");
    // After an inner scope ends, the outer deadline is back in force.
    let started = Instant::now();
    let res = uring_os::with_timeout(short, || {
        uring_os::with_timeout(long, uring_os::nop).unwrap();
        uring_os::read(&r, &mut buf)
    });
    assert_timed_out(res, started, "read after an inner scope");
}

#[test]
fn timeout_on_recv_from_a_silent_tcp_peer() {
    require_ring!("timeout_on_recv_from_a_silent_tcp_peer", "read");
    let (client, server) = common::tcp_pair();
    let mut buf = [0u8; 16];
    let started = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(50), || {
        uring_os::recv(&client, &mut buf, 0)
    });
    assert_timed_out(res, started, "recv from a silent peer");
    // The connection is intact and nothing was lost.
    sys::write(&server, b"late").unwrap();
    let n = uring_os::recv(&client, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"late");
}

#[test]
fn timeout_on_accept_and_sleep() {
    require_ring!("timeout_on_accept_and_sleep", "read");
    let (listener, addr) = common::listener();
    let started = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(50), || uring_os::accept(&listener));
    assert_timed_out(res, started, "accept without a client");
    // The listener still works.
    let client = std::net::TcpStream::connect(addr).unwrap();
    let (_fd, peer) = uring_os::accept(&listener).unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    let started = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(50), || {
        uring_os::sleep(Duration::from_secs(30))
    });
    assert_timed_out(res, started, "sleep(30 s) with a 50 ms timeout");
}

#[test]
fn read_of_a_file_is_unaffected_by_pread_elsewhere() {
    // read(2)'s position is per open file description: a dup shares it, another open not.
    let (_tmp, file) = pattern_file(4096);
    let dup = file.try_clone().unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(uring_os::read(&file, &mut buf).unwrap(), 10);
    assert_eq!(uring_os::read(&dup, &mut buf).unwrap(), 10);
    assert!(is_pattern(&buf, 10));
    assert_eq!(uring_os::pread(&dup, &mut buf, 100).unwrap(), 10);
    assert_eq!(common::pos(&file), 20);
    let mut std_buf = [0u8; 10];
    assert_eq!(file.read_at(&mut std_buf, 100).unwrap(), 10);
    assert_eq!(std_buf, buf);
}
