//! Reports what io_uring offers on this machine: the kernel, whether a ring can be set up (and
//! why not), the setup flags the kernel accepted, its features, and every opcode uring_os
//! uses.
//!
//! ```text
//! cargo run --release --example probe
//! ```

use std::ffi::CStr;

use uring_os::ring::{Probe, Ring, opcode_name};
use uring_os::sys::*;

/// `IORING_SETUP_*` flags by name, lowest bit first.
const SETUP_FLAGS: &[(u32, &str)] = &[
    (IORING_SETUP_IOPOLL, "IOPOLL"),
    (IORING_SETUP_SQPOLL, "SQPOLL"),
    (IORING_SETUP_SQ_AFF, "SQ_AFF"),
    (IORING_SETUP_CQSIZE, "CQSIZE"),
    (IORING_SETUP_CLAMP, "CLAMP"),
    (IORING_SETUP_ATTACH_WQ, "ATTACH_WQ"),
    (IORING_SETUP_R_DISABLED, "R_DISABLED"),
    (IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"),
    (IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"),
    (IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"),
    (IORING_SETUP_SQE128, "SQE128"),
    (IORING_SETUP_CQE32, "CQE32"),
    (IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"),
    (IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"),
    (IORING_SETUP_NO_MMAP, "NO_MMAP"),
    (IORING_SETUP_REGISTERED_FD_ONLY, "REGISTERED_FD_ONLY"),
    (IORING_SETUP_NO_SQARRAY, "NO_SQARRAY"),
    (IORING_SETUP_HYBRID_IOPOLL, "HYBRID_IOPOLL"),
    (IORING_SETUP_CQE_MIXED, "CQE_MIXED"),
];

/// `IORING_FEAT_*` bits by name, with the kernel release that introduced each.
const FEATURES: &[(u32, &str, &str)] = &[
    (IORING_FEAT_SINGLE_MMAP, "SINGLE_MMAP", "5.4"),
    (IORING_FEAT_NODROP, "NODROP", "5.5"),
    (IORING_FEAT_SUBMIT_STABLE, "SUBMIT_STABLE", "5.5"),
    (IORING_FEAT_RW_CUR_POS, "RW_CUR_POS", "5.6"),
    (IORING_FEAT_CUR_PERSONALITY, "CUR_PERSONALITY", "5.6"),
    (IORING_FEAT_FAST_POLL, "FAST_POLL", "5.7"),
    (IORING_FEAT_POLL_32BITS, "POLL_32BITS", "5.9"),
    (IORING_FEAT_SQPOLL_NONFIXED, "SQPOLL_NONFIXED", "5.11"),
    (IORING_FEAT_EXT_ARG, "EXT_ARG", "5.11"),
    (IORING_FEAT_NATIVE_WORKERS, "NATIVE_WORKERS", "5.12"),
    (IORING_FEAT_RSRC_TAGS, "RSRC_TAGS", "5.13"),
    (IORING_FEAT_CQE_SKIP, "CQE_SKIP", "5.17"),
    (IORING_FEAT_LINKED_FILE, "LINKED_FILE", "5.17"),
    (IORING_FEAT_REG_REG_RING, "REG_REG_RING", "6.3"),
    (IORING_FEAT_RECVSEND_BUNDLE, "RECVSEND_BUNDLE", "6.10"),
    (IORING_FEAT_MIN_TIMEOUT, "MIN_TIMEOUT", "6.12"),
    (IORING_FEAT_RW_ATTR, "RW_ATTR", "6.14"),
    (IORING_FEAT_NO_IOWAIT, "NO_IOWAIT", "6.15"),
];

/// The opcodes behind uring_os's public calls: opcode, the first kernel release that has it,
/// and the calls that use it.
const OPCODES: &[(u8, &str, &str)] = &[
    (IORING_OP_NOP, "5.1", "nop"),
    (IORING_OP_READ, "5.6", "read, pread"),
    (IORING_OP_WRITE, "5.6", "write, pwrite"),
    (IORING_OP_READV, "5.1", "readv, preadv"),
    (IORING_OP_WRITEV, "5.1", "writev, pwritev"),
    (IORING_OP_FSYNC, "5.1", "fsync, fdatasync"),
    (IORING_OP_SYNC_FILE_RANGE, "5.2", "sync_file_range"),
    (IORING_OP_FALLOCATE, "5.6", "fallocate"),
    (IORING_OP_FADVISE, "5.6", "fadvise"),
    (IORING_OP_FTRUNCATE, "6.9", "ftruncate"),
    (IORING_OP_OPENAT, "5.6", "open, openat"),
    (IORING_OP_OPENAT2, "5.6", "(not used yet)"),
    (IORING_OP_CLOSE, "5.6", "close"),
    (IORING_OP_STATX, "5.6", "statx"),
    (IORING_OP_MKDIRAT, "5.15", "mkdirat"),
    (IORING_OP_UNLINKAT, "5.11", "unlinkat"),
    (IORING_OP_RENAMEAT, "5.11", "renameat"),
    (IORING_OP_SYMLINKAT, "5.15", "symlinkat"),
    (IORING_OP_LINKAT, "5.15", "linkat"),
    (IORING_OP_SOCKET, "5.19", "socket"),
    (IORING_OP_BIND, "6.11", "bind"),
    (IORING_OP_LISTEN, "6.11", "listen"),
    (IORING_OP_ACCEPT, "5.5", "accept"),
    (IORING_OP_CONNECT, "5.5", "connect"),
    (IORING_OP_SEND, "5.6", "send"),
    (IORING_OP_RECV, "5.6", "recv"),
    (IORING_OP_SHUTDOWN, "5.11", "shutdown"),
    (IORING_OP_SPLICE, "5.7", "splice"),
    (IORING_OP_POLL_ADD, "5.1", "poll"),
    (IORING_OP_TIMEOUT, "5.4", "sleep"),
    (IORING_OP_LINK_TIMEOUT, "5.5", "with_timeout"),
    (IORING_OP_ASYNC_CANCEL, "5.5", "interrupted calls (cancel)"),
];

/// The ring size the probe sets up: small, like the crate's per-thread rings.
const ENTRIES: u32 = 8;

fn main() {
    println!("uring_os probe\n");
    println!("  {:<10} {}", "kernel", kernel_release());
    println!("  {:<10} {}", "sysctl", io_uring_sysctl());

    let ring = match Ring::new(ENTRIES) {
        Ok(ring) => ring,
        Err(err) => {
            println!("  {:<10} not available: {err}", "io_uring");
            println!(
                "\nuring_os's blocking calls fall back to the direct syscalls here, with the \
                 same results."
            );
            return;
        }
    };
    println!(
        "  {:<10} available (a ring of {ENTRIES}: SQ {} entries, CQ {})",
        "io_uring",
        ring.sq_entries(),
        ring.cq_entries()
    );
    let hidden = ring.features() & IORING_FEAT_REG_REG_RING != 0;
    println!(
        "  {:<10} {}",
        "ring fd",
        match (ring.is_ring_fd_registered(), hidden) {
            (true, true) => "registered; can take no fd number (hide_fd)",
            (true, false) => "registered; takes an fd number (hide_fd needs 6.3)",
            (false, _) => "not registered (needs 5.18); takes an fd number",
        }
    );

    println!("\nsetup flags accepted");
    let flags = ring.setup_flags();
    let mut known = 0;
    for &(bit, name) in SETUP_FLAGS {
        known |= bit;
        if flags & bit != 0 {
            println!("  IORING_SETUP_{name}");
        }
    }
    if flags & !known != 0 {
        println!("  (unknown bits {:#x})", flags & !known);
    }
    if flags == 0 {
        println!("  (none: the kernel predates every optional flag)");
    }

    println!("\nkernel features");
    println!("  {:<28} {:<6} present", "feature", "since");
    let features = ring.features();
    let mut known = 0;
    for &(bit, name, since) in FEATURES {
        known |= bit;
        let name = format!("IORING_FEAT_{name}");
        println!("  {name:<28} {since:<6} {}", yes_no(features & bit != 0));
    }
    if features & !known != 0 {
        println!("  (unknown bits {:#x})", features & !known);
    }

    println!("\nopcodes used by uring_os");
    let probe = match ring.probe() {
        Ok(probe) => probe,
        Err(err) => {
            println!("  (no IORING_REGISTER_PROBE before 5.6: {err}; treating all as missing)");
            Probe::empty()
        }
    };
    println!(
        "  {:<28} {:<6} {:<10} used by",
        "opcode", "since", "supported"
    );
    for &(op, since, calls) in OPCODES {
        let name = format!("IORING_OP_{}", opcode_name(op).unwrap_or("?"));
        let supported = yes_no(probe.is_supported(op));
        println!("  {name:<28} {since:<6} {supported:<10} {calls}");
    }
    let missing = OPCODES
        .iter()
        .filter(|&&(op, ..)| !probe.is_supported(op))
        .count();
    println!(
        "\n{} of {} opcodes supported; calls without one run as the direct syscall.",
        OPCODES.len() - missing,
        OPCODES.len()
    );
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `uname -srm`: system name, release and machine.
fn kernel_release() -> String {
    // SAFETY: utsname is plain bytes, for which all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname for the call.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return format!("unknown ({})", std::io::Error::last_os_error());
    }
    let field = |chars: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field within its array.
        unsafe { CStr::from_ptr(chars.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!(
        "{} {} ({})",
        field(&uts.sysname),
        field(&uts.release),
        field(&uts.machine)
    )
}

/// The `kernel.io_uring_disabled` sysctl (6.6), which can refuse io_uring machine-wide.
fn io_uring_sysctl() -> String {
    match std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled") {
        Ok(value) => {
            let value = value.trim();
            let meaning = match value {
                "0" => "io_uring allowed",
                "1" => "io_uring only for kernel.io_uring_group",
                "2" => "io_uring off for everyone",
                _ => "unknown value",
            };
            format!("kernel.io_uring_disabled = {value} ({meaning})")
        }
        Err(_) => "kernel.io_uring_disabled not present (kernel before 6.6)".to_string(),
    }
}
