//! Runs experiments and writes `REPORT.md` (title, date, machine, git commit, one section per
//! experiment) and `<name>.json` per experiment into the report folder.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::json;

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

/// Runs `experiments` in order (a failure does not stop the others) with a progress bar over
/// them, writes REPORT.md and the JSON files into `ctx.out_dir`, and returns the outcomes.
pub fn run_all(experiments: &[Box<dyn Experiment>], ctx: &RunContext) -> Result<Vec<Outcome>> {
    std::fs::create_dir_all(&ctx.out_dir)
        .with_context(|| format!("creating the report folder {}", ctx.out_dir.display()))?;
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
        outcomes.push(Outcome {
            name: experiment.name(),
            title: experiment.title(),
            result,
            seconds: start.elapsed().as_secs_f64(),
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    for outcome in &outcomes {
        write_json(&ctx.out_dir, outcome)?;
    }
    let report = ctx.out_dir.join("REPORT.md");
    std::fs::write(&report, render(&outcomes, ctx))
        .with_context(|| format!("writing {}", report.display()))?;
    Ok(outcomes)
}

fn write_json(out_dir: &Path, outcome: &Outcome) -> Result<()> {
    let value = match &outcome.result {
        Ok(report) => json!({
            "experiment": outcome.name,
            "data_source": report.data_source,
            "figures": report.figures,
            "plots": report.plots,
            "seconds": outcome.seconds,
        }),
        Err(err) => json!({
            "experiment": outcome.name,
            "error": format!("{err:#}"),
            "seconds": outcome.seconds,
        }),
    };
    let path = out_dir.join(format!("{}.json", outcome.name));
    let text = serde_json::to_string_pretty(&value)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// REPORT.md's text for these outcomes.
pub fn render(outcomes: &[Outcome], ctx: &RunContext) -> String {
    let mut md = String::from("# edgeml report\n\n");
    md.push_str(&format!("- Date: {}\n", utc_date(SystemTime::now())));
    md.push_str(&format!(
        "- Machine: {}, {} logical cores\n",
        crate::cpu::model_name(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    if let Some(commit) = git_commit() {
        md.push_str(&format!("- Commit: `{commit}`\n"));
    }
    md.push_str(&format!(
        "- Options: seed {}{}\n",
        ctx.seed,
        if ctx.quick { ", --quick" } else { "" }
    ));
    for outcome in outcomes {
        md.push_str(&format!("\n## {}\n\n", outcome.title));
        match &outcome.result {
            Ok(report) => {
                md.push_str(&format!("Data: {}\n\n", report.data_source));
                md.push_str(report.markdown.trim_end());
                md.push('\n');
                for plot in &report.plots {
                    let link = plot.display().to_string();
                    if !report.markdown.contains(&format!("({link})")) {
                        md.push_str(&format!("\n![{}]({link})\n", plot_alt(plot)));
                    }
                }
                md.push_str(&format!("\n_Ran in {:.1} s._\n", outcome.seconds));
            }
            Err(err) => {
                md.push_str(&format!("**FAILED:** `{err:#}`\n"));
            }
        }
    }
    md
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
