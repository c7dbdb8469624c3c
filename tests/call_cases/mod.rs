//! The table of cases that compares every blocking call of `uring_os` with the direct libc
//! syscall, shared by `tests/calls.rs` (through the ring, and in a child where seccomp refuses
//! io_uring) and `tests/fallback_off.rs` (with `URING_OS=off`).
//!
//! A case is one closure written against [`Api`], run twice on fresh, identical fixtures: once
//! with [`Uring`] (the crate's calls) and once with [`Libc`] (the syscalls themselves). The two
//! outcomes — the value the case describes (byte counts, data, file positions, fd flags, file
//! contents afterwards) or the errno — must be equal, and the libc outcome must be the one the
//! case is named after, so that a case that tests nothing cannot pass.
//!
//! Nothing here prints: the runner returns the differences as strings, so that it can run in a
//! fork child where printing is not safe.

#![allow(dead_code, reason = "each test binary uses only some of the groups")]

use std::io::{IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod sockaddr;

use crate::common::sys::{self, R, cpath, cvt, new_fd, unit};
use crate::common::{drain, listener, pos, tcp_pair, ue, warm_up};
use sockaddr::{RawAddr, getsockname};
/// What a case reports: a description of everything it observed, or the errno that ended it.
pub type Outcome = Result<String, i32>;

/// The content of `file` in every fixture.
pub const CONTENT: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// One case: run with both [`Api`]s on fresh fixtures, the outcomes must be equal.
pub struct Case {
    /// What the case does and what the syscall gives.
    pub name: &'static str,
    /// What the direct syscall must give: `None` for success, else the errno. Checks the case.
    pub expect: Option<i32>,
    /// The case, written once against both implementations.
    pub run: fn(&dyn Api, &Fx) -> Outcome,
    /// Whether a wrong implementation could block forever (the case relies on `O_NONBLOCK`
    /// or a flag to get `EAGAIN`): `uring_os` then runs under a 2 s [`uring_os::with_timeout`],
    /// so that blocking shows as `ETIMEDOUT` instead of a hung test.
    pub may_block: bool,
}

const OK: Option<i32> = None;

fn c(name: &'static str, expect: Option<i32>, run: fn(&dyn Api, &Fx) -> Outcome) -> Case {
    Case {
        name,
        expect,
        run,
        may_block: false,
    }
}

/// A case that a wrong implementation could block on forever; see [`Case::may_block`].
fn nb(name: &'static str, expect: Option<i32>, run: fn(&dyn Api, &Fx) -> Outcome) -> Case {
    Case {
        may_block: true,
        ..c(name, expect, run)
    }
}

/// Runs every case with both implementations and returns a line per difference (empty: all
/// equal). A case whose libc outcome is not the one it expects is reported too: the case is
/// wrong then, not necessarily the crate.
///
/// Each case runs `uring_os` on a new thread that has made [`warm_up`] calls first, so that
/// the case's calls go through a ring, and no case sees what an earlier one left in the
/// thread's state (fd numbers are reused from case to case; `tests/calls.rs` checks reuse
/// on purpose).
pub fn run_cases(cases: &[Case]) -> Vec<String> {
    run_cases_with(cases, true)
}

/// [`run_cases`] on the calling thread, for a fork child (which should not start threads).
pub fn run_cases_inline(cases: &[Case]) -> Vec<String> {
    run_cases_with(cases, false)
}

fn run_uring(case: &Case) -> Outcome {
    let fx = Fx::new();
    if case.may_block {
        uring_os::with_timeout(Duration::from_secs(2), || (case.run)(&Uring, &fx))
    } else {
        (case.run)(&Uring, &fx)
    }
}

fn run_cases_with(cases: &[Case], fresh_threads: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let trace = std::env::var_os("CALL_CASES_TRACE").is_some();
    for case in cases {
        if trace {
            eprintln!("case: {}", case.name);
        }
        let ours = if fresh_threads {
            std::thread::scope(|s| {
                s.spawn(|| {
                    warm_up();
                    run_uring(case)
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        } else {
            run_uring(case)
        };
        let theirs = {
            let fx = Fx::new();
            (case.run)(&Libc, &fx)
        };
        if theirs.as_ref().err().copied() != case.expect {
            problems.push(format!(
                "case {:?} is wrong: libc gave {}, the case expects {}",
                case.name,
                show_outcome(&theirs),
                match case.expect {
                    None => "success".to_string(),
                    Some(e) => errno_name(e),
                }
            ));
        }
        if ours != theirs {
            problems.push(format!(
                "{}: uring_os gave {}, libc gave {}",
                case.name,
                show_outcome(&ours),
                show_outcome(&theirs)
            ));
        }
    }
    problems
}

/// Runs the cases and panics with every difference.
pub fn check(cases: &[Case]) {
    let problems = run_cases(cases);
    assert!(
        problems.is_empty(),
        "{} of {} cases differ:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

fn show_outcome(o: &Outcome) -> String {
    match o {
        Ok(s) => format!("Ok({s})"),
        Err(e) => format!("Err({})", errno_name(*e)),
    }
}

/// `EBADF (9)` and so on.
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EFBIG => "EFBIG",
        libc::ESPIPE => "ESPIPE",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EISCONN => "EISCONN",
        libc::ENOTCONN => "ENOTCONN",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::ECANCELED => "ECANCELED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        -1 => "an io::Error without errno",
        _ => "",
    };
    format!("{name} ({e})")
}

// ---------------------------------------------------------------------------------------------
// The two implementations
// ---------------------------------------------------------------------------------------------

/// Every blocking call of the contract, with the argument types of `uring_os`.
pub trait Api {
    fn read(&self, fd: BorrowedFd<'_>, buf: &mut [u8]) -> R<usize>;
    fn pread(&self, fd: BorrowedFd<'_>, buf: &mut [u8], off: u64) -> R<usize>;
    fn write(&self, fd: BorrowedFd<'_>, buf: &[u8]) -> R<usize>;
    fn pwrite(&self, fd: BorrowedFd<'_>, buf: &[u8], off: u64) -> R<usize>;
    fn readv(&self, fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> R<usize>;
    fn writev(&self, fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> R<usize>;
    fn preadv(&self, fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>], off: u64) -> R<usize>;
    fn pwritev(&self, fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>], off: u64) -> R<usize>;
    fn open(&self, path: &Path, flags: i32, mode: u32) -> R<OwnedFd>;
    fn openat(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32, mode: u32) -> R<OwnedFd>;
    fn close(&self, fd: OwnedFd) -> R<()>;
    fn fsync(&self, fd: BorrowedFd<'_>) -> R<()>;
    fn fdatasync(&self, fd: BorrowedFd<'_>) -> R<()>;
    fn sync_file_range(&self, fd: BorrowedFd<'_>, off: u64, len: u64, flags: u32) -> R<()>;
    fn fallocate(&self, fd: BorrowedFd<'_>, mode: i32, off: u64, len: u64) -> R<()>;
    fn fadvise(&self, fd: BorrowedFd<'_>, off: u64, len: u64, advice: i32) -> R<()>;
    fn ftruncate(&self, fd: BorrowedFd<'_>, len: u64) -> R<()>;
    fn statx(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32, mask: u32) -> R<libc::statx>;
    fn mkdirat(&self, dir: BorrowedFd<'_>, path: &Path, mode: u32) -> R<()>;
    fn unlinkat(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32) -> R<()>;
    fn renameat(
        &self,
        old_dir: BorrowedFd<'_>,
        old: &Path,
        new_dir: BorrowedFd<'_>,
        new: &Path,
        flags: u32,
    ) -> R<()>;
    fn symlinkat(&self, target: &Path, dir: BorrowedFd<'_>, link: &Path) -> R<()>;
    fn linkat(
        &self,
        old_dir: BorrowedFd<'_>,
        old: &Path,
        new_dir: BorrowedFd<'_>,
        new: &Path,
        flags: i32,
    ) -> R<()>;
    fn socket(&self, domain: i32, ty: i32, protocol: i32) -> R<OwnedFd>;
    fn bind(&self, fd: BorrowedFd<'_>, addr: &SocketAddr) -> R<()>;
    fn listen(&self, fd: BorrowedFd<'_>, backlog: i32) -> R<()>;
    fn accept(&self, fd: BorrowedFd<'_>) -> R<(OwnedFd, SocketAddr)>;
    fn accept4(&self, fd: BorrowedFd<'_>, flags: i32) -> R<(OwnedFd, SocketAddr)>;
    fn connect(&self, fd: BorrowedFd<'_>, addr: &SocketAddr) -> R<()>;
    fn send(&self, fd: BorrowedFd<'_>, buf: &[u8], flags: i32) -> R<usize>;
    fn recv(&self, fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> R<usize>;
    fn shutdown(&self, fd: BorrowedFd<'_>, how: Shutdown) -> R<()>;
    #[allow(clippy::too_many_arguments)] // splice(2)'s own six arguments, plus self
    fn splice(
        &self,
        fd_in: BorrowedFd<'_>,
        off_in: Option<u64>,
        fd_out: BorrowedFd<'_>,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    ) -> R<usize>;
    fn poll(&self, fd: BorrowedFd<'_>, events: i16) -> R<i16>;
    fn sleep(&self, duration: Duration) -> R<()>;
    fn nop(&self) -> R<()>;
}

/// The calls of `uring_os`.
pub struct Uring;

impl Api for Uring {
    fn read(&self, fd: BorrowedFd<'_>, buf: &mut [u8]) -> R<usize> {
        uring_os::read(fd, buf).map_err(ue)
    }
    fn pread(&self, fd: BorrowedFd<'_>, buf: &mut [u8], off: u64) -> R<usize> {
        uring_os::pread(fd, buf, off).map_err(ue)
    }
    fn write(&self, fd: BorrowedFd<'_>, buf: &[u8]) -> R<usize> {
        uring_os::write(fd, buf).map_err(ue)
    }
    fn pwrite(&self, fd: BorrowedFd<'_>, buf: &[u8], off: u64) -> R<usize> {
        uring_os::pwrite(fd, buf, off).map_err(ue)
    }
    fn readv(&self, fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> R<usize> {
        uring_os::readv(fd, bufs).map_err(ue)
    }
    fn writev(&self, fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> R<usize> {
        uring_os::writev(fd, bufs).map_err(ue)
    }
    fn preadv(&self, fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>], off: u64) -> R<usize> {
        uring_os::preadv(fd, bufs, off).map_err(ue)
    }
    fn pwritev(&self, fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>], off: u64) -> R<usize> {
        uring_os::pwritev(fd, bufs, off).map_err(ue)
    }
    fn open(&self, path: &Path, flags: i32, mode: u32) -> R<OwnedFd> {
        uring_os::open(path, flags, mode).map_err(ue)
    }
    fn openat(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32, mode: u32) -> R<OwnedFd> {
        uring_os::openat(dir, path, flags, mode).map_err(ue)
    }
    fn close(&self, fd: OwnedFd) -> R<()> {
        uring_os::close(fd).map_err(ue)
    }
    fn fsync(&self, fd: BorrowedFd<'_>) -> R<()> {
        uring_os::fsync(fd).map_err(ue)
    }
    fn fdatasync(&self, fd: BorrowedFd<'_>) -> R<()> {
        uring_os::fdatasync(fd).map_err(ue)
    }
    fn sync_file_range(&self, fd: BorrowedFd<'_>, off: u64, len: u64, flags: u32) -> R<()> {
        uring_os::sync_file_range(fd, off, len, flags).map_err(ue)
    }
    fn fallocate(&self, fd: BorrowedFd<'_>, mode: i32, off: u64, len: u64) -> R<()> {
        uring_os::fallocate(fd, mode, off, len).map_err(ue)
    }
    fn fadvise(&self, fd: BorrowedFd<'_>, off: u64, len: u64, advice: i32) -> R<()> {
        uring_os::fadvise(fd, off, len, advice).map_err(ue)
    }
    fn ftruncate(&self, fd: BorrowedFd<'_>, len: u64) -> R<()> {
        uring_os::ftruncate(fd, len).map_err(ue)
    }
    fn statx(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32, mask: u32) -> R<libc::statx> {
        uring_os::statx(dir, path, flags, mask).map_err(ue)
    }
    fn mkdirat(&self, dir: BorrowedFd<'_>, path: &Path, mode: u32) -> R<()> {
        uring_os::mkdirat(dir, path, mode).map_err(ue)
    }
    fn unlinkat(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32) -> R<()> {
        uring_os::unlinkat(dir, path, flags).map_err(ue)
    }
    fn renameat(
        &self,
        old_dir: BorrowedFd<'_>,
        old: &Path,
        new_dir: BorrowedFd<'_>,
        new: &Path,
        flags: u32,
    ) -> R<()> {
        uring_os::renameat(old_dir, old, new_dir, new, flags).map_err(ue)
    }
    fn symlinkat(&self, target: &Path, dir: BorrowedFd<'_>, link: &Path) -> R<()> {
        uring_os::symlinkat(target, dir, link).map_err(ue)
    }
    fn linkat(
        &self,
        old_dir: BorrowedFd<'_>,
        old: &Path,
        new_dir: BorrowedFd<'_>,
        new: &Path,
        flags: i32,
    ) -> R<()> {
        uring_os::linkat(old_dir, old, new_dir, new, flags).map_err(ue)
    }
    fn socket(&self, domain: i32, ty: i32, protocol: i32) -> R<OwnedFd> {
        uring_os::socket(domain, ty, protocol).map_err(ue)
    }
    fn bind(&self, fd: BorrowedFd<'_>, addr: &SocketAddr) -> R<()> {
        uring_os::bind(fd, addr).map_err(ue)
    }
    fn listen(&self, fd: BorrowedFd<'_>, backlog: i32) -> R<()> {
        uring_os::listen(fd, backlog).map_err(ue)
    }
    fn accept(&self, fd: BorrowedFd<'_>) -> R<(OwnedFd, SocketAddr)> {
        uring_os::accept(fd).map_err(ue)
    }
    fn accept4(&self, fd: BorrowedFd<'_>, flags: i32) -> R<(OwnedFd, SocketAddr)> {
        uring_os::accept4(fd, flags).map_err(ue)
    }
    fn connect(&self, fd: BorrowedFd<'_>, addr: &SocketAddr) -> R<()> {
        uring_os::connect(fd, addr).map_err(ue)
    }
    fn send(&self, fd: BorrowedFd<'_>, buf: &[u8], flags: i32) -> R<usize> {
        uring_os::send(fd, buf, flags).map_err(ue)
    }
    fn recv(&self, fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> R<usize> {
        uring_os::recv(fd, buf, flags).map_err(ue)
    }
    fn shutdown(&self, fd: BorrowedFd<'_>, how: Shutdown) -> R<()> {
        uring_os::shutdown(fd, how).map_err(ue)
    }
    fn splice(
        &self,
        fd_in: BorrowedFd<'_>,
        off_in: Option<u64>,
        fd_out: BorrowedFd<'_>,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    ) -> R<usize> {
        uring_os::splice(fd_in, off_in, fd_out, off_out, len, flags).map_err(ue)
    }
    fn poll(&self, fd: BorrowedFd<'_>, events: i16) -> R<i16> {
        uring_os::poll(fd, events).map_err(ue)
    }
    fn sleep(&self, duration: Duration) -> R<()> {
        uring_os::sleep(duration).map_err(ue)
    }
    fn nop(&self) -> R<()> {
        uring_os::nop().map_err(ue)
    }
}

/// The direct syscalls, through libc.
pub struct Libc;

impl Api for Libc {
    fn read(&self, fd: BorrowedFd<'_>, buf: &mut [u8]) -> R<usize> {
        sys::read(fd, buf)
    }
    fn pread(&self, fd: BorrowedFd<'_>, buf: &mut [u8], off: u64) -> R<usize> {
        // SAFETY: `buf` is valid for writes of its length during the call.
        cvt(unsafe {
            libc::pread64(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                off as i64,
            )
        })
    }
    fn write(&self, fd: BorrowedFd<'_>, buf: &[u8]) -> R<usize> {
        sys::write(fd, buf)
    }
    fn pwrite(&self, fd: BorrowedFd<'_>, buf: &[u8], off: u64) -> R<usize> {
        // SAFETY: `buf` is valid for reads of its length during the call.
        cvt(unsafe { libc::pwrite64(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), off as i64) })
    }
    fn readv(&self, fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> R<usize> {
        // SAFETY: IoSliceMut is ABI-compatible with iovec; each buffer is valid for writes.
        cvt(unsafe { libc::readv(fd.as_raw_fd(), bufs.as_ptr().cast(), bufs.len() as i32) })
    }
    fn writev(&self, fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> R<usize> {
        // SAFETY: IoSlice is ABI-compatible with iovec; each buffer is valid for reads.
        cvt(unsafe { libc::writev(fd.as_raw_fd(), bufs.as_ptr().cast(), bufs.len() as i32) })
    }
    fn preadv(&self, fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>], off: u64) -> R<usize> {
        // SAFETY: IoSliceMut is ABI-compatible with iovec; each buffer is valid for writes.
        cvt(unsafe {
            libc::preadv64(
                fd.as_raw_fd(),
                bufs.as_ptr().cast(),
                bufs.len() as i32,
                off as i64,
            )
        })
    }
    fn pwritev(&self, fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>], off: u64) -> R<usize> {
        // SAFETY: IoSlice is ABI-compatible with iovec; each buffer is valid for reads.
        cvt(unsafe {
            libc::pwritev64(
                fd.as_raw_fd(),
                bufs.as_ptr().cast(),
                bufs.len() as i32,
                off as i64,
            )
        })
    }
    fn open(&self, path: &Path, flags: i32, mode: u32) -> R<OwnedFd> {
        let path = cpath(path);
        // SAFETY: `path` is a NUL-terminated string alive for the call.
        new_fd(unsafe { libc::open(path.as_ptr(), flags, mode) })
    }
    fn openat(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32, mode: u32) -> R<OwnedFd> {
        sys::openat(dir, path, flags, mode)
    }
    fn close(&self, fd: OwnedFd) -> R<()> {
        sys::close(fd)
    }
    fn fsync(&self, fd: BorrowedFd<'_>) -> R<()> {
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::fsync(fd.as_raw_fd()) })
    }
    fn fdatasync(&self, fd: BorrowedFd<'_>) -> R<()> {
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::fdatasync(fd.as_raw_fd()) })
    }
    fn sync_file_range(&self, fd: BorrowedFd<'_>, off: u64, len: u64, flags: u32) -> R<()> {
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::sync_file_range(fd.as_raw_fd(), off as i64, len as i64, flags) })
    }
    fn fallocate(&self, fd: BorrowedFd<'_>, mode: i32, off: u64, len: u64) -> R<()> {
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::fallocate64(fd.as_raw_fd(), mode, off as i64, len as i64) })
    }
    fn fadvise(&self, fd: BorrowedFd<'_>, off: u64, len: u64, advice: i32) -> R<()> {
        // SAFETY: plain integer arguments. posix_fadvise returns the errno instead of -1.
        match unsafe { libc::posix_fadvise64(fd.as_raw_fd(), off as i64, len as i64, advice) } {
            0 => Ok(()),
            e => Err(e),
        }
    }
    fn ftruncate(&self, fd: BorrowedFd<'_>, len: u64) -> R<()> {
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::ftruncate64(fd.as_raw_fd(), len as i64) })
    }
    fn statx(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32, mask: u32) -> R<libc::statx> {
        sys::statx(dir, path, flags, mask)
    }
    fn mkdirat(&self, dir: BorrowedFd<'_>, path: &Path, mode: u32) -> R<()> {
        let path = cpath(path);
        // SAFETY: `path` is a NUL-terminated string alive for the call.
        unit(unsafe { libc::mkdirat(dir.as_raw_fd(), path.as_ptr(), mode) })
    }
    fn unlinkat(&self, dir: BorrowedFd<'_>, path: &Path, flags: i32) -> R<()> {
        let path = cpath(path);
        // SAFETY: `path` is a NUL-terminated string alive for the call.
        unit(unsafe { libc::unlinkat(dir.as_raw_fd(), path.as_ptr(), flags) })
    }
    fn renameat(
        &self,
        old_dir: BorrowedFd<'_>,
        old: &Path,
        new_dir: BorrowedFd<'_>,
        new: &Path,
        flags: u32,
    ) -> R<()> {
        let (old, new) = (cpath(old), cpath(new));
        // SAFETY: both paths are NUL-terminated strings alive for the call.
        unit(unsafe {
            libc::renameat2(
                old_dir.as_raw_fd(),
                old.as_ptr(),
                new_dir.as_raw_fd(),
                new.as_ptr(),
                flags,
            )
        })
    }
    fn symlinkat(&self, target: &Path, dir: BorrowedFd<'_>, link: &Path) -> R<()> {
        let (target, link) = (cpath(target), cpath(link));
        // SAFETY: both paths are NUL-terminated strings alive for the call.
        unit(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), link.as_ptr()) })
    }
    fn linkat(
        &self,
        old_dir: BorrowedFd<'_>,
        old: &Path,
        new_dir: BorrowedFd<'_>,
        new: &Path,
        flags: i32,
    ) -> R<()> {
        let (old, new) = (cpath(old), cpath(new));
        // SAFETY: both paths are NUL-terminated strings alive for the call.
        unit(unsafe {
            libc::linkat(
                old_dir.as_raw_fd(),
                old.as_ptr(),
                new_dir.as_raw_fd(),
                new.as_ptr(),
                flags,
            )
        })
    }
    fn socket(&self, domain: i32, ty: i32, protocol: i32) -> R<OwnedFd> {
        sys::socket(domain, ty, protocol)
    }
    fn bind(&self, fd: BorrowedFd<'_>, addr: &SocketAddr) -> R<()> {
        let raw = RawAddr::of(addr);
        // SAFETY: `raw` holds a socket address of `raw.len` bytes, alive for the call.
        unit(unsafe { libc::bind(fd.as_raw_fd(), raw.as_ptr(), raw.len) })
    }
    fn listen(&self, fd: BorrowedFd<'_>, backlog: i32) -> R<()> {
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::listen(fd.as_raw_fd(), backlog) })
    }
    fn accept(&self, fd: BorrowedFd<'_>) -> R<(OwnedFd, SocketAddr)> {
        let mut peer = RawAddr::empty();
        // SAFETY: `peer` has room for `peer.len` bytes of address, valid for writes.
        let fd = new_fd(unsafe { libc::accept(fd.as_raw_fd(), peer.as_mut_ptr(), &mut peer.len) })?;
        Ok((fd, peer.socket_addr()))
    }
    fn accept4(&self, fd: BorrowedFd<'_>, flags: i32) -> R<(OwnedFd, SocketAddr)> {
        let mut peer = RawAddr::empty();
        // SAFETY: `peer` has room for `peer.len` bytes of address, valid for writes.
        let fd = new_fd(unsafe {
            libc::accept4(fd.as_raw_fd(), peer.as_mut_ptr(), &mut peer.len, flags)
        })?;
        Ok((fd, peer.socket_addr()))
    }
    fn connect(&self, fd: BorrowedFd<'_>, addr: &SocketAddr) -> R<()> {
        let raw = RawAddr::of(addr);
        // SAFETY: `raw` holds a socket address of `raw.len` bytes, alive for the call.
        unit(unsafe { libc::connect(fd.as_raw_fd(), raw.as_ptr(), raw.len) })
    }
    fn send(&self, fd: BorrowedFd<'_>, buf: &[u8], flags: i32) -> R<usize> {
        sys::send(fd, buf, flags)
    }
    fn recv(&self, fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> R<usize> {
        // SAFETY: `buf` is valid for writes of its length during the call.
        cvt(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) })
    }
    fn shutdown(&self, fd: BorrowedFd<'_>, how: Shutdown) -> R<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: plain integer arguments.
        unit(unsafe { libc::shutdown(fd.as_raw_fd(), how) })
    }
    fn splice(
        &self,
        fd_in: BorrowedFd<'_>,
        off_in: Option<u64>,
        fd_out: BorrowedFd<'_>,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    ) -> R<usize> {
        let mut off_in = off_in.map(|o| o as i64);
        let mut off_out = off_out.map(|o| o as i64);
        let ptr = |o: &mut Option<i64>| match o {
            Some(o) => o as *mut i64,
            None => std::ptr::null_mut(),
        };
        let (p_in, p_out) = (ptr(&mut off_in), ptr(&mut off_out));
        // SAFETY: the offset pointers are null or point to locals alive for the call.
        cvt(unsafe {
            libc::splice(
                fd_in.as_raw_fd(),
                p_in,
                fd_out.as_raw_fd(),
                p_out,
                len,
                flags,
            )
        })
    }
    fn poll(&self, fd: BorrowedFd<'_>, events: i16) -> R<i16> {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd for the call.
        cvt(unsafe { libc::poll(&mut pfd, 1, -1) } as isize)?;
        Ok(pfd.revents)
    }
    fn sleep(&self, duration: Duration) -> R<()> {
        let ts = libc::timespec {
            tv_sec: duration.as_secs() as libc::time_t,
            tv_nsec: duration.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `ts` is valid for the call; no remainder is asked for.
        unit(unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) })
    }
    fn nop(&self) -> R<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A fresh directory for one side of one case:
///
/// ```text
/// file      CONTENT              empty     (empty file)
/// sub/      (empty directory)    full/x    (a directory with one file)
/// link -> file                   dangling -> nowhere
/// ```
///
/// with `dir` open on the directory and `file` open four ways.
pub struct Fx {
    pub tmp: tempfile::TempDir,
    /// The directory, `O_RDONLY | O_DIRECTORY`.
    pub dir: OwnedFd,
    /// `file`, `O_RDWR`.
    pub file: OwnedFd,
    /// `file`, `O_RDONLY`.
    pub rdonly: OwnedFd,
    /// `file`, `O_WRONLY`.
    pub wronly: OwnedFd,
    /// `file`, `O_WRONLY | O_APPEND`.
    pub append: OwnedFd,
}

impl Fx {
    pub fn new() -> Fx {
        let tmp = tempfile::Builder::new()
            .prefix("uring_os-calls-")
            .tempdir()
            .expect("temp dir");
        let p = |n: &str| tmp.path().join(n);
        std::fs::write(p("file"), CONTENT).unwrap();
        std::fs::write(p("empty"), b"").unwrap();
        std::fs::create_dir(p("sub")).unwrap();
        std::fs::create_dir(p("full")).unwrap();
        std::fs::write(p("full/x"), b"x").unwrap();
        std::os::unix::fs::symlink("file", p("link")).unwrap();
        std::os::unix::fs::symlink("nowhere", p("dangling")).unwrap();
        let open = |n: &str, flags: i32| sys::open(&p(n), flags | libc::O_CLOEXEC, 0).unwrap();
        Fx {
            dir: open("", libc::O_RDONLY | libc::O_DIRECTORY),
            file: open("file", libc::O_RDWR),
            rdonly: open("file", libc::O_RDONLY),
            wronly: open("file", libc::O_WRONLY),
            append: open("file", libc::O_WRONLY | libc::O_APPEND),
            tmp,
        }
    }

    /// The absolute path of `name` in the directory.
    pub fn p(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The content of `name`, for outcomes.
    pub fn content(&self, name: &str) -> String {
        match std::fs::read(self.p(name)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("<{}>", errno_name(e.raw_os_error().unwrap_or(-1))),
        }
    }

    /// What is at `name` now: its type, and its content or link target.
    pub fn entry(&self, name: &str) -> String {
        match std::fs::symlink_metadata(self.p(name)) {
            Err(_) => "missing".into(),
            Ok(m) if m.file_type().is_symlink() => {
                format!("symlink to {}", sys::readlink(&self.p(name)).unwrap())
            }
            Ok(m) if m.is_dir() => {
                use std::os::unix::fs::PermissionsExt;
                let mut names: Vec<String> = std::fs::read_dir(self.p(name))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                format!("dir {:o} {:?}", m.permissions().mode(), names)
            }
            Ok(m) => {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                format!(
                    "file {:o} nlink={} {:?}",
                    m.permissions().mode(),
                    m.nlink(),
                    self.content(name)
                )
            }
        }
    }
}

impl Default for Fx {
    fn default() -> Fx {
        Fx::new()
    }
}

/// An fd number that is not open (above any fd table this process gets).
pub fn bad() -> BorrowedFd<'static> {
    // SAFETY: the number is never an open fd, so the borrow cannot outlive or alias anything;
    // every call given it fails with EBADF without touching any file.
    unsafe { BorrowedFd::borrow_raw(1 << 30) }
}

/// A pipe holding `data`.
pub fn pipe_with(data: &[u8]) -> (OwnedFd, OwnedFd) {
    let (r, w) = sys::pipe2(libc::O_CLOEXEC);
    if !data.is_empty() {
        assert_eq!(sys::write(&w, data), Ok(data.len()));
    }
    (r, w)
}

/// A full `O_NONBLOCK` pipe.
pub fn full_pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
    let chunk = [7u8; 4096];
    while sys::write(&w, &chunk).is_ok() {}
    while sys::write(&w, &chunk[..1]).is_ok() {}
    (r, w)
}

/// A loopback address nothing listens on.
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap()
}

/// A fresh, unconnected TCP socket.
pub fn tcp_socket() -> OwnedFd {
    sys::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).expect("socket")
}

/// A fresh UDP socket.
pub fn udp_socket() -> OwnedFd {
    sys::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0).expect("socket")
}

/// What an fd is: status flags, fd flags, file type and permission bits.
pub fn fd_desc(fd: impl AsFd) -> String {
    let fd = fd.as_fd();
    let fl = sys::fcntl(fd, libc::F_GETFL, 0).map(|v| format!("{v:#x}"));
    let fdfl = sys::fcntl(fd, libc::F_GETFD, 0);
    let mode = sys::fstat(fd).map(|st| format!("{:o}", st.st_mode));
    let ty = sys::sockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE).ok();
    format!("fl={fl:?} fd={fdfl:?} mode={mode:?} so_type={ty:?}")
}

/// The parts of a statx that both sides must agree on (not inode numbers or times).
pub fn stx_desc(stx: &libc::statx) -> String {
    format!(
        "mask={:#x} mode={:o} size={} nlink={} uid={} gid={} blksize={} attrs_mask={:#x}",
        stx.stx_mask,
        stx.stx_mode,
        stx.stx_size,
        stx.stx_nlink,
        stx.stx_uid,
        stx.stx_gid,
        stx.stx_blksize,
        stx.stx_attributes_mask
    )
}

fn s(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path longer than `PATH_MAX`.
pub fn too_long_path() -> PathBuf {
    let component = "d".repeat(200);
    let mut p = PathBuf::from("/tmp");
    while p.as_os_str().len() <= libc::PATH_MAX as usize {
        p.push(&component);
    }
    p
}

/// A file name longer than `NAME_MAX`.
pub fn too_long_name() -> PathBuf {
    PathBuf::from("n".repeat(256))
}

/// A path in `fx` longer than 384 bytes (the crate keeps shorter paths on the stack), made of
/// existing directories; returns it with the file `deep` in it created with `content`.
pub fn deep_file(fx: &Fx, content: &[u8]) -> PathBuf {
    let mut p = fx.p("");
    while p.as_os_str().len() <= 400 {
        p.push("x".repeat(60));
    }
    std::fs::create_dir_all(&p).unwrap();
    p.push("deep");
    std::fs::write(&p, content).unwrap();
    p
}

fn iov_mut(bufs: &mut [Vec<u8>]) -> Vec<IoSliceMut<'_>> {
    bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect()
}

fn e(errno: i32) -> Option<i32> {
    Some(errno)
}

// ---------------------------------------------------------------------------------------------
// The cases, one group per call (or family of calls)
// ---------------------------------------------------------------------------------------------

/// Every group.
pub fn all() -> Vec<Case> {
    [
        read(),
        pread(),
        write(),
        pwrite(),
        vectored(),
        open(),
        close(),
        sync(),
        space(),
        statx(),
        dirs(),
        links(),
        sockets(),
        connections(),
        splice(),
        poll(),
        misc(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn read() -> Vec<Case> {
    vec![
        c("read file: bytes, and the position advances", OK, |a, f| {
            let mut b = [0u8; 10];
            let n1 = a.read(f.file.as_fd(), &mut b)?;
            let p1 = pos(&f.file);
            let n2 = a.read(f.file.as_fd(), &mut b[..4])?;
            Ok(format!("{n1} {p1} {n2} {} pos={}", s(&b), pos(&f.file)))
        }),
        c("read file up to EOF: short count, then 0", OK, |a, f| {
            sys::lseek(&f.file, 30, libc::SEEK_SET).unwrap();
            let mut b = [0u8; 10];
            let n1 = a.read(f.file.as_fd(), &mut b)?;
            let n2 = a.read(f.file.as_fd(), &mut b)?;
            Ok(format!("{n1} {n2} {} pos={}", s(&b[..n1]), pos(&f.file)))
        }),
        c("read with an empty buffer: 0", OK, |a, f| {
            let n = a.read(f.file.as_fd(), &mut [])?;
            Ok(format!("{n} pos={}", pos(&f.file)))
        }),
        c("read after lseek: at the new position", OK, |a, f| {
            sys::lseek(&f.rdonly, 7, libc::SEEK_SET).unwrap();
            let mut b = [0u8; 5];
            let n = a.read(f.rdonly.as_fd(), &mut b)?;
            Ok(format!("{n} {} pos={}", s(&b), pos(&f.rdonly)))
        }),
        c("read pipe", OK, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut b = [0u8; 100];
            let n = a.read(r.as_fd(), &mut b)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
        c("read pipe in two parts", OK, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut b = [0u8; 3];
            let n1 = a.read(r.as_fd(), &mut b)?;
            let first = s(&b);
            let n2 = a.read(r.as_fd(), &mut b)?;
            Ok(format!("{n1} {first} {n2} {} rest={}", s(&b), drain(&r)))
        }),
        c("read pipe whose writer is closed: 0", OK, |a, _| {
            let (r, w) = pipe_with(b"");
            drop(w);
            let n = a.read(r.as_fd(), &mut [0u8; 8])?;
            Ok(format!("{n}"))
        }),
        c("read directory: EISDIR", e(libc::EISDIR), |a, f| {
            a.read(f.dir.as_fd(), &mut [0u8; 8]).map(|n| n.to_string())
        }),
        c("read closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.read(bad(), &mut [0u8; 8]).map(|n| n.to_string())
        }),
        c(
            "read closed fd, empty buffer: EBADF",
            e(libc::EBADF),
            |a, _| a.read(bad(), &mut []).map(|n| n.to_string()),
        ),
        c("read write-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.read(f.wronly.as_fd(), &mut [0u8; 8])
                .map(|n| n.to_string())
        }),
        c("read O_PATH fd: EBADF", e(libc::EBADF), |a, f| {
            let fd = sys::open(&f.p("file"), libc::O_PATH | libc::O_CLOEXEC, 0).unwrap();
            a.read(fd.as_fd(), &mut [0u8; 8]).map(|n| n.to_string())
        }),
        c("read pipe write end: EBADF", e(libc::EBADF), |a, _| {
            let (_r, w) = pipe_with(b"x");
            a.read(w.as_fd(), &mut [0u8; 8]).map(|n| n.to_string())
        }),
        c(
            "read eventfd into 4 bytes: EINVAL",
            e(libc::EINVAL),
            |a, _| {
                let efd = sys::eventfd();
                sys::write(&efd, &1u64.to_ne_bytes()).unwrap();
                a.read(efd.as_fd(), &mut [0u8; 4]).map(|n| n.to_string())
            },
        ),
        c("read eventfd", OK, |a, _| {
            let efd = sys::eventfd();
            sys::write(&efd, &5u64.to_ne_bytes()).unwrap();
            let mut b = [0u8; 8];
            let n = a.read(efd.as_fd(), &mut b)?;
            Ok(format!("{n} {}", u64::from_ne_bytes(b)))
        }),
        c("read socket", OK, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"socketdata").unwrap();
            let mut b = [0u8; 64];
            let n = a.read(client.as_fd(), &mut b)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
    ]
}

pub fn pread() -> Vec<Case> {
    vec![
        c("pread at an offset leaves the position", OK, |a, f| {
            let mut b = [0u8; 5];
            let n = a.pread(f.file.as_fd(), &mut b, 10)?;
            Ok(format!("{n} {} pos={}", s(&b), pos(&f.file)))
        }),
        c("pread after read: the read's position stays", OK, |a, f| {
            let mut b = [0u8; 4];
            sys::read(&f.file, &mut b).unwrap();
            let n = a.pread(f.file.as_fd(), &mut b, 20)?;
            Ok(format!("{n} {} pos={}", s(&b), pos(&f.file)))
        }),
        c("pread across EOF: short count", OK, |a, f| {
            let mut b = [0u8; 10];
            let n = a.pread(f.rdonly.as_fd(), &mut b, 32)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
        c("pread past EOF: 0", OK, |a, f| {
            a.pread(f.file.as_fd(), &mut [0u8; 10], 1000)
                .map(|n| n.to_string())
        }),
        c("pread pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let res = a.pread(r.as_fd(), &mut [0u8; 8], 0);
            res.map(|n| format!("{n} left={}", drain(&r)))
        }),
        c("pread socket: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"data").unwrap();
            a.pread(client.as_fd(), &mut [0u8; 8], 0)
                .map(|n| n.to_string())
        }),
        c("pread directory: EISDIR", e(libc::EISDIR), |a, f| {
            a.pread(f.dir.as_fd(), &mut [0u8; 8], 0)
                .map(|n| n.to_string())
        }),
        c("pread closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.pread(bad(), &mut [0u8; 8], 0).map(|n| n.to_string())
        }),
        c("pread write-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.pread(f.wronly.as_fd(), &mut [0u8; 8], 0)
                .map(|n| n.to_string())
        }),
        c(
            "pread at offset 2^63 (negative): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.pread(f.file.as_fd(), &mut [0u8; 8], 1 << 63)
                    .map(|n| n.to_string())
            },
        ),
    ]
}

/// Calls on fds with `O_NONBLOCK` set, which must not wait: `EAGAIN` (or `EINPROGRESS`) as
/// the syscalls give.
pub fn nonblocking() -> Vec<Case> {
    vec![
        nb(
            "read empty O_NONBLOCK pipe: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (r, _w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
                a.read(r.as_fd(), &mut [0u8; 8]).map(|n| n.to_string())
            },
        ),
        nb(
            "read O_NONBLOCK socket without data: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (client, _server) = tcp_pair();
                sys::set_nonblocking(&client);
                a.read(client.as_fd(), &mut [0u8; 8]).map(|n| n.to_string())
            },
        ),
        nb(
            "readv empty O_NONBLOCK pipe: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (r, _w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
                let mut bufs = vec![vec![0u8; 5]];
                a.readv(r.as_fd(), &mut iov_mut(&mut bufs))
                    .map(|n| n.to_string())
            },
        ),
        nb(
            "write full O_NONBLOCK pipe: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (_r, w) = full_pipe();
                a.write(w.as_fd(), b"x").map(|n| n.to_string())
            },
        ),
        nb(
            "accept an O_NONBLOCK listener without connection: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (l, _addr) = listener();
                sys::set_nonblocking(&l);
                a.accept(l.as_fd()).map(|(fd, _)| fd_desc(fd))
            },
        ),
        nb(
            "recv an O_NONBLOCK socket without data: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (client, _server) = tcp_pair();
                sys::set_nonblocking(&client);
                a.recv(client.as_fd(), &mut [0u8; 8], 0)
                    .map(|n| n.to_string())
            },
        ),
        nb(
            "connect an O_NONBLOCK socket: EINPROGRESS",
            e(libc::EINPROGRESS),
            |a, _| {
                let (_l, addr) = listener();
                let fd = tcp_socket();
                sys::set_nonblocking(&fd);
                a.connect(fd.as_fd(), &addr).map(|()| String::new())
            },
        ),
        nb(
            "writev full O_NONBLOCK pipe: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (_r, w) = full_pipe();
                a.writev(w.as_fd(), &[IoSlice::new(b"x")])
                    .map(|n| n.to_string())
            },
        ),
        nb(
            "send O_NONBLOCK socket with a full buffer: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (client, _server) = tcp_pair();
                sys::set_nonblocking(&client);
                let chunk = [0u8; 65536];
                while sys::write(&client, &chunk).is_ok() {}
                a.send(client.as_fd(), b"x", 0).map(|n| n.to_string())
            },
        ),
        nb(
            "accept4 an O_NONBLOCK listener without connection: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (l, _addr) = listener();
                sys::set_nonblocking(&l);
                a.accept4(l.as_fd(), libc::SOCK_CLOEXEC)
                    .map(|(fd, _)| fd_desc(fd))
            },
        ),
        nb(
            "splice from an empty O_NONBLOCK pipe: EAGAIN",
            e(libc::EAGAIN),
            |a, f| {
                let (r, _w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
                a.splice(r.as_fd(), None, f.file.as_fd(), Some(0), 10, 0)
                    .map(|n| n.to_string())
            },
        ),
        nb("poll is not affected by O_NONBLOCK", OK, |a, _| {
            let (r, w) = sys::pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK);
            sys::write(&w, b"x").unwrap();
            a.poll(r.as_fd(), libc::POLLIN).map(|ev| format!("{ev:#x}"))
        }),
    ]
}

