//! Subqueries: a typed query inside a condition of another. `u.id.is_in(Post::query().select(|p|
//! p.author_id))`, [`exists`]`(Post::filter(..))`, and a one-column projection compared with a
//! column (`p.score.gt(Post::query().select(|p| p.score.max()))`), correlated or not.
//!
//! A subquery is written for the dialect when the outer query renders, so its values are bound
//! in the outer statement's order and its dialect-specific conditions are written for the same
//! database.

use std::sync::Arc;

use sea_query::{Expr, SelectStatement};

use crate::column::{CondExpr, Condition, InList, ListSql, Operand, OperandSql};
use crate::dialect::{self, Dialect, Paging};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::Model;
use crate::query::project::Projected;
use crate::query::select::Select;
use crate::row::FromRow;

/// Where a subquery sits, which decides what a dialect allows in it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `EXISTS (…)`: its rows' values do not matter.
    Exists,
    /// `x IN (…)`.
    InList,
    /// `x > (…)`: one value.
    Scalar,
}

/// A typed query that can sit inside a condition of another: a model query ([`Select`], for
/// [`exists`]) or a projection ([`Projected`], for [`exists`], `is_in` and comparisons).
pub trait Subquery: Send + Sync + 'static {
    /// The statement for `dialect`, checked for what the dialect allows at `placement`.
    #[doc(hidden)]
    fn subquery(&self, dialect: Dialect, placement: Placement) -> Result<SelectStatement>;

    /// How deeply the query's conditions nest (they count towards the outer query's
    /// [`MAX_CONDITION_DEPTH`](crate::MAX_CONDITION_DEPTH)).
    #[doc(hidden)]
    fn depth(&self) -> u32;
}

impl<X: Model> Subquery for Select<X> {
    fn subquery(&self, dialect: Dialect, placement: Placement) -> Result<SelectStatement> {
        let (mut stmt, paging) = self.projection_body(dialect)?;
        if placement == Placement::Exists {
            // Which columns EXISTS reads does not matter: one constant keeps the statement small.
            stmt.clear_selects();
            stmt.expr(Expr::cust("1"));
        }
        finish(dialect, placement, stmt, paging)
    }

    fn depth(&self) -> u32 {
        self.filter.as_ref().map_or(0, CondExpr::depth)
    }
}

impl<X: Model, T: FromRow> Subquery for Projected<X, T> {
    fn subquery(&self, dialect: Dialect, placement: Placement) -> Result<SelectStatement> {
        if placement != Placement::Exists && self.pick_count() != 1 {
            // The types say one column, unless `into_rows` read several as one value.
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!("a subquery compared with a column picks one value; this one picks {}", self.pick_count()),
            ));
        }
        let (stmt, paging, _) = self.statement(dialect)?;
        finish(dialect, placement, stmt, paging)
    }

    fn depth(&self) -> u32 {
        self.depth()
    }
}

/// Applies `paging` inside the subquery, or refuses it where the dialect cannot have it; drops
/// an order that pages nothing (it changes no answer, and SQL Server refuses it in a subquery).
fn finish(dialect: Dialect, placement: Placement, mut stmt: SelectStatement, paging: Paging) -> Result<SelectStatement> {
    if !paging.is_set() {
        stmt.clear_order_by();
        return Ok(stmt);
    }
    match dialect {
        Dialect::MsSql | Dialect::Oracle => {
            Err(Error::unsupported(dialect, "limit or offset in a subquery (its paging cannot be written inside another statement)"))
        }
        Dialect::MySql if placement == Placement::InList => Err(Error::unsupported(
            dialect,
            "limit or offset in an `is_in`/`not_in` subquery (MySQL and MariaDB refuse LIMIT in IN subqueries)",
        )),
        Dialect::Postgres | Dialect::MySql | Dialect::Sqlite => {
            dialect::apply_limit_offset(dialect, &mut stmt, paging);
            Ok(stmt)
        }
    }
}

/// The subquery, written for a dialect when its outer query renders.
fn written<Q: Subquery>(query: Q, placement: Placement) -> Arc<dyn Fn(Dialect) -> Result<SelectStatement> + Send + Sync> {
    Arc::new(move |dialect| query.subquery(dialect, placement))
}

/// `EXISTS (subquery)`: whether the query has any row. Correlate it by comparing its columns
/// with the outer query's: `exists(Post::filter(|p| p.author_id.eq(u.id)))`. Negate it with
/// `!`.
///
/// ```
/// # use duo_orm::prelude::*;
/// # #[derive(Model, Debug)] #[duo(table = "users")]
/// # struct User { #[duo(primary_key)] id: i64, name: String }
/// # #[derive(Model, Debug)] #[duo(table = "posts")]
/// # struct Post { #[duo(primary_key)] id: i64, author_id: i64, title: String }
/// # fn main() -> duo_orm::Result<()> {
/// let writers = User::filter(|u| exists(Post::filter(|p| p.author_id.eq(u.id))));
/// assert_eq!(
///     writers.to_sql(Dialect::Postgres)?.sql,
///     r#"SELECT "users"."id", "users"."name" FROM "users" WHERE EXISTS(SELECT 1 FROM "posts" WHERE "posts"."author_id" = "users"."id")"#
/// );
/// # Ok(())
/// # }
/// ```
pub fn exists<M, Q: Subquery>(query: Q) -> Condition<M> {
    let depth = query.depth();
    let statement = written(query, Placement::Exists);
    Condition::around_subquery(move |dialect| Ok(Expr::exists(statement(dialect)?)), depth)
}

fn scalar<Q: Subquery>(query: Q) -> OperandSql {
    let depth = query.depth();
    let statement = written(query, Placement::Scalar);
    OperandSql::subquery(move |dialect| Ok(Expr::SubQuery(None, Box::new(statement(dialect)?.into()))), depth)
}

/// Implements [`Operand`] (a value to compare a column with: `(SELECT MAX(..) FROM ..)`) and
/// [`InList`] (`x IN (SELECT ..)`) for one-column projections reading `$picked`, compared with
/// a column of type `$column`: the same type, or one of them optional (an aggregate is `None`
/// over no rows; a nullable column holds the values of a key).
macro_rules! one_column_subquery {
    ($picked:ty => $column:ty) => {
        impl<X: Model, T: Send + 'static> Operand<$column> for Projected<X, $picked>
        where
            Projected<X, $picked>: Subquery,
        {
            fn into_operand(self) -> OperandSql {
                scalar(self)
            }
        }

        impl<X: Model, T: Send + 'static> InList<$column> for Projected<X, $picked>
        where
            Projected<X, $picked>: Subquery,
        {
            fn into_list(self) -> ListSql {
                let depth = Subquery::depth(&self);
                ListSql::subquery(written(self, Placement::InList), depth)
            }
        }
    };
}

one_column_subquery!(T => T);
one_column_subquery!(Option<T> => T);
one_column_subquery!(T => Option<T>);
