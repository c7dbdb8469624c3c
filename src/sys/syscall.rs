//! Layer 0: the one seam to the kernel. Every kernel call the crate makes outside a ring —
//! the direct-syscall fallback, fd checks, the ring's own `io_uring_setup`/`enter`/`register`,
//! `mmap`, signal actions, `getpid` — is made here, as a raw system call.
//!
//! Nothing here calls a libc wrapper by name. An `LD_PRELOAD` shim exports `read`, `openat`,
//! `close`, `fcntl`, ... and routes them through the rings; if the crate's fallback called
//! those names, it would call the shim, which would call the ring it is falling back from.
//! The system call instruction is issued inline (x86_64, aarch64), so no interposer can
//! replace it; other architectures go through `syscall(3)`, which no shim of ours exports.
//!
//! Every function returns what a completion would carry: the result, or `-errno`. That is
//! also the kernel's own convention, so no thread-local `errno` is read or written.
//!
//! The only libc functions named here do not enter the kernel through a name a shim
//! exports: `clock_gettime` (the vDSO), `pthread_atfork` (registration only), and
//! `SIGRTMIN` (a constant of libc's).

#![allow(
    clippy::too_many_arguments,
    reason = "syscalls take up to six arguments"
)]

use std::os::fd::RawFd;

use libc::{c_long, c_void};

/// An error number, as the kernel returns it (positive: `EBADF` is 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The errno of a raw result (`-errno`), or `None` for a success.
    #[inline]
    pub fn of(res: isize) -> Option<Errno> {
        (res < 0).then(|| Errno(-res as i32))
    }

    /// The same as an `io::Error`: `raw_os_error()` and `kind()` as std gives them.
    #[inline]
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.0)
    }
}

impl From<Errno> for std::io::Error {
    #[inline]
    fn from(e: Errno) -> std::io::Error {
        e.into_io()
    }
}

/// A raw result as `Ok(value)` or `Err(errno)`.
#[inline]
pub fn result(res: isize) -> Result<usize, Errno> {
    match Errno::of(res) {
        None => Ok(res as usize),
        Some(e) => Err(e),
    }
}

/// A raw result as an `io::Result`.
#[inline]
pub fn io_result(res: isize) -> std::io::Result<usize> {
    result(res).map_err(Errno::into_io)
}

// ---------------------------------------------------------------------------
// The system call instruction
// ---------------------------------------------------------------------------

/// Issues system call `nr` with six arguments and returns the kernel's answer (`-errno` on
/// failure). Unused arguments are ignored by the kernel.
///
/// # Safety
/// The arguments must be what system call `nr` expects; pointers among them must be valid
/// for what the kernel reads and writes through them during the call.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn raw6(
    nr: c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux syscall convention: number in rax, arguments in rdi, rsi, rdx,
    // r10, r8, r9, result in rax; the instruction clobbers rcx and r11 and restores rflags.
    // The caller vouches for the arguments; memory is not declared untouched, so the compiler
    // assumes the kernel reads and writes what they point to.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            in("r8") e,
            in("r9") f,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack, preserves_flags),
        );
    }
    ret
}

/// See the x86_64 version.
///
/// # Safety
/// As the x86_64 version.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn raw6(
    nr: c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 Linux syscall convention: number in x8, arguments in x0..x5,
    // result in x0. The caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a => ret,
            in("x1") b,
            in("x2") c,
            in("x3") d,
            in("x4") e,
            in("x5") f,
            options(nostack, preserves_flags),
        );
    }
    ret
}

/// See the x86_64 version; elsewhere through `syscall(3)`, which reports in `errno`.
///
/// # Safety
/// As the x86_64 version.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
pub unsafe fn raw6(
    nr: c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    // SAFETY: the caller vouches for the arguments.
    let ret = unsafe { libc::syscall(nr, a, b, c, d, e, f) } as isize;
    if ret == -1 {
        -(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO) as isize)
    } else {
        ret
    }
}

