//! Timing of k-NN fit + predict on the lab's split (every test row against every non-test row),
//! one thread: edgeml brute force and kd-tree for k = 1 and 3, and the lab's own f64 loop.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use edgeml_core::knn::Search;
use serde::Serialize;

use super::classify::{knn_predict, lab_nn1};
use super::data::Table;

/// One timed configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    /// Stable key, e.g. `kd_tree_k1`.
    pub key: String,
    /// How the neighbours are searched.
    pub algorithm: String,
    /// Neighbours.
    pub k: usize,
    /// Median seconds of fit (index build) + predict over the runs.
    pub median_s: f64,
    /// Fastest run, seconds.
    pub min_s: f64,
    /// Timed runs (after one warm-up).
    pub runs: usize,
}

/// Median and minimum of `runs` timed calls of `f` after one warm-up call.
fn measure(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[0]))
}

/// Times brute force and kd-tree for k = 1, 3 (`runs` each) and, when `with_lab_loop`, the
/// lab's f64 1-NN loop (3 runs), `train` → `test`.
pub fn time_all(
    train: &Table,
    test: &Table,
    n_classes: usize,
    runs: usize,
    with_lab_loop: bool,
) -> Result<Vec<Timing>> {
    let mut out = Vec::new();
    for (search, name) in [(Search::BruteForce, "brute"), (Search::KdTree, "kd_tree")] {
        for k in [1usize, 3] {
            let (median_s, min_s) = measure(runs, || {
                black_box(knn_predict(train, test, k, search, n_classes)?);
                Ok(())
            })?;
            out.push(Timing {
                key: format!("{name}_k{k}"),
                algorithm: name.into(),
                k,
                median_s,
                min_s,
                runs,
            });
        }
    }
    if with_lab_loop {
        let lab_runs = runs.min(3);
        let (median_s, min_s) = measure(lab_runs, || {
            black_box(lab_nn1(train, test));
            Ok(())
        })?;
        out.push(Timing {
            key: "lab_f64_loop_k1".into(),
            algorithm: "lab arithmetic (f64 brute force, numpy order)".into(),
            k: 1,
            median_s,
            min_s,
            runs: lab_runs,
        });
    }
    Ok(out)
}
