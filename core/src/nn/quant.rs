//! int8 MLPs by post-training quantization, in the TFLite / CMSIS-NN scheme: symmetric
//! per-output-channel int8 weights, asymmetric per-tensor int8 activations (scale `s`, zero
//! point `z`, real value `s·(q − z)`), int32 biases and accumulation, requantization by a
//! fixed-point multiplier and shift ([`crate::kernels::matvec_s8`]). Hidden layers may use ReLU
//! (fused as a clamp at the output zero point) or the identity; batch norm is folded into the
//! weights when quantizing.
//!
//! [`quantize`] writes the model from an f32/f16/bf16 [`MlpView`] and the calibrated range of
//! every activation tensor ([`observe`] collects them); [`QuantMlp`] borrows the written bytes
//! (e.g. from flash) and runs them. Format, little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `EDQ8` |
//! | 2 | format version (1) |
//! | 2 | layer count `L` |
//! | 4·(L+1) | layer sizes (u32) |
//! | L | activation codes (identity 0 or ReLU 1) |
//! | 8·(L+1) | per activation tensor (the input, then each layer's output): scale (f32), zero point (i32) |
//! | per layer | `outputs` channel records ([`Channel`]: bias, multiplier, shift as i32), then the `outputs × inputs` int8 weights, output-major |
//! | 4 | CRC-32 (IEEE) of everything before |

use crate::error::{ensure_len, Error, Result};
use crate::format::{self, corrupt, Writer};
use crate::kernels::matvec_s8::{
    self, dense_s8, expand_input, quantize_multiplier, Channel, OutputQuant, CHANNEL_BYTES,
};
use crate::nn::activation::Activation;
use crate::nn::batchnorm::EPS;
use crate::nn::serialize::{read_layers, write_layers};
use crate::nn::topology::{plan, Topology, MAX_LAYERS};
use crate::nn::view::{ping_pong, ping_pong_len, MlpView};

const MAGIC: [u8; 4] = *b"EDQ8";
const VERSION: u16 = 1;

/// Quantization of one activation tensor: real value `scale·(q − zero)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorQuant {
    /// Positive finite scale.
    pub scale: f32,
    /// Zero point, −128..=127.
    pub zero: i32,
}

impl TensorQuant {
    /// Parameters covering `[min, max]` (widened to hold 0) with 256 levels, as TFLite
    /// chooses them; a range of width 0 gets scale 1.
    pub fn from_range(min: f32, max: f32) -> TensorQuant {
        let (min, max) = (f64::from(min.min(0.0)), f64::from(max.max(0.0)));
        let width = max - min;
        let scale = if width.is_finite() && width > 0.0 {
            width / 255.0
        } else {
            1.0
        };
        let zero = libm::round(-128.0 - min / scale).clamp(-128.0, 127.0) as i32;
        TensorQuant {
            scale: scale as f32,
            zero,
        }
    }

    /// `round(x / scale) + zero`, saturated to int8 (NaN maps to the zero point).
    pub fn quantize(self, x: f32) -> i8 {
        let q = libm::roundf(x / self.scale);
        let q = if q.is_nan() { 0.0 } else { q };
        (q.clamp(-256.0, 256.0) as i32 + self.zero).clamp(-128, 127) as i8
    }

    /// `scale·(q − zero)`.
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero) as f32
    }

    fn valid(self) -> bool {
        self.scale.is_finite() && self.scale > 0.0 && (-128..=127).contains(&self.zero)
    }
}

/// Layer `l`'s bytes: channel records then weights.
const fn layer_bytes(inputs: usize, outputs: usize) -> usize {
    outputs
        .saturating_mul(CHANNEL_BYTES)
        .saturating_add(inputs.saturating_mul(outputs))
}

const fn header_len(layers: usize) -> usize {
    8 + 4 * (layers + 1) + layers + 8 * (layers + 1)
}

/// Bytes [`quantize`] writes for layer sizes `sizes` (saturating at `usize::MAX`).
pub const fn quantized_len(sizes: &[usize]) -> usize {
    let layers = sizes.len().saturating_sub(1);
    let mut total = header_len(layers) + 4;
    let mut l = 0;
    while l < layers {
        total = total.saturating_add(layer_bytes(sizes[l], sizes[l + 1]));
        l += 1;
    }
    total
}

/// `i8` elements of the activation scratch of [`QuantMlp::forward`] for the layer sizes
/// `sizes`: as [`crate::nn::view_scratch_len`], one row of the widest hidden layer for two
/// layers, two beyond.
pub const fn quant_scratch_len(sizes: &[usize]) -> usize {
    ping_pong_len(sizes)
}

