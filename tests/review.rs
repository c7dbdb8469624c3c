//! Review findings: each test shows one problem found in review (it fails, or hangs and is
//! caught by a deadline, while the problem is there). The doc comment of each says what goes
//! wrong and what the syscall (or std) does instead.
//!
//! Tests that count fds or reuse fd numbers run one at a time ([`serial`]).

#[macro_use]
mod common;

use std::fs;
use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLockReadGuard};
use std::time::{Duration, Instant};

use common::fresh::{in_fresh_process, is_fresh};
use common::{fd_count, pipe, sys, within};

static SERIAL: Mutex<()> = Mutex::new(());

/// Held by every test here: fd counts and fd numbers stay ours while it runs (no other test
/// of this binary opens fds, no fork copies ours).
fn serial() -> (
    MutexGuard<'static, ()>,
    Option<RwLockReadGuard<'static, ()>>,
) {
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    (guard, common::fork::no_forks_meanwhile())
}

/// Only the serial lock: for tests that fork or start a fresh process themselves.
fn serial_forking() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `fd` is an open fd number of this process.
fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD on any number only reads the fd table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

fn temp_file(len: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, (0..len).map(|i| i as u8).collect::<Vec<u8>>()).unwrap();
    (dir, path)
}

fn set_timeout(fd: impl AsFd, option: i32, timeout: Duration) {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: a timeval of the size passed, valid for the call.
    let res = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw const tv).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    assert_eq!(res, 0, "setsockopt");
}

/// `Batch::close` of a scope fd while an earlier entry that names the fd is linked behind
/// an entry still waiting (so the kernel has not looked the fd up yet): the close runs at
/// once, the number is free, a file opened meanwhile takes it, and the linked write then
/// goes into that file — one the scope never named. With syscalls in order (and in the
/// crate's own emulation, which re-reads the scope fd) the write finds the fd closed.
/// core.rs `push_with`/`start` let a closer start before the fd's earlier users were issued.
#[test]
fn closing_a_scope_fd_lets_a_pending_linked_write_hit_another_file() {
    let _serial = serial();
    require_ring!("closing_a_scope_fd_lets_a_pending_linked_write_hit_another_file");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let file_a = fs::File::create(&a).unwrap();
    let number = file_a.as_raw_fd();
    let (reader, writer) = pipe();
    let mut byte = [0u8; 1];
    let (closed, write, reused) = uring_os::batch(|s| {
        let f = s.own(file_a);
        let (_read, write) = s.link(|s| (s.read(&reader, &mut byte), s.write(f, b"secret")));
        s.submit();
        let closed = s.close(f).wait();
        // Someone opens a file: it takes the lowest free number, the one just closed.
        let file_b = fs::File::create(&b).unwrap();
        let reused = file_b.as_raw_fd() == number;
        // Now the read completes and the linked write is issued.
        sys::write(&writer, b"x").unwrap();
        let write = write.wait();
        drop(file_b);
        (closed, write, reused)
    });
    closed.unwrap();
    // The scope keeps the number taken while the write may still look it up: the next
    // open gets another one, and the write fails with EBADF, as after close(2).
    assert!(
        !reused,
        "the closed number was reused under the pending write"
    );
    assert_eq!(
        write.as_ref().map_err(|e| e.raw_os_error()).err(),
        Some(Some(libc::EBADF))
    );
    let in_b = fs::read(&b).unwrap();
    assert!(
        in_b.is_empty(),
        "the scope's write went into a file it never named ({:?} bytes, write gave {write:?})",
        in_b.len()
    );
}

/// `Batch::view` inside another `view` of the same buffer: the inner one's end clears the
/// buffer's `viewing` flag (a bool, not a count) while the outer `&[u8]` is still alive, so
/// a read into the buffer is accepted and the kernel writes bytes the caller holds a shared
/// reference to (aliasing UB). mod.rs `view`/`EndView`, checked in `push_using`.
#[test]
fn a_nested_view_lets_the_kernel_write_into_lent_bytes() {
    let _serial = serial();
    let (_dir, path) = temp_file(16);
    let file = fs::File::open(&path).unwrap();
    let outcome = uring_os::batch(|s| {
        let buf = s.buffer(16);
        s.view(buf, |outer| {
            let before = outer[5];
            s.view(buf, |_inner| ());
            // The outer view still lends `outer`: a read into the buffer must be refused.
            let read = s.pread(&file, buf, 0).wait();
            let after = std::hint::black_box(outer)[5];
            (read.map_err(|e| e.raw_os_error()), before, after)
        })
    });
    assert_eq!(
        outcome.0,
        Err(Some(libc::EBUSY)),
        "a read into a buffer still lent out was let through (the lent byte went {} -> {})",
        outcome.1,
        outcome.2
    );
}

