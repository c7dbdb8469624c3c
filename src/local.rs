//! Layer 4: the calling thread's ring and running one operation on it.
//!
//! Each thread gets its own ring on its first call ([`Local`] in a `thread_local!`), created
//! with the best flags the kernel accepts and occupying no fd number. A blocking call fills one
//! entry, submits it and waits for its completion in one `io_uring_enter`, and returns only
//! once the kernel is done with the operation's memory, also when a signal interrupts the wait
//! (then the operation is cancelled and reaped first, unless std would retry it anyway).
//! When the ring cannot serve (io_uring refused, opcode missing, ring broken) the same filled
//! entry runs as the direct syscall.

use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use once_cell::sync::OnceCell;

use crate::config::{Backend, Dispatch, Fallback, FallbackReason, Status, config};
use crate::op::Op;
use crate::ring::{Cqe, Probe, Ring, SetupError, Sqe, emulate};
use crate::stats::Counters;
use crate::sys::syscall as sc;
use crate::sys::*;

/// Fd numbers up to this are cached as seekable; larger ones are checked every time.
const MAX_CACHED_FD: usize = 1 << 16;

/// `user_data` of the one blocking operation a thread can have in flight.
pub(crate) const BLOCKING: u64 = u64::MAX;
/// `user_data` of internal entries whose completions are ignored (cancels, removals).
pub(crate) const IGNORED: u64 = u64::MAX - 1;
/// `user_data` of the linked timeout of the blocking operation.
pub(crate) const BLOCKING_TIMEOUT: u64 = u64::MAX - 2;

/// Bumped in every fork child, so a thread notices that its ring belongs to the parent.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// After a wait cut short by a signal: whether the syscall would have failed with EINTR,
/// which happens only when a handler ran that was installed without `SA_RESTART` (poll(2)
/// fails after any handler). A stop and continue, a ptrace attach or an `SA_RESTART`
/// handler restart the syscall, so the call keeps waiting. Which signal arrived is unknown
/// here, so any installed handler that would interrupt counts. Runs only after a signal.
#[cold]
fn signal_interrupts(poll_like: bool) -> bool {
    // Signals 32 up to SIGRTMIN belong to libc (thread cancellation, setxid broadcasts),
    // whose handlers never interrupt a call of the application's.
    let libc_internal = 32..sc::sigrtmin();
    for signal in 1..=64 {
        if libc_internal.contains(&signal)
            || matches!(
                signal,
                libc::SIGKILL
                    | libc::SIGSTOP
                    | libc::SIGSEGV
                    | libc::SIGBUS
                    | libc::SIGILL
                    | libc::SIGFPE
            )
        {
            continue;
        }
        let Some(old) = sc::sigaction_of(signal) else {
            continue;
        };
        let handled = old.handler != libc::SIG_DFL && old.handler != libc::SIG_IGN;
        if handled && (poll_like || old.flags & libc::SA_RESTART as u64 == 0) {
            return true;
        }
    }
    false
}

/// Whether `fd` is a pipe, socket or other stream without `O_NONBLOCK`.
#[cold]
fn blocking_stream(fd: RawFd) -> bool {
    fd_flags(fd).is_some_and(|flags| flags & libc::O_NONBLOCK == 0) && !is_file_or_block_device(fd)
}

/// Whether `fd` is a regular file or a block device (where O_NONBLOCK changes nothing).
fn is_file_or_block_device(fd: RawFd) -> bool {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one stat to a valid pointer.
    if unsafe { sc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return true;
    }
    // SAFETY: fstat succeeded, so the struct is filled.
    let mode = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    mode == libc::S_IFREG || mode == libc::S_IFBLK
}

/// Whether `fd` has `O_NONBLOCK` and is not a regular file or block device (for which the
/// flag changes nothing): the syscall would then fail with EAGAIN rather than wait.
#[cold]
fn nonblocking_stream(fd: RawFd) -> bool {
    fd_flags(fd).is_some_and(|flags| flags & libc::O_NONBLOCK != 0) && !is_file_or_block_device(fd)
}

