//! The binary's terminal output and report assembly: subcommands run into one `--out` each add
//! their section to REPORT.md; `--json` prints one JSON object per experiment; `--quiet` prints
//! nothing on stdout; a corrupt `<experiment>.json` is named in a warning and left out.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `edgeml` with `args` (the report folder first), panicking with its stderr on failure.
fn edgeml(out: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_edgeml"))
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("the edgeml binary runs");
    assert!(
        output.status.success(),
        "edgeml {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The fast attention run: throughput at one short length, no training.
const ATTENTION: [&str; 6] = [
    "--quick",
    "attention",
    "--throughput-only",
    "--lengths",
    "16",
    "--min-time-ms=1",
];

/// `## ` headings of REPORT.md in `out`, in order.
fn sections(out: &Path) -> Vec<String> {
    let report = std::fs::read_to_string(out.join("REPORT.md")).expect("REPORT.md written");
    report
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::to_string)
        .collect()
}

#[test]
fn two_subcommands_share_one_report_and_json_lines_parse() {
    let out = tempfile::tempdir().expect("temp dir");
    // First the k-NN lab's timing (JSON lines), then attention (text) into the same folder.
    let knn = edgeml(
        out.path(),
        &[
            "--quick",
            "--json",
            "knn-lab",
            "--timing-only",
            "--timing-runs=1",
        ],
    );
    let stdout = String::from_utf8(knn.stdout).expect("UTF-8 stdout");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 1, "one JSON line per experiment: {stdout}");
    assert_eq!(lines[0]["experiment"], "knn_lab");
    assert!(lines[0]["seconds"].as_f64().is_some_and(|s| s > 0.0));
    let headline = lines[0]["headline"].as_array().expect("headline list");
    let line = headline
        .iter()
        .find(|h| h["name"] == "1-NN fit + predict, kd-tree")
        .unwrap_or_else(|| panic!("the kd-tree's time in {headline:?}"));
    // The figure in the JSON line is the one in knn_lab.json, rounded to 3 digits as text.
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("knn_lab.json")).expect("knn_lab.json"),
    )
    .expect("knn_lab.json parses");
    let seconds = written["figures"]["timing"]["kd_tree_k1"]["median_s"]
        .as_f64()
        .expect("the kd-tree's median");
    assert_eq!(line["value"].as_f64(), Some(seconds));
    assert_eq!(line["unit"], "s");
    let text = line["text"].as_str().expect("text");
    let shown: f64 = text.parse().expect("a number");
    assert!(
        (shown - seconds).abs() <= 0.005 * seconds,
        "{text} vs {seconds}"
    );
    assert!(text.len() <= 6, "rounded: {text}");

    let attention = edgeml(out.path(), &ATTENTION);
    let text = String::from_utf8(attention.stdout).expect("UTF-8 stdout");
    let first = text.lines().next().expect("a summary block");
    assert!(
        first.starts_with("Attention") && first.contains("(attention)"),
        "{text}"
    );
    assert!(text.contains("GFLOP/s"), "{text}");
    assert!(text.contains("REPORT.md"), "{text}");
    assert!(
        !text.contains("|---"),
        "no Markdown tables on stdout: {text}"
    );

    let headings = sections(out.path());
    assert_eq!(headings.len(), 2, "{headings:?}");
    assert!(
        headings[0].starts_with("k-NN lab"),
        "registry order: {headings:?}"
    );
    assert!(headings[1].starts_with("Attention"), "{headings:?}");
    let report = std::fs::read_to_string(out.path().join("REPORT.md")).expect("REPORT.md");
    assert_eq!(
        report.matches("_Wall time: ").count(),
        2,
        "each section states its wall time"
    );
}

#[test]
fn quiet_prints_nothing_on_stdout_and_corrupt_json_is_skipped() {
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        out.path().join("trees.json"),
        "{\"experiment\": \"trees\", ",
    )
    .expect("write");
    // Not an experiment's JSON (a peer's timings): left out silently.
    std::fs::write(out.path().join("peer_numpy.json"), "{\"gemm\": 1}").expect("write");
    let run = edgeml(out.path(), &[&["--quiet"][..], &ATTENTION[..]].concat());
    assert!(
        run.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&run.stdout)
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "only the warning: {stderr}");
    assert!(warnings[0].starts_with("warning: "), "{stderr}");
    assert!(warnings[0].contains("trees.json"), "{stderr}");
    assert!(!stderr.contains("peer_numpy"), "{stderr}");
    assert_eq!(sections(out.path()).len(), 1);
    assert!(out.path().join("attention.json").is_file());
}

/// Mesa's device-select layer complains about `XDG_RUNTIME_DIR` on headless machines unless
/// `NODEVICE_SELECT` is set; the binary sets it for itself, so opening the GPU (or finding
/// none) prints no such line even with both variables removed from its environment.
#[cfg(feature = "gpu")]
#[test]
fn opening_the_gpu_prints_no_mesa_noise() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = Command::new(env!("CARGO_BIN_EXE_edgeml"))
        .arg("--out")
        .arg(out.path())
        .args(["--quick", "gpu-mlp", "--rows=64", "--epochs=1"])
        .env_remove("NODEVICE_SELECT")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .expect("the edgeml binary runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("(gpu-mlp)"), "{stdout}");
}
