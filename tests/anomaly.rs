//! Anomaly scores and thresholds against independent references: Welford against a two-pass
//! f64 mean and variance, percentiles against numpy's rule on a sorted copy, ROC AUC against
//! counting every (positive, negative) pair, k-NN and centroid scores against brute force in
//! f64, and an autoencoder that learns a low-dimensional subspace and then scores points off
//! it above points on it.

use edgeml_core::anomaly::{
    autoencoder_topology, corrupt, percentile, train_step, CentroidDistance, Corruption, Detector,
    KnnDistance, Reconstruction, ScoreSource, Threshold, Welford,
};
use edgeml_core::eval::roc_auc;
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::{KnnIndex, Metric, Points, Search};
use edgeml_core::nn::{self, Activation, Loss, Optimizer, TrainConfig};
use edgeml_core::rng::Rng;
use edgeml_core::Error;
use proptest::prelude::*;

fn two_pass(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var)
}

fn auc_by_pairs(positive: &[bool], scores: &[f32]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (i, &p) in positive.iter().enumerate() {
        for (j, &q) in positive.iter().enumerate() {
            if p && !q {
                pairs += 1.0;
                if scores[i] > scores[j] {
                    wins += 1.0;
                } else if scores[i] == scores[j] {
                    wins += 0.5;
                }
            }
        }
    }
    wins / pairs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn welford_matches_two_pass(
        values in prop::collection::vec(-1e3f32..1e3, 1..200), offset in -1e4f32..1e4,
    ) {
        let shifted: Vec<f32> = values.iter().map(|v| v + offset).collect();
        let mut w = Welford::new();
        w.extend(&shifted).unwrap();
        let (mean, var) = two_pass(&shifted);
        prop_assert_eq!(w.count(), shifted.len() as u64);
        prop_assert!((w.mean().unwrap() - mean).abs() <= 1e-9 * (1.0 + mean.abs()));
        prop_assert!((w.variance().unwrap() - var).abs() <= 1e-9 * (1.0 + var));
        if shifted.len() > 1 {
            let n = shifted.len() as f64;
            prop_assert!((w.sample_variance().unwrap() - var * n / (n - 1.0)).abs() <= 1e-9 * (1.0 + var));
        }
    }

    #[test]
    fn percentile_matches_numpy_rule(
        values in prop::collection::vec(-100f32..100.0, 1..100), q in 0f32..=100.0,
    ) {
        let mut sorted: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        sorted.sort_by(f64::total_cmp);
        let pos = f64::from(q) / 100.0 * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        let want = sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo]);
        let mut buffer = values.clone();
        let got = f64::from(percentile(&mut buffer, q).unwrap());
        prop_assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "{got} vs {want}");
    }

    #[test]
    fn roc_auc_matches_pair_counting(
        cases in prop::collection::vec((any::<bool>(), 0u8..12), 2..80),
    ) {
        let positive: Vec<bool> = cases.iter().map(|c| c.0).collect();
        // Few distinct scores, so ties are common.
        let scores: Vec<f32> = cases.iter().map(|c| f32::from(c.1)).collect();
        prop_assume!(positive.iter().any(|&p| p) && positive.iter().any(|&p| !p));
        let mut order = vec![0u32; scores.len()];
        let got = roc_auc(&positive, &scores, &mut order).unwrap();
        prop_assert!((got - auc_by_pairs(&positive, &scores)).abs() < 1e-12);
    }

    #[test]
    fn knn_and_centroid_scores_match_brute_force(
        n in 4usize..50, d in 1usize..6, k in 1usize..4, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut normal = vec![0.0f32; n * d];
        rng.fill_normal(&mut normal, 0.0, 1.0);
        let mut queries = vec![0.0f32; 10 * d];
        rng.fill_normal(&mut queries, 0.0, 2.0);
        let points = Points::new(&normal, n, d).unwrap();
        let index = KnnIndex::new(points, Search::BruteForce, &mut [], &mut []).unwrap();
        let mut knn = KnnDistance::<4>::new(index, Metric::SquaredL2, k).unwrap();
        let centroids = &normal[..2 * d];
        let mut nearest = CentroidDistance::new(centroids, d).unwrap();
        let mut batch = vec![0.0f32; 10];
        knn.score_batch(&queries, &mut batch).unwrap();
        for (q, &batched) in queries.chunks_exact(d).zip(&batch) {
            let mut dists: Vec<f64> = normal.chunks_exact(d).map(|x| {
                x.iter().zip(q).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum()
            }).collect();
            dists.sort_by(f64::total_cmp);
            let want = dists[k - 1];
            let got = f64::from(knn.score(q).unwrap());
            prop_assert!((got - want).abs() <= 1e-4 * (1.0 + want));
            prop_assert_eq!(batched, got as f32);
            let want_c = dists_to(centroids, d, q);
            let got_c = f64::from(nearest.score(q).unwrap());
            prop_assert!((got_c - want_c).abs() <= 1e-4 * (1.0 + want_c));
        }
    }
}

