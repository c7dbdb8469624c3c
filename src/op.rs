//! Layer 3: every operation, declared once.
//!
//! An operation is a struct holding its arguments and an [`Op`] impl that says how it fills a
//! submission entry and how a successful result becomes its Rust output. Everything else is
//! derived: the direct-syscall fallback runs the same filled entry through
//! [`ring::emulate`](crate::ring::emulate), and the blocking call and the batch method are
//! generated from one line each in `calls.rs`.
//!
//! The memory an entry points to lives in the operation (a path, a `statx` buffer, a socket
//! address) or in what it borrows (the caller's buffer). The facade keeps the operation at one
//! address from `prep` until its completion is reaped.

use std::ffi::{CStr, CString};
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use crate::ring::{CURRENT_POSITION, Sqe};
use crate::sys::*;

/// One operation: how it fills an entry and what its result means.
pub(crate) trait Op {
    /// What the call returns on success.
    type Output;
    /// The opcode it submits; the probe says whether the kernel has it.
    const OPCODE: u8;
    /// `IORING_FEAT_*` bits the kernel must have for the entry as `prep` fills it.
    const FEATURES: u32 = 0;
    /// What is left of a write after its first `done` bytes (`None` when nothing is), for a
    /// write(2) or send(2) on a blocking stream that io_uring completed short (the syscall
    /// waits to write it all).
    fn rest(&self, _done: usize) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
    /// For a vectored write at the file position that io_uring completed short after `done`
    /// bytes: writes the rest with writev(2) on the (blocking) fd and returns the total, as
    /// writev(2) would have; `None` when that does not apply.
    fn write_rest_direct(&self, _done: i32) -> Option<i32> {
        None
    }
    /// Whether [`write_rest_direct`](Op::write_rest_direct) applies (writev, pwritev).
    const VECTORED_WRITE: bool = false;
    /// Whether a signal handler interrupts it even with `SA_RESTART`, as poll(2).
    const POLL_LIKE: bool = false;
    /// Whether an `EINTR` is retried, as std retries open, fsync, ftruncate and accept.
    const RESTART: bool = false;
    /// Fills `sqe`. Called with `self` at the address it keeps until completion.
    fn prep(&mut self, sqe: &mut Sqe);
    /// Whether the kernel always hands this opcode to an io-wq worker thread (it cannot
    /// complete inline), so even a batch through the ring pays a handoff per operation;
    /// `Dispatch::Auto` runs such batch operations as direct syscalls.
    const PUNTED: bool = false;
    /// The fd of an operation at an explicit file offset (pread and friends), which must be
    /// seekable for the ring to answer as the syscall does.
    fn positioned_fd(&self) -> Option<RawFd> {
        None
    }
    /// Whether these arguments fit a ring entry; if not, the entry runs as a direct syscall.
    fn fits_ring(&self) -> bool {
        true
    }
    /// Whether a successful result counts as a failure in a linked chain, as the kernel
    /// counts a short read or write: later entries of the chain are then cancelled.
    fn short(&self, _res: i32) -> bool {
        false
    }
    /// Maps a raw result before the error check (a timeout's `-ETIME` is its success).
    fn map_result(res: i32) -> i32 {
        res
    }
    /// The fd on which this operation may wait (a pipe or socket), where `O_NONBLOCK` makes
    /// the syscall fail with [`WOULD_BLOCK`](Op::WOULD_BLOCK) instead of waiting.
    fn nonblock_fd(&self) -> Option<RawFd> {
        None
    }
    /// The fd and poll(2) events this call may wait for, so that without a ring a call
    /// under [`with_timeout`](crate::with_timeout) can wait for them with a time limit first.
    fn poll_before(&self) -> Option<(RawFd, i16)> {
        None
    }
    /// The errno of a would-block failure: EAGAIN, or EINPROGRESS for connect.
    const WOULD_BLOCK: i32 = libc::EAGAIN;
    /// Whether `O_NONBLOCK` must be checked before submitting: a connect on loopback
    /// completes within the submitting `io_uring_enter`, where connect(2) would already have
    /// returned EINPROGRESS.
    const NONBLOCK_FIRST: bool = false;
    /// The fd number whose file this operation replaces or creates (given its raw result),
    /// so per-fd caches forget what they knew of the number.
    fn fd_changed(&self, _res: i32) -> Option<RawFd> {
        None
    }
    /// Called with the raw result of an entry the ring ran, to repeat a side effect the
    /// syscall has and io_uring lacks (SIGPIPE on a send to a closed peer).
    fn after_ring(&self, _res: i32) {}
    /// Turns a non-negative result into the output.
    fn output(self, res: i32) -> Self::Output;
}

