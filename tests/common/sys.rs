//! The libc calls the tests make themselves, bypassing the crate: to set up fixtures, to look
//! at what a call did, and as the oracle's side of a comparison. Results are the value or the
//! errno, so that they compare with `==`.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A call's result: its value, or the errno.
pub type R<T> = Result<T, i32>;

/// The calling thread's errno.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
}

/// A libc return value: the count, or the errno for -1.
pub fn cvt(res: isize) -> R<usize> {
    if res < 0 {
        Err(last_errno())
    } else {
        Ok(res as usize)
    }
}

/// A libc return value that carries nothing but success or the errno.
pub fn unit(res: i32) -> R<()> {
    cvt(res as isize).map(drop)
}

/// A libc return value that is a new fd.
pub fn new_fd(res: i32) -> R<OwnedFd> {
    cvt(res as isize)?;
    // SAFETY: the syscall just returned `res` as a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(res) })
}

/// A path as libc takes it. The libc side never gets a NUL byte.
pub fn cpath(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("no NUL byte in a libc path")
}

pub fn read(fd: impl AsFd, buf: &mut [u8]) -> R<usize> {
    // SAFETY: `buf` is valid for writes of its length during the call.
    cvt(unsafe { libc::read(fd.as_fd().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
}

pub fn write(fd: impl AsFd, buf: &[u8]) -> R<usize> {
    // SAFETY: `buf` is valid for reads of its length during the call.
    cvt(unsafe { libc::write(fd.as_fd().as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
}

pub fn send(fd: impl AsFd, buf: &[u8], flags: i32) -> R<usize> {
    // SAFETY: `buf` is valid for reads of its length during the call.
    cvt(unsafe {
        libc::send(
            fd.as_fd().as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            flags,
        )
    })
}

pub fn open(path: &Path, flags: i32, mode: u32) -> R<OwnedFd> {
    let path = cpath(path);
    // SAFETY: `path` is a NUL-terminated string alive for the call.
    new_fd(unsafe { libc::open(path.as_ptr(), flags, mode) })
}

pub fn openat(dir: impl AsFd, path: &Path, flags: i32, mode: u32) -> R<OwnedFd> {
    let path = cpath(path);
    // SAFETY: `path` is a NUL-terminated string alive for the call.
    new_fd(unsafe { libc::openat(dir.as_fd().as_raw_fd(), path.as_ptr(), flags, mode) })
}

pub fn close(fd: OwnedFd) -> R<()> {
    // SAFETY: the fd is ours (taken out of its OwnedFd), closed exactly once.
    unit(unsafe { libc::close(fd.into_raw_fd()) })
}

pub fn lseek(fd: impl AsFd, off: i64, whence: i32) -> R<i64> {
    // SAFETY: plain integer arguments.
    let res = unsafe { libc::lseek64(fd.as_fd().as_raw_fd(), off, whence) };
    if res < 0 { Err(last_errno()) } else { Ok(res) }
}

/// A pipe: (read end, write end), with `flags` (`O_CLOEXEC`, `O_NONBLOCK`).
pub fn pipe2(flags: i32) -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds.
    let res = unsafe { libc::pipe2(fds.as_mut_ptr(), flags) };
    assert_eq!(res, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 just created both fds; nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

pub fn fcntl(fd: impl AsFd, cmd: i32, arg: i32) -> R<i32> {
    // SAFETY: F_GETFL/F_GETFD/F_SETFL/F_DUPFD_CLOEXEC take plain integers.
    let res = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), cmd, arg) };
    if res < 0 { Err(last_errno()) } else { Ok(res) }
}

pub fn set_nonblocking(fd: impl AsFd) {
    let fd = fd.as_fd();
    let fl = fcntl(fd, libc::F_GETFL, 0).expect("F_GETFL");
    fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK).expect("F_SETFL");
}

pub fn fstat(fd: impl AsFd) -> R<libc::stat64> {
    // SAFETY: all-zero is a valid stat64, which the kernel fills.
    let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes during the call.
    unit(unsafe { libc::fstat64(fd.as_fd().as_raw_fd(), &mut st) })?;
    Ok(st)
}

pub fn statx(dir: impl AsFd, path: &Path, flags: i32, mask: u32) -> R<libc::statx> {
    let path = cpath(path);
    // SAFETY: all-zero is a valid statx, which the kernel fills.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stx` valid for writes during the call.
    unit(unsafe {
        libc::statx(
            dir.as_fd().as_raw_fd(),
            path.as_ptr(),
            flags,
            mask,
            &mut stx,
        )
    })?;
    Ok(stx)
}

pub fn socket(domain: i32, ty: i32, protocol: i32) -> R<OwnedFd> {
    // SAFETY: plain integer arguments.
    new_fd(unsafe { libc::socket(domain, ty, protocol) })
}

pub fn sockopt_int(fd: impl AsFd, level: i32, name: i32) -> R<i32> {
    let mut value: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes during the call.
    unit(unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

pub fn eventfd() -> OwnedFd {
    // SAFETY: plain integer arguments.
    new_fd(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) }).expect("eventfd")
}

pub fn readlink(path: &Path) -> R<String> {
    std::fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| e.raw_os_error().unwrap_or(-1))
}

pub fn umask() -> u32 {
    // SAFETY: umask cannot fail; it is set back at once.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old
    }
}
