//! The uring_os benchmark: direct syscalls / std vs `uring_os` (single calls and batches) vs the
//! `io-uring` crate driven by hand with the best flags (the expert floor), and fio where it is
//! installed, on data generated under a temporary directory.
//!
//! ```text
//! cargo run --release --example bench                 # full run, 7 rounds, about 90 s
//! cargo run --release --example bench -- --quick      # tiny counts, 1 round, a few seconds (CI)
//! cargo run --release --example bench -- --only nop,pread
//! ```
//!
//! Options: `--quick` (or env `URING_OS_BENCH_QUICK=1`), `--only ROW[,ROW...]`, `--rounds N`,
//! `--dir DIR` (where the data goes; default: the temp dir unless it is tmpfs, else
//! `target/bench`; env `URING_OS_BENCH_DIR`), `--verbose` (every round and sample on stderr),
//! `--variant SUBSTR` (only the variants whose name contains it, to profile one). Rows: see
//! [`ROWS`].
//!
//! Every row runs its variants in rounds, each round running every variant once in an order
//! that rotates and reverses from round to round, and reports the median of the rounds: on a
//! shared, noisy machine only ratios within one run mean something. Quick mode never judges
//! timings; the process fails only when a variant returns an error (the benchmark rotted).
//! Results go to stdout and to `target/bench/results.md` and `target/bench/results.svg`;
//! progress is one line on stderr, updated in place, and only when stderr is a terminal.
//!
//! The main run uses `Dispatch::Ring` (the default: every call through the ring). Then the
//! benchmark runs itself again as a child process once per [`child::Child`]: with
//! `URING_OS_DISPATCH=auto`, then with `URING_OS=off` (every call as its direct syscall). A
//! child runs the same rows' std and uring_os variants, again in alternating rounds, and
//! prints its medians on stdout for this process to read. Each uring_os variant gets a
//! figure per child: its ns/op there and the ratio to the std variant measured in the same
//! child.

#![deny(clippy::undocumented_unsafe_blocks)]

#[path = "bench/child.rs"]
mod child;
#[path = "bench/hand.rs"]
mod hand;
#[path = "bench/progress.rs"]
mod progress;
#[path = "bench/report.rs"]
mod report;
#[path = "bench/workloads.rs"]
mod workloads;

use std::io;
use std::path::PathBuf;
use std::time::Instant;

/// The rows, in run order: name (for `--only`) and what it measures.
pub const ROWS: &[(&str, &str)] = &[
    ("nop", "NOP: the cost floor of one call"),
    ("pread", "4 KiB pread, page cache, one at a time"),
    ("pread-x32", "32 cached 4 KiB preads per batch"),
    (
        "odirect",
        "4 KiB random O_DIRECT reads, 32 in flight, on the disk",
    ),
    (
        "random-4k",
        "4 KiB random O_DIRECT reads, 32 in flight, fixed file + registered buffers, as fio \
         --rw=randread",
    ),
    (
        "stream-4k",
        "streaming O_DIRECT read of one file in 4 KiB blocks, 32 in flight, as fio --rw=read",
    ),
    (
        "stream-128k",
        "streaming O_DIRECT read of one file in 128 KiB blocks, 32 in flight, as fio --rw=read",
    ),
    ("files", "small files: open + read 4 KiB + close"),
    ("statx", "statx of small files"),
    ("fsync", "4 KiB files written and fsynced"),
    (
        "tcp-echo",
        "loopback TCP echo, 64-byte round trips, client and server pinned to one CPU",
    ),
];

/// How much work one sample of each row does.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    pub nop: u64,
    pub pread: u64,
    pub batches32: u64,
    pub direct_qd1: u64,
    pub direct_batched: u64,
    pub direct_file_bytes: u64,
    pub files: usize,
    pub statx: usize,
    pub fsync_files: usize,
    pub tcp_trips: u64,
    pub fio_runtime_ms: u64,
    /// Reads per sample of the streaming rows' variants with 32 in flight (fio's too), and
    /// of their pread loop, by block size (4 KiB, 128 KiB); random-4k takes the 4 KiB ones.
    pub stream_reads: [u64; 2],
    pub stream_qd1: [u64; 2],
}

