//! CPU≡GPU checks for the edgeml-gpu model kernels: batch tree-ensemble inference and streaming
//! attention forward. Each trial is a proptest run (fresh random seeds on every run) inside a
//! libtest-mimic harness, so without an adapter every trial is reported as ignored, not passed.
//!
//! Tolerances (u = 2⁻²⁴, ε = 2u, tiny = 2⁻¹²⁶ for flushed subnormals):
//! - Tree scores: the GPU adds an output's n terms (base, then its trees in order) in f32, so
//!   |s − s₆₄| ≤ γₙ₋₁·Σ|terms| + n·tiny with γₙ₋₁ = (n−1)u/(1−(n−1)u) (Higham); the core rounds
//!   its f64 sum once, adding u·|s₆₄|. A forest mean divides by the tree count (WGSL: 2.5 ulp ≤
//!   5u relative). Vote counts are exact, so vote fractions only carry the division's 5u.
//!   s₆₄ is summed from an independent recursive walk of each tree.
//! - P(class 1) of a binary model: the logistic has slope ≤ ¼, and WGSL's exp is within
//!   (3 + 2|s|) ulp, which the division and addition carry at most 1:1; so
//!   |p − p₆₄| ≤ ¼·tol(s) + (8 + 4|s|)·ε·p + ε.
//! - Classes: the GPU's class equals the core's unless the core's best score is within twice
//!   the score tolerance of another (a tie the rounding can break either way); then it must be
//!   one of those near-ties. Forest votes are exact: always identical.
//! - Attention: the bound of tests/attention_support (`Problem::tolerance`, derived there from
//!   the score and sum roundings) against f64, and twice it against the core's `attention`.

use edgeml_core::attention::{attention, streaming_workspace_len};
use edgeml_core::kernels::Dispatch;
use edgeml_core::tree::{
    BoostParams, ForestParams, ForestTask, Growth, Impurity, Loss, ModelKind, TreeParams,
};
use edgeml_core::{Error, TensorView};
use edgeml_gpu::{AttentionMask, AttentionShape, Gpu, GpuError};
use libtest_mimic::Failed;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

mod attention_support;
mod common;
mod gpu_support;
mod tree_support;

use attention_support::{problem_in, Problem};
use common::U32;
use gpu_support::Body;
use tree_support::{boost, forest, walk, Binned, Owned};

const EPS: f64 = f32::EPSILON as f64;
const TINY: f64 = f32::MIN_POSITIVE as f64;

/// Runs `test` on `cases` values of `strategy` with proptest's default (random) seeding.
fn run_prop<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> Result<(), Failed> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, test)
        .map_err(|e| e.to_string().into())
}

/// What kind of model a tree case trains.
#[derive(Clone, Copy, Debug)]
enum Trained {
    Squared,
    Logistic,
    Softmax(usize),
    ForestMean,
    ForestVote(usize),
}

/// A training feature value: mostly uniform in [-3, 3], sometimes missing or a signed zero
/// (the core's binning rejects infinities).
fn train_feature() -> impl Strategy<Value = f32> {
    prop_oneof![
        16 => -3.0f32..3.0,
        2 => Just(f32::NAN),
        1 => Just(-0.0f32),
        1 => Just(0.0f32),
    ]
}

/// A feature value to score: a training value or an infinity.
fn feature() -> impl Strategy<Value = f32> {
    prop_oneof![
        20 => train_feature(),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
    ]
}

/// One tree case: training data (n × d), what to train, its size, and the batch to score.
#[derive(Clone, Debug)]
struct TreeCase {
    n: usize,
    d: usize,
    train: Vec<f32>,
    labels: Vec<u32>,
    trained: Trained,
    rounds: usize,
    depth: usize,
    seed: u64,
    batch_rows: usize,
    batch: Vec<f32>,
    /// Batch entries replaced by a split threshold of the model (to hit `x == threshold`).
    at_threshold: Vec<(usize, usize)>,
}

