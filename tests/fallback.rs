//! Without io_uring: in a fork child where a seccomp filter refuses `io_uring_setup` (as a
//! container's default profile does), `status()` says so, and every call of the table and
//! every batch gives the same answers as on the ring, each as a direct syscall.
//!
//! `URING_OS=off` is in `fallback_off.rs`, which must be a binary of its own: the variable is
//! read once per process.

mod call_cases;
#[macro_use]
mod common;

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use call_cases::Case;
use common::fork::in_child_reporting;
use common::seccomp::refuse_io_uring;
use common::{fd_count, has_ring, pipe, record, records_file, rw_file, skip, sys};
use uring_os::ring::DeniedBy;
use uring_os::{Backend, FallbackReason};

// ---------------------------------------------------------------------------------------------
// The blocking calls
// ---------------------------------------------------------------------------------------------

/// Every blocking call of the contract (DESIGN.md).
const CONTRACT_CALLS: [&str; 36] = [
    "read",
    "pread",
    "write",
    "pwrite",
    "readv",
    "writev",
    "preadv",
    "pwritev",
    "open",
    "openat",
    "close",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "fallocate",
    "fadvise",
    "ftruncate",
    "statx",
    "mkdirat",
    "unlinkat",
    "renameat",
    "symlinkat",
    "linkat",
    "socket",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "send",
    "recv",
    "shutdown",
    "splice",
    "poll",
    "sleep",
    "nop",
];

/// Runs `cases` in a fork child where a seccomp filter refuses `io_uring_setup` (after the
/// parent has set up its ring and cached its probe), and checks there that `status()` says so
/// and that every call ran as a direct syscall. Returns the child's exit code and its report
/// of everything that was wrong (empty if nothing).
fn in_seccomp_child(cases: &[Case], syscall_per_case: bool) -> (i32, String) {
    uring_os::nop().unwrap();
    let parent = uring_os::status();
    if !matches!(parent.backend, Backend::IoUring { .. }) {
        eprintln!("note: the parent has no ring ({parent:?}); the child inherits no probe");
    }
    let (r, w) = pipe();
    let pid = common::fork::fork_keeping(&[w.as_raw_fd()], || {
        let mut report = String::new();
        if let Err(e) = common::seccomp::forbid_io_uring_setup() {
            report.push_str(&format!("cannot install the seccomp filter: {e}\n"));
        }
        // The filter works: a ring of our own is refused.
        match uring_os::ring::Ring::new(8) {
            Err(uring_os::ring::SetupError::PermissionDenied {
                cause: DeniedBy::Seccomp,
            }) => {}
            other => report.push_str(&format!("Ring::new under seccomp: {other:?}\n")),
        }
        let before = uring_os::stats();
        let status = uring_os::status();
        // URING_OS=off decides before any ring is tried.
        let expected = Backend::Syscall {
            reason: if common::disabled_by_env() {
                FallbackReason::Disabled
            } else {
                FallbackReason::PermissionDenied(DeniedBy::Seccomp)
            },
        };
        if status.backend != expected {
            report.push_str(&format!(
                "status().backend in the child is {:?}, expected {expected:?}\n",
                status.backend
            ));
        }
        let all_listed = CONTRACT_CALLS
            .iter()
            .all(|name| status.syscall_ops.contains(name));
        if !all_listed || status.last_op.is_some() {
            report.push_str(&format!("status() in the child: {status:?}\n"));
        }
        // The same answers: pread, open ENOENT, then the cases.
        let mut buf = [0u8; 4];
        let file = File::open("Cargo.toml").unwrap();
        match uring_os::pread(&file, &mut buf, 0) {
            Ok(4) if &buf == b"[wor" || &buf == b"[pac" => {}
            other => report.push_str(&format!("pread: {other:?}\n")),
        }
        let missing = uring_os::open("/no/such/file", libc::O_RDONLY, 0);
        if missing.as_ref().map_err(io::Error::raw_os_error).err() != Some(Some(libc::ENOENT)) {
            report.push_str(&format!("open of a missing file: {missing:?}\n"));
        }
        for problem in call_cases::run_cases_inline(cases) {
            report.push_str(&problem);
            report.push('\n');
        }
        let after = uring_os::stats();
        if after.ops != before.ops {
            report.push_str(&format!("ops went from {} to {}\n", before.ops, after.ops));
        }
        // Cases refused by argument checks (an offset beyond off_t) make no syscall.
        let per_case = if syscall_per_case {
            cases.len() as u64
        } else {
            0
        };
        if after.fallbacks < before.fallbacks + 2 + per_case {
            report.push_str(&format!(
                "fallbacks went from {} to {} for {} cases\n",
                before.fallbacks,
                after.fallbacks,
                cases.len()
            ));
        }
        // Still the same status at the end (nothing switched back to a ring).
        if uring_os::status().backend != expected {
            report.push_str(&format!("status() at the end: {:?}\n", uring_os::status()));
        }
        let _ = sys::write(&w, report.as_bytes());
        if report.is_empty() { 0 } else { 1 }
    });
    drop(w);
    let mut report = String::new();
    File::from(r).read_to_string(&mut report).unwrap();
    (common::fork::wait_child(pid), report)
}

