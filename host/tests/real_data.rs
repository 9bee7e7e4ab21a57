//! Checks against the real datasets: California Housing ships with the repository (so it is
//! always checked); Fashion-MNIST where installed, printing "skipped" where not.

use edgeml_host::datasets::{california, idx, DataConfig, Targets};

#[test]
fn california_matches_sklearn_summary() {
    let data = california::load(&DataConfig::default()).expect("the embedded copy loads");
    assert!(!data.synthetic);
    assert!(
        data.source.contains("cal_housing.data.gz"),
        "{}",
        data.source
    );
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
        counts[california::class_of(t) as usize] += 1;
    }
    assert_eq!(counts, [3596, 8289, 4889, 2095, 779, 992]);
    // The datasets README: first and last targets of the file.
    assert_eq!(&target[..3], &[4.526, 3.585, 3.521]);
    assert_eq!(&target[target.len() - 3..], &[0.923, 0.847, 0.894]);
}

/// Writes `text` gzipped to `path`.
fn write_gz(path: &std::path::Path, text: &[u8]) {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

#[test]
fn a_named_folder_overrides_the_embedded_copy_plain_or_gzipped() {
    let embedded = california::load(&DataConfig::default()).unwrap();
    // The same rows with every target halved, as a plain file and as a .gz in another folder.
    let rows: Vec<String> = (0..california::ROWS)
        .map(|r| {
            let f = embedded.features.row(r);
            let Targets::Regression(y) = &embedded.targets else {
                unreachable!()
            };
            // Raw columns: lon, lat, age, rooms, bedrooms, population, households, income, value.
            let households = 10.0;
            format!(
                "{},{},{},{},{},{},{},{},{}",
                f[7],
                f[6],
                f[1],
                f64::from(f[2]) * households,
                f64::from(f[3]) * households,
                f[4],
                households,
                f[0],
                f64::from(y[r]) * 50_000.0
            )
        })
        .collect();
    let text = rows.join("\n");
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join(california::FILE), &text).unwrap();
    let gzipped = tempfile::tempdir().unwrap();
    write_gz(&gzipped.path().join(california::FILE_GZ), text.as_bytes());
    for dir in [plain.path(), gzipped.path()] {
        let config = DataConfig {
            california_dir: Some(dir.to_path_buf()),
            ..DataConfig::default()
        };
        let data = california::load(&config).unwrap();
        assert!(data.source.starts_with(&dir.display().to_string()));
        let (Targets::Regression(ours), Targets::Regression(base)) =
            (&data.targets, &embedded.targets)
        else {
            unreachable!()
        };
        for (a, b) in ours.iter().zip(base) {
            assert!(
                (f64::from(*a) - f64::from(*b) / 2.0).abs() < 1e-6,
                "{a} vs {b}"
            );
        }
    }
}

#[test]
fn a_named_folder_without_the_file_is_an_error_not_a_fallback() {
    let empty = tempfile::tempdir().unwrap();
    for config in [
        DataConfig {
            california_dir: Some(empty.path().to_path_buf()),
            ..DataConfig::default()
        },
        DataConfig {
            data_dir: Some(empty.path().to_path_buf()),
            ..DataConfig::default()
        },
    ] {
        let err = edgeml_host::datasets::load_california_or_synthetic(&config, 1).unwrap_err();
        assert!(err.is_missing() && !err.allows_stand_in(), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&empty.path().display().to_string()),
            "{message}"
        );
    }
    let config = DataConfig {
        data_dir: Some(empty.path().to_path_buf()),
        ..DataConfig::default()
    };
    let err =
        edgeml_host::datasets::load_fashion_mnist_or_synthetic(&config, 10, 10, 1).unwrap_err();
    assert!(!err.allows_stand_in(), "{err}");
}

#[test]
fn values_beyond_f32_are_rejected_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let line = "-122.2,37.8,41,880,129,322,126,8.3252,452600";
    let mut lines = vec![line.to_string(); california::ROWS];
    lines[7] = "-122.2,37.8,41,880,129,1e39,126,8.3252,452600".into();
    std::fs::write(dir.path().join(california::FILE), lines.join("\n")).unwrap();
    let config = DataConfig {
        california_dir: Some(dir.path().to_path_buf()),
        ..DataConfig::default()
    };
    let err = california::load(&config).unwrap_err().to_string();
    assert!(err.contains("line 8, column 6"), "{err}");
}

#[test]
fn a_gzip_bomb_stops_at_the_size_bound() {
    let dir = tempfile::tempdir().unwrap();
    write_gz(&dir.path().join(california::FILE_GZ), &vec![b'1'; 64 << 20]);
    let config = DataConfig {
        california_dir: Some(dir.path().to_path_buf()),
        ..DataConfig::default()
    };
    let err = california::load(&config).unwrap_err().to_string();
    assert!(err.contains("larger than"), "{err}");
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
