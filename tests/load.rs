//! Load, bounded in time, with SIGALRM every 100 µs throughout (a counting handler installed
//! with `SA_RESTART`, so std's calls keep working and no call may give `EINTR`, as none of
//! these syscalls would):
//!
//! - 64 threads for `URING_OS_LOAD_SECS` (default 10) mixing single calls and batches on
//!   shared files and their own pipes, every result checked, the shared file checksummed at
//!   the end against what each thread last wrote;
//! - `URING_OS_LOAD_THREADS` (default 10,000) short-lived threads, a few calls each;
//! - `URING_OS_LOAD_FORKS` (default 1,000) fork children making calls while other threads
//!   use their rings.
//!
//! Each prints ops, wrong results (must be 0), interruptions, signals, and fds and RSS
//! before and after; it fails on a wrong result, an fd leak or RSS growth beyond 256 MiB.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{fd_count, is_pattern, pattern_bytes, pipe, record};
use uring_os::CWD;

static SERIAL: Mutex<()> = Mutex::new(());
static SIGNALS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_alarm(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// SIGALRM every 100 µs while it lives.
struct Alarm;

impl Alarm {
    fn start() -> Alarm {
        // SAFETY: all-zero is a valid sigaction, filled below.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: a valid sigaction; the handler only touches an atomic.
        assert_eq!(
            unsafe { libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) },
            0
        );
        // URING_OS_LOAD_ALARM_US sets the period; 0 turns the timer off (to compare).
        let every = env("URING_OS_LOAD_ALARM_US", 100);
        set_timer(Duration::from_micros(every));
        Alarm
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        set_timer(Duration::ZERO);
    }
}

fn set_timer(every: Duration) {
    let tv = libc::timeval {
        tv_sec: every.as_secs() as libc::time_t,
        tv_usec: every.subsec_micros() as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: a valid itimerval.
    assert_eq!(
        unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) },
        0
    );
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// fds and RSS before a load, compared after it.
struct Census {
    what: &'static str,
    fds: usize,
    rss: u64,
    signals: u64,
    start: Instant,
}

impl Census {
    fn take(what: &'static str) -> Census {
        Census {
            what,
            fds: fd_count(),
            rss: rss_kib(),
            signals: SIGNALS.load(Ordering::Relaxed),
            start: Instant::now(),
        }
    }

    fn check(self, counts: &Counts) {
        let (ops, wrong, interrupted) = (counts.ops, counts.wrong, counts.interrupted);
        for e in &counts.examples {
            eprintln!("{}: wrong: {e}", self.what);
        }
        // Give exiting threads' rings to the reaper first.
        thread::sleep(Duration::from_millis(200));
        let (fds, rss) = (fd_count(), rss_kib());
        eprintln!(
            "{}: {ops} ops in {:.1?}, {wrong} wrong, {interrupted} interrupted, {} SIGALRMs; fds {} -> {fds}, RSS {} -> {rss} KiB",
            self.what,
            self.start.elapsed(),
            SIGNALS.load(Ordering::Relaxed) - self.signals,
            self.fds,
            self.rss
        );
        assert_eq!(wrong, 0, "{}: wrong results", self.what);
        assert_eq!(
            interrupted, 0,
            "{}: EINTR where the syscall restarts (SA_RESTART)",
            self.what
        );
        assert_eq!(fds, self.fds, "{}: fds leaked", self.what);
        assert!(
            rss < self.rss + 256 * 1024,
            "{}: RSS grew from {} to {rss} KiB",
            self.what,
            self.rss
        );
    }
}

/// The shared files: a read-only pattern of 1 MiB, and one each thread writes its region of.
struct Files {
    _dir: tempfile::TempDir,
    pattern: PathBuf,
    read: std::fs::File,
    write: std::fs::File,
}

const PATTERN_LEN: usize = 1 << 20;
const REGION: u64 = 4096;

fn files(regions: u64) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("pattern");
    std::fs::write(&pattern, pattern_bytes(PATTERN_LEN)).unwrap();
    let read = std::fs::File::open(&pattern).unwrap();
    let write = common::rw_file(&dir.path().join("shared"));
    write.set_len(regions * REGION).unwrap();
    Files {
        _dir: dir,
        pattern,
        read,
        write,
    }
}

#[derive(Default)]
struct Counts {
    ops: u64,
    wrong: u64,
    interrupted: u64,
    /// The first wrong results, described.
    examples: Vec<String>,
}

