//! What every socket type shares: the owned fd, address conversions, options, and reads and
//! writes that take the direct syscall unless a timeout set through this crate must be
//! kept, which the ring keeps with a linked timeout.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::fs::fd::{Fd, IntoFd, cvt, cvt_r};
use crate::sys::syscall as sc;

/// The timeouts set on a socket through this crate (shared by its `try_clone`s), in
/// nanoseconds, 0 for none.
#[derive(Debug, Default)]
struct Timeouts {
    read: AtomicU64,
    write: AtomicU64,
}

/// An owned socket.
#[derive(Debug)]
pub(crate) struct Socket {
    fd: Fd,
    timeouts: Arc<Timeouts>,
}

impl IntoFd for Socket {
    fn into_fd(self) -> Fd {
        self.fd
    }
}

impl AsFd for Socket {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Socket {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl IntoRawFd for Socket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl From<Fd> for Socket {
    fn from(fd: Fd) -> Socket {
        Socket {
            fd,
            timeouts: Arc::default(),
        }
    }
}

/// Where a blocking call's timeout ran out, the error std gives (the socket option's
/// `EAGAIN`, `WouldBlock`), else the call's own result.
fn timed_out_as_std<T>(res: io::Result<T>, deadline: Instant) -> io::Result<T> {
    match res {
        Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) && Instant::now() >= deadline => {
            Err(io::Error::from_raw_os_error(libc::EAGAIN))
        }
        res => res,
    }
}

/// An IP socket address as the kernel takes it.
#[repr(C)]
pub(crate) union RawAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
    storage: libc::sockaddr_storage,
}

impl RawAddr {
    /// The kernel's form of `addr` and its length.
    pub(crate) fn new(addr: &SocketAddr) -> (RawAddr, libc::socklen_t) {
        match addr {
            SocketAddr::V4(a) => {
                let v4 = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                (RawAddr { v4 }, mem::size_of::<libc::sockaddr_in>() as _)
            }
            SocketAddr::V6(a) => {
                let v6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                (RawAddr { v6 }, mem::size_of::<libc::sockaddr_in6>() as _)
            }
        }
    }

    /// Room for any address the kernel returns.
    pub(crate) fn empty() -> RawAddr {
        // SAFETY: all-zero is a valid sockaddr_storage.
        unsafe { mem::zeroed() }
    }

    pub(crate) fn ptr(&self) -> *const libc::sockaddr {
        (&raw const *self).cast()
    }

    pub(crate) fn mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&raw mut *self).cast()
    }

    /// The IP address the kernel wrote, as std converts it (`InvalidInput` for another
    /// family).
    pub(crate) fn to_std(&self) -> io::Result<SocketAddr> {
        // SAFETY: every variant starts with the family, and the storage is initialised.
        let family = unsafe { self.storage.ss_family } as i32;
        match family {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in.
                let a = unsafe { self.v4 };
                Ok(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(a.sin_addr.s_addr.to_ne_bytes()),
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6.
                let a = unsafe { self.v6 };
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )))
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid argument",
            )),
        }
    }
}

/// Runs `f` on each address `addr` resolves to until one succeeds, as std: the last error,
/// or std's `InvalidInput` when there is no address.
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        match f(&addr) {
            Ok(value) => return Ok(value),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// std's error for a zero timeout.
fn zero_timeout() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "cannot set a 0 duration timeout",
    )
}

impl Socket {
    /// socket(2) with `SOCK_CLOEXEC` (direct syscall: the ring would add a round trip).
    pub(crate) fn new(family: i32, ty: i32) -> io::Result<Socket> {
        // SAFETY: socket takes integers; the new fd is ours.
        Fd::from_result(unsafe { sc::socket(family, ty | libc::SOCK_CLOEXEC, 0) }).map(Socket::from)
    }

    /// A socket for `addr`'s family.
    pub(crate) fn for_addr(addr: &SocketAddr, ty: i32) -> io::Result<Socket> {
        let family = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        Socket::new(family, ty)
    }

