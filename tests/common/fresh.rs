//! Running a test in a fresh process: where it needs a process-wide setting (`configure`,
//! `URING_OS_ENTRIES`, `URING_OS_DISPATCH`, fixed once per process) or a process whose other
//! threads hold no locks when it forks. The test binary runs itself again on one ignored
//! helper test (named `fresh_*`), which does nothing unless [`is_fresh`] says it was started
//! for it.

use std::fmt::Display;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Names the helper test a fresh process runs; the helpers do nothing without it.
const FRESH_ENV: &str = "URING_OS_TESTS_FRESH";

/// How long a fresh process may run before it counts as hung.
const FRESH_LIMIT: Duration = Duration::from_secs(20);

/// Whether this process was started by [`in_fresh_process`] to run helper test `test`.
pub fn is_fresh(test: &str) -> bool {
    std::env::var(FRESH_ENV).is_ok_and(|name| name == test)
}

/// In a fresh process: the test does not apply here; the parent test skips, saying why.
pub fn fresh_skip(reason: impl Display) {
    println!("SKIP: {reason}");
}

/// Runs the ignored helper test `test` of this binary in a fresh process with `env` set
/// (and the crate's own variables cleared otherwise); panics with its output if it fails or
/// hangs.
pub fn in_fresh_process(test: &str, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([
            test,
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env_remove("URING_OS")
        .env_remove("URING_OS_ENTRIES")
        .env_remove("URING_OS_DISPATCH")
        .env(FRESH_ENV, test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    // A fork like any other (see `fork`); spawn returns once the child has exec'd.
    let forking = super::fork::forking();
    let mut child = command.spawn().expect("running the test binary again");
    drop(forking);
    let read_all = |mut stream: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
        });
        rx
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + FRESH_LIMIT;
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(10)),
        }
    };
    // A grandchild still holding the pipes must not hang the parent.
    let text = |rx: mpsc::Receiver<String>| {
        rx.recv_timeout(Duration::from_secs(2))
            .unwrap_or_else(|_| "<pipe still open>".into())
    };
    let (stdout, stderr) = (text(stdout), text(stderr));
    match status {
        None => panic!(
            "{test} hung: killed after {FRESH_LIMIT:?}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}"
        ),
        Some(status) if status.success() && stdout.contains("1 passed") => {
            if let Some(reason) = stdout.lines().find_map(|l| l.strip_prefix("SKIP: ")) {
                super::skip(test, reason);
            }
        }
        Some(status) => panic!(
            "{test} failed in a fresh process ({status})\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}"
        ),
    }
}
