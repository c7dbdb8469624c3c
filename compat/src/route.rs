//! The routes: how each libc call becomes a uring_os call, or why it must go to libc. A route
//! returns `Err(why)` before uring_os has done anything when the ring cannot answer exactly as
//! the syscall would; once it has called uring_os it returns the answer (`Ok`), whatever it is.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fds::{self, Kind};
use crate::signals;
use crate::state::{self, Why};
use crate::sys::{self, syscall};
use crate::user;

/// A route's outcome: uring_os's answer, or why the call goes to libc.
pub(crate) type Routed<T> = Result<io::Result<T>, Why>;

/// The largest iovec count the kernel takes.
const IOV_MAX: c_int = 1024;

fn errno_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

fn is_errno<T>(res: &io::Result<T>, errno: i32) -> bool {
    matches!(res, Err(e) if e.raw_os_error() == Some(errno))
}

/// An fd argument, borrowed for the call; negative fds go to libc (EBADF).
fn fd_arg(fd: c_int) -> Result<BorrowedFd<'static>, Why> {
    if fd < 0 {
        return Err(Why::BadFd);
    }
    // SAFETY: a non-negative fd number, used only for this call; a closed one makes the
    // kernel answer EBADF, as for the syscall.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// A directory fd argument of an `*at` call: `AT_FDCWD` or an fd.
fn dir_arg(fd: c_int) -> Result<BorrowedFd<'static>, Why> {
    if fd == libc::AT_FDCWD {
        Ok(uring_os::CWD)
    } else {
        fd_arg(fd)
    }
}

/// A path argument; see [`user::path`]. Paths through `/proc/thread-self` go to libc.
///
/// # Safety
/// `path` is the caller's pointer, unchanged.
unsafe fn path_arg<'a>(path: *const c_char) -> Result<&'a Path, Why> {
    // SAFETY: the caller's pointer, read only as far as the kernel would.
    let path = unsafe { user::path(path) }.ok_or(Why::Arguments)?;
    if user::names_thread_self(path) {
        return Err(Why::ThreadSelf);
    }
    Ok(path)
}

/// Whether a punted operation may go through the ring (only when asked for explicitly).
fn punted() -> Result<(), Why> {
    if state::punted_selected() {
        Ok(())
    } else {
        Err(Why::Punted)
    }
}

/// A buffer the kernel reads; a null pointer, no length or a length beyond `isize::MAX` goes
/// to libc.
///
/// # Safety
/// `ptr` and `len` are the caller's, unchanged.
unsafe fn buf_arg<'a>(ptr: *const c_void, len: usize) -> Result<&'a [u8], Why> {
    if ptr.is_null() || len == 0 || len > isize::MAX as usize {
        return Err(Why::Arguments);
    }
    // SAFETY: only the kernel touches these bytes; it checks them and answers EFAULT.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast(), len) })
}

/// A buffer the kernel writes; as [`buf_arg`].
///
/// # Safety
/// As [`buf_arg`].
unsafe fn buf_mut_arg<'a>(ptr: *mut c_void, len: usize) -> Result<&'a mut [u8], Why> {
    if ptr.is_null() || len == 0 || len > isize::MAX as usize {
        return Err(Why::Arguments);
    }
    // SAFETY: as in buf_arg.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast(), len) })
}

/// An iovec array the kernel reads (never read by the shim); counts outside 1..=IOV_MAX go to
/// libc.
///
/// # Safety
/// As [`buf_arg`].
unsafe fn iov_arg<'a>(iov: *const libc::iovec, count: c_int) -> Result<&'a [IoSlice<'a>], Why> {
    if iov.is_null() || !(1..=IOV_MAX).contains(&count) {
        return Err(Why::Arguments);
    }
    // SAFETY: IoSlice is ABI-compatible with iovec; only the kernel reads them.
    Ok(unsafe { std::slice::from_raw_parts(iov.cast(), count as usize) })
}

