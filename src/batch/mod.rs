//! Batch scopes: many calls, few `io_uring_enter`s, the kernel overlapping what can overlap.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! let file = std::fs::File::open("Cargo.toml")?;
//! let (mut head, mut tail) = ([0u8; 16], [0u8; 16]);
//! let (a, b) = uring_os::batch(|s| {
//!     let a = s.pread(&file, &mut head, 0); // queued, returns a handle
//!     let b = s.pread(&file, &mut tail, 16);
//!     (a.wait(), b.wait()) // wait() submits what is queued if needed
//! });
//! assert_eq!((a?, b?), (16, 16));
//! # Ok(()) }
//! ```
//!
//! A scope works like `std::thread::scope`: buffers are borrowed for the whole scope, and the
//! scope itself — not a handle's `Drop` — waits for every operation it queued before it
//! returns, so leaking a handle (`mem::forget`) or never waiting it is sound. When the closure
//! panics, the scope cancels what is still in flight and reaps it before unwinding on.
//! File descriptors are borrowed for the scope too, so none can be closed (and its number
//! reused) while the kernel may still look it up:
//!
//! ```compile_fail
//! let file = std::fs::File::open("Cargo.toml").unwrap();
//! let mut buf = [0u8; 8];
//! uring_os::batch(|s| {
//!     let read = s.pread(&file, &mut buf, 0);
//!     drop(file); // error: `file` is borrowed by the queued read
//!     read.wait()
//! });
//! ```
//!
//! Ordering is opt-in: [`Batch::link`] chains operations so each starts when the one before
//! it succeeded, [`Batch::drain`] orders the next one after everything before it, and
//! [`Batch::read_file`] reads a small file as one linked open → read → close through a
//! fixed file (a direct descriptor). [`Batch::window`] keeps N operations in flight and yields results as
//! they complete (the fio pattern). [`with_timeout`](crate::with_timeout) inside a scope gives
//! each operation queued under it a linked timeout.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the scope, handles, and the methods beyond the calls (link, drain, read_file, window) |
//! | `core.rs` | the queued entries and how they start: on the ring chain by chain, or as syscalls |
//! | `end.rs` | where an entry is freed: the scope's end cancels, reaps, then drops |
//! | `arena.rs` | where operations live, at fixed addresses, until the scope ends |
//! | `erased.rs` | the function table through which a scope handles an operation of any type |
//! | `window.rs` | the windowed iterator |

mod arena;
mod args;
mod core;
mod emulate;
mod end;
mod erased;
mod whole;
mod window;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use self::arena::Arena;
pub(crate) use self::args::private::FdArg;
pub use self::args::{BatchBuf, BatchData, BatchFd, BatchOwnedFd, ScopeBuf, ScopeFd};
use self::core::{Core, SPARE_QUEUE, State, Taken};
use self::erased::finish_in_arena;
pub use self::whole::{CopyFile, ReadAll, WriteAll};
pub use self::window::{Stream, Window};
use crate::driver::{
    FixedSlot, forget_fd, fork_generation, register_fork_handler, run_syscall, with_driver,
};
use crate::op::{self, CPath, Op};
use crate::stats::Counters;
use crate::sys::IOSQE_IO_DRAIN;

/// A batch scope; see [`batch`]. Every blocking call of the crate has a method of the same
/// name and arguments here, which queues the operation and returns a [`Handle`].
pub struct Batch<'scope, 'env: 'scope> {
    core: Core,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

/// The pending result of one batch operation.
#[must_use = "a handle does nothing unless waited; the scope waits for it anyway"]
pub struct Handle<'scope, T> {
    core: &'scope Core,
    index: usize,
    finish: unsafe fn(*mut (), io::Result<i32>) -> io::Result<T>,
    /// Invariant in 'scope, so a handle cannot be passed to another scope's methods.
    _scope: PhantomData<fn(&'scope ()) -> &'scope ()>,
}

