//! SQLite through sqlx: decimals are text (sqlx has no SQLite decimal codec), no arrays.

use sea_query::Value;
use sqlx::sqlite::SqliteRow;

use super::{no_arrays, read_column};
use crate::types::SqlType;

#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn value<S>(row: &SqliteRow, index: usize, sql_type: &SqlType<S>, nullable: bool) -> Result<Value, sqlx::Error> {
    read_column!(row, index, sql_type, nullable, decimal: decimal, array: no_arrays)
}

// Decimals are stored exactly, as text, and read back by parsing.
#[cfg(feature = "decimal")]
fn decimal(row: &SqliteRow, index: usize) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    let text: Option<String> = sqlx::Row::try_get(row, index)?;
    text.map(|text| text.parse().map_err(|e| sqlx::Error::ColumnDecode { index: index.to_string(), source: Box::new(e) })).transpose()
}
