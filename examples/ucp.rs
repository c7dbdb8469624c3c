//! `ucp SRC... DST`: copies files and trees as GNU `cp -a` does, with io_uring.
//!
//! ```text
//! cargo run --release --example ucp -- [-q] [--progress] [-j THREADS] [--depth N] SRC... DST
//! ```
//!
//! What `cp -a` keeps, this keeps: contents, modes, ownership (as root; a non-root copy
//! keeps what it may, as cp does), access and modification times (to the nanosecond),
//! symlinks as symlinks, FIFOs and device nodes as such, hard links between files of the
//! tree, and extended attributes (ACLs included) where the file systems have them, their
//! failures silent as with `cp -a`. `DST` is created; if it is an existing directory, each
//! `SRC` is copied into it under its own name. Holes in sparse files are not kept.
//!
//! How: the main thread walks the source tree (getdents64, which io_uring has no opcode
//! for) and creates the directories; worker threads, each with its own ring, take one
//! directory's files at a time. They read the files' status in one batch, then copy each
//! small file as one linked chain — open, read, create, write, close, close — with up to
//! `--depth` chains in flight, and large files in 1 MiB read-then-write chunks, several in
//! flight. Ownership, times and attributes, which io_uring has no opcodes for, are set
//! with direct syscalls once a file's data is written; directories get theirs last.
//!
//! On a terminal, a copy that lasts more than two seconds shows a progress line on stderr
//! (files, bytes, rate); elsewhere it prints one summary line at the end of such a copy.
//! `-q` silences it, `--progress` shows it however short the copy. Errors are reported
//! as cp reports them (`ucp: cannot open 'x' for reading: Permission denied`); the copy
//! goes on with the other files and the exit status is 1.

#[path = "tools/mod.rs"]
mod tools;

use std::collections::{HashMap, VecDeque};
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tools::{Counters, Entry, Progress, Show, cvt, error_text, file_type, quote};
use uring_os::{Batch, Handle, ScopeBuf};

/// Files up to this size are copied in one chain: read whole, written whole.
const SMALL_MAX: u64 = 256 * 1024;
/// A large file is copied in chunks of this size ...
const CHUNK: usize = 1 << 20;
/// ... this many in flight.
const CHUNK_DEPTH: usize = 4;
/// Small files per batch scope (its buffers are freed when it ends).
const FILES_PER_SCOPE: usize = 256;
/// Entries of a directory handed to a worker at a time.
const ENTRIES_PER_JOB: usize = 1024;
/// Jobs the walker may queue ahead of the workers.
const QUEUE_LIMIT: usize = 256;

struct Options {
    threads: usize,
    depth: usize,
    show: Show,
}

/// Who a newly created file belongs to, and whether ownership can be given away.
struct Owner {
    euid: u32,
    egid: u32,
    root: bool,
}

/// A source directory and its copy, both open, shared by the jobs of its entries.
struct DirPair {
    src: PathBuf,
    dst: PathBuf,
    src_fd: OwnedFd,
    dst_fd: OwnedFd,
    /// The group a file created in `dst` gets (its own if it is set-group-ID).
    new_gid: u32,
}

/// A non-directory entry to copy, its status known.
struct File {
    dir: Arc<DirPair>,
    name: CString,
    /// The copy's name, where it differs (`ucp a/x b/y`).
    dst_name: Option<CString>,
    stat: libc::statx,
}

impl File {
    fn dst_name(&self) -> &CStr {
        self.dst_name.as_deref().unwrap_or(&self.name)
    }

    fn src_path(&self) -> PathBuf {
        self.dir.src.join(path_of(&self.name))
    }

    fn dst_path(&self) -> PathBuf {
        self.dir.dst.join(path_of(self.dst_name()))
    }
}

enum Job {
    /// Entries of a directory (none of them a directory), status not read yet.
    Entries(Arc<DirPair>, Vec<CString>),
    /// A large regular file.
    Large(Box<File>),
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Jobs queued and not finished (taken or not).
    pending: usize,
    /// The walk is over: no more jobs come but those workers queue.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued, when the last one finishes, and when the queue
    /// has room again.
    changed: Condvar,
    failed: AtomicBool,
    counters: Counters,
    /// Files with more than one link: copied (the first name) or linked (the others)
    /// once the rest is done.
    linked: Mutex<Vec<File>>,
    owner: Owner,
    depth: usize,
}

impl Shared {
    fn error(&self, msg: String) {
        eprintln!("ucp: {msg}");
        self.failed.store(true, Ordering::Relaxed);
    }

    fn push(&self, job: Job, front: bool) {
        let mut q = self.queue.lock().unwrap();
        q.pending += 1;
        if front {
            q.jobs.push_front(job);
        } else {
            q.jobs.push_back(job);
        }
        self.changed.notify_all();
    }

    /// Queues a job of the walker, waiting while the workers are far behind.
    fn push_walked(&self, job: Job) {
        let mut q = self.queue.lock().unwrap();
        while q.jobs.len() >= QUEUE_LIMIT {
            q = self.changed.wait(q).unwrap();
        }
        drop(q);
        self.push(job, false);
    }

    fn take(&self) -> Option<Job> {
        let mut q = self.queue.lock().unwrap();
        loop {
            if let Some(job) = q.jobs.pop_front() {
                self.changed.notify_all();
                return Some(job);
            }
            if q.closed && q.pending == 0 {
                return None;
            }
            q = self.changed.wait(q).unwrap();
        }
    }

