//! Review findings, second round: scope fds closed, handed out and waited for (held numbers,
//! duplicates, chains run as syscalls while their fd's maker runs elsewhere, `Batch::fixed`
//! closes) and socket timeouts kept by batch entries. Each test shows one problem: it fails,
//! or hangs and is caught by a deadline, while the problem is there. The doc comment of each
//! says what goes wrong, where, and what the syscalls (or the ring) do instead.
//!
//! Tests that count fds or reuse fd numbers run one at a time ([`serial`]).

#[macro_use]
mod common;

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLockReadGuard};
use std::time::Duration;

use common::fresh::{in_fresh_process, is_fresh};
use common::{Watchdog, pipe, sys, within};

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

/// Only the serial lock: for tests that start a fresh process themselves.
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

fn errno_of<T>(res: &std::io::Result<T>) -> Option<i32> {
    res.as_ref().err().and_then(|e| e.raw_os_error())
}

// ---------------------------------------------------------------------------------------------
// Scope fds: closes, hand-outs, makers
// ---------------------------------------------------------------------------------------------

/// Waiting an open's handle while a `Batch::close` of its `ScopeFd` is queued but not done
/// (linked behind a read of a pipe that a later call of the scope feeds): core.rs
/// `hand_out_fd` first `settle`s the closer, to learn whether the fd is gone, and so waits
/// for the pipe read, whose write is only queued after the wait: the scope deadlocks. The
/// open completed long ago; a pending close is a call that still uses the fd, which the
/// hand-out already handles for other users by giving a duplicate. On the ring (and as
/// syscalls in the crate's concurrent model) the open's result is there. The same happens
/// without a ring (`emulate_until` on the closer polls the pipe forever).
#[test]
fn waiting_an_open_whose_pending_close_waits_on_a_later_call_deadlocks() {
    let _serial = serial();
    open_then_close_behind_a_wait();
}

/// Without a ring (`URING_OS=off`): the same deadlock, in `emulate_until` on the closer.
#[test]
fn without_a_ring_waiting_an_open_whose_pending_close_waits_on_a_later_call_deadlocks() {
    let _serial = serial_forking();
    in_fresh_process(
        "fresh_open_then_close_behind_a_wait",
        &[("URING_OS", "off")],
    );
}

#[test]
#[ignore = "helper: run in a fresh process by without_a_ring_waiting_an_open_whose_pending_close_waits_on_a_later_call_deadlocks"]
fn fresh_open_then_close_behind_a_wait() {
    if !is_fresh("fresh_open_then_close_behind_a_wait") {
        return;
    }
    open_then_close_behind_a_wait();
}

/// The scope of the two tests above.
fn open_then_close_behind_a_wait() {
    let (_dir, path) = temp_file(16);
    let (reader, writer) = pipe();
    // Releases a hung scope after the test has failed.
    let release = Watchdog::new(Duration::from_secs(8), &[(writer.as_fd(), b"x")]);
    let got = within(Duration::from_secs(5), "the open's wait", move || {
        let mut byte = [0u8; 1];
        uring_os::batch(|s| {
            let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let f = o.fd();
            let (_r, c) = s.link(|s| (s.read(&reader, &mut byte), s.close(f)));
            let opened = o.wait().map(drop).map_err(|e| e.raw_os_error());
            s.write(&writer, b"x").wait().unwrap();
            let closed = c.wait().map_err(|e| e.raw_os_error());
            (opened, closed)
        })
    });
    release.stop();
    assert_eq!(got, (Ok(()), Ok(())));
}

