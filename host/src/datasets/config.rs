//! Where dataset files are looked for: a command-line flag, else an environment variable, else
//! the standard places.

use std::path::{Path, PathBuf};

use clap::Args;

use super::DataError;

/// Dataset folders from the command line or environment; unset ones fall back to the standard
/// places (see [`DataConfig::candidates`]).
#[derive(Args, Clone, Debug, Default)]
pub struct DataConfig {
    /// Folder holding the Fashion-MNIST IDX files.
    #[arg(long, global = true, env = "EDGEML_FASHION_MNIST_DIR")]
    pub fashion_mnist_dir: Option<PathBuf>,
    /// Folder holding the MNIST IDX files.
    #[arg(long, global = true, env = "EDGEML_MNIST_DIR")]
    pub mnist_dir: Option<PathBuf>,
    /// Folder holding California Housing's cal_housing.data.
    #[arg(long, global = true, env = "EDGEML_CALIFORNIA_DIR")]
    pub california_dir: Option<PathBuf>,
    /// Common root holding fashion-mnist/, mnist/ and california-housing/.
    #[arg(long, global = true, env = "EDGEML_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
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
                "download cal_housing.tgz from https://www.dcc.fc.up.pt/~ltorgo/Regression/cal_housing.html"
            }
        };
        format!("{get}, or point `{flag}` / {env} (or EDGEML_DATA_DIR) at their folder")
    }
}

impl DataConfig {
    /// The folders tried for `source`, in order: the explicit folder alone if one is set;
    /// else `$EDGEML_DATA_DIR/<subdir>`, `/usr/share/datasets/<subdir>`,
    /// `../shared/datasets/<subdir>`, the workspace's `../shared/datasets/<subdir>`, and
    /// `./data/<subdir>`.
    pub fn candidates(&self, source: Source) -> Vec<PathBuf> {
        let explicit = match source {
            Source::FashionMnist => &self.fashion_mnist_dir,
            Source::Mnist => &self.mnist_dir,
            Source::California => &self.california_dir,
        };
        if let Some(dir) = explicit {
            return vec![dir.clone()];
        }
        let sub = source.subdir();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace_shared = match manifest.parent().and_then(Path::parent) {
            Some(above_workspace) => above_workspace.join("shared/datasets"),
            None => manifest.join("../../shared/datasets"),
        };
        let mut dirs: Vec<PathBuf> = self.data_dir.iter().map(|root| root.join(sub)).collect();
        dirs.extend([
            Path::new("/usr/share/datasets").join(sub),
            Path::new("../shared/datasets").join(sub),
            workspace_shared.join(sub),
            Path::new("data").join(sub),
        ]);
        dirs
    }

    /// The first candidate folder for `source` holding every file in `names`, where each
    /// entry lists acceptable alternatives (e.g. `x.gz` or `x`); returns the chosen paths.
    pub fn locate(&self, source: Source, names: &[&[&str]]) -> Result<Vec<PathBuf>, DataError> {
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
        })
    }
}
