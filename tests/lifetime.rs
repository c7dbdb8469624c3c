//! Lifetimes: no operation outlives the buffer it writes to, and no ring fd outlives exec.
//!
//! A scope panics at every point of its life — before it submits, after, inside `link`,
//! inside a `window`, right after a handle's wait with the rest in flight — and a thread
//! panics inside a scope with reads in flight; handles are leaked with `mem::forget`. Each
//! read reads an empty pipe into a canary buffer. After the scope returns (normally or by
//! unwinding), known bytes are written into every pipe: the canaries must not change and
//! the pipes must still hold every byte (nothing of the scope reads them any more).
//!
//! Exec: after calls on several threads (rings set up, one with a read in flight), a program
//! exec'd by `Command` and by a fork child lists its fds: none is an io_uring.

mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::{pipe, read_available, volatile_copy, within};

const CANARY: u8 = 0xC5;
const LATE: &[u8] = b"written after the scope";

/// `n` empty pipes and a canary buffer for each.
fn fixtures(n: usize) -> (Vec<(OwnedFd, OwnedFd)>, Vec<Vec<u8>>) {
    ((0..n).map(|_| pipe()).collect(), vec![vec![CANARY; 64]; n])
}

/// After the scope: writes [`LATE`] into every pipe, lets any deferred work run, and checks
/// that the buffers `untouched` still hold their canary and that every pipe holds exactly
/// what was written.
fn check_nothing_outlives(
    what: &str,
    pipes: &[(OwnedFd, OwnedFd)],
    bufs: &[Vec<u8>],
    untouched: &[usize],
) {
    for (_, w) in pipes {
        assert_eq!(common::sys::write(w, LATE), Ok(LATE.len()));
    }
    for _ in 0..3 {
        let _ = uring_os::nop();
    }
    thread::sleep(Duration::from_millis(30));
    let _ = uring_os::nop();
    for &i in untouched {
        assert!(
            volatile_copy(&bufs[i]).iter().all(|&b| b == CANARY),
            "{what}: buffer {i} changed after its scope ended"
        );
    }
    for (i, (r, _)) in pipes.iter().enumerate() {
        assert_eq!(
            read_available(r),
            LATE,
            "{what}: pipe {i} lost bytes written after the scope"
        );
    }
}

#[test]
fn panic_before_submit_cancels_queued_reads() {
    let (pipes, mut bufs) = fixtures(8);
    let p: Vec<_> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    let mut moved = std::mem::take(&mut bufs);
    let bufs = within(Duration::from_secs(20), "panic before submit", move || {
        common::warm_up();
        let r = catch_unwind(AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                for (b, r) in moved.iter_mut().zip(&p) {
                    let _ = s.read(r, b);
                }
                panic!("before submit");
            })
        }));
        assert!(r.is_err());
        moved
    });
    check_nothing_outlives("before submit", &pipes, &bufs, &[0, 1, 2, 3, 4, 5, 6, 7]);
}

/// The scenarios that share one shape: reads of empty pipes queued into `bufs`, then
/// `after` runs inside the scope (and panics).
fn scenario(
    what: &'static str,
    n: usize,
    after: fn(&uring_os::Batch<'_, '_>, Vec<uring_os::Handle<'_, usize>>),
) {
    let (pipes, bufs) = fixtures(n);
    let readers: Vec<OwnedFd> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    let bufs = within(Duration::from_secs(20), what, move || {
        common::warm_up();
        let mut bufs = bufs;
        let r = catch_unwind(AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                let handles: Vec<_> = bufs
                    .iter_mut()
                    .zip(&readers)
                    .map(|(b, r)| s.read(r, b))
                    .collect();
                after(s, handles);
            })
        }));
        assert!(r.is_err(), "{what}: no panic");
        bufs
    });
    check_nothing_outlives(what, &pipes, &bufs, &(0..n).collect::<Vec<_>>());
}

#[test]
fn panic_after_submit_cancels_reads_in_flight() {
    scenario("after submit", 8, |s, handles| {
        s.submit();
        drop(handles);
        panic!("after submit");
    });
    // More than a ring holds, in flight.
    scenario("after submit, 300 reads", 300, |s, _| {
        s.submit();
        panic!("after submit");
    });
}

