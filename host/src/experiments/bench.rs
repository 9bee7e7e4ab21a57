//! The kernel benchmark experiment (`edgeml bench`): dot, gemm and softmax timed per kernel
//! variant, with the variant the CPU detection picked named in the output.

use clap::Args;

use super::{Experiment, ExperimentReport, RunContext};

/// Options of `edgeml bench`.
#[derive(Args, Clone, Debug, Default)]
pub struct BenchArgs {}

/// The kernel benchmark experiment.
pub struct Bench {
    args: BenchArgs,
}

impl Bench {
    /// The experiment with the given options.
    pub fn new(args: BenchArgs) -> Bench {
        Bench { args }
    }
}

impl Experiment for Bench {
    fn name(&self) -> &'static str {
        "bench"
    }

    fn title(&self) -> &'static str {
        "Kernel benchmarks"
    }

    fn run(&self, _ctx: &RunContext) -> anyhow::Result<ExperimentReport> {
        let _ = &self.args;
        anyhow::bail!("the kernel benchmark is not written yet")
    }
}
