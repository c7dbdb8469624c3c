//! Layer 5: one blocking call. It fills one entry, submits it and waits for its completion
//! in one `io_uring_enter`, and returns only once the kernel is done with the operation's
//! memory, also when a signal interrupts the wait (the operation is then cancelled and
//! reaped first, unless the syscall would go on). When the ring cannot serve it, the same
//! operation runs as its syscall.

use std::io;
use std::time::Instant;

use crate::driver::{
    BLOCKING, BLOCKING_TIMEOUT, Driver, FirstWait, Waited, auto_syscall_single, blocking_stream,
    fallback, forget_fd, nonblocking_stream, run_syscall, with_local,
};
use crate::op::{Op, monotonic_timespec};
use crate::sys::*;

/// Runs one operation: on the ring when it can, else as its syscall.
#[inline]
pub(crate) fn run<O: Op>(mut op: O) -> io::Result<O::Output> {
    let (mut res, route) = run_raw(&mut op)?;
    res = O::map_result(res);
    if res > 0 && (route == Route::Ring || crate::timeout::current_deadline().is_some()) {
        // io_uring writes what fits into a pipe or socket at once (so does a syscall bound
        // by a deadline, attempted without waiting); write(2) and send(2) on a blocking one
        // wait to write everything.
        res = finish_stream_write(&op, res);
    }
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(op.output(res))
    }
}

/// Writes the rest of a write the ring completed short on a blocking pipe or socket, part by
/// part, until all is written or a part fails (a signal, a closed peer, the deadline): the
/// total, as write(2) returns it.
#[inline]
pub(crate) fn finish_stream_write<O: Op>(op: &O, done: i32) -> i32 {
    match op.rest(done as usize) {
        None => done,
        Some(rest) => write_rest(rest, done, op.waits_on().map(|w| w.fd)),
    }
}

#[cold]
fn write_rest(mut rest: crate::op::StreamRest<'_>, mut done: i32, fd: Option<i32>) -> i32 {
    if !fd.is_some_and(blocking_stream) {
        return done;
    }
    while !rest.is_empty() {
        match run_raw(&mut rest) {
            Ok((n, _)) if n > 0 => {
                done = done.saturating_add(n);
                rest.advance(n as usize);
            }
            _ => break,
        }
    }
    done
}

/// Runs one operation that only a ring can run (a fixed file's close or install) on the
/// thread's ring, whatever the dispatch policy; `EBADF` without a ring.
pub(crate) fn run_on_ring<O: Op>(mut op: O) -> io::Result<O::Output> {
    let res = with_local(|local| match local.driver() {
        Some(driver) => on_ring(driver, &mut op).ok(),
        None => None,
    })
    .flatten()
    .unwrap_or(-libc::EBADF);
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(op.output(res))
    }
}

/// Where a single call went.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Through the ring.
    Ring,
    /// To the syscall by choice (warm-up, `Dispatch::Auto`) or because the arguments need it.
    Syscall,
    /// To the syscall because the kernel's io_uring cannot serve it.
    Fallback,
}

/// Runs one operation and returns its raw result (after the ring's corrections) and where
/// it went.
#[inline]
fn run_raw<O: Op>(op: &mut O) -> io::Result<(i32, Route)> {
    let checked_first = op
        .waits_on()
        .filter(|w| w.check_first && w.would_block.is_some())
        .is_some_and(|w| nonblocking_stream(w.fd));
    let route = if auto_syscall_single() || checked_first {
        Err(Route::Syscall)
    } else {
        with_local(|local| {
            // The common case first: this thread's own ring, no fork since.
            if let Some(driver) = local.current_driver() {
                return on_ring(driver, op);
            }
            if local.warming_up() {
                return Err(Route::Syscall);
            }
            match local.driver() {
                Some(driver) => on_ring(driver, op),
                None => Err(Route::Fallback),
            }
        })
        .unwrap_or(Err(Route::Fallback))
    };
    let (res, route) = match route {
        Ok(res) => return Ok((res, Route::Ring)),
        Err(Route::Fallback) => (fallback(op)?, Route::Fallback),
        Err(route) => (run_syscall(op), route),
    };
    // The ring path told its driver already.
    if let Some(fd) = op.fd_changed(res) {
        forget_fd(fd);
    }
    Ok((res, route))
}

/// Runs one operation on the thread's ring and returns its raw result; `Err` names the way
/// it must go instead.
#[inline]
fn on_ring<O: Op>(driver: &mut Driver, op: &mut O) -> Result<i32, Route> {
    if !driver.has::<O>() {
        return Err(Route::Fallback);
    }
    if !driver.fits(op) {
        return Err(Route::Syscall);
    }
    let deadline = crate::timeout::current_deadline();
    // An entry and its linked timeout must reach the kernel in one submission.
    let needed = if deadline.is_some() { 2 } else { 1 };
    if driver.ring.sq_space_left() < needed {
        driver.flush_queued();
        if driver.ring.sq_space_left() < needed {
            return Err(Route::Fallback); // An SQ smaller than an entry and its timeout.
        }
    }
    // Where our entries start: a refused submission takes back only these.
    let mark = driver.ring.sq_tail();
    let sqe = driver.ring.get_sqe().expect("space checked above");
    op.prep(sqe);
    sqe.user_data(BLOCKING);
    // Outlives the submission in wait_blocking, where the kernel copies it.
    let ts;
    if let Some(deadline) = deadline {
        sqe.flags(IOSQE_IO_LINK);
        ts = monotonic_timespec(deadline);
        driver
            .ring
            .get_sqe()
            .expect("space checked above")
            .prep_link_timeout(&raw const ts, IORING_TIMEOUT_ABS)
            .user_data(BLOCKING_TIMEOUT);
    }
    // An operation that may wait on a pipe or socket is first only submitted: if it did not
    // complete at once, its fd's O_NONBLOCK and socket timeouts decide how long it waits.
    let check = op.waits_on().filter(|w| w.would_block.is_some());
    // The common case inline: one enter submits the entry and finds it completed first in
    // the CQ. Anything else (a wait, a signal, other completions ahead) goes the long way,
    // which carries on from the same state.
    let first = if check.is_none() && deadline.is_none() {
        // SAFETY: as for wait_blocking below.
        unsafe { driver.submit_and_take_blocking() }
    } else {
        FirstWait::Pending
    };
    let res = match first {
        FirstWait::Done(res) => res,
        first => {
            let interrupted = matches!(first, FirstWait::Interrupted);
            // SAFETY: `op`, what it borrows and `ts` stay where they are until this function
            // returns, and wait_blocking returns only after reaping the BLOCKING completion
            // (or after withdrawing the entries unsubmitted).
            match unsafe { driver.wait_blocking(O::ON_SIGNAL, mark, check, interrupted) } {
                Waited::Completed(res) => res,
                Waited::Withdrawn => return Err(Route::Fallback),
            }
        }
    };
    driver.counters.op();
    if res == -libc::ECANCELED && deadline.is_none() {
        // Not our cancel (wait_blocking turns those into EINTR or the would-block errno):
        // io-wq gives up on work whose worker thread it could not start, as when a signal
        // is pending at each try. The operation never ran; the syscall runs it.
        return Err(Route::Syscall);
    }
    let res = op.after_ring(res);
    let res = op.after_ring_on_fd(res);
    if let Some(fd) = op.fd_changed(res) {
        driver.fds.forget(fd);
    }
    if let Some(deadline) = deadline {
        if (res == -libc::ECANCELED || res == -libc::EINTR) && Instant::now() >= deadline {
            return Ok(-libc::ETIMEDOUT);
        }
    }
    Ok(res)
}
