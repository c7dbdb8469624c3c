//! Fork and signals. A fork child never uses its parent's ring: it gets its own, also inside
//! a batch scope its parent began and when its own threads come and go. Signals interrupt
//! calls as they interrupt the syscalls (`EINTR` without `SA_RESTART`, `SIGPIPE` on a broken
//! pipe or connection), and a storm of them loses no data and lengthens no sleep.
//!
//! Tests that install signal handlers, set timers or aim signals at their only thread run in
//! a fork child ([`common::fork`]), so the other tests' threads see none of it; one that needs
//! a process whose other threads hold no locks when it forks runs in a fresh process
//! ([`common::fresh`]). A hang is a failure: children are killed after a deadline.

#[macro_use]
mod common;

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::fork::{
    CHILD_LIMIT, Report, alarm, fork_child, forking, in_child_reporting, no_forks_meanwhile,
    prepare_fork, wait_with_deadline,
};
use common::fresh::{fresh_skip, in_fresh_process, is_fresh};
use common::seccomp::refuse_io_uring;
use common::{
    errno_text, is_pattern, outcome, pattern_file, pipe, read_available, ring_entries, skip, sys,
    tcp_pair, volatile_copy, wait_readable,
};
use uring_os::{Backend, CWD};

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

/// A fork child that waits a handle its parent queued must not hang: the operation belongs
/// to the parent's ring, which the child never uses, so nothing will ever complete it there.
/// (`Handle::wait` documents `ECANCELED` when there is no driver to wait on; in a fork child
/// the thread gets a fresh ring instead, and waits on it for a completion that cannot come.)
#[test]
fn waiting_a_parents_handle_in_a_fork_child_does_not_hang() {
    let (reader, writer) = pipe();
    let mut buf = [0u8; 1];
    let (child, parent_read) = uring_os::batch(|s| {
        let handle = s.read(&reader, &mut buf);
        s.submit();
        let child = in_child_reporting(Duration::from_secs(5), move || {
            let res = handle.wait();
            Ok(format!("{:?}", res.map_err(|e| e.raw_os_error())))
        });
        // The parent's own read completes as usual.
        sys::write(writer.as_fd(), b"p").unwrap();
        (child, s.nop().wait())
    });
    parent_read.unwrap();
    assert_eq!(buf[0], b'p', "the parent's read got the byte");
    let child = child.expect("the child must not hang");
    assert!(child.starts_with("Err("), "child: {child}");
}

// ---------------------------------------------------------------------------------------------
// First review, finding 2: fork inside a batch scope
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: in a fork child, a scope begun in the parent treated every entry as the
// parent's: waits gave ECANCELED at once and the scope returned, while operations the child
// queued after the fork were still on (or queued for) the child's own ring, whose kernel read
// later wrote into the child's buffer and consumed data meant for others.

/// Creates a FIFO at `path`.
fn mkfifo(path: &Path) {
    let path = sys::cpath(path);
    // SAFETY: `path` is a NUL-terminated path, alive for the call.
    let res = unsafe { libc::mkfifo(path.as_ptr(), 0o600) };
    assert_eq!(res, 0, "mkfifo: {}", io::Error::last_os_error());
}

/// How the child's operation is started.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// `s.submit()`.
    Submit,
    /// 64 unstarted entries start by themselves.
    SixtyFourQueued,
    /// The end of `s.link(..)`.
    EndOfLink,
    /// `s.read_file(..)` of a FIFO, then `s.submit()`.
    ReadFile,
}

/// What the parent writes to the child's pipe (or FIFO), in two parts.
const FIRST: &[u8] = b"FIRST";

const SECOND: &[u8] = b"SECOND";

/// The two sides of the fork in [`fork_inside_a_scope`], as the scope returns them.
enum Side {
    Child {
        parents: io::Result<usize>,
        own: io::Result<usize>,
    },
    Parent {
        pid: libc::pid_t,
        own: io::Result<usize>,
    },
}

