//! One training step of a dense MLP on the GPU — forward, softmax cross-entropy, backward and
//! an SGD or Adam update — on resident buffers, mirroring `edgeml_core::nn::Trainer::step`
//! for networks without batch norm, dropout or clipping whose hidden layers use ReLU or the
//! identity.

use edgeml_core::nn::{Activation, Loss, Optimizer, TrainConfig};
use edgeml_core::Error;

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::launch::{grid, Kernel, GROUP};
use crate::resident::{DeviceVec, Sequence};

/// Uniform block matching `Params` in mlp.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_off: u32,
    b_off: u32,
    c_off: u32,
    bias_off: u32,
    f: [f32; 8],
}

/// `matmul` flag: the first operand is stored transposed.
const TRANS_A: u32 = 1;
/// `matmul` flag: the second operand is stored transposed.
const TRANS_B: u32 = 2;
/// `matmul` flag: add the bias row.
const BIAS: u32 = 4;

/// The compiled entry points of mlp.wgsl.
struct Kernels {
    matmul: Kernel,
    relu: Kernel,
    relu_backward: Kernel,
    xent: Kernel,
    colsum: Kernel,
    update: Kernel,
}

/// Shapes and parameter offsets of one dense layer.
#[derive(Clone, Copy)]
struct Layer {
    inputs: usize,
    outputs: usize,
    weights: usize,
    bias: usize,
    relu: bool,
}

/// A trainer whose parameters, gradients, optimizer state and activations stay on the GPU:
/// each [`GpuTrainer::step`] uploads one minibatch and reads back only the per-row losses.
pub struct GpuTrainer<'g> {
    gpu: &'g Gpu,
    layers: Vec<Layer>,
    optimizer: Optimizer,
    batch: usize,
    kernels: Kernels,
    params: DeviceVec<'g>,
    grads: DeviceVec<'g>,
    state: DeviceVec<'g>,
    x: DeviceVec<'g>,
    labels: DeviceVec<'g>,
    pre: Vec<DeviceVec<'g>>,
    post: Vec<DeviceVec<'g>>,
    delta: [DeviceVec<'g>; 2],
    losses: DeviceVec<'g>,
    steps: u64,
}

impl std::fmt::Debug for GpuTrainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTrainer")
            .field("batch", &self.batch)
            .field("steps", &self.steps)
            .finish()
    }
}

/// `Err(GpuError::Input(InvalidParameter))` with `name`.
fn unsupported(name: &'static str) -> GpuError {
    GpuError::Input(Error::InvalidParameter { name })
}

/// `value` as a `u32` shader index (`ShapeOverflow` when it does not fit).
fn index(value: usize) -> Result<u32, GpuError> {
    u32::try_from(value).map_err(|_| GpuError::ShapeOverflow {
        m: value,
        k: 1,
        n: 1,
    })
}

impl<'g> GpuTrainer<'g> {
    /// Uploads `params` (the layout of `edgeml_core::nn::Mlp::params` for layer `sizes`, with
    /// `activations` per layer) and allocates everything for minibatches of up to
    /// `config.batch` rows. Supported: no batch norm, dropout 0, no clipping, ReLU or identity
    /// hidden layers, identity output, `Loss::SoftmaxCrossEntropy`, plain SGD (momentum 0) or
    /// Adam; anything else is `GpuError::Input(InvalidParameter)`. `Length` error when
    /// `params` has the wrong length.
    pub fn new(
        gpu: &'g Gpu,
        sizes: &[usize],
        activations: &[Activation],
        config: &TrainConfig,
        params: &[f32],
    ) -> Result<Self, GpuError> {
        let layers = plan(sizes, activations)?;
        check_config(config)?;
        let expected = layers.last().map_or(0, |l| l.bias + l.outputs);
        crate::kernels::gemm::check_len("params", expected, params.len())?;
        let batch = config.batch;
        let inputs = sizes.first().copied().unwrap_or(0);
        let widest = layers.iter().map(|l| l.outputs).max().unwrap_or(0);
        let rows_by = |width: usize| {
            batch
                .checked_mul(width)
                .ok_or(GpuError::ShapeOverflow {
                    m: batch,
                    k: width,
                    n: 1,
                })
                .and_then(|len| index(len).map(|_| len))
        };
        let source = include_str!("mlp.wgsl");
        let update = match config.optimizer {
            Optimizer::Adam { .. } => gpu.kernel("mlp.adam", source, "adam")?,
            _ => gpu.kernel("mlp.sgd", source, "sgd")?,
        };
        let kernels = Kernels {
            matmul: gpu.kernel("mlp.matmul", source, "matmul")?,
            relu: gpu.kernel("mlp.relu", source, "relu")?,
            relu_backward: gpu.kernel("mlp.relu_backward", source, "relu_backward")?,
            xent: gpu.kernel("mlp.xent", source, "xent")?,
            colsum: gpu.kernel("mlp.colsum", source, "colsum")?,
            update,
        };
        let mut pre = Vec::with_capacity(layers.len());
        let mut post = Vec::with_capacity(layers.len());
        for layer in &layers {
            pre.push(gpu.zeros(rows_by(layer.outputs)?)?);
            post.push(gpu.zeros(if layer.relu {
                rows_by(layer.outputs)?
            } else {
                0
            })?);
        }
        let slots = config.optimizer.state_slots();
        Ok(GpuTrainer {
            gpu,
            optimizer: config.optimizer,
            batch,
            kernels,
            params: gpu.upload(params)?,
            grads: gpu.zeros(params.len())?,
            state: gpu.zeros(params.len().saturating_mul(slots))?,
            x: gpu.zeros(rows_by(inputs)?)?,
            labels: gpu.zeros(batch)?,
            pre,
            post,
            delta: [gpu.zeros(rows_by(widest)?)?, gpu.zeros(rows_by(widest)?)?],
            losses: gpu.zeros(batch)?,
            steps: 0,
            layers,
        })
    }

