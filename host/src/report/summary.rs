//! Headline figures and the terminal summary: one short block per experiment on stdout (or one
//! JSON line with `--json`), built from the few figures each experiment names as its headline.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How a headline value is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Digits {
    /// This many significant digits (plain notation between 1e-3 and 1e6).
    Significant(u8),
    /// This many decimals.
    Decimals(u8),
    /// Every digit of the f64 (shortest round-trip form), for figures matched to a seed's.
    Exact,
}

/// One headline figure: a name, its value and unit, how to print it, and optionally the figure
/// it is compared with (`seed 34.92`, `PyTorch 1.2 s`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// What it measures, in words (`test accuracy, 1-NN`).
    pub name: String,
    /// The value (finite; a headline without a value is not made).
    pub value: f64,
    /// Unit printed after the value (`%`, `s`, `GFLOP/s`; empty for none).
    pub unit: String,
    /// How the value is printed.
    pub digits: Digits,
    /// The figure it is compared with, in words, if any.
    pub reference: Option<String>,
}

impl Headline {
    /// `value` under `name` in `unit`, printed with 3 significant digits, no reference.
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Headline {
        Headline {
            name: name.into(),
            value,
            unit: unit.into(),
            digits: Digits::Significant(3),
            reference: None,
        }
    }

    /// The number at JSON pointer `pointer` (`/a/b/0`) of `figures` as a headline, or `None`
    /// when it is missing or not a finite number.
    pub fn at(
        figures: &Value,
        pointer: &str,
        name: impl Into<String>,
        unit: impl Into<String>,
    ) -> Option<Headline> {
        let value = figures.pointer(pointer)?.as_f64()?;
        value.is_finite().then(|| Headline::new(name, value, unit))
    }

    /// The same, printed with `digits`.
    pub fn digits(mut self, digits: Digits) -> Headline {
        self.digits = digits;
        self
    }

    /// The same, compared with `reference` (`seed 34.92`).
    pub fn reference(mut self, reference: impl Into<String>) -> Headline {
        self.reference = Some(reference.into());
        self
    }

    /// The value as printed (without unit).
    pub fn value_text(&self) -> String {
        format_value(self.value, self.digits)
    }
}

/// `value` printed with `digits`; `–` when not finite.
pub fn format_value(value: f64, digits: Digits) -> String {
    match digits {
        Digits::Significant(n) => super::format::significant(value, usize::from(n)),
        Digits::Decimals(n) => super::format::fixed(value, usize::from(n)),
        Digits::Exact if value.is_finite() => format!("{value}"),
        Digits::Exact => "–".into(),
    }
}

/// What the summary of one experiment run says.
#[derive(Clone, Debug)]
pub struct Summary<'a> {
    /// The experiment's name (`knn_lab`).
    pub name: &'a str,
    /// Its section heading.
    pub title: &'a str,
    /// Wall-clock seconds it ran.
    pub seconds: f64,
    /// Its headline figures (empty when it failed).
    pub headline: &'a [Headline],
    /// Which data it ran on, in words (`None` when it failed).
    pub data_source: Option<&'a str>,
    /// The error it failed with, if it failed.
    pub error: Option<String>,
    /// REPORT.md, where its section is.
    pub report: &'a Path,
    /// Its `<name>.json`.
    pub json: &'a Path,
}

/// The summary as a short text block: a heading line with the wall time, one line per figure
/// (name, value and unit, and its reference in brackets), the data it ran on, and where the
/// report is.
pub fn render_block(summary: &Summary<'_>) -> String {
    let mut text = format!(
        "{} ({}): {}\n",
        summary.title,
        summary.name,
        super::format::duration(summary.seconds)
    );
    if let Some(error) = &summary.error {
        text.push_str(&format!("  FAILED: {error}\n"));
    }
    let width = summary
        .headline
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(0);
    for h in summary.headline {
        let value = match h.unit.as_str() {
            "" => h.value_text(),
            "%" => format!("{}%", h.value_text()),
            unit => format!("{} {unit}", h.value_text()),
        };
        let reference = h
            .reference
            .as_ref()
            .map(|r| format!("  ({r})"))
            .unwrap_or_default();
        text.push_str(&format!("  {:<width$}  {value}{reference}\n", h.name));
    }
    if let Some(source) = summary.data_source {
        text.push_str(&format!("  data: {source}\n"));
    }
    text.push_str(&format!(
        "  report: {} (figures: {})\n",
        summary.report.display(),
        summary.json.display()
    ));
    text
}

