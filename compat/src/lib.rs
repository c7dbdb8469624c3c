//! `liburing_os_preload.so`: run an unmodified program with its libc I/O calls going through
//! the calling thread's io_uring ring.
//!
//! ```sh
//! LD_PRELOAD=$PWD/target/release/liburing_os_preload.so URING_OS_STATS=1 cat big.file > /dev/null
//! ```
//!
//! The library exports read, write, pread64, open, openat, close, fsync, statx, accept, send,
//! recv and the rest of `calls.rs`. Each call goes to uring_os when the ring can answer
//! exactly as libc would, and to the real libc function (found with `dlsym(RTLD_NEXT, ..)`)
//! otherwise: inside a signal handler, in a vfork child, during thread-local teardown, before
//! the library has loaded, for arguments the ring cannot take, after a credential change, ...
//! The stats line (`URING_OS_STATS=1`) says how many calls took which path, and why.
//!
//! Layout: `sys` (raw syscalls), `real` (the real functions), `state` (what admits a call,
//! and the counters), `user` (the caller's memory, read as the kernel reads it), `fds` (what is
//! known of each fd), `signals` (handler wrapping, SA_RESTART), `process` (vfork, fork,
//! credentials, seccomp), `route` (each call onto uring_os), `calls` (the exported table),
//! `stats` (knobs and the exit line). See `README.md` for what it cannot catch and what it
//! costs.

mod calls;
mod fds;
mod process;
mod real;
mod route;
mod signals;
mod state;
mod stats;
mod sys;
mod user;

/// Runs at load, before the program's `main` (and its constructors): resolves the real
/// functions, reads the knobs and starts routing.
extern "C" fn load() {
    let _ = state::THREAD.try_with(|t| t.busy.set(true));
    real::resolve_all(calls::ACCESSORS);
    real::resolve_all(process::ACCESSORS);
    process::resolve_others();
    signals::resolve_at_load();
    route::resolve_at_load();
    let knobs = stats::read_knobs();
    signals::scan_at_load();
    process::register_fork_handlers();
    std::panic::set_hook(Box::new(|info| {
        let message =
            format!("uring_os_preload: internal error ({info}); every later call goes to libc\n");
        sys::write_all(2, message.as_bytes());
    }));
    if knobs.off {
        state::mark(state::Event::Off);
    }
    state::set_ready(knobs.selected, knobs.explicit);
    let _ = state::THREAD.try_with(|t| t.busy.set(false));
}

/// Runs at exit: prints the stats line if asked.
extern "C" fn unload() {
    let _ = state::THREAD.try_with(|t| t.busy.set(true));
    stats::report();
}

#[used]
#[unsafe(link_section = ".init_array")]
static LOAD: extern "C" fn() = load;

#[used]
#[unsafe(link_section = ".fini_array")]
static UNLOAD: extern "C" fn() = unload;
