//! Timeouts: `uring_os::with_timeout` on single calls, on operations queued in a batch, on
//! linked chains, and on the smallest ring. A call that runs out gives `TimedOut`
//! (`ETIMEDOUT`) and leaves no trace: the pipe unread, nothing written, the buffer untouched;
//! calls that finish in time are left alone.
//!
//! The tests skip, saying why, where calls run as direct syscalls (io_uring refused or
//! disabled), which are not timed there; `fallback_off.rs` checks the poll(2) wait that stands
//! in for a timeout without a ring. The smallest-ring tests run in fresh processes
//! ([`common::fresh`]), since the ring size is fixed once per process.

#[macro_use]
mod common;

use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::fresh::{fresh_skip, in_fresh_process, is_fresh};
use common::{
    Watchdog, assert_pipe_unread, is_pattern, pattern_file, pipe, read_available, record,
    records_file, ring_entries, sys, volatile_copy, wait_readable,
};
use uring_os::Config;

// ---------------------------------------------------------------------------------------------
// Single calls
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

/// Reads what is in the pipe within `wait` with plain libc calls (poll, then read).
fn libc_read_within(fd: impl AsFd, wait: Duration) -> io::Result<Vec<u8>> {
    if !wait_readable(&fd, wait) {
        return Err(io::Error::new(ErrorKind::TimedOut, "nothing to read"));
    }
    let mut buf = vec![0u8; 64];
    let n = sys::read(fd, &mut buf).map_err(io::Error::from_raw_os_error)?;
    buf.truncate(n);
    Ok(buf)
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
fn with_timeout_times_out_a_read_on_an_empty_pipe_and_leaves_it_unread() {
    require_ring!("with_timeout_times_out_a_read_on_an_empty_pipe_and_leaves_it_unread");
    let (reader, writer) = pipe();
    // If the timeout does not fire, a byte after 3 s ends the read, and the bound fails.
    let watchdog = Watchdog::new(Duration::from_secs(3), &[(writer.as_fd(), b"W")]);
    let mut buf = [0u8; 16];
    let start = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(50), || {
        uring_os::read(&reader, &mut buf)
    });
    let elapsed = start.elapsed();
    watchdog.stop();
    match &res {
        Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}"),
        Ok(n) => panic!("the read returned {n} bytes instead of timing out"),
    }
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ETIMEDOUT));
    assert!(
        elapsed >= Duration::from_millis(40) && elapsed < Duration::from_secs(2),
        "a 50 ms timeout took {elapsed:?}"
    );
    assert_pipe_unread(reader.as_fd(), writer.as_fd());
    // The next call of the thread has no deadline left over.
    sys::write(writer.as_fd(), b"x").unwrap();
    let mut one = [0u8; 1];
    assert_eq!(uring_os::read(&reader, &mut one).unwrap(), 1);
}

#[test]
fn with_timeout_leaves_calls_that_finish_in_time_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = records_file(&dir.path().join("records"), 4);
    let (reader, writer) = pipe();
    sys::write(writer.as_fd(), b"ready").unwrap();
    let mut buf = [0u8; 8];
    let mut pipe_buf = [0u8; 8];
    let (read, pipe_read, value) = uring_os::with_timeout(Duration::from_secs(5), || {
        (
            uring_os::pread(&file, &mut buf, 16),
            uring_os::read(&reader, &mut pipe_buf),
            42,
        )
    });
    assert_eq!(read.unwrap(), 8);
    assert_eq!(buf, record(2));
    assert_eq!(pipe_read.unwrap(), 5);
    assert_eq!(&pipe_buf[..5], b"ready");
    assert_eq!(value, 42, "with_timeout returns the closure's value");
    // The deadline is gone afterwards: a read that takes longer than it is unaffected.
    let late = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        sys::write(writer.as_fd(), b"later").unwrap();
        writer
    });
    let _ = uring_os::with_timeout(Duration::from_millis(10), uring_os::nop);
    assert_eq!(uring_os::read(&reader, &mut pipe_buf).unwrap(), 5);
    assert_eq!(&pipe_buf[..5], b"later");
    late.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// In a batch, and over linked chains
// ---------------------------------------------------------------------------------------------

