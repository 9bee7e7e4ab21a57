//! Activations and derivatives: vectorized vs reference vs f64, and derivatives vs central
//! finite differences of the f64 functions.

use edgeml_core::kernels::activation::{
    derivative, derivative_in_place, derivative_reference, forward, forward_in_place,
    forward_reference, Activation,
};
use edgeml_core::Error;
use proptest::prelude::*;

mod common;

use common::erf64;

fn value64(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::Relu => x.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => 0.5 * x * (1.0 + erf64(x / 2f64.sqrt())),
    }
}

/// Absolute error allowed for f(x): a few ulps of the output scale, plus the fast erf's 3e-7
/// (times |x|/2 for GELU).
fn tolerance(activation: Activation, x: f64) -> f64 {
    let scale = value64(activation, x).abs().max(1.0);
    let base = 8.0 * f32::EPSILON as f64 * scale;
    match activation {
        Activation::Gelu => base + 4e-7 * x.abs(),
        _ => base,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn values_match_f64(x in prop::collection::vec(-20.0f32..20.0, 0..300)) {
        for activation in Activation::ALL {
            let mut fast = vec![0.0f32; x.len()];
            let mut reference = vec![0.0f32; x.len()];
            forward(activation, &x, &mut fast).unwrap();
            forward_reference(activation, &x, &mut reference).unwrap();
            let mut in_place = x.clone();
            forward_in_place(activation, &mut in_place);
            prop_assert_eq!(&in_place, &fast);
            for i in 0..x.len() {
                let want = value64(activation, x[i] as f64);
                let tol = tolerance(activation, x[i] as f64);
                prop_assert!((fast[i] as f64 - want).abs() <= tol, "{:?}({}) = {} vs {}", activation, x[i], fast[i], want);
                prop_assert!((reference[i] as f64 - want).abs() <= tol, "{:?} reference({})", activation, x[i]);
            }
        }
    }

    #[test]
    fn derivatives_match_finite_differences(x in prop::collection::vec(-8.0f32..8.0, 1..100)) {
        for activation in Activation::ALL {
            let mut fast = vec![0.0f32; x.len()];
            let mut reference = vec![0.0f32; x.len()];
            derivative(activation, &x, &mut fast).unwrap();
            derivative_reference(activation, &x, &mut reference).unwrap();
            let mut in_place = x.clone();
            derivative_in_place(activation, &mut in_place);
            prop_assert_eq!(&in_place, &fast);
            for i in 0..x.len() {
                let xi = x[i] as f64;
                if activation == Activation::Relu && xi.abs() < 1e-3 {
                    continue; // the kink: no derivative to compare with
                }
                let h = 1e-5;
                let numeric = (value64(activation, xi + h) - value64(activation, xi - h)) / (2.0 * h);
                prop_assert!((fast[i] as f64 - numeric).abs() <= 2e-6, "{:?}'({}) = {} vs {}", activation, xi, fast[i], numeric);
                prop_assert!((reference[i] as f64 - numeric).abs() <= 2e-6, "{:?}' reference({})", activation, xi);
            }
        }
    }
}

#[test]
fn limits_and_nan() {
    let x = [f32::NEG_INFINITY, f32::INFINITY, f32::NAN, 0.0];
    let mut out = [0.0f32; 4];
    let expected = [
        (Activation::Relu, [0.0, f32::INFINITY]),
        (Activation::Sigmoid, [0.0, 1.0]),
        (Activation::Tanh, [-1.0, 1.0]),
        (Activation::Gelu, [0.0, f32::INFINITY]),
    ];
    for (activation, limits) in expected {
        for kernel in [forward, forward_reference] {
            kernel(activation, &x, &mut out).unwrap();
            assert_eq!(&out[..2], &limits, "{activation:?}");
            assert!(out[2].is_nan(), "{activation:?} of NaN");
        }
        for kernel in [derivative, derivative_reference] {
            kernel(activation, &x, &mut out).unwrap();
            assert!(
                out[..2].iter().all(|d| d.is_finite()),
                "{activation:?}' at ±inf: {out:?}"
            );
            assert!(out[2].is_nan());
        }
    }
    assert_eq!(
        forward(Activation::Relu, &x, &mut out[..3]),
        Err(Error::ShapeMismatch {
            expected: 4,
            found: 3
        })
    );
}
