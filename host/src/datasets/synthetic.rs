//! Synthetic datasets, deterministic for a seed: Gaussian blobs (classification) and
//! Friedman #1 (regression). They stand in for the real data where it is not installed.

use edgeml_core::rng::Rng;
use ndarray::Array2;

use super::{DataError, Dataset, Split, Targets};

/// Half-width of the box the blob centres are drawn from (uniform in `[-10, 10]^d`).
pub const CENTER_BOX: f32 = 10.0;

/// `n` points in `d` dimensions around `classes` centres drawn uniformly from
/// `[-CENTER_BOX, CENTER_BOX]^d`; point `i` belongs to class `i % classes` and is its centre
/// plus `spread` times standard normal noise per coordinate. Labels must fit in a u8.
pub fn blobs(
    n: usize,
    d: usize,
    classes: usize,
    spread: f32,
    seed: u64,
) -> Result<Dataset, DataError> {
    if classes == 0 || classes > 256 || d == 0 || !(spread.is_finite() && spread >= 0.0) {
        return Err(DataError::Parameters(format!(
            "blobs need 1..=256 classes, d ≥ 1 and a finite spread ≥ 0 (got classes={classes}, d={d}, spread={spread})"
        )));
    }
    let mut rng = Rng::new(seed);
    let centers: Vec<f32> = (0..classes * d)
        .map(|_| rng.uniform(-CENTER_BOX, CENTER_BOX))
        .collect();
    let mut features = Array2::<f32>::zeros((n, d));
    let mut labels = Vec::with_capacity(n);
    for (i, mut row) in features.rows_mut().into_iter().enumerate() {
        let class = i % classes;
        let center = &centers[class * d..(class + 1) * d];
        for (x, &c) in row.iter_mut().zip(center) {
            *x = c + spread * rng.normal();
        }
        labels.push(class as u8);
    }
    Ok(Dataset {
        features,
        targets: Targets::Classes(labels),
        feature_names: (0..d).map(|j| format!("x{j}")).collect(),
        class_names: (0..classes).map(|c| format!("class {c}")).collect(),
        source: format!(
            "synthetic Gaussian blobs (n={n}, d={d}, classes={classes}, spread={spread}, seed={seed})"
        ),
        synthetic: true,
    })
}

/// Friedman #1: `x ~ U[0,1]^d` (`d ≥ 5`) and
/// `y = 10 sin(π x0 x1) + 20 (x2 − 0.5)² + 10 x3 + 5 x4 + noise · N(0, 1)`; features
/// beyond the fifth are irrelevant.
pub fn friedman1(n: usize, d: usize, noise: f32, seed: u64) -> Result<Dataset, DataError> {
    if d < 5 || !(noise.is_finite() && noise >= 0.0) {
        return Err(DataError::Parameters(format!(
            "Friedman #1 needs d ≥ 5 and a finite noise ≥ 0 (got d={d}, noise={noise})"
        )));
    }
    let mut rng = Rng::new(seed);
    let mut features = Array2::<f32>::zeros((n, d));
    let mut targets = Vec::with_capacity(n);
    for mut row in features.rows_mut() {
        for x in row.iter_mut() {
            *x = rng.uniform_f32();
        }
        let x: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        let y = 10.0 * (std::f64::consts::PI * x[0] * x[1]).sin()
            + 20.0 * (x[2] - 0.5).powi(2)
            + 10.0 * x[3]
            + 5.0 * x[4];
        targets.push(y as f32 + noise * rng.normal());
    }
    Ok(Dataset {
        features,
        targets: Targets::Regression(targets),
        feature_names: (0..d).map(|j| format!("x{j}")).collect(),
        class_names: Vec::new(),
        source: format!("synthetic Friedman #1 (n={n}, d={d}, noise={noise}, seed={seed})"),
        synthetic: true,
    })
}

/// A 10-class image-like stand-in: blobs with 784 features squashed into `[0, 1]` by a
/// logistic function, split into `train` and `test` rows drawn from the same centres.
pub fn image_like_split(
    train: usize,
    test: usize,
    class_names: &[&str],
    seed: u64,
) -> Result<Split, DataError> {
    let all = blobs(train + test, 784, class_names.len(), 4.0, seed)?;
    let squash = |x: f32| 1.0 / (1.0 + (-x / 4.0).exp());
    let features = all.features.mapv(squash);
    let Targets::Classes(labels) = all.targets else {
        return Err(DataError::Parameters(
            "blobs returned regression targets".into(),
        ));
    };
    let part = |rows: std::ops::Range<usize>, name: &str| Dataset {
        features: features.slice(ndarray::s![rows.clone(), ..]).to_owned(),
        targets: Targets::Classes(labels[rows].to_vec()),
        feature_names: all.feature_names.clone(),
        class_names: class_names.iter().map(|s| s.to_string()).collect(),
        source: format!("{} [{name}]", all.source),
        synthetic: true,
    };
    Ok(Split {
        train: part(0..train, "train"),
        test: part(train..train + test, "test"),
    })
}

/// Rows of the California Housing stand-in (as many as the real file).
pub const CALIFORNIA_STAND_IN_ROWS: usize = 20_640;
/// Rows of the Fashion-MNIST stand-in's training part when a caller asks for the full size.
pub const FASHION_STAND_IN_TRAIN: usize = 60_000;

/// The stand-in for California Housing, used by every experiment alike: Friedman #1 with 8
/// features (noise 1), its target divided by 5 so that it spans `[0, 6)` like California's
/// $100k values (Friedman #1's noiseless range is `[0, 30]`), so the lab's six classes
/// ([`super::california::class_of`]) mean the same thing on both.
pub fn california_stand_in(seed: u64) -> Result<Dataset, DataError> {
    let mut data = friedman1(CALIFORNIA_STAND_IN_ROWS, 8, 1.0, seed)?;
    if let Targets::Regression(values) = &mut data.targets {
        values.iter_mut().for_each(|y| *y /= 5.0);
    }
    data.source
        .push_str(", target / 5 as California's $100k scale");
    Ok(data)
}

/// The stand-in for Fashion-MNIST, used by every experiment alike: [`image_like_split`] with
/// Fashion-MNIST's ten class names.
pub fn fashion_stand_in(train: usize, test: usize, seed: u64) -> Result<Split, DataError> {
    image_like_split(train, test, &super::idx::FASHION_CLASSES, seed)
}
