//! The submission and completion queues shared with the kernel.
//!
//! This file and nothing else in the crate holds the rings' memory orderings. They mirror
//! liburing (`barrier.h`, `queue.c`): the SQ tail is published with a store-release, the CQ
//! tail is read with a load-acquire, the CQ head is advanced with a store-release, and a full
//! fence sits between publishing the SQ tail and reading the SQPOLL wakeup flag.

use std::sync::atomic::{AtomicU32, Ordering, fence};

use super::entry::{Cqe, Sqe};
use crate::sys::*;

/// The submission queue: pointers into the kernel-shared mapping plus our local tail.
pub(crate) struct SubmissionQueue {
    pub(crate) khead: *const AtomicU32,
    pub(crate) ktail: *const AtomicU32,
    pub(crate) kflags: *const AtomicU32,
    pub(crate) kdropped: *const AtomicU32,
    pub(crate) sqes: *mut IoUringSqe,
    pub(crate) mask: u32,
    pub(crate) entries: u32,
    /// The next slot we hand out; slots between `*ktail` and this are filled but unpublished.
    pub(crate) sqe_tail: u32,
    /// With SQPOLL the kernel thread moves the head concurrently, so it is read with acquire.
    pub(crate) sqpoll: bool,
}

/// The completion queue: pointers into the kernel-shared mapping.
pub(crate) struct CompletionQueue {
    pub(crate) khead: *const AtomicU32,
    pub(crate) ktail: *const AtomicU32,
    pub(crate) koverflow: *const AtomicU32,
    pub(crate) cqes: *const IoUringCqe,
    pub(crate) mask: u32,
}

impl SubmissionQueue {
    #[inline]
    fn head(&self) -> u32 {
        // SAFETY: khead points into the SQ ring mapping, alive as long as the Ring that owns
        // this queue; the kernel only ever stores whole u32 values there.
        let khead = unsafe { &*self.khead };
        if self.sqpoll {
            // liburing io_uring_get_sqe: acquire pairs with the SQ thread's head release.
            khead.load(Ordering::Acquire)
        } else {
            // liburing io_uring_get_sqe: the head only moves inside our own io_uring_enter.
            khead.load(Ordering::Relaxed)
        }
    }

    /// Free slots: entries minus those filled and not yet consumed by the kernel.
    #[inline]
    pub(crate) fn space_left(&self) -> u32 {
        self.entries - self.sqe_tail.wrapping_sub(self.head())
    }

    /// Hands out the next slot, zeroed, or `None` when the queue is full.
    #[inline]
    pub(crate) fn get_sqe(&mut self) -> Option<&mut Sqe> {
        if self.sqe_tail.wrapping_sub(self.head()) >= self.entries {
            return None;
        }
        let index = (self.sqe_tail & self.mask) as usize;
        self.sqe_tail = self.sqe_tail.wrapping_add(1);
        // SAFETY: index < entries, so the slot lies inside the SQE array mapping; the slot is
        // ours because the kernel has consumed everything before head and reads nothing past
        // the published tail; Sqe is repr(transparent) over IoUringSqe.
        unsafe {
            let slot = self.sqes.add(index);
            slot.write(IoUringSqe::default());
            Some(&mut *slot.cast::<Sqe>())
        }
    }

    /// Publishes every filled slot to the kernel and returns how many it has not consumed yet.
    #[inline]
    pub(crate) fn flush(&mut self) -> u32 {
        // SAFETY: ktail points into the live SQ ring mapping (see head()).
        let ktail = unsafe { &*self.ktail };
        // liburing __io_uring_flush_sq: store-release so the kernel sees the SQE contents
        // before it sees the new tail.
        ktail.store(self.sqe_tail, Ordering::Release);
        self.sqe_tail.wrapping_sub(self.head())
    }

    /// Sets the personality (registered credentials) of every filled slot not yet published
    /// to the kernel.
    pub(crate) fn stamp_unpublished(&mut self, personality: u16) {
        // SAFETY: ktail points into the live SQ ring mapping; only we store it.
        let published = unsafe { &*self.ktail }.load(Ordering::Relaxed);
        let mut tail = published;
        while tail != self.sqe_tail {
            let index = (tail & self.mask) as usize;
            // SAFETY: index < entries; the slot is filled and not yet published, so the
            // kernel does not read it until the next flush.
            unsafe { (*self.sqes.add(index)).personality = personality };
            tail = tail.wrapping_add(1);
        }
    }

    /// Filled slots not yet published to the kernel.
    #[inline]
    pub(crate) fn unpublished(&self) -> u32 {
        // SAFETY: as in stamp_unpublished.
        self.sqe_tail
            .wrapping_sub(unsafe { &*self.ktail }.load(Ordering::Relaxed))
    }

