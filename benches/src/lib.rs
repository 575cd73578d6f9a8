//! Code shared by the benchmark (`benches/diesel_bench.rs`) and the profiling examples.

pub mod associations;
pub mod harness;
pub mod medium;
