//! Batch scopes of random shapes against the same operations run one by one with libc.
//!
//! A case is a list of phases. In a phase, each group owns its resource (a file with its fd
//! and its names, a pipe, a socket pair): a group is one operation, or a linked chain of
//! operations on its resource. Unlinked groups may run in any order, and since none shares
//! a resource with another, any order gives the same results — the order libc runs them in
//! (generation order) is as good as any. Every phase after the first begins with a drained
//! operation on a resource of an earlier phase, which must see everything before it done.
//! Some phases run through `s.window`, some cases through one file's many regions (hundreds
//! of operations, more than the ring holds). Chains fail early on purpose (a bad fd, a
//! missing path, a NUL in a path, an offset beyond `off_t`, a short read): the rest of the
//! chain must be `ECANCELED`. Handles are waited in random order; some never (dropped, or
//! kept to the scope's end), and the scope must still run them.
//!
//! Compared: each waited result and errno, the bytes read, each group fd's position, the
//! number of fds open after the scope (opens in a batch may take numbers in any order), no
//! fd left behind, and the trees byte for byte.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use super::rng::{Rng, data};
use super::seq::{Bytes, Fail, Res, errno_name};
use super::tree::{self, os};
use uring_os::{Batch, Handle};

/// A name a group owns: `b{file}{suffix}`.
#[derive(Clone, Copy, Debug)]
pub struct Name {
    file: usize,
    suffix: &'static str,
}

impl Name {
    fn bytes(self) -> Vec<u8> {
        format!("b{}{}", self.file, self.suffix).into_bytes()
    }
}

const SUFFIXES: [&str; 6] = ["", ".x", ".d", ".l", ".h", "\0nul"];

#[derive(Clone, Debug)]
pub enum BOp {
    Pread {
        f: usize,
        len: usize,
        off: u64,
    },
    Pwrite {
        f: usize,
        len: usize,
        off: u64,
        seed: u64,
    },
    Read {
        f: usize,
        len: usize,
    },
    Write {
        f: usize,
        len: usize,
        seed: u64,
    },
    Fsync {
        f: usize,
    },
    Ftruncate {
        f: usize,
        len: u64,
    },
    Fallocate {
        f: usize,
        mode: i32,
        off: u64,
        len: u64,
    },
    Statx {
        name: Name,
    },
    Rename {
        from: Name,
        to: Name,
        flags: u32,
    },
    Unlink {
        name: Name,
        dir: bool,
    },
    Mkdir {
        name: Name,
    },
    Symlink {
        target: Name,
        name: Name,
    },
    Link {
        from: Name,
        to: Name,
    },
    Open {
        name: Name,
        flags: i32,
    },
    Close {
        f: usize,
    },
    PipeRead {
        p: usize,
        len: usize,
    },
    PipeWrite {
        p: usize,
        len: usize,
        seed: u64,
    },
    Poll {
        p: usize,
    },
    Send {
        s: usize,
        len: usize,
        seed: u64,
    },
    Recv {
        s: usize,
        len: usize,
    },
    Nop,
    Sleep {
        us: u64,
    },
}

impl BOp {
    fn name(&self) -> &'static str {
        match self {
            BOp::Pread { .. } => "pread",
            BOp::Pwrite { .. } => "pwrite",
            BOp::Read { .. } => "read",
            BOp::Write { .. } => "write",
            BOp::Fsync { .. } => "fsync",
            BOp::Ftruncate { .. } => "ftruncate",
            BOp::Fallocate { .. } => "fallocate",
            BOp::Statx { .. } => "statx",
            BOp::Rename { .. } => "renameat",
            BOp::Unlink { .. } => "unlinkat",
            BOp::Mkdir { .. } => "mkdirat",
            BOp::Symlink { .. } => "symlinkat",
            BOp::Link { .. } => "linkat",
            BOp::Open { .. } => "openat",
            BOp::Close { .. } => "close",
            BOp::PipeRead { .. } => "read (pipe)",
            BOp::PipeWrite { .. } => "write (pipe)",
            BOp::Poll { .. } => "poll",
            BOp::Send { .. } => "send",
            BOp::Recv { .. } => "recv",
            BOp::Nop => "nop",
            BOp::Sleep { .. } => "sleep",
        }
    }

    /// Whether the kernel ends a chain when this operation transfers less than asked.
    fn short_fails(&self, n: i64) -> bool {
        match *self {
            BOp::Pread { len, .. }
            | BOp::Pwrite { len, .. }
            | BOp::Read { len, .. }
            | BOp::Write { len, .. }
            | BOp::PipeRead { len, .. }
            | BOp::PipeWrite { len, .. } => (n as usize) < len,
            _ => false,
        }
    }
}

/// How a group's operations go into the scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Single,
    Chain,
    Drained,
}

#[derive(Debug)]
struct Group {
    shape: Shape,
    /// Indices into the case's operations.
    ops: Vec<usize>,
}

#[derive(Debug)]
struct Phase {
    groups: Vec<Group>,
    /// Run through `s.window(depth, ..)` (its groups are single preads).
    window: Option<usize>,
}

/// One side's resources: files with their fds, pipes, socket pairs.
struct Res0 {
    root: RawFd,
    files: Vec<RawFd>,
    pipes: Vec<(RawFd, RawFd)>,
    socks: Vec<(RawFd, RawFd)>,
    /// Fds opened by the case's operations.
    opened: Vec<RawFd>,
    closed: Vec<bool>,
}

