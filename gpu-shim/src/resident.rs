//! Data kept on the device across kernels: [`DeviceVec`] (a pooled `f32` storage buffer that
//! goes back to the pool when dropped) and a recorded sequence of dispatches submitted at once,
//! so a chain of kernels uploads its inputs once and reads back only at the end.

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::{check_len, entry};
use crate::kernels::launch::{grid, operand_bytes, Kernel, Role, GROUP};

/// `len` `f32` values resident in a device storage buffer taken from the [`Gpu`]'s pool.
pub struct DeviceVec<'g> {
    gpu: &'g Gpu,
    buffer: Option<wgpu::Buffer>,
    len: usize,
}

impl std::fmt::Debug for DeviceVec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceVec").field("len", &self.len).finish()
    }
}

impl Drop for DeviceVec<'_> {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.gpu.pool.give(buffer, Role::Storage);
        }
    }
}

impl<'g> DeviceVec<'g> {
    /// Number of `f32` elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device buffer (at least `4·len` bytes, rounded up to 4 and never empty).
    pub(crate) fn raw(&self) -> Result<&wgpu::Buffer, GpuError> {
        self.buffer
            .as_ref()
            .ok_or_else(|| GpuError::Device("device vector already released".into()))
    }

    /// Overwrites the first `data.len()` values (`Length` error when `data` is longer than
    /// the vector).
    pub fn write(&mut self, data: &[f32]) -> Result<(), GpuError> {
        if data.len() > self.len {
            return Err(GpuError::Length {
                what: "device vector",
                expected: self.len,
                got: data.len(),
            });
        }
        if !data.is_empty() {
            let _serial = self.gpu.exclusive();
            self.gpu
                .queue
                .write_buffer(self.raw()?, 0, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    /// Copies the contents back to the host through a pooled staging buffer, after all work
    /// submitted so far has finished.
    pub fn read(&self) -> Result<Vec<f32>, GpuError> {
        let mut out = vec![0.0f32; self.len];
        self.read_into(&mut out)?;
        Ok(out)
    }

    /// [`Self::read`] into `out` (exactly `len` values; `Length` error otherwise).
    pub fn read_into(&self, out: &mut [f32]) -> Result<(), GpuError> {
        check_len("read target", self.len, out.len())?;
        self.read_prefix(out)
    }

    /// Copies the first `out.len()` values back (`Length` error when `out` is longer than
    /// the vector).
    pub fn read_prefix(&self, out: &mut [f32]) -> Result<(), GpuError> {
        if out.len() > self.len {
            return Err(GpuError::Length {
                what: "read target",
                expected: self.len,
                got: out.len(),
            });
        }
        if out.is_empty() {
            return Ok(());
        }
        let gpu = self.gpu;
        let _serial = gpu.exclusive();
        let bytes = (out.len() as u64) * 4;
        let staging = gpu.pool.take(&gpu.device, bytes, Role::Staging);
        let source = self.raw()?;
        let outcome = Gpu::scoped(&gpu.device, || {
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("edgeml-gpu resident readback"),
                });
            encoder.copy_buffer_to_buffer(source, 0, &staging, 0, bytes);
            gpu.queue.submit([encoder.finish()]);
        })
        .and_then(|()| {
            gpu.read_mapped(&staging, bytes, |view| {
                bytemuck::cast_slice_mut(out).copy_from_slice(view)
            })
        });
        gpu.pool.give(staging, Role::Staging);
        outcome
    }
}

impl Gpu {
    /// A resident vector of `len` zeros (pooled buffer, cleared on the device).
    pub fn zeros(&self, len: usize) -> Result<DeviceVec<'_>, GpuError> {
        let v = self.alloc(len)?;
        {
            let _serial = self.exclusive();
            let buffer = v.raw()?;
            Gpu::scoped(&self.device, || {
                let mut encoder =
                    self.device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("edgeml-gpu clear"),
                        });
                encoder.clear_buffer(buffer, 0, None);
                self.queue.submit([encoder.finish()]);
            })?;
        }
        Ok(v)
    }

    /// Uploads `data` once into a resident vector of the same length.
    pub fn upload(&self, data: &[f32]) -> Result<DeviceVec<'_>, GpuError> {
        let mut v = self.alloc(data.len())?;
        v.write(data)?;
        Ok(v)
    }

    /// A resident vector of `len` values with unspecified contents (a pooled buffer).
    fn alloc(&self, len: usize) -> Result<DeviceVec<'_>, GpuError> {
        let bytes = operand_bytes((len as u64).saturating_mul(4), &self.limits)?;
        let buffer = Gpu::scoped(&self.device, || {
            self.pool.take(&self.device, bytes, Role::Storage)
        })?;
        Ok(DeviceVec {
            gpu: self,
            buffer: Some(buffer),
            len,
        })
    }

    /// y ← α·x + y on resident vectors of equal length (`Length` error otherwise); submitted
    /// without waiting, so several calls queue up before one readback.
    pub fn axpy_resident(
        &self,
        alpha: f32,
        x: &DeviceVec<'_>,
        y: &mut DeviceVec<'_>,
    ) -> Result<(), GpuError> {
        check_len("x", y.len(), x.len())?;
        let Ok(n) = u32::try_from(y.len()) else {
            return Err(GpuError::ShapeOverflow {
                m: y.len(),
                k: 1,
                n: 1,
            });
        };
        if n == 0 {
            return Ok(());
        }
        let kernel = self.kernel("axpy", include_str!("kernels/axpy.wgsl"), "main")?;
        let params = [n, alpha.to_bits(), 0, 0];
        let mut sequence = Sequence::new(self);
        sequence.pass(
            &kernel,
            bytemuck::cast_slice(&params),
            &[(1, x.raw()?), (2, y.raw()?)],
            grid(self, y.len().div_ceil(GROUP as usize))?,
        );
        sequence.submit()
    }
}

