//! Forward throughput of multi-head attention by sequence length and kernel variant (one
//! thread, batch 1), and the scratch memory each kernel needs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use edgeml_core::attention::{
    attention_reference, head_view, head_view_mut, multi_head_attention, multi_head_workspace_len,
    reference_workspace_len, AttentionSpec, MultiHead,
};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::scalar::BulkConvert;
use half::{bf16, f16};

/// Heads of the benchmark problem (the shape).
pub const HEADS: usize = 4;
/// Head dimension d_k = d_v of the benchmark problem.
pub const HEAD_DIM: usize = 64;

/// A kernel variant of the table.
#[derive(Clone, Copy, Debug)]
pub enum Variant {
    /// The materialized reference (full L×L probabilities), head by head.
    Reference,
    /// The streaming kernel on f32 storage with this dispatch.
    Streaming(Dispatch),
    /// The streaming kernel on f16 storage (f32 accumulation).
    StreamingF16(Dispatch),
    /// The streaming kernel on bf16 storage (f32 accumulation).
    StreamingBf16(Dispatch),
}

impl Variant {
    /// The row name in the tables and the JSON key.
    pub fn name(self) -> String {
        match self {
            Variant::Reference => "reference (materialized)".into(),
            Variant::Streaming(d) => format!("streaming {}", d.isa().name()),
            Variant::StreamingF16(d) => format!("streaming f16 ({})", d.isa().name()),
            Variant::StreamingBf16(d) => format!("streaming bf16 ({})", d.isa().name()),
        }
    }
}

/// Forward FLOPs of one call as the issue counts them: 4·L²·d·heads.
pub fn flops(len: usize) -> f64 {
    4.0 * (len as f64).powi(2) * HEAD_DIM as f64 * HEADS as f64
}

/// Bytes of scratch each kernel needs for sequence length `len`: (streaming, reference).
pub fn workspace_bytes(len: usize) -> (usize, usize) {
    let f32_bytes = std::mem::size_of::<f32>();
    let streaming = multi_head_workspace_len(&shape(len)) * f32_bytes;
    let reference = reference_workspace_len(len, len) * f32_bytes;
    (streaming, reference)
}

fn shape(len: usize) -> MultiHead {
    MultiHead {
        heads: HEADS,
        seq_q: len,
        seq_k: len,
        head_dim: HEAD_DIM,
        value_dim: HEAD_DIM,
    }
}

/// Seconds per call of `f`: one warm-up call, then the median over batches, each batch lasting
/// about a tenth of `min_time` (at least three batches).
pub fn seconds_per_call(min_time: Duration, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    let once = start.elapsed().max(Duration::from_nanos(1));
    let per_batch = ((min_time.as_secs_f64() / 10.0) / once.as_secs_f64()).ceil() as usize;
    let per_batch = per_batch.clamp(1, 1_000_000);
    let mut batches = Vec::new();
    let started = Instant::now();
    while batches.len() < 3 || (started.elapsed() < min_time && batches.len() < 50) {
        let batch_start = Instant::now();
        for _ in 0..per_batch {
            f()?;
        }
        batches.push(batch_start.elapsed().as_secs_f64() / per_batch as f64);
    }
    batches.sort_by(f64::total_cmp);
    Ok(batches[batches.len() / 2])
}

/// Random Q, K, V `[len, heads·head_dim]` in [−1, 1).
struct Inputs {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl Inputs {
    fn new(len: usize, rng: &mut Rng) -> Inputs {
        let n = len * HEADS * HEAD_DIM;
        let mut draw = || (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect::<Vec<f32>>();
        Inputs {
            q: draw(),
            k: draw(),
            v: draw(),
        }
    }
}

fn narrow<S: BulkConvert>(values: &[f32]) -> Vec<S> {
    values.iter().map(|&x| S::from_f32(x)).collect()
}

/// Seconds per forward call of `variant` at sequence length `len`.
pub fn time_variant(
    variant: Variant,
    len: usize,
    min_time: Duration,
    rng: &mut Rng,
) -> Result<f64> {
    let inputs = Inputs::new(len, rng);
    let mut out = vec![0.0f32; len * HEADS * HEAD_DIM];
    let shape = shape(len);
    match variant {
        Variant::Reference => {
            let mut workspace = vec![0.0f32; reference_workspace_len(len, len)];
            seconds_per_call(min_time, || {
                reference_forward(&inputs, len, &mut out, &mut workspace)?;
                black_box(&mut out);
                Ok(())
            })
        }
        Variant::Streaming(dispatch) => time_streaming(
            dispatch,
            &shape,
            (&inputs.q, &inputs.k, &inputs.v),
            &mut out,
            min_time,
        ),
        Variant::StreamingF16(dispatch) => {
            let (q, k, v) = (
                narrow::<f16>(&inputs.q),
                narrow::<f16>(&inputs.k),
                narrow::<f16>(&inputs.v),
            );
            time_streaming(dispatch, &shape, (&q, &k, &v), &mut out, min_time)
        }
        Variant::StreamingBf16(dispatch) => {
            let (q, k, v) = (
                narrow::<bf16>(&inputs.q),
                narrow::<bf16>(&inputs.k),
                narrow::<bf16>(&inputs.v),
            );
            time_streaming(dispatch, &shape, (&q, &k, &v), &mut out, min_time)
        }
    }
    .with_context(|| format!("{} at L = {len}", variant.name()))
}

fn time_streaming<S: BulkConvert>(
    dispatch: Dispatch,
    shape: &MultiHead,
    (q, k, v): (&[S], &[S], &[S]),
    out: &mut [f32],
    min_time: Duration,
) -> Result<f64> {
    let mut workspace = vec![0.0f32; multi_head_workspace_len(shape)];
    seconds_per_call(min_time, || {
        multi_head_attention(
            dispatch,
            &AttentionSpec::new(),
            shape,
            black_box(q),
            k,
            v,
            out,
            &mut workspace,
        )?;
        black_box(&mut *out);
        Ok(())
    })
}

/// The materialized reference applied head by head over `[len, heads·head_dim]` buffers.
fn reference_forward(
    inputs: &Inputs,
    len: usize,
    out: &mut [f32],
    workspace: &mut [f32],
) -> Result<()> {
    for h in 0..HEADS {
        let view = |data| head_view(data, len, HEADS, HEAD_DIM, h);
        attention_reference(
            &AttentionSpec::new(),
            view(&inputs.q)?,
            view(&inputs.k)?,
            view(&inputs.v)?,
            head_view_mut(out, len, HEADS, HEAD_DIM, h)?,
            workspace,
        )?;
    }
    Ok(())
}

/// Variant name → sequence length → value.
pub type Table = BTreeMap<String, BTreeMap<usize, f64>>;
