//! The one short-write mechanism: what is left of a write.
//!
//! io_uring completes a write to a pipe or socket with what fit at once; write(2), writev(2)
//! and send(2) on a blocking one wait until everything is written (or a signal or an error
//! stops them after some progress). A write operation's [`Op::rest`] gives a [`StreamRest`]:
//! the unwritten parts of its buffers, which the caller writes on, through the ring or as
//! the syscall, under the same deadline, until nothing is left.

use std::marker::PhantomData;
use std::os::fd::RawFd;

use super::{FdWait, Op, RawData};
use crate::ring::{CURRENT_POSITION, Sqe};
use crate::sys::*;

/// The unwritten rest of a write on a blocking stream; an operation itself (writev, or
/// sendmsg with the send's flags).
pub(crate) struct StreamRest<'a> {
    fd: RawFd,
    /// The unwritten parts of the buffers, in order; `iov[first..]` is what is left.
    iov: Vec<libc::iovec>,
    first: usize,
    /// The flags of a send(2), which continues as sendmsg with them.
    send_flags: Option<i32>,
    /// The message header of a sendmsg, pointing into `iov`; kept here so its address is
    /// stable while the kernel reads it.
    msg: libc::msghdr,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> StreamRest<'a> {
    /// What follows the first `done` bytes of `bufs` on `fd`; `None` if nothing does.
    pub(crate) fn new(
        fd: RawFd,
        bufs: impl Iterator<Item = RawData<'a>>,
        done: usize,
        send_flags: Option<i32>,
    ) -> Option<StreamRest<'a>> {
        let mut skip = done;
        let mut iov = Vec::new();
        for buf in bufs {
            if skip >= buf.len {
                skip -= buf.len;
                continue;
            }
            iov.push(libc::iovec {
                // SAFETY: skip < len: the pointer stays inside the buffer.
                iov_base: unsafe { buf.ptr.add(skip) }.cast_mut().cast(),
                iov_len: buf.len - skip,
            });
            skip = 0;
        }
        if iov.is_empty() {
            return None;
        }
        // SAFETY: all-zero is a valid msghdr (null pointers, zero lengths).
        let msg = unsafe { std::mem::zeroed() };
        Some(StreamRest {
            fd,
            iov,
            first: 0,
            send_flags,
            msg,
            _buffers: PhantomData,
        })
    }

    /// Counts `n` more bytes written.
    pub(crate) fn advance(&mut self, mut n: usize) {
        while self.first < self.iov.len() && n >= self.iov[self.first].iov_len {
            n -= self.iov[self.first].iov_len;
            self.first += 1;
        }
        if n > 0 && self.first < self.iov.len() {
            let iov = &mut self.iov[self.first];
            // SAFETY: n < iov_len, so the advanced pointer stays inside the caller's buffer.
            iov.iov_base = unsafe { iov.iov_base.cast::<u8>().add(n) }.cast();
            iov.iov_len -= n;
        }
    }

    /// Whether everything is written.
    pub(crate) fn is_empty(&self) -> bool {
        self.first == self.iov.len()
    }

    fn left(&self) -> &[libc::iovec] {
        &self.iov[self.first..]
    }
}

impl Op for StreamRest<'_> {
    /// writev; a send goes on as sendmsg (both 5.3), which the probe check of writev covers.
    const OPCODE: u8 = IORING_OP_WRITEV;
    type Output = usize;

    fn prep(&mut self, sqe: &mut Sqe) {
        let count = self.left().len().min(libc::c_int::MAX as usize);
        match self.send_flags {
            Some(flags) => {
                self.msg.msg_iov = self.left().as_ptr().cast_mut();
                self.msg.msg_iovlen = count;
                sqe.prep_sendmsg(self.fd, &raw const self.msg, flags);
            }
            None => {
                sqe.prep_writev(
                    self.fd,
                    self.left().as_ptr(),
                    count as u32,
                    CURRENT_POSITION,
                    0,
                );
            }
        }
    }

    fn output(self, res: i32) -> usize {
        res as usize
    }

    fn after_ring(&mut self, res: i32) -> i32 {
        if let Some(flags) = self.send_flags {
            if res == -libc::EPIPE && flags & libc::MSG_NOSIGNAL == 0 {
                crate::sys::syscall::raise(libc::SIGPIPE);
            }
        }
        res
    }

    fn waits_on(&self) -> Option<FdWait> {
        Some(match self.send_flags {
            Some(_) => FdWait::socket(self.fd, true),
            None => FdWait::transfer(self.fd, true),
        })
    }
}