fn dists_to(centroids: &[f32], d: usize, q: &[f32]) -> f64 {
    centroids
        .chunks_exact(d)
        .map(|c| {
            c.iter()
                .zip(q)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn detector_threshold_is_mean_plus_z_std_of_calibration_scores() {
    let centroids = [0.0f32, 0.0];
    let source = CentroidDistance::new(&centroids, 2).unwrap();
    let mut detector = Detector::new(source, 3.0).unwrap();
    assert_eq!(detector.threshold(), f32::INFINITY);
    let mut rng = Rng::new(5);
    let mut scores = Vec::new();
    for _ in 0..500 {
        let x = [rng.normal(), rng.normal()];
        scores.push(detector.calibrate(&x).unwrap());
    }
    let (mean, var) = two_pass(&scores);
    let want = mean + 3.0 * var.sqrt();
    assert!((f64::from(detector.threshold()) - want).abs() < 1e-4 * want);
    let from_scores = Threshold::MeanStd { z: 3.0 }
        .from_scores(&mut scores.clone())
        .unwrap();
    assert!((f64::from(from_scores) - want).abs() < 1e-4 * want);
    let (score, flagged) = detector.check(&[10.0, 0.0]).unwrap();
    assert!((score - 100.0).abs() < 1e-4 && flagged);
    assert!(!detector.check(&[0.1, 0.1]).unwrap().1);
    // The 90th percentile flags about a tenth of the normal scores.
    let mut copy = scores.clone();
    let p90 = Threshold::Percentile(90.0).from_scores(&mut copy).unwrap();
    let above = scores.iter().filter(|&&s| s > p90).count();
    assert!(
        (45..=55).contains(&above),
        "{above} above the 90th percentile"
    );
}

/// Points on a 2-dimensional plane inside 8 dimensions (normal) and off it (anomalous), all
/// within [0, 1].
fn plane(rng: &mut Rng, rows: usize, off: bool) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * 8);
    for _ in 0..rows {
        let (a, b) = (rng.uniform_f32(), rng.uniform_f32());
        for j in 0..8 {
            let w = j as f32 / 7.0;
            let mut v = 0.1 + 0.8 * (w * a + (1.0 - w) * b);
            if off {
                v += if j % 2 == 0 { 0.1 } else { -0.1 };
            }
            out.push(v);
        }
    }
    out
}

fn train_and_score(loss: Loss, corruption: Corruption) -> (f32, f32, f64) {
    let sizes = [8, 6, 2, 6, 8];
    let output = if loss == Loss::MeanSquaredError {
        Activation::Sigmoid
    } else {
        Activation::Identity
    };
    let topology = autoencoder_topology(&sizes, Activation::Tanh, output).unwrap();
    let config = TrainConfig::new(16, loss, Optimizer::adam(0.01));
    let mut workspace = vec![0.0; nn::workspace_len(&sizes, false, 16, 2, false)];
    let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut workspace).unwrap();
    let mut rng = Rng::new(9);
    mlp.init(&mut rng);
    let train = plane(&mut rng, 512, false);
    let mut noisy = vec![0.0; 16 * 8];
    let score_all = |mlp: &nn::Mlp<'_>, x: &[f32]| {
        let mut scratch = vec![0.0; Reconstruction::scratch_len(&sizes, 32)];
        let mut out = vec![0.0; 32 * 8];
        let mut source =
            Reconstruction::new(mlp, loss, Dispatch::PORTABLE, 32, &mut scratch, &mut out).unwrap();
        let mut scores = vec![0.0; x.len() / 8];
        source.score_batch(x, &mut scores).unwrap();
        // Check one row against the forward pass and an f64 error written here.
        let mut recon = vec![0.0; 8];
        let mut s = vec![0.0; nn::inference_scratch_len(&sizes, 1)];
        mlp.forward(Dispatch::PORTABLE, &x[..8], &mut s, &mut recon)
            .unwrap();
        let want: f64 = x[..8]
            .iter()
            .zip(&recon)
            .map(|(&t, &y)| {
                let r = if loss == Loss::MeanSquaredError {
                    f64::from(y)
                } else {
                    1.0 / (1.0 + (-f64::from(y)).exp())
                };
                (r - f64::from(t)).powi(2)
            })
            .sum::<f64>()
            / 8.0;
        assert!((f64::from(scores[0]) - want).abs() <= 1e-5 * (1.0 + want));
        assert!((f64::from(source.score(&x[..8]).unwrap()) - want).abs() <= 1e-5 * (1.0 + want));
        scores
    };
    let before: f32 = score_all(&mlp, &train).iter().sum::<f32>() / 512.0;
    for _ in 0..60 {
        for batch in train.chunks_exact(16 * 8) {
            train_step(
                &mut trainer,
                &mut mlp,
                batch,
                &mut noisy,
                corruption,
                &mut rng,
            )
            .unwrap();
        }
    }
    let after: f32 = score_all(&mlp, &train).iter().sum::<f32>() / 512.0;
    let normal = plane(&mut rng, 200, false);
    let anomalous = plane(&mut rng, 200, true);
    let mut scores = score_all(&mlp, &normal);
    scores.extend(score_all(&mlp, &anomalous));
    let positive: Vec<bool> = (0..400).map(|i| i >= 200).collect();
    let auc = roc_auc(&positive, &scores, &mut vec![0; 400]).unwrap();
    (before, after, auc)
}

