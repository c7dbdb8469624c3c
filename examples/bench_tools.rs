//! The example tools against the programs they stand in for, side by side:
//! `ucp` against GNU `cp -a`, `hashtree` against
//! `find TREE -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`.
//!
//! ```text
//! cargo build --release --example ucp --example hashtree
//! cargo run --release --example bench_tools -- [--dir DIR] [--rounds N] [--quick] [--keep]
//! ```
//!
//! It writes a tree of 10,000 files of 4 KiB (100 directories of 100) plus 10 files of
//! 20 MB under `DIR` (default: a new directory in the temporary directory), then times
//! whole commands, each pair alternated (A B, then B A), warm (the tree in the page cache)
//! and cold (`sync; echo 3 > /proc/sys/vm/drop_caches` before every run; root only, else
//! skipped with the reason). Before every run, `sync` writes back the copies of earlier
//! runs, untimed. Copies go to new directories and are deleted only at the end: on ext4
//! without a journal, inodes freed in the last minutes make creating files slower, which
//! deleting between runs would add to the next one. Prints, per row, the median wall time
//! of each and the median of the per-pair ratios (theirs / ours: above 1, ours is faster),
//! and checks once that the outputs agree (the hash lists byte for byte, the copies with
//! `diff -r`). `--quick` (for CI) runs one round on a small tree and judges nothing.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Options {
    dir: Option<PathBuf>,
    rounds: usize,
    quick: bool,
    keep: bool,
}

/// One timed run: wall seconds, CPU seconds (user + system, the process and its children).
struct Run {
    wall: f64,
    cpu: f64,
}

/// A command of a pair: its words, and whether it writes a new copy (given a new
/// destination as its last word) or prints to stdout.
struct Cmd {
    name: &'static str,
    words: Vec<String>,
    copies: bool,
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// Fills `buf` with pseudo-random bytes (xorshift: the data only needs to be
/// incompressible, and /dev/urandom would dominate the tree's making).
fn fill(buf: &mut [u8], seed: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
    }
}

fn make_tree(
    root: &Path,
    dirs: usize,
    per_dir: usize,
    large: usize,
    large_size: usize,
) -> io::Result<()> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut small = vec![0u8; 4096];
    for d in 0..dirs {
        let dir = root.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir)?;
        for f in 0..per_dir {
            fill(&mut small, &mut seed);
            std::fs::write(dir.join(format!("f{f:03}")), &small)?;
        }
    }
    let big_dir = root.join("big");
    std::fs::create_dir_all(&big_dir)?;
    let mut big = vec![0u8; large_size];
    for i in 0..large {
        fill(&mut big, &mut seed);
        std::fs::write(big_dir.join(format!("b{i}")), &big)?;
    }
    Ok(())
}

