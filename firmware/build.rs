//! Puts the memory map on the linker's search path as `memory.x` (memory-board.x: the QEMU
//! board's 4 MiB; with the feature `part-512k` memory-512k.x, 512 KiB flash / 128 KiB RAM; with
//! `part-256k` memory-256k.x, 256 KiB / 64 KiB: linking fails when the parts built do not fit;
//! no file in this folder is named memory.x, which the linker would find first), rebuilds
//! when the exported models (committed under models/) change, and
//! turns the imported 500-tree LightGBM model (`models/lgb500.bin`, the core's byte format)
//! into static arrays (`$OUT_DIR/lgb500.rs`), so that the firmware runs it straight from
//! flash: the bytes are checked by the core's loader here and the model's structure again on
//! the device by `Model::new`.
use edgeml_core::tree::{serial, Node};
use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let map = match (
        env::var_os("CARGO_FEATURE_PART_512K").is_some(),
        env::var_os("CARGO_FEATURE_PART_256K").is_some(),
    ) {
        (false, false) => "memory-board.x",
        (true, false) => "memory-512k.x",
        (false, true) => "memory-256k.x",
        (true, true) => panic!("choose one of the features part-512k and part-256k"),
    };
    fs::copy(map, out.join("memory.x")).expect("the memory map is readable");
    println!("cargo:rustc-link-search={}", out.display());
    for map in ["memory-board.x", "memory-512k.x", "memory-256k.x"] {
        println!("cargo:rerun-if-changed={map}");
    }
    println!("cargo:rerun-if-changed=models");
    println!("cargo:rerun-if-env-changed=EDGEML_FIRMWARE_MODELS");
    let models = PathBuf::from(env::var_os("EDGEML_FIRMWARE_MODELS").unwrap_or("models".into()));
    let bytes = fs::read(models.join("lgb500.bin"))
        .expect("models/lgb500.bin is committed; `edgeml export` rewrites it");
    fs::write(out.join("lgb500.rs"), lgb500_source(&bytes)).expect("OUT_DIR is writable");
}

/// Rust source of the static arrays of the model in `bytes`.
fn lgb500_source(bytes: &[u8]) -> String {
    let header = serial::header(bytes).expect("lgb500.bin has a valid header");
    let mut nodes = vec![Node::default(); header.n_nodes];
    let mut roots = vec![0u32; header.n_trees];
    let mut base = vec![0.0f32; header.n_base];
    let model = serial::load(bytes, &mut nodes, &mut roots, &mut base).expect("lgb500.bin");
    let mut s = format!(
        "/// How the trees combine.\npub const KIND: ModelKind = ModelKind::{:?};\n\
         /// Features per row.\npub const FEATURES: usize = {};\n\
         /// Scores per row.\npub const OUTPUTS: usize = {};\n\
         /// First node of each tree.\npub static ROOTS: [u32; {}] = {:?};\n\
         /// Base scores.\npub static BASE: [f32; {}] = [",
        model.kind(),
        model.n_features(),
        model.n_outputs(),
        model.roots().len(),
        model.roots(),
        model.base().len()
    );
    for b in model.base() {
        write!(s, "f32::from_bits({:#x}), ", b.to_bits()).unwrap();
    }
    s.push_str("];\n");
    writeln!(s, "/// Every tree's nodes.").unwrap();
    writeln!(s, "pub static NODES: [Node; {}] = [", model.nodes().len()).unwrap();
    for n in model.nodes() {
        writeln!(
            s,
            "Node {{ feature: {}, value: f32::from_bits({:#x}), left: {} }},",
            n.feature,
            n.value.to_bits(),
            n.left
        )
        .unwrap();
    }
    s.push_str("];\n");
    s
}
