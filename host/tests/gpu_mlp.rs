//! `edgeml gpu-mlp` (feature `gpu`): a quick run on synthetic data writes every JSON key the
//! README documents and the GPU's per-epoch losses follow the CPU's (same weights and batches;
//! within 10⁻³·max(1, loss), the bound argued in tests/gpu_mlp.rs). Skips, saying so, when no
//! adapter exists.
#![cfg(feature = "gpu")]

use edgeml_gpu::{Gpu, GpuError};
use edgeml_host::datasets::DataConfig;
use edgeml_host::experiments::gpu_mlp::{GpuMlp, GpuMlpArgs};
use edgeml_host::experiments::{Experiment, RunContext};

#[test]
fn quick_run_matches_cpu_and_writes_every_key() {
    if let Err(e @ GpuError::NoAdapter { .. }) = Gpu::new() {
        println!("skipped: no GPU adapter ({e})");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let ctx = RunContext {
        data: DataConfig {
            synthetic: true,
            ..DataConfig::default()
        },
        out_dir: out.path().to_path_buf(),
        quick: true,
        seed: 7,
    };
    let args = GpuMlpArgs {
        epochs: Some(2),
        rows: Some(512),
    };
    let report = GpuMlp::new(args).run(&ctx).unwrap();
    let f = &report.figures;
    assert_eq!(f["synthetic"], true);
    assert_eq!(f["available"], true);
    for key in [
        "adapter",
        "software_adapter",
        "isa",
        "epochs",
        "train_rows",
        "cpu_epoch_loss",
        "gpu_epoch_loss",
        "cpu_epoch_seconds",
        "gpu_epoch_seconds",
        "max_epoch_loss_diff",
        "cpu_test_accuracy",
        "gpu_test_accuracy",
    ] {
        assert!(!f[key].is_null(), "{key}");
    }
    let curve = |key: &str| -> Vec<f64> {
        f[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (cpu, gpu) = (curve("cpu_epoch_loss"), curve("gpu_epoch_loss"));
    assert_eq!(cpu.len(), 2);
    for (c, g) in cpu.iter().zip(&gpu) {
        assert!(
            (c - g).abs() <= 1e-3 * c.abs().max(1.0),
            "cpu {cpu:?} gpu {gpu:?}"
        );
    }
    assert!(out.path().join("gpu_mlp_loss.png").exists());
}
