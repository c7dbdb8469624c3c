//! Whole-file operations in a batch: a file read into a `Vec` whatever its size
//! ([`Batch::read_all`]), all of a buffer written ([`Batch::write_all`]), a file copied
//! ([`Batch::copy`]). Each queues a linked chain at once — so many of them go to the
//! kernel together — and the rest, if any, is done when its handle is waited.

use std::ffi::CString;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::args::private::FdArg;
use super::{Batch, BatchData, BatchFd, Handle, ScopeBuf, ScopeFd};
use crate::op::{self, RawData};
use crate::sys::syscall as sc;
use crate::sys::*;

/// The first reads of [`Batch::read_all`]: two of this size, so a small file is read, and
/// its end found, in the chain that opens it.
const FIRST_READ: usize = 32 * 1024;

/// What a read of the rest of a larger file reads at a time.
const REST_READ: usize = 1024 * 1024;

/// What [`Batch::copy`] reads and writes at a time, and how many of those are in flight.
const COPY_CHUNK: usize = 256 * 1024;
const COPY_DEPTH: usize = 4;

/// The pending result of [`Batch::read_all`]: the file's bytes.
#[must_use = "a handle does nothing unless waited; the scope waits for it anyway"]
pub struct ReadAll<'scope, 'env> {
    scope: &'scope Batch<'scope, 'env>,
    fd: ScopeFd<'scope>,
    buf: ScopeBuf<'scope>,
    first: Handle<'scope, usize>,
    second: Handle<'scope, usize>,
}

/// The pending result of [`Batch::write_all`]: the bytes written (all of them, unless an
/// error stopped it).
#[must_use = "a handle does nothing unless waited; the scope waits for it anyway"]
pub struct WriteAll<'scope, 'env> {
    scope: &'scope Batch<'scope, 'env>,
    fd: FdArg,
    data: RawData<'scope>,
    offset: u64,
    first: Handle<'scope, usize>,
}

/// The pending result of [`Batch::copy`]: the bytes copied.
#[must_use = "a handle does nothing unless waited; the scope waits for it anyway"]
pub struct CopyFile<'scope, 'env> {
    scope: &'scope Batch<'scope, 'env>,
    state: io::Result<Copying<'scope>>,
}

struct Copying<'scope> {
    from: ScopeFd<'scope>,
    to: ScopeFd<'scope>,
    to_path: CString,
    mode: u32,
    size: u64,
    /// Chunks in flight, oldest first.
    in_flight: std::collections::VecDeque<Chunk<'scope>>,
    /// The offset of the next chunk to queue.
    next: u64,
    /// The opens, whose errors explain a cancelled first chunk.
    opens: [usize; 2],
}

/// One chunk of a copy: a read into `buf` linked to a write of `len` bytes from it.
struct Chunk<'scope> {
    offset: u64,
    len: usize,
    buf: ScopeBuf<'scope>,
    read: Handle<'scope, usize>,
    write: Handle<'scope, usize>,
}

impl<'scope, 'env> Batch<'scope, 'env> {
    /// Reads all of `path` (relative to `dir`) into a `Vec`, as `std::fs::read` does.
    ///
    /// One linked chain opens the file (into a fixed file where the kernel has them) and
    /// makes two reads of 32 KiB: a file of up to 32 KiB is read, and its end found, in
    /// one submission with every other chain queued beside it. A larger file is read on
    /// (1 MiB at a time) when the handle is waited. The fd is closed by the scope.
    pub fn read_all(
        &'scope self,
        dir: impl AsFd + 'scope,
        path: impl AsRef<Path>,
    ) -> ReadAll<'scope, 'env> {
        // The chain stands alone: an enclosing link() ends before it.
        self.core.start_pending();
        let buf = self.buffer(2 * FIRST_READ);
        let outer = self.core.linking.replace(true);
        let open = self.openat(dir, path, libc::O_RDONLY | libc::O_CLOEXEC, 0);
        let fd = open.fd();
        let first = self.read(fd, buf.slice(0..FIRST_READ));
        let second = self.read(fd, buf.slice(FIRST_READ..2 * FIRST_READ));
        self.core.linking.set(outer);
        {
            let mut queued = self.core.queued.borrow_mut();
            // A short first read (a small file) must not cancel the second, which finds
            // the end; a failed open explains why both were cancelled.
            queued[first.index].flags |= IOSQE_IO_HARDLINK;
            queued[first.index].after = Some(open.index);
            queued[second.index].after = Some(open.index);
            queued[second.index].link = false;
        }
        self.core.start_pending();
        ReadAll {
            scope: self,
            fd,
            buf,
            first,
            second,
        }
    }

