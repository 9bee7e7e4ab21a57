//! `edgeml import safetensors` with `BatchNorm1d`: the committed PyTorch fixtures (written by
//! benches/peers/export_models.py `export_mlp_bn`) give PyTorch's classes and logits, on the
//! core's batch-norm path and folded into the dense layers; a folded model matches an f64
//! reference of Linear → BatchNorm → activation; malformed batch-norm tensors are rejected
//! naming the file, key and reason.

use std::path::{Path, PathBuf};

use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{topology::inference_scratch_len, Dtype, Mlp};
use edgeml_host::import::{safetensors, ImportError};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// `fashion.pixels.json` as the exporter feeds PyTorch: `x = pixel / 255` in f32.
fn pixel_rows() -> Vec<Vec<f32>> {
    read_json("fashion.pixels.json")
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_f64().expect("pixel") as f32 / 255.0)
                .collect()
        })
        .collect()
}

/// Runs the imported model, rebuilt from the core's bytes, on `x` (`rows × inputs`).
fn run_imported(imported: &safetensors::ImportedMlp, x: &[f32], rows: usize) -> Vec<f32> {
    let saved = imported.to_bytes(Dtype::F32).expect("bytes");
    let mut buffer = vec![0f32; imported.topology.model_len()];
    let mlp = Mlp::load(&saved, &mut buffer).expect("load");
    assert_eq!(mlp.buffer(), &imported.params[..]);
    let outputs = mlp.topology().outputs();
    let mut scratch = vec![0f32; inference_scratch_len(mlp.topology().sizes(), rows)];
    let mut out = vec![0f32; rows * outputs];
    mlp.forward(Dispatch::PORTABLE, x, &mut scratch, &mut out)
        .expect("forward");
    out
}

/// Imports fixture `case` and checks PyTorch's classes exactly and its logits within 1e-5
/// relative to the row's largest logit; `core_path` is whether the batch norm must stay on
/// the core's own path (otherwise it is folded away).
fn check_fixture(case: &str, core_path: bool) {
    let expected = read_json(&format!("{case}.expected.json"));
    let path = fixtures().join(expected["model"].as_str().expect("model"));
    let bytes = std::fs::read(&path).expect("fixture");
    let imported = safetensors::parse(&path, &bytes, None).expect("import");
    assert_eq!(imported.topology.sizes(), &[784, 32, 16, 10], "{case}");
    assert_eq!(imported.topology.batch_norm(), core_path, "{case}");
    let rows = pixel_rows();
    let out = run_imported(&imported, &rows.concat(), rows.len());
    let margins = expected["margins"].as_array().expect("margins");
    let classes = expected["predictions"].as_array().expect("predictions");
    for (i, got) in out.chunks_exact(10).enumerate() {
        let want: Vec<f64> = margins[i]
            .as_array()
            .expect("row")
            .iter()
            .map(|v| v.as_f64().expect("logit"))
            .collect();
        let scale = want.iter().fold(1.0f64, |m, w| m.max(w.abs()));
        for (&g, &w) in got.iter().zip(&want) {
            assert!(
                (f64::from(g) - w).abs() <= 1e-5 * scale,
                "{case} row {i}: {g} vs {w}"
            );
        }
        let class = (0..10).fold(0, |b, k| if got[k] > got[b] { k } else { b });
        assert_eq!(Some(class as f64), classes[i].as_f64(), "{case} row {i}");
    }
}

#[test]
fn batch_norm_on_every_hidden_layer_uses_the_core_path() {
    check_fixture("torch_mlp_bn", true);
}

#[test]
fn batch_norm_on_one_layer_with_other_eps_is_folded() {
    check_fixture("torch_mlp_bn_folded", false);
}

/// A safetensors file holding `tensors` (key, shape, values; all F32) and `metadata`.
fn safetensors_bytes(tensors: &[(&str, Vec<usize>, Vec<f32>)], metadata: Value) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), metadata);
    let mut data = Vec::new();
    for (key, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            (*key).into(),
            json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&Value::Object(header)).expect("header");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    bytes
}

/// Deterministic values in about [−1, 1] (a fixed sine sequence, no generator needed).
fn values(n: usize, phase: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.7 + phase).sin()).collect()
}

/// 3-4-2 with `BatchNorm1d(4)` at module 1 (module 2 is the parameterless ReLU).
fn small_net() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    vec![
        ("0.weight", vec![4, 3], values(12, 0.1)),
        ("0.bias", vec![4], values(4, 0.2)),
        ("1.weight", vec![4], vec![1.5, 0.5, -1.0, 2.0]),
        ("1.bias", vec![4], vec![0.1, -0.2, 0.3, 0.0]),
        ("1.running_mean", vec![4], vec![0.2, -0.1, 0.05, 0.4]),
        ("1.running_var", vec![4], vec![0.5, 2.0, 0.0, 1.2]),
        ("3.weight", vec![2, 4], values(8, 0.3)),
        ("3.bias", vec![2], values(2, 0.4)),
    ]
}

fn parse(
    tensors: &[(&str, Vec<usize>, Vec<f32>)],
    metadata: Value,
) -> Result<safetensors::ImportedMlp, ImportError> {
    let bytes = safetensors_bytes(tensors, metadata);
    safetensors::parse(Path::new("bn.safetensors"), &bytes, Some("tanh,identity"))
}

