//! Reading and writing the caller's memory the way the kernel does: a bad pointer is an
//! `EFAULT`, never a crash. Before the shim reads a path, a socket address or an iovec, and
//! before it writes a result, it asks the kernel whether the memory is there, with syscalls that
//! copy a few bytes and change nothing else.

use std::ffi::{OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::sys::syscall;

/// The page granularity probes step by (the smallest page size Linux uses).
const PAGE: usize = 4096;

/// Whether the kernel can read the 8 bytes at `addr`. rt_sigprocmask copies the new mask in
/// before it validates `how`, so an invalid `how` answers EINVAL for readable memory and
/// EFAULT for unreadable memory, and changes nothing.
fn probe_read(addr: usize) -> bool {
    // SAFETY: with an invalid `how` the call only reads 8 bytes, which the kernel checks.
    let res = unsafe { syscall!(libc::SYS_rt_sigprocmask, -1i32 as isize, addr, 0, 8) };
    res != -(libc::EFAULT as isize)
}

/// Whether the kernel can write the 8 bytes at `addr`. Writes the thread's signal mask there:
/// only for memory about to be overwritten anyway.
fn probe_write8(addr: usize) -> bool {
    // SAFETY: with a null new mask the call only writes the old one, 8 bytes, which the kernel
    // checks.
    let res = unsafe { syscall!(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, 0, addr, 8) };
    res == 0
}

/// Whether the kernel can write the 4 bytes at `addr`. Writes the current CPU number there:
/// only for memory about to be overwritten anyway.
fn probe_write4(addr: usize) -> bool {
    // SAFETY: getcpu writes one unsigned int to `addr`, which the kernel checks.
    let res = unsafe { syscall!(libc::SYS_getcpu, addr, 0, 0) };
    res == 0
}

/// Whether `len` bytes at `ptr` are readable.
pub(crate) fn readable(ptr: *const u8, len: usize) -> bool {
    if ptr.is_null() {
        return false;
    }
    let start = ptr as usize;
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    let mut page = start & !(PAGE - 1);
    while page < end {
        // The aligned 8 bytes around a byte of the page lie inside that page.
        if !probe_read(page.max(start) & !7) {
            return false;
        }
        page += PAGE;
    }
    true
}

/// Whether `len` bytes at `ptr` are writable. Clobbers them: call it only just before writing
/// all `len` bytes. `len` must be at least 4.
pub(crate) fn writable_clobbering(ptr: *mut u8, len: usize) -> bool {
    if ptr.is_null() || len < 4 {
        return false;
    }
    let start = ptr as usize;
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    let probe = |addr: usize| {
        if end - addr >= 8 {
            probe_write8(addr)
        } else {
            probe_write4(addr.min(end - 4))
        }
    };
    // The first bytes, a byte in each later page, and the last bytes.
    if !probe(start) {
        return false;
    }
    let mut page = (start & !(PAGE - 1)) + PAGE;
    while page < end {
        if !probe(page) {
            return false;
        }
        page += PAGE;
    }
    probe(end - 4.min(len))
}

/// Copies `value` to `dest`, or answers `Err(EFAULT)` as the kernel would for memory it
/// cannot write.
pub(crate) fn write_out<T: Copy>(dest: *mut T, value: &T) -> Result<(), i32> {
    if !writable_clobbering(dest.cast(), size_of::<T>()) {
        return Err(libc::EFAULT);
    }
    // SAFETY: the kernel just wrote these bytes; `dest` may be unaligned for T in a buggy
    // caller, which write_unaligned allows.
    unsafe { dest.write_unaligned(*value) };
    Ok(())
}

/// Reads a `T` from the caller's memory, or `None` if the kernel could not read it.
pub(crate) fn read_in<T: Copy>(src: *const T) -> Option<T> {
    if !readable(src.cast(), size_of::<T>()) {
        return None;
    }
    // SAFETY: the memory is readable (checked just above); unaligned reads are allowed.
    Some(unsafe { src.read_unaligned() })
}

/// The longest path the kernel takes, NUL included.
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// A path argument as the kernel reads it, or `None` when the pointer is null, the memory is
/// unreadable, or no NUL comes within PATH_MAX bytes (libc then gives EFAULT or
/// ENAMETOOLONG).
///
/// # Safety
/// The memory must not be unmapped by another thread while the path is in use.
pub(crate) unsafe fn path<'a>(ptr: *const c_char) -> Option<&'a Path> {
    if ptr.is_null() {
        return None;
    }
    let start = ptr as usize;
    let mut len = 0;
    loop {
        let at = start + len;
        if !probe_read(at & !7) {
            return None;
        }
        let page_end = (at | (PAGE - 1)) + 1;
        // SAFETY: the page holding `at` is readable (probed just above).
        let chunk = unsafe { std::slice::from_raw_parts(at as *const u8, page_end - at) };
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            len += nul;
            break;
        }
        len += chunk.len();
        if len >= PATH_MAX {
            return None;
        }
    }
    if len >= PATH_MAX {
        return None;
    }
    // SAFETY: the bytes were read above and stay as they are for the call.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    Some(Path::new(OsStr::from_bytes(bytes)))
}

/// Whether a path resolves through `/proc/thread-self`, which means the calling thread: a
/// kernel worker running the operation would resolve it to itself.
pub(crate) fn names_thread_self(path: &Path) -> bool {
    path.as_os_str()
        .as_bytes()
        .windows(b"thread-self".len())
        .any(|w| w == b"thread-self")
}