/// `i16` elements of the widened-input scratch of [`QuantMlp::forward`]: the widest layer
/// input.
pub const fn quant_expanded_len(sizes: &[usize]) -> usize {
    let mut widest = 0;
    let mut i = 0;
    while i + 1 < sizes.len() {
        if sizes[i] > widest {
            widest = sizes[i];
        }
        i += 1;
    }
    widest
}

/// `f32` elements of the scratch of [`observe`]: two rows of the widest layer output.
pub const fn observe_scratch_len(sizes: &[usize]) -> usize {
    crate::nn::topology::inference_scratch_len(sizes, 1)
}

/// Widens every activation range `ranges` (`[min, max]` for the input and each layer's output,
/// `L + 1` pairs) to cover one more row `x` run through `view` layer by layer; `scratch` needs
/// [`observe_scratch_len`] elements. Errors as [`MlpView::forward_layer`], plus
/// `ShapeMismatch` for a wrong number of ranges and `BufferTooSmall` for a short scratch.
pub fn observe(
    view: &MlpView<'_>,
    x: &[f32],
    scratch: &mut [f32],
    ranges: &mut [(f32, f32)],
) -> Result<()> {
    let topo = view.topology();
    ensure_len(topo.layers() + 1, ranges.len())?;
    ensure_len(topo.inputs(), x.len())?;
    crate::error::ensure_finite(x)?;
    let needed = observe_scratch_len(topo.sizes());
    let available = scratch.len();
    let scratch = scratch
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed, available })?;
    let (mut current, mut spare) = scratch.split_at_mut(needed / 2);
    widen_range(&mut ranges[0], x);
    for l in 0..topo.layers() {
        let (inputs, outputs) = (topo.sizes()[l], topo.sizes()[l + 1]);
        let input: &[f32] = if l == 0 { x } else { &current[..inputs] };
        view.forward_layer(l, input, &mut spare[..outputs])?;
        widen_range(&mut ranges[l + 1], &spare[..outputs]);
        core::mem::swap(&mut current, &mut spare);
    }
    Ok(())
}

fn widen_range(range: &mut (f32, f32), values: &[f32]) {
    for &v in values {
        range.0 = range.0.min(v);
        range.1 = range.1.max(v);
    }
}

/// Quantizes `view` with the activation ranges `ranges` (`L + 1` pairs from [`observe`]) into
/// `out`, returning the bytes written ([`quantized_len`]). Errors: `InvalidParameter` for an
/// activation other than identity or ReLU or a scale ratio beyond the fixed-point range,
/// `ShapeMismatch` for a wrong number of ranges, `NonFinite` for a non-finite range,
/// `BufferTooSmall` for a short `out`.
pub fn quantize(view: &MlpView<'_>, ranges: &[(f32, f32)], out: &mut [u8]) -> Result<usize> {
    let topo = *view.topology();
    let layers = topo.layers();
    ensure_len(layers + 1, ranges.len())?;
    for (i, r) in ranges.iter().enumerate() {
        if !(r.0.is_finite() && r.1.is_finite()) {
            return Err(Error::NonFinite { index: i });
        }
    }
    if topo
        .activations()
        .iter()
        .any(|a| !matches!(a, Activation::Identity | Activation::Relu))
    {
        return Err(Error::InvalidParameter {
            name: "int8 layers support identity and ReLU activations only",
        });
    }
    let len = quantized_len(topo.sizes());
    let available = out.len();
    let out = out.get_mut(..len).ok_or(Error::BufferTooSmall {
        needed: len,
        available,
    })?;
    let mut w = Writer::with_header(out, &MAGIC, VERSION);
    write_layers(&mut w, &topo)?;
    let mut quants = [TensorQuant {
        scale: 1.0,
        zero: 0,
    }; MAX_LAYERS + 1];
    for (q, r) in quants.iter_mut().zip(ranges) {
        *q = TensorQuant::from_range(r.0, r.1);
        w.f32(q.scale);
        w.i32(q.zero);
    }
    for (l, p) in plan(&topo, 0, false).iter().take(layers).enumerate() {
        let (sx, sy) = (f64::from(quants[l].scale), f64::from(quants[l + 1].scale));
        let weights_at = w.position() + p.outputs * CHANNEL_BYTES;
        for o in 0..p.outputs {
            let (fold, shift) = batch_norm_fold(view, p, o);
            let weight = |i: usize| {
                f64::from(view.param(p.weights + i * p.outputs + o).unwrap_or(0.0)) * fold
            };
            let bias = f64::from(view.param(p.bias + o).unwrap_or(0.0)) * fold + shift;
            let max = (0..p.inputs)
                .map(weight)
                .fold(0.0f64, |m, v| m.max(v.abs()));
            let sw = if max > 0.0 { max / 127.0 } else { 1.0 };
            for i in 0..p.inputs {
                let q = libm::round(weight(i) / sw).clamp(-127.0, 127.0) as i8;
                if let Some(slot) = w.byte_mut(weights_at + o * p.inputs + i) {
                    *slot = q as u8;
                }
            }
            let (multiplier, shift) = match quantize_multiplier(sx * sw / sy) {
                Some(m) => m,
                None if sx * sw / sy < 1.0 => (0, 0),
                None => {
                    return Err(Error::InvalidParameter {
                        name: "scale ratio beyond the fixed-point range",
                    })
                }
            };
            let bias =
                libm::round(bias / (sx * sw)).clamp(f64::from(i32::MIN), f64::from(i32::MAX));
            let channel = Channel {
                bias: bias as i32,
                multiplier,
                shift,
            };
            w.put(&channel.to_le_bytes());
        }
        w.skip(p.inputs * p.outputs);
    }
    w.finish();
    Ok(len)
}

