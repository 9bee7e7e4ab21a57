//! `edgeml anomaly --quick` end to end (figures consistent with each other, plots written),
//! and the ROC curve and histograms it plots against brute-force references.

use edgeml_core::eval::roc_auc;
use edgeml_core::rng::Rng;
use edgeml_host::experiments::anomaly::{
    histograms, roc_curve, AnomalyArgs, AnomalyExperiment, DETECTORS, FAULTS,
};
use edgeml_host::experiments::{Experiment, RunContext};

#[test]
fn quick_run_writes_consistent_figures_and_plots() {
    let out = tempfile::tempdir().unwrap();
    let ctx = RunContext {
        data: Default::default(),
        out_dir: out.path().to_path_buf(),
        quick: true,
        seed: 7,
    };
    let report = AnomalyExperiment::new(AnomalyArgs::default())
        .run(&ctx)
        .unwrap();
    let f = &report.figures;
    let one = &f["one_class"];
    assert!(one["autoencoder_params"].as_u64().unwrap() <= 100_000);
    let mut best = f64::NEG_INFINITY;
    for d in DETECTORS {
        let per: Vec<f64> = one["auroc"][d]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(per.len(), 2, "quick runs two classes");
        assert!(per.iter().all(|a| (0.0..=1.0).contains(a)));
        let mean = one["mean_auroc"][d].as_f64().unwrap();
        assert!((mean - per.iter().sum::<f64>() / 2.0).abs() < 1e-12);
        best = best.max(mean);
        // Distances separate the quick run's classes far better than chance.
        assert!(mean > 0.7, "{d}: mean AUROC {mean}");
        let fpr = one["false_positive_rate_at_threshold"][d].as_f64().unwrap();
        assert!(
            fpr < 0.3,
            "{d}: false-positive rate {fpr} at the 95th percentile"
        );
    }
    assert_eq!(one["best_mean_auroc"].as_f64().unwrap(), best);
    let km = &f["kmeans"];
    assert!(km["mini_batch"]["inertia"].as_f64().unwrap() >= 0.0);
    assert!(km["lloyd"]["inertia"].as_f64().unwrap() > 0.0);
    let sensor = &f["sensor"]["detectors"];
    for d in DETECTORS {
        for fault in FAULTS {
            let r = sensor[d]["recall_by_fault"][fault].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&r));
        }
        // A stuck axis is unmistakable.
        assert_eq!(
            sensor[d]["recall_by_fault"]["stuck_sensor"].as_f64(),
            Some(1.0)
        );
    }
    for plot in &report.plots {
        assert!(out.path().join(plot).metadata().unwrap().len() > 1000);
    }
    assert_eq!(report.plots.len(), 2);
}

#[test]
fn roc_curve_area_matches_the_rank_statistic() {
    let mut rng = Rng::new(3);
    let anomalous: Vec<bool> = (0..2000).map(|i| i % 3 == 0).collect();
    let scores: Vec<f32> = anomalous
        .iter()
        .map(|&a| rng.normal() + if a { 1.0 } else { 0.0 })
        .collect();
    // Every point kept: the trapezoids under the curve are the AUROC (no ties here).
    let curve = roc_curve(&anomalous, &scores, scores.len());
    assert_eq!(curve.first(), Some(&(0.0, 0.0)));
    assert_eq!(curve.last(), Some(&(1.0, 1.0)));
    let area: f64 = curve
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum();
    let auc = roc_auc(&anomalous, &scores, &mut vec![0; scores.len()]).unwrap();
    assert!((area - auc).abs() < 1e-9, "{area} vs {auc}");
    let coarse = roc_curve(&anomalous, &scores, 50);
    assert!(
        coarse.len() <= 52
            && coarse
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
    );
}

#[test]
fn histograms_are_fractions_of_each_group() {
    let anomalous: Vec<bool> = (0..1000).map(|i| i >= 700).collect();
    let scores: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    let [normal, anomaly] = histograms(&anomalous, &scores, 10);
    for h in [&normal, &anomaly] {
        assert_eq!(h.len(), 10);
        assert!((h.iter().map(|p| p.1).sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // Scores 0..699 are normal: none of them above the 8th bin's upper edge (bins ≈ 98.9 wide).
    assert_eq!(normal[8].1 + normal[9].1, 0.0);
    assert_eq!(anomaly[0].1, 0.0);
}
