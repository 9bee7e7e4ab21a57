//! The edgeml host library behind the `edgeml` command: dataset loaders, experiments, CPU
//! detection, model import and inspection, and the report writer.

pub mod cpu;
pub mod datasets;
pub mod experiments;
pub mod firmware;
pub mod fuzz;
pub mod import;
pub mod input;
pub mod inspect;
pub mod report;
pub mod tune;