/// A socket made in a scope (`Batch::socket`) and used through its `ScopeFd`, its handle
/// never waited: the scope does not close it (op::Socket lacks `MAKES_FD`, unlike open and
/// accept), so the fd leaks.
#[test]
fn a_scope_socket_nobody_takes_is_never_closed() {
    let _serial = serial();
    let before = fd_count();
    let bound = uring_os::batch(|s| {
        let sock = s.socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        s.bind(sock.fd(), &"127.0.0.1:0".parse().unwrap()).wait()
    });
    bound.unwrap();
    assert_eq!(fd_count(), before, "the scope's socket is still open");
}

/// A socket made in a scope, closed through its `ScopeFd` (`Batch::close`), then its handle
/// waited: the handle hands out an `OwnedFd` for the number the scope already closed (an
/// open gives `EBADF` there). Whoever opens next gets that number, and dropping the
/// `OwnedFd` closes their file: an I/O-safety violation from safe code.
#[test]
fn waiting_a_scope_socket_after_closing_it_hands_out_a_closed_fd() {
    let _serial = serial();
    let handed = uring_os::batch(|s| {
        let sock = s.socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        s.close(sock.fd()).wait().unwrap();
        sock.wait()
    });
    if let Ok(fd) = handed {
        let number = fd.as_raw_fd();
        let open = is_open(number);
        // Not ours to close (it is closed, or someone else's by now).
        std::mem::forget(fd);
        panic!(
            "the handle gave an OwnedFd for fd {number}, closed by the scope (open now: {open})"
        );
    }
}

/// A scope fd whose close was cancelled (a short read earlier in its chain), then the open's
/// handle waited: it says `EBADF` because a close was queued, marks the fd gone, and neither
/// hands it out nor closes it at the scope's end — the fd leaks. core.rs `hand_out_fd`
/// counts a queued closer as a completed close.
#[test]
fn waiting_an_open_whose_close_was_cancelled_leaks_the_fd() {
    let _serial = serial();
    let (_dir, path) = temp_file(10);
    let before = fd_count();
    let mut buf = [0u8; 100];
    let (read, close, open) = uring_os::batch(|s| {
        let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
        let f = o.fd();
        // A short read ends the chain: the close after it is cancelled.
        let (r, c) = s.link(|s| (s.read(f, &mut buf), s.close(f)));
        (r.wait(), c.wait(), o.wait())
    });
    assert_eq!(read.unwrap(), 10);
    assert_eq!(close.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    let open_text = format!("{open:?}");
    // An fd the handle gave is the caller's: closed here.
    drop(open);
    assert_eq!(
        fd_count(),
        before,
        "an fd is left open after the scope (the open's handle gave {open_text})"
    );
}

/// A linked chain that opens a file into a scope fd and uses it, longer than the ring's SQ:
/// the scope first turns the open into an open into a fixed file (resolve_scope_fds), then
/// finds the chain cannot go on the ring and runs it as syscalls — where an open into a
/// fixed file cannot run (`EINVAL`), so the open fails and the chain is cancelled. The
/// syscalls (what the docs promise for such chains) open the file and read it.
#[test]
fn a_chain_longer_than_the_sq_fails_its_scope_open_with_einval() {
    let _serial = serial();
    let entries = match common::ring_entries() {
        Ok(entries) => entries as usize,
        Err(reason) => return common::skip("a_chain_longer_than_the_sq", reason),
    };
    let (_dir, path) = temp_file(4096);
    let mut bufs = vec![[0u8; 1]; entries + 4];
    let (open, first) = uring_os::batch(|s| {
        let (o, reads) = s.link(|s| {
            let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let f = o.fd();
            let reads: Vec<_> = bufs
                .iter_mut()
                .enumerate()
                .map(|(i, b)| s.pread(f, b, i as u64))
                .collect();
            (o, reads)
        });
        let first = reads.into_iter().next().unwrap().wait();
        (o.wait().map(drop), first)
    });
    assert_eq!(
        (
            open.map_err(|e| e.raw_os_error()),
            first.map_err(|e| e.raw_os_error())
        ),
        (Ok(()), Ok(1)),
        "the open and the first read, as the syscalls give them"
    );
}

/// An accept, a recv on its `ScopeFd` not linked to it, then the connect and send that the
/// accept waits for, all in one scope. Starting the recv waits for the accept right there
/// (resolve_scope_fds: "the entry waits for it"), before the connect is even queued: the
/// scope deadlocks in `link` (or `submit`, or any wait). On the ring the accept would just
/// complete once the connect ran. Without a ring (see the next test) the recv gets `EBADF`.
#[test]
fn a_recv_on_a_pending_accepts_scope_fd_deadlocks_the_scope() {
    let _serial = serial();
    require_ring!("a_recv_on_a_pending_accepts_scope_fd_deadlocks_the_scope");
    let got = within(Duration::from_secs(5), "the scope", accept_then_recv);
    assert_eq!(got, Ok(b"hello".to_vec()));
}

/// The scope of the test above: what the recv on the accepted connection got.
fn accept_then_recv() -> Result<Vec<u8>, Option<i32>> {
    let (listener, addr) = common::listener();
    let client = sys::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).unwrap();
    let mut buf = [0u8; 5];
    let got = uring_os::batch(|s| {
        let accepted = s.accept(&listener);
        let got = s.recv(accepted.fd(), &mut buf, libc::MSG_WAITALL);
        let _sent = s.link(|s| (s.connect(&client, &addr), s.send(&client, b"hello", 0)));
        got.wait()
    });
    got.map(|n| buf[..n].to_vec()).map_err(|e| e.raw_os_error())
}