/// A system call with fewer arguments (the rest are zero).
macro_rules! sys {
    ($nr:expr) => { raw6($nr as c_long, 0, 0, 0, 0, 0, 0) };
    ($nr:expr, $a:expr) => { raw6($nr as c_long, $a as usize, 0, 0, 0, 0, 0) };
    ($nr:expr, $a:expr, $b:expr) => { raw6($nr as c_long, $a as usize, $b as usize, 0, 0, 0, 0) };
    ($nr:expr, $a:expr, $b:expr, $c:expr) => {
        raw6($nr as c_long, $a as usize, $b as usize, $c as usize, 0, 0, 0)
    };
    ($nr:expr, $a:expr, $b:expr, $c:expr, $d:expr) => {
        raw6($nr as c_long, $a as usize, $b as usize, $c as usize, $d as usize, 0, 0)
    };
    ($nr:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => {
        raw6($nr as c_long, $a as usize, $b as usize, $c as usize, $d as usize, $e as usize, 0)
    };
    ($nr:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr) => {
        raw6(
            $nr as c_long,
            $a as usize,
            $b as usize,
            $c as usize,
            $d as usize,
            $e as usize,
            $f as usize,
        )
    };
}

/// Declares wrappers: `fn name(args) = SYS_nr(values);`, each an `unsafe fn` returning the
/// raw result. The man page of the syscall is the contract: pointer arguments must be valid
/// for what the kernel reads or writes through them during the call.
macro_rules! syscalls {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident : $ty:ty),*) = $nr:ident($($val:expr),*);
    )*) => {
        $(
            $(#[$doc])*
            ///
            /// # Safety
            /// Pointer arguments must be valid for what the kernel reads or writes through
            /// them during the call, as the man page says; fds passed to calls that consume
            /// them (close) must be owned by the caller.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> isize {
                // SAFETY: the caller's contract, which is the system call's.
                unsafe { sys!(libc::$nr $(, $val)*) }
            }
        )*
    };
}

