//! Running a filled submission entry as the direct syscall it stands for.
//!
//! This is the fallback path of the whole crate: an operation declares only how it fills an
//! entry, and when io_uring is refused, or the kernel lacks the opcode, the same entry runs
//! here as the syscall the kernel would have made. The answer has the completion's shape:
//! the syscall's return value, or `-errno`.

use std::os::fd::RawFd;

use crate::sys::syscall as sc;
use crate::sys::*;

/// A raw syscall result as a completion carries it (results of these calls fit an `i32`).
#[inline(always)]
fn cvt(res: isize) -> i32 {
    res as i32
}

/// Whether the entry can run as a direct syscall here: fixed files, registered buffers,
/// direct descriptors and ring-only opcodes cannot.
#[inline(always)]
pub fn can_emulate(sqe: &IoUringSqe) -> bool {
    if sqe.flags & (IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT) != 0 {
        return false;
    }
    match sqe.opcode {
        IORING_OP_OPENAT | IORING_OP_OPENAT2 | IORING_OP_CLOSE | IORING_OP_SOCKET
        | IORING_OP_ACCEPT => sqe.splice_fd_in == 0,
        IORING_OP_SPLICE | IORING_OP_TEE => sqe.op_flags & SPLICE_F_FD_IN_FIXED == 0,
        IORING_OP_NOP
        | IORING_OP_READ
        | IORING_OP_WRITE
        | IORING_OP_READV
        | IORING_OP_WRITEV
        | IORING_OP_FSYNC
        | IORING_OP_SYNC_FILE_RANGE
        | IORING_OP_FALLOCATE
        | IORING_OP_FADVISE
        | IORING_OP_FTRUNCATE
        | IORING_OP_STATX
        | IORING_OP_MKDIRAT
        | IORING_OP_UNLINKAT
        | IORING_OP_RENAMEAT
        | IORING_OP_SYMLINKAT
        | IORING_OP_LINKAT
        | IORING_OP_BIND
        | IORING_OP_LISTEN
        | IORING_OP_CONNECT
        | IORING_OP_SEND
        | IORING_OP_RECV
        | IORING_OP_SENDMSG
        | IORING_OP_RECVMSG
        | IORING_OP_SHUTDOWN
        | IORING_OP_POLL_ADD
        | IORING_OP_TIMEOUT
        | IORING_OP_MADVISE => true,
        _ => false,
    }
}

