//! What decides, before anything else, whether a call may go to uring_os: the process's state
//! (loaded, switched off, credentials changed, ...), the calling thread's state (inside the
//! shim already, inside a signal handler, a vfork child, exiting) and the selected calls.
//! Also the counters behind the stats line.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::sys;

/// Why a call went to the real libc function instead of uring_os.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Why {
    /// The library is still loading (its constructor has not finished).
    Loading,
    /// `URING_OS_PRELOAD=off`.
    Off,
    /// Not in `URING_OS_PRELOAD_OPS`.
    NotSelected,
    /// An operation the kernel always hands to a worker thread, left to libc by default.
    Punted,
    /// Made from inside the shim (uring_os's own fallback, or libc called by the shim).
    Nested,
    /// Made from inside a signal handler.
    SignalHandler,
    /// Made in a vfork child, which shares its parent's memory and ring.
    VforkChild,
    /// Made while the thread's thread-local storage is being torn down.
    ThreadExit,
    /// The process called `_Fork`, which runs no fork handlers.
    BareFork,
    /// The process changed its namespaces or unshared its fs_struct (unshare, setns), which
    /// the ring's kernel workers keep.
    Namespaces,
    /// The process installed a seccomp filter, which ring operations would bypass.
    Seccomp,
    /// The thread may be cancelled (`pthread_cancel` was used), and ring waits are not
    /// cancellation points.
    Cancellation,
    /// A previous call panicked inside the shim.
    Panicked,
    /// A negative or closed fd: libc gives the error.
    BadFd,
    /// A character device, or an fd of another kind (eventfd, signalfd, epoll, ...).
    Device,
    /// A file offset shared with other threads or processes, which io_uring would update
    /// without the kernel's file position lock.
    SharedOffset,
    /// A positioned call on a pipe or socket: libc gives ESPIPE.
    NotSeekable,
    /// A socket with `SO_RCVTIMEO`/`SO_SNDTIMEO`, which ring operations ignore.
    SocketTimeout,
    /// Not a socket, or a socket address the ring call cannot carry (not IPv4/IPv6).
    Address,
    /// Arguments the ring call cannot take as they are (null or unreadable pointers, sizes,
    /// flags, a path longer than PATH_MAX): libc gives the answer.
    Arguments,
    /// A path through `/proc/thread-self`, which a kernel worker would resolve to itself.
    ThreadSelf,
    /// A FIFO or device open that must block as open(2) does.
    BlockingOpen,
    /// The ring's answer had to be confirmed by libc (close of an io_uring fd; a connect
    /// restarted after a signal).
    Retry,
    /// uring_os has no call for it (recvmsg, sendto with an address, poll of several fds,
    /// ...).
    NoRingCall,
    /// uring_os failed without an errno.
    Internal,
}

/// Every reason, in the stats line's order.
pub(crate) const WHYS: [Why; 25] = [
    Why::Loading,
    Why::Off,
    Why::NotSelected,
    Why::Punted,
    Why::Nested,
    Why::SignalHandler,
    Why::VforkChild,
    Why::ThreadExit,
    Why::BareFork,
    Why::Namespaces,
    Why::Seccomp,
    Why::Cancellation,
    Why::Panicked,
    Why::BadFd,
    Why::Device,
    Why::SharedOffset,
    Why::NotSeekable,
    Why::SocketTimeout,
    Why::Address,
    Why::Arguments,
    Why::ThreadSelf,
    Why::BlockingOpen,
    Why::Retry,
    Why::NoRingCall,
    Why::Internal,
];

impl Why {
    /// The short name in the stats line.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Why::Loading => "before load",
            Why::Off => "URING_OS_PRELOAD=off",
            Why::NotSelected => "not in URING_OS_PRELOAD_OPS",
            Why::Punted => "punted op (default set)",
            Why::Nested => "inside the shim",
            Why::SignalHandler => "signal handler",
            Why::VforkChild => "vfork child",
            Why::ThreadExit => "thread exit",
            Why::BareFork => "after _Fork",
            Why::Namespaces => "unshare or setns",
            Why::Seccomp => "seccomp filter",
            Why::Cancellation => "pthread_cancel used",
            Why::Panicked => "internal panic",
            Why::BadFd => "bad fd",
            Why::Device => "device or special fd",
            Why::SharedOffset => "shared file offset",
            Why::NotSeekable => "not seekable",
            Why::SocketTimeout => "socket timeout",
            Why::Address => "address",
            Why::Arguments => "arguments",
            Why::ThreadSelf => "/proc/thread-self",
            Why::BlockingOpen => "blocking open",
            Why::Retry => "confirmed by libc",
            Why::NoRingCall => "no ring call",
            Why::Internal => "internal error",
        }
    }
}

