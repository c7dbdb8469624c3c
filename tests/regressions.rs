//! Regression tests for the library bugs the differential fuzzer (`tests/fuzz.rs`) found,
//! one test per bug, each comparing with what the syscall (libc) gives. Each failed before
//! its fix.

mod common;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use common::{fd_count, pipe, warm_up};
use uring_os::CWD;

/// One test at a time: one counts the process's fds, others open and fork.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn errno_of<T: std::fmt::Debug>(res: io::Result<T>) -> Option<i32> {
    res.expect_err("the call must fail").raw_os_error()
}

fn last_errno() -> Option<i32> {
    io::Error::last_os_error().raw_os_error()
}

fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// A bad fd number, borrowed for one call.
fn bad() -> BorrowedFd<'static> {
    // SAFETY: never open in these tests; the kernel answers EBADF to libc and uring_os alike.
    unsafe { BorrowedFd::borrow_raw(9999) }
}

// ---------------------------------------------------------------------------------------------
// The syscall checks some arguments before others; io_uring checked them in another order
// (the path before the flags, the fd before the length), so the errno differed.

#[test]
fn argument_errors_come_in_the_syscalls_order() {
    let _serial = serial();
    warm_up();
    let dir = tempfile::tempdir().unwrap();
    let too_long = Path::new(std::ffi::OsStr::from_bytes(&b"d/".repeat(2100))).to_path_buf();
    let empty = Path::new("");
    let (cl, ce) = (c(&too_long), c(empty));
    let base = dir.path();

    // openat: O_CREAT | O_DIRECTORY is EINVAL before the path is read.
    let flags = libc::O_CREAT | libc::O_DIRECTORY | libc::O_WRONLY;
    // SAFETY: valid paths.
    assert_eq!(
        unsafe { libc::openat(libc::AT_FDCWD, cl.as_ptr(), flags, 0o600) },
        -1
    );
    let want = last_errno();
    assert_eq!(want, Some(libc::EINVAL));
    assert_eq!(
        errno_of(uring_os::openat(CWD, &too_long, flags, 0o600)),
        want,
        "openat"
    );
    // An O_TMPFILE open without write access, on an empty path.
    let flags = libc::O_TMPFILE | libc::O_RDONLY;
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::openat(libc::AT_FDCWD, ce.as_ptr(), flags, 0o600) },
        -1
    );
    let want = last_errno();
    assert_eq!(
        errno_of(uring_os::openat(CWD, empty, flags, 0o600)),
        want,
        "O_TMPFILE"
    );

    // statx: unknown flags and reserved mask bits are EINVAL before the path.
    for (flags, mask) in [(0x4000_0000, libc::STATX_BASIC_STATS), (0, 0x8000_0000)] {
        // SAFETY: all-zero is a valid statx.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: valid path and buffer.
        assert_eq!(
            unsafe { libc::statx(libc::AT_FDCWD, ce.as_ptr(), flags, mask, &mut stx) },
            -1
        );
        let want = last_errno();
        assert_eq!(want, Some(libc::EINVAL));
        assert_eq!(
            errno_of(uring_os::statx(CWD, empty, flags, mask)),
            want,
            "statx {flags:#x} {mask:#x}"
        );
    }

    // renameat2 and linkat: unknown flags are EINVAL before the paths.
    // SAFETY: valid paths.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ce.as_ptr(),
            libc::AT_FDCWD,
            cl.as_ptr(),
            0x100,
        )
    };
    assert_eq!(r, -1);
    let want = last_errno();
    assert_eq!(
        errno_of(uring_os::renameat(CWD, empty, CWD, &too_long, 0x100)),
        want,
        "renameat"
    );
    // SAFETY: valid paths.
    assert_eq!(
        unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                cl.as_ptr(),
                libc::AT_FDCWD,
                ce.as_ptr(),
                0x1,
            )
        },
        -1
    );
    let want = last_errno();
    assert_eq!(
        errno_of(uring_os::linkat(CWD, &too_long, CWD, empty, 0x1)),
        want,
        "linkat"
    );

    // renameat2 and linkat look the first path up before they read the second: a bad
    // directory fd is EBADF even when the second path is empty.
    let old = c(&base.join("old"));
    // SAFETY: valid paths.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            9999,
            old.as_ptr(),
            libc::AT_FDCWD,
            ce.as_ptr(),
            0,
        )
    };
    assert_eq!(r, -1);
    let want = last_errno();
    assert_eq!(
        errno_of(uring_os::renameat(bad(), base.join("old"), CWD, empty, 0)),
        want,
        "renameat order"
    );
    // SAFETY: valid paths.
    assert_eq!(
        unsafe { libc::linkat(9999, old.as_ptr(), libc::AT_FDCWD, ce.as_ptr(), 0) },
        -1
    );
    let want = last_errno();
    assert_eq!(
        errno_of(uring_os::linkat(bad(), base.join("old"), CWD, empty, 0)),
        want,
        "linkat order"
    );

    // accept4: a bad fd is EBADF before unknown flags are EINVAL.
    // SAFETY: no address wanted.
    assert_eq!(
        unsafe { libc::accept4(9999, std::ptr::null_mut(), std::ptr::null_mut(), 0x1234) },
        -1
    );
    let want = last_errno();
    assert_eq!(want, Some(libc::EBADF));
    assert_eq!(errno_of(uring_os::accept4(bad(), 0x1234)), want, "accept4");

    // ftruncate: a negative length is EINVAL before the fd is looked up.
    // SAFETY: plain integers.
    assert_eq!(unsafe { libc::ftruncate64(9999, -1) }, -1);
    let want = last_errno();
    assert_eq!(want, Some(libc::EINVAL));
    assert_eq!(
        errno_of(uring_os::ftruncate(bad(), u64::MAX)),
        want,
        "ftruncate"
    );
}

