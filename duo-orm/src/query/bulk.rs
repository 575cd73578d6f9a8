//! Bulk writes: [`CreateBulk`] (multi-row INSERT), [`UpdateBulk`] and [`DeleteBulk`] (one
//! statement over a filter, or row by row with hooks in primary-key keyset batches).

use std::marker::PhantomData;

use sea_query::{Expr, ExprTrait, Query, Value};
use serde_json::Value as Json;

use crate::column::Column;
use crate::database::Database;
use crate::dialect::{self, Dialect, Statement, build_any};
use crate::error::{Error, Invalid, InvalidQueryKind, Result};
use crate::lifecycle::{self, Event};
use crate::model::{Model, ModelMeta, Payload, Purpose, assigned_values, assignments};
use crate::pending::{Pending, pending_builder};
use crate::query::project::{Computed, PerRow};
use crate::query::select::Select;
use crate::query::upsert::{Action, ColumnSet, Conflict};
use crate::query::write::{insert_new, resolve};
use crate::transaction::run_block;
use crate::types::FieldType;
use crate::types::KeyValues;

/// Rows per INSERT (and per keyset batch) when `batch_size` is not given.
pub const DEFAULT_BATCH_SIZE: usize = 1000;

/// One row's column assignments: `(column position, value, JSON value)`.
type Row = Vec<(usize, Value, Json)>;

fn batch_size_error(what: &str, n: usize) -> Option<Invalid> {
    (n == 0).then(|| Invalid::new(InvalidQueryKind::OutOfRange, format!("{what}: batch_size must be at least 1, got 0")))
}

/// `create_bulk(rows)`: multi-row INSERTs, chunked by `batch_size` and by the dialect's
/// bound-parameter limit. Atomic by default. Awaiting it returns the number of rows inserted;
/// [`returning`](CreateBulk::returning) returns the models instead.
#[must_use = "a bulk insert does nothing until it is awaited or waited for"]
pub struct CreateBulk<M> {
    /// The payloads, resolved against the model's columns when the insert runs: as field maps
    /// for hooks, as column values otherwise (straight from the fields when the payloads are
    /// instances of the model itself).
    rows: Box<dyn FnOnce(Shape) -> Result<Rows> + Send>,
    batch_size: usize,
    error: Option<Invalid>,
    atomic: bool,
    with_hooks: bool,
    /// `on_conflict(..)`: what to do with a row that meets an existing one.
    conflict: Option<Conflict>,
    _marker: PhantomData<fn() -> M>,
}

/// [`CreateBulk`] that hands back the inserted models, with their generated keys.
#[must_use = "a bulk insert does nothing until it is awaited or waited for"]
pub struct CreateBulkReturning<M>(CreateBulk<M>);

