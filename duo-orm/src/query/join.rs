//! Joins into tuples: `User::query().left_join(|u| u.posts)` reads each joined row as
//! `(User, Option<Post>)`, up to three models, along declared relationships or column pairs.
//!
//! The row type is built as the joins are added, so it needs no annotation: an inner join adds
//! `T`, a left join `Option<T>` (`None` when nothing matched). Conditions and orders can name
//! any joined model; that they do is checked at compile time ([`JoinedModel`]).

use std::marker::PhantomData;

use sea_query::{Expr, ExprTrait, JoinType, Order, SelectStatement};

use crate::Column;
use crate::column::{CondExpr, Condition, OrderBy};
use crate::dialect::{self, Dialect, Statement};
use crate::error::{Error, Invalid, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta};
use crate::pending::Pending;
use crate::query::select::Select;
use crate::relation::{Relation, RelationMeta};
use crate::types::SqlType;
use crate::types::{RowCursor, RowResult};

/// One model of a joined row: `M` itself (an inner join, or the queried model), or
/// `Option<M>` (a left join, `None` when no row matched).
pub trait JoinSide: Send + 'static + Sized {
    /// The model this side reads.
    type Model: Model;
    /// Reads this side's columns from `row`, from its current position.
    #[doc(hidden)]
    fn decode_side(row: &mut RowCursor<'_>) -> RowResult<Self>;
}

impl<M: Model> JoinSide for M {
    #[inline(always)]
    fn decode_side(row: &mut RowCursor<'_>) -> RowResult<Self> {
        M::decode(row)
    }

    type Model = M;
}

impl<M: Model> JoinSide for Option<M> {
    type Model = M;

    #[inline(always)]
    fn decode_side(row: &mut RowCursor<'_>) -> RowResult<Self> {
        let meta = M::meta();
        // A primary key is never NULL in a stored row: NULL means the left join found none.
        if row.is_null_ahead(meta.primary_key[0])? {
            row.skip(meta.columns.len());
            Ok(None)
        } else {
            M::decode(row).map(Some)
        }
    }
}

/// The row type of a joined query: a tuple of [`JoinSide`]s whose first is the queried model,
/// `(User, Option<Post>)` or `(User, Post, Option<Comment>)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the row of a joined query",
    note = "a joined query reads tuples of up to three models: the queried model, then one per join"
)]
pub trait JoinRow: Send + 'static + Sized {
    /// The typed column handles of each joined model, in order, for the closures of
    /// [`Joined::filter`], [`Joined::order_by`] and the next join.
    type Columns: Copy;
    /// The column handles.
    #[doc(hidden)]
    fn columns() -> Self::Columns;
    /// Reads one joined row.
    #[doc(hidden)]
    fn decode(row: &mut RowCursor<'_>) -> RowResult<Self>;
}

impl<A: Model> JoinRow for (A,) {
    type Columns = (&'static A::Columns,);
    fn columns() -> Self::Columns {
        (A::columns(),)
    }
    #[inline(always)]
    fn decode(row: &mut RowCursor<'_>) -> RowResult<Self> {
        Ok((A::decode(row)?,))
    }
}

impl<A: Model, B: JoinSide> JoinRow for (A, B) {
    type Columns = (&'static A::Columns, &'static <B::Model as Model>::Columns);
    fn columns() -> Self::Columns {
        (A::columns(), B::Model::columns())
    }
    #[inline(always)]
    fn decode(row: &mut RowCursor<'_>) -> RowResult<Self> {
        Ok((A::decode(row)?, B::decode_side(row)?))
    }
}

impl<A: Model, B: JoinSide, C: JoinSide> JoinRow for (A, B, C) {
    type Columns = (&'static A::Columns, &'static <B::Model as Model>::Columns, &'static <C::Model as Model>::Columns);
    fn columns() -> Self::Columns {
        (A::columns(), B::Model::columns(), C::Model::columns())
    }
    #[inline(always)]
    fn decode(row: &mut RowCursor<'_>) -> RowResult<Self> {
        Ok((A::decode(row)?, B::decode_side(row)?, C::decode_side(row)?))
    }
}

/// A joined row with one more side `S`: what a join turns the row type into.
#[diagnostic::on_unimplemented(
    message = "a joined query reads at most three models",
    note = "join fewer models, or write the query with `db.raw(..)` or `alchemize()`"
)]
pub trait JoinAppend<S>: JoinRow {
    /// The row type with `S` added.
    type Output: JoinRow;
}

