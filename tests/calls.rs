//! The blocking calls against libc: every call of the contract compared with the direct
//! syscall — value and `raw_os_error()` — on success and on its error cases, through the
//! ring: file offsets, pipes, directories and loopback TCP. The call-by-call comparison is the
//! table in `call_cases/`, one test per group here; then paths (NUL, PATH_MAX, heap paths),
//! file positions, big writes to blocking streams, many threads, and configuration.
//!
//! Elsewhere: the same table without io_uring in `fallback.rs` and `fallback_off.rs`,
//! timeouts in `timeouts.rs`, forks and signals in `fork_and_signals.rs`, fd numbers in
//! `fds.rs`.

mod call_cases;
mod common;

use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread;

use call_cases::{Api, Case};
use common::{is_pattern, pattern_file, pipe, sys};
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

/// Runs a group of the table against libc.
fn check(cases: &[Case]) {
    // Where this process can have rings, a warmed-up thread (as each case's) has one: the
    // table then compares the ring path, not the fallback.
    if uring_os::ring::Ring::new(8).is_ok() && !common::disabled_by_env() {
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
// File positions
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Big writes to blocking streams
// ---------------------------------------------------------------------------------------------
//
// write(2), writev(2) and send(2) on a blocking pipe or socket write everything; io_uring
// completes them with what fit at once, so uring_os writes the rest.

// Regression test for the second review (fixed in e33f66c).
/// write(2) and send(2) on a blocking pipe or socket write everything; io_uring completes
/// them with what fit at once, so uring_os writes the rest.
#[test]
fn big_writes_to_blocking_streams_write_everything() {
    const LEN: usize = 1 << 20;
    let data = vec![7u8; LEN];
    // A pipe, read on another thread.
    let (reader, writer) = pipe();
    let drain = thread::spawn(move || {
        let mut total = 0;
        let mut buf = vec![0u8; 65536];
        loop {
            match std::io::Read::read(
                &mut std::fs::File::from(reader.try_clone().unwrap()),
                &mut buf,
            ) {
                Ok(0) | Err(_) => break total,
                Ok(n) => total += n,
            }
        }
    });
    uring_os::nop().unwrap();
    uring_os::nop().unwrap(); // the thread's ring is up
    assert_eq!(uring_os::write(&writer, &data).unwrap(), LEN);
    drop(writer);
    assert_eq!(drain.join().unwrap(), LEN);
    // A unix stream socket.
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let drain = thread::spawn(move || {
        let mut total = 0;
        let mut buf = vec![0u8; 65536];
        loop {
            match std::io::Read::read(&mut &b, &mut buf) {
                Ok(0) | Err(_) => break total,
                Ok(n) => total += n,
            }
        }
    });
    assert_eq!(uring_os::send(&a, &data, 0).unwrap(), LEN);
    drop(a);
    assert_eq!(drain.join().unwrap(), LEN);
}

// Regression test for writev, as for write after the second review (fixed in 3a4fcd9).
/// writev(2) on a blocking pipe writes everything; io_uring completes it short.
#[test]
fn big_writev_to_a_blocking_pipe_writes_everything() {
    const LEN: usize = 1 << 20;
    let (first, second) = (vec![1u8; LEN / 2], vec![2u8; LEN / 2]);
    let (reader, writer) = pipe();
    let drain = thread::spawn(move || {
        let mut file = std::fs::File::from(reader);
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut got).unwrap();
        got
    });
    uring_os::nop().unwrap();
    uring_os::nop().unwrap(); // the thread's ring is up
    let bufs = [io::IoSlice::new(&first), io::IoSlice::new(&second)];
    assert_eq!(uring_os::writev(&writer, &bufs).unwrap(), LEN);
    drop(writer);
    let got = drain.join().unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got[..LEN / 2].iter().all(|&b| b == 1) && got[LEN / 2..].iter().all(|&b| b == 2));
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
    // Still in force: the ring (nothing switched to the syscall path), unless the environment
    // disabled it before this test ran.
    uring_os::nop().unwrap();
    assert_eq!(
        matches!(
            uring_os::status().backend,
            Backend::Syscall {
                reason: FallbackReason::Disabled
            }
        ),
        common::disabled_by_env()
    );
    assert!(
        common::disabled_by_env()
            || !matches!(
                uring_os::status().backend,
                Backend::Syscall {
                    reason: FallbackReason::Disabled
                }
            )
    );
}
