//! Machinery shared by the vector, row and distance kernels: pipeline compilation, a pool of
//! device buffers keyed by size, and one-shot execution (upload, a sequence of passes,
//! readback) with upload, compute and readback timed separately.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::{buffer_bytes, entry, ComputeTiming, GemmTiming};

/// Upload, compute and readback times of one kernel call (the same split as a GEMM's).
pub type KernelTiming = GemmTiming;

/// Invocations per workgroup of the one-dimensional kernels (`@workgroup_size(256)`).
pub(crate) const GROUP: u32 = 256;

/// Free buffers kept per size and kind; more are dropped on return.
const KEEP_PER_SIZE: usize = 4;

/// A compiled compute pipeline and its bind group layout.
#[derive(Clone)]
pub(crate) struct Kernel {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

impl Kernel {
    /// Compiles entry point `entry` of the WGSL `source`.
    pub(crate) fn compile(
        device: &wgpu::Device,
        label: &'static str,
        source: &'static str,
        entry: &'static str,
    ) -> Result<Kernel, GpuError> {
        let pipeline = Gpu::scoped(device, || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        })
        .map_err(|e| GpuError::Shader(format!("{label}: {e}")))?;
        let layout = pipeline.get_bind_group_layout(0);
        Ok(Kernel { pipeline, layout })
    }
}

/// What a pooled buffer is used for (part of the pool key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// Storage buffer, copyable both ways.
    Storage,
    /// Host-mappable buffer for readback.
    Staging,
    /// Uniform parameter block.
    Uniform,
}

impl Role {
    fn usage(self) -> wgpu::BufferUsages {
        match self {
            Role::Storage => {
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC
            }
            Role::Staging => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            Role::Uniform => wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        }
    }
}

/// Device buffers returned after use and handed out again to calls of the same byte size, so
/// repeated kernel calls on one shape allocate nothing.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<HashMap<(u64, Role), Vec<wgpu::Buffer>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters of the buffer pool since the [`Gpu`] was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Requests served by a buffer returned earlier (no allocation).
    pub hits: u64,
    /// Requests that allocated a new device buffer.
    pub misses: u64,
    /// Buffers currently waiting for reuse.
    pub pooled: usize,
}

impl BufferPool {
    /// A free buffer of `size` bytes and the given role, or a new one.
    pub(crate) fn take(&self, device: &wgpu::Device, size: u64, role: Role) -> wgpu::Buffer {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&(size, role))
            .and_then(Vec::pop);
        let counter = if reused.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        reused.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("edgeml-gpu pooled"),
                size,
                usage: role.usage(),
                mapped_at_creation: false,
            })
        })
    }

    /// Returns a buffer for reuse.
    pub(crate) fn give(&self, buffer: wgpu::Buffer, role: Role) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = free.entry((buffer.size(), role)).or_default();
        if slot.len() < KEEP_PER_SIZE {
            slot.push(buffer);
        }
    }

    /// Number of buffers waiting for reuse.
    fn len(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(Vec::len)
            .sum()
    }
}

impl Gpu {
    /// Number of device buffers currently held by the reuse pool (for tests and diagnostics:
    /// repeating a call with the same shapes leaves it unchanged).
    pub fn pooled_buffers(&self) -> usize {
        self.pool.len()
    }

    /// Hits, misses and buffers waiting in the reuse pool: a call repeated with the same
    /// shapes adds hits only.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            hits: self.pool.hits.load(Ordering::Relaxed),
            misses: self.pool.misses.load(Ordering::Relaxed),
            pooled: self.pool.len(),
        }
    }
}

/// A storage operand of a call: host data to upload, or device scratch of a byte size.
pub(crate) enum Operand<'a> {
    /// Uploaded before the first pass.
    Input(&'a [u8]),
    /// Left uninitialised; written by a pass.
    Scratch(u64),
}

/// One dispatch: a kernel, which operand sits at which binding (binding 0 is always the
/// uniform parameter block), and the workgroup grid.
pub(crate) struct Pass<'a> {
    /// Pipeline to run.
    pub kernel: &'a Kernel,
    /// (binding, index into the operands).
    pub bindings: &'a [(u32, usize)],
    /// Workgroup counts.
    pub groups: [u32; 3],
}

/// A two-dimensional workgroup grid covering `count` workgroups within the per-dimension limit
/// (kernels linearise `wid.x + wid.y·nwg.x` and ignore the excess).
pub(crate) fn grid(gpu: &Gpu, count: usize) -> Result<[u32; 3], GpuError> {
    let max = gpu.limits.max_compute_workgroups_per_dimension as usize;
    let x = count.clamp(1, max.max(1));
    let y = count.div_ceil(x).max(1);
    if y > max {
        return Err(GpuError::Limit(format!(
            "{count} workgroups exceed the adapter's {max}×{max} grid"
        )));
    }
    Ok([x as u32, y as u32, 1])
}

