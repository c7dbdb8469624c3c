//! Integration tests of the low-level `uring_os::ring` API, checked against what the kernel
//! and the direct syscalls do.
//!
//! A test that needs io_uring skips, saying why, where the kernel or a seccomp profile refuses
//! it; a test that needs a newer kernel feature skips the same way where that is missing.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use uring_os::ring::{
    CURRENT_POSITION, Cqe, DeniedBy, MAX_ENTRIES, Ring, SetupError, Sqe, can_emulate, emulate,
    opcode_name,
};
use uring_os::sys::*;

use common::{pattern_bytes, pipe, skip, sys, within};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Whether `err` means this machine refuses io_uring altogether (as opposed to a bug).
fn io_uring_refused(err: &SetupError) -> bool {
    matches!(
        err,
        SetupError::PermissionDenied { .. } | SetupError::KernelTooOld
    )
}

/// Builds a ring, or skips the test where io_uring is refused. Any other setup failure is a
/// bug and fails the test.
macro_rules! ring_or_skip {
    ($test:expr, $build:expr) => {
        match $build {
            Ok(ring) => ring,
            Err(err) if io_uring_refused(&err) => {
                skip($test, format_args!("io_uring is not available here: {err}"));
                return;
            }
            Err(err) => panic!("ring setup failed: {err:?}"),
        }
    };
}

/// Skips the test unless the kernel reports the `IORING_FEAT_*` bit `feature`.
macro_rules! require_feature {
    ($test:expr, $ring:expr, $feature:ident, $kernel:expr) => {
        if $ring.features() & $feature == 0 {
            skip(
                $test,
                format_args!("the kernel lacks {} ({})", stringify!($feature), $kernel),
            );
            return;
        }
    };
}

/// Skips the test unless the kernel supports every opcode listed.
macro_rules! require_opcodes {
    ($test:expr, $ring:expr, $($op:ident),+) => {
        match $ring.probe() {
            Ok(probe) => {
                $(
                    if !probe.is_supported($op) {
                        skip($test, format_args!("the kernel lacks {}", stringify!($op)));
                        return;
                    }
                )+
            }
            Err(err) => {
                skip($test, format_args!("no IORING_REGISTER_PROBE (5.6): {err}"));
                return;
            }
        }
    };
}

/// The next free SQ slot of a ring the test keeps from filling up.
fn sqe(ring: &mut Ring) -> &mut Sqe {
    ring.get_sqe().expect("the test never fills the SQ here")
}

/// Waits for exactly `n` completions and returns them in the order they were copied.
fn wait_cqes(ring: &mut Ring, n: usize) -> Vec<Cqe> {
    let mut out = vec![Cqe::default(); n];
    let copied = ring.copy_cqes(&mut out, n as u32).expect("copy_cqes");
    assert_eq!(
        copied, n,
        "copy_cqes returned fewer completions than it waited for"
    );
    out
}

/// Waits for one completion.
fn wait_cqe(ring: &mut Ring) -> Cqe {
    wait_cqes(ring, 1)[0]
}

/// Runs one NOP through the ring and checks its completion.
fn nop_round_trip(ring: &mut Ring, user_data: u64) {
    sqe(ring).prep_nop().user_data(user_data);
    // SAFETY: a NOP points to no memory.
    let submitted = unsafe { ring.submit() }.expect("submit");
    assert_eq!(submitted, 1);
    assert_eq!(wait_cqe(ring), Cqe::new(user_data, 0, 0));
}

/// A syscall's result as a completion gives it: the count, or `-errno`.
fn as_cqe_result(res: sys::R<usize>) -> i32 {
    match res {
        Ok(n) => n as i32,
        Err(errno) => -errno,
    }
}

/// read(2) on any fd number (also invalid ones), giving what a completion would.
fn direct_read(fd: RawFd, buf: &mut [u8]) -> i32 {
    // SAFETY: `buf` is valid for writes of its length.
    as_cqe_result(sys::cvt(unsafe {
        libc::read(fd, buf.as_mut_ptr().cast(), buf.len())
    }))
}

