//! What an attention call computes beyond Q, K, V: the score scale and the masks, and the shape
//! checks every entry point shares.

use core::ops::Range;

use super::matrix::Mat;
use crate::error::{ensure_len, Error, Result};
use crate::math::{Exact, Math};
use crate::scalar::Scalar;

/// Scale and masks of an attention call. `AttentionSpec::default()` is unmasked with scale
/// 1/√d_k.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttentionSpec<'a> {
    scale: Option<f32>,
    causal: bool,
    key_valid: Option<&'a [bool]>,
}

impl<'a> AttentionSpec<'a> {
    /// Unmasked attention with scale 1/√d_k.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `causal`, query i sees only keys j ≤ i (top-left aligned when L_q ≠ L_k).
    pub fn causal(self, causal: bool) -> Self {
        AttentionSpec { causal, ..self }
    }

    /// Padding mask over the L_k keys: key j is seen only where `key_valid[j]` is true.
    pub fn key_valid(self, key_valid: &'a [bool]) -> Self {
        AttentionSpec {
            key_valid: Some(key_valid),
            ..self
        }
    }

    /// Scores are `scale`·q·k instead of q·k/√d_k; must be finite and positive.
    pub fn scale(self, scale: f32) -> Self {
        AttentionSpec {
            scale: Some(scale),
            ..self
        }
    }

    /// Whether query `i` sees key `j`.
    #[inline]
    pub fn allows(&self, i: usize, j: usize) -> bool {
        (!self.causal || j <= i)
            && self
                .key_valid
                .is_none_or(|valid| valid.get(j).copied().unwrap_or(false))
    }

    /// Whether some query of `queries` sees some key of `keys` (a block that can be skipped
    /// otherwise).
    pub(crate) fn any_visible(&self, queries: Range<usize>, keys: Range<usize>) -> bool {
        match self.key_valid {
            None => !self.causal || keys.start < queries.end,
            Some(_) => queries
                .into_iter()
                .any(|i| keys.clone().any(|j| self.allows(i, j))),
        }
    }

    /// Whether query `i` sees every key of `keys` (no masking needed in that block row).
    pub(crate) fn all_visible(&self, i: usize, keys: Range<usize>) -> bool {
        self.key_valid.is_none() && (!self.causal || keys.end <= i + 1)
    }
}

/// Checked sizes of one attention problem.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub lq: usize,
    pub lk: usize,
    pub dv: usize,
    pub scale: f32,
}

/// Checks Q (L_q×d_k), K (L_k×d_k), V (L_k×d_v), the output shape and the spec, and that Q, K
/// and V are finite.
pub(crate) fn check<S: Scalar>(
    spec: &AttentionSpec<'_>,
    q: &Mat<'_, S>,
    k: &Mat<'_, S>,
    v: &Mat<'_, S>,
    out_rows: usize,
    out_cols: usize,
) -> Result<Dims> {
    ensure_len(q.cols, k.cols)?;
    ensure_len(k.rows, v.rows)?;
    ensure_len(q.rows, out_rows)?;
    ensure_len(v.cols, out_cols)?;
    if q.rows == 0 || k.rows == 0 || q.cols == 0 || v.cols == 0 {
        return Err(Error::Empty);
    }
    if let Some(valid) = spec.key_valid {
        ensure_len(k.rows, valid.len())?;
    }
    let scale = spec
        .scale
        .unwrap_or_else(|| 1.0 / Exact::sqrt(q.cols as f32));
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::InvalidParameter { name: "scale" });
    }
    q.ensure_finite()?;
    k.ensure_finite()?;
    v.ensure_finite()?;
    Ok(Dims {
        lq: q.rows,
        lk: k.rows,
        dv: v.cols,
        scale,
    })
}
