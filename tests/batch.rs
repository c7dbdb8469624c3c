//! Batch scopes: `uring_os::batch`, `Handle::wait` and `Batch::{submit, link, drain,
//! read_file, window}`, checked against what std and the direct syscalls do, on the ring and
//! on the syscall fallback.
//!
//! A test whose point is the ring (cancelling a blocked pipe read) skips, saying why, where
//! io_uring is refused or disabled (`URING_OS=off`); every other test runs either way.
//! Elsewhere: timeouts in a batch in `timeouts.rs`, forks inside a scope in
//! `fork_and_signals.rs`, a batch without io_uring in `fallback.rs`, and the fd footprint of
//! `read_file` in `fds.rs`.
//!
//! Some tests isolate themselves: a fresh process ([`common::fresh`]) where they need a
//! process-wide setting, a fork child ([`common::fork`]) where they refuse io_uring with
//! seccomp.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, AsRawFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::fork::{CHILD_LIMIT, alarm, in_child_reporting, prepare_fork};
use common::fresh::{fresh_skip, in_fresh_process, is_fresh};
use common::seccomp::refuse_io_uring;
use common::{
    Watchdog, assert_pipe_unread, errno, errno_text, outcome, pipe, record, records_file,
    ring_entries, rw_file, skip, sys, within,
};
use uring_os::{Backend, CWD};

/// Leaks a handle with `mem::forget`: the scope, not the handle, must see its operation
/// through. (Handle has no `Drop` today; leaking must stay sound should it get one.)
#[allow(clippy::forget_non_drop, reason = "leaks on purpose")]
fn leak<T>(handle: uring_os::Handle<'_, T>) {
    std::mem::forget(handle);
}

// ---------------------------------------------------------------------------------------------
// Many operations, small ring
// ---------------------------------------------------------------------------------------------

#[test]
fn five_thousand_preads_waited_in_reverse_order() {
    const N: usize = 5000;
    if let Backend::IoUring { entries, .. } = uring_os::status().backend {
        assert!(
            2 * (entries as usize) < N,
            "the ring ({entries} SQ entries) must hold far fewer than {N} operations"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = records_file(&dir.path().join("records"), N);
    // Handle k reads record (k * 7919) % N: every record once, in a scrambled order.
    let which = |k: usize| (k * 7919) % N;
    let mut bufs = vec![[0u8; 8]; N];
    let results: Vec<io::Result<usize>> = uring_os::batch(|s| {
        let handles: Vec<_> = bufs
            .iter_mut()
            .enumerate()
            .map(|(k, buf)| s.pread(&file, buf, (which(k) * 8) as u64))
            .collect();
        handles.into_iter().rev().map(|h| h.wait()).collect()
    });
    assert_eq!(results.len(), N);
    for (k, res) in results.iter().rev().enumerate() {
        assert_eq!(res.as_ref().ok(), Some(&8), "pread {k}: {res:?}");
    }
    let distinct: HashSet<usize> = (0..N).map(which).collect();
    assert_eq!(distinct.len(), N, "every record read once");
    for (k, buf) in bufs.iter().enumerate() {
        assert_eq!(*buf, record(which(k)), "pread {k} read the wrong bytes");
    }
}

#[test]
fn sixty_four_pwrites_land_at_their_offsets() {
    const N: usize = 64;
    const LEN: usize = 41; // not a power of two: records straddle pages and sectors
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    let content = |i: usize| -> Vec<u8> { (0..LEN).map(|j| (i * 31 + j * 7 + 1) as u8).collect() };
    let chunks: Vec<Vec<u8>> = (0..N).map(content).collect();
    let results: Vec<io::Result<usize>> = uring_os::batch(|s| {
        // Queued in a scrambled order of offsets (13 is coprime with 64).
        let handles: Vec<_> = (0..N)
            .map(|k| (k * 13) % N)
            .map(|i| s.pwrite(&file, &chunks[i], (i * LEN) as u64))
            .collect();
        handles.into_iter().map(|h| h.wait()).collect()
    });
    for (k, res) in results.iter().enumerate() {
        assert_eq!(res.as_ref().ok(), Some(&LEN), "pwrite {k}: {res:?}");
    }
    assert_eq!(fs::read(&path).unwrap(), chunks.concat());
}

// ---------------------------------------------------------------------------------------------
// Leaked and unwaited handles
// ---------------------------------------------------------------------------------------------

#[test]
fn leaked_and_unwaited_handles_are_completed_by_scope_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    let src = records_file(&dir.path().join("src"), 4);
    let mut dropped_buf = [0u8; 8];
    let mut unwaited_buf = [0u8; 8];
    uring_os::batch(|s| {
        leak(s.pwrite(&file, b"leaked!!", 0));
        drop(s.pwrite(&file, b"dropped!", 8));
        let _unwaited = s.pwrite(&file, b"unwaited", 16);
        drop(s.pread(&src, &mut dropped_buf, 8));
        leak(s.pread(&src, &mut unwaited_buf, 24));
    });
    assert_eq!(fs::read(&path).unwrap(), b"leaked!!dropped!unwaited");
    assert_eq!(dropped_buf, record(1), "the dropped read ran");
    assert_eq!(unwaited_buf, record(3), "the leaked read ran");
}

/// The scope, not a handle, waits: a leaked read of a pipe that gets its data only later
/// keeps the scope from returning until the data arrived and landed in the buffer.
#[test]
fn scope_end_waits_for_a_leaked_read_that_completes_later() {
    let (reader, writer) = pipe();
    let wrote = Arc::new(AtomicBool::new(false));
    // Started first: without a ring the read runs (and blocks) when it is queued.
    let late_writer = {
        let wrote = Arc::clone(&wrote);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            wrote.store(true, Ordering::SeqCst);
            assert_eq!(sys::write(writer.as_fd(), b"late").unwrap(), 4);
            writer
        })
    };
    let mut buf = [0u8; 4];
    let returned_after_write = within(Duration::from_secs(10), "the scope", move || {
        uring_os::batch(|s| {
            leak(s.read(&reader, &mut buf));
            s.submit();
        });
        (wrote.load(Ordering::SeqCst), buf)
    });
    let _writer = late_writer.join().unwrap();
    assert!(
        returned_after_write.0,
        "the scope returned before the leaked read's data was written"
    );
    assert_eq!(&returned_after_write.1, b"late");
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn pwrite_on_a_read_only_fd_is_ebadf_like_libc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro");
    fs::write(&path, b"original").unwrap();
    let ro = File::open(&path).unwrap();
    let res = uring_os::batch(|s| s.pwrite(&ro, b"changed!", 0).wait());
    // SAFETY: the buffer is valid for reads of 8 bytes for the call.
    let direct = unsafe { libc::pwrite(ro.as_raw_fd(), b"changed!".as_ptr().cast(), 8, 0) };
    assert_eq!(direct, -1);
    let direct_errno = io::Error::last_os_error().raw_os_error();
    assert_eq!(direct_errno, Some(libc::EBADF));
    assert_eq!(errno(&res), direct_errno, "{res:?}");
    assert_eq!(fs::read(&path).unwrap(), b"original");
}

