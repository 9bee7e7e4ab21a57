//! softmax / log-softmax (reference and vectorized, vector and row-wise) against f64, with the
//! invariants: sums to one, shift invariance, masked (−∞) entries, and the error paths.

use edgeml_core::kernels::softmax::{
    log_softmax, log_softmax_reference, log_softmax_rows, softmax, softmax_reference, softmax_rows,
};
use edgeml_core::{Error, TensorView, TensorViewMut};
use proptest::prelude::*;

fn softmax64(x: &[f32]) -> Vec<f64> {
    let max = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let exps: Vec<f64> = x.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

fn logits() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![1usize..20, 1usize..2000]
        .prop_flat_map(|n| prop::collection::vec(-50.0f32..50.0, n))
}

/// Relative error allowed per probability: exp (≤ 3u) plus n-term sum and division.
fn tolerance(n: usize) -> f64 {
    (n as f64 + 8.0) * f32::EPSILON as f64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn softmax_matches_f64(x in logits()) {
        let expected = softmax64(&x);
        for kernel in [softmax_reference, softmax] {
            let mut out = vec![0.0f32; x.len()];
            kernel(&x, &mut out).unwrap();
            let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            for ((got, want), &xi) in out.iter().zip(&expected).zip(&x) {
                // xᵢ − max rounds by |xᵢ − max|·u, which exp turns into a relative error; and
                // probabilities below f32's smallest normal may flush to zero (documented).
                let relative = tolerance(x.len()) + (xi - max).abs() as f64 * f32::EPSILON as f64;
                prop_assert!((*got as f64 - want).abs() <= relative * want + f32::MIN_POSITIVE as f64);
            }
            let sum: f64 = out.iter().map(|&p| p as f64).sum();
            prop_assert!((sum - 1.0).abs() <= tolerance(x.len()));
        }
    }

    #[test]
    fn log_softmax_matches_f64(x in logits()) {
        let expected: Vec<f64> = softmax64(&x).iter().map(|p| p.ln()).collect();
        for kernel in [log_softmax_reference, log_softmax] {
            let mut out = vec![0.0f32; x.len()];
            kernel(&x, &mut out).unwrap();
            for (got, want) in out.iter().zip(&expected) {
                prop_assert!((*got as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * (want.abs() + 60.0));
            }
        }
    }

    #[test]
    fn softmax_is_shift_invariant(x in logits(), shift in -1000.0f32..1000.0) {
        let shifted: Vec<f32> = x.iter().map(|&v| v + shift).collect();
        let (mut a, mut b) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        softmax(&x, &mut a).unwrap();
        softmax(&shifted, &mut b).unwrap();
        // The shift itself rounds each logit by up to |x+shift|·u, which moves exp by as much;
        // probabilities below f32's smallest normal may flush to zero on either side.
        let slack = (shift.abs() + 50.0) as f64 * f32::EPSILON as f64 * 2.0 + tolerance(x.len());
        for (p, q) in a.iter().zip(&b) {
            prop_assert!(((p - q) as f64).abs() <= slack * (*p as f64) + f32::MIN_POSITIVE as f64);
        }
    }

    #[test]
    fn rows_match_per_row_calls(rows in 1usize..8, cols in 1usize..40, seed in any::<u64>()) {
        let mut rng = edgeml_core::rng::Rng::new(seed);
        let x: Vec<f32> = (0..rows * cols).map(|_| 5.0 * rng.normal()).collect();
        let mut out = vec![0.0f32; rows * cols];
        softmax_rows(TensorView::matrix(&x, rows, cols).unwrap(), TensorViewMut::matrix(&mut out, rows, cols).unwrap()).unwrap();
        let mut logs = vec![0.0f32; rows * cols];
        log_softmax_rows(TensorView::matrix(&x, rows, cols).unwrap(), TensorViewMut::matrix(&mut logs, rows, cols).unwrap()).unwrap();
        for r in 0..rows {
            let mut one = vec![0.0f32; cols];
            softmax(&x[r * cols..(r + 1) * cols], &mut one).unwrap();
            prop_assert_eq!(&out[r * cols..(r + 1) * cols], &one[..]);
            log_softmax(&x[r * cols..(r + 1) * cols], &mut one).unwrap();
            prop_assert_eq!(&logs[r * cols..(r + 1) * cols], &one[..]);
        }
    }
}

#[test]
fn masked_entries_get_zero_probability() {
    let x = [1.0, f32::NEG_INFINITY, 2.0, f32::NEG_INFINITY];
    let mut out = [0.0f32; 4];
    softmax(&x, &mut out).unwrap();
    assert_eq!(out[1], 0.0);
    assert_eq!(out[3], 0.0);
    let expected = softmax64(&[1.0, 2.0]);
    assert!((out[0] as f64 - expected[0]).abs() < 1e-7);
    log_softmax(&x, &mut out).unwrap();
    assert_eq!(out[1], f32::NEG_INFINITY);
}

#[test]
fn bad_inputs_are_errors() {
    let mut out = [0.0f32; 3];
    for kernel in [
        softmax,
        softmax_reference,
        log_softmax,
        log_softmax_reference,
    ] {
        assert_eq!(kernel(&[], &mut []), Err(Error::Empty));
        assert_eq!(
            kernel(&[1.0, f32::NAN, 0.0], &mut out),
            Err(Error::NonFinite { index: 1 })
        );
        assert_eq!(
            kernel(&[1.0, 0.0, f32::INFINITY], &mut out),
            Err(Error::NonFinite { index: 2 })
        );
        assert!(matches!(
            kernel(&[f32::NEG_INFINITY; 3], &mut out),
            Err(Error::InvalidParameter { .. })
        ));
        assert_eq!(
            kernel(&[1.0, 2.0], &mut out),
            Err(Error::ShapeMismatch {
                expected: 2,
                found: 3
            })
        );
    }
    let x = [0.0f32; 6];
    let mut small = [0.0f32; 4];
    assert!(softmax_rows(
        TensorView::matrix(&x, 2, 3).unwrap(),
        TensorViewMut::matrix(&mut small, 2, 2).unwrap()
    )
    .is_err());
}
