// These modules exist so that `cargo test` compiles and runs every code block of the user guide.

#[doc = include_str!("../../docs/src/introduction.md")]
mod introduction {}

#[doc = include_str!("../../docs/src/installation.md")]
mod installation {}
#[doc = include_str!("../../docs/src/migrations.md")]
mod migrations {}

#[doc = include_str!("../../docs/src/configuration.md")]
mod configuration {}

#[doc = include_str!("../../docs/src/models.md")]
mod models {}

#[doc = include_str!("../../docs/src/crud.md")]
mod crud {}

#[doc = include_str!("../../docs/src/querying.md")]
mod querying {}

#[doc = include_str!("../../docs/src/reports.md")]
mod reports {}

#[doc = include_str!("../../docs/src/relationships.md")]
mod relationships {}

#[doc = include_str!("../../docs/src/json.md")]
mod json {}

#[doc = include_str!("../../docs/src/transactions.md")]
mod transactions {}

#[doc = include_str!("../../docs/src/concurrency.md")]
mod concurrency {}

#[doc = include_str!("../../docs/src/web.md")]
mod web {}

#[doc = include_str!("../../docs/src/sync.md")]
mod sync {}

#[doc = include_str!("../../docs/src/hooks.md")]
mod hooks {}

#[doc = include_str!("../../docs/src/bulk.md")]
mod bulk {}

#[doc = include_str!("../../docs/src/streaming.md")]
mod streaming {}

#[doc = include_str!("../../docs/src/escape-hatch.md")]
mod escape_hatch {}

#[doc = include_str!("../../docs/src/errors.md")]
mod errors {}

#[doc = include_str!("../../docs/src/observability.md")]
mod observability {}

#[doc = include_str!("../../docs/src/benchmarks.md")]
mod benchmarks {}

#[doc = include_str!("../../docs/src/testing.md")]
mod testing {}

#[doc = include_str!("../../docs/src/adding-a-backend.md")]
mod adding_a_backend {}
