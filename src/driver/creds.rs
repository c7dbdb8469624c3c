//! Credentials under SQPOLL. Without SQPOLL the kernel runs every operation with the
//! submitting task's current credentials. With SQPOLL the poller thread submits, with the
//! credentials of the ring's creator: after a process drops privileges (setuid, setgroups,
//! capset, a raw syscall the crate never sees), operations would still run with the old
//! ones (the pattern of libuv's CVE-2024-22017).
//!
//! So an SQPOLL ring checks rather than trusts: before entries are published to the
//! kernel, the thread's credentials are read (seven raw syscalls) and compared with those
//! the ring runs with; after a change, the current credentials are registered as a
//! personality (`IORING_REGISTER_PERSONALITY`) and every entry being published carries it.
//! Each operation then runs with the credentials in force when it was submitted, as a
//! syscall would.

use super::Driver;
use crate::sys::syscall::{self as sc, Credentials};

/// Registered personalities kept at most; beyond, the oldest unused one is dropped.
const KEPT: usize = 16;

/// What an SQPOLL ring's entries run with.
pub(crate) struct Pinned {
    /// The credentials the entries get: the creator's, or those of `personality`.
    creds: Credentials,
    /// The registered personality of `creds`; `None` for the creator's (the ring's own).
    personality: Option<u16>,
    /// Credentials seen before and their personality (`None`: the creator's), newest
    /// last, so switching back and forth reuses them.
    known: Vec<(Credentials, Option<u16>)>,
}

impl Pinned {
    /// For a ring made now, by this thread.
    pub(crate) fn now() -> Pinned {
        let creds = Credentials::current();
        Pinned {
            known: vec![(creds.clone(), None)],
            creds,
            personality: None,
        }
    }
}

impl Driver {
    /// Before entries are published to the kernel: on an SQPOLL ring, makes them run with
    /// the thread's current credentials.
    #[inline]
    pub(crate) fn before_submit(&mut self) {
        if self.pinned.is_some() && self.ring.sq_unpublished() > 0 {
            self.pin_credentials();
        }
    }

    #[cold]
    fn pin_credentials(&mut self) {
        let Some(mut pinned) = self.pinned.take() else {
            return;
        };
        let now = Credentials::current();
        if now != pinned.creds {
            if let Some(position) = pinned.known.iter().position(|(c, _)| *c == now) {
                let known = pinned.known.remove(position);
                pinned.personality = known.1;
                pinned.creds = now;
                pinned.known.push(known);
            } else {
                if pinned.known.len() >= KEPT && self.ring.sq_pending() == 0 {
                    // Nothing unconsumed can name it: drop the oldest personality.
                    if let Some(position) = pinned.known.iter().position(|(_, p)| p.is_some()) {
                        if let (_, Some(old)) = pinned.known.remove(position) {
                            let _ = self.ring.unregister_personality(old);
                        }
                    }
                }
                match self.ring.register_personality() {
                    Ok(id) => {
                        pinned.creds = now.clone();
                        pinned.personality = Some(id);
                        pinned.known.push((now, Some(id)));
                    }
                    // Publishing now would run the entries with stale credentials, and they
                    // cannot be taken back from an SQPOLL ring's view: stop.
                    Err(e) => sc::abort_with(
                        format!(
                            "uring_os: the thread's credentials changed and the SQPOLL ring cannot \
                         register the new ones ({e}); aborting rather than running operations \
                         with the old ones\n"
                        )
                        .as_bytes(),
                    ),
                }
            }
        }
        if let Some(id) = pinned.personality {
            self.ring.stamp_unpublished(id);
        }
        self.pinned = Some(pinned);
    }
}
