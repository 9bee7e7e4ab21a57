//! One call of a core kernel, for counting executed instructions under an emulator
//! (`benches/qemu-insns.sh`): `kernel_insns KERNEL VARIANT N` runs gemm (N×N·N×N), dot (length
//! N·N) or attention (N queries and keys, width 64) once with the named kernel variant on
//! deterministic inputs and prints a checksum, so the call cannot be optimised away. A fourth
//! argument `setup` builds the same inputs but skips the call: the baseline to subtract.

use std::process::ExitCode;

use edgeml_core::attention::{attention, streaming_workspace_len, AttentionSpec};
use edgeml_core::kernels::dot::dot_dispatch;
use edgeml_core::kernels::gemm::gemm;
use edgeml_core::kernels::{Dispatch, Isa};
use edgeml_core::{TensorView, TensorViewMut};

fn main() -> ExitCode {
    match run() {
        Ok(checksum) => {
            println!("{checksum}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kernel_insns: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Values in [-1, 1) from a fixed linear congruential sequence.
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn run() -> Result<f32, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kernel, variant, n, call) = match args.as_slice() {
        [kernel, variant, n] => (kernel, variant, n, true),
        [kernel, variant, n, setup] if setup == "setup" => (kernel, variant, n, false),
        _ => return Err("usage: kernel_insns gemm|dot|attention VARIANT N [setup]".into()),
    };
    let isa = Isa::from_name(variant).ok_or(format!("no kernel variant {variant}"))?;
    // The counted variants: portable everywhere, NEON where the CPU reports it.
    let counted = match isa {
        Isa::Portable => true,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
        #[allow(unreachable_patterns)]
        _ => false,
    };
    if !counted {
        return Err(format!("variant {variant} is not counted on this CPU"));
    }
    // SAFETY: only Portable, or NEON on a CPU that reports it, pass the check above.
    let dispatch = unsafe { Dispatch::new_unchecked(isa) };
    let n: usize = n.parse().map_err(|e| format!("N: {e}"))?;
    let e = |e: edgeml_core::Error| e.to_string();
    match kernel.as_str() {
        "gemm" => {
            let (a, b) = (values(n * n, 1), values(n * n, 2));
            let mut c = vec![0.0f32; n * n];
            if call {
                let (a, b) = (
                    TensorView::matrix(&a, n, n).map_err(e)?,
                    TensorView::matrix(&b, n, n).map_err(e)?,
                );
                let c = TensorViewMut::matrix(&mut c, n, n).map_err(e)?;
                gemm(dispatch, 1.0, a, b, 0.0, c).map_err(e)?;
            }
            Ok(c.iter().sum())
        }
        "dot" => {
            let (a, b) = (values(n * n, 1), values(n * n, 2));
            if !call {
                return Ok(0.0);
            }
            dot_dispatch(dispatch, &a, &b).map_err(e)
        }
        "attention" => {
            const D: usize = 64;
            let (q, k, v) = (values(n * D, 1), values(n * D, 2), values(n * D, 3));
            let mut out = vec![0.0f32; n * D];
            let mut workspace = vec![0.0f32; streaming_workspace_len(D)];
            if call {
                let spec = AttentionSpec::new();
                attention(
                    dispatch,
                    &spec,
                    TensorView::matrix(&q, n, D).map_err(e)?,
                    TensorView::matrix(&k, n, D).map_err(e)?,
                    TensorView::matrix(&v, n, D).map_err(e)?,
                    TensorViewMut::matrix(&mut out, n, D).map_err(e)?,
                    &mut workspace,
                )
                .map_err(e)?;
            }
            Ok(out.iter().sum())
        }
        other => Err(format!("no kernel {other}")),
    }
}
