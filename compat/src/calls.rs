//! The interposed calls, one line each: the group `URING_OS_PRELOAD_OPS` selects it by, the
//! C signature, and its route (`route.rs`), which maps it onto uring_os's call of the same name.
//! From each line come the exported function, the real libc function it falls back to, and
//! its entry in the table of symbols.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

use libc::{mode_t, off_t, size_t, socklen_t, ssize_t};

use crate::route::{self, Routed};
use crate::state::{self, Entered, Why};
use crate::sys;

/// The groups of calls, as `URING_OS_PRELOAD_OPS` names them, and whether the kernel always
/// hands the group's operation to a worker thread ("punted": not routed unless asked for).
macro_rules! groups {
    ($($name:ident $(($punted:ident))?),* $(,)?) => {
        /// A group of calls selected together.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(non_camel_case_types)] // reason: spelled as URING_OS_PRELOAD_OPS names them
        pub(crate) enum Group { $($name),* }

        /// Every group: its name, and whether it is punted.
        pub(crate) const GROUPS: &[(Group, &str, bool)] =
            &[$((Group::$name, stringify!($name), groups!(@punted $($punted)?))),*];
    };
    (@punted punted) => { true };
    (@punted) => { false };
}

groups! {
    read, write, pread, pwrite, readv, writev, preadv, pwritev, open, close,
    fsync(punted), fdatasync(punted), sync_file_range(punted), fallocate(punted),
    ftruncate(punted), statx(punted), stat(punted), unlink(punted), rename(punted),
    mkdir(punted), symlink(punted), link(punted),
    accept, connect, send, recv, sendmsg, recvmsg, shutdown, splice(punted), poll,
}

impl Group {
    /// The group's bit in the selection mask.
    #[inline]
    pub(crate) const fn bit(self) -> u64 {
        1 << self as u64
    }
}

/// The type of the real function: the same parameters, or the fixed ones and `...`.
macro_rules! real_type {
    ([$($ty:ty),*] [] $ret:ty) => { unsafe extern "C" fn($($ty),*) -> $ret };
    ([$($ty:ty),*] [$($vty:ty),+] $ret:ty) => { unsafe extern "C" fn($($ty),*, ...) -> $ret };
}
pub(crate) use real_type;

/// A C return value for failure (-1, or nothing for a void function).
pub(crate) trait Failure {
    /// The value returned with `errno` set.
    const FAILURE: Self;
}

impl Failure for c_int {
    const FAILURE: c_int = -1;
}

impl Failure for ssize_t {
    const FAILURE: ssize_t = -1;
}

impl Failure for std::ffi::c_long {
    const FAILURE: std::ffi::c_long = -1;
}

impl Failure for () {
    const FAILURE: () = ();
}

/// A route's success as the C function returns it.
pub(crate) trait IntoC<R> {
    /// The C return value.
    fn into_c(self) -> R;
}

impl IntoC<ssize_t> for usize {
    #[inline]
    fn into_c(self) -> ssize_t {
        self as ssize_t
    }
}

impl IntoC<c_int> for () {
    #[inline]
    fn into_c(self) -> c_int {
        0
    }
}

impl IntoC<c_int> for c_int {
    #[inline]
    fn into_c(self) -> c_int {
        self
    }
}

/// What a function libc lacks answers: ENOSYS.
#[cold]
pub(crate) fn missing<R: Failure>() -> R {
    sys::set_errno(libc::ENOSYS);
    R::FAILURE
}

/// Ends a call admitted to uring_os: its answer with `errno` as libc leaves it, or the reason
/// to go to libc after all. A panic (a bug) sends this and every later call to libc.
#[inline]
fn finish<T: IntoC<R>, R: Failure>(
    entered: Entered,
    outcome: std::thread::Result<Routed<T>>,
) -> Result<R, Why> {
    match outcome {
        Ok(Ok(Ok(value))) => {
            sys::set_errno(entered.saved_errno);
            state::count_routed();
            Ok(value.into_c())
        }
        Ok(Ok(Err(e))) => match e.raw_os_error() {
            Some(errno) => {
                sys::set_errno(errno);
                state::count_routed();
                Ok(R::FAILURE)
            }
            None => Err(internal(&e)),
        },
        Ok(Err(why)) => Err(why),
        Err(_) => {
            state::mark(state::Event::Panicked);
            Err(Why::Panicked)
        }
    }
}

#[cold]
fn internal(_: &io::Error) -> Why {
    Why::Internal
}