impl<A: Model, S: JoinSide> JoinAppend<S> for (A,) {
    type Output = (A, S);
}

impl<A: Model, B: JoinSide, S: JoinSide> JoinAppend<S> for (A, B) {
    type Output = (A, B, S);
}

/// Positions in a joined row, which tell [`JoinedModel`]'s impls apart (inferred, never
/// written).
#[doc(hidden)]
pub mod position {
    pub struct First;
    pub struct Second;
    pub struct Third;
}
use position::{First, Second, Third};

/// Says that `Self` is one of the models of the joined row `R` (at position `P`, which the
/// compiler infers): a condition or an order of a joined query can only name joined models.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not one of the models of this joined query",
    label = "not joined",
    note = "conditions, orders and joins name models already in the query (`{R}`); join `{Self}` first"
)]
pub trait JoinedModel<R, P> {}

impl<A: Model> JoinedModel<(A,), First> for A {}
impl<A: Model, B> JoinedModel<(A, B), First> for A {}
impl<A, B: Model> JoinedModel<(A, B), Second> for B {}
impl<A, B: Model> JoinedModel<(A, Option<B>), Second> for B {}
impl<A: Model, B, C> JoinedModel<(A, B, C), First> for A {}
impl<A, B: Model, C> JoinedModel<(A, B, C), Second> for B {}
impl<A, B: Model, C> JoinedModel<(A, Option<B>, C), Second> for B {}
impl<A, B, C: Model> JoinedModel<(A, B, C), Third> for C {}
impl<A, B, C: Model> JoinedModel<(A, B, Option<C>), Third> for C {}

/// A model at position `P` of the joined row `R` that every row has: not the optional side
/// of a left join, whose columns are NULL where nothing matched.
#[diagnostic::on_unimplemented(
    message = "`{Self}` may be missing from a row of this joined query",
    note = "a left join's optional side is NULL where nothing matched: use an aggregate of it, or `inner_join`"
)]
pub trait RequiredModel<R, P>: JoinedModel<R, P> {}

impl<A: Model> RequiredModel<(A,), First> for A {}
impl<A: Model, B> RequiredModel<(A, B), First> for A {}
impl<A, B: Model> RequiredModel<(A, B), Second> for B {}
impl<A: Model, B, C> RequiredModel<(A, B, C), First> for A {}
impl<A, B: Model, C> RequiredModel<(A, B, C), Second> for B {}
impl<A, B, C: Model> RequiredModel<(A, B, C), Third> for C {}

/// Two column types a column-pair join can match: the same type, or one of them optional
/// (a nullable foreign key against a key).
#[diagnostic::on_unimplemented(
    message = "cannot join a `{Self}` column on a `{W}` column",
    note = "a join matches columns of the same type (one of them may be an `Option`)"
)]
pub trait JoinKey<W> {}
impl<V> JoinKey<V> for V {}
impl<V> JoinKey<Option<V>> for V {}
impl<V> JoinKey<V> for Option<V> {}

/// One `JOIN` of a joined query: the table and its `ON` condition.
#[derive(Clone)]
struct JoinClause {
    kind: JoinType,
    table: &'static str,
    on: Expr,
    /// The model whose columns the rows read from this table (`None` for a many-to-many's
    /// join table, which adds none).
    model: Option<&'static ModelMeta>,
}

/// One `ORDER BY` term of a joined query, with the table of its model.
#[derive(Clone)]
struct JoinedOrder {
    table: &'static str,
    column: &'static str,
    descending: bool,
    expr: Option<Expr>,
}

