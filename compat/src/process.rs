//! Process events the shim must see: vfork (the child borrows the parent's memory and ring),
//! fork and spawn (file offsets become shared), `_Fork` (no fork handlers run), namespace
//! changes, seccomp filters (which ring operations would bypass), `pthread_cancel`
//! (ring waits are not cancellation points), and fds closed or replaced behind the shim's
//! back (dup2, fclose, close_range, ...). Each is passed on to the real function.
//!
//! Credential changes (setuid, setgroups, capset, ...) need nothing here: uring_os runs every
//! operation with the submitting thread's current credentials (the kernel does without
//! SQPOLL; with SQPOLL uring_os registers the new credentials as a personality), so calls
//! after a change are checked against the new credentials, as syscalls are.

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

use crate::fds;
use crate::real::real_fn;
use crate::state::{self, Event, THREAD};
use crate::sys;

real_fn!(fn vfork_real(vfork): unsafe extern "C" fn() -> libc::pid_t);
real_fn!(fn fork_real(fork): unsafe extern "C" fn() -> libc::pid_t);

/// Called by [`vfork`] before it jumps to the real one: marks the calling thread, whose
/// memory the child will run on, and returns the real vfork's address.
extern "C" fn vfork_prepare() -> usize {
    let tid = sys::gettid();
    let _ = THREAD.try_with(|t| t.vfork_tid.set(tid));
    fds::new_epoch();
    match vfork_real().or_else(fork_real) {
        Some(real) => real as *const () as usize,
        None => vfork_failed as *const () as usize,
    }
}

extern "C" fn vfork_failed() -> libc::pid_t {
    sys::set_errno(libc::ENOSYS);
    -1
}

/// vfork(2). The child runs on the parent's stack until it execs or exits, so this cannot
/// return through a frame of its own: it marks the thread (see `vfork_prepare`), then jumps to
/// the real vfork with the caller's return address untouched. Until the parent's thread makes
/// a call again, calls made by a thread of another id on this memory (the child) go to libc.
///
/// # Safety
/// As vfork(2).
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfork() -> libc::pid_t {
    std::arch::naked_asm!(
        "sub rsp, 8",
        "call {prepare}",
        "add rsp, 8",
        "jmp rax",
        prepare = sym vfork_prepare,
    )
}

/// vfork(2); see the x86-64 version.
///
/// # Safety
/// As vfork(2).
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfork() -> libc::pid_t {
    std::arch::naked_asm!(
        "stp x29, x30, [sp, #-16]!",
        "bl {prepare}",
        "ldp x29, x30, [sp], #16",
        "br x0",
        prepare = sym vfork_prepare,
    )
}

real_fn!(fn bare_fork_real(_Fork): unsafe extern "C" fn() -> libc::pid_t);

/// `_Fork`: a fork that runs no fork handlers, so uring_os cannot notice it; the child sends
/// every call to libc.
///
/// # Safety
/// As `_Fork`.
#[unsafe(export_name = "_Fork")]
pub unsafe extern "C" fn bare_fork() -> libc::pid_t {
    let Some(real) = bare_fork_real() else {
        return crate::calls::missing();
    };
    // SAFETY: the real _Fork, no arguments.
    let pid = unsafe { real() };
    fds::new_epoch();
    if pid == 0 {
        state::mark(Event::BareFork);
        state::reset_counts();
    }
    pid
}

/// The fork handlers: fds become shared with the other process, and the child counts its own
/// calls.
pub(crate) fn register_fork_handlers() {
    extern "C" fn parent() {
        fds::new_epoch();
    }
    extern "C" fn child() {
        fds::new_epoch();
        state::reset_counts();
        crate::stats::fork_child();
    }
    // SAFETY: the handlers only touch atomics (async-signal-safe, as a child handler must be).
    unsafe { libc::pthread_atfork(None, Some(parent), Some(child)) };
}

/// Declares pass-through functions that run `$after` with the result (`ret`) and the
/// arguments after the real call.
macro_rules! observe {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(; ...$($va:ident: $vty:ty),+)?) -> $ret:ty => |$res:ident| $after:expr;
    )*) => {
        $(
            $(#[$doc])*
            ///
            /// # Safety
            /// As the libc function of the same name.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($arg: $ty,)* $($($va: $vty),+)?) -> $ret {
                real_fn!(fn real($name): crate::calls::real_type!([$($ty),*] [$($($vty),+)?] $ret));
                let Some(real) = real() else {
                    return crate::calls::missing();
                };
                // SAFETY: the caller's arguments, unchanged, to the function it meant to call.
                let $res = unsafe { real($($arg,)* $($($va),+)?) };
                $after;
                $res
            }
        )*

        /// Resolves the real functions behind the observed calls.
        pub(crate) const ACCESSORS: &[fn()] = &[$(
            || {
                real_fn!(fn real($name): crate::calls::real_type!([$($ty),*] [$($($vty),+)?] $ret));
                let _ = real();
            }
        ),*];
    };
}

fn namespaces_changed(res: c_int) {
    if res == 0 {
        state::mark(Event::Namespaces);
    }
}

