//! Helpers shared by the integration tests: running code in a fork child, and refusing
//! io_uring there with a seccomp filter, the way a container's default profile does.

#![allow(dead_code, reason = "each test binary uses only some of these helpers")]

use std::io;
use std::panic::{self, AssertUnwindSafe};

/// The exit code a child reports when `f` panicked (the same as a failed Rust test binary).
pub const CHILD_PANICKED: i32 = 101;

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
/// profile does. Irreversible: call it only in a fork child (see [`in_child`]).
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

/// Forks; the child runs `f` and `_exit`s with its return value ([`CHILD_PANICKED`] if it
/// panicked). Returns the child's pid to the parent; pass it to [`wait_child`].
///
/// The test harness runs tests on several threads, and only the forking thread exists in the
/// child, so `f` should stay simple: no printing (another thread may hold the stdout lock),
/// no threads. Rings, files and pipes are fine.
pub fn fork_child(f: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: fork has no memory preconditions; the child only runs `f` and then `_exit`s
    // without running destructors or atexit handlers that belong to the parent.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", io::Error::last_os_error());
    if pid == 0 {
        let code = panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(CHILD_PANICKED);
        // SAFETY: ends the child at once, as a fork child must (no unwinding into the
        // parent's test harness, no flushing of the parent's buffers).
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for the child `pid` and returns its exit code, or 128 + the signal number if a
/// signal killed it (as a shell reports it).
pub fn wait_child(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid c_int for the call.
        let res = unsafe { libc::waitpid(pid, &mut status, 0) };
        if res == pid {
            break;
        }
        let err = io::Error::last_os_error();
        assert_eq!(
            err.kind(),
            io::ErrorKind::Interrupted,
            "waitpid failed: {err}"
        );
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// Runs `f` in a fork child and returns its exit status: what `f` returned,
/// [`CHILD_PANICKED`] if it panicked, or 128 + the signal number if it was killed.
/// See [`fork_child`] for what `f` may do.
pub fn in_child(f: impl FnOnce() -> i32) -> i32 {
    wait_child(fork_child(f))
}
