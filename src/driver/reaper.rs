//! The reaper: a background thread that unmaps the rings of exited threads, so an exiting
//! thread does not pay for it (unmapping in a multi-threaded process costs a TLB shootdown).

use std::sync::Mutex;
use std::sync::mpsc::Sender;

use crate::ring::Remains;
use crate::sys::syscall as sc;

/// Hands ring memory to the reaper thread to unmap; unmaps here if there is none.
pub(crate) fn release_later(remains: Remains) {
    type Reaper = Option<(libc::pid_t, Sender<Remains>)>;
    static REAPER: Mutex<Reaper> = Mutex::new(None);
    // Never block a thread's exit on the lock; unmapping here is only slower.
    let Ok(mut reaper) = REAPER.try_lock() else {
        return;
    };
    let pid = sc::getpid();
    if reaper.as_ref().is_some_and(|(owner, _)| *owner != pid) {
        // A fork child inherited the sender but not the thread behind it.
        std::mem::forget(reaper.take());
    }
    if reaper.is_none() {
        let (tx, rx) = std::sync::mpsc::channel::<Remains>();
        let spawned = std::thread::Builder::new()
            .name("uring_os-reaper".into())
            .spawn(move || rx.into_iter().for_each(drop));
        if spawned.is_ok() {
            *reaper = Some((pid, tx));
        }
    }
    if let Some((_, tx)) = reaper.as_ref() {
        // A send fails only if the reaper died; then the remains drop (unmap) right here.
        let _ = tx.send(remains);
    }
}