impl<M: Model> CreateBulk<M> {
    pub(crate) fn new<P: Payload + 'static>(rows: impl IntoIterator<Item = P>) -> Self {
        let payloads: Vec<P> = rows.into_iter().collect();
        let rows = Box::new(move |shape: Shape| -> Result<Rows> {
            let meta = M::meta();
            let validated = payloads.into_iter().map(|payload| -> Result<P> {
                payload.validate()?;
                Ok(payload)
            });
            match shape {
                Shape::Maps => validated
                    .map(|payload| assignments(meta, payload?.into_map()?, Purpose::Create, P::TRUSTED))
                    .collect::<Result<_>>()
                    .map(Rows::Maps),
                Shape::Values => runs(
                    meta,
                    validated.map(|payload| match payload?.into_column_values(meta) {
                        Ok(values) => Ok(values),
                        Err(payload) => assigned_values(meta, payload.into_map()?, Purpose::Create, P::TRUSTED),
                    }),
                )
                .map(Rows::Runs),
            }
        });
        CreateBulk {
            rows,
            batch_size: DEFAULT_BATCH_SIZE,
            error: None,
            atomic: true,
            with_hooks: false,
            conflict: None,
            _marker: PhantomData,
        }
    }

    /// At most `n` rows per INSERT (fewer when the dialect's parameter limit requires it).
    /// `0` is an error.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.error = self.error.or_else(|| batch_size_error("create_bulk", n));
        self.batch_size = n.max(1);
        self
    }

    /// All or nothing (the default): the INSERTs run in one transaction (a savepoint inside
    /// an ambient one). With `false`, each INSERT commits on its own.
    pub fn atomic(mut self, on: bool) -> Self {
        self.atomic = on;
        self
    }

    /// Runs each row through the model's [`Hooks`](crate::Hooks) (`before_save`, `validate`,
    /// `after_save`). Off by default, as in DuoORM: bulk inserts are for speed. Timestamps
    /// are stamped either way.
    pub fn with_hooks(mut self, on: bool) -> Self {
        self.with_hooks = on;
        self
    }

    /// Makes these inserts upserts on `target`, a unique key of the model: then
    /// `.update(|u| (u.name, u.age))` or `.do_nothing()`, as for
    /// [`Create::on_conflict`](crate::query::write::Create::on_conflict), chunked as any bulk
    /// insert. Awaiting it returns the rows written as the database counts them: PostgreSQL
    /// and SQLite count rows inserted or updated (not the ones left alone), MySQL and MariaDB
    /// count an updated row twice and a row left alone once. Not [`with_hooks`](Self::with_hooks).
    pub fn on_conflict<C: ColumnSet<M>>(self, target: impl FnOnce(&M::Columns) -> C) -> BulkOnConflict<M> {
        BulkOnConflict { bulk: self, target: target(M::columns()).names() }
    }

    /// Returns the inserted models (with generated keys) instead of a count. Not on MySQL
    /// proper (MariaDB can) or Oracle: there it fails with [`Error::UnsupportedOperation`].
    pub fn returning(self) -> CreateBulkReturning<M> {
        CreateBulkReturning(self)
    }

    /// The INSERT statements this runs in `dialect` (without hooks), for review and tests.
    pub fn to_sql(self, dialect: Dialect) -> Result<Vec<Statement>> {
        self.check()?;
        let runs = (self.rows)(Shape::Values)?.runs();
        insert_statements::<M>(dialect, runs, self.batch_size, false, self.conflict.as_ref())
    }

    fn check(&self) -> Result<()> {
        match &self.error {
            Some(invalid) => Err(invalid.clone().into()),
            None => Ok(()),
        }
    }

    fn into_pending<'a>(self) -> Pending<'a, u64> {
        Pending::new::<M>(move |db| Box::pin(async move { Ok(self.run(db, false).await?.0) }))
    }

    async fn run(self, db: &Database, returning: bool) -> Result<(u64, Vec<M>)> {
        self.check()?;
        let dialect = db.dialect()?;
        if self.conflict.is_some() && self.with_hooks {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                "on_conflict does not run hooks (a row may be inserted or updated): drop with_hooks(true)",
            ));
        }
        if self.conflict.is_some() && returning && dialect == Dialect::MySql {
            return Err(mysql_upsert_returning());
        }
        if self.with_hooks {
            // Boxed: inlined, the row-by-row path (each row saved like `create`) nests futures
            // so deep that rustc's layout query overflows its depth limit in a crate where
            // `create_bulk` is the first write that needs it.
            return Box::pin(self.run_with_hooks(db, returning)).await;
        }
        let runs = (self.rows)(Shape::Values)?.runs();
        if runs.is_empty() {
            return Ok((0, Vec::new()));
        }
        if returning {
            check_returning(db, dialect).await?;
        }
        let meta = M::meta();
        let every_key_generated =
            meta.auto_increment_key().is_some() && runs.iter().all(|run| !run.columns.iter().any(|i| meta.primary_key.contains(i)));
        let statements = insert_statements::<M>(dialect, runs, self.batch_size, returning, self.conflict.as_ref())?;
        // One statement is atomic by itself, except inside a transaction, where a failure
        // must be undone to a savepoint (PostgreSQL aborts the whole transaction otherwise).
        let atomic = self.atomic && (statements.len() > 1 || crate::transaction::current(db).is_some());
        let work = async move {
            let mut inserted = 0;
            let mut models = Vec::new();
            for stmt in statements {
                if returning {
                    let batch = db.fetch_all::<M>(stmt).await?;
                    inserted += batch.len() as u64;
                    models.extend(batch);
                } else {
                    inserted += db.execute(stmt).await?.rows_affected;
                }
            }
            if every_key_generated {
                // Generated keys grow in insertion order; RETURNING's row order is not promised.
                models.sort_by_key(|m: &M| generated_key(m));
            }
            Ok((inserted, models))
        };
        if atomic { run_block(db, work).await } else { work.await }
    }

    /// Row by row through the hooks: each row is built as a model, saved like `create`.
    async fn run_with_hooks(self, db: &Database, returning: bool) -> Result<(u64, Vec<M>)> {
        let meta = M::meta();
        let mut models = Vec::new();
        for row in (self.rows)(Shape::Maps)?.maps() {
            models.push(M::from_json_map(row.into_iter().map(|(i, _, json)| (meta.columns[i].field.to_string(), json)).collect())?);
        }
        let work = async {
            for model in &mut models {
                insert_new(db, model).await?;
            }
            Ok::<_, Error>(())
        };
        if self.atomic {
            run_block(db, work).await?
        } else {
            work.await?
        }
        let inserted = models.len() as u64;
        Ok((inserted, if returning { models } else { Vec::new() }))
    }
}

impl<M: Model> CreateBulkReturning<M> {
    /// The INSERT statements this runs in `dialect` (without hooks), each handing back its
    /// rows: `RETURNING` (on the MySQL dialect, MariaDB's), `OUTPUT INSERTED.…` on SQL Server.
    /// Oracle has no multi-row form: [`Error::UnsupportedOperation`].
    pub fn to_sql(self, dialect: Dialect) -> Result<Vec<Statement>> {
        if dialect == Dialect::Oracle {
            return Err(returning_unsupported(dialect));
        }
        if dialect == Dialect::MySql && self.0.conflict.is_some() {
            return Err(mysql_upsert_returning());
        }
        self.0.check()?;
        let runs = (self.0.rows)(Shape::Values)?.runs();
        insert_statements::<M>(dialect, runs, self.0.batch_size, true, self.0.conflict.as_ref())
    }

    fn into_pending<'a>(self) -> Pending<'a, Vec<M>> {
        Pending::new::<M>(move |db| Box::pin(async move { Ok(self.0.run(db, true).await?.1) }))
    }
}

