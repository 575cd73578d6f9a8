//! Projections: `User::query().select(|u| (u.name, u.age.max()))` picks columns and computed
//! values instead of whole models, optionally grouped (`group_by`, `having`) and `distinct`.
//! The row type follows from what is picked, so the result is typed without annotations.

use std::marker::PhantomData;
use std::sync::Arc;

use sea_query::{Expr, ExprTrait, Order, SelectStatement};

use crate::column::{Column, Condition, Render};
use crate::dialect::{self, Dialect, Paging, Statement};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::Model;
use crate::pending::Pending;
use crate::query::select::Select;
use crate::row::FromRow;
use crate::types::{FieldType, IntoColumnValue};

/// A value a query computes, read as `T`, written for the dialect when the query renders:
/// per group (`K` = [`Aggregate`], the default: `u.age.max()`), or per row (`K` = [`PerRow`]:
/// `u.price.times(u.units)`, `u.nick.coalesce("anon")`), which can itself be aggregated.
pub struct Computed<M, T, K = Aggregate> {
    pub(crate) render: Render,
    /// Whether the value holds an aggregate: a value of kind `PerRow` may, through a `CASE`
    /// on an aggregate condition, and a grouped query's checks go by this, not by the kind.
    pub(crate) aggregate: bool,
    /// How deeply the value nests (computed values, conditions and subqueries inside it).
    pub(crate) depth: u32,
    _marker: Marker<M, T, K>,
}

/// What a [`Computed`] value is of, reads as and computes per.
type Marker<M, T, K> = PhantomData<fn() -> (M, T, K)>;

/// The kind of a [`Computed`] value that is one per group: an aggregate.
#[derive(Debug, Clone, Copy)]
pub struct Aggregate;

/// The kind of a [`Computed`] value that is one per row: an expression of its columns.
#[derive(Debug, Clone, Copy)]
pub struct PerRow;

/// What a computed value is, for a grouped query's checks.
#[doc(hidden)]
pub trait ComputedKind: Send + Sync + 'static {
    /// Whether it is one per group.
    const AGGREGATE: bool;
}

impl ComputedKind for Aggregate {
    const AGGREGATE: bool = true;
}

impl ComputedKind for PerRow {
    const AGGREGATE: bool = false;
}

impl<M, T, K> Clone for Computed<M, T, K> {
    fn clone(&self) -> Self {
        Computed { render: self.render.clone(), aggregate: self.aggregate, depth: self.depth, _marker: PhantomData }
    }
}

impl<M, T, K> std::fmt::Debug for Computed<M, T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Computed(<written per dialect>)")
    }
}

impl<M: Model, T: FieldType, K: ComputedKind> Computed<M, T, K> {
    /// A value of its kind, nesting nothing.
    pub(crate) fn new(render: impl Fn(Dialect) -> Result<Expr> + Send + Sync + 'static) -> Self {
        Computed::nested(render, K::AGGREGATE, 0)
    }

    /// A value around parts nesting `depth` levels; one that nests deeper than
    /// [`MAX_CONDITION_DEPTH`](crate::MAX_CONDITION_DEPTH) fails its query with `InvalidQuery`
    /// (and holds none of its parts, so that neither rendering nor dropping it recurses far).
    pub(crate) fn nested(render: impl Fn(Dialect) -> Result<Expr> + Send + Sync + 'static, aggregate: bool, depth: u32) -> Self {
        if depth > crate::MAX_CONDITION_DEPTH {
            let message = format!(
                "a computed value nests deeper than {} levels of arithmetic, `coalesce`, `then_else` and conditions",
                crate::MAX_CONDITION_DEPTH
            );
            return Computed {
                render: Arc::new(move |_| Err(Error::invalid(InvalidQueryKind::OutOfRange, message.clone()))),
                aggregate,
                depth,
                _marker: PhantomData,
            };
        }
        Computed { render: Arc::new(render), aggregate, depth, _marker: PhantomData }
    }

    fn compare(&self, value: impl IntoColumnValue<T>, op: fn(Expr, Expr) -> Expr) -> Condition<M> {
        self.compare_value(value.into_column_value(), op)
    }