/// `Batch::close` of a scope fd started while its maker (an open) sits unsubmitted in the
/// SQ, with an earlier user of the fd (a write linked behind a read of a pipe, in a chain
/// run as syscalls because it is longer than the SQ) still pending. core.rs `start` asks
/// `close_plan` first, which cannot see the open's fd yet (`scope_fd_value` is `Bad` for a
/// maker whose completion is not in) and says `Plain`; then `resolve_scope_fds` submits the
/// open, which completes at once, fills in its number and puts a plain `IORING_OP_CLOSE` on
/// the ring. The number is free while the write is still to run: the next open takes it,
/// and the write — filled in from `scope_fd_value` when the pipe is fed — goes into that
/// file, one the scope never named. close(2) in queue order (and the held number the README
/// promises) make the write fail with `EBADF`.
#[test]
fn a_close_whose_maker_completes_as_it_starts_is_not_held_for_an_earlier_user() {
    let _serial = serial();
    let entries = match common::ring_entries() {
        Ok(entries) => entries as usize,
        Err(reason) => return common::skip("a_close_whose_maker_completes", reason),
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&a, b"").unwrap();
    // Cached: the ring opens it inline, as it is submitted.
    let _ = fs::read(&a).unwrap();
    let (reader, writer) = pipe();
    let mut byte = [0u8; 1];
    let (write, reused) = uring_os::batch(|s| {
        let o = s.open(&a, libc::O_WRONLY | libc::O_CLOEXEC, 0);
        let f = o.fd();
        // Longer than the SQ: runs as syscalls, its write waiting behind the pipe read. The
        // open is started (put in the SQ) by link(), not submitted.
        let (_r, w) = s.link(|s| {
            let r = s.read(&reader, &mut byte);
            let w = s.write(f, b"secret");
            for _ in 0..entries {
                let _ = s.nop();
            }
            (r, w)
        });
        let _close = s.close(f);
        s.submit();
        // Someone opens a file: it takes the lowest free number.
        let file_b = fs::File::create(&b).unwrap();
        let number = file_b.as_raw_fd();
        let write = w_after_feeding(&writer, w);
        let reused = !fs::read(&b).unwrap().is_empty();
        drop(file_b);
        let _ = o.wait();
        (write, reused.then_some(number))
    });
    // The write was queued before the close: it may run first (into `a`, as in queue
    // order) or after it (EBADF on the held number); never into `b`.
    assert!(
        reused.is_none() && (errno_of(&write) == Some(libc::EBADF) || write.is_ok()),
        "the pending write went into a file opened after the scope closed its fd (write gave \
         {write:?})"
    );
}

/// Feeds the pipe the chain's read waits on, then waits the write linked after it.
fn w_after_feeding(writer: &OwnedFd, w: uring_os::Handle<'_, usize>) -> std::io::Result<usize> {
    sys::write(writer, b"x").unwrap();
    w.wait()
}

