//! The core at the extremes of its input domain: stride layouts whose index arithmetic would
//! overflow `usize`, overlapping mutable strides (checked against brute-force enumeration of
//! every offset), gemm over huge row strides (against an f64 triple loop), softmax and
//! log-softmax at ±1e38 and in the subnormal range (against f64), and inference paths whose
//! finite inputs overflow to non-finite outputs. Runs with overflow checks on (`cargo test`).

mod common;

use common::dispatches;
use edgeml_core::kernels::gemm::{gemm, gemm_reference};
use edgeml_core::kernels::softmax::{
    log_softmax, log_softmax_reference, softmax, softmax_reference,
};
use edgeml_core::nn::{Activation, Mlp, Topology};
use edgeml_core::tree::{Model, ModelKind, Node};
use edgeml_core::{Error, Shape, TensorView, TensorViewMut};
use proptest::prelude::*;
use std::collections::HashSet;

#[test]
fn empty_shapes_with_overflowing_strides_are_refused() {
    // Row-major strides of [0, MAX, 2] would be [2·MAX, 2, 1].
    assert_eq!(Shape::new(&[0, usize::MAX, 2]), Err(Error::SizeOverflow));
    assert_eq!(Shape::new(&[3, 0, usize::MAX]), Err(Error::SizeOverflow));
    // Still fine: every row-major stride fits.
    let shape = Shape::new(&[0, usize::MAX]).unwrap();
    assert!(shape.is_empty());
    assert_eq!(shape.row_major_strides()[..2], [usize::MAX, 1]);
    let shape = Shape::new(&[usize::MAX, 0]).unwrap();
    assert_eq!(shape.row_major_strides()[..2], [1, 1]);
}

#[test]
fn huge_strides_over_empty_buffers_are_refused() {
    let empty: [f32; 0] = [];
    let rows_no_cols = Shape::matrix(3, 0).unwrap();
    assert_eq!(
        TensorView::with_strides(&empty, rows_no_cols, [usize::MAX, 1, 0, 0]).map(|_| ()),
        Err(Error::SizeOverflow)
    );
    let mut none: [f32; 0] = [];
    assert_eq!(
        TensorViewMut::with_strides(&mut none, rows_no_cols, [usize::MAX, 1, 0, 0]).map(|_| ()),
        Err(Error::SizeOverflow)
    );
    // No dimension is stepped along: any stride is harmless, and rows are simply absent.
    let nothing = Shape::matrix(0, 0).unwrap();
    let view = TensorView::with_strides(&empty, nothing, [usize::MAX, usize::MAX, 0, 0]).unwrap();
    assert!(view.row(0).is_err());
    // A legal layout of empty rows: each row() is an empty slice or an error, never a panic.
    let view = TensorView::with_strides(&empty, rows_no_cols, [usize::MAX / 4, 1, 0, 0]).unwrap();
    for i in 0..4 {
        let _ = view.row(i);
    }
}

#[test]
fn overlapping_mutable_strides_are_refused_whatever_the_shape() {
    let mut buffer = [0.0f32; 64];
    for dims in [[2usize, 2], [0, 2], [2, 0]] {
        let shape = Shape::new(&[dims[0], 2, dims[1]]).unwrap();
        assert!(
            matches!(
                TensorViewMut::with_strides(&mut buffer, shape, [1, 1, 1, 0]),
                Err(Error::InvalidParameter { .. })
            ),
            "{dims:?}"
        );
    }
    let square = Shape::matrix(2, 2).unwrap();
    assert!(TensorViewMut::with_strides(&mut buffer, square, [1, 1, 0, 0]).is_err());
    // 3×3 with strides (2, 1): element (0, 2) and (1, 0) share offset 2.
    let three = Shape::matrix(3, 3).unwrap();
    assert!(TensorViewMut::with_strides(&mut buffer, three, [2, 1, 0, 0]).is_err());
    // Transposed and padded layouts are fine.
    assert!(TensorViewMut::with_strides(&mut buffer, three, [1, 3, 0, 0]).is_ok());
    assert!(TensorViewMut::with_strides(&mut buffer, three, [5, 1, 0, 0]).is_ok());
}

