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
        ColumnType::Array(_) | ColumnType::Enum(_) => unreachable!("array and enum columns are written by dialect::column_type"),
    }
}

/// The column SQLite names in a constraint failure (`UNIQUE constraint failed: users.email`,
/// `NOT NULL constraint failed: users.name`): `(constraint, column)`, or `None` when the
/// message is not SQLite's.
pub(crate) fn integrity_names(message: &str) -> Option<(Option<String>, Option<String>)> {
    let (_, rest) = message.split_once("constraint failed: ")?;
    let first = rest.split(',').next().unwrap_or(rest).trim();
    let column = first.rsplit('.').next().unwrap_or(first).to_string();
    Some((None, Some(column)))
}