/// A query of `M` joined with other models, from [`Select::inner_join`],
/// [`Select::left_join`] and the `_on` variants. Its rows read as `R`, a tuple with one
/// model per joined table.
#[must_use = "a query does nothing until `.all()` or `.first()` is awaited"]
pub struct Joined<M, R> {
    query: Select<M>,
    parts: JoinParts,
    _marker: PhantomData<fn() -> R>,
}

/// What a joined query adds to its queried model's SELECT (a projection of it too).
#[derive(Clone)]
pub(crate) struct JoinParts {
    /// The tables in the query, the queried model's first: a table joined twice would need
    /// aliases, which the typed columns do not write.
    tables: Vec<&'static str>,
    joins: Vec<JoinClause>,
    filters: Vec<CondExpr>,
    order: Vec<JoinedOrder>,
    error: Option<Invalid>,
    /// A JSON or binary column a column-pair join compares, which Oracle cannot compare.
    uncomparable: Option<String>,
}

impl JoinParts {
    /// Records why the query is invalid (the first reason wins).
    pub(crate) fn fail(&mut self, error: Invalid) {
        self.error.get_or_insert(error);
    }

    /// Fails with the reason the joins cannot be written in `dialect`, if any.
    pub(crate) fn check(&self, dialect: Dialect) -> Result<()> {
        if let Some(invalid) = &self.error {
            return Err(invalid.clone().into());
        }
        if let (Dialect::Oracle, Some(column)) = (dialect, &self.uncomparable) {
            return Err(Error::unsupported(dialect, format!("joining on `{column}`: Oracle cannot compare JSON or BLOB values")));
        }
        Ok(())
    }

    /// Adds the joins, their conditions and orders to `stmt` (the queried model's SELECT),
    /// and the joined models' columns when `with_columns`.
    pub(crate) fn add_to(&self, stmt: &mut SelectStatement, dialect: Dialect, with_columns: bool) -> Result<()> {
        for join in &self.joins {
            stmt.join(join.kind, join.table, join.on.clone());
        }
        if with_columns {
            for meta in self.joins.iter().filter_map(|join| join.model) {
                stmt.columns(meta.columns.iter().map(|c| (meta.table, c.name)));
            }
        }
        for filter in &self.filters {
            stmt.and_where(filter.resolve(dialect)?);
        }
        for term in &self.order {
            let order = if term.descending { Order::Desc } else { Order::Asc };
            match &term.expr {
                Some(expr) => stmt.order_by_expr(expr.clone(), order),
                None => stmt.order_by((term.table, term.column), order),
            };
        }
        Ok(())
    }

    /// Whether the joins add orders.
    pub(crate) fn is_ordered(&self) -> bool {
        !self.order.is_empty()
    }

    /// The joins' order terms: each column's table and name, `None` for an expression.
    pub(crate) fn order_columns(&self) -> impl Iterator<Item = Option<(&'static str, &'static str)>> + '_ {
        self.order.iter().map(|term| term.expr.is_none().then_some((term.table, term.column)))
    }
}

impl<M, R> Clone for Joined<M, R> {
    fn clone(&self) -> Self {
        Joined { query: self.query.clone(), parts: self.parts.clone(), _marker: PhantomData }
    }
}

impl<M, R> std::fmt::Debug for Joined<M, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined").field("query", &self.query).field("tables", &self.parts.tables).finish()
    }
}