impl Counts {
    const FULL: Counts = Counts {
        nop: 200_000,
        pread: 100_000,
        batches32: 4_000,
        direct_qd1: 1_500,
        direct_batched: 8_192,
        direct_file_bytes: 256 << 20,
        files: 10_000,
        statx: 10_000,
        fsync_files: 100,
        tcp_trips: 10_000,
        fio_runtime_ms: 1_000,
        // 0.06-0.15 s each at this machine's 80-200k IOPS (4 KiB) and 1.3-1.7 GB/s
        // (128 KiB); a fio run takes 0.35 s more to start and end, and counts its time in
        // whole milliseconds (its 4 KiB runs last 60 ms or more).
        stream_reads: [12_288, 1_536],
        stream_qd1: [1_024, 256],
    };
    const QUICK: Counts = Counts {
        nop: 2_000,
        pread: 2_000,
        batches32: 50,
        direct_qd1: 64,
        direct_batched: 256,
        direct_file_bytes: 8 << 20,
        files: 200,
        statx: 200,
        fsync_files: 8,
        tcp_trips: 200,
        fio_runtime_ms: 200,
        stream_reads: [512, 64],
        stream_qd1: [64, 16],
    };
}

/// The command line.
#[derive(Clone, Debug)]
pub struct Cfg {
    pub quick: bool,
    pub rounds: usize,
    pub only: Vec<String>,
    pub dir: Option<PathBuf>,
    pub n: Counts,
    /// The arguments as given, for the report's "command" line.
    pub args: Vec<String>,
    pub quick_from_env: bool,
    /// Print every sample to stderr.
    pub verbose: bool,
    /// Run only variants whose name contains this (for profiling one of them).
    pub variant: Option<String>,
    /// This process is a re-run under another policy: std and uring_os variants only,
    /// results on stdout in [`child::FORMAT`].
    pub child: Option<child::Child>,
}

const USAGE: &str = "usage: cargo run --release --example bench -- [--quick] [--only ROW[,ROW...]] [--rounds N] [--dir DIR] [--verbose] [--variant SUBSTR]";

fn parse_args() -> Result<Cfg, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick_from_env = std::env::var("URING_OS_BENCH_QUICK")
        .map(|v| !matches!(v.trim(), "" | "0" | "false" | "no"))
        .unwrap_or(false);
    let mut quick = quick_from_env;
    let mut verbose = false;
    let mut child = None;
    let mut variant = None;
    let mut rounds = None;
    let mut only = Vec::new();
    let mut dir = std::env::var_os("URING_OS_BENCH_DIR").map(PathBuf::from);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match key {
            "--quick" => quick = true,
            "--verbose" | "-v" => verbose = true,
            // Internal: a re-run under another policy (see the module doc).
            "--child" => {
                let name = value("--child")?;
                child = Some(
                    child::Child::from_name(&name)
                        .ok_or_else(|| format!("unknown --child {name:?}"))?,
                );
            }
            "--only" => {
                for name in value("--only")?.split(',').filter(|s| !s.is_empty()) {
                    if !ROWS.iter().any(|(row, _)| *row == name) {
                        let names: Vec<&str> = ROWS.iter().map(|(n, _)| *n).collect();
                        return Err(format!("unknown row {name:?}; rows: {}", names.join(", ")));
                    }
                    only.push(name.to_string());
                }
            }
            "--rounds" => {
                let v = value("--rounds")?;
                rounds = Some(
                    v.parse::<usize>()
                        .ok()
                        .filter(|&r| r > 0)
                        .ok_or_else(|| format!("--rounds wants a positive number, not {v:?}"))?,
                );
            }
            "--dir" => dir = Some(PathBuf::from(value("--dir")?)),
            "--variant" => variant = Some(value("--variant")?),
            // `cargo bench`-style harness flags, should anyone run it that way.
            "--bench" => {}
            "-h" | "--help" => {
                let rows: Vec<String> = ROWS
                    .iter()
                    .map(|(n, what)| format!("  {n:<11} {what}"))
                    .collect();
                println!("{USAGE}\n\nrows:\n{}", rows.join("\n"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Cfg {
        quick,
        rounds: rounds.unwrap_or(if quick { 1 } else { 7 }),
        only,
        dir,
        n: if quick { Counts::QUICK } else { Counts::FULL },
        args,
        quick_from_env,
        verbose,
        variant,
        child,
    })
}

/// Who a variant is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The direct syscall / std baseline of its row (ratio 1.0).
    Std,
    /// `uring_os`.
    Uring,
    /// The hand-tuned `io-uring` ring.
    Hand,
    /// Anything else: another syscall pattern, fio.
    Other,
}

/// What one run of a variant did: `ops` operations in `ns` nanoseconds (timed part only),
/// with `enters` `io_uring_enter` calls if known.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub ops: u64,
    pub ns: f64,
    pub enters: Option<u64>,
}

