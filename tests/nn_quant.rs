//! int8 post-training quantization: the fixed-point requantization against exact rational
//! arithmetic, the two-rows-at-a-time int8 kernel (and, built with `arm-dsp` on Arm, its DSP
//! form) equal to the element-by-element reference, quantized MLPs close to their f32 model,
//! and corrupt bytes refused.

use edgeml_core::kernels::matvec_s8::{
    dense_s8, dense_s8_reference, expand_input, quantize_multiplier, requantize, Channel,
    OutputQuant, CHANNEL_BYTES,
};
use edgeml_core::nn::quant::{
    observe, observe_scratch_len, quant_expanded_len, quant_scratch_len, quantize, quantized_len,
};
use edgeml_core::nn::serialize::serialized_len;
use edgeml_core::nn::{
    view_scratch_len, Activation, Dtype, Mlp, MlpView, QuantMlp, QuantScratch, TensorQuant,
    Topology,
};
use edgeml_core::rng::Rng;
use edgeml_core::Error;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The Q31 multiplier and shift represent `m` to within 2⁻³¹ relative.
    #[test]
    fn multiplier_represents_the_real_scale(m in 1e-9f64..1e6) {
        let (fixed, shift) = quantize_multiplier(m).unwrap();
        prop_assert!((1 << 30..=i32::MAX).contains(&fixed));
        let represented = f64::from(fixed) / 2f64.powi(31) * 2f64.powi(shift);
        prop_assert!((represented - m).abs() <= m * 2f64.powi(-30), "{} vs {}", represented, m);
    }

    /// Requantization is within one unit of the exact product `x·fixed·2^(shift−31)`, and
    /// exact when that product is an integer plus less than a quarter.
    #[test]
    fn requantize_rounds_the_exact_product(x in -(1i32 << 24)..(1 << 24), m in 1e-6f64..0.999) {
        let (fixed, shift) = quantize_multiplier(m).unwrap();
        let exact = x as f64 * f64::from(fixed) * 2f64.powi(shift - 31);
        let got = requantize(x, fixed, shift);
        prop_assert!((f64::from(got) - exact).abs() <= 1.0, "{} vs {}", got, exact);
        let frac = (exact - exact.trunc()).abs();
        if frac < 0.25 {
            prop_assert_eq!(f64::from(got), exact.trunc());
        }
    }

    /// The expanded-input kernel (two outputs at a time, groups of four) equals the reference
    /// for any sizes, zero points and channel parameters.
    #[test]
    fn int8_kernel_equals_reference(
        k in 0usize..50,
        n in 1usize..12,
        zx in -128i32..=127,
        zy in -128i32..=127,
        relu: bool,
        seed: u64,
    ) {
        let mut rng = Rng::new(seed);
        let byte = |rng: &mut Rng| (rng.next_u64() & 0xFF) as u8;
        let x: Vec<i8> = (0..k).map(|_| byte(&mut rng) as i8).collect();
        let w: Vec<u8> = (0..k * n).map(|_| byte(&mut rng)).collect();
        let mut channels = Vec::new();
        for _ in 0..n {
            let m = 1e-4 + rng.uniform(0.0, 0.5) as f64;
            let (multiplier, shift) = quantize_multiplier(m).unwrap();
            let bias = (rng.next_u64() % 20001) as i32 - 10000;
            channels.extend(Channel { bias, multiplier, shift }.to_le_bytes());
        }
        let q = OutputQuant { zero: zy, min: if relu { zy as i8 } else { -128 } };
        let mut expanded = vec![0i16; k];
        expand_input(&x, zx, &mut expanded).unwrap();
        let mut fast = vec![0i8; n];
        let mut reference = vec![0i8; n];
        dense_s8(&expanded, &w, &channels, q, &mut fast).unwrap();
        dense_s8_reference(&x, zx, &w, &channels, q, &mut reference).unwrap();
        prop_assert_eq!(fast, reference);
    }
}

#[test]
fn int8_kernel_refuses_inconsistent_shapes() {
    let q = OutputQuant { zero: 0, min: -128 };
    let mut y = [0i8; 2];
    let channels = [0u8; 2 * CHANNEL_BYTES];
    let r = dense_s8(&[0i16; 3], &[0u8; 5], &channels, q, &mut y);
    assert_eq!(
        r,
        Err(Error::ShapeMismatch {
            expected: 6,
            found: 5
        })
    );
    let r = dense_s8(&[0i16; 3], &[0u8; 6], &channels[..12], q, &mut y);
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
}

/// A random f32 MLP (ReLU hidden layers), saved in f32.
fn f32_model(sizes: &[usize], seed: u64) -> Vec<u8> {
    let mut acts = vec![Activation::Relu; sizes.len() - 2];
    acts.push(Activation::Identity);
    let topo = Topology::new(sizes, &acts).unwrap();
    let mut buf = vec![0.0f32; topo.model_len()];
    let mut mlp = Mlp::new(topo, &mut buf).unwrap();
    mlp.init(&mut Rng::new(seed));
    for b in mlp
        .buffer_mut()
        .iter_mut()
        .skip(sizes[0] * sizes[1])
        .take(sizes[1])
    {
        *b = 0.1;
    }
    let mut bytes = vec![0u8; serialized_len(&topo, Dtype::F32).unwrap()];
    mlp.save(Dtype::F32, &mut bytes).unwrap();
    bytes
}

