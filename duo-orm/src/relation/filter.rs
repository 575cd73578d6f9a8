//! Relationship filters: `exists`, `any`, `all` and `count` on a [`Relation`], written as
//! correlated subqueries so they render in every dialect and compose with other conditions.
//!
//! A path `users → posts → comments` becomes one subquery over the last table, joined back
//! hop by hop, whose first hop is correlated with the outer query:
//!
//! ```sql
//! EXISTS (SELECT 1 FROM "comments"
//!         INNER JOIN "posts" ON "comments"."post_id" = "posts"."id"
//!         WHERE "posts"."author_id" = "users"."id" AND <condition on comments>)
//! ```

use std::marker::PhantomData;

use sea_query::{Asterisk, Expr, ExprTrait, JoinType, Query, SelectStatement, SubQueryStatement};

use super::{Path, Relation, RelationKind, RelationMeta};

use crate::column::{CondExpr, Condition, OrderBy};
use crate::error::{Invalid, InvalidQueryKind};
use crate::model::{Model, ModelMeta};

/// What the correlated subquery computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Projection {
    /// `SELECT 1`, under `EXISTS` / `NOT EXISTS`.
    One,
    /// `SELECT COUNT(*)`.
    Count,
}

impl<O: Model, T: Model> Relation<O, T> {
    /// Owners with at least one related row: `User::filter(|u| u.posts.exists())`.
    pub fn exists(self) -> Condition<O> {
        condition(self.subquery(Projection::One).map(Expr::exists))
    }

    /// Owners with at least one related row matching `condition`:
    /// `User::filter(|u| u.posts.any(|p| p.title.contains("Rust")))`.
    pub fn any(self, condition: impl FnOnce(&T::Columns) -> Condition<T>) -> Condition<O> {
        let (expr, error) = condition(T::columns()).into_parts();
        self.with_rows_where(expr, Expr::exists).with_error(error)
    }

    /// Owners whose related rows all match `condition` (owners with no related rows
    /// included): `User::filter(|u| u.posts.all(|p| p.published.eq(true)))`. A row for which
    /// the condition is `NULL` does not match.
    pub fn all(self, condition: impl FnOnce(&T::Columns) -> Condition<T>) -> Condition<O> {
        let (expr, error) = condition(T::columns()).into_parts();
        // Rows that fail the condition, NULL included: `CASE WHEN c THEN 1 ELSE 0 END = 0`
        // works in every dialect (SQL Server and Oracle have no boolean values to coalesce).
        let failing = expr.map(|expr| Expr::case(expr, Expr::cust("1")).finally(Expr::cust("0")).eq(Expr::cust("0")));
        self.with_rows_where(failing, Expr::not_exists).with_error(error)
    }

    /// `wrap` of the correlated subquery of the related rows matching `rows` (written per
    /// dialect when `rows` is).
    fn with_rows_where(&self, rows: CondExpr, wrap: fn(SelectStatement) -> Expr) -> Condition<O> {
        match self.subquery(Projection::One) {
            Err(error) => Condition::invalid(Invalid::new(InvalidQueryKind::Relationship, error)),
            Ok(base) => Condition::from_cond_expr(rows.map(move |expr| {
                let mut stmt = base.clone();
                stmt.and_where(expr);
                wrap(stmt)
            })),
        }
    }

    /// The number of related rows, to compare (`u.posts.count().ge(3)`) or order by
    /// (`order_by(|u| u.posts.count().desc())`).
    pub fn count(self) -> RelatedCount<O> {
        RelatedCount {
            expr: self.subquery(Projection::Count).map(|sub| Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(sub)))),
            _marker: PhantomData,
        }
    }

    fn subquery(&self, projection: Projection) -> Result<SelectStatement, String> {
        let path = self.erase();
        if !path.hops.first().is_some_and(|first| std::ptr::eq((first.owner)(), O::meta())) {
            return Err(format!("the relationship path `{}` does not start at {}", self.path_name(), O::meta().name));
        }
        if path.requested > path.hops.len() {
            return Err(format!(
                "the relationship path `{}` has {} hops; filters follow at most {}",
                self.path_name(),
                path.requested,
                path.hops.len()
            ));
        }
        correlated(&path, O::meta(), projection)
    }
}

