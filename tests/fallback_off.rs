//! `URING_OS=off`: every call runs as the direct syscall and gives the same answers, and
//! `status()` and `stats()` say so.
//!
//! The variable is read once per process, at the first call, so this binary holds a single
//! test that sets it before anything else runs.

mod call_cases;
mod common;

use std::fs::File;
use std::io;

use uring_os::{Backend, FallbackReason};

#[test]
fn uring_os_off_runs_direct_syscalls_with_the_same_answers() {
    // SAFETY: the only test of this binary sets the variable first thing, before any thread
    // of ours exists or reads the environment (the harness read its own variables before
    // starting the test).
    unsafe { std::env::set_var("URING_OS", "off") };
    let disabled = Backend::Syscall {
        reason: FallbackReason::Disabled,
    };
    let before = uring_os::stats();
    let status = uring_os::status();
    assert_eq!(status.backend, disabled, "{status:?}");
    assert!(status.syscall_ops.contains(&"pread"), "{status:?}");
    // Other threads too.
    let other = std::thread::spawn(|| uring_os::status().backend)
        .join()
        .unwrap();
    assert_eq!(other, disabled);

    // The same answers: a pread, an open of a missing file, then every case of the table
    // (including the ones that differ on the ring path).
    let file = File::open("Cargo.toml").unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(uring_os::pread(&file, &mut buf, 0).unwrap(), 1);
    assert_eq!(&buf, b"[");
    let missing = uring_os::open("/no/such/file", libc::O_RDONLY, 0).unwrap_err();
    assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    let mut cases = call_cases::all();
    cases.extend(call_cases::nonblocking());
    cases.extend(call_cases::poll_closed_fd());
    let problems = call_cases::run_cases(&cases);
    assert!(
        problems.is_empty(),
        "{} of {} cases differ with URING_OS=off:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );

    // Nothing went through a ring; every call counted as a direct syscall.
    let after = uring_os::stats();
    assert_eq!(after.ops, before.ops, "{after:?}");
    assert_eq!(after.enters, before.enters, "{after:?}");
    assert!(
        after.fallbacks >= before.fallbacks + cases.len() as u64 + 2,
        "fallbacks went from {} to {} for {} cases",
        before.fallbacks,
        after.fallbacks,
        cases.len()
    );
    assert_eq!(uring_os::status().backend, disabled);

    // Without a ring, with_timeout still limits a call that waits on an fd (it waits with
    // poll(2) first), and leaves the pipe unread.
    let (reader, mut writer) = std::io::pipe().unwrap();
    let mut byte = [0u8; 1];
    for call in ["read", "poll"] {
        let start = std::time::Instant::now();
        let res = uring_os::with_timeout(std::time::Duration::from_millis(50), || match call {
            "read" => uring_os::read(&reader, &mut byte).map(drop),
            _ => uring_os::poll(&reader, libc::POLLIN).map(drop),
        });
        let elapsed = start.elapsed();
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::TimedOut, "{call}");
        assert!(
            elapsed >= std::time::Duration::from_millis(45)
                && elapsed < std::time::Duration::from_secs(2),
            "{call} timed out after {elapsed:?}"
        );
    }
    std::io::Write::write_all(&mut writer, b"z").unwrap();
    let in_time = uring_os::with_timeout(std::time::Duration::from_secs(5), || {
        uring_os::read(&reader, &mut byte)
    });
    assert_eq!((in_time.unwrap(), &byte), (1, b"z"));
}