/// `Batch::close` of a `Batch::fixed` scope fd that has a fixed slot, in a chain that runs
/// as syscalls (here because a fadvise of more than 4 GiB cannot go on the ring; a chain
/// longer than the SQ, or a fork child's scope, do the same). core.rs `close_plan` returns
/// `Plain` for any value that is not a number before it looks at `borrowed`, so the
/// `Forget` plan is skipped; emulate.rs `advance` then turns the fixed file of a borrowed
/// fd into the caller's number and runs close(2) on it. The caller's `File` is closed
/// behind its back, and its drop closes the number again: a double close of whatever has
/// the number by then. The close of a `Batch::fixed` fd only drops the registration.
#[test]
fn closing_a_fixed_scope_fd_in_a_chain_run_as_syscalls_closes_the_callers_fd() {
    let _serial = serial();
    require_ring!("closing_a_fixed_scope_fd_in_a_chain_run_as_syscalls");
    let (_dir, path) = temp_file(16);
    let file = fs::File::open(&path).unwrap();
    let other = fs::File::open(&path).unwrap();
    let number = file.as_raw_fd();
    let (advised, closed) = uring_os::batch(|s| {
        let f = s.fixed(&file);
        let (advised, closed) = s.link(|s| {
            (
                s.fadvise(&other, 0, 1 << 33, libc::POSIX_FADV_NORMAL),
                s.close(f),
            )
        });
        (advised.wait(), closed.wait())
    });
    advised.unwrap();
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

/// A scope fd opened into a fixed file by its chain, then used (after the chain finished) by
/// a call that runs as syscalls — a fadvise of more than 4 GiB, which the ring cannot carry;
/// a chain longer than the SQ does the same. emulate.rs `advance` maps a fixed file to
/// `Bad` ("a fixed file cannot stand for it") unless it is a `Batch::fixed` fd, so the call
/// fails with `EBADF`, though the file is open and the scope could install it as an fd
/// (`IORING_OP_FIXED_FD_INSTALL`, as `hand_out_fd` does). The syscalls in queue order
/// succeed, as does the same fadvise on a `Batch::own` fd.
#[test]
fn a_scope_fd_in_a_fixed_slot_used_by_a_call_run_as_syscalls_gets_ebadf() {
    let _serial = serial();
    require_ring!("a_scope_fd_in_a_fixed_slot_used_by_a_call_run_as_syscalls");
    let (_dir, path) = temp_file(16);
    let len = 1u64 << 33;
    let file = fs::File::open(&path).unwrap();
    uring_os::fadvise(&file, 0, len, libc::POSIX_FADV_NORMAL).expect("the blocking call");
    let mut buf = [0u8; 4];
    let (read, advised) = uring_os::batch(|s| {
        let (o, r) = s.link(|s| {
            let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let r = s.pread(o.fd(), &mut buf, 0);
            (o, r)
        });
        let read = r.wait().map_err(|e| e.raw_os_error());
        let advised = s
            .fadvise(o.fd(), 0, len, libc::POSIX_FADV_NORMAL)
            .wait()
            .map_err(|e| e.raw_os_error());
        (read, advised)
    });
    assert_eq!((read, advised), (Ok(4), Ok(())));
}

/// A chain that opens a file and reads it through its `ScopeFd` (so the open goes into a
/// fixed file), and also sends on the `ScopeFd` of an accept made outside the chain that
/// has not completed. core.rs `resolve_scope_fds` first turns the chain's open into an open
/// into a fixed slot (`make_fixed`), then finds the outside maker unfinished and returns
/// `false` ("changing nothing", says its doc): the chain runs as syscalls with its open
/// still naming a fixed slot, which the syscall emulation refuses (`EINVAL`), and the chain
/// is cancelled. As syscalls in queue order the open and the read succeed (and the send,
/// once the accept has its connection).
#[test]
fn a_chain_waiting_for_an_outside_maker_fails_its_own_open_with_einval() {
    let _serial = serial();
    require_ring!("a_chain_waiting_for_an_outside_maker");
    let (_dir, path) = temp_file(16);
    let (listener, addr) = common::listener();
    let connect = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = [0u8; 2];
        std::io::Read::read_exact(&mut conn, &mut got).map(|()| got)
    });
    let got = within(Duration::from_secs(5), "the scope", move || {
        let mut buf = [0u8; 4];
        uring_os::batch(|s| {
            let accepted = s.accept(&listener);
            let a = accepted.fd();
            let (o, r, sent) = s.link(|s| {
                let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
                let r = s.pread(o.fd(), &mut buf, 0);
                let sent = s.send(a, b"hi", 0);
                (o, r, sent)
            });
            (
                o.wait().map(drop).map_err(|e| e.raw_os_error()),
                r.wait().map_err(|e| e.raw_os_error()),
                sent.wait().map_err(|e| e.raw_os_error()),
            )
        })
    });
    let peer = connect.join().unwrap();
    assert_eq!(got, (Ok(()), Ok(4), Ok(2)));
    assert_eq!(peer.unwrap(), *b"hi");
}

/// The same through `start_on_ring`: a chain that opens a file into a fixed slot and reads
/// it, and preads an owned pipe (`Batch::own`) through its `ScopeFd`. `chain_fits` judges
/// an entry naming a scope fd by its arguments alone and lets the chain through;
/// `resolve_scope_fds` makes the open fixed and fills in the pipe's number; then
/// `start_on_ring` checks the pread of the pipe as a plain fd (`Driver::fits`: not seekable,
/// so it must run as the syscall to give `ESPIPE`) and refuses the chain, which runs as
/// syscalls with its open still naming a fixed slot: `EINVAL`. As syscalls in queue order
/// the open and the first read succeed and the pread of the pipe gives `ESPIPE`.
#[test]
fn a_chain_refused_after_its_scope_fds_are_resolved_fails_its_open_with_einval() {
    let _serial = serial();
    require_ring!("a_chain_refused_after_its_scope_fds_are_resolved");
    let (_dir, path) = temp_file(16);
    let (reader, writer) = pipe();
    sys::write(&writer, b"pipe").unwrap();
    let mut buf = [0u8; 4];
    let mut from_pipe = [0u8; 4];
    let got = uring_os::batch(|s| {
        let p = s.own(reader);
        let (o, r, rp) = s.link(|s| {
            let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let r = s.pread(o.fd(), &mut buf, 0);
            let rp = s.pread(p, &mut from_pipe, 0);
            (o, r, rp)
        });
        (
            o.wait().map(drop).map_err(|e| e.raw_os_error()),
            r.wait().map_err(|e| e.raw_os_error()),
            rp.wait().map_err(|e| e.raw_os_error()),
        )
    });
    assert_eq!(got, (Ok(()), Ok(4), Err(Some(libc::ESPIPE))));
}