fn tree_case() -> impl Strategy<Value = TreeCase> {
    let trained = prop_oneof![
        Just(Trained::Squared),
        Just(Trained::Logistic),
        (2usize..=5).prop_map(Trained::Softmax),
        Just(Trained::ForestMean),
        (1usize..=4).prop_map(Trained::ForestVote),
    ];
    (
        20usize..=120,
        1usize..=5,
        trained,
        1usize..=6,
        1usize..=4,
        0usize..=300,
    )
        .prop_flat_map(|(n, d, trained, rounds, depth, batch_rows)| {
            let classes = match trained {
                Trained::Softmax(c) | Trained::ForestVote(c) => c as u32,
                _ => 2,
            };
            (
                Just((n, d, trained, rounds, depth, batch_rows)),
                prop::collection::vec(train_feature(), n * d),
                prop::collection::vec(0..classes, n),
                any::<u64>(),
                prop::collection::vec(feature(), batch_rows * d),
                prop::collection::vec((0..batch_rows.max(1), 0..usize::MAX), 0..=20),
            )
        })
        .prop_map(
            |((n, d, trained, rounds, depth, batch_rows), train, labels, seed, batch, at)| {
                TreeCase {
                    n,
                    d,
                    train,
                    labels,
                    trained,
                    rounds,
                    depth,
                    seed,
                    batch_rows,
                    batch,
                    at_threshold: at,
                }
            },
        )
}

impl TreeCase {
    /// Trains the case's model with the core.
    fn model(&self) -> Owned {
        let binned = Binned::new(&self.train, self.n, self.d, 16).unwrap();
        let tree = TreeParams {
            max_depth: self.depth,
            max_leaves: 1 << self.depth,
            growth: Growth::DepthWise,
            ..TreeParams::default()
        };
        let capacity = |trees: usize| trees * (2 << self.depth);
        let boosted = |loss: Loss, targets: &[f32], trees: usize| {
            let params = BoostParams {
                loss,
                n_rounds: self.rounds,
                learning_rate: 0.3,
                lambda: 1.0,
                tree,
                row_subsample: 1.0,
                start_from_prior: true,
            };
            boost(&binned, targets, &params, self.seed, capacity(trees)).unwrap()
        };
        let as_f32: Vec<f32> = self.labels.iter().map(|&l| l as f32).collect();
        let forest_params = ForestParams {
            n_trees: self.rounds * 3,
            tree,
            bootstrap: true,
        };
        match self.trained {
            Trained::Squared => {
                let y: Vec<f32> = (0..self.n)
                    .map(|i| {
                        let x0 = self.train[i * self.d];
                        as_f32[i] + if x0.is_nan() { 0.5 } else { x0 }
                    })
                    .collect();
                boosted(Loss::Squared, &y, self.rounds)
            }
            Trained::Logistic => boosted(Loss::Logistic, &as_f32, self.rounds),
            Trained::Softmax(c) => {
                boosted(Loss::Softmax { n_classes: c }, &as_f32, self.rounds * c)
            }
            Trained::ForestMean => forest(
                &binned,
                ForestTask::Regress { targets: &as_f32 },
                &forest_params,
                self.seed,
                capacity(forest_params.n_trees),
            )
            .unwrap(),
            Trained::ForestVote(c) => forest(
                &binned,
                ForestTask::Classify {
                    labels: &self.labels,
                    n_classes: c,
                    impurity: Impurity::Gini,
                },
                &forest_params,
                self.seed,
                capacity(forest_params.n_trees),
            )
            .unwrap(),
        }
    }

    /// The batch with some entries set to split thresholds of `model`.
    fn batch_for(&self, model: &Owned) -> Vec<f32> {
        let mut batch = self.batch.clone();
        let splits: Vec<_> = model.nodes.iter().filter(|n| !n.is_leaf()).collect();
        if self.batch_rows == 0 || splits.is_empty() {
            return batch;
        }
        for &(row, pick) in &self.at_threshold {
            let node = splits[pick % splits.len()];
            batch[row * self.d + node.feature as usize] = node.value;
        }
        batch
    }
}

/// Per output of one row: the f64 sum of its terms and Σ|terms| and the term count, by the
/// independent recursive walk (forest votes: counts per class).
fn reference_sums(model: &Owned, row: &[f32]) -> Vec<(f64, f64, usize)> {
    let k = model.n_outputs;
    let mut acc: Vec<(f64, f64, usize)> = (0..k)
        .map(|o| match model.base.get(o) {
            Some(&b) => (f64::from(b), f64::from(b).abs(), 1),
            None => (0.0, 0.0, 0),
        })
        .collect();
    for t in 0..model.roots.len() {
        let v = f64::from(walk(model.tree_nodes(t), 0, row));
        let slot = match model.kind {
            ModelKind::Multiclass => t % k,
            ModelKind::ForestVote => v as usize,
            _ => 0,
        };
        let term = if model.kind == ModelKind::ForestVote {
            1.0
        } else {
            v
        };
        acc[slot].0 += term;
        acc[slot].1 += term.abs();
        acc[slot].2 += 1;
    }
    acc
}

