//! Random sequences of blocking calls, run once through libc and once through `uring_os` in
//! twin directories, every result compared.
//!
//! A case is generated while it runs on the libc side: each operation is drawn at random and
//! then checked against the libc side's state at that point (`fstat`, `fcntl`, `poll`), so
//! that no operation can block forever (a read of an empty blocking pipe is drawn only when
//! the pipe holds data, a write to a blocking stream only when it has room). The recorded
//! operations are then replayed through `uring_os` on a twin of the starting state; both
//! sides open their fds in the same order, so fd numbers match too. Compared: every result
//! and errno, the bytes read, the file position afterwards, the open fd numbers at the end,
//! and the final trees byte for byte.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::rng::{Rng, data};
use super::tree::{self, os};

// ---------------------------------------------------------------------------------------------
// What operations work on
// ---------------------------------------------------------------------------------------------

/// Fd numbers no case ever has open: above every fd a case opens, beyond the fd limit, and
/// negative (but not -1, which no `BorrowedFd` can hold, nor `AT_FDCWD`).
pub const BAD_FDS: [RawFd; 3] = [9999, 1 << 20, -2];

/// The names and paths operations use, relative to the twin directory: existing and new,
/// odd bytes, too long, with a NUL, through symlinks, with trailing slashes.
pub fn paths() -> &'static [Vec<u8>] {
    static PATHS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths: Vec<Vec<u8>> = [
            &b""[..],
            b"f0",
            b"f1",
            b"f2",
            b"ro",
            b"d0",
            b"d0/f2",
            b"d0/d1",
            b"d0/d1/f3",
            b"d1",
            b"fifo",
            b"link",
            b"dangling",
            b"loop",
            b"nonexist",
            b"nonexist/x",
            b"f0/x",
            b".",
            b"..",
            b"d0/../f0",
            b"d0/",
            b"f0/",
            b"link/",
            b"with space",
            b"new\nline",
            b"\xff\xfe not utf-8",
            "\u{e9}t\u{e9}".as_bytes(),
            b"a\0b",
        ]
        .iter()
        .map(|p| p.to_vec())
        .collect();
        paths.push(vec![b'n'; 255]); // the longest name
        paths.push(vec![b'n'; 256]); // ENAMETOOLONG
        paths.push(b"d0/".repeat(1400)); // a path beyond PATH_MAX
        paths
    })
}

/// Index of the empty path in [`paths`] (for `AT_EMPTY_PATH`).
pub const EMPTY_PATH: usize = 0;

/// Symlink targets: relative, inside the tree (never through `..`, so no case reaches the
/// other side's directory), dangling, looping, odd, too long.
fn targets() -> &'static [Vec<u8>] {
    static TARGETS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let mut t: Vec<Vec<u8>> = [
            &b"f0"[..],
            b"d0",
            b"d0/f2",
            b"f2",
            b"nonexist",
            b"loop",
            b".",
            b"",
            b"fifo",
            b"\xff\xfe not utf-8",
        ]
        .iter()
        .map(|p| p.to_vec())
        .collect();
        t.push(vec![b't'; 4095]);
        t.push(vec![b't'; 4096]); // ENAMETOOLONG
        t
    })
}

