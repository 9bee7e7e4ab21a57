//! The seeded generator: reproducible streams, and statistics within bounds that a correct
//! generator fails with probability < 1e-6 (z-scores of 5 and chi-square quantiles).

use edgeml_core::rng::Rng;

const N: usize = 200_000;

#[test]
fn same_seed_same_stream_and_seeds_differ() {
    let (mut a, mut b, mut c) = (Rng::new(42), Rng::new(42), Rng::new(43));
    let first: Vec<u32> = (0..100).map(|_| a.next_u32()).collect();
    let again: Vec<u32> = (0..100).map(|_| b.next_u32()).collect();
    let other: Vec<u32> = (0..100).map(|_| c.next_u32()).collect();
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert!(
        Rng::new(0).next_u64() != 0,
        "seed 0 must not give a stuck state"
    );
}

#[test]
fn uniform_moments() {
    let mut rng = Rng::new(1);
    let xs: Vec<f64> = (0..N).map(|_| rng.uniform_f32() as f64).collect();
    assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
    let mean = xs.iter().sum::<f64>() / N as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / N as f64;
    // mean of U(0,1): 1/2 with standard error sqrt(1/12/N); variance 1/12 with standard error
    // sqrt((μ₄ − σ⁴)/N), μ₄ = 1/80.
    assert!(
        (mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / N as f64).sqrt(),
        "mean {mean}"
    );
    let var_se = ((1.0 / 80.0 - 1.0 / 144.0) / N as f64).sqrt();
    assert!((var - 1.0 / 12.0).abs() < 5.0 * var_se, "variance {var}");
    let ranged: Vec<f32> = (0..1000).map(|_| rng.uniform(-3.0, 5.0)).collect();
    assert!(ranged.iter().all(|&x| (-3.0..5.0).contains(&x)));
}

#[test]
fn normal_moments() {
    let mut rng = Rng::new(2);
    let xs: Vec<f64> = (0..N).map(|_| rng.normal() as f64).collect();
    let mean = xs.iter().sum::<f64>() / N as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / N as f64;
    let kurtosis = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / N as f64 / var.powi(2);
    assert!(mean.abs() < 5.0 / (N as f64).sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / N as f64).sqrt(),
        "variance {var}"
    );
    assert!(
        (kurtosis - 3.0).abs() < 5.0 * (24.0 / N as f64).sqrt(),
        "kurtosis {kurtosis}"
    );
    let within_one = xs.iter().filter(|x| x.abs() < 1.0).count() as f64 / N as f64;
    assert!(
        (within_one - 0.682_689_5).abs() < 0.006,
        "P(|z|<1) = {within_one}"
    );
}

/// Chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[usize], total: usize) -> f64 {
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn below_is_unbiased() {
    let mut rng = Rng::new(3);
    // Upper χ² quantiles at P < 5e-6: 25 for 2 degrees of freedom, 35 for 6.
    for (bound, limit) in [(3u32, 25.0), (7, 35.0)] {
        let mut counts = vec![0usize; bound as usize];
        for _ in 0..N {
            counts[rng.below(bound) as usize] += 1;
        }
        assert!(chi_square(&counts, N) < limit, "below({bound}): {counts:?}");
    }
    assert_eq!(rng.below(0), 0);
    assert_eq!(rng.below_usize(0), 0);
    assert!((0..1000).all(|_| rng.below_usize(1 << 40) < 1 << 40));
}

#[test]
fn shuffle_is_a_uniform_permutation() {
    let mut rng = Rng::new(4);
    let mut counts = std::collections::HashMap::new();
    let trials = 60_000;
    for _ in 0..trials {
        let mut items = [0u8, 1, 2];
        rng.shuffle(&mut items);
        *counts.entry(items).or_insert(0usize) += 1;
    }
    assert_eq!(
        counts.len(),
        6,
        "all six permutations of three items appear"
    );
    let observed: Vec<usize> = counts.values().copied().collect();
    // 5 degrees of freedom, P(χ² > 33) < 4e-6.
    assert!(chi_square(&observed, trials) < 33.0, "{counts:?}");
    let mut long: Vec<u32> = (0..1000).collect();
    rng.shuffle(&mut long);
    let mut sorted = long.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert_ne!(long, sorted);
}
