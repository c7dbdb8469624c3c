//! The report: a table on stdout, `target/bench/results.md` and `target/bench/results.svg`.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Bench, Role, Row};

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
            format!("hand ring: io-uring crate, {}", self.bench.hand_flags),
        ];
        if cfg!(debug_assertions) {
            lines.push("WARNING: debug build".into());
        }
        lines
    }

    const LEGEND: &'static str = "vs std / vs hand: ns/op ÷ the row's std (or hand-ring) ns/op; \
        below 1.00 is faster. spread: ±half the min-max range over the rounds. \
        enters/op: io_uring_enter calls per op (uring_os: from uring_os::stats()).";

    fn cells(r: &Row) -> [String; 8] {
        [
            r.variant.clone(),
            role_name(r.role).into(),
            ns_cell(r.median),
            ops_cell(r.median),
            ratio_cell(r.vs_std),
            ratio_cell(r.vs_hand),
            enters_cell(r.enters_per_op),
            spread_cell(r),
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
        let mut current = "";
        for r in &self.bench.rows {
            if r.row != current {
                current = r.row;
                let _ = writeln!(out, "\n[{}] {} (ns per {})", r.row, r.title, r.unit);
                let _ = writeln!(
                    out,
                    "  {:<w$} {:<8} {:>10} {:>9} {:>7} {:>7} {:>9} {:>6}",
                    "variant", "who", "ns/op", "ops/s", "vs std", "vs hand", "enters/op", "spread"
                );
            }
            let c = Self::cells(r);
            let _ = writeln!(
                out,
                "  {:<w$} {:<8} {:>10} {:>9} {:>7} {:>7} {:>9} {:>6}",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
            );
            if let Some(note) = &r.note {
                let _ = writeln!(out, "      ({note})");
            }
        }
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
            "| row | variant | who | ns/op | ops/s | vs std | vs hand | enters/op | spread |"
        );
        let _ = writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|--:|");
        for r in &self.bench.rows {
            let c = Self::cells(r);
            let variant = match &r.note {
                Some(note) => format!("{} — *{}*", c[0], note.replace('|', "/")),
                None => c[0].clone(),
            };
            let _ = writeln!(
                out,
                "| {} (per {}) | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.row, r.unit, variant, c[1], c[2], c[3], c[4], c[5], c[6], c[7]
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

    /// `results.svg`: a horizontal bar per measured non-std variant, its ns/op ÷ std, with
    /// the 1.0 line.
    pub fn svg(&self) -> String {
        let bars: Vec<&Row> = self
            .bench
            .rows
            .iter()
            .filter(|r| r.role != Role::Std && r.vs_std.is_some())
            .collect();
        const CAP: f64 = 4.0;
        let max = bars
            .iter()
            .filter_map(|r| r.vs_std)
            .fold(1.5f64, f64::max)
            .min(CAP);
        let x_max = (max * 2.0).ceil() / 2.0;
        let (width, label_w, right_pad, row_h, top) = (1100.0, 470.0, 70.0, 20.0, 110.0);
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
        for (i, l) in self.header_lines().iter().take(3).enumerate() {
            let _ = writeln!(
                s,
                r##"<text x="10" y="{}" fill="#333">{}</text>"##,
                42 + i * 16,
                xml_escape(l)
            );
        }
        // Legend.
        let legend = [
            ("uring_os", "#1f77b4"),
            ("hand-tuned io-uring ring", "#8c8c8c"),
            ("other (fio, other syscall patterns)", "#ff7f0e"),
        ];
        let mut lx = 10.0;
        for (name, color) in legend {
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
                top - 22.0,
                lx + 16.0,
                top - 12.0,
                xml_escape(name)
            );
            lx += 26.0 + 7.0 * name.len() as f64;
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
        for (i, r) in bars.iter().enumerate() {
            let y = top + row_h * i as f64;
            let ratio = r.vs_std.unwrap_or(0.0);
            let color = match r.role {
                Role::Uring => "#1f77b4",
                Role::Hand => "#8c8c8c",
                _ => "#ff7f0e",
            };
            let label = format!("{}: {}", r.row, r.variant);
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                label_w - 6.0,
                y + 14.0,
                xml_escape(&label)
            );
            let w = x_of(ratio) - label_w;
            let _ = writeln!(
                s,
                r#"<rect x="{label_w}" y="{}" width="{w:.1}" height="{}" fill="{color}"/>"#,
                y + 3.0,
                row_h - 6.0
            );
            let clipped = if ratio > x_max { " ▶" } else { "" };
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
            bottom + 30.0
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
