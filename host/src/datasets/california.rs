//! California Housing from StatLib's `cal_housing.data`, turned into scikit-learn's 8 features
//! and target exactly as `fetch_california_housing` derives them. The file ships gzipped inside
//! the binary (`host/data/cal_housing.data.gz`, checked against [`SHA256`] when read); a folder
//! named by `--california-dir`, `EDGEML_CALIFORNIA_DIR` or `EDGEML_DATA_DIR` overrides it.

use std::io::Read;
use std::path::Path;

use ndarray::Array2;
use sha2::{Digest, Sha256};

use super::config::{Origin, Source};
use super::{DataConfig, DataError, Dataset, Targets};

/// The data file's name.
pub const FILE: &str = "cal_housing.data";
/// The gzipped file's name (read directly, without unpacking it first).
pub const FILE_GZ: &str = "cal_housing.data.gz";
/// SHA-256 of StatLib's original (decompressed) `cal_housing.data`.
pub const SHA256: &str = "d3d8a1a722ae78f91134862727d27a70b1415e7d512a89140406248687f4b902";
/// Where the embedded copy comes from, for messages.
pub const EMBEDDED_NAME: &str = "host/data/cal_housing.data.gz (built into edgeml)";
/// The gzipped file, built into the binary.
const EMBEDDED: &[u8] = include_bytes!("../../data/cal_housing.data.gz");
/// The original file's size in bytes; any copy read is refused past 4× this.
pub const BYTES: usize = 2_092_122;
/// The most bytes read from a (decompressed) California file.
const MAX_BYTES: u64 = 4 * BYTES as u64;
/// Rows in the original file.
pub const ROWS: usize = 20640;
/// Comma-separated columns per line: longitude, latitude, housingMedianAge, totalRooms,
/// totalBedrooms, population, households, medianIncome, medianHouseValue.
pub const RAW_COLUMNS: usize = 9;
/// scikit-learn's feature names, in its order.
pub const FEATURES: [&str; 8] = [
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
];

/// scikit-learn's 8 features from one raw row:
/// `[medInc, age, rooms/households, bedrooms/households, population, population/households,
/// latitude, longitude]`.
fn derive(raw: &[f64; RAW_COLUMNS]) -> [f64; 8] {
    let [lon, lat, age, rooms, bedrooms, population, households, income, _] = *raw;
    [
        income,
        age,
        rooms / households,
        bedrooms / households,
        population,
        population / households,
        lat,
        lon,
    ]
}

/// Parses the file's text (`path` names it in errors) into `rows × 8` features and the target
/// `medianHouseValue / 100000`; `expected_rows`, when given, must match.
pub fn parse(path: &Path, text: &str, expected_rows: Option<usize>) -> Result<Dataset, DataError> {
    let mut features = Vec::new();
    let mut targets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != RAW_COLUMNS {
            return Err(DataError::format(
                path,
                format!(
                    "line {number}: expected {RAW_COLUMNS} comma-separated columns, found {}",
                    fields.len()
                ),
            ));
        }
        let mut raw = [0.0f64; RAW_COLUMNS];
        for (column, (slot, field)) in raw.iter_mut().zip(&fields).enumerate() {
            let value: f64 = field.trim().parse().map_err(|_| {
                DataError::format(
                    path,
                    format!(
                        "line {number}, column {}: `{field}` is not a number",
                        column + 1
                    ),
                )
            })?;
            if !value.is_finite() || !(value as f32).is_finite() {
                return Err(DataError::format(
                    path,
                    format!(
                        "line {number}, column {}: value `{field}` is not finite in f32",
                        column + 1
                    ),
                ));
            }
            *slot = value;
        }
        let derived = derive(&raw);
        if let Some(bad) = derived.iter().position(|&v| !(v as f32).is_finite()) {
            return Err(DataError::format(
                path,
                format!(
                    "line {number}: derived feature {} is not finite (households is 0?)",
                    FEATURES[bad]
                ),
            ));
        }
        features.extend(derived.iter().map(|&v| v as f32));
        targets.push((raw[8] / 100_000.0) as f32);
    }
    if let Some(expected) = expected_rows {
        if targets.len() != expected {
            return Err(DataError::format(
                path,
                format!("expected {expected} rows, found {}", targets.len()),
            ));
        }
    }
    let features = Array2::from_shape_vec((targets.len(), FEATURES.len()), features)
        .map_err(|e| DataError::format(path, e.to_string()))?;
    Ok(Dataset {
        features,
        targets: Targets::Regression(targets),
        feature_names: FEATURES.iter().map(|s| s.to_string()).collect(),
        class_names: Vec::new(),
        source: path.display().to_string(),
        synthetic: false,
    })
}

/// The lab's class of a target in $100k: its integer part, `0..=5` (`astype(int)` truncates;
/// the largest value, 5.00001, is class 5). The stand-in's targets use the same scale.
pub fn class_of(target: f32) -> u32 {
    (target.max(0.0).trunc() as u32).min(5)
}

/// Hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads at most [`MAX_BYTES`] from `reader` (`path` names it in errors).
fn read_bounded(path: &Path, reader: impl Read) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(DataError::format(
            path,
            format!("larger than {MAX_BYTES} bytes: not California Housing"),
        ));
    }
    Ok(bytes)
}

/// The text of a plain or gzipped (by its magic bytes) file's `bytes`.
fn decode(path: &Path, bytes: &[u8]) -> Result<String, DataError> {
    let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
        read_bounded(path, flate2::read::GzDecoder::new(bytes))?
    } else {
        bytes.to_vec()
    };
    String::from_utf8(plain).map_err(|e| {
        DataError::format(
            path,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// The copy built into the binary, checked against [`SHA256`].
pub fn load_embedded() -> Result<Dataset, DataError> {
    let path = Path::new(EMBEDDED_NAME);
    let text = decode(path, EMBEDDED)?;
    let hash = sha256_hex(text.as_bytes());
    if hash != SHA256 {
        return Err(DataError::format(
            path,
            format!("sha256 {hash} differs from StatLib's {SHA256}"),
        ));
    }
    parse(path, &text, Some(ROWS))
}

/// Loads `path` (plain text or gzip), requiring the original [`ROWS`] rows.
pub fn load_file(path: &Path) -> Result<Dataset, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let bytes = read_bounded(path, file)?;
    let text = decode(path, &bytes)?;
    parse(path, &text, Some(ROWS))
}

/// Loads the file from the folder the user named (`cal_housing.data` or its `.gz`), else the
/// embedded copy.
pub fn load(config: &DataConfig) -> Result<Dataset, DataError> {
    match config.origin(Source::California) {
        Origin::Explicit(_) => {
            let paths = config.locate(Source::California, &[&[FILE, FILE_GZ]])?;
            load_file(&paths[0])
        }
        Origin::Standard(_) => load_embedded(),
    }
}
