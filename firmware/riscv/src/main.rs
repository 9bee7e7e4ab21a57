//! edgeml-core on an emulated RISC-V microcontroller (QEMU `virt`, riscv32imac: no FPU, so
//! every f32 operation is a software routine): runs the k-NN classifier, the boosted ensemble
//! and the Fashion-MNIST MLP (f32 weights) trained on the host, embedded with
//! `include_bytes!` from the Cortex-M firmware's `models/`, on the embedded test inputs; prints
//! every prediction and the instructions of the first inference of each model on the UART, then
//! ends QEMU with status 0 when everything ran. `./run-in-qemu.sh` builds, runs and checks it
//! against the host.
#![no_std]
#![no_main]

mod console;
mod data;
// Shared with the Cortex-M firmware and the host, which use sizes this firmware does not.
#[allow(dead_code)]
#[path = "../../src/dims.rs"]
mod dims;
mod infer;
mod measure;
mod memory;

use edgeml_core::{Error, Result};

fn run() -> Result<()> {
    println!(
        "# instructions calibration_2000000 {}",
        measure::calibration(1_000_000)
    );
    let mem = memory::take().ok_or(Error::Empty)?;
    infer::mlp(mem)?;
    infer::load_blobs(mem)?;
    infer::knn(mem)?;
    infer::gbdt(mem)?;
    Ok(())
}

#[riscv_rt::entry]
fn main() -> ! {
    match run() {
        Ok(()) => {
            println!("done ok");
            console::exit(true)
        }
        Err(e) => {
            println!("done error {:?}", e);
            console::exit(false)
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("panic: {}", info);
    console::exit(false)
}
