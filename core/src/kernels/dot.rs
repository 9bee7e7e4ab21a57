//! dot kernel (to be written).
