//! Model metadata, the [`Model`] trait and write payloads.

use std::collections::{BTreeMap, HashMap};

use sea_query::Value;
use serde_json::{Map, Value as Json};

use crate::database::Database;
use crate::error::{Error, InvalidQueryKind, Result};
use crate::types::{KeyValues, RowCursor, RowResult, SqlType};

/// Static description of a model's table: written by `#[derive(Model)]`.
#[derive(Debug)]
pub struct ModelMeta {
    /// The Rust struct's name.
    pub name: &'static str,
    /// The table name.
    pub table: &'static str,
    /// The columns, in field order (the order rows are decoded in).
    pub columns: &'static [ColumnMeta],
    /// Positions (in `columns`) of the primary-key columns.
    pub primary_key: &'static [usize],
    /// Position (in `columns`) of the optimistic-lock version column (`#[duo(version)]`).
    pub version: Option<usize>,
    /// Indexes and unique constraints, single-column ones included.
    pub indexes: &'static [IndexMeta],
    /// The relationships the model declares (`has_many`, `belongs_to`, …).
    pub relations: &'static [crate::relation::RelationMeta],
}

/// One column of a model.
#[derive(Debug)]
pub struct ColumnMeta {
    /// The Rust field name (payload keys use it).
    pub field: &'static str,
    /// The column name in the database.
    pub name: &'static str,
    /// The portable column type.
    pub sql_type: SqlType,
    /// Whether the column accepts NULL (the field is an `Option`).
    pub nullable: bool,
    /// Whether the column is (part of) the primary key.
    pub primary_key: bool,
    /// Whether the database generates the value (identity / auto-increment).
    pub auto_increment: bool,
    /// Whether the column alone is unique.
    pub unique: bool,
    /// Whether the column alone is indexed.
    pub index: bool,
    /// The column's default.
    pub default: Option<ColumnDefault>,
    /// The maximum length of a text column.
    pub max_length: Option<u32>,
    /// The foreign key this column holds.
    pub references: Option<ForeignKeyMeta>,
    /// Whether payloads may set the column (`false` for guarded columns).
    pub guarded: bool,
    /// When the column is stamped with the current time (`set_on`, `auto_now`, `auto_now_add`).
    pub set_on: SetOn,
    /// Converts a JSON payload value into a bound parameter of the field's type.
    pub from_json: fn(Json) -> std::result::Result<Value, String>,
}

impl ColumnMeta {
    /// `value` as a bound parameter of this column (cast to a PostgreSQL enum type).
    #[inline]
    pub(crate) fn param(&self, value: Value) -> sea_query::Expr {
        crate::types::param(&self.sql_type, value)
    }
}

/// The writes on which a timestamp column is set to the current UTC time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOn {
    /// On INSERT (`set_on(create)`, `auto_now_add`, `auto_now`).
    pub create: bool,
    /// On UPDATE (`set_on(update)`, `auto_now`).
    pub update: bool,
}

impl SetOn {
    /// Not a stamped column.
    pub const NEVER: SetOn = SetOn { create: false, update: false };
}

/// A column default, as written in `#[duo(default = …)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnDefault {
    /// `default = true`.
    Bool(bool),
    /// `default = 42`.
    Int(i64),
    /// `default = 1.5`.
    Float(f64),
    /// `default = "text"`: a string literal.
    Str(&'static str),
    /// `default_sql = "CURRENT_TIMESTAMP"`: an SQL expression, written as given.
    Sql(&'static str),
}

/// A foreign key held by a column.
#[derive(Debug, Clone, Copy)]
pub struct ForeignKeyMeta {
    /// The referenced model's metadata.
    pub target: fn() -> &'static ModelMeta,
    /// The referenced column (`None`: the target's primary key).
    pub column: Option<&'static str>,
    /// `ON DELETE` action.
    pub on_delete: Option<ReferentialAction>,
    /// `ON UPDATE` action.
    pub on_update: Option<ReferentialAction>,
}

impl ForeignKeyMeta {
    /// The referenced column's name.
    pub fn target_column(&self) -> &'static str {
        let target = (self.target)();
        self.column.unwrap_or_else(|| target.columns[target.primary_key[0]].name)
    }
}

pub use duo_orm_schema::ReferentialAction;

/// An index or unique constraint.
#[derive(Debug)]
pub struct IndexMeta {
    /// Column names, in index order.
    pub columns: &'static [&'static str],
    /// A unique constraint rather than a plain index.
    pub unique: bool,
}

