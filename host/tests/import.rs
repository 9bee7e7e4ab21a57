//! `edgeml import`: the committed LightGBM / XGBoost fixtures (written by
//! benches/peers/export_models.py) reproduce the original libraries' outputs, round-trip
//! through the core's bytes, and malformed inputs are rejected with file, location and reason.

use std::path::{Path, PathBuf};

use edgeml_core::tree::{serial, ModelKind, Node};
use edgeml_host::import::{self, Format, ImportError, ImportedTrees};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// Fixture input rows as `f32`: California rows are exact `f32` values; Fashion-MNIST rows
/// are pixels, `x = p / 255` in `f32` as the exporter computes them; `null` is a missing
/// value (NaN).
fn inputs(name: &str) -> Vec<Vec<f32>> {
    let pixels = name.contains("pixels");
    read_json(name)
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|v| {
                    if v.is_null() {
                        return f32::NAN;
                    }
                    let v = v.as_f64().expect("number");
                    if pixels {
                        v as f32 / 255.0
                    } else {
                        v as f32
                    }
                })
                .collect()
        })
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn format_of(case: &str) -> Format {
    match &case[..3] {
        "lgb" => Format::Lightgbm,
        "xgb" => Format::Xgboost,
        _ => Format::Sklearn,
    }
}

/// Imports `case`, checks its margins against the library's (relative 1e-5, scaled by the
/// largest margin magnitude of the row) and its predictions (identical classes; values and
/// probabilities within 1e-5 relative), for the model rebuilt from its own serialized bytes.
fn check_case(case: &str, kind: ModelKind) {
    let expected = read_json(&format!("{case}.expected.json"));
    let file = fixtures().join(expected["model"].as_str().expect("model"));
    let imported = import::import_file(format_of(case), &file).expect("import");
    assert_eq!(imported.kind, kind, "{case}");
    let bytes = imported.to_bytes().expect("bytes");
    let h = serial::header(&bytes).expect("header");
    let mut nodes = vec![Node::default(); h.n_nodes];
    let mut roots = vec![0u32; h.n_trees];
    let mut base = vec![0f32; h.n_base];
    let model = serial::load(&bytes, &mut nodes, &mut roots, &mut base).expect("load");
    assert_eq!(model.nodes(), &imported.nodes[..]);
    assert_eq!(model.roots(), &imported.roots[..]);
    assert_eq!(model.base(), &imported.base[..]);

    let rows = inputs(expected["inputs"].as_str().expect("inputs"));
    let margins = expected["margins"].as_array().expect("margins");
    let preds = numbers(&expected["predictions"]);
    assert_eq!(rows.len(), preds.len());
    let mut scores = vec![0f32; model.n_outputs()];
    for (i, row) in rows.iter().enumerate() {
        model.predict_scores(row, &mut scores).expect("scores");
        let want = numbers(&margins[i]);
        let scale = want.iter().fold(1.0f64, |m, w| m.max(w.abs()));
        for (k, (&got, &w)) in scores.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(got) - w).abs() <= 1e-5 * scale,
                "{case} row {i} output {k}: {got} vs {w}"
            );
        }
        let p = f64::from(model.predict(row).expect("predict"));
        match kind {
            ModelKind::Multiclass => assert_eq!(p, preds[i], "{case} row {i} class"),
            _ => assert!(
                (p - preds[i]).abs() <= 1e-5 * preds[i].abs().max(1.0),
                "{case} row {i}: {p} vs {}",
                preds[i]
            ),
        }
    }
}

#[test]
fn lightgbm_regression_matches() {
    check_case("lgb_regression", ModelKind::Regression);
}

#[test]
fn lightgbm_binary_matches() {
    check_case("lgb_binary", ModelKind::Binary);
}

#[test]
fn lightgbm_multiclass_matches() {
    check_case("lgb_multiclass", ModelKind::Multiclass);
}

#[test]
fn xgboost_regression_matches() {
    check_case("xgb_regression", ModelKind::Regression);
}

#[test]
fn xgboost_binary_matches() {
    check_case("xgb_binary", ModelKind::Binary);
}

#[test]
fn xgboost_multiclass_matches() {
    check_case("xgb_multiclass", ModelKind::Multiclass);
}

#[test]
fn lightgbm_missing_values_route_like_lightgbm() {
    // Missing type none (NaN counts as 0) in the models trained without NaN, missing type NaN
    // with learned default directions in the one trained with 20% NaN.
    check_case("lgb_binary_missing", ModelKind::Binary);
    check_case("lgb_multiclass_missing", ModelKind::Multiclass);
    check_case("lgb_nan_regression", ModelKind::Regression);
}

