//! Fuzz smoke run by the test command: for every byte-level entry point
//! ([`edgeml_host::fuzz::Target`]), structure-aware mutations of small valid seeds (checksums
//! recomputed) must give a clean error or a result the core accepts and runs with finite
//! outputs — never a panic, an abort or a silently accepted NaN. Cases per target: 2000, or
//! `PROPTEST_CASES`. A failure prints the target, the case's seed and the input (hex), which
//! becomes a regression test; long campaigns use the cargo-afl targets in `fuzz/`
//! (docs/fuzzing.md).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use edgeml_core::rng::Rng;
use edgeml_host::fuzz::{check, mutate, seeds, Target, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn cases() -> u64 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_entry_point_survives_mutated_inputs() {
    let cases = cases();
    let mut failures = Vec::new();
    for target in Target::ALL {
        let seeds = seeds(target, &fixtures()).expect("seeds");
        for seed in &seeds {
            assert_eq!(
                check(target, seed),
                Ok(Verdict::Accepted),
                "{target:?}: a seed is refused"
            );
        }
        let started = std::time::Instant::now();
        let (mut accepted, mut rejected) = (0u64, 0u64);
        for case in 0..cases {
            let mut rng = Rng::new(0x5eed_0000 + case);
            let seed = &seeds[rng.below_usize(seeds.len())];
            let input = mutate(target, seed, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| check(target, &input)));
            match outcome {
                Ok(Ok(Verdict::Accepted)) => accepted += 1,
                Ok(Ok(Verdict::Rejected)) => rejected += 1,
                Ok(Err(finding)) => failures.push(format!(
                    "{target:?} case {case}: {finding}: {}",
                    hex(&input)
                )),
                Err(_) => failures.push(format!("{target:?} case {case}: panic: {}", hex(&input))),
            }
        }
        eprintln!(
            "fuzz smoke {target:?}: {cases} cases, {accepted} accepted, {rejected} rejected, {} findings so far, {:.2} s",
            failures.len(),
            started.elapsed().as_secs_f64()
        );
    }
    assert!(
        failures.is_empty(),
        "{} findings:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