    /// Optimizer updates applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Copies the current parameters back to the host (layout of `Mlp::params`).
    pub fn params(&self) -> Result<Vec<f32>, GpuError> {
        self.params.read()
    }

    /// One step on minibatch `x` (`[rows × inputs]`) with class `labels` (`rows` of them,
    /// `1 ≤ rows ≤ batch`): forward, mean softmax cross-entropy (returned), backward and the
    /// optimizer update. Errors as the core's step: `Empty` for no rows, `CapacityExceeded`
    /// for more than the batch, `ShapeMismatch` for inconsistent `x`, `InvalidParameter` for a
    /// label `≥ outputs`, `NonFinite` for NaN/inf inputs or a non-finite loss (parameters then
    /// unchanged) — all wrapped in `GpuError::Input`.
    pub fn step(&mut self, x: &[f32], labels: &[u32]) -> Result<f32, GpuError> {
        let rows = labels.len();
        let inputs = self.layers.first().map_or(0, |l| l.inputs);
        let outputs = self.layers.last().map_or(0, |l| l.outputs);
        if rows == 0 {
            return Err(GpuError::Input(Error::Empty));
        }
        if rows > self.batch {
            return Err(GpuError::Input(Error::CapacityExceeded {
                requested: rows,
                capacity: self.batch,
            }));
        }
        let expected = rows.saturating_mul(inputs);
        if x.len() != expected {
            return Err(GpuError::Input(Error::ShapeMismatch {
                expected,
                found: x.len(),
            }));
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(GpuError::Input(Error::NonFinite { index }));
        }
        if labels.iter().any(|&l| l as usize >= outputs) {
            return Err(unsupported("class label out of range"));
        }
        let label_values: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
        self.x.write(x)?;
        self.labels.write(&label_values)?;
        self.forward(rows)?;
        let mut losses = vec![0.0f32; rows];
        self.losses.read_prefix(&mut losses)?;
        let loss = (losses.iter().map(|&l| f64::from(l)).sum::<f64>() / rows as f64) as f32;
        if !loss.is_finite() {
            return Err(GpuError::Input(Error::NonFinite { index: 0 }));
        }
        self.steps += 1;
        self.backward_and_update(rows)?;
        Ok(loss)
    }

    /// The layer input of layer `l` (the batch for layer 0).
    fn input_of(&self, l: usize) -> Result<&wgpu::Buffer, GpuError> {
        match l.checked_sub(1) {
            None => self.x.raw(),
            Some(prev) => self.output_of(prev),
        }
    }

    /// The activated output of layer `l`.
    fn output_of(&self, l: usize) -> Result<&wgpu::Buffer, GpuError> {
        let layer = self.layers.get(l).ok_or_else(missing)?;
        let buffers = if layer.relu { &self.post } else { &self.pre };
        buffers.get(l).ok_or_else(missing)?.raw()
    }

