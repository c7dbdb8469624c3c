//! The rows: data setup and the variants of each.

use std::cell::OnceCell;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use io_uring::opcode;
use io_uring::types::{Fd, Fixed};

use crate::hand::{self, Hand};
use crate::{Bench, Role, Sample, Variant, ensure, wrong};

const PAGE: usize = 4096;
/// Operations per batch in the batched file rows (the ring's default 64 entries).
const FILE_BATCH: usize = 64;
/// Entries of the hand rings: the same as uring_os's default ring.
const HAND_ENTRIES: u32 = uring_os::DEFAULT_ENTRIES;
const STATX_MASK: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME;
/// Operations per scope in the windowed variants. A window's handles borrow their buffers for
/// the whole scope, so a scope needs one buffer per operation: the stream is cut into scopes
/// of this many operations, and the window drains at the end of each.
const WINDOW_CHUNK_CACHED: usize = 256;
const WINDOW_CHUNK_DIRECT: usize = 4096;

// Why uring_os variants cost what they do next to std: the report completes "… takes 1.86x
// std's time here, because" or "… is 4.6x faster than std here, because" with these.
const ONE_CALL: &str = "one call through a ring costs a round trip that a direct syscall does \
    not (the kernel builds a request, runs it and posts its completion), and a hand-tuned ring \
    pays it too; batch such calls, or use Dispatch::Auto, which runs single calls as syscalls";
const CACHED_BATCH: &str = "with the data in the page cache there is nothing to overlap, and \
    queuing and reaping an entry costs more than entering a syscall (a hand-tuned ring gains \
    nothing either); for cached reads a plain pread loop is the fastest";
const DISK_BATCH: &str = "32 reads are on the disk at once, where a pread loop waits for each \
    in turn";
const DISK_WINDOW: &str = "32 reads are kept on the disk at all times, each refilled as one \
    completes, where a pread loop waits for each in turn";
const FILES_SINGLE: &str = "each file costs three ring round trips (open, read, close); batch \
    them, or use Dispatch::Auto";
const FILES_BATCH: &str = "a batch submits 64 opens, then 64 reads, then 64 closes at once, \
    where std::fs::read makes five syscalls per file (open, statx, two reads, close)";
const FILES_LINKED: &str = "each file is one linked open, read and close through a direct \
    descriptor, 64 files per submission, where std::fs::read makes five syscalls per file";
const STATX_SINGLE: &str = "the kernel hands every statx to a worker thread (io-wq), so one \
    call waits for a thread handoff (a hand-tuned ring too); use Dispatch::Auto, which runs \
    statx as the syscall";
const STATX_BATCH: &str = "the kernel hands every statx to a worker thread (io-wq): a batch \
    still pays a handoff per entry; use Dispatch::Auto, which runs them as syscalls";
const FSYNC_SINGLE: &str = "the kernel hands an open with O_CREAT and an fsync to worker \
    threads (io-wq): each call pays a thread handoff; batch them, or use Dispatch::Auto";
const FSYNC_BATCH: &str = "the files' writes and fsyncs are in flight together, so the \
    disk's flushes overlap, where std waits for each file's fsync in turn";
const STREAM: &str = "32 reads are kept on the disk at all times, each refilled as one \
    completes, where a pread loop waits for each in turn";
const TCP_SINGLE: &str = "each send and recv pays a ring round trip on top of the socket work";
const TCP_BATCH: &str = "send and recv go in one submission, but each still pays a ring round \
    trip on top of the socket work";

/// Runs every selected row.
pub fn run_all(b: &mut Bench) -> io::Result<()> {
    let data = Data::new(b)?;
    b.notes.push(format!(
        "data: generated under a temporary directory on {} (removed at exit)",
        data.fs_name
    ));
    if b.selected("nop") {
        nop(b);
    }
    if b.selected("pread") {
        pread(b, &data)?;
    }
    if b.selected("pread-x32") {
        pread_x32(b, &data)?;
    }
    if b.selected("odirect") {
        odirect(b, &data)?;
    }
    let mut streamed = false;
    for (row, size, random) in [
        ("random-4k", 0, true),
        ("stream-4k", 0, false),
        ("stream-128k", 1, false),
    ] {
        if b.selected(row) {
            stream_row(b, &data, row, size, random)?;
            streamed = true;
        }
    }
    if streamed && b.cfg.child.is_none() {
        b.notes.push(
            "random-4k and stream rows: not re-run under Dispatch::Auto or URING_OS=off \
             (without a ring a stream runs its reads one after another, as the pread loop \
             does); the ratios to fio are the median of the ratios within each round, where \
             the two ran side by side"
                .into(),
        );
    }
    if b.selected("files") {
        files(b, &data)?;
    }
    if b.selected("statx") {
        statx(b, &data)?;
    }
    if b.selected("fsync") {
        fsync(b, &data)?;
    }
    if b.selected("tcp-echo") {
        tcp_echo(b)?;
    }
    Ok(())
}

/// The generated data.
struct Data {
    dir: tempfile::TempDir,
    fs_name: String,
    is_tmpfs: bool,
    cached: OnceCell<File>,
    small: OnceCell<Vec<PathBuf>>,
    /// The O_DIRECT file, or why there is none: see [`direct_file`].
    direct: OnceCell<Result<DirectFile, String>>,
    files: usize,
}

/// The filesystem type of `path` (`statfs`), as a name, and whether it is tmpfs.
fn fs_type(path: &Path) -> io::Result<(String, bool)> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let mut st = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statfs, both live for the call.
    if unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statfs returned 0, so it filled `st`.
    let t = unsafe { st.assume_init() }.f_type;
    let name = match t {
        libc::EXT4_SUPER_MAGIC => "ext4".to_string(),
        libc::XFS_SUPER_MAGIC => "xfs".to_string(),
        libc::BTRFS_SUPER_MAGIC => "btrfs".to_string(),
        libc::TMPFS_MAGIC => "tmpfs".to_string(),
        libc::OVERLAYFS_SUPER_MAGIC => "overlayfs".to_string(),
        libc::NFS_SUPER_MAGIC => "nfs".to_string(),
        other => format!("filesystem {other:#x}"),
    };
    Ok((name, t == libc::TMPFS_MAGIC))
}

/// `target/` of the running example (`target/<profile>/examples/bench`).
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let examples = exe.parent()?;
            if examples.file_name()? != "examples" {
                return None;
            }
            Some(examples.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

impl Data {
    fn new(b: &Bench) -> io::Result<Data> {
        let base = match &b.cfg.dir {
            Some(dir) => dir.clone(),
            None => {
                let tmp = std::env::temp_dir();
                match fs_type(&tmp) {
                    Ok((_, false)) => tmp,
                    // tmpfs has no disk under it: use the project's filesystem instead.
                    _ => target_dir().join("bench"),
                }
            }
        };
        fs::create_dir_all(&base)?;
        let dir = tempfile::Builder::new()
            .prefix("uring_os_bench.")
            .tempdir_in(&base)?;
        let (fs_name, is_tmpfs) = fs_type(dir.path())?;
        Ok(Data {
            dir,
            fs_name,
            is_tmpfs,
            cached: OnceCell::new(),
            small: OnceCell::new(),
            direct: OnceCell::new(),
            files: b.cfg.n.files.max(b.cfg.n.statx),
        })
    }

    /// A 1 MiB file, read once so it sits in the page cache.
    fn cached_file(&self) -> io::Result<&File> {
        if let Some(f) = self.cached.get() {
            return Ok(f);
        }
        let path = self.dir.path().join("cached.dat");
        fs::write(&path, pattern(0, 1 << 20))?;
        let f = File::open(&path)?;
        let mut sink = Vec::new();
        (&f).read_to_end(&mut sink)?;
        Ok(self.cached.get_or_init(|| f))
    }

    /// The small 4 KiB files, created once and read once so they are cached.
    fn small_files(&self) -> io::Result<&[PathBuf]> {
        if let Some(v) = self.small.get() {
            return Ok(v);
        }
        let dir = self.dir.path().join("small");
        fs::create_dir(&dir)?;
        let mut paths = Vec::with_capacity(self.files);
        for i in 0..self.files {
            let p = dir.join(format!("f{i:05}"));
            fs::write(&p, pattern(i as u64, PAGE))?;
            paths.push(p);
        }
        for p in &paths {
            black_box(fs::read(p)?);
        }
        Ok(self.small.get_or_init(|| paths))
    }
}

/// [`Data::small_files`], saying so on the progress line of `row` when it creates them.
fn small_files<'d>(b: &mut Bench, data: &'d Data, row: &str) -> io::Result<&'d [PathBuf]> {
    if data.small.get().is_none() {
        b.preparing(row, &format!("creating {} small files", data.files));
    }
    data.small_files()
}

