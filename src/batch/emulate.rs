//! Chains that run as syscalls — no ring (io_uring refused, `URING_OS=off`), a fork child's
//! scope, arguments an entry cannot carry — run as the ring would run them: concurrently.
//! Each entry is attempted without waiting on a peer (a read of an empty pipe does not
//! block the scope); one that would wait is retried when poll(2) says its fd is ready. So
//! a read queued before the write that feeds it completes, a panic can unwind out of a
//! scope whose reads are blocked, and a scope completes, or deadlocks, exactly when it
//! would with a ring. Chains keep their order (each entry starts when the one before it
//! succeeded), a drained chain starts when everything before it finished, and a
//! [`with_timeout`](crate::with_timeout) deadline ends an entry with `ETIMEDOUT`.

use std::ops::Range;
use std::time::{Duration, Instant};

use super::core::{
    ClosePlan, Core, Queued, ScopeFdValue, State, close_plan, finish_maker, hold_number,
    maker_unfinished, scope_fd_value,
};
use super::erased::Attempted;
use crate::driver::{Polled, fork_generation, poll_until, socket_timeout, with_driver};

/// A chain run as syscalls: its entries `next..end` are still to run.
pub(super) struct EmulatedChain {
    next: usize,
    end: usize,
    /// Starts only once every chain before it finished (a drained entry).
    drain: bool,
    /// The fork generation that started it: a fork child never runs its parent's entries
    /// (the parent runs them, on data meant for it), as it cannot reach the parent's ring.
    generation: u64,
}

/// How long a wait for emulated entries lasts at most while ring entries are in flight too:
/// their completions need the thread to enter the kernel (deferred task work), and an
/// emulated entry may be waiting on one of them.
const RING_SLICE: Duration = Duration::from_millis(1);

impl Core {
    /// Hands entries `range` (whole chains, queued) to the emulation and runs what can run
    /// without waiting. `fallback(i)` says whether the ring lacks entry `i`'s operation.
    pub(super) fn emulate(&self, range: Range<usize>, fallback: impl Fn(usize) -> bool) {
        {
            let mut queued = self.queued.borrow_mut();
            let mut chains = self.emulated.borrow_mut();
            let mut begin = range.start;
            while begin < range.end {
                let end = (begin..range.end)
                    .find(|&i| !queued[i].link)
                    .map_or(range.end, |i| i + 1);
                let drain = queued[begin..end]
                    .iter()
                    .any(|q| q.flags & crate::sys::IOSQE_IO_DRAIN != 0);
                for (i, q) in queued[begin..end].iter_mut().enumerate() {
                    if matches!(q.state, State::Queued) {
                        q.fallback = fallback(begin + i);
                        q.state = State::Emulated;
                    }
                }
                chains.push(EmulatedChain {
                    next: begin,
                    end,
                    drain,
                    generation: fork_generation(),
                });
                begin = end;
            }
        }
        self.emulation_step(None);
    }

    /// Runs the emulation until entry `index` has finished (`None`: until every emulated
    /// entry has).
    pub(super) fn emulate_until(&self, index: Option<usize>) {
        self.emulation_step(Some(index));
    }

    /// One or more passes over the emulated chains: each runs as far as it can without
    /// waiting. With `until`, passes go on, waiting in poll(2) for the fds the entries wait
    /// on, until the entry (or all of them) finished.
    fn emulation_step(&self, until: Option<Option<usize>>) {
        loop {
            let mut waits: Vec<libc::pollfd> = Vec::new();
            let mut nearest: Option<Instant> = None;
            let mut progressed = false;
            {
                let mut queued = self.queued.borrow_mut();
                let mut chains = self.emulated.borrow_mut();
                let generation = fork_generation();
                for c in 0..chains.len() {
                    if chains[c].generation != generation {
                        continue;
                    }
                    if chains[c].drain && c > 0 {
                        // A drained chain waits for every chain before it.
                        break;
                    }
                    let chain = &mut chains[c];
                    progressed |= Self::advance(&mut queued, chain, &mut waits, &mut nearest);
                }
                chains.retain(|c| c.next < c.end);
            }
            let Some(target) = until else {
                return;
            };
            let finished = match target {
                Some(index) => {
                    !matches!(self.queued.borrow()[index].state, State::Emulated)
                        || self.foreign(index)
                }
                None => !self
                    .emulated
                    .borrow()
                    .iter()
                    .any(|c| c.generation == fork_generation()),
            };
            if finished {
                return;
            }
            if progressed {
                continue;
            }
            // Nothing could move: wait for an fd, the nearest deadline, or (with ring
            // entries in flight) a slice, after which the ring's completions are reaped.
            let (ring_busy, reaped) = with_driver(|d| {
                let before = d.completions.in_flight;
                if d.completions.in_flight > 0 || d.ring.sq_pending() > 0 {
                    // An enter that waits for nothing: it submits what is queued and runs
                    // the task work that posts completions (deferred until the thread
                    // enters the kernel), then everything that arrived is filed.
                    d.wait_one_until(Instant::now());
                } else {
                    d.reap_into_completions();
                }
                let busy = d.completions.in_flight > 0
                    || d.completions.streams_armed > 0
                    || d.ring.sq_pending() > 0;
                (busy, d.completions.in_flight < before)
            })
            .unwrap_or((false, false));
            if reaped {
                // A completion came in (a scope fd's maker, perhaps): another pass first.
                continue;
            }
            let limit = match (nearest, ring_busy) {
                (n, true) => Some(n.map_or(Instant::now() + RING_SLICE, |n| {
                    n.min(Instant::now() + RING_SLICE)
                })),
                (n, false) => n,
            };
            if ring_busy && waits.is_empty() && nearest.is_none() {
                // Only ring entries can move things on (a scope fd's maker among them):
                // wait for the next completion itself.
                with_driver(|d| d.wait_one());
                continue;
            }
            if ring_busy {
                with_driver(|d| d.flush_queued());
            }
            // A signal only shortens the wait, as it does for a batch on the ring.
            let _: Polled = poll_until(&mut waits, limit);
        }
    }

