//! How Rust field types map to SQL values, column types and decoded rows.

use sea_query::Value;

use crate::error::{Error, Result};

/// A portable column type, rendered per dialect by the DDL builders.
///
/// `S` holds a custom type's SQL: `&'static str` in a model's static metadata, `String` in a
/// schema built at run time ([`ColumnType`](crate::schema::ColumnType), what migrations use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType<S = &'static str> {
    /// `i16`.
    SmallInt,
    /// `i32`.
    Integer,
    /// `i64`.
    BigInt,
    /// `f32`.
    Float,
    /// `f64`.
    Double,
    /// `bool`.
    Boolean,
    /// `String` (bounded by `max_length` when given).
    Text,
    /// `Vec<u8>`.
    Blob,
    /// `chrono::DateTime<Utc>`: an instant, stored with time zone where the dialect has one.
    TimestampTz,
    /// `chrono::NaiveDateTime`.
    Timestamp,
    /// `chrono::NaiveDate`.
    Date,
    /// `chrono::NaiveTime`.
    Time,
    /// `uuid::Uuid`.
    Uuid,
    /// `rust_decimal::Decimal`.
    Decimal,
    /// `serde_json::Value`.
    Json,
    /// `#[duo(sql_type = "...")]`: written into DDL as given.
    Custom(S),
    /// `Vec<T>` of a scalar `T`: a PostgreSQL array. Other dialects refuse it when writing
    /// DDL; store `Json<Vec<T>>` there.
    Array(ArrayOf),
}

/// The element type of an array column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArrayOf {
    /// `Vec<i16>`.
    SmallInt,
    /// `Vec<i32>`.
    Integer,
    /// `Vec<i64>`.
    BigInt,
    /// `Vec<f32>`.
    Float,
    /// `Vec<f64>`.
    Double,
    /// `Vec<bool>`.
    Boolean,
    /// `Vec<String>`.
    Text,
    /// `Vec<uuid::Uuid>`.
    Uuid,
}

impl ArrayOf {
    /// The column type of one element.
    pub fn element<S>(self) -> SqlType<S> {
        match self {
            ArrayOf::SmallInt => SqlType::SmallInt,
            ArrayOf::Integer => SqlType::Integer,
            ArrayOf::BigInt => SqlType::BigInt,
            ArrayOf::Float => SqlType::Float,
            ArrayOf::Double => SqlType::Double,
            ArrayOf::Boolean => SqlType::Boolean,
            ArrayOf::Text => SqlType::Text,
            ArrayOf::Uuid => SqlType::Uuid,
        }
    }

    /// The array of elements of type `element`, if arrays hold that type.
    pub fn of<S>(element: &SqlType<S>) -> Option<ArrayOf> {
        Some(match element {
            SqlType::SmallInt => ArrayOf::SmallInt,
            SqlType::Integer => ArrayOf::Integer,
            SqlType::BigInt => ArrayOf::BigInt,
            SqlType::Float => ArrayOf::Float,
            SqlType::Double => ArrayOf::Double,
            SqlType::Boolean => ArrayOf::Boolean,
            SqlType::Text => ArrayOf::Text,
            SqlType::Uuid => ArrayOf::Uuid,
            _ => return None,
        })
    }
}

impl<S> SqlType<S> {
    /// The same type with the custom SQL converted by `f`.
    pub fn map_custom<T>(self, f: impl FnOnce(S) -> T) -> SqlType<T> {
        match self {
            SqlType::SmallInt => SqlType::SmallInt,
            SqlType::Integer => SqlType::Integer,
            SqlType::BigInt => SqlType::BigInt,
            SqlType::Float => SqlType::Float,
            SqlType::Double => SqlType::Double,
            SqlType::Boolean => SqlType::Boolean,
            SqlType::Text => SqlType::Text,
            SqlType::Blob => SqlType::Blob,
            SqlType::TimestampTz => SqlType::TimestampTz,
            SqlType::Timestamp => SqlType::Timestamp,
            SqlType::Date => SqlType::Date,
            SqlType::Time => SqlType::Time,
            SqlType::Uuid => SqlType::Uuid,
            SqlType::Decimal => SqlType::Decimal,
            SqlType::Json => SqlType::Json,
            SqlType::Custom(sql) => SqlType::Custom(f(sql)),
            SqlType::Array(of) => SqlType::Array(of),
        }
    }
}

