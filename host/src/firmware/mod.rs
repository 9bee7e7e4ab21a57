//! `edgeml export`: the host side of the firmware (`firmware/`). Trains the models the
//! firmware embeds and writes them in the core's byte formats with the host's predictions
//! (`--dir`), checks the firmware's QEMU output against those predictions (`--check`),
//! writes the footprint report (`--footprint`), optionally into README.md (`--readme`), and
//! times the import of the 500-tree LightGBM model (`--bench-import`).

pub mod blobs;
pub mod check;
#[path = "../../../firmware/src/dims.rs"]
pub mod dims;
pub mod fashion;
pub mod footprint;
pub mod lgb500;
pub mod models;
pub mod quantize;
pub mod readme;

use crate::datasets::DataConfig;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `edgeml export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Folder of the firmware's models, test inputs and the host's predictions (expected.txt).
    #[arg(long, default_value = "firmware/models")]
    pub dir: PathBuf,
    /// Instead of exporting, compare this firmware output (QEMU's stdout) with DIR/expected.txt.
    #[arg(long, value_name = "OUTPUT", conflicts_with = "footprint")]
    pub check: Option<PathBuf>,
    /// With --check: the output comes from a build with some of the parts (a small memory
    /// map); compare the predictions it printed, and require the rest only where present.
    #[arg(long, requires = "check")]
    pub partial: bool,
    /// Instead of exporting, print the footprint report for this firmware output and the
    /// PART=ELF builds (the first is the baseline).
    #[arg(long, value_name = "OUTPUT", requires = "parts")]
    pub footprint: Option<PathBuf>,
    /// With --footprint: also replace the block between `<!-- footprint:start -->` and
    /// `<!-- footprint:end -->` in this file with the report.
    #[arg(long, value_name = "README", requires = "footprint")]
    pub readme: Option<PathBuf>,
    /// Instead of exporting, time this many imports of the 500-tree LightGBM fixture
    /// (text → core model → bytes) and print the fastest, median and slowest.
    #[arg(long, value_name = "RUNS", conflicts_with_all = ["check", "footprint"])]
    pub bench_import: Option<usize>,
    /// With --footprint: the firmware builds, as PART=ELF.
    #[arg(value_name = "PART=ELF", requires = "footprint")]
    pub parts: Vec<String>,
}

/// Runs `edgeml export` with `args`, reading Fashion-MNIST where `data` says.
pub fn run(args: &ExportArgs, data: &DataConfig) -> Result<()> {
    if let Some(runs) = args.bench_import {
        return lgb500::bench(runs);
    }
    if let Some(output) = &args.check {
        return check::run(&args.dir, output, args.partial);
    }
    let Some(output) = &args.footprint else {
        return models::export(data, &args.dir);
    };
    let report = footprint::report(&args.dir, output, &args.parts)?;
    print!("{report}");
    if let Some(path) = &args.readme {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let spliced = readme::splice(&text, &report)?;
        std::fs::write(path, spliced).with_context(|| path.display().to_string())?;
        eprintln!("footprint report written into {}", path.display());
    }
    Ok(())
}
