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
use crate::format::{self, corrupt, Reader, Writer, CHECKSUM_LEN};
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

/// CRC-32 (IEEE) of `bytes`, the checksum of this format ([`crate::format::crc32`]).
pub use crate::format::crc32;

fn body_len(n_base: usize, n_trees: usize, n_nodes: usize) -> Option<usize> {
    let words = n_base.checked_add(n_trees)?.checked_mul(4)?;
    HEADER_LEN
        .checked_add(words)?
        .checked_add(n_nodes.checked_mul(NODE_LEN)?)
}

/// Bytes [`save`] writes for `model`.
pub fn serialized_len(model: &Model<'_>) -> Result<usize> {
    body_len(model.base().len(), model.n_trees(), model.nodes().len())
        .and_then(|b| b.checked_add(CHECKSUM_LEN))
        .ok_or(Error::SizeOverflow)
}

/// Writes `v` as a `u32` (`SizeOverflow` beyond `u32::MAX`).
fn put_count(w: &mut Writer<'_>, v: usize) -> Result<()> {
    w.u32(u32::try_from(v).map_err(|_| Error::SizeOverflow)?);
    Ok(())
}

/// Writes `model` to the front of `out`, returning the bytes written
/// (`BufferTooSmall` when `out` is shorter than [`serialized_len`]).
pub fn save(model: &Model<'_>, out: &mut [u8]) -> Result<usize> {
    let len = serialized_len(model)?;
    let out = super::prefix_mut(out, len)?;
    let mut w = Writer::with_header(out, &MAGIC, VERSION);
    w.put(&[model.kind().code(), 0]);
    put_count(&mut w, model.n_features())?;
    put_count(&mut w, model.n_outputs())?;
    put_count(&mut w, model.n_trees())?;
    put_count(&mut w, model.nodes().len())?;
    for &b in model.base() {
        w.f32(b);
    }
    for &r in model.roots() {
        w.u32(r);
    }
    for node in model.nodes() {
        w.u32(node.feature);
        w.f32(node.value);
        w.u32(node.left);
    }
    w.finish();
    Ok(len)
}

/// Reads and checks the header of `bytes`: magic, version, kind, and that the length matches
/// the shapes exactly and the checksum is right.
pub fn header(bytes: &[u8]) -> Result<Header> {
    let mut r = Reader::new(bytes);
    if r.take(4).ok() != Some(&MAGIC[..]) {
        return Err(corrupt("bad magic"));
    }
    let version = r.u16()?;
    if !(VERSION_NO_FLAGS..=VERSION).contains(&version) {
        return Err(corrupt("unsupported version"));
    }
    let kind = r
        .u8()
        .ok()
        .and_then(ModelKind::from_code)
        .ok_or(corrupt("unknown model kind"))?;
    if r.u8().ok() != Some(0) {
        return Err(corrupt("reserved byte set"));
    }
    let n_features = r.u32()? as usize;
    let n_outputs = r.u32()? as usize;
    let n_trees = r.u32()? as usize;
    let n_nodes = r.u32()? as usize;
    let n_base = if kind.has_base() { n_outputs } else { 0 };
    let body = body_len(n_base, n_trees, n_nodes).ok_or(corrupt("sizes overflow"))?;
    if body.checked_add(CHECKSUM_LEN) != Some(bytes.len()) {
        return Err(corrupt("length disagrees with header"));
    }
    format::verify_checksum(bytes)?;
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
    let mut r = Reader::new(bytes.get(HEADER_LEN..).unwrap_or_default());
    for b in base.iter_mut() {
        *b = r.f32()?;
    }
    for root in roots.iter_mut() {
        *root = r.u32()?;
    }
    for node in nodes.iter_mut() {
        *node = Node {
            feature: r.u32()?,
            value: r.f32()?,
            left: r.u32()?,
        };
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
