//! Cases of the calls on files and paths: open, openat, close, the sync calls, fallocate,
//! fadvise, ftruncate, statx, and the directory and link calls.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::Case;
use super::fixtures::*;
use crate::common::{pos, sys, tcp_pair};

pub fn open() -> Vec<Case> {
    const RO: i32 = libc::O_RDONLY;
    vec![
        case!("open read-only: the fd's flags", OK, |a, f| {
            let fd = a.open(&f.p("file"), RO, 0)?;
            let mut b = [0u8; 4];
            sys::read(&fd, &mut b).unwrap();
            Ok(format!("{} {}", fd_desc(&fd), s(&b)))
        }),
        case!(
            "open O_RDWR | O_CLOEXEC | O_APPEND | O_NONBLOCK: the fd's flags",
            OK,
            |a, f| {
                let flags = libc::O_RDWR | libc::O_CLOEXEC | libc::O_APPEND | libc::O_NONBLOCK;
                a.open(&f.p("file"), flags, 0)
            }
        ),
        case!("open O_CREAT 0o777: the umask applies", OK, |a, f| {
            let fd = a.open(&f.p("new"), libc::O_CREAT | libc::O_WRONLY, 0o777)?;
            Ok(format!(
                "{} umask={:o} {}",
                fd_desc(&fd),
                sys::umask(),
                f.entry("new")
            ))
        }),
        case!("open O_CREAT 0o640", OK, |a, f| {
            let fd = a.open(&f.p("new"), libc::O_CREAT | libc::O_RDWR, 0o640)?;
            Ok(format!("{} {}", fd_desc(&fd), f.entry("new")))
        }),
        case!("open O_TRUNC empties the file", OK, |a, f| {
            let fd = a.open(&f.p("file"), libc::O_WRONLY | libc::O_TRUNC, 0)?;
            Ok(format!("{} {}", fd_desc(&fd), f.entry("file")))
        }),
        case!(
            "open O_CREAT | O_EXCL of an existing file: EEXIST",
            EEXIST,
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
                a.open(&f.p("file"), flags, 0o644)
            }
        ),
        case!(
            "open O_CREAT | O_EXCL of a dangling symlink: EEXIST",
            EEXIST,
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
                a.open(&f.p("dangling"), flags, 0o644)
            }
        ),
        case!("open a missing file: ENOENT", ENOENT, |a, f| {
            a.open(&f.p("missing"), RO, 0)
        }),
        case!(
            "open O_CREAT in a missing directory: ENOENT",
            ENOENT,
            |a, f| { a.open(&f.p("missing/new"), libc::O_CREAT | libc::O_WRONLY, 0o644) }
        ),
        case!("open a dangling symlink: ENOENT", ENOENT, |a, f| {
            a.open(&f.p("dangling"), RO, 0)
        }),
        case!("open an empty path: ENOENT", ENOENT, |a, _| {
            a.open(Path::new(""), RO, 0)
        }),
        case!("open a directory O_WRONLY: EISDIR", EISDIR, |a, f| {
            a.open(&f.p("sub"), libc::O_WRONLY, 0)
        }),
        case!("open a directory O_RDONLY | O_DIRECTORY", OK, |a, f| {
            a.open(&f.p("sub"), RO | libc::O_DIRECTORY, 0)
        }),
        case!("open a file O_DIRECTORY: ENOTDIR", ENOTDIR, |a, f| {
            a.open(&f.p("file"), RO | libc::O_DIRECTORY, 0)
        }),
        case!("open through a file: ENOTDIR", ENOTDIR, |a, f| {
            a.open(&f.p("file/x"), RO, 0)
        }),
        case!(
            "open a name longer than NAME_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, f| { a.open(&f.p("").join(too_long_name()), RO, 0) }
        ),
        case!(
            "open a path longer than PATH_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, _| { a.open(&too_long_path(), RO, 0) }
        ),
        case!("open a path longer than 384 bytes", OK, |a, f| {
            let path = deep_file(f, b"deep content");
            let fd = a.open(&path, RO, 0)?;
            let mut b = [0u8; 32];
            let n = sys::read(&fd, &mut b).unwrap();
            Ok(format!(
                "{} {} {}",
                path.as_os_str().len() > 384,
                fd_desc(&fd),
                s(&b[..n])
            ))
        }),
        case!("open O_CREAT a path longer than 384 bytes", OK, |a, f| {
            let mut path = deep_file(f, b"");
            path.set_file_name("created");
            let fd = a.open(&path, libc::O_CREAT | libc::O_WRONLY, 0o600)?;
            Ok(format!("{} {}", fd_desc(&fd), path.exists()))
        }),
        case!("open O_NOFOLLOW of a symlink: ELOOP", ELOOP, |a, f| {
            a.open(&f.p("link"), RO | libc::O_NOFOLLOW, 0)
        }),
        case!("open O_PATH | O_NOFOLLOW of a symlink", OK, |a, f| {
            a.open(&f.p("link"), libc::O_PATH | libc::O_NOFOLLOW, 0)
        }),
        case!("open O_TMPFILE read-only: EINVAL", EINVAL, |a, f| {
            a.open(&f.p("sub"), libc::O_TMPFILE | RO, 0o600)
        }),
        case!("open O_TMPFILE | O_RDWR", OK, |a, f| {
            a.open(&f.p("sub"), libc::O_TMPFILE | libc::O_RDWR, 0o600)
        }),
        case!("openat relative to a directory fd", OK, |a, f| {
            let fd = a.openat(f.dir.as_fd(), Path::new("full/x"), RO, 0)?;
            let mut b = [0u8; 4];
            let n = sys::read(&fd, &mut b).unwrap();
            Ok(format!("{} {}", fd_desc(&fd), s(&b[..n])))
        }),
        case!("openat CWD relative", OK, |a, _| {
            a.openat(uring_os::CWD, Path::new("Cargo.toml"), RO, 0)
        }),
        case!(
            "openat an absolute path ignores a closed dir fd",
            OK,
            |a, f| { a.openat(bad(), &f.p("file"), RO, 0) }
        ),
        case!(
            "openat a relative path from a closed dir fd: EBADF",
            EBADF,
            |a, _| { a.openat(bad(), Path::new("file"), RO, 0) }
        ),
        case!("openat from a file fd: ENOTDIR", ENOTDIR, |a, f| {
            a.openat(f.file.as_fd(), Path::new("x"), RO, 0)
        }),
        case!("openat a missing file: ENOENT", ENOENT, |a, f| {
            a.openat(f.dir.as_fd(), Path::new("missing"), RO, 0)
        }),
        case!(
            "openat O_CREAT | O_EXCL of an existing file: EEXIST",
            EEXIST,
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR;
                a.openat(f.dir.as_fd(), Path::new("empty"), flags, 0o600)
            }
        ),
        case!("openat a directory O_RDWR: EISDIR", EISDIR, |a, f| {
            a.openat(f.dir.as_fd(), Path::new("sub"), libc::O_RDWR, 0)
        }),
        case!(
            "openat a name longer than NAME_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, f| { a.openat(f.dir.as_fd(), &too_long_name(), RO, 0) }
        ),
        case!(
            "openat O_CREAT | O_EXCL | O_DIRECTORY: EINVAL",
            EINVAL,
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_DIRECTORY | libc::O_RDWR;
                a.openat(f.dir.as_fd(), Path::new("newdir"), flags, 0o700)
            }
        ),
    ]
}