/// An iovec array the kernel reads and whose buffers it writes; as [`iov_arg`].
///
/// # Safety
/// As [`buf_arg`].
unsafe fn iov_mut_arg<'a>(
    iov: *const libc::iovec,
    count: c_int,
) -> Result<&'a mut [IoSliceMut<'a>], Why> {
    if iov.is_null() || !(1..=IOV_MAX).contains(&count) {
        return Err(Why::Arguments);
    }
    // SAFETY: IoSliceMut is ABI-compatible with iovec; only the kernel reads and writes them.
    Ok(unsafe { std::slice::from_raw_parts_mut(iov.cast_mut().cast(), count as usize) })
}

/// The fd of a read or write, checked against what the ring can do exactly: files at an
/// explicit offset, or at their file position when no other thread or process can share it
/// (io_uring updates the position without the kernel's lock); pipes and sockets without
/// timeouts at their position. Devices, special fds and the rest go to libc.
fn transfer_fd(fd: c_int, positioned: bool) -> Result<BorrowedFd<'static>, Why> {
    let info = fds::info(fd).ok_or(Why::BadFd)?;
    match info.kind {
        Kind::File if positioned => {}
        Kind::File if info.private && single_threaded() => {}
        Kind::File => return Err(Why::SharedOffset),
        Kind::Block => {}
        Kind::Pipe | Kind::Socket if positioned => return Err(Why::NotSeekable),
        Kind::Pipe => {}
        Kind::Socket if info.timeout => return Err(Why::SocketTimeout),
        Kind::Socket => {}
        Kind::Device => return Err(Why::Device),
    }
    fd_arg(fd)
}

/// A socket fd for the socket calls; see [`transfer_fd`].
fn socket_fd(fd: c_int) -> Result<(BorrowedFd<'static>, fds::Info), Why> {
    let info = fds::info(fd).ok_or(Why::BadFd)?;
    if info.kind != Kind::Socket {
        return Err(Why::Address);
    }
    if info.timeout {
        return Err(Why::SocketTimeout);
    }
    Ok((fd_arg(fd)?, info))
}

/// Whether the process has one thread (glibc's `__libc_single_threaded`, which turns false at
/// the first `pthread_create` and stays so).
fn single_threaded() -> bool {
    static FLAG: std::sync::atomic::AtomicPtr<u8> =
        std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());
    let mut flag = FLAG.load(std::sync::atomic::Ordering::Relaxed);
    if flag.is_null() {
        // SAFETY: dlsym only reads the name.
        flag =
            unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__libc_single_threaded".as_ptr()) }.cast();
        if flag.is_null() {
            return false;
        }
        FLAG.store(flag, std::sync::atomic::Ordering::Relaxed);
    }
    // SAFETY: glibc's char flag lives as long as the process.
    unsafe { std::ptr::read_volatile(flag) != 0 }
}

/// Resolves `__libc_single_threaded` at load (dlsym is not async-signal-safe).
pub(crate) fn resolve_at_load() {
    let _ = single_threaded();
}

/// Runs a call that may wait, ending it as the syscall would after a signal: uring_os ends a
/// wait with EINTR when some installed handler lacks `SA_RESTART`; if none that ran on this
/// thread did, the syscall would have restarted, and so does this.
fn restartable<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        let before = state::handlers_seen();
        let res = call();
        if is_errno(&res, libc::EINTR) && signals::would_restart(before, false) {
            continue;
        }
        return res;
    }
}

/// A call uring_os has no operation for (recvmsg: its output flags and control data).
pub(crate) fn no_ring_call<T>() -> Routed<T> {
    Err(Why::NoRingCall)
}

// ---- read and write ----

/// read(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn read(fd: c_int, buf: *mut c_void, count: usize) -> Routed<usize> {
    let fd = transfer_fd(fd, false)?;
    // SAFETY: the caller's buffer.
    let buf = unsafe { buf_mut_arg(buf, count) }?;
    Ok(restartable(|| uring_os::read(fd, buf)))
}

