//! Activation functions and their derivatives, elementwise over slices: ReLU, sigmoid, tanh and
//! GELU (the exact erf form, PyTorch's default).
//!
//! The reference forms use libm per element; the optimized forms use the branch-free
//! polynomial exp (and an Abramowitz–Stegun erf built on it, absolute error < 3·10⁻⁷) so the
//! loops vectorize. NaN propagates; ±∞ give the functions' limits.

use super::lanes::exp_vectorizable;
use crate::error::{ensure_len, Result};
use crate::math::{Exact, Math};

/// An activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// 1 / (1 + e⁻ˣ).
    Sigmoid,
    /// tanh x.
    Tanh,
    /// x·Φ(x) = ½x(1 + erf(x/√2)).
    Gelu,
}

const FRAC_1_SQRT_2: f32 = core::f32::consts::FRAC_1_SQRT_2;
/// 1/√(2π).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

impl Activation {
    /// Every activation, for tests and tables.
    pub const ALL: [Activation; 4] = [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
    ];

    /// f(x) with libm.
    pub fn value_reference(self, x: f32) -> f32 {
        match self {
            Activation::Relu => relu(x),
            Activation::Sigmoid => Exact::sigmoid(x),
            Activation::Tanh => Exact::tanh(x),
            Activation::Gelu => gelu(x, Exact::erf(x * FRAC_1_SQRT_2)),
        }
    }

    /// f′(x) with libm (ReLU′(0) = 0).
    pub fn derivative_reference(self, x: f32) -> f32 {
        match self {
            Activation::Relu => step(x),
            Activation::Sigmoid => {
                let s = Exact::sigmoid(x);
                s * (1.0 - s)
            }
            Activation::Tanh => {
                let t = Exact::tanh(x);
                1.0 - t * t
            }
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + Exact::erf(x * FRAC_1_SQRT_2));
                gelu_derivative(x, cdf, Exact::exp(-0.5 * x * x))
            }
        }
    }

    /// f(x) with the vectorizable exp.
    #[inline(always)]
    pub fn value(self, x: f32) -> f32 {
        match self {
            Activation::Relu => relu(x),
            Activation::Sigmoid => fast_sigmoid(x),
            Activation::Tanh => fast_tanh(x),
            Activation::Gelu => gelu(x, fast_erf(x * FRAC_1_SQRT_2)),
        }
    }

    /// f′(x) with the vectorizable exp.
    #[inline(always)]
    pub fn derivative(self, x: f32) -> f32 {
        match self {
            Activation::Relu => step(x),
            Activation::Sigmoid => {
                let s = fast_sigmoid(x);
                s * (1.0 - s)
            }
            Activation::Tanh => {
                let t = fast_tanh(x);
                1.0 - t * t
            }
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + fast_erf(x * FRAC_1_SQRT_2));
                gelu_derivative(x, cdf, exp_vectorizable(-0.5 * x * x))
            }
        }
    }
}

/// max(x, 0), NaN propagated (`f32::max` would drop it).
fn relu(x: f32) -> f32 {
    if x > 0.0 || x.is_nan() {
        x
    } else {
        0.0
    }
}

fn step(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x.is_nan() {
        x
    } else {
        0.0
    }
}

/// ½x(1 + erf(x/√2)) given the erf; at −∞ the product is ∞·0, whose limit is 0.
#[inline(always)]
fn gelu(x: f32, erf: f32) -> f32 {
    if x == f32::NEG_INFINITY {
        return 0.0;
    }
    0.5 * x * (1.0 + erf)
}

/// Φ(x) + x·φ(x), given Φ(x) and e^(−x²/2). At ±∞ the product term is 0·∞; its limit is 0.
fn gelu_derivative(x: f32, cdf: f32, gauss: f32) -> f32 {
    if x.is_infinite() {
        return cdf;
    }
    cdf + x * FRAC_1_SQRT_2PI * gauss
}

#[inline(always)]
fn fast_sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_vectorizable(-x))
}

#[inline(always)]
fn fast_tanh(x: f32) -> f32 {
    let e = exp_vectorizable(-2.0 * x.abs());
    let t = (1.0 - e) / (1.0 + e);
    if x.is_nan() {
        x
    } else {
        t.copysign(x)
    }
}

/// erf by Abramowitz–Stegun 7.1.26 (absolute error ≤ 1.5·10⁻⁷ in exact arithmetic).
#[inline(always)]
fn fast_erf(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let value = 1.0 - poly * exp_vectorizable(-z * z);
    if x.is_nan() {
        x
    } else {
        value.copysign(x)
    }
}

/// outᵢ = f(xᵢ) with libm: the reference. `Err(ShapeMismatch)` on unequal lengths.
pub fn forward_reference(activation: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    ensure_len(x.len(), out.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = activation.value_reference(v);
    }
    Ok(())
}

/// outᵢ = f′(xᵢ) with libm: the reference. `Err(ShapeMismatch)` on unequal lengths.
pub fn derivative_reference(activation: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    ensure_len(x.len(), out.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = activation.derivative_reference(v);
    }
    Ok(())
}

/// outᵢ = f(xᵢ), vectorizable. `Err(ShapeMismatch)` on unequal lengths.
pub fn forward(activation: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    ensure_len(x.len(), out.len())?;
    match activation {
        Activation::Relu => map(x, out, |v| Activation::Relu.value(v)),
        Activation::Sigmoid => map(x, out, |v| Activation::Sigmoid.value(v)),
        Activation::Tanh => map(x, out, |v| Activation::Tanh.value(v)),
        Activation::Gelu => map(x, out, |v| Activation::Gelu.value(v)),
    }
    Ok(())
}

/// outᵢ = f′(xᵢ), vectorizable. `Err(ShapeMismatch)` on unequal lengths.
pub fn derivative(activation: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    ensure_len(x.len(), out.len())?;
    match activation {
        Activation::Relu => map(x, out, |v| Activation::Relu.derivative(v)),
        Activation::Sigmoid => map(x, out, |v| Activation::Sigmoid.derivative(v)),
        Activation::Tanh => map(x, out, |v| Activation::Tanh.derivative(v)),
        Activation::Gelu => map(x, out, |v| Activation::Gelu.derivative(v)),
    }
    Ok(())
}

/// xᵢ ← f(xᵢ) in place, vectorizable (same values as [`forward`]).
pub fn forward_in_place(activation: Activation, x: &mut [f32]) {
    match activation {
        Activation::Relu => map_in_place(x, |v| Activation::Relu.value(v)),
        Activation::Sigmoid => map_in_place(x, |v| Activation::Sigmoid.value(v)),
        Activation::Tanh => map_in_place(x, |v| Activation::Tanh.value(v)),
        Activation::Gelu => map_in_place(x, |v| Activation::Gelu.value(v)),
    }
}

/// xᵢ ← f′(xᵢ) in place, vectorizable (same values as [`derivative`]).
pub fn derivative_in_place(activation: Activation, x: &mut [f32]) {
    match activation {
        Activation::Relu => map_in_place(x, |v| Activation::Relu.derivative(v)),
        Activation::Sigmoid => map_in_place(x, |v| Activation::Sigmoid.derivative(v)),
        Activation::Tanh => map_in_place(x, |v| Activation::Tanh.derivative(v)),
        Activation::Gelu => map_in_place(x, |v| Activation::Gelu.derivative(v)),
    }
}

#[inline(always)]
fn map_in_place(x: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in x.iter_mut() {
        *v = f(*v);
    }
}

/// Applies `f` with the activation fixed at compile time, so each loop is monomorphic.
#[inline(always)]
fn map(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}
