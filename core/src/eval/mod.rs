//! Model evaluation without allocation: classification and regression metrics, ROC AUC,
//! seeded reproducible splits, and baseline classifiers. Every output goes into a caller
//! buffer; metrics are computed in f64.

pub mod baseline;
pub mod classification;
pub mod ranking;
pub mod regression;
pub mod split;

pub use baseline::{MajorityClass, RandomClassifier};
pub use classification::{
    accuracy, average_scores, class_scores, confusion_matrix, log_loss, ClassScores, Scores,
};
pub use ranking::roc_auc;
pub use regression::{mae, mse, r2, rmse};
pub use split::{
    fold_members, k_fold_assign, leave_one_out, repeated_splits, split_by_fraction,
    stratified_k_fold_assign,
};
