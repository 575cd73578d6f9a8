//! PostgreSQL through sqlx: arrays.

use sea_query::Value;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::read_column;
use crate::types::{ArrayOf, SqlType};

#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn value<S>(row: &PgRow, index: usize, sql_type: &SqlType<S>, nullable: bool) -> Result<Value, sqlx::Error> {
    read_column!(row, index, sql_type, nullable, decimal: decimal, array: array)
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
        Ok(Value::Array(of.sea_type(), items.map(|items| Box::new(items.into_iter().map(|item| wrap(Some(item))).collect()))))
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
        ArrayOf::Uuid => Err(super::not_compiled(index)),
    }
}