/// Runs `f` with a batch scope: calls made on `s` are queued and submitted together, and
/// every one of them has completed (or was cancelled and reaped, if `f` panicked) when
/// `batch` returns.
///
/// Queued operations go to the kernel when a handle is waited, on [`Batch::submit`], or
/// when 64 have piled up. Never more are in flight than the completion queue holds.
/// Operations run in any order unless linked ([`Batch::link`], [`Batch::drain`]). Errors
/// are per operation, each the syscall's errno. Without a ring (io_uring refused, opcode
/// missing) each operation runs as its direct syscall when started, with the same results.
pub fn batch<'env, T>(f: impl for<'scope> FnOnce(&'scope Batch<'scope, 'env>) -> T) -> T {
    let scope = Batch {
        core: Core {
            queued: RefCell::new(SPARE_QUEUE.try_with(Cell::take).unwrap_or_default()),
            arena: RefCell::new(Arena::default()),
            started: Cell::new(0),
            next_flags: Cell::new(0),
            linking: Cell::new(false),
            drain_queued: Cell::new(false),
            generation: fork_generation(),
            leak: Cell::new(false),
            kept: RefCell::new(Vec::new()),
            returned: Cell::new(false),
            emulated: RefCell::new(Vec::new()),
            bufs: RefCell::new(Vec::new()),
            pending_fd: Cell::new(None),
            recycled: RefCell::new(Vec::new()),
            restart: RefCell::new(Vec::new()),
        },
        _scope: PhantomData,
        _env: PhantomData,
    };
    Counters::current().batch();
    register_fork_handler();
    // The scope's Drop, not the handles', waits for everything; it runs on unwind too.
    let result = f(&scope);
    scope.core.returned.set(true);
    result
}

/// What a queued call names besides its borrowed arguments: a scope fd (as its fd, or to
/// close it) and a scope buffer. Filled in while the call's arguments are converted.
#[derive(Default)]
pub(crate) struct Uses {
    fd: Option<usize>,
    closes: bool,
    buf: Option<usize>,
}

impl Uses {
    /// A main fd argument: its number, or -1 until the scope fills in a scope fd.
    pub(crate) fn fd(&mut self, arg: FdArg) -> RawFd {
        match arg {
            FdArg::Raw(fd) => fd,
            FdArg::Scope(entry) => {
                self.fd = Some(entry);
                -1
            }
        }
    }

    /// The fd a close takes.
    pub(crate) fn closes(&mut self, arg: FdArg) -> RawFd {
        self.closes = true;
        self.fd(arg)
    }

    /// A read's destination.
    pub(crate) fn buf<'a>(&mut self, arg: args::private::ReadInto<'a>) -> op::RawBuf<'a> {
        self.buf = arg.scope;
        arg.raw
    }

    /// A write's source.
    pub(crate) fn data<'a>(&mut self, arg: args::private::WriteFrom<'a>) -> op::RawData<'a> {
        self.buf = arg.scope;
        arg.raw
    }
}

