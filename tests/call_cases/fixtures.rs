//! The fixtures the cases run on, fresh and identical for each side of each case, and the
//! ways the cases describe what they observed.

use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use super::{CONTENT, errno_name};
use crate::common::sys;

/// A fresh directory for one side of one case:
///
/// ```text
/// file      CONTENT              empty     (empty file)
/// sub/      (empty directory)    full/x    (a directory with one file)
/// link -> file                   dangling -> nowhere
/// ```
///
/// with `dir` open on the directory and `file` open four ways.
pub struct Fx {
    pub tmp: tempfile::TempDir,
    /// The directory, `O_RDONLY | O_DIRECTORY`.
    pub dir: OwnedFd,
    /// `file`, `O_RDWR`.
    pub file: OwnedFd,
    /// `file`, `O_RDONLY`.
    pub rdonly: OwnedFd,
    /// `file`, `O_WRONLY`.
    pub wronly: OwnedFd,
    /// `file`, `O_WRONLY | O_APPEND`.
    pub append: OwnedFd,
}

impl Fx {
    pub fn new() -> Fx {
        let tmp = tempfile::Builder::new()
            .prefix("uring_os-calls-")
            .tempdir()
            .expect("temp dir");
        let p = |n: &str| tmp.path().join(n);
        std::fs::write(p("file"), CONTENT).unwrap();
        std::fs::write(p("empty"), b"").unwrap();
        std::fs::create_dir(p("sub")).unwrap();
        std::fs::create_dir(p("full")).unwrap();
        std::fs::write(p("full/x"), b"x").unwrap();
        std::os::unix::fs::symlink("file", p("link")).unwrap();
        std::os::unix::fs::symlink("nowhere", p("dangling")).unwrap();
        let open = |n: &str, flags: i32| sys::open(&p(n), flags | libc::O_CLOEXEC, 0).unwrap();
        Fx {
            dir: open("", libc::O_RDONLY | libc::O_DIRECTORY),
            file: open("file", libc::O_RDWR),
            rdonly: open("file", libc::O_RDONLY),
            wronly: open("file", libc::O_WRONLY),
            append: open("file", libc::O_WRONLY | libc::O_APPEND),
            tmp,
        }
    }

    /// The absolute path of `name` in the directory.
    pub fn p(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The content of `name`, for outcomes.
    pub fn content(&self, name: &str) -> String {
        match std::fs::read(self.p(name)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("<{}>", errno_name(e.raw_os_error().unwrap_or(-1))),
        }
    }

    /// What is at `name` now: its type, and its content or link target.
    pub fn entry(&self, name: &str) -> String {
        match std::fs::symlink_metadata(self.p(name)) {
            Err(_) => "missing".into(),
            Ok(m) if m.file_type().is_symlink() => {
                format!("symlink to {}", sys::readlink(&self.p(name)).unwrap())
            }
            Ok(m) if m.is_dir() => {
                use std::os::unix::fs::PermissionsExt;
                let mut names: Vec<String> = std::fs::read_dir(self.p(name))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                format!("dir {:o} {:?}", m.permissions().mode(), names)
            }
            Ok(m) => {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                format!(
                    "file {:o} nlink={} {:?}",
                    m.permissions().mode(),
                    m.nlink(),
                    self.content(name)
                )
            }
        }
    }
}

impl Default for Fx {
    fn default() -> Fx {
        Fx::new()
    }
}

/// An fd number that is not open (above any fd table this process gets).
pub fn bad() -> BorrowedFd<'static> {
    // SAFETY: the number is never an open fd, so the borrow cannot outlive or alias anything;
    // every call given it fails with EBADF without touching any file.
    unsafe { BorrowedFd::borrow_raw(1 << 30) }
}

/// A pipe holding `data`.
pub fn pipe_with(data: &[u8]) -> (OwnedFd, OwnedFd) {
    let (r, w) = sys::pipe2(libc::O_CLOEXEC);
    if !data.is_empty() {
        assert_eq!(sys::write(&w, data), Ok(data.len()));
    }
    (r, w)
}

/// A full `O_NONBLOCK` pipe.
pub fn full_pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
    let chunk = [7u8; 4096];
    while sys::write(&w, &chunk).is_ok() {}
    while sys::write(&w, &chunk[..1]).is_ok() {}
    (r, w)
}

/// A loopback address nothing listens on.
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap()
}

/// A fresh, unconnected TCP socket.
pub fn tcp_socket() -> OwnedFd {
    sys::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).expect("socket")
}

/// A fresh UDP socket.
pub fn udp_socket() -> OwnedFd {
    sys::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0).expect("socket")
}

/// What an fd is: status flags, fd flags, file type and permission bits.
pub fn fd_desc(fd: impl AsFd) -> String {
    let fd = fd.as_fd();
    let fl = sys::fcntl(fd, libc::F_GETFL, 0).map(|v| format!("{v:#x}"));
    let fdfl = sys::fcntl(fd, libc::F_GETFD, 0);
    let mode = sys::fstat(fd).map(|st| format!("{:o}", st.st_mode));
    let ty = sys::sockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE).ok();
    format!("fl={fl:?} fd={fdfl:?} mode={mode:?} so_type={ty:?}")
}

/// The parts of a statx that both sides must agree on (not inode numbers or times).
pub fn stx_desc(stx: &libc::statx) -> String {
    format!(
        "mask={:#x} mode={:o} size={} nlink={} uid={} gid={} blksize={} attrs_mask={:#x}",
        stx.stx_mask,
        stx.stx_mode,
        stx.stx_size,
        stx.stx_nlink,
        stx.stx_uid,
        stx.stx_gid,
        stx.stx_blksize,
        stx.stx_attributes_mask
    )
}

/// Bytes as text, for outcomes.
pub fn s(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path longer than `PATH_MAX`.
pub fn too_long_path() -> PathBuf {
    let component = "d".repeat(200);
    let mut p = PathBuf::from("/tmp");
    while p.as_os_str().len() <= libc::PATH_MAX as usize {
        p.push(&component);
    }
    p
}

/// A file name longer than `NAME_MAX`.
pub fn too_long_name() -> PathBuf {
    PathBuf::from("n".repeat(256))
}

/// A path in `fx` longer than 384 bytes (the crate keeps shorter paths on the stack), made of
/// existing directories; returns it with the file `deep` in it created with `content`.
pub fn deep_file(fx: &Fx, content: &[u8]) -> PathBuf {
    let mut p = fx.p("");
    while p.as_os_str().len() <= 400 {
        p.push("x".repeat(60));
    }
    std::fs::create_dir_all(&p).unwrap();
    p.push("deep");
    std::fs::write(&p, content).unwrap();
    p
}

/// `bufs` as the slices readv(2) takes.
pub fn iov_mut(bufs: &mut [Vec<u8>]) -> Vec<IoSliceMut<'_>> {
    bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect()
}
