//! The drop-in proof for `uring_os::fs`: each scenario runs once through `std::fs` and once
//! through `uring_os::fs` (the same source, with the module swapped by a `use` line) and
//! every result is compared: values, error kinds and `raw_os_error()`, and for scenarios
//! that change the filesystem, the tree they leave behind.

#![allow(
    clippy::vec_init_then_push,
    reason = "each scenario lists its results one call per line"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{
    DirEntryExt, FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
};
use std::path::{Path, PathBuf};

/// A result with the error reduced to what a caller can compare: kind and errno.
type Outcome<T> = Result<T, (ErrorKind, Option<i32>)>;

fn outcome<T>(res: io::Result<T>) -> Outcome<T> {
    res.map_err(|e| (e.kind(), e.raw_os_error()))
}

/// [`outcome`] as text, for lists of results of different types.
fn o<T: std::fmt::Debug>(res: io::Result<T>) -> String {
    format!("{:?}", outcome(res))
}

/// The fields of a `Metadata` (std's or ours), comparable.
macro_rules! meta {
    ($m:expr) => {{
        let m = $m;
        (
            (m.is_dir(), m.is_file(), m.is_symlink(), m.len()),
            (m.permissions().mode(), m.permissions().readonly()),
            (m.modified().ok(), m.created().is_ok()),
            (
                m.dev(),
                m.ino(),
                m.mode(),
                m.nlink(),
                m.uid(),
                m.gid(),
                m.rdev(),
            ),
            (
                m.size(),
                m.blksize(),
                m.blocks(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
            ),
            {
                let t = m.file_type();
                (
                    t.is_dir(),
                    t.is_file(),
                    t.is_symlink(),
                    t.is_fifo(),
                    t.is_socket(),
                )
            },
        )
    }};
}

/// A long name (one component over NAME_MAX) and a long path (over PATH_MAX).
fn long_name() -> String {
    "n".repeat(300)
}

fn long_path() -> String {
    "d/".repeat(2100)
}

/// The fixture every scenario starts from.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("file"), b"hello\n").unwrap();
    std::fs::write(p("empty"), b"").unwrap();
    for (name, len) in [
        ("k4", 4096),
        ("k16", 16384),
        ("k16p1", 16385),
        ("big", (1 << 17) + 7),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        std::fs::write(p(name), data).unwrap();
    }
    std::fs::write(p("bad_utf8"), b"ok\xff\xfe").unwrap();
    std::fs::create_dir_all(p("dir/sub/deeper")).unwrap();
    std::fs::write(p("dir/a"), b"a").unwrap();
    std::fs::write(p("dir/sub/b"), b"bb").unwrap();
    std::fs::write(p("dir/sub/deeper/c"), b"ccc").unwrap();
    std::os::unix::fs::symlink("../file", p("dir/sub/up")).unwrap();
    std::os::unix::fs::symlink("file", p("link")).unwrap();
    std::os::unix::fs::symlink("dir", p("dirlink")).unwrap();
    std::os::unix::fs::symlink("nowhere", p("dangling")).unwrap();
    std::os::unix::fs::symlink("loop2", p("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", p("loop2")).unwrap();
    std::fs::write(p("ro"), b"read only").unwrap();
    std::fs::set_permissions(p("ro"), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::create_dir(p("secret")).unwrap();
    std::fs::write(p("secret/inside"), b"s").unwrap();
    std::fs::set_permissions(p("secret"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(p("rootonly"), b"r").unwrap();
    std::fs::set_permissions(p("rootonly"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let fifo = std::ffi::CString::new(p("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid path; mkfifo makes a node.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    dir
}

/// Relative names every read-only scenario is tried on: files of every kind, missing,
/// under a file (ENOTDIR), loops, NUL-containing, too long, empty.
fn names() -> Vec<String> {
    [
        "file",
        "empty",
        "k4",
        "k16",
        "k16p1",
        "big",
        "bad_utf8",
        "dir",
        "dir/",
        "dir/a",
        "dir/sub",
        "dir/sub/up",
        "link",
        "dirlink",
        "dirlink/",
        "dangling",
        "loop1",
        "missing",
        "missing/x",
        "file/under",
        "file/",
        "a\0b",
        "ro",
        "secret",
        "secret/inside",
        "rootonly",
        "fifo",
        ".",
        "dir/..",
        "dir/sub/../../file",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long_name(), long_path()])
    .collect()
}

/// [`names`] without the FIFO, whose open for reading or writing waits for a peer.
fn names_no_fifo() -> Vec<String> {
    names().into_iter().filter(|n| n != "fifo").collect()
}

/// Everything about a tree a comparison needs: per relative path, the type, the mode and
/// the contents (of files) or the target (of symlinks).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let body = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else if meta.is_symlink() {
                std::fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_vec()
            } else {
                if meta.is_dir() {
                    stack.push(path.clone());
                }
                Vec::new()
            };
            out.insert(
                path.strip_prefix(root).unwrap().to_path_buf(),
                (meta.mode(), body),
            );
        }
    }
    out
}

use std::os::unix::ffi::OsStringExt;

/// Runs `$body` with `$fs` bound to `std::fs` and then to `uring_os::fs`, on the same
/// fixture (read-only scenarios), and compares the results.
macro_rules! same_ro {
    ($dir:ident, |$fs:ident| $body:expr) => {{
        let a = {
            #[allow(unused_imports)]
            use std::fs as $fs;
            $body
        };
        let b = {
            #[allow(unused_imports)]
            use uring_os::fs as $fs;
            $body
        };
        assert_eq!(
            a,
            b,
            "std (left) and uring_os (right) differ in {}",
            stringify!($body)
        );
    }};
}

/// Runs `$body` on a fresh fixture with `$fs` as `std::fs`, then on another with
/// `uring_os::fs`, and compares the results and the trees they leave.
macro_rules! same_rw {
    (|$fs:ident, $dir:ident| $body:expr) => {{
        let std_root = fixture();
        let our_root = fixture();
        let a = {
            #[allow(unused_imports)]
            use std::fs as $fs;
            let $dir: &Path = std_root.path();
            $body
        };
        let b = {
            #[allow(unused_imports)]
            use uring_os::fs as $fs;
            let $dir: &Path = our_root.path();
            $body
        };
        assert_eq!(
            a,
            b,
            "std (left) and uring_os (right) differ in {}",
            stringify!($body)
        );
        assert_eq!(
            snapshot(std_root.path()),
            snapshot(our_root.path()),
            "trees differ after {}",
            stringify!($body)
        );
    }};
}

#[test]
fn reads_and_metadata_of_every_kind_of_path() {
    let root = fixture();
    let dir = root.path();
    for name in names() {
        let p = dir.join(&name);
        if name != "fifo" {
            same_ro!(dir, |fs| outcome(fs::read(&p)));
            same_ro!(dir, |fs| outcome(fs::read_to_string(&p)));
            same_ro!(dir, |fs| outcome(fs::File::open(&p).and_then(|mut f| {
                let mut v = Vec::new();
                f.read_to_end(&mut v).map(|n| (n, v))
            })));
        }
        same_ro!(dir, |fs| outcome(fs::metadata(&p).map(|m| meta!(m))));
        same_ro!(dir, |fs| outcome(
            fs::symlink_metadata(&p).map(|m| meta!(m))
        ));
        same_ro!(dir, |fs| outcome(fs::exists(&p)));
        same_ro!(dir, |fs| outcome(fs::read_link(&p)));
        same_ro!(dir, |fs| outcome(fs::canonicalize(&p)));
        same_ro!(dir, |fs| outcome(fs::read_dir(&p).and_then(|rd| {
            let mut entries = rd
                .map(|e| {
                    let e = e?;
                    let ty = e.file_type()?;
                    Ok((
                        e.file_name(),
                        e.path(),
                        e.ino(),
                        ty.is_dir(),
                        ty.is_symlink(),
                        meta!(e.metadata()?),
                    ))
                })
                .collect::<io::Result<Vec<_>>>()?;
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(entries)
        })));
    }
    // Relative paths and the empty path, from the fixture as current directory is not
    // possible in a threaded test; absolute system files instead.
    for p in [
        "/proc/version",
        "/proc/self/nonexistent",
        "/dev/null",
        "/",
        "",
        "/etc/../etc",
    ] {
        same_ro!(dir, |fs| outcome(fs::read(p)));
        same_ro!(dir, |fs| outcome(fs::metadata(p).map(|m| (
            m.is_dir(),
            m.is_file(),
            m.ino()
        ))));
        same_ro!(dir, |fs| outcome(fs::canonicalize(p)));
    }
}

#[test]
fn file_handles_read_write_seek_and_positioned_io() {
    same_rw!(|fs, dir| {
        let path = dir.join("rw");
        let mut out = Vec::new();
        let mut f = fs::File::create(&path).unwrap();
        out.push(o(f.write(b"hello world")));
        out.push(o(f.seek(SeekFrom::Start(6))));
        out.push(o((&f).write(b"WORLD")));
        out.push(o(f.seek(SeekFrom::End(-3))));
        out.push(o(f.seek(SeekFrom::Current(-100))));
        out.push(o(f.write_at(b"J", 0)));
        out.push(o(f.read(&mut [0; 4]))); // write-only: EBADF
        out.push(o(f.set_len(100)));
        out.push(o(f.sync_all()));
        out.push(o(f.sync_data()));
        out.push(o(f.metadata().map(|m| m.len())));
        let g = fs::File::open(&path).unwrap();
        let mut buf = [0u8; 8];
        out.push(o(g.read_at(&mut buf, 3).map(|n| (n, buf))));
        out.push(o(g.read_exact_at(&mut buf, 96).map(|_| buf)));
        out.push(o(g.write_at(b"x", 0))); // read-only: EBADF
        let mut h = g.try_clone().unwrap();
        out.push(o((&g).seek(SeekFrom::Start(95))));
        let mut s = String::new();
        out.push(o(h.read_to_string(&mut s).map(|n| (n, s.clone()))));
        out.push(o(h.stream_position()));
        let mut v = Vec::new();
        out.push(o((&h)
            .seek(SeekFrom::Start(0))
            .and_then(|_| (&h).read_to_end(&mut v))));
        out.push(o(Ok(v.len())));
        out.push(o(g
            .set_permissions(fs::Permissions::from_mode(0o640))
            .map(|_| 0)));
        out.push(o(fs::File::open(dir.join("bad_utf8")).and_then(|mut f| {
            let mut s = String::from("kept");
            let r = f.read_to_string(&mut s).map(|_| 0);
            assert_eq!(s, "kept");
            r
        })));
        out
    });
}

#[test]
fn open_options_every_combination() {
    for bits in 0..64u32 {
        for target in [
            "file",
            "missing",
            "ro",
            "dir",
            "link",
            "dangling",
            "missing/x",
        ] {
            same_rw!(|fs, dir| {
                let mut o = fs::OpenOptions::new();
                o.read(bits & 1 != 0)
                    .write(bits & 2 != 0)
                    .append(bits & 4 != 0)
                    .truncate(bits & 8 != 0)
                    .create(bits & 16 != 0)
                    .create_new(bits & 32 != 0);
                outcome(o.open(dir.join(target)).map(|mut f| {
                    let w = f.write(b"+").map_err(|e| e.raw_os_error());
                    let mut s = Vec::new();
                    let r = f.read_to_end(&mut s).map_err(|e| e.raw_os_error());
                    (w, r, s)
                }))
            });
        }
    }
    // mode, custom_flags, create_new and create on every name.
    same_rw!(|fs, dir| {
        let mut out = Vec::new();
        out.push(o(fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join("m"))
            .map(drop)));
        out.push(o(fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join("link"))
            .map(drop)));
        out.push(o(fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(dir.join("file"))
            .map(drop)));
        for name in names_no_fifo() {
            out.push(o(fs::File::create_new(dir.join(&name)).map(drop)));
            out.push(o(fs::File::create(dir.join(&name)).map(drop)));
            out.push(o(fs::File::options()
                .read(true)
                .open(dir.join(&name))
                .map(drop)));
        }
        out
    });
}

#[test]
fn writes_copies_and_directory_changes() {
    same_rw!(|fs, dir| {
        let mut out = Vec::new();
        for name in names_no_fifo() {
            let p = dir.join(&name);
            out.push(o(fs::write(dir.join(format!("w-{}", name.len())), b"data")));
            out.push(o(fs::copy(&p, dir.join(format!("c-{}", name.len())))));
            out.push(o(fs::copy(dir.join("k16p1"), &p)));
            out.push(o(fs::create_dir(&p)));
            out.push(o(fs::set_permissions(
                &p,
                fs::Permissions::from_mode(0o751),
            )));
        }
        out.push(o(fs::copy("/proc/version", dir.join("version"))));
        out.push(o(fs::copy(dir.join("big"), dir.join("big-copy"))));
        out.push(o(fs::copy(dir.join("ro"), dir.join("file"))));
        out.push(o(fs::copy(dir.join("file"), dir.join("dir"))));
        out.push(o(fs::create_dir_all(dir.join("x/y/z"))));
        out.push(o(fs::create_dir_all(dir.join("x/y/z"))));
        out.push(o(fs::create_dir_all(dir.join("file/y"))));
        out.push(o(fs::create_dir_all(dir.join("dirlink/new"))));
        out.push(o(fs::create_dir_all("")));
        out.push(o(fs::create_dir_all(dir.join("a\0b/c"))));
        out
    });
    same_rw!(|fs, dir| {
        let mut out = Vec::new();
        for name in names() {
            out.push(o(fs::remove_file(dir.join(&name))));
        }
        for name in names() {
            out.push(o(fs::remove_dir(dir.join(&name))));
        }
        out
    });
    same_rw!(|fs, dir| {
        let mut out = Vec::new();
        out.push(o(fs::rename(dir.join("file"), dir.join("renamed"))));
        out.push(o(fs::rename(dir.join("missing"), dir.join("x"))));
        out.push(o(fs::rename(dir.join("dir"), dir.join("k4"))));
        out.push(o(fs::rename(dir.join("k4"), dir.join("dir"))));
        out.push(o(fs::rename(dir.join("dir"), dir.join("dir/sub/inside"))));
        out.push(o(fs::hard_link(dir.join("k16"), dir.join("hard"))));
        out.push(o(fs::hard_link(dir.join("k16"), dir.join("hard"))));
        out.push(o(fs::hard_link(dir.join("dir"), dir.join("hard-dir"))));
        out.push(o(fs::hard_link(dir.join("missing"), dir.join("h2"))));
        out.push(o(uring_os_or_std_symlink::<true>(dir, "s1")));
        out
    });
    same_rw!(|fs, dir| {
        let mut out = Vec::new();
        for name in [
            "dir", "dirlink", "link", "missing", "file", "dir/sub", "a\0b", "dangling",
        ] {
            out.push(o(fs::remove_dir_all(dir.join(name))));
        }
        out.push(o(fs::remove_dir_all(dir.join(long_path()))));
        out
    });
}

/// `symlink` lives in `std::os::unix::fs` in std and in `uring_os::fs` here; both are
/// compared directly.
fn uring_os_or_std_symlink<const X: bool>(dir: &Path, name: &str) -> io::Result<()> {
    let a = std::os::unix::fs::symlink("target", dir.join(format!("std-{name}")));
    let b = uring_os::fs::symlink("target", dir.join(format!("ours-{name}")));
    assert_eq!(outcome(a), outcome(b));
    let a = std::os::unix::fs::symlink("target", dir.join(format!("std-{name}")));
    let b = uring_os::fs::symlink("target", dir.join(format!("ours-{name}")));
    assert_eq!(outcome(a), outcome(b));
    std::fs::remove_file(dir.join(format!("std-{name}")))?;
    std::fs::rename(
        dir.join(format!("ours-{name}")),
        dir.join(format!("std-{name}")),
    )
}

#[test]
fn dir_builder_and_permissions() {
    same_rw!(|fs, dir| {
        use std::os::unix::fs::DirBuilderExt;
        let mut out = Vec::new();
        out.push(o(fs::DirBuilder::new().mode(0o700).create(dir.join("b1"))));
        out.push(o(fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir.join("b2/c/d"))));
        out.push(o(fs::DirBuilder::new().create(dir.join("b2/c/d"))));
        let mut perm = fs::metadata(dir.join("file")).unwrap().permissions();
        out.push(o(Ok(perm.readonly())));
        perm.set_readonly(true);
        out.push(o(Ok(perm.mode())));
        out.push(o(fs::set_permissions(dir.join("file"), perm).map(|_| 0)));
        out
    });
}

