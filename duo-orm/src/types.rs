//! How Rust field types map to SQL values, column types and decoded rows.

use sea_query::Value;

use crate::driver::RowRef;
use crate::error::{Error, Result};

/// The portable column types, shared with the derive and the CLI (`duo-orm-schema`).
pub use duo_orm_schema::{ArrayOf, SqlType};

/// sea-query's tag for an array of `of`.
pub(crate) fn array_sea_type(of: ArrayOf) -> sea_query::ArrayType {
    use sea_query::ArrayType as A;
    match of {
        ArrayOf::SmallInt => A::SmallInt,
        ArrayOf::Integer => A::Int,
        ArrayOf::BigInt => A::BigInt,
        ArrayOf::Float => A::Float,
        ArrayOf::Double => A::Double,
        ArrayOf::Boolean => A::Bool,
        ArrayOf::Text => A::String,
        #[cfg(feature = "uuid")]
        ArrayOf::Uuid => A::Uuid,
        // (No `Vec<Uuid>` field without the feature.)
        #[cfg(not(feature = "uuid"))]
        ArrayOf::Uuid => A::String,
    }
}

/// A Rust type that can be a model field: what column it makes, how it is bound as a
/// parameter, and how it is read back.
///
/// Implemented for the supported column types, `Option<T>` of them, [`Json<T>`](crate::Json)
/// and PostgreSQL arrays. For your own types, `#[derive(FieldType)]` covers Rust enums (stored
/// as text, in a PostgreSQL enum type with `#[duo(postgres_enum = "name")]`, or as integers)
/// and newtypes such as `struct Email(String)`. By hand, a type
/// implements three items, none of which names a backend: the driver reads the column as
/// [`SQL_TYPE`](Self::SQL_TYPE) says and hands the value to [`from_value`](Self::from_value).
///
/// ```
/// use duo_orm::sea_query::Value;
/// use duo_orm::types::{FieldType, SqlType, ValueError};
///
/// /// Cents, stored as a 64-bit integer.
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// struct Cents(i64);
///
/// impl FieldType for Cents {
///     const SQL_TYPE: SqlType = SqlType::BigInt;
///     fn to_value(&self) -> Value {
///         Value::BigInt(Some(self.0))
///     }
///     fn from_value(value: Value) -> Result<Self, ValueError> {
///         match value {
///             Value::BigInt(Some(cents)) => Ok(Cents(cents)),
///             other => Err(ValueError::unexpected("cents (a 64-bit integer)", &other)),
///         }
///     }
/// }
///
/// assert_eq!(Cents::from_value(Cents(250).to_value()), Ok(Cents(250)));
/// // The provided methods follow from the three: JSON payloads, typed NULLs.
/// assert_eq!(Cents(250).to_json(), serde_json::json!(250));
/// assert_eq!(Cents::null_value(), Value::BigInt(None));
/// assert_eq!(Cents::from_json(serde_json::json!(250)), Ok(Value::BigInt(Some(250))));
/// assert!(Cents::from_json(serde_json::json!("250 dollars")).is_err());
/// // And `Option<Cents>` is a field type too.
/// assert_eq!(Option::<Cents>::from_value(Value::BigInt(None)), Ok(None));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model field",
    label = "not a column type duo-orm knows",
    note = "`#[derive(FieldType)]` stores enums (as text or integers) and newtypes such as `struct Email(String)`; \
            implement `duo_orm::FieldType` by hand for anything else"
)]
pub trait FieldType: Sized + Send + Sync + 'static {
    /// The column type: what DDL creates (unless the field says `#[duo(sql_type = "…")]`) and
    /// what the driver reads the column as. A [`SqlType::Custom`] type is read as text, a
    /// [`SqlType::Enum`] as its label.
    const SQL_TYPE: SqlType;
    /// This field's value as a bound parameter.
    fn to_value(&self) -> Value;
    /// The field from a value read from the database (or given as a parameter). A SQL `NULL`
    /// arrives as the `None` of its variant; only `Option<T>` accepts it.
    fn from_value(value: Value) -> std::result::Result<Self, ValueError>;

    /// Whether a SQL `NULL` is a value of this type: only `Option<T>` says so. For any other
    /// type the driver refuses a `NULL` itself, without a test per column.
    #[doc(hidden)]
    const NULLABLE: bool = false;

    /// This field's value as a bound parameter, moved (no copy of a string or a buffer).
    fn into_value(self) -> Value {
        self.to_value()
    }
    /// A typed SQL `NULL` for this type.
    fn null_value() -> Value {
        null_of(&Self::SQL_TYPE)
    }
    /// Converts a JSON payload value (from a map or a serialized payload) into a parameter:
    /// read as [`SQL_TYPE`](Self::SQL_TYPE) says, then checked by
    /// [`from_value`](Self::from_value).
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        let value = json_to_value(&Self::SQL_TYPE, json)?;
        Self::from_value(value).map(Self::into_value).map_err(|e| e.to_string())
    }
    /// This field's value as JSON (the column-map export).
    fn to_json(&self) -> serde_json::Value {
        value_to_json(self.to_value())
    }
}

