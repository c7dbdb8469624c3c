//! `std::fs`, swapped in by changing one `use` line: the same names, signatures, results,
//! error kinds and `raw_os_error()`, never slower than std.
//!
//! ```
//! use uring_os::fs; // was: use std::fs;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("greeting");
//! fs::write(&path, b"hello")?;
//! assert_eq!(fs::read(&path)?, b"hello");
//! assert_eq!(fs::metadata(&path)?.len(), 5);
//! fs::remove_file(&path)?;
//! assert_eq!(fs::exists(&path)?, false);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Which path each call takes
//!
//! Every function here is made of direct syscalls through the crate's one seam
//! ([`crate::sys::syscall`]), never through libc's exported names, so it also works inside
//! the `LD_PRELOAD` shim. That is a measured choice, not a fallback: for a blocking caller
//! one operation through a ring costs about 1.6 times the syscall on cached data, and the
//! kernel hands statx, mkdirat, unlinkat, renameat, linkat, symlinkat, fsync, ftruncate
//! and any openat with `O_CREAT`/`O_TRUNC` or an uncached path to an io-wq worker thread, so
//! one such call through a ring costs a thread handoff (12 to 47 times `std::fs::metadata`).
//! `read` beats std by making fewer syscalls than std's (no statx for a size hint on small
//! files); a linked open → read → close submission was measured at std's speed, not faster
//! (`examples/bench_std.rs` keeps that row). `write` beats std by not truncating a file it
//! is about to fill again: it writes over the old contents and cuts off only what is left
//! of them (see [`write()`]); a linked open → write → close was measured slower than std, its
//! `O_CREAT` open handed to a worker (that row is kept too). Where io_uring has
//! no opcode at all (getdents64, readlinkat, fchmodat, copy_file_range, lseek) the function
//! is the syscall anyway.
//!
//! Extension traits are std's own: `use std::os::unix::fs::{FileExt, MetadataExt,
//! OpenOptionsExt, PermissionsExt, FileTypeExt, DirEntryExt, DirBuilderExt}` keeps working
//! on these types.

mod dir;
pub(crate) mod fd;
mod file;
mod meta;
mod write;

use std::ffi::{CStr, OsString};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::sys::syscall as sc;

pub use dir::{DirBuilder, DirEntry, ReadDir, read_dir, remove_dir_all};
pub use file::{File, OpenOptions};
pub use meta::{FileType, Metadata, Permissions};

use fd::{Fd, cvt, cvt_r, with_cpath};
pub(crate) use file::{delegate_io_to_ref, read_fd, read_to_end_fd, readv_fd, write_fd, writev_fd};

/// What [`read`] asks for first: a file that fits is read without asking its size.
const FIRST_READ: usize = 64 * 1024;

/// Mirrors `std::fs::read`: the whole file (direct syscalls: openat, read until it returns
/// 0, close).
///
/// std makes five syscalls (openat, statx for the size, read, a read that finds the end,
/// close); this makes four for a file up to 64 KiB, asking the size only for a larger one.
/// It reads until read(2) returns 0 as std does, so pipes, FIFOs and `/proc` files read
/// whole too.
///
/// ```
/// let manifest = uring_os::fs::read("Cargo.toml")?;
/// assert_eq!(manifest, std::fs::read("Cargo.toml")?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let fd = with_cpath(path.as_ref(), file::open_read)?;
    read_whole(&fd)
}

/// Reads an open file to its end, asking its size only if the first read fills
/// [`FIRST_READ`].
fn read_whole(fd: &Fd) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(FIRST_READ);
    let first = loop {
        match read_fd(fd.raw(), buf_spare(&mut buf)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            res => break res?,
        }
    };
    // SAFETY: read(2) initialised the first `first` bytes of the spare capacity.
    unsafe { buf.set_len(first) };
    let hint = if first == FIRST_READ {
        meta::statx(fd.raw(), c"", libc::AT_EMPTY_PATH)
            .map_or(0, |m| (m.len() as usize).saturating_sub(first))
    } else {
        0
    };
    read_to_end_fd(fd.raw(), &mut buf, hint)?;
    if buf.capacity() > buf.len() {
        buf.shrink_to_fit();
    }
    Ok(buf)
}