fn check(ret: i32, what: &str) -> i32 {
    assert!(ret >= 0, "{what}: {}", io::Error::last_os_error());
    ret
}

/// The starting state of a side: `files` files with their fds, pipes (preloaded), socket
/// pairs. Made the same way on both sides, so the fd numbers match.
fn setup(root_path: &Path, layout: &Layout) -> Res0 {
    std::fs::create_dir_all(root_path).unwrap();
    for (i, &size) in layout.sizes.iter().enumerate() {
        std::fs::write(root_path.join(format!("b{i}")), data(i as u64 + 7, size)).unwrap();
    }
    let c = CString::new(root_path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid path.
    let root = check(
        unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        },
        "open root",
    );
    let files = layout
        .flags
        .iter()
        .enumerate()
        .map(|(i, &flags)| {
            let p = CString::new(format!("b{i}")).unwrap();
            // SAFETY: a valid path.
            check(
                unsafe { libc::openat(root, p.as_ptr(), flags | libc::O_CLOEXEC) },
                "openat",
            )
        })
        .collect();
    let pipes = layout
        .preload
        .iter()
        .map(|&n| {
            let mut fds = [0; 2];
            // SAFETY: room for two fds.
            check(
                unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
                "pipe2",
            );
            let d = data(n as u64, n);
            if n > 0 {
                // SAFETY: `d` is valid for reads.
                check(
                    unsafe { libc::write(fds[1], d.as_ptr().cast(), n) } as i32,
                    "write",
                );
            }
            (fds[0], fds[1])
        })
        .collect();
    let socks = (0..layout.socks)
        .map(|_| {
            let mut fds = [0; 2];
            // SAFETY: room for two fds.
            check(
                unsafe {
                    libc::socketpair(
                        libc::AF_UNIX,
                        libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                        0,
                        fds.as_mut_ptr(),
                    )
                },
                "socketpair",
            );
            (fds[0], fds[1])
        })
        .collect();
    Res0 {
        root,
        files,
        pipes,
        socks,
        opened: Vec::new(),
        closed: vec![false; layout.sizes.len()],
    }
}

impl Res0 {
    fn all_fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.root];
        fds.extend(
            self.files
                .iter()
                .zip(&self.closed)
                .filter(|(_, c)| !**c)
                .map(|(f, _)| *f),
        );
        for &(a, b) in self.pipes.iter().chain(&self.socks) {
            fds.extend([a, b]);
        }
        fds.extend(&self.opened);
        fds
    }

    /// Positions of the files' fds (closed ones: none).
    fn positions(&self) -> Vec<i64> {
        self.files
            .iter()
            .zip(&self.closed)
            .map(|(&fd, &closed)| {
                if closed {
                    -1
                } else {
                    // SAFETY: lseek with SEEK_CUR and 0 moves nothing.
                    unsafe { libc::lseek64(fd, 0, libc::SEEK_CUR) }
                }
            })
            .collect()
    }
}

/// The shape of a case's resources.
struct Layout {
    sizes: Vec<usize>,
    flags: Vec<i32>,
    preload: Vec<usize>,
    socks: usize,
}

fn libc_res(ret: i64) -> Res {
    if ret < 0 {
        Err(Fail::Errno(
            io::Error::last_os_error().raw_os_error().unwrap_or(-1),
        ))
    } else {
        Ok(ret)
    }
}

fn cname(name: Name) -> Result<CString, Fail> {
    CString::new(name.bytes()).map_err(|_| Fail::NoErrno(io::ErrorKind::InvalidInput))
}

fn stat_fields(s: &libc::statx) -> Bytes {
    Bytes(
        format!(
            "mode {:o} nlink {} size {}",
            s.stx_mode, s.stx_nlink, s.stx_size
        )
        .into_bytes(),
    )
}