/// A Rust type that can be a model field: bound as a parameter, decoded by position, and
/// converted from a JSON payload value.
///
/// Implemented for the supported column types and for `Option<T>` of them. Implement it for
/// your own type (with `#[duo(sql_type = "...")]` on the field) to store anything else.
pub trait FieldType: Sized + Send + Sync + 'static {
    /// This field's value as a bound parameter.
    fn to_value(&self) -> Value;
    /// This field's value as a bound parameter, moved (no copy of a string or a buffer).
    fn into_value(self) -> Value {
        self.to_value()
    }
    /// A typed SQL `NULL` for this type.
    fn null_value() -> Value;
    /// Converts a JSON payload value (from a map or a serialized schema) into a parameter.
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String>;
    /// This field's value as JSON (the column-map export).
    fn to_json(&self) -> serde_json::Value;
    /// Reads column `index` of a SQLite row.
    #[cfg(feature = "sqlite")]
    fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<Self, sqlx::Error>;
    /// Reads column `index` of a PostgreSQL row.
    #[cfg(feature = "postgres")]
    fn decode_postgres(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error>;
    /// Reads column `index` of a MySQL row.
    #[cfg(feature = "mysql")]
    fn decode_mysql(row: &sqlx::mysql::MySqlRow, index: usize) -> Result<Self, sqlx::Error>;
    /// Reads nullable column `index` of a SQLite row (types sqlx decodes natively do it in one
    /// column lookup; others test for NULL first).
    #[cfg(feature = "sqlite")]
    fn decode_sqlite_nullable(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<Option<Self>, sqlx::Error> {
        let raw = sqlx::Row::try_get_raw(row, index)?;
        if sqlx::ValueRef::is_null(&raw) { Ok(None) } else { Self::decode_sqlite(row, index).map(Some) }
    }
    /// Reads nullable column `index` of a PostgreSQL row.
    #[cfg(feature = "postgres")]
    fn decode_postgres_nullable(row: &sqlx::postgres::PgRow, index: usize) -> Result<Option<Self>, sqlx::Error> {
        let raw = sqlx::Row::try_get_raw(row, index)?;
        if sqlx::ValueRef::is_null(&raw) { Ok(None) } else { Self::decode_postgres(row, index).map(Some) }
    }
    /// Reads nullable column `index` of a MySQL row.
    #[cfg(feature = "mysql")]
    fn decode_mysql_nullable(row: &sqlx::mysql::MySqlRow, index: usize) -> Result<Option<Self>, sqlx::Error> {
        let raw = sqlx::Row::try_get_raw(row, index)?;
        if sqlx::ValueRef::is_null(&raw) { Ok(None) } else { Self::decode_mysql(row, index).map(Some) }
    }
}

fn json_error<E: std::fmt::Display>(expected: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("expected {expected}: {e}")
}

/// Implements [`FieldType`] for a type sqlx decodes natively on every enabled backend.
macro_rules! native_field {
    ($ty:ty, $variant:ident, $expected:literal) => {
        impl FieldType for $ty {
            fn to_value(&self) -> Value {
                Value::$variant(Some(self.clone().into()))
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
            #[cfg(feature = "sqlite")]
            fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }
            #[cfg(feature = "postgres")]
            fn decode_postgres(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }
            #[cfg(feature = "mysql")]
            fn decode_mysql(row: &sqlx::mysql::MySqlRow, index: usize) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }
            #[cfg(feature = "sqlite")]
            fn decode_sqlite_nullable(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<Option<Self>, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }
            #[cfg(feature = "postgres")]
            fn decode_postgres_nullable(row: &sqlx::postgres::PgRow, index: usize) -> Result<Option<Self>, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }
            #[cfg(feature = "mysql")]
            fn decode_mysql_nullable(row: &sqlx::mysql::MySqlRow, index: usize) -> Result<Option<Self>, sqlx::Error> {
                sqlx::Row::try_get(row, index)
            }
        }
    };
}

native_field!(i16, SmallInt, "a 16-bit integer");
native_field!(i32, Int, "a 32-bit integer");
native_field!(i64, BigInt, "a 64-bit integer");
native_field!(f32, Float, "a number");
native_field!(f64, Double, "a number");
native_field!(bool, Bool, "true or false");
native_field!(String, String, "a string");
native_field!(Vec<u8>, Bytes, "an array of bytes");
#[cfg(feature = "chrono")]
native_field!(chrono::DateTime<chrono::Utc>, ChronoDateTimeUtc, "an RFC 3339 date-time");
#[cfg(feature = "chrono")]
native_field!(chrono::NaiveDateTime, ChronoDateTime, "a date-time (YYYY-MM-DDTHH:MM:SS)");
#[cfg(feature = "chrono")]
native_field!(chrono::NaiveDate, ChronoDate, "a date (YYYY-MM-DD)");
#[cfg(feature = "chrono")]
native_field!(chrono::NaiveTime, ChronoTime, "a time (HH:MM:SS)");
#[cfg(feature = "uuid")]
native_field!(uuid::Uuid, Uuid, "a UUID string");

