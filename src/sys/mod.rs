//! Layer 1: the Linux io_uring kernel ABI, written out by hand.
//!
//! This module is a Rust transcription of the kernel's user-space API header
//! for io_uring (`include/uapi/linux/io_uring.h`, plus the small
//! `linux/io_uring/query.h`), as liburing keeps it in
//! `src/include/liburing/io_uring.h`. It covers the interface up to and
//! including Linux 6.18: the shared-memory structures, every flag and opcode
//! constant, the syscall numbers, and three thin wrappers around the raw
//! `io_uring_setup(2)`, `io_uring_enter(2)` and `io_uring_register(2)` system
//! calls, made raw through the crate's one seam to the kernel ([`syscall`]).
//! No liburing and no bindgen output is involved.
//!
//! Nothing else in this crate defines kernel ABI: every other module takes its
//! struct layouts, constants and syscalls from here, so this file (and its
//! layout tests) is the single place to audit against the kernel header.
//!
//! Conventions:
//!
//! * Structs are `#[repr(C)]`, zeroable (`Default` gives the all-zero value
//!   the kernel expects in reserved fields), and have all fields `pub`.
//! * C unions are flattened to one field named after the union's first (or
//!   most common) member; the comment on the field lists every member.
//! * Leading underscores of the kernel's reserved fields are dropped
//!   (`__resv` becomes `resv`).
//! * Constants keep the kernel's names. Their Rust type is the type of the
//!   field (or syscall argument) they are stored in, so they can be assigned
//!   without casts: `IOSQE_*` are `u8` like `IoUringSqe::flags`, the send/recv
//!   and accept flags are `u16` like `IoUringSqe::ioprio`, and so on.
//! * "since X.Y" in a doc comment names the kernel release that added the
//!   item, where known.

use core::mem::size_of;

pub mod syscall;

// ---------------------------------------------------------------------------
// Syscall numbers
// ---------------------------------------------------------------------------

/// `io_uring_setup(2)` syscall number. 425 on every architecture that uses
/// the generic syscall table, which includes x86_64 and aarch64 (alpha and
/// mips use their own numbering and are not supported here).
pub const SYS_IO_URING_SETUP: libc::c_long = 425;
/// `io_uring_enter(2)` syscall number (generic table, see
/// [`SYS_IO_URING_SETUP`]).
pub const SYS_IO_URING_ENTER: libc::c_long = 426;
/// `io_uring_register(2)` syscall number (generic table, see
/// [`SYS_IO_URING_SETUP`]).
pub const SYS_IO_URING_REGISTER: libc::c_long = 427;

// ---------------------------------------------------------------------------
// Submission queue entry
// ---------------------------------------------------------------------------

/// Submission queue entry (`struct io_uring_sqe`), 64 bytes.
///
/// With `IORING_SETUP_SQE128` each entry is followed by another 64 bytes of
/// command data that continue the `cmd` area starting at
/// [`addr3`](Self::addr3); those extra bytes are not part of this struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringSqe {
    /// Operation, one of the `IORING_OP_*` values.
    pub opcode: u8,
    /// `IOSQE_*` flags.
    pub flags: u8,
    /// I/O priority; the send/recv (`IORING_RECVSEND_*`) and accept
    /// (`IORING_ACCEPT_*`) opcodes use it for their own flags instead.
    pub ioprio: u16,
    /// File descriptor (or fixed-file index with `IOSQE_FIXED_FILE`).
    pub fd: i32,
    /// Union: `off` (file offset), `addr2` (second address), or the struct
    /// `{ cmd_op: u32, __pad1: u32 }` for `IORING_OP_URING_CMD` (low 32 bits
    /// on little-endian targets are `cmd_op`).
    pub off: u64,
    /// Union: `addr` (buffer or iovec pointer), `splice_off_in`, or the struct
    /// `{ level: u32, optname: u32 }` for socket option commands.
    pub addr: u64,
    /// Buffer length, or number of iovecs.
    pub len: u32,
    /// Union of the per-opcode flag words, all 32 bits: `rw_flags`
    /// (`__kernel_rwf_t`, `RWF_*`), `fsync_flags`, `poll_events` (16-bit
    /// legacy view), `poll32_events`, `sync_range_flags`, `msg_flags`,
    /// `timeout_flags`, `accept_flags`, `cancel_flags`, `open_flags`,
    /// `statx_flags`, `fadvise_advice`, `splice_flags`, `rename_flags`,
    /// `unlink_flags`, `hardlink_flags`, `xattr_flags`, `msg_ring_flags`,
    /// `uring_cmd_flags`, `waitid_flags`, `futex_flags`, `install_fd_flags`,
    /// `nop_flags`, `pipe_flags`.
    pub op_flags: u32,
    /// Opaque value copied to the matching CQE.
    pub user_data: u64,
    /// Union: `buf_index` (fixed buffer index) or `buf_group` (provided
    /// buffer group, with `IOSQE_BUFFER_SELECT`).
    pub buf_index: u16,
    /// Registered personality (credentials) id, 0 for none.
    pub personality: u16,
    /// Union: `splice_fd_in` (`i32`), `file_index` (`u32`, direct descriptor
    /// slot + 1 or `IORING_FILE_INDEX_ALLOC`), `zcrx_ifq_idx` (`u32`),
    /// `optlen` (`u32`), or the struct `{ addr_len: u16, __pad3: u16 }`.
    pub splice_fd_in: i32,
    /// Union: `addr3`, `attr_ptr` (pointer to read/write attributes such as
    /// `IoUringAttrPi`), `optval`, or the start of `cmd[]` (16 bytes here, 80
    /// with a 128-byte SQE) for `IORING_OP_URING_CMD`.
    pub addr3: u64,
    /// Union: `__pad2[0]`, `attr_type_mask` (`IORING_RW_ATTR_FLAG_*`), or
    /// bytes 8..16 of `cmd[]`.
    pub pad2: u64,
}

/// Bit number of [`IOSQE_FIXED_FILE`].
pub const IOSQE_FIXED_FILE_BIT: u8 = 0;
/// Bit number of [`IOSQE_IO_DRAIN`].
pub const IOSQE_IO_DRAIN_BIT: u8 = 1;
/// Bit number of [`IOSQE_IO_LINK`].
pub const IOSQE_IO_LINK_BIT: u8 = 2;
/// Bit number of [`IOSQE_IO_HARDLINK`].
pub const IOSQE_IO_HARDLINK_BIT: u8 = 3;
/// Bit number of [`IOSQE_ASYNC`].
pub const IOSQE_ASYNC_BIT: u8 = 4;
/// Bit number of [`IOSQE_BUFFER_SELECT`].
pub const IOSQE_BUFFER_SELECT_BIT: u8 = 5;
/// Bit number of [`IOSQE_CQE_SKIP_SUCCESS`].
pub const IOSQE_CQE_SKIP_SUCCESS_BIT: u8 = 6;

/// `sqe.fd` is an index into the registered file table (since 5.1).
pub const IOSQE_FIXED_FILE: u8 = 1 << IOSQE_FIXED_FILE_BIT;
/// Start this request only after all earlier ones have completed (since 5.2).
pub const IOSQE_IO_DRAIN: u8 = 1 << IOSQE_IO_DRAIN_BIT;
/// Link the next SQE to this one; a failure cancels the rest of the chain
/// (since 5.3).
pub const IOSQE_IO_LINK: u8 = 1 << IOSQE_IO_LINK_BIT;
/// Like `IOSQE_IO_LINK`, but the chain continues even if this one fails
/// (since 5.5).
pub const IOSQE_IO_HARDLINK: u8 = 1 << IOSQE_IO_HARDLINK_BIT;
/// Always punt the request to async context instead of trying inline first
/// (since 5.6).
pub const IOSQE_ASYNC: u8 = 1 << IOSQE_ASYNC_BIT;
/// Pick a buffer from provided-buffer group `sqe.buf_group` (since 5.7).
pub const IOSQE_BUFFER_SELECT: u8 = 1 << IOSQE_BUFFER_SELECT_BIT;
/// Do not post a CQE if the request succeeds (since 5.17).
pub const IOSQE_CQE_SKIP_SUCCESS: u8 = 1 << IOSQE_CQE_SKIP_SUCCESS_BIT;

/// `sqe.file_index` value asking the kernel to pick a free direct-descriptor
/// slot; the chosen slot is returned in `cqe.res` (since 5.19).
pub const IORING_FILE_INDEX_ALLOC: u32 = !0;

/// `sqe.attr_type_mask` bit: `sqe.attr_ptr` points to an [`IoUringAttrPi`]
/// protection-information attribute (since 6.14).
pub const IORING_RW_ATTR_FLAG_PI: u64 = 1 << 0;

/// Protection-information attribute for read/write (`struct
/// io_uring_attr_pi`), pointed to by `sqe.attr_ptr` (since 6.14).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringAttrPi {
    /// PI flags.
    pub flags: u16,
    /// Application tag.
    pub app_tag: u16,
    /// Length of the PI buffer.
    pub len: u32,
    /// Address of the PI buffer.
    pub addr: u64,
    /// Seed for the reference tag.
    pub seed: u64,
    /// Reserved, must be zero.
    pub rsvd: u64,
}

// ---------------------------------------------------------------------------
// io_uring_setup(2) flags
// ---------------------------------------------------------------------------

/// Busy-poll for completions instead of using interrupts; needs O_DIRECT on a
/// polling-capable device (since 5.1).
pub const IORING_SETUP_IOPOLL: u32 = 1 << 0;
/// A kernel thread polls the SQ, so submission needs no syscall (since 5.1).
pub const IORING_SETUP_SQPOLL: u32 = 1 << 1;
/// Pin the SQPOLL thread to `params.sq_thread_cpu` (since 5.1).
pub const IORING_SETUP_SQ_AFF: u32 = 1 << 2;
/// Size the CQ from `params.cq_entries` instead of twice the SQ (since 5.5).
pub const IORING_SETUP_CQSIZE: u32 = 1 << 3;
/// Clamp too-large ring sizes to the maximum instead of failing (since 5.6).
pub const IORING_SETUP_CLAMP: u32 = 1 << 4;
/// Share the async worker backend of ring `params.wq_fd` (since 5.6).
pub const IORING_SETUP_ATTACH_WQ: u32 = 1 << 5;
/// Create the ring disabled; enable it with `IORING_REGISTER_ENABLE_RINGS`
/// (since 5.10).
pub const IORING_SETUP_R_DISABLED: u32 = 1 << 6;
/// Keep submitting the rest of a batch when one SQE fails to prep
/// (since 5.18).
pub const IORING_SETUP_SUBMIT_ALL: u32 = 1 << 7;
/// Cooperative task running: run completion work at the next kernel entry
/// rather than interrupting the task (since 5.19).
pub const IORING_SETUP_COOP_TASKRUN: u32 = 1 << 8;
/// Set `IORING_SQ_TASKRUN` in the SQ flags when task work is pending; needs
/// COOP_TASKRUN or DEFER_TASKRUN (since 5.19).
pub const IORING_SETUP_TASKRUN_FLAG: u32 = 1 << 9;
/// SQEs are 128 bytes (since 5.19).
pub const IORING_SETUP_SQE128: u32 = 1 << 10;
/// CQEs are 32 bytes (since 5.19).
pub const IORING_SETUP_CQE32: u32 = 1 << 11;
/// Only one task submits to this ring (since 6.0).
pub const IORING_SETUP_SINGLE_ISSUER: u32 = 1 << 12;
/// Defer task work until the submitter waits for events; needs SINGLE_ISSUER
/// (since 6.1).
pub const IORING_SETUP_DEFER_TASKRUN: u32 = 1 << 13;
/// The application provides the ring memory via `sq_off.user_addr` and
/// `cq_off.user_addr` instead of mmap(2) (since 6.5).
pub const IORING_SETUP_NO_MMAP: u32 = 1 << 14;
/// Register the ring fd in itself and return the registered index instead of
/// a real fd (since 6.5).
pub const IORING_SETUP_REGISTERED_FD_ONLY: u32 = 1 << 15;
/// No SQ index array: SQ tail positions map directly to SQE slots
/// (since 6.6).
pub const IORING_SETUP_NO_SQARRAY: u32 = 1 << 16;
/// Hybrid sleep-then-poll for IOPOLL completions (since 6.13).
pub const IORING_SETUP_HYBRID_IOPOLL: u32 = 1 << 17;
/// The CQ holds both 16- and 32-byte CQEs; big ones carry `IORING_CQE_F_32`
/// (since 6.18).
pub const IORING_SETUP_CQE_MIXED: u32 = 1 << 18;