impl IndexMeta {
    /// `ix_table_col` / `uq_table_col`.
    pub fn name(&self, table: &str) -> String {
        crate::schema::Index::conventional_name(table, self.columns, self.unique)
    }
}

impl ModelMeta {
    /// The column whose Rust field is `field`.
    pub fn column_by_field(&self, field: &str) -> Option<&'static ColumnMeta> {
        self.columns.iter().find(|c| c.field == field)
    }

    /// Column names, in decode order.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }

    /// The field names, in declaration order.
    pub fn field_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.field).collect()
    }

    /// The single auto-increment key column, if the model has one.
    pub fn auto_increment_key(&self) -> Option<&'static ColumnMeta> {
        match self.primary_key {
            [index] if self.columns[*index].auto_increment => Some(&self.columns[*index]),
            _ => None,
        }
    }

    pub(crate) fn key_columns(&self) -> impl Iterator<Item = &'static ColumnMeta> + '_ {
        self.primary_key.iter().map(|&i| &self.columns[i])
    }

    /// `"table"."key" = ?` (ANDed over a composite key) for the key values `key`.
    pub(crate) fn key_condition(&self, key: Vec<Value>) -> sea_query::Expr {
        use sea_query::ExprTrait;
        self.key_columns()
            .zip(key)
            .map(|(column, value)| sea_query::Expr::col((self.table, column.name)).eq(column.param(value)))
            .reduce(|all, part| all.and(part))
            .expect("a model has at least one primary-key column")
    }

    /// Models this one references (foreign keys to other tables).
    pub fn dependencies(&self) -> impl Iterator<Item = &'static ModelMeta> + '_ {
        self.columns.iter().filter_map(|c| c.references.map(|fk| (fk.target)()))
    }
}

/// A table-backed struct: its table's description, its database, and how its rows are
/// encoded and decoded. Implemented by `#[derive(Model)]`. The ActiveRecord API (`create`,
/// `filter`, `get`, `save`, `update`, `delete`, …) is [`ModelExt`](crate::ModelExt),
/// which every model implements and the prelude brings into scope.
pub trait Model: Sized + Send + Sync + 'static {
    /// The typed column handles (`User::columns().name`), passed to `filter` closures.
    type Columns: 'static + Sync;
    /// The primary key: the key field's type, or a tuple for a composite key.
    type Key: KeyValues + Send;

    /// The table description.
    fn meta() -> &'static ModelMeta;
    /// The typed column handles.
    fn columns() -> &'static Self::Columns;
    /// The database the model is bound to with `#[duo(db = …)]`.
    fn database() -> Option<&'static Database>;
    /// Builds the model from a row whose columns are in [`ModelMeta::columns`] order (the
    /// error is a boxed [`Error`]: see [`RowError`](crate::types::RowError)).
    fn decode(row: &mut RowCursor<'_>) -> RowResult<Self>;
    /// Every column's value, in column order.
    fn values(&self) -> Vec<Value>;
    /// The value of the column at `index` (in column order).
    fn value_at(&self, index: usize) -> Value;
    /// Every column's `(position, value)`, in column order, moved out of the instance.
    fn into_indexed_values(self) -> Vec<(usize, Value)> {
        self.values().into_iter().enumerate().collect()
    }
    /// This instance's primary key.
    fn key(&self) -> Self::Key;
    /// Every column's value as JSON, in column order.
    fn json_values(&self) -> Vec<Json>;
    /// Builds a model from JSON field values; absent optional fields are `None`, an absent
    /// generated key is its default.
    fn from_json_map(map: Map<String, Json>) -> Result<Self>;
    /// Sets the field of column `index` from a JSON value.
    fn set_json(&mut self, index: usize, value: Json) -> Result<()>;
    /// The model's [`Hooks`], when it implements them (found by `#[derive(Model)]`).
    fn hooks() -> Option<HookFns<Self>> {
        None
    }
}

