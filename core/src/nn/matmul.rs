//! The three products of a dense layer, over row-major buffers, in f32 or with f16/bf16
//! operands (f32 accumulation): forward `Z = X·W`, weight gradient `∂W = Xᵀ·∂Z`, input
//! gradient `∂X = ∂Z·Wᵀ`. `W` is `[inputs × outputs]`.

use crate::error::Result;
use crate::kernels::gemm::gemm_mixed;
use crate::kernels::Dispatch;
use crate::scalar::{from_f32_slice_with, BulkConvert};
use crate::tensor::{TensorView, TensorViewMut};

/// Dimensions of one layer's products for `rows` minibatch rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub rows: usize,
    pub inputs: usize,
    pub outputs: usize,
}

/// Computes the layer products; `weights` is the f32 master vector and `offset` where the
/// layer's `W` starts in it (a low-precision engine reads its own copy at the same offset).
pub(crate) trait Matmul {
    /// `z ← x·W + z` (`x`: rows×inputs, `z`: rows×outputs).
    fn forward(
        &mut self,
        d: Dispatch,
        x: &[f32],
        weights: &[f32],
        offset: usize,
        dims: Dims,
        z: &mut [f32],
    ) -> Result<()>;
    /// `gw = xᵀ·dz` (`gw`: inputs×outputs).
    fn weight_grad(
        &mut self,
        d: Dispatch,
        x: &[f32],
        dz: &[f32],
        dims: Dims,
        gw: &mut [f32],
    ) -> Result<()>;
    /// `dx = dz·Wᵀ` (`dx`: rows×inputs).
    fn input_grad(
        &mut self,
        d: Dispatch,
        dz: &[f32],
        weights: &[f32],
        offset: usize,
        dims: Dims,
        dx: &mut [f32],
    ) -> Result<()>;
}

fn slice<T>(data: &[T], start: usize, len: usize) -> Result<&[T]> {
    data.get(start..start.saturating_add(len))
        .ok_or(crate::Error::BufferTooSmall {
            needed: start.saturating_add(len),
            available: data.len(),
        })
}

fn products<S: BulkConvert>(
    d: Dispatch,
    x: &[S],
    w: &[S],
    dims: Dims,
    z: &mut [f32],
) -> Result<()> {
    let Dims {
        rows,
        inputs,
        outputs,
    } = dims;
    let a = TensorView::matrix(slice(x, 0, rows * inputs)?, rows, inputs)?;
    let b = TensorView::matrix(slice(w, 0, inputs * outputs)?, inputs, outputs)?;
    let z = z.get_mut(..rows * outputs).unwrap_or_default();
    gemm_mixed(d, 1.0, a, b, 1.0, TensorViewMut::matrix(z, rows, outputs)?)
}

fn weight_products<S: BulkConvert>(
    d: Dispatch,
    x: &[S],
    dz: &[S],
    dims: Dims,
    gw: &mut [f32],
) -> Result<()> {
    let Dims {
        rows,
        inputs,
        outputs,
    } = dims;
    let a = TensorView::matrix(slice(x, 0, rows * inputs)?, rows, inputs)?.t()?;
    let b = TensorView::matrix(slice(dz, 0, rows * outputs)?, rows, outputs)?;
    let gw = gw.get_mut(..inputs * outputs).unwrap_or_default();
    gemm_mixed(
        d,
        1.0,
        a,
        b,
        0.0,
        TensorViewMut::matrix(gw, inputs, outputs)?,
    )
}

fn input_products<S: BulkConvert>(
    d: Dispatch,
    dz: &[S],
    w: &[S],
    dims: Dims,
    dx: &mut [f32],
) -> Result<()> {
    let Dims {
        rows,
        inputs,
        outputs,
    } = dims;
    let a = TensorView::matrix(slice(dz, 0, rows * outputs)?, rows, outputs)?;
    let b = TensorView::matrix(slice(w, 0, inputs * outputs)?, inputs, outputs)?.t()?;
    let dx = dx.get_mut(..rows * inputs).unwrap_or_default();
    gemm_mixed(d, 1.0, a, b, 0.0, TensorViewMut::matrix(dx, rows, inputs)?)
}

/// All operands in f32.
pub(crate) struct Full;

impl Matmul for Full {
    fn forward(
        &mut self,
        d: Dispatch,
        x: &[f32],
        weights: &[f32],
        offset: usize,
        dims: Dims,
        z: &mut [f32],
    ) -> Result<()> {
        products(d, x, weights.get(offset..).unwrap_or_default(), dims, z)
    }
    fn weight_grad(
        &mut self,
        d: Dispatch,
        x: &[f32],
        dz: &[f32],
        dims: Dims,
        gw: &mut [f32],
    ) -> Result<()> {
        weight_products(d, x, dz, dims, gw)
    }
    fn input_grad(
        &mut self,
        d: Dispatch,
        dz: &[f32],
        weights: &[f32],
        offset: usize,
        dims: Dims,
        dx: &mut [f32],
    ) -> Result<()> {
        input_products(d, dz, weights.get(offset..).unwrap_or_default(), dims, dx)
    }
}

/// Operands rounded to `T` (f16/bf16): a copy of the weights kept by the caller in sync with
/// the master weights, and two buffers the activations and gradients are rounded into.
pub(crate) struct Reduced<'h, T> {
    pub weights: &'h [T],
    pub first: &'h mut [T],
    pub second: &'h mut [T],
}

fn narrow<'b, T: BulkConvert>(d: Dispatch, src: &[f32], dst: &'b mut [T]) -> Result<&'b [T]> {
    let len = src.len();
    let available = dst.len();
    let dst = dst.get_mut(..len).ok_or(crate::Error::BufferTooSmall {
        needed: len,
        available,
    })?;
    from_f32_slice_with(d, src, dst)?;
    Ok(dst)
}

impl<T: BulkConvert> Matmul for Reduced<'_, T> {
    fn forward(
        &mut self,
        d: Dispatch,
        x: &[f32],
        _: &[f32],
        offset: usize,
        dims: Dims,
        z: &mut [f32],
    ) -> Result<()> {
        let x = narrow(d, slice(x, 0, dims.rows * dims.inputs)?, self.first)?;
        products(
            d,
            x,
            self.weights.get(offset..).unwrap_or_default(),
            dims,
            z,
        )
    }
    fn weight_grad(
        &mut self,
        d: Dispatch,
        x: &[f32],
        dz: &[f32],
        dims: Dims,
        gw: &mut [f32],
    ) -> Result<()> {
        let x = narrow(d, slice(x, 0, dims.rows * dims.inputs)?, self.first)?;
        let dz = narrow(d, slice(dz, 0, dims.rows * dims.outputs)?, self.second)?;
        weight_products(d, x, dz, dims, gw)
    }
    fn input_grad(
        &mut self,
        d: Dispatch,
        dz: &[f32],
        _: &[f32],
        offset: usize,
        dims: Dims,
        dx: &mut [f32],
    ) -> Result<()> {
        let dz = narrow(d, slice(dz, 0, dims.rows * dims.outputs)?, self.second)?;
        input_products(
            d,
            dz,
            self.weights.get(offset..).unwrap_or_default(),
            dims,
            dx,
        )
    }
}