/// Every offset a layout reaches, enumerated by brute force in u128 (no overflow possible).
fn offsets(dims: &[usize], strides: &[usize]) -> Vec<u128> {
    let mut all = vec![0u128];
    for (&d, &s) in dims.iter().zip(strides) {
        all = all
            .iter()
            .flat_map(|&base| (0..d).map(move |i| base + i as u128 * s as u128))
            .collect();
    }
    all
}

fn stride() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..8,
        1 => Just(usize::MAX),
        1 => (usize::MAX / 4)..usize::MAX,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Accepted layouts keep every reachable offset in the buffer; mutable views are accepted
    /// only when no two indices share an element (brute force), even with the zero dimensions
    /// of an empty shape taken as one.
    #[test]
    fn layouts_agree_with_brute_force(
        dims in prop::collection::vec(prop_oneof![0usize..4, Just(usize::MAX)], 1..4),
        strides in prop::collection::vec(stride(), 3),
        len in 0usize..40,
    ) {
        let Ok(shape) = Shape::new(&dims) else {
            let nonzero: u128 = dims.iter().map(|&d| d.max(1) as u128).try_fold(1u128, |a, d| a.checked_mul(d)).unwrap_or(u128::MAX);
            prop_assert!(nonzero > usize::MAX as u128);
            return Ok(());
        };
        let mut full = [0usize; 4];
        full[..dims.len()].copy_from_slice(&strides[..dims.len()]);
        let data = vec![0u8; len];
        let small = dims.iter().all(|&d| d < 4);
        match TensorView::with_strides(&data, shape, full) {
            Ok(_) if small => {
                for offset in offsets(&dims, &strides) {
                    prop_assert!(offset < len as u128);
                }
            }
            Ok(_) => prop_assert!(shape.is_empty() || len > 0),
            Err(_) => {}
        }
        let mut data = vec![0u8; len];
        if let (Ok(_), true) = (TensorViewMut::with_strides(&mut data, shape, full), small) {
            let all = offsets(&dims, &strides);
            let distinct: HashSet<u128> = all.iter().copied().collect();
            prop_assert_eq!(distinct.len(), all.len(), "overlap accepted: {:?} {:?}", dims, strides);
            // Whatever the shape: with its zero dimensions at one, the layout is still disjoint.
            let nonempty: Vec<usize> = dims.iter().map(|&d| d.max(1)).collect();
            let all = offsets(&nonempty, &strides);
            let distinct: HashSet<u128> = all.iter().copied().collect();
            prop_assert_eq!(distinct.len(), all.len());
        }
    }
}

/// C = A·B in f64 for operands with arbitrary strides.
fn product64(
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    (m, k, n): (usize, usize, usize),
) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k)
                .map(|p| f64::from(a.0[i * a.1 + p * a.2]) * f64::from(b.0[p * b.1 + j * b.2]))
                .sum();
        }
    }
    c
}

