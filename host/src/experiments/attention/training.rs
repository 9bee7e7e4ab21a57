//! Training the tiny vision transformer and, for comparison, an MLP with the core trainer, on
//! the same images, epochs, batch size and optimizer (Adam with a cosine-decayed learning rate),
//! evaluated on the held-out test set after every epoch.

use std::time::Instant;

use anyhow::{ensure, Result};
use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{
    inference_scratch_len, split_workspace, workspace_len, Activation, Loss, Optimizer, Targets,
    Topology, TrainConfig,
};
use edgeml_core::rng::Rng;
use indicatif::ProgressBar;

use super::vit::{Vit, PIXELS};

/// Images (row-major, 784 pixels each in [0, 1]) and their class labels.
pub struct Images {
    /// `labels.len() × 784` pixels.
    pub pixels: Vec<f32>,
    /// One class per image.
    pub labels: Vec<u32>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }
}

/// How both models are trained.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per optimizer step.
    pub batch: usize,
    /// Peak learning rate (cosine decay to 0 over all steps).
    pub lr: f32,
}

impl Schedule {
    fn lr_at(&self, step: usize, total: usize) -> f32 {
        let progress = step as f32 / total.max(1) as f32;
        self.lr * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos())
    }
}

/// One epoch's figures.
#[derive(Clone, Copy, Debug)]
pub struct EpochPoint {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Test accuracy after the epoch, in [0, 1].
    pub test_accuracy: f64,
}

/// What training one model produced.
#[derive(Clone, Debug)]
pub struct Trained {
    /// Trainable parameters.
    pub params: usize,
    /// Per epoch.
    pub curve: Vec<EpochPoint>,
    /// Seconds spent training (evaluation excluded).
    pub train_seconds: f64,
}

impl Trained {
    /// Test accuracy after the last epoch.
    pub fn test_accuracy(&self) -> f64 {
        self.curve.last().map_or(0.0, |p| p.test_accuracy)
    }
}

fn epoch_order(len: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    rng.shuffle(&mut order);
    order
}

/// Trains `vit` from a fresh initialization on `train`, evaluating on `test` each epoch;
/// returns the run and the trained parameters ([`Vit::param_len`] values).
pub fn fit_vit(
    vit: &Vit,
    dispatch: Dispatch,
    train: &Images,
    test: &Images,
    schedule: Schedule,
    rng: &mut Rng,
    progress: &ProgressBar,
) -> Result<(Trained, Vec<f32>)> {
    ensure!(!train.is_empty() && !test.is_empty(), "no images");
    let mut params = vit.init(rng)?;
    let mut grads = vec![0.0f32; params.len()];
    let optimizer = Optimizer::adam(schedule.lr);
    let mut state = vec![0.0f32; optimizer.state_slots() * params.len()];
    let mut scratch = vit.scratch();
    let steps_per_epoch = train.len().div_ceil(schedule.batch);
    let total = steps_per_epoch * schedule.epochs;
    let mut step = 0usize;
    let mut curve = Vec::new();
    let mut seconds = 0.0;
    for epoch in 1..=schedule.epochs {
        let started = Instant::now();
        let mut loss_sum = 0.0f64;
        for batch in epoch_order(train.len(), rng).chunks(schedule.batch) {
            grads.fill(0.0);
            let weight = 1.0 / batch.len() as f32;
            for &i in batch {
                let loss = vit.accumulate_gradients(
                    dispatch,
                    &params,
                    train.image(i),
                    train.labels[i],
                    weight,
                    &mut grads,
                    &mut scratch,
                )?;
                loss_sum += f64::from(loss);
            }
            let lr = schedule.lr_at(step, total);
            step += 1;
            optimizer.with_learning_rate(lr).update(
                &mut params,
                &grads,
                &mut state,
                step as u64,
            )?;
            progress.inc(batch.len() as u64);
        }
        seconds += started.elapsed().as_secs_f64();
        let mut correct = 0usize;
        for i in 0..test.len() {
            let logits = vit.logits(dispatch, &params, test.image(i), &mut scratch)?;
            correct += usize::from(argmax(logits) == test.labels[i] as usize);
        }
        curve.push(EpochPoint {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            test_accuracy: correct as f64 / test.len() as f64,
        });
    }
    let run = Trained {
        params: vit.param_len(),
        curve,
        train_seconds: seconds,
    };
    Ok((run, params))
}

