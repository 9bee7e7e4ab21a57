//! The compact byte format of a [`Model`], all integers and floats little-endian:
//!
//! ```text
//! offset  size       field
//! 0       4          magic "EMLT"
//! 4       2          version (2; 1 is still read)
//! 6       1          kind code (ModelKind::code)
//! 7       1          reserved, 0
//! 8       4          n_features
//! 12      4          n_outputs
//! 16      4          n_trees
//! 20      4          n_nodes
//! 24      4·B        base scores (B = n_outputs for boosted kinds, else 0)
//! ..      4·n_trees  first node of each tree
//! ..      12·n_nodes nodes: feature u32, value f32, left u32 (bit 31: missing goes left)
//! ..      4          CRC-32 (IEEE) of every byte before it
//! ```
//!
//! Version 2 added the default-left flag (bit 31 of `left`, [`super::node::DEFAULT_LEFT`]);
//! version 1 models have no such flag, so a version-1 file with the bit set is corrupt, and
//! their missing values go right.
//!
//! Loading checks, in order: magic, version, lengths against the header, checksum, then the
//! model's structure ([`Model::new`]); any failure is `Error::Corrupt`.

use super::model::{Model, ModelKind};
use super::node::Node;
use crate::{Error, Result};

/// File magic.
pub const MAGIC: [u8; 4] = *b"EMLT";
/// Format version written (and the newest accepted).
pub const VERSION: u16 = 2;
/// Oldest version accepted (no default-left flags).
pub const VERSION_NO_FLAGS: u16 = 1;
const HEADER_LEN: usize = 24;
const NODE_LEN: usize = 12;

/// The shape fields of a serialized model, enough to size the buffers [`load`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version ([`VERSION_NO_FLAGS`] or [`VERSION`]).
    pub version: u16,
    /// How outputs combine.
    pub kind: ModelKind,
    /// Features per input row.
    pub n_features: usize,
    /// Scores per row.
    pub n_outputs: usize,
    /// Trees (length of the roots buffer).
    pub n_trees: usize,
    /// Nodes (length of the node buffer).
    pub n_nodes: usize,
    /// Base scores (length of the base buffer).
    pub n_base: usize,
}

const fn corrupt(reason: &'static str) -> Error {
    Error::Corrupt { reason }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn body_len(n_base: usize, n_trees: usize, n_nodes: usize) -> Option<usize> {
    let words = n_base.checked_add(n_trees)?.checked_mul(4)?;
    HEADER_LEN
        .checked_add(words)?
        .checked_add(n_nodes.checked_mul(NODE_LEN)?)
}

/// Bytes [`save`] writes for `model`.
pub fn serialized_len(model: &Model<'_>) -> Result<usize> {
    body_len(model.base().len(), model.n_trees(), model.nodes().len())
        .and_then(|b| b.checked_add(4))
        .ok_or(Error::SizeOverflow)
}

struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.at..self.at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.at += bytes.len();
    }

    fn u32(&mut self, v: usize) -> Result<()> {
        let v = u32::try_from(v).map_err(|_| Error::SizeOverflow)?;
        self.put(&v.to_le_bytes());
        Ok(())
    }
}

/// Writes `model` to the front of `out`, returning the bytes written
/// (`BufferTooSmall` when `out` is shorter than [`serialized_len`]).
pub fn save(model: &Model<'_>, out: &mut [u8]) -> Result<usize> {
    let len = serialized_len(model)?;
    let out = super::prefix_mut(out, len)?;
    let mut w = Writer { out, at: 0 };
    w.put(&MAGIC);
    w.put(&VERSION.to_le_bytes());
    w.put(&[model.kind().code(), 0]);
    w.u32(model.n_features())?;
    w.u32(model.n_outputs())?;
    w.u32(model.n_trees())?;
    w.u32(model.nodes().len())?;
    for b in model.base() {
        w.put(&b.to_le_bytes());
    }
    for &r in model.roots() {
        w.put(&r.to_le_bytes());
    }
    for node in model.nodes() {
        w.put(&node.feature.to_le_bytes());
        w.put(&node.value.to_le_bytes());
        w.put(&node.left.to_le_bytes());
    }
    let crc = crc32(w.out.get(..w.at).unwrap_or(&[]));
    w.put(&crc.to_le_bytes());
    Ok(len)
}