/// f64 forward of the PyTorch module stack: Linear, BatchNorm (running statistics, `eps`),
/// tanh, Linear; `weight` is `[out × in]` as PyTorch stores it.
fn reference(net: &[(&str, Vec<usize>, Vec<f32>)], eps: f64, x: &[f64]) -> Vec<f64> {
    let t = |key: &str| -> Vec<f64> {
        let (_, _, v) = net.iter().find(|(k, _, _)| *k == key).expect(key);
        v.iter().map(|&v| f64::from(v)).collect()
    };
    let linear = |w: &[f64], b: &[f64], x: &[f64]| -> Vec<f64> {
        b.iter()
            .enumerate()
            .map(|(o, &bo)| {
                bo + x
                    .iter()
                    .enumerate()
                    .map(|(i, &xi)| w[o * x.len() + i] * xi)
                    .sum::<f64>()
            })
            .collect()
    };
    let h = linear(&t("0.weight"), &t("0.bias"), x);
    let (g, beta, m, v) = (
        t("1.weight"),
        t("1.bias"),
        t("1.running_mean"),
        t("1.running_var"),
    );
    let h: Vec<f64> = (0..h.len())
        .map(|k| (g[k] * (h[k] - m[k]) / (v[k] + eps).sqrt() + beta[k]).tanh())
        .collect();
    linear(&t("3.weight"), &t("3.bias"), &h)
}

/// Folding (ε 1e-3, so not the core's path) and the core's path (default ε) both match the
/// f64 reference within f32 rounding; one variance is 0, so ε matters.
#[test]
fn small_network_matches_an_f64_reference_on_both_paths() {
    let net = small_net();
    let x: Vec<f32> = values(15, 0.9).iter().map(|v| 2.0 * v).collect();
    for (metadata, eps, core_path) in [
        (json!({"edgeml.bn_eps": "0.001"}), 1e-3, false),
        (json!({}), 1e-5, true),
    ] {
        let imported = parse(&net, metadata).expect("import");
        assert_eq!(imported.topology.batch_norm(), core_path);
        let out = run_imported(&imported, &x, 5);
        for (row, got) in x.chunks_exact(3).zip(out.chunks_exact(2)) {
            let row: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
            let want = reference(&net, eps, &row);
            // |logit| ≤ 2·Σ|w| here; 1e-4 is ~100 f32 roundings of values below 10.
            for (&g, &w) in got.iter().zip(&want) {
                assert!(
                    (f64::from(g) - w).abs() <= 1e-4,
                    "{g} vs {w} (core path {core_path})"
                );
            }
        }
    }
}

fn assert_names(e: &ImportError, location: &str, reason: &str) {
    let msg = e.to_string();
    assert!(msg.starts_with("bn.safetensors"), "{msg}");
    assert!(e.location.contains(location), "{msg}");
    assert!(e.reason.contains(reason), "{msg}");
}

fn with(
    change: impl Fn(&mut Vec<(&'static str, Vec<usize>, Vec<f32>)>),
) -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    let mut net = small_net();
    change(&mut net);
    net
}

#[test]
fn malformed_batch_norm_tensors_are_rejected() {
    let wrong_shape = with(|n| n[4] = ("1.running_mean", vec![5], values(5, 0.0)));
    let e = parse(&wrong_shape, json!({})).expect_err("shape");
    assert_names(
        &e,
        "key `1.running_mean`",
        "shape mismatch: [5], expected [4]",
    );

    let missing_var = with(|n| n.retain(|(k, _, _)| *k != "1.running_var"));
    let e = parse(&missing_var, json!({})).expect_err("missing");
    assert_names(&e, "key `1.running_var`", "missing");

    let negative = with(|n| n[5].2[2] = -0.25);
    let e = parse(&negative, json!({})).expect_err("negative");
    assert_names(&e, "key `1.running_var`", "negative variance -0.25 at [2]");

    let non_finite = with(|n| n[2].2[1] = f32::NAN);
    let e = parse(&non_finite, json!({})).expect_err("NaN");
    assert_names(&e, "key `1.weight`", "non-finite value NaN at [1]");

    let gamma_only = with(|n| n.retain(|(k, _, _)| *k != "1.bias"));
    let e = parse(&gamma_only, json!({})).expect_err("no bias");
    assert_names(&e, "key `1.bias`", "missing");

    let after_activation = with(|n| {
        for t in n.iter_mut().filter(|t| t.0.starts_with("1.")) {
            t.0 = match t.0 {
                "1.weight" => "2.weight",
                "1.bias" => "2.bias",
                "1.running_mean" => "2.running_mean",
                _ => "2.running_var",
            };
        }
    });
    let e = parse(&after_activation, json!({})).expect_err("placement");
    assert_names(&e, "key `2.running_mean`", "must directly follow a Linear");

    let e = parse(&small_net(), json!({"edgeml.bn_eps": "-1"})).expect_err("eps");
    assert_names(&e, "key `__metadata__.edgeml.bn_eps`", "positive finite");
}

/// `affine=False` batch norm (running statistics only) imports with γ = 1 and β = 0.
#[test]
fn batch_norm_without_affine_parameters() {
    let plain = with(|n| n.retain(|(k, _, _)| *k != "1.weight" && *k != "1.bias"));
    let imported = parse(&plain, json!({})).expect("import");
    let affine = with(|n| {
        n[2].2 = vec![1.0; 4];
        n[3].2 = vec![0.0; 4];
    });
    assert_eq!(imported, parse(&affine, json!({})).expect("import"));
}
