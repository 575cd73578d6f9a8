//! SQLite specifics.

use crate::model::ColumnMeta;
use crate::types::SqlType;

pub(crate) fn column_type(column: &ColumnMeta) -> String {
    match column.sql_type {
        // An auto-increment key must be exactly `integer PRIMARY KEY` to alias the rowid.
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => "integer".into(),
        SqlType::Float | SqlType::Double => "real".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Text => match column.max_length {
            Some(n) => format!("varchar({n})"),
            None => "text".into(),
        },
        SqlType::Blob | SqlType::Uuid => "blob".into(),
        SqlType::TimestampTz | SqlType::Timestamp => "datetime".into(),
        SqlType::Date => "date".into(),
        SqlType::Time => "time".into(),
        // sqlx has no SQLite decimal codec: stored exactly, as text.
        SqlType::Decimal => "text".into(),
        SqlType::Json => "json".into(),
        SqlType::Custom(name) => name.into(),
    }
}
