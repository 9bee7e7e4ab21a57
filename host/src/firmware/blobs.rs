//! Synthetic classification data for k-NN, boosting and on-device training: `BLOB_CLASSES`
//! Gaussian blobs in `BLOB_D` dimensions with centres on a circle in the first two.

use super::dims::{BLOB_CLASSES, BLOB_D};
use edgeml_core::rng::Rng;

/// `rows × BLOB_D` features and the class of each row (class `i % BLOB_CLASSES`).
pub fn generate(rows: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(rows * BLOB_D);
    let mut y = Vec::with_capacity(rows);
    for i in 0..rows {
        let class = i % BLOB_CLASSES;
        let angle = core::f32::consts::TAU * class as f32 / BLOB_CLASSES as f32;
        for f in 0..BLOB_D {
            let centre = match f {
                0 => 1.5 * angle.cos(),
                1 => 1.5 * angle.sin(),
                _ => 0.0,
            };
            x.push(centre + rng.normal());
        }
        y.push(class as u32);
    }
    (x, y)
}
