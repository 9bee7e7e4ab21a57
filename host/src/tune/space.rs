//! Search spaces: integer, float, choice and boolean parameters, each optionally active only
//! when a parent parameter takes given values; a configuration maps names to values.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One hyperparameter value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A choice's label.
    Str(String),
}

impl Value {
    /// The value as f64 (integers and floats), `None` otherwise.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The integer, `None` for other kinds.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The label, `None` for other kinds.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, `None` for other kinds.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:.4e}"),
            Value::Str(s) => write!(f, "{s}"),
        }
    }
}

/// A configuration: the value of every active parameter, by name.
pub type Config = BTreeMap<String, Value>;

/// How a numeric parameter is sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Uniform over the range (integers: `min, min+step, …`).
    Linear,
    /// Uniform in the logarithm (integers: `min, min·step, min·step², …` when `step ≥ 2`).
    Log,
}

/// The domain of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    /// Integers from `min` to `max` (inclusive) on a `step` grid (see [`Sampling`]).
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value (reached only if on the grid).
        max: i64,
        /// Grid step (additive for linear, multiplicative for log with `step ≥ 2`).
        step: i64,
        /// Linear or logarithmic.
        sampling: Sampling,
    },
    /// Reals in `[min, max]`.
    Float {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Linear or logarithmic (needs `min > 0`).
        sampling: Sampling,
    },
    /// One of the labels.
    Choice(Vec<String>),
    /// `false` or `true`.
    Bool,
}

/// A parameter is active only when `parent` takes one of `values`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Name of the parent parameter (declared earlier).
    pub parent: String,
    /// Values of the parent under which the parameter exists.
    pub values: Vec<Value>,
}

/// One named parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its domain.
    pub domain: Domain,
    /// When it is active (`None`: always).
    pub condition: Option<Condition>,
}

impl Domain {
    /// The finite list of values (integers, choices, booleans); `None` for floats.
    pub fn discrete_values(&self) -> Option<Vec<Value>> {
        match self {
            Domain::Int {
                min,
                max,
                step,
                sampling,
            } => {
                let mut out = Vec::new();
                let mut v = *min;
                while v <= *max {
                    out.push(Value::Int(v));
                    v = match sampling {
                        Sampling::Log if *step >= 2 => v.checked_mul(*step)?,
                        _ => v.checked_add(*step)?,
                    };
                }
                Some(out)
            }
            Domain::Float { .. } => None,
            Domain::Choice(values) => Some(values.iter().cloned().map(Value::Str).collect()),
            Domain::Bool => Some(vec![Value::Bool(false), Value::Bool(true)]),
        }
    }

    /// Whether `value` lies in the domain (on the grid for integers).
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (Domain::Float { min, max, .. }, Value::Float(x)) => *min <= *x && *x <= *max,
            (Domain::Float { .. }, _) => false,
            _ => self
                .discrete_values()
                .is_some_and(|values| values.contains(value)),
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        match self {
            Domain::Int {
                min,
                max,
                step,
                sampling,
            } => {
                if min > max || *step < 1 {
                    bail!("parameter `{name}`: needs min ≤ max and step ≥ 1");
                }
                if *sampling == Sampling::Log && *min <= 0 {
                    bail!("parameter `{name}`: log sampling needs min > 0");
                }
                if self.discrete_values().is_none_or(|v| v.is_empty()) {
                    bail!("parameter `{name}`: the integer grid overflows");
                }
            }
            Domain::Float { min, max, sampling } => {
                if !(min.is_finite() && max.is_finite() && min <= max) {
                    bail!("parameter `{name}`: needs finite min ≤ max");
                }
                if *sampling == Sampling::Log && *min <= 0.0 {
                    bail!("parameter `{name}`: log sampling needs min > 0");
                }
            }
            Domain::Choice(values) => {
                if values.is_empty() {
                    bail!("parameter `{name}`: a choice needs at least one value");
                }
            }
            Domain::Bool => {}
        }
        Ok(())
    }

    fn summary(&self) -> (&'static str, String) {
        let sampling = |s: &Sampling| match s {
            Sampling::Linear => "linear",
            Sampling::Log => "log",
        };
        match self {
            Domain::Int {
                min,
                max,
                step,
                sampling: s,
            } => (
                "Int",
                format!(
                    "'min_value': {min}, 'max_value': {max}, 'step': {step}, 'sampling': '{}'",
                    sampling(s)
                ),
            ),
            Domain::Float {
                min,
                max,
                sampling: s,
            } => (
                "Float",
                format!(
                    "'min_value': {min}, 'max_value': {max}, 'sampling': '{}'",
                    sampling(s)
                ),
            ),
            Domain::Choice(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
                ("Choice", format!("'values': [{}]", quoted.join(", ")))
            }
            Domain::Bool => ("Boolean", String::new()),
        }
    }
}