/// The spare capacity of `buf` as a byte slice for read(2) to fill.
fn buf_spare(buf: &mut Vec<u8>) -> &mut [u8] {
    let spare = buf.spare_capacity_mut();
    // SAFETY: read(2) only writes into the slice; the bytes are read only after the kernel
    // reported them written (set_len), and u8 has no invalid values.
    unsafe { std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast(), spare.len()) }
}

/// Mirrors `std::fs::read_to_string`: [`read`], then std's `InvalidData` error if the bytes
/// are not UTF-8.
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|_| file::invalid_utf8())
}

/// Mirrors `std::fs::write`: the file at `path` (created with mode 0o666 less the umask if
/// it does not exist) holds exactly `contents` afterwards, with std's errors.
///
/// std opens with `O_TRUNC` and writes; this opens without it, writes over the old contents
/// from offset 0 and cuts off the old tail with ftruncate(2) only where the file was longer
/// (lseek(2) tells), so a file rewritten in place keeps its blocks and pages instead of
/// freeing and allocating them again (direct syscalls: openat, write, lseek, close, plus
/// fstat and ftruncate when the file shrinks). Empty `contents` take std's path (the truncation is
/// the whole effect). A failed open is retried with std's flags, for std's error. A write
/// that fails on a regular file leaves it as std's would be: after `EFBIG` (a file size
/// limit, met at the same offset) the old tail is cut; after any other error (`ENOSPC`,
/// `EDQUOT`, ...) the file is truncated to zero and written again, as std does from the
/// start, and that result is returned.
///
/// What can differ from std, beyond the file's final state:
/// - A reader of the file meanwhile sees old bytes after the new ones, not a short file.
/// - ext4 starts writeback at close for a file std truncated to zero and rewrote
///   (`auto_da_alloc`); here the new contents are written back on the usual schedule, as
///   any write to an existing file. Neither is durable without [`File::sync_all`].
/// - Where the kernel refuses truncation or growth but allows writing (a Landlock ruleset
///   without the truncate right; a memfd, opened through `/proc/self/fd`, sealed with
///   `F_SEAL_SHRINK` or `F_SEAL_GROW` but not `F_SEAL_WRITE`), std fails, at open or at
///   its first write into the emptied file; this writes within the old size and fails
///   only where it must cut the file (which then holds the new bytes and the rest of the
///   old ones) or grow it.
/// - Blocks preallocated beyond the end of a file that does not shrink (`fallocate` with
///   `FALLOC_FL_KEEP_SIZE`) stay allocated; `O_TRUNC` frees them.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("notes");
/// uring_os::fs::write(&path, "a longer first version")?;
/// uring_os::fs::write(&path, "shorter")?;
/// assert_eq!(std::fs::read(&path)?, b"shorter");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    fn inner(path: &Path, contents: &[u8]) -> io::Result<()> {
        if contents.is_empty() {
            return File::create(path).map(drop);
        }
        with_cpath(path, |path| write::write_over(path, contents))
    }
    inner(path.as_ref(), contents.as_ref())
}

/// Mirrors `std::fs::copy`: opens both files as std does (the source must be a regular
/// file; the destination is created with the source's mode and, if it is a regular file,
/// fchmod'ed to it), then copy_file_range(2) until the end, falling back to read/write
/// where the kernel refuses, as std. Direct syscalls: io_uring has no copy_file_range
/// opcode and the destination's `O_CREAT` open would go to a worker thread.
///
/// Returns the number of bytes copied.
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let reader = File::open(from)?;
    let meta = reader.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the source path is neither a regular file nor a symlink to a regular file",
        ));
    }
    let perm = meta.permissions();
    let writer = {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .mode(perm.mode)
            .write(true)
            .create(true)
            .truncate(true)
            .open(to)?
    };
    if writer.metadata()?.is_file() {
        writer.set_permissions(perm)?;
    }
    copy_data(reader.fd(), writer.fd())
}

