//! softmax kernel (to be written).
