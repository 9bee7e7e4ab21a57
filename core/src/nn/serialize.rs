//! Compact little-endian model format:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `EDML` |
//! | 2 | format version (1) |
//! | 1 | dtype code ([`Dtype`]) |
//! | 1 | flags (bit 0: batch norm; other bits zero) |
//! | 2 | layer count `L` |
//! | 4·(L+1) | layer sizes (u32) |
//! | L | activation codes ([`Activation::code`]) |
//! | n·size | the model buffer (parameters, running statistics) in the dtype |
//! | 4 | CRC-32 (IEEE) of everything before |
//!
//! Loading checks the checksum first, then every field; anything inconsistent is
//! `Err(Corrupt)`, never a panic.

use crate::error::{Error, Result};
use crate::format::{self, corrupt, Reader, Writer, CHECKSUM_LEN};
use crate::nn::activation::Activation;
use crate::nn::mlp::Mlp;
use crate::nn::topology::{Topology, MAX_LAYERS};
use half::{bf16, f16};

const MAGIC: [u8; 4] = *b"EDML";
const VERSION: u16 = 1;
const FIXED_HEADER: usize = 10;

/// Storage type of the serialized weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// 4-byte IEEE single precision (bit-exact round trip).
    F32,
    /// 2-byte IEEE half precision (weights rounded to nearest).
    F16,
    /// 2-byte bfloat16 (weights rounded to nearest).
    Bf16,
}

impl Dtype {
    /// Bytes per value.
    pub const fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::Bf16 => 2,
        }
    }

    /// One-byte code in the header.
    pub const fn code(self) -> u8 {
        match self {
            Dtype::F32 => 0,
            Dtype::F16 => 1,
            Dtype::Bf16 => 2,
        }
    }

    fn from_code(code: u8) -> Option<Dtype> {
        [Dtype::F32, Dtype::F16, Dtype::Bf16]
            .into_iter()
            .find(|d| d.code() == code)
    }

    fn encode(self, value: f32, out: &mut [u8]) {
        match self {
            Dtype::F32 => out.copy_from_slice(&value.to_le_bytes()),
            Dtype::F16 => out.copy_from_slice(&f16::from_f32(value).to_le_bytes()),
            Dtype::Bf16 => out.copy_from_slice(&bf16::from_f32(value).to_le_bytes()),
        }
    }

    fn decode(self, bytes: &[u8]) -> f32 {
        match self {
            Dtype::F32 => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            Dtype::F16 => f16::from_le_bytes([bytes[0], bytes[1]]).to_f32(),
            Dtype::Bf16 => bf16::from_le_bytes([bytes[0], bytes[1]]).to_f32(),
        }
    }
}

/// Bytes [`Mlp::save`] writes for `topology` in `dtype` (`Err(SizeOverflow)` if too many).
pub fn serialized_len(topology: &Topology, dtype: Dtype) -> Result<usize> {
    let layers = topology.layers();
    let header = FIXED_HEADER + 4 * (layers + 1) + layers;
    topology
        .model_len()
        .checked_mul(dtype.size())
        .and_then(|payload| payload.checked_add(header + CHECKSUM_LEN))
        .ok_or(Error::SizeOverflow)
}

/// CRC-32 (IEEE) of `bytes`, the checksum of this format ([`crate::format::crc32`]).
pub use crate::format::crc32;

impl Mlp<'_> {
    /// Writes the model into `out` in the format above, returning the bytes written
    /// ([`serialized_len`]). Errors: `BufferTooSmall` for a short `out`, `InvalidParameter`
    /// when a layer size exceeds `u32`.
    pub fn save(&self, dtype: Dtype, out: &mut [u8]) -> Result<usize> {
        let topo = self.topology();
        let len = serialized_len(topo, dtype)?;
        let available = out.len();
        let out = out.get_mut(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            available,
        })?;
        let mut w = Writer::with_header(out, &MAGIC, VERSION);
        w.put(&[dtype.code(), u8::from(topo.batch_norm())]);
        write_layers(&mut w, topo)?;
        for &value in self.buffer() {
            if let Some(slot) = w.slot(dtype.size()) {
                dtype.encode(value, slot);
            }
        }
        w.finish();
        Ok(len)
    }
}

