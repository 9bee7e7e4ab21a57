//! Deterministic instruction counts and the stack high-water mark.
//!
//! QEMU runs with `-icount shift=0`: virtual time advances exactly 1 ns per instruction.
//! SysTick on the core clock of mps2-an386 (25 MHz) then ticks once per 40 instructions, so
//! `ticks × 40` counts instructions with a resolution of 40, the same on every run.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// Instructions per SysTick tick under `-icount shift=0` with a 25 MHz core clock.
pub const INSTRUCTIONS_PER_TICK: u32 = 40;
const RELOAD: u32 = 0x00FF_FFFF;
const PAINT: u32 = 0x5EED_CAFE;

/// A free-running SysTick used as an instruction counter.
pub struct Counter {
    syst: SYST,
}

impl Counter {
    /// Starts SysTick counting down from its largest reload value on the core clock.
    pub fn new(mut syst: SYST) -> Counter {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_counter();
        Counter { syst }
    }

    fn now(&self) -> u32 {
        let _ = &self.syst;
        SYST::get_current()
    }

    /// Runs `f` and returns its result with the instructions it took (one counter wrap, 671 M
    /// instructions, at most).
    pub fn count<T>(&self, f: impl FnOnce() -> T) -> (T, u32) {
        let start = self.now();
        let value = f();
        let end = self.now();
        let ticks = start.wrapping_sub(end) & RELOAD;
        (value, ticks * INSTRUCTIONS_PER_TICK)
    }
}

extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
}

fn stack_bounds() -> (usize, usize) {
    (
        core::ptr::addr_of!(__sheap) as usize,
        core::ptr::addr_of!(_stack_start) as usize,
    )
}

/// Fills the unused stack (from the end of static RAM to 256 bytes below the current stack
/// pointer) with a pattern.
pub fn paint_stack() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = bottom;
    while at + 4 <= sp.saturating_sub(256) {
        // SAFETY: [bottom, sp - 256) is RAM between the statics and the live stack frames.
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

/// Bytes of stack ever used since [`paint_stack`]: from the stack top down to the lowest word
/// no longer holding the pattern.
pub fn stack_high_water() -> usize {
    let (bottom, top) = stack_bounds();
    let mut at = bottom;
    // SAFETY: reads words of RAM between the statics and the stack top.
    while at < top && unsafe { core::ptr::read_volatile(at as *const u32) } == PAINT {
        at += 4;
    }
    top - at
}

/// Bytes of static RAM (`.data` + `.bss`).
pub fn static_ram() -> usize {
    let (bottom, _) = stack_bounds();
    bottom - 0x2000_0000
}
