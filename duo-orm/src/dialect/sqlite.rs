//! SQLite specifics.

use std::fmt::Write as _;

use sea_query::{SelectStatement, SqliteQueryBuilder, Value};

use super::{Paging, Statement};
use crate::schema::{Column, ColumnType};

/// A SELECT with its paging. The limit is written as a literal: SQLite (3.51) treats a bound
/// `LIMIT ?` as a value that may change the plan, and prepares the statement again every time
/// it runs (a third of a lookup's cost). An integer written by `fmt` cannot carry SQL. The
/// offset, which changes from page to page, stays bound.
pub(crate) fn render_select(stmt: &SelectStatement, paging: Paging) -> Statement {
    let mut statement = Statement::new(stmt.build(SqliteQueryBuilder));
    // SQLite's integers are i64: a larger limit means "all rows", as i64::MAX does (and OFFSET
    // needs a LIMIT, so an offset alone gets that one too).
    let limit = match (paging.limit, paging.offset) {
        (Some(limit), _) => Some(limit.min(i64::MAX as u64)),
        (None, Some(_)) => Some(i64::MAX as u64),
        (None, None) => None,
    };
    if let Some(limit) = limit {
        write!(statement.sql, " LIMIT {limit}").expect("writing to a String cannot fail");
    }
    if let Some(offset) = paging.offset {
        statement.sql.push_str(" OFFSET ?");
        statement.values.0.push(Value::BigUnsigned(Some(offset)));
    }
    statement
}

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
