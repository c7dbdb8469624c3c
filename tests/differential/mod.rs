//! Differential testing against libc: random operations run once through the direct
//! syscalls (the oracle, which shares no code with the crate) and once through `uring_os`,
//! in twin directories; results, errnos, bytes, file positions, open fd numbers and the final
//! trees must be equal. Used by `tests/fuzz.rs` (the configurations CI runs) and
//! `tests/faults.rs` (the same cases under injected faults).
//!
//! - [`rng`]: the seeded generator and the settings (`URING_OS_FUZZ_CASES`,
//!   `URING_OS_FUZZ_SEED`, `URING_OS_FUZZ_REPLAY`);
//! - [`tree`]: what a run leaves (trees byte for byte, open fds);
//! - [`seq`]: sequences of blocking calls;
//! - [`batches`]: batch scopes of random shapes (links, drains, early failures, windows,
//!   hundreds of operations), against the same operations run one by one.
//!
//! Nothing here prints: runs return their differences, so they can run in fork children.

#![allow(dead_code, reason = "each test binary uses only some of these")]

pub mod batches;
pub mod rng;
pub mod seq;
pub mod tree;

use std::path::Path;

/// Runs the sequence cases of `seeds` under `base`; the first difference, or the tally.
pub fn run_sequences(
    seeds: &[u64],
    base: &Path,
    config: &seq::Config,
) -> Result<seq::Tally, String> {
    let mut tally = seq::Tally::default();
    for &seed in seeds {
        seq::run_case(seed, base, config, &mut tally)?;
    }
    Ok(tally)
}

/// Runs the batch cases of `seeds` under `base`; the first difference, or the tally.
pub fn run_batches(seeds: &[u64], base: &Path) -> Result<batches::Tally, String> {
    let mut tally = batches::Tally::default();
    for &seed in seeds {
        batches::run_case(seed, base, &mut tally)?;
    }
    Ok(tally)
}
