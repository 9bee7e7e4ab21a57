//! Fuzz smoke run by the test command: for every byte-level entry point
//! ([`edgeml_host::fuzz::Target`]), structure-aware mutations of small valid seeds (checksums
//! recomputed) must give a clean error or a result the core accepts and runs with finite
//! outputs — never a panic, an abort or a silently accepted NaN. Cases per target: 2000, or
//! `PROPTEST_CASES`. A failure prints the target, the case's seed and the input (hex), which
//! becomes a regression test; long campaigns use the cargo-afl targets in `fuzz/`
//! (docs/fuzzing.md).

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use edgeml_core::nn::{Activation, Dtype, Mlp, Topology};
use edgeml_core::rng::Rng;
use edgeml_core::tree::{ModelKind, Node};
use edgeml_host::fuzz::{check, mutate, Target, Verdict};
use edgeml_host::import::{self, ImportedTrees};
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture")
}

/// A LightGBM model cut to its header and first `trees` trees, so mutations hit the counts.
fn lightgbm_seed(name: &str, trees: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut seen = 0;
    for line in text(name).lines() {
        if line.starts_with("Tree=") {
            seen += 1;
            if seen > trees {
                break;
            }
        }
        if line == "end of trees" {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("end of trees\n");
    out.into_bytes()
}

fn xgboost_seed(name: &str, trees: usize) -> Vec<u8> {
    let mut json: Value = serde_json::from_str(&text(name)).expect("JSON");
    let model = json
        .pointer_mut("/learner/gradient_booster/model")
        .expect("model");
    for key in ["trees", "tree_info"] {
        model[key].as_array_mut().expect(key).truncate(trees);
    }
    json.to_string().into_bytes()
}

fn sklearn_seed(name: &str, trees: usize) -> Vec<u8> {
    let mut json: Value = serde_json::from_str(&text(name)).expect("JSON");
    json["trees"].as_array_mut().expect("trees").truncate(trees);
    json.to_string().into_bytes()
}

fn tree_seeds() -> Vec<Vec<u8>> {
    let vote = ImportedTrees {
        kind: ModelKind::ForestVote,
        n_features: 2,
        n_outputs: 3,
        nodes: vec![
            Node::split(0, 0.5, 1, true),
            Node::leaf(0.0),
            Node::leaf(2.0),
            Node::split(1, -1.0, 1, false),
            Node::leaf(1.0),
            Node::leaf(2.0),
        ],
        roots: vec![0, 3],
        base: vec![],
    };
    let lgb = import::lightgbm::parse(
        Path::new("s"),
        std::str::from_utf8(&lightgbm_seed("lgb_binary.txt", 2)).unwrap(),
    )
    .expect("seed");
    let sk = import::sklearn::parse(
        Path::new("s"),
        std::str::from_utf8(&sklearn_seed("sk_gb_regression.json", 2)).unwrap(),
    )
    .expect("seed");
    [vote, lgb, sk]
        .iter()
        .map(|m| m.to_bytes().expect("seed bytes"))
        .collect()
}

fn mlp_seeds() -> Vec<Vec<u8>> {
    let topology = Topology::new(&[3, 4, 2], &[Activation::Tanh, Activation::Identity])
        .and_then(|t| t.with_batch_norm(true))
        .expect("topology");
    let mut buffer = vec![0f32; topology.model_len()];
    let mut mlp = Mlp::new(topology, &mut buffer).expect("mlp");
    mlp.init(&mut Rng::new(7));
    [Dtype::F32, Dtype::F16]
        .iter()
        .map(|&dtype| {
            let mut out =
                vec![0u8; edgeml_core::nn::serialize::serialized_len(&topology, dtype).unwrap()];
            let n = mlp.save(dtype, &mut out).expect("save");
            out.truncate(n);
            out
        })
        .collect()
}

fn safetensors_seed(dtype: &str, with_bn: bool) -> Vec<u8> {
    let encode = |values: &[f32]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|&v| match dtype {
                "F16" => half::f16::from_f32(v).to_le_bytes().to_vec(),
                "BF16" => half::bf16::from_f32(v).to_le_bytes().to_vec(),
                _ => v.to_le_bytes().to_vec(),
            })
            .collect()
    };
    let mut tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = vec![
        (
            "0.weight",
            vec![3, 2],
            vec![0.5, -0.25, 1.0, 0.75, -1.0, 0.125],
        ),
        ("0.bias", vec![3], vec![0.1, 0.2, -0.3]),
    ];
    if with_bn {
        tensors.push(("1.weight", vec![3], vec![1.0, 0.5, 2.0]));
        tensors.push(("1.bias", vec![3], vec![0.0, 0.1, -0.1]));
        tensors.push(("1.running_mean", vec![3], vec![0.0, 0.5, -0.5]));
        tensors.push(("1.running_var", vec![3], vec![1.0, 0.25, 4.0]));
    }
    tensors.push(("3.weight", vec![1, 3], vec![1.0, -2.0, 0.5]));
    tensors.push(("3.bias", vec![1], vec![0.0]));
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        json!({"edgeml.activations": "relu,identity"}),
    );
    let mut data = Vec::new();
    for (key, shape, values) in &tensors {
        let start = data.len();
        data.extend(encode(values));
        header.insert(
            (*key).into(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&Value::Object(header)).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    out
}

fn idx_seeds() -> Vec<Vec<u8>> {
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    images.extend((0..18).map(|i| i * 14));
    let mut labels = vec![0, 0, 8, 1, 0, 0, 0, 4];
    labels.extend([0, 9, 4, 1]);
    let gz = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    vec![gz(&images), gz(&labels), images, labels]
}

fn seeds(target: Target) -> Vec<Vec<u8>> {
    match target {
        Target::TreeModel => tree_seeds(),
        Target::Mlp => mlp_seeds(),
        Target::Lightgbm => vec![
            lightgbm_seed("lgb_regression.txt", 2),
            lightgbm_seed("lgb_binary.txt", 1),
            lightgbm_seed("lgb_multiclass.txt", 10),
        ],
        Target::Xgboost => vec![
            xgboost_seed("xgb_regression.json", 2),
            xgboost_seed("xgb_multiclass.json", 10),
        ],
        Target::Sklearn => vec![
            sklearn_seed("sk_gb_binary.json", 2),
            sklearn_seed("sk_forest_multiclass.json", 1),
            sklearn_seed("sk_tree_regression.json", 1),
        ],
        Target::Safetensors => vec![
            safetensors_seed("F32", false),
            safetensors_seed("F16", true),
            safetensors_seed("BF16", true),
        ],
        Target::Idx => idx_seeds(),
    }
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
        let seeds = seeds(target);
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