/// The fd's status flags (F_GETFL), or `None` for a bad fd.
fn fd_flags(fd: RawFd) -> Option<i32> {
    // SAFETY: F_GETFL on any fd number is harmless.
    let flags = unsafe { sc::fcntl(fd, libc::F_GETFL, 0) };
    (flags >= 0).then_some(flags as i32)
}

/// Whether an `io_uring_enter` error only means "try again" (a signal, a full CQ or
/// memory pressure).
pub(crate) fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)
    )
}

/// The ring refused to go on while operations may be in flight (e.g. EBADR after the kernel
/// dropped a completion, EOWNERDEAD from a dead SQPOLL thread). Returning or unwinding would
/// free memory the kernel may still write, so the process stops, saying why.
#[cold]
pub(crate) fn ring_failed(e: &io::Error) -> ! {
    let message =
        format!("uring_os: io_uring_enter failed with operations in flight: {e}; aborting\n");
    sc::abort_with(message.as_bytes())
}

/// The current fork generation: changes in every fork child.
#[inline]
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

unsafe extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

fn register_fork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The handler only bumps an atomic, which is async-signal-safe as a fork child
        // handler must be.
        sc::at_fork_in_child(after_fork_in_child);
    });
}

/// What the process learnt from its first ring: the probe, or why io_uring cannot be used.
struct ProcessInfo {
    probe: Probe,
}

static PROCESS: OnceCell<Result<ProcessInfo, FallbackReason>> = OnceCell::new();

/// The last per-thread setup failure (fd or memory limits), for [`status()`].
static LAST_FAILURE: Mutex<Option<FallbackReason>> = Mutex::new(None);

/// A thread's state: no ring yet, its ring, or the reason it runs syscalls.
#[allow(clippy::large_enum_variant)] // one per thread, read on every call: no indirection
pub(crate) enum Local {
    Uninit,
    /// No ring yet: this many single calls ran as direct syscalls (see
    /// [`Config::warmup_calls`](crate::Config::warmup_calls)).
    Warmup(u32),
    Ring(Driver),
    Syscall(FallbackReason),
}

thread_local! {
    pub(crate) static LOCAL: RefCell<Local> = const { RefCell::new(Local::Uninit) };
}

/// A thread's ring and what goes with it.
pub(crate) struct Driver {
    /// Given up to the reaper, not dropped, when the driver drops.
    pub(crate) ring: std::mem::ManuallyDrop<Ring>,
    probe: Probe,
    generation: u64,
    pub(crate) counters: &'static Counters,
    /// The blocking operation's result when another wait reaped it.
    blocking_result: Option<i32>,
    /// Bitmap of fd numbers seen seekable (see `seekable`).
    seekable_fds: Vec<u64>,
    /// Bitmap of fd numbers seen without `O_DIRECT` (see `buffered`).
    buffered_fds: Vec<u64>,
    /// Completions of batch operations that arrived while someone else waited.
    pub(crate) completions: crate::batch::Completions,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Only a thread's exit (or a fork child replacing its parent's ring) drops a driver;
        // every operation has been reaped by then. Unmapping is left to the reaper thread so
        // the exiting thread does not wait for it.
        // SAFETY: the ring is taken once, here, and the driver is not used afterwards.
        let ring = unsafe { std::mem::ManuallyDrop::take(&mut self.ring) };
        if let Some(remains) = ring.into_remains() {
            release_later(remains);
        }
    }
}

/// Hands ring memory to a background thread to unmap; unmaps here if there is none.
fn release_later(remains: crate::ring::Remains) {
    type Reaper = Option<(libc::pid_t, std::sync::mpsc::Sender<crate::ring::Remains>)>;
    static REAPER: Mutex<Reaper> = Mutex::new(None);
    // Never block a thread's exit on the lock; unmapping here is only slower.
    let Ok(mut reaper) = REAPER.try_lock() else {
        return;
    };
    let pid = sc::getpid();
    if reaper.as_ref().is_some_and(|(owner, _)| *owner != pid) {
        // A fork child inherited the sender but not the thread behind it.
        std::mem::forget(reaper.take());
    }
    if reaper.is_none() {
        let (tx, rx) = std::sync::mpsc::channel::<crate::ring::Remains>();
        let spawned = std::thread::Builder::new()
            .name("uring_os-reaper".into())
            .spawn(move || rx.into_iter().for_each(drop));
        if spawned.is_ok() {
            *reaper = Some((pid, tx));
        }
    }
    if let Some((_, tx)) = reaper.as_ref() {
        // A send fails only if the reaper died; then the remains drop (unmap) right here.
        let _ = tx.send(remains);
    }
}

