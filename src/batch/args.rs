//! What batch calls take as their fd and their buffers: what the blocking calls take (an
//! fd or a slice borrowed for the scope), or what the scope owns — an fd born in the scope
//! ([`ScopeFd`]) or a buffer from its pool ([`ScopeBuf`]). Later calls of the same scope can
//! name those before the operation that fills them has completed, when linked after it.

use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};

use super::Batch;
use crate::op::{RawBuf, RawData};

/// An fd the scope owns: born in it (the fd of [`Batch::open`], [`Batch::openat`] and the
/// like, from [`Handle::fd`](super::Handle::fd)) or handed to it ([`Batch::own`]).
///
/// Later calls of the same scope take it as their fd, also before the open has completed
/// when they are linked after it ([`Batch::link`]): the open then goes into a fixed file
/// (a direct descriptor, 5.15) that the linked calls name. A call that is not linked to the
/// open waits for it first. The scope closes the fd when it ends, unless
/// [`Handle::wait`](super::Handle::wait) on the open took it, or [`Batch::close`] closed it.
/// An fd whose open failed, or that was taken or closed, gives `EBADF`.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("greeting");
/// let mut buf = [0u8; 5];
/// let (written, read) = uring_os::batch(|s| {
///     let (w, r) = s.link(|s| {
///         let f = s.open(&path, libc::O_RDWR | libc::O_CREAT, 0o600).fd();
///         let w = s.pwrite(f, b"hello", 0);
///         let r = s.pread(f, &mut buf, 0);
///         (w, r)
///     });
///     (w.wait(), r.wait())
/// });
/// assert_eq!((written?, read?), (5, 5));
/// assert_eq!(&buf, b"hello");
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ScopeFd<'scope> {
    /// The scope entry that makes (or holds) the fd.
    pub(super) entry: usize,
    _scope: PhantomData<fn(&'scope ()) -> &'scope ()>,
}

impl ScopeFd<'_> {
    pub(super) fn new(entry: usize) -> Self {
        ScopeFd {
            entry,
            _scope: PhantomData,
        }
    }
}

/// A buffer the scope owns, from its pool ([`Batch::buffer`]): a chain can read into it
/// and then write from it, with no borrow for the caller to juggle. Its bytes are lent out
/// by [`Batch::view`] once the operations using it have completed. Freed when the scope
/// ends.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("in"), b"copy me")?;
/// let (src, dst) = (dir.path().join("in"), dir.path().join("out"));
/// let copied = uring_os::batch(|s| {
///     // A chain ends at a short read, as the kernel counts it: read exactly what is there.
///     let buf = s.buffer(7);
///     let (_, w) = s.link(|s| {
///         let from = s.open(&src, libc::O_RDONLY, 0).fd();
///         let to = s.open(&dst, libc::O_WRONLY | libc::O_CREAT, 0o644).fd();
///         (s.read(from, buf), s.write(to, buf))
///     });
///     w.wait()
/// });
/// assert_eq!(copied?, 7);
/// assert_eq!(std::fs::read(dir.path().join("out"))?, b"copy me");
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ScopeBuf<'scope> {
    pub(super) id: usize,
    pub(super) ptr: *mut u8,
    pub(super) len: usize,
    _scope: PhantomData<fn(&'scope ()) -> &'scope ()>,
}

impl ScopeBuf<'_> {
    pub(super) fn new(id: usize, ptr: *mut u8, len: usize) -> Self {
        ScopeBuf {
            id,
            ptr,
            len,
            _scope: PhantomData,
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The part `range` of the buffer (clamped to it), for a read or write of part of it.
    pub fn slice(self, range: std::ops::Range<usize>) -> Self {
        let end = range.end.min(self.len);
        let start = range.start.min(end);
        ScopeBuf {
            // SAFETY: start <= len: the pointer stays inside (or one past) the buffer.
            ptr: unsafe { self.ptr.add(start) },
            len: end - start,
            ..self
        }
    }

    /// The same buffer cut to its first `len` bytes (all of it if `len` is larger): what a
    /// write sends when the read before it filled only part.
    pub fn until(self, len: usize) -> Self {
        ScopeBuf {
            len: len.min(self.len),
            ..self
        }
    }
}

pub(super) mod private {
    use std::os::fd::RawFd;

    use crate::op::{RawBuf, RawData};

    /// A batch call's fd argument, as the scope records it.
    pub enum FdArg {
        /// An fd number, open for the whole scope.
        Raw(RawFd),
        /// The fd of scope entry `n`, known when that entry has run.
        Scope(usize),
    }

    /// What the fd argument types of batch calls do; implemented by nothing else.
    pub trait SealedFd<'scope> {
        fn into_fd_arg(self, scope: &'scope super::Batch<'scope, '_>) -> FdArg;
    }

    /// What the fd types a batch `close` takes do.
    pub trait SealedOwned<'scope> {
        fn into_owned_arg(self) -> FdArg;
    }

    /// What the destination types of batch reads do.
    pub trait SealedBuf<'scope> {
        fn into_read_arg(self) -> ReadInto<'scope>;
    }

    /// What the source types of batch writes do.
    pub trait SealedData<'scope> {
        fn into_write_arg(self) -> WriteFrom<'scope>;
    }

    /// A batch read's destination, as the scope records it: the memory, and the scope
    /// buffer it belongs to, if any.
    pub struct ReadInto<'scope> {
        pub(crate) raw: RawBuf<'scope>,
        pub(crate) scope: Option<usize>,
    }

    /// A batch write's source, as the scope records it.
    pub struct WriteFrom<'scope> {
        pub(crate) raw: RawData<'scope>,
        pub(crate) scope: Option<usize>,
    }
}

