//! The anomaly experiment's Markdown, JSON figures and plots, from the computed outcomes.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Map, Value};

use super::clustering::{self, Run};
use super::detectors::{ae_params, DETECTORS};
use super::one_class::{self, histograms, roc_curve, THRESHOLD_PERCENTILE};
use super::sensor::{self, Metrics, FAULTS};
use crate::report::format::{duration, fixed, percent, significant};
use crate::report::plot::{line_plot, Series};
use crate::report::table::Table;

/// Everything the text is written from.
pub struct Inputs<'a> {
    pub one_class: &'a one_class::Outcome,
    pub settings: &'a one_class::Settings,
    pub kmeans: &'a clustering::Outcome,
    pub kmeans_settings: &'a clustering::Settings,
    pub sensor: &'a [Metrics],
    pub sensor_settings: &'a sensor::Settings,
    pub seed: u64,
}

fn best(one: &one_class::Outcome) -> (usize, f64) {
    (0..DETECTORS.len())
        .map(|d| (d, one.mean(d, |r| r.auroc)))
        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a })
}

fn one_class_text(i: &Inputs<'_>) -> Result<(String, Value)> {
    let one = i.one_class;
    let (fit, held, test) = one.rows;
    let params = ae_params(&i.settings.detectors.ae.sizes)?;
    let mut md = format!(
        "### One-class Fashion-MNIST\n\nEach class in turn is normal: every detector is fitted on \
         {fit} of its training images ({held} more held out to calibrate), scores {test} test \
         images, and is ranked by AUROC with the other classes anomalous. Autoencoder \
         {:?} ({params} parameters, ReLU, sigmoid output, MSE, Adam, {} epochs); k-means with \
         {} centroids (distance to the nearest); k-NN distance to the {}-th nearest normal \
         image; the ensemble sums the autoencoder's and k-NN's scores, each standardized by its \
         held-out normal mean and std (Welford). Pixel transform: `{}` (`sqrt`: each pixel \
         replaced by its square root, so squared L2 is twice the squared Hellinger \
         distance).\n\n",
        i.settings.detectors.ae.sizes,
        i.settings.detectors.ae.epochs,
        i.settings.detectors.clusters,
        i.settings.detectors.k,
        i.settings.transform.name(),
    );
    let mut headers = vec!["class".to_string()];
    headers.extend(DETECTORS.iter().map(|d| d.to_string()));
    let mut table = Table::new(headers);
    let mut auroc = Map::new();
    for (d, name) in DETECTORS.iter().enumerate() {
        let per: Map<String, Value> = one
            .classes
            .iter()
            .map(|c| (c.class.to_string(), json!(c.detectors[d].auroc)))
            .collect();
        auroc.insert(name.to_string(), Value::Object(per));
    }
    for c in &one.classes {
        let name = one
            .class_names
            .get(usize::from(c.class))
            .cloned()
            .unwrap_or_default();
        let mut row = vec![format!("{} {name}", c.class)];
        row.extend(c.detectors.iter().map(|r| fixed(r.auroc, 4)));
        table.row(row);
    }
    let mean = |f: fn(&one_class::DetectorResult) -> f64| -> Map<String, Value> {
        DETECTORS
            .iter()
            .enumerate()
            .map(|(d, n)| (n.to_string(), json!(one.mean(d, f))))
            .collect()
    };
    let mut row = vec!["**mean**".to_string()];
    row.extend((0..DETECTORS.len()).map(|d| format!("**{}**", fixed(one.mean(d, |r| r.auroc), 4))));
    table.row(row);
    md.push_str(&table.render());
    let (b, b_auroc) = best(one);
    md.push_str(&format!(
        "\nBest detector: **{}**, mean AUROC {}. At the {THRESHOLD_PERCENTILE}th percentile of the \
         held-out normal scores it flags {} of the anomalous and {} of the normal test images \
         (means over classes).\n\n",
        DETECTORS[b], fixed(b_auroc, 4),
        percent(one.mean(b, |r| r.recall), 1), percent(one.mean(b, |r| r.false_positive_rate), 1)
    ));
    let figures = json!({
        "classes": one.classes.iter().map(|c| c.class).collect::<Vec<_>>(),
        "synthetic": one.synthetic,
        "transform": i.settings.transform.name(),
        "fit_rows_per_class": fit, "calibration_rows_per_class": held, "test_rows": test,
        "autoencoder_sizes": i.settings.detectors.ae.sizes, "autoencoder_params": params,
        "auroc": auroc, "mean_auroc": mean(|r| r.auroc),
        "recall_at_threshold": mean(|r| r.recall), "false_positive_rate_at_threshold": mean(|r| r.false_positive_rate),
        "threshold_percentile": THRESHOLD_PERCENTILE,
        "seconds": mean(|r| r.seconds),
        "best_detector": DETECTORS[b], "best_mean_auroc": b_auroc,
    });
    Ok((md, figures))
}

fn run_json(r: &Run) -> Value {
    json!({"inertia": r.inertia, "iterations": r.iterations, "seconds": r.time.wall_s, "cpu_seconds": r.time.cpu_s})
}

