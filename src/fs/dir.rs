//! Directories: `read_dir` over getdents64(2), `DirEntry`, `DirBuilder`, and the recursive
//! `create_dir_all` and `remove_dir_all`, all direct syscalls (io_uring has no getdents
//! opcode, and the kernel hands mkdirat and unlinkat on a ring to a worker thread).

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sys::syscall as sc;

use super::fd::{Fd, cvt, cvt_r, with_cpath};
use super::meta::{FileType, Metadata, statx};

/// glibc's `readdir` buffer size: the same getdents64(2) calls std makes.
const DIRENT_BUF: usize = 32 * 1024;

/// Offsets in `struct linux_dirent64`: `d_ino` (u64), `d_off` (i64), `d_reclen` (u16),
/// `d_type` (u8), then the NUL-terminated name.
const D_RECLEN: usize = 16;
const D_TYPE: usize = 18;
const D_NAME: usize = 19;

/// An open directory and the path it was opened by.
struct Dir {
    fd: Fd,
    root: PathBuf,
}

/// Mirrors `std::fs::ReadDir`: the entries of a directory, without `.` and `..`.
///
/// getdents64(2) as a direct syscall (io_uring has no opcode for it), with glibc's buffer
/// size, so the entries come in the order std gives them.
pub struct ReadDir {
    dir: Arc<Dir>,
    buf: Vec<u8>,
    pos: usize,
    end: bool,
}

/// Opens `path` as a directory, with the flags glibc's `opendir` uses.
fn open_dir(path: &CStr) -> io::Result<Fd> {
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `path` is NUL-terminated; the new fd is ours.
    let fd = cvt_r(|| unsafe { sc::openat(libc::AT_FDCWD, path.as_ptr(), flags, 0) })?;
    // SAFETY: openat returned a new fd.
    Ok(unsafe { Fd::from_raw_fd(fd as RawFd) })
}

/// Mirrors `std::fs::read_dir`: openat(2) of the directory, then getdents64(2) as the
/// iterator goes (direct syscalls; io_uring has no getdents opcode).
///
/// ```
/// let names: Vec<_> = uring_os::fs::read_dir("src")?
///     .map(|entry| entry.map(|e| e.file_name()))
///     .collect::<Result<_, _>>()?;
/// assert!(names.iter().any(|name| name == "lib.rs"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    let path = path.as_ref();
    let fd = with_cpath(path, open_dir)?;
    Ok(ReadDir {
        dir: Arc::new(Dir {
            fd,
            root: path.to_path_buf(),
        }),
        buf: Vec::new(),
        pos: 0,
        end: false,
    })
}