// ---------------------------------------------------------------------------
// Opcodes (sqe.opcode)
// ---------------------------------------------------------------------------

/// No operation (since 5.1).
pub const IORING_OP_NOP: u8 = 0;
/// readv(2) (since 5.1).
pub const IORING_OP_READV: u8 = 1;
/// writev(2) (since 5.1).
pub const IORING_OP_WRITEV: u8 = 2;
/// fsync(2)/fdatasync(2) (since 5.1).
pub const IORING_OP_FSYNC: u8 = 3;
/// Read into a registered buffer (since 5.1).
pub const IORING_OP_READ_FIXED: u8 = 4;
/// Write from a registered buffer (since 5.1).
pub const IORING_OP_WRITE_FIXED: u8 = 5;
/// Arm a poll on a file descriptor (since 5.1).
pub const IORING_OP_POLL_ADD: u8 = 6;
/// Remove or update an armed poll (since 5.1).
pub const IORING_OP_POLL_REMOVE: u8 = 7;
/// sync_file_range(2) (since 5.2).
pub const IORING_OP_SYNC_FILE_RANGE: u8 = 8;
/// sendmsg(2) (since 5.3).
pub const IORING_OP_SENDMSG: u8 = 9;
/// recvmsg(2) (since 5.3).
pub const IORING_OP_RECVMSG: u8 = 10;
/// Timeout that fires after a time or a completion count (since 5.4).
pub const IORING_OP_TIMEOUT: u8 = 11;
/// Remove or update a timeout (since 5.5).
pub const IORING_OP_TIMEOUT_REMOVE: u8 = 12;
/// accept4(2) (since 5.5).
pub const IORING_OP_ACCEPT: u8 = 13;
/// Cancel an in-flight request (since 5.5).
pub const IORING_OP_ASYNC_CANCEL: u8 = 14;
/// Timeout bound to the previous linked request (since 5.5).
pub const IORING_OP_LINK_TIMEOUT: u8 = 15;
/// connect(2) (since 5.5).
pub const IORING_OP_CONNECT: u8 = 16;
/// fallocate(2) (since 5.6).
pub const IORING_OP_FALLOCATE: u8 = 17;
/// openat(2) (since 5.6).
pub const IORING_OP_OPENAT: u8 = 18;
/// close(2), or release a direct descriptor (since 5.6).
pub const IORING_OP_CLOSE: u8 = 19;
/// Update registered files from the SQ (since 5.6).
pub const IORING_OP_FILES_UPDATE: u8 = 20;
/// statx(2) (since 5.6).
pub const IORING_OP_STATX: u8 = 21;
/// read(2)/pread(2) (since 5.6).
pub const IORING_OP_READ: u8 = 22;
/// write(2)/pwrite(2) (since 5.6).
pub const IORING_OP_WRITE: u8 = 23;
/// posix_fadvise(2) (since 5.6).
pub const IORING_OP_FADVISE: u8 = 24;
/// madvise(2) (since 5.6).
pub const IORING_OP_MADVISE: u8 = 25;
/// send(2) (since 5.6).
pub const IORING_OP_SEND: u8 = 26;
/// recv(2) (since 5.6).
pub const IORING_OP_RECV: u8 = 27;
/// openat2(2) with an [`OpenHow`] (since 5.6).
pub const IORING_OP_OPENAT2: u8 = 28;
/// epoll_ctl(2) (since 5.6).
pub const IORING_OP_EPOLL_CTL: u8 = 29;
/// splice(2) (since 5.7).
pub const IORING_OP_SPLICE: u8 = 30;
/// Hand buffers to a provided-buffer group (since 5.7).
pub const IORING_OP_PROVIDE_BUFFERS: u8 = 31;
/// Take buffers back from a provided-buffer group (since 5.7).
pub const IORING_OP_REMOVE_BUFFERS: u8 = 32;
/// tee(2) (since 5.8).
pub const IORING_OP_TEE: u8 = 33;
/// shutdown(2) (since 5.11).
pub const IORING_OP_SHUTDOWN: u8 = 34;
/// renameat2(2) (since 5.11).
pub const IORING_OP_RENAMEAT: u8 = 35;
/// unlinkat(2) (since 5.11).
pub const IORING_OP_UNLINKAT: u8 = 36;
/// mkdirat(2) (since 5.15).
pub const IORING_OP_MKDIRAT: u8 = 37;
/// symlinkat(2) (since 5.15).
pub const IORING_OP_SYMLINKAT: u8 = 38;
/// linkat(2) (since 5.15).
pub const IORING_OP_LINKAT: u8 = 39;
/// Post a CQE to, or pass a direct descriptor to, another ring (since 5.18).
pub const IORING_OP_MSG_RING: u8 = 40;
/// fsetxattr(2) (since 5.19).
pub const IORING_OP_FSETXATTR: u8 = 41;
/// setxattr(2) (since 5.19).
pub const IORING_OP_SETXATTR: u8 = 42;
/// fgetxattr(2) (since 5.19).
pub const IORING_OP_FGETXATTR: u8 = 43;
/// getxattr(2) (since 5.19).
pub const IORING_OP_GETXATTR: u8 = 44;
/// socket(2) (since 5.19).
pub const IORING_OP_SOCKET: u8 = 45;
/// Driver- or socket-specific passthrough command (since 5.19).
pub const IORING_OP_URING_CMD: u8 = 46;
/// Zero-copy send (since 6.0).
pub const IORING_OP_SEND_ZC: u8 = 47;
/// Zero-copy sendmsg (since 6.1).
pub const IORING_OP_SENDMSG_ZC: u8 = 48;
/// Multishot read using provided buffers (since 6.7).
pub const IORING_OP_READ_MULTISHOT: u8 = 49;
/// waitid(2) (since 6.7).
pub const IORING_OP_WAITID: u8 = 50;
/// futex wait (since 6.7).
pub const IORING_OP_FUTEX_WAIT: u8 = 51;
/// futex wake (since 6.7).
pub const IORING_OP_FUTEX_WAKE: u8 = 52;
/// Wait on a vector of futexes (since 6.7).
pub const IORING_OP_FUTEX_WAITV: u8 = 53;
/// Install a direct descriptor into the normal fd table (since 6.8).
pub const IORING_OP_FIXED_FD_INSTALL: u8 = 54;
/// ftruncate(2) (since 6.9).
pub const IORING_OP_FTRUNCATE: u8 = 55;
/// bind(2) (since 6.11).
pub const IORING_OP_BIND: u8 = 56;
/// listen(2) (since 6.11).
pub const IORING_OP_LISTEN: u8 = 57;
/// Zero-copy receive through a registered zcrx interface queue (since 6.15).
pub const IORING_OP_RECV_ZC: u8 = 58;
/// epoll_wait(2) (since 6.15).
pub const IORING_OP_EPOLL_WAIT: u8 = 59;
/// readv(2) into registered buffers (since 6.15).
pub const IORING_OP_READV_FIXED: u8 = 60;
/// writev(2) from registered buffers (since 6.15).
pub const IORING_OP_WRITEV_FIXED: u8 = 61;
/// pipe2(2) (since 6.16). The last opcode of Linux 6.18.
pub const IORING_OP_PIPE: u8 = 62;
/// Number of opcodes known to this module (one past `IORING_OP_PIPE`, as in
/// 6.18); newer kernels report more through `IORING_REGISTER_PROBE`.
pub const IORING_OP_LAST: u8 = 63;

// ---------------------------------------------------------------------------
// Per-opcode flags
// ---------------------------------------------------------------------------

/// `sqe.uring_cmd_flags`: use the registered buffer at `sqe.buf_index`
/// (since 6.1).
pub const IORING_URING_CMD_FIXED: u32 = 1 << 0;
/// All `sqe.uring_cmd_flags` bits available to userspace.
pub const IORING_URING_CMD_MASK: u32 = IORING_URING_CMD_FIXED;

/// `sqe.fsync_flags`: fdatasync(2) semantics (since 5.1).
pub const IORING_FSYNC_DATASYNC: u32 = 1 << 0;

/// `sqe.timeout_flags`: the timespec is absolute, not relative (since 5.4).
pub const IORING_TIMEOUT_ABS: u32 = 1 << 0;
/// `sqe.timeout_flags` for TIMEOUT_REMOVE: update an existing timeout
/// (since 5.11).
pub const IORING_TIMEOUT_UPDATE: u32 = 1 << 1;
/// `sqe.timeout_flags`: measure against CLOCK_BOOTTIME (since 5.15).
pub const IORING_TIMEOUT_BOOTTIME: u32 = 1 << 2;
/// `sqe.timeout_flags`: measure against CLOCK_REALTIME (since 5.15).
pub const IORING_TIMEOUT_REALTIME: u32 = 1 << 3;
/// `sqe.timeout_flags` for TIMEOUT_REMOVE: update a linked timeout
/// (since 5.15).
pub const IORING_LINK_TIMEOUT_UPDATE: u32 = 1 << 4;
/// `sqe.timeout_flags`: report expiry (-ETIME) as success (since 5.16).
pub const IORING_TIMEOUT_ETIME_SUCCESS: u32 = 1 << 5;
/// `sqe.timeout_flags`: repeating timeout, `sqe.off` fires (0 = forever)
/// (since 6.4).
pub const IORING_TIMEOUT_MULTISHOT: u32 = 1 << 6;
/// Mask of the clock-selection timeout flags.
pub const IORING_TIMEOUT_CLOCK_MASK: u32 = IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME;
/// Mask of the update timeout flags.
pub const IORING_TIMEOUT_UPDATE_MASK: u32 = IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE;

/// `sqe.splice_flags` (extends splice(2) flags): `sqe.splice_fd_in` is a
/// fixed-file index (since 5.7).
pub const SPLICE_F_FD_IN_FIXED: u32 = 1 << 31;

/// `sqe.len` for POLL_ADD: multishot poll, CQEs carry `IORING_CQE_F_MORE`
/// while armed (since 5.13).
pub const IORING_POLL_ADD_MULTI: u32 = 1 << 0;
/// `sqe.len` for POLL_REMOVE: update the events of the poll matching
/// `sqe.addr` (since 5.13).
pub const IORING_POLL_UPDATE_EVENTS: u32 = 1 << 1;
/// `sqe.len` for POLL_REMOVE: update the user_data of the poll matching
/// `sqe.addr` (since 5.13).
pub const IORING_POLL_UPDATE_USER_DATA: u32 = 1 << 2;
/// `sqe.len` for POLL_ADD: level-triggered poll (since 6.0).
pub const IORING_POLL_ADD_LEVEL: u32 = 1 << 3;

/// `sqe.cancel_flags`: cancel every matching request, not just the first
/// (since 5.19).
pub const IORING_ASYNC_CANCEL_ALL: u32 = 1 << 0;
/// `sqe.cancel_flags`: match on `sqe.fd` instead of user_data (since 5.19).
pub const IORING_ASYNC_CANCEL_FD: u32 = 1 << 1;
/// `sqe.cancel_flags`: match any request (since 5.19).
pub const IORING_ASYNC_CANCEL_ANY: u32 = 1 << 2;
/// `sqe.cancel_flags`: `sqe.fd` is a fixed-file index (since 6.0).
pub const IORING_ASYNC_CANCEL_FD_FIXED: u32 = 1 << 3;
/// `sqe.cancel_flags`: match on user_data (the default with no other key)
/// (since 6.6).
pub const IORING_ASYNC_CANCEL_USERDATA: u32 = 1 << 4;
/// `sqe.cancel_flags`: match on opcode, given in `sqe.len` (since 6.6).
pub const IORING_ASYNC_CANCEL_OP: u32 = 1 << 5;

