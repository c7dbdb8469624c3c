//! The report: per row, a table and what its figures mean, on stdout, in
//! `target/bench/results.md` and as a chart in `target/bench/results.svg`.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::child::Child;
use crate::{Bench, Figure, Role, Row, Why};

/// Ratios to std within this fraction of 1.0 count as "about what std costs": closer than
/// that, a noisy machine cannot tell them apart.
const SAME: f64 = 0.05;

/// Width of the prose under each row on stdout.
const TEXT_WIDTH: usize = 100;

pub struct Report<'a> {
    bench: &'a Bench,
    machine: String,
    command: String,
    ring: String,
    elapsed: Duration,
}

/// Thousands separators: 1234567 -> "1,234,567".
fn grouped(v: f64) -> String {
    let s = format!("{:.0}", v);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn ns_cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => grouped(v),
        None => "-".into(),
    }
}

fn ops_cell(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns > 0.0 => {
            let ops = 1e9 / ns;
            if ops >= 1e6 {
                format!("{:.2}M", ops / 1e6)
            } else if ops >= 1e3 {
                format!("{:.1}k", ops / 1e3)
            } else {
                format!("{ops:.0}")
            }
        }
        _ => "-".into(),
    }
}

fn ratio_cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
}

fn spread_cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |s| format!("±{s:.0}%"))
}

fn enters_cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 0.995 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
        None => "-".into(),
    }
}

/// A child's cells for a row: ns/op, ratio to std, enters/op, spread. Blank for the
/// variants no child runs; the std variant has no ratio or enters of its own.
fn child_cells(r: &Row, child: Child) -> [String; 4] {
    if !matches!(r.role, Role::Std | Role::Uring) {
        return Default::default();
    }
    let f = r.under(child);
    let uring = |cell: String| {
        if r.role == Role::Uring {
            cell
        } else {
            "-".into()
        }
    };
    [
        ns_cell(f.and_then(|f| f.median)),
        uring(ratio_cell(f.and_then(|f| f.vs_std))),
        uring(enters_cell(f.and_then(|f| f.enters_per_op))),
        spread_cell(f.and_then(Figure::spread)),
    ]
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Std => "std",
        Role::Uring => "uring_os",
        Role::Hand => "hand",
        Role::Other => "other",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `text` wrapped at `width` columns, every line starting with `indent` (the first with
/// `first` instead).
fn wrap(text: &str, width: usize, first: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("nproc {nproc}, Linux {release}, {cpu}")
}

fn ring_description() -> String {
    match uring_os::status().backend {
        uring_os::Backend::IoUring {
            setup_flags,
            entries,
            ..
        } => format!("io_uring, {entries} SQ entries, setup flags {setup_flags:#x}"),
        uring_os::Backend::Syscall { reason } => {
            format!("direct syscalls (no io_uring: {reason})")
        }
        other => format!("{other:?}"),
    }
}

impl Child {
    /// How the reading names the policy: "under Dispatch::Auto", "with URING_OS=off".
    fn phrase(self) -> &'static str {
        match self {
            Child::Auto => "under Dispatch::Auto",
            Child::Off => "with URING_OS=off",
        }
    }
}

/// What one uring_os variant's figures mean, in a sentence or three; `None` when it has no
/// figure to speak of (skipped, failed).
fn reading(r: &Row) -> Option<String> {
    let ratio = r.fig.vs_std?;
    let (slower, faster) = (ratio > 1.0 + SAME, ratio < 1.0 - SAME);
    // The reason only where the figures go its way.
    let because = match r.because {
        Some(Why::Slower(why)) if slower => format!(", because {why}"),
        Some(Why::Faster(why)) if faster => format!(", because {why}"),
        _ => String::new(),
    };
    let mut s = if slower {
        format!("{} takes {ratio:.2}x std's time here{because}.", r.variant)
    } else if faster {
        format!(
            "{} is {:.2}x faster than std here ({ratio:.2}x its time){because}.",
            r.variant,
            1.0 / ratio
        )
    } else {
        format!("{} costs about what std does ({ratio:.2}x).", r.variant)
    };
    let under: Vec<String> = Child::ALL
        .into_iter()
        .filter_map(|c| Some(format!("{}: {:.2}x std", c.phrase(), r.under(c)?.vs_std?)))
        .collect();
    if !under.is_empty() {
        let under = under.join("; ");
        let mut chars = under.chars();
        let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
        let _ = write!(s, " {}{}.", first.unwrap_or_default(), chars.as_str());
    }
    Some(s)
}

/// The round-by-round comparisons of one benchmark row's variants ([`crate::Versus`]), a
/// sentence each.
fn versus_lines(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        for v in &r.versus {
            out.push(format!(
                "{} against {}: {:.2}x its {}s per second (the median of {} rounds' ratios, \
                 {:.2}-{:.2})",
                r.variant, v.other, v.median, r.unit, v.rounds, v.min, v.max
            ));
        }
    }
    out
}