/// Cases where the offset is `u64::MAX`: the direct syscall takes it as -1 and refuses it;
/// io_uring takes -1 as "the file position".
pub fn offset_minus_one() -> Vec<Case> {
    vec![
        c(
            "pread at offset u64::MAX (-1): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                sys::lseek(&f.file, 3, libc::SEEK_SET).unwrap();
                let mut b = [0u8; 4];
                let res = a.pread(f.file.as_fd(), &mut b, u64::MAX);
                res.map(|n| format!("{n} {} pos={}", s(&b), pos(&f.file)))
            },
        ),
        c(
            "pwrite at offset u64::MAX (-1): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let res = a.pwrite(f.file.as_fd(), b"XX", u64::MAX);
                res.map(|n| format!("{n} pos={} {}", pos(&f.file), f.content("file")))
            },
        ),
        c(
            "preadv at offset u64::MAX (-1): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let mut b = [0u8; 4];
                let res = a.preadv(f.file.as_fd(), &mut [IoSliceMut::new(&mut b)], u64::MAX);
                res.map(|n| format!("{n} {} pos={}", s(&b), pos(&f.file)))
            },
        ),
        c(
            "pwritev at offset u64::MAX (-1): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let res = a.pwritev(f.file.as_fd(), &[IoSlice::new(b"XX")], u64::MAX);
                res.map(|n| format!("{n} pos={} {}", pos(&f.file), f.content("file")))
            },
        ),
    ]
}

