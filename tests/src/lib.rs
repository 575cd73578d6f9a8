#[doc = include_str!("/tmp/scratch/a.md")]
mod scratch {}