#[test]
fn gemm_with_huge_row_strides_does_not_overflow() {
    // One row of A, one column of C: row strides near usize::MAX are legal (row 1 is never
    // reached), but packing pads A to a whole micro-panel of rows.
    let a: Vec<f32> = (1..=19).map(|v| v as f32 * 0.5).collect();
    let b: Vec<f32> = (0..19 * 5).map(|v| (v % 7) as f32 - 3.0).collect();
    let k = a.len();
    let want = product64((&a, 0, 1), (&b, 5, 1), (1, k, 5));
    for huge in [usize::MAX, usize::MAX - 1, usize::MAX / 2 + 3] {
        let a_view =
            TensorView::with_strides(&a, Shape::matrix(1, k).unwrap(), [huge, 1, 0, 0]).unwrap();
        let b_view = TensorView::matrix(&b, k, 5).unwrap();
        for dispatch in dispatches() {
            let mut c = [f32::NAN; 5];
            let c_view =
                TensorViewMut::with_strides(&mut c, Shape::matrix(1, 5).unwrap(), [huge, 1, 0, 0])
                    .unwrap();
            gemm(dispatch, 1.0, a_view, b_view, 0.0, c_view).unwrap();
            for (got, want) in c.iter().zip(&want) {
                assert_eq!(
                    f64::from(*got),
                    *want,
                    "{dispatch:?}: small integers are exact"
                );
            }
        }
        let mut c = [f32::NAN; 5];
        let c_view = TensorViewMut::matrix(&mut c, 1, 5).unwrap();
        gemm_reference(1.0, a_view, b_view, 0.0, c_view).unwrap();
        assert_eq!(c.map(f64::from).to_vec(), want);
    }
    // A column of B through a transposed, hugely strided A (k×1 viewed as 1×k by t()).
    let a_t = TensorView::with_strides(&a, Shape::matrix(k, 1).unwrap(), [1, usize::MAX, 0, 0])
        .unwrap()
        .t()
        .unwrap();
    for dispatch in dispatches() {
        let mut c = [0.0f32; 5];
        gemm(
            dispatch,
            1.0,
            a_t,
            TensorView::matrix(&b, k, 5).unwrap(),
            0.0,
            TensorViewMut::matrix(&mut c, 1, 5).unwrap(),
        )
        .unwrap();
        assert_eq!(c.map(f64::from).to_vec(), want);
    }
}

