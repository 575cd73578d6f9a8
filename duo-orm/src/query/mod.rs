//! The statement families: [`select`] (queries), [`project`] (picked columns and aggregates,
//! with [`aggregate`]), [`write`](mod@write) (insert, update, delete), [`bulk`] (multi-row
//! writes), [`stream`] (keyset iteration) and [`raw`] (hand-written SQL). DDL is
//! [`ddl`](crate::ddl).

use sea_query::QueryStatementWriter;

use crate::dialect::{Dialect, Statement, build_any};
use crate::error::{Error, Result};

pub mod aggregate;
pub mod bulk;
pub(crate) mod cached;
pub mod cursor;
pub mod expr;
pub mod join;
pub(crate) mod lock;
pub mod project;
pub mod raw;
pub mod select;
pub mod stream;
pub mod subquery;
pub mod upsert;
pub mod write;

/// Renders a hand-built sea-query statement (the escape hatch) for `dialect`.
///
/// SQL Server and Oracle are refused: sea-query keeps a statement's LIMIT/OFFSET private, so
/// their paging tails cannot be written from it. Run such statements through the ORM's own
/// query builders instead.
pub fn build_statement(dialect: Dialect, statement: &impl QueryStatementWriter) -> Result<Statement> {
    match dialect {
        Dialect::MsSql | Dialect::Oracle => Err(Error::unsupported(
            dialect,
            "running a hand-built sea-query statement (its paging cannot be rendered); use the query builders",
        )),
        _ => Ok(Statement::new(build_any!(dialect, statement))),
    }
}

/// Runs a hand-built sea-query SELECT on `db` and decodes its rows as `T`.
pub(crate) async fn fetch_statement<T: crate::row::FromRow>(
    db: &crate::Database,
    statement: &sea_query::SelectStatement,
) -> Result<Vec<T>> {
    let stmt = build_statement(db.dialect()?, statement)?;
    fetch_rows::<T>(db, stmt).await
}

/// Runs `stmt` and decodes each row as `T`, all of its columns: a row with more columns than
/// `T` reads is an `Error::Decode`, not a value dropped unseen.
pub(crate) async fn fetch_rows<T: crate::row::FromRow>(db: &crate::Database, stmt: crate::dialect::Statement) -> Result<Vec<T>> {
    db.fetch_decoded(stmt, T::NAME, read_whole::<T>).await
}

/// Reads one row as `T` and checks that nothing is left.
pub(crate) fn read_whole<T: crate::row::FromRow>(row: &mut crate::types::RowCursor<'_>) -> crate::types::RowResult<T> {
    let value = T::from_row(row)?;
    row.check_all_read(std::any::type_name::<T>())?;
    Ok(value)
}
