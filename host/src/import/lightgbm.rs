//! LightGBM text models (`Booster.save_model("model.txt")`): regression (identity-output
//! objectives), binary (`sigmoid:s` folded into the leaves) and multiclass softmax, with
//! numerical splits only.
//!
//! LightGBM routes `x <= threshold` (in `f64`) left; `decision_type` bit 0 marks a categorical
//! split (rejected), bit 1 default-left, bits 2–3 the missing type (0 none, 1 zero, 2 NaN).
//! Missing type NaN sends NaN to the default side: that becomes the node's default-left flag.
//! Missing type none turns NaN into 0 first, so the flag is where 0 goes (`0 <= threshold`).
//! Zero-missing sends NaN and `|x| <= 1e-35` to the default side; NaN becomes the flag, and
//! the split is kept only when the default side is where those small values go anyway (it is
//! rejected otherwise, naming the line of `decision_type`).

use std::collections::HashMap;
use std::path::Path;

use edgeml_core::tree::ModelKind;

use super::layout::{finite_f32, flatten, le_threshold, SrcNode, MAX_FEATURES, MAX_OUTPUTS};
use super::{error, ImportError, ImportedTrees};

/// LightGBM's `kZeroThreshold`: values this close to 0 count as zero for zero-missing splits.
const ZERO_THRESHOLD: f64 = 1.000_000_018_002_509_5e-35;

/// Objectives whose prediction is the raw score.
const IDENTITY_OBJECTIVES: [&str; 6] = [
    "regression",
    "regression_l1",
    "huber",
    "fair",
    "quantile",
    "mape",
];

/// `key=value` lines of one block, with their 1-based line numbers.
struct Block<'t> {
    fields: HashMap<&'t str, (usize, &'t str)>,
    start: usize,
}

impl<'t> Block<'t> {
    fn get(&self, file: &Path, key: &str) -> Result<(usize, &'t str), ImportError> {
        self.fields.get(key).copied().ok_or_else(|| {
            error(
                file,
                format!("line {}", self.start),
                format!("missing key `{key}`"),
            )
        })
    }

    fn list<T: std::str::FromStr>(
        &self,
        file: &Path,
        key: &str,
        len: usize,
    ) -> Result<Vec<T>, ImportError> {
        let (line, text) = self.get(file, key)?;
        let at = || format!("line {line} (`{key}`)");
        let values = text
            .split_whitespace()
            .map(|s| {
                s.parse::<T>()
                    .map_err(|_| error(file, at(), format!("cannot parse `{s}`")))
            })
            .collect::<Result<Vec<T>, _>>()?;
        if values.len() != len {
            return Err(error(
                file,
                at(),
                format!("{} values, expected {len}", values.len()),
            ));
        }
        Ok(values)
    }

    /// `line N (`key`)` of `key`, or the block's first line when it is absent.
    fn at(&self, key: &str) -> String {
        let line = self.fields.get(key).map_or(self.start, |&(l, _)| l);
        format!("line {line} (`{key}`)")
    }

    fn scalar<T: std::str::FromStr>(&self, file: &Path, key: &str) -> Result<T, ImportError> {
        let (line, text) = self.get(file, key)?;
        text.trim().parse::<T>().map_err(|_| {
            error(
                file,
                format!("line {line} (`{key}`)"),
                format!("cannot parse `{text}`"),
            )
        })
    }
}

/// Splits the text into the header block and the `Tree=` blocks (up to `end of trees`).
fn blocks<'t>(file: &Path, text: &'t str) -> Result<(Block<'t>, Vec<Block<'t>>), ImportError> {
    let mut header = Block {
        fields: HashMap::new(),
        start: 1,
    };
    let mut trees: Vec<Block<'t>> = Vec::new();
    let mut ended = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end();
        if line == "end of trees" {
            ended = true;
            break;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key == "Tree" {
            trees.push(Block {
                fields: HashMap::new(),
                start: n,
            });
            continue;
        }
        let block = trees.last_mut().unwrap_or(&mut header);
        block.fields.insert(key, (n, value));
    }
    if !ended {
        let last = text.lines().count();
        return Err(error(
            file,
            format!("line {last}"),
            "truncated: no `end of trees` line",
        ));
    }
    Ok((header, trees))
}