impl Counts {
    #[track_caller]
    fn check<T: std::fmt::Debug>(&mut self, res: std::io::Result<T>, ok: impl FnOnce(&T) -> bool) {
        self.ops += 1;
        match res {
            Ok(v) if ok(&v) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.interrupted += 1,
            other => {
                self.wrong += 1;
                if self.examples.len() < 5 {
                    let at = std::panic::Location::caller();
                    let shown = format!("{other:?}");
                    self.examples.push(format!(
                        "line {}: {}",
                        at.line(),
                        &shown[..shown.len().min(200)]
                    ));
                }
            }
        }
    }

    fn add(&mut self, other: Counts) {
        self.ops += other.ops;
        self.wrong += other.wrong;
        self.interrupted += other.interrupted;
        let room = 10usize.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

/// One thread's mix, until `until`: what it last wrote to each 8-byte slot of its region.
fn mix(t: u64, files: &Files, until: Instant) -> (Counts, HashMap<u64, [u8; 8]>) {
    let mut c = Counts::default();
    let mut last = HashMap::new();
    let (pr, pw) = pipe();
    let mut rng = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let base = t * REGION;
    let mut seq = 0u64;
    while Instant::now() < until {
        seq += 1;
        let off = next() % (PATTERN_LEN as u64 - 256);
        match seq % 8 {
            0 => {
                let mut buf = [0u8; 256];
                let res = uring_os::pread(&files.read, &mut buf, off);
                c.check(res, |&n| n == 256 && is_pattern(&buf, off));
            }
            1 | 2 => {
                let slot = next() % (REGION / 8);
                let rec = record((t << 32 | seq) as usize);
                c.check(
                    uring_os::pwrite(&files.write, &rec, base + slot * 8),
                    |&n| n == 8,
                );
                last.insert(slot, rec);
                let mut back = [0u8; 8];
                let res = uring_os::pread(&files.write, &mut back, base + slot * 8);
                c.check(res, |&n| n == 8 && back == rec);
            }
            3 => {
                let mut bufs = [[0u8; 128]; 8];
                let offs: Vec<u64> = (0..8)
                    .map(|_| next() % (PATTERN_LEN as u64 - 128))
                    .collect();
                let slot = next() % (REGION / 8);
                let rec = record((t << 32 | seq | 1 << 31) as usize);
                let (reads, wrote) = uring_os::batch(|s| {
                    let reads: Vec<_> = bufs
                        .iter_mut()
                        .zip(&offs)
                        .map(|(b, &o)| s.pread(&files.read, b, o))
                        .collect();
                    let w = s.pwrite(&files.write, &rec, base + slot * 8);
                    (
                        reads.into_iter().map(|h| h.wait()).collect::<Vec<_>>(),
                        w.wait(),
                    )
                });
                for ((res, b), &o) in reads.into_iter().zip(&bufs).zip(&offs) {
                    c.check(res, |&n| n == 128 && is_pattern(b, o));
                }
                c.check(wrote, |&n| n == 8);
                last.insert(slot, rec);
            }
            4 => {
                let msg = record(seq as usize);
                c.check(uring_os::write(&pw, &msg), |&n| n == 8);
                let mut got = [0u8; 8];
                let res = uring_os::read(&pr, &mut got);
                c.check(res, |&n| n == 8 && got == msg);
            }
            5 => {
                let res = uring_os::statx(CWD, &files.pattern, 0, libc::STATX_SIZE);
                c.check(res, |s| s.stx_size == PATTERN_LEN as u64);
            }
            6 => match uring_os::open(&files.pattern, libc::O_RDONLY | libc::O_CLOEXEC, 0) {
                Ok(fd) => {
                    c.ops += 1;
                    let mut buf = [0u8; 100];
                    let res = uring_os::read(&fd, &mut buf);
                    c.check(res, |&n| n == 100 && is_pattern(&buf, 0));
                    c.check(uring_os::close(fd), |_| true);
                }
                Err(e) => c.check(Err::<(), _>(e), |_| true),
            },
            _ => c.check(uring_os::nop(), |_| true),
        }
    }
    (c, last)
}

#[test]
fn sixty_four_threads_mixing_calls_on_shared_files() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let threads = 64u64;
    let secs = env("URING_OS_LOAD_SECS", 10);
    let files = Arc::new(files(threads));
    let alarm = Alarm::start();
    let census = Census::take("64 threads");
    let until = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let files = files.clone();
            thread::spawn(move || mix(t, &files, until))
        })
        .collect();
    let mut total = Counts::default();
    let mut wrong_slots = 0;
    let mut checksum = 0xcbf2_9ce4_8422_2325u64;
    for (t, h) in handles.into_iter().enumerate() {
        let (c, last) = h.join().unwrap();
        total.add(c);
        // The shared file holds, in this thread's region, what it wrote last.
        let mut region = vec![0u8; REGION as usize];
        files
            .write
            .read_exact_at(&mut region, t as u64 * REGION)
            .unwrap();
        for (slot, rec) in last {
            if region[slot as usize * 8..slot as usize * 8 + 8] != rec {
                wrong_slots += 1;
            }
        }
        checksum = region.iter().fold(checksum, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    }
    drop(alarm);
    eprintln!(
        "64 threads: shared file checksum {checksum:016x}, {wrong_slots} slots not as last written"
    );
    assert_eq!(wrong_slots, 0);
    census.check(&total);
}

