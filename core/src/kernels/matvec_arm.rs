//! Blocks of 8 outputs of the batch-1 dense layer in Armv7E-M assembly for the single-precision
//! FPU (Cortex-M4F/M7): one `VLDM` of 8 f32 weights (or 4 word loads of 8 f16 weights widened by
//! `VCVTB`/`VCVTT`) and 8 non-fused `VMLA`s per input row, the sums held in s16–s23. `VMLA`
//! rounds the product and then the sum, exactly as the portable `acc += x * w` does.

/// Whether `o + 8 ≤ n`, `x` has `k ≥ 1` rows and `w` holds `k × n` elements, so that every load
/// of the loop (row `i`, elements `o..o + 8`) lies inside `w`.
fn in_bounds<T>(x: &[f32], w: &[T], n: usize, o: usize) -> bool {
    let k = x.len();
    k >= 1 && o.checked_add(8).is_some_and(|end| end <= n) && k.checked_mul(n) == Some(w.len())
}

/// `y[j] = bias[j] + Σᵢ x[i]·w[i·n + o + j]` for 8 outputs over aligned f32 weights; false
/// (nothing written) unless [`in_bounds`].
#[inline(always)]
pub(super) fn block8_f32(
    x: &[f32],
    w: &[f32],
    n: usize,
    o: usize,
    bias: &[f32; 8],
    y: &mut [f32; 8],
) -> bool {
    if !in_bounds(x, w, n, o) {
        return false;
    }
    y.copy_from_slice(bias);
    // SAFETY: in_bounds holds, so the k rows of 8 weights (stride n) and the k inputs lie inside
    // `w` and `x`; `f32` slices are 4-byte aligned as VLDM needs; `y` is 8 writable f32s; the
    // clobbered FPU registers are declared.
    unsafe {
        core::arch::asm!(
            "vldm {acc}, {{s16-s23}}",
            "2:",
            "vldmia {x}!, {{s0}}",
            "vldm {w}, {{s8-s15}}",
            "add {w}, {w}, {stride}",
            "vmla.f32 s16, s0, s8",
            "vmla.f32 s17, s0, s9",
            "vmla.f32 s18, s0, s10",
            "vmla.f32 s19, s0, s11",
            "vmla.f32 s20, s0, s12",
            "vmla.f32 s21, s0, s13",
            "vmla.f32 s22, s0, s14",
            "vmla.f32 s23, s0, s15",
            "subs {k}, {k}, #1",
            "bne 2b",
            "vstm {acc}, {{s16-s23}}",
            acc = in(reg) y.as_mut_ptr(),
            x = inout(reg) x.as_ptr() => _,
            w = inout(reg) w.as_ptr().add(o) => _,
            stride = in(reg) n * 4,
            k = inout(reg) x.len() => _,
            out("s0") _, out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            options(nostack),
        );
    }
    true
}

/// The 8 halves in s1–s4 widened into s8–s15 and accumulated into s16–s23 with the input s0.
macro_rules! widen_and_accumulate {
    () => {
        concat!(
            "vcvtb.f32.f16 s8, s1\n",
            "vcvtt.f32.f16 s9, s1\n",
            "vcvtb.f32.f16 s10, s2\n",
            "vcvtt.f32.f16 s11, s2\n",
            "vcvtb.f32.f16 s12, s3\n",
            "vcvtt.f32.f16 s13, s3\n",
            "vcvtb.f32.f16 s14, s4\n",
            "vcvtt.f32.f16 s15, s4\n",
            "vmla.f32 s16, s0, s8\n",
            "vmla.f32 s17, s0, s9\n",
            "vmla.f32 s18, s0, s10\n",
            "vmla.f32 s19, s0, s11\n",
            "vmla.f32 s20, s0, s12\n",
            "vmla.f32 s21, s0, s13\n",
            "vmla.f32 s22, s0, s14\n",
            "vmla.f32 s23, s0, s15",
        )
    };
}

/// As [`block8_f32`] over f16 weights (2-byte aligned), each widened exactly by
/// `VCVTB`/`VCVTT`.
#[inline(always)]
pub(super) fn block8_f16(
    x: &[f32],
    w: &[super::F16Bits],
    n: usize,
    o: usize,
    bias: &[super::F16Bits; 8],
    y: &mut [f32; 8],
) -> bool {
    use super::Widen;
    if !in_bounds(x, w, n, o) {
        return false;
    }
    for (v, b) in y.iter_mut().zip(bias) {
        *v = b.widen();
    }
    let aligned = (w.as_ptr() as usize + 2 * o) % 4 == 0 && n % 2 == 0;
    // SAFETY: as in block8_f32. The 16 bytes of a row's 8 halves are read by one VLDM where
    // every row starts 4-byte aligned (VLDM needs it), else by 4 LDRs (Armv7E-M allows
    // unaligned LDR from normal memory).
    unsafe {
        if aligned {
            core::arch::asm!(
                "vldm {acc}, {{s16-s23}}",
                "2:",
                "vldmia {x}!, {{s0}}",
                "vldm {w}, {{s1-s4}}",
                "add {w}, {w}, {stride}",
                widen_and_accumulate!(),
                "subs {k}, {k}, #1",
                "bne 2b",
                "vstm {acc}, {{s16-s23}}",
                acc = in(reg) y.as_mut_ptr(),
                x = inout(reg) x.as_ptr() => _,
                w = inout(reg) w.as_ptr().add(o) => _,
                stride = in(reg) n * 2,
                k = inout(reg) x.len() => _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _, out("s4") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s12") _, out("s13") _, out("s14") _, out("s15") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                options(nostack),
            );
        } else {
            core::arch::asm!(
                "vldm {acc}, {{s16-s23}}",
                "2:",
                "vldmia {x}!, {{s0}}",
                "ldr {t0}, [{w}]",
                "ldr {t1}, [{w}, #4]",
                "vmov s1, s2, {t0}, {t1}",
                "ldr {t0}, [{w}, #8]",
                "ldr {t1}, [{w}, #12]",
                "vmov s3, s4, {t0}, {t1}",
                "add {w}, {w}, {stride}",
                widen_and_accumulate!(),
                "subs {k}, {k}, #1",
                "bne 2b",
                "vstm {acc}, {{s16-s23}}",
                acc = in(reg) y.as_mut_ptr(),
                x = inout(reg) x.as_ptr() => _,
                w = inout(reg) w.as_ptr().add(o) => _,
                stride = in(reg) n * 2,
                k = inout(reg) x.len() => _,
                t0 = out(reg) _,
                t1 = out(reg) _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _, out("s4") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s12") _, out("s13") _, out("s14") _, out("s15") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                options(nostack),
            );
        }
    }
    true
}
