//! Grid search: every combination of the parameters' values, conditional parameters only
//! under the parent values that activate them; floats on `points` evenly spaced positions of
//! their sampling scale.

use anyhow::{bail, Result};

use super::sample::from_unit;
use super::space::{Config, Domain, Space, Value};

/// The values grid search tries for `domain`: all discrete values, or `points` floats evenly
/// spaced on the linear or log scale (both ends included; one point: the middle).
pub fn grid_values(domain: &Domain, points: usize) -> Vec<Value> {
    match domain.discrete_values() {
        Some(values) => values,
        None => (0..points)
            .filter_map(|i| {
                let u = if points <= 1 {
                    0.5
                } else {
                    i as f64 / (points - 1) as f64
                };
                from_unit(domain, u).map(Value::Float)
            })
            .collect(),
    }
}

/// Every configuration of the grid, in lexicographic order of the declaration order; errors
/// when there would be more than `limit`.
pub fn grid(space: &Space, float_points: usize, limit: usize) -> Result<Vec<Config>> {
    let mut partial = vec![Config::new()];
    for p in space.params() {
        let values = grid_values(&p.domain, float_points);
        let mut next = Vec::new();
        for config in partial {
            if space.is_active(p, &config) {
                for v in &values {
                    let mut c = config.clone();
                    c.insert(p.name.clone(), v.clone());
                    next.push(c);
                }
            } else {
                next.push(config);
            }
            if next.len() > limit {
                bail!("the grid has more than {limit} configurations");
            }
        }
        partial = next;
    }
    Ok(partial)
}