impl Local {
    /// Counts a single call of a thread without a ring yet, and says whether it still runs
    /// as a direct syscall: a thread that makes one call and exits never pays for a ring.
    /// A call under a timeout needs the ring, and gets it at once.
    #[inline]
    fn warming_up(&mut self) -> bool {
        let made = match self {
            Local::Uninit => 0,
            Local::Warmup(made) => *made,
            _ => return false,
        };
        if made < config().warmup_calls && crate::timeout::current_deadline().is_none() {
            *self = Local::Warmup(made + 1);
            true
        } else {
            false
        }
    }

    /// The thread's driver, creating the ring on first use and replacing a ring inherited
    /// across fork; `None` when this thread runs syscalls.
    #[inline]
    pub(crate) fn driver(&mut self) -> Option<&mut Driver> {
        let generation = FORK_GENERATION.load(Ordering::Relaxed);
        let current = match self {
            Local::Ring(driver) => driver.generation == generation,
            Local::Syscall(_) => true,
            Local::Uninit | Local::Warmup(_) => false,
        };
        if !current {
            self.init(generation);
        }
        match self {
            Local::Ring(driver) => Some(driver),
            _ => None,
        }
    }

    #[cold]
    fn init(&mut self, generation: u64) {
        // A ring inherited from the parent is dropped here: its Drop sees the other pid and
        // touches nothing of the parent's.
        *self = Local::Uninit;
        let config = config();
        if !config.enabled {
            *self = Local::Syscall(FallbackReason::Disabled);
            return;
        }
        if let Some(Err(reason)) = PROCESS.get() {
            *self = Local::Syscall(reason.clone());
            return;
        }
        register_fork_handler();
        let mut builder = Ring::builder().hide_fd(true);
        if let Some(idle) = config.sqpoll {
            builder = builder.sqpoll(idle);
        }
        match builder.build(config.entries) {
            Ok(mut ring) => {
                if let Some(mut workers) = config.iowq_max_workers {
                    // Best effort: a kernel without the cap (before 5.15) runs uncapped.
                    let _ = ring.register_iowq_max_workers(&mut workers);
                }
                let info = PROCESS.get_or_init(|| {
                    Ok(ProcessInfo {
                        probe: ring.probe().unwrap_or_else(|_| Probe::empty()),
                    })
                });
                *self = match info {
                    Ok(info) => Local::Ring(Driver {
                        ring: std::mem::ManuallyDrop::new(ring),
                        probe: info.probe.clone(),
                        generation,
                        counters: Counters::current(),
                        blocking_result: None,
                        seekable_fds: Vec::new(),
                        buffered_fds: Vec::new(),
                        completions: Default::default(),
                    }),
                    Err(reason) => Local::Syscall(reason.clone()),
                };
            }
            Err(e) => {
                let (reason, permanent) = match &e {
                    SetupError::PermissionDenied { cause } => {
                        (FallbackReason::PermissionDenied(*cause), true)
                    }
                    SetupError::KernelTooOld => (FallbackReason::KernelTooOld, true),
                    other => (
                        FallbackReason::SetupFailed {
                            errno: other.raw_os_error(),
                            message: other.to_string(),
                        },
                        matches!(other, SetupError::InvalidFlags { .. }),
                    ),
                };
                if permanent {
                    let _ = PROCESS.set(Err(reason.clone()));
                } else if let Ok(mut last) = LAST_FAILURE.lock() {
                    *last = Some(reason.clone());
                }
                *self = Local::Syscall(reason);
            }
        }
    }
}

/// Runs `f` on this thread's driver, or returns `None` when there is none (syscall mode, the
/// thread-local already torn down, or a re-entrant call from a signal handler).
#[inline]
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| {
            let mut local = cell.try_borrow_mut().ok()?;
            local.driver().map(f)
        })
        .ok()
        .flatten()
}

