//! Submission and completion entries: [`Sqe`] with a typed prep helper per opcode, and [`Cqe`].
//!
//! A prep helper fills the fields its opcode reads on an entry that [`Ring::get_sqe`] handed
//! out zeroed, so `user_data` and the `IOSQE_*` flags may be set before or after it. Filling an
//! entry is safe; submitting it is not: [`Ring::submit`] is `unsafe` because the memory each
//! entry points to (its "Memory:" line) must stay valid, and a buffer the kernel writes
//! unaliased, until the entry's completion has been reaped.
//!
//! [`Ring::submit`]: super::Ring::submit
//!
//! [`Ring::get_sqe`]: super::Ring::get_sqe

use std::io;
use std::os::fd::RawFd;

use crate::sys::*;

/// One submission queue entry, borrowed from the ring by [`Ring::get_sqe`](super::Ring::get_sqe).
#[repr(transparent)]
pub struct Sqe(pub(crate) IoUringSqe);

/// One completion queue entry, copied out of the ring by
/// [`Ring::copy_cqes`](super::Ring::copy_cqes).
#[repr(transparent)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Cqe(pub(crate) IoUringCqe);

impl PartialEq for Cqe {
    fn eq(&self, other: &Cqe) -> bool {
        (self.0.user_data, self.0.res, self.0.flags)
            == (other.0.user_data, other.0.res, other.0.flags)
    }
}

impl Eq for Cqe {}

impl Cqe {
    /// The `user_data` of the entry this completes.
    #[inline]
    pub fn user_data(&self) -> u64 {
        self.0.user_data
    }

    /// The raw result: what the syscall would return, or `-errno`.
    #[inline]
    pub fn result(&self) -> i32 {
        self.0.res
    }

    /// The `IORING_CQE_F_*` flags.
    #[inline]
    pub fn flags(&self) -> u32 {
        self.0.flags
    }

    /// Whether more completions will follow for the same entry (`IORING_CQE_F_MORE`).
    #[inline]
    pub fn more(&self) -> bool {
        self.0.flags & IORING_CQE_F_MORE != 0
    }

    /// The result as `io::Result`: `Ok(res)` when non-negative, else the errno as an error.
    #[inline]
    pub fn io_result(&self) -> io::Result<u32> {
        if self.0.res < 0 {
            Err(io::Error::from_raw_os_error(-self.0.res))
        } else {
            Ok(self.0.res as u32)
        }
    }

    /// Builds a completion, for tests and for code that synthesises results.
    pub fn new(user_data: u64, res: i32, flags: u32) -> Cqe {
        Cqe(IoUringCqe {
            user_data,
            res,
            flags,
        })
    }
}

/// The offset a read or write uses to mean "the file's current position, then advance it",
/// as read(2) and write(2) do (`-1` in the kernel's `off` field).
pub const CURRENT_POSITION: u64 = u64::MAX;

// Fills the fields shared by the read/write style opcodes, like liburing's io_uring_prep_rw.
macro_rules! rw {
    ($sqe:expr, $op:expr, $fd:expr, $addr:expr, $len:expr, $off:expr) => {{
        let e = &mut $sqe.0;
        e.opcode = $op;
        e.fd = $fd;
        e.addr = $addr as u64;
        e.len = $len as u32;
        e.off = $off;
    }};
}

impl Sqe {
    /// A zeroed entry outside any ring, to fill and run as its syscall through
    /// [`emulate`](super::emulate).
    #[inline]
    pub fn zeroed() -> Sqe {
        Sqe(IoUringSqe::default())
    }

    /// Sets the value the completion carries back in [`Cqe::user_data`].
    #[inline]
    pub fn user_data(&mut self, user_data: u64) -> &mut Sqe {
        self.0.user_data = user_data;
        self
    }

    /// Adds `IOSQE_*` flags (link, drain, async, fixed file, skip success, ...).
    #[inline]
    pub fn flags(&mut self, flags: u8) -> &mut Sqe {
        self.0.flags |= flags;
        self
    }

    /// Sets the credentials registered under `personality` for this entry.
    #[inline]
    pub fn personality(&mut self, personality: u16) -> &mut Sqe {
        self.0.personality = personality;
        self
    }

    /// The raw entry, as the kernel will read it.
    #[inline]
    pub fn as_raw(&self) -> &IoUringSqe {
        &self.0
    }

