//! Tiled shared-memory GEMM: C ← α·A·B + β·C on row-major f32 A (m×k), B (k×n), C (m×n),
//! the GPU counterpart of `edgeml_core::kernels::gemm::gemm_reference` (β = 0 overwrites C).

use std::time::{Duration, Instant};

use crate::device::Gpu;
use crate::error::GpuError;

/// Edge of the C tile computed by one workgroup (must match `TILE` in gemm.wgsl).
const TILE: u32 = 64;
/// Invocations per workgroup (16×16, `@workgroup_size` in gemm.wgsl).
const INVOCATIONS: u32 = 256;
/// Workgroup memory used by the A and B slabs: 2 × 1024 f32.
const WORKGROUP_BYTES: u32 = 2 * 1024 * 4;

/// Uniform block matching `Params` in gemm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    k: u32,
    n: u32,
    pad0: u32,
    alpha: f32,
    beta: f32,
    pad1: f32,
    pad2: f32,
}

/// Time of one dispatch: host wall clock until the queue drained, and the device's own
/// measurement from timestamp queries where the adapter supports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComputeTiming {
    /// Submitting the dispatch and waiting for the queue to drain.
    pub wall: Duration,
    /// Duration between the compute pass's begin and end timestamps, if supported.
    pub device: Option<Duration>,
}

/// Split of one GEMM: host→device copies, the dispatch, and device→host copy of C.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GemmTiming {
    /// Writing A, B and C into device buffers, waited for.
    pub upload: Duration,
    /// The dispatch (wall clock and, where supported, device timestamps).
    pub compute: ComputeTiming,
    /// Copying C to a staging buffer, mapping it and copying into the host slice.
    pub readback: Duration,
}

/// Timestamp query set plus the buffers that carry its two ticks back to the host.
struct Timer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
}

/// Bytes of the two resolved u64 timestamps.
const TIMER_BYTES: u64 = 16;

impl Timer {
    /// Creates the timer when the device supports timestamp queries.
    fn new(gpu: &Gpu) -> Option<Timer> {
        if !gpu.has_timestamps() {
            return None;
        }
        let buffer = |label, usage| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: TIMER_BYTES,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(Timer {
            queries: gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("gemm timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolve: buffer(
                "gemm timestamp resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            read: buffer(
                "gemm timestamp read",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        })
    }

    /// Reads the resolved ticks back and converts their difference to a duration.
    fn elapsed(&self, gpu: &Gpu) -> Result<Duration, GpuError> {
        let ticks = gpu.read_mapped(&self.read, TIMER_BYTES, |bytes| {
            let mut t = bytes
                .chunks_exact(8)
                .map(|c| c.try_into().map_or(0, u64::from_ne_bytes));
            let begin = t.next().unwrap_or(0);
            t.next().unwrap_or(0).saturating_sub(begin)
        })?;
        let nanos = ticks as f64 * f64::from(gpu.queue.get_timestamp_period());
        Ok(Duration::from_secs_f64(nanos * 1e-9))
    }
}

/// The compiled gemm compute pipeline, created once per [`Gpu`].
pub(crate) struct GemmPipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl GemmPipeline {
    /// Checks the workgroup limits and compiles gemm.wgsl.
    pub(crate) fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Result<Self, GpuError> {
        if limits.max_compute_invocations_per_workgroup < INVOCATIONS
            || limits.max_compute_workgroup_size_x < 16
            || limits.max_compute_workgroup_size_y < 16
        {
            return Err(GpuError::Limit(format!(
                "gemm needs 16×16 = {INVOCATIONS} invocations per workgroup, adapter allows {} \
                 ({}×{})",
                limits.max_compute_invocations_per_workgroup,
                limits.max_compute_workgroup_size_x,
                limits.max_compute_workgroup_size_y
            )));
        }
        if limits.max_compute_workgroup_storage_size < WORKGROUP_BYTES {
            return Err(GpuError::Limit(format!(
                "gemm needs {WORKGROUP_BYTES} bytes of workgroup memory, adapter allows {}",
                limits.max_compute_workgroup_storage_size
            )));
        }
        let pipeline = Gpu::scoped(device, || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("gemm.wgsl"),
                source: wgpu::ShaderSource::Wgsl(include_str!("gemm.wgsl").into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("gemm"),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        })
        .map_err(|e| GpuError::Shader(e.to_string()))?;
        let layout = pipeline.get_bind_group_layout(0);
        Ok(GemmPipeline { pipeline, layout })
    }
}

/// Device-resident buffers and bind group for one GEMM shape, for repeated runs (benchmarks):
/// [`upload`](Self::upload) once, [`run`](Self::run) many times, [`readback`](Self::readback).
/// Each call holds the [`Gpu`]'s lock, so plans may be used from several threads; dropping a
/// plan does not take it (wgpu's GL backend may then time out waiting for its context while
/// another thread runs a long dispatch).
pub struct GemmPlan<'g> {
    gpu: &'g Gpu,
    m: usize,
    k: usize,
    n: usize,
    a: wgpu::Buffer,
    b: wgpu::Buffer,
    c: wgpu::Buffer,
    staging: wgpu::Buffer,
    params: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    timer: Option<Timer>,
}

