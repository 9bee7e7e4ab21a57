//! Trains every model the firmware embeds, writes it with the test inputs, and records the
//! host's predictions (from the written bytes, loaded back as the firmware loads them).

use super::dims::*;
use super::{blobs, fashion, lgb500, quantize};
use crate::datasets::DataConfig;
use anyhow::Result;
use edgeml_core::attention::{AttentionSpec, EncoderBlock};
use edgeml_core::kernels::activation::Activation as BlockActivation;
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::{KnnClassifier, KnnIndex, KnnParams, Metric, Points, Search, Weighting};
use edgeml_core::nn::{
    self, Activation, Dtype, Loss, Mlp, MlpView, Optimizer, Targets, TrainConfig,
};
use edgeml_core::rng::Rng;
use edgeml_core::tree::binning::cuts_len;
use edgeml_core::tree::boost::boosted_trees;
use edgeml_core::tree::{self, serial, BinMapper, BinnedData, BoostParams, BoostWorkspace};
use edgeml_core::tree::{ModelBuffers, Node, Pending, TreeParams, TreeWorkspace};
use edgeml_core::TensorView;
use std::fmt::Write as _;
use std::path::Path;

/// Fashion-MNIST training rows the exported MLP is trained (and its int8 model calibrated) on.
pub const FASHION_TRAIN_ROWS: usize = 12_000;
const FASHION_EPOCHS: usize = 3;
const FASHION_BATCH: usize = 64;
const GBDT_BINS: usize = 32;

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn u32_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Index of the first largest value (the firmware's rule too).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Appends `key class v0 v1 …` to `out` (the firmware's output format).
pub fn line(out: &mut String, key: &str, class: usize, values: &[f32]) {
    write!(out, "{key} {class}").unwrap();
    for v in values {
        write!(out, " {v}").unwrap();
    }
    out.push('\n');
}

/// Writes every file the firmware embeds into `dir`, and `dir/expected.txt`.
pub fn export(data: &DataConfig, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes);
    let mut expected = String::new();

    let test = fashion::load(data, true, FASHION_N)?;
    write("fashion_x.u8", &test.images)?;
    write("fashion_y.u8", &test.labels)?;
    let mlp = train_fashion(data)?;
    let mut mlp_f32 = Vec::new();
    for (name, dtype) in [("f32", Dtype::F32), ("f16", Dtype::F16)] {
        let mut bytes = vec![0u8; nn::serialize::serialized_len(mlp.topology(), dtype)?];
        mlp.save(dtype, &mut bytes)?;
        write(&format!("mlp_{name}.bin"), &bytes)?;
        mlp_predictions(&bytes, name, &test, &mut expected)?;
        if dtype == Dtype::F32 {
            mlp_f32 = bytes;
        }
    }
    let calibration = fashion::load(data, false, FASHION_TRAIN_ROWS)?;
    let i8_bytes = quantize::calibrate(&mlp_f32, &calibration.images)?;
    write("mlp_i8.bin", &i8_bytes)?;
    int8_predictions(&i8_bytes, &test, &mut expected)?;
    let full = fashion::load(data, true, usize::MAX)?;
    let (c32, c8) = quantize::correct(&mlp_f32, &i8_bytes, &full)?;
    let n = full.labels.len() as f64;
    println!(
        "fashion MLP test accuracy over {} images: f32 {:.2} %, int8 {:.2} %",
        full.labels.len(),
        100.0 * c32 as f64 / n,
        100.0 * c8 as f64 / n
    );

    let (x, y) = blobs::generate(BLOB_ROWS, 11);
    let (qx, qy) = blobs::generate(BLOB_QUERIES, 12);
    write("blob_x.f32", &f32_bytes(&x))?;
    write("blob_y.u32", &u32_bytes(&y))?;
    write("blob_query.f32", &f32_bytes(&qx))?;
    write("blob_query_y.u32", &u32_bytes(&qy))?;
    knn_predictions(&x, &y, &qx, &mut expected)?;
    let gbdt = train_gbdt(&x, &y)?;
    write("gbdt.bin", &gbdt)?;
    gbdt_predictions(&gbdt, &qx, &mut expected)?;

    let (params, input) = attention_inputs()?;
    write("attn_params.f32", &f32_bytes(&params))?;
    write("attn_x.f32", &f32_bytes(&input))?;
    attention_predictions(&params, &input, &mut expected)?;

    lgb500::export(dir, &mut expected)?;

    write("expected.txt", expected.as_bytes())?;
    println!("exported the firmware models to {}", dir.display());
    Ok(())
}

struct OwnedMlp {
    topology: nn::Topology,
    buffer: Vec<f32>,
}

impl OwnedMlp {
    fn topology(&self) -> &nn::Topology {
        &self.topology
    }

