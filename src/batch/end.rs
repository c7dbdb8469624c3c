//! Where a scope's entries are freed: when the scope ends (also when unwinding), it starts
//! what is queued (or, on a panic, cancels it), waits for every completion of its entries,
//! and only then drops the operations and gives their memory back. An entry whose
//! completion cannot be reaped is leaked, never freed.

use super::core::{
    Core, SPARE_QUEUE, ScopeFdValue, State, closed_by_scope, release_number, scope_fd_value,
};
use crate::driver::{IGNORED, Slot, forget_fd, with_driver};
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
        if !cancel && !self.leak.get() {
            // Nobody waits for these: a call on a socket with a timeout of its own still ends
            // when that runs out, as the syscall would.
            for index in 0..self.queued.get_mut().len() {
                if let State::Ring { slot } = self.queued.get_mut()[index].state {
                    self.wait_entry(index, slot);
                }
            }
        }
        // Entries that made fds the scope still owns: their results stay in their slots until
        // the fds are closed below.
        let makers: Vec<usize> = self
            .queued
            .get_mut()
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.op.is_null() && q.fns.makes_fd && !q.fd_gone)
            .map(|(i, _)| i)
            .collect();
        let queued = self.queued.get_mut();
        // Their results, and those of the calls meant to close them, stay in their slots.
        let maker_slots: Vec<u32> = makers
            .iter()
            .flat_map(|&i| std::iter::once(i).chain(queued[i].closer))
            .filter_map(|i| match queued[i].state {
                State::Ring { slot } => Some(slot),
                _ => None,
            })
            .collect();
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
                }
            });
            if finished.is_none() {
                self.leak.set(true);
            }
        }
        if !self.leak.get() {
            self.finish_unwaited(&maker_slots, cancel);
            self.close_scope_fds(&makers);
        }
        if self.leak.get() {
            // No driver to wait on: this thread's ring is unreachable (re-entered from a
            // signal handler). The kernel may still write to the operations' memory, so it
            // must never be freed: leak it.
            std::mem::forget(std::mem::take(self.queued.get_mut()));
            std::mem::forget(std::mem::take(self.kept.get_mut()));
            std::mem::forget(std::mem::take(self.bufs.get_mut()));
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
        for buf in self.bufs.get_mut().drain(..) {
            if let Some(slot) = buf.reg {
                let unregistered = with_driver(|d| {
                    let empty = libc::iovec {
                        iov_base: std::ptr::null_mut(),
                        iov_len: 0,
                    };
                    // SAFETY: an empty iovec pins nothing.
                    let res = unsafe { d.ring.update_buffers(u32::from(slot), &[empty]) };
                    d.release_buffer_slot(slot);
                    res.is_ok()
                });
                if unregistered != Some(true) {
                    // Still registered (the ring is out of reach): the kernel keeps the pages
                    // pinned and may be asked to use them; never free them.
                    continue;
                }
            }
            // SAFETY: allocated with this layout in Batch::buffer; every operation naming it
            // has completed, and it is no longer registered.
            unsafe { std::alloc::dealloc(buf.ptr, super::core::pool_layout(buf.len)) };
        }
        self.arena.get_mut().recycle();
        let queue = std::mem::take(self.queued.get_mut());
        if queue.capacity() <= 4096 {
            let _ = SPARE_QUEUE.try_with(|spare| spare.set(queue));
        }
    }
}

