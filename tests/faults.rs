//! Faults injected around the rings: each must still give the syscall's answer, checked by
//! running differential cases (`tests/differential/`) under the fault.
//!
//! - io_uring refused at setup: a seccomp filter (EPERM, as a container's profile) and
//!   `kernel.io_uring_disabled = 2` (set for a moment in a fork child, restored at once and
//!   again by the parent; skipped where it cannot be written);
//! - `RLIMIT_NOFILE` exhausted when a thread's ring is created;
//! - `RLIMIT_MEMLOCK` of zero;
//! - more completions than the CQ holds: `URING_OS_ENTRIES=8` and thousands of operations
//!   in one scope;
//! - a fork child using its parent's scope, and a vfork-style child (CLONE_VM | CLONE_VFORK,
//!   sharing the parent's memory and thread-locals) calling uring_os.
//!
//! Tests here run one at a time (they change process-wide limits and the sysctl).

#[macro_use]
mod common;
mod differential;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use common::fork::{Report, fork_child, in_child_reporting, prepare_fork};
use common::fresh::{in_fresh_process, is_fresh};
use common::seccomp::refuse_io_uring;
use common::{pipe, skip};
use differential::rng::Settings;
use uring_os::{Backend, FallbackReason};

/// One test at a time: they change limits, the sysctl and what rings exist.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a child running differential cases may take.
const CASES_LIMIT: Duration = Duration::from_secs(120);

/// Runs `seqs` sequence cases and `batches` batch cases (seeds from the settings, offset
/// by `salt` so each fault sees other cases) under `base`; a summary, or the first
/// difference.
fn run_cases(base: &Path, salt: u64, seqs: usize, batches: usize) -> Result<String, String> {
    let settings = Settings::from_env(seqs, 0.02);
    let seeds: Vec<u64> = settings.seeds().iter().map(|s| s ^ salt).collect();
    let seq_seeds = &seeds[..seqs.min(seeds.len())];
    let config = differential::seq::Config {
        socket_timeout_recvs: true,
        zero_length_timed_tcp_recvs: false,
        max_ops: 40,
    };
    let s = differential::run_sequences(seq_seeds, base, &config)?;
    let batch_seeds: Vec<u64> = seeds
        .iter()
        .take(batches)
        .map(|s| s.rotate_left(7))
        .collect();
    let b = differential::run_batches(&batch_seeds, base)?;
    Ok(format!(
        "{} sequences ({} ops) and {} batches ({} ops) gave libc's answers",
        s.cases, s.ops, b.cases, b.ops
    ))
}

/// Whether `backend` is syscalls for the fault's reason (`want`), or because the environment
/// disables io_uring altogether (`URING_OS=off`: the fault cannot show, the answers must
/// still be the syscall's).
fn refused_for(backend: &Backend, want: fn(&FallbackReason) -> bool) -> bool {
    match backend {
        Backend::Syscall { reason } => {
            want(reason) || (common::disabled_by_env() && *reason == FallbackReason::Disabled)
        }
        _ => false,
    }
}

fn backend_text() -> String {
    format!("{:?}", uring_os::status().backend)
}

// ---------------------------------------------------------------------------------------------
// io_uring refused

#[test]
fn seccomp_refusal_gives_the_syscalls_answers() {
    let _serial = serial();
    let base = tempfile::tempdir().unwrap();
    let path = base.path().to_path_buf();
    prepare_fork();
    let got = in_child_reporting(CASES_LIMIT, || {
        if !refuse_io_uring()? {
            return Ok("unsupported".into());
        }
        let backend = uring_os::status().backend;
        ensure!(
            refused_for(&backend, |r| matches!(
                r,
                FallbackReason::PermissionDenied(_)
            )),
            "backend under seccomp: {backend:?}"
        );
        Ok(format!(
            "{}; {backend:?}",
            run_cases(&path, 0x5ECC, 150, 40)?
        ))
    });
    match got {
        Ok(text) if text == "unsupported" => skip("seccomp", "no filter for this architecture"),
        Ok(text) => eprintln!("seccomp: {text}"),
        Err(e) => panic!("under seccomp: {e}"),
    }
}

const SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

