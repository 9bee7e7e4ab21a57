//! f16 / bf16 storage: round trips within unit roundoff in the normal range, round-to-nearest
//! (checked in f64 against the two neighbouring representable values), overflow to ±∞,
//! gradual underflow, NaN and ±∞ preserved; bulk conversion equals element-wise conversion.

use edgeml_core::scalar::{from_f32_slice, from_f32_slice_with, to_f32_slice, to_f32_slice_with};
use edgeml_core::{Error, Scalar};
use half::{bf16, f16};
use proptest::prelude::*;

mod common;

use common::dispatches;

/// The representable neighbours of x's rounding, by stepping the bit pattern.
fn check_nearest<S: Scalar>(x: f32, step: impl Fn(S, i32) -> S) -> Result<(), TestCaseError> {
    let rounded = S::from_f32(x);
    let value = rounded.to_f32() as f64;
    let (below, above) = (
        step(rounded, -1).to_f32() as f64,
        step(rounded, 1).to_f32() as f64,
    );
    let error = (value - x as f64).abs();
    prop_assert!(
        error <= (below - x as f64).abs() || !below.is_finite(),
        "{} → {} but {} is nearer",
        x,
        value,
        below
    );
    prop_assert!(
        error <= (above - x as f64).abs() || !above.is_finite(),
        "{} → {} but {} is nearer",
        x,
        value,
        above
    );
    Ok(())
}

fn relative_error<S: Scalar>(x: f32) -> f64 {
    ((S::from_f32(x).to_f32() as f64 - x as f64) / x as f64).abs()
}

fn normal_range<S: Scalar>() -> impl Strategy<Value = f32> {
    let (low, high) = (S::MIN_POSITIVE_NORMAL, S::MAX / 2.0);
    (any::<bool>(), (low.ln()..high.ln())).prop_map(|(negative, log)| {
        let magnitude = log.exp();
        if negative {
            -magnitude
        } else {
            magnitude
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn f16_round_trip_within_unit_roundoff(x in normal_range::<f16>()) {
        prop_assert!(relative_error::<f16>(x) <= f16::UNIT_ROUNDOFF as f64);
        check_nearest::<f16>(x, |v, d| f16::from_bits((v.to_bits() as i32 + d) as u16))?;
    }

    #[test]
    fn bf16_round_trip_within_unit_roundoff(x in normal_range::<bf16>()) {
        prop_assert!(relative_error::<bf16>(x) <= bf16::UNIT_ROUNDOFF as f64);
        check_nearest::<bf16>(x, |v, d| bf16::from_bits((v.to_bits() as i32 + d) as u16))?;
    }

    #[test]
    fn f16_subnormals_round_to_the_grid(x in -6.0e-5f32..6.0e-5) {
        // Below the normal range f16 has a fixed spacing of 2⁻²⁴: absolute error ≤ 2⁻²⁵.
        let back = f16::from_f32(x).to_f32() as f64;
        prop_assert!((back - x as f64).abs() <= 2f64.powi(-25));
    }

    #[test]
    fn hardware_conversion_equals_software(bits in prop::collection::vec(any::<u32>(), 0..100)) {
        // Arbitrary f32 bit patterns: NaN, ±∞, subnormals, overflow to ∞, ties.
        let x: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        let halves: Vec<f16> = bits.iter().map(|&b| f16::from_bits(b as u16)).collect();
        for dispatch in dispatches() {
            let mut narrowed = vec![f16::ZERO; x.len()];
            from_f32_slice_with(dispatch, &x, &mut narrowed).unwrap();
            let mut widened = vec![0.0f32; x.len()];
            to_f32_slice_with(dispatch, &halves, &mut widened).unwrap();
            for i in 0..x.len() {
                let expected = f16::from_f32(x[i]);
                if expected.is_nan() {
                    prop_assert!(narrowed[i].is_nan(), "{}: {:e} narrowed", dispatch.isa().name(), x[i]);
                } else {
                    prop_assert_eq!(narrowed[i].to_bits(), expected.to_bits(), "{} {:e}", dispatch.isa().name(), x[i]);
                }
                let wide = halves[i].to_f32();
                if wide.is_nan() {
                    prop_assert!(widened[i].is_nan());
                } else {
                    prop_assert_eq!(widened[i].to_bits(), wide.to_bits());
                }
            }
        }
    }

    #[test]
    fn bulk_conversion_equals_elementwise(x in prop::collection::vec(any::<f32>(), 0..200)) {
        let mut halves = vec![f16::ZERO; x.len()];
        from_f32_slice(&x, &mut halves).unwrap();
        let mut brains = vec![bf16::ZERO; x.len()];
        from_f32_slice(&x, &mut brains).unwrap();
        let mut back = vec![0.0f32; x.len()];
        to_f32_slice(&halves, &mut back).unwrap();
        for i in 0..x.len() {
            prop_assert_eq!(halves[i].to_bits(), f16::from_f32(x[i]).to_bits());
            prop_assert_eq!(brains[i].to_bits(), bf16::from_f32(x[i]).to_bits());
            prop_assert_eq!(back[i].to_bits(), halves[i].to_f32().to_bits());
        }
    }
}

#[test]
fn special_values() {
    for x in [f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(f16::from_f32(x).to_f32(), x);
        assert_eq!(bf16::from_f32(x).to_f32(), x);
    }
    assert!(f16::from_f32(f32::NAN).to_f32().is_nan());
    assert!(bf16::from_f32(f32::NAN).to_f32().is_nan());
    // Overflow: beyond the largest finite value (plus half an ulp) rounds to infinity.
    assert_eq!(f16::from_f32(65520.0).to_f32(), f32::INFINITY);
    assert_eq!(f16::from_f32(65519.0).to_f32(), 65504.0);
    assert_eq!(f16::from_f32(-1e6).to_f32(), f32::NEG_INFINITY);
    assert_eq!(bf16::from_f32(f32::MAX).to_f32(), f32::INFINITY);
    // Gradual underflow: the smallest f16 subnormal is 2⁻²⁴; half of it rounds to (signed) zero.
    assert_eq!(f16::from_f32(2f32.powi(-24)).to_f32(), 2f32.powi(-24));
    assert_eq!(f16::from_f32(2f32.powi(-26)).to_f32(), 0.0);
    assert!(f16::from_f32(-2f32.powi(-26)).to_f32().is_sign_negative());
    // bf16 keeps f32's exponent range, so f32 subnormals survive with 8 bits of precision.
    let tiny = f32::from_bits(0x0040_0000);
    assert_eq!(bf16::from_f32(tiny).to_f32(), tiny);
    assert_eq!(<f32 as Scalar>::from_f32(1.5).to_f32(), 1.5);
}

#[test]
fn bulk_conversion_length_mismatch() {
    let mut out = [f16::ZERO; 3];
    assert_eq!(
        from_f32_slice(&[1.0; 4], &mut out),
        Err(Error::ShapeMismatch {
            expected: 4,
            found: 3
        })
    );
    let mut wide = [0.0f32; 2];
    assert!(to_f32_slice(&out, &mut wide).is_err());
}