/// `create_bulk(..).on_conflict(target)`: say what to do with the rows they meet.
#[must_use = "say what to do with the existing rows: .update(..) or .do_nothing()"]
pub struct BulkOnConflict<M> {
    bulk: CreateBulk<M>,
    target: Vec<&'static str>,
}

impl<M: Model> BulkOnConflict<M> {
    /// Updates the existing rows' `columns` to the values the inserts carried.
    pub fn update<C: ColumnSet<M>>(mut self, columns: impl FnOnce(&M::Columns) -> C) -> CreateBulk<M> {
        let action = Conflict::update_of(M::meta(), columns(M::columns()).names());
        self.bulk.conflict = Some(Conflict::new(M::meta(), self.target, action));
        self.bulk
    }

    /// Leaves the existing rows as they are.
    pub fn do_nothing(mut self) -> CreateBulk<M> {
        self.bulk.conflict = Some(Conflict::new(M::meta(), self.target, Action::Nothing));
        self.bulk
    }
}

pending_builder!(CreateBulk => u64);
pending_builder!(CreateBulkReturning => Vec<M>);

fn mysql_upsert_returning() -> Error {
    Error::unsupported(Dialect::MySql, "returning() with on_conflict (the rows written cannot be told from the rows met)")
}

pub(crate) fn clone_error(error: &Error) -> Error {
    match error {
        Error::Validation { field, detail } => Error::Validation { field: field.clone(), detail: detail.clone() },
        Error::InvalidQuery { kind, message } => Error::InvalidQuery { kind: *kind, message: message.clone() },
        Error::Relationship { relation, detail } => Error::Relationship { relation: relation.clone(), detail: detail.clone() },
        other => Error::invalid(InvalidQueryKind::Internal, other.to_string()),
    }
}

/// What the payloads of a bulk insert are resolved into.
#[derive(Clone, Copy)]
enum Shape {
    /// Assignments with their JSON, to build models from (hooks).
    Maps,
    /// Column values only (a plain multi-row INSERT).
    Values,
}

enum Rows {
    Maps(Vec<Row>),
    Runs(Vec<Run>),
}

impl Rows {
    fn runs(self) -> Vec<Run> {
        match self {
            Rows::Runs(runs) => runs,
            Rows::Maps(_) => unreachable!("runs are asked for with Shape::Values"),
        }
    }

    fn maps(self) -> Vec<Row> {
        match self {
            Rows::Maps(rows) => rows,
            Rows::Runs(_) => unreachable!("maps are asked for with Shape::Maps"),
        }
    }
}

/// Consecutive rows that set the same columns, their values flattened in row order: what a
/// multi-row INSERT binds, built row by row so no row outlives its own resolution.
struct Run {
    columns: Vec<usize>,
    rows: usize,
    values: Vec<Value>,
}

/// Groups resolved rows into [`Run`]s, with the `set_on(create)` timestamps (one instant for
/// every row).
fn runs(meta: &'static ModelMeta, rows: impl Iterator<Item = Result<Vec<(usize, Value)>>>) -> Result<Vec<Run>> {
    let stamps = lifecycle::timestamps(meta, Event::Create)?;
    group_runs(rows.map(|row| {
        let mut row = row?;
        if !stamps.is_empty() {
            row.retain(|(i, _)| !stamps.iter().any(|(s, _, _)| s == i));
            row.extend(stamps.iter().map(|(i, v, _)| (*i, v.clone())));
            row.sort_by_key(|(i, _)| *i);
        }
        Ok(row)
    }))
}

/// Groups rows (column values in column order) into [`Run`]s as they come.
fn group_runs(rows: impl Iterator<Item = Result<Vec<(usize, Value)>>>) -> Result<Vec<Run>> {
    let mut runs: Vec<Run> = Vec::new();
    for row in rows {
        let row = row?;
        match runs.last_mut() {
            Some(run) if run.columns.iter().copied().eq(row.iter().map(|(i, _)| *i)) => {
                run.values.extend(row.into_iter().map(|(_, v)| v));
                run.rows += 1;
            }
            _ => runs.push(Run {
                columns: row.iter().map(|(i, _)| *i).collect(),
                rows: 1,
                values: row.into_iter().map(|(_, v)| v).collect(),
            }),
        }
    }
    Ok(runs)
}

/// Whether one INSERT of several rows hands them back on `db` in a way that ties each to the
/// row sent: not on MySQL proper (MariaDB 10.5+ can) or Oracle, which return no rows from a
/// multi-row INSERT, nor on SQL Server, which numbers an INSERT's identity values in no
/// promised order.
pub(crate) async fn returns_many(db: &Database) -> Result<bool> {
    let dialect = db.dialect()?;
    Ok(!matches!(dialect, Dialect::Oracle | Dialect::MsSql) && db.insert_returns_rows().await?)
}