#[test]
fn xgboost_missing_values_follow_default_left() {
    check_case("xgb_binary_missing", ModelKind::Binary);
    check_case("xgb_multiclass_missing", ModelKind::Multiclass);
    check_case("xgb_nan_regression", ModelKind::Regression);
}

#[test]
fn sklearn_tree_regression_matches() {
    check_case("sk_tree_regression", ModelKind::ForestMean);
}

#[test]
fn sklearn_gradient_boosting_regression_matches() {
    check_case("sk_gb_regression", ModelKind::Regression);
}

#[test]
fn sklearn_gradient_boosting_binary_matches() {
    check_case("sk_gb_binary", ModelKind::Binary);
}

#[test]
fn sklearn_forest_classifier_matches() {
    check_case("sk_forest_multiclass", ModelKind::Multiclass);
}

#[test]
fn sklearn_malformed_inputs_name_the_key() {
    let base = read_json("sk_tree_regression.json");
    let err = |v: &Value| {
        import::sklearn::parse(Path::new("sk.json"), &v.to_string()).expect_err("rejected")
    };
    let mut v = base.clone();
    v["estimator"] = "HistGradientBoostingRegressor".into();
    assert_names(&err(&v), "sk.json", "estimator", "unsupported");
    let mut v = base.clone();
    v["trees"][0]["feature"]
        .as_array_mut()
        .expect("array")
        .pop();
    assert_names(&err(&v), "sk.json", "trees[0].feature", "expected");
    let mut v = base;
    v["trees"][0]["feature"][0] = 99.into();
    assert_names(&err(&v), "sk.json", "trees[0].feature", "feature 99");
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect("fixture")
}

fn lgb_err(text: &str) -> ImportError {
    import::lightgbm::parse(Path::new("bad.txt"), text).expect_err("must be rejected")
}

fn xgb_err(text: &str) -> ImportError {
    import::xgboost::parse(Path::new("bad.json"), text).expect_err("must be rejected")
}

fn assert_names(e: &ImportError, file: &str, location: &str, reason: &str) {
    let msg = e.to_string();
    assert!(msg.starts_with(file), "{msg}");
    assert!(e.location.contains(location), "{msg}");
    assert!(e.reason.contains(reason), "{msg}");
}

fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .expect("line")
        + 1
}

#[test]
fn lightgbm_truncated_file_is_rejected() {
    let text = fixture_text("lgb_regression.txt");
    let cut = &text[..text.len() / 2];
    let e = lgb_err(cut);
    assert_names(&e, "bad.txt", "line", "truncated");
}

#[test]
fn lightgbm_categorical_split_names_its_line() {
    let text = fixture_text("lgb_regression.txt");
    let line = line_of(&text, "decision_type=");
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                // Bit 0 marks a categorical split.
                let mut fields: Vec<String> = l["decision_type=".len()..]
                    .split(' ')
                    .map(str::to_string)
                    .collect();
                fields[0] = "1".into();
                format!("decision_type={}", fields.join(" "))
            } else {
                l.to_string()
            }
        })
        .collect();
    let e = lgb_err(&lines.join("\n"));
    assert_names(&e, "bad.txt", &format!("line {line}"), "categorical");
}

#[test]
fn lightgbm_unknown_objective_and_bad_key_are_rejected() {
    let text = fixture_text("lgb_regression.txt");
    let line = line_of(&text, "objective=");
    let e = lgb_err(&text.replacen("objective=regression", "objective=poisson", 1));
    assert_names(&e, "bad.txt", &format!("line {line}"), "poisson");
    let e = lgb_err(&text.replacen("num_leaves=", "num_leafs=", 1));
    assert_names(&e, "bad.txt", "line", "num_leaves");
}

#[test]
fn lightgbm_shape_mismatch_is_rejected() {
    let text = fixture_text("lgb_regression.txt");
    let line = line_of(&text, "leaf_value=");
    let start: usize = text.lines().take(line - 1).map(|l| l.len() + 1).sum();
    let end = start + text[start..].find('\n').expect("eol");
    let short = text[start..end].rsplit_once(' ').expect("values").0;
    let bad = format!("{}{}{}", &text[..start], short, &text[end..]);
    let e = lgb_err(&bad);
    assert_names(
        &e,
        "bad.txt",
        &format!("line {line} (`leaf_value`)"),
        "expected",
    );
}

