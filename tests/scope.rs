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

/// `Batch::read_all`, `write_all` and `copy` against std, on sizes around their chunk
/// sizes and on the errors std gives.
fn whole_file_operations() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [
        0,
        1,
        32 * 1024 - 1,
        32 * 1024,
        32 * 1024 + 1,
        64 * 1024,
        64 * 1024 + 1,
        256 * 1024 + 7,
        3 * 1024 * 1024 + 5,
    ];
    let paths: Vec<_> = sizes
        .iter()
        .map(|&n| {
            let path = dir.path().join(format!("f{n}"));
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            fs::write(&path, &data).unwrap();
            path
        })
        .collect();
    let before = fd_count();
    // All read in one scope, their first chains submitted together.
    let got: Vec<_> = uring_os::batch(|s| {
        let pending: Vec<_> = paths.iter().map(|p| s.read_all(uring_os::CWD, p)).collect();
        pending.into_iter().map(|r| r.wait()).collect()
    });
    for (path, got) in paths.iter().zip(got) {
        assert_eq!(got.unwrap(), fs::read(path).unwrap(), "{}", path.display());
    }
    // Files that read short (proc), and the errors std gives.
    for path in ["/proc/self/status", "/proc/self/maps"] {
        let ours = uring_os::batch(|s| s.read_all(uring_os::CWD, path).wait()).unwrap();
        assert!(!ours.is_empty() && ours.ends_with(b"\n"), "{path}");
    }
    let missing = dir.path().join("missing");
    for (path, kind) in [
        (&missing, ErrorKind::NotFound),
        (&dir.path().to_path_buf(), ErrorKind::IsADirectory),
    ] {
        let ours = uring_os::batch(|s| s.read_all(uring_os::CWD, path).wait()).unwrap_err();
        let theirs = fs::read(path).unwrap_err();
        assert_eq!(ours.kind(), kind);
        assert_eq!(ours.raw_os_error(), theirs.raw_os_error());
    }
    assert_eq!(fd_count(), before, "read_all closes what it opens");

    // write_all of 3 MB at an offset.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let out = dir.path().join("out");
    let file = fs::File::create(&out).unwrap();
    let n = uring_os::batch(|s| s.write_all(&file, &big, 10).wait()).unwrap();
    assert_eq!(n, big.len());
    let written = fs::read(&out).unwrap();
    assert_eq!(&written[..10], &[0u8; 10]);
    assert_eq!(&written[10..], &big[..]);
    drop(file);

    // copy, against std::fs::copy, with permissions.
    use std::os::unix::fs::PermissionsExt;
    for (i, path) in paths.iter().enumerate() {
        fs::set_permissions(path, fs::Permissions::from_mode(0o640 + (i as u32 % 3))).unwrap();
        let (ours_to, std_to) = (
            dir.path().join(format!("ours{i}")),
            dir.path().join(format!("std{i}")),
        );
        let ours = uring_os::batch(|s| s.copy(path, &ours_to).wait()).unwrap();
        let theirs = fs::copy(path, &std_to).unwrap();
        assert_eq!(ours, theirs, "{}", path.display());
        assert_eq!(fs::read(&ours_to).unwrap(), fs::read(&std_to).unwrap());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&ours_to), mode(&std_to));
    }
    // Several copies in one scope.
    let copied: Vec<u64> = uring_os::batch(|s| {
        let pending: Vec<_> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| s.copy(p, dir.path().join(format!("again{i}"))))
            .collect();
        pending.into_iter().map(|c| c.wait().unwrap()).collect()
    });
    assert_eq!(copied, sizes.iter().map(|&n| n as u64).collect::<Vec<_>>());
    for (from, to) in [
        (missing.clone(), dir.path().join("x")),
        (dir.path().to_path_buf(), dir.path().join("y")),
        (paths[1].clone(), dir.path().join("no/such/dir")),
    ] {
        let ours = uring_os::batch(|s| s.copy(&from, &to).wait()).unwrap_err();
        let theirs = fs::copy(&from, &to).unwrap_err();
        assert_eq!(
            (ours.kind(), ours.raw_os_error()),
            (theirs.kind(), theirs.raw_os_error()),
            "{from:?} -> {to:?}"
        );
    }
    assert_eq!(fd_count(), before, "copy closes what it opens");
}

