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
//! call a deadline, on any fd. The layers, lowest first: [`sys`] (the kernel ABI, written by
//! hand), [`ring`] (one io_uring instance and its low-level API), the operations, the
//! per-thread facade, the blocking calls and batches.

#![warn(missing_docs)]

mod batch;
mod calls;
mod config;
pub mod fs;
mod local;
pub mod net;
mod op;
pub mod ring;
mod stats;
pub mod sys;
mod timeout;

pub use batch::{Batch, Handle, batch};
pub use calls::*;
pub use config::{
    Backend, Config, ConfigError, DEFAULT_ENTRIES, DEFAULT_WARMUP_CALLS, Dispatch, Fallback,
    FallbackReason, Status, configure,
};
pub use local::status;
pub use stats::{Stats, stats};
pub use timeout::with_timeout;

/// The README's examples, run as doctests so they never rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