/// Forks inside a scope with one of the parent's reads in flight. The child waits that read
/// (ECANCELED, at once), queues its own read of an empty pipe, starts it as `start` says,
/// and lets the scope end; the parent then writes. Nothing may write the child's buffer after
/// its scope returned, and every byte the parent wrote is either in what the child's read
/// returned or still in the pipe.
fn fork_inside_a_scope(start: Start) {
    // Without a ring the parent's read would run as a blocking syscall right here, and the
    // child would have no ring to leave anything on.
    if let Err(reason) = ring_entries() {
        return skip(&format!("fork_inside_a_scope({start:?})"), reason);
    }
    let dir = tempfile::tempdir().unwrap();
    let fifo_path = dir.path().join("fifo");
    // The pipe the child reads, as (read end, write end); for read_file a FIFO, open for
    // reading and writing so that neither side's open blocks.
    let (data_reader, data_writer) = match start {
        Start::ReadFile => {
            mkfifo(&fifo_path);
            let fifo = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&fifo_path)
                .unwrap();
            let fifo = OwnedFd::from(fifo);
            (fifo.try_clone().unwrap(), fifo)
        }
        _ => pipe(),
    };
    let (parent_reader, parent_writer) = pipe();
    let (ready_reader, ready_writer) = pipe();
    let (written_reader, written_writer) = pipe();
    let report = Report::new();
    let mut buf = vec![0u8; 64];
    let mut parent_buf = [0u8; 1];
    prepare_fork();
    // SAFETY: getpid has no preconditions.
    let parent_pid = unsafe { libc::getpid() };
    let scope_result = panic::catch_unwind(AssertUnwindSafe(|| {
        uring_os::batch(|s| {
            let parents_read = s.read(&parent_reader, &mut parent_buf);
            s.submit();
            // Like every fork of this binary (see `common::fork`).
            let forking = forking();
            // SAFETY: fork has no memory preconditions. The child stays in this closure and
            // the code after the scope below, and `_exit`s there without returning to the
            // harness.
            let pid = unsafe { libc::fork() };
            drop(forking);
            if pid != 0 {
                // The parent: writes once the child has queued its read, in two parts.
                wait_readable(ready_reader.as_fd(), Duration::from_secs(3));
                thread::sleep(Duration::from_millis(50));
                sys::write(data_writer.as_fd(), FIRST).unwrap();
                thread::sleep(Duration::from_millis(50));
                sys::write(data_writer.as_fd(), SECOND).unwrap();
                sys::write(written_writer.as_fd(), b"w").unwrap();
                sys::write(parent_writer.as_fd(), b"p").unwrap();
                return Side::Parent {
                    pid,
                    own: parents_read.wait(),
                };
            }
            alarm(8);
            let parents = parents_read.wait();
            let _ = sys::write(ready_writer.as_fd(), b"r");
            let own = match start {
                Start::Submit => {
                    let read = s.read(&data_reader, &mut buf);
                    s.submit();
                    read.wait()
                }
                Start::SixtyFourQueued => {
                    for _ in 0..63 {
                        let _ = s.nop();
                    }
                    // The 64th unstarted entry: the scope starts them all now.
                    let read = s.read(&data_reader, &mut buf);
                    read.wait()
                }
                Start::EndOfLink => {
                    let read = s.link(|s| {
                        let _ = s.nop();
                        s.read(&data_reader, &mut buf)
                    });
                    read.wait()
                }
                Start::ReadFile => {
                    let read = s.read_file(CWD, &fifo_path, &mut buf);
                    s.submit();
                    read.wait()
                }
            };
            Side::Child { parents, own }
        })
    }));

    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != parent_pid {
        let result = match scope_result {
            Ok(Side::Child { parents, own }) => {
                check_child_after_scope(&buf, &parents, &own, &written_reader, &data_reader)
            }
            Ok(Side::Parent { .. }) => Err("the child took the parent's path".into()),
            Err(_) => Err("the child panicked in the scope".into()),
        };
        let code = report.send(result);
        // SAFETY: ends the fork child at once, without running the parent's destructors or
        // returning to the test harness.
        unsafe { libc::_exit(code) };
    }

    let (pid, own) = match scope_result {
        Ok(Side::Parent { pid, own }) => (pid, own),
        Ok(Side::Child { .. }) => unreachable!("the parent keeps its pid"),
        Err(e) => panic::resume_unwind(e),
    };
    assert!(pid > 0, "fork failed");
    let child = report.collect(pid, CHILD_LIMIT);
    assert_eq!(own.unwrap(), 1, "the parent's own read");
    assert_eq!(parent_buf, *b"p");
    if let Err(e) = child {
        panic!("fork child ({start:?}): {e}");
    }
}