pub fn close() -> Vec<Case> {
    vec![
        case!("close a duplicate", OK, |a, f| {
            let fd = f.file.try_clone().unwrap();
            a.close(fd)?;
            Ok(fd_desc(&f.file))
        }),
        case!("close a socket: the peer sees EOF", OK, |a, _| {
            let (client, server) = tcp_pair();
            a.close(client)?;
            let mut b = [0u8; 4];
            Ok(format!("{:?}", sys::read(&server, &mut b)))
        }),
        case!("close a closed fd: EBADF", EBADF, |a, _| {
            // SAFETY: the number is not open, so this OwnedFd aliases nothing; close consumes
            // it and no drop runs.
            let fd = unsafe { OwnedFd::from_raw_fd(bad().as_raw_fd()) };
            a.close(fd)
        }),
    ]
}

pub fn sync() -> Vec<Case> {
    use libc::{
        SYNC_FILE_RANGE_WAIT_AFTER as WAIT_AFTER, SYNC_FILE_RANGE_WAIT_BEFORE as WAIT_BEFORE,
        SYNC_FILE_RANGE_WRITE as WRITE,
    };
    vec![
        case!("fsync file", OK, |a, f| { a.fsync(f.file.as_fd()) }),
        case!("fsync read-only fd", OK, |a, f| {
            a.fsync(f.rdonly.as_fd())
        }),
        case!("fsync directory", OK, |a, f| { a.fsync(f.dir.as_fd()) }),
        case!("fsync pipe: EINVAL", EINVAL, |a, _| {
            let (r, _w) = pipe_with(b"");
            a.fsync(r.as_fd())
        }),
        case!("fsync socket: EINVAL", EINVAL, |a, _| {
            a.fsync(tcp_socket().as_fd())
        }),
        case!("fsync closed fd: EBADF", EBADF, |a, _| { a.fsync(bad()) }),
        case!("fdatasync file", OK, |a, f| { a.fdatasync(f.file.as_fd()) }),
        case!("fdatasync pipe: EINVAL", EINVAL, |a, _| {
            let (r, _w) = pipe_with(b"");
            a.fdatasync(r.as_fd())
        }),
        case!("fdatasync closed fd: EBADF", EBADF, |a, _| {
            a.fdatasync(bad())
        }),
        case!("sync_file_range write + wait", OK, |a, f| {
            let flags = WAIT_BEFORE | WRITE | WAIT_AFTER;
            a.sync_file_range(f.file.as_fd(), 0, 4096, flags)
        }),
        case!("sync_file_range without flags", OK, |a, f| {
            a.sync_file_range(f.file.as_fd(), 0, 0, 0)
        }),
        case!("sync_file_range length beyond u32", OK, |a, f| {
            a.sync_file_range(f.file.as_fd(), 0, 1 << 40, WRITE)
        }),
        case!("sync_file_range unknown flag: EINVAL", EINVAL, |a, f| {
            a.sync_file_range(f.file.as_fd(), 0, 4096, 0x100)
        }),
        case!(
            "sync_file_range offset 2^63 (negative): EINVAL",
            EINVAL,
            |a, f| { a.sync_file_range(f.file.as_fd(), 1 << 63, 10, WRITE) }
        ),
        case!("sync_file_range pipe: ESPIPE", ESPIPE, |a, _| {
            let (r, _w) = pipe_with(b"");
            a.sync_file_range(r.as_fd(), 0, 10, WRITE)
        }),
        case!("sync_file_range closed fd: EBADF", EBADF, |a, _| {
            a.sync_file_range(bad(), 0, 10, WRITE)
        }),
    ]
}

