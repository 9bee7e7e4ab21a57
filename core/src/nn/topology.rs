//! The shape of an MLP (layer sizes, activations, batch norm) and the sizes of the buffers it
//! needs, as `const fn`s so firmware can declare static workspaces.
//!
//! Buffer sizes count `f32` elements. Every size function saturates: a result of `usize::MAX`
//! means the true size overflows, and the constructors turn it into `Err(SizeOverflow)`.

use crate::error::{Error, Result};
use crate::nn::activation::Activation;

/// Most dense layers an MLP may have.
pub const MAX_LAYERS: usize = 16;

/// Layer sizes `[inputs, hidden…, outputs]` (one more than the layer count), the activation of
/// each layer, and whether hidden layers carry batch norm (between the dense map and the
/// activation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    sizes: [usize; MAX_LAYERS + 1],
    activations: [Activation; MAX_LAYERS],
    layers: usize,
    batch_norm: bool,
}

impl Topology {
    /// Topology with `sizes.len() - 1` dense layers, layer `l` mapping `sizes[l]` inputs to
    /// `sizes[l + 1]` outputs through `activations[l]`. Errors: `Empty` for fewer than two
    /// sizes, `ShapeMismatch` unless `activations.len() == sizes.len() - 1`,
    /// `CapacityExceeded` beyond [`MAX_LAYERS`], `InvalidParameter` for a zero size,
    /// `SizeOverflow` when the parameter count overflows.
    pub fn new(sizes: &[usize], activations: &[Activation]) -> Result<Self> {
        let layers = sizes
            .len()
            .checked_sub(1)
            .filter(|&l| l > 0)
            .ok_or(Error::Empty)?;
        crate::error::ensure_len(layers, activations.len())?;
        if layers > MAX_LAYERS {
            return Err(Error::CapacityExceeded {
                requested: layers,
                capacity: MAX_LAYERS,
            });
        }
        if sizes.contains(&0) {
            return Err(Error::InvalidParameter {
                name: "layer sizes must be positive",
            });
        }
        let mut topology = Topology {
            sizes: [0; MAX_LAYERS + 1],
            activations: [Activation::Identity; MAX_LAYERS],
            layers,
            batch_norm: false,
        };
        topology.sizes[..sizes.len()].copy_from_slice(sizes);
        topology.activations[..layers].copy_from_slice(activations);
        topology.checked_model_len()?;
        Ok(topology)
    }

    /// The same topology with batch norm on every hidden layer (`true`) or none (`false`).
    pub fn with_batch_norm(mut self, batch_norm: bool) -> Result<Self> {
        self.batch_norm = batch_norm;
        self.checked_model_len()?;
        Ok(self)
    }

    fn checked_model_len(&self) -> Result<usize> {
        match model_len(self.sizes(), self.batch_norm) {
            usize::MAX => Err(Error::SizeOverflow),
            len => Ok(len),
        }
    }

    /// Number of dense layers.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// `[inputs, hidden…, outputs]`.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes[..=self.layers]
    }

    /// Activation of each layer.
    pub fn activations(&self) -> &[Activation] {
        &self.activations[..self.layers]
    }

    /// Whether hidden layers carry batch norm.
    pub fn batch_norm(&self) -> bool {
        self.batch_norm
    }

    /// Features per input row.
    pub fn inputs(&self) -> usize {
        self.sizes[0]
    }

    /// Values per output row.
    pub fn outputs(&self) -> usize {
        self.sizes[self.layers]
    }

    /// Trainable parameters (weights, biases, batch-norm scales and shifts).
    pub fn param_len(&self) -> usize {
        param_len(self.sizes(), self.batch_norm)
    }

    /// `f32` elements of a model buffer: the parameters, then the batch-norm running means and
    /// variances.
    pub fn model_len(&self) -> usize {
        model_len(self.sizes(), self.batch_norm)
    }
}

const fn max_out(sizes: &[usize]) -> usize {
    let mut widest = 0;
    let mut i = 1;
    while i < sizes.len() {
        if sizes[i] > widest {
            widest = sizes[i];
        }
        i += 1;
    }
    widest
}

const fn is_hidden(sizes: &[usize], layer: usize) -> bool {
    layer + 2 < sizes.len()
}

/// Trainable parameters of the MLP with layer sizes `sizes`: per layer `in·out` weights and
/// `out` biases, plus `2·out` batch-norm scales and shifts on hidden layers when `batch_norm`.
pub const fn param_len(sizes: &[usize], batch_norm: bool) -> usize {
    let mut total: usize = 0;
    let mut l = 0;
    while l + 1 < sizes.len() {
        let (inputs, outputs) = (sizes[l], sizes[l + 1]);
        total = total.saturating_add(inputs.saturating_mul(outputs).saturating_add(outputs));
        if batch_norm && is_hidden(sizes, l) {
            total = total.saturating_add(outputs.saturating_mul(2));
        }
        l += 1;
    }
    total
}

/// Batch-norm running statistics (mean and variance per hidden unit; 0 without batch norm).
pub const fn running_len(sizes: &[usize], batch_norm: bool) -> usize {
    let mut total: usize = 0;
    let mut l = 0;
    while l + 1 < sizes.len() {
        if batch_norm && is_hidden(sizes, l) {
            total = total.saturating_add(sizes[l + 1].saturating_mul(2));
        }
        l += 1;
    }
    total
}

