//! `File` and `OpenOptions`: std's types over direct syscalls made through the seam.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::RawFd;
use std::path::Path;

use crate::sys::syscall as sc;

use super::fd::{Fd, IntoFd, cvt, cvt_r, fd_conversions, with_cpath};
use super::meta::{Metadata, Permissions, statx};

/// Mirrors `std::fs::File`: an open file, closed (through the seam) when dropped.
///
/// Reads, writes, seeks, `sync_all`, `set_len` and `metadata` are direct syscalls: one
/// blocking operation through a ring costs about 1.6 times the syscall on cached data, and
/// the kernel hands fsync and ftruncate to a worker thread, so for one blocking caller the
/// syscall is the fastest way to std's result. Converts to and from `std::fs::File` and
/// `OwnedFd` without a syscall.
///
/// ```
/// use std::io::{Read, Write};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("hello.txt");
/// let mut file = uring_os::fs::File::create(&path)?;
/// file.write_all(b"hello")?;
/// let mut text = String::new();
/// uring_os::fs::File::open(&path)?.read_to_string(&mut text)?;
/// assert_eq!(text, "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    inner: Fd,
}

impl File {
    fn from_fd(inner: Fd) -> File {
        File { inner }
    }

    /// Mirrors `File::open`: openat(2) with `O_RDONLY | O_CLOEXEC` (direct syscall).
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().read(true).open(path.as_ref())
    }

    /// Mirrors `File::create`: openat(2) with `O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC`,
    /// mode 0o666 (direct syscall: the kernel hands an `O_CREAT` open on a ring to a worker).
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path.as_ref())
    }

    /// Mirrors `File::create_new`: openat(2) with `O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC`
    /// (direct syscall).
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path.as_ref())
    }

    /// Mirrors `File::options`: a new [`OpenOptions`].
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Mirrors `File::sync_all`: fsync(2), retried on `EINTR` (direct syscall: the ring would
    /// hand it to a worker thread).
    pub fn sync_all(&self) -> io::Result<()> {
        // SAFETY: fsync takes an fd.
        cvt_r(|| unsafe { sc::fsync(self.raw()) }).map(drop)
    }

    /// Mirrors `File::sync_data`: fdatasync(2), retried on `EINTR` (direct syscall).
    pub fn sync_data(&self) -> io::Result<()> {
        // SAFETY: fdatasync takes an fd.
        cvt_r(|| unsafe { sc::fdatasync(self.raw()) }).map(drop)
    }

    /// Mirrors `File::set_len`: ftruncate(2), retried on `EINTR` (direct syscall). A length
    /// beyond `i64::MAX` is `InvalidInput`, as std.
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        let size = i64::try_from(size).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set file size beyond i64::MAX",
            )
        })?;
        // SAFETY: ftruncate takes an fd and a length.
        cvt_r(|| unsafe { sc::ftruncate(self.raw(), size) }).map(drop)
    }

    /// Mirrors `File::metadata`: statx(2) of the fd with `AT_EMPTY_PATH` (direct syscall:
    /// the ring always hands statx to a worker thread).
    pub fn metadata(&self) -> io::Result<Metadata> {
        statx(self.raw(), c"", libc::AT_EMPTY_PATH)
    }

    /// Mirrors `File::try_clone`: `fcntl(F_DUPFD_CLOEXEC)` (direct syscall: no opcode).
    pub fn try_clone(&self) -> io::Result<File> {
        self.inner.duplicate().map(File::from_fd)
    }

    /// Mirrors `File::set_permissions`: fchmod(2) (direct syscall: io_uring has no opcode).
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        // SAFETY: fchmod takes an fd and a mode.
        cvt_r(|| unsafe { sc::fchmod(self.raw(), perm.mode) }).map(drop)
    }

    #[inline]
    fn raw(&self) -> RawFd {
        self.inner.raw()
    }
}

fd_conversions!(File, std::fs::File);

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("fd", &self.raw()).finish()
    }
}

/// read(2) into `buf`, as std's `File::read`.
#[inline]
pub(crate) fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length (read(2) clamps it to MAX_RW_COUNT).
    cvt(unsafe { sc::read(fd, buf.as_mut_ptr(), buf.len()) })
}

/// write(2) of `buf`, as std's `File::write`.
#[inline]
pub(crate) fn write_fd(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    cvt(unsafe { sc::write(fd, buf.as_ptr(), buf.len()) })
}

/// write(2) until all of `buf` is written, as `Write::write_all`: `WriteZero` if the
/// kernel takes nothing, `EINTR` retried.
pub(crate) fn write_all_fd(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write_fd(fd, buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ));
            }
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The most iovecs one readv/writev takes (`IOV_MAX`).
const IOV_MAX: usize = 1024;

