//! CPU detection for kernel dispatch: which [`Isa`] variants this machine runs, which one the
//! host picks, and the `EDGEML_KERNEL` override.
//!
//! Detection goes through `is_x86_feature_detected!`, which checks both the CPUID bits and that
//! the OS saves the wider registers (XCR0). AMX is never considered: the core has no AMX code,
//! so a CPU or hypervisor that advertises AMX tiles and then faults on them cannot hurt. On
//! aarch64, `is_aarch64_feature_detected!("neon")` vouches for the NEON variant (always present
//! there: NEON is part of the architecture's baseline).

use anyhow::{bail, Result};
use edgeml_core::kernels::{Dispatch, Isa};

/// Environment variable that forces one kernel variant (`portable`, `avx2-fma`, `avx512`, `neon`).
pub const KERNEL_ENV: &str = "EDGEML_KERNEL";

/// Whether the running CPU and OS support every feature `isa` needs.
pub fn supports(isa: Isa) -> bool {
    match isa {
        Isa::Portable => true,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
    }
}

/// Every variant compiled in that this CPU runs, least capable first.
pub fn supported() -> Vec<Isa> {
    Isa::ALL
        .iter()
        .copied()
        .filter(|&isa| supports(isa))
        .collect()
}

/// A dispatch token for `isa`, or an error naming the missing CPU features.
pub fn dispatch_for(isa: Isa) -> Result<Dispatch> {
    if !supports(isa) {
        bail!(
            "kernel variant `{}` needs CPU features {:?}, which this CPU does not report",
            isa.name(),
            isa.required_features()
        );
    }
    // SAFETY: `supports` just checked every feature `isa` requires.
    Ok(unsafe { Dispatch::new_unchecked(isa) })
}

/// The variant the host runs: `EDGEML_KERNEL` if set (an error if unknown or unsupported),
/// else the most capable supported one.
pub fn selected_dispatch() -> Result<Dispatch> {
    match std::env::var(KERNEL_ENV) {
        Ok(name) if !name.is_empty() => {
            let Some(isa) = Isa::from_name(&name) else {
                let known: Vec<_> = Isa::ALL.iter().map(|isa| isa.name()).collect();
                bail!("{KERNEL_ENV}={name} names no kernel variant; known: {known:?}");
            };
            dispatch_for(isa)
        }
        _ => best_dispatch(),
    }
}

/// The most capable variant this CPU supports.
pub fn best_dispatch() -> Result<Dispatch> {
    let best = supported().last().copied().unwrap_or(Isa::Portable);
    dispatch_for(best)
}

/// The CPU's model name from /proc/cpuinfo, or the architecture when that is unavailable.
pub fn model_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Whether /proc/cpuinfo advertises AMX tiles (reported, never used).
pub fn advertises_amx() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.split_whitespace().any(|flag| flag.starts_with("amx")))
        .unwrap_or(false)
}
