//! `Metadata`, `FileType` and `Permissions`: std's types, filled from one statx(2).

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::sys::syscall as sc;

use super::fd::cvt;

/// What std asks statx(2) for: the basic fields and the birth time.
const STATX_WANTED: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME;

/// statx(2) of `path` relative to `dir` with `flags` (`AT_EMPTY_PATH`,
/// `AT_SYMLINK_NOFOLLOW`), as std makes it: `AT_STATX_SYNC_AS_STAT`, basic fields + btime.
#[inline]
pub(crate) fn statx(dir: RawFd, path: &CStr, flags: i32) -> io::Result<Metadata> {
    let mut buf = MaybeUninit::<libc::statx>::uninit();
    // SAFETY: `path` is NUL-terminated and `buf` is valid for one statx, which the kernel
    // fills on success.
    cvt(unsafe {
        sc::statx(
            dir,
            path.as_ptr(),
            flags | libc::AT_STATX_SYNC_AS_STAT,
            STATX_WANTED,
            buf.as_mut_ptr(),
        )
    })?;
    // SAFETY: statx succeeded, so the kernel filled the struct.
    Ok(Metadata(unsafe { buf.assume_init() }))
}

/// Mirrors `std::fs::Metadata`: a file's type, size, permissions and times, from statx(2).
///
/// Implements `std::os::unix::fs::MetadataExt`, so `use std::os::unix::fs::MetadataExt`
/// gives `ino()`, `mode()`, `uid()`, ... as with std's type.
#[derive(Clone)]
pub struct Metadata(libc::statx);

impl Metadata {
    /// Mirrors `Metadata::file_type`.
    pub fn file_type(&self) -> FileType {
        FileType {
            mode: self.0.stx_mode as u32 & libc::S_IFMT,
        }
    }

    /// Mirrors `Metadata::is_dir`.
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// Mirrors `Metadata::is_file`.
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// Mirrors `Metadata::is_symlink`.
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// Mirrors `Metadata::len`: the size in bytes.
    #[allow(clippy::len_without_is_empty)] // std's Metadata has no is_empty either
    pub fn len(&self) -> u64 {
        self.0.stx_size
    }

    /// Mirrors `Metadata::permissions`: the whole `st_mode`, as std keeps it.
    pub fn permissions(&self) -> Permissions {
        Permissions {
            mode: self.0.stx_mode as u32,
        }
    }

    /// Mirrors `Metadata::modified`.
    pub fn modified(&self) -> io::Result<SystemTime> {
        Ok(system_time(self.0.stx_mtime))
    }

    /// Mirrors `Metadata::accessed`.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        Ok(system_time(self.0.stx_atime))
    }

    /// Mirrors `Metadata::created`: the birth time where the filesystem reports one, else
    /// `Unsupported` as std.
    pub fn created(&self) -> io::Result<SystemTime> {
        if self.0.stx_mask & libc::STATX_BTIME != 0 {
            Ok(system_time(self.0.stx_btime))
        } else {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "creation time is not available for the filesystem",
            ))
        }
    }
}

/// A statx timestamp as a `SystemTime`, also before 1970.
fn system_time(ts: libc::statx_timestamp) -> SystemTime {
    let nanos = Duration::new(0, ts.tv_nsec);
    if ts.tv_sec >= 0 {
        UNIX_EPOCH + Duration::from_secs(ts.tv_sec as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(ts.tv_sec.unsigned_abs()) + nanos
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("permissions", &self.permissions())
            .field("len", &self.len())
            .field("modified", &self.modified().ok())
            .field("accessed", &self.accessed().ok())
            .field("created", &self.created().ok())
            .finish_non_exhaustive()
    }
}

impl std::os::unix::fs::MetadataExt for Metadata {
    fn dev(&self) -> u64 {
        libc::makedev(self.0.stx_dev_major, self.0.stx_dev_minor)
    }
    fn ino(&self) -> u64 {
        self.0.stx_ino
    }
    fn mode(&self) -> u32 {
        self.0.stx_mode as u32
    }
    fn nlink(&self) -> u64 {
        self.0.stx_nlink as u64
    }
    fn uid(&self) -> u32 {
        self.0.stx_uid
    }
    fn gid(&self) -> u32 {
        self.0.stx_gid
    }
    fn rdev(&self) -> u64 {
        libc::makedev(self.0.stx_rdev_major, self.0.stx_rdev_minor)
    }
    fn size(&self) -> u64 {
        self.0.stx_size
    }
    fn atime(&self) -> i64 {
        self.0.stx_atime.tv_sec
    }
    fn atime_nsec(&self) -> i64 {
        self.0.stx_atime.tv_nsec as i64
    }
    fn mtime(&self) -> i64 {
        self.0.stx_mtime.tv_sec
    }
    fn mtime_nsec(&self) -> i64 {
        self.0.stx_mtime.tv_nsec as i64
    }
    fn ctime(&self) -> i64 {
        self.0.stx_ctime.tv_sec
    }
    fn ctime_nsec(&self) -> i64 {
        self.0.stx_ctime.tv_nsec as i64
    }
    fn blksize(&self) -> u64 {
        self.0.stx_blksize as u64
    }
    fn blocks(&self) -> u64 {
        self.0.stx_blocks
    }
}

/// Mirrors `std::fs::FileType`. Implements `std::os::unix::fs::FileTypeExt`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    pub(crate) mode: u32,
}

