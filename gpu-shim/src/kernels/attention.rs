//! Streaming attention forward on the GPU (online softmax over tiles of 32 keys staged in
//! workgroup memory and shared by 64 queries per workgroup), the counterpart of
//! `edgeml_core::attention::attention` for contiguous f32 Q, K, V, with any number of heads of
//! one shape in a single call.

use edgeml_core::Error;

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, KernelTiming, Operand, Pass};

/// Queries per workgroup of `attention.wgsl`, one per invocation.
const QUERIES_PER_GROUP: usize = 64;

/// Uniform block matching `Params` in attention.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    heads: u32,
    lq: u32,
    lk: u32,
    dk: u32,
    dv: u32,
    causal: u32,
    use_valid: u32,
    scale: f32,
}

/// Shapes of one call: `heads` heads, each Q L_q×d_k, K L_k×d_k, V L_k×d_v and out L_q×d_v,
/// stored head after head, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionShape {
    /// Number of heads (independent attentions of the same shape).
    pub heads: usize,
    /// Query rows L_q.
    pub lq: usize,
    /// Key and value rows L_k.
    pub lk: usize,
    /// Query/key width d_k.
    pub dk: usize,
    /// Value/output width d_v.
    pub dv: usize,
}

/// Masking and scale, as the core's `AttentionSpec`: causal (query i sees keys j ≤ i), an
/// optional per-key validity shared by all heads, and the score scale (default 1/√d_k).
#[derive(Clone, Copy, Debug, Default)]
pub struct AttentionMask<'a> {
    causal: bool,
    key_valid: Option<&'a [bool]>,
    scale: Option<f32>,
}

impl<'a> AttentionMask<'a> {
    /// No mask, scale 1/√d_k.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `causal`, query i sees keys j ≤ i only.
    pub fn causal(self, causal: bool) -> Self {
        AttentionMask { causal, ..self }
    }

    /// Key j is seen only where `key_valid[j]` (L_k entries).
    pub fn key_valid(self, key_valid: &'a [bool]) -> Self {
        AttentionMask {
            key_valid: Some(key_valid),
            ..self
        }
    }

    /// Scores are `scale·q·k` (must be positive and finite).
    pub fn scale(self, scale: f32) -> Self {
        AttentionMask {
            scale: Some(scale),
            ..self
        }
    }
}

/// `value` as a `u32` shader index.
fn index(value: usize) -> Result<u32, GpuError> {
    u32::try_from(value).map_err(|_| GpuError::ShapeOverflow {
        m: value,
        k: 1,
        n: 1,
    })
}

/// `a·b·c` elements, or `ShapeOverflow`.
fn elements(a: usize, b: usize, c: usize) -> Result<usize, GpuError> {
    a.checked_mul(b)
        .and_then(|ab| ab.checked_mul(c))
        .ok_or(GpuError::ShapeOverflow { m: a, k: b, n: c })
}

impl Gpu {
    /// out ← softmax(α·Q·Kᵀ, masked)·V per head, as the core's streaming attention; a query
    /// with no visible key gets zeros. Errors, in `GpuError::Input` as the core reports them:
    /// `Empty` for a zero dimension, `InvalidParameter { name: "scale" }` for a non-positive or
    /// non-finite scale, `NonFinite` (flat index within Q, K or V) for NaN/inf inputs, and
    /// `NonFinite { index: 0 }` when scores could overflow f32 (largest |q|ᵢ·Σ|k| bound);
    /// `Length` for slices or a key mask that disagree with the shape.
    pub fn attention(
        &self,
        mask: &AttentionMask<'_>,
        shape: AttentionShape,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        out: &mut [f32],
    ) -> Result<KernelTiming, GpuError> {
        let AttentionShape {
            heads,
            lq,
            lk,
            dk,
            dv,
        } = shape;
        if heads == 0 || lq == 0 || lk == 0 || dk == 0 || dv == 0 {
            return Err(GpuError::Input(Error::Empty));
        }
        check_len("Q", elements(heads, lq, dk)?, q.len())?;
        check_len("K", elements(heads, lk, dk)?, k.len())?;
        check_len("V", elements(heads, lk, dv)?, v.len())?;
        check_len("out", elements(heads, lq, dv)?, out.len())?;
        if let Some(flags) = mask.key_valid {
            check_len("key_valid", lk, flags.len())?;
        }
        let scale = mask.scale.unwrap_or(1.0 / (dk as f32).sqrt());
        if !(scale.is_finite() && scale > 0.0) {
            return Err(GpuError::Input(Error::InvalidParameter { name: "scale" }));
        }
        for data in [q, k, v] {
            if let Some(index) = data.iter().position(|x| !x.is_finite()) {
                return Err(GpuError::Input(Error::NonFinite { index }));
            }
        }
        let largest_key = k
            .chunks_exact(dk)
            .map(|row| row.iter().map(|&x| f64::from(x).abs()).sum::<f64>())
            .fold(0.0f64, f64::max);
        let largest_query = q.iter().map(|&x| f64::from(x).abs()).fold(0.0f64, f64::max);
        if largest_query * largest_key * f64::from(scale) >= f64::from(f32::MAX) / 2.0 {
            return Err(GpuError::Input(Error::NonFinite { index: 0 }));
        }
        let valid: Vec<u32> = match mask.key_valid {
            Some(flags) => flags.iter().map(|&f| u32::from(f)).collect(),
            None => vec![1],
        };
        let params = Params {
            heads: index(heads)?,
            lq: index(lq)?,
            lk: index(lk)?,
            dk: index(dk)?,
            dv: index(dv)?,
            causal: u32::from(mask.causal),
            use_valid: u32::from(mask.key_valid.is_some()),
            scale,
        };
        index(heads.saturating_mul(lq))?;
        let query_groups = lq.div_ceil(QUERIES_PER_GROUP);
        let max_groups = self.limits.max_compute_workgroups_per_dimension as usize;
        if query_groups > max_groups || heads > max_groups {
            return Err(GpuError::Limit(format!(
                "attention over {heads} heads × {lq} queries needs {query_groups}×{heads} \
                 workgroups, adapter allows {max_groups} per dimension"
            )));
        }
        let kernel = self.kernel("attention", include_str!("attention.wgsl"), "main")?;
        execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(q)),
                Operand::Input(bytemuck::cast_slice(k)),
                Operand::Input(bytemuck::cast_slice(v)),
                Operand::Input(bytemuck::cast_slice(&valid)),
                Operand::Scratch((out.len() as u64).saturating_mul(4)),
            ],
            &[Pass {
                kernel: &kernel,
                bindings: &[(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)],
                groups: [query_groups as u32, heads as u32, 1],
            }],
            4,
            bytemuck::cast_slice_mut(out),
        )
    }
}
