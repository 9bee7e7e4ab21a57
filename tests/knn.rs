//! k-NN against a brute-force f64 reference written here, and the kd-tree against brute
//! force (same neighbours, same order under the `(distance, index)` tie rule).

use edgeml_core::knn::{
    KdNode, KdTree, KnnClassifier, KnnIndex, KnnParams, KnnRegressor, Metric, Neighbor, Points,
    Search, TopK, Weighting,
};
use edgeml_core::Error;
use proptest::prelude::*;

const CAP: usize = 16;

fn metric_distance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            match metric {
                Metric::SquaredL2 => d * d,
                Metric::L1 => d.abs(),
            }
        })
        .sum()
}

/// The k nearest rows by sorting every (f64 distance, index) pair.
fn reference_neighbors(
    metric: Metric,
    data: &[f32],
    cols: usize,
    query: &[f32],
    k: usize,
) -> Vec<(usize, f64)> {
    let mut all: Vec<(usize, f64)> = data
        .chunks_exact(cols)
        .enumerate()
        .map(|(i, row)| (i, metric_distance(metric, query, row)))
        .collect();
    all.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn reference_weights(metric: Metric, weighting: Weighting, neighbors: &[(usize, f64)]) -> Vec<f64> {
    let length = |d: f64| match metric {
        Metric::SquaredL2 => d.sqrt(),
        Metric::L1 => d,
    };
    let any_zero = neighbors.iter().any(|n| n.1 == 0.0);
    neighbors
        .iter()
        .map(|n| match weighting {
            Weighting::Uniform => 1.0,
            Weighting::Distance if any_zero => f64::from(u8::from(n.1 == 0.0)),
            Weighting::Distance => 1.0 / length(n.1),
        })
        .collect()
}

fn reference_class(
    labels: &[u32],
    n_classes: usize,
    neighbors: &[(usize, f64)],
    weights: &[f64],
) -> u32 {
    let mut votes = vec![0.0f64; n_classes];
    for (n, w) in neighbors.iter().zip(weights) {
        votes[labels[n.0] as usize] += w;
    }
    let best = votes.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    votes.iter().position(|&v| v == best).unwrap() as u32
}

fn metric_strategy() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::SquaredL2), Just(Metric::L1)]
}

fn weighting_strategy() -> impl Strategy<Value = Weighting> {
    prop_oneof![Just(Weighting::Uniform), Just(Weighting::Distance)]
}