#[test]
fn panic_inside_link_cancels_the_chain() {
    let (pipes, bufs) = fixtures(6);
    let readers: Vec<OwnedFd> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    let bufs = within(Duration::from_secs(20), "inside link", move || {
        common::warm_up();
        let mut bufs = bufs;
        let r = catch_unwind(AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                let (first, rest) = bufs.split_at_mut(3);
                // A chain already started, then one that panics half-built.
                s.link(|s| {
                    for (b, r) in first.iter_mut().zip(&readers) {
                        let _ = s.read(r, b);
                    }
                });
                s.submit();
                s.link(|s| {
                    for (b, r) in rest.iter_mut().zip(&readers[3..]) {
                        let _ = s.read(r, b);
                    }
                    panic!("inside link");
                });
            })
        }));
        assert!(r.is_err());
        bufs
    });
    check_nothing_outlives("inside link", &pipes, &bufs, &[0, 1, 2, 3, 4, 5]);
}

#[test]
fn panic_inside_window_cancels_the_rest() {
    let (pipes, bufs) = fixtures(10);
    // The first four pipes have data: the window yields those, then the closure panics
    // with the other reads in flight.
    for (_, w) in &pipes[..4] {
        common::sys::write(w, b"data").unwrap();
    }
    let readers: Vec<OwnedFd> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    let bufs = within(Duration::from_secs(20), "inside window", move || {
        common::warm_up();
        let mut bufs = bufs;
        let r = catch_unwind(AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                let reads = bufs
                    .iter_mut()
                    .zip(&readers)
                    .map(|(b, r)| s.read(r, &mut b[..4]));
                for (taken, (_, res)) in s.window(8, reads).enumerate() {
                    assert_eq!(res.unwrap(), 4);
                    if taken == 3 {
                        panic!("inside window");
                    }
                }
            })
        }));
        assert!(r.is_err());
        bufs
    });
    for b in &bufs[..4] {
        assert_eq!(&b[..4], b"data");
    }
    check_nothing_outlives("inside window", &pipes, &bufs, &[4, 5, 6, 7, 8, 9]);
}

#[test]
fn panic_after_a_handles_wait_cancels_the_rest() {
    let (pipes, bufs) = fixtures(5);
    common::sys::write(&pipes[0].1, b"first").unwrap();
    let readers: Vec<OwnedFd> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    // A writer feeds pipe 1 while its read is waited.
    let feed = pipes[1].1.try_clone().unwrap();
    let bufs = within(Duration::from_secs(20), "in a handle's wait", move || {
        common::warm_up();
        let mut bufs = bufs;
        let r = catch_unwind(AssertUnwindSafe(|| {
            uring_os::batch(|s| {
                let mut handles: Vec<_> = bufs
                    .iter_mut()
                    .zip(&readers)
                    .map(|(b, r)| s.read(r, &mut b[..5]))
                    .collect();
                let rest = handles.split_off(2);
                let mut it = handles.into_iter();
                assert_eq!(it.next().unwrap().wait().unwrap(), 5);
                let feeder = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(50));
                    common::sys::write(&feed, b"later").unwrap();
                });
                assert_eq!(it.next().unwrap().wait().unwrap(), 5);
                feeder.join().unwrap();
                drop(rest);
                panic!("right after a wait, three reads in flight");
            })
        }));
        assert!(r.is_err());
        bufs
    });
    assert_eq!(&bufs[0][..5], b"first");
    assert_eq!(&bufs[1][..5], b"later");
    check_nothing_outlives("in a handle's wait", &pipes, &bufs, &[2, 3, 4]);
}

/// Leaks a handle with `mem::forget` (Handle has no `Drop` today; leaking must stay sound
/// should it get one).
#[allow(clippy::forget_non_drop, reason = "leaks on purpose")]
fn leak<T>(handle: uring_os::Handle<'_, T>) {
    std::mem::forget(handle);
}

#[test]
fn leaked_handles_complete_before_the_scope_returns() {
    let (pipes, bufs) = fixtures(6);
    let readers: Vec<OwnedFd> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    let writers: Vec<OwnedFd> = pipes.iter().map(|(_, w)| w.try_clone().unwrap()).collect();
    let bufs = within(Duration::from_secs(20), "leaked handles", move || {
        common::warm_up();
        let mut bufs = bufs;
        uring_os::batch(|s| {
            for (b, r) in bufs.iter_mut().zip(&readers) {
                leak(s.read(r, &mut b[..4]));
            }
            s.submit();
            // The data comes later; the scope must wait for it before returning.
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                for w in &writers {
                    common::sys::write(w, b"feed").unwrap();
                }
            });
        });
        bufs
    });
    for b in &bufs {
        assert_eq!(
            &b[..4],
            b"feed",
            "a leaked read completed before the scope returned"
        );
    }
    // The rest of each buffer was never read into, and nothing reads the pipes now.
    let untouched: Vec<Vec<u8>> = bufs.iter().map(|b| b[4..].to_vec()).collect();
    check_nothing_outlives("leaked handles", &pipes, &untouched, &[0, 1, 2, 3, 4, 5]);
    for b in &bufs {
        assert_eq!(&volatile_copy(b)[..4], b"feed");
    }
}