impl<M: Model> Select<M> {
    /// Joins the rows of a relationship (`INNER JOIN`): each row reads as `(M, T)`, one per
    /// related row, so an owner with none is left out and one with many comes once per
    /// related row. The query's filter, order, limit and offset apply to the joined rows;
    /// `related(..)` does not apply.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "users")]
    /// # struct User { #[duo(primary_key)] id: i64, name: String, #[duo(has_many(Post, foreign_key = author_id))] posts: Related<Vec<Post>> }
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "posts")]
    /// # struct Post { #[duo(primary_key)] id: i64, author_id: i64, title: String }
    /// # fn main() -> duo_orm::Result<()> {
    /// let query = User::query().inner_join(|u| u.posts).filter(|(_, p)| p.title.contains("rust"));
    /// assert_eq!(
    ///     query.to_sql(Dialect::Postgres)?.sql,
    ///     r#"SELECT "users"."id", "users"."name", "posts"."id", "posts"."author_id", "posts"."title" FROM "users" INNER JOIN "posts" ON "posts"."author_id" = "users"."id" WHERE "posts"."title" LIKE $1 ESCAPE '!'"#
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn inner_join<T: Model>(self, relation: impl FnOnce(&'static M::Columns) -> Relation<M, T>) -> Joined<M, (M, T)> {
        Joined::start(self).inner_join(|(m,)| relation(m))
    }

    /// Joins the rows of a relationship (`LEFT JOIN`): each row reads as `(M, Option<T>)`,
    /// `None` for an owner with no related row. Otherwise as [`inner_join`](Self::inner_join).
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "users")]
    /// # struct User { #[duo(primary_key)] id: i64, hair_color: Option<String>, #[duo(has_many(Post, foreign_key = author_id))] posts: Related<Vec<Post>> }
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "posts")]
    /// # struct Post { #[duo(primary_key)] id: i64, author_id: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # let db = Database::new("sqlite::memory:");
    /// # db.register::<User>(); db.register::<Post>(); db.create_all().await?;
    /// let rows: Vec<(User, Option<Post>)> = User::query()
    ///     .left_join(|u| u.posts)
    ///     .filter(|(u, _)| u.hair_color.eq("black"))
    ///     .all()
    ///     .on(&db)
    ///     .await?;
    /// # assert!(rows.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn left_join<T: Model>(self, relation: impl FnOnce(&'static M::Columns) -> Relation<M, T>) -> Joined<M, (M, Option<T>)> {
        Joined::start(self).left_join(|(m,)| relation(m))
    }

    /// Joins `T` on a pair of columns (`INNER JOIN … ON m.a = t.b`), for tables with no
    /// declared relationship: `inner_join_on::<Badge, _, _>(|u, b| (u.id, b.holder_id))`. The
    /// two columns have the same type, or one is its `Option`.
    pub fn inner_join_on<T: Model, V, W>(
        self,
        on: impl FnOnce(&'static M::Columns, &'static T::Columns) -> (Column<M, V>, Column<T, W>),
    ) -> Joined<M, (M, T)>
    where
        V: JoinKey<W>,
    {
        Joined::start(self).inner_join_on(|(m,), t| on(m, t))
    }

    /// [`inner_join_on`](Self::inner_join_on) as a `LEFT JOIN`: rows read as `(M, Option<T>)`.
    pub fn left_join_on<T: Model, V, W>(
        self,
        on: impl FnOnce(&'static M::Columns, &'static T::Columns) -> (Column<M, V>, Column<T, W>),
    ) -> Joined<M, (M, Option<T>)>
    where
        V: JoinKey<W>,
    {
        Joined::start(self).left_join_on(|(m,), t| on(m, t))
    }
}

impl<M: Model> Joined<M, (M,)> {
    fn start(query: Select<M>) -> Self {
        let error = query.has_related().then(|| {
            Invalid::new(
                InvalidQueryKind::Relationship,
                "`related(..)` does not apply to a joined query, whose models are plain rows; help: drop it, or load \
                 the relationship with `related(..)` on a query without joins",
            )
        });
        let parts = JoinParts {
            tables: vec![M::meta().table],
            joins: Vec::new(),
            filters: Vec::new(),
            order: Vec::new(),
            error,
            uncomparable: None,
        };
        Joined { query, parts, _marker: PhantomData }
    }
}

impl<M: Model, R: JoinRow> Joined<M, R> {
    /// Records why the query is invalid (the first reason wins).
    fn fail(&mut self, error: Invalid) {
        self.parts.fail(error);
    }

    /// The queried model's query and the joins.
    pub(crate) fn into_parts(self) -> (Select<M>, JoinParts) {
        (self.query, self.parts)
    }