#[test]
fn splice_answers_like_splice_for_pipe_offsets_and_zero_lengths() {
    let _serial = serial();
    warm_up();
    let (reader, writer) = pipe();
    let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    // An offset for a pipe is ESPIPE before the write end is found unreadable (EBADF).
    let mut off: i64 = 0;
    // SAFETY: valid fds and offset pointer.
    let r = unsafe {
        libc::splice(
            writer.as_raw_fd(),
            &mut off,
            sock.as_raw_fd(),
            std::ptr::null_mut(),
            4096,
            0,
        )
    };
    assert_eq!(r, -1);
    let want = last_errno();
    assert_eq!(want, Some(libc::ESPIPE));
    let ours = uring_os::splice(&writer, Some(0), &sock, None, 4096, 0);
    assert_eq!(errno_of(ours), want);
    // A zero length is 0 whatever the fds.
    // SAFETY: null offsets.
    let r = unsafe {
        libc::splice(
            reader.as_raw_fd(),
            std::ptr::null_mut(),
            9999,
            std::ptr::null_mut(),
            0,
            0,
        )
    };
    assert_eq!(r, 0);
    assert_eq!(
        uring_os::splice(&reader, None, bad(), None, 0, 0).unwrap(),
        0
    );
}

#[test]
fn zero_length_transfers_answer_like_the_syscalls() {
    let _serial = serial();
    warm_up();
    // read(2) of nothing from a directory: EISDIR (io_uring gave 0).
    let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
    let mut nothing = [0u8; 0];
    // SAFETY: a zero-length buffer.
    assert_eq!(
        unsafe { libc::read(dir.as_raw_fd(), nothing.as_mut_ptr().cast(), 0) },
        -1
    );
    let want = last_errno();
    assert_eq!(want, Some(libc::EISDIR));
    assert_eq!(errno_of(uring_os::read(&dir, &mut nothing)), want, "read");
    assert_eq!(
        errno_of(uring_os::pread(&dir, &mut nothing, 0)),
        want,
        "pread"
    );
    // writev(2) of nothing to a pipe without a reader: 0 (io_uring gave EPIPE).
    let (reader, writer) = pipe();
    drop(reader);
    let empty = [io::IoSlice::new(&[])];
    // SAFETY: one valid (empty) iovec.
    assert_eq!(
        unsafe { libc::writev(writer.as_raw_fd(), empty.as_ptr().cast(), 1) },
        0
    );
    assert_eq!(uring_os::writev(&writer, &empty).unwrap(), 0);
    // readv(2) of nothing is 0 before the file is asked, even for a directory.
    let mut none = [io::IoSliceMut::new(&mut [])];
    // SAFETY: one valid (empty) iovec.
    assert_eq!(
        unsafe { libc::readv(dir.as_raw_fd(), none.as_ptr().cast(), 1) },
        0
    );
    assert_eq!(uring_os::readv(&dir, &mut none).unwrap(), 0, "readv");
}

