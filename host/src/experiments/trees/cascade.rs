//! Seed 003's cascade of BDTs on Fashion-MNIST: the signal is "Shirt"; stage 1 isolates the
//! copious, easy background (footwear, trousers, bags, dresses), then one stage each for the
//! garments that overlap the signal (T-shirt/top, pullover, coat). Each stage is a logistic
//! boosted model trained only on the training events the earlier stages passed (signal
//! against its own background), with its cut keeping a fixed share of the signal among the
//! held-out calibration events (every fifth training image) that reach it.
//! The test events it rejects form that background's purified sample. A single signal-vs-all
//! model with as many trees, cut at the cascade's signal efficiency, is the baseline.

use anyhow::{bail, Result};
use edgeml_core::tree::{Cascade, Loss, Stage};

use super::california::boost_params;
use super::fashion::{part, MAX_BINS};
use super::fit::{self, timed, Cuts, Matrix, Owned, Timing};
use crate::datasets::{self, DataConfig};

/// The signal class (Shirt).
pub const SIGNAL: u32 = 6;
/// The background classes of each stage, in cascade order.
pub const STAGES: [&[u32]; 4] = [&[1, 3, 5, 7, 8, 9], &[0], &[2], &[4]];
/// Share of the calibration signal reaching a stage that its cut keeps.
pub const STAGE_EFFICIENCY: f64 = 0.97;

/// Sizes of the cascade run.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Training images (the first of the training file).
    pub train_rows: usize,
    /// Test images (the first of the test file).
    pub test_rows: usize,
    /// Boosting rounds per stage (the baseline gets `rounds × stages`).
    pub rounds: usize,
    /// Leaves per tree.
    pub leaves: usize,
}

/// One stage's outcome on the test images.
pub struct StageScore {
    /// Names of the background classes it isolates.
    pub background: Vec<String>,
    /// Training events it was fitted on (signal and its background among those passed,
    /// calibration events excluded).
    pub train_rows: usize,
    /// Its cut on `P(signal)`.
    pub cut: f32,
    /// Test events it rejected.
    pub rejected: usize,
    /// Share of the rejected events that belong to its background.
    pub purity: f64,
    /// Share of its background's test events that it rejected.
    pub captured: f64,
}

/// The cascade's and the baseline's figures.
pub struct Outcome {
    /// Name of the signal class.
    pub signal: String,
    /// Per-stage figures.
    pub stages: Vec<StageScore>,
    /// Share of the test signal that passes every stage.
    pub efficiency: f64,
    /// Share of signal among the events that pass.
    pub purity: f64,
    /// Background test events that pass (false positives).
    pub background_passed: usize,
    /// Baseline (signal vs all, cut at the same efficiency): signal share among its passes.
    pub baseline_purity: f64,
    /// Baseline false positives.
    pub baseline_background_passed: usize,
    /// Training time of all stages (binning included).
    pub fit: Timing,
    /// Training time of the baseline.
    pub baseline_fit: Timing,
    /// Training and test rows.
    pub rows: (usize, usize),
}

/// The `q`-quantile (lower) of `values`; 0 for none.
fn quantile(values: &[f32], q: f64) -> f32 {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let i = ((v.len() as f64 * q).floor() as usize).min(v.len().saturating_sub(1));
    v.get(i).copied().unwrap_or(0.0)
}

/// A logistic model of `signal` (label 1) against the other rows of `x`.
fn binary_model(
    x: &Matrix,
    signal: &[bool],
    s: &Settings,
    rounds: usize,
    seed: u64,
) -> Result<Owned> {
    let y: Vec<f32> = signal.iter().map(|&b| f32::from(u8::from(b))).collect();
    let params = boost_params(Loss::Logistic, rounds, 0.2, s.leaves);
    let cuts = Cuts::fit(x, MAX_BINS)?;
    let binned = cuts.bin(x)?;
    fit::boost(&cuts, &binned, &y, &params, seed, None)
}

