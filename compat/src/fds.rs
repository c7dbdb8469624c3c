//! What the shim knows about each fd number, learnt with one fstat the first time the number
//! is used and forgotten whenever the shim sees the number closed or replaced (close, dup2,
//! fclose, close_range, ...): the file's kind, whether this process opened it since its last
//! fork (so no other process shares its file offset), and for a socket, whether it is IPv4/IPv6
//! and whether it has a send or receive timeout.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys;

/// Fd numbers below this are cached; larger ones are looked at on every call.
const MAX_FDS: usize = 1 << 16;

const KIND_MASK: u32 = 0xf;
const PRIVATE: u32 = 1 << 4;
const INET: u32 = 1 << 5;
const TIMEOUT: u32 = 1 << 6;
const EPOCH_SHIFT: u32 = 8;

static ENTRIES: [AtomicU32; MAX_FDS] = [const { AtomicU32::new(0) }; MAX_FDS];

/// Bumped at every fork, vfork and spawn: fds opened before are shared from then on. Kept in
/// the 24 bits above the flags.
static EPOCH: AtomicU32 = AtomicU32::new(1);

/// The kind of file behind an fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file or a directory: it has a file offset the kernel locks for read(2).
    File = 1,
    /// A block device.
    Block = 2,
    /// A pipe or FIFO.
    Pipe = 3,
    /// A socket.
    Socket = 4,
    /// A character device, or an anonymous inode (eventfd, signalfd, timerfd, epoll, ...).
    Device = 5,
}

impl Kind {
    fn from_bits(bits: u32) -> Option<Kind> {
        Some(match bits & KIND_MASK {
            1 => Kind::File,
            2 => Kind::Block,
            3 => Kind::Pipe,
            4 => Kind::Socket,
            5 => Kind::Device,
            _ => return None,
        })
    }

    /// The kind of a file of mode `mode`.
    pub(crate) fn of_mode(mode: libc::mode_t) -> Kind {
        match mode & libc::S_IFMT {
            libc::S_IFREG | libc::S_IFDIR => Kind::File,
            libc::S_IFBLK => Kind::Block,
            libc::S_IFIFO => Kind::Pipe,
            libc::S_IFSOCK => Kind::Socket,
            _ => Kind::Device,
        }
    }
}

/// What is known about an fd.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Info {
    pub(crate) kind: Kind,
    /// Opened by this process since its last fork: no other process shares its offset.
    pub(crate) private: bool,
    /// An IPv4 or IPv6 socket.
    pub(crate) inet: bool,
    /// A socket with `SO_RCVTIMEO` or `SO_SNDTIMEO` set.
    pub(crate) timeout: bool,
}

fn epoch_bits() -> u32 {
    (EPOCH.load(Ordering::Relaxed) & 0xff_ffff) << EPOCH_SHIFT
}

fn decode(entry: u32) -> Option<Info> {
    let kind = Kind::from_bits(entry)?;
    Some(Info {
        kind,
        private: entry & PRIVATE != 0 && entry & !0xff == epoch_bits(),
        inet: entry & INET != 0,
        timeout: entry & TIMEOUT != 0,
    })
}

/// What is known about `fd`, looking once; `None` for a closed or negative fd.
#[inline]
pub(crate) fn info(fd: i32) -> Option<Info> {
    let slot = ENTRIES.get(usize::try_from(fd).ok()?);
    if let Some(info) = slot.and_then(|slot| decode(slot.load(Ordering::Relaxed))) {
        return Some(info);
    }
    look(fd, slot)
}

#[cold]
fn look(fd: i32, slot: Option<&AtomicU32>) -> Option<Info> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if sys::fstat(fd, &mut st) != 0 {
        return None;
    }
    let kind = Kind::of_mode(st.st_mode);
    let mut bits = kind as u32;
    if kind == Kind::Socket {
        if matches!(
            sys::sockopt_int(fd, libc::SO_DOMAIN),
            Some(libc::AF_INET | libc::AF_INET6)
        ) {
            bits |= INET;
        }
        if sys::socket_has_timeout(fd) {
            bits |= TIMEOUT;
        }
    }
    if let Some(slot) = slot {
        let old = slot.load(Ordering::Relaxed);
        if old & KIND_MASK == 0 {
            // Keeps the private mark of an fd this process opened; loses the race to a close.
            let new = bits | (old & !KIND_MASK);
            let _ = slot.compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed);
            return decode(new);
        }
    }
    decode(bits | epoch_bits())
}

/// Records that this process just opened `fd` (its kind is looked at on first use).
#[inline]
pub(crate) fn opened(fd: i32) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|i| ENTRIES.get(i)) {
        slot.store(PRIVATE | epoch_bits(), Ordering::Relaxed);
    }
}

/// Forgets what was known about `fd`, which was closed or replaced.
#[inline]
pub(crate) fn forget(fd: i32) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|i| ENTRIES.get(i)) {
        slot.store(0, Ordering::Relaxed);
    }
}

/// Records that `new` now refers to `old`'s file (dup2, dup3): what is known of `old`,
/// including whether this process alone holds it, holds for `new`.
pub(crate) fn duplicated(old: i32, new: i32) {
    let slot = |fd: i32| usize::try_from(fd).ok().and_then(|i| ENTRIES.get(i));
    if let Some(new_slot) = slot(new) {
        let entry = slot(old).map_or(0, |s| s.load(Ordering::Relaxed));
        new_slot.store(entry, Ordering::Relaxed);
    }
}

/// Forgets fds `first..=last`.
pub(crate) fn forget_range(first: u32, last: u32) {
    let first = (first as usize).min(MAX_FDS);
    let last = (last as usize).saturating_add(1).min(MAX_FDS);
    for slot in &ENTRIES[first..last.max(first)] {
        slot.store(0, Ordering::Relaxed);
    }
}

/// From now on no fd opened so far is private: another process (a fork child, a spawned
/// program) may share its offset.
pub(crate) fn new_epoch() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}
