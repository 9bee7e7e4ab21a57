//! Batch normalization over the rows of a `[rows × k]` minibatch: batch statistics while
//! training (with running averages kept for inference), running statistics at inference.

/// ε added to the variance (PyTorch's `BatchNorm1d` default).
pub const EPS: f32 = 1e-5;
/// Weight of the new batch statistic in the running averages.
pub const MOMENTUM: f32 = 0.1;

/// Training forward: `out = γ·(lin − μ)/√(σ² + ε) + β` with the batch mean μ and biased
/// variance σ² of each column of `lin` (`[rows × k]`). Stores `[μ, 1/√(σ²+ε)]` (2k) in
/// `stats` and moves `running` (`[mean, var]`, 2k) towards `[μ, unbiased σ²]`.
/// Callers pass consistent lengths.
pub(crate) fn forward_train(
    lin: &[f32],
    k: usize,
    gamma: &[f32],
    beta: &[f32],
    stats: &mut [f32],
    running: &mut [f32],
    out: &mut [f32],
) {
    let rows = lin.len() / k.max(1);
    let inv_rows = 1.0 / rows.max(1) as f32;
    let (mean, inv_std) = stats.split_at_mut(k);
    mean.fill(0.0);
    inv_std.fill(0.0);
    for row in lin.chunks_exact(k) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m *= inv_rows);
    for row in lin.chunks_exact(k) {
        for ((s, &v), &m) in inv_std.iter_mut().zip(row).zip(mean.iter()) {
            *s += (v - m) * (v - m);
        }
    }
    let unbiased = if rows > 1 {
        rows as f32 / (rows - 1) as f32
    } else {
        1.0
    };
    let (run_mean, run_var) = running.split_at_mut(k);
    for (((s, &m), rm), rv) in inv_std
        .iter_mut()
        .zip(mean.iter())
        .zip(run_mean)
        .zip(run_var)
    {
        let var = *s * inv_rows;
        *rm = (1.0 - MOMENTUM) * *rm + MOMENTUM * m;
        *rv = (1.0 - MOMENTUM) * *rv + MOMENTUM * var * unbiased;
        *s = 1.0 / libm::sqrtf(var + EPS);
    }
    for (row, o) in lin.chunks_exact(k).zip(out.chunks_exact_mut(k)) {
        for (((((o, &v), &m), &s), &g), &b) in o
            .iter_mut()
            .zip(row)
            .zip(mean.iter())
            .zip(inv_std.iter())
            .zip(gamma)
            .zip(beta)
        {
            *o = g * (v - m) * s + b;
        }
    }
}

/// Inference, in place over `[rows × k]`: `x ← γ·(x − mean)/√(var + ε) + β` with the running
/// `[mean, var]` (2k).
pub(crate) fn forward_infer(
    values: &mut [f32],
    k: usize,
    gamma: &[f32],
    beta: &[f32],
    running: &[f32],
) {
    let (run_mean, run_var) = running.split_at(k.min(running.len()));
    for row in values.chunks_exact_mut(k) {
        for ((((x, &m), &v), &g), &b) in row
            .iter_mut()
            .zip(run_mean)
            .zip(run_var)
            .zip(gamma)
            .zip(beta)
        {
            *x = g * (*x - m) / libm::sqrtf(v + EPS) + b;
        }
    }
}

/// Backward through [`forward_train`]: `delta` (`[rows × k]`, ∂L/∂out) becomes ∂L/∂lin;
/// writes ∂L/∂γ and ∂L/∂β (k each).
pub(crate) fn backward(
    delta: &mut [f32],
    lin: &[f32],
    k: usize,
    gamma: &[f32],
    stats: &[f32],
    grad_gamma: &mut [f32],
    grad_beta: &mut [f32],
) {
    let rows = lin.len() / k.max(1);
    let (mean, inv_std) = stats.split_at(k.min(stats.len()));
    grad_gamma.fill(0.0);
    grad_beta.fill(0.0);
    for (d, x) in delta.chunks_exact(k).zip(lin.chunks_exact(k)) {
        for (((((gg, gb), &d), &x), &m), &s) in grad_gamma
            .iter_mut()
            .zip(grad_beta.iter_mut())
            .zip(d)
            .zip(x)
            .zip(mean)
            .zip(inv_std)
        {
            *gb += d;
            *gg += d * (x - m) * s;
        }
    }
    let n = rows as f32;
    let inv_rows = 1.0 / rows.max(1) as f32;
    for (d, x) in delta.chunks_exact_mut(k).zip(lin.chunks_exact(k)) {
        for ((((((d, &x), &m), &s), &g), &gg), &gb) in d
            .iter_mut()
            .zip(x)
            .zip(mean)
            .zip(inv_std)
            .zip(gamma)
            .zip(grad_gamma.iter())
            .zip(grad_beta.iter())
        {
            let xhat = (x - m) * s;
            *d = g * s * inv_rows * (n * *d - gb - xhat * gg);
        }
    }
}