/// pread(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn pread(fd: c_int, buf: *mut c_void, count: usize, off: i64) -> Routed<usize> {
    let fd = transfer_fd(fd, true)?;
    // SAFETY: the caller's buffer.
    let buf = unsafe { buf_mut_arg(buf, count) }?;
    // A negative offset becomes one beyond i64::MAX, which uring_os refuses with EINVAL as
    // pread(2) does.
    Ok(restartable(|| uring_os::pread(fd, buf, off as u64)))
}

/// write(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn write(fd: c_int, buf: *const c_void, count: usize) -> Routed<usize> {
    let fd = transfer_fd(fd, false)?;
    // SAFETY: the caller's buffer.
    let buf = unsafe { buf_arg(buf, count) }?;
    Ok(restartable(|| uring_os::write(fd, buf)))
}

/// pwrite(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn pwrite(
    fd: c_int,
    buf: *const c_void,
    count: usize,
    off: i64,
) -> Routed<usize> {
    let fd = transfer_fd(fd, true)?;
    // SAFETY: the caller's buffer.
    let buf = unsafe { buf_arg(buf, count) }?;
    Ok(restartable(|| uring_os::pwrite(fd, buf, off as u64)))
}

/// readv(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn readv(fd: c_int, iov: *const libc::iovec, count: c_int) -> Routed<usize> {
    let fd = transfer_fd(fd, false)?;
    // SAFETY: the caller's iovecs.
    let bufs = unsafe { iov_mut_arg(iov, count) }?;
    Ok(restartable(|| {
        uring_os::with_unread_iovecs(|| uring_os::readv(fd, bufs))
    }))
}

/// writev(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn writev(fd: c_int, iov: *const libc::iovec, count: c_int) -> Routed<usize> {
    let fd = transfer_fd(fd, false)?;
    // SAFETY: the caller's iovecs.
    let bufs = unsafe { iov_arg(iov, count) }?;
    Ok(restartable(|| {
        uring_os::with_unread_iovecs(|| uring_os::writev(fd, bufs))
    }))
}

/// preadv(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn preadv(
    fd: c_int,
    iov: *const libc::iovec,
    count: c_int,
    off: i64,
) -> Routed<usize> {
    let fd = transfer_fd(fd, true)?;
    // SAFETY: the caller's iovecs.
    let bufs = unsafe { iov_mut_arg(iov, count) }?;
    Ok(restartable(|| {
        uring_os::with_unread_iovecs(|| uring_os::preadv(fd, bufs, off as u64))
    }))
}

/// pwritev(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn pwritev(
    fd: c_int,
    iov: *const libc::iovec,
    count: c_int,
    off: i64,
) -> Routed<usize> {
    let fd = transfer_fd(fd, true)?;
    // SAFETY: the caller's iovecs.
    let bufs = unsafe { iov_arg(iov, count) }?;
    Ok(restartable(|| {
        uring_os::with_unread_iovecs(|| uring_os::pwritev(fd, bufs, off as u64))
    }))
}

// ---- open and close ----

/// Whether open(2) reads its mode argument for these flags (glibc's `__OPEN_NEEDS_MODE`).
fn needs_mode(flags: c_int) -> bool {
    flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE
}

/// Whether the kernel always hands such an open to a worker thread.
fn punted_open(flags: c_int) -> bool {
    flags & (libc::O_CREAT | libc::O_TRUNC) != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE
}

