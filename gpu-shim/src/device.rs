//! The [`Gpu`] handle: adapter selection, device creation and the cached kernel pipelines.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::GpuError;
use crate::kernels::gemm::GemmPipeline;
use crate::kernels::launch::{BufferPool, Kernel};

/// Environment variable restricting the backends searched: `vulkan`, `gl`, `metal`, `dx12` or
/// `all` (comma-separated lists are accepted).
const BACKEND_ENV: &str = "EDGEML_GPU_BACKEND";

/// What ran the kernels: adapter name, backend and device type.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Adapter name as reported by the driver, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Graphics API used (Vulkan, Gl, Metal, Dx12).
    pub backend: wgpu::Backend,
    /// Discrete, integrated, virtual, CPU (software rasterizer) or other.
    pub device_type: wgpu::DeviceType,
    /// Driver name and version string.
    pub driver: String,
}

impl AdapterSummary {
    /// True when the adapter is a software rasterizer running on the CPU (e.g. lavapipe).
    pub fn is_software(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }

    /// True when the kernels run through wgpu's OpenGL backend (the fallback where no
    /// Vulkan, Metal or DX12 adapter was found or `EDGEML_GPU_BACKEND=gl` was set).
    pub fn is_gl(&self) -> bool {
        self.backend == wgpu::Backend::Gl
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{:?}, {:?}{}] {}",
            self.name,
            self.backend,
            self.device_type,
            if self.is_software() {
                ", software rasterizer"
            } else {
                ""
            },
            self.driver
        )
    }
}

/// A wgpu device and queue with the kernels' compiled pipelines, created once and reused.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    pub(crate) gemm: GemmPipeline,
    pub(crate) pool: BufferPool,
    kernels: Mutex<HashMap<&'static str, Kernel>>,
    info: AdapterSummary,
    serial: Mutex<()>,
}

impl fmt::Debug for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gpu").field("adapter", &self.info).finish()
    }
}

impl Gpu {
    /// Picks an adapter (hardware first, then software/CPU adapters such as lavapipe, Vulkan
    /// before GL), creates a device with the adapter's own limits and compiles the kernels.
    /// Blocks until done. `EDGEML_GPU_BACKEND` restricts the backends searched.
    pub fn new() -> Result<Gpu, GpuError> {
        let backends = backends_from_env()?;
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(backends));
        let adapter = adapters
            .into_iter()
            .min_by_key(|a| {
                let info = a.get_info();
                (device_rank(info.device_type), backend_rank(info.backend))
            })
            .ok_or_else(|| GpuError::NoAdapter {
                backends_tried: format!("{backends:?}"),
            })?;
        let raw = adapter.get_info();
        let info = AdapterSummary {
            name: raw.name.clone(),
            backend: raw.backend,
            device_type: raw.device_type,
            driver: format!("{} {}", raw.driver, raw.driver_info)
                .trim()
                .to_owned(),
        };
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("edgeml-gpu"),
            required_features: adapter.features()
                & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F16),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|source| GpuError::RequestDevice {
            adapter: raw.name,
            source,
        })?;
        let gemm = GemmPipeline::new(&device, &limits)?;
        Ok(Gpu {
            device,
            queue,
            limits,
            gemm,
            pool: BufferPool::default(),
            kernels: Mutex::new(HashMap::new()),
            info,
            serial: Mutex::new(()),
        })
    }

    /// The compiled pipeline for entry point `entry` of a kernel's WGSL `source`, compiled on
    /// first use and cached under `label` (unique per source and entry point).
    pub(crate) fn kernel(
        &self,
        label: &'static str,
        source: &'static str,
        entry: &'static str,
    ) -> Result<Kernel, GpuError> {
        let mut cache = self.kernels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(kernel) = cache.get(label) {
            return Ok(kernel.clone());
        }
        let kernel = {
            let _serial = self.exclusive();
            Kernel::compile(&self.device, label, source, entry)?
        };
        cache.insert(label, kernel.clone());
        Ok(kernel)
    }

    /// Name, backend and device type of the adapter that runs the kernels.
    pub fn adapter_info(&self) -> &AdapterSummary {
        &self.info
    }

    /// True when the device supports timestamp queries, so GEMM timings include the
    /// device-side duration of the dispatch.
    pub fn has_timestamps(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// True when the device supports WGSL's `f16` type (the `shader-f16` feature).
    pub fn has_f16(&self) -> bool {
        self.device.features().contains(wgpu::Features::SHADER_F16)
    }

    /// Maps the first `bytes` of a `MAP_READ` buffer (after waiting for the device), hands the
    /// bytes to `f` and unmaps.
    pub(crate) fn read_mapped<T>(
        &self,
        buffer: &wgpu::Buffer,
        bytes: u64,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, GpuError> {
        let (tx, rx) = std::sync::mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, 0..bytes, move |result| {
            // The receiver outlives the wait below; a failed send cannot be acted on.
            let _ = tx.send(result);
        });
        self.wait()?;
        rx.recv()
            .map_err(|_| GpuError::Map("mapping callback was never called".into()))?
            .map_err(|e| GpuError::Map(e.to_string()))?;
        let value = {
            let view = buffer
                .get_mapped_range(0..bytes)
                .map_err(|e| GpuError::Map(e.to_string()))?;
            f(&view)
        };
        buffer.unmap();
        Ok(value)
    }

    /// Serializes work on this device across threads: wgpu's GL backend shares one context and
    /// panics when a thread waits more than a second for it during another's long dispatch.
    pub(crate) fn exclusive(&self) -> MutexGuard<'_, ()> {
        self.serial.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until all submitted work has finished.
    pub(crate) fn wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| GpuError::Poll(e.to_string()))
    }

    /// Runs `f` inside a validation + out-of-memory error scope, turning captured errors
    /// into [`GpuError::Device`] instead of wgpu's default panic.
    pub(crate) fn scoped<T>(device: &wgpu::Device, f: impl FnOnce() -> T) -> Result<T, GpuError> {
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let v_err = pollster::block_on(validation.pop());
        let o_err = pollster::block_on(oom.pop());
        match v_err.or(o_err) {
            Some(e) => Err(GpuError::Device(e.to_string())),
            None => Ok(value),
        }
    }
}

/// Backends to search: all native ones unless `EDGEML_GPU_BACKEND` says otherwise.
fn backends_from_env() -> Result<wgpu::Backends, GpuError> {
    let Ok(value) = std::env::var(BACKEND_ENV) else {
        return Ok(wgpu::Backends::PRIMARY | wgpu::Backends::GL);
    };
    if value.trim().eq_ignore_ascii_case("all") {
        return Ok(wgpu::Backends::PRIMARY | wgpu::Backends::GL);
    }
    let backends =
        wgpu::Backends::from_comma_list(&value) & (wgpu::Backends::PRIMARY | wgpu::Backends::GL);
    if backends.is_empty() {
        Err(GpuError::InvalidBackend(value))
    } else {
        Ok(backends)
    }
}

/// Lower is preferred: real GPUs first, software rasterizers after.
fn device_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// Lower is preferred: native compute APIs before GL.
fn backend_rank(b: wgpu::Backend) -> u8 {
    match b {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        wgpu::Backend::Gl => 1,
        _ => 2,
    }
}
