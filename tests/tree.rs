//! Decision trees: the histogram split finder equals an exhaustive f64 search, full-depth
//! trees fit distinct points exactly, flat-array inference equals a recursive walk, and bad
//! input is answered with errors.

mod tree_support;

use edgeml_core::rng::Rng;
use edgeml_core::tree::binning::cuts_len;
use edgeml_core::tree::{
    BinMapper, ForestParams, ForestTask, Growth, Impurity, Model, ModelKind, Node, TreeParams,
};
use edgeml_core::{Error, TensorView};
use proptest::prelude::*;
use std::collections::HashSet;
use tree_support::{forest, walk, Binned};

fn single_tree(max_depth: usize, max_leaves: usize) -> ForestParams {
    ForestParams {
        n_trees: 1,
        tree: TreeParams {
            max_depth,
            max_leaves,
            min_samples_leaf: 1,
            min_hessian_leaf: 0.0,
            min_gain: 0.0,
            max_features: 0,
            growth: Growth::LeafWise,
        },
        bootstrap: false,
    }
}

fn gini(counts: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    if n == 0.0 {
        0.0
    } else {
        1.0 - counts.iter().map(|c| (c / n).powi(2)).sum::<f64>()
    }
}

fn entropy(counts: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    counts
        .iter()
        .filter(|&&c| c > 0.0)
        .map(|c| -(c / n) * (c / n).ln())
        .sum()
}

/// Weighted child impurity of splitting at `x[f] <= t`, with the reference impurity `imp`.
fn weighted_impurity(
    x: &[f32],
    d: usize,
    labels: &[u32],
    k: usize,
    f: usize,
    t: f32,
    imp: fn(&[f64]) -> f64,
) -> f64 {
    let (mut l, mut r) = (vec![0.0; k], vec![0.0; k]);
    for (i, &y) in labels.iter().enumerate() {
        if x[i * d + f] <= t {
            l[y as usize] += 1.0;
        } else {
            r[y as usize] += 1.0;
        }
    }
    let (nl, nr): (f64, f64) = (l.iter().sum(), r.iter().sum());
    (nl * imp(&l) + nr * imp(&r)) / (nl + nr)
}

/// Sum of squared errors of the two children of `x[f] <= t`.
fn split_sse(x: &[f32], d: usize, y: &[f32], f: usize, t: f32) -> f64 {
    let sse = |side: Vec<f64>| {
        let m = side.iter().sum::<f64>() / side.len().max(1) as f64;
        side.iter().map(|v| (v - m).powi(2)).sum::<f64>()
    };
    let left = (0..y.len())
        .filter(|&i| x[i * d + f] <= t)
        .map(|i| f64::from(y[i]));
    let right = (0..y.len())
        .filter(|&i| x[i * d + f] > t)
        .map(|i| f64::from(y[i]));
    sse(left.collect()) + sse(right.collect())
}

/// Every threshold that leaves both sides non-empty: each distinct value but the largest.
fn thresholds(x: &[f32], n: usize, d: usize, f: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| x[i * d + f]).collect();
    v.sort_by(f32::total_cmp);
    v.dedup();
    v.pop();
    v
}

fn small_classification() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<u32>, usize)> {
    (2usize..40, 1usize..4, 2usize..4).prop_flat_map(|(n, d, k)| {
        (
            Just(n),
            Just(d),
            prop::collection::vec((0u8..8).prop_map(|v| v as f32 * 0.5 - 1.0), n * d),
            prop::collection::vec(0u32..k as u32, n),
            Just(k),
        )
    })
}

