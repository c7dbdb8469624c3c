//! Where a wait loops. Every `io_uring_enter` that waits is made here: for the blocking
//! entry of a single call (with its signal and `O_NONBLOCK` handling), for any completion of
//! a batch, and to make room in the rings. A wait returns only once the entries it is
//! responsible for are reaped, so the kernel never touches memory that was given back.

use std::io;
use std::os::fd::RawFd;

use std::time::{Duration, Instant};

use super::{BLOCKING, Driver, IGNORED, nonblocking_stream};
use crate::op::{FdWait, OnSignal};
use crate::sys::IORING_FEAT_NODROP;
use crate::sys::syscall::{self as sc, Errno};

/// Entries kept free in the CQ for the blocking path: an operation, its linked timeout and a
/// cancel.
const CQ_RESERVE: u32 = 3;

/// What the first enter of a blocking call found.
pub(crate) enum FirstWait {
    /// The blocking entry completed first, with this result.
    Done(i32),
    /// A signal cut the wait short.
    Interrupted,
    /// Something else: other completions first, or an error to look at in the full wait.
    Pending,
}

/// How a full wait for the blocking entry ended.
pub(crate) enum Waited {
    /// Its completion arrived, with this result (`-EINTR` if a signal cancelled it).
    Completed(i32),
    /// The kernel refused the submission before consuming the entries, which were taken
    /// back: nothing of them runs.
    Withdrawn,
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

/// After a wait cut short by a signal: whether the syscall would have failed with EINTR,
/// which happens only when a handler ran that was installed without `SA_RESTART` (poll(2)
/// fails after any handler). A stop and continue, a ptrace attach or an `SA_RESTART`
/// handler restart the syscall, so the call keeps waiting. Which signal arrived is unknown
/// here, so any installed handler that would interrupt counts. Runs only after a signal.
#[cold]
pub(crate) fn signal_interrupts(on_signal: OnSignal) -> bool {
    if on_signal == OnSignal::Restart {
        return false;
    }
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
        let Some(action) = sc::sigaction_of(signal) else {
            continue;
        };
        let handled = action.handler != libc::SIG_DFL && action.handler != libc::SIG_IGN;
        let restarts = action.flags & libc::SA_RESTART as u64 != 0;
        if handled && (on_signal == OnSignal::InterruptAlways || !restarts) {
            return true;
        }
    }
    false
}