/// The most a single read or write transfers on Linux (`MAX_RW_COUNT`); the kernel clamps
/// larger requests to it, so clamping the `u32` length field changes no result.
const MAX_RW_COUNT: usize = 0x7fff_f000;

#[inline]
fn rw_len(len: usize) -> u32 {
    len.min(MAX_RW_COUNT) as u32
}

/// A new fd from a completion's result.
#[inline]
fn new_fd(res: i32) -> OwnedFd {
    // SAFETY: the kernel just returned `res` as a new file descriptor of this process; nothing
    // else owns it.
    unsafe { OwnedFd::from_raw_fd(res) }
}

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

    #[inline]
    fn ptr(&self) -> *const libc::c_char {
        self.as_cstr().as_ptr()
    }
}

/// A socket address as the kernel takes it.
#[derive(Clone, Copy)]
pub(crate) struct RawSockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
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

    fn empty() -> RawSockAddr {
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

/// The fd methods of the read and write operations on `self.fd` at `self.offset`: the fd of
/// a positioned transfer (ESPIPE check), the fd it may wait on (O_NONBLOCK check), and what
/// poll(2) waits for before it under a timeout without a ring.
macro_rules! file_transfer_fd {
    ($events:expr) => {
        #[inline]
        fn positioned_fd(&self) -> Option<RawFd> {
            (self.offset != CURRENT_POSITION).then_some(self.fd)
        }
        #[inline]
        fn nonblock_fd(&self) -> Option<RawFd> {
            Some(self.fd)
        }
        fn poll_before(&self) -> Option<(RawFd, i16)> {
            Some((self.fd, $events))
        }
    };
}

/// `IORING_OP_NOP`.
pub(crate) struct Nop;

impl Op for Nop {
    type Output = ();
    const OPCODE: u8 = IORING_OP_NOP;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_nop();
    }
    fn output(self, _: i32) {}
}

/// read(2)/pread(2): `offset` [`CURRENT_POSITION`](crate::ring::CURRENT_POSITION) uses the
/// file position.
pub(crate) struct Read<'a> {
    pub fd: RawFd,
    pub buf: &'a mut [u8],
    pub offset: u64,
}

impl Op for Read<'_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_READ;
    #[inline]
    fn short(&self, res: i32) -> bool {
        (res as u32) < rw_len(self.buf.len())
    }
    file_transfer_fd!(libc::POLLIN);
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_read(
            self.fd,
            self.buf.as_mut_ptr(),
            rw_len(self.buf.len()),
            self.offset,
        );
    }
    #[inline]
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// write(2)/pwrite(2).
pub(crate) struct Write<'a> {
    pub fd: RawFd,
    pub buf: &'a [u8],
    pub offset: u64,
}

impl Op for Write<'_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_WRITE;
    #[inline]
    fn short(&self, res: i32) -> bool {
        (res as u32) < rw_len(self.buf.len())
    }
    file_transfer_fd!(libc::POLLOUT);
    fn rest(&self, done: usize) -> Option<Self> {
        let buf: &[u8] = self.buf;
        (self.offset == CURRENT_POSITION && done < buf.len()).then(|| Write {
            fd: self.fd,
            buf: &buf[done..],
            offset: CURRENT_POSITION,
        })
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_write(
            self.fd,
            self.buf.as_ptr(),
            rw_len(self.buf.len()),
            self.offset,
        );
    }
    #[inline]
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// readv(2)/preadv(2).
pub(crate) struct ReadVectored<'a, 'b> {
    pub fd: RawFd,
    pub bufs: &'a mut [IoSliceMut<'b>],
    pub offset: u64,
}