    /// Records and submits the forward pass and the loss rows / output gradient.
    fn forward(&self, rows: usize) -> Result<(), GpuError> {
        let gpu = self.gpu;
        let mut seq = Sequence::new(gpu);
        let r = index(rows)?;
        for (l, layer) in self.layers.iter().enumerate() {
            let pre = self.pre.get(l).ok_or_else(missing)?.raw()?;
            let params = Params {
                m: r,
                n: index(layer.outputs)?,
                k: index(layer.inputs)?,
                flags: BIAS,
                b_off: index(layer.weights)?,
                bias_off: index(layer.bias)?,
                ..Params::default()
            };
            seq.pass(
                &self.kernels.matmul,
                bytemuck::bytes_of(&params),
                &[(1, self.input_of(l)?), (2, self.params.raw()?), (3, pre)],
                tiles(layer.outputs, rows),
            );
            if layer.relu {
                let count = rows * layer.outputs;
                let post = self.post.get(l).ok_or_else(missing)?.raw()?;
                seq.pass(
                    &self.kernels.relu,
                    bytemuck::bytes_of(&Params {
                        m: index(count)?,
                        ..Params::default()
                    }),
                    &[(1, pre), (3, post)],
                    grid(gpu, count.div_ceil(GROUP as usize))?,
                );
            }
        }
        let last = self.layers.len().checked_sub(1).ok_or_else(missing)?;
        let outputs = self.layers.get(last).ok_or_else(missing)?.outputs;
        let mut params = Params {
            m: r,
            n: index(outputs)?,
            ..Params::default()
        };
        params.f[0] = 1.0 / rows as f32;
        let delta = self.delta.first().ok_or_else(missing)?.raw()?;
        seq.pass(
            &self.kernels.xent,
            bytemuck::bytes_of(&params),
            &[
                (1, self.output_of(last)?),
                (2, self.labels.raw()?),
                (3, delta),
                (4, self.losses.raw()?),
            ],
            [index(rows.div_ceil(64))?, 1, 1],
        );
        seq.submit()
    }

    /// Records and submits the backward pass (gradients into `grads`) and the update.
    fn backward_and_update(&self, rows: usize) -> Result<(), GpuError> {
        let gpu = self.gpu;
        let mut seq = Sequence::new(gpu);
        let r = index(rows)?;
        let mut current = 0usize;
        for l in (0..self.layers.len()).rev() {
            let layer = *self.layers.get(l).ok_or_else(missing)?;
            let delta = self.delta.get(current).ok_or_else(missing)?.raw()?;
            let dw = Params {
                m: index(layer.inputs)?,
                n: index(layer.outputs)?,
                k: r,
                flags: TRANS_A,
                c_off: index(layer.weights)?,
                ..Params::default()
            };
            seq.pass(
                &self.kernels.matmul,
                bytemuck::bytes_of(&dw),
                &[(1, self.input_of(l)?), (2, delta), (3, self.grads.raw()?)],
                tiles(layer.outputs, layer.inputs),
            );
            let db = Params {
                m: r,
                n: index(layer.outputs)?,
                c_off: index(layer.bias)?,
                ..Params::default()
            };
            seq.pass(
                &self.kernels.colsum,
                bytemuck::bytes_of(&db),
                &[(1, delta), (3, self.grads.raw()?)],
                [index(layer.outputs.div_ceil(64))?, 1, 1],
            );
            let Some(prev) = l.checked_sub(1) else {
                continue;
            };
            let below = *self.layers.get(prev).ok_or_else(missing)?;
            let next = 1 - current;
            let target = self.delta.get(next).ok_or_else(missing)?.raw()?;
            let dx = Params {
                m: r,
                n: index(layer.inputs)?,
                k: index(layer.outputs)?,
                flags: TRANS_B,
                b_off: index(layer.weights)?,
                ..Params::default()
            };
            seq.pass(
                &self.kernels.matmul,
                bytemuck::bytes_of(&dx),
                &[(1, delta), (2, self.params.raw()?), (3, target)],
                tiles(layer.inputs, rows),
            );
            if below.relu {
                let count = rows * below.outputs;
                seq.pass(
                    &self.kernels.relu_backward,
                    bytemuck::bytes_of(&Params {
                        m: index(count)?,
                        ..Params::default()
                    }),
                    &[
                        (1, self.pre.get(prev).ok_or_else(missing)?.raw()?),
                        (3, target),
                    ],
                    grid(gpu, count.div_ceil(GROUP as usize))?,
                );
            }
            current = next;
        }
        self.record_update(&mut seq)?;
        seq.submit()
    }