/// write(2) on any fd number (also invalid ones), giving what a completion would.
fn direct_write(fd: RawFd, buf: &[u8]) -> i32 {
    // SAFETY: `buf` is valid for reads of its length.
    as_cqe_result(sys::cvt(unsafe {
        libc::write(fd, buf.as_ptr().cast(), buf.len())
    }))
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn nop_round_trip_completes_with_zero() {
    let test = "nop_round_trip_completes_with_zero";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    nop_round_trip(&mut ring, 7);
    assert_eq!(ring.cq_ready(), 0, "exactly one completion per NOP");
    assert_eq!(ring.sq_pending(), 0, "the kernel consumed the entry");
}

#[test]
fn pipe_round_trip_matches_direct_syscalls() {
    let test = "pipe_round_trip_matches_direct_syscalls";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    require_opcodes!(test, ring, IORING_OP_READ, IORING_OP_WRITE);
    let (rx, tx) = pipe();

    // Ring write, direct read: the kernel sees exactly the bytes the ring wrote.
    let msg = b"written through the ring";
    sqe(&mut ring)
        .prep_write(
            tx.as_raw_fd(),
            msg.as_ptr(),
            msg.len() as u32,
            CURRENT_POSITION,
        )
        .user_data(1);
    // SAFETY: `msg` is a static, alive until the completion below.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(1, msg.len() as i32, 0));
    let mut direct = [0u8; 64];
    let n = direct_read(rx.as_raw_fd(), &mut direct);
    assert_eq!(&direct[..n as usize], msg);

    // Direct write, ring read.
    let msg = b"written by write(2)";
    assert_eq!(direct_write(tx.as_raw_fd(), msg), msg.len() as i32);
    let mut buf = [0u8; 64];
    sqe(&mut ring)
        .prep_read(
            rx.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len() as u32,
            CURRENT_POSITION,
        )
        .user_data(2);
    // SAFETY: `buf` is alive and not touched until the completion below.
    unsafe { ring.submit() }.expect("submit");
    let cqe = wait_cqe(&mut ring);
    assert_eq!((cqe.user_data(), cqe.result()), (2, msg.len() as i32));
    assert_eq!(&buf[..msg.len()], msg);

    // A read that has to wait: submitted on an empty pipe, completed by a later write.
    sqe(&mut ring)
        .prep_read(
            rx.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len() as u32,
            CURRENT_POSITION,
        )
        .user_data(3);
    // SAFETY: `buf` is alive and not touched until the completion below.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(ring.copy_cqes(&mut [Cqe::default()], 0).unwrap(), 0);
    let msg = b"late";
    assert_eq!(direct_write(tx.as_raw_fd(), msg), msg.len() as i32);
    assert_eq!(wait_cqe(&mut ring), Cqe::new(3, msg.len() as i32, 0));
    assert_eq!(&buf[..msg.len()], msg);

    // End of file once the write end is closed, as read(2) reports it.
    drop(tx);
    sqe(&mut ring)
        .prep_read(
            rx.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len() as u32,
            CURRENT_POSITION,
        )
        .user_data(4);
    // SAFETY: `buf` is alive and not touched until the completion below.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(4, 0, 0));
    assert_eq!(direct_read(rx.as_raw_fd(), &mut buf), 0);
}

#[test]
fn tempfile_round_trip_matches_pread_and_file_position() {
    let test = "tempfile_round_trip_matches_pread_and_file_position";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    require_opcodes!(test, ring, IORING_OP_READ, IORING_OP_WRITE);
    let file = tempfile::tempfile().expect("tempfile");
    let fd = file.as_raw_fd();
    let data = pattern_bytes(3 * 4096 + 100);

    // Positioned write of the whole pattern, checked with pread(2).
    sqe(&mut ring)
        .prep_write(fd, data.as_ptr(), data.len() as u32, 0)
        .user_data(1);
    // SAFETY: `data` outlives the completion below.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(1, data.len() as i32, 0));
    let mut direct = vec![0u8; data.len()];
    file.read_exact_at(&mut direct, 0).expect("pread");
    assert_eq!(direct, data);

    // Positioned reads: a middle slice, a read crossing end of file, one past it.
    for (offset, len) in [(4000u64, 500usize), (12000, 1000), (20000, 10)] {
        let mut buf = vec![0u8; len];
        sqe(&mut ring)
            .prep_read(fd, buf.as_mut_ptr(), len as u32, offset)
            .user_data(offset);
        // SAFETY: `buf` is alive and untouched until the completion below.
        unsafe { ring.submit() }.expect("submit");
        let cqe = wait_cqe(&mut ring);
        let mut expected = vec![0u8; len];
        let n = file.read_at(&mut expected, offset).expect("pread");
        assert_eq!((cqe.user_data(), cqe.result()), (offset, n as i32));
        assert_eq!(buf[..n], expected[..n], "bytes at offset {offset}");
    }

    // CURRENT_POSITION moves the file position as write(2) and read(2) do.
    let other = tempfile::tempfile().expect("tempfile");
    let fd = other.as_raw_fd();
    for i in 0..2u64 {
        sqe(&mut ring)
            .prep_write(fd, data.as_ptr(), 10, CURRENT_POSITION)
            .user_data(i);
    }
    // SAFETY: `data` outlives both completions below.
    unsafe { ring.submit() }.expect("submit");
    let results: Vec<i32> = wait_cqes(&mut ring, 2).iter().map(Cqe::result).collect();
    assert_eq!(results, [10, 10]);
    // SAFETY: lseek takes plain integers.
    assert_eq!(unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) }, 20);
    let mut direct = [0u8; 20];
    other.read_exact_at(&mut direct, 0).expect("pread");
    assert_eq!(direct[..10], data[..10]);
    assert_eq!(direct[10..], data[..10]);
}

// ---------------------------------------------------------------------------------------------
// Queue behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn ten_thousand_nops_through_an_8_entry_ring() {
    const N: usize = 10_000;
    let test = "ten_thousand_nops_through_an_8_entry_ring";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    assert_eq!(ring.sq_entries(), 8);
    let mut seen = vec![false; N];
    let mut cqes = [Cqe::default(); 32];
    let (mut queued, mut reaped, mut sq_full) = (0usize, 0usize, 0usize);
    let deadline = Instant::now() + Duration::from_secs(5);
    while reaped < N {
        assert!(
            Instant::now() < deadline,
            "only {reaped} of {N} NOPs completed"
        );
        if queued < N {
            if let Some(sqe) = ring.get_sqe() {
                sqe.prep_nop().user_data(queued as u64);
                queued += 1;
                continue;
            }
            sq_full += 1;
            assert_eq!(ring.sq_space_left(), 0, "get_sqe said full");
        }
        // The SQ is full, or everything is queued: submit, then reap what is ready.
        // SAFETY: NOPs point to no memory.
        unsafe { ring.submit() }.expect("submit");
        let n = ring.copy_cqes(&mut cqes, 0).expect("copy_cqes");
        for cqe in &cqes[..n] {
            assert_eq!(cqe.result(), 0);
            let id = cqe.user_data() as usize;
            assert!(id < queued, "user_data {id} was never submitted");
            assert!(!seen[id], "user_data {id} completed twice");
            seen[id] = true;
        }
        reaped += n;
    }
    assert!(seen.iter().all(|&s| s), "every NOP completed");
    assert!(
        sq_full >= N / 8 - 1,
        "the full-SQ path ran only {sq_full} times"
    );
    assert_eq!(
        ring.copy_cqes(&mut cqes, 0).unwrap(),
        0,
        "no extra completions"
    );
    assert_eq!(ring.cq_overflow(), 0);
    assert_eq!(ring.sq_dropped(), 0);
}