    fn done(&self) {
        let mut q = self.queue.lock().unwrap();
        q.pending -= 1;
        if q.pending == 0 {
            self.changed.notify_all();
        }
    }

    fn close(&self) {
        self.queue.lock().unwrap().closed = true;
        self.changed.notify_all();
    }

    /// Waits until every job is finished, `tick`ing meanwhile.
    fn wait_all(&self, mut tick: impl FnMut()) {
        let mut q = self.queue.lock().unwrap();
        while q.pending > 0 || !q.closed {
            q = self
                .changed
                .wait_timeout(q, Duration::from_millis(200))
                .unwrap()
                .0;
            tick();
        }
    }
}

fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes).expect("names and paths from the kernel have no NUL")
}

fn c_path(path: &Path) -> CString {
    cstring(path.as_os_str().as_bytes())
}

/// Display form of a path in messages.
fn q(path: &Path) -> String {
    quote(path.as_os_str().as_bytes())
}

fn path_of(name: &CStr) -> &Path {
    Path::new(OsStr::from_bytes(name.to_bytes()))
}

// ---------------------------------------------------------------------------------------
// Metadata: what io_uring has no opcode for, as direct syscalls.

/// Gives `name` in `dir` (a copy) the ownership, permissions, extended attributes and
/// times of `stat`, the status of `src`, as `cp -a` does; reports what fails.
fn set_metadata(sh: &Shared, dir: &DirPair, name: &CStr, src: &Path, stat: &libc::statx) {
    let dst = || dir.dst.join(path_of(name));
    let kind = file_type(stat);
    let dfd = dir.dst_fd.as_raw_fd();
    let mut mode = u32::from(stat.stx_mode) & 0o7777;
    // A new file is ours, in the directory's group: change it only when that differs.
    let owner_differs = stat.stx_uid != sh.owner.euid || stat.stx_gid != dir.new_gid;
    if owner_differs || kind == libc::S_IFDIR {
        let res = cvt(unsafe_chown(dfd, name, stat.stx_uid, stat.stx_gid));
        if let Err(e) = res {
            let errno = e.raw_os_error();
            if !sh.owner.root && matches!(errno, Some(libc::EPERM) | Some(libc::EINVAL)) {
                // As cp: a user keeps the group if they may, and drops set-ID bits.
                let _ = unsafe_chown(dfd, name, u32::MAX, stat.stx_gid);
                mode &= !(libc::S_ISUID | libc::S_ISGID);
            } else {
                sh.error(format!(
                    "failed to preserve ownership for {}: {}",
                    q(&dst()),
                    error_text(&e)
                ));
            }
        }
    }
    // Files are created with their permission bits (umask 0); set-ID and sticky bits,
    // which a chown clears, and directories (made writable while filled) need a chmod.
    if kind != libc::S_IFLNK && (mode & 0o7000 != 0 || kind == libc::S_IFDIR) {
        // SAFETY: a NUL-terminated name relative to an open directory.
        if let Err(e) = cvt(unsafe { libc::fchmodat(dfd, name.as_ptr(), mode, 0) }) {
            sh.error(format!(
                "preserving permissions for {}: {}",
                q(&dst()),
                error_text(&e)
            ));
        }
    }
    if kind == libc::S_IFREG || kind == libc::S_IFDIR {
        copy_xattrs(src, &dst());
    }
    let times = [
        libc::timespec {
            tv_sec: stat.stx_atime.tv_sec,
            tv_nsec: i64::from(stat.stx_atime.tv_nsec),
        },
        libc::timespec {
            tv_sec: stat.stx_mtime.tv_sec,
            tv_nsec: i64::from(stat.stx_mtime.tv_nsec),
        },
    ];
    // SAFETY: a NUL-terminated name and two timespecs, valid for the call.
    let res = unsafe {
        libc::utimensat(
            dfd,
            name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if let Err(e) = cvt(res) {
        sh.error(format!(
            "preserving times for {}: {}",
            q(&dst()),
            error_text(&e)
        ));
    }
}

fn unsafe_chown(dir: libc::c_int, name: &CStr, uid: u32, gid: u32) -> libc::c_int {
    // SAFETY: a NUL-terminated name relative to an open directory.
    unsafe { libc::fchownat(dir, name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }
}

/// Copies the extended attributes of `src` to `dst`; failures are silent, as with
/// `cp -a` (a file system without them, an attribute only root may set).
fn copy_xattrs(src: &Path, dst: &Path) {
    let (src, dst) = (c_path(src), c_path(dst));
    let mut names = vec![0u8; 1024];
    let len = loop {
        // SAFETY: a NUL-terminated path and a buffer writable for its length.
        let n = unsafe { libc::llistxattr(src.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        if n >= 0 {
            break n as usize;
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) {
            return;
        }
        names.resize(names.len() * 4, 0);
    };
    let mut value = vec![0u8; 4096];
    for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = cstring(name);
        let vlen = loop {
            // SAFETY: NUL-terminated path and name; a buffer writable for its length.
            let n = unsafe {
                libc::lgetxattr(
                    src.as_ptr(),
                    name.as_ptr(),
                    value.as_mut_ptr().cast(),
                    value.len(),
                )
            };
            if n >= 0 {
                break Some(n as usize);
            }
            if io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) {
                break None;
            }
            value.resize(value.len() * 4, 0);
        };
        if let Some(vlen) = vlen {
            // SAFETY: NUL-terminated path and name; `vlen` readable bytes of value.
            unsafe { libc::lsetxattr(dst.as_ptr(), name.as_ptr(), value.as_ptr().cast(), vlen, 0) };
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small files: one chain each, up to `depth` in flight.

/// The handles of one small file's chain.
struct Chain<'s> {
    index: usize,
    open: Handle<'s, OwnedFd>,
    read: Option<Handle<'s, usize>>,
    create: Handle<'s, OwnedFd>,
    write: Option<Handle<'s, usize>>,
    close_src: Handle<'s, ()>,
    close_dst: Handle<'s, ()>,
}

/// Queues the chain that copies `file` (its data fits `buf`): open, read, create, write,
/// close both.
fn queue_small<'s>(
    s: &'s Batch<'s, '_>,
    index: usize,
    file: &'s File,
    buf: ScopeBuf<'s>,
) -> Chain<'s> {
    let size = file.stat.stx_size as usize;
    let mode = u32::from(file.stat.stx_mode) & 0o777;
    s.link(|s| {
        let open = s.openat(
            &file.dir.src_fd,
            path_of(&file.name),
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0,
        );
        let read = (size > 0).then(|| s.pread(open.fd(), buf.until(size), 0));
        let create = s.openat(
            &file.dir.dst_fd,
            path_of(file.dst_name()),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            mode,
        );
        let write = (size > 0).then(|| s.pwrite(create.fd(), buf.until(size), 0));
        let close_src = s.close(open.fd());
        let close_dst = s.close(create.fd());
        Chain {
            index,
            open,
            read,
            create,
            write,
            close_src,
            close_dst,
        }
    })
}

/// How a small file's chain ended.
enum Outcome {
    Copied,
    /// Reported already.
    Failed,
    /// Not copied by the chain (the file changed size, or the copy exists): copy it
    /// one step at a time.
    Retry,
}

/// Waits for a chain and says how it went; reports its error.
fn finish_small(sh: &Shared, file: &File, chain: Chain<'_>) -> Outcome {
    let closed_src = chain.close_src.wait();
    let closed_dst = chain.close_dst.wait();
    if closed_src.is_ok() && closed_dst.is_ok() {
        return Outcome::Copied;
    }
    // The chain was cut: the first step that failed says why.
    if let Err(e) = chain.open.wait() {
        sh.error(format!(
            "cannot open {} for reading: {}",
            q(&file.src_path()),
            error_text(&e)
        ));
        return Outcome::Failed;
    }
    if let Some(read) = chain.read {
        match read.wait() {
            Ok(n) if n == file.stat.stx_size as usize => {}
            Ok(_) => return Outcome::Retry,
            Err(e) => {
                sh.error(format!(
                    "error reading {}: {}",
                    q(&file.src_path()),
                    error_text(&e)
                ));
                return Outcome::Failed;
            }
        }
    }
    match chain.create.wait() {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => return Outcome::Retry,
        Err(e) => {
            sh.error(format!(
                "cannot create regular file {}: {}",
                q(&file.dst_path()),
                error_text(&e)
            ));
            return Outcome::Failed;
        }
        Ok(_) => {}
    }
    if let Some(write) = chain.write {
        match write.wait() {
            Ok(n) if n == file.stat.stx_size as usize => {}
            Ok(_) => return Outcome::Retry,
            Err(e) => {
                sh.error(format!(
                    "error writing {}: {}",
                    q(&file.dst_path()),
                    error_text(&e)
                ));
                return Outcome::Failed;
            }
        }
    }
    for res in [closed_src, closed_dst] {
        if let Err(e) = res {
            if e.raw_os_error() != Some(libc::ECANCELED) {
                sh.error(format!(
                    "closing {}: {}",
                    q(&file.dst_path()),
                    error_text(&e)
                ));
                return Outcome::Failed;
            }
        }
    }
    Outcome::Retry
}

/// Copies small regular files: a chain each, up to `depth` in flight.
fn copy_small_files(sh: &Shared, files: &[File]) {
    for group in files.chunks(FILES_PER_SCOPE) {
        let mut retry = Vec::new();
        uring_os::batch(|s| {
            let mut in_flight: VecDeque<Chain<'_>> = VecDeque::new();
            let mut settle = |chain: Chain<'_>| {
                let file = &group[chain.index];
                match finish_small(sh, file, chain) {
                    Outcome::Copied => {
                        set_metadata(sh, &file.dir, file.dst_name(), &file.src_path(), &file.stat);
                        sh.counters.add(1, file.stat.stx_size);
                    }
                    Outcome::Failed => {}
                    Outcome::Retry => retry.push(file),
                }
            };
            for (index, file) in group.iter().enumerate() {
                if in_flight.len() >= sh.depth {
                    settle(in_flight.pop_front().expect("depth is at least 1"));
                }
                let buf = s.buffer((file.stat.stx_size as usize).max(1));
                in_flight.push_back(queue_small(s, index, file, buf));
                s.submit();
            }
            for chain in in_flight {
                settle(chain);
            }
        });
        for file in retry {
            copy_file_slowly(sh, file);
        }
    }
}

// ---------------------------------------------------------------------------------------
// One file at a time: large files (chunks in flight), and the step-by-step path.

/// Opens the source of `file` and creates its copy (truncating one that exists, as cp
/// does); reports failures.
fn open_pair(sh: &Shared, file: &File) -> Option<(OwnedFd, OwnedFd)> {
    let mode = u32::from(file.stat.stx_mode) & 0o777;
    // SAFETY: a NUL-terminated name relative to an open directory.
    let src = cvt(unsafe {
        libc::openat(
            file.dir.src_fd.as_raw_fd(),
            file.name.as_ptr(),
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    });
    let src = match src {
        // SAFETY: openat returned a new fd, ours alone.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
        Err(e) => {
            sh.error(format!(
                "cannot open {} for reading: {}",
                q(&file.src_path()),
                error_text(&e)
            ));
            return None;
        }
    };
    let create = |flags| {
        // SAFETY: a NUL-terminated name relative to an open directory.
        cvt(unsafe {
            libc::openat(
                file.dir.dst_fd.as_raw_fd(),
                file.dst_name().as_ptr(),
                flags | libc::O_WRONLY | libc::O_CLOEXEC,
                mode,
            )
        })
    };
    let dst = match create(libc::O_CREAT | libc::O_EXCL) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => create(libc::O_TRUNC),
        other => other,
    };
    match dst {
        // SAFETY: openat returned a new fd, ours alone.
        Ok(fd) => Some((src, unsafe { OwnedFd::from_raw_fd(fd) })),
        Err(e) => {
            sh.error(format!(
                "cannot create regular file {}: {}",
                q(&file.dst_path()),
                error_text(&e)
            ));
            None
        }
    }
}

/// Copies from `offset` to the end of the source, a read and a write at a time; the bytes
/// copied, or the error reported.
fn copy_rest(
    sh: &Shared,
    file: &File,
    src: &OwnedFd,
    dst: &OwnedFd,
    mut offset: u64,
) -> Option<u64> {
    let mut buf = vec![0u8; CHUNK];
    let start = offset;
    loop {
        let n = match uring_os::pread(src, &mut buf, offset) {
            Ok(0) => return Some(offset - start),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                sh.error(format!(
                    "error reading {}: {}",
                    q(&file.src_path()),
                    error_text(&e)
                ));
                return None;
            }
        };
        let mut done = 0;
        while done < n {
            match uring_os::pwrite(dst, &buf[done..n], offset + done as u64) {
                Ok(0) => {
                    sh.error(format!(
                        "error writing {}: short write",
                        q(&file.dst_path())
                    ));
                    return None;
                }
                Ok(w) => done += w,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    sh.error(format!(
                        "error writing {}: {}",
                        q(&file.dst_path()),
                        error_text(&e)
                    ));
                    return None;
                }
            }
        }
        offset += n as u64;
    }
}

