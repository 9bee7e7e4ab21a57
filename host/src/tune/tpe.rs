//! The tree-structured Parzen estimator (Bergstra et al., 2011): split the finished trials
//! at the `gamma` quantile of the loss into good and bad, model each parameter's values in
//! both groups with a Parzen density (smoothed counts for discrete values, Gaussians on the
//! unit scale for floats, each mixed with the uniform prior), draw candidates from the good
//! density and keep the one with the largest ratio good / bad.

use edgeml_core::rng::Rng;

use super::sample::{from_unit, random_config, to_unit};
use super::space::{Config, Domain, Param, Space, Value};

/// TPE's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tpe {
    /// Trials drawn at random before the model is used.
    pub startup: usize,
    /// Fraction of the trials counted as good (at least one).
    pub gamma: f64,
    /// Candidates drawn from the good density per suggestion.
    pub candidates: usize,
}

impl Default for Tpe {
    /// 10 random start-up trials, γ = 0.1, 24 candidates (Optuna's defaults: the good group
    /// is the best 10 % of the trials, at least one).
    fn default() -> Tpe {
        Tpe {
            startup: 10,
            gamma: 0.1,
            candidates: 24,
        }
    }
}

/// Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// A one-dimensional Parzen density of one parameter within one group.
enum Density {
    /// Probabilities of each discrete value (counts + 1, normalized).
    Discrete(Vec<(Value, f64)>),
    /// Gaussians on the unit scale at `centers` with width `sigma`, truncated to `[0, 1]`,
    /// mixed with the uniform density (weight of one kernel).
    Continuous { centers: Vec<f64>, sigma: f64 },
}

impl Density {
    fn fit(param: &Param, observed: &[&Value]) -> Density {
        match param.domain.discrete_values() {
            Some(values) => {
                let total = values.len() as f64 + observed.len() as f64;
                Density::Discrete(
                    values
                        .into_iter()
                        .map(|v| {
                            let count = observed.iter().filter(|o| ***o == v).count() as f64;
                            (v, (1.0 + count) / total)
                        })
                        .collect(),
                )
            }
            None => {
                let centers: Vec<f64> = observed
                    .iter()
                    .filter_map(|v| v.as_f64().and_then(|x| to_unit(&param.domain, x)))
                    .collect();
                let n = centers.len().max(1) as f64;
                Density::Continuous {
                    centers,
                    sigma: (0.3 * n.powf(-0.2)).max(0.03),
                }
            }
        }
    }

    fn pdf(&self, domain: &Domain, value: &Value) -> f64 {
        match self {
            Density::Discrete(table) => table
                .iter()
                .find(|(v, _)| v == value)
                .map_or(0.0, |(_, p)| *p),
            Density::Continuous { centers, sigma } => {
                let Some(u) = value.as_f64().and_then(|x| to_unit(domain, x)) else {
                    return 0.0;
                };
                let kernels: f64 = centers
                    .iter()
                    .map(|&c| {
                        let mass = normal_cdf((1.0 - c) / sigma) - normal_cdf(-c / sigma);
                        let z = (u - c) / sigma;
                        (-0.5 * z * z).exp()
                            / (sigma * (2.0 * std::f64::consts::PI).sqrt() * mass.max(1e-12))
                    })
                    .sum();
                (1.0 + kernels) / (1.0 + centers.len() as f64)
            }
        }
    }

    fn draw(&self, domain: &Domain, rng: &mut Rng) -> Option<Value> {
        match self {
            Density::Discrete(table) => {
                let mut u = rng.uniform_f64();
                for (v, p) in table {
                    if u < *p {
                        return Some(v.clone());
                    }
                    u -= p;
                }
                table.last().map(|(v, _)| v.clone())
            }
            Density::Continuous { centers, sigma } => {
                let pick = rng.below_usize(centers.len() + 1);
                let u = match centers.get(pick) {
                    None => rng.uniform_f64(),
                    Some(&c) => {
                        let mut u = c;
                        for _ in 0..32 {
                            let x = c + sigma * f64::from(rng.normal());
                            if (0.0..=1.0).contains(&x) {
                                u = x;
                                break;
                            }
                        }
                        u
                    }
                };
                from_unit(domain, u).map(Value::Float)
            }
        }
    }
}

impl Tpe {
    /// The next configuration to try given the finished trials `history` (configuration and
    /// loss, lower is better): random during start-up, else the best of `candidates` draws
    /// from the good density by the ratio of good to bad density summed in logarithms over
    /// the active parameters.
    pub fn suggest(&self, space: &Space, history: &[(Config, f64)], rng: &mut Rng) -> Config {
        if history.len() < self.startup.max(1) {
            return random_config(space, rng);
        }
        let mut order: Vec<&(Config, f64)> = history.iter().collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1));
        let n_good = ((self.gamma * history.len() as f64).ceil() as usize).clamp(1, history.len());
        let (good, bad) = order.split_at(n_good);
        let fits: Vec<(Density, Density)> = space
            .params()
            .iter()
            .map(|p| {
                let values = |group: &[&(Config, f64)]| -> Vec<Value> {
                    group
                        .iter()
                        .filter_map(|(c, _)| c.get(&p.name).cloned())
                        .collect()
                };
                let (g, b) = (values(good), values(bad));
                (
                    Density::fit(p, &g.iter().collect::<Vec<_>>()),
                    Density::fit(p, &b.iter().collect::<Vec<_>>()),
                )
            })
            .collect();
        let mut best: Option<(f64, Config)> = None;
        for _ in 0..self.candidates.max(1) {
            let mut config = Config::new();
            let mut score = 0.0;
            for (p, (l, g)) in space.params().iter().zip(&fits) {
                if !space.is_active(p, &config) {
                    continue;
                }
                let Some(v) = l.draw(&p.domain, rng) else {
                    continue;
                };
                score +=
                    l.pdf(&p.domain, &v).max(1e-300).ln() - g.pdf(&p.domain, &v).max(1e-300).ln();
                config.insert(p.name.clone(), v);
            }
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, config));
            }
        }
        best.map_or_else(|| random_config(space, rng), |(_, c)| c)
    }
}
