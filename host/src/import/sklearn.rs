//! scikit-learn trees, forests and gradient boosting, from the JSON that
//! `benches/peers/sklearn_export.py` writes (the `tree_` arrays; no pickle).
//!
//! scikit-learn casts inputs to `f32` and sends `x <= threshold` (an `f64`) left, so
//! thresholds become the largest `f32` not above them. Thresholds are read from decimal
//! strings (exact `f64`). The export has no missing-value directions, so NaN goes right.
//! Mappings:
//! - tree / forest regressors: `ForestMean` of the leaf values;
//! - tree / forest classifiers: `Multiclass` with one tree per (tree, class) whose leaves hold
//!   `P(class) / n_trees`, so the scores are scikit-learn's averaged `predict_proba` and the
//!   top score its `predict` (soft voting, which `ForestVote` would not reproduce);
//! - gradient boosting: `Regression`, `Binary` or `Multiclass` with `init` as base scores and
//!   `learning_rate × value` as leaves.

use std::path::Path;

use edgeml_core::tree::{ModelKind, Node};
use serde_json::Value;

use super::layout::{finite_f32, flatten, le_threshold, SrcNode, MAX_FEATURES, MAX_OUTPUTS};
use super::{error, ImportError, ImportedTrees};

/// Parses an exporter JSON file; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<ImportedTrees, ImportError> {
    let json: Value = serde_json::from_str(text).map_err(|e| {
        error(
            file,
            format!("line {} column {}", e.line(), e.column()),
            format!("invalid JSON: {e}"),
        )
    })?;
    let key = |k: &str| -> Result<&Value, ImportError> {
        json.get(k)
            .ok_or_else(|| error(file, format!("key `{k}`"), "missing"))
    };
    let uint = |k: &str| -> Result<usize, ImportError> {
        key(k)?
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| {
                error(
                    file,
                    format!("key `{k}`"),
                    "expected a non-negative integer",
                )
            })
    };
    if key("format")?.as_str() != Some("edgeml-sklearn") || uint("version")? != 1 {
        return Err(error(
            file,
            "key `format`",
            "not an edgeml-sklearn version 1 file",
        ));
    }
    let estimator = key("estimator")?.as_str().unwrap_or("");
    let n_features = uint("n_features")?;
    if n_features > MAX_FEATURES {
        return Err(error(
            file,
            "key `n_features`",
            format!("{n_features} features, the most is {MAX_FEATURES}"),
        ));
    }
    let n_classes = uint("n_classes")?;
    if n_classes > MAX_OUTPUTS {
        return Err(error(
            file,
            "key `n_classes`",
            format!("{n_classes} classes, the most is {MAX_OUTPUTS}"),
        ));
    }
    let trees = key("trees")?
        .as_array()
        .ok_or_else(|| error(file, "key `trees`", "expected an array"))?;
    let at = |t: usize, k: &str| format!("key `trees[{t}].{k}`");
    let mut flat = Vec::new();
    let (kind, n_outputs, base) = match estimator {
        "DecisionTreeRegressor" | "RandomForestRegressor" | "ExtraTreesRegressor" => {
            for (t, tree) in trees.iter().enumerate() {
                flat.push(one_tree(file, tree, t, n_features, |v| leaf(v, 0, 1.0))?);
            }
            (ModelKind::ForestMean, 1, Vec::new())
        }
        "DecisionTreeClassifier" | "RandomForestClassifier" | "ExtraTreesClassifier" => {
            if n_classes < 2 {
                return Err(error(file, "key `n_classes`", "needs at least 2 classes"));
            }
            let scale = 1.0 / trees.len().max(1) as f64;
            for (t, tree) in trees.iter().enumerate() {
                for k in 0..n_classes {
                    flat.push(one_tree(file, tree, t, n_features, |v| leaf(v, k, scale))?);
                }
            }
            (ModelKind::Multiclass, n_classes, vec![0.0; n_classes])
        }
        "GradientBoostingRegressor" | "GradientBoostingClassifier" => {
            let lr = key("learning_rate")?
                .as_f64()
                .filter(|lr| lr.is_finite())
                .ok_or_else(|| error(file, "key `learning_rate`", "expected a finite number"))?;
            let init: Vec<f32> = key("init")?
                .as_array()
                .ok_or_else(|| error(file, "key `init`", "expected an array"))?
                .iter()
                .map(|v| v.as_f64().and_then(finite_f32))
                .collect::<Option<_>>()
                .ok_or_else(|| error(file, "key `init`", "expected numbers finite as f32"))?;
            let kind = match (estimator, init.len()) {
                ("GradientBoostingRegressor", 1) => ModelKind::Regression,
                ("GradientBoostingClassifier", 1) => ModelKind::Binary,
                ("GradientBoostingClassifier", k) if k == n_classes => ModelKind::Multiclass,
                _ => {
                    return Err(error(
                        file,
                        "key `init`",
                        format!(
                            "{} initial scores do not fit {estimator} with {n_classes} classes",
                            init.len()
                        ),
                    ))
                }
            };
            for (t, tree) in trees.iter().enumerate() {
                flat.push(one_tree(file, tree, t, n_features, |v| leaf(v, 0, lr))?);
            }
            (kind, init.len(), init)
        }
        other => {
            return Err(error(
                file,
                "key `estimator`",
                format!("unsupported estimator `{other}`"),
            ))
        }
    };
    if flat.is_empty() || flat.len().checked_rem(n_outputs) != Some(0) {
        return Err(error(
            file,
            at(0, "value"),
            format!("{} trees do not fit {n_outputs} outputs", flat.len()),
        ));
    }
    ImportedTrees::from_trees(file, kind, n_features, n_outputs, flat, base)
}