/// What the shim learns from a call libc made: an fd the process opened itself (its offset is
/// shared with no other process).
#[inline]
fn after_libc<R: Copy + 'static>(group: Group, ret: R) {
    if group == Group::open
        && let Some(&fd) = (&ret as &dyn std::any::Any).downcast_ref::<c_int>()
        && fd >= 0
    {
        crate::fds::opened(fd);
    }
}

macro_rules! interpose {
    ($(
        $group:ident: fn $name:ident($($arg:ident: $ty:ty),* $(; ...$($va:ident: $vty:ty),+)?)
            -> $ret:ty => $route:expr;
    )*) => {
        /// The real libc functions behind the interposed names.
        pub(crate) mod real_calls {
            use super::*;
            $(crate::real::real_fn!(pub(crate) fn $name($name): real_type!([$($ty),*] [$($($vty),+)?] $ret));)*
        }

        $(
            #[doc = concat!("`", stringify!($name), "`: through uring_os when it can answer exactly as libc; else libc's.")]
            ///
            /// # Safety
            /// As the libc function of the same name.
            #[unsafe(no_mangle)]
            #[allow(unused_unsafe)] // reason: some routes are safe functions, most are not
            pub unsafe extern "C" fn $name($($arg: $ty,)* $($($va: $vty),+)?) -> $ret {
                let routed = match state::enter(Group::$group.bit()) {
                    // SAFETY: the route gets the caller's arguments, unchanged.
                    Ok(entered) => finish(entered, catch_unwind(AssertUnwindSafe(|| unsafe { $route }))),
                    Err(why) => Err(why),
                };
                match routed {
                    Ok(ret) => ret,
                    Err(why) => {
                        state::count_libc(why);
                        let ret = match real_calls::$name() {
                            // SAFETY: the caller's arguments, unchanged, to the function it
                            // meant to call.
                            Some(real) => unsafe { real($($arg,)* $($($va),+)?) },
                            None => missing(),
                        };
                        after_libc(Group::$group, ret);
                        ret
                    }
                }
            }
        )*

        /// Resolves every real function of the table.
        pub(crate) const ACCESSORS: &[fn()] = &[$(|| { let _ = real_calls::$name(); }),*];

        /// Every interposed symbol and its group.
        pub(crate) const SYMBOLS: &[(&str, Group)] = &[$((stringify!($name), Group::$group)),*];
    };
}

/// fortify's check: more bytes asked for than the buffer holds makes the real `_chk`
/// function abort, as it must.
fn checked(len: size_t, buflen: size_t) -> Result<(), Why> {
    if len > buflen {
        Err(Why::Arguments)
    } else {
        Ok(())
    }
}

/// The fortified opens take no mode: with O_CREAT the real one aborts, as it must.
fn no_mode(flags: c_int) -> Result<(), Why> {
    if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        Err(Why::Arguments)
    } else {
        Ok(())
    }
}

const CWD: c_int = libc::AT_FDCWD;

