//! `uring_os::fs` and `uring_os::net` against std, function by function:
//! `cargo run --release --example bench_std [-- --quick]`.
//!
//! Each row runs the same closure body twice, once with `fs`/`net` bound to std's module and
//! once to uring_os's, alternating which goes first round by round, and reports the median
//! of the per-round ratios (uring_os time / std time: below 1 is faster). Cold rows drop the
//! page cache before each timed pass (root only; skipped with a reason otherwise).
//! `--quick` runs a few rounds of a few operations, for CI: it judges nothing. `--only TEXT`
//! runs just the rows whose name contains TEXT (`--only fs::write`); `--only programs` runs
//! just the program rows.
//!
//! After the function tables come the program rows: `examples/walk.rs`, `cp_r.rs` and
//! `echo.rs`, std programs of which only the `use` lines differ between the two builds in one
//! binary (`--std` picks std's modules), timed as whole processes. The bench runs
//! `cargo build --example walk --example cp_r --example echo` in its own profile first
//! (through `$CARGO`, which `cargo run` sets; a no-op when they are up to date, and it keeps a
//! stale binary from being measured), then takes them from its own directory; run without
//! cargo, it uses the binaries it finds there and skips the rows, saying why, if they are
//! missing. See `programs` for the tree, the pairs and the checks.

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

/// `fs::read` as one linked submission on a hand-tuned ring (the io-uring crate: single
/// issuer, deferred task work, the file opened into a fixed slot): open → read → read (the
/// one that finds the end) → close, one `io_uring_enter` per file. A reference for the
/// `fs::read` row: what a linked submission costs here against std's syscalls.
struct HandRead {
    ring: io_uring::IoUring,
    buf: Vec<u8>,
}

impl HandRead {
    const HALF: usize = 32 * 1024;

    fn new() -> Option<HandRead> {
        let ring = io_uring::IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_coop_taskrun()
            .build(8)
            .ok()?;
        ring.submitter().register_files_sparse(1).ok()?;
        Some(HandRead {
            ring,
            buf: vec![0; 2 * Self::HALF],
        })
    }

    /// The file at `path`, whole if it fits in 32 KiB.
    fn read(&mut self, path: &Path) -> Vec<u8> {
        use io_uring::{opcode, squeue::Flags, types};
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        let slot = types::DestinationSlot::try_from_slot_target(0).unwrap();
        let base = self.buf.as_mut_ptr();
        let half = Self::HALF as u32;
        let entries = [
            opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
                .flags(libc::O_RDONLY)
                .file_index(Some(slot))
                .build()
                .flags(Flags::IO_LINK | Flags::SKIP_SUCCESS)
                .user_data(0),
            // Hard links: a short read (the end of the file) must not cut the chain.
            opcode::Read::new(types::Fixed(0), base, half)
                .offset(u64::MAX)
                .build()
                .flags(Flags::IO_HARDLINK)
                .user_data(1),
            // SAFETY: the second half of `buf`.
            opcode::Read::new(types::Fixed(0), unsafe { base.add(Self::HALF) }, half)
                .offset(u64::MAX)
                .build()
                .flags(Flags::IO_HARDLINK)
                .user_data(2),
            opcode::Close::new(types::Fixed(0))
                .build()
                .flags(Flags::SKIP_SUCCESS)
                .user_data(3),
        ];
        // SAFETY: the path and `buf` outlive the submission, which is waited for below.
        unsafe { self.ring.submission().push_multiple(&entries) }.unwrap();
        self.ring.submit_and_wait(2).unwrap();
        let mut first = 0;
        for cqe in self.ring.completion() {
            assert!(
                cqe.result() >= 0,
                "entry {}: {}",
                cqe.user_data(),
                cqe.result()
            );
            if cqe.user_data() == 1 {
                first = cqe.result() as usize;
            } else if cqe.user_data() == 2 {
                assert_eq!(cqe.result(), 0, "the file is larger than 32 KiB");
            }
        }
        self.buf[..first].to_vec()
    }
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
    if only.as_deref() != Some("programs") {
        functions(quick, only.clone());
    }
    programs(quick, only.as_deref());
}

