//! Datasets: the loaders for each file format, the synthetic stand-ins, and where the files are
//! looked for ([`DataConfig`]).

pub mod california;
pub mod config;
pub mod idx;
pub mod inventory;
pub mod synthetic;

use std::path::PathBuf;

use ndarray::Array2;

pub use config::DataConfig;

/// What a dataset asks a model to predict, one entry per row.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Real-valued regression targets.
    Regression(Vec<f32>),
    /// Class labels `0..class_names.len()`.
    Classes(Vec<u8>),
}

impl Targets {
    /// Number of rows the targets cover.
    pub fn len(&self) -> usize {
        match self {
            Targets::Regression(values) => values.len(),
            Targets::Classes(labels) => labels.len(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A table of examples: `rows × features` f32 features (row-major) and one target per row.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Features, `rows × feature_names.len()`.
    pub features: Array2<f32>,
    /// Targets, one per row of `features`.
    pub targets: Targets,
    /// Name of each feature column.
    pub feature_names: Vec<String>,
    /// Name of each class (empty for regression).
    pub class_names: Vec<String>,
    /// Where the data came from, in words: the file path, or "synthetic …".
    pub source: String,
    /// Whether the data is a synthetic stand-in rather than the real files.
    pub synthetic: bool,
}

impl Dataset {
    /// Number of rows (examples).
    pub fn rows(&self) -> usize {
        self.features.nrows()
    }
}

/// A train/test pair as the dataset ships it.
#[derive(Clone, Debug)]
pub struct Split {
    /// The training examples.
    pub train: Dataset,
    /// The held-out test examples.
    pub test: Dataset,
}

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// None of the places looked at holds the dataset's files.
    #[error("{dataset} not found: looked for {} in {}{}; {hint}", files.join(", "), show_paths(tried), if *explicit { " (the folder you gave)" } else { "" })]
    Missing {
        /// The dataset's name.
        dataset: String,
        /// The file names needed.
        files: Vec<String>,
        /// The folders tried, in order.
        tried: Vec<PathBuf>,
        /// How to install it or point the loader at it.
        hint: String,
        /// Whether the user named the folder (flag or environment variable).
        explicit: bool,
    },
    /// The file exists but could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file's contents are not what the format says.
    #[error("{}: {fault}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        fault: String,
    },
    /// A generator's parameters are invalid.
    #[error("invalid synthetic dataset parameters: {0}")]
    Parameters(String),
}

fn show_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

impl DataError {
    /// Whether the error only says the files are not installed (as opposed to broken).
    pub fn is_missing(&self) -> bool {
        matches!(self, DataError::Missing { .. })
    }

    /// Whether a synthetic stand-in may replace the data: the files are missing from the
    /// standard places, and the user did not name a folder for them.
    pub fn allows_stand_in(&self) -> bool {
        matches!(
            self,
            DataError::Missing {
                explicit: false,
                ..
            }
        )
    }

    pub(crate) fn format(path: &std::path::Path, fault: impl Into<String>) -> DataError {
        DataError::Format {
            path: path.to_path_buf(),
            fault: fault.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> DataError {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Fashion-MNIST's train/test split where installed, else (or with `config.synthetic`) the
/// synthetic stand-in [`synthetic::fashion_stand_in`] with `synthetic_train`/`synthetic_test`
/// rows. Files that exist but are broken, and a folder the user named that lacks them, are an
/// error, never silently replaced.
pub fn load_fashion_mnist_or_synthetic(
    config: &DataConfig,
    synthetic_train: usize,
    synthetic_test: usize,
    seed: u64,
) -> Result<Split, DataError> {
    let reason = if config.synthetic {
        "--synthetic".to_string()
    } else {
        match idx::load_fashion_mnist(config) {
            Err(err) if err.allows_stand_in() => err.to_string(),
            other => return other,
        }
    };
    let mut split = synthetic::fashion_stand_in(synthetic_train, synthetic_test, seed)?;
    let note = format!(" (stand-in: {reason})");
    split.train.source.push_str(&note);
    split.test.source.push_str(&note);
    Ok(split)
}

/// California Housing from the folder the user named, else the copy built into the binary;
/// with `config.synthetic`, the stand-in [`synthetic::california_stand_in`] instead.
pub fn load_california_or_synthetic(config: &DataConfig, seed: u64) -> Result<Dataset, DataError> {
    if config.synthetic {
        let mut data = synthetic::california_stand_in(seed)?;
        data.source.push_str(" (stand-in: --synthetic)");
        return Ok(data);
    }
    california::load(config)
}
