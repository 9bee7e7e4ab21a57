//! Compares the firmware's output with the host's predictions.

use anyhow::{bail, Result};
use std::collections::HashMap;
use std::path::Path;

/// Largest accepted |firmware − host| / max(1, |host|) per model (f32 sums in another order
/// and another libm build on the device; the trees compare thresholds exactly; the int8 MLP
/// is integer arithmetic, bit-identical).
fn tolerance(model: &str) -> f64 {
    match model {
        "mlp i8" => 0.0,
        "gbdt" | "lgb500" => 1e-6,
        _ => 1e-4,
    }
}

/// The model part of a key: `mlp VARIANT` for the MLP (so each dtype has its bound), else the
/// model name.
fn model_of(key: &str) -> &str {
    match key.match_indices(' ').nth(1) {
        Some((end, _)) if key.starts_with("mlp ") => &key[..end],
        _ => key.split(' ').next().unwrap_or_default(),
    }
}

/// Key (model, variant, row) of a prediction line and its class and values.
struct Prediction {
    class: String,
    values: Vec<f64>,
}

fn key_len(model: &str) -> usize {
    if model == "mlp" {
        3
    } else {
        2
    }
}

fn predictions(text: &str) -> Result<HashMap<String, Prediction>> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(&model) = tokens.first() else {
            continue;
        };
        if !["mlp", "knn", "gbdt", "attn", "lgb500"].contains(&model) {
            continue;
        }
        let k = key_len(model);
        let (Some(key), Some(class)) = (tokens.get(..k), tokens.get(k)) else {
            bail!("malformed line: {line}");
        };
        let values = tokens[k + 1..]
            .iter()
            .map(|t| t.parse::<f64>())
            .collect::<Result<Vec<_>, _>>()?;
        map.insert(
            key.join(" "),
            Prediction {
                class: class.to_string(),
                values,
            },
        );
    }
    Ok(map)
}

fn accuracy(text: &str, variant: &str) -> Option<(f64, f64)> {
    text.lines().find_map(|line| {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["acc", "mlp", v, correct, n] if *v == variant => {
                Some((correct.parse().ok()?, n.parse().ok()?))
            }
            _ => None,
        }
    })
}

fn check_predictions(
    expected: &str,
    got: &str,
    partial: bool,
    failures: &mut Vec<String>,
) -> Result<usize> {
    let host = predictions(expected)?;
    let device = predictions(got)?;
    let mut worst: HashMap<&str, f64> = HashMap::new();
    let mut compared = 0;
    for (key, want) in &host {
        let model = model_of(key);
        let have = device.get(key);
        if partial && have.is_none() {
            continue;
        }
        compared += 1;
        let Some(have) = have else {
            failures.push(format!("{key}: missing from the firmware output"));
            continue;
        };
        if have.class != want.class {
            failures.push(format!("{key}: class {} ≠ host {}", have.class, want.class));
        }
        if have.values.len() != want.values.len() {
            failures.push(format!(
                "{key}: {} values ≠ host {}",
                have.values.len(),
                want.values.len()
            ));
            continue;
        }
        for (a, b) in have.values.iter().zip(&want.values) {
            let err = (a - b).abs() / b.abs().max(1.0);
            let w = worst.entry(model).or_insert(0.0);
            *w = w.max(err);
            if err.is_nan() || err > tolerance(model) {
                failures.push(format!("{key}: value {a} vs host {b}"));
            }
        }
    }
    let mut models: Vec<_> = worst.into_iter().collect();
    models.sort_by(|a, b| a.0.cmp(b.0));
    for (model, err) in models {
        println!(
            "{model}: largest relative difference {err:.2e} (bound {:.0e})",
            tolerance(model)
        );
    }
    if compared == 0 {
        failures.push("no predictions in the firmware output".into());
    }
    Ok(compared)
}

fn check_f16(got: &str, failures: &mut Vec<String>) {
    let acc = |v| accuracy(got, v).map(|(c, n)| 100.0 * c / n);
    match (acc("f32"), acc("f16"), acc("i8")) {
        (Some(a32), Some(a16), Some(a8)) => {
            println!(
                "MLP accuracy on the embedded inputs: f32 {a32:.2} %, f16 {a16:.2} %, int8 {a8:.2} %"
            );
            if a32 - a16 > 0.5 {
                failures.push(format!("f16 loses {:.2} points (> 0.5)", a32 - a16));
            }
        }
        _ => failures.push("accuracy lines missing".into()),
    }
}

fn check_training(got: &str, failures: &mut Vec<String>) {
    let losses: Vec<f64> = got
        .lines()
        .filter_map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["train", _, loss] => loss.parse().ok(),
                _ => None,
            },
        )
        .collect();
    match (losses.first(), losses.last()) {
        (Some(first), Some(last)) if losses.len() >= 2 && last < first => {
            println!(
                "on-device training: loss {first:.4} → {last:.4} over {} epochs",
                losses.len()
            );
        }
        _ => failures.push(format!("on-device training loss did not fall: {losses:?}")),
    }
}

fn check_corruption(got: &str, failures: &mut Vec<String>) {
    let mut cases = 0;
    for line in got.lines().filter(|l| l.starts_with("corrupt ")) {
        cases += 1;
        if line.ends_with(" accepted") {
            failures.push(format!("{line}: corrupted model loaded"));
        }
    }
    if cases == 0 {
        failures.push("no corruption cases in the output".into());
    }
    println!("corrupted models rejected: {cases} cases");
}

/// Checks `output` (the firmware's stdout) against `dir/expected.txt`; with `partial`, only
/// what a build with some of the parts printed.
pub fn run(dir: &Path, output: &Path, partial: bool) -> Result<()> {
    let expected = std::fs::read_to_string(dir.join("expected.txt"))?;
    let got = std::fs::read_to_string(output)?;
    let mut failures = Vec::new();
    let compared = check_predictions(&expected, &got, partial, &mut failures)?;
    for variant in ["f32", "f16", "i8"] {
        let device = accuracy(&got, variant);
        if (device.is_some() || !partial) && accuracy(&expected, variant) != device {
            failures.push(format!("MLP {variant} accuracy differs from the host's"));
        }
    }
    if !partial {
        check_f16(&got, &mut failures);
        check_training(&got, &mut failures);
        check_corruption(&got, &mut failures);
    }
    if !got.lines().any(|l| l == "done ok") {
        failures.push("the firmware did not report `done ok`".into());
    }
    for f in failures.iter().take(20) {
        eprintln!("mismatch: {f}");
    }
    if failures.is_empty() {
        println!("firmware output matches the host on {compared} predictions");
        Ok(())
    } else {
        bail!("{} mismatches", failures.len())
    }
}