/// Runs one operation with libc on the libc side.
fn run_libc(op: &BOp, r: &mut Res0) -> (Res, Bytes) {
    let none = Bytes::default();
    let at2 = |a: Name, b: Name, f: &dyn Fn(&CString, &CString) -> i32| match (cname(a), cname(b)) {
        (Ok(a), Ok(b)) => (libc_res(f(&a, &b).into()), Bytes::default()),
        (Err(e), _) | (_, Err(e)) => (Err(e), Bytes::default()),
    };
    match *op {
        BOp::Pread { f, len, off } => {
            let mut buf = vec![0xAAu8; len];
            // SAFETY: `buf` is valid for writes of `len`.
            let n = libc_res(unsafe {
                libc::pread64(r.files[f], buf.as_mut_ptr().cast(), len, off as i64)
            } as i64);
            buf.truncate(*n.as_ref().unwrap_or(&0) as usize);
            (n, Bytes(buf))
        }
        BOp::Pwrite { f, len, off, seed } => {
            let d = data(seed, len);
            // SAFETY: `d` is valid for reads.
            (
                libc_res(
                    unsafe { libc::pwrite64(r.files[f], d.as_ptr().cast(), len, off as i64) }
                        as i64,
                ),
                none,
            )
        }
        BOp::Read { f, len } | BOp::PipeRead { p: f, len } => {
            let fd = match op {
                BOp::Read { .. } => r.files[f],
                _ => r.pipes[f].0,
            };
            let mut buf = vec![0xAAu8; len];
            // SAFETY: as above.
            let n = libc_res(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), len) } as i64);
            buf.truncate(*n.as_ref().unwrap_or(&0) as usize);
            (n, Bytes(buf))
        }
        BOp::Write { f, len, seed } | BOp::PipeWrite { p: f, len, seed } => {
            let fd = match op {
                BOp::Write { .. } => r.files[f],
                _ => r.pipes[f].1,
            };
            let d = data(seed, len);
            // SAFETY: as above.
            (
                libc_res(unsafe { libc::write(fd, d.as_ptr().cast(), len) } as i64),
                none,
            )
        }
        BOp::Fsync { f } => {
            // SAFETY: plain integer arguments.
            (libc_res(unsafe { libc::fsync(r.files[f]) }.into()), none)
        }
        BOp::Ftruncate { f, len } => {
            // SAFETY: plain integer arguments.
            (
                libc_res(unsafe { libc::ftruncate64(r.files[f], len as i64) }.into()),
                none,
            )
        }
        BOp::Fallocate { f, mode, off, len } => {
            // SAFETY: plain integer arguments.
            (
                libc_res(
                    unsafe { libc::fallocate64(r.files[f], mode, off as i64, len as i64) }.into(),
                ),
                none,
            )
        }
        BOp::Statx { name } => match cname(name) {
            Ok(p) => {
                // SAFETY: all-zero is a valid statx.
                let mut stx: libc::statx = unsafe { std::mem::zeroed() };
                // SAFETY: a valid path and buffer.
                let res = libc_res(
                    unsafe {
                        libc::statx(
                            r.root,
                            p.as_ptr(),
                            libc::AT_SYMLINK_NOFOLLOW,
                            libc::STATX_BASIC_STATS,
                            &mut stx,
                        )
                    }
                    .into(),
                );
                let fields = if res.is_ok() { stat_fields(&stx) } else { none };
                (res, fields)
            }
            Err(e) => (Err(e), none),
        },
        BOp::Rename { from, to, flags } => at2(from, to, &|a, b| {
            // SAFETY: valid paths.
            unsafe {
                libc::syscall(
                    libc::SYS_renameat2,
                    r.root,
                    a.as_ptr(),
                    r.root,
                    b.as_ptr(),
                    flags,
                ) as i32
            }
        }),
        BOp::Unlink { name, dir } => match cname(name) {
            Ok(p) => {
                let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
                // SAFETY: a valid path.
                (
                    libc_res(unsafe { libc::unlinkat(r.root, p.as_ptr(), flags) }.into()),
                    none,
                )
            }
            Err(e) => (Err(e), none),
        },
        BOp::Mkdir { name } => match cname(name) {
            // SAFETY: a valid path.
            Ok(p) => (
                libc_res(unsafe { libc::mkdirat(r.root, p.as_ptr(), 0o750) }.into()),
                none,
            ),
            Err(e) => (Err(e), none),
        },
        BOp::Symlink { target, name } => at2(target, name, &|a, b| {
            // SAFETY: valid paths.
            unsafe { libc::symlinkat(a.as_ptr(), r.root, b.as_ptr()) }
        }),
        BOp::Link { from, to } => at2(from, to, &|a, b| {
            // SAFETY: valid paths.
            unsafe { libc::linkat(r.root, a.as_ptr(), r.root, b.as_ptr(), 0) }
        }),
        BOp::Open { name, flags } => match cname(name) {
            Ok(p) => {
                // SAFETY: a valid path; the new fd is recorded below.
                let fd = unsafe { libc::openat(r.root, p.as_ptr(), flags, 0o640) };
                if fd >= 0 {
                    r.opened.push(fd);
                }
                (libc_res(fd.into()).map(|_| 0), none)
            }
            Err(e) => (Err(e), none),
        },
        BOp::Close { f } => {
            r.closed[f] = true;
            // SAFETY: the group's own fd, closed once (no operation uses it afterwards).
            (libc_res(unsafe { libc::close(r.files[f]) }.into()), none)
        }
        BOp::Poll { p } => {
            let mut pfd = libc::pollfd {
                fd: r.pipes[p].0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; drawn only when ready.
            let n = unsafe { libc::poll(&mut pfd, 1, -1) };
            (libc_res(n.into()).map(|_| i64::from(pfd.revents)), none)
        }
        BOp::Send { s, len, seed } => {
            let d = data(seed, len);
            // SAFETY: `d` is valid for reads.
            (
                libc_res(unsafe { libc::send(r.socks[s].0, d.as_ptr().cast(), len, 0) } as i64),
                none,
            )
        }
        BOp::Recv { s, len } => {
            let mut buf = vec![0xAAu8; len];
            // SAFETY: `buf` is valid for writes.
            let n = libc_res(
                unsafe { libc::recv(r.socks[s].1, buf.as_mut_ptr().cast(), len, 0) } as i64,
            );
            buf.truncate(*n.as_ref().unwrap_or(&0) as usize);
            (n, Bytes(buf))
        }
        BOp::Nop => (Ok(0), none),
        BOp::Sleep { us } => {
            std::thread::sleep(Duration::from_micros(us));
            (Ok(0), none)
        }
    }
}

