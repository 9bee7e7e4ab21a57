//! Attention forward: the streaming kernel (every gemm variant) and the materialised reference
//! against an f64 computation, on random shapes and masks; multi-head over strided head views;
//! f16/bf16 storage; outputs as convex combinations of V; key/value permutation equivariance;
//! scratch size independent of the sequence length; error paths.

mod attention_support;
mod common;

use attention_support::{problem, problem_in, Problem};
use edgeml_core::attention::{
    attention, attention_reference, head_view, head_view_mut, multi_head_attention,
    multi_head_workspace_len, reference_workspace_len, streaming_workspace_len, AttentionSpec,
    MultiHead,
};
use edgeml_core::kernels::Dispatch;
use edgeml_core::scalar::BulkConvert;
use edgeml_core::{Error, Shape, TensorView, TensorViewMut};
use half::{bf16, f16};
use proptest::prelude::*;

/// Runs the streaming kernel with a workspace of exactly the advertised length.
fn streaming(p: &Problem, dispatch: Dispatch) -> Vec<f32> {
    let (q, k, v) = p.views();
    let mut out = vec![f32::NAN; p.lq * p.dv];
    let mut ws = vec![f32::NAN; streaming_workspace_len(p.dv)];
    attention(
        dispatch,
        &p.spec(),
        q,
        k,
        v,
        Problem::out_view(&mut out, p.lq, p.dv),
        &mut ws,
    )
    .unwrap();
    out
}

fn reference(p: &Problem) -> Vec<f32> {
    let (q, k, v) = p.views();
    let mut out = vec![f32::NAN; p.lq * p.dv];
    let mut ws = vec![f32::NAN; reference_workspace_len(p.lq, p.lk)];
    attention_reference(
        &p.spec(),
        q,
        k,
        v,
        Problem::out_view(&mut out, p.lq, p.dv),
        &mut ws,
    )
    .unwrap();
    out
}

fn check_streaming_and_reference(p: &Problem) -> Result<(), TestCaseError> {
    p.check(&reference(p), "reference")?;
    for dispatch in common::dispatches() {
        p.check(&streaming(p, dispatch), dispatch.isa().name())?;
    }
    Ok(())
}