impl ReadDir {
    /// The next raw record (`d_ino`, `d_type`, name without NUL), refilling the buffer.
    fn next_record(&mut self) -> Option<io::Result<(u64, u8, &[u8])>> {
        loop {
            if self.pos < self.buf.len() {
                let rec = &self.buf[self.pos..];
                let reclen = u16::from_ne_bytes([rec[D_RECLEN], rec[D_RECLEN + 1]]) as usize;
                let ino = u64::from_ne_bytes(rec[..8].try_into().expect("8 bytes"));
                let d_type = rec[D_TYPE];
                let name = &rec[D_NAME..reclen];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                let start = self.pos;
                self.pos += reclen;
                if name == b"." || name == b".." {
                    continue;
                }
                let name_at = start + D_NAME;
                let name = &self.buf[name_at..name_at + name.len()];
                return Some(Ok((ino, d_type, name)));
            }
            if self.end {
                return None;
            }
            if self.buf.capacity() < DIRENT_BUF {
                self.buf.reserve_exact(DIRENT_BUF);
            }
            self.buf.clear();
            self.pos = 0;
            let spare = self.buf.spare_capacity_mut();
            // SAFETY: the spare capacity is valid for writes of its length; the kernel
            // initialises the `n` bytes it reports.
            let res = unsafe {
                sc::getdents64(self.dir.fd.raw(), spare.as_mut_ptr().cast(), spare.len())
            };
            match cvt(res) {
                Ok(0) => {
                    self.end = true;
                    return None;
                }
                // SAFETY: the kernel wrote `n` bytes of records.
                Ok(n) => unsafe { self.buf.set_len(n) },
                Err(e) => {
                    self.end = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        let dir = Arc::clone(&self.dir);
        Some(self.next_record()?.map(|(ino, d_type, name)| {
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.extend_from_slice(name);
            DirEntry {
                dir,
                // SAFETY: a directory entry's name has no NUL byte (the kernel ends it at
                // the first one).
                name: unsafe { CString::from_vec_unchecked(bytes) },
                ino,
                d_type,
            }
        }))
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadDir").field(&self.dir.root).finish()
    }
}

/// Mirrors `std::fs::DirEntry`: one entry of a [`ReadDir`]. Implements
/// `std::os::unix::fs::DirEntryExt` (`ino`).
pub struct DirEntry {
    dir: Arc<Dir>,
    name: CString,
    ino: u64,
    d_type: u8,
}

impl DirEntry {
    /// Mirrors `DirEntry::path`: the directory's path joined with the entry's name.
    pub fn path(&self) -> PathBuf {
        self.dir.root.join(self.file_name_os())
    }

    /// Mirrors `DirEntry::file_name`.
    pub fn file_name(&self) -> OsString {
        self.file_name_os().to_os_string()
    }

    fn file_name_os(&self) -> &OsStr {
        OsStr::from_bytes(self.name.as_bytes())
    }

    /// Mirrors `DirEntry::metadata`: statx(2) of the name relative to the open directory,
    /// not following a symlink (direct syscall: the ring hands statx to a worker thread).
    pub fn metadata(&self) -> io::Result<Metadata> {
        statx(self.dir.fd.raw(), &self.name, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// Mirrors `DirEntry::file_type`: from the entry's `d_type`, or statx(2) as
    /// [`metadata`](DirEntry::metadata) where the filesystem does not report it.
    pub fn file_type(&self) -> io::Result<FileType> {
        match FileType::from_dirent(self.d_type) {
            Some(ty) => Ok(ty),
            None => self.metadata().map(|m| m.file_type()),
        }
    }

    /// The type from `d_type` alone, if the filesystem gave one.
    pub(crate) fn known_type(&self) -> Option<FileType> {
        FileType::from_dirent(self.d_type)
    }

    /// The name as a C string.
    pub(crate) fn name_cstr(&self) -> &CStr {
        &self.name
    }
}

impl std::os::unix::fs::DirEntryExt for DirEntry {
    fn ino(&self) -> u64 {
        self.ino
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}

/// mkdirat(2) relative to the current directory (direct syscall).
pub(crate) fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    with_cpath(path, |path| {
        // SAFETY: `path` is NUL-terminated.
        cvt(unsafe { sc::mkdirat(libc::AT_FDCWD, path.as_ptr(), mode) }).map(drop)
    })
}

/// Mirrors `std::fs::DirBuilder` (with `std::os::unix::fs::DirBuilderExt`'s `mode`):
/// mkdirat(2) for each directory it makes (direct syscall).
#[derive(Debug)]
pub struct DirBuilder {
    mode: u32,
    recursive: bool,
}

impl Default for DirBuilder {
    fn default() -> DirBuilder {
        DirBuilder::new()
    }
}

impl DirBuilder {
    /// Mirrors `DirBuilder::new`: mode 0o777 (less the umask), not recursive.
    #[must_use]
    pub fn new() -> DirBuilder {
        DirBuilder {
            mode: 0o777,
            recursive: false,
        }
    }

    /// Mirrors `DirBuilder::recursive`.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// Mirrors `DirBuilder::create`.
    pub fn create<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        if self.recursive {
            self.create_all(path.as_ref())
        } else {
            mkdir(path.as_ref(), self.mode)
        }
    }

    /// std's algorithm: make the directory; where its parent is missing, make the parent
    /// first; an existing directory is success.
    fn create_all(&self, path: &Path) -> io::Result<()> {
        if path == Path::new("") {
            return Ok(());
        }
        match mkdir(path, self.mode) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(_) if is_dir(path) => return Ok(()),
            Err(e) => return Err(e),
        }
        match path.parent() {
            Some(parent) => self.create_all(parent)?,
            None => {
                return Err(io::Error::other("failed to create whole tree"));
            }
        }
        match mkdir(path, self.mode) {
            Ok(()) => Ok(()),
            Err(_) if is_dir(path) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl std::os::unix::fs::DirBuilderExt for DirBuilder {
    fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = mode;
        self
    }
}

/// Whether `path` is a directory (following symlinks), as `Path::is_dir` but through the
/// seam.
fn is_dir(path: &Path) -> bool {
    super::metadata(path).is_ok_and(|m| m.is_dir())
}

/// Mirrors `std::fs::remove_dir_all`: a symlink is removed itself; a directory is emptied
/// depth first through fds (openat with `O_NOFOLLOW | O_DIRECTORY`, getdents64, unlinkat
/// relative to each directory, so no path is followed twice), as std does. Entries that
/// vanish meanwhile are not an error. Direct syscalls: the kernel hands unlinkat on a ring
/// to a worker thread.
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    if super::symlink_metadata(path)?.is_symlink() {
        return super::remove_file(path);
    }
    with_cpath(path, |path| remove_tree(None, path))
}

fn remove_tree(parent: Option<&Fd>, name: &CStr) -> io::Result<()> {
    let parent_raw = parent.map_or(libc::AT_FDCWD, Fd::raw);
    let flags = libc::O_CLOEXEC | libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_DIRECTORY;
    // SAFETY: `name` is NUL-terminated; the new fd is ours.
    let opened = cvt_r(|| unsafe { sc::openat(parent_raw, name.as_ptr(), flags, 0) });
    let fd = match opened {
        // Not a directory (ELOOP: a symlink on old kernels): unlink it, unless it is the
        // root the caller named.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
            return match parent {
                // SAFETY: `name` is NUL-terminated.
                Some(_) => cvt(unsafe { sc::unlinkat(parent_raw, name.as_ptr(), 0) }).map(drop),
                None => Err(e),
            };
        }
        // SAFETY: openat returned a new fd.
        res => unsafe { Fd::from_raw_fd(res? as RawFd) },
    };
    let mut entries = ReadDir {
        dir: Arc::new(Dir {
            fd,
            root: PathBuf::new(),
        }),
        buf: Vec::new(),
        pos: 0,
        end: false,
    };
    let dir = Arc::clone(&entries.dir);
    for entry in &mut entries {
        let entry = entry?;
        let child = entry.name_cstr();
        let res = match entry.known_type() {
            Some(ty) if !ty.is_dir() => {
                // SAFETY: `child` is NUL-terminated.
                cvt(unsafe { sc::unlinkat(dir.fd.raw(), child.as_ptr(), 0) }).map(drop)
            }
            // A directory, or unknown: recurse (which unlinks a non-directory).
            _ => remove_tree(Some(&dir.fd), child),
        };
        match res {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    // SAFETY: `name` is NUL-terminated.
    match cvt(unsafe { sc::unlinkat(parent_raw, name.as_ptr(), libc::AT_REMOVEDIR) }) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        res => res.map(drop),
    }
}