/// `sqe.ioprio` for send/recv: arm poll first instead of trying the transfer
/// (since 5.19).
pub const IORING_RECVSEND_POLL_FIRST: u16 = 1 << 0;
/// `sqe.ioprio` for recv/recvmsg: multishot receive (since 6.0).
pub const IORING_RECV_MULTISHOT: u16 = 1 << 1;
/// `sqe.ioprio` for send/recv: use the registered buffer at `sqe.buf_index`
/// (since 6.0).
pub const IORING_RECVSEND_FIXED_BUF: u16 = 1 << 2;
/// `sqe.ioprio` for `SEND[MSG]_ZC`: report in the notification CQE whether data
/// was copied (since 6.2).
pub const IORING_SEND_ZC_REPORT_USAGE: u16 = 1 << 3;
/// `sqe.ioprio` with `IOSQE_BUFFER_SELECT`: send/recv a bundle of several
/// provided buffers at once (since 6.10).
pub const IORING_RECVSEND_BUNDLE: u16 = 1 << 4;
/// `sqe.ioprio` for `SEND[_ZC]`: `sqe.addr` points to an iovec array
/// (since 6.17).
pub const IORING_SEND_VECTORIZED: u16 = 1 << 5;

/// Bit in `cqe.res` of a zero-copy notification (with
/// `IORING_SEND_ZC_REPORT_USAGE`): the data was at least partly copied
/// (since 6.2). Test it as `cqe.res as u32 & IORING_NOTIF_USAGE_ZC_COPIED`.
pub const IORING_NOTIF_USAGE_ZC_COPIED: u32 = 1 << 31;

/// `sqe.ioprio` for accept: multishot accept (since 5.19).
pub const IORING_ACCEPT_MULTISHOT: u16 = 1 << 0;
/// `sqe.ioprio` for accept: fail with -EAGAIN instead of waiting
/// (since 6.10).
pub const IORING_ACCEPT_DONTWAIT: u16 = 1 << 1;
/// `sqe.ioprio` for accept: arm poll first instead of trying to accept
/// (since 6.10).
pub const IORING_ACCEPT_POLL_FIRST: u16 = 1 << 2;

/// MSG_RING command in `sqe.addr`: post a CQE with `res = sqe.len` and
/// `user_data = sqe.off` to the target ring (since 5.18).
pub const IORING_MSG_DATA: u64 = 0;
/// MSG_RING command in `sqe.addr`: pass a direct descriptor to the target
/// ring (since 6.0).
pub const IORING_MSG_SEND_FD: u64 = 1;

/// `sqe.msg_ring_flags`: post no CQE to the target ring (not for
/// `IORING_MSG_DATA`) (since 6.0).
pub const IORING_MSG_RING_CQE_SKIP: u32 = 1 << 0;
/// `sqe.msg_ring_flags`: use `sqe.file_index` as the target CQE's flags
/// (since 6.3).
pub const IORING_MSG_RING_FLAGS_PASS: u32 = 1 << 1;

/// `sqe.install_fd_flags`: install the fd without O_CLOEXEC (since 6.8).
pub const IORING_FIXED_FD_NO_CLOEXEC: u32 = 1 << 0;

/// `sqe.nop_flags`: complete with `res = sqe.len` instead of 0.
pub const IORING_NOP_INJECT_RESULT: u32 = 1 << 0;
/// `sqe.nop_flags`: look up `sqe.fd` as a normal file.
pub const IORING_NOP_FILE: u32 = 1 << 1;
/// `sqe.nop_flags`: with `IORING_NOP_FILE`, `sqe.fd` is a fixed file.
pub const IORING_NOP_FIXED_FILE: u32 = 1 << 2;
/// `sqe.nop_flags`: look up the registered buffer `sqe.buf_index`.
pub const IORING_NOP_FIXED_BUFFER: u32 = 1 << 3;
/// `sqe.nop_flags`: complete through task work.
pub const IORING_NOP_TW: u32 = 1 << 4;
/// `sqe.nop_flags`: post a 32-byte CQE carrying `sqe.off` and `sqe.addr` as
/// its extra words (since 6.18).
pub const IORING_NOP_CQE32: u32 = 1 << 5;

// ---------------------------------------------------------------------------
// Completion queue entry
// ---------------------------------------------------------------------------

/// Completion queue entry (`struct io_uring_cqe`), 16 bytes.
///
/// With `IORING_SETUP_CQE32` (or a CQE flagged `IORING_CQE_F_32` on an
/// `IORING_SETUP_CQE_MIXED` ring) the entry is followed by 16 more bytes
/// (`big_cqe[2]`), which are not part of this struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringCqe {
    /// `user_data` of the SQE this completes.
    pub user_data: u64,
    /// Result: what the equivalent syscall returns, or `-errno`.
    pub res: i32,
    /// `IORING_CQE_F_*` flags; the upper 16 bits hold a buffer id with
    /// `IORING_CQE_F_BUFFER`.
    pub flags: u32,
}

/// `cqe.flags`: the upper 16 bits hold the id of the selected provided
/// buffer (since 5.7).
pub const IORING_CQE_F_BUFFER: u32 = 1 << 0;
/// `cqe.flags`: the request will post more CQEs (multishot) (since 5.13).
pub const IORING_CQE_F_MORE: u32 = 1 << 1;
/// `cqe.flags`: the socket still has data after this receive (since 5.19).
pub const IORING_CQE_F_SOCK_NONEMPTY: u32 = 1 << 2;
/// `cqe.flags`: this is a zero-copy send's buffer-release notification
/// (since 6.0).
pub const IORING_CQE_F_NOTIF: u32 = 1 << 3;
/// `cqe.flags`: the incrementally consumed buffer is not used up and will
/// appear in more completions (since 6.12).
pub const IORING_CQE_F_BUF_MORE: u32 = 1 << 4;
/// `cqe.flags`: padding entry on a CQE_MIXED ring; ignore it (since 6.18).
pub const IORING_CQE_F_SKIP: u32 = 1 << 5;
/// `cqe.flags`: this is a 32-byte CQE on a CQE_MIXED ring (since 6.18).
pub const IORING_CQE_F_32: u32 = 1 << 15;
/// Shift that extracts the buffer id from `cqe.flags`.
pub const IORING_CQE_BUFFER_SHIFT: u32 = 16;

// ---------------------------------------------------------------------------
// mmap(2) offsets and ring offset tables
// ---------------------------------------------------------------------------

/// mmap(2) offset of the SQ ring.
pub const IORING_OFF_SQ_RING: u64 = 0;
/// mmap(2) offset of the CQ ring (same mapping as the SQ ring with
/// `IORING_FEAT_SINGLE_MMAP`).
pub const IORING_OFF_CQ_RING: u64 = 0x800_0000;
/// mmap(2) offset of the SQE array.
pub const IORING_OFF_SQES: u64 = 0x1000_0000;
/// mmap(2) offset of a kernel-allocated provided-buffer ring; OR in
/// `bgid << IORING_OFF_PBUF_SHIFT` (since 6.4).
pub const IORING_OFF_PBUF_RING: u64 = 0x8000_0000;
/// Shift of the buffer group id within an `IORING_OFF_PBUF_RING` offset.
pub const IORING_OFF_PBUF_SHIFT: u32 = 16;
/// Mask selecting the region type of an mmap(2) offset.
pub const IORING_OFF_MMAP_MASK: u64 = 0xf800_0000;

/// Byte offsets of the SQ ring fields within its mapping
/// (`struct io_sqring_offsets`), filled in by io_uring_setup(2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoSqringOffsets {
    /// Offset of the head index (written by the kernel).
    pub head: u32,
    /// Offset of the tail index (written by the application).
    pub tail: u32,
    /// Offset of the ring mask.
    pub ring_mask: u32,
    /// Offset of the entry count.
    pub ring_entries: u32,
    /// Offset of the `IORING_SQ_*` flags word.
    pub flags: u32,
    /// Offset of the dropped (invalid SQE) counter.
    pub dropped: u32,
    /// Offset of the SQ index array (absent with `IORING_SETUP_NO_SQARRAY`).
    pub array: u32,
    /// Reserved.
    pub resv1: u32,
    /// With `IORING_SETUP_NO_MMAP`: user address of the SQE memory (input).
    pub user_addr: u64,
}

/// SQ flags word: the SQPOLL thread is asleep and needs
/// `IORING_ENTER_SQ_WAKEUP` (since 5.1).
pub const IORING_SQ_NEED_WAKEUP: u32 = 1 << 0;
/// SQ flags word: the CQ ring has overflowed (since 5.8).
pub const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;
/// SQ flags word: task work is pending; enter the kernel to run it
/// (since 5.19).
pub const IORING_SQ_TASKRUN: u32 = 1 << 2;

/// Byte offsets of the CQ ring fields within its mapping
/// (`struct io_cqring_offsets`), filled in by io_uring_setup(2).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoCqringOffsets {
    /// Offset of the head index (written by the application).
    pub head: u32,
    /// Offset of the tail index (written by the kernel).
    pub tail: u32,
    /// Offset of the ring mask.
    pub ring_mask: u32,
    /// Offset of the entry count.
    pub ring_entries: u32,
    /// Offset of the overflow counter.
    pub overflow: u32,
    /// Offset of the CQE array.
    pub cqes: u32,
    /// Offset of the `IORING_CQ_*` flags word.
    pub flags: u32,
    /// Reserved.
    pub resv1: u32,
    /// With `IORING_SETUP_NO_MMAP`: user address of the ring memory (input).
    pub user_addr: u64,
}

/// CQ flags word: suppress eventfd notifications (since 5.8).
pub const IORING_CQ_EVENTFD_DISABLED: u32 = 1 << 0;

// ---------------------------------------------------------------------------
// io_uring_enter(2) flags
// ---------------------------------------------------------------------------

/// Wait for `min_complete` completions (since 5.1).
pub const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
/// Wake the SQPOLL thread (since 5.1).
pub const IORING_ENTER_SQ_WAKEUP: u32 = 1 << 1;
/// Wait until the SQ has free space (SQPOLL) (since 5.10).
pub const IORING_ENTER_SQ_WAIT: u32 = 1 << 2;
/// `arg` points to an [`IoUringGeteventsArg`] and `argsz` is its size
/// (since 5.11).
pub const IORING_ENTER_EXT_ARG: u32 = 1 << 3;
/// `fd` is a registered ring index, not a file descriptor (since 5.18).
pub const IORING_ENTER_REGISTERED_RING: u32 = 1 << 4;
/// The wait timeout is absolute, on the ring's registered clock (since 6.12).
pub const IORING_ENTER_ABS_TIMER: u32 = 1 << 5;
/// `arg` is an offset into the registered wait region of
/// [`IoUringRegWait`] entries (since 6.13).
pub const IORING_ENTER_EXT_ARG_REG: u32 = 1 << 6;
/// Do not account the wait as iowait (since 6.15).
pub const IORING_ENTER_NO_IOWAIT: u32 = 1 << 7;

// ---------------------------------------------------------------------------
// io_uring_setup(2) parameters and features
// ---------------------------------------------------------------------------

/// io_uring_setup(2) argument (`struct io_uring_params`); the kernel fills in
/// the output fields on success.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringParams {
    /// Out: SQ size chosen by the kernel.
    pub sq_entries: u32,
    /// In with `IORING_SETUP_CQSIZE`, out: CQ size.
    pub cq_entries: u32,
    /// In: `IORING_SETUP_*` flags.
    pub flags: u32,
    /// In with `IORING_SETUP_SQ_AFF`: CPU for the SQPOLL thread.
    pub sq_thread_cpu: u32,
    /// In with `IORING_SETUP_SQPOLL`: idle time in ms before it sleeps.
    pub sq_thread_idle: u32,
    /// Out: `IORING_FEAT_*` flags.
    pub features: u32,
    /// In with `IORING_SETUP_ATTACH_WQ`: ring fd whose workers to share.
    pub wq_fd: u32,
    /// Reserved, must be zero.
    pub resv: [u32; 3],
    /// Out: SQ ring layout.
    pub sq_off: IoSqringOffsets,
    /// Out: CQ ring layout.
    pub cq_off: IoCqringOffsets,
}