/// Why a [`Value`] cannot become a field: a value of another kind, a `NULL` where the field
/// has no `None`, or a value the type does not accept (an unknown enum label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    message: String,
}

impl ValueError {
    /// An error saying why.
    pub fn new(message: impl Into<String>) -> Self {
        ValueError { message: message.into() }
    }

    /// "expected `expected`, found …", naming the kind of value found (never the value: it
    /// may be anything a row holds).
    pub fn unexpected(expected: &str, found: &Value) -> Self {
        let found = if is_null(found) { "NULL".to_string() } else { format!("{} value", value_kind(found)) };
        ValueError { message: format!("expected {expected}, found {found}") }
    }
}

impl ValueError {
    /// A value of the right kind that the type does not accept: an unknown enum label or
    /// discriminant. The value is named (up to 64 characters): it is a label, not user data.
    pub fn unknown_label(expected: &str, found: &str) -> Self {
        let shown: String = found.chars().take(64).collect();
        let more = if shown.len() < found.len() { "…" } else { "" };
        ValueError { message: format!("expected {expected}, found `{shown}{more}`") }
    }
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValueError {}

/// Whether `value` is a SQL `NULL` (the `None` of any variant).
#[inline]
pub fn is_null(value: &Value) -> bool {
    match value {
        Value::Bool(v) => v.is_none(),
        Value::SmallInt(v) => v.is_none(),
        Value::Int(v) => v.is_none(),
        Value::BigInt(v) => v.is_none(),
        Value::Float(v) => v.is_none(),
        Value::Double(v) => v.is_none(),
        Value::String(v) => v.is_none(),
        Value::Bytes(v) => v.is_none(),
        other => !other.is_some(),
    }
}

/// The kind of a value, as error messages name it.
fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "a boolean",
        Value::TinyInt(_) | Value::SmallInt(_) | Value::Int(_) | Value::BigInt(_) => "an integer",
        Value::TinyUnsigned(_) | Value::SmallUnsigned(_) | Value::Unsigned(_) | Value::BigUnsigned(_) => "an unsigned integer",
        Value::Float(_) | Value::Double(_) => "a floating-point",
        Value::String(_) | Value::Char(_) | Value::Enum(_) => "a text",
        Value::Bytes(_) => "a binary",
        #[cfg(feature = "json")]
        Value::Json(_) => "a JSON",
        #[cfg(feature = "uuid")]
        Value::Uuid(_) => "a UUID",
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => "a decimal",
        Value::Array(..) => "an array",
        #[cfg(feature = "chrono")]
        Value::ChronoDate(_) => "a date",
        #[cfg(feature = "chrono")]
        Value::ChronoTime(_) => "a time",
        #[cfg(feature = "chrono")]
        Value::ChronoDateTime(_) | Value::ChronoDateTimeUtc(_) | Value::ChronoDateTimeLocal(_) | Value::ChronoDateTimeWithTimeZone(_) => {
            "a date-time"
        }
        #[allow(unreachable_patterns)]
        _ => "another kind of",
    }
}

