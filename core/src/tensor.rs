//! Tensors without allocation: a [`Shape`] of rank ≤ 4, views over caller-owned slices
//! ([`TensorView`], [`TensorViewMut`]) with element strides, and [`FixedTensor`], an owned
//! tensor on a fixed-capacity array for firmware statics.
//!
//! Strides are in elements. [`Shape::row_major_strides`] gives the default layout (last
//! dimension contiguous); a view may carry other strides (a transposed matrix, a column of a
//! matrix) as long as every reachable offset lies inside its slice, which the constructors check.

use crate::error::{Error, Result};

/// Most dimensions a [`Shape`] can have.
pub const MAX_RANK: usize = 4;

/// Dimensions of a tensor, rank 0 (a scalar) to [`MAX_RANK`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: usize,
}

impl Shape {
    /// Shape with the given dimensions; `Err(RankTooHigh)` beyond [`MAX_RANK`] and
    /// `Err(SizeOverflow)` when the product of the non-zero dimensions overflows `usize` (so an
    /// empty shape such as `[0, usize::MAX, 2]` is refused too: its row-major strides overflow).
    pub fn new(dims: &[usize]) -> Result<Self> {
        if dims.len() > MAX_RANK {
            return Err(Error::RankTooHigh {
                rank: dims.len(),
                max: MAX_RANK,
            });
        }
        let mut stored = [1usize; MAX_RANK];
        stored[..dims.len()].copy_from_slice(dims);
        let shape = Shape {
            dims: stored,
            rank: dims.len(),
        };
        shape
            .dims()
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
            .ok_or(Error::SizeOverflow)?;
        Ok(shape)
    }

    /// Shape of a `[rows, cols]` matrix.
    pub fn matrix(rows: usize, cols: usize) -> Result<Self> {
        Self::new(&[rows, cols])
    }

