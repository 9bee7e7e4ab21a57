//! Layer activations of the MLP: the kernels' element-wise functions plus the identity (for
//! output layers that emit logits or regression values).

use crate::error::{ensure_len, Result};
use crate::kernels::activation::{self as kernel, Activation as Kernel};

/// Element-wise function applied after a dense layer (and its batch norm, if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    /// `f(x) = x`: output layers producing logits or regression values.
    #[default]
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `x·Φ(x)` with the exact (erf) Gaussian CDF.
    Gelu,
}

impl Activation {
    /// Every activation, in code order.
    pub const ALL: [Activation; 5] = [
        Activation::Identity,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
    ];

    /// One-byte code used by the serialized format.
    pub const fn code(self) -> u8 {
        match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::Sigmoid => 2,
            Activation::Tanh => 3,
            Activation::Gelu => 4,
        }
    }

    /// Inverse of [`Activation::code`]; `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<Activation> {
        Activation::ALL.iter().copied().find(|a| a.code() == code)
    }

    fn kernel(self) -> Option<Kernel> {
        match self {
            Activation::Identity => None,
            Activation::Relu => Some(Kernel::Relu),
            Activation::Sigmoid => Some(Kernel::Sigmoid),
            Activation::Tanh => Some(Kernel::Tanh),
            Activation::Gelu => Some(Kernel::Gelu),
        }
    }

    /// `values[i] ← f(values[i])`.
    pub fn apply(self, values: &mut [f32]) {
        if let Some(k) = self.kernel() {
            kernel::forward_in_place(k, values);
        }
    }

    /// `delta[i] ← delta[i] · f'(pre[i])`: backpropagation through the activation, where
    /// `pre` holds its inputs. `Err(ShapeMismatch)` unless the lengths agree.
    pub fn backprop(self, pre: &[f32], delta: &mut [f32]) -> Result<()> {
        ensure_len(delta.len(), pre.len())?;
        match self.kernel() {
            None => {}
            Some(Kernel::Relu) => scale_by(pre, delta, |x| Kernel::Relu.derivative(x)),
            Some(Kernel::Sigmoid) => scale_by(pre, delta, |x| Kernel::Sigmoid.derivative(x)),
            Some(Kernel::Tanh) => scale_by(pre, delta, |x| Kernel::Tanh.derivative(x)),
            Some(Kernel::Gelu) => scale_by(pre, delta, |x| Kernel::Gelu.derivative(x)),
        }
        Ok(())
    }

    /// True for the activations initialized with He's rule (ReLU, GELU); the others use
    /// Xavier's.
    pub const fn prefers_he_init(self) -> bool {
        matches!(self, Activation::Relu | Activation::Gelu)
    }
}

#[inline(always)]
fn scale_by(pre: &[f32], delta: &mut [f32], derivative: impl Fn(f32) -> f32) {
    for (d, &x) in delta.iter_mut().zip(pre) {
        *d *= derivative(x);
    }
}
