//! k-means over row-major [`Points`] (`n × d`) with `k` centroids in a caller buffer
//! (`k × d`, row-major): greedy k-means++ seeding (scikit-learn's rule: `2 + ⌊ln k⌋` candidates
//! per centre, the one that lowers the potential most is kept), Lloyd iterations and Sculley's
//! mini-batch k-means. Distances are squared L2 through [`crate::kernels::distance::squared_l2`];
//! inertia (the sum of squared distances to the nearest centroid) is accumulated in f64.
//!
//! Tie rule: a point equidistant from several centroids belongs to the lowest-numbered one.

use crate::error::{ensure_finite, ensure_len, Error, Result};
use crate::kernels::distance::squared_l2;
use crate::kernels::gemm::gemm;
use crate::kernels::Dispatch;
use crate::knn::Points;
use crate::rng::Rng;
use crate::tensor::{TensorView, TensorViewMut};

/// Points per block of the product-form assignment ([`LloydParams::dispatch`]).
pub const ROW_BLOCK: usize = 256;

/// What a fit reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Σ over points of the squared distance to the assigned centroid, after the last
    /// assignment.
    pub inertia: f64,
    /// Iterations run (assignment plus update each).
    pub iterations: usize,
    /// Whether the tolerance (or an unchanged assignment) stopped it before `max_iter`.
    pub converged: bool,
}

/// Candidates drawn per centre by greedy k-means++: `2 + ⌊ln k⌋` (scikit-learn's default);
/// 1 for `k ≤ 1`.
pub fn greedy_trials(k: usize) -> usize {
    if k <= 1 {
        1
    } else {
        2 + libm::floor(libm::log(k as f64)) as usize
    }
}

/// The nearest of the `centroids` (`k × d`, `d = x.len()`) to `x` and its squared distance;
/// ties go to the lower index. `Err(Empty)` for no centroid, `Err(ShapeMismatch)` when
/// `centroids.len()` is not a multiple of `d`.
pub fn nearest(centroids: &[f32], x: &[f32]) -> Result<(usize, f32)> {
    let d = x.len();
    if d == 0 || centroids.is_empty() {
        return Err(Error::Empty);
    }
    ensure_len(centroids.len() / d * d, centroids.len())?;
    let mut best = (0usize, f32::INFINITY);
    for (j, c) in centroids.chunks_exact(d).enumerate() {
        let dist = squared_l2(x, c)?;
        if dist < best.1 {
            best = (j, dist);
        }
    }
    Ok(best)
}

/// Assigns every point to its nearest centroid (`assignment`: `n` entries) and returns the
/// inertia. Errors: `ShapeMismatch` for buffers that disagree with `points`, `Empty` for no
/// centroid, `NonFinite` for NaN/inf centroids.
pub fn assign(points: Points<'_>, centroids: &[f32], assignment: &mut [u32]) -> Result<f64> {
    check_centroids(points, centroids)?;
    ensure_len(points.rows(), assignment.len())?;
    let mut inertia = 0.0f64;
    for (row, slot) in points.iter_rows().zip(assignment.iter_mut()) {
        let (j, dist) = nearest(centroids, row)?;
        *slot = u32::try_from(j).map_err(|_| Error::SizeOverflow)?;
        inertia += f64::from(dist);
    }
    Ok(inertia)
}

fn check_centroids(points: Points<'_>, centroids: &[f32]) -> Result<usize> {
    let d = points.cols();
    if centroids.is_empty() {
        return Err(Error::Empty);
    }
    let k = centroids.len() / d;
    ensure_len(k * d, centroids.len())?;
    ensure_finite(centroids)?;
    Ok(k)
}

fn check_k(points: Points<'_>, k: usize) -> Result<()> {
    if k == 0 || k > points.rows() {
        return Err(Error::InvalidParameter {
            name: "k (must lie in 1..=rows)",
        });
    }
    u32::try_from(k).map_err(|_| Error::SizeOverflow)?;
    Ok(())
}

