//! edgeml-gpu
