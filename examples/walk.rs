//! A tree walk that reads and checksums every file: `cargo run --release --example walk --
//! DIR [--list] [--std]`. The program (`programs/walk.rs`) is one source file included
//! twice: once with `fs` = `uring_os::fs`, once with `fs` = `std::fs` (`--std`); nothing
//! else differs. Prints a summary line (and with `--list`, one line per file and symlink).

mod with_uring {
    pub use uring_os::fs;
    pub mod program {
        include!("programs/walk.rs");
    }
}

mod with_std {
    pub use std::fs;
    pub mod program {
        include!("programs/walk.rs");
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