/// Inside a batch, `with_timeout` around a queued operation gives that operation its own
/// timeout; an operation queued outside it is unaffected, and one under a long timeout that
/// finishes in time gives its normal result.
#[test]
fn with_timeout_in_a_batch_times_out_only_what_was_queued_under_it() {
    require_ring!("with_timeout_in_a_batch_times_out_only_what_was_queued_under_it");
    let dir = tempfile::tempdir().unwrap();
    let file = records_file(&dir.path().join("records"), 4);
    let (timed_r, timed_w) = pipe();
    let (free_r, free_w) = pipe();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        sys::write(free_w.as_fd(), b"y").unwrap();
        free_w
    });
    // If the timeout does not fire, a byte after 3 s ends the read, and the bound fails.
    let watchdog = Watchdog::new(Duration::from_secs(3), &[(timed_w.as_fd(), b"W")]);
    let mut timed_buf = [0u8; 4];
    let mut free_buf = [0u8; 4];
    let mut file_buf = [0u8; 8];
    let start = Instant::now();
    let (timed, timed_after, in_time, free) = uring_os::batch(|s| {
        let timed = uring_os::with_timeout(Duration::from_millis(50), || {
            s.read(&timed_r, &mut timed_buf)
        });
        let in_time =
            uring_os::with_timeout(Duration::from_secs(5), || s.pread(&file, &mut file_buf, 8));
        let free = s.read(&free_r, &mut free_buf);
        let timed = timed.wait();
        let timed_after = start.elapsed();
        (timed, timed_after, in_time.wait(), free.wait())
    });
    watchdog.stop();
    let _free_w = writer.join().unwrap();
    match &timed {
        Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}"),
        Ok(n) => panic!("the timed read returned {n} bytes instead of timing out"),
    }
    assert!(
        timed_after >= Duration::from_millis(40) && timed_after < Duration::from_secs(2),
        "a 50 ms timeout took {timed_after:?}"
    );
    assert_eq!(timed_buf, [0; 4]);
    assert_eq!(in_time.unwrap(), 8);
    assert_eq!(file_buf, record(1));
    assert_eq!(
        free.unwrap(),
        1,
        "the read queued outside the timeout waited for its data"
    );
    assert_eq!(free_buf[0], b'y');
    assert_pipe_unread(timed_r.as_fd(), timed_w.as_fd());
}

/// `with_timeout` around a `link` chain: the timeout doc says every operation made inside it
/// carries a linked timeout, but chains get none, so a chained read of an empty pipe blocks.
#[test]
fn with_timeout_applies_to_linked_operations() {
    require_ring!("with_timeout_applies_to_linked_operations");
    let (reader, writer) = pipe();
    // If the chain is not timed, a byte after 3 s ends the read and the assertion fails.
    let watchdog = Watchdog::new(Duration::from_secs(3), &[(writer.as_fd(), b"W")]);
    let mut buf = [0u8; 1];
    let res = uring_os::batch(|s| {
        uring_os::with_timeout(Duration::from_millis(50), || {
            s.link(|s| (s.nop(), s.read(&reader, &mut buf)))
        })
        .1
        .wait()
    });
    watchdog.stop();
    match res {
        Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}"),
        Ok(n) => panic!("the chained read returned {n} bytes (after 3 s) instead of timing out"),
    }
}

// ---------------------------------------------------------------------------------------------
// First review, finding 6: with_timeout over a linked chain, one deadline for the chain
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: each entry's linked timeout was relative, and a linked timeout starts when
// its entry starts, so an entry late in a chain ran past the deadline.

/// Runs `with_timeout(300 ms)` over a chain of two reads of empty pipes; with `first_after`,
/// a byte arrives in the first pipe after that long. Returns the two results and the time.
fn timed_chain_of_two_reads(first_after: Option<Duration>) -> (String, String, Duration) {
    let (first, first_writer) = pipe();
    let (second, _second_writer) = pipe();
    // The write end stays open either way: an empty pipe, not an end of file.
    let writer = thread::spawn(move || {
        if let Some(after) = first_after {
            thread::sleep(after);
            sys::write(first_writer.as_fd(), b"x").unwrap();
        }
        first_writer
    });
    let (mut a, mut b) = ([0u8; 1], [0u8; 1]);
    let start = Instant::now();
    let (first_res, second_res) = uring_os::with_timeout(Duration::from_millis(300), || {
        uring_os::batch(|s| {
            let (x, y) = s.link(|s| (s.read(&first, &mut a), s.read(&second, &mut b)));
            (x.wait(), y.wait())
        })
    });
    let elapsed = start.elapsed();
    drop(writer.join().unwrap());
    let show = |res: io::Result<usize>| match res {
        Ok(n) => format!("Ok({n})"),
        Err(e) => format!("{:?}", e.kind()),
    };
    (show(first_res), show(second_res), elapsed)
}