pub fn write() -> Vec<Case> {
    vec![
        c(
            "write file: content, and the position advances",
            OK,
            |a, f| {
                let n1 = a.write(f.file.as_fd(), b"XYZ")?;
                let n2 = a.write(f.file.as_fd(), b"W")?;
                Ok(format!(
                    "{n1} {n2} pos={} {}",
                    pos(&f.file),
                    f.content("file")
                ))
            },
        ),
        c("write past EOF extends the file", OK, |a, f| {
            sys::lseek(&f.file, 40, libc::SEEK_SET).unwrap();
            let n = a.write(f.file.as_fd(), b"end")?;
            Ok(format!("{n} pos={} {:?}", pos(&f.file), f.content("file")))
        }),
        c("write O_APPEND after lseek 0: appends", OK, |a, f| {
            sys::lseek(&f.append, 0, libc::SEEK_SET).unwrap();
            let n = a.write(f.append.as_fd(), b"END")?;
            Ok(format!("{n} pos={} {}", pos(&f.append), f.content("file")))
        }),
        c("write with an empty buffer: 0", OK, |a, f| {
            let n = a.write(f.file.as_fd(), b"")?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        c("write pipe", OK, |a, _| {
            let (r, _w2) = pipe_with(b"");
            let n = a.write(_w2.as_fd(), b"abc")?;
            Ok(format!("{n} {}", drain(&r)))
        }),
        c("write read-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.write(f.rdonly.as_fd(), b"x").map(|n| n.to_string())
        }),
        c("write closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.write(bad(), b"x").map(|n| n.to_string())
        }),
        c("write directory: EBADF", e(libc::EBADF), |a, f| {
            a.write(f.dir.as_fd(), b"x").map(|n| n.to_string())
        }),
        c(
            "write pipe without reader: EPIPE",
            e(libc::EPIPE),
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(r);
                a.write(w.as_fd(), b"x").map(|n| n.to_string())
            },
        ),
        c("write socket", OK, |a, _| {
            let (client, server) = tcp_pair();
            let n = a.write(client.as_fd(), b"hello")?;
            let mut b = [0u8; 16];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        c(
            "write socket after shutdown(Write): EPIPE",
            e(libc::EPIPE),
            |a, _| {
                let (client, _server) = tcp_pair();
                std::net::TcpStream::from(client.try_clone().unwrap())
                    .shutdown(Shutdown::Write)
                    .unwrap();
                a.write(client.as_fd(), b"x").map(|n| n.to_string())
            },
        ),
    ]
}

pub fn pwrite() -> Vec<Case> {
    vec![
        c("pwrite at an offset leaves the position", OK, |a, f| {
            let n = a.pwrite(f.file.as_fd(), b"XY", 5)?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        c(
            "pwrite O_APPEND fd: appends whatever the offset",
            OK,
            |a, f| {
                let n = a.pwrite(f.append.as_fd(), b"TAIL", 0)?;
                let m = a.pwrite(f.append.as_fd(), b"+", 3)?;
                Ok(format!(
                    "{n} {m} pos={} {}",
                    pos(&f.append),
                    f.content("file")
                ))
            },
        ),
        c("pwrite past EOF leaves a hole", OK, |a, f| {
            let n = a.pwrite(f.file.as_fd(), b"Z", 100)?;
            Ok(format!("{n} pos={} {:?}", pos(&f.file), f.content("file")))
        }),
        c("pwrite pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (r, w) = pipe_with(b"");
            let res = a.pwrite(w.as_fd(), b"x", 0);
            res.map(|n| format!("{n} {}", drain(&r)))
        }),
        c("pwrite read-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.pwrite(f.rdonly.as_fd(), b"x", 0).map(|n| n.to_string())
        }),
        c("pwrite closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.pwrite(bad(), b"x", 0).map(|n| n.to_string())
        }),
        c(
            "pwrite at offset 2^63 (negative): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.pwrite(f.file.as_fd(), b"x", 1 << 63)
                    .map(|n| n.to_string())
            },
        ),
    ]
}

