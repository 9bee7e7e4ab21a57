//! XGBoost JSON models (`Booster.save_model("m.json")`, gbtree booster): `reg:squarederror`
//! and the other identity-output regression objectives, `binary:logistic` / `binary:logitraw`,
//! `multi:softprob` / `multi:softmax`, with numerical splits.
//!
//! XGBoost sends `x < split_condition` (in `f32`) left, so thresholds become the next `f32`
//! below for the core's `<=`. `default_left` (where NaN goes) becomes the node's default-left
//! flag. `base_score` (a probability for `binary:logistic`, stored as `"[v]"` or `"v"`) becomes
//! the base margin. Multiclass trees are regrouped so that tree `t` feeds class `t % K`.

use std::path::Path;

use edgeml_core::tree::{ModelKind, Node};
use serde_json::Value;

use super::layout::{finite_f32, flatten, lt_threshold, SrcNode, MAX_FEATURES, MAX_OUTPUTS};
use super::{error, ImportError, ImportedTrees};

const REGRESSION: [&str; 4] = [
    "reg:squarederror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "reg:quantileerror",
];

/// A JSON value with the key path that reached it, for error messages.
#[derive(Clone, Copy)]
struct At<'v, 'p> {
    v: &'v Value,
    file: &'p Path,
}

struct Cursor<'v, 'p> {
    at: At<'v, 'p>,
    path: String,
}

impl<'v, 'p> Cursor<'v, 'p> {
    fn err(&self, reason: impl Into<String>) -> ImportError {
        error(self.at.file, format!("key `{}`", self.path), reason)
    }

    fn key(&self, k: &str) -> Result<Cursor<'v, 'p>, ImportError> {
        let path = if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        };
        match self.at.v.get(k) {
            Some(v) => Ok(Cursor {
                at: At { v, ..self.at },
                path,
            }),
            None => Err(error(self.at.file, format!("key `{path}`"), "missing")),
        }
    }

    fn str(&self) -> Result<&'v str, ImportError> {
        self.at
            .v
            .as_str()
            .ok_or_else(|| self.err("expected a string"))
    }

    fn array(&self) -> Result<&'v [Value], ImportError> {
        self.at
            .v
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.err("expected an array"))
    }

    fn index(&self, i: usize) -> Result<Cursor<'v, 'p>, ImportError> {
        let v = self
            .array()?
            .get(i)
            .ok_or_else(|| self.err(format!("no element {i}")))?;
        Ok(Cursor {
            at: At { v, ..self.at },
            path: format!("{}[{i}]", self.path),
        })
    }

    /// A numeric array of exactly `len` entries.
    fn numbers(&self, len: usize) -> Result<Vec<f64>, ImportError> {
        let a = self.array()?;
        if a.len() != len {
            return Err(self.err(format!("{} entries, expected {len}", a.len())));
        }
        a.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64()
                    .ok_or_else(|| self.err(format!("entry {i} is not a number")))
            })
            .collect()
    }

    /// An integer given as a number or a decimal string (XGBoost writes parameters as strings).
    fn int(&self) -> Result<usize, ImportError> {
        match self.at.v {
            Value::String(s) => s.trim().parse().ok(),
            v => v.as_u64().and_then(|u| usize::try_from(u).ok()),
        }
        .ok_or_else(|| self.err("expected a non-negative integer"))
    }
}

/// Parses `base_score`: `"v"` or `"[v1,v2,...]"`.
fn base_scores(c: &Cursor<'_, '_>) -> Result<Vec<f64>, ImportError> {
    let s = c.str()?;
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .map_err(|_| c.err(format!("cannot parse `{p}`")))
        })
        .collect()
}

