//! Cases of the calls that move bytes: read, pread, write, pwrite, the vectored calls,
//! splice, poll, sleep and nop; `O_NONBLOCK` and the offset `u64::MAX` apart.

use std::io::{IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::time::Duration;

use super::fixtures::*;
use super::{Api, Case, Libc};
use crate::common::{drain, listener, pos, sys, tcp_pair};

pub fn read() -> Vec<Case> {
    vec![
        case!("read file: bytes, and the position advances", OK, |a, f| {
            let mut b = [0u8; 10];
            let n1 = a.read(f.file.as_fd(), &mut b)?;
            let p1 = pos(&f.file);
            let n2 = a.read(f.file.as_fd(), &mut b[..4])?;
            Ok(format!("{n1} {p1} {n2} {} pos={}", s(&b), pos(&f.file)))
        }),
        case!("read file up to EOF: short count, then 0", OK, |a, f| {
            sys::lseek(&f.file, 30, libc::SEEK_SET).unwrap();
            let mut b = [0u8; 10];
            let n1 = a.read(f.file.as_fd(), &mut b)?;
            let n2 = a.read(f.file.as_fd(), &mut b)?;
            Ok(format!("{n1} {n2} {} pos={}", s(&b[..n1]), pos(&f.file)))
        }),
        case!("read with an empty buffer: 0", OK, |a, f| {
            let n = a.read(f.file.as_fd(), &mut [])?;
            Ok(format!("{n} pos={}", pos(&f.file)))
        }),
        case!("read after lseek: at the new position", OK, |a, f| {
            sys::lseek(&f.rdonly, 7, libc::SEEK_SET).unwrap();
            let mut b = [0u8; 5];
            let n = a.read(f.rdonly.as_fd(), &mut b)?;
            Ok(format!("{n} {} pos={}", s(&b), pos(&f.rdonly)))
        }),
        case!("read pipe", OK, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut b = [0u8; 100];
            let n = a.read(r.as_fd(), &mut b)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
        case!("read pipe in two parts", OK, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut b = [0u8; 3];
            let n1 = a.read(r.as_fd(), &mut b)?;
            let first = s(&b);
            let n2 = a.read(r.as_fd(), &mut b)?;
            Ok(format!("{n1} {first} {n2} {} rest={}", s(&b), drain(&r)))
        }),
        case!("read pipe whose writer is closed: 0", OK, |a, _| {
            let (r, w) = pipe_with(b"");
            drop(w);
            let n = a.read(r.as_fd(), &mut [0u8; 8])?;
            Ok(format!("{n}"))
        }),
        case!("read directory: EISDIR", EISDIR, |a, f| {
            a.read(f.dir.as_fd(), &mut [0u8; 8])
        }),
        case!("read closed fd: EBADF", EBADF, |a, _| {
            a.read(bad(), &mut [0u8; 8])
        }),
        case!("read closed fd, empty buffer: EBADF", EBADF, |a, _| {
            a.read(bad(), &mut [])
        }),
        case!("read write-only fd: EBADF", EBADF, |a, f| {
            a.read(f.wronly.as_fd(), &mut [0u8; 8])
        }),
        case!("read O_PATH fd: EBADF", EBADF, |a, f| {
            let fd = sys::open(&f.p("file"), libc::O_PATH | libc::O_CLOEXEC, 0).unwrap();
            a.read(fd.as_fd(), &mut [0u8; 8])
        }),
        case!("read pipe write end: EBADF", EBADF, |a, _| {
            let (_r, w) = pipe_with(b"x");
            a.read(w.as_fd(), &mut [0u8; 8])
        }),
        case!("read eventfd into 4 bytes: EINVAL", EINVAL, |a, _| {
            let efd = sys::eventfd();
            sys::write(&efd, &1u64.to_ne_bytes()).unwrap();
            a.read(efd.as_fd(), &mut [0u8; 4])
        }),
        case!("read eventfd", OK, |a, _| {
            let efd = sys::eventfd();
            sys::write(&efd, &5u64.to_ne_bytes()).unwrap();
            let mut b = [0u8; 8];
            let n = a.read(efd.as_fd(), &mut b)?;
            Ok(format!("{n} {}", u64::from_ne_bytes(b)))
        }),
        case!("read socket", OK, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"socketdata").unwrap();
            let mut b = [0u8; 64];
            let n = a.read(client.as_fd(), &mut b)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
    ]
}

pub fn pread() -> Vec<Case> {
    vec![
        case!("pread at an offset leaves the position", OK, |a, f| {
            let mut b = [0u8; 5];
            let n = a.pread(f.file.as_fd(), &mut b, 10)?;
            Ok(format!("{n} {} pos={}", s(&b), pos(&f.file)))
        }),
        case!("pread after read: the read's position stays", OK, |a, f| {
            let mut b = [0u8; 4];
            sys::read(&f.file, &mut b).unwrap();
            let n = a.pread(f.file.as_fd(), &mut b, 20)?;
            Ok(format!("{n} {} pos={}", s(&b), pos(&f.file)))
        }),
        case!("pread across EOF: short count", OK, |a, f| {
            let mut b = [0u8; 10];
            let n = a.pread(f.rdonly.as_fd(), &mut b, 32)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
        case!("pread past EOF: 0", OK, |a, f| {
            a.pread(f.file.as_fd(), &mut [0u8; 10], 1000)
        }),
        case!("pread pipe: ESPIPE", ESPIPE, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let res = a.pread(r.as_fd(), &mut [0u8; 8], 0);
            res.map(|n| format!("{n} left={}", drain(&r)))
        }),
        case!("pread socket: ESPIPE", ESPIPE, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"data").unwrap();
            a.pread(client.as_fd(), &mut [0u8; 8], 0)
        }),
        case!("pread directory: EISDIR", EISDIR, |a, f| {
            a.pread(f.dir.as_fd(), &mut [0u8; 8], 0)
        }),
        case!("pread closed fd: EBADF", EBADF, |a, _| {
            a.pread(bad(), &mut [0u8; 8], 0)
        }),
        case!("pread write-only fd: EBADF", EBADF, |a, f| {
            a.pread(f.wronly.as_fd(), &mut [0u8; 8], 0)
        }),
        case!("pread at offset 2^63 (negative): EINVAL", EINVAL, |a, f| {
            a.pread(f.file.as_fd(), &mut [0u8; 8], 1 << 63)
        }),
    ]
}

