//! `fs::write` without truncating a file it is about to fill again.
//!
//! std opens with `O_TRUNC` and writes. On an existing file the truncation is most of the
//! cost: the kernel frees the file's blocks and pages only for the write to allocate them
//! again, and ext4 (default `auto_da_alloc`) also starts writeback at close for a file that
//! was truncated to zero and rewritten, which the next truncation of the same file then
//! waits for. So this opens without `O_TRUNC`, writes over the old contents from offset 0,
//! and cuts off what is left of them only when the file was longer. The file ends up as
//! std leaves it: the contents, the size, the mode (0o666 less the umask, when created),
//! the inode and its other links.
//!
//! Every kernel call is a direct syscall through the seam: the kernel hands an `O_CREAT`
//! open on a ring to a worker thread, so a linked open → write → close cannot beat these
//! (measured slower than std itself: the reference row of `examples/bench_std.rs`).

use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;

use crate::sys::syscall as sc;

use super::fd::{Fd, cvt, cvt_r};
use super::file::{write_all_fd, write_fd};

/// std's flags for `fs::write` (`File::create`).
const STD_FLAGS: i32 = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;

/// The same without `O_TRUNC`.
const OVER_FLAGS: i32 = STD_FLAGS & !libc::O_TRUNC;

/// openat(2) with mode 0o666, retried on `EINTR` as std does.
fn open(path: &CStr, flags: i32) -> io::Result<Fd> {
    // SAFETY: `path` is NUL-terminated; the new fd is ours.
    let res = cvt_r(|| unsafe { sc::openat(libc::AT_FDCWD, path.as_ptr(), flags, 0o666) })?;
    // SAFETY: openat returned a new fd that nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(res as i32) })
}

/// `fs::write` of non-empty `contents` to `path` (see [`super::write`]).
pub(super) fn write_over(path: &CStr, contents: &[u8]) -> io::Result<()> {
    let fd = match open(path, OVER_FLAGS) {
        Ok(fd) => fd,
        // Errors are std's own: its open, with O_TRUNC, reports some differently (a file
        // on a read-only mount is EROFS before a missing write permission is EACCES).
        Err(_) => {
            let fd = open(path, STD_FLAGS)?;
            return write_all_fd(fd.raw(), contents);
        }
    };
    match write_counted(&fd, contents) {
        Ok(()) => cut_tail(&fd, contents.len() as u64),
        Err((written, err)) => recover(&fd, contents, written, err),
    }
}

/// write(2) until all of `contents` is written, as `write_all`; on failure, how many bytes
/// were written with the error.
fn write_counted(fd: &Fd, contents: &[u8]) -> Result<(), (u64, io::Error)> {
    let mut done = 0;
    while done < contents.len() {
        match write_fd(fd.raw(), &contents[done..]) {
            Ok(0) => {
                let zero = io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer");
                return Err((done as u64, zero));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((done as u64, e)),
        }
    }
    Ok(())
}

/// After `len` bytes were written from offset 0: cuts off the rest of a regular file that
/// was longer, as `O_TRUNC` would have. lseek(2) tells where the file ends (a cheaper call
/// than fstat(2), which then only confirms a regular file before a cut: a block device or
/// some character devices report a size too, and `O_TRUNC` does nothing to them).
fn cut_tail(fd: &Fd, len: u64) -> io::Result<()> {
    // SAFETY: lseek takes integers; the position of an fd about to be closed is no one's.
    let end = unsafe { sc::lseek(fd.raw(), 0, libc::SEEK_END) };
    if end >= 0 && end as u64 <= len {
        return Ok(());
    }
    // Longer, or unknown: ESPIPE (a FIFO) or a filesystem's own error.
    match regular_size(fd)? {
        Some(size) if size > len => ftruncate(fd, len),
        _ => Ok(()),
    }
}

/// The size of a regular file; `None` for anything else, which `O_TRUNC` leaves alone.
fn regular_size(fd: &Fd) -> io::Result<Option<u64>> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one stat to a valid pointer.
    cvt(unsafe { sc::fstat(fd.raw(), stat.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so the struct is filled.
    let stat = unsafe { stat.assume_init() };
    Ok((stat.st_mode & libc::S_IFMT == libc::S_IFREG).then_some(stat.st_size as u64))
}

/// ftruncate(2), retried on `EINTR`.
fn ftruncate(fd: &Fd, len: u64) -> io::Result<()> {
    // SAFETY: ftruncate takes an fd and a length (no file holds more than i64::MAX bytes).
    cvt_r(|| unsafe { sc::ftruncate(fd.raw(), len as i64) }).map(drop)
}

/// A write failed after `written` bytes: leaves the file as std's would be and returns
/// std's result.
///
/// Anything but a regular file was never truncated by std either: its error stands. A file
/// size limit (`EFBIG`: `RLIMIT_FSIZE`, or the filesystem's largest file) stops the write at
/// the same offset whether or not the file was truncated first, so std's file holds just
/// the bytes written so far: the old tail beyond them is cut (and `SIGXFSZ` was sent once,
/// as to std). Any other failure (`ENOSPC`, `EDQUOT`, `EIO`) may depend on the blocks the
/// old contents still held, which std had freed: from here this does what std does,
/// truncates to zero and writes everything again, and returns what that gives.
#[cold]
fn recover(fd: &Fd, contents: &[u8], written: u64, err: io::Error) -> io::Result<()> {
    let Ok(Some(size)) = regular_size(fd) else {
        return Err(err);
    };
    if err.raw_os_error() == Some(libc::EFBIG) {
        if size > written {
            ftruncate(fd, written)?;
        }
        return Err(err);
    }
    ftruncate(fd, 0)?;
    // SAFETY: lseek takes integers.
    cvt(unsafe { sc::lseek(fd.raw(), 0, libc::SEEK_SET) })?;
    write_all_fd(fd.raw(), contents)
}
