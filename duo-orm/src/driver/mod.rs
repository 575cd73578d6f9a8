//! The drivers: what differs between talking to SQLite, PostgreSQL and MySQL through sqlx, one
//! module per driver. Today: reading a row's columns by position as portable [`Value`]s, so
//! that [`FieldType`](crate::types::FieldType) names no driver.

use sea_query::Value;

use crate::types::SqlType;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// A row of one of the drivers compiled in.
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

impl RowRef<'_> {
    /// Column `index`, read as a column of `sql_type`. When `nullable`, a `NULL` is the
    /// variant's `None`; otherwise it is an error, and reading skips the test for it.
    // Forced in optimised builds: the arguments are constants at each call site, so one arm of
    // the match is left. Unoptimised, nothing is folded, and forcing it would copy the whole
    // match into every column of every model (compile time).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn value<S>(&self, index: usize, sql_type: &SqlType<S>, nullable: bool) -> Result<Value, sqlx::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            RowRef::Sqlite(row) => sqlite::value(row, index, sql_type, nullable),
            #[cfg(feature = "postgres")]
            RowRef::Postgres(row) => postgres::value(row, index, sql_type, nullable),
            #[cfg(feature = "mysql")]
            RowRef::MySql(row) => mysql::value(row, index, sql_type, nullable),
            RowRef::Never(never, _) => match *never {},
        }
    }

    /// Whether column `index` is `NULL`.
    pub(crate) fn is_null(&self, index: usize) -> Result<bool, sqlx::Error> {
        fn raw_is_null<R: sqlx::Row>(row: &R, index: usize) -> Result<bool, sqlx::Error>
        where
            usize: sqlx::ColumnIndex<R>,
        {
            sqlx::Row::try_get_raw(row, index).map(|raw| sqlx::ValueRef::is_null(&raw))
        }
        match self {
            #[cfg(feature = "sqlite")]
            RowRef::Sqlite(row) => raw_is_null(*row, index),
            #[cfg(feature = "postgres")]
            RowRef::Postgres(row) => raw_is_null(*row, index),
            #[cfg(feature = "mysql")]
            RowRef::MySql(row) => raw_is_null(*row, index),
            RowRef::Never(never, _) => match *never {},
        }
    }
}

/// Reads column `$index` of `$row` as `$sql_type` with sqlx's own codecs, for the types every
/// sqlx driver reads alike; `$decimal` and `$array` are the driver's readers of
/// the two that differ.
macro_rules! read_column {
    ($row:expr, $index:expr, $sql_type:expr, $nullable:expr, decimal: $decimal:expr, array: $array:expr) => {{
        use $crate::driver::get;
        let (row, index, nullable) = ($row, $index, $nullable);
        Ok(match $sql_type {
            SqlType::SmallInt => Value::SmallInt(get(row, index, nullable)?),
            SqlType::Integer => Value::Int(get(row, index, nullable)?),
            SqlType::BigInt => Value::BigInt(get(row, index, nullable)?),
            SqlType::Float => Value::Float(get(row, index, nullable)?),
            SqlType::Double => Value::Double(get(row, index, nullable)?),
            SqlType::Boolean => Value::Bool(get(row, index, nullable)?),
            SqlType::Text | SqlType::Custom(_) => Value::String(get(row, index, nullable)?),
            SqlType::Blob => Value::Bytes(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::TimestampTz => Value::ChronoDateTimeUtc(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::Timestamp => Value::ChronoDateTime(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::Date => Value::ChronoDate(get(row, index, nullable)?),
            #[cfg(feature = "chrono")]
            SqlType::Time => Value::ChronoTime(get(row, index, nullable)?),
            #[cfg(feature = "uuid")]
            SqlType::Uuid => Value::Uuid(get(row, index, nullable)?),
            #[cfg(feature = "decimal")]
            SqlType::Decimal => Value::Decimal($decimal(row, index)?),
            #[cfg(feature = "json")]
            SqlType::Json => Value::Json(get::<_, serde_json::Value>(row, index, nullable)?.map(Box::new)),
            SqlType::Array(of) => return $array(row, index, *of),
            // A type of a feature not enabled: no field has it.
            #[allow(unreachable_patterns)]
            _ => return Err($crate::driver::not_compiled(index)),
        })
    }};
}
use read_column;

/// Column `index` through sqlx's codec for `T`: as `Option<T>` when it may be `NULL`, else as
/// `T` (one test for `NULL` fewer).
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
fn get<'r, R, T>(row: &'r R, index: usize, nullable: bool) -> Result<Option<T>, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    if nullable { row.try_get::<Option<T>, _>(index) } else { row.try_get::<T, _>(index).map(Some) }
}

fn not_compiled(index: usize) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: index.to_string(), source: "this column type needs a duo-orm feature that is not enabled".into() }
}

/// The array reader of drivers without arrays.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
fn no_arrays<R>(_: &R, index: usize, _: crate::types::ArrayOf) -> Result<Value, sqlx::Error> {
    Err(sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: "array columns are PostgreSQL's; store the list as `Json<Vec<T>>` on other databases".into(),
    })
}
