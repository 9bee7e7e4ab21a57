//! `edgeml bench`'s GPU section: with an adapter, a quick run writes the documented `gpu` keys,
//! every throughput is positive and finite, the end-to-end time is the sum of its parts, and
//! the crossover sizes agree with the rows; with no adapter (the Vulkan loader pointed at a
//! missing driver) the command still succeeds, says why in one line and marks the GPU absent.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The `figures` object of `bench.json` in `out`.
fn figures(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("bench.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["figures"].clone()
}

#[test]
fn without_an_adapter_bench_still_succeeds_and_says_why() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_edgeml"))
        .env("VK_ICD_FILENAMES", "/nonexistent")
        .env("EDGEML_GPU_BACKEND", "vulkan")
        .args(["--quick", "--out"])
        .arg(out.path())
        .args(["bench", "--sizes", "8,16", "--min-time-ms", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("no GPU adapter: ") && l.ends_with("; GPU columns skipped"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let f = figures(out.path());
    assert_eq!(f["gpu"]["available"], false);
    assert!(!f["gpu"]["reason"].as_str().unwrap().is_empty());
    assert!(f["gpu"].get("kernels").is_none());
    assert!(f["gemm_gflops"]["reference"]["16"].as_f64().unwrap() > 0.0);
}

#[cfg(feature = "gpu")]
#[test]
fn with_an_adapter_bench_writes_the_gpu_keys() {
    use edgeml_gpu::{Gpu, GpuError};
    use edgeml_host::datasets::DataConfig;
    use edgeml_host::experiments::bench::{Bench, BenchArgs};
    use edgeml_host::experiments::{Experiment, RunContext};

    let adapter = match Gpu::new() {
        Ok(gpu) => gpu.adapter_info().clone(),
        Err(e @ GpuError::NoAdapter { .. }) => {
            println!("skipped: no GPU adapter ({e})");
            return;
        }
        Err(e) => panic!("opening the GPU: {e}"),
    };
    let out = tempfile::tempdir().unwrap();
    let ctx = RunContext {
        data: DataConfig::default(),
        out_dir: out.path().to_path_buf(),
        quick: true,
        seed: 3,
    };
    let args = BenchArgs {
        sizes: vec![8, 33, 64],
        min_time_ms: Some(1),
    };
    let report = Bench::new(args).run(&ctx).unwrap();
    let gpu = &report.figures["gpu"];
    assert_eq!(gpu["available"], true);
    assert_eq!(gpu["adapter"], adapter.name.as_str());
    assert_eq!(gpu["software_adapter"], adapter.is_software());
    for key in ["backend", "device_type", "driver", "simd_variant"] {
        assert!(!gpu[key].as_str().unwrap().is_empty(), "{key}");
    }
    assert_eq!(gpu["gemm_sizes_shrunk"], false);
    for plot in gpu["plots"].as_array().unwrap() {
        let plot = plot.as_str().unwrap();
        assert!(out.path().join(plot).is_file(), "{plot}");
        assert!(report.plots.iter().any(|p| p.to_str() == Some(plot)));
    }
    let kernels = gpu["kernels"].as_object().unwrap();
    for name in [
        "gemm",
        "softmax rows",
        "sq. L2 distances",
        "tree ensemble predict",
        "attention forward",
    ] {
        let sizes = kernels[name]["sizes"].as_object().unwrap();
        assert!(!sizes.is_empty(), "{name}");
        for (size, cell) in sizes {
            let rate = |key: &str| cell[key].as_f64().unwrap();
            for key in ["scalar", "gpu_end_to_end", "gpu_compute_only"] {
                assert!(
                    rate(key).is_finite() && rate(key) > 0.0,
                    "{name} {size} {key}"
                );
            }
            for key in ["upload_ms", "compute_ms", "readback_ms"] {
                assert!(
                    rate(key).is_finite() && rate(key) >= 0.0,
                    "{name} {size} {key}"
                );
            }
            let has_simd = name != "tree ensemble predict";
            assert_eq!(cell["simd"].is_f64(), has_simd, "{name} {size}");
        }
    }
    let gemm = kernels["gemm"]["sizes"].as_object().unwrap();
    let mut sizes: Vec<u64> = gemm.keys().map(|k| k.parse().unwrap()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [8, 33, 64]);
    for (column, key) in [
        ("gpu_end_to_end", "end_to_end"),
        ("gpu_compute_only", "compute_only"),
    ] {
        let first_win = sizes.iter().find(|n| {
            let cell = &gemm[&n.to_string()];
            cell[column].as_f64().unwrap() > cell["simd"].as_f64().unwrap()
        });
        let recorded = gpu["crossover"]["gemm"][key].as_f64();
        assert_eq!(recorded, first_win.map(|&n| n as f64), "{key}");
    }
    assert!(report.markdown.contains(&adapter.name));
}