/// Inserts `rows` (column values in column order, stamped already) with multi-row INSERTs
/// that hand the rows back, and returns them in the order given: by the keys given, or by the
/// generated keys of each statement. That relies on an INSERT … VALUES numbering its rows in
/// the order of its VALUES, which PostgreSQL (`nextval` per row as the rows are produced),
/// SQLite (each row's rowid above the last) and MariaDB (auto-increment values increase
/// within a statement) do; RETURNING's own row order is promised by none of them.
/// Call only where [`returns_many`] holds.
pub(crate) async fn insert_returning_in_order<M: Model>(db: &Database, rows: Vec<Vec<(usize, Value)>>) -> Result<Vec<M>> {
    let dialect = db.dialect()?;
    let meta = M::meta();
    let given_keys: Vec<Option<Vec<Value>>> = rows
        .iter()
        .map(|row| {
            let key: Vec<Value> =
                meta.primary_key.iter().filter_map(|pk| row.iter().find(|(i, _)| i == pk).map(|(_, v)| v.clone())).collect();
            (key.len() == meta.primary_key.len()).then_some(key)
        })
        .collect();
    let total = rows.len();
    let runs = group_runs(rows.into_iter().map(Ok))?;
    let mut out: Vec<Option<M>> = (0..total).map(|_| None).collect();
    let mut start = 0;
    for (stmt, count) in insert_chunks::<M>(dialect, runs, DEFAULT_BATCH_SIZE, true, None)? {
        let mut returned = db.fetch_all::<M>(stmt).await?;
        if returned.len() != count {
            return Err(Error::invalid(
                InvalidQueryKind::ReadBack,
                format!(
                    "the database returned {} rows for an INSERT of {count} {} rows, so they cannot be tied to \
                 the rows sent",
                    returned.len(),
                    meta.name
                ),
            ));
        }
        let keys = &given_keys[start..start + count];
        if keys.iter().all(Option::is_none) {
            returned.sort_by_key(|m: &M| generated_key(m));
            for (slot, row) in out[start..start + count].iter_mut().zip(returned) {
                *slot = Some(row);
            }
        } else {
            for row in returned {
                let key = row.key().key_values();
                let at = keys.iter().position(|given| given.as_ref() == Some(&key)).ok_or_else(|| {
                    Error::invalid(
                        InvalidQueryKind::ReadBack,
                        format!("the database returned a {} row whose key was not among those inserted", meta.name),
                    )
                })?;
                out[start + at] = Some(row);
            }
        }
        start += count;
    }
    out.into_iter()
        .map(|row| row.ok_or_else(|| Error::invalid(InvalidQueryKind::ReadBack, format!("a new {} row did not come back", meta.name))))
        .collect()
}

async fn check_returning(db: &Database, dialect: Dialect) -> Result<()> {
    match dialect {
        Dialect::Oracle => Err(returning_unsupported(dialect)),
        Dialect::MySql if !db.insert_returns_rows().await? => Err(returning_unsupported(dialect)),
        _ => Ok(()),
    }
}

fn returning_unsupported(dialect: Dialect) -> Error {
    let which = if dialect == Dialect::MySql { " on MySQL (MariaDB 10.5+ can)" } else { "" };
    Error::unsupported(
        dialect,
        format!(
            "returning rows from a multi-row INSERT{which}; use the count, `.with_hooks(true)` (row by row), \
             or `create` per row"
        ),
    )
}

fn generated_key<M: Model>(model: &M) -> i64 {
    match model.values().swap_remove(M::meta().primary_key[0]) {
        Value::BigInt(Some(n)) => n,
        Value::Int(Some(n)) => n.into(),
        Value::SmallInt(Some(n)) => n.into(),
        _ => 0,
    }
}

/// The INSERTs for `runs`: consecutive rows assigning the same columns share a statement, of
/// at most `batch_size` rows and as many as the dialect's parameter and row limits allow.
///
/// Every full chunk of a run has the same SQL, so it is rendered once per run (and once for
/// the shorter last chunk) and the values are moved in, not copied through sea-query.
fn insert_statements<M: Model>(
    dialect: Dialect,
    runs: Vec<Run>,
    batch_size: usize,
    returning: bool,
    conflict: Option<&Conflict>,
) -> Result<Vec<Statement>> {
    Ok(insert_chunks::<M>(dialect, runs, batch_size, returning, conflict)?.into_iter().map(|(stmt, _)| stmt).collect())
}

/// [`insert_statements`], each with the number of rows it inserts.
fn insert_chunks<M: Model>(
    dialect: Dialect,
    runs: Vec<Run>,
    batch_size: usize,
    returning: bool,
    conflict: Option<&Conflict>,
) -> Result<Vec<(Statement, usize)>> {
    let meta = M::meta();
    let returned: Vec<&'static str> = if returning { meta.column_names().collect() } else { Vec::new() };
    let mut statements = Vec::new();
    // The target keys seen so far (as text), for a bulk upsert.
    let mut keys = std::collections::HashSet::new();
    for run in runs {
        if let Some(conflict) = conflict {
            conflict.check(meta, &run.columns, dialect)?;
            let at: Vec<usize> = conflict.target.iter().filter_map(|t| run.columns.iter().position(|c| c == t)).collect();
            for row in run.values.chunks(run.columns.len().max(1)) {
                let key = format!("{:?}", at.iter().map(|i| &row[*i]).collect::<Vec<_>>());
                if !keys.insert(key) {
                    let names = conflict.target.iter().map(|i| meta.columns[*i].field).collect::<Vec<_>>().join(", ");
                    return Err(Error::invalid(
                        InvalidQueryKind::Argument,
                        format!(
                            "two rows of this bulk upsert have the same ({names}): PostgreSQL refuses that in one statement \
                             and the others keep the last row; send one row per key"
                        ),
                    ));
                }
            }
        }
        let per_statement = rows_per_statement(dialect, run.columns.len(), batch_size);
        let mut sql_by_rows: Vec<(usize, String)> = Vec::with_capacity(2);
        let mut values = run.values.into_iter();
        let mut left = run.rows;
        while left > 0 {
            let count = left.min(per_statement);
            left -= count;
            let sql = match sql_by_rows.iter().find(|(n, _)| *n == count) {
                Some((_, sql)) => sql.clone(),
                None => {
                    let sql = match conflict {
                        Some(conflict) => conflict.sql(dialect, meta, &run.columns, count, &returned),
                        None => insert_sql(dialect, meta, &run.columns, count, &returned),
                    };
                    sql_by_rows.push((count, sql.clone()));
                    sql
                }
            };
            let chunk: Vec<Value> = values.by_ref().take(count * run.columns.len()).collect();
            statements.push((Statement { sql, values: sea_query::Values(chunk) }, count));
        }
    }
    Ok(statements)
}