// ---------------------------------------------------------------------------------------------
// A failed operation in a chain cancels the rest, as `Batch::link` promises. The kernel
// does not cut a chain when these fail (it completes them without failing the link): the
// next operation ran.

#[test]
fn every_failure_in_a_chain_cancels_the_rest() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let (reader, _writer) = pipe();
    let file = tempfile::tempfile().unwrap();
    let ro = std::fs::File::open("/dev/null").unwrap();
    // An unconnected TCP socket: shutdown is ENOTCONN.
    // SAFETY: plain integers; the new fd is owned here.
    let sock = unsafe {
        OwnedFd::from_raw_fd(libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
        ))
    };
    let target = dir.path().join("target");
    let got: Vec<(&str, Option<i32>, Option<i32>)> = uring_os::batch(|s| {
        let mut out = Vec::new();
        macro_rules! chain {
            ($name:expr, |$s:ident| $first:expr) => {{
                let (a, b) = s.link(|$s| ($first, $s.mkdirat(CWD, &target, 0o700)));
                out.push((
                    $name,
                    a.wait().err().and_then(|e| e.raw_os_error()),
                    b.wait().err().and_then(|e| e.raw_os_error()),
                ));
            }};
        }
        chain!("renameat", |s| s.renameat(
            CWD,
            &missing,
            CWD,
            dir.path().join("x"),
            0
        ));
        chain!("unlinkat", |s| s.unlinkat(CWD, &missing, 0));
        chain!("mkdirat", |s| s.mkdirat(CWD, dir.path(), 0o700));
        chain!("symlinkat", |s| s.symlinkat("t", CWD, dir.path()));
        chain!("linkat", |s| s.linkat(
            CWD,
            &missing,
            CWD,
            dir.path().join("y"),
            0
        ));
        chain!("statx", |s| s.statx(
            CWD,
            &missing,
            0,
            libc::STATX_BASIC_STATS
        ));
        chain!("fsync", |s| s.fsync(&reader));
        chain!("fdatasync", |s| s.fdatasync(&reader));
        chain!("ftruncate", |s| s.ftruncate(&ro, 0));
        chain!("fallocate", |s| s.fallocate(&file, 0, 0, 0));
        chain!("sync_file_range", |s| s.sync_file_range(&file, 0, 10, 0xff));
        chain!("shutdown", |s| s.shutdown(&sock, std::net::Shutdown::Both));
        out
    });
    for (name, first, second) in got {
        assert!(first.is_some(), "{name} must fail here");
        assert_eq!(
            second,
            Some(libc::ECANCELED),
            "{name} failed ({first:?}): the rest of its chain must be cancelled"
        );
    }
    assert!(!target.exists(), "no mkdirat after a failure ran");
}

// ---------------------------------------------------------------------------------------------
// An fd made by a batch operation nobody waited for (open, socket, accept) was never closed.