/// Entry `k` of a node's value list, times `scale`.
fn leaf(value: &Value, k: usize, scale: f64) -> Option<f32> {
    let v = match value {
        Value::Array(a) => a.get(k)?.as_f64()?,
        v => v.as_f64()?,
    };
    finite_f32(v * scale)
}

fn one_tree(
    file: &Path,
    tree: &Value,
    t: usize,
    n_features: usize,
    leaf_of: impl Fn(&Value) -> Option<f32>,
) -> Result<Vec<Node>, ImportError> {
    let at = |k: &str| format!("key `trees[{t}].{k}`");
    let arr = |k: &str| -> Result<&Vec<Value>, ImportError> {
        tree.get(k)
            .and_then(Value::as_array)
            .ok_or_else(|| error(file, at(k), "missing or not an array"))
    };
    let left = arr("children_left")?;
    let n = left.len();
    let right = arr("children_right")?;
    let feature = arr("feature")?;
    let threshold = arr("threshold")?;
    let value = arr("value")?;
    for (k, a) in [
        ("children_right", right),
        ("feature", feature),
        ("threshold", threshold),
        ("value", value),
    ] {
        if a.len() != n {
            return Err(error(
                file,
                at(k),
                format!("{} entries, expected {n} (as children_left)", a.len()),
            ));
        }
    }
    let int = |a: &Vec<Value>, i: usize| a.get(i).and_then(Value::as_i64).unwrap_or(-1);
    let get = |i: usize| -> Result<SrcNode<usize>, ImportError> {
        let l = int(left, i);
        if l < 0 {
            let v = value.get(i).and_then(&leaf_of).ok_or_else(|| {
                error(
                    file,
                    at("value"),
                    format!("node {i}: leaf value missing or not finite as f32"),
                )
            })?;
            return Ok(SrcNode::Leaf(v));
        }
        let f = int(feature, i);
        if f < 0 || f as usize >= n_features {
            return Err(error(
                file,
                at("feature"),
                format!("node {i} splits on feature {f}, model has {n_features}"),
            ));
        }
        let t = match threshold.get(i) {
            Some(Value::String(s)) => s.parse::<f64>().ok(),
            Some(v) => v.as_f64(),
            None => None,
        }
        .ok_or_else(|| error(file, at("threshold"), format!("node {i}: not a number")))?;
        let r = int(right, i);
        if r < 0 {
            return Err(error(
                file,
                at("children_right"),
                format!("node {i} has no right child"),
            ));
        }
        let threshold = le_threshold(t);
        if !threshold.is_finite() {
            return Err(error(
                file,
                at("threshold"),
                format!("node {i}: threshold {t} is not finite as f32"),
            ));
        }
        Ok(SrcNode::Split {
            feature: f as u32,
            threshold,
            left: l as usize,
            right: r as usize,
            default_left: false,
        })
    };
    flatten(0, n.max(1), get, || {
        error(file, at("children_left"), "child links do not form a tree")
    })
}
