//! gemm against an f64 triple loop: every variant this CPU runs, the scalar reference and mixed
//! precision, on random shapes (0, 1, odd, across block edges), transposed operands via strided
//! views, α/β including 0, strided C; plus ndarray agreement and the error paths.
//!
//! Bound: each C element is a sum of k products, so with unit roundoff u = 2⁻²⁴ any summation
//! order satisfies |ĉ − c| ≤ (k + 2)·u·(|α|·Σₚ|aᵢₚ||bₚⱼ| + |β||c₀|) (Higham, Thm 3.5, plus
//! one rounding each for α, β and the final add).

mod common;

use common::{dispatches, U32};
use edgeml_core::kernels::gemm::{gemm, gemm_mixed, gemm_mixed_reference, gemm_reference};
use edgeml_core::scalar::BulkConvert;
use edgeml_core::{Error, Scalar, Shape, TensorView, TensorViewMut};
use half::{bf16, f16};
use proptest::prelude::*;

/// A product problem: A stored m×k (or k×m when transposed), B k×n (or n×k), C m×(n+pad).
#[derive(Debug, Clone)]
struct Problem {
    m: usize,
    k: usize,
    n: usize,
    a_transposed: bool,
    b_transposed: bool,
    pad: usize,
    alpha: f32,
    beta: f32,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

/// Row stride of C: `n + pad`, at least 1 (a mutable view needs non-zero strides).
fn c_stride(n: usize, pad: usize) -> usize {
    (n + pad).max(1)
}

fn problem(max: usize) -> impl Strategy<Value = Problem> {
    (
        0..=max,
        0..=max,
        0..=max,
        any::<bool>(),
        any::<bool>(),
        0usize..3,
        prop::sample::select(vec![0.0f32, 1.0, -0.5, 2.25]),
        prop::sample::select(vec![0.0f32, 1.0, -1.5]),
    )
        .prop_flat_map(|(m, k, n, at, bt, pad, alpha, beta)| {
            // A mutable view may not have a zero row stride: pad an empty row.
            let pad = if n == 0 { pad.max(1) } else { pad };
            (
                prop::collection::vec(-2.0f32..2.0, m * k),
                prop::collection::vec(-2.0f32..2.0, k * n),
                prop::collection::vec(-2.0f32..2.0, m * c_stride(n, pad)),
            )
                .prop_map(move |(a, b, c)| Problem {
                    m,
                    k,
                    n,
                    a_transposed: at,
                    b_transposed: bt,
                    pad,
                    alpha,
                    beta,
                    a,
                    b,
                    c,
                })
        })
}

impl Problem {
    fn a_at(&self, i: usize, p: usize) -> f32 {
        if self.a_transposed {
            self.a[p * self.m + i]
        } else {
            self.a[i * self.k + p]
        }
    }

    fn b_at(&self, p: usize, j: usize) -> f32 {
        if self.b_transposed {
            self.b[j * self.k + p]
        } else {
            self.b[p * self.n + j]
        }
    }

