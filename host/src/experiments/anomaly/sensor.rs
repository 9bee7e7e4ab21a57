//! A sensor-style demonstration: three-axis vibration of a rotating machine (shaft harmonics,
//! varying speed, noise) cut into windows, with injected faults of four kinds; per window and
//! axis the RMS, peak, crest factor, kurtosis and six spectral band energies. Every detector
//! is fitted on normal windows, its threshold is `mean + z·std` of held-out normal scores
//! (Welford), and precision and recall are measured at that threshold.

use std::f64::consts::TAU;

use anyhow::Result;
use edgeml_core::anomaly::{Threshold, Welford};
use edgeml_core::eval::roc_auc;
use edgeml_core::rng::Rng;

use super::detectors::{self, DetectorSettings, Rows};

/// Samples per second.
pub const RATE: f64 = 2048.0;
/// Samples per window.
pub const WINDOW: usize = 256;
/// Accelerometer axes.
pub const AXES: usize = 3;
/// Band edges in Hz of the spectral features.
const BANDS: [f64; 7] = [0.0, 64.0, 128.0, 256.0, 512.0, 768.0, 1024.0];
/// Features per axis: RMS, peak, crest factor, kurtosis, then one log energy per band.
pub const PER_AXIS: usize = 4 + BANDS.len() - 1;
/// Features per window.
pub const FEATURES: usize = AXES * PER_AXIS;

/// The injected faults.
pub const FAULTS: [&str; 4] = ["imbalance", "bearing", "looseness", "stuck_sensor"];

/// Sizes of the demonstration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Normal windows to fit on.
    pub fit: usize,
    /// Normal windows held out to set the threshold.
    pub calibration: usize,
    /// Normal test windows.
    pub test_normal: usize,
    /// Test windows per fault kind.
    pub test_per_fault: usize,
    /// Standard deviations above the normal mean for the threshold.
    pub z: f32,
    /// The detectors (the autoencoder's sizes must start and end with [`FEATURES`]).
    pub detectors: DetectorSettings,
}

/// One detector at its threshold.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// AUROC over all test windows.
    pub auroc: f64,
    /// The threshold.
    pub threshold: f64,
    /// Flagged windows that are faults.
    pub precision: f64,
    /// Faulty windows flagged.
    pub recall: f64,
    /// Normal windows flagged.
    pub false_positive_rate: f64,
    /// Recall per fault kind, in [`FAULTS`] order.
    pub recall_by_fault: Vec<f64>,
}

/// One window of `AXES × WINDOW` samples (axis-major); `fault` indexes [`FAULTS`].
fn window(rng: &mut Rng, fault: Option<usize>) -> Vec<f64> {
    let f0 = 30.0 * (1.0 + 0.1 * rng.uniform_f64());
    let gains = [1.0, 0.8, 0.5];
    let phases: Vec<f64> = (0..8).map(|_| TAU * rng.uniform_f64()).collect();
    let mut out = vec![0.0; AXES * WINDOW];
    for (axis, samples) in out.chunks_exact_mut(WINDOW).enumerate() {
        for (i, v) in samples.iter_mut().enumerate() {
            let t = i as f64 / RATE;
            let mut x = 0.0;
            for (h, a) in [1.0, 0.5, 0.25, 0.12].iter().enumerate() {
                let mut amp = a * gains[axis];
                if fault == Some(0) && h == 0 && axis < 2 {
                    amp *= 1.5;
                }
                x += amp * (TAU * (h + 1) as f64 * f0 * t + phases[h + axis]).sin();
            }
            if fault == Some(1) {
                let period = 1.0 / (3.58 * f0);
                let since = t % period;
                x += 0.4 * gains[axis] * (-200.0 * since).exp() * (TAU * 600.0 * since).sin();
            }
            if fault == Some(2) {
                for (k, half) in [0.5, 1.5, 2.5].iter().enumerate() {
                    x += 0.12 * (TAU * half * f0 * t + phases[k]).sin();
                }
                x = x.clamp(-1.2, 1.2);
            }
            x += 0.25 * f64::from(rng.normal());
            *v = if fault == Some(3) && axis == 2 {
                0.01
            } else {
                x
            };
        }
    }
    out
}

