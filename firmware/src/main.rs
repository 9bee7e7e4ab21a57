//! edgeml-core on an emulated Cortex-M4F (QEMU `mps2-an386`): runs the models trained or
//! imported on the host (embedded with `include_bytes!`, or as static arrays written by
//! build.rs) on embedded test inputs, trains a small MLP on the device, feeds corrupted model
//! bytes to the loaders, and prints every result over semihosting (format in
//! `host/src/firmware/check.rs`), then exits with status 0 when everything ran. `./run-in-qemu.sh` builds, runs and checks it against the host.
#![no_std]
#![no_main]
// A build with fewer parts (footprint, small memory maps) leaves the other parts' code unused.
#![cfg_attr(
    not(all(
        feature = "mlp-f32",
        feature = "mlp-f16",
        feature = "mlp-i8",
        feature = "knn",
        feature = "gbdt",
        feature = "lgb500",
        feature = "attention",
        feature = "train",
        feature = "corrupt"
    )),
    allow(unused)
)]

#[cfg(feature = "corrupt")]
mod corrupt;
mod data;
mod dims;
mod infer;
mod lgb500;
mod measure;
mod memory;
mod mlp;
mod out;
#[cfg(feature = "train")]
mod train;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use edgeml_core::{Error, Result};
use panic_semihosting as _;

fn run() -> Result<()> {
    let peripherals = cortex_m::Peripherals::take().ok_or(Error::Empty)?;
    let counter = measure::Counter::new(peripherals.SYST);
    // cortex_m::asm::delay(n) runs n + 1 iterations of `subs; bne`: 2n + 2 instructions.
    let ((), calibration) = counter.count(|| cortex_m::asm::delay(1_000_000));
    hprintln!("# instructions calibration_2000002 {}", calibration);
    // Keeps core::fmt's float formatting in every build, so that the footprint of a part
    // (a build with one feature, minus a build with none) counts the model code only.
    hprintln!(
        "# instructions_per_tick {}",
        measure::INSTRUCTIONS_PER_TICK as f32
    );
    match (cfg!(feature = "mlp-f32"), cfg!(feature = "mlp-f16")) {
        (true, true) => mlp::float(&counter, &[("f32", data::MLP_F32), ("f16", data::MLP_F16)])?,
        (true, false) => mlp::float(&counter, &[("f32", data::MLP_F32)])?,
        (false, true) => mlp::float(&counter, &[("f16", data::MLP_F16)])?,
        (false, false) => {}
    }
    if cfg!(feature = "mlp-i8") {
        mlp::int8(&counter)?;
    }
    let mem = memory::take().ok_or(Error::Empty)?;
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    infer::load_blobs(mem)?;
    #[cfg(feature = "knn")]
    infer::knn(mem, &counter)?;
    #[cfg(feature = "gbdt")]
    infer::gbdt(mem, &counter)?;
    #[cfg(feature = "lgb500")]
    infer::lgb500(&counter)?;
    #[cfg(feature = "attention")]
    infer::attention(mem, &counter)?;
    #[cfg(feature = "train")]
    train::run(mem, &counter)?;
    #[cfg(feature = "corrupt")]
    corrupt::run(mem);
    #[cfg(all(feature = "corrupt", feature = "mlp-f32", feature = "mlp-f16"))]
    corrupt::unaligned(mem)?;
    footprint(mem);
    Ok(())
}

fn footprint(mem: &memory::Memory) {
    let (mlp_float, mlp_int8) = mlp::ram();
    if cfg!(any(feature = "mlp-f32", feature = "mlp-f16")) {
        hprintln!("# ram mlp_f32_f16 {}", mlp_float);
    }
    if cfg!(feature = "mlp-i8") {
        hprintln!("# ram mlp_i8 {}", mlp_int8);
    }
    #[cfg(feature = "knn")]
    hprintln!(
        "# ram knn {}",
        core::mem::size_of_val(&mem.blob_x)
            + core::mem::size_of_val(&mem.blob_y)
            + core::mem::size_of_val(&mem.query)
    );
    #[cfg(feature = "gbdt")]
    hprintln!(
        "# ram gbdt {}",
        core::mem::size_of_val(&mem.nodes)
            + core::mem::size_of_val(&mem.roots)
            + core::mem::size_of_val(&mem.base)
    );
    #[cfg(feature = "attention")]
    hprintln!(
        "# ram attention {}",
        core::mem::size_of_val(&mem.attn_params)
            + core::mem::size_of_val(&mem.attn_x)
            + core::mem::size_of_val(&mem.attn_out)
            + core::mem::size_of_val(&mem.attn_workspace)
    );
    #[cfg(feature = "train")]
    hprintln!(
        "# ram training {}",
        core::mem::size_of_val(&mem.train)
            + core::mem::size_of_val(&mem.batch_x)
            + core::mem::size_of_val(&mem.batch_y)
            + core::mem::size_of_val(&mem.order)
    );
    #[cfg(feature = "corrupt")]
    hprintln!(
        "# ram corruption_copy {}",
        core::mem::size_of_val(&mem.bytes)
    );
    let _ = mem;
    hprintln!("# ram static_total {}", measure::static_ram());
    hprintln!("# stack_high_water {}", measure::stack_high_water());
}

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let status = match run() {
        Ok(()) => {
            hprintln!("done ok");
            debug::EXIT_SUCCESS
        }
        Err(e) => {
            hprintln!("done error {}", out::code(&e));
            debug::EXIT_FAILURE
        }
    };
    loop {
        debug::exit(status);
    }
}
