//! axpy kernel (to be written).
