//! The 500-tree LightGBM model the firmware runs (`edgeml export`): imported from the
//! committed gzipped fixture, it reproduces LightGBM's own predictions (written by
//! benches/peers/export_models.py) within a derived rounding bound and 1e-5 relative, and the
//! files `edgeml export` writes for the firmware hold the same model, inputs and predictions.

use edgeml_core::tree::{serial, ModelKind, Node};
use edgeml_host::firmware::dims::{CAL_D, CAL_N};
use edgeml_host::firmware::lgb500;
use serde_json::Value;

fn expected() -> Value {
    let path = lgb500::fixtures().join(lgb500::EXPECTED);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn imported() -> edgeml_host::import::ImportedTrees {
    let path = lgb500::fixtures().join(lgb500::MODEL);
    lgb500::import(&path, &lgb500::read_gz(&path).expect("gzip")).expect("import")
}

/// LightGBM sums f64 leaves in f64; the core stores each leaf as the nearest f32 (error at
/// most 2^-24 |leaf|), sums in f64 (each of the n additions adds at most 2^-53 of a partial
/// sum, itself at most Σ|leaf| + |base|) and rounds the sum to f32 (2^-24 |y|). Routing is
/// exact (thresholds are converted so f32 inputs take LightGBM's branches), so the difference
/// is at most 2^-24 (Σ|leaf| + |y|) + 2 n 2^-53 (Σ|leaf| + |base|), LightGBM's own f64
/// additions counted once more.
#[test]
fn imported_model_reproduces_lightgbm() {
    let trees = imported();
    assert_eq!(trees.kind, ModelKind::Regression);
    assert_eq!(trees.roots.len(), 500);
    assert_eq!((trees.n_features, trees.n_outputs), (CAL_D, 1));
    let model = trees.model().expect("model");
    let x = lgb500::inputs().expect("inputs");
    let expected = expected();
    assert_eq!(expected["model"], lgb500::MODEL);
    assert_eq!(expected["inputs"], lgb500::INPUTS);
    let margins = expected["margins"].as_array().expect("margins");
    let predictions = expected["predictions"].as_array().expect("predictions");
    assert_eq!((margins.len(), predictions.len()), (CAL_N, CAL_N));
    let (f32_eps, f64_eps) = (2f64.powi(-24), 2f64.powi(-53));
    let base = trees.base.iter().map(|b| f64::from(b.abs())).sum::<f64>();
    for (i, row) in x.chunks_exact(CAL_D).enumerate() {
        let want = margins[i][0].as_f64().expect("margin");
        assert_eq!(predictions[i].as_f64(), Some(want), "row {i}");
        let mut leaves = 0.0f64;
        for t in 0..model.n_trees() {
            let leaf = model.tree(t).expect("tree").predict(row).expect("leaf");
            leaves += f64::from(leaf.abs());
        }
        let got = f64::from(model.predict(row).expect("predict"));
        let bound = f32_eps * (leaves + want.abs()) + 2.0 * 500.0 * f64_eps * (leaves + base);
        let err = (got - want).abs();
        assert!(
            err <= bound,
            "row {i}: {got} vs LightGBM {want} (bound {bound:e})"
        );
        assert!(
            err <= 1e-5 * want.abs(),
            "row {i}: {got} vs LightGBM {want}: relative {:e}",
            err / want.abs()
        );
    }
}

/// `lgb500.bin` loads back to the imported nodes, `california_x.f32` holds the fixture rows,
/// and each `lgb500 ROW 0 VALUE` line is the core's prediction of that row.
#[test]
fn export_writes_the_model_inputs_and_predictions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lines = String::new();
    lgb500::export(dir.path(), &mut lines).expect("export");
    let trees = imported();
    let bytes = std::fs::read(dir.path().join("lgb500.bin")).expect("lgb500.bin");
    let h = serial::header(&bytes).expect("header");
    let mut nodes = vec![Node::default(); h.n_nodes];
    let mut roots = vec![0u32; h.n_trees];
    let mut base = vec![0f32; h.n_base];
    let model = serial::load(&bytes, &mut nodes, &mut roots, &mut base).expect("load");
    assert_eq!(model.nodes(), &trees.nodes[..]);
    assert_eq!(model.roots(), &trees.roots[..]);
    assert_eq!(model.base(), &trees.base[..]);
    let raw = std::fs::read(dir.path().join("california_x.f32")).expect("inputs");
    let x: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(x, lgb500::inputs().expect("inputs"));
    let printed: Vec<&str> = lines.lines().collect();
    assert_eq!(printed.len(), CAL_N);
    let imported = trees.model().expect("model");
    for (i, (row, line)) in x.chunks_exact(CAL_D).zip(printed).enumerate() {
        let value = imported.predict(row).expect("predict");
        assert_eq!(line, format!("lgb500 {i} 0 {value}"));
    }
}