use private::{FdArg, SealedBuf, SealedData, SealedFd, SealedOwned};

/// What a batch call takes as its fd: whatever the blocking call takes, borrowed (or kept)
/// for the scope — `&File`, a `BorrowedFd`, [`CWD`](crate::CWD), an `OwnedFd` the scope
/// then keeps open until it ends — or a [`ScopeFd`].
pub trait BatchFd<'scope>: SealedFd<'scope> {}

impl<'scope, T: AsFd + 'scope> SealedFd<'scope> for T {
    #[inline]
    fn into_fd_arg(self, scope: &'scope Batch<'scope, '_>) -> FdArg {
        let fd = self.as_fd().as_raw_fd();
        scope.keep(self);
        FdArg::Raw(fd)
    }
}

impl<'scope, T: AsFd + 'scope> BatchFd<'scope> for T {}

impl<'scope> SealedFd<'scope> for ScopeFd<'scope> {
    #[inline]
    fn into_fd_arg(self, _scope: &'scope Batch<'scope, '_>) -> FdArg {
        FdArg::Scope(self.entry)
    }
}

impl<'scope> BatchFd<'scope> for ScopeFd<'scope> {}

/// What a batch `close` takes: an `OwnedFd` (closed by the operation) or a [`ScopeFd`].
pub trait BatchOwnedFd<'scope>: SealedOwned<'scope> {}

impl<'scope> SealedOwned<'scope> for OwnedFd {
    #[inline]
    fn into_owned_arg(self) -> FdArg {
        FdArg::Raw(self.into_raw_fd())
    }
}

impl<'scope> BatchOwnedFd<'scope> for OwnedFd {}

impl<'scope> SealedOwned<'scope> for ScopeFd<'scope> {
    #[inline]
    fn into_owned_arg(self) -> FdArg {
        FdArg::Scope(self.entry)
    }
}

impl<'scope> BatchOwnedFd<'scope> for ScopeFd<'scope> {}

/// What a batch read takes as its destination: a slice borrowed for the scope, or a
/// [`ScopeBuf`].
pub trait BatchBuf<'scope>: SealedBuf<'scope> {}

impl<'scope> SealedBuf<'scope> for &'scope mut [u8] {
    #[inline]
    fn into_read_arg(self) -> private::ReadInto<'scope> {
        private::ReadInto {
            raw: RawBuf::from(self),
            scope: None,
        }
    }
}

impl<'scope> BatchBuf<'scope> for &'scope mut [u8] {}

impl<'scope> SealedBuf<'scope> for ScopeBuf<'scope> {
    #[inline]
    fn into_read_arg(self) -> private::ReadInto<'scope> {
        private::ReadInto {
            // SAFETY: the pool keeps the buffer until the scope ends, after every
            // completion; the scope lends its bytes out (view) only while no operation
            // names it.
            raw: unsafe { RawBuf::from_raw(self.ptr, self.len) },
            scope: Some(self.id),
        }
    }
}

impl<'scope> BatchBuf<'scope> for ScopeBuf<'scope> {}

/// What a batch write takes as its source: a slice borrowed for the scope, or a
/// [`ScopeBuf`].
pub trait BatchData<'scope>: SealedData<'scope> {}

impl<'scope> SealedData<'scope> for &'scope [u8] {
    #[inline]
    fn into_write_arg(self) -> private::WriteFrom<'scope> {
        private::WriteFrom {
            raw: RawData::from(self),
            scope: None,
        }
    }
}

impl<'scope> BatchData<'scope> for &'scope [u8] {}

impl<'scope> SealedData<'scope> for ScopeBuf<'scope> {
    #[inline]
    fn into_write_arg(self) -> private::WriteFrom<'scope> {
        private::WriteFrom {
            // SAFETY: as for reads into it.
            raw: unsafe { RawData::from_raw(self.ptr, self.len) },
            scope: Some(self.id),
        }
    }
}

impl<'scope> BatchData<'scope> for ScopeBuf<'scope> {}

impl<'scope, const N: usize> SealedData<'scope> for &'scope [u8; N] {
    #[inline]
    fn into_write_arg(self) -> private::WriteFrom<'scope> {
        private::WriteFrom {
            raw: RawData::from(&self[..]),
            scope: None,
        }
    }
}

impl<'scope, const N: usize> BatchData<'scope> for &'scope [u8; N] {}

impl<'scope, const N: usize> SealedBuf<'scope> for &'scope mut [u8; N] {
    #[inline]
    fn into_read_arg(self) -> private::ReadInto<'scope> {
        private::ReadInto {
            raw: RawBuf::from(&mut self[..]),
            scope: None,
        }
    }
}

impl<'scope, const N: usize> BatchBuf<'scope> for &'scope mut [u8; N] {}

impl<'scope> SealedData<'scope> for &'scope Vec<u8> {
    #[inline]
    fn into_write_arg(self) -> private::WriteFrom<'scope> {
        self.as_slice().into_write_arg()
    }
}

impl<'scope> BatchData<'scope> for &'scope Vec<u8> {}

impl<'scope> SealedBuf<'scope> for &'scope mut Vec<u8> {
    #[inline]
    fn into_read_arg(self) -> private::ReadInto<'scope> {
        self.as_mut_slice().into_read_arg()
    }
}

impl<'scope> BatchBuf<'scope> for &'scope mut Vec<u8> {}
