//! `UnixStream` and `UnixListener`, mirroring `std::os::unix::net`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem;
use std::net::Shutdown;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::fs::delegate_io_to_ref;
use crate::fs::fd::{Fd, fd_conversions};
use crate::sys::syscall as sc;

use super::socket::Socket;

/// Where `sun_path` starts in `sockaddr_un`.
const SUN_PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);

/// `path` as a `sockaddr_un` and its length, with std's checks.
fn unix_addr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "paths must not contain interior null bytes",
        ));
    }
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path must be shorter than SUN_LEN",
        ));
    }
    for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    let len = SUN_PATH_OFFSET + bytes.len() + usize::from(!bytes.is_empty());
    Ok((addr, len as libc::socklen_t))
}

/// std's `SocketAddr` for what the kernel wrote: a pathname, an abstract name or unnamed.
fn std_addr(addr: &libc::sockaddr_un, len: libc::socklen_t) -> io::Result<SocketAddr> {
    let len = (len as usize)
        .saturating_sub(SUN_PATH_OFFSET)
        .min(addr.sun_path.len());
    let path: Vec<u8> = addr.sun_path[..len].iter().map(|&c| c as u8).collect();
    match path.split_first() {
        None => SocketAddr::from_pathname(""),
        Some((0, name)) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)
        }
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(&path[..end]))
        }
    }
}

/// getsockname(2) or getpeername(2) of a unix socket.
fn name(socket: &Socket, peer: bool) -> io::Result<SocketAddr> {
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    let ptr = (&raw mut addr).cast::<libc::sockaddr>();
    // SAFETY: the buffer is valid for `len` bytes.
    crate::fs::fd::cvt(unsafe {
        if peer {
            sc::getpeername(socket.raw(), ptr, &mut len)
        } else {
            sc::getsockname(socket.raw(), ptr, &mut len)
        }
    })?;
    std_addr(&addr, len)
}

/// Mirrors `std::os::unix::net::UnixStream`: reads are recv(2), writes write(2), as std
/// makes them, direct; timeouts as for [`TcpStream`](super::TcpStream).
///
/// ```
/// use std::io::{Read, Write};
/// let (mut a, mut b) = uring_os::net::UnixStream::pair()?;
/// a.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    inner: Socket,
}

impl UnixStream {
    fn from_fd(fd: Fd) -> UnixStream {
        UnixStream {
            inner: Socket::from(fd),
        }
    }

    /// Mirrors `UnixStream::connect`: socket(2) and connect(2), direct.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let (addr, len) = unix_addr(path.as_ref())?;
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.connect_raw((&raw const addr).cast(), len)?;
        Ok(UnixStream { inner: socket })
    }

    /// Mirrors `UnixStream::pair`: socketpair(2) with `SOCK_CLOEXEC`.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let mut fds = [0; 2];
        // SAFETY: `fds` is valid for two fds, which become ours on success.
        crate::fs::fd::cvt(unsafe {
            sc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                &mut fds,
            )
        })?;
        // SAFETY: socketpair made both fds.
        let (a, b) = unsafe {
            use std::os::fd::FromRawFd;
            (Fd::from_raw_fd(fds[0]), Fd::from_raw_fd(fds[1]))
        };
        Ok((UnixStream::from_fd(a), UnixStream::from_fd(b)))
    }

    /// Mirrors `UnixStream::try_clone`: `fcntl(F_DUPFD_CLOEXEC)`.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: self.inner.duplicate()?,
        })
    }

    /// Mirrors `UnixStream::local_addr`: getsockname(2).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        name(&self.inner, false)
    }

    /// Mirrors `UnixStream::peer_addr`: getpeername(2).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        name(&self.inner, true)
    }

    /// Mirrors `UnixStream::set_read_timeout`: `SO_RCVTIMEO`, kept by the ring's linked
    /// timeouts for reads that must wait.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(timeout, libc::SO_RCVTIMEO)
    }

    /// Mirrors `UnixStream::set_write_timeout`: `SO_SNDTIMEO`, as the read timeout.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(timeout, libc::SO_SNDTIMEO)
    }

    /// Mirrors `UnixStream::read_timeout`: getsockopt(2) `SO_RCVTIMEO`.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(libc::SO_RCVTIMEO)
    }

    /// Mirrors `UnixStream::write_timeout`: getsockopt(2) `SO_SNDTIMEO`.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(libc::SO_SNDTIMEO)
    }

    /// Mirrors `UnixStream::set_nonblocking`: ioctl(2) `FIONBIO`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Mirrors `UnixStream::take_error`: getsockopt(2) `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Mirrors `UnixStream::shutdown`: shutdown(2).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

impl Read for &UnixStream {
    /// recv(2) (see [`UnixStream`] for timeouts).
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf, 0)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

impl Write for &UnixStream {
    /// write(2) (see [`UnixStream`] for timeouts).
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs, 0)
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

delegate_io_to_ref!(UnixStream);
fd_conversions!(UnixStream, std::os::unix::net::UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.inner.raw())
            .finish_non_exhaustive()
    }
}

/// Mirrors `std::os::unix::net::UnixListener`: socket(2), bind(2), listen(2) with std's
/// backlog; `accept` is accept4(2) with `SOCK_CLOEXEC` (direct syscalls).
pub struct UnixListener {
    inner: Socket,
}

impl UnixListener {
    fn from_fd(fd: Fd) -> UnixListener {
        UnixListener {
            inner: Socket::from(fd),
        }
    }

    /// Mirrors `UnixListener::bind`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let (addr, len) = unix_addr(path.as_ref())?;
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.bind_raw((&raw const addr).cast(), len)?;
        socket.listen()?;
        Ok(UnixListener { inner: socket })
    }

    /// Mirrors `UnixListener::accept`: accept4(2) with `SOCK_CLOEXEC`, retried on `EINTR`.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        // SAFETY: all-zero is a valid sockaddr_un.
        let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        let inner = self.inner.accept_raw((&raw mut addr).cast(), &mut len)?;
        Ok((UnixStream { inner }, std_addr(&addr, len)?))
    }

    /// Mirrors `UnixListener::incoming`: repeated [`accept`](UnixListener::accept).
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// Mirrors `UnixListener::local_addr`: getsockname(2).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        name(&self.inner, false)
    }

    /// Mirrors `UnixListener::try_clone`: `fcntl(F_DUPFD_CLOEXEC)`.
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: self.inner.duplicate()?,
        })
    }

    /// Mirrors `UnixListener::set_nonblocking`: ioctl(2) `FIONBIO`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Mirrors `UnixListener::take_error`: getsockopt(2) `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }
}

fd_conversions!(UnixListener, std::os::unix::net::UnixListener);

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.inner.raw())
            .finish_non_exhaustive()
    }
}

/// Mirrors `std::os::unix::net::Incoming`: the iterator of [`UnixListener::incoming`].
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}
