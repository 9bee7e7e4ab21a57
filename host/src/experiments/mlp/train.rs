//! One training run of an MLP on prepared image data: per-epoch shuffling into minibatches,
//! f32 or mixed-precision steps on `edgeml_core::nn`, and per-epoch loss, time and accuracy.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{
    self, Activation, Init, LossScaler, Mlp, Schedule, Targets, Topology, TrainConfig,
};
use edgeml_core::rng::Rng;
use half::{bf16, f16};
use ndarray::s;

use crate::datasets::{self, Dataset};

/// Classification examples ready for training: normalized features `[rows × inputs]` and
/// labels.
pub struct Examples {
    /// Row-major features, `(pixel − 0.5) / 0.5`.
    pub x: Vec<f32>,
    /// One class index per row.
    pub y: Vec<u32>,
    /// Features per row.
    pub inputs: usize,
}

impl Examples {
    /// The dataset's features normalized with mean 0.5 and standard deviation 0.5 (the seed's
    /// `transforms.Normalize((0.5,), (0.5,))`), keeping at most `limit` rows.
    pub fn from_dataset(data: &Dataset, limit: usize) -> Result<Examples> {
        let datasets::Targets::Classes(labels) = &data.targets else {
            bail!("{} has no class labels", data.source);
        };
        let rows = data.rows().min(limit);
        let inputs = data.features.ncols();
        let x = data
            .features
            .slice(s![..rows, ..])
            .iter()
            .map(|&p| (p - 0.5) / 0.5)
            .collect();
        let y = labels.iter().take(rows).map(|&l| u32::from(l)).collect();
        Ok(Examples { x, y, inputs })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// The rows `indices`, in that order, as new examples.
    pub fn select(&self, indices: &[usize]) -> Examples {
        let mut x = Vec::with_capacity(indices.len() * self.inputs);
        for &i in indices {
            x.extend_from_slice(&self.x[i * self.inputs..(i + 1) * self.inputs]);
        }
        Examples {
            x,
            y: indices.iter().map(|&i| self.y[i]).collect(),
            inputs: self.inputs,
        }
    }
}

/// Number format of the products during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Everything in f32.
    F32,
    /// f16 operands, f32 accumulation and master weights, dynamic loss scaling.
    MixedF16,
    /// bf16 operands, f32 accumulation and master weights, dynamic loss scaling.
    MixedBf16,
}

impl Precision {
    /// The name used in tables and JSON keys.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::MixedF16 => "mixed-f16",
            Precision::MixedBf16 => "mixed-bf16",
        }
    }
}

/// What to train and how.
#[derive(Clone, Copy, Debug)]
pub struct RunSpec {
    /// Hidden ReLU units (`None`: softmax regression, 784-10).
    pub hidden: Option<usize>,
    /// The training configuration (batch, loss, optimizer, kernel dispatch).
    pub config: TrainConfig,
    /// Epochs to run at most.
    pub epochs: usize,
    /// Operand precision.
    pub precision: Precision,
    /// Stop when the validation loss has not improved for this many epochs (needs
    /// validation data).
    pub patience: Option<usize>,
    /// Learning rate per epoch from the optimizer's rate ([`Schedule::Constant`]: fixed).
    pub schedule: Schedule,
    /// Initialization of every layer (`None`: the core's per-activation rule, He for ReLU).
    pub init: Option<Init>,
    /// Seed of the initialization and of the shuffling.
    pub seed: u64,
}

