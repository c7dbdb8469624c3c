//! Where a scope's entries are freed: when the scope ends (also when unwinding), it starts
//! what is queued (or, on a panic, cancels it), waits for every completion of its entries,
//! and only then drops the operations and gives their memory back. An entry whose
//! completion cannot be reaped is leaked, never freed.

use super::core::{Core, SPARE_QUEUE, State};
use crate::driver::{IGNORED, forget_fd, with_driver};
use crate::sys::syscall as sc;

impl Drop for Core {
    fn drop(&mut self) {
        if self.forked() {
            // Entries still in the parent's ring cannot be reaped here; their memory is this
            // process's copy: leak it rather than free it.
            self.leak.set(true);
        }
        self.linking.set(false);
        // The scope's own closure panicked. (A scope that runs in a Drop while another panic
        // unwinds, such as a flush-on-drop guard, returned normally and runs everything.)
        let cancel = !self.returned.get();
        if cancel {
            self.cancel_emulated();
            // Unwinding: what never started never will (no write or unlink on the way out).
            let started = self.started.replace(self.queued.get_mut().len());
            for q in &mut self.queued.get_mut()[started..] {
                if matches!(q.state, State::Queued) {
                    q.state = State::Done(Ok(-libc::ECANCELED));
                }
                if let Some(index) = q.detached.take() {
                    with_driver(|d| d.release_fixed_slot(index));
                }
            }
        } else {
            self.start_pending();
            self.emulate_until(None);
        }
        let queued = self.queued.get_mut();
        // The ring slots still to reap, with the entry whose result each holds (none for a
        // linked timeout's).
        let pending: Vec<(Option<usize>, u32)> = queued
            .iter()
            .enumerate()
            .flat_map(|(i, q)| {
                let op = match q.state {
                    State::Ring { slot } => Some((Some(i), slot)),
                    _ => None,
                };
                op.into_iter()
                    .chain(q.timeout_slot.map(|slot| (None, slot)))
            })
            .collect();
        // Results nobody took, by entry: an fd one of them made must be closed.
        let mut untaken: Vec<(usize, i32)> = Vec::new();
        if !pending.is_empty() && !self.leak.get() {
            let finished = with_driver(|driver| {
                if cancel {
                    for &(_, slot) in &pending {
                        if driver.completions.is_pending(slot) {
                            if driver.ring.sq_space_left() == 0 {
                                driver.flush_queued();
                            }
                            if let Some(sqe) = driver.ring.get_sqe() {
                                sqe.prep_cancel(u64::from(slot), 0).user_data(IGNORED);
                            }
                        }
                    }
                }
                for &(entry, slot) in &pending {
                    while driver.completions.is_pending(slot) {
                        driver.wait_one();
                    }
                    if let (Some(i), Some(res)) = (entry, driver.completions.take(slot)) {
                        untaken.push((i, res));
                    }
                }
            });
            if finished.is_none() {
                self.leak.set(true);
            }
        }
        if self.leak.get() {
            // No driver to wait on: this thread's ring is unreachable (re-entered from a
            // signal handler). The kernel may still write to the operations' memory, so it
            // must never be freed: leak it.
            std::mem::forget(std::mem::take(self.queued.get_mut()));
            std::mem::forget(std::mem::take(self.kept.get_mut()));
            std::mem::forget(std::mem::take(self.arena.get_mut()));
            return;
        }
        self.finish_untaken(untaken, cancel);
        for q in self.queued.get_mut().drain(..) {
            if !q.op.is_null() {
                // SAFETY: the operation lives in the arena, was not taken by a handle, and
                // its completion has been reaped above, so the kernel no longer uses it.
                unsafe { (q.fns.drop)(q.op) };
            }
        }
        for (value, drop) in self.kept.get_mut().drain(..) {
            // SAFETY: a value the scope kept in its arena; every completion has been reaped,
            // so nothing the kernel holds refers to it any more.
            unsafe { drop(value) };
        }
        self.arena.get_mut().recycle();
        let queue = std::mem::take(self.queued.get_mut());
        if queue.capacity() <= 4096 {
            let _ = SPARE_QUEUE.try_with(|spare| spare.set(queue));
        }
    }
}

impl Core {
    /// Finishes the operations nobody waited for: one io-wq cancelled on its own runs as
    /// its syscall (see `unchained_untimed`), unless the scope is unwinding; the fds such
    /// operations made (an open, socket or accept whose handle was dropped or leaked) are
    /// closed, as their output would have owned them. `ring` holds the raw ring results of
    /// such entries; results of entries that ran as syscalls are in their state.
    fn finish_untaken(&mut self, ring: Vec<(usize, i32)>, cancel: bool) {
        let mut fds = Vec::new();
        for (i, res) in ring {
            let queued = self.queued.get_mut();
            let alone = Core::unchained_untimed(queued, i);
            let q = &queued[i];
            if q.op.is_null() {
                continue;
            }
            let fd = if res == -libc::ECANCELED && alone && !cancel {
                // SAFETY: the entry's live operation; the kernel is done with it.
                unsafe { (q.fns.syscall)(q.op) }
            } else if q.fns.makes_fd {
                // SAFETY: the entry's live operation; the ring completed it with `res`.
                unsafe { (q.fns.after_ring)(q.op, res) }
            } else {
                continue;
            };
            if q.fns.makes_fd {
                fds.push(fd);
            }
        }
        let queued = self.queued.get_mut();
        for q in queued.iter() {
            if let (true, false, State::Done(Ok(res))) = (q.fns.makes_fd, q.op.is_null(), &q.state)
            {
                fds.push(*res);
            }
        }
        for fd in fds.into_iter().filter(|&fd| fd >= 0) {
            // SAFETY: a new fd the kernel gave an operation whose output was never made, so
            // nothing else owns it; closed once.
            unsafe { sc::close(fd) };
            forget_fd(fd);
        }
    }
}