#[test]
fn seccomp_child_falls_back_to_syscalls_with_the_same_answers() {
    let mut cases = call_cases::all();
    cases.extend(call_cases::nonblocking());
    cases.extend(call_cases::poll_closed_fd());
    let (code, report) = in_seccomp_child(&cases, true);
    assert!(
        code == 0 && report.is_empty(),
        "seccomp child exited with {code}:\n{report}"
    );
}

#[test]
fn offset_u64_max_matches_libc_without_io_uring() {
    let (code, report) = in_seccomp_child(&call_cases::offset_minus_one(), false);
    assert!(
        code == 0 && report.is_empty(),
        "seccomp child exited with {code}:\n{report}"
    );
}

// ---------------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------------

/// A small batch touching every feature, its results as comparable text.
fn small_batch(dir: &Path) -> Result<Vec<String>, String> {
    let dir_fd = File::open(dir).map_err(|e| e.to_string())?;
    let data = File::open(dir.join("records")).map_err(|e| e.to_string())?;
    let out_path = dir.join(format!("out-{}", std::process::id()));
    let out = rw_file(&out_path);
    let mut buf = [0u8; 8];
    let mut file_buf = [0u8; 64];
    let mut missing_buf = [0u8; 8];
    let mut dir_buf = [0u8; 8];
    let mut chain_buf = [0u8; 8];
    let mut ok_chain_buf = [0u8; 5];
    let mut window_bufs = vec![[0u8; 8]; 40];
    let mut lines = uring_os::batch(|s| {
        let mut lines = Vec::new();
        let pread = s.pread(&data, &mut buf, 40);
        let file = s.read_file(&dir_fd, "small", &mut file_buf);
        let missing = s.read_file(&dir_fd, "missing", &mut missing_buf);
        let is_dir = s.read_file(&dir_fd, "subdir", &mut dir_buf);
        let chain = s.link(|s| {
            (
                s.pwrite(&data, b"nope", 0),
                s.fsync(&data),
                s.pread(&data, &mut chain_buf, 0),
            )
        });
        let ok_chain = s.link(|s| {
            (
                s.pwrite(&out, b"hello", 0),
                s.pread(&out, &mut ok_chain_buf, 0),
            )
        });
        let nul = s.openat(&dir_fd, "a\0b", libc::O_RDONLY, 0);
        lines.push(format!(
            "pread {:?}",
            pread.wait().map_err(|e| e.raw_os_error())
        ));
        lines.push(format!(
            "read_file {:?}",
            file.wait().map_err(|e| e.raw_os_error())
        ));
        lines.push(format!(
            "missing {:?}",
            missing.wait().map_err(|e| e.raw_os_error())
        ));
        lines.push(format!(
            "dir {:?}",
            is_dir.wait().map_err(|e| e.raw_os_error())
        ));
        lines.push(format!(
            "chain {:?} {:?} {:?}",
            chain.0.wait().map_err(|e| e.raw_os_error()),
            chain.1.wait().map_err(|e| e.raw_os_error()),
            chain.2.wait().map_err(|e| e.raw_os_error())
        ));
        lines.push(format!(
            "ok chain {:?} {:?}",
            ok_chain.0.wait().map_err(|e| e.raw_os_error()),
            ok_chain.1.wait().map_err(|e| e.raw_os_error())
        ));
        lines.push(format!("nul {:?}", nul.wait().map_err(|e| e.kind())));
        let reads = window_bufs
            .iter_mut()
            .enumerate()
            .map(|(i, b)| s.pread(&data, b, (i * 8) as u64));
        let mut window: Vec<(usize, Result<usize, Option<i32>>)> = s
            .window(4, reads)
            .map(|(p, r)| (p, r.map_err(|e| e.raw_os_error())))
            .collect();
        window.sort_by_key(|(p, _)| *p);
        lines.push(format!("window {window:?}"));
        lines
    });
    lines.push(format!("buf {buf:?}"));
    lines.push(format!(
        "file {:?}",
        String::from_utf8_lossy(&file_buf[..11])
    ));
    lines.push(format!("chain buf {chain_buf:?}"));
    lines.push(format!(
        "ok chain buf {:?}",
        String::from_utf8_lossy(&ok_chain_buf)
    ));
    let window_ok = window_bufs.iter().enumerate().all(|(i, b)| *b == record(i));
    lines.push(format!("window data {window_ok}"));
    let _ = fs::remove_file(&out_path);
    Ok(lines)
}