/// A write lock (`F_SETLK`) on the whole file at `fd`.
fn lock_whole_file(fd: impl AsFd) -> i32 {
    // SAFETY: a zeroed flock is a valid argument; the fields set describe the whole file.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_SETLK reads one flock.
    unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_SETLK, &lock) }
}

/// Whether another process sees a lock on `path` (F_GETLK from a fork child).
fn locked_for_others(path: &std::path::Path) -> bool {
    let path = path.to_path_buf();
    let code = common::fork::in_child(move || {
        let Ok(fd) = sys::open(&path, libc::O_RDWR | libc::O_CLOEXEC, 0) else {
            return 2;
        };
        // SAFETY: as in lock_whole_file.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = libc::F_WRLCK as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: F_GETLK reads and writes one flock.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETLK, &mut lock) } != 0 {
            return 3;
        }
        if lock.l_type == libc::F_UNLCK as libc::c_short {
            1
        } else {
            0
        }
    });
    assert!(code <= 1, "the child failed ({code})");
    code == 0
}

/// An open's handle waited while a pread of its `ScopeFd` is still pending gets a duplicate
/// (core.rs `hand_out_fd`), and the scope closes its own fd when it ends (`held`, released
/// in end.rs `finish_unwaited`). Closing any fd of a file drops every POSIX record lock
/// the process holds on it (fcntl(2)): a lock the caller took through the fd it was given
/// is gone when the scope ends, while the caller still holds the fd. With the syscalls
/// (one fd, closed by the caller) the lock stays until the caller closes it. The same
/// without a ring.
#[test]
#[ignore = "known, documented in the README's differences: the duplicate a handle gets while calls still use its fd shares POSIX locks with the scope's own fd, which the scope closes at its end"]
fn a_duplicated_fd_loses_its_posix_locks_when_the_scope_closes_its_own() {
    let _serial = serial_forking();
    let (_dir, path) = temp_file(16);
    let (reader, writer) = pipe();
    let mut byte = [0u8; 1];
    let mut buf = [0u8; 4];
    let fd = uring_os::batch(|s| {
        let o = s.open(&path, libc::O_RDWR | libc::O_CLOEXEC, 0);
        let f = o.fd();
        let (_r, p) = s.link(|s| (s.read(&reader, &mut byte), s.pread(f, &mut buf, 0)));
        let fd = o.wait().unwrap();
        assert_eq!(lock_whole_file(&fd), 0, "F_SETLK");
        sys::write(&writer, b"x").unwrap();
        assert_eq!(p.wait().unwrap(), 4);
        fd
    });
    assert!(is_open(fd.as_raw_fd()));
    assert!(
        locked_for_others(&path),
        "the lock taken through the fd the open's handle gave is gone after the scope"
    );
    drop(fd);
}

// ---------------------------------------------------------------------------------------------
// Socket timeouts of batch entries
// ---------------------------------------------------------------------------------------------

/// Runs its closure when dropped (also when the test panics): releases what a hung scope
/// waits for, so its thread ends.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A connected TCP pair whose second socket has `SO_RCVTIMEO` = `timeout`.
fn timed_pair(timeout: Duration) -> (OwnedFd, OwnedFd) {
    let (client, server) = common::tcp_pair();
    set_timeout(&server, libc::SO_RCVTIMEO, timeout);
    (client, server)
}

/// A recv on a socket with `SO_RCVTIMEO`, linked behind a read of a pipe that is fed later.
/// Its wait (core.rs `wait_entry`) starts the socket's timeout at once and, when it runs
/// out, cancels the recv by its user_data — but the recv has not started yet (it waits for
/// its link), so the cancel finds nothing (`ENOENT`) and the wait goes on without limit.
/// Once the pipe is fed the recv starts and waits forever on the silent socket. As syscalls
/// in queue order (and in the crate's emulation, which starts the timeout when the recv
/// first has to wait) the read returns, then the recv fails with `EAGAIN` after the timeout.
#[test]
fn a_timed_recv_linked_behind_a_wait_hangs_once_its_cancel_misses() {
    let _serial = serial();
    require_ring!("a_timed_recv_linked_behind_a_wait", "recv");
    let (client, server) = timed_pair(Duration::from_millis(100));
    let (reader, writer) = pipe();
    let feed = Watchdog::new(Duration::from_millis(300), &[(writer.as_fd(), b"x")]);
    // Releases a hung recv after the test has failed.
    let _release = OnDrop(Some(move || {
        let _ = sys::write(&client, b"late");
    }));
    let got = within(Duration::from_secs(5), "the timed recv", move || {
        let mut byte = [0u8; 1];
        let mut buf = [0u8; 8];
        uring_os::batch(|s| {
            let (r, recv) = s.link(|s| (s.read(&reader, &mut byte), s.recv(&server, &mut buf, 0)));
            let recv = recv.wait().map_err(|e| e.raw_os_error());
            (r.wait().map_err(|e| e.raw_os_error()), recv)
        })
    });
    feed.stop();
    assert_eq!(got, (Ok(1), Err(Some(libc::EAGAIN))));
}

