//! `TcpListener` and `TcpStream`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::fs::delegate_io_to_ref;
use crate::fs::fd::{Fd, fd_conversions};

use super::socket::{Socket, each_addr};

/// Mirrors `std::net::TcpListener`: a listening TCP socket.
///
/// `bind` is socket(2), `SO_REUSEADDR`, bind(2) and listen(2) with std's backlog of 128;
/// `accept` is accept4(2) with `SOCK_CLOEXEC`. Direct syscalls: a blocking accept waits in
/// the kernel either way, and through a ring it would pay a round trip on top.
///
/// ```
/// use std::io::{Read, Write};
/// use uring_os::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut client = TcpStream::connect(listener.local_addr()?)?;
/// let (mut server, _) = listener.accept()?;
/// client.write_all(b"ping")?;
/// let mut buf = [0; 4];
/// server.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: Socket,
}

impl TcpListener {
    fn from_fd(fd: Fd) -> TcpListener {
        TcpListener {
            inner: Socket::from(fd),
        }
    }

    /// Mirrors `TcpListener::bind`: each address in turn until one binds (direct syscalls:
    /// socket, setsockopt `SO_REUSEADDR`, bind, listen).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |addr| {
            let socket = Socket::for_addr(addr, libc::SOCK_STREAM)?;
            socket.set_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1 as libc::c_int)?;
            socket.bind(addr)?;
            socket.listen()?;
            Ok(TcpListener { inner: socket })
        })
    }

    /// Mirrors `TcpListener::accept`: accept4(2) with `SOCK_CLOEXEC`, retried on `EINTR`
    /// (direct syscall).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (inner, addr) = self.inner.accept()?;
        Ok((TcpStream { inner }, addr))
    }

    /// Mirrors `TcpListener::incoming`: connection after connection.
    ///
    /// One multishot accept (5.19) through the thread's ring serves all of them (see
    /// [`accept_multishot`](crate::accept_multishot)); without it, accept4(2) again and
    /// again.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            accepts: crate::accept_multishot(&self.inner, libc::SOCK_CLOEXEC),
        }
    }

    /// Mirrors `TcpListener::local_addr`: getsockname(2).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.ip_name(false)
    }

    /// Mirrors `TcpListener::try_clone`: `fcntl(F_DUPFD_CLOEXEC)`.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: self.inner.duplicate()?,
        })
    }

    /// Mirrors `TcpListener::set_ttl`: setsockopt(2) `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner
            .set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl as libc::c_int)
    }

    /// Mirrors `TcpListener::ttl`: getsockopt(2) `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner
            .opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)
            .map(|v| v as u32)
    }

    /// Mirrors `TcpListener::take_error`: getsockopt(2) `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Mirrors `TcpListener::set_nonblocking`: ioctl(2) `FIONBIO`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.field("fd", &self.inner.raw()).finish()
    }
}

/// Mirrors `std::net::Incoming`: the iterator of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    accepts: crate::Accepts<'a>,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.accepts.next()?.map(TcpStream::from))
    }
}

/// Mirrors `std::net::TcpStream`: a connected TCP socket.
///
/// Reads are recv(2) and writes send(2) with `MSG_NOSIGNAL`, as std makes them, as direct
/// syscalls. A read or write timeout set with
/// [`set_read_timeout`](TcpStream::set_read_timeout) is kept by the ring: the call first
/// tries the syscall without waiting, and if it would wait, goes through the ring with a
/// linked timeout; its expiry is std's `WouldBlock`. The socket option is set as well, so
/// the timeout also holds after a conversion to `std::net::TcpStream`.
pub struct TcpStream {
    inner: Socket,
}

impl TcpStream {
    fn from_fd(fd: Fd) -> TcpStream {
        TcpStream {
            inner: Socket::from(fd),
        }
    }

    /// Mirrors `TcpStream::connect`: socket(2) and connect(2) for each address in turn until
    /// one connects (direct syscalls: a blocking connect waits in the kernel either way).
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |addr| {
            let socket = Socket::for_addr(addr, libc::SOCK_STREAM)?;
            socket.connect(addr)?;
            Ok(TcpStream { inner: socket })
        })
    }

    /// Mirrors `TcpStream::connect_timeout`: socket(2), then connect through the ring with a
    /// linked timeout (`IORING_OP_CONNECT` + `IORING_OP_LINK_TIMEOUT`). As std: a zero
    /// timeout is `InvalidInput`, running out is `TimedOut` with no errno.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let socket = Socket::for_addr(addr, libc::SOCK_STREAM)?;
        socket.connect_timeout(addr, timeout)?;
        Ok(TcpStream { inner: socket })
    }

    /// Mirrors `TcpStream::peer_addr`: getpeername(2).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.ip_name(true)
    }

    /// Mirrors `TcpStream::local_addr`: getsockname(2).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.ip_name(false)
    }

    /// Mirrors `TcpStream::shutdown`: shutdown(2) (direct syscall: it never waits).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// Mirrors `TcpStream::try_clone`: `fcntl(F_DUPFD_CLOEXEC)`; the clone shares the
    /// timeouts.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: self.inner.duplicate()?,
        })
    }

    /// Mirrors `TcpStream::set_read_timeout`: setsockopt(2) `SO_RCVTIMEO`, and reads that
    /// must wait go through the ring with a linked timeout (see [`TcpStream`]).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(timeout, libc::SO_RCVTIMEO)
    }

    /// Mirrors `TcpStream::set_write_timeout`: setsockopt(2) `SO_SNDTIMEO`, and writes that
    /// must wait go through the ring with a linked timeout.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(timeout, libc::SO_SNDTIMEO)
    }

    /// Mirrors `TcpStream::read_timeout`: getsockopt(2) `SO_RCVTIMEO`.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(libc::SO_RCVTIMEO)
    }

    /// Mirrors `TcpStream::write_timeout`: getsockopt(2) `SO_SNDTIMEO`.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(libc::SO_SNDTIMEO)
    }

    /// Mirrors `TcpStream::peek`: recv(2) with `MSG_PEEK`.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf, libc::MSG_PEEK)
    }

    /// Mirrors `TcpStream::set_nodelay`: setsockopt(2) `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner
            .set_opt(libc::IPPROTO_TCP, libc::TCP_NODELAY, nodelay as libc::c_int)
    }

    /// Mirrors `TcpStream::nodelay`: getsockopt(2) `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.flag(libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// Mirrors `TcpStream::set_ttl`: setsockopt(2) `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner
            .set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl as libc::c_int)
    }

    /// Mirrors `TcpStream::ttl`: getsockopt(2) `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner
            .opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)
            .map(|v| v as u32)
    }

    /// Mirrors `TcpStream::take_error`: getsockopt(2) `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Mirrors `TcpStream::set_nonblocking`: ioctl(2) `FIONBIO`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

impl Read for &TcpStream {
    /// recv(2) (see [`TcpStream`] for timeouts).
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf, 0)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

impl Write for &TcpStream {
    /// send(2) with `MSG_NOSIGNAL` (see [`TcpStream`] for timeouts).
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.send(buf, libc::MSG_NOSIGNAL)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs, libc::MSG_NOSIGNAL)
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

delegate_io_to_ref!(TcpStream);
fd_conversions!(TcpStream, std::net::TcpStream);
fd_conversions!(TcpListener, std::net::TcpListener);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        if let Ok(peer) = self.peer_addr() {
            d.field("peer", &peer);
        }
        d.field("fd", &self.inner.raw()).finish()
    }
}
