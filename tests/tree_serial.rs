//! The byte format: models (trained with missing values, so default-left flags are set)
//! round-trip to identical arrays and predictions, every truncation, extension and
//! single-byte corruption is rejected as `Corrupt`, and version-1 bytes load only without
//! flags.

mod tree_support;

use edgeml_core::rng::Rng;
use edgeml_core::tree::serial::{crc32, header, load, save, serialized_len, VERSION_NO_FLAGS};
use edgeml_core::tree::{BoostParams, ForestParams, ForestTask, Impurity, Loss, Node, TreeParams};
use edgeml_core::Error;
use proptest::prelude::*;
use tree_support::{boost, forest, uniform_matrix, with_missing, Binned, Owned};

fn trained(kind: u8, seed: u64) -> (Owned, usize) {
    let (n, d) = (120, 3);
    let mut rng = Rng::new(seed);
    let mut x = uniform_matrix(&mut rng, n, d);
    with_missing(&mut rng, &mut x, 0.2);
    let classes: Vec<u32> = x
        .chunks(d)
        .map(|r| u32::from(r[0] > 0.0) + u32::from(r[1] > 0.3 || r[1].is_nan()))
        .collect();
    let y: Vec<f32> = classes.iter().map(|&c| c as f32).collect();
    let binned = Binned::new(&x, n, d, 32).unwrap();
    let tree = TreeParams {
        max_depth: 3,
        max_leaves: 8,
        ..TreeParams::default()
    };
    let boost_params = |loss| BoostParams {
        loss,
        n_rounds: 4,
        learning_rate: 0.3,
        lambda: 1.0,
        tree,
        row_subsample: 0.7,
        start_from_prior: true,
    };
    let forest_params = ForestParams {
        n_trees: 3,
        tree: TreeParams {
            max_features: 2,
            ..tree
        },
        bootstrap: true,
    };
    let binary: Vec<f32> = y.iter().map(|&v| f32::from(u8::from(v > 0.0))).collect();
    let model = match kind % 5 {
        0 => boost(&binned, &y, &boost_params(Loss::Squared), seed, 64).unwrap(),
        1 => boost(&binned, &binary, &boost_params(Loss::Logistic), seed, 64).unwrap(),
        2 => boost(
            &binned,
            &y,
            &boost_params(Loss::Softmax { n_classes: 3 }),
            seed,
            200,
        )
        .unwrap(),
        3 => forest(
            &binned,
            ForestTask::Regress { targets: &y },
            &forest_params,
            seed,
            64,
        )
        .unwrap(),
        _ => {
            let task = ForestTask::Classify {
                labels: &classes,
                n_classes: 3,
                impurity: Impurity::Gini,
            };
            forest(&binned, task, &forest_params, seed, 64).unwrap()
        }
    };
    (model, d)
}

fn bytes_of(model: &Owned) -> Vec<u8> {
    let m = model.model();
    let mut bytes = vec![0u8; serialized_len(&m).unwrap()];
    assert_eq!(save(&m, &mut bytes).unwrap(), bytes.len());
    bytes
}

