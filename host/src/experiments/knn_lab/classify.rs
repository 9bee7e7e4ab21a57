//! The classifiers the lab compares: edgeml's k-NN (brute force or kd-tree, f32), the lab's own
//! 1-NN arithmetic in f64 (the reference the seed's figures come from), and the random baseline.

use anyhow::Result;
use edgeml_core::eval::RandomClassifier;
use edgeml_core::knn::{
    KdNode, KdTree, KnnClassifier, KnnIndex, KnnParams, Metric, Search, Weighting,
};
use edgeml_core::rng::UniformSource;

use super::data::Table;

/// The top-k capacity for k above 4 (the k sweep goes to 15).
pub const MAX_K: usize = 16;

/// Labels of every row of `queries` by edgeml's k-NN (squared L2, uniform votes, ties to the
/// nearer row then the smaller label) over `train`, built as `search` asks; the top-k
/// capacity is the smallest of 1, 4 and [`MAX_K`] that holds `k`, as firmware would size it.
pub fn knn_predict(
    train: &Table,
    queries: &Table,
    k: usize,
    search: Search,
    n_classes: usize,
) -> Result<Vec<u32>> {
    match k {
        0 | 1 => knn_predict_with::<1>(train, queries, k, search, n_classes),
        2..=4 => knn_predict_with::<4>(train, queries, k, search, n_classes),
        _ => knn_predict_with::<MAX_K>(train, queries, k, search, n_classes),
    }
}

/// [`knn_predict`] with top-k capacity `K`.
fn knn_predict_with<const K: usize>(
    train: &Table,
    queries: &Table,
    k: usize,
    search: Search,
    n_classes: usize,
) -> Result<Vec<u32>> {
    let points = train.points()?;
    let mut permutation = vec![0u32; train.rows()];
    let node_count = KdTree::node_count(train.rows(), KdTree::DEFAULT_LEAF_SIZE)?;
    let mut nodes = vec![KdNode::default(); node_count];
    let index = KnnIndex::new(points, search, &mut permutation, &mut nodes)?;
    let classifier = KnnClassifier::new(index, &train.y, n_classes)?;
    let params = KnnParams {
        k,
        metric: Metric::SquaredL2,
        weighting: Weighting::Uniform,
    };
    let mut votes = vec![0.0f64; n_classes];
    let mut out = vec![0u32; queries.rows()];
    classifier.predict_batch::<K>(queries.points()?, params, &mut votes, &mut out)?;
    Ok(out)
}

/// numpy's `a.sum()` of a short f64 row as its pairwise summation computes it: a plain loop
/// below 8 values; eight interleaved accumulators combined as `((r0+r1)+(r2+r3))+((r4+r5)+
/// (r6+r7))` plus a plain tail up to 128 values; halves (split at a multiple of 8) beyond.
pub fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(-0.0, |acc, v| acc + v);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&values[..8]);
        let blocks = n - n % 8;
        for chunk in values[8..blocks].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(chunk) {
                *acc += v;
            }
        }
        let mut total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[blocks..] {
            total += v;
        }
        return total;
    }
    let half = n / 2;
    let half = half - half % 8;
    numpy_sum(&values[..half]) + numpy_sum(&values[half..])
}

/// The lab's `NN`: for each query, `trainlabel[np.argmin(((traindata - query)**2).sum(1))]`
/// in f64 with numpy's summation order and the first minimum on ties.
pub fn lab_nn1(train: &Table, queries: &Table) -> Vec<u32> {
    let cols = train.cols;
    let train_x: Vec<f64> = train.x.iter().map(|&v| f64::from(v)).collect();
    let mut squares = vec![0.0f64; cols];
    queries
        .x
        .chunks_exact(cols)
        .map(|query| {
            let query: Vec<f64> = query.iter().map(|&v| f64::from(v)).collect();
            let mut best = f64::INFINITY;
            let mut best_row = 0usize;
            for (row, point) in train_x.chunks_exact(cols).enumerate() {
                for ((s, p), q) in squares.iter_mut().zip(point).zip(&query) {
                    let d = p - q;
                    *s = d * d;
                }
                let distance = numpy_sum(&squares);
                if distance < best {
                    best = distance;
                    best_row = row;
                }
            }
            train.y.get(best_row).copied().unwrap_or(0)
        })
        .collect()
}

/// The lab's `RandomClassifier`: a uniform pick among the classes seen in `train`, one draw
/// of `rng` per query row.
pub fn random_predict<R: UniformSource>(
    train: &Table,
    queries: &Table,
    n_classes: usize,
    rng: &mut R,
) -> Result<Vec<u32>> {
    let mut classes = vec![0u32; n_classes];
    let baseline = RandomClassifier::fit(&train.y, &mut classes)?;
    let mut out = vec![0u32; queries.rows()];
    baseline.predict(rng, &mut out);
    Ok(out)
}

/// Accuracy of `predicted` against `truth`, in percent, as the lab prints it
/// (`correct / len * 100`).
pub fn accuracy_pct(truth: &[u32], predicted: &[u32]) -> Result<f64> {
    Ok(edgeml_core::eval::accuracy(truth, predicted)? * 100.0)
}
