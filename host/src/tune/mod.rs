//! Hyperparameter search: search spaces (in code or TOML), tuners (grid, random, TPE,
//! Hyperband), objectives with a direction, early stopping, a resumable JSON-lines store,
//! studies shared by workers through SQLite or PostgreSQL, and weighted ensembles of the models found.

pub mod ensemble;
pub mod file;
pub mod grid;
pub mod hyperband;
pub mod objective;
pub mod postgres;
pub mod sample;
pub mod search;
pub mod space;
pub mod sqlite;
pub mod storage;
pub mod store;
pub mod tpe;

pub use objective::{Direction, EarlyStopping, Objective};
pub use search::{
    worker_name, Coordination, Evaluator, Measurement, Results, Search, Strategy, Worker,
};
pub use space::{Config, Domain, Param, Sampling, Space, Value};
pub use storage::{open as open_storage, Storage, StudySpec};
pub use store::{Store, Trial};
pub use tpe::Tpe;