    /// Writes all of `data` to `fd` at `offset`, as `FileExt::write_all_at` does: one
    /// write queued now, and, if it came back short, the rest written when the handle is
    /// waited.
    pub fn write_all(
        &'scope self,
        fd: impl BatchFd<'scope>,
        data: impl BatchData<'scope>,
        offset: u64,
    ) -> WriteAll<'scope, 'env> {
        let fd = fd.into_fd_arg(self);
        let data = data.into_write_arg().raw;
        let first = self.write_part(&fd, data, offset);
        WriteAll {
            scope: self,
            fd,
            data,
            offset,
            first,
        }
    }

    /// Queues a pwrite of `data` at `offset` on `fd`.
    fn write_part(
        &'scope self,
        fd: &FdArg,
        data: RawData<'scope>,
        offset: u64,
    ) -> Handle<'scope, usize> {
        let (number, entry) = match fd {
            FdArg::Raw(fd) => (*fd, None),
            FdArg::Scope(entry) => (-1, Some(*entry)),
        };
        let op = op::Write {
            fd: number,
            buf: data,
            offset,
        };
        let index = self.core.push_with(Ok(op), entry, false);
        self.handle::<op::Write<'scope>>(index)
    }

    /// Copies file `from` to `to`, as `std::fs::copy` does: the destination is created or
    /// truncated, gets the source's permissions, and the result is the bytes copied.
    ///
    /// The source's status is read first (statx(2), a syscall); then one chain opens both
    /// files and copies the first 256 KiB, and the rest is copied when the handle is waited,
    /// four chunks in flight, each a read then a write through a scope buffer. The
    /// permissions are set with fchmodat(2) at the end (io_uring has no chmod).
    pub fn copy(
        &'scope self,
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
    ) -> CopyFile<'scope, 'env> {
        CopyFile {
            scope: self,
            state: self.start_copy(from.as_ref(), to.as_ref()),
        }
    }

    fn start_copy(&'scope self, from: &Path, to: &Path) -> io::Result<Copying<'scope>> {
        let from_c = CString::new(from.as_os_str().as_bytes()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "file name contained an unexpected NUL byte",
            )
        })?;
        let to_path = CString::new(to.as_os_str().as_bytes()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "file name contained an unexpected NUL byte",
            )
        })?;
        let mut stx = std::mem::MaybeUninit::<libc::statx>::uninit();
        // SAFETY: a NUL-terminated path and a statx buffer, valid for the call.
        let res = unsafe {
            sc::statx(
                libc::AT_FDCWD,
                from_c.as_ptr(),
                0,
                libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_SIZE,
                stx.as_mut_ptr(),
            )
        };
        sc::io_result(res)?;
        // SAFETY: statx succeeded, so the buffer is filled.
        let stx = unsafe { stx.assume_init() };
        if u32::from(stx.stx_mode) & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the source path is neither a regular file nor a symlink to a regular file",
            ));
        }
        let mode = u32::from(stx.stx_mode) & 0o7777;
        let size = stx.stx_size;
        self.core.start_pending();
        let first_len = (size as usize).min(COPY_CHUNK);
        // One byte more than the first chunk: a read that fills it finds the file longer
        // than its status said (a proc file says 0), one short of it the end.
        let buf = self.buffer(COPY_CHUNK + 1);
        let outer = self.core.linking.replace(true);
        let open_from = self.open(from, libc::O_RDONLY | libc::O_CLOEXEC, 0);
        let open_to = self.open(
            to,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            mode,
        );
        let (from_fd, to_fd) = (open_from.fd(), open_to.fd());
        let read = self.pread(from_fd, buf.slice(0..first_len + 1), 0);
        let write = self.pwrite(to_fd, buf.until(first_len), 0);
        self.core.linking.set(outer);
        {
            let mut queued = self.core.queued.borrow_mut();
            // The read comes back short at the end of a file that fits the chunk: the write
            // goes on all the same.
            queued[read.index].flags |= IOSQE_IO_HARDLINK;
            queued[read.index].after = Some(open_from.index);
            queued[write.index].link = false;
        }
        self.core.start_pending();
        let mut copying = Copying {
            from: from_fd,
            to: to_fd,
            to_path,
            mode,
            size,
            in_flight: [Chunk {
                offset: 0,
                len: first_len,
                buf,
                read,
                write,
            }]
            .into(),
            next: first_len as u64,
            opens: [open_from.index, open_to.index],
        };
        for _ in 1..COPY_DEPTH {
            if !self.queue_chunk(&mut copying, None) {
                break;
            }
        }
        Ok(copying)
    }

    /// Queues the next chunk of a copy, into `buf` (a new buffer if none); `false` when the
    /// whole size is queued.
    fn queue_chunk(&'scope self, c: &mut Copying<'scope>, buf: Option<ScopeBuf<'scope>>) -> bool {
        if c.next >= c.size {
            return false;
        }
        let len = ((c.size - c.next) as usize).min(COPY_CHUNK);
        let buf = buf.unwrap_or_else(|| self.buffer(COPY_CHUNK + 1));
        let (read, write) = self.link(|s| {
            let read = s.pread(c.from, buf.slice(0..len), c.next);
            (read, s.pwrite(c.to, buf.until(len), c.next))
        });
        c.in_flight.push_back(Chunk {
            offset: c.next,
            len,
            buf,
            read,
            write,
        });
        c.next += len as u64;
        true
    }
}