#[test]
fn completions_beyond_the_cq_size_are_not_lost() {
    within(
        Duration::from_secs(5),
        "copy_cqes(64) on an 8-entry CQ",
        || {
            let test = "completions_beyond_the_cq_size_are_not_lost";
            let mut ring = ring_or_skip!(test, Ring::builder().cq_entries(8).build(8));
            require_feature!(test, ring, IORING_FEAT_NODROP, "5.5");
            assert_eq!((ring.sq_entries(), ring.cq_entries()), (8, 8));

            // 64 NOPs in batches of 8 without reaping: 56 more than the CQ holds.
            for batch in 0..8u64 {
                for i in 0..8 {
                    sqe(&mut ring).prep_nop().user_data(batch * 8 + i);
                }
                // SAFETY: NOPs point to no memory.
                match unsafe { ring.submit() } {
                    Ok(submitted) => assert_eq!(submitted, 8),
                    Err(err) if err.raw_os_error() == Some(libc::EBUSY) => {
                        // Older kernels refuse new work while their overflow list is not empty.
                        return skip(
                            test,
                            "the kernel refuses submissions while the CQ overflows",
                        );
                    }
                    Err(err) => panic!("submit: {err}"),
                }
            }
            assert!(ring.cq_ready() <= 8, "the CQ holds 8; the rest overflowed");

            // copy_cqes flushes the kernel's overflow list as it goes.
            let mut out = [Cqe::default(); 64];
            assert_eq!(ring.copy_cqes(&mut out, 64).expect("copy_cqes"), 64);
            let ids: BTreeSet<u64> = out.iter().map(Cqe::user_data).collect();
            assert_eq!(ids, (0..64).collect::<BTreeSet<u64>>());
            assert!(out.iter().all(|c| c.result() == 0));
            assert_eq!(ring.copy_cqes(&mut out, 0).unwrap(), 0, "nothing extra");
            // The kernel kept every completion, so it dropped none.
            assert_eq!(ring.cq_overflow(), 0);
            // The ring is healthy afterwards.
            nop_round_trip(&mut ring, 99);
        },
    );
}

#[test]
fn copy_cqes_with_nothing_ready_returns_zero_at_once() {
    within(Duration::from_secs(5), "copy_cqes(.., 0)", || {
        let test = "copy_cqes_with_nothing_ready_returns_zero_at_once";
        let mut ring = ring_or_skip!(test, Ring::new(8));
        require_opcodes!(test, ring, IORING_OP_READ);
        let mut out = [Cqe::default(); 8];

        let start = Instant::now();
        assert_eq!(ring.copy_cqes(&mut out, 0).unwrap(), 0, "fresh ring");

        // Something in flight that will not complete yet: a read of an empty pipe.
        let (rx, tx) = pipe();
        let mut buf = [0u8; 8];
        sqe(&mut ring)
            .prep_read(rx.as_raw_fd(), buf.as_mut_ptr(), 8, CURRENT_POSITION)
            .user_data(5);
        // SAFETY: `buf` stays alive and untouched until the read's completion is reaped below.
        unsafe { ring.submit() }.expect("submit");
        assert_eq!(ring.copy_cqes(&mut out, 0).unwrap(), 0, "read in flight");
        assert_eq!(ring.peek_cqe(), None);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "copy_cqes blocked"
        );

        direct_write(tx.as_raw_fd(), b"x");
        assert_eq!(wait_cqe(&mut ring), Cqe::new(5, 1, 0));
        assert_eq!(buf[0], b'x');
    });
}

#[test]
fn peek_cqe_takes_one_ready_completion() {
    let test = "peek_cqe_takes_one_ready_completion";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    for i in 0..3 {
        sqe(&mut ring).prep_nop().user_data(i);
    }
    // SAFETY: NOPs point to no memory.
    unsafe { ring.submit_and_wait(3) }.expect("submit_and_wait");
    assert_eq!(ring.cq_ready(), 3);
    let peeked: Vec<u64> = std::iter::from_fn(|| ring.peek_cqe())
        .map(|c| c.user_data())
        .collect();
    assert_eq!(peeked, [0, 1, 2], "completions in submission order");
    assert_eq!(ring.cq_ready(), 0);
}

#[test]
fn user_data_round_trips_unchanged() {
    let test = "user_data_round_trips_unchanged";
    let mut ring = ring_or_skip!(test, Ring::new(16));
    require_opcodes!(test, ring, IORING_OP_WRITE);
    let values = [
        0,
        1,
        42,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        1 << 63,
        u64::MAX - 1,
        u64::MAX,
    ];
    for &v in &values {
        sqe(&mut ring).prep_nop().user_data(v);
    }
    // A failing entry carries its user_data back too: write(2) to fd -1 is EBADF.
    let byte = [0u8];
    sqe(&mut ring)
        .prep_write(-1, byte.as_ptr(), 1, 0)
        .user_data(0xdead_beef_0000_0001);
    // SAFETY: the NOPs point to no memory and `byte` outlives the completions below.
    let submitted = unsafe { ring.submit() }.expect("submit");
    assert_eq!(submitted as usize, values.len() + 1);

    let cqes = wait_cqes(&mut ring, values.len() + 1);
    let nops: BTreeSet<u64> = cqes
        .iter()
        .filter(|c| c.result() == 0)
        .map(Cqe::user_data)
        .collect();
    assert_eq!(nops, values.into_iter().collect::<BTreeSet<u64>>());
    let failed: Vec<Cqe> = cqes.into_iter().filter(|c| c.result() != 0).collect();
    assert_eq!(failed, [Cqe::new(0xdead_beef_0000_0001, -libc::EBADF, 0)]);
    assert_eq!(direct_write(-1, &byte), -libc::EBADF, "the syscall agrees");
}

