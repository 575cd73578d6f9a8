//! JSON columns: typed documents ([`Json<T>`]) and path expressions on any JSON column
//! (`u.settings.at("flags").at("beta").is_true()`), written natively for each dialect when
//! the query is rendered.
//!
//! | | PostgreSQL | MySQL / MariaDB | SQLite | SQL Server | Oracle |
//! |---|---|---|---|---|---|
//! | navigate, `as_text` / `as_integer` / `as_float` / `as_bool` | `->`, `->>`, `jsonb_typeof` | `JSON_EXTRACT`, `JSON_TYPE` | `json_extract`, `json_type` | `JSON_VALUE`, `OPENJSON` | `JSON_VALUE`, `JSON_EXISTS` |
//! | `is_null` (missing counts), `has_key` | ✓ | ✓ | ✓ | ✓ (`OPENJSON`) | ✓ (`JSON_EXISTS`) |
//! | `contains` a scalar (in an array) | `@>` | `JSON_CONTAINS` | `json_each` | `OPENJSON` | `JSON_EXISTS` |
//! | `contains` an object or array fragment | `@>` | `JSON_CONTAINS` | unsupported | unsupported | unsupported |
//! | `eq` / `ne` an object or array | `=` (jsonb) | `JSON_EXTRACT` | `json_extract` text | unsupported | `JSON_EQUAL` |
//!
//! "unsupported" is [`Error::UnsupportedOperation`](crate::Error::UnsupportedOperation) naming the dialect and the operation,
//! raised when the query is rendered, never SQL that would answer wrongly.

use std::marker::PhantomData;

use sea_query::{Expr, ExprTrait, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::column::{Column, Condition};
use crate::dialect::Dialect;
use crate::error::{Invalid, InvalidQueryKind, Result};
use crate::model::Model;
use crate::types::{FieldType, SqlType, ValueError};

mod render;

use render::{Kind, Scalar, check_key, path_text, two_valued};

/// A column holding `T` as a JSON document, (de)serialized with serde:
/// `settings: Json<Settings>`. Path expressions work on it like on `serde_json::Value`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> FieldType for Json<T> {
    const SQL_TYPE: SqlType = SqlType::Json;
    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))))
    }
    fn from_value(value: Value) -> std::result::Result<Self, ValueError> {
        match value {
            Value::Json(Some(json)) => {
                serde_json::from_value(*json).map(Json).map_err(|e| ValueError::new(format!("a JSON document of another shape: {e}")))
            }
            other => Err(ValueError::unexpected("a JSON document", &other)),
        }
    }
    fn null_value() -> Value {
        Value::Json(None)
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        // Checked against `T` now, so a bad payload is a validation error, not a decode error later.
        serde_json::from_value::<T>(json.clone()).map_err(|e| format!("expected a JSON document of this shape: {e}"))?;
        Ok(Value::Json(Some(Box::new(json))))
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

/// Marks the column types the JSON helpers (`at`, `has_key`, `contains`, …) accept.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON column",
    label = "JSON path helpers work on `serde_json::Value` and `Json<T>` columns only",
    note = "store the field as `serde_json::Value` or `duo_orm::Json<T>` to query inside it"
)]
pub trait JsonType {}
impl JsonType for serde_json::Value {}
impl JsonType for Option<serde_json::Value> {}
impl<T> JsonType for Json<T> {}
impl<T> JsonType for Option<Json<T>> {}

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKey {
    /// An object key.
    Key(String),
    /// An array index (from 0).
    Index(u32),
}

/// What [`JsonPath::at`] accepts: a string (an object key) or an integer (an array index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a JSON path step",
    label = "a path step is a string (an object key) or an integer (an array index)"
)]
pub trait IntoPathKey {
    #[doc(hidden)]
    fn into_path_key(self) -> std::result::Result<PathKey, String>;
}

impl IntoPathKey for &str {
    fn into_path_key(self) -> std::result::Result<PathKey, String> {
        Ok(PathKey::Key(self.to_string()))
    }
}
impl IntoPathKey for String {
    fn into_path_key(self) -> std::result::Result<PathKey, String> {
        Ok(PathKey::Key(self))
    }
}
macro_rules! index_key {
    ($($ty:ty),*) => {$(
        impl IntoPathKey for $ty {
            fn into_path_key(self) -> std::result::Result<PathKey, String> {
                // Up to i32::MAX: PostgreSQL reads a larger bound index as a negative one.
                i32::try_from(self)
                    .ok()
                    .filter(|n| *n >= 0)
                    .map(|n| PathKey::Index(n as u32))
                    .ok_or_else(|| format!("`{self}` is not a JSON array index (0 to {})", i32::MAX))
            }
        }
    )*};
}
index_key!(i32, i64, u8, u16, u32, u64, usize);

