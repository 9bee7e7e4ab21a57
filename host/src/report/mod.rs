//! The report: Markdown tables and number formatting, PNG plots, progress bars, and the writer
//! of REPORT.md and the per-experiment JSON files.

pub mod format;
pub mod plot;
pub mod progress;
pub mod table;
pub mod writer;