#[test]
fn a_thread_that_panics_in_a_scope_with_reads_in_flight() {
    let (pipes, mut bufs) = fixtures(8);
    let readers: Vec<OwnedFd> = pipes.iter().map(|(r, _)| r.try_clone().unwrap()).collect();
    let joined = within(
        Duration::from_secs(20),
        "a thread panicking in a scope",
        move || {
            thread::scope(|t| {
                t.spawn(|| {
                    common::warm_up();
                    uring_os::batch(|s| {
                        for (b, r) in bufs.iter_mut().zip(&readers) {
                            let _ = s.read(r, b);
                        }
                        s.submit();
                        panic!("the thread dies inside its scope");
                    });
                })
                .join()
                .is_err()
            });
            bufs
        },
    );
    check_nothing_outlives(
        "a thread's scope",
        &pipes,
        &joined,
        &[0, 1, 2, 3, 4, 5, 6, 7],
    );
}

// ---------------------------------------------------------------------------------------------
// Exec

/// The fds of this process that are io_uring instances.
fn io_uring_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            target
                .to_string_lossy()
                .contains("io_uring")
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

fn listing_has_io_uring(listing: &str) -> bool {
    listing.lines().any(|l| l.contains("io_uring"))
}

#[test]
fn no_ring_fd_crosses_exec() {
    if !std::path::Path::new("/bin/ls").exists() {
        return common::skip("no_ring_fd_crosses_exec", "no /bin/ls");
    }
    common::warm_up();
    // A low-level ring with a visible fd: the kernel makes it close-on-exec; the sanity
    // check that the listing would show a ring fd.
    let ring = uring_os::ring::Ring::new(8).unwrap();
    assert!(
        !io_uring_fds().is_empty(),
        "the low-level ring's fd is listed here"
    );
    // Other threads with rings, one with a read in flight in a batch.
    let (reader, writer) = pipe();
    let blocked = thread::spawn(move || {
        common::warm_up();
        let mut buf = [0u8; 4];
        uring_os::batch(|s| s.read(&reader, &mut buf).wait()).map(|n| buf[..n].to_vec())
    });
    let idle: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(|| {
                common::warm_up();
                thread::sleep(Duration::from_millis(300));
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(50));

    // Through Command (posix_spawn or fork + exec).
    let out = Command::new("/bin/ls")
        .args(["-l", "/proc/self/fd"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ls: {listing}");
    assert!(
        !listing_has_io_uring(&listing),
        "an io_uring fd crossed exec:\n{listing}"
    );

    // Through a fork child that makes calls of its own (its own ring) and then execs.
    let (out_r, out_w) = pipe();
    let out_fd = std::os::fd::AsRawFd::as_raw_fd(&out_w);
    common::fork::prepare_fork();
    let pid = common::fork::fork_child(|| {
        let _ = uring_os::nop();
        let _ = uring_os::nop();
        let _ = uring_os::batch(|s| s.nop().wait());
        // SAFETY: dup2 onto stdout, then execv with NUL-terminated strings; on failure the
        // child exits.
        unsafe {
            libc::dup2(out_fd, 1);
            let argv = [
                c"ls".as_ptr(),
                c"-l".as_ptr(),
                c"/proc/self/fd".as_ptr(),
                std::ptr::null(),
            ];
            libc::execv(c"/bin/ls".as_ptr(), argv.as_ptr());
        }
        127
    });
    drop(out_w);
    assert_eq!(common::fork::wait_child(pid), 0, "the exec'd ls");
    let listing = String::from_utf8_lossy(&read_available(&out_r)).into_owned();
    assert!(listing.contains("->"), "ls -l output: {listing}");
    assert!(
        !listing_has_io_uring(&listing),
        "an io_uring fd crossed exec from a fork child:\n{listing}"
    );

    common::sys::write(&writer, b"done").unwrap();
    assert_eq!(blocked.join().unwrap().unwrap(), b"done");
    for t in idle {
        t.join().unwrap();
    }
    drop(ring);
    let _ = writer.as_fd();
}