/// Every operation of a scope has its own result: successes and failures side by side, each
/// failure with the errno the direct syscall gives.
#[test]
fn errors_are_per_operation() {
    let dir = tempfile::tempdir().unwrap();
    let dir_fd = File::open(dir.path()).unwrap();
    let data = records_file(&dir.path().join("data"), 4);
    let ro = File::open(dir.path().join("data")).unwrap();
    let mut ok_buf = [0u8; 8];
    let mut eof_buf = [0u8; 8];
    let mut ok2_buf = [0u8; 8];
    let out = uring_os::batch(|s| {
        let read = s.pread(&data, &mut ok_buf, 8);
        let badf = s.pwrite(&ro, b"x", 0);
        let noent = s.openat(&dir_fd, "missing", libc::O_RDONLY | libc::O_CLOEXEC, 0);
        let size = s.statx(&dir_fd, "data", 0, libc::STATX_SIZE);
        let exist = s.mkdirat(&dir_fd, "data", 0o755);
        let nop = s.nop();
        let unlink = s.unlinkat(&dir_fd, "missing", 0);
        let notdir = s.openat(
            &dir_fd,
            "data",
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        );
        let eof = s.pread(&data, &mut eof_buf, 1 << 20);
        let read2 = s.pread(&data, &mut ok2_buf, 24);
        // Waited in an order unrelated to the queueing.
        let notdir = notdir.wait();
        let read2 = read2.wait();
        let nop = nop.wait();
        let badf = badf.wait();
        (
            read.wait(),
            badf,
            noent.wait(),
            size.wait(),
            exist.wait(),
            nop,
            unlink.wait(),
            notdir,
            eof.wait(),
            read2,
        )
    });
    let (read, badf, noent, size, exist, nop, unlink, notdir, eof, read2) = out;
    assert_eq!(read.unwrap(), 8);
    assert_eq!(ok_buf, record(1));
    assert_eq!(errno(&badf), Some(libc::EBADF));
    assert_eq!(errno(&noent), Some(libc::ENOENT));
    assert_eq!(size.unwrap().stx_size, 32);
    assert_eq!(errno(&exist), Some(libc::EEXIST));
    nop.unwrap();
    assert_eq!(errno(&unlink), Some(libc::ENOENT));
    assert_eq!(errno(&notdir), Some(libc::ENOTDIR));
    assert_eq!(eof.unwrap(), 0, "a pread past EOF reads nothing");
    assert_eq!(read2.unwrap(), 8);
    assert_eq!(ok2_buf, record(3));
}