/// The SQL of an INSERT of `count` rows of `columns` (values are placeholders, bound later).
fn insert_sql(dialect: Dialect, meta: &ModelMeta, columns: &[usize], count: usize, returned: &[&'static str]) -> String {
    let mut stmt = Query::insert();
    stmt.into_table(meta.table);
    if columns.is_empty() {
        stmt.or_default_values();
    } else {
        stmt.columns(columns.iter().map(|i| meta.columns[*i].name));
        for _ in 0..count {
            // Any value renders as a placeholder; the real ones are bound in its place.
            stmt.values_panic(columns.iter().map(|i| meta.columns[*i].param(Value::Bool(None))));
        }
    }
    dialect::render_insert(dialect, stmt, returned).sql
}

/// How many rows of `columns` columns one INSERT may carry.
pub(crate) fn rows_per_statement(dialect: Dialect, columns: usize, batch_size: usize) -> usize {
    if columns == 0 {
        return 1; // `INSERT … DEFAULT VALUES` inserts one row
    }
    (dialect.max_parameters() / columns).min(dialect::max_insert_rows(dialect)).min(batch_size).max(1)
}

/// Settings shared by [`UpdateBulk`] and [`DeleteBulk`].
#[derive(Clone, Copy)]
struct BulkOptions {
    require_filter: bool,
    with_hooks: bool,
    batch_size: usize,
    per_batch_transaction: bool,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions { require_filter: true, with_hooks: false, batch_size: DEFAULT_BATCH_SIZE, per_batch_transaction: false }
    }
}

/// The checks every filtered bulk write makes before it runs.
fn check_filtered<M: Model>(query: &Select<M>, options: &BulkOptions, error: &Option<Invalid>, what: &str) -> Result<()> {
    query.check()?;
    query.check_unlocked(what)?;
    if let Some(invalid) = error {
        return Err(invalid.clone().into());
    }
    if query.paging.is_set() {
        return Err(Error::invalid(
            InvalidQueryKind::BulkScope,
            format!("{what} applies to every row matching the filter; remove limit/offset/paginate from the query"),
        ));
    }
    if query.filter.is_none() && options.require_filter {
        return Err(Error::invalid(
            InvalidQueryKind::BulkScope,
            format!(
                "{what} without a filter would touch every row of `{}`; add a filter, or call \
             `.require_filter(false)` if that is what you want",
                M::meta().table
            ),
        ));
    }
    Ok(())
}

/// Runs `batch` over the query's rows in primary-key keyset batches, each batch in its own
/// transaction or all in one.
async fn in_batches<M, F>(db: &Database, query: &Select<M>, options: BulkOptions, mut batch: F) -> Result<u64>
where
    M: Model,
    F: for<'b> FnMut(&'b Database, Vec<M>) -> crate::pending::BoxFuture<'b, Result<u64>>,
{
    let walk = async {
        let mut total = 0;
        let mut after: Option<Vec<Value>> = None;
        loop {
            let page = query.keyset_page(after.as_deref(), false, options.batch_size as u64);
            let rows = page.all().run_on(db).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.key().key_values());
            let full = rows.len() == options.batch_size;
            total += if options.per_batch_transaction { run_block(db, batch(db, rows)).await? } else { batch(db, rows).await? };
            if !full {
                break;
            }
        }
        Ok(total)
    };
    if options.per_batch_transaction { walk.await } else { run_block(db, walk).await }
}

/// The settings of a filtered bulk write, the same on [`UpdateBulk`] and [`DeleteBulk`].
macro_rules! bulk_options {
    ($builder:ident, $what:literal, $hooks:literal) => {
        impl<M: Model> $builder<M> {
            /// Whether a query without a filter is refused (the default): pass `false` to
            /// write every row on purpose.
            pub fn require_filter(mut self, on: bool) -> Self {
                self.options.require_filter = on;
                self
            }

            #[doc = $hooks]
            pub fn with_hooks(mut self, on: bool) -> Self {
                self.options.with_hooks = on;
                self
            }

            /// Rows per batch with hooks (default 1000). `0` is an error.
            pub fn batch_size(mut self, n: usize) -> Self {
                self.error = self.error.or_else(|| batch_size_error($what, n));
                self.options.batch_size = n.max(1);
                self
            }

            /// With hooks: one transaction per batch (`true`) or one for the whole run (the
            /// default).
            pub fn per_batch_transaction(mut self, on: bool) -> Self {
                self.options.per_batch_transaction = on;
                self
            }
        }
    };
}

