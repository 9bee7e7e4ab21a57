//! Runs experiments, writes `<name>.json` per experiment into the report folder (its figures
//! and everything its REPORT.md section needs), prints each one's summary as it finishes, and
//! assembles REPORT.md (title, date, machine, git commit, one section per experiment) from
//! every `<name>.json` in the folder: registry order first, unknown experiments after by name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use super::summary::{self, Headline, Summary};
use super::terminal::{self, Mode};
use crate::experiments::{Experiment, ExperimentReport, RunContext};

/// The result of one experiment run.
pub struct Outcome {
    /// The experiment's name.
    pub name: &'static str,
    /// Its section heading.
    pub title: &'static str,
    /// Its report, or the error it failed with.
    pub result: Result<ExperimentReport>,
    /// Wall-clock seconds it ran.
    pub seconds: f64,
}

/// Largest `<name>.json` read back when assembling REPORT.md (64 MiB); a bigger file is skipped
/// with a warning.
pub const MAX_SECTION_BYTES: u64 = 64 << 20;

/// Runs `experiments` in order (a failure does not stop the others) with a progress bar over
/// them; writes each one's JSON into `ctx.out_dir` and prints its summary (per
/// [`terminal::mode`]) as it finishes; then assembles REPORT.md from every JSON in the folder
/// and returns the outcomes.
pub fn run_all(experiments: &[Box<dyn Experiment>], ctx: &RunContext) -> Result<Vec<Outcome>> {
    std::fs::create_dir_all(&ctx.out_dir)
        .with_context(|| format!("creating the report folder {}", ctx.out_dir.display()))?;
    let report = ctx.out_dir.join("REPORT.md");
    let progress = super::progress::bar(experiments.len() as u64, "experiments");
    let mut outcomes = Vec::new();
    for experiment in experiments {
        progress.set_message(experiment.name());
        let start = std::time::Instant::now();
        let result = experiment.run(ctx);
        if let Err(err) = &result {
            progress
                .suspend(|| eprintln!("error: experiment `{}` failed: {err:#}", experiment.name()));
        }
        let outcome = Outcome {
            name: experiment.name(),
            title: experiment.title(),
            result,
            seconds: start.elapsed().as_secs_f64(),
        };
        let json = write_json(ctx, &outcome)?;
        let headline = outcome
            .result
            .as_ref()
            .map_or(&[][..], |r| r.headline.as_slice());
        let summary = Summary {
            name: outcome.name,
            title: outcome.title,
            seconds: outcome.seconds,
            headline,
            data_source: outcome.result.as_ref().ok().map(|r| r.data_source.as_str()),
            error: outcome.result.as_ref().err().map(|e| format!("{e:#}")),
            report: &report,
            json: &json,
        };
        progress.suspend(|| print_summary(&summary))?;
        outcomes.push(outcome);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let text = assemble(&ctx.out_dir)?;
    std::fs::write(&report, text).with_context(|| format!("writing {}", report.display()))?;
    Ok(outcomes)
}

/// Prints `summary` on stdout as [`terminal::mode`] says: a text block, a JSON line, or nothing.
fn print_summary(summary: &Summary<'_>) -> Result<()> {
    let text = match terminal::mode() {
        Mode::Quiet => return Ok(()),
        Mode::Text => summary::render_block(summary),
        Mode::Json => format!("{}\n", summary::json_line(summary)),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing the summary to stdout")
}

/// When and how a section was produced: shown under the section in REPORT.md.
fn run_info(ctx: &RunContext) -> Value {
    json!({
        "date": utc_date(SystemTime::now()),
        "commit": git_commit(),
        "seed": ctx.seed,
        "quick": ctx.quick,
    })
}

/// Writes `<name>.json`: `experiment`, `title`, `seconds`, `run` (date, commit, seed, quick),
/// and either `data_source`, `figures`, `plots`, `markdown`, `headline`, or `error`. Returns
/// its path.
fn write_json(ctx: &RunContext, outcome: &Outcome) -> Result<PathBuf> {
    let mut value = json!({
        "experiment": outcome.name,
        "title": outcome.title,
        "seconds": outcome.seconds,
        "run": run_info(ctx),
    });
    match &outcome.result {
        Ok(report) => {
            value["data_source"] = json!(report.data_source);
            value["figures"] = report.figures.clone();
            value["plots"] = json!(report.plots);
            value["markdown"] = json!(report.markdown);
            value["headline"] = json!(report.headline);
        }
        Err(err) => value["error"] = json!(format!("{err:#}")),
    }
    let path = ctx.out_dir.join(format!("{}.json", outcome.name));
    let text = serde_json::to_string_pretty(&value)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A REPORT.md section as read back from `<name>.json`.
#[derive(Debug, Deserialize)]
pub struct Section {
    /// The experiment's name.
    pub experiment: String,
    /// Its section heading (the name when missing).
    #[serde(default)]
    pub title: Option<String>,
    /// Wall-clock seconds it ran.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Which data it ran on.
    #[serde(default)]
    pub data_source: Option<String>,
    /// Markdown body (missing in files written before sections were kept in the JSON).
    #[serde(default)]
    pub markdown: Option<String>,
    /// Plot files, relative to the report folder.
    #[serde(default)]
    pub plots: Vec<PathBuf>,
    /// Headline figures.
    #[serde(default)]
    pub headline: Vec<Headline>,
    /// The error it failed with.
    #[serde(default)]
    pub error: Option<String>,
    /// Date, commit, seed and options of the run.
    #[serde(default)]
    pub run: Option<RunInfo>,
}

/// When and how a section was produced.
#[derive(Debug, Default, Deserialize)]
pub struct RunInfo {
    /// `YYYY-MM-DD HH:MM UTC`.
    #[serde(default)]
    pub date: Option<String>,
    /// Short git commit.
    #[serde(default)]
    pub commit: Option<String>,
    /// The seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Whether `--quick` was given.
    #[serde(default)]
    pub quick: bool,
}

/// Reads `path` as an experiment's section. `Ok(None)` for JSON that is not an experiment's
/// (no `experiment` key: peer timings and the like); `Err` names the fault (unreadable, too
/// large, not JSON, or an experiment file without its section text).
pub fn read_section(path: &Path) -> Result<Option<Section>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    if size > MAX_SECTION_BYTES {
        anyhow::bail!(
            "{}: {size} bytes, more than the {MAX_SECTION_BYTES} read back",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    if value.get("experiment").is_none() {
        return Ok(None);
    }
    let section: Section = serde_json::from_value(value)
        .with_context(|| format!("{}: not an experiment's JSON", path.display()))?;
    if section.markdown.is_none() && section.error.is_none() {
        anyhow::bail!(
            "{}: no section text (written by an older edgeml); rerun `{}`",
            path.display(),
            section.experiment
        );
    }
    Ok(Some(section))
}

/// Every experiment section in `out_dir`'s `*.json` files, in registry order, then unknown
/// experiments by name. A file that cannot be read as a section is skipped with a warning on
/// stderr naming it and the fault.
pub fn sections(out_dir: &Path) -> Result<Vec<Section>> {
    let entries = std::fs::read_dir(out_dir)
        .with_context(|| format!("reading the report folder {}", out_dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading the report folder {}", out_dir.display()))?
            .path();
        if path.extension().is_none_or(|e| e != "json") || !path.is_file() {
            continue;
        }
        match read_section(&path) {
            Ok(Some(section)) => found.push(section),
            Ok(None) => {}
            Err(err) => terminal::warn(format!("{err:#}; its section is left out of REPORT.md")),
        }
    }
    let order: Vec<&str> = crate::experiments::registry()
        .iter()
        .map(|e| e.name())
        .collect();
    found.sort_by(|a, b| {
        let rank = |s: &Section| {
            order
                .iter()
                .position(|n| *n == s.experiment)
                .unwrap_or(order.len())
        };
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.experiment.cmp(&b.experiment))
    });
    Ok(found)
}

/// REPORT.md's text from every experiment JSON in `out_dir` ([`sections`]).
pub fn assemble(out_dir: &Path) -> Result<String> {
    Ok(render(&sections(out_dir)?))
}

/// REPORT.md's text for these sections.
pub fn render(sections: &[Section]) -> String {
    let mut md = String::from("# edgeml report\n\n");
    md.push_str(&format!("- Assembled: {}\n", utc_date(SystemTime::now())));
    md.push_str(&format!(
        "- Machine: {}, {} logical cores\n",
        crate::cpu::model_name(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    if let Some(commit) = git_commit() {
        md.push_str(&format!("- Commit: `{commit}`\n"));
    }
    md.push_str("- Sections: ");
    let names: Vec<&str> = sections.iter().map(|s| s.experiment.as_str()).collect();
    md.push_str(&if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    });
    md.push('\n');
    for section in sections {
        md.push_str(&render_section(section));
    }
    md
}

fn render_section(section: &Section) -> String {
    let title = section.title.as_deref().unwrap_or(&section.experiment);
    let mut md = format!("\n## {title}\n\n");
    if let Some(err) = &section.error {
        md.push_str(&format!("**FAILED:** `{err}`\n"));
    } else {
        let markdown = section.markdown.as_deref().unwrap_or_default();
        if let Some(source) = &section.data_source {
            md.push_str(&format!("Data: {source}\n\n"));
        }
        md.push_str(markdown.trim_end());
        md.push('\n');
        for plot in &section.plots {
            let link = plot.display().to_string();
            if !markdown.contains(&format!("({link})")) {
                md.push_str(&format!("\n![{}]({link})\n", plot_alt(plot)));
            }
        }
    }
    md.push_str(&format!("\n{}\n", run_line(section)));
    md
}

/// `_Wall time: 12.3 s (2026-01-02 03:04 UTC, seed 42, --quick, commit abc123)._`
fn run_line(section: &Section) -> String {
    let time = section
        .seconds
        .map_or("unknown".to_string(), |s| format!("{s:.1} s"));
    let run = section.run.as_ref();
    let mut details = Vec::new();
    if let Some(date) = run.and_then(|r| r.date.as_deref()) {
        details.push(date.to_string());
    }
    if let Some(seed) = run.and_then(|r| r.seed) {
        details.push(format!("seed {seed}"));
    }
    if run.is_some_and(|r| r.quick) {
        details.push("--quick".into());
    }
    if let Some(commit) = run.and_then(|r| r.commit.as_deref()) {
        details.push(format!("commit `{commit}`"));
    }
    if details.is_empty() {
        format!("_Wall time: {time}._")
    } else {
        format!("_Wall time: {time} ({})._", details.join(", "))
    }
}

fn plot_alt(plot: &Path) -> String {
    plot.file_stem()
        .map(|s| s.to_string_lossy().replace('_', " "))
        .unwrap_or_default()
}

/// The current git commit (short hash, `-dirty` when the tree has changes), if git knows one.
pub fn git_commit() -> Option<String> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let hash = run(&["rev-parse", "--short", "HEAD"]).filter(|h| !h.is_empty())?;
    let dirty = run(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}

/// `time` as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian calendar).
pub fn utc_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn write_section(dir: &Path, name: &str, markdown: &str) {
        let value = json!({"experiment": name, "title": format!("Title {name}"),
                           "markdown": markdown, "seconds": 1.25, "plots": ["p.png"]});
        std::fs::write(dir.join(format!("{name}.json")), value.to_string()).expect("write");
    }

    #[test]
    fn sections_come_in_registry_order_then_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["zeta", "attention", "alpha", "bench"] {
            write_section(dir.path(), name, &format!("body of {name}"));
        }
        std::fs::write(dir.path().join("broken.json"), "{").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "{").expect("write");
        let found = sections(dir.path()).expect("folder readable");
        let names: Vec<&str> = found.iter().map(|s| s.experiment.as_str()).collect();
        assert_eq!(names, ["bench", "attention", "alpha", "zeta"]);
        let md = render(&found);
        let bench = md.find("## Title bench").expect("bench section");
        let attention = md.find("## Title attention").expect("attention section");
        assert!(bench < attention);
        assert!(
            md.contains("body of zeta\n\n![p](p.png)\n\n_Wall time: 1.2 s._"),
            "{md}"
        );
    }

    #[test]
    fn sections_without_text_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let old = dir.path().join("knn_lab.json");
        std::fs::write(&old, r#"{"experiment": "knn_lab", "figures": {}}"#).expect("write");
        let err = read_section(&old).expect_err("no markdown");
        assert!(err.to_string().contains("knn_lab.json"), "{err}");
        let peer = dir.path().join("peer.json");
        std::fs::write(&peer, r#"{"gflops": 3}"#).expect("write");
        assert!(read_section(&peer).expect("valid JSON").is_none());
    }

    #[test]
    fn civil_dates() {
        let at = |s: u64| utc_date(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34 UTC: 11016 days after the epoch (30 years incl. 7 leap days + 59).
        assert_eq!(
            at(11_016 * 86_400 + 12 * 3600 + 34 * 60),
            "2000-02-29 12:34 UTC"
        );
        assert_eq!(at(951_868_800), "2000-03-01 00:00 UTC");
    }
}