/// A chain whose first entry is a recv on a socket with `SO_RCVTIMEO` and whose second
/// writes to a pipe; the second entry's handle is waited first. core.rs `wait_entry` only
/// applies the timeout of the entry being waited (the pipe write has none) and waits
/// without limit: the recv's timeout never runs out, and the scope hangs. In the crate's
/// emulation (`URING_OS=off`) the recv fails with `EAGAIN` after its timeout and the write
/// is cancelled (`ECANCELED`), as a failed head cancels its chain on the ring; the syscalls
/// in queue order end too.
#[test]
fn waiting_a_call_linked_after_a_timed_recv_hangs() {
    let _serial = serial();
    require_ring!("waiting_a_call_linked_after_a_timed_recv", "recv");
    let (client, server) = timed_pair(Duration::from_millis(100));
    let (_reader, writer) = pipe();
    let _release = OnDrop(Some(move || {
        let _ = sys::write(&client, b"late");
    }));
    let got = within(Duration::from_secs(5), "the linked write", move || {
        let mut buf = [0u8; 8];
        uring_os::batch(|s| {
            let (recv, w) = s.link(|s| (s.recv(&server, &mut buf, 0), s.write(&writer, b"x")));
            let w = w.wait().map_err(|e| e.raw_os_error());
            (recv.wait().map_err(|e| e.raw_os_error()), w)
        })
    });
    assert_eq!(got, (Err(Some(libc::EAGAIN)), Err(Some(libc::ECANCELED))));
}

/// A window over a recv on a socket with `SO_RCVTIMEO`: window.rs `next_ready` waits with
/// `Driver::wait_one` until an entry is ready, never through `wait_entry`, so the socket's
/// timeout never ends the recv and `next()` never returns. The recv's own handle (and the
/// emulation's `first_ready`, which hands the wait to `Handle::wait`) gives `EAGAIN` after
/// the timeout, as recv(2) does.
#[test]
#[ignore = "known, documented in the README's differences: windows and streams wait without sockets' own timeouts"]
fn a_window_over_a_timed_recv_never_times_out() {
    let _serial = serial();
    require_ring!("a_window_over_a_timed_recv", "recv");
    let (client, server) = timed_pair(Duration::from_millis(100));
    let _release = OnDrop(Some(move || {
        let _ = sys::write(&client, b"late");
    }));
    let got = within(Duration::from_secs(5), "the window", move || {
        let mut buf = [0u8; 8];
        uring_os::batch(|s| {
            let recv = s.recv(&server, &mut buf, 0);
            let mut window = s.window(1, [recv]);
            window
                .next()
                .map(|(i, r)| (i, r.map_err(|e| e.raw_os_error())))
        })
    });
    assert_eq!(got, Some((0, Err(Some(libc::EAGAIN)))));
}

