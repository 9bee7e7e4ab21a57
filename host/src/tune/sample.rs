//! Drawing configurations at random, and the map between a float parameter's values and the
//! unit interval its sampling is uniform on.

use edgeml_core::rng::Rng;

use super::space::{Config, Domain, Param, Sampling, Space, Value};

/// Position of `x` in `[0, 1]` for a float domain: linear or logarithmic in `[min, max]`.
pub fn to_unit(domain: &Domain, x: f64) -> Option<f64> {
    let Domain::Float { min, max, sampling } = domain else {
        return None;
    };
    let (lo, hi, v) = match sampling {
        Sampling::Linear => (*min, *max, x),
        Sampling::Log => (min.ln(), max.ln(), x.ln()),
    };
    Some(if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    })
}

/// The float value at position `u ∈ [0, 1]` of a float domain (inverse of [`to_unit`]),
/// clamped into `[min, max]`.
pub fn from_unit(domain: &Domain, u: f64) -> Option<f64> {
    let Domain::Float { min, max, sampling } = domain else {
        return None;
    };
    let u = u.clamp(0.0, 1.0);
    let x = match sampling {
        Sampling::Linear => min + u * (max - min),
        Sampling::Log => (min.ln() + u * (max.ln() - min.ln())).exp(),
    };
    Some(x.clamp(*min, *max))
}

/// A value drawn from `param`'s domain: uniform over the grid of integers (which is
/// geometric for log sampling with step ≥ 2; log sampling with step 1 draws log-uniformly
/// and rounds down), uniform over choices, linear- or log-uniform for floats.
pub fn draw(param: &Param, rng: &mut Rng) -> Value {
    match &param.domain {
        Domain::Int {
            min,
            max,
            step: 1,
            sampling: Sampling::Log,
        } if *min > 0 => {
            let u = rng.uniform_f64();
            let x =
                ((*min as f64).ln() + u * (((*max + 1) as f64).ln() - (*min as f64).ln())).exp();
            Value::Int((x.floor() as i64).clamp(*min, *max))
        }
        Domain::Float { .. } => {
            Value::Float(from_unit(&param.domain, rng.uniform_f64()).unwrap_or(f64::NAN))
        }
        domain => {
            let values = domain.discrete_values().unwrap_or_default();
            let i = rng.below_usize(values.len().max(1));
            values.get(i).cloned().unwrap_or(Value::Bool(false))
        }
    }
}

/// A configuration drawn at random: every active parameter drawn with [`draw`], parents first.
pub fn random_config(space: &Space, rng: &mut Rng) -> Config {
    let mut config = Config::new();
    for p in space.params() {
        if space.is_active(p, &config) {
            config.insert(p.name.clone(), draw(p, rng));
        }
    }
    config
}