/// Seeds `centroids` (`k × d`, `k = centroids.len() / d`) by greedy k-means++: the first
/// centre is a uniform draw; each next one is the best of `trials` draws with probability
/// proportional to the squared distance to the nearest centre so far, "best" meaning the
/// lowest resulting potential. `closest` (`n` entries) is scratch and ends holding each
/// point's squared distance to its nearest centre. Errors: `InvalidParameter` for `k` outside
/// `1..=n` or zero `trials`, `ShapeMismatch` for buffers that disagree with `points`.
pub fn seed_plus_plus(
    points: Points<'_>,
    trials: usize,
    rng: &mut Rng,
    centroids: &mut [f32],
    closest: &mut [f32],
) -> Result<()> {
    let (n, d) = (points.rows(), points.cols());
    let k = centroids.len() / d;
    ensure_len(k * d, centroids.len())?;
    check_k(points, k)?;
    ensure_len(n, closest.len())?;
    if trials == 0 {
        return Err(Error::InvalidParameter {
            name: "trials must be positive",
        });
    }
    let first = rng.below_usize(n);
    copy_row(points, first, centroids, 0)?;
    let mut potential = 0.0f64;
    for (row, slot) in points.iter_rows().zip(closest.iter_mut()) {
        *slot = squared_l2(row, &centroids[..d])?;
        potential += f64::from(*slot);
    }
    for c in 1..k {
        let mut best = (first, f64::INFINITY);
        for _ in 0..trials {
            let candidate = sample_proportional(closest, potential, rng);
            let row = points.row(candidate).ok_or(Error::SizeOverflow)?;
            let mut trial_potential = 0.0f64;
            for (other, &old) in points.iter_rows().zip(closest.iter()) {
                trial_potential += f64::from(squared_l2(other, row)?.min(old));
            }
            if trial_potential < best.1 {
                best = (candidate, trial_potential);
            }
        }
        copy_row(points, best.0, centroids, c)?;
        let chosen = points.row(best.0).ok_or(Error::SizeOverflow)?;
        potential = 0.0;
        for (other, slot) in points.iter_rows().zip(closest.iter_mut()) {
            *slot = squared_l2(other, chosen)?.min(*slot);
            potential += f64::from(*slot);
        }
    }
    Ok(())
}

/// An index drawn with probability `weights[i] / total`; uniform when every weight is zero
/// (all points coincide with centres).
fn sample_proportional(weights: &[f32], total: f64, rng: &mut Rng) -> usize {
    if total <= 0.0 {
        return rng.below_usize(weights.len());
    }
    let target = rng.uniform_f64() * total;
    let mut running = 0.0f64;
    let mut last_positive = 0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            running += f64::from(w);
            last_positive = i;
            if running > target {
                return i;
            }
        }
    }
    last_positive
}

fn copy_row(points: Points<'_>, row: usize, centroids: &mut [f32], slot: usize) -> Result<()> {
    let d = points.cols();
    let src = points.row(row).ok_or(Error::SizeOverflow)?;
    let dst = centroids
        .get_mut(slot * d..(slot + 1) * d)
        .ok_or(Error::BufferTooSmall {
            needed: (slot + 1) * d,
            available: 0,
        })?;
    dst.copy_from_slice(src);
    Ok(())
}

/// Stopping rule of [`lloyd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LloydParams {
    /// Most iterations (at least 1).
    pub max_iter: usize,
    /// Stop once the summed squared centroid shift of an iteration is at most
    /// `tol × (mean per-feature variance of the points)` (scikit-learn's relative rule), or
    /// when the assignment no longer changes. Non-negative.
    pub tol: f32,
    /// `None`: each iteration compares every point with every centroid by
    /// [`squared_l2`]. `Some(dispatch)`: it ranks centroids by `‖c‖² − 2·x·c` from one gemm
    /// per block of [`ROW_BLOCK`] points (far faster for wide data; a near-tie may resolve
    /// differently). The final assignment and inertia always use [`squared_l2`].
    pub dispatch: Option<Dispatch>,
}