pub fn space() -> Vec<Case> {
    vec![
        case!("fallocate extends the file", OK, |a, f| {
            a.fallocate(f.file.as_fd(), 0, 0, 8192)?;
            Ok(format!("{:?}", sys::fstat(&f.file).map(|st| st.st_size)))
        }),
        case!("fallocate KEEP_SIZE past EOF keeps the size", OK, |a, f| {
            a.fallocate(f.file.as_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, 1 << 20)?;
            let st = sys::fstat(&f.file).unwrap();
            Ok(format!("{} {}", st.st_size, st.st_blocks >= 2048))
        }),
        case!(
            "fallocate PUNCH_HOLE | KEEP_SIZE zeroes a range",
            OK,
            |a, f| {
                let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
                a.fallocate(f.file.as_fd(), mode, 2, 3)?;
                Ok(format!("{:?}", f.content("file")))
            }
        ),
        case!(
            "fallocate PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP",
            EOPNOTSUPP,
            |a, f| { a.fallocate(f.file.as_fd(), libc::FALLOC_FL_PUNCH_HOLE, 0, 4) }
        ),
        case!("fallocate zero length: EINVAL", EINVAL, |a, f| {
            a.fallocate(f.file.as_fd(), 0, 0, 0)
        }),
        case!(
            "fallocate offset 2^63 (negative): EINVAL",
            EINVAL,
            |a, f| { a.fallocate(f.file.as_fd(), 0, 1 << 63, 10) }
        ),
        case!("fallocate beyond the largest file: EFBIG", EFBIG, |a, f| {
            let off = i64::MAX as u64 - 10;
            a.fallocate(f.file.as_fd(), 0, off, 100)
        }),
        case!("fallocate pipe: ESPIPE", ESPIPE, |a, _| {
            let (_r, w) = pipe_with(b"");
            a.fallocate(w.as_fd(), 0, 0, 10)
        }),
        case!("fallocate read-only fd: EBADF", EBADF, |a, f| {
            a.fallocate(f.rdonly.as_fd(), 0, 0, 10)
        }),
        case!("fallocate closed fd: EBADF", EBADF, |a, _| {
            a.fallocate(bad(), 0, 0, 10)
        }),
        case!("fadvise SEQUENTIAL", OK, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL)
        }),
        case!("fadvise DONTNEED", OK, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 4096, libc::POSIX_FADV_DONTNEED)
        }),
        case!("fadvise length beyond u32", OK, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 1 << 40, libc::POSIX_FADV_WILLNEED)
        }),
        case!("fadvise unknown advice: EINVAL", EINVAL, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 0, 99)
        }),
        case!("fadvise pipe: ESPIPE", ESPIPE, |a, _| {
            let (r, _w) = pipe_with(b"");
            a.fadvise(r.as_fd(), 0, 0, libc::POSIX_FADV_NORMAL)
        }),
        case!("fadvise closed fd: EBADF", EBADF, |a, _| {
            a.fadvise(bad(), 0, 0, libc::POSIX_FADV_NORMAL)
        }),
        case!("ftruncate shortens", OK, |a, f| {
            a.ftruncate(f.file.as_fd(), 5)?;
            Ok(format!("pos={} {}", pos(&f.file), f.content("file")))
        }),
        case!("ftruncate extends with zeroes", OK, |a, f| {
            a.ftruncate(f.file.as_fd(), 40)?;
            Ok(format!("{:?}", f.content("file")))
        }),
        case!("ftruncate read-only fd: EINVAL", EINVAL, |a, f| {
            a.ftruncate(f.rdonly.as_fd(), 5).map(|()| f.content("file"))
        }),
        case!("ftruncate pipe: EINVAL", EINVAL, |a, _| {
            let (_r, w) = pipe_with(b"");
            a.ftruncate(w.as_fd(), 5)
        }),
        case!(
            "ftruncate length 2^63 (negative): EINVAL",
            EINVAL,
            |a, f| { a.ftruncate(f.file.as_fd(), 1 << 63) }
        ),
        case!("ftruncate closed fd: EBADF", EBADF, |a, _| {
            a.ftruncate(bad(), 5)
        }),
    ]
}

