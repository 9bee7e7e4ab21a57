//! The Fashion-MNIST MLP straight from flash: f32 and f16 weights through `MlpView`, int8
//! through `QuantMlp`, with no copy of the model in RAM. Each variant's RAM is one static
//! (the input row, activations and scratch, sized by the core's `const fn`s), taken once.

use crate::data;
use crate::dims::*;
use crate::measure::Counter;
use crate::out::{argmax, prediction};
use core::sync::atomic::{AtomicBool, Ordering};
use cortex_m_semihosting::hprintln;
use edgeml_core::nn::quant::{quant_expanded_len, quant_scratch_len};
use edgeml_core::nn::{view_scratch_len, MlpView, QuantMlp, QuantScratch};
use edgeml_core::{Error, Result};

/// Scratch of the f32/f16 MLP (`f32`s).
pub const SCRATCH: usize = view_scratch_len(&MLP_SIZES);
/// Activation scratch of the int8 MLP (`i8`s).
pub const INT8_ACTIVATIONS: usize = quant_scratch_len(&MLP_SIZES);
/// Widened-input scratch of the int8 MLP (`i16`s).
pub const INT8_EXPANDED: usize = quant_expanded_len(&MLP_SIZES);

/// RAM of the f32/f16 MLP.
pub struct FloatRam {
    /// One image scaled to [0, 1].
    pub image: [f32; FASHION_D],
    /// Hidden activations.
    pub scratch: [f32; SCRATCH],
    /// Output logits.
    pub logits: [f32; FASHION_CLASSES],
}

/// RAM of the int8 MLP.
pub struct Int8Ram {
    /// One image, quantized.
    pub image: [i8; FASHION_D],
    /// Hidden activations.
    pub activations: [i8; INT8_ACTIVATIONS],
    /// The widened layer input.
    pub expanded: [i16; INT8_EXPANDED],
    /// Output values.
    pub out: [i8; FASHION_CLASSES],
}

static mut FLOAT: FloatRam = FloatRam {
    image: [0.0; FASHION_D],
    scratch: [0.0; SCRATCH],
    logits: [0.0; FASHION_CLASSES],
};
static FLOAT_TAKEN: AtomicBool = AtomicBool::new(false);

static mut INT8: Int8Ram = Int8Ram {
    image: [0; FASHION_D],
    activations: [0; INT8_ACTIVATIONS],
    expanded: [0; INT8_EXPANDED],
    out: [0; FASHION_CLASSES],
};
static INT8_TAKEN: AtomicBool = AtomicBool::new(false);

fn float_ram() -> Result<&'static mut FloatRam> {
    if FLOAT_TAKEN.swap(true, Ordering::AcqRel) {
        return Err(Error::Empty);
    }
    // SAFETY: the flag above lets exactly one caller through, so this is the only reference.
    Ok(unsafe { &mut *core::ptr::addr_of_mut!(FLOAT) })
}

fn int8_ram() -> Result<&'static mut Int8Ram> {
    if INT8_TAKEN.swap(true, Ordering::AcqRel) {
        return Err(Error::Empty);
    }
    // SAFETY: as in `float_ram`.
    Ok(unsafe { &mut *core::ptr::addr_of_mut!(INT8) })
}

fn embedded_images() -> Result<()> {
    if data::FASHION_X.len() == FASHION_N * FASHION_D && data::FASHION_Y.len() == FASHION_N {
        Ok(())
    } else {
        Err(Error::Corrupt {
            reason: "embedded data length disagrees with dims.rs",
        })
    }
}

/// The f32 and f16 MLPs (`models`: name and bytes) on every embedded image.
pub fn float(counter: &Counter, models: &[(&str, &[u8])]) -> Result<()> {
    embedded_images()?;
    let ram = float_ram()?;
    for &(name, bytes) in models {
        let (mlp, check) = counter.count(|| MlpView::new(bytes));
        let mlp = mlp?;
        hprintln!("# instructions mlp_{}_check {}", name, check);
        let mut correct = 0;
        let images = data::FASHION_X.chunks_exact(FASHION_D);
        for (i, (pixels, &label)) in images.zip(data::FASHION_Y).enumerate() {
            for (x, &p) in ram.image.iter_mut().zip(pixels) {
                *x = f32::from(p) / 255.0;
            }
            let (result, n) =
                counter.count(|| mlp.forward(&ram.image, &mut ram.scratch, &mut ram.logits));
            result?;
            if i == 0 {
                hprintln!("# instructions mlp_{}_inference {}", name, n);
            }
            let class = argmax(&ram.logits);
            correct += usize::from(class == usize::from(label));
            prediction(format_args!("mlp {name} {i}"), class, &ram.logits);
        }
        hprintln!("acc mlp {} {} {}", name, correct, FASHION_N);
    }
    Ok(())
}

/// The int8 MLP on every embedded image: pixels scaled as for f32, then quantized.
pub fn int8(counter: &Counter) -> Result<()> {
    embedded_images()?;
    let ram = int8_ram()?;
    let (mlp, check) = counter.count(|| QuantMlp::new(data::MLP_I8));
    let mlp = mlp?;
    hprintln!("# instructions mlp_i8_check {}", check);
    let input = mlp.tensor_quant(0).ok_or(Error::Empty)?;
    let mut values = [0.0f32; FASHION_CLASSES];
    let mut correct = 0;
    let images = data::FASHION_X.chunks_exact(FASHION_D);
    for (i, (pixels, &label)) in images.zip(data::FASHION_Y).enumerate() {
        for (x, &p) in ram.image.iter_mut().zip(pixels) {
            *x = input.quantize(f32::from(p) / 255.0);
        }
        let scratch = QuantScratch {
            activations: &mut ram.activations,
            expanded: &mut ram.expanded,
        };
        let (result, n) = counter.count(|| mlp.forward(&ram.image, scratch, &mut ram.out));
        result?;
        if i == 0 {
            hprintln!("# instructions mlp_i8_inference {}", n);
        }
        for (v, &q) in values.iter_mut().zip(&ram.out) {
            *v = f32::from(q);
        }
        let class = argmax(&values);
        correct += usize::from(class == usize::from(label));
        prediction(format_args!("mlp i8 {i}"), class, &values);
    }
    hprintln!("acc mlp i8 {} {}", correct, FASHION_N);
    Ok(())
}

/// Static RAM of the f32/f16 MLP and of the int8 MLP, in bytes.
pub const fn ram() -> (usize, usize) {
    (
        core::mem::size_of::<FloatRam>(),
        core::mem::size_of::<Int8Ram>(),
    )
}
