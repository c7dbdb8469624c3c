//! Regression tests for the defects a security and reliability review confirmed, one test
//! (or more) per defect, each failing before its fix. Every test compares with what the
//! syscall (or std) does, and none may hang: calls that could block run under `within`.

mod common;

use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{pipe, within};
use uring_os::CWD;

/// Makes sure this thread's next call goes through its ring (past the warm-up).
fn warm() {
    common::warm_up();
}

fn ring_in_use() -> bool {
    matches!(
        uring_os::status().backend,
        uring_os::Backend::IoUring { .. }
    )
}

// ---------------------------------------------------------------------------------------------
// 4. A batch whose operations wait on each other must not deadlock on its own queueing.

/// N one-byte reads of a pipe, then the write that satisfies them, then the reads waited
/// (first one first). Auto-started reads must not hold back the write queued after them,
/// and making room in the CQ must not wait for reads that need that write.
fn reads_then_the_feeding_write(n: usize) -> Vec<u8> {
    let (reader, writer) = pipe();
    let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
    let mut bufs = vec![[0u8; 1]; n];
    uring_os::batch(|s| {
        let reads: Vec<_> = bufs.iter_mut().map(|b| s.read(&reader, b)).collect();
        let write = s.write(&writer, &data);
        for read in reads {
            assert_eq!(read.wait().unwrap(), 1);
        }
        assert_eq!(write.wait().unwrap(), n);
    });
    bufs.iter().map(|b| b[0]).collect()
}

#[test]
fn reads_queued_before_their_write_complete_at_any_count() {
    for n in [1, 13, 63, 64, 65, 200, 1000] {
        let mut got = within(Duration::from_secs(20), "the batch", move || {
            reads_then_the_feeding_write(n)
        });
        got.sort_unstable();
        let want: Vec<u8> = (0..n).map(|i| i as u8).collect::<Vec<_>>();
        let mut want = want;
        want.sort_unstable();
        assert_eq!(got, want, "n = {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. A batch in a Drop that runs during unwinding runs, it is not cancelled.

struct FlushOnDrop<'a> {
    file: &'a fs::File,
}

impl Drop for FlushOnDrop<'_> {
    fn drop(&mut self) {
        // Queued, not waited: the scope's end must run it.
        uring_os::batch(|s| {
            let _ = s.pwrite(self.file, b"flushed", 0);
        });
    }
}

#[test]
fn a_batch_in_a_drop_during_unwinding_is_not_cancelled() {
    let file = tempfile::tempfile().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = FlushOnDrop { file: &file };
        panic!("unwinding through the guard");
    }));
    assert!(result.is_err());
    let mut content = String::new();
    (&file).read_to_string(&mut content).unwrap();
    assert_eq!(content, "flushed");
}

// ---------------------------------------------------------------------------------------------
// 7. close of an io_uring fd closes it, as close(2) does.

#[test]
fn close_of_an_io_uring_fd_closes_it() {
    warm();
    let ring = uring_os::ring::Ring::new(8).unwrap();
    let fd = ring.fd().expect("a ring made without hide_fd has an fd");
    // The ring is forgotten: its fd goes to uring_os::close, as an application's would.
    std::mem::forget(ring);
    // SAFETY: the ring's fd, now owned here.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    uring_os::close(owned).unwrap();
    // SAFETY: F_GETFD on a closed fd number is harmless.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, -1);
    assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EBADF));
}

// ---------------------------------------------------------------------------------------------
// 6. Opening a FIFO waits for the other end, as open(2) does.

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn opening_a_fifo_for_writing_waits_for_a_reader() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let path = fifo.clone();
    let writer = thread::spawn(move || {
        warm();
        let start = Instant::now();
        let fd = uring_os::open(&path, libc::O_WRONLY | libc::O_CLOEXEC, 0).unwrap();
        uring_os::write(&fd, b"hello").unwrap();
        start.elapsed()
    });
    thread::sleep(Duration::from_millis(200));
    let mut reader = fs::File::open(&fifo).unwrap();
    let mut got = String::new();
    reader.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello");
    let waited = writer.join().unwrap();
    assert!(
        waited >= Duration::from_millis(150),
        "open returned after {waited:?}"
    );
}