pub fn statx() -> Vec<Case> {
    const BASIC: u32 = libc::STATX_BASIC_STATS;
    vec![
        case!("statx a file by path", OK, |a, f| {
            let stx = a.statx(uring_os::CWD, &f.p("file"), 0, BASIC)?;
            let st = sys::fstat(&f.file).unwrap();
            Ok(format!(
                "{} ino_ok={}",
                stx_desc(&stx),
                stx.stx_ino == st.st_ino
            ))
        }),
        case!("statx relative to a directory fd", OK, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("full"), 0, BASIC)
        }),
        case!("statx AT_EMPTY_PATH of an fd", OK, |a, f| {
            let stx = a.statx(f.file.as_fd(), Path::new(""), libc::AT_EMPTY_PATH, BASIC)?;
            Ok(stx_desc(&stx))
        }),
        case!("statx follows a symlink", OK, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("link"), 0, BASIC)
        }),
        case!("statx AT_SYMLINK_NOFOLLOW of a symlink", OK, |a, f| {
            let flags = libc::AT_SYMLINK_NOFOLLOW;
            a.statx(f.dir.as_fd(), Path::new("link"), flags, BASIC)
        }),
        case!("statx only the size", OK, |a, f| {
            let stx = a.statx(f.dir.as_fd(), Path::new("file"), 0, libc::STATX_SIZE)?;
            Ok(format!(
                "{} {}",
                stx.stx_mask & libc::STATX_SIZE,
                stx.stx_size
            ))
        }),
        case!(
            "statx an absolute path ignores a closed dir fd",
            OK,
            |a, f| { a.statx(bad(), &f.p("file"), 0, BASIC) }
        ),
        case!("statx a path longer than 384 bytes", OK, |a, f| {
            let path = deep_file(f, b"12345");
            a.statx(uring_os::CWD, &path, 0, BASIC)
        }),
        case!("statx a missing file: ENOENT", ENOENT, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("missing"), 0, BASIC)
        }),
        case!(
            "statx an empty path without AT_EMPTY_PATH: ENOENT",
            ENOENT,
            |a, f| { a.statx(f.file.as_fd(), Path::new(""), 0, BASIC) }
        ),
        case!("statx a dangling symlink: ENOENT", ENOENT, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("dangling"), 0, BASIC)
        }),
        case!("statx through a file: ENOTDIR", ENOTDIR, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("file/x"), 0, BASIC)
        }),
        case!("statx relative to a closed dir fd: EBADF", EBADF, |a, _| {
            a.statx(bad(), Path::new("file"), 0, BASIC)
        }),
        case!(
            "statx a name longer than NAME_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, f| { a.statx(f.dir.as_fd(), &too_long_name(), 0, BASIC) }
        ),
        case!(
            "statx a path longer than PATH_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, _| { a.statx(uring_os::CWD, &too_long_path(), 0, BASIC) }
        ),
        case!("statx unknown flag: EINVAL", EINVAL, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("file"), 0x1, BASIC)
        }),
        case!("statx reserved mask bit: EINVAL", EINVAL, |a, f| {
            let mask = libc::STATX__RESERVED as u32;
            a.statx(f.dir.as_fd(), Path::new("file"), 0, mask)
        }),
        case!("statx FORCE_SYNC | DONT_SYNC: EINVAL", EINVAL, |a, f| {
            let flags = libc::AT_STATX_FORCE_SYNC | libc::AT_STATX_DONT_SYNC;
            a.statx(f.dir.as_fd(), Path::new("file"), flags, BASIC)
        }),
    ]
}