#[test]
fn io_uring_disabled_sysctl_gives_the_syscalls_answers() {
    let _serial = serial();
    let Ok(original) = std::fs::read_to_string(SYSCTL) else {
        return skip("io_uring_disabled", format!("{SYSCTL} cannot be read"));
    };
    let original = original.trim().to_string();
    // Writable? Write the same value back.
    if let Err(e) = std::fs::write(SYSCTL, &original) {
        return skip(
            "io_uring_disabled",
            format!("{SYSCTL} cannot be written: {e}"),
        );
    }
    let base = tempfile::tempdir().unwrap();
    let path = base.path().to_path_buf();
    prepare_fork();
    let restore = original.clone();
    let got = in_child_reporting(CASES_LIMIT, move || {
        // Only long enough for one thread's ring setup to be refused (that thread then runs
        // syscalls for good), so other processes on the machine see the sysctl set for as
        // short a time as possible.
        std::fs::write(SYSCTL, "2").map_err(|e| e.to_string())?;
        let (refused_tx, refused_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let backend = uring_os::status().backend;
            let _ = refused_tx.send(());
            let refused = refused_for(&backend, |r| {
                matches!(r, FallbackReason::PermissionDenied(_))
            });
            if !refused {
                return Err(format!("backend with io_uring_disabled = 2: {backend:?}"));
            }
            Ok(format!(
                "{}; {backend:?}",
                run_cases(&path, 0xD15A, 150, 40)?
            ))
        });
        let _ = refused_rx.recv();
        let restored = std::fs::write(SYSCTL, &restore);
        restored.map_err(|e| format!("restoring {SYSCTL}: {e}"))?;
        worker
            .join()
            .map_err(|_| "the thread panicked".to_string())?
    });
    // Restored even if the child died between the two writes.
    let now = std::fs::read_to_string(SYSCTL).unwrap_or_default();
    if now.trim() != original {
        std::fs::write(SYSCTL, &original).expect("restoring the sysctl");
    }
    match got {
        Ok(text) => eprintln!("io_uring_disabled: {text}"),
        Err(e) => panic!("with io_uring_disabled = 2: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Limits

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64) -> Result<u64, String> {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `old` is valid for writes.
    unsafe { libc::getrlimit(resource, &mut old) };
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    };
    // SAFETY: a valid rlimit.
    if unsafe { libc::setrlimit(resource, &new) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(old.rlim_cur)
}

#[test]
fn fd_limit_exhausted_at_ring_setup_gives_the_syscalls_answers() {
    let _serial = serial();
    let base = tempfile::tempdir().unwrap();
    let path = base.path().to_path_buf();
    prepare_fork();
    let got = in_child_reporting(CASES_LIMIT, || {
        let in_use = common::fd_count() as u64;
        set_limit(libc::RLIMIT_NOFILE, in_use + 200)?;
        // Fill every fd number up to the limit.
        let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
        let mut fillers = Vec::new();
        while let Ok(fd) = null.try_clone() {
            fillers.push(fd);
        }
        // A new thread's ring cannot be made (io_uring_setup needs an fd number); its calls
        // run as syscalls and give their errors, EMFILE included.
        let (backend, open, libc_open) = std::thread::spawn(|| {
            let backend = uring_os::status().backend;
            let open = uring_os::open("/dev/null", libc::O_RDONLY | libc::O_CLOEXEC, 0)
                .err()
                .and_then(|e| e.raw_os_error());
            // SAFETY: a valid path; closed below if it opened.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            let libc_open = common::sys::last_errno();
            if fd >= 0 {
                // SAFETY: just opened.
                unsafe { libc::close(fd) };
            }
            (backend, open, libc_open)
        })
        .join()
        .map_err(|_| "the thread panicked")?;
        ensure!(
            refused_for(&backend, |r| matches!(
                r,
                FallbackReason::SetupFailed {
                    errno: libc::EMFILE,
                    ..
                }
            )),
            "backend with no fd free: {backend:?}"
        );
        ensure!(
            open == Some(libc_open),
            "open: uring_os {open:?}, libc {libc_open}"
        );
        // Fds free again: a thread whose ring setup failed runs the cases as syscalls.
        drop(fillers);
        let report = std::thread::spawn(move || {
            // This thread takes the fd limit's failure too: it starts with no fd free.
            let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            let mut fillers = Vec::new();
            while let Ok(fd) = null.try_clone() {
                fillers.push(fd);
            }
            let backend = uring_os::status().backend;
            drop(fillers);
            drop(null);
            Ok::<_, String>(format!(
                "{}; {backend:?}",
                run_cases(&path, 0xF11E, 150, 40)?
            ))
        })
        .join()
        .map_err(|_| "the thread panicked")??;
        Ok(format!("open with no fd free: EMFILE like libc; {report}"))
    });
    match got {
        Ok(text) => eprintln!("RLIMIT_NOFILE: {text}"),
        Err(e) => panic!("with the fd limit reached: {e}"),
    }
}

#[test]
fn zero_memlock_limit_gives_the_syscalls_answers() {
    let _serial = serial();
    let base = tempfile::tempdir().unwrap();
    let path = base.path().to_path_buf();
    prepare_fork();
    let got = in_child_reporting(CASES_LIMIT, || {
        set_limit(libc::RLIMIT_MEMLOCK, 0)?;
        std::thread::spawn(move || {
            let backend = backend_text();
            Ok::<_, String>(format!("{}; {backend}", run_cases(&path, 0x3E31, 150, 40)?))
        })
        .join()
        .map_err(|_| "the thread panicked".to_string())?
    });
    match got {
        Ok(text) => eprintln!("RLIMIT_MEMLOCK = 0: {text}"),
        Err(e) => panic!("with RLIMIT_MEMLOCK = 0: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// More completions than the CQ holds

#[test]
fn eight_entry_rings_with_thousands_of_operations_per_scope() {
    let _serial = serial();
    in_fresh_process("fresh_eight_entries", &[("URING_OS_ENTRIES", "8")]);
}

#[test]
#[ignore = "helper: run in a fresh process by eight_entry_rings_with_thousands_of_operations_per_scope"]
fn fresh_eight_entries() {
    if !is_fresh("fresh_eight_entries") {
        return;
    }
    match uring_os::status().backend {
        Backend::IoUring { entries, .. } => assert_eq!(entries, 8),
        other => return common::fresh::fresh_skip(format!("no ring: {other:?}")),
    }
    // 6,000 operations in one scope: preads of a pattern, pwrites of records, nops, all in
    // flight together as far as the scope lets them.
    let (_dir, file) = common::pattern_file(1 << 20);
    let out = tempfile::tempfile().unwrap();
    let n = 2000;
    let mut bufs = vec![[0u8; 64]; n];
    let records: Vec<[u8; 8]> = (0..n).map(common::record).collect();
    let (reads, writes, nops) = uring_os::batch(|s| {
        let reads: Vec<_> = bufs
            .iter_mut()
            .enumerate()
            .map(|(i, b)| s.pread(&file, b, (i * 509) as u64))
            .collect();
        let writes: Vec<_> = records
            .iter()
            .enumerate()
            .map(|(i, r)| s.pwrite(&out, r, i as u64 * 8))
            .collect();
        let nops: Vec<_> = (0..n).map(|_| s.nop()).collect();
        let count = |v: Vec<std::io::Result<usize>>| v.into_iter().filter(|r| r.is_ok()).count();
        // Waited last to first: everything else completes meanwhile.
        let nops = nops
            .into_iter()
            .rev()
            .map(|h| h.wait())
            .filter(|r| r.is_ok())
            .count();
        let writes: Vec<_> = writes.into_iter().rev().map(|h| h.wait()).collect();
        let reads: Vec<_> = reads.into_iter().rev().map(|h| h.wait()).collect();
        (count(reads), count(writes), nops)
    });
    assert_eq!((reads, writes, nops), (n, n, n));
    for (i, b) in bufs.iter().enumerate() {
        assert!(common::is_pattern(b, (i * 509) as u64), "read {i}");
    }
    let mut content = vec![0u8; n * 8];
    std::os::unix::fs::FileExt::read_exact_at(&out, &mut content, 0).unwrap();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(&content[i * 8..i * 8 + 8], r, "record {i}");
    }
    // And batch cases of every shape on the small ring.
    let base = tempfile::tempdir().unwrap();
    let report = run_cases(base.path(), 0xE8, 20, 60).unwrap_or_else(|e| panic!("{e}"));
    println!("entries = 8: {report}");
}

// ---------------------------------------------------------------------------------------------
// Broken rings: a fork child using its parent's scope, a vfork child

#[test]
fn a_fork_child_using_its_parents_scope_gets_syscall_answers() {
    let _serial = serial();
    let (reader, writer) = pipe();
    let file = tempfile::tempfile().unwrap();
    let report = Report::new();
    let mut parent_buf = [0u8; 5];
    let (parent_read, child) = uring_os::batch(|s| {
        // In flight in the parent's ring when the child is made.
        let read = s.read(&reader, &mut parent_buf);
        s.submit();
        prepare_fork();
        let pid = fork_child(|| {
            // The child queues on its parent's scope and waits: its operations run as
            // syscalls (the parent's ring is out of its reach).
            let w = s.pwrite(&file, b"child", 0);
            let n = s.nop();
            let outcome = match (w.wait(), n.wait()) {
                (Ok(5), Ok(())) => Ok("pwrite and nop on the parent's scope: right".to_string()),
                other => Err(format!("child: {other:?}")),
            };
            report.send(outcome)
        });
        let child = report.collect_borrowed(pid, Duration::from_secs(20));
        // The parent's read is still its own: the data goes to it.
        common::sys::write(&writer, b"hello").unwrap();
        (read.wait(), child)
    });
    assert_eq!(parent_read.unwrap(), 5);
    assert_eq!(&parent_buf, b"hello");
    let child = child.unwrap_or_else(|e| panic!("{e}"));
    let mut content = [0u8; 5];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut content, 0).unwrap();
    assert_eq!(&content, b"child");
    eprintln!("fork child on its parent's scope: {child}");
}

/// What a vfork-style child saw, written into memory it shares with its parent.
#[derive(Default)]
struct VforkResults {
    write: Option<std::io::Result<usize>>,
    nop: Option<std::io::Result<()>>,
    panicked: bool,
}

struct VforkArgs {
    fd: i32,
    results: VforkResults,
}

extern "C" fn vfork_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: the parent passed a VforkArgs it does not touch until this child has exited.
    let args = unsafe { &mut *arg.cast::<VforkArgs>() };
    let fd = args.fd;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the parent's pipe end, open for the child's whole life.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        (uring_os::write(fd, b"v"), uring_os::nop())
    }));
    match res {
        Ok((w, n)) => {
            args.results.write = Some(w);
            args.results.nop = Some(n);
        }
        Err(_) => args.results.panicked = true,
    }
    // SAFETY: ends the child without running anything of the parent's.
    unsafe { libc::_exit(0) }
}

