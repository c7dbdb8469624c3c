//! Refusing io_uring in a fork child with a seccomp filter, the way a container's default
//! profile does.

use std::io;

/// `AUDIT_ARCH_*` of the architecture the tests run on (linux/audit.h: the ELF machine, ORed
/// with `__AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`). Seccomp filters must check it, since syscall
/// numbers differ between architectures.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // EM_X86_64 (62)
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // EM_AARCH64 (183)
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: u32 = 0; // unknown here: forbid_io_uring_setup says Unsupported

/// `io_uring_setup`'s number, the same on x86_64 and aarch64.
const SYS_IO_URING_SETUP: u32 = 425;

/// Offsets into `struct seccomp_data` (linux/seccomp.h): `int nr; __u32 arch; ...`.
const SECCOMP_DATA_NR: u32 = 0;
const SECCOMP_DATA_ARCH: u32 = 4;

fn bpf_stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn bpf_jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Installs a seccomp filter on the calling thread (and the threads it creates later) that
/// makes `io_uring_setup` fail with EPERM and allows every other syscall, as Docker's default
/// profile does. Irreversible: call it only in a fork child (see [`super::fork`]).
/// Fails with `ErrorKind::Unsupported` on architectures other than x86_64 and aarch64.
pub fn forbid_io_uring_setup() -> io::Result<()> {
    if AUDIT_ARCH == 0 {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let mut filter = [
        bpf_stmt(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            SECCOMP_DATA_ARCH,
        ),
        // Another architecture's syscall numbers mean something else: leave them alone.
        bpf_jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            AUDIT_ARCH,
            1,
            0,
        ),
        bpf_stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        bpf_stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, SECCOMP_DATA_NR),
        bpf_jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            SYS_IO_URING_SETUP,
            0,
            1,
        ),
        bpf_stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA),
        ),
        bpf_stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers and touches no memory of ours. It is
    // what lets an unprivileged process install a filter.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `program` points to `filter`, both alive for the call; the kernel copies the
    // program before returning.
    let res = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &raw const program,
            0,
            0,
        )
    };
    if res != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Refuses io_uring in this (fork child) process with [`forbid_io_uring_setup`]; `Ok(false)`
/// where there is no filter for this architecture, `Err` if installing it failed.
pub fn refuse_io_uring() -> Result<bool, String> {
    match forbid_io_uring_setup() {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(false),
        Err(e) => Err(format!("seccomp: {e}")),
    }
}
