//! What the example tools `ucp` and `hashtree` share: directory listing (getdents64, which
//! io_uring has no opcode for), file status, GNU-style quoting and error text, the
//! progress line. Included by each tool with `#[path = "tools/mod.rs"] mod tools;`.

#![allow(dead_code, reason = "each tool uses only some of these helpers")]

use std::ffi::{CStr, CString};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// An entry of a directory: its name and its `d_type` (`DT_UNKNOWN` where the file
/// system does not say).
pub struct Entry {
    pub name: CString,
    pub kind: u8,
}

/// The status a tool asks for: everything `cp -a` preserves or compares.
pub const STATX_MASK: u32 = libc::STATX_TYPE
    | libc::STATX_MODE
    | libc::STATX_NLINK
    | libc::STATX_UID
    | libc::STATX_GID
    | libc::STATX_ATIME
    | libc::STATX_MTIME
    | libc::STATX_INO
    | libc::STATX_SIZE;

/// Turns a raw syscall result (-1 and errno) into an `io::Result`.
pub fn cvt(res: libc::c_int) -> io::Result<libc::c_int> {
    if res < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(res)
    }
}

/// openat(2) of directory `name` in `dir` (`AT_FDCWD` for a path), not following a
/// symlink at its end.
pub fn open_dir(dir: libc::c_int, name: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `name` is NUL-terminated and lives for the call.
    let fd = cvt(unsafe { libc::openat(dir, name.as_ptr(), flags) })?;
    // SAFETY: openat returned a new fd, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The entries of the open directory `dir` (without `.` and `..`), in getdents64(2)
/// order.
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<Entry>> {
    // Offsets in `struct linux_dirent64`: d_ino u64, d_off i64, d_reclen u16, d_type u8, name.
    const RECLEN: usize = 16;
    const TYPE: usize = 18;
    const NAME: usize = 19;
    let mut buf = vec![0u8; 64 * 1024];
    let mut entries = Vec::new();
    loop {
        // SAFETY: the buffer is writable for its length; the fd is open (borrowed).
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(entries);
        }
        let mut pos = 0;
        while pos < n as usize {
            let reclen = u16::from_ne_bytes([buf[pos + RECLEN], buf[pos + RECLEN + 1]]) as usize;
            let record = &buf[pos..pos + reclen];
            let name = CStr::from_bytes_until_nul(&record[NAME..])
                .expect("getdents64 names are NUL-terminated");
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                entries.push(Entry {
                    name: name.to_owned(),
                    kind: record[TYPE],
                });
            }
            pos += reclen;
        }
    }
}

/// statx(2) of `name` in `dir`, not following a symlink at its end (lstat).
pub fn lstat_at(dir: libc::c_int, name: &CStr) -> io::Result<libc::statx> {
    let mut stx = std::mem::MaybeUninit::<libc::statx>::uninit();
    // SAFETY: a NUL-terminated path and a statx buffer, both valid for the call.
    cvt(unsafe {
        libc::statx(
            dir,
            name.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            STATX_MASK,
            stx.as_mut_ptr(),
        )
    })?;
    // SAFETY: statx succeeded, so it filled the buffer.
    Ok(unsafe { stx.assume_init() })
}

/// The file type bits (`S_IFMT`) of a status.
pub fn file_type(stx: &libc::statx) -> u32 {
    u32::from(stx.stx_mode) & libc::S_IFMT
}

/// An error as coreutils prints it: the system's message without Rust's "(os error N)".
pub fn error_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// A file name quoted as GNU coreutils quotes names in messages (`quoteaf`, the
/// shell-escape-always style): `'name'`; `"it's"` for a name with a single quote and
/// nothing a double-quoted shell word would expand; otherwise `'a'\''b'`, and control
/// characters as `$'\n'`.
pub fn quote(name: &[u8]) -> String {
    let text = String::from_utf8_lossy(name);
    let control = |c: char| c.is_control();
    if !text.chars().any(control) {
        if !text.contains('\'') {
            return format!("'{text}'");
        }
        if !text.contains(['"', '$', '`', '\\']) {
            return format!("\"{text}\"");
        }
        return format!("'{}'", text.replace('\'', "'\\''"));
    }
    let mut out = String::from("'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            c if control(c) => {
                let escaped = match c {
                    '\n' => "\\n".to_string(),
                    '\t' => "\\t".to_string(),
                    '\r' => "\\r".to_string(),
                    c => format!("\\{:03o}", c as u32),
                };
                out.push_str(&format!("'$'{escaped}''"));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    // '' pairs left between two escapes say nothing.
    out.replace("''$'", "$'").replace("'''", "'")
}

/// Whether fd 2 is a terminal.
pub fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(2) == 1 }
}

/// What a tool has done so far, for its progress line: updated by any thread.
#[derive(Default)]
pub struct Counters {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

impl Counters {
    pub fn add(&self, files: u64, bytes: u64) {
        self.files.fetch_add(files, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// When a tool shows its progress line on stderr.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Never (`-q`).
    Never,
    /// For a long run: an updating line on a terminal, a summary line at the end otherwise.
    Long,
    /// Always, also for a short run (`--progress`).
    Always,
}

/// The progress line: "tool: N files, X MB, Y MB/s".
pub struct Progress {
    tool: &'static str,
    show: Show,
    start: Instant,
    terminal: bool,
    shown: bool,
}

/// A run counts as long past this, and the terminal line appears then.
const LONG_RUN: Duration = Duration::from_secs(2);

impl Progress {
    pub fn new(tool: &'static str, show: Show) -> Progress {
        Progress {
            tool,
            show,
            start: Instant::now(),
            terminal: stderr_is_terminal(),
            shown: false,
        }
    }

    fn line(&self, counters: &Counters) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let files = counters.files.load(Ordering::Relaxed);
        let bytes = counters.bytes.load(Ordering::Relaxed) as f64;
        format!(
            "{}: {files} files, {:.1} MB, {:.1} MB/s, {secs:.1} s",
            self.tool,
            bytes / 1e6,
            bytes / 1e6 / secs
        )
    }

    /// Redraws the terminal line (on a terminal, once the run is long).
    pub fn tick(&mut self, counters: &Counters) {
        let long = self.show == Show::Always || self.start.elapsed() >= LONG_RUN;
        if self.terminal && self.show != Show::Never && long {
            let _ = write!(io::stderr(), "\r\x1b[K{}", self.line(counters));
            self.shown = true;
        }
    }

    /// The final line: ends the terminal line, or prints the summary of a long run.
    pub fn finish(&mut self, counters: &Counters) {
        let long = self.show == Show::Always || self.start.elapsed() >= LONG_RUN;
        if self.shown {
            let _ = writeln!(io::stderr(), "\r\x1b[K{}", self.line(counters));
        } else if self.show != Show::Never && long {
            let _ = writeln!(io::stderr(), "{}", self.line(counters));
        }
    }
}

/// Raises the soft limit of open files to the hard limit: a tree walk keeps a few
/// directories open per level and per thread.
pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The number of threads a tool uses by default: one per CPU, at least two (one can wait
/// on the disk while the other works).
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}