/// Figures of one epoch.
#[derive(Clone, Copy, Debug)]
pub struct Epoch {
    /// Mean minibatch loss over the epoch (the seed's `total_loss / len(train_loader)`).
    pub loss: f64,
    /// Wall-clock seconds of the epoch's training steps (shuffling included, evaluation not).
    pub seconds: f64,
    /// Test accuracy after the epoch, as a fraction.
    pub test_accuracy: f64,
    /// Mean cross-entropy on the validation data after the epoch, when there is any.
    pub validation_loss: Option<f64>,
    /// Mixed-precision steps skipped for overflow during the epoch.
    pub skipped_steps: usize,
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct Curve {
    /// One entry per epoch run.
    pub epochs: Vec<Epoch>,
    /// The epoch (1-based) whose weights were kept by early stopping, when it applied.
    pub best_epoch: Option<usize>,
    /// Test accuracy of the weights kept (the last epoch's, or the best epoch's under early
    /// stopping).
    pub final_accuracy: f64,
    /// Bytes of the f32 training workspace (weights, gradients, optimizer state, activations).
    pub workspace_bytes: usize,
    /// Bytes of the low-precision copies (weights and operands) of a mixed-precision run.
    pub half_bytes: usize,
    /// Bytes of the weights and activations the products read: f32 for an f32 run, the
    /// 2-byte copies for a mixed run.
    pub operand_bytes: usize,
}

impl Curve {
    /// Median seconds per epoch.
    pub fn median_epoch_seconds(&self) -> f64 {
        let mut s: Vec<f64> = self.epochs.iter().map(|e| e.seconds).collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// Loss of every epoch.
    pub fn losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }
}

/// Layer sizes of the model `spec` describes for `inputs` features and `classes` outputs.
pub fn sizes(spec: &RunSpec, inputs: usize, classes: usize) -> Vec<usize> {
    match spec.hidden {
        Some(h) => vec![inputs, h, classes],
        None => vec![inputs, classes],
    }
}

/// The topology of layer widths `sizes`: ReLU after every hidden layer, identity output.
pub fn topology(sizes: &[usize]) -> Result<Topology> {
    let activations: Vec<Activation> = (1..sizes.len())
        .map(|l| {
            if l + 1 == sizes.len() {
                Activation::Identity
            } else {
                Activation::Relu
            }
        })
        .collect();
    Ok(Topology::new(sizes, &activations)?)
}

/// Accuracy (fraction) and mean softmax cross-entropy of `mlp` on `data`.
pub fn evaluate(mlp: &Mlp<'_>, dispatch: Dispatch, data: &Examples) -> Result<(f64, f64)> {
    const CHUNK: usize = 1000;
    let k = mlp.topology().outputs();
    let mut scratch = vec![0.0f32; nn::inference_scratch_len(mlp.topology().sizes(), CHUNK)];
    let mut out = vec![0.0f32; CHUNK * k];
    let (mut correct, mut loss) = (0usize, 0.0f64);
    for (x, y) in data.x.chunks(CHUNK * data.inputs).zip(data.y.chunks(CHUNK)) {
        let out = &mut out[..y.len() * k];
        mlp.forward(dispatch, x, &mut scratch, out)?;
        for (row, &label) in out.chunks_exact(k).zip(y) {
            let (best, _) = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |acc, (i, &v)| {
                        if v > acc.1 {
                            (i, v)
                        } else {
                            acc
                        }
                    },
                );
            correct += usize::from(best == label as usize);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
            loss += max + sum.ln() - row[label as usize] as f64;
        }
    }
    let n = data.rows().max(1) as f64;
    Ok((correct as f64 / n, loss / n))
}

/// Low-precision buffers of a mixed run, one per storage type.
enum Half {
    None,
    F16(Vec<f16>, LossScaler),
    Bf16(Vec<bf16>, LossScaler),
}