/// SQ and CQ rings share one mmap(2) (since 5.4).
pub const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;
/// CQEs are never dropped on overflow (since 5.5).
pub const IORING_FEAT_NODROP: u32 = 1 << 1;
/// SQE contents may be reused once submitted (since 5.5).
pub const IORING_FEAT_SUBMIT_STABLE: u32 = 1 << 2;
/// Offset -1 means the current file position (since 5.6).
pub const IORING_FEAT_RW_CUR_POS: u32 = 1 << 3;
/// Requests run with the submitter's credentials (since 5.6).
pub const IORING_FEAT_CUR_PERSONALITY: u32 = 1 << 4;
/// Internal poll is used instead of worker threads where possible
/// (since 5.7).
pub const IORING_FEAT_FAST_POLL: u32 = 1 << 5;
/// `poll32_events` carries the full 32-bit epoll flags (since 5.9).
pub const IORING_FEAT_POLL_32BITS: u32 = 1 << 6;
/// SQPOLL works without registered files (since 5.11).
pub const IORING_FEAT_SQPOLL_NONFIXED: u32 = 1 << 7;
/// `IORING_ENTER_EXT_ARG` is supported (since 5.11).
pub const IORING_FEAT_EXT_ARG: u32 = 1 << 8;
/// Async workers are native threads of the submitter (since 5.12).
pub const IORING_FEAT_NATIVE_WORKERS: u32 = 1 << 9;
/// Registered resources can be tagged (since 5.13).
pub const IORING_FEAT_RSRC_TAGS: u32 = 1 << 10;
/// `IOSQE_CQE_SKIP_SUCCESS` is supported (since 5.17).
pub const IORING_FEAT_CQE_SKIP: u32 = 1 << 11;
/// Files of linked requests are resolved at issue time (since 5.17).
pub const IORING_FEAT_LINKED_FILE: u32 = 1 << 12;
/// `IORING_REGISTER_USE_REGISTERED_RING` is supported (since 6.3).
pub const IORING_FEAT_REG_REG_RING: u32 = 1 << 13;
/// `IORING_RECVSEND_BUNDLE` is supported (since 6.10).
pub const IORING_FEAT_RECVSEND_BUNDLE: u32 = 1 << 14;
/// `IoUringGeteventsArg::min_wait_usec` is honoured (since 6.12).
pub const IORING_FEAT_MIN_TIMEOUT: u32 = 1 << 15;
/// Read/write attributes (`sqe.attr_ptr`) are supported (since 6.14).
pub const IORING_FEAT_RW_ATTR: u32 = 1 << 16;
/// `IORING_ENTER_NO_IOWAIT` is supported (since 6.15).
pub const IORING_FEAT_NO_IOWAIT: u32 = 1 << 17;

// ---------------------------------------------------------------------------
// io_uring_register(2) opcodes
// ---------------------------------------------------------------------------

/// Register fixed buffers (iovec array) (since 5.1).
pub const IORING_REGISTER_BUFFERS: u32 = 0;
/// Unregister all fixed buffers (since 5.1).
pub const IORING_UNREGISTER_BUFFERS: u32 = 1;
/// Register fixed files (fd array) (since 5.1).
pub const IORING_REGISTER_FILES: u32 = 2;
/// Unregister all fixed files (since 5.1).
pub const IORING_UNREGISTER_FILES: u32 = 3;
/// Register an eventfd signalled on completions (since 5.2).
pub const IORING_REGISTER_EVENTFD: u32 = 4;
/// Unregister the eventfd (since 5.2).
pub const IORING_UNREGISTER_EVENTFD: u32 = 5;
/// Update fixed files ([`IoUringFilesUpdate`]) (since 5.5).
pub const IORING_REGISTER_FILES_UPDATE: u32 = 6;
/// Register an eventfd signalled only for async completions (since 5.6).
pub const IORING_REGISTER_EVENTFD_ASYNC: u32 = 7;
/// Fill an [`IoUringProbe`] with supported opcodes (since 5.6).
pub const IORING_REGISTER_PROBE: u32 = 8;
/// Register the current credentials, returning a personality id
/// (since 5.6).
pub const IORING_REGISTER_PERSONALITY: u32 = 9;
/// Unregister a personality id (since 5.6).
pub const IORING_UNREGISTER_PERSONALITY: u32 = 10;
/// Restrict allowed opcodes/flags of a disabled ring (since 5.10).
pub const IORING_REGISTER_RESTRICTIONS: u32 = 11;
/// Enable a ring created with `IORING_SETUP_R_DISABLED` (since 5.10).
pub const IORING_REGISTER_ENABLE_RINGS: u32 = 12;
/// Register files with tags ([`IoUringRsrcRegister`]) (since 5.13).
pub const IORING_REGISTER_FILES2: u32 = 13;
/// Update tagged files ([`IoUringRsrcUpdate2`]) (since 5.13).
pub const IORING_REGISTER_FILES_UPDATE2: u32 = 14;
/// Register buffers with tags ([`IoUringRsrcRegister`]) (since 5.13).
pub const IORING_REGISTER_BUFFERS2: u32 = 15;
/// Update tagged buffers ([`IoUringRsrcUpdate2`]) (since 5.13).
pub const IORING_REGISTER_BUFFERS_UPDATE: u32 = 16;
/// Set the CPU affinity of io-wq workers (since 5.14).
pub const IORING_REGISTER_IOWQ_AFF: u32 = 17;
/// Clear the io-wq worker affinity (since 5.14).
pub const IORING_UNREGISTER_IOWQ_AFF: u32 = 18;
/// Set/get the maximum number of bound/unbound io-wq workers (since 5.15).
pub const IORING_REGISTER_IOWQ_MAX_WORKERS: u32 = 19;
/// Register ring fds for `IORING_ENTER_REGISTERED_RING` ([`IoUringRsrcUpdate`]
/// array) (since 5.18).
pub const IORING_REGISTER_RING_FDS: u32 = 20;
/// Unregister registered ring fds (since 5.18).
pub const IORING_UNREGISTER_RING_FDS: u32 = 21;
/// Register a provided-buffer ring ([`IoUringBufReg`]) (since 5.19).
pub const IORING_REGISTER_PBUF_RING: u32 = 22;
/// Unregister a provided-buffer ring (since 5.19).
pub const IORING_UNREGISTER_PBUF_RING: u32 = 23;
/// Synchronous cancel ([`IoUringSyncCancelReg`]) (since 6.0).
pub const IORING_REGISTER_SYNC_CANCEL: u32 = 24;
/// Restrict automatic direct-descriptor allocation to a range
/// ([`IoUringFileIndexRange`]) (since 6.0).
pub const IORING_REGISTER_FILE_ALLOC_RANGE: u32 = 25;
/// Query a buffer ring's head ([`IoUringBufStatus`]) (since 6.8).
pub const IORING_REGISTER_PBUF_STATUS: u32 = 26;
/// Configure NAPI busy polling ([`IoUringNapi`]) (since 6.9).
pub const IORING_REGISTER_NAPI: u32 = 27;
/// Disable NAPI busy polling (since 6.9).
pub const IORING_UNREGISTER_NAPI: u32 = 28;
/// Choose the clock for wait timeouts ([`IoUringClockRegister`])
/// (since 6.12).
pub const IORING_REGISTER_CLOCK: u32 = 29;
/// Clone registered buffers from another ring ([`IoUringCloneBuffers`])
/// (since 6.12).
pub const IORING_REGISTER_CLONE_BUFFERS: u32 = 30;
/// Send a MSG_RING message without a source ring (fd -1) (since 6.13).
pub const IORING_REGISTER_SEND_MSG_RING: u32 = 31;
/// Register a NIC receive queue for zero-copy receive
/// ([`IoUringZcrxIfqReg`]) (since 6.15).
pub const IORING_REGISTER_ZCRX_IFQ: u32 = 32;
/// Resize the SQ/CQ rings ([`IoUringParams`]) (since 6.13).
pub const IORING_REGISTER_RESIZE_RINGS: u32 = 33;
/// Register a memory region ([`IoUringMemRegionReg`]) (since 6.13).
pub const IORING_REGISTER_MEM_REGION: u32 = 34;
/// Query io_uring capabilities, ring optional ([`IoUringQueryHdr`] chain)
/// (since 6.18).
pub const IORING_REGISTER_QUERY: u32 = 35;
/// Number of register opcodes known to this module (one past the last).
pub const IORING_REGISTER_LAST: u32 = 36;
/// OR'ed into the opcode: `fd` is a registered ring index (since 6.3).
pub const IORING_REGISTER_USE_REGISTERED_RING: u32 = 1 << 31;

/// Index of the bounded (disk I/O) worker count for
/// `IORING_REGISTER_IOWQ_MAX_WORKERS`.
pub const IO_WQ_BOUND: u32 = 0;
/// Index of the unbounded (socket etc.) worker count for
/// `IORING_REGISTER_IOWQ_MAX_WORKERS`.
pub const IO_WQ_UNBOUND: u32 = 1;

// ---------------------------------------------------------------------------
// Resource registration
// ---------------------------------------------------------------------------

/// Argument of `IORING_REGISTER_FILES_UPDATE` (`struct
/// io_uring_files_update`, superseded by [`IoUringRsrcUpdate`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringFilesUpdate {
    /// First slot to update.
    pub offset: u32,
    /// Reserved, must be zero.
    pub resv: u32,
    /// Pointer to an `i32` fd array.
    pub fds: u64,
}

/// `IoUringRegionDesc::flags`: the region uses user memory at `user_addr`
/// (since 6.13).
pub const IORING_MEM_REGION_TYPE_USER: u32 = 1;

/// Description of a memory region (`struct io_uring_region_desc`)
/// (since 6.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRegionDesc {
    /// User memory address (with `IORING_MEM_REGION_TYPE_USER`).
    pub user_addr: u64,
    /// Region size in bytes.
    pub size: u64,
    /// `IORING_MEM_REGION_TYPE_*` flags.
    pub flags: u32,
    /// Region id.
    pub id: u32,
    /// Out: mmap(2) offset for kernel-allocated regions.
    pub mmap_offset: u64,
    /// Reserved, must be zero.
    pub resv: [u64; 4],
}

/// `IoUringMemRegionReg::flags`: use the region for registered wait
/// arguments ([`IoUringRegWait`]) (since 6.13).
pub const IORING_MEM_REGION_REG_WAIT_ARG: u64 = 1;

/// Argument of `IORING_REGISTER_MEM_REGION` (`struct io_uring_mem_region_reg`)
/// (since 6.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringMemRegionReg {
    /// Pointer to an [`IoUringRegionDesc`].
    pub region_uptr: u64,
    /// `IORING_MEM_REGION_REG_*` flags.
    pub flags: u64,
    /// Reserved, must be zero.
    pub resv: [u64; 2],
}

/// `IoUringRsrcRegister::flags`: register an all-empty table of `nr` slots
/// (since 5.19).
pub const IORING_RSRC_REGISTER_SPARSE: u32 = 1 << 0;

/// Argument of `IORING_REGISTER_FILES2`/`BUFFERS2` (`struct
/// io_uring_rsrc_register`) (since 5.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRsrcRegister {
    /// Number of entries.
    pub nr: u32,
    /// `IORING_RSRC_REGISTER_*` flags.
    pub flags: u32,
    /// Reserved, must be zero.
    pub resv2: u64,
    /// Pointer to the fd array or iovec array.
    pub data: u64,
    /// Pointer to a `u64` tag array, or 0.
    pub tags: u64,
}

/// One update entry (`struct io_uring_rsrc_update`), also the element type of
/// `IORING_REGISTER_RING_FDS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRsrcUpdate {
    /// Slot (for ring fds: -1 / `u32::MAX` lets the kernel pick one).
    pub offset: u32,
    /// Reserved, must be zero.
    pub resv: u32,
    /// Pointer to the data array, or for ring fds the fd itself.
    pub data: u64,
}

/// Argument of `IORING_REGISTER_FILES_UPDATE2`/`BUFFERS_UPDATE` (`struct
/// io_uring_rsrc_update2`) (since 5.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRsrcUpdate2 {
    /// First slot to update.
    pub offset: u32,
    /// Reserved, must be zero.
    pub resv: u32,
    /// Pointer to the fd or iovec array.
    pub data: u64,
    /// Pointer to a `u64` tag array, or 0.
    pub tags: u64,
    /// Number of entries.
    pub nr: u32,
    /// Reserved, must be zero.
    pub resv2: u32,
}

