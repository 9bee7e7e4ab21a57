//! Output through the `virt` board's 16550 UART and exit through its SiFive test device.

use core::fmt::Write;

/// Transmit holding register of the 16550 UART of QEMU's `virt` machine.
const UART_THR: *mut u8 = 0x1000_0000 as *mut u8;
/// The SiFive test device of `virt`: writing to it ends QEMU.
const TEST_DEVICE: *mut u32 = 0x0010_0000 as *mut u32;
/// Test-device command: exit QEMU with status 0.
const PASS: u32 = 0x5555;
/// Test-device command (status in the upper half): exit QEMU with that status.
const FAIL: u32 = 0x3333;

/// The UART as a `core::fmt` sink (QEMU's UART needs no set-up and never backs up).
pub struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for byte in s.bytes() {
            // SAFETY: the THR is a byte-wide MMIO register of the virt machine.
            unsafe { core::ptr::write_volatile(UART_THR, byte) };
        }
        Ok(())
    }
}

/// Prints one line on the UART.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::console::Uart, $($arg)*);
    }};
}

/// Ends QEMU with exit status 0 (`success`) or 1.
pub fn exit(success: bool) -> ! {
    let command = if success { PASS } else { (1 << 16) | FAIL };
    // SAFETY: the test device is a word-wide MMIO register of the virt machine.
    unsafe { core::ptr::write_volatile(TEST_DEVICE, command) };
    loop {
        core::hint::spin_loop();
    }
}