pub fn vectored() -> Vec<Case> {
    vec![
        c(
            "readv fills the buffers in turn, position advances",
            OK,
            |a, f| {
                let mut bufs = vec![vec![0u8; 3], vec![0u8; 4], vec![0u8; 100]];
                let n = a.readv(f.file.as_fd(), &mut iov_mut(&mut bufs))?;
                Ok(format!(
                    "{n} {} {} {} pos={}",
                    s(&bufs[0]),
                    s(&bufs[1]),
                    s(&bufs[2][..n - 7]),
                    pos(&f.file)
                ))
            },
        ),
        c("readv without buffers: 0", OK, |a, f| {
            a.readv(f.file.as_fd(), &mut [])
                .map(|n| format!("{n} pos={}", pos(&f.file)))
        }),
        c("readv pipe", OK, |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut bufs = vec![vec![0u8; 5], vec![0u8; 5]];
            let n = a.readv(r.as_fd(), &mut iov_mut(&mut bufs))?;
            Ok(format!("{n} {} {}", s(&bufs[0]), s(&bufs[1])))
        }),
        c("readv directory: EISDIR", e(libc::EISDIR), |a, f| {
            let mut bufs = vec![vec![0u8; 5]];
            a.readv(f.dir.as_fd(), &mut iov_mut(&mut bufs))
                .map(|n| n.to_string())
        }),
        c("readv closed fd: EBADF", e(libc::EBADF), |a, _| {
            let mut bufs = vec![vec![0u8; 5]];
            a.readv(bad(), &mut iov_mut(&mut bufs))
                .map(|n| n.to_string())
        }),
        c(
            "readv 1025 buffers (> IOV_MAX): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let mut bufs = vec![vec![0u8; 1]; 1025];
                a.readv(f.file.as_fd(), &mut iov_mut(&mut bufs))
                    .map(|n| n.to_string())
            },
        ),
        c(
            "writev writes the buffers in turn, position advances",
            OK,
            |a, f| {
                let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
                let n = a.writev(f.file.as_fd(), &bufs)?;
                Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
            },
        ),
        c("writev O_APPEND appends", OK, |a, f| {
            let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
            let n = a.writev(f.append.as_fd(), &bufs)?;
            Ok(format!("{n} pos={} {}", pos(&f.append), f.content("file")))
        }),
        c("writev pipe", OK, |a, _| {
            let (r, w) = pipe_with(b"");
            let n = a.writev(w.as_fd(), &[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
            Ok(format!("{n} {}", drain(&r)))
        }),
        c("writev read-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.writev(f.rdonly.as_fd(), &[IoSlice::new(b"ab")])
                .map(|n| n.to_string())
        }),
        c(
            "writev 1025 buffers (> IOV_MAX): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let bufs = vec![IoSlice::new(b"a"); 1025];
                let res = a.writev(f.file.as_fd(), &bufs);
                res.map(|n| format!("{n} {}", f.content("file")))
            },
        ),
        c(
            "writev pipe without reader: EPIPE",
            e(libc::EPIPE),
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(r);
                a.writev(w.as_fd(), &[IoSlice::new(b"ab")])
                    .map(|n| n.to_string())
            },
        ),
        c(
            "preadv at an offset fills the buffers, position stays",
            OK,
            |a, f| {
                let mut bufs = vec![vec![0u8; 2], vec![0u8; 3]];
                let n = a.preadv(f.file.as_fd(), &mut iov_mut(&mut bufs), 10)?;
                Ok(format!(
                    "{n} {} {} pos={}",
                    s(&bufs[0]),
                    s(&bufs[1]),
                    pos(&f.file)
                ))
            },
        ),
        c("preadv past EOF: 0", OK, |a, f| {
            let mut bufs = vec![vec![0u8; 2]];
            a.preadv(f.file.as_fd(), &mut iov_mut(&mut bufs), 500)
                .map(|n| n.to_string())
        }),
        c("preadv pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (r, _w) = pipe_with(b"pipedata");
            let mut bufs = vec![vec![0u8; 2]];
            let res = a.preadv(r.as_fd(), &mut iov_mut(&mut bufs), 0);
            res.map(|n| format!("{n} left={}", drain(&r)))
        }),
        c("preadv directory: EISDIR", e(libc::EISDIR), |a, f| {
            let mut bufs = vec![vec![0u8; 2]];
            a.preadv(f.dir.as_fd(), &mut iov_mut(&mut bufs), 0)
                .map(|n| n.to_string())
        }),
        c("preadv closed fd: EBADF", e(libc::EBADF), |a, _| {
            let mut bufs = vec![vec![0u8; 2]];
            a.preadv(bad(), &mut iov_mut(&mut bufs), 0)
                .map(|n| n.to_string())
        }),
        c(
            "preadv at offset 2^63 (negative): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let mut bufs = vec![vec![0u8; 2]];
                a.preadv(f.file.as_fd(), &mut iov_mut(&mut bufs), 1 << 63)
                    .map(|n| n.to_string())
            },
        ),
        c("pwritev at an offset, position stays", OK, |a, f| {
            let n = a.pwritev(
                f.file.as_fd(),
                &[IoSlice::new(b"AB"), IoSlice::new(b"C")],
                4,
            )?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        c(
            "pwritev O_APPEND fd: appends whatever the offset",
            OK,
            |a, f| {
                let n = a.pwritev(f.append.as_fd(), &[IoSlice::new(b"AB")], 0)?;
                Ok(format!("{n} pos={} {}", pos(&f.append), f.content("file")))
            },
        ),
        c("pwritev pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (r, w) = pipe_with(b"");
            let res = a.pwritev(w.as_fd(), &[IoSlice::new(b"AB")], 0);
            res.map(|n| format!("{n} {}", drain(&r)))
        }),
        c("pwritev read-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.pwritev(f.rdonly.as_fd(), &[IoSlice::new(b"AB")], 0)
                .map(|n| n.to_string())
        }),
    ]
}

