//! `hashtree DIR...`: the SHA-256 of every regular file under each DIR, one line each, as
//! `find DIR... -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum` prints them.
//!
//! ```text
//! cargo run --release --example hashtree -- [-j THREADS] [--depth N] [-q] DIR...
//! ```
//!
//! The output is byte for byte the pipeline's when `sort` compares bytes (`LC_ALL=C`, as
//! the tests run it; in the C.UTF-8 locale too, where names are valid UTF-8): each line is
//! the digest, two spaces and the path as find prints it (`DIR/sub/name`), in byte order of
//! the paths. A name with a backslash, newline or carriage return is escaped as sha256sum
//! escapes it (`\\`, `\n`, `\r`) and its line starts with a backslash. As find without
//! `-L`, symlinks are not followed (DIR itself is, with a trailing slash). Errors are
//! reported as find and sha256sum report them and the exit status is then 1.
//!
//! How: the main thread walks the tree (getdents64; no status is read: the directory
//! entries' types say which are regular files) and sorts the paths. Worker threads, each
//! with its own ring, take runs of consecutive files: each run is read in one batch, every
//! file as a linked open → read → close through a direct descriptor, 64 KiB at most;
//! a larger file is then read on in 1 MiB reads, four in flight, hashed as they come. The
//! digests (`sha2`, with the CPU's SHA instructions where it has them) are printed in
//! order once all are known. `-q` silences the progress line a long run shows on a
//! terminal (and its summary elsewhere).

#[path = "tools/mod.rs"]
mod tools;

use std::collections::VecDeque;
use std::ffi::{CString, OsStr};
use std::io::{self, Write};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tools::{Counters, Progress, Show, cvt, error_text};

/// What the first read of a file asks for: a file smaller than this is read whole in its
/// chain, and its end found there.
const FIRST_READ: usize = 64 * 1024;
/// A larger file is read on in reads of this size ...
const CHUNK: usize = 1 << 20;
/// ... this many in flight.
const CHUNK_DEPTH: usize = 4;

/// The result of one file.
enum Outcome {
    Digest([u8; 32]),
    /// The error, reported as sha256sum reports it.
    Error(io::Error),
}

struct Shared {
    paths: Vec<Vec<u8>>,
    results: Vec<OnceLock<Outcome>>,
    /// The first file no worker has taken yet.
    next: AtomicUsize,
    /// Runs handed back: the rest of a run whose worker met a large file.
    returned: Mutex<Vec<Range<usize>>>,
    /// Files taken per run.
    run: usize,
    counters: Counters,
}

impl Shared {
    /// The next run of files to hash.
    fn take(&self) -> Option<Range<usize>> {
        if let Some(range) = self.returned.lock().unwrap().pop() {
            return Some(range);
        }
        let start = self.next.fetch_add(self.run, Ordering::Relaxed);
        (start < self.paths.len()).then(|| start..(start + self.run).min(self.paths.len()))
    }

    fn set(&self, index: usize, outcome: Outcome) {
        if let Outcome::Digest(_) = outcome {
            self.counters.add(1, 0);
        }
        let _ = self.results[index].set(outcome);
    }
}

fn c_path(path: &[u8]) -> CString {
    CString::new(path).expect("paths from the kernel have no NUL")
}

/// A digest in lower-case hexadecimal, as sha256sum prints it.
fn hex(digest: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    out
}

/// Reads and hashes the files `range`, whose first reads go to the kernel in one batch.
/// The first large file among them is hashed here too; the others go back to the pool,
/// one at a time, for any worker to take.
fn hash_run(sh: &Shared, range: Range<usize>, bufs: &mut [Vec<u8>]) {
    let reads: Vec<io::Result<usize>> = uring_os::batch(|s| {
        let handles: Vec<_> = range
            .clone()
            .zip(bufs.iter_mut())
            .map(|(i, buf)| {
                let path = Path::new(OsStr::from_bytes(&sh.paths[i]));
                s.read_file(uring_os::CWD, path, &mut buf[..])
            })
            .collect();
        handles.into_iter().map(|h| h.wait()).collect()
    });
    let mut large = None;
    for (k, read) in reads.into_iter().enumerate() {
        let index = range.start + k;
        match read {
            Ok(n) if n < FIRST_READ => {
                let digest: [u8; 32] = Sha256::digest(&bufs[k][..n]).into();
                sh.counters.add(0, n as u64);
                sh.set(index, Outcome::Digest(digest));
            }
            Ok(_) if large.is_none() => large = Some(k),
            Ok(_) => sh.returned.lock().unwrap().push(index..index + 1),
            Err(e) => sh.set(index, Outcome::Error(e)),
        }
    }
    if let Some(k) = large {
        let outcome = hash_large(sh, range.start + k, &bufs[k]);
        sh.set(range.start + k, outcome);
    }
}