fn distinct_rows(rng: &mut Rng, n: usize, d: usize) -> Vec<f32> {
    let mut seen = HashSet::new();
    let mut x = Vec::new();
    while seen.len() < n {
        let row: Vec<i32> = (0..d).map(|_| rng.below(12) as i32 - 6).collect();
        if seen.insert(row.clone()) {
            x.extend(row.iter().map(|&v| v as f32 * 0.25));
        }
    }
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn classification_split_matches_exhaustive_search(
        (n, d, x, labels, k) in small_classification(),
        use_entropy in any::<bool>(),
    ) {
        let (impurity, imp): (Impurity, fn(&[f64]) -> f64) = if use_entropy {
            (Impurity::Entropy, entropy)
        } else {
            (Impurity::Gini, gini)
        };
        let binned = Binned::new(&x, n, d, 255).unwrap();
        let task = ForestTask::Classify { labels: &labels, n_classes: k, impurity };
        let model = forest(&binned, task, &single_tree(1, 2), 1, 3).unwrap();
        let mut best = f64::INFINITY;
        for f in 0..d {
            for t in thresholds(&x, n, d, f) {
                best = best.min(weighted_impurity(&x, d, &labels, k, f, t, imp));
            }
        }
        let pure = labels.iter().all(|&l| l == labels[0]);
        let root = model.nodes[0];
        if pure || best.is_infinite() {
            prop_assert!(root.is_leaf());
        } else {
            prop_assert!(!root.is_leaf());
            let f = root.feature as usize;
            prop_assert!(thresholds(&x, n, d, f).contains(&root.value));
            let found = weighted_impurity(&x, d, &labels, k, f, root.value, imp);
            prop_assert!((found - best).abs() <= 1e-9, "found {found}, best {best}");
        }
    }

    #[test]
    fn regression_split_matches_exhaustive_search(
        (n, d, x, _labels, _k) in small_classification(),
        y in prop::collection::vec(-100i32..100, 40),
    ) {
        let y: Vec<f32> = y[..n].iter().map(|&v| v as f32 * 0.1).collect();
        let binned = Binned::new(&x, n, d, 255).unwrap();
        let model = forest(&binned, ForestTask::Regress { targets: &y }, &single_tree(1, 2), 1, 3).unwrap();
        let mut best = f64::INFINITY;
        for f in 0..d {
            for t in thresholds(&x, n, d, f) {
                best = best.min(split_sse(&x, d, &y, f, t));
            }
        }
        let constant = y.iter().all(|&v| v == y[0]);
        let root = model.nodes[0];
        if constant || best.is_infinite() {
            prop_assert!(root.is_leaf());
            let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
            prop_assert!((f64::from(root.value) - mean).abs() <= 1e-5 * (1.0 + mean.abs()));
        } else {
            prop_assert!(!root.is_leaf());
            let found = split_sse(&x, d, &y, root.feature as usize, root.value);
            let scale: f64 = y.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + 1.0;
            prop_assert!((found - best).abs() <= 1e-9 * scale, "found {found}, best {best}");
        }
    }

    #[test]
    fn child_splits_from_subtracted_histograms_match_exhaustive_search(
        (n, d, x, _labels, _k) in small_classification(),
        y in prop::collection::vec(-100i32..100, 40),
    ) {
        let y: Vec<f32> = y[..n].iter().map(|&v| v as f32 * 0.1).collect();
        let binned = Binned::new(&x, n, d, 255).unwrap();
        let model = forest(&binned, ForestTask::Regress { targets: &y }, &single_tree(2, 4), 1, 7).unwrap();
        let root = model.nodes[0];
        prop_assume!(!root.is_leaf());
        for (child, goes_left) in [(root.left_child() as usize, true), (root.left_child() as usize + 1, false)] {
            let rows: Vec<usize> = (0..n)
                .filter(|&i| (x[i * d + root.feature as usize] <= root.value) == goes_left)
                .collect();
            let cx: Vec<f32> = rows.iter().flat_map(|&i| x[i * d..(i + 1) * d].to_vec()).collect();
            let cy: Vec<f32> = rows.iter().map(|&i| y[i]).collect();
            let m = rows.len();
            let mut best = f64::INFINITY;
            for f in 0..d {
                for t in thresholds(&cx, m, d, f) {
                    best = best.min(split_sse(&cx, d, &cy, f, t));
                }
            }
            let node = model.nodes[child];
            if cy.iter().all(|&v| v == cy[0]) || best.is_infinite() {
                prop_assert!(node.is_leaf());
            } else {
                prop_assert!(!node.is_leaf());
                let found = split_sse(&cx, d, &cy, node.feature as usize, node.value);
                let scale: f64 = cy.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + 1.0;
                prop_assert!((found - best).abs() <= 1e-9 * scale, "found {found}, best {best}");
            }
        }
    }

    #[test]
    fn gain_importance_sums_to_the_drop_in_squared_error(
        n in 2usize..150, d in 1usize..4, depth in 0usize..5, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let x = tree_support::uniform_matrix(&mut rng, n, d);
        let y: Vec<f32> = x.chunks(d).map(|r| r[0] * 2.0 + rng.normal()).collect();
        let binned = Binned::new(&x, n, d, 16).unwrap();
        let model = forest(&binned, ForestTask::Regress { targets: &y }, &single_tree(depth, 1 << depth), 1, 2 << depth).unwrap();
        let sse = |rows: &[usize]| {
            let m = rows.iter().map(|&i| f64::from(y[i])).sum::<f64>() / rows.len().max(1) as f64;
            rows.iter().map(|&i| (f64::from(y[i]) - m).powi(2)).sum::<f64>()
        };
        let mut by_leaf: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for i in 0..n {
            let row = &x[i * d..(i + 1) * d];
            let leaf = model.model().tree(0).unwrap().leaf_index(row).unwrap() as u32;
            by_leaf.entry(leaf).or_default().push(i);
        }
        let all: Vec<usize> = (0..n).collect();
        let drop = sse(&all) - by_leaf.values().map(|rows| sse(rows)).sum::<f64>();
        let total: f64 = model.gains.iter().sum();
        prop_assert!((total - drop).abs() <= 1e-6 * (1.0 + sse(&all)), "gains {total} vs drop {drop}");
        let mut counts = vec![0u32; d];
        model.model().split_counts(&mut counts).unwrap();
        for (c, g) in counts.iter().zip(&model.gains) {
            prop_assert!(*c > 0 || *g == 0.0);
        }
    }

    #[test]
    fn full_depth_tree_fits_distinct_points(
        n in 1usize..60, d in 1usize..4, k in 2usize..5, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let n = n.min(12usize.pow(d as u32));
        let x = distinct_rows(&mut rng, n, d);
        let labels: Vec<u32> = (0..n).map(|_| rng.below(k as u32)).collect();
        let targets: Vec<f32> = (0..n).map(|_| rng.below(1000) as f32 * 0.01).collect();
        let binned = Binned::new(&x, n, d, 255).unwrap();
        let params = single_tree(64, n);
        let task = ForestTask::Classify { labels: &labels, n_classes: k, impurity: Impurity::Gini };
        let clf = forest(&binned, task, &params, seed, 2 * n).unwrap();
        let reg = forest(&binned, ForestTask::Regress { targets: &targets }, &params, seed, 2 * n).unwrap();
        for i in 0..n {
            let row = &x[i * d..(i + 1) * d];
            prop_assert_eq!(clf.model().predict(row).unwrap(), labels[i] as f32);
            prop_assert_eq!(reg.model().predict(row).unwrap(), targets[i]);
        }
    }

    #[test]
    fn flat_inference_equals_recursive_walk(
        n in 5usize..200, d in 1usize..5, max_bins in 2usize..40, depth in 0usize..6,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let x = tree_support::uniform_matrix(&mut rng, n, d);
        let y: Vec<f32> = x.chunks(d).map(|r| r.iter().sum::<f32>() + rng.normal() * 0.1).collect();
        let binned = Binned::new(&x, n, d, max_bins).unwrap();
        let params = ForestParams {
            n_trees: 4,
            tree: TreeParams { max_depth: depth, max_leaves: 1 << depth, max_features: 1, ..TreeParams::default() },
            bootstrap: true,
        };
        let owned = forest(&binned, ForestTask::Regress { targets: &y }, &params, seed, 4 << (depth + 1)).unwrap();
        let model = owned.model();
        let data = binned.data();
        let queries = tree_support::uniform_matrix(&mut rng, 50, d);
        for (i, q) in queries.chunks(d).map(|q| q.iter().map(|v| v * 1.5).collect::<Vec<f32>>()).enumerate() {
            let mut mean = 0.0f64;
            for t in 0..4 {
                let tree = model.tree(t).unwrap();
                let reference = walk(owned.tree_nodes(t), 0, &q);
                prop_assert_eq!(tree.predict(&q).unwrap(), reference);
                mean += f64::from(reference);
                if i < n {
                    let row = &x[i * d..(i + 1) * d];
                    let binned_value = tree.predict_binned(data.row(i), data.mapper()).unwrap();
                    prop_assert_eq!(binned_value, walk(owned.tree_nodes(t), 0, row));
                }
            }
            prop_assert_eq!(model.predict(&q).unwrap(), (mean / 4.0) as f32);
        }
        let mut batch = vec![0.0; 50];
        let scaled: Vec<f32> = queries.iter().map(|v| v * 1.5).collect();
        model.predict_batch(&TensorView::matrix(&scaled, 50, d).unwrap(), &mut batch).unwrap();
        for (q, b) in scaled.chunks(d).zip(&batch) {
            prop_assert_eq!(*b, model.predict(q).unwrap());
        }
    }
}

