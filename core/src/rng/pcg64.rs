//! numpy's default generator, bit for bit: `np.random.default_rng(seed)` is PCG64 (XSL-RR
//! 128/64) whose 128-bit state and increment come from hashing the seed with numpy's
//! `SeedSequence`. Use it where an experiment must draw exactly the numbers a numpy script drew.

/// PCG64's 128-bit LCG multiplier (`PCG_DEFAULT_MULTIPLIER_128`).
const MULTIPLIER: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

/// `SeedSequence` hashing constants (numpy `bit_generator.pyx`).
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;

/// PCG64 with numpy's seeding and draw methods (`random`, `integers`), including numpy's
/// buffering of the unused upper half of a 64-bit draw for 32-bit bounded integers.
#[derive(Clone, Debug)]
pub struct Pcg64Numpy {
    state: u128,
    increment: u128,
    spare_u32: Option<u32>,
}

impl Pcg64Numpy {
    /// The generator `np.random.default_rng(seed)` builds: `SeedSequence(seed)` hashed into a
    /// 128-bit state and a 128-bit stream increment.
    pub fn new(seed: u64) -> Pcg64Numpy {
        let pool = seed_sequence_pool(seed);
        let words = generate_state(&pool);
        let initial_state = (u128::from(words[0]) << 64) | u128::from(words[1]);
        let sequence = (u128::from(words[2]) << 64) | u128::from(words[3]);
        Pcg64Numpy::from_state_and_sequence(initial_state, sequence)
    }

    /// PCG's `srandom(initstate, initseq)`: the generator numpy builds from a seeded
    /// `(state, inc)` pair before any draw.
    pub fn from_state_and_sequence(initial_state: u128, sequence: u128) -> Pcg64Numpy {
        let mut generator = Pcg64Numpy {
            state: 0,
            increment: (sequence << 1) | 1,
            spare_u32: None,
        };
        generator.step();
        generator.state = generator.state.wrapping_add(initial_state);
        generator.step();
        generator
    }

    /// The current 128-bit LCG state, as numpy reports it in `bit_generator.state["state"]`.
    pub fn state(&self) -> u128 {
        self.state
    }

    /// The odd 128-bit increment, as numpy reports it in `bit_generator.state["inc"]`.
    pub fn increment(&self) -> u128 {
        self.increment
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(MULTIPLIER)
            .wrapping_add(self.increment);
    }

    /// The next 64 bits: advance the LCG, then XOR the halves of the new state and rotate by
    /// its top six bits (XSL-RR).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let high = (self.state >> 64) as u64;
        let low = self.state as u64;
        (high ^ low).rotate_right((self.state >> 122) as u32)
    }

    /// The next 32 bits as numpy's `next_uint32`: the low half of a fresh 64-bit draw, the
    /// high half being kept for the following call.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(spare) = self.spare_u32.take() {
            return spare;
        }
        let draw = self.next_u64();
        self.spare_u32 = Some((draw >> 32) as u32);
        draw as u32
    }

    /// numpy's `random()`: a uniform `f64` in `[0, 1)` from the top 53 bits of one 64-bit draw.
    pub fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// numpy's `integers(low, high)` (high exclusive, int64) for one value: Lemire's bounded
    /// method on 32-bit draws when the range fits 32 bits, on 64-bit draws otherwise. Returns
    /// `low` when `high <= low + 1` (numpy raises for `high <= low`; callers check that).
    pub fn integers(&mut self, low: i64, high: i64) -> i64 {
        let range = (high as u64).wrapping_sub(low as u64).wrapping_sub(1);
        if high <= low || range == 0 {
            return low;
        }
        let offset = if range <= u64::from(u32::MAX) {
            u64::from(self.bounded_u32(range as u32))
        } else {
            self.bounded_u64(range)
        };
        (low as u64).wrapping_add(offset) as i64
    }

    /// A uniform value in `[0, range]` (inclusive) from 32-bit draws, as numpy's
    /// `buffered_bounded_lemire_uint32`.
    fn bounded_u32(&mut self, range: u32) -> u32 {
        if range == u32::MAX {
            return self.next_u32();
        }
        let exclusive = range + 1;
        let mut product = u64::from(self.next_u32()) * u64::from(exclusive);
        let mut leftover = product as u32;
        if leftover < exclusive {
            let threshold = (u32::MAX - range) % exclusive;
            while leftover < threshold {
                product = u64::from(self.next_u32()) * u64::from(exclusive);
                leftover = product as u32;
            }
        }
        (product >> 32) as u32
    }

    /// A uniform value in `[0, range]` (inclusive) from 64-bit draws, as numpy's
    /// `bounded_lemire_uint64`.
    fn bounded_u64(&mut self, range: u64) -> u64 {
        if range == u64::MAX {
            return self.next_u64();
        }
        let exclusive = range + 1;
        let mut product = u128::from(self.next_u64()) * u128::from(exclusive);
        let mut leftover = product as u64;
        if leftover < exclusive {
            let threshold = (u64::MAX - range) % exclusive;
            while leftover < threshold {
                product = u128::from(self.next_u64()) * u128::from(exclusive);
                leftover = product as u64;
            }
        }
        (product >> 64) as u64
    }
}

/// numpy's `hashmix`: returns the mixed value and advances the hash constant.
fn hash_mix(value: u32, hash_const: &mut u32) -> u32 {
    let mut value = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    value = value.wrapping_mul(*hash_const);
    value ^ (value >> XSHIFT)
}

/// numpy's `mix`.
fn mix(x: u32, y: u32) -> u32 {
    let result = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    result ^ (result >> XSHIFT)
}

/// `SeedSequence(seed).pool`: the seed as little-endian 32-bit words (one word for seeds
/// below 2^32, zero included), hashed into four words and cross-mixed.
fn seed_sequence_pool(seed: u64) -> [u32; POOL_SIZE] {
    let entropy = [seed as u32, (seed >> 32) as u32];
    let entropy_words = if seed >> 32 == 0 { 1 } else { 2 };
    let mut hash_const = INIT_A;
    let mut pool = [0u32; POOL_SIZE];
    for (i, slot) in pool.iter_mut().enumerate() {
        let word = if i < entropy_words {
            entropy.get(i).copied().unwrap_or(0)
        } else {
            0
        };
        *slot = hash_mix(word, &mut hash_const);
    }
    for source in 0..POOL_SIZE {
        for destination in 0..POOL_SIZE {
            if source != destination {
                let hashed = hash_mix(pool[source], &mut hash_const);
                pool[destination] = mix(pool[destination], hashed);
            }
        }
    }
    pool
}

/// `SeedSequence.generate_state(4, np.uint64)`: eight 32-bit words cycled out of the pool,
/// hashed, and paired little-endian into four 64-bit words.
fn generate_state(pool: &[u32; POOL_SIZE]) -> [u64; 4] {
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, word) in words.iter_mut().enumerate() {
        let mut value = pool[i % POOL_SIZE] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        value = value.wrapping_mul(hash_const);
        *word = value ^ (value >> XSHIFT);
    }
    let mut out = [0u64; 4];
    for (i, value) in out.iter_mut().enumerate() {
        *value = u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
    }
    out
}