/// Hashes a file whose first `FIRST_READ` bytes are `head`: the rest is read in 1 MiB
/// reads, `CHUNK_DEPTH` in flight, hashed in order.
fn hash_large(sh: &Shared, index: usize, head: &[u8]) -> Outcome {
    let path = c_path(&sh.paths[index]);
    // SAFETY: a NUL-terminated path; the new fd is ours.
    let fd = cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) });
    let file = match fd {
        // SAFETY: open returned a new fd, which nothing else owns.
        Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
        Err(e) => return Outcome::Error(e),
    };
    let mut hasher = Sha256::new();
    hasher.update(head);
    sh.counters.add(0, head.len() as u64);
    let result = uring_os::batch(|s| {
        let mut in_flight = VecDeque::new();
        let mut next = head.len() as u64;
        let mut at_end = false;
        for _ in 0..CHUNK_DEPTH {
            let buf = s.buffer(CHUNK);
            in_flight.push_back((buf, s.pread(file.as_fd(), buf, next)));
            next += CHUNK as u64;
        }
        while let Some((buf, read)) = in_flight.pop_front() {
            let n = read.wait()?;
            if at_end {
                continue;
            }
            s.view(buf, |bytes| hasher.update(&bytes[..n]));
            sh.counters.add(0, n as u64);
            if n < CHUNK {
                // The end (reads queued past it give 0).
                at_end = true;
                continue;
            }
            in_flight.push_back((buf, s.pread(file.as_fd(), buf, next)));
            next += CHUNK as u64;
        }
        Ok::<(), io::Error>(())
    });
    match result {
        Ok(()) => Outcome::Digest(hasher.finalize().into()),
        Err(e) => Outcome::Error(e),
    }
}

fn worker(sh: &Shared, run: usize) {
    let mut bufs: Vec<Vec<u8>> = (0..run).map(|_| vec![0u8; FIRST_READ]).collect();
    while let Some(range) = sh.take() {
        hash_run(sh, range, &mut bufs);
    }
}

/// Walks the tree at `root` as `find ROOT -type f` does and adds the paths of its regular
/// files to `paths`; reports what it cannot read.
fn walk(root: &[u8], paths: &mut Vec<Vec<u8>>, failed: &AtomicBool) {
    let report = |path: &[u8], e: &io::Error| {
        eprintln!("hashtree: {}: {}", tools::quote(path), error_text(e));
        failed.store(true, Ordering::Relaxed);
    };
    let stat = match tools::lstat_at(libc::AT_FDCWD, &c_path(root)) {
        Ok(stat) => stat,
        Err(e) => return report(root, &e),
    };
    match tools::file_type(&stat) {
        libc::S_IFREG => return paths.push(root.to_vec()),
        libc::S_IFDIR => {}
        _ => return,
    }
    // Directories to read: their path, and their fd once opened.
    let mut dirs: Vec<(Vec<u8>, Option<OwnedFd>)> = vec![(root.to_vec(), None)];
    while let Some((dir, fd)) = dirs.pop() {
        let fd = match fd.map_or_else(|| tools::open_dir(libc::AT_FDCWD, &c_path(&dir)), Ok) {
            Ok(fd) => fd,
            Err(e) => {
                report(&dir, &e);
                continue;
            }
        };
        let entries = match tools::list_dir(fd.as_fd()) {
            Ok(entries) => entries,
            Err(e) => {
                report(&dir, &e);
                continue;
            }
        };
        for entry in entries {
            let mut path = dir.clone();
            if !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(entry.name.to_bytes());
            let kind = match entry.kind {
                libc::DT_UNKNOWN => match tools::lstat_at(fd.as_raw_fd(), &entry.name) {
                    Ok(st) => match tools::file_type(&st) {
                        libc::S_IFREG => libc::DT_REG,
                        libc::S_IFDIR => libc::DT_DIR,
                        _ => libc::DT_UNKNOWN,
                    },
                    Err(e) => {
                        report(&path, &e);
                        continue;
                    }
                },
                kind => kind,
            };
            match kind {
                libc::DT_REG => paths.push(path),
                libc::DT_DIR => dirs.push((path, None)),
                _ => {}
            }
        }
    }
}