interpose! {
    read: fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t => route::read(fd, buf, n);
    read: fn __read_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t) -> ssize_t =>
        checked(n, buflen).and_then(|()| route::read(fd, buf, n));
    pread: fn pread(fd: c_int, buf: *mut c_void, n: size_t, off: off_t) -> ssize_t =>
        route::pread(fd, buf, n, off);
    pread: fn pread64(fd: c_int, buf: *mut c_void, n: size_t, off: off_t) -> ssize_t =>
        route::pread(fd, buf, n, off);
    pread: fn __pread_chk(fd: c_int, buf: *mut c_void, n: size_t, off: off_t, buflen: size_t)
        -> ssize_t => checked(n, buflen).and_then(|()| route::pread(fd, buf, n, off));
    pread: fn __pread64_chk(fd: c_int, buf: *mut c_void, n: size_t, off: off_t, buflen: size_t)
        -> ssize_t => checked(n, buflen).and_then(|()| route::pread(fd, buf, n, off));
    write: fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t =>
        route::write(fd, buf, n);
    pwrite: fn pwrite(fd: c_int, buf: *const c_void, n: size_t, off: off_t) -> ssize_t =>
        route::pwrite(fd, buf, n, off);
    pwrite: fn pwrite64(fd: c_int, buf: *const c_void, n: size_t, off: off_t) -> ssize_t =>
        route::pwrite(fd, buf, n, off);
    readv: fn readv(fd: c_int, iov: *const libc::iovec, count: c_int) -> ssize_t =>
        route::readv(fd, iov, count);
    writev: fn writev(fd: c_int, iov: *const libc::iovec, count: c_int) -> ssize_t =>
        route::writev(fd, iov, count);
    preadv: fn preadv(fd: c_int, iov: *const libc::iovec, count: c_int, off: off_t) -> ssize_t =>
        route::preadv(fd, iov, count, off);
    preadv: fn preadv64(fd: c_int, iov: *const libc::iovec, count: c_int, off: off_t) -> ssize_t =>
        route::preadv(fd, iov, count, off);
    pwritev: fn pwritev(fd: c_int, iov: *const libc::iovec, count: c_int, off: off_t) -> ssize_t =>
        route::pwritev(fd, iov, count, off);
    pwritev: fn pwritev64(fd: c_int, iov: *const libc::iovec, count: c_int, off: off_t) -> ssize_t =>
        route::pwritev(fd, iov, count, off);
    open: fn open(path: *const c_char, flags: c_int; ...mode: c_uint) -> c_int =>
        route::openat(CWD, path, flags, mode);
    open: fn open64(path: *const c_char, flags: c_int; ...mode: c_uint) -> c_int =>
        route::openat(CWD, path, flags, mode);
    open: fn openat(dir: c_int, path: *const c_char, flags: c_int; ...mode: c_uint) -> c_int =>
        route::openat(dir, path, flags, mode);
    open: fn openat64(dir: c_int, path: *const c_char, flags: c_int; ...mode: c_uint) -> c_int =>
        route::openat(dir, path, flags, mode);
    open: fn creat(path: *const c_char, mode: mode_t) -> c_int =>
        route::openat(CWD, path, libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC, mode);
    open: fn creat64(path: *const c_char, mode: mode_t) -> c_int =>
        route::openat(CWD, path, libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC, mode);
    open: fn __open_2(path: *const c_char, flags: c_int) -> c_int =>
        no_mode(flags).and_then(|()| route::openat(CWD, path, flags, 0));
    open: fn __open64_2(path: *const c_char, flags: c_int) -> c_int =>
        no_mode(flags).and_then(|()| route::openat(CWD, path, flags, 0));
    open: fn __openat_2(dir: c_int, path: *const c_char, flags: c_int) -> c_int =>
        no_mode(flags).and_then(|()| route::openat(dir, path, flags, 0));
    open: fn __openat64_2(dir: c_int, path: *const c_char, flags: c_int) -> c_int =>
        no_mode(flags).and_then(|()| route::openat(dir, path, flags, 0));
    close: fn close(fd: c_int) -> c_int => route::close(fd);
    fsync: fn fsync(fd: c_int) -> c_int => route::fsync(fd, false);
    fdatasync: fn fdatasync(fd: c_int) -> c_int => route::fsync(fd, true);
    sync_file_range: fn sync_file_range(fd: c_int, off: off_t, n: off_t, flags: c_uint) -> c_int =>
        route::sync_file_range(fd, off, n, flags);
    fallocate: fn fallocate(fd: c_int, mode: c_int, off: off_t, len: off_t) -> c_int =>
        route::fallocate(fd, mode, off, len);
    fallocate: fn fallocate64(fd: c_int, mode: c_int, off: off_t, len: off_t) -> c_int =>
        route::fallocate(fd, mode, off, len);
    ftruncate: fn ftruncate(fd: c_int, len: off_t) -> c_int => route::ftruncate(fd, len);
    ftruncate: fn ftruncate64(fd: c_int, len: off_t) -> c_int => route::ftruncate(fd, len);
    statx: fn statx(dir: c_int, path: *const c_char, flags: c_int, mask: c_uint,
        buf: *mut libc::statx) -> c_int => route::statx(dir, path, flags, mask, buf);
    stat: fn stat(path: *const c_char, buf: *mut libc::stat) -> c_int =>
        route::fstatat(CWD, path, buf, 0);
    stat: fn stat64(path: *const c_char, buf: *mut libc::stat64) -> c_int =>
        route::fstatat(CWD, path, buf.cast(), 0);
    stat: fn lstat(path: *const c_char, buf: *mut libc::stat) -> c_int =>
        route::fstatat(CWD, path, buf, libc::AT_SYMLINK_NOFOLLOW);
    stat: fn lstat64(path: *const c_char, buf: *mut libc::stat64) -> c_int =>
        route::fstatat(CWD, path, buf.cast(), libc::AT_SYMLINK_NOFOLLOW);
    stat: fn fstat(fd: c_int, buf: *mut libc::stat) -> c_int => route::fstat(fd, buf);
    stat: fn fstat64(fd: c_int, buf: *mut libc::stat64) -> c_int => route::fstat(fd, buf.cast());
    stat: fn fstatat(dir: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int =>
        route::fstatat(dir, path, buf, flags);
    stat: fn fstatat64(dir: c_int, path: *const c_char, buf: *mut libc::stat64, flags: c_int)
        -> c_int => route::fstatat(dir, path, buf.cast(), flags);
    unlink: fn unlink(path: *const c_char) -> c_int => route::unlinkat(CWD, path, 0);
    unlink: fn unlinkat(dir: c_int, path: *const c_char, flags: c_int) -> c_int =>
        route::unlinkat(dir, path, flags);
    unlink: fn rmdir(path: *const c_char) -> c_int => route::unlinkat(CWD, path, libc::AT_REMOVEDIR);
    rename: fn rename(old: *const c_char, new: *const c_char) -> c_int =>
        route::renameat2(CWD, old, CWD, new, 0);
    rename: fn renameat(old_dir: c_int, old: *const c_char, new_dir: c_int, new: *const c_char)
        -> c_int => route::renameat2(old_dir, old, new_dir, new, 0);
    rename: fn renameat2(old_dir: c_int, old: *const c_char, new_dir: c_int, new: *const c_char,
        flags: c_uint) -> c_int => route::renameat2(old_dir, old, new_dir, new, flags);
    mkdir: fn mkdir(path: *const c_char, mode: mode_t) -> c_int => route::mkdirat(CWD, path, mode);
    mkdir: fn mkdirat(dir: c_int, path: *const c_char, mode: mode_t) -> c_int =>
        route::mkdirat(dir, path, mode);
    symlink: fn symlink(target: *const c_char, link: *const c_char) -> c_int =>
        route::symlinkat(target, CWD, link);
    symlink: fn symlinkat(target: *const c_char, dir: c_int, link: *const c_char) -> c_int =>
        route::symlinkat(target, dir, link);
    link: fn link(old: *const c_char, new: *const c_char) -> c_int =>
        route::linkat(CWD, old, CWD, new, 0);
    link: fn linkat(old_dir: c_int, old: *const c_char, new_dir: c_int, new: *const c_char,
        flags: c_int) -> c_int => route::linkat(old_dir, old, new_dir, new, flags);
    accept: fn accept(fd: c_int, addr: *mut libc::sockaddr, len: *mut socklen_t) -> c_int =>
        route::accept4(fd, addr, len, 0);
    accept: fn accept4(fd: c_int, addr: *mut libc::sockaddr, len: *mut socklen_t, flags: c_int)
        -> c_int => route::accept4(fd, addr, len, flags);
    connect: fn connect(fd: c_int, addr: *const libc::sockaddr, len: socklen_t) -> c_int =>
        route::connect(fd, addr, len);
    send: fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t =>
        route::send(fd, buf, n, flags);
    send: fn sendto(fd: c_int, buf: *const c_void, n: size_t, flags: c_int,
        addr: *const libc::sockaddr, len: socklen_t) -> ssize_t =>
        route::sendto(fd, buf, n, flags, addr);
    recv: fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t =>
        route::recv(fd, buf, n, flags);
    recv: fn __recv_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int)
        -> ssize_t => checked(n, buflen).and_then(|()| route::recv(fd, buf, n, flags));
    recv: fn recvfrom(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int,
        addr: *mut libc::sockaddr, len: *mut socklen_t) -> ssize_t =>
        route::recvfrom(fd, buf, n, flags, addr);
    recv: fn __recvfrom_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int,
        addr: *mut libc::sockaddr, len: *mut socklen_t) -> ssize_t =>
        checked(n, buflen).and_then(|()| route::recvfrom(fd, buf, n, flags, addr));
    sendmsg: fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t =>
        route::sendmsg(fd, msg, flags);
    recvmsg: fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t =>
        route::no_ring_call::<usize>();
    shutdown: fn shutdown(fd: c_int, how: c_int) -> c_int => route::shutdown(fd, how);
    splice: fn splice(fd_in: c_int, off_in: *mut i64, fd_out: c_int, off_out: *mut i64,
        n: size_t, flags: c_uint) -> ssize_t => route::splice(fd_in, off_in, fd_out, off_out, n, flags);
    poll: fn poll(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: c_int) -> c_int =>
        route::poll(fds, n, timeout);
    poll: fn __poll_chk(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: c_int, fdslen: size_t)
        -> c_int => checked(n as size_t * size_of::<libc::pollfd>(), fdslen)
            .and_then(|()| route::poll(fds, n, timeout));
}
