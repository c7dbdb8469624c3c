//! Socket addresses on the oracle's side, converted independently of the crate. The crate
//! fills `libc::sockaddr_in`/`sockaddr_in6` structs; this side writes and reads the bytes at
//! the offsets of the kernel's layouts (linux/in.h, linux/in6.h, ip(7), ipv6(7)), so that a
//! mistake in either conversion (a port in host order, a field out of place, a wrong length)
//! makes the two sides differ instead of agreeing on the same wrong address.
//!
//! The flow label and the scope id go in as the `u32`s `std::net` holds, in host order, as
//! `std` itself passes them to the kernel.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};

use crate::common::sys::{R, unit};

/// `struct sockaddr_in`: family (host order) at 0, port (network order) at 2, the address
/// at 4, zero padding up to 16 bytes.
const IN_LEN: usize = 16;
/// `struct sockaddr_in6`: family at 0, port (network order) at 2, flow label at 4, the
/// address at 8, scope id at 24; 28 bytes.
const IN6_LEN: usize = 28;

/// A socket address as the bytes the kernel reads (bind, connect) or writes (accept,
/// getsockname), with its length. Aligned like `struct sockaddr_storage`, and as large.
#[repr(C, align(8))]
pub struct RawAddr {
    bytes: [u8; 128],
    pub len: libc::socklen_t,
}

impl RawAddr {
    /// Room for any address the kernel writes.
    pub fn empty() -> RawAddr {
        RawAddr {
            bytes: [0; 128],
            len: 128,
        }
    }

    /// `addr` laid out as the kernel reads it.
    pub fn of(addr: &SocketAddr) -> RawAddr {
        let mut raw = RawAddr::empty();
        let b = &mut raw.bytes;
        b[2..4].copy_from_slice(&addr.port().to_be_bytes());
        match addr {
            SocketAddr::V4(v4) => {
                b[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                b[4..8].copy_from_slice(&v4.ip().octets());
                raw.len = IN_LEN as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                b[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                b[4..8].copy_from_slice(&v6.flowinfo().to_ne_bytes());
                b[8..24].copy_from_slice(&v6.ip().octets());
                b[24..28].copy_from_slice(&v6.scope_id().to_ne_bytes());
                raw.len = IN6_LEN as libc::socklen_t;
            }
        }
        raw
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        self.bytes.as_ptr().cast()
    }

    pub fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        self.bytes.as_mut_ptr().cast()
    }

    /// The IP address the kernel wrote, or `0.0.0.0:0` for other families (as
    /// `uring_os::accept` documents for unix sockets).
    pub fn socket_addr(&self) -> SocketAddr {
        let b = &self.bytes;
        let at = |i: usize, n: usize| &b[i..i + n];
        let u32_at = |i: usize| u32::from_ne_bytes(at(i, 4).try_into().unwrap());
        let family = i32::from(u16::from_ne_bytes([b[0], b[1]]));
        let port = u16::from_be_bytes([b[2], b[3]]);
        let len = self.len as usize;
        match family {
            libc::AF_INET if len >= IN_LEN => {
                SocketAddr::from((Ipv4Addr::new(b[4], b[5], b[6], b[7]), port))
            }
            libc::AF_INET6 if len >= IN6_LEN => {
                let ip: [u8; 16] = at(8, 16).try_into().unwrap();
                let v6 = SocketAddrV6::new(Ipv6Addr::from(ip), port, u32_at(4), u32_at(24));
                SocketAddr::V6(v6)
            }
            _ => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        }
    }
}

/// getsockname(2): the address `fd` is bound to.
pub fn getsockname(fd: impl AsFd) -> R<SocketAddr> {
    let mut raw = RawAddr::empty();
    // SAFETY: `raw` has room for `raw.len` bytes of address, and both stay valid for writes
    // during the call.
    unit(unsafe { libc::getsockname(fd.as_fd().as_raw_fd(), raw.as_mut_ptr(), &mut raw.len) })?;
    Ok(raw.socket_addr())
}
