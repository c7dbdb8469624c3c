//! A small seeded PRNG (xorshift64*) and the fuzzers' settings from the environment.

/// SplitMix64's finaliser: spreads a seed's bits, so neighbouring seeds give unrelated streams.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// xorshift64*: fast, good enough to pick operations, and the same on every machine.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix(seed) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Picks an index by weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// `len` bytes that depend only on `seed`: what a write writes, the same on both sides.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// How many cases to run and from which seed, with what a failure prints to replay one.
pub struct Settings {
    pub base: u64,
    pub cases: usize,
    /// `URING_OS_FUZZ_REPLAY`: run only the case with this seed.
    pub replay: Option<u64>,
}

fn parse(value: &str) -> Option<u64> {
    let value = value.trim();
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

impl Settings {
    /// `URING_OS_FUZZ_CASES` (default `default_cases`; scaled by `share`, the part of the
    /// total this suite runs), `URING_OS_FUZZ_SEED` (default a fixed seed, so CI is
    /// deterministic) and `URING_OS_FUZZ_REPLAY`.
    pub fn from_env(default_cases: usize, share: f64) -> Settings {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| parse(&v));
        let cases = match var("URING_OS_FUZZ_CASES") {
            Some(n) => ((n as f64 * share).ceil() as usize).max(1),
            None => default_cases,
        };
        Settings {
            base: var("URING_OS_FUZZ_SEED").unwrap_or(0x005E_ED0F_0A11),
            cases,
            replay: var("URING_OS_FUZZ_REPLAY"),
        }
    }

    /// The seeds of the cases to run.
    pub fn seeds(&self) -> Vec<u64> {
        match self.replay {
            Some(seed) => vec![seed],
            None => (0..self.cases as u64)
                .map(|i| splitmix(self.base ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03)))
                .collect(),
        }
    }
}
