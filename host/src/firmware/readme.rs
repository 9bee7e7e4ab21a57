//! Puts the footprint report into README.md, between the marker lines.

use anyhow::{bail, Result};

/// Line before the generated block.
pub const START: &str = "<!-- footprint:start -->";
/// Line after the generated block.
pub const END: &str = "<!-- footprint:end -->";

/// `readme` with the text between the lines [`START`] and [`END`] replaced by `report`, its
/// headings demoted two levels (the block sits under the README's `## Firmware`). Everything
/// outside the markers is kept byte for byte.
pub fn splice(readme: &str, report: &str) -> Result<String> {
    let Some(start) = readme.find(START) else {
        bail!("README has no `{START}` line");
    };
    let body = start + START.len();
    let Some(end) = readme[body..].find(END).map(|e| body + e) else {
        bail!("README has no `{END}` line after `{START}`");
    };
    let mut out = String::with_capacity(readme.len() + report.len());
    out.push_str(&readme[..body]);
    out.push_str("\n\n");
    for line in report.trim_end().lines() {
        if line.starts_with('#') {
            out.push_str("##");
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&readme[end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_block_and_is_idempotent() {
        let before = "# T\n\nintro\n";
        let after = "\nlast line\n";
        let readme = format!("{before}{START}\nold report\n{END}{after}");
        let spliced = splice(&readme, "# Report\n\n| a | 1 |\n").unwrap();
        assert!(spliced.starts_with(&format!("{before}{START}\n")));
        assert!(spliced.ends_with(&format!("\n{END}{after}")));
        assert!(spliced.contains("### Report\n"));
        assert!(spliced.contains("| a | 1 |\n"));
        assert!(!spliced.contains("old report"));
        assert_eq!(
            splice(&spliced, "# Report\n\n| a | 1 |\n").unwrap(),
            spliced
        );
    }

    #[test]
    fn missing_markers_are_an_error() {
        assert!(splice("no markers\n", "x").is_err());
        assert!(splice(&format!("{END}\n{START}\n"), "x").is_err());
    }
}