impl ReadAll<'_, '_> {
    /// Waits for the file's bytes.
    pub fn wait(self) -> io::Result<Vec<u8>> {
        let s = self.scope;
        let first = self.first.wait()?;
        // The second read went on where the first stopped, at the file position: a short
        // first read is not the end of every file (proc files read a page at a time).
        let second = self.second.wait()?;
        let mut out = Vec::with_capacity(first + second);
        s.view(self.buf, |bytes| {
            out.extend_from_slice(&bytes[..first]);
            out.extend_from_slice(&bytes[FIRST_READ..FIRST_READ + second]);
        });
        if second > 0 {
            // The rest, a read at a time, until one finds the end (as std::fs::read).
            let rest = s.buffer(REST_READ);
            loop {
                let n = s.read(self.fd, rest).wait()?;
                if n == 0 {
                    break;
                }
                s.view(rest, |bytes| out.extend_from_slice(&bytes[..n]));
            }
        }
        // Closed with the next submission; the scope sees it through.
        let _ = s.close(self.fd);
        Ok(out)
    }
}

impl WriteAll<'_, '_> {
    /// Waits until all of the data is written; gives its length, or the first error.
    pub fn wait(self) -> io::Result<usize> {
        let s = self.scope;
        let mut done = self.first.wait()?;
        while done < self.data.len {
            // SAFETY: done < len, inside the data borrowed for the scope.
            let rest = unsafe { RawData::from_raw(self.data.ptr.add(done), self.data.len - done) };
            match s
                .write_part(&self.fd, rest, self.offset + done as u64)
                .wait()?
            {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => done += n,
            }
        }
        Ok(done)
    }
}