/// pread and pwrite on a pipe fail with ESPIPE, as pread(2) and pwrite(2) do, in a batch and
/// as blocking calls.
#[test]
fn pread_and_pwrite_on_a_pipe_are_espipe_like_libc() {
    let (pipe_r, pipe_w) = pipe();
    // Data in the pipe, so a pread that wrongly reads the pipe shows instead of blocking.
    sys::write(pipe_w.as_fd(), b"pipe data").unwrap();
    let mut direct_buf = [0u8; 4];
    // SAFETY: the buffer is valid for writes of 4 bytes for the call.
    let direct = unsafe { libc::pread(pipe_r.as_raw_fd(), direct_buf.as_mut_ptr().cast(), 4, 0) };
    assert_eq!(direct, -1);
    assert_eq!(
        io::Error::last_os_error().raw_os_error(),
        Some(libc::ESPIPE)
    );
    // SAFETY: the buffer is valid for reads of 4 bytes for the call.
    let direct = unsafe { libc::pwrite(pipe_w.as_raw_fd(), b"more".as_ptr().cast(), 4, 0) };
    assert_eq!(direct, -1);
    assert_eq!(
        io::Error::last_os_error().raw_os_error(),
        Some(libc::ESPIPE)
    );
    let mut batch_buf = [0u8; 4];
    let (batch_read, batch_write) = uring_os::batch(|s| {
        let r = s.pread(&pipe_r, &mut batch_buf, 0);
        let w = s.pwrite(&pipe_w, b"more", 0);
        (r.wait(), w.wait())
    });
    let mut blocking_buf = [0u8; 4];
    let blocking_read = uring_os::pread(&pipe_r, &mut blocking_buf, 0);
    let blocking_write = uring_os::pwrite(&pipe_w, b"more", 0);
    let all = [
        ("batch pread", batch_read, batch_buf),
        ("batch pwrite", batch_write, [0; 4]),
        ("pread", blocking_read, blocking_buf),
        ("pwrite", blocking_write, [0; 4]),
    ];
    let wrong: Vec<String> = all
        .into_iter()
        .filter(|(_, res, _)| {
            res.as_ref().err().and_then(io::Error::raw_os_error) != Some(libc::ESPIPE)
        })
        .map(|(what, res, buf)| format!("{what}: {res:?} ({:?})", String::from_utf8_lossy(&buf)))
        .collect();
    assert!(
        wrong.is_empty(),
        "on a pipe these must fail with ESPIPE as the syscalls do: {wrong:?}"
    );
}

/// A path with a NUL byte cannot reach the kernel: the method gives a handle that fails with
/// `InvalidInput`, and the scope's other operations are unaffected.
#[test]
fn paths_with_nul_give_failed_handles_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let dir_fd = File::open(dir.path()).unwrap();
    let data = records_file(&dir.path().join("data"), 2);
    let bad = "bad\0name";
    let mut file_buf = [0u8; 8];
    let mut read_buf = [0u8; 8];
    let results = uring_os::batch(|s| {
        let handles = vec![
            s.open(bad, libc::O_RDONLY, 0).wait().map(drop),
            s.openat(&dir_fd, bad, libc::O_RDONLY, 0).wait().map(drop),
            s.statx(&dir_fd, bad, 0, libc::STATX_SIZE).wait().map(drop),
            s.mkdirat(&dir_fd, bad, 0o755).wait(),
            s.unlinkat(&dir_fd, bad, 0).wait(),
            s.renameat(&dir_fd, "data", &dir_fd, bad, 0).wait(),
            s.renameat(&dir_fd, bad, &dir_fd, "other", 0).wait(),
            s.symlinkat(bad, &dir_fd, "link").wait(),
            s.symlinkat("data", &dir_fd, bad).wait(),
            s.linkat(&dir_fd, "data", &dir_fd, bad, 0).wait(),
            s.read_file(&dir_fd, bad, &mut file_buf).wait().map(drop),
        ];
        let good = s.pread(&data, &mut read_buf, 8).wait();
        (handles, good)
    });
    let (handles, good) = results;
    for (i, res) in handles.iter().enumerate() {
        match res {
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "call {i}: {e}"),
            Ok(()) => panic!("call {i} with a NUL in its path succeeded"),
        }
    }
    assert_eq!(good.unwrap(), 8);
    assert_eq!(read_buf, record(1));
    // Nothing was created or renamed.
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["data"]);
}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

/// A panic inside a scope with reads blocked on an empty pipe unwinds at once: the scope
/// cancels them and reaps them before unwinding on, and afterwards nothing of ours reads the
/// pipe any more. A hundred reads plus their cancels complete more entries than the CQ holds.
#[test]
fn panic_in_a_scope_cancels_blocked_reads_and_unwinds_promptly() {
    const READS: usize = 100;
    require_ring!("panic_in_a_scope_cancels_blocked_reads_and_unwinds_promptly");
    let (reader, writer) = pipe();
    let (reader2, writer2) = pipe();
    // If the unwinding hangs, the watchdog's bytes complete the reads, so the test fails on
    // the time bound instead of hanging.
    let watchdog = Watchdog::new(
        Duration::from_secs(2),
        &[(writer.as_fd(), &[b'W'; READS]), (writer2.as_fd(), b"W")],
    );
    let mut bufs = [[0u8; 1]; READS];
    let mut buf2 = [0u8; 1];
    let start = Instant::now();
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        uring_os::batch(|s| {
            for buf in bufs.iter_mut() {
                let _ = s.read(&reader, buf);
            }
            let _waited_never = s.read(&reader2, &mut buf2);
            s.submit();
            // Let the reads reach the kernel and block there.
            thread::sleep(Duration::from_millis(20));
            panic!("boom in the scope");
        })
    }));
    let elapsed = start.elapsed();
    watchdog.stop();
    let payload = res.expect_err("the panic propagates out of batch");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in the scope"));
    assert!(
        elapsed < Duration::from_secs(2),
        "unwinding out of the scope took {elapsed:?}"
    );
    assert!(bufs.iter().all(|b| b[0] == 0), "no read got data");
    assert_eq!(buf2[0], 0);
    assert_pipe_unread(reader.as_fd(), writer.as_fd());
    assert_pipe_unread(reader2.as_fd(), writer2.as_fd());
    // The thread's ring still works, in and out of scopes.
    let mut buf = [0u8; 2];
    sys::write(writer.as_fd(), b"ok").unwrap();
    assert_eq!(
        uring_os::batch(|s| s.read(&reader, &mut buf).wait()).unwrap(),
        2
    );
    assert_eq!(&buf, b"ok");
}

