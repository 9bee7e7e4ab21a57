//! Hyperband's schedule (Li et al., 2018): brackets of successive halving over epochs. With
//! `R` the most epochs per trial and `η` the halving factor, `s_max = ⌊log_η R⌋`; bracket
//! `s = s_max … 0` starts `n = ⌈(s_max+1)·η^s / (s+1)⌉` configurations at `r = R·η^-s` epochs,
//! and rung `i = 0 … s` trains `n_i = ⌊n·η^-i⌋` of them for `r_i = round(r·η^i)` epochs (from
//! scratch), keeping the best `⌊n_i/η⌋` for the next rung.

use anyhow::{bail, Result};

/// One rung of successive halving: how many configurations, each trained for how many epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rung {
    /// Configurations trained in this rung.
    pub configs: usize,
    /// Epochs each of them is trained for.
    pub epochs: usize,
}

/// One bracket: its rungs, first to last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bracket {
    /// `s`, the number of halvings.
    pub s: usize,
    /// The rungs.
    pub rungs: Vec<Rung>,
}

/// `⌊log_η R⌋` in integers (the largest `s` with `η^s ≤ R`).
fn s_max(max_epochs: usize, eta: usize) -> usize {
    let mut s = 0;
    let mut power = eta;
    while power <= max_epochs {
        s += 1;
        power = power.saturating_mul(eta);
    }
    s
}

/// The brackets for at most `max_epochs` epochs per trial and halving factor `eta` (≥ 2).
pub fn schedule(max_epochs: usize, eta: usize) -> Result<Vec<Bracket>> {
    if eta < 2 || max_epochs < 1 {
        bail!("hyperband needs eta ≥ 2 and max_epochs ≥ 1");
    }
    let top = s_max(max_epochs, eta);
    let eta_f = eta as f64;
    Ok((0..=top)
        .rev()
        .map(|s| {
            let n = (((top + 1) as f64) * eta_f.powi(s as i32) / (s + 1) as f64).ceil() as usize;
            let r = max_epochs as f64 * eta_f.powi(-(s as i32));
            let rungs = (0..=s)
                .map(|i| Rung {
                    configs: ((n as f64) * eta_f.powi(-(i as i32))).floor().max(1.0) as usize,
                    epochs: ((r * eta_f.powi(i as i32)).round() as usize).clamp(1, max_epochs),
                })
                .collect();
            Bracket { s, rungs }
        })
        .collect())
}

/// Total epochs the schedule trains: `Σ_brackets Σ_rungs n_i · r_i`.
pub fn total_epochs(brackets: &[Bracket]) -> usize {
    brackets
        .iter()
        .flat_map(|b| &b.rungs)
        .map(|r| r.configs * r.epochs)
        .sum()
}
