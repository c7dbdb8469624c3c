//! The `Dispatch::Auto` re-run: the benchmark runs itself as a child process with
//! `URING_OS_DISPATCH=auto --auto-child`, which measures the std and uring_os variants of the
//! same rows and prints its results on stdout, one line per variant, for the parent to read.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{AUTO_TARGET, Bench, Cfg, Role, Row};

/// The first line of the child's output; a change of the line format changes its version.
pub const FORMAT: &str = "uring_os-bench-auto 1";

/// One variant under `Dispatch::Auto`, as the child measured it.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Median, min and max ns per op over the child's rounds.
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub rounds: usize,
    pub enters_per_op: Option<f64>,
    /// ns/op ÷ the std variant's ns/op, both from the child (uring_os variants only).
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

// ---------------------------------------------------------------------------------------------
// The child.

/// `Some(v)` as `v`, `None` as `-`.
fn field(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v}"))
}

/// A free-text field: no tabs or line breaks.
fn text_field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Whether `Dispatch::Auto` is in force, checked by behaviour (the configuration is not
/// readable): a single NOP under Auto runs as the direct path, not through the ring.
fn check_auto() -> Result<&'static str, String> {
    // A thread's first calls may run directly before it sets its ring up (warm-up calls):
    // under Ring some of a hundred go through the ring, under Auto none.
    let before = uring_os::stats();
    for _ in 0..100 {
        uring_os::nop().map_err(|e| format!("uring_os::nop() failed: {e}"))?;
    }
    let after = uring_os::stats();
    match uring_os::status().backend {
        uring_os::Backend::IoUring { .. } => {
            if after.ops == before.ops && after.fallbacks > before.fallbacks {
                Ok("auto")
            } else {
                Err(
                    "URING_OS_DISPATCH=auto did not select Dispatch::Auto: a single \
                     uring_os::nop() went through the ring"
                        .into(),
                )
            }
        }
        // No ring at all: every call is a syscall whatever the policy.
        _ => Ok("auto (no ring here: every call is a direct syscall)"),
    }
}

/// The child's `main`: runs the rows under the policy of the environment (the parent sets
/// `URING_OS_DISPATCH=auto`) and prints [`FORMAT`], a `dispatch` line, one `row` line per
/// std and uring_os variant and `end`. Returns the exit code.
pub fn child_main(cfg: Cfg) -> i32 {
    let dispatch = match check_auto() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("[auto] {e}");
            return 1;
        }
    };
    let mut bench = Bench {
        cfg,
        hand_unavailable: Some("not run in the Dispatch::Auto child".into()),
        hand_flags: "-".into(),
        rows: Vec::new(),
        notes: Vec::new(),
        auto_run: None,
    };
    if let Err(e) = crate::workloads::run_all(&mut bench) {
        eprintln!("[auto] benchmark setup failed: {e}");
        return 1;
    }
    let mut out = format!("{FORMAT}\ndispatch\t{dispatch}\n");
    for r in bench
        .rows
        .iter()
        .filter(|r| matches!(r.role, Role::Std | Role::Uring))
    {
        out.push_str(&format!(
            "row\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.row,
            text_field(&r.variant),
            if r.role == Role::Std { "std" } else { "uring" },
            field(r.median),
            field(r.min),
            field(r.max),
            r.rounds,
            field(r.enters_per_op),
            u8::from(r.failed),
            r.note.as_deref().map_or_else(|| "-".into(), text_field),
        ));
    }
    out.push_str("end\n");
    print!("{out}");
    0
}

// ---------------------------------------------------------------------------------------------
// The parent.

/// The child's command line: the parent's selection and counts, plus `--auto-child`.
fn child_args(cfg: &Cfg) -> Vec<String> {
    let mut args = vec!["--auto-child".to_string()];
    if cfg.quick {
        args.push("--quick".into());
    }
    args.push(format!("--rounds={}", cfg.rounds));
    if !cfg.only.is_empty() {
        args.push(format!("--only={}", cfg.only.join(",")));
    }
    if let Some(dir) = &cfg.dir {
        args.push("--dir".into());
        args.push(dir.display().to_string());
    }
    if let Some(v) = &cfg.variant {
        args.push("--variant".into());
        args.push(v.clone());
    }
    if cfg.verbose {
        args.push("--verbose".into());
    }
    args
}

fn number(s: &str, what: &str) -> Result<Option<f64>, String> {
    if s == "-" {
        return Ok(None);
    }
    s.parse::<f64>()
        .map(Some)
        .map_err(|_| format!("bad {what} {s:?}"))
}

/// One `row` line: (row, variant, is std, figure without `vs_std`).
fn parse_row(line: &str) -> Result<(String, String, bool, Figure), String> {
    let f: Vec<&str> = line.split('\t').collect();
    let [
        "row",
        row,
        variant,
        role,
        median,
        min,
        max,
        rounds,
        enters,
        failed,
        note,
    ] = f[..]
    else {
        return Err(format!("malformed line {line:?}"));
    };
    let figure = Figure {
        median: number(median, "median")?,
        min: number(min, "min")?,
        max: number(max, "max")?,
        rounds: rounds
            .parse()
            .map_err(|_| format!("bad rounds {rounds:?}"))?,
        enters_per_op: number(enters, "enters/op")?,
        vs_std: None,
        note: (note != "-").then(|| note.to_string()),
        failed: failed == "1",
    };
    Ok((row.to_string(), variant.to_string(), role == "std", figure))
}

