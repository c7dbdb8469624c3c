//! `UdpSocket`.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::fs::fd::{Fd, fd_conversions};

use super::socket::{Socket, each_addr};

/// Mirrors `std::net::UdpSocket`: direct syscalls (sendto, recvfrom, ...), and with a read
/// timeout set through [`set_read_timeout`](UdpSocket::set_read_timeout), a wait through
/// the ring with a linked timeout when no datagram is there yet.
///
/// ```
/// use uring_os::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// a.send_to(b"hi", b.local_addr()?)?;
/// let mut buf = [0; 8];
/// let (n, from) = b.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr()?));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    inner: Socket,
}

impl UdpSocket {
    fn from_fd(fd: Fd) -> UdpSocket {
        UdpSocket {
            inner: Socket::from(fd),
        }
    }

    /// Mirrors `UdpSocket::bind`: socket(2) and bind(2) for each address in turn.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |addr| {
            let socket = Socket::for_addr(addr, libc::SOCK_DGRAM)?;
            socket.bind(addr)?;
            Ok(UdpSocket { inner: socket })
        })
    }

    /// Mirrors `UdpSocket::recv_from`: recvfrom(2).
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf, 0)
    }

    /// Mirrors `UdpSocket::peek_from`: recvfrom(2) with `MSG_PEEK`.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf, libc::MSG_PEEK)
    }

    /// Mirrors `UdpSocket::send_to`: sendto(2) to the first address `addr` resolves to.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        match addr.to_socket_addrs()?.next() {
            Some(addr) => self.inner.send_to(buf, &addr),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            )),
        }
    }

    /// Mirrors `UdpSocket::connect`: connect(2) to each address in turn.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |addr| self.inner.connect(addr))
    }

    /// Mirrors `UdpSocket::send`: send(2) with `MSG_NOSIGNAL` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.send(buf, libc::MSG_NOSIGNAL)
    }

    /// Mirrors `UdpSocket::recv`: recv(2) from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf, 0)
    }

    /// Mirrors `UdpSocket::peek`: recv(2) with `MSG_PEEK`.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf, libc::MSG_PEEK)
    }

    /// Mirrors `UdpSocket::peer_addr`: getpeername(2).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.ip_name(true)
    }

    /// Mirrors `UdpSocket::local_addr`: getsockname(2).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.ip_name(false)
    }

    /// Mirrors `UdpSocket::try_clone`: `fcntl(F_DUPFD_CLOEXEC)`.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: self.inner.duplicate()?,
        })
    }

    /// Mirrors `UdpSocket::set_read_timeout`: setsockopt(2) `SO_RCVTIMEO`, and receives
    /// that must wait go through the ring with a linked timeout.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(timeout, libc::SO_RCVTIMEO)
    }

    /// Mirrors `UdpSocket::set_write_timeout`: setsockopt(2) `SO_SNDTIMEO`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(timeout, libc::SO_SNDTIMEO)
    }

    /// Mirrors `UdpSocket::read_timeout`: getsockopt(2) `SO_RCVTIMEO`.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(libc::SO_RCVTIMEO)
    }

    /// Mirrors `UdpSocket::write_timeout`: getsockopt(2) `SO_SNDTIMEO`.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(libc::SO_SNDTIMEO)
    }

    /// Mirrors `UdpSocket::set_broadcast`: setsockopt(2) `SO_BROADCAST`.
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.inner.set_opt(
            libc::SOL_SOCKET,
            libc::SO_BROADCAST,
            broadcast as libc::c_int,
        )
    }

    /// Mirrors `UdpSocket::broadcast`: getsockopt(2) `SO_BROADCAST`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.flag(libc::SOL_SOCKET, libc::SO_BROADCAST)
    }

    /// Mirrors `UdpSocket::set_ttl`: setsockopt(2) `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner
            .set_opt(libc::IPPROTO_IP, libc::IP_TTL, ttl as libc::c_int)
    }

    /// Mirrors `UdpSocket::ttl`: getsockopt(2) `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner
            .opt::<libc::c_int>(libc::IPPROTO_IP, libc::IP_TTL)
            .map(|v| v as u32)
    }

    /// Mirrors `UdpSocket::take_error`: getsockopt(2) `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Mirrors `UdpSocket::set_nonblocking`: ioctl(2) `FIONBIO`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

fd_conversions!(UdpSocket, std::net::UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.field("fd", &self.inner.raw()).finish()
    }
}