/// Copies a regular file step by step (after a chain could not), then its metadata.
fn copy_file_slowly(sh: &Shared, file: &File) {
    let Some((src, dst)) = open_pair(sh, file) else {
        return;
    };
    if let Some(bytes) = copy_rest(sh, file, &src, &dst, 0) {
        drop((src, dst));
        set_metadata(sh, &file.dir, file.dst_name(), &file.src_path(), &file.stat);
        sh.counters.add(1, bytes);
    }
}

/// Copies a large file: 1 MiB chunks, each a read and a linked write, `CHUNK_DEPTH` in
/// flight; then whatever is past the size it had (a file growing meanwhile).
fn copy_large(sh: &Shared, file: &File) {
    let Some((src, dst)) = open_pair(sh, file) else {
        return;
    };
    match copy_in_kernel(sh, file, &src, &dst) {
        InKernel::Done => {
            drop((src, dst));
            set_metadata(sh, &file.dir, file.dst_name(), &file.src_path(), &file.stat);
            sh.counters.add(1, 0);
            return;
        }
        InKernel::Failed => return,
        InKernel::Unsupported => {}
    }
    let size = file.stat.stx_size;
    // Some(bytes copied) on success; None once an error was reported.
    let copied: Option<u64> = uring_os::batch(|s| {
        let mut free: Vec<ScopeBuf<'_>> = (0..CHUNK_DEPTH).map(|_| s.buffer(CHUNK)).collect();
        let mut in_flight = VecDeque::new();
        let mut next = 0u64;
        loop {
            while next < size {
                let Some(buf) = free.pop() else { break };
                let len = ((size - next) as usize).min(CHUNK);
                let (read, write) = s.link(|s| {
                    (
                        s.pread(&src, buf.until(len), next),
                        s.pwrite(&dst, buf.until(len), next),
                    )
                });
                in_flight.push_back((next, len, buf, read, write));
                next += len as u64;
            }
            s.submit();
            let Some((offset, len, buf, read, write)) = in_flight.pop_front() else {
                break;
            };
            match write.wait() {
                Ok(n) if n == len => {
                    sh.counters.add(0, len as u64);
                    free.push(buf);
                    continue;
                }
                Ok(n) => {
                    // A short write: the rest from there, one step at a time.
                    return finish_large(sh, file, &src, &dst, offset + n as u64);
                }
                Err(e) if e.raw_os_error() != Some(libc::ECANCELED) => {
                    sh.error(format!(
                        "error writing {}: {}",
                        q(&file.dst_path()),
                        error_text(&e)
                    ));
                    return None;
                }
                Err(_) => {}
            }
            match read.wait() {
                Err(e) => {
                    sh.error(format!(
                        "error reading {}: {}",
                        q(&file.src_path()),
                        error_text(&e)
                    ));
                    return None;
                }
                // A short read (the file shrank, or a later chunk was cut): go on from
                // where the bytes stop, one step at a time.
                Ok(_) => return finish_large(sh, file, &src, &dst, offset),
            }
        }
        finish_large(sh, file, &src, &dst, size)
    });
    drop((src, dst));
    if copied.is_some() {
        set_metadata(sh, &file.dir, file.dst_name(), &file.src_path(), &file.stat);
        sh.counters.add(1, 0);
    }
}