/// `value` as a bound parameter of a column of type `sql_type`. A PostgreSQL enum label is
/// cast to its type: sqlx binds strings as `text`, which PostgreSQL does not turn into an enum
/// by itself. sea-query writes the cast for PostgreSQL alone.
#[inline]
pub(crate) fn param(sql_type: &SqlType, value: Value) -> sea_query::Expr {
    as_column_type(sql_type, sea_query::Expr::val(value), false)
}

/// `expr` cast to the PostgreSQL enum type of a column of type `sql_type` (to an array of
/// that type when `array`); any other type leaves it as it is.
#[inline]
pub(crate) fn as_column_type(sql_type: &SqlType, expr: sea_query::Expr, array: bool) -> sea_query::Expr {
    match sql_type {
        SqlType::Enum(enum_type) => {
            let name = enum_type_name(enum_type.name);
            let name = if array { std::borrow::Cow::Owned(format!("{name}[]")) } else { name };
            sea_query::ExprTrait::as_enum(expr, sea_query::Alias::new(name))
        }
        _ => expr,
    }
}

/// An enum type's name as sea-query's cast needs it: sea-query writes the name between quotes
/// without escaping it, so a quote is doubled here. (The derive admits plain identifiers only;
/// a hand-written `FieldType` may say anything.)
fn enum_type_name(name: &'static str) -> std::borrow::Cow<'static, str> {
    if name.contains('"') { std::borrow::Cow::Owned(name.replace('"', "\"\"")) } else { std::borrow::Cow::Borrowed(name) }
}

/// The typed `NULL` of a column type (a custom type and an enum label are text).
pub(crate) fn null_of<S, L>(sql_type: &SqlType<S, L>) -> Value {
    match sql_type {
        SqlType::SmallInt => Value::SmallInt(None),
        SqlType::Integer => Value::Int(None),
        SqlType::BigInt => Value::BigInt(None),
        SqlType::Float => Value::Float(None),
        SqlType::Double => Value::Double(None),
        SqlType::Boolean => Value::Bool(None),
        SqlType::Text | SqlType::Custom(_) | SqlType::Enum(_) => Value::String(None),
        SqlType::Blob => Value::Bytes(None),
        #[cfg(feature = "chrono")]
        SqlType::TimestampTz => Value::ChronoDateTimeUtc(None),
        #[cfg(feature = "chrono")]
        SqlType::Timestamp => Value::ChronoDateTime(None),
        #[cfg(feature = "chrono")]
        SqlType::Date => Value::ChronoDate(None),
        #[cfg(feature = "chrono")]
        SqlType::Time => Value::ChronoTime(None),
        #[cfg(feature = "uuid")]
        SqlType::Uuid => Value::Uuid(None),
        #[cfg(feature = "decimal")]
        SqlType::Decimal => Value::Decimal(None),
        #[cfg(feature = "json")]
        SqlType::Json => Value::Json(None),
        SqlType::Array(of) => Value::Array(array_sea_type(*of), None),
        // (A type of a feature not enabled: no field has it.)
        #[allow(unreachable_patterns)]
        _ => Value::String(None),
    }
}

/// A JSON payload value read as a column of `sql_type` (a custom type is text), with the
/// messages of the built-in types.
fn json_to_value<S, L>(sql_type: &SqlType<S, L>, json: serde_json::Value) -> std::result::Result<Value, String> {
    match sql_type {
        SqlType::SmallInt => i16::from_json(json),
        SqlType::Integer => i32::from_json(json),
        SqlType::BigInt => i64::from_json(json),
        SqlType::Float => f32::from_json(json),
        SqlType::Double => f64::from_json(json),
        SqlType::Boolean => bool::from_json(json),
        SqlType::Text | SqlType::Custom(_) | SqlType::Enum(_) => String::from_json(json),
        SqlType::Blob => Vec::<u8>::from_json(json),
        #[cfg(feature = "chrono")]
        SqlType::TimestampTz => chrono::DateTime::<chrono::Utc>::from_json(json),
        #[cfg(feature = "chrono")]
        SqlType::Timestamp => chrono::NaiveDateTime::from_json(json),
        #[cfg(feature = "chrono")]
        SqlType::Date => chrono::NaiveDate::from_json(json),
        #[cfg(feature = "chrono")]
        SqlType::Time => chrono::NaiveTime::from_json(json),
        #[cfg(feature = "uuid")]
        SqlType::Uuid => uuid::Uuid::from_json(json),
        #[cfg(feature = "decimal")]
        SqlType::Decimal => rust_decimal::Decimal::from_json(json),
        #[cfg(feature = "json")]
        SqlType::Json => serde_json::Value::from_json(json),
        SqlType::Array(of) => crate::array::array_from_json(*of, json),
        #[allow(unreachable_patterns)]
        _ => Err("this column type needs a duo-orm feature that is not enabled".into()),
    }
}

/// A value as JSON: numbers, strings, booleans, arrays; dates and times as serde writes them;
/// decimals as strings (exact); `NULL` as `null`.
pub(crate) fn value_to_json(value: Value) -> serde_json::Value {
    use serde_json::Value as J;
    fn json<T: serde::Serialize>(v: Option<T>) -> J {
        v.and_then(|v| serde_json::to_value(v).ok()).unwrap_or(J::Null)
    }
    match value {
        Value::Bool(v) => json(v),
        Value::TinyInt(v) => json(v),
        Value::SmallInt(v) => json(v),
        Value::Int(v) => json(v),
        Value::BigInt(v) => json(v),
        Value::TinyUnsigned(v) => json(v),
        Value::SmallUnsigned(v) => json(v),
        Value::Unsigned(v) => json(v),
        Value::BigUnsigned(v) => json(v),
        Value::Float(v) => json(v),
        Value::Double(v) => json(v),
        Value::String(v) => json(v),
        Value::Char(v) => json(v),
        Value::Enum(sea_query::OptionEnum::Some(v)) => J::String(v.value.into_owned()),
        Value::Enum(sea_query::OptionEnum::None(_)) => J::Null,
        Value::Bytes(v) => json(v),
        #[cfg(feature = "json")]
        Value::Json(v) => v.map_or(J::Null, |v| *v),
        #[cfg(feature = "chrono")]
        Value::ChronoDate(v) => json(v),
        #[cfg(feature = "chrono")]
        Value::ChronoTime(v) => json(v),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTime(v) => json(v),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeUtc(v) => json(v),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeLocal(v) => json(v),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeWithTimeZone(v) => json(v),
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => json(v),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => v.map_or(J::Null, |d| J::String(d.to_string())),
        Value::Array(_, v) => v.map_or(J::Null, |items| J::Array(items.into_iter().map(value_to_json).collect())),
        #[allow(unreachable_patterns)]
        _ => J::Null,
    }
}

fn json_error<E: std::fmt::Display>(expected: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("expected {expected}: {e}")
}

/// Implements [`FieldType`] for a type that is one [`Value`] variant.
macro_rules! native_field {
    ($ty:ty, $sql:ident, $variant:ident, $expected:literal) => {
        impl FieldType for $ty {
            const SQL_TYPE: SqlType = SqlType::$sql;
            fn to_value(&self) -> Value {
                Value::$variant(Some(self.clone().into()))
            }
            #[inline(always)]
            fn from_value(value: Value) -> std::result::Result<Self, ValueError> {
                match value {
                    Value::$variant(Some(v)) => Ok(v.into()),
                    other => Err(ValueError::unexpected($expected, &other)),
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(Some(self.into()))
            }
            fn null_value() -> Value {
                Value::$variant(None)
            }
            fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
                serde_json::from_value::<$ty>(json).map(|v| Value::$variant(Some(v.into()))).map_err(json_error($expected))
            }
            fn to_json(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
            }
        }
    };
}

native_field!(i16, SmallInt, SmallInt, "a 16-bit integer");
native_field!(i32, Integer, Int, "a 32-bit integer");
native_field!(i64, BigInt, BigInt, "a 64-bit integer");
native_field!(f32, Float, Float, "a number");
native_field!(f64, Double, Double, "a number");
native_field!(bool, Boolean, Bool, "true or false");
native_field!(String, Text, String, "a string");
native_field!(Vec<u8>, Blob, Bytes, "an array of bytes");
#[cfg(feature = "chrono")]
native_field!(chrono::DateTime<chrono::Utc>, TimestampTz, ChronoDateTimeUtc, "an RFC 3339 date-time");
#[cfg(feature = "chrono")]
native_field!(chrono::NaiveDateTime, Timestamp, ChronoDateTime, "a date-time (YYYY-MM-DDTHH:MM:SS)");
#[cfg(feature = "chrono")]
native_field!(chrono::NaiveDate, Date, ChronoDate, "a date (YYYY-MM-DD)");
#[cfg(feature = "chrono")]
native_field!(chrono::NaiveTime, Time, ChronoTime, "a time (HH:MM:SS)");
#[cfg(feature = "uuid")]
native_field!(uuid::Uuid, Uuid, Uuid, "a UUID string");

#[cfg(feature = "decimal")]
impl FieldType for rust_decimal::Decimal {
    const SQL_TYPE: SqlType = SqlType::Decimal;
    fn to_value(&self) -> Value {
        Value::Decimal(Some(*self))
    }
    fn from_value(value: Value) -> std::result::Result<Self, ValueError> {
        match value {
            Value::Decimal(Some(d)) => Ok(d),
            other => Err(ValueError::unexpected("a decimal number", &other)),
        }
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        let parsed = match &json {
            // A JSON number with a fraction has been through a binary float by now, which may
            // already have changed its digits (1234567.891234567891 arrives as 1234567.8912345679):
            // only integers, which arrive exact, are taken as numbers.
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
                n.to_string().parse::<rust_decimal::Decimal>().map_err(|e| e.to_string())
            }
            serde_json::Value::Number(_) => Err("a number with a fraction must be sent as a string (\"19.99\") to keep every digit".into()),
            serde_json::Value::String(s) => s.parse::<rust_decimal::Decimal>().map_err(|e| e.to_string()),
            other => Err(format!("got {other}")),
        };
        parsed.map(|d| Value::Decimal(Some(d))).map_err(|e| format!("expected a decimal number: {e}"))
    }
}

