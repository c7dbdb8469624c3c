//! CPython's own regression tests for the os, io and file-handling modules: the same tests
//! pass (and the same fail or skip) with the shim as without it.

mod common;

use std::collections::BTreeMap;

use common::Mode;

const TESTS: &[&str] = &[
    "test_os",
    "test_io",
    "test_fileio",
    "test_file",
    "test_fileinput",
    "test_shutil",
    "test_tempfile",
    "test_posix",
];

/// Each test case's outcome ("passed", "failed", "skipped"), from regrtest's JUnit XML.
fn outcomes(xml: &str) -> BTreeMap<String, &'static str> {
    let attr = |chunk: &str, name: &str| {
        let key = format!("{name}=\"");
        chunk.find(&key).map(|i| {
            let rest = &chunk[i + key.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_owned()
        })
    };
    xml.split("<testcase ")
        .skip(1)
        .filter_map(|chunk| {
            let head = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
            let name = attr(head, "name")?;
            let body = if head.ends_with('/') {
                ""
            } else {
                &chunk[..chunk.find("</testcase>").unwrap_or(chunk.len())]
            };
            let outcome = if body.contains("<failure") || body.contains("<error") {
                "failed"
            } else if body.contains("<skipped") {
                "skipped"
            } else {
                "passed"
            };
            Some((name, outcome))
        })
        .collect()
}

fn run_suite(mode: Mode) -> (BTreeMap<String, &'static str>, common::Run) {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "python3 -m test {} --junit-xml junit.xml >log.txt 2>&1; tail -5 log.txt",
        TESTS.join(" ")
    );
    let run = common::sh(dir.path(), &script, mode);
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap_or_else(|e| {
        panic!(
            "{mode:?}: no junit.xml ({e}): {}\n{}",
            run.stdout(),
            std::fs::read_to_string(dir.path().join("log.txt")).unwrap_or_default()
        )
    });
    (outcomes(&xml), run)
}

#[test]
fn cpython_os_io_and_file_tests_pass_alike() {
    need!("python3");
    let probe = common::sh(
        std::path::Path::new("/"),
        "python3 -c 'import test.support, test.test_os'",
        Mode::Plain,
    );
    if !probe.output.status.success() {
        eprintln!("SKIPPED: python3's test package is not installed (.ci/run installs it)");
        return;
    }
    let (plain, _) = run_suite(Mode::Plain);
    assert!(plain.len() > 1000, "only {} test cases ran", plain.len());
    for mode in [Mode::Shim, Mode::ShimAll] {
        let (shim, run) = run_suite(mode);
        let differ: Vec<_> = plain
            .iter()
            .filter(|(name, outcome)| shim.get(*name) != Some(*outcome))
            .map(|(name, outcome)| format!("{name}: {outcome} without, {:?} with", shim.get(name)))
            .collect();
        assert!(differ.is_empty(), "{mode:?}:\n{}", differ.join("\n"));
        assert_eq!(
            plain.len(),
            shim.len(),
            "{mode:?}: a different number of test cases ran"
        );
        let ring: u64 = run.ring_ops("python3");
        assert!(
            ring > 100_000,
            "{mode:?}: {ring} ring operations: {:?}",
            run.stats
        );
        println!(
            "{mode:?}: {} test cases alike, {ring} operations through the ring",
            plain.len()
        );
    }
}
