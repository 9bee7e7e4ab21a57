//! MLPs as tunable models: a configuration (units, depth, optimizer, learning rate,
//! dropout) becomes a core `nn` network trained epoch by epoch, watched on validation data
//! with early stopping, and kept at its best epoch.

use anyhow::{bail, Context, Result};
use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{self, Loss, Mlp, Optimizer, Targets, Topology, TrainConfig};
use edgeml_core::rng::Rng;

use super::models::push_softmax;
use crate::experiments::mlp::{evaluate, topology, Examples};
use crate::tune::{Config, Direction, EarlyStopping};

/// Rows per minibatch (the seed's `batch_size=128`).
pub const BATCH: usize = 128;

/// An MLP architecture and its training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpSpec {
    /// Hidden ReLU layer widths.
    pub hidden: Vec<usize>,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Dropout on hidden outputs.
    pub dropout: f32,
}

impl MlpSpec {
    /// From a configuration: `units` (required), `depth` (default 1), `optimizer`
    /// (`adam`/`rmsprop`/`sgd`, required), `lr` (default 1e-3), `dropout` (default 0).
    pub fn from_config(config: &Config) -> Result<MlpSpec> {
        let units = config
            .get("units")
            .and_then(|v| v.as_i64())
            .context("`units` is missing")?;
        let depth = config.get("depth").and_then(|v| v.as_i64()).unwrap_or(1);
        let lr = config.get("lr").and_then(|v| v.as_f64()).unwrap_or(1e-3) as f32;
        let optimizer = match config.get("optimizer").and_then(|v| v.as_str()) {
            Some("adam") => Optimizer::adam(lr),
            Some("rmsprop") => Optimizer::rmsprop(lr),
            Some("sgd") => Optimizer::sgd(lr),
            other => bail!("unknown optimizer {other:?}"),
        };
        let dropout = config
            .get("dropout")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0) as f32;
        if units < 1 || !(1..=8).contains(&depth) {
            bail!("units must be positive and depth in 1..=8");
        }
        Ok(MlpSpec {
            hidden: vec![units as usize; depth as usize],
            optimizer,
            dropout,
        })
    }
}

/// A trained network: its topology and parameters (the best epoch's under early stopping).
pub struct Trained {
    sizes: Vec<usize>,
    model: Vec<f32>,
    /// Validation accuracy after each epoch.
    pub val_accuracy: Vec<f64>,
    /// The epoch (1-based) kept: lowest validation loss (the last epoch without validation).
    pub best_epoch: usize,
}

/// `inputs`, then `spec`'s hidden widths, then `outputs`.
fn layer_sizes(spec: &MlpSpec, inputs: usize, outputs: usize) -> Vec<usize> {
    let mut sizes = vec![inputs];
    sizes.extend(&spec.hidden);
    sizes.push(outputs);
    sizes
}

/// The topology of `sizes`, `spec`'s training configuration for `loss` in minibatches of
/// [`BATCH`], and a zeroed workspace for the network and its trainer.
fn training_setup(
    spec: &MlpSpec,
    sizes: &[usize],
    loss: Loss,
    dispatch: Dispatch,
) -> Result<(Topology, TrainConfig, Vec<f32>)> {
    let mut config = TrainConfig::new(BATCH, loss, spec.optimizer);
    config.dropout = spec.dropout;
    config.dispatch = dispatch;
    let slots = config.optimizer.state_slots();
    let workspace = vec![0.0f32; nn::workspace_len(sizes, false, BATCH, slots, spec.dropout > 0.0)];
    Ok((topology(sizes)?, config, workspace))
}

/// Trains `spec` on `train` for at most `epochs`; with `validation`, evaluates after each
/// epoch and stops once the validation loss has not improved for `patience` epochs (0: never),
/// keeping the best epoch's weights.
pub fn train(
    spec: &MlpSpec,
    train: &Examples,
    validation: Option<&Examples>,
    epochs: usize,
    patience: usize,
    seed: u64,
    dispatch: Dispatch,
) -> Result<Trained> {
    let sizes = layer_sizes(spec, train.inputs, 10);
    let (topo, config, mut workspace) =
        training_setup(spec, &sizes, Loss::SoftmaxCrossEntropy, dispatch)?;
    let (mut mlp, mut trainer) = nn::split_workspace(topo, config, &mut workspace)?;
    let mut rng = Rng::new(seed);
    mlp.init(&mut rng);
    let mut order: Vec<usize> = (0..train.rows()).collect();
    let (mut bx, mut by) = (vec![0.0f32; BATCH * train.inputs], vec![0u32; BATCH]);
    let mut stopper = EarlyStopping::new(Direction::Min, patience);
    let mut val_accuracy = Vec::new();
    let mut best: Option<Vec<f32>> = None;
    for _ in 0..epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(BATCH) {
            let x = &mut bx[..chunk.len() * train.inputs];
            let y = &mut by[..chunk.len()];
            for ((dst, label), &i) in x
                .chunks_exact_mut(train.inputs)
                .zip(y.iter_mut())
                .zip(chunk)
            {
                dst.copy_from_slice(&train.x[i * train.inputs..(i + 1) * train.inputs]);
                *label = train.y[i];
            }
            trainer.step(&mut mlp, x, Targets::Classes(y), &mut rng)?;
        }
        let Some(v) = validation else { continue };
        let (acc, loss) = evaluate(&mlp, dispatch, v)?;
        val_accuracy.push(acc);
        let stop = stopper.update(loss);
        if stopper.best().is_some_and(|(e, _)| e == val_accuracy.len()) {
            best = Some(mlp.buffer().to_vec());
        }
        if stop {
            break;
        }
    }
    if let Some(weights) = &best {
        mlp.buffer_mut().copy_from_slice(weights);
    }
    let best_epoch = stopper.best().map_or(epochs, |(e, _)| e);
    Ok(Trained {
        model: mlp.buffer().to_vec(),
        sizes,
        val_accuracy,
        best_epoch,
    })
}

