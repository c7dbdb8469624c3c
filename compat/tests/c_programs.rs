//! C programs built with `cc` from `tests/c/`, run without the shim, with it, and with
//! `URING_OS_PRELOAD_OPS=all`: the same output every time, which is libc's.

mod common;

use common::{Mode, Run};

fn run_c(program: &std::path::Path, args: &str, mode: Mode) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{} {args}", program.display());
    let run = common::sh(dir.path(), &script, mode);
    assert!(
        run.output.status.success(),
        "{mode:?} {script}: {:?}\n{}",
        run.output.status,
        run.stderr()
    );
    run
}

/// Runs `program args` in the three modes and returns the outputs, which must agree.
fn agree(program: &std::path::Path, args: &str) -> [Run; 3] {
    let plain = run_c(program, args, Mode::Plain);
    let shim = run_c(program, args, Mode::Shim);
    let all = run_c(program, args, Mode::ShimAll);
    for (mode, run) in [("shim", &shim), ("URING_OS_PRELOAD_OPS=all", &all)] {
        if plain.stdout() != run.stdout() {
            let diff: Vec<_> = plain
                .stdout()
                .lines()
                .zip(run.stdout().lines())
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("libc: {a}\n{mode}: {b}"))
                .collect();
            panic!("{program:?} {args}: {mode} differs:\n{}", diff.join("\n"));
        }
    }
    [plain, shim, all]
}

#[test]
fn errno_paths_match_libc() {
    let build = tempfile::tempdir().unwrap();
    let program = common::compile_c("errno_paths", build.path());
    let [plain, shim, all] = agree(&program, "");
    assert!(plain.stdout().lines().count() > 200, "{}", plain.stdout());
    let name = "errno_paths";
    assert!(shim.ring_ops(name) > 50, "{:?}", shim.stats);
    assert!(all.ring_ops(name) > shim.ring_ops(name), "{:?}", all.stats);
}

#[test]
fn eintr_read_without_and_with_sa_restart() {
    let build = tempfile::tempdir().unwrap();
    let program = common::compile_c("eintr", build.path());
    for call in ["read", "recv", "accept", "poll"] {
        let [plain, shim, _] = agree(&program, &format!("{call} norestart"));
        assert!(
            plain
                .stdout()
                .contains("result -1, Interrupted system call, handled 1"),
            "{}",
            plain.stdout()
        );
        assert!(shim.ring_ops("eintr") > 0, "{call}: {:?}", shim.stats);
        let [plain, shim, _] = agree(&program, &format!("{call} restart"));
        let expected = if call == "poll" {
            // poll(2) is never restarted after a handler.
            "result -1, Interrupted system call, handled 1"
        } else {
            "result 1, no error, handled 1"
        };
        assert!(plain.stdout().contains(expected), "{}", plain.stdout());
        assert!(shim.ring_ops("eintr") > 0, "{call}: {:?}", shim.stats);
    }
}

#[test]
fn fd_numbers_are_those_without_the_shim() {
    let build = tempfile::tempdir().unwrap();
    let program = common::compile_c("first_open", build.path());
    let [plain, ..] = agree(&program, "");
    assert!(
        plain.stdout().starts_with("first open: 3\n"),
        "{}",
        plain.stdout()
    );
    assert!(
        plain.stdout().contains("after closing all: 0 1 2"),
        "{}",
        plain.stdout()
    );
}

#[test]
fn threads_thread_exit_fork_vfork_and_handlers() {
    let build = tempfile::tempdir().unwrap();
    let program = common::compile_c("threads", build.path());
    let [plain, shim, _] = agree(&program, "");
    for expected in [
        "shared file: 16000 bytes",
        "thread-exit writes: abcd",
        "vfork child said: from the vfork child",
        "fork child wrote 1000 bytes, status 0",
        "read after the handler: 4 late, the handler wrote h",
    ] {
        assert!(plain.stdout().contains(expected), "{}", plain.stdout());
    }
    let line = shim
        .stats
        .iter()
        .find(|l| l.contains("threads["))
        .expect("a stats line");
    for reason in ["thread exit: 4", "vfork child", "signal handler: 1"] {
        assert!(line.contains(reason), "{reason}: {line}");
    }
    assert!(shim.ring_ops("threads") > 0, "{line}");
}

#[test]
fn no_call_runs_with_old_credentials() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: changing credentials needs root");
        return;
    }
    let build = tempfile::tempdir().unwrap();
    let program = common::compile_c("credentials", build.path());
    let [plain, shim, _] = agree(&program, "");
    assert!(
        plain.stdout().contains("as nobody: open Permission denied"),
        "{}",
        plain.stdout()
    );
    // uring_os runs each operation with the thread's current credentials, so the calls after
    // the change go through the ring too, and are refused as the syscalls are.
    let line = shim
        .stats
        .iter()
        .find(|l| l.contains("credentials["))
        .expect("a stats line");
    assert!(shim.ring_ops("credentials") >= 9, "{line}");
}

#[test]
fn unshare_sends_later_calls_to_libc() {
    let build = tempfile::tempdir().unwrap();
    let program = common::compile_c("unshare", build.path());
    let [plain, _, all] = agree(&program, "");
    assert_eq!(plain.stdout(), "a/after missing, b/after exists\n");
    let line = all
        .stats
        .iter()
        .find(|l| l.contains("unshare["))
        .expect("a stats line");
    assert!(line.contains("unshare or setns: "), "{line}");
    assert!(all.ring_ops("unshare") > 0, "{line}");
}

#[test]
fn knobs_off_and_selected_calls() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), common::bytes(1 << 20, 9)).unwrap();
    let run = |env: &[(&str, &str)]| {
        let run = common::sh_env(dir.path(), "cat data | cksum", Mode::Shim, env);
        assert!(run.output.status.success(), "{}", run.stderr());
        let line = run
            .stats
            .iter()
            .find(|l| l.contains("cat["))
            .expect("a stats line")
            .clone();
        (run.stdout(), line)
    };
    let plain = common::sh(dir.path(), "cat data | cksum", Mode::Plain).stdout();
    let (out, line) = run(&[("URING_OS_PRELOAD", "off")]);
    assert_eq!(out, plain);
    assert!(line.contains(": 0 calls to uring_os"), "{line}");
    assert!(line.contains("URING_OS_PRELOAD=off: "), "{line}");
    let (out, line) = run(&[("URING_OS_PRELOAD_OPS", "read")]);
    assert_eq!(out, plain);
    assert!(
        common::number_before(&line, common::ring_marker()) >= 8,
        "{line}"
    );
    assert!(line.contains("not in URING_OS_PRELOAD_OPS: "), "{line}");
}