#[test]
fn log_softmax_is_exact_for_huge_logits() {
    let ln2 = -core::f32::consts::LN_2;
    for big in [1e7f32, 1e8, 3e38, -3e38, f32::MAX, f32::MIN] {
        for kernel in [log_softmax, log_softmax_reference] {
            let mut out = [0.0f32; 2];
            kernel(&[big, big], &mut out).unwrap();
            assert_eq!(out, [ln2, ln2], "log_softmax([{big}, {big}])");
        }
    }
    // One dominant logit: log p = −ln(1 + e^{−d}) for the winner, −d − ln(1 + e^{−d}) else.
    for (big, d) in [(1e7f32, 1.0f32), (1e8, 8.0), (3e38, 2e32)] {
        let x = [big, big - d];
        let d64 = f64::from(big) - f64::from(big - d);
        let winner = -(1.0 + (-d64).exp()).ln();
        for kernel in [log_softmax, log_softmax_reference] {
            let mut out = [0.0f32; 2];
            kernel(&x, &mut out).unwrap();
            assert!((f64::from(out[0]) - winner).abs() <= 4.0 * f64::from(f32::EPSILON));
            let loser = -d64 + winner;
            assert!(
                (f64::from(out[1]) - loser).abs() <= 4.0 * f64::from(f32::EPSILON) * loser.abs()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any finite logits, however far from zero: log-probabilities within a few ulps of f64
    /// (relative to the logit gap, which the input itself carries at f32 precision).
    #[test]
    fn log_softmax_matches_f64_anywhere(
        offset in prop_oneof![-3e38f32..3e38, -1e9f32..1e9],
        deltas in prop::collection::vec(-30.0f32..0.0, 1..40),
    ) {
        let x: Vec<f32> = deltas.iter().map(|d| offset + d).collect();
        let max = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let sum: f64 = x.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        for kernel in [log_softmax, log_softmax_reference] {
            let mut out = vec![0.0f32; x.len()];
            kernel(&x, &mut out).unwrap();
            for (&got, &v) in out.iter().zip(&x) {
                let want = (f64::from(v) - max) - sum.ln();
                let slack = 8.0 * f64::from(f32::EPSILON) * (want.abs() + 1.0);
                prop_assert!((f64::from(got) - want).abs() <= slack, "{} vs {}", got, want);
            }
        }
    }

    /// Probabilities in f32's subnormal range are kept, within one subnormal step of f64.
    #[test]
    fn softmax_keeps_subnormal_probabilities(gaps in prop::collection::vec(85.0f32..106.0, 1..20)) {
        let mut x = vec![0.0f32];
        x.extend(gaps.iter().map(|g| -g));
        let sum: f64 = x.iter().map(|&v| f64::from(v).exp()).sum();
        let tiny = f64::from(f32::from_bits(1));
        for kernel in [softmax, softmax_reference] {
            let mut out = vec![0.0f32; x.len()];
            kernel(&x, &mut out).unwrap();
            for (&got, &v) in out.iter().zip(&x).skip(1) {
                let want = f64::from(v).exp() / sum;
                // Relative 4u where normal; one subnormal step (plus a rounding) where not.
                let slack = 4.0 * f64::from(f32::EPSILON) * want + 1.5 * tiny;
                prop_assert!((f64::from(got) - want).abs() <= slack, "p({}) = {} vs {}", v, got, want);
            }
        }
    }
}

#[test]
fn a_subnormal_probability_is_not_flushed() {
    let x = [0.0f32, -95.0];
    let want = (-95.0f64).exp() / (1.0 + (-95.0f64).exp());
    assert!(want < f64::from(f32::MIN_POSITIVE));
    let mut out = [0.0f32; 2];
    softmax(&x, &mut out).unwrap();
    assert!(out[1] > 0.0);
    assert!((f64::from(out[1]) - want).abs() <= f64::from(f32::from_bits(1)));
}

#[test]
fn mlp_reports_finite_inputs_that_overflow() {
    let topology =
        Topology::new(&[2, 2, 1], &[Activation::Identity, Activation::Identity]).unwrap();
    let mut buffer = vec![0.0f32; topology.model_len()];
    let mut mlp = Mlp::new(topology, &mut buffer).unwrap();
    // First-layer weights 1e30, second-layer weights 1, biases 0: output = 2·(2·1e30·x),
    // 4 for x = 1e-30 and beyond f32 for x = 1e20.
    let params = mlp.params_mut();
    params[0..4].fill(1e30);
    params[6..8].fill(1.0);
    let mut scratch = vec![0.0f32; 64];
    let mut out = [0.0f32; 1];
    let dispatch = dispatches()[0];
    mlp.forward(dispatch, &[1e-30, 1e-30], &mut scratch, &mut out)
        .unwrap();
    // 2·(2·1e30·1e-30) = 4 (f64 reference), to a few ulps.
    assert!((f64::from(out[0]) - 4.0).abs() <= 1e-5);
    assert_eq!(
        mlp.forward(dispatch, &[1e20, 1e20], &mut scratch, &mut out),
        Err(Error::NonFinite { index: 0 })
    );
}

#[test]
fn forest_vote_leaves_must_be_class_indices() {
    let roots = [0u32];
    for bad in [-3.0f32, 1e30, 1.5, 3.0, -0.5] {
        let nodes = [
            Node::split(0, 0.5, 1, false),
            Node::leaf(0.0),
            Node::leaf(bad),
        ];
        assert!(
            matches!(
                Model::new(ModelKind::ForestVote, 1, 3, &nodes, &roots, &[]),
                Err(Error::Corrupt { .. })
            ),
            "leaf {bad} accepted"
        );
    }
    let nodes = [
        Node::split(0, 0.5, 1, false),
        Node::leaf(0.0),
        Node::leaf(2.0),
    ];
    let model = Model::new(ModelKind::ForestVote, 1, 3, &nodes, &roots, &[]).unwrap();
    assert_eq!(model.predict(&[0.0]).unwrap(), 0.0);
    assert_eq!(model.predict(&[1.0]).unwrap(), 2.0);
}

#[test]
fn boosted_sums_that_overflow_are_errors() {
    let nodes = [Node::leaf(3e38), Node::leaf(3e38)];
    let roots = [0u32, 1];
    let model = Model::new(ModelKind::Regression, 1, 1, &nodes, &roots, &[0.0]).unwrap();
    assert_eq!(model.predict(&[0.0]), Err(Error::NonFinite { index: 0 }));
    // Large leaves that cancel are fine: the sum is taken in f64.
    let nodes = [Node::leaf(3e38), Node::leaf(-2.5e38)];
    let model = Model::new(ModelKind::Regression, 1, 1, &nodes, &roots, &[1e37]).unwrap();
    let want = (1e37f32 as f64 + 3e38f32 as f64 + -2.5e38f32 as f64) as f32;
    assert_eq!(model.predict(&[0.0]), Ok(want));
}