/// Without a ring the same scope runs as syscalls, chain beside chain: the recv, in a chain
/// of its own, looks up the accept's fd before the accept has completed and fails with
/// `EBADF` instead of waiting for it (emulate.rs `advance` takes an unfinished maker as
/// `Bad`).
#[test]
fn without_a_ring_a_recv_on_a_pending_accepts_scope_fd_gets_ebadf() {
    let _serial = serial_forking();
    in_fresh_process(
        "fresh_accept_then_recv_without_ring",
        &[("URING_OS", "off")],
    );
}

#[test]
#[ignore = "helper: run in a fresh process by without_a_ring_a_recv_on_a_pending_accepts_scope_fd_gets_ebadf"]
fn fresh_accept_then_recv_without_ring() {
    if !is_fresh("fresh_accept_then_recv_without_ring") {
        return;
    }
    let got = within(Duration::from_secs(5), "the scope", accept_then_recv);
    assert_eq!(got, Ok(b"hello".to_vec()));
}

/// `Batch::fixed` once every fixed file slot is taken: the `ScopeFd` stands for the caller's
/// fd number itself. `Batch::close` of it then closes the caller's fd (with a fixed slot it
/// only drops the registration), and the caller's `File` closes the number again when it
/// drops: a double close of whatever has the number by then. The same without a ring.
#[test]
fn closing_a_fixed_scope_fd_without_a_slot_closes_the_callers_fd() {
    let _serial = serial();
    let (_dir, path) = temp_file(16);
    let file = fs::File::open(&path).unwrap();
    let number = file.as_raw_fd();
    let closed = uring_os::batch(|s| {
        // One more than the fixed file slots of the thread's ring (as many as its CQ).
        let slots = common::ring_entries().map_or(0, |sq| 2 * sq as usize);
        let fds: Vec<_> = (0..=slots).map(|_| s.fixed(&file)).collect();
        s.close(*fds.last().unwrap()).wait()
    });
    let still_open = is_open(number);
    if !still_open {
        // Closed behind the File's back: forget it, or its drop closes someone else's fd.
        std::mem::forget(file);
    }
    assert!(
        still_open,
        "the caller's fd {number} was closed by the scope (close gave {closed:?})"
    );
}

/// A `Batch::fixed` scope fd (in a fixed file slot) used by a call the ring cannot carry
/// (fadvise of more than 4 GiB: `fits_ring` is false) runs as the syscall, where a fixed
/// file "cannot stand for it" (emulate.rs `advance`): the call fails with `EBADF`, though
/// the scope knows the caller's fd number. The blocking call and the syscall succeed.
#[test]
fn a_fixed_scope_fd_in_a_call_run_as_syscall_gives_ebadf() {
    let _serial = serial();
    let (_dir, path) = temp_file(16);
    let file = fs::File::open(&path).unwrap();
    let len = 1u64 << 33;
    uring_os::fadvise(&file, 0, len, libc::POSIX_FADV_NORMAL).expect("the blocking call");
    let res = uring_os::batch(|s| {
        let f = s.fixed(&file);
        s.fadvise(f, 0, len, libc::POSIX_FADV_NORMAL).wait()
    });
    assert_eq!(res.map_err(|e| e.raw_os_error()), Ok(()));
}

/// `Batch::read_file` when every fixed file slot is held for the scope's life (here by
/// `Batch::fixed`; scope fds opened into fixed files do the same): it loops on
/// `FixedSlot::Busy`, calling `wait_one`, which returns at once with nothing in flight —
/// a busy loop that never ends. It should read the file some other way (openat + read +
/// close, as without fixed files). Run in a fresh process, which is killed when it spins.
#[test]
fn read_file_spins_forever_when_every_fixed_slot_is_held() {
    let _serial = serial_forking();
    in_fresh_process("fresh_read_file_with_every_slot_held", &[]);
}

