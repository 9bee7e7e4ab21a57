//! Squared-L2 distances (pairwise and row-wise) against f64 and between the two forms.

mod common;

use common::U32;
use edgeml_core::kernels::distance::{
    squared_l2, squared_l2_reference, squared_l2_rows, squared_l2_rows_reference,
};
use edgeml_core::{Error, TensorView, TensorViewMut};
use proptest::prelude::*;

fn distance64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn rows_match_f64(m in 0usize..6, n in 0usize..30, d in 0usize..70, seed in any::<u64>()) {
        let mut rng = edgeml_core::rng::Rng::new(seed);
        let q: Vec<f32> = (0..m * d).map(|_| rng.uniform(-10.0, 10.0)).collect();
        let p: Vec<f32> = (0..n * d).map(|_| rng.uniform(-10.0, 10.0)).collect();
        let mut fast = vec![0.0f32; m * n];
        let mut reference = vec![0.0f32; m * n];
        let views = || (TensorView::matrix(&q, m, d).unwrap(), TensorView::matrix(&p, n, d).unwrap());
        let (qv, pv) = views();
        squared_l2_rows(qv, pv, TensorViewMut::matrix(&mut fast, m, n).unwrap()).unwrap();
        let (qv, pv) = views();
        squared_l2_rows_reference(qv, pv, TensorViewMut::matrix(&mut reference, m, n).unwrap()).unwrap();
        for i in 0..m {
            for j in 0..n {
                let (a, b) = (&q[i * d..(i + 1) * d], &p[j * d..(j + 1) * d]);
                let exact = distance64(a, b);
                // each term rounds twice (difference, square) and the sum adds d roundings
                let bound = (d as f64 + 3.0) * U32 * exact + 1e-30;
                prop_assert!((fast[i * n + j] as f64 - exact).abs() <= bound);
                prop_assert!((reference[i * n + j] as f64 - exact).abs() <= bound);
                prop_assert_eq!(squared_l2(a, b).unwrap(), fast[i * n + j]);
                prop_assert!((squared_l2_reference(a, b).unwrap() as f64 - exact).abs() <= bound);
            }
        }
    }
}

#[test]
fn shape_errors() {
    let data = [0.0f32; 12];
    let mut out = [0.0f32; 4];
    let q = TensorView::matrix(&data[..6], 2, 3).unwrap();
    let p = TensorView::matrix(&data[..8], 2, 4).unwrap();
    assert_eq!(
        squared_l2_rows(q, p, TensorViewMut::matrix(&mut out, 2, 2).unwrap()),
        Err(Error::ShapeMismatch {
            expected: 3,
            found: 4
        })
    );
    let p = TensorView::matrix(&data[..9], 3, 3).unwrap();
    assert!(squared_l2_rows(q, p, TensorViewMut::matrix(&mut out, 2, 2).unwrap()).is_err());
    assert_eq!(
        squared_l2(&[1.0], &[]),
        Err(Error::ShapeMismatch {
            expected: 1,
            found: 0
        })
    );
}