// Regression test for the first review, finding 6 (fixed in a3dcc2d).
#[test]
fn timed_chain_of_two_empty_pipe_reads_times_out_at_the_deadline() {
    require_ring!("timed_chain_of_two_empty_pipe_reads_times_out_at_the_deadline");
    let (first, second, elapsed) = timed_chain_of_two_reads(None);
    assert_eq!((first.as_str(), second.as_str()), ("TimedOut", "TimedOut"));
    assert!(
        elapsed < Duration::from_millis(450),
        "returned after {elapsed:?}"
    );
}

// Regression test for the first review, finding 6 (fixed in a3dcc2d).
/// The first read gets a byte after 200 ms; the second must still time out at the 300 ms
/// deadline, not 300 ms after it started (500 ms).
#[test]
fn timed_chain_second_read_times_out_at_the_chains_deadline() {
    require_ring!("timed_chain_second_read_times_out_at_the_chains_deadline");
    let (first, second, elapsed) = timed_chain_of_two_reads(Some(Duration::from_millis(200)));
    assert_eq!((first.as_str(), second.as_str()), ("Ok(1)", "TimedOut"));
    assert!(
        elapsed < Duration::from_millis(450),
        "returned after {elapsed:?}: the second read's timeout counted from its own start"
    );
}

// Regression test for the second review (fixed in e33f66c).
/// A chained entry waited after its deadline passed gets its real error, not TimedOut, when
/// no timeout fired.
#[test]
fn waiting_after_the_deadline_keeps_the_real_error() {
    let mut buf = [0u8; 8];
    let res = uring_os::with_timeout(Duration::from_millis(50), || {
        uring_os::batch(|s| {
            let read = s.read_file(uring_os::CWD, "/no/such/file/here", &mut buf);
            thread::sleep(Duration::from_millis(100));
            read.wait()
        })
    });
    assert_eq!(
        res.unwrap_err().raw_os_error(),
        Some(libc::ENOENT),
        "the open's error, not a timeout"
    );
}

// ---------------------------------------------------------------------------------------------
// First review, finding 1: with_timeout on an SQ too small for an operation and its timeout
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: the operation's entry was taken, the timeout's was not, and the call ran as
// a syscall, leaving the entry (pointing at the call's stack buffer) in the SQ; the next call
// submitted it, and the kernel later read the pipe into that dead frame. Now rings have at
// least 8 entries, and a call checks for room before it fills anything.