syscalls! {
    /// read(2).
    fn read(fd: RawFd, buf: *mut u8, len: usize) = SYS_read(fd, buf, len);
    /// write(2).
    fn write(fd: RawFd, buf: *const u8, len: usize) = SYS_write(fd, buf, len);
    /// pread64(2).
    fn pread64(fd: RawFd, buf: *mut u8, len: usize, off: i64) = SYS_pread64(fd, buf, len, off);
    /// pwrite64(2).
    fn pwrite64(fd: RawFd, buf: *const u8, len: usize, off: i64) =
        SYS_pwrite64(fd, buf, len, off);
    /// readv(2).
    fn readv(fd: RawFd, iov: *const libc::iovec, n: i32) = SYS_readv(fd, iov, n);
    /// writev(2).
    fn writev(fd: RawFd, iov: *const libc::iovec, n: i32) = SYS_writev(fd, iov, n);
    /// preadv2(2); `off` -1 means the file position. The offset goes in the low half of the
    /// kernel's (low, high) pair, whose high half a 64-bit kernel ignores.
    fn preadv2(fd: RawFd, iov: *const libc::iovec, n: i32, off: i64, flags: i32) =
        SYS_preadv2(fd, iov, n, off, 0usize, flags);
    /// pwritev2(2); as [`preadv2`].
    fn pwritev2(fd: RawFd, iov: *const libc::iovec, n: i32, off: i64, flags: i32) =
        SYS_pwritev2(fd, iov, n, off, 0usize, flags);
    /// fsync(2).
    fn fsync(fd: RawFd) = SYS_fsync(fd);
    /// fdatasync(2).
    fn fdatasync(fd: RawFd) = SYS_fdatasync(fd);
    /// sync_file_range(2).
    fn sync_file_range(fd: RawFd, off: i64, len: i64, flags: u32) =
        SYS_sync_file_range(fd, off, len, flags);
    /// fallocate(2).
    fn fallocate(fd: RawFd, mode: i32, off: i64, len: i64) = SYS_fallocate(fd, mode, off, len);
    /// posix_fadvise(2) as the kernel has it (`fadvise64`): `-errno` on failure, unlike libc's
    /// wrapper, which returns the error number.
    fn fadvise64(fd: RawFd, off: i64, len: i64, advice: i32) =
        SYS_fadvise64(fd, off, len, advice);
    /// ftruncate(2).
    fn ftruncate(fd: RawFd, len: i64) = SYS_ftruncate(fd, len);
    /// truncate(2).
    fn truncate(path: *const libc::c_char, len: i64) = SYS_truncate(path, len);
    /// openat(2).
    fn openat(dir: RawFd, path: *const libc::c_char, flags: i32, mode: u32) =
        SYS_openat(dir, path, flags, mode);
    /// openat2(2).
    fn openat2(dir: RawFd, path: *const libc::c_char, how: *const c_void, size: usize) =
        SYS_openat2(dir, path, how, size);
    /// close(2).
    fn close(fd: RawFd) = SYS_close(fd);
    /// statx(2).
    fn statx(dir: RawFd, path: *const libc::c_char, flags: i32, mask: u32, buf: *mut libc::statx) =
        SYS_statx(dir, path, flags, mask, buf);
    /// fstat(2).
    fn fstat(fd: RawFd, buf: *mut libc::stat) = SYS_fstat(fd, buf);
    /// mkdirat(2).
    fn mkdirat(dir: RawFd, path: *const libc::c_char, mode: u32) = SYS_mkdirat(dir, path, mode);
    /// unlinkat(2).
    fn unlinkat(dir: RawFd, path: *const libc::c_char, flags: i32) =
        SYS_unlinkat(dir, path, flags);
    /// renameat2(2).
    fn renameat2(
        old_dir: RawFd,
        old: *const libc::c_char,
        new_dir: RawFd,
        new: *const libc::c_char,
        flags: u32
    ) = SYS_renameat2(old_dir, old, new_dir, new, flags);
    /// symlinkat(2).
    fn symlinkat(target: *const libc::c_char, dir: RawFd, link: *const libc::c_char) =
        SYS_symlinkat(target, dir, link);
    /// linkat(2).
    fn linkat(
        old_dir: RawFd,
        old: *const libc::c_char,
        new_dir: RawFd,
        new: *const libc::c_char,
        flags: i32
    ) = SYS_linkat(old_dir, old, new_dir, new, flags);
    /// readlinkat(2).
    fn readlinkat(dir: RawFd, path: *const libc::c_char, buf: *mut u8, len: usize) =
        SYS_readlinkat(dir, path, buf, len);
    /// getdents64(2).
    fn getdents64(fd: RawFd, buf: *mut u8, len: usize) = SYS_getdents64(fd, buf, len);
    /// fchmod(2).
    fn fchmod(fd: RawFd, mode: u32) = SYS_fchmod(fd, mode);
    /// fchmodat(2) (no flags: the kernel's call has none).
    fn fchmodat(dir: RawFd, path: *const libc::c_char, mode: u32) =
        SYS_fchmodat(dir, path, mode);
    /// fchownat(2).
    fn fchownat(dir: RawFd, path: *const libc::c_char, uid: u32, gid: u32, flags: i32) =
        SYS_fchownat(dir, path, uid, gid, flags);
    /// utimensat(2).
    fn utimensat(dir: RawFd, path: *const libc::c_char, times: *const libc::timespec, flags: i32) =
        SYS_utimensat(dir, path, times, flags);
    /// copy_file_range(2).
    fn copy_file_range(
        fd_in: RawFd,
        off_in: *mut i64,
        fd_out: RawFd,
        off_out: *mut i64,
        len: usize,
        flags: u32
    ) = SYS_copy_file_range(fd_in, off_in, fd_out, off_out, len, flags);
    /// socket(2).
    fn socket(domain: i32, ty: i32, protocol: i32) = SYS_socket(domain, ty, protocol);
    /// socketpair(2).
    fn socketpair(domain: i32, ty: i32, protocol: i32, fds: *mut [RawFd; 2]) =
        SYS_socketpair(domain, ty, protocol, fds);
    /// bind(2).
    fn bind(fd: RawFd, addr: *const libc::sockaddr, len: libc::socklen_t) =
        SYS_bind(fd, addr, len);
    /// listen(2).
    fn listen(fd: RawFd, backlog: i32) = SYS_listen(fd, backlog);
    /// accept4(2).
    fn accept4(fd: RawFd, addr: *mut libc::sockaddr, len: *mut libc::socklen_t, flags: i32) =
        SYS_accept4(fd, addr, len, flags);
    /// connect(2).
    fn connect(fd: RawFd, addr: *const libc::sockaddr, len: libc::socklen_t) =
        SYS_connect(fd, addr, len);
    /// sendto(2); send(2) is sendto with no address.
    fn sendto(
        fd: RawFd,
        buf: *const u8,
        len: usize,
        flags: i32,
        addr: *const libc::sockaddr,
        addr_len: libc::socklen_t
    ) = SYS_sendto(fd, buf, len, flags, addr, addr_len);
    /// recvfrom(2); recv(2) is recvfrom with no address.
    fn recvfrom(
        fd: RawFd,
        buf: *mut u8,
        len: usize,
        flags: i32,
        addr: *mut libc::sockaddr,
        addr_len: *mut libc::socklen_t
    ) = SYS_recvfrom(fd, buf, len, flags, addr, addr_len);
    /// sendmsg(2).
    fn sendmsg(fd: RawFd, msg: *const libc::msghdr, flags: i32) = SYS_sendmsg(fd, msg, flags);
    /// recvmsg(2).
    fn recvmsg(fd: RawFd, msg: *mut libc::msghdr, flags: i32) = SYS_recvmsg(fd, msg, flags);
    /// shutdown(2).
    fn shutdown(fd: RawFd, how: i32) = SYS_shutdown(fd, how);
    /// getsockopt(2).
    fn getsockopt(fd: RawFd, level: i32, name: i32, val: *mut c_void, len: *mut libc::socklen_t) =
        SYS_getsockopt(fd, level, name, val, len);
    /// setsockopt(2).
    fn setsockopt(fd: RawFd, level: i32, name: i32, val: *const c_void, len: libc::socklen_t) =
        SYS_setsockopt(fd, level, name, val, len);
    /// getsockname(2).
    fn getsockname(fd: RawFd, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) =
        SYS_getsockname(fd, addr, len);
    /// getpeername(2).
    fn getpeername(fd: RawFd, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) =
        SYS_getpeername(fd, addr, len);
    /// splice(2).
    fn splice(
        fd_in: RawFd,
        off_in: *mut i64,
        fd_out: RawFd,
        off_out: *mut i64,
        len: usize,
        flags: u32
    ) = SYS_splice(fd_in, off_in, fd_out, off_out, len, flags);
    /// tee(2).
    fn tee(fd_in: RawFd, fd_out: RawFd, len: usize, flags: u32) = SYS_tee(fd_in, fd_out, len, flags);
    /// ppoll(2) with no signal mask; a null `timeout` waits without limit.
    fn ppoll(fds: *mut libc::pollfd, n: u64, timeout: *const libc::timespec) =
        SYS_ppoll(fds, n, timeout, 0usize, 8usize);
    /// clock_nanosleep(2): `-errno` on failure, unlike libc's wrapper.
    fn clock_nanosleep(clock: i32, flags: i32, req: *const libc::timespec, rem: *mut libc::timespec) =
        SYS_clock_nanosleep(clock, flags, req, rem);
    /// fcntl(2) with an integer argument.
    fn fcntl(fd: RawFd, cmd: i32, arg: usize) = SYS_fcntl(fd, cmd, arg);
    /// lseek(2).
    fn lseek(fd: RawFd, off: i64, whence: i32) = SYS_lseek(fd, off, whence);
    /// dup3(2).
    fn dup3(fd: RawFd, new: RawFd, flags: i32) = SYS_dup3(fd, new, flags);
    /// ioctl(2) with a pointer argument.
    fn ioctl(fd: RawFd, request: u64, arg: *mut c_void) = SYS_ioctl(fd, request, arg);
    /// mmap(2): the address, or `-errno`.
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: RawFd, off: i64) =
        SYS_mmap(addr, len, prot, flags, fd, off);
    /// munmap(2).
    fn munmap(addr: *mut c_void, len: usize) = SYS_munmap(addr, len);
    /// madvise(2).
    fn madvise(addr: *mut c_void, len: usize, advice: i32) = SYS_madvise(addr, len, advice);
    /// rt_sigaction(2) with the kernel's `struct sigaction` ([`KernelSigaction`]).
    fn rt_sigaction(signal: i32, new: *const KernelSigaction, old: *mut KernelSigaction) =
        SYS_rt_sigaction(signal, new, old, 8usize);
    /// io_uring_setup(2).
    fn io_uring_setup_raw(entries: u32, params: *mut crate::sys::IoUringParams) =
        SYS_io_uring_setup(entries, params);
    /// io_uring_enter(2).
    fn io_uring_enter_raw(
        fd: RawFd,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        arg: *const c_void,
        argsz: usize
    ) = SYS_io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz);
    /// io_uring_register(2).
    fn io_uring_register_raw(fd: RawFd, opcode: u32, arg: *const c_void, nr_args: u32) =
        SYS_io_uring_register(fd, opcode, arg, nr_args);
}

