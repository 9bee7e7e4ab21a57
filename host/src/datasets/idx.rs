//! IDX files (the MNIST / Fashion-MNIST format), raw or gzipped: big-endian u32 magic
//! (0x00000803 images, 0x00000801 labels), big-endian u32 dimensions, then u8 data.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use ndarray::Array2;

use super::config::Source;
use super::{DataConfig, DataError, Dataset, Split, Targets};

/// Magic number of an IDX file of u8 images (`n × rows × cols`).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of u8 labels (`n`).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of classes a label may name (labels are `0..10`).
pub const CLASSES: usize = 10;
/// Fashion-MNIST's class names, by label.
pub const FASHION_CLASSES: [&str; CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// MNIST's class names, by label.
pub const DIGIT_CLASSES: [&str; CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// The four files of an MNIST-style train/test split, without the optional `.gz`.
pub const SPLIT_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Decoded IDX images: `count` images of `rows × cols` u8 pixels, row-major.
#[derive(Clone, Debug)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// `count × rows × cols` pixels.
    pub pixels: Vec<u8>,
}

/// The file's bytes, gunzipped when they start with the gzip magic `1f 8b`. Decompression
/// stops one byte past the size the IDX header declares (magic, dimensions, then their product
/// times the element size), so a small gzip that expands far beyond its header costs no more
/// memory than the data it claims; [`parse_images`] and [`parse_labels`] then report the
/// trailing byte. A decompressed stream that does not start like an IDX header is an error.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_maybe_gz(path, raw)
}

/// [`read_maybe_gz`] on bytes already read from `path` (which names them in errors).
pub fn decode_maybe_gz(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let corrupt = |e: std::io::Error| DataError::format(path, format!("corrupt gzip stream: {e}"));
    let mut decoder = GzDecoder::new(&raw[..]);
    let mut out = Vec::new();
    (&mut decoder)
        .take(4)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    let element = match out[..] {
        [0, 0, code, _] => element_size(code),
        _ => None,
    }
    .ok_or_else(|| DataError::format(path, "gunzipped data does not start with an IDX magic"))?;
    let dims = usize::from(out[3]);
    (&mut decoder)
        .take(4 * dims as u64)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    let declared = out
        .get(4..)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
        .try_fold(element, u64::checked_mul)
        .ok_or_else(|| DataError::format(path, "IDX dimensions overflow"))?;
    (&mut decoder)
        .take(declared.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    Ok(out)
}

/// Bytes per element of an IDX type code (u8, i8, i16, i32, f32, f64).
fn element_size(code: u8) -> Option<u64> {
    match code {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// Checks the big-endian magic and returns the `dims` u32 dimensions that follow it.
fn header(path: &Path, bytes: &[u8], magic: u32, dims: usize) -> Result<Vec<usize>, DataError> {
    let needed = 4 * (1 + dims);
    let word = |i: usize| {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    if let Some(found) = word(0).filter(|&found| found != magic) {
        return Err(DataError::format(
            path,
            format!("wrong magic number 0x{found:08x}, expected 0x{magic:08x}"),
        ));
    }
    if bytes.len() < needed {
        return Err(DataError::format(
            path,
            format!(
                "truncated IDX header: expected {needed} bytes, found {}",
                bytes.len()
            ),
        ));
    }
    Ok((1..=dims).filter_map(word).map(|d| d as usize).collect())
}

/// Checks that `payload` holds exactly `expected` bytes after a `header_len`-byte header.
fn check_payload(
    path: &Path,
    bytes: &[u8],
    header_len: usize,
    expected: usize,
) -> Result<(), DataError> {
    let found = bytes.len() - header_len;
    if found < expected {
        return Err(DataError::format(
            path,
            format!("truncated data: expected {expected} bytes after the header, found {found}"),
        ));
    }
    if found > expected {
        return Err(DataError::format(
            path,
            format!(
                "{} trailing bytes after the {expected} data bytes",
                found - expected
            ),
        ));
    }
    Ok(())
}

/// Parses an IDX images file's (decompressed) bytes; `path` names it in errors.
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<Images, DataError> {
    let dims = header(path, bytes, IMAGES_MAGIC, 3)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::format(
            path,
            format!("empty image size {rows}×{cols}"),
        ));
    }
    let expected = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .ok_or_else(|| DataError::format(path, "image dimensions overflow"))?;
    check_payload(path, bytes, 16, expected)?;
    Ok(Images {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an IDX labels file's (decompressed) bytes, checking every label is below 10.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let dims = header(path, bytes, LABELS_MAGIC, 1)?;
    check_payload(path, bytes, 8, dims[0])?;
    let labels = bytes[8..].to_vec();
    if let Some((i, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= CLASSES)
    {
        return Err(DataError::format(
            path,
            format!("label {label} at index {i} is out of range (must be below {CLASSES})"),
        ));
    }
    Ok(labels)
}

/// Loads an images file and its labels file into a dataset of pixels scaled to `[0, 1]`
/// (`n × rows·cols` features), checking both hold the same number of examples.
pub fn load_pair(
    images_path: &Path,
    labels_path: &Path,
    class_names: &[&str],
) -> Result<Dataset, DataError> {
    let images = parse_images(images_path, &read_maybe_gz(images_path)?)?;
    let labels = parse_labels(labels_path, &read_maybe_gz(labels_path)?)?;
    if images.count != labels.len() {
        return Err(DataError::format(
            labels_path,
            format!(
                "{} labels but {} holds {} images",
                labels.len(),
                images_path.display(),
                images.count
            ),
        ));
    }
    let width = images.rows * images.cols;
    let pixels: Vec<f32> = images
        .pixels
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let features = Array2::from_shape_vec((images.count, width), pixels)
        .map_err(|e| DataError::format(images_path, e.to_string()))?;
    Ok(Dataset {
        features,
        targets: Targets::Classes(labels),
        feature_names: (0..width).map(|i| format!("pixel{i}")).collect(),
        class_names: class_names.iter().map(|s| s.to_string()).collect(),
        source: format!("{} + {}", images_path.display(), labels_path.display()),
        synthetic: false,
    })
}

/// The four split files of `source` (each `.gz` or raw) in the first folder that has them.
pub fn locate_split(config: &DataConfig, source: Source) -> Result<Vec<PathBuf>, DataError> {
    let gz: Vec<String> = SPLIT_FILES.iter().map(|f| format!("{f}.gz")).collect();
    let names: Vec<[&str; 2]> = SPLIT_FILES
        .iter()
        .zip(&gz)
        .map(|(raw, gz)| [gz.as_str(), *raw])
        .collect();
    let names: Vec<&[&str]> = names.iter().map(|n| &n[..]).collect();
    config.locate(source, &names)
}

fn load_split(config: &DataConfig, source: Source, classes: &[&str]) -> Result<Split, DataError> {
    let paths = locate_split(config, source)?;
    Ok(Split {
        train: load_pair(&paths[0], &paths[1], classes)?,
        test: load_pair(&paths[2], &paths[3], classes)?,
    })
}

/// Fashion-MNIST's 60000 training and 10000 test images (28×28 = 784 features in `[0, 1]`).
pub fn load_fashion_mnist(config: &DataConfig) -> Result<Split, DataError> {
    load_split(config, Source::FashionMnist, &FASHION_CLASSES)
}

/// MNIST's training and test digits, same layout as Fashion-MNIST.
pub fn load_mnist(config: &DataConfig) -> Result<Split, DataError> {
    load_split(config, Source::Mnist, &DIGIT_CLASSES)
}