impl<'scope, 'env> Batch<'scope, 'env> {
    /// Queues an operation naming what `uses` says.
    pub(crate) fn push_using<O: Op + 'scope>(
        &'scope self,
        mut op: io::Result<O>,
        uses: Uses,
    ) -> Handle<'scope, O::Output> {
        if let Some(buf) = uses.buf {
            if self.core.bufs.borrow()[buf].viewing > 0 {
                // Its bytes are lent out right now: the kernel must not write them.
                op = Err(io::Error::from_raw_os_error(libc::EBUSY));
            }
        }
        let index = self.core.push_with(op, uses.fd, uses.closes);
        self.note_buffer_user(uses.buf, index);
        self.handle::<O>(index)
    }

    /// Records that entry `index` names pool buffer `buf` (a registered one makes it use
    /// the fixed-buffer opcode).
    fn note_buffer_user(&self, buf: Option<usize>, index: usize) {
        if let Some(buf) = buf {
            let mut bufs = self.core.bufs.borrow_mut();
            // A recycled place (a stream's) may name the same buffer again: the latest
            // users are looked at (a stream's depth of them), not all.
            if !bufs[buf].users.iter().rev().take(64).any(|&u| u == index) {
                bufs[buf].users.push(index);
            }
            self.core.queued.borrow_mut()[index].reg_buf = bufs[buf].reg;
        }
    }

    /// Queues an operation; a failed conversion (a path with a NUL) gives a failed handle.
    pub(crate) fn push<O: Op + 'scope>(
        &'scope self,
        op: io::Result<O>,
    ) -> Handle<'scope, O::Output> {
        let index = self.core.push(op);
        self.handle::<O>(index)
    }

    fn handle<O: Op>(&'scope self, index: usize) -> Handle<'scope, O::Output> {
        Handle {
            core: &self.core,
            index,
            finish: finish_in_arena::<O>,
            _scope: PhantomData,
        }
    }

    /// Keeps `value` alive until the scope ends (after every completion).
    pub(crate) fn keep<T: 'scope>(&'scope self, value: T) {
        self.core.keep(value);
    }

    /// A zeroed buffer of `len` bytes from the scope's pool, freed when the scope ends; see
    /// [`ScopeBuf`].
    ///
    /// The buffer is aligned to 4096 bytes, as `O_DIRECT` transfers need.
    pub fn buffer(&'scope self, len: usize) -> ScopeBuf<'scope> {
        let layout = self::core::pool_layout(len);
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let mut bufs = self.core.bufs.borrow_mut();
        bufs.push(self::core::PoolBuf {
            ptr,
            len,
            users: Vec::new(),
            viewing: 0,
            reg: None,
        });
        ScopeBuf::new(bufs.len() - 1, ptr, len)
    }

    /// Lends the bytes of `buf` to `f`, once every operation queued so far that names it
    /// has completed (their results stay for their handles). While `f` runs, a call that
    /// names `buf` fails with `EBUSY` rather than let the kernel write bytes that are lent.
    pub fn view<R>(&'scope self, buf: ScopeBuf<'scope>, f: impl FnOnce(&[u8]) -> R) -> R {
        // Every call that names it has finished after this: the list starts afresh.
        let users = std::mem::take(&mut self.core.bufs.borrow_mut()[buf.id].users);
        for user in users {
            self.core.settle(user);
        }
        struct EndView<'a>(&'a Core, usize);
        impl Drop for EndView<'_> {
            fn drop(&mut self) {
                self.0.bufs.borrow_mut()[self.1].viewing -= 1;
            }
        }
        self.core.bufs.borrow_mut()[buf.id].viewing += 1;
        let _end = EndView(&self.core, buf.id);
        // SAFETY: the pool holds `len` initialised bytes at `ptr` until the scope ends; every
        // operation that names the buffer has completed, and none can start while it is
        // lent (see push_using).
        f(unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) })
    }

    /// Registers `buf` with the ring (`IORING_REGISTER_BUFFERS_UPDATE`, into a sparse
    /// table, 5.19): the kernel pins its pages once, and reads into it and writes from it
    /// become `IORING_OP_READ_FIXED`/`WRITE_FIXED`, which skip mapping the pages on every
    /// operation. Returns `false` (and nothing changes) where the ring cannot. The buffer
    /// is unregistered when the scope ends.
    pub fn register_buffer(&'scope self, buf: ScopeBuf<'scope>) -> bool {
        let mut bufs = self.core.bufs.borrow_mut();
        let pool = &mut bufs[buf.id];
        if pool.reg.is_some() {
            return true;
        }
        let iov = libc::iovec {
            iov_base: pool.ptr.cast(),
            iov_len: pool.len,
        };
        let slot = with_driver(|d| {
            let slot = d.buffer_slot()?;
            // SAFETY: the pool keeps the buffer allocated until the scope ends, which
            // empties the slot before freeing it (see end.rs).
            match unsafe { d.ring.update_buffers(u32::from(slot), &[iov]) } {
                Ok(1) => Some(slot),
                _ => {
                    d.release_buffer_slot(slot);
                    None
                }
            }
        })
        .flatten();
        pool.reg = slot;
        slot.is_some()
    }

    /// Registers `fd` in the ring's fixed file table for the scope (as fio's
    /// `--registerfiles`): calls that take the returned [`ScopeFd`] skip the fd table. The
    /// fd stays the caller's; the scope only drops the registration when it ends. Where the
    /// ring has no fixed files the `ScopeFd` stands for the fd itself.
    pub fn fixed(&'scope self, fd: impl AsFd + 'scope) -> ScopeFd<'scope> {
        let number = fd.as_fd().as_raw_fd();
        self.keep(fd);
        let index = self.core.push(Ok(op::Owned {}));
        let slot = with_driver(|d| match d.fixed_slot() {
            FixedSlot::Free(slot) => match d.ring.update_files(slot, &[number]) {
                Ok(1) => Some(slot),
                _ => {
                    d.release_fixed_slot(slot);
                    None
                }
            },
            _ => None,
        })
        .flatten();
        let mut queued = self.core.queued.borrow_mut();
        let q = &mut queued[index];
        q.borrowed = true;
        // Its calls at the file position of an O_DIRECT file run as syscalls (see
        // `Queued::syscall_only`); an fd without a slot is checked as any fd.
        q.direct = slot.is_some() && crate::driver::is_direct(number);
        // Its result is the caller's fd number, with or without a fixed slot: calls run as
        // syscalls name the number.
        q.fixed_slot = slot;
        q.state = State::Done(Ok(number));
        ScopeFd::new(index)
    }

    /// Hands `fd` to the scope: later calls take the returned [`ScopeFd`] as their fd, and
    /// the scope closes it when it ends (or when [`Batch::close`] closes it).
    pub fn own(&'scope self, fd: impl Into<OwnedFd>) -> ScopeFd<'scope> {
        let fd = std::os::fd::IntoRawFd::into_raw_fd(fd.into());
        let index = self.core.push(Ok(op::Owned {}));
        self.core.queued.borrow_mut()[index].state = State::Done(Ok(fd));
        ScopeFd::new(index)
    }

    /// Submits everything queued so far without waiting.
    pub fn submit(&self) {
        self.core.start_pending();
        with_driver(|driver| driver.flush_queued());
    }

    /// Makes the next queued operation start only after every operation queued before it
    /// has completed (`IOSQE_IO_DRAIN`).
    pub fn drain(&self) -> &Self {
        self.core
            .next_flags
            .set(self.core.next_flags.get() | IOSQE_IO_DRAIN);
        self
    }

    /// Links the operations queued inside `f` into a chain (`IOSQE_IO_LINK`): each starts
    /// when the one before has succeeded, and once one fails (or transfers less than asked,
    /// as the kernel counts it) the rest fail with `ECANCELED`. The chain goes to the kernel
    /// in one piece when `f` returns; waiting one of its handles inside `f` ends the chain
    /// there. A chain longer than the ring's SQ runs as direct syscalls.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("f");
    /// let file = std::fs::File::create(&path)?;
    /// let (written, synced) = uring_os::batch(|s| {
    ///     let (w, f) = s.link(|s| (s.pwrite(&file, b"data", 0), s.fsync(&file)));
    ///     (w.wait(), f.wait())
    /// });
    /// assert_eq!(written?, 4);
    /// synced?;
    /// # Ok(()) }
    /// ```
    pub fn link<R>(&'scope self, f: impl FnOnce(&'scope Self) -> R) -> R {
        if self.core.linking.get() {
            return f(self);
        }
        self.core.start_pending();
        self.core.linking.set(true);
        struct EndChain<'a>(&'a Core);
        impl Drop for EndChain<'_> {
            fn drop(&mut self) {
                self.0.linking.set(false);
            }
        }
        let end = EndChain(&self.core);
        let result = f(self);
        drop(end);
        self.core.start_pending();
        result
    }

    /// Reads up to `buf.len()` bytes from the start of `path` (relative to `dir`) as one
    /// linked chain — open into a direct descriptor, read, close — so a small file costs
    /// no file descriptor number and a third of the completions' bookkeeping. The result is
    /// the open's error if it failed, else the read's.
    ///
    /// Needs sparse fixed-file tables (5.19); before, and without a ring, it runs as
    /// openat + read + close.
    pub fn read_file(
        &'scope self,
        dir: impl AsFd + 'scope,
        path: impl AsRef<Path>,
        buf: impl BatchBuf<'scope>,
    ) -> Handle<'scope, usize> {
        let dir_fd = dir.as_fd().as_raw_fd();
        self.keep(dir);
        let dir = dir_fd;
        let arg = buf.into_read_arg();
        let (buf, pool) = (arg.raw, arg.scope);
        if let Some(pool) = pool {
            if self.core.bufs.borrow()[pool].viewing > 0 {
                return self
                    .push::<op::Read<'scope>>(Err(io::Error::from_raw_os_error(libc::EBUSY)));
            }
        }
        let path = match CPath::heap(path.as_ref()) {
            Ok(path) => path,
            Err(e) => return self.push::<op::Read<'scope>>(Err(e)),
        };
        // The chain stands alone: an enclosing link() ends before it.
        self.core.start_pending();
        let sqes_needed = if crate::timeout::current_deadline().is_some() {
            6
        } else {
            3
        };
        let index = loop {
            if self.core.forked() {
                // A fork child's scope runs its operations as syscalls (see start).
                break None;
            }
            match with_driver(|d| {
                if d.ring.sq_entries() < sqes_needed {
                    FixedSlot::Unsupported
                } else {
                    d.fixed_slot()
                }
            }) {
                Some(FixedSlot::Free(index)) => break Some(index),
                Some(FixedSlot::Busy) => {
                    // Every slot is taken: by chains not finished (their closes free slots:
                    // start and reap them), or by scope fds (nothing frees one: go without).
                    self.core.start_pending();
                    let waited = with_driver(|d| {
                        let busy = d.completions.in_flight > 0 || d.ring.sq_pending() > 0;
                        if busy {
                            d.wait_one();
                        }
                        busy
                    });
                    if waited != Some(true) {
                        break None;
                    }
                }
                Some(FixedSlot::Unsupported) | None => break None,
            }
        };
        let Some(index) = index else {
            // No fixed files: the same three steps, now, one after the other.
            let res = read_whole(dir, path, buf);
            let slot = self.core.push::<op::Ready>(Ok(op::Ready {}));
            self.core.queued.borrow_mut()[slot].state = State::Done(res.map(|n| n as i32));
            self.note_buffer_user(pool, slot);
            return self.handle::<op::Ready>(slot);
        };
        let outer_link = self.core.linking.replace(true);
        let open = self.core.push(Ok(op::OpenFixed { dir, path, index }));
        let read = self.core.push(Ok(op::ReadFixed { index, buf }));
        self.note_buffer_user(pool, read);
        self.core.linking.set(false);
        let close = self.core.push(Ok(op::CloseFixed { index }));
        self.core.linking.set(outer_link);
        let mut queued = self.core.queued.borrow_mut();
        queued[read].after = Some(open);
        queued[close].detached = Some(index);
        drop(queued);
        // Started now, as a unit, so no later link() entry joins the chain.
        self.core.start_pending();
        self.handle::<op::ReadFixed<'scope>>(read)
    }

    /// Keeps up to `depth` of the operations `ops` yields in flight, queueing the next one
    /// as each completes, and yields `(position, result)` in completion order — the fio
    /// pattern, for many reads or writes without waiting for the slowest of each group.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let mut bufs = vec![[0u8; 8]; 16];
    /// let total: usize = uring_os::batch(|s| {
    ///     let reads = bufs.iter_mut().enumerate().map(|(i, b)| s.pread(&file, b, i as u64 * 8));
    ///     s.window(4, reads).map(|(_, r)| r.unwrap()).sum()
    /// });
    /// assert_eq!(total, 128);
    /// # Ok(()) }
    /// ```
    pub fn window<T, I>(&'scope self, depth: usize, ops: I) -> Window<'scope, T, I::IntoIter>
    where
        I: IntoIterator<Item = Handle<'scope, T>>,
    {
        Window {
            core: &self.core,
            ops: ops.into_iter(),
            depth: depth.max(1),
            in_flight: VecDeque::new(),
            next_position: 0,
        }
    }

    /// Streams operations through `depth` buffers of `len` bytes that it recycles:
    /// `make(s, position, buffer)` queues the operation number `position` (a read into the
    /// buffer, or a write from it) and returns its handle, or `None` when there are no
    /// more. Up to `depth` are in flight; the iterator yields `(position, result, buffer)`
    /// as they complete, the buffer lent to the caller (with [`Batch::view`]) until the
    /// next call, when a new operation gets it. So streaming a file of any size takes
    /// `depth` buffers — the fio pattern with recycled buffers.
    ///
    /// The buffers are registered with the ring where it can (5.19), so reads and writes
    /// into them use `IORING_OP_READ_FIXED`/`WRITE_FIXED`; they are page-aligned, as
    /// `O_DIRECT` needs.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("f"), &data)?;
    /// let file = std::fs::File::open(dir.path().join("f"))?;
    /// let mut sum = 0u64;
    /// uring_os::batch(|s| {
    ///     let blocks = s.stream(4, 4096, |s, i, buf| {
    ///         let offset = i as u64 * 4096;
    ///         (offset < 100_000).then(|| s.pread(&file, buf, offset))
    ///     });
    ///     for (_, n, buf) in blocks {
    ///         let n = n.unwrap();
    ///         s.view(buf.until(n), |bytes| sum += bytes.iter().map(|&b| u64::from(b)).sum::<u64>());
    ///     }
    /// });
    /// assert_eq!(sum, data.iter().map(|&b| u64::from(b)).sum::<u64>());
    /// # Ok(()) }
    /// ```
    pub fn stream<F>(&'scope self, depth: usize, len: usize, make: F) -> Stream<'scope, 'env, F>
    where
        F: FnMut(&'scope Self, usize, ScopeBuf<'scope>) -> Option<Handle<'scope, usize>>,
    {
        let depth = depth.max(1);
        let idle = (0..depth)
            .map(|_| {
                let buf = self.buffer(len);
                self.register_buffer(buf);
                buf
            })
            .collect();
        Stream {
            scope: self,
            make,
            depth,
            idle,
            lent: None,
            in_flight: VecDeque::new(),
            next_position: 0,
            done: false,
        }
    }
}

/// openat + read + close as syscalls one after the other, for [`Batch::read_file`] without
/// fixed files.
fn read_whole(dir: i32, path: CPath, buf: op::RawBuf<'_>) -> io::Result<usize> {
    let mut open = op::OpenAt {
        dir,
        path,
        flags: libc::O_RDONLY | libc::O_CLOEXEC,
        mode: 0,
        fixed: None,
    };
    let fd = run_syscall(&mut open);
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(-fd));
    }
    forget_fd(fd);
    let read = run_syscall(&mut op::Read { fd, buf, offset: 0 });
    let closed = run_syscall(&mut op::Close { fd, fixed: None });
    forget_fd(fd);
    match (read, closed) {
        (r, _) if r < 0 => Err(io::Error::from_raw_os_error(-r)),
        (_, c) if c < 0 => Err(io::Error::from_raw_os_error(-c)),
        (r, _) => Ok(r as usize),
    }
}