#[test]
fn opening_a_fifo_for_reading_waits_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let path = fifo.clone();
    let reader = thread::spawn(move || {
        warm();
        let start = Instant::now();
        let fd = uring_os::open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
        let opened = start.elapsed();
        let mut buf = [0u8; 16];
        let n = uring_os::read(&fd, &mut buf).unwrap();
        (opened, buf[..n].to_vec())
    });
    thread::sleep(Duration::from_millis(200));
    let mut writer = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(b"data").unwrap();
    drop(writer);
    let (opened, data) = reader.join().unwrap();
    assert!(
        opened >= Duration::from_millis(150),
        "open returned after {opened:?}"
    );
    assert_eq!(data, b"data");
}

#[test]
fn a_fifo_opened_while_a_writer_is_there_never_loses_its_reader() {
    // The writer opens first (blocking until a reader comes), so it may see EPIPE only if
    // the FIFO is ever left without readers.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let path = fifo.clone();
    let writer = thread::spawn(move || {
        let mut w = fs::OpenOptions::new().write(true).open(&path).unwrap();
        for _ in 0..100 {
            w.write_all(&[7u8; 512])?;
        }
        io::Result::Ok(())
    });
    warm();
    let fd = uring_os::open(&fifo, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
    let mut total = 0;
    let mut buf = [0u8; 4096];
    loop {
        let n = uring_os::read(&fd, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    writer.join().unwrap().unwrap();
    assert_eq!(total, 51200);
}

#[test]
fn nonblocking_fifo_opens_answer_at_once_like_open() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    warm();
    let err = uring_os::open(&fifo, libc::O_WRONLY | libc::O_NONBLOCK, 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENXIO));
    let fd = uring_os::open(&fifo, libc::O_RDONLY | libc::O_NONBLOCK, 0).unwrap();
    drop(fd);
    // O_RDWR never waits on Linux.
    let fd = uring_os::open(&fifo, libc::O_RDWR, 0).unwrap();
    drop(fd);
}

// ---------------------------------------------------------------------------------------------
// 10. poll reports only the events asked for, plus errors and hangups.

#[test]
fn poll_does_not_report_rdhup_it_was_not_asked_for() {
    warm();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    thread::sleep(Duration::from_millis(50));
    let events = libc::POLLIN;
    let ours = uring_os::poll(&server, events).unwrap();
    let mut pfd = libc::pollfd {
        fd: server.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 1);
    assert_eq!(
        ours, pfd.revents,
        "uring_os {ours:#x}, poll(2) {:#x}",
        pfd.revents
    );
    assert_eq!(ours & libc::POLLRDHUP, 0);
    let batched = uring_os::batch(|s| s.poll(&server, events).wait()).unwrap();
    assert_eq!(batched, pfd.revents);
}

// ---------------------------------------------------------------------------------------------
// 11. Paths that name the calling thread mean the calling thread.

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

#[test]
fn proc_thread_self_resolves_to_the_calling_thread() {
    warm();
    let tid = gettid();
    // stat of /proc/thread-self is the calling thread's /proc/<pid>/task/<tid>.
    let want = fs::metadata(format!("/proc/self/task/{tid}")).unwrap();
    let got = uring_os::statx(CWD, "/proc/thread-self", 0, libc::STATX_INO).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(got.stx_ino, want.ino(), "statx of /proc/thread-self");
    // O_CREAT opens run on io-wq too; the comm file exists, so this opens it.
    let fd = uring_os::open(
        "/proc/thread-self/comm",
        libc::O_RDONLY | libc::O_CREAT | libc::O_CLOEXEC,
        0o600,
    );
    if let Ok(fd) = fd {
        let mut name = [0u8; 64];
        let n = uring_os::read(&fd, &mut name).unwrap();
        let own = fs::read(format!("/proc/self/task/{tid}/comm")).unwrap();
        assert_eq!(&name[..n], &own[..], "comm of the calling thread");
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Arguments the ring cannot carry get the syscall's answer under Fallback::Error too.
// (Fallback::Error is process-wide configuration: the checks run in a fresh process.)

#[test]
fn fallback_error_keeps_the_syscalls_errors() {
    common::fresh::in_fresh_process("fresh_fallback_error", &[]);
}

#[test]
#[ignore = "helper: run in a fresh process by fallback_error_keeps_the_syscalls_errors"]
fn fresh_fallback_error() {
    if !common::fresh::is_fresh("fresh_fallback_error") {
        return;
    }
    uring_os::configure(uring_os::Config::default().fallback(uring_os::Fallback::Error))
        .expect("the first use in this process");
    let (reader, _writer) = pipe();
    let mut buf = [0u8; 4];
    let err = uring_os::pread(&reader, &mut buf, 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESPIPE));
    let file = tempfile::tempfile().unwrap();
    uring_os::fadvise(&file, 0, 1 << 33, libc::POSIX_FADV_NORMAL).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 9. splice offsets are checked as splice(2) checks them.

#[test]
fn splice_offsets_beyond_off_t_are_refused_like_splice() {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"0123456789").unwrap();
    let (reader, writer) = pipe();
    for off in [u64::MAX, i64::MAX as u64 + 1] {
        let ours = uring_os::splice(&file, Some(off), &writer, None, 4, 0).unwrap_err();
        let mut o = off as i64;
        // SAFETY: valid fds and a valid offset pointer.
        let theirs = unsafe {
            libc::splice(
                file.as_raw_fd(),
                &mut o,
                writer.as_raw_fd(),
                std::ptr::null_mut(),
                4,
                0,
            )
        };
        assert_eq!(theirs, -1);
        let errno = io::Error::last_os_error().raw_os_error();
        assert_eq!(ours.raw_os_error(), errno, "offset {off:#x}");
    }
    // The file position was not used or moved.
    use std::io::Seek;
    assert_eq!(file.stream_position().unwrap(), 10);
    // A pipe with an offset is ESPIPE, whatever the offset.
    let err = uring_os::splice(&reader, Some(u64::MAX), &writer, None, 4, 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESPIPE));
}

// ---------------------------------------------------------------------------------------------
// Kept from the review: without SQPOLL the kernel uses the current credentials.

#[test]
fn without_sqpoll_ring_ops_use_the_current_credentials() {
    if !ring_in_use() {
        eprintln!("skipped: no ring here ({:?})", uring_os::status().backend);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    fs::write(&secret, b"root only").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let secret = secret.clone();
    let status = common::fork::in_child(move || {
        // The ring exists before the drop of privileges.
        if uring_os::nop().is_err() || uring_os::nop().is_err() {
            return 2;
        }
        // SAFETY: plain integer arguments; nobody is 65534.
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setresgid(65534, 65534, 65534) == 0
                && libc::setresuid(65534, 65534, 65534) == 0
        };
        if !dropped {
            return 3;
        }
        match uring_os::open(&secret, libc::O_RDONLY | libc::O_CLOEXEC, 0) {
            Err(e) if e.kind() == ErrorKind::PermissionDenied => 0,
            Ok(_) => 4,
            Err(_) => 5,
        }
    });
    assert_eq!(status, 0);
}

// ---------------------------------------------------------------------------------------------
// 3. A deadline bounds every path of a write on a blocking stream, with a ring and without.

/// writev and write of 100,000 bytes to a pipe nobody reads, under a 200 ms deadline:
/// return within the deadline with what fit (a partial count), and the pipe holds exactly
/// that.
fn timed_writes_to_a_full_pipe() {
    for vectored in [true, false] {
        let (reader, writer) = pipe();
        let data = vec![9u8; 100_000];
        let start = Instant::now();
        let res = within(Duration::from_secs(10), "the timed write", move || {
            let res = uring_os::with_timeout(Duration::from_millis(200), || {
                if vectored {
                    let (a, b) = data.split_at(30_000);
                    uring_os::writev(&writer, &[io::IoSlice::new(a), io::IoSlice::new(b)])
                } else {
                    uring_os::write(&writer, &data)
                }
            });
            (res, writer)
        });
        let (res, writer) = res;
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "took {took:?}");
        let n = res.unwrap();
        assert!(n > 0 && n < 100_000, "wrote {n}");
        drop(writer);
        assert_eq!(common::drain(&reader).len(), n);
    }
}