/// The starting tree, the same on both sides.
pub fn make_tree(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root.join("d0")).unwrap();
    std::fs::write(root.join("f0"), data(1, 10_000)).unwrap();
    std::fs::write(root.join("f1"), b"").unwrap();
    std::fs::write(root.join("d0/f2"), b"in d0").unwrap();
    std::fs::write(root.join("ro"), b"read only").unwrap();
    std::fs::set_permissions(root.join("ro"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let fifo = CString::new(root.join("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("f0", root.join("link")).unwrap();
    std::os::unix::fs::symlink("nonexist", root.join("dangling")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fd {
    /// The fd in this slot of the case (it may have been closed since: a stale number).
    Slot(usize),
    /// A number that is never open.
    Bad(RawFd),
    /// The twin directory.
    Root,
}

#[derive(Clone, Copy, Debug)]
pub enum Len {
    N(usize),
    /// A buffer of 5 GiB (beyond u32::MAX), mapped without memory behind it.
    Huge,
}

impl Len {
    fn n(self) -> usize {
        match self {
            Len::N(n) => n,
            Len::Huge => HUGE,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Target {
    ClosedPort,
    ClosedPortV6,
    /// The address of the socket in this fd (a listener, if the case made one).
    AddressOf(Fd),
}

/// One call, with everything both sides need to make it the same way.
#[derive(Clone, Debug)]
pub enum Op {
    Open {
        path: usize,
        flags: i32,
        mode: u32,
    },
    Close {
        fd: Fd,
    },
    Read {
        fd: Fd,
        len: Len,
    },
    Pread {
        fd: Fd,
        len: Len,
        off: u64,
    },
    Write {
        fd: Fd,
        len: Len,
        seed: u64,
    },
    Pwrite {
        fd: Fd,
        len: usize,
        off: u64,
        seed: u64,
    },
    Readv {
        fd: Fd,
        lens: Vec<usize>,
        off: Option<u64>,
    },
    Writev {
        fd: Fd,
        lens: Vec<usize>,
        off: Option<u64>,
        seed: u64,
    },
    Ftruncate {
        fd: Fd,
        len: u64,
    },
    Fallocate {
        fd: Fd,
        mode: i32,
        off: u64,
        len: u64,
    },
    Fadvise {
        fd: Fd,
        off: u64,
        len: u64,
        advice: i32,
    },
    Fsync {
        fd: Fd,
        data_only: bool,
    },
    SyncFileRange {
        fd: Fd,
        off: u64,
        len: u64,
        flags: u32,
    },
    Statx {
        dir: Fd,
        path: usize,
        flags: i32,
        mask: u32,
    },
    Mkdir {
        path: usize,
        mode: u32,
    },
    Unlink {
        path: usize,
        flags: i32,
    },
    Rename {
        old: usize,
        new: usize,
        flags: u32,
    },
    Symlink {
        target: usize,
        path: usize,
    },
    Link {
        old_dir: Fd,
        old: usize,
        new: usize,
        flags: i32,
    },
    Socket {
        domain: i32,
        ty: i32,
        proto: i32,
    },
    Bind {
        fd: Fd,
        v6: bool,
    },
    Listen {
        fd: Fd,
        backlog: i32,
    },
    Connect {
        fd: Fd,
        to: Target,
    },
    Accept {
        fd: Fd,
        flags: i32,
    },
    Send {
        fd: Fd,
        len: Len,
        flags: i32,
        seed: u64,
    },
    /// `timed`: a blocking recv on an empty socket with `SO_RCVTIMEO` (EAGAIN after it).
    Recv {
        fd: Fd,
        len: Len,
        flags: i32,
        timed: bool,
    },
    Shutdown {
        fd: Fd,
        how: Shutdown,
    },
    Splice {
        fd_in: Fd,
        off_in: Option<u64>,
        fd_out: Fd,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    },
    Poll {
        fd: Fd,
        events: i16,
    },
    /// `setsockopt(SO_RCVTIMEO, SO_SNDTIMEO)`, made with libc on both sides.
    SetTimeouts {
        fd: Fd,
        ms: u32,
    },
    Nop,
}

impl Op {
    /// The operation's name, for the coverage table.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Open { .. } => "open",
            Op::Close { .. } => "close",
            Op::Read { .. } => "read",
            Op::Pread { .. } => "pread",
            Op::Write { .. } => "write",
            Op::Pwrite { .. } => "pwrite",
            Op::Readv { off: None, .. } => "readv",
            Op::Readv { .. } => "preadv",
            Op::Writev { off: None, .. } => "writev",
            Op::Writev { .. } => "pwritev",
            Op::Ftruncate { .. } => "ftruncate",
            Op::Fallocate { .. } => "fallocate",
            Op::Fadvise { .. } => "fadvise",
            Op::Fsync { .. } => "fsync",
            Op::SyncFileRange { .. } => "sync_file_range",
            Op::Statx { .. } => "statx",
            Op::Mkdir { .. } => "mkdirat",
            Op::Unlink { .. } => "unlinkat",
            Op::Rename { .. } => "renameat",
            Op::Symlink { .. } => "symlinkat",
            Op::Link { .. } => "linkat",
            Op::Socket { .. } => "socket",
            Op::Bind { .. } => "bind",
            Op::Listen { .. } => "listen",
            Op::Connect { .. } => "connect",
            Op::Accept { .. } => "accept4",
            Op::Send { .. } => "send",
            Op::Recv { timed: true, .. } => "recv (SO_RCVTIMEO)",
            Op::Recv { .. } => "recv",
            Op::Shutdown { .. } => "shutdown",
            Op::Splice { .. } => "splice",
            Op::Poll { .. } => "poll",
            Op::SetTimeouts { .. } => "setsockopt",
            Op::Nop => "nop",
        }
    }

    /// The fd whose position is compared after the operation.
    fn positioned(&self) -> Option<Fd> {
        match *self {
            Op::Read { fd, .. }
            | Op::Pread { fd, .. }
            | Op::Write { fd, .. }
            | Op::Pwrite { fd, .. }
            | Op::Readv { fd, .. }
            | Op::Writev { fd, .. }
            | Op::Ftruncate { fd, .. }
            | Op::Fallocate { fd, .. } => Some(fd),
            Op::Splice { fd_in, .. } => Some(fd_in),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    Errno(i32),
    /// An error without an errno (a NUL in a path: `InvalidInput`, as std gives).
    NoErrno(io::ErrorKind),
}

impl std::fmt::Debug for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Errno(e) => write!(f, "{}", io::Error::from_raw_os_error(*e)),
            Fail::NoErrno(kind) => write!(f, "{kind:?} (no errno)"),
        }
    }
}

pub type Res = Result<i64, Fail>;

/// Bytes, shown short.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = &self.0[..self.0.len().min(24)];
        write!(f, "{} bytes {:02x?}", self.0.len(), head)
    }
}

/// What an operation gave and left: its result, the bytes it read (or the fields it
/// reported), and the position of its fd afterwards.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outcome {
    pub res: Res,
    pub data: Bytes,
    pub pos: Option<Res>,
}

impl Outcome {
    /// "open: ok", "read: EAGAIN", ... for the coverage table.
    pub fn class(&self, op: &Op) -> String {
        let res = match self.res {
            Ok(_) => "ok".to_string(),
            Err(Fail::Errno(e)) => errno_name(e),
            Err(Fail::NoErrno(kind)) => format!("{kind:?}"),
        };
        format!("{}: {res}", op.name())
    }
}

pub fn errno_name(e: i32) -> String {
    let text = io::Error::from_raw_os_error(e).to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
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

fn ours<T>(res: io::Result<T>, value: impl FnOnce(T) -> i64) -> Res {
    match res {
        Ok(v) => Ok(value(v)),
        Err(e) => match e.raw_os_error() {
            Some(errno) => {
                // The contract: the error is from_raw_os_error(errno), so the kind follows.
                assert_eq!(
                    e.kind(),
                    io::Error::from_raw_os_error(errno).kind(),
                    "{e:?}"
                );
                Err(Fail::Errno(errno))
            }
            None => Err(Fail::NoErrno(e.kind())),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Buffers beyond u32::MAX
// ---------------------------------------------------------------------------------------------

/// 5 GiB: beyond what an entry's 32-bit length holds.
pub const HUGE: usize = 5 << 30;

struct Region(usize);

/// The huge buffers: 0 for libc's reads, 1 for uring_os's, 2 the (zero, read-only) source of
/// huge writes. Mapped once without reserving memory; only touched pages cost anything.
fn region(which: usize) -> *mut u8 {
    static REGIONS: OnceLock<[Region; 3]> = OnceLock::new();
    let regions = REGIONS.get_or_init(|| {
        let map = |prot| {
            // SAFETY: a new anonymous private mapping, no address hint.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    HUGE,
                    prot,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            assert_ne!(p, libc::MAP_FAILED, "mmap of 5 GiB without reserve");
            Region(p as usize)
        };
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        [map(rw), map(rw), map(libc::PROT_READ)]
    });
    regions[which].0 as *mut u8
}

/// How much of a huge read buffer is marked before a read (huge reads are drawn only where
/// at most this much can come back).
const HUGE_MARKED: usize = 1 << 20;

/// A read buffer of `len`: a fresh vector of marker bytes, or the huge region of `side`.
enum ReadBuf {
    Small(PageAligned),
    Huge(*mut u8),
}

/// Bytes starting at a 4 KiB boundary, so that both sides' buffers have the same alignment
/// (`O_DIRECT` transfers fail with `EINVAL` on a misaligned buffer, so an allocator's
/// whim would otherwise make the two sides differ).
struct PageAligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl PageAligned {
    fn new(bytes: &[u8]) -> PageAligned {
        let mut storage = vec![0u8; bytes.len() + 4096];
        let start = storage.as_ptr().align_offset(4096);
        storage[start..start + bytes.len()].copy_from_slice(bytes);
        PageAligned {
            storage,
            start,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

impl ReadBuf {
    fn new(len: Len, side: Which) -> ReadBuf {
        match len {
            Len::N(n) => ReadBuf::Small(PageAligned::new(&vec![0xAA; n])),
            Len::Huge => {
                let p = region(side as usize);
                // SAFETY: the region is mapped read-write and HUGE_MARKED < HUGE.
                unsafe { std::ptr::write_bytes(p, 0xAA, HUGE_MARKED) };
                ReadBuf::Huge(p)
            }
        }
    }

    fn slice(&mut self) -> &mut [u8] {
        match self {
            ReadBuf::Small(v) => v.bytes_mut(),
            // SAFETY: the region is a read-write mapping of HUGE bytes, used by one side's
            // single call at a time.
            ReadBuf::Huge(p) => unsafe { std::slice::from_raw_parts_mut(*p, HUGE) },
        }
    }

    /// The first `n` bytes, as read (`n` from a successful read).
    fn got(&mut self, res: &Res) -> Bytes {
        match res {
            Ok(n) => Bytes(self.slice()[..(*n as usize).min(HUGE_MARKED.max(1 << 17))].to_vec()),
            Err(_) => Bytes::default(),
        }
    }
}

/// The bytes a write writes: the seed's bytes, or the zero region for a huge write.
fn write_data(len: Len, seed: u64) -> WriteBuf {
    match len {
        Len::N(n) => WriteBuf::Small(PageAligned::new(&data(seed, n))),
        Len::Huge => WriteBuf::Huge,
    }
}

enum WriteBuf {
    Small(PageAligned),
    Huge,
}

impl WriteBuf {
    fn slice(&self) -> &[u8] {
        match self {
            WriteBuf::Small(v) => v.bytes(),
            // SAFETY: the read-only region maps HUGE zero bytes, never written.
            WriteBuf::Huge => unsafe { std::slice::from_raw_parts(region(2), HUGE) },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A side: its fds
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Which {
    Libc = 0,
    Uring = 1,
}

/// One side's fds: the twin directory's, the pipes and sockets made at the start, and what
/// the case opened since (slots are never reused, so a closed one holds a stale number).
pub struct Side {
    pub which: Which,
    pub root: RawFd,
    pub slots: Vec<RawFd>,
    /// Numbers the case has open now.
    pub owned: std::collections::BTreeSet<RawFd>,
    /// Pairs made at the start, by slot: a watchdog writes to the peer of a timed recv.
    pub peers: BTreeMap<usize, usize>,
}

fn check(ret: libc::c_int, what: &str) -> RawFd {
    assert!(ret >= 0, "{what}: {}", io::Error::last_os_error());
    ret
}

impl Side {
    /// Opens the fds every case starts with, in a fixed order (so both sides get the same
    /// numbers): the directory, two pipes (blocking, non-blocking), three unix socket pairs
    /// (stream, non-blocking stream, datagram) and a TCP listener with a connection.
    pub fn open(root_path: &Path, which: Which) -> Side {
        let c = CString::new(root_path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path; the fd is owned by the side.
        let root = check(
            unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            },
            "open root",
        );
        let mut side = Side {
            which,
            root,
            slots: Vec::new(),
            owned: Default::default(),
            peers: BTreeMap::new(),
        };
        side.own(root);
        for flags in [libc::O_CLOEXEC, libc::O_CLOEXEC | libc::O_NONBLOCK] {
            let mut fds = [0; 2];
            // SAFETY: room for two fds.
            check(unsafe { libc::pipe2(fds.as_mut_ptr(), flags) }, "pipe2");
            side.pair(fds);
        }
        for ty in [
            libc::SOCK_STREAM,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK,
            libc::SOCK_DGRAM,
        ] {
            let mut fds = [0; 2];
            // SAFETY: room for two fds.
            check(
                unsafe {
                    libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
                },
                "socketpair",
            );
            side.pair(fds);
        }
        // SAFETY: plain integer arguments.
        let listener = check(
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) },
            "socket",
        );
        let any = sockaddr_v4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
        // SAFETY: a valid sockaddr_in of its size.
        check(
            unsafe { libc::bind(listener, (&raw const any).cast(), size_of_val(&any) as u32) },
            "bind",
        );
        // SAFETY: plain integer arguments.
        check(unsafe { libc::listen(listener, 4) }, "listen");
        side.own(listener);
        side.slots.push(listener);
        let addr = local_addr(listener).unwrap();
        // SAFETY: plain integer arguments.
        let client = check(
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) },
            "socket",
        );
        let SocketAddr::V4(addr) = addr else {
            unreachable!()
        };
        let sa = sockaddr_v4(addr);
        // SAFETY: a valid sockaddr_in of its size.
        check(
            unsafe { libc::connect(client, (&raw const sa).cast(), size_of_val(&sa) as u32) },
            "connect",
        );
        // SAFETY: no address wanted.
        let server = check(
            unsafe {
                libc::accept4(
                    listener,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            },
            "accept4",
        );
        side.pair([client, server]);
        side
    }

    fn own(&mut self, fd: RawFd) {
        self.owned.insert(fd);
    }

    fn pair(&mut self, fds: [RawFd; 2]) {
        let a = self.slots.len();
        self.slots.extend(fds);
        self.own(fds[0]);
        self.own(fds[1]);
        self.peers.insert(a, a + 1);
        self.peers.insert(a + 1, a);
    }

    /// The number an [`Fd`] stands for on this side.
    pub fn fd(&self, fd: Fd) -> RawFd {
        match fd {
            Fd::Slot(i) => self.slots.get(i).copied().unwrap_or(BAD_FDS[0]),
            Fd::Bad(n) => n,
            Fd::Root => self.root,
        }
    }

    /// Closes every fd the case has open: with libc on the libc side, with `uring_os::close`
    /// on the other, so the crate forgets what it knew of each number.
    pub fn close_all(&mut self) {
        for fd in std::mem::take(&mut self.owned) {
            match self.which {
                // SAFETY: an fd this side owns, closed once.
                Which::Libc => unsafe {
                    libc::close(fd);
                },
                // SAFETY: as above; the OwnedFd is handed straight to close.
                Which::Uring => {
                    let _ = uring_os::close(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small libc helpers (the oracle's and the generator's)
// ---------------------------------------------------------------------------------------------

fn sockaddr_v4(a: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.ip().octets()),
        },
        sin_zero: [0; 8],
    }
}

fn sockaddr_v6(a: SocketAddrV6) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as u16,
        sin6_port: a.port().to_be(),
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: a.ip().octets(),
        },
        sin6_scope_id: 0,
    }
}

/// The IP address `fd` is bound to, read with getsockname and converted here.
fn local_addr(fd: RawFd) -> Option<SocketAddr> {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of_val(&ss) as libc::socklen_t;
    // SAFETY: `ss` and `len` are valid for writes.
    if unsafe { libc::getsockname(fd, (&raw mut ss).cast(), &mut len) } != 0 {
        return None;
    }
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in.
            let sin: libc::sockaddr_in = unsafe { std::ptr::read((&raw const ss).cast()) };
            Some(SocketAddr::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into(),
                u16::from_be(sin.sin_port),
            ))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6.
            let sin6: libc::sockaddr_in6 = unsafe { std::ptr::read((&raw const ss).cast()) };
            Some(SocketAddr::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr).into(),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

fn target_addr(to: Target, side: &Side) -> SocketAddr {
    let closed = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
    match to {
        Target::ClosedPort => closed,
        Target::ClosedPortV6 => SocketAddr::from((Ipv6Addr::LOCALHOST, 1)),
        Target::AddressOf(fd) => local_addr(side.fd(fd)).unwrap_or(closed),
    }
}

fn cpath(p: &[u8]) -> Option<CString> {
    CString::new(p).ok()
}

fn file_type(fd: RawFd) -> Option<u32> {
    // SAFETY: all-zero is a valid stat.
    let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    (unsafe { libc::fstat64(fd, &mut st) } == 0).then_some(st.st_mode & libc::S_IFMT)
}

fn file_size(fd: RawFd) -> u64 {
    // SAFETY: all-zero is a valid stat.
    let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    unsafe { libc::fstat64(fd, &mut st) };
    st.st_size as u64
}

fn status_flags(fd: RawFd) -> i32 {
    // SAFETY: F_GETFL on any number is harmless.
    unsafe { libc::fcntl(fd, libc::F_GETFL) }
}

/// `revents` of `fd` for `events` right now (POLLNVAL for a bad fd).
fn ready(fd: RawFd, events: i16) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    unsafe { libc::poll(&mut p, 1, 0) };
    p.revents
}

fn sockopt(fd: RawFd, name: i32) -> i32 {
    let mut v: i32 = 0;
    let mut len = 4;
    // SAFETY: `v` and `len` are valid for writes.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, name, (&raw mut v).cast(), &mut len) };
    if r == 0 { v } else { -1 }
}

fn ioctl_int(fd: RawFd, req: libc::Ioctl) -> i32 {
    let mut v: i32 = 0;
    // SAFETY: FIONREAD/SIOCOUTQ write one int.
    let r = unsafe { libc::ioctl(fd, req, &mut v) };
    if r == 0 { v } else { -1 }
}

fn rcv_timeout(fd: RawFd) -> Duration {
    // SAFETY: all-zero is a valid timeval.
    let mut tv: libc::timeval = unsafe { std::mem::zeroed() };
    let mut len = size_of_val(&tv) as libc::socklen_t;
    // SAFETY: `tv` and `len` are valid for writes.
    unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw mut tv).cast(),
            &mut len,
        )
    };
    Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000)
}

fn is_stream(kind: Option<u32>) -> bool {
    matches!(kind, Some(libc::S_IFIFO | libc::S_IFSOCK))
}

fn is_tcp(fd: RawFd) -> bool {
    file_type(fd) == Some(libc::S_IFSOCK) && sockopt(fd, libc::SO_PROTOCOL) == libc::IPPROTO_TCP
}

/// Whether a read of `fd` could wait (a blocking pipe, FIFO or socket with nothing to read).
fn read_waits(fd: RawFd) -> bool {
    is_stream(file_type(fd))
        && status_flags(fd) & (libc::O_NONBLOCK | libc::O_PATH) == 0
        && ready(fd, libc::POLLIN) == 0
}

/// Whether a write of `len` bytes to `fd` could wait (or, on TCP, depend on timing: no data
/// goes over TCP in these cases).
fn write_waits(fd: RawFd, len: usize) -> bool {
    let kind = file_type(fd);
    if !is_stream(kind) || status_flags(fd) & libc::O_PATH != 0 {
        return false;
    }
    if is_tcp(fd) && len > 0 {
        return true;
    }
    if status_flags(fd) & libc::O_NONBLOCK != 0 {
        return false;
    }
    let r = ready(fd, libc::POLLOUT);
    if r & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
        return false;
    }
    r & libc::POLLOUT == 0 || len > 4096
}

// ---------------------------------------------------------------------------------------------
// Generating an operation (from the libc side's state)
// ---------------------------------------------------------------------------------------------

/// What the generator may draw.
#[derive(Clone, Copy)]
pub struct Config {
    /// Blocking recvs on empty sockets that have `SO_RCVTIMEO`: EAGAIN after the timeout,
    /// through uring_os as through recv(2).
    pub socket_timeout_recvs: bool,
    /// Among those, zero-length ones on TCP (recv(2) gives 0 after the timeout).
    pub zero_length_timed_tcp_recvs: bool,
    pub max_ops: usize,
}

const OFFSETS: [u64; 14] = [
    0,
    1,
    100,
    4095,
    4096,
    9999,
    10_000,
    1 << 20,
    1 << 40,
    i64::MAX as u64 - 1,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX - 1,
    u64::MAX,
];
/// Offsets a write may use: none that would write a byte beyond the first terabyte.
const WRITE_OFFSETS: [u64; 11] = [
    0,
    1,
    100,
    4096,
    9999,
    12_345,
    1 << 20,
    1 << 40,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX,
];
const LENS: [usize; 9] = [0, 1, 7, 100, 512, 4096, 4097, 10_000, 65_539];
const BIG: [u64; 12] = [
    0,
    1,
    100,
    4096,
    5000,
    10_000,
    1 << 20,
    1 << 40,
    1 << 50,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX,
];

fn pick_fd(rng: &mut Rng, side: &Side) -> Fd {
    let fd = match rng.below(100) {
        0..=84 => Fd::Slot(rng.below(side.slots.len())),
        85..=94 => Fd::Bad(rng.pick(&BAD_FDS)),
        _ => Fd::Root,
    };
    // A stale slot whose number something else (not the case) has open now is never used.
    let n = side.fd(fd);
    if !side.owned.contains(&n) && status_flags(n) >= 0 {
        return Fd::Bad(BAD_FDS[0]);
    }
    fd
}

fn pick_len(rng: &mut Rng) -> Len {
    if rng.chance(4) {
        Len::Huge
    } else {
        Len::N(rng.pick(&LENS))
    }
}

/// A huge read only where at most [`HUGE_MARKED`] bytes can come back.
fn fit_read_len(len: Len, fd: RawFd, off: Option<u64>) -> Len {
    if let Len::Huge = len {
        if file_type(fd) == Some(libc::S_IFREG) {
            let pos = off.unwrap_or_else(|| {
                // SAFETY: lseek on a regular file of the case.
                unsafe { libc::lseek64(fd, 0, libc::SEEK_CUR) as u64 }
            });
            if file_size(fd).saturating_sub(pos) > HUGE_MARKED as u64 {
                return Len::N(65_536);
            }
        }
    }
    len
}

/// A huge write only to a non-blocking stream (a regular file would take gigabytes).
fn fit_write_len(len: Len, fd: RawFd, nonblocking_flag: bool) -> Len {
    if let Len::Huge = len {
        let nonblocking = nonblocking_flag || status_flags(fd) & libc::O_NONBLOCK != 0;
        if !(is_stream(file_type(fd)) && nonblocking) {
            return Len::N(4096);
        }
    }
    len
}

/// Draws one operation that cannot block forever on the libc side as it is now; `None`
/// when the draw does not fit (the caller draws again).
fn draw(rng: &mut Rng, side: &Side, config: &Config) -> Option<Op> {
    // Weights, in the order of the match below.
    const WEIGHTS: [u32; 31] = [
        12, 6, 10, 8, 10, 8, 3, 3, 3, 3, 4, 3, 2, 1, 2, 6, 4, 5, 5, 3, 3, 3, 2, 2, 2, 2, 6, 6, 2,
        4, 3,
    ];
    let npaths = paths().len();
    let fd = pick_fd(rng, side);
    let n = side.fd(fd);
    let op = match rng.weighted(&WEIGHTS) {
        0 => {
            let access = rng.pick(&[libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR, 3]);
            let mut flags = access;
            for (flag, percent) in [
                (libc::O_CREAT, 35),
                (libc::O_EXCL, 10),
                (libc::O_TRUNC, 10),
                (libc::O_APPEND, 15),
                (libc::O_NONBLOCK, 15),
                (libc::O_DIRECTORY, 8),
                (libc::O_NOFOLLOW, 8),
                (libc::O_CLOEXEC, 60),
                (libc::O_PATH, 5),
                (libc::O_TMPFILE, 3),
                (libc::O_NOATIME, 3),
                (libc::O_DIRECT, 2),
            ] {
                if rng.chance(percent) {
                    flags |= flag;
                }
            }
            let path = rng.below(npaths);
            // open(2) of a FIFO waits for the other end: never in these cases.
            if let Some(c) = cpath(&paths()[path]) {
                // SAFETY: all-zero is a valid stat.
                let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
                let nofollow = if flags & libc::O_NOFOLLOW != 0 {
                    libc::AT_SYMLINK_NOFOLLOW
                } else {
                    0
                };
                // SAFETY: a valid path and stat buffer.
                let found =
                    unsafe { libc::fstatat64(side.root, c.as_ptr(), &mut st, nofollow) } == 0;
                if found
                    && st.st_mode & libc::S_IFMT == libc::S_IFIFO
                    && access != libc::O_RDWR
                    && flags & libc::O_PATH == 0
                {
                    flags |= libc::O_NONBLOCK;
                }
            }
            Op::Open {
                path,
                flags,
                mode: rng.pick(&[0o644, 0o600, 0o777, 0o4755, 0]),
            }
        }
        1 => Op::Close { fd },
        2 => {
            let len = fit_read_len(pick_len(rng), n, None);
            if read_waits(n) {
                return None;
            }
            Op::Read { fd, len }
        }
        3 => {
            let off = rng.pick(&OFFSETS);
            Op::Pread {
                fd,
                len: fit_read_len(pick_len(rng), n, Some(off)),
                off,
            }
        }
        4 => {
            let len = fit_write_len(pick_len(rng), n, false);
            if write_waits(n, len.n()) {
                return None;
            }
            Op::Write {
                fd,
                len,
                seed: rng.next(),
            }
        }
        5 => Op::Pwrite {
            fd,
            len: rng.pick(&LENS),
            off: rng.pick(&WRITE_OFFSETS),
            seed: rng.next(),
        },
        k @ (6 | 8) => {
            let lens: Vec<usize> = (0..1 + rng.below(4))
                .map(|_| rng.pick(&LENS[..7]))
                .collect();
            let off = (k == 8).then(|| rng.pick(&OFFSETS));
            if off.is_none() && read_waits(n) {
                return None;
            }
            Op::Readv { fd, lens, off }
        }
        k @ (7 | 9) => {
            let lens: Vec<usize> = (0..1 + rng.below(4))
                .map(|_| rng.pick(&LENS[..6]))
                .collect();
            let off = (k == 9).then(|| rng.pick(&WRITE_OFFSETS));
            if off.is_none() && write_waits(n, lens.iter().sum()) {
                return None;
            }
            Op::Writev {
                fd,
                lens,
                off,
                seed: rng.next(),
            }
        }
        10 => Op::Ftruncate {
            fd,
            len: rng.pick(&BIG),
        },
        11 => Op::Fallocate {
            fd,
            mode: rng.pick(&[0, 1, 3, 0x10, 0x08, 0x100]),
            // Never a large allocation: offsets and lengths that are small or fail early.
            off: rng.pick(&[0, 1, 4096, 1 << 20, i64::MAX as u64, u64::MAX]),
            len: rng.pick(&[0, 1, 100, 4096, 65_536, i64::MAX as u64, u64::MAX]),
        },
        12 => Op::Fadvise {
            fd,
            off: rng.pick(&[0, 1 << 40, i64::MAX as u64, u64::MAX]),
            len: rng.pick(&[0, 1, 1 << 33, u64::MAX]),
            advice: rng.pick(&[0, 1, 2, 3, 4, 5, 6, 99]),
        },
        13 => Op::Fsync {
            fd,
            data_only: rng.chance(50),
        },
        14 => Op::SyncFileRange {
            fd,
            off: rng.pick(&[0, 4096, 1 << 40, i64::MAX as u64, u64::MAX]),
            len: rng.pick(&[0, 4096, 1 << 33, u64::MAX]),
            flags: rng.pick(&[0, 1, 2, 4, 7, 8]),
        },
        15 => {
            let (dir, path, mut flags) = if rng.chance(25) {
                (fd, EMPTY_PATH, libc::AT_EMPTY_PATH)
            } else {
                (Fd::Root, rng.below(npaths), 0)
            };
            flags |= rng.pick(&[
                0,
                0,
                libc::AT_SYMLINK_NOFOLLOW,
                libc::AT_STATX_DONT_SYNC,
                libc::AT_EMPTY_PATH,
                0x4000_0000,
            ]);
            Op::Statx {
                dir,
                path,
                flags,
                mask: rng.pick(&[
                    libc::STATX_BASIC_STATS,
                    libc::STATX_ALL,
                    libc::STATX_SIZE,
                    0,
                    0x8000_0000,
                ]),
            }
        }
        16 => Op::Mkdir {
            path: rng.below(npaths),
            mode: rng.pick(&[0o755, 0o700, 0o7777, 0]),
        },
        17 => Op::Unlink {
            path: rng.below(npaths),
            flags: rng.pick(&[0, 0, libc::AT_REMOVEDIR, 0x1]),
        },
        18 => Op::Rename {
            old: rng.below(npaths),
            new: rng.below(npaths),
            flags: rng.pick(&[
                0,
                0,
                libc::RENAME_NOREPLACE,
                libc::RENAME_EXCHANGE,
                libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE,
                libc::RENAME_WHITEOUT,
                0x100,
            ]),
        },
        19 => Op::Symlink {
            target: rng.below(targets().len()),
            path: rng.below(npaths),
        },
        20 => {
            let (old_dir, old, flags) = if rng.chance(20) {
                (fd, EMPTY_PATH, libc::AT_EMPTY_PATH)
            } else {
                (
                    Fd::Root,
                    rng.below(npaths),
                    rng.pick(&[0, 0, libc::AT_SYMLINK_FOLLOW, 0x1]),
                )
            };
            Op::Link {
                old_dir,
                old,
                new: rng.below(npaths),
                flags,
            }
        }
        21 => Op::Socket {
            domain: rng.pick(&[libc::AF_UNIX, libc::AF_INET, libc::AF_INET6, 9999]),
            ty: rng.pick(&[
                libc::SOCK_STREAM,
                libc::SOCK_DGRAM,
                libc::SOCK_SEQPACKET,
                99,
            ]) | rng.pick(&[0, libc::SOCK_NONBLOCK, libc::SOCK_CLOEXEC, 0x4000_0000]),
            proto: rng.pick(&[0, 0, libc::IPPROTO_TCP, libc::IPPROTO_UDP, 999]),
        },
        22 => Op::Bind {
            fd,
            v6: rng.chance(30),
        },
        23 => Op::Listen {
            fd,
            backlog: rng.pick(&[0, 1, 128, -1]),
        },
        24 => {
            let to = match rng.below(3) {
                0 => Target::ClosedPort,
                1 => Target::ClosedPortV6,
                _ => Target::AddressOf(pick_fd(rng, side)),
            };
            // Only blocking TCP connects: a non-blocking one races its own handshake
            // (EINPROGRESS, then EALREADY or EISCONN), a UDP one gets ICMP errors later.
            let kind = file_type(n);
            if kind == Some(libc::S_IFSOCK) {
                let inet = matches!(sockopt(n, libc::SO_DOMAIN), libc::AF_INET | libc::AF_INET6);
                if inet
                    && (sockopt(n, libc::SO_TYPE) != libc::SOCK_STREAM
                        || status_flags(n) & libc::O_NONBLOCK != 0)
                {
                    return None;
                }
            }
            if let Target::AddressOf(l) = to {
                // A connection the listener has not accepted yet: the next could wait.
                if ready(side.fd(l), libc::POLLIN) != 0 {
                    return None;
                }
            }
            Op::Connect { fd, to }
        }
        25 => {
            let blocking = status_flags(n) & libc::O_NONBLOCK == 0;
            if file_type(n) == Some(libc::S_IFSOCK)
                && sockopt(n, libc::SO_ACCEPTCONN) == 1
                && blocking
                && ready(n, libc::POLLIN) == 0
            {
                return None;
            }
            Op::Accept {
                fd,
                flags: rng.pick(&[0, libc::SOCK_NONBLOCK, libc::SOCK_CLOEXEC, 0x1234]),
            }
        }
        26 => {
            let flags = rng.pick(&[0, 0, libc::MSG_DONTWAIT, libc::MSG_NOSIGNAL, libc::MSG_MORE]);
            let len = fit_write_len(pick_len(rng), n, flags & libc::MSG_DONTWAIT != 0);
            if file_type(n) == Some(libc::S_IFSOCK)
                && (is_tcp(n) && len.n() > 0
                    || flags & libc::MSG_DONTWAIT == 0 && write_waits(n, len.n()))
            {
                return None;
            }
            Op::Send {
                fd,
                len,
                flags,
                seed: rng.next(),
            }
        }
        27 => {
            let mut flags = rng.pick(&[
                0,
                0,
                libc::MSG_DONTWAIT,
                libc::MSG_PEEK,
                libc::MSG_TRUNC,
                libc::MSG_WAITALL,
            ]);
            let len = fit_read_len(pick_len(rng), n, None);
            let socket = file_type(n) == Some(libc::S_IFSOCK);
            if flags & libc::MSG_WAITALL != 0
                && (!socket || (ioctl_int(n, libc::FIONREAD) as usize) < len.n())
            {
                flags &= !libc::MSG_WAITALL;
            }
            let mut timed = false;
            if socket && flags & libc::MSG_DONTWAIT == 0 && read_waits(n) {
                // Waits until data comes, unless SO_RCVTIMEO ends it: the switch.
                let peered = matches!(fd, Fd::Slot(i) if side.peers.contains_key(&i));
                if !(config.socket_timeout_recvs && peered && !rcv_timeout(n).is_zero()) {
                    return None;
                }
                // A zero-length recv on TCP waits for the timeout and then gives 0 (recv(2));
                // uring_os gives EAGAIN there (a known difference, reported): not drawn.
                if len.n() == 0 && is_tcp(n) && !config.zero_length_timed_tcp_recvs {
                    return None;
                }
                timed = true;
            }
            Op::Recv {
                fd,
                len,
                flags,
                timed,
            }
        }
        28 => Op::Shutdown {
            fd,
            how: rng.pick(&[Shutdown::Read, Shutdown::Write, Shutdown::Both]),
        },
        29 => {
            let fd_out = pick_fd(rng, side);
            let off = |rng: &mut Rng| {
                if rng.chance(50) {
                    None
                } else {
                    Some(rng.pick(&OFFSETS[..12]))
                }
            };
            let (off_in, off_out) = (off(rng), off(rng));
            let flags = rng.pick(&[0, libc::SPLICE_F_NONBLOCK, libc::SPLICE_F_MOVE, 0x100]);
            let len = rng.pick(&[0, 1, 100, 4096, 65_536, 1 << 31]);
            let nb = flags & libc::SPLICE_F_NONBLOCK != 0;
            let out = side.fd(fd_out);
            // A socket's splice_read waits by the socket's own O_NONBLOCK, whatever the flags.
            if (!nb || file_type(n) == Some(libc::S_IFSOCK)) && read_waits(n) {
                return None;
            }
            if is_stream(file_type(out)) && (is_tcp(out) || !nb && write_waits(out, 1)) {
                return None;
            }
            if file_type(out) == Some(libc::S_IFSOCK)
                && !nb
                && status_flags(out) & libc::O_NONBLOCK == 0
            {
                // A pipe's whole content into a blocking socket: could wait on its buffer.
                return None;
            }
            Op::Splice {
                fd_in: fd,
                off_in,
                fd_out,
                off_out,
                len,
                flags,
            }
        }
        30 => {
            let events = rng.pick(&[
                libc::POLLIN,
                libc::POLLOUT,
                libc::POLLIN | libc::POLLOUT,
                libc::POLLPRI,
                libc::POLLIN | libc::POLLRDHUP,
            ]);
            // poll(2) without a time limit: only where something is ready.
            if n < 0 || ready(n, events) == 0 {
                return None;
            }
            Op::Poll { fd, events }
        }
        _ => unreachable!(),
    };
    Some(op)
}

/// One operation, drawn again until it fits; sometimes a socket timeout or a nop.
pub fn generate(rng: &mut Rng, side: &Side, config: &Config) -> Op {
    if rng.chance(3) {
        return Op::SetTimeouts {
            fd: pick_fd(rng, side),
            ms: rng.pick(&[0, 10, 30]),
        };
    }
    for _ in 0..20 {
        if let Some(op) = draw(rng, side, config) {
            return op;
        }
    }
    Op::Nop
}

// ---------------------------------------------------------------------------------------------
// Running an operation
// ---------------------------------------------------------------------------------------------

/// A path for libc: `None` for a path with a NUL, which no C string holds (std and uring_os
/// answer `InvalidInput`).
fn libc_path(i: usize) -> Result<CString, Fail> {
    cpath(&paths()[i]).ok_or(Fail::NoErrno(io::ErrorKind::InvalidInput))
}

fn target(i: usize) -> &'static [u8] {
    &targets()[i]
}

/// Runs `op` with libc; returns its result and the bytes it read (or fields it reported).
fn run_libc(op: &Op, side: &mut Side) -> (Res, Bytes) {
    let fd = |f: Fd| side.fd(f);
    let none = Bytes::default();
    match op {
        Op::Open { path, flags, mode } => {
            let p = match libc_path(*path) {
                Ok(p) => p,
                Err(e) => return (Err(e), none),
            };
            // SAFETY: a valid path; a new fd is recorded by the caller.
            let r = unsafe { libc::openat(side.root, p.as_ptr(), *flags, *mode as libc::c_uint) };
            (libc_res(r.into()), none)
        }
        Op::Close { fd: f } => {
            // SAFETY: the number is the case's own or not open (see pick_fd).
            let r = unsafe { libc::close(fd(*f)) };
            (libc_res(r.into()), none)
        }
        Op::Read { fd: f, len } => {
            let mut buf = ReadBuf::new(*len, Which::Libc);
            let b = buf.slice();
            // SAFETY: `b` is valid for writes of its length.
            let r = libc_res(unsafe { libc::read(fd(*f), b.as_mut_ptr().cast(), b.len()) } as i64);
            let got = buf.got(&r);
            (r, got)
        }
        Op::Pread { fd: f, len, off } => {
            let mut buf = ReadBuf::new(*len, Which::Libc);
            let b = buf.slice();
            // SAFETY: as above.
            let r = libc_res(unsafe {
                libc::pread64(fd(*f), b.as_mut_ptr().cast(), b.len(), *off as i64)
            } as i64);
            let got = buf.got(&r);
            (r, got)
        }
        Op::Write { fd: f, len, seed } => {
            let w = write_data(*len, *seed);
            let b = w.slice();
            // SAFETY: `b` is valid for reads of its length.
            let r = unsafe { libc::write(fd(*f), b.as_ptr().cast(), b.len()) };
            (libc_res(r as i64), none)
        }
        Op::Pwrite {
            fd: f,
            len,
            off,
            seed,
        } => {
            let b = PageAligned::new(&data(*seed, *len));
            let b = b.bytes();
            // SAFETY: as above.
            let r = unsafe { libc::pwrite64(fd(*f), b.as_ptr().cast(), b.len(), *off as i64) };
            (libc_res(r as i64), none)
        }
        Op::Readv { fd: f, lens, off } => {
            let mut bufs: Vec<PageAligned> = lens
                .iter()
                .map(|&l| PageAligned::new(&vec![0xAA; l]))
                .collect();
            let iov: Vec<libc::iovec> = bufs
                .iter_mut()
                .map(|b| {
                    let b = b.bytes_mut();
                    libc::iovec {
                        iov_base: b.as_mut_ptr().cast(),
                        iov_len: b.len(),
                    }
                })
                .collect();
            // SAFETY: every iovec points into a live buffer.
            let r = libc_res(unsafe {
                match off {
                    None => libc::readv(fd(*f), iov.as_ptr(), iov.len() as i32),
                    Some(o) => libc::preadv64(fd(*f), iov.as_ptr(), iov.len() as i32, *o as i64),
                }
            } as i64);
            let mut all: Vec<u8> = bufs.iter().flat_map(|b| b.bytes().to_vec()).collect();
            all.truncate(*r.as_ref().unwrap_or(&0) as usize);
            (r, Bytes(all))
        }
        Op::Writev {
            fd: f,
            lens,
            off,
            seed,
        } => {
            let all = PageAligned::new(&data(*seed, lens.iter().sum()));
            let mut rest = all.bytes();
            let iov: Vec<libc::iovec> = lens
                .iter()
                .map(|&l| {
                    let (a, b) = rest.split_at(l);
                    rest = b;
                    libc::iovec {
                        iov_base: a.as_ptr() as *mut _,
                        iov_len: a.len(),
                    }
                })
                .collect();
            // SAFETY: every iovec points into `all`, alive for the call.
            let r = unsafe {
                match off {
                    None => libc::writev(fd(*f), iov.as_ptr(), iov.len() as i32),
                    Some(o) => libc::pwritev64(fd(*f), iov.as_ptr(), iov.len() as i32, *o as i64),
                }
            };
            (libc_res(r as i64), none)
        }
        Op::Ftruncate { fd: f, len } => {
            // SAFETY: plain integer arguments.
            (
                libc_res(unsafe { libc::ftruncate64(fd(*f), *len as i64) }.into()),
                none,
            )
        }
        Op::Fallocate {
            fd: f,
            mode,
            off,
            len,
        } => {
            // SAFETY: plain integer arguments.
            let r = unsafe { libc::fallocate64(fd(*f), *mode, *off as i64, *len as i64) };
            (libc_res(r.into()), none)
        }
        Op::Fadvise {
            fd: f,
            off,
            len,
            advice,
        } => {
            // SAFETY: plain integer arguments; the error is returned, not set in errno.
            let e = unsafe { libc::posix_fadvise64(fd(*f), *off as i64, *len as i64, *advice) };
            (if e == 0 { Ok(0) } else { Err(Fail::Errno(e)) }, none)
        }
        Op::Fsync { fd: f, data_only } => {
            // SAFETY: plain integer arguments.
            let r = unsafe {
                if *data_only {
                    libc::fdatasync(fd(*f))
                } else {
                    libc::fsync(fd(*f))
                }
            };
            (libc_res(r.into()), none)
        }
        Op::SyncFileRange {
            fd: f,
            off,
            len,
            flags,
        } => {
            // SAFETY: plain integer arguments.
            let r = unsafe { libc::sync_file_range(fd(*f), *off as i64, *len as i64, *flags) };
            (libc_res(r.into()), none)
        }
        Op::Statx {
            dir,
            path,
            flags,
            mask,
        } => {
            let p = match libc_path(*path) {
                Ok(p) => p,
                Err(e) => return (Err(e), none),
            };
            // SAFETY: all-zero is a valid statx.
            let mut stx: libc::statx = unsafe { std::mem::zeroed() };
            // SAFETY: a valid path and statx buffer.
            let r = unsafe { libc::statx(fd(*dir), p.as_ptr(), *flags, *mask, &mut stx) };
            let r = libc_res(r.into());
            let fields = if r.is_ok() { statx_fields(&stx) } else { none };
            (r, fields)
        }
        Op::Mkdir { path, mode } => path_call(&[*path], |p| {
            // SAFETY: a valid path.
            unsafe { libc::mkdirat(side.root, p[0].as_ptr(), *mode) }
        }),
        Op::Unlink { path, flags } => path_call(&[*path], |p| {
            // SAFETY: a valid path.
            unsafe { libc::unlinkat(side.root, p[0].as_ptr(), *flags) }
        }),
        Op::Rename { old, new, flags } => path_call(&[*old, *new], |p| {
            // SAFETY: valid paths.
            unsafe {
                libc::syscall(
                    libc::SYS_renameat2,
                    side.root,
                    p[0].as_ptr(),
                    side.root,
                    p[1].as_ptr(),
                    *flags,
                ) as i32
            }
        }),
        Op::Symlink { target: t, path } => {
            let (Some(t), Ok(p)) = (cpath(target(*t)), libc_path(*path)) else {
                return (Err(Fail::NoErrno(io::ErrorKind::InvalidInput)), none);
            };
            // SAFETY: valid paths.
            let r = unsafe { libc::symlinkat(t.as_ptr(), side.root, p.as_ptr()) };
            (libc_res(r.into()), none)
        }
        Op::Link {
            old_dir,
            old,
            new,
            flags,
        } => {
            let od = fd(*old_dir);
            path_call(&[*old, *new], |p| {
                // SAFETY: valid paths.
                unsafe { libc::linkat(od, p[0].as_ptr(), side.root, p[1].as_ptr(), *flags) }
            })
        }
        Op::Socket { domain, ty, proto } => {
            // SAFETY: plain integer arguments.
            (
                libc_res(unsafe { libc::socket(*domain, *ty, *proto) }.into()),
                none,
            )
        }
        Op::Bind { fd: f, v6 } => {
            let r = if *v6 {
                let a = sockaddr_v6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0));
                // SAFETY: a valid sockaddr of its size.
                unsafe { libc::bind(fd(*f), (&raw const a).cast(), size_of_val(&a) as u32) }
            } else {
                let a = sockaddr_v4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
                // SAFETY: as above.
                unsafe { libc::bind(fd(*f), (&raw const a).cast(), size_of_val(&a) as u32) }
            };
            (libc_res(r.into()), none)
        }
        Op::Listen { fd: f, backlog } => {
            // SAFETY: plain integer arguments.
            (
                libc_res(unsafe { libc::listen(fd(*f), *backlog) }.into()),
                none,
            )
        }
        Op::Connect { fd: f, to } => {
            let r = match target_addr(*to, side) {
                SocketAddr::V4(a) => {
                    let a = sockaddr_v4(a);
                    // SAFETY: a valid sockaddr of its size.
                    unsafe { libc::connect(fd(*f), (&raw const a).cast(), size_of_val(&a) as u32) }
                }
                SocketAddr::V6(a) => {
                    let a = sockaddr_v6(a);
                    // SAFETY: as above.
                    unsafe { libc::connect(fd(*f), (&raw const a).cast(), size_of_val(&a) as u32) }
                }
            };
            (libc_res(r.into()), none)
        }
        Op::Accept { fd: f, flags } => {
            // SAFETY: no address wanted.
            let r = unsafe {
                libc::accept4(fd(*f), std::ptr::null_mut(), std::ptr::null_mut(), *flags)
            };
            (libc_res(r.into()), none)
        }
        Op::Send {
            fd: f,
            len,
            flags,
            seed,
        } => {
            let w = write_data(*len, *seed);
            let b = w.slice();
            // SAFETY: `b` is valid for reads.
            let r = unsafe { libc::send(fd(*f), b.as_ptr().cast(), b.len(), *flags) };
            (libc_res(r as i64), none)
        }
        Op::Recv {
            fd: f, len, flags, ..
        } => {
            let mut buf = ReadBuf::new(*len, Which::Libc);
            let b = buf.slice();
            // SAFETY: `b` is valid for writes.
            let r = libc_res(
                unsafe { libc::recv(fd(*f), b.as_mut_ptr().cast(), b.len(), *flags) } as i64,
            );
            let got = match (r, flags & libc::MSG_TRUNC) {
                // With MSG_TRUNC the count may exceed what was copied.
                (Ok(n), _) if n as usize > b.len() => Bytes(b.to_vec()),
                _ => buf.got(&r),
            };
            (r, got)
        }
        Op::Shutdown { fd: f, how } => {
            let how = match how {
                Shutdown::Read => libc::SHUT_RD,
                Shutdown::Write => libc::SHUT_WR,
                Shutdown::Both => libc::SHUT_RDWR,
            };
            // SAFETY: plain integer arguments.
            (
                libc_res(unsafe { libc::shutdown(fd(*f), how) }.into()),
                none,
            )
        }
        Op::Splice {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => {
            let (mut oi, mut oo) = (off_in.unwrap_or(0) as i64, off_out.unwrap_or(0) as i64);
            let pi = if off_in.is_some() {
                &raw mut oi
            } else {
                std::ptr::null_mut()
            };
            let po = if off_out.is_some() {
                &raw mut oo
            } else {
                std::ptr::null_mut()
            };
            // SAFETY: the offsets point to live variables or are null.
            let r = unsafe { libc::splice(fd(*fd_in), pi, fd(*fd_out), po, *len, *flags) };
            (libc_res(r as i64), none)
        }
        Op::Poll { fd: f, events } => {
            let mut p = libc::pollfd {
                fd: fd(*f),
                events: *events,
                revents: 0,
            };
            // SAFETY: one valid pollfd; the generator saw it ready.
            let r = unsafe { libc::poll(&mut p, 1, -1) };
            (libc_res(r.into()).map(|_| i64::from(p.revents)), none)
        }
        Op::SetTimeouts { fd: f, ms } => (set_timeouts(fd(*f), *ms), none),
        Op::Nop => (Ok(0), none),
    }
}

fn path_call(paths: &[usize], f: impl FnOnce(&[CString]) -> libc::c_int) -> (Res, Bytes) {
    let mut c = Vec::new();
    for &p in paths {
        match libc_path(p) {
            Ok(p) => c.push(p),
            Err(e) => return (Err(e), Bytes::default()),
        }
    }
    (libc_res(f(&c).into()), Bytes::default())
}

fn set_timeouts(fd: RawFd, ms: u32) -> Res {
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: (ms * 1000) as libc::suseconds_t,
    };
    for name in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        // SAFETY: a valid timeval of its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&raw const tv).cast(),
                size_of_val(&tv) as u32,
            )
        };
        if r < 0 {
            return libc_res(-1);
        }
    }
    Ok(0)
}