/// Batch norm of output `o` as `y = fold·(xW + b) + shift` (identity without batch norm).
fn batch_norm_fold(view: &MlpView<'_>, p: &crate::nn::topology::LayerPlan, o: usize) -> (f64, f64) {
    if !p.batch_norm {
        return (1.0, 0.0);
    }
    let get = |i: usize| f64::from(view.param(i).unwrap_or(0.0));
    let (gamma, beta) = (get(p.gamma + o), get(p.beta + o));
    let (mean, var) = (get(p.running + o), get(p.running + p.outputs + o));
    let fold = gamma / libm::sqrt(var + f64::from(EPS));
    (fold, beta - fold * mean)
}

/// The scratch of [`QuantMlp::forward`].
#[derive(Debug)]
pub struct QuantScratch<'s> {
    /// Activations, [`quant_scratch_len`] elements.
    pub activations: &'s mut [i8],
    /// The widened layer input, [`quant_expanded_len`] elements.
    pub expanded: &'s mut [i16],
}

/// A validated int8 MLP whose weights stay in the borrowed bytes.
#[derive(Debug, Clone, Copy)]
pub struct QuantMlp<'a> {
    topology: Topology,
    quants: [TensorQuant; MAX_LAYERS + 1],
    layers: &'a [u8],
}

impl<'a> QuantMlp<'a> {
    /// Checks `bytes` (written by [`quantize`]) once and borrows them. `Err(Corrupt)` for any
    /// failed check: checksum, magic, version, sizes, activations, quantization parameters,
    /// channel shifts, length.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let mut r = format::open(bytes, &MAGIC, VERSION)?;
        let (layers, sizes, activations) =
            read_layers(&mut r, |code| match Activation::from_code(code) {
                Some(a @ (Activation::Identity | Activation::Relu)) => Ok(a),
                _ => Err(corrupt("unsupported activation")),
            })?;
        let topology = Topology::new(&sizes[..=layers], &activations[..layers])
            .map_err(|_| corrupt("invalid layer sizes"))?;
        let mut quants = [TensorQuant {
            scale: 1.0,
            zero: 0,
        }; MAX_LAYERS + 1];
        for q in quants.iter_mut().take(layers + 1) {
            q.scale = r.f32()?;
            q.zero = r.i32()?;
            if !q.valid() {
                return Err(corrupt("invalid activation quantization"));
            }
        }
        if quantized_len(topology.sizes()) != bytes.len() {
            return Err(corrupt("length disagrees with the header"));
        }
        let mlp = QuantMlp {
            topology,
            quants,
            layers: r.rest(),
        };
        for l in 0..layers {
            let (channels, _) = mlp.layer(l)?;
            for c in channels.chunks_exact(CHANNEL_BYTES) {
                let c = c.first_chunk().map(Channel::from_le_bytes);
                if !c.is_some_and(|c| (-31..=30).contains(&c.shift) && c.multiplier >= 0) {
                    return Err(corrupt("invalid channel requantization"));
                }
            }
        }
        Ok(mlp)
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Quantization of the input (`0`) and of each layer's output (`1..=L`).
    pub fn tensor_quant(&self, index: usize) -> Option<TensorQuant> {
        self.quants
            .get(index)
            .copied()
            .filter(|_| index <= self.topology.layers())
    }

