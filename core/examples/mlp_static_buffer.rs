//! Trains a small MLP inside one static buffer, as firmware does: the buffer's length is a
//! compile-time constant from `nn::workspace_len`, and training allocates nothing.
//!
//! The data are three Gaussian blobs in the plane; the network is 2-16(tanh)-3 trained with
//! Adam on softmax cross-entropy. The example prints the mean loss per epoch and the accuracy
//! on fresh points, and fails if the loss did not fall or the accuracy stays below 90 %.
//!
//! `cargo run -p edgeml-core --example mlp_static_buffer`

use std::sync::Mutex;

use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{self, Activation, Loss, Optimizer, Targets, Topology, TrainConfig};
use edgeml_core::rng::Rng;

const SIZES: [usize; 3] = [2, 16, 3];
const BATCH: usize = 16;
/// Adam keeps two state slots per parameter.
const STATE_SLOTS: usize = 2;
/// Model, gradients, optimizer state and activations, all in one array.
const WORKSPACE_LEN: usize = nn::workspace_len(&SIZES, false, BATCH, STATE_SLOTS, false);
/// Scratch of one inference row.
const SCRATCH_LEN: usize = nn::inference_scratch_len(&SIZES, 1);

static WORKSPACE: Mutex<[f32; WORKSPACE_LEN]> = Mutex::new([0.0; WORKSPACE_LEN]);

const CENTRES: [[f32; 2]; 3] = [[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]];
const ROWS: usize = 480;
const EPOCHS: usize = 10;

/// `rows` points, one blob after another in turn, unit-variance noise around each centre.
fn blobs(rng: &mut Rng, rows: usize) -> (Vec<f32>, Vec<u32>) {
    let mut x = Vec::with_capacity(rows * 2);
    let mut y = Vec::with_capacity(rows);
    for i in 0..rows {
        let class = i % CENTRES.len();
        x.push(CENTRES[class][0] + rng.normal());
        x.push(CENTRES[class][1] + rng.normal());
        y.push(class as u32);
    }
    (x, y)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "workspace: {WORKSPACE_LEN} f32 ({} bytes)",
        WORKSPACE_LEN * 4
    );
    let mut rng = Rng::new(11);
    let (x, y) = blobs(&mut rng, ROWS);

    let mut workspace = WORKSPACE.lock().map_err(|_| "workspace lock poisoned")?;
    let topology = Topology::new(&SIZES, &[Activation::Tanh, Activation::Identity])?;
    let config = TrainConfig::new(BATCH, Loss::SoftmaxCrossEntropy, Optimizer::adam(0.02));
    let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut workspace[..])?;
    mlp.init(&mut rng);

    let mut order: Vec<u32> = (0..ROWS as u32).collect();
    let mut batch_x = [0.0f32; BATCH * 2];
    let mut batch_y = [0u32; BATCH];
    let mut losses = Vec::with_capacity(EPOCHS);
    for epoch in 1..=EPOCHS {
        rng.shuffle(&mut order);
        let mut total = 0.0f32;
        for chunk in order.chunks(BATCH) {
            for (slot, &row) in chunk.iter().enumerate() {
                let row = row as usize;
                batch_x[slot * 2..slot * 2 + 2].copy_from_slice(&x[row * 2..row * 2 + 2]);
                batch_y[slot] = y[row];
            }
            let rows = chunk.len();
            let targets = Targets::Classes(&batch_y[..rows]);
            let report = trainer.step(&mut mlp, &batch_x[..rows * 2], targets, &mut rng)?;
            total += report.loss * rows as f32;
        }
        let mean = total / ROWS as f32;
        println!("epoch {epoch:2}: mean loss {mean:.4}");
        losses.push(mean);
    }

    let (test_x, test_y) = blobs(&mut rng, 300);
    let mut scratch = [0.0f32; SCRATCH_LEN];
    let mut logits = [0.0f32; 3];
    let mut correct = 0usize;
    for (point, &label) in test_x.chunks_exact(2).zip(&test_y) {
        mlp.forward(Dispatch::PORTABLE, point, &mut scratch, &mut logits)?;
        let class = (0..3).fold(0, |best, c| if logits[c] > logits[best] { c } else { best });
        correct += usize::from(class as u32 == label);
    }
    let accuracy = correct as f64 / test_y.len() as f64;
    println!(
        "test accuracy {:.1} % on {} new points",
        100.0 * accuracy,
        test_y.len()
    );
    if losses.last() >= losses.first() || accuracy < 0.9 {
        return Err("training did not converge".into());
    }
    Ok(())
}
