//! Crafted and corrupted files through the importers and the IDX loader: every count read from
//! a file is bounded before it sizes, divides or indexes anything; values finite in f64 but not
//! in f32 are refused; each refusal names the file, the key or line, and the reason. Also
//! safetensors F16 / BF16 tensors widen to exactly the f32 values of the same weights.

use std::io::Write;
use std::path::{Path, PathBuf};

use edgeml_host::datasets::idx;
use edgeml_host::import::{lightgbm, safetensors, sklearn, xgboost, ImportError};
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture")
}

fn assert_names(result: Result<impl std::fmt::Debug, ImportError>, location: &str, reason: &str) {
    let e = result.expect_err("hostile file accepted");
    let msg = e.to_string();
    assert!(msg.starts_with("bad.model: "), "{msg}");
    assert!(e.location.contains(location), "location: {msg}");
    assert!(e.reason.contains(reason), "reason: {msg}");
}

const BAD: &str = "bad.model";

/// The LightGBM fixture with the first line starting `key=` replaced by `key=value`.
fn lgb_with(name: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}=");
    let mut done = false;
    text(name)
        .lines()
        .map(|line| {
            if !done && line.starts_with(&prefix) {
                done = true;
                format!("{prefix}{value}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn lightgbm_counts_and_values_are_checked() {
    let lgb = |key: &str, value: &str| {
        lightgbm::parse(Path::new(BAD), &lgb_with("lgb_multiclass.txt", key, value))
    };
    assert_names(
        lgb("num_tree_per_iteration", "0"),
        "num_tree_per_iteration",
        "0 trees",
    );
    assert_names(lgb("num_class", "0"), "num_class", "0 classes");
    assert_names(
        lgb("num_class", "4611686018427387904"),
        "num_class",
        "classes",
    );
    assert_names(
        lgb("max_feature_idx", "18446744073709551615"),
        "max_feature_idx",
        "most features",
    );
    // A single leaf value beyond f32, and a threshold below −f32::MAX.
    assert_names(
        lgb("leaf_value", "1e39 0 0 0 0 0 0"),
        "leaf_value",
        "not finite as f32",
    );
    assert_names(
        lgb("threshold", "-1e39 0 0 0 0 0"),
        "threshold",
        "not finite as f32",
    );
    assert_names(lgb("threshold", "nan 0 0 0 0 0"), "threshold", "not finite");
    let binary = |value: &str| {
        lightgbm::parse(
            Path::new(BAD),
            &lgb_with("lgb_binary.txt", "objective", value),
        )
    };
    for sigmoid in [
        "binary sigmoid:nan",
        "binary sigmoid:inf",
        "binary sigmoid:-1",
    ] {
        assert_names(binary(sigmoid), "objective", "sigmoid");
    }
    // The unmodified fixture still imports.
    lightgbm::parse(Path::new(BAD), &text("lgb_multiclass.txt")).expect("fixture");
}

fn xgb_with(edit: impl Fn(&mut Value)) -> Result<edgeml_host::import::ImportedTrees, ImportError> {
    let mut json: Value = serde_json::from_str(&text("xgb_multiclass.json")).expect("JSON");
    edit(&mut json);
    xgboost::parse(Path::new(BAD), &json.to_string())
}

#[test]
fn xgboost_counts_and_values_are_checked() {
    let params = "/learner/learner_model_param";
    for n in ["4611686018427387904", "1000000000000", "65"] {
        assert_names(
            xgb_with(|j| j.pointer_mut(params).unwrap()["num_class"] = json!(n)),
            "num_class",
            "classes",
        );
    }
    assert_names(
        xgb_with(|j| j.pointer_mut(params).unwrap()["num_feature"] = json!("99999999999")),
        "num_feature",
        "features",
    );
    assert_names(
        xgb_with(|j| j.pointer_mut(params).unwrap()["base_score"] = json!("1e39")),
        "base_score",
        "not finite as f32",
    );
    let first_tree = "/learner/gradient_booster/model/trees/0";
    assert_names(
        xgb_with(|j| {
            let t = j.pointer_mut(first_tree).unwrap();
            let leaf = t["left_children"]
                .as_array()
                .unwrap()
                .iter()
                .position(|c| c.as_i64() == Some(-1))
                .unwrap();
            t["split_conditions"][leaf] = json!(1e39);
        }),
        "split_conditions",
        "not finite as f32",
    );
    assert_names(
        xgb_with(|j| j.pointer_mut(first_tree).unwrap()["split_conditions"][0] = json!(-1e39)),
        "split_conditions",
        "not finite as f32",
    );
    xgb_with(|_| {}).expect("fixture");
}

fn sk_with(
    name: &str,
    edit: impl Fn(&mut Value),
) -> Result<edgeml_host::import::ImportedTrees, ImportError> {
    let mut json: Value = serde_json::from_str(&text(name)).expect("JSON");
    edit(&mut json);
    sklearn::parse(Path::new(BAD), &json.to_string())
}

#[test]
fn sklearn_counts_and_values_are_checked() {
    // 2^62 overflowed a capacity, 10^12 aborted on allocation: both now refused by key.
    for n in [1u64 << 62, 1_000_000_000_000, 65] {
        assert_names(
            sk_with("sk_forest_multiclass.json", |j| j["n_classes"] = json!(n)),
            "n_classes",
            "classes",
        );
    }
    assert_names(
        sk_with("sk_gb_binary.json", |j| j["n_features"] = json!(u64::MAX)),
        "n_features",
        "features",
    );
    // No initial scores and no classes: zero outputs, which once divided by zero.
    assert!(sk_with("sk_gb_binary.json", |j| {
        j["init"] = json!([]);
        j["n_classes"] = json!(0);
    })
    .is_err());
    assert_names(
        sk_with("sk_gb_binary.json", |j| j["init"] = json!([1e39])),
        "init",
        "finite as f32",
    );
    assert_names(
        sk_with("sk_gb_binary.json", |j| {
            j["learning_rate"] = json!(1e308 * 10.0)
        }),
        "learning_rate",
        "",
    );
    assert_names(
        sk_with("sk_gb_binary.json", |j| {
            let t = &mut j["trees"][0];
            let leaf = t["children_left"]
                .as_array()
                .unwrap()
                .iter()
                .position(|c| c.as_i64() == Some(-1))
                .unwrap();
            t["value"][leaf] = json!([1e40]);
        }),
        "trees[0].value",
        "not finite as f32",
    );
    for bad in ["nan", "-inf", "-1e39"] {
        assert_names(
            sk_with("sk_gb_binary.json", |j| {
                j["trees"][0]["threshold"][0] = json!(bad)
            }),
            "trees[0].threshold",
            "not finite as f32",
        );
    }
    sk_with("sk_gb_binary.json", |_| {}).expect("fixture");
}

/// A safetensors file of `(key, dtype, shape, little-endian bytes)` with `metadata`.
fn safetensors_file(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)], metadata: Value) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), metadata);
    let mut data = Vec::new();
    for (key, dtype, shape, bytes) in tensors {
        let start = data.len();
        data.extend_from_slice(bytes);
        header.insert(
            (*key).into(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&Value::Object(header)).expect("header");
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn safetensors_half_precision_widens_exactly() {
    // Values exactly representable in bf16 (8 significant bits), hence in f16 too.
    let w: Vec<f32> = (0..6).map(|i| (i as f32 - 2.5) * 0.125).collect();
    let b = [0.5f32, -0.25];
    let f32_file = safetensors_file(
        &[
            ("0.weight", "F32", vec![2, 3], f32_bytes(&w)),
            ("0.bias", "F32", vec![2], f32_bytes(&b)),
        ],
        json!({"edgeml.activations": "identity"}),
    );
    let reference = safetensors::parse(Path::new("f32.safetensors"), &f32_file, None).expect("f32");
    for dtype in ["F16", "BF16"] {
        let half = |v: &[f32]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| match dtype {
                    "F16" => half::f16::from_f32(x).to_le_bytes(),
                    _ => half::bf16::from_f32(x).to_le_bytes(),
                })
                .collect()
        };
        let file = safetensors_file(
            &[
                ("0.weight", dtype, vec![2, 3], half(&w)),
                ("0.bias", dtype, vec![2], half(&b)),
            ],
            json!({"edgeml.activations": "identity"}),
        );
        let imported = safetensors::parse(Path::new("h.safetensors"), &file, None).expect(dtype);
        assert_eq!(imported, reference, "{dtype}");
    }
    // The core stores W as [in × out]: w[o][i] lands at i·2 + o.
    assert_eq!(reference.params[..6], [w[0], w[3], w[1], w[4], w[2], w[5]]);
}

