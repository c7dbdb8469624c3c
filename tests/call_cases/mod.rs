//! The table of cases that compares every blocking call of `uring_os` with the direct libc
//! syscall, shared by `tests/calls.rs` (through the ring), `tests/fallback.rs` (in a child
//! where seccomp refuses io_uring) and `tests/fallback_off.rs` (with `URING_OS=off`).
//!
//! A case is one closure written against [`Api`], run twice on fresh, identical fixtures: once
//! with [`Uring`] (the crate's calls) and once with [`Libc`] (the syscalls themselves). The two
//! outcomes — the value the case describes (byte counts, data, file positions, fd flags, file
//! contents afterwards) or the errno — must be equal, and the libc outcome must be the one the
//! case is named after, so that a case that tests nothing cannot pass. [`case!`] writes one.
//!
//! The oracle, [`Libc`], shares no code with the crate: it calls libc, and converts socket
//! addresses its own way ([`sockaddr`]).
//!
//! The groups of cases are in `io.rs` (calls that move bytes), `fs.rs` (files and paths) and
//! `net.rs` (sockets); their fixtures in `fixtures.rs`.
//!
//! Nothing here prints: the runner returns the differences as strings, so that it can run in a
//! fork child where printing is not safe.

#![allow(dead_code, reason = "each test binary uses only some of the groups")]

use std::io::{IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use crate::common::sys::{self, R, cpath, cvt, new_fd, unit};
use crate::common::{ue, warm_up};

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

impl Case {
    /// The case with [`Case::may_block`] set.
    fn may_block(self) -> Case {
        Case {
            may_block: true,
            ..self
        }
    }
}

/// `case!(name, expect, |a, f| body)`: the [`Case`] `name`, whose outcome is what `body`
/// gives: a call's result, shown by [`Shown`], or a block's description of what it observed.
/// `expect` is `OK` or the name of the errno the direct syscall must give.
macro_rules! case {
    (@expect OK) => {
        None
    };
    (@expect $errno:ident) => {
        Some(libc::$errno)
    };
    ($name:expr, $expect:ident, |$a:pat_param, $f:pat_param| $body:expr) => {
        $crate::call_cases::Case {
            name: $name,
            expect: case!(@expect $expect),
            run: |$a, $f| {
                let result = $body;
                $crate::call_cases::shown(result)
            },
            may_block: false,
        }
    };
}

mod fixtures;
mod fs;
mod io;
mod net;
mod sockaddr;

pub use fs::*;
pub use io::*;
pub use net::*;

use fixtures::{Fx, fd_desc, stx_desc};
use sockaddr::RawAddr;

/// How an outcome shows the value a call returned.
pub trait Shown {
    fn shown(self) -> String;
}

/// A case body's result as the case's outcome.
pub fn shown<T: Shown>(res: R<T>) -> Outcome {
    res.map(Shown::shown)
}

/// The body's own description.
impl Shown for String {
    fn shown(self) -> String {
        self
    }
}

/// A count.
impl Shown for usize {
    fn shown(self) -> String {
        self.to_string()
    }
}

/// Success alone.
impl Shown for () {
    fn shown(self) -> String {
        String::new()
    }
}

/// poll's `revents`.
impl Shown for i16 {
    fn shown(self) -> String {
        format!("{self:#x}")
    }
}

/// A new fd: what it is (flags, file type).
impl Shown for OwnedFd {
    fn shown(self) -> String {
        fd_desc(&self)
    }
}

/// An accepted connection: the new fd. The peer's address differs between the two sides'
/// connections; the cases that accept one compare it themselves.
impl Shown for (OwnedFd, SocketAddr) {
    fn shown(self) -> String {
        fd_desc(&self.0)
    }
}

/// A statx: the fields both sides must agree on.
impl Shown for libc::statx {
    fn shown(self) -> String {
        stx_desc(&self)
    }
}

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
