//! PostgreSQL through sqlx: arrays.

use std::str::FromStr;

use sea_query::Value;
use sqlx::Postgres;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgRow};

use super::Executed;
use super::sqlx_shared::{SqlxDriver, read_column};
use crate::config::DatabaseUrl;
use crate::error::{ConflictKind, DriverError};
use crate::types::{ArrayOf, SqlType};

impl SqlxDriver for Postgres {
    const SOCKETS: bool = true;

    fn pool(url: &DatabaseUrl, pool: sqlx::pool::PoolOptions<Self>) -> Result<sqlx::Pool<Self>, sqlx::Error> {
        Ok(pool.connect_lazy_with(PgConnectOptions::from_str(url.driver_url())?))
    }

    fn runtime_free(_: &DatabaseUrl) -> bool {
        false
    }

    fn executed(result: sqlx::postgres::PgQueryResult) -> Executed {
        Executed { rows_affected: result.rows_affected(), last_insert_id: None }
    }

    fn server_closed(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
        matches!(error.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
            && error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some()
    }

    fn conflict(error: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<ConflictKind> {
        error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
        match error.code().as_deref()? {
            "40001" => Some(ConflictKind::Serialization),
            "40P01" => Some(ConflictKind::Deadlock),
            // lock_not_available: NOWAIT, or `lock_timeout` passed.
            "55P03" => Some(ConflictKind::LockNotAvailable),
            _ => None,
        }
    }

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn value<S, L>(row: &PgRow, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError> {
        read_column!(row, index, sql_type, nullable, decimal: decimal, array: array, enum_label: enum_label)
    }
}

/// A label of a PostgreSQL enum type: text on the wire, but of the enum's own type, which
/// sqlx's `String` refuses by its type check. The model declares the column as that enum, so
/// the check is skipped; the label is then checked by the field's `from_value`.
fn enum_label(row: &PgRow, index: usize, nullable: bool) -> Result<Option<String>, sqlx::Error> {
    if nullable { row.try_get_unchecked::<Option<String>, _>(index) } else { row.try_get_unchecked::<String, _>(index).map(Some) }
}

#[cfg(feature = "decimal")]
fn decimal(row: &PgRow, index: usize) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    row.try_get(index)
}

fn array(row: &PgRow, index: usize, of: ArrayOf) -> Result<Value, sqlx::Error> {
    fn items<T>(row: &PgRow, index: usize, of: ArrayOf, wrap: fn(Option<T>) -> Value) -> Result<Value, sqlx::Error>
    where
        for<'r> Vec<T>: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let items: Option<Vec<T>> = row.try_get(index)?;
        Ok(Value::Array(
            crate::types::array_sea_type(of),
            items.map(|items| Box::new(items.into_iter().map(|item| wrap(Some(item))).collect())),
        ))
    }
    match of {
        ArrayOf::SmallInt => items::<i16>(row, index, of, Value::SmallInt),
        ArrayOf::Integer => items::<i32>(row, index, of, Value::Int),
        ArrayOf::BigInt => items::<i64>(row, index, of, Value::BigInt),
        ArrayOf::Float => items::<f32>(row, index, of, Value::Float),
        ArrayOf::Double => items::<f64>(row, index, of, Value::Double),
        ArrayOf::Boolean => items::<bool>(row, index, of, Value::Bool),
        ArrayOf::Text => items::<String>(row, index, of, Value::String),
        #[cfg(feature = "uuid")]
        ArrayOf::Uuid => items::<uuid::Uuid>(row, index, of, Value::Uuid),
        #[cfg(not(feature = "uuid"))]
        ArrayOf::Uuid => Err(super::sqlx_shared::not_compiled(index)),
    }
}
