//! The synthetic generators are deterministic per seed and have their stated statistics; the
//! `*_or_synthetic` helpers use the stand-ins on request (`--synthetic`) or where files are missing.

use edgeml_host::datasets::{self, synthetic, DataConfig, Targets};

fn classes(t: &Targets) -> &[u8] {
    match t {
        Targets::Classes(c) => c,
        Targets::Regression(_) => panic!("classes expected"),
    }
}

fn values(t: &Targets) -> &[f32] {
    match t {
        Targets::Regression(v) => v,
        Targets::Classes(_) => panic!("regression expected"),
    }
}

#[test]
fn blobs_are_deterministic_balanced_and_have_the_stated_spread() {
    let (n, d, k, spread) = (3000, 4, 3, 0.5f32);
    let a = synthetic::blobs(n, d, k, spread, 7).unwrap();
    let b = synthetic::blobs(n, d, k, spread, 7).unwrap();
    let c = synthetic::blobs(n, d, k, spread, 8).unwrap();
    assert_eq!(a.features, b.features);
    assert_eq!(a.targets, b.targets);
    assert_ne!(a.features, c.features);
    let labels = classes(&a.targets);
    // Per class: count, mean and pooled within-class standard deviation in f64.
    let mut sums = vec![vec![0.0f64; d]; k];
    let mut counts = vec![0usize; k];
    for (row, &l) in a.features.rows().into_iter().zip(labels) {
        counts[l as usize] += 1;
        for (s, &x) in sums[l as usize].iter_mut().zip(row) {
            *s += f64::from(x);
        }
    }
    assert_eq!(counts, vec![1000; 3]);
    let mut sq = 0.0;
    for (row, &l) in a.features.rows().into_iter().zip(labels) {
        for (j, &x) in row.iter().enumerate() {
            let mean = sums[l as usize][j] / counts[l as usize] as f64;
            sq += (f64::from(x) - mean).powi(2);
        }
    }
    let std = (sq / (n * d) as f64).sqrt();
    assert!(
        (std - f64::from(spread)).abs() < 0.03,
        "within-class std {std}"
    );
    for class in &sums {
        for s in class {
            let mean = s / 1000.0;
            assert!(
                mean.abs() <= f64::from(synthetic::CENTER_BOX) + 0.1,
                "{mean}"
            );
        }
    }
}

#[test]
fn friedman1_follows_its_formula_and_noise_level() {
    let clean = synthetic::friedman1(4000, 7, 0.0, 3).unwrap();
    let noisy = synthetic::friedman1(4000, 7, 1.0, 3).unwrap();
    assert_eq!(clean.features.dim(), (4000, 7));
    assert!(clean.features.iter().all(|&x| (0.0..1.0).contains(&x)));
    let formula = |x: &[f64]| {
        10.0 * (std::f64::consts::PI * x[0] * x[1]).sin()
            + 20.0 * (x[2] - 0.5).powi(2)
            + 10.0 * x[3]
            + 5.0 * x[4]
    };
    for (row, &y) in clean
        .features
        .rows()
        .into_iter()
        .zip(values(&clean.targets))
    {
        let x: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        assert!((f64::from(y) - formula(&x)).abs() < 1e-4);
    }
    // Same seed, same features; the residual is the noise, of standard deviation 1.
    let residuals: Vec<f64> = noisy
        .features
        .rows()
        .into_iter()
        .zip(values(&noisy.targets))
        .map(|(row, &y)| {
            let x: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
            f64::from(y) - formula(&x)
        })
        .collect();
    let mean = residuals.iter().sum::<f64>() / residuals.len() as f64;
    let std =
        (residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / residuals.len() as f64).sqrt();
    assert!(
        mean.abs() < 0.06 && (std - 1.0).abs() < 0.05,
        "mean {mean} std {std}"
    );
    assert_eq!(
        noisy.features,
        synthetic::friedman1(4000, 7, 1.0, 3).unwrap().features
    );
    assert!(synthetic::friedman1(10, 4, 0.0, 1).is_err());
}

#[test]
fn stand_ins_on_request_and_errors_for_broken_or_missing_named_files() {
    let empty = tempfile::tempdir().unwrap();
    let config = DataConfig {
        synthetic: true,
        ..DataConfig::default()
    };
    let split = datasets::load_fashion_mnist_or_synthetic(&config, 50, 20, 1).unwrap();
    assert!(split.train.synthetic && split.test.synthetic);
    assert_eq!(split.train.features.dim(), (50, 784));
    assert_eq!(split.test.features.dim(), (20, 784));
    assert!(split.train.source.contains("stand-in"));
    assert!(split
        .train
        .features
        .iter()
        .all(|&x| (0.0..=1.0).contains(&x)));
    let housing = datasets::load_california_or_synthetic(&config, 1).unwrap();
    assert!(housing.synthetic);
    assert_eq!(
        housing.features.dim(),
        (synthetic::CALIFORNIA_STAND_IN_ROWS, 8)
    );
    // On California's $100k scale: the lab's six classes are all well populated.
    let Targets::Regression(y) = &housing.targets else {
        panic!("regression expected")
    };
    let mut counts = [0usize; 6];
    for &t in y {
        counts[datasets::california::class_of(t) as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| c > y.len() / 100),
        "class counts {counts:?}"
    );

    // A folder the user named that lacks the files is an error naming it; a broken file is an
    // error, never replaced by synthetic data.
    let named = DataConfig {
        fashion_mnist_dir: Some(empty.path().to_path_buf()),
        california_dir: Some(empty.path().to_path_buf()),
        ..DataConfig::default()
    };
    let err = datasets::load_fashion_mnist_or_synthetic(&named, 50, 20, 1).unwrap_err();
    assert!(
        err.to_string()
            .contains(&empty.path().display().to_string()),
        "{err}"
    );
    std::fs::write(empty.path().join("cal_housing.data"), "1,2\n").unwrap();
    let err = datasets::load_california_or_synthetic(&named, 1).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}