/// Process-wide state bits in [`PROCESS`]; the shim routes only while it is exactly `READY`.
pub(crate) const READY: u32 = 1;
const OFF: u32 = 1 << 1;
const NAMESPACES: u32 = 1 << 2;
const SECCOMP: u32 = 1 << 3;
const BARE_FORK: u32 = 1 << 4;
const PANICKED: u32 = 1 << 5;
const CANCELLATION: u32 = 1 << 6;

static PROCESS: AtomicU32 = AtomicU32::new(0);

/// Calls (by group bit) that go to uring_os.
static SELECTED: AtomicU64 = AtomicU64::new(0);
/// Whether punted operations were asked for (`URING_OS_PRELOAD_OPS` set).
static PUNTED_SELECTED: AtomicBool = AtomicBool::new(false);

/// A process-wide event that sends every later call to libc.
#[derive(Clone, Copy)]
pub(crate) enum Event {
    Off,
    Namespaces,
    Seccomp,
    BareFork,
    Panicked,
    Cancellation,
}

/// Records a process-wide event.
pub(crate) fn mark(event: Event) {
    let bit = match event {
        Event::Off => OFF,
        Event::Namespaces => NAMESPACES,
        Event::Seccomp => SECCOMP,
        Event::BareFork => BARE_FORK,
        Event::Panicked => PANICKED,
        Event::Cancellation => CANCELLATION,
    };
    PROCESS.fetch_or(bit, Ordering::Relaxed);
}

/// Marks the library loaded, with the calls it routes.
pub(crate) fn set_ready(selected: u64, punted_selected: bool) {
    SELECTED.store(selected, Ordering::Relaxed);
    PUNTED_SELECTED.store(punted_selected, Ordering::Relaxed);
    PROCESS.fetch_or(READY, Ordering::Release);
}

/// Why the process routes nothing (the first reason that applies).
#[cold]
fn process_why(state: u32) -> Why {
    if state & READY == 0 {
        Why::Loading
    } else if state & OFF != 0 {
        Why::Off
    } else if state & PANICKED != 0 {
        Why::Panicked
    } else if state & SECCOMP != 0 {
        Why::Seccomp
    } else if state & NAMESPACES != 0 {
        Why::Namespaces
    } else if state & BARE_FORK != 0 {
        Why::BareFork
    } else {
        Why::Cancellation
    }
}

/// Whether operations the kernel always punts to a worker were selected explicitly.
#[inline]
pub(crate) fn punted_selected() -> bool {
    PUNTED_SELECTED.load(Ordering::Relaxed)
}

/// Signal handlers nested deeper than this are all treated as "inside a handler".
const MAX_FRAMES: usize = 8;

/// One thread's state: const-initialised with no destructor, so it is usable at any time,
/// also during thread-local teardown and from signal handlers.
pub(crate) struct Thread {
    /// Inside the shim's own work: nested libc calls go to libc.
    pub(crate) busy: Cell<bool>,
    /// Signal handlers (wrapped by the shim) running on this thread.
    pub(crate) depth: Cell<usize>,
    /// The stack address of each running handler's frame, to notice a handler left by
    /// longjmp.
    pub(crate) frames: [Cell<usize>; MAX_FRAMES],
    /// Handlers without `SA_RESTART` that have run on this thread (a wrapping count).
    pub(crate) interrupting: Cell<u32>,
    /// Handlers with `SA_RESTART` that have run on this thread (a wrapping count).
    pub(crate) restarting: Cell<u32>,
    /// The thread id that called vfork and has not made a call since; 0 when none.
    pub(crate) vfork_tid: Cell<i32>,
    /// Thread-local teardown has begun.
    pub(crate) exiting: Cell<bool>,
    /// The exit sentinel is registered.
    armed: Cell<bool>,
    /// This thread's counter stripe, plus one (0: not assigned yet).
    stripe: Cell<usize>,
}

thread_local! {
    pub(crate) static THREAD: Thread = const {
        Thread {
            busy: Cell::new(false),
            depth: Cell::new(0),
            frames: [const { Cell::new(0) }; MAX_FRAMES],
            interrupting: Cell::new(0),
            restarting: Cell::new(0),
            vfork_tid: Cell::new(0),
            exiting: Cell::new(false),
            armed: Cell::new(false),
            stripe: Cell::new(0),
        }
    };
}

/// Marks thread-local teardown when dropped. Registered after uring_os's own thread state
/// (see [`Entered`]), so it is torn down before it: thread-local destructors run in reverse
/// order of registration.
struct ExitSentinel;

impl Drop for ExitSentinel {
    fn drop(&mut self) {
        let _ = THREAD.try_with(|t| t.exiting.set(true));
    }
}

thread_local! {
    static EXIT_SENTINEL: ExitSentinel = const { ExitSentinel };
}