/// `Batch::stream`: a file of any size through `depth` recycled (registered) buffers, from
/// a fixed file; reads linked to writes for a copy; O_DIRECT.
fn streams_recycle_their_buffers() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 241) as u8).collect();
    fs::write(&path, &data).unwrap();
    let file = fs::File::open(&path).unwrap();
    const BLOCK: usize = 64 * 1024;
    let blocks = data.len().div_ceil(BLOCK);
    let before = fd_count();
    let (copy, addresses) = uring_os::batch(|s| {
        let fd = s.fixed(&file);
        let mut copy = vec![0u8; data.len()];
        let mut addresses = std::collections::HashSet::new();
        let stream = s.stream(8, BLOCK, |s, i, buf| {
            (i < blocks).then(|| s.pread(fd, buf, (i * BLOCK) as u64))
        });
        for (i, n, buf) in stream {
            let n = n.unwrap();
            assert_eq!(n, BLOCK.min(data.len() - i * BLOCK));
            s.view(buf.until(n), |bytes| {
                addresses.insert(bytes.as_ptr() as usize);
                copy[i * BLOCK..i * BLOCK + n].copy_from_slice(bytes);
            });
        }
        (copy, addresses)
    });
    assert!(copy == data, "the streamed bytes are the file's");
    assert!(
        addresses.len() <= 8,
        "{} buffers for 8 in flight",
        addresses.len()
    );
    assert_eq!(fd_count(), before);

    // A copy: each block's read linked to its write, through the same recycled buffers.
    let out = dir.path().join("copy");
    let dst = fs::File::create(&out).unwrap();
    uring_os::batch(|s| {
        let (from, to) = (s.fixed(&file), s.fixed(&dst));
        let stream = s.stream(4, BLOCK, |s, i, buf| {
            (i < blocks).then(|| {
                let offset = (i * BLOCK) as u64;
                let len = BLOCK.min(data.len() - i * BLOCK);
                s.link(|s| {
                    let _read = s.pread(from, buf.until(len), offset);
                    s.pwrite(to, buf.until(len), offset)
                })
            })
        });
        for (_, n, _) in stream {
            n.unwrap();
        }
    });
    drop(dst);
    assert!(fs::read(&out).unwrap() == data);

    // O_DIRECT needs aligned buffers: the stream's are page-aligned.
    let direct = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path);
    if let Ok(direct) = direct {
        let total: usize = uring_os::batch(|s| {
            s.stream(4, BLOCK, |s, i, buf| {
                (i < 16).then(|| s.pread(&direct, buf, (i * BLOCK) as u64))
            })
            .map(|(_, n, _)| n.unwrap())
            .sum()
        });
        assert_eq!(total, 16 * BLOCK);
    }
    assert_eq!(fd_count(), before);
}

/// Sockets born in a scope: a chain makes a socket, connects it and sends; another
/// accepts and receives on the accepted connection, each through its `ScopeFd`; the
/// scope closes both when it ends. Then the handles: a waited accept gives the
/// connection, with its peer address; a socket closed through its `ScopeFd` gives `EBADF`.
fn scope_sockets_in_chains() {
    let before = fd_count();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut buf = [0u8; 5];
    let (sent, got) = uring_os::batch(|s| {
        let (_a, got) = s.link(|s| {
            let a = s.accept(&listener);
            let f = a.fd();
            (a, s.recv(f, &mut buf, libc::MSG_WAITALL))
        });
        let (_c, _k, sent) = s.link(|s| {
            let c = s.socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            let f = c.fd();
            (c, s.connect(f, &addr), s.send(f, b"hello", 0))
        });
        (sent.wait(), got.wait())
    });
    assert_eq!((sent.unwrap(), got.unwrap()), (5, 5));
    assert_eq!(&buf, b"hello");
    drop(listener);
    assert_eq!(fd_count(), before, "the scope's sockets are closed");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::net::TcpStream::connect(addr).unwrap();
    let (accepted, closed) = uring_os::batch(|s| {
        let a = s.accept(&listener);
        let c = s.socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        s.close(c.fd()).wait().unwrap();
        (a.wait(), c.wait().map_err(|e| e.raw_os_error()))
    });
    let (conn, peer) = accepted.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert!(conn.as_raw_fd() >= 0);
    assert_eq!(closed.err(), Some(Some(libc::EBADF)));
    drop((conn, client, listener));
    assert_eq!(fd_count(), before);
}

fn all() {
    a_long_stream_keeps_the_scopes_memory_bounded();
    scope_sockets_in_chains();
    streams_recycle_their_buffers();
    whole_file_operations();
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

/// The scope's resident memory, in bytes.
fn resident() -> usize {
    let statm = fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A stream of any length keeps the scope's memory bounded: each operation takes the place
/// of one the stream is done with (its entry and its operation's memory).
fn a_long_stream_keeps_the_scopes_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, vec![7u8; 64 * 1024]).unwrap();
    let file = fs::File::open(&path).unwrap();
    const OPS: usize = 300_000;
    let (total, grew) = uring_os::batch(|s| {
        let fd = s.fixed(&file);
        let mut total = 0usize;
        let mut start = 0;
        let stream = s.stream(16, 4096, |s, i, buf| {
            (i < OPS).then(|| s.pread(fd, buf, (i % 16 * 4096) as u64))
        });
        for (i, n, _) in stream {
            total += n.unwrap();
            if i == 10_000 {
                start = resident();
            }
        }
        (total, resident().saturating_sub(start))
    });
    assert_eq!(total, OPS * 4096);
    // Without recycling, 290,000 more entries took tens of MB.
    assert!(
        grew < 4 << 20,
        "the scope grew by {grew} bytes over 290,000 reads"
    );
}
