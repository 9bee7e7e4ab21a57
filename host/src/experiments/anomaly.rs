//! Anomaly detection (`edgeml anomaly`, issue 17): the one-class protocol on Fashion-MNIST
//! (each class normal in turn; autoencoder, k-means and k-NN detectors and their ensemble;
//! AUROC, ROC curves, score histograms), k-means beside scikit-learn's on the training
//! images, and a vibration-monitoring demonstration with injected faults.

mod clustering;
mod detectors;
mod one_class;
mod render;
mod sensor;

use anyhow::{bail, Result};
use clap::Args;
use edgeml_core::anomaly::Corruption;
use edgeml_core::nn::Activation;

use super::{Experiment, ExperimentReport, RunContext};
use crate::cpu;
use crate::report::progress;
use crate::report::summary::Headline;
use detectors::{AeSettings, DetectorSettings};

pub use detectors::{ae_params, DETECTORS};
pub use one_class::{histograms, roc_curve, Transform};
pub use sensor::FAULTS;

/// Most parameters the Fashion-MNIST autoencoder may have (the bound).
pub const MAX_AE_PARAMS: usize = 100_000;

/// Options of `edgeml anomaly`.
#[derive(Args, Clone, Debug, Default)]
pub struct AnomalyArgs {
    /// Normal classes of the one-class protocol, comma-separated (default all ten; 0,1 with
    /// --quick).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<u8>>,
    /// Training images per class (default 6000, a tenth held out to calibrate; 300 with --quick).
    #[arg(long)]
    pub train_per_class: Option<usize>,
    /// Test images scored (default 10000; 1000 with --quick).
    #[arg(long)]
    pub test_rows: Option<usize>,
    /// Per-pixel transform before the detectors (default sqrt).
    #[arg(long, value_enum)]
    pub transform: Option<Transform>,
    /// Hidden layer sizes of the autoencoder, comma-separated (default 60,30,60: 98 614
    /// parameters).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Autoencoder epochs (default 30; 2 with --quick).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Masking probability of the denoising autoencoder (default 0: plain).
    #[arg(long)]
    pub mask: Option<f32>,
    /// Neighbour rank of the k-NN detector (default 5).
    #[arg(long)]
    pub k: Option<usize>,
    /// Centroids of the k-means detector (default 10; 4 with --quick).
    #[arg(long)]
    pub clusters: Option<usize>,
    /// Training images of the k-means timing (default 60000; 2000 with --quick).
    #[arg(long)]
    pub kmeans_rows: Option<usize>,
}

/// The anomaly experiment.
pub struct AnomalyExperiment {
    args: AnomalyArgs,
}

impl AnomalyExperiment {
    /// The experiment with the given options.
    pub fn new(args: AnomalyArgs) -> AnomalyExperiment {
        AnomalyExperiment { args }
    }

    fn detector_settings(
        &self,
        quick: bool,
        d: usize,
        hidden: &[usize],
        output: Activation,
    ) -> Result<DetectorSettings> {
        let a = &self.args;
        let mut sizes = vec![d];
        sizes.extend_from_slice(hidden);
        sizes.push(d);
        let corruption = match a.mask {
            Some(p) if p > 0.0 => Corruption::Mask(p),
            _ => Corruption::None,
        };
        Ok(DetectorSettings {
            ae: AeSettings {
                sizes,
                epochs: a.epochs.unwrap_or(if quick { 2 } else { 30 }),
                batch: 64,
                learning_rate: 1e-3,
                corruption,
                output,
            },
            clusters: a.clusters.unwrap_or(if quick { 4 } else { 10 }),
            k: a.k.unwrap_or(5),
            dispatch: cpu::selected_dispatch()?,
        })
    }