/// The kernel's `struct sigaction` (asm-generic layout with `sa_restorer`, as on x86_64 and
/// aarch64), not libc's, which is larger and ordered differently.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct KernelSigaction {
    /// `sa_handler`/`sa_sigaction`: `SIG_DFL` (0), `SIG_IGN` (1) or a function.
    pub handler: usize,
    /// `SA_*` flags.
    pub flags: u64,
    /// `sa_restorer`.
    pub restorer: usize,
    /// `sa_mask`, 64 signals.
    pub mask: u64,
}

/// The calling thread's credentials as the kernel checks them: real, effective, saved and
/// filesystem ids, supplementary groups and capabilities. Read with raw syscalls (seven),
/// so a change made behind the crate's back (setuid, setgroups, capset, a raw syscall) is
/// seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    uids: [u32; 4],
    gids: [u32; 4],
    groups: Vec<u32>,
    caps: [u32; 6],
}

impl Credentials {
    /// The calling thread's credentials now.
    pub fn current() -> Credentials {
        let mut uids = [0u32; 4];
        let mut gids = [0u32; 4];
        // SAFETY: getresuid/getresgid write three u32s each to valid pointers; setfsuid and
        // setfsgid with -1 (an invalid id) change nothing and return the current one.
        unsafe {
            let u = uids.as_mut_ptr();
            sys!(libc::SYS_getresuid, u, u.add(1), u.add(2));
            let g = gids.as_mut_ptr();
            sys!(libc::SYS_getresgid, g, g.add(1), g.add(2));
            uids[3] = sys!(libc::SYS_setfsuid, u32::MAX) as u32;
            gids[3] = sys!(libc::SYS_setfsgid, u32::MAX) as u32;
        }
        let mut groups = vec![0u32; 64];
        loop {
            // SAFETY: getgroups writes at most `groups.len()` ids into the buffer.
            let n = unsafe { sys!(libc::SYS_getgroups, groups.len(), groups.as_mut_ptr()) };
            if n == -(libc::EINVAL as isize) {
                let more = groups.len() * 4;
                groups.resize(more, 0);
                continue;
            }
            groups.truncate(n.max(0) as usize);
            break;
        }
        // _LINUX_CAPABILITY_VERSION_3: a header, then two data structs of three u32s.
        let mut header = [0x2008_0522u32, 0];
        let mut caps = [0u32; 6];
        // SAFETY: capget reads the header and writes two data structs for version 3.
        unsafe { sys!(libc::SYS_capget, header.as_mut_ptr(), caps.as_mut_ptr()) };
        Credentials {
            uids,
            gids,
            groups,
            caps,
        }
    }
}