#[test]
fn a_deadline_bounds_writes_to_a_full_pipe() {
    timed_writes_to_a_full_pipe();
    common::fresh::in_fresh_process("fresh_deadline_without_ring", &[("URING_OS", "off")]);
}

#[test]
#[ignore = "helper: run in a fresh process by a_deadline_bounds_writes_to_a_full_pipe"]
fn fresh_deadline_without_ring() {
    if !common::fresh::is_fresh("fresh_deadline_without_ring") {
        return;
    }
    timed_writes_to_a_full_pipe();
}

// ---------------------------------------------------------------------------------------------
// 5. Without io_uring a batch runs its operations concurrently, as the ring does.

/// Reads of an empty pipe queued before the writes that feed them; a panic with reads still
/// blocked unwinds out of the scope promptly.
fn batch_of_dependent_operations() {
    let (reader, writer) = pipe();
    let (mut a, mut b) = ([0u8; 3], [0u8; 3]);
    let got = within(Duration::from_secs(10), "the batch", move || {
        let res = uring_os::batch(|s| {
            let ra = s.read(&reader, &mut a);
            let rb = s.read(&reader, &mut b);
            s.submit();
            let w = s.write(&writer, b"abcdef");
            (ra.wait(), rb.wait(), w.wait())
        });
        (res.0.unwrap(), res.1.unwrap(), res.2.unwrap(), a, b)
    });
    assert_eq!((got.0, got.1, got.2), (3, 3, 6));
    let mut both = [got.3, got.4].concat();
    both.sort_unstable();
    assert_eq!(both, b"abcdef");

    let (reader, writer) = pipe();
    let unwound = within(Duration::from_secs(10), "the panicking batch", move || {
        let mut buf = [0u8; 4];
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                let _read = s.read(&reader, &mut buf);
                s.submit();
                panic!("with a read blocked");
            })
        }));
        // The read never happened: what is written later is still there.
        uring_os::write(&writer, b"late").unwrap();
        (result.is_err(), common::read_available(&reader))
    });
    assert!(unwound.0);
    assert_eq!(unwound.1, b"late");
}

