//! MySQL and MariaDB specifics.

use crate::model::ColumnMeta;
use crate::types::SqlType;

pub(crate) fn column_type(column: &ColumnMeta, indexed: bool) -> String {
    match column.sql_type {
        SqlType::SmallInt => "smallint".into(),
        SqlType::Integer => "int".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Float => "float".into(),
        SqlType::Double => "double".into(),
        SqlType::Boolean => "boolean".into(),
        // TEXT cannot be a key or carry a unique index without a prefix length.
        SqlType::Text => match super::indexable_text_length(column, indexed) {
            Some(n) => format!("varchar({n})"),
            None => "text".into(),
        },
        SqlType::Blob => "longblob".into(),
        // DATETIME, not TIMESTAMP: no 2038 limit and no session time-zone conversion.
        // Instants are stored in UTC.
        SqlType::TimestampTz | SqlType::Timestamp => "datetime(6)".into(),
        SqlType::Date => "date".into(),
        SqlType::Time => "time(6)".into(),
        SqlType::Uuid => "binary(16)".into(),
        SqlType::Decimal => "decimal(28, 10)".into(),
        SqlType::Json => "json".into(),
        SqlType::Custom(name) => name.into(),
    }
}