pub fn open() -> Vec<Case> {
    const RO: i32 = libc::O_RDONLY;
    vec![
        c("open read-only: the fd's flags", OK, |a, f| {
            let fd = a.open(&f.p("file"), RO, 0)?;
            let mut b = [0u8; 4];
            sys::read(&fd, &mut b).unwrap();
            Ok(format!("{} {}", fd_desc(&fd), s(&b)))
        }),
        c(
            "open O_RDWR | O_CLOEXEC | O_APPEND | O_NONBLOCK: the fd's flags",
            OK,
            |a, f| {
                let flags = libc::O_RDWR | libc::O_CLOEXEC | libc::O_APPEND | libc::O_NONBLOCK;
                a.open(&f.p("file"), flags, 0).map(fd_desc)
            },
        ),
        c("open O_CREAT 0o777: the umask applies", OK, |a, f| {
            let fd = a.open(&f.p("new"), libc::O_CREAT | libc::O_WRONLY, 0o777)?;
            Ok(format!(
                "{} umask={:o} {}",
                fd_desc(&fd),
                sys::umask(),
                f.entry("new")
            ))
        }),
        c("open O_CREAT 0o640", OK, |a, f| {
            let fd = a.open(&f.p("new"), libc::O_CREAT | libc::O_RDWR, 0o640)?;
            Ok(format!("{} {}", fd_desc(&fd), f.entry("new")))
        }),
        c("open O_TRUNC empties the file", OK, |a, f| {
            let fd = a.open(&f.p("file"), libc::O_WRONLY | libc::O_TRUNC, 0)?;
            Ok(format!("{} {}", fd_desc(&fd), f.entry("file")))
        }),
        c(
            "open O_CREAT | O_EXCL of an existing file: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
                a.open(&f.p("file"), flags, 0o644).map(fd_desc)
            },
        ),
        c(
            "open O_CREAT | O_EXCL of a dangling symlink: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
                a.open(&f.p("dangling"), flags, 0o644).map(fd_desc)
            },
        ),
        c("open a missing file: ENOENT", e(libc::ENOENT), |a, f| {
            a.open(&f.p("missing"), RO, 0).map(fd_desc)
        }),
        c(
            "open O_CREAT in a missing directory: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.open(&f.p("missing/new"), libc::O_CREAT | libc::O_WRONLY, 0o644)
                    .map(fd_desc)
            },
        ),
        c(
            "open a dangling symlink: ENOENT",
            e(libc::ENOENT),
            |a, f| a.open(&f.p("dangling"), RO, 0).map(fd_desc),
        ),
        c("open an empty path: ENOENT", e(libc::ENOENT), |a, _| {
            a.open(Path::new(""), RO, 0).map(fd_desc)
        }),
        c(
            "open a directory O_WRONLY: EISDIR",
            e(libc::EISDIR),
            |a, f| a.open(&f.p("sub"), libc::O_WRONLY, 0).map(fd_desc),
        ),
        c("open a directory O_RDONLY | O_DIRECTORY", OK, |a, f| {
            a.open(&f.p("sub"), RO | libc::O_DIRECTORY, 0).map(fd_desc)
        }),
        c(
            "open a file O_DIRECTORY: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| a.open(&f.p("file"), RO | libc::O_DIRECTORY, 0).map(fd_desc),
        ),
        c("open through a file: ENOTDIR", e(libc::ENOTDIR), |a, f| {
            a.open(&f.p("file/x"), RO, 0).map(fd_desc)
        }),
        c(
            "open a name longer than NAME_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, f| a.open(&f.p("").join(too_long_name()), RO, 0).map(fd_desc),
        ),
        c(
            "open a path longer than PATH_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, _| a.open(&too_long_path(), RO, 0).map(fd_desc),
        ),
        c("open a path longer than 384 bytes", OK, |a, f| {
            let path = deep_file(f, b"deep content");
            let fd = a.open(&path, RO, 0)?;
            let mut b = [0u8; 32];
            let n = sys::read(&fd, &mut b).unwrap();
            Ok(format!(
                "{} {} {}",
                path.as_os_str().len() > 384,
                fd_desc(&fd),
                s(&b[..n])
            ))
        }),
        c("open O_CREAT a path longer than 384 bytes", OK, |a, f| {
            let mut path = deep_file(f, b"");
            path.set_file_name("created");
            let fd = a.open(&path, libc::O_CREAT | libc::O_WRONLY, 0o600)?;
            Ok(format!("{} {}", fd_desc(&fd), path.exists()))
        }),
        c(
            "open O_NOFOLLOW of a symlink: ELOOP",
            e(libc::ELOOP),
            |a, f| a.open(&f.p("link"), RO | libc::O_NOFOLLOW, 0).map(fd_desc),
        ),
        c("open O_PATH | O_NOFOLLOW of a symlink", OK, |a, f| {
            a.open(&f.p("link"), libc::O_PATH | libc::O_NOFOLLOW, 0)
                .map(fd_desc)
        }),
        c(
            "open O_TMPFILE read-only: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.open(&f.p("sub"), libc::O_TMPFILE | RO, 0o600)
                    .map(fd_desc)
            },
        ),
        c("open O_TMPFILE | O_RDWR", OK, |a, f| {
            a.open(&f.p("sub"), libc::O_TMPFILE | libc::O_RDWR, 0o600)
                .map(fd_desc)
        }),
        c("openat relative to a directory fd", OK, |a, f| {
            let fd = a.openat(f.dir.as_fd(), Path::new("full/x"), RO, 0)?;
            let mut b = [0u8; 4];
            let n = sys::read(&fd, &mut b).unwrap();
            Ok(format!("{} {}", fd_desc(&fd), s(&b[..n])))
        }),
        c("openat CWD relative", OK, |a, _| {
            a.openat(uring_os::CWD, Path::new("Cargo.toml"), RO, 0)
                .map(fd_desc)
        }),
        c(
            "openat an absolute path ignores a closed dir fd",
            OK,
            |a, f| a.openat(bad(), &f.p("file"), RO, 0).map(fd_desc),
        ),
        c(
            "openat a relative path from a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, _| a.openat(bad(), Path::new("file"), RO, 0).map(fd_desc),
        ),
        c(
            "openat from a file fd: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| a.openat(f.file.as_fd(), Path::new("x"), RO, 0).map(fd_desc),
        ),
        c("openat a missing file: ENOENT", e(libc::ENOENT), |a, f| {
            a.openat(f.dir.as_fd(), Path::new("missing"), RO, 0)
                .map(fd_desc)
        }),
        c(
            "openat O_CREAT | O_EXCL of an existing file: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR;
                a.openat(f.dir.as_fd(), Path::new("empty"), flags, 0o600)
                    .map(fd_desc)
            },
        ),
        c(
            "openat a directory O_RDWR: EISDIR",
            e(libc::EISDIR),
            |a, f| {
                a.openat(f.dir.as_fd(), Path::new("sub"), libc::O_RDWR, 0)
                    .map(fd_desc)
            },
        ),
        c(
            "openat a name longer than NAME_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, f| {
                a.openat(f.dir.as_fd(), &too_long_name(), RO, 0)
                    .map(fd_desc)
            },
        ),
        c(
            "openat O_CREAT | O_EXCL | O_DIRECTORY: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_DIRECTORY | libc::O_RDWR;
                a.openat(f.dir.as_fd(), Path::new("newdir"), flags, 0o700)
                    .map(fd_desc)
            },
        ),
    ]
}

pub fn close() -> Vec<Case> {
    vec![
        c("close a duplicate", OK, |a, f| {
            let fd = f.file.try_clone().unwrap();
            a.close(fd)?;
            Ok(fd_desc(&f.file))
        }),
        c("close a socket: the peer sees EOF", OK, |a, _| {
            let (client, server) = tcp_pair();
            a.close(client)?;
            let mut b = [0u8; 4];
            Ok(format!("{:?}", sys::read(&server, &mut b)))
        }),
        c("close a closed fd: EBADF", e(libc::EBADF), |a, _| {
            // SAFETY: the number is not open, so this OwnedFd aliases nothing; close consumes
            // it and no drop runs.
            let fd = unsafe { OwnedFd::from_raw_fd(bad().as_raw_fd()) };
            a.close(fd).map(|()| String::new())
        }),
    ]
}

pub fn sync() -> Vec<Case> {
    use libc::{
        SYNC_FILE_RANGE_WAIT_AFTER as WAIT_AFTER, SYNC_FILE_RANGE_WAIT_BEFORE as WAIT_BEFORE,
        SYNC_FILE_RANGE_WRITE as WRITE,
    };
    vec![
        c("fsync file", OK, |a, f| {
            a.fsync(f.file.as_fd()).map(|()| String::new())
        }),
        c("fsync read-only fd", OK, |a, f| {
            a.fsync(f.rdonly.as_fd()).map(|()| String::new())
        }),
        c("fsync directory", OK, |a, f| {
            a.fsync(f.dir.as_fd()).map(|()| String::new())
        }),
        c("fsync pipe: EINVAL", e(libc::EINVAL), |a, _| {
            let (r, _w) = pipe_with(b"");
            a.fsync(r.as_fd()).map(|()| String::new())
        }),
        c("fsync socket: EINVAL", e(libc::EINVAL), |a, _| {
            a.fsync(tcp_socket().as_fd()).map(|()| String::new())
        }),
        c("fsync closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.fsync(bad()).map(|()| String::new())
        }),
        c("fdatasync file", OK, |a, f| {
            a.fdatasync(f.file.as_fd()).map(|()| String::new())
        }),
        c("fdatasync pipe: EINVAL", e(libc::EINVAL), |a, _| {
            let (r, _w) = pipe_with(b"");
            a.fdatasync(r.as_fd()).map(|()| String::new())
        }),
        c("fdatasync closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.fdatasync(bad()).map(|()| String::new())
        }),
        c("sync_file_range write + wait", OK, |a, f| {
            let flags = WAIT_BEFORE | WRITE | WAIT_AFTER;
            a.sync_file_range(f.file.as_fd(), 0, 4096, flags)
                .map(|()| String::new())
        }),
        c("sync_file_range without flags", OK, |a, f| {
            a.sync_file_range(f.file.as_fd(), 0, 0, 0)
                .map(|()| String::new())
        }),
        c("sync_file_range length beyond u32", OK, |a, f| {
            a.sync_file_range(f.file.as_fd(), 0, 1 << 40, WRITE)
                .map(|()| String::new())
        }),
        c(
            "sync_file_range unknown flag: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.sync_file_range(f.file.as_fd(), 0, 4096, 0x100)
                    .map(|()| String::new())
            },
        ),
        c(
            "sync_file_range offset 2^63 (negative): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.sync_file_range(f.file.as_fd(), 1 << 63, 10, WRITE)
                    .map(|()| String::new())
            },
        ),
        c("sync_file_range pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (r, _w) = pipe_with(b"");
            a.sync_file_range(r.as_fd(), 0, 10, WRITE)
                .map(|()| String::new())
        }),
        c(
            "sync_file_range closed fd: EBADF",
            e(libc::EBADF),
            |a, _| {
                a.sync_file_range(bad(), 0, 10, WRITE)
                    .map(|()| String::new())
            },
        ),
    ]
}