/// An accept on a listener with `SO_RCVTIMEO`, and a recv on its `ScopeFd` not linked to
/// it: the recv runs as syscalls waiting for its maker (core.rs `resolve_scope_fds`,
/// emulate.rs `advance`), and emulate.rs `emulation_step`, with only ring entries to wait
/// for, calls `Driver::wait_one` — the accept's timeout is applied only by `wait_entry`,
/// which nobody calls for it, so the accept never times out and the recv's wait (or the
/// scope's end) hangs. accept4(2) fails with `EAGAIN` after the timeout, and a recv on the
/// fd it did not make gets `EBADF`; so does the crate when the accept's handle is waited.
#[test]
#[ignore = "known, documented in the README's differences: a call waiting for its scope fd's maker waits without that maker's socket timeout"]
fn a_call_waiting_for_a_timed_accept_to_make_its_fd_hangs() {
    let _serial = serial();
    require_ring!("a_call_waiting_for_a_timed_accept", "accept");
    let (listener, addr) = common::listener();
    set_timeout(&listener, libc::SO_RCVTIMEO, Duration::from_millis(100));
    // Releases a hung accept after the test has failed.
    let _release = OnDrop(Some(move || {
        let conn = std::net::TcpStream::connect(addr);
        std::thread::sleep(Duration::from_millis(200));
        drop(conn);
    }));
    let got = within(Duration::from_secs(5), "the recv", move || {
        let mut buf = [0u8; 8];
        uring_os::batch(|s| {
            let accepted = s.accept(&listener);
            let recv = s.recv(accepted.fd(), &mut buf, 0);
            let recv = recv.wait().map_err(|e| e.raw_os_error());
            (
                accepted.wait().map(drop).map_err(|e| e.raw_os_error()),
                recv,
            )
        })
    });
    assert_eq!(got, (Err(Some(libc::EAGAIN)), Err(Some(libc::EBADF))));
}

/// A connection accepted in a chain (into a fixed file) and received on through its
/// `ScopeFd`; the accepted socket has the `SO_RCVTIMEO` it inherits from the listener, and
/// the peer sends nothing. core.rs `wait_entry` asks the recv which fd it waits on
/// (`socket_wait`): the fd field holds the fixed slot's index, which `socket_timeout` then
/// reads `SO_RCVTIMEO` from as if it were an fd number — some other fd of the process, or
/// none. The accepted socket's own timeout is never seen and the recv waits forever (with a
/// socket of the process at that number, it would get that socket's timeout instead). The
/// same for any call on a `Batch::fixed` fd with a slot.
/// accept4(2) + recv(2) give `EAGAIN` after the timeout.
#[test]
#[ignore = "known, documented in the README's differences: calls on direct descriptors wait without the socket's own timeout"]
fn a_recv_on_a_socket_accepted_into_a_fixed_file_ignores_its_timeout() {
    let _serial = serial();
    require_ring!("a_recv_on_a_socket_accepted_into_a_fixed_file", "recv");
    let (listener, addr) = common::listener();
    set_timeout(&listener, libc::SO_RCVTIMEO, Duration::from_millis(100));
    let client = std::net::TcpStream::connect(addr).unwrap();
    let peer = client.try_clone().unwrap();
    let _release = OnDrop(Some(move || {
        drop(std::io::Write::write_all(&mut &peer, b"late"))
    }));
    let got = within(Duration::from_secs(5), "the recv", move || {
        let mut buf = [0u8; 8];
        uring_os::batch(|s| {
            let (_a, recv) = s.link(|s| {
                let a = s.accept(&listener);
                let recv = s.recv(a.fd(), &mut buf, 0);
                (a, recv)
            });
            recv.wait().map_err(|e| e.raw_os_error())
        })
    });
    drop(client);
    assert_eq!(got, Err(Some(libc::EAGAIN)));
}

// ---------------------------------------------------------------------------------------------
// FIFOs through scope fds
// ---------------------------------------------------------------------------------------------

