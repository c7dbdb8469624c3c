//! The re-runs under other policies. For each [`Child`] the benchmark runs itself again as a
//! child process whose environment picks the policy (`URING_OS_DISPATCH=auto`, then
//! `URING_OS=off`), with the internal flag `--child=NAME`. The child measures the std and
//! uring_os variants of the same rows and prints its results on stdout, one line per variant,
//! for the parent to read.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Bench, Cfg, Figure, Role};

/// A policy the benchmark re-runs itself under. The environment alone sets it, as it would
/// for a program switched over without a code change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    /// `URING_OS_DISPATCH=auto`: `Dispatch::Auto`.
    Auto,
    /// `URING_OS=off`: every call runs as its direct syscall.
    Off,
}

/// The variables that pick uring_os's policy: a child clears them all, then sets its own.
const POLICY_VARS: [&str; 2] = ["URING_OS", "URING_OS_DISPATCH"];

/// The first line of a child's output; a change of the line format changes its version.
pub const FORMAT: &str = "uring_os-bench-child 2";

impl Child {
    /// Every child, in run order.
    pub const ALL: [Child; 2] = [Child::Auto, Child::Off];

    /// The name after `--child=`.
    pub fn name(self) -> &'static str {
        match self {
            Child::Auto => "auto",
            Child::Off => "off",
        }
    }

    pub fn from_name(name: &str) -> Option<Child> {
        Child::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The heading of its columns.
    pub fn label(self) -> &'static str {
        match self {
            Child::Auto => "Auto",
            Child::Off => "off",
        }
    }

    /// The environment variable that selects the policy, and its value.
    pub fn env(self) -> (&'static str, &'static str) {
        match self {
            Child::Auto => ("URING_OS_DISPATCH", "auto"),
            Child::Off => ("URING_OS", "off"),
        }
    }

    /// `VAR=value`, for the report.
    pub fn setting(self) -> String {
        let (var, value) = self.env();
        format!("{var}={value}")
    }

    /// Its slot in [`crate::Row::under`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Checks by behaviour that the policy is in force (the configuration is not readable)
    /// and describes it: a hundred single NOPs go through the ring under `Dispatch::Ring`
    /// (but for a thread's warm-up calls), through none under Auto or off.
    fn check(self) -> Result<String, String> {
        let before = uring_os::stats();
        for _ in 0..100 {
            uring_os::nop().map_err(|e| format!("uring_os::nop() failed: {e}"))?;
        }
        let through_ring = uring_os::stats().ops - before.ops;
        let setting = self.setting();
        match (self, uring_os::status().backend) {
            (_, uring_os::Backend::IoUring { .. }) if through_ring > 0 => Err(format!(
                "{setting} did not take effect: {through_ring} of 100 single uring_os::nop() \
                 calls went through the ring"
            )),
            (Child::Auto, uring_os::Backend::IoUring { .. }) => Ok("Dispatch::Auto".into()),
            (
                Child::Off,
                uring_os::Backend::Syscall {
                    reason: uring_os::FallbackReason::Disabled,
                },
            ) => Ok("every call runs as its direct syscall".into()),
            (Child::Off, backend) => Err(format!(
                "{setting} did not take effect: the backend is {backend:?}"
            )),
            // No ring at all: every call is a syscall whatever the policy.
            (Child::Auto, uring_os::Backend::Syscall { reason }) => Ok(format!(
                "Dispatch::Auto, but no ring here ({reason}): every call is a direct syscall"
            )),
            (Child::Auto, backend) => Ok(format!("Dispatch::Auto, backend {backend:?}")),
        }
    }
}

