//! Vectorizable whole-slice checks used on every training step.

use crate::error::Result;

const LANES: usize = 16;

/// `Err(NonFinite)` at the first NaN or infinity of `values`. Scans in lanes without early
/// exit (so the common all-finite case vectorizes) and locates the index only on failure.
pub(crate) fn ensure_finite(values: &[f32]) -> Result<()> {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            // v·0 is 0 for finite v and NaN for NaN or ±inf.
            *l += v * 0.0;
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&v| v * 0.0).sum();
    if lanes.iter().sum::<f32>() + tail == 0.0 {
        Ok(())
    } else {
        crate::error::ensure_finite(values)
    }
}

/// Euclidean norm of `values`, squares accumulated in f64 lanes (cannot overflow for f32
/// inputs); infinite or NaN exactly when some value is.
pub(crate) fn norm(values: &[f32]) -> f32 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l += f64::from(v) * f64::from(v);
        }
    }
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum();
    libm::sqrt(lanes.iter().sum::<f64>() + tail) as f32
}
