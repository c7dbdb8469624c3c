//! What a run leaves behind, for comparing the twin directories: every entry's name, type,
//! permission bits, link count, size, symlink target and content (byte for byte, holes read
//! as zeros), and the process's open fd numbers.

use std::fmt;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// A file's content as its runs of non-zero bytes, so that a hole and written zeros compare
/// equal (as a reader sees them) whatever the extents look like.
#[derive(PartialEq, Eq, Default)]
pub struct Content(Vec<(u64, Vec<u8>)>);

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes: usize = self.0.iter().map(|(_, b)| b.len()).sum();
        let hash = self.0.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, (off, b)| {
            b.iter().fold(h ^ off, |h, &x| {
                (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
            })
        });
        write!(
            f,
            "{} runs, {bytes} non-zero bytes, hash {hash:016x}",
            self.0.len()
        )
    }
}

#[derive(PartialEq, Eq, Debug)]
pub struct Node {
    pub path: String,
    pub kind: &'static str,
    pub mode: u32,
    pub nlink: u64,
    pub size: u64,
    pub uid: u32,
    pub rdev: u64,
    pub target: Option<String>,
    pub content: Content,
}

/// Every entry under `root` (not `root` itself), sorted by path.
pub fn snapshot(root: &Path) -> Vec<Node> {
    let mut nodes = Vec::new();
    walk(root, root, &mut nodes);
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    nodes
}

fn walk(root: &Path, dir: &Path, nodes: &mut Vec<Node>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let path = dir.join(&name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_file() {
            "file"
        } else if ft.is_fifo() {
            "fifo"
        } else if ft.is_socket() {
            "socket"
        } else if ft.is_char_device() {
            "char"
        } else {
            "other"
        };
        let rel = path.strip_prefix(root).unwrap();
        nodes.push(Node {
            path: format!("{rel:?}"),
            kind,
            mode: meta.mode() & 0o7777,
            // A directory's link count and size follow its entries, compared anyway.
            nlink: meta.nlink(),
            size: if ft.is_dir() { 0 } else { meta.size() },
            uid: meta.uid(),
            rdev: meta.rdev(),
            target: ft
                .is_symlink()
                .then(|| format!("{:?}", fs::read_link(&path).unwrap_or_default())),
            content: if ft.is_file() {
                content(&path)
            } else {
                Content::default()
            },
        });
        if ft.is_dir() {
            walk(root, &path, nodes);
        }
    }
}

/// The non-zero runs of a regular file, reading only its data extents (SEEK_DATA/SEEK_HOLE),
/// so a sparse terabyte costs nothing.
fn content(path: &Path) -> Content {
    let Ok(file) = fs::File::open(path) else {
        return Content(vec![(u64::MAX, b"unreadable".to_vec())]);
    };
    let fd = file.as_raw_fd();
    let mut runs: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut pos: i64 = 0;
    let mut budget: usize = 256 << 20;
    loop {
        // SAFETY: lseek on an fd we own.
        let data = unsafe { libc::lseek64(fd, pos, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek64(fd, data, libc::SEEK_HOLE) };
        if hole <= data {
            break;
        }
        let len = (hole - data) as usize;
        assert!(len <= budget, "{path:?}: more data than a fuzz case writes");
        budget -= len;
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            // SAFETY: `buf[done..]` is valid for writes.
            let n = unsafe {
                libc::pread64(
                    fd,
                    buf[done..].as_mut_ptr().cast(),
                    len - done,
                    data + done as i64,
                )
            };
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        buf.truncate(done);
        let mut i = 0;
        while i < buf.len() {
            if buf[i] == 0 {
                i += 1;
                continue;
            }
            let start = i;
            while i < buf.len() && buf[i] != 0 {
                i += 1;
            }
            let off = data as u64 + start as u64;
            match runs.last_mut() {
                // Runs split only by an extent boundary join up again.
                Some((o, b)) if *o + b.len() as u64 == off => b.extend_from_slice(&buf[start..i]),
                _ => runs.push((off, buf[start..i].to_vec())),
            }
        }
        pos = hole;
    }
    Content(runs)
}

/// The first difference between two snapshots, described; `None` if equal.
pub fn diff(libc_side: &[Node], uring_side: &[Node]) -> Option<String> {
    if libc_side == uring_side {
        return None;
    }
    for (a, b) in libc_side.iter().zip(uring_side) {
        if a != b {
            return Some(format!("libc: {a:?}\nuring_os: {b:?}"));
        }
    }
    let (longer, name) = if libc_side.len() > uring_side.len() {
        (libc_side, "only libc has")
    } else {
        (uring_side, "only uring_os has")
    };
    let n = libc_side.len().min(uring_side.len());
    Some(format!("{name}: {:?}", &longer[n..]))
}

/// The fd numbers this process has open, from /proc/self/fd (the listing's own fd included,
/// which is the same number on both sides).
pub fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds
}

/// Removes a twin directory, whatever modes the run left inside it.
pub fn remove(root: &Path) {
    let _ = fs::remove_dir_all(root);
    if root.exists() {
        // A directory left without permissions (mode 0 as root is fine, but be sure).
        let _ = std::process::Command::new("chmod")
            .args(["-R", "u+rwx"])
            .arg(root)
            .status();
        let _ = fs::remove_dir_all(root);
    }
}

/// A name as bytes, for paths with bytes that are not UTF-8.
pub fn os(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}