/// Runs `sqe` as the direct syscall it stands for and returns what its completion would carry:
/// the result, or `-errno`. Entries [`can_emulate`] refuses give `-EINVAL`.
///
/// `IORING_OP_READ`/`WRITE` with `rw_flags` use preadv2/pwritev2 as the kernel does; an offset
/// of `u64::MAX` means the file position (read(2)/write(2)). `IORING_OP_TIMEOUT` sleeps for its
/// timespec and gives `-ETIME`. The calling thread's `errno` is left alone (the syscalls are made raw).
///
/// # Safety
/// Every pointer in the entry must be valid for what its opcode reads and writes, as for
/// submitting it to a ring; the call has finished with them when it returns.
// Inlined so that, for an entry filled right before, the opcode match folds away and the
// direct path costs what the bare syscall does.
#[inline(always)]
pub unsafe fn emulate(sqe: &IoUringSqe) -> i32 {
    if !can_emulate(sqe) {
        return -libc::EINVAL;
    }
    let fd: RawFd = sqe.fd;
    let addr = sqe.addr;
    let len = sqe.len;
    let off = sqe.off;
    let flags = sqe.op_flags;
    let path = addr as *const libc::c_char;
    // SAFETY: (for every arm) the caller guarantees the entry's pointers are valid for its
    // opcode, and each arm passes them to the syscall that has the kernel's own reading of the
    // same fields (see io_uring/*.c prep functions).
    unsafe {
        match sqe.opcode {
            IORING_OP_NOP => 0,
            IORING_OP_READ | IORING_OP_WRITE => {
                let write = sqe.opcode == IORING_OP_WRITE;
                if flags != 0 {
                    let iov = libc::iovec {
                        iov_base: addr as *mut libc::c_void,
                        iov_len: len as usize,
                    };
                    rw_vectored(write, fd, &iov, 1, off, flags as i32)
                } else if off == u64::MAX {
                    if write {
                        cvt(sc::write(fd, addr as *const u8, len as usize))
                    } else {
                        cvt(sc::read(fd, addr as *mut u8, len as usize))
                    }
                } else if write {
                    cvt(sc::pwrite64(
                        fd,
                        addr as *const u8,
                        len as usize,
                        off as i64,
                    ))
                } else {
                    cvt(sc::pread64(fd, addr as *mut u8, len as usize, off as i64))
                }
            }
            IORING_OP_READV | IORING_OP_WRITEV => rw_vectored(
                sqe.opcode == IORING_OP_WRITEV,
                fd,
                addr as *const libc::iovec,
                len as i32,
                off,
                flags as i32,
            ),
            IORING_OP_FSYNC => {
                if flags & IORING_FSYNC_DATASYNC != 0 {
                    cvt(sc::fdatasync(fd))
                } else {
                    cvt(sc::fsync(fd))
                }
            }
            IORING_OP_SYNC_FILE_RANGE => {
                // A length beyond u32 cannot travel in `len`; the crate's operations put it in
                // `addr` (which the kernel would refuse) and run such entries here only.
                let nbytes = if addr != 0 { addr } else { u64::from(len) };
                cvt(sc::sync_file_range(fd, off as i64, nbytes as i64, flags))
            }
            IORING_OP_FALLOCATE => cvt(sc::fallocate(fd, len as i32, off as i64, addr as i64)),
            IORING_OP_FADVISE => {
                let length = if len != 0 { u64::from(len) } else { addr };
                cvt(sc::fadvise64(fd, off as i64, length as i64, flags as i32))
            }
            IORING_OP_FTRUNCATE => cvt(sc::ftruncate(fd, off as i64)),
            IORING_OP_OPENAT => cvt(sc::openat(fd, path, flags as i32, len)),
            IORING_OP_OPENAT2 => cvt(sc::openat2(
                fd,
                path,
                off as *const libc::c_void,
                len as usize,
            )),
            IORING_OP_CLOSE => cvt(sc::close(fd)),
            IORING_OP_STATX => cvt(sc::statx(
                fd,
                path,
                flags as i32,
                len,
                off as *mut libc::statx,
            )),
            IORING_OP_MKDIRAT => cvt(sc::mkdirat(fd, path, len)),
            IORING_OP_UNLINKAT => cvt(sc::unlinkat(fd, path, flags as i32)),
            IORING_OP_RENAMEAT => cvt(sc::renameat2(
                fd,
                path,
                len as i32,
                off as *const libc::c_char,
                flags,
            )),
            IORING_OP_SYMLINKAT => cvt(sc::symlinkat(path, fd, off as *const libc::c_char)),
            IORING_OP_LINKAT => cvt(sc::linkat(
                fd,
                path,
                len as i32,
                off as *const libc::c_char,
                flags as i32,
            )),
            IORING_OP_SOCKET => cvt(sc::socket(fd, off as i32, len as i32)),
            IORING_OP_BIND => cvt(sc::bind(
                fd,
                addr as *const libc::sockaddr,
                off as libc::socklen_t,
            )),
            IORING_OP_LISTEN => cvt(sc::listen(fd, len as i32)),
            IORING_OP_ACCEPT => cvt(sc::accept4(
                fd,
                addr as *mut libc::sockaddr,
                off as *mut libc::socklen_t,
                flags as i32,
            )),
            IORING_OP_CONNECT => cvt(sc::connect(
                fd,
                addr as *const libc::sockaddr,
                off as libc::socklen_t,
            )),
            IORING_OP_SEND => cvt(sc::sendto(
                fd,
                addr as *const u8,
                len as usize,
                flags as i32,
                std::ptr::null(),
                0,
            )),
            IORING_OP_RECV => cvt(sc::recvfrom(
                fd,
                addr as *mut u8,
                len as usize,
                flags as i32,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )),
            IORING_OP_SENDMSG => cvt(sc::sendmsg(fd, addr as *const libc::msghdr, flags as i32)),
            IORING_OP_RECVMSG => cvt(sc::recvmsg(fd, addr as *mut libc::msghdr, flags as i32)),
            IORING_OP_SHUTDOWN => cvt(sc::shutdown(fd, len as i32)),
            IORING_OP_SPLICE => {
                let fd_in = sqe.splice_fd_in;
                let mut off_in = addr as i64;
                let mut off_out = off as i64;
                let in_ptr = if addr == u64::MAX {
                    std::ptr::null_mut()
                } else {
                    &raw mut off_in
                };
                let out_ptr = if off == u64::MAX {
                    std::ptr::null_mut()
                } else {
                    &raw mut off_out
                };
                cvt(sc::splice(fd_in, in_ptr, fd, out_ptr, len as usize, flags))
            }
            IORING_OP_TEE => cvt(sc::tee(sqe.splice_fd_in, fd, len as usize, flags)),
            IORING_OP_POLL_ADD => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: flags as i16,
                    revents: 0,
                };
                loop {
                    let n = sc::ppoll(&mut pfd, 1, std::ptr::null());
                    if n > 0 {
                        break i32::from(pfd.revents as u16);
                    }
                    if n < 0 {
                        break cvt(n);
                    }
                }
            }
            IORING_OP_TIMEOUT => {
                let ts = &*(addr as *const KernelTimespec);
                let req = libc::timespec {
                    tv_sec: ts.tv_sec,
                    tv_nsec: ts.tv_nsec,
                };
                let clock = if flags & IORING_TIMEOUT_BOOTTIME != 0 {
                    libc::CLOCK_BOOTTIME
                } else if flags & IORING_TIMEOUT_REALTIME != 0 {
                    libc::CLOCK_REALTIME
                } else {
                    libc::CLOCK_MONOTONIC
                };
                // The kernel's timeout ignores signals; sleep to an absolute time so that a
                // signal only interrupts the sleep, which then goes on where it was.
                let mut until = req;
                if flags & IORING_TIMEOUT_ABS == 0 {
                    let now = sc::clock_gettime(clock);
                    let nanos = now.tv_nsec + req.tv_nsec;
                    until = libc::timespec {
                        tv_sec: now
                            .tv_sec
                            .saturating_add(req.tv_sec)
                            .saturating_add(nanos / 1_000_000_000),
                        tv_nsec: nanos % 1_000_000_000,
                    };
                }
                loop {
                    match cvt(sc::clock_nanosleep(
                        clock,
                        libc::TIMER_ABSTIME,
                        &until,
                        std::ptr::null_mut(),
                    )) {
                        0 => break -libc::ETIME,
                        e if e == -libc::EINTR => continue,
                        e => break e,
                    }
                }
            }
            IORING_OP_MADVISE => cvt(sc::madvise(
                addr as *mut libc::c_void,
                len as usize,
                flags as i32,
            )),
            _ => -libc::EINVAL,
        }
    }
}