    fn save(&self, dtype: Dtype, out: &mut [u8]) -> Result<usize> {
        let mut buffer = self.buffer.clone();
        Ok(Mlp::new(self.topology, &mut buffer)?.save(dtype, out)?)
    }
}

/// The exported Fashion-MNIST MLP (trained by `train_fashion`) saved with f32 weights.
pub fn fashion_f32(data: &DataConfig) -> Result<Vec<u8>> {
    let mlp = train_fashion(data)?;
    let mut bytes = vec![0u8; nn::serialize::serialized_len(mlp.topology(), Dtype::F32)?];
    mlp.save(Dtype::F32, &mut bytes)?;
    Ok(bytes)
}

/// MLP 784-128-10 (ReLU) trained with Adam on the first Fashion-MNIST training rows.
fn train_fashion(data: &DataConfig) -> Result<OwnedMlp> {
    let train = fashion::load(data, false, FASHION_TRAIN_ROWS)?;
    let x = fashion::scale(&train.images);
    let labels: Vec<u32> = train.labels.iter().map(|&l| u32::from(l)).collect();
    let topology = nn::Topology::new(&MLP_SIZES, &[Activation::Relu, Activation::Identity])?;
    let config = TrainConfig::new(
        FASHION_BATCH,
        Loss::SoftmaxCrossEntropy,
        Optimizer::adam(1e-3),
    );
    let mut workspace = vec![0.0f32; topology.model_len() + config.trainer_len(&topology)];
    let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut workspace)?;
    let mut rng = Rng::new(2024);
    mlp.init(&mut rng);
    let rows = labels.len();
    let mut order: Vec<usize> = (0..rows).collect();
    let mut bx = vec![0.0f32; FASHION_BATCH * FASHION_D];
    let mut by = vec![0u32; FASHION_BATCH];
    for epoch in 0..FASHION_EPOCHS {
        rng.shuffle(&mut order);
        let mut total = 0.0f64;
        for chunk in order.chunks(FASHION_BATCH) {
            for (slot, &r) in chunk.iter().enumerate() {
                bx[slot * FASHION_D..(slot + 1) * FASHION_D]
                    .copy_from_slice(&x[r * FASHION_D..(r + 1) * FASHION_D]);
                by[slot] = labels[r];
            }
            let n = chunk.len();
            let report = trainer.step(
                &mut mlp,
                &bx[..n * FASHION_D],
                Targets::Classes(&by[..n]),
                &mut rng,
            )?;
            total += f64::from(report.loss) * n as f64;
        }
        println!(
            "fashion MLP epoch {}: mean loss {:.4}",
            epoch + 1,
            total / rows as f64
        );
    }
    Ok(OwnedMlp {
        topology,
        buffer: mlp.buffer().to_vec(),
    })
}

fn mlp_predictions(
    bytes: &[u8],
    name: &str,
    test: &fashion::Split,
    out: &mut String,
) -> Result<()> {
    let mlp = MlpView::new(bytes)?;
    let mut scratch = vec![0.0f32; nn::view_scratch_len(&MLP_SIZES)];
    let mut logits = [0.0f32; FASHION_CLASSES];
    let mut correct = 0;
    for (i, (image, &label)) in test
        .images
        .chunks_exact(FASHION_D)
        .zip(&test.labels)
        .enumerate()
    {
        let x = fashion::scale(image);
        mlp.forward(&x, &mut scratch, &mut logits)?;
        let class = argmax(&logits);
        correct += usize::from(class == usize::from(label));
        line(out, &format!("mlp {name} {i}"), class, &logits);
    }
    writeln!(out, "acc mlp {name} {correct} {}", test.labels.len())?;
    Ok(())
}

/// Predictions of the int8 MLP: the class and the int8 outputs (compared exactly).
fn int8_predictions(bytes: &[u8], test: &fashion::Split, out: &mut String) -> Result<()> {
    let mut runner = quantize::Int8Runner::new(bytes)?;
    let mut q = [0i8; FASHION_CLASSES];
    let mut correct = 0;
    for (i, (image, &label)) in test
        .images
        .chunks_exact(FASHION_D)
        .zip(&test.labels)
        .enumerate()
    {
        runner.run(&fashion::scale(image), &mut q)?;
        let class = quantize::argmax(&q);
        correct += usize::from(class == usize::from(label));
        let values: Vec<f32> = q.iter().map(|&v| f32::from(v)).collect();
        line(out, &format!("mlp i8 {i}"), class, &values);
    }
    writeln!(out, "acc mlp i8 {correct} {}", test.labels.len())?;
    Ok(())
}

fn knn_params() -> KnnParams {
    KnnParams {
        k: KNN_K,
        metric: Metric::SquaredL2,
        weighting: Weighting::Uniform,
    }
}

