//! SELECT: the [`Select`] builder and its terminal operations.

use std::marker::PhantomData;

use sea_query::{Asterisk, Expr, ExprTrait, Order, Query, SelectStatement, Value};

use crate::column::{CondExpr, Condition, OrderBy, OrderTerms};
use crate::dialect::{self, Dialect, Paging, Statement};
use crate::error::{Error, Invalid, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta};
use crate::pending::Pending;
use crate::query::lock::{RowLock, Strength, WhenLocked};
use crate::relation::load::{self, LoadNode};
use crate::relation::{Path, Relation};

/// A query over model `M`: filters, order and paging, then a terminal operation
/// (`all`, `first`, `one`, `count`, `exists`).
///
/// Build one with `M::query()` or `M::filter(..)`.
pub struct Select<M> {
    pub(crate) filter: Option<CondExpr>,
    pub(crate) order: Vec<OrderBy<M>>,
    pub(crate) paging: Paging,
    /// Why the query is invalid (reported as `InvalidQuery` when it runs or renders).
    pub(crate) error: Option<Invalid>,
    /// The relationships to load with the rows (`related(..)`), as a tree of paths.
    pub(crate) related: Vec<LoadNode>,
    /// The lock on the rows read (`for_update()`, `for_share()`).
    pub(crate) lock: Option<RowLock>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for Select<M> {
    fn clone(&self) -> Self {
        Select {
            filter: self.filter.clone(),
            order: self.order.clone(),
            paging: self.paging,
            error: self.error.clone(),
            related: self.related.clone(),
            lock: self.lock,
            _marker: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Select<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("limit", &self.paging.limit)
            .field("offset", &self.paging.offset)
            .field("related", &self.related.len())
            .field("lock", &self.lock)
            .finish()
    }
}

/// Refuses a row count (LIMIT, OFFSET, batch size) above `i64::MAX`: databases bind them as
/// signed 64-bit integers.
pub(crate) fn check_row_count(what: &str, n: u64) -> std::result::Result<(), String> {
    if i64::try_from(n).is_err() {
        return Err(format!("{what} {n} is larger than the largest row count a database accepts ({})", i64::MAX));
    }
    Ok(())
}

/// A page of a query's rows, for [`Select::paginate`]: `Page { number: 2, size: 20 }`, pages
/// counted from 1.
///
/// ```
/// use duo_orm::Page;
/// let page = Page { number: 3, size: 20 };
/// assert_eq!(page.first_row(), Some(41));
/// assert_eq!(Page::first(50), Page { number: 1, size: 50 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    /// Which page, from 1.
    pub number: u64,
    /// Rows per page.
    pub size: u64,
}

impl Page {
    /// The first page of `size` rows.
    pub const fn first(size: u64) -> Self {
        Page { number: 1, size }
    }

    /// The position (from 1) of the page's first row, if the page is valid and countable.
    pub fn first_row(&self) -> Option<u64> {
        (self.number >= 1 && self.size >= 1).then(|| (self.number - 1).checked_mul(self.size)?.checked_add(1)).flatten()
    }
}

/// What a rendered SELECT returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Projection {
    Rows,
    Count,
    Exists,
}

impl<M: Model> Default for Select<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Model> Select<M> {
    /// Every row of `M`.
    pub fn new() -> Self {
        Select {
            filter: None,
            order: Vec::new(),
            paging: Paging::default(),
            error: None,
            related: Vec::new(),
            lock: None,
            _marker: PhantomData,
        }
    }

    /// Loads a relationship (or a path of them) with the rows: `related(|u| u.posts)`,
    /// `related(|u| u.posts.then(|p| p.comments))`, `related(|p| p.author)`. Collections load
    /// with one more statement per hop (selectin), to-one hops with a join in the statement
    /// loading their owners; `.selectin()` / `.joined()` on the path override that. Call it
    /// again for sibling paths; a path asked twice is loaded once.
    pub fn related<T>(self, path: impl FnOnce(&M::Columns) -> Relation<M, T>) -> Self {
        self.related_path(path(M::columns()))
    }

    /// [`related`](Self::related) with the path given as a value (`path!(User::posts,
    /// Post::comments)`).
    pub fn related_path<T>(self, path: Relation<M, T>) -> Self {
        self.load_path(path.erase())
    }

