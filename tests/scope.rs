//! Batch scopes that own what their calls use: fds born in the scope (`ScopeFd`, from
//! `Handle::fd` and `Batch::own`) and buffers from its pool (`ScopeBuf`). Each test runs
//! with a ring and, where it matters, again without one (`URING_OS=off` in a fresh
//! process), where the same calls run as syscalls.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use common::{fd_count, pipe, within};

/// Leaks a handle: the scope, not the handle, must see its operation through.
#[allow(clippy::forget_non_drop, reason = "leaks on purpose")]
fn leak<T>(handle: uring_os::Handle<'_, T>) {
    std::mem::forget(handle);
}

/// A chain that opens two files and copies one into the other through a scope buffer,
/// then closes both; returns the bytes copied.
fn copy_in_one_chain(src: &Path, dst: &Path, len: usize) -> std::io::Result<usize> {
    uring_os::batch(|s| {
        let buf = s.buffer(len);
        let (r, w, c1, c2) = s.link(|s| {
            let from = s.open(src, libc::O_RDONLY | libc::O_CLOEXEC, 0).fd();
            let to = s
                .open(
                    dst,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
                    0o640,
                )
                .fd();
            let r = s.read(from, buf);
            let w = s.write(to, buf);
            (r, w, s.close(from), s.close(to))
        });
        assert_eq!(r.wait()?, len);
        c1.wait()?;
        c2.wait()?;
        w.wait()
    })
}

fn scope_fds_in_chains() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&src, &data).unwrap();
    let before = fd_count();
    assert_eq!(
        copy_in_one_chain(&src, &dst, data.len()).unwrap(),
        data.len()
    );
    assert_eq!(fs::read(&dst).unwrap(), data);
    assert_eq!(fd_count(), before, "the chain closed what it opened");

    // An open nobody waits for and nobody closes: the scope closes it when it ends.
    let mut buf = [0u8; 4];
    uring_os::batch(|s| {
        let f = s.open(&src, libc::O_RDONLY | libc::O_CLOEXEC, 0);
        let r = s.link(|s| s.pread(f.fd(), &mut buf, 0));
        assert_eq!(r.wait().unwrap(), 4);
    });
    assert_eq!(fd_count(), before, "the scope closed the fd it made");

    // Waiting the open takes the fd: it stays open after the scope, usable as any fd,
    // and closing it is the caller's.
    let mut buf = [0u8; 3];
    let kept: OwnedFd = uring_os::batch(|s| {
        let (open, read) = s.link(|s| {
            let open = s.open(&src, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let read = s.pread(open.fd(), &mut buf, 100);
            (open, read)
        });
        assert_eq!(read.wait().unwrap(), 3);
        open.wait().unwrap()
    });
    assert_eq!(&buf, &data[100..103]);
    assert_eq!(fd_count(), before + 1);
    // SAFETY: F_GETFD on our own fd.
    let flags = unsafe { libc::fcntl(kept.as_raw_fd(), libc::F_GETFD) };
    assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC, "O_CLOEXEC kept");
    let mut again = [0u8; 3];
    assert_eq!(uring_os::pread(&kept, &mut again, 100).unwrap(), 3);
    assert_eq!(again, buf);
    drop(kept);
    assert_eq!(fd_count(), before);

    // A scope fd used by a call that is not linked to its open: the call waits for it.
    let mut buf = [0u8; 5];
    let n = uring_os::batch(|s| {
        let f = s.open(&src, libc::O_RDONLY | libc::O_CLOEXEC, 0).fd();
        s.pread(f, &mut buf, 0).wait()
    });
    assert_eq!(n.unwrap(), 5);
    assert_eq!(&buf, &data[..5]);
    assert_eq!(fd_count(), before);
}