/// Parses a LightGBM text model; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<ImportedTrees, ImportError> {
    if text.lines().next().map(str::trim) != Some("tree") {
        return Err(error(
            file,
            "line 1",
            "not a LightGBM text model (first line is not `tree`)",
        ));
    }
    let (header, blocks) = blocks(file, text)?;
    let max_feature: usize = header.scalar(file, "max_feature_idx")?;
    let n_features = max_feature
        .checked_add(1)
        .filter(|&n| n <= MAX_FEATURES)
        .ok_or_else(|| {
            error(
                file,
                header.at("max_feature_idx"),
                format!("{max_feature} is beyond the most features, {MAX_FEATURES}"),
            )
        })?;
    let num_class: usize = header.scalar(file, "num_class")?;
    if !(1..=MAX_OUTPUTS).contains(&num_class) {
        return Err(error(
            file,
            header.at("num_class"),
            format!("{num_class} classes, expected 1 to {MAX_OUTPUTS}"),
        ));
    }
    let per_iter: usize = header.scalar(file, "num_tree_per_iteration")?;
    if per_iter == 0 {
        return Err(error(
            file,
            header.at("num_tree_per_iteration"),
            "0 trees per iteration",
        ));
    }
    let (obj_line, objective) = header.get(file, "objective")?;
    let obj_at = format!("line {obj_line} (`objective`)");
    let mut words = objective.split_whitespace();
    let name = words.next().unwrap_or("");
    let (kind, n_outputs, scale) = match name {
        n if IDENTITY_OBJECTIVES.contains(&n) => (ModelKind::Regression, 1, 1.0),
        "binary" => {
            let sigmoid = words
                .find_map(|w| w.strip_prefix("sigmoid:"))
                .map(|s| s.parse::<f64>())
                .transpose()
                .ok()
                .flatten()
                .map_or(Some(1.0), |s| (s.is_finite() && s > 0.0).then_some(s))
                .ok_or_else(|| {
                    error(
                        file,
                        obj_at.clone(),
                        "bad `sigmoid:` value (a finite positive number)",
                    )
                })?;
            (ModelKind::Binary, 1, sigmoid)
        }
        "multiclass" => (ModelKind::Multiclass, num_class, 1.0),
        other => {
            return Err(error(
                file,
                obj_at,
                format!(
                "unsupported objective `{other}` (supported: regression-type, binary, multiclass)"
            ),
            ))
        }
    };
    if per_iter != n_outputs || (kind != ModelKind::Multiclass && num_class != 1) {
        return Err(error(
            file,
            "header",
            format!("num_class={num_class} and num_tree_per_iteration={per_iter} do not fit objective `{name}`"),
        ));
    }
    if let Some((line, _)) = header.fields.get("average_output") {
        return Err(error(
            file,
            format!("line {line} (`average_output`)"),
            "random-forest mode (averaged trees) is not supported",
        ));
    }
    if blocks.is_empty() || blocks.len() % n_outputs != 0 {
        return Err(error(
            file,
            "file",
            format!(
                "{} trees is not a whole number of iterations of {n_outputs}",
                blocks.len()
            ),
        ));
    }
    let trees = blocks
        .iter()
        .map(|b| tree(file, b, n_features, scale))
        .collect::<Result<Vec<_>, _>>()?;
    ImportedTrees::from_trees(
        file,
        kind,
        n_features,
        n_outputs,
        trees,
        vec![0.0; n_outputs],
    )
}

/// Child reference in LightGBM's scheme: `>= 0` internal node, `< 0` leaf `!c`.
fn child(c: i64) -> Id {
    if c >= 0 {
        Id::Internal(c as usize)
    } else {
        Id::Leaf((!c) as usize)
    }
}

