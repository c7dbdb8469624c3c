//! Signal handlers. The shim wraps every handler the program installs with `sigaction`,
//! `signal`, `bsd_signal` or `siginterrupt`, so it knows when a thread is inside one (calls made
//! there go to libc: the thread may be in the middle of a call already) and which handlers ran
//! during a call, with or without `SA_RESTART`: a wait that a signal cut short then ends as
//! the syscall would have, with EINTR or restarted. Queries see the program's own handler,
//! never the wrapper.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};

use crate::real::real_fn;
use crate::state::{self, THREAD};
use crate::sys::syscall;
use crate::user;

/// Signal numbers 1 to 64.
const NSIG: usize = 65;

/// The program's handler for each signal, as `sa_sigaction` holds it.
static HANDLERS: [AtomicUsize; NSIG] = [const { AtomicUsize::new(0) }; NSIG];
/// The program's `sa_flags` for each wrapped signal (for `SA_SIGINFO` in queries).
static FLAGS: [AtomicI32; NSIG] = [const { AtomicI32::new(0) }; NSIG];
/// Signals `siginterrupt(sig, 1)` made interrupting, for later `signal` calls (glibc keeps
/// the same set internally).
static INTERRUPT_SET: AtomicU64 = AtomicU64::new(0);
/// Whether a handler without `SA_RESTART` may be installed.
static INTERRUPTING: AtomicBool = AtomicBool::new(false);

real_fn!(fn sigaction_real(sigaction): unsafe extern "C" fn(c_int, *const libc::sigaction, *mut libc::sigaction) -> c_int);

/// The kernel's view of a signal's action (`struct kernel_sigaction` on x86-64 and arm64).
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// The signal's action as the kernel holds it now, or `None` for an invalid signal.
fn kernel_action(sig: c_int) -> Option<KernelSigaction> {
    let mut old = KernelSigaction::default();
    // SAFETY: with a null new action, rt_sigaction only writes the old one, which fits.
    let res = unsafe { syscall!(libc::SYS_rt_sigaction, sig, 0, &raw mut old, 8) };
    (res == 0).then_some(old)
}

/// Runs the program's handler for `sig`, noting on this thread that a handler runs and
/// whether it has `SA_RESTART`.
extern "C" fn wrapper(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // The flags in force now: siginterrupt, sigset and the like change them without this
    // library seeing the new action.
    let restart = kernel_action(sig).is_some_and(|a| a.flags & libc::SA_RESTART as u64 != 0);
    let frame = state::stack_address();
    let _ = THREAD.try_with(|t| {
        if restart {
            t.restarting.set(t.restarting.get().wrapping_add(1));
        } else {
            t.interrupting.set(t.interrupting.get().wrapping_add(1));
        }
        let depth = t.depth.get();
        if let Some(slot) = t.frames.get(depth) {
            slot.set(frame);
        }
        t.depth.set(depth + 1);
    });
    let handler = usize::try_from(sig)
        .ok()
        .and_then(|s| HANDLERS.get(s))
        .map_or(libc::SIG_DFL, |h| h.load(Ordering::Acquire));
    if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
        // SAFETY: the program installed this function as the handler of `sig`; a handler
        // without SA_SIGINFO takes only the first argument, and the rest are ignored by the
        // C calling convention.
        let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { std::mem::transmute(handler) };
        handler(sig, info, context);
    }
    let _ = THREAD.try_with(|t| t.depth.set(t.depth.get().saturating_sub(1)));
}

fn wrapper_address() -> usize {
    wrapper as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize
}

/// Shows the program's own handler in an action read back from the kernel.
fn unwrap_action(action: &mut libc::sigaction, handler: usize, flags: c_int) {
    if action.sa_sigaction == wrapper_address() {
        action.sa_sigaction = handler;
        action.sa_flags = (action.sa_flags & !libc::SA_SIGINFO) | (flags & libc::SA_SIGINFO);
    }
}

fn slot(sig: c_int) -> Option<usize> {
    usize::try_from(sig)
        .ok()
        .filter(|&s| (1..NSIG).contains(&s))
}

/// sigaction(2), wrapping the handler.
///
/// # Safety
/// As sigaction(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigaction(
    sig: c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    let Some(real) = sigaction_real() else {
        return crate::calls::missing();
    };
    let new = match (slot(sig), act.is_null()) {
        (Some(s), false) => user::read_in(act).map(|a| (s, a)),
        _ => None,
    };
    let Some((s, mut new)) = new else {
        // A query, an invalid signal or an unreadable action: the kernel answers, and a
        // wrapper in the old action is shown as the program's handler.
        // SAFETY: the caller's arguments, unchanged.
        let res = unsafe { real(sig, act, old) };
        if let Some(s) = slot(sig).filter(|_| res == 0 && !old.is_null()) {
            let (h, f) = (
                HANDLERS[s].load(Ordering::Acquire),
                FLAGS[s].load(Ordering::Relaxed),
            );
            // SAFETY: the real sigaction just wrote a whole action there.
            unwrap_action(unsafe { &mut *old }, h, f);
        }
        return res;
    };
    let handler = new.sa_sigaction;
    let flags = new.sa_flags;
    let wrap = handler != libc::SIG_DFL && handler != libc::SIG_IGN;
    // Stored before the kernel sees the wrapper, so a signal arriving at once finds it.
    let old_handler = HANDLERS[s].swap(if wrap { handler } else { 0 }, Ordering::AcqRel);
    let old_flags = FLAGS[s].swap(flags, Ordering::Relaxed);
    if wrap {
        if flags & libc::SA_RESTART == 0 {
            INTERRUPTING.store(true, Ordering::Relaxed);
        }
        new.sa_sigaction = wrapper_address();
        new.sa_flags |= libc::SA_SIGINFO;
    }
    // SAFETY: `new` is a valid action; `old` is the caller's.
    let res = unsafe { real(sig, &new, old) };
    if res != 0 {
        HANDLERS[s].store(old_handler, Ordering::Release);
        FLAGS[s].store(old_flags, Ordering::Relaxed);
    } else if !old.is_null() {
        // SAFETY: the real sigaction just wrote a whole action there.
        unwrap_action(unsafe { &mut *old }, old_handler, old_flags);
    }
    res
}