    fn view<'a, S>(data: &'a [S], rows: usize, cols: usize, transposed: bool) -> TensorView<'a, S> {
        if transposed {
            TensorView::matrix(data, cols, rows).unwrap().t().unwrap()
        } else {
            TensorView::matrix(data, rows, cols).unwrap()
        }
    }

    /// Runs `product` on this problem's operands stored as `S`, returning C.
    fn run<S: Scalar>(
        &self,
        product: impl Fn(
            f32,
            TensorView<'_, S>,
            TensorView<'_, S>,
            f32,
            TensorViewMut<'_, f32>,
        ) -> edgeml_core::Result<()>,
    ) -> Vec<f32> {
        let a: Vec<S> = self.a.iter().map(|&v| S::from_f32(v)).collect();
        let b: Vec<S> = self.b.iter().map(|&v| S::from_f32(v)).collect();
        let mut c = self.c.clone();
        let stride = c_stride(self.n, self.pad);
        let out = TensorViewMut::with_strides(
            &mut c,
            Shape::matrix(self.m, self.n).unwrap(),
            [stride, 1, 0, 0],
        )
        .unwrap();
        product(
            self.alpha,
            Self::view(&a, self.m, self.k, self.a_transposed),
            Self::view(&b, self.k, self.n, self.b_transposed),
            self.beta,
            out,
        )
        .unwrap();
        c
    }

    /// Checks C against the f64 product of the operands rounded to `S`; padding untouched.
    fn check<S: Scalar>(&self, c: &[f32], label: &str) -> Result<(), TestCaseError> {
        let round = |v: f32| S::from_f32(v).to_f32() as f64;
        let stride = c_stride(self.n, self.pad);
        for i in 0..self.m {
            for j in 0..stride {
                let got = c[i * stride + j];
                let c0 = self.c[i * stride + j];
                if j >= self.n {
                    prop_assert_eq!(got.to_bits(), c0.to_bits(), "{}: padding written", label);
                    continue;
                }
                let (mut exact, mut magnitude) = (0.0f64, 0.0f64);
                for p in 0..self.k {
                    let product = round(self.a_at(i, p)) * round(self.b_at(p, j));
                    exact += product;
                    magnitude += product.abs();
                }
                let alpha = self.alpha as f64;
                let beta_term = if self.beta == 0.0 {
                    0.0
                } else {
                    self.beta as f64 * c0 as f64
                };
                let expected = alpha * exact + beta_term;
                let bound =
                    (self.k + 2) as f64 * U32 * (alpha.abs() * magnitude + beta_term.abs()) + 1e-30;
                prop_assert!(
                    (got as f64 - expected).abs() <= bound,
                    "{}: C[{}][{}] = {} but f64 gives {} (bound {:e}) for {:?}",
                    label,
                    i,
                    j,
                    got,
                    expected,
                    bound,
                    (self.m, self.k, self.n, self.a_transposed, self.b_transposed)
                );
            }
        }
        Ok(())
    }
}

fn check_all_variants(p: &Problem) -> Result<(), TestCaseError> {
    p.check::<f32>(&p.run::<f32>(gemm_reference), "reference")?;
    for dispatch in dispatches() {
        let c = p.run::<f32>(|al, a, b, be, c| gemm(dispatch, al, a, b, be, c));
        p.check::<f32>(&c, dispatch.isa().name())?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn small_products_match_f64(p in problem(40)) {
        check_all_variants(&p)?;
    }

    #[test]
    fn mixed_precision_matches_f64_of_rounded_inputs(p in problem(40)) {
        p.check::<f16>(&p.run::<f16>(gemm_mixed_reference), "mixed-reference f16")?;
        p.check::<bf16>(&p.run::<bf16>(gemm_mixed_reference), "mixed-reference bf16")?;
        for dispatch in dispatches() {
            let c = p.run::<f16>(|al, a, b, be, c| gemm_mixed(dispatch, al, a, b, be, c));
            p.check::<f16>(&c, "mixed f16")?;
            let c = p.run::<bf16>(|al, a, b, be, c| gemm_mixed(dispatch, al, a, b, be, c));
            p.check::<bf16>(&c, "mixed bf16")?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Sizes that cross every block edge (MC = 96, KC = 256, NC = 256 on x86; 32/64/64 portable).
    #[test]
    fn products_across_block_edges_match_f64(p in problem(300)) {
        check_all_variants(&p)?;
    }
}

#[test]
fn agrees_with_ndarray() {
    use ndarray::Array2;
    for (m, k, n) in [(1, 1, 1), (17, 33, 9), (100, 257, 65), (300, 5, 290)] {
        let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 2) % 13) as f32 * 0.25);
        let expected = a.dot(&b);
        for dispatch in dispatches() {
            let mut c = vec![f32::NAN; m * n];
            gemm(
                dispatch,
                1.0,
                TensorView::matrix(a.as_slice().unwrap(), m, k).unwrap(),
                TensorView::matrix(b.as_slice().unwrap(), k, n).unwrap(),
                0.0,
                TensorViewMut::matrix(&mut c, m, n).unwrap(),
            )
            .unwrap();
            for (got, want) in c.iter().zip(expected.iter()) {
                // Small integers and quarters: every partial sum is exact in f32.
                assert_eq!(got, want, "{} at {m}×{k}×{n}", dispatch.isa().name());
            }
        }
    }
}

