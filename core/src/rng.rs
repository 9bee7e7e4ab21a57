//! Seeded PRNG (placeholder until written).