/// Fd value in a files update that leaves the slot unchanged (since 5.12).
pub const IORING_REGISTER_FILES_SKIP: i32 = -2;

// ---------------------------------------------------------------------------
// Probe
// ---------------------------------------------------------------------------

/// `IoUringProbeOp::flags`: the opcode is supported (since 5.6).
pub const IO_URING_OP_SUPPORTED: u16 = 1 << 0;

/// One opcode entry of a probe (`struct io_uring_probe_op`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringProbeOp {
    /// Opcode.
    pub op: u8,
    /// Reserved.
    pub resv: u8,
    /// `IO_URING_OP_*` flags.
    pub flags: u16,
    /// Reserved.
    pub resv2: u32,
}

/// Header of the `IORING_REGISTER_PROBE` result (`struct io_uring_probe`).
///
/// `ops` is a flexible array: allocate room for the header plus up to 256
/// [`IoUringProbeOp`] entries and pass that count as `nr_args`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringProbe {
    /// Highest opcode the kernel knows.
    pub last_op: u8,
    /// Number of entries filled in `ops`.
    pub ops_len: u8,
    /// Reserved.
    pub resv: u16,
    /// Reserved.
    pub resv2: [u32; 3],
    /// Flexible array of entries, indexed by opcode.
    pub ops: [IoUringProbeOp; 0],
}

// ---------------------------------------------------------------------------
// Restrictions
// ---------------------------------------------------------------------------

/// One restriction for `IORING_REGISTER_RESTRICTIONS` (`struct
/// io_uring_restriction`) (since 5.10).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRestriction {
    /// `IORING_RESTRICTION_*` kind.
    pub opcode: u16,
    /// Union: `register_op` (allowed register opcode), `sqe_op` (allowed SQE
    /// opcode), or `sqe_flags` (allowed/required `IOSQE_*` flags).
    pub register_op: u8,
    /// Reserved.
    pub resv: u8,
    /// Reserved.
    pub resv2: [u32; 3],
}

/// Restriction kind: allow an io_uring_register(2) opcode.
pub const IORING_RESTRICTION_REGISTER_OP: u16 = 0;
/// Restriction kind: allow an SQE opcode.
pub const IORING_RESTRICTION_SQE_OP: u16 = 1;
/// Restriction kind: allow these SQE flags.
pub const IORING_RESTRICTION_SQE_FLAGS_ALLOWED: u16 = 2;
/// Restriction kind: require these SQE flags on every submission.
pub const IORING_RESTRICTION_SQE_FLAGS_REQUIRED: u16 = 3;
/// Number of restriction kinds.
pub const IORING_RESTRICTION_LAST: u16 = 4;

// ---------------------------------------------------------------------------
// Clock, buffer cloning
// ---------------------------------------------------------------------------

/// Argument of `IORING_REGISTER_CLOCK` (`struct io_uring_clock_register`)
/// (since 6.12).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringClockRegister {
    /// CLOCK_MONOTONIC or CLOCK_BOOTTIME.
    pub clockid: u32,
    /// Reserved, must be zero.
    pub resv: [u32; 3],
}

/// `IoUringCloneBuffers::flags`: `src_fd` is a registered ring index
/// (since 6.12).
pub const IORING_REGISTER_SRC_REGISTERED: u32 = 1 << 0;
/// `IoUringCloneBuffers::flags`: replace existing destination buffers
/// (since 6.13).
pub const IORING_REGISTER_DST_REPLACE: u32 = 1 << 1;

/// Argument of `IORING_REGISTER_CLONE_BUFFERS` (`struct
/// io_uring_clone_buffers`) (since 6.12).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringCloneBuffers {
    /// Source ring fd (or registered index).
    pub src_fd: u32,
    /// `IORING_REGISTER_SRC_REGISTERED` / `IORING_REGISTER_DST_REPLACE`.
    pub flags: u32,
    /// First source buffer.
    pub src_off: u32,
    /// First destination slot.
    pub dst_off: u32,
    /// Number of buffers (0 = all).
    pub nr: u32,
    /// Reserved, must be zero.
    pub pad: [u32; 3],
}

// ---------------------------------------------------------------------------
// Provided-buffer rings
// ---------------------------------------------------------------------------

/// One entry of a provided-buffer ring (`struct io_uring_buf`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringBuf {
    /// Buffer address.
    pub addr: u64,
    /// Buffer length.
    pub len: u32,
    /// Buffer id reported in `cqe.flags`.
    pub bid: u16,
    /// Reserved; in entry 0 this is the ring tail (see [`IoUringBufRing`]).
    pub resv: u16,
}

/// Header view of a provided-buffer ring (`struct io_uring_buf_ring`).
///
/// In C this is a union with `bufs[]`: the ring is an array of
/// [`IoUringBuf`], and the 16-bit tail overlays the `resv` field of entry 0
/// (byte offset 14).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringBufRing {
    /// Overlays `bufs[0].addr`.
    pub resv1: u64,
    /// Overlays `bufs[0].len`.
    pub resv2: u32,
    /// Overlays `bufs[0].bid`.
    pub resv3: u16,
    /// Ring tail, written by the application.
    pub tail: u16,
}

/// `IoUringBufReg::flags`: the kernel allocates the ring; map it at
/// `IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT` (since 6.4).
pub const IOU_PBUF_RING_MMAP: u16 = 1;
/// `IoUringBufReg::flags`: buffers may be consumed incrementally
/// (since 6.12).
pub const IOU_PBUF_RING_INC: u16 = 2;

/// Argument of `IORING_(UN)REGISTER_PBUF_RING` (`struct io_uring_buf_reg`)
/// (since 5.19).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringBufReg {
    /// Ring address (0 with `IOU_PBUF_RING_MMAP`).
    pub ring_addr: u64,
    /// Number of entries, a power of two.
    pub ring_entries: u32,
    /// Buffer group id.
    pub bgid: u16,
    /// `IOU_PBUF_RING_*` flags.
    pub flags: u16,
    /// Reserved, must be zero.
    pub resv: [u64; 3],
}

/// Argument of `IORING_REGISTER_PBUF_STATUS` (`struct io_uring_buf_status`)
/// (since 6.8).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringBufStatus {
    /// In: buffer group id.
    pub buf_group: u32,
    /// Out: current head.
    pub head: u32,
    /// Reserved, must be zero.
    pub resv: [u32; 8],
}

// ---------------------------------------------------------------------------
// NAPI busy polling
// ---------------------------------------------------------------------------

/// `IoUringNapi::opcode`: register busy-poll settings and tracking strategy.
pub const IO_URING_NAPI_REGISTER_OP: u8 = 0;
/// `IoUringNapi::opcode`: add the NAPI id in `op_param` (static tracking).
pub const IO_URING_NAPI_STATIC_ADD_ID: u8 = 1;
/// `IoUringNapi::opcode`: remove the NAPI id in `op_param` (static tracking).
pub const IO_URING_NAPI_STATIC_DEL_ID: u8 = 2;

/// `IoUringNapi::op_param` tracking strategy: track NAPI ids automatically.
pub const IO_URING_NAPI_TRACKING_DYNAMIC: u32 = 0;
/// `IoUringNapi::op_param` tracking strategy: only explicitly added ids.
pub const IO_URING_NAPI_TRACKING_STATIC: u32 = 1;
/// `IoUringNapi::op_param` tracking strategy: tracking off.
pub const IO_URING_NAPI_TRACKING_INACTIVE: u32 = 255;

/// Argument of `IORING_(UN)REGISTER_NAPI` (`struct io_uring_napi`)
/// (since 6.9).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringNapi {
    /// Busy-poll timeout in microseconds.
    pub busy_poll_to: u32,
    /// Non-zero to prefer busy polling.
    pub prefer_busy_poll: u8,
    /// `IO_URING_NAPI_*` operation (0 on kernels before 6.13).
    pub opcode: u8,
    /// Reserved, must be zero.
    pub pad: [u8; 2],
    /// Tracking strategy or NAPI id, depending on `opcode`.
    pub op_param: u32,
    /// Reserved, must be zero.
    pub resv: u32,
}

// ---------------------------------------------------------------------------
// Wait arguments
// ---------------------------------------------------------------------------

/// `struct __kernel_timespec`: 64-bit time on every architecture.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelTimespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: i64,
}

/// `IoUringRegWait::flags`: `ts` holds a timeout (since 6.13).
pub const IORING_REG_WAIT_TS: u32 = 1 << 0;

/// Registered wait argument (`struct io_uring_reg_wait`), used with
/// `IORING_ENTER_EXT_ARG_REG` (since 6.13).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRegWait {
    /// Timeout (with `IORING_REG_WAIT_TS`).
    pub ts: KernelTimespec,
    /// Minimum wait before returning with fewer events.
    pub min_wait_usec: u32,
    /// `IORING_REG_WAIT_*` flags.
    pub flags: u32,
    /// Pointer to a signal mask, or 0.
    pub sigmask: u64,
    /// Size of the signal mask.
    pub sigmask_sz: u32,
    /// Reserved, must be zero.
    pub pad: [u32; 3],
    /// Reserved, must be zero.
    pub pad2: [u64; 2],
}

/// io_uring_enter(2) argument with `IORING_ENTER_EXT_ARG` (`struct
/// io_uring_getevents_arg`) (since 5.11).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringGeteventsArg {
    /// Pointer to a signal mask, or 0.
    pub sigmask: u64,
    /// Size of the signal mask (`_NSIG / 8`).
    pub sigmask_sz: u32,
    /// Minimum wait in microseconds before returning with fewer events
    /// (since 6.12; was padding before).
    pub min_wait_usec: u32,
    /// Pointer to a [`KernelTimespec`] timeout, or 0.
    pub ts: u64,
}

// ---------------------------------------------------------------------------
// Other register arguments
// ---------------------------------------------------------------------------

/// Argument of `IORING_REGISTER_SYNC_CANCEL` (`struct
/// io_uring_sync_cancel_reg`) (since 6.0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringSyncCancelReg {
    /// user_data to match.
    pub addr: u64,
    /// Fd to match (with `IORING_ASYNC_CANCEL_FD`).
    pub fd: i32,
    /// `IORING_ASYNC_CANCEL_*` flags.
    pub flags: u32,
    /// How long to wait; -1/-1 for forever.
    pub timeout: KernelTimespec,
    /// Opcode to match (with `IORING_ASYNC_CANCEL_OP`).
    pub opcode: u8,
    /// Reserved, must be zero.
    pub pad: [u8; 7],
    /// Reserved, must be zero.
    pub pad2: [u64; 3],
}

/// Argument of `IORING_REGISTER_FILE_ALLOC_RANGE` (`struct
/// io_uring_file_index_range`): slots `[off, off + len)` (since 6.0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringFileIndexRange {
    /// First slot.
    pub off: u32,
    /// Number of slots.
    pub len: u32,
    /// Reserved, must be zero.
    pub resv: u64,
}

/// Header the kernel writes at the start of a multishot recvmsg buffer
/// (`struct io_uring_recvmsg_out`) (since 6.0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringRecvmsgOut {
    /// Length of the source address written after this header.
    pub namelen: u32,
    /// Length of the control data after the address.
    pub controllen: u32,
    /// Length of the payload after the control data.
    pub payloadlen: u32,
    /// `MSG_*` flags of the received message.
    pub flags: u32,
}

/// `struct open_how`, the argument of openat2(2) and `IORING_OP_OPENAT2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenHow {
    /// `O_*` flags.
    pub flags: u64,
    /// File mode for O_CREAT/O_TMPFILE.
    pub mode: u64,
    /// `RESOLVE_*` flags.
    pub resolve: u64,
}

// ---------------------------------------------------------------------------
// Socket commands (IORING_OP_URING_CMD on a socket, in sqe.cmd_op)
// ---------------------------------------------------------------------------

/// Socket command: bytes available to read (SIOCINQ).
pub const SOCKET_URING_OP_SIOCINQ: u32 = 0;
/// Socket command: bytes not yet sent (SIOCOUTQ).
pub const SOCKET_URING_OP_SIOCOUTQ: u32 = 1;
/// Socket command: getsockopt(2) using `level`/`optname`/`optval`/`optlen`.
pub const SOCKET_URING_OP_GETSOCKOPT: u32 = 2;
/// Socket command: setsockopt(2) using `level`/`optname`/`optval`/`optlen`.
pub const SOCKET_URING_OP_SETSOCKOPT: u32 = 3;
/// Socket command: multishot retrieval of TX timestamps (since 6.16).
pub const SOCKET_URING_OP_TX_TIMESTAMP: u32 = 4;