/// A path as sha256sum prints it: with a backslash, newline or carriage return in it,
/// those are escaped and the line gets a leading backslash.
fn escaped(path: &[u8]) -> (bool, Vec<u8>) {
    if !path.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r')) {
        return (false, path.to_vec());
    }
    let mut out = Vec::with_capacity(path.len() + 4);
    for &b in path {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
    (true, out)
}

fn usage() -> ! {
    eprintln!("usage: hashtree [-q] [-j THREADS] [--run N] DIR...");
    std::process::exit(2);
}

fn main() {
    let mut threads = tools::default_threads();
    let mut run = 64;
    let mut show = Show::Long;
    let mut roots = Vec::new();
    let mut args = std::env::args_os().skip(1);
    let number = |args: &mut dyn Iterator<Item = std::ffi::OsString>| -> usize {
        args.next()
            .and_then(|a| a.to_str().and_then(|s| s.parse().ok()))
            .filter(|&n: &usize| n > 0)
            .unwrap_or_else(|| usage())
    };
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-q") | Some("--quiet") => show = Show::Never,
            Some("--progress") => show = Show::Always,
            Some("-j") | Some("--threads") => threads = number(&mut args),
            Some("--run") => run = number(&mut args),
            Some(s) if s.starts_with('-') && s.len() > 1 => usage(),
            _ => roots.push(arg.as_bytes().to_vec()),
        }
    }
    if roots.is_empty() {
        usage();
    }
    let _ = uring_os::configure(uring_os::Config::default().entries(256));
    let failed = AtomicBool::new(false);
    let mut paths = Vec::new();
    for root in &roots {
        walk(root, &mut paths, &failed);
    }
    // `sort -z` in the C locale: byte order.
    paths.sort_unstable();
    let sh = Shared {
        results: (0..paths.len()).map(|_| OnceLock::new()).collect(),
        paths,
        next: AtomicUsize::new(0),
        returned: Mutex::new(Vec::new()),
        run,
        counters: Counters::default(),
    };
    let mut progress = Progress::new("hashtree", show);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| worker(&sh, run)))
            .collect();
        let ticker = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::park_timeout(Duration::from_millis(200));
                progress.tick(&sh.counters);
            }
        });
        for w in workers {
            w.join().expect("a worker panicked");
        }
        done.store(true, Ordering::Relaxed);
        ticker.thread().unpark();
    });
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    for (path, result) in sh.paths.iter().zip(&sh.results) {
        match result.get().expect("every file was hashed") {
            Outcome::Digest(digest) => {
                let (escape, name) = escaped(path);
                let line = [
                    if escape { &b"\\"[..] } else { b"" },
                    &hex(digest),
                    b"  ",
                    &name,
                    b"\n",
                ]
                .concat();
                if out.write_all(&line).is_err() {
                    std::process::exit(1);
                }
            }
            Outcome::Error(e) => {
                let _ = out.flush();
                eprintln!(
                    "hashtree: {}: {}",
                    String::from_utf8_lossy(path),
                    error_text(e)
                );
                failed.store(true, Ordering::Relaxed);
            }
        }
    }
    if out.flush().is_err() {
        std::process::exit(1);
    }
    drop(out);
    progress.finish(&sh.counters);
    if failed.load(Ordering::Relaxed) {
        std::process::exit(1);
    }
}