#[test]
#[ignore = "helper: run in a fresh process by read_file_spins_forever_when_every_fixed_slot_is_held"]
fn fresh_read_file_with_every_slot_held() {
    if !is_fresh("fresh_read_file_with_every_slot_held") {
        return;
    }
    let Ok(sq) = common::ring_entries() else {
        return common::fresh::fresh_skip("no ring");
    };
    let (_dir, path) = temp_file(16);
    let got = within(Duration::from_secs(5), "read_file", move || {
        let file = fs::File::open(&path).unwrap();
        let mut buf = [0u8; 4];
        let n = uring_os::batch(|s| {
            for _ in 0..=2 * sq {
                let _ = s.fixed(&file);
            }
            s.read_file(uring_os::CWD, &path, &mut buf).wait()
        });
        n.map_err(|e| e.raw_os_error())
    });
    // On failure the process ends with the test, and the spinning thread with it.
    assert_eq!(got, Ok(4));
}

/// `Batch::read_all` of a file that reads short before its end (a proc file hands out a
/// page or so per read): when the first read is short, ReadAll::wait keeps only its bytes,
/// ignores what the second read got, and reads no further — the result is cut to the first
/// read's ~4 KiB. std::fs::read (and the crate's docs: "as std::fs::read does") reads until
/// a read returns 0.
#[test]
fn read_all_of_a_proc_file_stops_at_the_first_short_read() {
    let _serial = serial();
    // Many separate mappings, so /proc/self/maps is well over a few pages.
    let page = 4096;
    let count = 400;
    // SAFETY: a fresh anonymous mapping, unmapped below; nothing else uses it.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page * count,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    for i in (0..count).step_by(2) {
        // SAFETY: a page inside the mapping made above.
        unsafe {
            libc::mprotect(
                base.cast::<u8>().add(i * page).cast(),
                page,
                libc::PROT_READ,
            )
        };
    }
    let theirs = fs::read("/proc/self/maps").unwrap();
    let ours = uring_os::batch(|s| s.read_all(uring_os::CWD, "/proc/self/maps").wait()).unwrap();
    // SAFETY: the mapping made above, no longer used.
    unsafe { libc::munmap(base, page * count) };
    assert!(theirs.len() > 4 * page, "precondition: a large maps file");
    assert!(
        ours.len() * 10 >= theirs.len() * 9,
        "read_all gave {} bytes of /proc/self/maps, std::fs::read {}",
        ours.len(),
        theirs.len()
    );
}

/// `Batch::copy` of a file whose size says 0 but that has bytes (a proc file): it copies
/// `stx_size` bytes and stops, so the copy is empty; std::fs::copy (which it says it does
/// as) copies until the end of the data.
#[test]
fn copy_of_a_proc_file_copies_nothing() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (ours_to, std_to) = (dir.path().join("ours"), dir.path().join("std"));
    let theirs = fs::copy("/proc/self/stat", &std_to).unwrap();
    let ours = uring_os::batch(|s| s.copy("/proc/self/stat", &ours_to).wait()).unwrap();
    assert!(theirs > 0, "precondition: std copies the proc file's bytes");
    assert!(
        ours > 0,
        "Batch::copy copied {ours} bytes, std::fs::copy {theirs}"
    );
}

/// `accept_multishot` on a listener with `SO_RCVTIMEO`: accept4(2) gives `EAGAIN` once the
/// timeout passes; the multishot request waits in `wait_one` without limit (the socket
/// timeouts of wait.rs cover single calls only), so `next()` never returns.
#[test]
fn multishot_accept_ignores_the_listeners_receive_timeout() {
    let _serial = serial();
    let (listener, _) = common::listener();
    set_timeout(&listener, libc::SO_RCVTIMEO, Duration::from_millis(200));
    // The syscall's answer.
    // SAFETY: accept4 with null address pointers.
    let res = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!((res, sys::last_errno()), (-1, libc::EAGAIN));
    let got = within(Duration::from_secs(5), "Accepts::next", move || {
        let mut accepts = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC);
        accepts.next().map(|r| r.map(drop).map_err(|e| e.kind()))
    });
    assert_eq!(got, Some(Err(ErrorKind::WouldBlock)));
}