    fn compare_value(&self, value: sea_query::Value, op: fn(Expr, Expr) -> Expr) -> Condition<M> {
        let render = self.render.clone();
        let value = crate::types::param(&T::SQL_TYPE, value);
        Condition::nested(
            move |dialect| {
                // SQLite binds a decimal as its text, which sorts after every number: compared with
                // a computed number (an `i64` sum), it is made a number first.
                let value = match (dialect, T::SQL_TYPE) {
                    (Dialect::Sqlite, crate::types::SqlType::Decimal) => value.clone().cast_as("NUMERIC"),
                    _ => value.clone(),
                };
                Ok(op(render(dialect)?, value))
            },
            self.depth,
            self.aggregate,
        )
    }

    /// `value = …`, for `having`; `None` means `IS NULL`.
    pub fn eq(&self, value: impl IntoColumnValue<T>) -> Condition<M> {
        let value = value.into_column_value();
        if value == value.as_null() {
            let render = self.render.clone();
            return Condition::nested(move |dialect| Ok(render(dialect)?.is_null()), self.depth, self.aggregate);
        }
        self.compare_value(value, |a, b| a.eq(b))
    }

    /// `value > …`, for `having`.
    pub fn gt(&self, value: impl IntoColumnValue<T>) -> Condition<M> {
        self.compare(value, |a, b| a.gt(b))
    }

    /// `value >= …`, for `having`.
    pub fn ge(&self, value: impl IntoColumnValue<T>) -> Condition<M> {
        self.compare(value, |a, b| a.gte(b))
    }

    /// `value < …`, for `having`.
    pub fn lt(&self, value: impl IntoColumnValue<T>) -> Condition<M> {
        self.compare(value, |a, b| a.lt(b))
    }

    /// `value <= …`, for `having`.
    pub fn le(&self, value: impl IntoColumnValue<T>) -> Condition<M> {
        self.compare(value, |a, b| a.lte(b))
    }

    /// Ascending order by this value.
    pub fn asc(&self) -> Ordering<M> {
        Ordering { render: self.render.clone(), order: Order::Asc, aggregate: self.aggregate, _marker: PhantomData }
    }

    /// Descending order by this value.
    pub fn desc(&self) -> Ordering<M> {
        Ordering { render: self.render.clone(), order: Order::Desc, aggregate: self.aggregate, _marker: PhantomData }
    }
}

/// An order term of a projection: a computed value's (`u.age.max().desc()`). Columns are
/// ordered by with the query's own `order_by`, before these terms.
pub struct Ordering<M> {
    render: Render,
    order: Order,
    aggregate: bool,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for Ordering<M> {
    fn clone(&self) -> Self {
        Ordering { render: self.render.clone(), order: self.order.clone(), aggregate: self.aggregate, _marker: PhantomData }
    }
}

/// What a projection can pick: a column, a computed value, or a tuple of them (up to twelve).
/// [`Output`](Self::Output) is the row type the picks read as.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected from `{M}`",
    label = "pick columns and computed values of the queried model",
    note = "select a column (`u.name`), a computed value (`u.age.max()`), or a tuple of them"
)]
pub trait Selection<M> {
    /// The row type of the picked values, in order.
    type Output: FromRow;
    /// Adds the picks, in order.
    #[doc(hidden)]
    fn picks(self, out: &mut Vec<Pick>);
}

/// One picked value: how it is written, and what it is (a grouped query may pick grouped
/// columns and aggregates only).
#[doc(hidden)]
pub struct Pick {
    render: Render,
    kind: PickKind,
    depth: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PickKind {
    Column(&'static str),
    Aggregate,
    PerRow,
}

impl<M: Model, T: FieldType> Selection<M> for Column<M, T> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        out.push(Pick { render: Arc::new(move |_| Ok(self.expr())), kind: PickKind::Column(self.name()), depth: 0 });
    }
}

impl<M: Model, T: FieldType, K: ComputedKind> Selection<M> for Computed<M, T, K> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        let kind = if self.aggregate { PickKind::Aggregate } else { PickKind::PerRow };
        out.push(Pick { render: self.render, kind, depth: self.depth });
    }
}

macro_rules! tuple_selection {
    ($($name:ident),+) => {
        impl<M, $($name: Selection<M>),+> Selection<M> for ($($name,)+) {
            type Output = ($($name::Output,)+);
            #[allow(non_snake_case)]
            fn picks(self, out: &mut Vec<Pick>) {
                let ($($name,)+) = self;
                $($name.picks(out);)+
            }
        }
    };
}

crate::row::for_each_tuple!(tuple_selection);

