//! The one error type of the core: every fallible function returns `Result<T, Error>`.
//!
//! Each variant carries the sizes or positions involved, so a firmware log line says what was
//! expected and what arrived.

use core::fmt;

/// Why a core operation refused its input. Nothing in the core panics on bad input; it returns
/// one of these instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Two operands disagree in one dimension: `expected` is what the other operand (or the
    /// declared shape) implies, `found` is what was given.
    ShapeMismatch {
        /// Size implied by the other operand or the declared shape.
        expected: usize,
        /// Size actually given.
        found: usize,
    },
    /// A buffer is too short for the shape laid over it.
    BufferTooSmall {
        /// Elements the shape (with its strides) needs.
        needed: usize,
        /// Elements the buffer holds.
        available: usize,
    },
    /// A fixed-capacity container (array-backed tensor, heapless vector, workspace) cannot hold
    /// the requested number of elements.
    CapacityExceeded {
        /// Elements requested.
        requested: usize,
        /// Elements the container can hold.
        capacity: usize,
    },
    /// A shape has more dimensions than the core supports.
    RankTooHigh {
        /// Dimensions requested.
        rank: usize,
        /// Most dimensions supported ([`crate::tensor::MAX_RANK`]).
        max: usize,
    },
    /// An operation needs a particular rank (a matrix for gemm, say) and got another.
    WrongRank {
        /// Rank the operation needs.
        expected: usize,
        /// Rank given.
        found: usize,
    },
    /// A size computation (elements = product of dimensions, offsets) overflowed `usize`.
    SizeOverflow,
    /// An input that must be finite holds a NaN or an infinity at `index`.
    NonFinite {
        /// Position (flat index) of the first non-finite value.
        index: usize,
    },
    /// An operation needs at least one element (one row, one class, one sample) and got none.
    Empty,
    /// A parameter is outside its valid range (a zero k, a probability above one, ...).
    InvalidParameter {
        /// Which parameter, in the words of the function's documentation.
        name: &'static str,
    },
    /// Serialized bytes are malformed: bad magic, unsupported version, wrong checksum, lengths
    /// that disagree with the header.
    Corrupt {
        /// What was wrong, in a few words.
        reason: &'static str,
    },
    /// A kernel variant was asked for that the running CPU (as declared by the caller) lacks.
    UnsupportedKernel,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ShapeMismatch { expected, found } => {
                write!(f, "shape mismatch: expected {expected}, found {found}")
            }
            Error::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "buffer too small: needs {needed} elements, has {available}"
                )
            }
            Error::CapacityExceeded {
                requested,
                capacity,
            } => {
                write!(
                    f,
                    "capacity exceeded: {requested} requested, capacity {capacity}"
                )
            }
            Error::RankTooHigh { rank, max } => write!(f, "rank {rank} exceeds the maximum {max}"),
            Error::WrongRank { expected, found } => {
                write!(f, "wrong rank: expected {expected}, found {found}")
            }
            Error::SizeOverflow => write!(f, "size computation overflowed usize"),
            Error::NonFinite { index } => write!(f, "non-finite value at index {index}"),
            Error::Empty => write!(f, "empty input"),
            Error::InvalidParameter { name } => write!(f, "invalid parameter: {name}"),
            Error::Corrupt { reason } => write!(f, "corrupt data: {reason}"),
            Error::UnsupportedKernel => write!(f, "kernel variant not supported by this CPU"),
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for results of the core.
pub type Result<T> = core::result::Result<T, Error>;

/// Returns `Err(ShapeMismatch)` unless `found == expected`.
#[inline]
pub fn ensure_len(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch { expected, found })
    }
}

/// Returns `Err(NonFinite)` at the first NaN or infinity of `values`.
#[inline]
pub fn ensure_finite(values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { index }),
        None => Ok(()),
    }
}