/// The correlated subquery of `path` from the outer model `outer`.
fn correlated(path: &Path, outer: &'static ModelMeta, projection: Projection) -> Result<SelectStatement, String> {
    check_distinct_tables(path, outer)?;
    let last = path.hops.last().expect("a relation path has at least one hop");
    let mut stmt = Query::select();
    match projection {
        Projection::One => stmt.expr(Expr::cust("1")),
        Projection::Count => stmt.expr(Expr::col(Asterisk).count()),
    };
    stmt.from((last.target)().table);
    for (index, hop) in path.hops.iter().enumerate().rev() {
        let link = link_to_owner(&mut stmt, hop);
        if index == 0 {
            stmt.and_where(link);
        } else {
            stmt.join(JoinType::InnerJoin, (hop.owner)().table, link);
        }
    }
    Ok(stmt)
}

/// The condition tying a hop's target rows (already in the subquery) to its owner's table;
/// a many-to-many hop first joins its join table.
fn link_to_owner(stmt: &mut SelectStatement, hop: &RelationMeta) -> Expr {
    let owner = (hop.owner)().table;
    let target = (hop.target)().table;
    let owner_column = Expr::col((owner, (hop.owner_column)()));
    match (&hop.through, hop.kind) {
        (Some(through), RelationKind::ManyToMany) => {
            let join_table = (through.table)();
            stmt.join(
                JoinType::InnerJoin,
                join_table,
                Expr::col((join_table, (through.target_column)())).equals((target, (hop.target_column)())),
            );
            Expr::col((join_table, (through.owner_column)())).equals((owner, (hop.owner_column)()))
        }
        _ => Expr::col((target, (hop.target_column)())).eq(owner_column),
    }
}

/// Tables are referred to by name inside the subquery, so a path that visits a table twice
/// (a self-referential relationship) would be ambiguous: refused instead of answered wrongly.
fn check_distinct_tables(path: &Path, outer: &'static ModelMeta) -> Result<(), String> {
    let mut seen = vec![outer.table];
    for hop in &path.hops {
        let through = hop.through.as_ref().map(|t| (t.table)());
        for table in through.into_iter().chain([(hop.target)().table]) {
            if seen.contains(&table) {
                return Err(format!(
                    "the relationship filter through `{}` visits table `{table}` twice (a self-referential \
                     path), which a correlated subquery cannot tell apart; filter with a hand-built \
                     sea-query condition instead (Condition::from_expr)",
                    path.name()
                ));
            }
            seen.push(table);
        }
    }
    Ok(())
}

fn condition<O>(expr: Result<Expr, String>) -> Condition<O> {
    match expr {
        Ok(expr) => Condition::from_expr(expr),
        Err(error) => Condition::invalid(Invalid::new(InvalidQueryKind::Relationship, error)),
    }
}

/// The number of rows related to each owner through a path, as a correlated
/// `(SELECT COUNT(*) …)`: compare it to get a condition, or order by it.
pub struct RelatedCount<O> {
    expr: Result<Expr, String>,
    _marker: PhantomData<fn() -> O>,
}

macro_rules! count_comparisons {
    ($($(#[$doc:meta])* $name:ident => $method:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, n: i64) -> Condition<O> {
                condition(self.expr.map(|count| count.$method(n)))
            }
        )*
    };
}

impl<O> RelatedCount<O> {
    count_comparisons! {
        /// At least `n` related rows.
        ge => gte;
        /// More than `n`.
        gt => gt;
        /// At most `n`.
        le => lte;
        /// Fewer than `n`.
        lt => lt;
        /// Exactly `n`.
        eq => eq;
        /// Not exactly `n`.
        ne => ne;
    }

    /// Owners with fewer related rows first.
    pub fn asc(self) -> OrderBy<O> {
        OrderBy::by_expr(self.expr, false)
    }

    /// Owners with more related rows first.
    pub fn desc(self) -> OrderBy<O> {
        OrderBy::by_expr(self.expr, true)
    }
}
