//! Deterministic instruction counts: QEMU runs with `-icount shift=0`, under which the
//! `minstret` CSR (machine mode) counts exactly the instructions executed.

use riscv::register::minstret;

/// Runs `f` and returns its result with the instructions it took, less the two CSR reads.
pub fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let start = minstret::read64();
    let value = f();
    let end = minstret::read64();
    (value, end.wrapping_sub(start).saturating_sub(overhead()))
}

/// Instructions of an empty measurement (the reads of `minstret`/`minstreth` themselves).
fn overhead() -> u64 {
    let start = minstret::read64();
    let end = minstret::read64();
    end.wrapping_sub(start)
}

/// Instructions of a loop of `n` iterations of `addi; bnez` (2n expected): the calibration.
pub fn calibration(n: u32) -> u64 {
    count(|| {
        // SAFETY: a register-only countdown loop; it touches no memory.
        unsafe {
            core::arch::asm!(
                "1:",
                "addi {n}, {n}, -1",
                "bnez {n}, 1b",
                n = inout(reg) n => _,
                options(nomem, nostack),
            )
        }
    })
    .1
}
