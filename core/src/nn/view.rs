//! Read-only MLP over serialized bytes ([`crate::nn::serialize`]'s format, f32, f16 or bf16
//! weights) that it borrows, e.g. a `&'static [u8]` in flash: validated once at construction
//! (checksum, header, shapes, length, finiteness of every value), then inference reads the
//! weights in place through the batch-1 kernel ([`crate::kernels::matvec`]). RAM for inference
//! is the caller's `scratch` of [`view_scratch_len`] `f32`s and the output row.
//!
//! Payloads at a 4-byte (f32) or 2-byte (f16, bf16) aligned address are read as typed slices;
//! any other address (plain `include_bytes!`) is read byte by byte, with the same results.

use crate::error::{ensure_len, Error, Result};
use crate::kernels::matvec::{self, Bf16Bits, F16Bits, Fused, LeBf16, LeF16, LeF32, Widen};
use crate::nn::activation::Activation;
use crate::nn::batchnorm::EPS;
use crate::nn::serialize::{read_header, Dtype};
use crate::nn::topology::{plan, LayerPlan, Topology};

/// Widest hidden layer of the layer sizes `sizes` (0 for a single layer).
pub(crate) const fn widest_hidden(sizes: &[usize]) -> usize {
    let mut widest = 0;
    let mut i = 1;
    while i + 1 < sizes.len() {
        if sizes[i] > widest {
            widest = sizes[i];
        }
        i += 1;
    }
    widest
}

/// Elements of a batch-1 activation scratch for the layer sizes `sizes`: one row of the widest
/// hidden layer for up to two layers (the last layer writes the caller's output), two
/// ping-pong rows beyond.
pub(crate) const fn ping_pong_len(sizes: &[usize]) -> usize {
    let rows = if sizes.len() > 3 { 2 } else { 1 };
    widest_hidden(sizes).saturating_mul(rows)
}

/// `f32` elements of the scratch [`MlpView::forward`] needs for the layer sizes `sizes`
/// (`[inputs, hidden…, outputs]`): one row of the widest hidden layer for a two-layer MLP,
/// two beyond, none for one layer.
pub const fn view_scratch_len(sizes: &[usize]) -> usize {
    ping_pong_len(sizes)
}

/// Splits a batch-1 scratch into the rows `current` and `spare` (see [`ping_pong_len`]).
pub(crate) fn ping_pong<T>(scratch: &mut [T], layers: usize) -> (&mut [T], &mut [T]) {
    let first = if layers > 2 { scratch.len() / 2 } else { 0 };
    scratch.split_at_mut(first)
}

