//! Shared by the attention tests: random problems and an independent f64 attention.
// Each test crate uses only part of this module.
#![allow(dead_code)]

use edgeml_core::attention::AttentionSpec;
use edgeml_core::{TensorView, TensorViewMut};
use proptest::prelude::*;

/// One attention problem: Q (lq×dk), K (lk×dk), V (lk×dv), row-major f32, and its masks.
#[derive(Debug, Clone)]
pub struct Problem {
    pub lq: usize,
    pub lk: usize,
    pub dk: usize,
    pub dv: usize,
    pub causal: bool,
    pub valid: Option<Vec<bool>>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

/// Sequence lengths in `1..=max_len` (1, odd and block-edge sizes included), widths in
/// `1..=max_dim`, entries in [-2, 2], masks on or off, some keys invalid.
pub fn problem(max_len: usize, max_dim: usize) -> impl Strategy<Value = Problem> {
    problem_in(1..=max_len, 1..=max_dim)
}

/// As [`problem`], with lengths and widths drawn from the given ranges.
pub fn problem_in(
    lens: std::ops::RangeInclusive<usize>,
    dims: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Problem> {
    (
        lens.clone(),
        lens,
        dims.clone(),
        dims,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(lq, lk, dk, dv, causal, masked)| {
            let valid = if masked {
                prop::collection::vec(prop::bool::weighted(0.7), lk)
                    .prop_map(Some)
                    .boxed()
            } else {
                Just(None).boxed()
            };
            (
                Just((lq, lk, dk, dv, causal)),
                valid,
                prop::collection::vec(-2.0f32..2.0, lq * dk),
                prop::collection::vec(-2.0f32..2.0, lk * dk),
                prop::collection::vec(-2.0f32..2.0, lk * dv),
            )
        })
        .prop_map(|((lq, lk, dk, dv, causal), valid, q, k, v)| Problem {
            lq,
            lk,
            dk,
            dv,
            causal,
            valid,
            q,
            k,
            v,
        })
}

impl Problem {
    pub fn spec(&self) -> AttentionSpec<'_> {
        let spec = AttentionSpec::new().causal(self.causal);
        match &self.valid {
            Some(valid) => spec.key_valid(valid),
            None => spec,
        }
    }

    pub fn scale(&self) -> f64 {
        1.0 / (self.dk as f64).sqrt()
    }

    /// Whether query i sees key j, written out independently of the core.
    pub fn allows(&self, i: usize, j: usize) -> bool {
        let causal_ok = !self.causal || j <= i;
        let valid_ok = self.valid.as_ref().is_none_or(|v| v[j]);
        causal_ok && valid_ok
    }

    pub fn views(
        &self,
    ) -> (
        TensorView<'_, f32>,
        TensorView<'_, f32>,
        TensorView<'_, f32>,
    ) {
        (
            TensorView::matrix(&self.q, self.lq, self.dk).unwrap(),
            TensorView::matrix(&self.k, self.lk, self.dk).unwrap(),
            TensorView::matrix(&self.v, self.lk, self.dv).unwrap(),
        )
    }

    /// Softmax weights of query `i` in f64 over the given inputs (all zero if it sees no key).
    pub fn weights64(&self, q: &[f64], k: &[f64], i: usize) -> Vec<f64> {
        let scores: Vec<Option<f64>> = (0..self.lk)
            .map(|j| {
                self.allows(i, j).then(|| {
                    let dot: f64 = (0..self.dk)
                        .map(|c| q[i * self.dk + c] * k[j * self.dk + c])
                        .sum();
                    dot * self.scale()
                })
            })
            .collect();
        let max = scores
            .iter()
            .flatten()
            .fold(f64::NEG_INFINITY, |m, &s| m.max(s));
        let exps: Vec<f64> = scores
            .iter()
            .map(|s| s.map_or(0.0, |s| (s - max).exp()))
            .collect();
        let sum: f64 = exps.iter().sum();
        if sum == 0.0 {
            exps
        } else {
            exps.iter().map(|e| e / sum).collect()
        }
    }

    /// The attention output (lq×dv) in f64 over the given inputs.
    pub fn forward64(&self, q: &[f64], k: &[f64], v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.lq * self.dv];
        for i in 0..self.lq {
            let w = self.weights64(q, k, i);
            for c in 0..self.dv {
                out[i * self.dv + c] = (0..self.lk).map(|j| w[j] * v[j * self.dv + c]).sum();
            }
        }
        out
    }

    /// `forward64` of the f32 inputs widened.
    pub fn expected(&self) -> Vec<f64> {
        let w = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<_>>();
        self.forward64(&w(&self.q), &w(&self.k), &w(&self.v))
    }

    /// Error bound for output row i: every score is off by at most ~dk ulps of Σ|q·k|·scale,
    /// which moves each weight relatively by twice that, plus the lk-term sums; times max |v|.
    pub fn tolerance(&self, i: usize) -> f64 {
        let eps = f32::EPSILON as f64;
        let score_mag = (0..self.lk)
            .map(|j| {
                (0..self.dk)
                    .map(|c| {
                        (self.q[i * self.dk + c] as f64 * self.k[j * self.dk + c] as f64).abs()
                    })
                    .sum::<f64>()
                    * self.scale()
            })
            .fold(0.0, f64::max);
        let vmax = self.v.iter().fold(0.0f64, |m, &x| m.max((x as f64).abs()));
        4.0 * eps
            * ((self.dk + 4) as f64 * (1.0 + score_mag) + self.lk as f64 + 8.0)
            * (vmax + 1e-3)
    }

    /// Checks an lq×dv row-major output against f64 row by row.
    pub fn check(&self, out: &[f32], label: &str) -> Result<(), TestCaseError> {
        let expected = self.expected();
        for i in 0..self.lq {
            let tol = self.tolerance(i);
            for c in 0..self.dv {
                let (got, want) = (out[i * self.dv + c] as f64, expected[i * self.dv + c]);
                prop_assert!(
                    (got - want).abs() <= tol,
                    "{label}: out[{i}][{c}] = {got}, f64 {want}, tolerance {tol}"
                );
            }
        }
        Ok(())
    }

    pub fn out_view(out: &mut [f32], rows: usize, cols: usize) -> TensorViewMut<'_, f32> {
        TensorViewMut::matrix(out, rows, cols).unwrap()
    }
}
