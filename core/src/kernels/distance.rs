//! distance kernel (to be written).
