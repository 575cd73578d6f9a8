//! PostgreSQL specifics.

use crate::model::ColumnMeta;
use crate::types::SqlType;

pub(crate) fn column_type(column: &ColumnMeta) -> String {
    match column.sql_type {
        SqlType::SmallInt => "smallint".into(),
        SqlType::Integer => "integer".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Float => "real".into(),
        SqlType::Double => "double precision".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Text => match column.max_length {
            Some(n) => format!("varchar({n})"),
            None => "text".into(),
        },
        SqlType::Blob => "bytea".into(),
        SqlType::TimestampTz => "timestamptz".into(),
        SqlType::Timestamp => "timestamp".into(),
        SqlType::Date => "date".into(),
        SqlType::Time => "time".into(),
        SqlType::Uuid => "uuid".into(),
        SqlType::Decimal => "numeric".into(),
        SqlType::Json => "jsonb".into(),
        SqlType::Custom(name) => name.into(),
    }
}
