//! The arguments operations hold in the form the kernel reads them: paths as C strings,
//! socket addresses as `sockaddr_storage`, durations and deadlines as kernel timespecs.

use std::ffi::{CStr, CString};
use std::io;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use crate::sys::KernelTimespec;

/// A path as the kernel takes it: NUL-terminated, inline for short paths, on the heap else.
#[allow(clippy::large_enum_variant)] // inline is the point: no allocation for short paths
pub(crate) enum CPath {
    Inline {
        buf: [MaybeUninit<u8>; INLINE_PATH],
        len: usize,
    },
    Heap(CString),
}

/// Paths up to this many bytes (NUL included) need no allocation, as in std.
const INLINE_PATH: usize = 384;

fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "file name contained an unexpected NUL byte",
    )
}

impl CPath {
    /// Converts a path, on the stack when it is short; an interior NUL is `InvalidInput`.
    #[inline]
    pub(crate) fn new(path: &Path) -> io::Result<CPath> {
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() >= INLINE_PATH {
            return CPath::heap(path);
        }
        if bytes.contains(&0) {
            return Err(nul_error());
        }
        let mut buf = [MaybeUninit::<u8>::uninit(); INLINE_PATH];
        for (slot, &byte) in buf.iter_mut().zip(bytes) {
            slot.write(byte);
        }
        buf[bytes.len()].write(0);
        Ok(CPath::Inline {
            buf,
            len: bytes.len() + 1,
        })
    }

    /// Converts a path onto the heap, for operations that outlive the call (batches).
    pub(crate) fn heap(path: &Path) -> io::Result<CPath> {
        CString::new(path.as_os_str().as_bytes())
            .map(CPath::Heap)
            .map_err(|_| nul_error())
    }

    #[inline]
    pub(crate) fn as_cstr(&self) -> &CStr {
        match self {
            CPath::Inline { buf, len } => {
                // SAFETY: new() initialised buf[..len] with the path bytes and a final NUL, and
                // checked there is no other NUL.
                unsafe {
                    CStr::from_bytes_with_nul_unchecked(std::slice::from_raw_parts(
                        buf.as_ptr().cast::<u8>(),
                        *len,
                    ))
                }
            }
            CPath::Heap(c) => c,
        }
    }

    /// Whether the path names the calling thread's own `/proc` directory
    /// (`/proc/thread-self`), whose meaning changes when an io-wq worker resolves it.
    #[inline]
    pub(crate) fn names_calling_thread(&self) -> bool {
        self.as_cstr()
            .to_bytes()
            .windows(b"thread-self".len())
            .any(|w| w == b"thread-self")
    }

    #[inline]
    pub(crate) fn ptr(&self) -> *const libc::c_char {
        self.as_cstr().as_ptr()
    }
}

/// A socket address as the kernel takes it.
#[derive(Clone, Copy)]
pub(crate) struct RawSockAddr {
    pub(crate) storage: libc::sockaddr_storage,
    pub(crate) len: libc::socklen_t,
}

impl RawSockAddr {
    pub(crate) fn new(addr: &SocketAddr) -> RawSockAddr {
        // SAFETY: sockaddr_storage is plain data for which all-zero is valid.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { std::ptr::write((&raw mut storage).cast(), sin) };
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { std::ptr::write((&raw mut storage).cast(), sin6) };
                size_of::<libc::sockaddr_in6>()
            }
        };
        RawSockAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    pub(crate) fn empty() -> RawSockAddr {
        RawSockAddr {
            // SAFETY: all-zero is a valid sockaddr_storage.
            storage: unsafe { std::mem::zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// The IP address the kernel wrote, or `None` for other families (unix sockets).
    pub(crate) fn socket_addr(&self) -> Option<SocketAddr> {
        match i32::from(self.storage.ss_family) {
            libc::AF_INET if self.len as usize >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in, and it is aligned.
                let sin = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if self.len as usize >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family says the storage holds a sockaddr_in6, and it is aligned.
                let sin6 = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in6>() };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// `deadline` as an absolute CLOCK_MONOTONIC kernel timespec (the clock `Instant` reads and
/// the kernel's timeouts use by default), for `IORING_TIMEOUT_ABS`: a linked timeout starts
/// counting only when its entry starts, so a relative one would run past the deadline for
/// entries late in a chain.
pub(crate) fn monotonic_timespec(deadline: std::time::Instant) -> KernelTimespec {
    let now = crate::sys::syscall::clock_gettime(libc::CLOCK_MONOTONIC);
    let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
    timespec(now + deadline.saturating_duration_since(std::time::Instant::now()))
}

/// A relative kernel timespec for `duration`, saturating.
pub(crate) fn timespec(duration: Duration) -> KernelTimespec {
    KernelTimespec {
        tv_sec: duration.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(duration.subsec_nanos()),
    }
}

/// The `how` of shutdown(2) for std's [`Shutdown`](std::net::Shutdown).
pub(crate) fn shutdown_how(how: std::net::Shutdown) -> i32 {
    match how {
        std::net::Shutdown::Read => libc::SHUT_RD,
        std::net::Shutdown::Write => libc::SHUT_WR,
        std::net::Shutdown::Both => libc::SHUT_RDWR,
    }
}

/// A buffer the kernel writes into (a read's destination), held as a pointer and length:
/// several operations of a scope may then name one scope-owned buffer (a read into it, then
/// a write from it) without Rust references to it existing at once. Valid for `'a`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawBuf<'a> {
    pub(crate) ptr: *mut u8,
    pub(crate) len: usize,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> RawBuf<'a> {
    /// # Safety
    /// `ptr` must be valid for writes of `len` bytes for `'a`, and nothing may read or write
    /// those bytes while an operation holding this buffer is in the kernel.
    pub(crate) unsafe fn from_raw(ptr: *mut u8, len: usize) -> RawBuf<'a> {
        RawBuf {
            ptr,
            len,
            _borrow: PhantomData,
        }
    }
}

impl<'a> From<&'a mut [u8]> for RawBuf<'a> {
    #[inline]
    fn from(buf: &'a mut [u8]) -> RawBuf<'a> {
        RawBuf {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            _borrow: PhantomData,
        }
    }
}

/// Bytes the kernel reads (a write's source), held as a pointer and length; see [`RawBuf`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawData<'a> {
    pub(crate) ptr: *const u8,
    pub(crate) len: usize,
    _borrow: PhantomData<&'a [u8]>,
}

impl<'a> RawData<'a> {
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes for `'a`, and nothing may write those
    /// bytes while an operation holding them is in the kernel.
    pub(crate) unsafe fn from_raw(ptr: *const u8, len: usize) -> RawData<'a> {
        RawData {
            ptr,
            len,
            _borrow: PhantomData,
        }
    }
}

impl<'a> From<&'a [u8]> for RawData<'a> {
    #[inline]
    fn from(buf: &'a [u8]) -> RawData<'a> {
        RawData {
            ptr: buf.as_ptr(),
            len: buf.len(),
            _borrow: PhantomData,
        }
    }
}