/// One run of a variant; its timing excludes whatever setup it does first.
pub type Run<'a> = Box<dyn FnMut() -> io::Result<Sample> + 'a>;

/// Why a `uring_os` variant is slower or faster than std. The report gives the reason only
/// when the figures go that way.
#[derive(Clone, Copy, Debug)]
pub enum Why {
    Slower(&'static str),
    Faster(&'static str),
}

/// A variant of a row.
pub struct Variant<'a> {
    pub name: String,
    pub role: Role,
    /// The hand variant a `uring_os` variant is compared with; by default the row's first.
    pub peer: Option<String>,
    /// Why a `uring_os` variant costs what it does next to std, for the report's reading.
    pub because: Option<Why>,
    /// Other variants of the row (fio) this one is compared with round by round: see
    /// [`Versus`].
    pub against: Vec<String>,
    /// The run, or why this variant is skipped.
    pub run: Result<Run<'a>, String>,
}

impl<'a> Variant<'a> {
    pub fn new(name: impl Into<String>, role: Role, run: Run<'a>) -> Variant<'a> {
        Variant {
            name: name.into(),
            role,
            peer: None,
            because: None,
            against: Vec::new(),
            run: Ok(run),
        }
    }

    pub fn skip(name: impl Into<String>, role: Role, reason: impl Into<String>) -> Variant<'a> {
        Variant {
            name: name.into(),
            role,
            peer: None,
            because: None,
            against: Vec::new(),
            run: Err(reason.into()),
        }
    }

    pub fn peer(mut self, peer: &str) -> Variant<'a> {
        self.peer = Some(peer.to_string());
        self
    }

    /// Compares it round by round with the row's variant `other` (see [`Versus`]).
    pub fn against(mut self, other: &str) -> Variant<'a> {
        self.against.push(other.to_string());
        self
    }

    /// Why it takes longer than std, completing "… takes 1.86x std's time here, because".
    pub fn slower_because(mut self, why: &'static str) -> Variant<'a> {
        self.because = Some(Why::Slower(why));
        self
    }

    /// Why it is faster than std, completing "… is 4.6x faster than std here, because".
    pub fn faster_because(mut self, why: &'static str) -> Variant<'a> {
        self.because = Some(Why::Faster(why));
        self
    }
}

/// What one variant measured in one process.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    /// Median, min and max ns per op over the rounds.
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub rounds: usize,
    pub enters_per_op: Option<f64>,
    /// ns/op ÷ the std baseline's ns/op, measured in the same process (not for std itself).
    pub vs_std: Option<f64>,
    /// Why it was skipped, or its error.
    pub note: Option<String>,
    pub failed: bool,
}

impl Figure {
    /// ±half the min-max range over the rounds, in percent of the median.
    pub fn spread(&self) -> Option<f64> {
        match (self.min, self.max, self.median) {
            (Some(lo), Some(hi), Some(m)) if self.rounds > 1 && m > 0.0 => {
                Some((hi - lo) / m * 50.0)
            }
            _ => None,
        }
    }
}