/// Runs one operation: on the ring when it can, else as the direct syscall.
#[inline]
pub(crate) fn run<O: Op>(mut op: O) -> io::Result<O::Output> {
    let (res, on_ring) = run_raw(&mut op)?;
    let mut res = O::map_result(res);
    if on_ring && res > 0 {
        // io_uring writes what fits into a pipe or socket at once; write(2) and send(2) on
        // a blocking one wait to write everything.
        if let Some(fd) = op.nonblock_fd() {
            if op.rest(res as usize).is_some() && blocking_stream(fd) {
                res = write_rest(&op, res);
            } else if O::VECTORED_WRITE && op.short(res) && blocking_stream(fd) {
                res = op.write_rest_direct(res).unwrap_or(res);
            }
        }
    }
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(op.output(res))
    }
}

/// Writes what follows the first `done` bytes, part by part, until all is written or a part
/// fails (a signal, a closed peer): the total, as write(2) returns it.
#[cold]
fn write_rest<O: Op>(op: &O, mut done: i32) -> i32 {
    while let Some(mut part) = op.rest(done as usize) {
        match run_raw(&mut part) {
            Ok((res, _)) if O::map_result(res) > 0 => done += res,
            _ => break,
        }
    }
    done
}

/// Runs one operation and returns its raw result and whether it went through the ring.
#[inline]
fn run_raw<O: Op>(op: &mut O) -> io::Result<(i32, bool)> {
    let path =
        if auto_direct() || O::NONBLOCK_FIRST && op.nonblock_fd().is_some_and(nonblocking_stream) {
            Path::Direct
        } else {
            LOCAL
                .try_with(|cell| {
                    let Ok(mut local) = cell.try_borrow_mut() else {
                        return Path::Fallback;
                    };
                    // The common case first: this thread's own ring, no fork since.
                    if let Local::Ring(driver) = &mut *local {
                        if driver.generation == fork_generation() {
                            return match driver.run(op) {
                                Some(res) => Path::Ring(res),
                                None => Path::Fallback,
                            };
                        }
                    }
                    if local.warming_up() {
                        return Path::Direct;
                    }
                    match local.driver().and_then(|driver| driver.run(op)) {
                        Some(res) => Path::Ring(res),
                        None => Path::Fallback,
                    }
                })
                .unwrap_or(Path::Fallback)
        };
    let res = match path {
        Path::Ring(res) => res,
        Path::Direct => direct(op),
        Path::Fallback => fallback(op)?,
    };
    if !matches!(path, Path::Ring(_)) {
        // The ring path told its driver already.
        if let Some(fd) = op.fd_changed(res) {
            forget_fd(fd);
        }
    }
    Ok((res, matches!(path, Path::Ring(_))))
}

/// Where a single call went.
enum Path {
    /// Through the ring, with this raw result.
    Ring(i32),
    /// To the direct syscall by choice (warm-up, `Dispatch::Auto`).
    Direct,
    /// To the direct syscall because the ring cannot serve it.
    Fallback,
}

/// Whether `Dispatch::Auto` sends a single blocking call to the direct syscall: always,
/// since one call through a ring costs a round trip the syscall does not, unless a timeout
/// is in force, which only the ring can give.
#[inline]
fn auto_direct() -> bool {
    config().dispatch == Dispatch::Auto && crate::timeout::current_deadline().is_none()
}

/// Tells this thread's driver, if it has one, to forget what it cached about fd number `fd`
/// (opened, accepted or closed by a call that did not go through its ring).
#[cold]
pub(crate) fn forget_fd(fd: RawFd) {
    let _ = LOCAL.try_with(|cell| {
        if let Ok(mut local) = cell.try_borrow_mut() {
            if let Local::Ring(driver) = &mut *local {
                driver.forget_fd(fd);
            }
        }
    });
}

/// Whether `Dispatch::Auto` is in force.
#[inline]
pub(crate) fn auto_dispatch() -> bool {
    config().dispatch == Dispatch::Auto
}

/// Whether `Dispatch::Auto` runs a batch operation as its direct syscall: for opcodes the
/// kernel always hands to an io-wq worker, where a batch through the ring is slower than
/// the syscalls one after the other.
#[inline]
pub(crate) fn auto_direct_in_batch(punted: bool) -> bool {
    punted && config().dispatch == Dispatch::Auto
}

