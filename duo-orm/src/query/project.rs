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
use crate::query::join::{JoinParts, JoinRow, Joined, JoinedModel, RequiredModel};
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
    /// Its name in the SQL where it is picked (`AS "name"`), given with [`named`](Self::named).
    alias: Option<&'static str>,
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
        Computed { render: self.render.clone(), aggregate: self.aggregate, depth: self.depth, alias: self.alias, _marker: PhantomData }
    }
}

impl<M, T, K> Computed<M, T, K> {
    /// The same value read as another type (an assignment keeps only how it is written; a
    /// nullable column takes a value of its type).
    pub(crate) fn retyped<U>(self) -> Computed<M, U, K> {
        Computed { render: self.render, aggregate: self.aggregate, depth: self.depth, alias: self.alias, _marker: PhantomData }
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
                alias: None,
                _marker: PhantomData,
            };
        }
        Computed { render: Arc::new(render), aggregate, depth, alias: None, _marker: PhantomData }
    }

    /// The value named `name` in the SQL where it is picked (`SUM("units") AS "total"`),
    /// quoted by the dialect like any identifier. Rows are still read by position: the name
    /// is for whoever reads the SQL (logs, traces, the database's own statistics). A value
    /// built from a named one (`v.named("a").plus(1)`) has no name of its own.
    ///
    /// A name is 1 to 63 bytes without `"` or NUL, the names every backend takes alike
    /// (PostgreSQL cuts longer ones, and Oracle has no way to quote a `"`); any other makes
    /// the query fail with [`Error::InvalidQuery`].
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)]
    /// # #[duo(table = "sales")]
    /// # struct Sale { #[duo(primary_key)] id: i64, region: String, units: i32 }
    /// # fn main() -> duo_orm::Result<()> {
    /// let totals = Sale::query().select(|s| (s.region, s.units.sum().named("total"))).group_by(|s| s.region);
    /// let sql = totals.to_sql(Dialect::Postgres)?.sql;
    /// assert!(sql.starts_with(r#"SELECT "sales"."region", SUM("sales"."units") AS "total" FROM"#), "{sql}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn named(mut self, name: &'static str) -> Self {
        self.alias = Some(name);
        self
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
    alias: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PickKind {
    /// A column: its table and name.
    Column(&'static str, &'static str),
    Aggregate,
    PerRow,
}

impl<M: Model, T: FieldType> Selection<M> for Column<M, T> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        let kind = PickKind::Column(M::meta().table, self.name());
        out.push(Pick { render: Arc::new(move |_| Ok(self.expr())), kind, depth: 0, alias: None });
    }
}

impl<M: Model, T: FieldType, K: ComputedKind> Selection<M> for Computed<M, T, K> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        let kind = if self.aggregate { PickKind::Aggregate } else { PickKind::PerRow };
        out.push(Pick { render: self.render, kind, depth: self.depth, alias: self.alias });
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