bulk_options!(
    UpdateBulk,
    "update_bulk",
    "Loads the rows in primary-key batches and saves each through the model's [`Hooks`](crate::Hooks) instead of running one UPDATE. Off by default."
);
bulk_options!(
    DeleteBulk,
    "delete_bulk",
    "Loads the rows in primary-key batches and runs `before_delete` / `after_delete` for each, deleting each batch by key (`IN (…)`, or 100 composite keys per statement). Off by default."
);

/// `update_bulk(payload)` on a filtered query: one UPDATE, or row by row with hooks.
/// Awaiting it returns the number of rows updated.
#[must_use = "a bulk update does nothing until it is awaited or waited for"]
pub struct UpdateBulk<M> {
    query: Select<M>,
    set: Result<Row>,
    /// Columns set to values the database computes (`set(|c| c.views.to(c.views.plus(1)))`).
    computed: Vec<Assignment<M>>,
    options: BulkOptions,
    error: Option<Invalid>,
}

/// A column set to a value the database computes from the row being updated:
/// `c.views.to(c.views.plus(1))`, `a.balance.to(a.balance.minus(amount))`, `u.nick.to(u.name)`.
/// Made by [`Column::to`] and given to [`UpdateBulk::set`].
#[must_use = "an assignment does nothing until it is given to `set`"]
pub struct Assignment<M> {
    column: &'static str,
    value: Computed<M, (), PerRow>,
}

/// What a column can be set to: a value computed per row of its type, or a column of its type.
#[diagnostic::on_unimplemented(
    message = "a column of type `{T}` cannot be set to `{Self}`",
    note = "set a column to a computed value (`c.views.plus(1)`) or another column of the same type"
)]
pub trait AssignedValue<M, T> {
    #[doc(hidden)]
    fn computed(self) -> Computed<M, T, PerRow>;
}

impl<M, T> AssignedValue<M, T> for Computed<M, T, PerRow> {
    fn computed(self) -> Computed<M, T, PerRow> {
        self
    }
}

impl<M: Model, T: FieldType> AssignedValue<M, T> for Column<M, T> {
    fn computed(self) -> Computed<M, T, PerRow> {
        self.per_row()
    }
}

/// A nullable column can take a value of its type that is never `NULL`.
impl<M, T> AssignedValue<M, Option<T>> for Computed<M, T, PerRow> {
    fn computed(self) -> Computed<M, Option<T>, PerRow> {
        self.retyped()
    }
}

impl<M: Model, T: FieldType> AssignedValue<M, Option<T>> for Column<M, T> {
    fn computed(self) -> Computed<M, Option<T>, PerRow> {
        self.per_row().retyped()
    }
}

impl<M: Model, T: FieldType> Column<M, T> {
    /// This column set to `value`, computed by the database from the row being updated, for
    /// [`UpdateBulk::set`]. Arithmetic exists on number columns only, and the value must be
    /// of the column's type: anything else does not compile.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)]
    /// # #[duo(table = "pages")]
    /// # struct Page { #[duo(primary_key)] id: i64, views: i64 }
    /// # fn main() -> duo_orm::Result<()> {
    /// let bump = Page::filter(|p| p.id.eq(7)).set(|p| p.views.to(p.views.plus(1)));
    /// let sql = bump.to_sql(Dialect::Postgres)?.sql;
    /// assert_eq!(sql, r#"UPDATE "pages" SET "views" = "pages"."views" + $1 WHERE "pages"."id" = $2"#);
    /// # Ok(())
    /// # }
    /// ```
    pub fn to(self, value: impl AssignedValue<M, T>) -> Assignment<M> {
        Assignment { column: self.name(), value: value.computed().retyped() }
    }
}

impl<M: Model> UpdateBulk<M> {
    pub(crate) fn new(query: Select<M>, payload: impl Payload) -> Self {
        Self::assigning(query, resolve::<M, _>(payload, Purpose::Update))
    }

    pub(crate) fn assigning(query: Select<M>, set: Result<Row>) -> Self {
        UpdateBulk { query, set, computed: Vec::new(), options: BulkOptions::default(), error: None }
    }

    /// Also sets a column to a value the database computes from each row (see [`Column::to`]):
    /// an atomic `views = views + 1`, with no read before the write. Call it again for more
    /// columns. Runs in SQL, so not with [`with_hooks`](Self::with_hooks), which updates rows
    /// one by one in Rust.
    pub fn set(mut self, assignment: impl FnOnce(&M::Columns) -> Assignment<M>) -> Self {
        self.computed.push(assignment(M::columns()));
        self
    }

