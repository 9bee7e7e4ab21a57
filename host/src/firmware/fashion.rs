//! Fashion-MNIST for the firmware, as raw bytes: found and parsed by the host's loaders
//! ([`crate::datasets::idx`]), so `--fashion-mnist-dir` and `--data-dir` apply.

use super::dims::FASHION_D;
use crate::datasets::config::Source;
use crate::datasets::{idx, DataConfig};
use anyhow::{bail, Result};

/// Images (`n × 784` bytes) and labels of one split.
pub struct Split {
    /// Pixels, row-major, 0..=255.
    pub images: Vec<u8>,
    /// Class of each image, 0..10.
    pub labels: Vec<u8>,
}

/// The first `limit` rows of the training split (`test == false`) or the test split.
pub fn load(config: &DataConfig, test: bool, limit: usize) -> Result<Split> {
    let paths = idx::locate_split(config, Source::FashionMnist)?;
    let (images, labels) = if test {
        (&paths[2], &paths[3])
    } else {
        (&paths[0], &paths[1])
    };
    let images = idx::parse_images(images, &idx::read_maybe_gz(images)?)?;
    let mut labels = idx::parse_labels(labels, &idx::read_maybe_gz(labels)?)?;
    let width = images.rows * images.cols;
    if width != FASHION_D {
        bail!("Fashion-MNIST images have {width} pixels, the firmware expects {FASHION_D}");
    }
    let rows = limit.min(labels.len()).min(images.count);
    let mut pixels = images.pixels;
    pixels.truncate(rows * width);
    labels.truncate(rows);
    Ok(Split {
        images: pixels,
        labels,
    })
}

/// Pixels scaled to `[0, 1]`, as the firmware scales them.
pub fn scale(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}
