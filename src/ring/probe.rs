//! Which opcodes the running kernel supports (`IORING_REGISTER_PROBE`, 5.6).

use crate::sys::*;

/// The opcodes the running kernel supports, from [`Ring::probe`](super::Ring::probe).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    last_op: u8,
    supported: [u64; 4],
}

impl Probe {
    /// Builds a probe from the kernel's answer.
    pub(crate) fn from_raw(last_op: u8, ops: &[IoUringProbeOp]) -> Probe {
        let mut probe = Probe {
            last_op,
            supported: [0; 4],
        };
        for op in ops {
            if op.flags & IO_URING_OP_SUPPORTED != 0 {
                probe.supported[usize::from(op.op / 64)] |= 1 << (op.op % 64);
            }
        }
        probe
    }

    /// A probe that reports every opcode missing, for kernels without `IORING_REGISTER_PROBE`.
    pub fn empty() -> Probe {
        Probe::default()
    }

    /// Whether `opcode` (an `IORING_OP_*`) is supported.
    #[inline]
    pub fn is_supported(&self, opcode: u8) -> bool {
        self.supported[usize::from(opcode / 64)] & (1 << (opcode % 64)) != 0
    }

    /// The highest opcode the kernel knows.
    pub fn last_op(&self) -> u8 {
        self.last_op
    }

    /// Every supported opcode, ascending.
    pub fn supported(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=u8::MAX).filter(|&op| self.is_supported(op))
    }
}

/// The kernel's name for an opcode without its `IORING_OP_` prefix, or `None` for an unknown
/// one.
pub fn opcode_name(opcode: u8) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "NOP",
        "READV",
        "WRITEV",
        "FSYNC",
        "READ_FIXED",
        "WRITE_FIXED",
        "POLL_ADD",
        "POLL_REMOVE",
        "SYNC_FILE_RANGE",
        "SENDMSG",
        "RECVMSG",
        "TIMEOUT",
        "TIMEOUT_REMOVE",
        "ACCEPT",
        "ASYNC_CANCEL",
        "LINK_TIMEOUT",
        "CONNECT",
        "FALLOCATE",
        "OPENAT",
        "CLOSE",
        "FILES_UPDATE",
        "STATX",
        "READ",
        "WRITE",
        "FADVISE",
        "MADVISE",
        "SEND",
        "RECV",
        "OPENAT2",
        "EPOLL_CTL",
        "SPLICE",
        "PROVIDE_BUFFERS",
        "REMOVE_BUFFERS",
        "TEE",
        "SHUTDOWN",
        "RENAMEAT",
        "UNLINKAT",
        "MKDIRAT",
        "SYMLINKAT",
        "LINKAT",
        "MSG_RING",
        "FSETXATTR",
        "SETXATTR",
        "FGETXATTR",
        "GETXATTR",
        "SOCKET",
        "URING_CMD",
        "SEND_ZC",
        "SENDMSG_ZC",
        "READ_MULTISHOT",
        "WAITID",
        "FUTEX_WAIT",
        "FUTEX_WAKE",
        "FUTEX_WAITV",
        "FIXED_FD_INSTALL",
        "FTRUNCATE",
        "BIND",
        "LISTEN",
        "RECV_ZC",
        "EPOLL_WAIT",
        "READV_FIXED",
        "WRITEV_FIXED",
        "PIPE",
    ];
    NAMES.get(usize::from(opcode)).copied()
}