/// A panic inside `link` (with part of the chain queued) still starts and reaps the chain.
#[test]
fn panic_inside_link_still_runs_and_reaps_the_queued_part() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        uring_os::batch(|s| {
            s.link(|s| {
                let _ = s.pwrite(&file, b"first", 0);
                let _ = s.pwrite(&file, b"second", 5);
                panic!("boom in the chain");
            })
        })
    }));
    assert!(res.is_err());
    // The entries were queued before the panic: the scope started and reaped them (it may
    // as well not have run them at all, but nothing may run after the scope).
    let after_scope = fs::read(&path).unwrap();
    thread::sleep(Duration::from_millis(20));
    uring_os::nop().unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        after_scope,
        "a write ran after the scope"
    );
    assert!(
        after_scope.is_empty() || after_scope == b"firstsecond",
        "unexpected content {after_scope:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Linked chains
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failing_link_cancels_the_rest_of_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro");
    fs::write(&path, b"original").unwrap();
    let ro = File::open(&path).unwrap();
    let rw = OpenOptions::new().write(true).open(&path).unwrap();
    let mut buf = [0u8; 8];
    let (write, sync, read, write2, after) = uring_os::batch(|s| {
        let (write, sync, read, write2) = s.link(|s| {
            (
                s.pwrite(&ro, b"changed!", 0),
                s.fsync(&ro),
                s.pread(&ro, &mut buf, 0),
                s.pwrite(&rw, b"CHANGED!", 0),
            )
        });
        // Not part of the chain: runs normally.
        let after = s.fsync(&rw);
        (
            write.wait(),
            sync.wait(),
            read.wait(),
            write2.wait(),
            after.wait(),
        )
    });
    assert_eq!(errno(&write), Some(libc::EBADF));
    assert_eq!(errno(&sync), Some(libc::ECANCELED));
    assert_eq!(errno(&sync), Some(125));
    assert_eq!(errno(&read), Some(libc::ECANCELED));
    assert_eq!(errno(&write2), Some(libc::ECANCELED));
    assert_eq!(buf, [0; 8], "the cancelled read did not run");
    after.unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        b"original",
        "the cancelled write did not run"
    );
}

/// Chains run in order: overlapping writes land in chain order, and a read at the end of a
/// chain sees them. Fifty chains in one scope, each on its own region.
#[test]
fn a_successful_chain_runs_in_order() {
    const CHAINS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    let firsts: Vec<Vec<u8>> = (0..CHAINS)
        .map(|i| format!("first write of chain {i:04}!").into_bytes())
        .collect();
    let seconds: Vec<Vec<u8>> = (0..CHAINS)
        .map(|i| format!("SECOND {i:04}").into_bytes())
        .collect();
    const REGION: usize = 64;
    let mut bufs = vec![[0u8; REGION]; CHAINS];
    let results = uring_os::batch(|s| {
        let chains: Vec<_> = bufs
            .iter_mut()
            .enumerate()
            .map(|(i, buf)| {
                let off = (i * REGION) as u64;
                s.link(|s| {
                    (
                        s.pwrite(&file, &firsts[i], off),
                        s.pwrite(&file, &seconds[i], off + 6),
                        s.fdatasync(&file),
                        s.pread(&file, buf, off),
                    )
                })
            })
            .collect();
        chains
            .into_iter()
            .map(|(a, b, c, d)| (a.wait(), b.wait(), c.wait(), d.wait()))
            .collect::<Vec<_>>()
    });
    for (i, (a, b, c, d)) in results.into_iter().enumerate() {
        assert_eq!(a.unwrap(), firsts[i].len(), "chain {i}");
        assert_eq!(b.unwrap(), seconds[i].len(), "chain {i}");
        c.unwrap();
        let mut expected = firsts[i].clone();
        expected[6..6 + seconds[i].len()].copy_from_slice(&seconds[i]);
        let n = d.unwrap();
        assert!(n >= expected.len(), "chain {i}: the read got {n} bytes");
        assert_eq!(
            &bufs[i][..expected.len()],
            &expected[..],
            "chain {i}: the read did not see both writes in order"
        );
    }
}

