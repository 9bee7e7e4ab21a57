//! edgeml: property tests and benchmarks of the workspace.