/// What can be grouped by: a column, or a tuple of columns (up to twelve).
pub trait Grouping<M> {
    /// Adds the grouped columns' names.
    #[doc(hidden)]
    fn columns(self, out: &mut Vec<&'static str>);
}

impl<M: Model, T> Grouping<M> for Column<M, T> {
    fn columns(self, out: &mut Vec<&'static str>) {
        out.push(self.name());
    }
}

macro_rules! tuple_grouping {
    ($($name:ident),+) => {
        impl<M, $($name: Grouping<M>),+> Grouping<M> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn columns(self, out: &mut Vec<&'static str>) {
                let ($($name,)+) = self;
                $($name.columns(out);)+
            }
        }
    };
}

crate::row::for_each_tuple!(tuple_grouping);

impl<M: Model> Select<M> {
    /// Picks columns and computed values instead of whole models: the rows read as the
    /// picks' types, in order (`(String, Option<i32>)` for `|u| (u.name, u.age.max())`). The
    /// query's filter, order, limit and offset apply; `related(..)` does not.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "players")]
    /// # struct Player { #[duo(primary_key)] id: i64, team: String, points: i32 }
    /// # fn main() -> duo_orm::Result<()> {
    /// let best = Player::query()
    ///     .select(|p| (p.team, p.points.max(), p.id.count()))
    ///     .group_by(|p| p.team)
    ///     .having(|p| p.id.count().gt(1))
    ///     .order_by(|p| p.points.max().desc());
    /// assert_eq!(
    ///     best.to_sql(Dialect::Postgres)?.sql,
    ///     r#"SELECT "players"."team", MAX("players"."points"), COUNT("players"."id") FROM "players" GROUP BY "players"."team" HAVING COUNT("players"."id") > $1 ORDER BY MAX("players"."points") DESC"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn select<S: Selection<M>>(self, pick: impl FnOnce(&M::Columns) -> S) -> Projected<M, S::Output> {
        let mut picks = Vec::new();
        pick(M::columns()).picks(&mut picks);
        Projected { query: self, picks, distinct: false, group_by: Vec::new(), having: None, order: Vec::new(), _marker: PhantomData }
    }
}

/// A query of picked columns and computed values, from [`Select::select`]. Its rows read as
/// `T`.
#[must_use = "a query does nothing until `.all()` or `.first()` is awaited"]
pub struct Projected<M, T> {
    query: Select<M>,
    picks: Vec<Pick>,
    distinct: bool,
    group_by: Vec<&'static str>,
    having: Option<Condition<M>>,
    order: Vec<Ordering<M>>,
    _marker: PhantomData<fn() -> T>,
}

