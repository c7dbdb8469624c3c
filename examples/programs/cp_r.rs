// `cp -r`: copies a tree with `fs::copy`, `read_dir`, `create_dir`, `read_link` and
// `symlink`. Written against `std::fs`; the `use` lines are the only ones naming the
// module.

use super::fs;
use super::symlink;

use std::io;
use std::path::Path;

#[derive(Default)]
struct Counts {
    files: u64,
    dirs: u64,
    links: u64,
    bytes: u64,
}

fn copy_tree(from: &Path, to: &Path, counts: &mut Counts) -> io::Result<()> {
    fs::create_dir(to)?;
    counts.dirs += 1;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let target = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree(&entry.path(), &target, counts)?;
        } else if ty.is_symlink() {
            symlink(fs::read_link(entry.path())?, &target)?;
            counts.links += 1;
        } else {
            counts.bytes += fs::copy(entry.path(), &target)?;
            counts.files += 1;
        }
    }
    Ok(())
}

pub fn main(args: &[String]) -> io::Result<()> {
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [from, to] = paths[..] else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "usage: cp_r FROM TO [--std]"));
    };
    let mut counts = Counts::default();
    copy_tree(Path::new(from), Path::new(to), &mut counts)?;
    println!(
        "copied files {} dirs {} links {} bytes {}",
        counts.files, counts.dirs, counts.links, counts.bytes
    );
    Ok(())
}
