//! Fashion-MNIST from the Debian package `dataset-fashion-mnist` (gzip'd IDX files).

use crate::Res;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

const DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Images (`n × 784` bytes) and labels of one split (`train` or `t10k`), at most `limit` rows.
pub struct Split {
    /// Pixels, row-major, 0..=255.
    pub images: Vec<u8>,
    /// Class of each image, 0..10.
    pub labels: Vec<u8>,
}

fn read_idx(name: &str, header: usize) -> Res<Vec<u8>> {
    let path = Path::new(DIR).join(name);
    let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    GzDecoder::new(&raw[..]).read_to_end(&mut bytes)?;
    if bytes.len() < header {
        return Err(format!("{}: truncated", path.display()).into());
    }
    Ok(bytes.split_off(header))
}

/// The first `limit` rows of split `prefix` (`train` or `t10k`).
pub fn load(prefix: &str, limit: usize) -> Res<Split> {
    let mut images = read_idx(&format!("{prefix}-images-idx3-ubyte.gz"), 16)?;
    let mut labels = read_idx(&format!("{prefix}-labels-idx1-ubyte.gz"), 8)?;
    let rows = limit.min(labels.len()).min(images.len() / 784);
    images.truncate(rows * 784);
    labels.truncate(rows);
    Ok(Split { images, labels })
}

/// Pixels scaled to `[0, 1]`, as the firmware scales them.
pub fn scale(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}