/// `f32` elements of a model (what inference and serialization need):
/// [`param_len`] + [`running_len`].
pub const fn model_len(sizes: &[usize], batch_norm: bool) -> usize {
    param_len(sizes, batch_norm).saturating_add(running_len(sizes, batch_norm))
}

/// `f32` elements of the scratch [`crate::nn::Mlp::forward`] needs for `rows` input rows: two
/// ping-pong buffers of `rows × widest layer output`.
pub const fn inference_scratch_len(sizes: &[usize], rows: usize) -> usize {
    rows.saturating_mul(max_out(sizes)).saturating_mul(2)
}

/// `f32` elements of one layer's activation block for `batch` rows: pre-activations and
/// outputs, plus the batch-norm input and statistics and the dropout mask where present.
pub const fn layer_block_len(
    outputs: usize,
    batch: usize,
    batch_norm: bool,
    dropout: bool,
) -> usize {
    let plane = batch.saturating_mul(outputs);
    let mut planes = 2;
    if batch_norm {
        planes += 1;
    }
    if dropout {
        planes += 1;
    }
    let stats = if batch_norm {
        outputs.saturating_mul(2)
    } else {
        0
    };
    plane.saturating_mul(planes).saturating_add(stats)
}

/// `f32` elements of a trainer buffer for minibatches of up to `batch` rows with an optimizer
/// keeping `state_slots` values per parameter ([`crate::nn::Optimizer::state_slots`]):
/// gradients, optimizer state, every layer's activation block, and two backprop buffers of
/// `batch × widest layer output`. `dropout` is whether hidden layers use dropout.
pub const fn trainer_len(
    sizes: &[usize],
    batch_norm: bool,
    batch: usize,
    state_slots: usize,
    dropout: bool,
) -> usize {
    let params = param_len(sizes, batch_norm);
    let mut total = params.saturating_mul(state_slots.saturating_add(1));
    let mut l = 0;
    while l + 1 < sizes.len() {
        let hidden = is_hidden(sizes, l);
        let block = layer_block_len(sizes[l + 1], batch, batch_norm && hidden, dropout && hidden);
        total = total.saturating_add(block);
        l += 1;
    }
    total.saturating_add(inference_scratch_len(sizes, batch))
}

/// `f32` elements of the whole training workspace: [`model_len`] followed by [`trainer_len`]
/// (split it with [`crate::nn::split_workspace`]).
pub const fn workspace_len(
    sizes: &[usize],
    batch_norm: bool,
    batch: usize,
    state_slots: usize,
    dropout: bool,
) -> usize {
    model_len(sizes, batch_norm).saturating_add(trainer_len(
        sizes,
        batch_norm,
        batch,
        state_slots,
        dropout,
    ))
}

/// Elements of type `T` (f16/bf16) a mixed-precision trainer needs besides its `f32`
/// workspace: a low-precision copy of the parameters and two operand buffers of
/// `batch × widest layer (inputs included)`.
pub const fn half_len(sizes: &[usize], batch_norm: bool, batch: usize) -> usize {
    let widest = if max_out(sizes) > sizes[0] {
        max_out(sizes)
    } else {
        sizes[0]
    };
    param_len(sizes, batch_norm).saturating_add(batch.saturating_mul(widest).saturating_mul(2))
}

/// Where one layer's pieces lie: offsets into the parameter vector, the running statistics
/// and the trainer's activation region.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LayerPlan {
    pub inputs: usize,
    pub outputs: usize,
    pub activation: Activation,
    pub batch_norm: bool,
    pub dropout: bool,
    pub weights: usize,
    pub bias: usize,
    pub gamma: usize,
    pub beta: usize,
    pub running: usize,
    pub pre: usize,
    pub post: usize,
    pub lin: usize,
    pub mask: usize,
    pub stats: usize,
}

/// Per-layer offsets for minibatches of `batch` rows; only the first `topology.layers()`
/// entries are meaningful. Callers must have checked that the sizes do not overflow.
pub(crate) fn plan(topology: &Topology, batch: usize, dropout: bool) -> [LayerPlan; MAX_LAYERS] {
    let mut plans = [LayerPlan::default(); MAX_LAYERS];
    let sizes = topology.sizes();
    let (mut param, mut running, mut act) = (0usize, topology.param_len(), 0usize);
    for (l, p) in plans.iter_mut().enumerate().take(topology.layers()) {
        let (inputs, outputs) = (sizes[l], sizes[l + 1]);
        let hidden = is_hidden(sizes, l);
        let bn = topology.batch_norm() && hidden;
        let drop = dropout && hidden;
        let plane = batch * outputs;
        p.inputs = inputs;
        p.outputs = outputs;
        p.activation = topology.activations()[l];
        p.batch_norm = bn;
        p.dropout = drop;
        p.weights = param;
        p.bias = param + inputs * outputs;
        p.gamma = p.bias + outputs;
        p.beta = p.gamma + outputs;
        param = if bn { p.beta + outputs } else { p.gamma };
        p.running = running;
        if bn {
            running += 2 * outputs;
        }
        p.pre = act;
        p.post = act + plane;
        p.lin = p.post + plane;
        p.mask = if bn { p.lin + plane } else { p.lin };
        p.stats = if drop { p.mask + plane } else { p.mask };
        act += layer_block_len(outputs, batch, bn, drop);
    }
    plans
}