/// Copies from `reader`'s position to its end into `writer` as std's `io::copy` does for two
/// files: copy_file_range(2) in chunks of at most 1 GiB, falling back to read/write where it
/// copies nothing at first (a `/proc` file) or the kernel refuses it.
fn copy_data(reader: &Fd, writer: &Fd) -> io::Result<u64> {
    const CHUNK: usize = 0x4000_0000;
    let mut written = 0u64;
    loop {
        // SAFETY: null offsets use and advance both file positions.
        let res = unsafe {
            sc::copy_file_range(
                reader.raw(),
                std::ptr::null_mut(),
                writer.raw(),
                std::ptr::null_mut(),
                CHUNK,
                0,
            )
        };
        match cvt(res) {
            Ok(0) if written == 0 => break,
            Ok(0) => return Ok(written),
            Ok(n) => written += n as u64,
            Err(e) => match e.raw_os_error() {
                Some(libc::EOVERFLOW) => break,
                Some(
                    libc::ENOSYS
                    | libc::EXDEV
                    | libc::EINVAL
                    | libc::EPERM
                    | libc::EOPNOTSUPP
                    | libc::EBADF,
                ) if written == 0 => break,
                _ => return Err(e),
            },
        }
    }
    // The generic copy, from where copy_file_range stopped.
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match read_fd(reader.raw(), &mut buf) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        file::write_all_fd(writer.raw(), &buf[..n])?;
        written += n as u64;
    }
}

/// Mirrors `std::fs::metadata`: statx(2) of `path`, following symlinks (direct syscall: the
/// kernel always hands statx on a ring to a worker thread).
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    with_cpath(path.as_ref(), |path| meta::statx(libc::AT_FDCWD, path, 0))
}

/// Mirrors `std::fs::symlink_metadata`: statx(2) with `AT_SYMLINK_NOFOLLOW` (direct
/// syscall, as [`metadata`]).
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    with_cpath(path.as_ref(), |path| {
        meta::statx(libc::AT_FDCWD, path, libc::AT_SYMLINK_NOFOLLOW)
    })
}

/// Mirrors `std::fs::exists`: `Ok(false)` where statx(2) says `NotFound`, other errors as
/// they are (direct syscall, as [`metadata`]).
pub fn exists<P: AsRef<Path>>(path: P) -> io::Result<bool> {
    match metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Mirrors `std::fs::create_dir`: mkdirat(2) with mode 0o777 (direct syscall: the kernel
/// hands mkdirat on a ring to a worker thread).
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    dir::mkdir(path.as_ref(), 0o777)
}

/// Mirrors `std::fs::create_dir_all`: mkdirat(2) of the path, and of each missing parent
/// first, with std's algorithm (direct syscalls, as [`create_dir`]).
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    DirBuilder::new().recursive(true).create(path.as_ref())
}

/// Mirrors `std::fs::remove_file`: unlinkat(2) (direct syscall: the kernel hands unlinkat on
/// a ring to a worker thread).
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    unlink(path.as_ref(), 0)
}

/// Mirrors `std::fs::remove_dir`: unlinkat(2) with `AT_REMOVEDIR` (direct syscall, as
/// [`remove_file`]).
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    unlink(path.as_ref(), libc::AT_REMOVEDIR)
}

fn unlink(path: &Path, flags: i32) -> io::Result<()> {
    with_cpath(path, |path| {
        // SAFETY: `path` is NUL-terminated.
        cvt(unsafe { sc::unlinkat(libc::AT_FDCWD, path.as_ptr(), flags) }).map(drop)
    })
}

/// Runs `f` with both paths as C strings.
fn with_cpaths<T>(
    a: &Path,
    b: &Path,
    f: impl FnOnce(&CStr, &CStr) -> io::Result<T>,
) -> io::Result<T> {
    with_cpath(a, |a| with_cpath(b, |b| f(a, b)))
}

/// Mirrors `std::fs::rename`: renameat2(2) without flags, as rename(2) (direct syscall: the
/// kernel hands renameat on a ring to a worker thread).
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    with_cpaths(from.as_ref(), to.as_ref(), |from, to| {
        // SAFETY: both paths are NUL-terminated.
        cvt(unsafe {
            sc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                0,
            )
        })
        .map(drop)
    })
}

/// Mirrors `std::fs::hard_link`: linkat(2) without flags, as std (direct syscall: the kernel
/// hands linkat on a ring to a worker thread).
pub fn hard_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    with_cpaths(original.as_ref(), link.as_ref(), |original, link| {
        // SAFETY: both paths are NUL-terminated.
        cvt(unsafe {
            sc::linkat(
                libc::AT_FDCWD,
                original.as_ptr(),
                libc::AT_FDCWD,
                link.as_ptr(),
                0,
            )
        })
        .map(drop)
    })
}