fn xgb_fixture() -> Value {
    read_json("xgb_regression.json")
}

#[test]
fn xgboost_malformed_inputs_name_the_key() {
    let text = fixture_text("xgb_regression.json");
    let e = xgb_err(&text[..text.len() / 2]);
    assert_names(&e, "bad.json", "line 1", "invalid JSON");

    let mut v = xgb_fixture();
    v["learner"]["objective"]["name"] = "count:poisson".into();
    let e = xgb_err(&v.to_string());
    assert_names(&e, "bad.json", "learner.objective.name", "count:poisson");

    let mut v = xgb_fixture();
    v["learner"]["gradient_booster"]["model"]["trees"][2]["split_type"][0] = 1.into();
    let e = xgb_err(&v.to_string());
    assert_names(
        &e,
        "bad.json",
        "learner.gradient_booster.model.trees[2].split_type",
        "categorical",
    );

    let mut v = xgb_fixture();
    let tree = &mut v["learner"]["gradient_booster"]["model"]["trees"][1];
    tree["left_children"].as_array_mut().expect("array").pop();
    let e = xgb_err(&v.to_string());
    assert_names(
        &e,
        "bad.json",
        "learner.gradient_booster.model.trees[1].left_children",
        "expected",
    );

    let mut v = xgb_fixture();
    let learner = v["learner"].as_object_mut().expect("object");
    learner.remove("learner_model_param");
    let e = xgb_err(&v.to_string());
    assert_names(&e, "bad.json", "learner.learner_model_param", "missing");
}

/// Thresholds keep the source's routing for the `f32` values around them: LightGBM's `f64`
/// `x <= t` and XGBoost's `f32` `x < t` against the core's `x <= t'`, by brute force.
#[test]
fn threshold_conversion_keeps_routing() {
    use import::layout::{le_threshold, lt_threshold};
    for &t in &[0.5f64, 0.1, -0.3, 1e-35, 12_345.678_9, 1.5 + 1e-12, -2.0] {
        let c = le_threshold(t);
        let mut x = (t as f32).next_down().next_down();
        for _ in 0..5 {
            assert_eq!(f64::from(x) <= t, x <= c, "t {t} x {x}");
            x = x.next_up();
        }
    }
    for &t in &[0.5f32, 0.1, -0.3, 7.0] {
        let c = lt_threshold(t);
        let mut x = t.next_down().next_down();
        for _ in 0..5 {
            assert_eq!(x < t, x <= c, "t {t} x {x}");
            x = x.next_up();
        }
    }
}

/// A hand-written LightGBM model whose answer is known independently of the importer.
#[test]
fn lightgbm_handwritten_stump_routes_like_lightgbm() {
    let text = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\nobjective=regression\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\nthreshold=0.25\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=-1 3\nshrinkage=1\n\n\nend of trees\n";
    let m: ImportedTrees = import::lightgbm::parse(Path::new("stump.txt"), text).expect("import");
    let model = m.model().expect("model");
    assert_eq!(model.predict(&[9.0, 0.25]).expect("p"), -1.0);
    assert_eq!(model.predict(&[9.0, 0.25f32.next_up()]).expect("p"), 3.0);
}

/// A LightGBM stump on feature 1 at `threshold` with `decision_type`: leaves -1 (left), 3.
fn lgb_stump(threshold: &str, decision_type: u8) -> Result<ImportedTrees, ImportError> {
    let text = format!("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\nobjective=regression\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\nthreshold={threshold}\ndecision_type={decision_type}\nleft_child=-1\nright_child=-2\nleaf_value=-1 3\nshrinkage=1\n\n\nend of trees\n");
    import::lightgbm::parse(Path::new("stump.txt"), &text)
}