/// `name` when every backend takes it alike as a picked value's name (see
/// [`Computed::named`]).
fn checked_name(name: &'static str) -> Result<&'static str> {
    if !name.is_empty() && name.len() <= 63 && !name.contains(['"', '\0']) {
        return Ok(name);
    }
    Err(Error::invalid(
        InvalidQueryKind::Argument,
        format!("{name:?} cannot name a picked value: a name is 1 to 63 bytes without `\"` or NUL"),
    ))
}

/// What can be grouped by: a column, or a tuple of columns (up to twelve).
pub trait Grouping<M> {
    /// Adds the grouped columns' tables and names.
    #[doc(hidden)]
    fn columns(self, out: &mut Vec<(&'static str, &'static str)>);
}

impl<M: Model, T> Grouping<M> for Column<M, T> {
    fn columns(self, out: &mut Vec<(&'static str, &'static str)>) {
        out.push((M::meta().table, self.name()));
    }
}

macro_rules! tuple_grouping {
    ($($name:ident),+) => {
        impl<M, $($name: Grouping<M>),+> Grouping<M> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn columns(self, out: &mut Vec<(&'static str, &'static str)>) {
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
        Projected::new(self, picks, None)
    }
}

/// A query of picked columns and computed values, from [`Select::select`]. Its rows read as
/// `T`.
#[must_use = "a query does nothing until `.all()` or `.first()` is awaited"]
pub struct Projected<M, T> {
    query: Select<M>,
    /// The joins of a projection of a joined query.
    joins: Option<JoinParts>,
    picks: Vec<Pick>,
    distinct: bool,
    group_by: Vec<(&'static str, &'static str)>,
    /// `having` conditions (on any joined model, in a projection of a joined query).
    having: Option<Condition<M>>,
    order: Vec<Ordering<M>>,
    _marker: PhantomData<fn() -> T>,
}

impl<M: Model, T: FromRow> Projected<M, T> {
    pub(crate) fn new(query: Select<M>, picks: Vec<Pick>, joins: Option<JoinParts>) -> Self {
        Projected { query, joins, picks, distinct: false, group_by: Vec::new(), having: None, order: Vec::new(), _marker: PhantomData }
    }

    /// Adds `condition` to `having`.
    fn add_having(&mut self, condition: Condition<M>) {
        self.having = Some(match self.having.take() {
            Some(before) => before.and(condition),
            None => condition,
        });
    }

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
        self.add_having(condition(M::columns()));
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
        // The queried model's own reasons first, as a joined query gives them.
        self.query.check()?;
        if let Some(joins) = &self.joins {
            joins.check(dialect)?;
        }
        self.check_grouping()?;
        let (mut stmt, paging) = self.query.projection_body(dialect)?;
        if let Some(joins) = &self.joins {
            joins.add_to(&mut stmt, dialect, false)?;
        }
        stmt.clear_selects();
        for pick in &self.picks {
            let expr = (pick.render)(dialect)?;
            match pick.alias {
                Some(name) => stmt.expr_as(expr, sea_query::Alias::new(checked_name(name)?)),
                None => stmt.expr(expr),
            };
        }
        if self.distinct {
            stmt.distinct();
        }
        if !self.group_by.is_empty() {
            stmt.add_group_by(self.group_by.iter().map(|&column| Expr::col(column)));
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
        let joins_ordered = self.joins.as_ref().is_some_and(JoinParts::is_ordered);
        let ordered = self.query.is_ordered() || joins_ordered || !self.order.is_empty();
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
        let grouped = |table: &'static str, column: &'static str| self.group_by.contains(&(table, column));
        let mut columns = self.picks.iter().filter_map(|pick| match pick.kind {
            PickKind::Column(table, name) => Some((table, name)),
            _ => None,
        });
        if let Some((_, column)) = columns.find(|&(table, column)| !grouped(table, column)) {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!(
                    "`{column}` is picked in a grouped query but not grouped: each group has many values of it; help: add it \
                     to `group_by`, or pick an aggregate of it (`max()`, `count()`, …)"
                ),
            ));
        }
        let table = M::meta().table;
        let own = self.query.order_terms().iter().map(|term| term.expr.is_none().then_some((table, term.column)));
        let joined = self.joins.iter().flat_map(JoinParts::order_columns);
        if let Some(term) = own.chain(joined).find(|term| term.is_none_or(|(table, column)| !grouped(table, column))) {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!(
                    "the query orders by `{}`, which a grouped query does not have per group; help: order by a grouped \
                     column, or by an aggregate with the projection's `order_by`",
                    term.map_or("an expression", |(_, column)| column)
                ),
            ));
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
    /// `#[derive(FromRow)]` struct whose fields have the picks' types, which the compiler
    /// checks ([`RowOf`](crate::RowOf)).
    pub fn into_rows<R: FromRow + crate::RowOf<T>>(self) -> Projected<M, R> {
        Projected {
            query: self.query,
            joins: self.joins,
            picks: self.picks,
            distinct: self.distinct,
            group_by: self.group_by,
            having: self.having,
            order: self.order,
            _marker: PhantomData,
        }
    }
}

impl<M> Ordering<M> {
    /// The same term, as an order of another model's query (a joined query's models share it).
    fn retype<N>(self) -> Ordering<N> {
        Ordering { render: self.render, order: self.order, aggregate: self.aggregate, _marker: PhantomData }
    }
}