    /// The UPDATE this runs without hooks, in `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        self.render(dialect, self.assignments()?)
    }

    /// The UPDATE of one instance's row (`query` matches it by key, and version), handing the
    /// row back where the dialect's UPDATE can (`RETURNING`: PostgreSQL, SQLite); `None`
    /// where it cannot.
    pub(crate) fn render_returning(&self, dialect: Dialect) -> Result<(Statement, bool)> {
        let returning = matches!(dialect, Dialect::Postgres | Dialect::Sqlite);
        let mut stmt = self.render(dialect, self.assignments()?)?;
        if returning {
            let columns = M::meta().column_names().map(|name| dialect.quote_identifier(name)).collect::<Vec<_>>().join(", ");
            stmt.sql.push_str(" RETURNING ");
            stmt.sql.push_str(&columns);
        }
        Ok((stmt, returning))
    }

    fn render(&self, dialect: Dialect, set: Row) -> Result<Statement> {
        let meta = M::meta();
        let mut stmt = Query::update();
        stmt.table(meta.table);
        // A versioned model's rows all move to their next version: whoever holds one of them
        // read before this UPDATE cannot save over it.
        let version = meta.version.map(|index| meta.columns[index].name);
        if let Some(column) = version.filter(|column| self.computed.iter().any(|a| a.column == *column)) {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!("`{column}` is {}'s version: every update sets it to one more, and none may assign it", meta.name),
            ));
        }
        let assigned: Vec<&str> =
            set.iter().map(|(i, _, _)| meta.columns[*i].name).chain(self.computed.iter().map(|a| a.column)).chain(version).collect();
        stmt.values(set.into_iter().map(|(i, v, _)| (meta.columns[i].name, meta.columns[i].param(v))));
        for assignment in &self.computed {
            if assignment.value.aggregate {
                return Err(Error::invalid(
                    InvalidQueryKind::Argument,
                    format!("`{}` cannot be set to an aggregate: an UPDATE computes one value per row", assignment.column),
                ));
            }
            let value = (assignment.value.render)(dialect)?;
            let mut read = Vec::new();
            let reads_another = |name: &String| name != assignment.column && assigned.contains(&name.as_str());
            if assigned.len() > 1 && (!columns_read(&value, &mut read) || read.iter().any(reads_another)) {
                return Err(Error::invalid(
                    InvalidQueryKind::Argument,
                    format!(
                        "`{}` is computed from a column this UPDATE also assigns: MySQL reads the new value there, the \
                         other databases the old one; split it into two updates",
                        assignment.column
                    ),
                ));
            }
            stmt.value(assignment.column, value);
        }
        if let Some(column) = version {
            stmt.value(column, Expr::col(column).add(1));
        }
        if let Some(filter) = &self.query.filter {
            stmt.and_where(filter.resolve(dialect)?);
        }
        Ok(Statement::new(build_any!(dialect, stmt)))
    }

    /// The checked assignments, with `set_on(update)` timestamps.
    fn assignments(&self) -> Result<Row> {
        check_filtered(&self.query, &self.options, &self.error, "update_bulk")?;
        let meta = M::meta();
        let mut set = self.set.as_ref().map_err(clone_error)?.clone();
        if set.is_empty() && self.computed.is_empty() {
            return Err(Error::invalid(
                InvalidQueryKind::Payload,
                format!("update_bulk has nothing to assign: the payload names no updatable field of {}", meta.name),
            ));
        }
        lifecycle::stamp_assignments(meta, &mut set, Event::Update)?;
        let mut named: Vec<&str> = set.iter().map(|(i, _, _)| meta.columns[*i].name).collect();
        for assignment in &self.computed {
            let column = meta.columns.iter().find(|c| c.name == assignment.column);
            if column.is_some_and(|c| c.primary_key) {
                return Err(Error::invalid(
                    InvalidQueryKind::Argument,
                    format!("`{}` is {}'s primary key: a bulk update does not change keys", assignment.column, meta.name),
                ));
            }
            if column.is_some_and(|c| c.set_on.create && !c.set_on.update) {
                return Err(Error::invalid(
                    InvalidQueryKind::Argument,
                    format!("`{}` is stamped when a row is created and never changes after", assignment.column),
                ));
            }
            if named.contains(&assignment.column) {
                return Err(Error::invalid(
                    InvalidQueryKind::Payload,
                    format!("`{}` is assigned twice in one update (by the payload, a timestamp or `set`)", assignment.column),
                ));
            }
            named.push(assignment.column);
        }
        if self.options.with_hooks && !self.computed.is_empty() {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                "`set(..)` computes values in SQL, which `with_hooks(true)` cannot do: it updates each row from Rust",
            ));
        }
        Ok(set)
    }

    pub(crate) fn into_pending<'a>(self) -> Pending<'a, u64> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let set = self.assignments()?;
                if !self.options.with_hooks {
                    return Ok(db.execute(self.render(db.dialect()?, set)?).await?.rows_affected);
                }
                let assigned = self.set?;
                let meta = M::meta();
                in_batches(db, &self.query, self.options, |db, rows| {
                    let assigned = assigned.clone();
                    Box::pin(async move {
                        let mut updated = 0;
                        for mut row in rows {
                            for (index, _, json) in &assigned {
                                row.set_json(*index, json.clone())?;
                            }
                            lifecycle::before_save(&mut row, Event::Update)?;
                            let set = crate::query::write::without_keys(meta, row.values());
                            updated += u64::from(crate::query::write::update_row(db, &mut row, set).await?);
                            lifecycle::after_save(&row)?;
                        }
                        Ok(updated)
                    })
                })
                .await
            })
        })
    }
}

pending_builder!(UpdateBulk => u64);

