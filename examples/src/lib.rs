//! Runnable examples of duo-orm: see `quickstart.rs` (`cargo run -p duo-orm-examples --example quickstart`).

pub mod web;