// sqlx has no SQLite codec for decimals: they are stored as text there (exact, but compared
// as text), and read back by parsing.
#[cfg(feature = "decimal")]
impl FieldType for rust_decimal::Decimal {
    fn to_value(&self) -> Value {
        Value::Decimal(Some(*self))
    }
    fn null_value() -> Value {
        Value::Decimal(None)
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        let parsed = match &json {
            serde_json::Value::Number(n) => n.to_string().parse::<rust_decimal::Decimal>().map_err(|e| e.to_string()),
            serde_json::Value::String(s) => s.parse::<rust_decimal::Decimal>().map_err(|e| e.to_string()),
            other => Err(format!("got {other}")),
        };
        parsed.map(|d| Value::Decimal(Some(d))).map_err(|e| format!("expected a decimal number: {e}"))
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.to_string())
    }
    #[cfg(feature = "sqlite")]
    fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<Self, sqlx::Error> {
        let text: String = sqlx::Row::try_get(row, index)?;
        text.parse().map_err(|e| sqlx::Error::ColumnDecode { index: index.to_string(), source: Box::new(e) })
    }
    #[cfg(feature = "postgres")]
    fn decode_postgres(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, index)
    }
    #[cfg(feature = "mysql")]
    fn decode_mysql(row: &sqlx::mysql::MySqlRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, index)
    }
}

#[cfg(feature = "json")]
impl FieldType for serde_json::Value {
    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(self.clone())))
    }
    fn null_value() -> Value {
        Value::Json(None)
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        Ok(Value::Json(Some(Box::new(json))))
    }
    fn to_json(&self) -> serde_json::Value {
        self.clone()
    }
    #[cfg(feature = "sqlite")]
    fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, index)
    }
    #[cfg(feature = "postgres")]
    fn decode_postgres(row: &sqlx::postgres::PgRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, index)
    }
    #[cfg(feature = "mysql")]
    fn decode_mysql(row: &sqlx::mysql::MySqlRow, index: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, index)
    }
}

/// Decodes `Option<T>` generically: a SQL `NULL` is `None`, anything else is `T`.
macro_rules! decode_option {
    ($name:ident, $nullable:ident, $row:ty) => {
        fn $name(row: &$row, index: usize) -> Result<Self, sqlx::Error> {
            T::$nullable(row, index)
        }
    };
}

impl<T: FieldType> FieldType for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => T::null_value(),
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
    #[cfg(feature = "sqlite")]
    decode_option!(decode_sqlite, decode_sqlite_nullable, sqlx::sqlite::SqliteRow);
    #[cfg(feature = "postgres")]
    decode_option!(decode_postgres, decode_postgres_nullable, sqlx::postgres::PgRow);
    #[cfg(feature = "mysql")]
    decode_option!(decode_mysql, decode_mysql_nullable, sqlx::mysql::MySqlRow);
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

pub(crate) enum RowRef<'r> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'r sqlx::sqlite::SqliteRow),
    #[cfg(feature = "postgres")]
    Postgres(&'r sqlx::postgres::PgRow),
    #[cfg(feature = "mysql")]
    MySql(&'r sqlx::mysql::MySqlRow),
    #[allow(dead_code)]
    Never(std::convert::Infallible, std::marker::PhantomData<&'r ()>),
}

impl<'r> RowCursor<'r> {
    pub(crate) fn new(row: RowRef<'r>, model: &'static str) -> Self {
        RowCursor { row, index: 0, model }
    }

    /// Decodes the next column as `T`.
    #[inline]
    pub fn next_column<T: FieldType>(&mut self) -> RowResult<T> {
        let index = self.index;
        self.index += 1;
        let decoded = match &self.row {
            #[cfg(feature = "sqlite")]
            RowRef::Sqlite(row) => T::decode_sqlite(row, index),
            #[cfg(feature = "postgres")]
            RowRef::Postgres(row) => T::decode_postgres(row, index),
            #[cfg(feature = "mysql")]
            RowRef::MySql(row) => T::decode_mysql(row, index),
            RowRef::Never(never, _) => match *never {},
        };
        match decoded {
            Ok(value) => Ok(value),
            Err(error) => Err(self.decode_error(index, error)),
        }
    }

    // Out of line: the per-column path stays a match and a call.
    #[cold]
    #[inline(never)]
    fn decode_error(&self, index: usize, error: sqlx::Error) -> RowError {
        Error::Decode { model: self.model, column: format!("#{index}"), detail: error.to_string() }.into()
    }

    /// Whether the column `ahead` positions after the next one is NULL (a `LEFT JOIN` that
    /// found nothing), without consuming anything.
    pub(crate) fn is_null_ahead(&self, ahead: usize) -> Result<bool> {
        let index = self.index + ahead;
        let raw_is_null = match &self.row {
            #[cfg(feature = "sqlite")]
            RowRef::Sqlite(row) => sqlx::Row::try_get_raw(*row, index).map(|raw| sqlx::ValueRef::is_null(&raw)),
            #[cfg(feature = "postgres")]
            RowRef::Postgres(row) => sqlx::Row::try_get_raw(*row, index).map(|raw| sqlx::ValueRef::is_null(&raw)),
            #[cfg(feature = "mysql")]
            RowRef::MySql(row) => sqlx::Row::try_get_raw(*row, index).map(|raw| sqlx::ValueRef::is_null(&raw)),
            RowRef::Never(never, _) => match *never {},
        };
        raw_is_null.map_err(|e| Error::Decode { model: self.model, column: format!("#{index}"), detail: e.to_string() })
    }

    /// Skips `columns` columns.
    pub(crate) fn skip(&mut self, columns: usize) {
        self.index += columns;
    }
}