fn reload(bytes: &[u8]) -> Result<Owned, Error> {
    let mut nodes = vec![Node::default(); 256];
    let mut roots = vec![0u32; 64];
    let mut base = vec![0.0f32; 8];
    let m = load(bytes, &mut nodes, &mut roots, &mut base)?;
    Ok(Owned {
        kind: m.kind(),
        n_features: m.n_features(),
        n_outputs: m.n_outputs(),
        nodes: m.nodes().to_vec(),
        roots: m.roots().to_vec(),
        base: m.base().to_vec(),
        gains: vec![],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn round_trip_is_exact(kind in 0u8..5, seed in any::<u64>()) {
        let (model, d) = trained(kind, seed);
        let back = reload(&bytes_of(&model)).unwrap();
        prop_assert_eq!(back.kind, model.kind);
        prop_assert_eq!((back.n_features, back.n_outputs), (model.n_features, model.n_outputs));
        prop_assert_eq!(&back.roots, &model.roots);
        prop_assert_eq!(back.base.iter().map(|b| b.to_bits()).collect::<Vec<_>>(),
                        model.base.iter().map(|b| b.to_bits()).collect::<Vec<_>>());
        prop_assert_eq!(back.nodes.len(), model.nodes.len());
        for (a, b) in back.nodes.iter().zip(&model.nodes) {
            prop_assert_eq!((a.feature, a.value.to_bits(), a.left), (b.feature, b.value.to_bits(), b.left));
        }
        let mut rng = Rng::new(seed ^ 1);
        let mut queries = uniform_matrix(&mut rng, 100, d);
        with_missing(&mut rng, &mut queries, 0.2);
        for q in queries.chunks(d) {
            let (p, r) = (model.model().predict(q).unwrap(), back.model().predict(q).unwrap());
            prop_assert_eq!(p.to_bits(), r.to_bits());
        }
    }

    #[test]
    fn every_truncation_and_byte_flip_is_rejected(kind in 0u8..5, seed in any::<u64>(), flip in 1u8..=255) {
        let (model, _) = trained(kind, seed);
        let bytes = bytes_of(&model);
        for len in 0..bytes.len() {
            prop_assert!(matches!(reload(&bytes[..len]), Err(Error::Corrupt { .. })), "truncated to {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(matches!(reload(&longer), Err(Error::Corrupt { .. })), "one byte appended");
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            prop_assert!(matches!(reload(&bad), Err(Error::Corrupt { .. })), "byte {i} ^ {flip}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Bytes with a valid checksum but edited contents exercise the structural checks: the
    /// load either fails with `Corrupt` or gives a model whose predictions are errors or
    /// values, never a panic or an endless walk.
    #[test]
    fn edited_bytes_with_fixed_checksum_never_panic(
        kind in 0u8..5, seed in any::<u64>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (model, d) = trained(kind, seed);
        let mut bytes = bytes_of(&model);
        let body = bytes.len() - 4;
        for (at, value) in edits {
            bytes[at.index(body)] = value;
        }
        let crc = crc32(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
        match reload(&bytes) {
            Ok(back) => {
                let mut rng = Rng::new(seed);
                for q in uniform_matrix(&mut rng, 20, d).chunks(d) {
                    let _ = back.model().predict(q);
                }
            }
            Err(e) => prop_assert!(matches!(e, Error::Corrupt { .. }), "{e:?}"),
        }
    }
}

#[test]
fn crc32_matches_the_standard_check_value() {
    // The CRC-32/IEEE check value of "123456789" is published as 0xCBF43926.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn header_sizes_buffers_and_short_buffers_are_errors() {
    let (model, _) = trained(2, 5);
    let bytes = bytes_of(&model);
    let h = header(&bytes).unwrap();
    assert_eq!(
        (h.n_nodes, h.n_trees, h.n_base),
        (model.nodes.len(), model.roots.len(), model.base.len())
    );
    let mut nodes = vec![Node::default(); h.n_nodes - 1];
    let mut roots = vec![0u32; h.n_trees];
    let mut base = vec![0.0f32; h.n_base];
    assert!(matches!(
        load(&bytes, &mut nodes, &mut roots, &mut base),
        Err(Error::CapacityExceeded { .. })
    ));
    let mut short = vec![0u8; bytes.len() - 1];
    assert!(matches!(
        save(&model.model(), &mut short),
        Err(Error::BufferTooSmall { .. })
    ));
}

/// `bytes` relabelled as version 1, with the checksum fixed.
fn as_version_1(bytes: &[u8]) -> Vec<u8> {
    let mut old = bytes.to_vec();
    old[4..6].copy_from_slice(&VERSION_NO_FLAGS.to_le_bytes());
    let body = old.len() - 4;
    let crc = crc32(&old[..body]);
    old[body..].copy_from_slice(&crc.to_le_bytes());
    old
}

#[test]
fn version_1_bytes_load_only_without_default_left_flags() {
    let flagged = (0..40u64)
        .map(|seed| trained(0, seed).0)
        .find(|m| m.nodes.iter().any(|n| n.default_left()))
        .expect("some model learns a default-left split");
    assert!(matches!(
        reload(&as_version_1(&bytes_of(&flagged))),
        Err(Error::Corrupt { .. })
    ));
    let mut plain = flagged.clone();
    for node in &mut plain.nodes {
        node.left = node.left_child();
    }
    let back = reload(&as_version_1(&bytes_of(&plain))).unwrap();
    assert_eq!(back.nodes, plain.nodes);
}