/// The features of one window.
fn features(samples: &[f64]) -> Vec<f32> {
    let twiddle: Vec<(f64, f64)> = (0..WINDOW)
        .map(|i| (TAU * i as f64 / WINDOW as f64).sin_cos())
        .collect();
    let mut out = Vec::with_capacity(FEATURES);
    for axis in samples.chunks_exact(WINDOW) {
        let n = WINDOW as f64;
        let mean = axis.iter().sum::<f64>() / n;
        let var = axis.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let rms = (axis.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
        let peak = axis.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let kurtosis =
            axis.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n / (var * var).max(1e-12);
        out.extend([rms, peak, peak / rms.max(1e-9), kurtosis].map(|v| v as f32));
        let mut energy = [0.0f64; BANDS.len() - 1];
        for bin in 1..WINDOW / 2 {
            let freq = bin as f64 * RATE / n;
            let (mut re, mut im) = (0.0, 0.0);
            for (i, x) in axis.iter().enumerate() {
                let (sin, cos) = twiddle[bin * i % WINDOW];
                re += x * cos;
                im -= x * sin;
            }
            if let Some(b) = BANDS.windows(2).position(|w| freq >= w[0] && freq < w[1]) {
                energy[b] += (re * re + im * im) / (n * n);
            }
        }
        out.extend(energy.map(|e| (e + 1e-6).ln() as f32));
    }
    out
}

fn windows(rng: &mut Rng, count: usize, fault: Option<usize>) -> Vec<f32> {
    (0..count)
        .flat_map(|_| features(&window(rng, fault)))
        .collect()
}

/// Scales every column of the row sets by the mean and std of `fit`'s column.
fn standardize(fit: &mut Rows, others: &mut [&mut Rows]) -> Result<()> {
    for col in 0..fit.cols {
        let mut stats = Welford::new();
        for row in fit.x.chunks_exact(fit.cols) {
            stats.push(row[col])?;
        }
        let (mean, std) = (stats.mean()? as f32, (stats.std()? as f32).max(1e-6));
        for rows in std::iter::once(&mut *fit).chain(others.iter_mut().map(|r| &mut **r)) {
            for row in rows.x.chunks_exact_mut(rows.cols) {
                row[col] = (row[col] - mean) / std;
            }
        }
    }
    Ok(())
}

/// Generates the windows, fits every detector, and measures each at its threshold.
pub fn run(s: &Settings, seed: u64) -> Result<Vec<Metrics>> {
    let mut rng = Rng::new(seed);
    let rows = |x: Vec<f32>| Rows { x, cols: FEATURES };
    let mut fit = rows(windows(&mut rng, s.fit, None));
    let mut calibration = rows(windows(&mut rng, s.calibration, None));
    let mut test_x = windows(&mut rng, s.test_normal, None);
    let mut kinds = vec![None; s.test_normal];
    for fault in 0..FAULTS.len() {
        test_x.extend(windows(&mut rng, s.test_per_fault, Some(fault)));
        kinds.extend(std::iter::repeat_n(Some(fault), s.test_per_fault));
    }
    let mut test = rows(test_x);
    standardize(&mut fit, &mut [&mut calibration, &mut test])?;
    let anomalous: Vec<bool> = kinds.iter().map(Option::is_some).collect();
    let scores = detectors::all(&fit, [&calibration, &test], &s.detectors, seed)?;
    scores
        .iter()
        .map(|sc| {
            let threshold =
                Threshold::MeanStd { z: s.z }.from_scores(&mut sc.calibration.clone())?;
            let flagged: Vec<bool> = sc.test.iter().map(|&v| v > threshold).collect();
            let count =
                |f: &dyn Fn(usize) -> bool| (0..kinds.len()).filter(|&i| f(i)).count() as f64;
            let tp = count(&|i| flagged[i] && anomalous[i]);
            let recall_by_fault = (0..FAULTS.len())
                .map(|k| {
                    count(&|i| flagged[i] && kinds[i] == Some(k)) / s.test_per_fault.max(1) as f64
                })
                .collect();
            Ok(Metrics {
                auroc: roc_auc(&anomalous, &sc.test, &mut vec![0; sc.test.len()])?,
                threshold: f64::from(threshold),
                precision: tp / count(&|i| flagged[i]).max(1.0),
                recall: tp / count(&|i| anomalous[i]).max(1.0),
                false_positive_rate: count(&|i| flagged[i] && !anomalous[i])
                    / s.test_normal.max(1) as f64,
                recall_by_fault,
            })
        })
        .collect()
}