#[test]
fn unwaited_opens_and_sockets_leave_no_fd_behind() {
    let _serial = serial();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _client = std::net::TcpStream::connect(addr).unwrap();
    let _forks = common::fork::no_forks_meanwhile();
    let before = fd_count();
    uring_os::batch(|s| {
        let open = s.openat(CWD, "/dev/null", libc::O_RDONLY | libc::O_CLOEXEC, 0);
        drop(open);
        // Never waited nor dropped before the scope ends (a Handle has no Drop of its own,
        // so mem::forget is the same as this).
        let _kept = s.openat(CWD, "/dev/null", libc::O_RDONLY | libc::O_CLOEXEC, 0);
        let (chained, _nop) = s.link(|s| {
            (
                s.openat(CWD, "/dev/null", libc::O_RDONLY | libc::O_CLOEXEC, 0),
                s.nop(),
            )
        });
        drop(chained);
        drop(s.socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0));
        drop(s.accept4(&listener, libc::SOCK_CLOEXEC));
    });
    assert_eq!(fd_count(), before, "fds left open by unwaited operations");
    // And the numbers were closed through the crate's own path: a new open gets the lowest.
    let fd = uring_os::open("/dev/null", libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
    // SAFETY: taking the fd back out to compare its number.
    let n = unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)) };
    assert!(n.as_raw_fd() >= 3);
}

// ---------------------------------------------------------------------------------------------
// Under a storm of signals (handled with SA_RESTART), io-wq could not start its worker
// threads (a signal pending at each try) and cancelled punted work: a blocking pwrite gave
// ECANCELED, which pwrite(2) never gives; so did a batch pwrite, and one never waited did
// not happen at all.

extern "C" fn count_signal(_: libc::c_int) {}

#[test]
fn no_ecanceled_from_io_wq_under_a_signal_storm() {
    let _serial = serial();
    common::fork::prepare_fork();
    let got = common::fork::in_child_reporting(Duration::from_secs(60), || {
        // SAFETY: all-zero is a valid sigaction, filled below; the handler does nothing.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: a valid sigaction.
        unsafe { libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) };
        let every = libc::timeval {
            tv_sec: 0,
            tv_usec: 100,
        };
        let timer = libc::itimerval {
            it_interval: every,
            it_value: every,
        };
        // SAFETY: a valid itimerval.
        unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
        let file = std::sync::Arc::new(tempfile::tempfile().map_err(|e| e.to_string())?);
        let mut wrong = Vec::new();
        for wave in 0..100 {
            let threads: Vec<_> = (0..16)
                .map(|i| {
                    let file = file.clone();
                    // Two calls: the second goes through the thread's new ring.
                    std::thread::spawn(move || {
                        let _ = uring_os::nop();
                        let base = (wave * 16 + i) * 24;
                        let single = uring_os::pwrite(&*file, b"12345678", base);
                        let batched =
                            uring_os::batch(|s| s.pwrite(&*file, b"abcdefgh", base + 8).wait());
                        // Never waited: the scope runs it all the same.
                        uring_os::batch(|s| {
                            let _ = s.pwrite(&*file, b"ABCDEFGH", base + 16);
                        });
                        let mut back = [0u8; 24];
                        std::os::unix::fs::FileExt::read_exact_at(&*file, &mut back, base).unwrap();
                        match (single, batched) {
                            (Ok(8), Ok(8)) if &back == b"12345678abcdefghABCDEFGH" => Ok(8),
                            (Err(e), _) | (_, Err(e)) => Err(e.raw_os_error()),
                            _ => Err(Some(-1)),
                        }
                    })
                })
                .collect();
            for t in threads {
                match t.join() {
                    Ok(Ok(8)) => {}
                    other => wrong.push(format!("{other:?}")),
                }
            }
        }
        if wrong.is_empty() {
            Ok("1,600 threads' pwrites right".into())
        } else {
            Err(format!(
                "{} wrong: {:?}",
                wrong.len(),
                &wrong[..wrong.len().min(5)]
            ))
        }
    });
    got.unwrap();
}

