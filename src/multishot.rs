//! Layer 5, beside single calls and batches: multishot requests, which post completion after
//! completion for one submission. [`accept_multishot`] accepts connection after connection
//! on a listening socket with one multishot accept (5.19).

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::driver::{
    Driver, STREAMS, forget_fd, fork_generation, nonblocking_stream, run_syscall, with_driver,
};
use crate::op::{self, FromResult};
use crate::sys::syscall as sc;
use crate::sys::*;

/// Accepts connections on `listener`, one after the other, as repeated accept4(2) with
/// `flags` (`SOCK_CLOEXEC`, `SOCK_NONBLOCK`) would: the iterator yields each new
/// connection's socket, blocking until one comes.
///
/// One multishot accept (`IORING_ACCEPT_MULTISHOT`, 5.19) stays in the kernel and posts a
/// completion per connection, so a busy listener pays one submission, not one per accept.
/// Without it — an older kernel, no ring, an `O_NONBLOCK` listener (which gives
/// `WouldBlock` as accept4 does) — each step is an accept. Dropping the iterator cancels
/// the request and closes connections it accepted and did not hand out. No peer address
/// comes with a multishot accept; `getpeername` gives it. A listener with a receive timeout
/// (`SO_RCVTIMEO`) gets accept4 each time, which keeps it.
///
/// The request holds the listening socket while the iterator lives; an iterator leaked with
/// `mem::forget` keeps accepting (into fds nobody takes) until the thread exits.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let clients: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(addr)).collect();
/// let accepted = uring_os::accept_multishot(&listener, libc::SOCK_CLOEXEC)
///     .take(3)
///     .collect::<std::io::Result<Vec<_>>>()?;
/// assert_eq!(accepted.len(), clients.len());
/// # Ok(()) }
/// ```
pub fn accept_multishot(listener: &impl AsFd, flags: i32) -> Accepts<'_> {
    Accepts {
        listener: listener.as_fd(),
        flags,
        stream: None,
        _not_send: PhantomData,
    }
}

/// The iterator of [`accept_multishot`].
#[derive(Debug)]
pub struct Accepts<'fd> {
    listener: BorrowedFd<'fd>,
    flags: i32,
    /// The multishot stream on this thread's ring, and the fork generation of that ring.
    stream: Option<(usize, u64)>,
    /// The stream lives in this thread's ring.
    _not_send: PhantomData<*mut ()>,
}

impl Accepts<'_> {
    /// One accept4, as the syscall (through the crate's path for single calls' fallback).
    fn accept_once(&self) -> io::Result<OwnedFd> {
        let mut accept = op::Accept::new(self.listener.as_raw_fd(), self.flags);
        let res = run_syscall(&mut accept);
        if res < 0 {
            return Err(io::Error::from_raw_os_error(-res));
        }
        forget_fd(res);
        Ok(OwnedFd::from_result(res))
    }

    /// The next result of the multishot stream; `None` where there is none to be had.
    fn next_multishot(&mut self) -> Option<i32> {
        let generation = fork_generation();
        if self.stream.is_some_and(|(_, g)| g != generation) {
            // A fork child: the parent's stream is not ours.
            self.stream = None;
        }
        let listener = self.listener.as_raw_fd();
        let flags = self.flags;
        let stream = &mut self.stream;
        with_driver(|d| {
            if !d.supports(IORING_OP_ACCEPT) || d.ring.features() & IORING_FEAT_CQE_SKIP == 0 {
                // Multishot accept is 5.19; CQE_SKIP (5.17) is the nearest feature bit.
                return None;
            }
            let id = match *stream {
                Some((id, _)) => id,
                None => {
                    let id = d.completions.open_stream();
                    *stream = Some((id, generation));
                    id
                }
            };
            loop {
                let slot = d.completions.streams[id].as_mut().expect("open stream");
                if let Some(res) = slot.results.pop_front() {
                    return Some(res);
                }
                if !slot.armed {
                    arm(d, id, listener, flags)?;
                }
                d.wait_one();
            }
        })
        .flatten()
    }
}

/// Puts the multishot accept of stream `id` in the kernel.
fn arm(d: &mut Driver, id: usize, listener: i32, flags: i32) -> Option<()> {
    d.make_room(1);
    let sqe = d.ring.get_sqe()?;
    sqe.prep_multishot_accept(listener, flags)
        .user_data(STREAMS + id as u64);
    let slot = d.completions.streams[id].as_mut().expect("open stream");
    slot.armed = true;
    d.completions.streams_armed += 1;
    d.counters.op();
    Some(())
}

impl Iterator for Accepts<'_> {
    type Item = io::Result<OwnedFd>;

    fn next(&mut self) -> Option<io::Result<OwnedFd>> {
        let listener = self.listener.as_raw_fd();
        if nonblocking_stream(listener) || has_receive_timeout(listener) {
            // accept4 answers at once there (WouldBlock), or keeps the listener's timeout
            // (EAGAIN after it): no request to keep.
            self.drop_stream();
            return Some(self.accept_once());
        }
        Some(match self.next_multishot() {
            Some(res) if res >= 0 => {
                forget_fd(res);
                Ok(OwnedFd::from_result(res))
            }
            // The kernel refused multishot accept (EINVAL before 5.19): accept4 from now
            // on; other errors are accept(2)'s.
            Some(res) if res == -libc::EINVAL => {
                self.drop_stream();
                self.accept_once()
            }
            Some(res) => Err(io::Error::from_raw_os_error(-res)),
            None => self.accept_once(),
        })
    }
}

impl Accepts<'_> {
    /// Cancels the request and closes the connections it accepted and nobody took.
    fn drop_stream(&mut self) {
        let Some((id, generation)) = self.stream.take() else {
            return;
        };
        if generation != fork_generation() {
            return;
        }
        with_driver(|d| {
            if d.completions.streams[id].as_ref().is_some_and(|s| s.armed) {
                d.make_room(1);
                if let Some(sqe) = d.ring.get_sqe() {
                    sqe.prep_cancel(STREAMS + id as u64, 0)
                        .user_data(crate::driver::IGNORED);
                }
                while d.completions.streams[id].as_ref().is_some_and(|s| s.armed) {
                    d.wait_one();
                }
            }
            if let Some(slot) = d.completions.streams[id].take() {
                for res in slot.results {
                    if res >= 0 {
                        // SAFETY: an fd the kernel accepted for us, handed to nobody.
                        unsafe { sc::close(res) };
                        forget_fd(res);
                    }
                }
            }
        });
    }
}

impl Drop for Accepts<'_> {
    fn drop(&mut self) {
        self.drop_stream();
    }
}

/// Whether socket `fd` has a receive timeout (`SO_RCVTIMEO`), which accept4(2) keeps.
fn has_receive_timeout(fd: i32) -> bool {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `tv`, and `len` back.
    let res = unsafe {
        sc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw mut tv).cast(),
            &mut len,
        )
    };
    res == 0 && (tv.tv_sec > 0 || tv.tv_usec > 0)
}
