//! The plot helpers write real PNG files of the stated size.

use std::path::Path;

use edgeml_host::report::plot::{self, BarSeries, Scale, Series};

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (word(16), word(20), bytes.len())
}

#[test]
fn line_plots_linear_and_log_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let series = vec![
        Series {
            name: "squares".into(),
            points: (1..20).map(|i| (i as f64, (i * i) as f64)).collect(),
        },
        Series {
            name: "linear".into(),
            points: (1..20).map(|i| (i as f64, i as f64)).collect(),
        },
    ];
    for (scale, name) in [(Scale::Linear, "lin.png"), (Scale::Log, "log.png")] {
        let path = dir.path().join(name);
        plot::line_plot_scaled(&path, "title", "x", "y", &series, scale).unwrap();
        let (w, h, len) = png_size(&path);
        assert_eq!((w, h), plot::SIZE);
        // A blank canvas compresses to well under a kilobyte; text and lines do not.
        assert!(len > 5_000, "{len} bytes");
    }
    let empty = [Series {
        name: "none".into(),
        points: vec![],
    }];
    assert!(plot::line_plot(&dir.path().join("e.png"), "t", "x", "y", &empty).is_err());
}

#[test]
fn bar_plot_is_written_and_checks_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let groups: Vec<String> = ["knn", "mlp", "tree"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let series = vec![
        BarSeries {
            name: "train".into(),
            values: vec![0.9, 0.95, 1.0],
        },
        BarSeries {
            name: "test".into(),
            values: vec![0.85, 0.88, 0.7],
        },
    ];
    let path = dir.path().join("bars.png");
    plot::bar_plot(&path, "accuracy", "accuracy", &groups, &series).unwrap();
    let (w, h, len) = png_size(&path);
    assert_eq!((w, h), plot::SIZE);
    assert!(len > 5_000, "{len} bytes");
    let short = vec![BarSeries {
        name: "bad".into(),
        values: vec![1.0],
    }];
    let err = plot::bar_plot(&path, "t", "y", &groups, &short).unwrap_err();
    assert!(err.to_string().contains("1 values for 3 groups"), "{err}");
}