/// The function rows: warm, then cold.
fn functions(quick: bool, only: Option<String>) {
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
    if let Some(mut ring) = HandRead::new() {
        b.row(
            "  reference: hand ring, linked open+read+read+close",
            n,
            &mut |i| {
                black_box(std::fs::read(&small[i % small.len()]).unwrap());
            },
            &mut |i| {
                black_box(ring.read(&small[i % small.len()]));
            },
        );
    }
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

/// The example programs' binaries (`walk`, `cp_r`, `echo`), in this executable's directory.
/// Under `cargo run`, cargo first builds them in this executable's profile (a no-op when
/// they are up to date); `Err(reason)` when they are still missing.
fn program_binaries() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("no current executable: {e}"))?;
    let dir = exe.parent().ok_or("no executable directory")?.to_path_buf();
    // `target/<profile>/examples/bench_std`: cargo names the dev profile's directory `debug`.
    let profile = match dir
        .parent()
        .and_then(Path::file_name)
        .and_then(|p| p.to_str())
    {
        Some("debug") | None => "dev".to_string(),
        Some(p) => p.to_string(),
    };
    if let (Ok(cargo), Ok(manifest_dir)) =
        (std::env::var("CARGO"), std::env::var("CARGO_MANIFEST_DIR"))
    {
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "--profile", &profile])
            .args([
                "--example",
                "walk",
                "--example",
                "cp_r",
                "--example",
                "echo",
            ])
            .arg("--manifest-path")
            .arg(Path::new(&manifest_dir).join("Cargo.toml"))
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building the example programs failed ({status})"));
        }
    }
    for name in ["walk", "cp_r", "echo"] {
        if !dir.join(name).exists() {
            return Err(format!(
                "{name} is not built: cargo build --release --example walk --example cp_r --example echo"
            ));
        }
    }
    Ok(dir)
}

/// Fills `buf` with pseudo-random bytes (xorshift: the data only needs to differ from file
/// to file, and /dev/urandom would dominate the tree's making).
fn fill(buf: &mut [u8], seed: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
    }
}

/// The program rows' tree under `root`: `dirs` directories of `per_dir` files of 4 KiB,
/// `large` files of `large_size` bytes in `big/`, and a symlink to the first directory.
fn make_tree(root: &Path, dirs: usize, per_dir: usize, large: usize, large_size: usize) {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut small = vec![0u8; 4096];
    for d in 0..dirs {
        let dir = root.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..per_dir {
            fill(&mut small, &mut seed);
            std::fs::write(dir.join(format!("f{f:03}")), &small).unwrap();
        }
    }
    let big = root.join("big");
    std::fs::create_dir_all(&big).unwrap();
    let mut data = vec![0u8; large_size];
    for i in 0..large {
        fill(&mut data, &mut seed);
        std::fs::write(big.join(format!("b{i}")), &data).unwrap();
    }
    std::os::unix::fs::symlink("d000", root.join("link")).unwrap();
}

fn sync() {
    // SAFETY: sync(2) has no arguments.
    unsafe { libc::sync() };
}

/// One whole-process run of `bin` with `args`: wall seconds, stdout and stderr. Panics if
/// the program fails.
fn run_program(bin: &Path, args: &[String]) -> (f64, Vec<u8>, Vec<u8>) {
    let start = Instant::now();
    let out = std::process::Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{} {} failed ({}): {}",
        bin.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, out.stdout, out.stderr)
}

/// A program of the program rows: the same binary runs uring_os's build, and std's with
/// `--std`.
struct Program<'a> {
    name: String,
    bin: PathBuf,
    /// The arguments of run number `serial` (a copy needs a new destination each time).
    args: &'a dyn Fn(usize) -> Vec<String>,
    /// Parses a rate (round trips/s) the program printed on stderr, to show next to times.
    rate: Option<fn(&[u8]) -> f64>,
}

