//! Internal strided matrix access: a checked view taken apart into slice, sizes and strides, so
//! the attention loops index without re-validating every element.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{Shape, TensorView, TensorViewMut};

/// A rows×cols matrix over `data`; element (i, j) is `data[i * rs + j * cs]`, and the view it
/// came from guaranteed every such index is in bounds.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, S> {
    data: &'a [S],
    pub rows: usize,
    pub cols: usize,
    rs: usize,
    cs: usize,
}

fn strides_of(strides: &[usize]) -> (usize, usize) {
    (
        strides.first().copied().unwrap_or(0),
        strides.get(1).copied().unwrap_or(0),
    )
}

impl<'a, S: Scalar> Mat<'a, S> {
    /// Takes a rank-2 view apart (`Err(WrongRank)` otherwise).
    pub fn new(view: TensorView<'a, S>) -> Result<Self> {
        let (rows, cols) = view.shape().as_matrix()?;
        let (rs, cs) = strides_of(view.strides());
        Ok(Mat {
            data: view.data(),
            rows,
            cols,
            rs,
            cs,
        })
    }

    /// Element (i, j) as f32 (0 outside the matrix, which callers never ask for).
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.data
            .get(
                i.wrapping_mul(self.rs)
                    .wrapping_add(j.wrapping_mul(self.cs)),
            )
            .map_or(0.0, |v| v.to_f32())
    }

    /// Row `i` as a contiguous slice, where the columns are contiguous (column stride 1).
    #[inline]
    pub fn row_slice(&self, i: usize) -> Option<&'a [S]> {
        if self.cs != 1 {
            return None;
        }
        let start = i.checked_mul(self.rs)?;
        self.data.get(start..start.checked_add(self.cols)?)
    }

    /// `Err(NonFinite)` at the row-major index of the first NaN or infinity.
    pub fn ensure_finite(&self) -> Result<()> {
        for i in 0..self.rows {
            if let Some(row) = self.row_slice(i) {
                // Σ (x − x) is 0 for finite rows and NaN otherwise; a vectorizable pass.
                let probe: f32 = row.iter().map(|v| v.to_f32() - v.to_f32()).sum();
                if probe == 0.0 {
                    continue;
                }
            }
            for j in 0..self.cols {
                if !self.at(i, j).is_finite() {
                    return Err(Error::NonFinite {
                        index: i * self.cols + j,
                    });
                }
            }
        }
        Ok(())
    }

    /// Σ_c self(i, c) · other(j, c) over the shared column count.
    #[inline]
    pub fn dot_rows<T: Scalar>(&self, i: usize, other: &Mat<'_, T>, j: usize) -> f32 {
        (0..self.cols.min(other.cols))
            .map(|c| self.at(i, c) * other.at(j, c))
            .sum()
    }

    /// Rows `first..first + count` as a view (for gemm).
    pub fn rows_view(&self, first: usize, count: usize) -> Result<TensorView<'a, S>> {
        let start = first.checked_mul(self.rs).ok_or(Error::SizeOverflow)?;
        let data = self.data.get(start..).ok_or(Error::BufferTooSmall {
            needed: start,
            available: self.data.len(),
        })?;
        TensorView::with_strides(
            data,
            Shape::matrix(count, self.cols)?,
            [self.rs, self.cs, 0, 0],
        )
    }
}

/// A mutable f32 rows×cols matrix; element (i, j) is `data[i * rs + j * cs]`, in bounds.
pub(crate) struct MatMut<'a> {
    data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> MatMut<'a> {
    /// Takes a rank-2 mutable view apart (`Err(WrongRank)` otherwise).
    pub fn new(view: TensorViewMut<'a, f32>) -> Result<Self> {
        let (rows, cols) = view.shape().as_matrix()?;
        let (rs, cs) = strides_of(view.strides());
        Ok(MatMut {
            data: view.into_data(),
            rows,
            cols,
            rs,
            cs,
        })
    }

    /// Mutable element (i, j); `None` outside the matrix, which callers never ask for.
    #[inline]
    pub fn at_mut(&mut self, i: usize, j: usize) -> Option<&mut f32> {
        self.data.get_mut(
            i.wrapping_mul(self.rs)
                .wrapping_add(j.wrapping_mul(self.cs)),
        )
    }

    /// Element (i, j) ← `value`.
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, value: f32) {
        if let Some(slot) = self.at_mut(i, j) {
            *slot = value;
        }
    }

    /// Element (i, j) += `value`.
    #[inline]
    pub fn add(&mut self, i: usize, j: usize, value: f32) {
        if let Some(slot) = self.at_mut(i, j) {
            *slot += value;
        }
    }

    /// Every element ← `value`.
    pub fn fill(&mut self, value: f32) {
        for i in 0..self.rows {
            for j in 0..self.cols {
                self.set(i, j, value);
            }
        }
    }
}