/// Trains the model `spec` describes on `train`, evaluating on `test` (and on `validation`
/// for early stopping) after each epoch; `on_epoch` is called after each with its figures.
pub fn train(
    spec: &RunSpec,
    train: &Examples,
    test: &Examples,
    validation: Option<&Examples>,
    mut on_epoch: impl FnMut(&Epoch),
) -> Result<Curve> {
    let classes = 10;
    let sizes = sizes(spec, train.inputs, classes);
    let topo = topology(&sizes)?;
    let config = spec.config;
    let slots = config.optimizer.state_slots();
    let dropout = config.dropout > 0.0;
    let mut workspace =
        vec![0.0f32; nn::workspace_len(&sizes, false, config.batch, slots, dropout)];
    let workspace_bytes = workspace.len() * 4;
    let (mut mlp, mut trainer) =
        nn::split_workspace(topo, config, &mut workspace).context("splitting the workspace")?;
    let mut rng = Rng::new(spec.seed);
    match spec.init {
        Some(rule) => mlp.init_with(&mut rng, rule),
        None => mlp.init(&mut rng),
    }
    let base_lr = config.optimizer.learning_rate();
    let half_len = nn::half_len(&sizes, false, config.batch);
    let mut half = match spec.precision {
        Precision::F32 => Half::None,
        Precision::MixedF16 => Half::F16(vec![f16::ZERO; half_len], LossScaler::new(1024.0, 1000)?),
        Precision::MixedBf16 => Half::Bf16(vec![bf16::ZERO; half_len], LossScaler::new(1.0, 1000)?),
    };
    let half_bytes = if spec.precision == Precision::F32 {
        0
    } else {
        half_len * 2
    };
    let activations = config.batch * sizes.iter().sum::<usize>();
    let operand_bytes = match spec.precision {
        Precision::F32 => (topo.param_len() + activations) * 4,
        _ => (topo.param_len() + activations) * 2,
    };

    let mut order: Vec<usize> = (0..train.rows()).collect();
    let mut bx = vec![0.0f32; config.batch * train.inputs];
    let mut by = vec![0u32; config.batch];
    let mut epochs = Vec::new();
    let mut best: Option<(usize, f64, Vec<f32>)> = None;
    for index in 0..spec.epochs {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        trainer.set_learning_rate(spec.schedule.learning_rate(base_lr, index)?)?;
        let start = Instant::now();
        rng.shuffle(&mut order);
        let (mut total, mut batches, mut skipped) = (0.0f64, 0usize, 0usize);
        for chunk in order.chunks(config.batch) {
            let (x, y) = (
                &mut bx[..chunk.len() * train.inputs],
                &mut by[..chunk.len()],
            );
            for ((dst, label), &i) in x
                .chunks_exact_mut(train.inputs)
                .zip(y.iter_mut())
                .zip(chunk)
            {
                dst.copy_from_slice(&train.x[i * train.inputs..(i + 1) * train.inputs]);
                *label = train.y[i];
            }
            let targets = Targets::Classes(y);
            let report = match &mut half {
                Half::None => trainer.step(&mut mlp, x, targets, &mut rng)?,
                Half::F16(buf, scaler) => {
                    trainer.step_mixed(&mut mlp, buf, scaler, x, targets, &mut rng)?
                }
                Half::Bf16(buf, scaler) => {
                    trainer.step_mixed(&mut mlp, buf, scaler, x, targets, &mut rng)?
                }
            };
            if report.skipped {
                skipped += 1;
            } else {
                total += f64::from(report.loss);
                batches += 1;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let (test_accuracy, _) = evaluate(&mlp, config.dispatch, test)?;
        let validation_loss = match validation {
            Some(v) => Some(evaluate(&mlp, config.dispatch, v)?.1),
            None => None,
        };
        let epoch = Epoch {
            loss: total / batches.max(1) as f64,
            seconds,
            test_accuracy,
            validation_loss,
            skipped_steps: skipped,
        };
        on_epoch(&epoch);
        epochs.push(epoch);
        if let (Some(patience), Some(v)) = (spec.patience, validation_loss) {
            let improved = best.as_ref().is_none_or(|(_, b, _)| v < *b);
            if improved {
                best = Some((epochs.len(), v, mlp.buffer().to_vec()));
            } else if best
                .as_ref()
                .is_some_and(|(e, _, _)| epochs.len() - e >= patience)
            {
                break;
            }
        }
    }
    let (best_epoch, final_accuracy) = match best {
        Some((epoch, _, weights)) => {
            mlp.buffer_mut().copy_from_slice(&weights);
            (Some(epoch), evaluate(&mlp, config.dispatch, test)?.0)
        }
        None => (None, epochs.last().map_or(f64::NAN, |e| e.test_accuracy)),
    };
    Ok(Curve {
        epochs,
        best_epoch,
        final_accuracy,
        workspace_bytes,
        half_bytes,
        operand_bytes,
    })
}
