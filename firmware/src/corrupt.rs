//! Malformed model bytes: corrupted RAM copies of the embedded models must load as errors (a
//! printed error code), never as a model and never as a hard fault.

use crate::data;
use crate::dims::{FASHION_CLASSES, FASHION_D, MLP_SIZES};
use crate::memory::Memory;
use cortex_m_semihosting::hprintln;
use edgeml_core::nn::{view_scratch_len, MlpView, QuantMlp};
use edgeml_core::tree::serial;
use edgeml_core::{Error, Result};

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

/// The f32 and f16 MLPs from RAM copies at every offset 0..4 (aligned, 2-byte aligned, odd)
/// must give the flash models' logits bit for bit on the first image: the assembly blocks for
/// aligned rows, the word-load f16 block and the byte-wise reads all agree.
pub fn unaligned(mem: &mut Memory) -> Result<()> {
    const SCRATCH: usize = view_scratch_len(&MLP_SIZES);
    let mut image = [0.0f32; FASHION_D];
    for (x, &p) in image.iter_mut().zip(data::FASHION_X) {
        *x = f32::from(p) / 255.0;
    }
    let mut scratch = [0.0f32; SCRATCH];
    for (name, model) in [("f32", data::MLP_F32), ("f16", data::MLP_F16)] {
        let mut expected = [0.0f32; FASHION_CLASSES];
        MlpView::new(model)?.forward(&image, &mut scratch, &mut expected)?;
        for offset in 0..4 {
            let copy = mem
                .bytes
                .get_mut(offset..offset + model.len())
                .ok_or(Error::Empty)?;
            copy.copy_from_slice(model);
            let mut got = [0.0f32; FASHION_CLASSES];
            MlpView::new(copy)?.forward(&image, &mut scratch, &mut got)?;
            let same = got
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            if !same {
                return Err(Error::Corrupt {
                    reason: "an unaligned copy of the MLP gives other logits",
                });
            }
        }
        hprintln!("# unaligned mlp_{} offsets 0-3 agree bit for bit", name);
    }
    Ok(())
}