fn knn_predictions(x: &[f32], y: &[u32], queries: &[f32], out: &mut String) -> Result<()> {
    let points = Points::new(x, BLOB_ROWS, BLOB_D)?;
    let index = KnnIndex::new(points, Search::BruteForce, &mut [], &mut [])?;
    let knn = KnnClassifier::new(index, y, BLOB_CLASSES)?;
    let mut votes = [0.0f64; BLOB_CLASSES];
    for (i, q) in queries.chunks_exact(BLOB_D).enumerate() {
        let class = knn.predict::<KNN_K>(q, knn_params(), &mut votes)?;
        line(out, &format!("knn {i}"), class as usize, &[]);
    }
    Ok(())
}

/// Gradient-boosted multiclass ensemble on the blob data, serialized.
fn train_gbdt(x: &[f32], y: &[u32]) -> Result<Vec<u8>> {
    let n = BLOB_ROWS;
    let view = TensorView::matrix(x, n, BLOB_D)?;
    let mut cuts = vec![0.0f32; cuts_len(BLOB_D, GBDT_BINS)?];
    let mut scratch = vec![0.0f32; n];
    let mapper = BinMapper::fit(&view, GBDT_BINS, &mut scratch, &mut cuts)?;
    let mut bins = vec![0u8; n * BLOB_D];
    mapper.bin_matrix(&view, &mut bins)?;
    let data = BinnedData::new(&bins, n, mapper)?;
    let targets: Vec<f32> = y.iter().map(|&c| c as f32).collect();
    let params = BoostParams {
        loss: tree::Loss::Softmax {
            n_classes: BLOB_CLASSES,
        },
        n_rounds: GBDT_ROUNDS,
        learning_rate: 0.3,
        lambda: 1.0,
        tree: TreeParams {
            max_depth: 3,
            max_leaves: 8,
            ..TreeParams::default()
        },
        row_subsample: 1.0,
        start_from_prior: true,
    };
    let per_row = BoostWorkspace::per_row_len(n, params.loss)?;
    let leaves = params.tree.max_leaves;
    let mut hist = vec![0.0f64; TreeWorkspace::hist_len(BLOB_D, GBDT_BINS, 3, leaves)?];
    let mut pending = vec![Pending::default(); leaves];
    let mut features = vec![0u32; BLOB_D];
    let mut scores = vec![0.0f64; per_row];
    let mut grad = vec![0.0f32; per_row];
    let mut hess = vec![0.0f32; per_row];
    let mut rows = vec![0u32; n];
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
    let mut nodes = vec![Node::default(); GBDT_NODES];
    let mut roots = vec![0u32; boosted_trees(&params)?];
    let mut base = vec![0.0f32; BLOB_CLASSES];
    let model = tree::train_boosted(
        &data,
        &targets,
        &params,
        &mut workspace,
        &mut Rng::new(5),
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

fn gbdt_predictions(bytes: &[u8], queries: &[f32], out: &mut String) -> Result<()> {
    let header = serial::header(bytes)?;
    let mut nodes = vec![Node::default(); header.n_nodes];
    let mut roots = vec![0u32; header.n_trees];
    let mut base = vec![0.0f32; header.n_base];
    let model = serial::load(bytes, &mut nodes, &mut roots, &mut base)?;
    let mut scores = [0.0f32; BLOB_CLASSES];
    for (i, q) in queries.chunks_exact(BLOB_D).enumerate() {
        model.predict_scores(q, &mut scores)?;
        line(out, &format!("gbdt {i}"), argmax(&scores), &scores);
    }
    Ok(())
}

fn encoder_block() -> Result<EncoderBlock> {
    Ok(EncoderBlock::new(
        ATTN_D,
        ATTN_HEADS,
        ATTN_FF,
        BlockActivation::Gelu,
    )?)
}

/// Seeded encoder-block parameters and one input sequence (`ATTN_SEQ × ATTN_D`).
fn attention_inputs() -> Result<(Vec<f32>, Vec<f32>)> {
    let block = encoder_block()?;
    let mut rng = Rng::new(77);
    let mut params = vec![0.0f32; block.param_len()];
    block.init(&mut params, &mut rng)?;
    let input = (0..ATTN_SEQ * ATTN_D).map(|_| rng.normal()).collect();
    Ok((params, input))
}

fn attention_predictions(params: &[f32], input: &[f32], out: &mut String) -> Result<()> {
    let block = encoder_block()?;
    let mut y = vec![0.0f32; input.len()];
    let mut workspace = vec![0.0f32; block.forward_workspace_len(ATTN_SEQ)];
    let spec = AttentionSpec::new();
    block.forward(
        Dispatch::PORTABLE,
        &spec,
        params,
        input,
        &mut y,
        &mut workspace,
    )?;
    for (i, row) in y.chunks_exact(ATTN_D).enumerate() {
        line(out, &format!("attn {i}"), argmax(row), row);
    }
    Ok(())
}