/// An `Accepts` that is leaked (`mem::forget`) after it armed its multishot request: the
/// request stays in the kernel with its own reference to the listening socket, so after
/// the program closes its listener the port still accepts connections, each becoming an fd
/// of this process that nobody owns. With accept4 (or a dropped `Accepts`) closing the
/// listener refuses new connections.
#[test]
#[ignore = "known and documented (Accepts docs, README): a leaked Accepts keeps its request armed; nothing in the crate can end it without the handle"]
fn a_leaked_multishot_accept_keeps_a_closed_listener_accepting() {
    let _serial = serial();
    if common::ring_serves("accept").is_err() {
        return common::skip("a_leaked_multishot_accept", "no ring");
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let first = std::net::TcpStream::connect(addr).unwrap();
    let mut accepts = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC);
    drop(accepts.next().unwrap().unwrap());
    std::mem::forget(accepts);
    drop(first);
    drop(listener);
    let before = fd_count();
    let res = std::net::TcpStream::connect(addr);
    std::thread::sleep(Duration::from_millis(50));
    let _ = uring_os::nop();
    let after = fd_count();
    assert!(
        res.is_err(),
        "a connection to the closed listener was accepted ({} fds more in this process)",
        after.saturating_sub(before + 1)
    );
}

/// A socket with `SO_RCVTIMEO` and a signal handler installed with `SA_RESTART`: recv(2)
/// fails with `EINTR` when the handler runs (signal(7): socket calls with a timeout are never
/// restarted). The ring's wait treats the handler as restarting and goes on waiting until
/// the socket's timeout, then gives `EAGAIN`.
#[test]
fn a_timed_recv_is_not_interrupted_by_an_sa_restart_handler() {
    let _serial = serial();
    require_ring!("a_timed_recv_is_not_interrupted", "recv");
    extern "C" fn on_signal(_: libc::c_int) {}
    // SAFETY: a handler that does nothing, installed for SIGUSR2 with SA_RESTART.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
    let (a, _b) = common::tcp_pair();
    set_timeout(&a, libc::SO_RCVTIMEO, Duration::from_secs(3));
    // Sends SIGUSR2 to the calling thread after 200 ms.
    let signal_soon = || {
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            // SAFETY: the target thread is alive: it waits in recv until the signal.
            unsafe { libc::pthread_kill(me, libc::SIGUSR2) };
        })
    };
    let mut buf = [0u8; 4];
    let signaller = signal_soon();
    let start = Instant::now();
    let theirs = sys::cvt(unsafe {
        // SAFETY: buf is valid for writes of its length.
        libc::recv(a.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
    });
    let theirs_took = start.elapsed();
    signaller.join().unwrap();
    common::warm_up();
    let signaller = signal_soon();
    let start = Instant::now();
    let ours = uring_os::recv(&a, &mut buf, 0).map_err(|e| e.raw_os_error().unwrap_or(-1));
    let ours_took = start.elapsed();
    signaller.join().unwrap();
    assert_eq!(
        theirs,
        Err(libc::EINTR),
        "precondition: recv(2) is interrupted"
    );
    assert!(theirs_took < Duration::from_secs(2));
    assert_eq!(
        ours,
        Err(libc::EINTR),
        "uring_os::recv after {ours_took:?} (recv(2): EINTR after {theirs_took:?})"
    );
}

/// A batch recv on a socket with `SO_RCVTIMEO`: recv(2) gives `EAGAIN` after the timeout;
/// the batch entry (on the ring or run as syscalls) waits without limit.
#[test]
fn a_batch_recv_ignores_the_sockets_receive_timeout() {
    let _serial = serial();
    let (a, b) = common::tcp_pair();
    set_timeout(&a, libc::SO_RCVTIMEO, Duration::from_millis(200));
    let got = within(Duration::from_secs(5), "the batch recv", move || {
        let mut buf = [0u8; 4];
        let res = uring_os::batch(|s| s.recv(&a, &mut buf, 0).wait());
        drop(b);
        res.map_err(|e| e.kind())
    });
    assert_eq!(got, Err(ErrorKind::WouldBlock));
}

/// A drained entry that must run as its syscall (a pread on a pipe) waits, before it runs,
/// until *every* completion of the thread's ring is in (`in_flight == 0`) — which counts an
/// armed multishot accept of the same thread, which never completes while it accepts. The
/// scope hangs; the kernel would have run the drained entry once the entries before it in
/// the ring were done.
#[test]
fn a_drained_syscall_entry_waits_forever_for_an_armed_multishot_accept() {
    let _serial = serial();
    if common::ring_serves("accept").is_err() {
        return common::skip("a_drained_syscall_entry", "no ring");
    }
    let got = within(Duration::from_secs(5), "the drained pread", || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut accepts = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC);
        drop(accepts.next().unwrap().unwrap());
        let (reader, _writer) = pipe();
        let mut buf = [0u8; 4];
        let res = uring_os::batch(|s| s.drain().pread(&reader, &mut buf, 0).wait());
        drop(accepts);
        res.map_err(|e| e.raw_os_error())
    });
    assert_eq!(got, Err(Some(libc::ESPIPE)));
}

