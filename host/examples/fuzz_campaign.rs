//! A long structure-aware fuzz campaign without extra tools: mutates the seeds of one entry
//! point (or all) for a number of seconds each, and reports executions, accepted and rejected
//! inputs and findings (panics and accepted-but-faulty results, written to a folder as
//! regression inputs). Usage, from the repository root:
//!
//! ```text
//! cargo run --release -p edgeml-host --example fuzz_campaign -- SECONDS [TARGET] [OUT_DIR]
//! ```
//!
//! `TARGET` is one of `tree-model mlp lightgbm xgboost sklearn safetensors idx` (default:
//! all); findings go to `OUT_DIR` (default `target/fuzz-findings`). Progress goes to stderr,
//! the per-target summary to stdout. `--write-corpus DIR` writes the seeds as an AFL corpus
//! (`DIR/<target>/seed-N`) and exits.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgeml_core::rng::Rng;
use edgeml_host::fuzz::{check, mutate, seeds, Target, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--write-corpus") {
        let dir = PathBuf::from(args.get(1).ok_or("--write-corpus needs a folder")?);
        for target in Target::ALL {
            let folder = dir.join(target.name());
            std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
            for (i, seed) in seeds(target, &fixtures())?.iter().enumerate() {
                std::fs::write(folder.join(format!("seed-{i}")), seed)
                    .map_err(|e| e.to_string())?;
            }
        }
        return Ok(());
    }
    let seconds: u64 = args
        .first()
        .and_then(|s| s.parse().ok())
        .ok_or("usage: fuzz_campaign SECONDS [TARGET] [OUT_DIR]")?;
    let targets: Vec<Target> = match args.get(1) {
        Some(name) => {
            vec![Target::from_name(name).ok_or_else(|| format!("unknown target {name}"))?]
        }
        None => Target::ALL.to_vec(),
    };
    let out = PathBuf::from(args.get(2).map_or("target/fuzz-findings", String::as_str));
    std::panic::set_hook(Box::new(|_| {}));
    for target in targets {
        let seeds = seeds(target, &fixtures())?;
        let started = Instant::now();
        let budget = Duration::from_secs(seconds);
        let (mut runs, mut accepted, mut findings) = (0u64, 0u64, 0u64);
        let mut rng = Rng::new(0xf022 ^ target as u64);
        let mut last_report = Instant::now();
        while started.elapsed() < budget {
            let seed = &seeds[rng.below_usize(seeds.len())];
            let input = mutate(target, seed, &mut rng);
            runs += 1;
            match catch_unwind(AssertUnwindSafe(|| check(target, &input))) {
                Ok(Ok(Verdict::Accepted)) => accepted += 1,
                Ok(Ok(Verdict::Rejected)) => {}
                outcome => {
                    findings += 1;
                    let why = match outcome {
                        Ok(Err(finding)) => finding,
                        _ => "panic".to_string(),
                    };
                    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
                    let path = out.join(format!("{}-{runs}", target.name()));
                    std::fs::write(&path, &input).map_err(|e| e.to_string())?;
                    eprintln!(
                        "{}: finding ({why}) written to {}",
                        target.name(),
                        path.display()
                    );
                }
            }
            if last_report.elapsed() > Duration::from_secs(10) {
                eprintln!("{}: {runs} executions, {findings} findings", target.name());
                last_report = Instant::now();
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}: {runs} executions in {secs:.0} s ({:.0}/s), {accepted} accepted, {} rejected, {findings} findings",
            target.name(),
            runs as f64 / secs,
            runs - accepted - findings
        );
    }
    Ok(())
}