#[test]
fn seed_gini_walk_through() {
    // The seed's photon pT / lepton pT toy data: (20, 10) signal, (30, 15) background,
    // (50, 20) signal. The 25 GeV photon split leaves a pure {20} and a mixed {30, 50}:
    // weighted Gini (1·0 + 2·0.5)/3 = 1/3; the best split separates the background alone.
    let x = [20.0, 10.0, 30.0, 15.0, 50.0, 20.0];
    let labels = [1u32, 0, 1];
    let binned = Binned::new(&x, 3, 2, 255).unwrap();
    let task = ForestTask::Classify {
        labels: &labels,
        n_classes: 2,
        impurity: Impurity::Gini,
    };
    let model = forest(&binned, task, &single_tree(1, 2), 0, 3).unwrap();
    let w = weighted_impurity(&x, 2, &labels, 2, 0, 20.0, gini);
    assert!((w - 1.0 / 3.0).abs() < 1e-12);
    let root = model.nodes[0];
    let found = weighted_impurity(&x, 2, &labels, 2, root.feature as usize, root.value, gini);
    assert!((found - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn errors_instead_of_panics() {
    let x = [0.0f32, 1.0, 2.0, f32::INFINITY];
    let view = TensorView::matrix(&x, 4, 1).unwrap();
    let mut cuts = vec![0.0; cuts_len(1, 16).unwrap()];
    let mut scratch = vec![0.0; 4];
    assert_eq!(
        BinMapper::fit(&view, 16, &mut scratch, &mut cuts).unwrap_err(),
        Error::NonFinite { index: 3 }
    );
    assert!(matches!(
        cuts_len(1, 1),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        cuts_len(1, 256),
        Err(Error::InvalidParameter { .. })
    ));
    let empty = TensorView::matrix(&x[..0], 0, 1).unwrap();
    assert_eq!(
        BinMapper::fit(&empty, 16, &mut scratch, &mut cuts).unwrap_err(),
        Error::Empty
    );
    let mut short = vec![0.0; 2];
    assert!(matches!(
        BinMapper::fit(
            &TensorView::matrix(&x[..3], 3, 1).unwrap(),
            16,
            &mut short,
            &mut cuts
        ),
        Err(Error::BufferTooSmall { .. })
    ));

    let x: Vec<f32> = (0..40).map(|i| i as f32).collect();
    let labels: Vec<u32> = (0..40).map(|i| i % 2).collect();
    let binned = Binned::new(&x, 40, 1, 255).unwrap();
    let task = ForestTask::Classify {
        labels: &labels,
        n_classes: 2,
        impurity: Impurity::Gini,
    };
    assert!(matches!(
        forest(&binned, task, &single_tree(64, 40), 0, 10),
        Err(Error::CapacityExceeded { .. })
    ));
    assert!(matches!(
        forest(&binned, task, &single_tree(64, 40), 0, 0),
        Err(Error::CapacityExceeded { .. })
    ));
    let bad = ForestTask::Classify {
        labels: &labels,
        n_classes: 1,
        impurity: Impurity::Gini,
    };
    assert!(matches!(
        forest(&binned, bad, &single_tree(3, 8), 0, 20),
        Err(Error::InvalidParameter { .. })
    ));
    let short_labels = ForestTask::Classify {
        labels: &labels[..3],
        n_classes: 2,
        impurity: Impurity::Gini,
    };
    assert!(matches!(
        forest(&binned, short_labels, &single_tree(3, 8), 0, 20),
        Err(Error::ShapeMismatch { .. })
    ));
    let nan_targets = vec![f32::NAN; 40];
    assert!(matches!(
        forest(
            &binned,
            ForestTask::Regress {
                targets: &nan_targets
            },
            &single_tree(3, 8),
            0,
            20
        ),
        Err(Error::NonFinite { .. })
    ));

    let model = forest(&binned, task, &single_tree(3, 8), 0, 20).unwrap();
    let m = model.model();
    assert!(m.predict(&[f32::NAN]).is_ok());
    assert!(m.predict(&[f32::NEG_INFINITY]).is_ok());
    assert!(matches!(
        m.predict(&[1.0, 2.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut out = vec![0.0; 3];
    let q = [1.0f32, 2.0];
    assert!(matches!(
        m.predict_batch(&TensorView::matrix(&q, 2, 1).unwrap(), &mut out),
        Err(Error::ShapeMismatch { .. })
    ));

    let cycle = [
        Node {
            feature: 0,
            value: 0.5,
            left: 0,
        },
        Node::leaf(1.0),
    ];
    let roots = [0u32];
    assert!(matches!(
        Model::new(ModelKind::ForestMean, 1, 1, &cycle, &roots, &[]),
        Err(Error::Corrupt { .. })
    ));
    let escaping = [
        Node {
            feature: 0,
            value: 0.5,
            left: 1,
        },
        Node::leaf(1.0),
    ];
    assert!(matches!(
        Model::new(ModelKind::ForestMean, 1, 1, &escaping, &roots, &[]),
        Err(Error::Corrupt { .. })
    ));
    let bad_feature = [
        Node {
            feature: 3,
            value: 0.5,
            left: 1,
        },
        Node::leaf(1.0),
        Node::leaf(2.0),
    ];
    assert!(matches!(
        Model::new(ModelKind::ForestMean, 1, 1, &bad_feature, &roots, &[]),
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        Model::new(ModelKind::Regression, 1, 1, &bad_feature[1..], &roots, &[]),
        Err(Error::Corrupt { .. })
    ));
}
