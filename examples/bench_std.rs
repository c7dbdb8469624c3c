//! `uring_os::fs` and `uring_os::net` against std, function by function:
//! `cargo run --release --example bench_std [-- --quick]`.
//!
//! Each row runs the same closure body twice, once with `fs`/`net` bound to std's module and
//! once to uring_os's, alternating which goes first round by round, and reports the median
//! of the per-round ratios (uring_os time / std time: below 1 is faster). Cold rows drop the
//! page cache before each timed pass (root only; skipped with a reason otherwise).
//! `--quick` runs a few rounds of a few operations, for CI: it judges nothing. `--only TEXT`
//! runs just the rows whose name contains TEXT (`--only fs::write`).

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Bench {
    rounds: usize,
    ops: usize,
    /// Only rows whose name contains this run.
    only: Option<String>,
}

/// Times `ops` calls of `f` (given the call's index), in ns per call.
fn time(ops: usize, f: &mut dyn FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..ops {
        f(i);
    }
    start.elapsed().as_nanos() as f64 / ops as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

impl Bench {
    fn wanted(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| name.contains(only.as_str()))
    }

    /// Alternating rounds of std (`a`) and uring_os (`b`); prints one row.
    fn row(&self, name: &str, ops: usize, a: &mut dyn FnMut(usize), b: &mut dyn FnMut(usize)) {
        if !self.wanted(name) {
            return;
        }
        let ops = ops.max(1);
        a(0);
        b(0);
        let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..self.rounds {
            let (x, y) = if round % 2 == 0 {
                let x = time(ops, a);
                (x, time(ops, b))
            } else {
                let y = time(ops, b);
                (time(ops, a), y)
            };
            ta.push(x);
            tb.push(y);
            ratio.push(y / x);
        }
        println!(
            "| {name:<44} | {:>10.0} | {:>10.0} | {:>5.2} |",
            median(ta),
            median(tb),
            median(ratio)
        );
    }

    /// A cold-cache row: before each timed pass over `ops` items, the page cache, dentries
    /// and inodes are dropped.
    fn cold_row(&self, name: &str, ops: usize, a: &mut dyn FnMut(usize), b: &mut dyn FnMut(usize)) {
        if !self.wanted(name) {
            return;
        }
        let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..self.rounds.div_ceil(2).max(2) {
            let pass = |f: &mut dyn FnMut(usize)| {
                drop_caches();
                time(ops, f)
            };
            let (x, y) = if round % 2 == 0 {
                let x = pass(a);
                (x, pass(b))
            } else {
                let y = pass(b);
                (pass(a), y)
            };
            ta.push(x);
            tb.push(y);
            ratio.push(y / x);
        }
        println!(
            "| {name:<44} | {:>10.0} | {:>10.0} | {:>5.2} |",
            median(ta),
            median(tb),
            median(ratio)
        );
    }
}

fn can_drop_caches() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/sys/vm/drop_caches")
        .is_ok()
}

fn drop_caches() {
    // SAFETY: sync(2) has no arguments.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", b"3").expect("drop caches");
}

/// One row: `$body` with `$m` bound to std's module (`$std`) and uring_os's (`$ours`).
macro_rules! row {
    ($b:expr, $name:expr, $ops:expr, $m:ident = $std:path | $ours:path, |$i:ident| $body:expr) => {{
        $b.row(
            $name,
            $ops,
            &mut |$i| {
                #[allow(unused_imports)]
                use $std as $m;
                black_box($body);
            },
            &mut |$i| {
                #[allow(unused_imports)]
                use $ours as $m;
                black_box($body);
            },
        )
    }};
}

/// One row over two values: `$body` with `$v` bound to `&$std` and then to `&$ours`.
macro_rules! vrow {
    ($b:expr, $name:expr, $ops:expr, $v:ident = $std:expr ; $ours:expr, |$i:ident| $body:expr) => {{
        $b.row(
            $name,
            $ops,
            &mut |$i| {
                let $v = &$std;
                black_box($body);
            },
            &mut |$i| {
                let $v = &$ours;
                black_box($body);
            },
        )
    }};
}

macro_rules! fs_row {
    ($b:expr, $name:expr, $ops:expr, |$i:ident| $body:expr) => {
        row!($b, $name, $ops, fs = std::fs | uring_os::fs, |$i| $body)
    };
}