fn a_failed_open_in_the_middle_of_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = dir.path().join("out");
    let before = fd_count();
    let mut buf = [0u8; 8];
    let (open, read, write, close) = uring_os::batch(|s| {
        let (o, r, w, c) = s.link(|s| {
            let o = s.open(&missing, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let f = o.fd();
            let r = s.read(f, &mut buf);
            let w = s.pwrite(f, b"never", 0);
            let c = s.close(f);
            (o, r, w, c)
        });
        (o.wait(), r.wait(), w.wait(), c.wait())
    });
    assert_eq!(open.unwrap_err().kind(), ErrorKind::NotFound);
    for (what, res) in [("read", read), ("write", write)] {
        let errno = res.unwrap_err().raw_os_error();
        assert_eq!(errno, Some(libc::ECANCELED), "{what} after the failed open");
    }
    assert_eq!(close.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    assert!(!out.exists());
    assert_eq!(fd_count(), before);
    // The same fd used outside the chain, after the open failed: EBADF, not another file.
    let res = uring_os::batch(|s| {
        let f = s.open(&missing, libc::O_RDONLY | libc::O_CLOEXEC, 0).fd();
        s.read(f, &mut buf).wait()
    });
    assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
}

fn panics_and_leaks_mid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, b"0123456789").unwrap();
    let before = fd_count();
    // A panic after a chain with a scope fd and a read of an empty pipe went to the kernel.
    let (reader, writer) = pipe();
    let path2 = path.clone();
    let outcome = within(Duration::from_secs(10), "the panicking scope", move || {
        let mut buf = [0u8; 4];
        let mut pipe_buf = [0u8; 4];
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                let (_o, _r) = s.link(|s| {
                    let o = s.open(&path2, libc::O_RDONLY | libc::O_CLOEXEC, 0);
                    let r = s.pread(o.fd(), &mut buf, 0);
                    (o, r)
                });
                let blocked = s.read(&reader, &mut pipe_buf);
                s.submit();
                leak(blocked);
                panic!("mid-scope");
            })
        }))
        .is_err()
    });
    assert!(outcome, "the panic came through");
    drop(writer);
    assert_eq!(
        fd_count(),
        before,
        "no fd left behind by the unwinding scope"
    );

    // Handles forgotten (mem::forget) in a chain with a scope fd: the scope still sees them
    // through and closes the fd.
    let mut buf = [0u8; 4];
    uring_os::batch(|s| {
        let (o, r) = s.link(|s| {
            let o = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
            let r = s.pread(o.fd(), &mut buf, 2);
            (o, r)
        });
        leak(o);
        leak(r);
    });
    assert_eq!(&buf, b"2345");
    assert_eq!(fd_count(), before);
}

fn owned_fds_and_pool_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, b"hello world").unwrap();
    let before = fd_count();
    // An fd handed to the scope: a write that borrows nothing, then its close, in one
    // scope (impossible with `close(OwnedFd)` next to a write that borrows the fd).
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    let (w, c) = uring_os::batch(|s| {
        let f = s.own(file);
        let (w, c) = s.link(|s| (s.pwrite(f, b"HELLO", 0), s.close(f)));
        (w.wait(), c.wait())
    });
    assert_eq!(w.unwrap(), 5);
    c.unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"HELLO world");
    assert_eq!(fd_count(), before);

    // A pool buffer filled by a read and viewed once the read is done.
    let text = uring_os::batch(|s| {
        let buf = s.buffer(11);
        let f = s.open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0).fd();
        let r = s.link(|s| s.pread(f, buf, 0));
        // Viewing waits for the read first.
        let seen = s.view(buf, |bytes| bytes.to_vec());
        assert_eq!(r.wait().unwrap(), 11);
        // While the bytes are lent out, a read into the buffer is refused.
        let refused = s.view(buf, |_| s.pread(f, buf, 0).wait());
        assert_eq!(refused.unwrap_err().raw_os_error(), Some(libc::EBUSY));
        seen
    });
    assert_eq!(text, b"HELLO world");
    assert_eq!(fd_count(), before);
}

fn all() {
    scope_fds_in_chains();
    a_failed_open_in_the_middle_of_a_chain();
    panics_and_leaks_mid_chain();
    owned_fds_and_pool_buffers();
}

// fd_count() needs no other test opening or closing fds meanwhile: one test runs them all.
#[test]
fn scope_fds_and_buffers_with_and_without_a_ring() {
    let fds = common::fork::no_forks_meanwhile();
    all();
    drop(fds);
    common::fresh::in_fresh_process("fresh_scope_without_ring", &[("URING_OS", "off")]);
}

#[test]
#[ignore = "helper: run in a fresh process by scope_fds_and_buffers_with_and_without_a_ring"]
fn fresh_scope_without_ring() {
    if !common::fresh::is_fresh("fresh_scope_without_ring") {
        return;
    }
    all();
}