#[cfg(feature = "json")]
impl FieldType for serde_json::Value {
    const SQL_TYPE: SqlType = SqlType::Json;
    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(self.clone())))
    }
    fn into_value(self) -> Value {
        Value::Json(Some(Box::new(self)))
    }
    fn from_value(value: Value) -> std::result::Result<Self, ValueError> {
        match value {
            Value::Json(Some(json)) => Ok(*json),
            other => Err(ValueError::unexpected("a JSON document", &other)),
        }
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        Ok(Value::Json(Some(Box::new(json))))
    }
    fn to_json(&self) -> serde_json::Value {
        self.clone()
    }
}

impl<T: FieldType> FieldType for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => T::null_value(),
        }
    }
    #[inline(always)]
    fn from_value(value: Value) -> std::result::Result<Self, ValueError> {
        match value {
            // The NULLs the driver reads most, matched by value: nothing left to drop.
            Value::Bool(None)
            | Value::SmallInt(None)
            | Value::Int(None)
            | Value::BigInt(None)
            | Value::Float(None)
            | Value::Double(None)
            | Value::String(None)
            | Value::Bytes(None) => Ok(None),
            other if is_null(&other) => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
    fn into_value(self) -> Value {
        match self {
            Some(v) => v.into_value(),
            None => T::null_value(),
        }
    }
    fn null_value() -> Value {
        T::null_value()
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        if json.is_null() { Ok(T::null_value()) } else { T::from_json(json) }
    }
    fn to_json(&self) -> serde_json::Value {
        self.as_ref().map_or(serde_json::Value::Null, T::to_json)
    }
}

/// A value that can stand for a column of type `T` in a comparison: `T` itself, and the
/// borrowed forms that read naturally (`&str` for `String` columns, a plain `T` for an
/// `Option<T>` column).
///
/// A value of another type does not compile:
///
/// ```compile_fail
/// # use duo_orm::types::IntoColumnValue;
/// fn takes_i32<V: IntoColumnValue<i32>>(_: V) {}
/// takes_i32("not a number");
/// ```
pub trait IntoColumnValue<T> {
    /// The bound parameter.
    fn into_column_value(self) -> Value;
}

impl<T: FieldType> IntoColumnValue<T> for T {
    fn into_column_value(self) -> Value {
        self.to_value()
    }
}

impl<T: FieldType> IntoColumnValue<Option<T>> for T {
    fn into_column_value(self) -> Value {
        self.to_value()
    }
}

impl IntoColumnValue<String> for &str {
    fn into_column_value(self) -> Value {
        Value::String(Some(self.to_string()))
    }
}

impl IntoColumnValue<String> for &String {
    fn into_column_value(self) -> Value {
        Value::String(Some(self.clone()))
    }
}

impl IntoColumnValue<Option<String>> for &str {
    fn into_column_value(self) -> Value {
        Value::String(Some(self.to_string()))
    }
}

impl IntoColumnValue<Option<String>> for &String {
    fn into_column_value(self) -> Value {
        Value::String(Some(self.clone()))
    }
}

/// Marks the column types that the text-only operators (`contains`, `startswith`, …) accept.
pub trait TextType {}
impl TextType for String {}
impl TextType for Option<String> {}

/// A primary-key value: one field's value, or a tuple of them for a composite key.
pub trait KeyValues {
    /// The key's parts, in primary-key column order.
    fn key_values(&self) -> Vec<Value>;
}

impl<T: FieldType> KeyValues for T {
    fn key_values(&self) -> Vec<Value> {
        vec![self.to_value()]
    }
}

macro_rules! tuple_key {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: FieldType),+> KeyValues for ($($name,)+) {
            fn key_values(&self) -> Vec<Value> {
                vec![$(self.$idx.to_value()),+]
            }
        }
    };
}
tuple_key!(A 0, B 1);
tuple_key!(A 0, B 1, C 2);
tuple_key!(A 0, B 1, C 2, D 3);