/// Bit of `cqe.flags` from which TX timestamp information starts.
pub const IORING_TIMESTAMP_HW_SHIFT: u32 = 16;
/// Bit of `cqe.flags` from which the TX timestamp type is stored.
pub const IORING_TIMESTAMP_TYPE_SHIFT: u32 = IORING_TIMESTAMP_HW_SHIFT + 1;
/// `cqe.flags`: the TX timestamp is a hardware timestamp (since 6.16).
pub const IORING_CQE_F_TSTAMP_HW: u32 = 1 << IORING_TIMESTAMP_HW_SHIFT;

/// Timestamp as posted in a big CQE (`struct io_timespec`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoTimespec {
    /// Seconds.
    pub tv_sec: u64,
    /// Nanoseconds.
    pub tv_nsec: u64,
}

// ---------------------------------------------------------------------------
// Zero-copy receive (zcrx), since 6.15
// ---------------------------------------------------------------------------

/// Refill-queue entry returning a zcrx buffer to the kernel (`struct
/// io_uring_zcrx_rqe`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringZcrxRqe {
    /// Area-encoded offset of the buffer.
    pub off: u64,
    /// Length to return.
    pub len: u32,
    /// Reserved.
    pub pad: u32,
}

/// Extra half of a big CQE from `IORING_OP_RECV_ZC` (`struct
/// io_uring_zcrx_cqe`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringZcrxCqe {
    /// Area-encoded offset of the received data.
    pub off: u64,
    /// Reserved.
    pub pad: u64,
}

/// Bit at which the area id is encoded into zcrx offsets.
pub const IORING_ZCRX_AREA_SHIFT: u32 = 48;
/// Mask of the area-id bits of a zcrx offset.
pub const IORING_ZCRX_AREA_MASK: u64 = !((1u64 << IORING_ZCRX_AREA_SHIFT) - 1);

/// Refill-ring layout (`struct io_uring_zcrx_offsets`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringZcrxOffsets {
    /// Offset of the head.
    pub head: u32,
    /// Offset of the tail.
    pub tail: u32,
    /// Offset of the refill entries.
    pub rqes: u32,
    /// Reserved.
    pub resv2: u32,
    /// Reserved.
    pub resv: [u64; 2],
}

/// `IoUringZcrxAreaReg::flags`: the area is a dma-buf (`dmabuf_fd`)
/// (since 6.16).
pub const IORING_ZCRX_AREA_DMABUF: u32 = 1;

/// zcrx memory area (`struct io_uring_zcrx_area_reg`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringZcrxAreaReg {
    /// Area address.
    pub addr: u64,
    /// Area length.
    pub len: u64,
    /// Out: token identifying the area in offsets.
    pub rq_area_token: u64,
    /// `IORING_ZCRX_AREA_*` flags.
    pub flags: u32,
    /// dma-buf fd (with `IORING_ZCRX_AREA_DMABUF`).
    pub dmabuf_fd: u32,
    /// Reserved, must be zero.
    pub resv2: [u64; 2],
}

/// Argument of `IORING_REGISTER_ZCRX_IFQ` (`struct io_uring_zcrx_ifq_reg`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringZcrxIfqReg {
    /// Network interface index.
    pub if_idx: u32,
    /// Receive queue index.
    pub if_rxq: u32,
    /// Refill-ring size.
    pub rq_entries: u32,
    /// Flags.
    pub flags: u32,
    /// Pointer to an [`IoUringZcrxAreaReg`].
    pub area_ptr: u64,
    /// Pointer to an [`IoUringRegionDesc`] for the refill ring.
    pub region_ptr: u64,
    /// Out: refill-ring layout.
    pub offsets: IoUringZcrxOffsets,
    /// Out: zcrx instance id.
    pub zcrx_id: u32,
    /// Reserved.
    pub resv2: u32,
    /// Reserved, must be zero.
    pub resv: [u64; 3],
}

// ---------------------------------------------------------------------------
// IORING_REGISTER_QUERY (linux/io_uring/query.h), since 6.18
// ---------------------------------------------------------------------------

/// Header of one query in an `IORING_REGISTER_QUERY` chain (`struct
/// io_uring_query_hdr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringQueryHdr {
    /// Pointer to the next header, or 0.
    pub next_entry: u64,
    /// Pointer to the query's data (e.g. [`IoUringQueryOpcode`]).
    pub query_data: u64,
    /// `IO_URING_QUERY_*` kind.
    pub query_op: u32,
    /// Size of the data at `query_data`.
    pub size: u32,
    /// Out: bytes written, or `-errno`.
    pub result: i32,
    /// Reserved, must be zero.
    pub resv: [u32; 3],
}

/// Query kind: what opcodes and flags the kernel supports
/// ([`IoUringQueryOpcode`]).
pub const IO_URING_QUERY_OPCODES: u32 = 0;

/// Result of `IO_URING_QUERY_OPCODES` (`struct io_uring_query_opcode`), as
/// defined in 6.18. The struct is size-versioned: the kernel writes at most
/// `IoUringQueryHdr::size` bytes, so later additions stay compatible.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoUringQueryOpcode {
    /// Number of supported `IORING_OP_*` opcodes.
    pub nr_request_opcodes: u32,
    /// Number of supported register opcodes.
    pub nr_register_opcodes: u32,
    /// Supported `IORING_FEAT_*` bits.
    pub feature_flags: u64,
    /// Supported `IORING_SETUP_*` bits.
    pub ring_setup_flags: u64,
    /// Supported `IORING_ENTER_*` bits.
    pub enter_flags: u64,
    /// Supported `IOSQE_*` bits.
    pub sqe_flags: u64,
    /// Number of supported `IO_URING_QUERY_*` kinds.
    pub nr_query_opcodes: u32,
    /// Reserved.
    pub pad: u32,
}

// Compile-time guards for the structures the ring layer maps directly.
const _: () = assert!(size_of::<IoUringSqe>() == 64);
const _: () = assert!(size_of::<IoUringCqe>() == 16);
const _: () = assert!(size_of::<IoUringParams>() == 120);

// ---------------------------------------------------------------------------
// Raw syscalls
// ---------------------------------------------------------------------------

/// Turns a raw result into `Ok(value)` or `Err(errno)`.
#[inline]
fn syscall_result(ret: isize) -> Result<libc::c_int, i32> {
    match syscall::Errno::of(ret) {
        // The io_uring syscalls return a C `int`, so a non-negative result always fits.
        None => Ok(ret as libc::c_int),
        Some(e) => Err(e.0),
    }
}

/// `io_uring_setup(2)`: creates a ring with at least `entries` SQ entries and
/// returns its file descriptor (or, with `IORING_SETUP_REGISTERED_FD_ONLY`,
/// a registered ring index). On failure returns the errno.
///
/// # Safety
///
/// `params` must point to a valid, writable [`IoUringParams`] whose input
/// fields are set (reserved fields zero) for the duration of the call. With
/// `IORING_SETUP_NO_MMAP` the `user_addr` fields must point to memory the
/// caller keeps mapped and unaliased for the life of the ring. The returned
/// descriptor is owned by the caller, who must close it.
#[inline]
pub unsafe fn io_uring_setup(entries: u32, params: *mut IoUringParams) -> Result<libc::c_int, i32> {
    // SAFETY: io_uring_setup reads and writes exactly one IoUringParams at
    // `params`; the caller guarantees it is valid and writable (see the
    // function's safety contract). The call is made raw (see
    // [`syscall`]).
    let ret = unsafe { syscall::io_uring_setup_raw(entries, params) };
    syscall_result(ret)
}

/// `io_uring_enter(2)` in its extended form: submits up to `to_submit` SQEs
/// and, with `IORING_ENTER_GETEVENTS`, waits for `min_complete` completions.
/// Returns the number of SQEs consumed, or the errno.
///
/// `arg`/`argsz` are passed through unchanged as the 5th and 6th syscall
/// arguments: null/0 for none; a `sigset_t` pointer and `_NSIG / 8` for the
/// classic signal-mask form; an [`IoUringGeteventsArg`] pointer and its size
/// with `IORING_ENTER_EXT_ARG`; or a wait-region offset and
/// `size_of::<IoUringRegWait>()` with `IORING_ENTER_EXT_ARG_REG`.
///
/// # Safety
///
/// `fd` must be an io_uring fd (or a registered index with
/// `IORING_ENTER_REGISTERED_RING`). The caller must have published the SQ
/// tail only over SQEs it fully initialised, and every buffer, iovec, path,
/// timespec or other pointer inside submitted SQEs must stay valid until the
/// matching completion is reaped. `arg` must be null or valid for reads of
/// the form selected by `flags`/`argsz` for the duration of the call.
#[inline]
pub unsafe fn io_uring_enter(
    fd: libc::c_int,
    to_submit: u32,
    min_complete: u32,
    flags: u32,
    arg: *const libc::c_void,
    argsz: usize,
) -> Result<libc::c_int, i32> {
    // SAFETY: the kernel reads the SQ ring, the SQEs and `arg` (as selected
    // by `flags`/`argsz`); the caller upholds their validity per the
    // function's safety contract. The call is made raw (see
    // [`syscall`]).
    let ret =
        unsafe { syscall::io_uring_enter_raw(fd, to_submit, min_complete, flags, arg, argsz) };
    syscall_result(ret)
}