/// openat(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn openat(
    dir: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> Routed<c_int> {
    let punted_open = punted_open(flags);
    if punted_open {
        punted()?;
    }
    let dir = dir_arg(dir)?;
    // SAFETY: the caller's path.
    let path = unsafe { path_arg(path) }?;
    let mode = if needs_mode(flags) { mode } else { 0 };
    let blocking = flags & libc::O_NONBLOCK == 0;
    let access = flags & libc::O_ACCMODE;
    let fd = match uring_os::openat(dir, path, flags, mode) {
        Ok(fd) => fd.into_raw_fd(),
        // io_uring opens a FIFO without waiting, where no reader gives ENXIO: open(2) waits.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) && blocking && access == libc::O_WRONLY => {
            return Err(Why::BlockingOpen);
        }
        Err(e) => return Ok(Err(e)),
    };
    // A worker thread opened it with open(2)'s own blocking semantics; an inline open was a
    // non-blocking attempt, which differs from open(2) for FIFOs and some devices.
    if blocking && !punted_open && flags & libc::O_PATH == 0 {
        // SAFETY: stat is plain data; all-zero is valid.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if sys::fstat(fd, &mut st) == 0 {
            match st.st_mode & libc::S_IFMT {
                libc::S_IFIFO if access == libc::O_RDONLY => return Ok(fifo_wait(fd, flags)),
                libc::S_IFCHR if !opens_alike(st.st_rdev) => {
                    sys::close(fd);
                    return Err(Why::BlockingOpen);
                }
                _ => {}
            }
        }
    }
    fds::opened(fd);
    Ok(Ok(fd))
}

/// Whether a character device's open does the same with and without `O_NONBLOCK`: the memory
/// devices (/dev/null, zero, full, random, urandom), /dev/tty, /dev/ptmx and pseudo-terminals.
fn opens_alike(rdev: libc::dev_t) -> bool {
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    major == 1 || (major == 5 && (minor == 0 || minor == 2)) || (136..=143).contains(&major)
}

/// The ring opened a FIFO for reading without waiting for a writer (its inline attempt is
/// non-blocking); open(2) waits. Reopens it through `/proc/self/fd` with the real open, which
/// waits as open(2) would (the first fd counts as a reader meanwhile, as open(2)'s waiting
/// reader does), and puts the result in the first fd's place.
///
/// A FIFO that has seen a writer already (data or a hang-up is pending: a worker thread ran the
/// open with open(2)'s own wait, or a writer came meanwhile) is kept as it is. Between that
/// check and the reopen, a writer that opens and closes again goes unseen, and the reopen
/// waits for the next one.
fn fifo_wait(fd: c_int, flags: c_int) -> io::Result<c_int> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let ready = unsafe { syscall!(libc::SYS_poll, &raw mut pfd, 1, 0) };
    if ready > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP) != 0 {
        fds::opened(fd);
        return Ok(fd);
    }
    let mut path = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0\0";
    let digits = fd.to_string();
    path[14..14 + digits.len()].copy_from_slice(digits.as_bytes());
    let reopen_flags = flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_NOFOLLOW);
    let new = match crate::calls::real_calls::openat() {
        // SAFETY: a valid NUL-terminated path and flags; no mode is read without O_CREAT.
        Some(open) => unsafe { open(libc::AT_FDCWD, path.as_ptr().cast(), reopen_flags, 0) },
        None => -1,
    };
    if new < 0 {
        let errno = sys::errno();
        sys::close(fd);
        return Err(errno_error(errno));
    }
    // SAFETY: both fds are ours; dup3 replaces `fd` atomically.
    let res = unsafe { syscall!(libc::SYS_dup3, new, fd, flags & libc::O_CLOEXEC) };
    sys::close(new);
    if res < 0 {
        sys::close(fd);
        return Err(errno_error(-res as i32));
    }
    fds::opened(fd);
    Ok(fd)
}

/// close(2).
///
/// # Safety
/// The caller gives `fd` up, as to close(2).
pub(crate) unsafe fn close(fd: c_int) -> Routed<()> {
    if fd < 0 {
        return Err(Why::BadFd);
    }
    fds::forget(fd);
    // SAFETY: the caller gives the fd up.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    match uring_os::close(owned) {
        // IORING_OP_CLOSE refuses io_uring fds (the program's own rings); close(2) decides.
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Err(Why::Retry),
        res => Ok(res),
    }
}

// ---- sync, allocate, truncate: punted ----