pub fn write() -> Vec<Case> {
    vec![
        case!(
            "write file: content, and the position advances",
            OK,
            |a, f| {
                let n1 = a.write(f.file.as_fd(), b"XYZ")?;
                let n2 = a.write(f.file.as_fd(), b"W")?;
                Ok(format!(
                    "{n1} {n2} pos={} {}",
                    pos(&f.file),
                    f.content("file")
                ))
            }
        ),
        case!("write past EOF extends the file", OK, |a, f| {
            sys::lseek(&f.file, 40, libc::SEEK_SET).unwrap();
            let n = a.write(f.file.as_fd(), b"end")?;
            Ok(format!("{n} pos={} {:?}", pos(&f.file), f.content("file")))
        }),
        case!("write O_APPEND after lseek 0: appends", OK, |a, f| {
            sys::lseek(&f.append, 0, libc::SEEK_SET).unwrap();
            let n = a.write(f.append.as_fd(), b"END")?;
            Ok(format!("{n} pos={} {}", pos(&f.append), f.content("file")))
        }),
        case!("write with an empty buffer: 0", OK, |a, f| {
            let n = a.write(f.file.as_fd(), b"")?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        case!("write pipe", OK, |a, _| {
            let (r, _w2) = pipe_with(b"");
            let n = a.write(_w2.as_fd(), b"abc")?;
            Ok(format!("{n} {}", drain(&r)))
        }),
        case!("write read-only fd: EBADF", EBADF, |a, f| {
            a.write(f.rdonly.as_fd(), b"x")
        }),
        case!("write closed fd: EBADF", EBADF, |a, _| {
            a.write(bad(), b"x")
        }),
        case!("write directory: EBADF", EBADF, |a, f| {
            a.write(f.dir.as_fd(), b"x")
        }),
        case!("write pipe without reader: EPIPE", EPIPE, |a, _| {
            let (r, w) = pipe_with(b"");
            drop(r);
            a.write(w.as_fd(), b"x")
        }),
        case!("write socket", OK, |a, _| {
            let (client, server) = tcp_pair();
            let n = a.write(client.as_fd(), b"hello")?;
            let mut b = [0u8; 16];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        case!(
            "write socket after shutdown(Write): EPIPE",
            EPIPE,
            |a, _| {
                let (client, _server) = tcp_pair();
                std::net::TcpStream::from(client.try_clone().unwrap())
                    .shutdown(Shutdown::Write)
                    .unwrap();
                a.write(client.as_fd(), b"x")
            }
        ),
    ]
}

pub fn pwrite() -> Vec<Case> {
    vec![
        case!("pwrite at an offset leaves the position", OK, |a, f| {
            let n = a.pwrite(f.file.as_fd(), b"XY", 5)?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        case!(
            "pwrite O_APPEND fd: appends whatever the offset",
            OK,
            |a, f| {
                let n = a.pwrite(f.append.as_fd(), b"TAIL", 0)?;
                let m = a.pwrite(f.append.as_fd(), b"+", 3)?;
                Ok(format!(
                    "{n} {m} pos={} {}",
                    pos(&f.append),
                    f.content("file")
                ))
            }
        ),
        case!("pwrite past EOF leaves a hole", OK, |a, f| {
            let n = a.pwrite(f.file.as_fd(), b"Z", 100)?;
            Ok(format!("{n} pos={} {:?}", pos(&f.file), f.content("file")))
        }),
        case!("pwrite pipe: ESPIPE", ESPIPE, |a, _| {
            let (r, w) = pipe_with(b"");
            let res = a.pwrite(w.as_fd(), b"x", 0);
            res.map(|n| format!("{n} {}", drain(&r)))
        }),
        case!("pwrite read-only fd: EBADF", EBADF, |a, f| {
            a.pwrite(f.rdonly.as_fd(), b"x", 0)
        }),
        case!("pwrite closed fd: EBADF", EBADF, |a, _| {
            a.pwrite(bad(), b"x", 0)
        }),
        case!(
            "pwrite at offset 2^63 (negative): EINVAL",
            EINVAL,
            |a, f| { a.pwrite(f.file.as_fd(), b"x", 1 << 63) }
        ),
    ]
}

pub fn vectored() -> Vec<Case> {
    vec![
        case!(
            "readv fills the buffers in turn, position advances",
            OK,
            |a, f| {
                let mut bufs = vec![vec![0u8; 3], vec![0u8; 4], vec![0u8; 100]];
                let n = a.readv(f.file.as_fd(), &mut iov_mut(&mut bufs))?;
                Ok(format!(
                    "{n} {} {} {} pos={}",
                    s(&bufs[0]),
                    s(&bufs[1]),
                    s(&bufs[2][..n - 7]),
                    pos(&f.file)
                ))
            }
        ),
        case!("readv without buffers: 0", OK, |a, f| {
            a.readv(f.file.as_fd(), &mut [])
                .map(|n| format!("{n} pos={}", pos(&f.file)))
        }),
        case!("readv pipe", OK, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut bufs = vec![vec![0u8; 5], vec![0u8; 5]];
            let n = a.readv(r.as_fd(), &mut iov_mut(&mut bufs))?;
            Ok(format!("{n} {} {}", s(&bufs[0]), s(&bufs[1])))
        }),
        case!("readv directory: EISDIR", EISDIR, |a, f| {
            let mut bufs = vec![vec![0u8; 5]];
            a.readv(f.dir.as_fd(), &mut iov_mut(&mut bufs))
        }),
        case!("readv closed fd: EBADF", EBADF, |a, _| {
            let mut bufs = vec![vec![0u8; 5]];
            a.readv(bad(), &mut iov_mut(&mut bufs))
        }),
        case!("readv 1025 buffers (> IOV_MAX): EINVAL", EINVAL, |a, f| {
            let mut bufs = vec![vec![0u8; 1]; 1025];
            a.readv(f.file.as_fd(), &mut iov_mut(&mut bufs))
        }),
        case!(
            "writev writes the buffers in turn, position advances",
            OK,
            |a, f| {
                let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
                let n = a.writev(f.file.as_fd(), &bufs)?;
                Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
            }
        ),
        case!("writev O_APPEND appends", OK, |a, f| {
            let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
            let n = a.writev(f.append.as_fd(), &bufs)?;
            Ok(format!("{n} pos={} {}", pos(&f.append), f.content("file")))
        }),
        case!("writev pipe", OK, |a, _| {
            let (r, w) = pipe_with(b"");
            let n = a.writev(w.as_fd(), &[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
            Ok(format!("{n} {}", drain(&r)))
        }),
        case!("writev read-only fd: EBADF", EBADF, |a, f| {
            a.writev(f.rdonly.as_fd(), &[IoSlice::new(b"ab")])
        }),
        case!("writev 1025 buffers (> IOV_MAX): EINVAL", EINVAL, |a, f| {
            let bufs = vec![IoSlice::new(b"a"); 1025];
            let res = a.writev(f.file.as_fd(), &bufs);
            res.map(|n| format!("{n} {}", f.content("file")))
        }),
        case!("writev pipe without reader: EPIPE", EPIPE, |a, _| {
            let (r, w) = pipe_with(b"");
            drop(r);
            a.writev(w.as_fd(), &[IoSlice::new(b"ab")])
        }),
        case!(
            "preadv at an offset fills the buffers, position stays",
            OK,
            |a, f| {
                let mut bufs = vec![vec![0u8; 2], vec![0u8; 3]];
                let n = a.preadv(f.file.as_fd(), &mut iov_mut(&mut bufs), 10)?;
                Ok(format!(
                    "{n} {} {} pos={}",
                    s(&bufs[0]),
                    s(&bufs[1]),
                    pos(&f.file)
                ))
            }
        ),
        case!("preadv past EOF: 0", OK, |a, f| {
            let mut bufs = vec![vec![0u8; 2]];
            a.preadv(f.file.as_fd(), &mut iov_mut(&mut bufs), 500)
        }),
        case!("preadv pipe: ESPIPE", ESPIPE, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut bufs = vec![vec![0u8; 2]];
            let res = a.preadv(r.as_fd(), &mut iov_mut(&mut bufs), 0);
            res.map(|n| format!("{n} left={}", drain(&r)))
        }),
        case!("preadv directory: EISDIR", EISDIR, |a, f| {
            let mut bufs = vec![vec![0u8; 2]];
            a.preadv(f.dir.as_fd(), &mut iov_mut(&mut bufs), 0)
        }),
        case!("preadv closed fd: EBADF", EBADF, |a, _| {
            let mut bufs = vec![vec![0u8; 2]];
            a.preadv(bad(), &mut iov_mut(&mut bufs), 0)
        }),
        case!(
            "preadv at offset 2^63 (negative): EINVAL",
            EINVAL,
            |a, f| {
                let mut bufs = vec![vec![0u8; 2]];
                a.preadv(f.file.as_fd(), &mut iov_mut(&mut bufs), 1 << 63)
            }
        ),
        case!("pwritev at an offset, position stays", OK, |a, f| {
            let n = a.pwritev(
                f.file.as_fd(),
                &[IoSlice::new(b"AB"), IoSlice::new(b"C")],
                4,
            )?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        case!(
            "pwritev O_APPEND fd: appends whatever the offset",
            OK,
            |a, f| {
                let n = a.pwritev(f.append.as_fd(), &[IoSlice::new(b"AB")], 0)?;
                Ok(format!("{n} pos={} {}", pos(&f.append), f.content("file")))
            }
        ),
        case!("pwritev pipe: ESPIPE", ESPIPE, |a, _| {
            let (r, w) = pipe_with(b"");
            let res = a.pwritev(w.as_fd(), &[IoSlice::new(b"AB")], 0);
            res.map(|n| format!("{n} {}", drain(&r)))
        }),
        case!("pwritev read-only fd: EBADF", EBADF, |a, f| {
            a.pwritev(f.rdonly.as_fd(), &[IoSlice::new(b"AB")], 0)
        }),
    ]
}

/// Calls on fds with `O_NONBLOCK` set, which must not wait: `EAGAIN` (or `EINPROGRESS`) as
/// the syscalls give.
pub fn nonblocking() -> Vec<Case> {
    vec![
        case!("read empty O_NONBLOCK pipe: EAGAIN", EAGAIN, |a, _| {
            let (r, _w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
            a.read(r.as_fd(), &mut [0u8; 8])
        })
        .may_block(),
        case!(
            "read O_NONBLOCK socket without data: EAGAIN",
            EAGAIN,
            |a, _| {
                let (client, _server) = tcp_pair();
                sys::set_nonblocking(&client);
                a.read(client.as_fd(), &mut [0u8; 8])
            }
        )
        .may_block(),
        case!("readv empty O_NONBLOCK pipe: EAGAIN", EAGAIN, |a, _| {
            let (r, _w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
            let mut bufs = vec![vec![0u8; 5]];
            a.readv(r.as_fd(), &mut iov_mut(&mut bufs))
        })
        .may_block(),
        case!("write full O_NONBLOCK pipe: EAGAIN", EAGAIN, |a, _| {
            let (_r, w) = full_pipe();
            a.write(w.as_fd(), b"x")
        })
        .may_block(),
        case!(
            "accept an O_NONBLOCK listener without connection: EAGAIN",
            EAGAIN,
            |a, _| {
                let (l, _addr) = listener();
                sys::set_nonblocking(&l);
                a.accept(l.as_fd())
            }
        )
        .may_block(),
        case!(
            "recv an O_NONBLOCK socket without data: EAGAIN",
            EAGAIN,
            |a, _| {
                let (client, _server) = tcp_pair();
                sys::set_nonblocking(&client);
                a.recv(client.as_fd(), &mut [0u8; 8], 0)
            }
        )
        .may_block(),
        case!(
            "connect an O_NONBLOCK socket: EINPROGRESS",
            EINPROGRESS,
            |a, _| {
                let (_l, addr) = listener();
                let fd = tcp_socket();
                sys::set_nonblocking(&fd);
                a.connect(fd.as_fd(), &addr)
            }
        )
        .may_block(),
        case!("writev full O_NONBLOCK pipe: EAGAIN", EAGAIN, |a, _| {
            let (_r, w) = full_pipe();
            a.writev(w.as_fd(), &[IoSlice::new(b"x")])
        })
        .may_block(),
        case!(
            "send O_NONBLOCK socket with a full buffer: EAGAIN",
            EAGAIN,
            |a, _| {
                let (client, _server) = tcp_pair();
                sys::set_nonblocking(&client);
                let chunk = [0u8; 65536];
                while sys::write(&client, &chunk).is_ok() {}
                a.send(client.as_fd(), b"x", 0)
            }
        )
        .may_block(),
        case!(
            "accept4 an O_NONBLOCK listener without connection: EAGAIN",
            EAGAIN,
            |a, _| {
                let (l, _addr) = listener();
                sys::set_nonblocking(&l);
                a.accept4(l.as_fd(), libc::SOCK_CLOEXEC)
            }
        )
        .may_block(),
        case!(
            "splice from an empty O_NONBLOCK pipe: EAGAIN",
            EAGAIN,
            |a, f| {
                let (r, _w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
                a.splice(r.as_fd(), None, f.file.as_fd(), Some(0), 10, 0)
            }
        )
        .may_block(),
        case!("poll is not affected by O_NONBLOCK", OK, |a, _| {
            let (r, w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
            sys::write(&w, b"x").unwrap();
            a.poll(r.as_fd(), libc::POLLIN)
        })
        .may_block(),
    ]
}

/// Cases where the offset is `u64::MAX`: the direct syscall takes it as -1 and refuses it;
/// io_uring takes -1 as "the file position".
pub fn offset_minus_one() -> Vec<Case> {
    vec![
        case!("pread at offset u64::MAX (-1): EINVAL", EINVAL, |a, f| {
            sys::lseek(&f.file, 3, libc::SEEK_SET).unwrap();
            let mut b = [0u8; 4];
            let res = a.pread(f.file.as_fd(), &mut b, u64::MAX);
            res.map(|n| format!("{n} {} pos={}", s(&b), pos(&f.file)))
        }),
        case!("pwrite at offset u64::MAX (-1): EINVAL", EINVAL, |a, f| {
            let res = a.pwrite(f.file.as_fd(), b"XX", u64::MAX);
            res.map(|n| format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        case!("preadv at offset u64::MAX (-1): EINVAL", EINVAL, |a, f| {
            let mut b = [0u8; 4];
            let res = a.preadv(f.file.as_fd(), &mut [IoSliceMut::new(&mut b)], u64::MAX);
            res.map(|n| format!("{n} {} pos={}", s(&b), pos(&f.file)))
        }),
        case!("pwritev at offset u64::MAX (-1): EINVAL", EINVAL, |a, f| {
            let res = a.pwritev(f.file.as_fd(), &[IoSlice::new(b"XX")], u64::MAX);
            res.map(|n| format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
    ]
}

pub fn splice() -> Vec<Case> {
    const NB: u32 = libc::SPLICE_F_NONBLOCK;
    vec![
        case!(
            "splice file at an offset to a pipe: the position stays",
            OK,
            |a, f| {
                let (r, w) = pipe_with(b"");
                let n = a.splice(f.file.as_fd(), Some(2), w.as_fd(), None, 5, 0)?;
                Ok(format!("{n} {} pos={}", drain(&r), pos(&f.file)))
            }
        ),
        case!(
            "splice file at its position to a pipe: the position advances",
            OK,
            |a, f| {
                sys::lseek(&f.file, 4, libc::SEEK_SET).unwrap();
                let (r, w) = pipe_with(b"");
                let n = a.splice(f.file.as_fd(), None, w.as_fd(), None, 6, 0)?;
                Ok(format!("{n} {} pos={}", drain(&r), pos(&f.file)))
            }
        ),
        case!("splice file past EOF to a pipe: 0", OK, |a, f| {
            let (_r, w) = pipe_with(b"");
            a.splice(f.file.as_fd(), Some(1000), w.as_fd(), None, 6, 0)
        }),
        case!("splice pipe to a file at an offset", OK, |a, f| {
            let (r, _w) = pipe_with(b"PIPE");
            let n = a.splice(r.as_fd(), None, f.file.as_fd(), Some(3), 100, 0)?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        case!("splice pipe to a file at its position", OK, |a, f| {
            sys::lseek(&f.file, 10, libc::SEEK_SET).unwrap();
            let (r, _w) = pipe_with(b"PIPE");
            let n = a.splice(r.as_fd(), None, f.file.as_fd(), None, 2, 0)?;
            Ok(format!(
                "{n} pos={} {} left={}",
                pos(&f.file),
                f.content("file"),
                drain(&r)
            ))
        }),
        case!("splice pipe to a pipe", OK, |a, _| {
            let (r1, _w1) = pipe_with(b"data");
            let (r2, w2) = pipe_with(b"");
            let n = a.splice(r1.as_fd(), None, w2.as_fd(), None, 100, 0)?;
            Ok(format!("{n} {}", drain(&r2)))
        }),
        case!("splice pipe to a socket", OK, |a, _| {
            let (r, _w) = pipe_with(b"data");
            let (client, server) = tcp_pair();
            let n = a.splice(r.as_fd(), None, client.as_fd(), None, 100, 0)?;
            let mut b = [0u8; 8];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        case!("splice zero bytes: 0", OK, |a, f| {
            let (_r, w) = pipe_with(b"");
            a.splice(f.file.as_fd(), Some(0), w.as_fd(), None, 0, 0)
        }),
        case!("splice an empty pipe without writers: 0", OK, |a, f| {
            let (r, w) = pipe_with(b"");
            drop(w);
            a.splice(r.as_fd(), None, f.file.as_fd(), Some(0), 10, 0)
        }),
        case!(
            "splice SPLICE_F_NONBLOCK from an empty pipe: EAGAIN",
            EAGAIN,
            |a, f| {
                let (r, _w) = pipe_with(b"");
                a.splice(r.as_fd(), None, f.file.as_fd(), Some(0), 10, NB)
            }
        )
        .may_block(),
        case!(
            "splice with an offset for the pipe: ESPIPE",
            ESPIPE,
            |a, f| {
                let (r, _w) = pipe_with(b"data");
                a.splice(r.as_fd(), Some(0), f.file.as_fd(), Some(0), 10, 0)
            }
        ),
        case!("splice file to file (no pipe): EINVAL", EINVAL, |a, f| {
            a.splice(f.rdonly.as_fd(), Some(0), f.wronly.as_fd(), Some(0), 10, 0)
        }),
        case!("splice into a read-only file: EBADF", EBADF, |a, f| {
            let (r, _w) = pipe_with(b"data");
            a.splice(r.as_fd(), None, f.rdonly.as_fd(), Some(0), 10, 0)
        }),
        case!("splice from a closed fd: EBADF", EBADF, |a, _| {
            let (_r, w) = pipe_with(b"");
            a.splice(bad(), None, w.as_fd(), None, 10, 0)
        }),
        case!("splice into a closed fd: EBADF", EBADF, |a, _| {
            let (r, _w) = pipe_with(b"data");
            a.splice(r.as_fd(), None, bad(), None, 10, 0)
        }),
    ]
}

pub fn poll() -> Vec<Case> {
    const IN: i16 = libc::POLLIN;
    const OUT: i16 = libc::POLLOUT;
    vec![
        case!("poll POLLIN on a pipe with data", OK, |a, _| {
            let (r, _w) = pipe_with(b"x");
            a.poll(r.as_fd(), IN)
        }),
        case!(
            "poll POLLIN | POLLOUT on a pipe with data, read end",
            OK,
            |a, _| {
                let (r, _w) = pipe_with(b"x");
                a.poll(r.as_fd(), IN | OUT)
            }
        ),
        case!("poll POLLOUT on a pipe's write end", OK, |a, _| {
            let (_r, w) = pipe_with(b"");
            a.poll(w.as_fd(), OUT | libc::POLLWRNORM)
        }),
        case!("poll a regular file", OK, |a, f| {
            let ev = IN | OUT | libc::POLLRDNORM | libc::POLLWRNORM;
            a.poll(f.file.as_fd(), ev)
        }),
        case!(
            "poll POLLIN on a pipe without writers: POLLHUP",
            OK,
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(w);
                a.poll(r.as_fd(), IN)
            }
        ),
        case!(
            "poll no events on a pipe without writers: POLLHUP",
            OK,
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(w);
                a.poll(r.as_fd(), 0)
            }
        ),
        case!(
            "poll POLLOUT on a pipe without readers: POLLERR",
            OK,
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(r);
                a.poll(w.as_fd(), OUT)
            }
        ),
        case!(
            "poll POLLIN | POLLPRI | POLLRDHUP on a socket with data",
            OK,
            |a, _| {
                let (client, server) = tcp_pair();
                sys::write(&server, b"x").unwrap();
                let ev = IN | libc::POLLPRI | libc::POLLRDHUP;
                a.poll(client.as_fd(), ev)
            }
        ),
        case!(
            "poll POLLRDHUP after the peer's shutdown(Write)",
            OK,
            |a, _| {
                let (client, server) = tcp_pair();
                Libc.shutdown(server.as_fd(), Shutdown::Write).unwrap();
                let ev = IN | libc::POLLRDHUP;
                a.poll(client.as_fd(), ev)
            }
        ),
        case!(
            "poll POLLIN on a listener with a pending connection",
            OK,
            |a, _| {
                let (l, addr) = listener();
                let _client = std::net::TcpStream::connect(addr).unwrap();
                a.poll(l.as_fd(), IN)
            }
        ),
    ]
}

/// poll(2) reports an fd that is not open as `POLLNVAL` in `revents`; it does not fail.
pub fn poll_closed_fd() -> Vec<Case> {
    vec![case!("poll a closed fd: revents POLLNVAL", OK, |a, _| {
        a.poll(bad(), libc::POLLIN)
    })]
}

pub fn misc() -> Vec<Case> {
    vec![
        case!("sleep 1 ms", OK, |a, _| {
            a.sleep(Duration::from_millis(1))
        }),
        case!("sleep zero", OK, |a, _| { a.sleep(Duration::ZERO) }),
        case!("nop", OK, |a, _| { a.nop() }),
    ]
}