pub fn space() -> Vec<Case> {
    vec![
        c("fallocate extends the file", OK, |a, f| {
            a.fallocate(f.file.as_fd(), 0, 0, 8192)?;
            Ok(format!("{:?}", sys::fstat(&f.file).map(|st| st.st_size)))
        }),
        c("fallocate KEEP_SIZE past EOF keeps the size", OK, |a, f| {
            a.fallocate(f.file.as_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, 1 << 20)?;
            let st = sys::fstat(&f.file).unwrap();
            Ok(format!("{} {}", st.st_size, st.st_blocks >= 2048))
        }),
        c(
            "fallocate PUNCH_HOLE | KEEP_SIZE zeroes a range",
            OK,
            |a, f| {
                let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
                a.fallocate(f.file.as_fd(), mode, 2, 3)?;
                Ok(format!("{:?}", f.content("file")))
            },
        ),
        c(
            "fallocate PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP",
            e(libc::EOPNOTSUPP),
            |a, f| {
                let res = a.fallocate(f.file.as_fd(), libc::FALLOC_FL_PUNCH_HOLE, 0, 4);
                res.map(|()| String::new())
            },
        ),
        c("fallocate zero length: EINVAL", e(libc::EINVAL), |a, f| {
            a.fallocate(f.file.as_fd(), 0, 0, 0).map(|()| String::new())
        }),
        c(
            "fallocate offset 2^63 (negative): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.fallocate(f.file.as_fd(), 0, 1 << 63, 10)
                    .map(|()| String::new())
            },
        ),
        c(
            "fallocate beyond the largest file: EFBIG",
            e(libc::EFBIG),
            |a, f| {
                let off = i64::MAX as u64 - 10;
                a.fallocate(f.file.as_fd(), 0, off, 100)
                    .map(|()| String::new())
            },
        ),
        c("fallocate pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (_r, w) = pipe_with(b"");
            a.fallocate(w.as_fd(), 0, 0, 10).map(|()| String::new())
        }),
        c("fallocate read-only fd: EBADF", e(libc::EBADF), |a, f| {
            a.fallocate(f.rdonly.as_fd(), 0, 0, 10)
                .map(|()| String::new())
        }),
        c("fallocate closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.fallocate(bad(), 0, 0, 10).map(|()| String::new())
        }),
        c("fadvise SEQUENTIAL", OK, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL)
                .map(|()| String::new())
        }),
        c("fadvise DONTNEED", OK, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 4096, libc::POSIX_FADV_DONTNEED)
                .map(|()| String::new())
        }),
        c("fadvise length beyond u32", OK, |a, f| {
            a.fadvise(f.file.as_fd(), 0, 1 << 40, libc::POSIX_FADV_WILLNEED)
                .map(|()| String::new())
        }),
        c("fadvise unknown advice: EINVAL", e(libc::EINVAL), |a, f| {
            a.fadvise(f.file.as_fd(), 0, 0, 99).map(|()| String::new())
        }),
        c("fadvise pipe: ESPIPE", e(libc::ESPIPE), |a, _| {
            let (r, _w) = pipe_with(b"");
            a.fadvise(r.as_fd(), 0, 0, libc::POSIX_FADV_NORMAL)
                .map(|()| String::new())
        }),
        c("fadvise closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.fadvise(bad(), 0, 0, libc::POSIX_FADV_NORMAL)
                .map(|()| String::new())
        }),
        c("ftruncate shortens", OK, |a, f| {
            a.ftruncate(f.file.as_fd(), 5)?;
            Ok(format!("pos={} {}", pos(&f.file), f.content("file")))
        }),
        c("ftruncate extends with zeroes", OK, |a, f| {
            a.ftruncate(f.file.as_fd(), 40)?;
            Ok(format!("{:?}", f.content("file")))
        }),
        c("ftruncate read-only fd: EINVAL", e(libc::EINVAL), |a, f| {
            a.ftruncate(f.rdonly.as_fd(), 5).map(|()| f.content("file"))
        }),
        c("ftruncate pipe: EINVAL", e(libc::EINVAL), |a, _| {
            let (_r, w) = pipe_with(b"");
            a.ftruncate(w.as_fd(), 5).map(|()| String::new())
        }),
        c(
            "ftruncate length 2^63 (negative): EINVAL",
            e(libc::EINVAL),
            |a, f| a.ftruncate(f.file.as_fd(), 1 << 63).map(|()| String::new()),
        ),
        c("ftruncate closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.ftruncate(bad(), 5).map(|()| String::new())
        }),
    ]
}

pub fn statx() -> Vec<Case> {
    const BASIC: u32 = libc::STATX_BASIC_STATS;
    vec![
        c("statx a file by path", OK, |a, f| {
            let stx = a.statx(uring_os::CWD, &f.p("file"), 0, BASIC)?;
            let st = sys::fstat(&f.file).unwrap();
            Ok(format!(
                "{} ino_ok={}",
                stx_desc(&stx),
                stx.stx_ino == st.st_ino
            ))
        }),
        c("statx relative to a directory fd", OK, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("full"), 0, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c("statx AT_EMPTY_PATH of an fd", OK, |a, f| {
            let stx = a.statx(f.file.as_fd(), Path::new(""), libc::AT_EMPTY_PATH, BASIC)?;
            Ok(stx_desc(&stx))
        }),
        c("statx follows a symlink", OK, |a, f| {
            a.statx(f.dir.as_fd(), Path::new("link"), 0, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c("statx AT_SYMLINK_NOFOLLOW of a symlink", OK, |a, f| {
            let flags = libc::AT_SYMLINK_NOFOLLOW;
            a.statx(f.dir.as_fd(), Path::new("link"), flags, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c("statx only the size", OK, |a, f| {
            let stx = a.statx(f.dir.as_fd(), Path::new("file"), 0, libc::STATX_SIZE)?;
            Ok(format!(
                "{} {}",
                stx.stx_mask & libc::STATX_SIZE,
                stx.stx_size
            ))
        }),
        c(
            "statx an absolute path ignores a closed dir fd",
            OK,
            |a, f| a.statx(bad(), &f.p("file"), 0, BASIC).map(|x| stx_desc(&x)),
        ),
        c("statx a path longer than 384 bytes", OK, |a, f| {
            let path = deep_file(f, b"12345");
            a.statx(uring_os::CWD, &path, 0, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c("statx a missing file: ENOENT", e(libc::ENOENT), |a, f| {
            a.statx(f.dir.as_fd(), Path::new("missing"), 0, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c(
            "statx an empty path without AT_EMPTY_PATH: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.statx(f.file.as_fd(), Path::new(""), 0, BASIC)
                    .map(|x| stx_desc(&x))
            },
        ),
        c(
            "statx a dangling symlink: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.statx(f.dir.as_fd(), Path::new("dangling"), 0, BASIC)
                    .map(|x| stx_desc(&x))
            },
        ),
        c("statx through a file: ENOTDIR", e(libc::ENOTDIR), |a, f| {
            a.statx(f.dir.as_fd(), Path::new("file/x"), 0, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c(
            "statx relative to a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, _| {
                a.statx(bad(), Path::new("file"), 0, BASIC)
                    .map(|x| stx_desc(&x))
            },
        ),
        c(
            "statx a name longer than NAME_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, f| {
                a.statx(f.dir.as_fd(), &too_long_name(), 0, BASIC)
                    .map(|x| stx_desc(&x))
            },
        ),
        c(
            "statx a path longer than PATH_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, _| {
                a.statx(uring_os::CWD, &too_long_path(), 0, BASIC)
                    .map(|x| stx_desc(&x))
            },
        ),
        c("statx unknown flag: EINVAL", e(libc::EINVAL), |a, f| {
            a.statx(f.dir.as_fd(), Path::new("file"), 0x1, BASIC)
                .map(|x| stx_desc(&x))
        }),
        c(
            "statx reserved mask bit: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let mask = libc::STATX__RESERVED as u32;
                a.statx(f.dir.as_fd(), Path::new("file"), 0, mask)
                    .map(|x| stx_desc(&x))
            },
        ),
        c(
            "statx FORCE_SYNC | DONT_SYNC: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let flags = libc::AT_STATX_FORCE_SYNC | libc::AT_STATX_DONT_SYNC;
                a.statx(f.dir.as_fd(), Path::new("file"), flags, BASIC)
                    .map(|x| stx_desc(&x))
            },
        ),
    ]
}

pub fn dirs() -> Vec<Case> {
    vec![
        c("mkdirat 0o777: the umask applies", OK, |a, f| {
            a.mkdirat(f.dir.as_fd(), Path::new("newdir"), 0o777)?;
            Ok(f.entry("newdir"))
        }),
        c("mkdirat an absolute path from CWD", OK, |a, f| {
            a.mkdirat(uring_os::CWD, &f.p("sub/inner"), 0o700)?;
            Ok(f.entry("sub/inner"))
        }),
        c("mkdirat a path longer than 384 bytes", OK, |a, f| {
            let mut path = deep_file(f, b"");
            path.set_file_name("newdir");
            a.mkdirat(uring_os::CWD, &path, 0o755)?;
            Ok(format!("{}", path.is_dir()))
        }),
        c(
            "mkdirat an existing directory: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                a.mkdirat(f.dir.as_fd(), Path::new("sub"), 0o755)
                    .map(|()| String::new())
            },
        ),
        c(
            "mkdirat an existing file: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                a.mkdirat(f.dir.as_fd(), Path::new("file"), 0o755)
                    .map(|()| String::new())
            },
        ),
        c(
            "mkdirat a dangling symlink: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                a.mkdirat(f.dir.as_fd(), Path::new("dangling"), 0o755)
                    .map(|()| String::new())
            },
        ),
        c(
            "mkdirat in a missing directory: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.mkdirat(f.dir.as_fd(), Path::new("missing/d"), 0o755)
                    .map(|()| String::new())
            },
        ),
        c(
            "mkdirat through a file: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| {
                a.mkdirat(f.dir.as_fd(), Path::new("file/d"), 0o755)
                    .map(|()| String::new())
            },
        ),
        c(
            "mkdirat relative to a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, _| {
                a.mkdirat(bad(), Path::new("d"), 0o755)
                    .map(|()| String::new())
            },
        ),
        c(
            "mkdirat a name longer than NAME_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, f| {
                a.mkdirat(f.dir.as_fd(), &too_long_name(), 0o755)
                    .map(|()| String::new())
            },
        ),
        c("unlinkat a file", OK, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("empty"), 0)?;
            Ok(f.entry("empty"))
        }),
        c("unlinkat a symlink removes the link only", OK, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("link"), 0)?;
            Ok(format!("{} / {}", f.entry("link"), f.entry("file")))
        }),
        c("unlinkat AT_REMOVEDIR an empty directory", OK, |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("sub"), libc::AT_REMOVEDIR)?;
            Ok(f.entry("sub"))
        }),
        c(
            "unlinkat a missing file: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.unlinkat(f.dir.as_fd(), Path::new("missing"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "unlinkat a directory without AT_REMOVEDIR: EISDIR",
            e(libc::EISDIR),
            |a, f| {
                a.unlinkat(f.dir.as_fd(), Path::new("sub"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "unlinkat AT_REMOVEDIR a non-empty directory: ENOTEMPTY",
            e(libc::ENOTEMPTY),
            |a, f| {
                let res = a.unlinkat(f.dir.as_fd(), Path::new("full"), libc::AT_REMOVEDIR);
                res.map(|()| String::new())
            },
        ),
        c(
            "unlinkat AT_REMOVEDIR a file: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| {
                let res = a.unlinkat(f.dir.as_fd(), Path::new("file"), libc::AT_REMOVEDIR);
                res.map(|()| f.entry("file"))
            },
        ),
        c(
            "unlinkat through a file: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| {
                a.unlinkat(f.dir.as_fd(), Path::new("file/x"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "unlinkat AT_REMOVEDIR \".\": EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let res = a.unlinkat(f.dir.as_fd(), Path::new("sub/."), libc::AT_REMOVEDIR);
                res.map(|()| String::new())
            },
        ),
        c("unlinkat unknown flag: EINVAL", e(libc::EINVAL), |a, f| {
            a.unlinkat(f.dir.as_fd(), Path::new("empty"), 0x1)
                .map(|()| f.entry("empty"))
        }),
        c(
            "unlinkat relative to a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, _| {
                a.unlinkat(bad(), Path::new("empty"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "unlinkat a path longer than PATH_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, _| {
                a.unlinkat(uring_os::CWD, &too_long_path(), 0)
                    .map(|()| String::new())
            },
        ),
        c("renameat a file", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("file"), d, Path::new("moved"), 0)?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("moved")))
        }),
        c("renameat over an existing file", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("file"), d, Path::new("empty"), 0)?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("empty")))
        }),
        c(
            "renameat between directories, absolute paths",
            OK,
            |a, f| {
                a.renameat(bad(), &f.p("file"), bad(), &f.p("sub/file"), 0)?;
                Ok(format!("{} / {}", f.entry("file"), f.entry("sub")))
            },
        ),
        c("renameat RENAME_NOREPLACE to a new name", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(
                d,
                Path::new("file"),
                d,
                Path::new("new"),
                libc::RENAME_NOREPLACE,
            )?;
            Ok(f.entry("new"))
        }),
        c(
            "renameat RENAME_NOREPLACE onto a file: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                let d = f.dir.as_fd();
                let flags = libc::RENAME_NOREPLACE;
                a.renameat(d, Path::new("file"), d, Path::new("empty"), flags)
                    .map(|()| String::new())
            },
        ),
        c("renameat RENAME_EXCHANGE swaps", OK, |a, f| {
            let d = f.dir.as_fd();
            a.renameat(
                d,
                Path::new("file"),
                d,
                Path::new("sub"),
                libc::RENAME_EXCHANGE,
            )?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("sub")))
        }),
        c(
            "renameat RENAME_EXCHANGE with a missing name: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                let d = f.dir.as_fd();
                let flags = libc::RENAME_EXCHANGE;
                a.renameat(d, Path::new("file"), d, Path::new("missing"), flags)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat NOREPLACE | EXCHANGE: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let d = f.dir.as_fd();
                let flags = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE;
                a.renameat(d, Path::new("file"), d, Path::new("empty"), flags)
                    .map(|()| String::new())
            },
        ),
        c("renameat unknown flag: EINVAL", e(libc::EINVAL), |a, f| {
            let d = f.dir.as_fd();
            a.renameat(d, Path::new("file"), d, Path::new("new"), 1 << 10)
                .map(|()| String::new())
        }),
        c(
            "renameat a missing file: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("missing"), d, Path::new("new"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat a directory onto a non-empty one: ENOTEMPTY",
            e(libc::ENOTEMPTY),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("sub"), d, Path::new("full"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat a file onto a directory: EISDIR",
            e(libc::EISDIR),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("file"), d, Path::new("sub"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat a directory onto a file: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("sub"), d, Path::new("file"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat a directory into itself: EINVAL",
            e(libc::EINVAL),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("full"), d, Path::new("full/inner"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat relative to a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(bad(), Path::new("file"), d, Path::new("new"), 0)
                    .map(|()| String::new())
            },
        ),
        c(
            "renameat to a name longer than NAME_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, f| {
                let d = f.dir.as_fd();
                a.renameat(d, Path::new("file"), d, &too_long_name(), 0)
                    .map(|()| String::new())
            },
        ),
    ]
}