    /// The raw entry, for opcodes or fields no helper covers.
    #[inline]
    pub fn as_raw_mut(&mut self) -> &mut IoUringSqe {
        &mut self.0
    }

    /// `IORING_OP_NOP` (5.1): completes with result 0 and does nothing.
    #[inline]
    pub fn prep_nop(&mut self) -> &mut Sqe {
        self.0.opcode = IORING_OP_NOP;
        self
    }

    /// `IORING_OP_READ` (5.6): read(2)/pread(2) of `len` bytes into `buf` at `offset`, or at the
    /// file position when `offset` is [`CURRENT_POSITION`].
    ///
    /// Memory: `buf` must be valid for writes of `len` bytes until the completion is reaped.
    #[inline]
    pub fn prep_read(&mut self, fd: RawFd, buf: *mut u8, len: u32, offset: u64) -> &mut Sqe {
        rw!(self, IORING_OP_READ, fd, buf, len, offset);
        self
    }

    /// `IORING_OP_WRITE` (5.6): write(2)/pwrite(2) of `len` bytes from `buf` at `offset`, or at
    /// the file position when `offset` is [`CURRENT_POSITION`].
    ///
    /// Memory: `buf` must be valid for reads of `len` bytes until the completion is reaped.
    #[inline]
    pub fn prep_write(&mut self, fd: RawFd, buf: *const u8, len: u32, offset: u64) -> &mut Sqe {
        rw!(self, IORING_OP_WRITE, fd, buf, len, offset);
        self
    }

