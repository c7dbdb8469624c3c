//! The report: a table on stdout, `target/bench/results.md` and `target/bench/results.svg`.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::auto::{Verdict, verdicts};
use crate::{AUTO_TARGET, Bench, Role, Row};

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

fn auto_ns_cell(r: &Row) -> String {
    match &r.auto {
        Some(a) => ns_cell(a.median),
        None if matches!(r.role, Role::Std | Role::Uring) => "-".into(),
        None => String::new(),
    }
}

fn auto_ratio_cell(r: &Row) -> String {
    match (&r.auto, r.role) {
        (Some(a), Role::Uring) => ratio_cell(a.vs_std),
        (_, Role::Uring | Role::Std) => "-".into(),
        _ => String::new(),
    }
}

fn auto_enters_cell(r: &Row) -> String {
    match &r.auto {
        Some(a) if r.role == Role::Uring => enters_cell(a.enters_per_op),
        _ => String::new(),
    }
}

fn auto_spread_cell(r: &Row) -> String {
    match r.auto.as_ref().and_then(|a| a.spread()) {
        Some(s) => format!("±{s:.0}%"),
        None if matches!(r.role, Role::Std | Role::Uring) => "-".into(),
        None => String::new(),
    }
}

fn spread_cell(r: &Row) -> String {
    match (r.min, r.max, r.median) {
        (Some(lo), Some(hi), Some(m)) if r.rounds > 1 && m > 0.0 => {
            format!("±{:.0}%", (hi - lo) / m * 50.0)
        }
        _ => "-".into(),
    }
}