fn mkfifo(path: &std::path::Path) {
    let c = sys::cpath(path);
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A scope that opens both ends of a FIFO and reads and writes through their `ScopeFd`s.
/// When the read starts, core.rs `resolve_scope_fds` submits the reader's open (the ring
/// opens a FIFO reader at once) and `finish_maker` applies its fix-up then and there:
/// `OpenAt::after_ring` makes a blocking open(2), which waits for a writer — whose open is
/// queued after the read and never submitted: the scope hangs. With the handles waited
/// instead of used through `ScopeFd`s, the same scope completes (review.rs
/// `with_a_ring_a_scope_opening_both_ends_of_a_fifo_completes`: both opens reach the ring
/// before the fix-up), and the ring alone completes it: the reader gets the writer's bytes.
#[test]
#[ignore = "known, documented in the README's differences: a FIFO opened in a scope waits for its other end when a call first uses its scope fd"]
fn a_fifo_read_and_written_through_scope_fds_hangs() {
    let _serial = serial();
    require_ring!("a_fifo_read_and_written_through_scope_fds", "openat");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    // Releases a hung open(2) after the test has failed.
    let writer_path = fifo.clone();
    let _release = OnDrop(Some(move || {
        let _ = sys::open(&writer_path, libc::O_WRONLY | libc::O_NONBLOCK, 0);
    }));
    let got = within(Duration::from_secs(5), "the scope", move || {
        let mut buf = [0u8; 2];
        let got = uring_os::batch(|s| {
            let r = s.open(&fifo, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let read = s.read(r.fd(), &mut buf);
            let w = s.open(&fifo, libc::O_WRONLY | libc::O_CLOEXEC, 0);
            let written = s.write(w.fd(), b"hi");
            (
                read.wait().map_err(|e| e.raw_os_error()),
                written.wait().map_err(|e| e.raw_os_error()),
            )
        });
        (got, buf)
    });
    assert_eq!(got, ((Ok(2), Ok(2)), *b"hi"));
}

// ---------------------------------------------------------------------------------------------
// Held numbers
// ---------------------------------------------------------------------------------------------

fn nofile_limit() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit
}

fn set_nofile_limit(limit: libc::rlimit) {
    // SAFETY: setrlimit reads one rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
}

/// Takes every free fd number below a soft `RLIMIT_NOFILE` a little above the numbers in use,
/// so that no new fd can be opened; undone on drop.
struct FdTableFull {
    old: libc::rlimit,
    fillers: Vec<OwnedFd>,
}

impl FdTableFull {
    fn new() -> FdTableFull {
        let old = nofile_limit();
        let highest = fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        set_nofile_limit(libc::rlimit {
            rlim_cur: highest + 8,
            rlim_max: old.rlim_max,
        });
        let mut fillers = Vec::new();
        while let Ok(fd) = sys::open(
            std::path::Path::new("/dev/null"),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        ) {
            fillers.push(fd);
        }
        FdTableFull { old, fillers }
    }
}

impl Drop for FdTableFull {
    fn drop(&mut self) {
        self.fillers.clear();
        set_nofile_limit(self.old);
    }
}

/// `Batch::close` of a scope fd while an earlier call that names it is pending, with the fd
/// table full (`RLIMIT_NOFILE` reached): core.rs `hold_number` needs a new fd for its
/// `O_PATH` placeholder before it can dup3 it over the number, so the close fails with
/// `EMFILE` and the file stays open — close(2) never fails for want of a free fd (it frees
/// one). A placeholder the scope (or thread) opens before it is needed, or closing into
/// a placeholder kept for the purpose, would not need one.
#[test]
fn a_held_close_fails_with_emfile_when_the_fd_table_is_full() {
    let _serial = serial();
    let (_dir, path) = temp_file(16);
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    let (reader, writer) = pipe();
    let mut byte = [0u8; 1];
    let (closed, write) = uring_os::batch(|s| {
        let f = s.own(file);
        let (_r, w) = s.link(|s| (s.read(&reader, &mut byte), s.write(f, b"late")));
        s.submit();
        let full = FdTableFull::new();
        let closed = s.close(f).wait().map_err(|e| e.raw_os_error());
        drop(full);
        sys::write(&writer, b"x").unwrap();
        (closed, w.wait().map_err(|e| e.raw_os_error()))
    });
    assert_eq!(closed, Ok(()), "close(2) does not need a free fd");
    assert_eq!(write, Err(Some(libc::EBADF)), "the write after the close");
}

// ---------------------------------------------------------------------------------------------
// Chains run as syscalls waiting for ring entries
// ---------------------------------------------------------------------------------------------

/// A recv on the `ScopeFd` of an accept still waiting on the ring (so the recv runs as
/// syscalls, waiting for its maker), while another chain run as syscalls waits on a pipe.
/// emulate.rs `emulation_step` then never blocks in the ring: with an fd to poll it polls
/// in slices of `RING_SLICE`, reaping completions with `reap_into_completions` (no enter)
/// and "flushing" with `flush_queued`, which enters only when entries are unsubmitted. On a
/// ring with deferred task work (`IORING_SETUP_DEFER_TASKRUN`, the default) the accept's
/// completion is posted only when the thread enters with `IORING_ENTER_GETEVENTS`: it never
/// is, so the recv waits forever though the connection came and its bytes are there. On
/// the ring (a recv linked to the accept, or the accept's handle waited) it gets them.
#[test]
fn a_call_waiting_for_its_fds_maker_on_the_ring_never_sees_it_complete() {
    let _serial = serial();
    let entries = match common::ring_entries() {
        Ok(entries) => entries as usize,
        Err(reason) => return common::skip("a_call_waiting_for_its_fds_maker", reason),
    };
    let (listener, addr) = common::listener();
    let (r2, w2) = pipe();
    let client = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut conn, b"hello").unwrap();
        std::thread::sleep(Duration::from_secs(6));
    });
    // Releases a hung scope after the test has failed: its other chain ends.
    let release = Watchdog::new(Duration::from_secs(8), &[(w2.as_fd(), b"x")]);
    let w2_clone = w2.try_clone().unwrap();
    let got = within(Duration::from_secs(5), "the recv", move || {
        let mut buf = [0u8; 5];
        let mut byte = [0u8; 1];
        let got = uring_os::batch(|s| {
            let accepted = s.accept(&listener);
            let recv = s.recv(accepted.fd(), &mut buf, libc::MSG_WAITALL);
            // Longer than the SQ: runs as syscalls, waiting on the pipe.
            let _other = s.link(|s| {
                let r = s.read(&r2, &mut byte);
                for _ in 0..entries {
                    let _ = s.nop();
                }
                r
            });
            let got = recv.wait().map_err(|e| e.raw_os_error());
            sys::write(&w2_clone, b"x").unwrap();
            got
        });
        got.map(|n| buf[..n].to_vec())
    });
    release.stop();
    client.join().unwrap();
    assert_eq!(got, Ok(b"hello".to_vec()));
}