impl Op for ReadVectored<'_, '_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_READV;
    fn short(&self, res: i32) -> bool {
        (res as usize) < self.bufs.iter().map(|b| b.len()).sum::<usize>()
    }
    file_transfer_fd!(libc::POLLIN);
    fn prep(&mut self, sqe: &mut Sqe) {
        // IoSliceMut is guaranteed ABI-compatible with iovec on Unix.
        sqe.prep_readv(
            self.fd,
            self.bufs.as_ptr().cast(),
            self.bufs.len().min(u32::MAX as usize) as u32,
            self.offset,
            0,
        );
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// writev(2)/pwritev(2).
pub(crate) struct WriteVectored<'a, 'b> {
    pub fd: RawFd,
    pub bufs: &'a [IoSlice<'b>],
    pub offset: u64,
}

impl Op for WriteVectored<'_, '_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_WRITEV;
    const VECTORED_WRITE: bool = true;
    fn short(&self, res: i32) -> bool {
        (res as usize) < self.bufs.iter().map(|b| b.len()).sum::<usize>()
    }
    file_transfer_fd!(libc::POLLOUT);
    fn write_rest_direct(&self, done: i32) -> Option<i32> {
        if self.offset != CURRENT_POSITION || !self.short(done) {
            return None;
        }
        // What is left after `done` bytes, as iovecs (a rare path: one allocation).
        let mut skip = done as usize;
        let mut rest: Vec<libc::iovec> = Vec::new();
        for buf in self.bufs {
            if skip >= buf.len() {
                skip -= buf.len();
                continue;
            }
            rest.push(libc::iovec {
                iov_base: buf[skip..].as_ptr().cast_mut().cast(),
                iov_len: buf.len() - skip,
            });
            skip = 0;
        }
        let mut total = done;
        let mut first = 0;
        while first < rest.len() {
            let count = (rest.len() - first).min(libc::c_int::MAX as usize) as libc::c_int;
            // SAFETY: the iovecs point into the caller's buffers, alive for this call; the
            // kernel only reads them.
            let n = unsafe { crate::sys::syscall::writev(self.fd, rest[first..].as_ptr(), count) };
            if n <= 0 {
                break; // An error or a signal after progress: writev(2) returns the count.
            }
            total = total.saturating_add(n as i32);
            let mut n = n as usize;
            while first < rest.len() && n >= rest[first].iov_len {
                n -= rest[first].iov_len;
                first += 1;
            }
            if n > 0 {
                let iov = &mut rest[first];
                // SAFETY: n < iov_len, so the advanced pointer stays inside the buffer.
                iov.iov_base = unsafe { iov.iov_base.cast::<u8>().add(n) }.cast();
                iov.iov_len -= n;
            }
        }
        Some(total)
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        // IoSlice is guaranteed ABI-compatible with iovec on Unix.
        sqe.prep_writev(
            self.fd,
            self.bufs.as_ptr().cast(),
            self.bufs.len().min(u32::MAX as usize) as u32,
            self.offset,
            0,
        );
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// fsync(2), or fdatasync(2) with `IORING_FSYNC_DATASYNC`.
pub(crate) struct Fsync {
    pub fd: RawFd,
    pub flags: u32,
}

impl Op for Fsync {
    type Output = ();
    const OPCODE: u8 = IORING_OP_FSYNC;
    const RESTART: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_fsync(self.fd, self.flags);
    }
    fn output(self, _: i32) {}
}

/// sync_file_range(2).
pub(crate) struct SyncFileRange {
    pub fd: RawFd,
    pub offset: u64,
    pub len: u64,
    pub flags: u32,
}

impl Op for SyncFileRange {
    type Output = ();
    const OPCODE: u8 = IORING_OP_SYNC_FILE_RANGE;
    fn prep(&mut self, sqe: &mut Sqe) {
        let len = u32::try_from(self.len).unwrap_or(0);
        sqe.prep_sync_file_range(self.fd, self.offset, len, self.flags);
        if u64::from(len) != self.len {
            // Too long for the entry: the length rides in `addr` for the direct syscall.
            sqe.as_raw_mut().addr = self.len;
        }
    }
    fn fits_ring(&self) -> bool {
        self.len <= u64::from(u32::MAX)
    }
    fn output(self, _: i32) {}
}

