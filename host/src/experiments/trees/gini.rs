//! The seed's Gini walk-through: three events with photon pT and lepton pT (GeV), one signal
//! and two background; every candidate split (midpoints between sorted values) with its
//! weighted Gini in exact f64 arithmetic, the lowest chosen, and the core's CART root split
//! on the same data for comparison.

use anyhow::Result;
use edgeml_core::tree::{ForestParams, ForestTask, Impurity, TreeParams};

use super::fit::{self, Cuts, Matrix};

/// Feature names of the toy data.
pub const FEATURES: [&str; 2] = ["photon pT", "lepton pT"];
/// The events: (photon pT, lepton pT, signal?). The seed lists photon pT 20 (sig), 30, 50
/// (bkg) and lepton pT 14, 16 (bkg), 20 (sig).
pub const EVENTS: [(f32, f32, bool); 3] =
    [(20.0, 20.0, true), (30.0, 14.0, false), (50.0, 16.0, false)];

/// One candidate split and its weighted Gini.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Feature index into `FEATURES`.
    pub feature: usize,
    /// Threshold (GeV): `x < threshold` goes left.
    pub threshold: f64,
    /// (signal, background) on the left.
    pub left: (usize, usize),
    /// (signal, background) on the right.
    pub right: (usize, usize),
    /// `n_L/n · Gini_L + n_R/n · Gini_R`.
    pub weighted_gini: f64,
}

/// Gini of a node with `s` signal and `b` background events: `1 - (s/n)² - (b/n)²`.
pub fn gini(s: usize, b: usize) -> f64 {
    let n = (s + b) as f64;
    if n == 0.0 {
        return 0.0;
    }
    let (ps, pb) = (s as f64 / n, b as f64 / n);
    1.0 - ps * ps - pb * pb
}

/// Every candidate split of `events`, feature by feature, thresholds ascending.
pub fn candidates(events: &[(f32, f32, bool)]) -> Vec<Candidate> {
    let n = events.len() as f64;
    let mut out = Vec::new();
    for feature in 0..2 {
        let value = |e: &(f32, f32, bool)| f64::from(if feature == 0 { e.0 } else { e.1 });
        let mut values: Vec<f64> = events.iter().map(value).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        for pair in values.windows(2) {
            let threshold = (pair[0] + pair[1]) / 2.0;
            let count = |left: bool| {
                let side = events.iter().filter(|e| (value(e) < threshold) == left);
                let s = side.clone().filter(|e| e.2).count();
                (s, side.count() - s)
            };
            let (l, r) = (count(true), count(false));
            let weighted_gini =
                (l.0 + l.1) as f64 / n * gini(l.0, l.1) + (r.0 + r.1) as f64 / n * gini(r.0, r.1);
            out.push(Candidate {
                feature,
                threshold,
                left: l,
                right: r,
                weighted_gini,
            });
        }
    }
    out
}

/// The chosen split: the lowest weighted Gini, the first one on ties.
pub fn chosen(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates
        .iter()
        .fold(None, |best: Option<&Candidate>, c| match best {
            Some(b) if b.weighted_gini <= c.weighted_gini => Some(b),
            _ => Some(c),
        })
}

/// The core's CART (Gini, depth 1) root on the events: (feature, threshold `x <= t` left,
/// weighted Gini of its children computed from the events).
pub fn core_root(events: &[(f32, f32, bool)]) -> Result<(usize, f32, f64)> {
    let x = Matrix {
        x: events.iter().flat_map(|e| [e.0, e.1]).collect(),
        cols: 2,
    };
    let labels: Vec<u32> = events.iter().map(|e| u32::from(e.2)).collect();
    let cuts = Cuts::fit(&x, 16)?;
    let binned = cuts.bin(&x)?;
    let params = ForestParams {
        n_trees: 1,
        tree: TreeParams {
            max_depth: 1,
            max_leaves: 2,
            ..TreeParams::default()
        },
        bootstrap: false,
    };
    let task = ForestTask::Classify {
        labels: &labels,
        n_classes: 2,
        impurity: Impurity::Gini,
    };
    let model = fit::forest(&cuts, &binned, task, &params, 0)?;
    let root = model.model()?.tree(0)?.nodes[0];
    let feature = root.feature as usize;
    let side = |left: bool| {
        let members = events.iter().filter(|e| {
            let v = if feature == 0 { e.0 } else { e.1 };
            (v <= root.value) == left
        });
        let s = members.clone().filter(|e| e.2).count();
        (s, members.count() - s)
    };
    let (l, r) = (side(true), side(false));
    let n = events.len() as f64;
    let weighted =
        (l.0 + l.1) as f64 / n * gini(l.0, l.1) + (r.0 + r.1) as f64 / n * gini(r.0, r.1);
    Ok((feature, root.value, weighted))
}