fn mkfifo(path: &std::path::Path) {
    let c = sys::cpath(path);
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// `Batch::close` of an io_uring fd, its handle not waited: `IORING_OP_CLOSE` refuses an
/// io_uring fd (`EBADF`), and the fix-up that closes it with close(2) (`Close::after_ring`)
/// runs only when the handle is waited. The fd, whose `OwnedFd` the close consumed, stays
/// open.
#[test]
fn closing_an_io_uring_fd_in_a_batch_without_waiting_leaks_it() {
    let _serial = serial();
    let ring = io_uring::IoUring::new(4).unwrap();
    // SAFETY: dup of the ring's fd: a new fd this test owns.
    let fd = unsafe { OwnedFd::from_raw_fd(libc::dup(ring.as_raw_fd())) };
    let before = fd_count();
    uring_os::batch(|s| {
        let _ = s.close(fd);
    });
    assert_eq!(
        fd_count(),
        before - 1,
        "the io_uring fd handed to close is still open"
    );
}

/// Pins the calling thread to CPU 0.
fn pin_to_cpu0() {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and sched_setaffinity take it by
    // pointer for the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Opens `fifo` read-only with `open` on a SCHED_IDLE thread pinned to the CPU of a writer
/// blocked in open(O_WRONLY), which writes and closes as soon as a reader appears; returns
/// whether the open returned within 2 s (a hung one is released by a writer opened here).
fn fifo_reader_returns(fifo: &std::path::Path, open: fn(&std::path::Path) -> bool) -> bool {
    let path = sys::cpath(fifo);
    let writer = std::thread::spawn(move || {
        pin_to_cpu0();
        // SAFETY: a NUL-terminated path; the fd is closed below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: a 2-byte buffer, and our fd.
            unsafe {
                libc::write(fd, b"hi".as_ptr().cast(), 2);
                libc::close(fd);
            }
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_path = fifo.to_path_buf();
    std::thread::spawn(move || {
        pin_to_cpu0();
        common::warm_up();
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: lowers this thread's own scheduling class.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        let _ = tx.send(open(&reader_path));
    });
    let returned = rx.recv_timeout(Duration::from_secs(2)).is_ok();
    if !returned {
        // Release the hung open: a writer comes.
        let _ = sys::open(fifo, libc::O_WRONLY | libc::O_NONBLOCK, 0);
        let _ = rx.recv_timeout(Duration::from_secs(2));
    }
    writer.join().unwrap();
    returned
}

/// `uring_os::open` of a FIFO read-only, with a writer already blocked in its open: the ring
/// opens the FIFO at once (waking the writer), then `OpenAt::open_fifo_as_syscall` makes the
/// blocking open(2) as well. If the writer wrote and closed in between — as it does when it
/// runs first — that open(2) waits for a writer that already came and went, and hangs for
/// good. open(2) alone returns as soon as the writer is there. (The thread placement only
/// makes the interleaving likely; it can happen with any scheduling.)
#[test]
fn a_fifo_reader_open_hangs_when_the_writer_comes_and_goes_first() {
    let _serial = serial();
    require_ring!("a_fifo_reader_open_hangs", "openat");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let syscall =
        |path: &std::path::Path| sys::open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0).is_ok();
    for _ in 0..3 {
        assert!(
            fifo_reader_returns(&fifo, syscall),
            "precondition: open(2) returns"
        );
    }
    let ours =
        |path: &std::path::Path| uring_os::open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0).is_ok();
    for attempt in 0..3 {
        assert!(
            fifo_reader_returns(&fifo, ours),
            "uring_os::open hung (attempt {attempt})"
        );
    }
}

/// A child made without fork's handlers (a raw fork(2)/clone(2) syscall, as `_Fork()` or a
/// sandbox does) that is not a vfork child: it shares no memory with its parent, but its
/// thread-local state says "ring of this generation" (only the atfork handler bumps the
/// generation), so its first call uses the parent's ring — whose mappings are not inherited
/// (MADV_DONTFORK) and whose registered fd is not its own. The vfork check (a pid compare)
/// only runs when the generation differs. The child should get its own ring (or syscalls).
#[test]
fn a_child_forked_without_handlers_uses_its_parents_ring() {
    let _serial = serial_forking();
    require_ring!("a_child_forked_without_handlers");
    common::warm_up();
    uring_os::nop().unwrap();
    let forking = common::fork::forking();
    // SAFETY: a raw fork; the child only makes one call and _exits.
    let pid = unsafe { libc::syscall(libc::SYS_fork) } as libc::pid_t;
    if pid == 0 {
        let ok = uring_os::nop().is_ok();
        // SAFETY: ends the child without running anything of the parent's.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    drop(forking);
    assert!(pid > 0, "fork");
    let code = common::fork::wait_child(pid);
    assert_eq!(
        code, 0,
        "the child's uring_os::nop() (128 + n: killed by signal n)"
    );
}

/// Under SQPOLL every change of the thread's credentials registers a new personality
/// (creds.rs `pin_credentials`), also a change back to credentials seen before, and none is
/// ever unregistered. The kernel allocates personality ids below 65536, so a program that
/// switches credentials per request (seteuid/setfsuid around file access, as file servers
/// do) gets the crate's abort after ~65k switches. Run as root (setfsuid), in a fresh
/// process configured with SQPOLL.
#[test]
fn sqpoll_runs_out_of_personalities_when_credentials_switch_back_and_forth() {
    let _serial = serial_forking();
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return common::skip("sqpoll_runs_out_of_personalities", "needs root");
    }
    in_fresh_process("fresh_sqpoll_credential_switches", &[]);
}

#[test]
#[ignore = "helper: run in a fresh process by sqpoll_runs_out_of_personalities_when_credentials_switch_back_and_forth"]
fn fresh_sqpoll_credential_switches() {
    if !is_fresh("fresh_sqpoll_credential_switches") {
        return;
    }
    uring_os::configure(uring_os::Config::default().sqpoll(Duration::from_millis(10))).unwrap();
    if common::ring_entries().is_err() {
        return common::fresh::fresh_skip("no ring");
    }
    common::warm_up();
    let start = Instant::now();
    for i in 0..40_000u32 {
        for fsuid in [1000, 0] {
            // SAFETY: setfsuid changes only this thread's filesystem uid.
            unsafe { libc::syscall(libc::SYS_setfsuid, fsuid) };
            assert!(uring_os::nop().is_ok(), "nop after {i} switches");
        }
        if start.elapsed() > Duration::from_secs(15) {
            return common::fresh::fresh_skip(format!("too slow here: {i} switches in 15 s"));
        }
    }
}

/// The fixed-file form of the close race above: a scope fd opened into fixed file slot S by
/// its chain, used by a pread linked behind a read that waits; `Batch::close` of the fd
/// (unlinked) empties S and gives it back (`note_close`); the next scope fd opened in a
/// chain gets S, and when the pread is finally issued it reads that other file into the
/// caller's buffer. The slot is reused while an entry that names it is still in flight.
#[test]
fn a_fixed_slot_freed_by_a_scope_close_is_reused_under_a_pending_read() {
    let _serial = serial();
    require_ring!("a_fixed_slot_freed_by_a_scope_close");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&a, b"AAAA").unwrap();
    fs::write(&b, b"BBBB").unwrap();
    let (reader, writer) = pipe();
    let mut byte = [0u8; 1];
    let mut buf = [0u8; 4];
    let mut other = [0u8; 4];
    let (read, closed) = uring_os::batch(|s| {
        let (open, _wait, read) = s.link(|s| {
            let o = s.open(&a, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let f = o.fd();
            (o, s.read(&reader, &mut byte), s.pread(f, &mut buf, 0))
        });
        let f = open.fd();
        let closed = s.close(f).wait();
        // Another file opened into a fixed slot by a chain of the same scope.
        let (_o, r) = s.link(|s| {
            let o = s.open(&b, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let g = o.fd();
            (o, s.pread(g, &mut other, 0))
        });
        r.wait().unwrap();
        sys::write(&writer, b"x").unwrap();
        (read.wait(), closed)
    });
    closed.unwrap();
    assert_ne!(
        (read.as_ref().ok(), &buf),
        (Some(&4), b"BBBB"),
        "the pread of the closed scope fd read another file's bytes"
    );
}

/// Without a ring, a scope that opens both ends of a FIFO: the emulation runs each open as
/// its blocking open(2) (an open has no "would block" form there), so the reader's open
/// waits for a writer whose open is queued after it and never runs: the scope hangs. With a
/// ring the same scope completes (the ring opens the reader at once); emulate.rs promises a
/// scope "completes, or deadlocks, exactly when it would with a ring".
#[test]
#[ignore = "known, documented in the README's differences: without a ring a scope's FIFO opens run as open(2), one at a time in queue order"]
fn without_a_ring_a_scope_opening_both_ends_of_a_fifo_hangs() {
    let _serial = serial_forking();
    in_fresh_process("fresh_fifo_both_ends", &[("URING_OS", "off")]);
}

/// The scope of the test above, run with and without a ring.
fn open_both_ends_of_a_fifo() -> (bool, bool) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    within(Duration::from_secs(5), "the scope", move || {
        uring_os::batch(|s| {
            let reader = s.open(&fifo, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let writer = s.open(&fifo, libc::O_WRONLY | libc::O_CLOEXEC, 0);
            (reader.wait().is_ok(), writer.wait().is_ok())
        })
    })
}

#[test]
fn with_a_ring_a_scope_opening_both_ends_of_a_fifo_completes() {
    let _serial = serial();
    require_ring!("with_a_ring_a_scope_opening_both_ends_of_a_fifo_completes");
    assert_eq!(open_both_ends_of_a_fifo(), (true, true));
}

#[test]
#[ignore = "helper: run in a fresh process by without_a_ring_a_scope_opening_both_ends_of_a_fifo_hangs"]
fn fresh_fifo_both_ends() {
    if !is_fresh("fresh_fifo_both_ends") {
        return;
    }
    assert_eq!(open_both_ends_of_a_fifo(), (true, true));
}

/// `Batch::copy` of a file onto itself: the destination's `O_TRUNC` empties the source
/// after its size was read, the first read comes back short (0), which cancels the linked
/// write, and CopyFile::wait reports the write's `ECANCELED` (the opens succeeded, so
/// nothing explains it). std::fs::copy gives `Ok(0)`. The same happens whenever the source
/// shrinks under a copy: a short read cancels its chunk's write, and the copy fails with
/// `ECANCELED` instead of copying what is there ("a short write or read ... finish one read
/// at a time" only covers short writes).
#[test]
fn copy_onto_itself_fails_with_ecanceled() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
    fs::write(&ours, b"0123456789").unwrap();
    fs::write(&theirs, b"0123456789").unwrap();
    let std_result = fs::copy(&theirs, &theirs).map_err(|e| e.raw_os_error());
    let our_result = uring_os::batch(|s| s.copy(&ours, &ours).wait()).map_err(|e| e.raw_os_error());
    assert_eq!(our_result, std_result);
}

/// Waiting an open's handle first waits for every call of the scope that uses its fd
/// (core.rs `take_result`, so the caller cannot close the fd under them). One of them linked
/// behind a read of a pipe that a later call of the scope feeds: the open completed long
/// ago, but its wait never returns, because the feeding write is only queued after it. On
/// the ring (and as syscalls) the open's result is there; handles "may be waited in any
/// order". (Handing out a dup of the fd, or an fd the scope closes only after its users,
/// would keep the caller from closing it under them.)
#[test]
fn waiting_an_open_deadlocks_when_a_user_of_its_fd_waits_on_a_later_call() {
    let _serial = serial();
    let (_dir, path) = temp_file(16);
    let got = within(Duration::from_secs(5), "the open's wait", move || {
        let (reader, writer) = pipe();
        let mut byte = [0u8; 1];
        let mut buf = [0u8; 4];
        uring_os::batch(|s| {
            let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let f = o.fd();
            let (_r, p) = s.link(|s| (s.read(&reader, &mut byte), s.pread(f, &mut buf, 0)));
            let opened = o.wait().map(drop).map_err(|e| e.raw_os_error());
            s.write(&writer, b"x").wait().unwrap();
            let _ = p.wait();
            opened
        })
    });
    assert_eq!(got, Ok(()));
}

/// A FIFO opened write-only in a batch, written through its `ScopeFd`: open(2) waits for a
/// reader, then the write goes through. On the ring the open's first (non-blocking) attempt
/// fails with `ENXIO` (no reader yet); the FIFO fix-up (`OpenAt::after_ring`) runs only when
/// the open's handle is waited (and never for an open into a fixed file), so the write —
/// which took the ring's result — fails with `EBADF` while a reader comes shortly after.
#[test]
fn a_fifo_opened_for_writing_in_a_batch_does_not_wait_for_its_reader() {
    let _serial = serial();
    require_ring!("a_fifo_opened_for_writing_in_a_batch");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let fd = sys::open(&reader_path, libc::O_RDONLY | libc::O_NONBLOCK, 0).unwrap();
        common::wait_readable(&fd, Duration::from_secs(2));
        common::read_available(&fd)
    });
    let wrote = within(Duration::from_secs(10), "the scope", move || {
        uring_os::batch(|s| {
            let f = s.open(&fifo, libc::O_WRONLY | libc::O_CLOEXEC, 0).fd();
            s.write(f, b"hi").wait().map_err(|e| e.raw_os_error())
        })
    });
    let read = reader.join().unwrap();
    assert_eq!((wrote, read), (Ok(2), b"hi".to_vec()));
}
