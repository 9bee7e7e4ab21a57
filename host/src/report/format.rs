//! Number formatting for report tables.

/// `value` with `digits` decimals, or `–` when it is not finite.
pub fn fixed(value: f64, digits: usize) -> String {
    if value.is_finite() {
        format!("{value:.digits$}")
    } else {
        "–".into()
    }
}

/// `value` with about `significant` significant digits (≥ 1): plain notation between 1e-3 and
/// 1e6, scientific outside; `–` when not finite.
pub fn significant(value: f64, significant: usize) -> String {
    let significant = significant.max(1);
    if !value.is_finite() {
        return "–".into();
    }
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-3..6).contains(&magnitude) {
        return format!("{value:.prec$e}", prec = significant - 1);
    }
    let decimals = (significant as i32 - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

/// `fraction` as a percentage with `digits` decimals (0.1234 → `12.3%` for 1 digit).
pub fn percent(fraction: f64, digits: usize) -> String {
    if fraction.is_finite() {
        format!("{:.digits$}%", fraction * 100.0)
    } else {
        "–".into()
    }
}

/// Seconds in a readable unit (`ns`, `µs`, `ms`, `s`) with 3 significant digits.
pub fn duration(seconds: f64) -> String {
    let (scaled, unit) = match seconds.abs() {
        s if s < 1e-6 => (seconds * 1e9, "ns"),
        s if s < 1e-3 => (seconds * 1e6, "µs"),
        s if s < 1.0 => (seconds * 1e3, "ms"),
        _ => (seconds, "s"),
    };
    format!("{} {unit}", significant(scaled, 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fixed(1.23456, 2), "1.23");
        assert_eq!(fixed(f64::NAN, 2), "–");
        assert_eq!(significant(1234.5678, 3), "1235");
        assert_eq!(significant(0.012345, 3), "0.0123");
        assert_eq!(significant(1.5e-7, 2), "1.5e-7");
        assert_eq!(percent(0.1234, 1), "12.3%");
        assert_eq!(duration(0.0025), "2.50 ms");
        assert_eq!(duration(3.0e-8), "30.0 ns");
    }
}