    /// [`related`](Self::related) with paths given as text, `"posts.comments, profile"`: for
    /// include lists that come from a request. An unknown relationship makes the query fail
    /// with [`Error::InvalidQuery`] naming the ones the model has.
    pub fn related_names(mut self, paths: &str) -> Self {
        for text in paths.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match Path::parse(M::meta(), text) {
                Ok(path) => self = self.load_path(path),
                Err(error) => self.fail(Invalid::from_error(error)),
            }
        }
        self
    }

    fn load_path(mut self, path: Path) -> Self {
        if let Err(error) = load::add_path(&mut self.related, M::meta(), &path) {
            self.fail(Invalid::new(InvalidQueryKind::Relationship, error));
        }
        self
    }

    /// Records why the query is invalid (the first reason wins).
    fn fail(&mut self, error: Invalid) {
        self.error.get_or_insert(error);
    }

    /// Adds a condition (ANDed with earlier ones).
    pub fn filter(self, condition: impl FnOnce(&M::Columns) -> Condition<M>) -> Self {
        self.and_where(condition(M::columns()))
    }

    /// Adds a prepared condition (ANDed with earlier ones).
    pub fn and_where(mut self, condition: Condition<M>) -> Self {
        let (expr, error) = condition.into_parts();
        if let Some(error) = error {
            self.fail(error);
        }
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing.combine(expr, false),
            None => expr,
        });
        self
    }

    /// Orders the rows by typed columns: `order_by(|u| u.age.desc())`, or several terms with
    /// `order_by(|u| (u.age.desc(), u.id.asc()))`.
    pub fn order_by<O: OrderTerms<M>>(mut self, order: impl FnOnce(&M::Columns) -> O) -> Self {
        for term in order(M::columns()).terms() {
            if let Some(Err(error)) = &term.expr {
                self.fail(Invalid::new(InvalidQueryKind::Relationship, error.clone()));
            }
            self.order.push(term);
        }
        self
    }

    /// Orders the rows by field names given as text: `"-age"` (descending), `"name"`, or a
    /// comma-separated list. Unknown names make the query fail with [`Error::InvalidQuery`]
    /// listing the model's fields — use it for sort keys that come from a request.
    pub fn order_by_str(mut self, fields: &str) -> Self {
        match fields.split(',').map(OrderBy::parse).collect::<Result<Vec<_>>>() {
            Ok(terms) => self.order.extend(terms),
            Err(error) => self.fail(Invalid::from_error(error)),
        }
        self
    }

    /// Returns at most `n` rows. More than `i64::MAX` (what databases bind) makes the query
    /// fail with [`Error::InvalidQuery`].
    pub fn limit(mut self, n: u64) -> Self {
        self.paging.limit = Some(self.row_count("limit", n));
        self
    }

    /// Skips the first `n` rows. More than `i64::MAX` makes the query fail with
    /// [`Error::InvalidQuery`].
    pub fn offset(mut self, n: u64) -> Self {
        self.paging.offset = Some(self.row_count("offset", n));
        self
    }

    /// `n`, when a database can bind it as a row count; otherwise records why the query is
    /// invalid (and returns 0, which is never sent).
    fn row_count(&mut self, what: &str, n: u64) -> u64 {
        if let Err(error) = check_row_count(what, n) {
            self.fail(Invalid::new(InvalidQueryKind::OutOfRange, error));
            return 0;
        }
        n
    }

    /// One page of rows: `paginate(Page { number: 3, size: 20 })` is rows 41 to 60, pages
    /// counted from 1 (`limit(size).offset((number - 1) * size)`). The fields are named so that
    /// the two numbers cannot be swapped unseen; page 0, size 0, or a page that starts past
    /// `i64::MAX` rows make the query fail with [`Error::InvalidQuery`].
    pub fn paginate(mut self, page: Page) -> Self {
        let Page { number, size } = page;
        if number == 0 || size == 0 {
            self.fail(Invalid::new(
                InvalidQueryKind::OutOfRange,
                format!("paginate counts pages from 1 and needs at least one row per page; got Page {{ number: {number}, size: {size} }}"),
            ));
            return self;
        }
        let Some(offset) = (number - 1).checked_mul(size) else {
            self.fail(Invalid::new(
                InvalidQueryKind::OutOfRange,
                format!("paginate: page {number} of {size} rows starts past the last row a database can count"),
            ));
            return self;
        };
        self.limit(size).offset(offset)
    }

    /// Locks the rows read until the transaction ends, against other writers and other
    /// lockers: `FOR UPDATE` (SQL Server: `WITH (UPDLOCK, ROWLOCK)`). Read a row this way
    /// before writing a value computed from it, and no concurrent writer's change is lost.
    ///
    /// It must run inside a transaction (outside one the lock would end with the statement,
    /// so that is an [`Error::InvalidQuery`]). On SQLite the clause is not written: a
    /// transaction there begins with `BEGIN IMMEDIATE`, which already keeps every other
    /// writer out of the database until it ends. `count`, `exists`, projections,
    /// subqueries, streams and `related(..)` cannot take a lock (`InvalidQuery`).
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "counters", db = DB)]
    /// # struct Counter { #[duo(primary_key)] id: i64, hits: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// # Counter::create(json!({"hits": 0})).await?;
    /// DB.transaction(async {
    ///     let mut counter = Counter::filter(|c| c.id.eq(1)).for_update().one().await?;
    ///     counter.hits += 1;
    ///     counter.save().await
    /// })
    /// .await?;
    /// assert!(Counter::filter(|c| c.id.eq(1)).for_update().one().await.is_err()); // no transaction
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_update(self) -> Self {
        self.locking(Strength::Update)
    }

    /// Locks the rows read until the transaction ends against writers, not against other
    /// readers that share the lock: `FOR SHARE` (MySQL/MariaDB: `LOCK IN SHARE MODE`; SQL
    /// Server: `WITH (REPEATABLEREAD, ROWLOCK)`). Oracle has no shared row lock
    /// ([`Error::UnsupportedOperation`]). See [`for_update`](Self::for_update) for where a
    /// lock may be taken.
    pub fn for_share(self) -> Self {
        self.locking(Strength::Share)
    }

    /// With [`for_update`](Self::for_update) or [`for_share`](Self::for_share): leaves out the
    /// rows another transaction has locked instead of waiting for them (`SKIP LOCKED`; SQL
    /// Server: `READPAST`), so workers claiming jobs from one table never wait on each
    /// other. On its own it is an [`Error::InvalidQuery`].
    pub fn skip_locked(self) -> Self {
        self.waiting(WhenLocked::Skip, "skip_locked()")
    }

    /// With [`for_update`](Self::for_update) or [`for_share`](Self::for_share): fails at once
    /// when a row is locked by another transaction instead of waiting (`NOWAIT`), with
    /// [`Error::Conflict`] of kind [`LockNotAvailable`](crate::ConflictKind::LockNotAvailable)
    /// (MariaDB reports it as a lock wait timeout). On its own it is an
    /// [`Error::InvalidQuery`].
    pub fn nowait(self) -> Self {
        self.waiting(WhenLocked::Fail, "nowait()")
    }

    fn locking(mut self, strength: Strength) -> Self {
        let wait = self.lock.map_or(WhenLocked::Wait, |lock| lock.wait);
        self.lock = Some(RowLock { strength, wait });
        self
    }

    fn waiting(mut self, wait: WhenLocked, call: &str) -> Self {
        match &mut self.lock {
            Some(lock) => lock.wait = wait,
            None => self.fail(Invalid::new(
                InvalidQueryKind::Argument,
                format!("{call} says what a row lock does about locked rows: call for_update() or for_share() first"),
            )),
        }
        self
    }

    /// Refuses a row lock where the statement cannot take one: `what` names it.
    pub(crate) fn check_unlocked(&self, what: &str) -> Result<()> {
        match self.lock {
            Some(_) => Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!("{what} cannot lock rows: take the lock with all(), first() or one() on the model's rows"),
            )),
            None => Ok(()),
        }
    }

    /// The sea-query statement of this query (the escape hatch): edit it, then run it with
    /// `M::from_statement(stmt)`. It selects `M`'s columns in decode order, without the joins
    /// of `related(..)` (eager loading is not part of the escape hatch).
    ///
    /// Conditions whose SQL depends on the dialect (JSON paths, arrays) are written for the
    /// model's bound database; without one, or when that dialect cannot express them, the
    /// statement calls a function no database has, so it fails when it runs instead of
    /// answering wrongly. Use [`alchemize_for`](Self::alchemize_for) for such queries.
    pub fn alchemize(&self) -> SelectStatement {
        let portable = self.filter.as_ref().is_none_or(CondExpr::is_portable);
        let written = match M::database().and_then(|db| db.dialect().ok()) {
            Some(dialect) => self.alchemize_for(dialect),
            None if portable => self.alchemize_for(Dialect::Postgres),
            None => Err(Error::invalid(InvalidQueryKind::Internal, "no dialect")),
        };
        written.unwrap_or_else(|_| {
            // Invalid, or not expressible here: a statement that fails when run (naming the
            // way out), never one that answers without the filter.
            let mut stmt = self.statement_with(Projection::Rows, true, false, None);
            stmt.and_where(Expr::cust("duo_orm_query_cannot_be_written_here_use_alchemize_for() = 1"));
            stmt
        })
    }

    /// [`alchemize`](Self::alchemize) for `dialect`: `UnsupportedOperation` when the dialect
    /// cannot express one of the conditions.
    pub fn alchemize_for(&self, dialect: Dialect) -> Result<SelectStatement> {
        self.check()?;
        self.check_unlocked("the escape hatch (write the lock on the sea-query statement)")?;
        let mut stmt = self.statement(dialect, Projection::Rows, true, false)?;
        if let Some(limit) = self.paging.limit {
            stmt.limit(limit);
        }
        if let Some(offset) = self.paging.offset {
            stmt.offset(offset);
        }
        Ok(stmt)
    }

    /// The body of a projection of this query (`select(..)`): the filter and order written for
    /// `dialect`, without the joins of `related(..)`, and the paging to apply.
    pub(crate) fn projection_body(&self, dialect: Dialect) -> Result<(SelectStatement, Paging)> {
        self.check()?;
        self.check_unlocked("a projection or subquery")?;
        Ok((self.statement(dialect, Projection::Rows, true, false)?, self.paging))
    }

    /// Whether the query loads relationships (`related(..)`).
    pub(crate) fn has_related(&self) -> bool {
        !self.related.is_empty()
    }

    /// Whether the query has `order_by` terms.
    pub(crate) fn is_ordered(&self) -> bool {
        !self.order.is_empty()
    }

    /// The query's `order_by` terms.
    pub(crate) fn order_terms(&self) -> &[OrderBy<M>] {
        &self.order
    }

    /// The SQL and values this query runs as `all()` in `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        self.render(dialect, Projection::Rows, self.paging)
    }

    /// The SQL and values of `count()` in `dialect`.
    pub fn count_sql(&self, dialect: Dialect) -> Result<Statement> {
        self.render(dialect, Projection::Count, self.paging)
    }

    /// The SQL and values of `exists()` in `dialect`.
    pub fn exists_sql(&self, dialect: Dialect) -> Result<Statement> {
        self.render(dialect, Projection::Exists, Paging { limit: Some(1), ..self.paging })
    }

    /// The statement body in `dialect`; `with_joins` adds the joined hops of `related(..)`
    /// (rows only).
    fn statement(&self, dialect: Dialect, projection: Projection, with_order: bool, with_joins: bool) -> Result<SelectStatement> {
        let filter = self.filter.as_ref().map(|f| f.resolve(dialect)).transpose()?;
        Ok(self.statement_with(projection, with_order, with_joins, filter))
    }

    /// The statement body with the filter already written.
    fn statement_with(&self, projection: Projection, with_order: bool, with_joins: bool, filter: Option<Expr>) -> SelectStatement {
        let meta: &ModelMeta = M::meta();
        let mut stmt = Query::select();
        match projection {
            Projection::Rows => {
                stmt.columns(meta.columns.iter().map(|c| (meta.table, c.name)));
            }
            Projection::Count => {
                stmt.expr(Expr::col(Asterisk).count());
            }
            Projection::Exists => {
                stmt.expr(Expr::val(1));
            }
        }
        stmt.from(meta.table);
        if with_joins && projection == Projection::Rows {
            load::add_joins(&mut stmt, meta.table, &self.related, &mut 0);
        }
        if let Some(filter) = filter {
            stmt.and_where(filter);
        }
        if with_order {
            order_by_terms(&mut stmt, meta, &self.order);
        }
        stmt
    }

    /// The rows of a query that joins a collection: every owner comes once per related row,
    /// so paging applies to the owners, in a subquery, not to the joined rows. An owner's rows
    /// need not come together (decoding gathers them), so nothing orders them by its key: on
    /// MariaDB that sort went through a temporary table.
    fn render_joining_collection(&self, dialect: Dialect, paging: Paging) -> Result<Statement> {
        let meta: &ModelMeta = M::meta();
        let mut stmt = if paging.is_set() {
            if matches!(dialect, Dialect::MsSql | Dialect::Oracle) {
                return Err(Error::unsupported(
                    dialect,
                    "joined loading of a collection together with limit/offset/first() (the paged \
                     subquery cannot be written); load the collection with selectin, the default",
                ));
            }
            let mut owners = self.statement(dialect, Projection::Rows, true, false)?;
            dialect::apply_limit_offset(dialect, &mut owners, paging);
            let mut outer = Query::select();
            outer.columns(meta.columns.iter().map(|c| (meta.table, c.name)));
            // Aliased as the table itself, so conditions and orders written on it still apply.
            outer.from_subquery(owners, sea_query::Alias::new(meta.table));
            outer
        } else {
            self.statement(dialect, Projection::Rows, false, false)?
        };
        load::add_joins(&mut stmt, meta.table, &self.related, &mut 0);
        order_by_terms(&mut stmt, meta, &self.order);
        Ok(dialect::render_select(dialect, stmt, Paging::default(), !self.order.is_empty()))
    }

    fn render(&self, dialect: Dialect, projection: Projection, paging: Paging) -> Result<Statement> {
        self.check()?;
        match (projection, self.lock) {
            (Projection::Rows, Some(lock)) => {
                if !self.related.is_empty() {
                    return Err(Error::invalid(
                        InvalidQueryKind::Argument,
                        "a locked query cannot load related(..) rows (which rows the lock covers would differ between \
                         databases): lock the rows, then load their relationships",
                    ));
                }
                let mut stmt =
                    dialect::render_select(dialect, self.statement(dialect, projection, true, false)?, paging, !self.order.is_empty());
                lock.apply(dialect, M::meta().table, paging, &mut stmt)?;
                return Ok(stmt);
            }
            (Projection::Count, _) => self.check_unlocked("count()")?,
            (Projection::Exists, _) => self.check_unlocked("exists()")?,
            (Projection::Rows, None) => {}
        }
        if projection == Projection::Count && paging.is_set() {
            // COUNT(*) ignores LIMIT: count the rows of the paged query instead, without the
            // joins of `related(..)`, which would count joined rows instead of the query's.
            let ordered = !self.order.is_empty();
            let inner = dialect::render_select(dialect, self.statement(dialect, Projection::Rows, true, false)?, paging, ordered);
            return Ok(wrap_count(dialect, inner));
        }
        let with_order = projection == Projection::Rows;
        if with_order && load::joins_collection(&self.related) {
            return self.render_joining_collection(dialect, paging);
        }
        let ordered = with_order && !self.order.is_empty();
        Ok(dialect::render_select(dialect, self.statement(dialect, projection, with_order, true)?, paging, ordered))
    }

    /// What `all`, `first` and `one` run: the statement of [`to_sql`](Self::to_sql), its text
    /// kept per shape (`cached::select`) when the query loads no `related(..)` paths, has no
    /// offset and orders by columns only.
    fn rows_sql(&self, dialect: Dialect) -> Result<Statement> {
        let by_columns = self.order.iter().all(|term| term.expr.is_none());
        if !self.related.is_empty() || self.paging.offset.is_some() || !by_columns || self.lock.is_some() {
            return self.to_sql(dialect);
        }
        self.check()?;
        let filter = self.filter.as_ref().map(|filter| filter.resolve(dialect)).transpose()?;
        let order = self.order.iter().map(|term| (term.column, term.descending)).collect();
        let ordered = !self.order.is_empty();
        let render =
            |filter| dialect::render_select(dialect, self.statement_with(Projection::Rows, true, true, filter), self.paging, ordered);
        Ok(crate::query::cached::select(M::meta(), dialect, filter, order, self.paging.limit, render))
    }

    /// Fails with the reason this query is invalid, if any.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.error {
            Some(invalid) => Err(invalid.clone().into()),
            None => Ok(()),
        }
    }

    /// Runs `stmt` (rendered from this query) and loads the `related(..)` paths.
    pub(crate) async fn fetch(self, db: &crate::Database, stmt: dialect::Statement) -> Result<Vec<M>> {
        if let Some(lock) = self.lock {
            lock.check_held(db, db.dialect()?)?;
        }
        if self.related.is_empty() { db.fetch_all::<M>(stmt).await } else { load::fetch::<M>(db, stmt, &self.related).await }
    }

    /// This query restricted to rows after (or, `descending`, before) `key` in primary-key
    /// order, ordered by the key: one page of a keyset walk.
    pub(crate) fn keyset_page(&self, after: Option<&[Value]>, descending: bool, size: u64) -> Self {
        let meta = M::meta();
        let mut page = self.clone();
        if let Some(key) = after {
            page = page.and_where(Condition::from_expr(keyset_condition(meta, key, descending)));
        }
        page.order = meta.key_columns().map(|c| OrderBy::new(c.name, descending)).collect();
        page.paging = Paging { limit: Some(size), offset: None };
        page
    }

    /// The query for one row by primary key.
    pub(crate) fn by_key(key: Vec<Value>) -> Self {
        Self::new().and_where(Condition::from_expr(M::meta().key_condition(key)))
    }

    /// Every matching row.
    pub fn all<'a>(self) -> Pending<'a, Vec<M>> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = self.rows_sql(db.dialect()?)?;
                self.fetch(db, stmt).await
            })
        })
    }

    /// The first matching row, or `None`.
    pub fn first<'a>(self) -> Pending<'a, Option<M>> {
        let query = self.limit(1);
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = query.rows_sql(db.dialect()?)?;
                Ok(query.fetch(db, stmt).await?.pop())
            })
        })
    }

    /// The only matching row: [`Error::NotFound`] when there is none,
    /// [`Error::MultipleFound`] when there are several.
    pub fn one<'a>(self) -> Pending<'a, M> {
        let query = self.limit(2);
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = query.rows_sql(db.dialect()?)?;
                let mut rows = query.fetch(db, stmt).await?;
                match rows.len() {
                    0 => Err(Error::NotFound { model: M::meta().name }),
                    1 => Ok(rows.pop().expect("one row")),
                    _ => Err(Error::MultipleFound { model: M::meta().name }),
                }
            })
        })
    }

    /// How many rows match (respecting `limit`/`offset`).
    pub fn count<'a>(self) -> Pending<'a, u64> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = self.count_sql(db.dialect()?)?;
                Ok(u64::try_from(db.fetch_scalar(stmt).await?.unwrap_or(0)).unwrap_or(0))
            })
        })
    }

    /// Whether any row matches.
    pub fn exists<'a>(self) -> Pending<'a, bool> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let stmt = self.exists_sql(db.dialect()?)?;
                db.fetch_exists(stmt).await
            })
        })
    }
}

