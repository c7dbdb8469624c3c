//! Differential fuzzing against libc (see `tests/differential/`): thousands of seeded cases
//! in CI, more with `URING_OS_FUZZ_CASES=N`; a difference prints the case and how to replay
//! it (`URING_OS_FUZZ_REPLAY=<seed>`).

#[macro_use]
mod common;
mod differential;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use differential::rng::Settings;
use differential::seq;

/// Whether the generator draws blocking recvs on empty sockets with `SO_RCVTIMEO`, which
/// must give EAGAIN after the timeout through uring_os as through recv(2). On unless
/// `URING_OS_FUZZ_SO_RCVTIMEO=0`. (Before main's fix uring_os::recv ignored the socket's
/// timeout and waited until data came: the run's watchdog then sent a byte, so the case
/// failed instead of hanging.)
fn socket_timeout_recvs() -> bool {
    std::env::var("URING_OS_FUZZ_SO_RCVTIMEO").map_or(true, |v| v != "0")
}

/// Whether those include zero-length recvs on TCP, where recv(2) waits for the timeout and
/// gives 0 and uring_os gives EAGAIN: off unless `URING_OS_FUZZ_ZERO_LENGTH_TIMED_TCP=1`
/// (a known difference, reported to be fixed).
fn zero_length_timed_tcp_recvs() -> bool {
    std::env::var("URING_OS_FUZZ_ZERO_LENGTH_TIMED_TCP").is_ok_and(|v| v == "1")
}

/// The suites compare open fd numbers: one runs at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` on a thread; if it has not finished within `limit`, fails with what the run was
/// doing (a call that blocks where libc's did not).
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            worker.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let now = seq::NOW.lock().unwrap_or_else(|e| e.into_inner()).clone();
            panic!("the run did not finish within {limit:?}; it was at: {now}");
        }
    }
}

#[test]
fn sequences_match_libc() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let settings = Settings::from_env(1500, 0.6);
    let seeds = settings.seeds();
    let config = seq::Config {
        socket_timeout_recvs: socket_timeout_recvs(),
        zero_length_timed_tcp_recvs: zero_length_timed_tcp_recvs(),
        max_ops: 60,
    };
    let base = tempfile::tempdir().unwrap();
    let path = base.path().to_path_buf();
    let start = Instant::now();
    let n = seeds.len();
    let tally = bounded(Duration::from_secs(120 + n as u64 / 10), move || {
        differential::run_sequences(&seeds, &path, &config)
    });
    match tally {
        Ok(t) => {
            eprintln!(
                "sequences: {} cases, {} operations in {:.1?} (seed {:#x}, SO_RCVTIMEO recvs {})",
                t.cases,
                t.ops,
                start.elapsed(),
                settings.base,
                if config.socket_timeout_recvs {
                    "on"
                } else {
                    "off"
                }
            );
            for (class, count) in &t.outcomes {
                eprintln!("  {count:6}  {class}");
            }
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn batches_match_libc_one_by_one() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let settings = Settings::from_env(600, 0.4);
    let seeds = settings.seeds();
    let base = tempfile::tempdir().unwrap();
    let path = base.path().to_path_buf();
    let start = Instant::now();
    let n = seeds.len();
    let tally = bounded(Duration::from_secs(120 + n as u64 / 10), move || {
        differential::run_batches(&seeds, &path)
    });
    match tally {
        Ok(t) => {
            eprintln!(
                "batches: {} cases, {} operations ({} chains, {} operations cancelled, up to {} in one scope) in {:.1?} (seed {:#x})",
                t.cases,
                t.ops,
                t.chains,
                t.cancelled,
                t.max_ops,
                start.elapsed(),
                settings.base
            );
            for (class, count) in &t.outcomes {
                eprintln!("  {count:6}  {class}");
            }
        }
        Err(e) => panic!("{e}"),
    }
}