/// preadv2/pwritev2, with offset `u64::MAX` meaning the file position (passed as -1).
///
/// # Safety
/// `iov` must point to `nr` valid iovecs whose buffers are valid for the transfer.
unsafe fn rw_vectored(
    write: bool,
    fd: RawFd,
    iov: *const libc::iovec,
    nr: i32,
    off: u64,
    flags: i32,
) -> i32 {
    let off = if off == u64::MAX { -1 } else { off as i64 };
    // SAFETY: the caller vouches for iov; preadv2/pwritev2 read nr iovecs from it.
    unsafe {
        if write {
            cvt(sc::pwritev2(fd, iov, nr, off, flags))
        } else {
            cvt(sc::preadv2(fd, iov, nr, off, flags))
        }
    }
}

/// Runs `sqe` as its syscall without waiting, where the syscall has a non-blocking form:
/// reads and writes with `RWF_NOWAIT`, send and receive with `MSG_DONTWAIT`, splice and tee
/// with `SPLICE_F_NONBLOCK`, poll with a zero timeout. Returns the result, `-EAGAIN` if the
/// call would have waited (nothing was transferred), or `None` for an opcode with no
/// non-blocking form. (`RWF_NOWAIT` is refused with `EOPNOTSUPP` by files that lack it.)
///
/// # Safety
/// As [`emulate`].
pub unsafe fn emulate_nowait(sqe: &IoUringSqe) -> Option<i32> {
    let mut entry = *sqe;
    match entry.opcode {
        IORING_OP_READ | IORING_OP_WRITE | IORING_OP_READV | IORING_OP_WRITEV => {
            entry.op_flags |= libc::RWF_NOWAIT as u32;
        }
        IORING_OP_SEND | IORING_OP_RECV | IORING_OP_SENDMSG | IORING_OP_RECVMSG => {
            entry.op_flags |= libc::MSG_DONTWAIT as u32;
        }
        IORING_OP_SPLICE | IORING_OP_TEE => entry.op_flags |= libc::SPLICE_F_NONBLOCK,
        IORING_OP_POLL_ADD => {
            let mut pfd = libc::pollfd {
                fd: entry.fd,
                events: entry.op_flags as i16,
                revents: 0,
            };
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: one valid pollfd and timespec for the call.
            let n = unsafe { sc::ppoll(&mut pfd, 1, &zero) };
            return Some(match n {
                0 => -libc::EAGAIN,
                n if n > 0 => i32::from(pfd.revents as u16),
                n => cvt(n),
            });
        }
        _ => return None,
    }
    // SAFETY: the caller's contract; only a flag changed.
    Some(unsafe { emulate(&entry) })
}

