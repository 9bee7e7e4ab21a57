//! Hyperparameter search: search spaces (in code or TOML), tuners (grid, random, TPE,
//! Hyperband), objectives with a direction, early stopping, a resumable JSON-lines store,
//! parallel trials, and weighted ensembles of the models found.

pub mod ensemble;
pub mod file;
pub mod grid;
pub mod hyperband;
pub mod objective;
pub mod sample;
pub mod search;
pub mod space;
pub mod store;
pub mod tpe;

pub use objective::{Direction, EarlyStopping, Objective};
pub use search::{Evaluator, Measurement, Results, Search, Strategy};
pub use space::{Config, Domain, Param, Sampling, Space, Value};
pub use store::{Store, Trial};
pub use tpe::Tpe;
