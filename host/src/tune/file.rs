//! Search spaces from TOML: one table per parameter, in file order, e.g.
//!
//! ```toml
//! [units]
//! type = "int"          # int | float | choice | bool
//! min = 16
//! max = 64
//! step = 16             # optional, default 1
//! sampling = "linear"   # optional: linear | log
//!
//! [optimizer]
//! type = "choice"
//! values = ["adam", "rmsprop"]
//!
//! [momentum]
//! type = "float"
//! min = 0.0
//! max = 0.99
//! when = { optimizer = ["sgd"] }   # optional condition on an earlier parameter
//! ```
//!
//! Every error names the offending key (`units.min`, …).

use anyhow::{anyhow, bail, Context, Result};
use toml::{Table, Value as Toml};

use super::space::{Condition, Domain, Param, Sampling, Space, Value};

fn int(table: &Table, name: &str, key: &str) -> Result<Option<i64>> {
    match table.get(key) {
        None => Ok(None),
        Some(Toml::Integer(i)) => Ok(Some(*i)),
        Some(other) => bail!(
            "`{name}.{key}`: expected an integer, found {}",
            other.type_str()
        ),
    }
}

fn float(table: &Table, name: &str, key: &str) -> Result<Option<f64>> {
    match table.get(key) {
        None => Ok(None),
        Some(Toml::Integer(i)) => Ok(Some(*i as f64)),
        Some(Toml::Float(x)) => Ok(Some(*x)),
        Some(other) => bail!(
            "`{name}.{key}`: expected a number, found {}",
            other.type_str()
        ),
    }
}

fn required<T>(value: Option<T>, name: &str, key: &str) -> Result<T> {
    value.ok_or_else(|| anyhow!("`{name}.{key}` is missing"))
}

fn sampling(table: &Table, name: &str) -> Result<Sampling> {
    match table.get("sampling") {
        None => Ok(Sampling::Linear),
        Some(Toml::String(s)) if s == "linear" => Ok(Sampling::Linear),
        Some(Toml::String(s)) if s == "log" => Ok(Sampling::Log),
        Some(other) => bail!("`{name}.sampling`: expected \"linear\" or \"log\", found {other}"),
    }
}

fn value(toml: &Toml, name: &str) -> Result<Value> {
    Ok(match toml {
        Toml::Integer(i) => Value::Int(*i),
        Toml::Float(x) => Value::Float(*x),
        Toml::String(s) => Value::Str(s.clone()),
        Toml::Boolean(b) => Value::Bool(*b),
        other => bail!("`{name}.when`: unsupported value {other}"),
    })
}

fn condition(table: &Table, name: &str) -> Result<Option<Condition>> {
    let Some(when) = table.get("when") else {
        return Ok(None);
    };
    let Some(when) = when.as_table() else {
        bail!("`{name}.when`: expected a table {{ parent = [values] }}");
    };
    let mut entries = when.iter();
    let (Some((parent, values)), None) = (entries.next(), entries.next()) else {
        bail!("`{name}.when`: expected exactly one parent");
    };
    let values = match values {
        Toml::Array(items) => items
            .iter()
            .map(|v| value(v, name))
            .collect::<Result<_>>()?,
        single => vec![value(single, name)?],
    };
    Ok(Some(Condition {
        parent: parent.clone(),
        values,
    }))
}

fn domain(table: &Table, name: &str) -> Result<Domain> {
    let kind = match table.get("type") {
        Some(Toml::String(s)) => s.as_str(),
        Some(other) => bail!(
            "`{name}.type`: expected a string, found {}",
            other.type_str()
        ),
        None => bail!("`{name}.type` is missing"),
    };
    Ok(match kind {
        "int" => Domain::Int {
            min: required(int(table, name, "min")?, name, "min")?,
            max: required(int(table, name, "max")?, name, "max")?,
            step: int(table, name, "step")?.unwrap_or(1),
            sampling: sampling(table, name)?,
        },
        "float" => Domain::Float {
            min: required(float(table, name, "min")?, name, "min")?,
            max: required(float(table, name, "max")?, name, "max")?,
            sampling: sampling(table, name)?,
        },
        "choice" => {
            let Some(Toml::Array(items)) = table.get("values") else {
                bail!("`{name}.values`: expected an array of strings");
            };
            let values = items
                .iter()
                .map(|v| match v {
                    Toml::String(s) => Ok(s.clone()),
                    other => Err(anyhow!("`{name}.values`: expected strings, found {other}")),
                })
                .collect::<Result<Vec<_>>>()?;
            Domain::Choice(values)
        }
        "bool" | "boolean" => Domain::Bool,
        other => bail!("`{name}.type`: unknown type \"{other}\" (int, float, choice, bool)"),
    })
}

/// Parses a search space from TOML text (see the module documentation for the layout).
pub fn parse_space(text: &str) -> Result<Space> {
    let table: Table = toml::from_str(text).context("the search-space TOML does not parse")?;
    let mut space = Space::new();
    for (name, entry) in &table {
        let Some(entry) = entry.as_table() else {
            bail!("`{name}`: expected a table describing the parameter");
        };
        let known = ["type", "min", "max", "step", "sampling", "values", "when"];
        if let Some(extra) = entry.keys().find(|k| !known.contains(&k.as_str())) {
            bail!("`{name}.{extra}`: unknown key");
        }
        space.add(Param {
            name: name.clone(),
            domain: domain(entry, name)?,
            condition: condition(entry, name)?,
        })?;
    }
    Ok(space)
}

/// Reads and parses a search-space TOML file.
pub fn load_space(path: &std::path::Path) -> Result<Space> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_space(&text).with_context(|| format!("in {}", path.display()))
}
