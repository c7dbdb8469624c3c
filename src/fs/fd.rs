//! What `fs` and `net` share: an fd owner that closes through the seam, paths as C strings
//! on the stack, and the errno conventions std uses (`cvt`, `cvt_r`).

use std::ffi::{CStr, CString};
use std::io;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::sys::syscall as sc;

/// An open file descriptor, closed with close(2) through the seam when dropped.
///
/// `OwnedFd` would close it with libc's `close`, which an `LD_PRELOAD` shim exports; this
/// type exists so that dropping a `File` or a socket never calls that name. Close errors
/// are ignored, as `OwnedFd` and std's types ignore them.
#[derive(Debug)]
pub(crate) struct Fd(RawFd);

impl Fd {
    /// Takes ownership of a non-negative raw result of a syscall that made a new fd.
    #[inline]
    pub(crate) fn from_result(res: isize) -> io::Result<Fd> {
        let fd = sc::io_result(res)? as RawFd;
        // The number may have been something else the ring's caches know about.
        crate::driver::forget_fd(fd);
        Ok(Fd(fd))
    }

    /// The fd number, still owned by `self`.
    #[inline]
    pub(crate) fn raw(&self) -> RawFd {
        self.0
    }

    /// A duplicate with `O_CLOEXEC`, numbered 3 or above (`fcntl(F_DUPFD_CLOEXEC, 3)`), as
    /// std's `try_clone` makes it.
    pub(crate) fn duplicate(&self) -> io::Result<Fd> {
        // SAFETY: F_DUPFD_CLOEXEC takes an integer and makes a new fd that we then own.
        Fd::from_result(unsafe { sc::fcntl(self.0, libc::F_DUPFD_CLOEXEC, 3) })
    }

    /// Sets or clears `O_NONBLOCK` with `ioctl(FIONBIO)`, as std's `set_nonblocking` does.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut on = nonblocking as libc::c_int;
        // SAFETY: FIONBIO reads one int through a valid pointer.
        cvt(unsafe { sc::ioctl(self.0, libc::FIONBIO, (&raw mut on).cast()) }).map(drop)
    }
}

impl Drop for Fd {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the fd and nothing uses the number after this.
        unsafe { sc::close(self.0) };
        crate::driver::forget_fd(self.0);
    }
}