/// A variant's throughput over another's of the same row, taken round by round (the two
/// ran within the same round, so a noisy neighbour weighs on both): in each round where both
/// ran, the other's ns/op ÷ this one's, i.e. this one's ops/s ÷ the other's. Above 1.00 this
/// one is faster.
#[derive(Clone, Debug)]
pub struct Versus {
    pub other: String,
    /// Median, min and max of the per-round ratios.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub rounds: usize,
}

/// One measured line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    pub row: &'static str,
    pub title: String,
    pub unit: &'static str,
    pub variant: String,
    pub role: Role,
    /// Under `Dispatch::Ring`, in this process.
    pub fig: Figure,
    /// ns/op ÷ the peer hand ring's ns/op (for uring_os and std rows).
    pub vs_hand: Option<f64>,
    /// The hand variant `vs_hand` compares with.
    pub hand_peer: Option<String>,
    /// See [`Variant::because`].
    pub because: Option<Why>,
    /// Round-by-round comparisons with other variants of the row ([`Variant::against`]).
    pub versus: Vec<Versus>,
    /// The same variant re-run by each child (std and uring_os variants), by
    /// [`Child::index`](child::Child::index).
    pub under: [Option<Figure>; child::Child::ALL.len()],
}

impl Row {
    /// The figure of this variant in `child`'s re-run.
    pub fn under(&self, child: child::Child) -> Option<&Figure> {
        self.under[child.index()].as_ref()
    }
}

/// The run: configuration, what the environment offers, results so far.
pub struct Bench {
    pub cfg: Cfg,
    /// Why the hand ring cannot be used here, if it cannot.
    pub hand_unavailable: Option<String>,
    pub hand_flags: String,
    pub rows: Vec<Row>,
    /// Lines for the report's notes.
    pub notes: Vec<String>,
    /// How each re-run under another policy went.
    pub children: Vec<child::ChildRun>,
    pub progress: progress::Progress,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

impl Bench {
    /// A run with nothing measured yet; `hand` is the hand ring's flags, or why there is none.
    pub fn new(cfg: Cfg, hand: Result<String, String>) -> Bench {
        let (run, policy) = match cfg.child {
            None => (1, "Dispatch::Ring".to_string()),
            Some(child) => (child.index() + 2, child.setting()),
        };
        let runs = child::Child::ALL.len() + 1;
        let progress =
            progress::Progress::new(format!("bench {run}/{runs} ({policy})"), cfg.verbose);
        let (hand_flags, hand_unavailable) = match hand {
            Ok(flags) => (flags, None),
            Err(reason) => (String::from("unavailable"), Some(reason)),
        };
        Bench {
            cfg,
            hand_unavailable,
            hand_flags,
            rows: Vec::new(),
            notes: Vec::new(),
            children: Vec::new(),
            progress,
        }
    }

    pub fn selected(&self, row: &str) -> bool {
        self.cfg.only.is_empty() || self.cfg.only.iter().any(|o| o == row)
    }

    /// Whether this process runs the variant: `--variant` picks by name, and a child runs
    /// only the std and uring_os variants (the others do not depend on the policy).
    fn runs(&self, v: &Variant) -> bool {
        let by_name = self
            .cfg
            .variant
            .as_ref()
            .is_none_or(|want| v.name.contains(want.as_str()));
        by_name && (self.cfg.child.is_none() || matches!(v.role, Role::Std | Role::Uring))
    }