/// fsync(2) or fdatasync(2).
pub(crate) fn fsync(fd: c_int, data_only: bool) -> Routed<()> {
    let fd = fd_arg(fd)?;
    Ok(restartable(|| {
        if data_only {
            uring_os::fdatasync(fd)
        } else {
            uring_os::fsync(fd)
        }
    }))
}

/// sync_file_range(2).
pub(crate) fn sync_file_range(fd: c_int, off: i64, len: i64, flags: c_uint) -> Routed<()> {
    let fd = fd_arg(fd)?;
    Ok(uring_os::sync_file_range(fd, off as u64, len as u64, flags))
}

/// fallocate(2).
pub(crate) fn fallocate(fd: c_int, mode: c_int, off: i64, len: i64) -> Routed<()> {
    let fd = fd_arg(fd)?;
    Ok(restartable(|| {
        uring_os::fallocate(fd, mode, off as u64, len as u64)
    }))
}

/// ftruncate(2).
pub(crate) fn ftruncate(fd: c_int, len: i64) -> Routed<()> {
    let fd = fd_arg(fd)?;
    Ok(restartable(|| uring_os::ftruncate(fd, len as u64)))
}

// ---- status: punted ----

/// statx(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn statx(
    dir: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    buf: *mut libc::statx,
) -> Routed<()> {
    let dir = dir_arg(dir)?;
    // SAFETY: the caller's path.
    let path = unsafe { path_arg(path) }?;
    Ok(uring_os::statx(dir, path, flags, mask)
        .and_then(|stx| user::write_out(buf, &stx).map_err(errno_error)))
}

/// The flags fstatat(2) takes.
const FSTATAT_FLAGS: c_int =
    libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT | libc::AT_EMPTY_PATH;

/// fstatat(2) (and stat, lstat, fstat) through statx, as the kernel's newfstatat does it:
/// `AT_NO_AUTOMOUNT` always, the basic fields, converted to `struct stat`.
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn fstatat(
    dir: c_int,
    path: *const c_char,
    buf: *mut libc::stat,
    flags: c_int,
) -> Routed<()> {
    if flags & !FSTATAT_FLAGS != 0 {
        return Err(Why::Arguments);
    }
    let dir = dir_arg(dir)?;
    // SAFETY: the caller's path.
    let path = unsafe { path_arg(path) }?;
    let flags = flags | libc::AT_NO_AUTOMOUNT;
    Ok(uring_os::statx(dir, path, flags, libc::STATX_BASIC_STATS)
        .and_then(|stx| user::write_out(buf, &stat_of(&stx)).map_err(errno_error)))
}

/// fstat(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn fstat(fd: c_int, buf: *mut libc::stat) -> Routed<()> {
    if fd < 0 {
        return Err(Why::BadFd);
    }
    // SAFETY: a valid empty path, and the caller's buffer.
    unsafe { fstatat(fd, c"".as_ptr(), buf, libc::AT_EMPTY_PATH) }
}

/// A `struct stat` from statx's fields, as the kernel's cp_new_stat fills it.
fn stat_of(stx: &libc::statx) -> libc::stat {
    // SAFETY: stat is plain data; all-zero is valid (the kernel zeroes the padding too).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_dev = libc::makedev(stx.stx_dev_major, stx.stx_dev_minor);
    st.st_ino = stx.stx_ino;
    st.st_nlink = stx.stx_nlink.into();
    st.st_mode = stx.stx_mode.into();
    st.st_uid = stx.stx_uid;
    st.st_gid = stx.stx_gid;
    st.st_rdev = libc::makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
    st.st_size = stx.stx_size as i64;
    st.st_blksize = stx.stx_blksize.into();
    st.st_blocks = stx.stx_blocks as i64;
    st.st_atime = stx.stx_atime.tv_sec;
    st.st_atime_nsec = stx.stx_atime.tv_nsec.into();
    st.st_mtime = stx.stx_mtime.tv_sec;
    st.st_mtime_nsec = stx.stx_mtime.tv_nsec.into();
    st.st_ctime = stx.stx_ctime.tv_sec;
    st.st_ctime_nsec = stx.stx_ctime.tv_nsec.into();
    st
}

