//! Missing values and growth order: with NaN features the histogram split finder equals an
//! exhaustive f64 search that also tries both missing directions, NaN rows follow each node's
//! learned direction (a recursive reference walk), and depth-wise growth splits every node
//! above `max_depth` that has a valid split, level by level.

mod tree_support;

use edgeml_core::rng::Rng;
use edgeml_core::tree::{
    BoostParams, ForestParams, ForestTask, Growth, Impurity, Loss, Node, TreeParams,
};
use proptest::prelude::*;
use tree_support::{boost, boosted_score, depths, forest, walk, with_missing, Binned};

fn tree_params(max_depth: usize, max_leaves: usize, min_leaf: usize, growth: Growth) -> TreeParams {
    TreeParams {
        max_depth,
        max_leaves,
        min_samples_leaf: min_leaf,
        growth,
        ..TreeParams::default()
    }
}

fn single(tree: TreeParams) -> ForestParams {
    ForestParams {
        n_trees: 1,
        tree,
        bootstrap: false,
    }
}

/// A candidate split of the reference search: `x[f] <= t` goes left, NaN goes left when
/// `nan_left`.
#[derive(Clone, Copy, Debug)]
struct Cut {
    f: usize,
    t: f32,
    nan_left: bool,
}

impl Cut {
    fn left(&self, row: &[f32]) -> bool {
        let v = row[self.f];
        if v.is_nan() {
            self.nan_left
        } else {
            v <= self.t
        }
    }

    fn of(node: &Node) -> Cut {
        Cut {
            f: node.feature as usize,
            t: node.value,
            nan_left: node.left & (1 << 31) != 0,
        }
    }
}

/// Every candidate: each distinct non-NaN value but the largest, with NaN sent either way.
fn candidates(rows: &[&[f32]], d: usize) -> Vec<Cut> {
    let mut out = vec![];
    for f in 0..d {
        let mut v: Vec<f32> = rows.iter().map(|r| r[f]).filter(|v| !v.is_nan()).collect();
        v.sort_by(f32::total_cmp);
        v.dedup();
        v.pop();
        for t in v {
            for nan_left in [false, true] {
                out.push(Cut { f, t, nan_left });
            }
        }
    }
    out
}

fn gini(counts: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    if n == 0.0 {
        0.0
    } else {
        1.0 - counts.iter().map(|c| (c / n).powi(2)).sum::<f64>()
    }
}

/// Summed child Gini (`n_l·G_l + n_r·G_r`) of `cut`.
fn child_gini(rows: &[&[f32]], labels: &[u32], k: usize, cut: Cut) -> f64 {
    let (mut l, mut r) = (vec![0.0; k], vec![0.0; k]);
    for (row, &y) in rows.iter().zip(labels) {
        if cut.left(row) {
            l[y as usize] += 1.0;
        } else {
            r[y as usize] += 1.0;
        }
    }
    l.iter().sum::<f64>() * gini(&l) + r.iter().sum::<f64>() * gini(&r)
}

/// Sum of squared errors of the two children of `cut`.
fn child_sse(rows: &[&[f32]], y: &[f32], cut: Cut) -> f64 {
    let sse = |side: Vec<f64>| {
        let m = side.iter().sum::<f64>() / side.len().max(1) as f64;
        side.iter().map(|v| (v - m).powi(2)).sum::<f64>()
    };
    let side = |left: bool| {
        rows.iter()
            .zip(y)
            .filter(|(r, _)| cut.left(r) == left)
            .map(|(_, &v)| f64::from(v))
            .collect::<Vec<_>>()
    };
    sse(side(true)) + sse(side(false))
}

