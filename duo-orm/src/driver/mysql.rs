//! MySQL and MariaDB through sqlx: no arrays.

use sea_query::Value;
use sqlx::mysql::MySqlRow;

use super::{no_arrays, read_column};
use crate::types::SqlType;

#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn value<S>(row: &MySqlRow, index: usize, sql_type: &SqlType<S>, nullable: bool) -> Result<Value, sqlx::Error> {
    read_column!(row, index, sql_type, nullable, decimal: decimal, array: no_arrays)
}

#[cfg(feature = "decimal")]
fn decimal(row: &MySqlRow, index: usize) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    sqlx::Row::try_get(row, index)
}