/// What [`small_batch`] must give, on the ring and off it.
fn check_small_batch(lines: &[String]) {
    let window: Vec<(usize, Result<usize, Option<i32>>)> = (0..40).map(|p| (p, Ok(8))).collect();
    let expected = [
        "pread Ok(8)".to_string(),
        "read_file Ok(11)".to_string(),
        format!("missing Err(Some({}))", libc::ENOENT),
        format!("dir Err(Some({}))", libc::EISDIR),
        format!(
            "chain Err(Some({})) Err(Some({})) Err(Some({}))",
            libc::EBADF,
            libc::ECANCELED,
            libc::ECANCELED
        ),
        "ok chain Ok(5) Ok(5)".to_string(),
        "nul Err(InvalidInput)".to_string(),
        format!("window {window:?}"),
        format!("buf {:?}", record(5)),
        "file \"small file!\"".to_string(),
        "chain buf [0, 0, 0, 0, 0, 0, 0, 0]".to_string(),
        "ok chain buf \"hello\"".to_string(),
        "window data true".to_string(),
    ];
    assert_eq!(lines, expected);
}

fn small_batch_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    records_file(&dir.path().join("records"), 64);
    fs::write(dir.path().join("small"), b"small file!").unwrap();
    fs::create_dir(dir.path().join("subdir")).unwrap();
    dir
}

/// In a fork child where seccomp refuses `io_uring_setup` (as a container's default profile
/// does), the same batch gives the same results as on the ring, with no fd numbers left.
#[test]
fn without_io_uring_a_batch_gives_the_same_results() {
    let dir = small_batch_dir();
    let on_ring = small_batch(dir.path()).unwrap();
    check_small_batch(&on_ring);
    let parent_has_ring = has_ring();
    let path: PathBuf = dir.path().to_owned();
    let in_fallback = in_child_reporting(Duration::from_secs(20), move || {
        if !refuse_io_uring()? {
            return Ok("unsupported".into());
        }
        let backend = uring_os::status().backend;
        ensure!(
            match &backend {
                // Refused by the filter, unless this process runs syscalls anyway.
                Backend::Syscall {
                    reason: FallbackReason::PermissionDenied(_),
                } => true,
                Backend::Syscall {
                    reason: FallbackReason::Disabled,
                } => common::disabled_by_env(),
                Backend::Syscall { .. } => !parent_has_ring,
                _ => false,
            },
            "backend under seccomp: {backend:?}"
        );
        let before = fd_count();
        let lines = small_batch(&path)?;
        let after = fd_count();
        ensure!(
            before == after,
            "fd numbers: {before} before, {after} after"
        );
        // One line a result, newline-separated for the parent.
        Ok(lines.join("\n"))
    });
    match in_fallback.as_deref() {
        Ok("unsupported") => skip(
            "without_io_uring_a_batch_gives_the_same_results",
            "no seccomp filter for this architecture",
        ),
        Ok(text) => {
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            assert_eq!(lines, on_ring, "fallback and ring disagree");
            check_small_batch(&lines);
        }
        Err(e) => panic!("fallback child: {e}"),
    }
}

/// A short read ends a linked chain on the ring (the kernel fails a link whose read or write
/// transferred less than asked); the syscall fallback must cut the chain the same way.
#[test]
fn short_read_ends_a_chain_the_same_way_with_and_without_the_ring() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("short"), b"abc").unwrap();
    let run = |dir: &Path| -> Result<String, String> {
        let file = File::open(dir.join("short")).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 8];
        let (short, next) = uring_os::batch(|s| {
            let (short, next) = s.link(|s| (s.pread(&file, &mut buf, 0), s.nop()));
            (short.wait(), next.wait())
        });
        Ok(format!(
            "{:?} {:?}",
            short.map_err(|e| e.raw_os_error()),
            next.map_err(|e| e.raw_os_error())
        ))
    };
    let on_this_thread = run(dir.path()).unwrap();
    let path = dir.path().to_owned();
    let in_fallback = in_child_reporting(Duration::from_secs(10), move || {
        match common::seccomp::forbid_io_uring_setup() {
            Ok(()) => {}
            Err(e) => return Err(format!("seccomp: {e}")),
        }
        run(&path)
    })
    .unwrap();
    assert_eq!(
        on_this_thread, in_fallback,
        "ring (or this thread's backend) vs fallback"
    );
}