/// `len` bytes of a pattern that depends on `seed`.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v.truncate(len);
    v
}

/// xorshift64*: the same offsets for every variant of a row.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A buffer of `len` bytes aligned to 4 KiB (for O_DIRECT): the storage and the start index.
struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let storage = vec![0u8; len + PAGE];
        let start = storage.as_ptr().align_offset(PAGE);
        Aligned {
            storage,
            start,
            len,
        }
    }
    fn get(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// Checks a ring result: `Ok(res)` if it is `want` (or anything non-negative for `None`).
fn check_res(res: i32, want: Option<i32>, what: &str) -> io::Result<i32> {
    if res < 0 {
        return Err(io::Error::from_raw_os_error(-res));
    }
    ensure(want.is_none_or(|w| w == res), || {
        format!("{what} gave {res}, wanted {want:?}")
    })?;
    Ok(res)
}

// ---------------------------------------------------------------------------------------------

fn nop(b: &mut Bench) {
    let n = b.cfg.n.nop;
    b.notes.push(
        "nop under Dispatch::Auto and with URING_OS=off: a single uring_os::nop() takes the \
         direct path, which for a NOP makes no syscall at all, so those figures are the call's \
         own overhead"
            .into(),
    );
    let variants = vec![
        Bench::timed("getppid() syscall", Role::Std, n, move || {
            for _ in 0..n {
                black_box(std::os::unix::process::parent_id());
            }
            Ok(())
        }),
        Bench::timed("uring_os::nop()", Role::Uring, n, move || {
            for _ in 0..n {
                uring_os::nop()?;
            }
            Ok(())
        })
        .slower_because(ONE_CALL),
        b.hand("hand ring NOP, 1 enter/op", HAND_ENTRIES, n, move |h| {
            let e = opcode::Nop::new().build();
            for _ in 0..n {
                // SAFETY: a NOP points to no memory.
                check_res(unsafe { h.one(&e) }?, Some(0), "nop")?;
            }
            Ok(())
        }),
    ];
    b.measure("nop", "op", variants);
}

/// Offsets of 4 KiB pages of the 1 MiB cached file, spread out.
fn cached_offset(i: u64) -> u64 {
    (i.wrapping_mul(97) % 256) * PAGE as u64
}

fn pread(b: &mut Bench, data: &Data) -> io::Result<()> {
    let n = b.cfg.n.pread;
    let file = data.cached_file()?;
    let fd = file.as_raw_fd();
    // Page-aligned buffers for every variant: the copy into a buffer costs a few percent
    // more or less with its alignment, which would tilt the comparison.
    let (mut b1, mut b2, mut b3) = (Aligned::new(PAGE), Aligned::new(PAGE), Aligned::new(PAGE));
    let variants = vec![
        Bench::timed("FileExt::read_at", Role::Std, n, move || {
            for i in 0..n {
                let r = file.read_at(b1.get(), cached_offset(i))?;
                ensure(r == PAGE, || format!("read_at gave {r}"))?;
            }
            Ok(())
        }),
        Bench::timed("uring_os::pread", Role::Uring, n, move || {
            for i in 0..n {
                let r = uring_os::pread(file, b2.get(), cached_offset(i))?;
                ensure(r == PAGE, || format!("pread gave {r}"))?;
            }
            Ok(())
        })
        .slower_because(ONE_CALL),
        b.hand("hand ring read, 1 enter/op", HAND_ENTRIES, n, move |h| {
            for i in 0..n {
                let e = opcode::Read::new(Fd(fd), b3.get().as_mut_ptr(), PAGE as u32)
                    .offset(cached_offset(i))
                    .build();
                // SAFETY: the buffer and the fd outlive the call, which reaps the completion.
                check_res(unsafe { h.one(&e) }?, Some(PAGE as i32), "read")?;
            }
            Ok(())
        }),
    ];
    b.measure("pread", "pread", variants);
    Ok(())
}

fn pread_x32(b: &mut Bench, data: &Data) -> io::Result<()> {
    const DEPTH: usize = 32;
    let batches = b.cfg.n.batches32;
    let ops = batches * DEPTH as u64;
    let file = data.cached_file()?;
    let fd = file.as_raw_fd();
    // Page-aligned, as in pread().
    let mut b1 = Aligned::new(PAGE);
    let mut b2 = Aligned::new(PAGE * DEPTH);
    let mut b3 = Aligned::new(PAGE * DEPTH);
    let mut bw = Aligned::new(PAGE * WINDOW_CHUNK_CACHED);
    let variants = vec![
        Bench::timed("32 x FileExt::read_at", Role::Std, ops, move || {
            for i in 0..ops {
                let r = file.read_at(b1.get(), cached_offset(i))?;
                ensure(r == PAGE, || format!("read_at gave {r}"))?;
            }
            Ok(())
        }),
        Bench::timed(
            "uring_os::batch, 32 s.pread + wait",
            Role::Uring,
            ops,
            move || {
                for batch in 0..batches {
                    uring_os::batch(|s| -> io::Result<()> {
                        // An array, not a Vec: no allocation of the benchmark's own.
                        let mut bufs = b2.get().chunks_mut(PAGE);
                        let handles: [_; DEPTH] = std::array::from_fn(|j| {
                            let buf = bufs.next().expect("DEPTH buffers");
                            s.pread(file, buf, cached_offset(batch * 32 + j as u64))
                        });
                        for h in handles {
                            let r = h.wait()?;
                            ensure(r == PAGE, || format!("pread gave {r}"))?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            },
        )
        .slower_because(CACHED_BATCH),
        Bench::timed(
            format!("uring_os s.window(32, ..), {WINDOW_CHUNK_CACHED} preads per scope"),
            Role::Uring,
            ops,
            move || {
                let mut done = 0u64;
                while done < ops {
                    let m = (ops - done).min(WINDOW_CHUNK_CACHED as u64) as usize;
                    uring_os::batch(|s| -> io::Result<()> {
                        let reads = bw.get()[..m * PAGE]
                            .chunks_mut(PAGE)
                            .enumerate()
                            .map(|(j, buf)| s.pread(file, buf, cached_offset(done + j as u64)));
                        for (_, r) in s.window(DEPTH, reads) {
                            let r = r?;
                            ensure(r == PAGE, || format!("pread gave {r}"))?;
                        }
                        Ok(())
                    })?;
                    done += m as u64;
                }
                Ok(())
            },
        )
        .slower_because(CACHED_BATCH),
        b.hand(
            "hand ring, push 32 + submit_and_wait(32)",
            HAND_ENTRIES,
            ops,
            move |h| {
                for batch in 0..batches {
                    for (j, buf) in b3.get().chunks_mut(PAGE).enumerate() {
                        let e = opcode::Read::new(Fd(fd), buf.as_mut_ptr(), PAGE as u32)
                            .offset(cached_offset(batch * 32 + j as u64))
                            .build()
                            .user_data(j as u64);
                        // SAFETY: the buffers and the fd outlive the batch, reaped below.
                        unsafe { h.push(&e) }?;
                    }
                    reap_exactly(h, DEPTH, Some(PAGE as i32))?;
                }
                Ok(())
            },
        ),
    ];
    b.measure("pread-x32", "pread", variants);
    Ok(())
}

/// Opens `paths` in one batch scope; the fds outlive it, for the scopes that use them.
fn batch_open(paths: &[PathBuf], flags: i32, mode: u32) -> io::Result<Vec<OwnedFd>> {
    uring_os::batch(|s| {
        let opens: Vec<_> = paths.iter().map(|p| s.open(p, flags, mode)).collect();
        opens.into_iter().map(|h| h.wait()).collect()
    })
}

/// Closes `fds` in one batch scope.
fn batch_close(fds: Vec<OwnedFd>) -> io::Result<()> {
    uring_os::batch(|s| {
        let closes: Vec<_> = fds.into_iter().map(|fd| s.close(fd)).collect();
        closes.into_iter().try_for_each(|h| h.wait())
    })
}

/// Submits what is queued and reaps exactly `n` completions, each checked against `want`.
fn reap_exactly(h: &mut Hand<'_>, n: usize, want: Option<i32>) -> io::Result<()> {
    let mut got = 0;
    let mut bad = None;
    while got < n {
        h.submit_and_wait(n - got)?;
        got += h.reap(|_, r| {
            if r < 0 || want.is_some_and(|w| w != r) {
                bad = Some(r);
            }
        });
    }
    match bad {
        Some(r) => check_res(r, want, "batched op").map(drop),
        None => Ok(()),
    }
}

/// The O_DIRECT data file: its path, the file opened with `O_DIRECT`, and its length.
type DirectFile = (PathBuf, File, u64);

/// The O_DIRECT data file, written on first use (saying so on the progress line of `row`),
/// or why the rows that read it cannot run here.
fn direct_file<'d>(
    b: &mut Bench,
    data: &'d Data,
    row: &str,
) -> io::Result<Result<&'d DirectFile, String>> {
    if data.direct.get().is_none() {
        let made = make_direct_file(b, data, row)?;
        let _ = data.direct.set(made);
    }
    Ok(data
        .direct
        .get()
        .expect("set above")
        .as_ref()
        .map_err(Clone::clone))
}

fn make_direct_file(
    b: &mut Bench,
    data: &Data,
    row: &str,
) -> io::Result<Result<DirectFile, String>> {
    if data.is_tmpfs {
        return Ok(Err(format!(
            "the data directory is on tmpfs, which has no disk (pass --dir on a disk); {}",
            "O_DIRECT rows skipped"
        )));
    }
    let len = b.cfg.n.direct_file_bytes;
    b.preparing(row, &format!("writing a {} MiB file", len >> 20));
    let path = data.dir.path().join("direct.dat");
    {
        let mut f = File::create(&path)?;
        let chunk = pattern(7, 1 << 20);
        let mut written = 0;
        while written < len {
            f.write_all(&chunk)?;
            written += chunk.len() as u64;
        }
        f.sync_all()?;
        // The pages are clean now; drop them so the reads below come from the disk.
        uring_os::fadvise(&f, 0, 0, libc::POSIX_FADV_DONTNEED)?;
    }
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) => {
            return Ok(Err(format!(
                "O_DIRECT open refused on {}: {e}",
                data.fs_name
            )));
        }
    };
    let mut buf = Aligned::new(PAGE);
    if let Err(e) = file.read_at(buf.get(), 0) {
        return Ok(Err(format!(
            "O_DIRECT read refused on {}: {e}",
            data.fs_name
        )));
    }
    Ok(Ok((path, file, len)))
}

fn odirect(b: &mut Bench, data: &Data) -> io::Result<()> {
    const DEPTH: usize = 32;
    let (path, file, len) = match direct_file(b, data, "odirect")? {
        Ok((path, file, len)) => (path, file, *len),
        Err(reason) => {
            let variants = vec![Variant::skip("all variants", Role::Other, reason)];
            b.measure("odirect", "read", variants);
            return Ok(());
        }
    };
    let fd = file.as_raw_fd();
    let blocks = len / PAGE as u64;
    let qd1 = b.cfg.n.direct_qd1;
    let batches = b.cfg.n.direct_batched / DEPTH as u64;
    let ops = batches * DEPTH as u64;
    let mut bw = Aligned::new(PAGE * WINDOW_CHUNK_DIRECT);
    let (mut b1, mut b2, mut b3, mut b4, mut b5) = (
        Aligned::new(PAGE),
        Aligned::new(PAGE * DEPTH),
        Aligned::new(PAGE * DEPTH),
        Aligned::new(PAGE * DEPTH),
        Aligned::new(PAGE * DEPTH),
    );
    let mut variants = vec![
        Bench::timed("pread loop (1 in flight)", Role::Std, qd1, move || {
            let mut rng = Rng(42);
            for _ in 0..qd1 {
                let r = file.read_at(b1.get(), rng.below(blocks) * PAGE as u64)?;
                ensure(r == PAGE, || format!("read_at gave {r}"))?;
            }
            Ok(())
        }),
        Bench::timed(
            "uring_os::batch of 32 s.pread",
            Role::Uring,
            ops,
            move || {
                let mut rng = Rng(42);
                for _ in 0..batches {
                    uring_os::batch(|s| -> io::Result<()> {
                        let mut bufs = b2.get().chunks_mut(PAGE);
                        let handles: [_; DEPTH] = std::array::from_fn(|_| {
                            let buf = bufs.next().expect("DEPTH buffers");
                            s.pread(file, buf, rng.below(blocks) * PAGE as u64)
                        });
                        for h in handles {
                            let r = h.wait()?;
                            ensure(r == PAGE, || format!("pread gave {r}"))?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            },
        )
        .faster_because(DISK_BATCH)
        .peer("hand ring batch of 32 (push 32, wait 32)"),
        Bench::timed(
            format!("uring_os s.window(32, ..), {WINDOW_CHUNK_DIRECT} reads per scope"),
            Role::Uring,
            ops,
            move || {
                let mut rng = Rng(42);
                let mut done = 0u64;
                while done < ops {
                    let m = (ops - done).min(WINDOW_CHUNK_DIRECT as u64) as usize;
                    uring_os::batch(|s| -> io::Result<()> {
                        let reads = bw.get()[..m * PAGE]
                            .chunks_mut(PAGE)
                            .map(|buf| s.pread(file, buf, rng.below(blocks) * PAGE as u64));
                        for (_, r) in s.window(DEPTH, reads) {
                            let r = r?;
                            ensure(r == PAGE, || format!("pread gave {r}"))?;
                        }
                        Ok(())
                    })?;
                    done += m as u64;
                }
                Ok(())
            },
        )
        .faster_because(DISK_WINDOW)
        .peer("hand ring, 32 kept in flight"),
        b.hand(
            "hand ring batch of 32 (push 32, wait 32)",
            HAND_ENTRIES,
            ops,
            move |h| {
                let mut rng = Rng(42);
                for _ in 0..batches {
                    for (j, buf) in b3.get().chunks_mut(PAGE).enumerate() {
                        let e = opcode::Read::new(Fd(fd), buf.as_mut_ptr(), PAGE as u32)
                            .offset(rng.below(blocks) * PAGE as u64)
                            .build()
                            .user_data(j as u64);
                        // SAFETY: the buffers and the fd outlive the batch, reaped below.
                        unsafe { h.push(&e) }?;
                    }
                    reap_exactly(h, DEPTH, Some(PAGE as i32))?;
                }
                Ok(())
            },
        ),
        b.hand(
            "hand ring, 32 kept in flight",
            HAND_ENTRIES,
            ops,
            move |h| stream(h, &mut b4, ops, blocks, fd, false),
        ),
        b.hand(
            "hand ring, 32 in flight, 1 enter per read (as fio)",
            HAND_ENTRIES,
            ops,
            move |h| stream(h, &mut b5, ops, blocks, fd, true),
        ),
    ];
    variants.push(fio_variant(b, path, len));
    b.measure("odirect", "read", variants);
    Ok(())
}

/// `ops` random 4 KiB reads of `fd`, 32 kept in flight, each completion refilled at once.
/// Either each enter waits for one completion, or (`poll`) each enter submits and reaps
/// without sleeping and only an enter that found nothing to reap waits, as fio's engine does.
fn stream(
    h: &mut Hand<'_>,
    bufs: &mut Aligned,
    ops: u64,
    blocks: u64,
    fd: i32,
    poll: bool,
) -> io::Result<()> {
    const DEPTH: usize = 32;
    {
        let mut rng = Rng(42);
        let base = bufs.get().as_mut_ptr();
        let read = |slot: usize, off: u64| {
            // SAFETY: slot < DEPTH, so the pointer stays inside the aligned buffer.
            let buf = unsafe { base.add(slot * PAGE) };
            opcode::Read::new(Fd(fd), buf, PAGE as u32)
                .offset(off)
                .build()
                .user_data(slot as u64)
        };
        let mut issued = 0u64;
        for slot in 0..DEPTH.min(ops as usize) {
            // SAFETY: the buffers and the fd outlive the loop, which reaps everything.
            unsafe { h.push(&read(slot, rng.below(blocks) * PAGE as u64)) }?;
            issued += 1;
        }
        let mut done = 0u64;
        let mut freed = Vec::with_capacity(DEPTH);
        while done < ops {
            if poll {
                h.submit_and_poll()?;
                if h.reap(|slot, r| freed.push((slot, r))) == 0 {
                    h.submit_and_wait(1)?;
                }
            } else {
                h.submit_and_wait(1)?;
            }
            h.reap(|slot, r| freed.push((slot, r)));
            done += freed.len() as u64;
            for (slot, r) in freed.drain(..) {
                check_res(r, Some(PAGE as i32), "read")?;
                if issued < ops {
                    // SAFETY: as above; the slot's previous read has completed.
                    unsafe { h.push(&read(slot as usize, rng.below(blocks) * PAGE as u64)) }?;
                    issued += 1;
                    if poll {
                        // As fio: every read goes to the kernel on its own.
                        h.submit_and_poll()?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// fio's io_uring engine at iodepth 32 on the same file, random 4 KiB reads.
fn fio_variant<'a>(b: &Bench, path: &'a Path, len: u64) -> Variant<'a> {
    let args = [
        "--name=randread".to_string(),
        "--rw=randread".into(),
        "--bs=4k".into(),
        "--time_based".into(),
        format!("--runtime={}ms", b.cfg.n.fio_runtime_ms),
    ];
    fio(b, "fio io_uring engine, iodepth 32", path, len, args.into())
}

/// A run of fio's io_uring engine (O_DIRECT, iodepth 32, one job) on the `len` bytes of
/// `path`, with `args` on top (the name, the pattern, the block size, how long, ...), its
/// read IOPS as the sample; skipped where fio is not installed, and in the re-runs.
fn fio<'a>(b: &Bench, name: &str, path: &'a Path, len: u64, args: Vec<String>) -> Variant<'a> {
    if let Some(child) = b.cfg.child {
        let reason = format!("not run in the {} re-run", child.setting());
        return Variant::skip(name, Role::Other, reason);
    }
    match Command::new("fio").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            let reason = "fio is not installed; install it to include this line";
            return Variant::skip(name, Role::Other, reason);
        }
    }
    if let Some(reason) = &b.hand_unavailable {
        return Variant::skip(
            name,
            Role::Other,
            format!("{reason}: fio's engine needs it too"),
        );
    }
    Variant::new(
        name,
        Role::Other,
        Box::new(move || {
            let out = fio_command(path, len, &args).output()?;
            if !out.status.success() {
                return Err(io::Error::other(format!(
                    "fio failed ({}): {} {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim(),
                    String::from_utf8_lossy(&out.stdout).trim()
                )));
            }
            let iops = fio_read_iops(&String::from_utf8_lossy(&out.stdout))
                .ok_or_else(|| wrong("no read IOPS in fio's JSON output"))?;
            ensure(iops > 0.0, || format!("fio reported {iops} IOPS"))?;
            Ok(Sample {
                ops: 1,
                ns: 1e9 / iops,
                enters: None,
            })
        }),
    )
}

/// The block sizes of the streaming rows, in the order of [`crate::Counts::stream_reads`].
const STREAM_BLOCKS: [usize; 2] = [4 << 10, 128 << 10];

/// A streaming row: one O_DIRECT file read from start to end (and around again) in blocks of
/// `STREAM_BLOCKS[size]`, 32 in flight, as fio's `--rw=read`; or, `random`, 4 KiB blocks at
/// random offsets (the odirect row's sequence), as fio's `--rw=randread`. Its variants: a
/// pread loop, uring_os's `s.stream` on a fixed file with its registered buffers, groups of
/// 32 `s.pread` on the same, a hand ring doing the same, and fio with the same settings, once
/// as told and once with batched submission.
fn stream_row(
    b: &mut Bench,
    data: &Data,
    row: &'static str,
    size: usize,
    random: bool,
) -> io::Result<()> {
    const DEPTH: usize = 32;
    // The main run only: the re-runs would time a pread loop under another name (without a
    // ring a stream runs its reads one after another), and fio does not depend on the policy.
    if b.cfg.child.is_some() {
        return Ok(());
    }
    let (path, file, len) = match direct_file(b, data, row)? {
        Ok((path, file, len)) => (path, file, *len),
        Err(reason) => {
            let variants = vec![Variant::skip("all variants", Role::Other, reason)];
            b.measure(row, "read", variants);
            return Ok(());
        }
    };
    let bs = STREAM_BLOCKS[size];
    let kib = bs >> 10;
    let blocks = len / bs as u64;
    let reads = b.cfg.n.stream_reads[size];
    let qd1 = b.cfg.n.stream_qd1[size];
    // Random: the offsets every variant reads, in order (the pread loop the first `qd1`):
    // each block at most once, as fio's random map has it, in a shuffled order.
    let fio_args = |rw: &str| -> Vec<String> {
        [
            format!("--name={rw}"),
            format!("--rw={rw}"),
            format!("--bs={kib}k"),
            format!("--io_size={}", reads * bs as u64),
        ]
        .into_iter()
        .chain(FIO_STREAM.split(' ').map(String::from))
        .collect()
    };
    // Where fio runs, the blocks it reads, in its order: every variant then reads the same
    // blocks (how fast a block comes back depends on the block here, as the disk's host
    // keeps some of them cached).
    let fio_order = if random && b.cfg.child.is_none() {
        fio_offsets(path, len, fio_args("randread"))
    } else {
        None
    };
    let same_as_fio = fio_order.is_some();
    let random_offsets: Vec<u64> = if let Some(order) = fio_order {
        let count = reads.max(qd1) as usize;
        (0..count).map(|i| order[i % order.len()]).collect()
    } else if random {
        let mut rng = Rng(42);
        let mut order: Vec<u64> = (0..blocks).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let count = reads.max(qd1) as usize;
        (0..count)
            .map(|i| order[i % order.len()] * bs as u64)
            .collect()
    } else {
        Vec::new()
    };
    let random_offsets = &random_offsets[..];
    let offset = move |i: u64| {
        if random {
            random_offsets[i as usize]
        } else {
            (i % blocks) * bs as u64
        }
    };
    let fd = file.as_raw_fd();
    // Whether every pool buffer was registered with the ring (its reads READ_FIXED).
    let registered = std::rc::Rc::new(std::cell::Cell::new(true));
    let (seen, seen2) = (registered.clone(), registered.clone());
    let (mut b1, mut b2) = (Aligned::new(bs), Aligned::new(bs * DEPTH));
    let fio_plain = "fio io_uring, fixedbufs + registerfiles";
    let fio_batched = "same fio + iodepth_batch_submit=16";
    let mut variants = vec![
        Bench::timed("pread loop (1 in flight)", Role::Std, qd1, move || {
            for i in 0..qd1 {
                let r = file.read_at(b1.get(), offset(i))?;
                ensure(r == bs, || format!("read_at gave {r}"))?;
            }
            Ok(())
        }),
        Bench::timed(
            "uring_os s.stream(32, ..), fixed file + buffers",
            Role::Uring,
            reads,
            move || {
                uring_os::batch(|s| -> io::Result<()> {
                    let fd = s.fixed(file);
                    let stream = s.stream(DEPTH, bs, |s, i, buf| {
                        if i < DEPTH && !s.register_buffer(buf) {
                            seen.set(false);
                        }
                        (i < reads as usize).then(|| s.pread(fd, buf, offset(i as u64)))
                    });
                    for (_, r, _) in stream {
                        let r = r?;
                        ensure(r == bs, || format!("pread gave {r}"))?;
                    }
                    Ok(())
                })
            },
        )
        .faster_because(STREAM)
        .against(fio_plain)
        .against(fio_batched),
        Bench::timed(
            "uring_os groups of 32 s.pread, fixed file + buffers",
            Role::Uring,
            reads,
            move || {
                uring_os::batch(|s| -> io::Result<()> {
                    let fd = s.fixed(file);
                    let bufs: [_; DEPTH] = std::array::from_fn(|_| {
                        let buf = s.buffer(bs);
                        if !s.register_buffer(buf) {
                            seen2.set(false);
                        }
                        buf
                    });
                    let mut i = 0u64;
                    while i < reads {
                        let n = (reads - i).min(DEPTH as u64) as usize;
                        let handles: Vec<_> = bufs[..n]
                            .iter()
                            .enumerate()
                            .map(|(j, &buf)| s.pread(fd, buf, offset(i + j as u64)))
                            .collect();
                        for h in handles {
                            let r = h.wait()?;
                            ensure(r == bs, || format!("pread gave {r}"))?;
                        }
                        i += n as u64;
                    }
                    Ok(())
                })
            },
        )
        .faster_because(DISK_BATCH)
        .against(fio_plain)
        .against(fio_batched),
        b.hand(
            "hand ring, 32 in flight, fixed file + buffers",
            HAND_ENTRIES,
            reads,
            move |h| hand_stream(h, &mut b2, bs, reads, offset, fd),
        ),
    ];
    // As many reads as the uring_os variants make: from the start of the file, or (random)
    // at offsets of fio's own choosing.
    let io_size = reads * bs as u64;
    let rw = if random { "randread" } else { "read" };
    let mut args = fio_args(rw);
    let plain = fio(b, fio_plain, path, len, args.clone());
    args.extend(FIO_BATCH.map(String::from));
    let batched = fio(b, fio_batched, path, len, args);
    let ran_fio = plain.run.is_ok();
    variants.extend([plain, batched]);
    b.measure(row, "read", variants);
    if ran_fio {
        let which = if same_as_fio {
            "as many reads as the uring_os variants, at random offsets of fio's choosing, \
             each block at most once; the uring_os variants read the same blocks in the same \
             order, taken from a run of fio with `--write_iolog`"
        } else if random {
            "as many reads as the uring_os variants, at random offsets of fio's choosing, \
             each block at most once, as the uring_os variants read theirs"
        } else {
            "the reads of the uring_os variants, from the start of the file"
        };
        b.notes.push(format!(
            "{row}: fio runs as `fio --filename=FILE --ioengine=io_uring --iodepth=32 \
             --direct=1 --numjobs=1 --output-format=json --size={len} --name={rw} --rw={rw} \
             --bs={kib}k --io_size={io_size} {FIO_STREAM}` ({which}), and the second fio line \
             adds `{}`",
            FIO_BATCH.join(" ")
        ));
    }
    if !registered.get() {
        b.notes.push(format!(
            "{row}: the ring refused to register the scope's pool buffers, so the uring_os \
             reads were plain READs, not READ_FIXED"
        ));
    }
    Ok(())
}

/// fio's settings for the streaming rows (besides the engine, O_DIRECT, iodepth 32): fixed
/// buffers, registered files, interrupt-driven completions.
const FIO_STREAM: &str = "--fixedbufs --registerfiles --hipri=0";

/// fio's best submission settings found on this machine for those rows: up to 16 reads
/// handed to the kernel per io_uring_enter, up to 32 completions reaped per round.
const FIO_BATCH: [&str; 2] = [
    "--iodepth_batch_submit=16",
    "--iodepth_batch_complete_max=32",
];

/// `reads` reads of `bs` bytes at `offset(i)` on a hand ring, 32 in flight through a fixed
/// file and 32 fixed buffers; each completion's refill goes to the kernel with the next
/// wait, in the same io_uring_enter.
fn hand_stream(
    h: &mut Hand<'_>,
    bufs: &mut Aligned,
    bs: usize,
    reads: u64,
    offset: impl Fn(u64) -> u64,
    fd: i32,
) -> io::Result<()> {
    const DEPTH: usize = 32;
    let base = bufs.get().as_mut_ptr();
    let iovecs: Vec<libc::iovec> = (0..DEPTH)
        .map(|slot| libc::iovec {
            // SAFETY: slot < DEPTH, so the pointer stays inside the aligned buffer.
            iov_base: unsafe { base.add(slot * bs) }.cast(),
            iov_len: bs,
        })
        .collect();
    // SAFETY: `bufs` outlives the ring, which with_ring drops before returning.
    unsafe { h.register_buffers(&iovecs) }?;
    h.register_files(&[fd])?;
    let read = |slot: usize, i: u64| {
        opcode::ReadFixed::new(
            Fixed(0),
            iovecs[slot].iov_base.cast(),
            bs as u32,
            slot as u16,
        )
        .offset(offset(i))
        .build()
        .user_data(slot as u64)
    };
    let mut issued = 0u64;
    for slot in 0..DEPTH.min(reads as usize) {
        // SAFETY: the buffers and the file outlive the loop, which reaps everything.
        unsafe { h.push(&read(slot, issued)) }?;
        issued += 1;
    }
    let mut done = 0u64;
    let mut freed = Vec::with_capacity(DEPTH);
    while done < reads {
        h.submit_and_wait(1)?;
        h.reap(|slot, r| freed.push((slot, r)));
        done += freed.len() as u64;
        for (slot, r) in freed.drain(..) {
            check_res(r, Some(bs as i32), "read")?;
            if issued < reads {
                // SAFETY: as above; the slot's previous read has completed.
                unsafe { h.push(&read(slot as usize, issued)) }?;
                issued += 1;
            }
        }
    }
    Ok(())
}

/// fio's io_uring engine (O_DIRECT, iodepth 32, one job, JSON output) on the `len` bytes of
/// `path`, with `args` on top (the engine's own options are known only after `--ioengine`).
fn fio_command(path: &Path, len: u64, args: &[String]) -> Command {
    let mut fio = Command::new("fio");
    fio.arg(format!("--filename={}", path.display()))
        .args([
            "--ioengine=io_uring",
            "--iodepth=32",
            "--direct=1",
            "--numjobs=1",
            "--output-format=json",
        ])
        .arg(format!("--size={len}"))
        .args(args);
    fio
}

/// The offsets fio reads, in its order, when run with `args` on the `len` bytes of `path`
/// (from its `--write_iolog`; its random sequence is the same on every run); `None` where
/// fio is not installed or fails.
fn fio_offsets(path: &Path, len: u64, args: Vec<String>) -> Option<Vec<u64>> {
    let log = std::env::temp_dir().join(format!("uring_os-bench-{}.iolog", std::process::id()));
    let out = fio_command(path, len, &args)
        .arg(format!("--write_iolog={}", log.display()))
        .output();
    let text = std::fs::read_to_string(&log);
    let _ = std::fs::remove_file(&log);
    if !out.ok()?.status.success() {
        return None;
    }
    // Lines of the form `FILE read OFFSET LENGTH`, after a timestamp in version 3 logs.
    let offsets: Vec<u64> = text
        .ok()?
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "read")?;
            words.get(at + 1)?.parse().ok()
        })
        .collect();
    (!offsets.is_empty()).then_some(offsets)
}

/// `jobs[0].read.iops` from fio's JSON output, without a JSON parser.
fn fio_read_iops(json: &str) -> Option<f64> {
    let read = json.find("\"read\"")?;
    let rest = &json[read..];
    let key = rest.find("\"iops\"")?;
    let rest = rest[key + "\"iops\"".len()..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn files(b: &mut Bench, data: &Data) -> io::Result<()> {
    let n = b.cfg.n.files;
    let paths = &small_files(b, data, "files")?[..n];
    let ops = n as u64;
    let mut b1 = vec![0u8; PAGE];
    let mut b2 = vec![0u8; PAGE];
    let mut b3 = vec![0u8; PAGE * FILE_BATCH];
    let mut b4 = vec![0u8; PAGE * FILE_BATCH];
    let mut b5 = vec![0u8; PAGE * FILE_BATCH];
    let flags = libc::O_RDONLY | libc::O_CLOEXEC;
    let variants =
        vec![
            Bench::timed("std::fs::read", Role::Std, ops, move || {
                for p in paths {
                    let v = fs::read(p)?;
                    ensure(v.len() == PAGE, || format!("read {} bytes", v.len()))?;
                }
                Ok(())
            }),
            Bench::timed(
                "File::open + read 4 KiB + close",
                Role::Other,
                ops,
                move || {
                    for p in paths {
                        let mut f = File::open(p)?;
                        let r = f.read(&mut b1)?;
                        ensure(r == PAGE, || format!("read gave {r}"))?;
                    }
                    Ok(())
                },
            ),
            Bench::timed(
                "uring_os single calls open/read/close",
                Role::Uring,
                ops,
                move || {
                    for p in paths {
                        let fd = uring_os::open(p, flags, 0)?;
                        let r = uring_os::read(&fd, &mut b2)?;
                        ensure(r == PAGE, || format!("read gave {r}"))?;
                        uring_os::close(fd)?;
                    }
                    Ok(())
                },
            )
            .slower_because(FILES_SINGLE)
            .peer("-"),
            Bench::timed(
                "uring_os::batch, 64 open, 64 read, 64 close",
                Role::Uring,
                ops,
                move || {
                    for chunk in paths.chunks(FILE_BATCH) {
                        // Three scopes: an fd used by a batch must outlive its scope.
                        let fds = batch_open(chunk, flags, 0)?;
                        uring_os::batch(|s| -> io::Result<()> {
                            let reads: Vec<_> = fds
                                .iter()
                                .zip(b3.chunks_mut(PAGE))
                                .map(|(fd, buf)| s.read(fd, buf))
                                .collect();
                            for h in reads {
                                let r = h.wait()?;
                                ensure(r == PAGE, || format!("read gave {r}"))?;
                            }
                            Ok(())
                        })?;
                        batch_close(fds)?;
                    }
                    Ok(())
                },
            )
            .faster_because(FILES_BATCH),
            Bench::timed(
                "uring_os::batch, 64 s.read_file (linked, direct fd)",
                Role::Uring,
                ops,
                move || {
                    for chunk in paths.chunks(FILE_BATCH) {
                        uring_os::batch(|s| -> io::Result<()> {
                            let reads: Vec<_> = chunk
                                .iter()
                                .zip(b5.chunks_mut(PAGE))
                                .map(|(p, buf)| s.read_file(uring_os::CWD, p, buf))
                                .collect();
                            for h in reads {
                                let r = h.wait()?;
                                ensure(r == PAGE, || format!("read_file gave {r}"))?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                },
            )
            .faster_because(FILES_LINKED),
            b.hand(
                "hand ring, 64 open, 64 read, 64 close",
                HAND_ENTRIES,
                ops,
                move |h| {
                    let mut res = [0i32; FILE_BATCH];
                    for chunk in paths.chunks(FILE_BATCH) {
                        let names = chunk
                            .iter()
                            .map(|p| cstring(p))
                            .collect::<io::Result<Vec<_>>>()?;
                        let opens = names.iter().enumerate().map(|(i, name)| {
                            opcode::OpenAt::new(Fd(libc::AT_FDCWD), name.as_ptr())
                                .flags(flags)
                                .build()
                                .user_data(i as u64)
                        });
                        // SAFETY: the names outlive run_all, which reaps every completion.
                        unsafe { h.run_all(opens, &mut res) }?;
                        let fds = res[..chunk.len()]
                            .iter()
                            .map(|&r| check_res(r, None, "openat"))
                            .collect::<io::Result<Vec<i32>>>()?;
                        let reads = fds.iter().zip(b4.chunks_mut(PAGE)).enumerate().map(
                            |(i, (&fd, buf))| {
                                opcode::Read::new(Fd(fd), buf.as_mut_ptr(), PAGE as u32)
                                    .offset(u64::MAX)
                                    .build()
                                    .user_data(i as u64)
                            },
                        );
                        // SAFETY: the buffers and fds outlive run_all, which reaps every completion.
                        unsafe { h.run_all(reads, &mut res) }?;
                        for &r in &res[..chunk.len()] {
                            check_res(r, Some(PAGE as i32), "read")?;
                        }
                        let closes = fds
                            .iter()
                            .enumerate()
                            .map(|(i, &fd)| opcode::Close::new(Fd(fd)).build().user_data(i as u64));
                        // SAFETY: a close points to no memory; the fds are ours and used no more.
                        unsafe { h.run_all(closes, &mut res) }?;
                        for &r in &res[..chunk.len()] {
                            check_res(r, Some(0), "close")?;
                        }
                    }
                    Ok(())
                },
            ),
        ];
    b.measure("files", "file", variants);
    Ok(())
}

fn statx(b: &mut Bench, data: &Data) -> io::Result<()> {
    let n = b.cfg.n.statx;
    let paths = &small_files(b, data, "statx")?[..n];
    let ops = n as u64;
    let check = |st: &libc::statx| {
        ensure(st.stx_size == PAGE as u64, || {
            format!("statx size {}", st.stx_size)
        })
    };
    let variants = vec![
        Bench::timed("std::fs::metadata", Role::Std, ops, move || {
            for p in paths {
                let m = fs::metadata(p)?;
                ensure(m.len() == PAGE as u64, || format!("size {}", m.len()))?;
            }
            Ok(())
        }),
        Bench::timed("uring_os::statx single", Role::Uring, ops, move || {
            for p in paths {
                check(&uring_os::statx(uring_os::CWD, p, 0, STATX_MASK)?)?;
            }
            Ok(())
        })
        .slower_because(STATX_SINGLE)
        .peer("hand ring statx, 1 enter/op"),
        Bench::timed(
            "uring_os::batch of 64 s.statx",
            Role::Uring,
            ops,
            move || {
                for chunk in paths.chunks(FILE_BATCH) {
                    uring_os::batch(|s| -> io::Result<()> {
                        let handles: Vec<_> = chunk
                            .iter()
                            .map(|p| s.statx(uring_os::CWD, p, 0, STATX_MASK))
                            .collect();
                        for h in handles {
                            check(&h.wait()?)?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            },
        )
        .slower_because(STATX_BATCH)
        .peer("hand ring, batch of 64 statx"),
        b.hand("hand ring statx, 1 enter/op", HAND_ENTRIES, ops, move |h| {
            let mut buf = MaybeUninit::<libc::statx>::uninit();
            for p in paths {
                let name = cstring(p)?;
                let e =
                    opcode::Statx::new(Fd(libc::AT_FDCWD), name.as_ptr(), buf.as_mut_ptr().cast())
                        .mask(STATX_MASK)
                        .build();
                // SAFETY: the name and the buffer outlive the call, which reaps the completion.
                check_res(unsafe { h.one(&e) }?, Some(0), "statx")?;
                // SAFETY: statx succeeded, so the kernel filled the buffer.
                check(unsafe { buf.assume_init_ref() })?;
            }
            Ok(())
        }),
        b.hand(
            "hand ring, batch of 64 statx",
            HAND_ENTRIES,
            ops,
            move |h| {
                let mut bufs = vec![MaybeUninit::<libc::statx>::uninit(); FILE_BATCH];
                let mut res = [0i32; FILE_BATCH];
                for chunk in paths.chunks(FILE_BATCH) {
                    let names = chunk
                        .iter()
                        .map(|p| cstring(p))
                        .collect::<io::Result<Vec<_>>>()?;
                    let entries =
                        names
                            .iter()
                            .zip(bufs.iter_mut())
                            .enumerate()
                            .map(|(i, (name, buf))| {
                                opcode::Statx::new(
                                    Fd(libc::AT_FDCWD),
                                    name.as_ptr(),
                                    buf.as_mut_ptr().cast(),
                                )
                                .mask(STATX_MASK)
                                .build()
                                .user_data(i as u64)
                            });
                    // SAFETY: names and buffers outlive run_all, which reaps every completion.
                    unsafe { h.run_all(entries, &mut res) }?;
                    for (&r, buf) in res.iter().zip(&bufs).take(chunk.len()) {
                        check_res(r, Some(0), "statx")?;
                        // SAFETY: statx succeeded, so the kernel filled the buffer.
                        check(unsafe { buf.assume_init_ref() })?;
                    }
                }
                Ok(())
            },
        ),
    ];
    b.measure("statx", "statx", variants);
    Ok(())
}

fn fsync(b: &mut Bench, data: &Data) -> io::Result<()> {
    let n = b.cfg.n.fsync_files;
    let ops = n as u64;
    let mk = |name: &str| -> io::Result<Vec<PathBuf>> {
        let dir = data.dir.path().join("fsync").join(name);
        fs::create_dir_all(&dir)?;
        Ok((0..n).map(|i| dir.join(format!("w{i:03}"))).collect())
    };
    let (p1, p2, p3, p4) = (mk("std")?, mk("single")?, mk("batch")?, mk("hand")?);
    let content = pattern(3, PAGE);
    let content = &content;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
    let variants = vec![
        Bench::timed(
            "File::create + write_all + sync_all",
            Role::Std,
            ops,
            move || {
                for p in &p1 {
                    let mut f = File::create(p)?;
                    f.write_all(content)?;
                    f.sync_all()?;
                }
                Ok(())
            },
        ),
        Bench::timed(
            "uring_os single open/write/fsync/close",
            Role::Uring,
            ops,
            move || {
                for p in &p2 {
                    let fd = uring_os::open(p, flags, 0o644)?;
                    let r = uring_os::write(&fd, content)?;
                    ensure(r == PAGE, || format!("write gave {r}"))?;
                    uring_os::fsync(&fd)?;
                    uring_os::close(fd)?;
                }
                Ok(())
            },
        )
        .slower_because(FSYNC_SINGLE)
        .peer("-"),
        Bench::timed(
            "uring_os::batch: opens; writes, then fsyncs; closes",
            Role::Uring,
            ops,
            move || {
                // Three scopes: an fd used by a batch must outlive its scope.
                let fds = batch_open(&p3, flags, 0o644)?;
                uring_os::batch(|s| -> io::Result<()> {
                    let writes: Vec<_> = fds.iter().map(|fd| s.write(fd, content)).collect();
                    for h in writes {
                        let r = h.wait()?;
                        ensure(r == PAGE, || format!("write gave {r}"))?;
                    }
                    let syncs: Vec<_> = fds.iter().map(|fd| s.fsync(fd)).collect();
                    for h in syncs {
                        h.wait()?;
                    }
                    Ok(())
                })?;
                batch_close(fds)
            },
        )
        .faster_because(FSYNC_BATCH),
        b.hand(
            "hand ring: opens; writes, then fsyncs; closes",
            HAND_ENTRIES,
            ops,
            move |h| {
                let mut res = vec![0i32; n];
                let names = p4
                    .iter()
                    .map(|p| cstring(p))
                    .collect::<io::Result<Vec<_>>>()?;
                let opens = names.iter().enumerate().map(|(i, name)| {
                    opcode::OpenAt::new(Fd(libc::AT_FDCWD), name.as_ptr())
                        .flags(flags)
                        .mode(0o644)
                        .build()
                        .user_data(i as u64)
                });
                // SAFETY: the names outlive run_all, which reaps every completion.
                unsafe { h.run_all(opens, &mut res) }?;
                let fds = res
                    .iter()
                    .map(|&r| check_res(r, None, "openat"))
                    .collect::<io::Result<Vec<i32>>>()?;
                let writes = fds.iter().enumerate().map(|(i, &fd)| {
                    opcode::Write::new(Fd(fd), content.as_ptr(), PAGE as u32)
                        .offset(u64::MAX)
                        .build()
                        .user_data(i as u64)
                });
                // SAFETY: the content and the fds outlive run_all.
                unsafe { h.run_all(writes, &mut res) }?;
                for &r in &res {
                    check_res(r, Some(PAGE as i32), "write")?;
                }
                let syncs = fds
                    .iter()
                    .enumerate()
                    .map(|(i, &fd)| opcode::Fsync::new(Fd(fd)).build().user_data(i as u64));
                // SAFETY: an fsync points to no memory; the fds outlive run_all.
                unsafe { h.run_all(syncs, &mut res) }?;
                for &r in &res {
                    check_res(r, Some(0), "fsync")?;
                }
                let closes = fds
                    .iter()
                    .enumerate()
                    .map(|(i, &fd)| opcode::Close::new(Fd(fd)).build().user_data(i as u64));
                // SAFETY: a close points to no memory; the fds are ours and used no more.
                unsafe { h.run_all(closes, &mut res) }?;
                for &r in &res {
                    check_res(r, Some(0), "close")?;
                }
                Ok(())
            },
        ),
    ];
    b.measure("fsync", "file", variants);
    Ok(())
}

/// The calling thread's CPU affinity mask.
fn affinity() -> io::Result<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is a plain bit array, for which all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed.
    if unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(set)
}

fn set_affinity(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` is a valid cpu_set_t of the size passed, only read by the call.
    if unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The lowest CPU in `set`.
fn first_cpu(set: &libc::cpu_set_t) -> Option<usize> {
    // SAFETY: every index is below CPU_SETSIZE, the size of the set.
    (0..libc::CPU_SETSIZE as usize).find(|&cpu| unsafe { libc::CPU_ISSET(cpu, set) })
}

/// Pins the calling thread to `cpu`.
fn pin_to(cpu: usize) -> io::Result<()> {
    // SAFETY: as in affinity().
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    ensure(cpu < libc::CPU_SETSIZE as usize, || format!("cpu {cpu}"))?;
    // SAFETY: cpu is below CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set_affinity(&set)
}

/// A std echo server on 127.0.0.1, one connection at a time, until dropped.
struct EchoServer {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EchoServer {
    /// Starts the server thread, pinned to `cpu` if given.
    fn start(cpu: Option<usize>) -> io::Result<EchoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            if let Some(cpu) = cpu {
                let _ = pin_to(cpu);
            }
            for conn in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_nodelay(true);
                let mut buf = [0u8; 256];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        });
        Ok(EchoServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let s = TcpStream::connect(self.addr)?;
        s.set_nodelay(true)?;
        Ok(s)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept so the thread sees the flag.
        if let Ok(s) = TcpStream::connect(self.addr) {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const MSG: usize = 64;

/// Receives until `buf` is full with uring_os::recv, `got` bytes being there already.
fn uring_recv_all(s: &TcpStream, buf: &mut [u8], mut got: usize) -> io::Result<()> {
    while got < buf.len() {
        let r = uring_os::recv(s, &mut buf[got..], 0)?;
        ensure(r > 0, || "connection closed".to_string())?;
        got += r;
    }
    Ok(())
}

/// A variant doing `n` round trips on a fresh connection (made before the clock starts).
fn conn_variant<'a>(
    name: &str,
    role: Role,
    n: u64,
    server: &'a EchoServer,
    mut trip: impl FnMut(&TcpStream, &mut [u8]) -> io::Result<()> + 'a,
) -> Variant<'a> {
    let mut buf = vec![0u8; MSG];
    Variant::new(
        name,
        role,
        Box::new(move || {
            let conn = server.connect()?;
            let start = Instant::now();
            for _ in 0..n {
                trip(&conn, &mut buf)?;
            }
            Ok(Sample {
                ops: n,
                ns: start.elapsed().as_nanos() as f64,
                enters: None,
            })
        }),
    )
}

/// [`conn_variant`] on a hand ring.
fn hand_conn_variant<'a>(
    b: &Bench,
    name: &str,
    n: u64,
    server: &'a EchoServer,
    mut trip: impl FnMut(&mut Hand<'_>, i32, &mut [u8]) -> io::Result<()> + 'a,
) -> Variant<'a> {
    if let Some(reason) = &b.hand_unavailable {
        return Variant::skip(name, Role::Hand, reason.clone());
    }
    let mut buf = vec![0u8; MSG];
    Variant::new(
        name,
        Role::Hand,
        Box::new(move || {
            let conn = server.connect()?;
            hand::with_ring(HAND_ENTRIES, |h| {
                let start = Instant::now();
                for _ in 0..n {
                    trip(h, conn.as_raw_fd(), &mut buf)?;
                }
                Ok(Sample {
                    ops: n,
                    ns: start.elapsed().as_nanos() as f64,
                    enters: Some(h.enters),
                })
            })
        }),
    )
}

/// One round trip on a hand ring: send then recv with one enter each, or both in one
/// submission (`paired`).
fn hand_trip(
    h: &mut Hand<'_>,
    fd: i32,
    msg: &[u8],
    buf: &mut [u8],
    paired: bool,
) -> io::Result<()> {
    let send = opcode::Send::new(Fd(fd), msg.as_ptr(), MSG as u32)
        .build()
        .user_data(0);
    let mut got = 0;
    if paired {
        let recv = opcode::Recv::new(Fd(fd), buf.as_mut_ptr(), MSG as u32)
            .build()
            .user_data(1);
        // SAFETY: msg and buf outlive both entries, whose completions are reaped below.
        unsafe {
            h.push(&send)?;
            h.push(&recv)?;
        }
        let (mut sent, mut received) = (-libc::EIO, -libc::EIO);
        let mut done = 0;
        while done < 2 {
            h.submit_and_wait(2 - done)?;
            done += h.reap(|ud, r| {
                if ud == 0 {
                    sent = r;
                } else {
                    received = r;
                }
            });
        }
        check_res(sent, Some(MSG as i32), "send")?;
        got = check_res(received, None, "recv")? as usize;
    } else {
        // SAFETY: msg outlives the call, which reaps the completion.
        check_res(unsafe { h.one(&send) }?, Some(MSG as i32), "send")?;
    }
    while got < MSG {
        let recv = opcode::Recv::new(Fd(fd), buf[got..].as_mut_ptr(), (MSG - got) as u32).build();
        // SAFETY: buf outlives the call, which reaps the completion.
        let r = check_res(unsafe { h.one(&recv) }?, None, "recv")? as usize;
        ensure(r > 0, || "connection closed".to_string())?;
        got += r;
    }
    ensure(buf == msg, || "echo differs".to_string())
}

fn tcp_echo(b: &mut Bench) -> io::Result<()> {
    let n = b.cfg.n.tcp_trips;
    // Client and server share one CPU: left to the scheduler, the rounds were bimodal on a
    // 2-vCPU VM (about 15 µs per round trip on one CPU, 60 µs with a cross-CPU wakeup each
    // way), whichever variant ran. Pinned, the row measures the calls, not the placement.
    let saved = affinity()?;
    let cpu = first_cpu(&saved);
    if let Some(cpu) = cpu {
        pin_to(cpu)?;
    }
    let res = tcp_echo_pinned(b, n, cpu);
    set_affinity(&saved)?;
    res
}

fn tcp_echo_pinned(b: &mut Bench, n: u64, cpu: Option<usize>) -> io::Result<()> {
    let server = EchoServer::start(cpu)?;
    let server = &server;
    let msg = pattern(9, MSG);
    let msg = &msg[..];
    let variants = vec![
        conn_variant(
            "std write_all + read_exact",
            Role::Std,
            n,
            server,
            move |s, buf| {
                let mut s = s;
                s.write_all(msg)?;
                s.read_exact(buf)?;
                ensure(buf == msg, || "echo differs".to_string())
            },
        ),
        conn_variant(
            "uring_os::send + uring_os::recv",
            Role::Uring,
            n,
            server,
            move |s, buf| {
                let r = uring_os::send(s, msg, 0)?;
                ensure(r == MSG, || format!("send gave {r}"))?;
                uring_recv_all(s, buf, 0)?;
                ensure(buf == msg, || "echo differs".to_string())
            },
        )
        .slower_because(TCP_SINGLE)
        .peer("hand ring send + recv, 1 enter each"),
        conn_variant(
            "uring_os::batch: s.send + s.recv in 1 submission",
            Role::Uring,
            n,
            server,
            move |s, buf| {
                let (sent, got) = uring_os::batch(|scope| {
                    let a = scope.send(s, msg, 0);
                    let r = scope.recv(s, &mut *buf, 0);
                    (a.wait(), r.wait())
                });
                let sent = sent?;
                ensure(sent == MSG, || format!("send gave {sent}"))?;
                uring_recv_all(s, buf, got?)?;
                ensure(buf == msg, || "echo differs".to_string())
            },
        )
        .slower_because(TCP_BATCH)
        .peer("hand ring send + recv in 1 submission"),
        hand_conn_variant(
            b,
            "hand ring send + recv, 1 enter each",
            n,
            server,
            move |h, fd, buf| hand_trip(h, fd, msg, buf, false),
        ),
        hand_conn_variant(
            b,
            "hand ring send + recv in 1 submission",
            n,
            server,
            move |h, fd, buf| hand_trip(h, fd, msg, buf, true),
        ),
    ];
    b.measure("tcp-echo", "round trip", variants);
    Ok(())
}
