//! Model serialization: bit-exact f32 round trips (and f16/bf16 round trips equal to rounding
//! each value), identical inference after loading, and rejection of every single-byte
//! corruption and every truncation with `Error::Corrupt`; header edits with a recomputed
//! checksum either load or are `Corrupt`, never panic.

use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::serialize::{crc32, read_header, serialized_len};
use edgeml_core::nn::{
    inference_scratch_len, Activation, Dtype, Loss, Mlp, Optimizer, Targets, Topology, TrainConfig,
    Trainer,
};
use edgeml_core::rng::Rng;
use edgeml_core::Error;
use half::{bf16, f16};
use proptest::prelude::*;

/// A trained (so running statistics are not at their initial values) random small model.
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
    let x: Vec<f32> = (0..4 * topo.inputs())
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    let t: Vec<f32> = (0..4 * topo.outputs())
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
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
    assert_eq!(mlp.save(dtype, &mut bytes).unwrap(), bytes.len());
    bytes
}

fn arch() -> impl Strategy<Value = (Vec<usize>, Vec<Activation>, bool, u64)> {
    (1usize..=3, any::<bool>(), any::<u64>()).prop_flat_map(|(depth, bn, seed)| {
        (
            prop::collection::vec(1usize..=8, depth + 1),
            prop::collection::vec(prop::sample::select(Activation::ALL.to_vec()), depth),
            Just(bn),
            Just(seed),
        )
    })
}

fn round(dtype: Dtype, v: f32) -> f32 {
    match dtype {
        Dtype::F32 => v,
        Dtype::F16 => f16::from_f32(v).to_f32(),
        Dtype::Bf16 => bf16::from_f32(v).to_f32(),
    }
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Saving then loading gives the same topology and each value rounded to the dtype (bit
    /// for bit in f32); saving the loaded model gives the same bytes; inference agrees.
    #[test]
    fn round_trip((sizes, acts, bn, seed) in arch(), dtype in prop::sample::select(vec![Dtype::F32, Dtype::F16, Dtype::Bf16])) {
        let (topo, mut buf) = model(&sizes, &acts, bn, seed);
        let bytes = save(topo, &mut buf, dtype);
        let mut loaded = vec![0.0f32; topo.model_len()];
        let mlp = Mlp::load(&bytes, &mut loaded).unwrap();
        prop_assert_eq!(mlp.topology(), &topo);
        for (a, &b) in mlp.buffer().iter().zip(&buf) {
            prop_assert_eq!(a.to_bits(), round(dtype, b).to_bits());
        }
        let mut again = vec![0u8; bytes.len()];
        mlp.save(dtype, &mut again).unwrap();
        prop_assert_eq!(&again, &bytes);
        if dtype == Dtype::F32 {
            let original = Mlp::new(topo, &mut buf).unwrap();
            let rows = 3;
            let x: Vec<f32> = (0..rows * topo.inputs()).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut scratch = vec![0.0f32; inference_scratch_len(topo.sizes(), rows)];
            let (mut o1, mut o2) = (vec![0.0f32; rows * topo.outputs()], vec![0.0f32; rows * topo.outputs()]);
            original.forward(Dispatch::PORTABLE, &x, &mut scratch, &mut o1).unwrap();
            mlp.forward(Dispatch::PORTABLE, &x, &mut scratch, &mut o2).unwrap();
            prop_assert_eq!(o1, o2);
        }
    }

    /// Any change of any single byte is rejected as corrupt.
    #[test]
    fn every_single_byte_corruption_is_rejected((sizes, acts, bn, seed) in arch(), position in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (topo, mut buf) = model(&sizes, &acts, bn, seed);
        let mut bytes = save(topo, &mut buf, Dtype::F32);
        let at = position.index(bytes.len());
        bytes[at] ^= flip;
        let mut loaded = vec![0.0f32; topo.model_len()];
        prop_assert!(matches!(Mlp::load(&bytes, &mut loaded), Err(Error::Corrupt { .. })), "byte {at}");
    }

    /// Every truncation, and any appended bytes, are rejected as corrupt.
    #[test]
    fn truncations_and_extensions_are_rejected((sizes, acts, bn, seed) in arch(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        let (topo, mut buf) = model(&sizes, &acts, bn, seed);
        let bytes = save(topo, &mut buf, Dtype::F16);
        let mut loaded = vec![0.0f32; topo.model_len()];
        for len in 0..bytes.len() {
            prop_assert!(matches!(Mlp::load(&bytes[..len], &mut loaded), Err(Error::Corrupt { .. })), "length {len}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(matches!(Mlp::load(&longer, &mut loaded), Err(Error::Corrupt { .. })), "appended bytes");
    }

    /// Header edits that keep the checksum valid either describe a valid model (and load) or
    /// are rejected as corrupt; nothing panics.
    #[test]
    fn header_edits_with_valid_checksum_never_panic((sizes, acts, bn, seed) in arch(), position in any::<prop::sample::Index>(), value in any::<u8>()) {
        let (topo, mut buf) = model(&sizes, &acts, bn, seed);
        let mut bytes = save(topo, &mut buf, Dtype::F32);
        let header = 10 + 4 * sizes.len() + acts.len();
        let at = position.index(header);
        bytes[at] = value;
        let body = bytes.len() - 4;
        let crc = crc32(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
        let mut loaded = vec![0.0f32; 1 << 12];
        match Mlp::load(&bytes, &mut loaded) {
            Ok(m) => prop_assert_eq!(m.topology().sizes(), topo.sizes()),
            Err(e) => prop_assert!(matches!(e, Error::Corrupt { .. }), "{e:?}"),
        }
    }
}

#[test]
fn non_finite_weights_and_bad_buffers() {
    let acts = [Activation::Relu, Activation::Identity];
    let (topo, mut buf) = model(&[3, 4, 2], &acts, false, 1);
    let mut bytes = save(topo, &mut buf, Dtype::F32);
    let first_weight = 10 + 4 * 3 + 2;
    bytes[first_weight..first_weight + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let body = bytes.len() - 4;
    let crc = crc32(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
    let mut loaded = vec![0.0f32; topo.model_len()];
    assert!(matches!(
        Mlp::load(&bytes, &mut loaded),
        Err(Error::Corrupt { .. })
    ));
    let good = save(topo, &mut buf, Dtype::F32);
    assert_eq!(read_header(&good).unwrap().0, topo);
    assert!(matches!(
        Mlp::load(&good, &mut loaded[..topo.model_len() - 1]),
        Err(Error::BufferTooSmall { .. })
    ));
    let mlp = Mlp::new(topo, &mut buf).unwrap();
    let mut short = vec![0u8; good.len() - 1];
    assert!(matches!(
        mlp.save(Dtype::F32, &mut short),
        Err(Error::BufferTooSmall { .. })
    ));
}