/// What goes wrong with `with_timeout` and the calls after it on this process's smallest
/// ring.
fn smallest_ring_checks(dir: &Path) -> Vec<String> {
    let mut failures = Vec::new();

    // A timed read that succeeds at once, then later calls, then more data in the pipe.
    let (reader, writer) = pipe();
    sys::write(writer.as_fd(), b"A").unwrap();
    // Leaked, never freed: on the old code the kernel wrote it after the call returned.
    let buf: &'static mut [u8] = Box::leak(Box::new([0u8; 1]));
    let first = uring_os::with_timeout(Duration::from_secs(5), || {
        uring_os::read(&reader, &mut buf[..])
    });
    if first.as_ref().ok() != Some(&1) || volatile_copy(buf) != b"A" {
        failures.push(format!(
            "timed read of a pipe holding \"A\": {first:?}, buf {buf:?}"
        ));
    }
    for _ in 0..2 {
        if let Err(e) = uring_os::nop() {
            failures.push(format!("nop after the timed read: {e}"));
        }
    }
    sys::write(writer.as_fd(), b"Z").unwrap();
    // An entry left behind would run now, when the thread next enters its ring.
    let _ = uring_os::nop();
    thread::sleep(Duration::from_millis(20));
    let _ = uring_os::nop();
    let left = read_available(reader.as_fd());
    if left != b"Z" {
        failures.push(format!(
            "a stale read consumed later data: the pipe held {:?} instead of \"Z\"",
            String::from_utf8_lossy(&left)
        ));
    }
    let now = volatile_copy(buf);
    if now != b"A" {
        failures.push(format!(
            "the timed read's buffer was written after the call returned: {:?}",
            String::from_utf8_lossy(&now)
        ));
    }

    // The timeout must apply on this ring: a read of an empty pipe times out. A byte after
    // 2 s ends an untimed read, which is then a failure.
    let (empty, empty_writer) = pipe();
    let rescue = Watchdog::new(Duration::from_secs(2), &[(empty_writer.as_fd(), b"R")]);
    let mut byte = [0u8; 1];
    let start = Instant::now();
    let res = uring_os::with_timeout(Duration::from_millis(100), || {
        uring_os::read(&empty, &mut byte)
    });
    let elapsed = start.elapsed();
    rescue.stop();
    if !matches!(&res, Err(e) if e.kind() == ErrorKind::TimedOut) {
        failures.push(format!(
            "with_timeout(100 ms) read of an empty pipe gave {res:?} after {elapsed:?}, not TimedOut"
        ));
    }

    // Further calls: a single one, and a timed chain in a batch.
    let path = dir.join("digits");
    fs::write(&path, b"0123456789").unwrap();
    let file = File::open(&path).unwrap();
    let mut four = [0u8; 4];
    match uring_os::pread(&file, &mut four, 2) {
        Ok(4) if &four == b"2345" => {}
        other => failures.push(format!("pread after the timed calls: {other:?} {four:?}")),
    }
    let mut chained = [0u8; 4];
    let (nop, read) = uring_os::with_timeout(Duration::from_secs(5), || {
        uring_os::batch(|s| {
            let (nop, read) = s.link(|s| (s.nop(), s.pread(&file, &mut chained, 6)));
            (
                nop.wait().map_err(|e| e.to_string()),
                read.wait().map_err(|e| e.to_string()),
            )
        })
    });
    if nop.is_err() || read != Ok(4) || &chained != b"6789" {
        failures.push(format!(
            "timed chain nop → pread: {nop:?} {read:?} {chained:?}"
        ));
    }
    failures
}

// Regression test for the first review, finding 1 (fixed in a3dcc2d).
/// `Config::entries` documents 8 to 32768 entries: asking for 1 gives 8, on which a timed
/// call has room for its linked timeout and leaves nothing behind.
#[test]
fn config_entries_one_gives_the_eight_entry_minimum() {
    in_fresh_process("fresh_config_entries_one", &[]);
}

#[test]
#[ignore = "helper: run in a fresh process by config_entries_one_gives_the_eight_entry_minimum"]
fn fresh_config_entries_one() {
    if !is_fresh("fresh_config_entries_one") {
        return;
    }
    uring_os::configure(Config::default().entries(1)).expect("configured before first use");
    let entries = match ring_entries() {
        Ok(entries) => entries,
        Err(reason) => return fresh_skip(reason),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = smallest_ring_checks(dir.path());
    if entries != 8 {
        failures.insert(
            0,
            format!("Config::default().entries(1) gave a ring of {entries} SQ entries, not 8"),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Regression test for the first review, finding 1 (fixed in a3dcc2d).
/// `URING_OS_ENTRIES=1` must not give a ring too small for an operation and its timeout.
#[test]
fn env_entries_one_gives_no_ring_below_the_minimum() {
    in_fresh_process("fresh_env_entries_one", &[("URING_OS_ENTRIES", "1")]);
}

#[test]
#[ignore = "helper: run in a fresh process by env_entries_one_gives_no_ring_below_the_minimum"]
fn fresh_env_entries_one() {
    if !is_fresh("fresh_env_entries_one") {
        return;
    }
    let entries = match ring_entries() {
        Ok(entries) => entries,
        Err(reason) => return fresh_skip(reason),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = smallest_ring_checks(dir.path());
    if entries < 8 {
        failures.insert(
            0,
            format!("URING_OS_ENTRIES=1 gave a ring of {entries} SQ entries, below the minimum 8"),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