// ---------------------------------------------------------------------------------------------
// A FIFO opened for reading while a writer waits for a reader: the ring's reader lets the
// writer in; if the writer writes everything and leaves before the crate's blocking open(2),
// that open waits for another writer forever (open(2) itself returns at once).
//
// Fixed in part: a writer seen on the ring's reader (data, or a hangup) returns at once,
// which ended the hangs of `defects::a_fifo_opened_while_a_writer_is_there_never_loses_its_
// reader` (4 in 30 runs before, 0 in 60 after). Left: a writer that comes, writes and
// leaves in the microseconds between that check and the blocking open(2). This test hits
// it within 200 rounds; it is ignored until the open waits on the ring (an IOSQE_ASYNC open
// raced with a poll of the reader) rather than in open(2).

#[test]
#[ignore = "known race left in FIFO opens through the ring; see the comment above"]
fn a_fifo_reader_never_waits_for_a_writer_that_came_and_went() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..200 {
        let fifo = dir.path().join(format!("fifo{i}"));
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let path = fifo.clone();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            w.write_all(b"0123456789").unwrap();
        });
        std::thread::sleep(Duration::from_millis(1));
        let got = common::within(Duration::from_secs(10), "the FIFO open", move || {
            warm_up();
            let fd = uring_os::open(&fifo, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
            let mut all = Vec::new();
            let mut buf = [0u8; 16];
            loop {
                match uring_os::read(&fd, &mut buf).unwrap() {
                    0 => break all,
                    n => all.extend_from_slice(&buf[..n]),
                }
            }
        });
        writer.join().unwrap();
        assert_eq!(got, b"0123456789", "round {i}");
    }
}

/// 4 KiB aligned, as `O_DIRECT` transfers need.
#[repr(C, align(4096))]
struct Aligned([u8; 8192]);

/// Opens `path` twice with `O_DIRECT` (one fd for libc, one for uring_os), or `None` where
/// the file system refuses it.
fn direct_twins(path: &Path) -> Option<(std::fs::File, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
    };
    match (open(), open()) {
        (Ok(a), Ok(b)) => Some((a, b)),
        (Err(e), _) | (_, Err(e)) => {
            println!("skipped: O_DIRECT refused here ({e})");
            None
        }
    }
}

/// Moves each file's position back to its start.
fn rewind(files: &[&std::fs::File]) {
    for file in files {
        // SAFETY: lseek on an open fd.
        assert_eq!(
            unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_SET) },
            0
        );
    }
}

fn position(fd: &impl AsRawFd) -> i64 {
    // SAFETY: lseek on an open fd, moving nothing.
    unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_CUR) }
}