impl Trained {
    fn with_mlp<T>(&self, f: impl FnOnce(&Mlp<'_>) -> Result<T>) -> Result<T> {
        let mut buffer = self.model.clone();
        let mlp = Mlp::new(topology(&self.sizes)?, &mut buffer)?;
        f(&mlp)
    }

    /// Accuracy and mean cross-entropy on `data`.
    pub fn evaluate(&self, data: &Examples, dispatch: Dispatch) -> Result<(f64, f64)> {
        self.with_mlp(|mlp| evaluate(mlp, dispatch, data))
    }

    /// Class probabilities (softmax of the outputs), `rows × 10`, for `data`.
    pub fn probabilities(&self, data: &Examples, dispatch: Dispatch) -> Result<Vec<f64>> {
        self.with_mlp(|mlp| {
            let chunk = 1000;
            let mut scratch = vec![0.0f32; nn::inference_scratch_len(&self.sizes, chunk)];
            let mut out = vec![0.0f32; chunk * 10];
            let mut probs = Vec::with_capacity(data.rows() * 10);
            for x in data.x.chunks(chunk * data.inputs) {
                let rows = x.len() / data.inputs;
                let out = &mut out[..rows * 10];
                mlp.forward(dispatch, x, &mut scratch, out)?;
                for row in out.chunks_exact(10) {
                    push_softmax(row, &mut probs);
                }
            }
            Ok(probs)
        })
    }
}

/// A trained regression network and the target scaling it was trained with.
pub struct Regressor {
    sizes: Vec<usize>,
    model: Vec<f32>,
    mean: f64,
    scale: f64,
}

/// Trains `spec` (one linear output, mean squared error on standardized targets) on the
/// `rows × inputs` table `x` with targets `y` for `epochs` epochs.
pub fn train_regressor(
    spec: &MlpSpec,
    x: &[f32],
    inputs: usize,
    y: &[f32],
    epochs: usize,
    seed: u64,
    dispatch: Dispatch,
) -> Result<Regressor> {
    let n = y.len() as f64;
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n.max(1.0);
    let var = y
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n.max(1.0);
    let scale = var.sqrt().max(1e-12);
    let z: Vec<f32> = y
        .iter()
        .map(|&v| ((f64::from(v) - mean) / scale) as f32)
        .collect();
    let sizes = layer_sizes(spec, inputs, 1);
    let (topo, config, mut workspace) =
        training_setup(spec, &sizes, Loss::MeanSquaredError, dispatch)?;
    let (mut mlp, mut trainer) = nn::split_workspace(topo, config, &mut workspace)?;
    let mut rng = Rng::new(seed);
    mlp.init(&mut rng);
    let mut order: Vec<usize> = (0..y.len()).collect();
    let (mut bx, mut by) = (vec![0.0f32; BATCH * inputs], vec![0.0f32; BATCH]);
    for _ in 0..epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(BATCH) {
            let bx = &mut bx[..chunk.len() * inputs];
            let by = &mut by[..chunk.len()];
            for ((dst, t), &i) in bx.chunks_exact_mut(inputs).zip(by.iter_mut()).zip(chunk) {
                dst.copy_from_slice(&x[i * inputs..(i + 1) * inputs]);
                *t = z[i];
            }
            trainer.step(&mut mlp, bx, Targets::Values(by), &mut rng)?;
        }
    }
    Ok(Regressor {
        model: mlp.buffer().to_vec(),
        sizes,
        mean,
        scale,
    })
}

impl Regressor {
    /// Predicted values for the `rows × inputs` table `x`.
    pub fn predict(&self, x: &[f32], dispatch: Dispatch) -> Result<Vec<f64>> {
        let mut buffer = self.model.clone();
        let mlp = Mlp::new(topology(&self.sizes)?, &mut buffer)?;
        let inputs = self.sizes.first().copied().unwrap_or(1);
        let chunk = 1000;
        let mut scratch = vec![0.0f32; nn::inference_scratch_len(&self.sizes, chunk)];
        let mut out = vec![0.0f32; chunk];
        let mut values = Vec::with_capacity(x.len() / inputs);
        for rows in x.chunks(chunk * inputs) {
            let out = &mut out[..rows.len() / inputs];
            mlp.forward(dispatch, rows, &mut scratch, out)?;
            values.extend(out.iter().map(|&v| f64::from(v) * self.scale + self.mean));
        }
        Ok(values)
    }
}