/// How [`copy_in_kernel`] went.
enum InKernel {
    Done,
    /// Reported already.
    Failed,
    /// The kernel cannot copy between these files (nothing was copied).
    Unsupported,
}

/// Copies a whole file with copy_file_range(2), which io_uring has no opcode for: the
/// kernel moves the pages from cache to cache, one copy where a read and a write make two
/// (measured: six times faster than 1 MiB read/write chunks through the ring, on cached
/// files). Goes on until the source's end, wherever that is now.
fn copy_in_kernel(sh: &Shared, file: &File, src: &OwnedFd, dst: &OwnedFd) -> InKernel {
    const STEP: usize = 16 << 20;
    let mut copied = 0u64;
    loop {
        // SAFETY: two fds we own; null offsets use (and advance) the files' own.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                std::ptr::null_mut(),
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                STEP,
                0,
            )
        };
        match n {
            0 => return InKernel::Done,
            n if n > 0 => {
                copied += n as u64;
                sh.counters.add(0, n as u64);
            }
            _ => {
                let e = io::Error::last_os_error();
                let errno = e.raw_os_error();
                if copied == 0
                    && matches!(
                        errno,
                        Some(libc::EXDEV | libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP)
                    )
                {
                    return InKernel::Unsupported;
                }
                if errno == Some(libc::EINTR) {
                    continue;
                }
                // Which side failed is not said: cp words it as a read error of the source
                // unless the destination's file system is full or failing.
                let msg = if matches!(errno, Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG)) {
                    format!("error writing {}: {}", q(&file.dst_path()), error_text(&e))
                } else {
                    format!("error reading {}: {}", q(&file.src_path()), error_text(&e))
                };
                sh.error(msg);
                return InKernel::Failed;
            }
        }
    }
}