    #[inline]
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.raw()
    }

    /// bind(2) (direct syscall).
    pub(crate) fn bind_raw(
        &self,
        addr: *const libc::sockaddr,
        len: libc::socklen_t,
    ) -> io::Result<()> {
        // SAFETY: the caller's address is valid for `len` bytes.
        cvt(unsafe { sc::bind(self.raw(), addr, len) }).map(drop)
    }

    /// bind(2) to an IP address.
    pub(crate) fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        let (raw, len) = RawAddr::new(addr);
        self.bind_raw(raw.ptr(), len)
    }

    /// listen(2) with std's backlog of 128.
    pub(crate) fn listen(&self) -> io::Result<()> {
        // SAFETY: listen takes integers.
        cvt(unsafe { sc::listen(self.raw(), 128) }).map(drop)
    }

    /// connect(2), retried on `EINTR` as std (direct syscall: a blocking connect waits in
    /// the kernel either way).
    pub(crate) fn connect_raw(
        &self,
        addr: *const libc::sockaddr,
        len: libc::socklen_t,
    ) -> io::Result<()> {
        // SAFETY: the caller's address is valid for `len` bytes.
        cvt_r(|| unsafe { sc::connect(self.raw(), addr, len) }).map(drop)
    }

    /// connect(2) to an IP address.
    pub(crate) fn connect(&self, addr: &SocketAddr) -> io::Result<()> {
        let (raw, len) = RawAddr::new(addr);
        self.connect_raw(raw.ptr(), len)
    }

    /// connect(2) through the ring with a linked timeout (`IORING_OP_CONNECT` +
    /// `IORING_OP_LINK_TIMEOUT`): std's `TimedOut` error when the time runs out.
    pub(crate) fn connect_timeout(&self, addr: &SocketAddr, timeout: Duration) -> io::Result<()> {
        if timeout.is_zero() {
            return Err(zero_timeout());
        }
        let deadline = Instant::now() + timeout;
        match crate::with_timeout(timeout, || crate::connect(&self.fd, addr)) {
            Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) && Instant::now() >= deadline => {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            }
            res => res,
        }
    }

    /// accept4(2) with `SOCK_CLOEXEC`, retried on `EINTR`, as std (direct syscall: a
    /// blocking accept waits in the kernel either way); the peer's address goes to `addr`.
    pub(crate) fn accept_raw(
        &self,
        addr: *mut libc::sockaddr,
        len: *mut libc::socklen_t,
    ) -> io::Result<Socket> {
        // SAFETY: the caller's buffer is valid for `*len` bytes.
        let fd = cvt_r(|| unsafe { sc::accept4(self.raw(), addr, len, libc::SOCK_CLOEXEC) })?;
        // SAFETY: accept4 returned a new fd.
        Ok(Socket::from(unsafe { Fd::from_raw_fd(fd as RawFd) }))
    }

    /// accept4(2) of an IP connection.
    pub(crate) fn accept(&self) -> io::Result<(Socket, SocketAddr)> {
        let mut addr = RawAddr::empty();
        let mut len = mem::size_of::<RawAddr>() as libc::socklen_t;
        let socket = self.accept_raw(addr.mut_ptr(), &mut len)?;
        Ok((socket, addr.to_std()?))
    }

    /// getsockname(2) or getpeername(2) of an IP socket.
    pub(crate) fn ip_name(&self, peer: bool) -> io::Result<SocketAddr> {
        let mut addr = RawAddr::empty();
        let mut len = mem::size_of::<RawAddr>() as libc::socklen_t;
        // SAFETY: the buffer is valid for `len` bytes.
        cvt(unsafe {
            if peer {
                sc::getpeername(self.raw(), addr.mut_ptr(), &mut len)
            } else {
                sc::getsockname(self.raw(), addr.mut_ptr(), &mut len)
            }
        })?;
        addr.to_std()
    }

    /// A duplicate sharing the timeouts set through this crate (`F_DUPFD_CLOEXEC`).
    pub(crate) fn duplicate(&self) -> io::Result<Socket> {
        Ok(Socket {
            fd: self.fd.duplicate()?,
            timeouts: Arc::clone(&self.timeouts),
        })
    }

    /// shutdown(2).
    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        let how = match how {
            std::net::Shutdown::Read => libc::SHUT_RD,
            std::net::Shutdown::Write => libc::SHUT_WR,
            std::net::Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: shutdown takes integers.
        cvt(unsafe { sc::shutdown(self.raw(), how) }).map(drop)
    }

    /// `ioctl(FIONBIO)`, as std's `set_nonblocking`.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.fd.set_nonblocking(nonblocking)
    }

    /// setsockopt(2) of one plain value.
    pub(crate) fn set_opt<T: Copy>(&self, level: i32, name: i32, value: T) -> io::Result<()> {
        // SAFETY: `value` is valid for reads of its size.
        cvt(unsafe {
            sc::setsockopt(
                self.raw(),
                level,
                name,
                (&raw const value).cast(),
                mem::size_of::<T>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// getsockopt(2) of one plain value.
    pub(crate) fn opt<T: Copy>(&self, level: i32, name: i32) -> io::Result<T> {
        let mut value = MaybeUninit::<T>::zeroed();
        let mut len = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: the buffer is valid for writes of `len` bytes.
        cvt(unsafe {
            sc::getsockopt(self.raw(), level, name, value.as_mut_ptr().cast(), &mut len)
        })?;
        // SAFETY: zero-initialised, then partly or wholly written by the kernel; T is a
        // plain integer or C struct.
        Ok(unsafe { value.assume_init() })
    }

    /// An integer option as a bool.
    pub(crate) fn flag(&self, level: i32, name: i32) -> io::Result<bool> {
        self.opt::<libc::c_int>(level, name).map(|v| v != 0)
    }

    /// `SO_ERROR`, as std's `take_error`.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let err: libc::c_int = self.opt(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((err != 0).then(|| io::Error::from_raw_os_error(err)))
    }

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO` as std does, and remembers it for the ring path.
    pub(crate) fn set_timeout(&self, timeout: Option<Duration>, name: i32) -> io::Result<()> {
        let timeval = match timeout {
            Some(d) if d.is_zero() => return Err(zero_timeout()),
            Some(d) => {
                let mut tv = libc::timeval {
                    tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                    tv_usec: d.subsec_micros() as libc::suseconds_t,
                };
                if tv.tv_sec == 0 && tv.tv_usec == 0 {
                    tv.tv_usec = 1;
                }
                tv
            }
            None => libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
        };
        self.set_opt(libc::SOL_SOCKET, name, timeval)?;
        let nanos = timeout.map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64);
        let slot = if name == libc::SO_RCVTIMEO {
            &self.timeouts.read
        } else {
            &self.timeouts.write
        };
        slot.store(nanos, Ordering::Relaxed);
        Ok(())
    }

    /// `SO_RCVTIMEO` or `SO_SNDTIMEO` as the kernel has it, as std's `read_timeout`.
    pub(crate) fn timeout(&self, name: i32) -> io::Result<Option<Duration>> {
        let tv: libc::timeval = self.opt(libc::SOL_SOCKET, name)?;
        if tv.tv_sec == 0 && tv.tv_usec == 0 {
            Ok(None)
        } else {
            Ok(Some(Duration::new(
                tv.tv_sec as u64,
                tv.tv_usec as u32 * 1000,
            )))
        }
    }

    fn read_timeout(&self) -> Option<Duration> {
        match self.timeouts.read.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    fn write_timeout(&self) -> Option<Duration> {
        match self.timeouts.write.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// recv(2) with `flags`, as std's `read` (flags 0) and `peek` (`MSG_PEEK`).
    ///
    /// Without a read timeout set through this crate, the direct syscall (which also keeps
    /// any `SO_RCVTIMEO` set otherwise). With one: the direct syscall with `MSG_DONTWAIT`
    /// first, which answers at once when data is there; if it would wait, recv through the
    /// ring with a linked timeout (`IORING_OP_RECV` + `IORING_OP_LINK_TIMEOUT`), whose
    /// expiry is std's `WouldBlock` (`EAGAIN`).
    pub(crate) fn recv(&self, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        let Some(timeout) = self.read_timeout() else {
            return self.recv_direct(buf, flags);
        };
        match self.recv_direct(buf, flags | libc::MSG_DONTWAIT) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            res => return res,
        }
        let deadline = Instant::now() + timeout;
        timed_out_as_std(
            crate::with_timeout(timeout, || crate::recv(&self.fd, buf, flags)),
            deadline,
        )
    }

    /// recv(2) as a direct syscall.
    #[inline]
    fn recv_direct(&self, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length; no address is asked for.
        cvt(unsafe {
            sc::recvfrom(
                self.raw(),
                buf.as_mut_ptr(),
                buf.len(),
                flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        })
    }

    /// send(2) with `flags`, as std's `write` on a TCP socket (`MSG_NOSIGNAL`). Timeouts as
    /// for [`recv`](Socket::recv), with `IORING_OP_SEND`.
    pub(crate) fn send(&self, buf: &[u8], flags: i32) -> io::Result<usize> {
        let direct = |flags: i32| {
            // SAFETY: `buf` is valid for reads of its length; no address is given.
            cvt(unsafe {
                sc::sendto(
                    self.raw(),
                    buf.as_ptr(),
                    buf.len(),
                    flags,
                    std::ptr::null(),
                    0,
                )
            })
        };
        let Some(timeout) = self.write_timeout() else {
            return direct(flags);
        };
        match direct(flags | libc::MSG_DONTWAIT) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            res => return res,
        }
        let deadline = Instant::now() + timeout;
        timed_out_as_std(
            crate::with_timeout(timeout, || crate::send(&self.fd, buf, flags)),
            deadline,
        )
    }

    /// write(2), as std's `write` on a unix socket; timeouts as [`send`](Socket::send).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if self.write_timeout().is_some() {
            return self.send(buf, 0);
        }
        crate::fs::write_fd(self.raw(), buf)
    }

    /// readv(2), as std's `read_vectored` (a read timeout set through this crate: the first
    /// buffer through [`recv`](Socket::recv)).
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if self.read_timeout().is_some() {
            return match bufs.iter_mut().find(|b| !b.is_empty()) {
                Some(buf) => self.recv(buf, 0),
                None => Ok(0),
            };
        }
        crate::fs::readv_fd(self.raw(), bufs)
    }

    /// writev(2), as std's `write_vectored` (a write timeout set through this crate: the
    /// first buffer through [`send`](Socket::send)).
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>], flags: i32) -> io::Result<usize> {
        if self.write_timeout().is_some() {
            return match bufs.iter().find(|b| !b.is_empty()) {
                Some(buf) => self.send(buf, flags),
                None => Ok(0),
            };
        }
        crate::fs::writev_fd(self.raw(), bufs)
    }

    /// recvfrom(2) of a datagram and its sender's address, as std's `recv_from`. Timeouts as
    /// [`recv`](Socket::recv) (the ring path waits with poll, then receives directly).
    pub(crate) fn recv_from(&self, buf: &mut [u8], flags: i32) -> io::Result<(usize, SocketAddr)> {
        let mut addr = RawAddr::empty();
        let mut attempt = |flags: i32| {
            let mut len = mem::size_of::<RawAddr>() as libc::socklen_t;
            // SAFETY: `buf` and the address buffer are valid for their lengths.
            cvt(unsafe {
                sc::recvfrom(
                    self.raw(),
                    buf.as_mut_ptr(),
                    buf.len(),
                    flags,
                    addr.mut_ptr(),
                    &mut len,
                )
            })
        };
        let n = match self.read_timeout() {
            None => attempt(flags)?,
            Some(timeout) => match attempt(flags | libc::MSG_DONTWAIT) {
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    let deadline = Instant::now() + timeout;
                    let ready =
                        crate::with_timeout(timeout, || crate::poll(&self.fd, libc::POLLIN));
                    timed_out_as_std(ready, deadline)?;
                    attempt(flags)?
                }
                res => res?,
            },
        };
        Ok((n, addr.to_std()?))
    }

    /// sendto(2) of a datagram to `addr` with `MSG_NOSIGNAL`, as std's `send_to` (direct
    /// syscall).
    pub(crate) fn send_to(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        let (raw, len) = RawAddr::new(addr);
        // SAFETY: `buf` and the address are valid for their lengths.
        cvt(unsafe {
            sc::sendto(
                self.raw(),
                buf.as_ptr(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                raw.ptr(),
                len,
            )
        })
    }
}
