//! Completion slots: the `user_data` of a batch entry is its slot number, and a completion
//! that arrives while anyone waits is filed in its slot until its handle takes it. Also the
//! fixed file slots (direct descriptors) of linked open → read → close chains.

use super::Driver;
use crate::sys::*;

/// Completion slots of a thread's batch entries, and its fixed file slots.
#[derive(Default)]
pub(crate) struct Completions {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Entries queued or in the kernel whose completion has not arrived: never more than
    /// the CQ holds.
    pub(crate) in_flight: u32,
    /// Free slots of the ring's fixed file table, once registered.
    fixed_free: Option<Vec<u32>>,
    /// Free slots of the ring's registered buffer table, once registered.
    buffers_free: Option<Vec<u16>>,
    /// Multishot streams: the results each has posted and not yet handed out.
    pub(crate) streams: Vec<Option<StreamSlot>>,
    /// Multishot requests in the kernel (not counted in `in_flight`: a scope never waits
    /// for them to end).
    pub(crate) streams_armed: u32,
}

/// A multishot request's completions.
#[derive(Default)]
pub(crate) struct StreamSlot {
    /// Results posted and not yet taken.
    pub(crate) results: std::collections::VecDeque<i32>,
    /// Whether the request is in the kernel (it posts `IORING_CQE_F_MORE` while it is).
    pub(crate) armed: bool,
}

/// The state of one completion slot.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    Free,
    /// Its entry is in the ring (or queued for it).
    Pending,
    /// Nobody takes the result: the slot frees itself (and a fixed file slot) when the
    /// completion arrives.
    Detached {
        fixed: Option<u32>,
    },
    /// The completion's result, waiting to be taken.
    Done(i32),
}

impl Completions {
    /// A slot for a new entry, in `state` (`Pending` or `Detached`).
    pub(crate) fn alloc_as(&mut self, state: Slot) -> u32 {
        self.in_flight += 1;
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = state;
                slot
            }
            None => {
                self.slots.push(state);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Files the result of slot `user_data`.
    pub(crate) fn complete(&mut self, user_data: u64, res: i32) {
        let Some(slot) = self.slots.get_mut(user_data as usize) else {
            return;
        };
        match *slot {
            Slot::Pending => *slot = Slot::Done(res),
            Slot::Detached { fixed } => {
                *slot = Slot::Free;
                self.free.push(user_data as u32);
                if let (Some(index), Some(free)) = (fixed, self.fixed_free.as_mut()) {
                    free.push(index);
                }
            }
            Slot::Free | Slot::Done(_) => return,
        }
        self.in_flight -= 1;
    }

    /// Files a completion of multishot stream `id`; `more` says the request goes on.
    pub(crate) fn complete_stream(&mut self, id: usize, res: i32, more: bool) {
        let Some(Some(stream)) = self.streams.get_mut(id) else {
            return;
        };
        if res != -libc::ECANCELED {
            stream.results.push_back(res);
        }
        if !more && stream.armed {
            stream.armed = false;
            self.streams_armed -= 1;
        }
    }

    /// A new multishot stream's id.
    pub(crate) fn open_stream(&mut self) -> usize {
        match self.streams.iter().position(Option::is_none) {
            Some(id) => {
                self.streams[id] = Some(StreamSlot::default());
                id
            }
            None => {
                self.streams.push(Some(StreamSlot::default()));
                self.streams.len() - 1
            }
        }
    }

    /// Takes a finished slot's result and frees the slot.
    pub(crate) fn take(&mut self, slot: u32) -> Option<i32> {
        match self.slots.get(slot as usize) {
            Some(Slot::Done(res)) => {
                let res = *res;
                self.slots[slot as usize] = Slot::Free;
                self.free.push(slot);
                Some(res)
            }
            _ => None,
        }
    }

    /// A finished slot's result, left in place.
    pub(crate) fn peek(&self, slot: u32) -> Option<i32> {
        match self.slots.get(slot as usize) {
            Some(Slot::Done(res)) => Some(*res),
            _ => None,
        }
    }

    /// Whether the slot's completion has yet to arrive.
    pub(crate) fn is_pending(&self, slot: u32) -> bool {
        matches!(self.slots.get(slot as usize), Some(Slot::Pending))
    }
}

/// What [`Driver::fixed_slot`] found.
pub(crate) enum FixedSlot {
    Free(u32),
    /// Every slot belongs to a chain not finished yet; its close frees one.
    Busy,
    /// No sparse fixed file tables (before 5.19) or a missing opcode.
    Unsupported,
}

impl Driver {
    /// A free slot of the fixed file table, registering a sparse table on first use.
    pub(crate) fn fixed_slot(&mut self) -> FixedSlot {
        let opcodes = [IORING_OP_OPENAT, IORING_OP_READ, IORING_OP_CLOSE];
        if !opcodes.iter().all(|&op| self.supports(op)) {
            return FixedSlot::Unsupported;
        }
        if self.completions.fixed_free.is_none() {
            let size = self.ring.cq_entries();
            if self.ring.register_files_sparse(size).is_err() {
                return FixedSlot::Unsupported;
            }
            self.completions.fixed_free = Some((0..size).rev().collect());
        }
        match self.completions.fixed_free.as_mut().and_then(Vec::pop) {
            Some(index) => FixedSlot::Free(index),
            None => FixedSlot::Busy,
        }
    }

