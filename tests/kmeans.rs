//! k-means against brute force in f64: the returned assignment is the nearest centroid of
//! every point, the inertia is the f64 sum of squared distances, Lloyd's centroids are the
//! means of their points, seeding picks data points, and separated blobs are recovered.

use edgeml_core::cluster::{
    assign, greedy_trials, lloyd, mini_batch, nearest, seed_plus_plus, LloydParams, LloydWork,
    MiniBatchParams,
};
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::Points;
use edgeml_core::rng::Rng;
use edgeml_core::Error;
use proptest::prelude::*;

fn sq(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum()
}

/// The f64 distance from each point to its nearest centroid, by brute force.
fn brute_nearest(data: &[f32], d: usize, centroids: &[f32]) -> Vec<f64> {
    data.chunks_exact(d)
        .map(|x| {
            centroids
                .chunks_exact(d)
                .map(|c| sq(x, c))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// Gaussian blobs around `k` centres spread `spread` apart; returns data and true labels.
fn blobs(k: usize, per: usize, d: usize, spread: f32, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let mut centres = vec![0.0f32; k * d];
    rng.fill_uniform(&mut centres, -spread, spread);
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for i in 0..k * per {
        let c = i % k;
        for j in 0..d {
            data.push(centres[c * d + j] + 0.1 * rng.normal());
        }
        labels.push(c);
    }
    (data, labels)
}

fn fit(
    data: &[f32],
    d: usize,
    k: usize,
    seed: u64,
    dispatch: Option<Dispatch>,
) -> (Vec<f32>, Vec<u32>, f64, usize) {
    let n = data.len() / d;
    let points = Points::new(data, n, d).unwrap();
    let mut rng = Rng::new(seed);
    let mut centroids = vec![0.0; k * d];
    let mut closest = vec![0.0; n];
    seed_plus_plus(
        points,
        greedy_trials(k),
        &mut rng,
        &mut centroids,
        &mut closest,
    )
    .unwrap();
    let mut assignment = vec![0; n];
    let (mut sums, mut counts) = (vec![0.0; k * d], vec![0; k]);
    let mut tile = vec![0.0; LloydWork::tile_len(k)];
    let work = LloydWork {
        sums: &mut sums,
        counts: &mut counts,
        tile: &mut tile,
    };
    // Tolerance 0: run until the assignment stops changing, so centroids are exact means.
    let params = LloydParams {
        dispatch,
        tol: 0.0,
        max_iter: 1000,
    };
    let result = lloyd(points, params, &mut centroids, &mut assignment, work).unwrap();
    (centroids, assignment, result.inertia, result.iterations)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn lloyd_inertia_and_assignment_match_brute_force(
        n in 3usize..600, d in 1usize..6, k_frac in 0.0f64..1.0, seed in any::<u64>(),
        product in any::<bool>(),
    ) {
        let k = 1 + ((n - 1) as f64 * k_frac * 0.5) as usize;
        let mut rng = Rng::new(seed);
        let mut data = vec![0.0f32; n * d];
        rng.fill_normal(&mut data, 0.0, 2.0);
        // The product form (gemm per block of rows; n > 256 crosses a block edge) or direct.
        let dispatch = product.then_some(Dispatch::PORTABLE);
        let (centroids, assignment, inertia, _) = fit(&data, d, k, seed ^ 1, dispatch);
        let best = brute_nearest(&data, d, &centroids);
        let reference: f64 = best.iter().sum();
        prop_assert!((inertia - reference).abs() <= 1e-4 * reference.max(1.0),
            "inertia {inertia} vs brute force {reference}");
        for (i, x) in data.chunks_exact(d).enumerate() {
            let own = sq(x, &centroids[assignment[i] as usize * d..][..d]);
            prop_assert!(own <= best[i] + 1e-4 * best[i].max(1e-3), "point {i} not at its nearest");
        }
        // At convergence each centroid with points is (within f32 rounding) their mean.
        for c in 0..k {
            let members: Vec<&[f32]> = data.chunks_exact(d).zip(&assignment)
                .filter(|(_, &a)| a as usize == c).map(|(x, _)| x).collect();
            if members.is_empty() { continue; }
            for j in 0..d {
                let mean = members.iter().map(|x| f64::from(x[j])).sum::<f64>() / members.len() as f64;
                prop_assert!((f64::from(centroids[c * d + j]) - mean).abs() <= 1e-3 * (1.0 + mean.abs()));
            }
        }
    }

    #[test]
    fn seeding_picks_distinct_data_points_and_reports_their_distances(
        n in 2usize..40, d in 1usize..5, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut data = vec![0.0f32; n * d];
        rng.fill_normal(&mut data, 0.0, 1.0);
        let k = 1 + n / 3;
        let points = Points::new(&data, n, d).unwrap();
        let mut centroids = vec![0.0; k * d];
        let mut closest = vec![0.0; n];
        seed_plus_plus(points, greedy_trials(k), &mut rng, &mut centroids, &mut closest).unwrap();
        let rows: Vec<&[f32]> = data.chunks_exact(d).collect();
        let mut picked = Vec::new();
        for c in centroids.chunks_exact(d) {
            let index = rows.iter().position(|r| *r == c);
            prop_assert!(index.is_some(), "centroid is not a data point");
            prop_assert!(!picked.contains(&index), "a point was picked twice");
            picked.push(index);
        }
        for (got, want) in closest.iter().zip(brute_nearest(&data, d, &centroids)) {
            prop_assert!((f64::from(*got) - want).abs() <= 1e-4 * want.max(1.0));
        }
    }
}

#[test]
fn separated_blobs_are_recovered_exactly() {
    let (k, d) = (5, 8);
    let (data, labels) = blobs(k, 40, d, 10.0, 3);
    let (_, assignment, _, iterations) = fit(&data, d, k, 11, Some(Dispatch::PORTABLE));
    assert!(iterations < 20);
    // Same partition: the map true label → cluster is a bijection.
    let mut map = vec![None; k];
    for (&truth, &cluster) in labels.iter().zip(&assignment) {
        match map[truth] {
            None => map[truth] = Some(cluster),
            Some(c) => assert_eq!(c, cluster, "blob {truth} split"),
        }
    }
    let mut used: Vec<u32> = map.iter().map(|c| c.unwrap()).collect();
    used.sort_unstable();
    used.dedup();
    assert_eq!(used.len(), k);
}

#[test]
fn mini_batch_approaches_lloyd_inertia() {
    let (k, d) = (4, 6);
    let (data, _) = blobs(k, 100, d, 5.0, 8);
    let n = data.len() / d;
    let (_, _, lloyd_inertia, _) = fit(&data, d, k, 2, None);
    let points = Points::new(&data, n, d).unwrap();
    let mut rng = Rng::new(2);
    let mut centroids = vec![0.0; k * d];
    let mut closest = vec![0.0; n];
    seed_plus_plus(
        points,
        greedy_trials(k),
        &mut rng,
        &mut centroids,
        &mut closest,
    )
    .unwrap();
    let seeded: f64 = brute_nearest(&data, d, &centroids).iter().sum();
    let (mut counts, mut picks, mut near, mut assignment) =
        (vec![0; k], vec![0; 32], vec![0; 32], vec![0; n]);
    let params = MiniBatchParams {
        batch: 32,
        steps: 100,
    };
    let result = mini_batch(
        points,
        params,
        &mut rng,
        &mut centroids,
        &mut counts,
        &mut picks,
        &mut near,
        &mut assignment,
    )
    .unwrap();
    let reference: f64 = brute_nearest(&data, d, &centroids).iter().sum();
    assert!((result.inertia - reference).abs() <= 1e-4 * reference);
    assert!(result.inertia <= seeded);
    assert!(
        result.inertia <= 1.05 * lloyd_inertia,
        "mini-batch {} vs Lloyd {lloyd_inertia}",
        result.inertia
    );
}

#[test]
fn empty_cluster_takes_the_worst_served_point() {
    // Two far points and a duplicate start: one centroid would stay empty.
    let data = [0.0f32, 0.0, 0.0, 0.0, 10.0, 10.0];
    let points = Points::new(&data, 3, 2).unwrap();
    let mut centroids = [0.0f32, 0.0, 0.0, 0.0];
    let (mut assignment, mut sums, mut counts) = ([0u32; 3], [0.0f32; 4], [0u32; 2]);
    let work = LloydWork {
        sums: &mut sums,
        counts: &mut counts,
        tile: &mut [],
    };
    let result = lloyd(
        points,
        LloydParams::default(),
        &mut centroids,
        &mut assignment,
        work,
    )
    .unwrap();
    assert_eq!(result.inertia, 0.0);
    assert_eq!(assignment[0], assignment[1]);
    assert_ne!(assignment[0], assignment[2]);
}

#[test]
fn bad_inputs_are_errors() {
    let data = [0.0f32, 1.0, 2.0, 3.0];
    let points = Points::new(&data, 2, 2).unwrap();
    let mut rng = Rng::new(0);
    let mut closest = [0.0; 2];
    let mut three = [0.0; 6];
    assert!(matches!(
        seed_plus_plus(points, 1, &mut rng, &mut three, &mut closest),
        Err(Error::InvalidParameter { .. })
    ));
    let mut two = [0.0; 4];
    assert!(matches!(
        seed_plus_plus(points, 0, &mut rng, &mut two, &mut closest),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        seed_plus_plus(points, 1, &mut rng, &mut [0.0; 3], &mut closest),
        Err(Error::ShapeMismatch { .. })
    ));
    let bad = [f32::NAN, 0.0];
    assert!(matches!(
        assign(points, &bad, &mut [0; 2]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        assign(points, &[], &mut [0; 2]),
        Err(Error::Empty)
    ));
    assert!(matches!(
        nearest(&[1.0, 2.0, 3.0], &[0.0, 0.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    let (mut s, mut c) = ([0.0; 4], [0; 2]);
    let params = LloydParams {
        max_iter: 0,
        tol: 0.0,
        dispatch: None,
    };
    let work = LloydWork {
        sums: &mut s,
        counts: &mut c,
        tile: &mut [],
    };
    assert!(matches!(
        lloyd(points, params, &mut two, &mut [0; 2], work),
        Err(Error::InvalidParameter { .. })
    ));
    // The product form needs its tile.
    let params = LloydParams {
        dispatch: Some(Dispatch::PORTABLE),
        ..LloydParams::default()
    };
    let work = LloydWork {
        sums: &mut s,
        counts: &mut c,
        tile: &mut [0.0; 3],
    };
    assert!(matches!(
        lloyd(points, params, &mut two, &mut [0; 2], work),
        Err(Error::BufferTooSmall { .. })
    ));
    assert_eq!(greedy_trials(1), 1);
    assert_eq!(greedy_trials(10), 4);
}
