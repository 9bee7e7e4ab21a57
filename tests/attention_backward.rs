//! Attention backward: dQ, dK, dV against central finite differences of an f64 forward pass
//! (loss = Σ out ⊙ G for a random G), with causal and padding masks, fully masked rows, f16 /
//! bf16 storage, multi-head over strided views, and the error paths.

mod attention_support;

use attention_support::{problem, Problem};
use edgeml_core::attention::{
    attention_backward, multi_head_attention_backward, AttentionSpec, MultiHead,
};
use edgeml_core::scalar::Scalar;
use edgeml_core::{Error, TensorView, TensorViewMut};
use half::{bf16, f16};
use proptest::prelude::*;

/// The core's gradients for upstream gradient `g`, inputs stored as `S`.
fn gradients<S: Scalar>(p: &Problem, g: &[f32]) -> [Vec<f32>; 3] {
    let narrow = |x: &[f32]| x.iter().map(|&v| S::from_f32(v)).collect::<Vec<S>>();
    let (q, k, v) = (narrow(&p.q), narrow(&p.k), narrow(&p.v));
    let mut dq = vec![f32::NAN; q.len()];
    let mut dk = vec![f32::NAN; k.len()];
    let mut dv = vec![f32::NAN; v.len()];
    attention_backward(
        &p.spec(),
        TensorView::matrix(&q, p.lq, p.dk).unwrap(),
        TensorView::matrix(&k, p.lk, p.dk).unwrap(),
        TensorView::matrix(&v, p.lk, p.dv).unwrap(),
        TensorView::matrix(g, p.lq, p.dv).unwrap(),
        TensorViewMut::matrix(&mut dq, p.lq, p.dk).unwrap(),
        TensorViewMut::matrix(&mut dk, p.lk, p.dk).unwrap(),
        TensorViewMut::matrix(&mut dv, p.lk, p.dv).unwrap(),
    )
    .unwrap();
    [dq, dk, dv]
}

/// Central differences of Σ forward64 ⊙ g in f64, for each of Q, K, V (inputs rounded to `S`).
fn finite_differences<S: Scalar>(p: &Problem, g: &[f32]) -> [Vec<f64>; 3] {
    let round = |x: &[f32]| {
        x.iter()
            .map(|&v| S::from_f32(v).to_f32() as f64)
            .collect::<Vec<f64>>()
    };
    let inputs = [round(&p.q), round(&p.k), round(&p.v)];
    let loss = |x: &[Vec<f64>; 3]| -> f64 {
        p.forward64(&x[0], &x[1], &x[2])
            .iter()
            .zip(g)
            .map(|(o, &g)| o * g as f64)
            .sum()
    };
    let h = 1e-6;
    let mut grads: [Vec<f64>; 3] = Default::default();
    for (which, grad) in grads.iter_mut().enumerate() {
        for e in 0..inputs[which].len() {
            let mut plus = inputs.clone();
            plus[which][e] += h;
            let mut minus = inputs.clone();
            minus[which][e] -= h;
            grad.push((loss(&plus) - loss(&minus)) / (2.0 * h));
        }
    }
    grads
}

fn check_gradients<S: Scalar>(p: &Problem, g: &[f32]) -> Result<(), TestCaseError> {
    let got = gradients::<S>(p, g);
    let want = finite_differences::<S>(p, g);
    let names = ["dQ", "dK", "dV"];
    let scale = want.iter().flatten().fold(1.0f64, |m, &x| m.max(x.abs()));
    let tol = 1e-4 * scale * (1.0 + (p.lk.max(p.dk).max(p.dv) as f64).sqrt());
    for ((got, want), name) in got.iter().zip(&want).zip(names) {
        for (e, (&a, &b)) in got.iter().zip(want).enumerate() {
            prop_assert!(
                (a as f64 - b).abs() <= tol,
                "{} {}[{}] = {}, finite difference {}, tolerance {}",
                core::any::type_name::<S>(),
                name,
                e,
                a,
                b,
                tol
            );
        }
    }
    Ok(())
}

