//! Why a ring could not be set up, one variant per cause.

use std::io;

/// A ring could not be set up. Each variant names one cause and says what to do about it.
///
/// The blocking calls of this crate never surface this error: they fall back to direct
/// syscalls and report the cause through [`status()`](crate::status). It is returned by the
/// low-level [`Ring`](super::Ring) API only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The entry count was zero.
    #[error("ring entries must be at least 1; ask for a power of two such as 64")]
    EntriesZero,

    /// The entry count was not a power of two.
    #[error("ring entries must be a power of two, got {0}; try {next}", next = .0.next_power_of_two())]
    EntriesNotPowerOfTwo(u32),

    /// The entry count is above what the kernel accepts.
    #[error("ring entries {entries} exceed the kernel's limit of {max}; ask for at most {max}")]
    EntriesTooLarge {
        /// What was asked for.
        entries: u32,
        /// The kernel's limit (`IORING_MAX_ENTRIES`).
        max: u32,
    },

    /// `io_uring_setup` answered EPERM.
    #[error("io_uring is not permitted here: {cause}")]
    PermissionDenied {
        /// Who refused: the `kernel.io_uring_disabled` sysctl or, most likely, a seccomp filter.
        cause: DeniedBy,
    },

    /// The kernel has no usable io_uring: `io_uring_setup` does not exist (ENOSYS: before
    /// 5.1 or built without it), or it predates 5.4's single ring mapping.
    #[error(
        "this kernel has no usable io_uring: none at all (ENOSYS: before Linux 5.1 or built \
         without CONFIG_IO_URING) or one older than 5.4; the blocking calls run as direct \
         syscalls"
    )]
    KernelTooOld,

    /// The process has no file descriptor left (EMFILE).
    #[error(
        "the process is out of file descriptors (EMFILE); close some or raise RLIMIT_NOFILE \
         (ulimit -n)"
    )]
    ProcessFdLimit,

    /// The system has no file left (ENFILE).
    #[error("the system-wide file limit is reached (ENFILE); raise fs.file-max or close files")]
    SystemFdLimit,

    /// The kernel could not allocate or lock the ring's memory (ENOMEM).
    #[error(
        "not enough memory for the ring (ENOMEM); use fewer entries, or raise RLIMIT_MEMLOCK \
         on kernels before 5.12"
    )]
    OutOfMemory,

    /// The kernel rejected the setup flags even after dropping every optional one (EINVAL).
    #[error(
        "the kernel rejected the ring's setup flags {flags:#x} (EINVAL); drop the flags that \
         this kernel does not know (see uring_os::sys::IORING_SETUP_*)"
    )]
    InvalidFlags {
        /// The flags of the last attempt.
        flags: u32,
    },

    /// Mapping the ring's memory failed.
    #[error("mapping the ring's memory failed: {0}")]
    Mmap(#[source] io::Error),

    /// Any other errno from `io_uring_setup`.
    #[error("io_uring_setup failed: {0}")]
    Other(#[source] io::Error),
}

/// Who refused `io_uring_setup` with EPERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeniedBy {
    /// `kernel.io_uring_disabled` is 2: io_uring is off for every process.
    SysctlDisabled,
    /// `kernel.io_uring_disabled` is 1 and this process is outside `kernel.io_uring_group`.
    SysctlGroup,
    /// The sysctl allows io_uring, so a seccomp filter refused it (a container's default
    /// profile does).
    Seccomp,
}

impl std::fmt::Display for DeniedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeniedBy::SysctlDisabled => {
                "kernel.io_uring_disabled is 2 (off for everyone); set it to 0 to allow io_uring"
            }
            DeniedBy::SysctlGroup => {
                "kernel.io_uring_disabled is 1 and this process is not in \
                 kernel.io_uring_group; add the group or set the sysctl to 0"
            }
            DeniedBy::Seccomp => {
                "probably a seccomp filter, e.g. a container's default profile; allow \
                 io_uring_setup, io_uring_enter and io_uring_register in the profile"
            }
        })
    }
}

impl DeniedBy {
    /// Reads `kernel.io_uring_disabled` to tell the sysctl from a seccomp filter.
    pub(crate) fn detect() -> DeniedBy {
        let value = crate::sys::syscall::read_small_file(c"/proc/sys/kernel/io_uring_disabled")
            .and_then(|s| s.trim().parse::<u32>().ok());
        match value {
            Some(2) => DeniedBy::SysctlDisabled,
            Some(1) => DeniedBy::SysctlGroup,
            _ => DeniedBy::Seccomp,
        }
    }
}

impl SetupError {
    /// Maps an errno from `io_uring_setup` to its cause.
    pub(crate) fn from_errno(errno: i32, flags: u32) -> SetupError {
        match errno {
            libc::EPERM => SetupError::PermissionDenied {
                cause: DeniedBy::detect(),
            },
            libc::ENOSYS => SetupError::KernelTooOld,
            libc::EMFILE => SetupError::ProcessFdLimit,
            libc::ENFILE => SetupError::SystemFdLimit,
            libc::ENOMEM => SetupError::OutOfMemory,
            libc::EINVAL => SetupError::InvalidFlags { flags },
            e => SetupError::Other(io::Error::from_raw_os_error(e)),
        }
    }

    /// The errno closest to this cause, for callers that want an `io::Error`.
    pub fn raw_os_error(&self) -> i32 {
        match self {
            SetupError::EntriesZero
            | SetupError::EntriesNotPowerOfTwo(_)
            | SetupError::EntriesTooLarge { .. }
            | SetupError::InvalidFlags { .. } => libc::EINVAL,
            SetupError::PermissionDenied { .. } => libc::EPERM,
            SetupError::KernelTooOld => libc::ENOSYS,
            SetupError::ProcessFdLimit => libc::EMFILE,
            SetupError::SystemFdLimit => libc::ENFILE,
            SetupError::OutOfMemory => libc::ENOMEM,
            SetupError::Mmap(e) | SetupError::Other(e) => e.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

impl From<SetupError> for io::Error {
    fn from(e: SetupError) -> io::Error {
        let kind = io::Error::from_raw_os_error(e.raw_os_error()).kind();
        io::Error::new(kind, e)
    }
}