/// Writes the layer count (u16), the `L + 1` layer sizes (u32) and the `L` activation codes
/// of `topo`, as both MLP formats store them. Errors: `InvalidParameter` when the count
/// exceeds `u16` or a size `u32`.
pub(crate) fn write_layers(w: &mut Writer<'_>, topo: &Topology) -> Result<()> {
    let layers = u16::try_from(topo.layers()).map_err(|_| Error::InvalidParameter {
        name: "too many layers",
    })?;
    w.u16(layers);
    for &size in topo.sizes() {
        let size = u32::try_from(size).map_err(|_| Error::InvalidParameter {
            name: "layer size exceeds u32",
        })?;
        w.u32(size);
    }
    for a in topo.activations() {
        w.put(&[a.code()]);
    }
    Ok(())
}

/// Reads what [`write_layers`] writes: the layer count `L` (1..=[`MAX_LAYERS`]), the sizes
/// (first `L + 1` entries) and the activations (first `L`, each code mapped by `activation`).
/// Errors: `Corrupt` for a count out of range, a size beyond `usize`, a truncated field, or
/// what `activation` refuses.
pub(crate) fn read_layers(
    r: &mut Reader<'_>,
    activation: impl Fn(u8) -> Result<Activation>,
) -> Result<(usize, [usize; MAX_LAYERS + 1], [Activation; MAX_LAYERS])> {
    let layers = usize::from(r.u16()?);
    if layers == 0 || layers > MAX_LAYERS {
        return Err(corrupt("layer count out of range"));
    }
    let mut sizes = [0usize; MAX_LAYERS + 1];
    for size in sizes.iter_mut().take(layers + 1) {
        *size = usize::try_from(r.u32()?).map_err(|_| corrupt("layer size too large"))?;
    }
    let mut activations = [Activation::Identity; MAX_LAYERS];
    for a in activations.iter_mut().take(layers) {
        *a = activation(r.u8()?)?;
    }
    Ok((layers, sizes, activations))
}

/// Checks `bytes` (checksum, magic, version, dtype, flags, shapes, activations, length) and
/// returns the topology, the dtype and the payload. Every failure is `Err(Corrupt)`.
pub fn read_header(bytes: &[u8]) -> Result<(Topology, Dtype, &[u8])> {
    let mut r = format::open(bytes, &MAGIC, VERSION)?;
    let dtype = Dtype::from_code(r.u8()?).ok_or(corrupt("unknown dtype"))?;
    let flags = r.u8()?;
    if flags > 1 {
        return Err(corrupt("unknown flags"));
    }
    let (layers, sizes, activations) = read_layers(&mut r, |code| {
        Activation::from_code(code).ok_or(corrupt("unknown activation"))
    })?;
    let topology = Topology::new(&sizes[..=layers], &activations[..layers])
        .and_then(|t| t.with_batch_norm(flags == 1))
        .map_err(|_| corrupt("invalid layer sizes"))?;
    let expected = serialized_len(&topology, dtype).map_err(|_| corrupt("invalid layer sizes"))?;
    if expected != bytes.len() {
        return Err(corrupt("length disagrees with the header"));
    }
    Ok((topology, dtype, r.rest()))
}

impl<'w> Mlp<'w> {
    /// Loads a model saved by [`Mlp::save`] into `buffer` (at least
    /// [`Topology::model_len`] elements). Errors: `Corrupt` for bytes that fail any check
    /// (checksum, header fields, length, non-finite values), `BufferTooSmall` for a short
    /// `buffer`.
    pub fn load(bytes: &[u8], buffer: &'w mut [f32]) -> Result<Mlp<'w>> {
        let (topology, dtype, payload) = read_header(bytes)?;
        let mut mlp = Mlp::new(topology, buffer)?;
        for (value, chunk) in mlp
            .buffer_mut()
            .iter_mut()
            .zip(payload.chunks_exact(dtype.size()))
        {
            *value = dtype.decode(chunk);
            if !value.is_finite() {
                return Err(corrupt("non-finite value"));
            }
        }
        Ok(mlp)
    }
}