    /// Runs chain `chain` as far as it goes without waiting; records what it waits for.
    /// Returns whether an entry finished.
    fn advance(
        queued: &mut [Queued],
        chain: &mut EmulatedChain,
        waits: &mut Vec<libc::pollfd>,
        nearest: &mut Option<Instant>,
    ) -> bool {
        let mut progressed = false;
        while chain.next < chain.end {
            let q = &mut queued[chain.next];
            if !matches!(q.state, State::Emulated) {
                // Finished before it started (a path with a NUL): a failure ends the chain.
                let failed = !matches!(q.state, State::Done(Ok(r)) if r >= 0);
                chain.next += 1;
                if q.link && failed {
                    cancel(&mut queued[chain.next..chain.end], -libc::ECANCELED);
                    chain.next = chain.end;
                }
                continue;
            }
            if let Some(j) = q.fd_entry {
                let user = chain.next;
                // The scope fd's maker has not finished (it runs in another chain, or on
                // the ring): this chain waits for it.
                let unfinished = with_driver(|d| {
                    finish_maker(queued, j, d);
                    maker_unfinished(queued, j, Some(&*d))
                })
                .unwrap_or_else(|| maker_unfinished(queued, j, None));
                if unfinished {
                    return progressed;
                }
                let plan = match with_driver(|d| close_plan(queued, user, Some(&mut *d), true)) {
                    Some(plan) => plan,
                    None => close_plan(queued, user, None, true),
                };
                let closed = match plan {
                    // The maker is finished by now (checked above).
                    ClosePlan::Plain | ClosePlan::Later => None,
                    // The caller's fd: the scope only forgets it.
                    ClosePlan::Forget => Some(Ok(0)),
                    ClosePlan::Hold(fd) => {
                        let (res, held) = hold_number(fd);
                        if held {
                            queued[user].held = Some(fd);
                        }
                        Some(res)
                    }
                };
                if let Some(res) = closed {
                    finish_close(queued, chain, res);
                    progressed = true;
                    continue;
                }
                // The scope fd it uses: made before it (in its chain, or settled when it
                // started). As syscalls, a fixed file cannot stand for it, except the
                // caller's own fd registered with `Batch::fixed`, whose number is its result.
                let value = match with_driver(|d| scope_fd_value(queued, j, user, Some(&*d))) {
                    Some(value) => value,
                    None => scope_fd_value(queued, j, user, None),
                };
                let value = match value {
                    ScopeFdValue::Fixed(_) if queued[j].borrowed => match queued[j].state {
                        State::Done(Ok(fd)) => ScopeFdValue::Raw(fd),
                        _ => ScopeFdValue::Bad,
                    },
                    ScopeFdValue::Fixed(slot) if queued[j].closer == Some(user) => {
                        // The close of a fixed file the scope made: the ring's close of
                        // its slot, as a single call.
                        let res = crate::single::run_on_ring(crate::op::CloseFixed { index: slot });
                        finish_close(queued, chain, res.map(|()| 0));
                        progressed = true;
                        continue;
                    }
                    ScopeFdValue::Fixed(slot) => {
                        // A fixed file the scope made: a regular fd for it, installed for
                        // this call (as a single call) and closed when the scope ends.
                        if queued[user].installed.is_none() {
                            let install = crate::op::FixedInstall {
                                index: slot,
                                flags: 0,
                            };
                            if let Ok(fd) = crate::single::run_on_ring(install) {
                                queued[user].installed =
                                    Some(std::os::fd::IntoRawFd::into_raw_fd(fd));
                            }
                        }
                        queued[user]
                            .installed
                            .map_or(ScopeFdValue::Bad, ScopeFdValue::Raw)
                    }
                    other => other,
                };
                Core::fill_fd(&mut queued[chain.next], value);
            }
            let q = &mut queued[chain.next];
            if let Some(deadline) = q.deadline {
                if Instant::now() >= deadline {
                    // Its deadline passed before it could run: it and the rest of its chain
                    // time out, as a linked timeout on the ring would make them.
                    cancel(&mut queued[chain.next..chain.end], -libc::ETIMEDOUT);
                    chain.next = chain.end;
                    return true;
                }
                *nearest = Some(nearest.map_or(deadline, |n| n.min(deadline)));
            }
            // SAFETY: an Emulated entry holds its live operation, which stays in the arena.
            let attempted = if q.partial > 0 {
                // SAFETY: as above.
                unsafe { (q.fns.attempt_rest)(q.op, q.partial) }.unwrap_or(Attempted::Done(Ok(0)))
            } else {
                // SAFETY: as above.
                unsafe { (q.fns.attempt)(q.op, q.fallback) }
            };
            // SAFETY: as above.
            let has_rest = |done: usize| unsafe { (q.fns.has_rest)(q.op, done) };
            let attempted = match attempted {
                // Part of a write to a blocking pipe or socket, written without waiting: the
                // rest follows as write(2) would write it (a failure after some bytes gives
                // their count, as write(2) does).
                Attempted::Done(Ok(n)) if n > 0 && has_rest(q.partial + n as usize) => {
                    // Tried again at once: the rest, if any is left (else its total).
                    q.partial += n as usize;
                    progressed = true;
                    continue;
                }
                Attempted::Done(Ok(n)) if q.partial > 0 => {
                    let total = q.partial + n.max(0) as usize;
                    Attempted::Done(Ok(total.min(i32::MAX as usize) as i32))
                }
                other => other,
            };
            match attempted {
                Attempted::WouldBlock { fd, events } => {
                    // A socket's own timeout bounds the wait, as it bounds the syscall's
                    // (read once, when the entry first has to wait).
                    let deadline = *q.socket_deadline.get_or_insert_with(|| {
                        socket_timeout(fd, events).map(|t| Instant::now() + t)
                    });
                    if let Some(deadline) = deadline {
                        if Instant::now() >= deadline {
                            // SAFETY: as above.
                            let errno = unsafe { (q.fns.socket_wait)(q.op) }
                                .map_or(libc::EAGAIN, |(_, _, errno)| errno);
                            q.state = State::Done(Ok(-errno));
                            chain.next += 1;
                            if q.link {
                                cancel(&mut queued[chain.next..chain.end], -libc::ECANCELED);
                                chain.next = chain.end;
                            }
                            progressed = true;
                            continue;
                        }
                        *nearest = Some(nearest.map_or(deadline, |n| n.min(deadline)));
                    }
                    waits.push(libc::pollfd {
                        fd,
                        events,
                        revents: 0,
                    });
                    return progressed;
                }
                Attempted::Done(res) => {
                    progressed = true;
                    // A hard link goes on whatever the entry gave, as in the kernel.
                    let breaks = q.link
                        && q.flags & crate::sys::IOSQE_IO_HARDLINK == 0
                        && match &res {
                            // SAFETY: as above.
                            Ok(r) => unsafe { (q.fns.breaks_chain)(q.op, *r) },
                            Err(_) => true,
                        };
                    q.state = State::Done(res);
                    chain.next += 1;
                    if breaks {
                        cancel(&mut queued[chain.next..chain.end], -libc::ECANCELED);
                        chain.next = chain.end;
                    }
                }
            }
        }
        progressed
    }

