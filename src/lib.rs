//! io_uring for synchronous Rust code, without restructuring it.
//!
//! Each thread lazily gets its own ring. [`read`], [`write()`], [`pread`], [`openat`],
//! [`fsync`], [`statx`], [`accept`], [`send`] and the other calls at the crate root submit one
//! submission entry and block until its completion: drop-in replacements for the libc/std
//! calls, with the same results and the same errno. Where io_uring is refused (a container's
//! seccomp profile, `kernel.io_uring_disabled`) or the kernel lacks an opcode, the same call
//! runs as the direct syscall; [`status()`] says which path is in use and why.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use std::os::fd::AsFd;
//! // std:      let n = file.read_at(&mut buf, 0)?;
//! let file = std::fs::File::open("Cargo.toml")?;
//! let mut buf = [0u8; 64];
//! let n = uring_os::pread(&file, &mut buf, 0)?;
//! assert!(n > 0);
//! # Ok(()) }
//! ```
//!
//! Inside [`batch`], calls are queued and submitted together. [`with_timeout`] gives every
//! call a deadline, on any fd.
//!
//! # Layout
//!
//! Layers, lowest first; each file uses only the ones above it in this list.
//!
//! ```text
//! src/
//! ├── sys/
//! │   ├── syscall.rs   layer 0: the one seam to the kernel — every kernel call outside a
//! │   │                ring, made as a raw system call (never a libc name a shim exports)
//! │   └── mod.rs       layer 1: the io_uring ABI written by hand (structs, constants,
//! │                    io_uring_setup/enter/register)
//! ├── ring/            layer 2: one io_uring instance, the public low-level API
//! │   ├── mod.rs       setup with flag fallback, mappings, submit/wait, register
//! │   ├── queue.rs     the SQ and CQ with liburing's memory orderings
//! │   ├── entry.rs     Sqe with a prep helper per opcode, Cqe
//! │   ├── emulate.rs   a filled entry run as the syscall it stands for
//! │   ├── probe.rs     which opcodes the kernel has
//! │   └── error.rs     SetupError: why a ring could not be made
//! ├── op/              layer 3: the operations
//! │   ├── mod.rs       the Op trait (entry, syscall, result, fd, signal hooks), ops! macro
//! │   ├── list.rs      every operation, declared once in the ops! table
//! │   ├── rest.rs      what is left of a short write on a blocking stream
//! │   └── args.rs      paths, socket addresses, timespecs as the kernel reads them
//! ├── config.rs        Config, configure(), Status, the fallback reasons
//! ├── stats.rs         per-thread counters summed by stats()
//! ├── timeout.rs       with_timeout's deadline
//! ├── driver/          layer 4: the calling thread's ring
//! │   ├── thread.rs    where a thread's ring lives (setup, warm-up, syscall mode)
//! │   ├── wait.rs      where a wait loops (the blocking entry, any completion, room,
//! │   │                socket timeouts)
//! │   ├── slots.rs     completion slots of batch entries and multishot streams, fixed
//! │   │                file and registered buffer slots
//! │   ├── fdcache.rs   what is known of fd numbers (seekable, buffered, O_NONBLOCK)
//! │   ├── syscall.rs   running an operation as its syscall: the fallback decision,
//! │   │                attempts without waiting, deadlines without a ring
//! │   ├── creds.rs     credentials under SQPOLL
//! │   ├── fork.rs      the fork generation, vfork children
//! │   └── reaper.rs    unmapping exited threads' rings off their exit path
//! ├── single.rs        layer 5: one blocking call
//! ├── multishot.rs     layer 5: multishot accept
//! ├── batch/           layer 5, beside single.rs: batch scopes
//! │   ├── mod.rs       Batch, Handle, link, drain, read_file, window, stream, pools
//! │   ├── args.rs      what batch calls take: ScopeFd, ScopeBuf, borrowed fds and slices
//! │   ├── core.rs      queued entries and how they start (ring or syscall), scope fds
//! │   ├── emulate.rs   chains run as syscalls, concurrently, as the ring would run them
//! │   ├── whole.rs     read_all, write_all, copy
//! │   ├── end.rs       where an entry is freed: the scope's end reaps, closes, then drops
//! │   ├── arena.rs     operations at fixed addresses for the scope's life
//! │   ├── erased.rs    the function table for operations of any type
//! │   └── window.rs    windows and streams
//! ├── calls.rs         layer 6: the calls table — every blocking call and batch method
//! │                    from one line each; status()
//! ├── fs/              layer 7: std::fs's API (direct syscalls through the seam where the
//! │                    ring cannot win for a blocking caller)
//! └── net/             layer 7: std::net's and std::os::unix::net's API
//! ```

#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod batch;
mod calls;
mod config;
mod driver;
pub mod fs;
mod multishot;
pub mod net;
mod op;
pub mod ring;
mod single;
mod stats;
pub mod sys;
mod timeout;

pub use batch::{
    Batch, BatchBuf, BatchData, BatchFd, BatchOwnedFd, CopyFile, Handle, ReadAll, ScopeBuf,
    ScopeFd, Window, WriteAll, batch,
};
pub use calls::*;
pub use config::{
    Backend, Config, ConfigError, DEFAULT_ENTRIES, DEFAULT_WARMUP_CALLS, Dispatch, Fallback,
    FallbackReason, Status, configure,
};
pub use multishot::{Accepts, accept_multishot};
pub use stats::{Stats, stats};
pub use timeout::with_timeout;

/// The `libc` crate this one is built on, for the flag constants the calls take
/// (`uring_os::libc::O_RDONLY`, `uring_os::libc::MSG_NOSIGNAL`, ...) without a dependency
/// of your own.
pub use libc;
#[doc(hidden)]
pub use op::with_unread_iovecs;

/// The README's examples, run as doctests so they never rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