#[test]
fn submit_and_wait_timeout_times_out_when_nothing_completes() {
    let test = "submit_and_wait_timeout_times_out_when_nothing_completes";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    require_feature!(test, ring, IORING_FEAT_EXT_ARG, "5.11");

    let start = Instant::now();
    // SAFETY: nothing is queued.
    let err = unsafe { ring.submit_and_wait_timeout(1, Duration::from_millis(50)) }
        .expect_err("nothing can complete");
    let waited = start.elapsed();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
    assert!(
        waited >= Duration::from_millis(40),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "returned after {waited:?}");

    // With a NOP queued it returns at once, having submitted it.
    sqe(&mut ring).prep_nop().user_data(8);
    let start = Instant::now();
    // SAFETY: a NOP points to no memory.
    let submitted = unsafe { ring.submit_and_wait_timeout(1, Duration::from_secs(10)) }
        .expect("the NOP completes");
    assert_eq!(submitted, 1);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(ring.peek_cqe(), Some(Cqe::new(8, 0, 0)));
}

// ---------------------------------------------------------------------------------------------
// Probe and setup errors
// ---------------------------------------------------------------------------------------------

#[test]
fn probe_reports_nop_and_read_like_the_io_uring_crate() {
    let test = "probe_reports_nop_and_read_like_the_io_uring_crate";
    let ring = ring_or_skip!(test, Ring::new(8));
    let probe = match ring.probe() {
        Ok(probe) => probe,
        Err(err) => return skip(test, format_args!("no IORING_REGISTER_PROBE (5.6): {err}")),
    };
    assert!(probe.is_supported(IORING_OP_NOP));
    assert!(probe.is_supported(IORING_OP_READ));
    assert!(probe.last_op() >= IORING_OP_READ);
    assert!(!probe.is_supported(u8::MAX), "no kernel has opcode 255");
    assert_eq!(opcode_name(IORING_OP_NOP), Some("NOP"));
    assert_eq!(opcode_name(IORING_OP_READ), Some("READ"));

    // A second opinion: the io-uring crate's probe of the same kernel.
    let peer = io_uring::IoUring::new(8).expect("io-uring crate ring");
    let mut peer_probe = io_uring::Probe::new();
    peer.submitter()
        .register_probe(&mut peer_probe)
        .expect("io-uring crate probe");
    for op in 0..=u8::MAX {
        assert_eq!(
            probe.is_supported(op),
            peer_probe.is_supported(op),
            "opcode {op} ({:?})",
            opcode_name(op)
        );
    }
    assert_eq!(
        probe.supported().count(),
        (0..=u8::MAX).filter(|&op| probe.is_supported(op)).count()
    );
}