/// Times `pairs` pairs of whole runs of `p`, uring_os's build first in odd pairs (1, 3, ...)
/// and std's first in even ones, `sync` before every run; warm: one untimed run of each
/// first (after dropping the caches once where `can_drop`: see below); cold: the page cache,
/// dentries and inodes dropped before every run. Checks that
/// every run printed the same stdout, and prints one row: median times, the median of the
/// per-pair ratios (uring_os / std: below 1 is faster) and their range.
///
/// Why drop the caches before a warm row: on the ext4 where these rows were first measured,
/// after deleting many files (the function rows' temporary files, an earlier run's copies)
/// creating as many took 3 to 6 s instead of 0.25 s for some minutes, until the caches were
/// dropped; the warm-up runs then bring the tree back into the page cache.
fn program_row(p: &Program, cache: &str, pairs: usize, can_drop: bool, serial: &mut usize) {
    let cold = cache == "cold";
    let mut expected: Option<Vec<u8>> = None;
    let mut once = |std: bool| {
        *serial += 1;
        let mut args = (p.args)(*serial);
        if std {
            args.push("--std".into());
        }
        if cold {
            drop_caches();
        } else {
            sync();
        }
        let (secs, stdout, stderr) = run_program(&p.bin, &args);
        match &expected {
            None => expected = Some(stdout),
            Some(e) => assert!(
                *e == stdout,
                "{}: the outputs differ ({}):\n{}\nagainst\n{}",
                p.name,
                if std { "std" } else { "uring_os" },
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(e)
            ),
        }
        (secs, p.rate.map(|rate| rate(&stderr)))
    };
    if !cold {
        if can_drop {
            drop_caches();
        }
        once(false);
        once(true);
    }
    let (mut ours, mut std, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 1..=pairs {
        let (o, s) = if pair % 2 == 1 {
            let o = once(false);
            (o, once(true))
        } else {
            let s = once(true);
            (once(false), s)
        };
        ratio.push(o.0 / s.0);
        ours.push(o);
        std.push(s);
    }
    let show = |runs: &[(f64, Option<f64>)]| {
        let secs = median(runs.iter().map(|r| r.0).collect());
        match runs[0].1 {
            Some(_) => format!(
                "{secs:.3} s ({:.0} round trips/s)",
                median(runs.iter().map(|r| r.1.unwrap()).collect())
            ),
            None => format!("{secs:.3} s"),
        }
    };
    let (lo, hi) = ratio
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "| {} | {cache} | {pairs} | {} | {} | {:.2} | {lo:.2}–{hi:.2} |",
        p.name,
        show(&std),
        show(&ours),
        median(ratio.clone()),
    );
}

