//! `cp -r FROM TO [--std]`: the program (`programs/cp_r.rs`) included twice, with `fs` =
//! `uring_os::fs` or `std::fs`; only the `use` lines differ.

mod with_uring {
    pub use uring_os::fs;
    pub use uring_os::fs::symlink;
    pub mod program {
        include!("programs/cp_r.rs");
    }
}

mod with_std {
    pub use std::fs;
    pub use std::os::unix::fs::symlink;
    pub mod program {
        include!("programs/cp_r.rs");
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--std") {
        with_std::program::main(&args)
    } else {
        with_uring::program::main(&args)
    }
}