/// Whether a `syscall(2)` number is one the shim must know about, and what it means.
fn observe_syscall(number: c_long, args: [c_long; 6], res: c_long) {
    if res < 0 {
        return;
    }
    match number {
        libc::SYS_close => fds::forget(args[0] as c_int),
        libc::SYS_dup2 | libc::SYS_dup3 => fds::forget(args[1] as c_int),
        libc::SYS_close_range => fds::forget_range(args[0] as c_uint, args[1] as c_uint),
        libc::SYS_seccomp => state::mark(Event::Seccomp),
        libc::SYS_prctl if args[0] == libc::PR_SET_SECCOMP as c_long => state::mark(Event::Seccomp),
        libc::SYS_unshare | libc::SYS_setns => state::mark(Event::Namespaces),
        _ => {}
    }
}

observe! {
    /// unshare(2): new namespaces or an unshared fs_struct (working directory, root), which
    /// the ring's kernel workers would not share: every later call goes to libc.
    fn unshare(flags: c_int) -> c_int => |res| namespaces_changed(res);
    /// setns(2): as unshare.
    fn setns(fd: c_int, nstype: c_int) -> c_int => |res| namespaces_changed(res);
    /// prctl(2); `PR_SET_SECCOMP` marks a seccomp filter.
    fn prctl(option: c_int; ...a2: c_ulong, a3: c_ulong, a4: c_ulong, a5: c_ulong) -> c_int => |res| {
        if res == 0 && option == libc::PR_SET_SECCOMP {
            state::mark(Event::Seccomp);
        }
    };
    /// pthread_cancel(3): ring waits are not cancellation points, so from now on every call
    /// goes to libc.
    fn pthread_cancel(thread: libc::pthread_t) -> c_int => |res| {
        let _ = res;
        state::mark(Event::Cancellation);
    };
    /// posix_spawn(3): the new program shares the fds' offsets.
    fn posix_spawn(pid: *mut libc::pid_t, path: *const c_char, actions: *const c_void,
        attr: *const c_void, argv: *const *mut c_char, envp: *const *mut c_char) -> c_int =>
        |res| { let _ = res; fds::new_epoch(); };
    /// posix_spawnp(3): the new program shares the fds' offsets.
    fn posix_spawnp(pid: *mut libc::pid_t, file: *const c_char, actions: *const c_void,
        attr: *const c_void, argv: *const *mut c_char, envp: *const *mut c_char) -> c_int =>
        |res| { let _ = res; fds::new_epoch(); };
    /// dup2(2): the replaced fd now refers to `old`'s file.
    fn dup2(old: c_int, new: c_int) -> c_int => |res| if res >= 0 { fds::duplicated(old, new) };
    /// dup3(2): the replaced fd now refers to `old`'s file.
    fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int =>
        |res| if res >= 0 { fds::duplicated(old, new) };
    /// close_range(2): forgets what was known of the closed fds.
    fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int =>
        |res| if res == 0 { fds::forget_range(first, last) };
    /// closefrom(3): forgets what was known of the closed fds.
    fn closefrom(first: c_int) -> () => |_done| fds::forget_range(first.max(0) as c_uint, c_uint::MAX);
    /// setsockopt(2): a socket's timeouts may have changed.
    fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void,
        len: libc::socklen_t) -> c_int => |res| if res == 0 { fds::forget(fd) };
}

real_fn!(fn fclose_real(fclose): unsafe extern "C" fn(*mut libc::FILE) -> c_int);
real_fn!(fn closedir_real(closedir): unsafe extern "C" fn(*mut libc::DIR) -> c_int);
real_fn!(fn syscall_real(syscall): unsafe extern "C" fn(c_long, ...) -> c_long);

/// fclose(3), which closes its fd inside libc: forgets what was known of it.
///
/// # Safety
/// As fclose(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fclose(stream: *mut libc::FILE) -> c_int {
    let Some(real) = fclose_real() else {
        return crate::calls::missing();
    };
    if !stream.is_null() {
        // SAFETY: the caller passes an open stream, as fclose requires.
        fds::forget(unsafe { libc::fileno(stream) });
    }
    // SAFETY: the caller's argument, unchanged.
    unsafe { real(stream) }
}

/// closedir(3), which closes its fd inside libc: forgets what was known of it.
///
/// # Safety
/// As closedir(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn closedir(dir: *mut libc::DIR) -> c_int {
    let Some(real) = closedir_real() else {
        return crate::calls::missing();
    };
    if !dir.is_null() {
        // SAFETY: the caller passes an open directory stream, as closedir requires.
        fds::forget(unsafe { libc::dirfd(dir) });
    }
    // SAFETY: the caller's argument, unchanged.
    unsafe { real(dir) }
}

/// syscall(2): passed on with all six argument registers; closes, dups, namespace changes
/// and seccomp filters are noted.
///
/// # Safety
/// As syscall(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn syscall(
    number: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
) -> c_long {
    let Some(real) = syscall_real() else {
        return crate::calls::missing();
    };
    if number == libc::SYS_close {
        fds::forget(a1 as c_int);
    }
    // SAFETY: the caller's arguments, unchanged (syscall reads six whatever was passed).
    let res = unsafe { real(number, a1, a2, a3, a4, a5, a6) };
    observe_syscall(number, [a1, a2, a3, a4, a5, a6], res);
    res
}

/// Resolves the real functions written out by hand above.
pub(crate) fn resolve_others() {
    let _ = (vfork_real(), fork_real(), bare_fork_real());
    let _ = (fclose_real(), closedir_real(), syscall_real());
}