/// Why a row could not be decoded: an [`Error`] (nearly always [`Error::Decode`]), boxed.
///
/// [`RowCursor::next_column`] and [`Model::decode`](crate::Model::decode) return a `Result` per
/// column and per row, and an [`Error`] is 80 bytes; boxed, each of those results is only as
/// large as its value, which keeps the per-row path of every query to the writes a
/// hand-written loop makes. `?` turns it into an [`Error`] (and an [`Error`] into it); queries
/// only ever return [`Error`].
pub struct RowError(Box<Error>);

/// The `Result` of decoding a column or a row.
pub type RowResult<T> = std::result::Result<T, RowError>;

impl RowError {
    /// The same error, saying which field of a row struct it was decoding.
    #[cold]
    fn in_field(mut self, field: &str) -> Self {
        if let Error::Decode { column, .. } = &mut *self.0 {
            *column = format!("{field} ({column})");
        }
        self
    }

    /// The error itself.
    pub fn into_error(self) -> Error {
        *self.0
    }
}

impl From<RowError> for Error {
    fn from(error: RowError) -> Self {
        error.into_error()
    }
}

impl From<Error> for RowError {
    #[cold]
    fn from(error: Error) -> Self {
        RowError(Box::new(error))
    }
}

impl std::fmt::Debug for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Reads one row by position, field after field, into a model.
///
/// Generated `decode` functions call [`RowCursor::next_column`] once per column, in declaration
/// order: no name lookups, no intermediate map.
pub struct RowCursor<'r> {
    row: RowRef<'r>,
    index: usize,
    model: &'static str,
}

