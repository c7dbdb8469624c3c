//! Layer 6: the calls table — the blocking calls, and the batch methods generated from the
//! same declarations.
//!
//! Each line of the `calls!` invocation below declares one call: its name, its arguments (by
//! kind: `Fd` is `impl AsFd`, `Path` is `impl AsRef<Path>`, `Buf`/`BufMut` are byte slices,
//! ...), its output, and the operation of `op/list.rs` it runs. From it come the blocking function
//! at the crate root and the method of the same name on [`Batch`].

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use crate::batch::{Batch, BatchBuf, BatchData, BatchFd, BatchOwnedFd, Handle, Uses};
use crate::config::Status;
use crate::driver::thread_backend;
use crate::op::{self, Accept, CPath, Op, RawBuf, RawData, RawSockAddr, Sleep};
use crate::ring::CURRENT_POSITION;
use crate::single::run;
use crate::sys::*;

/// `AT_FDCWD`: the directory argument of the `*at` calls that means "the current directory".
// SAFETY: AT_FDCWD is a value the kernel accepts wherever a directory fd is taken, and it is
// never closed.
pub const CWD: BorrowedFd<'static> = unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) };

/// The Rust type an argument kind takes, in a blocking call or a batch method.
macro_rules! arg_type {
    (call Fd) => { impl AsFd };
    (call Dir) => { impl AsFd };
    (call AnyFd) => { impl AsFd };
    (call Path) => { impl AsRef<Path> };
    (call Buf) => { &[u8] };
    (call BufMut) => { &mut [u8] };
    (call IoVec) => { &[IoSlice<'_>] };
    (call IoVecMut) => { &mut [IoSliceMut<'_>] };
    (call Addr) => { &SocketAddr };
    (call Offset) => { Option<u64> };
    (call Off) => { u64 };
    (call $t:tt) => { $t };
    // Borrowed for the scope (or kept by it), so the fd stays open (and its number ours)
    // while the kernel may still look it up; the main fd may also be a scope-born one.
    ($s:lifetime Fd) => { impl BatchFd<$s> };
    ($s:lifetime Dir) => { impl AsFd + $s };
    ($s:lifetime AnyFd) => { impl AsFd + $s };
    ($s:lifetime OwnedFd) => { impl BatchOwnedFd<$s> };
    ($s:lifetime Path) => { impl AsRef<Path> };
    ($s:lifetime Buf) => { impl BatchData<$s> };
    ($s:lifetime BufMut) => { impl BatchBuf<$s> };
    ($s:lifetime IoVec) => { &$s [IoSlice<$s>] };
    ($s:lifetime IoVecMut) => { &$s mut [IoSliceMut<$s>] };
    ($s:lifetime Addr) => { &SocketAddr };
    ($s:lifetime Offset) => { Option<u64> };
    ($s:lifetime Off) => { u64 };
    ($s:lifetime $t:tt) => { $t };
}

/// Converts an argument to what the operation holds (`?` on a bad path).
macro_rules! arg_value {
    (call Fd, $a:ident) => {
        $a.as_fd().as_raw_fd()
    };
    (call Dir, $a:ident) => {
        $a.as_fd().as_raw_fd()
    };
    (call AnyFd, $a:ident) => {
        $a.as_fd().as_raw_fd()
    };
    (($s:ident, $u:ident) Fd, $a:ident) => {
        $u.fd($a.into_fd_arg($s))
    };
    (($s:ident, $u:ident) Dir, $a:ident) => {{
        let fd = $a.as_fd().as_raw_fd();
        $s.keep($a);
        fd
    }};
    (($s:ident, $u:ident) AnyFd, $a:ident) => {{
        let fd = $a.as_fd().as_raw_fd();
        $s.keep($a);
        fd
    }};
    (($s:ident, $u:ident) OwnedFd, $a:ident) => {
        $u.closes($a.into_owned_arg())
    };
    (($s:ident, $u:ident) Buf, $a:ident) => {
        $u.data($a.into_write_arg())
    };
    (($s:ident, $u:ident) BufMut, $a:ident) => {
        $u.buf($a.into_read_arg())
    };
    (call Path, $a:ident) => {
        CPath::new($a.as_ref())?
    };
    (($s:ident, $u:ident) Path, $a:ident) => {
        CPath::heap($a.as_ref())?
    };
    ($mode:tt Addr, $a:ident) => {
        RawSockAddr::new($a)
    };
    (call Buf, $a:ident) => {
        RawData::from($a)
    };
    (call BufMut, $a:ident) => {
        RawBuf::from($a)
    };
    (call OwnedFd, $a:ident) => {
        $a.into_raw_fd()
    };
    // A file offset as pread(2) takes it: an off_t, so beyond i64::MAX is EINVAL (and
    // u64::MAX never reaches the kernel, where it would mean "the file position").
    ($mode:tt Off, $a:ident) => {
        if $a > i64::MAX as u64 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        } else {
            $a
        }
    };
    ($mode:tt $t:tt, $a:ident) => {
        $a
    };
}

macro_rules! calls {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident : $kind:tt),*) -> $out:ty = $op:ident $body:tt;
    )*) => {
        $(
            $(#[$doc])*
            #[inline]
            pub fn $name($($arg: arg_type!(call $kind)),*) -> io::Result<$out> {
                $(let $arg = arg_value!(call $kind, $arg);)*
                let op = op::$op $body;
                run(op)
            }
        )*

        impl<'scope, 'env> Batch<'scope, 'env> {
            $(
                #[doc = concat!("Queues [`", stringify!($name), "`](crate::", stringify!($name),
                    "()) in the batch; [`Handle::wait`] gives its result.")]
                #[allow(clippy::redundant_closure_call)] // the closure scopes `?` for conversions
                #[allow(unused_mut, reason = "only calls with an fd or a buffer fill `uses`")]
                pub fn $name(&'scope self, $($arg: arg_type!('scope $kind)),*) -> Handle<'scope, $out> {
                    let mut uses = Uses::default();
                    let op = (|| -> io::Result<_> {
                        $(let $arg = arg_value!((self, uses) $kind, $arg);)*
                        Ok(op::$op $body)
                    })();
                    self.push_using(op, uses)
                }
            )*
        }

        /// Every call of the public contract with the opcode it submits.
        pub(crate) const CALLS: &[(&str, u8)] = &[$((stringify!($name), <op::$op as Op>::OPCODE)),*];
    };
}