    /// Moves the tail back to `mark`, withdrawing the entries from there on, if the kernel
    /// has consumed none of them. Only sound without SQPOLL, where the head moves only inside
    /// our own enter.
    pub(crate) fn withdraw_to(&mut self, mark: u32) -> bool {
        let head = self.head();
        if mark.wrapping_sub(head) > self.sqe_tail.wrapping_sub(head) {
            return false; // The kernel consumed past the mark.
        }
        self.sqe_tail = mark;
        // SAFETY: ktail points into the live SQ ring mapping.
        // liburing has no twin; a release store like the normal publish keeps the order.
        unsafe { &*self.ktail }.store(mark, Ordering::Release);
        true
    }

    /// The SQ ring flags (`IORING_SQ_*`), read without ordering, as liburing's
    /// cq_ring_needs_flush does.
    #[inline]
    pub(crate) fn flags(&self) -> u32 {
        // SAFETY: kflags points into the live SQ ring mapping.
        unsafe { &*self.kflags }.load(Ordering::Relaxed)
    }

    /// Whether the SQPOLL thread sleeps and needs `IORING_ENTER_SQ_WAKEUP`.
    #[inline]
    pub(crate) fn needs_wakeup(&self) -> bool {
        // liburing sq_ring_needs_enter: a full barrier orders our tail store before the flag
        // load, pairing with the SQ thread's barrier between setting the flag and re-reading
        // the tail.
        fence(Ordering::SeqCst);
        // SAFETY: kflags points into the live SQ ring mapping.
        unsafe { &*self.kflags }.load(Ordering::Relaxed) & IORING_SQ_NEED_WAKEUP != 0
    }

    /// Entries the kernel dropped as invalid (only without `IORING_FEAT_NODROP`-style checks).
    pub(crate) fn dropped(&self) -> u32 {
        // SAFETY: kdropped points into the live SQ ring mapping.
        unsafe { &*self.kdropped }.load(Ordering::Relaxed)
    }
}

impl CompletionQueue {
    #[inline]
    fn tail(&self) -> u32 {
        // SAFETY: ktail points into the CQ ring mapping, alive as long as the owning Ring.
        // liburing io_uring_cq_ready / __io_uring_peek_cqe: load-acquire so the CQE contents
        // are visible before we read them.
        unsafe { &*self.ktail }.load(Ordering::Acquire)
    }

    #[inline]
    fn head(&self) -> u32 {
        // SAFETY: khead points into the live CQ ring mapping; only we store to it.
        unsafe { &*self.khead }.load(Ordering::Relaxed)
    }

    #[inline]
    fn advance(&mut self, head: u32) {
        // SAFETY: khead points into the live CQ ring mapping.
        // liburing io_uring_cq_advance: store-release so our reads of the CQEs happen before
        // the kernel may overwrite their slots.
        unsafe { &*self.khead }.store(head, Ordering::Release);
    }

    /// Completions ready to be read.
    #[inline]
    pub(crate) fn ready(&self) -> u32 {
        self.tail().wrapping_sub(self.head())
    }

    /// Completions the kernel could not post (without `IORING_FEAT_NODROP`).
    pub(crate) fn overflow(&self) -> u32 {
        // SAFETY: koverflow points into the live CQ ring mapping.
        unsafe { &*self.koverflow }.load(Ordering::Relaxed)
    }

    /// Takes the oldest ready completion.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Cqe> {
        let head = self.head();
        if self.tail() == head {
            return None;
        }
        // SAFETY: head != tail, so slot head & mask holds a CQE the kernel has published
        // (made visible by the acquire in tail()) and will not overwrite until we advance.
        let cqe = unsafe { *self.cqes.add((head & self.mask) as usize) };
        self.advance(head.wrapping_add(1));
        Some(Cqe(cqe))
    }

    /// Takes the oldest ready completion if `take` accepts it.
    #[inline]
    pub(crate) fn pop_if(&mut self, take: impl FnOnce(&Cqe) -> bool) -> Option<Cqe> {
        let head = self.head();
        if self.tail() == head {
            return None;
        }
        // SAFETY: as in pop().
        let cqe = Cqe(unsafe { *self.cqes.add((head & self.mask) as usize) });
        if !take(&cqe) {
            return None;
        }
        self.advance(head.wrapping_add(1));
        Some(cqe)
    }

    /// Copies up to `out.len()` ready completions, oldest first, and returns how many.
    #[inline]
    pub(crate) fn copy(&mut self, out: &mut [Cqe]) -> usize {
        let head = self.head();
        let ready = self.tail().wrapping_sub(head) as usize;
        let n = ready.min(out.len());
        for (i, slot) in out[..n].iter_mut().enumerate() {
            let index = (head.wrapping_add(i as u32) & self.mask) as usize;
            // SAFETY: i < ready, so the slot holds a published CQE (see pop()).
            *slot = Cqe(unsafe { *self.cqes.add(index) });
        }
        if n > 0 {
            self.advance(head.wrapping_add(n as u32));
        }
        n
    }
}