    /// A variant that times `body`, which does `ops` operations.
    pub fn timed<'a>(
        name: impl Into<String>,
        role: Role,
        ops: u64,
        mut body: impl FnMut() -> io::Result<()> + 'a,
    ) -> Variant<'a> {
        Variant::new(
            name,
            role,
            Box::new(move || {
                let start = Instant::now();
                body()?;
                Ok(Sample {
                    ops,
                    ns: start.elapsed().as_nanos() as f64,
                    enters: None,
                })
            }),
        )
    }

    /// A hand-ring variant: a fresh registered ring of `entries` per run (set up before the
    /// clock starts), `body` timed on it.
    pub fn hand<'a>(
        &self,
        name: impl Into<String>,
        entries: u32,
        ops: u64,
        mut body: impl FnMut(&mut hand::Hand<'_>) -> io::Result<()> + 'a,
    ) -> Variant<'a> {
        if let Some(reason) = &self.hand_unavailable {
            return Variant::skip(name, Role::Hand, reason.clone());
        }
        Variant::new(
            name,
            Role::Hand,
            Box::new(move || {
                hand::with_ring(entries, |h| {
                    let start = Instant::now();
                    body(h)?;
                    Ok(Sample {
                        ops,
                        ns: start.elapsed().as_nanos() as f64,
                        enters: Some(h.enters),
                    })
                })
            }),
        )
    }

    /// Shows on the progress line that `row` is being set up (data generated, …).
    pub fn preparing(&mut self, row: &str, what: &str) {
        let (i, n) = self.position(row);
        self.progress
            .step(format_args!("row {i}/{n} {row}, {what}"));
    }

    /// The row's place among the selected rows, from 1, and their number.
    fn position(&self, row: &str) -> (usize, usize) {
        let selected: Vec<&str> = ROWS
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| self.selected(r))
            .collect();
        let i = selected.iter().position(|r| *r == row).map_or(0, |i| i + 1);
        (i, selected.len())
    }

    /// Runs the variants of one row in alternating rounds and records their medians.
    pub fn measure(&mut self, row: &'static str, unit: &'static str, mut variants: Vec<Variant>) {
        let title = ROWS
            .iter()
            .find(|(r, _)| *r == row)
            .map(|(_, t)| t.to_string())
            .unwrap_or_default();
        let n = variants.len();
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
        // The same with their round, for the round-by-round comparisons.
        let mut by_round: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        let mut enters: Vec<(u64, u64)> = vec![(0, 0); n];
        let mut errors: Vec<Option<String>> = vec![None; n];
        let (row_i, rows_n) = self.position(row);
        for round in 0..self.cfg.rounds {
            self.progress.step(format_args!(
                "row {row_i}/{rows_n} {row}, round {}/{}",
                round + 1,
                self.cfg.rounds
            ));
            // Rotate the start and reverse every other round, so no variant always runs first
            // or always follows the same neighbour.
            let mut order: Vec<usize> = (0..n).map(|i| (i + round) % n).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                if !self.runs(&variants[i]) {
                    continue;
                }
                let v = &mut variants[i];
                let Ok(run) = &mut v.run else { continue };
                if errors[i].is_some() {
                    continue;
                }
                let before = uring_os::stats();
                match run() {
                    Ok(s) => {
                        samples[i].push(s.ns / s.ops.max(1) as f64);
                        by_round[i].push((round, s.ns / s.ops.max(1) as f64));
                        if self.progress.verbose() {
                            eprintln!("    {:>12.0} ns/op  {}", s.ns / s.ops.max(1) as f64, v.name);
                        }
                        let e = if v.role == Role::Uring {
                            Some(uring_os::stats().enters - before.enters)
                        } else {
                            s.enters
                        };
                        if let Some(e) = e {
                            enters[i].0 += e;
                            enters[i].1 += s.ops;
                        }
                    }
                    Err(e) => {
                        self.progress
                            .line(format!("[{row}] {}: error: {e}", v.name));
                        errors[i] = Some(format!("error: {e}"));
                    }
                }
            }
        }
        let medians: Vec<Option<f64>> = samples.iter_mut().map(|s| median(s)).collect();
        let std_ns = variants
            .iter()
            .zip(&medians)
            .find(|(v, _)| v.role == Role::Std)
            .and_then(|(_, m)| *m);
        let hand = |name: Option<&str>| -> Option<(String, f64)> {
            variants
                .iter()
                .zip(&medians)
                .filter(|(v, _)| v.role == Role::Hand)
                .find(|(v, _)| name.is_none_or(|n| v.name == n))
                .and_then(|(v, m)| Some((v.name.clone(), (*m)?)))
        };
        for (i, v) in variants.iter().enumerate() {
            let med = medians[i];
            let vs_std = match (med, std_ns) {
                (Some(m), Some(s)) if v.role != Role::Std => Some(m / s),
                _ => None,
            };
            let peer = match v.role {
                Role::Uring | Role::Std => hand(v.peer.as_deref()),
                _ => None,
            };
            let vs_hand = med.zip(peer.as_ref()).map(|(m, (_, h))| m / h);
            let versus = v
                .against
                .iter()
                .filter_map(|other| {
                    let j = variants.iter().position(|w| w.name == *other)?;
                    let mut ratios: Vec<f64> = by_round[i]
                        .iter()
                        .filter_map(|&(round, mine)| {
                            let &(_, theirs) = by_round[j].iter().find(|(r, _)| *r == round)?;
                            Some(theirs / mine)
                        })
                        .collect();
                    let median = median(&mut ratios)?;
                    Some(Versus {
                        other: other.clone(),
                        median,
                        min: ratios[0],
                        max: ratios[ratios.len() - 1],
                        rounds: ratios.len(),
                    })
                })
                .collect();
            let note = match (&v.run, &errors[i]) {
                (Err(reason), _) => Some(reason.clone()),
                (_, Some(e)) => Some(e.clone()),
                _ => None,
            };
            self.rows.push(Row {
                row,
                title: title.clone(),
                unit,
                variant: v.name.clone(),
                role: v.role,
                fig: Figure {
                    median: med,
                    min: samples[i].first().copied(),
                    max: samples[i].last().copied(),
                    rounds: samples[i].len(),
                    enters_per_op: (enters[i].1 > 0)
                        .then(|| enters[i].0 as f64 / enters[i].1 as f64),
                    vs_std,
                    note,
                    failed: errors[i].is_some(),
                },
                vs_hand,
                hand_peer: peer.map(|(name, _)| name),
                because: v.because,
                versus,
                under: Default::default(),
            });
        }
    }
}