/// Parses an XGBoost JSON model; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<ImportedTrees, ImportError> {
    let json: Value = serde_json::from_str(text).map_err(|e| {
        error(
            file,
            format!("line {} column {}", e.line(), e.column()),
            format!("invalid JSON: {e}"),
        )
    })?;
    let root = Cursor {
        at: At { v: &json, file },
        path: String::new(),
    };
    let learner = root.key("learner")?;
    let params = learner.key("learner_model_param")?;
    let features_c = params.key("num_feature")?;
    let n_features = features_c.int()?;
    if n_features > MAX_FEATURES {
        return Err(features_c.err(format!("{n_features} features, the most is {MAX_FEATURES}")));
    }
    let class_c = params.key("num_class")?;
    let num_class = class_c.int()?;
    if let Ok(t) = params.key("num_target") {
        if t.int()? > 1 {
            return Err(t.err("multi-target models are not supported"));
        }
    }
    let objective = learner.key("objective")?.key("name")?;
    let name = objective.str()?;
    let base_cursor = params.key("base_score")?;
    let base = base_scores(&base_cursor)?;
    let (kind, n_outputs) = match name {
        n if REGRESSION.contains(&n) => (ModelKind::Regression, 1),
        "binary:logistic" | "binary:logitraw" => (ModelKind::Binary, 1),
        "multi:softprob" | "multi:softmax" if (2..=MAX_OUTPUTS).contains(&num_class) => {
            (ModelKind::Multiclass, num_class)
        }
        "multi:softprob" | "multi:softmax" => {
            return Err(class_c.err(format!(
                "{num_class} classes, expected 2 to {MAX_OUTPUTS}"
            )))
        }
        other => {
            return Err(objective.err(format!(
                "unsupported objective `{other}` (supported: reg:squarederror-type, binary:logistic, binary:logitraw, multi:softprob, multi:softmax)"
            )))
        }
    };
    let margin = |p: f64| -> Result<f32, ImportError> {
        let m = if name == "binary:logistic" {
            if !(p > 0.0 && p < 1.0) {
                return Err(base_cursor.err(format!("probability {p} outside (0, 1)")));
            }
            (p / (1.0 - p)).ln()
        } else {
            p
        };
        finite_f32(m).ok_or_else(|| base_cursor.err(format!("{p} is not finite as f32")))
    };
    let base = match base.len() {
        1 => vec![margin(base.first().copied().unwrap_or(0.0))?; n_outputs],
        k if k == n_outputs => base.into_iter().map(margin).collect::<Result<_, _>>()?,
        k => {
            return Err(base_cursor.err(format!("{k} values for {n_outputs} outputs")));
        }
    };
    let booster = learner.key("gradient_booster")?;
    let booster_name = booster.key("name")?;
    if booster_name.str()? != "gbtree" {
        return Err(booster_name.err(format!(
            "booster `{}` is not supported (only gbtree)",
            booster_name.str()?
        )));
    }
    let model = booster.key("model")?;
    let trees = model.key("trees")?;
    let n_trees = trees.array()?.len();
    let info = model.key("tree_info")?;
    let classes = info.numbers(n_trees)?;
    let mut by_class: Vec<Vec<Vec<Node>>> = vec![Vec::new(); n_outputs];
    for (t, &c) in classes.iter().enumerate() {
        let slot = by_class
            .get_mut(c as usize)
            .filter(|_| c >= 0.0 && c.fract() == 0.0)
            .ok_or_else(|| info.err(format!("tree {t} feeds class {c}, model has {n_outputs}")))?;
        slot.push(tree(&trees.index(t)?, n_features)?);
    }
    let rounds = by_class.iter().map(Vec::len).max().unwrap_or(0);
    if rounds == 0 {
        return Err(trees.err("no trees"));
    }
    let mut ordered = Vec::with_capacity(rounds * n_outputs);
    for r in 0..rounds {
        for class in &by_class {
            ordered.push(
                class
                    .get(r)
                    .cloned()
                    .unwrap_or_else(|| vec![Node::leaf(0.0)]),
            );
        }
    }
    ImportedTrees::from_trees(file, kind, n_features, n_outputs, ordered, base)
}

fn tree(t: &Cursor<'_, '_>, n_features: usize) -> Result<Vec<Node>, ImportError> {
    let param = t.key("tree_param")?;
    let n = param.key("num_nodes")?.int()?;
    if let Ok(s) = param.key("size_leaf_vector") {
        if s.int()? > 1 {
            return Err(s.err("vector leaves are not supported"));
        }
    }
    let left_c = t.key("left_children")?;
    let left = left_c.numbers(n)?;
    let right = t.key("right_children")?.numbers(n)?;
    let feature_c = t.key("split_indices")?;
    let feature = feature_c.numbers(n)?;
    let cond_c = t.key("split_conditions")?;
    let cond = cond_c.numbers(n)?;
    let types_c = t.key("split_type")?;
    let types = types_c.numbers(n)?;
    let default_c = t.key("default_left")?;
    let defaults = default_c.numbers(n)?;
    let get = |i: usize| -> Result<SrcNode<usize>, ImportError> {
        let l = *left
            .get(i)
            .ok_or_else(|| left_c.err(format!("node {i} out of range")))?;
        let c = cond.get(i).copied().unwrap_or(f64::NAN);
        let v = finite_f32(c)
            .ok_or_else(|| cond_c.err(format!("node {i}: {c} is not finite as f32")))?;
        if l < 0.0 {
            return Ok(SrcNode::Leaf(v));
        }
        if types.get(i).copied().unwrap_or(0.0) != 0.0 {
            return Err(types_c.err(format!(
                "node {i} is a categorical split, which the core cannot represent"
            )));
        }
        let f = feature.get(i).copied().unwrap_or(-1.0);
        if !(f >= 0.0 && (f as usize) < n_features) {
            return Err(feature_c.err(format!(
                "node {i} splits on feature {f}, model has {n_features}"
            )));
        }
        let r = right.get(i).copied().unwrap_or(-1.0);
        if r < 0.0 {
            return Err(left_c.err(format!("node {i} has a left child but no right child")));
        }
        let default_left = match defaults.get(i).copied() {
            Some(0.0) => false,
            Some(1.0) => true,
            other => {
                return Err(default_c.err(format!(
                    "node {i}: default_left is {other:?}, expected 0 or 1"
                )))
            }
        };
        let threshold = lt_threshold(v);
        if !threshold.is_finite() {
            return Err(cond_c.err(format!("node {i}: threshold {v} leaves no f32 below it")));
        }
        Ok(SrcNode::Split {
            feature: f as u32,
            threshold,
            left: l as usize,
            right: r as usize,
            default_left,
        })
    };
    flatten(0, n.max(1), get, || {
        left_c.err("child links do not form a tree")
    })
}