#[test]
fn opcode_names_match_the_kernel_numbers() {
    let table = [
        (IORING_OP_NOP, "NOP"),
        (IORING_OP_READV, "READV"),
        (IORING_OP_WRITEV, "WRITEV"),
        (IORING_OP_FSYNC, "FSYNC"),
        (IORING_OP_POLL_ADD, "POLL_ADD"),
        (IORING_OP_SYNC_FILE_RANGE, "SYNC_FILE_RANGE"),
        (IORING_OP_TIMEOUT, "TIMEOUT"),
        (IORING_OP_ACCEPT, "ACCEPT"),
        (IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"),
        (IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT"),
        (IORING_OP_CONNECT, "CONNECT"),
        (IORING_OP_FALLOCATE, "FALLOCATE"),
        (IORING_OP_OPENAT, "OPENAT"),
        (IORING_OP_CLOSE, "CLOSE"),
        (IORING_OP_STATX, "STATX"),
        (IORING_OP_READ, "READ"),
        (IORING_OP_WRITE, "WRITE"),
        (IORING_OP_FADVISE, "FADVISE"),
        (IORING_OP_SEND, "SEND"),
        (IORING_OP_RECV, "RECV"),
        (IORING_OP_OPENAT2, "OPENAT2"),
        (IORING_OP_SPLICE, "SPLICE"),
        (IORING_OP_SHUTDOWN, "SHUTDOWN"),
        (IORING_OP_RENAMEAT, "RENAMEAT"),
        (IORING_OP_UNLINKAT, "UNLINKAT"),
        (IORING_OP_MKDIRAT, "MKDIRAT"),
        (IORING_OP_SYMLINKAT, "SYMLINKAT"),
        (IORING_OP_LINKAT, "LINKAT"),
        (IORING_OP_SOCKET, "SOCKET"),
        (IORING_OP_FTRUNCATE, "FTRUNCATE"),
        (IORING_OP_BIND, "BIND"),
        (IORING_OP_LISTEN, "LISTEN"),
    ];
    for (op, name) in table {
        assert_eq!(opcode_name(op), Some(name), "opcode {op}");
    }
    assert_eq!(opcode_name(u8::MAX), None);
}

#[test]
fn setup_errors_for_invalid_entry_counts() {
    match Ring::new(0) {
        Err(err @ SetupError::EntriesZero) => {
            assert!(err.to_string().contains("power of two"), "{err}");
        }
        other => panic!("entries 0 gave {other:?}"),
    }
    match Ring::new(3) {
        Err(err @ SetupError::EntriesNotPowerOfTwo(3)) => {
            assert!(err.to_string().contains("try 4"), "{err}");
        }
        other => panic!("entries 3 gave {other:?}"),
    }
    match Ring::new(1 << 20) {
        Err(
            err @ SetupError::EntriesTooLarge {
                entries: 1_048_576,
                max: MAX_ENTRIES,
            },
        ) => {
            assert!(err.to_string().contains("32768"), "{err}");
            assert_eq!(err.raw_os_error(), libc::EINVAL);
            let io_err = io::Error::from(err);
            assert_eq!(io_err.kind(), io::ErrorKind::InvalidInput);
        }
        other => panic!("entries 1<<20 gave {other:?}"),
    }

    // The kernel refuses 0 and too many entries with EINVAL as well (it would round 3 up to 4;
    // the crate asks for an explicit power of two instead).
    let test = "setup_errors_for_invalid_entry_counts (kernel comparison)";
    let ring = ring_or_skip!(test, Ring::new(MAX_ENTRIES));
    assert_eq!(
        ring.sq_entries(),
        MAX_ENTRIES,
        "the limit itself is accepted"
    );
    drop(ring);
    for entries in [0, 1 << 20] {
        let mut params = IoUringParams::default();
        // SAFETY: `params` is a valid, writable IoUringParams for the call; these entry
        // counts make the kernel refuse without creating a ring.
        let res = unsafe { io_uring_setup(entries, &mut params) };
        assert_eq!(res, Err(libc::EINVAL), "io_uring_setup({entries})");
    }
}

#[test]
fn seccomp_refusal_is_permission_denied_by_seccomp() {
    let test = "seccomp_refusal_is_permission_denied_by_seccomp";
    drop(ring_or_skip!(test, Ring::new(2)));
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").unwrap_or_default();
    if !matches!(sysctl.trim(), "" | "0") {
        // With the sysctl set, an EPERM is attributed to it, not to seccomp.
        return skip(
            test,
            format_args!("kernel.io_uring_disabled is {}", sysctl.trim()),
        );
    }
    let code = common::fork::in_child(|| {
        match common::seccomp::forbid_io_uring_setup() {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Unsupported => return 20,
            Err(_) => return 10,
        }
        let mut params = IoUringParams::default();
        // SAFETY: `params` is a valid, writable IoUringParams for the call.
        if unsafe { io_uring_setup(2, &mut params) } != Err(libc::EPERM) {
            return 11; // the filter did not take effect
        }
        match Ring::new(8) {
            Err(
                ref err @ SetupError::PermissionDenied {
                    cause: DeniedBy::Seccomp,
                },
            ) => {
                let message = err.to_string();
                if !message.contains("seccomp") {
                    return 12;
                }
                if err.raw_os_error() != libc::EPERM {
                    return 13;
                }
                0
            }
            Err(_) => 14,
            Ok(_) => 15,
        }
    });
    if code == 20 {
        return skip(test, "the seccomp helper knows only x86_64 and aarch64");
    }
    let meaning = match code {
        0 => "ok",
        10 => "installing the seccomp filter failed",
        11 => "io_uring_setup was not refused with EPERM under the filter",
        12 => "the message does not mention seccomp",
        13 => "raw_os_error is not EPERM",
        14 => "Ring::new failed with another error",
        15 => "Ring::new succeeded under the filter",
        common::fork::CHILD_PANICKED => "the child panicked",
        _ => "the child died",
    };
    assert_eq!(code, 0, "{meaning}");
}

// ---------------------------------------------------------------------------------------------
// Fork and fd footprint
// ---------------------------------------------------------------------------------------------

#[test]
fn fork_child_builds_its_own_ring_while_the_parent_keeps_going() {
    const READ: u64 = u64::MAX;
    const MSG: &[u8] = b"hello from the child's own ring";
    let test = "fork_child_builds_its_own_ring_while_the_parent_keeps_going";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    require_opcodes!(test, ring, IORING_OP_READ, IORING_OP_WRITE);
    nop_round_trip(&mut ring, 1);
    let (rx, tx) = pipe();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let tx_fd = tx.as_raw_fd();

    let child = common::fork::fork_child(move || {
        let mut own = match Ring::new(8) {
            Ok(own) => own,
            Err(_) => return 10,
        };
        if own.owner_pid() == parent {
            return 11;
        }
        own.get_sqe().expect("new ring").prep_nop().user_data(2);
        // SAFETY: a NOP points to no memory.
        if unsafe { own.submit_and_wait(1) }.is_err() || own.peek_cqe() != Some(Cqe::new(2, 0, 0)) {
            return 12;
        }
        own.get_sqe()
            .expect("new ring")
            .prep_write(tx_fd, MSG.as_ptr(), MSG.len() as u32, CURRENT_POSITION)
            .user_data(3);
        // SAFETY: MSG is a static.
        if unsafe { own.submit_and_wait(1) }.is_err()
            || own.peek_cqe() != Some(Cqe::new(3, MSG.len() as i32, 0))
        {
            return 13;
        }
        0
    });
    // The parent's copy of the write end: closed so that a child dying early ends the read.
    drop(tx);

    // The parent reads what the child writes through its own ring, doing NOPs meanwhile.
    let mut buf = [0u8; 64];
    sqe(&mut ring)
        .prep_read(
            rx.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len() as u32,
            CURRENT_POSITION,
        )
        .user_data(READ);
    // SAFETY: `buf` stays alive and untouched until the READ completion is seen below.
    unsafe { ring.submit() }.expect("submit");
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut nops_submitted, mut nops_done, mut read) = (0u64, 0u64, None);
    let mut cqes = [Cqe::default(); 8];
    while read.is_none() || nops_done < nops_submitted {
        assert!(Instant::now() < deadline, "the child's write never arrived");
        if read.is_none() {
            sqe(&mut ring).prep_nop().user_data(nops_submitted);
            nops_submitted += 1;
        }
        // SAFETY: NOPs point to no memory; `buf` is covered above.
        unsafe { ring.submit_and_wait(1) }.expect("submit_and_wait");
        let n = ring.copy_cqes(&mut cqes, 0).expect("copy_cqes");
        for cqe in &cqes[..n] {
            if cqe.user_data() == READ {
                read = Some(cqe.result());
            } else {
                assert_eq!(*cqe, Cqe::new(nops_done, 0, 0), "NOPs complete in order");
                nops_done += 1;
            }
        }
    }
    let status = common::fork::wait_child(child);
    let meaning = match status {
        0 => "ok",
        10 => "the child could not set up a ring",
        11 => "the child's ring claims the parent as owner",
        12 => "the child's NOP failed",
        13 => "the child's write failed",
        common::fork::CHILD_PANICKED => "the child panicked",
        _ => "the child died",
    };
    assert_eq!(status, 0, "{meaning}");
    assert_eq!(read, Some(MSG.len() as i32));
    assert_eq!(&buf[..MSG.len()], MSG);
    assert!(nops_done >= 1);

    // And after the child is gone.
    for i in 0..100 {
        nop_round_trip(&mut ring, 1000 + i);
    }
}

#[test]
fn hidden_ring_takes_no_fd_number() {
    let test = "hidden_ring_takes_no_fd_number";
    let ring = ring_or_skip!(test, Ring::new(2));
    require_feature!(test, ring, IORING_FEAT_REG_REG_RING, "6.3");
    drop(ring);

    // In a single-threaded fork child, so no other test opens fds in between.
    let code = common::fork::in_child(|| {
        let next_fd = || {
            // SAFETY: a static NUL-terminated path; the fd is closed at once.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
            // SAFETY: fd was just opened and is ours.
            unsafe { libc::close(fd) };
            fd
        };
        let before = next_fd();
        let visible = match Ring::new(8) {
            Ok(ring) => ring,
            Err(_) => return 10,
        };
        if visible.fd() != Some(before) || next_fd() == before {
            return 11; // the plain ring should hold the lowest free number
        }
        drop(visible);
        if next_fd() != before {
            return 12;
        }
        let mut hidden = match Ring::builder().hide_fd(true).build(8) {
            Ok(ring) => ring,
            Err(_) => return 13,
        };
        if hidden.fd().is_some() || !hidden.is_ring_fd_registered() {
            return 14;
        }
        if next_fd() != before {
            return 15;
        }
        // Enter and register work through the registered index alone.
        hidden.get_sqe().expect("new ring").prep_nop().user_data(6);
        // SAFETY: a NOP points to no memory.
        if unsafe { hidden.submit_and_wait(1) }.is_err()
            || hidden.peek_cqe() != Some(Cqe::new(6, 0, 0))
        {
            return 16;
        }
        if hidden.probe().is_err() {
            return 17;
        }
        drop(hidden);
        if next_fd() != before {
            return 18;
        }
        0
    });
    let meaning = match code {
        0 => "ok",
        10 | 13 => "ring setup failed in the child",
        11 => "a plain ring does not take the lowest free fd number",
        12 => "dropping a plain ring did not free its fd number",
        14 => "fd() is Some or the ring fd is not registered",
        15 => "the hidden ring takes an fd number",
        16 => "a NOP through the hidden ring failed",
        17 => "probe through the registered index failed",
        18 => "dropping the hidden ring changed the fd numbers",
        common::fork::CHILD_PANICKED => "the child panicked",
        _ => "the child died",
    };
    assert_eq!(code, 0, "{meaning}");
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

#[test]
fn registered_files_serve_fixed_reads() {
    let test = "registered_files_serve_fixed_reads";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    require_opcodes!(test, ring, IORING_OP_READ);
    let data = pattern_bytes(1000);
    let mut file = tempfile::tempfile().expect("tempfile");
    file.write_all(&data).expect("write");
    let mut direct = vec![0u8; 100];
    file.read_exact_at(&mut direct, 250).expect("pread");

    ring.register_files(&[-1, file.as_raw_fd()])
        .expect("register_files");
    // The kernel holds its own reference, so the fd can go.
    drop(file);

    let mut buf = vec![0u8; 100];
    sqe(&mut ring)
        .prep_read(1, buf.as_mut_ptr(), 100, 250)
        .flags(IOSQE_FIXED_FILE)
        .user_data(1);
    // The empty slot fails as a closed fd does.
    let mut spare = [0u8; 1];
    sqe(&mut ring)
        .prep_read(0, spare.as_mut_ptr(), 1, 0)
        .flags(IOSQE_FIXED_FILE)
        .user_data(2);
    // SAFETY: `buf` and `spare` stay alive and untouched until both completions are reaped.
    unsafe { ring.submit() }.expect("submit");
    let mut cqes = wait_cqes(&mut ring, 2);
    cqes.sort_by_key(Cqe::user_data);
    assert_eq!(cqes, [Cqe::new(1, 100, 0), Cqe::new(2, -libc::EBADF, 0)]);
    assert_eq!(buf, direct);
    assert_eq!(buf, data[250..350]);
    ring.unregister_files().expect("unregister_files");
}

#[test]
fn registered_buffers_serve_fixed_writes_and_reads() {
    let test = "registered_buffers_serve_fixed_writes_and_reads";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    let file = tempfile::tempfile().expect("tempfile");
    let fd = file.as_raw_fd();
    // One registered buffer: the first half is written out, the second half read back into.
    let mut buffer = vec![0u8; 8192];
    buffer[..4096].copy_from_slice(&pattern_bytes(4096));
    let iovec = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: `buffer` is neither moved nor freed until unregister_buffers below.
    match unsafe { ring.register_buffers(&[iovec]) } {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::ENOMEM) => {
            return skip(
                test,
                "RLIMIT_MEMLOCK too small to pin the buffer (before 5.12)",
            );
        }
        Err(err) => panic!("register_buffers: {err}"),
    }
    let base = buffer.as_mut_ptr();
    sqe(&mut ring)
        .prep_write_fixed(fd, base, 4096, 100, 0)
        .user_data(1);
    // SAFETY: the registered buffer stays valid until the completion below.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(1, 4096, 0));
    let mut direct = vec![0u8; 4096];
    file.read_exact_at(&mut direct, 100).expect("pread");
    assert_eq!(
        direct,
        pattern_bytes(4096),
        "pwrite(2) would have put the same bytes there"
    );

    // SAFETY: `base + 4096` lies inside the registered buffer, 4096 bytes from its end.
    let second_half = unsafe { base.add(4096) };
    sqe(&mut ring)
        .prep_read_fixed(fd, second_half, 4096, 100, 0)
        .user_data(2);
    // SAFETY: as above; nothing touches `buffer` until the completion.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(2, 4096, 0));

    // An address outside the registered buffer is refused.
    let mut outside = [0u8; 16];
    sqe(&mut ring)
        .prep_read_fixed(fd, outside.as_mut_ptr(), 16, 0, 0)
        .user_data(3);
    // SAFETY: `outside` is alive until the completion; the kernel refuses the entry anyway.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(3, -libc::EFAULT, 0));

    ring.unregister_buffers().expect("unregister_buffers");
    assert_eq!(buffer[4096..], buffer[..4096]);
}

#[test]
fn sparse_table_opens_reads_and_closes_direct_descriptors() {
    let test = "sparse_table_opens_reads_and_closes_direct_descriptors";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    match ring.register_files_sparse(4) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
            return skip(test, "no sparse file registration (5.19)");
        }
        Err(err) => panic!("register_files_sparse: {err}"),
    }
    require_opcodes!(
        test,
        ring,
        IORING_OP_OPENAT,
        IORING_OP_READ,
        IORING_OP_CLOSE
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data");
    let data = pattern_bytes(5000);
    std::fs::write(&path, &data).expect("write");
    let c_path = sys::cpath(&path);

    // Open into whichever slot is free.
    sqe(&mut ring)
        .prep_openat_direct(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::O_RDONLY,
            0,
            IORING_FILE_INDEX_ALLOC,
        )
        .user_data(1);
    // SAFETY: `c_path` outlives the completion below.
    unsafe { ring.submit() }.expect("submit");
    let open = wait_cqe(&mut ring);
    assert_eq!(open.user_data(), 1);
    if open.result() == -libc::EINVAL {
        return skip(test, "no IORING_FILE_INDEX_ALLOC (6.0)");
    }
    assert!((0..4).contains(&open.result()), "slot {}", open.result());
    let slot = open.result() as u32;

    let mut buf = vec![0u8; data.len()];
    sqe(&mut ring)
        .prep_read(slot as RawFd, buf.as_mut_ptr(), buf.len() as u32, 0)
        .flags(IOSQE_FIXED_FILE)
        .user_data(2);
    // SAFETY: `buf` stays alive and untouched until the completion below.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(2, data.len() as i32, 0));
    assert_eq!(buf, std::fs::read(&path).expect("read"));

    sqe(&mut ring).prep_close_direct(slot).user_data(3);
    // SAFETY: a close points to no memory.
    unsafe { ring.submit() }.expect("submit");
    assert_eq!(wait_cqe(&mut ring), Cqe::new(3, 0, 0));

    // The slot is empty now: reading or closing it again fails like a closed fd.
    sqe(&mut ring)
        .prep_read(slot as RawFd, buf.as_mut_ptr(), 1, 0)
        .flags(IOSQE_FIXED_FILE)
        .user_data(4);
    sqe(&mut ring).prep_close_direct(slot).user_data(5);
    // SAFETY: `buf` stays alive and untouched until the completions below.
    unsafe { ring.submit() }.expect("submit");
    let mut cqes = wait_cqes(&mut ring, 2);
    cqes.sort_by_key(Cqe::user_data);
    assert_eq!(
        cqes,
        [Cqe::new(4, -libc::EBADF, 0), Cqe::new(5, -libc::EBADF, 0)]
    );

    // open -> read -> close as one linked submission through a chosen slot.
    let mut buf = vec![0u8; 64];
    sqe(&mut ring)
        .prep_openat_direct(libc::AT_FDCWD, c_path.as_ptr(), libc::O_RDONLY, 0, 2)
        .flags(IOSQE_IO_LINK)
        .user_data(10);
    sqe(&mut ring)
        .prep_read(2, buf.as_mut_ptr(), 64, 100)
        .flags(IOSQE_FIXED_FILE | IOSQE_IO_LINK)
        .user_data(11);
    sqe(&mut ring).prep_close_direct(2).user_data(12);
    // SAFETY: `c_path` and `buf` outlive the three completions below.
    assert_eq!(unsafe { ring.submit() }.expect("submit"), 3);
    let cqes = wait_cqes(&mut ring, 3);
    assert_eq!(
        cqes,
        [Cqe::new(10, 0, 0), Cqe::new(11, 64, 0), Cqe::new(12, 0, 0)]
    );
    assert_eq!(buf, data[100..164]);
}