    /// A free slot of the registered buffer table, registering a sparse table on first
    /// use; `None` where the ring has none (before 5.19) or all are taken.
    pub(crate) fn buffer_slot(&mut self) -> Option<u16> {
        if !self.supports(IORING_OP_READ_FIXED) {
            return None;
        }
        if self.completions.buffers_free.is_none() {
            const SLOTS: u16 = 1024;
            self.ring.register_buffers_sparse(u32::from(SLOTS)).ok()?;
            self.completions.buffers_free = Some((0..SLOTS).rev().collect());
        }
        self.completions.buffers_free.as_mut()?.pop()
    }

    /// Gives back a registered buffer slot, emptied.
    pub(crate) fn release_buffer_slot(&mut self, index: u16) {
        if let Some(free) = self.completions.buffers_free.as_mut() {
            free.push(index);
        }
    }

    /// Gives back a fixed file slot whose chain never reached the kernel.
    pub(crate) fn release_fixed_slot(&mut self, index: u32) {
        if let Some(free) = self.completions.fixed_free.as_mut() {
            free.push(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_count_what_is_in_flight() {
        let mut c = Completions::default();
        let a = c.alloc_as(Slot::Pending);
        let b = c.alloc_as(Slot::Pending);
        assert_ne!(a, b);
        assert_eq!(c.in_flight, 2);
        assert!(c.is_pending(a));
        assert_eq!(c.take(a), None, "nothing arrived yet");
        c.complete(u64::from(a), 7);
        assert_eq!(c.in_flight, 1);
        assert_eq!(c.peek(a), Some(7));
        assert_eq!(c.take(a), Some(7));
        assert_eq!(c.take(a), None, "taken once");
        // A duplicate or stray completion changes nothing.
        c.complete(u64::from(a), 9);
        c.complete(12345, 1);
        assert_eq!(c.in_flight, 1);
        let again = c.alloc_as(Slot::Pending);
        assert_eq!(again, a, "the freed slot comes back first");
    }

    #[test]
    fn a_detached_slot_frees_itself_and_its_fixed_slot() {
        let mut c = Completions {
            fixed_free: Some(Vec::new()),
            ..Completions::default()
        };
        let slot = c.alloc_as(Slot::Detached { fixed: Some(3) });
        assert!(!c.is_pending(slot));
        c.complete(u64::from(slot), 0);
        assert_eq!(c.in_flight, 0);
        assert_eq!(c.take(slot), None, "nobody takes a detached result");
        assert_eq!(c.fixed_free.as_deref(), Some(&[3][..]));
        assert_eq!(c.alloc_as(Slot::Pending), slot);
    }
}