/// Adds `terms` as ORDER BY, columns qualified by `meta`'s table.
fn order_by_terms<M>(stmt: &mut SelectStatement, meta: &ModelMeta, terms: &[OrderBy<M>]) {
    for term in terms {
        let order = if term.descending { Order::Desc } else { Order::Asc };
        match &term.expr {
            Some(Ok(expr)) => stmt.order_by_expr(expr.clone(), order),
            // Reported by `check` before anything renders.
            Some(Err(_)) => continue,
            None => stmt.order_by((meta.table, term.column), order),
        };
    }
}

/// Rows strictly after `key` in primary-key order (before it when `descending`), written
/// without row values so every dialect accepts it: `a > x OR (a = x AND b > y)`.
pub(crate) fn keyset_condition(meta: &ModelMeta, key: &[Value], descending: bool) -> Expr {
    let columns: Vec<&crate::model::ColumnMeta> = meta.key_columns().collect();
    let mut condition: Option<Expr> = None;
    for (column_meta, value) in columns.iter().zip(key).rev() {
        let column = Expr::col((meta.table, column_meta.name));
        let value = column_meta.param(value.clone());
        let beyond = if descending { column.clone().lt(value.clone()) } else { column.clone().gt(value.clone()) };
        condition = Some(match condition {
            None => beyond,
            Some(rest) => beyond.or(column.eq(value).and(rest)),
        });
    }
    condition.expect("a model has at least one primary-key column")
}

/// `SELECT COUNT(*) FROM (<paged query>) sub`: Oracle allows no `AS` before a table alias.
fn wrap_count(dialect: Dialect, inner: Statement) -> Statement {
    let alias = match dialect {
        Dialect::Oracle => "\"sub\"",
        Dialect::MsSql => "AS [sub]",
        Dialect::MySql => "AS `sub`",
        Dialect::Postgres | Dialect::Sqlite => "AS \"sub\"",
    };
    Statement { sql: format!("SELECT COUNT(*) FROM ({}) {alias}", inner.sql), values: inner.values }
}