/// Parses the child's stdout: the `dispatch` description and the figures.
#[allow(clippy::type_complexity)]
fn parse(out: &str) -> Result<(String, Vec<(String, String, bool, Figure)>), String> {
    let mut lines = out.lines();
    if lines.next() != Some(FORMAT) {
        return Err(format!("the child's output does not start with {FORMAT:?}"));
    }
    let mut dispatch = None;
    let mut figures = Vec::new();
    for line in lines {
        if line == "end" {
            let dispatch = dispatch.ok_or("no dispatch line in the child's output")?;
            return Ok((dispatch, figures));
        }
        match line.split_once('\t') {
            Some(("dispatch", d)) => dispatch = Some(d.to_string()),
            Some(("row", _)) => figures.push(parse_row(line)?),
            _ => return Err(format!("unexpected line {line:?} from the child")),
        }
    }
    Err("the child's output ends without \"end\"".into())
}

/// Runs the child and files its figures in `b.rows`; `b.auto_run` says how it went.
pub fn run_child(b: &mut Bench) {
    let started = Instant::now();
    eprintln!("[auto] re-running the rows in a child process with URING_OS_DISPATCH=auto");
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            b.auto_run = Some(Err(format!("cannot find the benchmark's executable: {e}")));
            return;
        }
    };
    let output = Command::new(exe)
        .args(child_args(&b.cfg))
        .env("URING_OS_DISPATCH", "auto")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output();
    let out = match output {
        Ok(out) if out.status.success() => out.stdout,
        Ok(out) => {
            b.auto_run = Some(Err(format!("the child exited with {}", out.status)));
            return;
        }
        Err(e) => {
            b.auto_run = Some(Err(format!("cannot start the child: {e}")));
            return;
        }
    };
    let (dispatch, mut figures) = match parse(&String::from_utf8_lossy(&out)) {
        Ok(parsed) => parsed,
        Err(e) => {
            b.auto_run = Some(Err(e));
            return;
        }
    };
    // Ratios within the child: its uring_os variants over its std variant of the same row.
    let std_of = |row: &str, figures: &[(String, String, bool, Figure)]| {
        figures
            .iter()
            .find(|(r, _, is_std, _)| r == row && *is_std)
            .and_then(|(_, _, _, f)| f.median)
    };
    for i in 0..figures.len() {
        let std_ns = std_of(&figures[i].0, &figures);
        let (_, _, is_std, f) = &mut figures[i];
        if !*is_std {
            f.vs_std = f.median.zip(std_ns).map(|(m, s)| m / s);
        }
    }
    for r in b
        .rows
        .iter_mut()
        .filter(|r| matches!(r.role, Role::Std | Role::Uring))
    {
        r.auto = figures
            .iter()
            .find(|(row, variant, _, _)| row == r.row && *variant == r.variant)
            .map(|(_, _, _, f)| f.clone());
    }
    b.notes.push(format!(
        "Auto columns: the same rows re-run in a child process with URING_OS_DISPATCH=auto \
         (dispatch in force there: {dispatch}); Auto vs std divides by the std variant \
         measured in that child"
    ));
    b.auto_run = Some(Ok(started.elapsed()));
}

/// A row's verdict under `Dispatch::Auto`: its best uring_os variant under Auto, and under
/// Ring for comparison, each as (variant, ratio vs std).
pub struct Verdict {
    pub row: &'static str,
    pub best_auto: Option<(String, f64)>,
    pub best_ring: Option<(String, f64)>,
}

impl Verdict {
    /// Whether the row meets the Auto target; `None` when it has no Auto figure.
    pub fn passes(&self) -> Option<bool> {
        self.best_auto.as_ref().map(|(_, r)| *r <= AUTO_TARGET)
    }
}

fn best<'a>(rows: impl Iterator<Item = (&'a Row, Option<f64>)>) -> Option<(String, f64)> {
    rows.filter_map(|(r, ratio)| Some((r.variant.clone(), ratio?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// The verdict of every row that has uring_os variants, in run order.
pub fn verdicts(rows: &[Row]) -> Vec<Verdict> {
    let mut names: Vec<&'static str> = Vec::new();
    for r in rows {
        if r.role == Role::Uring && !names.contains(&r.row) {
            names.push(r.row);
        }
    }
    names
        .into_iter()
        .map(|row| {
            let uring = || {
                rows.iter()
                    .filter(move |r| r.row == row && r.role == Role::Uring)
            };
            Verdict {
                row,
                best_auto: best(uring().map(|r| (r, r.auto.as_ref().and_then(|a| a.vs_std)))),
                best_ring: best(uring().map(|r| (r, r.vs_std))),
            }
        })
        .collect()
}