pub fn links() -> Vec<Case> {
    vec![
        c("symlinkat", OK, |a, f| {
            a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("newlink"))?;
            Ok(f.entry("newlink"))
        }),
        c("symlinkat to a missing target", OK, |a, f| {
            a.symlinkat(
                Path::new("/no/such/target"),
                f.dir.as_fd(),
                Path::new("newlink"),
            )?;
            Ok(f.entry("newlink"))
        }),
        c(
            "symlinkat an existing name: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("empty"))
                    .map(|()| String::new())
            },
        ),
        c(
            "symlinkat in a missing directory: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("missing/l"))
                    .map(|()| String::new())
            },
        ),
        c(
            "symlinkat an empty target: ENOENT",
            e(libc::ENOENT),
            |a, f| {
                a.symlinkat(Path::new(""), f.dir.as_fd(), Path::new("newlink"))
                    .map(|()| String::new())
            },
        ),
        c(
            "symlinkat through a file: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| {
                a.symlinkat(Path::new("file"), f.dir.as_fd(), Path::new("file/l"))
                    .map(|()| String::new())
            },
        ),
        c(
            "symlinkat relative to a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, _| {
                a.symlinkat(Path::new("file"), bad(), Path::new("l"))
                    .map(|()| String::new())
            },
        ),
        c(
            "symlinkat a target longer than PATH_MAX: ENAMETOOLONG",
            e(libc::ENAMETOOLONG),
            |a, f| {
                a.symlinkat(&too_long_path(), f.dir.as_fd(), Path::new("l"))
                    .map(|()| String::new())
            },
        ),
        c("symlinkat a target longer than 384 bytes", OK, |a, f| {
            let target = PathBuf::from("t".repeat(500));
            a.symlinkat(&target, f.dir.as_fd(), Path::new("l"))?;
            Ok(f.entry("l"))
        }),
        c("linkat", OK, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("file"), d, Path::new("hard"), 0)?;
            Ok(format!("{} / {}", f.entry("file"), f.entry("hard")))
        }),
        c(
            "linkat a symlink without AT_SYMLINK_FOLLOW links the symlink",
            OK,
            |a, f| {
                let d = f.dir.as_fd();
                a.linkat(d, Path::new("link"), d, Path::new("hard"), 0)?;
                Ok(f.entry("hard"))
            },
        ),
        c("linkat AT_SYMLINK_FOLLOW links the target", OK, |a, f| {
            let d = f.dir.as_fd();
            a.linkat(
                d,
                Path::new("link"),
                d,
                Path::new("hard"),
                libc::AT_SYMLINK_FOLLOW,
            )?;
            Ok(f.entry("hard"))
        }),
        c("linkat AT_EMPTY_PATH of an fd", OK, |a, f| {
            let (d, fd) = (f.dir.as_fd(), f.file.as_fd());
            a.linkat(fd, Path::new(""), d, Path::new("hard"), libc::AT_EMPTY_PATH)?;
            Ok(f.entry("hard"))
        }),
        c(
            "linkat onto an existing name: EEXIST",
            e(libc::EEXIST),
            |a, f| {
                let d = f.dir.as_fd();
                a.linkat(d, Path::new("file"), d, Path::new("empty"), 0)
                    .map(|()| String::new())
            },
        ),
        c("linkat a missing file: ENOENT", e(libc::ENOENT), |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("missing"), d, Path::new("hard"), 0)
                .map(|()| String::new())
        }),
        c("linkat a directory: EPERM", e(libc::EPERM), |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("sub"), d, Path::new("hard"), 0)
                .map(|()| String::new())
        }),
        c(
            "linkat through a file: ENOTDIR",
            e(libc::ENOTDIR),
            |a, f| {
                let d = f.dir.as_fd();
                a.linkat(d, Path::new("file/x"), d, Path::new("hard"), 0)
                    .map(|()| String::new())
            },
        ),
        c("linkat unknown flag: EINVAL", e(libc::EINVAL), |a, f| {
            let d = f.dir.as_fd();
            a.linkat(d, Path::new("file"), d, Path::new("hard"), 0x1)
                .map(|()| String::new())
        }),
        c(
            "linkat relative to a closed dir fd: EBADF",
            e(libc::EBADF),
            |a, f| {
                let d = f.dir.as_fd();
                a.linkat(bad(), Path::new("file"), d, Path::new("hard"), 0)
                    .map(|()| String::new())
            },
        ),
    ]
}

pub fn sockets() -> Vec<Case> {
    use libc::{AF_INET, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM};
    vec![
        c("socket AF_INET stream", OK, |a, _| {
            a.socket(AF_INET, SOCK_STREAM, 0).map(fd_desc)
        }),
        c("socket with SOCK_NONBLOCK | SOCK_CLOEXEC", OK, |a, _| {
            a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
                .map(fd_desc)
        }),
        c("socket AF_INET datagram", OK, |a, _| {
            a.socket(AF_INET, SOCK_DGRAM, 0).map(fd_desc)
        }),
        c("socket AF_UNIX stream", OK, |a, _| {
            a.socket(AF_UNIX, SOCK_STREAM, 0).map(fd_desc)
        }),
        c("socket unknown type: EINVAL", e(libc::EINVAL), |a, _| {
            a.socket(AF_INET, 999, 0).map(fd_desc)
        }),
        c(
            "socket unknown flag in the type: EINVAL",
            e(libc::EINVAL),
            |a, _| a.socket(AF_INET, SOCK_STREAM | 0x4000_0000, 0).map(fd_desc),
        ),
        c(
            "socket unknown domain: EAFNOSUPPORT",
            e(libc::EAFNOSUPPORT),
            |a, _| a.socket(999, SOCK_STREAM, 0).map(fd_desc),
        ),
        c(
            "socket stream with UDP: EPROTONOSUPPORT",
            e(libc::EPROTONOSUPPORT),
            |a, _| {
                a.socket(AF_INET, SOCK_STREAM, libc::IPPROTO_UDP)
                    .map(fd_desc)
            },
        ),
        c("bind 127.0.0.1:0", OK, |a, _| {
            let fd = tcp_socket();
            a.bind(fd.as_fd(), &"127.0.0.1:0".parse().unwrap())?;
            let addr = getsockname(&fd).unwrap();
            Ok(format!("{} {}", addr.ip(), addr.port() != 0))
        }),
        c(
            "bind a listener's address: EADDRINUSE",
            e(libc::EADDRINUSE),
            |a, _| {
                let (_l, addr) = listener();
                a.bind(tcp_socket().as_fd(), &addr).map(|()| String::new())
            },
        ),
        c("bind twice: EINVAL", e(libc::EINVAL), |a, _| {
            let fd = tcp_socket();
            let any = "127.0.0.1:0".parse().unwrap();
            a.bind(fd.as_fd(), &any)?;
            a.bind(fd.as_fd(), &any).map(|()| String::new())
        }),
        c(
            "bind a non-local address: EADDRNOTAVAIL",
            e(libc::EADDRNOTAVAIL),
            |a, _| {
                let addr = "192.0.2.1:0".parse().unwrap();
                a.bind(tcp_socket().as_fd(), &addr).map(|()| String::new())
            },
        ),
        c(
            "bind an IPv6 address to an IPv4 socket: EAFNOSUPPORT",
            e(libc::EAFNOSUPPORT),
            |a, _| {
                let addr = "[::1]:0".parse().unwrap();
                a.bind(tcp_socket().as_fd(), &addr).map(|()| String::new())
            },
        ),
        c("bind a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            let addr = "127.0.0.1:0".parse().unwrap();
            a.bind(f.file.as_fd(), &addr).map(|()| String::new())
        }),
        c("bind a closed fd: EBADF", e(libc::EBADF), |a, _| {
            let addr = "127.0.0.1:0".parse().unwrap();
            a.bind(bad(), &addr).map(|()| String::new())
        }),
        c("listen a bound socket: connectable", OK, |a, _| {
            let fd = tcp_socket();
            sys_bind_loopback(&fd);
            a.listen(fd.as_fd(), 16)?;
            let addr = getsockname(&fd).unwrap();
            Ok(format!("{}", std::net::TcpStream::connect(addr).is_ok()))
        }),
        c("listen an unbound socket binds it", OK, |a, _| {
            let fd = tcp_socket();
            a.listen(fd.as_fd(), 16)?;
            Ok(format!("{}", getsockname(&fd).unwrap().port() != 0))
        }),
        c(
            "listen a UDP socket: EOPNOTSUPP",
            e(libc::EOPNOTSUPP),
            |a, _| a.listen(udp_socket().as_fd(), 16).map(|()| String::new()),
        ),
        c("listen a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            a.listen(f.file.as_fd(), 16).map(|()| String::new())
        }),
        c("listen a closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.listen(bad(), 16).map(|()| String::new())
        }),
    ]
}

fn sys_bind_loopback(fd: &OwnedFd) {
    Libc.bind(fd.as_fd(), &"127.0.0.1:0".parse().unwrap())
        .expect("bind 127.0.0.1:0");
}