/// The error of an argument a scope refuses before anything runs: a NUL in a path, an
/// offset beyond `off_t`.
fn conversion_error(op: &BOp) -> Option<Fail> {
    let nul = |n: &Name| n.suffix.contains('\0');
    match op {
        BOp::Pread { off, .. } | BOp::Pwrite { off, .. } if *off > i64::MAX as u64 => {
            Some(Fail::Errno(libc::EINVAL))
        }
        BOp::Statx { name }
        | BOp::Unlink { name, .. }
        | BOp::Mkdir { name }
        | BOp::Open { name, .. }
            if nul(name) =>
        {
            Some(Fail::NoErrno(io::ErrorKind::InvalidInput))
        }
        BOp::Rename { from, to, .. } | BOp::Link { from, to } if nul(from) || nul(to) => {
            Some(Fail::NoErrno(io::ErrorKind::InvalidInput))
        }
        BOp::Symlink { target, name } if nul(target) || nul(name) => {
            Some(Fail::NoErrno(io::ErrorKind::InvalidInput))
        }
        _ => None,
    }
}

fn ready(fd: RawFd, events: i16) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// A case: its operations, in generation order, grouped into phases.
struct Case {
    ops: Vec<BOp>,
    phases: Vec<Phase>,
    /// What libc gave for each operation (`ECANCELED` for the rest of a failed chain).
    want: Vec<(Res, Bytes)>,
    /// Handles that are never waited: kept to the scope's end (`true`) or dropped at once.
    unwaited: BTreeMap<usize, bool>,
    /// The order in which the rest are waited.
    wait_order: Vec<usize>,
    /// Whether the scope submits after each phase.
    submit_each_phase: bool,
    /// The fd each successful open gave on the libc side.
    opened_by: BTreeMap<usize, RawFd>,
}

/// Draws an operation for a file group on file `f` (of the layout), checking what the libc
/// side holds.
fn file_op(rng: &mut Rng, f: usize, size_hint: usize, last_phase: bool) -> BOp {
    let name = |rng: &mut Rng| Name {
        file: f,
        suffix: rng.pick(&SUFFIXES),
    };
    let off = |rng: &mut Rng| {
        rng.pick(&[
            0,
            1,
            100,
            4096,
            size_hint as u64,
            1 << 20,
            i64::MAX as u64 + 1,
        ])
    };
    let len = |rng: &mut Rng| rng.pick(&[0, 1, 100, 4096, 10_000]);
    match rng.below(20) {
        0..=3 => BOp::Pread {
            f,
            len: len(rng),
            off: off(rng),
        },
        4..=6 => BOp::Pwrite {
            f,
            len: len(rng),
            off: off(rng),
            seed: rng.next(),
        },
        7 => BOp::Read { f, len: len(rng) },
        8 => BOp::Write {
            f,
            len: len(rng),
            seed: rng.next(),
        },
        9 if rng.chance(20) => BOp::Fsync { f },
        9 => BOp::Ftruncate {
            f,
            len: rng.pick(&[0, 50, 5000, u64::MAX]),
        },
        10 => BOp::Fallocate {
            f,
            mode: rng.pick(&[0, libc::FALLOC_FL_KEEP_SIZE, 0x100]),
            off: rng.pick(&[0, 4096]),
            len: rng.pick(&[0, 100, 8192]),
        },
        11 => BOp::Statx { name: name(rng) },
        12 => BOp::Rename {
            from: name(rng),
            to: name(rng),
            flags: rng.pick(&[0, libc::RENAME_NOREPLACE, libc::RENAME_EXCHANGE]),
        },
        13 => BOp::Unlink {
            name: name(rng),
            dir: rng.chance(40),
        },
        14 => BOp::Mkdir { name: name(rng) },
        15 => BOp::Symlink {
            target: name(rng),
            name: name(rng),
        },
        16 => BOp::Link {
            from: name(rng),
            to: name(rng),
        },
        17 => BOp::Open {
            name: name(rng),
            flags: rng.pick(&[
                libc::O_RDONLY,
                libc::O_RDWR | libc::O_CREAT,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                libc::O_RDONLY | libc::O_DIRECTORY,
            ]) | libc::O_CLOEXEC,
        },
        18 if last_phase && rng.chance(30) => BOp::Close { f },
        18 => BOp::Nop,
        _ => BOp::Sleep {
            us: rng.pick(&[0, 200]),
        },
    }
}