/// Copies the rest of a large file from `offset` step by step and trims the copy to what
/// was copied (chunks past a short read may have been written).
fn finish_large(
    sh: &Shared,
    file: &File,
    src: &OwnedFd,
    dst: &OwnedFd,
    offset: u64,
) -> Option<u64> {
    let rest = copy_rest(sh, file, src, dst, offset)?;
    let end = offset + rest;
    if end != file.stat.stx_size {
        // SAFETY: ftruncate on an fd we own.
        if let Err(e) = cvt(unsafe { libc::ftruncate(dst.as_raw_fd(), end as i64) }) {
            sh.error(format!(
                "error writing {}: {}",
                q(&file.dst_path()),
                error_text(&e)
            ));
            return None;
        }
    }
    sh.counters.add(0, rest);
    Some(end)
}

// ---------------------------------------------------------------------------------------
// Other kinds of files.

fn copy_symlink(sh: &Shared, file: &File) {
    let mut target = vec![0u8; (file.stat.stx_size as usize).max(255) + 1];
    // SAFETY: a NUL-terminated name relative to an open directory; a writable buffer.
    let n = unsafe {
        libc::readlinkat(
            file.dir.src_fd.as_raw_fd(),
            file.name.as_ptr(),
            target.as_mut_ptr().cast(),
            target.len(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        sh.error(format!(
            "cannot read symbolic link {}: {}",
            q(&file.src_path()),
            error_text(&e)
        ));
        return;
    }
    let target = cstring(&target[..n as usize]);
    // SAFETY: NUL-terminated target and name, relative to an open directory.
    let res = unsafe {
        libc::symlinkat(
            target.as_ptr(),
            file.dir.dst_fd.as_raw_fd(),
            file.dst_name().as_ptr(),
        )
    };
    if let Err(e) = cvt(res) {
        sh.error(format!(
            "cannot create symbolic link {} to {}: {}",
            q(&file.dst_path()),
            quote(target.to_bytes()),
            error_text(&e)
        ));
        return;
    }
    set_metadata(sh, &file.dir, file.dst_name(), &file.src_path(), &file.stat);
    sh.counters.add(1, 0);
}

/// A FIFO, socket or device node: made anew, as cp -a does.
fn copy_special(sh: &Shared, file: &File) {
    let mode = u32::from(file.stat.stx_mode);
    let dev = libc::makedev(file.stat.stx_rdev_major, file.stat.stx_rdev_minor);
    // SAFETY: a NUL-terminated name relative to an open directory.
    let res = unsafe {
        libc::mknodat(
            file.dir.dst_fd.as_raw_fd(),
            file.dst_name().as_ptr(),
            mode & !0o7000,
            dev,
        )
    };
    if let Err(e) = cvt(res) {
        let what = if file_type(&file.stat) == libc::S_IFIFO {
            "cannot create fifo"
        } else {
            "cannot create special file"
        };
        sh.error(format!(
            "{what} {}: {}",
            q(&file.dst_path()),
            error_text(&e)
        ));
        return;
    }
    set_metadata(sh, &file.dir, file.dst_name(), &file.src_path(), &file.stat);
    sh.counters.add(1, 0);
}

/// Files with several links, copied last: the first name of each inode is copied, the
/// others are hard links to its copy (cp -a keeps hard links within what it copies).
fn copy_linked(sh: &Shared, mut files: Vec<File>) {
    // In walk order (jobs finish in any order): by directory, then name.
    files.sort_by(|a, b| (&a.dir.src, &a.name).cmp(&(&b.dir.src, &b.name)));
    let mut first: HashMap<(u32, u32, u64), usize> = HashMap::new();
    for i in 0..files.len() {
        let st = &files[i].stat;
        let key = (st.stx_dev_major, st.stx_dev_minor, st.stx_ino);
        match first.get(&key) {
            None => {
                first.insert(key, i);
                copy_one(sh, &files[i]);
            }
            Some(&j) => {
                let (to, from) = (&files[i], &files[j]);
                // SAFETY: NUL-terminated names relative to open directories.
                let res = unsafe {
                    libc::linkat(
                        from.dir.dst_fd.as_raw_fd(),
                        from.dst_name().as_ptr(),
                        to.dir.dst_fd.as_raw_fd(),
                        to.dst_name().as_ptr(),
                        0,
                    )
                };
                match cvt(res) {
                    Ok(_) => sh.counters.add(1, 0),
                    Err(e) => sh.error(format!(
                        "cannot create hard link {} to {}: {}",
                        q(&to.dst_path()),
                        q(&from.dst_path()),
                        error_text(&e)
                    )),
                }
            }
        }
    }
}

/// Copies one non-directory, whatever its kind, without batching.
fn copy_one(sh: &Shared, file: &File) {
    match file_type(&file.stat) {
        libc::S_IFREG => copy_file_slowly(sh, file),
        libc::S_IFLNK => copy_symlink(sh, file),
        _ => copy_special(sh, file),
    }
}

// ---------------------------------------------------------------------------------------
// Workers.

/// The status of each name in `dir`, read in one batch (the kernel overlaps them, which a
/// cold cache needs).
fn stat_all(dir: &DirPair, names: &[CString]) -> Vec<io::Result<libc::statx>> {
    uring_os::batch(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                s.statx(
                    &dir.src_fd,
                    path_of(name),
                    libc::AT_SYMLINK_NOFOLLOW,
                    tools::STATX_MASK,
                )
            })
            .collect();
        handles.into_iter().map(Handle::wait).collect()
    })
}

