//! Raw syscalls: the shim's own helper calls (fd checks, memory probes, closes, dups) never go
//! through an exported libc name, which this library may itself be exporting. They also leave
//! `errno` alone: the result is the value or `-errno`.

use std::ffi::c_long;

/// Makes syscall `nr` with six arguments; the result is the value or `-errno`.
///
/// # Safety
/// The arguments must be valid for the syscall, as for `syscall(2)`.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) unsafe fn syscall6(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86-64 syscall ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9;
    // the kernel clobbers rcx and r11. The caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Makes syscall `nr` with six arguments; the result is the value or `-errno`.
///
/// # Safety
/// The arguments must be valid for the syscall, as for `syscall(2)`.
#[cfg(target_arch = "aarch64")]
#[inline]
pub(crate) unsafe fn syscall6(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the AArch64 syscall ABI: number in x8, arguments in x0 to x5, result in x0. The
    // caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") args[0] as isize => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("the preload shim supports x86_64 and aarch64 Linux");

/// Makes syscall `nr` with up to six arguments (`syscall!(libc::SYS_close, fd)`).
macro_rules! syscall {
    ($nr:expr $(, $arg:expr)* $(,)?) => {{
        let mut args = [0usize; 6];
        let given = [$($arg as usize),*];
        args[..given.len()].copy_from_slice(&given);
        $crate::sys::syscall6($nr as std::ffi::c_long, args)
    }};
}
pub(crate) use syscall;

/// close(2) of an fd this shim owns.
pub(crate) fn close(fd: i32) {
    // SAFETY: closing an fd number is harmless to memory; callers pass only fds they own.
    unsafe { syscall!(libc::SYS_close, fd) };
}

/// The calling thread's id.
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { syscall!(libc::SYS_gettid) as i32 }
}

/// The fd's status flags (F_GETFL), or `None` for a bad fd.
pub(crate) fn fd_flags(fd: i32) -> Option<i32> {
    // SAFETY: F_GETFL on any fd number only reads.
    let res = unsafe { syscall!(libc::SYS_fcntl, fd, libc::F_GETFL) };
    (res >= 0).then_some(res as i32)
}

/// fstat(2) into `st`; the result is 0 or `-errno`.
pub(crate) fn fstat(fd: i32, st: &mut libc::stat) -> isize {
    // SAFETY: the kernel writes one struct stat to a valid pointer.
    unsafe { syscall!(libc::SYS_fstat, fd, st as *mut libc::stat) }
}

/// `getsockopt(fd, SOL_SOCKET, name)` of an int-sized option, or `None` on failure.
pub(crate) fn sockopt_int(fd: i32, name: i32) -> Option<i32> {
    let mut value: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: value and len are valid for the call; the kernel writes at most len bytes.
    let res = unsafe {
        syscall!(
            libc::SYS_getsockopt,
            fd,
            libc::SOL_SOCKET,
            name,
            &raw mut value,
            &raw mut len
        )
    };
    (res == 0).then_some(value)
}

/// Whether `SO_RCVTIMEO` or `SO_SNDTIMEO` is set on socket `fd` (io_uring's readiness-driven
/// socket operations never fire those timers).
pub(crate) fn socket_has_timeout(fd: i32) -> bool {
    [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO]
        .into_iter()
        .any(|name| {
            let mut tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            };
            let mut len = size_of::<libc::timeval>() as libc::socklen_t;
            // SAFETY: tv and len are valid for the call; the kernel writes at most len bytes.
            let res = unsafe {
                syscall!(
                    libc::SYS_getsockopt,
                    fd,
                    libc::SOL_SOCKET,
                    name,
                    &raw mut tv,
                    &raw mut len
                )
            };
            // An unreadable option counts as set: the real call then decides.
            res != 0 || tv.tv_sec != 0 || tv.tv_usec != 0
        })
}

/// Writes `bytes` to fd `fd`, retrying on EINTR and short writes (for the stats line);
/// whether all of it was written.
pub(crate) fn write_all(fd: i32, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: the kernel reads `bytes.len()` bytes from a valid slice.
        let res = unsafe { syscall!(libc::SYS_write, fd, bytes.as_ptr(), bytes.len()) };
        match res {
            n if n > 0 => bytes = &bytes[n as usize..],
            n if n == -(libc::EINTR as isize) => {}
            _ => return false,
        }
    }
    true
}

/// The calling thread's `errno`.
#[inline]
pub(crate) fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno`.
#[inline]
pub(crate) fn set_errno(value: i32) {
    // SAFETY: as in errno().
    unsafe { *libc::__errno_location() = value };
}
