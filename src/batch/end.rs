//! Where a scope's entries are freed: when the scope ends (also when unwinding), it starts
//! what is queued (or, on a panic, cancels it), waits for every completion of its entries,
//! and only then drops the operations and gives their memory back. An entry whose
//! completion cannot be reaped is leaked, never freed.

use super::core::{Core, SPARE_QUEUE, State};
use crate::driver::{IGNORED, with_driver};

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
        let pending: Vec<u32> = queued
            .iter()
            .flat_map(|q| {
                let op = match q.state {
                    State::Ring { slot } => Some(slot),
                    _ => None,
                };
                op.into_iter().chain(q.timeout_slot)
            })
            .collect();
        if !pending.is_empty() && !self.leak.get() {
            let finished = with_driver(|driver| {
                if cancel {
                    for &slot in &pending {
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
                for &slot in &pending {
                    while driver.completions.is_pending(slot) {
                        driver.wait_one();
                    }
                    driver.completions.take(slot);
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