fn enters_cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 0.995 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
        None => "-".into(),
    }
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

    fn header_lines(&self) -> Vec<String> {
        let cfg = &self.bench.cfg;
        let auto = match &self.bench.auto_run {
            Some(Ok(t)) => format!(
                "Dispatch::Auto columns from a child process run with URING_OS_DISPATCH=auto, {:.0} s",
                t.as_secs_f64()
            ),
            Some(Err(e)) => format!("Dispatch::Auto child FAILED: {e}"),
            None => "Dispatch::Auto child not run".into(),
        };
        let mut lines = vec![
            format!("machine: {}", self.machine),
            format!("command: {}", self.command),
            format!(
                "mode: {}, {} round{} per row (median; variants alternate within each round), {:.0} s",
                if cfg.quick {
                    "QUICK (tiny counts: timings mean nothing)"
                } else {
                    "full"
                },
                cfg.rounds,
                if cfg.rounds == 1 { "" } else { "s" },
                self.elapsed.as_secs_f64()
            ),
            format!("uring_os: {}", self.ring),
            format!("dispatch: main columns Dispatch::Ring (every call through the ring); {auto}"),
            format!("hand ring: io-uring crate, {}", self.bench.hand_flags),
        ];
        if cfg!(debug_assertions) {
            lines.push("WARNING: debug build".into());
        }
        lines
    }

    const LEGEND: &'static str = "vs std / vs hand: ns/op ÷ the row's std (or hand-ring) ns/op; \
        below 1.00 is faster. spread: ±half the min-max range over the rounds. \
        enters/op: io_uring_enter calls per op (uring_os: from uring_os::stats()). \
        Auto ns/op: the variant re-run under Dispatch::Auto in a child process (for the std \
        variant: the child's own std run); Auto/std: that ÷ the child's std ns/op. \
        A row meets the Auto target when its best uring_os variant's Auto/std is at most 1.05.";

    /// The verdict line of a row.
    fn verdict_text(&self, v: &Verdict) -> String {
        let ring = v.best_ring.as_ref().map_or_else(String::new, |(_, r)| {
            format!("; under Dispatch::Ring: {r:.3}")
        });
        match &v.best_auto {
            None => format!("Dispatch::Auto: no figure{ring}"),
            Some((variant, ratio)) => {
                let judged = if self.bench.cfg.quick {
                    "not judged (quick mode)".to_string()
                } else if *ratio <= AUTO_TARGET {
                    format!("meets the target (≤ {AUTO_TARGET:.2})")
                } else {
                    format!("MISSES the target (> {AUTO_TARGET:.2})")
                };
                format!("Dispatch::Auto: best uring_os {ratio:.3}x std ({variant}): {judged}{ring}")
            }
        }
    }

    /// The summary line of the Auto target over all rows.
    fn auto_summary(&self) -> String {
        let verdicts = verdicts(&self.bench.rows);
        let judged: Vec<&Verdict> = verdicts.iter().filter(|v| v.passes().is_some()).collect();
        if judged.is_empty() {
            return "Dispatch::Auto target: no row has an Auto figure".into();
        }
        if self.bench.cfg.quick {
            return format!(
                "Dispatch::Auto target: not judged in quick mode ({} rows have Auto figures)",
                judged.len()
            );
        }
        let missed: Vec<String> = judged
            .iter()
            .filter(|v| v.passes() == Some(false))
            .filter_map(|v| Some(format!("{} {:.3}", v.row, v.best_auto.as_ref()?.1)))
            .collect();
        let met = judged.len() - missed.len();
        let mut line = format!(
            "Dispatch::Auto target (best uring_os variant ≤ {AUTO_TARGET:.2}x std): {met} of {} rows meet it",
            judged.len()
        );
        if !missed.is_empty() {
            line.push_str(&format!("; missed: {}", missed.join(", ")));
        }
        line
    }

    fn cells(r: &Row) -> [String; 10] {
        [
            r.variant.clone(),
            role_name(r.role).into(),
            ns_cell(r.median),
            ops_cell(r.median),
            ratio_cell(r.vs_std),
            ratio_cell(r.vs_hand),
            enters_cell(r.enters_per_op),
            spread_cell(r),
            auto_ns_cell(r),
            auto_ratio_cell(r),
        ]
    }

    /// The stdout table.
    pub fn text(&self) -> String {
        let mut out = String::new();
        out.push('\n');
        for l in self.header_lines() {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "{}", Self::LEGEND);
        let w = self
            .bench
            .rows
            .iter()
            .map(|r| r.variant.chars().count())
            .max()
            .unwrap_or(0)
            .max(7);
        let verdicts = verdicts(&self.bench.rows);
        let rows = &self.bench.rows;
        let mut start = 0;
        while start < rows.len() {
            let row = rows[start].row;
            let end = rows[start..]
                .iter()
                .position(|r| r.row != row)
                .map_or(rows.len(), |n| start + n);
            let first = &rows[start];
            let _ = writeln!(
                out,
                "\n[{}] {} (ns per {})",
                first.row, first.title, first.unit
            );
            let _ = writeln!(
                out,
                "  {:<w$} {:<8} {:>10} {:>9} {:>7} {:>7} {:>9} {:>6} | {:>10} {:>8}",
                "variant",
                "who",
                "ns/op",
                "ops/s",
                "vs std",
                "vs hand",
                "enters/op",
                "spread",
                "Auto ns/op",
                "Auto/std"
            );
            for r in &rows[start..end] {
                let c = Self::cells(r);
                let _ = writeln!(
                    out,
                    "  {:<w$} {:<8} {:>10} {:>9} {:>7} {:>7} {:>9} {:>6} | {:>10} {:>8}",
                    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
                );
                if let Some(note) = &r.note {
                    let _ = writeln!(out, "      ({note})");
                }
                if let Some(note) = r.auto.as_ref().and_then(|a| a.note.as_ref()) {
                    let _ = writeln!(out, "      (under Dispatch::Auto: {note})");
                }
            }
            if let Some(v) = verdicts.iter().find(|v| v.row == row) {
                let _ = writeln!(out, "  => {}", self.verdict_text(v));
            }
            if let Some(slower) = slower_line(&rows[start..end]) {
                let _ = writeln!(out, "  => {slower}");
            }
            start = end;
        }
        let _ = writeln!(out, "\n{}", self.auto_summary());
        if !self.bench.notes.is_empty() {
            out.push('\n');
            for n in &self.bench.notes {
                let _ = writeln!(out, "note: {n}");
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
        let _ = writeln!(out, "\n{}\n", Self::LEGEND);
        let _ = writeln!(
            out,
            "| row | variant | who | ns/op | ops/s | vs std | vs hand | enters/op | spread | Auto ns/op | Auto/std | Auto enters/op | Auto spread |"
        );
        let _ = writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for r in &self.bench.rows {
            let c = Self::cells(r);
            let mut variant = c[0].clone();
            if let Some(note) = &r.note {
                let _ = write!(variant, " — *{}*", note.replace('|', "/"));
            }
            if let Some(note) = r.auto.as_ref().and_then(|a| a.note.as_ref()) {
                let _ = write!(
                    variant,
                    " — *under Dispatch::Auto: {}*",
                    note.replace('|', "/")
                );
            }
            let _ = writeln!(
                out,
                "| {} (per {}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.row,
                r.unit,
                variant,
                c[1],
                c[2],
                c[3],
                c[4],
                c[5],
                c[6],
                c[7],
                c[8],
                c[9],
                auto_enters_cell(r),
                auto_spread_cell(r)
            );
        }
        let _ = writeln!(out, "\n## Where uring_os is slower than std, and why\n");
        let mut any = false;
        let mut start = 0;
        let rows = &self.bench.rows;
        while start < rows.len() {
            let end = start
                + rows[start..]
                    .iter()
                    .take_while(|r| r.row == rows[start].row)
                    .count();
            if let Some(slower) = slower_line(&rows[start..end]) {
                let _ = writeln!(out, "- **{}**: {slower}", rows[start].row);
                any = true;
            }
            start = end;
        }
        if !any {
            let _ = writeln!(out, "- nowhere in this run");
        }
        let _ = writeln!(
            out,
            "\n## Dispatch::Auto verdict\n\n{}\n",
            self.auto_summary()
        );
        let _ = writeln!(
            out,
            "| row | best uring_os under Auto | Auto/std | best under Ring | Ring/std | verdict |"
        );
        let _ = writeln!(out, "|---|---|--:|---|--:|---|");
        for v in verdicts(&self.bench.rows) {
            let (auto_name, auto_ratio) = v
                .best_auto
                .as_ref()
                .map_or(("-".to_string(), "-".to_string()), |(n, r)| {
                    (n.clone(), format!("{r:.3}"))
                });
            let (ring_name, ring_ratio) = v
                .best_ring
                .as_ref()
                .map_or(("-".to_string(), "-".to_string()), |(n, r)| {
                    (n.clone(), format!("{r:.3}"))
                });
            let verdict = match v.passes() {
                _ if self.bench.cfg.quick => "not judged (quick)",
                Some(true) => "meets",
                Some(false) => "**misses**",
                None => "-",
            };
            let _ = writeln!(
                out,
                "| {} | {auto_name} | {auto_ratio} | {ring_name} | {ring_ratio} | {verdict} |",
                v.row
            );
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
    /// under each uring_os variant a second bar for the same variant under Dispatch::Auto;
    /// the 1.0 line and the Auto target line.
    pub fn svg(&self) -> String {
        const URING: &str = "#1f77b4";
        const AUTO: &str = "#2ca02c";
        const HAND: &str = "#8c8c8c";
        const OTHER: &str = "#ff7f0e";
        // (label, ratio, colour, bold label)
        let mut bars: Vec<(String, f64, &str, bool)> = Vec::new();
        for r in &self.bench.rows {
            if r.role == Role::Std {
                continue;
            }
            if let Some(ratio) = r.vs_std {
                let color = match r.role {
                    Role::Uring => URING,
                    Role::Hand => HAND,
                    _ => OTHER,
                };
                bars.push((format!("{}: {}", r.row, r.variant), ratio, color, false));
            }
            if let Some(ratio) = r.auto.as_ref().and_then(|a| a.vs_std) {
                let label = if r.vs_std.is_some() {
                    "under Dispatch::Auto".to_string()
                } else {
                    format!("{}: {} under Dispatch::Auto", r.row, r.variant)
                };
                bars.push((label, ratio, AUTO, true));
            }
        }
        const CAP: f64 = 4.0;
        let max = bars.iter().map(|b| b.1).fold(1.5f64, f64::max).min(CAP);
        let x_max = (max * 2.0).ceil() / 2.0;
        let (width, label_w, right_pad, row_h, top) = (1100.0, 470.0, 70.0, 20.0, 150.0);
        let plot_w = width - label_w - right_pad;
        let height = top + row_h * bars.len() as f64 + 60.0;
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
        let mut lines: Vec<&str> = header
            .iter()
            .filter(|l| {
                ["machine:", "command:", "mode:", "dispatch:"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(String::as_str)
            .collect();
        let summary = self.auto_summary();
        lines.push(&summary);
        for (i, l) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                r##"<text x="10" y="{}" fill="#333">{}</text>"##,
                42 + i * 16,
                xml_escape(l)
            );
        }
        // Legend.
        let legend = [
            ("uring_os (Dispatch::Ring)", URING),
            ("uring_os under Dispatch::Auto (vs the child's std)", AUTO),
            ("hand-tuned io-uring ring", HAND),
            ("other (fio, other syscall patterns)", OTHER),
        ];
        let mut lx = 10.0;
        for (name, color) in legend {
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
        for (i, (label, ratio, color, auto)) in bars.iter().enumerate() {
            let y = top + row_h * i as f64;
            let (style, (bar_y, bar_h)) = if *auto {
                (
                    r##" fill="#2ca02c" font-style="italic""##,
                    (y + 1.0, row_h - 8.0),
                )
            } else {
                ("", (y + 3.0, row_h - 6.0))
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
        let xt = x_of(AUTO_TARGET);
        let _ = writeln!(
            s,
            r##"<line x1="{x1:.1}" y1="{}" x2="{x1:.1}" y2="{}" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>
<text x="{x1:.1}" y="{}" text-anchor="middle" fill="#d62728">std = 1.0</text>
<line x1="{xt:.1}" y1="{}" x2="{xt:.1}" y2="{}" stroke="#2ca02c" stroke-width="1" stroke-dasharray="2,2"/>
<text x="{xt:.1}" y="{}" text-anchor="start" fill="#2ca02c">Auto target {AUTO_TARGET:.2}</text>"##,
            top - 4.0,
            bottom + 2.0,
            bottom + 30.0,
            top - 4.0,
            bottom + 2.0,
            bottom + 44.0
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

/// Why going through the ring is slower than std on a row (when it is).
fn slower_reason(row: &str) -> &'static str {
    match row {
        "nop" | "pread" => {
            "one call through a ring pays a round trip (the kernel builds, issues and posts a \
             request) that a direct syscall does not; the hand-tuned ring pays it too"
        }
        "pread-x32" => {
            "cached data leaves nothing to overlap, and the ring's per-entry work exceeds a \
             syscall's entry cost; the hand-tuned ring is slower than std too"
        }
        "files" => "single calls: three ring round trips per file; batches win",
        "statx" => {
            "the kernel always hands statx to an io-wq worker thread: a single call pays a \
             thread handoff, a batch still one handoff per entry"
        }
        "fsync" => {
            "single calls: open with O_CREAT and fsync are handed to io-wq workers; batches win"
        }
        "tcp-echo" => "each send and recv pays a ring round trip on top of the socket work",
        _ => "the ring's round trip costs more than this work saves",
    }
}

/// "slower than std: ..." for a row's uring_os variants more than 5% slower than std
/// (Dispatch::Ring figures), with the reason.
fn slower_line(rows: &[Row]) -> Option<String> {
    let slower: Vec<String> = rows
        .iter()
        .filter(|r| r.role == Role::Uring)
        .filter_map(|r| Some((r, r.vs_std?)))
        .filter(|(_, ratio)| *ratio > 1.05)
        .map(|(r, ratio)| format!("{} {ratio:.2}x", r.variant))
        .collect();
    if slower.is_empty() {
        return None;
    }
    let row = rows[0].row;
    Some(format!(
        "slower than std: {}; why: {}",
        slower.join(", "),
        slower_reason(row)
    ))
}
