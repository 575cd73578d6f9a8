//! MySQL and MariaDB specifics.

use sea_query::InsertStatement;

use crate::dialect::{Dialect, Statement};
use crate::error::IntegrityKind;
use crate::schema::{Column, ColumnType};

/// An INSERT with MariaDB's `RETURNING` tail (10.5+) when `returning` names columns;
/// sea-query's MySQL builder writes none, MySQL proper has none.
pub(crate) fn render_insert(stmt: InsertStatement, returning: &[&'static str]) -> Statement {
    let (mut sql, values) = stmt.build(sea_query::MysqlQueryBuilder);
    if !returning.is_empty() {
        let columns: Vec<String> = returning.iter().map(|c| Dialect::MySql.quote_identifier(c)).collect();
        sql.push_str(" RETURNING ");
        sql.push_str(&columns.join(", "));
    }
    Statement { sql, values }
}

pub(crate) fn column_type(column: &Column, indexed: bool) -> String {
    match &column.column_type {
        ColumnType::SmallInt => "smallint".into(),
        ColumnType::Integer => "int".into(),
        ColumnType::BigInt => "bigint".into(),
        ColumnType::Float => "float".into(),
        ColumnType::Double => "double".into(),
        ColumnType::Boolean => "boolean".into(),
        // TEXT cannot be a key or carry a unique index without a prefix length.
        ColumnType::Text => match super::indexable_text_length(column, indexed) {
            Some(n) => format!("varchar({n})"),
            None => "text".into(),
        },
        ColumnType::Blob => "longblob".into(),
        // DATETIME, not TIMESTAMP: no 2038 limit and no session time-zone conversion.
        // Instants are stored in UTC.
        ColumnType::TimestampTz | ColumnType::Timestamp => "datetime(6)".into(),
        ColumnType::Date => "date".into(),
        ColumnType::Time => "time(6)".into(),
        ColumnType::Uuid => "binary(16)".into(),
        ColumnType::Decimal => "decimal(28, 10)".into(),
        ColumnType::Json => "json".into(),
        ColumnType::Custom(name) => name.clone(),
        // Written by `dialect::column_type` (or refused) before the dialect is asked.
        ColumnType::Array(_) | ColumnType::Enum(_) => unreachable!("array and enum columns are written by dialect::column_type"),
    }
}

/// The constraint or column MySQL/MariaDB name in a constraint failure's message:
/// `Duplicate entry 'x' for key 'users.email'`, `Column 'name' cannot be null`,
/// `… CONSTRAINT \`fk_posts_author_id\` FOREIGN KEY …`. Returns `(constraint, column)`.
pub(crate) fn integrity_names(kind: IntegrityKind, message: &str) -> (Option<String>, Option<String>) {
    let quoted = |after: &str, open: char, close: char| {
        message.split_once(after).and_then(|(_, rest)| {
            let rest = rest.trim_start().strip_prefix(open)?;
            rest.split_once(close).map(|(name, _)| name.to_string())
        })
    };
    match kind {
        IntegrityKind::Unique => (quoted("for key", '\'', '\''), None),
        IntegrityKind::NotNull => (None, quoted("Column", '\'', '\'')),
        IntegrityKind::ForeignKey | IntegrityKind::Check => (quoted("CONSTRAINT", '`', '`'), None),
    }
}
