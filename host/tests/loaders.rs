//! Every loader rejects bad files with an error naming the file and the specific fault.

use std::io::Write;
use std::path::{Path, PathBuf};

use edgeml_host::datasets::{california, idx, DataConfig, DataError};
use flate2::write::GzEncoder;
use flate2::Compression;

fn idx_bytes(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(payload);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts `err`'s message names `path` and contains every fragment.
fn assert_names(err: &DataError, path: &Path, fragments: &[&str]) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} does not name {}",
        path.display()
    );
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} does not mention {f:?}");
    }
}

/// 3 images of 2×2 and their labels, valid.
fn good_images() -> Vec<u8> {
    idx_bytes(
        idx::IMAGES_MAGIC,
        &[3, 2, 2],
        &(0..12).map(|i| i * 20).collect::<Vec<u8>>(),
    )
}

fn good_labels() -> Vec<u8> {
    idx_bytes(idx::LABELS_MAGIC, &[3], &[0, 9, 4])
}

#[test]
fn valid_pair_loads_raw_and_gz_with_pixels_in_unit_range() {
    let dir = tempfile::tempdir().unwrap();
    for gz in [false, true] {
        let enc = |b: Vec<u8>| if gz { gzip(&b) } else { b };
        let images = write(dir.path(), "i", &enc(good_images()));
        let labels = write(dir.path(), "l", &enc(good_labels()));
        let data = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap();
        assert_eq!(data.features.dim(), (3, 4));
        for (i, &x) in data.features.iter().enumerate() {
            assert!((x - (i * 20) as f32 / 255.0).abs() < 1e-7);
        }
        assert_eq!(
            data.targets,
            edgeml_host::datasets::Targets::Classes(vec![0, 9, 4])
        );
    }
}

#[test]
fn missing_file_names_the_file_and_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = DataConfig {
        fashion_mnist_dir: Some(dir.path().to_path_buf()),
        california_dir: Some(dir.path().to_path_buf()),
        ..DataConfig::default()
    };
    let err = idx::load_fashion_mnist(&config).unwrap_err();
    assert!(err.is_missing());
    assert_names(
        &err,
        dir.path(),
        &[
            "train-images-idx3-ubyte.gz",
            "apt-get install dataset-fashion-mnist",
            "--fashion-mnist-dir",
            "EDGEML_FASHION_MNIST_DIR",
        ],
    );
    let err = california::load(&config).unwrap_err();
    assert_names(
        &err,
        dir.path(),
        &["cal_housing.data", "EDGEML_CALIFORNIA_DIR"],
    );
    let missing = dir.path().join("nope");
    let err = idx::load_pair(&missing, &missing, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(&err, &missing, &[]);
}

#[test]
fn truncated_images_raw_and_gz_say_expected_and_found_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut short = good_images();
    short.truncate(short.len() - 5);
    let labels = write(dir.path(), "labels", &good_labels());
    for (name, bytes) in [("raw", short.clone()), ("gz", gzip(&short))] {
        let images = write(dir.path(), name, &bytes);
        let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
        assert_names(
            &err,
            &images,
            &["truncated", "expected 12 bytes", "found 7"],
        );
    }
    let header_only = write(dir.path(), "hdr", &good_images()[..6]);
    let err = idx::load_pair(&header_only, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(
        &err,
        &header_only,
        &["truncated IDX header", "expected 16", "found 6"],
    );
}

#[test]
fn truncated_labels_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let images = write(dir.path(), "images", &good_images());
    let labels = write(dir.path(), "labels.gz", &gzip(&good_labels()[..10]));
    let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(&err, &labels, &["truncated", "expected 3 bytes", "found 2"]);
}

#[test]
fn wrong_magic_is_reported_for_both_kinds() {
    let dir = tempfile::tempdir().unwrap();
    // Labels file given where images are expected, and vice versa.
    let images = write(dir.path(), "images", &good_labels());
    let labels = write(dir.path(), "labels", &good_labels());
    let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(
        &err,
        &images,
        &["wrong magic", "0x00000801", "expected 0x00000803"],
    );
    let images = write(dir.path(), "images2", &good_images());
    let labels = write(dir.path(), "labels2", &good_images());
    let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(&err, &labels, &["wrong magic", "expected 0x00000801"]);
}

#[test]
fn count_mismatch_names_both_counts() {
    let dir = tempfile::tempdir().unwrap();
    let images = write(dir.path(), "images", &good_images());
    let labels = write(
        dir.path(),
        "labels",
        &idx_bytes(idx::LABELS_MAGIC, &[2], &[1, 2]),
    );
    let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(&err, &labels, &["2 labels", "3 images"]);
}

#[test]
fn label_out_of_range_is_reported_with_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let images = write(dir.path(), "images", &good_images());
    let labels = write(
        dir.path(),
        "labels",
        &idx_bytes(idx::LABELS_MAGIC, &[3], &[1, 2, 10]),
    );
    let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(&err, &labels, &["label 10", "index 2", "out of range"]);
}

#[test]
fn corrupt_gzip_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gzip(&good_images());
    let n = bytes.len();
    bytes.truncate(n / 2);
    bytes.extend([0xde, 0xad, 0xbe, 0xef]);
    let images = write(dir.path(), "images.gz", &bytes);
    let labels = write(dir.path(), "labels", &good_labels());
    let err = idx::load_pair(&images, &labels, &idx::DIGIT_CLASSES).unwrap_err();
    assert_names(&err, &images, &["corrupt gzip"]);
}

const GOOD_LINES: &str = "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0\n\
-122.22,37.86,21.0,7099.0,1106.0,2401.0,1138.0,8.3014,358500.0\n";

fn california_error(text: &str) -> (PathBuf, DataError, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), california::FILE, text.as_bytes());
    let err = california::load_file(&path).unwrap_err();
    (path, err, dir)
}

#[test]
fn california_derives_sklearn_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), california::FILE, GOOD_LINES.as_bytes());
    let text = std::fs::read_to_string(&path).unwrap();
    let data = california::parse(&path, &text, Some(2)).unwrap();
    let row: Vec<f32> = data.features.row(0).to_vec();
    let expected = [
        8.3252,
        41.0,
        880.0 / 126.0,
        129.0 / 126.0,
        322.0,
        322.0 / 126.0,
        37.88,
        -122.23,
    ];
    for (got, want) in row.iter().zip(expected) {
        assert!(
            (f64::from(*got) - want).abs() < 1e-5 * want.abs().max(1.0),
            "{row:?}"
        );
    }
    assert_eq!(
        data.targets,
        edgeml_host::datasets::Targets::Regression(vec![4.526, 3.585])
    );
}

#[test]
fn california_wrong_column_count() {
    let (path, err, _dir) = california_error(&format!("{GOOD_LINES}1.0,2.0,3.0\n"));
    assert_names(&err, &path, &["line 3", "expected 9", "found 3"]);
}

#[test]
fn california_non_numeric_field() {
    let (path, err, _dir) = california_error(&GOOD_LINES.replace("880.0", "eight"));
    assert_names(
        &err,
        &path,
        &["line 1", "column 4", "`eight` is not a number"],
    );
}

#[test]
fn california_nan_field() {
    let (path, err, _dir) = california_error(&GOOD_LINES.replace("1106.0", "NaN"));
    assert_names(&err, &path, &["line 2", "column 5", "not finite"]);
}

#[test]
fn california_wrong_row_count() {
    let (path, err, _dir) = california_error(GOOD_LINES);
    assert_names(&err, &path, &["expected 20640 rows", "found 2"]);
}