/// In the fork child of [`fork_inside_a_scope`], once its scope has returned: waits for the
/// parent's writes, enters the child's ring, and checks that nothing wrote `buf` meanwhile
/// and that no byte the parent wrote went missing.
fn check_child_after_scope(
    buf: &[u8],
    parents: &io::Result<usize>,
    own: &io::Result<usize>,
    written: &OwnedFd,
    data: &OwnedFd,
) -> Result<String, String> {
    // The scope has returned: from here on the buffer is the child's alone.
    let at_scope_end = volatile_copy(buf);
    ensure!(
        wait_readable(written.as_fd(), Duration::from_secs(3)),
        "the parent did not write"
    );
    // An operation left on the child's ring would run now.
    let _ = uring_os::nop();
    thread::sleep(Duration::from_millis(30));
    let _ = uring_os::nop();
    let later = volatile_copy(buf);
    let left = read_available(data.as_fd());
    let sent: Vec<u8> = [FIRST, SECOND].concat();
    let read = *own.as_ref().unwrap_or(&0);
    let summary = format!(
        "parent's handle {:?}, own {:?}, buffer at scope end {:?}, later {:?}, left in the \
         pipe {:?}",
        outcome(parents),
        own.as_ref().map_err(|e| e.to_string()),
        String::from_utf8_lossy(&at_scope_end[..16]),
        String::from_utf8_lossy(&later[..16]),
        String::from_utf8_lossy(&left),
    );
    ensure!(
        outcome(parents) == errno_text(libc::ECANCELED),
        "waiting the parent's handle: {summary}"
    );
    ensure!(
        later == at_scope_end,
        "the child's buffer was written after its scope returned: {summary}"
    );
    ensure!(
        read <= sent.len() && at_scope_end[..read] == sent[..read] && left == sent[read..],
        "bytes lost to (or invented by) the child's read: {summary}"
    );
    Ok(summary)
}

// Regression test for the first review, finding 2 (fixed in a3dcc2d).
#[test]
fn fork_in_a_scope_submit_leaves_nothing_on_the_childs_ring() {
    fork_inside_a_scope(Start::Submit);
}

// Regression test for the first review, finding 2 (fixed in a3dcc2d).
#[test]
fn fork_in_a_scope_sixty_four_queued_leave_nothing_on_the_childs_ring() {
    fork_inside_a_scope(Start::SixtyFourQueued);
}

// Regression test for the first review, finding 2 (fixed in a3dcc2d).
#[test]
fn fork_in_a_scope_end_of_link_leaves_nothing_on_the_childs_ring() {
    fork_inside_a_scope(Start::EndOfLink);
}

// Regression test for the first review, finding 2 (fixed in a3dcc2d).
#[test]
fn fork_in_a_scope_read_file_leaves_nothing_on_the_childs_ring() {
    fork_inside_a_scope(Start::ReadFile);
}