/// Mixed precision against ndarray's f32 `dot` of the inputs widened from `S`: small integers
/// and quarters are exact in f16 and bf16, and every partial sum is exact in f32.
fn mixed_agrees_with_ndarray<S: BulkConvert>() {
    use ndarray::Array2;
    for (m, k, n) in [(1, 1, 1), (13, 70, 40), (97, 300, 33)] {
        let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 2) % 13) as f32 * 0.25);
        let expected = a.dot(&b);
        let a_s: Vec<S> = a.iter().map(|&v| S::from_f32(v)).collect();
        let b_s: Vec<S> = b.iter().map(|&v| S::from_f32(v)).collect();
        for dispatch in dispatches() {
            let mut c = vec![f32::NAN; m * n];
            gemm_mixed(
                dispatch,
                1.0,
                TensorView::matrix(&a_s, m, k).unwrap(),
                TensorView::matrix(&b_s, k, n).unwrap(),
                0.0,
                TensorViewMut::matrix(&mut c, m, n).unwrap(),
            )
            .unwrap();
            for (got, want) in c.iter().zip(expected.iter()) {
                assert_eq!(
                    got,
                    want,
                    "{} {} at {m}×{k}×{n}",
                    S::NAME,
                    dispatch.isa().name()
                );
            }
        }
    }
}

#[test]
fn mixed_f16_agrees_with_ndarray() {
    mixed_agrees_with_ndarray::<f16>();
}

#[test]
fn mixed_bf16_agrees_with_ndarray() {
    mixed_agrees_with_ndarray::<bf16>();
}

#[test]
fn shape_errors_are_reported() {
    let data = [0.0f32; 24];
    let mut out = [0.0f32; 24];
    let a = TensorView::matrix(&data[..6], 2, 3).unwrap();
    let b_wrong = TensorView::matrix(&data[..8], 4, 2).unwrap();
    let cube = TensorView::new(&data[..8], Shape::new(&[2, 2, 2]).unwrap()).unwrap();
    for dispatch in dispatches() {
        let c = TensorViewMut::matrix(&mut out[..4], 2, 2).unwrap();
        assert_eq!(
            gemm(dispatch, 1.0, a, b_wrong, 0.0, c),
            Err(Error::ShapeMismatch {
                expected: 3,
                found: 4
            })
        );
        let c = TensorViewMut::matrix(&mut out[..4], 2, 2).unwrap();
        assert!(matches!(
            gemm(dispatch, 1.0, cube, b_wrong, 0.0, c),
            Err(Error::WrongRank { .. })
        ));
        let b = TensorView::matrix(&data[..6], 3, 2).unwrap();
        let c = TensorViewMut::matrix(&mut out[..6], 3, 2).unwrap();
        assert_eq!(
            gemm(dispatch, 1.0, a, b, 0.0, c),
            Err(Error::ShapeMismatch {
                expected: 2,
                found: 3
            })
        );
    }
    let c = TensorViewMut::matrix(&mut out[..4], 2, 2).unwrap();
    assert_eq!(
        gemm_reference(1.0, a, b_wrong, 0.0, c),
        Err(Error::ShapeMismatch {
            expected: 3,
            found: 4
        })
    );
    let c = TensorViewMut::matrix(&mut out[..4], 2, 2).unwrap();
    assert!(matches!(
        gemm_reference(1.0, a, cube, 0.0, c),
        Err(Error::WrongRank {
            expected: 2,
            found: 3
        })
    ));
    let half_data = [f16::ZERO; 8];
    let a16 = TensorView::matrix(&half_data[..6], 2, 3).unwrap();
    let b16 = TensorView::matrix(&half_data[..8], 4, 2).unwrap();
    let c = TensorViewMut::matrix(&mut out[..4], 2, 2).unwrap();
    assert_eq!(
        gemm_mixed_reference(1.0, a16, b16, 0.0, c),
        Err(Error::ShapeMismatch {
            expected: 3,
            found: 4
        })
    );
    for dispatch in dispatches() {
        let c = TensorViewMut::matrix(&mut out[..4], 2, 2).unwrap();
        assert_eq!(
            gemm_mixed(dispatch, 1.0, a16, b16, 0.0, c),
            Err(Error::ShapeMismatch {
                expected: 3,
                found: 4
            })
        );
    }
}
