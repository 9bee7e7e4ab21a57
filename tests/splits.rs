//! Splits: partitions are disjoint and cover, the fraction split draws exactly one uniform per
//! row, stratified folds keep class proportions within one row per fold, same seed ⇒ same
//! split, and the lab's first split matches numpy.

use edgeml_core::eval::{
    fold_members, k_fold_assign, leave_one_out, repeated_splits, split_by_fraction,
    stratified_k_fold_assign,
};
use edgeml_core::rng::{Pcg64Numpy, Rng, UniformSource};
use edgeml_core::Error;
use proptest::prelude::*;

fn is_ascending(part: &[u32]) -> bool {
    part.windows(2).all(|w| w[0] < w[1])
}

fn covers(parts: &[u32], n: usize) -> bool {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    sorted == (0..n as u32).collect::<Vec<_>>()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fraction_split_is_one_draw_per_row(n in 1usize..300, fraction in 0.0f64..=1.0, seed in any::<u64>()) {
        let mut out = vec![0u32; n];
        let mut rng = Rng::new(seed);
        let first = split_by_fraction(&mut rng, fraction, &mut out).unwrap();
        let mut reference = Rng::new(seed);
        let expected: Vec<u32> = (0..n as u32).filter(|_| reference.uniform_f64() < fraction).collect();
        prop_assert_eq!(&out[..first], &expected[..]);
        prop_assert!(is_ascending(&out[first..]));
        prop_assert!(covers(&out, n));
        // The generator advanced by exactly n draws.
        prop_assert_eq!(rng.uniform_f64().to_bits(), reference.uniform_f64().to_bits());
        let mut again = vec![0u32; n];
        split_by_fraction(&mut Rng::new(seed), fraction, &mut again).unwrap();
        prop_assert_eq!(out, again);
    }

    #[test]
    fn repeated_splits_average_the_individual_splits(n in 1usize..100, iterations in 1usize..6, seed in any::<u64>()) {
        let mut out = vec![0u32; n];
        let mut scores = Vec::new();
        let average = repeated_splits(&mut Pcg64Numpy::new(seed), 0.75, iterations, &mut out, |first, second| {
            let score = first.len() as f64 / (first.len() + second.len()) as f64;
            scores.push(score);
            Ok(score)
        })
        .unwrap();
        let mut reference = Pcg64Numpy::new(seed);
        let mut total = 0.0;
        for score in &scores {
            let first = (0..n).filter(|_| reference.uniform_f64() < 0.75).count();
            prop_assert_eq!(*score, first as f64 / n as f64);
            total += score;
        }
        prop_assert_eq!(scores.len(), iterations);
        prop_assert_eq!(average, total / iterations as f64);
    }

    #[test]
    fn k_folds_partition_the_rows(n in 2usize..200, k in 2usize..12, seed in any::<u64>()) {
        let k = k.min(n);
        let mut folds = vec![0u32; n];
        k_fold_assign(&mut Rng::new(seed), k, &mut folds).unwrap();
        let mut again = vec![0u32; n];
        k_fold_assign(&mut Rng::new(seed), k, &mut again).unwrap();
        prop_assert_eq!(&folds, &again);
        let mut seen = vec![0usize; n];
        let mut out = vec![0u32; n];
        for fold in 0..k as u32 {
            let size = fold_members(&folds, fold, &mut out).unwrap();
            prop_assert!(size == n / k || size == n.div_ceil(k));
            prop_assert!(is_ascending(&out[..size]) && is_ascending(&out[size..]));
            prop_assert!(covers(&out, n));
            for &row in &out[..size] {
                prop_assert_eq!(folds[row as usize], fold);
                seen[row as usize] += 1;
            }
        }
        prop_assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn stratified_folds_keep_class_proportions(
        labels in prop::collection::vec(0u32..4, 2..200),
        k in 2usize..8,
        seed in any::<u64>(),
    ) {
        let n = labels.len();
        let k = k.min(n);
        let mut cursor = [0u32; 4];
        let mut permutation = vec![0u32; n];
        let mut folds = vec![0u32; n];
        stratified_k_fold_assign(&mut Rng::new(seed), &labels, k, &mut cursor, &mut permutation, &mut folds).unwrap();
        let mut again = vec![0u32; n];
        stratified_k_fold_assign(&mut Rng::new(seed), &labels, k, &mut cursor, &mut permutation, &mut again).unwrap();
        prop_assert_eq!(&folds, &again);
        prop_assert!(folds.iter().all(|&f| (f as usize) < k));
        for class in 0..4u32 {
            let members = labels.iter().filter(|&&l| l == class).count();
            for fold in 0..k as u32 {
                let in_fold = (0..n).filter(|&i| labels[i] == class && folds[i] == fold).count();
                // Within one row of the class's share of the fold.
                prop_assert!((in_fold as f64 - members as f64 / k as f64).abs() < 1.0);
            }
        }
        for fold in 0..k as u32 {
            let size = folds.iter().filter(|&&f| f == fold).count();
            prop_assert!(size == n / k || size == n.div_ceil(k));
        }
    }

    #[test]
    fn leave_one_out_holds_out_one_row(n in 1usize..100, held in 0usize..100) {
        let held = held % n;
        let mut out = vec![0u32; n];
        leave_one_out(held, &mut out).unwrap();
        prop_assert_eq!(out[0] as usize, held);
        let rest: Vec<u32> = (0..n as u32).filter(|&r| r as usize != held).collect();
        prop_assert_eq!(&out[1..], &rest[..]);
    }
}

#[test]
fn lab_split_matches_numpy() {
    // numpy: rng = np.random.default_rng(42); np.flatnonzero(rng.random(20640) < 0.2) has 4144
    // rows starting 4 8 17 25 27 28 35 36 49 50; the next random(16496) < 0.75 has 12368.
    let mut rng = Pcg64Numpy::new(42);
    let mut out = vec![0u32; 20640];
    let test = split_by_fraction(&mut rng, 0.2, &mut out).unwrap();
    assert_eq!(test, 4144);
    assert_eq!(out.len() - test, 16496);
    assert_eq!(&out[..10], &[4, 8, 17, 25, 27, 28, 35, 36, 49, 50]);
    let mut inner = vec![0u32; 16496];
    assert_eq!(split_by_fraction(&mut rng, 0.75, &mut inner), Ok(12368));
}

#[test]
fn bad_inputs_are_errors() {
    let mut rng = Rng::new(1);
    assert_eq!(split_by_fraction(&mut rng, 0.5, &mut []), Err(Error::Empty));
    for fraction in [f64::NAN, -0.1, 1.5] {
        assert!(matches!(
            split_by_fraction(&mut rng, fraction, &mut [0; 3]),
            Err(Error::InvalidParameter { .. })
        ));
    }
    assert!(matches!(
        repeated_splits(&mut rng, 0.5, 0, &mut [0; 3], |_, _| Ok(0.0)),
        Err(Error::InvalidParameter { .. })
    ));
    assert_eq!(
        repeated_splits(&mut rng, 0.5, 2, &mut [0; 3], |_, _| Err(Error::Empty)),
        Err(Error::Empty)
    );
    for k in [0, 1, 4] {
        assert!(matches!(
            k_fold_assign(&mut rng, k, &mut [0; 3]),
            Err(Error::InvalidParameter { .. })
        ));
    }
    let labels = [0, 1, 2, 1];
    let (mut cursor, mut permutation, mut folds) = ([0u32; 3], [0u32; 4], [0u32; 4]);
    assert!(matches!(
        stratified_k_fold_assign(
            &mut rng,
            &labels,
            2,
            &mut cursor[..2],
            &mut permutation,
            &mut folds
        ),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        stratified_k_fold_assign(
            &mut rng,
            &labels,
            2,
            &mut cursor,
            &mut permutation[..3],
            &mut folds
        ),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        stratified_k_fold_assign(
            &mut rng,
            &labels,
            5,
            &mut cursor,
            &mut permutation,
            &mut folds
        ),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        fold_members(&[0, 1], 0, &mut [0; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(fold_members(&[], 0, &mut []), Err(Error::Empty));
    assert!(matches!(
        leave_one_out(3, &mut [0; 3]),
        Err(Error::InvalidParameter { .. })
    ));
}