/// An ordered list of parameters; parents come before the parameters they condition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Space {
    params: Vec<Param>,
}

impl Space {
    /// An empty space.
    pub fn new() -> Space {
        Space::default()
    }

    /// The parameters in declaration order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Adds a parameter; errors on a duplicate name, an invalid domain, or a condition whose
    /// parent is not declared yet or whose values are outside the parent's domain.
    pub fn add(&mut self, param: Param) -> Result<&mut Space> {
        if self.params.iter().any(|p| p.name == param.name) {
            bail!("parameter `{}` is declared twice", param.name);
        }
        param.domain.validate(&param.name)?;
        if let Some(c) = &param.condition {
            let Some(parent) = self.params.iter().find(|p| p.name == c.parent) else {
                bail!(
                    "parameter `{}`: condition parent `{}` is not declared before it",
                    param.name,
                    c.parent
                );
            };
            if let Some(bad) = c.values.iter().find(|v| !parent.domain.contains(v)) {
                bail!(
                    "parameter `{}`: condition value {bad} is not in `{}`'s domain",
                    param.name,
                    c.parent
                );
            }
        }
        self.params.push(param);
        Ok(self)
    }

    /// Adds an integer parameter on a linear `step` grid.
    pub fn int(&mut self, name: &str, min: i64, max: i64, step: i64) -> Result<&mut Space> {
        self.add(Param {
            name: name.into(),
            domain: Domain::Int {
                min,
                max,
                step,
                sampling: Sampling::Linear,
            },
            condition: None,
        })
    }

    /// Adds a float parameter.
    pub fn float(
        &mut self,
        name: &str,
        min: f64,
        max: f64,
        sampling: Sampling,
    ) -> Result<&mut Space> {
        self.add(Param {
            name: name.into(),
            domain: Domain::Float { min, max, sampling },
            condition: None,
        })
    }

    /// Adds a choice among `values`.
    pub fn choice(&mut self, name: &str, values: &[&str]) -> Result<&mut Space> {
        self.add(Param {
            name: name.into(),
            domain: Domain::Choice(values.iter().map(|v| v.to_string()).collect()),
            condition: None,
        })
    }

    /// Adds a boolean parameter.
    pub fn boolean(&mut self, name: &str) -> Result<&mut Space> {
        self.add(Param {
            name: name.into(),
            domain: Domain::Bool,
            condition: None,
        })
    }

    /// Makes the last parameter added active only when `parent` takes one of `values`.
    pub fn when(&mut self, parent: &str, values: &[Value]) -> Result<&mut Space> {
        let Some(last) = self.params.pop() else {
            bail!("`when` needs a parameter to condition");
        };
        self.add(Param {
            condition: Some(Condition {
                parent: parent.into(),
                values: values.to_vec(),
            }),
            ..last
        })
    }

    /// Whether `param` is active in the (partial) configuration `config`: unconditioned, or
    /// its parent is active there with one of the condition's values.
    pub fn is_active(&self, param: &Param, config: &Config) -> bool {
        match &param.condition {
            None => true,
            Some(c) => config.get(&c.parent).is_some_and(|v| c.values.contains(v)),
        }
    }

    /// Checks that `config` holds exactly the active parameters, each inside its domain.
    pub fn check(&self, config: &Config) -> Result<()> {
        let mut active = 0usize;
        for p in &self.params {
            let present = config.get(&p.name);
            match (self.is_active(p, config), present) {
                (true, Some(v)) if p.domain.contains(v) => active += 1,
                (true, Some(v)) => bail!("`{}` = {v} is outside its domain", p.name),
                (true, None) => bail!("active parameter `{}` is missing", p.name),
                (false, Some(_)) => bail!("inactive parameter `{}` is set", p.name),
                (false, None) => {}
            }
        }
        if active != config.len() {
            bail!("the configuration holds names the space does not declare");
        }
        Ok(())
    }

    /// The search-space summary in the layout of keras-tuner's `search_space_summary()`.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "Search space summary\nDefault search space size: {}\n",
            self.params.len()
        );
        for p in &self.params {
            let (kind, body) = p.domain.summary();
            let conditions = match &p.condition {
                None => "[]".to_string(),
                Some(c) => {
                    let v: Vec<String> = c.values.iter().map(|v| format!("'{v}'")).collect();
                    format!(
                        "[{{'parent': '{}', 'values': [{}]}}]",
                        c.parent,
                        v.join(", ")
                    )
                }
            };
            let sep = if body.is_empty() { "" } else { ", " };
            out.push_str(&format!(
                "{} ({kind})\n{{'conditions': {conditions}{sep}{body}}}\n",
                p.name
            ));
        }
        out
    }
}

/// A canonical text key of a configuration (its JSON with sorted names).
pub fn config_key(config: &Config) -> String {
    serde_json::to_string(config).unwrap_or_default()
}