impl Default for LloydParams {
    /// scikit-learn's defaults: 300 iterations, tolerance 1e-4; direct distances.
    fn default() -> Self {
        LloydParams {
            max_iter: 300,
            tol: 1e-4,
            dispatch: None,
        }
    }
}

/// Scratch of [`lloyd`]: per-centroid coordinate sums (`k × d`) and counts (`k`), and for the
/// product-form assignment a tile of [`LloydWork::tile_len`] elements (empty otherwise).
#[derive(Debug)]
pub struct LloydWork<'w> {
    /// `k × d` sums of the assigned points.
    pub sums: &'w mut [f32],
    /// `k` counts of assigned points.
    pub counts: &'w mut [u32],
    /// `(ROW_BLOCK + 1) × k` elements when [`LloydParams::dispatch`] is set.
    pub tile: &'w mut [f32],
}

impl LloydWork<'_> {
    /// Elements of the tile for `k` centroids (saturating).
    pub const fn tile_len(k: usize) -> usize {
        (ROW_BLOCK + 1).saturating_mul(k)
    }
}

/// Lloyd's algorithm from the given `centroids` (`k × d`): alternately assigns every point to
/// its nearest centroid and moves each centroid to the mean of its points. An emptied cluster
/// takes the point farthest from its own centroid. Leaves the final assignment in
/// `assignment` (`n` entries) consistent with the returned centroids, and returns its inertia.
/// Errors: `InvalidParameter` for `max_iter == 0` or a negative/NaN `tol`, `ShapeMismatch` for
/// buffers that disagree, `NonFinite` for non-finite centroids.
pub fn lloyd(
    points: Points<'_>,
    params: LloydParams,
    centroids: &mut [f32],
    assignment: &mut [u32],
    work: LloydWork<'_>,
) -> Result<Fit> {
    let k = check_centroids(points, centroids)?;
    check_k(points, k)?;
    let d = points.cols();
    ensure_len(k * d, work.sums.len())?;
    ensure_len(k, work.counts.len())?;
    ensure_len(points.rows(), assignment.len())?;
    if params.max_iter == 0 || params.tol.is_nan() || params.tol < 0.0 {
        return Err(Error::InvalidParameter {
            name: "max_iter must be positive and tol non-negative",
        });
    }
    let tol = f64::from(params.tol) * mean_variance(points);
    assignment.fill(u32::MAX);
    let mut iterations = 0;
    let mut converged = false;
    // After a relocation the assignment already names the relocated points' new clusters, so
    // an unchanged assignment no longer means the centroids are its means.
    let mut relocated = false;
    if params.dispatch.is_some() && work.tile.len() < LloydWork::tile_len(k) {
        return Err(Error::BufferTooSmall {
            needed: LloydWork::tile_len(k),
            available: work.tile.len(),
        });
    }
    while iterations < params.max_iter {
        iterations += 1;
        let changed = match params.dispatch {
            Some(dispatch) => {
                assign_by_product(points, centroids, dispatch, work.tile, assignment)?
            }
            None => assign_changes(points, centroids, assignment)?,
        };
        if changed == 0 && !relocated {
            converged = true;
            break;
        }
        let (shift, moved) =
            update_means(points, centroids, assignment, &mut *work.sums, work.counts)?;
        relocated = moved;
        if shift <= tol && !relocated {
            converged = true;
            break;
        }
    }
    let inertia = assign(points, centroids, assignment)?;
    Ok(Fit {
        inertia,
        iterations,
        converged,
    })
}

