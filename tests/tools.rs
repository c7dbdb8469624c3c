//! The example tools `ucp` and `hashtree`, run as programs (`cargo test` builds the
//! examples beside the tests) and compared with what they stand in for: GNU `cp -a` and
//! `find | LC_ALL=C sort -z | xargs -0 sha256sum`. `.ci/tools` compares whole trees; these
//! check the other cases: errors and their messages, single files, copying into a
//! directory, quiet stderr. A case that needs a tool this machine lacks is skipped, saying
//! so.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built example `name`, beside this test binary's directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = dir.join("examples").join(name);
    if !path.exists() {
        // `cargo test` builds the examples; `cargo test --test tools` does not.
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building {name}");
    }
    path
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    // SAFETY: geteuid only reads the process's credentials.
    unsafe { libc::geteuid() == 0 }
}

/// A command that runs as an unprivileged user when the tests run as root, so that a
/// file without read permission cannot be read.
fn unprivileged(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("LC_ALL", "C");
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A tree the unprivileged user may read (but for `secret`) and a writable `out`.
fn tree_with_a_secret() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), b"alpha").unwrap();
    fs::write(src.join("sub/b"), vec![7u8; 300_000]).unwrap();
    fs::write(src.join("secret"), b"hidden").unwrap();
    fs::set_permissions(src.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    (dir, src, out)
}

/// stderr lines with the program's name taken off.
fn messages(output: &Output, program: &str) -> Vec<String> {
    text(&output.stderr)
        .lines()
        .map(|l| l.strip_prefix(program).unwrap_or(l).to_string())
        .collect()
}

#[test]
fn ucp_reports_an_unreadable_file_as_cp_does_and_copies_the_rest() {
    if !has("cp") {
        return eprintln!("skipped: no cp");
    }
    let (_dir, src, out) = tree_with_a_secret();
    let ours = unprivileged(example("ucp"))
        .arg(&src)
        .arg(out.join("ucp"))
        .output()
        .unwrap();
    let theirs = unprivileged("cp")
        .arg("-a")
        .arg(&src)
        .arg(out.join("cp"))
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), Some(1), "{}", text(&ours.stderr));
    assert_eq!(theirs.status.code(), Some(1), "{}", text(&theirs.stderr));
    let want = format!(
        ": cannot open '{}' for reading: Permission denied",
        src.join("secret").display()
    );
    assert_eq!(messages(&ours, "ucp"), vec![want.clone()]);
    assert_eq!(messages(&theirs, "cp"), vec![want]);
    assert_eq!(fs::read(out.join("ucp/a")).unwrap(), b"alpha");
    assert_eq!(fs::read(out.join("ucp/sub/b")).unwrap(), vec![7u8; 300_000]);
}

#[test]
fn ucp_reports_an_unwritable_destination() {
    let (_dir, src, out) = tree_with_a_secret();
    fs::remove_file(src.join("secret")).unwrap();
    let locked = out.join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let ours = unprivileged(example("ucp"))
        .arg(&src)
        .arg(locked.join("copy"))
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(
        messages(&ours, "ucp"),
        vec![format!(
            ": cannot create directory '{}': Permission denied",
            locked.join("copy").display()
        )]
    );
}

#[test]
fn ucp_copies_files_and_into_directories_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&a, b"one file").unwrap();
    fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).unwrap();
    // A file to a new name.
    let out = Command::new(example("ucp"))
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read(&b).unwrap(), b"one file");
    let (ma, mb) = (fs::metadata(&a).unwrap(), fs::metadata(&b).unwrap());
    assert_eq!(
        (ma.mode(), ma.mtime(), ma.mtime_nsec()),
        (mb.mode(), mb.mtime(), mb.mtime_nsec())
    );
    // Several sources into an existing directory, each under its own name.
    let into = dir.path().join("into");
    fs::create_dir(&into).unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("x/y")).unwrap();
    fs::write(tree.join("x/y/z"), b"deep").unwrap();
    let out = Command::new(example("ucp"))
        .args([&a, &tree, &into])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read(into.join("a")).unwrap(), b"one file");
    assert_eq!(fs::read(into.join("tree/x/y/z")).unwrap(), b"deep");
    // Into itself: refused, as cp refuses it.
    let out = Command::new(example("ucp"))
        .arg(&tree)
        .arg(tree.join("x/inside"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("into itself"),
        "{}",
        text(&out.stderr)
    );
    // A missing source.
    let missing = dir.path().join("missing");
    let out = Command::new(example("ucp"))
        .arg(&missing)
        .arg(dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "ucp: cannot stat '{}': No such file or directory\n",
            missing.display()
        )
    );
}

/// The reference pipeline's output for `root`, in the C locale.
fn pipeline(root: &Path) -> Output {
    let script = "find \"$1\" -type f -print0 | sort -z | xargs -0 sha256sum";
    unprivileged("sh")
        .args(["-c", script, "sh"])
        .arg(root)
        .output()
        .unwrap()
}

#[test]
fn hashtree_matches_the_pipeline_on_odd_names_and_sizes() {
    if !has("sha256sum") {
        return eprintln!("skipped: no sha256sum");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    fs::create_dir_all(root.join("a-b/c")).unwrap();
    fs::create_dir_all(root.join("a/b")).unwrap();
    let names: [&[u8]; 8] = [
        b"plain",
        b"with space",
        b"back\\slash",
        b"new\nline",
        b"cr\rret",
        b"latin1-\xe9",
        b"a/b/nested",
        b"a-b/c/sorted-before-slash",
    ];
    let sizes = [
        0usize,
        1,
        65535,
        65536,
        65537,
        1 << 20,
        3 * (1 << 20) + 5,
        4096,
    ];
    for (name, size) in names.iter().zip(sizes) {
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        fs::write(root.join(OsStr::from_bytes(name)), data).unwrap();
    }
    std::os::unix::fs::symlink("plain", root.join("link")).unwrap();
    for arg in [root.clone(), PathBuf::from(format!("{}/", root.display()))] {
        let ours = Command::new(example("hashtree"))
            .arg(&arg)
            .output()
            .unwrap();
        let theirs = pipeline(&arg);
        assert!(ours.status.success(), "{}", text(&ours.stderr));
        assert!(ours.stderr.is_empty(), "{}", text(&ours.stderr));
        assert_eq!(text(&ours.stdout), text(&theirs.stdout));
        assert_eq!(ours.stdout, theirs.stdout);
    }
}

#[test]
fn hashtree_reports_an_unreadable_file_and_hashes_the_rest() {
    if !has("sha256sum") {
        return eprintln!("skipped: no sha256sum");
    }
    let (_dir, src, _out) = tree_with_a_secret();
    let ours = unprivileged(example("hashtree"))
        .arg(&src)
        .output()
        .unwrap();
    let theirs = pipeline(&src);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(ours.stdout, theirs.stdout);
    let want = format!(": {}: Permission denied", src.join("secret").display());
    assert_eq!(messages(&ours, "hashtree"), vec![want.clone()]);
    assert_eq!(messages(&theirs, "sha256sum"), vec![want]);
}
