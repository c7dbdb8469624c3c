//! The expert floor: the `io-uring` crate driven by hand with the best flags for one thread
//! (single issuer + deferred task run + no SQ array + submit-all, registered ring fd, no SQPOLL).

use std::io;

use io_uring::squeue::Entry;
use io_uring::{CompletionQueue, IoUring, SubmissionQueue, Submitter};

/// Flag sets tried best first; a kernel that says EINVAL to one gets the next.
fn build(entries: u32) -> io::Result<(IoUring, &'static str)> {
    let mut last = None;
    for tier in 0..3 {
        let mut b = IoUring::builder();
        let name = match tier {
            0 => {
                b.setup_single_issuer()
                    .setup_defer_taskrun()
                    .setup_submit_all()
                    .setup_no_sqarray();
                "single issuer + defer taskrun + submit all + no SQ array"
            }
            1 => {
                b.setup_single_issuer().setup_defer_taskrun();
                "single issuer + defer taskrun"
            }
            _ => "no setup flags",
        };
        match b.build(entries) {
            Ok(ring) => return Ok((ring, name)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)))
}

/// Whether a hand ring can be set up here, and with which flags (for the report).
pub fn probe() -> Result<String, String> {
    match build(8) {
        Ok((mut ring, flags)) => {
            let (mut submitter, _, _) = ring.split();
            let fd = match submitter.register_ring_fd() {
                Ok(()) => " + registered ring fd",
                Err(_) => " (ring fd registration refused)",
            };
            Ok(format!("{flags}{fd}"))
        }
        Err(e) => Err(format!("io_uring setup refused: {e}")),
    }
}

/// A split ring with its registered fd, plus an `io_uring_enter` counter.
pub struct Hand<'a> {
    sub: Submitter<'a>,
    sq: SubmissionQueue<'a>,
    cq: CompletionQueue<'a>,
    /// `io_uring_enter` calls made so far.
    pub enters: u64,
}

/// Creates a ring of `entries`, registers its fd and runs `f` on it. The ring is created and
/// registered before `f` starts, so `f` can time just the part it measures.
pub fn with_ring<R>(entries: u32, f: impl FnOnce(&mut Hand<'_>) -> io::Result<R>) -> io::Result<R> {
    let (mut ring, _) = build(entries)?;
    let (mut sub, sq, cq) = ring.split();
    // The registration lives in this Submitter (io-uring 0.7), which is why the ring is split
    // once and the parts are kept for the whole run.
    sub.register_ring_fd()?;
    let mut hand = Hand {
        sub,
        sq,
        cq,
        enters: 0,
    };
    let res = f(&mut hand);
    // A registered ring fd holds the ring until unregistered (dropping the ring does not), and
    // a task may register at most 16.
    hand.sub.unregister_ring_fd()?;
    res
}

impl Hand<'_> {
    /// Queues an entry, submitting first if the SQ is full.
    ///
    /// # Safety
    /// Whatever the entry points to must stay valid until its completion is reaped.
    #[inline]
    pub unsafe fn push(&mut self, entry: &Entry) -> io::Result<()> {
        loop {
            // SAFETY: the caller's contract.
            if unsafe { self.sq.push(entry) }.is_ok() {
                return Ok(());
            }
            self.sq.sync();
            self.sub.submit()?;
            self.enters += 1;
            self.sq.sync();
        }
    }

    /// Submits what is queued and waits until `want` completions are in the CQ.
    #[inline]
    pub fn submit_and_wait(&mut self, want: usize) -> io::Result<usize> {
        self.sq.sync();
        let n = self.sub.submit_and_wait(want)?;
        self.enters += 1;
        self.cq.sync();
        Ok(n)
    }

    /// Submits what is queued and runs the deferred completions that are ready, without
    /// sleeping (`io_uring_enter` with `GETEVENTS` and `min_complete` 0, as fio does).
    #[inline]
    pub fn submit_and_poll(&mut self) -> io::Result<usize> {
        self.sq.sync();
        let to_submit = self.sq.len() as u32;
        // SAFETY: no extra argument is passed; what the queued entries point to is the
        // contract of `push`.
        let n = unsafe {
            self.sub.enter::<libc::sigset_t>(
                to_submit,
                0,
                uring_os::sys::IORING_ENTER_GETEVENTS,
                None,
            )
        }?;
        self.enters += 1;
        self.sq.sync();
        self.cq.sync();
        Ok(n)
    }

    /// Registers `fds` as the ring's fixed files, each at its position (fio's
    /// `--registerfiles`). The ring drops them with itself.
    pub fn register_files(&mut self, fds: &[i32]) -> io::Result<()> {
        self.sub.register_files(fds)
    }

    /// Registers `bufs` as the ring's fixed buffers, each at its position (fio's
    /// `--fixedbufs`). The ring drops them with itself.
    ///
    /// # Safety
    /// The buffers must stay valid until the ring is dropped.
    pub unsafe fn register_buffers(&mut self, bufs: &[libc::iovec]) -> io::Result<()> {
        // SAFETY: the caller's contract.
        unsafe { self.sub.register_buffers(bufs) }
    }

    /// Takes every ready completion: `f(user_data, result)`. Returns how many.
    #[inline]
    pub fn reap(&mut self, mut f: impl FnMut(u64, i32)) -> usize {
        self.cq.sync();
        let mut n = 0;
        for cqe in &mut self.cq {
            f(cqe.user_data(), cqe.result());
            n += 1;
        }
        self.cq.sync();
        n
    }

    /// Runs one entry and returns its result: one `io_uring_enter` per operation.
    ///
    /// # Safety
    /// As [`push`](Hand::push); the completion is reaped before this returns.
    #[inline]
    pub unsafe fn one(&mut self, entry: &Entry) -> io::Result<i32> {
        // SAFETY: the caller's contract.
        unsafe { self.push(entry) }?;
        self.submit_and_wait(1)?;
        let mut res = None;
        while res.is_none() {
            if self.reap(|_, r| res = Some(r)) == 0 {
                self.submit_and_wait(1)?;
            }
        }
        Ok(res.unwrap_or_default())
    }

    /// Runs every entry (their `user_data` must be their index in `res`), as many in flight as
    /// the CQ holds, and files each result in `res`. One phase of a batch: returns when all
    /// have completed.
    ///
    /// # Safety
    /// Whatever the entries point to must stay valid until this returns.
    pub unsafe fn run_all(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
        res: &mut [i32],
    ) -> io::Result<()> {
        let capacity = self.cq.capacity();
        let mut in_flight = 0usize;
        for entry in entries {
            if in_flight == capacity {
                self.submit_and_wait(1)?;
                in_flight -= self.reap(|ud, r| res[ud as usize] = r);
            }
            // SAFETY: the caller's contract; everything is reaped before returning.
            unsafe { self.push(&entry) }?;
            in_flight += 1;
        }
        while in_flight > 0 {
            self.submit_and_wait(in_flight)?;
            in_flight -= self.reap(|ud, r| res[ud as usize] = r);
        }
        Ok(())
    }
}
