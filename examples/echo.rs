//! A thread-per-connection TCP echo server with a load client:
//!
//! - `echo server ADDR` serves until killed;
//! - `echo client ADDR [--conns N] [--msgs N] [--size N]` loads a server and reports round
//!   trips per second (on stderr);
//! - `echo load [...]` runs both in one process on a free loopback port.
//!
//! `--std` anywhere selects the same program compiled against `std::net`
//! (`programs/echo.rs` is included twice; only its `use` line's target differs), so either
//! client can load either server.

mod with_uring {
    pub use uring_os::net;
    pub mod program {
        include!("programs/echo.rs");
    }
}

mod with_std {
    pub use std::net;
    pub mod program {
        include!("programs/echo.rs");
    }
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let std = args.iter().any(|a| a == "--std");
    args.retain(|a| a != "--std");
    if std {
        with_std::program::main(&args)
    } else {
        with_uring::program::main(&args)
    }
}
