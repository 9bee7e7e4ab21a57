//! dot (reference, lane-chunked, every dispatched variant, mixed precision) and axpy against
//! f64, on random lengths including 0, 1, odd and longer than the lane width.
//!
//! Bound for a length-n dot in any summation order: |ŝ − s| ≤ n·u·Σ|aᵢbᵢ| (Higham 3.1).

mod common;

use common::{dispatches, U32};
use edgeml_core::kernels::axpy::{axpy, axpy_reference};
use edgeml_core::kernels::dot::{dot, dot_dispatch, dot_mixed, dot_reference};
use edgeml_core::kernels::Dispatch;
use edgeml_core::{Error, Scalar};
use half::{bf16, f16};
use proptest::prelude::*;

fn pair() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    prop_oneof![0usize..70, 0usize..3000].prop_flat_map(|n| {
        (
            prop::collection::vec(-100.0f32..100.0, n),
            prop::collection::vec(-100.0f32..100.0, n),
        )
    })
}

fn dot_bound(a: &[f64], b: &[f64]) -> (f64, f64) {
    let exact: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let magnitude: f64 = a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum();
    (exact, a.len().max(1) as f64 * U32 * magnitude + 1e-30)
}

fn widen<S: Scalar>(v: &[S]) -> Vec<f64> {
    v.iter().map(|x| x.to_f32() as f64).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn dot_variants_match_f64((a, b) in pair()) {
        let (exact, bound) = dot_bound(&widen(&a), &widen(&b));
        let mut results = vec![("reference", dot_reference(&a, &b).unwrap()), ("lanes", dot(&a, &b).unwrap())];
        for dispatch in dispatches() {
            results.push((dispatch.isa().name(), dot_dispatch(dispatch, &a, &b).unwrap()));
        }
        for (name, got) in results {
            prop_assert!((got as f64 - exact).abs() <= bound, "{}: {} vs {} (bound {:e})", name, got, exact, bound);
        }
    }

    #[test]
    fn mixed_dot_matches_f64_of_rounded_inputs((a, b) in pair()) {
        for dispatch in dispatches() {
            let (a16, b16): (Vec<f16>, Vec<f16>) = (a.iter().map(|&x| f16::from_f32(x)).collect(), b.iter().map(|&x| f16::from_f32(x)).collect());
            let (exact, bound) = dot_bound(&widen(&a16), &widen(&b16));
            let got = dot_mixed(dispatch, &a16, &b16).unwrap() as f64;
            prop_assert!((got - exact).abs() <= bound, "f16: {} vs {}", got, exact);
            let (ab, bb): (Vec<bf16>, Vec<bf16>) = (a.iter().map(|&x| bf16::from_f32(x)).collect(), b.iter().map(|&x| bf16::from_f32(x)).collect());
            let (exact, bound) = dot_bound(&widen(&ab), &widen(&bb));
            let got = dot_mixed(dispatch, &ab, &bb).unwrap() as f64;
            prop_assert!((got - exact).abs() <= bound, "bf16: {} vs {}", got, exact);
        }
    }

    #[test]
    fn axpy_matches_f64((x, y) in pair(), alpha in -3.0f32..3.0) {
        let mut fast = y.clone();
        let mut reference = y.clone();
        axpy(alpha, &x, &mut fast).unwrap();
        axpy_reference(alpha, &x, &mut reference).unwrap();
        for i in 0..x.len() {
            let exact = alpha as f64 * x[i] as f64 + y[i] as f64;
            let bound = 2.0 * U32 * ((alpha as f64 * x[i] as f64).abs() + (y[i] as f64).abs());
            prop_assert!((fast[i] as f64 - exact).abs() <= bound);
            prop_assert_eq!(fast[i].to_bits(), reference[i].to_bits());
        }
    }
}

#[test]
fn length_mismatch_is_an_error() {
    let a = [1.0f32; 5];
    let mut b = [1.0f32; 4];
    let mismatch = Err(Error::ShapeMismatch {
        expected: 5,
        found: 4,
    });
    assert_eq!(dot_reference(&a, &b), mismatch);
    assert_eq!(dot(&a, &b), mismatch);
    for dispatch in dispatches() {
        assert_eq!(dot_dispatch(dispatch, &a, &b), mismatch);
    }
    assert_eq!(
        dot_mixed(Dispatch::PORTABLE, &[f16::ONE; 5], &[f16::ONE; 4]),
        mismatch
    );
    assert_eq!(
        axpy(1.0, &a, &mut b),
        Err(Error::ShapeMismatch {
            expected: 5,
            found: 4
        })
    );
    assert_eq!(
        axpy_reference(1.0, &a, &mut b),
        Err(Error::ShapeMismatch {
            expected: 5,
            found: 4
        })
    );
}

#[test]
fn empty_dot_is_zero() {
    assert_eq!(dot(&[], &[]), Ok(0.0));
    assert_eq!(dot_reference(&[], &[]), Ok(0.0));
}
