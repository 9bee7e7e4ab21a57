//! The report: Markdown tables and number formatting, PNG plots, progress bars, the terminal
//! summary of headline figures, and the writer of REPORT.md and the per-experiment JSON files.

pub mod format;
pub mod plot;
pub mod progress;
pub mod summary;
pub mod table;
pub mod terminal;
pub mod writer;
