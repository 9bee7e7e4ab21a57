//! The evidence that more epochs lower the loss: a least-squares trend of the loss curve and
//! the epochs whose loss did not fall.

/// Least-squares fit `loss ≈ intercept + slope · ln(epoch)` over epochs `1..=n`, with the
/// linear per-epoch slope beside it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    /// Change of the loss per unit of `ln(epoch)` (negative when the loss falls).
    pub log_slope: f64,
    /// Fitted loss at epoch 1.
    pub log_intercept: f64,
    /// Coefficient of determination of the logarithmic fit.
    pub r_squared: f64,
    /// Slope of the straight-line fit `loss ≈ a + b · epoch`.
    pub linear_slope: f64,
}

/// Slope, intercept and R² of the least-squares line through `(x, y)`; `None` for fewer than
/// two points or constant `x`.
fn line(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mx = x.iter().take(n).sum::<f64>() / n as f64;
    let my = y.iter().take(n).sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        1.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    Some((slope, my - slope * mx, r2))
}

/// The trend of `losses` (epoch `i + 1` at index `i`); `None` for fewer than two epochs.
pub fn fit(losses: &[f64]) -> Option<Trend> {
    let epochs: Vec<f64> = (1..=losses.len()).map(|e| e as f64).collect();
    let logs: Vec<f64> = epochs.iter().map(|e| e.ln()).collect();
    let (log_slope, log_intercept, r_squared) = line(&logs, losses)?;
    let (linear_slope, _, _) = line(&epochs, losses)?;
    Some(Trend {
        log_slope,
        log_intercept,
        r_squared,
        linear_slope,
    })
}

/// Epochs (1-based, from the second on) whose loss is not below the previous epoch's.
pub fn not_falling(losses: &[f64]) -> Vec<usize> {
    losses
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] >= w[0])
        .map(|(i, _)| i + 2)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_logarithmic_curve() {
        let losses: Vec<f64> = (1..=50).map(|e| 2.0 - 0.3 * (e as f64).ln()).collect();
        let t = fit(&losses).unwrap();
        assert!((t.log_slope + 0.3).abs() < 1e-12);
        assert!((t.log_intercept - 2.0).abs() < 1e-12);
        assert!((t.r_squared - 1.0).abs() < 1e-12);
        assert!(t.linear_slope < 0.0);
    }

    #[test]
    fn counts_rises_and_plateaus() {
        assert_eq!(not_falling(&[3.0, 2.0, 2.0, 2.5, 1.0]), vec![3, 4]);
        assert!(not_falling(&[1.0]).is_empty());
        assert!(fit(&[1.0]).is_none());
    }
}