/// The program rows: `walk` (reads and checksums every file of a tree), `cp_r` (copies it
/// to a new directory each run) and `echo` (server and load client in one process, on
/// loopback), each as whole processes, uring_os's build against std's.
///
/// The copies are removed only after the last program row, untimed: on the ext4 where these
/// rows were first measured, creating 10,000 files right after deleting as many took 2 to
/// 6 s instead of 0.24 s (both builds alike), which deleting each copy after its run would
/// have added to the next run, at random.
///
/// The tree: 100 directories of 100 files of 4 KiB, 4 files of 8 MiB and a symlink
/// (`--quick`: 4 directories of 25 files, one file of 1 MiB). Before the timed runs, the two
/// builds of `cp_r` each copy the tree once and std's `walk --list` of both copies must equal
/// its listing of the tree. Warm and cold rows for `walk` and `cp_r` (cold only where
/// /proc/sys/vm/drop_caches is writable; otherwise skipped with the reason); `echo` has no
/// files, so one row.
fn programs(quick: bool, only: Option<&str>) {
    let wanted = |name: &str| only.is_none_or(|o| o == "programs" || name.contains(o));
    if !["walk", "cp_r", "echo"].iter().any(|n| wanted(n)) {
        return;
    }
    println!();
    let bin = match program_binaries() {
        Ok(bin) => bin,
        Err(reason) => {
            println!("program rows skipped: {reason}");
            return;
        }
    };
    let (dirs, per_dir, large, large_size, pairs) = if quick {
        (4, 25, 1, 1 << 20, 3)
    } else {
        (100, 100, 4, 8 << 20, 11)
    };
    let (conns, msgs, size) = if quick { (2, 300, 64) } else { (4, 10_000, 64) };
    let tmp = tempfile::tempdir().unwrap();
    let (tree, out) = (tmp.path().join("tree"), tmp.path().join("out"));
    std::fs::create_dir_all(&out).unwrap();
    make_tree(&tree, dirs, per_dir, large, large_size);
    let cold_ok = can_drop_caches();
    println!(
        "tree: {} files of 4 KiB in {dirs} directories, {large} of {} MiB, a symlink; echo: {conns} connections x {msgs} round trips of {size} B",
        dirs * per_dir,
        large_size >> 20
    );
    let tree_arg = tree.display().to_string();
    let copy = |serial: usize| out.join(format!("copy{serial}"));
    let listing = |dir: &Path| {
        run_program(
            &bin.join("walk"),
            &[dir.display().to_string(), "--list".into(), "--std".into()],
        )
        .1
    };
    if wanted("cp_r") {
        let want = listing(&tree);
        for std in [false, true] {
            let check = out.join(if std { "check-std" } else { "check-uring_os" });
            let mut args = vec![tree_arg.clone(), check.display().to_string()];
            if std {
                args.push("--std".into());
            }
            run_program(&bin.join("cp_r"), &args);
            assert!(
                listing(&check) == want,
                "cp_r{}: the copy differs from the tree",
                if std { " --std" } else { "" }
            );
        }
        println!("cp_r: both builds' copies list as the tree does (walk --list)");
    }
    println!();
    println!(
        "| program (whole process) | cache | pairs | std (median) | uring_os (median) | ratio (median of pairs) | min–max |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|");
    let walk_args = |_| vec![tree_arg.clone()];
    let cp_args = |serial| vec![tree_arg.clone(), copy(serial).display().to_string()];
    let echo_args = |_| {
        [
            "load",
            "--conns",
            &conns.to_string(),
            "--msgs",
            &msgs.to_string(),
            "--size",
            &size.to_string(),
        ]
        .map(String::from)
        .to_vec()
    };
    let rate: fn(&[u8]) -> f64 = |stderr| {
        String::from_utf8_lossy(stderr)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let programs = [
        Program {
            name: "`walk`: read + checksum every file".into(),
            bin: bin.join("walk"),
            args: &walk_args,
            rate: None,
        },
        Program {
            name: "`cp_r`: copy the tree".into(),
            bin: bin.join("cp_r"),
            args: &cp_args,
            rate: None,
        },
        Program {
            name: format!("`echo load`: {conns} connections, one thread each"),
            bin: bin.join("echo"),
            args: &echo_args,
            rate: Some(rate),
        },
    ];
    let mut serial = 0;
    for (key, p) in ["walk", "cp_r", "echo"].iter().zip(&programs) {
        if !wanted(key) {
            continue;
        }
        let caches: &[&str] = if *key == "echo" {
            &["warm"]
        } else {
            &["warm", "cold"]
        };
        for &cache in caches {
            if cache == "cold" && !cold_ok {
                println!(
                    "| {} | cold | skipped: /proc/sys/vm/drop_caches is not writable (needs root) | | | | |",
                    p.name
                );
                continue;
            }
            program_row(
                p,
                cache,
                if cache == "cold" { pairs.min(7) } else { pairs },
                cold_ok,
                &mut serial,
            );
        }
    }
}