impl Core {
    /// Takes the results nobody waited for out of their completion slots (all reaped by
    /// now), except those of `keep`, and runs what the ring's answer needs afterwards, as a
    /// wait would have (a close of an io_uring fd, which the ring refuses, as close(2); the
    /// SIGPIPE of a send to a closed peer). Fd makers are left to `close_scope_fds`. One
    /// that io-wq cancelled on its own (see `unchained_untimed`) never ran: it runs as its
    /// syscall, unless the scope unwinds (`cancel`), which cancels what is left on purpose.
    fn finish_unwaited(&mut self, keep: &[u32], cancel: bool) {
        // A maker whose handle got a duplicate kept its own fd (`held`) for the calls that
        // used it; if one of them was its close, and that succeeded, it is closed already.
        let closed: Vec<bool> = {
            let queued = self.queued.get_mut();
            (0..queued.len())
                .map(|j| {
                    queued[j].held.is_some()
                        && with_driver(|d| closed_by_scope(queued, j, Some(&*d)))
                            .unwrap_or_else(|| closed_by_scope(queued, j, None))
                })
                .collect()
        };
        for (q, closed) in self.queued.get_mut().iter_mut().zip(closed) {
            if closed {
                q.held = None;
            }
        }
        let alone: Vec<bool> = (0..self.queued.get_mut().len())
            .map(|i| Core::unchained_untimed(self.queued.get_mut(), i))
            .collect();
        for (i, q) in self.queued.get_mut().iter_mut().enumerate() {
            if let Some(slot) = q.timeout_slot.take() {
                with_driver(|d| d.completions.take(slot));
            }
            let State::Ring { slot } = q.state else {
                continue;
            };
            if keep.contains(&slot) {
                continue;
            }
            let res = with_driver(|d| d.completions.take(slot)).flatten();
            if let (Some(res), false) = (res, q.op.is_null() || q.fns.makes_fd) {
                if res == -libc::ECANCELED && alone[i] && !cancel && q.socket_timed_out.is_none() {
                    // SAFETY: the entry's live operation; the ring is done with it.
                    unsafe { (q.fns.syscall)(q.op) };
                } else {
                    // SAFETY: the entry's live operation, its completion reaped: the ring is
                    // done with it.
                    unsafe { (q.fns.after_ring)(q.op, res, q.on_callers_fd()) };
                }
            }
            q.state = State::Taken;
        }
        // Numbers held for calls that might still have looked them up: all done now.
        for q in self.queued.get_mut().iter_mut() {
            for fd in [q.held.take(), q.installed.take()].into_iter().flatten() {
                release_number(fd);
            }
        }
    }

    /// Closes the fds made by `makers` that the scope still owns (their completions are
    /// reaped, their results still in their slots): a fixed file with a close that frees
    /// its slot when it completes, a regular fd with close(2). A fixed slot whose fd a
    /// call of the scope closed goes back to the free slots.
    fn close_scope_fds(&mut self, makers: &[usize]) {
        let mut fixed_closes = Vec::new();
        for &j in makers {
            let value =
                match with_driver(|d| scope_fd_value(self.queued.get_mut(), j, j, Some(&*d))) {
                    Some(value) => value,
                    None => scope_fd_value(self.queued.get_mut(), j, j, None),
                };
            // Whether a call of the scope closed it: its close ran and succeeded.
            let closer = self.queued.get_mut()[j].closer;
            let closed = closer.is_some_and(|c| {
                let res = match self.queued.get_mut()[c].state {
                    State::Done(Ok(r)) => Some(r),
                    State::Ring { slot } => with_driver(|d| d.completions.peek(slot)).flatten(),
                    _ => None,
                };
                res.is_some_and(|r| r >= 0)
            });
            for i in std::iter::once(j).chain(closer) {
                if let State::Ring { slot } = self.queued.get_mut()[i].state {
                    with_driver(|d| d.completions.take(slot));
                }
            }
            let q = &mut self.queued.get_mut()[j];
            q.fd_gone = true;
            if closed && q.borrowed {
                // The caller's fd, "closed" by forgetting it: its fixed slot still holds it.
                if let Some(slot) = q.fixed_slot.take() {
                    fixed_closes.push(slot);
                }
                continue;
            }
            if closed {
                // Its fixed slot (if any) is released below.
                continue;
            }
            match value {
                ScopeFdValue::Fixed(slot) => {
                    q.fixed_slot = None;
                    fixed_closes.push(slot);
                }
                // An fd registered with Batch::fixed (and not fixed) is the caller's.
                ScopeFdValue::Raw(_) if q.borrowed => {}
                ScopeFdValue::Raw(fd) => {
                    // SAFETY: the fd the entry made, owned by the scope and used by nothing
                    // any more (every entry has completed).
                    unsafe { sc::close(fd) };
                    forget_fd(fd);
                }
                ScopeFdValue::Bad => {}
            }
        }
        // Fixed files whose handle took a regular fd for them while calls still used them.
        for q in self.queued.get_mut().iter_mut() {
            if q.taken_at.is_some() && !q.fd_gone {
                if let Some(slot) = q.fixed_slot.take() {
                    fixed_closes.push(slot);
                }
                q.fd_gone = true;
            }
        }
        // Slots of fixed files closed by a call of the scope.
        let released: Vec<u32> = self
            .queued
            .get_mut()
            .iter_mut()
            .filter(|q| q.fd_gone)
            .filter_map(|q| q.fixed_slot.take())
            .collect();
        with_driver(|d| {
            for slot in released {
                d.release_fixed_slot(slot);
            }
            for slot in fixed_closes {
                if d.ring.sq_space_left() == 0 {
                    d.flush_queued();
                }
                let user_data = d.completions.alloc_as(Slot::Detached { fixed: Some(slot) });
                if let Some(sqe) = d.ring.get_sqe() {
                    sqe.prep_close_direct(slot).user_data(u64::from(user_data));
                }
            }
            d.flush_queued();
        });
    }
}