/// getpid(2).
#[inline]
pub fn getpid() -> libc::pid_t {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { sys!(libc::SYS_getpid) as libc::pid_t }
}

/// gettid(2).
#[inline]
pub fn gettid() -> libc::pid_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { sys!(libc::SYS_gettid) as libc::pid_t }
}

/// geteuid(2).
#[inline]
pub fn geteuid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { sys!(libc::SYS_geteuid) as u32 }
}

/// Sends `signal` to the calling thread, as raise(3) does (tgkill(2)).
#[inline]
pub fn raise(signal: i32) {
    // SAFETY: tgkill takes integers; the target is this thread.
    unsafe { sys!(libc::SYS_tgkill, getpid(), gettid(), signal) };
}

/// The kernel's signal action for `signal`, or `None` for a signal number it refuses.
pub fn sigaction_of(signal: i32) -> Option<KernelSigaction> {
    let mut old = KernelSigaction::default();
    // SAFETY: a null new action only reads the current one into `old`, which is valid and
    // as large as the kernel's struct for an 8-byte signal set.
    let res = unsafe { rt_sigaction(signal, std::ptr::null(), &mut old) };
    (res == 0).then_some(old)
}

/// The first real-time signal applications may use; those below it and above 31 belong to
/// libc (thread cancellation, setxid broadcasts).
#[inline]
pub fn sigrtmin() -> i32 {
    libc::SIGRTMIN()
}