#[test]
fn a_vfork_child_calling_uring_os() {
    let _serial = serial();
    let outcome = common::within(Duration::from_secs(30), "the vfork test", || {
        common::warm_up();
        assert!(uring_os::nop().is_ok());
        let (reader, writer) = pipe();
        let mut args = VforkArgs {
            fd: writer.as_raw_fd(),
            results: VforkResults::default(),
        };
        let mut stack = vec![0u8; 1 << 20];
        // SAFETY: the stack is ours and outlives the child (CLONE_VFORK: clone returns once
        // the child has exited); the child shares our memory and thread-locals, as a vfork
        // child does, and only touches `args`.
        let pid = unsafe {
            let top = stack.as_mut_ptr().add(stack.len()) as *mut libc::c_void;
            libc::clone(
                vfork_child,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&raw mut args).cast(),
            )
        };
        assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
        let status = common::fork::wait_child(pid);
        drop(writer);
        let piped = common::read_available(&reader);
        // The parent goes on with its own ring: single calls and a batch.
        let file = tempfile::tempfile().unwrap();
        let after = (
            uring_os::pwrite(&file, b"after", 0).map_err(|e| e.to_string()),
            uring_os::batch(|s| s.pwrite(&file, b"AFTER", 0).wait()).map_err(|e| e.to_string()),
            uring_os::nop().map_err(|e| e.to_string()),
        );
        (status, args.results, piped, after, backend_text())
    });
    let (status, results, piped, after, backend) = outcome;
    eprintln!(
        "vfork child: exit {status}, panicked {}, write {:?}, nop {:?}, pipe got {:?}; parent afterwards: {after:?}, {backend}",
        results.panicked,
        results.write,
        results.nop,
        String::from_utf8_lossy(&piped)
    );
    assert_eq!(status, 0);
    assert!(!results.panicked, "uring_os panicked in a vfork child");
    assert!(
        matches!(results.write, Some(Ok(1))),
        "the child's write: {:?}",
        results.write
    );
    assert_eq!(piped, b"v", "what the child wrote");
    assert_eq!(
        after,
        (Ok(5), Ok(5), Ok(())),
        "the parent's calls afterwards"
    );
}