/// Score tolerance and f64 score of each output of one row (see the module docs).
fn score_bounds(model: &Owned, row: &[f32]) -> Vec<(f64, f64)> {
    let trees = model.roots.len() as f64;
    reference_sums(model, row)
        .into_iter()
        .map(|(sum, abs, n)| match model.kind {
            ModelKind::ForestVote => {
                let v = sum / trees;
                (v, 6.0 * U32 * v.abs())
            }
            ModelKind::ForestMean => {
                let v = sum / trees;
                let m = (n.saturating_sub(1)) as f64 * U32;
                let sum_tol = m / (1.0 - m) * abs + n as f64 * TINY;
                (v, sum_tol / trees + 6.0 * U32 * v.abs() + U32 * v.abs())
            }
            _ => {
                let m = (n.saturating_sub(1)) as f64 * U32;
                (sum, m / (1.0 - m) * abs + n as f64 * TINY + U32 * sum.abs())
            }
        })
        .collect()
}

fn check_tree_case(gpu: &Gpu, case: &TreeCase) -> Result<(), TestCaseError> {
    let owned = case.model();
    let model = owned.model();
    let (rows, d, k) = (case.batch_rows, case.d, owned.n_outputs);
    let batch = case.batch_for(&owned);
    let on_gpu = gpu
        .upload_tree_model(&model)
        .map_err(|e| TestCaseError::fail(format!("upload: {e}")))?;
    let mut scores = vec![0.0f32; rows * k];
    on_gpu
        .predict_scores_batch(&batch, rows, &mut scores)
        .map_err(|e| TestCaseError::fail(format!("scores: {e}")))?;
    let mut preds = vec![0.0f32; rows];
    on_gpu
        .predict_batch(&batch, rows, &mut preds)
        .map_err(|e| TestCaseError::fail(format!("predict: {e}")))?;
    let mut core_preds = vec![0.0f32; rows];
    if rows > 0 {
        model
            .predict_batch(
                &TensorView::matrix(&batch, rows, d).unwrap(),
                &mut core_preds,
            )
            .unwrap();
    }
    let mut core_scores = vec![0.0f32; k];
    for r in 0..rows {
        let row = &batch[r * d..(r + 1) * d];
        model.predict_scores(row, &mut core_scores).unwrap();
        let bounds = score_bounds(&owned, row);
        for o in 0..k {
            let (want, tol) = bounds[o];
            let got = f64::from(scores[r * k + o]);
            let core = f64::from(core_scores[o]);
            prop_assert!(
                (got - want).abs() <= tol && (got - core).abs() <= 2.0 * tol,
                "{:?} row {r} output {o}: gpu {got}, f64 {want}, core {core}, tol {tol}",
                owned.kind
            );
        }
        let (gpu_pred, core_pred) = (preds[r], core_preds[r]);
        match owned.kind {
            ModelKind::Regression | ModelKind::ForestMean => {
                prop_assert_eq!(gpu_pred, scores[r * k], "prediction is the score");
            }
            ModelKind::Binary => {
                let (s, s_tol) = bounds[0];
                let want = 1.0 / (1.0 + (-s).exp());
                let tol = 0.25 * s_tol + (8.0 + 4.0 * s.abs()) * EPS * want + EPS;
                let got = f64::from(gpu_pred);
                prop_assert!(
                    (got - want).abs() <= tol && (got - f64::from(core_pred)).abs() <= 2.0 * tol,
                    "binary row {r}: gpu {got}, f64 {want}, core {core_pred}, tol {tol}"
                );
            }
            ModelKind::Multiclass => {
                // The GPU may pick g over the core's class only if their f64 scores are
                // within the two score tolerances.
                let (g, c) = (gpu_pred as usize, core_pred as usize);
                prop_assert!(
                    g == c || (g < k && bounds[c].0 - bounds[g].0 <= bounds[c].1 + bounds[g].1),
                    "multiclass row {r}: gpu class {g}, core {c}, f64 scores {bounds:?}"
                );
            }
            ModelKind::ForestVote => prop_assert_eq!(gpu_pred, core_pred, "vote row {}", r),
        }
    }
    Ok(())
}