/// One recorded dispatch: pipeline, its parameter block, storage bindings and grid.
struct Recorded {
    kernel: Kernel,
    params: Vec<u8>,
    bindings: Vec<(u32, wgpu::Buffer)>,
    groups: [u32; 3],
}

/// Dispatches on resident buffers, recorded in order and submitted as one command buffer
/// (each with its own pooled uniform block); nothing waits for the device.
pub(crate) struct Sequence<'g> {
    gpu: &'g Gpu,
    passes: Vec<Recorded>,
}

impl<'g> Sequence<'g> {
    /// An empty sequence on `gpu`.
    pub(crate) fn new(gpu: &'g Gpu) -> Self {
        Sequence {
            gpu,
            passes: Vec::new(),
        }
    }

    /// Records a dispatch of `kernel` with uniform `params` at binding 0 and the given storage
    /// buffers at their bindings.
    pub(crate) fn pass(
        &mut self,
        kernel: &Kernel,
        params: &[u8],
        bindings: &[(u32, &wgpu::Buffer)],
        groups: [u32; 3],
    ) {
        self.passes.push(Recorded {
            kernel: kernel.clone(),
            params: params.to_vec(),
            bindings: bindings
                .iter()
                .map(|&(binding, buffer)| (binding, buffer.clone()))
                .collect(),
            groups,
        });
    }

    /// Writes the parameter blocks and submits every recorded dispatch in one command buffer.
    pub(crate) fn submit(self) -> Result<(), GpuError> {
        let gpu = self.gpu;
        let device = &gpu.device;
        let _serial = gpu.exclusive();
        let uniforms: Vec<wgpu::Buffer> = self
            .passes
            .iter()
            .map(|pass| {
                let bytes = (pass.params.len() as u64).next_multiple_of(16).max(16);
                let uniform = gpu.pool.take(device, bytes, Role::Uniform);
                let mut block = pass.params.clone();
                block.resize(bytes as usize, 0);
                gpu.queue.write_buffer(&uniform, 0, &block);
                uniform
            })
            .collect();
        let outcome = Gpu::scoped(device, || {
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("edgeml-gpu sequence"),
            });
            for (pass, uniform) in self.passes.iter().zip(&uniforms) {
                let mut entries = vec![entry(0, uniform)];
                entries.extend(pass.bindings.iter().map(|(b, buffer)| entry(*b, buffer)));
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("edgeml-gpu sequence"),
                    layout: &pass.kernel.layout,
                    entries: &entries,
                });
                let mut compute = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("edgeml-gpu sequence"),
                    timestamp_writes: None,
                });
                compute.set_pipeline(&pass.kernel.pipeline);
                compute.set_bind_group(0, &bind_group, &[]);
                let [x, y, z] = pass.groups;
                compute.dispatch_workgroups(x, y, z);
            }
            gpu.queue.submit([encoder.finish()]);
        });
        for uniform in uniforms {
            gpu.pool.give(uniform, Role::Uniform);
        }
        outcome
    }
}