/// Generates case `seed` on the libc side (running each operation as it is drawn) and
/// returns it with what libc gave.
fn generate(seed: u64, rng: &mut Rng, layout: &Layout, r: &mut Res0) -> Case {
    let nfiles = layout.sizes.len();
    let mut ops: Vec<BOp> = Vec::new();
    let mut want: Vec<(Res, Bytes)> = Vec::new();
    let mut phases = Vec::new();
    let big = seed % 5 == 0;
    let nphases = if big { 1 } else { 1 + rng.below(4) };
    // Files not touched yet: each group of a phase takes fresh ones; drained operations
    // reach back to used ones.
    let mut fresh: Vec<usize> = (0..nfiles).collect();
    let mut used: Vec<usize> = Vec::new();
    let mut opened_by = BTreeMap::new();
    let mut run = |op: BOp,
                   cancelled: bool,
                   ops: &mut Vec<BOp>,
                   want: &mut Vec<(Res, Bytes)>,
                   r: &mut Res0| {
        let opened = r.opened.len();
        let out = if cancelled {
            // An argument the scope could not convert keeps its own error (and still cuts
            // the chain); the rest of a failed chain is cancelled.
            (
                Err(conversion_error(&op).unwrap_or(Fail::Errno(libc::ECANCELED))),
                Bytes::default(),
            )
        } else {
            run_libc(&op, r)
        };
        if r.opened.len() > opened {
            opened_by.insert(ops.len(), r.opened[opened]);
        }
        let failed = match &out.0 {
            Err(_) => true,
            Ok(n) => op.short_fails(*n),
        };
        ops.push(op);
        want.push(out);
        ops.len() - 1 + if failed { usize::MAX / 2 } else { 0 }
    };
    for k in 0..nphases {
        let last_phase = k + 1 == nphases;
        let mut groups = Vec::new();
        if k > 0 && !used.is_empty() {
            // A drained operation on a file an earlier phase used.
            let f = used[rng.below(used.len())];
            let op = if rng.chance(50) {
                BOp::Pread {
                    f,
                    len: 20_000,
                    off: 0,
                }
            } else {
                BOp::Statx {
                    name: Name {
                        file: f,
                        suffix: "",
                    },
                }
            };
            let i = run(op, false, &mut ops, &mut want, r) % (usize::MAX / 2);
            groups.push(Group {
                shape: Shape::Drained,
                ops: vec![i],
            });
            used.retain(|&u| u != f);
        }
        let window = (!big && rng.chance(20)).then(|| 1 + rng.below(8));
        let ngroups = if big {
            0
        } else {
            1 + rng.below(fresh.len().clamp(1, 12))
        };
        for _ in 0..ngroups {
            if fresh.is_empty() {
                break;
            }
            let f = fresh.swap_remove(rng.below(fresh.len()));
            used.push(f);
            if let Some(_depth) = window {
                let op = BOp::Pread {
                    f,
                    len: rng.pick(&[1, 100, 4096]),
                    off: rng.pick(&[0, 50, 9000]),
                };
                let i = run(op, false, &mut ops, &mut want, r) % (usize::MAX / 2);
                groups.push(Group {
                    shape: Shape::Single,
                    ops: vec![i],
                });
                continue;
            }
            let chain_len = if rng.chance(40) { 1 } else { 2 + rng.below(4) };
            let mut ids = Vec::new();
            let mut failed = false;
            for _ in 0..chain_len {
                let mut op = file_op(rng, f, layout.sizes[f], last_phase);
                if let BOp::Close { .. } = op {
                    // The group's fd is gone afterwards: nothing follows it.
                    if ids.len() + 1 < chain_len {
                        op = BOp::Nop;
                    }
                }
                let i = run(op, failed, &mut ops, &mut want, r);
                failed |= i >= usize::MAX / 2;
                ids.push(i % (usize::MAX / 2));
            }
            groups.push(Group {
                shape: if chain_len == 1 {
                    Shape::Single
                } else {
                    Shape::Chain
                },
                ops: ids,
            });
        }
        // Pipes and sockets, one group each, in the first phase.
        if k == 0 && !big && window.is_none() {
            for p in 0..r.pipes.len() {
                let mut ids = Vec::new();
                let mut failed = false;
                for _ in 0..1 + rng.below(4) {
                    let (rd, wr) = r.pipes[p];
                    let op = match rng.below(3) {
                        0 if ready(rd, libc::POLLIN) || failed => BOp::PipeRead {
                            p,
                            len: rng.pick(&[1, 10, 4096, 100_000]),
                        },
                        1 if ready(wr, libc::POLLOUT) || failed => BOp::PipeWrite {
                            p,
                            len: rng.pick(&[0, 1, 1000, 4096]),
                            seed: rng.next(),
                        },
                        _ if ready(rd, libc::POLLIN) || failed => BOp::Poll { p },
                        _ => BOp::Nop,
                    };
                    let i = run(op, failed, &mut ops, &mut want, r);
                    failed |= i >= usize::MAX / 2;
                    ids.push(i % (usize::MAX / 2));
                }
                let shape = if ids.len() == 1 {
                    Shape::Single
                } else {
                    Shape::Chain
                };
                groups.push(Group { shape, ops: ids });
            }
            for s in 0..r.socks.len() {
                let len = rng.pick(&[1, 100, 4096]);
                let mut ids = Vec::new();
                let i = run(
                    BOp::Send {
                        s,
                        len,
                        seed: rng.next(),
                    },
                    false,
                    &mut ops,
                    &mut want,
                    r,
                );
                let failed = i >= usize::MAX / 2;
                ids.push(i % (usize::MAX / 2));
                let i = run(
                    BOp::Recv { s, len: len + 10 },
                    failed,
                    &mut ops,
                    &mut want,
                    r,
                );
                ids.push(i % (usize::MAX / 2));
                groups.push(Group {
                    shape: Shape::Chain,
                    ops: ids,
                });
            }
        }
        if big {
            // One file's regions: hundreds of preads and pwrites inside its size, each region
            // its own group, plus nops.
            let f = fresh.pop().unwrap_or(0);
            let regions = layout.sizes[f] / 64;
            for region in 0..regions {
                let off = (region * 64) as u64;
                let op = if rng.chance(50) {
                    BOp::Pread { f, len: 64, off }
                } else if rng.chance(80) {
                    BOp::Pwrite {
                        f,
                        len: 64,
                        off,
                        seed: rng.next(),
                    }
                } else {
                    BOp::Nop
                };
                let i = run(op, false, &mut ops, &mut want, r) % (usize::MAX / 2);
                groups.push(Group {
                    shape: Shape::Single,
                    ops: vec![i],
                });
            }
        }
        phases.push(Phase { groups, window });
    }
    // Waits: a random order; a few handles never waited.
    let mut unwaited = BTreeMap::new();
    let mut wait_order = Vec::new();
    let windowed: Vec<usize> = phases
        .iter()
        .filter(|p| p.window.is_some())
        .flat_map(|p| {
            p.groups
                .iter()
                .filter(|g| g.shape != Shape::Drained)
                .flat_map(|g| g.ops.clone())
        })
        .collect();
    for i in 0..ops.len() {
        if windowed.contains(&i) {
            continue;
        }
        if rng.chance(8) {
            unwaited.insert(i, rng.chance(50));
        } else {
            wait_order.push(i);
        }
    }
    for i in (1..wait_order.len()).rev() {
        wait_order.swap(i, rng.below(i + 1));
    }
    Case {
        ops,
        phases,
        want,
        unwaited,
        wait_order,
        submit_each_phase: rng.chance(50),
        opened_by,
    }
}