/// Small-integer features: distances are exact in f32 and f64 alike, and ties are common.
fn integer_case() -> impl Strategy<Value = (usize, Vec<f32>, Vec<f32>, usize, Vec<u32>, usize)> {
    (1usize..40, 1usize..6, 1usize..6, 1usize..5).prop_flat_map(|(rows, cols, queries, classes)| {
        (
            Just(cols),
            prop::collection::vec((-3i8..=3).prop_map(f32::from), rows * cols),
            prop::collection::vec((-3i8..=3).prop_map(f32::from), queries * cols),
            1usize..=rows.min(CAP),
            prop::collection::vec(0u32..classes as u32, rows),
            Just(classes),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn classifier_matches_reference(
        (cols, data, queries, k, labels, classes) in integer_case(),
        metric in metric_strategy(),
        weighting in weighting_strategy(),
        tree in any::<bool>(),
    ) {
        let rows = labels.len();
        let points = Points::new(&data, rows, cols).unwrap();
        let mut permutation = vec![0u32; rows];
        let mut nodes = vec![KdNode::default(); KdTree::node_count(rows, KdTree::DEFAULT_LEAF_SIZE).unwrap()];
        let search = if tree { Search::KdTree } else { Search::BruteForce };
        let index = KnnIndex::new(points, search, &mut permutation, &mut nodes).unwrap();
        let classifier = KnnClassifier::new(index, &labels, classes).unwrap();
        let params = KnnParams { k, metric, weighting };
        let query_points = Points::new(&queries, queries.len() / cols, cols).unwrap();
        let mut votes = vec![0.0; classes];
        let mut batch = vec![0u32; query_points.rows()];
        classifier.predict_batch::<CAP>(query_points, params, &mut votes, &mut batch).unwrap();
        for (q, query) in queries.chunks_exact(cols).enumerate() {
            let expected_neighbors = reference_neighbors(metric, &data, cols, query, k);
            let mut top = TopK::<CAP>::new(k).unwrap();
            classifier.index().search(query, metric, &mut top).unwrap();
            let found: Vec<(usize, f64)> =
                top.as_slice().iter().map(|n| (n.index, f64::from(n.distance))).collect();
            prop_assert_eq!(&found, &expected_neighbors);
            let weights = reference_weights(metric, weighting, &expected_neighbors);
            let expected = reference_class(&labels, classes, &expected_neighbors, &weights);
            prop_assert_eq!(classifier.predict::<CAP>(query, params, &mut votes).unwrap(), expected);
            prop_assert_eq!(batch[q], expected);
        }
    }

    #[test]
    fn regressor_matches_reference(
        (cols, data, queries, k, _labels, _classes) in integer_case(),
        targets_seed in prop::collection::vec(-100.0f32..100.0, 40),
        metric in metric_strategy(),
        weighting in weighting_strategy(),
    ) {
        let rows = data.len() / cols;
        let targets = &targets_seed[..rows];
        let points = Points::new(&data, rows, cols).unwrap();
        let regressor = KnnRegressor::new(KnnIndex::BruteForce(points), targets).unwrap();
        let params = KnnParams { k, metric, weighting };
        let query_points = Points::new(&queries, queries.len() / cols, cols).unwrap();
        let mut batch = vec![0.0f32; query_points.rows()];
        regressor.predict_batch::<CAP>(query_points, params, &mut batch).unwrap();
        for (q, query) in queries.chunks_exact(cols).enumerate() {
            let neighbors = reference_neighbors(metric, &data, cols, query, k);
            let weights = reference_weights(metric, weighting, &neighbors);
            let total: f64 = neighbors.iter().zip(&weights).map(|(n, w)| w * f64::from(targets[n.0])).sum();
            let expected = total / weights.iter().sum::<f64>();
            let got = regressor.predict::<CAP>(query, params).unwrap();
            prop_assert!((f64::from(got) - expected).abs() <= 1e-4 * (1.0 + expected.abs()));
            prop_assert_eq!(batch[q].to_bits(), got.to_bits());
        }
    }

    #[test]
    fn continuous_neighbors_are_the_true_nearest(
        (rows, cols) in (1usize..80, 1usize..12),
        seed in prop::collection::vec(-10.0f32..10.0, 80 * 12 + 12),
        k in 1usize..8,
        metric in metric_strategy(),
    ) {
        let data = &seed[..rows * cols];
        let query = &seed[rows * cols..rows * cols + cols];
        let k = k.min(rows);
        let points = Points::new(data, rows, cols).unwrap();
        let mut top = TopK::<CAP>::new(k).unwrap();
        KnnIndex::BruteForce(points).search(query, metric, &mut top).unwrap();
        let reference = reference_neighbors(metric, data, cols, query, k);
        for (found, expected) in top.as_slice().iter().zip(&reference) {
            let exact = metric_distance(metric, query, points.row(found.index).unwrap());
            prop_assert!((exact - expected.1).abs() <= 1e-4 * (1.0 + expected.1));
            prop_assert!((f64::from(found.distance) - exact).abs() <= 1e-4 * (1.0 + exact));
        }
    }

    #[test]
    fn kd_tree_equals_brute_force(
        (rows, cols, pool) in (1usize..300, 1usize..=10, 1usize..60),
        values in prop::collection::vec(-50.0f32..50.0, 60 * 10),
        picks in prop::collection::vec(0usize..60, 300),
        queries in prop::collection::vec(-60.0f32..60.0, 6 * 10),
        leaf_size in 1usize..8,
        k in 1usize..12,
        metric in metric_strategy(),
    ) {
        // Rows are drawn with repetition from a pool of distinct points: duplicates included.
        let data: Vec<f32> = picks[..rows]
            .iter()
            .flat_map(|&p| values[(p % pool) * cols..(p % pool) * cols + cols].to_vec())
            .collect();
        let k = k.min(rows);
        let points = Points::new(&data, rows, cols).unwrap();
        let mut permutation = vec![0u32; rows];
        let mut nodes = vec![KdNode::default(); KdTree::node_count(rows, leaf_size).unwrap()];
        let tree = KdTree::build(points, leaf_size, &mut permutation, &mut nodes).unwrap();
        let mut sorted: Vec<u32> = tree_permutation_check(rows, leaf_size, &data, cols);
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..rows as u32).collect::<Vec<_>>());
        let brute = KnnIndex::BruteForce(points);
        let indexed = KnnIndex::KdTree(tree);
        // Queries: fresh points and copies of training rows (exact-zero distances).
        let mut all_queries: Vec<f32> = queries[..6 * cols].to_vec();
        all_queries.extend_from_slice(&data[..cols]);
        for query in all_queries.chunks_exact(cols) {
            let mut expected = TopK::<CAP>::new(k).unwrap();
            let mut found = TopK::<CAP>::new(k).unwrap();
            brute.search(query, metric, &mut expected).unwrap();
            indexed.search(query, metric, &mut found).unwrap();
            prop_assert_eq!(bits(found.as_slice()), bits(expected.as_slice()));
        }
        let query_points = Points::new(&all_queries, all_queries.len() / cols, cols).unwrap();
        let mut from_brute = Vec::new();
        let mut from_tree = Vec::new();
        brute.search_batch::<CAP>(query_points, metric, k, |q, n| { from_brute.push((q, bits(n))); Ok(()) }).unwrap();
        indexed.search_batch::<CAP>(query_points, metric, k, |q, n| { from_tree.push((q, bits(n))); Ok(()) }).unwrap();
        prop_assert_eq!(from_brute, from_tree);
    }

    #[test]
    fn arbitrary_values_never_panic(
        data in prop::collection::vec(any::<f32>(), 0..40),
        cols in 0usize..5,
        query in prop::collection::vec(any::<f32>(), 0..5),
        k in 0usize..20,
        labels in prop::collection::vec(0u32..4, 0..12),
    ) {
        let rows = data.len().checked_div(cols).unwrap_or(0);
        let Ok(points) = Points::new(&data[..rows * cols], rows, cols) else { return Ok(()); };
        let mut permutation = vec![0u32; rows];
        let mut nodes = vec![KdNode::default(); KdTree::node_count(rows, 2).unwrap()];
        let Ok(tree) = KdTree::build(points, 2, &mut permutation, &mut nodes) else { return Ok(()); };
        if let Ok(mut top) = TopK::<CAP>::new(k) {
            let _ = KnnIndex::KdTree(tree).search(&query, Metric::SquaredL2, &mut top);
        }
        if let Ok(classifier) = KnnClassifier::new(KnnIndex::BruteForce(points), &labels, 3) {
            let mut votes = [0.0; 3];
            let params = KnnParams { k, metric: Metric::L1, weighting: Weighting::Distance };
            let _ = classifier.predict::<CAP>(&query, params, &mut votes);
        }
    }
}

fn bits(neighbors: &[Neighbor]) -> Vec<(usize, u32)> {
    neighbors
        .iter()
        .map(|n| (n.index, n.distance.to_bits()))
        .collect()
}

/// Builds the tree once more and returns its permutation (a permutation of the rows).
fn tree_permutation_check(rows: usize, leaf_size: usize, data: &[f32], cols: usize) -> Vec<u32> {
    let points = Points::new(data, rows, cols).unwrap();
    let mut permutation = vec![0u32; rows];
    let mut nodes = vec![KdNode::default(); KdTree::node_count(rows, leaf_size).unwrap()];
    KdTree::build(points, leaf_size, &mut permutation, &mut nodes).unwrap();
    permutation
}

#[test]
fn hand_checked_one_dimensional_case() {
    // Rows 0..5 at x = 0, 1, 1, 3, 10; labels 0, 1, 1, 0, 2. Query x = 1.4:
    // distances² 1.96, 0.16, 0.16, 2.56, 73.96 → neighbours 1, 2 (tie → lower index first), 0.
    let data = [0.0, 1.0, 1.0, 3.0, 10.0];
    let labels = [0, 1, 1, 0, 2];
    let points = Points::new(&data, 5, 1).unwrap();
    let mut top = TopK::<4>::new(3).unwrap();
    KnnIndex::BruteForce(points)
        .search(&[1.4], Metric::SquaredL2, &mut top)
        .unwrap();
    let order: Vec<usize> = top.as_slice().iter().map(|n| n.index).collect();
    assert_eq!(order, [1, 2, 0]);
    let classifier = KnnClassifier::new(KnnIndex::BruteForce(points), &labels, 3).unwrap();
    let mut votes = [0.0; 3];
    let params = KnnParams {
        k: 3,
        metric: Metric::SquaredL2,
        weighting: Weighting::Uniform,
    };
    assert_eq!(classifier.predict::<4>(&[1.4], params, &mut votes), Ok(1));
    // k = 2 at x = 2: rows 1, 2 (distance 1) and row 3 (distance 1) tie; lower indices win.
    let two = KnnParams { k: 2, ..params };
    assert_eq!(classifier.predict::<4>(&[2.0], two, &mut votes), Ok(1));
    // k = 2 at x = 0.5 under L1: row 0 (class 0) and row 1 (class 1) tie at 0.5 → vote 1:1,
    // the smaller label wins.
    let l1 = KnnParams {
        metric: Metric::L1,
        ..two
    };
    assert_eq!(classifier.predict::<4>(&[0.5], l1, &mut votes), Ok(0));
    let regressor =
        KnnRegressor::new(KnnIndex::BruteForce(points), &[0.0, 2.0, 4.0, 6.0, 8.0]).unwrap();
    assert_eq!(regressor.predict::<4>(&[1.0], two), Ok(3.0));
}

#[test]
fn bad_inputs_are_errors() {
    let data = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    let points = Points::new(&data, 3, 2).unwrap();
    let labels = [0, 1, 0];
    let uniform = |k| KnnParams {
        k,
        metric: Metric::SquaredL2,
        weighting: Weighting::Uniform,
    };
    assert_eq!(Points::new(&[], 0, 2).unwrap_err(), Error::Empty);
    assert_eq!(Points::new(&[], 2, 0).unwrap_err(), Error::Empty);
    assert!(matches!(
        Points::new(&data, 2, 2),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(
        Points::new(&[0.0, f32::NAN], 1, 2).unwrap_err(),
        Error::NonFinite { index: 1 }
    );
    assert!(matches!(
        Points::new(&[0.0, f32::INFINITY], 2, 1),
        Err(Error::NonFinite { index: 1 })
    ));
    let classifier = KnnClassifier::new(KnnIndex::BruteForce(points), &labels, 2).unwrap();
    let mut votes = [0.0; 2];
    assert!(matches!(
        classifier.predict::<4>(&[0.0, 0.0], uniform(0), &mut votes),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        classifier.predict::<4>(&[0.0, 0.0], uniform(4), &mut votes),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        classifier.predict::<2>(&[0.0, 0.0], uniform(3), &mut votes),
        Err(Error::CapacityExceeded {
            requested: 3,
            capacity: 2
        })
    ));
    assert!(matches!(
        classifier.predict::<4>(&[0.0], uniform(1), &mut votes),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        classifier.predict::<4>(&[0.0, f32::NAN], uniform(1), &mut votes),
        Err(Error::NonFinite { index: 1 })
    ));
    assert!(matches!(
        classifier.predict::<4>(&[0.0, 0.0], uniform(1), &mut [0.0; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    let queries = Points::new(&data[..4], 2, 2).unwrap();
    assert!(matches!(
        classifier.predict_batch::<4>(queries, uniform(1), &mut votes, &mut [0; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    let narrow = Points::new(&data[..3], 3, 1).unwrap();
    assert!(matches!(
        classifier.predict_batch::<4>(narrow, uniform(1), &mut votes, &mut [0; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        KnnClassifier::new(KnnIndex::BruteForce(points), &[0, 2, 1], 2),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        KnnClassifier::new(KnnIndex::BruteForce(points), &[0, 1], 2),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(
        KnnClassifier::new(KnnIndex::BruteForce(points), &labels, 0).unwrap_err(),
        Error::Empty
    );
    assert!(matches!(
        KnnRegressor::new(KnnIndex::BruteForce(points), &[0.0, f32::NAN, 1.0]),
        Err(Error::NonFinite { index: 1 })
    ));
    assert!(matches!(
        KdTree::node_count(3, 0),
        Err(Error::InvalidParameter { .. })
    ));
    let mut permutation = [0u32; 2];
    let mut nodes = [KdNode::default(); 8];
    assert!(matches!(
        KdTree::build(points, 1, &mut permutation, &mut nodes),
        Err(Error::ShapeMismatch {
            expected: 3,
            found: 2
        })
    ));
    let mut permutation = [0u32; 3];
    let mut few = [KdNode::default(); 1];
    assert!(matches!(
        KdTree::build(points, 1, &mut permutation, &mut few),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut nothing: [KdNode; 0] = [];
    assert!(matches!(
        KnnIndex::new(points, Search::KdTree, &mut [], &mut nothing),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn auto_search_prefers_the_tree_only_for_many_low_dimensional_points() {
    assert_eq!(Search::Auto.resolve(16496, 8), Search::KdTree);
    assert_eq!(Search::Auto.resolve(100, 8), Search::BruteForce);
    assert_eq!(Search::Auto.resolve(1 << 20, 64), Search::BruteForce);
    assert_eq!(Search::BruteForce.resolve(1 << 20, 2), Search::BruteForce);
}

/// The tree's structure and its pruning, which result comparisons alone cannot see: leaves of
/// at most `leaf_size` distinct points that partition the rows, about `rows / leaf_size` of
/// them, and 1-NN searches on spread-out 2-D data that measure a small fraction of the points
/// while returning brute force's answer.
#[test]
fn tree_splits_into_small_leaves_and_searches_prune() {
    let (rows, leaf_size) = (4096usize, 16usize);
    let mut rng = edgeml_core::rng::Rng::new(11);
    let data: Vec<f32> = (0..rows * 2).map(|_| rng.uniform(0.0, 1.0)).collect();
    let points = Points::new(&data, rows, 2).unwrap();
    let mut permutation = vec![0u32; rows];
    let mut nodes = vec![KdNode::default(); KdTree::node_count(rows, leaf_size).unwrap()];
    let tree = KdTree::build(points, leaf_size, &mut permutation, &mut nodes).unwrap();
    let sizes: Vec<usize> = tree.leaf_sizes().collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        rows,
        "leaves partition the rows"
    );
    assert!(
        sizes.iter().all(|&s| (1..=leaf_size).contains(&s)),
        "{sizes:?}"
    );
    assert!(sizes.len() >= rows / leaf_size, "{} leaves", sizes.len());
    let mut measured = 0usize;
    let queries = 200;
    for _ in 0..queries {
        let query = [rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0)];
        let mut top = TopK::<1>::new(1).unwrap();
        measured += tree
            .search_counted(&query, Metric::SquaredL2, &mut top)
            .unwrap();
        let nearest = (0..rows)
            .map(|r| {
                let (x, y) = (data[2 * r] - query[0], data[2 * r + 1] - query[1]);
                (f64::from(x).powi(2) + f64::from(y).powi(2), r)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        assert_eq!(top.as_slice()[0].index, nearest.1);
    }
    let mean = measured as f64 / queries as f64;
    // A handful of leaves around the query: far below the 4096 points brute force measures.
    assert!(mean < 8.0 * leaf_size as f64, "mean points measured {mean}");
}