impl<M: Model, T: JsonType> Column<M, T> {
    /// The document at `key` (an object key, or an array index): `u.settings.at("flags")`.
    pub fn at(self, key: impl IntoPathKey) -> JsonPath<M> {
        self.json().at(key)
    }

    /// The whole document, for the path helpers: `u.tags.json().contains("orm")`.
    pub fn json(self) -> JsonPath<M> {
        JsonPath { table: M::meta().table, column: self.name(), path: Vec::new(), error: None, _marker: PhantomData }
    }

    /// Documents holding `key` at their top level.
    pub fn has_key(self, key: impl Into<String>) -> Condition<M> {
        self.json().has_key(key)
    }

    /// Documents containing `fragment` (see [`JsonPath::contains`]).
    pub fn contains_json(self, fragment: impl Serialize) -> Condition<M> {
        self.json().contains(fragment)
    }
}

/// A place inside a JSON column: navigate with [`at`](Self::at), then test or extract.
///
/// Every test is two-valued on every dialect: where the path leads nowhere (a missing key,
/// a NULL column) a test is false, and its negation (`!`, `ne`) true.
pub struct JsonPath<M> {
    table: &'static str,
    column: &'static str,
    path: Vec<PathKey>,
    /// Why the path cannot be written (a negative index): its conditions fail with it.
    error: Option<String>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for JsonPath<M> {
    fn clone(&self) -> Self {
        JsonPath { table: self.table, column: self.column, path: self.path.clone(), error: self.error.clone(), _marker: PhantomData }
    }
}

impl<M> std::fmt::Debug for JsonPath<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonPath({}.{} {})", self.table, self.column, path_text(&self.path))
    }
}

/// A value a JSON path is compared with. Its type chooses the comparison: an integer or a
/// float compares with JSON numbers, a bool with JSON booleans, a string with JSON strings,
/// an object or array as a document.
pub trait JsonOperand {
    #[doc(hidden)]
    fn into_operand(self) -> Operand;
}

#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Null,
    Document(serde_json::Value),
}

macro_rules! operand {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl JsonOperand for $ty {
            fn into_operand(self) -> Operand {
                Operand::$variant(self.into())
            }
        }
    )*};
}
operand!(i64 => Int, i32 => Int, i16 => Int, u32 => Int, f64 => Float, f32 => Float, bool => Bool, String => Text, &str => Text);

impl JsonOperand for serde_json::Value {
    fn into_operand(self) -> Operand {
        match self {
            serde_json::Value::Null => Operand::Null,
            serde_json::Value::Bool(b) => Operand::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Operand::Int(i),
                None => Operand::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Operand::Text(s),
            document => Operand::Document(document),
        }
    }
}

