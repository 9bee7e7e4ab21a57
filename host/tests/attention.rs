//! The attention experiment: its worked example against an independent f64 computation, the
//! tiny vision transformer's gradients against finite differences, the workspace figures, and
//! a quick end-to-end run writing the documented JSON keys.

use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_host::datasets::DataConfig;
use edgeml_host::experiments::attention::vit::{Vit, VitShape, PIXELS};
use edgeml_host::experiments::attention::AttentionExperiment;
use edgeml_host::experiments::attention::{throughput, worked, AttentionArgs};
use edgeml_host::experiments::{Experiment, RunContext};

#[test]
fn worked_example_matches_an_independent_softmax() {
    let walk = worked::run(Dispatch::PORTABLE).unwrap();
    let q = worked::EMBEDDINGS[worked::QUERY];
    let logits: Vec<f64> = worked::EMBEDDINGS
        .iter()
        .map(|k| {
            q.iter()
                .zip(k)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>()
                / 2.0
        })
        .collect();
    let total: f64 = logits.iter().map(|l| l.exp()).sum();
    for (w, l) in walk.weights.iter().zip(&logits) {
        assert!((w - l.exp() / total).abs() < 1e-12);
    }
    assert!((walk.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // "cat" attends most to itself, then to "mat" (the other noun).
    let order = |j: usize| walk.weights[j];
    assert!(order(1) > order(5) && order(5) > order(2));
    assert!(
        walk.max_abs_diff < 1e-5,
        "kernel vs f64: {}",
        walk.max_abs_diff
    );
    for (got, want) in walk.kernel_output.iter().zip(&walk.output) {
        assert!((f64::from(*got) - want).abs() < 1e-5);
    }
}

/// Cross-entropy of `label` under softmax(logits), in f64.
fn cross_entropy(logits: &[f32], label: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    total.ln() - f64::from(logits[label] - max)
}

#[test]
fn vit_gradients_match_finite_differences() {
    let vit = Vit::new(VitShape {
        d_model: 8,
        heads: 2,
        d_ff: 16,
        classes: 10,
    })
    .unwrap();
    let mut rng = Rng::new(7);
    let params = vit.init(&mut rng).unwrap();
    let image: Vec<f32> = (0..PIXELS).map(|_| rng.uniform(0.0, 1.0)).collect();
    let label = 3u32;
    let mut scratch = vit.scratch();
    let mut grads = vec![0.0f32; vit.param_len()];
    let dispatch = Dispatch::PORTABLE;
    let loss = vit
        .accumulate_gradients(
            dispatch,
            &params,
            &image,
            label,
            1.0,
            &mut grads,
            &mut scratch,
        )
        .unwrap();
    let logits = vit.logits(dispatch, &params, &image, &mut scratch).unwrap();
    assert!((f64::from(loss) - cross_entropy(logits, label as usize)).abs() < 1e-4);

    let eps = 1e-2f32;
    for i in 0..vit.param_len() {
        let mut shifted = params.clone();
        shifted[i] = params[i] + eps;
        let up = cross_entropy(
            vit.logits(dispatch, &shifted, &image, &mut scratch)
                .unwrap(),
            label as usize,
        );
        shifted[i] = params[i] - eps;
        let down = cross_entropy(
            vit.logits(dispatch, &shifted, &image, &mut scratch)
                .unwrap(),
            label as usize,
        );
        let numeric = (up - down) / (2.0 * f64::from(eps));
        let analytic = f64::from(grads[i]);
        assert!(
            (numeric - analytic).abs() <= 2e-3 + 5e-2 * analytic.abs(),
            "parameter {i}: finite difference {numeric}, gradient {analytic}"
        );
    }
}

#[test]
fn streaming_workspace_does_not_grow_with_length() {
    let (short_stream, short_ref) = throughput::workspace_bytes(64);
    let (long_stream, long_ref) = throughput::workspace_bytes(2048);
    assert_eq!(short_stream, long_stream);
    assert_eq!(long_ref, (2048 + 1) * 2048 * 4);
    assert_eq!(short_ref, (64 + 1) * 64 * 4);
    assert_eq!(throughput::flops(128), 4.0 * 128.0 * 128.0 * 64.0 * 4.0);
}

#[test]
fn quick_run_writes_the_documented_figures() {
    let dir = std::env::temp_dir().join(format!("edgeml_attention_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = RunContext {
        data: DataConfig::default(),
        out_dir: dir.clone(),
        quick: true,
        seed: 1,
    };
    let args = AttentionArgs {
        lengths: vec![64],
        ..AttentionArgs::default()
    };
    let report = AttentionExperiment::new(args).run(&ctx).unwrap();
    let f = &report.figures;
    for key in [
        "cpu",
        "dispatched_variant",
        "worked_example",
        "throughput_gflops",
        "throughput_ms",
        "workspace_bytes",
        "training",
    ] {
        assert!(f.get(key).is_some(), "missing {key}");
    }
    let gflops = f["throughput_gflops"].as_object().unwrap();
    assert!(gflops.contains_key("reference (materialized)"));
    assert!(gflops.contains_key("streaming portable"));
    for row in gflops.values() {
        assert!(row["64"].as_f64().unwrap() > 0.0);
    }
    let training = &f["training"];
    let vit = training["vit"]["test_accuracy"].as_f64().unwrap();
    let mlp = training["mlp"]["test_accuracy"].as_f64().unwrap();
    // Ten classes: both models must beat chance clearly after one short epoch.
    assert!(vit > 0.2 && mlp > 0.2, "vit {vit}, mlp {mlp}");
    for plot in &report.plots {
        assert!(dir.join(plot).is_file(), "{}", plot.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}
