//! MySQL and MariaDB specifics.

use sea_query::InsertStatement;

use crate::dialect::Statement;
use crate::model::ColumnMeta;
use crate::types::SqlType;

/// An INSERT with MariaDB's `RETURNING` tail (10.5+) when `returning` names columns;
/// sea-query's MySQL builder writes none, MySQL proper has none.
pub(crate) fn render_insert(stmt: InsertStatement, returning: &[&'static str]) -> Statement {
    let (mut sql, values) = stmt.build(sea_query::MysqlQueryBuilder);
    if !returning.is_empty() {
        let columns: Vec<String> = returning.iter().map(|c| format!("`{}`", c.replace('`', "``"))).collect();
        sql.push_str(" RETURNING ");
        sql.push_str(&columns.join(", "));
    }
    Statement { sql, values }
}

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