impl<'r> RowCursor<'r> {
    pub(crate) fn new(row: RowRef<'r>, model: &'static str) -> Self {
        RowCursor { row, index: 0, model }
    }

    /// Decodes the next column as `T`: the driver reads it as `T::SQL_TYPE`, and
    /// [`FieldType::from_value`] makes the field.
    // Forced in optimised builds only (see `driver::RowRef::value`).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn next_column<T: FieldType>(&mut self) -> RowResult<T> {
        let index = self.index;
        self.index += 1;
        match self.row.value(index, &T::SQL_TYPE, T::NULLABLE) {
            Ok(value) => match T::from_value(value) {
                Ok(field) => Ok(field),
                Err(error) => Err(self.decode_error(index, &error)),
            },
            Err(error) => Err(self.decode_error(index, &error)),
        }
    }

    // Out of line: the per-column path stays a match and a call.
    #[cold]
    #[inline(never)]
    fn decode_error(&self, index: usize, error: &dyn std::fmt::Display) -> RowError {
        Error::Decode { model: self.model, column: format!("#{index}"), detail: error.to_string() }.into()
    }

    /// Decodes the next columns as the field `field` of a row struct (`#[derive(FromRow)]`): a
    /// decode error names the field.
    #[inline]
    pub fn next_field<T: crate::row::FromRow>(&mut self, field: &'static str) -> RowResult<T> {
        T::from_row(self).map_err(|error| error.in_field(field))
    }

    /// Whether the column `ahead` positions after the next one is NULL (a `LEFT JOIN` that
    /// found nothing), without consuming anything.
    pub(crate) fn is_null_ahead(&self, ahead: usize) -> Result<bool> {
        let index = self.index + ahead;
        self.row.is_null(index).map_err(|e| Error::Decode { model: self.model, column: format!("#{index}"), detail: e.to_string() })
    }

    /// The value of the column `ahead` positions after the next one, read as `column` is,
    /// without consuming anything (an owner's key, to tell whether it came before).
    pub(crate) fn value_ahead(&self, ahead: usize, column: &crate::model::ColumnMeta) -> Result<Value> {
        let index = self.index + ahead;
        self.row.value(index, &column.sql_type, column.nullable).map_err(|e| Error::Decode {
            model: self.model,
            column: format!("#{index}"),
            detail: e.to_string(),
        })
    }

    /// Skips `columns` columns.
    pub(crate) fn skip(&mut self, columns: usize) {
        self.index += columns;
    }

    /// Refuses a row with columns left after `reader` read what it reads: their values would
    /// be dropped unseen (a query picking more than its row type holds).
    pub(crate) fn check_all_read(&self, reader: &str) -> RowResult<()> {
        let width = self.row.width();
        if self.index >= width {
            return Ok(());
        }
        Err(Error::Decode {
            model: self.model,
            column: format!("#{}", self.index),
            detail: format!(
                "the row has {width} columns and {reader} reads {}: the others would be dropped; help: select only the \
                 columns it reads, or add fields for the others",
                self.index
            ),
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[cfg(feature = "decimal")]
    #[test]
    fn decimals_from_json_keep_every_digit_or_refuse() {
        use rust_decimal::Decimal;
        let exact: Decimal = "1234567.891234567891".parse().unwrap();
        assert_eq!(Decimal::from_json(json!("1234567.891234567891")), Ok(Value::Decimal(Some(exact))));
        assert_eq!(Decimal::from_json(json!(42)), Ok(Value::Decimal(Some(Decimal::from(42)))));
        // Already a binary float (this one as the JSON parser left 1234567.891234567891): its
        // digits may have changed, so it is refused.
        let parsed: serde_json::Value = serde_json::from_str("1234567.891234567891").unwrap();
        assert!(Decimal::from_json(parsed).unwrap_err().contains("as a string"));
    }

    #[test]
    fn nulls_of_every_kind_are_null_and_values_are_not() {
        for null in [Value::Int(None), Value::String(None), Value::Bytes(None), Value::Array(sea_query::ArrayType::Int, None)] {
            assert!(is_null(&null), "{null:?}");
            assert_eq!(value_to_json(null), serde_json::Value::Null);
        }
        assert!(!is_null(&Value::String(Some(String::new()))));
        assert!(!is_null(&Value::Array(sea_query::ArrayType::Int, Some(Box::default()))));
        assert_eq!(Option::<i32>::from_value(Value::Int(None)), Ok(None));
        assert_eq!(i32::from_value(Value::Int(None)), Err(ValueError::new("expected a 32-bit integer, found NULL")));
        assert_eq!(
            i32::from_value(Value::String(Some("secret".into()))),
            Err(ValueError::new("expected a 32-bit integer, found a text value"))
        );
    }

    #[test]
    fn a_long_unknown_label_is_cut() {
        let message = ValueError::unknown_label("a Plan label", &"x".repeat(100)).to_string();
        assert!(message.ends_with(&format!("`{}…`", "x".repeat(64))), "{message}");
    }
}
