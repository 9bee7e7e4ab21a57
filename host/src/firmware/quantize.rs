//! int8 post-training quantization of the Fashion-MNIST MLP for the firmware: activation
//! ranges calibrated on training images through the f32 model, then the core's writer
//! ([`edgeml_core::nn::quant`]); and the accuracy of the f32 and int8 models on a split, run
//! through the same core code the firmware runs.

use super::dims::FASHION_D;
use super::fashion::{self, Split};
use anyhow::{ensure, Result};
use edgeml_core::nn::quant::{
    observe, observe_scratch_len, quant_expanded_len, quant_scratch_len, quantize, quantized_len,
};
use edgeml_core::nn::{view_scratch_len, MlpView, QuantMlp, QuantScratch};

/// The int8 model of the f32/f16/bf16 MLP `bytes`, calibrated on `images` (`n × 784` pixels,
/// scaled as the firmware scales them).
pub fn calibrate(bytes: &[u8], images: &[u8]) -> Result<Vec<u8>> {
    let view = MlpView::new(bytes)?;
    let sizes = view.topology().sizes();
    ensure!(sizes[0] == FASHION_D, "the MLP takes {} inputs", sizes[0]);
    let mut ranges = vec![(0.0f32, 0.0f32); sizes.len()];
    let mut scratch = vec![0.0f32; observe_scratch_len(sizes)];
    for image in images.chunks_exact(FASHION_D) {
        observe(&view, &fashion::scale(image), &mut scratch, &mut ranges)?;
    }
    let mut out = vec![0u8; quantized_len(sizes)];
    quantize(&view, &ranges, &mut out)?;
    Ok(out)
}

/// Runs one int8 model on scaled images, reusing its scratch.
pub struct Int8Runner<'a> {
    model: QuantMlp<'a>,
    xq: Vec<i8>,
    activations: Vec<i8>,
    expanded: Vec<i16>,
}

impl<'a> Int8Runner<'a> {
    /// Validates `bytes` (written by [`calibrate`]).
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let model = QuantMlp::new(bytes)?;
        let sizes = model.topology().sizes();
        Ok(Int8Runner {
            xq: vec![0; sizes[0]],
            activations: vec![0; quant_scratch_len(sizes)],
            expanded: vec![0; quant_expanded_len(sizes)],
            model,
        })
    }

    /// The int8 outputs for the scaled image `x`, written into `out`.
    pub fn run(&mut self, x: &[f32], out: &mut [i8]) -> Result<()> {
        self.model.quantize_input(x, &mut self.xq)?;
        let scratch = QuantScratch {
            activations: &mut self.activations,
            expanded: &mut self.expanded,
        };
        Ok(self.model.forward(&self.xq, scratch, out)?)
    }
}

/// Index of the first largest value.
pub fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Correct classes of the f32 MLP `f32_bytes` and of the int8 MLP `i8_bytes` over `split`.
pub fn correct(f32_bytes: &[u8], i8_bytes: &[u8], split: &Split) -> Result<(usize, usize)> {
    let view = MlpView::new(f32_bytes)?;
    let mut runner = Int8Runner::new(i8_bytes)?;
    let outputs = view.topology().outputs();
    let mut scratch = vec![0.0f32; view_scratch_len(view.topology().sizes())];
    let (mut logits, mut q) = (vec![0.0f32; outputs], vec![0i8; outputs]);
    let (mut c32, mut c8) = (0, 0);
    for (image, &label) in split.images.chunks_exact(FASHION_D).zip(&split.labels) {
        let x = fashion::scale(image);
        view.forward(&x, &mut scratch, &mut logits)?;
        runner.run(&x, &mut q)?;
        c32 += usize::from(argmax(&logits) == usize::from(label));
        c8 += usize::from(argmax(&q) == usize::from(label));
    }
    Ok((c32, c8))
}
