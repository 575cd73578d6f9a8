//! # duo-orm
//!
//! One model, one API: an ActiveRecord-style ORM for Rust on [sea-query](sea_query) and
//! [sqlx]. Define a struct, derive [`Model`], and read and write it on SQLite, PostgreSQL and
//! MySQL/MariaDB; render its SQL for SQL Server and Oracle too.
//!
//! ```
//! use duo_orm::prelude::*;
//!
//! static DB: Database = Database::from_url("sqlite::memory:");
//!
//! #[derive(Model, Debug)]
//! #[duo(table = "users", db = DB)]
//! struct User {
//!     #[duo(primary_key)]
//!     id: i64,
//!     name: String,
//!     age: i32,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> duo_orm::Result<()> {
//! DB.create_all().await?;
//! let ada = User::create(json!({"name": "Ada", "age": 36})).await?;
//! assert_eq!(ada.id, 1);
//! let adults = User::filter(|u| u.age.ge(18)).order_by(|u| u.name.asc()).all().await?;
//! assert_eq!(adults.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! The user guide (in `docs/`) covers every feature; this reference documents each item.

#![warn(missing_docs)]

mod active_record;
pub mod array;
pub mod column;
pub mod config;
pub mod database;
pub mod ddl;
pub mod dialect;
mod driver;
pub mod error;
#[cfg(feature = "json")]
pub mod json;
mod lifecycle;
#[cfg(feature = "migrate")]
pub mod migrate;
pub mod model;
pub mod pending;
pub mod query;
pub mod relation;
pub mod row;
pub mod schema;
mod sync;
pub mod transaction;
pub mod types;

pub use active_record::ModelExt;
pub use column::{Column, Condition, InList, MAX_CONDITION_DEPTH, Operand, OrderBy};
pub use config::{DatabaseUrl, PoolOptions, env_url};
pub use database::Database;
pub use dialect::Dialect;
pub use dialect::Statement;
#[cfg(feature = "mock")]
pub use driver::mock;
pub use error::{
    ConfigurationKind, ConflictKind, DatabaseError, DriverError, Error, IntegrityKind, InvalidQueryKind, MigrationKind, Result,
};
#[cfg(feature = "json")]
pub use json::Json;
pub use model::{HookFns, Hooks, Model, ModelMeta, Payload, SetOn};
pub use pending::Pending;
pub use query::aggregate::{Averageable, Ordered, Summable};
pub use query::bulk::{AssignedValue, Assignment, BulkOnConflict, CreateBulk, CreateBulkReturning, DeleteBulk, UpdateBulk};
pub use query::cursor::{CursorPage, MAX_CURSOR_LEN};
pub use query::expr::{Arithmetic, Integer, Now, Term, now};
pub use query::join::{JoinAppend, JoinKey, JoinRow, JoinSide, Joined, JoinedModel, RequiredModel};
pub use query::project::{
    Aggregate, Computed, Grouping, JoinGrouping, JoinSelection, JoinedProjected, Ordering, PerRow, Projected, Selection,
};
pub use query::raw::{FromStatementAs, IntoParam, RawSql};
pub use query::select::{Page, Select};
pub use query::stream::Iterate;
pub use query::subquery::{Subquery, exists};
pub use query::upsert::{ColumnSet, CreateIfAbsent, CreateOnConflict, CreateOrUpdate};
pub use query::write::{Create, InstanceSet};
pub use relation::{Association, Orphans, Related, RelatedCount, Relation, RelationKind, RelationMeta, Strategy};
pub use row::{FromRow, RowOf};
pub use transaction::{Isolation, Retry, Transaction, TransactionBlock};
pub use types::FieldType;

/// `#[derive(FieldType)]`: see the [`FieldType`](trait@FieldType) trait.
pub use duo_orm_derive::FieldType;
/// `#[derive(FromRow)]`: a struct a result row decodes into, by position; see the
/// [`FromRow`](trait@FromRow) trait.
pub use duo_orm_derive::FromRow;
/// `#[derive(Model)]`: see the user guide's "Defining models" chapter.
pub use duo_orm_derive::Model;
/// `#[derive(Payload)]`: makes a serde struct a write payload (implements the [`Payload`]
/// trait), validated with `validator::Validate` when it implements it.
pub use duo_orm_derive::Payload;
/// `embed_migrations!("migrations")`: the migration files of a directory (relative to the
/// crate's `Cargo.toml`), embedded at compile time, as a
/// `Result<`[`migrate::Migrations`]`>`.
#[cfg(feature = "migrate")]
pub use duo_orm_derive::embed_migrations;

/// The sea-query crate, for the escape hatch (`alchemize()`, `from_statement`).
pub use sea_query;
/// The sqlx crate, for anything duo-orm does not cover.
pub use sqlx;

