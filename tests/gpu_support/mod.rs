//! The harness the GPU test binaries share (`harness = false`, libtest-mimic): the GPU is
//! opened once and every named trial runs against it; with no adapter every trial is reported
//! as ignored (not passed), and a GPU that exists but will not open fails every trial.

use std::sync::Arc;

use edgeml_gpu::{Gpu, GpuError};
use libtest_mimic::{Arguments, Failed, Trial};

/// One trial's body, run against the shared GPU handle.
pub type Body = Box<dyn FnOnce(&Gpu) -> Result<(), Failed> + Send>;

/// Opens the GPU, prints which adapter runs `binary`'s trials (and whether wgpu fell back to
/// its GL backend), runs the named `bodies` under the command line's filters and exits with
/// their status.
pub fn run(binary: &str, bodies: Vec<(String, Body)>) -> ! {
    let args = Arguments::from_args();
    let (gpu, ignored, init_error) = match Gpu::new() {
        Ok(gpu) => {
            println!("{binary}: running on {}", gpu.adapter_info());
            if gpu.adapter_info().is_gl() {
                println!("{binary}: note: wgpu fell back to its GL backend");
            }
            (Some(Arc::new(gpu)), false, None)
        }
        Err(e @ GpuError::NoAdapter { .. }) => {
            println!("no GPU adapter: {e} — GPU tests reported as ignored");
            (None, true, Some(e.to_string()))
        }
        Err(e) => {
            println!("{binary}: GPU initialisation failed: {e}");
            (None, false, Some(e.to_string()))
        }
    };
    let trials = bodies
        .into_iter()
        .map(|(name, body)| {
            let gpu = gpu.clone();
            let init_error = init_error.clone();
            Trial::test(name, move || match gpu {
                Some(gpu) => body(&gpu),
                None => Err(init_error.unwrap_or_default().into()),
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}
