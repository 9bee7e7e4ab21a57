//! Classifies points with k-NN over a kd-tree built in caller buffers, and checks every answer
//! against a plain brute-force vote written here in f64.
//!
//! `cargo run -p edgeml-core --example knn_classify`

use edgeml_core::knn::{
    KdNode, KdTree, KnnClassifier, KnnIndex, KnnParams, Metric, Points, Search, Weighting,
};
use edgeml_core::rng::Rng;

const COLS: usize = 2;
const CLASSES: usize = 4;
const TRAIN: usize = 2000;
const QUERIES: usize = 500;
const K: usize = 5;

/// Points around four centres with a standard deviation of 1.2, so the classes overlap.
fn blobs(rng: &mut Rng, rows: usize) -> (Vec<f32>, Vec<u32>) {
    let centres = [[0.0f32, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]];
    let mut x = Vec::with_capacity(rows * COLS);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let class = rng.below(CLASSES as u32) as usize;
        x.push(centres[class][0] + 1.2 * rng.normal());
        x.push(centres[class][1] + 1.2 * rng.normal());
        y.push(class as u32);
    }
    (x, y)
}

/// The reference: every squared distance in f64, sorted by (distance, row), majority of the
/// first k, smallest class on ties.
fn brute_force(x: &[f32], y: &[u32], query: &[f32]) -> u32 {
    let mut distances: Vec<(f64, usize)> = x
        .chunks_exact(COLS)
        .enumerate()
        .map(|(row, p)| {
            let d = p
                .iter()
                .zip(query)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>();
            (d, row)
        })
        .collect();
    distances.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut votes = [0usize; CLASSES];
    for &(_, row) in &distances[..K] {
        votes[y[row] as usize] += 1;
    }
    (0..CLASSES).fold(0, |best, c| if votes[c] > votes[best] { c } else { best }) as u32
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng::new(5);
    let (x, y) = blobs(&mut rng, TRAIN);
    let (queries, truth) = blobs(&mut rng, QUERIES);

    let points = Points::new(&x, TRAIN, COLS)?;
    let mut permutation = vec![0u32; TRAIN];
    let mut nodes = vec![KdNode::default(); KdTree::node_count(TRAIN, KdTree::DEFAULT_LEAF_SIZE)?];
    let index = KnnIndex::new(points, Search::KdTree, &mut permutation, &mut nodes)?;
    let knn = KnnClassifier::new(index, &y, CLASSES)?;
    let params = KnnParams {
        k: K,
        metric: Metric::SquaredL2,
        weighting: Weighting::Uniform,
    };

    let mut votes = [0.0f64; CLASSES];
    let (mut correct, mut disagreements) = (0usize, 0usize);
    for (query, &label) in queries.chunks_exact(COLS).zip(&truth) {
        let class = knn.predict::<K>(query, params, &mut votes)?;
        correct += usize::from(class == label);
        // Distances that tie in f32 but not in f64 could order differently; these blobs have
        // none, so every answer must agree.
        disagreements += usize::from(class != brute_force(&x, &y, query));
    }
    println!(
        "{K}-NN over a kd-tree of {TRAIN} points: {:.1} % of {QUERIES} new points correct, \
         {disagreements} disagreements with brute force",
        100.0 * correct as f64 / QUERIES as f64
    );
    if disagreements > 0 {
        return Err("the kd-tree and brute force disagree".into());
    }
    Ok(())
}
