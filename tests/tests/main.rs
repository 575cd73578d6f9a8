//! Cross-crate, cross-database tests: one binary, one module per area.
//!
//! Live tests run on SQLite always, and on PostgreSQL / MariaDB when `DUO_TEST_POSTGRES_URL`
//! / `DUO_TEST_MYSQL_URL` are set (a notice is printed when one is not). Every test gets its
//! own SQLite file, PostgreSQL schema or MariaDB database, so tests run in parallel.

use duo_orm_test_support as support;
use duo_orm_test_support::{setup, setup_sync};

mod arrays;
mod bulk;
mod concurrency;
mod config;
mod connections;
mod crud;
mod cursors;
mod errors;
mod graphs;
mod hardening;
mod hooks;
mod joins;
mod json;
mod migrations;
mod mock;
mod models;
mod queries;
mod raw;
mod relations;
mod reports;
mod runtimes;
mod secrets;
mod sql;
mod streaming;
mod subqueries;
mod sync_api;
mod tracing_spans;
mod transactions;
mod types;
mod ui;