// Projections of joined queries: `Post::query().inner_join(|p| p.author).select(|(p, a)|
// (a.name, p.id.count())).group_by(|(_, a)| a.name)`. The picks, groups and orders name any
// joined model; that they do is checked at compile time, as the joined query's conditions are.

/// What a projection of a joined query can pick: a column or computed value of a joined
/// model, or a tuple of them (up to six). `P` is where their models are in the joined row,
/// inferred.
///
/// A column, and a value computed per row, of a left join's optional side are refused: a row
/// with no match has NULL there, which the column's type cannot hold. Aggregates of them are
/// picked (`p.id.count()` counts the matches).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected from this joined query",
    label = "pick columns and computed values of the joined models",
    note = "a column of a left join's optional side may be NULL: pick an aggregate of it (`count()`, `max()`, …), or \
            join it with `inner_join`"
)]
pub trait JoinSelection<R, P> {
    /// The row type of the picked values, in order.
    type Output: FromRow;
    /// Adds the picks, in order.
    #[doc(hidden)]
    fn picks(self, out: &mut Vec<Pick>);
}

impl<R, P, X: Model + RequiredModel<R, P>, T: FieldType> JoinSelection<R, P> for Column<X, T> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        Selection::<X>::picks(self, out);
    }
}

impl<R, P, X: Model + RequiredModel<R, P>, T: FieldType> JoinSelection<R, P> for Computed<X, T, PerRow> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        Selection::<X>::picks(self, out);
    }
}

impl<R, P, X: Model + JoinedModel<R, P>, T: FieldType> JoinSelection<R, P> for Computed<X, T, Aggregate> {
    type Output = T;
    fn picks(self, out: &mut Vec<Pick>) {
        Selection::<X>::picks(self, out);
    }
}

/// What a projection of a joined query can group by: a column of a joined model, or a tuple of
/// them (up to six).
pub trait JoinGrouping<R, P> {
    /// Adds the grouped columns' tables and names.
    #[doc(hidden)]
    fn columns(self, out: &mut Vec<(&'static str, &'static str)>);
}

impl<R, P, X: Model + JoinedModel<R, P>, T> JoinGrouping<R, P> for Column<X, T> {
    fn columns(self, out: &mut Vec<(&'static str, &'static str)>) {
        Grouping::<X>::columns(self, out);
    }
}

macro_rules! joined_tuples {
    ($($name:ident $position:ident),+) => {
        impl<R, $($name: JoinSelection<R, $position>, $position),+> JoinSelection<R, ($($position,)+)> for ($($name,)+) {
            type Output = ($($name::Output,)+);
            #[allow(non_snake_case)]
            fn picks(self, out: &mut Vec<Pick>) {
                let ($($name,)+) = self;
                $($name.picks(out);)+
            }
        }

        impl<R, $($name: JoinGrouping<R, $position>, $position),+> JoinGrouping<R, ($($position,)+)> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn columns(self, out: &mut Vec<(&'static str, &'static str)>) {
                let ($($name,)+) = self;
                $($name.columns(out);)+
            }
        }
    };
}

joined_tuples!(A PA);
joined_tuples!(A PA, B PB);
joined_tuples!(A PA, B PB, C PC);
joined_tuples!(A PA, B PB, C PC, D PD);
joined_tuples!(A PA, B PB, C PC, D PD, E PE);
joined_tuples!(A PA, B PB, C PC, D PD, E PE, F PF);