    /// `IORING_OP_READV` (5.1): preadv2(2) into `nr` iovecs, `rw_flags` being `RWF_*`.
    ///
    /// Memory: The iovec array and every buffer it names must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_readv(
        &mut self,
        fd: RawFd,
        iovecs: *const libc::iovec,
        nr: u32,
        offset: u64,
        rw_flags: i32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_READV, fd, iovecs, nr, offset);
        self.0.op_flags = rw_flags as u32;
        self
    }

    /// `IORING_OP_WRITEV` (5.1): pwritev2(2) from `nr` iovecs, `rw_flags` being `RWF_*`.
    ///
    /// Memory: The iovec array and every buffer it names must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_writev(
        &mut self,
        fd: RawFd,
        iovecs: *const libc::iovec,
        nr: u32,
        offset: u64,
        rw_flags: i32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_WRITEV, fd, iovecs, nr, offset);
        self.0.op_flags = rw_flags as u32;
        self
    }

    /// `IORING_OP_READ_FIXED` (5.1): a read into registered buffer `buf_index`.
    ///
    /// Memory: `buf..buf+len` must lie inside registered buffer `buf_index`, which must stay registered
    /// and valid until the completion is reaped.
    #[inline]
    pub fn prep_read_fixed(
        &mut self,
        fd: RawFd,
        buf: *mut u8,
        len: u32,
        offset: u64,
        buf_index: u16,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_READ_FIXED, fd, buf, len, offset);
        self.0.buf_index = buf_index;
        self
    }

    /// `IORING_OP_WRITE_FIXED` (5.1): a write from registered buffer `buf_index`.
    ///
    /// Memory: As [`prep_read_fixed`](Sqe::prep_read_fixed).
    #[inline]
    pub fn prep_write_fixed(
        &mut self,
        fd: RawFd,
        buf: *const u8,
        len: u32,
        offset: u64,
        buf_index: u16,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_WRITE_FIXED, fd, buf, len, offset);
        self.0.buf_index = buf_index;
        self
    }

    /// `IORING_OP_FSYNC` (5.1): fsync(2), or fdatasync(2) with `IORING_FSYNC_DATASYNC`.
    #[inline]
    pub fn prep_fsync(&mut self, fd: RawFd, fsync_flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_FSYNC, fd, 0, 0, 0);
        self.0.op_flags = fsync_flags;
        self
    }

    /// `IORING_OP_SYNC_FILE_RANGE` (5.2): sync_file_range(2).
    #[inline]
    pub fn prep_sync_file_range(
        &mut self,
        fd: RawFd,
        offset: u64,
        len: u32,
        flags: u32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_SYNC_FILE_RANGE, fd, 0, len, offset);
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_FALLOCATE` (5.6): fallocate(2); the length travels in `addr`, the mode in
    /// `len`, as the kernel reads them.
    #[inline]
    pub fn prep_fallocate(&mut self, fd: RawFd, mode: i32, offset: u64, len: u64) -> &mut Sqe {
        rw!(self, IORING_OP_FALLOCATE, fd, len, mode as u32, offset);
        self
    }

    /// `IORING_OP_FADVISE` (5.6): posix_fadvise(2). A `len` above `u32::MAX` travels in `addr`,
    /// which kernels before 6.7 reject with EINVAL.
    #[inline]
    pub fn prep_fadvise(&mut self, fd: RawFd, offset: u64, len: u64, advice: i32) -> &mut Sqe {
        match u32::try_from(len) {
            Ok(len) => rw!(self, IORING_OP_FADVISE, fd, 0, len, offset),
            Err(_) => rw!(self, IORING_OP_FADVISE, fd, len, 0, offset),
        }
        self.0.op_flags = advice as u32;
        self
    }

    /// `IORING_OP_FTRUNCATE` (6.9): ftruncate(2).
    #[inline]
    pub fn prep_ftruncate(&mut self, fd: RawFd, len: u64) -> &mut Sqe {
        rw!(self, IORING_OP_FTRUNCATE, fd, 0, 0, len);
        self
    }

    /// `IORING_OP_OPENAT` (5.6): openat(2). The completion's result is the new fd.
    ///
    /// Memory: `path` must point to a NUL-terminated string valid until the entry is submitted
    /// (the kernel copies it at submission; keep it until the completion to be safe with
    /// `IOSQE_ASYNC` on old kernels).
    #[inline]
    pub fn prep_openat(
        &mut self,
        dir: RawFd,
        path: *const libc::c_char,
        flags: i32,
        mode: u32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_OPENAT, dir, path, mode, 0);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_OPENAT` into the fixed file table (5.15): the file is installed at
    /// `file_index`, or in a free slot with [`IORING_FILE_INDEX_ALLOC`] (6.0), whose number is
    /// the result. No fd number is used.
    ///
    /// Memory: As [`prep_openat`](Sqe::prep_openat).
    #[inline]
    pub fn prep_openat_direct(
        &mut self,
        dir: RawFd,
        path: *const libc::c_char,
        flags: i32,
        mode: u32,
        file_index: u32,
    ) -> &mut Sqe {
        self.prep_openat(dir, path, flags, mode);
        self.set_file_index(file_index);
        self
    }

    /// `IORING_OP_FIXED_FD_INSTALL` (6.8): a regular fd for fixed file `fixed_index`, as the
    /// completion's result; `flags` is 0 (close-on-exec) or `IORING_FIXED_FD_NO_CLOEXEC`.
    #[inline]
    pub fn prep_fixed_fd_install(&mut self, fixed_index: u32, flags: u32) -> &mut Sqe {
        rw!(
            self,
            IORING_OP_FIXED_FD_INSTALL,
            fixed_index as RawFd,
            0,
            0,
            0
        );
        self.0.flags = IOSQE_FIXED_FILE;
        self.0.op_flags = flags;
        self
    }

    // The kernel reads a direct slot as index + 1 (0 meaning "not direct"), except ALLOC.
    #[inline]
    fn set_file_index(&mut self, file_index: u32) {
        let index = if file_index == IORING_FILE_INDEX_ALLOC {
            file_index
        } else {
            file_index + 1
        };
        self.0.splice_fd_in = index as i32;
    }

    /// `IORING_OP_OPENAT2` (5.6): openat2(2) with an [`OpenHow`].
    ///
    /// Memory: `path` and `how` must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_openat2(
        &mut self,
        dir: RawFd,
        path: *const libc::c_char,
        how: *const OpenHow,
    ) -> &mut Sqe {
        rw!(
            self,
            IORING_OP_OPENAT2,
            dir,
            path,
            std::mem::size_of::<OpenHow>(),
            how as u64
        );
        self
    }

    /// `IORING_OP_CLOSE` (5.6): close(2) of `fd`.
    #[inline]
    pub fn prep_close(&mut self, fd: RawFd) -> &mut Sqe {
        rw!(self, IORING_OP_CLOSE, fd, 0, 0, 0);
        self
    }

    /// `IORING_OP_CLOSE` of fixed file slot `file_index` (5.15).
    #[inline]
    pub fn prep_close_direct(&mut self, file_index: u32) -> &mut Sqe {
        rw!(self, IORING_OP_CLOSE, 0, 0, 0, 0);
        self.set_file_index(file_index);
        self
    }

    /// `IORING_OP_STATX` (5.6): statx(2) into `statxbuf`.
    ///
    /// Memory: `path` must be NUL-terminated and `statxbuf` valid for writes of a `libc::statx`, both
    /// until the completion is reaped.
    #[inline]
    pub fn prep_statx(
        &mut self,
        dir: RawFd,
        path: *const libc::c_char,
        flags: i32,
        mask: u32,
        statxbuf: *mut libc::statx,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_STATX, dir, path, mask, statxbuf as u64);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_MKDIRAT` (5.15): mkdirat(2).
    ///
    /// Memory: `path` must be NUL-terminated and valid until the completion is reaped.
    #[inline]
    pub fn prep_mkdirat(&mut self, dir: RawFd, path: *const libc::c_char, mode: u32) -> &mut Sqe {
        rw!(self, IORING_OP_MKDIRAT, dir, path, mode, 0);
        self
    }

    /// `IORING_OP_UNLINKAT` (5.11): unlinkat(2), `flags` 0 or `AT_REMOVEDIR`.
    ///
    /// Memory: `path` must be NUL-terminated and valid until the completion is reaped.
    #[inline]
    pub fn prep_unlinkat(&mut self, dir: RawFd, path: *const libc::c_char, flags: i32) -> &mut Sqe {
        rw!(self, IORING_OP_UNLINKAT, dir, path, 0, 0);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_RENAMEAT` (5.11): renameat2(2).
    ///
    /// Memory: Both paths must be NUL-terminated and valid until the completion is reaped.
    #[inline]
    pub fn prep_renameat(
        &mut self,
        old_dir: RawFd,
        old_path: *const libc::c_char,
        new_dir: RawFd,
        new_path: *const libc::c_char,
        flags: u32,
    ) -> &mut Sqe {
        rw!(
            self,
            IORING_OP_RENAMEAT,
            old_dir,
            old_path,
            new_dir as u32,
            new_path as u64
        );
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_SYMLINKAT` (5.15): symlinkat(2).
    ///
    /// Memory: Both strings must be NUL-terminated and valid until the completion is reaped.
    #[inline]
    pub fn prep_symlinkat(
        &mut self,
        target: *const libc::c_char,
        new_dir: RawFd,
        link_path: *const libc::c_char,
    ) -> &mut Sqe {
        rw!(
            self,
            IORING_OP_SYMLINKAT,
            new_dir,
            target,
            0,
            link_path as u64
        );
        self
    }

    /// `IORING_OP_LINKAT` (5.15): linkat(2).
    ///
    /// Memory: Both paths must be NUL-terminated and valid until the completion is reaped.
    #[inline]
    pub fn prep_linkat(
        &mut self,
        old_dir: RawFd,
        old_path: *const libc::c_char,
        new_dir: RawFd,
        new_path: *const libc::c_char,
        flags: i32,
    ) -> &mut Sqe {
        rw!(
            self,
            IORING_OP_LINKAT,
            old_dir,
            old_path,
            new_dir as u32,
            new_path as u64
        );
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_SOCKET` (5.19): socket(2).
    #[inline]
    pub fn prep_socket(&mut self, domain: i32, ty: i32, protocol: i32) -> &mut Sqe {
        rw!(
            self,
            IORING_OP_SOCKET,
            domain,
            0,
            protocol as u32,
            ty as u64
        );
        self
    }

    /// `IORING_OP_SOCKET` into the fixed file table (5.19): the socket is installed at
    /// `file_index`, or in a free slot with [`IORING_FILE_INDEX_ALLOC`]. `ty` must not carry
    /// `SOCK_CLOEXEC` (`EINVAL`).
    ///
    /// Memory: nothing.
    #[inline]
    pub fn prep_socket_direct(
        &mut self,
        domain: i32,
        ty: i32,
        protocol: i32,
        file_index: u32,
    ) -> &mut Sqe {
        self.prep_socket(domain, ty, protocol);
        self.set_file_index(file_index);
        self
    }

    /// `IORING_OP_BIND` (6.11): bind(2).
    ///
    /// Memory: `addr` must be valid for `addr_len` bytes until the completion is reaped.
    #[inline]
    pub fn prep_bind(&mut self, fd: RawFd, addr: *const libc::sockaddr, addr_len: u32) -> &mut Sqe {
        rw!(self, IORING_OP_BIND, fd, addr, 0, addr_len as u64);
        self
    }

    /// `IORING_OP_LISTEN` (6.11): listen(2).
    #[inline]
    pub fn prep_listen(&mut self, fd: RawFd, backlog: i32) -> &mut Sqe {
        rw!(self, IORING_OP_LISTEN, fd, 0, backlog as u32, 0);
        self
    }

    /// `IORING_OP_ACCEPT` (5.5): accept4(2); `addr`/`addr_len` may be null.
    ///
    /// Memory: `addr` and `addr_len`, when not null, must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_accept(
        &mut self,
        fd: RawFd,
        addr: *mut libc::sockaddr,
        addr_len: *mut libc::socklen_t,
        flags: i32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_ACCEPT, fd, addr, 0, addr_len as u64);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_ACCEPT` into the fixed file table (5.15): the connection is installed at
    /// `file_index`, or in a free slot with [`IORING_FILE_INDEX_ALLOC`]. `flags` must not
    /// carry `SOCK_CLOEXEC` (`EINVAL`).
    ///
    /// Memory: As [`prep_accept`](Sqe::prep_accept).
    #[inline]
    pub fn prep_accept_direct(
        &mut self,
        fd: RawFd,
        addr: *mut libc::sockaddr,
        addr_len: *mut libc::socklen_t,
        flags: i32,
        file_index: u32,
    ) -> &mut Sqe {
        self.prep_accept(fd, addr, addr_len, flags);
        self.set_file_index(file_index);
        self
    }

    /// `IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT` (5.19): accepts connection after
    /// connection, each a completion with the new fd and `IORING_CQE_F_MORE` while it goes
    /// on; no peer address.
    #[inline]
    pub fn prep_multishot_accept(&mut self, fd: RawFd, flags: i32) -> &mut Sqe {
        self.prep_accept(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags);
        self.0.ioprio |= IORING_ACCEPT_MULTISHOT;
        self
    }

    /// `IORING_OP_CONNECT` (5.5): connect(2).
    ///
    /// Memory: `addr` must be valid for `addr_len` bytes until the completion is reaped.
    #[inline]
    pub fn prep_connect(
        &mut self,
        fd: RawFd,
        addr: *const libc::sockaddr,
        addr_len: u32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_CONNECT, fd, addr, 0, addr_len as u64);
        self
    }

    /// `IORING_OP_SEND` (5.6): send(2) with `MSG_*` flags.
    ///
    /// Memory: `buf` must be valid for reads of `len` bytes until the completion is reaped.
    #[inline]
    pub fn prep_send(&mut self, fd: RawFd, buf: *const u8, len: u32, flags: i32) -> &mut Sqe {
        rw!(self, IORING_OP_SEND, fd, buf, len, 0);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_RECV` (5.6): recv(2) with `MSG_*` flags.
    ///
    /// Memory: `buf` must be valid for writes of `len` bytes until the completion is reaped.
    #[inline]
    pub fn prep_recv(&mut self, fd: RawFd, buf: *mut u8, len: u32, flags: i32) -> &mut Sqe {
        rw!(self, IORING_OP_RECV, fd, buf, len, 0);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_SENDMSG` (5.3): sendmsg(2).
    ///
    /// Memory: The msghdr and everything it points to must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_sendmsg(&mut self, fd: RawFd, msg: *const libc::msghdr, flags: i32) -> &mut Sqe {
        rw!(self, IORING_OP_SENDMSG, fd, msg, 1, 0);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_RECVMSG` (5.3): recvmsg(2).
    ///
    /// Memory: The msghdr and everything it points to must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_recvmsg(&mut self, fd: RawFd, msg: *mut libc::msghdr, flags: i32) -> &mut Sqe {
        rw!(self, IORING_OP_RECVMSG, fd, msg, 1, 0);
        self.0.op_flags = flags as u32;
        self
    }

    /// `IORING_OP_SHUTDOWN` (5.11): shutdown(2) with `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    #[inline]
    pub fn prep_shutdown(&mut self, fd: RawFd, how: i32) -> &mut Sqe {
        rw!(self, IORING_OP_SHUTDOWN, fd, 0, how as u32, 0);
        self
    }

    /// `IORING_OP_SPLICE` (5.7): splice(2); an offset of [`CURRENT_POSITION`] means "none"
    /// (use and advance the file position).
    #[inline]
    pub fn prep_splice(
        &mut self,
        fd_in: RawFd,
        off_in: u64,
        fd_out: RawFd,
        off_out: u64,
        len: u32,
        flags: u32,
    ) -> &mut Sqe {
        rw!(self, IORING_OP_SPLICE, fd_out, off_in, len, off_out);
        self.0.splice_fd_in = fd_in;
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_TEE` (5.8): tee(2).
    #[inline]
    pub fn prep_tee(&mut self, fd_in: RawFd, fd_out: RawFd, len: u32, flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_TEE, fd_out, 0, len, 0);
        self.0.splice_fd_in = fd_in;
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_POLL_ADD` (5.1): one-shot poll(2) of `events`; the result is the revents.
    #[inline]
    pub fn prep_poll_add(&mut self, fd: RawFd, events: u32) -> &mut Sqe {
        rw!(self, IORING_OP_POLL_ADD, fd, 0, 0, 0);
        self.0.op_flags = events;
        self
    }

    /// `IORING_OP_POLL_REMOVE` (5.1): removes the poll whose `user_data` is `target`.
    #[inline]
    pub fn prep_poll_remove(&mut self, target: u64) -> &mut Sqe {
        rw!(self, IORING_OP_POLL_REMOVE, -1, target, 0, 0);
        self
    }

    /// `IORING_OP_TIMEOUT` (5.4): completes with `-ETIME` after `ts`, or with 0 once `count`
    /// other completions arrived. `flags` are `IORING_TIMEOUT_*`.
    ///
    /// Memory: `ts` must stay valid until the completion is reaped.
    #[inline]
    pub fn prep_timeout(&mut self, ts: *const KernelTimespec, count: u32, flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_TIMEOUT, -1, ts, 1, count as u64);
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_TIMEOUT_REMOVE` (5.5): cancels the timeout whose `user_data` is `target`.
    #[inline]
    pub fn prep_timeout_remove(&mut self, target: u64, flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_TIMEOUT_REMOVE, -1, target, 0, 0);
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_LINK_TIMEOUT` (5.5): placed right after an entry flagged `IOSQE_IO_LINK`,
    /// cancels that entry if it has not completed within `ts` (it then fails with `ECANCELED`).
    ///
    /// Memory: `ts` must stay valid until the entry has been submitted (the kernel copies it then).
    #[inline]
    pub fn prep_link_timeout(&mut self, ts: *const KernelTimespec, flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_LINK_TIMEOUT, -1, ts, 1, 0);
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_ASYNC_CANCEL` (5.5): cancels the request whose `user_data` is `target`.
    /// `flags` are `IORING_ASYNC_CANCEL_*` (5.19 for ALL/FD/ANY).
    #[inline]
    pub fn prep_cancel(&mut self, target: u64, flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_ASYNC_CANCEL, -1, target, 0, 0);
        self.0.op_flags = flags;
        self
    }

    /// `IORING_OP_ASYNC_CANCEL` by file descriptor (5.19): cancels requests on `fd`
    /// (all of them with `IORING_ASYNC_CANCEL_ALL` in `flags`).
    #[inline]
    pub fn prep_cancel_fd(&mut self, fd: RawFd, flags: u32) -> &mut Sqe {
        rw!(self, IORING_OP_ASYNC_CANCEL, fd, 0, 0, 0);
        self.0.op_flags = flags | IORING_ASYNC_CANCEL_FD;
        self
    }

    /// `IORING_OP_FILES_UPDATE` (5.6): replaces fixed file slots from `offset` with `fds`.
    ///
    /// Memory: `fds` must be valid for `nr` reads until the completion is reaped.
    #[inline]
    pub fn prep_files_update(&mut self, fds: *const RawFd, nr: u32, offset: u32) -> &mut Sqe {
        rw!(self, IORING_OP_FILES_UPDATE, -1, fds, nr, offset as u64);
        self
    }

    /// `IORING_OP_MADVISE` (5.6): madvise(2).
    ///
    /// Memory: Advice that changes memory contents (such as `MADV_DONTNEED`) has the effect it has with
    /// madvise(2); the range must be owned by the caller.
    #[inline]
    pub fn prep_madvise(&mut self, addr: *mut libc::c_void, len: u32, advice: i32) -> &mut Sqe {
        rw!(self, IORING_OP_MADVISE, -1, addr, len, 0);
        self.0.op_flags = advice as u32;
        self
    }
}