impl<M: Model, T: FromRow> Projected<M, T> {
    /// At most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.query = self.query.limit(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.query = self.query.offset(n);
        self
    }

    /// `SELECT DISTINCT`: each different row once.
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// `GROUP BY` these columns: each computed value is then one per group. Calling it again
    /// adds columns.
    pub fn group_by<G: Grouping<M>>(mut self, columns: impl FnOnce(&M::Columns) -> G) -> Self {
        columns(M::columns()).columns(&mut self.group_by);
        self
    }

    /// `HAVING`: keeps the groups whose computed values pass (`|p| p.id.count().gt(1)`). Calling
    /// it again adds a condition that must also hold.
    pub fn having(mut self, condition: impl FnOnce(&M::Columns) -> Condition<M>) -> Self {
        let condition = condition(M::columns());
        self.having = Some(match self.having.take() {
            Some(before) => before.and(condition),
            None => condition,
        });
        self
    }

    /// Orders by computed values (`|p| p.points.max().desc()`), after the query's own
    /// `order_by` terms. Calling it again adds terms.
    pub fn order_by(mut self, term: impl FnOnce(&M::Columns) -> Ordering<M>) -> Self {
        self.order.push(term(M::columns()));
        self
    }

    /// How many values each row picks.
    pub(crate) fn pick_count(&self) -> usize {
        self.picks.len()
    }

    /// How deeply the query's conditions (its filter and `having`) nest.
    pub(crate) fn depth(&self) -> u32 {
        let filter = self.query.filter.as_ref().map_or(0, crate::column::CondExpr::depth);
        let picks = self.picks.iter().map(|pick| pick.depth).max().unwrap_or(0);
        Ord::max(Ord::max(filter, picks), self.having.as_ref().map_or(0, Condition::depth))
    }

    /// The SQL and values this projection runs in `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        let (stmt, paging, ordered) = self.statement(dialect)?;
        if dialect == Dialect::MsSql && self.distinct && paging.is_set() && !ordered {
            // SQL Server pages with `ORDER BY (SELECT NULL)`, which DISTINCT refuses.
            return Err(Error::unsupported(dialect, "`distinct()` with a limit or an offset but no order; help: add an `order_by`"));
        }
        Ok(dialect::render_select(dialect, stmt, paging, ordered))
    }

    /// The statement without its paging, the paging, and whether it is ordered.
    pub(crate) fn statement(&self, dialect: Dialect) -> Result<(SelectStatement, Paging, bool)> {
        self.check_grouping()?;
        let (mut stmt, paging) = self.query.projection_body(dialect)?;
        stmt.clear_selects();
        for pick in &self.picks {
            stmt.expr((pick.render)(dialect)?);
        }
        if self.distinct {
            stmt.distinct();
        }
        let table = M::meta().table;
        if !self.group_by.is_empty() {
            stmt.add_group_by(self.group_by.iter().map(|column| Expr::col((table, *column))));
        }
        if let Some(having) = &self.having {
            let (expr, error) = having.clone().into_parts();
            if let Some(invalid) = error {
                return Err(invalid.into());
            }
            stmt.and_having(expr.resolve(dialect)?);
        }
        for term in &self.order {
            stmt.order_by_expr((term.render)(dialect)?, term.order.clone());
        }
        let ordered = self.query.is_ordered() || !self.order.is_empty();
        Ok((stmt, paging, ordered))
    }

    /// Refuses a plain column that a grouped query (one with `group_by`, or with an aggregate
    /// pick) would read from an arbitrary row of its group: PostgreSQL, SQL Server, Oracle and
    /// MySQL's `ONLY_FULL_GROUP_BY` refuse it, SQLite and MariaDB answer with any row's value.
    fn check_grouping(&self) -> Result<()> {
        let grouped = !self.group_by.is_empty() || self.picks.iter().any(|pick| pick.kind == PickKind::Aggregate);
        if !grouped {
            return Ok(());
        }
        if self.picks.iter().any(|pick| pick.kind == PickKind::PerRow) || self.order.iter().any(|term| !term.aggregate) {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                "a grouped query picks or orders by a value computed per row, which each group has many of; help: use an \
                 aggregate of it (`.sum()`, `.max()`, …)",
            ));
        }
        let ungrouped = |column: &str| !self.group_by.contains(&column);
        let columns = self.picks.iter().filter_map(|pick| match pick.kind {
            PickKind::Column(name) => Some(name),
            _ => None,
        });
        if let Some(column) = columns.clone().find(|c| ungrouped(c)) {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!(
                    "`{column}` is picked in a grouped query but not grouped: each group has many values of it; help: add it \
                     to `group_by`, or pick an aggregate of it (`max()`, `count()`, …)"
                ),
            ));
        }
        for term in self.query.order_terms() {
            if term.expr.is_some() || ungrouped(term.column) {
                return Err(Error::invalid(
                    InvalidQueryKind::Argument,
                    format!(
                        "the query orders by `{}`, which a grouped query does not have per group; help: order by a grouped \
                         column, or by an aggregate with the projection's `order_by`",
                        if term.expr.is_some() { "an expression" } else { term.column }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every row.
    pub fn all<'a>(self) -> Pending<'a, Vec<T>> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = self.to_sql(db.dialect()?)?;
                crate::query::fetch_rows::<T>(db, stmt).await
            })
        })
    }

    /// The first row, or `None`.
    pub fn first<'a>(mut self) -> Pending<'a, Option<T>> {
        self.query = self.query.limit(1);
        self.all().map(|rows| rows.into_iter().next())
    }

    /// The same picks read as another row type with the same columns in order: a
    /// `#[derive(FromRow)]` struct. Each field's type is checked against its column when the
    /// rows are read (a mismatch is an `Error::Decode` naming the field).
    pub fn into_rows<R: FromRow>(self) -> Projected<M, R> {
        Projected {
            query: self.query,
            picks: self.picks,
            distinct: self.distinct,
            group_by: self.group_by,
            having: self.having,
            order: self.order,
            _marker: PhantomData,
        }
    }
}
