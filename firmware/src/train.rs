//! On-device training: an MLP on the embedded blob rows, inside one static workspace whose size
//! comes from `edgeml_core::nn::workspace_len`, printing the mean loss of every epoch.

use crate::dims::*;
use crate::measure::Counter;
use crate::memory::{Memory, TRAIN_BATCH, TRAIN_SIZES, TRAIN_STATE_SLOTS};
use cortex_m_semihosting::hprintln;
use edgeml_core::nn::{self, Activation, Loss, Optimizer, Targets, Topology, TrainConfig};
use edgeml_core::rng::Rng;
use edgeml_core::{Error, Result};

/// Epochs of on-device training.
pub const EPOCHS: usize = 8;

/// Trains for [`EPOCHS`] epochs with Adam and prints `train <epoch> <mean loss>` lines.
pub fn run(mem: &mut Memory, counter: &Counter) -> Result<()> {
    let topology = Topology::new(&TRAIN_SIZES, &[Activation::Tanh, Activation::Identity])?;
    let optimizer = Optimizer::adam(0.02);
    if optimizer.state_slots() != TRAIN_STATE_SLOTS {
        return Err(Error::InvalidParameter {
            name: "TRAIN_STATE_SLOTS disagrees with the optimizer",
        });
    }
    let config = TrainConfig::new(TRAIN_BATCH, Loss::SoftmaxCrossEntropy, optimizer);
    let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut mem.train)?;
    let mut rng = Rng::new(3);
    mlp.init(&mut rng);
    for (i, o) in mem.order.iter_mut().enumerate() {
        *o = i as u32;
    }
    for epoch in 0..EPOCHS {
        rng.shuffle(&mut mem.order);
        let (total, n) = counter.count(|| -> Result<f32> {
            let mut total = 0.0f32;
            for chunk in mem.order.chunks(TRAIN_BATCH) {
                for (slot, &row) in chunk.iter().enumerate() {
                    let row = row as usize;
                    let src = mem.blob_x.get(row * BLOB_D..(row + 1) * BLOB_D);
                    let dst = mem.batch_x.get_mut(slot * BLOB_D..(slot + 1) * BLOB_D);
                    if let (Some(src), Some(dst)) = (src, dst) {
                        dst.copy_from_slice(src);
                    }
                    if let (Some(y), Some(&label)) =
                        (mem.batch_y.get_mut(slot), mem.blob_y.get(row))
                    {
                        *y = label;
                    }
                }
                let rows = chunk.len();
                let x = mem.batch_x.get(..rows * BLOB_D).unwrap_or_default();
                let y = mem.batch_y.get(..rows).unwrap_or_default();
                let report = trainer.step(&mut mlp, x, Targets::Classes(y), &mut rng)?;
                total += report.loss * rows as f32;
            }
            Ok(total)
        });
        hprintln!("train {} {}", epoch + 1, total? / BLOB_ROWS as f32);
        if epoch == 0 {
            hprintln!("# instructions train_epoch {}", n);
        }
    }
    Ok(())
}
