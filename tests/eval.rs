//! Metrics against direct f64 formulas (and hand-checked tiny cases), ROC AUC against the
//! O(n²) pairwise definition, and the baselines.

use edgeml_core::eval::{
    accuracy, average_scores, class_scores, confusion_matrix, log_loss, mae, mse, r2, rmse,
    roc_auc, ClassScores, MajorityClass, RandomClassifier,
};
use edgeml_core::rng::{Pcg64Numpy, Rng};
use edgeml_core::Error;
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

fn labelled_pairs() -> impl Strategy<Value = (usize, Vec<u32>, Vec<u32>)> {
    (1usize..6, 1usize..60).prop_flat_map(|(classes, n)| {
        (
            Just(classes),
            prop::collection::vec(0..classes as u32, n),
            prop::collection::vec(0..classes as u32, n),
        )
    })
}

/// Per-class (precision, recall, f1, support) straight from the label pairs.
fn reference_scores(truth: &[u32], predicted: &[u32], classes: usize) -> Vec<(f64, f64, f64, u64)> {
    (0..classes as u32)
        .map(|c| {
            let tp = truth
                .iter()
                .zip(predicted)
                .filter(|&(&t, &p)| t == c && p == c)
                .count() as f64;
            let actual = truth.iter().filter(|&&t| t == c).count() as f64;
            let predicted_c = predicted.iter().filter(|&&p| p == c).count() as f64;
            let precision = if predicted_c > 0.0 {
                tp / predicted_c
            } else {
                0.0
            };
            let recall = if actual > 0.0 { tp / actual } else { 0.0 };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            (precision, recall, f1, actual as u64)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn classification_metrics_match_direct_formulas((classes, truth, predicted) in labelled_pairs()) {
        let n = truth.len();
        let correct = (0..n).filter(|&i| truth[i] == predicted[i]).count();
        prop_assert!(close(accuracy(&truth, &predicted).unwrap(), correct as f64 / n as f64));

        let mut confusion = vec![0u32; classes * classes];
        confusion_matrix(&truth, &predicted, classes, &mut confusion).unwrap();
        for t in 0..classes {
            for p in 0..classes {
                let count = (0..n).filter(|&i| truth[i] as usize == t && predicted[i] as usize == p).count();
                prop_assert_eq!(confusion[t * classes + p] as usize, count);
            }
        }

        let mut per_class = vec![ClassScores::default(); classes];
        class_scores(&confusion, classes, &mut per_class).unwrap();
        let reference = reference_scores(&truth, &predicted, classes);
        for (got, want) in per_class.iter().zip(&reference) {
            prop_assert!(close(got.scores.precision, want.0));
            prop_assert!(close(got.scores.recall, want.1));
            prop_assert!(close(got.scores.f1, want.2));
            prop_assert_eq!(got.support, want.3);
        }
        let (macro_avg, weighted) = average_scores(&per_class).unwrap();
        let c = classes as f64;
        prop_assert!(close(macro_avg.f1, reference.iter().map(|r| r.2).sum::<f64>() / c));
        prop_assert!(close(macro_avg.precision, reference.iter().map(|r| r.0).sum::<f64>() / c));
        prop_assert!(close(weighted.recall, reference.iter().map(|r| r.1 * r.3 as f64).sum::<f64>() / n as f64));
        prop_assert!(close(weighted.f1, reference.iter().map(|r| r.2 * r.3 as f64).sum::<f64>() / n as f64));
        // Weighted recall is accuracy.
        prop_assert!(close(weighted.recall, correct as f64 / n as f64));
    }

    #[test]
    fn regression_metrics_match_direct_formulas(
        pairs in prop::collection::vec((-1e3f32..1e3, -1e3f32..1e3), 1..80),
    ) {
        let truth: Vec<f32> = pairs.iter().map(|p| p.0).collect();
        let predicted: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        let n = truth.len() as f64;
        let errors: Vec<f64> = pairs.iter().map(|&(t, p)| f64::from(t) - f64::from(p)).collect();
        let sse: f64 = errors.iter().map(|e| e * e).sum();
        let mean = truth.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
        let sst: f64 = truth.iter().map(|&t| (f64::from(t) - mean).powi(2)).sum();
        prop_assert!(close(mse(&truth, &predicted).unwrap(), sse / n));
        prop_assert!(close(rmse(&truth, &predicted).unwrap(), (sse / n).sqrt()));
        prop_assert!(close(mae(&truth, &predicted).unwrap(), errors.iter().map(|e| e.abs()).sum::<f64>() / n));
        let expected_r2 = if sst == 0.0 { if sse == 0.0 { 1.0 } else { 0.0 } } else { 1.0 - sse / sst };
        prop_assert!((r2(&truth, &predicted).unwrap() - expected_r2).abs() <= 1e-9 * (1.0 + expected_r2.abs()));
    }

    #[test]
    fn log_loss_matches_direct_formula(
        (classes, rows) in (1usize..5, 1usize..30),
        raw in prop::collection::vec(0.0f32..=1.0, 150),
        labels_raw in prop::collection::vec(0u32..5, 30),
    ) {
        let probabilities = &raw[..rows * classes];
        let labels: Vec<u32> = labels_raw[..rows].iter().map(|&l| l % classes as u32).collect();
        let expected = -labels
            .iter()
            .enumerate()
            .map(|(i, &l)| f64::from(probabilities[i * classes + l as usize]).clamp(1e-15, 1.0 - 1e-15).ln())
            .sum::<f64>()
            / rows as f64;
        let got = log_loss(&labels, probabilities, classes).unwrap();
        prop_assert!((got - expected).abs() <= 1e-12 * (1.0 + expected.abs()));
    }

    #[test]
    fn roc_auc_matches_pairwise_definition(
        samples in prop::collection::vec((any::<bool>(), -5i8..5), 2..80),
        scale in prop::sample::select(vec![1.0f32, 0.1, -3.0]),
    ) {
        let positive: Vec<bool> = samples.iter().map(|s| s.0).collect();
        let scores: Vec<f32> = samples.iter().map(|s| f32::from(s.1) * scale).collect();
        let mut order = vec![0u32; scores.len()];
        let result = roc_auc(&positive, &scores, &mut order);
        let pos: Vec<f32> = (0..scores.len()).filter(|&i| positive[i]).map(|i| scores[i]).collect();
        let neg: Vec<f32> = (0..scores.len()).filter(|&i| !positive[i]).map(|i| scores[i]).collect();
        if pos.is_empty() || neg.is_empty() {
            let refused = matches!(result, Err(Error::InvalidParameter { .. }));
            prop_assert!(refused);
        } else {
            let mut wins = 0.0f64;
            for &p in &pos {
                for &n in &neg {
                    wins += if p > n { 1.0 } else if p == n { 0.5 } else { 0.0 };
                }
            }
            let expected = wins / (pos.len() * neg.len()) as f64;
            prop_assert!(close(result.unwrap(), expected));
        }
    }

    #[test]
    fn majority_class_is_the_most_frequent_smallest_label(
        labels in prop::collection::vec(0u32..6, 1..60),
    ) {
        let mut counts = [0u32; 6];
        let majority = MajorityClass::fit(&labels, &mut counts).unwrap();
        let count = |c: u32| labels.iter().filter(|&&l| l == c).count();
        let best = (0..6).map(count).max().unwrap();
        prop_assert_eq!(majority.class(), (0..6).find(|&c| count(c) == best).unwrap());
        let mut out = [9u32; 4];
        majority.predict(&mut out);
        prop_assert_eq!(out, [majority.class(); 4]);
    }

    #[test]
    fn random_classifier_draws_only_seen_classes(
        labels in prop::collection::vec(0u32..8, 1..60),
        seed in any::<u64>(),
    ) {
        let mut classes = [0u32; 8];
        let baseline = RandomClassifier::fit(&labels, &mut classes).unwrap();
        let mut unique = labels.clone();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(baseline.classes(), &unique[..]);
        let mut out = [0u32; 50];
        baseline.predict(&mut Rng::new(seed), &mut out);
        prop_assert!(out.iter().all(|c| unique.contains(c)));
        let mut again = [0u32; 50];
        baseline.predict(&mut Rng::new(seed), &mut again);
        prop_assert_eq!(out, again);
    }
}

#[test]
fn hand_checked_classification_case() {
    // truth 0 0 1 1 2, predicted 0 1 1 1 0:
    // class 0: tp 1 of 2 predicted, 2 actual → P = R = F1 = 1/2
    // class 1: tp 2 of 3 predicted, 2 actual → P = 2/3, R = 1, F1 = 0.8
    // class 2: nothing predicted, 1 actual → 0, 0, 0
    let truth = [0, 0, 1, 1, 2];
    let predicted = [0, 1, 1, 1, 0];
    assert_eq!(accuracy(&truth, &predicted), Ok(0.6));
    let mut confusion = [0u32; 9];
    confusion_matrix(&truth, &predicted, 3, &mut confusion).unwrap();
    assert_eq!(confusion, [1, 1, 0, 0, 2, 0, 1, 0, 0]);
    let mut per_class = [ClassScores::default(); 3];
    class_scores(&confusion, 3, &mut per_class).unwrap();
    assert!(close(per_class[1].scores.precision, 2.0 / 3.0));
    assert!(close(per_class[1].scores.f1, 0.8));
    assert_eq!(per_class[2].scores.f1, 0.0);
    let (macro_avg, weighted) = average_scores(&per_class).unwrap();
    assert!(close(macro_avg.f1, 1.3 / 3.0));
    assert!(close(weighted.f1, 0.52));
}

#[test]
fn hand_checked_regression_and_probability_cases() {
    // errors 0, 0, −2: MSE 4/3, MAE 2/3, Σ(t − t̄)² = 2 → R² = 1 − 4/2 = −1.
    let truth = [1.0, 2.0, 3.0];
    let predicted = [1.0, 2.0, 5.0];
    assert!(close(mse(&truth, &predicted).unwrap(), 4.0 / 3.0));
    assert!(close(mae(&truth, &predicted).unwrap(), 2.0 / 3.0));
    assert!(close(r2(&truth, &predicted).unwrap(), -1.0));
    assert_eq!(r2(&[2.0, 2.0], &[2.0, 2.0]), Ok(1.0));
    assert_eq!(r2(&[2.0, 2.0], &[2.0, 3.0]), Ok(0.0));
    // Probabilities of the true classes: 0.5 and 0.25 → (ln 2 + ln 4) / 2 = 1.5 ln 2.
    let loss = log_loss(&[0, 1], &[0.5, 0.5, 0.75, 0.25], 2).unwrap();
    assert!(close(loss, 1.5 * core::f64::consts::LN_2));
    // scikit-learn's roc_auc_score example: labels 0 0 1 1, scores .1 .4 .35 .8 → 0.75.
    let mut order = [0u32; 4];
    let auc = roc_auc(
        &[false, false, true, true],
        &[0.1, 0.4, 0.35, 0.8],
        &mut order,
    )
    .unwrap();
    assert!(close(auc, 0.75));
}

#[test]
fn random_classifier_matches_numpy() {
    // numpy: r = np.random.default_rng(42); np.unique(labels)[r.integers(0, 6, size=7)] with
    // labels covering 0..6 printed [0, 4, 3, 2, 2, 5, 0]; and with default_rng(7) and
    // classes [1, 3, 4]: [4, 3, 4, 4, 3, 4, 4, 1].
    let mut classes = [0u32; 6];
    let baseline = RandomClassifier::fit(&[5, 0, 3, 1, 2, 4, 0], &mut classes).unwrap();
    let mut out = [0u32; 7];
    baseline.predict(&mut Pcg64Numpy::new(42), &mut out);
    assert_eq!(out, [0, 4, 3, 2, 2, 5, 0]);
    let mut classes = [0u32; 5];
    let baseline = RandomClassifier::fit(&[4, 1, 3, 3], &mut classes).unwrap();
    let mut out = [0u32; 8];
    baseline.predict(&mut Pcg64Numpy::new(7), &mut out);
    assert_eq!(out, [4, 3, 4, 4, 3, 4, 4, 1]);
}

#[test]
fn bad_inputs_are_errors() {
    assert_eq!(accuracy(&[], &[]), Err(Error::Empty));
    assert!(matches!(
        accuracy(&[0, 1], &[0]),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut confusion = [0u32; 4];
    assert!(matches!(
        confusion_matrix(&[0, 2], &[0, 1], 2, &mut confusion),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        confusion_matrix(&[0, 1], &[0, 1], 2, &mut [0u32; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        class_scores(&confusion, 2, &mut [ClassScores::default(); 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(class_scores(&[], 0, &mut []), Err(Error::Empty));
    assert_eq!(average_scores(&[]), Err(Error::Empty));
    assert_eq!(mse(&[], &[]), Err(Error::Empty));
    assert!(matches!(
        mae(&[1.0], &[1.0, 2.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(
        rmse(&[1.0, f32::NAN], &[1.0, 2.0]),
        Err(Error::NonFinite { index: 1 })
    );
    assert!(matches!(
        r2(&[1.0], &[f32::INFINITY]),
        Err(Error::NonFinite { index: 0 })
    ));
    assert!(matches!(
        log_loss(&[2], &[0.5, 0.5], 2),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        log_loss(&[0], &[1.5, 0.5], 2),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        log_loss(&[0], &[f32::NAN, 0.5], 2),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        log_loss(&[0], &[0.5], 2),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut order = [0u32; 2];
    assert!(matches!(
        roc_auc(&[true, true], &[0.1, 0.2], &mut order),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        roc_auc(&[true, false], &[0.1, f32::NAN], &mut order),
        Err(Error::NonFinite { index: 1 })
    ));
    assert!(matches!(
        roc_auc(&[true, false], &[0.1, 0.2], &mut [0u32; 1]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(roc_auc(&[], &[], &mut []), Err(Error::Empty));
    assert!(matches!(
        MajorityClass::fit(&[0, 3], &mut [0u32; 3]),
        Err(Error::InvalidParameter { .. })
    ));
    assert_eq!(MajorityClass::fit(&[], &mut [0u32; 3]), Err(Error::Empty));
    assert!(matches!(
        RandomClassifier::fit(&[0, 3], &mut [0u32; 3]),
        Err(Error::InvalidParameter { .. })
    ));
}