fn sync() {
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Drops the page cache, dentries and inodes; `Err(reason)` where that is not allowed.
fn drop_caches() -> Result<(), String> {
    sync();
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .map_err(|e| format!("cannot drop caches ({e}): cold rows need root"))
}

/// Runs `words` (stdout to `out`, or discarded), timing it; fails on a non-zero exit.
fn run(words: &[String], out: Option<&Path>) -> io::Result<Run> {
    let stdout = match out {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let start = Instant::now();
    let child = Command::new(&words[0])
        .args(&words[1..])
        .env("LC_ALL", "C")
        .stdout(stdout)
        .spawn()?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    let status = std::process::ExitStatus::from_raw(status);
    if !status.success() {
        return Err(io::Error::other(format!(
            "{} exited with {status}",
            words.join(" ")
        )));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Run {
        wall,
        cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Times pair (theirs, ours) `rounds` times, alternating which goes first; returns the
/// runs of each.
fn time_pair(
    pair: &[Cmd; 2],
    out: &Path,
    rounds: usize,
    cold: bool,
    serial: &mut usize,
) -> io::Result<[Vec<Run>; 2]> {
    let mut runs = [Vec::new(), Vec::new()];
    if !cold {
        // Warm-up: the tree in the page cache, the programs loaded.
        for cmd in pair {
            once(cmd, out, serial)?;
        }
    }
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            if cold {
                drop_caches().map_err(io::Error::other)?;
            } else {
                sync();
            }
            runs[k].push(once(&pair[k], out, serial)?);
        }
    }
    Ok(runs)
}

/// One run of `cmd`: a copy goes to a new directory in `out`.
fn once(cmd: &Cmd, out: &Path, serial: &mut usize) -> io::Result<Run> {
    let mut words = cmd.words.clone();
    if cmd.copies {
        *serial += 1;
        words.push(
            out.join(format!("{}-{serial}", cmd.name))
                .display()
                .to_string(),
        );
    }
    run(&words, None)
}

fn parse() -> Options {
    let mut opts = Options {
        dir: None,
        rounds: 5,
        quick: false,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => opts.dir = args.next().map(PathBuf::from),
            "--rounds" => opts.rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--quick" => opts.quick = true,
            "--keep" => opts.keep = true,
            _ => {
                eprintln!("usage: bench_tools [--dir DIR] [--rounds N] [--quick] [--keep]");
                std::process::exit(2);
            }
        }
    }
    if opts.quick {
        opts.rounds = 1;
    }
    opts
}

fn main() -> io::Result<()> {
    let opts = parse();
    let bin = std::env::current_exe()?
        .parent()
        .expect("the examples directory")
        .to_path_buf();
    let (ucp, hashtree) = (bin.join("ucp"), bin.join("hashtree"));
    if !ucp.exists() || !hashtree.exists() {
        eprintln!(
            "bench_tools: build the tools first: cargo build --release --example ucp --example hashtree"
        );
        std::process::exit(2);
    }
    let base = match &opts.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::Builder::new()
                .prefix("bench_tools.")
                .tempdir_in(dir)?
        }
        None => tempfile::Builder::new().prefix("bench_tools.").tempdir()?,
    };
    let (tree, out) = (base.path().join("tree"), base.path().join("out"));
    std::fs::create_dir_all(&out)?;
    let (dirs, per_dir, large, large_size) = if opts.quick {
        (4, 50, 2, 1_000_000)
    } else {
        (100, 100, 10, 20_000_000)
    };
    println!(
        "tree: {} files of 4 KiB ({dirs} directories) + {large} files of {} MB, in {}",
        dirs * per_dir,
        large_size / 1_000_000,
        tree.display()
    );
    make_tree(&tree, dirs, per_dir, large, large_size)?;
    sync();
    let t = tree.display().to_string();
    let pipeline = format!("find {t} -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum");
    let pairs = [
        (
            "ucp",
            "cp -a",
            [
                Cmd {
                    name: "cp",
                    words: vec!["cp".into(), "-a".into(), t.clone()],
                    copies: true,
                },
                Cmd {
                    name: "ucp",
                    words: vec![ucp.display().to_string(), "-q".into(), t.clone()],
                    copies: true,
                },
            ],
        ),
        (
            "hashtree",
            "the sha256sum pipeline",
            [
                Cmd {
                    name: "pipeline",
                    words: sh(&pipeline),
                    copies: false,
                },
                Cmd {
                    name: "hashtree",
                    words: vec![hashtree.display().to_string(), "-q".into(), t.clone()],
                    copies: false,
                },
            ],
        ),
    ];
    for (_, _, [theirs, ours]) in &pairs {
        println!("  {}: {}", theirs.name, theirs.words.join(" "));
        println!("  {}: {}", ours.name, ours.words.join(" "));
    }
    check_outputs(&tree, &out, &pairs[0].2, &pairs[1].2)?;

    let cold_ok = drop_caches();
    let mut serial = 0;
    println!();
    println!(
        "| program | against | cache | theirs (median) | ours (median) | theirs / ours (median of pairs) | CPU theirs / ours |"
    );
    println!("|---|---|---|--:|--:|--:|--:|");
    for (program, against, pair) in &pairs {
        for cold in [true, false] {
            let cache = if cold { "cold" } else { "warm" };
            if let (true, Err(reason)) = (cold, &cold_ok) {
                println!("| `{program}` | {against} | {cache} | skipped: {reason} | | | |");
                continue;
            }
            let [theirs, ours] = time_pair(pair, &out, opts.rounds, cold, &mut serial)?;
            let ratios: Vec<f64> = theirs
                .iter()
                .zip(&ours)
                .map(|(a, b)| a.wall / b.wall)
                .collect();
            let cpu = |runs: &[Run]| median(runs.iter().map(|r| r.cpu).collect());
            let wall = |runs: &[Run]| median(runs.iter().map(|r| r.wall).collect());
            println!(
                "| `{program}` | {against} | {cache} | {:.3} s | {:.3} s | {:.2} (pairs: {}) | {:.2} / {:.2} s |",
                wall(&theirs),
                wall(&ours),
                median(ratios.clone()),
                ratios
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                cpu(&theirs),
                cpu(&ours),
            );
        }
    }
    if opts.keep {
        println!("kept: {}", base.keep().display());
    }
    Ok(())
}

/// The tools' outputs agree with their references': hash lists byte for byte, copies by
/// `diff -r`.
fn check_outputs(tree: &Path, out: &Path, copy: &[Cmd; 2], hash: &[Cmd; 2]) -> io::Result<()> {
    let (a, b) = (out.join("check-cp"), out.join("check-ucp"));
    for (cmd, dst) in copy.iter().zip([&a, &b]) {
        let mut words = cmd.words.clone();
        words.push(dst.display().to_string());
        run(&words, None)?;
    }
    let diff = Command::new("diff")
        .args(["-r", "--no-dereference"])
        .args([&a, &b])
        .status()?;
    if !diff.success() {
        return Err(io::Error::other("the copies differ"));
    }
    let (x, y) = (out.join("hash-pipeline"), out.join("hash-hashtree"));
    for (cmd, file) in hash.iter().zip([&x, &y]) {
        run(&cmd.words, Some(file))?;
    }
    if std::fs::read(&x)? != std::fs::read(&y)? {
        return Err(io::Error::other("the hash lists differ"));
    }
    println!(
        "outputs checked: copies identical (diff -r), hash lists byte-identical ({})",
        tree.display()
    );
    Ok(())
}
