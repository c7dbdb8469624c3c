//! The cost of a thread's ring: memory and fds of an idle ring, and the time of a thread that
//! makes one call and exits, against std.
//!
//! `cargo run --release --example thread_cost`
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Barrier};
use std::time::Instant;

fn meminfo(key: &str) -> i64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Kernel + user memory used by `n` idle threads, with or without a ring each, in KiB.
fn idle_threads(n: usize, ring: bool) -> (i64, usize) {
    let barrier = Arc::new(Barrier::new(n + 1));
    let done = Arc::new(Barrier::new(n + 1));
    let before = meminfo("MemAvailable:");
    let fds_before = fd_count();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (b, d) = (barrier.clone(), done.clone());
            std::thread::spawn(move || {
                if ring {
                    uring_os::nop().unwrap();
                }
                b.wait();
                d.wait();
            })
        })
        .collect();
    barrier.wait();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let used = before - meminfo("MemAvailable:");
    let fds = fd_count() - fds_before;
    done.wait();
    for h in handles {
        h.join().unwrap();
    }
    (used, fds)
}

fn one_call_threads(n: usize, file: &Arc<std::fs::File>, ring: bool) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let f = file.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            if ring {
                uring_os::pread(&*f, &mut buf, 0).unwrap();
            } else {
                f.read_at(&mut buf, 0).unwrap();
            }
        })
        .join()
        .unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 20 } else { 400 };
    let mut ratios = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    std::fs::write(&path, [7u8; 4096]).unwrap();
    let file = Arc::new(std::fs::File::open(&path).unwrap());
    // Warm up both paths.
    one_call_threads(n / 4, &file, false);
    one_call_threads(n / 4, &file, true);
    let mut std_us = Vec::new();
    let mut ring_us = Vec::new();
    for _ in 0..if quick { 1 } else { 7 } {
        let s = one_call_threads(n, &file, false);
        let r = one_call_threads(n, &file, true);
        std_us.push(s);
        ring_us.push(r);
        ratios.push(r / s);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "thread that makes one 64-byte pread and exits: std {:.1} us, uring_os {:.1} us, ratio {:.2} (median of {} rounds of {n} threads)",
        median(&mut std_us),
        median(&mut ring_us),
        median(&mut ratios),
        ratios.len()
    );
    let m = if quick { 20 } else { 200 };
    let (plain, plain_fds) = idle_threads(m, false);
    let (rings, ring_fds) = idle_threads(m, true);
    println!(
        "idle thread with its ring: {:.1} KiB more memory than without (MemAvailable over {m} threads), {} fds for {m} rings (plain threads: {})",
        (rings - plain) as f64 / m as f64,
        ring_fds,
        plain_fds
    );
}