#[test]
fn a_batch_without_io_uring_runs_its_operations_concurrently() {
    batch_of_dependent_operations();
    common::fresh::in_fresh_process("fresh_concurrent_without_ring", &[("URING_OS", "off")]);
}

#[test]
#[ignore = "helper: run in a fresh process by a_batch_without_io_uring_runs_its_operations_concurrently"]
fn fresh_concurrent_without_ring() {
    if !common::fresh::is_fresh("fresh_concurrent_without_ring") {
        return;
    }
    assert!(!ring_in_use(), "URING_OS=off");
    batch_of_dependent_operations();
}

// ---------------------------------------------------------------------------------------------
// 2. Socket timeouts (SO_RCVTIMEO / SO_SNDTIMEO) bound calls through the ring as they bound
// the syscalls: EAGAIN after the timeout (EINPROGRESS for connect).

/// Runs `call` and the syscall `libc_call` on sockets with a 150 ms timeout; both must
/// fail with the same errno, after about the timeout.
fn same_timeout_error(
    what: &str,
    call: impl FnOnce() -> io::Result<()> + Send + 'static,
    libc_call: impl FnOnce() -> i32 + Send + 'static,
) {
    let start = Instant::now();
    let ours = within(Duration::from_secs(10), what, move || {
        warm();
        call()
    });
    let took = start.elapsed();
    let theirs = within(Duration::from_secs(10), what, move || {
        let res = libc_call();
        (res, io::Error::last_os_error().raw_os_error())
    });
    assert_eq!(theirs.0, -1, "{what}: the syscall timed out");
    assert_eq!(ours.unwrap_err().raw_os_error(), theirs.1, "{what}");
    assert!(
        took >= Duration::from_millis(120),
        "{what} returned after {took:?}"
    );
}