/// Installs `handler` for `sig` the way BSD `signal` does: `SA_RESTART` unless
/// `siginterrupt` said otherwise, `sig` blocked while it runs. Returns the old handler.
fn bsd_install(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t {
    let Some(s) = slot(sig) else {
        crate::sys::set_errno(libc::EINVAL);
        return libc::SIG_ERR;
    };
    // SAFETY: sigaction is plain data; all-zero is valid.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler;
    // SAFETY: the mask is a valid sigset_t and `sig` is in range.
    unsafe {
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaddset(&mut act.sa_mask, sig);
    }
    if INTERRUPT_SET.load(Ordering::Relaxed) & (1 << s) == 0 {
        act.sa_flags = libc::SA_RESTART;
    }
    // SAFETY: sigaction is plain data; all-zero is valid.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both actions are valid for the call.
    if unsafe { sigaction(sig, &act, &mut old) } != 0 {
        return libc::SIG_ERR;
    }
    old.sa_sigaction
}

/// signal(3) with BSD semantics, as glibc's.
///
/// # Safety
/// As signal(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t {
    bsd_install(sig, handler)
}

/// bsd_signal(3): the same as `signal`.
///
/// # Safety
/// As signal(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bsd_signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t {
    bsd_install(sig, handler)
}

/// siginterrupt(3): whether a signal interrupts calls (`SA_RESTART` off) or restarts them.
///
/// # Safety
/// As siginterrupt(3).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn siginterrupt(sig: c_int, interrupt: c_int) -> c_int {
    let Some(s) = slot(sig) else {
        crate::sys::set_errno(libc::EINVAL);
        return -1;
    };
    // SAFETY: sigaction is plain data; all-zero is valid.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a query into a valid action.
    if unsafe { sigaction(sig, std::ptr::null(), &mut act) } != 0 {
        return -1;
    }
    if interrupt != 0 {
        INTERRUPT_SET.fetch_or(1 << s, Ordering::Relaxed);
        act.sa_flags &= !libc::SA_RESTART;
    } else {
        INTERRUPT_SET.fetch_and(!(1 << s), Ordering::Relaxed);
        act.sa_flags |= libc::SA_RESTART;
    }
    // SAFETY: the action read back above, with its flags changed.
    unsafe { sigaction(sig, &act, std::ptr::null_mut()) }
}

/// Whether a handler without `SA_RESTART` may be installed (checked at load, then kept up to
/// date by the wrappers above).
pub(crate) fn interrupting_installed() -> bool {
    INTERRUPTING.load(Ordering::Relaxed)
}

/// Whether every handler installed now is one of this library's wrappers, so that the
/// per-thread counts tell which handlers ran. A handler installed behind the shim's back
/// (before it loaded, by a raw syscall, by sigset) could have run unseen.
fn all_handlers_wrapped() -> bool {
    let wrapper = wrapper_address();
    (1..NSIG as c_int).all(|sig| {
        kernel_action(sig).is_none_or(|a| {
            a.handler == libc::SIG_DFL || a.handler == libc::SIG_IGN || a.handler == wrapper
        })
    })
}

/// Notes at load whether handlers without `SA_RESTART` are installed already (inherited
/// dispositions are only SIG_DFL and SIG_IGN after exec, but a constructor may have run).
pub(crate) fn scan_at_load() {
    let interrupting = (1..NSIG as c_int).any(|sig| {
        kernel_action(sig).is_some_and(|a| {
            a.handler != libc::SIG_DFL
                && a.handler != libc::SIG_IGN
                && a.flags & libc::SA_RESTART as u64 == 0
        })
    });
    if interrupting {
        INTERRUPTING.store(true, Ordering::Relaxed);
    }
}

/// After a call that uring_os ended with EINTR: whether the syscall would have restarted
/// instead, because no handler without `SA_RESTART` ran on this thread since `before` (a
/// stop, a ptrace attach, or only `SA_RESTART` handlers). With `poll_like`, any handler
/// makes it EINTR, as for poll(2).
#[cold]
pub(crate) fn would_restart(before: (u32, u32), poll_like: bool) -> bool {
    let now = state::handlers_seen();
    let interrupting_ran = now.0 != before.0;
    let restarting_ran = now.1 != before.1;
    if interrupting_ran || (poll_like && restarting_ran) {
        return false;
    }
    all_handlers_wrapped()
}

/// Resolves the real sigaction at load.
pub(crate) fn resolve_at_load() {
    let _ = sigaction_real();
}
