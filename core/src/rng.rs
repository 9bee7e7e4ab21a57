//! A small seeded pseudo-random generator for `no_std`: xoshiro128++ seeded through SplitMix64,
//! with uniform, normal and bounded-integer draws and Fisher–Yates shuffles.
//!
//! The same seed gives the same sequence on every target, so an experiment run on a host and a
//! training run on a microcontroller draw identical numbers.
//!
//! [`pcg64::Pcg64Numpy`] reproduces numpy's `default_rng` bit for bit, and [`UniformSource`]
//! lets splits and baselines draw from either generator.

pub mod pcg64;

pub use pcg64::Pcg64Numpy;

/// A source of uniform draws, as the splits and random baselines need them.
pub trait UniformSource {
    /// A uniform `f64` in `[0, 1)`.
    fn uniform_f64(&mut self) -> f64;
    /// A uniform index in `[0, bound)`; 0 when `bound` is 0.
    fn index_below(&mut self, bound: usize) -> usize;
}

impl UniformSource for Rng {
    fn uniform_f64(&mut self) -> f64 {
        Rng::uniform_f64(self)
    }

    fn index_below(&mut self, bound: usize) -> usize {
        self.below_usize(bound)
    }
}

impl UniformSource for Pcg64Numpy {
    /// numpy's `random()`.
    fn uniform_f64(&mut self) -> f64 {
        self.random()
    }

    /// numpy's `integers(0, bound)`.
    fn index_below(&mut self, bound: usize) -> usize {
        let high = i64::try_from(bound).unwrap_or(i64::MAX);
        usize::try_from(self.integers(0, high)).unwrap_or(0)
    }
}

/// xoshiro128++ state (128 bits). Not cryptographic.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u32; 4],
}

impl Rng {
    /// A generator whose whole state is derived from `seed` by SplitMix64.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let a = split_mix64(&mut sm);
        let b = split_mix64(&mut sm);
        let mut state = [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32];
        if state == [0; 4] {
            state[0] = 1;
        }
        Rng { state }
    }

    /// The next 32 uniformly distributed bits.
    pub fn next_u32(&mut self) -> u32 {
        let [s0, s1, s2, s3] = self.state;
        let result = s0.wrapping_add(s3).rotate_left(7).wrapping_add(s0);
        let t = s1 << 9;
        let mut s = [s0, s1, s2 ^ s0, s3 ^ s1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        self.state = s;
        result
    }

    /// The next 64 uniformly distributed bits (two 32-bit draws).
    pub fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
    }

    /// A uniform `f32` in `[0, 1)` with 24 random mantissa bits.
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// A uniform `f64` in `[0, 1)` with 53 random mantissa bits.
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform `f32` in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.uniform_f32()
    }

    /// A standard normal draw (mean 0, variance 1) by the Box–Muller transform, in f64
    /// internally so the tails are not truncated by f32 rounding of the uniform draw.
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.uniform_f64();
        let u2 = self.uniform_f64();
        let radius = libm::sqrt(-2.0 * libm::log(u1));
        (radius * libm::cos(core::f64::consts::TAU * u2)) as f32
    }

    /// A uniform integer in `[0, bound)` without modulo bias (Lemire's method); 0 when
    /// `bound` is 0.
    pub fn below(&mut self, bound: u32) -> u32 {
        if bound == 0 {
            return 0;
        }
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u64::from(self.next_u32()) * u64::from(bound);
            if (product as u32) >= threshold {
                return (product >> 32) as u32;
            }
        }
    }

    /// A uniform index in `[0, bound)` for slices of any length; 0 when `bound` is 0.
    pub fn below_usize(&mut self, bound: usize) -> usize {
        match u32::try_from(bound) {
            Ok(small) => self.below(small) as usize,
            Err(_) => loop {
                let candidate = self.next_u64();
                let zone = u64::MAX - (u64::MAX % bound as u64);
                if candidate < zone {
                    return (candidate % bound as u64) as usize;
                }
            },
        }
    }

    /// Shuffles `items` in place (Fisher–Yates): every permutation equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below_usize(i + 1);
            items.swap(i, j);
        }
    }

    /// Fills `out` with uniform draws in `[low, high)`.
    pub fn fill_uniform(&mut self, out: &mut [f32], low: f32, high: f32) {
        for value in out {
            *value = self.uniform(low, high);
        }
    }

    /// Fills `out` with normal draws of the given mean and standard deviation.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f32, std_dev: f32) {
        for value in out {
            *value = mean + std_dev * self.normal();
        }
    }
}

fn split_mix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