fn word(bytes: &[u8], at: usize) -> Result<[u8; 4]> {
    bytes
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or(corrupt("truncated"))
}

fn read_u32(bytes: &[u8], at: usize) -> Result<usize> {
    Ok(u32::from_le_bytes(word(bytes, at)?) as usize)
}

/// Reads and checks the header of `bytes`: magic, version, kind, and that the length matches
/// the shapes exactly and the checksum is right.
pub fn header(bytes: &[u8]) -> Result<Header> {
    if bytes.get(..4) != Some(&MAGIC[..]) {
        return Err(corrupt("bad magic"));
    }
    let version = bytes
        .get(4..6)
        .map(|v| u16::from_le_bytes([v[0], v[1]]))
        .ok_or(corrupt("truncated"))?;
    if !(VERSION_NO_FLAGS..=VERSION).contains(&version) {
        return Err(corrupt("unsupported version"));
    }
    let kind = bytes
        .get(6)
        .and_then(|&c| ModelKind::from_code(c))
        .ok_or(corrupt("unknown model kind"))?;
    if bytes.get(7) != Some(&0) {
        return Err(corrupt("reserved byte set"));
    }
    let n_features = read_u32(bytes, 8)?;
    let n_outputs = read_u32(bytes, 12)?;
    let n_trees = read_u32(bytes, 16)?;
    let n_nodes = read_u32(bytes, 20)?;
    let n_base = if kind.has_base() { n_outputs } else { 0 };
    let body = body_len(n_base, n_trees, n_nodes).ok_or(corrupt("sizes overflow"))?;
    if body.checked_add(4) != Some(bytes.len()) {
        return Err(corrupt("length disagrees with header"));
    }
    let stored = u32::from_le_bytes(word(bytes, body)?);
    if crc32(bytes.get(..body).unwrap_or(&[])) != stored {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(Header {
        version,
        kind,
        n_features,
        n_outputs,
        n_trees,
        n_nodes,
        n_base,
    })
}

fn buffer<T>(buf: &mut [T], needed: usize) -> Result<&mut [T]> {
    let capacity = buf.len();
    buf.get_mut(..needed).ok_or(Error::CapacityExceeded {
        requested: needed,
        capacity,
    })
}

/// Loads a model from `bytes` into caller buffers (at least [`Header`]'s `n_nodes`,
/// `n_trees`, `n_base` entries; `CapacityExceeded` otherwise) and validates it.
pub fn load<'a>(
    bytes: &[u8],
    nodes: &'a mut [Node],
    roots: &'a mut [u32],
    base: &'a mut [f32],
) -> Result<Model<'a>> {
    let h = header(bytes)?;
    let nodes = buffer(nodes, h.n_nodes)?;
    let roots = buffer(roots, h.n_trees)?;
    let base = buffer(base, h.n_base)?;
    let mut at = HEADER_LEN;
    for b in base.iter_mut() {
        *b = f32::from_le_bytes(word(bytes, at)?);
        at += 4;
    }
    for r in roots.iter_mut() {
        *r = u32::from_le_bytes(word(bytes, at)?);
        at += 4;
    }
    for node in nodes.iter_mut() {
        *node = Node {
            feature: u32::from_le_bytes(word(bytes, at)?),
            value: f32::from_le_bytes(word(bytes, at + 4)?),
            left: u32::from_le_bytes(word(bytes, at + 8)?),
        };
        at += NODE_LEN;
    }
    if h.version == VERSION_NO_FLAGS && nodes.iter().any(|n| n.default_left()) {
        return Err(corrupt("default-left flag in a version-1 model"));
    }
    if roots.windows(2).any(|w| w[0] >= w[1]) {
        return Err(corrupt("tree offsets not increasing"));
    }
    Model::new(h.kind, h.n_features, h.n_outputs, nodes, roots, base).map_err(|e| match e {
        Error::Corrupt { .. } => e,
        _ => corrupt("invalid model"),
    })
}