/// fallocate(2).
pub(crate) struct Fallocate {
    pub fd: RawFd,
    pub mode: i32,
    pub offset: u64,
    pub len: u64,
}

impl Op for Fallocate {
    type Output = ();
    const OPCODE: u8 = IORING_OP_FALLOCATE;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_fallocate(self.fd, self.mode, self.offset, self.len);
    }
    fn output(self, _: i32) {}
}

/// posix_fadvise(2).
pub(crate) struct Fadvise {
    pub fd: RawFd,
    pub offset: u64,
    pub len: u64,
    pub advice: i32,
}

impl Op for Fadvise {
    type Output = ();
    const OPCODE: u8 = IORING_OP_FADVISE;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_fadvise(self.fd, self.offset, self.len, self.advice);
    }
    fn fits_ring(&self) -> bool {
        // Lengths beyond u32 need 6.7's 64-bit field; the direct syscall takes them anywhere.
        self.len <= u64::from(u32::MAX)
    }
    fn output(self, _: i32) {}
}

/// ftruncate(2).
pub(crate) struct Ftruncate {
    pub fd: RawFd,
    pub len: u64,
}

impl Op for Ftruncate {
    type Output = ();
    const OPCODE: u8 = IORING_OP_FTRUNCATE;
    const RESTART: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_ftruncate(self.fd, self.len);
    }
    fn output(self, _: i32) {}
}

/// openat(2).
pub(crate) struct OpenAt {
    pub dir: RawFd,
    pub path: CPath,
    pub flags: i32,
    pub mode: u32,
}

impl Op for OpenAt {
    type Output = OwnedFd;
    const OPCODE: u8 = IORING_OP_OPENAT;
    const RESTART: bool = true;
    fn fd_changed(&self, res: i32) -> Option<RawFd> {
        (res >= 0).then_some(res)
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_openat(self.dir, self.path.ptr(), self.flags, self.mode);
    }
    fn output(self, res: i32) -> OwnedFd {
        new_fd(res)
    }
}

/// close(2). The fd is taken out of its `OwnedFd` when the operation is made.
pub(crate) struct Close {
    pub fd: RawFd,
}

impl Op for Close {
    type Output = ();
    const OPCODE: u8 = IORING_OP_CLOSE;
    fn fd_changed(&self, _res: i32) -> Option<RawFd> {
        Some(self.fd)
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_close(self.fd);
    }
    fn output(self, _: i32) {}
}

/// statx(2).
pub(crate) struct Statx {
    pub dir: RawFd,
    pub path: CPath,
    pub flags: i32,
    pub mask: u32,
    pub buf: MaybeUninit<libc::statx>,
}

impl Op for Statx {
    type Output = libc::statx;
    const OPCODE: u8 = IORING_OP_STATX;
    const PUNTED: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_statx(
            self.dir,
            self.path.ptr(),
            self.flags,
            self.mask,
            self.buf.as_mut_ptr(),
        );
    }
    fn output(self, _: i32) -> libc::statx {
        // SAFETY: a successful statx filled the whole buffer.
        unsafe { self.buf.assume_init() }
    }
}

/// mkdirat(2).
pub(crate) struct MkdirAt {
    pub dir: RawFd,
    pub path: CPath,
    pub mode: u32,
}

impl Op for MkdirAt {
    type Output = ();
    const OPCODE: u8 = IORING_OP_MKDIRAT;
    const PUNTED: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_mkdirat(self.dir, self.path.ptr(), self.mode);
    }
    fn output(self, _: i32) {}
}

/// unlinkat(2).
pub(crate) struct UnlinkAt {
    pub dir: RawFd,
    pub path: CPath,
    pub flags: i32,
}

impl Op for UnlinkAt {
    type Output = ();
    const OPCODE: u8 = IORING_OP_UNLINKAT;
    const PUNTED: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_unlinkat(self.dir, self.path.ptr(), self.flags);
    }
    fn output(self, _: i32) {}
}

