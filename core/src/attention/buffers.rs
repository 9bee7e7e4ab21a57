//! Slicing of flat parameter and workspace buffers, and the gemm shorthand the projected
//! layers use. Every helper returns an error instead of indexing out of range.

use core::ops::Range;

use crate::error::{Error, Result};
use crate::kernels::gemm::gemm;
use crate::kernels::Dispatch;
use crate::tensor::{TensorView, TensorViewMut};

/// Hands out consecutive ranges of a flat buffer.
pub(super) struct Cursor(pub(super) usize);

impl Cursor {
    /// The next `len` elements.
    pub(super) fn take(&mut self, len: usize) -> Result<Range<usize>> {
        let start = self.0;
        self.0 = start.checked_add(len).ok_or(Error::SizeOverflow)?;
        Ok(start..self.0)
    }
}

/// Splits `ws` into consecutive parts of the given lengths (`BufferTooSmall` if short).
pub(super) fn carve<const N: usize>(ws: &mut [f32], lens: [usize; N]) -> Result<[&mut [f32]; N]> {
    let needed = lens
        .iter()
        .try_fold(0usize, |sum, &len| sum.checked_add(len))
        .ok_or(Error::SizeOverflow)?;
    let available = ws.len();
    let mut rest = ws
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed, available })?;
    Ok(core::array::from_fn(|i| {
        let (part, tail) = core::mem::take(&mut rest).split_at_mut(lens[i]);
        rest = tail;
        part
    }))
}

/// Sum of `lens`, saturating.
pub(super) fn total(lens: &[usize]) -> usize {
    lens.iter()
        .fold(0usize, |sum, &len| sum.saturating_add(len))
}

/// `params[range]`.
pub(super) fn part<'p>(params: &'p [f32], range: &Range<usize>) -> Result<&'p [f32]> {
    params.get(range.clone()).ok_or(Error::ShapeMismatch {
        expected: range.end,
        found: params.len(),
    })
}

/// `params[range]`, mutably.
pub(super) fn part_mut<'p>(params: &'p mut [f32], range: &Range<usize>) -> Result<&'p mut [f32]> {
    let found = params.len();
    params.get_mut(range.clone()).ok_or(Error::ShapeMismatch {
        expected: range.end,
        found,
    })
}

/// Row-major rows×cols view.
pub(super) fn mat(data: &[f32], rows: usize, cols: usize) -> Result<TensorView<'_, f32>> {
    TensorView::matrix(data, rows, cols)
}

/// c (rows of a × cols of b) ← a·b + β·c.
pub(super) fn mm(
    dispatch: Dispatch,
    a: TensorView<'_, f32>,
    b: TensorView<'_, f32>,
    beta: f32,
    c: &mut [f32],
) -> Result<()> {
    let (rows, _) = a.shape().as_matrix()?;
    let (_, cols) = b.shape().as_matrix()?;
    gemm(
        dispatch,
        1.0,
        a,
        b,
        beta,
        TensorViewMut::matrix(c, rows, cols)?,
    )
}

/// Backward of y = x·W for x (rows×k) and W (k×n) given g = ∂loss/∂y (rows×n):
/// d_w (k×n) ← xᵀ·g and d_x (rows×k) ← g·Wᵀ.
pub(super) fn linear_backward(
    dispatch: Dispatch,
    (x, w): (&[f32], &[f32]),
    (rows, k, n): (usize, usize, usize),
    g: &[f32],
    d_w: &mut [f32],
    d_x: &mut [f32],
) -> Result<()> {
    let g = mat(g, rows, n)?;
    mm(dispatch, mat(x, rows, k)?.t()?, g, 0.0, d_w)?;
    mm(dispatch, g, mat(w, k, n)?.t()?, 0.0, d_x)
}
