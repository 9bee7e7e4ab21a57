//! Where dataset files are looked for: a command-line flag, else an environment variable, else
//! the standard places; California Housing's standard place is the copy shipped inside the
//! binary (`host/data/cal_housing.data.gz`).

use std::path::{Path, PathBuf};

use clap::Args;

use super::DataError;

/// Dataset folders from the command line or environment; unset ones fall back to the standard
/// places (see [`DataConfig::candidates`]). A folder given here that lacks the files is an
/// error, never a fallback.
#[derive(Args, Clone, Debug, Default)]
pub struct DataConfig {
    /// Folder holding the Fashion-MNIST IDX files.
    #[arg(long, global = true, env = "EDGEML_FASHION_MNIST_DIR")]
    pub fashion_mnist_dir: Option<PathBuf>,
    /// Folder holding the MNIST IDX files.
    #[arg(long, global = true, env = "EDGEML_MNIST_DIR")]
    pub mnist_dir: Option<PathBuf>,
    /// Folder holding California Housing's cal_housing.data (or .gz); default: the copy built
    /// into the binary.
    #[arg(long, global = true, env = "EDGEML_CALIFORNIA_DIR")]
    pub california_dir: Option<PathBuf>,
    /// Common root holding fashion-mnist/, mnist/ and california-housing/.
    #[arg(long, global = true, env = "EDGEML_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run every experiment on the synthetic stand-ins instead of the real data.
    #[arg(long, global = true, env = "EDGEML_SYNTHETIC")]
    pub synthetic: bool,
}

/// The datasets the config knows folders for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Fashion-MNIST (IDX).
    FashionMnist,
    /// MNIST (IDX).
    Mnist,
    /// California Housing (StatLib text).
    California,
}

impl Source {
    /// Folder name under a data root (`fashion-mnist`, `mnist`, `california-housing`).
    pub fn subdir(self) -> &'static str {
        match self {
            Source::FashionMnist => "fashion-mnist",
            Source::Mnist => "mnist",
            Source::California => "california-housing",
        }
    }

    /// The flag and environment variable that point at this dataset's folder.
    pub fn flag_and_env(self) -> (&'static str, &'static str) {
        match self {
            Source::FashionMnist => ("--fashion-mnist-dir", "EDGEML_FASHION_MNIST_DIR"),
            Source::Mnist => ("--mnist-dir", "EDGEML_MNIST_DIR"),
            Source::California => ("--california-dir", "EDGEML_CALIFORNIA_DIR"),
        }
    }

    /// How to get the files, for "not found" errors.
    pub fn hint(self) -> String {
        let (flag, env) = self.flag_and_env();
        let get = match self {
            Source::FashionMnist => "install them with `apt-get install dataset-fashion-mnist`",
            Source::Mnist => "download the four MNIST IDX files",
            Source::California => {
                "unset it to use the copy built into edgeml, or put StatLib's cal_housing.data \
                 (or cal_housing.data.gz) there"
            }
        };
        format!("{get}, or point `{flag}` / {env} (or EDGEML_DATA_DIR) at their folder")
    }
}

/// Where a dataset's folders come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The user named the folder (flag or environment variable): it alone is tried, and a
    /// missing file is an error.
    Explicit(PathBuf),
    /// Nothing was named: the standard folders are tried in order.
    Standard(Vec<PathBuf>),
}

impl DataConfig {
    /// A config that looks only at the standard places (no flags, no environment).
    pub fn standard() -> DataConfig {
        DataConfig::default()
    }

    /// The folder the user named for `source`: its own flag or variable, else
    /// `$EDGEML_DATA_DIR/<subdir>`; `None` when neither is set.
    pub fn explicit(&self, source: Source) -> Option<PathBuf> {
        let own = match source {
            Source::FashionMnist => &self.fashion_mnist_dir,
            Source::Mnist => &self.mnist_dir,
            Source::California => &self.california_dir,
        };
        own.clone().or_else(|| {
            self.data_dir
                .as_ref()
                .map(|root| root.join(source.subdir()))
        })
    }

    /// Where `source` is looked for: the folder the user named, else the standard folders —
    /// `/usr/share/datasets/<subdir>` (where Debian's `dataset-*` packages install) for the
    /// IDX datasets, none for California Housing (its standard place is the embedded copy).
    pub fn origin(&self, source: Source) -> Origin {
        match self.explicit(source) {
            Some(dir) => Origin::Explicit(dir),
            None if source == Source::California => Origin::Standard(Vec::new()),
            None => Origin::Standard(vec![Path::new("/usr/share/datasets").join(source.subdir())]),
        }
    }

    /// The folders tried for `source`, in order.
    pub fn candidates(&self, source: Source) -> Vec<PathBuf> {
        match self.origin(source) {
            Origin::Explicit(dir) => vec![dir],
            Origin::Standard(dirs) => dirs,
        }
    }

    /// The first candidate folder for `source` holding every file in `names`, where each
    /// entry lists acceptable alternatives (e.g. `x.gz` or `x`); returns the chosen paths.
    pub fn locate(&self, source: Source, names: &[&[&str]]) -> Result<Vec<PathBuf>, DataError> {
        let origin = self.origin(source);
        let tried = self.candidates(source);
        for dir in &tried {
            let found: Option<Vec<PathBuf>> = names
                .iter()
                .map(|alternatives| {
                    alternatives
                        .iter()
                        .map(|name| dir.join(name))
                        .find(|path| path.is_file())
                })
                .collect();
            if let Some(paths) = found {
                return Ok(paths);
            }
        }
        Err(DataError::Missing {
            dataset: source.subdir().into(),
            files: names.iter().map(|alts| alts.join(" or ")).collect(),
            tried,
            hint: source.hint(),
            explicit: matches!(origin, Origin::Explicit(_)),
        })
    }
}
