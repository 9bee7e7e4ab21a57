//! `edgeml datasets`: where each dataset was looked for, whether it was found, its row
//! counts, and the SHA-256 of each file.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::{Origin, Source};
use super::{california, idx, DataConfig, DataError};

/// One file of a found dataset.
#[derive(Debug, Serialize)]
pub struct FileEntry {
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes (of the decompressed text for the embedded California copy).
    pub bytes: u64,
    /// Hex SHA-256 of its bytes (likewise decompressed for the embedded copy).
    pub sha256: String,
}

/// What `edgeml datasets` reports about one dataset.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// The dataset's name.
    pub name: String,
    /// Folders looked in, in order.
    pub tried: Vec<PathBuf>,
    /// Whether its files were found.
    pub found: bool,
    /// The files, when found.
    pub files: Vec<FileEntry>,
    /// Rows per part (e.g. `train`, `test`, `all`), when loaded.
    pub rows: Vec<(String, usize)>,
    /// The error, when missing or broken.
    pub error: Option<String>,
}

/// Hex SHA-256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn file_entries(paths: &[PathBuf]) -> Result<Vec<FileEntry>, DataError> {
    paths
        .iter()
        .map(|path| {
            let bytes = std::fs::metadata(path)
                .map_err(|e| DataError::io(path, e))?
                .len();
            Ok(FileEntry {
                path: path.clone(),
                bytes,
                sha256: sha256_file(path)?,
            })
        })
        .collect()
}

fn entry(
    config: &DataConfig,
    source: Source,
    locate: impl Fn() -> Result<Vec<PathBuf>, DataError>,
    rows: impl Fn() -> Result<Vec<(String, usize)>, DataError>,
) -> Entry {
    let mut entry = Entry {
        name: source.subdir().into(),
        tried: config.candidates(source),
        found: false,
        files: Vec::new(),
        rows: Vec::new(),
        error: None,
    };
    let result = locate().and_then(|paths| {
        entry.found = true;
        entry.files = file_entries(&paths)?;
        entry.rows = rows()?;
        Ok(())
    });
    if let Err(err) = result {
        entry.error = Some(err.to_string());
    }
    entry
}

/// Looks for every dataset the loaders know and loads the ones found.
pub fn survey(config: &DataConfig) -> Vec<Entry> {
    let split_rows = |split: super::Split| {
        vec![
            ("train".to_string(), split.train.rows()),
            ("test".to_string(), split.test.rows()),
        ]
    };
    vec![
        entry(
            config,
            Source::FashionMnist,
            || idx::locate_split(config, Source::FashionMnist),
            || idx::load_fashion_mnist(config).map(split_rows),
        ),
        entry(
            config,
            Source::Mnist,
            || idx::locate_split(config, Source::Mnist),
            || idx::load_mnist(config).map(split_rows),
        ),
        california_entry(config),
    ]
}

/// California Housing: the folder the user named, else the copy built into the binary (listed
/// with the SHA-256 of its decompressed text, which loading checks).
fn california_entry(config: &DataConfig) -> Entry {
    let rows = || california::load(config).map(|d| vec![("all".to_string(), d.rows())]);
    match config.origin(Source::California) {
        Origin::Explicit(_) => entry(
            config,
            Source::California,
            || {
                config.locate(
                    Source::California,
                    &[&[california::FILE, california::FILE_GZ]],
                )
            },
            rows,
        ),
        Origin::Standard(_) => {
            let mut entry = Entry {
                name: Source::California.subdir().into(),
                tried: vec![PathBuf::from(california::EMBEDDED_NAME)],
                found: true,
                files: vec![FileEntry {
                    path: PathBuf::from(california::EMBEDDED_NAME),
                    bytes: california::BYTES as u64,
                    sha256: california::SHA256.into(),
                }],
                rows: Vec::new(),
                error: None,
            };
            match rows() {
                Ok(rows) => entry.rows = rows,
                Err(err) => entry.error = Some(err.to_string()),
            }
            entry
        }
    }
}

/// The survey as human-readable text.
pub fn render(entries: &[Entry]) -> String {
    let mut out = String::from(
        "Each dataset is looked for in its flag's folder (--fashion-mnist-dir, --mnist-dir, \
         --california-dir), else its environment variable's, else $EDGEML_DATA_DIR/<name>/; a \
         folder named so must hold the files. Unnamed, Fashion-MNIST and MNIST come from \
         /usr/share/datasets/<name>/ (Debian's dataset-* packages) and California Housing \
         from the copy built into edgeml.\n\n",
    );
    for e in entries {
        let status = if e.error.is_none() && e.found {
            "found"
        } else if e.found {
            "BROKEN"
        } else {
            "not found"
        };
        out.push_str(&format!("{}: {status}\n", e.name));
        let tried: Vec<String> = e.tried.iter().map(|p| p.display().to_string()).collect();
        out.push_str(&format!("  looked in: {}\n", tried.join(", ")));
        for f in &e.files {
            out.push_str(&format!(
                "  {}  {} bytes  sha256 {}\n",
                f.path.display(),
                f.bytes,
                f.sha256
            ));
        }
        if !e.rows.is_empty() {
            let rows: Vec<String> = e.rows.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!("  rows: {}\n", rows.join(", ")));
        }
        if let Some(err) = &e.error {
            out.push_str(&format!("  {err}\n"));
        }
    }
    out
}