/// `clock_gettime(clock)` through the vDSO (libc's function, which enters the kernel only
/// where the vDSO cannot answer, by the raw syscall; no shim exports it).
#[inline]
pub fn clock_gettime(clock: libc::clockid_t) -> libc::timespec {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to a valid pointer.
    unsafe { libc::clock_gettime(clock, &mut now) };
    now
}

/// Registers a handler run in the child after fork (pthread_atfork(3); no kernel call).
pub fn at_fork_in_child(handler: unsafe extern "C" fn()) {
    // SAFETY: registers a function pointer; the caller's handler must be async-signal-safe,
    // which `unsafe extern "C" fn` leaves to it.
    unsafe { libc::pthread_atfork(None, None, Some(handler)) };
}

/// Writes `msg` to stderr (fd 2) with write(2), all of it unless an error stops it: for the
/// crate's last words before an abort, where no lock or formatting may be taken.
pub fn write_stderr(msg: &[u8]) {
    let mut rest = msg;
    while !rest.is_empty() {
        // SAFETY: `rest` is valid for reads of its length.
        let n = unsafe { write(2, rest.as_ptr(), rest.len()) };
        if n == -(libc::EINTR as isize) {
            continue;
        }
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Reads a small file (a sysctl under /proc) into a `String`; `None` if it cannot be read.
pub fn read_small_file(path: &std::ffi::CStr) -> Option<String> {
    // SAFETY: path is NUL-terminated; O_RDONLY | O_CLOEXEC opens nothing for writing.
    let fd = unsafe {
        openat(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return None;
    }
    let fd = fd as RawFd;
    let mut buf = [0u8; 256];
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: the tail of `buf` is valid for writes of its length.
        let n = unsafe { read(fd, buf[len..].as_mut_ptr(), buf.len() - len) };
        if n == -(libc::EINTR as isize) {
            continue;
        }
        if n <= 0 {
            break;
        }
        len += n as usize;
    }
    // SAFETY: fd was opened above and is ours.
    unsafe { close(fd) };
    String::from_utf8(buf[..len].to_vec()).ok()
}

/// Aborts the process after writing `msg` to stderr: for failures after which returning or
/// unwinding would free memory the kernel may still write.
pub fn abort_with(msg: &[u8]) -> ! {
    write_stderr(msg);
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_results_carry_the_errno() {
        // SAFETY: close of an fd number that is not open touches nothing.
        let res = unsafe { close(-1) };
        assert_eq!(Errno::of(res), Some(Errno(libc::EBADF)));
        assert_eq!(result(5), Ok(5));
        assert!(getpid() > 0 && gettid() > 0);
    }

    #[test]
    fn positioned_vectored_read_uses_the_whole_offset() {
        let mut fds = [0; 2];
        // SAFETY: a valid array of two fds.
        let res = unsafe { socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, &mut fds) };
        assert_eq!(res, 0);
        // SAFETY: the message is valid for its length.
        assert_eq!(unsafe { write(fds[0], b"hi".as_ptr(), 2) }, 2);
        let mut buf = [0u8; 2];
        let iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: 2,
        };
        // SAFETY: one valid iovec; -1 reads at the (socket's) current position.
        assert_eq!(unsafe { preadv2(fds[1], &iov, 1, -1, 0) }, 2);
        assert_eq!(&buf, b"hi");
        for fd in fds {
            // SAFETY: made above, ours.
            unsafe { close(fd) };
        }
    }

    #[test]
    fn kernel_sigaction_reads_the_default_action() {
        let action = sigaction_of(libc::SIGUSR2).expect("SIGUSR2 exists");
        assert_eq!(action.handler, libc::SIG_DFL);
        assert!(sigaction_of(libc::SIGKILL).is_some());
        assert!(sigaction_of(1000).is_none());
    }
}