    /// The same query with one more model in its rows.
    fn widen<S>(self) -> Joined<M, R::Output>
    where
        R: JoinAppend<S>,
    {
        Joined { query: self.query, parts: self.parts, _marker: PhantomData }
    }

    /// Adds `table` with `on` (reading `model`'s columns from it), refusing a table already in
    /// the query.
    fn add_join(&mut self, kind: JoinType, table: &'static str, on: Expr, model: Option<&'static ModelMeta>) {
        if self.parts.tables.contains(&table) {
            self.fail(Invalid::new(
                InvalidQueryKind::Argument,
                format!(
                    "the joined query already has the table `{table}`: a table joined twice needs aliases, which joins into \
                     tuples do not write; help: write it with `alchemize()` or `db.raw(..)`"
                ),
            ));
            return;
        }
        self.parts.tables.push(table);
        self.parts.joins.push(JoinClause { kind, table, on, model });
    }

    /// Adds the joins of `relation` (two for a many-to-many: its join table, then the targets).
    fn join_relation<X: Model, T: Model>(&mut self, kind: JoinType, relation: Relation<X, T>) {
        let path = relation.erase();
        let [hop] = path.hops[..] else {
            self.fail(Invalid::new(
                InvalidQueryKind::Relationship,
                format!("cannot join `{}`: a join follows one relationship; help: join each hop in turn", relation.path_name()),
            ));
            return;
        };
        let hop: &'static RelationMeta = hop;
        // A relationship value names its models in its type; one built by hand could lie, and
        // would then join a table the query lacks or read the wrong columns.
        if !std::ptr::eq((hop.owner)(), X::meta()) || !std::ptr::eq((hop.target)(), T::meta()) {
            self.fail(Invalid::new(
                InvalidQueryKind::Relationship,
                format!(
                    "cannot join `{}`: it is not a relationship of {} leading to {}",
                    hop.qualified_name(),
                    X::meta().name,
                    T::meta().name
                ),
            ));
            return;
        }
        let owner = (hop.owner)().table;
        let target = (hop.target)();
        let target_key = Expr::col((target.table, (hop.target_column)()));
        match &hop.through {
            Some(through) => {
                let link = (through.table)();
                let link_on = Expr::col((link, (through.owner_column)())).equals((owner, (hop.owner_column)()));
                self.add_join(kind, link, link_on, None);
                self.add_join(kind, target.table, target_key.equals((link, (through.target_column)())), Some(target));
            }
            None => self.add_join(kind, target.table, target_key.equals((owner, (hop.owner_column)())), Some(target)),
        }
    }

    /// Joins a relationship of any model in the query (`INNER JOIN`): `|(u, p)| p.comments`.
    /// The rows gain a `T`.
    pub fn inner_join<X, P, T: Model>(mut self, relation: impl FnOnce(R::Columns) -> Relation<X, T>) -> Joined<M, R::Output>
    where
        X: Model + JoinedModel<R, P>,
        R: JoinAppend<T>,
    {
        self.join_relation(JoinType::InnerJoin, relation(R::columns()));
        self.widen::<T>()
    }

    /// Joins a relationship of any model in the query (`LEFT JOIN`): the rows gain an
    /// `Option<T>`.
    pub fn left_join<X, P, T: Model>(mut self, relation: impl FnOnce(R::Columns) -> Relation<X, T>) -> Joined<M, R::Output>
    where
        X: Model + JoinedModel<R, P>,
        R: JoinAppend<Option<T>>,
    {
        self.join_relation(JoinType::LeftJoin, relation(R::columns()));
        self.widen::<Option<T>>()
    }

    fn join_columns<X: Model, T: Model, V, W>(&mut self, kind: JoinType, (left, right): (Column<X, V>, Column<T, W>)) {
        for (meta, name) in [(X::meta(), left.name()), (T::meta(), right.name())] {
            if let Some(column) = meta.columns.iter().find(|c| c.name == name)
                && matches!(column.sql_type, SqlType::Json | SqlType::Blob)
            {
                self.parts.uncomparable.get_or_insert(format!("{}.{name}", meta.name));
            }
        }
        self.add_join(kind, T::meta().table, right.expr().equals((X::meta().table, left.name())), Some(T::meta()));
    }

