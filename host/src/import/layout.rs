//! Lays a source tree (any id scheme) out in the core's flat order, and converts split
//! thresholds so that finite `f32` inputs route exactly as in the source library (NaN by each
//! split's default direction).

use edgeml_core::tree::node::DEFAULT_LEFT;
use edgeml_core::tree::Node;

/// One node of a source tree, its children named by the source's own ids.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SrcNode<I> {
    /// Internal node: `x[feature] <= threshold` goes to `left`, else to `right`; NaN goes to
    /// `left` when `default_left`.
    Split {
        /// Feature compared.
        feature: u32,
        /// Threshold already in the core's `<=` convention.
        threshold: f32,
        /// Child taken when `x <= threshold`.
        left: I,
        /// Child taken otherwise.
        right: I,
        /// Whether NaN goes to `left`.
        default_left: bool,
    },
    /// Leaf with its output.
    Leaf(f32),
}

/// Breadth-first layout of the tree rooted at `root`: each split's children are given two
/// consecutive slots after it, so the result satisfies the core's node invariants.
/// `get` describes a source node; more than `max_nodes` nodes (a cycle or a shared child)
/// is an error `get`'s caller names through `too_big`.
pub fn flatten<I: Copy, E>(
    root: I,
    max_nodes: usize,
    mut get: impl FnMut(I) -> Result<SrcNode<I>, E>,
    too_big: impl Fn() -> E,
) -> Result<Vec<Node>, E> {
    let mut out = vec![Node::leaf(0.0)];
    let mut queue = std::collections::VecDeque::from([(root, 0usize)]);
    while let Some((id, slot)) = queue.pop_front() {
        let node = match get(id)? {
            SrcNode::Leaf(v) => Node::leaf(v),
            SrcNode::Split {
                feature,
                threshold,
                left,
                right,
                default_left,
            } => {
                let l = out.len();
                if l + 2 > max_nodes {
                    return Err(too_big());
                }
                out.extend([Node::leaf(0.0), Node::leaf(0.0)]);
                queue.push_back((left, l));
                queue.push_back((right, l + 1));
                let l32 = u32::try_from(l)
                    .ok()
                    .filter(|&v| v < DEFAULT_LEFT - 1)
                    .ok_or_else(&too_big)?;
                Node::split(feature, threshold, l32, default_left)
            }
        };
        if let Some(dst) = out.get_mut(slot) {
            *dst = node;
        }
    }
    Ok(out)
}

/// The largest `f32` not above `t`: for every `f32` input `x`, `x <= t` (compared in `f64`,
/// as LightGBM and scikit-learn do) exactly when `x <= le_threshold(t)`. Above `f32::MAX`
/// gives `f32::MAX`.
pub fn le_threshold(t: f64) -> f32 {
    let f = t as f32;
    if f64::from(f) > t {
        f.next_down()
    } else {
        f
    }
}

/// The largest `f32` below `t`: `x < t` (XGBoost's test) exactly when `x <= lt_threshold(t)`.
pub fn lt_threshold(t: f32) -> f32 {
    t.next_down()
}

/// Most outputs (classes) an imported model may declare: the core's
/// [`MAX_CHANNELS`](edgeml_core::tree::objective::MAX_CHANNELS). Checked before a class count
/// from a file sizes, divides or indexes anything.
pub const MAX_OUTPUTS: usize = edgeml_core::tree::objective::MAX_CHANNELS;

/// Most features an imported model may declare: the core's byte format stores the count in
/// 32 bits, and feature indices are `u32`.
pub const MAX_FEATURES: usize = u32::MAX as usize;

/// `v` as an `f32` when that is finite: `None` for NaN, ±∞ and finite `f64`s beyond
/// `f32::MAX` (1e39 would become ∞).
pub fn finite_f32(v: f64) -> Option<f32> {
    let f = v as f32;
    f.is_finite().then_some(f)
}