/// Runs an operation as its direct syscall because the ring cannot serve it, unless the
/// configuration asks for an error instead.
#[cold]
pub(crate) fn fallback<O: Op>(op: &mut O) -> io::Result<i32> {
    if config().fallback == Fallback::Error {
        return Err(fallback_error());
    }
    Ok(direct(op))
}

/// Runs an operation as its direct syscall, retrying EINTR where std does.
#[inline]
pub(crate) fn direct<O: Op>(op: &mut O) -> i32 {
    let mut sqe = Sqe(IoUringSqe::default());
    op.prep(&mut sqe);
    Counters::current().fallback();
    if let Some((fd, events)) = op.poll_before() {
        if let Some(deadline) = crate::timeout::current_deadline() {
            if let Err(errno) = wait_until_ready(fd, events, deadline) {
                return -errno;
            }
        }
    }
    loop {
        // SAFETY: the entry points into `op` and what it borrows, all alive across the call.
        let res = unsafe { emulate(sqe.as_raw()) };
        if !(O::RESTART && res == -libc::EINTR) {
            return res;
        }
    }
}

/// Without a ring, [`with_timeout`](crate::with_timeout) on a call that may wait for an fd
/// waits for the fd with poll(2) up to the deadline first: `ETIMEDOUT` if it stays unready.
/// An `O_NONBLOCK` fd is not waited for (the call fails at once, as without a timeout).
#[cold]
fn wait_until_ready(fd: RawFd, events: i16, deadline: Instant) -> Result<(), i32> {
    if nonblocking_stream(fd) {
        return Ok(());
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Rounded up, so poll never returns before the deadline.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_nsec: (ms % 1000) as libc::c_long * 1_000_000,
        };
        // SAFETY: one valid pollfd and timespec for the call.
        match unsafe { sc::ppoll(&mut pfd, 1, &ts) } {
            0 if Instant::now() >= deadline => return Err(libc::ETIMEDOUT),
            0 => continue,
            n if n > 0 => return Ok(()),
            n if n == -(libc::EINTR as isize) => continue,
            // The call itself will report what is wrong with the fd.
            _ => return Ok(()),
        }
    }
}

#[cold]
fn fallback_error() -> io::Error {
    match status().backend {
        Backend::Syscall { reason } => {
            io::Error::new(io::ErrorKind::Unsupported, reason.to_string())
        }
        Backend::IoUring { .. } => io::Error::new(
            io::ErrorKind::Unsupported,
            "the kernel's io_uring lacks this operation",
        ),
    }
}

impl Driver {
    /// Whether the kernel has `opcode`.
    #[inline]
    pub(crate) fn supports(&self, opcode: u8) -> bool {
        self.probe.is_supported(opcode)
    }

    /// Whether `op` can go through the ring. An operation at an explicit offset on a file
    /// that has none (a pipe, a socket) cannot: io_uring would ignore the offset where
    /// pread(2) fails with `ESPIPE`, so it runs as the syscall, which gives that error.
    #[inline]
    pub(crate) fn can_run<O: Op>(&mut self, op: &O) -> bool {
        self.probe.is_supported(O::OPCODE)
            && self.ring.features() & O::FEATURES == O::FEATURES
            && op.fits_ring()
            && op.positioned_fd().is_none_or(|fd| self.seekable(fd))
    }

    /// Runs a positioned read as a non-blocking syscall (`RWF_NOWAIT`) when its fd is a
    /// buffered file, and returns its result if the page cache could serve all of it (or
    /// it failed for good); `None` means it would block and belongs on the ring.
    ///
    /// # Safety
    /// As [`emulate`]: the entry's pointers must be valid for its opcode.
    pub(crate) unsafe fn try_nowait(&mut self, sqe: &IoUringSqe) -> Option<i32> {
        let positioned_read = matches!(sqe.opcode, IORING_OP_READ | IORING_OP_READV)
            && sqe.off != u64::MAX
            && sqe.flags == 0;
        if !positioned_read || !self.buffered(sqe.fd) {
            return None;
        }
        // SAFETY: the caller's contract.
        unsafe { crate::ring::try_nowait(sqe) }
    }