// ---- directory entries: punted ----

/// unlinkat(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn unlinkat(dir: c_int, path: *const c_char, flags: c_int) -> Routed<()> {
    let dir = dir_arg(dir)?;
    // SAFETY: the caller's path.
    let path = unsafe { path_arg(path) }?;
    Ok(uring_os::unlinkat(dir, path, flags))
}

/// renameat2(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn renameat2(
    old_dir: c_int,
    old: *const c_char,
    new_dir: c_int,
    new: *const c_char,
    flags: c_uint,
) -> Routed<()> {
    let (old_dir, new_dir) = (dir_arg(old_dir)?, dir_arg(new_dir)?);
    // SAFETY: the caller's paths.
    let (old, new) = unsafe { (path_arg(old)?, path_arg(new)?) };
    Ok(uring_os::renameat(old_dir, old, new_dir, new, flags))
}

/// mkdirat(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn mkdirat(dir: c_int, path: *const c_char, mode: libc::mode_t) -> Routed<()> {
    let dir = dir_arg(dir)?;
    // SAFETY: the caller's path.
    let path = unsafe { path_arg(path) }?;
    Ok(uring_os::mkdirat(dir, path, mode))
}

/// symlinkat(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn symlinkat(
    target: *const c_char,
    dir: c_int,
    link: *const c_char,
) -> Routed<()> {
    let dir = dir_arg(dir)?;
    // SAFETY: the caller's paths.
    let (target, link) = unsafe { (path_arg(target)?, path_arg(link)?) };
    Ok(uring_os::symlinkat(target, dir, link))
}

/// linkat(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn linkat(
    old_dir: c_int,
    old: *const c_char,
    new_dir: c_int,
    new: *const c_char,
    flags: c_int,
) -> Routed<()> {
    let (old_dir, new_dir) = (dir_arg(old_dir)?, dir_arg(new_dir)?);
    // SAFETY: the caller's paths.
    let (old, new) = unsafe { (path_arg(old)?, path_arg(new)?) };
    Ok(uring_os::linkat(old_dir, old, new_dir, new, flags))
}

// ---- sockets ----