#[derive(Debug, Clone, Copy)]
enum Params<'a> {
    F32(&'a [f32]),
    LeF32(&'a [LeF32]),
    F16(&'a [F16Bits]),
    LeF16(&'a [LeF16]),
    Bf16(&'a [Bf16Bits]),
    LeBf16(&'a [LeBf16]),
}

/// Types that any bit pattern inhabits, so that bytes may be viewed as a slice of them.
///
/// # Safety
/// Implementors have no padding, no invalid bit patterns and no interior mutability.
unsafe trait Plain: Copy {}
// SAFETY: each is a plain number or byte array of its size, every bit pattern valid.
unsafe impl Plain for f32 {}
// SAFETY: as above.
unsafe impl Plain for F16Bits {}
// SAFETY: as above.
unsafe impl Plain for Bf16Bits {}
// SAFETY: as above.
unsafe impl Plain for LeF32 {}
// SAFETY: as above.
unsafe impl Plain for LeF16 {}
// SAFETY: as above.
unsafe impl Plain for LeBf16 {}

/// `bytes` as a slice of `T` when its address and length fit `T` exactly.
fn cast<T: Plain>(bytes: &[u8]) -> Option<&[T]> {
    // SAFETY: `T` is `Plain` (any bit pattern valid); align_to keeps only the aligned middle.
    let (head, mid, tail) = unsafe { bytes.align_to::<T>() };
    (head.is_empty() && tail.is_empty()).then_some(mid)
}

/// Little-endian targets may read aligned payloads as native numbers.
const NATIVE_LE: bool = cfg!(target_endian = "little");

impl<'a> Params<'a> {
    fn new(dtype: Dtype, payload: &'a [u8]) -> Option<Params<'a>> {
        Some(match dtype {
            Dtype::F32 => match cast::<f32>(payload).filter(|_| NATIVE_LE) {
                Some(p) => Params::F32(p),
                None => Params::LeF32(cast(payload)?),
            },
            Dtype::F16 => match cast::<F16Bits>(payload).filter(|_| NATIVE_LE) {
                Some(p) => Params::F16(p),
                None => Params::LeF16(cast(payload)?),
            },
            Dtype::Bf16 => match cast::<Bf16Bits>(payload).filter(|_| NATIVE_LE) {
                Some(p) => Params::Bf16(p),
                None => Params::LeBf16(cast(payload)?),
            },
        })
    }

    fn all_finite(self) -> bool {
        fn finite<W: Widen>(p: &[W]) -> bool {
            p.iter().all(|w| w.is_finite())
        }
        match self {
            Params::F32(p) => finite(p),
            Params::LeF32(p) => finite(p),
            Params::F16(p) => finite(p),
            Params::LeF16(p) => finite(p),
            Params::Bf16(p) => finite(p),
            Params::LeBf16(p) => finite(p),
        }
    }

    fn aligned(self) -> bool {
        matches!(self, Params::F32(_) | Params::F16(_) | Params::Bf16(_))
    }
}

/// A validated MLP whose parameters stay in the borrowed bytes.
#[derive(Debug, Clone, Copy)]
pub struct MlpView<'a> {
    topology: Topology,
    dtype: Dtype,
    params: Params<'a>,
}

impl<'a> MlpView<'a> {
    /// Checks `bytes` (written by [`crate::nn::Mlp::save`]) once and borrows them.
    /// `Err(Corrupt)` for any failed check: checksum, header, shapes, length, a non-finite
    /// value.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let (topology, dtype, payload) = read_header(bytes)?;
        let params = Params::new(dtype, payload).ok_or(Error::Corrupt {
            reason: "length disagrees with the header",
        })?;
        if !params.all_finite() {
            return Err(Error::Corrupt {
                reason: "non-finite value",
            });
        }
        Ok(MlpView {
            topology,
            dtype,
            params,
        })
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The stored weight type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Whether the weights are read as aligned native numbers (else byte by byte).
    pub fn aligned(&self) -> bool {
        self.params.aligned()
    }

    /// Inference on one row `x` (`[inputs]`), writing `out` (`[outputs]`); `scratch` needs
    /// [`view_scratch_len`] elements. Errors: `ShapeMismatch` when `x` or `out` disagree
    /// with the topology, `BufferTooSmall` for a short scratch, `NonFinite` for NaN/inf inputs.
    pub fn forward(&self, x: &[f32], scratch: &mut [f32], out: &mut [f32]) -> Result<()> {
        let topo = &self.topology;
        ensure_len(topo.inputs(), x.len())?;
        ensure_len(topo.outputs(), out.len())?;
        crate::nn::finite::ensure_finite(x)?;
        let needed = view_scratch_len(topo.sizes());
        let available = scratch.len();
        let scratch = scratch
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, available })?;
        let layers = topo.layers();
        let (mut current, mut spare) = ping_pong(scratch, layers);
        for (l, p) in plan(topo, 0, false).iter().take(layers).enumerate() {
            let input: &[f32] = if l == 0 { x } else { &current[..p.inputs] };
            let target: &mut [f32] = if l + 1 == layers {
                &mut *out
            } else {
                &mut spare[..p.outputs]
            };
            self.layer(p, input, target)?;
            core::mem::swap(&mut current, &mut spare);
        }
        Ok(())
    }

    /// Layer `l` alone on one row: `input` (`[sizes[l]]`) to `output` (`[sizes[l + 1]]`),
    /// batch norm and activation included (for calibration and per-layer checks). Errors:
    /// `InvalidParameter` for a layer beyond the model, `ShapeMismatch` for wrong lengths.
    pub fn forward_layer(&self, l: usize, input: &[f32], output: &mut [f32]) -> Result<()> {
        if l >= self.topology.layers() {
            return Err(Error::InvalidParameter {
                name: "layer index beyond the model",
            });
        }
        let plans = plan(&self.topology, 0, false);
        let p = &plans[l];
        ensure_len(p.inputs, input.len())?;
        ensure_len(p.outputs, output.len())?;
        self.layer(p, input, output)
    }

    /// Parameter `index` of the model buffer's layout ([`crate::nn::Mlp::buffer`]), widened;
    /// `None` beyond it.
    pub fn param(&self, index: usize) -> Option<f32> {
        fn at<W: Widen>(p: &[W], i: usize) -> Option<f32> {
            p.get(i).map(|w| w.widen())
        }
        match self.params {
            Params::F32(p) => at(p, index),
            Params::LeF32(p) => at(p, index),
            Params::F16(p) => at(p, index),
            Params::LeF16(p) => at(p, index),
            Params::Bf16(p) => at(p, index),
            Params::LeBf16(p) => at(p, index),
        }
    }

    fn layer(&self, p: &LayerPlan, input: &[f32], target: &mut [f32]) -> Result<()> {
        match self.params {
            Params::F32(w) => layer(w, p, input, target),
            Params::LeF32(w) => layer(w, p, input, target),
            Params::F16(w) => layer(w, p, input, target),
            Params::LeF16(w) => layer(w, p, input, target),
            Params::Bf16(w) => layer(w, p, input, target),
            Params::LeBf16(w) => layer(w, p, input, target),
        }
    }
}

fn section<W>(params: &[W], start: usize, len: usize) -> Result<&[W]> {
    start
        .checked_add(len)
        .and_then(|end| params.get(start..end))
        .ok_or(Error::Corrupt {
            reason: "parameter section out of range",
        })
}

/// One dense layer with its batch norm and activation; ReLU is fused into the kernel when no
/// batch norm sits between.
fn layer<W: Widen>(params: &[W], p: &LayerPlan, input: &[f32], target: &mut [f32]) -> Result<()> {
    let weights = section(params, p.weights, p.inputs * p.outputs)?;
    let bias = section(params, p.bias, p.outputs)?;
    let fuse_relu = p.activation == Activation::Relu && !p.batch_norm;
    let fused = if fuse_relu {
        Fused::Relu
    } else {
        Fused::Identity
    };
    matvec::dense(input, weights, bias, fused, target)?;
    if p.batch_norm {
        let gamma = section(params, p.gamma, p.outputs)?;
        let beta = section(params, p.beta, p.outputs)?;
        let mean = section(params, p.running, p.outputs)?;
        let var = section(params, p.running + p.outputs, p.outputs)?;
        let stats = gamma.iter().zip(beta).zip(mean).zip(var);
        for (v, (((g, b), m), s)) in target.iter_mut().zip(stats) {
            *v = g.widen() * (*v - m.widen()) / libm::sqrtf(s.widen() + EPS) + b.widen();
        }
    }
    if !fuse_relu {
        p.activation.apply(target);
    }
    Ok(())
}
