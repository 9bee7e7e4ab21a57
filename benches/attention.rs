//! Multi-head attention forward throughput, one thread, batch 1, 4 heads, head dim 64: the
//! materialized reference, the streaming kernel on each x86 variant this CPU runs, and f16 /
//! bf16 storage on the best variant. Groups are `attention/<variant>`, the parameter the
//! sequence length L; throughput is 4·L²·d·heads elements, so criterion's elem/s are FLOP/s
//! (the count PyTorch's figures in issue 6 use).
//!
//! The reference skips L = 2048 (seconds per call, which would dominate the run).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgeml_core::attention::{
    attention_reference, head_view, head_view_mut, multi_head_attention, multi_head_workspace_len,
    reference_workspace_len, AttentionSpec, MultiHead,
};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::scalar::BulkConvert;
use half::{bf16, f16};
use std::hint::black_box;
use std::time::Duration;

const LENGTHS: [usize; 4] = [64, 128, 512, 2048];
const HEADS: usize = 4;
const HEAD_DIM: usize = 64;
/// Longest sequence the materialized reference is timed at.
const REFERENCE_MAX: usize = 512;

/// A `[len, heads·head_dim]` buffer of uniform values in [-1, 1), rounded to `S`.
fn buffer<S: BulkConvert>(seed: u64, len: usize) -> Vec<S> {
    let mut rng = Rng::new(seed);
    (0..len * HEADS * HEAD_DIM)
        .map(|_| S::from_f32(rng.uniform(-1.0, 1.0)))
        .collect()
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

/// One forward call over Q, K, V stored as `S` into `out`, with `workspace`.
type Forward<S> = dyn Fn(&[S], &[S], &[S], &mut [f32], &mut [f32], usize);

/// Times `forward` at every length up to `max_len` in the group `attention/<name>`, with a
/// workspace of `workspace_len(L)` f32.
fn bench_variant<S: BulkConvert>(
    c: &mut Criterion,
    name: &str,
    max_len: usize,
    workspace_len: impl Fn(usize) -> usize,
    forward: &Forward<S>,
) {
    let mut group = c.benchmark_group(format!("attention/{name}"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    for len in LENGTHS.into_iter().filter(|&l| l <= max_len) {
        let (q, k, v) = (
            buffer::<S>(1, len),
            buffer::<S>(2, len),
            buffer::<S>(3, len),
        );
        let mut out = vec![0.0f32; len * HEADS * HEAD_DIM];
        let mut workspace = vec![0.0f32; workspace_len(len)];
        let flops = 4 * (len as u64).pow(2) * (HEAD_DIM * HEADS) as u64;
        group.throughput(Throughput::Elements(flops));
        group.measurement_time(Duration::from_secs(if len >= 512 { 2 } else { 1 }));
        group.bench_function(BenchmarkId::from_parameter(len), |bench| {
            bench.iter(|| {
                forward(black_box(&q), &k, &v, &mut out, &mut workspace, len);
                black_box(&mut out);
            })
        });
    }
    group.finish();
}

fn streaming<S: BulkConvert>(dispatch: Dispatch) -> Box<Forward<S>> {
    Box::new(move |q, k, v, out, workspace, len| {
        multi_head_attention(
            dispatch,
            &AttentionSpec::new(),
            &shape(len),
            q,
            k,
            v,
            out,
            workspace,
        )
        .expect("shapes agree");
    })
}

fn reference(q: &[f32], k: &[f32], v: &[f32], out: &mut [f32], ws: &mut [f32], len: usize) {
    for h in 0..HEADS {
        let view = |data| head_view(data, len, HEADS, HEAD_DIM, h).expect("head in range");
        let out = head_view_mut(out, len, HEADS, HEAD_DIM, h).expect("head in range");
        attention_reference(&AttentionSpec::new(), view(q), view(k), view(v), out, ws)
            .expect("shapes agree");
    }
}

fn bench_attention(c: &mut Criterion) {
    let variants = common::dispatches();
    let best = variants.last().copied().unwrap_or(Dispatch::PORTABLE);
    eprintln!(
        "attention variants this CPU runs: {:?}; f16/bf16 storage uses {}",
        variants.iter().map(|d| d.isa().name()).collect::<Vec<_>>(),
        best.isa().name()
    );
    let streaming_len = |len| multi_head_workspace_len(&shape(len));
    bench_variant::<f32>(
        c,
        "reference",
        REFERENCE_MAX,
        |len| reference_workspace_len(len, len),
        &reference,
    );
    for dispatch in variants {
        bench_variant::<f32>(
            c,
            &format!("streaming-{}", dispatch.isa().name()),
            usize::MAX,
            streaming_len,
            &*streaming::<f32>(dispatch),
        );
    }
    bench_variant::<f16>(
        c,
        "streaming-f16",
        usize::MAX,
        streaming_len,
        &*streaming::<f16>(best),
    );
    bench_variant::<bf16>(
        c,
        "streaming-bf16",
        usize::MAX,
        streaming_len,
        &*streaming::<bf16>(best),
    );
}

criterion_group!(benches, bench_attention);
criterion_main!(benches);
