//! The seed's search on Fashion-MNIST: its space (units 16..64 step 16 × optimizer) and the
//! extended one (learning rate, depth, dropout), an MLP evaluator for the tuner, TPE against
//! random search over seeds, and Hyperband against full random search.

use std::path::PathBuf;

use anyhow::Result;
use edgeml_core::kernels::Dispatch;

use super::data::FashionSplit;
use super::mlp::{train, MlpSpec};
use crate::tune::{
    Config, Measurement, Objective, Results, Sampling, Search, Space, Strategy, Tpe, Value,
};

/// The seed notebook's space: `units` 16..64 step 16, `optimizer` adam | rmsprop.
pub fn seed_space() -> Result<Space> {
    let mut space = Space::new();
    space.int("units", 16, 64, 16)?;
    space.choice("optimizer", &["adam", "rmsprop"])?;
    Ok(space)
}

/// The seed's space extended with `lr` (log-uniform 1e-4..3e-2), `depth` (1..3) and a
/// `dropout` switch whose `rate` (0.1..0.5) exists only when it is on.
pub fn extended_space() -> Result<Space> {
    let mut space = seed_space()?;
    space.float("lr", 1e-4, 3e-2, Sampling::Log)?;
    space.int("depth", 1, 3, 1)?;
    space.boolean("dropout")?;
    space.float("rate", 0.1, 0.5, Sampling::Linear)?;
    space.when("dropout", &[Value::Bool(true)])?;
    Ok(space)
}

/// The configuration's dropout probability: `rate` when `dropout` is on, else 0.
pub fn with_dropout(config: &Config) -> Config {
    let mut c = config.clone();
    let rate = match (c.get("dropout"), c.get("rate")) {
        (Some(Value::Bool(true)), Some(r)) => r.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    c.insert("dropout".into(), Value::Float(rate));
    c
}

/// Trains configurations on the split's train rows and scores them by their best validation
/// accuracy over the epochs (keras-tuner's `val_accuracy`), stopping after `patience` epochs
/// without a lower validation loss.
pub struct MlpEvaluator<'a> {
    /// The data.
    pub data: &'a FashionSplit,
    /// Early-stopping patience inside a trial (the seed's search uses 3).
    pub patience: usize,
    /// Kernel variant.
    pub dispatch: Dispatch,
}

impl crate::tune::Evaluator for MlpEvaluator<'_> {
    fn evaluate(&self, config: &Config, epochs: usize, seed: u64) -> Result<Measurement> {
        let spec = MlpSpec::from_config(&with_dropout(config))?;
        let trained = train(
            &spec,
            &self.data.train,
            Some(&self.data.validation),
            epochs,
            self.patience,
            seed,
            self.dispatch,
        )?;
        Ok(Measurement {
            value: trained
                .val_accuracy
                .iter()
                .copied()
                .fold(f64::NAN, f64::max),
            epochs: trained.val_accuracy.len(),
            best_epoch: Some(trained.best_epoch),
        })
    }
}

/// A search of `space` for `val_accuracy` with `strategy`, stored under `store`.
pub fn search(
    space: &Space,
    strategy: Strategy,
    trials: usize,
    epochs: usize,
    seed: u64,
    store: Option<PathBuf>,
    label: &str,
) -> Result<Search> {
    Ok(Search {
        space: space.clone(),
        objective: Objective::infer("val_accuracy")?,
        strategy,
        max_trials: trials,
        max_epochs: epochs,
        executions_per_trial: 1,
        batch: 2,
        seed,
        store,
        label: label.into(),
    })
}

/// TPE and random search over one seed.
pub struct Pair {
    /// The random search.
    pub random: Results,
    /// The TPE search.
    pub tpe: Results,
}

impl Pair {
    /// Best validation accuracy of the random search.
    pub fn random_best(&self) -> f64 {
        self.random.best().map_or(f64::NAN, |t| t.value)
    }

    /// Trials TPE needed to reach the random search's best (`None`: never within the budget).
    pub fn tpe_trials_to_reach(&self) -> Option<usize> {
        self.tpe.trials_to_reach(self.random_best())
    }
}

/// The TPE settings for a budget of `trials`: a quarter of it (at least 4) drawn at random.
pub fn tpe_for(trials: usize) -> Tpe {
    Tpe {
        startup: (trials / 4).max(4),
        ..Tpe::default()
    }
}