/// readv(2), as std's `read_vectored`.
pub(crate) fn readv_fd(fd: RawFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    let n = bufs.len().min(IOV_MAX) as i32;
    // SAFETY: IoSliceMut has iovec's layout and each points to a buffer valid for writes.
    cvt(unsafe { sc::readv(fd, bufs.as_ptr().cast(), n) })
}

/// writev(2), as std's `write_vectored`.
pub(crate) fn writev_fd(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let n = bufs.len().min(IOV_MAX) as i32;
    // SAFETY: IoSlice has iovec's layout and each points to a buffer valid for reads.
    cvt(unsafe { sc::writev(fd, bufs.as_ptr().cast(), n) })
}

/// Reads until end of file into `buf`'s spare capacity, growing it, as std's
/// `read_to_end`; `hint` is how many bytes are expected (reserved up front). When the
/// buffer is exactly full, a small read on the stack checks for the end before growing it,
/// so a file read with an exact hint is never copied to a larger buffer.
pub(crate) fn read_to_end_fd(fd: RawFd, buf: &mut Vec<u8>, hint: usize) -> io::Result<usize> {
    let start = buf.len();
    buf.try_reserve(hint)
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    loop {
        if buf.len() == buf.capacity() {
            let mut probe = [0u8; 32];
            match read_fd(fd, &mut probe) {
                Ok(0) => return Ok(buf.len() - start),
                Ok(n) => {
                    buf.reserve(32.max(buf.capacity() - start));
                    buf.extend_from_slice(&probe[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        let spare = buf.spare_capacity_mut();
        // SAFETY: the spare capacity is valid for writes of its length; read(2) initialises
        // the first `n` bytes it reports.
        let res = unsafe { sc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        match cvt(res) {
            Ok(0) => return Ok(buf.len() - start),
            // SAFETY: the kernel wrote `n` bytes after the current length.
            Ok(n) => unsafe { buf.set_len(buf.len() + n) },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `read_to_string` on top of [`read_to_end_fd`]: std's `InvalidData` for bytes that are not
/// UTF-8, with `buf` left as it was.
pub(crate) fn read_to_string_fd(fd: RawFd, buf: &mut String, hint: usize) -> io::Result<usize> {
    let mut bytes = std::mem::take(buf).into_bytes();
    let start = bytes.len();
    let res = read_to_end_fd(fd, &mut bytes, hint);
    match std::str::from_utf8(&bytes[start..]) {
        Ok(_) => {
            // SAFETY: the old contents were a String and the new part was just checked.
            *buf = unsafe { String::from_utf8_unchecked(bytes) };
            res
        }
        Err(_) => {
            bytes.truncate(start);
            // SAFETY: the first `start` bytes were the caller's String.
            *buf = unsafe { String::from_utf8_unchecked(bytes) };
            res.and_then(|_| Err(invalid_utf8()))
        }
    }
}

/// std's error for text that is not UTF-8.
#[cold]
pub(crate) fn invalid_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "stream did not contain valid UTF-8",
    )
}

impl File {
    /// How many bytes are left from the file position to the end, as std's size hint for
    /// `read_to_end` (statx + lseek); 0 when unknown.
    fn remaining(&self) -> usize {
        let Ok(meta) = self.metadata() else { return 0 };
        // SAFETY: lseek with SEEK_CUR and 0 moves nothing.
        let pos = unsafe { sc::lseek(self.raw(), 0, libc::SEEK_CUR) };
        if pos < 0 {
            return 0;
        }
        meta.len().saturating_sub(pos as u64) as usize
    }
}

impl Read for &File {
    /// read(2) (direct syscall).
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_fd(self.raw(), buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        readv_fd(self.raw(), bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        read_to_end_fd(self.raw(), buf, self.remaining())
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        read_to_string_fd(self.raw(), buf, self.remaining())
    }
}

impl Write for &File {
    /// write(2) (direct syscall).
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_fd(self.raw(), buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        writev_fd(self.raw(), bufs)
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for &File {
    /// lseek(2) (direct syscall: io_uring has no opcode).
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (offset, whence) = match pos {
            SeekFrom::Start(off) => (off as i64, libc::SEEK_SET),
            SeekFrom::End(off) => (off, libc::SEEK_END),
            SeekFrom::Current(off) => (off, libc::SEEK_CUR),
        };
        // SAFETY: lseek takes integers.
        cvt(unsafe { sc::lseek(self.raw(), offset, whence) }).map(|n| n as u64)
    }
}

/// The `Read`, `Write` and `Seek` impls of an owned type, delegating to those of `&Type`.
macro_rules! delegate_io_to_ref {
    ($ty:ty) => {
        impl ::std::io::Read for $ty {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                (&*self).read(buf)
            }
            fn read_vectored(
                &mut self,
                bufs: &mut [::std::io::IoSliceMut<'_>],
            ) -> ::std::io::Result<usize> {
                (&*self).read_vectored(bufs)
            }
            fn read_to_end(&mut self, buf: &mut Vec<u8>) -> ::std::io::Result<usize> {
                (&*self).read_to_end(buf)
            }
            fn read_to_string(&mut self, buf: &mut String) -> ::std::io::Result<usize> {
                (&*self).read_to_string(buf)
            }
        }
        impl ::std::io::Write for $ty {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
                (&*self).write(buf)
            }
            fn write_vectored(
                &mut self,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::io::Result<usize> {
                (&*self).write_vectored(bufs)
            }
            #[inline]
            fn flush(&mut self) -> ::std::io::Result<()> {
                (&*self).flush()
            }
        }
    };
}
pub(crate) use delegate_io_to_ref;

delegate_io_to_ref!(File);

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

impl std::os::unix::fs::FileExt for File {
    /// pread(2) (direct syscall: one blocking read through a ring costs ~1.6x the syscall).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length.
        cvt(unsafe { sc::pread64(self.raw(), buf.as_mut_ptr(), buf.len(), offset as i64) })
    }

    /// pwrite(2) (direct syscall).
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        // SAFETY: `buf` is valid for reads of its length.
        cvt(unsafe { sc::pwrite64(self.raw(), buf.as_ptr(), buf.len(), offset as i64) })
    }
}

/// Mirrors `std::fs::OpenOptions`, including `std::os::unix::fs::OpenOptionsExt`'s `mode`
/// and `custom_flags`. `open` is one openat(2), direct: the kernel hands an `O_CREAT` or
/// `O_TRUNC` open, or one whose path is not cached, on a ring to a worker thread.
///
/// ```
/// use std::os::unix::fs::OpenOptionsExt;
/// let dir = tempfile::tempdir()?;
/// let file = uring_os::fs::OpenOptions::new()
///     .write(true)
///     .create_new(true)
///     .mode(0o600)
///     .open(dir.path().join("secret"))?;
/// # drop(file);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    custom_flags: i32,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// Mirrors `OpenOptions::new`: nothing set, mode 0o666.
    #[must_use]
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            custom_flags: 0,
            mode: 0o666,
        }
    }

    /// Mirrors `OpenOptions::read`.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.read = read;
        self
    }

    /// Mirrors `OpenOptions::write`.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.write = write;
        self
    }

    /// Mirrors `OpenOptions::append`.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.append = append;
        self
    }

    /// Mirrors `OpenOptions::truncate`.
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.truncate = truncate;
        self
    }

    /// Mirrors `OpenOptions::create`.
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.create = create;
        self
    }

    /// Mirrors `OpenOptions::create_new`.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.create_new = create_new;
        self
    }

    /// Mirrors `OpenOptions::open`: openat(2) with `O_CLOEXEC` always, retried on `EINTR`
    /// (direct syscall). Contradictory options fail with std's `InvalidInput` errors before
    /// any syscall.
    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        let flags = self.flags()?;
        with_cpath(path.as_ref(), |path| {
            // SAFETY: `path` is NUL-terminated; the new fd is ours.
            let res =
                cvt_r(|| unsafe { sc::openat(libc::AT_FDCWD, path.as_ptr(), flags, self.mode) })?;
            // SAFETY: openat returned a new fd.
            Ok(File::from_fd(unsafe {
                std::os::fd::FromRawFd::from_raw_fd(res as RawFd)
            }))
        })
    }

    /// The open(2) flags std derives from the options.
    pub(crate) fn flags(&self) -> io::Result<i32> {
        let invalid = |msg: &'static str| io::Error::new(io::ErrorKind::InvalidInput, msg);
        let needs_write = "creating or truncating a file requires write or append access";
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return Err(invalid(
                    "must specify at least one of read, write, or append access",
                ));
            }
        };
        match (self.write, self.append) {
            (true, false) => {}
            (false, false) => {
                if self.truncate || self.create || self.create_new {
                    return Err(invalid(needs_write));
                }
            }
            (_, true) => {
                if self.truncate && !self.create_new {
                    return Err(invalid(needs_write));
                }
            }
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (false, false, false) => 0,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
        };
        Ok(libc::O_CLOEXEC | access | creation | (self.custom_flags & !libc::O_ACCMODE))
    }
}

impl std::os::unix::fs::OpenOptionsExt for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.mode = mode;
        self
    }

    fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.custom_flags = flags;
        self
    }
}

impl IntoFd for File {
    fn into_fd(self) -> Fd {
        self.inner
    }
}

/// Opens `path` read-only as std's `File::open`, giving the raw owner (for `fs::read`).
#[inline]
pub(crate) fn open_read(path: &std::ffi::CStr) -> io::Result<Fd> {
    // SAFETY: `path` is NUL-terminated; the new fd is ours.
    let res = cvt_r(|| unsafe {
        sc::openat(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: openat returned a new fd.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(res as RawFd) })
}

impl File {
    /// The fd, for the free functions of this module.
    pub(crate) fn fd(&self) -> &Fd {
        &self.inner
    }
}
