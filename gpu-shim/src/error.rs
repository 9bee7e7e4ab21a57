//! Errors returned by the GPU shim (never panics on user input or missing hardware).

use thiserror::Error;

/// Everything that can go wrong between picking an adapter and reading results back.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No adapter was found on any of the backends tried.
    #[error(
        "no GPU adapter found (backends tried: {backends_tried}); install a Vulkan driver — \
         e.g. `apt install mesa-vulkan-drivers` for the lavapipe software rasterizer — \
         or choose other backends with EDGEML_GPU_BACKEND=vulkan|gl|metal|dx12|all"
    )]
    NoAdapter {
        /// The backends that were searched, e.g. "VULKAN | GL".
        backends_tried: String,
    },
    /// `EDGEML_GPU_BACKEND` holds a value that names no backend.
    #[error("EDGEML_GPU_BACKEND={0:?} is not one of vulkan, gl, metal, dx12, all")]
    InvalidBackend(String),
    /// The adapter refused to create a device.
    #[error("requesting a device from adapter `{adapter}` failed: {source}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// The wgpu error.
        source: wgpu::RequestDeviceError,
    },
    /// Shader compilation or pipeline creation failed.
    #[error("shader or pipeline creation failed: {0}")]
    Shader(String),
    /// The adapter's limits cannot run the kernel (workgroup size, shared memory, dispatch size).
    #[error("adapter limit exceeded: {0}")]
    Limit(String),
    /// A buffer would exceed the adapter's maximum buffer or binding size.
    #[error("{what} needs {needed} bytes but the adapter allows at most {limit}")]
    TooLarge {
        /// Which buffer.
        what: &'static str,
        /// Bytes required.
        needed: u64,
        /// Adapter limit in bytes.
        limit: u64,
    },
    /// A host slice has the wrong number of elements for the requested shape.
    #[error("{what} has {got} elements but the shape needs {expected}")]
    Length {
        /// Which operand.
        what: &'static str,
        /// Elements required by the shape.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// A shape product overflows `usize`/`u32`.
    #[error("shape {m}×{k}×{n} overflows the index range")]
    ShapeOverflow {
        /// Rows of A and C.
        m: usize,
        /// Inner dimension.
        k: usize,
        /// Columns of B and C.
        n: usize,
    },
    /// The input breaks the core kernel's contract (non-finite softmax input, zero k, ...);
    /// carries the error the core returns for the same input.
    #[error("invalid input: {0}")]
    Input(edgeml_core::Error),
    /// Reading a buffer back to the host failed.
    #[error("buffer mapping failed: {0}")]
    Map(String),
    /// Waiting for the device failed (device lost, timeout).
    #[error("waiting for the device failed: {0}")]
    Poll(String),
    /// wgpu reported a validation or out-of-memory error for an operation.
    #[error("device error: {0}")]
    Device(String),
}
