//! Layer 2: one io_uring instance, its queues, and the low-level public API.
//!
//! ```no_run
//! use uring_os::ring::{Cqe, Ring};
//!
//! let mut ring = Ring::new(8)?;
//! let msg = b"Hello world\n";
//! let sqe = ring.get_sqe().expect("a new ring has room");
//! sqe.prep_write(1, msg.as_ptr(), msg.len() as u32, u64::MAX).user_data(42);
//! // SAFETY: `msg` outlives the completion, which copy_cqes waits for below.
//! unsafe { ring.submit()? };
//! let mut cqes = [Cqe::default(); 1];
//! ring.copy_cqes(&mut cqes, 1)?;
//! assert_eq!((cqes[0].user_data(), cqes[0].result()), (42, 12));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Setup tries the best flags first (single issuer, deferred task run, no SQ array) and drops
//! them one at a time while the kernel answers EINVAL, so the same code runs from 5.1 on. The
//! ring memory is marked `MADV_DONTFORK`, and the ring fd is registered so `io_uring_enter`
//! skips the fd lookup; with [`Builder::hide_fd`] the real fd is then closed and the ring
//! occupies no file descriptor number at all.

mod emulate;
mod entry;
mod error;
mod probe;
mod queue;

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::ptr;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

pub use emulate::{can_emulate, emulate, emulate_nowait, try_nowait};
pub use entry::{CURRENT_POSITION, Cqe, Sqe};
pub use error::{DeniedBy, SetupError};
pub use probe::{Probe, opcode_name};
use queue::{CompletionQueue, SubmissionQueue};

use crate::sys::syscall as sc;
use crate::sys::{self, *};

/// The kernel's limit on SQ entries (`IORING_MAX_ENTRIES`).
pub const MAX_ENTRIES: u32 = 32768;

/// Optional setup flags, best first; setup drops from the front while the kernel says EINVAL.
/// Each tier is a set the kernel accepts as a whole (deferred task run needs single issuer,
/// the task-run flag needs cooperative or deferred task run).
const FLAG_TIERS: [u32; 6] = [
    IORING_SETUP_SINGLE_ISSUER
        | IORING_SETUP_DEFER_TASKRUN
        | IORING_SETUP_TASKRUN_FLAG
        | IORING_SETUP_NO_SQARRAY
        | IORING_SETUP_SUBMIT_ALL, // 6.6
    IORING_SETUP_SINGLE_ISSUER
        | IORING_SETUP_DEFER_TASKRUN
        | IORING_SETUP_TASKRUN_FLAG
        | IORING_SETUP_SUBMIT_ALL, // 6.1
    IORING_SETUP_SINGLE_ISSUER
        | IORING_SETUP_COOP_TASKRUN
        | IORING_SETUP_TASKRUN_FLAG
        | IORING_SETUP_SUBMIT_ALL, // 6.0
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL, // 5.19
    IORING_SETUP_SUBMIT_ALL,                                                         // 5.18
    0,
];

/// Flags that make no sense with SQPOLL (the kernel rejects them together).
const IPI_FLAGS: u32 =
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_DEFER_TASKRUN;

/// Configures and creates a [`Ring`]. Start from [`Ring::builder`].
#[derive(Clone, Debug)]
pub struct Builder {
    required: u32,
    optional_mask: u32,
    cq_entries: Option<u32>,
    sq_thread_idle: u32,
    sq_thread_cpu: Option<u32>,
    wq_fd: Option<RawFd>,
    register_ring_fd: bool,
    hide_fd: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            required: 0,
            optional_mask: u32::MAX,
            cq_entries: None,
            sq_thread_idle: 0,
            sq_thread_cpu: None,
            wq_fd: None,
            register_ring_fd: true,
            hide_fd: false,
        }
    }
}

impl Builder {
    fn optional(mut self, flag: u32, on: bool) -> Builder {
        if on {
            self.optional_mask |= flag;
        } else {
            self.optional_mask &= !flag;
        }
        self
    }

    /// `IORING_SETUP_SINGLE_ISSUER` (6.0), on by default where the kernel has it: only the
    /// creating thread submits. Turning it off also turns off deferred task run.
    pub fn single_issuer(self, on: bool) -> Builder {
        let b = self.optional(IORING_SETUP_SINGLE_ISSUER, on);
        if on { b } else { b.defer_taskrun(false) }
    }

    /// `IORING_SETUP_DEFER_TASKRUN` (6.1), on by default where the kernel has it: completions
    /// are posted only while the owner waits in `io_uring_enter`, saving interrupts.
    pub fn defer_taskrun(self, on: bool) -> Builder {
        self.optional(IORING_SETUP_DEFER_TASKRUN, on)
    }

    /// `IORING_SETUP_COOP_TASKRUN` (5.19), used where deferred task run is missing.
    pub fn coop_taskrun(self, on: bool) -> Builder {
        self.optional(IORING_SETUP_COOP_TASKRUN, on)
    }

