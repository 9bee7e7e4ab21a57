//! Run-time choice of kernel variants without `std`: [`Isa`] names an instruction-set variant,
//! and [`Dispatch`] is a token that the caller has checked the running CPU supports it.
//!
//! The core cannot detect CPU features itself (detection needs the OS, hence `std`), so the host
//! detects them (`is_x86_feature_detected!`, `is_aarch64_feature_detected!`) and builds a
//! [`Dispatch`] with [`Dispatch::new_unchecked`]. Firmware uses [`Dispatch::PORTABLE`].
//! Kernels with variants offer a method on [`Dispatch`] that runs the selected one.
//!
//! No variant uses AMX: CPUs and hypervisors are known to advertise AMX tiles that fault when
//! used, so the core never emits AMX instructions, whatever the CPU claims.

/// Instruction-set variant of the hot kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust written so LLVM vectorizes it for the compile target (SSE2 on a default
    /// x86-64 build, NEON on aarch64, scalar FPU code on Cortex-M4F).
    Portable,
    /// x86-64 with AVX2, FMA and F16C (256-bit lanes, fused multiply-add, f16 conversion).
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    /// x86-64 with AVX-512 F (512-bit lanes), plus AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// aarch64 with Advanced SIMD (NEON: 128-bit lanes, fused multiply-add), which every
    /// aarch64 CPU has.
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Isa {
    /// Every variant compiled into this build, most capable last.
    pub const ALL: &'static [Isa] = &[
        Isa::Portable,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon,
    ];

    /// Short name for reports and the `EDGEML_KERNEL` override: `portable`, `avx2-fma`,
    /// `avx512`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => "avx2-fma",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => "neon",
        }
    }

    /// The variant called `name` (as [`Isa::name`] spells it), if compiled into this build.
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL.iter().copied().find(|isa| isa.name() == name)
    }

    /// CPU features (as `is_x86_feature_detected!` or `is_aarch64_feature_detected!` spell
    /// them) the variant needs.
    pub const fn required_features(self) -> &'static [&'static str] {
        match self {
            Isa::Portable => &[],
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => &["avx2", "fma", "f16c"],
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => &["avx512f", "avx2", "fma", "f16c"],
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => &["neon"],
        }
    }
}

/// A kernel variant the caller has vouched for: holding one means its [`Isa`] runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatch {
    isa: Isa,
}

impl Dispatch {
    /// The portable variant, valid on every target.
    pub const PORTABLE: Dispatch = Dispatch { isa: Isa::Portable };

    /// Selects `isa` without checking the CPU.
    ///
    /// # Safety
    /// The running CPU (and OS) must support every feature in [`Isa::required_features`];
    /// otherwise the kernels execute instructions the CPU lacks, which is undefined behaviour.
    pub const unsafe fn new_unchecked(isa: Isa) -> Dispatch {
        Dispatch { isa }
    }

    /// The selected variant.
    pub const fn isa(&self) -> Isa {
        self.isa
    }
}

impl Default for Dispatch {
    fn default() -> Self {
        Dispatch::PORTABLE
    }
}