/// An IPv4 or IPv6 address as the kernel reads it from the caller, or `None` for other
/// families and lengths (libc then answers).
fn socket_address(addr: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    if len > size_of::<libc::sockaddr_storage>() || len < size_of::<libc::sa_family_t>() {
        return None;
    }
    let family = user::read_in(addr.cast::<libc::sa_family_t>())?;
    match i32::from(family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            let sin = user::read_in(addr.cast::<libc::sockaddr_in>())?;
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            let sin6 = user::read_in(addr.cast::<libc::sockaddr_in6>())?;
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

/// The bytes the kernel writes for an accepted peer's address (`sockaddr_in` or
/// `sockaddr_in6`, zero-padded), and their length.
fn encode_address(addr: &SocketAddr) -> (libc::sockaddr_storage, usize) {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
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
    (storage, len)
}

/// accept4(2) (accept(2) with no flags).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn accept4(
    fd: c_int,
    addr: *mut libc::sockaddr,
    addr_len: *mut libc::socklen_t,
    flags: c_int,
) -> Routed<c_int> {
    let (sock, info) = socket_fd(fd)?;
    // The kernel reads the length after accepting; a length it would refuse, an address of
    // another family, or a buffer too small for the probes goes to libc before accepting.
    let want = if addr.is_null() {
        None
    } else {
        let len = user::read_in(addr_len).ok_or(Why::Arguments)?;
        if !info.inet || !(8..=i32::MAX as libc::socklen_t).contains(&len) {
            return Err(Why::Address);
        }
        Some(len as usize)
    };
    if signals::interrupting_installed()
        && sys::fd_flags(fd).is_some_and(|f| f & libc::O_NONBLOCK == 0)
    {
        // uring_os retries an interrupted accept as std does; accept(2) fails with EINTR
        // after a handler without SA_RESTART. Waiting for a connection with poll first gives
        // the signal a call that can end as accept(2) would.
        if let Err(e) = wait_readable(sock) {
            return Ok(Err(e));
        }
    }
    let (new, peer) = match uring_os::accept4(sock, flags) {
        Ok(accepted) => accepted,
        Err(e) => return Ok(Err(e)),
    };
    let new = new.into_raw_fd();
    if let Some(len) = want {
        let (storage, actual) = encode_address(&peer);
        let copy = len.min(actual);
        let ok = user::writable_clobbering(addr.cast(), copy)
            && user::writable_clobbering(addr_len.cast(), size_of::<libc::socklen_t>());
        if !ok {
            // As accept(2) does when it cannot write the address: the connection is dropped.
            sys::close(new);
            return Ok(Err(errno_error(libc::EFAULT)));
        }
        // SAFETY: both destinations were just found writable, for these sizes.
        unsafe {
            std::ptr::copy_nonoverlapping((&raw const storage).cast::<u8>(), addr.cast(), copy);
            addr_len.write_unaligned(actual as libc::socklen_t);
        }
    }
    fds::opened(new);
    Ok(Ok(new))
}

/// Waits until `sock` is readable, ending with EINTR as accept(2) would (a handler without
/// `SA_RESTART` ran) and waiting on otherwise.
fn wait_readable(sock: BorrowedFd<'_>) -> io::Result<()> {
    loop {
        let before = state::handlers_seen();
        match uring_os::poll(sock, libc::POLLIN) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                if !signals::would_restart(before, false) {
                    return Err(e);
                }
            }
            // Errors and readiness alike: accept answers.
            _ => return Ok(()),
        }
    }
}

/// connect(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn connect(
    fd: c_int,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> Routed<()> {
    let (sock, _) = socket_fd(fd)?;
    let addr = socket_address(addr, len).ok_or(Why::Address)?;
    let before = state::handlers_seen();
    let res = uring_os::connect(sock, &addr);
    if is_errno(&res, libc::EINTR) && signals::would_restart(before, false) {
        // connect(2) restarted waits for the connection under way; a new ring connect would
        // answer EALREADY instead. The real connect waits.
        return Err(Why::Retry);
    }
    Ok(res)
}

/// send(2) (and sendto(2) without an address).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn send(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
) -> Routed<usize> {
    let (sock, _) = socket_fd(fd)?;
    // SAFETY: the caller's buffer.
    let buf = unsafe { buf_arg(buf, len) }?;
    Ok(restartable(|| uring_os::send(sock, buf, flags)))
}

/// recv(2) (and recvfrom(2) without an address).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> Routed<usize> {
    let (sock, _) = socket_fd(fd)?;
    // SAFETY: the caller's buffer.
    let buf = unsafe { buf_mut_arg(buf, len) }?;
    Ok(restartable(|| uring_os::recv(sock, buf, flags)))
}

/// sendto(2): without an address it is send(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    addr: *const libc::sockaddr,
) -> Routed<usize> {
    if !addr.is_null() {
        return Err(Why::NoRingCall);
    }
    // SAFETY: the caller's arguments.
    unsafe { send(fd, buf, len, flags) }
}

/// recvfrom(2): without an address it is recv(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    addr: *mut libc::sockaddr,
) -> Routed<usize> {
    if !addr.is_null() {
        return Err(Why::NoRingCall);
    }
    // SAFETY: the caller's arguments.
    unsafe { recv(fd, buf, len, flags) }
}

