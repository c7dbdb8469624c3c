//! Unmodified programs give the same output with the shim as without it, and their calls go
//! through the ring (their stats lines say so). Each runs without the shim, with its default
//! selection, and with `URING_OS_PRELOAD_OPS=all`.

mod common;

use common::same_with_and_without;

#[test]
fn cat_into_sha256sum_of_a_20_mb_file() {
    need!("cat", "sha256sum");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big"), common::bytes(20 << 20, 7)).unwrap();
    let (shim, all) = same_with_and_without(dir.path(), "", "cat big | sha256sum");
    assert!(shim.ring_ops("cat") >= 160, "{:?}", shim.stats);
    assert!(all.ring_ops("cat") >= 160, "{:?}", all.stats);
}

#[test]
fn cp_r_of_a_tree_then_diff_r() {
    need!("cp", "diff");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for d in 0..8 {
        let sub = src.join(format!("d{d}/e{}", d % 3));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..25 {
            let len = (f * 977 + d * 131) % 70_000;
            std::fs::write(
                sub.join(format!("f{f}")),
                common::bytes(len, (d * 100 + f) as u64),
            )
            .unwrap();
        }
    }
    std::os::unix::fs::symlink("d0/e0/f1", src.join("link")).unwrap();
    let (shim, all) = same_with_and_without(
        dir.path(),
        "rm -rf dst",
        "cp -r src dst && diff -r src dst && find dst | sort | wc -l",
    );
    assert!(shim.ring_ops("cp") > 0, "{:?}", shim.stats);
    // With punted operations selected, cp's mkdirs, stats and creating opens go through too.
    assert!(
        all.ring_ops("cp") > shim.ring_ops("cp"),
        "{:?} {:?}",
        all.stats,
        shim.stats
    );
}

#[test]
fn dd_copies_and_counts() {
    need!("dd", "cmp");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in"), common::bytes(5 << 20, 3)).unwrap();
    let (shim, all) = same_with_and_without(
        dir.path(),
        "rm -f out",
        "dd if=in of=out bs=64k status=none && cmp in out && \
         dd if=in bs=1M count=3 skip=1 status=none | cksum && \
         dd if=in of=out bs=4096 seek=10 count=5 conv=notrunc,fsync status=none && cksum out",
    );
    assert!(shim.ring_ops("dd") > 100, "{:?}", shim.stats);
    assert!(all.ring_ops("dd") > 100, "{:?}", all.stats);
}

#[test]
fn tar_round_trip() {
    need!("tar", "diff");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    for d in 0..4 {
        let sub = tree.join(format!("dir{d}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..20 {
            std::fs::write(
                sub.join(format!("f{f}.bin")),
                common::bytes(f * 3001, f as u64),
            )
            .unwrap();
        }
    }
    let (shim, all) = same_with_and_without(
        dir.path(),
        "rm -rf a.tar out && mkdir out",
        "tar cf a.tar -C tree . && tar xf a.tar -C out && diff -r tree out && tar tf a.tar | sort",
    );
    assert!(shim.ring_ops("tar") > 0, "{:?}", shim.stats);
    assert!(all.ring_ops("tar") > 0, "{:?}", all.stats);
}

#[test]
fn gzip_into_gunzip() {
    need!("gzip", "gunzip", "sha256sum");
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for i in 0..200_000 {
        text.extend_from_slice(format!("line {i} {}\n", i % 97).as_bytes());
    }
    std::fs::write(dir.path().join("text"), text).unwrap();
    let (shim, all) = same_with_and_without(
        dir.path(),
        "rm -f text.gz",
        "gzip -c text | gunzip -c | sha256sum && gzip -k text && gunzip -c text.gz | wc -c",
    );
    assert!(shim.ring_ops("gzip") > 0, "{:?}", shim.stats);
    assert!(all.ring_ops("gzip") > 0, "{:?}", all.stats);
}

#[test]
fn sqlite3_transaction_and_integrity_check() {
    need!("sqlite3");
    let dir = tempfile::tempdir().unwrap();
    let sql = "\
        create table t(id integer primary key, name text, value real);\n\
        begin;\n\
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000)\n\
        insert into t(name, value) select 'name-' || i, i * 1.5 from n;\n\
        commit;\n\
        create index t_name on t(name);\n\
        update t set value = value + 1 where id % 7 = 0;\n\
        delete from t where id % 11 = 0;\n\
        select count(*), sum(value), max(name) from t;\n\
        pragma integrity_check;\n";
    std::fs::write(dir.path().join("script.sql"), sql).unwrap();
    let (shim, all) = same_with_and_without(
        dir.path(),
        "rm -f db.sqlite db.sqlite-journal",
        "sqlite3 db.sqlite < script.sql && sqlite3 db.sqlite 'select count(*) from t; pragma integrity_check;'",
    );
    assert!(shim.stdout().contains("ok"), "{}", shim.stdout());
    assert!(shim.ring_ops("sqlite3") > 0, "{:?}", shim.stats);
    assert!(all.ring_ops("sqlite3") > 0, "{:?}", all.stats);
}

#[test]
fn python3_writes_and_reads_files() {
    need!("python3");
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import hashlib, os, random
random.seed(5)
os.makedirs("out/sub", exist_ok=True)
digest = hashlib.sha256()
for i in range(200):
    data = random.randbytes(random.randrange(0, 100_000))
    with open(f"out/sub/f{i}", "wb") as f:
        f.write(data)
for i in range(200):
    with open(f"out/sub/f{i}", "rb") as f:
        digest.update(f.read())
with open("out/lines.txt", "w") as f:
    for i in range(10_000):
        print(f"line {i}", file=f)
with open("out/lines.txt") as f:
    print(sum(1 for _ in f), os.path.getsize("out/lines.txt"))
fd = os.open("out/sub/f1", os.O_RDWR)
os.pwrite(fd, b"xyz", 5)
print(os.pread(fd, 8, 3), os.lseek(fd, 0, os.SEEK_END) == os.fstat(fd).st_size)
os.close(fd)
os.rename("out/lines.txt", "out/renamed.txt")
print(sorted(os.listdir("out"))[:3], digest.hexdigest())
"#;
    std::fs::write(dir.path().join("script.py"), script).unwrap();
    let (shim, all) = same_with_and_without(dir.path(), "rm -rf out", "python3 script.py");
    assert!(shim.ring_ops("python3") > 400, "{:?}", shim.stats);
    assert!(all.ring_ops("python3") > 400, "{:?}", all.stats);
}
