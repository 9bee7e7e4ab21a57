//! Multi-head attention with learned projections (`ProjectedAttention`), self and cross:
//! forward against an independent f64 layer with masks, gradients of the inputs and of every
//! parameter against central finite differences of that f64 layer, self-attention as the
//! special case of cross-attention, and the error paths.

mod common;

use edgeml_core::attention::{AttentionSpec, ProjectedAttention, Sources};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::Error;
use proptest::prelude::*;

/// One layer problem: sizes, masks, and whether keys come from a separate memory.
#[derive(Debug, Clone)]
struct Case {
    d: usize,
    heads: usize,
    head_dim: usize,
    lq: usize,
    lk: usize,
    cross: bool,
    causal: bool,
    valid: Option<Vec<bool>>,
    seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        (1usize..=5, 1usize..=3, 1usize..=3),
        (1usize..=5, 1usize..=5, any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<u64>()),
    )
        .prop_flat_map(
            |((d, heads, head_dim), (lq, lk, cross), (causal, masked, seed))| {
                let lk = if cross { lk } else { lq };
                let valid = if masked {
                    prop::collection::vec(prop::bool::weighted(0.7), lk)
                        .prop_map(Some)
                        .boxed()
                } else {
                    Just(None).boxed()
                };
                valid.prop_map(move |valid| Case {
                    d,
                    heads,
                    head_dim,
                    lq,
                    lk,
                    cross,
                    causal,
                    valid,
                    seed,
                })
            },
        )
}

/// Parameters, queries, memory and upstream gradient of a case, all random.
struct Data {
    params: Vec<f32>,
    xq: Vec<f32>,
    xkv: Vec<f32>,
    g: Vec<f32>,
}

impl Case {
    fn layer(&self) -> ProjectedAttention {
        ProjectedAttention::new(self.d, self.heads, self.head_dim).unwrap()
    }

    fn spec(&self) -> AttentionSpec<'_> {
        let spec = AttentionSpec::new().causal(self.causal);
        match &self.valid {
            Some(valid) => spec.key_valid(valid),
            None => spec,
        }
    }

    fn data(&self) -> Data {
        let layer = self.layer();
        let mut rng = Rng::new(self.seed);
        let mut params = vec![0.0; layer.param_len()];
        layer.init(&mut params, &mut rng).unwrap();
        for p in params.iter_mut() {
            *p += rng.uniform(-0.2, 0.2);
        }
        let mut fill = |n: usize| (0..n).map(|_| rng.uniform(-1.5, 1.5)).collect::<Vec<f32>>();
        let xq = fill(self.lq * self.d);
        let xkv = if self.cross {
            fill(self.lk * self.d)
        } else {
            xq.clone()
        };
        let g = fill(self.lq * self.d);
        Data { params, xq, xkv, g }
    }

    fn sources<'a>(&self, data: &'a Data) -> Sources<'a> {
        if self.cross {
            Sources::Cross {
                queries: &data.xq,
                memory: &data.xkv,
            }
        } else {
            Sources::SelfAttention(&data.xq)
        }
    }

    /// Whether query i sees memory row j, written out from the masking rules.
    fn allows(&self, i: usize, j: usize) -> bool {
        (!self.causal || j <= i) && self.valid.as_ref().is_none_or(|v| v[j])
    }

    /// The layer in f64, written from its documentation (parameters W_q, W_k, W_v, W_o).
    fn forward64(&self, params: &[f64], xq: &[f64], xkv: &[f64]) -> Vec<f64> {
        let (d, hd) = (self.d, self.head_dim);
        let inner = self.heads * hd;
        let w = |n: usize| &params[n * d * inner..(n + 1) * d * inner];
        let (q, k, v) = (
            common::matmul64(xq, w(0), self.lq, d, inner),
            common::matmul64(xkv, w(1), self.lk, d, inner),
            common::matmul64(xkv, w(2), self.lk, d, inner),
        );
        let att = common::multi_head64((&q, &k, &v), (self.lq, self.lk, self.heads, hd), |i, j| {
            self.allows(i, j)
        });
        common::matmul64(&att, w(3), self.lq, inner, d)
    }
}

fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn forward_matches_f64(case in cases()) {
        let layer = case.layer();
        let data = case.data();
        let want = case.forward64(&widen(&data.params), &widen(&data.xq), &widen(&data.xkv));
        for dispatch in common::dispatches() {
            let mut out = vec![f32::NAN; data.xq.len()];
            let mut ws = vec![f32::NAN; layer.forward_workspace_len(case.lq, case.lk)];
            layer
                .forward(dispatch, &case.spec(), &data.params, case.sources(&data), &mut out, &mut ws)
                .unwrap();
            for (a, b) in out.iter().zip(&want) {
                prop_assert!((*a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs()), "{:?}: {} vs {}", dispatch, a, b);
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences(case in cases()) {
        let layer = case.layer();
        let data = case.data();
        let mut d_q = vec![f32::NAN; data.xq.len()];
        let mut d_m = vec![f32::NAN; if case.cross { data.xkv.len() } else { 0 }];
        let mut d_p = vec![f32::NAN; data.params.len()];
        let mut ws = vec![f32::NAN; layer.backward_workspace_len(case.lq, case.lk)];
        layer
            .backward(
                Dispatch::PORTABLE, &case.spec(), &data.params, case.sources(&data), &data.g,
                &mut d_q, &mut d_m, &mut d_p, &mut ws,
            )
            .unwrap();
        let loss = |p: &[f64], xq: &[f64], xkv: &[f64]| -> f64 {
            case.forward64(p, xq, xkv).iter().zip(&data.g).map(|(o, &g)| o * g as f64).sum()
        };
        let base = [widen(&data.params), widen(&data.xq), widen(&data.xkv)];
        let h = 1e-6;
        // Argument 0: parameters; 1: queries (and, for self-attention, the memory too, since
        // they are one sequence); 2: the memory of cross-attention.
        let fd = |which: usize, e: usize| -> f64 {
            let shifted = |step: f64| {
                let mut args = base.clone();
                args[which][e] += step;
                if which == 1 && !case.cross {
                    args[2][e] += step;
                }
                loss(&args[0], &args[1], &args[2])
            };
            (shifted(h) - shifted(-h)) / (2.0 * h)
        };
        let mut checks = vec![(0, "d_params", &d_p), (1, "d_queries", &d_q)];
        if case.cross {
            checks.push((2, "d_memory", &d_m));
        }
        for (which, name, got) in checks {
            for (e, &a) in got.iter().enumerate() {
                let b = fd(which, e);
                prop_assert!((a as f64 - b).abs() <= 1e-3 * (1.0 + b.abs()),
                    "{}[{}]: {} vs finite difference {}", name, e, a, b);
            }
        }
    }

    #[test]
    fn self_attention_is_cross_attention_on_itself(mut case in cases()) {
        case.cross = false;
        case.lk = case.lq;
        if case.valid.as_ref().is_some_and(|v| v.len() != case.lq) {
            case.valid = None;
        }
        let layer = case.layer();
        let data = case.data();
        let (lq, spec) = (case.lq, case.spec());
        let cross = Sources::Cross { queries: &data.xq, memory: &data.xq };
        let mut ws = vec![0.0; layer.backward_workspace_len(lq, lq)];
        let (mut out_self, mut out_cross) = (vec![0.0; data.xq.len()], vec![0.0; data.xq.len()]);
        let dispatch = Dispatch::PORTABLE;
        layer.forward(dispatch, &spec, &data.params, Sources::SelfAttention(&data.xq), &mut out_self, &mut ws).unwrap();
        layer.forward(dispatch, &spec, &data.params, cross, &mut out_cross, &mut ws).unwrap();
        prop_assert_eq!(&out_self, &out_cross);
        let n = data.xq.len();
        let (mut dq_self, mut dp_self) = (vec![0.0; n], vec![0.0; data.params.len()]);
        let (mut dq, mut dm, mut dp) = (vec![0.0; n], vec![0.0; n], vec![0.0; data.params.len()]);
        layer.backward(dispatch, &spec, &data.params, Sources::SelfAttention(&data.xq), &data.g,
            &mut dq_self, &mut [], &mut dp_self, &mut ws).unwrap();
        layer.backward(dispatch, &spec, &data.params, cross, &data.g, &mut dq, &mut dm, &mut dp, &mut ws).unwrap();
        prop_assert_eq!(&dp_self, &dp);
        for ((s, q), m) in dq_self.iter().zip(&dq).zip(&dm) {
            // The same three products summed in another order: f32 rounding of O(1) terms.
            let sum = q + m;
            prop_assert!((s - sum).abs() <= 1e-5 * (1.0 + s.abs()), "{} vs {}", s, sum);
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert_eq!(ProjectedAttention::new(0, 1, 1), Err(Error::Empty));
    assert_eq!(ProjectedAttention::new(2, 0, 1), Err(Error::Empty));
    assert_eq!(ProjectedAttention::new(2, 1, 0), Err(Error::Empty));
    assert_eq!(
        ProjectedAttention::new(usize::MAX, 2, 2),
        Err(Error::SizeOverflow)
    );
    let layer = ProjectedAttention::new(4, 2, 3).unwrap();
    let mut params = vec![0.1f32; layer.param_len()];
    let x = vec![0.5f32; 3 * 4];
    let spec = AttentionSpec::new();
    let mut out = vec![0.0; 12];
    let mut ws = vec![0.0; layer.backward_workspace_len(3, 3)];
    let d = Dispatch::PORTABLE;
    let run = |params: &[f32], x: &[f32], out: &mut [f32], ws: &mut [f32]| {
        layer.forward(d, &spec, params, Sources::SelfAttention(x), out, ws)
    };
    assert!(run(&params, &x, &mut out, &mut ws).is_ok());
    assert_eq!(run(&params, &[], &mut out, &mut ws), Err(Error::Empty));
    assert!(matches!(
        run(&params, &x[..11], &mut out, &mut ws),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(&params[1..], &x, &mut out, &mut ws),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(&params, &x, &mut out[1..], &mut ws),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(&params, &x, &mut out, &mut ws[..5]),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut bad_x = x.clone();
    bad_x[7] = f32::INFINITY;
    assert!(matches!(
        run(&params, &bad_x, &mut out, &mut ws),
        Err(Error::NonFinite { .. })
    ));
    params[3] = f32::NAN;
    assert!(matches!(
        run(&params, &x, &mut out, &mut ws),
        Err(Error::NonFinite { .. })
    ));
    params[3] = 0.1;
    let cross = Sources::Cross {
        queries: &x,
        memory: &x[..8],
    };
    let (mut dq, mut dm, mut dp) = (vec![0.0; 12], vec![0.0; 8], vec![0.0; params.len()]);
    let g = vec![1.0f32; 12];
    assert!(layer
        .backward(d, &spec, &params, cross, &g, &mut dq, &mut dm, &mut dp, &mut ws)
        .is_ok());
    assert!(matches!(
        layer.backward(
            d,
            &spec,
            &params,
            cross,
            &g,
            &mut dq,
            &mut dm[1..],
            &mut dp,
            &mut ws
        ),
        Err(Error::ShapeMismatch { .. })
    ));
    let self_sources = Sources::SelfAttention(&x);
    assert!(matches!(
        layer.backward(
            d,
            &spec,
            &params,
            self_sources,
            &g,
            &mut dq,
            &mut dm,
            &mut dp,
            &mut ws
        ),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut bad_g = g.clone();
    bad_g[0] = f32::NAN;
    assert!(matches!(
        layer.backward(
            d,
            &spec,
            &params,
            self_sources,
            &bad_g,
            &mut dq,
            &mut [],
            &mut dp,
            &mut ws
        ),
        Err(Error::NonFinite { .. })
    ));
    let valid = [false, true];
    let masked = AttentionSpec::new().key_valid(&valid);
    assert!(layer
        .forward(
            d,
            &masked,
            &params,
            Sources::SelfAttention(&x),
            &mut out,
            &mut ws
        )
        .is_err());
}