    /// Shape of a `[len]` vector.
    pub fn vector(len: usize) -> Self {
        Shape {
            dims: [len, 1, 1, 1],
            rank: 1,
        }
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// Size of dimension `axis`, or `Err(WrongRank)` when the shape has no such axis.
    pub fn dim(&self, axis: usize) -> Result<usize> {
        self.dims().get(axis).copied().ok_or(Error::WrongRank {
            expected: axis + 1,
            found: self.rank,
        })
    }

    /// Number of elements (1 for rank 0). Cannot overflow: [`Shape::new`] checked the product
    /// of the non-zero dimensions.
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// True when some dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row-major (C order) strides in elements: the last dimension has stride 1. A zero
    /// dimension does not zero the strides outside it (nothing is stepped along them anyway);
    /// none overflows, since [`Shape::new`] bounded the product of the non-zero dimensions.
    pub fn row_major_strides(&self) -> [usize; MAX_RANK] {
        let mut strides = [0usize; MAX_RANK];
        let mut stride = 1usize;
        for axis in (0..self.rank).rev() {
            strides[axis] = stride;
            stride = stride.saturating_mul(self.dims[axis].max(1));
        }
        strides
    }

    /// `(rows, cols)` of a rank-2 shape, or `Err(WrongRank)`.
    pub fn as_matrix(&self) -> Result<(usize, usize)> {
        if self.rank == 2 {
            Ok((self.dims[0], self.dims[1]))
        } else {
            Err(Error::WrongRank {
                expected: 2,
                found: self.rank,
            })
        }
    }

    /// Number of elements a slice must hold to back this shape with `strides`: one past the
    /// largest reachable offset (0 for an empty shape). `Err(SizeOverflow)` when
    /// `1 + Σ (dimᵢ − 1)·strideᵢ` (zero dimensions counting as one) overflows `usize`, even for
    /// an empty shape, so no index arithmetic on an accepted layout can overflow.
    pub fn extent(&self, strides: &[usize; MAX_RANK]) -> Result<usize> {
        let mut last = 0usize;
        for (&dim, &stride) in self.dims.iter().zip(strides).take(self.rank) {
            let span = dim
                .saturating_sub(1)
                .checked_mul(stride)
                .ok_or(Error::SizeOverflow)?;
            last = last.checked_add(span).ok_or(Error::SizeOverflow)?;
        }
        let end = last.checked_add(1).ok_or(Error::SizeOverflow)?;
        Ok(if self.is_empty() { 0 } else { end })
    }

    /// True when `strides` provably give every index of this shape its own element: sorted by
    /// stride, each stepped dimension's stride exceeds the largest offset reachable along the
    /// dimensions with smaller strides. Conservative (a few exotic interleavings that do not
    /// overlap are refused too); applies to empty shapes as well. Assumes [`Shape::extent`]
    /// succeeded for `strides`.
    fn strides_disjoint(&self, strides: &[usize; MAX_RANK]) -> bool {
        let mut axes = [(0usize, 0usize); MAX_RANK];
        let mut count = 0;
        for (&dim, &stride) in self.dims.iter().zip(strides).take(self.rank) {
            if dim > 1 {
                axes[count] = (stride, dim);
                count += 1;
            }
        }
        let axes = &mut axes[..count];
        axes.sort_unstable();
        let mut reach = 0usize;
        for &(stride, dim) in axes.iter() {
            if stride <= reach {
                return false;
            }
            reach = reach.saturating_add((dim - 1).saturating_mul(stride));
        }
        true
    }

    fn offset(&self, strides: &[usize; MAX_RANK], index: &[usize]) -> Result<usize> {
        if index.len() != self.rank {
            return Err(Error::WrongRank {
                expected: self.rank,
                found: index.len(),
            });
        }
        let mut offset = 0usize;
        for (axis, &i) in index.iter().enumerate() {
            if i >= self.dims[axis] {
                return Err(Error::ShapeMismatch {
                    expected: self.dims[axis],
                    found: i,
                });
            }
            offset += i * strides[axis];
        }
        Ok(offset)
    }
}

/// Read-only tensor over a caller-owned slice: `shape` with element `strides`.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    shape: Shape,
    strides: [usize; MAX_RANK],
}

impl<'a, T> TensorView<'a, T> {
    /// Row-major view of `data` as `shape`; `data.len()` must equal the element count exactly.
    pub fn new(data: &'a [T], shape: Shape) -> Result<Self> {
        if data.len() != shape.len() {
            return Err(Error::ShapeMismatch {
                expected: shape.len(),
                found: data.len(),
            });
        }
        Ok(TensorView {
            data,
            shape,
            strides: shape.row_major_strides(),
        })
    }

