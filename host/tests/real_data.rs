//! Checks against the real datasets where installed; prints "skipped" where not.

use edgeml_host::datasets::{california, idx, DataConfig, Targets};

#[test]
fn california_matches_sklearn_summary() {
    let data = match california::load(&DataConfig::default()) {
        Ok(data) => data,
        Err(err) if err.is_missing() => {
            println!("skipped: {} not installed", california::FILE);
            return;
        }
        Err(err) => panic!("{err}"),
    };
    assert_eq!(data.features.dim(), (california::ROWS, 8));
    // Means over the file in f64, compared with scikit-learn's published summary.
    let mean_income = data
        .features
        .column(0)
        .iter()
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / california::ROWS as f64;
    let Targets::Regression(target) = &data.targets else {
        panic!("regression expected")
    };
    let mean_target = target.iter().map(|&v| f64::from(v)).sum::<f64>() / target.len() as f64;
    assert!(
        (mean_income - 3.8707).abs() < 1e-3,
        "mean MedInc {mean_income}"
    );
    assert!(
        (mean_target - 2.0686).abs() < 1e-3,
        "mean target {mean_target}"
    );
    // The datasets README: truncated targets give these class counts.
    let mut counts = [0usize; 6];
    for &t in target {
        counts[t as usize] += 1;
    }
    assert_eq!(counts, [3596, 8289, 4889, 2095, 779, 992]);
}

#[test]
fn fashion_mnist_has_balanced_train_split() {
    let split = match idx::load_fashion_mnist(&DataConfig::default()) {
        Ok(split) => split,
        Err(err) if err.is_missing() => {
            println!("skipped: Fashion-MNIST (train-images-idx3-ubyte.gz …) not installed");
            return;
        }
        Err(err) => panic!("{err}"),
    };
    assert_eq!(split.train.features.dim(), (60_000, 784));
    assert_eq!(split.test.features.dim(), (10_000, 784));
    let Targets::Classes(labels) = &split.train.targets else {
        panic!("classes expected")
    };
    let mut counts = [0usize; 10];
    for &l in labels {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [6000; 10]);
    assert!(split
        .train
        .features
        .iter()
        .all(|&x| (0.0..=1.0).contains(&x)));
    assert_eq!(split.train.class_names.len(), 10);
}