impl<M: Model, R: JoinRow> Joined<M, R> {
    /// Picks columns and computed values of the joined models instead of whole rows, as
    /// [`Select::select`] does for one model: `|(p, a)| (a.name, p.id.count())`. Then
    /// `group_by`, `having` and `order_by` name any joined model too, so a query can group by
    /// a to-one relationship's columns.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "authors")]
    /// # struct Author { #[duo(primary_key)] id: i64, name: String }
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "posts")]
    /// # struct Post { #[duo(primary_key)] id: i64, author_id: i64, likes: i32, #[duo(belongs_to(Author))] author: Related<Author> }
    /// # fn main() -> duo_orm::Result<()> {
    /// let per_author = Post::query()
    ///     .inner_join(|p| p.author)
    ///     .select(|(p, a)| (a.name, p.id.count(), p.likes.sum()))
    ///     .group_by(|(_, a)| a.name)
    ///     .having(|(p, _)| p.id.count().gt(1))
    ///     .order_by(|(p, _)| p.likes.sum().desc());
    /// assert_eq!(
    ///     per_author.to_sql(Dialect::Postgres)?.sql,
    ///     r#"SELECT "authors"."name", COUNT("posts"."id"), SUM("posts"."likes") FROM "posts" INNER JOIN "authors" ON "authors"."id" = "posts"."author_id" GROUP BY "authors"."name" HAVING COUNT("posts"."id") > $1 ORDER BY SUM("posts"."likes") DESC"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn select<S: JoinSelection<R, P>, P>(self, pick: impl FnOnce(R::Columns) -> S) -> JoinedProjected<M, R, S::Output> {
        let mut picks = Vec::new();
        pick(R::columns()).picks(&mut picks);
        let (query, joins) = self.into_parts();
        JoinedProjected { inner: Projected::new(query, picks, Some(joins)), _rows: PhantomData }
    }
}

/// A projection of a joined query, from [`Joined::select`]: its rows read as `T`, and its
/// groups, conditions and orders name the models of the joined row `R`.
#[must_use = "a query does nothing until `.all()` or `.first()` is awaited"]
pub struct JoinedProjected<M, R, T> {
    inner: Projected<M, T>,
    _rows: PhantomData<fn() -> R>,
}

impl<M: Model, R: JoinRow, T: FromRow> JoinedProjected<M, R, T> {
    /// `GROUP BY` columns of any joined model (`|(_, a)| a.name`). Calling it again adds
    /// columns.
    pub fn group_by<G: JoinGrouping<R, P>, P>(mut self, columns: impl FnOnce(R::Columns) -> G) -> Self {
        columns(R::columns()).columns(&mut self.inner.group_by);
        self
    }

    /// `HAVING` on computed values of any joined model (`|(p, _)| p.id.count().gt(1)`).
    /// Calling it again adds a condition that must also hold.
    pub fn having<X: JoinedModel<R, P>, P>(mut self, condition: impl FnOnce(R::Columns) -> Condition<X>) -> Self {
        self.inner.add_having(condition(R::columns()).retype());
        self
    }

    /// Orders by a computed value of any joined model (`|(p, _)| p.likes.sum().desc()`),
    /// after the joined query's own orders. Calling it again adds terms.
    pub fn order_by<X: JoinedModel<R, P>, P>(mut self, term: impl FnOnce(R::Columns) -> Ordering<X>) -> Self {
        self.inner.order.push(term(R::columns()).retype());
        self
    }

    /// `SELECT DISTINCT`: each different row once.
    pub fn distinct(self) -> Self {
        JoinedProjected { inner: self.inner.distinct(), _rows: PhantomData }
    }

    /// At most `n` rows.
    pub fn limit(self, n: u64) -> Self {
        JoinedProjected { inner: self.inner.limit(n), _rows: PhantomData }
    }

    /// Skips the first `n` rows.
    pub fn offset(self, n: u64) -> Self {
        JoinedProjected { inner: self.inner.offset(n), _rows: PhantomData }
    }

    /// The SQL and values this projection runs in `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        self.inner.to_sql(dialect)
    }

    /// Every row.
    pub fn all<'a>(self) -> Pending<'a, Vec<T>> {
        self.inner.all()
    }

    /// The first row, or `None`.
    pub fn first<'a>(self) -> Pending<'a, Option<T>> {
        self.inner.first()
    }

    /// The same picks read as another row type with the same columns in order (see
    /// [`Projected::into_rows`]).
    pub fn into_rows<U: FromRow + crate::RowOf<T>>(self) -> JoinedProjected<M, R, U> {
        JoinedProjected { inner: self.inner.into_rows(), _rows: PhantomData }
    }
}

impl<M, R, T> std::fmt::Debug for JoinedProjected<M, R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinedProjected").field("picks", &self.inner.picks.len()).finish()
    }
}
