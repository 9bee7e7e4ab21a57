//! California Housing from StatLib's `cal_housing.data`, turned into scikit-learn's 8 features
//! and target exactly as `fetch_california_housing` derives them.

use std::path::Path;

use ndarray::Array2;

use super::config::Source;
use super::{DataConfig, DataError, Dataset, Targets};

/// The data file's name.
pub const FILE: &str = "cal_housing.data";
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
            if !value.is_finite() {
                return Err(DataError::format(
                    path,
                    format!(
                        "line {number}, column {}: value `{field}` is not finite",
                        column + 1
                    ),
                ));
            }
            *slot = value;
        }
        let derived = derive(&raw);
        if let Some(bad) = derived.iter().position(|v| !v.is_finite()) {
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

/// Loads `path`, requiring the original [`ROWS`] rows.
pub fn load_file(path: &Path) -> Result<Dataset, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    parse(path, &text, Some(ROWS))
}

/// Loads the file from the first configured folder that has it.
pub fn load(config: &DataConfig) -> Result<Dataset, DataError> {
    let paths = config.locate(Source::California, &[&[FILE]])?;
    load_file(&paths[0])
}