    fn one_class_settings(&self, quick: bool) -> Result<one_class::Settings> {
        let a = &self.args;
        let hidden = a.hidden.clone().unwrap_or_else(|| vec![60, 30, 60]);
        let detectors = self.detector_settings(quick, 784, &hidden, Activation::Sigmoid)?;
        let params = ae_params(&detectors.ae.sizes)?;
        if params > MAX_AE_PARAMS {
            bail!(
                "the autoencoder {:?} has {params} parameters, above {MAX_AE_PARAMS}",
                detectors.ae.sizes
            );
        }
        let default_classes = if quick { vec![0, 1] } else { (0..10).collect() };
        let classes = a.classes.clone().unwrap_or(default_classes);
        if let Some(bad) = classes.iter().find(|&&c| c > 9) {
            bail!("--classes: {bad} is not a Fashion-MNIST class (0 to 9)");
        }
        Ok(one_class::Settings {
            transform: a.transform.unwrap_or_default(),
            classes,
            train_per_class: a.train_per_class.unwrap_or(if quick { 300 } else { 6000 }),
            test_rows: a.test_rows.unwrap_or(if quick { 1000 } else { 10000 }),
            detectors,
        })
    }

    fn sensor_settings(&self, quick: bool) -> Result<sensor::Settings> {
        let hidden = [16, 6, 16];
        let mut detectors =
            self.detector_settings(quick, sensor::FEATURES, &hidden, Activation::Identity)?;
        detectors.ae.epochs = if quick { 20 } else { 100 };
        detectors.ae.batch = 32;
        detectors.ae.learning_rate = 3e-3;
        detectors.clusters = 8;
        Ok(sensor::Settings {
            fit: if quick { 300 } else { 2000 },
            calibration: if quick { 100 } else { 500 },
            test_normal: if quick { 200 } else { 1000 },
            test_per_fault: if quick { 50 } else { 250 },
            z: 3.0,
            detectors,
        })
    }
}

impl Experiment for AnomalyExperiment {
    fn name(&self) -> &'static str {
        "anomaly"
    }

    fn title(&self) -> &'static str {
        "Anomaly detection: autoencoders, k-means and distance scores"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let oc = self.one_class_settings(ctx.quick)?;
        let bar = progress::bar(oc.classes.len() as u64 + 2, "anomaly");
        bar.set_message("one-class");
        let tick = |c: u8| {
            bar.set_message(format!("class {c} done"));
            bar.inc(1);
        };
        let one = one_class::run(&ctx.data, &oc, ctx.seed, &tick)?;
        bar.set_message("k-means");
        let km_settings = clustering::Settings {
            rows: self
                .args
                .kmeans_rows
                .unwrap_or(if ctx.quick { 2000 } else { 60000 }),
            k: 10,
            batch: 1024,
            steps: if ctx.quick { 20 } else { 100 },
            dispatch: cpu::selected_dispatch()?,
        };
        let km = clustering::run(&ctx.data, &km_settings, ctx.seed)?;
        bar.inc(1);
        bar.set_message("sensor");
        let sensor_settings = self.sensor_settings(ctx.quick)?;
        let sensor = sensor::run(&sensor_settings, ctx.seed)?;
        bar.inc(1);
        bar.finish_and_clear();
        let inputs = render::Inputs {
            one_class: &one,
            settings: &oc,
            kmeans: &km,
            kmeans_settings: &km_settings,
            sensor: &sensor,
            sensor_settings: &sensor_settings,
            seed: ctx.seed,
        };
        let (markdown, figures) = render::text(&inputs)?;
        let plots = render::plots(&one, &ctx.out_dir)?;
        Ok(ExperimentReport {
            markdown,
            plots,
            data_source: one.source.clone(),
            headline: headline(&figures),
            figures,
        })
    }
}

/// The terminal summary: each detector's mean AUROC, the k-means inertia, the sensor demo's
/// precision and recall at the threshold.
fn headline(figures: &serde_json::Value) -> Vec<Headline> {
    let mut lines: Vec<Headline> = ["autoencoder", "kmeans", "knn", "ensemble"]
        .iter()
        .filter_map(|d| {
            Headline::at(
                figures,
                &format!("/one_class/mean_auroc/{d}"),
                format!("mean AUROC, {d}"),
                "",
            )
        })
        .collect();
    if let Some(best) = lines.iter_mut().max_by(|a, b| a.value.total_cmp(&b.value)) {
        *best = best.clone().reference("best; target ≥ 0.93");
    }
    lines.extend(Headline::at(
        figures,
        "/sensor/detectors/ensemble/recall",
        "vibration demo recall, ensemble",
        "",
    ));
    lines
}