fn tree_properties(gpu: &Gpu) -> Result<(), Failed> {
    run_prop(48, tree_case(), |case| check_tree_case(gpu, &case))
}

/// Wrong lengths are `Length` errors; an empty batch is fine.
fn tree_errors(gpu: &Gpu) -> Result<(), Failed> {
    let owned = {
        let x: Vec<f32> = (0..40).map(|i| (i % 7) as f32).collect();
        let y: Vec<f32> = (0..20).map(|i| (i % 3) as f32).collect();
        let binned = Binned::new(&x, 20, 2, 8).map_err(|e| e.to_string())?;
        let params = BoostParams {
            loss: Loss::Softmax { n_classes: 3 },
            n_rounds: 2,
            learning_rate: 0.5,
            lambda: 1.0,
            tree: TreeParams::default(),
            row_subsample: 1.0,
            start_from_prior: true,
        };
        boost(&binned, &y, &params, 7, 6 * 128).map_err(|e| e.to_string())?
    };
    let on_gpu = gpu
        .upload_tree_model(&owned.model())
        .map_err(|e| e.to_string())?;
    let is_len = |r: Result<_, GpuError>| matches!(r, Err(GpuError::Length { .. }));
    let x = [0.0f32; 6];
    if !is_len(on_gpu.predict_batch(&x[..5], 3, &mut [0.0; 3]))
        || !is_len(on_gpu.predict_batch(&x, 3, &mut [0.0; 2]))
        || !is_len(on_gpu.predict_scores_batch(&x, 3, &mut [0.0; 3]))
    {
        return Err("a wrong length was accepted".into());
    }
    on_gpu
        .predict_batch(&[], 0, &mut [])
        .map_err(|e| format!("empty batch: {e}"))?;
    Ok(())
}

/// The GPU output of one problem (a single head).
fn gpu_attention(gpu: &Gpu, p: &Problem) -> Result<Vec<f32>, TestCaseError> {
    let mask = AttentionMask::new().causal(p.causal);
    let mask = match &p.valid {
        Some(valid) => mask.key_valid(valid),
        None => mask,
    };
    let shape = AttentionShape {
        heads: 1,
        lq: p.lq,
        lk: p.lk,
        dk: p.dk,
        dv: p.dv,
    };
    let mut out = vec![f32::NAN; p.lq * p.dv];
    gpu.attention(&mask, shape, &p.q, &p.k, &p.v, &mut out)
        .map_err(|e| TestCaseError::fail(format!("gpu attention: {e}")))?;
    Ok(out)
}

/// GPU output against f64 and against the core's streaming attention.
fn check_attention(gpu: &Gpu, p: &Problem) -> Result<(), TestCaseError> {
    let out = gpu_attention(gpu, p)?;
    p.check(&out, "gpu")?;
    let mut core = vec![0.0f32; p.lq * p.dv];
    let mut workspace = vec![0.0f32; streaming_workspace_len(p.dv)];
    let (q, k, v) = p.views();
    attention(
        Dispatch::PORTABLE,
        &p.spec(),
        q,
        k,
        v,
        Problem::out_view(&mut core, p.lq, p.dv),
        &mut workspace,
    )
    .unwrap();
    for i in 0..p.lq {
        let tol = 2.0 * p.tolerance(i);
        for c in 0..p.dv {
            let (got, want) = (out[i * p.dv + c], core[i * p.dv + c]);
            prop_assert!(
                f64::from(got - want).abs() <= tol,
                "gpu vs core out[{i}][{c}]: {got} vs {want}, tol {tol}"
            );
        }
    }
    Ok(())
}

fn attention_properties(gpu: &Gpu) -> Result<(), Failed> {
    run_prop(64, problem_in(1..=150, 1..=70), |p| {
        check_attention(gpu, &p)
    })
}

