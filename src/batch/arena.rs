//! Where a scope keeps its operations: chunks that never move, so an operation keeps its
//! address (which the kernel holds) until the scope ends, with no allocation per operation.

use std::cell::RefCell;
use std::mem::MaybeUninit;

const CHUNK_SIZE: usize = 8192;

/// A block of operation storage.
#[repr(C, align(16))]
struct Chunk([MaybeUninit<u8>; CHUNK_SIZE]);

thread_local! {
    /// Chunks of finished scopes, kept for the next scope of the thread.
    static SPARE_CHUNKS: RefCell<Vec<Box<Chunk>>> = const { RefCell::new(Vec::new()) };
}

/// Where a scope keeps its operations: chunks that never move, so an operation keeps its
/// address (which the kernel holds) until the scope ends; no allocation per operation. The
/// chunks are held as raw pointers, never as references, since the kernel writes into them.
#[derive(Default)]
pub(super) struct Arena {
    chunks: Vec<std::ptr::NonNull<Chunk>>,
    used: usize,
}

impl Arena {
    pub(super) fn alloc<O>(&mut self, op: O) -> *mut () {
        const {
            assert!(size_of::<O>() <= CHUNK_SIZE && align_of::<O>() <= 16);
        }
        let mut start = self.used.next_multiple_of(align_of::<O>());
        if self.chunks.is_empty() || start + size_of::<O>() > CHUNK_SIZE {
            let chunk = SPARE_CHUNKS
                .try_with(|spare| spare.borrow_mut().pop())
                .ok()
                .flatten()
                .unwrap_or_else(|| {
                    // SAFETY: a chunk is uninitialised bytes, valid as MaybeUninit.
                    unsafe { Box::<Chunk>::new_uninit().assume_init() }
                });
            self.chunks.push(std::ptr::NonNull::from(Box::leak(chunk)));
            start = 0;
        }
        let chunk = *self.chunks.last().expect("a chunk was just ensured");
        self.used = start + size_of::<O>();
        // SAFETY: start + size_of::<O>() <= CHUNK_SIZE, so the pointer stays in the chunk.
        let ptr = unsafe { chunk.as_ptr().cast::<u8>().add(start) }.cast::<O>();
        // SAFETY: ptr is aligned for O (chunks are 16-aligned, start a multiple of O's
        // alignment) and its bytes belong to no other operation.
        unsafe { ptr.write(op) };
        ptr.cast()
    }

    /// Gives the chunks back to the thread; their operations were dropped or moved out.
    pub(super) fn recycle(&mut self) {
        let chunks = std::mem::take(&mut self.chunks);
        let _ = SPARE_CHUNKS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            for chunk in chunks {
                // SAFETY: the chunk came from Box::leak in alloc and is used no more.
                let chunk = unsafe { Box::from_raw(chunk.as_ptr()) };
                if spare.len() < 16 {
                    spare.push(chunk);
                }
            }
        });
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_keep_their_address_and_alignment_across_chunks() {
        let mut arena = Arena::default();
        let mut ptrs = Vec::new();
        for i in 0..3000u64 {
            let p = arena.alloc((i, [i as u8; 3])).cast::<(u64, [u8; 3])>();
            assert_eq!(p as usize % align_of::<(u64, [u8; 3])>(), 0);
            ptrs.push(p);
        }
        assert!(
            arena.chunks.len() > 1,
            "3000 operations fill several chunks"
        );
        for (i, p) in ptrs.iter().enumerate() {
            // SAFETY: each pointer holds the value written above; nothing moved it.
            assert_eq!(unsafe { p.read() }, (i as u64, [i as u8; 3]));
        }
        let big = arena.alloc([7u128; 100]).cast::<[u128; 100]>();
        assert_eq!(big as usize % 16, 0);
        // SAFETY: written just above.
        assert_eq!(unsafe { (*big)[99] }, 7);
        arena.recycle();
        assert!(arena.chunks.is_empty());
        // Recycled chunks serve the next scope.
        let again = arena.alloc(1u8);
        assert!(!again.is_null());
        arena.recycle();
    }
}