struct Quantized {
    bytes: Vec<u8>,
    rows: Vec<Vec<f32>>,
}

fn quantized(sizes: &[usize], seed: u64, f32_bytes: &[u8]) -> Quantized {
    let view = MlpView::new(f32_bytes).unwrap();
    let mut rng = Rng::new(seed ^ 7);
    let rows: Vec<Vec<f32>> = (0..64)
        .map(|_| (0..sizes[0]).map(|_| rng.uniform(0.0, 1.0)).collect())
        .collect();
    let mut ranges = vec![(0.0f32, 0.0f32); sizes.len()];
    let mut scratch = vec![0.0f32; observe_scratch_len(sizes)];
    for r in &rows {
        observe(&view, r, &mut scratch, &mut ranges).unwrap();
    }
    let mut bytes = vec![0u8; quantized_len(sizes)];
    assert_eq!(quantize(&view, &ranges, &mut bytes).unwrap(), bytes.len());
    Quantized { bytes, rows }
}

fn run(q: &QuantMlp, x: &[i8], reference: bool) -> Vec<i8> {
    let sizes = q.topology().sizes();
    let mut act = vec![0i8; quant_scratch_len(sizes)];
    let mut expanded = vec![0i16; quant_expanded_len(sizes)];
    let mut out = vec![0i8; q.topology().outputs()];
    let scratch = QuantScratch {
        activations: &mut act,
        expanded: &mut expanded,
    };
    if reference {
        q.forward_reference(x, scratch, &mut out).unwrap();
    } else {
        q.forward(x, scratch, &mut out).unwrap();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The quantized model's fast path equals its reference path, and its dequantized outputs
    /// stay within a few output quantization steps (plus 3 % of the output range) of the f32
    /// model on the calibration rows.
    #[test]
    fn quantized_mlp_tracks_the_f32_model(
        sizes in prop::collection::vec(1usize..40, 3..=4),
        seed: u64,
    ) {
        let f32_bytes = f32_model(&sizes, seed);
        let view = MlpView::new(&f32_bytes).unwrap();
        let qz = quantized(&sizes, seed, &f32_bytes);
        let q = QuantMlp::new(&qz.bytes).unwrap();
        let out_q = q.tensor_quant(sizes.len() - 1).unwrap();
        let range = 255.0 * out_q.scale;
        let mut scratch = vec![0.0f32; view_scratch_len(&sizes)];
        for row in &qz.rows {
            let mut xq = vec![0i8; sizes[0]];
            q.quantize_input(row, &mut xq).unwrap();
            let fast = run(&q, &xq, false);
            prop_assert_eq!(&fast, &run(&q, &xq, true));
            let mut expected = vec![0.0f32; *sizes.last().unwrap()];
            view.forward(row, &mut scratch, &mut expected).unwrap();
            for (&g, &e) in fast.iter().zip(&expected) {
                let got = out_q.dequantize(g);
                let bound = 4.0 * out_q.scale + 0.03 * range;
                prop_assert!((got - e).abs() <= bound, "{} vs {} (bound {})", got, e, bound);
            }
        }
    }

    /// Every single-byte change and every truncation is refused with `Corrupt`.
    #[test]
    fn quantized_bytes_refuse_any_change(at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let sizes = [5, 6, 3];
        let f32_bytes = f32_model(&sizes, 4);
        let mut bytes = quantized(&sizes, 4, &f32_bytes).bytes;
        let i = at.index(bytes.len());
        let refused = matches!(QuantMlp::new(&bytes[..i]), Err(Error::Corrupt { .. }));
        prop_assert!(refused);
        bytes[i] ^= flip;
        let refused = matches!(QuantMlp::new(&bytes), Err(Error::Corrupt { .. }));
        prop_assert!(refused);
    }
}

#[test]
fn tensor_quantization_covers_its_range() {
    let q = TensorQuant::from_range(0.0, 1.0);
    assert_eq!(q.zero, -128);
    assert_eq!(q.quantize(0.0), -128);
    assert_eq!(q.quantize(1.0), 127);
    assert_eq!(q.quantize(f32::NAN), -128);
    let q = TensorQuant::from_range(-3.0, 5.0);
    for v in [-3.0f32, -1.0, 0.0, 2.5, 5.0] {
        assert!((q.dequantize(q.quantize(v)) - v).abs() <= q.scale / 2.0 + 1e-6);
    }
    assert_eq!(q.dequantize(q.quantize(0.0)), 0.0);
}

#[test]
fn quantization_refuses_smooth_activations() {
    let topo = Topology::new(&[2, 3, 1], &[Activation::Tanh, Activation::Identity]).unwrap();
    let mut buf = vec![0.0f32; topo.model_len()];
    let mlp = Mlp::new(topo, &mut buf).unwrap();
    let mut bytes = vec![0u8; serialized_len(&topo, Dtype::F32).unwrap()];
    mlp.save(Dtype::F32, &mut bytes).unwrap();
    let view = MlpView::new(&bytes).unwrap();
    let mut out = vec![0u8; quantized_len(topo.sizes())];
    let r = quantize(&view, &[(0.0, 1.0); 3], &mut out);
    assert!(matches!(r, Err(Error::InvalidParameter { .. })));
    let r = quantize(&view, &[(0.0, 1.0); 2], &mut out);
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
}
