//! Read-only MLPs over borrowed bytes and the batch-1 kernel: the blocked kernel equals the
//! scalar reference bit for bit for every stored weight type, and the reference is within
//! rounding of an f64 sum; `MlpView` agrees with the loaded `Mlp` (f32, f16, bf16, with and
//! without batch norm), gives identical results from aligned and unaligned bytes, and refuses
//! corrupt or non-finite bytes with `Corrupt`.

use edgeml_core::kernels::matvec::{
    dense, dense_reference, Bf16Bits, F16Bits, Fused, LeBf16, LeF16, LeF32, Widen,
};
use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::serialize::{crc32, serialized_len};
use edgeml_core::nn::{
    inference_scratch_len, view_scratch_len, Activation, Dtype, Loss, Mlp, MlpView, Optimizer,
    Targets, Topology, TrainConfig, Trainer,
};
use edgeml_core::rng::Rng;
use edgeml_core::Error;
use half::{bf16, f16};
use proptest::prelude::*;

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn kernel_agrees<W: Widen>(x: &[f32], w: &[W], b: &[W], fused: Fused) {
    let n = b.len();
    let mut fast = vec![0.0f32; n];
    let mut reference = vec![0.0f32; n];
    dense(x, w, b, fused, &mut fast).unwrap();
    dense_reference(x, w, b, fused, &mut reference).unwrap();
    let fast_bits: Vec<u32> = fast.iter().map(|v| v.to_bits()).collect();
    let ref_bits: Vec<u32> = reference.iter().map(|v| v.to_bits()).collect();
    assert_eq!(fast_bits, ref_bits);
    for (o, &r) in reference.iter().enumerate() {
        let mut exact = f64::from(b[o].widen());
        let mut magnitude = exact.abs();
        for (i, &xi) in x.iter().enumerate() {
            let p = f64::from(xi) * f64::from(w[i * n + o].widen());
            exact += p;
            magnitude += p.abs();
        }
        if fused == Fused::Relu {
            exact = exact.max(0.0);
        }
        let bound = 1e-6 * magnitude * (x.len() as f64 + 1.0);
        assert!((f64::from(r) - exact).abs() <= bound, "{r} vs {exact}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The blocked kernel (blocks of 8, 4, 1 outputs) equals the reference bit for bit for
    /// every weight storage, and the reference is an f32 rounding of the exact sum.
    #[test]
    fn blocked_kernel_equals_reference(k in 0usize..40, n in 1usize..30, relu: bool, seed: u64) {
        let mut rng = Rng::new(seed);
        let x = random(&mut rng, k);
        let w = random(&mut rng, k * n);
        let b = random(&mut rng, n);
        let fused = if relu { Fused::Relu } else { Fused::Identity };
        kernel_agrees(&x, &w, &b, fused);
        let le = |v: &[f32]| v.iter().map(|v| LeF32(v.to_le_bytes())).collect::<Vec<_>>();
        kernel_agrees(&x, &le(&w), &le(&b), fused);
        let h = |v: &[f32]| v.iter().map(|v| F16Bits(f16::from_f32(*v).to_bits())).collect::<Vec<_>>();
        kernel_agrees(&x, &h(&w), &h(&b), fused);
        let hl = |v: &[f32]| v.iter().map(|v| LeF16(f16::from_f32(*v).to_le_bytes())).collect::<Vec<_>>();
        kernel_agrees(&x, &hl(&w), &hl(&b), fused);
        let bf = |v: &[f32]| v.iter().map(|v| Bf16Bits(bf16::from_f32(*v).to_bits())).collect::<Vec<_>>();
        kernel_agrees(&x, &bf(&w), &bf(&b), fused);
        let bl = |v: &[f32]| v.iter().map(|v| LeBf16(bf16::from_f32(*v).to_le_bytes())).collect::<Vec<_>>();
        kernel_agrees(&x, &bl(&w), &bl(&b), fused);
    }

    /// f16 widening is exact for every finite half, subnormals and signed zeros included.
    #[test]
    fn f16_widening_is_exact(bits: u16) {
        let h = f16::from_bits(bits);
        prop_assume!(h.is_finite());
        prop_assert_eq!(F16Bits(bits).widen().to_bits(), h.to_f32().to_bits());
        prop_assert!(F16Bits(bits).is_finite());
    }
}

#[test]
fn kernel_refuses_inconsistent_shapes() {
    let mut y = [0.0f32; 3];
    let r = dense(
        &[1.0, 2.0],
        &[0.0f32; 5],
        &[0.0f32; 3],
        Fused::Identity,
        &mut y,
    );
    assert_eq!(
        r,
        Err(Error::ShapeMismatch {
            expected: 6,
            found: 5
        })
    );
    let r = dense(
        &[1.0, 2.0],
        &[0.0f32; 6],
        &[0.0f32; 2],
        Fused::Identity,
        &mut y,
    );
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
}

/// A trained (running statistics moved) random model.
fn model(sizes: &[usize], acts: &[Activation], bn: bool, seed: u64) -> (Topology, Vec<f32>) {
    let topo = Topology::new(sizes, acts)
        .unwrap()
        .with_batch_norm(bn)
        .unwrap();
    let mut buf = vec![0.0f32; topo.model_len()];
    let mut rng = Rng::new(seed);
    let mut mlp = Mlp::new(topo, &mut buf).unwrap();
    mlp.init(&mut rng);
    let config = TrainConfig::new(4, Loss::MeanSquaredError, Optimizer::sgd(0.05));
    let mut tbuf = vec![0.0f32; config.trainer_len(&topo)];
    let mut trainer = Trainer::new(topo, config, &mut tbuf).unwrap();
    let x = random(&mut rng, 4 * topo.inputs());
    let t = random(&mut rng, 4 * topo.outputs());
    for _ in 0..3 {
        trainer
            .step(&mut mlp, &x, Targets::Values(&t), &mut rng)
            .unwrap();
    }
    (topo, buf)
}

fn save(topo: Topology, buf: &mut [f32], dtype: Dtype) -> Vec<u8> {
    let mlp = Mlp::new(topo, buf).unwrap();
    let mut bytes = vec![0u8; serialized_len(&topo, dtype).unwrap()];
    mlp.save(dtype, &mut bytes).unwrap();
    bytes
}

/// `bytes` copied to an odd address.
fn misaligned(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut store = vec![0u8; bytes.len() + 8];
    let start = (0..8)
        .find(|&s| (store.as_ptr() as usize + s) % 4 == 1)
        .unwrap();
    store[start..start + bytes.len()].copy_from_slice(bytes);
    (store, start)
}

fn arch() -> impl Strategy<Value = (Vec<usize>, Vec<Activation>, bool, u64)> {
    (1usize..=3, any::<bool>(), any::<u64>()).prop_flat_map(|(depth, bn, seed)| {
        (
            prop::collection::vec(1usize..=12, depth + 1),
            prop::collection::vec(prop::sample::select(Activation::ALL.to_vec()), depth),
            Just(bn),
            Just(seed),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The view over the bytes agrees with the loaded model (same weights, sums in another
    /// order), and aligned and unaligned bytes give identical outputs.
    #[test]
    fn view_agrees_with_loaded_model((sizes, acts, bn, seed) in arch()) {
        let (topo, mut buf) = model(&sizes, &acts, bn, seed);
        for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            let bytes = save(topo, &mut buf, dtype);
            let mut loaded = vec![0.0f32; topo.model_len()];
            let mlp = Mlp::load(&bytes, &mut loaded).unwrap();
            let view = MlpView::new(&bytes).unwrap();
            prop_assert_eq!(view.topology(), &topo);
            let (store, start) = misaligned(&bytes);
            let odd = MlpView::new(&store[start..start + bytes.len()]).unwrap();
            prop_assert!(!(view.aligned() && odd.aligned()));
            let mut rng = Rng::new(seed ^ 1);
            let x = random(&mut rng, topo.inputs());
            let mut expected = vec![0.0f32; topo.outputs()];
            let mut scratch = vec![0.0f32; inference_scratch_len(topo.sizes(), 1)];
            mlp.forward(Dispatch::PORTABLE, &x, &mut scratch, &mut expected).unwrap();
            let mut got = vec![0.0f32; topo.outputs()];
            let mut vs = vec![0.0f32; view_scratch_len(topo.sizes())];
            view.forward(&x, &mut vs, &mut got).unwrap();
            let mut got_odd = vec![0.0f32; topo.outputs()];
            odd.forward(&x, &mut vs, &mut got_odd).unwrap();
            prop_assert_eq!(&got, &got_odd);
            for (g, e) in got.iter().zip(&expected) {
                prop_assert!((g - e).abs() <= 1e-4 * (1.0 + e.abs()), "{} vs {}", g, e);
            }
        }
    }

    /// Every single-byte change is refused with `Corrupt` (the checksum covers every byte).
    #[test]
    fn view_refuses_any_byte_change(at in any::<prop::sample::Index>(), flip in 1u8..=255, seed: u64) {
        let (topo, mut buf) = model(&[3, 4, 2], &[Activation::Relu, Activation::Identity], false, seed);
        let mut bytes = save(topo, &mut buf, Dtype::F16);
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        let refused = matches!(MlpView::new(&bytes), Err(Error::Corrupt { .. }));
        prop_assert!(refused);
    }
}

#[test]
fn view_refuses_non_finite_weights_with_a_valid_checksum() {
    let (topo, mut buf) = model(
        &[3, 4, 2],
        &[Activation::Relu, Activation::Identity],
        false,
        9,
    );
    buf[5] = f32::INFINITY;
    let mut bytes = save(topo, &mut buf, Dtype::F32);
    let body = bytes.len() - 4;
    let crc = crc32(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        MlpView::new(&bytes).err(),
        Some(Error::Corrupt {
            reason: "non-finite value"
        })
    );
    for n in 0..bytes.len() {
        assert!(matches!(
            MlpView::new(&bytes[..n]),
            Err(Error::Corrupt { .. })
        ));
    }
}

#[test]
fn view_refuses_wrong_shapes_and_short_scratch() {
    let (topo, mut buf) = model(
        &[3, 4, 2],
        &[Activation::Relu, Activation::Identity],
        false,
        3,
    );
    let bytes = save(topo, &mut buf, Dtype::F32);
    let view = MlpView::new(&bytes).unwrap();
    let mut scratch = vec![0.0f32; view_scratch_len(topo.sizes())];
    let mut out = [0.0f32; 2];
    assert!(matches!(
        view.forward(&[0.0; 4], &mut scratch, &mut out),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        view.forward(&[0.0, f32::NAN, 0.0], &mut scratch, &mut out),
        Err(Error::NonFinite { index: 1 })
    ));
    assert!(matches!(
        view.forward(&[0.0; 3], &mut scratch[..3], &mut out),
        Err(Error::BufferTooSmall { .. })
    ));
}