pub fn dirs() -> Vec<Case> {
    vec![
        case!("mkdirat 0o777: the umask applies", OK, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("newdir"), 0o777)?;
            Ok(f.entry("newdir"))
        }),
        case!("mkdirat an absolute path from CWD", OK, |a, f| {
            a.mkdirat(uring_os::CWD, &f.p("sub/inner"), 0o700)?;
            Ok(f.entry("sub/inner"))
        }),
        case!("mkdirat a path longer than 384 bytes", OK, |a, f| {
            let mut path = deep_file(f, b"");
            path.set_file_name("newdir");
            a.mkdirat(uring_os::CWD, &path, 0o755)?;
            Ok(format!("{}", path.is_dir()))
        }),
        case!("mkdirat an existing directory: EEXIST", EEXIST, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("sub"), 0o755)
        }),
        case!("mkdirat an existing file: EEXIST", EEXIST, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("file"), 0o755)
        }),
        case!("mkdirat a dangling symlink: EEXIST", EEXIST, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("dangling"), 0o755)
        }),
        case!("mkdirat in a missing directory: ENOENT", ENOENT, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("missing/d"), 0o755)
        }),
        case!("mkdirat through a file: ENOTDIR", ENOTDIR, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("file/d"), 0o755)
        }),
        case!(
            "mkdirat relative to a closed dir fd: EBADF",
            EBADF,
            |a, _| { a.mkdirat(bad(), Path::new("d"), 0o755) }
        ),
        case!(
            "mkdirat a name longer than NAME_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, f| { a.mkdirat(f.dir.as_fd(), &too_long_name(), 0o755) }
        ),
        case!("unlinkat a file", OK, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("empty"), 0)?;
            Ok(f.entry("empty"))
        }),
        case!("unlinkat a symlink removes the link only", OK, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("link"), 0)?;
            Ok(format!("{} / {}", f.entry("link"), f.entry("file")))
        }),
        case!("unlinkat AT_REMOVEDIR an empty directory", OK, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("sub"), libc::AT_REMOVEDIR)?;
            Ok(f.entry("sub"))
        }),
        case!("unlinkat a missing file: ENOENT", ENOENT, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("missing"), 0)
        }),
        case!(
            "unlinkat a directory without AT_REMOVEDIR: EISDIR",
            EISDIR,
            |a, f| { a.unlinkat(f.dir.as_fd(), Path::new("sub"), 0) }
        ),
        case!(
            "unlinkat AT_REMOVEDIR a non-empty directory: ENOTEMPTY",
            ENOTEMPTY,
            |a, f| { a.unlinkat(f.dir.as_fd(), Path::new("full"), libc::AT_REMOVEDIR) }
        ),
        case!("unlinkat AT_REMOVEDIR a file: ENOTDIR", ENOTDIR, |a, f| {
            let res = a.unlinkat(f.dir.as_fd(), Path::new("file"), libc::AT_REMOVEDIR);
            res.map(|()| f.entry("file"))
        }),
        case!("unlinkat through a file: ENOTDIR", ENOTDIR, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("file/x"), 0)
        }),
        case!("unlinkat AT_REMOVEDIR \".\": EINVAL", EINVAL, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("sub/."), libc::AT_REMOVEDIR)
        }),
        case!("unlinkat unknown flag: EINVAL", EINVAL, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("empty"), 0x1)
                .map(|()| f.entry("empty"))
        }),
        case!(
            "unlinkat relative to a closed dir fd: EBADF",
            EBADF,
            |a, _| { a.unlinkat(bad(), Path::new("empty"), 0) }
        ),
        case!(
            "unlinkat a path longer than PATH_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, _| { a.unlinkat(uring_os::CWD, &too_long_path(), 0) }
        ),
        case!("renameat a file", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("file"), d, Path::new("moved"), 0)?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("moved")))
        }),
        case!("renameat over an existing file", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("file"), d, Path::new("empty"), 0)?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("empty")))
        }),
        case!(
            "renameat between directories, absolute paths",
            OK,
            |a, f| {
                a.renameat(bad(), &f.p("file"), bad(), &f.p("sub/file"), 0)?;
                Ok(format!("{} / {}", f.entry("file"), f.entry("sub")))
            }
        ),
        case!("renameat RENAME_NOREPLACE to a new name", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(
                d,
                Path::new("file"),
                d,
                Path::new("new"),
                libc::RENAME_NOREPLACE,
            )?;
            Ok(f.entry("new"))
        }),
        case!(
            "renameat RENAME_NOREPLACE onto a file: EEXIST",
            EEXIST,
            |a, f| {
                let d = f.dir.as_fd();
                let flags = libc::RENAME_NOREPLACE;
                a.renameat(d, Path::new("file"), d, Path::new("empty"), flags)
            }
        ),
        case!("renameat RENAME_EXCHANGE swaps", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(
                d,
                Path::new("file"),
                d,
                Path::new("sub"),
                libc::RENAME_EXCHANGE,
            )?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("sub")))
        }),
        case!(
            "renameat RENAME_EXCHANGE with a missing name: ENOENT",
            ENOENT,
            |a, f| {
                let d = f.dir.as_fd();
                let flags = libc::RENAME_EXCHANGE;
                a.renameat(d, Path::new("file"), d, Path::new("missing"), flags)
            }
        ),
        case!("renameat NOREPLACE | EXCHANGE: EINVAL", EINVAL, |a, f| {
            let d = f.dir.as_fd();
            let flags = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE;
            a.renameat(d, Path::new("file"), d, Path::new("empty"), flags)
        }),
        case!("renameat unknown flag: EINVAL", EINVAL, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("file"), d, Path::new("new"), 1 << 10)
        }),
        case!("renameat a missing file: ENOENT", ENOENT, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("missing"), d, Path::new("new"), 0)
        }),
        case!(
            "renameat a directory onto a non-empty one: ENOTEMPTY",
            ENOTEMPTY,
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("sub"), d, Path::new("full"), 0)
            }
        ),
        case!(
            "renameat a file onto a directory: EISDIR",
            EISDIR,
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("file"), d, Path::new("sub"), 0)
            }
        ),
        case!(
            "renameat a directory onto a file: ENOTDIR",
            ENOTDIR,
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("sub"), d, Path::new("file"), 0)
            }
        ),
        case!(
            "renameat a directory into itself: EINVAL",
            EINVAL,
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("full"), d, Path::new("full/inner"), 0)
            }
        ),
        case!(
            "renameat relative to a closed dir fd: EBADF",
            EBADF,
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(bad(), Path::new("file"), d, Path::new("new"), 0)
            }
        ),
        case!(
            "renameat to a name longer than NAME_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("file"), d, &too_long_name(), 0)
            }
        ),
    ]
}

