//! Quantile binning: each feature's values are mapped to at most `max_bins` (≤ 255) ordered
//! bins by cut points computed once per dataset, plus one dedicated missing bin for NaN.
//!
//! A value `x` of feature `f` falls in bin `b` when `cut[b - 1] < x <= cut[b]`, so "bin ≤ b"
//! is exactly "`x ≤ cut[b]`" and a split found on bins becomes a threshold on raw values.
//! A NaN falls in the missing bin, whose index is `max_bins` for every feature (above every
//! value bin); infinities are rejected.

use crate::{Error, Result, TensorView};

/// Most value bins a feature can have; the missing bin (index `max_bins`) comes on top, so
/// every bin fits a `u8`.
pub const MAX_BINS: usize = 255;

/// Length of the cut buffer for `n_features` features with `max_bins` bins each:
/// `n_features * (max_bins - 1)`.
pub fn cuts_len(n_features: usize, max_bins: usize) -> Result<usize> {
    check_max_bins(max_bins)?;
    n_features
        .checked_mul(max_bins - 1)
        .ok_or(Error::SizeOverflow)
}

fn check_max_bins(max_bins: usize) -> Result<()> {
    if (2..=MAX_BINS).contains(&max_bins) {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "max_bins must be in 2..=255",
        })
    }
}

/// Cut points of every feature: `n_features` blocks of `max_bins - 1` strictly increasing
/// finite cuts, padded with `+inf` when a feature has fewer distinct values.
#[derive(Clone, Copy, Debug)]
pub struct BinMapper<'a> {
    cuts: &'a [f32],
    n_features: usize,
    max_bins: usize,
}

impl<'a> BinMapper<'a> {
    /// Wraps an existing cut buffer (`cuts_len(n_features, max_bins)` values), checking that
    /// each block is strictly increasing finite cuts followed only by `+inf`.
    pub fn new(cuts: &'a [f32], n_features: usize, max_bins: usize) -> Result<Self> {
        let len = cuts_len(n_features, max_bins)?;
        crate::error::ensure_len(len, cuts.len())?;
        if n_features == 0 {
            return Err(Error::Empty);
        }
        for block in cuts.chunks_exact(max_bins - 1) {
            let finite = block.iter().take_while(|c| c.is_finite()).count();
            let ordered = block
                .get(..finite)
                .is_some_and(|f| f.windows(2).all(|w| w[0] < w[1]));
            let padded = block
                .get(finite..)
                .is_some_and(|rest| rest.iter().all(|&c| c == f32::INFINITY));
            if !ordered || !padded {
                return Err(Error::InvalidParameter {
                    name: "cuts must be increasing finite values padded with +inf",
                });
            }
        }
        Ok(BinMapper {
            cuts,
            n_features,
            max_bins,
        })
    }

    /// Computes quantile cuts for every column of the `n × d` matrix `x` into `cuts`
    /// (`cuts_len(d, max_bins)`), using `scratch` (`n` values) to sort one column at a time.
    /// A feature with at most `max_bins` distinct values gets one bin per value. NaNs are
    /// missing values and take no part in the cuts (an all-NaN column gets one value bin);
    /// infinities are `NonFinite`.
    pub fn fit(
        x: &TensorView<'_, f32>,
        max_bins: usize,
        scratch: &mut [f32],
        cuts: &'a mut [f32],
    ) -> Result<Self> {
        let (n, d) = x.shape().as_matrix()?;
        if n == 0 || d == 0 {
            return Err(Error::Empty);
        }
        let len = cuts_len(d, max_bins)?;
        crate::error::ensure_len(len, cuts.len())?;
        let column = super::prefix_mut(scratch, n)?;
        for (f, block) in cuts.chunks_exact_mut(max_bins - 1).enumerate() {
            let mut present = 0usize;
            for i in 0..n {
                let v = *x.get(&[i, f])?;
                if v.is_infinite() {
                    return Err(Error::NonFinite { index: i * d + f });
                }
                if let (false, Some(slot)) = (v.is_nan(), column.get_mut(present)) {
                    *slot = v;
                    present += 1;
                }
            }
            let values = column.get_mut(..present).unwrap_or(&mut []);
            values.sort_unstable_by(f32::total_cmp);
            fit_feature(values, block);
        }
        BinMapper::new(cuts, d, max_bins)
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The cut buffer (`cuts_len(n_features, max_bins)` values).
    pub fn cuts(&self) -> &'a [f32] {
        self.cuts
    }

    /// The `max_bins` the mapper was built with (value bins per feature at most).
    pub fn max_bins(&self) -> usize {
        self.max_bins
    }

    /// Bin index of missing (NaN) values, the same for every feature: `max_bins`.
    pub fn missing_bin(&self) -> u8 {
        u8::try_from(self.max_bins).unwrap_or(u8::MAX)
    }

    /// Bins per feature in a histogram: `max_bins` value bins and the missing bin.
    pub fn stride(&self) -> usize {
        self.max_bins + 1
    }