#[derive(Clone, Copy)]
enum Id {
    Internal(usize),
    Leaf(usize),
}

fn tree(
    file: &Path,
    b: &Block<'_>,
    n_features: usize,
    scale: f64,
) -> Result<Vec<edgeml_core::tree::Node>, ImportError> {
    let at = |key: &str| b.at(key);
    if let Some(&(line, v)) = b.fields.get("is_linear") {
        if v.trim() != "0" {
            return Err(error(
                file,
                format!("line {line} (`is_linear`)"),
                "linear trees are not supported",
            ));
        }
    }
    let leaves: usize = b.scalar(file, "num_leaves")?;
    if leaves == 0 {
        return Err(error(
            file,
            at("num_leaves"),
            "a tree needs at least one leaf",
        ));
    }
    let leaf_value: Vec<f64> = b.list(file, "leaf_value", leaves)?;
    let inner = leaves - 1;
    let (feature, threshold, decision, left, right) = if inner == 0 {
        Default::default()
    } else {
        (
            b.list::<u32>(file, "split_feature", inner)?,
            b.list::<f64>(file, "threshold", inner)?,
            b.list::<u8>(file, "decision_type", inner)?,
            b.list::<i64>(file, "left_child", inner)?,
            b.list::<i64>(file, "right_child", inner)?,
        )
    };
    let root = if inner == 0 {
        Id::Leaf(0)
    } else {
        Id::Internal(0)
    };
    let get = |id: Id| -> Result<SrcNode<Id>, ImportError> {
        match id {
            Id::Leaf(l) => {
                let v = *leaf_value.get(l).ok_or_else(|| {
                    error(file, at("left_child"), format!("leaf {l} out of range"))
                })?;
                let value = finite_f32(v * scale).ok_or_else(|| {
                    error(
                        file,
                        at("leaf_value"),
                        format!("leaf {l} is {v}, not finite as f32 (after the sigmoid scale)"),
                    )
                })?;
                Ok(SrcNode::Leaf(value))
            }
            Id::Internal(i) => {
                let bad = || error(file, at("left_child"), format!("node {i} out of range"));
                let f = *feature.get(i).ok_or_else(bad)?;
                let t = *threshold.get(i).ok_or_else(bad)?;
                let d = *decision.get(i).ok_or_else(bad)?;
                if f as usize >= n_features {
                    return Err(error(
                        file,
                        at("split_feature"),
                        format!("node {i} splits on feature {f}, model has {n_features}"),
                    ));
                }
                if d & 1 != 0 {
                    return Err(error(
                        file,
                        at("decision_type"),
                        format!("node {i} is a categorical split, which the core cannot represent"),
                    ));
                }
                let default_left = d & 2 != 0;
                let missing_type = (d >> 2) & 3;
                let zero_missing = missing_type == 1;
                if zero_missing && (default_left != (0.0 <= t) || t.abs() < ZERO_THRESHOLD) {
                    return Err(error(
                        file,
                        at("decision_type"),
                        format!("node {i} sends zeros to the default side against its threshold (zero-as-missing), which the core cannot represent"),
                    ));
                }
                if missing_type == 3 {
                    return Err(error(
                        file,
                        at("decision_type"),
                        format!("node {i} has unknown missing type 3"),
                    ));
                }
                let threshold = le_threshold(t);
                if !threshold.is_finite() {
                    return Err(error(
                        file,
                        at("threshold"),
                        format!("node {i} has threshold {t}, not finite as f32"),
                    ));
                }
                Ok(SrcNode::Split {
                    feature: f,
                    threshold,
                    left: child(*left.get(i).ok_or_else(bad)?),
                    right: child(*right.get(i).ok_or_else(bad)?),
                    // None: NaN is routed as 0; zero and NaN: NaN takes the default side.
                    default_left: if missing_type == 0 {
                        0.0 <= t
                    } else {
                        default_left
                    },
                })
            }
        }
    };
    flatten(root, 2 * leaves - 1, get, || {
        error(file, at("left_child"), "child links do not form a tree")
    })
}
