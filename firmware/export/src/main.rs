//! `edgeml-firmware-export export DIR` trains the firmware's models on the host, writes them in
//! the core's byte formats (with the embedded test inputs) into DIR, and writes the host's
//! predictions on those inputs to `DIR/expected.txt`.
//!
//! `edgeml-firmware-export check DIR OUTPUT` compares the firmware's output (QEMU's stdout)
//! with `DIR/expected.txt`: identical classes, values within the bounds of [`check`], f16
//! accuracy within 0.5 points of f32, falling on-device training loss, every corrupted model
//! rejected with an error code.
//!
//! `edgeml-firmware-export footprint DIR OUTPUT PART=ELF…` prints the Markdown footprint
//! report (see [`footprint`]).

mod blobs;
mod check;
mod dims;
mod fashion;
mod footprint;
mod models;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "export" => models::export(Path::new(dir)),
        [cmd, dir, output] if cmd == "check" => check::run(Path::new(dir), Path::new(output)),
        [cmd, dir, output, parts @ ..] if cmd == "footprint" => {
            footprint::run(Path::new(dir), Path::new(output), parts)
        }
        _ => Err(
            "usage: edgeml-firmware-export export DIR | check DIR OUTPUT | footprint DIR OUTPUT PART=ELF…"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors of this tool: a message for the user.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;