/// sendmsg(2): one buffer, no address and no control data is send(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> Routed<usize> {
    let msg = user::read_in(msg).ok_or(Why::Arguments)?;
    if !msg.msg_name.is_null() || msg.msg_controllen != 0 || msg.msg_iovlen != 1 {
        return Err(Why::NoRingCall);
    }
    let iov = user::read_in(msg.msg_iov.cast_const()).ok_or(Why::Arguments)?;
    // SAFETY: the caller's buffer, as sendmsg(2) would send it.
    unsafe { send(fd, iov.iov_base, iov.iov_len, flags) }
}

/// shutdown(2).
pub(crate) fn shutdown(fd: c_int, how: c_int) -> Routed<()> {
    let (sock, _) = socket_fd(fd)?;
    let how = match how {
        libc::SHUT_RD => Shutdown::Read,
        libc::SHUT_WR => Shutdown::Write,
        libc::SHUT_RDWR => Shutdown::Both,
        _ => return Err(Why::Arguments),
    };
    Ok(uring_os::shutdown(sock, how))
}

// ---- splice, poll ----

/// An offset argument of splice(2): `None` for a null pointer (the file position); libc
/// answers for unreadable or negative offsets.
fn offset_arg(off: *mut i64) -> Result<Option<u64>, Why> {
    if off.is_null() {
        return Ok(None);
    }
    let value = user::read_in(off.cast_const()).ok_or(Why::Arguments)?;
    u64::try_from(value).map(Some).map_err(|_| Why::Arguments)
}

/// splice(2).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn splice(
    fd_in: c_int,
    off_in: *mut i64,
    fd_out: c_int,
    off_out: *mut i64,
    len: usize,
    flags: c_uint,
) -> Routed<usize> {
    let (fd_in_b, fd_out_b) = (fd_arg(fd_in)?, fd_arg(fd_out)?);
    let (start_in, start_out) = (offset_arg(off_in)?, offset_arg(off_out)?);
    let res = uring_os::splice(fd_in_b, start_in, fd_out_b, start_out, len, flags);
    let Ok(moved) = res else {
        return Ok(res);
    };
    // splice(2) writes the advanced offsets back.
    for (ptr, start) in [(off_in, start_in), (off_out, start_out)] {
        if let Some(start) = start
            && user::write_out(ptr, &((start + moved as u64) as i64)).is_err()
        {
            return Ok(Err(errno_error(libc::EFAULT)));
        }
    }
    Ok(Ok(moved))
}

/// poll(2) of one fd with a time limit other than zero, through the ring (a linked timeout
/// for a limit). Returns the number of ready fds (0 or 1).
///
/// # Safety
/// The caller's arguments, unchanged.
pub(crate) unsafe fn poll(
    fds: *mut libc::pollfd,
    nfds: libc::nfds_t,
    timeout: c_int,
) -> Routed<c_int> {
    if nfds != 1 || timeout == 0 {
        return Err(Why::NoRingCall);
    }
    let pfd = user::read_in(fds.cast_const()).ok_or(Why::Arguments)?;
    let fd = fd_arg(pfd.fd)?;
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    // poll(2) reports errors and hang-ups whatever was asked; io_uring adds POLLRDHUP too.
    let wanted = pfd.events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
    let revents = loop {
        let before = state::handlers_seen();
        let res = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break 0;
                }
                uring_os::with_timeout(left, || uring_os::poll(fd, pfd.events))
            }
            None => uring_os::poll(fd, pfd.events),
        };
        match res {
            Ok(revents) if revents & wanted != 0 => break revents & wanted,
            Ok(_) => {}
            Err(e) => match e.raw_os_error() {
                Some(libc::ETIMEDOUT) => break 0,
                // poll(2) restarts (with the time left) only when no handler ran.
                Some(libc::EINTR) if signals::would_restart(before, true) => {}
                _ => return Ok(Err(e)),
            },
        }
    };
    let out = libc::pollfd { revents, ..pfd };
    if user::write_out(fds, &out).is_err() {
        return Ok(Err(errno_error(libc::EFAULT)));
    }
    Ok(Ok(c_int::from(revents != 0)))
}
