//! The fd footprint: a ring takes no fd number, threads that come and go leak none, the
//! calls that make fds take the numbers libc would, and `read_file` reads through direct
//! descriptors without taking any.
//!
//! Counting the process's fds needs a process where nothing else opens or closes any, so
//! this binary holds only the tests that count, and they take turns ([`COUNTING`]).

mod common;

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;

use common::{errno, fd_count, sys};
use uring_os::{Backend, CWD};

/// Held by each test for its whole run: no other test opens or closes fds meanwhile.
static COUNTING: Mutex<()> = Mutex::new(());

fn counting() -> MutexGuard<'static, ()> {
    COUNTING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The open fds of the process and what they are, without the one reading the directory.
fn fds() -> Vec<(i32, String)> {
    let mut out: Vec<(i32, String)> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let n = entry.file_name().to_str()?.parse().ok()?;
            // The directory's own fd is gone by the time it would be read.
            let target = std::fs::read_link(entry.path()).ok()?;
            Some((n, target.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}

fn io_uring_fds() -> Vec<(i32, String)> {
    fds()
        .into_iter()
        .filter(|(_, what)| what.contains("io_uring"))
        .collect()
}

fn open_number(path: &Path) -> i32 {
    let fd = sys::open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
    fd.as_raw_fd()
}

#[test]
fn rings_take_no_fd_number_and_threads_leak_none() {
    let _counting = counting();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let file = File::open(&path).unwrap();

    // A new thread's ring takes no fd number: the number a file gets before the ring exists
    // is the one it gets after.
    let (first, second, backend, ring_fds) = thread::scope(|s| {
        s.spawn(|| {
            let first = open_number(&path); // and closed again
            common::warm_up(); // sets up this thread's ring
            let backend = uring_os::status().backend;
            let mut buf = [0u8; 4];
            assert_eq!(uring_os::pread(&file, &mut buf, 2).unwrap(), 4);
            assert_eq!(&buf, b"2345");
            let second = open_number(&path);
            (first, second, backend, io_uring_fds())
        })
        .join()
        .unwrap()
    });
    if common::disabled_by_env() {
        common::skip(
            "rings_take_no_fd_number_and_threads_leak_none",
            "URING_OS=off: no ring to count (the fd numbers are checked all the same)",
        );
    } else {
        assert!(
            matches!(backend, Backend::IoUring { .. }),
            "no ring to check here: {backend:?}"
        );
    }
    assert_eq!(first, second, "the ring took fd number {first}");
    assert_eq!(ring_fds, [], "io_uring fds while the thread had its ring");

    // The calls that make or close fds use the numbers libc would: the lowest free one.
    thread::scope(|s| {
        s.spawn(|| {
            common::warm_up();
            let n = open_number(&path);
            let fd = uring_os::open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
            assert_eq!(fd.as_raw_fd(), n, "uring_os::open");
            let (l, addr) = common::listener();
            let _client = std::net::TcpStream::connect(addr).unwrap();
            let n = open_number(&path);
            let (accepted, _) = uring_os::accept4(&l, libc::SOCK_CLOEXEC).unwrap();
            assert_eq!(accepted.as_raw_fd(), n, "uring_os::accept4");
            let n = open_number(&path);
            let sock =
                uring_os::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).unwrap();
            assert_eq!(sock.as_raw_fd(), n, "uring_os::socket");
            // A number closed by uring_os::close is free at once.
            let closed = fd.as_raw_fd();
            uring_os::close(fd).unwrap();
            assert_eq!(open_number(&path), closed, "after uring_os::close");
        })
        .join()
        .unwrap();
    });

    // 1,000 short-lived threads each making one call, then 1,000 that each set up a ring
    // and make one call: the same fds before and after.
    let before = fds();
    for warm in [false, true] {
        for i in 0..1000u64 {
            let file = &file;
            let n = thread::scope(|s| {
                s.spawn(move || {
                    if warm {
                        common::warm_up();
                    }
                    let mut buf = [0u8; 1];
                    uring_os::pread(file, &mut buf, i % 10).map(|n| (n, buf[0]))
                })
                .join()
                .unwrap()
            });
            assert_eq!(n.unwrap(), (1, b'0' + (i % 10) as u8), "thread {i}");
        }
    }
    let after = fds();
    assert_eq!(before, after, "fds before and after 2,000 threads");
    assert_eq!(io_uring_fds(), []);
}

/// The content of small file `i`: its own length and bytes.
fn small_file_content(i: usize) -> Vec<u8> {
    let len = 1 + (i * 37) % 300;
    (0..len).map(|j| (i * 13 + j * 3) as u8).collect()
}

#[test]
fn read_file_reads_200_files_and_takes_no_fd_numbers() {
    const FILES: usize = 200;
    let _counting = counting();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        fs::write(dir.path().join(format!("f{i}")), small_file_content(i)).unwrap();
    }
    fs::create_dir(dir.path().join("subdir")).unwrap();
    let dir_fd = File::open(dir.path()).unwrap();
    let absolute = dir.path().join("f7");
    // Warm up: the thread's ring and its file table exist before counting.
    let mut warm = [0u8; 512];
    uring_os::batch(|s| s.read_file(&dir_fd, "f0", &mut warm).wait()).unwrap();
    let before = fd_count();
    for round in 0..2 {
        let mut bufs = vec![[0u8; 512]; FILES];
        let mut small = [0u8; 4];
        let mut abs_buf = [0u8; 512];
        let mut missing_buf = [0u8; 16];
        let mut dir_buf = [0u8; 16];
        let (results, small_res, abs_res, missing, is_dir) = uring_os::batch(|s| {
            let handles: Vec<_> = bufs
                .iter_mut()
                .enumerate()
                .map(|(i, buf)| s.read_file(&dir_fd, format!("f{i}"), buf))
                .collect();
            let small = s.read_file(&dir_fd, "f10", &mut small);
            let abs = s.read_file(CWD, &absolute, &mut abs_buf);
            let missing = s.read_file(&dir_fd, "missing", &mut missing_buf);
            let is_dir = s.read_file(&dir_fd, "subdir", &mut dir_buf);
            (
                handles.into_iter().map(|h| h.wait()).collect::<Vec<_>>(),
                small.wait(),
                abs.wait(),
                missing.wait(),
                is_dir.wait(),
            )
        });
        for (i, res) in results.iter().enumerate() {
            let expected = small_file_content(i);
            assert_eq!(
                res.as_ref().ok(),
                Some(&expected.len()),
                "round {round} f{i}: {res:?}"
            );
            assert_eq!(
                &bufs[i][..expected.len()],
                &expected[..],
                "round {round} f{i}"
            );
        }
        assert_eq!(small_res.unwrap(), 4, "a short buffer reads its length");
        assert_eq!(&small, &small_file_content(10)[..4]);
        let expected = small_file_content(7);
        assert_eq!(abs_res.unwrap(), expected.len());
        assert_eq!(&abs_buf[..expected.len()], &expected[..]);
        // The same errors std gives.
        let std_missing = fs::read(dir.path().join("missing"));
        let std_dir = fs::read(dir.path().join("subdir"));
        assert_eq!(errno(&missing), Some(libc::ENOENT));
        assert_eq!(errno(&missing), errno(&std_missing));
        assert_eq!(errno(&is_dir), Some(libc::EISDIR));
        assert_eq!(errno(&is_dir), errno(&std_dir));
        assert_eq!(
            fd_count(),
            before,
            "round {round}: read_file took fd numbers"
        );
    }
}