    /// Whether entry `index` belongs to a chain the parent of this fork child started.
    pub(super) fn foreign(&self, index: usize) -> bool {
        let generation = fork_generation();
        self.emulated
            .borrow()
            .iter()
            .any(|c| c.generation != generation && (c.next..c.end).contains(&index))
    }

    /// Cancels every emulated entry that has not run (a panic unwinds out of the scope):
    /// an entry waiting for its fd has done nothing yet.
    pub(super) fn cancel_emulated(&self) {
        let mut queued = self.queued.borrow_mut();
        for chain in self.emulated.borrow_mut().drain(..) {
            cancel(&mut queued[chain.next..chain.end], -libc::ECANCELED);
        }
    }
}

/// Ends the entries of `rest` that have not run with `-errno` (those that finished before
/// they started, with a conversion error, keep it).
/// Records `res` for the close at `chain.next`, made here rather than by the kernel, and moves
/// the chain on: a failed close ends its chain unless it is hard-linked.
fn finish_close(queued: &mut [Queued], chain: &mut EmulatedChain, res: std::io::Result<i32>) {
    let q = &mut queued[chain.next];
    let failed = !matches!(res, Ok(r) if r >= 0);
    q.state = State::Done(res);
    chain.next += 1;
    if q.link && failed && q.flags & crate::sys::IOSQE_IO_HARDLINK == 0 {
        cancel(&mut queued[chain.next..chain.end], -libc::ECANCELED);
        chain.next = chain.end;
    }
}

fn cancel(rest: &mut [Queued], errno: i32) {
    for q in rest {
        if matches!(q.state, State::Emulated) {
            q.state = State::Done(Ok(errno));
        }
    }
}