    /// `IORING_SETUP_NO_SQARRAY` (6.6), on by default where the kernel has it.
    pub fn no_sqarray(self, on: bool) -> Builder {
        self.optional(IORING_SETUP_NO_SQARRAY, on)
    }

    /// `IORING_SETUP_SUBMIT_ALL` (5.18), on by default: one bad entry does not stop the
    /// submission of those after it.
    pub fn submit_all(self, on: bool) -> Builder {
        self.optional(IORING_SETUP_SUBMIT_ALL, on)
    }

    /// `IORING_SETUP_SQPOLL` (5.1; unprivileged from 5.11): a kernel thread polls the SQ and
    /// sleeps after `idle`. Costly on small machines; off by default.
    pub fn sqpoll(mut self, idle: Duration) -> Builder {
        self.required |= IORING_SETUP_SQPOLL;
        self.sq_thread_idle = u32::try_from(idle.as_millis()).unwrap_or(u32::MAX);
        self
    }

    /// `IORING_SETUP_SQ_AFF`: pins the SQPOLL thread to `cpu`.
    pub fn sqpoll_cpu(mut self, cpu: u32) -> Builder {
        self.required |= IORING_SETUP_SQ_AFF;
        self.sq_thread_cpu = Some(cpu);
        self
    }

    /// `IORING_SETUP_CQSIZE` (5.5): a CQ of `entries` (a power of two at least the SQ's)
    /// instead of twice the SQ.
    pub fn cq_entries(mut self, entries: u32) -> Builder {
        self.required |= IORING_SETUP_CQSIZE;
        self.cq_entries = Some(entries);
        self
    }

    /// `IORING_SETUP_ATTACH_WQ` (5.6): shares the io-wq worker pool of the ring `fd`.
    pub fn attach_wq(mut self, fd: RawFd) -> Builder {
        self.required |= IORING_SETUP_ATTACH_WQ;
        self.wq_fd = Some(fd);
        self
    }

    /// Any other `IORING_SETUP_*` flags, required as given (never dropped).
    ///
    /// `IORING_SETUP_SQE128`, `IORING_SETUP_CQE32`, `IORING_SETUP_NO_MMAP` and
    /// `IORING_SETUP_REGISTERED_FD_ONLY` change the memory layout this type relies on and make
    /// [`build`](Builder::build) fail with [`SetupError::InvalidFlags`].
    pub fn flags(mut self, flags: u32) -> Builder {
        self.required |= flags;
        self
    }

    /// Registers the ring fd (`IORING_REGISTER_RING_FDS`, 5.18) so each `io_uring_enter`
    /// skips the fd table. On by default.
    pub fn register_ring_fd(mut self, on: bool) -> Builder {
        self.register_ring_fd = on;
        self
    }

    /// After registering the ring fd, closes the real one, so the ring takes no file
    /// descriptor number (needs `IORING_FEAT_REG_REG_RING`, 6.3; ignored before). Off by
    /// default: a registered ring fd belongs to the creating thread, so such a ring works only
    /// there, and [`Ring::fd`] is `None`.
    pub fn hide_fd(mut self, on: bool) -> Builder {
        self.hide_fd = on;
        self
    }

    /// Creates the ring with `entries` SQ entries (a power of two, 1 to 32768).
    pub fn build(&self, entries: u32) -> Result<Ring, SetupError> {
        if entries == 0 {
            return Err(SetupError::EntriesZero);
        }
        if entries > MAX_ENTRIES {
            return Err(SetupError::EntriesTooLarge {
                entries,
                max: MAX_ENTRIES,
            });
        }
        if !entries.is_power_of_two() {
            return Err(SetupError::EntriesNotPowerOfTwo(entries));
        }
        let unsupported = IORING_SETUP_SQE128
            | IORING_SETUP_CQE32
            | IORING_SETUP_NO_MMAP
            | IORING_SETUP_REGISTERED_FD_ONLY;
        if self.required & unsupported != 0 {
            return Err(SetupError::InvalidFlags {
                flags: self.required,
            });
        }
        let mut tiers = FLAG_TIERS.iter().map(|tier| {
            let mut optional = tier & self.optional_mask;
            if self.required & IORING_SETUP_SQPOLL != 0 {
                optional &= !IPI_FLAGS;
            }
            if optional & IORING_SETUP_SINGLE_ISSUER == 0 {
                optional &= !IORING_SETUP_DEFER_TASKRUN;
            }
            if optional & (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_DEFER_TASKRUN) == 0 {
                optional &= !IORING_SETUP_TASKRUN_FLAG;
            }
            self.required | optional
        });
        let mut last = None;
        let (fd, params) = loop {
            let Some(flags) = tiers.next() else {
                return Err(SetupError::InvalidFlags {
                    flags: last.unwrap_or(self.required),
                });
            };
            if last == Some(flags) {
                continue;
            }
            last = Some(flags);
            let mut params = IoUringParams {
                flags,
                sq_thread_idle: self.sq_thread_idle,
                sq_thread_cpu: self.sq_thread_cpu.unwrap_or(0),
                cq_entries: self.cq_entries.unwrap_or(0),
                wq_fd: self.wq_fd.unwrap_or(0) as u32,
                ..IoUringParams::default()
            };
            // SAFETY: params is a valid, writable IoUringParams for the duration of the call.
            match unsafe { sys::io_uring_setup(entries, &mut params) } {
                Ok(fd) => break (fd, params),
                Err(libc::EINVAL) => continue,
                Err(errno) => return Err(SetupError::from_errno(errno, flags)),
            }
        };
        // SAFETY: fd is a ring fd io_uring_setup just returned, params its filled-in answer.
        unsafe { Ring::from_setup(fd, params, self) }
    }
}