#[test]
fn autoencoder_learns_the_normal_subspace() {
    for (loss, corruption) in [
        (Loss::MeanSquaredError, Corruption::None),
        (Loss::BinaryCrossEntropyWithLogits, Corruption::None),
        (Loss::MeanSquaredError, Corruption::Gaussian(0.02)),
    ] {
        let (before, after, auc) = train_and_score(loss, corruption);
        assert!(after < 0.2 * before, "{loss:?}: error {before} → {after}");
        assert!(auc > 0.9, "{loss:?} {corruption:?}: AUROC {auc}");
    }
}

#[test]
fn corruption_masks_the_asked_fraction() {
    let x = vec![1.0f32; 10_000];
    let mut noisy = vec![0.0; 10_000];
    let mut rng = Rng::new(1);
    corrupt(&x, &mut noisy, Corruption::Mask(0.25), &mut rng).unwrap();
    let zeros = noisy.iter().filter(|&&v| v == 0.0).count();
    assert!((2300..2700).contains(&zeros), "{zeros} masked");
    assert!(noisy.iter().all(|&v| v == 0.0 || v == 1.0));
    corrupt(&x, &mut noisy, Corruption::Gaussian(0.5), &mut rng).unwrap();
    let (mean, var) = two_pass(&noisy);
    assert!((mean - 1.0).abs() < 0.03 && (var.sqrt() - 0.5).abs() < 0.03);
}

#[test]
fn bad_inputs_are_errors() {
    assert!(matches!(percentile(&mut [], 50.0), Err(Error::Empty)));
    assert!(matches!(
        percentile(&mut [1.0], 101.0),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        percentile(&mut [1.0, f32::NAN], 50.0),
        Err(Error::NonFinite { index: 1 })
    ));
    let mut w = Welford::new();
    assert!(matches!(w.mean(), Err(Error::Empty)));
    assert!(matches!(
        w.push(f32::INFINITY),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(w.count(), 0);
    assert!(matches!(
        autoencoder_topology(&[8, 4, 6], Activation::Relu, Activation::Identity),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        autoencoder_topology(&[8, 9, 8], Activation::Relu, Activation::Identity),
        Err(Error::InvalidParameter { .. })
    ));
    let mut rng = Rng::new(0);
    assert!(matches!(
        corrupt(&[1.0], &mut [0.0], Corruption::Mask(1.0), &mut rng),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        CentroidDistance::new(&[1.0, 2.0, 3.0], 2),
        Err(Error::ShapeMismatch { .. })
    ));
    let data = [0.0f32, 1.0];
    let index = KnnIndex::new(
        Points::new(&data, 2, 1).unwrap(),
        Search::BruteForce,
        &mut [],
        &mut [],
    )
    .unwrap();
    assert!(matches!(
        KnnDistance::<4>::new(index, Metric::SquaredL2, 3),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        KnnDistance::<2>::new(index, Metric::SquaredL2, 3),
        Err(Error::CapacityExceeded { .. })
    ));
    assert!(matches!(
        Detector::new(CentroidDistance::new(&data, 1).unwrap(), f32::NAN),
        Err(Error::InvalidParameter { .. })
    ));
    // A classifier loss cannot train an autoencoder.
    let sizes = [2, 1, 2];
    let topology = autoencoder_topology(&sizes, Activation::Tanh, Activation::Identity).unwrap();
    let config = TrainConfig::new(1, Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1));
    let mut workspace = vec![0.0; nn::workspace_len(&sizes, false, 1, 0, false)];
    let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut workspace).unwrap();
    assert!(matches!(
        train_step(
            &mut trainer,
            &mut mlp,
            &[0.5, 0.5],
            &mut [0.0; 2],
            Corruption::None,
            &mut rng
        ),
        Err(Error::InvalidParameter { .. })
    ));
}
