//! Elementary functions behind one trait, with two backends: [`Exact`] (libm, correctly rounded
//! or within an ulp or two) and [`Fast`] (micromath's cheap approximations, corrected where they
//! are poor). Kernels are generic over [`Math`], so firmware can trade accuracy for cycles.
//!
//! Every [`Fast`] function has a measured worst-case error over a stated domain, held by
//! `tests/math_bounds.rs` (a dense sweep plus random inputs against f64):
//!
//! | function | domain | bound |
//! |---|---|---|
//! | `exp` | [-87, 88] | relative [`FAST_EXP_MAX_REL_ERROR`] |
//! | `ln` | positive normal f32 | absolute [`FAST_LN_MAX_ABS_ERROR`] |
//! | `sqrt` | non-negative f32 | relative [`FAST_SQRT_MAX_REL_ERROR`] |
//! | `tanh` | all f32 | absolute [`FAST_TANH_MAX_ABS_ERROR`] |
//! | `sigmoid` | all f32 | absolute [`FAST_SIGMOID_MAX_ABS_ERROR`] |
//! | `erf` | all f32 | absolute [`FAST_ERF_MAX_ABS_ERROR`] |
//!
//! micromath's own `sqrt` is the bare exponent-halving trick (`sqrt(2) = 1.5`, 6 % off); [`Fast`]
//! refines it with two Newton steps (and rescales subnormals first). micromath's `ln` is 0.12
//! off near 1e-32, so [`Fast`] applies it only to the mantissa in [1, 2) and adds e·ln 2.
//! micromath's `exp` is the weakest (2.4·10⁻³ relative near −81). micromath has no `tanh` or
//! `erf`: [`Fast`] builds `tanh` and `sigmoid` from its `exp`, and `erf` from
//! Abramowitz–Stegun 7.1.26 on its `exp`.
//!
//! Special values, both backends: NaN in gives NaN out; `exp(-inf) = 0`, `exp(inf) = inf`;
//! `ln(0) = -inf`, `ln(x < 0)` and `sqrt(x < 0)` are NaN; `tanh(±inf) = ±1`,
//! `sigmoid(-inf) = 0`, `sigmoid(inf) = 1`, `erf(±inf) = ±1`.

use micromath::F32Ext;

/// Worst relative error of [`Fast::exp`] on [-87, 88].
pub const FAST_EXP_MAX_REL_ERROR: f32 = 2.4e-3;
/// Worst absolute error of [`Fast::ln`] on positive normal numbers.
pub const FAST_LN_MAX_ABS_ERROR: f32 = 7.0e-5;
/// Worst relative error of [`Fast::sqrt`] on non-negative numbers.
pub const FAST_SQRT_MAX_REL_ERROR: f32 = 1.6e-6;
/// Worst absolute error of [`Fast::tanh`].
pub const FAST_TANH_MAX_ABS_ERROR: f32 = 3.4e-4;
/// Worst absolute error of [`Fast::sigmoid`].
pub const FAST_SIGMOID_MAX_ABS_ERROR: f32 = 5.4e-4;
/// Worst absolute error of [`Fast::erf`].
pub const FAST_ERF_MAX_ABS_ERROR: f32 = 5.8e-4;

/// Elementary functions on f32, as associated functions of a zero-sized backend type.
pub trait Math {
    /// eˣ.
    fn exp(x: f32) -> f32;
    /// Natural logarithm.
    fn ln(x: f32) -> f32;
    /// Square root.
    fn sqrt(x: f32) -> f32;
    /// Hyperbolic tangent.
    fn tanh(x: f32) -> f32;
    /// The error function.
    fn erf(x: f32) -> f32;
    /// The logistic function 1 / (1 + e⁻ˣ).
    fn sigmoid(x: f32) -> f32 {
        1.0 / (1.0 + Self::exp(-x))
    }
}

/// Splits a positive finite `x` into m·2ᵉ with m in [1, 2) (subnormals included).
fn split_exponent(x: f32) -> (f32, i32) {
    let (x, bias) = if x < f32::MIN_POSITIVE {
        (x * 16_777_216.0, 24)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127 - bias;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    (mantissa, exponent)
}

/// libm: accurate to about an ulp; the default everywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exact;

impl Math for Exact {
    fn exp(x: f32) -> f32 {
        libm::expf(x)
    }
    fn ln(x: f32) -> f32 {
        libm::logf(x)
    }
    fn sqrt(x: f32) -> f32 {
        libm::sqrtf(x)
    }
    fn tanh(x: f32) -> f32 {
        libm::tanhf(x)
    }
    fn erf(x: f32) -> f32 {
        libm::erff(x)
    }
}

/// micromath-based approximations with the bounds in this module's table.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fast;

impl Math for Fast {
    fn exp(x: f32) -> f32 {
        if x.is_nan() {
            return x;
        }
        if x > 88.72284 {
            return f32::INFINITY;
        }
        if x < -103.97 {
            return 0.0;
        }
        F32Ext::exp(x)
    }

    fn ln(x: f32) -> f32 {
        if x.is_nan() || x < 0.0 {
            return f32::NAN;
        }
        if x == 0.0 {
            return f32::NEG_INFINITY;
        }
        if x == f32::INFINITY {
            return x;
        }
        // micromath's ln drifts far from 1 (0.12 off near 1e-32); reduce to x = m·2ᵉ with
        // m in [1, 2) and use it only there.
        let (mantissa, exponent) = split_exponent(x);
        F32Ext::ln(mantissa) + exponent as f32 * core::f32::consts::LN_2
    }

    fn sqrt(x: f32) -> f32 {
        if x.is_nan() || x < 0.0 {
            return f32::NAN;
        }
        if x == 0.0 || x == f32::INFINITY {
            return x;
        }
        if x < f32::MIN_POSITIVE {
            // Subnormal: the exponent trick needs a normal number; √(x·2²⁴) = √x·2¹².
            return Self::sqrt(x * 16_777_216.0) * (1.0 / 4096.0);
        }
        let mut y = F32Ext::sqrt(x);
        y = 0.5 * (y + x / y);
        0.5 * (y + x / y)
    }

    fn tanh(x: f32) -> f32 {
        if x.is_nan() {
            return x;
        }
        let magnitude = x.abs();
        if magnitude > 9.0 {
            return if x > 0.0 { 1.0 } else { -1.0 };
        }
        let t = 1.0 - 2.0 / (Self::exp(2.0 * magnitude) + 1.0);
        if x < 0.0 {
            -t
        } else {
            t
        }
    }

    fn erf(x: f32) -> f32 {
        if x.is_nan() {
            return x;
        }
        const P: f32 = 0.327_591_1;
        const A: [f32; 5] = [
            0.254_829_6,
            -0.284_496_74,
            1.421_413_8,
            -1.453_152_1,
            1.061_405_4,
        ];
        let magnitude = x.abs();
        if magnitude > 6.0 {
            return if x > 0.0 { 1.0 } else { -1.0 };
        }
        let t = 1.0 / (1.0 + P * magnitude);
        let poly = A.iter().rev().fold(0.0, |acc, &a| acc * t + a) * t;
        let value = 1.0 - poly * Self::exp(-magnitude * magnitude);
        if x < 0.0 {
            -value
        } else {
            value
        }
    }
}