/// The rows of one benchmark row, in run order, each as a slice of its variants.
fn by_row(rows: &[Row]) -> impl Iterator<Item = &[Row]> {
    rows.chunk_by(|a, b| a.row == b.row)
}

impl<'a> Report<'a> {
    pub fn new(bench: &'a Bench, elapsed: Duration) -> Report<'a> {
        let cfg = &bench.cfg;
        let mut command = String::new();
        if cfg.quick_from_env {
            command.push_str("URING_OS_BENCH_QUICK=1 ");
        }
        command.push_str("cargo run --release --example bench");
        if !cfg.args.is_empty() {
            command.push_str(" -- ");
            command.push_str(&cfg.args.join(" "));
        }
        Report {
            bench,
            machine: machine(),
            command,
            ring: ring_description(),
            elapsed,
        }
    }

    /// What the figures of one row's uring_os variants mean; nothing in quick mode, where
    /// they mean nothing.
    fn readings(&self, rows: &[Row]) -> Vec<String> {
        if self.bench.cfg.quick {
            return Vec::new();
        }
        rows.iter()
            .filter(|r| r.role == Role::Uring)
            .filter_map(reading)
            .collect()
    }

    /// `key: value` lines about the run.
    fn header_lines(&self) -> Vec<String> {
        let cfg = &self.bench.cfg;
        let secs = |t: Duration| {
            let t = t.as_secs_f64();
            if t < 10.0 {
                format!("{t:.1} s")
            } else {
                format!("{t:.0} s")
            }
        };
        let mut columns = vec![format!(
            "main columns: uring_os as it comes, Dispatch::Ring (every call through the ring); {}",
            secs(self.elapsed)
        )];
        for run in &self.bench.children {
            let label = run.child.label();
            let setting = run.child.setting();
            columns.push(match &run.outcome {
                Ok((t, policy)) => {
                    format!(
                        "{label} columns: re-run with {setting} ({policy}); {}",
                        secs(*t)
                    )
                }
                Err(e) => format!("{label} columns: the re-run with {setting} failed: {e}"),
            });
        }
        let mut lines = vec![
            format!("machine: {}", self.machine),
            format!("command: {}", self.command),
            format!(
                "rounds: {} per row; each figure is the median, and a row's variants take turns within each round{}",
                cfg.rounds,
                if cfg.quick {
                    " (QUICK mode: tiny counts; the figures only show that the benchmark runs)"
                } else {
                    ""
                }
            ),
        ];
        lines.extend(columns);
        lines.push(format!("uring_os: {}", self.ring));
        lines.push(format!(
            "hand ring: the io-uring crate, {}",
            self.bench.hand_flags
        ));
        if cfg!(debug_assertions) {
            lines.push("build: DEBUG, timings mean little (use --release)".into());
        }
        lines
    }

    const LEGEND: &'static str = "How to read it: ns/op is the median time of one operation. \
        \"vs std\" divides it by the row's std (or plain syscall) time: below 1.00 is faster \
        than std. \"vs hand\" divides it by the same work on a hand-tuned io-uring ring. \
        The Auto and off columns come from re-running the same variants in a separate process \
        with that environment; their ratios divide by the std time measured in that same \
        process.";

    /// The stdout report.
    pub fn text(&self) -> String {
        let mut out = String::from("\nuring_os benchmark\n");
        for l in self.header_lines() {
            let _ = writeln!(out, "  {l}");
        }
        out.push('\n');
        out.push_str(&wrap(Self::LEGEND, TEXT_WIDTH, "", ""));
        let w = self
            .bench
            .rows
            .iter()
            .map(|r| r.variant.chars().count())
            .max()
            .unwrap_or(0)
            .max(7);
        let mut heading = format!(
            "  {:<w$} {:<8} {:>9} {:>6} {:>7}",
            "variant", "who", "ns/op", "vs std", "vs hand"
        );
        for child in Child::ALL {
            let _ = write!(
                heading,
                " | {:>10} {:>8}",
                format!("{} ns/op", child.label()),
                format!("{}/std", child.label())
            );
        }
        for rows in by_row(&self.bench.rows) {
            let first = &rows[0];
            let _ = writeln!(
                out,
                "\n[{}] {} (ns per {})",
                first.row, first.title, first.unit
            );
            let _ = writeln!(out, "{heading}");
            for r in rows {
                let _ = write!(
                    out,
                    "  {:<w$} {:<8} {:>9} {:>6} {:>7}",
                    r.variant,
                    role_name(r.role),
                    ns_cell(r.fig.median),
                    ratio_cell(r.fig.vs_std),
                    ratio_cell(r.vs_hand)
                );
                for child in Child::ALL {
                    let [ns, ratio, _, _] = child_cells(r, child);
                    let _ = write!(out, " | {ns:>10} {ratio:>8}");
                }
                out.push('\n');
                if let Some(note) = &r.fig.note {
                    let _ = writeln!(out, "      ({note})");
                }
                for child in Child::ALL {
                    if let Some(note) = r.under(child).and_then(|f| f.note.as_ref()) {
                        let _ = writeln!(out, "      ({}: {note})", child.phrase());
                    }
                }
            }
            for text in versus_lines(rows) {
                out.push_str(&wrap(&text, TEXT_WIDTH, "  = ", "    "));
            }
            for text in self.readings(rows) {
                out.push_str(&wrap(&text, TEXT_WIDTH, "  - ", "    "));
            }
        }
        if !self.bench.notes.is_empty() {
            out.push('\n');
            for n in &self.bench.notes {
                out.push_str(&wrap(n, TEXT_WIDTH, "note: ", "  "));
            }
        }
        out
    }

    /// `results.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# uring_os benchmark\n\n");
        for l in self.header_lines() {
            let (k, v) = l.split_once(": ").unwrap_or(("", &l));
            if k == "command" {
                let _ = writeln!(out, "- {k}: `{v}`");
            } else {
                let _ = writeln!(out, "- {k}: {v}");
            }
        }
        let _ = writeln!(
            out,
            "\n{} spread: ±half the min-max range over the rounds. enters/op: io_uring_enter \
             calls per operation.\n",
            Self::LEGEND
        );
        let mut head = String::from(
            "| row | variant | who | ns/op | ops/s | vs std | vs hand | enters/op | spread |",
        );
        let mut rule = String::from("|---|---|---|--:|--:|--:|--:|--:|--:|");
        for child in Child::ALL {
            let l = child.label();
            let _ = write!(head, " {l} ns/op | {l}/std | {l} enters/op | {l} spread |");
            rule.push_str("--:|--:|--:|--:|");
        }
        let _ = writeln!(out, "{head}\n{rule}");
        for r in &self.bench.rows {
            let mut variant = r.variant.clone();
            if let Some(note) = &r.fig.note {
                let _ = write!(variant, " — *{}*", note.replace('|', "/"));
            }
            for child in Child::ALL {
                if let Some(note) = r.under(child).and_then(|f| f.note.as_ref()) {
                    let _ = write!(
                        variant,
                        " — *{}: {}*",
                        child.phrase(),
                        note.replace('|', "/")
                    );
                }
            }
            let _ = write!(
                out,
                "| {} (per {}) | {variant} | {} | {} | {} | {} | {} | {} | {} |",
                r.row,
                r.unit,
                role_name(r.role),
                ns_cell(r.fig.median),
                ops_cell(r.fig.median),
                ratio_cell(r.fig.vs_std),
                ratio_cell(r.vs_hand),
                enters_cell(r.fig.enters_per_op),
                spread_cell(r.fig.spread()),
            );
            for child in Child::ALL {
                for cell in child_cells(r, child) {
                    let _ = write!(out, " {cell} |");
                }
            }
            out.push('\n');
        }
        let versus: Vec<(&Row, &crate::Versus)> = self
            .bench
            .rows
            .iter()
            .flat_map(|r| r.versus.iter().map(move |v| (r, v)))
            .collect();
        if !versus.is_empty() {
            let _ = writeln!(
                out,
                "\n## Round by round\n\nIn every round where both ran: the other's ns/op \
                 divided by the variant's, i.e. the variant's ops/s divided by the other's \
                 (above 1.00 the variant is faster); the median over the rounds, and the \
                 lowest and highest.\n\n| row | variant | against | ops/s ratio | lowest | \
                 highest | rounds |\n|---|---|---|--:|--:|--:|--:|"
            );
            for (r, v) in versus {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {} |",
                    r.row, r.variant, v.other, v.median, v.min, v.max, v.rounds
                );
            }
        }
        if !self.bench.cfg.quick {
            let _ = writeln!(out, "\n## What the figures mean\n");
            for rows in by_row(&self.bench.rows) {
                for text in self.readings(rows) {
                    let _ = writeln!(out, "- **{}**: {text}", rows[0].row);
                }
            }
        }
        let _ = writeln!(
            out,
            "\n\"vs hand\" of each uring_os variant compares it with:\n"
        );
        for r in &self.bench.rows {
            if let (Role::Uring, Some(peer)) = (r.role, &r.hand_peer) {
                let _ = writeln!(out, "- {}: {} — {}", r.row, r.variant, peer);
            }
        }
        let _ = writeln!(out, "\nRows:\n");
        for (name, what) in crate::ROWS {
            if self.bench.rows.iter().any(|r| r.row == *name) {
                let _ = writeln!(out, "- `{name}`: {what}");
            }
        }
        if !self.bench.notes.is_empty() {
            out.push('\n');
            for n in &self.bench.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }

    /// `results.svg`: a horizontal bar per measured non-std variant, its ns/op ÷ std, and
    /// under each uring_os variant a bar per child for the same variant there; the 1.0 line.
    pub fn svg(&self) -> String {
        const URING: &str = "#1f77b4";
        const HAND: &str = "#8c8c8c";
        const OTHER: &str = "#ff7f0e";
        let child_color = |c: Child| match c {
            Child::Auto => "#2ca02c",
            Child::Off => "#9467bd",
        };
        // (label, ratio, colour, whether a child's bar)
        let mut bars: Vec<(String, f64, &str, bool)> = Vec::new();
        for r in &self.bench.rows {
            if r.role == Role::Std {
                continue;
            }
            if let Some(ratio) = r.fig.vs_std {
                let color = match r.role {
                    Role::Uring => URING,
                    Role::Hand => HAND,
                    _ => OTHER,
                };
                bars.push((format!("{}: {}", r.row, r.variant), ratio, color, false));
            }
            for child in Child::ALL {
                if let Some(ratio) = r.under(child).and_then(|f| f.vs_std) {
                    let label = if r.fig.vs_std.is_some() {
                        child.phrase().to_string()
                    } else {
                        format!("{}: {} {}", r.row, r.variant, child.phrase())
                    };
                    bars.push((label, ratio, child_color(child), true));
                }
            }
        }
        const CAP: f64 = 4.0;
        let max = bars.iter().map(|b| b.1).fold(1.5f64, f64::max).min(CAP);
        let x_max = (max * 2.0).ceil() / 2.0;
        let (width, label_w, right_pad, row_h, top) = (1100.0, 470.0, 70.0, 20.0, 150.0);
        let plot_w = width - label_w - right_pad;
        let height = top + row_h * bars.len() as f64 + 50.0;
        let x_of = |v: f64| label_w + plot_w * (v.min(x_max) / x_max);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">uring_os benchmark: time per op ÷ std (lower is faster)</text>"#
        );
        let header = self.header_lines();
        let lines: Vec<&str> = header
            .iter()
            .filter(|l| {
                ["machine:", "command:", "rounds:", "uring_os:"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(String::as_str)
            .collect();
        for (i, l) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                r##"<text x="10" y="{}" fill="#333">{}</text>"##,
                42 + i * 16,
                xml_escape(l)
            );
        }
        // Legend.
        let mut legend = vec![("uring_os (default: Dispatch::Ring)".to_string(), URING)];
        for child in Child::ALL {
            legend.push((format!("uring_os {}", child.phrase()), child_color(child)));
        }
        legend.push(("hand-tuned io-uring ring".into(), HAND));
        legend.push(("other (fio, other syscalls)".into(), OTHER));
        let mut lx = 10.0;
        for (name, color) in &legend {
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
                top - 24.0,
                lx + 16.0,
                top - 14.0,
                xml_escape(name)
            );
            lx += 26.0 + 6.5 * name.chars().count() as f64;
        }
        // Grid and axis.
        let bottom = top + row_h * bars.len() as f64;
        let mut tick = 0.0;
        while tick <= x_max + 1e-9 {
            let x = x_of(tick);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#e5e5e5"/><text x="{x:.1}" y="{}" text-anchor="middle" fill="#555">{tick:.1}</text>"##,
                bottom + 14.0
            );
            tick += 0.5;
        }
        for (i, (label, ratio, color, child)) in bars.iter().enumerate() {
            let y = top + row_h * i as f64;
            let (style, (bar_y, bar_h)) = if *child {
                (
                    format!(r#" fill="{color}" font-style="italic""#),
                    (y + 1.0, row_h - 8.0),
                )
            } else {
                (String::new(), (y + 3.0, row_h - 6.0))
            };
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end"{style}>{}</text>"#,
                label_w - 6.0,
                y + 14.0,
                xml_escape(label)
            );
            let w = x_of(*ratio) - label_w;
            let _ = writeln!(
                s,
                r#"<rect x="{label_w}" y="{bar_y}" width="{w:.1}" height="{bar_h}" fill="{color}"/>"#,
            );
            let clipped = if *ratio > x_max { " ▶" } else { "" };
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{}" fill="#222">{ratio:.2}{clipped}</text>"##,
                label_w + w + 4.0,
                y + 14.0
            );
        }
        let x1 = x_of(1.0);
        let _ = writeln!(
            s,
            r##"<line x1="{x1:.1}" y1="{}" x2="{x1:.1}" y2="{}" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>
<text x="{x1:.1}" y="{}" text-anchor="middle" fill="#d62728">std = 1.0</text>"##,
            top - 4.0,
            bottom + 2.0,
            bottom + 30.0,
        );
        s.push_str("</svg>\n");
        s
    }

    /// Writes `results.md` and `results.svg` under `target/bench/`; returns the directory.
    pub fn write_files(&self) -> io::Result<PathBuf> {
        let dir = crate::workloads::target_dir().join("bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("results.md"), self.markdown())?;
        std::fs::write(dir.join("results.svg"), self.svg())?;
        Ok(dir)
    }
}