/// A handle of any output type.
enum AnyHandle<'s> {
    Count(Handle<'s, usize>),
    Unit(Handle<'s, ()>),
    Fd(Handle<'s, OwnedFd>),
    Stat(Handle<'s, libc::statx>),
    Events(Handle<'s, i16>),
}

fn ours<T>(res: io::Result<T>, value: impl FnOnce(T) -> i64) -> Res {
    match res {
        Ok(v) => Ok(value(v)),
        Err(e) => match e.raw_os_error() {
            Some(errno) => Err(Fail::Errno(errno)),
            None => Err(Fail::NoErrno(e.kind())),
        },
    }
}

impl AnyHandle<'_> {
    /// Waits; an fd it opened is recorded in `opened`.
    fn wait(self, opened: &mut Vec<RawFd>) -> (Res, Bytes) {
        match self {
            AnyHandle::Count(h) => (ours(h.wait(), |n| n as i64), Bytes::default()),
            AnyHandle::Unit(h) => (ours(h.wait(), |_| 0), Bytes::default()),
            AnyHandle::Fd(h) => (
                ours(h.wait(), |fd| {
                    opened.push(fd.into_raw_fd());
                    0
                }),
                Bytes::default(),
            ),
            AnyHandle::Stat(h) => {
                let r = h.wait();
                let fields = r.as_ref().map(stat_fields).unwrap_or_default();
                (ours(r, |_| 0), fields)
            }
            AnyHandle::Events(h) => (ours(h.wait(), i64::from), Bytes::default()),
        }
    }
}

fn bfd(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: the side's fds stay open until after the scope (a group's close is its last
    // use of its fd).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Queues operation `op` in the scope.
fn queue<'s>(
    s: &'s Batch<'s, '_>,
    op: &BOp,
    r: &Res0,
    buf: Option<&'s mut [u8]>,
    wdata: &'s [u8],
) -> AnyHandle<'s> {
    let root = bfd(r.root);
    let p = |n: Name| os(&n.bytes()).to_path_buf();
    match *op {
        BOp::Pread { f, off, .. } => AnyHandle::Count(s.pread(bfd(r.files[f]), buf.unwrap(), off)),
        BOp::Pwrite { f, off, .. } => AnyHandle::Count(s.pwrite(bfd(r.files[f]), wdata, off)),
        BOp::Read { f, .. } => AnyHandle::Count(s.read(bfd(r.files[f]), buf.unwrap())),
        BOp::Write { f, .. } => AnyHandle::Count(s.write(bfd(r.files[f]), wdata)),
        BOp::PipeRead { p: i, .. } => AnyHandle::Count(s.read(bfd(r.pipes[i].0), buf.unwrap())),
        BOp::PipeWrite { p: i, .. } => AnyHandle::Count(s.write(bfd(r.pipes[i].1), wdata)),
        BOp::Fsync { f } => AnyHandle::Unit(s.fsync(bfd(r.files[f]))),
        BOp::Ftruncate { f, len } => AnyHandle::Unit(s.ftruncate(bfd(r.files[f]), len)),
        BOp::Fallocate { f, mode, off, len } => {
            AnyHandle::Unit(s.fallocate(bfd(r.files[f]), mode, off, len))
        }
        BOp::Statx { name } => AnyHandle::Stat(s.statx(
            root,
            p(name),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_BASIC_STATS,
        )),
        BOp::Rename { from, to, flags } => {
            AnyHandle::Unit(s.renameat(root, p(from), root, p(to), flags))
        }
        BOp::Unlink { name, dir } => {
            AnyHandle::Unit(s.unlinkat(root, p(name), if dir { libc::AT_REMOVEDIR } else { 0 }))
        }
        BOp::Mkdir { name } => AnyHandle::Unit(s.mkdirat(root, p(name), 0o750)),
        BOp::Symlink { target, name } => AnyHandle::Unit(s.symlinkat(p(target), root, p(name))),
        BOp::Link { from, to } => AnyHandle::Unit(s.linkat(root, p(from), root, p(to), 0)),
        BOp::Open { name, flags } => AnyHandle::Fd(s.openat(root, p(name), flags, 0o640)),
        BOp::Close { f } => {
            // SAFETY: the group's own fd; the side forgets it (closed) and nothing uses it
            // after this operation.
            AnyHandle::Unit(s.close(unsafe { OwnedFd::from_raw_fd(r.files[f]) }))
        }
        BOp::Poll { p: i } => AnyHandle::Events(s.poll(bfd(r.pipes[i].0), libc::POLLIN)),
        BOp::Send { s: i, .. } => AnyHandle::Count(s.send(bfd(r.socks[i].0), wdata, 0)),
        BOp::Recv { s: i, .. } => AnyHandle::Count(s.recv(bfd(r.socks[i].1), buf.unwrap(), 0)),
        BOp::Nop => AnyHandle::Unit(s.nop()),
        BOp::Sleep { us } => AnyHandle::Unit(s.sleep(Duration::from_micros(us))),
    }
}

fn read_len(op: &BOp) -> usize {
    match *op {
        BOp::Pread { len, .. }
        | BOp::Read { len, .. }
        | BOp::PipeRead { len, .. }
        | BOp::Recv { len, .. } => len,
        _ => 0,
    }
}

fn write_bytes(op: &BOp) -> Vec<u8> {
    match *op {
        BOp::Pwrite { len, seed, .. }
        | BOp::Write { len, seed, .. }
        | BOp::PipeWrite { len, seed, .. }
        | BOp::Send { len, seed, .. } => data(seed, len),
        _ => Vec::new(),
    }
}

/// Runs the case through one batch scope on the uring side; the results of the waited
/// handles, by operation.
fn run_uring(case: &Case, r: &mut Res0) -> BTreeMap<usize, (Res, Bytes)> {
    let mut bufs: Vec<Vec<u8>> = case.ops.iter().map(|op| vec![0xAA; read_len(op)]).collect();
    let wdata: Vec<Vec<u8>> = case.ops.iter().map(write_bytes).collect();
    let mut results: BTreeMap<usize, (Res, Bytes)> = BTreeMap::new();
    let mut opened = Vec::new();
    {
        let mut slots: Vec<Option<&mut [u8]>> = bufs.iter_mut().map(|b| Some(&mut b[..])).collect();
        let r: &Res0 = r;
        uring_os::batch(|s| {
            let mut handles: BTreeMap<usize, AnyHandle<'_>> = BTreeMap::new();
            for phase in &case.phases {
                if let Some(depth) = phase.window {
                    let ids: Vec<usize> = phase
                        .groups
                        .iter()
                        .filter(|g| g.shape != Shape::Drained)
                        .map(|g| g.ops[0])
                        .collect();
                    for g in phase.groups.iter().filter(|g| g.shape == Shape::Drained) {
                        s.drain();
                        let i = g.ops[0];
                        handles.insert(i, queue(s, &case.ops[i], r, slots[i].take(), &wdata[i]));
                    }
                    let preads: Vec<Handle<'_, usize>> = ids
                        .iter()
                        .map(
                            |&i| match queue(s, &case.ops[i], r, slots[i].take(), &wdata[i]) {
                                AnyHandle::Count(h) => h,
                                _ => unreachable!("a window's groups are preads"),
                            },
                        )
                        .collect();
                    for (pos, res) in s.window(depth, preads) {
                        results.insert(ids[pos], (ours(res, |n| n as i64), Bytes::default()));
                    }
                    continue;
                }
                for g in &phase.groups {
                    match g.shape {
                        Shape::Single | Shape::Drained => {
                            if g.shape == Shape::Drained {
                                s.drain();
                            }
                            let i = g.ops[0];
                            handles
                                .insert(i, queue(s, &case.ops[i], r, slots[i].take(), &wdata[i]));
                        }
                        Shape::Chain => s.link(|s| {
                            for &i in &g.ops {
                                handles.insert(
                                    i,
                                    queue(s, &case.ops[i], r, slots[i].take(), &wdata[i]),
                                );
                            }
                        }),
                    }
                }
                if case.submit_each_phase {
                    s.submit();
                }
            }
            // Handles dropped now, and handles kept to the scope's end unwaited (a Handle has
            // no Drop of its own: mem::forget would be the same as either).
            let mut kept = Vec::new();
            for (&i, &keep) in &case.unwaited {
                if let Some(h) = handles.remove(&i) {
                    if keep {
                        kept.push(h);
                    }
                }
            }
            for &i in &case.wait_order {
                if let Some(h) = handles.remove(&i) {
                    results.insert(i, h.wait(&mut opened));
                }
            }
        });
    }
    r.opened.extend(opened);
    // The bytes reads left in their buffers.
    for (i, (res, data)) in results.iter_mut() {
        if read_len(&case.ops[*i]) > 0 {
            let n = *res.as_ref().unwrap_or(&0) as usize;
            *data = Bytes(bufs[*i][..n.min(bufs[*i].len())].to_vec());
        }
    }
    results
}

/// Counts of what the cases did.
#[derive(Default)]
pub struct Tally {
    pub cases: usize,
    pub ops: usize,
    pub chains: usize,
    pub cancelled: usize,
    pub max_ops: usize,
    pub outcomes: BTreeMap<String, usize>,
}

fn layout(rng: &mut Rng, big: bool) -> Layout {
    let nfiles = if big { 1 } else { 4 + rng.below(30) };
    Layout {
        sizes: (0..nfiles)
            .map(|_| {
                if big {
                    64 * (300 + rng.below(1300))
                } else {
                    rng.pick(&[0, 100, 4096, 10_000])
                }
            })
            .collect(),
        flags: (0..nfiles)
            .map(|_| {
                if big {
                    libc::O_RDWR
                } else {
                    rng.pick(&[
                        libc::O_RDWR,
                        libc::O_RDWR,
                        libc::O_RDONLY,
                        libc::O_WRONLY,
                        libc::O_RDWR | libc::O_APPEND,
                    ])
                }
            })
            .collect(),
        preload: (0..if big { 0 } else { rng.below(4) })
            .map(|_| rng.pick(&[0, 5, 5000]))
            .collect(),
        socks: if big { 0 } else { rng.below(3) },
    }
}

/// Runs batch case `seed` under `base`. `Err` describes the first difference.
pub fn run_case(seed: u64, base: &Path, tally: &mut Tally) -> Result<(), String> {
    let dir = base.join(format!("b{seed:016x}"));
    let (lpath, upath) = (dir.join("libc"), dir.join("uring"));
    let mut rng = Rng::new(seed);
    let layout = layout(&mut rng, seed % 5 == 0);
    let before = tree::open_fds();

    let mut l = setup(&lpath, &layout);
    let case = generate(seed, &mut rng, &layout, &mut l);
    // An open whose handle is never waited: the scope closes its fd.
    for i in case.unwaited.keys() {
        if let Some(&fd) = case.opened_by.get(i) {
            // SAFETY: the fd this side's open made, closed once.
            unsafe { libc::close(fd) };
            l.opened.retain(|&o| o != fd);
        }
    }
    let lpos = l.positions();
    let lcount = tree::open_fds().len();
    for fd in l.all_fds() {
        // SAFETY: the side's own fds, closed once.
        unsafe { libc::close(fd) };
    }

    let mut u = setup(&upath, &layout);
    for (op, want) in case.ops.iter().zip(&case.want) {
        if let BOp::Close { f } = op {
            // Closed by the scope unless its chain was cut short before it.
            u.closed[*f] = want.0 != Err(Fail::Errno(libc::ECANCELED));
        }
    }
    let got = run_uring(&case, &mut u);
    let upos = u.positions();
    let ucount = tree::open_fds().len();
    for fd in u.all_fds() {
        let _ = uring_os::close(
            // SAFETY: the side's own fds, closed once.
            unsafe { OwnedFd::from_raw_fd(fd) },
        );
    }
    let replay = format!("replay: URING_OS_FUZZ_REPLAY={seed:#x}");
    let shape = || {
        let mut text = String::new();
        for (k, phase) in case.phases.iter().enumerate() {
            text += &format!("phase {k} (window {:?}):\n", phase.window);
            for g in &phase.groups {
                text += &format!("  {:?}:\n", g.shape);
                for &i in &g.ops {
                    text += &format!("    {i:4}: {:?} -> libc {:?}\n", case.ops[i], case.want[i]);
                }
            }
        }
        text
    };
    for (i, got) in &got {
        if *got != case.want[*i] {
            return Err(format!(
                "batch case {seed:#018x}: op {i} {:?}\n  libc gave     {:?}\n  uring_os gave {got:?}\n{}{replay}",
                case.ops[*i],
                case.want[*i],
                shape()
            ));
        }
    }
    if lpos != upos {
        return Err(format!(
            "batch case {seed:#018x}: file positions differ\n  libc:     {lpos:?}\n  uring_os: {upos:?}\n{}{replay}",
            shape()
        ));
    }
    if lcount != ucount {
        return Err(format!(
            "batch case {seed:#018x}: {lcount} fds open after libc's run, {ucount} after the scope\n{}{replay}",
            shape()
        ));
    }
    let after = tree::open_fds();
    if after != before {
        return Err(format!(
            "batch case {seed:#018x}: fds leaked: {before:?} before, {after:?} after\n{replay}"
        ));
    }
    if let Some(d) = tree::diff(&tree::snapshot(&lpath), &tree::snapshot(&upath)) {
        return Err(format!(
            "batch case {seed:#018x}: the trees differ\n{d}\n{}{replay}",
            shape()
        ));
    }
    tree::remove(&dir);
    tally.cases += 1;
    tally.ops += case.ops.len();
    tally.max_ops = tally.max_ops.max(case.ops.len());
    for phase in &case.phases {
        tally.chains += phase
            .groups
            .iter()
            .filter(|g| g.shape == Shape::Chain)
            .count();
    }
    for (i, (res, _)) in case.want.iter().enumerate() {
        let class = match res {
            Ok(_) => "ok".to_string(),
            Err(Fail::Errno(e)) => errno_name(*e),
            Err(Fail::NoErrno(k)) => format!("{k:?}"),
        };
        if matches!(res, Err(Fail::Errno(libc::ECANCELED))) {
            tally.cancelled += 1;
        }
        *tally
            .outcomes
            .entry(format!("{}: {class}", case.ops[i].name()))
            .or_default() += 1;
    }
    Ok(())
}