/// Reassigns every point; returns how many changed cluster.
fn assign_changes(points: Points<'_>, centroids: &[f32], assignment: &mut [u32]) -> Result<usize> {
    let mut changed = 0;
    for (row, slot) in points.iter_rows().zip(assignment.iter_mut()) {
        let j = nearest(centroids, row)?.0 as u32;
        if *slot != j {
            changed += 1;
            *slot = j;
        }
    }
    Ok(changed)
}

/// Reassigns every point by the smallest `‖c‖² − 2·x·c` (one gemm per block of points);
/// returns how many changed cluster. `tile` holds `(ROW_BLOCK + 1) × k` elements.
fn assign_by_product(
    points: Points<'_>,
    centroids: &[f32],
    dispatch: Dispatch,
    tile: &mut [f32],
    assignment: &mut [u32],
) -> Result<usize> {
    let d = points.cols();
    let k = centroids.len() / d;
    let (norms, products) = tile.split_at_mut(k);
    for (norm, c) in norms.iter_mut().zip(centroids.chunks_exact(d)) {
        *norm = c.iter().map(|v| v * v).sum();
    }
    let centroids_t = TensorView::matrix(centroids, k, d)?.t()?;
    let mut changed = 0;
    for (block, slots) in points
        .data()
        .chunks(ROW_BLOCK * d)
        .zip(assignment.chunks_mut(ROW_BLOCK))
    {
        let rows = block.len() / d;
        let out = products.get_mut(..rows * k).ok_or(Error::SizeOverflow)?;
        gemm(
            dispatch,
            -2.0,
            TensorView::matrix(block, rows, d)?,
            centroids_t,
            0.0,
            TensorViewMut::matrix(out, rows, k)?,
        )?;
        for (row, slot) in out.chunks_exact(k).zip(slots.iter_mut()) {
            let mut best = (0u32, f32::INFINITY);
            for (j, (&p, &n)) in row.iter().zip(norms.iter()).enumerate() {
                if p + n < best.1 {
                    best = (j as u32, p + n);
                }
            }
            if *slot != best.0 {
                changed += 1;
                *slot = best.0;
            }
        }
    }
    Ok(changed)
}

/// Moves each centroid to the mean of its points (an empty one to the worst-served point,
/// which is reassigned to it); returns the summed squared shift and whether any centroid was
/// relocated.
fn update_means(
    points: Points<'_>,
    centroids: &mut [f32],
    assignment: &mut [u32],
    sums: &mut [f32],
    counts: &mut [u32],
) -> Result<(f64, bool)> {
    let d = points.cols();
    sums.fill(0.0);
    counts.fill(0);
    for (row, &j) in points.iter_rows().zip(assignment.iter()) {
        let j = j as usize;
        if let (Some(sum), Some(count)) = (sums.get_mut(j * d..(j + 1) * d), counts.get_mut(j)) {
            *count += 1;
            for (s, &x) in sum.iter_mut().zip(row) {
                *s += x;
            }
        }
    }
    let mut shift = 0.0f64;
    for (centroid, (sum, &count)) in centroids
        .chunks_exact_mut(d)
        .zip(sums.chunks_exact(d).zip(counts.iter()))
    {
        if count == 0 {
            continue;
        }
        let inv = 1.0 / count as f32;
        for (c, &s) in centroid.iter_mut().zip(sum) {
            let moved = s * inv;
            shift += f64::from((moved - *c) * (moved - *c));
            *c = moved;
        }
    }
    let mut relocated = false;
    for j in 0..counts.len() {
        if counts.get(j) == Some(&0) {
            relocated = true;
            let far = worst_served(points, centroids, assignment)?;
            let src = points.row(far).ok_or(Error::SizeOverflow)?;
            let centroid = centroids
                .get_mut(j * d..(j + 1) * d)
                .ok_or(Error::SizeOverflow)?;
            shift += f64::from(squared_l2(src, centroid)?);
            centroid.copy_from_slice(src);
            if let Some(slot) = assignment.get_mut(far) {
                *slot = j as u32;
            }
        }
    }
    Ok((shift, relocated))
}