/// Validation and lifecycle hooks of a model. Implement the methods you need; `#[derive(Model)]`
/// finds the implementation by itself.
///
/// On a write (`create`, `save`, `update`, and bulk operations with `with_hooks(true)`) the
/// order is: [`before_save`](Hooks::before_save), then `set_on` timestamps are stamped, then
/// [`validate`](Hooks::validate), then the statement, then [`after_save`](Hooks::after_save).
/// On `delete`: [`before_delete`](Hooks::before_delete), the statement,
/// [`after_delete`](Hooks::after_delete). An error from any hook stops the operation; after
/// the statement ran, wrap the call in a transaction if the error must undo it.
///
/// ```
/// use duo_orm::prelude::*;
///
/// #[derive(Model, Debug)]
/// #[duo(table = "products")]
/// struct Product {
///     #[duo(primary_key)]
///     id: i64,
///     name: String,
///     price_cents: i64,
/// }
///
/// impl Hooks for Product {
///     fn validate(&self) -> Result<()> {
///         if self.price_cents < 0 {
///             return Err(Error::validation("price_cents", "a price cannot be negative"));
///         }
///         Ok(())
///     }
///
///     fn before_save(&mut self) -> Result<()> {
///         self.name = self.name.trim().to_string();
///         Ok(())
///     }
/// }
/// ```
pub trait Hooks: Model {
    /// Checks the instance before it is written; an error is usually [`Error::Validation`].
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Runs before an INSERT or UPDATE of this instance; may change it.
    fn before_save(&mut self) -> Result<()> {
        Ok(())
    }
    /// Runs after an INSERT or UPDATE of this instance, with the row as written.
    fn after_save(&self) -> Result<()> {
        Ok(())
    }
    /// Runs before this instance's row is deleted.
    fn before_delete(&self) -> Result<()> {
        Ok(())
    }
    /// Runs after this instance's row was deleted.
    fn after_delete(&self) -> Result<()> {
        Ok(())
    }
}

/// A model's [`Hooks`] as plain functions (what [`Model::hooks`] returns).
pub struct HookFns<M> {
    /// [`Hooks::validate`].
    pub validate: fn(&M) -> Result<()>,
    /// [`Hooks::before_save`].
    pub before_save: fn(&mut M) -> Result<()>,
    /// [`Hooks::after_save`].
    pub after_save: fn(&M) -> Result<()>,
    /// [`Hooks::before_delete`].
    pub before_delete: fn(&M) -> Result<()>,
    /// [`Hooks::after_delete`].
    pub after_delete: fn(&M) -> Result<()>,
}

impl<M> Clone for HookFns<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for HookFns<M> {}

impl<M: Hooks> HookFns<M> {
    /// The hooks `M` implements.
    pub fn of() -> Self {
        HookFns {
            validate: M::validate,
            before_save: M::before_save,
            after_save: M::after_save,
            before_delete: M::before_delete,
            after_delete: M::after_delete,
        }
    }
}