// Found by the fuzzer: io_uring moves the file position of a read or write at the position
// only when the transfer completes at submission; an O_DIRECT one completes later, from the
// device, and left the position where it was (read(2) moves it).
#[test]
fn transfers_at_the_position_of_an_o_direct_file_move_it_like_the_syscalls() {
    let _serial = serial();
    // On the disk's file system (the crate's directory): tmpfs may complete O_DIRECT at once.
    let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
    let path = dir.path().join("direct");
    std::fs::write(&path, vec![b'x'; 8192 + 5]).unwrap();
    let Some((theirs, ours)) = direct_twins(&path) else {
        return;
    };
    let mut buf = Box::new(Aligned([0; 8192]));
    let p = buf.0.as_mut_ptr();
    // SAFETY (every libc call below): `buf` is valid for 8192 bytes and outlives the call.
    let libc_read = |len: usize| unsafe { libc::read(theirs.as_raw_fd(), p.cast(), len) };
    let libc_write = |len: usize| unsafe { libc::write(theirs.as_raw_fd(), p.cast(), len) };
    for round in 0..20 {
        rewind(&[&theirs, &ours]);
        let steps: [(&str, isize, io::Result<usize>); 4] = [
            (
                "read",
                libc_read(4096),
                uring_os::read(&ours, &mut buf.0[..4096]),
            ),
            (
                "write",
                libc_write(4096),
                uring_os::write(&ours, &buf.0[..4096]),
            ),
            (
                "short read",
                libc_read(8192),
                uring_os::read(&ours, &mut buf.0[..8192]),
            ),
            (
                "read at the end",
                libc_read(4096),
                uring_os::read(&ours, &mut buf.0[..4096]),
            ),
        ];
        for (what, libc_res, res) in steps {
            assert_eq!(res.unwrap() as isize, libc_res, "round {round}: {what}");
        }
        assert_eq!(
            position(&ours),
            position(&theirs),
            "round {round}: position"
        );
        // Vectored, from the start again.
        rewind(&[&theirs, &ours]);
        let iov = libc::iovec {
            iov_base: p.cast(),
            iov_len: 4096,
        };
        // SAFETY: one iovec over `buf`.
        let theirs_n = unsafe { libc::writev(theirs.as_raw_fd(), &iov, 1) };
        let ours_n = uring_os::writev(&ours, &[io::IoSlice::new(&buf.0[..4096])]).unwrap();
        assert_eq!(ours_n as isize, theirs_n, "round {round}: writev");
        // SAFETY: one iovec over `buf`.
        let theirs_n = unsafe { libc::readv(theirs.as_raw_fd(), &iov, 1) };
        let ours_n = uring_os::readv(&ours, &mut [io::IoSliceMut::new(&mut buf.0[..4096])]);
        assert_eq!(ours_n.unwrap() as isize, theirs_n, "round {round}: readv");
        assert_eq!(
            position(&ours),
            position(&theirs),
            "round {round}: position after readv"
        );
    }
    // A batch's reads at the position, on the caller's O_DIRECT fd.
    rewind(&[&theirs, &ours]);
    let libc_n = libc_read(4096);
    let n = uring_os::batch(|s| {
        let b = s.buffer(4096);
        s.read(&ours, b).wait()
    })
    .unwrap();
    assert_eq!(n as isize, libc_n, "batch read");
    assert_eq!(
        position(&ours),
        position(&theirs),
        "position after a batch read"
    );
}

/// A socketpair of `ty` whose second end is closed.
fn widowed_socket(ty: i32) -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: room for two fds.
    let res =
        unsafe { libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    assert_eq!(res, 0, "socketpair: {}", io::Error::last_os_error());
    // SAFETY: both fds were just made and are ours; the peer is closed at once.
    unsafe {
        drop(OwnedFd::from_raw_fd(fds[1]));
        OwnedFd::from_raw_fd(fds[0])
    }
}

// Found by the fuzzer: readv(2)/writev(2) of no bytes answer 0 before the file sees the call;
// through io_uring the socket answered (EPIPE, ECONNREFUSED, ENOTCONN) and a datagram socket
// forgot the error it had pending, so the next call answered differently from libc's.
#[test]
fn vectored_calls_of_nothing_answer_0_and_leave_the_socket_alone() {
    let _serial = serial();
    warm_up();
    for ty in [libc::SOCK_DGRAM, libc::SOCK_STREAM, libc::SOCK_SEQPACKET] {
        let (theirs, ours) = (widowed_socket(ty), widowed_socket(ty));
        let empty = [io::IoSlice::new(b""), io::IoSlice::new(b"")];
        let iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2];
        // SAFETY: two empty iovecs.
        let libc_w = unsafe { libc::writev(theirs.as_raw_fd(), iov.as_ptr(), 2) };
        assert_eq!(
            uring_os::writev(&ours, &empty).unwrap() as isize,
            libc_w,
            "writev, type {ty}"
        );
        let mut nothing = [io::IoSliceMut::new(&mut []), io::IoSliceMut::new(&mut [])];
        // SAFETY: two empty iovecs.
        let libc_r = unsafe { libc::readv(theirs.as_raw_fd(), iov.as_ptr(), 2) };
        assert_eq!(
            uring_os::readv(&ours, &mut nothing).unwrap() as isize,
            libc_r,
            "readv, type {ty}"
        );
        // The next transfer reports what libc's does (a datagram socket's pending error).
        // SAFETY: one byte from a static.
        let libc_next = unsafe {
            libc::send(
                theirs.as_raw_fd(),
                b"x".as_ptr().cast(),
                1,
                libc::MSG_NOSIGNAL,
            )
        };
        assert_eq!(libc_next, -1);
        let libc_errno = last_errno();
        let ours_next = uring_os::send(&ours, b"x", libc::MSG_NOSIGNAL);
        assert_eq!(errno_of(ours_next), libc_errno, "the next send, type {ty}");
    }
}