#[test]
fn socket_timeouts_bound_recv_read_and_accept() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::net::TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    // Set through std, as an application would, before any uring_os call on the socket.
    server
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let (s1, s2) = (server.try_clone().unwrap(), server.try_clone().unwrap());
    same_timeout_error(
        "recv",
        move || uring_os::recv(&s1, &mut [0u8; 8], 0).map(drop),
        move || {
            let mut buf = [0u8; 8];
            // SAFETY: a valid buffer.
            unsafe { libc::recv(s2.as_raw_fd(), buf.as_mut_ptr().cast(), 8, 0) as i32 }
        },
    );
    let (c1, c2) = (client.try_clone().unwrap(), client.try_clone().unwrap());
    same_timeout_error(
        "read",
        move || uring_os::read(&c1, &mut [0u8; 8]).map(drop),
        move || {
            let mut buf = [0u8; 8];
            // SAFETY: a valid buffer.
            unsafe { libc::read(c2.as_raw_fd(), buf.as_mut_ptr().cast(), 8) as i32 }
        },
    );
    // A timeout set after the socket was already used through the ring applies too.
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let s3 = server.try_clone().unwrap();
    let start = Instant::now();
    let err = within(
        Duration::from_secs(10),
        "recv after a new timeout",
        move || uring_os::recv(&s3, &mut [0u8; 8], 0),
    )
    .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN));
    assert!(start.elapsed() >= Duration::from_millis(250));
    // Data that arrives in time is received, not lost to the timeout.
    client
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let s4 = server.try_clone().unwrap();
    let reader = thread::spawn(move || {
        warm();
        let mut buf = [0u8; 8];
        let n = uring_os::recv(&s4, &mut buf, 0).unwrap();
        buf[..n].to_vec()
    });
    thread::sleep(Duration::from_millis(50));
    uring_os::send(&client, b"hi", 0).unwrap();
    assert_eq!(reader.join().unwrap(), b"hi");

    // accept on a listener with SO_RCVTIMEO.
    let timed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 150_000,
    };
    // SAFETY: a valid timeval for SO_RCVTIMEO.
    let res = unsafe {
        libc::setsockopt(
            timed.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            size_of::<libc::timeval>() as u32,
        )
    };
    assert_eq!(res, 0);
    let (l1, l2) = (timed.try_clone().unwrap(), timed.try_clone().unwrap());
    same_timeout_error(
        "accept",
        move || uring_os::accept(&l1).map(drop),
        move || {
            // SAFETY: null address pointers are allowed.
            unsafe { libc::accept(l2.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Under SQPOLL, no operation runs with the credentials of before a change.

#[test]
fn sqpoll_ops_use_the_credentials_of_their_submission() {
    common::fresh::in_fresh_process("fresh_sqpoll_credentials", &[]);
}

#[test]
#[ignore = "helper: run in a fresh process by sqpoll_ops_use_the_credentials_of_their_submission"]
fn fresh_sqpoll_credentials() {
    if !common::fresh::is_fresh("fresh_sqpoll_credentials") {
        return;
    }
    uring_os::configure(uring_os::Config::default().sqpoll(Duration::from_millis(50)))
        .expect("the first use in this process");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    fs::write(&secret, b"root only").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    // The scratch directory must stay reachable for nobody.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    warm();
    match uring_os::status().backend {
        uring_os::Backend::IoUring { setup_flags, .. } => {
            assert_ne!(
                setup_flags & uring_os::sys::IORING_SETUP_SQPOLL,
                0,
                "an SQPOLL ring"
            );
        }
        other => {
            common::fresh::fresh_skip(format!("no ring: {other:?}"));
            return;
        }
    }
    // As root, the ring opens it.
    drop(uring_os::open(&secret, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap());
    // SAFETY: plain integer arguments; nobody is 65534. This process is disposable.
    let dropped = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setresgid(65534, 65534, 65534) == 0
            && libc::setresuid(65534, 65534, 65534) == 0
    };
    assert!(
        dropped,
        "dropping privileges: {}",
        io::Error::last_os_error()
    );
    let err = uring_os::open(&secret, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::PermissionDenied,
        "single call after the drop"
    );
    let in_batch = uring_os::batch(|s| s.open(&secret, libc::O_RDONLY | libc::O_CLOEXEC, 0).wait());
    assert_eq!(
        in_batch.unwrap_err().kind(),
        ErrorKind::PermissionDenied,
        "batch after the drop"
    );
}

// ---------------------------------------------------------------------------------------------
// Suspected: a vfork child calling uring_os before its thread's first ring call. The child
// shares its parent's memory (thread-locals too): it must not set up a ring there.

extern "C" fn vfork_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the parent passes a pointer to the write end's fd number, alive while it
    // waits for this child (CLONE_VFORK).
    let fd = unsafe { *arg.cast::<i32>() };
    // SAFETY: the fd stays open in this child for the call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let ok = uring_os::nop().is_ok()
        && uring_os::nop().is_ok()
        && uring_os::write(fd, b"child").is_ok_and(|n| n == 5);
    if ok { 0 } else { 1 }
}

#[test]
fn a_vfork_child_leaves_its_parents_thread_state_alone() {
    let (reader, writer) = pipe();
    let status = thread::spawn(move || {
        // This thread has made no call yet: the child's would be the first.
        let mut stack = vec![0u8; 256 * 1024];
        let mut fd = writer.as_raw_fd();
        // SAFETY: the child runs `vfork_child` on its own stack, sharing memory; CLONE_VFORK
        // suspends this thread until the child exits, so `stack` and `fd` outlive it.
        let pid = unsafe {
            let top = stack.as_mut_ptr().add(stack.len()).cast();
            libc::clone(
                vfork_child,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&raw mut fd).cast(),
            )
        };
        assert!(pid > 0, "clone: {}", io::Error::last_os_error());
        let status = common::fork::wait_child(pid);
        // The parent's thread then gets a ring of its own that works.
        warm();
        let before = uring_os::stats();
        // Under a timeout, so that Dispatch::Auto (which sends single calls to the syscall)
        // takes the ring too.
        uring_os::with_timeout(Duration::from_secs(3600), uring_os::nop).unwrap();
        let after = uring_os::stats();
        (status, after.ops - before.ops, uring_os::status().backend)
    })
    .join()
    .unwrap();
    assert_eq!(status.0, 0, "the child's calls");
    assert_eq!(common::drain(&reader), "child");
    if matches!(status.2, uring_os::Backend::IoUring { .. }) {
        assert_eq!(status.1, 1, "the parent's nop went through its ring");
    }
}

// ---------------------------------------------------------------------------------------------
// Suspected, and confirmed: io-wq workers resolving relative paths after unshare(CLONE_FS)
// and chdir. A worker shares the fs_struct (cwd, root, umask) the thread had when the worker
// was made; after the thread unshares it, an operation the kernel hands to a worker (every
// O_CREAT open, mkdirat, statx, ..., and opens of uncached paths) resolves paths against
// the old cwd. The crate cannot see the unshare (a raw syscall), and telling whether the
// thread still shares its fs_struct costs a kcmp(2) per path operation. Not fixed; the
// README lists it among the differences from the syscalls.

#[test]
#[ignore = "known difference: io-wq workers keep the cwd of before unshare(CLONE_FS) (README)"]
fn relative_paths_follow_a_chdir_after_unshare_fs() {
    let base = tempfile::tempdir().unwrap();
    let (old, new) = (base.path().join("old"), base.path().join("new"));
    fs::create_dir(&old).unwrap();
    fs::create_dir(&new).unwrap();
    let (old2, new2) = (old.clone(), new.clone());
    thread::spawn(move || {
        // SAFETY: CLONE_FS only gives this thread its own cwd and umask.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_FS) }, 0);
        std::env::set_current_dir(&old2).unwrap();
        warm();
        // io-wq workers exist for this ring now (an O_CREAT open is always handed to one).
        drop(uring_os::open(
            "first",
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600,
        ));
        // SAFETY: as above; a second unshare gives yet another copy.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_FS) }, 0);
        std::env::set_current_dir(&new2).unwrap();
        drop(uring_os::open(
            "second",
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600,
        ));
        uring_os::mkdirat(CWD, "dir", 0o700).unwrap();
        let st = uring_os::statx(CWD, "second", 0, libc::STATX_TYPE).unwrap();
        assert_eq!(u32::from(st.stx_mode) & libc::S_IFMT, libc::S_IFREG);
    })
    .join()
    .unwrap();
    assert!(old.join("first").exists());
    assert!(
        new.join("second").exists(),
        "created relative to the new cwd"
    );
    assert!(!old.join("second").exists(), "not relative to the old one");
    assert!(new.join("dir").is_dir());
}

// ---------------------------------------------------------------------------------------------
// Suspected: stats lost for calls made in thread-local destructors. (Checked: they count.)

struct CallsOnDrop;

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        for _ in 0..10 {
            let _ = uring_os::nop();
        }
    }
}

thread_local! {
    static CALLS_ON_DROP: CallsOnDrop = const { CallsOnDrop };
}

#[test]
fn calls_in_thread_local_destructors_are_counted() {
    let _serial = common::fork::no_forks_meanwhile();
    let before = uring_os::stats();
    thread::spawn(|| {
        CALLS_ON_DROP.with(|_| {});
        uring_os::nop().unwrap();
    })
    .join()
    .unwrap();
    let after = uring_os::stats();
    let counted = (after.ops + after.fallbacks) - (before.ops + before.fallbacks);
    // Other tests run meanwhile, so at least ours: the nop and the ten in the destructor.
    assert!(counted >= 11, "counted {counted}");
}