fn copy_entries(sh: &Shared, dir: Arc<DirPair>, names: Vec<CString>) {
    let stats = stat_all(&dir, &names);
    let mut small = Vec::new();
    for (name, stat) in names.into_iter().zip(stats) {
        let stat = match stat {
            Ok(stat) => stat,
            Err(e) => {
                let path = dir.src.join(path_of(&name));
                sh.error(format!("cannot stat {}: {}", q(&path), error_text(&e)));
                continue;
            }
        };
        let file = File {
            dir: dir.clone(),
            name,
            dst_name: None,
            stat,
        };
        let kind = file_type(&stat);
        if kind == libc::S_IFDIR {
            // Became a directory since the walk saw it: cp would copy what it finds.
            continue;
        }
        if stat.stx_nlink > 1 {
            sh.linked.lock().unwrap().push(file);
        } else if kind == libc::S_IFREG && stat.stx_size <= SMALL_MAX {
            small.push(file);
        } else if kind == libc::S_IFREG {
            sh.push(Job::Large(Box::new(file)), true);
        } else if kind == libc::S_IFLNK {
            copy_symlink(sh, &file);
        } else {
            copy_special(sh, &file);
        }
    }
    copy_small_files(sh, &small);
}

fn worker(sh: &Shared) {
    while let Some(job) = sh.take() {
        match job {
            Job::Entries(dir, names) => copy_entries(sh, dir, names),
            Job::Large(file) => copy_large(sh, &file),
        }
        sh.done();
    }
}

// ---------------------------------------------------------------------------------------
// The walk.

/// A directory copied: its metadata is set once everything in it is.
struct Made {
    dir: Arc<DirPair>,
    /// The copy's parent and name, for its metadata.
    parent: Arc<DirPair>,
    name: CString,
    src: PathBuf,
    stat: libc::statx,
}

/// Creates directory `name` in `parent` (or the path `dst` when `parent` is None), made
/// writable while it is filled, and opens both; reports failures.
fn make_dir(
    sh: &Shared,
    src_fd: OwnedFd,
    src: PathBuf,
    dst: PathBuf,
    parent: Option<&DirPair>,
    name: &CStr,
    stat: &libc::statx,
) -> Option<DirPair> {
    let (pfd, pname) = match parent {
        Some(p) => (p.dst_fd.as_raw_fd(), name.to_owned()),
        None => (libc::AT_FDCWD, c_path(&dst)),
    };
    let mode = (u32::from(stat.stx_mode) & 0o777) | 0o700;
    // SAFETY: a NUL-terminated name relative to an open directory (or the cwd).
    let made = cvt(unsafe { libc::mkdirat(pfd, pname.as_ptr(), mode) });
    if let Err(e) = made {
        let exists_as_dir = e.raw_os_error() == Some(libc::EEXIST)
            && tools::lstat_at(pfd, &pname).is_ok_and(|st| file_type(&st) == libc::S_IFDIR);
        if !exists_as_dir {
            sh.error(format!(
                "cannot create directory {}: {}",
                q(&dst),
                error_text(&e)
            ));
            return None;
        }
    }
    let dst_fd = match tools::open_dir(pfd, &pname) {
        Ok(fd) => fd,
        Err(e) => {
            sh.error(format!("cannot access {}: {}", q(&dst), error_text(&e)));
            return None;
        }
    };
    let new_gid = new_file_gid(sh, &dst_fd);
    Some(DirPair {
        src,
        dst,
        src_fd,
        dst_fd,
        new_gid,
    })
}