/// Waiting a handle of the chain inside `link` sends the chain so far; the result is right.
#[test]
fn waiting_inside_link_runs_the_chain_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    let mut buf = [0u8; 5];
    let (w, r) = uring_os::batch(|s| {
        s.link(|s| {
            let w = s.pwrite(&file, b"hello", 0).wait();
            let r = s.pread(&file, &mut buf, 0).wait();
            (w, r)
        })
    });
    assert_eq!(w.unwrap(), 5);
    assert_eq!(r.unwrap(), 5);
    assert_eq!(&buf, b"hello");
}

/// `read_file` inside `link` must not drop the operations queued in the chain before it.
#[test]
fn read_file_inside_link_keeps_the_chain_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    fs::write(dir.path().join("small"), b"small").unwrap();
    let dir_fd = File::open(dir.path()).unwrap();
    let file = rw_file(&path);
    let mut buf = [0u8; 8];
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        uring_os::batch(|s| {
            s.link(|s| {
                let w = s.pwrite(&file, b"before", 0);
                let r = s.read_file(&dir_fd, "small", &mut buf);
                (
                    w.wait().map_err(|e| e.to_string()),
                    r.wait().map_err(|e| e.to_string()),
                )
            })
        })
    }));
    let (w, r) = res.expect("waiting the handles must not panic");
    assert_eq!(w, Ok(6));
    assert_eq!(r, Ok(5));
    assert_eq!(
        fs::read(&path).unwrap(),
        b"before",
        "the write queued before read_file ran"
    );
}

// ---------------------------------------------------------------------------------------------
// First review, finding 4: A path with a NUL inside a link chain run as syscalls
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: the failed conversion's entry was overwritten with ECANCELED when an earlier
// entry of the chain failed, and waiting it hit `unreachable!` (a panic).

/// Two chains with a NUL in a path, as outcome lists, and what the file they would have
/// written holds afterwards.
fn nul_in_chains(dir: &Path) -> Result<String, String> {
    let target = dir.join("target");
    let file = rw_file(&target);
    fs::write(&target, b"untouched").map_err(|e| e.to_string())?;
    let missing = dir.join("missing").join("x");
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        uring_os::batch(|s| {
            let (a, b, c, d) = s.link(|s| {
                (
                    s.nop(),
                    s.unlinkat(CWD, "a\0b", 0),
                    s.nop(),
                    s.pwrite(&file, b"CHANGED", 0),
                )
            });
            let first = [
                outcome(&a.wait()),
                outcome(&b.wait()),
                outcome(&c.wait()),
                outcome(&d.wait()),
            ];
            // An entry that fails before the one with the NUL.
            let (a, b, c) = s.link(|s| {
                (
                    s.openat(CWD, &missing, libc::O_RDONLY | libc::O_CLOEXEC, 0),
                    s.mkdirat(CWD, "a\0b", 0o755),
                    s.pwrite(&file, b"CHANGED", 0),
                )
            });
            let second = [outcome(&a.wait()), outcome(&b.wait()), outcome(&c.wait())];
            format!("{first:?} {second:?}")
        })
    }))
    .map_err(|_| "waiting a chain with a NUL in a path panicked".to_string())?;
    let content = fs::read(&target).map_err(|e| e.to_string())?;
    Ok(format!(
        "{res} file: {:?}",
        String::from_utf8_lossy(&content)
    ))
}

fn nul_in_chains_expected() -> String {
    let (nul, canceled) = ("InvalidInput".to_string(), errno_text(libc::ECANCELED));
    let first = [
        "ok".to_string(),
        nul.clone(),
        canceled.clone(),
        canceled.clone(),
    ];
    let second = [errno_text(libc::ENOENT), nul, canceled];
    format!("{first:?} {second:?} file: \"untouched\"")
}

// Regression test for the first review, finding 4 (fixed in a3dcc2d).
#[test]
fn nul_in_a_chain_fails_that_op_and_cancels_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // A chain holding a failed conversion runs as syscalls even where there is a ring.
    let here = nul_in_chains(dir.path());
    let child_dir = dir.path().join("child");
    fs::create_dir(&child_dir).unwrap();
    prepare_fork();
    let refused = in_child_reporting(CHILD_LIMIT, || {
        if !refuse_io_uring()? {
            return Ok("unsupported".into());
        }
        nul_in_chains(&child_dir)
    });
    let expected = nul_in_chains_expected();
    assert_eq!(here, Ok(expected.clone()), "this thread");
    match refused {
        Ok(text) if text == "unsupported" => skip(
            "nul_in_a_chain_fails_that_op_and_cancels_the_rest",
            "no seccomp filter for this architecture",
        ),
        other => assert_eq!(other, Ok(expected), "io_uring refused"),
    }
}

// ---------------------------------------------------------------------------------------------
// First review, finding 7: sleep in a link chain
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: the sleep's expiry (-ETIME) counted as a failure, so the entries linked
// after it were always cancelled, on the ring and in the syscall fallback.

