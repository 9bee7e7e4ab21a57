//! The fast math backend holds the error bounds `edgeml_core::math` states, measured against
//! f64 (std) on a dense sweep of each domain and on random inputs; both backends get special
//! values right.

use edgeml_core::math::{
    Exact, Fast, Math, FAST_ERF_MAX_ABS_ERROR, FAST_EXP_MAX_REL_ERROR, FAST_LN_MAX_ABS_ERROR,
    FAST_SIGMOID_MAX_ABS_ERROR, FAST_SQRT_MAX_REL_ERROR, FAST_TANH_MAX_ABS_ERROR,
};
use proptest::prelude::*;

mod common;

use common::erf64;

fn sweep(low: f32, high: f32, points: usize) -> impl Iterator<Item = f32> {
    (0..=points).map(move |i| low + (high - low) * (i as f32 / points as f32))
}

/// Positive normal f32 values: 2048 mantissas in every binade.
fn positive_normals() -> impl Iterator<Item = f32> {
    (1u32..255).flat_map(|exponent| {
        (0u32..2048).map(move |m| f32::from_bits((exponent << 23) | (m << 12) | (m & 0xfff)))
    })
}

fn worst(inputs: impl Iterator<Item = f32>, error: impl Fn(f32) -> f64) -> (f64, f32) {
    inputs.fold((0.0, 0.0), |(worst, at), x| {
        let e = error(x);
        if e > worst {
            (e, x)
        } else {
            (worst, at)
        }
    })
}

fn rel(approx: f32, exact: f64) -> f64 {
    ((approx as f64 - exact) / exact).abs()
}

fn check(name: &str, measured: (f64, f32), bound: f32) {
    eprintln!(
        "{name}: worst error {:.3e} at x = {:e} (bound {bound:e})",
        measured.0, measured.1
    );
    assert!(
        measured.0 <= bound as f64,
        "{name}: error {} at {} exceeds the stated bound {bound}",
        measured.0,
        measured.1
    );
}

#[test]
fn fast_exp_within_bound() {
    let measured = worst(sweep(-87.0, 88.0, 2_000_000), |x| {
        rel(Fast::exp(x), (x as f64).exp())
    });
    check("exp", measured, FAST_EXP_MAX_REL_ERROR);
}

#[test]
fn fast_ln_within_bound() {
    let measured = worst(positive_normals(), |x| {
        (Fast::ln(x) as f64 - (x as f64).ln()).abs()
    });
    check("ln", measured, FAST_LN_MAX_ABS_ERROR);
}

#[test]
fn fast_sqrt_within_bound() {
    let subnormals = (1u32..1 << 23).step_by(997).map(f32::from_bits);
    let measured = worst(positive_normals().chain(subnormals), |x| {
        rel(Fast::sqrt(x), (x as f64).sqrt())
    });
    check("sqrt", measured, FAST_SQRT_MAX_REL_ERROR);
}

#[test]
fn fast_tanh_sigmoid_erf_within_bound() {
    let xs = || sweep(-30.0, 30.0, 2_000_000);
    let tanh = worst(xs(), |x| (Fast::tanh(x) as f64 - (x as f64).tanh()).abs());
    check("tanh", tanh, FAST_TANH_MAX_ABS_ERROR);
    let sigmoid = worst(xs(), |x| {
        (Fast::sigmoid(x) as f64 - 1.0 / (1.0 + (-(x as f64)).exp())).abs()
    });
    check("sigmoid", sigmoid, FAST_SIGMOID_MAX_ABS_ERROR);
    let erf = worst(xs(), |x| (Fast::erf(x) as f64 - erf64(x as f64)).abs());
    check("erf", erf, FAST_ERF_MAX_ABS_ERROR);
}

#[test]
fn exact_backend_is_within_two_ulps_of_f64() {
    let u = f32::EPSILON as f64;
    for x in sweep(-80.0, 80.0, 200_000) {
        assert!(rel(Exact::exp(x), (x as f64).exp()) <= 2.0 * u, "exp({x})");
        assert!(
            (Exact::tanh(x) as f64 - (x as f64).tanh()).abs() <= 2.0 * u,
            "tanh({x})"
        );
        assert!(
            (Exact::erf(x) as f64 - erf64(x as f64)).abs() <= 2.0 * u,
            "erf({x})"
        );
    }
    for x in positive_normals().step_by(7) {
        assert!(rel(Exact::sqrt(x), (x as f64).sqrt()) <= u, "sqrt({x})");
        let exact = (x as f64).ln();
        assert!(
            (Exact::ln(x) as f64 - exact).abs() <= 2.0 * u * exact.abs().max(1.0),
            "ln({x})"
        );
    }
}

fn special_values<M: Math>() {
    for f in [M::exp, M::ln, M::sqrt, M::tanh, M::erf, M::sigmoid] {
        assert!(f(f32::NAN).is_nan());
    }
    assert_eq!(M::exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(M::exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(M::exp(0.0), 1.0);
    assert_eq!(M::ln(0.0), f32::NEG_INFINITY);
    assert_eq!(M::ln(f32::INFINITY), f32::INFINITY);
    assert!(M::ln(-1.0).is_nan());
    assert!(M::sqrt(-1.0).is_nan());
    assert_eq!(M::sqrt(0.0), 0.0);
    assert_eq!(M::sqrt(f32::INFINITY), f32::INFINITY);
    assert_eq!(M::tanh(f32::INFINITY), 1.0);
    assert_eq!(M::tanh(f32::NEG_INFINITY), -1.0);
    assert_eq!(M::sigmoid(f32::NEG_INFINITY), 0.0);
    assert_eq!(M::sigmoid(f32::INFINITY), 1.0);
    assert_eq!(M::erf(f32::INFINITY), 1.0);
    assert_eq!(M::erf(f32::NEG_INFINITY), -1.0);
}

#[test]
fn special_values_exact() {
    special_values::<Exact>();
}

#[test]
fn special_values_fast() {
    special_values::<Fast>();
}

proptest! {
    #[test]
    fn fast_functions_hold_their_bounds_on_random_inputs(x in -87.0f32..88.0, y in 1e-30f32..1e30) {
        prop_assert!(rel(Fast::exp(x), (x as f64).exp()) <= FAST_EXP_MAX_REL_ERROR as f64);
        prop_assert!((Fast::ln(y) as f64 - (y as f64).ln()).abs() <= FAST_LN_MAX_ABS_ERROR as f64);
        prop_assert!(rel(Fast::sqrt(y), (y as f64).sqrt()) <= FAST_SQRT_MAX_REL_ERROR as f64);
        prop_assert!((Fast::tanh(x) as f64 - (x as f64).tanh()).abs() <= FAST_TANH_MAX_ABS_ERROR as f64);
    }
}