/// Streaming with `S` storage, against f64 of the rounded inputs.
fn check_mixed<S: BulkConvert>(p: &Problem) -> Result<(), TestCaseError> {
    let narrow = |x: &[f32]| x.iter().map(|&v| S::from_f32(v)).collect::<Vec<S>>();
    let (q, k, v) = (narrow(&p.q), narrow(&p.k), narrow(&p.v));
    let widen = |x: &[S]| x.iter().map(|v| v.to_f32()).collect::<Vec<f32>>();
    let rounded = Problem {
        q: widen(&q),
        k: widen(&k),
        v: widen(&v),
        ..p.clone()
    };
    for dispatch in common::dispatches() {
        let mut out = vec![f32::NAN; p.lq * p.dv];
        let mut ws = vec![0.0; streaming_workspace_len(p.dv)];
        attention(
            dispatch,
            &p.spec(),
            TensorView::matrix(&q, p.lq, p.dk).unwrap(),
            TensorView::matrix(&k, p.lk, p.dk).unwrap(),
            TensorView::matrix(&v, p.lk, p.dv).unwrap(),
            Problem::out_view(&mut out, p.lq, p.dv),
            &mut ws,
        )
        .unwrap();
        let label = format!("{} {}", core::any::type_name::<S>(), dispatch.isa().name());
        rounded.check(&out, &label)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn streaming_and_reference_match_f64(p in problem(64, 32)) {
        check_streaming_and_reference(&p)?;
    }

    #[test]
    fn f16_and_bf16_storage_match_f64_of_rounded_inputs(p in problem(40, 16)) {
        check_mixed::<f16>(&p)?;
        check_mixed::<bf16>(&p)?;
    }

    #[test]
    fn outputs_are_convex_combinations_of_visible_values(p in problem(64, 16)) {
        let out = streaming(&p, Dispatch::PORTABLE);
        for i in 0..p.lq {
            let visible: Vec<usize> = (0..p.lk).filter(|&j| p.allows(i, j)).collect();
            for c in 0..p.dv {
                let got = out[i * p.dv + c];
                if visible.is_empty() {
                    prop_assert_eq!(got, 0.0, "fully masked row {} must be zero", i);
                    continue;
                }
                let column = visible.iter().map(|&j| p.v[j * p.dv + c]);
                let lo = column.clone().fold(f32::INFINITY, f32::min);
                let hi = column.fold(f32::NEG_INFINITY, f32::max);
                let slack = 4.0 * f32::EPSILON * (p.lk as f32 + 4.0) * lo.abs().max(hi.abs());
                prop_assert!(got >= lo - slack && got <= hi + slack,
                    "out[{}][{}] = {} outside [{}, {}]", i, c, got, lo, hi);
            }
        }
    }

    #[test]
    fn permuting_keys_and_values_leaves_the_output_unchanged(
        p in problem(48, 16),
        seed in any::<u64>(),
    ) {
        let p = Problem { causal: false, ..p };
        let mut perm: Vec<usize> = (0..p.lk).collect();
        edgeml_core::rng::Rng::new(seed).shuffle(&mut perm);
        let permuted = Problem {
            k: perm.iter().flat_map(|&j| p.k[j * p.dk..(j + 1) * p.dk].to_vec()).collect(),
            v: perm.iter().flat_map(|&j| p.v[j * p.dv..(j + 1) * p.dv].to_vec()).collect(),
            valid: p.valid.as_ref().map(|valid| perm.iter().map(|&j| valid[j]).collect()),
            ..p.clone()
        };
        let (a, b) = (streaming(&p, Dispatch::PORTABLE), streaming(&permuted, Dispatch::PORTABLE));
        for i in 0..p.lq {
            let tol = 2.0 * p.tolerance(i);
            for c in 0..p.dv {
                let (x, y) = (a[i * p.dv + c], b[i * p.dv + c]);
                prop_assert!(((x - y) as f64).abs() <= tol, "[{}][{}]: {} vs {}", i, c, x, y);
            }
        }
    }

    #[test]
    fn multi_head_matches_f64_per_head(
        heads in 1usize..=4,
        lq in 1usize..=40,
        lk in 1usize..=40,
        dk in 1usize..=16,
        dv in 1usize..=16,
        causal in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut rng = edgeml_core::rng::Rng::new(seed);
        let mut fill = |n: usize| (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect::<Vec<f32>>();
        let (q, k, v) = (fill(lq * heads * dk), fill(lk * heads * dk), fill(lk * heads * dv));
        let shape = MultiHead { heads, seq_q: lq, seq_k: lk, head_dim: dk, value_dim: dv };
        let spec = AttentionSpec::new().causal(causal);
        let mut out = vec![f32::NAN; lq * heads * dv];
        let mut ws = vec![0.0; multi_head_workspace_len(&shape)];
        multi_head_attention(Dispatch::PORTABLE, &spec, &shape, &q, &k, &v, &mut out, &mut ws)
            .unwrap();
        let columns = |x: &[f32], rows: usize, d: usize, h: usize| -> Vec<f32> {
            (0..rows).flat_map(|r| x[r * heads * d + h * d..r * heads * d + (h + 1) * d].to_vec())
                .collect()
        };
        for h in 0..heads {
            let single = Problem {
                lq, lk, dk, dv, causal, valid: None,
                q: columns(&q, lq, dk, h),
                k: columns(&k, lk, dk, h),
                v: columns(&v, lk, dv, h),
            };
            single.check(&columns(&out, lq, dv, h), &format!("head {h}"))?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Q, K and V handed over as transposed views of column-major buffers, and the output
    /// written through a transposed view, give the bitwise-same result as row-major buffers.
    #[test]
    fn strided_views_match_contiguous_ones(p in problem(40, 12)) {
        let transpose = |x: &[f32], rows: usize, cols: usize| -> Vec<f32> {
            (0..cols).flat_map(|c| (0..rows).map(move |r| x[r * cols + c])).collect()
        };
        let (qt, kt, vt) = (
            transpose(&p.q, p.lq, p.dk),
            transpose(&p.k, p.lk, p.dk),
            transpose(&p.v, p.lk, p.dv),
        );
        let mut out_t = vec![f32::NAN; p.lq * p.dv];
        let mut ws = vec![0.0; streaming_workspace_len(p.dv)];
        attention(
            Dispatch::PORTABLE,
            &p.spec(),
            TensorView::matrix(&qt, p.dk, p.lq).unwrap().t().unwrap(),
            TensorView::matrix(&kt, p.dk, p.lk).unwrap().t().unwrap(),
            TensorView::matrix(&vt, p.dv, p.lk).unwrap().t().unwrap(),
            TensorViewMut::with_strides(&mut out_t, Shape::matrix(p.lq, p.dv).unwrap(), [1, p.lq, 0, 0])
                .unwrap(),
            &mut ws,
        )
        .unwrap();
        let expected = streaming(&p, Dispatch::PORTABLE);
        prop_assert_eq!(transpose(&out_t, p.dv, p.lq), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Lengths past several query and key blocks, with the same fixed-size workspace.
    #[test]
    fn long_sequences_cross_block_edges(p in problem(300, 24)) {
        check_streaming_and_reference(&p)?;
    }

    /// Widths around the fused AVX-512 register panels (64 columns) and query counts past
    /// their 4-row groups, so the panels and their edges run for Q·Kᵀ and for P·V.
    #[test]
    fn wide_heads_cross_panel_edges(p in problem_in(1..=150, 60..=130)) {
        check_streaming_and_reference(&p)?;
        check_mixed::<f16>(&p)?;
    }
}

#[test]
fn scratch_size_is_independent_of_sequence_length() {
    let len = streaming_workspace_len(64);
    for &l in &[1usize, 64, 257, 1024] {
        let values: Vec<f32> = (0..l * 64)
            .map(|x| ((x * 7919) % 13) as f32 / 13.0 - 0.5)
            .collect();
        let m = TensorView::matrix(&values, l, 64).unwrap();
        let mut out = vec![0.0; l * 64];
        let mut ws = vec![0.0; len];
        let spec = AttentionSpec::new().causal(true);
        attention(
            Dispatch::PORTABLE,
            &spec,
            m,
            m,
            m,
            Problem::out_view(&mut out, l, 64),
            &mut ws,
        )
        .unwrap();
        assert!(out.iter().all(|x| x.is_finite()));
        // Query 0 under the causal mask sees only key 0: its output is v₀ exactly.
        assert_eq!(&out[..64], &values[..64]);
    }
}

#[test]
fn scale_overrides_one_over_sqrt_dk() {
    let q = [1.0f32, 0.0];
    let k = [1.0f32, 0.0, 0.0, 0.0];
    let v = [1.0f32, 0.0];
    let (q, k, v) = (
        TensorView::matrix(&q, 1, 2).unwrap(),
        TensorView::matrix(&k, 2, 2).unwrap(),
        TensorView::matrix(&v, 2, 1).unwrap(),
    );
    let mut out = [0.0f32];
    let mut ws = vec![0.0; streaming_workspace_len(1)];
    let spec = AttentionSpec::new().scale(3.0);
    attention(
        Dispatch::PORTABLE,
        &spec,
        q,
        k,
        v,
        TensorViewMut::matrix(&mut out, 1, 1).unwrap(),
        &mut ws,
    )
    .unwrap();
    // weights e^3 : e^0 on values 1 : 0.
    let want = 3f64.exp() / (3f64.exp() + 1.0);
    assert!((out[0] as f64 - want).abs() < 1e-6, "{} vs {want}", out[0]);
}

#[test]
fn errors_are_reported_not_panics() {
    let data = [0.5f32; 64];
    let m = |rows, cols| TensorView::matrix(&data[..rows * cols], rows, cols).unwrap();
    let mut out = [0.0f32; 64];
    let mut ws = vec![0.0; streaming_workspace_len(8)];
    let spec = AttentionSpec::new();
    let run = |spec: &AttentionSpec<'_>,
               q: TensorView<'_, f32>,
               k: TensorView<'_, f32>,
               v: TensorView<'_, f32>,
               out: &mut [f32],
               rows: usize,
               cols: usize,
               ws: &mut [f32]| {
        let o = TensorViewMut::matrix(&mut out[..rows * cols], rows, cols).unwrap();
        attention(Dispatch::PORTABLE, spec, q, k, v, o, ws)
    };
    // Mismatched d_k, mismatched key counts, wrong output shape.
    assert!(matches!(
        run(&spec, m(2, 3), m(4, 2), m(4, 2), &mut out, 2, 2, &mut ws),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(&spec, m(2, 2), m(4, 2), m(3, 2), &mut out, 2, 2, &mut ws),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(&spec, m(2, 2), m(4, 2), m(4, 2), &mut out, 3, 2, &mut ws),
        Err(Error::ShapeMismatch { .. })
    ));
    // Empty dimensions.
    assert_eq!(
        run(&spec, m(0, 2), m(4, 2), m(4, 2), &mut out, 0, 2, &mut ws),
        Err(Error::Empty)
    );
    assert_eq!(
        run(&spec, m(2, 2), m(0, 2), m(0, 2), &mut out, 2, 2, &mut ws),
        Err(Error::Empty)
    );
    assert_eq!(
        run(&spec, m(2, 0), m(4, 0), m(4, 2), &mut out, 2, 2, &mut ws),
        Err(Error::Empty)
    );
    // Short workspace.
    let short = &mut ws[..streaming_workspace_len(2) - 1];
    assert!(matches!(
        run(&spec, m(2, 2), m(4, 2), m(4, 2), &mut out, 2, 2, short),
        Err(Error::BufferTooSmall { .. })
    ));
    // Padding mask of the wrong length; bad scales.
    let valid = [true; 3];
    assert!(matches!(
        run(
            &spec.key_valid(&valid),
            m(2, 2),
            m(4, 2),
            m(4, 2),
            &mut out,
            2,
            2,
            &mut ws
        ),
        Err(Error::ShapeMismatch { .. })
    ));
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert!(matches!(
            run(
                &spec.scale(scale),
                m(2, 2),
                m(4, 2),
                m(4, 2),
                &mut out,
                2,
                2,
                &mut ws
            ),
            Err(Error::InvalidParameter { .. })
        ));
    }
    // NaN / infinity inputs, and scores that overflow f32.
    let mut bad = [0.5f32; 8];
    bad[5] = f32::NAN;
    let b = TensorView::matrix(&bad, 4, 2).unwrap();
    assert_eq!(
        run(&spec, m(2, 2), b, m(4, 2), &mut out, 2, 2, &mut ws),
        Err(Error::NonFinite { index: 5 })
    );
    assert_eq!(
        run(&spec, m(2, 2), m(4, 2), b, &mut out, 2, 2, &mut ws),
        Err(Error::NonFinite { index: 5 })
    );
    let huge = [3.0e38f32; 8];
    let h = TensorView::matrix(&huge, 4, 2).unwrap();
    assert!(matches!(
        run(&spec, h, h, m(4, 2), &mut out, 4, 2, &mut ws),
        Err(Error::NonFinite { .. })
    ));
    let mut rws = vec![0.0; reference_workspace_len(4, 4)];
    let o = TensorViewMut::matrix(&mut out[..8], 4, 2).unwrap();
    assert!(matches!(
        attention_reference(&spec, h, h, m(4, 2), o, &mut rws),
        Err(Error::NonFinite { .. })
    ));
    // Not a matrix.
    let cube = TensorView::new(&data[..8], Shape::new(&[2, 2, 2]).unwrap()).unwrap();
    assert!(matches!(
        run(&spec, cube, m(4, 2), m(4, 2), &mut out, 2, 2, &mut ws),
        Err(Error::WrongRank { .. })
    ));
    // Head views: head out of range, buffer of the wrong length.
    assert!(matches!(
        head_view(&data[..12], 2, 3, 2, 3),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        head_view(&data[..11], 2, 3, 2, 0),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        head_view_mut(&mut out[..12], 2, 0, 2, 0),
        Err(Error::InvalidParameter { .. })
    ));
    let shape = MultiHead {
        heads: 2,
        seq_q: 2,
        seq_k: 2,
        head_dim: 0,
        value_dim: 2,
    };
    let mut mws = vec![0.0; multi_head_workspace_len(&shape)];
    assert_eq!(
        multi_head_attention(
            Dispatch::PORTABLE,
            &spec,
            &shape,
            &data[..0],
            &data[..0],
            &data[..8],
            &mut out[..8],
            &mut mws
        ),
        Err(Error::Empty)
    );
}