/// What a write helper (`create`, `update`, …) accepts: a model instance, a schema struct
/// (`#[derive(Payload)]`), or a JSON-style map (`json!({...})`, `HashMap`, `BTreeMap`).
///
/// Keys that are not fields of the model are ignored.
pub trait Payload: Send {
    /// Model instances are trusted: their guarded fields are written too.
    const TRUSTED: bool = false;
    /// Checks the payload before anything is written (schemas run `validator::Validate`).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// The payload as field name → JSON value.
    fn into_map(self) -> Result<Map<String, Json>>;
    /// The payload as the column values of the model `meta` describes, without going through
    /// JSON, when it can (an instance of that very model); otherwise the payload, unchanged.
    #[doc(hidden)]
    fn into_column_values(self, meta: &'static ModelMeta) -> std::result::Result<Vec<(usize, Value)>, Self>
    where
        Self: Sized,
    {
        let _ = meta;
        Err(self)
    }
}

/// [`Payload::into_column_values`] of a model instance: its values when `meta` is its own
/// model, with the rules of a JSON payload (`NULL`s left to the column default, an unset
/// generated key to the database).
#[doc(hidden)]
pub fn model_column_values<M: Model>(model: M, meta: &'static ModelMeta) -> std::result::Result<Vec<(usize, Value)>, M> {
    if !std::ptr::eq(meta, M::meta()) || crate::relation::save::holds_rows_to_save(&model) {
        return Err(model);
    }
    let generated = meta.auto_increment_key().map(|_| meta.primary_key[0]);
    let mut values = model.into_indexed_values();
    values.retain(|(i, value)| *value != value.as_null() && !(Some(*i) == generated && crate::query::write::is_unset_key(value)));
    Ok(values)
}

impl Payload for Json {
    fn into_map(self) -> Result<Map<String, Json>> {
        match self {
            Json::Object(map) => Ok(map),
            other => Err(Error::invalid(
                InvalidQueryKind::Payload,
                format!("a payload must be a JSON object of field names to values, not `{other}`"),
            )),
        }
    }
}

impl Payload for Map<String, Json> {
    fn into_map(self) -> Result<Map<String, Json>> {
        Ok(self)
    }
}

impl<V: Into<Json> + Send> Payload for HashMap<String, V> {
    fn into_map(self) -> Result<Map<String, Json>> {
        Ok(self.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

impl<V: Into<Json> + Send> Payload for BTreeMap<String, V> {
    fn into_map(self) -> Result<Map<String, Json>> {
        Ok(self.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

/// [`Payload::into_map`] of a model instance: its fields, refused when a relationship field
/// holds rows to save (a payload writes columns only, and would drop them without a word).
#[doc(hidden)]
pub fn model_payload_map<M: Model>(model: &M) -> Result<Map<String, Json>> {
    if let Some(relation) = crate::relation::save::held_relationship(model) {
        return Err(Error::Relationship {
            relation: relation.qualified_name(),
            detail: format!(
                "the {} was given as a payload, which writes its columns only, and `{}` holds rows to \
                 save; call save() on the instance to write it with what its relationships hold",
                M::meta().name,
                relation.name
            ),
        });
    }
    Ok(crate::active_record::ModelExt::to_map(model))
}

/// Turns a schema into a payload map (used by `#[derive(Payload)]`).
#[doc(hidden)]
pub fn serialize_to_map<S: serde::Serialize>(schema: &S) -> Result<Map<String, Json>> {
    match serde_json::to_value(schema) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(Error::invalid(InvalidQueryKind::Payload, format!("a schema must serialize to an object, not `{other}`"))),
        Err(e) => Err(Error::invalid(InvalidQueryKind::Payload, format!("cannot serialize the payload: {e}"))),
    }
}

/// Why a payload is being turned into column assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// INSERT: the primary key may be given; `null` leaves the column to its default.
    Create,
    /// Partial UPDATE: the primary key and guarded fields are never assigned; `null`/missing
    /// fields are skipped.
    Update,
}

/// Resolves a payload against a model's columns: `(column position, value)` pairs in column
/// order, with the JSON values kept for updating an instance in memory.
pub(crate) fn assignments(
    meta: &'static ModelMeta,
    map: Map<String, Json>,
    purpose: Purpose,
    trusted: bool,
) -> Result<Vec<(usize, Value, Json)>> {
    let mut out = Vec::with_capacity(map.len().min(meta.columns.len()));
    resolve_columns(meta, map, purpose, trusted, |index, json| {
        out.push((index, convert(&meta.columns[index], json.clone())?, json));
        Ok(())
    })?;
    Ok(out)
}

/// [`assignments`] without the JSON values: what a bulk INSERT binds, with no copy of them.
pub(crate) fn assigned_values(
    meta: &'static ModelMeta,
    map: Map<String, Json>,
    purpose: Purpose,
    trusted: bool,
) -> Result<Vec<(usize, Value)>> {
    let mut out = Vec::with_capacity(map.len().min(meta.columns.len()));
    resolve_columns(meta, map, purpose, trusted, |index, json| {
        out.push((index, convert(&meta.columns[index], json)?));
        Ok(())
    })?;
    Ok(out)
}

fn convert(column: &ColumnMeta, json: Json) -> Result<Value> {
    (column.from_json)(json).map_err(|detail| Error::Validation { field: column.field.to_string(), detail })
}

/// The rules of both: columns in order; `null`, unknown, guarded (unless trusted) and, on
/// update, key fields skipped; an unset generated key left to the database.
fn resolve_columns(
    meta: &'static ModelMeta,
    mut map: Map<String, Json>,
    purpose: Purpose,
    trusted: bool,
    mut emit: impl FnMut(usize, Json) -> Result<()>,
) -> Result<()> {
    for (index, column) in meta.columns.iter().enumerate() {
        let Some(json) = map.remove(column.field) else { continue };
        if json.is_null() || (column.guarded && !trusted) {
            continue;
        }
        match purpose {
            // Keys never change; a create-only timestamp (`auto_now_add`) is never backdated;
            // the version moves only by the update's own bump, even from a trusted instance.
            Purpose::Update if column.primary_key || (column.set_on.create && !column.set_on.update) || meta.version == Some(index) => {
                continue;
            }
            // A model instance with a generated key it has not got yet (0) leaves it to the database.
            Purpose::Create if column.auto_increment && json.as_i64() == Some(0) => continue,
            _ => {}
        }
        emit(index, json)?;
    }
    Ok(())
}