/// A loopback IPv4 address whose port nobody listens on.
fn closed_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn tcp_socket() -> OwnedFd {
    // SAFETY: plain integer arguments; the new fd is ours.
    unsafe {
        OwnedFd::from_raw_fd(libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
        ))
    }
}

fn poll_now(fd: &OwnedFd) -> i16 {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one pollfd, no wait.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 1);
    pfd.revents
}

/// connect(2) of `fd` to the IPv4 `addr`, as libc makes it.
fn libc_connect(fd: &OwnedFd, addr: std::net::SocketAddr) -> Result<i32, Option<i32>> {
    let std::net::SocketAddr::V4(v4) = addr else {
        unreachable!()
    };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid sockaddr_in of its size.
    let res = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&raw const sin).cast(),
            size_of::<libc::sockaddr_in>() as u32,
        )
    };
    (res == 0).then_some(0).ok_or_else(last_errno)
}

// Found by the fuzzer: a blocking connect(2) that fails once under way (refused, reset,
// unreachable) disconnects the socket; io_uring took the error and left it half-closed, so
// poll reported POLLIN too and the next connect answered EALREADY.
#[test]
fn a_refused_connect_leaves_the_socket_as_connect_does() {
    let _serial = serial();
    warm_up();
    let addr = closed_port();
    for round in 0..10 {
        let (theirs, ours) = (tcp_socket(), tcp_socket());
        let libc_first = libc_connect(&theirs, addr);
        let ours_first = uring_os::connect(&ours, &addr).map_err(|e| e.raw_os_error());
        assert_eq!(
            ours_first.map(|()| 0),
            libc_first,
            "round {round}: the connect"
        );
        assert_eq!(
            poll_now(&ours),
            poll_now(&theirs),
            "round {round}: poll after it"
        );
        // Connecting again, as a retry loop does.
        let libc_again = libc_connect(&theirs, addr);
        let ours_again = uring_os::connect(&ours, &addr).map_err(|e| e.raw_os_error());
        assert_eq!(
            ours_again.map(|()| 0),
            libc_again,
            "round {round}: the next connect"
        );
    }
}

// The same connect in a batch, on the caller's socket: after the refusal the socket is
// disconnected as connect(2) leaves it, whether the handle or the scope's end took the
// result.
#[test]
fn a_refused_connect_in_a_batch_leaves_the_socket_as_connect_does() {
    let _serial = serial();
    warm_up();
    let addr = closed_port();
    for round in 0..10 {
        let (theirs, ours) = (tcp_socket(), tcp_socket());
        let libc_res = libc_connect(&theirs, addr);
        if round % 2 == 0 {
            let ours_res = uring_os::batch(|s| s.connect(&ours, &addr).wait());
            assert_eq!(
                ours_res.map(|()| 0).map_err(|e| e.raw_os_error()),
                libc_res,
                "round {round}: the connect"
            );
        } else {
            // Its result left for the scope's end.
            uring_os::batch(|s| {
                let _ = s.connect(&ours, &addr);
            });
        }
        assert_eq!(
            poll_now(&ours),
            poll_now(&theirs),
            "round {round}: poll after it"
        );
        let ours_again = uring_os::connect(&ours, &addr).map_err(|e| e.raw_os_error());
        assert_eq!(
            ours_again.map(|()| 0),
            libc_connect(&theirs, addr),
            "round {round}: the next connect"
        );
    }
}