/// The group a file created in directory `dir` gets: the directory's own if it is
/// set-group-ID, else ours.
fn new_file_gid(sh: &Shared, dir: &OwnedFd) -> u32 {
    match fstat(dir) {
        Ok(st) if u32::from(st.stx_mode) & libc::S_ISGID != 0 => st.stx_gid,
        _ => sh.owner.egid,
    }
}

fn fstat(fd: &OwnedFd) -> io::Result<libc::statx> {
    let mut stx = std::mem::MaybeUninit::<libc::statx>::uninit();
    // SAFETY: an empty NUL-terminated path with AT_EMPTY_PATH, and a statx buffer.
    cvt(unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            tools::STATX_MASK,
            stx.as_mut_ptr(),
        )
    })?;
    // SAFETY: statx succeeded, so it filled the buffer.
    Ok(unsafe { stx.assume_init() })
}

/// Walks the tree at `src`, whose status is `stat`, copying it to `dst`: creates the
/// directories and queues their other entries for the workers. Returns the directories
/// made, parents first.
fn walk(sh: &Shared, src: &Path, dst: &Path, stat: &libc::statx) -> Vec<Made> {
    let mut made = Vec::new();
    let src_fd = match tools::open_dir(libc::AT_FDCWD, &c_path(src)) {
        Ok(fd) => fd,
        Err(e) => {
            sh.error(format!("cannot access {}: {}", q(src), error_text(&e)));
            return made;
        }
    };
    let Some(root) = make_dir(sh, src_fd, src.into(), dst.into(), None, c"", stat) else {
        return made;
    };
    let root = Arc::new(root);
    // The root's metadata goes through the cwd: a parent with the copy's path as name.
    let cwd = Arc::new(DirPair {
        src: PathBuf::new(),
        dst: PathBuf::new(),
        src_fd: tools::open_dir(libc::AT_FDCWD, c".").expect("the current directory"),
        dst_fd: tools::open_dir(libc::AT_FDCWD, c".").expect("the current directory"),
        new_gid: sh.owner.egid,
    });
    made.push(Made {
        dir: root.clone(),
        parent: cwd,
        name: c_path(dst),
        src: src.into(),
        stat: *stat,
    });
    let mut next = 0;
    while next < made.len() {
        let dir = made[next].dir.clone();
        next += 1;
        let entries = match tools::list_dir(dir.src_fd.as_fd()) {
            Ok(entries) => entries,
            Err(e) => {
                sh.error(format!(
                    "cannot open directory {}: {}",
                    q(&dir.src),
                    error_text(&e)
                ));
                continue;
            }
        };
        let mut others = Vec::new();
        for Entry { name, kind } in entries {
            let subdir_stat = match kind {
                libc::DT_DIR | libc::DT_UNKNOWN => {
                    match tools::lstat_at(dir.src_fd.as_raw_fd(), &name) {
                        Ok(st) if file_type(&st) == libc::S_IFDIR => Some(st),
                        Ok(_) => None,
                        Err(e) => {
                            let path = dir.src.join(path_of(&name));
                            sh.error(format!("cannot stat {}: {}", q(&path), error_text(&e)));
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let Some(st) = subdir_stat else {
                others.push(name);
                if others.len() == ENTRIES_PER_JOB {
                    sh.push_walked(Job::Entries(dir.clone(), std::mem::take(&mut others)));
                }
                continue;
            };
            let (sub_src, sub_dst) = (dir.src.join(path_of(&name)), dir.dst.join(path_of(&name)));
            let sub_fd = match tools::open_dir(dir.src_fd.as_raw_fd(), &name) {
                Ok(fd) => fd,
                Err(e) => {
                    sh.error(format!(
                        "cannot open directory {}: {}",
                        q(&sub_src),
                        error_text(&e)
                    ));
                    continue;
                }
            };
            if let Some(sub) =
                make_dir(sh, sub_fd, sub_src.clone(), sub_dst, Some(&dir), &name, &st)
            {
                made.push(Made {
                    dir: Arc::new(sub),
                    parent: dir.clone(),
                    name,
                    src: sub_src,
                    stat: st,
                });
            }
        }
        if !others.is_empty() {
            sh.push_walked(Job::Entries(dir.clone(), others));
        }
    }
    made
}

// ---------------------------------------------------------------------------------------

fn usage() -> ! {
    eprintln!("usage: ucp [-q] [--progress] [-j THREADS] [--depth N] SRC... DST");
    std::process::exit(2);
}

fn parse_args() -> (Options, Vec<PathBuf>) {
    let mut opts = Options {
        threads: tools::default_threads(),
        depth: 32,
        show: Show::Long,
    };
    let mut paths = Vec::new();
    let mut args = std::env::args_os().skip(1);
    let number = |args: &mut dyn Iterator<Item = std::ffi::OsString>| -> usize {
        args.next()
            .and_then(|a| a.to_str().and_then(|s| s.parse().ok()))
            .filter(|&n: &usize| n > 0)
            .unwrap_or_else(|| usage())
    };
    let mut options_end = false;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            _ if options_end => paths.push(PathBuf::from(arg)),
            Some("--") => options_end = true,
            Some("-q") | Some("--quiet") => opts.show = Show::Never,
            Some("--progress") => opts.show = Show::Always,
            Some("-j") | Some("--threads") => opts.threads = number(&mut args),
            Some("--depth") => opts.depth = number(&mut args),
            Some(s) if s.starts_with('-') && s.len() > 1 => usage(),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.len() < 2 {
        usage();
    }
    (opts, paths)
}

/// Whether `dst` lies inside the directory `src` (or is it).
fn inside(src: &Path, dst: &Path) -> bool {
    let Ok(src) = std::fs::canonicalize(src) else {
        return false;
    };
    let parent = dst
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(parent) = std::fs::canonicalize(parent) else {
        return false;
    };
    let dst = match dst.file_name() {
        Some(name) => parent.join(name),
        None => parent,
    };
    dst.starts_with(&src)
}

fn main() {
    let (opts, mut paths) = parse_args();
    let target = paths.pop().expect("two paths at least");
    let target_is_dir = std::fs::metadata(&target).is_ok_and(|m| m.is_dir());
    if paths.len() > 1 && !target_is_dir {
        eprintln!("ucp: target {} is not a directory", q(&target));
        std::process::exit(1);
    }
    let _ = uring_os::configure(uring_os::Config::default().entries(256));
    tools::raise_fd_limit();
    // Files are created with their own permission bits; the umask plays no part in cp -a.
    // SAFETY: umask only sets the process's file mode mask.
    unsafe { libc::umask(0) };
    // SAFETY: these only read the process's credentials.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let sh = Shared {
        queue: Mutex::new(Queue::default()),
        changed: Condvar::new(),
        failed: AtomicBool::new(false),
        counters: Counters::default(),
        linked: Mutex::new(Vec::new()),
        owner: Owner {
            euid,
            egid,
            root: euid == 0,
        },
        depth: opts.depth,
    };
    let mut progress = Progress::new("ucp", opts.show);
    std::thread::scope(|scope| {
        for _ in 0..opts.threads {
            scope.spawn(|| worker(&sh));
        }
        let mut made = Vec::new();
        for src in &paths {
            let dst = match (target_is_dir, src.file_name()) {
                (true, Some(name)) => target.join(name),
                _ => target.clone(),
            };
            let stat = match tools::lstat_at(libc::AT_FDCWD, &c_path(src)) {
                Ok(stat) => stat,
                Err(e) => {
                    sh.error(format!("cannot stat {}: {}", q(src), error_text(&e)));
                    continue;
                }
            };
            if file_type(&stat) == libc::S_IFDIR {
                if inside(src, &dst) {
                    sh.error(format!(
                        "cannot copy a directory, {}, into itself, {}",
                        q(src),
                        q(&dst)
                    ));
                    continue;
                }
                made.extend(walk(&sh, src, &dst, &stat));
            } else {
                copy_top_file(&sh, src, &dst, stat);
            }
        }
        sh.close();
        sh.wait_all(|| progress.tick(&sh.counters));
        // The workers are done (the scope joins them): hard links, then directories.
        let linked = std::mem::take(&mut *sh.linked.lock().unwrap());
        copy_linked(&sh, linked);
        for m in made.iter().rev() {
            set_metadata(&sh, &m.parent, &m.name, &m.src, &m.stat);
        }
    });
    progress.finish(&sh.counters);
    if sh.failed.load(Ordering::Relaxed) {
        std::process::exit(1);
    }
}

/// Copies a source that is not a directory to the path `dst`.
fn copy_top_file(sh: &Shared, src: &Path, dst: &Path, stat: libc::statx) {
    let dir_of = |p: &Path| match p.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (Some(src_name), Some(dst_name)) = (src.file_name(), dst.file_name()) else {
        return sh.error(format!("cannot copy {} to {}", q(src), q(dst)));
    };
    let (src_dir, dst_dir) = (dir_of(src), dir_of(dst));
    let open = |dir: &Path| tools::open_dir(libc::AT_FDCWD, &c_path(dir));
    let (src_fd, dst_fd) = match (open(&src_dir), open(&dst_dir)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) => {
            return sh.error(format!("cannot access {}: {}", q(&src_dir), error_text(&e)));
        }
        (_, Err(e)) => {
            return sh.error(format!("cannot access {}: {}", q(&dst_dir), error_text(&e)));
        }
    };
    let new_gid = new_file_gid(sh, &dst_fd);
    let dir = Arc::new(DirPair {
        src: src_dir,
        dst: dst_dir,
        src_fd,
        dst_fd,
        new_gid,
    });
    let file = File {
        dir,
        name: cstring(src_name.as_bytes()),
        dst_name: (src_name != dst_name).then(|| cstring(dst_name.as_bytes())),
        stat,
    };
    copy_one(sh, &file);
}
