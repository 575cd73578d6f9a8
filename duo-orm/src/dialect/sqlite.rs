//! SQLite specifics.

use crate::schema::{Column, ColumnType};

pub(crate) fn column_type(column: &Column) -> String {
    match &column.column_type {
        // An auto-increment key must be exactly `integer PRIMARY KEY` to alias the rowid.
        ColumnType::SmallInt | ColumnType::Integer | ColumnType::BigInt => "integer".into(),
        ColumnType::Float | ColumnType::Double => "real".into(),
        ColumnType::Boolean => "boolean".into(),
        ColumnType::Text => match column.max_length {
            Some(n) => format!("varchar({n})"),
            None => "text".into(),
        },
        ColumnType::Blob | ColumnType::Uuid => "blob".into(),
        ColumnType::TimestampTz | ColumnType::Timestamp => "datetime".into(),
        ColumnType::Date => "date".into(),
        ColumnType::Time => "time".into(),
        // sqlx has no SQLite decimal codec: stored exactly, as text.
        ColumnType::Decimal => "text".into(),
        ColumnType::Json => "json".into(),
        ColumnType::Custom(name) => name.clone(),
        // Written by `dialect::column_type` (or refused) before the dialect is asked.
        ColumnType::Array(_) => unreachable!("array columns are written by dialect::column_type"),
    }
}