/// How one child went.
pub struct ChildRun {
    pub child: Child,
    /// How long it took and what the child found in force, or why it has no results.
    pub outcome: Result<(Duration, String), String>,
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

/// The child's `main`: runs the rows under the policy of its environment and prints
/// [`FORMAT`], a `policy` line, one `row` line per std and uring_os variant and `end`.
/// Returns the exit code.
pub fn child_main(cfg: Cfg, child: Child) -> i32 {
    let mut bench = Bench::new(
        cfg,
        Err(format!("not run in the {} re-run", child.setting())),
    );
    let policy = match child.check() {
        Ok(p) => p,
        Err(e) => {
            bench.progress.line(format!("[{}] {e}", child.setting()));
            return 1;
        }
    };
    if let Err(e) = crate::workloads::run_all(&mut bench) {
        bench
            .progress
            .line(format!("[{}] benchmark setup failed: {e}", child.setting()));
        return 1;
    }
    bench.progress.clear();
    let mut out = format!("{FORMAT}\npolicy\t{}\n", text_field(&policy));
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
            field(r.fig.median),
            field(r.fig.min),
            field(r.fig.max),
            r.fig.rounds,
            field(r.fig.enters_per_op),
            u8::from(r.fig.failed),
            r.fig.note.as_deref().map_or_else(|| "-".into(), text_field),
        ));
    }
    out.push_str("end\n");
    print!("{out}");
    0
}

// ---------------------------------------------------------------------------------------------
// The parent.

/// The child's command line: the parent's selection and counts, plus `--child=NAME`.
fn child_args(cfg: &Cfg, child: Child) -> Vec<String> {
    let mut args = vec![format!("--child={}", child.name())];
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

/// One variant's figure as the child reported it.
struct Line {
    row: String,
    variant: String,
    is_std: bool,
    figure: Figure,
}

/// One `row` line; the figure without `vs_std`.
fn parse_row(line: &str) -> Result<Line, String> {
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
    Ok(Line {
        row: row.to_string(),
        variant: variant.to_string(),
        is_std: role == "std",
        figure,
    })
}

/// Parses a child's stdout: the `policy` description and the figures.
fn parse(out: &str) -> Result<(String, Vec<Line>), String> {
    let mut lines = out.lines();
    if lines.next() != Some(FORMAT) {
        return Err(format!("the child's output does not start with {FORMAT:?}"));
    }
    let mut policy = None;
    let mut figures = Vec::new();
    for line in lines {
        if line == "end" {
            let policy = policy.ok_or("no policy line in the child's output")?;
            return Ok((policy, figures));
        }
        match line.split_once('\t') {
            Some(("policy", p)) => policy = Some(p.to_string()),
            Some(("row", _)) => figures.push(parse_row(line)?),
            _ => return Err(format!("unexpected line {line:?} from the child")),
        }
    }
    Err("the child's output ends without \"end\"".into())
}

/// Runs the child and returns the policy it found and its figures, with their ratios.
fn run(b: &Bench, child: Child) -> Result<(String, Vec<Line>), String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the benchmark's executable: {e}"))?;
    let (var, value) = child.env();
    let mut cmd = Command::new(exe);
    for v in POLICY_VARS {
        cmd.env_remove(v);
    }
    let out = cmd
        .env(var, value)
        .args(child_args(&b.cfg, child))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start the child: {e}"))?;
    if !out.status.success() {
        return Err(format!("the child exited with {}", out.status));
    }
    let (policy, mut figures) = parse(&String::from_utf8_lossy(&out.stdout))?;
    // Ratios within the child: its uring_os variants over its std variant of the same row.
    for i in 0..figures.len() {
        let std_ns = figures
            .iter()
            .find(|l| l.row == figures[i].row && l.is_std)
            .and_then(|l| l.figure.median);
        let l = &mut figures[i];
        if !l.is_std {
            l.figure.vs_std = l.figure.median.zip(std_ns).map(|(m, s)| m / s);
        }
    }
    Ok((policy, figures))
}

/// Runs every child in turn and files their figures in `b.rows` (`Row::under`);
/// `b.children` says how each went.
pub fn run_children(b: &mut Bench) {
    for child in Child::ALL {
        let started = Instant::now();
        let outcome = run(b, child).map(|(policy, figures)| {
            for r in b
                .rows
                .iter_mut()
                .filter(|r| matches!(r.role, Role::Std | Role::Uring))
            {
                r.under[child.index()] = figures
                    .iter()
                    .find(|l| l.row == r.row && l.variant == r.variant)
                    .map(|l| l.figure.clone());
            }
            (started.elapsed(), policy)
        });
        b.children.push(ChildRun { child, outcome });
    }
}
