//! Every leaf of a built tree respects the child-size limits: at least `min_samples_leaf`
//! training rows (CART forests) and at least `min_hessian_leaf` hessian (boosting with squared
//! loss, where each row's hessian is exactly 1, so the hessian of a leaf is its row count).
//! Leaf sizes are counted independently, by routing every training row through the built
//! tree; the same data without the limit gives smaller leaves, so each limit is shown to bind.

mod tree_support;

use edgeml_core::rng::Rng;
use edgeml_core::tree::{BoostParams, ForestParams, ForestTask, Loss, Model, TreeParams};
use tree_support::{boost, forest, Binned};

/// `n × d` uniform features and a noisy target that depends on all of them.
fn data(seed: u64, n: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = x
        .chunks(d)
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(j, v)| (j + 1) as f32 * v * v)
                .sum::<f32>()
                + 0.3 * rng.normal()
        })
        .collect();
    (x, y)
}

/// Rows reaching each leaf of tree `t`, keyed by leaf index; the smallest count and the
/// number of leaves.
fn leaf_sizes(model: &Model<'_>, t: usize, x: &[f32], d: usize) -> (usize, usize) {
    let tree = model.tree(t).unwrap();
    let mut counts = std::collections::HashMap::new();
    for row in x.chunks(d) {
        *counts
            .entry(tree.leaf_index(row).unwrap())
            .or_insert(0usize) += 1;
    }
    (counts.values().copied().min().unwrap_or(0), counts.len())
}

fn tree_params(min_samples_leaf: usize, min_hessian_leaf: f64) -> TreeParams {
    TreeParams {
        max_depth: 8,
        max_leaves: 64,
        min_samples_leaf,
        min_hessian_leaf,
        ..TreeParams::default()
    }
}

#[test]
fn every_cart_leaf_holds_min_samples_leaf_rows() {
    let mut binding = 0;
    for seed in 0..24u64 {
        let (n, d) = (40 + 17 * seed as usize, 1 + seed as usize % 3);
        let (x, y) = data(seed, n, d);
        let binned = Binned::new(&x, n, d, 32).unwrap();
        let min_leaf = 2 + seed as usize % 9;
        let grow = |min_samples_leaf| {
            let params = ForestParams {
                n_trees: 1,
                tree: tree_params(min_samples_leaf, 0.0),
                bootstrap: false,
            };
            forest(
                &binned,
                ForestTask::Regress { targets: &y },
                &params,
                seed,
                256,
            )
            .unwrap()
        };
        let limited = grow(min_leaf);
        let (smallest, leaves) = leaf_sizes(&limited.model(), 0, &x, d);
        assert!(leaves > 1, "seed {seed}: no split at all");
        assert!(
            smallest >= min_leaf,
            "seed {seed}: a leaf of {smallest} rows, limit {min_leaf}"
        );
        let (free, _) = leaf_sizes(&grow(1).model(), 0, &x, d);
        if free < min_leaf {
            binding += 1;
        }
    }
    assert!(
        binding >= 12,
        "the limit bound in only {binding} of 24 cases"
    );
}

#[test]
fn every_boosted_leaf_holds_min_hessian_leaf() {
    let mut binding = 0;
    for seed in 0..16u64 {
        let (n, d) = (60 + 23 * seed as usize, 2);
        let (x, y) = data(100 + seed, n, d);
        let binned = Binned::new(&x, n, d, 32).unwrap();
        // Squared loss: each row's hessian is 1, so a limit of k + 0.5 means k + 1 rows.
        let min_rows = 3 + seed as usize % 7;
        let grow = |min_hessian_leaf| {
            let params = BoostParams {
                loss: Loss::Squared,
                n_rounds: 3,
                learning_rate: 0.5,
                lambda: 0.0,
                tree: tree_params(1, min_hessian_leaf),
                row_subsample: 1.0,
                start_from_prior: false,
            };
            boost(&binned, &y, &params, seed, 1024).unwrap()
        };
        let limited = grow(min_rows as f64 - 0.5);
        let model = limited.model();
        for t in 0..model.n_trees() {
            let (smallest, leaves) = leaf_sizes(&model, t, &x, d);
            assert!(leaves > 1, "seed {seed} tree {t}: no split at all");
            assert!(
                smallest >= min_rows,
                "seed {seed} tree {t}: a leaf of {smallest} rows, hessian limit {}",
                min_rows as f64 - 0.5
            );
        }
        let (free, _) = leaf_sizes(&grow(0.0).model(), 0, &x, d);
        if free < min_rows {
            binding += 1;
        }
    }
    assert!(
        binding >= 8,
        "the limit bound in only {binding} of 16 cases"
    );
}
