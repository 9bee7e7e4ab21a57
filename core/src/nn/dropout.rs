//! Inverted dropout with a seeded mask: each unit is kept with probability `1 − p` and scaled
//! by `1/(1 − p)`, so inference needs no rescaling.

use crate::rng::Rng;

/// Fills `mask` with `1/(1−p)` (kept) or `0` (dropped), drawing from `rng`, and multiplies
/// `values` by it. `p` must lie in `[0, 1)` (checked by the caller).
pub(crate) fn apply(values: &mut [f32], mask: &mut [f32], p: f32, rng: &mut Rng) {
    let keep = 1.0 / (1.0 - p);
    for (v, m) in values.iter_mut().zip(mask.iter_mut()) {
        *m = if rng.uniform_f32() >= p { keep } else { 0.0 };
        *v *= *m;
    }
}

/// `delta ← delta ⊙ mask`: backward through [`apply`].
pub(crate) fn backward(delta: &mut [f32], mask: &[f32]) {
    for (d, &m) in delta.iter_mut().zip(mask) {
        *d *= m;
    }
}
