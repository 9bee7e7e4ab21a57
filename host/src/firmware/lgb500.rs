//! The 500-tree LightGBM model the firmware runs: the committed fixture
//! (`host/tests/fixtures/import/lgb_500.txt.gz`, written by `benches/peers/export_models.py`)
//! imported through the LightGBM importer into the core's byte format (`lgb500.bin`), the
//! California Housing rows it runs on (`california_x.f32`, `CAL_N × CAL_D` f32), and the
//! import-time benchmark of `edgeml export --bench-import`.

use super::dims::{CAL_D, CAL_N};
use super::models::line;
use crate::import::{lightgbm, ImportedTrees};
use anyhow::{bail, Context, Result};
use edgeml_core::tree::{serial, Node};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The committed LightGBM text model, gzipped.
pub const MODEL: &str = "lgb_500.txt.gz";
/// LightGBM's outputs on [`INPUTS`] (`margins`, `predictions`).
pub const EXPECTED: &str = "lgb_500.expected.json";
/// The California Housing rows (exact f32 values) the model runs on.
pub const INPUTS: &str = "california.inputs.json";

/// The folder of the import fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// The text of the gzip file at `path`.
pub fn read_gz(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .with_context(|| format!("{}: not gzipped UTF-8 text", path.display()))?;
    Ok(text)
}

/// The model converted from LightGBM text `text` (read from `path`).
pub fn import(path: &Path, text: &str) -> Result<ImportedTrees> {
    Ok(lightgbm::parse(path, text)?)
}

/// The `CAL_N` input rows, `CAL_N × CAL_D` f32 row after row.
pub fn inputs() -> Result<Vec<f32>> {
    let path = fixtures().join(INPUTS);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let rows: Vec<Vec<f64>> = serde_json::from_str(&text)?;
    if rows.len() != CAL_N || rows.iter().any(|r| r.len() != CAL_D) {
        bail!(
            "{}: expected {CAL_N} rows of {CAL_D} values",
            path.display()
        );
    }
    Ok(rows.iter().flatten().map(|&v| v as f32).collect())
}

/// Writes `lgb500.bin` (the imported model in the core's byte format) and `california_x.f32`
/// into `dir`, and appends the host's prediction of each row, from the written bytes loaded
/// back as the firmware's build loads them, to `expected` (`lgb500 ROW 0 VALUE`).
pub fn export(dir: &Path, expected: &mut String) -> Result<()> {
    let path = fixtures().join(MODEL);
    let bytes = import(&path, &read_gz(&path)?)?.to_bytes()?;
    std::fs::write(dir.join("lgb500.bin"), &bytes)?;
    let x = inputs()?;
    let x_bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("california_x.f32"), x_bytes)?;
    let header = serial::header(&bytes)?;
    let mut nodes = vec![Node::default(); header.n_nodes];
    let mut roots = vec![0u32; header.n_trees];
    let mut base = vec![0.0f32; header.n_base];
    let model = serial::load(&bytes, &mut nodes, &mut roots, &mut base)?;
    let mut score = [0.0f32; 1];
    for (i, row) in x.chunks_exact(CAL_D).enumerate() {
        model.predict_scores(row, &mut score)?;
        line(expected, &format!("lgb500 {i}"), 0, &score);
    }
    Ok(())
}

/// Times `runs` imports of the fixture (LightGBM text → core model → core bytes; the text
/// already decompressed in memory) and prints the fastest, median and slowest, with the
/// decompression time apart.
pub fn bench(runs: usize) -> Result<()> {
    let path = fixtures().join(MODEL);
    let started = Instant::now();
    let text = read_gz(&path)?;
    let gunzip = started.elapsed();
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let imported = import(&path, &text)?;
        size = imported.to_bytes()?.len();
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{}: {} bytes of LightGBM text, gunzip {:.1} ms; import + convert to {size} core bytes \
         over {} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        path.display(),
        text.len(),
        gunzip.as_secs_f64() * 1e3,
        times.len(),
        at(0.0),
        at(0.5),
        at(1.0)
    );
    Ok(())
}