#[test]
fn conversions_keep_the_fd() {
    let root = fixture();
    let std_file = std::fs::File::open(root.path().join("file")).unwrap();
    let ours = uring_os::fs::File::from(std_file);
    let back: std::fs::File = ours.into();
    let owned: std::os::fd::OwnedFd = back.into();
    let mut ours = uring_os::fs::File::from(owned);
    let mut s = String::new();
    ours.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello\n");
}

/// Forbidden paths: as `nobody` in a fork child (the tests run as root), every call that
/// meets a directory without search permission or a file without read permission must fail
/// as std does.
#[test]
fn forbidden_paths_as_an_unprivileged_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root, so cannot switch to nobody (EACCES is covered as is)");
    }
    let root = fixture();
    let dir = root.path().to_path_buf();
    let code = common::fork::in_child(move || {
        // SAFETY: plain syscalls in the child.
        unsafe {
            if libc::geteuid() == 0
                && (libc::setresgid(65534, 65534, 65534) != 0
                    || libc::setresuid(65534, 65534, 65534) != 0)
            {
                return 2;
            }
        }
        let dir = dir.as_path();
        for name in ["secret/inside", "secret", "rootonly", "ro", "file"] {
            let p = dir.join(name);
            same_ro!(dir, |fs| outcome(fs::read(&p)));
            same_ro!(dir, |fs| outcome(fs::metadata(&p).map(|m| m.len())));
            same_ro!(dir, |fs| outcome(fs::read_dir(&p).map(|r| r.count())));
            same_ro!(dir, |fs| outcome(fs::write(&p, b"x")));
            same_ro!(dir, |fs| outcome(fs::File::create(p.join("new")).map(drop)));
            same_ro!(dir, |fs| outcome(fs::create_dir(dir.join("newdir"))));
            same_ro!(dir, |fs| outcome(fs::remove_file(&p)));
            same_ro!(dir, |fs| outcome(fs::canonicalize(&p)));
            same_ro!(dir, |fs| outcome(fs::exists(&p)));
            same_ro!(dir, |fs| outcome(fs::copy(&p, dir.join("copy"))));
        }
        0
    });
    assert_eq!(
        code, 0,
        "the unprivileged child failed (2: could not drop privileges)"
    );
}