fn kmeans_text(i: &Inputs<'_>) -> (String, Value) {
    let km = i.kmeans;
    let mut table = Table::new(["algorithm", "inertia", "iterations", "wall", "thread CPU"]);
    for (name, r) in [
        ("k-means++ + Lloyd", &km.lloyd),
        ("k-means++ + mini-batch", &km.mini_batch),
    ] {
        table.row([
            name.to_string(),
            significant(r.inertia, 7),
            r.iterations.to_string(),
            duration(r.time.wall_s),
            r.time.cpu_s.map_or("–".into(), duration),
        ]);
    }
    let md = format!(
        "### k-means on the training images\n\n{} images × {} pixels, k = {}, greedy k-means++ \
         (2 + ⌊ln k⌋ candidates per centre, scikit-learn's rule), Lloyd to tolerance 1e-4 of the \
         mean pixel variance (centroids ranked by ‖c‖² − 2·x·c from one gemm per 256 images); mini-batch: {} steps of {} images. One thread; \
         `benches/peers/sklearn_anomaly.py` runs scikit-learn's `KMeans` on the same images.\n\n{}\n",
        km.shape.0, km.shape.1, i.kmeans_settings.k, i.kmeans_settings.steps, i.kmeans_settings.batch, table.render()
    );
    let figures = json!({
        "rows": km.shape.0, "k": i.kmeans_settings.k,
        "lloyd": run_json(&km.lloyd), "mini_batch": run_json(&km.mini_batch),
    });
    (md, figures)
}

fn sensor_text(i: &Inputs<'_>) -> (String, Value) {
    let s = i.sensor_settings;
    let mut headers: Vec<String> = ["detector", "AUROC", "precision", "recall", "false alarms"]
        .map(String::from)
        .to_vec();
    headers.extend(FAULTS.iter().map(|f| format!("recall {f}")));
    let mut table = Table::new(headers);
    let mut figures = Map::new();
    for (name, m) in DETECTORS.iter().zip(i.sensor) {
        let mut row = vec![
            name.to_string(),
            fixed(m.auroc, 4),
            percent(m.precision, 1),
            percent(m.recall, 1),
            percent(m.false_positive_rate, 1),
        ];
        row.extend(m.recall_by_fault.iter().map(|&r| percent(r, 1)));
        table.row(row);
        let by_fault: Map<String, Value> = FAULTS
            .iter()
            .zip(&m.recall_by_fault)
            .map(|(f, r)| (f.to_string(), json!(r)))
            .collect();
        figures.insert(name.to_string(), json!({
            "auroc": m.auroc, "threshold": m.threshold, "precision": m.precision, "recall": m.recall,
            "false_positive_rate": m.false_positive_rate, "recall_by_fault": by_fault,
        }));
    }
    let md = format!(
        "### Vibration monitoring (synthetic)\n\nThree-axis vibration of a shaft at 30–33 Hz \
         (four harmonics, noise), {} samples a window at {} Hz; per axis RMS, peak, crest factor, \
         kurtosis and {} log band energies ({} features, standardized on the normal windows). \
         Faults: imbalance (1× amplitude ×1.5), bearing (impacts at 3.58× shaft speed ringing at \
         600 Hz), looseness (weak half harmonics, clipping), stuck sensor (one axis constant). Fitted \
         on {} normal windows; threshold mean + {}·std of {} held-out normal scores (Welford); \
         tested on {} normal and {} windows per fault.\n\n{}\n",
        sensor::WINDOW,
        sensor::RATE,
        sensor::PER_AXIS - 4,
        sensor::FEATURES,
        s.fit,
        s.z,
        s.calibration,
        s.test_normal,
        s.test_per_fault,
        table.render()
    );
    let figures = json!({
        "windows": {"fit": s.fit, "calibration": s.calibration, "test_normal": s.test_normal, "test_per_fault": s.test_per_fault},
        "z": s.z, "detectors": figures,
    });
    (md, figures)
}

/// The Markdown section and the JSON figures.
pub fn text(i: &Inputs<'_>) -> Result<(String, Value)> {
    let (mut md, one) = one_class_text(i)?;
    md.push_str("![ROC curves](anomaly_roc.png)\n\n![Score histograms](anomaly_histogram.png)\n\n");
    let (km_md, km) = kmeans_text(i);
    md.push_str(&km_md);
    let (sensor_md, sensor) = sensor_text(i);
    md.push_str(&sensor_md);
    Ok((
        md,
        json!({"seed": i.seed, "one_class": one, "kmeans": km, "sensor": sensor}),
    ))
}

/// ROC curves of every detector and score histograms of the best one, for the first class run.
pub fn plots(one: &one_class::Outcome, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let Some(first) = one.classes.first() else {
        return Ok(Vec::new());
    };
    let name = one
        .class_names
        .get(usize::from(first.class))
        .cloned()
        .unwrap_or_default();
    let roc: Vec<Series> = DETECTORS
        .iter()
        .zip(&first.scores)
        .zip(&first.detectors)
        .map(|((d, s), r)| Series {
            name: format!("{d} (AUROC {})", fixed(r.auroc, 3)),
            points: roc_curve(&first.anomalous, s, 200),
        })
        .collect();
    let roc_file = PathBuf::from("anomaly_roc.png");
    line_plot(
        &out_dir.join(&roc_file),
        &format!("ROC, normal class {} ({name})", first.class),
        "false-positive rate",
        "true-positive rate",
        &roc,
    )?;
    let (b, _) = best(one);
    let [normal, anomalous] = histograms(&first.anomalous, &first.scores[b], 40);
    let hist_file = PathBuf::from("anomaly_histogram.png");
    line_plot(
        &out_dir.join(&hist_file),
        &format!(
            "{} scores, normal class {} ({name})",
            DETECTORS[b], first.class
        ),
        "score",
        "fraction of images",
        &[
            Series {
                name: "normal".into(),
                points: normal,
            },
            Series {
                name: "anomalous".into(),
                points: anomalous,
            },
        ],
    )?;
    Ok(vec![roc_file, hist_file])
}
