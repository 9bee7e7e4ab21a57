//! activation kernel (to be written).