fn sleep_then_write(path: &Path) -> Result<String, String> {
    let file = rw_file(path);
    let (slept, wrote) = uring_os::batch(|s| {
        let (slept, wrote) = s.link(|s| {
            (
                s.sleep(Duration::from_millis(20)),
                s.pwrite(&file, b"after the sleep", 0),
            )
        });
        (
            outcome(&slept.wait()),
            wrote.wait().map_err(|e| e.to_string()),
        )
    });
    let content = fs::read(path).map_err(|e| e.to_string())?;
    ensure!(
        slept == "ok" && wrote == Ok(15) && content == b"after the sleep",
        "sleep {slept}, write {wrote:?}, file {:?}",
        String::from_utf8_lossy(&content)
    );
    Ok(String::new())
}

// Regression test for the first review, finding 7 (fixed in a3dcc2d).
#[test]
fn sleep_in_a_chain_lets_the_next_entry_run_on_the_ring() {
    require_ring!("sleep_in_a_chain_lets_the_next_entry_run_on_the_ring");
    let dir = tempfile::tempdir().unwrap();
    sleep_then_write(&dir.path().join("f")).unwrap();
}

// Regression test for the first review, finding 7 (fixed in a3dcc2d).
#[test]
fn sleep_in_a_chain_lets_the_next_entry_run_without_io_uring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    prepare_fork();
    let res = in_child_reporting(CHILD_LIMIT, || {
        if !refuse_io_uring()? {
            return Ok("unsupported".into());
        }
        sleep_then_write(&path)
    });
    match res {
        Ok(text) if text == "unsupported" => skip(
            "sleep_in_a_chain_lets_the_next_entry_run_without_io_uring",
            "no seccomp filter for this architecture",
        ),
        other => other.map(drop).unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Drain
// ---------------------------------------------------------------------------------------------

/// `drain()` makes the next operation wait for everything queued before it: a pread after a
/// drain always sees the pwrites before it. Repeated with fresh content each round.
#[test]
fn drain_orders_an_operation_after_everything_before_it() {
    const WRITES: usize = 16;
    const CHUNK: usize = 4096;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    for round in 0..20u8 {
        let chunks: Vec<Vec<u8>> = (0..WRITES)
            .map(|i| vec![round.wrapping_mul(17).wrapping_add(i as u8 + 1); CHUNK])
            .collect();
        let mut back = vec![0u8; WRITES * CHUNK];
        let (writes, read) = uring_os::batch(|s| {
            let writes: Vec<_> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| s.pwrite(&file, c, (i * CHUNK) as u64))
                .collect();
            let read = s.drain().pread(&file, &mut back, 0);
            // Waited first: nothing else forces the writes to have finished.
            let read = read.wait();
            (
                writes.into_iter().map(|h| h.wait()).collect::<Vec<_>>(),
                read,
            )
        });
        for w in writes {
            assert_eq!(w.unwrap(), CHUNK);
        }
        assert_eq!(read.unwrap(), WRITES * CHUNK, "round {round}");
        assert!(
            back == chunks.concat(),
            "round {round}: the drained read did not see every earlier write"
        );
    }
}

/// A drained operation does not start while an earlier one is still blocked.
#[test]
fn drain_holds_back_an_operation_while_an_earlier_one_blocks() {
    require_ring!("drain_holds_back_an_operation_while_an_earlier_one_blocks");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = rw_file(&path);
    let (reader, writer) = pipe();
    let mut pipe_buf = [0u8; 2];
    let (read, write, before) = uring_os::batch(|s| {
        let read = s.read(&reader, &mut pipe_buf);
        let write = s.drain().pwrite(&file, b"after", 0);
        s.submit();
        // Time enough for an undrained write to run; a drained one must not.
        thread::sleep(Duration::from_millis(100));
        let before = fs::read(&path).unwrap();
        sys::write(writer.as_fd(), b"go").unwrap();
        (read.wait(), write.wait(), before)
    });
    assert!(
        before.is_empty(),
        "the drained write ran before the read completed"
    );
    assert_eq!(read.unwrap(), 2);
    assert_eq!(&pipe_buf, b"go");
    assert_eq!(write.unwrap(), 5);
    assert_eq!(fs::read(&path).unwrap(), b"after");
}

// ---------------------------------------------------------------------------------------------
// First review, finding 5: drain() under Dispatch::Auto
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: Auto served a read the page cache could serve as an RWF_NOWAIT syscall at
// once, ignoring the drain flag, so it read the data from before the writes queued ahead.

// Regression test for the first review, finding 5 (fixed in a3dcc2d).
#[test]
fn drain_orders_a_read_after_writes_under_dispatch_auto() {
    in_fresh_process("fresh_drain_under_auto", &[("URING_OS_DISPATCH", "auto")]);
}

