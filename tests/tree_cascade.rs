//! The cascade of boosted classifiers routes each event to the first stage whose score is
//! below its cut (a brute-force minimum over all stages' scores), or past the last stage;
//! batch routing equals per-event routing; bad stages are errors.

mod tree_support;

use edgeml_core::rng::Rng;
use edgeml_core::tree::{BoostParams, Cascade, Loss, Stage, TreeParams};
use edgeml_core::{Error, TensorView};
use proptest::prelude::*;
use tree_support::{boost, uniform_matrix, with_missing, Binned, Owned};

/// A small logistic model whose signal is `x[feature] > 0`.
fn stage_model(x: &[f32], n: usize, d: usize, feature: usize, seed: u64) -> Owned {
    let y: Vec<f32> = x
        .chunks(d)
        .map(|r| f32::from(u8::from(r[feature] > 0.0)))
        .collect();
    let binned = Binned::new(x, n, d, 32).unwrap();
    let params = BoostParams {
        loss: Loss::Logistic,
        n_rounds: 3,
        learning_rate: 0.5,
        lambda: 1.0,
        tree: TreeParams {
            max_depth: 2,
            max_leaves: 4,
            ..TreeParams::default()
        },
        row_subsample: 1.0,
        start_from_prior: true,
    };
    boost(&binned, &y, &params, seed, 32).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn events_stop_at_the_first_stage_below_its_cut(
        n_stages in 1usize..5, d in 1usize..4, seed in any::<u64>(),
        cuts in prop::collection::vec(0.05f32..0.95, 4),
    ) {
        let mut rng = Rng::new(seed);
        let n = 60;
        let x = uniform_matrix(&mut rng, n, d);
        let owned: Vec<Owned> = (0..n_stages).map(|k| stage_model(&x, n, d, k % d, seed ^ k as u64)).collect();
        let stages: Vec<Stage<'_>> = owned.iter().zip(&cuts).map(|(o, &cut)| Stage { model: o.model(), cut }).collect();
        let cascade = Cascade::new(&stages).unwrap();
        let mut events = uniform_matrix(&mut rng, 40, d);
        with_missing(&mut rng, &mut events, 0.1);
        let mut batch = vec![0u32; 40];
        cascade.route_batch(&TensorView::matrix(&events, 40, d).unwrap(), &mut batch).unwrap();
        for (e, &b) in events.chunks(d).zip(&batch) {
            let scores: Vec<f32> = owned.iter().map(|o| o.model().predict(e).unwrap()).collect();
            let expected = (0..n_stages).filter(|&k| scores[k] < cuts[k]).min().unwrap_or(n_stages);
            prop_assert_eq!(cascade.route(e).unwrap(), expected);
            prop_assert_eq!(b as usize, expected);
        }
    }
}

#[test]
fn bad_stages_are_errors() {
    let mut rng = Rng::new(3);
    let x = uniform_matrix(&mut rng, 40, 2);
    let a = stage_model(&x, 40, 2, 0, 1);
    assert_eq!(Cascade::new(&[]).unwrap_err(), Error::Empty);
    let nan_cut = [Stage {
        model: a.model(),
        cut: f32::NAN,
    }];
    assert!(matches!(
        Cascade::new(&nan_cut),
        Err(Error::InvalidParameter { .. })
    ));
    let x3 = uniform_matrix(&mut rng, 40, 3);
    let b = stage_model(&x3, 40, 3, 0, 1);
    let mixed = [
        Stage {
            model: a.model(),
            cut: 0.5,
        },
        Stage {
            model: b.model(),
            cut: 0.5,
        },
    ];
    assert!(matches!(
        Cascade::new(&mixed),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut regression = a.clone();
    regression.kind = edgeml_core::tree::ModelKind::Regression;
    let not_binary = [Stage {
        model: regression.model(),
        cut: 0.5,
    }];
    assert!(matches!(
        Cascade::new(&not_binary),
        Err(Error::InvalidParameter { .. })
    ));
    let ok = [Stage {
        model: a.model(),
        cut: 0.5,
    }];
    let cascade = Cascade::new(&ok).unwrap();
    assert!(matches!(
        cascade.route(&[0.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut out = vec![0u32; 1];
    assert!(matches!(
        cascade.route_batch(
            &TensorView::matrix(&[0.0, 0.0, 1.0, 1.0], 2, 2).unwrap(),
            &mut out
        ),
        Err(Error::ShapeMismatch { .. })
    ));
}