pub fn links() -> Vec<Case> {
    vec![
        case!("symlinkat", OK, |a, f| {
            a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("newlink"))?;
            Ok(f.entry("newlink"))
        }),
        case!("symlinkat to a missing target", OK, |a, f| {
            a.symlinkat(
                Path::new("/no/such/target"),
                f.dir.as_fd(),
                Path::new("newlink"),
            )?;
            Ok(f.entry("newlink"))
        }),
        case!("symlinkat an existing name: EEXIST", EEXIST, |a, f| {
            a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("empty"))
        }),
        case!(
            "symlinkat in a missing directory: ENOENT",
            ENOENT,
            |a, f| { a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("missing/l")) }
        ),
        case!("symlinkat an empty target: ENOENT", ENOENT, |a, f| {
            a.symlinkat(Path::new(""), f.dir.as_fd(), Path::new("newlink"))
        }),
        case!("symlinkat through a file: ENOTDIR", ENOTDIR, |a, f| {
            a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("file/l"))
        }),
        case!(
            "symlinkat relative to a closed dir fd: EBADF",
            EBADF,
            |a, _| { a.symlinkat(Path::new("file"), bad(), Path::new("l")) }
        ),
        case!(
            "symlinkat a target longer than PATH_MAX: ENAMETOOLONG",
            ENAMETOOLONG,
            |a, f| { a.symlinkat(&too_long_path(), f.dir.as_fd(), Path::new("l")) }
        ),
        case!("symlinkat a target longer than 384 bytes", OK, |a, f| {
            let target = PathBuf::from("t".repeat(500));
            a.symlinkat(&target, f.dir.as_fd(), Path::new("l"))?;
            Ok(f.entry("l"))
        }),
        case!("linkat", OK, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("file"), d, Path::new("hard"), 0)?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("hard")))
        }),
        case!(
            "linkat a symlink without AT_SYMLINK_FOLLOW links the symlink",
            OK,
            |a, f| {
                let d = f.dir.as_fd();
                a.linkat(d, Path::new("link"), d, Path::new("hard"), 0)?;
                Ok(f.entry("hard"))
            }
        ),
        case!("linkat AT_SYMLINK_FOLLOW links the target", OK, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(
                d,
                Path::new("link"),
                d,
                Path::new("hard"),
                libc::AT_SYMLINK_FOLLOW,
            )?;
            Ok(f.entry("hard"))
        }),
        case!("linkat AT_EMPTY_PATH of an fd", OK, |a, f| {
            let (d, fd) = (f.dir.as_fd(), f.file.as_fd());
            a.linkat(fd, Path::new(""), d, Path::new("hard"), libc::AT_EMPTY_PATH)?;
            Ok(f.entry("hard"))
        }),
        case!("linkat onto an existing name: EEXIST", EEXIST, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("file"), d, Path::new("empty"), 0)
        }),
        case!("linkat a missing file: ENOENT", ENOENT, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("missing"), d, Path::new("hard"), 0)
        }),
        case!("linkat a directory: EPERM", EPERM, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("sub"), d, Path::new("hard"), 0)
        }),
        case!("linkat through a file: ENOTDIR", ENOTDIR, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("file/x"), d, Path::new("hard"), 0)
        }),
        case!("linkat unknown flag: EINVAL", EINVAL, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("file"), d, Path::new("hard"), 0x1)
        }),
        case!(
            "linkat relative to a closed dir fd: EBADF",
            EBADF,
            |a, f| {
                let d = f.dir.as_fd();
                a.linkat(bad(), Path::new("file"), d, Path::new("hard"), 0)
            }
        ),
    ]
}