/// The statx fields that are the same for twin files (not inode numbers or times).
fn statx_fields(s: &libc::statx) -> Bytes {
    Bytes(
        format!(
            "mask {:x} mode {:o} nlink {} uid {} gid {} size {} attrs {:x}/{:x}",
            s.stx_mask,
            s.stx_mode,
            s.stx_nlink,
            s.stx_uid,
            s.stx_gid,
            s.stx_size,
            s.stx_attributes,
            s.stx_attributes_mask
        )
        .into_bytes(),
    )
}

/// A number as an fd for one call through uring_os.
fn b(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: borrowed for one call. A number that is not open is what such a case tests:
    // the crate hands it to the kernel, which answers EBADF as it does to libc.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Runs `op` through uring_os; returns its result and the bytes it read.
fn run_uring(op: &Op, side: &mut Side) -> (Res, Bytes) {
    let fd = |f: Fd| b(side.fd(f));
    let root = b(side.root);
    let none = Bytes::default();
    let p = |i: usize| os(&paths()[i]);
    let new_fd = |fd: OwnedFd| i64::from(fd.into_raw_fd());
    match op {
        Op::Open { path, flags, mode } => (
            ours(uring_os::openat(root, p(*path), *flags, *mode), new_fd),
            none,
        ),
        Op::Close { fd: f } => {
            // SAFETY: the number is the case's own or not open (see pick_fd); close takes it.
            let owned = unsafe { OwnedFd::from_raw_fd(side.fd(*f)) };
            (ours(uring_os::close(owned), |_| 0), none)
        }
        Op::Read { fd: f, len } => {
            let mut buf = ReadBuf::new(*len, Which::Uring);
            let r = ours(uring_os::read(fd(*f), buf.slice()), |n| n as i64);
            let got = buf.got(&r);
            (r, got)
        }
        Op::Pread { fd: f, len, off } => {
            let mut buf = ReadBuf::new(*len, Which::Uring);
            let r = ours(uring_os::pread(fd(*f), buf.slice(), *off), |n| n as i64);
            let got = buf.got(&r);
            (r, got)
        }
        Op::Write { fd: f, len, seed } => {
            let w = write_data(*len, *seed);
            (ours(uring_os::write(fd(*f), w.slice()), |n| n as i64), none)
        }
        Op::Pwrite {
            fd: f,
            len,
            off,
            seed,
        } => {
            let w = PageAligned::new(&data(*seed, *len));
            (
                ours(uring_os::pwrite(fd(*f), w.bytes(), *off), |n| n as i64),
                none,
            )
        }
        Op::Readv { fd: f, lens, off } => {
            let mut bufs: Vec<PageAligned> = lens
                .iter()
                .map(|&l| PageAligned::new(&vec![0xAA; l]))
                .collect();
            let mut slices: Vec<IoSliceMut<'_>> = bufs
                .iter_mut()
                .map(|b| IoSliceMut::new(b.bytes_mut()))
                .collect();
            let r = match off {
                None => uring_os::readv(fd(*f), &mut slices),
                Some(o) => uring_os::preadv(fd(*f), &mut slices, *o),
            };
            drop(slices);
            let r = ours(r, |n| n as i64);
            let mut all: Vec<u8> = bufs.iter().flat_map(|b| b.bytes().to_vec()).collect();
            all.truncate(*r.as_ref().unwrap_or(&0) as usize);
            (r, Bytes(all))
        }
        Op::Writev {
            fd: f,
            lens,
            off,
            seed,
        } => {
            let all = PageAligned::new(&data(*seed, lens.iter().sum()));
            let mut rest = all.bytes();
            let slices: Vec<IoSlice<'_>> = lens
                .iter()
                .map(|&l| {
                    let (a, b) = rest.split_at(l);
                    rest = b;
                    IoSlice::new(a)
                })
                .collect();
            let r = match off {
                None => uring_os::writev(fd(*f), &slices),
                Some(o) => uring_os::pwritev(fd(*f), &slices, *o),
            };
            (ours(r, |n| n as i64), none)
        }
        Op::Ftruncate { fd: f, len } => (ours(uring_os::ftruncate(fd(*f), *len), |_| 0), none),
        Op::Fallocate {
            fd: f,
            mode,
            off,
            len,
        } => (
            ours(uring_os::fallocate(fd(*f), *mode, *off, *len), |_| 0),
            none,
        ),
        Op::Fadvise {
            fd: f,
            off,
            len,
            advice,
        } => (
            ours(uring_os::fadvise(fd(*f), *off, *len, *advice), |_| 0),
            none,
        ),
        Op::Fsync { fd: f, data_only } => {
            let r = if *data_only {
                uring_os::fdatasync(fd(*f))
            } else {
                uring_os::fsync(fd(*f))
            };
            (ours(r, |_| 0), none)
        }
        Op::SyncFileRange {
            fd: f,
            off,
            len,
            flags,
        } => (
            ours(uring_os::sync_file_range(fd(*f), *off, *len, *flags), |_| 0),
            none,
        ),
        Op::Statx {
            dir,
            path,
            flags,
            mask,
        } => {
            let r = uring_os::statx(fd(*dir), p(*path), *flags, *mask);
            let fields = r.as_ref().map(statx_fields).unwrap_or_default();
            (ours(r, |_| 0), fields)
        }
        Op::Mkdir { path, mode } => (ours(uring_os::mkdirat(root, p(*path), *mode), |_| 0), none),
        Op::Unlink { path, flags } => (
            ours(uring_os::unlinkat(root, p(*path), *flags), |_| 0),
            none,
        ),
        Op::Rename { old, new, flags } => (
            ours(
                uring_os::renameat(root, p(*old), root, p(*new), *flags),
                |_| 0,
            ),
            none,
        ),
        Op::Symlink { target: t, path } => (
            ours(uring_os::symlinkat(os(target(*t)), root, p(*path)), |_| 0),
            none,
        ),
        Op::Link {
            old_dir,
            old,
            new,
            flags,
        } => (
            ours(
                uring_os::linkat(fd(*old_dir), p(*old), root, p(*new), *flags),
                |_| 0,
            ),
            none,
        ),
        Op::Socket { domain, ty, proto } => {
            (ours(uring_os::socket(*domain, *ty, *proto), new_fd), none)
        }
        Op::Bind { fd: f, v6 } => {
            let addr: SocketAddr = if *v6 {
                (Ipv6Addr::LOCALHOST, 0).into()
            } else {
                (Ipv4Addr::LOCALHOST, 0).into()
            };
            (ours(uring_os::bind(fd(*f), &addr), |_| 0), none)
        }
        Op::Listen { fd: f, backlog } => (ours(uring_os::listen(fd(*f), *backlog), |_| 0), none),
        Op::Connect { fd: f, to } => {
            let addr = target_addr(*to, side);
            (ours(uring_os::connect(fd(*f), &addr), |_| 0), none)
        }
        Op::Accept { fd: f, flags } => (
            ours(uring_os::accept4(fd(*f), *flags), |(fd, _)| new_fd(fd)),
            none,
        ),
        Op::Send {
            fd: f,
            len,
            flags,
            seed,
        } => {
            let w = write_data(*len, *seed);
            (
                ours(uring_os::send(fd(*f), w.slice(), *flags), |n| n as i64),
                none,
            )
        }
        Op::Recv {
            fd: f, len, flags, ..
        } => {
            let mut buf = ReadBuf::new(*len, Which::Uring);
            let r = ours(uring_os::recv(fd(*f), buf.slice(), *flags), |n| n as i64);
            let got = match r {
                Ok(n) if n as usize > buf.slice().len() => Bytes(buf.slice().to_vec()),
                _ => buf.got(&r),
            };
            (r, got)
        }
        Op::Shutdown { fd: f, how } => (ours(uring_os::shutdown(fd(*f), *how), |_| 0), none),
        Op::Splice {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len,
            flags,
        } => (
            ours(
                uring_os::splice(fd(*fd_in), *off_in, fd(*fd_out), *off_out, *len, *flags),
                |n| n as i64,
            ),
            none,
        ),
        Op::Poll { fd: f, events } => (ours(uring_os::poll(fd(*f), *events), i64::from), none),
        Op::SetTimeouts { fd: f, ms } => (set_timeouts(side.fd(*f), *ms), none),
        Op::Nop => (ours(uring_os::nop(), |_| 0), none),
    }
}

/// Runs `op` on `side` and records what it left: new fds join the side, closed ones leave,
/// TCP state settles (a FIN or a handshake lands on loopback a moment later).
pub fn run(op: &Op, side: &mut Side) -> Outcome {
    let (res, data) = match side.which {
        Which::Libc => run_libc(op, side),
        Which::Uring => run_uring(op, side),
    };
    match op {
        Op::Open { .. } | Op::Socket { .. } | Op::Accept { .. } => {
            if let Ok(fd) = res {
                side.slots.push(fd as RawFd);
                side.own(fd as RawFd);
            }
        }
        Op::Close { fd } => {
            let n = side.fd(*fd);
            side.owned.remove(&n);
        }
        Op::Connect {
            to: Target::AddressOf(l),
            ..
        } if res.is_ok() => {
            let l = side.fd(*l);
            for _ in 0..1000 {
                if ready(l, libc::POLLIN) != 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Op::Shutdown { fd, .. } if is_tcp(side.fd(*fd)) => {
            std::thread::sleep(Duration::from_millis(2));
        }
        _ => {}
    }
    let pos = op.positioned().map(|f| {
        // SAFETY: lseek with SEEK_CUR and 0 moves nothing.
        libc_res(unsafe { libc::lseek64(side.fd(f), 0, libc::SEEK_CUR) })
    });
    let pos = match op {
        Op::Open { .. } => res.ok().map(|fd| {
            // SAFETY: as above, on the new fd.
            libc_res(unsafe { libc::lseek64(fd as RawFd, 0, libc::SEEK_CUR) })
        }),
        _ => pos,
    };
    Outcome { res, data, pos }
}

// ---------------------------------------------------------------------------------------------
// A case
// ---------------------------------------------------------------------------------------------

/// What the run is doing now, for the message of a run that hangs.
pub static NOW: Mutex<String> = Mutex::new(String::new());

fn now(text: String) {
    *NOW.lock().unwrap_or_else(|e| e.into_inner()) = text;
}

/// Counts of what the cases did.
#[derive(Default)]
pub struct Tally {
    pub cases: usize,
    pub ops: usize,
    pub outcomes: BTreeMap<String, usize>,
}

/// Runs case `seed` under `base`: generated and run with libc, replayed through uring_os,
/// compared. `Err` describes the first difference.
pub fn run_case(seed: u64, base: &Path, config: &Config, tally: &mut Tally) -> Result<(), String> {
    let dir = base.join(format!("{seed:016x}"));
    let (lpath, upath) = (dir.join("libc"), dir.join("uring"));
    make_tree(&lpath);
    make_tree(&upath);
    let before = tree::open_fds();
    let mut rng = Rng::new(seed);
    let count = 1 + rng.below(config.max_ops);

    let mut side = Side::open(&lpath, Which::Libc);
    let mut ops = Vec::with_capacity(count);
    let mut want = Vec::with_capacity(count);
    for _ in 0..count {
        let op = generate(&mut rng, &side, config);
        let outcome = run(&op, &mut side);
        ops.push(op);
        want.push(outcome);
    }
    let libc_fds = tree::open_fds();
    side.close_all();

    let mut side = Side::open(&upath, Which::Uring);
    let describe = |i: usize, got: &dyn std::fmt::Debug| {
        let steps: Vec<String> = ops[..=i]
            .iter()
            .zip(&want)
            .enumerate()
            .map(|(k, (op, w))| format!("  {k:3}: {op:?}\n       libc: {w:?}"))
            .collect();
        format!(
            "case {seed:#018x}, op {i} of {count}: {:?}\n  libc gave     {:?}\n  uring_os gave {got:?}\nthe case so far:\n{}\nreplay: URING_OS_FUZZ_REPLAY={seed:#x}",
            ops[i],
            want[i],
            steps.join("\n")
        )
    };
    for (i, op) in ops.iter().enumerate() {
        now(format!("case {seed:#x} op {i}: {op:?}"));
        // A timed recv that uring_os left waiting ends with a byte from its peer: a
        // difference, not a hang.
        let watchdog = match op {
            Op::Recv {
                fd: Fd::Slot(s),
                timed: true,
                ..
            } => {
                let peer = side.fd(Fd::Slot(side.peers[s]));
                Some(crate::common::Watchdog::new(
                    Duration::from_secs(3),
                    &[(b(peer), &b"!"[..])],
                ))
            }
            _ => None,
        };
        let got = run(op, &mut side);
        if let Some(w) = watchdog {
            w.stop();
        }
        if got != want[i] {
            side.close_all();
            return Err(describe(i, &got));
        }
        tally.ops += 1;
        *tally.outcomes.entry(want[i].class(op)).or_default() += 1;
    }
    let uring_fds = tree::open_fds();
    side.close_all();
    now(format!("case {seed:#x}: comparing"));
    if libc_fds != uring_fds {
        return Err(format!(
            "case {seed:#018x}: open fds differ at the end\n  libc:     {libc_fds:?}\n  uring_os: {uring_fds:?}\nreplay: URING_OS_FUZZ_REPLAY={seed:#x}"
        ));
    }
    let after = tree::open_fds();
    if after != before {
        return Err(format!(
            "case {seed:#018x}: fds leaked: {before:?} before, {after:?} after\nreplay: URING_OS_FUZZ_REPLAY={seed:#x}"
        ));
    }
    if let Some(d) = tree::diff(&tree::snapshot(&lpath), &tree::snapshot(&upath)) {
        return Err(format!(
            "case {seed:#018x}: the trees differ\n{d}\nops: {ops:#?}\nreplay: URING_OS_FUZZ_REPLAY={seed:#x}"
        ));
    }
    tree::remove(&dir);
    tally.cases += 1;
    Ok(())
}