    /// Row-major `[rows, cols]` matrix view of `data` (`data.len() == rows * cols`).
    pub fn matrix(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, Shape::matrix(rows, cols)?)
    }

    /// View with explicit strides; `Err(BufferTooSmall)` when some index would reach past
    /// the end of `data`.
    pub fn with_strides(data: &'a [T], shape: Shape, strides: [usize; MAX_RANK]) -> Result<Self> {
        let needed = shape.extent(&strides)?;
        if data.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: data.len(),
            });
        }
        Ok(TensorView {
            data,
            shape,
            strides,
        })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Strides in elements, one per dimension.
    pub fn strides(&self) -> &[usize] {
        &self.strides[..self.shape.rank()]
    }

    /// The backing slice (the view may skip some of it when strided).
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Element at `index` (one coordinate per dimension), or an error when out of range.
    pub fn get(&self, index: &[usize]) -> Result<&'a T> {
        let offset = self.shape.offset(&self.strides, index)?;
        self.data.get(offset).ok_or(Error::BufferTooSmall {
            needed: offset + 1,
            available: self.data.len(),
        })
    }

    /// True when the view is row-major with no gaps, so [`TensorView::as_slice`] succeeds.
    pub fn is_contiguous(&self) -> bool {
        let row_major = self.shape.row_major_strides();
        // A dimension of length 1 is never stepped along, so its stride does not matter.
        (0..self.shape.rank())
            .all(|axis| self.shape.dims()[axis] == 1 || self.strides[axis] == row_major[axis])
    }

    /// The elements in row-major order as one slice, when the view is contiguous.
    pub fn as_slice(&self) -> Option<&'a [T]> {
        if self.is_contiguous() {
            self.data.get(..self.shape.len())
        } else {
            None
        }
    }

    /// Transpose of a matrix view (no copy: swaps shape and strides).
    pub fn t(&self) -> Result<Self> {
        let (rows, cols) = self.shape.as_matrix()?;
        Ok(TensorView {
            data: self.data,
            shape: Shape::matrix(cols, rows)?,
            strides: [self.strides[1], self.strides[0], 0, 0],
        })
    }

    /// Row `i` of a matrix view whose rows are contiguous (column stride 1).
    pub fn row(&self, i: usize) -> Result<&'a [T]> {
        let (rows, cols) = self.shape.as_matrix()?;
        if self.strides[1] != 1 && cols > 1 {
            return Err(Error::InvalidParameter {
                name: "row() needs a column stride of 1",
            });
        }
        if i >= rows {
            return Err(Error::ShapeMismatch {
                expected: rows,
                found: i,
            });
        }
        if cols == 0 {
            return Ok(&[]);
        }
        let start = i * self.strides[0];
        self.data
            .get(start..start + cols)
            .ok_or(Error::BufferTooSmall {
                needed: start + cols,
                available: self.data.len(),
            })
    }
}

/// Mutable tensor over a caller-owned slice: `shape` with element `strides`.
#[derive(Debug)]
pub struct TensorViewMut<'a, T> {
    data: &'a mut [T],
    shape: Shape,
    strides: [usize; MAX_RANK],
}

impl<'a, T> TensorViewMut<'a, T> {
    /// Row-major mutable view of `data` as `shape`; `data.len()` must equal the element count.
    pub fn new(data: &'a mut [T], shape: Shape) -> Result<Self> {
        if data.len() != shape.len() {
            return Err(Error::ShapeMismatch {
                expected: shape.len(),
                found: data.len(),
            });
        }
        let strides = shape.row_major_strides();
        Ok(TensorViewMut {
            data,
            shape,
            strides,
        })
    }

    /// Row-major `[rows, cols]` mutable matrix view of `data` (`data.len() == rows * cols`).
    pub fn matrix(data: &'a mut [T], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, Shape::matrix(rows, cols)?)
    }