/// The point farthest from its assigned centroid (the first of equals), for an emptied
/// cluster to take over.
fn worst_served(points: Points<'_>, centroids: &[f32], assignment: &[u32]) -> Result<usize> {
    let d = points.cols();
    let mut best = (0usize, -1.0f32);
    for (i, (row, &j)) in points.iter_rows().zip(assignment).enumerate() {
        let j = j as usize;
        let centroid = centroids
            .get(j * d..(j + 1) * d)
            .ok_or(Error::SizeOverflow)?;
        let dist = squared_l2(row, centroid)?;
        if dist > best.1 {
            best = (i, dist);
        }
    }
    Ok(best.0)
}

/// Mean over features of the population variance of each feature, in f64 (two passes).
fn mean_variance(points: Points<'_>) -> f64 {
    let (n, d) = (points.rows() as f64, points.cols());
    let mut total = 0.0f64;
    for col in 0..d {
        let column = || {
            points
                .data()
                .iter()
                .skip(col)
                .step_by(d)
                .map(|&x| f64::from(x))
        };
        let mean = column().sum::<f64>() / n;
        total += column().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    }
    total / d as f64
}

/// Settings of [`mini_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiniBatchParams {
    /// Points drawn (with replacement) per step.
    pub batch: usize,
    /// Steps.
    pub steps: usize,
}

/// Sculley's mini-batch k-means from the given `centroids`: each step draws `batch` points
/// uniformly (indices into `picks`), caches their nearest centroids (into `nearest_of`), then
/// moves each centroid towards its points with the per-centroid rate `1 / count` (`counts`:
/// `k` entries, kept across calls so training can resume). Returns the inertia of the whole
/// set under the final centroids, with its assignment in `assignment` (`n` entries).
/// Errors as [`lloyd`], and `InvalidParameter` for a zero batch or zero steps.
#[allow(clippy::too_many_arguments)]
pub fn mini_batch(
    points: Points<'_>,
    params: MiniBatchParams,
    rng: &mut Rng,
    centroids: &mut [f32],
    counts: &mut [u32],
    picks: &mut [u32],
    nearest_of: &mut [u32],
    assignment: &mut [u32],
) -> Result<Fit> {
    let k = check_centroids(points, centroids)?;
    check_k(points, k)?;
    let d = points.cols();
    ensure_len(k, counts.len())?;
    ensure_len(params.batch, picks.len())?;
    ensure_len(params.batch, nearest_of.len())?;
    ensure_len(points.rows(), assignment.len())?;
    u32::try_from(points.rows()).map_err(|_| Error::SizeOverflow)?;
    if params.batch == 0 || params.steps == 0 {
        return Err(Error::InvalidParameter {
            name: "batch and steps must be positive",
        });
    }
    for _ in 0..params.steps {
        for (pick, near) in picks.iter_mut().zip(nearest_of.iter_mut()) {
            *pick = rng.below_usize(points.rows()) as u32;
            let row = points.row(*pick as usize).ok_or(Error::SizeOverflow)?;
            *near = nearest(centroids, row)?.0 as u32;
        }
        for (&pick, &near) in picks.iter().zip(nearest_of.iter()) {
            let j = near as usize;
            let row = points.row(pick as usize).ok_or(Error::SizeOverflow)?;
            let count = counts.get_mut(j).ok_or(Error::SizeOverflow)?;
            *count = count.saturating_add(1);
            let eta = 1.0 / *count as f32;
            let centroid = centroids
                .get_mut(j * d..(j + 1) * d)
                .ok_or(Error::SizeOverflow)?;
            for (c, &x) in centroid.iter_mut().zip(row) {
                *c += eta * (x - *c);
            }
        }
    }
    let inertia = assign(points, centroids, assignment)?;
    Ok(Fit {
        inertia,
        iterations: params.steps,
        converged: false,
    })
}