impl<'scope> Handle<'scope, OwnedFd> {
    /// The fd this open (or socket) makes, for later calls of the same scope to take as
    /// their fd; see [`ScopeFd`]. Waiting the handle still gives the fd to the caller.
    pub fn fd(&self) -> ScopeFd<'scope> {
        ScopeFd::new(self.index)
    }
}

impl<'scope> Handle<'scope, (OwnedFd, std::net::SocketAddr)> {
    /// The fd this accept makes, for later calls of the same scope; see [`ScopeFd`].
    pub fn fd(&self) -> ScopeFd<'scope> {
        ScopeFd::new(self.index)
    }
}

impl<T> Handle<'_, T> {
    /// Waits for the operation and gives its result, submitting what is queued if needed.
    pub fn wait(self) -> io::Result<T> {
        let Some(Taken {
            mut res,
            timed_out,
            op,
            after,
        }) = self.core.take_result(self.index)
        else {
            // Not reapable (see Core::drop): the kernel may still use the operation's
            // memory, so it stays in the scope, leaked rather than freed.
            return Err(io::Error::from_raw_os_error(libc::ECANCELED));
        };
        if matches!(res, Ok(r) if r == -libc::ECANCELED || r == -libc::EINTR) {
            if timed_out {
                res = Ok(-libc::ETIMEDOUT);
            } else if let Some(index) = after {
                // A chain cut short: the earlier entry's error says why (its result stays
                // for its own handle).
                if let Some(error) = self.core.failure_of(index) {
                    res = Err(error);
                }
            }
        }
        if op.is_null() {
            // A conversion error, carried in `res`.
            return Err(match res {
                Err(e) => e,
                Ok(r) => io::Error::from_raw_os_error(if r < 0 { -r } else { libc::ECANCELED }),
            });
        }
        // SAFETY: op is this handle's operation, taken out of the scope above, and its
        // completion has been reaped (or it never went to the kernel).
        unsafe { (self.finish)(op, res) }
    }
}
