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

/// KiB of one new thread's ring mappings (SQ/CQ rings and SQEs), from /proc/self/maps.
fn ring_mapping_kib() -> u64 {
    fn io_uring_kib() -> u64 {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .filter(|l| l.contains("io_uring"))
            .map(|l| {
                let range = l.split_whitespace().next().unwrap();
                let (a, b) = range.split_once('-').unwrap();
                (u64::from_str_radix(b, 16).unwrap() - u64::from_str_radix(a, 16).unwrap()) / 1024
            })
            .sum()
    }
    // Let the reaper finish unmapping the rings of threads that already exited.
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::thread::spawn(|| {
        let before = io_uring_kib();
        uring_os::nop().unwrap();
        uring_os::nop().unwrap();
        io_uring_kib().saturating_sub(before)
    })
    .join()
    .unwrap()
}

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Kernel + user memory used by `n` idle threads, with or without a ring each, in KiB.
fn idle_threads(n: usize, ring: bool) -> (i64, usize) {
    let barrier = Arc::new(Barrier::new(n + 1));
    let done = Arc::new(Barrier::new(n + 1));
    let before = meminfo("MemFree:");
    let fds_before = fd_count();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (b, d) = (barrier.clone(), done.clone());
            std::thread::spawn(move || {
                if ring {
                    // The first call of a thread runs as a direct syscall; the second sets
                    // up its ring. status() confirms it went through the ring.
                    uring_os::nop().unwrap();
                    uring_os::nop().unwrap();
                    assert!(matches!(
                        uring_os::status().backend,
                        uring_os::Backend::IoUring { .. }
                    ));
                }
                b.wait();
                d.wait();
            })
        })
        .collect();
    barrier.wait();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let used = before - meminfo("MemFree:");
    let fds = fd_count() - fds_before;
    done.wait();
    for h in handles {
        h.join().unwrap();
    }
    (used, fds)
}

/// Microseconds per thread that makes `calls` 64-byte preads and exits.
fn short_threads(n: usize, file: &Arc<std::fs::File>, ring: bool, calls: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let f = file.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..calls {
                if ring {
                    uring_os::pread(&*f, &mut buf, 0).unwrap();
                } else {
                    f.read_at(&mut buf, 0).unwrap();
                }
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    std::fs::write(&path, [7u8; 4096]).unwrap();
    let file = Arc::new(std::fs::File::open(&path).unwrap());
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    for calls in [1, 2, 100] {
        // Warm up both paths.
        short_threads(n / 4, &file, false, calls);
        short_threads(n / 4, &file, true, calls);
        let (mut std_us, mut ring_us, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..if quick { 1 } else { 7 } {
            let s = short_threads(n, &file, false, calls);
            let r = short_threads(n, &file, true, calls);
            std_us.push(s);
            ring_us.push(r);
            ratios.push(r / s);
        }
        println!(
            "thread that makes {calls} 64-byte pread(s) and exits: std {:.1} us, uring_os {:.1} us, ratio {:.2} (median of {} rounds of {n} threads)",
            median(&mut std_us),
            median(&mut ring_us),
            median(&mut ratios),
            ratios.len()
        );
    }
    let m = if quick { 20 } else { 1000 };
    let mut per_ring = Vec::new();
    let mut fds = (0, 0);
    for _ in 0..if quick { 1 } else { 5 } {
        let (plain, plain_fds) = idle_threads(m, false);
        let (rings, ring_fds) = idle_threads(m, true);
        per_ring.push((rings - plain) as f64 / m as f64);
        fds = (ring_fds, plain_fds);
    }
    println!(
        "idle thread with its ring: {:.1} KiB more memory than a plain thread (MemFree, median of {} rounds of {m} threads; the ring's own mappings are {} KiB), {} fds for {m} rings (plain threads: {})",
        median(&mut per_ring),
        per_ring.len(),
        ring_mapping_kib(),
        fds.0,
        fds.1
    );
}