#[test]
#[ignore = "helper: run in a fresh process by drain_orders_a_read_after_writes_under_dispatch_auto"]
fn fresh_drain_under_auto() {
    if !is_fresh("fresh_drain_under_auto") {
        return;
    }
    if let Err(reason) = ring_entries() {
        return fresh_skip(reason);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    for round in 0..10 {
        fs::write(&path, b"old!".repeat(1024)).unwrap();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut buf = [0u8; 12];
        let (writes, read) = uring_os::batch(|s| {
            let writes = [
                s.pwrite(&file, b"NEW1", 0),
                s.pwrite(&file, b"NEW2", 4),
                s.pwrite(&file, b"NEW3", 8),
            ];
            let read = s.drain().pread(&file, &mut buf, 0);
            (
                writes.map(|w| w.wait().map_err(|e| e.to_string())),
                read.wait().map_err(|e| e.to_string()),
            )
        });
        assert_eq!(writes, [Ok(4), Ok(4), Ok(4)], "round {round}: the writes");
        assert_eq!(read, Ok(12), "round {round}: the drained read");
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "NEW1NEW2NEW3",
            "round {round}: the drained read ran before the writes"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// read_file: open → read → close through a direct descriptor
// ---------------------------------------------------------------------------------------------

/// Many more `read_file`s than the ring's file table has slots, including failing ones, in
/// scopes one after the other: slots come back whether the chain succeeded or not.
#[test]
fn read_file_slots_are_recycled_after_failures() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ok"), b"fine").unwrap();
    fs::create_dir(dir.path().join("subdir")).unwrap();
    let dir_fd = File::open(dir.path()).unwrap();
    within(Duration::from_secs(15), "1,500 read_files", move || {
        for round in 0..5 {
            let mut bufs = vec![[0u8; 8]; 300];
            let results: Vec<_> = uring_os::batch(|s| {
                let handles: Vec<_> = bufs
                    .iter_mut()
                    .enumerate()
                    .map(|(i, buf)| {
                        let name = ["ok", "missing", "subdir"][i % 3];
                        s.read_file(&dir_fd, name, buf)
                    })
                    .collect();
                handles.into_iter().map(|h| h.wait()).collect()
            });
            for (i, res) in results.iter().enumerate() {
                match i % 3 {
                    0 => {
                        assert_eq!(res.as_ref().ok(), Some(&4), "round {round} #{i}");
                        assert_eq!(&bufs[i][..4], b"fine");
                    }
                    1 => assert_eq!(errno(res), Some(libc::ENOENT), "round {round} #{i}"),
                    _ => assert_eq!(errno(res), Some(libc::EISDIR), "round {round} #{i}"),
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// First review, finding 3: read_file inside a link chain longer than the SQ, under with_timeout
// ---------------------------------------------------------------------------------------------
//
// Old behaviour: read_file joined the enclosing chain; a chain too long for the SQ ran as
// syscalls, where the direct-descriptor ops fail (EINVAL) and never gave their fixed-file
// slot back; once every slot had leaked (the CQ size), read_file spun forever.

/// Many timed chains of `entries` preads ending in a read_file, then many read_files on
/// their own.
fn read_file_after_long_chains(path: &Path, content: &[u8]) -> Result<String, String> {
    let entries = match ring_entries() {
        Ok(entries) => entries,
        Err(reason) => return Ok(format!("skip: {reason}")),
    };
    let file = File::open(path).map_err(|e| e.to_string())?;
    // With a timeout each, these alone need twice the SQ.
    let mut bufs = vec![[0u8; 1]; entries as usize];
    let mut buf = [0u8; 64];
    // More rounds than the CQ has entries (twice the SQ), so leaked slots run out.
    let rounds = 300.max(4 * entries as usize + 8);
    let mut errors = Vec::new();
    for round in 0..rounds {
        let (preads, read) = uring_os::with_timeout(Duration::from_secs(5), || {
            uring_os::batch(|s| {
                let (preads, read) = s.link(|s| {
                    let preads: Vec<_> = bufs.iter_mut().map(|b| s.pread(&file, b, 0)).collect();
                    (preads, s.read_file(CWD, path, &mut buf))
                });
                let preads: Vec<String> = preads.into_iter().map(|h| outcome(&h.wait())).collect();
                (preads, read.wait())
            })
        });
        ensure!(
            preads.iter().all(|p| p == "ok") && bufs.iter().all(|b| b[0] == content[0]),
            "round {round}: the chain's preads gave {:?}",
            preads.iter().find(|p| *p != "ok")
        );
        match read {
            Ok(n) => ensure!(
                buf[..n] == *content,
                "round {round}: read_file read {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            // EINVAL was the bug: direct-descriptor ops run as syscalls.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                return Err(format!("round {round}: read_file in the chain gave {e}"));
            }
            Err(e) => errors.push(format!("round {round}: {e}")),
        }
    }
    // read_file on its own still works, more times than there are fixed-file slots.
    for round in 0..rounds {
        let timed = round % 2 == 0;
        let read = |buf: &mut [u8]| uring_os::batch(|s| s.read_file(CWD, path, buf).wait());
        let res = if timed {
            uring_os::with_timeout(Duration::from_secs(5), || read(&mut buf))
        } else {
            read(&mut buf)
        };
        match res {
            Ok(n) if buf[..n] == *content => {}
            other => {
                return Err(format!(
                    "standalone read_file {round} after the chains (timed: {timed}): {other:?}"
                ));
            }
        }
    }
    Ok(format!("clean errors in the chains: {errors:?}"))
}

// Regression test for the first review, finding 3 (fixed in a3dcc2d).
/// In a fresh process whose rings have the default 64 entries, so that the work (a chain
/// as long as the SQ, more rounds than the CQ holds) does not grow with `URING_OS_ENTRIES`.
#[test]
fn read_file_in_a_long_timed_chain_does_not_leak_its_slot() {
    in_fresh_process(
        "fresh_read_file_in_long_chains",
        &[("URING_OS_ENTRIES", "64")],
    );
}

#[test]
#[ignore = "helper: run in a fresh process by read_file_in_a_long_timed_chain_does_not_leak_its_slot"]
fn fresh_read_file_in_long_chains() {
    if !is_fresh("fresh_read_file_in_long_chains") {
        return;
    }
    // Watchdog: the old code spun forever once the fixed-file slots had leaked.
    alarm(10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("content");
    let content = b"read_file regression\n";
    fs::write(&path, content).unwrap();
    match read_file_after_long_chains(&path, content) {
        Ok(text) if text.starts_with("skip: ") => fresh_skip(text),
        Ok(_) => {}
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Windowed streaming
// ---------------------------------------------------------------------------------------------

#[test]
fn window_streams_ten_thousand_reads_each_result_once() {
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let file = records_file(&dir.path().join("records"), N);
    let mut bufs = vec![[0u8; 8]; N];
    let (positions, all_ok) = uring_os::batch(|s| {
        let reads = bufs
            .iter_mut()
            .enumerate()
            .map(|(i, buf)| s.pread(&file, buf, ((N - 1 - i) * 8) as u64));
        let mut positions = Vec::with_capacity(N);
        let mut all_ok = true;
        for (position, res) in s.window(32, reads) {
            all_ok &= res.as_ref().ok() == Some(&8);
            positions.push(position);
        }
        (positions, all_ok)
    });
    assert!(all_ok, "every read returned 8 bytes");
    assert_eq!(positions.len(), N, "one result per operation");
    let distinct: HashSet<usize> = positions.iter().copied().collect();
    assert_eq!(distinct.len(), N, "no position twice");
    assert!(distinct.iter().all(|&p| p < N));
    for (i, buf) in bufs.iter().enumerate() {
        assert_eq!(*buf, record(N - 1 - i), "read {i}");
    }
}

/// Depth 0 (taken as 1), a depth beyond the operation count, and an empty iterator; results
/// carry their own errors.
#[test]
fn window_edge_depths_and_per_operation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = records_file(&dir.path().join("records"), 16);
    let ro = File::open(dir.path().join("records")).unwrap();
    for depth in [0, 1, 3, 1000] {
        let mut bufs = [[0u8; 8]; 16];
        let results: Vec<(usize, io::Result<usize>)> = uring_os::batch(|s| {
            let ops = bufs.iter_mut().enumerate().map(|(i, buf)| {
                if i % 4 == 3 {
                    // A failing operation in the stream.
                    s.pwrite(&ro, b"x", 0)
                } else {
                    s.pread(&file, buf, (i * 8) as u64)
                }
            });
            s.window(depth, ops).collect()
        });
        let mut seen = HashSet::new();
        for (position, res) in &results {
            assert!(
                seen.insert(*position),
                "depth {depth}: position {position} twice"
            );
            if position % 4 == 3 {
                assert_eq!(errno(res), Some(libc::EBADF), "depth {depth} #{position}");
            } else {
                assert_eq!(res.as_ref().ok(), Some(&8), "depth {depth} #{position}");
                assert_eq!(bufs[*position], record(*position));
            }
        }
        assert_eq!(seen.len(), 16, "depth {depth}");
        let none = uring_os::batch(|s| {
            s.window(depth, std::iter::empty::<uring_os::Handle<'_, ()>>())
                .count()
        });
        assert_eq!(none, 0);
    }
}

/// `window` over operations queued inside `link` must not hang: they are deferred until the
/// chain starts, and the window has to start it, as `Handle::wait` does.
#[test]
fn window_inside_link_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    records_file(&dir.path().join("records"), 8);
    let path = dir.path().join("records");
    let res = in_child_reporting(Duration::from_secs(5), move || {
        let file = File::open(&path).map_err(|e| e.to_string())?;
        let mut bufs = [[0u8; 8]; 8];
        let results: Vec<(usize, Result<usize, Option<i32>>)> = uring_os::batch(|s| {
            s.link(|s| {
                let reads = bufs
                    .iter_mut()
                    .enumerate()
                    .map(|(i, b)| s.pread(&file, b, (i * 8) as u64));
                s.window(2, reads)
                    .map(|(p, r)| (p, r.map_err(|e| e.raw_os_error())))
                    .collect()
            })
        });
        ensure!(results.len() == 8, "results: {results:?}");
        ensure!(
            bufs.iter().enumerate().all(|(i, b)| *b == record(i)),
            "wrong data"
        );
        Ok(String::new())
    });
    res.unwrap();
}