/// Everything a model file needs: `use duo_orm::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "json")]
    pub use crate::Json;
    pub use crate::{
        Database, Dialect, Error, FieldType, FromRow, Hooks, Model, ModelExt, Page, Payload, Related, Result, Select, Transaction, exists,
    };
    /// `try_next()`, `next()` and friends on [`Iterate::stream`](crate::Iterate::stream).
    pub use futures_util::{StreamExt as _, TryStreamExt as _};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::json;
}

/// What generated code uses. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::database::Registration;
    pub use crate::model::{
        ColumnDefault, ColumnMeta, ForeignKeyMeta, HookFns, IndexMeta, ReferentialAction, SetOn, model_column_values, model_payload_map,
        serialize_to_map,
    };
    pub use crate::relation::load::RelationLoader;
    pub use crate::relation::{RelationField, ThroughMeta, key_column, kind};
    pub use crate::row::{FromRow, RowOf};
    pub use crate::schema::EnumType;
    pub use crate::types::{ArrayOf, FieldType, RowCursor, RowError, RowResult, SqlType, ValueError};
    pub use std::sync::OnceLock;

    /// Checks at compile time that a foreign-key column of type `F` can hold keys of type `K`
    /// (the same type, or an `Option` of it).
    pub fn assert_foreign_key<K, M, F: ForeignKeyOf<K>>(_column: crate::Column<M, F>) {}

    /// A foreign-key field type that holds keys of type `K`.
    #[diagnostic::on_unimplemented(
        message = "a foreign key of type `{Self}` cannot hold the referenced key of type `{K}`",
        label = "this foreign key's type does not match the referenced primary key",
        note = "a foreign key has the referenced key's type, or an `Option` of it for an optional relationship"
    )]
    pub trait ForeignKeyOf<K> {}
    impl<T: FieldType> ForeignKeyOf<T> for T {}
    impl<T: FieldType> ForeignKeyOf<T> for Option<T> {}
    pub use inventory;
    pub use sea_query::Value;
    pub use serde_json::{Map as JsonMap, Value as Json};
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::{self, Err, Ok};
    pub use std::vec::Vec;

    /// Runs `validator::Validate` when the payload type implements it (chosen at compile time
    /// on the concrete type by autoref: `(&&Probe(x)).duo_validate()`).
    pub struct Probe<'a, T>(pub &'a T);

    /// Picked when `T: validator::Validate`.
    pub trait ViaValidate {
        fn duo_validate(&self) -> crate::Result<()>;
    }
    impl<T: validator::Validate> ViaValidate for &Probe<'_, T> {
        fn duo_validate(&self) -> crate::Result<()> {
            self.0.validate().map_err(crate::Error::from)
        }
    }

    /// Picked otherwise: nothing to validate.
    pub trait ViaNoValidate {
        fn duo_validate(&self) -> crate::Result<()>;
    }
    impl<T> ViaNoValidate for Probe<'_, T> {
        fn duo_validate(&self) -> crate::Result<()> {
            Ok(())
        }
    }

    /// Finds a model's `Hooks` implementation at compile time, by autoref like [`Probe`]:
    /// `(&&HookProbe::<M>::default()).duo_hooks()`.
    pub struct HookProbe<M>(std::marker::PhantomData<fn() -> M>);

    impl<M> Default for HookProbe<M> {
        fn default() -> Self {
            HookProbe(std::marker::PhantomData)
        }
    }

    /// Picked when `M: Hooks`.
    pub trait ViaHooks<M> {
        fn duo_hooks(&self) -> Option<HookFns<M>>;
    }
    impl<M: crate::Hooks> ViaHooks<M> for &HookProbe<M> {
        fn duo_hooks(&self) -> Option<HookFns<M>> {
            Some(HookFns::of())
        }
    }

    /// Picked otherwise: no hooks.
    pub trait ViaNoHooks<M> {
        fn duo_hooks(&self) -> Option<HookFns<M>>;
    }
    impl<M> ViaNoHooks<M> for HookProbe<M> {
        fn duo_hooks(&self) -> Option<HookFns<M>> {
            None
        }
    }

    /// A JSON value as field type `T` (for `from_schema` / `set_json`), through the type's own
    /// [`FieldType::from_json`] and [`FieldType::from_value`]: no serde impl needed, and the
    /// labels of a derived enum are the ones it stores.
    pub fn field_from_json<T: FieldType>(model: &'static str, field: &'static str, json: serde_json::Value) -> crate::Result<T> {
        let invalid = |detail: String| crate::Error::Validation {
            field: field.to_string(),
            detail: format!("invalid value for {model}.{field}: {detail}"),
        };
        let value = T::from_json(json).map_err(invalid)?;
        T::from_value(value).map_err(|e| invalid(e.to_string()))
    }

    /// The error for a required field missing from a schema.
    pub fn missing_field(model: &'static str, field: &'static str) -> crate::Error {
        crate::Error::Validation { field: field.to_string(), detail: format!("{model}.{field} is required") }
    }
}
