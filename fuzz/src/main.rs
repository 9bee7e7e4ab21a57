//! One AFL++ target for every entry point: `edgeml-fuzz TARGET` reads inputs from AFL
//! (persistent mode) and runs [`edgeml_host::fuzz::check`] on them. A panic, an abort or a
//! finding (an accepted input whose result is not finite or not loadable) is a crash.
//! Targets: `tree-model mlp lightgbm xgboost sklearn safetensors idx`.

use edgeml_host::fuzz::{check, Target};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = Target::from_name(&name) else {
        eprintln!("usage: edgeml-fuzz tree-model|mlp|lightgbm|xgboost|sklearn|safetensors|idx");
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        if let Err(finding) = check(target, data) {
            panic!("{}: {finding}", target.name());
        }
    });
}