// Regression test found with the first review, finding 2 (fixed in a3dcc2d).
/// Found while writing the tests above: in a fork child, `read_file` in a scope begun by the
/// parent runs its chain as syscalls, but the chain goes through a direct descriptor, which
/// a syscall cannot use. Without a ring, `read_file` is documented to run as openat + read +
/// close; it should read the file here too.
#[test]
fn read_file_in_a_fork_child_of_a_parents_scope_reads_the_file() {
    // Without a ring the child is not told it is a fork child, and this is not the case.
    if let Err(reason) = ring_entries() {
        return skip(
            "read_file_in_a_fork_child_of_a_parents_scope_reads_the_file",
            reason,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small");
    fs::write(&path, b"small file!").unwrap();
    let report = Report::new();
    let mut buf = [0u8; 32];
    prepare_fork();
    // SAFETY: getpid has no preconditions.
    let parent_pid = unsafe { libc::getpid() };
    let scope_result = panic::catch_unwind(AssertUnwindSafe(|| {
        uring_os::batch(|s| {
            let parents = s.nop();
            s.submit();
            // Like every fork of this binary (see `common::fork`).
            let forking = forking();
            // SAFETY: fork has no memory preconditions; the child `_exit`s below.
            let pid = unsafe { libc::fork() };
            drop(forking);
            if pid != 0 {
                let _ = parents.wait();
                return (pid, None);
            }
            alarm(8);
            let read = s.read_file(CWD, &path, &mut buf).wait();
            let read = read.map_err(|e| format!("{e} ({:?})", e.raw_os_error()));
            (pid, Some(read))
        })
    }));
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != parent_pid {
        let result = match scope_result {
            Ok((_, Some(Ok(n)))) if buf[..n] == *b"small file!" => Ok(String::new()),
            Ok((_, Some(res))) => Err(format!(
                "read_file gave {res:?}, buffer {:?}",
                String::from_utf8_lossy(&buf)
            )),
            _ => Err("the child panicked in the scope".into()),
        };
        let code = report.send(result);
        // SAFETY: ends the fork child at once, without returning to the test harness.
        unsafe { libc::_exit(code) };
    }
    let pid = match scope_result {
        Ok((pid, _)) => pid,
        Err(e) => panic::resume_unwind(e),
    };
    assert!(pid > 0, "fork failed");
    if let Err(e) = report.collect(pid, CHILD_LIMIT) {
        panic!("fork child: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// First review, finding 9: Thread exit in a fork child after the parent had its reaper
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: the child inherited the sender to the parent's reaper thread, which does not
// exist in the child, so the rings of the child's exiting threads were never released; and a
// thread's exit could block on the reaper's lock if another thread held it at the fork.

/// io_uring mappings of this process (the SQ and CQ rings of each live ring).
fn io_uring_mappings() -> usize {
    fs::read_to_string("/proc/self/maps")
        .map(|maps| maps.lines().filter(|l| l.contains("io_uring")).count())
        .unwrap_or(0)
}

/// A thread that makes three calls (the first a syscall by the warm-up, the second sets up
/// its ring) and exits; whether it had a ring.
fn ring_thread() -> thread::JoinHandle<Result<bool, String>> {
    thread::spawn(|| {
        for _ in 0..3 {
            uring_os::nop().map_err(|e| e.to_string())?;
        }
        Ok(matches!(
            uring_os::status().backend,
            Backend::IoUring { .. }
        ))
    })
}

/// In the fork child: rounds of threads that set up rings and exit; then their rings must
/// be released.
fn threads_exit_in_this_child() -> Result<String, String> {
    let baseline = io_uring_mappings();
    for round in 0..3 {
        let threads: Vec<_> = (0..4).map(|_| ring_thread()).collect();
        for thread in threads {
            let has_ring = thread
                .join()
                .map_err(|_| format!("round {round}: a thread panicked"))??;
            ensure!(has_ring, "round {round}: a thread had no ring");
        }
    }
    // Released off the exiting threads, by a reaper: give it a moment.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = io_uring_mappings();
        if now <= baseline {
            return Ok(String::new());
        }
        ensure!(
            Instant::now() < deadline,
            "{now} io_uring mappings 2 s after the threads exited (baseline {baseline}): their \
             rings were never released"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

// Regression test for the first review, finding 9 (fixed in a3dcc2d).
#[test]
fn threads_exiting_in_a_fork_child_do_not_hang_or_leak_their_rings() {
    in_fresh_process("fresh_threads_exit_in_a_fork_child", &[]);
}

#[test]
#[ignore = "helper: run in a fresh process by \
            threads_exiting_in_a_fork_child_do_not_hang_or_leak_their_rings"]
fn fresh_threads_exit_in_a_fork_child() {
    if !is_fresh("fresh_threads_exit_in_a_fork_child") {
        return;
    }
    // Threads with rings exit in the parent first: it has a reaper.
    let parents: Vec<_> = (0..4).map(|_| ring_thread()).collect();
    let mut rings = false;
    for thread in parents {
        rings |= thread.join().unwrap().unwrap();
    }
    if !rings {
        return fresh_skip("no rings: io_uring is refused or disabled here");
    }
    thread::sleep(Duration::from_millis(50));
    let report = Report::new();
    let pid = fork_child(|| {
        alarm(8);
        report.send(threads_exit_in_this_child())
    });
    if let Err(e) = report.collect(pid, CHILD_LIMIT) {
        panic!("fork child: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------

/// SIGALRMs received (by a fork child: each counts in its own copy).
static ALARMS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_alarm(_: libc::c_int) {
    ALARMS.fetch_add(1, Ordering::Relaxed);
}

/// Installs `handler` for `signal` without `SA_RESTART`, so that the calls it interrupts fail
/// with EINTR; returns the old action.
fn install_handler(
    signal: libc::c_int,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<libc::sigaction> {
    // SAFETY: an all-zero sigaction is a valid value: no flags, an empty mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    // SAFETY: all-zero is a valid sigaction for the old action to be written into.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both sigactions are valid for the call; the handlers of this file only touch an
    // atomic, which is async-signal-safe.
    let res = unsafe { libc::sigaction(signal, &action, &mut old) };
    if res == 0 {
        Ok(old)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Arms ITIMER_REAL: a SIGALRM after `first`, then one every `every` (zero: none). A zero
/// `first` disarms it.
fn set_timer(first: Duration, every: Duration) -> io::Result<()> {
    let timeval = |d: Duration| libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: timeval(every),
        it_value: timeval(first),
    };
    // SAFETY: `timer` is valid for the call; the old value is not asked for.
    let res = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    if res == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[test]
fn sigalrm_every_100us_during_100k_preads_gives_right_bytes_or_interrupted() {
    const LEN: usize = 256 * 1024;
    let (_tmp, file) = pattern_file(LEN);
    let (r, w) = pipe();
    // In a fork child: ITIMER_REAL signals the whole process, and the other tests' threads
    // must not see EINTR.
    let pid = common::fork::fork_keeping(&[file.as_raw_fd(), w.as_raw_fd()], || {
        let old = install_handler(libc::SIGALRM, count_alarm).expect("sigaction");
        common::warm_up();
        let every = Duration::from_micros(100);
        set_timer(every, every).expect("setitimer");
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
        set_timer(Duration::ZERO, Duration::ZERO).expect("setitimer");
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
        let old = install_handler(libc::SIGALRM, count_alarm).expect("sigaction");
        let every = Duration::from_micros(100);
        set_timer(every, every).expect("setitimer");
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
        set_timer(Duration::ZERO, Duration::ZERO).expect("setitimer");
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

// ---------------------------------------------------------------------------------------------
// First review, finding 8: sleep under a storm of signals
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: the syscall fallback slept for the whole duration again after every signal,
// so with a signal every 100 ms a 300 ms sleep never ended.

/// In a fork child (the only thread, so it gets every SIGALRM): `sleep(300 ms)` with
/// SIGALRM every 100 ms, on the ring or with io_uring `refused`.
fn sleep_under_signals(refused: bool) -> Result<String, String> {
    if refused && !refuse_io_uring()? {
        return Ok("skip: no seccomp filter for this architecture".into());
    }
    match (refused, ring_entries()) {
        (false, Err(reason)) => return Ok(format!("skip: {reason}")),
        (true, Ok(_)) => return Err("a ring despite the seccomp filter".into()),
        _ => {}
    }
    install_handler(libc::SIGALRM, count_alarm).map_err(|e| format!("sigaction: {e}"))?;
    let every = Duration::from_millis(100);
    set_timer(every, every).map_err(|e| format!("setitimer: {e}"))?;
    let start = Instant::now();
    let res = uring_os::sleep(Duration::from_millis(300));
    let elapsed = start.elapsed();
    let _ = set_timer(Duration::ZERO, Duration::ZERO);
    let signals = ALARMS.load(Ordering::Relaxed);
    let text = format!("sleep(300 ms) gave {res:?} after {elapsed:?}, {signals} signals meanwhile");
    ensure!(res.is_ok(), "{text}");
    ensure!(signals >= 2, "the timer barely fired: {text}");
    ensure!(
        elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(600),
        "{text}"
    );
    Ok(text)
}

fn check_sleep_under_signals(test: &str, refused: bool) {
    prepare_fork();
    match in_child_reporting(CHILD_LIMIT, || sleep_under_signals(refused)) {
        Ok(text) if text.starts_with("skip: ") => skip(test, text),
        Ok(_) => {}
        Err(e) => panic!("{e}"),
    }
}

// Regression test for the first review, finding 8 (fixed in a3dcc2d).
#[test]
fn sleep_is_not_lengthened_by_signals_on_the_ring() {
    check_sleep_under_signals("sleep_is_not_lengthened_by_signals_on_the_ring", false);
}

// Regression test for the first review, finding 8 (fixed in a3dcc2d).
#[test]
fn sleep_is_not_lengthened_by_signals_without_io_uring() {
    check_sleep_under_signals("sleep_is_not_lengthened_by_signals_without_io_uring", true);
}

// ---------------------------------------------------------------------------------------------
// A signal during the first wait of a single call
// ---------------------------------------------------------------------------------------------
//
// A call with no fd-readiness check (poll) that is interrupted in the io_uring_enter that
// submits it must be cancelled and return Interrupted, like poll(2), not keep waiting.

extern "C" fn ignore_signal(_: libc::c_int) {}

// Regression test for a signal in a single call's first wait (fixed in c88e600).
#[test]
fn poll_interrupted_in_its_first_wait_returns_interrupted() {
    // In a single-threaded fork child, so the SIGALRM reaches the thread that polls; the
    // parent kills it if it hangs.
    let pid = fork_child(|| {
        // A plain handler without SA_RESTART, installed before any timer.
        install_handler(libc::SIGALRM, ignore_signal).expect("sigaction");
        let (reader, _writer) = pipe();
        // The second call sets up the thread's ring.
        uring_os::nop().unwrap();
        uring_os::nop().unwrap();
        for _ in 0..3 {
            set_timer(Duration::from_millis(50), Duration::ZERO).expect("setitimer");
            match uring_os::poll(&reader, libc::POLLIN) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => return 1,
            }
        }
        0
    });
    let Some(code) = wait_with_deadline(pid, Duration::from_secs(10)) else {
        panic!("poll was never interrupted: the child hung for 10 s");
    };
    assert_eq!(code, 0, "poll was not interrupted by SIGALRM");
}

// ---------------------------------------------------------------------------------------------
// SIGPIPE
// ---------------------------------------------------------------------------------------------

/// Exit status of a child that, with SIGPIPE at its default action, writes to a pipe without
/// reader (or sends on a connection the peer has reset), through `uring_os` or libc:
/// 128 + SIGPIPE if the signal killed it, else a code for the call's result.
fn sigpipe_child(use_uring: bool, socket: bool) -> i32 {
    // Everything is set up in the parent, before the fork, so that no other process holds
    // the pipe's read end or the peer socket: no fork starts until they are closed.
    let no_forks = no_forks_meanwhile();
    let (r, w) = pipe();
    let (client, server) = tcp_pair();
    drop(r);
    drop(server);
    drop(no_forks);
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
            (true, false) => sys::send(&client, b"x", 0),
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
// First review, finding 10: SIGPIPE parity for send
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: io_uring sends with MSG_NOSIGNAL always, so `uring_os::send` to a closed peer
// gave EPIPE without the SIGPIPE that send(2) raises.

static SIGPIPES: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_sigpipe(_: libc::c_int) {
    SIGPIPES.fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone, Copy)]
enum Sender {
    Libc,
    UringOs,
}

/// Sends four times to a TCP peer that has closed its socket: (outcome, SIGPIPEs raised) of
/// each send.
fn sends_to_a_closed_peer(sender: Sender, flags: i32) -> Result<Vec<(String, usize)>, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let client = TcpStream::connect(address).map_err(|e| e.to_string())?;
    let (server, _) = listener.accept().map_err(|e| e.to_string())?;
    drop(server);
    // The peer's FIN arrives.
    thread::sleep(Duration::from_millis(20));
    let mut steps = Vec::new();
    for i in 0..4 {
        let before = SIGPIPES.load(Ordering::Relaxed);
        let res = match sender {
            Sender::Libc => {
                // SAFETY: the buffer is valid for reads of its length for the call.
                let n = unsafe { libc::send(client.as_raw_fd(), b"x".as_ptr().cast(), 1, flags) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }
            Sender::UringOs => uring_os::send(&client, b"x", flags),
        };
        steps.push((outcome(&res), SIGPIPES.load(Ordering::Relaxed) - before));
        if i == 0 {
            // The peer answers the first send with a reset.
            thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(steps)
}

// Regression test for the first review, finding 10 (fixed in a3dcc2d).
#[test]
fn send_to_a_closed_peer_raises_sigpipe_like_send2() {
    prepare_fork();
    let res = in_child_reporting(CHILD_LIMIT, || {
        install_handler(libc::SIGPIPE, count_sigpipe).map_err(|e| format!("sigaction: {e}"))?;
        // Sets up the ring, so uring_os::send goes through it (not the warm-up syscall).
        let backend = uring_os::status().backend;
        let mut text = format!("{backend:?}");
        for flags in [0, libc::MSG_NOSIGNAL] {
            let with_libc = sends_to_a_closed_peer(Sender::Libc, flags)?;
            let with_uring_os = sends_to_a_closed_peer(Sender::UringOs, flags)?;
            let raised: usize = with_libc.iter().map(|(_, n)| n).sum();
            ensure!(
                with_uring_os == with_libc,
                "flags {flags:#x}: uring_os::send {with_uring_os:?}, send(2) {with_libc:?}"
            );
            ensure!(
                (flags == 0) == (raised > 0),
                "flags {flags:#x}: send(2) raised {raised} SIGPIPEs: {with_libc:?}"
            );
            text += &format!(" {flags:#x}: {with_libc:?}");
        }
        Ok(text)
    });
    res.unwrap();
}