impl<M: 'static> JsonPath<M> {
    /// One step further: an object key (a string) or an array index (an integer).
    pub fn at(mut self, key: impl IntoPathKey) -> Self {
        if self.path.len() >= MAX_PATH_STEPS {
            self.error.get_or_insert(format!("a JSON path of more than {MAX_PATH_STEPS} steps"));
            return self;
        }
        match key.into_path_key() {
            Ok(key) => self.path.push(key),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// The value here, as text (any scalar, converted by the database).
    pub fn as_text(self) -> JsonScalar<M, String> {
        JsonScalar { path: self, scalar: Scalar::Text, _marker: PhantomData }
    }

    /// The value here, when it is a JSON number (else no value: NULL).
    pub fn as_integer(self) -> JsonScalar<M, i64> {
        JsonScalar { path: self, scalar: Scalar::Integer, _marker: PhantomData }
    }

    /// The value here, when it is a JSON number, as a float.
    pub fn as_float(self) -> JsonScalar<M, f64> {
        JsonScalar { path: self, scalar: Scalar::Float, _marker: PhantomData }
    }

    /// The value here, when it is a JSON boolean: compare with `eq` / `ne`.
    pub fn as_bool(self) -> JsonScalar<M, bool> {
        JsonScalar { path: self, scalar: Scalar::Boolean, _marker: PhantomData }
    }

    /// The value here equals `value`, compared by its type (see [`JsonOperand`]); `NULL` /
    /// `Value::Null` means [`is_null`](Self::is_null).
    pub fn eq(self, value: impl JsonOperand) -> Condition<M> {
        self.compare(value.into_operand())
    }

    /// Not [`eq`](Self::eq): a missing value differs from everything but null.
    pub fn ne(self, value: impl JsonOperand) -> Condition<M> {
        !self.compare(value.into_operand())
    }

    fn compare(self, operand: Operand) -> Condition<M> {
        match operand {
            Operand::Int(i) => self.as_integer().eq(i),
            Operand::Float(f) => self.as_float().eq(f),
            Operand::Bool(b) => self.as_bool().eq(b),
            Operand::Null => self.is_null(),
            Operand::Text(text) => self.condition(move |path, dialect| {
                Ok(path.is_kind(dialect, Kind::String)?.and(path.extract(dialect, Scalar::Text)?.eq(text.clone())))
            }),
            Operand::Document(doc) => self.condition(move |path, dialect| path.equals_document(dialect, &doc)),
        }
    }

    /// The value here is JSON `true` (not the string `"true"`).
    pub fn is_true(self) -> Condition<M> {
        self.as_bool().eq(true)
    }

    /// The value here is JSON `false`.
    pub fn is_false(self) -> Condition<M> {
        self.as_bool().eq(false)
    }

    /// Nothing here: the key is missing, or holds JSON `null` (or the column is NULL).
    pub fn is_null(self) -> Condition<M> {
        self.condition(|path, dialect| path.null_here(dialect))
    }

    /// Something here other than JSON `null`.
    pub fn is_not_null(self) -> Condition<M> {
        !self.is_null()
    }

    /// The object here has `key`.
    pub fn has_key(self, key: impl Into<String>) -> Condition<M> {
        let key = key.into();
        self.condition(move |path, dialect| path.key_here(dialect, &key))
    }

    /// The document here contains `fragment`: an array holding a scalar
    /// (`tags.json().contains("orm")`) on every dialect; an object or array fragment
    /// (`{"flags": {"beta": true}}`) on PostgreSQL and MySQL/MariaDB.
    pub fn contains(self, fragment: impl Serialize) -> Condition<M> {
        match serde_json::to_value(fragment) {
            Ok(fragment) => self.condition(move |path, dialect| path.contains_here(dialect, &fragment)),
            Err(e) => {
                Condition::invalid(Invalid::new(InvalidQueryKind::Argument, format!("the fragment given to contains() is not JSON: {e}")))
            }
        }
    }

    /// A condition written per dialect by `render`, made two-valued; the path's own error
    /// (a negative index) instead when it has one.
    fn condition(self, render: impl Fn(&Self, Dialect) -> Result<Expr> + Send + Sync + 'static) -> Condition<M> {
        if let Some(error) = &self.error {
            return Condition::invalid(Invalid::new(InvalidQueryKind::Argument, error.clone()));
        }
        Condition::per_dialect(move |dialect| {
            for step in &self.path {
                if let PathKey::Key(key) = step {
                    check_key(dialect, key)?;
                }
            }
            Ok(two_valued(render(&self, dialect)?))
        })
    }
}

/// The most steps a JSON path takes: each is a level of the expression written for
/// PostgreSQL, so a path built from request input must not grow without bound.
pub const MAX_PATH_STEPS: usize = 64;

/// A scalar read from a JSON path ([`JsonPath::as_integer`] and friends), to compare.
pub struct JsonScalar<M, T> {
    path: JsonPath<M>,
    scalar: Scalar,
    _marker: PhantomData<fn() -> T>,
}

impl<M: 'static, T: FieldType + Clone> JsonScalar<M, T> {
    fn compare(self, value: T, op: fn(Expr, Expr) -> Expr) -> Condition<M> {
        let scalar = self.scalar;
        let value = match (scalar, value.into_value()) {
            // JSON booleans read as the text `true` / `false`.
            (Scalar::Boolean, Value::Bool(Some(b))) => Value::from(if b { "true" } else { "false" }),
            (_, value) => value,
        };
        self.path.condition(move |path, dialect| Ok(op(path.extract(dialect, scalar)?, Expr::val(value.clone()))))
    }

    /// `value here = value`.
    pub fn eq(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.eq(b))
    }

    /// Not `eq`: true where the value differs or is missing.
    pub fn ne(self, value: impl Into<T>) -> Condition<M> {
        !self.eq(value)
    }
}

/// The scalars that order: numbers and text (not booleans).
pub trait Ordered {}
impl Ordered for i64 {}
impl Ordered for f64 {}
impl Ordered for String {}

impl<M: 'static, T: FieldType + Clone + Ordered> JsonScalar<M, T> {
    /// `value here > value`.
    pub fn gt(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.gt(b))
    }

    /// `value here >= value`.
    pub fn ge(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.gte(b))
    }

    /// `value here < value`.
    pub fn lt(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.lt(b))
    }

    /// `value here <= value`.
    pub fn le(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.lte(b))
    }
}
