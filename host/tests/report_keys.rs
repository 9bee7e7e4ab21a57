//! The main job end to end, held to its documentation: `edgeml --quick reproduce` exits 0 and
//! writes REPORT.md and one JSON per experiment; every experiment's JSON has a key table in
//! `docs/report-keys.md`; every documented key is in the JSON (keys documented "only when …"
//! are optional); and every key in the JSON is covered by a documented one.
//!
//! Key patterns are dot-separated segments: a plain name; `<a|b|c>` (each alternative must be
//! present); `<name>` (any keys, at least one); either may carry a literal prefix or suffix
//! (`hyperband_<a|b>`). A pattern covers every key below the place it names.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// One segment of a key pattern.
#[derive(Debug)]
enum Segment {
    /// Exactly this key.
    Name(String),
    /// Each of these keys (prefix and suffix already applied).
    Each(Vec<String>),
    /// Any key with this prefix and suffix.
    Any { prefix: String, suffix: String },
}

impl Segment {
    fn parse(text: &str) -> Segment {
        let (Some(open), Some(close)) = (text.find('<'), text.rfind('>')) else {
            return Segment::Name(text.to_string());
        };
        let (prefix, inner, suffix) = (&text[..open], &text[open + 1..close], &text[close + 1..]);
        if inner.contains('|') {
            Segment::Each(
                inner
                    .split('|')
                    .map(|alt| format!("{prefix}{alt}{suffix}"))
                    .collect(),
            )
        } else {
            Segment::Any {
                prefix: prefix.to_string(),
                suffix: suffix.to_string(),
            }
        }
    }

    fn matches(&self, key: &str) -> bool {
        match self {
            Segment::Name(name) => name == key,
            Segment::Each(names) => names.iter().any(|n| n == key),
            Segment::Any { prefix, suffix } => key.starts_with(prefix) && key.ends_with(suffix),
        }
    }
}

/// A documented key pattern and whether the documentation marks it optional ("only when …").
#[derive(Debug)]
struct Documented {
    pattern: String,
    segments: Vec<Segment>,
    optional: bool,
}

/// Splits a pattern on the dots outside `<…>`.
fn segments(pattern: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in pattern.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(Segment::parse(&pattern[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(Segment::parse(&pattern[start..]));
    out
}

/// The key tables of `docs/report-keys.md`: for each `**`<name>.json`**` heading, the patterns in the first
/// column of the table that follows it.
fn documented_keys(doc: &str) -> BTreeMap<String, Vec<Documented>> {
    let mut tables: BTreeMap<String, Vec<Documented>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("**`") {
            current = rest
                .split_once(".json`**")
                .map(|(name, _)| name.to_string());
            continue;
        }
        let Some(name) = &current else { continue };
        if line.starts_with("## ") {
            current = None;
            continue;
        }
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let row = row.replace("\\|", "|");
        let Some((first, description)) = row.split_once("` | ") else {
            continue;
        };
        let optional = description.starts_with("only when");
        for pattern in first.split("`, `") {
            tables.entry(name.clone()).or_default().push(Documented {
                pattern: pattern.to_string(),
                segments: segments(pattern),
                optional,
            });
        }
    }
    tables
}

/// Whether `value` has every key `segments` names (all alternatives, at least one wildcard
/// match, recursively).
fn present(value: &Value, segments: &[Segment]) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return true;
    };
    let Some(object) = value.as_object() else {
        return false;
    };
    match first {
        Segment::Name(name) => object.get(name).is_some_and(|v| present(v, rest)),
        Segment::Each(names) => names
            .iter()
            .all(|n| object.get(n).is_some_and(|v| present(v, rest))),
        Segment::Any { .. } => {
            let children: Vec<&Value> = object
                .iter()
                .filter(|(k, _)| first.matches(k))
                .map(|(_, v)| v)
                .collect();
            !children.is_empty() && children.iter().all(|v| present(v, rest))
        }
    }
}

/// Every key path of `value` down to its leaves (lists are leaves; empty objects add none).
fn key_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value.as_object() {
        Some(object) => {
            for (k, v) in object {
                prefix.push(k.clone());
                key_paths(v, prefix, out);
                prefix.pop();
            }
        }
        None => out.push(prefix.clone()),
    }
}

/// Whether `pattern` names `path` or a place above it.
fn covers(pattern: &[Segment], path: &[String]) -> bool {
    pattern.len() <= path.len() && pattern.iter().zip(path).all(|(s, k)| s.matches(k))
}

fn figures(out: &Path, name: &str) -> Value {
    let file = out.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let json: Value = serde_json::from_str(&text).unwrap();
    assert!(
        json.get("error").is_none(),
        "{name} failed: {}",
        json["error"]
    );
    json["figures"].clone()
}

#[test]
fn quick_reproduce_writes_exactly_the_documented_keys() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report-keys.md");
    let doc = std::fs::read_to_string(&doc_path)
        .unwrap_or_else(|e| panic!("{}: {e}", doc_path.display()));
    let documented = documented_keys(&doc);
    assert!(
        documented.len() >= 8,
        "key tables found: {:?}",
        documented.keys()
    );

    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_edgeml"))
        .args(["--quick", "--out"])
        .arg(out.path())
        .arg("reproduce")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "edgeml --quick reproduce failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.path().join("REPORT.md").is_file());

    let mut written: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    written.sort();
    let tables: Vec<String> = documented.keys().cloned().collect();
    assert_eq!(
        written, tables,
        "experiment JSON files vs the key tables of docs/report-keys.md"
    );

    let mut missing = Vec::new();
    let mut undocumented = Vec::new();
    for (name, keys) in &documented {
        let figures = figures(out.path(), name);
        for key in keys.iter().filter(|k| !k.optional) {
            if !present(&figures, &key.segments) {
                missing.push(format!("{name}.json: {}", key.pattern));
            }
        }
        let mut paths = Vec::new();
        key_paths(&figures, &mut Vec::new(), &mut paths);
        for path in paths {
            if !keys.iter().any(|k| covers(&k.segments, &path)) {
                undocumented.push(format!("{name}.json: {}", path.join(".")));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documented but not written: {missing:#?}"
    );
    assert!(
        undocumented.is_empty(),
        "written but not documented: {undocumented:#?}"
    );
}