// ---------------------------------------------------------------------------------------------
// Batch entries on pipes and sockets (older than the commits under review)
// ---------------------------------------------------------------------------------------------

/// A batch read of an empty `O_NONBLOCK` pipe (the same for a recv on an `O_NONBLOCK`
/// socket): read(2) fails with `EAGAIN` at once. The ring waits whatever the file's flags
/// (the README: "io_uring itself would wait"); single calls check the fd's flags and cancel
/// (single.rs, wait.rs), and batch entries run as syscalls do too (`attempt_syscall`), but
/// a batch entry on the ring is never checked (core.rs `wait_entry`, like
/// `start_on_ring`, looks at socket timeouts only): the read waits until data comes, here
/// forever.
#[test]
fn a_batch_read_of_an_empty_nonblocking_pipe_waits_instead_of_eagain() {
    let _serial = serial();
    require_ring!("a_batch_read_of_an_empty_nonblocking_pipe", "read");
    let (reader, writer) = pipe();
    sys::set_nonblocking(&reader);
    let release = Watchdog::new(Duration::from_secs(8), &[(writer.as_fd(), b"x")]);
    let got = within(Duration::from_secs(5), "the read", move || {
        let mut buf = [0u8; 4];
        uring_os::batch(|s| {
            s.read(&reader, &mut buf)
                .wait()
                .map_err(|e| e.raw_os_error())
        })
    });
    release.stop();
    assert_eq!(got, Err(Some(libc::EAGAIN)));
}

/// A batch write of 256 KiB to a blocking pipe that a reader drains: write(2) on a blocking
/// pipe writes everything (it waits for room), and the single call `uring_os::write` does
/// too (`Op::rest`, single.rs); a batch write — on the ring and as syscalls alike — returns
/// after the first 64 KiB (the pipe's capacity), so a caller that trusts the syscall's
/// contract loses the rest.
#[test]
fn a_batch_write_to_a_blocking_pipe_returns_short() {
    let _serial = serial();
    let (reader, writer) = pipe();
    let drain = std::thread::spawn(move || {
        let mut total = 0;
        let mut buf = vec![0u8; 4096];
        loop {
            std::thread::sleep(Duration::from_millis(1));
            match sys::read(&reader, &mut buf) {
                Ok(0) | Err(_) => break total,
                Ok(n) => total += n,
            }
        }
    });
    let data = vec![7u8; 1 << 18];
    let single = vec![7u8; 1 << 18];
    let got = within(Duration::from_secs(10), "the writes", move || {
        let batch =
            uring_os::batch(|s| s.write(&writer, &data).wait().map_err(|e| e.raw_os_error()));
        let single = uring_os::write(&writer, &single).map_err(|e| e.raw_os_error());
        (batch, single)
    });
    let total = drain.join().unwrap();
    assert_eq!(
        got.1,
        Ok(1 << 18),
        "precondition: the single call writes everything"
    );
    assert_eq!((got.0, total), (Ok(1 << 18), 2 << 18));
}
