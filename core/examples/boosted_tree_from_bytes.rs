//! A boosted tree model run from a byte slice, as firmware runs one from flash.
//!
//! The host half trains gradient-boosted trees on y = sin(x₀) + x₁² with the core's trainer and
//! serializes them with `tree::serial::save`. The device half sees only the bytes: it reads
//! the header, loads the model into fixed-size arrays (magic, version, lengths, CRC-32 and the
//! tree structure are checked) and predicts on new points, which must be close to the
//! function the model was trained on.
//!
//! `cargo run -p edgeml-core --example boosted_tree_from_bytes [-- --write FILE]`; `--write`
//! saves the bytes (`core/examples/models/sine_boosted.bin`, the model of the core's README,
//! was written so).

use edgeml_core::tree::{
    self, binning::cuts_len, boost::boosted_trees, serial, BinMapper, BinnedData, BoostParams,
    BoostWorkspace, Model, ModelBuffers, Node, Pending, TreeParams, TreeWorkspace,
};
use edgeml_core::{rng::Rng, Error, TensorView};

const FEATURES: usize = 2;
const ROWS: usize = 2000;
const BINS: usize = 64;
/// Capacity of the device's buffers; `serial::load` refuses a model that does not fit.
const MAX_NODES: usize = 512;
const MAX_TREES: usize = 64;

fn target(x: &[f32]) -> f32 {
    x[0].sin() + x[1] * x[1]
}

/// Host side: trains on `ROWS` points drawn uniformly from [-2, 2]², returns the model's bytes.
fn train(x: &[f32], y: &[f32]) -> Result<Vec<u8>, Error> {
    let view = TensorView::matrix(x, ROWS, FEATURES)?;
    let mut cuts = vec![0.0f32; cuts_len(FEATURES, BINS)?];
    let mut scratch = vec![0.0f32; ROWS];
    let mapper = BinMapper::fit(&view, BINS, &mut scratch, &mut cuts)?;
    let mut bins = vec![0u8; ROWS * FEATURES];
    mapper.bin_matrix(&view, &mut bins)?;
    let data = BinnedData::new(&bins, ROWS, mapper)?;
    let params = BoostParams {
        loss: tree::Loss::Squared,
        n_rounds: 40,
        learning_rate: 0.2,
        lambda: 1.0,
        tree: TreeParams {
            max_depth: 3,
            max_leaves: 6,
            ..TreeParams::default()
        },
        row_subsample: 1.0,
        start_from_prior: true,
    };
    let per_row = BoostWorkspace::per_row_len(ROWS, params.loss)?;
    let leaves = params.tree.max_leaves;
    let mut hist = vec![0.0f64; TreeWorkspace::hist_len(FEATURES, BINS, 3, leaves)?];
    let mut pending = vec![Pending::default(); leaves];
    let mut features = vec![0u32; FEATURES];
    let (mut scores, mut grad, mut hess) =
        (vec![0.0; per_row], vec![0.0; per_row], vec![0.0; per_row]);
    let mut rows = vec![0u32; ROWS];
    let mut workspace = BoostWorkspace {
        scores: &mut scores,
        grad: &mut grad,
        hess: &mut hess,
        rows: &mut rows,
        tree: TreeWorkspace {
            hist: &mut hist,
            pending: &mut pending,
            features: &mut features,
            gains: &mut [],
        },
    };
    let trees = boosted_trees(&params)?;
    let mut nodes = vec![Node::default(); trees * (2 * leaves - 1)];
    let mut roots = vec![0u32; trees];
    let mut base = vec![0.0f32; 1];
    let model = tree::train_boosted(
        &data,
        y,
        &params,
        &mut workspace,
        &mut Rng::new(7),
        None,
        ModelBuffers {
            nodes: &mut nodes,
            roots: &mut roots,
            base: &mut base,
        },
    )?;
    let mut bytes = vec![0u8; serial::serialized_len(&model)?];
    serial::save(&model, &mut bytes)?;
    Ok(bytes)
}

/// Device side: fixed buffers, no allocation; predicts each query into `out`.
fn predict_from_bytes(bytes: &[u8], queries: &[f32], out: &mut [f32]) -> Result<(), Error> {
    let header = serial::header(bytes)?;
    println!(
        "model: {:?}, {} trees, {} nodes, {} features, {} bytes",
        header.kind,
        header.n_trees,
        header.n_nodes,
        header.n_features,
        bytes.len()
    );
    let mut nodes = [Node::default(); MAX_NODES];
    let mut roots = [0u32; MAX_TREES];
    let mut base = [0.0f32; 1];
    let model: Model<'_> = serial::load(bytes, &mut nodes, &mut roots, &mut base)?;
    for (query, y) in queries.chunks_exact(FEATURES).zip(out.iter_mut()) {
        *y = model.predict(query)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng::new(42);
    let mut x = vec![0.0f32; ROWS * FEATURES];
    rng.fill_uniform(&mut x, -2.0, 2.0);
    let y: Vec<f32> = x.chunks_exact(FEATURES).map(target).collect();
    let bytes = train(&x, &y)?;

    let mut args = std::env::args().skip(1);
    if let (Some(flag), Some(path)) = (args.next(), args.next()) {
        if flag != "--write" {
            return Err(format!("unknown option {flag}; use --write FILE").into());
        }
        std::fs::write(&path, &bytes).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}");
    }

    let mut queries = vec![0.0f32; 200 * FEATURES];
    rng.fill_uniform(&mut queries, -2.0, 2.0);
    let mut predicted = vec![0.0f32; 200];
    predict_from_bytes(&bytes, &queries, &mut predicted)?;

    let mut squared = 0.0f64;
    for (query, &p) in queries.chunks_exact(FEATURES).zip(&predicted) {
        squared += f64::from(p - target(query)).powi(2);
    }
    let rmse = (squared / predicted.len() as f64).sqrt();
    println!("test RMSE {rmse:.4} on 200 new points (y ranges over about [-1, 5])");
    if rmse > 0.2 {
        return Err(
            format!("RMSE {rmse} is above 0.2: the model did not learn the function").into(),
        );
    }
    Ok(())
}
