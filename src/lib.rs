//! io_uring for synchronous Rust code, without restructuring it.
//!
//! Each thread lazily gets its own ring. [`read`], [`write`], [`pread`], [`openat`],
//! [`fsync`], [`statx`], [`accept`], [`send`] and the other calls at the crate root submit one
//! submission entry and block until its completion: drop-in replacements for the libc/std
//! calls, with the same results and the same errno. Where io_uring is refused (a container's
//! seccomp profile, `kernel.io_uring_disabled`) or the kernel lacks an opcode, the same call
//! runs as the direct syscall; [`status()`] says which path is in use and why.
//!
//! The layers, lowest first: [`sys`] (the kernel ABI, written by hand), [`ring`] (one io_uring
//! instance and its low-level API), the operations, the per-thread facade, the blocking calls.

#![warn(missing_docs)]

pub mod ring;
pub mod sys;
