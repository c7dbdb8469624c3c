//! What the driver knows of fd numbers, so a ring answers as the syscall does: whether an
//! fd is seekable (`ESPIPE` for positioned calls on pipes), buffered (a non-blocking read
//! never waits for the device), an `O_NONBLOCK` stream. Cached per fd number while the
//! crate sees nothing replace the file behind it.

use std::os::fd::RawFd;

use crate::sys::syscall as sc;

/// Fd numbers up to this are cached; larger ones are checked every time.
const MAX_CACHED_FD: usize = 1 << 16;

/// Bitmaps of fd numbers, per fact.
#[derive(Default)]
pub(crate) struct FdCache {
    /// Seen seekable (see [`FdCache::seekable`]).
    seekable: Vec<u64>,
    /// Seen without `O_DIRECT` (see [`FdCache::buffered`]).
    buffered: Vec<u64>,
}

/// The word and bit of fd number `index` in a bitmap.
#[inline]
fn position(index: usize) -> (usize, u64) {
    (index / 64, 1u64 << (index % 64))
}

/// Sets fd number `index` in `bits`, if it is small enough to cache.
fn remember(bits: &mut Vec<u64>, index: usize) {
    if index >= MAX_CACHED_FD {
        return;
    }
    let (word, bit) = position(index);
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= bit;
}

impl FdCache {
    /// Whether `fd` has a file position (lseek works), cached per fd number once seen
    /// seekable. A cached number whose file was closed and replaced by a pipe behind the
    /// crate's back is the one case where a positioned call reads the stream instead of
    /// failing with `ESPIPE`.
    #[inline]
    pub(crate) fn seekable(&mut self, fd: RawFd) -> bool {
        let Ok(index) = usize::try_from(fd) else {
            return true; // EBADF comes from the kernel.
        };
        let (word, bit) = position(index);
        if self.seekable.get(word).is_some_and(|w| w & bit != 0) {
            return true;
        }
        self.check_seekable(index)
    }

    #[cold]
    fn check_seekable(&mut self, index: usize) -> bool {
        // SAFETY: lseek on any fd number is harmless; SEEK_CUR with offset 0 moves nothing.
        let res = unsafe { sc::lseek(index as RawFd, 0, libc::SEEK_CUR) };
        if res < 0 {
            return res != -(libc::ESPIPE as isize);
        }
        remember(&mut self.seekable, index);
        true
    }

    /// Whether `fd` is a file without `O_DIRECT` (a non-blocking read of it never waits for
    /// the device, and a read or write at its position moves the position through the
    /// ring), cached per fd number like `seekable`. A stale entry — a number seen without
    /// `O_DIRECT`, then given `O_DIRECT` by `fcntl(F_SETFL)` or replaced by an `O_DIRECT`
    /// file behind the crate's back — costs speed, and a read or write at the file position
    /// there leaves the position where it was.
    #[inline]
    pub(crate) fn buffered(&mut self, fd: RawFd) -> bool {
        let Ok(index) = usize::try_from(fd) else {
            return false;
        };
        let (word, bit) = position(index);
        if self.buffered.get(word).is_some_and(|w| w & bit != 0) {
            return true;
        }
        self.check_buffered(fd, index)
    }

    #[cold]
    fn check_buffered(&mut self, fd: RawFd, index: usize) -> bool {
        let direct = is_direct(fd);
        if direct || index >= MAX_CACHED_FD {
            return false;
        }
        remember(&mut self.buffered, index);
        true
    }

    /// Forgets what was known of fd number `fd`, whose file changed.
    pub(crate) fn forget(&mut self, fd: RawFd) {
        let Ok(index) = usize::try_from(fd) else {
            return;
        };
        let (word, bit) = position(index);
        for bits in [&mut self.seekable, &mut self.buffered] {
            if let Some(w) = bits.get_mut(word) {
                *w &= !bit;
            }
        }
    }
}

/// Whether `fd` is a pipe, socket or other stream without `O_NONBLOCK`.
#[cold]
pub(crate) fn blocking_stream(fd: RawFd) -> bool {
    fd_flags(fd).is_some_and(|flags| flags & libc::O_NONBLOCK == 0) && !is_file_or_block_device(fd)
}

/// Whether `fd` has `O_NONBLOCK` and is not a regular file or block device (for which the
/// flag changes nothing): the syscall would then fail with EAGAIN rather than wait.
#[cold]
pub(crate) fn nonblocking_stream(fd: RawFd) -> bool {
    fd_flags(fd).is_some_and(|flags| flags & libc::O_NONBLOCK != 0) && !is_file_or_block_device(fd)
}

/// Whether `fd` is a regular file or a block device (where O_NONBLOCK changes nothing).
fn is_file_or_block_device(fd: RawFd) -> bool {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one stat to a valid pointer.
    if unsafe { sc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return true;
    }
    // SAFETY: fstat succeeded, so the struct is filled.
    let mode = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    mode == libc::S_IFREG || mode == libc::S_IFBLK
}

/// Whether `fd` is an `O_DIRECT` file (or not an open fd: then a transfer at its position
/// fails either way, and the syscall gives its error).
pub(crate) fn is_direct(fd: RawFd) -> bool {
    fd_flags(fd).is_none_or(|flags| flags & libc::O_DIRECT != 0)
}

/// The fd's status flags (F_GETFL), or `None` for a bad fd.
fn fd_flags(fd: RawFd) -> Option<i32> {
    // SAFETY: F_GETFL on any fd number is harmless.
    let flags = unsafe { sc::fcntl(fd, libc::F_GETFL, 0) };
    (flags >= 0).then_some(flags as i32)
}