impl AsFd for Fd {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while `self` lives.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

impl AsRawFd for Fd {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl IntoRawFd for Fd {
    #[inline]
    fn into_raw_fd(self) -> RawFd {
        ManuallyDrop::new(self).0
    }
}

impl FromRawFd for Fd {
    /// # Safety
    /// `fd` must be open and owned by nobody else.
    #[inline]
    unsafe fn from_raw_fd(fd: RawFd) -> Fd {
        Fd(fd)
    }
}

impl From<OwnedFd> for Fd {
    #[inline]
    fn from(fd: OwnedFd) -> Fd {
        Fd(fd.into_raw_fd())
    }
}

impl From<Fd> for OwnedFd {
    #[inline]
    fn from(fd: Fd) -> OwnedFd {
        // SAFETY: the number is open and its ownership moves to the OwnedFd.
        unsafe { OwnedFd::from_raw_fd(fd.into_raw_fd()) }
    }
}

/// Implements the fd traits and the conversions to and from `OwnedFd` and a std type for a
/// wrapper whose only field (`inner`) is an [`Fd`] or has `From<Fd>`/`Into<Fd>`.
macro_rules! fd_conversions {
    ($ty:ty, $std:ty) => {
        impl ::std::os::fd::AsFd for $ty {
            #[inline]
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }
        impl ::std::os::fd::AsRawFd for $ty {
            #[inline]
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                self.inner.as_raw_fd()
            }
        }
        impl ::std::os::fd::IntoRawFd for $ty {
            #[inline]
            fn into_raw_fd(self) -> ::std::os::fd::RawFd {
                self.inner.into_raw_fd()
            }
        }
        impl ::std::os::fd::FromRawFd for $ty {
            #[inline]
            unsafe fn from_raw_fd(fd: ::std::os::fd::RawFd) -> Self {
                // SAFETY: the caller hands over an open fd it owned.
                Self::from_fd(unsafe { $crate::fs::fd::Fd::from_raw_fd(fd) })
            }
        }
        impl From<::std::os::fd::OwnedFd> for $ty {
            #[inline]
            fn from(fd: ::std::os::fd::OwnedFd) -> Self {
                Self::from_fd($crate::fs::fd::Fd::from(fd))
            }
        }
        impl From<$ty> for ::std::os::fd::OwnedFd {
            #[inline]
            fn from(value: $ty) -> ::std::os::fd::OwnedFd {
                ::std::os::fd::OwnedFd::from($crate::fs::fd::IntoFd::into_fd(value.inner))
            }
        }
        impl From<$std> for $ty {
            /// Moves the fd over (no syscall).
            #[inline]
            fn from(value: $std) -> Self {
                Self::from(::std::os::fd::OwnedFd::from(value))
            }
        }
        impl From<$ty> for $std {
            /// Moves the fd over (no syscall).
            #[inline]
            fn from(value: $ty) -> $std {
                <$std>::from(::std::os::fd::OwnedFd::from(value))
            }
        }
    };
}
pub(crate) use fd_conversions;

/// A wrapper's owned fd, for [`fd_conversions`].
pub(crate) trait IntoFd {
    fn into_fd(self) -> Fd;
}

impl IntoFd for Fd {
    #[inline]
    fn into_fd(self) -> Fd {
        self
    }
}

/// A raw result as `io::Result`, as std's `cvt`.
#[inline]
pub(crate) fn cvt(res: isize) -> io::Result<usize> {
    sc::io_result(res)
}

/// Repeats `f` while it fails with `EINTR`, as std's `cvt_r` (std retries open, fsync,
/// ftruncate, accept, connect's wait, ...).
#[inline]
pub(crate) fn cvt_r(mut f: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let res = f();
        if res != -(libc::EINTR as isize) {
            return cvt(res);
        }
    }
}

/// The error std gives for a path with an interior NUL byte (`InvalidInput`, no errno).
#[cold]
pub(crate) fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "file name contained an unexpected NUL byte",
    )
}

/// Paths shorter than this are made NUL-terminated on the stack (std uses the same size).
const MAX_STACK_PATH: usize = 384;

/// Runs `f` with `path` as a NUL-terminated C string: on the stack when it is short, on the
/// heap otherwise. An interior NUL byte is std's `InvalidInput` error.
#[inline]
pub(crate) fn with_cpath<T>(path: &Path, f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
    with_cbytes(path.as_os_str().as_bytes(), f)
}

/// [`with_cpath`] for bytes.
#[inline]
pub(crate) fn with_cbytes<T>(
    bytes: &[u8],
    f: impl FnOnce(&CStr) -> io::Result<T>,
) -> io::Result<T> {
    if bytes.len() >= MAX_STACK_PATH {
        return with_cbytes_heap(bytes, f);
    }
    let mut buf = MaybeUninit::<[u8; MAX_STACK_PATH]>::uninit();
    let start = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `bytes.len() + 1 <= MAX_STACK_PATH`, so the copy and the NUL stay inside
    // `buf`, and the slice covers exactly the bytes just written.
    let with_nul = unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), start, bytes.len());
        start.add(bytes.len()).write(0);
        std::slice::from_raw_parts(start, bytes.len() + 1)
    };
    match CStr::from_bytes_with_nul(with_nul) {
        Ok(path) => f(path),
        Err(_) => Err(nul_error()),
    }
}

#[cold]
fn with_cbytes_heap<T>(bytes: &[u8], f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
    match CString::new(bytes) {
        Ok(path) => f(&path),
        Err(_) => Err(nul_error()),
    }
}