/// renameat2(2).
pub(crate) struct RenameAt {
    pub old_dir: RawFd,
    pub old: CPath,
    pub new_dir: RawFd,
    pub new: CPath,
    pub flags: u32,
}

impl Op for RenameAt {
    type Output = ();
    const OPCODE: u8 = IORING_OP_RENAMEAT;
    const PUNTED: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_renameat(
            self.old_dir,
            self.old.ptr(),
            self.new_dir,
            self.new.ptr(),
            self.flags,
        );
    }
    fn output(self, _: i32) {}
}

/// symlinkat(2).
pub(crate) struct SymlinkAt {
    pub target: CPath,
    pub dir: RawFd,
    pub link: CPath,
}

impl Op for SymlinkAt {
    type Output = ();
    const OPCODE: u8 = IORING_OP_SYMLINKAT;
    const PUNTED: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_symlinkat(self.target.ptr(), self.dir, self.link.ptr());
    }
    fn output(self, _: i32) {}
}

/// linkat(2).
pub(crate) struct LinkAt {
    pub old_dir: RawFd,
    pub old: CPath,
    pub new_dir: RawFd,
    pub new: CPath,
    pub flags: i32,
}

impl Op for LinkAt {
    type Output = ();
    const OPCODE: u8 = IORING_OP_LINKAT;
    const PUNTED: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_linkat(
            self.old_dir,
            self.old.ptr(),
            self.new_dir,
            self.new.ptr(),
            self.flags,
        );
    }
    fn output(self, _: i32) {}
}

/// socket(2).
pub(crate) struct Socket {
    pub domain: i32,
    pub ty: i32,
    pub protocol: i32,
}

impl Op for Socket {
    type Output = OwnedFd;
    const OPCODE: u8 = IORING_OP_SOCKET;
    fn fd_changed(&self, res: i32) -> Option<RawFd> {
        (res >= 0).then_some(res)
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_socket(self.domain, self.ty, self.protocol);
    }
    fn output(self, res: i32) -> OwnedFd {
        new_fd(res)
    }
}

/// bind(2).
pub(crate) struct Bind {
    pub fd: RawFd,
    pub addr: RawSockAddr,
}

impl Op for Bind {
    type Output = ();
    const OPCODE: u8 = IORING_OP_BIND;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_bind(
            self.fd,
            (&raw const self.addr.storage).cast(),
            self.addr.len,
        );
    }
    fn output(self, _: i32) {}
}

/// listen(2).
pub(crate) struct Listen {
    pub fd: RawFd,
    pub backlog: i32,
}

impl Op for Listen {
    type Output = ();
    const OPCODE: u8 = IORING_OP_LISTEN;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_listen(self.fd, self.backlog);
    }
    fn output(self, _: i32) {}
}

/// accept4(2), keeping the peer's address.
pub(crate) struct Accept {
    pub fd: RawFd,
    pub flags: i32,
    pub addr: RawSockAddr,
}

impl Accept {
    pub(crate) fn new(fd: RawFd, flags: i32) -> Accept {
        Accept {
            fd,
            flags,
            addr: RawSockAddr::empty(),
        }
    }
}

impl Op for Accept {
    type Output = (OwnedFd, SocketAddr);
    const OPCODE: u8 = IORING_OP_ACCEPT;
    const RESTART: bool = true;
    fn fd_changed(&self, res: i32) -> Option<RawFd> {
        (res >= 0).then_some(res)
    }
    #[inline]
    fn nonblock_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }
    // A socket call: one fcntl up front is cheaper than a second io_uring_enter after it.
    const NONBLOCK_FIRST: bool = true;
    fn poll_before(&self) -> Option<(RawFd, i16)> {
        Some((self.fd, libc::POLLIN))
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_accept(
            self.fd,
            (&raw mut self.addr.storage).cast(),
            &raw mut self.addr.len,
            self.flags,
        );
    }
    fn output(self, res: i32) -> (OwnedFd, SocketAddr) {
        let unspecified = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        (new_fd(res), self.addr.socket_addr().unwrap_or(unspecified))
    }
}