/// Bytes of an operand rounded up to a multiple of 4 (at least 4), checked against the
/// adapter's buffer and binding limits.
pub(crate) fn operand_bytes(len: u64, limits: &wgpu::Limits) -> Result<u64, GpuError> {
    let count = usize::try_from(len.div_ceil(4)).map_err(|_| GpuError::TooLarge {
        what: "operand",
        needed: len,
        limit: limits.max_buffer_size,
    })?;
    buffer_bytes("operand", count, limits)
}

/// Runs `passes` in order on pooled buffers: uploads the inputs and `params`, dispatches, and
/// copies operand `result` into `out` (`out.len()` bytes, a multiple of 4). Holds the device
/// lock throughout.
pub(crate) fn execute(
    gpu: &Gpu,
    params: &[u8],
    operands: &[Operand<'_>],
    passes: &[Pass<'_>],
    result: usize,
    out: &mut [u8],
) -> Result<KernelTiming, GpuError> {
    let _serial = gpu.exclusive();
    let device = &gpu.device;
    let mut sizes = Vec::with_capacity(operands.len());
    for operand in operands {
        let len = match operand {
            Operand::Input(data) => data.len() as u64,
            Operand::Scratch(bytes) => *bytes,
        };
        sizes.push(operand_bytes(len, &gpu.limits)?);
    }
    let out_bytes = out.len() as u64;
    if sizes.get(result).is_none_or(|&size| size < out_bytes) {
        return Err(GpuError::Length {
            what: "result",
            expected: out.len(),
            got: sizes.get(result).copied().unwrap_or(0) as usize,
        });
    }
    let uniform_bytes = (params.len() as u64).next_multiple_of(16).max(16);
    let buffers: Vec<wgpu::Buffer> = Gpu::scoped(device, || {
        sizes
            .iter()
            .map(|&size| gpu.pool.take(device, size, Role::Storage))
            .collect()
    })?;
    let uniform = gpu.pool.take(device, uniform_bytes, Role::Uniform);
    let staging = gpu
        .pool
        .take(device, out_bytes.next_multiple_of(4).max(4), Role::Staging);
    let outcome = run(
        gpu, params, operands, passes, &buffers, &uniform, &staging, result, out,
    );
    for buffer in buffers {
        gpu.pool.give(buffer, Role::Storage);
    }
    gpu.pool.give(uniform, Role::Uniform);
    gpu.pool.give(staging, Role::Staging);
    outcome
}

/// The body of [`execute`] once the buffers are allocated.
#[expect(
    clippy::too_many_arguments,
    reason = "private helper splitting execute's allocation from its work"
)]
fn run(
    gpu: &Gpu,
    params: &[u8],
    operands: &[Operand<'_>],
    passes: &[Pass<'_>],
    buffers: &[wgpu::Buffer],
    uniform: &wgpu::Buffer,
    staging: &wgpu::Buffer,
    result: usize,
    out: &mut [u8],
) -> Result<KernelTiming, GpuError> {
    let device = &gpu.device;
    let queue = &gpu.queue;
    let start = Instant::now();
    for (operand, buffer) in operands.iter().zip(buffers) {
        if let Operand::Input(data) = operand {
            if !data.is_empty() {
                queue.write_buffer(buffer, 0, data);
            }
        }
    }
    let mut block = params.to_vec();
    block.resize(uniform.size() as usize, 0);
    queue.write_buffer(uniform, 0, &block);
    queue.submit([]);
    gpu.wait()?;
    let upload = start.elapsed();

    let start = Instant::now();
    Gpu::scoped(device, || -> Result<(), GpuError> {
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("edgeml-gpu kernel"),
        });
        for pass in passes {
            let mut entries = vec![entry(0, uniform)];
            for &(binding, index) in pass.bindings {
                let buffer = buffers.get(index).ok_or_else(|| {
                    GpuError::Device(format!("pass binds missing operand {index}"))
                })?;
                entries.push(entry(binding, buffer));
            }
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("edgeml-gpu kernel"),
                layout: &pass.kernel.layout,
                entries: &entries,
            });
            let mut compute = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("edgeml-gpu kernel"),
                timestamp_writes: None,
            });
            compute.set_pipeline(&pass.kernel.pipeline);
            compute.set_bind_group(0, &bind_group, &[]);
            let [x, y, z] = pass.groups;
            compute.dispatch_workgroups(x, y, z);
        }
        queue.submit([encoder.finish()]);
        Ok(())
    })??;
    gpu.wait()?;
    let compute = ComputeTiming {
        wall: start.elapsed(),
        device: None,
    };

    let start = Instant::now();
    if !out.is_empty() {
        let bytes = out.len() as u64;
        let source = buffers
            .get(result)
            .ok_or_else(|| GpuError::Device("result operand missing".into()))?;
        Gpu::scoped(device, || {
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("edgeml-gpu readback"),
            });
            encoder.copy_buffer_to_buffer(source, 0, staging, 0, bytes);
            queue.submit([encoder.finish()]);
        })?;
        gpu.read_mapped(staging, bytes, |view| out.copy_from_slice(view))?;
    }
    Ok(KernelTiming {
        upload,
        compute,
        readback: start.elapsed(),
    })
}
