//! The real libc functions behind the names this library exports, each found once with
//! `dlsym(RTLD_NEXT, name)` and cached. Calling the exported name from inside the shim would
//! call the shim again.

use std::ffi::{CStr, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// One libc function, resolved on first use (or by [`resolve_all`] at load) and cached.
pub(crate) struct Real {
    name: &'static CStr,
    ptr: AtomicPtr<c_void>,
}

impl Real {
    /// The function named `name` in the objects loaded after this one (normally libc).
    pub(crate) const fn new(name: &'static CStr) -> Real {
        Real {
            name,
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The function's address, or `None` if no later object defines it.
    #[inline]
    pub(crate) fn get(&self) -> Option<*mut c_void> {
        let ptr = self.ptr.load(Ordering::Acquire);
        if ptr.is_null() {
            self.resolve()
        } else {
            Some(ptr)
        }
    }

    #[cold]
    fn resolve(&self) -> Option<*mut c_void> {
        // SAFETY: dlsym only reads the NUL-terminated name; RTLD_NEXT searches the objects
        // loaded after this one, so the result is never this library's own export.
        let ptr = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) };
        if ptr.is_null() {
            return None;
        }
        self.ptr.store(ptr, Ordering::Release);
        Some(ptr)
    }
}

/// Declares `fn $accessor() -> Option<fn type>`: the real libc function `$symbol`, typed. The type may end in `...` for a variadic function.
macro_rules! real_fn {
    ($vis:vis fn $accessor:ident($symbol:ident): $ty:ty) => {
        #[allow(dead_code)] // reason: not every declared function is called from Rust
        $vis fn $accessor() -> Option<$ty> {
            static REAL: $crate::real::Real = $crate::real::Real::new(
                match std::ffi::CStr::from_bytes_with_nul(concat!(stringify!($symbol), "\0").as_bytes()) {
                    Ok(name) => name,
                    Err(_) => panic!("a function name has no NUL"),
                },
            );
            // SAFETY: the symbol of this name in libc has this C signature (the libc crate's
            // declaration of it).
            REAL.get().map(|ptr| unsafe { std::mem::transmute::<*mut std::ffi::c_void, $ty>(ptr) })
        }
    };
}
pub(crate) use real_fn;

/// Resolves the real functions the shim falls back to, at load time, so that no later call
/// runs dlsym (which is not async-signal-safe) from a signal handler or a vfork child.
pub(crate) fn resolve_all(accessors: &[fn()]) {
    for accessor in accessors {
        accessor();
    }
}