calls! {
    /// `read(2)`: reads up to `buf.len()` bytes at the file position and advances it.
    ///
    /// `IORING_OP_READ` (5.6; a direct syscall before). Same result and errno as read(2),
    /// including `EAGAIN` on an empty `O_NONBLOCK` pipe or socket. A signal during the wait
    /// cancels the read and gives `Interrupted` unless data already arrived.
    fn read(fd: Fd, buf: BufMut) -> usize = Read { fd, buf, offset: CURRENT_POSITION };

    /// `pread(2)`: reads up to `buf.len()` bytes at `offset`, leaving the file position alone.
    ///
    /// `IORING_OP_READ` (5.6; a direct syscall before). On a pipe or socket it fails with
    /// `ESPIPE` as pread(2) does (io_uring itself would ignore the offset): each fd number
    /// is checked once per thread with lseek(2) and remembered while it stays seekable.
    fn pread(fd: Fd, buf: BufMut, offset: Off) -> usize = Read { fd, buf, offset };

    /// `write(2)`: writes up to `buf.len()` bytes at the file position (at the end for
    /// `O_APPEND`) and advances it.
    ///
    /// `IORING_OP_WRITE` (5.6; a direct syscall before).
    fn write(fd: Fd, buf: Buf) -> usize = Write { fd, buf, offset: CURRENT_POSITION };

    /// `pwrite(2)`: writes up to `buf.len()` bytes at `offset`, leaving the file position
    /// alone. On an `O_APPEND` fd it appends, as pwrite(2) does on Linux.
    ///
    /// `IORING_OP_WRITE` (5.6; a direct syscall before). `ESPIPE` on a pipe or socket, as
    /// for [`pread`].
    fn pwrite(fd: Fd, buf: Buf, offset: Off) -> usize = Write { fd, buf, offset };

    /// `readv(2)`: reads into several buffers in turn at the file position.
    ///
    /// `IORING_OP_READV` (5.1).
    fn readv(fd: Fd, bufs: IoVecMut) -> usize = ReadVectored { fd, bufs, offset: CURRENT_POSITION };

    /// `writev(2)`: writes several buffers in turn at the file position.
    ///
    /// `IORING_OP_WRITEV` (5.1).
    fn writev(fd: Fd, bufs: IoVec) -> usize = WriteVectored { fd, bufs, offset: CURRENT_POSITION };

    /// `preadv(2)`: reads into several buffers at `offset`.
    ///
    /// `IORING_OP_READV` (5.1). `ESPIPE` on a pipe or socket, as for [`pread`].
    fn preadv(fd: Fd, bufs: IoVecMut, offset: Off) -> usize = ReadVectored { fd, bufs, offset };

    /// `pwritev(2)`: writes several buffers at `offset`.
    ///
    /// `IORING_OP_WRITEV` (5.1). `ESPIPE` on a pipe or socket, as for [`pread`].
    fn pwritev(fd: Fd, bufs: IoVec, offset: Off) -> usize = WriteVectored { fd, bufs, offset };

    /// `open(2)`: opens `path` relative to the current directory. `flags` and `mode` pass
    /// through unchanged: add `O_CLOEXEC` yourself, as std does for you.
    ///
    /// `IORING_OP_OPENAT` (5.6; a direct syscall before). Retried on `EINTR`, as std.
    fn open(path: Path, flags: i32, mode: u32) -> OwnedFd =
        OpenAt { dir: libc::AT_FDCWD, path, flags, mode, fixed: None };

    /// `openat(2)`: opens `path` relative to `dir` ([`CWD`] for the current directory).
    ///
    /// `IORING_OP_OPENAT` (5.6; a direct syscall before). Retried on `EINTR`, as std.
    fn openat(dir: Dir, path: Path, flags: i32, mode: u32) -> OwnedFd =
        OpenAt { dir, path, flags, mode, fixed: None };

    /// `close(2)`: closes the fd. The fd is gone afterwards even on error, as with close(2).
    ///
    /// `IORING_OP_CLOSE` (5.6; a direct syscall before).
    fn close(fd: OwnedFd) -> () = Close { fd, fixed: None };

    /// `fsync(2)`: flushes the file's data and metadata to its device.
    ///
    /// `IORING_OP_FSYNC` (5.1). Retried on `EINTR`, as std's `File::sync_all`.
    fn fsync(fd: Fd) -> () = Fsync { fd, flags: 0 };

    /// `fdatasync(2)`: flushes the file's data (and the metadata needed to read it).
    ///
    /// `IORING_OP_FSYNC` with `IORING_FSYNC_DATASYNC` (5.1). Retried on `EINTR`.
    fn fdatasync(fd: Fd) -> () = Fsync { fd, flags: IORING_FSYNC_DATASYNC };

    /// `sync_file_range(2)`: starts or waits for writeback of a byte range.
    ///
    /// `IORING_OP_SYNC_FILE_RANGE` (5.2). A `len` beyond `u32::MAX` runs as the direct
    /// syscall (the entry's length field is 32 bits).
    fn sync_file_range(fd: Fd, offset: u64, len: u64, flags: u32) -> () =
        SyncFileRange { fd, offset, len, flags };

    /// `fallocate(2)`: allocates (or with `mode` flags punches, zeroes, collapses) a range.
    ///
    /// `IORING_OP_FALLOCATE` (5.6; a direct syscall before).
    fn fallocate(fd: Fd, mode: i32, offset: u64, len: u64) -> () =
        Fallocate { fd, mode, offset, len };

    /// `posix_fadvise(2)`: declares an access pattern (`libc::POSIX_FADV_*`).
    ///
    /// `IORING_OP_FADVISE` (5.6; a direct syscall before). A `len` beyond `u32::MAX` runs as
    /// the direct syscall. Errors come back as `io::Error`, not as a returned number.
    fn fadvise(fd: Fd, offset: u64, len: u64, advice: i32) -> () =
        Fadvise { fd, offset, len, advice };

    /// `ftruncate(2)`: sets the file's length.
    ///
    /// `IORING_OP_FTRUNCATE` (6.9; a direct syscall before). Retried on `EINTR`, as std.
    fn ftruncate(fd: Fd, len: u64) -> () = Ftruncate { fd, len };

    /// `statx(2)`: file status of `path` relative to `dir` (`AT_EMPTY_PATH` with an empty
    /// path for `dir` itself). `mask` is `libc::STATX_*`.
    ///
    /// `IORING_OP_STATX` (5.6; a direct syscall before). The kernel always hands it to a
    /// worker thread, so a single call is slower than the syscall; batch them.
    fn statx(dir: Dir, path: Path, flags: i32, mask: u32) -> libc::statx =
        Statx { dir, path, flags, mask, buf: std::mem::MaybeUninit::uninit() };

    /// `mkdirat(2)`: creates directory `path` relative to `dir`.
    ///
    /// `IORING_OP_MKDIRAT` (5.15; a direct syscall before).
    fn mkdirat(dir: Dir, path: Path, mode: u32) -> () = MkdirAt { dir, path, mode };

    /// `unlinkat(2)`: removes `path` relative to `dir` (a directory with `AT_REMOVEDIR`).
    ///
    /// `IORING_OP_UNLINKAT` (5.11; a direct syscall before).
    fn unlinkat(dir: Dir, path: Path, flags: i32) -> () = UnlinkAt { dir, path, flags };

    /// `renameat2(2)`: renames `old` (relative to `old_dir`) to `new` (relative to
    /// `new_dir`); `flags` are `RENAME_NOREPLACE`, `RENAME_EXCHANGE`, ... or 0.
    ///
    /// `IORING_OP_RENAMEAT` (5.11; a direct syscall before).
    fn renameat(old_dir: Dir, old: Path, new_dir: Dir, new: Path, flags: u32) -> () =
        RenameAt { old_dir, old, new_dir, new, flags };

    /// `symlinkat(2)`: creates a symlink at `link` (relative to `dir`) pointing to `target`.
    ///
    /// `IORING_OP_SYMLINKAT` (5.15; a direct syscall before).
    fn symlinkat(target: Path, dir: Dir, link: Path) -> () = SymlinkAt { target, dir, link };

    /// `linkat(2)`: creates a hard link `new` to `old`; `flags` may be `AT_SYMLINK_FOLLOW`.
    ///
    /// `IORING_OP_LINKAT` (5.15; a direct syscall before).
    fn linkat(old_dir: Dir, old: Path, new_dir: Dir, new: Path, flags: i32) -> () =
        LinkAt { old_dir, old, new_dir, new, flags };

    /// `socket(2)`: a new socket. `ty` may carry `SOCK_NONBLOCK | SOCK_CLOEXEC`.
    ///
    /// `IORING_OP_SOCKET` (5.19; a direct syscall before).
    fn socket(domain: i32, ty: i32, protocol: i32) -> OwnedFd = Socket { domain, ty, protocol, fixed: None };

    /// `bind(2)`: binds the socket to an IP address.
    ///
    /// `IORING_OP_BIND` (6.11; a direct syscall before).
    fn bind(fd: Fd, addr: Addr) -> () = Bind { fd, addr };

    /// `listen(2)`: marks the socket as accepting connections.
    ///
    /// `IORING_OP_LISTEN` (6.11; a direct syscall before).
    fn listen(fd: Fd, backlog: i32) -> () = Listen { fd, backlog };

    /// `accept(2)`: waits for a connection and returns its socket and the peer's address
    /// (`0.0.0.0:0` for a peer that has no IP address, such as a unix socket's). The new fd
    /// has no `O_CLOEXEC` unless you use [`accept4`].
    ///
    /// `IORING_OP_ACCEPT` (5.5). Retried on `EINTR`, as std.
    fn accept(fd: Fd) -> (OwnedFd, SocketAddr) = Accept { ..Accept::new(fd, 0) };

    /// `accept4(2)`: [`accept`] with `SOCK_NONBLOCK` / `SOCK_CLOEXEC` flags.
    ///
    /// `IORING_OP_ACCEPT` (5.5). Retried on `EINTR`, as std.
    fn accept4(fd: Fd, flags: i32) -> (OwnedFd, SocketAddr) = Accept { ..Accept::new(fd, flags) };

    /// `connect(2)`: connects the socket to an IP address.
    ///
    /// `IORING_OP_CONNECT` (5.5). On a non-blocking socket, `EINPROGRESS` as connect(2).
    fn connect(fd: Fd, addr: Addr) -> () = Connect { fd, addr };

    /// `send(2)`: sends bytes on a connected socket; `flags` are `libc::MSG_*`.
    ///
    /// `IORING_OP_SEND` (5.6; a direct syscall before).
    fn send(fd: Fd, buf: Buf, flags: i32) -> usize = Send { fd, buf, flags };

    /// `recv(2)`: receives bytes from a connected socket; `flags` are `libc::MSG_*`.
    ///
    /// `IORING_OP_RECV` (5.6; a direct syscall before).
    fn recv(fd: Fd, buf: BufMut, flags: i32) -> usize = Recv { fd, buf, flags };

    /// `shutdown(2)`: shuts down reading, writing or both.
    ///
    /// `IORING_OP_SHUTDOWN` (5.11; a direct syscall before).
    fn shutdown(fd: Fd, how: Shutdown) -> () = Shutdown { fd, how: op::shutdown_how(how) };

    /// `splice(2)`: moves up to `len` bytes between an fd and a pipe; a `None` offset uses
    /// the file position.
    ///
    /// `IORING_OP_SPLICE` (5.7; a direct syscall before).
    fn splice(fd_in: AnyFd, off_in: Offset, fd_out: AnyFd, off_out: Offset, len: usize, flags: u32) -> usize =
        Splice { fd_in, off_in, fd_out, off_out, len, flags };

    /// `poll(2)` of one fd without a time limit: returns the `revents` (`libc::POLL*`).
    /// Combine with [`with_timeout`](crate::with_timeout) for a limit.
    ///
    /// `IORING_OP_POLL_ADD` (5.1).
    fn poll(fd: Fd, events: i16) -> i16 = Poll { fd, events };

    /// Sleeps for `duration` (`IORING_OP_TIMEOUT`, 5.4; `clock_nanosleep` before). Signals do
    /// not cut it short, as with `std::thread::sleep`.
    fn sleep(duration: Duration) -> () = Sleep { ..Sleep::new(duration) };

    /// Does nothing through the ring (`IORING_OP_NOP`, 5.1): the cost floor of a call.
    fn nop() -> () = Nop {};
}

/// Which path this thread's calls take and why, which contract calls this kernel cannot run
/// through the ring, and the kernel's last opcode. Creates this thread's ring if it has none.
pub fn status() -> Status {
    let (backend, probe) = thread_backend();
    let syscall_ops = CALLS
        .iter()
        .filter(|(_, opcode)| !probe.as_ref().is_some_and(|p| p.is_supported(*opcode)))
        .map(|(name, _)| *name)
        .collect();
    Status {
        backend,
        syscall_ops,
        last_op: probe.map(|p| p.last_op()),
    }
}