#[test]
fn registered_eventfd_is_signalled_on_completion() {
    let test = "registered_eventfd_is_signalled_on_completion";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    // SAFETY: eventfd takes plain integers.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    assert!(raw >= 0, "eventfd: {}", io::Error::last_os_error());
    // SAFETY: raw was just created and nothing else owns it.
    let efd = unsafe { OwnedFd::from_raw_fd(raw) };
    let counter = |fd: &OwnedFd| {
        let mut value = [0u8; 8];
        match direct_read(fd.as_raw_fd(), &mut value) {
            8 => Ok(u64::from_ne_bytes(value)),
            err => Err(-err),
        }
    };
    assert_eq!(counter(&efd), Err(libc::EAGAIN), "not signalled yet");

    ring.register_eventfd(efd.as_fd())
        .expect("register_eventfd");
    nop_round_trip(&mut ring, 1);
    let count = counter(&efd).expect("signalled by the completion");
    assert!(count >= 1);
    assert_eq!(counter(&efd), Err(libc::EAGAIN), "read resets it");

    ring.unregister_eventfd().expect("unregister_eventfd");
    nop_round_trip(&mut ring, 2);
    assert_eq!(
        counter(&efd),
        Err(libc::EAGAIN),
        "no signal once unregistered"
    );
}