    /// Mutable view with explicit strides. Strides must not make two indices share an element,
    /// whatever the shape (empty included): `Err(InvalidParameter)` if they might (a zero
    /// stride, or two strides that interleave, on dimensions longer than one),
    /// `Err(SizeOverflow)` when the offsets overflow `usize` and `Err(BufferTooSmall)` when an
    /// index would reach past the end of `data`.
    pub fn with_strides(
        data: &'a mut [T],
        shape: Shape,
        strides: [usize; MAX_RANK],
    ) -> Result<Self> {
        let needed = shape.extent(&strides)?;
        if !shape.strides_disjoint(&strides) {
            return Err(Error::InvalidParameter {
                name: "mutable view strides must not overlap",
            });
        }
        if data.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: data.len(),
            });
        }
        Ok(TensorViewMut {
            data,
            shape,
            strides,
        })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Strides in elements, one per dimension.
    pub fn strides(&self) -> &[usize] {
        &self.strides[..self.shape.rank()]
    }

    /// Read-only view of the same elements.
    pub fn as_view(&self) -> TensorView<'_, T> {
        TensorView {
            data: self.data,
            shape: self.shape,
            strides: self.strides,
        }
    }

    /// The backing slice, mutably.
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data
    }

    /// Row `i` of a matrix view as a mutable slice; needs a column stride of 1.
    pub fn row_mut(&mut self, i: usize) -> Result<&mut [T]> {
        let (rows, cols) = self.shape.as_matrix()?;
        if self.strides[1] != 1 && cols > 1 {
            return Err(Error::InvalidParameter {
                name: "row_mut() needs a column stride of 1",
            });
        }
        if i >= rows {
            return Err(Error::ShapeMismatch {
                expected: rows,
                found: i,
            });
        }
        if cols == 0 {
            return Ok(&mut []);
        }
        let start = i * self.strides[0];
        let available = self.data.len();
        self.data
            .get_mut(start..start + cols)
            .ok_or(Error::BufferTooSmall {
                needed: start + cols,
                available,
            })
    }

    /// Gives up the view and returns the backing slice with its full lifetime.
    pub fn into_data(self) -> &'a mut [T] {
        self.data
    }

    /// Mutable element at `index`, or an error when out of range.
    pub fn get_mut(&mut self, index: &[usize]) -> Result<&mut T> {
        let offset = self.shape.offset(&self.strides, index)?;
        let available = self.data.len();
        self.data.get_mut(offset).ok_or(Error::BufferTooSmall {
            needed: offset + 1,
            available,
        })
    }

    /// The elements in row-major order as one mutable slice, when the view is contiguous.
    pub fn as_mut_slice(&mut self) -> Option<&mut [T]> {
        if self.as_view().is_contiguous() {
            let len = self.shape.len();
            self.data.get_mut(..len)
        } else {
            None
        }
    }
}

/// Owned tensor on an array of capacity `N`: for firmware statics and stack buffers. The shape
/// may use fewer than `N` elements; the rest are kept at their initial value.
#[derive(Debug, Clone)]
pub struct FixedTensor<T, const N: usize> {
    data: [T; N],
    shape: Shape,
}

impl<T: Copy + Default, const N: usize> FixedTensor<T, N> {
    /// Tensor of `shape` filled with `T::default()`; `Err(CapacityExceeded)` when the shape
    /// needs more than `N` elements.
    pub fn zeros(shape: Shape) -> Result<Self> {
        if shape.len() > N {
            return Err(Error::CapacityExceeded {
                requested: shape.len(),
                capacity: N,
            });
        }
        Ok(FixedTensor {
            data: [T::default(); N],
            shape,
        })
    }

    /// Tensor of `shape` holding a copy of `values` (row-major, `values.len() == shape.len()`).
    pub fn from_slice(values: &[T], shape: Shape) -> Result<Self> {
        let mut tensor = Self::zeros(shape)?;
        if values.len() != shape.len() {
            return Err(Error::ShapeMismatch {
                expected: shape.len(),
                found: values.len(),
            });
        }
        tensor.data[..values.len()].copy_from_slice(values);
        Ok(tensor)
    }

    /// Changes the shape in place (contents kept in row-major order); `Err(CapacityExceeded)`
    /// when the new shape needs more than `N` elements.
    pub fn reshape(&mut self, shape: Shape) -> Result<()> {
        if shape.len() > N {
            return Err(Error::CapacityExceeded {
                requested: shape.len(),
                capacity: N,
            });
        }
        self.shape = shape;
        Ok(())
    }
}

impl<T, const N: usize> FixedTensor<T, N> {
    /// Capacity in elements.
    pub const CAPACITY: usize = N;

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The used elements, row-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data[..self.shape.len()]
    }

    /// The used elements, row-major, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let len = self.shape.len();
        &mut self.data[..len]
    }

    /// Read-only row-major view.
    pub fn view(&self) -> TensorView<'_, T> {
        TensorView {
            data: self.as_slice(),
            shape: self.shape,
            strides: self.shape.row_major_strides(),
        }
    }

    /// Mutable row-major view.
    pub fn view_mut(&mut self) -> TensorViewMut<'_, T> {
        let shape = self.shape;
        TensorViewMut {
            data: self.as_mut_slice(),
            shape,
            strides: shape.row_major_strides(),
        }
    }
}