/// `rows·cols` as a u32-indexable element count, or `ShapeOverflow`.
fn elements(rows: usize, cols: usize, shape: (usize, usize, usize)) -> Result<usize, GpuError> {
    let overflow = || GpuError::ShapeOverflow {
        m: shape.0,
        k: shape.1,
        n: shape.2,
    };
    let count = rows.checked_mul(cols).ok_or_else(overflow)?;
    u32::try_from(count).map_err(|_| overflow())?;
    Ok(count)
}

/// Bytes for `count` f32 (at least one element: zero-sized bindings are invalid), checked
/// against the adapter's buffer and binding limits.
pub(crate) fn buffer_bytes(
    what: &'static str,
    count: usize,
    limits: &wgpu::Limits,
) -> Result<u64, GpuError> {
    let needed = (count.max(1) as u64).saturating_mul(4);
    let limit = limits
        .max_buffer_size
        .min(limits.max_storage_buffer_binding_size);
    if needed > limit {
        return Err(GpuError::TooLarge {
            what,
            needed,
            limit,
        });
    }
    Ok(needed)
}

/// Binds a whole buffer at `binding`.
pub(crate) fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Checks that `got` elements were supplied where the shape needs `expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), GpuError> {
    if expected == got {
        Ok(())
    } else {
        Err(GpuError::Length {
            what,
            expected,
            got,
        })
    }
}

impl<'g> GemmPlan<'g> {
    /// Allocates device buffers for A (m×k), B (k×n) and C (m×n); errors if the shape
    /// overflows u32 indexing or exceeds the adapter's buffer or dispatch limits.
    pub fn new(gpu: &'g Gpu, m: usize, k: usize, n: usize) -> Result<Self, GpuError> {
        let _serial = gpu.exclusive();
        Self::new_unlocked(gpu, m, k, n)
    }

    /// [`Self::new`] for a caller that already holds [`Gpu::exclusive`].
    fn new_unlocked(gpu: &'g Gpu, m: usize, k: usize, n: usize) -> Result<Self, GpuError> {
        let shape = (m, k, n);
        let limits = &gpu.limits;
        let a_bytes = buffer_bytes("A", elements(m, k, shape)?, limits)?;
        let b_bytes = buffer_bytes("B", elements(k, n, shape)?, limits)?;
        let c_bytes = buffer_bytes("C", elements(m, n, shape)?, limits)?;
        let groups_x = n.div_ceil(TILE as usize);
        let groups_y = m.div_ceil(TILE as usize);
        let max_groups = limits.max_compute_workgroups_per_dimension as usize;
        if groups_x > max_groups || groups_y > max_groups {
            return Err(GpuError::Limit(format!(
                "gemm {m}×{k}×{n} needs {groups_x}×{groups_y} workgroups, adapter allows \
                 {max_groups} per dimension"
            )));
        }
        let device = &gpu.device;
        let storage = |label, size, extra| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | extra,
                mapped_at_creation: false,
            })
        };
        Gpu::scoped(device, || {
            let a = storage("gemm A", a_bytes, wgpu::BufferUsages::empty());
            let b = storage("gemm B", b_bytes, wgpu::BufferUsages::empty());
            let c = storage("gemm C", c_bytes, wgpu::BufferUsages::COPY_SRC);
            let staging = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gemm C staging"),
                size: c_bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let params = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gemm params"),
                size: std::mem::size_of::<Params>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("gemm bind group"),
                layout: &gpu.gemm.layout,
                entries: &[entry(0, &params), entry(1, &a), entry(2, &b), entry(3, &c)],
            });
            GemmPlan {
                gpu,
                m,
                k,
                n,
                a,
                b,
                c,
                staging,
                params,
                bind_group,
                timer: Timer::new(gpu),
            }
        })
    }

    /// Copies A (m·k), B (k·n) and C (m·n, read when β ≠ 0) to the device and waits;
    /// returns the time taken.
    pub fn upload(&self, a: &[f32], b: &[f32], c: &[f32]) -> Result<Duration, GpuError> {
        let _serial = self.gpu.exclusive();
        self.upload_unlocked(a, b, c)
    }

    /// [`Self::upload`] for a caller that already holds [`Gpu::exclusive`].
    fn upload_unlocked(&self, a: &[f32], b: &[f32], c: &[f32]) -> Result<Duration, GpuError> {
        check_len("A", self.m * self.k, a.len())?;
        check_len("B", self.k * self.n, b.len())?;
        check_len("C", self.m * self.n, c.len())?;
        let start = Instant::now();
        let queue = &self.gpu.queue;
        for (buffer, data) in [(&self.a, a), (&self.b, b), (&self.c, c)] {
            if !data.is_empty() {
                queue.write_buffer(buffer, 0, bytemuck::cast_slice(data));
            }
        }
        queue.submit([]);
        self.gpu.wait()?;
        Ok(start.elapsed())
    }

    /// Runs C ← α·A·B + β·C on the resident buffers (so repeated runs with β ≠ 0 accumulate)
    /// and waits for the queue; returns dispatch-to-idle wall time and, where supported, the
    /// device's timestamp duration. Empty C dispatches nothing.
    pub fn run(&self, alpha: f32, beta: f32) -> Result<ComputeTiming, GpuError> {
        let _serial = self.gpu.exclusive();
        self.run_unlocked(alpha, beta)
    }

    /// [`Self::run`] for a caller that already holds [`Gpu::exclusive`].
    fn run_unlocked(&self, alpha: f32, beta: f32) -> Result<ComputeTiming, GpuError> {
        let start = Instant::now();
        if self.m == 0 || self.n == 0 {
            return Ok(ComputeTiming::default());
        }
        let gpu = self.gpu;
        let params = Params {
            m: self.m as u32,
            k: self.k as u32,
            n: self.n as u32,
            pad0: 0,
            alpha,
            beta,
            pad1: 0.0,
            pad2: 0.0,
        };
        Gpu::scoped(&gpu.device, || {
            gpu.queue
                .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("gemm"),
                });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gemm"),
                    timestamp_writes: self.timer.as_ref().map(|t| {
                        wgpu::ComputePassTimestampWrites {
                            query_set: &t.queries,
                            beginning_of_pass_write_index: Some(0),
                            end_of_pass_write_index: Some(1),
                        }
                    }),
                });
                pass.set_pipeline(&gpu.gemm.pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.dispatch_workgroups(
                    self.n.div_ceil(TILE as usize) as u32,
                    self.m.div_ceil(TILE as usize) as u32,
                    1,
                );
            }
            if let Some(t) = &self.timer {
                encoder.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
                encoder.copy_buffer_to_buffer(&t.resolve, 0, &t.read, 0, TIMER_BYTES);
            }
            gpu.queue.submit([encoder.finish()]);
        })?;
        gpu.wait()?;
        let wall = start.elapsed();
        let device = match &self.timer {
            Some(t) => Some(t.elapsed(gpu)?),
            None => None,
        };
        Ok(ComputeTiming { wall, device })
    }

    /// Copies the device's C (m·n) into `c` and returns the time taken.
    pub fn readback(&self, c: &mut [f32]) -> Result<Duration, GpuError> {
        let _serial = self.gpu.exclusive();
        self.readback_unlocked(c)
    }

    /// [`Self::readback`] for a caller that already holds [`Gpu::exclusive`].
    fn readback_unlocked(&self, c: &mut [f32]) -> Result<Duration, GpuError> {
        check_len("C", self.m * self.n, c.len())?;
        let start = Instant::now();
        if c.is_empty() {
            return Ok(start.elapsed());
        }
        let gpu = self.gpu;
        let bytes = std::mem::size_of_val(c) as u64;
        Gpu::scoped(&gpu.device, || {
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("gemm readback"),
                });
            encoder.copy_buffer_to_buffer(&self.c, 0, &self.staging, 0, bytes);
            gpu.queue.submit([encoder.finish()]);
        })?;
        gpu.read_mapped(&self.staging, bytes, |view| {
            c.copy_from_slice(bytemuck::cast_slice(view));
        })?;
        Ok(start.elapsed())
    }
}

impl Gpu {
    /// C ← α·A·B + β·C for row-major A (m×k), B (k×n), C (m×n), through freshly allocated
    /// device buffers (see [`GemmPlan`] to keep them resident). β = 0 overwrites C. Wrong slice
    /// lengths are errors; an empty C or k = 0 is handled on the host without a dispatch.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the BLAS-style gemm contract of edgeml-core"
    )]
    pub fn gemm(
        &self,
        alpha: f32,
        a: &[f32],
        b: &[f32],
        beta: f32,
        c: &mut [f32],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<GemmTiming, GpuError> {
        let shape = (m, k, n);
        check_len("A", elements(m, k, shape)?, a.len())?;
        check_len("B", elements(k, n, shape)?, b.len())?;
        check_len("C", elements(m, n, shape)?, c.len())?;
        if c.is_empty() {
            return Ok(GemmTiming::default());
        }
        if k == 0 {
            let start = Instant::now();
            for x in c.iter_mut() {
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
            return Ok(GemmTiming {
                compute: ComputeTiming {
                    wall: start.elapsed(),
                    device: None,
                },
                ..GemmTiming::default()
            });
        }
        let serial = self.exclusive();
        let plan = GemmPlan::new_unlocked(self, m, k, n)?;
        let upload = plan.upload_unlocked(a, b, c)?;
        let compute = plan.run_unlocked(alpha, beta)?;
        let readback = plan.readback_unlocked(c)?;
        // Free the buffers before other threads may use the device again.
        drop(plan);
        drop(serial);
        Ok(GemmTiming {
            upload,
            compute,
            readback,
        })
    }
}
