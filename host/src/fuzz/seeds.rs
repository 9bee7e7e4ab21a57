//! Small valid inputs for each [`Target`], the starting points of mutation: built in code (core
//! models, safetensors, IDX) or cut down from the importer fixtures (a header and a few trees,
//! so mutations of the counts are likely).

use std::io::Write;
use std::path::Path;

use edgeml_core::nn::{serialize, Activation, Dtype, Mlp, Topology};
use edgeml_core::rng::Rng;
use edgeml_core::tree::{ModelKind, Node};
use serde_json::{json, Value};

use super::Target;
use crate::import::{lightgbm, sklearn, ImportedTrees};

/// The seeds of `target`; `fixtures` is the importer fixture folder
/// (`host/tests/fixtures/import`). Errors name the fixture that could not be read or cut.
pub fn seeds(target: Target, fixtures: &Path) -> Result<Vec<Vec<u8>>, String> {
    let fx = Fixtures(fixtures);
    Ok(match target {
        Target::TreeModel => tree_seeds(&fx)?,
        Target::Mlp => mlp_seeds()?,
        Target::Lightgbm => vec![
            fx.lightgbm("lgb_regression.txt", 2)?,
            fx.lightgbm("lgb_binary.txt", 1)?,
            fx.lightgbm("lgb_multiclass.txt", 10)?,
        ],
        Target::Xgboost => vec![
            fx.xgboost("xgb_regression.json", 2)?,
            fx.xgboost("xgb_multiclass.json", 10)?,
        ],
        Target::Sklearn => vec![
            fx.sklearn("sk_gb_binary.json", 2)?,
            fx.sklearn("sk_forest_multiclass.json", 1)?,
            fx.sklearn("sk_tree_regression.json", 1)?,
        ],
        Target::Safetensors => vec![
            safetensors_mlp("F32", false),
            safetensors_mlp("F16", true),
            safetensors_mlp("BF16", true),
        ],
        Target::Idx => idx_seeds()?,
    })
}

struct Fixtures<'p>(&'p Path);

impl Fixtures<'_> {
    fn text(&self, name: &str) -> Result<String, String> {
        let path = self.0.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn json(&self, name: &str) -> Result<Value, String> {
        serde_json::from_str(&self.text(name)?).map_err(|e| format!("{name}: {e}"))
    }

    /// A LightGBM model cut to its header and first `trees` trees.
    fn lightgbm(&self, name: &str, trees: usize) -> Result<Vec<u8>, String> {
        let mut out = String::new();
        let mut seen = 0;
        for line in self.text(name)?.lines() {
            if line.starts_with("Tree=") {
                seen += 1;
            }
            if seen > trees || line == "end of trees" {
                break;
            }
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("end of trees\n");
        Ok(out.into_bytes())
    }

    /// An XGBoost model cut to its first `trees` trees.
    fn xgboost(&self, name: &str, trees: usize) -> Result<Vec<u8>, String> {
        let mut json = self.json(name)?;
        let model = json
            .pointer_mut("/learner/gradient_booster/model")
            .ok_or_else(|| format!("{name}: no model"))?;
        for key in ["trees", "tree_info"] {
            if let Some(list) = model[key].as_array_mut() {
                list.truncate(trees);
            }
        }
        Ok(json.to_string().into_bytes())
    }

    /// A scikit-learn export cut to its first `trees` trees.
    fn sklearn(&self, name: &str, trees: usize) -> Result<Vec<u8>, String> {
        let mut json = self.json(name)?;
        if let Some(list) = json["trees"].as_array_mut() {
            list.truncate(trees);
        }
        Ok(json.to_string().into_bytes())
    }
}

fn tree_seeds(fx: &Fixtures<'_>) -> Result<Vec<Vec<u8>>, String> {
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
    let seed = Path::new("seed");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|e| e.to_string());
    let boosted = lightgbm::parse(seed, &text(fx.lightgbm("lgb_binary.txt", 2)?)?)
        .map_err(|e| e.to_string())?;
    let forest = sklearn::parse(seed, &text(fx.sklearn("sk_gb_regression.json", 2)?)?)
        .map_err(|e| e.to_string())?;
    [vote, boosted, forest]
        .iter()
        .map(|m| m.to_bytes().map_err(|e| e.to_string()))
        .collect()
}

fn mlp_seeds() -> Result<Vec<Vec<u8>>, String> {
    let topology = Topology::new(&[3, 4, 2], &[Activation::Tanh, Activation::Identity])
        .and_then(|t| t.with_batch_norm(true))
        .map_err(|e| e.to_string())?;
    let mut buffer = vec![0f32; topology.model_len()];
    let mut mlp = Mlp::new(topology, &mut buffer).map_err(|e| e.to_string())?;
    mlp.init(&mut Rng::new(7));
    [Dtype::F32, Dtype::F16]
        .iter()
        .map(|&dtype| {
            let len = serialize::serialized_len(&topology, dtype).map_err(|e| e.to_string())?;
            let mut out = vec![0u8; len];
            let n = mlp.save(dtype, &mut out).map_err(|e| e.to_string())?;
            out.truncate(n);
            Ok(out)
        })
        .collect()
}

/// A 2-3-1 PyTorch MLP (with a `BatchNorm1d` when `with_bn`) stored as `dtype`.
fn safetensors_mlp(dtype: &str, with_bn: bool) -> Vec<u8> {
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
    let header = Value::Object(header).to_string().into_bytes();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    out
}

/// Two 3×3 images and four labels, raw and gzipped.
fn idx_seeds() -> Result<Vec<Vec<u8>>, String> {
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    images.extend((0..18).map(|i| i * 14));
    let mut labels = vec![0, 0, 8, 1, 0, 0, 0, 4];
    labels.extend([0, 9, 4, 1]);
    let gz = |bytes: &[u8]| -> Result<Vec<u8>, String> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).map_err(|e| e.to_string())?;
        e.finish().map_err(|e| e.to_string())
    };
    Ok(vec![gz(&images)?, gz(&labels)?, images, labels])
}