/// An `io::Error` for a result that is not what the benchmark expects.
pub fn wrong(what: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("unexpected result: {what}"))
}

/// `Err(wrong(..))` unless `ok`.
#[inline]
pub fn ensure(ok: bool, what: impl FnOnce() -> String) -> io::Result<()> {
    if ok { Ok(()) } else { Err(wrong(what())) }
}

fn main() {
    let cfg = match parse_args() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(child) = cfg.child {
        // The policy comes from the environment the parent set, as it would for a program
        // switched over without a code change: no configure() here.
        std::process::exit(child::child_main(cfg, child));
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; timings mean little (use --release)");
    }
    // The main columns are Dispatch::Ring, through the ring, whatever the environment says:
    // the other policies are what the children measure.
    let config = uring_os::Config::default()
        .enabled(true)
        .dispatch(uring_os::Dispatch::Ring);
    if let Err(e) = uring_os::configure(config) {
        eprintln!("uring_os::configure failed: {e}");
        std::process::exit(1);
    }
    // The calling thread's ring is created here, before anything is timed.
    if let Err(e) = uring_os::nop() {
        eprintln!("uring_os::nop() failed: {e}");
        std::process::exit(1);
    }
    let mut bench = Bench::new(cfg, hand::probe());
    let started = Instant::now();
    if let Err(e) = workloads::run_all(&mut bench) {
        bench.progress.line(format!("benchmark setup failed: {e}"));
        std::process::exit(1);
    }
    let elapsed = started.elapsed();
    child::run_children(&mut bench);
    bench.progress.clear();
    let report = report::Report::new(&bench, elapsed);
    print!("{}", report.text());
    match report.write_files() {
        Ok(dir) => println!("\nwrote {0}/results.md and {0}/results.svg", dir.display()),
        Err(e) => {
            eprintln!("could not write the report files: {e}");
            std::process::exit(1);
        }
    }
    let mut failed = false;
    if bench
        .rows
        .iter()
        .any(|r| r.fig.failed || r.under.iter().flatten().any(|f| f.failed))
    {
        eprintln!("some variants failed (see the table)");
        failed = true;
    }
    for run in &bench.children {
        if let Err(e) = &run.outcome {
            eprintln!("the {} re-run failed: {e}", run.child.setting());
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
