//! Malformed model bytes: corrupted RAM copies of the embedded models must load as errors (a
//! printed error code), never as a model and never as a hard fault.

use crate::data;
use crate::memory::Memory;
use cortex_m_semihosting::hprintln;
use edgeml_core::nn::{MlpView, QuantMlp};
use edgeml_core::tree::serial;
use edgeml_core::Result;

/// How a copy is damaged: flip the bits of byte `at` (from the start, or the end when
/// negative), or drop the last byte.
#[derive(Clone, Copy)]
enum Damage {
    Flip(isize),
    Truncate,
}

const CASES: [(&str, Damage); 6] = [
    ("magic", Damage::Flip(0)),
    ("version", Damage::Flip(4)),
    ("header", Damage::Flip(8)),
    ("payload", Damage::Flip(200)),
    ("checksum", Damage::Flip(-1)),
    ("truncated", Damage::Truncate),
];

/// Copies `source` into `buffer` with `damage` applied; returns the damaged length.
fn damaged(source: &[u8], buffer: &mut [u8], damage: Damage) -> usize {
    let len = source.len().min(buffer.len());
    if let (Some(dst), Some(src)) = (buffer.get_mut(..len), source.get(..len)) {
        dst.copy_from_slice(src);
    }
    match damage {
        Damage::Flip(at) => {
            let index = if at < 0 {
                len.checked_sub(at.unsigned_abs())
            } else {
                Some(at.unsigned_abs())
            };
            if let Some(b) = index.and_then(|i| buffer.get_mut(i)) {
                *b ^= 0xFF;
            }
            len
        }
        Damage::Truncate => len.saturating_sub(1),
    }
}

fn report(model: &str, case: &str, result: Result<()>) {
    match result {
        Ok(()) => hprintln!("corrupt {} {} accepted", model, case),
        Err(e) => hprintln!("corrupt {} {} error {}", model, case, crate::out::code(&e)),
    }
}

/// Runs every damage case on the f16 MLP, the int8 MLP and the boosted ensemble.
pub fn run(mem: &mut Memory) {
    for (case, damage) in CASES {
        let len = damaged(data::MLP_F16, &mut mem.bytes, damage);
        let bytes = mem.bytes.get(..len).unwrap_or_default();
        report("mlp", case, MlpView::new(bytes).map(|_| ()));
        let len = damaged(data::MLP_I8, &mut mem.bytes, damage);
        let bytes = mem.bytes.get(..len).unwrap_or_default();
        report("mlp_i8", case, QuantMlp::new(bytes).map(|_| ()));
        let len = damaged(data::GBDT, &mut mem.bytes, damage);
        let bytes = mem.bytes.get(..len).unwrap_or_default();
        let loaded = serial::load(bytes, &mut mem.nodes, &mut mem.roots, &mut mem.base);
        report("gbdt", case, loaded.map(|_| ()));
    }
}