/// connect(2).
pub(crate) struct Connect {
    pub fd: RawFd,
    pub addr: RawSockAddr,
}

impl Op for Connect {
    type Output = ();
    const OPCODE: u8 = IORING_OP_CONNECT;
    #[inline]
    fn nonblock_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }
    const WOULD_BLOCK: i32 = libc::EINPROGRESS;
    const NONBLOCK_FIRST: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_connect(
            self.fd,
            (&raw const self.addr.storage).cast(),
            self.addr.len,
        );
    }
    fn output(self, _: i32) {}
}

/// send(2).
pub(crate) struct Send<'a> {
    pub fd: RawFd,
    pub buf: &'a [u8],
    pub flags: i32,
}

impl Op for Send<'_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_SEND;
    fn short(&self, res: i32) -> bool {
        self.flags & libc::MSG_WAITALL != 0 && (res as u32) < rw_len(self.buf.len())
    }
    fn after_ring(&self, res: i32) {
        // io_uring always sends with MSG_NOSIGNAL; send(2) without it raises SIGPIPE.
        if res == -libc::EPIPE && self.flags & libc::MSG_NOSIGNAL == 0 {
            crate::sys::syscall::raise(libc::SIGPIPE);
        }
    }
    #[inline]
    fn nonblock_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }
    // A socket call: one fcntl up front is cheaper than a second io_uring_enter after it.
    const NONBLOCK_FIRST: bool = true;
    fn poll_before(&self) -> Option<(RawFd, i16)> {
        // MSG_DONTWAIT never waits, so there is nothing to limit.
        (self.flags & libc::MSG_DONTWAIT == 0).then_some((self.fd, libc::POLLOUT))
    }
    fn rest(&self, done: usize) -> Option<Self> {
        let buf: &[u8] = self.buf;
        (self.flags & libc::MSG_DONTWAIT == 0 && done < buf.len()).then(|| Send {
            fd: self.fd,
            buf: &buf[done..],
            flags: self.flags,
        })
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_send(
            self.fd,
            self.buf.as_ptr(),
            rw_len(self.buf.len()),
            self.flags,
        );
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// recv(2).
pub(crate) struct Recv<'a> {
    pub fd: RawFd,
    pub buf: &'a mut [u8],
    pub flags: i32,
}

impl Op for Recv<'_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_RECV;
    fn short(&self, res: i32) -> bool {
        self.flags & libc::MSG_WAITALL != 0 && (res as u32) < rw_len(self.buf.len())
    }
    #[inline]
    fn nonblock_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }
    // A socket call: one fcntl up front is cheaper than a second io_uring_enter after it.
    const NONBLOCK_FIRST: bool = true;
    fn poll_before(&self) -> Option<(RawFd, i16)> {
        // MSG_DONTWAIT never waits, so there is nothing to limit.
        (self.flags & libc::MSG_DONTWAIT == 0).then_some((self.fd, libc::POLLIN))
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_recv(
            self.fd,
            self.buf.as_mut_ptr(),
            rw_len(self.buf.len()),
            self.flags,
        );
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// shutdown(2).
pub(crate) struct Shutdown {
    pub fd: RawFd,
    pub how: i32,
}

impl Op for Shutdown {
    type Output = ();
    const OPCODE: u8 = IORING_OP_SHUTDOWN;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_shutdown(self.fd, self.how);
    }
    fn output(self, _: i32) {}
}

/// The `how` of shutdown(2) for std's [`Shutdown`](std::net::Shutdown).
pub(crate) fn shutdown_how(how: std::net::Shutdown) -> i32 {
    match how {
        std::net::Shutdown::Read => libc::SHUT_RD,
        std::net::Shutdown::Write => libc::SHUT_WR,
        std::net::Shutdown::Both => libc::SHUT_RDWR,
    }
}

/// splice(2); `None` offsets use (and advance) the file position.
pub(crate) struct Splice {
    pub fd_in: RawFd,
    pub off_in: Option<u64>,
    pub fd_out: RawFd,
    pub off_out: Option<u64>,
    pub len: usize,
    pub flags: u32,
}