    /// Layer `l`'s channel records and weights.
    fn layer(&self, l: usize) -> Result<(&'a [u8], &'a [u8])> {
        let sizes = self.topology.sizes();
        let mut at = 0usize;
        for k in 0..l {
            at = at.saturating_add(layer_bytes(sizes[k], sizes[k + 1]));
        }
        let (inputs, outputs) = (sizes[l], sizes[l + 1]);
        let channels_end = at.saturating_add(outputs * CHANNEL_BYTES);
        let end = channels_end.saturating_add(inputs * outputs);
        let channels = self.layers.get(at..channels_end);
        let weights = self.layers.get(channels_end..end);
        channels.zip(weights).ok_or(corrupt("layer out of range"))
    }

    /// Quantizes the f32 row `x` (`[inputs]`) with the input's parameters into `xq`.
    /// `Err(ShapeMismatch)` for wrong lengths, `NonFinite` for NaN/inf.
    pub fn quantize_input(&self, x: &[f32], xq: &mut [i8]) -> Result<()> {
        ensure_len(self.topology.inputs(), x.len())?;
        ensure_len(x.len(), xq.len())?;
        crate::error::ensure_finite(x)?;
        let q = self.quants[0];
        for (d, &v) in xq.iter_mut().zip(x) {
            *d = q.quantize(v);
        }
        Ok(())
    }

    /// Inference on one quantized row `x` (`[inputs]`), writing the quantized outputs `out`
    /// (`[outputs]`, parameters [`QuantMlp::tensor_quant`]`(L)`). Errors: `ShapeMismatch` for
    /// wrong lengths, `BufferTooSmall` for a short scratch.
    pub fn forward(&self, x: &[i8], scratch: QuantScratch<'_>, out: &mut [i8]) -> Result<()> {
        let sizes = self.topology.sizes();
        let expanded = fits(scratch.expanded, quant_expanded_len(sizes))?;
        self.walk_layers(x, scratch.activations, out, |layer| {
            let expanded = &mut expanded[..layer.input.len()];
            expand_input(layer.input, layer.input_zero, expanded)?;
            dense_s8(
                expanded,
                layer.weights,
                layer.channels,
                layer.quant,
                layer.output,
            )
        })
    }

    /// [`QuantMlp::forward`] through the element-by-element reference kernel (for tests).
    pub fn forward_reference(
        &self,
        x: &[i8],
        scratch: QuantScratch<'_>,
        out: &mut [i8],
    ) -> Result<()> {
        self.walk_layers(x, scratch.activations, out, |layer| {
            matvec_s8::dense_s8_reference(
                layer.input,
                layer.input_zero,
                layer.weights,
                layer.channels,
                layer.quant,
                layer.output,
            )
        })
    }

    /// Checks the lengths, then runs `dense` on every layer in order, the activations
    /// ping-ponging through `activations` and the last layer writing `out`.
    fn walk_layers(
        &self,
        x: &[i8],
        activations: &mut [i8],
        out: &mut [i8],
        mut dense: impl FnMut(QuantLayer<'_>) -> Result<()>,
    ) -> Result<()> {
        let topo = &self.topology;
        ensure_len(topo.inputs(), x.len())?;
        ensure_len(topo.outputs(), out.len())?;
        let sizes = topo.sizes();
        let act = fits(activations, quant_scratch_len(sizes))?;
        let layers = topo.layers();
        let (mut current, mut spare) = ping_pong(act, layers);
        for l in 0..layers {
            let (inputs, outputs) = (sizes[l], sizes[l + 1]);
            let input: &[i8] = if l == 0 { x } else { &current[..inputs] };
            let output: &mut [i8] = if l + 1 == layers {
                &mut *out
            } else {
                &mut spare[..outputs]
            };
            let (channels, weights) = self.layer(l)?;
            let y = self.quants[l + 1];
            let min = if topo.activations()[l] == Activation::Relu {
                y.zero as i8
            } else {
                -128
            };
            dense(QuantLayer {
                input,
                input_zero: self.quants[l].zero,
                weights,
                channels,
                quant: OutputQuant { zero: y.zero, min },
                output,
            })?;
            core::mem::swap(&mut current, &mut spare);
        }
        Ok(())
    }
}

/// One layer's operands as [`QuantMlp::walk_layers`] hands them to a kernel.
struct QuantLayer<'l> {
    input: &'l [i8],
    input_zero: i32,
    weights: &'l [u8],
    channels: &'l [u8],
    quant: OutputQuant,
    output: &'l mut [i8],
}

fn fits<T>(buffer: &mut [T], needed: usize) -> Result<&mut [T]> {
    let available = buffer.len();
    buffer
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed, available })
}