/// A mapping of ring memory, unmapped when the ring is dropped.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of the ring fd at `offset`, shared with the kernel, and keeps it out
    /// of fork children.
    fn new(fd: RawFd, len: usize, offset: u64) -> io::Result<Mapping> {
        // SAFETY: a fresh shared mapping chosen by the kernel aliases no Rust object.
        let ptr = unsafe {
            sc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset as i64,
            )
        };
        let ptr = sc::io_result(ptr)? as *mut libc::c_void;
        // SAFETY: ptr..ptr+len is the mapping just made. A fork child must never see the
        // parent's rings (it would submit into them), so the mapping is not inherited.
        let advised = unsafe { sc::madvise(ptr, len, libc::MADV_DONTFORK) };
        if let Err(err) = sc::io_result(advised) {
            // SAFETY: the mapping was made above and nothing refers to it.
            unsafe { sc::munmap(ptr, len) };
            return Err(err);
        }
        Ok(Mapping { ptr, len })
    }

    /// A pointer `offset` bytes into the mapping, typed as `T`.
    fn at<T>(&self, offset: u32) -> *mut T {
        debug_assert!((offset as usize) < self.len);
        // SAFETY: offsets come from the kernel's io_uring_params and lie inside the mapping.
        unsafe { self.ptr.cast::<u8>().add(offset as usize).cast() }
    }
}

/// One io_uring instance: its submission and completion queues and the calls on them.
///
/// A `Ring` belongs to the thread that created it (single issuer, deferred task run and
/// registered ring fds are per task), so it is neither `Send` nor `Sync`. A fork child never
/// sees its parent's ring memory; dropping the copy there touches nothing of the parent's.
pub struct Ring {
    sq: SubmissionQueue,
    cq: CompletionQueue,
    /// What `io_uring_enter`/`io_uring_register` take: the registered index or the real fd.
    enter_fd: RawFd,
    /// `IORING_ENTER_REGISTERED_RING` when `enter_fd` is a registered index.
    enter_flags: u32,
    /// The real fd, unless it was closed after registering (`hide_fd`).
    fd: Option<RawFd>,
    registered_index: Option<u32>,
    flags: u32,
    features: u32,
    sq_entries: u32,
    cq_entries: u32,
    rings: Mapping,
    sqes: Mapping,
    owner_pid: libc::pid_t,
    _not_send: PhantomData<*mut ()>,
}

impl Ring {
    /// Creates a ring with `entries` SQ entries and the best flags this kernel accepts.
    pub fn new(entries: u32) -> Result<Ring, SetupError> {
        Builder::default().build(entries)
    }

