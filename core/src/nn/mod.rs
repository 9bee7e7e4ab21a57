//! Multi-layer perceptrons without an allocator: dense layers of any depth with activations,
//! batch norm and dropout; losses; backpropagation; SGD/Adam/RMSprop; learning-rate schedules;
//! mixed-precision training with dynamic loss scaling; compact serialization; read-only
//! models over borrowed bytes ([`MlpView`], int8 [`QuantMlp`]) for inference from flash.
//!
//! Every buffer belongs to the caller. [`workspace_len`] (a `const fn`) gives the `f32` count
//! of a training workspace for given layer sizes, batch and optimizer, so firmware can train
//! in a static array:
//!
//! ```
//! use edgeml_core::nn::{self, Activation, Loss, Optimizer, Targets, TrainConfig, Topology};
//! const SIZES: [usize; 3] = [2, 8, 2];
//! const LEN: usize = nn::workspace_len(&SIZES, false, 4, 0, false);
//! let mut workspace = [0.0f32; LEN];
//! let topology = Topology::new(&SIZES, &[Activation::Tanh, Activation::Identity]).unwrap();
//! let config = TrainConfig::new(4, Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1));
//! let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut workspace).unwrap();
//! let mut rng = edgeml_core::rng::Rng::new(7);
//! mlp.init(&mut rng);
//! let x = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5, -1.0, 0.0];
//! let report = trainer.step(&mut mlp, &x, Targets::Classes(&[0, 1, 1, 0]), &mut rng).unwrap();
//! assert!(report.loss.is_finite());
//! ```

pub mod activation;
mod batchnorm;
mod dropout;
mod finite;
pub mod init;
pub mod loss;
mod matmul;
pub mod mlp;
pub mod optimizer;
pub mod quant;
pub mod scaler;
pub mod schedule;
pub mod serialize;
pub mod topology;
pub mod trainer;
pub mod view;

pub use activation::Activation;
pub use batchnorm::EPS as BATCH_NORM_EPS;
pub use init::Init;
pub use loss::{Loss, Targets};
pub use mlp::Mlp;
pub use optimizer::{clip_by_global_norm, global_norm, Optimizer};
pub use quant::{QuantMlp, QuantScratch, TensorQuant};
pub use scaler::LossScaler;
pub use schedule::Schedule;
pub use serialize::Dtype;
pub use topology::{
    half_len, inference_scratch_len, model_len, param_len, trainer_len, workspace_len, Topology,
    MAX_LAYERS,
};
pub use trainer::{split_workspace, StepReport, TrainConfig, Trainer};
pub use view::{view_scratch_len, MlpView};