    /// Cut points of feature `f` (finite ones followed by `+inf` padding).
    fn block(&self, f: usize) -> &'a [f32] {
        let width = self.max_bins - 1;
        self.cuts.get(f * width..(f + 1) * width).unwrap_or(&[])
    }

    /// Number of value bins feature `f` uses (finite cuts + 1, the missing bin not counted);
    /// 0 for an unknown feature.
    pub fn n_bins(&self, f: usize) -> usize {
        if f >= self.n_features {
            return 0;
        }
        self.block(f).iter().take_while(|c| c.is_finite()).count() + 1
    }

    /// Upper edge of bin `b` of feature `f`: `cut[b]`, `+inf` for the last value bin, NaN
    /// for the missing bin.
    pub fn upper_edge(&self, f: usize, b: usize) -> f32 {
        if b == usize::from(self.missing_bin()) {
            return f32::NAN;
        }
        self.block(f).get(b).copied().unwrap_or(f32::INFINITY)
    }

    /// Bin of value `x` for feature `f`: the number of cuts below `x`, or the missing bin
    /// for NaN.
    pub fn bin_of(&self, f: usize, x: f32) -> u8 {
        if x.is_nan() {
            return self.missing_bin();
        }
        let b = self.block(f).partition_point(|&c| c < x);
        u8::try_from(b).unwrap_or(u8::MAX)
    }

    /// Bins the `n × d` matrix `x` into `out` (row-major, `n * d`); NaN goes to the missing
    /// bin, an infinity is `NonFinite`.
    pub fn bin_matrix(&self, x: &TensorView<'_, f32>, out: &mut [u8]) -> Result<()> {
        let (n, d) = x.shape().as_matrix()?;
        crate::error::ensure_len(self.n_features, d)?;
        let len = n.checked_mul(d).ok_or(Error::SizeOverflow)?;
        crate::error::ensure_len(len, out.len())?;
        for (i, row_out) in out.chunks_exact_mut(d.max(1)).enumerate() {
            for (f, slot) in row_out.iter_mut().enumerate() {
                let v = *x.get(&[i, f])?;
                if v.is_infinite() {
                    return Err(Error::NonFinite { index: i * d + f });
                }
                *slot = self.bin_of(f, v);
            }
        }
        Ok(())
    }
}

/// Cut points of one sorted column into `block` (padded with `+inf`).
fn fit_feature(sorted: &[f32], block: &mut [f32]) {
    block.fill(f32::INFINITY);
    let n = sorted.len();
    let max = sorted.last().copied().unwrap_or(0.0);
    let distinct = 1 + sorted.windows(2).filter(|w| w[0] < w[1]).count();
    let max_bins = block.len() + 1;
    let mut written = 0usize;
    let mut push = |cut: f32, written: &mut usize| {
        let fresh = *written == 0 || block.get(*written - 1).is_some_and(|&last| cut > last);
        if cut < max && fresh {
            if let Some(slot) = block.get_mut(*written) {
                *slot = cut;
                *written += 1;
            }
        }
    };
    if distinct <= max_bins {
        for w in sorted.windows(2) {
            if w[0] < w[1] {
                push(w[0], &mut written);
            }
        }
    } else {
        for j in 1..max_bins {
            let index = usize::try_from(j as u64 * n as u64 / max_bins as u64)
                .unwrap_or(n)
                .max(1)
                - 1;
            if let Some(&cut) = sorted.get(index) {
                push(cut, &mut written);
            }
        }
    }
}

/// A binned training matrix: `n_rows × n_features` bins, row-major, each below its feature's
/// value-bin count or the missing bin, with the mapper that produced them.
#[derive(Clone, Copy, Debug)]
pub struct BinnedData<'a> {
    bins: &'a [u8],
    n_rows: usize,
    mapper: BinMapper<'a>,
}

impl<'a> BinnedData<'a> {
    /// Checks that `bins` holds `n_rows * mapper.n_features()` valid bins (value bins or the
    /// missing bin).
    pub fn new(bins: &'a [u8], n_rows: usize, mapper: BinMapper<'a>) -> Result<Self> {
        let d = mapper.n_features();
        if n_rows == 0 {
            return Err(Error::Empty);
        }
        let len = n_rows.checked_mul(d).ok_or(Error::SizeOverflow)?;
        crate::error::ensure_len(len, bins.len())?;
        for row in bins.chunks_exact(d) {
            for (f, &b) in row.iter().enumerate() {
                if usize::from(b) >= mapper.n_bins(f) && b != mapper.missing_bin() {
                    return Err(Error::InvalidParameter {
                        name: "bin index beyond its feature's bin count",
                    });
                }
            }
        }
        Ok(BinnedData {
            bins,
            n_rows,
            mapper,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.mapper.n_features()
    }

    /// The mapper behind the bins.
    pub fn mapper(&self) -> &BinMapper<'a> {
        &self.mapper
    }

    /// Bins of row `i` (`n_features` values; empty when out of range).
    pub fn row(&self, i: usize) -> &'a [u8] {
        let d = self.n_features();
        self.bins.get(i * d..(i + 1) * d).unwrap_or(&[])
    }
}