    /// Whether `fd` is a file without `O_DIRECT` (a non-blocking read of it never waits for
    /// the device), cached per fd number like `seekable`. A stale entry only costs speed.
    fn buffered(&mut self, fd: RawFd) -> bool {
        let Ok(index) = usize::try_from(fd) else {
            return false;
        };
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if self.buffered_fds.get(word).is_some_and(|w| w & bit != 0) {
            return true;
        }
        let direct = fd_flags(fd).is_none_or(|flags| flags & libc::O_DIRECT != 0);
        if direct || index >= MAX_CACHED_FD {
            return false;
        }
        if self.buffered_fds.len() <= word {
            self.buffered_fds.resize(word + 1, 0);
        }
        self.buffered_fds[word] |= bit;
        true
    }

    /// Forgets what the caches knew of fd number `fd`, whose file changed.
    fn forget_fd(&mut self, fd: RawFd) {
        let Ok(index) = usize::try_from(fd) else {
            return;
        };
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        for bits in [&mut self.seekable_fds, &mut self.buffered_fds] {
            if let Some(w) = bits.get_mut(word) {
                *w &= !bit;
            }
        }
    }

    /// Whether `fd` has a file position (lseek works), cached per fd number once seen
    /// seekable. A cached number whose file was closed and replaced by a pipe is the one case
    /// where a positioned call reads the stream instead of failing with `ESPIPE`.
    #[inline]
    fn seekable(&mut self, fd: RawFd) -> bool {
        let Ok(index) = usize::try_from(fd) else {
            return true; // EBADF comes from the kernel.
        };
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if self.seekable_fds.get(word).is_some_and(|w| w & bit != 0) {
            return true;
        }
        self.check_seekable(index, word, bit)
    }

    #[cold]
    fn check_seekable(&mut self, index: usize, word: usize, bit: u64) -> bool {
        // SAFETY: lseek on any fd number is harmless; SEEK_CUR with offset 0 moves nothing.
        let res = unsafe { sc::lseek(index as RawFd, 0, libc::SEEK_CUR) };
        if res < 0 {
            return res != -(libc::ESPIPE as isize);
        }
        if index < MAX_CACHED_FD {
            if self.seekable_fds.len() <= word {
                self.seekable_fds.resize(word + 1, 0);
            }
            self.seekable_fds[word] |= bit;
        }
        true
    }

    /// Submits whatever is queued without waiting. Only entries whose memory outlives their
    /// completion are ever queued (see `run` and the batch scope).
    #[cold]
    pub(crate) fn flush_queued(&mut self) {
        while self.ring.sq_pending() > 0 {
            // SAFETY: every queued entry points to memory its owner keeps until the
            // completion is reaped (blocking ops wait in `run`, batch ops in the scope).
            let res = unsafe { self.ring.submit() };
            self.counters.enter();
            if let Err(e) = res {
                if !transient(&e) {
                    ring_failed(&e);
                }
                self.reap_into_completions();
            }
        }
    }

    /// Moves every ready completion into the batch table.
    pub(crate) fn reap_into_completions(&mut self) {
        while let Some(cqe) = self.ring.peek_cqe() {
            self.dispatch(cqe);
        }
    }

    /// Files a completion that is not the blocking operation's.
    #[inline]
    pub(crate) fn dispatch(&mut self, cqe: Cqe) {
        match cqe.user_data() {
            IGNORED | BLOCKING_TIMEOUT => {}
            // Reaped by someone else's wait (a flush while the SQ was full): kept for
            // wait_blocking.
            BLOCKING => self.blocking_result = Some(cqe.result()),
            user_data => self.completions.complete(user_data, cqe.result()),
        }
    }