/// `delete_bulk()` on a filtered query: one DELETE, or in batches with hooks. Awaiting it
/// returns the number of rows deleted.
#[must_use = "a bulk delete does nothing until it is awaited or waited for"]
pub struct DeleteBulk<M> {
    query: Select<M>,
    options: BulkOptions,
    error: Option<Invalid>,
}

impl<M: Model> DeleteBulk<M> {
    pub(crate) fn new(query: Select<M>) -> Self {
        DeleteBulk { query, options: BulkOptions::default(), error: None }
    }

    /// The DELETE this runs without hooks, in `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        self.check()?;
        self.render(dialect)
    }

    fn check(&self) -> Result<()> {
        check_filtered(&self.query, &self.options, &self.error, "delete_bulk")
    }

    fn render(&self, dialect: Dialect) -> Result<Statement> {
        let mut stmt = Query::delete();
        stmt.from_table(M::meta().table);
        if let Some(filter) = &self.query.filter {
            stmt.and_where(filter.resolve(dialect)?);
        }
        Ok(Statement::new(build_any!(dialect, stmt)))
    }

    fn into_pending<'a>(self) -> Pending<'a, u64> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                self.check()?;
                if !self.options.with_hooks {
                    return Ok(db.execute(self.render(db.dialect()?)?).await?.rows_affected);
                }
                let meta = M::meta();
                in_batches(db, &self.query, self.options, |db, rows| {
                    Box::pin(async move {
                        for row in &rows {
                            lifecycle::before_delete(row)?;
                            crate::relation::assoc::delete_cascades(db, row).await?;
                        }
                        let keys: Vec<Vec<Value>> = rows.iter().map(|row| row.key().key_values()).collect();
                        let mut deleted = 0;
                        for stmt in delete_by_keys(db.dialect()?, meta, keys) {
                            deleted += db.execute(stmt).await?.rows_affected;
                        }
                        for row in &rows {
                            lifecycle::after_delete(row)?;
                        }
                        Ok(deleted)
                    })
                })
                .await
            })
        })
    }
}

pending_builder!(DeleteBulk => u64);

/// Composite keys per DELETE: each adds an `OR (a = ? AND b = ?)` term, and SQLite refuses
/// expressions nested deeper than 1 000.
const COMPOSITE_KEYS_PER_DELETE: usize = 100;

/// DELETEs of the rows with `keys`: `key IN (…)` for a single-column key, ORed key conditions
/// for a composite one, chunked by the dialect's parameter limit and SQLite's expression depth.
fn delete_by_keys(dialect: Dialect, meta: &'static ModelMeta, keys: Vec<Vec<Value>>) -> Vec<Statement> {
    let key_columns = meta.primary_key.len();
    let per_statement =
        if key_columns == 1 { dialect.max_parameters() } else { COMPOSITE_KEYS_PER_DELETE.min(dialect.max_parameters() / key_columns) };
    keys.chunks(per_statement.max(1))
        .map(|chunk| {
            let condition = if key_columns == 1 {
                let column = meta.key_columns().next().expect("a model has a primary key");
                Expr::col((meta.table, column.name)).is_in(chunk.iter().map(|key| column.param(key[0].clone())))
            } else {
                chunk.iter().map(|key| meta.key_condition(key.clone())).reduce(|any, one| any.or(one)).expect("a chunk is never empty")
            };
            let mut stmt = Query::delete();
            stmt.from_table(meta.table).and_where(condition);
            Statement::new(build_any!(dialect, stmt))
        })
        .collect()
}

/// Adds the names of the columns `expr` reads to `names`; `false` when it holds what is not
/// walked (a subquery, a `CASE`) or SQL text (a cast's type, a collation), which may name any
/// column.
fn columns_read(expr: &Expr, names: &mut Vec<String>) -> bool {
    let mut text = false;
    let walked = crate::query::expr::visit_leaves(expr, &mut |leaf| match leaf {
        Expr::Column(column) => names.extend(column.column().map(|name| name.to_string())),
        // The database's clock reads no column; other SQL text may read any.
        Expr::Custom(sql) => text |= !crate::query::expr::Now::is_now(sql),
        _ => {}
    });
    walked && !text
}

impl<M: Model> Select<M> {
    /// Updates every row this query matches with `payload` (fields as in `update`): one
    /// UPDATE. Refused without a filter unless `.require_filter(false)`.
    pub fn update_bulk(self, payload: impl Payload) -> UpdateBulk<M> {
        UpdateBulk::new(self, payload)
    }

    /// Updates every row this query matches, setting a column to a value the database
    /// computes from the row: `Page::filter(..).set(|p| p.views.to(p.views.plus(1)))`. One
    /// UPDATE, with no read before it, so concurrent increments all land. Chain `.set(..)`
    /// for more columns; refused without a filter unless `.require_filter(false)`.
    pub fn set(self, assignment: impl FnOnce(&M::Columns) -> Assignment<M>) -> UpdateBulk<M> {
        UpdateBulk::assigning(self, Ok(Vec::new())).set(assignment)
    }

    /// Deletes every row this query matches: one DELETE. Refused without a filter unless
    /// `.require_filter(false)`.
    pub fn delete_bulk(self) -> DeleteBulk<M> {
        DeleteBulk::new(self)
    }
}