fn upstream(len: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gradients_match_finite_differences(
        (p, g) in problem(12, 6).prop_flat_map(|p| { let n = p.lq * p.dv; (Just(p), upstream(n)) })
    ) {
        check_gradients::<f32>(&p, &g)?;
    }

    #[test]
    fn half_storage_gradients_match_finite_differences(
        (p, g) in problem(8, 4).prop_flat_map(|p| { let n = p.lq * p.dv; (Just(p), upstream(n)) })
    ) {
        check_gradients::<f16>(&p, &g)?;
        check_gradients::<bf16>(&p, &g)?;
    }

    #[test]
    fn fully_masked_queries_contribute_nothing(
        (p, g) in problem(12, 6).prop_flat_map(|p| { let n = p.lq * p.dv; (Just(p), upstream(n)) })
    ) {
        // Every key invalid: all outputs are zero, so every gradient is zero.
        let p = Problem { valid: Some(vec![false; p.lk]), ..p };
        for grad in gradients::<f32>(&p, &g) {
            prop_assert!(grad.iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn multi_head_backward_equals_per_head_backward(
        heads in 1usize..=4,
        lq in 1usize..=10,
        lk in 1usize..=10,
        dk in 1usize..=6,
        dv in 1usize..=6,
        causal in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut rng = edgeml_core::rng::Rng::new(seed);
        let mut fill = |n: usize| (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect::<Vec<f32>>();
        let (q, k, v, g) = (
            fill(lq * heads * dk), fill(lk * heads * dk), fill(lk * heads * dv), fill(lq * heads * dv),
        );
        let shape = MultiHead { heads, seq_q: lq, seq_k: lk, head_dim: dk, value_dim: dv };
        let spec = AttentionSpec::new().causal(causal);
        let (mut dq, mut dk_, mut dv_) =
            (vec![f32::NAN; q.len()], vec![f32::NAN; k.len()], vec![f32::NAN; v.len()]);
        multi_head_attention_backward(&spec, &shape, (&q, &k, &v), &g, &mut dq, &mut dk_, &mut dv_)
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
            let [sq, sk, sv] = gradients::<f32>(&single, &columns(&g, lq, dv, h));
            prop_assert_eq!(columns(&dq, lq, dk, h), sq);
            prop_assert_eq!(columns(&dk_, lk, dk, h), sk);
            prop_assert_eq!(columns(&dv_, lk, dv, h), sv);
        }
    }
}

#[test]
fn errors_are_reported_not_panics() {
    let data = [0.5f32; 16];
    let m = |rows, cols| TensorView::matrix(&data[..rows * cols], rows, cols).unwrap();
    let (mut a, mut b, mut c) = ([0.0f32; 16], [0.0f32; 16], [0.0f32; 16]);
    let spec = AttentionSpec::new();
    let mut run = |q: TensorView<'_, f32>, g: TensorView<'_, f32>, dq_rows: usize| {
        attention_backward(
            &spec,
            q,
            m(3, 2),
            m(3, 2),
            g,
            TensorViewMut::matrix(&mut a[..dq_rows * 2], dq_rows, 2).unwrap(),
            TensorViewMut::matrix(&mut b[..6], 3, 2).unwrap(),
            TensorViewMut::matrix(&mut c[..6], 3, 2).unwrap(),
        )
    };
    assert_eq!(run(m(2, 2), m(2, 2), 2), Ok(()));
    assert!(matches!(
        run(m(2, 2), m(2, 2), 3),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(m(2, 2), m(2, 3), 2),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(run(m(0, 2), m(0, 2), 0), Err(Error::Empty));
    let mut bad = [0.5f32; 4];
    bad[3] = f32::INFINITY;
    assert_eq!(
        run(m(2, 2), TensorView::matrix(&bad, 2, 2).unwrap(), 2),
        Err(Error::NonFinite { index: 3 })
    );
    let shape = MultiHead {
        heads: 2,
        seq_q: 1,
        seq_k: 1,
        head_dim: 1,
        value_dim: 1,
    };
    let (mut x, mut y, mut z) = ([0.0f32; 2], [0.0f32; 2], [0.0f32; 2]);
    assert!(matches!(
        multi_head_attention_backward(
            &spec,
            &shape,
            (&data[..2], &data[..2], &data[..2]),
            &data[..3],
            &mut x,
            &mut y,
            &mut z
        ),
        Err(Error::ShapeMismatch { .. })
    ));
}