    /// Runs one operation on the ring and returns its raw result; `None` if it must run as
    /// a direct syscall instead.
    #[inline]
    pub(crate) fn run<O: Op>(&mut self, op: &mut O) -> Option<i32> {
        if !self.can_run(op) {
            return None;
        }
        let deadline = crate::timeout::current_deadline();
        // An entry and its linked timeout must reach the kernel in one submission.
        let needed = if deadline.is_some() { 2 } else { 1 };
        if self.ring.sq_space_left() < needed {
            self.flush_queued();
            if self.ring.sq_space_left() < needed {
                return None; // An SQ smaller than an entry and its timeout.
            }
        }
        // Where our entries start: a refused submission takes back only these.
        let mark = self.ring.sq_tail();
        let sqe = self.ring.get_sqe().expect("space checked above");
        op.prep(sqe);
        sqe.user_data(BLOCKING);
        // Outlives the submission in wait_blocking, where the kernel copies it.
        let ts;
        if let Some(deadline) = deadline {
            sqe.flags(IOSQE_IO_LINK);
            ts = crate::op::monotonic_timespec(deadline);
            self.ring
                .get_sqe()
                .expect("space checked above")
                .prep_link_timeout(&raw const ts, IORING_TIMEOUT_ABS)
                .user_data(BLOCKING_TIMEOUT);
        }
        // Checked up front already when NONBLOCK_FIRST (see run).
        let nonblock = op
            .nonblock_fd()
            .filter(|_| !O::NONBLOCK_FIRST)
            .map(|fd| (fd, O::WOULD_BLOCK));
        // The common case inline: one enter submits the entry and finds it completed first
        // in the CQ. Anything else (a wait, a signal, other completions ahead) goes the long
        // way, which carries on from the same state.
        let quick = if nonblock.is_none() && deadline.is_none() {
            // SAFETY: as for wait_blocking below.
            unsafe { self.submit_and_take_blocking() }
        } else {
            Err(false)
        };
        let res = match quick {
            Ok(res) => res,
            Err(interrupted) => {
                // SAFETY: `op`, what it borrows and `ts` stay where they are until this
                // function returns, and wait_blocking returns only after reaping the BLOCKING
                // completion (or after withdrawing the entries unsubmitted).
                unsafe {
                    self.wait_blocking(O::RESTART, mark, nonblock, interrupted, O::POLL_LIKE)
                }?
            }
        };
        self.counters.op();
        op.after_ring(res);
        if let Some(fd) = op.fd_changed(res) {
            self.forget_fd(fd);
        }
        if let Some(deadline) = deadline {
            if (res == -libc::ECANCELED || res == -libc::EINTR) && Instant::now() >= deadline {
                return Some(-libc::ETIMEDOUT);
            }
        }
        Some(res)
    }

    /// Submits what is queued and waits for one completion; if the oldest one is the
    /// BLOCKING entry's, takes and returns its result. Otherwise everything is left as it
    /// was for [`wait_blocking`](Driver::wait_blocking), whose enter then submits what is
    /// still queued and finds the completions already there; `Err(true)` tells it that a
    /// signal cut the wait short (an enter that returns with the CQ empty, or EINTR).
    ///
    /// # Safety
    /// As [`wait_blocking`](Driver::wait_blocking).
    #[inline]
    unsafe fn submit_and_take_blocking(&mut self) -> Result<i32, bool> {
        // SAFETY: the caller's contract.
        let res = unsafe { self.ring.submit_and_wait(1) };
        self.counters.enter();
        if let Err(e) = res {
            return Err(e.raw_os_error() == Some(libc::EINTR));
        }
        if self.ring.cq_ready() == 0 {
            return Err(true);
        }
        self.ring
            .peek_cqe_if(|cqe| cqe.user_data() == BLOCKING)
            .map(|cqe| cqe.result())
            .ok_or(false)
    }