// The shim's hook that leaves a program's iovecs unread by the crate puts its flag back when
// the call inside unwinds: afterwards a readv of nothing again answers 0 without the ring.
#[test]
fn the_unread_iovecs_flag_is_restored_after_a_panic() {
    let _serial = serial();
    warm_up();
    let unwound = std::panic::catch_unwind(|| uring_os::with_unread_iovecs(|| panic!("inside")));
    assert!(unwound.is_err());
    let (reader, _writer) = pipe();
    let mut none = [io::IoSliceMut::new(&mut [])];
    let before = uring_os::stats().ops;
    assert_eq!(uring_os::readv(&reader, &mut none).unwrap(), 0);
    assert_eq!(
        uring_os::stats().ops,
        before,
        "the readv of nothing reached the ring"
    );
}

// The same in a batch, through the scope's own fds: an O_DIRECT file opened in the scope
// (a direct descriptor where the kernel has them), or the caller's registered with
// `Batch::fixed`, read at the position twice, reads its first two blocks and leaves the
// position after them, as read(2) does.
#[test]
fn batch_reads_at_the_position_of_a_scope_o_direct_fd_move_it_like_the_syscalls() {
    let _serial = serial();
    let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
    let path = dir.path().join("direct");
    let data: Vec<u8> = (0..3 * 4096).map(|i| (i / 4096) as u8 + b'a').collect();
    std::fs::write(&path, &data).unwrap();
    let Some((theirs, ours)) = direct_twins(&path) else {
        return;
    };
    let mut libc_buf = Box::new(Aligned([0; 8192]));
    // SAFETY: the buffer is valid for 8192 bytes; two reads of 4 KiB at the position.
    let libc_got = unsafe {
        let p = libc_buf.0.as_mut_ptr();
        [
            libc::read(theirs.as_raw_fd(), p.cast(), 4096),
            libc::read(theirs.as_raw_fd(), p.add(4096).cast(), 4096),
        ]
    };
    assert_eq!(libc_got, [4096, 4096]);
    for how in [
        "opened in the scope",
        "opened and read in one chain",
        "fixed",
    ] {
        let mut buf = Box::new(Aligned([0; 8192]));
        let mut third = Box::new(Aligned([0; 8192]));
        let (first, second) = buf.0.split_at_mut(4096);
        let (got, third_len) = uring_os::batch(|s| {
            let fd = match how {
                "fixed" => {
                    // SAFETY: the fd is open; back to the start.
                    unsafe { libc::lseek(ours.as_raw_fd(), 0, libc::SEEK_SET) };
                    s.fixed(&ours)
                }
                _ => s
                    .open(&path, libc::O_RDONLY | libc::O_DIRECT | libc::O_CLOEXEC, 0)
                    .fd(),
            };
            let (a, b) = if how == "opened and read in one chain" {
                s.link(|s| (s.read(fd, &mut *first), s.read(fd, &mut *second)))
            } else {
                (s.read(fd, &mut *first), s.read(fd, &mut *second))
            };
            let got = [a.wait().unwrap(), b.wait().unwrap()];
            // The position after both: the third block's.
            let third = s.read(fd, &mut third.0[..4096]).wait().unwrap();
            (got, third)
        });
        assert_eq!(got, [4096, 4096], "{how}");
        // The first byte of each block says which block it is.
        let blocks = |b: &[u8]| b.chunks(4096).map(|c| c[0]).collect::<Vec<_>>();
        assert!(
            buf.0[..] == libc_buf.0[..],
            "{how}: read blocks {:?}",
            blocks(&buf.0)
        );
        assert_eq!(third_len, 4096, "{how}: the third read");
        assert!(
            third.0[..4096] == data[8192..],
            "{how}: the third read's block {:?}",
            blocks(&third.0[..4096])
        );
    }
}