impl CopyFile<'_, '_> {
    /// Waits until the file is copied; gives the bytes copied.
    pub fn wait(self) -> io::Result<u64> {
        let s = self.scope;
        let mut c = self.state?;
        let result = copy_chunks(s, &mut c);
        // The chunks still in flight (after an error) finish before the files close.
        while let Some(chunk) = c.in_flight.pop_front() {
            let _ = chunk.read.wait();
            let _ = chunk.write.wait();
        }
        let _ = s.close(c.from);
        let _ = s.close(c.to);
        let copied = result?;
        // As std: the destination gets the source's permissions, whatever the umask did.
        // SAFETY: a NUL-terminated path, valid for the call.
        sc::io_result(unsafe { sc::fchmodat(libc::AT_FDCWD, c.to_path.as_ptr(), c.mode) })?;
        Ok(copied)
    }
}

/// Sees a copy's chunks through and copies on to the end of the source: the bytes copied.
fn copy_chunks<'scope>(s: &'scope Batch<'scope, '_>, c: &mut Copying<'scope>) -> io::Result<u64> {
    let mut copied = 0u64;
    let mut first = true;
    while let Some(chunk) = c.in_flight.pop_front() {
        let read = chunk.read.wait();
        let write = chunk.write.wait();
        let read = match read {
            Ok(n) => n,
            Err(e) if first && e.raw_os_error() == Some(libc::ECANCELED) => {
                // Cut before the read: an open says why.
                let why = c.opens.iter().find_map(|&open| s.core.failure_of(open));
                return Err(why.unwrap_or(e));
            }
            Err(e) => return Err(e),
        };
        let written = match write {
            Ok(n) => n,
            // A short read cancelled the write linked to it.
            Err(e) if e.raw_os_error() == Some(libc::ECANCELED) && read < chunk.len => 0,
            Err(e) if first && e.raw_os_error() == Some(libc::ECANCELED) => {
                let why = c.opens.iter().find_map(|&open| s.core.failure_of(open));
                return Err(why.unwrap_or(e));
            }
            Err(e) => return Err(e),
        };
        first = false;
        if read < chunk.len {
            // The source ended early (it shrank, or is the destination itself): what was
            // read is the copy, and nothing past it.
            if written < read {
                s.write_all(
                    c.to,
                    chunk.buf.until(read).slice(written..read),
                    chunk.offset + written as u64,
                )
                .wait()?;
            }
            let end = chunk.offset + read as u64;
            // SAFETY: a NUL-terminated path, valid for the call.
            sc::io_result(unsafe { sc::truncate(c.to_path.as_ptr(), end as i64) })?;
            return Ok(end);
        }
        if written < chunk.len {
            s.write_all(
                c.to,
                chunk.buf.until(chunk.len).slice(written..chunk.len),
                chunk.offset + written as u64,
            )
            .wait()?;
        }
        copied += chunk.len as u64;
        if read > chunk.len {
            // The first read found more than the status said: copy on from there.
            copy_rest(
                s,
                c,
                chunk.buf,
                chunk.offset + chunk.len as u64,
                &mut copied,
            )?;
            return Ok(copied);
        }
        s.queue_chunk(c, Some(chunk.buf));
    }
    if c.size > COPY_CHUNK as u64 {
        // Everything the status said is copied; as std, on to the end of the file.
        let buf = s.buffer(COPY_CHUNK);
        copy_rest(s, c, buf, copied, &mut copied)?;
    }
    Ok(copied)
}

/// Copies from `offset` on, a read and a write at a time, until a read finds the end.
fn copy_rest<'scope>(
    s: &'scope Batch<'scope, '_>,
    c: &Copying<'scope>,
    buf: ScopeBuf<'scope>,
    mut offset: u64,
    copied: &mut u64,
) -> io::Result<()> {
    loop {
        let n = s.pread(c.from, buf.until(COPY_CHUNK), offset).wait()?;
        if n == 0 {
            return Ok(());
        }
        let written = s.write_all(c.to, buf.until(n), offset).wait()?;
        *copied += written as u64;
        offset += n as u64;
    }
}
