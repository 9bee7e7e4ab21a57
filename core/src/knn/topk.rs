//! [`TopK`]: the k nearest candidates seen so far, in a const-capacity `heapless::Vec`, ordered
//! by `(distance, index)`.

use core::cmp::Ordering;

use heapless::Vec;

use crate::error::{Error, Result};

/// One neighbour: a training row and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// Row of the training data.
    pub index: usize,
    /// Distance to the query under the search metric.
    pub distance: f32,
}

impl Neighbor {
    /// The total order of the tie rule: by distance, then by row index.
    pub fn cmp_key(&self, other: &Neighbor) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.index.cmp(&other.index))
    }
}

/// The `k ≤ K` smallest candidates under `(distance, index)`, sorted ascending. Insertion is
/// O(k), which suits the small k of k-NN.
#[derive(Debug, Clone)]
pub struct TopK<const K: usize> {
    items: Vec<Neighbor, K>,
    k: usize,
}

impl<const K: usize> TopK<K> {
    /// An empty selection of the `k` nearest; `Err(InvalidParameter)` for `k == 0`,
    /// `Err(CapacityExceeded)` for `k > K`.
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::InvalidParameter { name: "k" });
        }
        if k > K {
            return Err(Error::CapacityExceeded {
                requested: k,
                capacity: K,
            });
        }
        Ok(TopK {
            items: Vec::new(),
            k,
        })
    }

    /// Forgets all candidates, keeping `k`.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// How many neighbours are kept.
    pub fn k(&self) -> usize {
        self.k
    }

    /// True once `k` candidates are held.
    pub fn is_full(&self) -> bool {
        self.items.len() == self.k
    }

    /// The k-th smallest distance once full, else `None` (anything may still enter).
    pub fn worst_distance(&self) -> Option<f32> {
        if self.is_full() {
            self.items.last().map(|n| n.distance)
        } else {
            None
        }
    }

    /// Offers a candidate; it is kept if fewer than k are held or it precedes the current
    /// k-th under `(distance, index)`.
    pub fn push(&mut self, candidate: Neighbor) {
        let position = self
            .items
            .partition_point(|n| n.cmp_key(&candidate) == Ordering::Less);
        if position >= self.k {
            return;
        }
        if self.is_full() {
            self.items.pop();
        }
        // Cannot fail: `len < k ≤ K` after the pop, and `position ≤ len`.
        let _ = self.items.insert(position, candidate);
    }

    /// The kept neighbours, nearest first.
    pub fn as_slice(&self) -> &[Neighbor] {
        self.items.as_slice()
    }
}
