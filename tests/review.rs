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
fn serial() -> (MutexGuard<'static, ()>, Option<RwLockReadGuard<'static, ()>>) {
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
    assert!(reused, "precondition: the closed number was reused by the next open");
    let in_b = fs::read(&b).unwrap();
    assert!(
        in_b.is_empty(),
        "the scope's write went into a file it never named ({:?} bytes, write gave {write:?})",
        in_b.len()
    );
}
