//! Elementary functions behind one trait (placeholder until written).