/// A call admitted to uring_os: the thread is marked busy until it drops, and the caller's
/// `errno` is kept to be restored on success (libc's calls leave it alone then).
pub(crate) struct Entered {
    pub(crate) saved_errno: i32,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = THREAD.try_with(|t| {
            t.busy.set(false);
            if !t.armed.get() {
                // uring_os registered its thread state during this call; registering the
                // sentinel now puts its teardown first.
                t.armed.set(true);
                let _ = EXIT_SENTINEL.try_with(|_| ());
            }
        });
    }
}

/// Admits a call of group `group` to uring_os, or says why it goes to libc.
#[inline]
pub(crate) fn enter(group: u64) -> Result<Entered, Why> {
    let state = PROCESS.load(Ordering::Acquire);
    if state != READY {
        return Err(process_why(state));
    }
    THREAD
        .try_with(|t| {
            if t.depth.get() > 0 && in_handler(t) {
                return Err(Why::SignalHandler);
            }
            if t.busy.get() {
                return Err(Why::Nested);
            }
            if t.vfork_tid.get() != 0 {
                vfork_check(t)?;
            }
            if t.exiting.get() {
                return Err(Why::ThreadExit);
            }
            if SELECTED.load(Ordering::Relaxed) & group == 0 {
                return Err(not_selected());
            }
            t.busy.set(true);
            Ok(Entered {
                saved_errno: sys::errno(),
            })
        })
        .unwrap_or(Err(Why::ThreadExit))
}

#[cold]
fn not_selected() -> Why {
    if punted_selected() {
        Why::NotSelected
    } else {
        Why::Punted
    }
}

/// After vfork the child runs on its parent's memory (and thread-local storage) until it
/// execs or exits: only the thread that called vfork, once it runs again, is the parent.
#[cold]
fn vfork_check(t: &Thread) -> Result<(), Why> {
    if sys::gettid() == t.vfork_tid.get() {
        t.vfork_tid.set(0);
        Ok(())
    } else {
        Err(Why::VforkChild)
    }
}

/// Whether the thread is still inside a signal handler. A handler left with longjmp never
/// returns through the wrapper, so a call made from a stack frame above the handler's (the
/// stack grows down) has left it. A handler on an alternate stack is kept as running, which
/// is the safe side.
#[cold]
fn in_handler(t: &Thread) -> bool {
    let sp = stack_address();
    let mut depth = t.depth.get();
    while depth > 0 && depth <= MAX_FRAMES && sp > t.frames[depth - 1].get() {
        depth -= 1;
    }
    t.depth.set(depth);
    depth > 0
}

/// An address in the caller's stack frame.
#[inline(always)]
pub(crate) fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&raw const marker) as usize
}

/// How many handlers with and without `SA_RESTART` have run on this thread so far.
#[inline]
pub(crate) fn handlers_seen() -> (u32, u32) {
    THREAD
        .try_with(|t| (t.interrupting.get(), t.restarting.get()))
        .unwrap_or((0, 0))
}

/// Counters, striped so that threads rarely share a cache line.
const STRIPES: usize = 16;

#[repr(align(64))]
struct Stripe {
    routed: AtomicU64,
    libc: [AtomicU64; WHYS.len()],
}

static COUNTS: [Stripe; STRIPES] = [const {
    Stripe {
        routed: AtomicU64::new(0),
        libc: [const { AtomicU64::new(0) }; WHYS.len()],
    }
}; STRIPES];

static NEXT_STRIPE: AtomicU32 = AtomicU32::new(0);

#[inline]
fn stripe() -> &'static Stripe {
    let index = THREAD
        .try_with(|t| {
            let s = t.stripe.get();
            if s != 0 {
                return s - 1;
            }
            let s = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) as usize % STRIPES;
            t.stripe.set(s + 1);
            s
        })
        .unwrap_or(0);
    &COUNTS[index]
}

/// Counts a call that went to uring_os.
#[inline]
pub(crate) fn count_routed() {
    stripe().routed.fetch_add(1, Ordering::Relaxed);
}

/// Counts a call that went to libc, and why.
#[inline]
pub(crate) fn count_libc(why: Why) {
    stripe().libc[why as usize].fetch_add(1, Ordering::Relaxed);
}

/// The totals: calls routed to uring_os, and calls sent to libc per reason.
pub(crate) fn totals() -> (u64, [u64; WHYS.len()]) {
    let mut routed = 0;
    let mut libc = [0u64; WHYS.len()];
    for stripe in &COUNTS {
        routed += stripe.routed.load(Ordering::Relaxed);
        for (total, count) in libc.iter_mut().zip(&stripe.libc) {
            *total += count.load(Ordering::Relaxed);
        }
    }
    (routed, libc)
}

/// Zeroes the counters (in a fork child, which reports its own calls).
pub(crate) fn reset_counts() {
    for stripe in &COUNTS {
        stripe.routed.store(0, Ordering::Relaxed);
        for count in &stripe.libc {
            count.store(0, Ordering::Relaxed);
        }
    }
}