impl Op for Splice {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_SPLICE;
    fn short(&self, res: i32) -> bool {
        (res as u32) < rw_len(self.len)
    }
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_splice(
            self.fd_in,
            self.off_in.unwrap_or(u64::MAX),
            self.fd_out,
            self.off_out.unwrap_or(u64::MAX),
            rw_len(self.len),
            self.flags,
        );
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// poll(2) of one fd, waiting without limit; the output is the revents.
pub(crate) struct Poll {
    pub fd: RawFd,
    pub events: i16,
}

impl Op for Poll {
    type Output = i16;
    const OPCODE: u8 = IORING_OP_POLL_ADD;
    fn poll_before(&self) -> Option<(RawFd, i16)> {
        Some((self.fd, self.events))
    }
    const POLL_LIKE: bool = true;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_poll_add(self.fd, u32::from(self.events as u16));
    }
    fn map_result(res: i32) -> i32 {
        // poll(2) reports a closed fd in revents, not as an error.
        if res == -libc::EBADF {
            i32::from(libc::POLLNVAL)
        } else {
            res
        }
    }
    fn output(self, res: i32) -> i16 {
        res as u16 as i16
    }
}

/// A sleep: a timeout that no completion count ends early.
pub(crate) struct Sleep {
    pub ts: KernelTimespec,
}

impl Sleep {
    pub(crate) fn new(duration: Duration) -> Sleep {
        Sleep {
            ts: timespec(duration),
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

impl Op for Sleep {
    type Output = ();
    const OPCODE: u8 = IORING_OP_TIMEOUT;
    // Like std::thread::sleep, a signal does not cut the sleep short.
    const RESTART: bool = true;
    // IORING_TIMEOUT_ETIME_SUCCESS is 5.16; CQE_SKIP (5.17) is the nearest feature bit.
    const FEATURES: u32 = IORING_FEAT_CQE_SKIP;
    fn prep(&mut self, sqe: &mut Sqe) {
        // ETIME_SUCCESS (5.16): the expiry is this operation's success, so a chain goes on.
        sqe.prep_timeout(&raw const self.ts, 0, IORING_TIMEOUT_ETIME_SUCCESS);
    }
    fn map_result(res: i32) -> i32 {
        if res == -libc::ETIME { 0 } else { res }
    }
    fn output(self, _: i32) {}
}

/// openat(2) into fixed file slot `index` (5.15), read-only, for a linked open → read → close.
pub(crate) struct OpenDirect {
    pub dir: RawFd,
    pub path: CPath,
    pub index: u32,
}

impl Op for OpenDirect {
    type Output = ();
    const OPCODE: u8 = IORING_OP_OPENAT;
    fn prep(&mut self, sqe: &mut Sqe) {
        // O_CLOEXEC is refused for direct descriptors, which no exec can inherit anyway.
        sqe.prep_openat_direct(self.dir, self.path.ptr(), libc::O_RDONLY, 0, self.index);
    }
    fn output(self, _: i32) {}
}

/// A read from offset 0 of fixed file slot `index`, hard-linked to what follows (its close).
pub(crate) struct ReadDirect<'a> {
    pub index: u32,
    pub buf: &'a mut [u8],
}

impl Op for ReadDirect<'_> {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_READ;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_read(
            self.index as RawFd,
            self.buf.as_mut_ptr(),
            rw_len(self.buf.len()),
            0,
        )
        .flags(IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK);
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}

/// close(2) of fixed file slot `index` (5.15).
pub(crate) struct CloseDirect {
    pub index: u32,
}

impl Op for CloseDirect {
    type Output = ();
    const OPCODE: u8 = IORING_OP_CLOSE;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_close_direct(self.index);
    }
    fn output(self, _: i32) {}
}

/// A result computed without an entry (a batch step that ran as direct syscalls).
pub(crate) struct Ready;

impl Op for Ready {
    type Output = usize;
    const OPCODE: u8 = IORING_OP_NOP;
    fn prep(&mut self, sqe: &mut Sqe) {
        sqe.prep_nop();
    }
    fn output(self, res: i32) -> usize {
        res as usize
    }
}