/// std's socket types under one path, as `uring_os::net` has them.
mod stdnet {
    pub use std::net::*;
    pub use std::os::unix::net::UnixStream;
}

macro_rules! net_row {
    ($b:expr, $name:expr, $ops:expr, |$i:ident| $body:expr) => {
        row!($b, $name, $ops, net = stdnet | uring_os::net, |$i| $body)
    };
}

/// `n` files of `size` bytes under `dir`, named `f0`, `f1`, ...
fn files(dir: &Path, n: usize, size: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("f{i}"));
            std::fs::write(&p, vec![b'a' + (i % 26) as u8; size]).unwrap();
            p
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let b = if quick {
        Bench {
            rounds: 3,
            ops: 200,
            only,
        }
    } else {
        Bench {
            rounds: 11,
            ops: 4000,
            only,
        }
    };
    let n = b.ops;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let small = files(&t.join("small"), n, 4096);
    let mid = files(&t.join("mid"), n.min(1000), 64 * 1024);
    let big = files(&t.join("big"), 4, 8 << 20);
    let dir100 = t.join("dir100");
    files(&dir100, 100, 16);
    let link = t.join("link");
    std::os::unix::fs::symlink(&small[0], &link).unwrap();
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&small[0])
        .unwrap();
    let std_file = file.try_clone().unwrap();
    let our_file = uring_os::fs::File::from(file);
    let scratch = t.join("scratch");
    std::fs::create_dir(&scratch).unwrap();

    println!("| function (warm cache) | std ns/op | uring_os ns/op | ratio |");
    println!("|---|--:|--:|--:|");
    fs_row!(b, "fs::read, 4 KiB", n, |i| fs::read(
        &small[i % small.len()]
    )
    .unwrap());
    fs_row!(b, "fs::read, 64 KiB", n / 4, |i| fs::read(
        &mid[i % mid.len()]
    )
    .unwrap());
    fs_row!(b, "fs::read, 8 MiB", 4, |i| fs::read(&big[i % 4]).unwrap());
    fs_row!(b, "fs::read_to_string, 4 KiB", n, |i| fs::read_to_string(
        &small[i % small.len()]
    )
    .unwrap());
    b.row(
        "  reference: s.read_file (linked open+read+close)",
        n,
        &mut |i| {
            black_box(std::fs::read(&small[i % small.len()]).unwrap());
        },
        &mut |i| {
            let mut v = vec![0u8; 16384];
            let got = uring_os::batch(|s| {
                s.read_file(uring_os::CWD, &small[i % small.len()], &mut v)
                    .wait()
            });
            v.truncate(got.unwrap());
            black_box(v);
        },
    );
    let data = vec![7u8; 4096];
    fs_row!(b, "fs::write, 4 KiB (existing file)", n, |i| fs::write(
        scratch.join(format!("w{}", i % 64)),
        &data
    )
    .unwrap());
    let data64 = vec![8u8; 64 * 1024];
    fs_row!(b, "fs::write, 64 KiB (existing file)", n / 4, |i| {
        fs::write(scratch.join(format!("x{}", i % 64)), &data64).unwrap()
    });
    let data1m = vec![9u8; 1 << 20];
    fs_row!(b, "fs::write, 1 MiB (existing file)", n / 64, |i| {
        fs::write(scratch.join(format!("y{}", i % 16)), &data1m).unwrap()
    });
    let data8 = vec![6u8; 8192];
    fs_row!(b, "fs::write, 8 KiB and 4 KiB in turn (shrinks)", n, |i| {
        fs::write(
            scratch.join(format!("z{}", (i / 2) % 64)),
            if i % 2 == 0 { &data8[..] } else { &data[..] },
        )
        .unwrap()
    });
    fs_row!(b, "fs::write 4 KiB + fs::remove_file", n / 2, |i| {
        let p = scratch.join(format!("v{}", i % 64));
        fs::write(&p, &data).unwrap();
        fs::remove_file(&p).unwrap()
    });
    b.row(
        "  reference: fs::write as linked open+write+close",
        n,
        &mut |i| {
            std::fs::write(scratch.join(format!("u{}", i % 64)), &data).unwrap();
        },
        &mut |i| {
            let path = scratch.join(format!("u{}", i % 64));
            let res = uring_os::batch(|s| {
                let (write, close) = s.link(|s| {
                    // A direct descriptor in the chain: no O_CLOEXEC, no fd number.
                    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
                    let fd = s.open(&path, flags, 0o666).fd();
                    (s.pwrite(fd, &data, 0), s.close(fd))
                });
                (write.wait(), close.wait())
            });
            assert_eq!(res.0.unwrap(), data.len());
            res.1.unwrap();
        },
    );
    // The writeback these rows started (ext4 starts it at close for a file truncated to zero
    // and rewritten) is not charged to the rows after them.
    // SAFETY: sync(2) has no arguments.
    unsafe { libc::sync() };
    fs_row!(b, "fs::copy, 4 KiB", n / 2, |i| fs::copy(
        &small[i % small.len()],
        scratch.join(format!("c{}", i % 64))
    )
    .unwrap());
    fs_row!(b, "fs::metadata", n, |i| fs::metadata(
        &small[i % small.len()]
    )
    .unwrap()
    .len());
    fs_row!(b, "fs::symlink_metadata", n, |_i| fs::symlink_metadata(
        &link
    )
    .unwrap()
    .len());
    fs_row!(b, "fs::exists (missing)", n, |_i| fs::exists(
        t.join("missing")
    )
    .unwrap());
    fs_row!(b, "File::open + drop", n, |i| fs::File::open(
        &small[i % small.len()]
    )
    .unwrap());
    fs_row!(b, "File::create + drop", n, |i| fs::File::create(
        scratch.join(format!("n{}", i % 64))
    )
    .unwrap());
    vrow!(b, "File::read_at, 4 KiB", n, f = std_file ; our_file, |_i| f.read_at(&mut [0u8; 4096], 0).unwrap());
    vrow!(b, "File::write_at, 4 KiB", n, f = std_file ; our_file, |_i| f.write_at(&data, 0).unwrap());
    vrow!(b, "File::read (seek 0 + read), 4 KiB", n, f = std_file ; our_file, |_i| {
        std::io::Seek::seek(&mut &*f, std::io::SeekFrom::Start(0)).unwrap();
        (&*f).read(&mut [0u8; 4096]).unwrap()
    });
    vrow!(b, "File::metadata", n, f = std_file ; our_file, |_i| f.metadata().unwrap().len());
    vrow!(b, "File::set_len", n, f = std_file ; our_file, |_i| f.set_len(4096).unwrap());
    vrow!(b, "File::try_clone + drop", n, f = std_file ; our_file, |_i| f.try_clone().unwrap());
    fs_row!(b, "fs::read_dir, 100 entries + file_type", n / 20, |_i| {
        fs::read_dir(&dir100)
            .unwrap()
            .map(|e| e.unwrap().file_type().unwrap().is_file() as usize)
            .sum::<usize>()
    });
    fs_row!(b, "DirEntry::metadata x100", n / 40, |_i| fs::read_dir(
        &dir100
    )
    .unwrap()
    .map(|e| e.unwrap().metadata().unwrap().len())
    .sum::<u64>());
    fs_row!(b, "fs::create_dir + fs::remove_dir", n / 2, |i| {
        let d = scratch.join(format!("d{}", i % 64));
        fs::create_dir(&d).unwrap();
        fs::remove_dir(&d).unwrap()
    });
    fs_row!(b, "fs::create_dir_all (exists)", n, |_i| {
        fs::create_dir_all(&dir100).unwrap()
    });
    fs_row!(b, "fs::write 0 B + fs::remove_file", n / 2, |i| {
        let p = scratch.join(format!("r{}", i % 64));
        fs::write(&p, b"").unwrap();
        fs::remove_file(&p).unwrap()
    });
    fs_row!(b, "fs::rename (there and back)", n / 2, |_i| {
        fs::rename(&small[1], scratch.join("moved")).unwrap();
        fs::rename(scratch.join("moved"), &small[1]).unwrap()
    });
    fs_row!(b, "fs::hard_link + fs::remove_file", n / 2, |_i| {
        fs::hard_link(&small[2], scratch.join("hard")).unwrap();
        fs::remove_file(scratch.join("hard")).unwrap()
    });
    row!(
        b,
        "symlink + fs::remove_file",
        n / 2,
        m = std::os::unix::fs | uring_os::fs,
        |_i| {
            m::symlink(&small[3], scratch.join("soft")).unwrap();
            std::fs::remove_file(scratch.join("soft")).unwrap()
        }
    );
    fs_row!(b, "fs::read_link", n, |_i| fs::read_link(&link).unwrap());
    fs_row!(b, "fs::canonicalize", n, |_i| fs::canonicalize(&link)
        .unwrap());
    fs_row!(b, "fs::set_permissions", n, |_i| fs::set_permissions(
        &small[4],
        PermissionsExt::from_mode(0o644)
    )
    .unwrap());
    fs_row!(b, "fs::remove_dir_all (3 dirs, 3 files)", n / 20, |i| {
        let root = scratch.join(format!("tree{}", i % 8));
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["x", "a/y", "a/b/z"] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        fs::remove_dir_all(&root).unwrap()
    });

    // Network: loopback round trips.
    let std_pair = stdnet::UnixStream::pair().unwrap();
    let our_pair = uring_os::net::UnixStream::pair().unwrap();
    vrow!(b, "UnixStream write + read, 64 B", n, p = std_pair ; our_pair, |_i| {
        (&p.0).write_all(&[1u8; 64]).unwrap();
        let mut m = [0u8; 64];
        (&p.1).read_exact(&mut m).unwrap();
    });
    net_row!(b, "TcpStream::connect + accept (loopback)", n / 4, |_i| {
        let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (l.accept().unwrap(), c)
    });
    net_row!(b, "TcpStream echo round trip, 64 B (threads)", 1, |_i| {
        let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut m = [0u8; 64];
            while s.read_exact(&mut m).is_ok() {
                s.write_all(&m).unwrap();
            }
        });
        let mut c = net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        let mut m = [0u8; 64];
        for _ in 0..n {
            c.write_all(&m).unwrap();
            c.read_exact(&mut m).unwrap();
        }
        drop(c);
        server.join().unwrap()
    });
    net_row!(
        b,
        "TcpStream read with a read timeout (data ready)",
        n,
        |_i| {
            let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
            let c = net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            (&s).write_all(b"x").unwrap();
            let mut m = [0u8; 1];
            (&c).read(&mut m).unwrap()
        }
    );
    net_row!(b, "UdpSocket send_to + recv_from, 64 B", n, |_i| {
        let a = net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = a.local_addr().unwrap();
        a.send_to(&[3u8; 64], addr).unwrap();
        let mut m = [0u8; 64];
        a.recv_from(&mut m).unwrap()
    });
    net_row!(b, "TcpStream::connect_timeout (loopback)", n / 4, |_i| {
        let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = net::TcpStream::connect_timeout(&l.local_addr().unwrap(), Duration::from_secs(5))
            .unwrap();
        (l.accept().unwrap(), c)
    });

    // Cold cache.
    if !can_drop_caches() {
        println!("\ncold rows skipped: /proc/sys/vm/drop_caches is not writable (needs root)");
        return;
    }
    let m = if quick { 50 } else { 400 };
    println!(
        "\n| function (cold cache: caches dropped before each pass) | std ns/op | uring_os ns/op | ratio |"
    );
    println!("|---|--:|--:|--:|");
    let cold = files(&t.join("cold"), m, 4096);
    b.cold_row(
        "fs::read, 4 KiB",
        m,
        &mut |i| {
            black_box(std::fs::read(&cold[i]).unwrap());
        },
        &mut |i| {
            black_box(uring_os::fs::read(&cold[i]).unwrap());
        },
    );
    b.cold_row(
        "fs::metadata",
        m,
        &mut |i| {
            black_box(std::fs::metadata(&cold[i]).unwrap());
        },
        &mut |i| {
            black_box(uring_os::fs::metadata(&cold[i]).unwrap());
        },
    );
    b.cold_row(
        "fs::copy, 4 KiB",
        m.min(100),
        &mut |i| {
            black_box(std::fs::copy(&cold[i], scratch.join(format!("cc{i}"))).unwrap());
        },
        &mut |i| {
            black_box(uring_os::fs::copy(&cold[i], scratch.join(format!("cc{i}"))).unwrap());
        },
    );
    b.cold_row(
        "fs::read_dir + file_type",
        1,
        &mut |_| {
            black_box(
                std::fs::read_dir(t.join("cold"))
                    .unwrap()
                    .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
                    .count(),
            );
        },
        &mut |_| {
            black_box(
                uring_os::fs::read_dir(t.join("cold"))
                    .unwrap()
                    .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
                    .count(),
            );
        },
    );
}