#[test]
fn ten_thousand_short_lived_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let count = env("URING_OS_LOAD_THREADS", 10_000);
    let files = Arc::new(files(1));
    let alarm = Alarm::start();
    let census = Census::take("short-lived threads");
    let mut total = Counts::default();
    let wave = 16;
    for first in (0..count).step_by(wave) {
        let handles: Vec<_> = (first..(first + wave as u64).min(count))
            .map(|i| {
                let files = files.clone();
                thread::spawn(move || {
                    let mut c = Counts::default();
                    let off = (i * 4099) % (PATTERN_LEN as u64 - 64);
                    let mut buf = [0u8; 64];
                    let res = uring_os::pread(&files.read, &mut buf, off);
                    c.check(res, |&n| n == 64 && is_pattern(&buf, off));
                    let rec = record(i as usize);
                    let slot = (i % (REGION / 8)) * 8;
                    c.check(uring_os::pwrite(&files.write, &rec, slot), |&n| n == 8);
                    c.check(uring_os::nop(), |_| true);
                    c
                })
            })
            .collect();
        for h in handles {
            total.add(h.join().unwrap());
        }
    }
    drop(alarm);
    census.check(&total);
}

/// Waits for child `pid`: its exit code, or, if it has not exited within `limit`, where
/// each of its threads is (comm, wchan, kernel stack), before it is killed.
fn wait_or_describe(pid: libc::pid_t, limit: Duration) -> Result<i32, String> {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: `status` is valid for writes.
        let res = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if res == pid {
            return Ok(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
        if Instant::now() >= deadline {
            let mut text = String::new();
            if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                for t in tasks.flatten() {
                    let read =
                        |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
                    text += &format!(
                        "[{} {} {}] {}",
                        read("comm").trim(),
                        read("wchan").trim(),
                        read("syscall").split_whitespace().next().unwrap_or(""),
                        read("stack").replace('\n', " | ")
                    );
                }
            }
            // SAFETY: our own child, not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            common::fork::wait_child(pid);
            return Err(format!("hung after {limit:?}: {text}"));
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_thousand_forks_while_other_threads_use_their_rings() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let forks = env("URING_OS_LOAD_FORKS", 1000);
    let files = Arc::new(files(1));
    let alarm = Alarm::start();
    let census = Census::take("forks");
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (files, stop) = (files.clone(), stop.clone());
            thread::spawn(move || {
                let mut total = Counts::default();
                while !stop.load(Ordering::Relaxed) {
                    let (c, _) = mix(100 + t, &files, Instant::now() + Duration::from_millis(20));
                    total.add(c);
                }
                total
            })
        })
        .collect();
    let mut failed = Vec::new();
    for i in 0..forks {
        let w = &files.write;
        let pid = common::fork::fork_child(|| {
            let rec = record(i as usize);
            let off = (i % (REGION / 8)) * 8;
            let mut back = [0u8; 8];
            match (
                uring_os::pwrite(w, &rec, off),
                uring_os::pread(w, &mut back, off),
                uring_os::nop(),
            ) {
                (Ok(8), Ok(8), Ok(())) if back == rec => 0,
                _ => 1,
            }
        });
        match wait_or_describe(pid, Duration::from_secs(10)) {
            Ok(0) => {}
            other => failed.push((i, other)),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = Counts::default();
    for w in workers {
        total.add(w.join().unwrap());
    }
    drop(alarm);
    eprintln!(
        "forks: {forks} children, {} failed or hung: {failed:?}",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "children that failed (exit 1) or hung (None): {failed:?}"
    );
    total.ops += forks * 3;
    census.check(&total);
}
