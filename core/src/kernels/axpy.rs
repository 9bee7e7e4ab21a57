//! y ← α·x + y over equal-length vectors.

use crate::error::{ensure_len, Result};

/// y ← α·x + y element by element: the reference. `Err(ShapeMismatch)` on unequal lengths.
pub fn axpy_reference(alpha: f32, x: &[f32], y: &mut [f32]) -> Result<()> {
    ensure_len(x.len(), y.len())?;
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
    Ok(())
}

/// y ← α·x + y in 16-wide chunks with the bounds checks hoisted out of the loop.
/// `Err(ShapeMismatch)` on unequal lengths.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) -> Result<()> {
    ensure_len(x.len(), y.len())?;
    let mut xs = x.chunks_exact(16);
    let mut ys = y.chunks_exact_mut(16);
    for (xc, yc) in (&mut xs).zip(&mut ys) {
        for (yi, &xi) in yc.iter_mut().zip(xc) {
            *yi += alpha * xi;
        }
    }
    for (yi, &xi) in ys.into_remainder().iter_mut().zip(xs.remainder()) {
        *yi += alpha * xi;
    }
    Ok(())
}
