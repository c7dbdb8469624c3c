//! Helpers shared by the shim's tests: the built library, running a shell command with and
//! without it, and reading its stats lines.

#![allow(dead_code)] // reason: each test binary uses a different subset of the helpers

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `target/release/liburing_os_preload.so`, built once per test binary.
pub fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "uring_os_preload"])
            .current_dir(workspace())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the shim failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"));
        let so = target.join("release/liburing_os_preload.so");
        assert!(so.exists(), "{} missing", so.display());
        so
    })
}

/// Whether a program is installed; tests that need a missing one say so and skip.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skips the calling test loudly when `program` is missing.
#[macro_export]
macro_rules! need {
    ($($program:literal),+) => {
        $(
            if !common::have($program) {
                eprintln!("SKIPPED: {} is not installed (.ci/run installs it)", $program);
                return;
            }
        )+
    };
}

/// How a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Without the shim.
    Plain,
    /// With the shim and its default selection.
    Shim,
    /// With the shim and `URING_OS_PRELOAD_OPS=all` (punted operations through the ring too).
    ShimAll,
}

/// What a command printed, and the shim's stats lines.
pub struct Run {
    pub output: Output,
    pub stats: Vec<String>,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Ring operations of the stats lines of processes named `program` (see
    /// [`ring_marker`]).
    pub fn ring_ops(&self, program: &str) -> u64 {
        let marker = ring_marker();
        self.stats
            .iter()
            .filter(|l| l.starts_with(&format!("uring_os_preload: {program}[")))
            .map(|l| number_before(l, marker))
            .sum()
    }
}

/// What a stats line counts as calls through the ring. With io_uring switched off
/// (`URING_OS=off`) or single calls sent to their syscalls (`URING_OS_DISPATCH=auto`), as
/// CI runs the suite once each, few or no calls go through a ring: then the calls routed
/// to uring_os are counted instead.
pub fn ring_marker() -> &'static str {
    let off = std::env::var("URING_OS").is_ok_and(|v| v == "off");
    let auto = std::env::var("URING_OS_DISPATCH").is_ok_and(|v| v == "auto");
    if off || auto {
        " calls to uring_os"
    } else {
        " through the ring"
    }
}

/// The number just before `marker` in `line`.
pub fn number_before(line: &str, marker: &str) -> u64 {
    let end = line
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {line:?}"));
    let start = line[..end].rfind(['(', ' ']).map_or(0, |i| i + 1);
    line[start..end]
        .parse()
        .unwrap_or_else(|_| panic!("no number in {line:?}"))
}

/// Runs `script` with `sh -c` in `dir`, in `mode`; stats lines go to a file of their own.
pub fn sh(dir: &Path, script: &str, mode: Mode) -> Run {
    sh_env(dir, script, mode, &[])
}

/// As [`sh`], with extra environment variables.
pub fn sh_env(dir: &Path, script: &str, mode: Mode, env: &[(&str, &str)]) -> Run {
    let stats_file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]).current_dir(dir);
    // The test harness's own settings must not leak in.
    cmd.env_remove("LD_PRELOAD")
        .env_remove("URING_OS_PRELOAD")
        .env_remove("URING_OS_PRELOAD_OPS")
        .env_remove("URING_OS_STATS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    if mode != Mode::Plain {
        cmd.env("LD_PRELOAD", shim())
            .env("URING_OS_STATS", stats_file.path());
        if mode == Mode::ShimAll {
            cmd.env("URING_OS_PRELOAD_OPS", "all");
        }
    }
    let output = cmd.output().expect("sh runs");
    let stats = std::fs::read_to_string(stats_file.path())
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    Run { output, stats }
}

/// Runs `script` without the shim and with it (both selections), asserts that each run
/// succeeded with the same stdout, and returns the shim runs.
pub fn same_with_and_without(dir: &Path, setup: &str, script: &str) -> (Run, Run) {
    let prepare = |mode: Mode| {
        if !setup.is_empty() {
            let r = sh(dir, setup, Mode::Plain);
            assert!(r.output.status.success(), "setup failed: {}", r.stderr());
        }
        let r = sh(dir, script, mode);
        assert!(
            r.output.status.success(),
            "{mode:?}: {script} failed: {}\n{:?}",
            r.stderr(),
            r.stats
        );
        r
    };
    let plain = prepare(Mode::Plain);
    let shim = prepare(Mode::Shim);
    let all = prepare(Mode::ShimAll);
    assert_eq!(plain.stdout(), shim.stdout(), "with the shim: {script}");
    assert_eq!(
        plain.stdout(),
        all.stdout(),
        "with URING_OS_PRELOAD_OPS=all: {script}"
    );
    (shim, all)
}

/// Deterministic pseudo-random bytes (xorshift), so runs compare.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Compiles a C test program from `compat/tests/c/` into `dir`.
pub fn compile_c(name: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/{name}.c"));
    let exe = dir.join(name);
    let out = Command::new("cc")
        .args(["-O1", "-Wall", "-Werror", "-D_GNU_SOURCE", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("cc runs");
    assert!(
        out.status.success(),
        "cc {}: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}