    /// Submits what is queued and waits for the BLOCKING completion, dispatching others.
    ///
    /// On EINTR the operation is cancelled (unless `restart`, when std would retry it) and
    /// still waited for: a cancelled operation gives `-EINTR`, one that completed anyway its
    /// own result, so no data is lost. Returns `None` if the kernel refused the submission
    /// outright; the entries were then withdrawn and nothing of them runs.
    ///
    /// # Safety
    /// Every queued entry must point to memory that stays valid until its completion is
    /// reaped; the BLOCKING entry's memory until this returns.
    unsafe fn wait_blocking(
        &mut self,
        restart: bool,
        mark: u32,
        mut nonblock: Option<(RawFd, i32)>,
        interrupted_before: bool,
        poll_like: bool,
    ) -> Option<i32> {
        let mut cancelled = false;
        if interrupted_before && !restart && signal_interrupts(poll_like) {
            // A signal already cut the first wait short (see submit_and_take_blocking).
            if let Some(sqe) = self.ring.get_sqe() {
                sqe.prep_cancel(BLOCKING, 0).user_data(IGNORED);
                cancelled = true;
            }
        }
        let mut would_block: Option<i32> = None;
        loop {
            // An operation that may have to wait on an fd with O_NONBLOCK is first only
            // submitted: if it did not complete at once, the fd decides below.
            let wait_nr = if nonblock.is_some() { 0 } else { 1 };
            // SAFETY: the caller's contract.
            let res = unsafe { self.ring.submit_and_wait(wait_nr) };
            self.counters.enter();
            let mut interrupted = false;
            if let Err(e) = &res {
                match e.raw_os_error() {
                    Some(libc::EINTR) => interrupted = true,
                    _ if transient(e) => {}
                    _ if self.ring.sq_pending() > 0 && self.ring.withdraw_to(mark) => {
                        // Refused before consuming anything (e.g. a vfork child sharing our
                        // memory): our entries are taken back, so they never run; batch
                        // entries queued before them stay.
                        return None;
                    }
                    _ => ring_failed(e),
                }
            }
            let mut reaped = false;
            while let Some(cqe) = self.ring.peek_cqe() {
                reaped = true;
                self.dispatch(cqe);
            }
            if let Some(r) = self.blocking_result.take() {
                let was_cancelled = r == -libc::ECANCELED || r == -libc::EINTR;
                return Some(match would_block {
                    Some(errno) if was_cancelled => -errno,
                    _ if cancelled && was_cancelled => -libc::EINTR,
                    _ => r,
                });
            }
            if let Some((fd, errno)) = nonblock.take() {
                // io_uring waits for a pipe or socket even when it is O_NONBLOCK; the
                // syscall would fail at once instead.
                if nonblocking_stream(fd) {
                    if let Some(sqe) = self.ring.get_sqe() {
                        sqe.prep_cancel(BLOCKING, 0).user_data(IGNORED);
                        cancelled = true;
                        would_block = Some(errno);
                    }
                }
                continue;
            }
            // With min_complete 1, an enter that returns with nothing to reap was cut short
            // by a signal (its handler has run by now).
            if res.is_ok() && !reaped {
                interrupted = true;
            }
            if interrupted && !restart && !cancelled && signal_interrupts(poll_like) {
                // The cancel goes in the next enter; with the SQ full, that enter submits
                // what is queued first and the cancel follows in the one after.
                if let Some(sqe) = self.ring.get_sqe() {
                    sqe.prep_cancel(BLOCKING, 0).user_data(IGNORED);
                    cancelled = true;
                }
            }
        }
    }
}

/// Which path this thread's calls take and why, which contract calls this kernel cannot run
/// through the ring, and the kernel's last opcode. Creates this thread's ring if it has none.
pub fn status() -> Status {
    let (backend, probe) = LOCAL
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut local) => {
                local.driver();
                match &*local {
                    Local::Ring(driver) => (
                        Backend::IoUring {
                            setup_flags: driver.ring.setup_flags(),
                            features: driver.ring.features(),
                            entries: driver.ring.sq_entries(),
                        },
                        Some(driver.probe.clone()),
                    ),
                    Local::Syscall(reason) => (
                        Backend::Syscall {
                            reason: reason.clone(),
                        },
                        None,
                    ),
                    Local::Uninit | Local::Warmup(_) => unreachable!("driver() initialises"),
                }
            }
            Err(_) => (
                Backend::Syscall {
                    reason: FallbackReason::RingBroken { errno: libc::EBUSY },
                },
                None,
            ),
        })
        .unwrap_or((
            Backend::Syscall {
                reason: FallbackReason::RingBroken { errno: libc::ESRCH },
            },
            None,
        ));
    let syscall_ops = crate::calls::CALLS
        .iter()
        .filter(|(_, opcode)| !probe.as_ref().is_some_and(|p| p.is_supported(*opcode)))
        .map(|(name, _)| *name)
        .collect();
    Status {
        backend,
        syscall_ops,
        last_op: probe.map(|p| p.last_op()),
    }
}