    /// Joins `T` on a column of a model in the query and one of `T` (`INNER JOIN`): the rows
    /// gain a `T`.
    pub fn inner_join_on<T: Model, X, P, V, W>(
        mut self,
        on: impl FnOnce(R::Columns, &'static T::Columns) -> (Column<X, V>, Column<T, W>),
    ) -> Joined<M, R::Output>
    where
        X: Model + JoinedModel<R, P>,
        V: JoinKey<W>,
        R: JoinAppend<T>,
    {
        let pair = on(R::columns(), T::columns());
        self.join_columns(JoinType::InnerJoin, pair);
        self.widen::<T>()
    }

    /// Joins `T` on a column of a model in the query and one of `T` (`LEFT JOIN`): the rows
    /// gain an `Option<T>`.
    pub fn left_join_on<T: Model, X, P, V, W>(
        mut self,
        on: impl FnOnce(R::Columns, &'static T::Columns) -> (Column<X, V>, Column<T, W>),
    ) -> Joined<M, R::Output>
    where
        X: Model + JoinedModel<R, P>,
        V: JoinKey<W>,
        R: JoinAppend<Option<T>>,
    {
        let pair = on(R::columns(), T::columns());
        self.join_columns(JoinType::LeftJoin, pair);
        self.widen::<Option<T>>()
    }

    /// Adds a condition on any joined model (ANDed with the others): `|(u, p)|
    /// p.title.contains("rust")`. Call it again for conditions on another model. On the
    /// optional side of a left join, the columns of a row with no match are NULL, as in SQL: a
    /// comparison with a value is false there, so it drops such rows (add `| p.id.is_null()` to
    /// keep them), and `p.id.is_null()` keeps only them.
    pub fn filter<X, P>(mut self, condition: impl FnOnce(R::Columns) -> Condition<X>) -> Self
    where
        X: JoinedModel<R, P>,
    {
        let (expr, error) = condition(R::columns()).into_parts();
        if let Some(error) = error {
            self.fail(error);
        }
        self.parts.filters.push(expr);
        self
    }

    /// Orders by a column of any joined model: `|(_, p)| p.id.desc()`, after the queried
    /// model's own `order_by` terms. Call it again for more terms.
    pub fn order_by<X, P>(mut self, term: impl FnOnce(R::Columns) -> OrderBy<X>) -> Self
    where
        X: Model + JoinedModel<R, P>,
    {
        let term = term(R::columns());
        let expr = match term.expr {
            Some(Ok(expr)) => Some(expr),
            Some(Err(error)) => {
                self.fail(Invalid::new(InvalidQueryKind::Relationship, error));
                None
            }
            None => None,
        };
        self.parts.order.push(JoinedOrder { table: X::meta().table, column: term.column, descending: term.descending, expr });
        self
    }

    /// At most `n` joined rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.query = self.query.limit(n);
        self
    }

    /// Skips the first `n` joined rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.query = self.query.offset(n);
        self
    }

    /// The SQL and values this query runs in `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        // The queried model's own reasons come first: they were recorded before any join.
        self.query.check()?;
        self.parts.check(dialect)?;
        let (mut stmt, paging) = self.query.projection_body(dialect)?;
        self.parts.add_to(&mut stmt, dialect, true)?;
        let ordered = self.query.is_ordered() || self.parts.is_ordered();
        Ok(dialect::render_select(dialect, stmt, paging, ordered))
    }

    /// Every joined row.
    pub fn all<'a>(self) -> Pending<'a, Vec<R>> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = self.to_sql(db.dialect()?)?;
                db.fetch_decoded(stmt, M::meta().name, R::decode).await
            })
        })
    }

    /// The first joined row, or `None`.
    pub fn first<'a>(mut self) -> Pending<'a, Option<R>> {
        self.query = self.query.limit(1);
        self.all().map(|rows| rows.into_iter().next())
    }
}