/// Tries a positioned `IORING_OP_READ`/`READV` entry as preadv2 with `RWF_NOWAIT`: returns
/// its result when the page cache served the whole request (or end of file, or a lasting
/// error), `None` when it would block or came up short, so it must go to the ring instead
/// (a positioned read has no side effect to undo).
///
/// # Safety
/// As [`emulate`].
pub unsafe fn try_nowait(sqe: &IoUringSqe) -> Option<i32> {
    if sqe.off == u64::MAX || sqe.flags != 0 {
        return None;
    }
    let single = libc::iovec {
        iov_base: sqe.addr as *mut libc::c_void,
        iov_len: sqe.len as usize,
    };
    let (iov, nr) = match sqe.opcode {
        IORING_OP_READ if sqe.op_flags == 0 => (&raw const single, 1),
        IORING_OP_READV if sqe.op_flags == 0 => (sqe.addr as *const libc::iovec, sqe.len as i32),
        _ => return None,
    };
    // SAFETY: the caller vouches for the entry's pointers; nr iovecs are read from iov.
    let wanted: usize = unsafe { std::slice::from_raw_parts(iov, nr.max(0) as usize) }
        .iter()
        .map(|v| v.iov_len)
        .sum();
    // SAFETY: as above.
    let res = unsafe { sc::preadv2(sqe.fd, iov, nr, sqe.off as i64, libc::RWF_NOWAIT) };
    if res < 0 {
        return match -res as i32 {
            libc::EAGAIN | libc::EOPNOTSUPP | libc::EINTR => None,
            e => Some(-e),
        };
    }
    let res = res as usize;
    (res == 0 || res >= wanted.min(0x7fff_f000)).then_some(res as i32)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsRawFd;

    use super::*;
    use crate::ring::{CURRENT_POSITION, Sqe};

    /// Runs a filled entry through [`emulate`].
    fn run(fill: impl for<'a> FnOnce(&'a mut Sqe) -> &'a mut Sqe) -> i32 {
        let mut sqe = Sqe::zeroed();
        fill(&mut sqe);
        // SAFETY: every test fills entries pointing at locals that outlive the call.
        unsafe { emulate(sqe.as_raw()) }
    }

    #[test]
    fn reads_and_writes_follow_the_offset_or_the_file_position() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let fd = file.as_raw_fd();
        let mut buf = [0u8; 4];
        let p = buf.as_mut_ptr();
        assert_eq!(run(|s| s.prep_read(fd, p, 4, 3)), 4);
        assert_eq!(&buf, b"3456");
        // The file position is at the end after write_all: a read there finds nothing.
        assert_eq!(run(|s| s.prep_read(fd, p, 4, CURRENT_POSITION)), 0);
        assert_eq!(run(|s| s.prep_write(fd, b"ab".as_ptr(), 2, 0)), 2);
        assert_eq!(run(|s| s.prep_read(fd, p, 4, 0)), 4);
        assert_eq!(&buf, b"ab23");
        let iov = libc::iovec {
            iov_base: p.cast(),
            iov_len: 2,
        };
        assert_eq!(run(|s| s.prep_readv(fd, &iov, 1, 8, 0)), 2);
        assert_eq!(&buf[..2], b"89");
    }

    #[test]
    fn errors_come_back_as_negative_errnos() {
        let mut buf = [0u8; 4];
        let p = buf.as_mut_ptr();
        assert_eq!(run(|s| s.prep_read(-1, p, 4, 0)), -libc::EBADF);
        assert_eq!(
            run(|s| s.prep_openat(libc::AT_FDCWD, c"/nonexistent/x".as_ptr(), 0, 0)),
            -libc::ENOENT
        );
        // posix_fadvise's own error number comes back as -errno like every other call.
        assert_eq!(run(|s| s.prep_fadvise(-1, 0, 0, 0)), -libc::EBADF);
    }

    #[test]
    fn long_lengths_travel_where_the_kernel_reads_them() {
        let file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        // Beyond u32: the length goes in addr, as on 6.7 kernels.
        assert_eq!(
            run(|s| s.prep_fadvise(fd, 0, 1 << 33, libc::POSIX_FADV_NORMAL)),
            0
        );
        assert_eq!(run(|s| s.prep_fallocate(fd, 0, 0, 8192)), 0);
        assert_eq!(file.metadata().unwrap().len(), 8192);
        assert_eq!(run(|s| s.prep_ftruncate(fd, 100)), 0);
        assert_eq!(file.metadata().unwrap().len(), 100);
    }

    #[test]
    fn a_timeout_sleeps_and_expires_with_etime() {
        let ts = KernelTimespec {
            tv_sec: 0,
            tv_nsec: 1_000_000,
        };
        let start = std::time::Instant::now();
        assert_eq!(run(|s| s.prep_timeout(&ts, 0, 0)), -libc::ETIME);
        assert!(start.elapsed() >= std::time::Duration::from_millis(1));
    }

    #[test]
    fn ring_only_entries_are_refused() {
        let mut buf = [0u8; 4];
        let p = buf.as_mut_ptr();
        let fixed = |s: &mut Sqe| {
            s.prep_read(0, p, 4, 0).flags(IOSQE_FIXED_FILE);
        };
        let mut sqe = Sqe::zeroed();
        fixed(&mut sqe);
        assert!(!can_emulate(sqe.as_raw()));
        // SAFETY: a refused entry is never run.
        assert_eq!(unsafe { emulate(sqe.as_raw()) }, -libc::EINVAL);
        assert_eq!(run(|s| s.prep_poll_remove(1)), -libc::EINVAL);
    }
}