impl Driver {
    /// Submits whatever is queued without waiting. Only entries whose memory outlives their
    /// completion are ever queued (see the single-call path and the batch scope).
    #[cold]
    pub(crate) fn flush_queued(&mut self) {
        while self.ring.sq_pending() > 0 {
            self.before_submit();
            // SAFETY: every queued entry points to memory its owner keeps until the
            // completion is reaped (blocking ops wait in `wait_blocking`, batch ops in their
            // scope).
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

    /// Makes room for `n` more batch entries: SQ space (submitting what is queued), and CQ
    /// space counting everything in flight.
    ///
    /// The CQ never makes a batch wait: operations in flight may be waiting for the ones
    /// about to be queued (reads on a pipe, then the write that feeds them), so waiting for
    /// their completions could deadlock. With `IORING_FEAT_NODROP` (5.5) the kernel keeps
    /// completions that find the CQ full in its overflow list until they are reaped, so
    /// more may be in flight than the CQ holds. Only kernels without it wait here.
    pub(crate) fn make_room(&mut self, n: u32) {
        let capacity = self.ring.cq_entries().saturating_sub(CQ_RESERVE).max(1);
        if self.completions.in_flight + n > capacity {
            self.reap_into_completions();
            if self.ring.features() & IORING_FEAT_NODROP == 0 {
                while self.completions.in_flight + n > capacity && self.completions.in_flight > 0 {
                    self.wait_one();
                }
            }
        }
        if self.ring.sq_space_left() < n {
            self.flush_queued();
        }
    }

    /// Submits what is queued and waits for at least one completion, filing everything
    /// that arrived. A signal only shortens the wait.
    pub(crate) fn wait_one(&mut self) {
        if self.completions.in_flight == 0
            && self.completions.streams_armed == 0
            && self.ring.sq_pending() == 0
        {
            // Nothing can complete: blocking would never end.
            self.reap_into_completions();
            return;
        }
        self.before_submit();
        // SAFETY: every queued entry points to memory its owner keeps until the completion is
        // reaped (batch operations live in their scope, which waits for all of them).
        let res = unsafe { self.ring.submit_and_wait(1) };
        self.counters.enter();
        if let Err(e) = res {
            if !transient(&e) {
                ring_failed(&e);
            }
        }
        self.reap_into_completions();
    }

    /// As [`wait_one`](Driver::wait_one), but waits no longer than until `deadline`.
    pub(crate) fn wait_one_until(&mut self, deadline: Instant) {
        if self.completions.in_flight == 0
            && self.completions.streams_armed == 0
            && self.ring.sq_pending() == 0
        {
            self.reap_into_completions();
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        self.before_submit();
        // SAFETY: as in wait_one.
        let res = unsafe { self.ring.submit_and_wait_timeout(1, left) };
        self.counters.enter();
        if let Err(e) = res {
            if !transient(&e) && e.raw_os_error() != Some(libc::ETIMEDOUT) {
                ring_failed(&e);
            }
        }
        self.reap_into_completions();
    }

    /// Submits what is queued and waits for one completion; if the oldest one is the
    /// BLOCKING entry's, takes it. Otherwise everything is left as it was for
    /// [`wait_blocking`](Driver::wait_blocking), whose enter then submits what is still
    /// queued and finds the completions already there.
    ///
    /// # Safety
    /// As [`wait_blocking`](Driver::wait_blocking).
    #[inline]
    pub(crate) unsafe fn submit_and_take_blocking(&mut self) -> FirstWait {
        self.before_submit();
        // SAFETY: the caller's contract.
        let res = unsafe { self.ring.submit_and_wait(1) };
        self.counters.enter();
        if let Err(e) = res {
            return if e.raw_os_error() == Some(libc::EINTR) {
                FirstWait::Interrupted
            } else {
                FirstWait::Pending
            };
        }
        if self.ring.cq_ready() == 0 {
            // With min_complete 1, an enter that returns with nothing to reap was cut short
            // by a signal.
            return FirstWait::Interrupted;
        }
        match self.ring.peek_cqe_if(|cqe| cqe.user_data() == BLOCKING) {
            Some(cqe) => FirstWait::Done(cqe.result()),
            None => FirstWait::Pending,
        }
    }

    /// Queues a cancel of the BLOCKING entry; `false` if the SQ has no room for it now (the
    /// next enter makes room, and the caller tries again after it).
    fn cancel_blocking(&mut self) -> bool {
        match self.ring.get_sqe() {
            Some(sqe) => {
                sqe.prep_cancel(BLOCKING, 0).user_data(IGNORED);
                true
            }
            None => false,
        }
    }

    /// Submits what is queued and waits for the BLOCKING completion, dispatching others.
    ///
    /// On a signal the operation is cancelled (if the syscall would fail with EINTR, see
    /// [`OnSignal`]) and still waited for: a cancelled operation gives `-EINTR`, one that
    /// completed anyway its own result, so no data is lost. With `check`, the entry is only
    /// submitted first; if it did not complete at once, the fd decides, as it would for the
    /// syscall: on an `O_NONBLOCK` stream (unless checked before submitting) the entry is
    /// cancelled and gives the would-block errno; on a socket with a timeout
    /// (`SO_RCVTIMEO`/`SO_SNDTIMEO`) it waits that long, then is cancelled the same way.
    /// `mark` is where the entries of this call start in the SQ, for a withdrawal.
    ///
    /// # Safety
    /// Every queued entry must point to memory that stays valid until its completion is
    /// reaped; the BLOCKING entry's memory until this returns.
    pub(crate) unsafe fn wait_blocking(
        &mut self,
        on_signal: OnSignal,
        mark: u32,
        mut check: Option<FdWait>,
        interrupted_before: bool,
    ) -> Waited {
        let mut cancelled = false;
        if interrupted_before && signal_interrupts(on_signal) {
            // A signal already cut the first wait short (see submit_and_take_blocking).
            cancelled = self.cancel_blocking();
        }
        let mut would_block: Option<Errno> = None;
        // The socket's timeout: when the wait ends, and with which errno.
        let mut socket_deadline: Option<(Instant, Errno)> = None;
        loop {
            // An operation that may have to wait on a pipe or socket is first only submitted:
            // if it did not complete at once, the fd decides below.
            let wait_nr = if check.is_some() { 0 } else { 1 };
            self.before_submit();
            let res = match socket_deadline {
                Some((until, errno)) if !cancelled => {
                    let left = until.saturating_duration_since(Instant::now());
                    // SAFETY: the caller's contract.
                    match unsafe { self.ring.submit_and_wait_timeout(1, left) } {
                        Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => {
                            // The socket's timeout ran out: cancelled, the syscall's EAGAIN.
                            if self.cancel_blocking() {
                                cancelled = true;
                                would_block = Some(errno);
                            }
                            Ok(0)
                        }
                        other => other,
                    }
                }
                // SAFETY: the caller's contract.
                _ => unsafe { self.ring.submit_and_wait(wait_nr) },
            };
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
                        return Waited::Withdrawn;
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
                return Waited::Completed(match would_block {
                    Some(errno) if was_cancelled => -errno.0,
                    _ if cancelled && was_cancelled => -libc::EINTR,
                    _ => r,
                });
            }
            if let Some(wait) = check.take() {
                let errno = wait.would_block.unwrap_or(Errno(libc::EAGAIN));
                if !wait.check_first && nonblocking_stream(wait.fd) {
                    // io_uring waits for a pipe or socket even when it is O_NONBLOCK; the
                    // syscall would fail at once instead.
                    if self.cancel_blocking() {
                        cancelled = true;
                        would_block = Some(errno);
                    }
                } else if let Some(timeout) = socket_timeout(wait.fd, wait.events) {
                    // The syscall would wait only this long (the ring ignores the socket's
                    // own timer).
                    socket_deadline = Some((Instant::now() + timeout, errno));
                }
                continue;
            }
            if socket_deadline.is_some() && res.is_ok() && !reaped && would_block.is_some() {
                // The timed wait ended because its time ran out (handled above).
                continue;
            }
            // With min_complete 1, an enter that returns with nothing to reap was cut short
            // by a signal (its handler has run by now).
            if res.is_ok() && !reaped {
                interrupted = true;
            }
            // A socket call with a timeout is never restarted after a handler, SA_RESTART
            // or not (signal(7)): it fails with EINTR.
            let on_signal = if socket_deadline.is_some() {
                OnSignal::InterruptAlways
            } else {
                on_signal
            };
            if interrupted && !cancelled && signal_interrupts(on_signal) {
                // The cancel goes in the next enter; with the SQ full, that enter submits
                // what is queued first and the cancel follows in the one after.
                cancelled = self.cancel_blocking();
            }
        }
    }
}

/// The timeout (`SO_RCVTIMEO` for a wait to read, `SO_SNDTIMEO` to write) of socket `fd`, if
/// it has one; `None` for other fds. Read when a call is about to wait, every time (the
/// application may change it with setsockopt at any moment).
pub(crate) fn socket_timeout(fd: RawFd, events: i16) -> Option<Duration> {
    let option = if events & libc::POLLOUT != 0 {
        libc::SO_SNDTIMEO
    } else {
        libc::SO_RCVTIMEO
    };
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `tv`, and `len` back.
    let res =
        unsafe { sc::getsockopt(fd, libc::SOL_SOCKET, option, (&raw mut tv).cast(), &mut len) };
    if res != 0 || (tv.tv_sec <= 0 && tv.tv_usec <= 0) {
        return None;
    }
    Some(Duration::new(tv.tv_sec as u64, 0) + Duration::from_micros(tv.tv_usec as u64))
}