    /// A [`Builder`] with the defaults of [`Ring::new`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Maps the rings of a freshly set-up fd and registers it.
    ///
    /// # Safety
    /// `fd` must be an io_uring fd owned by the caller and `params` what `io_uring_setup`
    /// filled in for it; ownership of `fd` moves into the ring (closed on error too).
    unsafe fn from_setup(
        fd: RawFd,
        params: IoUringParams,
        builder: &Builder,
    ) -> Result<Ring, SetupError> {
        let close_on_error = |e: io::Error| {
            // SAFETY: fd is ours and not yet owned by anything else.
            unsafe { sc::close(fd) };
            SetupError::Mmap(e)
        };
        let sq_ring_len = params.sq_off.array as usize + params.sq_entries as usize * 4;
        let cq_ring_len =
            params.cq_off.cqes as usize + params.cq_entries as usize * size_of::<IoUringCqe>();
        if params.features & IORING_FEAT_SINGLE_MMAP == 0 {
            // Kernels before 5.4 map the CQ ring separately; this crate needs 5.4's single
            // mapping, so treat such a kernel like one without io_uring.
            // SAFETY: fd is ours.
            unsafe { sc::close(fd) };
            return Err(SetupError::KernelTooOld);
        }
        let rings = Mapping::new(fd, sq_ring_len.max(cq_ring_len), IORING_OFF_SQ_RING)
            .map_err(close_on_error)?;
        let sqes = Mapping::new(
            fd,
            params.sq_entries as usize * size_of::<IoUringSqe>(),
            IORING_OFF_SQES,
        )
        .map_err(|e| {
            // SAFETY: the rings mapping was made above and nothing refers to it yet.
            unsafe { sc::munmap(rings.ptr, rings.len) };
            close_on_error(e)
        })?;

        let sq = SubmissionQueue {
            khead: rings.at::<AtomicU32>(params.sq_off.head),
            ktail: rings.at::<AtomicU32>(params.sq_off.tail),
            kflags: rings.at::<AtomicU32>(params.sq_off.flags),
            kdropped: rings.at::<AtomicU32>(params.sq_off.dropped),
            sqes: sqes.at::<IoUringSqe>(0),
            // SAFETY: ring_mask and ring_entries are u32s inside the mapping, fixed at setup.
            mask: unsafe { *rings.at::<u32>(params.sq_off.ring_mask) },
            // SAFETY: as above.
            entries: unsafe { *rings.at::<u32>(params.sq_off.ring_entries) },
            sqe_tail: 0,
            sqpoll: params.flags & IORING_SETUP_SQPOLL != 0,
        };
        if params.flags & IORING_SETUP_NO_SQARRAY == 0 {
            // The SQ array maps ring slots to SQE indexes; keep it the identity, as liburing.
            let array = rings.at::<u32>(params.sq_off.array);
            for i in 0..sq.entries {
                // SAFETY: the array has sq_entries u32 slots inside the mapping; the kernel
                // reads it only for published entries, and none is published yet.
                unsafe { array.add(i as usize).write(i) };
            }
        }
        let cq = CompletionQueue {
            khead: rings.at::<AtomicU32>(params.cq_off.head),
            ktail: rings.at::<AtomicU32>(params.cq_off.tail),
            koverflow: rings.at::<AtomicU32>(params.cq_off.overflow),
            cqes: rings.at::<IoUringCqe>(params.cq_off.cqes),
            // SAFETY: as for the SQ.
            mask: unsafe { *rings.at::<u32>(params.cq_off.ring_mask) },
        };
        let mut ring = Ring {
            sq,
            cq,
            enter_fd: fd,
            enter_flags: 0,
            fd: Some(fd),
            registered_index: None,
            flags: params.flags,
            features: params.features,
            sq_entries: params.sq_entries,
            cq_entries: params.cq_entries,
            rings,
            sqes,
            owner_pid: sc::getpid(),
            _not_send: PhantomData,
        };
        if builder.register_ring_fd {
            ring.register_own_fd(builder.hide_fd);
        }
        Ok(ring)
    }

    /// Registers the ring fd and, if asked and possible, closes the real one. Failure only
    /// means the slower unregistered path is used (kernels before 5.18).
    fn register_own_fd(&mut self, hide_fd: bool) {
        let mut update = IoUringRsrcUpdate {
            offset: u32::MAX,
            resv: 0,
            data: self.enter_fd as u64,
        };
        // SAFETY: update is a valid IoUringRsrcUpdate array of length 1 for the call.
        let res =
            unsafe { self.register_raw(IORING_REGISTER_RING_FDS, (&raw mut update).cast(), 1) };
        if res != Ok(1) {
            return;
        }
        let real_fd = self.enter_fd;
        self.registered_index = Some(update.offset);
        self.enter_fd = update.offset as RawFd;
        self.enter_flags = IORING_ENTER_REGISTERED_RING;
        if hide_fd && self.features & IORING_FEAT_REG_REG_RING != 0 {
            // SAFETY: real_fd is the ring fd we own; the registered index and the mappings
            // keep the ring alive, and register calls go through the index from now on.
            unsafe { sc::close(real_fd) };
            self.fd = None;
        }
    }

    /// The real ring fd, or `None` if it was closed after registering ([`Builder::hide_fd`]).
    pub fn fd(&self) -> Option<RawFd> {
        self.fd
    }

    /// The setup flags the kernel accepted (`IORING_SETUP_*`).
    pub fn setup_flags(&self) -> u32 {
        self.flags
    }

    /// The kernel's `IORING_FEAT_*` bits.
    pub fn features(&self) -> u32 {
        self.features
    }

    /// SQ size in entries.
    pub fn sq_entries(&self) -> u32 {
        self.sq_entries
    }

    /// CQ size in entries.
    pub fn cq_entries(&self) -> u32 {
        self.cq_entries
    }

    /// Whether the ring fd is registered, so enter skips the fd table.
    pub fn is_ring_fd_registered(&self) -> bool {
        self.registered_index.is_some()
    }

    /// The process that created the ring; a fork child must not use it.
    pub fn owner_pid(&self) -> libc::pid_t {
        self.owner_pid
    }

    /// The next free submission entry, zeroed, or `None` when the SQ is full (submit first).
    /// Nothing reaches the kernel until [`submit`](Ring::submit).
    #[inline]
    pub fn get_sqe(&mut self) -> Option<&mut Sqe> {
        self.sq.get_sqe()
    }

    /// The position of the next entry `get_sqe` hands out.
    pub(crate) fn sq_tail(&self) -> u32 {
        self.sq.sqe_tail
    }