/// The summary as one JSON object: `experiment`, `title`, `seconds`, `headline` (list of
/// `{name, value, unit, text, reference}`), `data_source`, `report`, `json`, and `error` when
/// it failed.
pub fn json_line(summary: &Summary<'_>) -> Value {
    let headline: Vec<Value> = summary
        .headline
        .iter()
        .map(|h| {
            json!({
                "name": h.name,
                "value": h.value,
                "unit": h.unit,
                "text": h.value_text(),
                "reference": h.reference,
            })
        })
        .collect();
    let mut value = json!({
        "experiment": summary.name,
        "title": summary.title,
        "seconds": summary.seconds,
        "headline": headline,
        "data_source": summary.data_source,
        "report": summary.report.display().to_string(),
        "json": summary.json.display().to_string(),
    });
    if let Some(error) = &summary.error {
        value["error"] = json!(error);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_rounded_or_exact() {
        let h = Headline::new("random", 16.4375808538163, "%");
        assert_eq!(h.value_text(), "16.4");
        let exact = h.clone().digits(Digits::Exact);
        assert_eq!(exact.value_text(), "16.4375808538163");
        let seed = Headline::new("1-NN", 34.91795366795367, "%").digits(Digits::Exact);
        assert_eq!(seed.value_text(), "34.91795366795367");
        assert_eq!(format_value(0.123456, Digits::Decimals(2)), "0.12");
        assert_eq!(format_value(f64::NAN, Digits::Exact), "–");
    }

    #[test]
    fn picks_finite_numbers_by_pointer() {
        let figures = json!({"a": {"b": [1.5, "x", null]}});
        assert_eq!(
            Headline::at(&figures, "/a/b/0", "b", "s").map(|h| h.value),
            Some(1.5)
        );
        assert!(Headline::at(&figures, "/a/b/1", "b", "s").is_none());
        assert!(Headline::at(&figures, "/a/b/2", "b", "s").is_none());
        assert!(Headline::at(&figures, "/a/c", "c", "s").is_none());
    }

    #[test]
    fn block_lists_figures_time_and_report() {
        let headline = [
            Headline::new("test accuracy, 1-NN", 34.91795366795367, "%")
                .digits(Digits::Exact)
                .reference("seed 34.91795366795367"),
            Headline::new("kd-tree fit + predict", 0.01234, "s"),
        ];
        let summary = Summary {
            name: "knn_lab",
            title: "k-NN lab",
            seconds: 12.345,
            headline: &headline,
            data_source: Some("California Housing (embedded)"),
            error: None,
            report: Path::new("out/REPORT.md"),
            json: Path::new("out/knn_lab.json"),
        };
        let block = render_block(&summary);
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines[0], "k-NN lab (knn_lab): 12.3 s");
        assert_eq!(
            lines[1],
            "  test accuracy, 1-NN    34.91795366795367%  (seed 34.91795366795367)"
        );
        assert_eq!(lines[2], "  kd-tree fit + predict  0.0123 s");
        assert_eq!(lines[3], "  data: California Housing (embedded)");
        assert_eq!(
            lines[4],
            "  report: out/REPORT.md (figures: out/knn_lab.json)"
        );
        assert_eq!(lines.len(), 5);
        let line = json_line(&summary);
        assert_eq!(line["experiment"], "knn_lab");
        assert_eq!(line["headline"][0]["value"], 34.91795366795367);
        assert_eq!(line["headline"][1]["text"], "0.0123");
        assert!(line.get("error").is_none());
    }
}