/// Mirrors `std::os::unix::fs::symlink`: symlinkat(2) making `link` point to `original`
/// (direct syscall: the kernel hands symlinkat on a ring to a worker thread).
pub fn symlink<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    with_cpaths(original.as_ref(), link.as_ref(), |original, link| {
        // SAFETY: both paths are NUL-terminated.
        cvt(unsafe { sc::symlinkat(original.as_ptr(), libc::AT_FDCWD, link.as_ptr()) }).map(drop)
    })
}

/// Mirrors `std::fs::read_link`: readlinkat(2), with a larger buffer until the target fits
/// (direct syscall: io_uring has no readlink opcode).
pub fn read_link<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    with_cpath(path.as_ref(), |path| readlink_at(libc::AT_FDCWD, path))
}

fn readlink_at(dir: i32, path: &CStr) -> io::Result<PathBuf> {
    let mut buf = Vec::<u8>::with_capacity(256);
    loop {
        let cap = buf.capacity();
        // SAFETY: `path` is NUL-terminated; the buffer is valid for `cap` bytes of writes.
        let n = cvt(unsafe { sc::readlinkat(dir, path.as_ptr(), buf.as_mut_ptr(), cap) })?;
        if n < cap {
            // SAFETY: the kernel wrote `n` bytes.
            unsafe { buf.set_len(n) };
            buf.shrink_to_fit();
            return Ok(PathBuf::from(OsString::from_vec(buf)));
        }
        buf.reserve(cap + 1);
    }
}

/// Mirrors `std::fs::canonicalize`: the absolute path with every symlink, `.` and `..`
/// resolved, as realpath(3) gives it.
///
/// Direct syscalls, and fewer than realpath(3) makes for a deep path: openat(2) with
/// `O_PATH` lets the kernel resolve the whole path once, readlinkat(2) of
/// `/proc/self/fd/N` names what it found, and close. Where that fails (the path does not
/// resolve, or `/proc` is missing) it calls realpath(3) itself, as std does, so errors are
/// realpath's own (it reports some differently from the kernel: a missing over-long name is
/// `ENOENT`); realpath is a libc name no shim exports.
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    with_cpath(path.as_ref(), |path| {
        let flags = libc::O_PATH | libc::O_CLOEXEC;
        // SAFETY: `path` is NUL-terminated; the new fd is ours.
        let Ok(fd) = cvt_r(|| unsafe { sc::openat(libc::AT_FDCWD, path.as_ptr(), flags, 0) })
        else {
            return realpath(path);
        };
        // SAFETY: openat returned a new fd.
        let fd = unsafe { <Fd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
        let link = format!("/proc/self/fd/{}\0", fd.raw());
        let link = CStr::from_bytes_with_nul(link.as_bytes()).expect("one NUL, at the end");
        match readlink_at(libc::AT_FDCWD, link) {
            Ok(resolved) if resolved.is_absolute() => Ok(resolved),
            _ => realpath(path),
        }
    })
}

#[cold]
fn realpath(path: &CStr) -> io::Result<PathBuf> {
    // SAFETY: a null buffer makes realpath allocate the result, which is freed below.
    let resolved = unsafe { libc::realpath(path.as_ptr(), std::ptr::null_mut()) };
    if resolved.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: realpath returned a NUL-terminated string it allocated with malloc.
    let bytes = unsafe { CStr::from_ptr(resolved) }.to_bytes().to_vec();
    // SAFETY: allocated by realpath with malloc, and used no more.
    unsafe { libc::free(resolved.cast()) };
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

/// Mirrors `std::fs::set_permissions`: fchmodat(2) of the path, following symlinks, as
/// chmod(2) (direct syscall: io_uring has no chmod opcode).
pub fn set_permissions<P: AsRef<Path>>(path: P, perm: Permissions) -> io::Result<()> {
    with_cpath(path.as_ref(), |path| {
        // SAFETY: `path` is NUL-terminated.
        cvt_r(|| unsafe { sc::fchmodat(libc::AT_FDCWD, path.as_ptr(), perm.mode) }).map(drop)
    })
}