    /// After a refused submission, takes back the entries handed out from position `mark`
    /// on, if the kernel consumed none of them, so they never run; `false` if it cannot
    /// (SQPOLL, whose thread may be consuming them, or some were consumed).
    pub(crate) fn withdraw_to(&mut self, mark: u32) -> bool {
        !self.sq.sqpoll && self.sq.withdraw_to(mark)
    }

    /// Free SQ slots.
    #[inline]
    pub fn sq_space_left(&self) -> u32 {
        self.sq.space_left()
    }

    /// Entries handed out by `get_sqe` and not yet consumed by the kernel.
    #[inline]
    pub fn sq_pending(&self) -> u32 {
        self.sq_entries - self.sq.space_left()
    }

    /// Completions ready to be copied.
    #[inline]
    pub fn cq_ready(&self) -> u32 {
        self.cq.ready()
    }

    /// Completions the kernel dropped because the CQ was full (only on kernels without
    /// `IORING_FEAT_NODROP`, before 5.5; newer ones keep them and this crate flushes them).
    pub fn cq_overflow(&self) -> u32 {
        self.cq.overflow()
    }

    /// Entries the kernel dropped as invalid.
    pub fn sq_dropped(&self) -> u32 {
        self.sq.dropped()
    }

    /// `io_uring_enter(2)` on this ring, through the registered index when there is one.
    ///
    /// # Safety
    /// `arg`/`argsz` must be what `flags` tells the kernel to expect (null/0, a sigset, or an
    /// `IoUringGeteventsArg` with `IORING_ENTER_EXT_ARG`), valid for the call.
    #[inline]
    pub unsafe fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        arg: *const libc::c_void,
        argsz: usize,
    ) -> io::Result<u32> {
        // SAFETY: the caller vouches for arg/argsz; enter_fd/enter_flags name this ring.
        let res = unsafe {
            sys::io_uring_enter(
                self.enter_fd,
                to_submit,
                min_complete,
                flags | self.enter_flags,
                arg,
                argsz,
            )
        };
        res.map(|n| n as u32).map_err(io::Error::from_raw_os_error)
    }

    /// Whether an enter is needed to see completions the kernel holds back: overflowed CQEs
    /// or deferred task work (liburing's cq_ring_needs_flush).
    #[inline]
    fn cq_needs_flush(&self) -> bool {
        self.sq.flags() & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN) != 0
    }

    /// Publishes the filled entries and enters the kernel to submit them and wait for
    /// `wait_nr` completions. Returns how many entries the kernel consumed.
    ///
    /// An `Interrupted` error means a signal arrived while waiting; the submitted entries are
    /// in flight all the same.
    ///
    /// # Safety
    /// Every memory region the published entries point to must stay valid (and buffers the
    /// kernel writes unaliased) until each entry's completion has been reaped.
    pub unsafe fn submit_and_wait(&mut self, wait_nr: u32) -> io::Result<u32> {
        let pending = self.sq.flush();
        let mut flags = 0;
        if wait_nr > 0 || self.cq_needs_flush() {
            flags |= IORING_ENTER_GETEVENTS;
        }
        if self.sq.sqpoll {
            if self.sq.needs_wakeup() {
                flags |= IORING_ENTER_SQ_WAKEUP;
            } else if flags == 0 {
                return Ok(pending);
            }
        } else if pending == 0 && flags == 0 {
            return Ok(0);
        }
        let to_submit = if self.sq.sqpoll { 0 } else { pending };
        // SAFETY: no extra argument is passed; the caller vouches for the entries.
        let submitted = unsafe { self.enter(to_submit, wait_nr, flags, ptr::null(), 0) }?;
        Ok(if self.sq.sqpoll { pending } else { submitted })
    }

    /// Publishes the filled entries and submits them without waiting.
    ///
    /// # Safety
    /// As [`submit_and_wait`](Ring::submit_and_wait).
    #[inline]
    pub unsafe fn submit(&mut self) -> io::Result<u32> {
        // SAFETY: the caller keeps the same contract.
        unsafe { self.submit_and_wait(0) }
    }

    /// Submits and waits up to `timeout` for `wait_nr` completions (`IORING_ENTER_EXT_ARG`,
    /// 5.11). Returns `ErrorKind::TimedOut` (ETIME) if they did not arrive in time.
    ///
    /// # Safety
    /// As [`submit_and_wait`](Ring::submit_and_wait).
    pub unsafe fn submit_and_wait_timeout(
        &mut self,
        wait_nr: u32,
        timeout: Duration,
    ) -> io::Result<u32> {
        let pending = self.sq.flush();
        let ts = KernelTimespec {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let arg = IoUringGeteventsArg {
            sigmask: 0,
            sigmask_sz: 0,
            min_wait_usec: 0,
            ts: (&raw const ts) as u64,
        };
        let mut flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
        if self.sq.sqpoll && self.sq.needs_wakeup() {
            flags |= IORING_ENTER_SQ_WAKEUP;
        }
        let to_submit = if self.sq.sqpoll { 0 } else { pending };
        // SAFETY: arg and ts are live for the call; EXT_ARG tells the kernel to read them; the
        // caller vouches for the entries.
        let res = unsafe {
            self.enter(
                to_submit,
                wait_nr,
                flags,
                (&raw const arg).cast(),
                size_of::<IoUringGeteventsArg>(),
            )
        };
        match res {
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => {
                Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
            }
            other => other,
        }
    }

    /// Takes the oldest ready completion if `take` accepts it.
    #[inline]
    pub(crate) fn peek_cqe_if(&mut self, take: impl FnOnce(&Cqe) -> bool) -> Option<Cqe> {
        self.cq.pop_if(take)
    }

    /// Takes one ready completion, if any, without entering the kernel.
    #[inline]
    pub fn peek_cqe(&mut self) -> Option<Cqe> {
        self.cq.pop()
    }

    /// Copies completions into `out`, waiting until at least `wait_nr` have been copied
    /// (clamped to `out.len()`). Returns how many were copied; with `wait_nr == 0` it never
    /// blocks and returns 0 when nothing is ready. Completions the kernel held back (an
    /// overflowed CQ, deferred task work) are flushed first.
    ///
    /// A signal while waiting ends the wait early: then fewer than `wait_nr` may be returned,
    /// and an `Interrupted` error means nothing was copied.
    pub fn copy_cqes(&mut self, out: &mut [Cqe], wait_nr: u32) -> io::Result<usize> {
        let want = (wait_nr as usize).min(out.len());
        let mut copied = self.cq.copy(out);
        if copied < out.len() && self.cq_needs_flush() {
            // SAFETY: no extra argument.
            match unsafe { self.enter(0, 0, IORING_ENTER_GETEVENTS, ptr::null(), 0) } {
                Ok(_) => {}
                // Completions already taken off the CQ must reach the caller.
                Err(_) if copied > 0 => return Ok(copied),
                Err(e) => return Err(e),
            }
            copied += self.cq.copy(&mut out[copied..]);
        }
        while copied < want {
            // Everything ready was copied, so the CQ is empty and can take at most cq_entries
            // completions before we reap again. Never wait for more: the rest sit in the
            // kernel's overflow list until we reap, and a kernel may wait for them forever.
            let more = ((want - copied) as u32).min(self.cq_entries);
            // SAFETY: no extra argument.
            match unsafe { self.enter(0, more, IORING_ENTER_GETEVENTS, ptr::null(), 0) } {
                Ok(_) => {}
                Err(_) if copied > 0 => return Ok(copied),
                Err(e) => return Err(e),
            }
            copied += self.cq.copy(&mut out[copied..]);
        }
        Ok(copied)
    }

    /// `io_uring_register(2)` on this ring, through the registered index when the kernel
    /// allows it.
    ///
    /// # Safety
    /// `arg` and `nr_args` must be what `opcode` expects, valid for the call, and whatever the
    /// registration makes the kernel hold (buffers, for one) must stay valid while registered.
    pub unsafe fn register_raw(
        &self,
        opcode: u32,
        arg: *mut libc::c_void,
        nr_args: u32,
    ) -> Result<u32, i32> {
        let (fd, opcode) = match self.fd {
            Some(fd) => (fd, opcode),
            None => (self.enter_fd, opcode | IORING_REGISTER_USE_REGISTERED_RING),
        };
        // SAFETY: the caller vouches for arg/nr_args; fd names this ring.
        unsafe { sys::io_uring_register(fd, opcode, arg, nr_args) }.map(|n| n as u32)
    }

    fn register(&self, opcode: u32, arg: *mut libc::c_void, nr_args: u32) -> io::Result<u32> {
        // SAFETY: every caller in this file passes what opcode expects and registers nothing
        // whose lifetime it does not control.
        unsafe { self.register_raw(opcode, arg, nr_args) }.map_err(io::Error::from_raw_os_error)
    }

    /// The opcodes this kernel supports (`IORING_REGISTER_PROBE`, 5.6).
    pub fn probe(&self) -> io::Result<Probe> {
        #[repr(C)]
        struct ProbeBuf {
            header: IoUringProbe,
            ops: [IoUringProbeOp; 256],
        }
        let mut buf = ProbeBuf {
            header: IoUringProbe::default(),
            ops: [IoUringProbeOp::default(); 256],
        };
        self.register(IORING_REGISTER_PROBE, (&raw mut buf).cast(), 256)?;
        let len = usize::from(buf.header.ops_len).min(256);
        Ok(Probe::from_raw(buf.header.last_op, &buf.ops[..len]))
    }

    /// Registers `fds` as the fixed file table (`IORING_REGISTER_FILES`, 5.1); `-1` leaves a
    /// slot empty. The kernel holds its own references, so the fds may be closed afterwards.
    pub fn register_files(&mut self, fds: &[RawFd]) -> io::Result<()> {
        let nr =
            u32::try_from(fds.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.register(IORING_REGISTER_FILES, fds.as_ptr().cast_mut().cast(), nr)
            .map(drop)
    }

    /// Registers an empty fixed file table of `nr` slots (`IORING_RSRC_REGISTER_SPARSE`, 5.19),
    /// for direct descriptors opened with [`IORING_FILE_INDEX_ALLOC`].
    pub fn register_files_sparse(&mut self, nr: u32) -> io::Result<()> {
        let mut reg = IoUringRsrcRegister {
            nr,
            flags: IORING_RSRC_REGISTER_SPARSE,
            ..IoUringRsrcRegister::default()
        };
        self.register(
            IORING_REGISTER_FILES2,
            (&raw mut reg).cast(),
            size_of::<IoUringRsrcRegister>() as u32,
        )
        .map(drop)
    }

    /// Replaces fixed file slots from `offset` with `fds` (`IORING_REGISTER_FILES_UPDATE`,
    /// 5.5); returns how many were updated.
    pub fn update_files(&mut self, offset: u32, fds: &[RawFd]) -> io::Result<u32> {
        let mut update = IoUringFilesUpdate {
            offset,
            resv: 0,
            fds: fds.as_ptr() as u64,
        };
        let nr =
            u32::try_from(fds.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.register(IORING_REGISTER_FILES_UPDATE, (&raw mut update).cast(), nr)
    }

    /// Registers the calling task's current credentials (`IORING_REGISTER_PERSONALITY`, 5.6)
    /// and returns their id, for [`Sqe::personality`].
    pub fn register_personality(&mut self) -> io::Result<u16> {
        self.register(IORING_REGISTER_PERSONALITY, ptr::null_mut(), 0)
            .map(|id| id as u16)
    }

    /// Drops registered personality `id` (`IORING_UNREGISTER_PERSONALITY`, 5.6).
    pub fn unregister_personality(&mut self, id: u16) -> io::Result<()> {
        self.register(
            IORING_UNREGISTER_PERSONALITY,
            ptr::null_mut(),
            u32::from(id),
        )
        .map(drop)
    }

    /// Sets `personality` on every entry filled but not yet submitted.
    pub(crate) fn stamp_unpublished(&mut self, personality: u16) {
        self.sq.stamp_unpublished(personality);
    }

    /// Entries filled but not yet published to the kernel.
    #[inline]
    pub(crate) fn sq_unpublished(&self) -> u32 {
        self.sq.unpublished()
    }

    /// Drops the fixed file table (`IORING_UNREGISTER_FILES`).
    pub fn unregister_files(&mut self) -> io::Result<()> {
        self.register(IORING_UNREGISTER_FILES, ptr::null_mut(), 0)
            .map(drop)
    }

    /// Registers buffers for `READ_FIXED`/`WRITE_FIXED` (`IORING_REGISTER_BUFFERS`, 5.1).
    ///
    /// # Safety
    /// Every buffer must stay valid (not freed or unmapped) until
    /// [`unregister_buffers`](Ring::unregister_buffers) or the ring's drop; the kernel pins
    /// and writes them.
    pub unsafe fn register_buffers(&mut self, buffers: &[libc::iovec]) -> io::Result<()> {
        let nr =
            u32::try_from(buffers.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.register(
            IORING_REGISTER_BUFFERS,
            buffers.as_ptr().cast_mut().cast(),
            nr,
        )
        .map(drop)
    }

    /// Registers an empty buffer table of `nr` slots (`IORING_REGISTER_BUFFERS2` with
    /// `IORING_RSRC_REGISTER_SPARSE`, 5.19), to fill with
    /// [`update_buffers`](Ring::update_buffers).
    pub fn register_buffers_sparse(&mut self, nr: u32) -> io::Result<()> {
        let mut reg = IoUringRsrcRegister {
            nr,
            flags: IORING_RSRC_REGISTER_SPARSE,
            ..IoUringRsrcRegister::default()
        };
        self.register(
            IORING_REGISTER_BUFFERS2,
            (&raw mut reg).cast(),
            size_of::<IoUringRsrcRegister>() as u32,
        )
        .map(drop)
    }

    /// Replaces registered buffer slots from `offset` with `buffers`
    /// (`IORING_REGISTER_BUFFERS_UPDATE`, 5.13); an iovec with a null base empties its
    /// slot. Returns how many slots were updated.
    ///
    /// # Safety
    /// As [`register_buffers`](Ring::register_buffers): every buffer must stay valid until
    /// its slot is emptied or the ring is dropped.
    pub unsafe fn update_buffers(
        &mut self,
        offset: u32,
        buffers: &[libc::iovec],
    ) -> io::Result<u32> {
        let nr =
            u32::try_from(buffers.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut update = IoUringRsrcUpdate2 {
            offset,
            data: buffers.as_ptr() as u64,
            nr,
            ..IoUringRsrcUpdate2::default()
        };
        self.register(
            IORING_REGISTER_BUFFERS_UPDATE,
            (&raw mut update).cast(),
            size_of::<IoUringRsrcUpdate2>() as u32,
        )
    }

    /// Drops the registered buffers (`IORING_UNREGISTER_BUFFERS`).
    pub fn unregister_buffers(&mut self) -> io::Result<()> {
        self.register(IORING_UNREGISTER_BUFFERS, ptr::null_mut(), 0)
            .map(drop)
    }

    /// Makes the kernel signal `eventfd` on each completion (`IORING_REGISTER_EVENTFD`, 5.2).
    pub fn register_eventfd(&mut self, eventfd: BorrowedFd<'_>) -> io::Result<()> {
        let mut fd = eventfd.as_raw_fd();
        self.register(IORING_REGISTER_EVENTFD, (&raw mut fd).cast(), 1)
            .map(drop)
    }

    /// Stops signalling the eventfd (`IORING_UNREGISTER_EVENTFD`).
    pub fn unregister_eventfd(&mut self) -> io::Result<()> {
        self.register(IORING_UNREGISTER_EVENTFD, ptr::null_mut(), 0)
            .map(drop)
    }

    /// Caps io-wq workers per NUMA node: `[bounded, unbounded]`, 0 keeping a value; the old
    /// values are written back (`IORING_REGISTER_IOWQ_MAX_WORKERS`, 5.15).
    pub fn register_iowq_max_workers(&mut self, values: &mut [u32; 2]) -> io::Result<()> {
        self.register(
            IORING_REGISTER_IOWQ_MAX_WORKERS,
            values.as_mut_ptr().cast(),
            2,
        )
        .map(drop)
    }
}

/// What is left of a ring whose thread is exiting: its mappings and fd, to be released
/// off that thread's exit path (unmapping in a multi-threaded process costs a TLB shootdown).
pub(crate) struct Remains {
    mappings: [(usize, usize); 2],
    fd: Option<RawFd>,
}

// SAFETY: the mappings and fd belong to the process, not to a thread; Remains only unmaps and
// closes them, from whichever thread drops it.
unsafe impl Send for Remains {}

impl Drop for Remains {
    fn drop(&mut self) {
        for (ptr, len) in self.mappings {
            // SAFETY: the ring that made these mappings gave them up in `into_remains`, and
            // nothing refers to them any more.
            unsafe { sc::munmap(ptr as *mut libc::c_void, len) };
        }
        if let Some(fd) = self.fd {
            // SAFETY: the ring's fd, given up with the ring.
            unsafe { sc::close(fd) };
        }
    }
}

impl Ring {
    /// Gives the ring up when its thread exits, leaving the registered ring fd to the
    /// kernel, which drops a task's registrations when the task exits. Returns what another
    /// thread must release, or `None` in a fork child (nothing of the parent's to release).
    ///
    /// The caller must have reaped every completion whose memory matters.
    pub(crate) fn into_remains(self) -> Option<Remains> {
        let ring = std::mem::ManuallyDrop::new(self);
        if sc::getpid() != ring.owner_pid {
            if let Some(fd) = ring.fd {
                // SAFETY: the fd was inherited by this process and nothing else owns it.
                unsafe { sc::close(fd) };
            }
            return None;
        }
        Some(Remains {
            mappings: [
                (ring.sqes.ptr as usize, ring.sqes.len),
                (ring.rings.ptr as usize, ring.rings.len),
            ],
            fd: ring.fd,
        })
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if sc::getpid() != self.owner_pid {
            // A fork child's copy: the mappings were not inherited (MADV_DONTFORK), so
            // unmapping those addresses could hit the child's own memory. Only the inherited
            // fd is the child's to close.
            if let Some(fd) = self.fd {
                // SAFETY: the fd was inherited by this process and nothing else owns it.
                unsafe { sc::close(fd) };
            }
            return;
        }
        if let Some(index) = self.registered_index {
            let mut update = IoUringRsrcUpdate {
                offset: index,
                resv: 0,
                data: 0,
            };
            // SAFETY: update is valid for the call. Unregistering drops the task's reference,
            // so the ring is freed once unmapped and closed below.
            let _ = unsafe {
                self.register_raw(IORING_UNREGISTER_RING_FDS, (&raw mut update).cast(), 1)
            };
        }
        for mapping in [&self.sqes, &self.rings] {
            // SAFETY: the mapping was made by Mapping::new in this process and nothing refers
            // to it after the ring is gone (entries and completions are copied out).
            unsafe { sc::munmap(mapping.ptr, mapping.len) };
        }
        if let Some(fd) = self.fd {
            // SAFETY: the ring owns its fd.
            unsafe { sc::close(fd) };
        }
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("fd", &self.fd)
            .field("registered_index", &self.registered_index)
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("features", &format_args!("{:#x}", self.features))
            .field("sq_entries", &self.sq_entries)
            .field("cq_entries", &self.cq_entries)
            .finish_non_exhaustive()
    }
}