/// LightGBM's missing-value rules, applied by hand (`decision_type` bit 1 default-left, bits
/// 2–3 missing type): none routes NaN as 0, NaN and zero send NaN to the default side.
#[test]
fn lightgbm_missing_types_route_nan_like_lightgbm() {
    let nan = [9.0, f32::NAN];
    // (threshold, decision_type, where NaN goes: -1 left, 3 right)
    for (t, d, want) in [
        ("0.25", 0u8, -1.0f32), // none: 0 <= 0.25
        ("-0.5", 2, 3.0),       // none: 0 > -0.5, default-left bit ignored
        ("0.25", 8, 3.0),       // NaN, default right
        ("-0.5", 10, -1.0),     // NaN, default left
        ("0.25", 6, -1.0),      // zero, default left, zeros go left anyway
        ("-0.5", 4, 3.0),       // zero, default right, zeros go right anyway
    ] {
        let m = lgb_stump(t, d).expect("import");
        let model = m.model().expect("model");
        assert_eq!(
            model.predict(&nan).expect("p"),
            want,
            "t {t} decision_type {d}"
        );
        assert_eq!(
            model.predict(&[9.0, 0.0]).expect("p"),
            if t == "0.25" { -1.0 } else { 3.0 }
        );
    }
    // Zero-as-missing that sends zeros against the threshold cannot be represented.
    let e = lgb_stump("-0.5", 6).expect_err("must be rejected");
    assert_names(
        &e,
        "stump.txt",
        "line 14 (`decision_type`)",
        "zero-as-missing",
    );
    let e = lgb_stump("0.25", 14).expect_err("must be rejected");
    assert_names(
        &e,
        "stump.txt",
        "line 14 (`decision_type`)",
        "missing type 3",
    );
}

#[test]
fn xgboost_bad_default_left_names_the_key() {
    let mut v = xgb_fixture();
    v["learner"]["gradient_booster"]["model"]["trees"][3]["default_left"][0] = 2.into();
    let e = xgb_err(&v.to_string());
    assert_names(
        &e,
        "bad.json",
        "learner.gradient_booster.model.trees[3].default_left",
        "expected 0 or 1",
    );
}

/// The PyTorch MLP (safetensors, activations from its metadata) reloaded from the core's
/// bytes gives PyTorch's logits within 1e-5 (relative to the row's largest) and its classes.
#[test]
fn torch_mlp_matches() {
    use edgeml_core::kernels::Dispatch;
    use edgeml_core::nn::{topology::inference_scratch_len, Dtype, Mlp};
    let expected = read_json("torch_mlp.expected.json");
    let path = fixtures().join("torch_mlp.safetensors");
    let bytes = std::fs::read(&path).expect("fixture");
    let imported = import::safetensors::parse(&path, &bytes, None).expect("import");
    assert_eq!(imported.topology.sizes(), &[784, 32, 16, 10]);
    let saved = imported.to_bytes(Dtype::F32).expect("bytes");
    let mut buffer = vec![0f32; imported.topology.model_len()];
    let mlp = Mlp::load(&saved, &mut buffer).expect("load");
    assert_eq!(mlp.buffer(), &imported.params[..]);
    let rows = inputs("fashion.pixels.json");
    let x: Vec<f32> = rows.concat();
    let mut scratch = vec![0f32; inference_scratch_len(mlp.topology().sizes(), rows.len())];
    let mut out = vec![0f32; rows.len() * 10];
    mlp.forward(Dispatch::PORTABLE, &x, &mut scratch, &mut out)
        .expect("forward");
    let margins = expected["margins"].as_array().expect("margins");
    let preds = numbers(&expected["predictions"]);
    for (i, got) in out.chunks_exact(10).enumerate() {
        let want = numbers(&margins[i]);
        let scale = want.iter().fold(1.0f64, |m, w| m.max(w.abs()));
        for (&g, &w) in got.iter().zip(&want) {
            assert!(
                (f64::from(g) - w).abs() <= 1e-5 * scale,
                "row {i}: {g} vs {w}"
            );
        }
        let class = (0..10).fold(0, |b, k| if got[k] > got[b] { k } else { b });
        assert_eq!(class as f64, preds[i], "row {i}");
    }
}

#[test]
fn safetensors_malformed_inputs_are_rejected() {
    let path = fixtures().join("torch_mlp.safetensors");
    let bytes = std::fs::read(&path).expect("fixture");
    let name = Path::new("w.safetensors");
    let e = import::safetensors::parse(name, &bytes[..bytes.len() - 100], None).expect_err("cut");
    assert_names(&e, "w.safetensors", "file", "truncated");
    let e = import::safetensors::parse(name, &bytes, Some("relu,relu")).expect_err("count");
    assert_names(
        &e,
        "w.safetensors",
        "activations",
        "2 activations for 3 layers",
    );
    let e = import::safetensors::parse(name, &bytes, Some("relu,swish,identity")).expect_err("act");
    assert_names(&e, "w.safetensors", "activations", "swish");
    let e = import::safetensors::parse(name, &bytes[..4], None).expect_err("header");
    assert_names(&e, "w.safetensors", "byte 0", "truncated");
}