/// Small data on a coarse grid with roughly a quarter of the entries missing.
fn small_missing() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<u32>)> {
    (2usize..40, 1usize..4).prop_flat_map(|(n, d)| {
        (
            Just(n),
            Just(d),
            prop::collection::vec(
                (0u8..10).prop_map(|v| {
                    if v >= 8 {
                        f32::NAN
                    } else {
                        v as f32 * 0.5 - 1.0
                    }
                }),
                n * d,
            ),
            prop::collection::vec(0u32..3, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn split_with_missing_values_matches_exhaustive_search((n, d, x, labels) in small_missing()) {
        let rows: Vec<&[f32]> = x.chunks(d).collect();
        let binned = Binned::new(&x, n, d, 255).unwrap();
        let tree = tree_params(1, 2, 1, Growth::LeafWise);
        let cuts = candidates(&rows, d);

        let task = ForestTask::Classify { labels: &labels, n_classes: 3, impurity: Impurity::Gini };
        let clf = forest(&binned, task, &single(tree), 1, 3).unwrap();
        let best = cuts.iter().map(|&c| child_gini(&rows, &labels, 3, c)).fold(f64::INFINITY, f64::min);
        let root = clf.nodes[0];
        if labels.iter().all(|&l| l == labels[0]) || cuts.is_empty() {
            prop_assert!(root.is_leaf());
        } else {
            prop_assert!(!root.is_leaf());
            let found = child_gini(&rows, &labels, 3, Cut::of(&root));
            // Counts are exact small integers; only the f64 divisions round (≤ 40 rows).
            prop_assert!((found - best).abs() <= 1e-12 * n as f64, "found {found}, best {best}");
        }

        let y: Vec<f32> = labels.iter().zip(&x).map(|(&l, &v)| l as f32 + if v.is_nan() { 0.7 } else { 0.0 }).collect();
        let reg = forest(&binned, ForestTask::Regress { targets: &y }, &single(tree), 1, 3).unwrap();
        let best = cuts.iter().map(|&c| child_sse(&rows, &y, c)).fold(f64::INFINITY, f64::min);
        let root = reg.nodes[0];
        if y.iter().all(|&v| v == y[0]) || cuts.is_empty() {
            prop_assert!(root.is_leaf());
        } else {
            prop_assert!(!root.is_leaf());
            let found = child_sse(&rows, &y, Cut::of(&root));
            // Both sides are f64 sums of ≤ 40 f32 targets: rounding ≤ 40·ε·Σy² ≪ 1e-9·Σy².
            let scale: f64 = y.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + 1.0;
            prop_assert!((found - best).abs() <= 1e-9 * scale, "found {found}, best {best}");
        }
    }
}

/// Brute force: the rows reaching `leaf` of tree 0 are impure and some candidate leaves at
/// least `min_leaf` rows on each side.
fn splittable(
    owned: &tree_support::Owned,
    leaf: usize,
    rows: &[&[f32]],
    labels: &[u32],
    min_leaf: usize,
) -> bool {
    let tree = owned.model().tree(0).unwrap();
    let members: Vec<usize> = (0..rows.len())
        .filter(|&i| tree.leaf_index(rows[i]).unwrap() == leaf)
        .collect();
    let sub: Vec<&[f32]> = members.iter().map(|&i| rows[i]).collect();
    let impure = members.iter().any(|&i| labels[i] != labels[members[0]]);
    let d = rows.first().map_or(0, |r| r.len());
    impure
        && candidates(&sub, d).iter().any(|c| {
            let left = sub.iter().filter(|r| c.left(r)).count();
            left >= min_leaf && sub.len() - left >= min_leaf
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn missing_values_follow_the_learned_direction(
        n in 10usize..200, d in 1usize..5, depth in 1usize..6, p in 0.05f32..0.6, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut x = tree_support::uniform_matrix(&mut rng, n, d);
        let y: Vec<f32> = x.chunks(d).map(|r| r.iter().sum::<f32>() + rng.normal() * 0.1).collect();
        with_missing(&mut rng, &mut x, p);
        // Missingness carries signal, so learned directions differ between nodes.
        let y: Vec<f32> = y.iter().zip(x.chunks(d)).map(|(v, r)| v + if r[0].is_nan() { 2.0 } else { 0.0 }).collect();
        let binned = Binned::new(&x, n, d, 16).unwrap();
        let params = BoostParams {
            loss: Loss::Squared,
            n_rounds: 3,
            learning_rate: 0.5,
            lambda: 1.0,
            tree: tree_params(depth, 1 << depth, 1, Growth::LeafWise),
            row_subsample: 1.0,
            start_from_prior: true,
        };
        let owned = boost(&binned, &y, &params, seed, 3 << (depth + 1)).unwrap();
        let model = owned.model();
        let data = binned.data();
        let mut queries = tree_support::uniform_matrix(&mut rng, 50, d);
        with_missing(&mut rng, &mut queries, p);
        for q in queries.chunks(d).chain(x.chunks(d)) {
            for t in 0..3 {
                prop_assert_eq!(model.tree(t).unwrap().predict(q).unwrap(), walk(owned.tree_nodes(t), 0, q));
            }
            prop_assert_eq!(model.predict(q).unwrap(), boosted_score(&owned, 3, 0, q) as f32);
        }
        for (i, row) in x.chunks(d).enumerate() {
            for t in 0..3 {
                let binned_value = model.tree(t).unwrap().predict_binned(data.row(i), data.mapper()).unwrap();
                prop_assert_eq!(binned_value, walk(owned.tree_nodes(t), 0, row));
            }
        }
    }

    #[test]
    fn depth_wise_growth_splits_every_splittable_node_above_max_depth(
        n in 2usize..80, d in 1usize..4, depth in 0usize..5, min_leaf in 1usize..4,
        p in 0.0f32..0.4, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let mut x: Vec<f32> = (0..n * d).map(|_| rng.below(6) as f32).collect();
        with_missing(&mut rng, &mut x, p);
        let labels: Vec<u32> = (0..n).map(|_| rng.below(3)).collect();
        let binned = Binned::new(&x, n, d, 255).unwrap();
        let task = ForestTask::Classify { labels: &labels, n_classes: 3, impurity: Impurity::Gini };
        let deep = single(tree_params(depth, 1 << depth, min_leaf, Growth::DepthWise));
        let owned = forest(&binned, task, &deep, seed, 2 << depth).unwrap();
        let nodes = &owned.nodes;
        let level = depths(nodes);
        let rows: Vec<&[f32]> = x.chunks(d).collect();
        for (i, node) in nodes.iter().enumerate() {
            if node.is_leaf() && level[i] < depth {
                prop_assert!(!splittable(&owned, i, &rows, &labels, min_leaf), "leaf {i} at depth {} could split", level[i]);
            }
        }
        // The same tree as leaf-wise growth when leaves are not limited.
        let leafwise = forest(&binned, task, &single(tree_params(depth, 1 << depth, min_leaf, Growth::LeafWise)), seed, 2 << depth).unwrap();
        for r in &rows {
            prop_assert_eq!(walk(nodes, 0, r), walk(&leafwise.nodes, 0, r));
        }
        // With fewer leaves allowed, no node is split below a level that still has a
        // splittable leaf.
        let max_leaves = 1 + rng.below(1 << depth) as usize;
        let capped = single(tree_params(depth, max_leaves, min_leaf, Growth::DepthWise));
        let owned = forest(&binned, task, &capped, seed, 2 << depth).unwrap();
        let level = depths(&owned.nodes);
        let deepest = owned.nodes.iter().zip(&level).filter(|(n, _)| !n.is_leaf()).map(|(_, &l)| l).max();
        for (i, node) in owned.nodes.iter().enumerate() {
            if node.is_leaf() && deepest.is_some_and(|deep| level[i] < deep) {
                prop_assert!(!splittable(&owned, i, &rows, &labels, min_leaf), "leaf {i} at depth {} above a deeper split", level[i]);
            }
        }
    }
}