#[test]
fn safetensors_hostile_files_are_refused() {
    let name = Path::new(BAD);
    let good = |w: &[f32]| {
        safetensors_file(
            &[
                ("0.weight", "F32", vec![1, 2], f32_bytes(w)),
                ("0.bias", "F32", vec![1], f32_bytes(&[0.0])),
            ],
            json!({"edgeml.activations": "identity"}),
        )
    };
    safetensors::parse(name, &good(&[1.0, 2.0]), None).expect("good file");
    for bad in [f32::NAN, f32::INFINITY] {
        assert_names(
            safetensors::parse(name, &good(&[1.0, bad]), None),
            "0.weight",
            "non-finite value",
        );
    }
    let mut huge_header = good(&[1.0, 2.0]);
    huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_names(safetensors::parse(name, &huge_header, None), "byte 0", "");
    let file = good(&[1.0, 2.0]);
    assert_names(
        safetensors::parse(name, &file[..file.len() - 3], None),
        "file",
        "truncated",
    );
    assert_names(
        safetensors::parse(name, &file[..5], None),
        "byte 0",
        "truncated",
    );
    // A shape whose element count overflows usize.
    let overflow = safetensors_file(
        &[
            ("0.weight", "F32", vec![1 << 62, 8], vec![]),
            ("0.bias", "F32", vec![1], f32_bytes(&[0.0])),
        ],
        json!({"edgeml.activations": "identity"}),
    );
    assert!(safetensors::parse(name, &overflow, None).is_err());
    let unsupported = safetensors_file(
        &[
            ("0.weight", "F64", vec![1, 1], 1.0f64.to_le_bytes().to_vec()),
            ("0.bias", "F32", vec![1], f32_bytes(&[0.0])),
        ],
        json!({"edgeml.activations": "identity"}),
    );
    assert_names(
        safetensors::parse(name, &unsupported, None),
        "0.weight",
        "not supported",
    );
    // Folding a batch norm whose variance is 0 with ε = 1e-30 (not the core's ε, so folded)
    // scales 3e38 by 1e15: refused by key instead of written as ∞.
    let file = safetensors_file(
        &[
            ("0.weight", "F32", vec![1, 1], f32_bytes(&[3e38])),
            ("0.bias", "F32", vec![1], f32_bytes(&[0.0])),
            ("1.running_mean", "F32", vec![1], f32_bytes(&[0.0])),
            ("1.running_var", "F32", vec![1], f32_bytes(&[0.0])),
            ("2.weight", "F32", vec![1, 1], f32_bytes(&[1.0])),
            ("2.bias", "F32", vec![1], f32_bytes(&[0.0])),
        ],
        json!({"edgeml.activations": "identity,identity", "edgeml.bn_eps": "1e-30"}),
    );
    assert_names(
        safetensors::parse(name, &file, None),
        "0.weight",
        "overflows f32",
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out
}

#[test]
fn idx_decompression_stops_at_the_declared_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One 28×28 image declared, then 64 MiB of zeros: about 64 KiB gzipped.
    let mut bomb = idx_header(idx::IMAGES_MAGIC, &[1, 28, 28]);
    bomb.resize(16 + (64 << 20), 0);
    let path = dir.path().join("bomb-idx3-ubyte.gz");
    std::fs::write(&path, gzip(&bomb)).expect("write");
    let bytes = idx::read_maybe_gz(&path).expect("stream is valid gzip");
    assert_eq!(
        bytes.len(),
        16 + 28 * 28 + 1,
        "stops one byte past the declared size"
    );
    let e = idx::parse_images(&path, &bytes).expect_err("trailing data");
    assert!(e.to_string().contains("trailing"), "{e}");
    assert!(e.to_string().contains("bomb-idx3-ubyte.gz"), "{e}");
    // Declared sizes that overflow, and streams that are not IDX at all.
    let overflow = idx_header(0x0000_0E03, &[u32::MAX, u32::MAX, u32::MAX]);
    let path = dir.path().join("overflow.gz");
    std::fs::write(&path, gzip(&overflow)).expect("write");
    assert!(idx::read_maybe_gz(&path)
        .unwrap_err()
        .to_string()
        .contains("overflow"));
    let path = dir.path().join("text.gz");
    std::fs::write(&path, gzip(b"hello, world")).expect("write");
    assert!(idx::read_maybe_gz(&path)
        .unwrap_err()
        .to_string()
        .contains("IDX magic"));
    // A well-formed gzip file still loads in full.
    let mut labels = idx_header(idx::LABELS_MAGIC, &[3]);
    labels.extend([0, 9, 4]);
    let path = dir.path().join("labels.gz");
    std::fs::write(&path, gzip(&labels)).expect("write");
    let bytes = idx::read_maybe_gz(&path).expect("read");
    assert_eq!(
        idx::parse_labels(&path, &bytes).expect("labels"),
        vec![0, 9, 4]
    );
}
