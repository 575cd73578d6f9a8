//! Inserts that meet an existing row: `create(..).on_conflict(..)`, the same on
//! `create_bulk`, and `get_or_create` / `update_or_create`. What each dialect writes:
//! `ON CONFLICT (…) DO UPDATE/NOTHING` (PostgreSQL, SQLite), `ON DUPLICATE KEY UPDATE`
//! (MySQL, MariaDB), `MERGE` (SQL Server, Oracle).

use sea_query::{Expr, ExprTrait, OnConflict, Query, Value};

use crate::column::{Column, Condition};
use crate::database::Database;
use crate::dialect::{self, Dialect, Statement};
use crate::error::{ConflictKind, Error, IntegrityKind, InvalidQueryKind, Result};
use crate::lifecycle::{self, Event};
use crate::model::{Model, ModelMeta, Payload, Purpose};
use crate::pending::Pending;
use crate::query::bulk::UpdateBulk;
use crate::query::select::Select;
use crate::query::write::{Assignments, resolve};

/// Columns named in a closure: one column handle (`|u| u.email`) or a tuple of them (`|u|
/// (u.name, u.age)`), whatever their types.
pub trait ColumnSet<M> {
    /// The column names, in order.
    fn names(self) -> Vec<&'static str>;
}

impl<M: Model, T> ColumnSet<M> for Column<M, T> {
    fn names(self) -> Vec<&'static str> {
        vec![self.name()]
    }
}

macro_rules! column_set_tuples {
    ($(($($t:ident $v:ident),+)),+ $(,)?) => {$(
        impl<M: Model, $($t),+> ColumnSet<M> for ($(Column<M, $t>,)+) {
            fn names(self) -> Vec<&'static str> {
                let ($($v,)+) = self;
                vec![$($v.name()),+]
            }
        }
    )+};
}

column_set_tuples!(
    (A a),
    (A a, B b),
    (A a, B b, C c),
    (A a, B b, C c, D d),
    (A a, B b, C c, D d, E e),
    (A a, B b, C c, D d, E e, F f),
    (A a, B b, C c, D d, E e, F f, G g),
    (A a, B b, C c, D d, E e, F f, G g, H h),
);

/// What an insert does when its row meets an existing one on the target key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Sets these columns of the existing row to the values the insert carried.
    Update(Vec<usize>),
    /// Leaves the existing row as it is.
    Nothing,
}

/// A conflict clause: the unique key the row may meet (column positions), and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub(crate) target: Vec<usize>,
    pub(crate) action: Action,
}

/// The positions of `names` in `meta`'s columns.
fn positions(meta: &ModelMeta, names: &[&str]) -> Vec<usize> {
    names.iter().filter_map(|name| meta.columns.iter().position(|c| c.name == *name)).collect()
}

/// The unique keys of `meta`, as sets of column positions: the primary key and every unique
/// index.
fn unique_keys(meta: &ModelMeta) -> impl Iterator<Item = Vec<usize>> + '_ {
    let primary = std::iter::once(meta.primary_key.to_vec());
    primary.chain(meta.indexes.iter().filter(|index| index.unique).map(|index| positions(meta, index.columns)))
}

