//! The operations: one [`ops!`] entry each. Most are their declaration alone; the hooks
//! after an entry say where it differs from the defaults of [`Op`], each with why.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use super::{
    CPath, FdWait, FixedUse, FromResult, OnSignal, Op, RawBuf, RawData, RawSockAddr, StreamRest,
    ops, rw_len, timespec,
};
use crate::ring::CURRENT_POSITION;
use crate::sys::syscall as sc;
use crate::sys::*;

/// The fd hooks of a read or write at `self.offset` on `self.fd`: an explicit offset needs a
/// seekable fd (`ESPIPE` else), the file position a file without `O_DIRECT`, and on a pipe
/// or socket the call may wait.
macro_rules! transfer_fd {
    (write: $write:expr) => {
        main_fd!();
        #[inline]
        fn positioned_fd(&self) -> Option<RawFd> {
            (self.offset != CURRENT_POSITION).then_some(self.fd)
        }
        #[inline]
        fn current_position_fd(&self) -> Option<RawFd> {
            (self.offset == CURRENT_POSITION).then_some(self.fd)
        }
        #[inline]
        fn waits_on(&self) -> Option<FdWait> {
            Some(FdWait::transfer(self.fd, $write))
        }
    };
}

/// The hooks readv and writev share: short of the iovecs' total, and a transfer of no bytes
/// at all kept off the ring (see [`transfers_something`]) or its answer mended.
macro_rules! vectored {
    () => {
        fn short(&self, res: i32) -> bool {
            (res as usize) < total(self.bufs)
        }
        #[inline]
        fn fits_ring(&self) -> bool {
            transfers_something(self.bufs)
        }
        #[inline]
        fn after_ring(&mut self, res: i32) -> i32 {
            vectored_answer(res, self.bufs)
        }
    };
}

/// The hooks of a call that makes a new fd (its number's cached facts are stale) and that
/// std retries on `EINTR`.
macro_rules! new_fd {
    () => {
        const ON_SIGNAL: OnSignal = OnSignal::Restart;
        const MAKES_FD: bool = true;
        #[inline]
        fn fd_changed(&self, res: i32) -> Option<RawFd> {
            (res >= 0).then_some(res)
        }
    };
}

/// The hook of an operation whose main fd is its field `fd`.
macro_rules! main_fd {
    () => {
        #[inline]
        fn main_fd(&mut self) -> Option<&mut RawFd> {
            Some(&mut self.fd)
        }
    };
}

/// The hooks of a path operation the kernel always hands to an io-wq worker, which resolves
/// `/proc/thread-self` as itself: such paths run as the syscall. So do calls whose flags
/// the syscall refuses (`$flags_valid` false): the syscall checks them before it reads the
/// path, io_uring reads the path first, so an empty or over-long path would give `ENOENT`
/// or `ENAMETOOLONG` where the syscall gives `EINVAL`.
macro_rules! punted_path {
    ($($path:ident),+ $(; $flags_valid:expr)?) => {
        const PUNTED: bool = true;
        // io_uring's fs.c and statx.c complete an error without failing the chain.
        const SOFT_FAIL: bool = true;
        #[inline]
        fn fits_ring(&self) -> bool {
            !($(self.$path.names_calling_thread())||+) $(&& $flags_valid(self))?
        }
    };
}

