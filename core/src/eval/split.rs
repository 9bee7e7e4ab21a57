//! Seeded, reproducible splits into caller index buffers: by fraction (the lab's `split`),
//! repeated random splits (the lab's `AverageAccuracy`), k-fold, stratified k-fold and
//! leave-one-out. Any [`UniformSource`] drives them: [`crate::rng::Rng`], or
//! [`crate::rng::Pcg64Numpy`] to draw exactly what a numpy script drew.

use crate::error::{Error, Result};
use crate::rng::UniformSource;

fn check_rows(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::Empty);
    }
    u32::try_from(n)
        .map(|_| ())
        .map_err(|_| Error::SizeOverflow)
}

/// Writes the rows where `select(row)` holds into the front of `out` and the others after them,
/// each part in ascending row order; returns the size of the front part. `out.len()` rows.
fn partition(out: &mut [u32], mut select: impl FnMut(usize) -> bool) -> usize {
    let n = out.len();
    let mut front = 0usize;
    let mut back = n;
    for row in 0..n {
        let slot = if select(row) {
            front += 1;
            front - 1
        } else {
            back -= 1;
            back
        };
        if let Some(value) = out.get_mut(slot) {
            *value = row as u32;
        }
    }
    if let Some(tail) = out.get_mut(front..) {
        tail.reverse();
    }
    front
}

/// The lab's `split(data, label, p)`: one `uniform_f64()` draw per row in row order; rows
/// drawing `< fraction` form the first part. Writes the first part then the second into `out`
/// (`n` entries), each ascending, and returns the first part's size. `fraction` must be in
/// `[0, 1]`.
pub fn split_by_fraction<R: UniformSource>(
    rng: &mut R,
    fraction: f64,
    out: &mut [u32],
) -> Result<usize> {
    check_rows(out.len())?;
    if !(0.0..=1.0).contains(&fraction) {
        return Err(Error::InvalidParameter {
            name: "fraction (must be in [0, 1])",
        });
    }
    Ok(partition(out, |_| rng.uniform_f64() < fraction))
}

/// The lab's `AverageAccuracy`: `iterations` times, [`split_by_fraction`] the `out.len()` rows
/// with `rng` and call `evaluate(first, second)` (in the lab: train on the first part,
/// score on the second); returns the mean of the scores (summed in order, then divided).
pub fn repeated_splits<R: UniformSource>(
    rng: &mut R,
    fraction: f64,
    iterations: usize,
    out: &mut [u32],
    mut evaluate: impl FnMut(&[u32], &[u32]) -> Result<f64>,
) -> Result<f64> {
    if iterations == 0 {
        return Err(Error::InvalidParameter { name: "iterations" });
    }
    let mut total = 0.0f64;
    for _ in 0..iterations {
        let first = split_by_fraction(rng, fraction, out)?;
        let (a, b) = out.split_at(first.min(out.len()));
        total += evaluate(a, b)?;
    }
    Ok(total / iterations as f64)
}

/// Fisher–Yates shuffle driven by `rng.index_below`.
fn shuffle<R: UniformSource>(rng: &mut R, items: &mut [u32]) {
    for i in (1..items.len()).rev() {
        let j = rng.index_below(i + 1);
        if j < i {
            items.swap(i, j);
        }
    }
}

fn check_folds(n: usize, k: usize) -> Result<()> {
    check_rows(n)?;
    if k < 2 || k > n {
        return Err(Error::InvalidParameter {
            name: "k (folds, must be in 2..=rows)",
        });
    }
    Ok(())
}

/// k-fold assignment: `folds[row]` gets the fold (`0..k`) of each of `folds.len()` rows, a
/// shuffled sequence of `0, 1, …, k−1, 0, 1, …` so fold sizes differ by at most one.
/// `2 ≤ k ≤ rows`.
pub fn k_fold_assign<R: UniformSource>(rng: &mut R, k: usize, folds: &mut [u32]) -> Result<()> {
    check_folds(folds.len(), k)?;
    for (row, fold) in folds.iter_mut().enumerate() {
        *fold = (row % k) as u32;
    }
    shuffle(rng, folds);
    Ok(())
}

/// Stratified k-fold assignment: the rows of each class (in class order, shuffled within the
/// class) are dealt to folds round-robin, continuing across classes. Each fold then holds
/// `⌊n_c/k⌋` or `⌈n_c/k⌉` rows of every class `c`, and fold sizes differ by at most one.
/// Scratch: `cursor` (`n_classes` entries) and `permutation` (rows); output `folds` (rows).
pub fn stratified_k_fold_assign<R: UniformSource>(
    rng: &mut R,
    labels: &[u32],
    k: usize,
    cursor: &mut [u32],
    permutation: &mut [u32],
    folds: &mut [u32],
) -> Result<()> {
    let n = labels.len();
    check_folds(n, k)?;
    if cursor.is_empty() {
        return Err(Error::Empty);
    }
    for buffer in [permutation.len(), folds.len()] {
        if buffer != n {
            return Err(Error::ShapeMismatch {
                expected: n,
                found: buffer,
            });
        }
    }
    cursor.fill(0);
    for &label in labels {
        let count = cursor
            .get_mut(label as usize)
            .ok_or(Error::InvalidParameter {
                name: "labels (each must be below n_classes = cursor.len())",
            })?;
        *count += 1;
    }
    let mut start = 0u32;
    for slot in cursor.iter_mut() {
        let count = *slot;
        *slot = start;
        start += count;
    }
    for (row, &label) in labels.iter().enumerate() {
        let next = cursor.get_mut(label as usize).ok_or(Error::SizeOverflow)?;
        *permutation
            .get_mut(*next as usize)
            .ok_or(Error::SizeOverflow)? = row as u32;
        *next += 1;
    }
    let mut begin = 0usize;
    for &end in cursor.iter() {
        let segment = permutation
            .get_mut(begin..end as usize)
            .ok_or(Error::SizeOverflow)?;
        shuffle(rng, segment);
        begin = end as usize;
    }
    for (position, &row) in permutation.iter().enumerate() {
        *folds.get_mut(row as usize).ok_or(Error::SizeOverflow)? = (position % k) as u32;
    }
    Ok(())
}

/// The rows of `fold` (ascending) followed by all other rows (ascending) into `out`
/// (`folds.len()` entries); returns how many rows the fold has.
pub fn fold_members(folds: &[u32], fold: u32, out: &mut [u32]) -> Result<usize> {
    check_rows(folds.len())?;
    if out.len() != folds.len() {
        return Err(Error::ShapeMismatch {
            expected: folds.len(),
            found: out.len(),
        });
    }
    Ok(partition(out, |row| folds.get(row) == Some(&fold)))
}

/// Leave-one-out split `held_out` of `out.len()` rows: `out[0] = held_out`, then every other
/// row ascending. `Err(InvalidParameter)` when `held_out` is not a row.
pub fn leave_one_out(held_out: usize, out: &mut [u32]) -> Result<()> {
    check_rows(out.len())?;
    if held_out >= out.len() {
        return Err(Error::InvalidParameter { name: "held_out" });
    }
    partition(out, |row| row == held_out);
    Ok(())
}
