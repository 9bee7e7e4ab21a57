//! The 500-tree LightGBM model imported by `edgeml export` (California Housing regression),
//! as static arrays in flash written by build.rs from `models/lgb500.bin`: no RAM copy.

use edgeml_core::tree::{ModelKind, Node};

include!(concat!(env!("OUT_DIR"), "/lgb500.rs"));