impl FileType {
    /// The type of a directory entry's `d_type`, or `None` for `DT_UNKNOWN`.
    pub(crate) fn from_dirent(d_type: u8) -> Option<FileType> {
        let mode = match d_type {
            libc::DT_REG => libc::S_IFREG,
            libc::DT_DIR => libc::S_IFDIR,
            libc::DT_LNK => libc::S_IFLNK,
            libc::DT_FIFO => libc::S_IFIFO,
            libc::DT_SOCK => libc::S_IFSOCK,
            libc::DT_CHR => libc::S_IFCHR,
            libc::DT_BLK => libc::S_IFBLK,
            _ => return None,
        };
        Some(FileType { mode })
    }

    fn is(&self, mode: u32) -> bool {
        self.mode & libc::S_IFMT == mode
    }

    /// Mirrors `FileType::is_dir`.
    pub fn is_dir(&self) -> bool {
        self.is(libc::S_IFDIR)
    }

    /// Mirrors `FileType::is_file`.
    pub fn is_file(&self) -> bool {
        self.is(libc::S_IFREG)
    }

    /// Mirrors `FileType::is_symlink`.
    pub fn is_symlink(&self) -> bool {
        self.is(libc::S_IFLNK)
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileType")
            .field("is_file", &self.is_file())
            .field("is_dir", &self.is_dir())
            .field("is_symlink", &self.is_symlink())
            .finish_non_exhaustive()
    }
}

impl std::os::unix::fs::FileTypeExt for FileType {
    fn is_block_device(&self) -> bool {
        self.is(libc::S_IFBLK)
    }
    fn is_char_device(&self) -> bool {
        self.is(libc::S_IFCHR)
    }
    fn is_fifo(&self) -> bool {
        self.is(libc::S_IFIFO)
    }
    fn is_socket(&self) -> bool {
        self.is(libc::S_IFSOCK)
    }
}

/// Mirrors `std::fs::Permissions`: a mode. Implements `std::os::unix::fs::PermissionsExt`.
#[derive(Clone, PartialEq, Eq)]
pub struct Permissions {
    pub(crate) mode: u32,
}

impl Permissions {
    /// Mirrors `Permissions::readonly`: no write bit set for anyone.
    pub fn readonly(&self) -> bool {
        self.mode & 0o222 == 0
    }

    /// Mirrors `Permissions::set_readonly`: clears or sets all three write bits.
    pub fn set_readonly(&mut self, readonly: bool) {
        if readonly {
            self.mode &= !0o222;
        } else {
            self.mode |= 0o222;
        }
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permissions")
            .field("mode", &format_args!("{:#o}", self.mode))
            .finish()
    }
}

impl std::os::unix::fs::PermissionsExt for Permissions {
    fn mode(&self) -> u32 {
        self.mode
    }
    fn set_mode(&mut self, mode: u32) {
        self.mode = mode;
    }
    fn from_mode(mode: u32) -> Permissions {
        Permissions { mode }
    }
}

impl From<std::fs::Permissions> for Permissions {
    fn from(perm: std::fs::Permissions) -> Permissions {
        use std::os::unix::fs::PermissionsExt;
        Permissions { mode: perm.mode() }
    }
}

impl From<Permissions> for std::fs::Permissions {
    fn from(perm: Permissions) -> std::fs::Permissions {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(perm.mode)
    }
}