thread_local! {
    /// Set while the LD_PRELOAD shim passes a program's iovecs, which may not be readable.
    static IOVECS_UNREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the iovecs of its vectored calls left unread by the crate: only the kernel
/// reads them (and answers `EFAULT` for bad ones). For the LD_PRELOAD shim, which passes a
/// program's iovec arrays as they are; not for Rust callers, whose slices are readable.
#[doc(hidden)]
pub fn with_unread_iovecs<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the flag back as it was, also when `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IOVECS_UNREAD.set(self.0);
        }
    }
    let _restore = Restore(IOVECS_UNREAD.replace(true));
    f()
}

/// Whether a readv or writev of `bufs` may go through the ring: not when it transfers no
/// bytes at all, which readv(2)/writev(2) answer with 0 before the file sees the call, where
/// through io_uring the file answers (and a socket reports, and forgets, a pending error).
/// Iovecs the crate may not read (see [`with_unread_iovecs`]) go to the ring, and
/// [`vectored_nothing`] mends the answer.
#[inline]
fn transfers_something(bufs: &[impl std::ops::Deref<Target = [u8]>]) -> bool {
    IOVECS_UNREAD.get() || bufs.iter().any(|b| !b.is_empty())
}

/// Whether `res`, the ring's error for a readv or writev of no bytes at all, is one that
/// readv(2)/writev(2) would not give: they answer 0 as soon as the iovecs are read, before
/// the file sees the call, where through io_uring the file answers (a socket or pipe without
/// a peer: `EPIPE`, `ECONNREFUSED`, ...). Only `EBADF`, `EINVAL` and `EFAULT` come before
/// that point. (Checked after the ring answered, which means it could read the iovecs: the
/// shim passes the caller's, which may be bad. The file has seen the call: a socket's
/// pending error it reported is consumed, where the syscalls leave it pending.)
#[inline]
fn vectored_nothing(res: i32) -> bool {
    res != -libc::EBADF && res != -libc::EINVAL && res != -libc::EFAULT
}

/// The ring's answer `res` to a readv or writev of `bufs`, mended to the syscall's for a
/// transfer of no bytes at all (see [`vectored_nothing`]).
#[inline]
fn vectored_answer(res: i32, bufs: &[impl std::ops::Deref<Target = [u8]>]) -> i32 {
    if res < 0 && vectored_nothing(res) && bufs.iter().all(|b| b.is_empty()) {
        0
    } else {
        res
    }
}

/// Whether a connect's error is one a TCP connection attempt ends with once under way (the
/// peer refused or reset it, no route or host answered, it timed out). connect(2) on a
/// blocking socket then disconnects the socket — its state back to unconnected, ready for
/// another connect, and `poll` reporting `POLLHUP` alone — where io_uring, which connects
/// without blocking and takes the error from the socket, leaves it half-closed (`POLLIN`
/// too, and `EALREADY` for the next connect).
fn refused_after_trying(res: i32) -> bool {
    [
        libc::ECONNREFUSED,
        libc::ECONNRESET,
        libc::ECONNABORTED,
        libc::ETIMEDOUT,
        libc::EHOSTUNREACH,
        libc::ENETUNREACH,
        libc::EHOSTDOWN,
        libc::ENETDOWN,
    ]
    .contains(&-res)
}

/// Whether `fd` is a TCP socket (a stream socket of IPv4 or IPv6).
fn is_inet_stream(fd: RawFd) -> bool {
    let int_opt = |name| {
        let mut value: i32 = 0;
        let mut len = size_of::<i32>() as libc::socklen_t;
        // SAFETY: an int and its length, valid for the call.
        let res = unsafe {
            sc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        (res == 0).then_some(value)
    };
    int_opt(libc::SO_TYPE) == Some(libc::SOCK_STREAM)
        && matches!(
            int_opt(libc::SO_DOMAIN),
            Some(libc::AF_INET | libc::AF_INET6)
        )
}

/// Disconnects TCP socket `fd` as a failed blocking connect(2) does (connect to `AF_UNSPEC`).
fn disconnect(fd: RawFd) {
    // SAFETY: a zeroed sockaddr with family AF_UNSPEC, valid for the call.
    unsafe {
        let mut addr: libc::sockaddr = std::mem::zeroed();
        addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        sc::connect(fd, &addr, size_of::<libc::sockaddr>() as libc::socklen_t);
    }
}

/// Whether a transfer of `len` bytes came back short (fewer than the entry asked for).
#[inline]
fn short_of(res: i32, len: usize) -> bool {
    (res as u32) < rw_len(len)
}

/// The total length of some buffers.
#[inline]
fn total(bufs: &[impl std::ops::Deref<Target = [u8]>]) -> usize {
    bufs.iter().map(|b| b.len()).sum()
}

ops! {
    /// `IORING_OP_NOP`: the cost floor of a call.
    Nop {} -> () = IORING_OP_NOP |_o, sqe| sqe.prep_nop();

    /// read(2), pread(2): at `offset`, or at the file position for [`CURRENT_POSITION`].
    Read<'a> { fd: RawFd, buf: RawBuf<'a>, offset: u64 } -> usize = IORING_OP_READ
        |o, sqe| sqe.prep_read(o.fd, o.buf.ptr, rw_len(o.buf.len), o.offset),
    {
        transfer_fd!(write: false);
        #[inline]
        fn short(&self, res: i32) -> bool {
            short_of(res, self.buf.len)
        }
        // A zero-length read never reaches a file without `read_iter` through io_uring (0 at
        // once); read(2) calls its `read` (EISDIR for a directory).
        #[inline]
        fn fits_ring(&self) -> bool {
            self.buf.len > 0
        }
    };

    /// write(2), pwrite(2).
    Write<'a> { fd: RawFd, buf: RawData<'a>, offset: u64 } -> usize = IORING_OP_WRITE
        |o, sqe| sqe.prep_write(o.fd, o.buf.ptr, rw_len(o.buf.len), o.offset),
    {
        transfer_fd!(write: true);
        #[inline]
        fn short(&self, res: i32) -> bool {
            short_of(res, self.buf.len)
        }
        fn rest(&self, done: usize) -> Option<StreamRest<'_>> {
            if self.offset != CURRENT_POSITION {
                return None;
            }
            StreamRest::new(self.fd, std::iter::once(self.buf), done, None)
        }
    };

    /// readv(2), preadv(2).
    ReadVectored<'a, 'b> { fd: RawFd, bufs: &'a mut [IoSliceMut<'b>], offset: u64 } -> usize
        = IORING_OP_READV
        // IoSliceMut is ABI-compatible with iovec on Unix.
        |o, sqe| sqe.prep_readv(o.fd, o.bufs.as_ptr().cast(), iov_count(o.bufs.len()), o.offset, 0),
    {
        transfer_fd!(write: false);
        vectored!();
    };

    /// writev(2), pwritev(2).
    WriteVectored<'a, 'b> { fd: RawFd, bufs: &'a [IoSlice<'b>], offset: u64 } -> usize
        = IORING_OP_WRITEV
        // IoSlice is ABI-compatible with iovec on Unix.
        |o, sqe| sqe.prep_writev(o.fd, o.bufs.as_ptr().cast(), iov_count(o.bufs.len()), o.offset, 0),
    {
        transfer_fd!(write: true);
        vectored!();
        fn rest(&self, done: usize) -> Option<StreamRest<'_>> {
            if self.offset != CURRENT_POSITION {
                return None;
            }
            StreamRest::new(self.fd, self.bufs.iter().map(|b| RawData::from(&**b)), done, None)
        }
    };

    /// fsync(2), or fdatasync(2) with `IORING_FSYNC_DATASYNC`.
    Fsync { fd: RawFd, flags: u32 } -> () = IORING_OP_FSYNC
        |o, sqe| sqe.prep_fsync(o.fd, o.flags),
    {
        // io_uring's sync.c completes an error without failing the chain.
        const SOFT_FAIL: bool = true;
        main_fd!();
        // std retries it on EINTR.
        const ON_SIGNAL: OnSignal = OnSignal::Restart;
    };

    /// sync_file_range(2).
    SyncFileRange { fd: RawFd, offset: u64, len: u64, flags: u32 } -> ()
        = IORING_OP_SYNC_FILE_RANGE
        |o, sqe| sqe.prep_sync_file_range(o.fd, o.offset, o.len as u32, o.flags),
    {
        const SOFT_FAIL: bool = true;
        main_fd!();
        // The entry's length field is 32 bits.
        #[inline]
        fn fits_ring(&self) -> bool {
            self.len <= u64::from(u32::MAX)
        }
        #[inline]
        fn syscall(&mut self) -> i32 {
            // SAFETY: integers only.
            let res = unsafe {
                sc::sync_file_range(self.fd, self.offset as i64, self.len as i64, self.flags)
            };
            res as i32
        }
    };

    /// fallocate(2).
    Fallocate { fd: RawFd, mode: i32, offset: u64, len: u64 } -> () = IORING_OP_FALLOCATE
        |o, sqe| sqe.prep_fallocate(o.fd, o.mode, o.offset, o.len),
    {
        const SOFT_FAIL: bool = true;
        main_fd!();
    };

    /// posix_fadvise(2).
    Fadvise { fd: RawFd, offset: u64, len: u64, advice: i32 } -> () = IORING_OP_FADVISE
        |o, sqe| sqe.prep_fadvise(o.fd, o.offset, o.len, o.advice),
    {
        main_fd!();
        // Lengths beyond u32 need 6.7's 64-bit field; the syscall takes them anywhere.
        #[inline]
        fn fits_ring(&self) -> bool {
            self.len <= u64::from(u32::MAX)
        }
    };

    /// ftruncate(2).
    Ftruncate { fd: RawFd, len: u64 } -> () = IORING_OP_FTRUNCATE
        |o, sqe| sqe.prep_ftruncate(o.fd, o.len),
    {
        const SOFT_FAIL: bool = true;
        // ftruncate(2) refuses a negative length before it looks the fd up (EINVAL even for
        // a bad fd); io_uring looks the fd up first.
        #[inline]
        fn fits_ring(&self) -> bool {
            self.len <= i64::MAX as u64
        }
        main_fd!();
        // std retries it on EINTR.
        const ON_SIGNAL: OnSignal = OnSignal::Restart;
    };

    /// openat(2).
    OpenAt { dir: RawFd, path: CPath, flags: i32, mode: u32, fixed: Option<u32> } -> OwnedFd
        = IORING_OP_OPENAT
        |o, sqe| match o.fixed {
            // O_CLOEXEC is refused for fixed files, which no exec can inherit anyway.
            Some(slot) => drop(sqe.prep_openat_direct(
                o.dir,
                o.path.ptr(),
                o.flags & !libc::O_CLOEXEC,
                o.mode,
                slot,
            )),
            None => drop(sqe.prep_openat(o.dir, o.path.ptr(), o.flags, o.mode)),
        },
    {
        new_fd!();
        const MAKES_FIXED: bool = true;
        #[inline]
        fn make_fixed(&mut self, slot: Option<u32>) {
            self.fixed = slot;
        }
        #[inline]
        fn opens_direct(&self) -> bool {
            self.flags & libc::O_DIRECT != 0
        }
        #[inline]
        fn cloexec(&self) -> bool {
            self.flags & libc::O_CLOEXEC != 0
        }
        // io-wq runs O_CREAT and O_TRUNC opens, and any whose path is not cached, and would
        // resolve /proc/thread-self as its worker thread.
        #[inline]
        fn fits_ring(&self) -> bool {
            !self.path.names_calling_thread() && open_flags_valid(self.flags)
        }
        #[inline]
        fn after_ring(&mut self, res: i32) -> i32 {
            let fifo = match res {
                _ if !self.may_wait_for_peer() || self.fixed.is_some() => false,
                // O_WRONLY: ENXIO is the ring's "no reader yet"; an fd means a reader is there.
                r if r == -libc::ENXIO => true,
                // O_RDONLY: an fd at once even with no writer.
                r if r >= 0 => self.flags & libc::O_ACCMODE == libc::O_RDONLY && is_fifo(r),
                _ => false,
            };
            if fifo {
                self.open_fifo_as_syscall(res)
            } else {
                res
            }
        }
    };

    /// close(2).
    Close { fd: RawFd, fixed: Option<u32> } -> () = IORING_OP_CLOSE
        |o, sqe| match o.fixed {
            Some(slot) => drop(sqe.prep_close_direct(slot)),
            None => drop(sqe.prep_close(o.fd)),
        },
    {
        main_fd!();
        #[inline]
        fn use_fixed(&mut self, slot: u32) -> FixedUse {
            self.fixed = Some(slot);
            FixedUse::Own
        }
        #[inline]
        fn fd_changed(&self, _res: i32) -> Option<RawFd> {
            Some(self.fd)
        }
        #[inline]
        fn after_ring(&mut self, res: i32) -> i32 {
            // IORING_OP_CLOSE refuses an io_uring fd (and leaves it open); close(2) takes it.
            if res == -libc::EBADF && self.fixed.is_none() { self.syscall() } else { res }
        }
    };

    /// statx(2).
    Statx { dir: RawFd, path: CPath, flags: i32, mask: u32, buf: MaybeUninit<libc::statx> }
        -> libc::statx = IORING_OP_STATX
        |o, sqe| sqe.prep_statx(o.dir, o.path.ptr(), o.flags, o.mask, o.buf.as_mut_ptr()),
        // SAFETY: a successful statx filled the whole buffer.
        output |o, _res| unsafe { o.buf.assume_init() },
    {
        punted_path!(path; |o: &Self| statx_flags_valid(o.flags, o.mask));
    };

    /// mkdirat(2).
    MkdirAt { dir: RawFd, path: CPath, mode: u32 } -> () = IORING_OP_MKDIRAT
        |o, sqe| sqe.prep_mkdirat(o.dir, o.path.ptr(), o.mode),
    {
        punted_path!(path);
    };

    /// unlinkat(2).
    UnlinkAt { dir: RawFd, path: CPath, flags: i32 } -> () = IORING_OP_UNLINKAT
        |o, sqe| sqe.prep_unlinkat(o.dir, o.path.ptr(), o.flags),
    {
        punted_path!(path);
    };

    /// renameat2(2).
    RenameAt { old_dir: RawFd, old: CPath, new_dir: RawFd, new: CPath, flags: u32 } -> ()
        = IORING_OP_RENAMEAT
        |o, sqe| sqe.prep_renameat(o.old_dir, o.old.ptr(), o.new_dir, o.new.ptr(), o.flags),
    {
        punted_path!(old, new; |o: &Self| rename_flags_valid(o.flags) && name_readable(&o.new));
    };

    /// symlinkat(2).
    SymlinkAt { target: CPath, dir: RawFd, link: CPath } -> () = IORING_OP_SYMLINKAT
        |o, sqe| sqe.prep_symlinkat(o.target.ptr(), o.dir, o.link.ptr()),
    {
        punted_path!(link);
    };

    /// linkat(2).
    LinkAt { old_dir: RawFd, old: CPath, new_dir: RawFd, new: CPath, flags: i32 } -> ()
        = IORING_OP_LINKAT
        |o, sqe| sqe.prep_linkat(o.old_dir, o.old.ptr(), o.new_dir, o.new.ptr(), o.flags),
    {
        punted_path!(old, new; |o: &Self| {
            o.flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) == 0 && name_readable(&o.new)
        });
    };

    /// socket(2).
    Socket { domain: i32, ty: i32, protocol: i32, fixed: Option<u32> } -> OwnedFd
        = IORING_OP_SOCKET
        |o, sqe| match o.fixed {
            // SOCK_CLOEXEC is refused for fixed files, which no exec can inherit anyway.
            Some(slot) => drop(sqe.prep_socket_direct(
                o.domain,
                o.ty & !libc::SOCK_CLOEXEC,
                o.protocol,
                slot,
            )),
            None => drop(sqe.prep_socket(o.domain, o.ty, o.protocol)),
        },
    {
        const MAKES_FD: bool = true;
        const MAKES_FIXED: bool = true;
        #[inline]
        fn fd_changed(&self, res: i32) -> Option<RawFd> {
            (res >= 0).then_some(res)
        }
        #[inline]
        fn make_fixed(&mut self, slot: Option<u32>) {
            self.fixed = slot;
        }
        #[inline]
        fn cloexec(&self) -> bool {
            self.ty & libc::SOCK_CLOEXEC != 0
        }
    };

    /// bind(2).
    Bind { fd: RawFd, addr: RawSockAddr } -> () = IORING_OP_BIND
        |o, sqe| sqe.prep_bind(o.fd, (&raw const o.addr.storage).cast(), o.addr.len),
    {
        main_fd!();
    };

    /// listen(2).
    Listen { fd: RawFd, backlog: i32 } -> () = IORING_OP_LISTEN
        |o, sqe| sqe.prep_listen(o.fd, o.backlog),
    {
        main_fd!();
    };

    /// accept4(2), keeping the peer's address (`0.0.0.0:0` for one without an IP address).
    Accept { fd: RawFd, flags: i32, addr: RawSockAddr, fixed: Option<u32> }
        -> (OwnedFd, SocketAddr) = IORING_OP_ACCEPT
        |o, sqe| match o.fixed {
            // SOCK_CLOEXEC is refused for fixed files, which no exec can inherit anyway.
            Some(slot) => drop(sqe.prep_accept_direct(
                o.fd,
                (&raw mut o.addr.storage).cast(),
                &raw mut o.addr.len,
                o.flags & !libc::SOCK_CLOEXEC,
                slot,
            )),
            None => drop(sqe.prep_accept(
                o.fd,
                (&raw mut o.addr.storage).cast(),
                &raw mut o.addr.len,
                o.flags,
            )),
        },
        output |o, res| (
            OwnedFd::from_result(res),
            o.addr.socket_addr().unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))),
        ),
    {
        main_fd!();
        new_fd!();
        const MAKES_FIXED: bool = true;
        #[inline]
        fn make_fixed(&mut self, slot: Option<u32>) {
            self.fixed = slot;
        }
        #[inline]
        fn cloexec(&self) -> bool {
            self.flags & libc::SOCK_CLOEXEC != 0
        }
        #[inline]
        fn waits_on(&self) -> Option<FdWait> {
            Some(FdWait::socket(self.fd, false))
        }
        // accept4(2) looks the fd up before it checks the flags (EBADF first); io_uring
        // refuses unknown flags first (EINVAL). Unknown flags go to the syscall.
        #[inline]
        fn fits_ring(&self) -> bool {
            self.flags & !(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) == 0
        }
    };

    /// connect(2).
    Connect { fd: RawFd, addr: RawSockAddr } -> () = IORING_OP_CONNECT
        |o, sqe| sqe.prep_connect(o.fd, (&raw const o.addr.storage).cast(), o.addr.len),
    {
        main_fd!();
        #[inline]
        fn waits_on(&self) -> Option<FdWait> {
            Some(FdWait::connect(self.fd))
        }
        fn after_ring_on_fd(&mut self, res: i32) -> i32 {
            if refused_after_trying(res) && is_inet_stream(self.fd) {
                disconnect(self.fd);
            }
            res
        }
    };

    /// send(2).
    Send<'a> { fd: RawFd, buf: RawData<'a>, flags: i32 } -> usize = IORING_OP_SEND
        |o, sqe| sqe.prep_send(o.fd, o.buf.ptr, rw_len(o.buf.len), o.flags),
    {
        main_fd!();
        #[inline]
        fn short(&self, res: i32) -> bool {
            self.flags & libc::MSG_WAITALL != 0 && short_of(res, self.buf.len)
        }
        #[inline]
        fn after_ring(&mut self, res: i32) -> i32 {
            raise_sigpipe(res, self.flags);
            res
        }
        #[inline]
        fn waits_on(&self) -> Option<FdWait> {
            // MSG_DONTWAIT never waits: io_uring then fails with EAGAIN at once too.
            (self.flags & libc::MSG_DONTWAIT == 0).then(|| FdWait::socket(self.fd, true))
        }
        fn rest(&self, done: usize) -> Option<StreamRest<'_>> {
            if self.flags & libc::MSG_DONTWAIT != 0 {
                return None;
            }
            StreamRest::new(self.fd, std::iter::once(self.buf), done, Some(self.flags))
        }
    };

    /// recv(2).
    Recv<'a> { fd: RawFd, buf: RawBuf<'a>, flags: i32 } -> usize = IORING_OP_RECV
        |o, sqe| sqe.prep_recv(o.fd, o.buf.ptr, rw_len(o.buf.len), o.flags),
    {
        main_fd!();
        #[inline]
        fn short(&self, res: i32) -> bool {
            self.flags & libc::MSG_WAITALL != 0 && short_of(res, self.buf.len)
        }
        #[inline]
        fn waits_on(&self) -> Option<FdWait> {
            (self.flags & libc::MSG_DONTWAIT == 0).then(|| FdWait::socket(self.fd, false))
        }
    };

    /// shutdown(2).
    Shutdown { fd: RawFd, how: i32 } -> () = IORING_OP_SHUTDOWN
        |o, sqe| sqe.prep_shutdown(o.fd, o.how),
    {
        const SOFT_FAIL: bool = true;
        main_fd!();
    };

    /// splice(2); `None` offsets use (and advance) the file position.
    Splice {
        fd_in: RawFd,
        off_in: Option<u64>,
        fd_out: RawFd,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    } -> usize = IORING_OP_SPLICE
        |o, sqe| sqe.prep_splice(
            o.fd_in,
            o.off_in.unwrap_or(u64::MAX),
            o.fd_out,
            o.off_out.unwrap_or(u64::MAX),
            rw_len(o.len),
            o.flags,
        ),
    {
        #[inline]
        fn short(&self, res: i32) -> bool {
            short_of(res, self.len)
        }
        // The entry's offset u64::MAX means "the file position"; an offset of that value
        // goes to the syscall, which answers for it (EINVAL, or ESPIPE on a pipe). So does an
        // offset for a pipe: splice(2) refuses it (ESPIPE) before it checks the fds' modes,
        // io_uring checks the modes first (EBADF for a pipe's wrong end).
        // A zero length is 0 for splice(2) before it looks at the fds (even bad ones).
        #[inline]
        fn fits_ring(&self) -> bool {
            self.len > 0
                && self.off_in != Some(u64::MAX)
                && self.off_out != Some(u64::MAX)
                && self.off_in.is_none_or(|_| !is_espipe(self.fd_in))
                && self.off_out.is_none_or(|_| !is_espipe(self.fd_out))
        }
        fn syscall(&mut self) -> i32 {
            self.splice(self.flags)
        }
        fn syscall_nowait(&mut self) -> Option<i32> {
            Some(self.splice(self.flags | libc::SPLICE_F_NONBLOCK))
        }
    };

    /// poll(2) of one fd, waiting without limit; the output is the revents.
    Poll { fd: RawFd, events: i16 } -> i16 = IORING_OP_POLL_ADD
        |o, sqe| sqe.prep_poll_add(o.fd, u32::from(o.events as u16)),
        // poll(2) reports only what was asked for, and errors and hangups.
        output |o, res| res as u16 as i16 & (o.events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL),
    {
        main_fd!();
        const ON_SIGNAL: OnSignal = OnSignal::InterruptAlways;
        #[inline]
        fn waits_on(&self) -> Option<FdWait> {
            Some(FdWait::poll(self.fd, self.events))
        }
        #[inline]
        fn map_result(res: i32) -> i32 {
            // poll(2) reports a closed fd in revents, not as an error.
            if res == -libc::EBADF { i32::from(libc::POLLNVAL) } else { res }
        }
    };

    /// A sleep: a timeout that no completion count ends early.
    Sleep { ts: KernelTimespec } -> () = IORING_OP_TIMEOUT
        // ETIME_SUCCESS (5.16): the expiry is this operation's success, so a chain goes on.
        |o, sqe| sqe.prep_timeout(&raw const o.ts, 0, IORING_TIMEOUT_ETIME_SUCCESS),
    {
        // Like std::thread::sleep, a signal does not cut the sleep short.
        const ON_SIGNAL: OnSignal = OnSignal::Restart;
        // IORING_TIMEOUT_ETIME_SUCCESS is 5.16; CQE_SKIP (5.17) is the nearest feature bit.
        const FEATURES: u32 = IORING_FEAT_CQE_SKIP;
        #[inline]
        fn map_result(res: i32) -> i32 {
            if res == -libc::ETIME { 0 } else { res }
        }
    };

    /// openat(2) into fixed file slot `index` (5.15), read-only, for a linked
    /// open → read → close.
    OpenFixed { dir: RawFd, path: CPath, index: u32 } -> () = IORING_OP_OPENAT
        // O_CLOEXEC is refused for fixed files, which no exec can inherit anyway.
        |o, sqe| sqe.prep_openat_direct(o.dir, o.path.ptr(), libc::O_RDONLY, 0, o.index);

    /// A read from offset 0 of fixed file slot `index`, hard-linked to what follows (its
    /// close, which must run whatever the read gave).
    ReadFixed<'a> { index: u32, buf: RawBuf<'a> } -> usize = IORING_OP_READ
        |o, sqe| sqe
            .prep_read(o.index as RawFd, o.buf.ptr, rw_len(o.buf.len), 0)
            .flags(IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK);

    /// close(2) of fixed file slot `index` (5.15).
    CloseFixed { index: u32 } -> () = IORING_OP_CLOSE |o, sqe| sqe.prep_close_direct(o.index);

    /// A regular fd for fixed file slot `index` (6.8), close-on-exec unless `flags` says
    /// `IORING_FIXED_FD_NO_CLOEXEC`.
    FixedInstall { index: u32, flags: u32 } -> OwnedFd = IORING_OP_FIXED_FD_INSTALL
        |o, sqe| sqe.prep_fixed_fd_install(o.index, o.flags);

    /// An fd handed to a batch scope ([`Batch::own`](crate::Batch::own)): its result is
    /// the fd, set when it is queued; it never goes to the kernel.
    Owned {} -> OwnedFd = IORING_OP_NOP |_o, sqe| sqe.prep_nop(),
    {
        const MAKES_FD: bool = true;
    };

    /// A result computed without an entry (a batch step that ran as syscalls).
    Ready {} -> usize = IORING_OP_NOP |_o, sqe| sqe.prep_nop();
}

/// An iovec count as the entry's 32-bit field carries it.
#[inline]
fn iov_count(n: usize) -> u32 {
    n.min(u32::MAX as usize) as u32
}

impl Accept {
    /// accept4 with `flags`, making room for the peer's address.
    pub(crate) fn new(fd: RawFd, flags: i32) -> Accept {
        Accept {
            fd,
            flags,
            addr: RawSockAddr::empty(),
            fixed: None,
        }
    }
}

impl Sleep {
    /// A sleep for `duration`.
    pub(crate) fn new(duration: Duration) -> Sleep {
        Sleep {
            ts: timespec(duration),
        }
    }
}

impl Splice {
    /// splice(2) with `flags`, the offsets passed as pointers (none for `None`).
    fn splice(&self, flags: u32) -> i32 {
        let mut off_in = self.off_in.map(|o| o as i64);
        let mut off_out = self.off_out.map(|o| o as i64);
        let ptr = |o: &mut Option<i64>| o.as_mut().map_or(std::ptr::null_mut(), |o| o as *mut i64);
        // SAFETY: the offsets are locals alive for the call; the kernel reads and writes one
        // i64 through each non-null pointer.
        let res = unsafe {
            sc::splice(
                self.fd_in,
                ptr(&mut off_in),
                self.fd_out,
                ptr(&mut off_out),
                self.len,
                flags,
            )
        };
        res as i32
    }
}

impl OpenAt {
    /// Whether open(2) of a FIFO with these flags waits for the other end: read-only or
    /// write-only, without `O_NONBLOCK` (`O_PATH` opens nothing).
    #[inline]
    fn may_wait_for_peer(&self) -> bool {
        self.flags & (libc::O_NONBLOCK | libc::O_PATH) == 0
            && self.flags & libc::O_ACCMODE != libc::O_RDWR
    }

    /// The ring opens a FIFO without waiting for the other end (its first attempt is
    /// non-blocking: `ENXIO` for a writer with no reader, an fd at once for a reader with no
    /// writer); open(2) waits. Makes the syscall, which waits; a reader the ring opened stays
    /// open until then, so a writer already there never sees the FIFO without readers, and
    /// the syscall's fd takes over its number (the lowest free one, as open(2) gives).
    #[cold]
    fn open_fifo_as_syscall(&mut self, ring_fd: i32) -> i32 {
        if ring_fd >= 0 && writer_came(ring_fd) {
            // A writer was there (or came and went) since the ring's reader opened: open(2)
            // would have returned. The syscall would now wait for another writer, forever
            // if that one wrote everything and left.
            return ring_fd;
        }
        let fd = loop {
            // std retries an open on EINTR.
            let fd = self.syscall();
            if fd != -libc::EINTR {
                break fd;
            }
        };
        if ring_fd < 0 {
            return fd;
        }
        if fd >= 0 {
            // SAFETY: both fds are ours; dup3 replaces the ring's with the syscall's.
            unsafe { sc::dup3(fd, ring_fd, self.flags & libc::O_CLOEXEC) };
        }
        // SAFETY: the ring's fd (or, after dup3, the syscall's first number) is ours.
        unsafe { sc::close(if fd >= 0 { fd } else { ring_fd }) };
        if fd >= 0 { ring_fd } else { fd }
    }
}

/// Whether open(2) accepts `flags` (its `build_open_flags`, which runs before the path is
/// read; io_uring reads the path first). Of the flags openat(2) does not drop silently, it
/// refuses `O_CREAT | O_DIRECTORY`, and an `O_TMPFILE` open without write access.
#[inline]
fn open_flags_valid(flags: i32) -> bool {
    const TMPFILE_BIT: i32 = libc::O_TMPFILE & !libc::O_DIRECTORY;
    // O_PATH keeps only O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC of the rest.
    flags & libc::O_PATH != 0
        || (flags & (libc::O_CREAT | libc::O_DIRECTORY) != libc::O_CREAT | libc::O_DIRECTORY
            && (flags & TMPFILE_BIT == 0 || flags & libc::O_ACCMODE != libc::O_RDONLY))
}

/// Whether statx(2) accepts `flags` and `mask` (checked before the path is read).
#[inline]
fn statx_flags_valid(flags: i32, mask: u32) -> bool {
    const VALID: i32 = libc::AT_SYMLINK_NOFOLLOW
        | libc::AT_NO_AUTOMOUNT
        | libc::AT_EMPTY_PATH
        | libc::AT_STATX_SYNC_TYPE;
    const STATX_RESERVED: u32 = 0x8000_0000;
    flags & !VALID == 0
        && flags & libc::AT_STATX_SYNC_TYPE != libc::AT_STATX_SYNC_TYPE
        && mask & STATX_RESERVED == 0
}

/// Whether the kernel can read `path` as a name (not empty, shorter than `PATH_MAX`). For
/// the second path of renameat2(2) and linkat(2) the syscall reports such an error only after
/// looking up the first path (`EBADF`, `ENOENT`, ... first); io_uring reads both up front.
#[inline]
fn name_readable(path: &CPath) -> bool {
    let len = path.as_cstr().to_bytes().len();
    len > 0 && len < libc::PATH_MAX as usize
}

/// Whether renameat2(2) accepts `flags` (checked before the paths are read).
#[inline]
fn rename_flags_valid(flags: u32) -> bool {
    let known = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT;
    flags & !known == 0
        && !(flags & libc::RENAME_EXCHANGE != 0
            && flags & (libc::RENAME_NOREPLACE | libc::RENAME_WHITEOUT) != 0)
}

/// Whether `fd` has no file position (a pipe, FIFO or socket): lseek(2) gives `ESPIPE`.
#[cold]
fn is_espipe(fd: RawFd) -> bool {
    // SAFETY: lseek on any fd number is harmless; SEEK_CUR with offset 0 moves nothing.
    unsafe { sc::lseek(fd, 0, libc::SEEK_CUR) == -(libc::ESPIPE as isize) }
}

/// Whether the reader `fd` of a FIFO has seen a writer: data to read, or a hangup (a
/// writer came and went).
#[cold]
fn writer_came(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: one pollfd and a timespec, both alive for the call; no wait.
    let n = unsafe { sc::ppoll(&mut pfd, 1, &zero) };
    n > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP) != 0
}

/// Whether `fd` is a FIFO.
#[cold]
fn is_fifo(fd: RawFd) -> bool {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one stat to a valid pointer.
    if unsafe { sc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat succeeded, so the struct is filled.
    unsafe { stat.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFIFO
}

/// io_uring always sends with `MSG_NOSIGNAL`; send(2) without it raises SIGPIPE on `EPIPE`.
#[inline]
fn raise_sigpipe(res: i32, flags: i32) {
    if res == -libc::EPIPE && flags & libc::MSG_NOSIGNAL == 0 {
        sc::raise(libc::SIGPIPE);
    }
}