/// Sizes of the MLP baseline: 784 → `hidden` (ReLU) → 10.
pub fn mlp_sizes(hidden: usize) -> [usize; 3] {
    [PIXELS, hidden, 10]
}

/// Hidden width of a 784 → h → 10 MLP with about `params` parameters (at least 1).
pub fn hidden_for_params(params: usize) -> usize {
    let per_unit = PIXELS + 1 + 10;
    ((params + per_unit / 2) / per_unit).max(1)
}

/// Trains the MLP 784 → `hidden` → 10 with the core trainer on the same schedule.
#[allow(clippy::too_many_arguments)]
pub fn train_mlp(
    hidden: usize,
    dispatch: Dispatch,
    train: &Images,
    test: &Images,
    schedule: Schedule,
    rng: &mut Rng,
    progress: &ProgressBar,
) -> Result<Trained> {
    ensure!(!train.is_empty() && !test.is_empty(), "no images");
    let sizes = mlp_sizes(hidden);
    let topology = Topology::new(&sizes, &[Activation::Relu, Activation::Identity])?;
    let mut config = TrainConfig::new(
        schedule.batch,
        Loss::SoftmaxCrossEntropy,
        Optimizer::adam(schedule.lr),
    );
    config.dispatch = dispatch;
    let mut buffer = vec![
        0.0f32;
        workspace_len(
            &sizes,
            false,
            schedule.batch,
            config.optimizer.state_slots(),
            false
        )
    ];
    let (mut mlp, mut trainer) = split_workspace(topology, config, &mut buffer)?;
    mlp.init(rng);
    let steps_per_epoch = train.len().div_ceil(schedule.batch);
    let total = steps_per_epoch * schedule.epochs;
    let mut step = 0usize;
    let mut curve = Vec::new();
    let mut seconds = 0.0;
    let mut x = Vec::with_capacity(schedule.batch * PIXELS);
    let mut labels = Vec::with_capacity(schedule.batch);
    let eval_rows = 256;
    let mut scratch = vec![0.0f32; inference_scratch_len(&sizes, eval_rows)];
    let mut out = vec![0.0f32; eval_rows * 10];
    for epoch in 1..=schedule.epochs {
        let started = Instant::now();
        let mut loss_sum = 0.0f64;
        for batch in epoch_order(train.len(), rng).chunks(schedule.batch) {
            x.clear();
            labels.clear();
            for &i in batch {
                x.extend_from_slice(train.image(i));
                labels.push(train.labels[i]);
            }
            trainer.set_learning_rate(schedule.lr_at(step, total))?;
            step += 1;
            let report = trainer.step(&mut mlp, &x, Targets::Classes(&labels), rng)?;
            loss_sum += f64::from(report.loss) * batch.len() as f64;
            progress.inc(batch.len() as u64);
        }
        seconds += started.elapsed().as_secs_f64();
        let mut correct = 0usize;
        for start in (0..test.len()).step_by(eval_rows) {
            let rows = eval_rows.min(test.len() - start);
            let pixels = &test.pixels[start * PIXELS..(start + rows) * PIXELS];
            mlp.forward(dispatch, pixels, &mut scratch, &mut out[..rows * 10])?;
            for (r, logits) in out[..rows * 10].chunks_exact(10).enumerate() {
                correct += usize::from(argmax(logits) == test.labels[start + r] as usize);
            }
        }
        curve.push(EpochPoint {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            test_accuracy: correct as f64 / test.len() as f64,
        });
    }
    Ok(Trained {
        params: topology.param_len(),
        curve,
        train_seconds: seconds,
    })
}

/// Index of the largest value (the first on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}