    /// Records the optimizer update of every parameter.
    fn record_update(&self, seq: &mut Sequence<'_>) -> Result<(), GpuError> {
        let n = self.params.len();
        let mut params = Params {
            m: index(n)?,
            ..Params::default()
        };
        let groups = grid(self.gpu, n.div_ceil(GROUP as usize))?;
        match self.optimizer {
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                let t = self.steps as f64;
                let c1 = (1.0 / (1.0 - f64::from(beta1).powf(t))) as f32;
                let c2 = (1.0 / (1.0 - f64::from(beta2).powf(t))) as f32;
                params.f = [lr, beta1, beta2, eps, weight_decay, c1, c2, 0.0];
                seq.pass(
                    &self.kernels.update,
                    bytemuck::bytes_of(&params),
                    &[
                        (1, self.grads.raw()?),
                        (3, self.params.raw()?),
                        (4, self.state.raw()?),
                    ],
                    groups,
                );
            }
            optimizer => {
                let weight_decay = match optimizer {
                    Optimizer::Sgd { weight_decay, .. } => weight_decay,
                    _ => 0.0,
                };
                params.f[0] = optimizer.learning_rate();
                params.f[1] = weight_decay;
                seq.pass(
                    &self.kernels.update,
                    bytemuck::bytes_of(&params),
                    &[(1, self.grads.raw()?), (3, self.params.raw()?)],
                    groups,
                );
            }
        }
        Ok(())
    }
}

/// The error for an internal buffer that is unexpectedly absent.
fn missing() -> GpuError {
    GpuError::Device("trainer buffer missing".into())
}

/// A grid of 64×64 output blocks covering `cols × rows` outputs.
fn tiles(cols: usize, rows: usize) -> [u32; 3] {
    let g = |v: usize| u32::try_from(v.div_ceil(64).max(1)).unwrap_or(u32::MAX);
    [g(cols), g(rows), 1]
}

/// Layer shapes and parameter offsets (weights then biases per layer, as the core lays them
/// out without batch norm).
fn plan(sizes: &[usize], activations: &[Activation]) -> Result<Vec<Layer>, GpuError> {
    if sizes.len() < 2 || sizes.contains(&0) {
        return Err(unsupported(
            "an MLP needs at least two non-zero layer sizes",
        ));
    }
    if activations.len() + 1 != sizes.len() {
        return Err(unsupported("one activation per layer"));
    }
    let mut offset = 0usize;
    let mut layers = Vec::with_capacity(activations.len());
    for (l, (pair, &activation)) in sizes.windows(2).zip(activations).enumerate() {
        let (inputs, outputs) = (pair[0], pair[1]);
        let last = l + 2 == sizes.len();
        let relu =
            match activation {
                Activation::Relu if !last => true,
                Activation::Identity => false,
                _ => return Err(unsupported(
                    "the GPU trainer takes ReLU or identity hidden layers and an identity output",
                )),
            };
        let weights = offset;
        let bias = inputs
            .checked_mul(outputs)
            .and_then(|w| weights.checked_add(w))
            .ok_or(GpuError::ShapeOverflow {
                m: inputs,
                k: outputs,
                n: 1,
            })?;
        offset = bias.checked_add(outputs).ok_or(GpuError::ShapeOverflow {
            m: inputs,
            k: outputs,
            n: 1,
        })?;
        index(offset)?;
        layers.push(Layer {
            inputs,
            outputs,
            weights,
            bias,
            relu,
        });
    }
    Ok(layers)
}

/// Accepts the configurations the GPU step mirrors exactly.
fn check_config(config: &TrainConfig) -> Result<(), GpuError> {
    config.optimizer.validate().map_err(GpuError::Input)?;
    if config.batch == 0 {
        return Err(unsupported("batch must be positive"));
    }
    if config.loss != Loss::SoftmaxCrossEntropy {
        return Err(unsupported("the GPU trainer takes softmax cross-entropy"));
    }
    if config.dropout != 0.0 || config.clip_norm.is_some() {
        return Err(unsupported("the GPU trainer takes no dropout or clipping"));
    }
    match config.optimizer {
        Optimizer::Sgd { momentum, .. } if momentum != 0.0 => Err(unsupported(
            "the GPU trainer takes plain SGD (momentum 0) or Adam",
        )),
        Optimizer::RmsProp { .. } => Err(unsupported(
            "the GPU trainer takes plain SGD (momentum 0) or Adam",
        )),
        _ => Ok(()),
    }
}
