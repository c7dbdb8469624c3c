// A tree walk that reads and checksums every file: written against `std::fs`; the only
// line that names the module is the `use` below, which the example's root points at
// `std::fs` or `uring_os::fs`.

use super::fs;

use std::io;
use std::path::Path;

/// What the walk found.
#[derive(Default)]
pub struct Totals {
    pub files: u64,
    pub dirs: u64,
    pub links: u64,
    pub bytes: u64,
    pub sum: u64,
}

/// A cheap checksum: a position-weighted sum of 8-byte words (the point is the I/O).
fn checksum(data: &[u8]) -> u64 {
    let mut sum = data.len() as u64;
    let mut chunks = data.chunks_exact(8);
    for (i, c) in chunks.by_ref().enumerate() {
        let word = u64::from_le_bytes(c.try_into().unwrap());
        sum = sum.wrapping_add(word.rotate_left(i as u32 % 64) ^ i as u64);
    }
    for &b in chunks.remainder() {
        sum = sum.rotate_left(5) ^ b as u64;
    }
    sum
}

/// Walks `dir`, sorted by name, printing one line per file when `list` is set.
pub fn walk(root: &Path, dir: &Path, list: bool, totals: &mut Totals) -> io::Result<()> {
    let mut entries = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let ty = entry.file_type()?;
        let path = entry.path();
        if ty.is_dir() {
            totals.dirs += 1;
            walk(root, &path, list, totals)?;
        } else if ty.is_symlink() {
            totals.links += 1;
            if list {
                let target = fs::read_link(&path)?;
                println!("link {} -> {}", path.strip_prefix(root).unwrap().display(), target.display());
            }
        } else if ty.is_file() {
            let data = fs::read(&path)?;
            let sum = checksum(&data);
            totals.files += 1;
            totals.bytes += data.len() as u64;
            totals.sum = totals.sum.rotate_left(1) ^ sum;
            if list {
                println!("{sum:016x} {:>8} {}", data.len(), path.strip_prefix(root).unwrap().display());
            }
        }
    }
    Ok(())
}

pub fn main(args: &[String]) -> io::Result<()> {
    let list = args.iter().any(|a| a == "--list");
    let root = args.iter().find(|a| !a.starts_with("--")).map(String::as_str).unwrap_or(".");
    let root = Path::new(root);
    let mut totals = Totals::default();
    walk(root, root, list, &mut totals)?;
    println!(
        "files {} dirs {} links {} bytes {} checksum {:016x}",
        totals.files, totals.dirs, totals.links, totals.bytes, totals.sum
    );
    Ok(())
}