/// Trains the cascade and the baseline and scores both on the test images.
pub fn run(config: &DataConfig, s: &Settings, seed: u64) -> Result<Outcome> {
    let split = datasets::load_fashion_mnist_or_synthetic(config, s.train_rows, s.test_rows, seed)?;
    let (train, labels) = part(&split.train.features, &split.train.targets, s.train_rows)?;
    let (test, truth) = part(&split.test.features, &split.test.targets, s.test_rows)?;
    let names = &split.train.class_names;
    let name = |c: u32| {
        names
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    if names.len() <= SIGNAL as usize {
        bail!("the cascade needs the 10 Fashion-MNIST classes");
    }
    let (fit_time, (models, cuts)) = timed(1, || {
        let (mut alive, mut held): (Vec<usize>, Vec<usize>) =
            (0..train.rows()).partition(|i| i % 5 != 0);
        let mut models = Vec::new();
        let mut cuts = Vec::new();
        for (k, group) in STAGES.iter().enumerate() {
            let ours = |i: &usize| labels[*i] == SIGNAL || group.contains(&labels[*i]);
            let rows: Vec<usize> = alive.iter().copied().filter(ours).collect();
            let x = train.gather(&rows);
            let is_signal: Vec<bool> = rows.iter().map(|&i| labels[i] == SIGNAL).collect();
            let model = binary_model(&x, &is_signal, s, s.rounds, seed + k as u64)?;
            let held_p = model.predict(&train.gather(&held))?;
            let signal_p: Vec<f32> = held_p
                .iter()
                .zip(&held)
                .filter(|(_, &i)| labels[i] == SIGNAL)
                .map(|(&v, _)| v)
                .collect();
            let cut = quantile(&signal_p, 1.0 - STAGE_EFFICIENCY);
            let passes = |rows: &[usize], p: &[f32]| -> Vec<usize> {
                rows.iter()
                    .zip(p)
                    .filter(|(_, &v)| v >= cut)
                    .map(|(&i, _)| i)
                    .collect()
            };
            held = passes(&held, &held_p);
            alive = passes(&alive, &model.predict(&train.gather(&alive))?);
            models.push((model, rows.len()));
            cuts.push(cut);
        }
        Ok((models, cuts))
    })?;
    let owned_models: Vec<_> = models
        .iter()
        .map(|(m, _)| m.model())
        .collect::<Result<_>>()?;
    let stages: Vec<Stage<'_>> = owned_models
        .iter()
        .zip(&cuts)
        .map(|(&model, &cut)| Stage { model, cut })
        .collect();
    let cascade = Cascade::new(&stages)?;
    let mut routes = vec![0u32; test.rows()];
    cascade.route_batch(&test.view()?, &mut routes)?;
    let n_stages = STAGES.len() as u32;
    let mut stage_scores = Vec::new();
    for (k, group) in STAGES.iter().enumerate() {
        let rejected: Vec<u32> = routes
            .iter()
            .zip(&truth)
            .filter(|(&r, _)| r == k as u32)
            .map(|(_, &t)| t)
            .collect();
        let hits = rejected.iter().filter(|t| group.contains(t)).count();
        let total = truth.iter().filter(|t| group.contains(t)).count();
        stage_scores.push(StageScore {
            background: group.iter().map(|&c| name(c)).collect(),
            train_rows: models.get(k).map_or(0, |m| m.1),
            cut: cuts.get(k).copied().unwrap_or(0.0),
            rejected: rejected.len(),
            purity: hits as f64 / rejected.len().max(1) as f64,
            captured: hits as f64 / total.max(1) as f64,
        });
    }
    let n_signal = truth.iter().filter(|&&t| t == SIGNAL).count();
    let passed: Vec<u32> = routes
        .iter()
        .zip(&truth)
        .filter(|(&r, _)| r == n_stages)
        .map(|(_, &t)| t)
        .collect();
    let signal_passed = passed.iter().filter(|&&t| t == SIGNAL).count();
    let efficiency = signal_passed as f64 / n_signal.max(1) as f64;

    let is_signal: Vec<bool> = labels.iter().map(|&l| l == SIGNAL).collect();
    let (baseline_fit, baseline) = timed(1, || {
        binary_model(&train, &is_signal, s, s.rounds * STAGES.len(), seed)
    })?;
    let p = baseline.predict(&test)?;
    let signal_p: Vec<f32> = p
        .iter()
        .zip(&truth)
        .filter(|(_, &t)| t == SIGNAL)
        .map(|(&v, _)| v)
        .collect();
    // The cut keeping the same number of test signal events as the cascade.
    let cut = quantile(&signal_p, 1.0 - efficiency);
    let base_passed: Vec<u32> = p
        .iter()
        .zip(&truth)
        .filter(|(&v, _)| v >= cut)
        .map(|(_, &t)| t)
        .collect();
    let base_signal = base_passed.iter().filter(|&&t| t == SIGNAL).count();
    Ok(Outcome {
        signal: name(SIGNAL),
        stages: stage_scores,
        efficiency,
        purity: signal_passed as f64 / passed.len().max(1) as f64,
        background_passed: passed.len() - signal_passed,
        baseline_purity: base_signal as f64 / base_passed.len().max(1) as f64,
        baseline_background_passed: base_passed.len() - base_signal,
        fit: fit_time,
        baseline_fit,
        rows: (train.rows(), test.rows()),
    })
}