fn same_set(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

impl Conflict {
    pub(crate) fn new(meta: &ModelMeta, target: Vec<&'static str>, action: Action) -> Conflict {
        Conflict { target: positions(meta, &target), action }
    }

    /// The update columns named in `columns`, with the model's `set_on(update)` timestamps.
    pub(crate) fn update_of(meta: &ModelMeta, columns: Vec<&'static str>) -> Action {
        let mut update = positions(meta, &columns);
        for (index, column) in meta.columns.iter().enumerate() {
            if column.set_on.update && !update.contains(&index) {
                update.push(index);
            }
        }
        Action::Update(update)
    }

    /// Refuses what would not mean the same on every database: a target that is not a unique
    /// key, an update of the target, the key or the version, or of a column the insert does
    /// not carry (it would be set to its default); on MySQL, where `ON DUPLICATE KEY` matches
    /// any unique key, an insert that could meet a row on another one.
    pub(crate) fn check(&self, meta: &ModelMeta, inserted: &[usize], dialect: Dialect) -> Result<()> {
        let name = |i: &usize| meta.columns[*i].field;
        let names = |set: &[usize]| set.iter().map(name).collect::<Vec<_>>().join(", ");
        let invalid = |message: String| Err(Error::invalid(InvalidQueryKind::Argument, message));
        if self.target.is_empty() || !unique_keys(meta).any(|key| same_set(&key, &self.target)) {
            return invalid(format!(
                "on_conflict({}) needs a unique key of {}: its primary key or a #[duo(unique)] field or unique index",
                names(&self.target),
                meta.name
            ));
        }
        if let Some(missing) = self.target.iter().find(|i| !inserted.contains(i)) {
            return invalid(format!("on_conflict: the payload has no value for `{}`, so it cannot meet a row on it", name(missing)));
        }
        if let Action::Update(update) = &self.action {
            if update.is_empty() {
                return invalid("on_conflict(..).update(..) names no column; use do_nothing() to keep the row".into());
            }
            for (at, column) in update.iter().enumerate() {
                let stamp = meta.columns[*column].set_on;
                let refused = if self.target.contains(column) || meta.primary_key.contains(column) {
                    Some("is a key it matches on")
                } else if meta.version == Some(*column) {
                    Some("is the version, which every update bumps by itself")
                } else if stamp.create && !stamp.update {
                    Some("is stamped when the row is created only")
                } else if stamp.update && !stamp.create {
                    Some("is stamped on update only, and an upsert has no value of it to insert")
                } else if update[..at].contains(column) {
                    Some("is named twice")
                } else if !inserted.contains(column) {
                    Some("has no value in the payload (it would be set to its default)")
                } else {
                    None
                };
                if let Some(why) = refused {
                    return invalid(format!("on_conflict(..).update(..) cannot set `{}`: it {why}", name(column)));
                }
            }
        }
        if dialect == Dialect::MySql {
            let others: Vec<Vec<usize>> = unique_keys(meta)
                .filter(|key| !same_set(key, &self.target) && !key.is_empty() && key.iter().all(|i| inserted.contains(i)))
                .collect();
            if let Some(other) = others.first() {
                return Err(Error::unsupported(
                    dialect,
                    format!(
                        "on_conflict({}) when the row also carries the unique key ({}): ON DUPLICATE KEY UPDATE matches \
                         whichever unique key meets a row, so it could update a row found on the other one",
                        names(&self.target),
                        names(other)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The text of an upsert of `rows` rows of `columns`, handing back `returning` columns of
    /// the rows it wrote where the dialect can: values are placeholders, bound in row order.
    pub(crate) fn sql(&self, dialect: Dialect, meta: &ModelMeta, columns: &[usize], rows: usize, returning: &[&'static str]) -> String {
        match dialect {
            Dialect::MsSql | Dialect::Oracle => self.merge_sql(dialect, meta, columns, rows, returning),
            _ => {
                let mut stmt = Query::insert();
                stmt.into_table(meta.table);
                stmt.columns(columns.iter().map(|i| meta.columns[*i].name));
                for _ in 0..rows {
                    // Any value renders as a placeholder; the real ones are bound in its place.
                    stmt.values_panic(columns.iter().map(|i| meta.columns[*i].param(Value::Bool(None))));
                }
                let target = self.target.iter().map(|i| meta.columns[*i].name);
                let mut clause = match dialect {
                    // MySQL names no target: `check` made sure only the target can match.
                    Dialect::MySql => OnConflict::new(),
                    _ => OnConflict::columns(target.clone()),
                };
                match &self.action {
                    Action::Update(update) => {
                        clause.update_columns(update.iter().map(|i| meta.columns[*i].name));
                        if let Some(version) = meta.version.map(|i| meta.columns[i].name) {
                            // A literal: this text binds only the rows' values.
                            clause.value(version, Expr::col((meta.table, version)).add(Expr::cust("1")));
                        }
                    }
                    // MySQL's `INSERT IGNORE` would also turn other errors (a NULL in a NOT
                    // NULL column, a value cut short) into warnings: set the key to itself.
                    Action::Nothing if dialect == Dialect::MySql => {
                        clause.do_nothing_on(target);
                    }
                    Action::Nothing => {
                        clause.do_nothing();
                    }
                }
                stmt.on_conflict(clause);
                let returning = if dialect == Dialect::MySql { &[][..] } else { returning };
                dialect::render_insert(dialect, stmt, returning).sql
            }
        }
    }

    /// `MERGE` (SQL Server, Oracle): the rows as a source table, matched on the target.
    fn merge_sql(&self, dialect: Dialect, meta: &ModelMeta, columns: &[usize], rows: usize, returning: &[&'static str]) -> String {
        let q = |name: &str| dialect.quote_identifier(name);
        let column = |i: &usize| q(meta.columns[*i].name);
        let (target, source) = (q("target"), q("source"));
        let mut placeholder = 0;
        let mut next = || {
            placeholder += 1;
            if dialect == Dialect::MsSql { format!("@P{placeholder}") } else { format!(":{placeholder}") }
        };
        let list = |items: Vec<String>| items.join(", ");
        let on = self.target.iter().map(|i| format!("{target}.{c} = {source}.{c}", c = column(i))).collect::<Vec<_>>().join(" AND ");
        let insert_columns = list(columns.iter().map(column).collect());
        let insert_values = list(columns.iter().map(|i| format!("{source}.{}", column(i))).collect());
        let mut sql = if dialect == Dialect::MsSql {
            let rows = (0..rows).map(|_| format!("({})", list(columns.iter().map(|_| next()).collect()))).collect::<Vec<_>>().join(", ");
            // HOLDLOCK: without it two MERGEs of one new key can both insert it.
            format!("MERGE INTO {} WITH (HOLDLOCK) AS {target} USING (VALUES {rows}) AS {source} ({insert_columns}) ON {on}", q(meta.table))
        } else {
            let rows = (0..rows)
                .map(|_| format!("SELECT {} FROM DUAL", list(columns.iter().map(|i| format!("{} {}", next(), column(i))).collect())))
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            format!("MERGE INTO {} {target} USING ({rows}) {source} ON ({on})", q(meta.table))
        };
        if let Action::Update(update) = &self.action {
            let set_target = if dialect == Dialect::Oracle { format!("{target}.") } else { String::new() };
            let mut set: Vec<String> = update.iter().map(|i| format!("{set_target}{c} = {source}.{c}", c = column(i))).collect();
            if let Some(version) = meta.version.map(|i| q(meta.columns[i].name)) {
                set.push(format!("{set_target}{version} = {target}.{version} + 1"));
            }
            sql.push_str(&format!(" WHEN MATCHED THEN UPDATE SET {}", list(set)));
        }
        sql.push_str(&format!(" WHEN NOT MATCHED THEN INSERT ({insert_columns}) VALUES ({insert_values})"));
        if dialect == Dialect::MsSql {
            if !returning.is_empty() {
                sql.push_str(&format!(" OUTPUT {}", list(returning.iter().map(|c| format!("INSERTED.{}", q(c))).collect())));
            }
            // SQL Server requires a MERGE to end with a semicolon.
            sql.push(';');
        }
        sql
    }
}

/// `create(payload).on_conflict(target)`: say what to do with the row it meets,
/// [`update`](Self::update) or [`do_nothing`](Self::do_nothing).
#[must_use = "say what to do with the existing row: .update(..) or .do_nothing()"]
pub struct CreateOnConflict<M> {
    values: Result<Vec<(usize, Value)>>,
    target: Vec<&'static str>,
    _marker: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> CreateOnConflict<M> {
    pub(crate) fn new(values: Result<Vec<(usize, Value)>>, target: Vec<&'static str>) -> Self {
        CreateOnConflict { values, target, _marker: std::marker::PhantomData }
    }

    /// Updates the existing row's `columns` to the payload's values (and bumps its version,
    /// stamps its `set_on(update)` timestamps). Awaiting it returns the row as stored, new or
    /// updated.
    pub fn update<C: ColumnSet<M>>(self, columns: impl FnOnce(&M::Columns) -> C) -> CreateOrUpdate<M> {
        let action = Conflict::update_of(M::meta(), columns(M::columns()).names());
        CreateOrUpdate { values: self.values, conflict: Conflict::new(M::meta(), self.target, action), _marker: std::marker::PhantomData }
    }

    /// Leaves the existing row as it is. Awaiting it returns the new row, or `None` when the
    /// row met an existing one.
    pub fn do_nothing(self) -> CreateIfAbsent<M> {
        CreateIfAbsent {
            values: self.values,
            conflict: Conflict::new(M::meta(), self.target, Action::Nothing),
            _marker: std::marker::PhantomData,
        }
    }
}

/// An insert that updates the row it meets: from `create(..).on_conflict(..).update(..)`.
#[must_use = "an upsert does nothing until it is awaited or waited for"]
pub struct CreateOrUpdate<M> {
    values: Result<Vec<(usize, Value)>>,
    conflict: Conflict,
    _marker: std::marker::PhantomData<fn() -> M>,
}

/// An insert that leaves the row it meets alone: from `create(..).on_conflict(..).do_nothing()`.
#[must_use = "an upsert does nothing until it is awaited or waited for"]
pub struct CreateIfAbsent<M> {
    values: Result<Vec<(usize, Value)>>,
    conflict: Conflict,
    _marker: std::marker::PhantomData<fn() -> M>,
}

/// The statement of a one-row upsert in `dialect`: the row handed back where the dialect can.
fn upsert_statement(dialect: Dialect, meta: &'static ModelMeta, values: &[(usize, Value)], conflict: &Conflict) -> Result<Statement> {
    let columns: Vec<usize> = values.iter().map(|(i, _)| *i).collect();
    conflict.check(meta, &columns, dialect)?;
    let returning: Vec<&'static str> = meta.column_names().collect();
    let sql = conflict.sql(dialect, meta, &columns, 1, &returning);
    Ok(Statement { sql, values: sea_query::Values(values.iter().map(|(_, v)| v.clone()).collect()) })
}

/// `"t"."a" = ? AND …` over the `target` columns' values in `values`.
fn matching<M: Model>(meta: &ModelMeta, values: &[(usize, Value)]) -> Result<Condition<M>> {
    let condition = values
        .iter()
        .map(|(i, v)| Expr::col((meta.table, meta.columns[*i].name)).eq(meta.columns[*i].param(v.clone())))
        .reduce(|all, part| all.and(part))
        .ok_or_else(|| Error::invalid(InvalidQueryKind::Internal, "an upsert without a target"))?;
    Ok(Condition::from_expr(condition))
}

/// Reads back the row with the target's values (what an upsert on MySQL or Oracle wrote).
async fn read_by_target<M: Model>(db: &Database, values: &[(usize, Value)], target: &[usize]) -> Result<Option<M>> {
    let meta = M::meta();
    let key: Vec<(usize, Value)> = values.iter().filter(|(i, _)| target.contains(i)).cloned().collect();
    let mut query = Select::<M>::new().and_where(matching(meta, &key)?);
    if db.dialect()? == Dialect::MySql && crate::transaction::current(db).is_some() {
        // InnoDB's plain reads see the transaction's snapshot, which may predate the row the
        // insert met; a locking read sees the row as committed (and its lock is held already).
        query = query.for_share();
    }
    query.first().run_on(db).await
}

fn refuse_hooks<M: Model>() -> Result<()> {
    if M::hooks().is_some() {
        return Err(Error::invalid(
            InvalidQueryKind::Argument,
            format!(
                "on_conflict does not run {}'s hooks (the row may be inserted or updated): use get_or_create or save()",
                M::meta().name
            ),
        ));
    }
    Ok(())
}

impl<M: Model> CreateOrUpdate<M> {
    /// The statement this runs in `dialect`, for review and tests.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        upsert_statement(dialect, M::meta(), self.values.as_ref().map_err(crate::query::bulk::clone_error)?, &self.conflict)
    }

    fn into_pending<'a>(self) -> Pending<'a, M> {
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                refuse_hooks::<M>()?;
                let values = self.values?;
                let dialect = db.dialect()?;
                let stmt = upsert_statement(dialect, M::meta(), &values, &self.conflict)?;
                let lost =
                    || Error::invalid(InvalidQueryKind::ReadBack, format!("the upserted {} row was not found again", M::meta().name));
                if matches!(dialect, Dialect::MySql | Dialect::Oracle) {
                    // The read in the same transaction as the write: it sees that row.
                    let target = &self.conflict.target;
                    let work = async {
                        db.execute(stmt).await?;
                        read_by_target::<M>(db, &values, target).await
                    };
                    return crate::transaction::run_block(db, work).await?.ok_or_else(lost);
                }
                db.fetch_all::<M>(stmt).await?.pop().ok_or_else(lost)
            })
        })
    }
}

impl<M: Model> CreateIfAbsent<M> {
    /// The statement this runs in `dialect`, for review and tests (MySQL runs a plain INSERT
    /// for one row: see [`Error::Integrity`] handling in the guide).
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        let values = self.values.as_ref().map_err(crate::query::bulk::clone_error)?;
        let stmt = upsert_statement(dialect, M::meta(), values, &self.conflict)?;
        match dialect {
            Dialect::MySql => Ok(crate::query::write::render_insert(dialect, M::meta(), values.iter().cloned(), false)),
            Dialect::Oracle => Err(do_nothing_on_oracle()),
            _ => Ok(stmt),
        }
    }

    fn into_pending<'a>(self) -> Pending<'a, Option<M>> {
        Pending::new::<M>(move |db| Box::pin(async move { create_if_absent::<M>(db, self.values?, &self.conflict).await }))
    }
}

fn do_nothing_on_oracle() -> Error {
    Error::unsupported(Dialect::Oracle, "on_conflict(..).do_nothing() for one row (a MERGE does not say whether it inserted)")
}

/// Inserts `values` unless a row has its target key: the new row, or `None`.
async fn create_if_absent<M: Model>(db: &Database, values: Vec<(usize, Value)>, conflict: &Conflict) -> Result<Option<M>> {
    refuse_hooks::<M>()?;
    let dialect = db.dialect()?;
    let stmt = upsert_statement(dialect, M::meta(), &values, conflict)?;
    match dialect {
        // MySQL tells an insert from a met row by nothing it returns (its affected-row count
        // is 1 for both): insert plainly, and a unique violation with the target's row there
        // is the met row. A failed statement does not abort a MySQL transaction.
        Dialect::MySql => match crate::query::write::insert::<M>(db, values.clone()).await {
            Ok(row) => Ok(Some(row)),
            Err(Error::Integrity { kind: IntegrityKind::Unique, .. })
                if read_by_target::<M>(db, &values, &conflict.target).await?.is_some() =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        },
        Dialect::Oracle => Err(do_nothing_on_oracle()),
        _ => Ok(db.fetch_all::<M>(stmt).await?.pop()),
    }
}

/// `get_or_create` (`update` false) and `update_or_create` (`update` true).
pub(crate) fn lookup_pending<'a, M: Model>(lookup: impl Payload + 'a, values: impl Payload + 'a, update: bool) -> Pending<'a, (M, bool)> {
    let resolved = resolve::<M, _>(lookup, Purpose::Create).and_then(|lookup| Ok((lookup, resolve::<M, _>(values, Purpose::Create)?)));
    let (lookup, values) = match resolved {
        Ok(both) => both,
        Err(error) => return Pending::failed::<M>(error),
    };
    Pending::new::<M>(move |db| Box::pin(get_or_create::<M>(db, lookup, values, update)))
}

/// The row with the `lookup` key, or a new one from `lookup` and `values`, updated with
/// `values` when `update`: whether it was created. Runs in a transaction (a savepoint in one).
async fn get_or_create<M: Model>(db: &Database, lookup: Assignments, values: Assignments, update: bool) -> Result<(M, bool)> {
    refuse_hooks::<M>()?;
    let meta = M::meta();
    let target: Vec<usize> = lookup.iter().map(|(i, _, _)| *i).collect();
    if let Some((i, _, _)) = values.iter().find(|(i, _, _)| target.contains(i) || (update && meta.primary_key.contains(i))) {
        return Err(Error::invalid(
            InvalidQueryKind::Argument,
            format!("`{}` is a key: give it in the lookup only", meta.columns[*i].field),
        ));
    }
    // The update changes what an update may: not a create-only timestamp, not the version.
    let updated: Assignments = values
        .iter()
        .filter(|(i, _, _)| {
            let stamp = meta.columns[*i].set_on;
            (stamp.update || !stamp.create) && meta.version != Some(*i)
        })
        .cloned()
        .collect();
    let mut inserted: Assignments = lookup.iter().cloned().chain(values.iter().cloned()).collect();
    lifecycle::stamp_assignments(meta, &mut inserted, Event::Create)?;
    let inserted: Vec<(usize, Value)> = inserted.into_iter().map(|(i, v, _)| (i, v)).collect();
    let conflict = Conflict { target, action: Action::Nothing };
    conflict.check(meta, &inserted.iter().map(|(i, _)| *i).collect::<Vec<_>>(), db.dialect()?)?;
    let lookup: Vec<(usize, Value)> = lookup.into_iter().map(|(i, v, _)| (i, v)).collect();
    // A row the insert met may be deleted before it is read or updated, and two callers may
    // deadlock (MySQL locks the row a duplicate insert met in share mode): the whole runs again
    // in a new transaction, a few times at most, when it is the outermost one.
    let outermost = crate::transaction::current(db).is_none();
    let retry = crate::transaction::Retry::attempts(8);
    for attempt in 1..=retry.max_attempts() {
        let work = async {
            if let Some(row) = create_if_absent::<M>(db, inserted.clone(), &conflict).await? {
                return Ok(Some((row, true)));
            }
            if update && !updated.is_empty() {
                let query = Select::<M>::new().and_where(matching(meta, &lookup)?);
                if UpdateBulk::assigning(query, Ok(updated.clone())).into_pending().run_on(db).await? == 0 {
                    return Ok(None);
                }
            }
            let found = read_by_target::<M>(db, &lookup, &conflict.target).await?;
            Ok::<_, Error>(found.map(|row| (row, false)))
        };
        match crate::transaction::run_block(db, work).await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(Error::Conflict { kind, .. }) if outermost && kind.is_retryable() && attempt < retry.max_attempts() => {
                retry.pause(attempt).await;
            }
            Err(error) => return Err(error),
        }
    }
    Err(Error::Conflict {
        kind: ConflictKind::Serialization,
        message: format!(
            "{} met an existing row on its lookup that it could then not read (deleted meanwhile, or committed after \
             this transaction's snapshot)",
            meta.name
        ),
        source: None,
    })
}

crate::pending::pending_builder!(CreateOrUpdate => M);
crate::pending::pending_builder!(CreateIfAbsent => Option<M>);
