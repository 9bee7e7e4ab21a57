//! [`Points`]: a validated row-major `rows × cols` matrix of finite f32 features.

use crate::error::{ensure_finite, Error, Result};
use crate::tensor::TensorView;

/// Row-major `rows × cols` training or query points: at least one row and one column, every
/// value finite.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> Points<'a> {
    /// Points over `data` (`rows × cols`, row-major). `Err(ShapeMismatch)` when
    /// `data.len() != rows * cols`, `Err(Empty)` for zero rows or columns, `Err(NonFinite)` at
    /// the first NaN or infinity.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        let len = rows.checked_mul(cols).ok_or(Error::SizeOverflow)?;
        if data.len() != len {
            return Err(Error::ShapeMismatch {
                expected: len,
                found: data.len(),
            });
        }
        if len == 0 {
            return Err(Error::Empty);
        }
        ensure_finite(data)?;
        Ok(Points { data, rows, cols })
    }

    /// Points over a contiguous rank-2 view (`[rows, cols]`); `Err(WrongRank)` for other
    /// ranks, `Err(InvalidParameter)` for a strided view, otherwise as [`Points::new`].
    pub fn from_view(view: TensorView<'a, f32>) -> Result<Self> {
        let (rows, cols) = view.shape().as_matrix()?;
        let data = view.as_slice().ok_or(Error::InvalidParameter {
            name: "points view (must be contiguous row-major)",
        })?;
        Self::new(data, rows, cols)
    }

    /// Number of points.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Features per point.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major values, `rows * cols` long.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i` (`cols` values), or `None` past the last row.
    pub fn row(&self, i: usize) -> Option<&'a [f32]> {
        let start = i.checked_mul(self.cols)?;
        self.data.get(start..start.checked_add(self.cols)?)
    }

    /// Iterator over the rows in order.
    pub fn iter_rows(&self) -> core::slice::ChunksExact<'a, f32> {
        self.data.chunks_exact(self.cols)
    }
}