/// `io_uring_register(2)`: registers or unregisters resources, probes or
/// configures the ring. `opcode` is an `IORING_(UN)REGISTER_*` value,
/// optionally OR'ed with `IORING_REGISTER_USE_REGISTERED_RING`; `fd` may be
/// -1 for the ring-less opcodes (`IORING_REGISTER_SEND_MSG_RING`,
/// `IORING_REGISTER_QUERY`). Returns the opcode-specific result, or the
/// errno.
///
/// # Safety
///
/// `arg` must be null or point to memory of the type and count (`nr_args`)
/// the opcode expects, readable (and writable for output opcodes) for the
/// duration of the call. Memory the kernel keeps using after the call
/// (registered buffers, buffer rings, memory regions) must stay valid until
/// it is unregistered or the ring is closed.
#[inline]
pub unsafe fn io_uring_register(
    fd: libc::c_int,
    opcode: u32,
    arg: *const libc::c_void,
    nr_args: u32,
) -> Result<libc::c_int, i32> {
    // SAFETY: the kernel accesses `arg` as the opcode's argument type; the
    // caller guarantees it is valid for that per the function's safety
    // contract. Arguments are widened to the `long`s that syscall(2) reads.
    let ret = unsafe { syscall::io_uring_register_raw(fd, opcode, arg, nr_args) };
    syscall_result(ret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of};

    #[test]
    fn syscall_numbers_match_libc() {
        assert_eq!(SYS_IO_URING_SETUP, libc::SYS_io_uring_setup);
        assert_eq!(SYS_IO_URING_ENTER, libc::SYS_io_uring_enter);
        assert_eq!(SYS_IO_URING_REGISTER, libc::SYS_io_uring_register);
    }

    #[test]
    fn sqe_layout() {
        assert_eq!(size_of::<IoUringSqe>(), 64);
        assert_eq!(align_of::<IoUringSqe>(), 8);
        assert_eq!(offset_of!(IoUringSqe, opcode), 0);
        assert_eq!(offset_of!(IoUringSqe, flags), 1);
        assert_eq!(offset_of!(IoUringSqe, ioprio), 2);
        assert_eq!(offset_of!(IoUringSqe, fd), 4);
        assert_eq!(offset_of!(IoUringSqe, off), 8);
        assert_eq!(offset_of!(IoUringSqe, addr), 16);
        assert_eq!(offset_of!(IoUringSqe, len), 24);
        assert_eq!(offset_of!(IoUringSqe, op_flags), 28);
        assert_eq!(offset_of!(IoUringSqe, user_data), 32);
        assert_eq!(offset_of!(IoUringSqe, buf_index), 40);
        assert_eq!(offset_of!(IoUringSqe, personality), 42);
        assert_eq!(offset_of!(IoUringSqe, splice_fd_in), 44);
        assert_eq!(offset_of!(IoUringSqe, addr3), 48);
        assert_eq!(offset_of!(IoUringSqe, pad2), 56);
    }

    #[test]
    fn cqe_layout() {
        assert_eq!(size_of::<IoUringCqe>(), 16);
        assert_eq!(align_of::<IoUringCqe>(), 8);
        assert_eq!(offset_of!(IoUringCqe, user_data), 0);
        assert_eq!(offset_of!(IoUringCqe, res), 8);
        assert_eq!(offset_of!(IoUringCqe, flags), 12);
    }

    #[test]
    fn ring_offsets_layout() {
        assert_eq!(size_of::<IoSqringOffsets>(), 40);
        assert_eq!(offset_of!(IoSqringOffsets, head), 0);
        assert_eq!(offset_of!(IoSqringOffsets, tail), 4);
        assert_eq!(offset_of!(IoSqringOffsets, ring_mask), 8);
        assert_eq!(offset_of!(IoSqringOffsets, ring_entries), 12);
        assert_eq!(offset_of!(IoSqringOffsets, flags), 16);
        assert_eq!(offset_of!(IoSqringOffsets, dropped), 20);
        assert_eq!(offset_of!(IoSqringOffsets, array), 24);
        assert_eq!(offset_of!(IoSqringOffsets, resv1), 28);
        assert_eq!(offset_of!(IoSqringOffsets, user_addr), 32);

        assert_eq!(size_of::<IoCqringOffsets>(), 40);
        assert_eq!(offset_of!(IoCqringOffsets, head), 0);
        assert_eq!(offset_of!(IoCqringOffsets, tail), 4);
        assert_eq!(offset_of!(IoCqringOffsets, ring_mask), 8);
        assert_eq!(offset_of!(IoCqringOffsets, ring_entries), 12);
        assert_eq!(offset_of!(IoCqringOffsets, overflow), 16);
        assert_eq!(offset_of!(IoCqringOffsets, cqes), 20);
        assert_eq!(offset_of!(IoCqringOffsets, flags), 24);
        assert_eq!(offset_of!(IoCqringOffsets, resv1), 28);
        assert_eq!(offset_of!(IoCqringOffsets, user_addr), 32);
    }

    #[test]
    fn params_layout() {
        assert_eq!(size_of::<IoUringParams>(), 120);
        assert_eq!(offset_of!(IoUringParams, sq_entries), 0);
        assert_eq!(offset_of!(IoUringParams, cq_entries), 4);
        assert_eq!(offset_of!(IoUringParams, flags), 8);
        assert_eq!(offset_of!(IoUringParams, sq_thread_cpu), 12);
        assert_eq!(offset_of!(IoUringParams, sq_thread_idle), 16);
        assert_eq!(offset_of!(IoUringParams, features), 20);
        assert_eq!(offset_of!(IoUringParams, wq_fd), 24);
        assert_eq!(offset_of!(IoUringParams, resv), 28);
        assert_eq!(offset_of!(IoUringParams, sq_off), 40);
        assert_eq!(offset_of!(IoUringParams, cq_off), 80);
    }

    #[test]
    fn probe_layout() {
        assert_eq!(size_of::<IoUringProbeOp>(), 8);
        assert_eq!(offset_of!(IoUringProbeOp, op), 0);
        assert_eq!(offset_of!(IoUringProbeOp, resv), 1);
        assert_eq!(offset_of!(IoUringProbeOp, flags), 2);
        assert_eq!(offset_of!(IoUringProbeOp, resv2), 4);

        assert_eq!(size_of::<IoUringProbe>(), 16);
        assert_eq!(offset_of!(IoUringProbe, last_op), 0);
        assert_eq!(offset_of!(IoUringProbe, ops_len), 1);
        assert_eq!(offset_of!(IoUringProbe, resv), 2);
        assert_eq!(offset_of!(IoUringProbe, resv2), 4);
        assert_eq!(offset_of!(IoUringProbe, ops), 16);
    }

    #[test]
    fn rsrc_layout() {
        assert_eq!(size_of::<IoUringFilesUpdate>(), 16);
        assert_eq!(offset_of!(IoUringFilesUpdate, offset), 0);
        assert_eq!(offset_of!(IoUringFilesUpdate, resv), 4);
        assert_eq!(offset_of!(IoUringFilesUpdate, fds), 8);

        assert_eq!(size_of::<IoUringRsrcRegister>(), 32);
        assert_eq!(offset_of!(IoUringRsrcRegister, nr), 0);
        assert_eq!(offset_of!(IoUringRsrcRegister, flags), 4);
        assert_eq!(offset_of!(IoUringRsrcRegister, resv2), 8);
        assert_eq!(offset_of!(IoUringRsrcRegister, data), 16);
        assert_eq!(offset_of!(IoUringRsrcRegister, tags), 24);

        assert_eq!(size_of::<IoUringRsrcUpdate>(), 16);
        assert_eq!(offset_of!(IoUringRsrcUpdate, offset), 0);
        assert_eq!(offset_of!(IoUringRsrcUpdate, resv), 4);
        assert_eq!(offset_of!(IoUringRsrcUpdate, data), 8);

        assert_eq!(size_of::<IoUringRsrcUpdate2>(), 32);
        assert_eq!(offset_of!(IoUringRsrcUpdate2, offset), 0);
        assert_eq!(offset_of!(IoUringRsrcUpdate2, resv), 4);
        assert_eq!(offset_of!(IoUringRsrcUpdate2, data), 8);
        assert_eq!(offset_of!(IoUringRsrcUpdate2, tags), 16);
        assert_eq!(offset_of!(IoUringRsrcUpdate2, nr), 24);
        assert_eq!(offset_of!(IoUringRsrcUpdate2, resv2), 28);
    }

    #[test]
    fn region_layout() {
        assert_eq!(size_of::<IoUringRegionDesc>(), 64);
        assert_eq!(offset_of!(IoUringRegionDesc, user_addr), 0);
        assert_eq!(offset_of!(IoUringRegionDesc, size), 8);
        assert_eq!(offset_of!(IoUringRegionDesc, flags), 16);
        assert_eq!(offset_of!(IoUringRegionDesc, id), 20);
        assert_eq!(offset_of!(IoUringRegionDesc, mmap_offset), 24);
        assert_eq!(offset_of!(IoUringRegionDesc, resv), 32);

        assert_eq!(size_of::<IoUringMemRegionReg>(), 32);
        assert_eq!(offset_of!(IoUringMemRegionReg, region_uptr), 0);
        assert_eq!(offset_of!(IoUringMemRegionReg, flags), 8);
        assert_eq!(offset_of!(IoUringMemRegionReg, resv), 16);
    }

    #[test]
    fn wait_arg_layout() {
        assert_eq!(size_of::<KernelTimespec>(), 16);
        assert_eq!(offset_of!(KernelTimespec, tv_sec), 0);
        assert_eq!(offset_of!(KernelTimespec, tv_nsec), 8);

        assert_eq!(size_of::<IoUringGeteventsArg>(), 24);
        assert_eq!(offset_of!(IoUringGeteventsArg, sigmask), 0);
        assert_eq!(offset_of!(IoUringGeteventsArg, sigmask_sz), 8);
        assert_eq!(offset_of!(IoUringGeteventsArg, min_wait_usec), 12);
        assert_eq!(offset_of!(IoUringGeteventsArg, ts), 16);

        assert_eq!(size_of::<IoUringRegWait>(), 64);
        assert_eq!(offset_of!(IoUringRegWait, ts), 0);
        assert_eq!(offset_of!(IoUringRegWait, min_wait_usec), 16);
        assert_eq!(offset_of!(IoUringRegWait, flags), 20);
        assert_eq!(offset_of!(IoUringRegWait, sigmask), 24);
        assert_eq!(offset_of!(IoUringRegWait, sigmask_sz), 32);
        assert_eq!(offset_of!(IoUringRegWait, pad), 36);
        assert_eq!(offset_of!(IoUringRegWait, pad2), 48);
    }

    #[test]
    fn misc_layout() {
        assert_eq!(size_of::<OpenHow>(), 24);
        assert_eq!(offset_of!(OpenHow, flags), 0);
        assert_eq!(offset_of!(OpenHow, mode), 8);
        assert_eq!(offset_of!(OpenHow, resolve), 16);

        assert_eq!(size_of::<IoUringAttrPi>(), 32);
        assert_eq!(offset_of!(IoUringAttrPi, flags), 0);
        assert_eq!(offset_of!(IoUringAttrPi, app_tag), 2);
        assert_eq!(offset_of!(IoUringAttrPi, len), 4);
        assert_eq!(offset_of!(IoUringAttrPi, addr), 8);
        assert_eq!(offset_of!(IoUringAttrPi, seed), 16);
        assert_eq!(offset_of!(IoUringAttrPi, rsvd), 24);

        assert_eq!(size_of::<IoUringRestriction>(), 16);
        assert_eq!(offset_of!(IoUringRestriction, opcode), 0);
        assert_eq!(offset_of!(IoUringRestriction, register_op), 2);
        assert_eq!(offset_of!(IoUringRestriction, resv), 3);
        assert_eq!(offset_of!(IoUringRestriction, resv2), 4);

        assert_eq!(size_of::<IoUringClockRegister>(), 16);
        assert_eq!(offset_of!(IoUringClockRegister, clockid), 0);
        assert_eq!(offset_of!(IoUringClockRegister, resv), 4);

        assert_eq!(size_of::<IoUringCloneBuffers>(), 32);
        assert_eq!(offset_of!(IoUringCloneBuffers, src_fd), 0);
        assert_eq!(offset_of!(IoUringCloneBuffers, flags), 4);
        assert_eq!(offset_of!(IoUringCloneBuffers, src_off), 8);
        assert_eq!(offset_of!(IoUringCloneBuffers, dst_off), 12);
        assert_eq!(offset_of!(IoUringCloneBuffers, nr), 16);
        assert_eq!(offset_of!(IoUringCloneBuffers, pad), 20);

        assert_eq!(size_of::<IoUringNapi>(), 16);
        assert_eq!(offset_of!(IoUringNapi, busy_poll_to), 0);
        assert_eq!(offset_of!(IoUringNapi, prefer_busy_poll), 4);
        assert_eq!(offset_of!(IoUringNapi, opcode), 5);
        assert_eq!(offset_of!(IoUringNapi, pad), 6);
        assert_eq!(offset_of!(IoUringNapi, op_param), 8);
        assert_eq!(offset_of!(IoUringNapi, resv), 12);

        assert_eq!(size_of::<IoUringSyncCancelReg>(), 64);
        assert_eq!(offset_of!(IoUringSyncCancelReg, addr), 0);
        assert_eq!(offset_of!(IoUringSyncCancelReg, fd), 8);
        assert_eq!(offset_of!(IoUringSyncCancelReg, flags), 12);
        assert_eq!(offset_of!(IoUringSyncCancelReg, timeout), 16);
        assert_eq!(offset_of!(IoUringSyncCancelReg, opcode), 32);
        assert_eq!(offset_of!(IoUringSyncCancelReg, pad), 33);
        assert_eq!(offset_of!(IoUringSyncCancelReg, pad2), 40);

        assert_eq!(size_of::<IoUringFileIndexRange>(), 16);
        assert_eq!(offset_of!(IoUringFileIndexRange, off), 0);
        assert_eq!(offset_of!(IoUringFileIndexRange, len), 4);
        assert_eq!(offset_of!(IoUringFileIndexRange, resv), 8);

        assert_eq!(size_of::<IoUringRecvmsgOut>(), 16);
        assert_eq!(offset_of!(IoUringRecvmsgOut, namelen), 0);
        assert_eq!(offset_of!(IoUringRecvmsgOut, controllen), 4);
        assert_eq!(offset_of!(IoUringRecvmsgOut, payloadlen), 8);
        assert_eq!(offset_of!(IoUringRecvmsgOut, flags), 12);

        assert_eq!(size_of::<IoTimespec>(), 16);
        assert_eq!(offset_of!(IoTimespec, tv_sec), 0);
        assert_eq!(offset_of!(IoTimespec, tv_nsec), 8);
    }

    #[test]
    fn buf_ring_layout() {
        assert_eq!(size_of::<IoUringBuf>(), 16);
        assert_eq!(offset_of!(IoUringBuf, addr), 0);
        assert_eq!(offset_of!(IoUringBuf, len), 8);
        assert_eq!(offset_of!(IoUringBuf, bid), 12);
        assert_eq!(offset_of!(IoUringBuf, resv), 14);

        assert_eq!(size_of::<IoUringBufRing>(), 16);
        assert_eq!(offset_of!(IoUringBufRing, resv1), 0);
        assert_eq!(offset_of!(IoUringBufRing, resv2), 8);
        assert_eq!(offset_of!(IoUringBufRing, resv3), 12);
        // The tail overlays bufs[0].resv.
        assert_eq!(
            offset_of!(IoUringBufRing, tail),
            offset_of!(IoUringBuf, resv)
        );

        assert_eq!(size_of::<IoUringBufReg>(), 40);
        assert_eq!(offset_of!(IoUringBufReg, ring_addr), 0);
        assert_eq!(offset_of!(IoUringBufReg, ring_entries), 8);
        assert_eq!(offset_of!(IoUringBufReg, bgid), 12);
        assert_eq!(offset_of!(IoUringBufReg, flags), 14);
        assert_eq!(offset_of!(IoUringBufReg, resv), 16);

        assert_eq!(size_of::<IoUringBufStatus>(), 40);
        assert_eq!(offset_of!(IoUringBufStatus, buf_group), 0);
        assert_eq!(offset_of!(IoUringBufStatus, head), 4);
        assert_eq!(offset_of!(IoUringBufStatus, resv), 8);
    }

    #[test]
    fn zcrx_layout() {
        assert_eq!(size_of::<IoUringZcrxRqe>(), 16);
        assert_eq!(offset_of!(IoUringZcrxRqe, off), 0);
        assert_eq!(offset_of!(IoUringZcrxRqe, len), 8);
        assert_eq!(offset_of!(IoUringZcrxRqe, pad), 12);

        assert_eq!(size_of::<IoUringZcrxCqe>(), 16);
        assert_eq!(offset_of!(IoUringZcrxCqe, off), 0);
        assert_eq!(offset_of!(IoUringZcrxCqe, pad), 8);

        assert_eq!(size_of::<IoUringZcrxOffsets>(), 32);
        assert_eq!(offset_of!(IoUringZcrxOffsets, head), 0);
        assert_eq!(offset_of!(IoUringZcrxOffsets, tail), 4);
        assert_eq!(offset_of!(IoUringZcrxOffsets, rqes), 8);
        assert_eq!(offset_of!(IoUringZcrxOffsets, resv2), 12);
        assert_eq!(offset_of!(IoUringZcrxOffsets, resv), 16);

        assert_eq!(size_of::<IoUringZcrxAreaReg>(), 48);
        assert_eq!(offset_of!(IoUringZcrxAreaReg, addr), 0);
        assert_eq!(offset_of!(IoUringZcrxAreaReg, len), 8);
        assert_eq!(offset_of!(IoUringZcrxAreaReg, rq_area_token), 16);
        assert_eq!(offset_of!(IoUringZcrxAreaReg, flags), 24);
        assert_eq!(offset_of!(IoUringZcrxAreaReg, dmabuf_fd), 28);
        assert_eq!(offset_of!(IoUringZcrxAreaReg, resv2), 32);

        assert_eq!(size_of::<IoUringZcrxIfqReg>(), 96);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, if_idx), 0);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, if_rxq), 4);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, rq_entries), 8);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, flags), 12);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, area_ptr), 16);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, region_ptr), 24);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, offsets), 32);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, zcrx_id), 64);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, resv2), 68);
        assert_eq!(offset_of!(IoUringZcrxIfqReg, resv), 72);
    }

    #[test]
    fn query_layout() {
        assert_eq!(size_of::<IoUringQueryHdr>(), 40);
        assert_eq!(offset_of!(IoUringQueryHdr, next_entry), 0);
        assert_eq!(offset_of!(IoUringQueryHdr, query_data), 8);
        assert_eq!(offset_of!(IoUringQueryHdr, query_op), 16);
        assert_eq!(offset_of!(IoUringQueryHdr, size), 20);
        assert_eq!(offset_of!(IoUringQueryHdr, result), 24);
        assert_eq!(offset_of!(IoUringQueryHdr, resv), 28);

        assert_eq!(size_of::<IoUringQueryOpcode>(), 48);
        assert_eq!(offset_of!(IoUringQueryOpcode, nr_request_opcodes), 0);
        assert_eq!(offset_of!(IoUringQueryOpcode, nr_register_opcodes), 4);
        assert_eq!(offset_of!(IoUringQueryOpcode, feature_flags), 8);
        assert_eq!(offset_of!(IoUringQueryOpcode, ring_setup_flags), 16);
        assert_eq!(offset_of!(IoUringQueryOpcode, enter_flags), 24);
        assert_eq!(offset_of!(IoUringQueryOpcode, sqe_flags), 32);
        assert_eq!(offset_of!(IoUringQueryOpcode, nr_query_opcodes), 40);
        assert_eq!(offset_of!(IoUringQueryOpcode, pad), 44);
    }

    #[test]
    fn constant_spot_checks() {
        assert_eq!(IORING_OP_READ, 22);
        assert_eq!(IORING_OP_WRITE, 23);
        assert_eq!(IORING_OP_OPENAT2, 28);
        assert_eq!(IORING_OP_URING_CMD, 46);
        assert_eq!(IORING_OP_PIPE, 62);
        assert_eq!(IORING_OP_LAST, 63);
        assert_eq!(IORING_OP_LAST, IORING_OP_PIPE + 1);

        assert_eq!(IORING_SETUP_NO_SQARRAY, 1 << 16);
        assert_eq!(IORING_SETUP_CQE_MIXED, 0x4_0000);
        assert_eq!(IORING_FEAT_NO_IOWAIT, 0x2_0000);
        assert_eq!(IORING_ENTER_NO_IOWAIT, 0x80);

        assert_eq!(IORING_REGISTER_RING_FDS, 20);
        assert_eq!(IORING_REGISTER_PBUF_RING, 22);
        assert_eq!(IORING_REGISTER_QUERY, 35);
        assert_eq!(IORING_REGISTER_LAST, IORING_REGISTER_QUERY + 1);
        assert_eq!(IORING_REGISTER_USE_REGISTERED_RING, 0x8000_0000);

        assert_eq!(IOSQE_FIXED_FILE, 0x01);
        assert_eq!(IOSQE_CQE_SKIP_SUCCESS, 0x40);
        assert_eq!(IORING_CQE_F_32, 0x8000);
        assert_eq!(IORING_FILE_INDEX_ALLOC, u32::MAX);
        assert_eq!(IORING_OFF_CQ_RING, 0x0800_0000);
        assert_eq!(IORING_OFF_SQES, 0x1000_0000);
        assert_eq!(IORING_TIMEOUT_CLOCK_MASK, 0x0c);
        assert_eq!(IORING_TIMEOUT_UPDATE_MASK, 0x12);
        assert_eq!(IORING_CQE_F_TSTAMP_HW, 1 << 16);
        assert_eq!(IORING_ZCRX_AREA_MASK, 0xffff_0000_0000_0000);
    }

    #[test]
    fn live_setup() {
        let mut params = IoUringParams::default();
        // SAFETY: `params` is a live, writable, zero-initialised
        // IoUringParams owned by this test for the duration of the call.
        let fd = unsafe { io_uring_setup(4, &mut params) }.expect("io_uring_setup failed");
        assert!(fd >= 0);
        assert_eq!(params.sq_entries, 4);
        assert!(params.cq_entries >= 4);
        assert_ne!(params.features & IORING_FEAT_SINGLE_MMAP, 0);
        // SAFETY: `fd` was just returned by io_uring_setup and is owned by
        // this test; nothing else uses or closes it.
        assert_eq!(unsafe { libc::close(fd) }, 0);
    }

    #[test]
    fn live_setup_rejects_bad_params() {
        let mut params = IoUringParams {
            resv: [1, 0, 0],
            ..Default::default()
        };
        // SAFETY: `params` is a live, writable IoUringParams owned by this
        // test; the non-zero reserved field makes the kernel reject it
        // without creating a ring.
        let err = unsafe { io_uring_setup(4, &mut params) }.expect_err("reserved field accepted");
        assert_eq!(err, libc::EINVAL);
    }

    #[test]
    fn live_query_without_ring() {
        let mut opcodes = IoUringQueryOpcode::default();
        let mut hdr = IoUringQueryHdr {
            query_data: (&raw mut opcodes) as u64,
            query_op: IO_URING_QUERY_OPCODES,
            size: size_of::<IoUringQueryOpcode>() as u32,
            ..Default::default()
        };
        // SAFETY: `hdr` and the `opcodes` it points to are live, writable
        // locals sized as `hdr.size` says, and `next_entry` is 0, so the
        // kernel touches nothing else. fd -1 is the ring-less form.
        let res = unsafe {
            io_uring_register(
                -1,
                IORING_REGISTER_QUERY,
                (&raw mut hdr).cast::<libc::c_void>(),
                0,
            )
        };
        match res {
            // Kernels before 6.18 do not know the opcode (or fd -1).
            Err(libc::EINVAL) | Err(libc::EBADF) => {}
            Ok(_) => {
                assert_eq!(hdr.result, 0);
                assert!(opcodes.nr_request_opcodes > u32::from(IORING_OP_READ));
                assert!(opcodes.nr_register_opcodes > IORING_REGISTER_QUERY);
                assert_ne!(opcodes.feature_flags & u64::from(IORING_FEAT_NODROP), 0);
                assert_ne!(opcodes.sqe_flags & u64::from(IOSQE_IO_LINK), 0);
            }
            Err(e) => panic!("IORING_REGISTER_QUERY failed with errno {e}"),
        }
    }

    #[test]
    fn live_probe_and_enter() {
        let mut params = IoUringParams::default();
        // SAFETY: `params` is a live, writable IoUringParams owned by this
        // test for the duration of the call.
        let fd = unsafe { io_uring_setup(4, &mut params) }.expect("io_uring_setup failed");

        /// Probe header followed by room for 256 entries, as the kernel
        /// expects for `nr_args == 256`.
        #[repr(C)]
        struct ProbeBuf {
            hdr: IoUringProbe,
            ops: [IoUringProbeOp; 256],
        }
        let mut probe = ProbeBuf {
            hdr: IoUringProbe::default(),
            ops: [IoUringProbeOp::default(); 256],
        };
        // SAFETY: `probe` is a zeroed, writable buffer with room for the
        // header plus 256 ops, matching nr_args; `fd` is the ring created
        // above.
        let res = unsafe {
            io_uring_register(
                fd,
                IORING_REGISTER_PROBE,
                (&raw mut probe).cast::<libc::c_void>(),
                256,
            )
        };
        assert_eq!(res, Ok(0));
        assert!(probe.hdr.last_op >= IORING_OP_READ);
        assert_eq!(probe.ops[usize::from(IORING_OP_NOP)].op, IORING_OP_NOP);
        assert_ne!(
            probe.ops[usize::from(IORING_OP_NOP)].flags & IO_URING_OP_SUPPORTED,
            0
        );

        // Nothing queued: submitting zero SQEs without waiting returns 0.
        // SAFETY: `fd` is a live ring; no SQEs are published and no
        // argument pointer is passed.
        let submitted = unsafe { io_uring_enter(fd, 0, 0, 0, core::ptr::null(), 0) };
        assert_eq!(submitted, Ok(0));

        // SAFETY: `fd` is owned by this test and closed exactly once.
        assert_eq!(unsafe { libc::close(fd) }, 0);

        // An invalid fd comes back as Err(EBADF). (-1 rather than the
        // closed fd, whose number another test thread may have reused.)
        // SAFETY: no argument pointer is passed; the fd is invalid, so the
        // kernel fails the call without touching memory.
        let err = unsafe { io_uring_enter(-1, 0, 0, 0, core::ptr::null(), 0) };
        assert_eq!(err, Err(libc::EBADF));
    }
}