// ---------------------------------------------------------------------------------------------
// Emulation: the same entry as a direct syscall
// ---------------------------------------------------------------------------------------------

/// Runs the entry `prep` fills through the ring, then a copy of it, changed by `retarget`
/// (to point a buffer the kernel writes elsewhere), through [`emulate`]. Returns both results.
///
/// # Safety
/// The memory both entries point to must be valid for them (see [`Sqe`]) for the whole call.
unsafe fn ring_and_emulated(
    ring: &mut Ring,
    prep: impl FnOnce(&mut Sqe),
    retarget: impl FnOnce(&mut IoUringSqe),
) -> (i32, i32) {
    let sqe = sqe(ring);
    prep(sqe);
    sqe.user_data(77);
    let mut raw = *sqe.as_raw();
    assert!(can_emulate(&raw));
    // SAFETY: the caller keeps the entry's memory valid until this returns.
    unsafe { ring.submit() }.expect("submit");
    let cqe = wait_cqe(ring);
    assert_eq!(cqe.user_data(), 77);
    retarget(&mut raw);
    // SAFETY: as above.
    let emulated = unsafe { emulate(&raw) };
    (cqe.result(), emulated)
}

#[test]
fn emulate_gives_the_same_answer_as_the_ring() {
    let test = "emulate_gives_the_same_answer_as_the_ring";
    let mut ring = ring_or_skip!(test, Ring::new(8));
    require_opcodes!(
        test,
        ring,
        IORING_OP_READ,
        IORING_OP_WRITE,
        IORING_OP_OPENAT,
        IORING_OP_STATX
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data");
    let data = pattern_bytes(300);
    std::fs::write(&path, &data).expect("write");
    let file = File::open(&path).expect("open");
    let fd = file.as_raw_fd();

    // NOP.
    // SAFETY: a NOP points to no memory.
    let results = unsafe {
        ring_and_emulated(
            &mut ring,
            |s| {
                s.prep_nop();
            },
            |_| {},
        )
    };
    assert_eq!(results, (0, 0));

    // A positioned read: same count, same bytes. A read's buffer is the entry's `addr`.
    let mut from_ring = [0u8; 50];
    let mut emulated = [0u8; 50];
    let (ring_buf, emulated_buf) = (from_ring.as_mut_ptr(), emulated.as_mut_ptr());
    // SAFETY: both buffers are alive and untouched during the call.
    let results = unsafe {
        ring_and_emulated(
            &mut ring,
            |s| {
                s.prep_read(fd, ring_buf, 50, 10);
            },
            |raw| raw.addr = emulated_buf as u64,
        )
    };
    assert_eq!(results, (50, 50));
    assert_eq!(from_ring, emulated);
    assert_eq!(from_ring[..], data[10..60]);

    // openat of a missing path.
    let missing = sys::cpath(&dir.path().join("missing"));
    // SAFETY: `missing` outlives the call.
    let results = unsafe {
        ring_and_emulated(
            &mut ring,
            |s| {
                s.prep_openat(libc::AT_FDCWD, missing.as_ptr(), libc::O_RDONLY, 0);
            },
            |_| {},
        )
    };
    assert_eq!(results, (-libc::ENOENT, -libc::ENOENT));

    // A write to a descriptor that is not open.
    let bytes = b"nowhere";
    // SAFETY: `bytes` is a static.
    let results = unsafe {
        ring_and_emulated(
            &mut ring,
            |s| {
                s.prep_write(1 << 20, bytes.as_ptr(), 7, CURRENT_POSITION);
            },
            |_| {},
        )
    };
    assert_eq!(results, (-libc::EBADF, -libc::EBADF));
    assert_eq!(
        direct_write(1 << 20, bytes),
        -libc::EBADF,
        "the syscall agrees"
    );

    // statx of the file: both succeed and see the same size and inode. The statx buffer is the
    // entry's `off` (addr2).
    let c_file = sys::cpath(&path);
    let mut stx_ring = zeroed_statx();
    let mut stx_emulated = zeroed_statx();
    let (ring_stx, emulated_stx): (*mut libc::statx, *mut libc::statx) =
        (&mut stx_ring, &mut stx_emulated);
    // SAFETY: `c_file` and both statx buffers outlive the call.
    let results = unsafe {
        ring_and_emulated(
            &mut ring,
            |s| {
                s.prep_statx(
                    libc::AT_FDCWD,
                    c_file.as_ptr(),
                    0,
                    libc::STATX_BASIC_STATS,
                    ring_stx,
                );
            },
            |raw| raw.off = emulated_stx as u64,
        )
    };
    assert_eq!(results, (0, 0));
    assert_eq!(stx_ring.stx_size, data.len() as u64);
    assert_eq!(stx_ring.stx_size, stx_emulated.stx_size);
    assert_eq!(stx_ring.stx_ino, stx_emulated.stx_ino);
    assert_eq!(stx_ring.stx_mode, stx_emulated.stx_mode);

    // A fixed-file entry cannot run as a syscall; emulate refuses it with EINVAL.
    let sqe = sqe(&mut ring);
    sqe.prep_nop().flags(IOSQE_FIXED_FILE);
    let raw = *sqe.as_raw();
    assert!(!can_emulate(&raw));
    // SAFETY: emulate refuses the entry before reading any pointer.
    assert_eq!(unsafe { emulate(&raw) }, -libc::EINVAL);
}

/// An all-zero `statx`, for statx(2) to fill.
fn zeroed_statx() -> libc::statx {
    // SAFETY: statx is plain integers, for which all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}
