//! PostgreSQL specifics.

use crate::dialect::Dialect;
use crate::error::Error;
use crate::schema::{Column, ColumnType};

pub(crate) fn column_type(column: &Column) -> String {
    match &column.column_type {
        ColumnType::SmallInt => "smallint".into(),
        ColumnType::Integer => "integer".into(),
        ColumnType::BigInt => "bigint".into(),
        ColumnType::Float => "real".into(),
        ColumnType::Double => "double precision".into(),
        ColumnType::Boolean => "boolean".into(),
        ColumnType::Text => match column.max_length {
            Some(n) => format!("varchar({n})"),
            None => "text".into(),
        },
        ColumnType::Blob => "bytea".into(),
        ColumnType::TimestampTz => "timestamptz".into(),
        ColumnType::Timestamp => "timestamp".into(),
        ColumnType::Date => "date".into(),
        ColumnType::Time => "time".into(),
        ColumnType::Uuid => "uuid".into(),
        ColumnType::Decimal => "numeric".into(),
        ColumnType::Json => "jsonb".into(),
        ColumnType::Custom(name) => name.clone(),
        // Written by `dialect::column_type` (or refused) before the dialect is asked.
        ColumnType::Array(_) | ColumnType::Enum(_) => unreachable!("array and enum columns are written by dialect::column_type"),
    }
}

/// PostgreSQL's text types cannot hold NUL: its refusal (`22021`, "invalid byte sequence …
/// 0x00") becomes an `UnsupportedOperation` that says so.
pub(crate) fn nul_in_text(code: Option<&str>, message: &str) -> Option<Error> {
    (code == Some("22021") && message.contains("0x00"))
        .then(|| Error::unsupported(Dialect::Postgres, "text containing the NUL character (\\0): its text types cannot hold it"))
}