pub fn connections() -> Vec<Case> {
    vec![
        c("accept: the fd and the peer's address", OK, |a, _| {
            let (l, addr) = listener();
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (fd, peer) = a.accept(l.as_fd())?;
            Ok(format!(
                "{} peer_ok={}",
                fd_desc(&fd),
                peer == client.local_addr().unwrap()
            ))
        }),
        c("accept4 SOCK_CLOEXEC | SOCK_NONBLOCK", OK, |a, _| {
            let (l, addr) = listener();
            let client = std::net::TcpStream::connect(addr).unwrap();
            let (fd, peer) = a.accept4(l.as_fd(), libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)?;
            Ok(format!(
                "{} peer_ok={}",
                fd_desc(&fd),
                peer == client.local_addr().unwrap()
            ))
        }),
        c(
            "accept a unix socket: the unspecified address",
            OK,
            |a, f| {
                let path = f.p("sock");
                let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
                let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
                let (fd, peer) = a.accept(l.as_fd())?;
                Ok(format!("{} {peer}", fd_desc(&fd)))
            },
        ),
        c("accept4 unknown flag: EINVAL", e(libc::EINVAL), |a, _| {
            let (l, _addr) = listener();
            a.accept4(l.as_fd(), 0x1).map(|(fd, _)| fd_desc(fd))
        }),
        c(
            "accept a socket that is not listening: EINVAL",
            e(libc::EINVAL),
            |a, _| a.accept(tcp_socket().as_fd()).map(|(fd, _)| fd_desc(fd)),
        ),
        c(
            "accept a UDP socket: EOPNOTSUPP",
            e(libc::EOPNOTSUPP),
            |a, _| a.accept(udp_socket().as_fd()).map(|(fd, _)| fd_desc(fd)),
        ),
        c("accept a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            a.accept(f.file.as_fd()).map(|(fd, _)| fd_desc(fd))
        }),
        c("accept a closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.accept(bad()).map(|(fd, _)| fd_desc(fd))
        }),
        c("connect to a listener", OK, |a, _| {
            let (l, addr) = listener();
            let fd = tcp_socket();
            a.connect(fd.as_fd(), &addr)?;
            let (server, _) = Libc.accept(l.as_fd()).unwrap();
            sys::write(&fd, b"hi").unwrap();
            let mut b = [0u8; 2];
            sys::read(&server, &mut b).unwrap();
            Ok(s(&b))
        }),
        c("connect a UDP socket", OK, |a, _| {
            let fd = udp_socket();
            a.connect(fd.as_fd(), &"127.0.0.1:9".parse().unwrap())?;
            Ok(format!("{}", getsockname(&fd).unwrap().ip()))
        }),
        c(
            "connect to a closed port: ECONNREFUSED",
            e(libc::ECONNREFUSED),
            |a, _| {
                a.connect(tcp_socket().as_fd(), &closed_port())
                    .map(|()| String::new())
            },
        ),
        c(
            "connect a connected socket: EISCONN",
            e(libc::EISCONN),
            |a, _| {
                let (l, addr) = listener();
                let fd = tcp_socket();
                Libc.connect(fd.as_fd(), &addr).unwrap();
                let res = a.connect(fd.as_fd(), &addr);
                drop(l);
                res.map(|()| String::new())
            },
        ),
        c(
            "connect an IPv4 socket to an IPv6 address: EAFNOSUPPORT",
            e(libc::EAFNOSUPPORT),
            |a, _| {
                a.connect(tcp_socket().as_fd(), &"[::1]:9".parse().unwrap())
                    .map(|()| String::new())
            },
        ),
        c("connect a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            a.connect(f.file.as_fd(), &closed_port())
                .map(|()| String::new())
        }),
        c("connect a closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.connect(bad(), &closed_port()).map(|()| String::new())
        }),
        c("send: the peer receives it", OK, |a, _| {
            let (client, server) = tcp_pair();
            let n = a.send(client.as_fd(), b"hello", 0)?;
            let mut b = [0u8; 8];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        c("send MSG_DONTWAIT", OK, |a, _| {
            let (client, server) = tcp_pair();
            let n = a.send(client.as_fd(), b"hello", libc::MSG_DONTWAIT)?;
            let mut b = [0u8; 8];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        c(
            "send after shutdown(Write): EPIPE",
            e(libc::EPIPE),
            |a, _| {
                let (client, _server) = tcp_pair();
                Libc.shutdown(client.as_fd(), Shutdown::Write).unwrap();
                a.send(client.as_fd(), b"x", libc::MSG_NOSIGNAL)
                    .map(|n| n.to_string())
            },
        ),
        c(
            "send on an unconnected TCP socket: EPIPE",
            e(libc::EPIPE),
            |a, _| {
                a.send(tcp_socket().as_fd(), b"x", libc::MSG_NOSIGNAL)
                    .map(|n| n.to_string())
            },
        ),
        c(
            "send on an unconnected UDP socket: EDESTADDRREQ",
            e(libc::EDESTADDRREQ),
            |a, _| a.send(udp_socket().as_fd(), b"x", 0).map(|n| n.to_string()),
        ),
        c("send on a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            a.send(f.file.as_fd(), b"x", 0).map(|n| n.to_string())
        }),
        c("send on a closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.send(bad(), b"x", 0).map(|n| n.to_string())
        }),
        c("recv", OK, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"hello").unwrap();
            let mut b = [0u8; 16];
            let n = a.recv(client.as_fd(), &mut b, 0)?;
            Ok(format!("{n} {}", s(&b[..n])))
        }),
        c("recv MSG_PEEK leaves the data", OK, |a, _| {
            let (client, server) = tcp_pair();
            sys::write(&server, b"hello").unwrap();
            let mut b = [0u8; 3];
            let n = a.recv(client.as_fd(), &mut b, libc::MSG_PEEK)?;
            let mut rest = [0u8; 16];
            let m = sys::read(&client, &mut rest).unwrap();
            Ok(format!("{n} {} {}", s(&b), s(&rest[..m])))
        }),
        c("recv after the peer's shutdown(Write): 0", OK, |a, _| {
            let (client, server) = tcp_pair();
            Libc.shutdown(server.as_fd(), Shutdown::Write).unwrap();
            a.recv(client.as_fd(), &mut [0u8; 8], 0)
                .map(|n| n.to_string())
        }),
        nb(
            "recv into an empty buffer with data pending: 0",
            OK,
            |a, _| {
                let (client, server) = tcp_pair();
                sys::write(&server, b"data").unwrap();
                let n = a.recv(client.as_fd(), &mut [], 0)?;
                let mut b = [0u8; 8];
                let m = sys::read(&client, &mut b).unwrap();
                Ok(format!("{n} {}", s(&b[..m])))
            },
        ),
        nb(
            "recv MSG_DONTWAIT without data: EAGAIN",
            e(libc::EAGAIN),
            |a, _| {
                let (client, _server) = tcp_pair();
                a.recv(client.as_fd(), &mut [0u8; 8], libc::MSG_DONTWAIT)
                    .map(|n| n.to_string())
            },
        ),
        c(
            "recv an unconnected TCP socket: ENOTCONN",
            e(libc::ENOTCONN),
            |a, _| {
                a.recv(tcp_socket().as_fd(), &mut [0u8; 8], 0)
                    .map(|n| n.to_string())
            },
        ),
        c("recv a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            a.recv(f.file.as_fd(), &mut [0u8; 8], 0)
                .map(|n| n.to_string())
        }),
        c("recv a closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.recv(bad(), &mut [0u8; 8], 0).map(|n| n.to_string())
        }),
        c("shutdown(Write): the peer reads EOF", OK, |a, _| {
            let (client, server) = tcp_pair();
            a.shutdown(client.as_fd(), Shutdown::Write)?;
            Ok(format!("{:?}", sys::read(&server, &mut [0u8; 4])))
        }),
        c("shutdown(Read): reads give 0", OK, |a, _| {
            let (client, _server) = tcp_pair();
            a.shutdown(client.as_fd(), Shutdown::Read)?;
            Ok(format!("{:?}", sys::read(&client, &mut [0u8; 4])))
        }),
        c("shutdown(Both)", OK, |a, _| {
            let (client, server) = tcp_pair();
            a.shutdown(client.as_fd(), Shutdown::Both)?;
            Ok(format!(
                "{:?} {:?}",
                sys::read(&client, &mut [0u8; 4]),
                sys::read(&server, &mut [0u8; 4])
            ))
        }),
        c(
            "shutdown an unconnected socket: ENOTCONN",
            e(libc::ENOTCONN),
            |a, _| {
                a.shutdown(tcp_socket().as_fd(), Shutdown::Both)
                    .map(|()| String::new())
            },
        ),
        c("shutdown a file: ENOTSOCK", e(libc::ENOTSOCK), |a, f| {
            a.shutdown(f.file.as_fd(), Shutdown::Both)
                .map(|()| String::new())
        }),
        c("shutdown a closed fd: EBADF", e(libc::EBADF), |a, _| {
            a.shutdown(bad(), Shutdown::Both).map(|()| String::new())
        }),
    ]
}

pub fn splice() -> Vec<Case> {
    const NB: u32 = libc::SPLICE_F_NONBLOCK;
    vec![
        c(
            "splice file at an offset to a pipe: the position stays",
            OK,
            |a, f| {
                let (r, w) = pipe_with(b"");
                let n = a.splice(f.file.as_fd(), Some(2), w.as_fd(), None, 5, 0)?;
                Ok(format!("{n} {} pos={}", drain(&r), pos(&f.file)))
            },
        ),
        c(
            "splice file at its position to a pipe: the position advances",
            OK,
            |a, f| {
                sys::lseek(&f.file, 4, libc::SEEK_SET).unwrap();
                let (r, w) = pipe_with(b"");
                let n = a.splice(f.file.as_fd(), None, w.as_fd(), None, 6, 0)?;
                Ok(format!("{n} {} pos={}", drain(&r), pos(&f.file)))
            },
        ),
        c("splice file past EOF to a pipe: 0", OK, |a, f| {
            let (_r, w) = pipe_with(b"");
            a.splice(f.file.as_fd(), Some(1000), w.as_fd(), None, 6, 0)
                .map(|n| n.to_string())
        }),
        c("splice pipe to a file at an offset", OK, |a, f| {
            let (r, _w) = pipe_with(b"PIPE");
            let n = a.splice(r.as_fd(), None, f.file.as_fd(), Some(3), 100, 0)?;
            Ok(format!("{n} pos={} {}", pos(&f.file), f.content("file")))
        }),
        c("splice pipe to a file at its position", OK, |a, f| {
            sys::lseek(&f.file, 10, libc::SEEK_SET).unwrap();
            let (r, _w) = pipe_with(b"PIPE");
            let n = a.splice(r.as_fd(), None, f.file.as_fd(), None, 2, 0)?;
            Ok(format!(
                "{n} pos={} {} left={}",
                pos(&f.file),
                f.content("file"),
                drain(&r)
            ))
        }),
        c("splice pipe to a pipe", OK, |a, _| {
            let (r1, _w1) = pipe_with(b"data");
            let (r2, w2) = pipe_with(b"");
            let n = a.splice(r1.as_fd(), None, w2.as_fd(), None, 100, 0)?;
            Ok(format!("{n} {}", drain(&r2)))
        }),
        c("splice pipe to a socket", OK, |a, _| {
            let (r, _w) = pipe_with(b"data");
            let (client, server) = tcp_pair();
            let n = a.splice(r.as_fd(), None, client.as_fd(), None, 100, 0)?;
            let mut b = [0u8; 8];
            let m = sys::read(&server, &mut b).unwrap();
            Ok(format!("{n} {}", s(&b[..m])))
        }),
        c("splice zero bytes: 0", OK, |a, f| {
            let (_r, w) = pipe_with(b"");
            a.splice(f.file.as_fd(), Some(0), w.as_fd(), None, 0, 0)
                .map(|n| n.to_string())
        }),
        c("splice an empty pipe without writers: 0", OK, |a, f| {
            let (r, w) = pipe_with(b"");
            drop(w);
            a.splice(r.as_fd(), None, f.file.as_fd(), Some(0), 10, 0)
                .map(|n| n.to_string())
        }),
        nb(
            "splice SPLICE_F_NONBLOCK from an empty pipe: EAGAIN",
            e(libc::EAGAIN),
            |a, f| {
                let (r, _w) = pipe_with(b"");
                a.splice(r.as_fd(), None, f.file.as_fd(), Some(0), 10, NB)
                    .map(|n| n.to_string())
            },
        ),
        c(
            "splice with an offset for the pipe: ESPIPE",
            e(libc::ESPIPE),
            |a, f| {
                let (r, _w) = pipe_with(b"data");
                a.splice(r.as_fd(), Some(0), f.file.as_fd(), Some(0), 10, 0)
                    .map(|n| n.to_string())
            },
        ),
        c(
            "splice file to file (no pipe): EINVAL",
            e(libc::EINVAL),
            |a, f| {
                a.splice(f.rdonly.as_fd(), Some(0), f.wronly.as_fd(), Some(0), 10, 0)
                    .map(|n| n.to_string())
            },
        ),
        c(
            "splice into a read-only file: EBADF",
            e(libc::EBADF),
            |a, f| {
                let (r, _w) = pipe_with(b"data");
                a.splice(r.as_fd(), None, f.rdonly.as_fd(), Some(0), 10, 0)
                    .map(|n| n.to_string())
            },
        ),
        c("splice from a closed fd: EBADF", e(libc::EBADF), |a, _| {
            let (_r, w) = pipe_with(b"");
            a.splice(bad(), None, w.as_fd(), None, 10, 0)
                .map(|n| n.to_string())
        }),
        c("splice into a closed fd: EBADF", e(libc::EBADF), |a, _| {
            let (r, _w) = pipe_with(b"data");
            a.splice(r.as_fd(), None, bad(), None, 10, 0)
                .map(|n| n.to_string())
        }),
    ]
}

pub fn poll() -> Vec<Case> {
    const IN: i16 = libc::POLLIN;
    const OUT: i16 = libc::POLLOUT;
    vec![
        c("poll POLLIN on a pipe with data", OK, |a, _| {
            let (r, _w) = pipe_with(b"x");
            a.poll(r.as_fd(), IN).map(|ev| format!("{ev:#x}"))
        }),
        c(
            "poll POLLIN | POLLOUT on a pipe with data, read end",
            OK,
            |a, _| {
                let (r, _w) = pipe_with(b"x");
                a.poll(r.as_fd(), IN | OUT).map(|ev| format!("{ev:#x}"))
            },
        ),
        c("poll POLLOUT on a pipe's write end", OK, |a, _| {
            let (_r, w) = pipe_with(b"");
            a.poll(w.as_fd(), OUT | libc::POLLWRNORM)
                .map(|ev| format!("{ev:#x}"))
        }),
        c("poll a regular file", OK, |a, f| {
            let ev = IN | OUT | libc::POLLRDNORM | libc::POLLWRNORM;
            a.poll(f.file.as_fd(), ev).map(|ev| format!("{ev:#x}"))
        }),
        c(
            "poll POLLIN on a pipe without writers: POLLHUP",
            OK,
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(w);
                a.poll(r.as_fd(), IN).map(|ev| format!("{ev:#x}"))
            },
        ),
        c(
            "poll no events on a pipe without writers: POLLHUP",
            OK,
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(w);
                a.poll(r.as_fd(), 0).map(|ev| format!("{ev:#x}"))
            },
        ),
        c(
            "poll POLLOUT on a pipe without readers: POLLERR",
            OK,
            |a, _| {
                let (r, w) = pipe_with(b"");
                drop(r);
                a.poll(w.as_fd(), OUT).map(|ev| format!("{ev:#x}"))
            },
        ),
        c(
            "poll POLLIN | POLLPRI | POLLRDHUP on a socket with data",
            OK,
            |a, _| {
                let (client, server) = tcp_pair();
                sys::write(&server, b"x").unwrap();
                let ev = IN | libc::POLLPRI | libc::POLLRDHUP;
                a.poll(client.as_fd(), ev).map(|ev| format!("{ev:#x}"))
            },
        ),
        c(
            "poll POLLRDHUP after the peer's shutdown(Write)",
            OK,
            |a, _| {
                let (client, server) = tcp_pair();
                Libc.shutdown(server.as_fd(), Shutdown::Write).unwrap();
                let ev = IN | libc::POLLRDHUP;
                a.poll(client.as_fd(), ev).map(|ev| format!("{ev:#x}"))
            },
        ),
        c(
            "poll POLLIN on a listener with a pending connection",
            OK,
            |a, _| {
                let (l, addr) = listener();
                let _client = std::net::TcpStream::connect(addr).unwrap();
                a.poll(l.as_fd(), IN).map(|ev| format!("{ev:#x}"))
            },
        ),
    ]
}

/// poll(2) reports an fd that is not open as `POLLNVAL` in `revents`; it does not fail.
pub fn poll_closed_fd() -> Vec<Case> {
    vec![c("poll a closed fd: revents POLLNVAL", OK, |a, _| {
        a.poll(bad(), libc::POLLIN).map(|ev| format!("{ev:#x}"))
    })]
}

pub fn misc() -> Vec<Case> {
    vec![
        c("sleep 1 ms", OK, |a, _| {
            a.sleep(Duration::from_millis(1)).map(|()| String::new())
        }),
        c("sleep zero", OK, |a, _| {
            a.sleep(Duration::ZERO).map(|()| String::new())
        }),
        c("nop", OK, |a, _| a.nop().map(|()| String::new())),
    ]
}