/// Several heads of one shape in one call, each checked against its own f64 attention.
fn attention_heads(gpu: &Gpu) -> Result<(), Failed> {
    let shapes = (
        1usize..=5,
        1usize..=90,
        1usize..=90,
        1usize..=40,
        1usize..=40,
    );
    let strategy = (shapes, any::<bool>(), any::<bool>()).prop_flat_map(
        |((h, lq, lk, dk, dv), causal, masked)| {
            (
                prop::collection::vec(-2.0f32..2.0, h * lq * dk),
                prop::collection::vec(-2.0f32..2.0, h * lk * dk),
                prop::collection::vec(-2.0f32..2.0, h * lk * dv),
                prop::collection::vec(prop::bool::weighted(0.7), lk),
            )
                .prop_map(move |(q, k, v, valid)| {
                    (0..h)
                        .map(|i| Problem {
                            lq,
                            lk,
                            dk,
                            dv,
                            causal,
                            valid: masked.then(|| valid.clone()),
                            q: q[i * lq * dk..(i + 1) * lq * dk].to_vec(),
                            k: k[i * lk * dk..(i + 1) * lk * dk].to_vec(),
                            v: v[i * lk * dv..(i + 1) * lk * dv].to_vec(),
                        })
                        .collect::<Vec<_>>()
                })
        },
    );
    run_prop(24, strategy, |heads| {
        let p0 = &heads[0];
        let cat = |f: fn(&Problem) -> &Vec<f32>| heads.iter().flat_map(f).copied().collect();
        let (q, k, v): (Vec<f32>, Vec<f32>, Vec<f32>) =
            (cat(|p| &p.q), cat(|p| &p.k), cat(|p| &p.v));
        let mask = AttentionMask::new().causal(p0.causal);
        let mask = match &p0.valid {
            Some(valid) => mask.key_valid(valid),
            None => mask,
        };
        let shape = AttentionShape {
            heads: heads.len(),
            lq: p0.lq,
            lk: p0.lk,
            dk: p0.dk,
            dv: p0.dv,
        };
        let mut out = vec![f32::NAN; heads.len() * p0.lq * p0.dv];
        gpu.attention(&mask, shape, &q, &k, &v, &mut out)
            .map_err(|e| TestCaseError::fail(format!("gpu attention: {e}")))?;
        for (h, p) in heads.iter().enumerate() {
            let part = &out[h * p.lq * p.dv..(h + 1) * p.lq * p.dv];
            p.check(part, &format!("head {h}"))?;
        }
        Ok(())
    })
}

/// The core's errors for the same bad inputs, and zeros for queries that see no key.
fn attention_errors(gpu: &Gpu) -> Result<(), Failed> {
    let shape = AttentionShape {
        heads: 1,
        lq: 2,
        lk: 3,
        dk: 2,
        dv: 2,
    };
    let (q, k, v) = ([0.5f32; 4], [0.25f32; 6], [1.0f32; 6]);
    let mut out = [9.0f32; 4];
    let none = AttentionMask::new();
    let input = |r: Result<_, GpuError>| match r {
        Err(GpuError::Input(e)) => Some(e),
        _ => None,
    };
    let empty = AttentionShape { lk: 0, ..shape };
    if input(gpu.attention(&none, empty, &q, &[], &[], &mut out)) != Some(Error::Empty) {
        return Err("zero keys accepted".into());
    }
    if !matches!(
        gpu.attention(&none, shape, &q, &k[..5], &v, &mut out),
        Err(GpuError::Length { .. })
    ) || !matches!(
        gpu.attention(&none.key_valid(&[true]), shape, &q, &k, &v, &mut out),
        Err(GpuError::Length { .. })
    ) {
        return Err("a wrong length was accepted".into());
    }
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        if input(gpu.attention(&none.scale(scale), shape, &q, &k, &v, &mut out))
            != Some(Error::InvalidParameter { name: "scale" })
        {
            return Err(format!("scale {scale} accepted").into());
        }
    }
    let mut bad_k = k;
    bad_k[3] = f32::NAN;
    if input(gpu.attention(&none, shape, &q, &bad_k, &v, &mut out))
        != Some(Error::NonFinite { index: 3 })
    {
        return Err("NaN in K not reported at its index".into());
    }
    let all_masked = [false; 3];
    gpu.attention(&none.key_valid(&all_masked), shape, &q, &k, &v, &mut out)
        .map_err(|e| e.to_string())?;
    if out != [0.0; 4] {
        return Err(format!("queries seeing no key gave {out:?}").into());
    }
    Ok(())
}

fn bodies() -> Vec<(String, Body)> {
    vec![
        (
            "tree_ensemble_matches_core".into(),
            Box::new(tree_properties),
        ),
        ("tree_ensemble_errors".into(), Box::new(tree_errors)),
        (
            "attention_matches_f64_and_core".into(),
            Box::new(attention_properties),
        ),
        ("attention_batched_heads".into(), Box::new(attention_heads)),
        ("attention_errors".into(), Box::new(attention_errors)),
    ]
}

fn main() {
    gpu_support::run("gpu_models", bodies())
}
