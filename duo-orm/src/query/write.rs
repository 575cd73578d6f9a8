//! INSERT, UPDATE and DELETE of single rows, which the ActiveRecord API
//! ([`ModelExt`](crate::ModelExt), in `active_record.rs`) is built on.

use sea_query::{InsertStatement, Query, SelectStatement, Value};
use serde_json::Value as Json;

use crate::database::Database;
use crate::dialect::{self, Dialect, Statement, build_any};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::lifecycle::{self, Event};
use crate::model::{Model, ModelMeta, Payload, Purpose, assignments};
use crate::pending::Pending;
use crate::query::cached::{self, Shape};
use crate::query::select::Select;
use crate::types::KeyValues;

/// Column assignments resolved from a payload: `(column position, value, JSON value)`.
pub(crate) type Assignments = Vec<(usize, Value, Json)>;

pub(crate) fn resolve<M: Model, P: Payload>(payload: P, purpose: Purpose) -> Result<Assignments> {
    payload.validate()?;
    assignments(M::meta(), payload.into_map()?, purpose, P::TRUSTED)
}

fn insert_statement(meta: &ModelMeta, values: impl IntoIterator<Item = (usize, Value)>) -> InsertStatement {
    let (columns, row): (Vec<_>, Vec<_>) = values.into_iter().map(|(i, v)| (meta.columns[i].name, meta.columns[i].param(v))).unzip();
    let mut stmt = Query::insert();
    stmt.into_table(meta.table);
    if columns.is_empty() {
        stmt.or_default_values();
    } else {
        stmt.columns(columns);
        stmt.values_panic(row);
    }
    stmt
}

/// The INSERT of one row, handing the whole row back when `returning`: its text is kept per
/// model, dialect, list of columns (in their order) and `returning`.
pub(crate) fn render_insert(
    dialect: Dialect,
    meta: &'static ModelMeta,
    values: impl IntoIterator<Item = (usize, Value)>,
    returning: bool,
) -> Statement {
    let (columns, values): (Vec<usize>, Vec<Value>) = values.into_iter().unzip();
    let shape = Shape::Insert { columns: columns.clone(), returning };
    let render = |values: Vec<Value>| {
        let returning: Vec<&'static str> = if returning { meta.column_names().collect() } else { Vec::new() };
        let row = columns.iter().copied().zip(values);
        dialect::render_insert(dialect, insert_statement(meta, row), &returning)
    };
    cached::rendered(meta, dialect, shape, values, render)
}

/// Which row an instance's UPDATE or DELETE writes: the one with its key and, for a model
/// with a `#[duo(version)]` field, the version the instance read (optimistic locking).
pub(crate) struct RowMatch {
    key: Vec<Value>,
    /// The version column's position and the instance's value of it.
    version: Option<(usize, Value)>,
}

impl RowMatch {
    pub(crate) fn of<M: Model>(row: &M) -> RowMatch {
        RowMatch { key: row.key().key_values(), version: M::meta().version.map(|index| (index, row.value_at(index))) }
    }

    /// The query matching the row: by key, and by version for a versioned model.
    fn query<M: Model>(&self) -> Select<M> {
        let meta = M::meta();
        let mut query = Select::<M>::by_key(self.key.clone());
        if let Some((index, value)) = &self.version {
            use sea_query::ExprTrait;
            let column = &meta.columns[*index];
            let matches = sea_query::Expr::col((meta.table, column.name)).eq(column.param(value.clone()));
            query = query.and_where(crate::column::Condition::from_expr(matches));
        }
        query
    }

    /// The key, then the version: the values the WHERE binds.
    fn condition_values(&self) -> Vec<Value> {
        self.key.iter().cloned().chain(self.version.as_ref().map(|(_, value)| value.clone())).collect()
    }

    /// The version an UPDATE writes (one more than the instance's), as the JSON value the
    /// instance takes after it.
    fn next_version(&self, meta: &ModelMeta) -> Result<Option<(usize, Value, Json)>> {
        let Some((index, value)) = &self.version else { return Ok(None) };
        let current = version_number(value);
        let next = current.and_then(|n| n.checked_add(1)).ok_or_else(|| {
            Error::invalid(InvalidQueryKind::OutOfRange, format!("{} cannot bump its version {value:?} any further", meta.name))
        })?;
        // The same kind of value as the column's own (an INTEGER column gets an Int).
        let bound = match value {
            Value::TinyInt(_) => i8::try_from(next).ok().map(|n| Value::TinyInt(Some(n))),
            Value::SmallInt(_) => i16::try_from(next).ok().map(|n| Value::SmallInt(Some(n))),
            Value::Int(_) => i32::try_from(next).ok().map(|n| Value::Int(Some(n))),
            Value::BigInt(_) => Some(Value::BigInt(Some(next))),
            Value::TinyUnsigned(_) => u8::try_from(next).ok().map(|n| Value::TinyUnsigned(Some(n))),
            Value::SmallUnsigned(_) => u16::try_from(next).ok().map(|n| Value::SmallUnsigned(Some(n))),
            Value::Unsigned(_) => u32::try_from(next).ok().map(|n| Value::Unsigned(Some(n))),
            _ => u64::try_from(next).ok().map(|n| Value::BigUnsigned(Some(n))),
        };
        let bound = bound.ok_or_else(|| {
            Error::invalid(InvalidQueryKind::OutOfRange, format!("{}'s version {next} does not fit its field", meta.name))
        })?;
        Ok(Some((*index, bound, Json::from(next))))
    }

    /// After a write that matched no row: [`Error::StaleObject`] when the model is versioned
    /// and a row with this key still exists (someone else changed it since it was read).
    pub(crate) async fn check_not_stale<M: Model>(&self, db: &Database) -> Result<()> {
        if self.version.is_some() && Select::<M>::by_key(self.key.clone()).exists().run_on(db).await? {
            return Err(crate::transaction::noted(db, self.stale(M::meta())).await);
        }
        Ok(())
    }

    /// Whether the instance was read from a saved row (a versioned one past version 0).
    fn was_saved(&self) -> bool {
        self.version.as_ref().is_some_and(|(_, version)| version_number(version) != Some(0))
    }

    fn stale(&self, meta: &ModelMeta) -> Error {
        use sea_query::QueryBuilder;
        let key = self.key.iter().map(|value| sea_query::PostgresQueryBuilder.value_to_string(value)).collect::<Vec<_>>().join(", ");
        let version = self.version.as_ref().and_then(|(_, version)| version_number(version)).unwrap_or_default();
        Error::StaleObject { model: meta.name, key, version }
    }
}

/// `row.set(|c| c.views.to(c.views.plus(1)))`: an UPDATE of one instance's row with values
/// the database computes, the instance then refreshed with what was stored (through
/// `RETURNING` on PostgreSQL and SQLite, a read by key elsewhere). Chain `.set(..)` for more
/// columns. A versioned row is matched at the version the instance read, and bumped. Runs no
/// hooks: the values are computed by the database.
#[must_use = "an update does nothing until it is awaited or waited for"]
pub struct InstanceSet<'a, M> {
    row: &'a mut M,
    update: crate::query::bulk::UpdateBulk<M>,
}

impl<'a, M: Model> InstanceSet<'a, M> {
    pub(crate) fn new(row: &'a mut M, assignment: crate::query::bulk::Assignment<M>) -> Self {
        let update = RowMatch::of(row).query::<M>().set(|_| assignment);
        InstanceSet { row, update }
    }

    /// Also sets another column (see [`Column::to`](crate::Column::to)).
    pub fn set(mut self, assignment: impl FnOnce(&M::Columns) -> crate::query::bulk::Assignment<M>) -> Self {
        self.update = self.update.set(assignment);
        self
    }

    /// The UPDATE this runs in `dialect` (with `RETURNING` where the row comes back with it).
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        Ok(self.update.render_returning(dialect)?.0)
    }

    fn into_pending(self) -> Pending<'a, ()> {
        let InstanceSet { row, update } = self;
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let matched = RowMatch::of(row);
                let (stmt, returning) = update.render_returning(db.dialect()?)?;
                let fresh = if returning {
                    db.fetch_all::<M>(stmt).await?.pop()
                } else if db.execute(stmt).await?.rows_affected > 0 {
                    Select::<M>::by_key(matched.key.clone()).first().run_on(db).await?
                } else {
                    None
                };
                match fresh {
                    Some(fresh) => {
                        crate::relation::save::replace_row(row, fresh);
                        Ok(())
                    }
                    None => {
                        matched.check_not_stale::<M>(db).await?;
                        Err(Error::NotFound { model: M::meta().name })
                    }
                }
            })
        })
    }

    /// Runs on `database` instead of the model's bound one.
    pub fn on(self, database: &'a Database) -> Pending<'a, ()> {
        self.into_pending().on(database)
    }

    /// Runs inside the explicit transaction `tx` (and on its database).
    pub fn using(self, tx: &'a crate::Transaction<'_>) -> Pending<'a, ()> {
        self.into_pending().using(tx)
    }

    /// Runs to completion, blocking this thread (see [`Pending::wait`]).
    pub fn wait(self) -> Result<()> {
        self.into_pending().wait()
    }
}

impl<'a, M: Model> std::future::IntoFuture for InstanceSet<'a, M> {
    type Output = Result<()>;
    type IntoFuture = crate::pending::BoxFuture<'a, Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        self.into_pending().into_future()
    }
}

/// Runs the UPDATE of `row`'s `set` columns, by key: whether it matched the row. A versioned
/// row is matched at the version it read and takes the next one; when it matched nothing but
/// still exists, someone else changed it: [`Error::StaleObject`].
pub(crate) async fn update_row<M: Model>(db: &Database, row: &mut M, set: Vec<(usize, Value)>) -> Result<bool> {
    let matched = RowMatch::of(row);
    let (stmt, next_version) = render_update(db.dialect()?, M::meta(), set, &matched)?;
    if db.execute(stmt).await?.rows_affected == 0 {
        matched.check_not_stale::<M>(db).await?;
        return Ok(false);
    }
    if let Some((index, version)) = next_version {
        row.set_json(index, version)?;
    }
    Ok(true)
}

/// An integer version value as an `i64` (`None` for what no integer field holds).
fn version_number(value: &Value) -> Option<i64> {
    match value {
        Value::TinyInt(Some(n)) => Some(i64::from(*n)),
        Value::SmallInt(Some(n)) => Some(i64::from(*n)),
        Value::Int(Some(n)) => Some(i64::from(*n)),
        Value::BigInt(Some(n)) => Some(*n),
        Value::TinyUnsigned(Some(n)) => Some(i64::from(*n)),
        Value::SmallUnsigned(Some(n)) => Some(i64::from(*n)),
        Value::Unsigned(Some(n)) => Some(i64::from(*n)),
        Value::BigUnsigned(Some(n)) => i64::try_from(*n).ok(),
        _ => None,
    }
}

/// An instance's `UPDATE t SET <set> WHERE <key>` (for a versioned model, also `AND version
/// = <read>`, with the version set to one more). Its text is kept per model, dialect and list
/// of set columns, in their order (the values bind in that order). Returns the new version,
/// for the instance to take once the UPDATE matched its row.
pub(crate) fn render_update(
    dialect: Dialect,
    meta: &'static ModelMeta,
    mut set: Vec<(usize, Value)>,
    row: &RowMatch,
) -> Result<(Statement, Option<(usize, Json)>)> {
    let next = row.next_version(meta)?;
    if let Some((index, value, _)) = &next {
        set.retain(|(i, _)| i != index);
        set.push((*index, value.clone()));
    }
    let (columns, mut values): (Vec<usize>, Vec<Value>) = set.into_iter().unzip();
    values.extend(row.condition_values());
    let shape = Shape::Update(columns.clone());
    let render = |values: Vec<Value>| {
        let mut values = values.into_iter();
        let mut stmt = Query::update();
        stmt.table(meta.table);
        let set: Vec<(usize, Value)> = columns.iter().map(|&i| (i, values.next().unwrap_or(Value::Int(None)))).collect();
        stmt.values(set.into_iter().map(|(i, v)| (meta.columns[i].name, meta.columns[i].param(v))));
        match_row(&mut stmt, meta, values.collect());
        Statement::new(build_any!(dialect, stmt))
    };
    Ok((cached::rendered(meta, dialect, shape, values, render), next.map(|(index, _, json)| (index, json))))
}

/// An instance's `DELETE FROM t WHERE <key>` (for a versioned model, also `AND version =
/// <read>`).
pub(crate) fn render_delete(dialect: Dialect, meta: &'static ModelMeta, row: &RowMatch) -> Statement {
    let render = |values: Vec<Value>| {
        let mut stmt = Query::delete();
        stmt.from_table(meta.table);
        match_row(&mut stmt, meta, values);
        Statement::new(build_any!(dialect, stmt))
    };
    cached::rendered(meta, dialect, Shape::Delete, row.condition_values(), render)
}

/// `WHERE <key> [AND <version>]` from `values`: the key's, then the version's when the model
/// has one.
fn match_row(stmt: &mut impl sea_query::ConditionalStatement, meta: &ModelMeta, mut values: Vec<Value>) {
    use sea_query::ExprTrait;
    let version = meta.version.and_then(|index| Some((index, values.pop()?)));
    let mut condition = meta.key_condition(values);
    if let Some((index, value)) = version {
        let column = &meta.columns[index];
        condition = condition.and(sea_query::Expr::col((meta.table, column.name)).eq(column.param(value)));
    }
    stmt.and_where(condition);
}

/// `create(payload)`: the INSERT of one row, run when awaited; or, with
/// [`on_conflict`](Self::on_conflict), an upsert.
#[must_use = "an insert does nothing until it is awaited or waited for"]
pub struct Create<M> {
    resolved: Result<Assignments>,
    _marker: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> Create<M> {
    pub(crate) fn new(payload: impl Payload) -> Self {
        Create { resolved: resolve::<M, _>(payload, Purpose::Create), _marker: std::marker::PhantomData }
    }

    /// Makes this an upsert on `target`, a unique key of the model (one column, `|u|
    /// u.email`, or several, `|u| (u.org, u.slug)`): then say what to do with the row it
    /// meets, `.update(|u| (u.name, u.age))` or `.do_nothing()`. PostgreSQL and SQLite write
    /// `ON CONFLICT (…)`, MySQL and MariaDB `ON DUPLICATE KEY UPDATE` (refused when the row
    /// could meet another one on a second unique key, which MySQL would match as well), SQL
    /// Server and Oracle `MERGE`. Models with [`Hooks`](crate::Hooks) are refused: it is not
    /// known beforehand whether the row is inserted or updated.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "members", db = DB)]
    /// # struct Member { #[duo(primary_key)] id: i64, #[duo(unique)] email: String, name: String, age: i32 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// let ada = json!({"email": "ada@example.com", "name": "Ada", "age": 36});
    /// let first = Member::create(ada.clone()).on_conflict(|m| m.email).update(|m| (m.name, m.age)).await?;
    /// let older = json!({"email": "ada@example.com", "name": "Ada L.", "age": 37});
    /// let second = Member::create(older).on_conflict(|m| m.email).update(|m| (m.name, m.age)).await?;
    /// assert_eq!((second.id, second.age), (first.id, 37));
    /// assert!(Member::create(ada).on_conflict(|m| m.email).do_nothing().await?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_conflict<C: crate::query::upsert::ColumnSet<M>>(
        self,
        target: impl FnOnce(&M::Columns) -> C,
    ) -> crate::query::upsert::CreateOnConflict<M> {
        let values = self.resolved.and_then(|mut values| {
            lifecycle::stamp_assignments(M::meta(), &mut values, Event::Create)?;
            Ok(values.into_iter().map(|(i, v, _)| (i, v)).collect())
        });
        crate::query::upsert::CreateOnConflict::new(values, target(M::columns()).names())
    }

    pub(crate) fn into_pending<'a>(self) -> Pending<'a, M> {
        let mut values = match self.resolved {
            Ok(values) => values,
            Err(error) => return Pending::failed::<M>(error),
        };
        if M::hooks().is_some() {
            let map = values.into_iter().map(|(i, _, json)| (M::meta().columns[i].field.to_string(), json)).collect();
            return match M::from_json_map(map) {
                Ok(mut model) => Pending::new::<M>(move |db| {
                    Box::pin(async move {
                        insert_new(db, &mut model).await?;
                        Ok(model)
                    })
                }),
                Err(error) => Pending::failed::<M>(error),
            };
        }
        if let Err(error) = lifecycle::stamp_assignments(M::meta(), &mut values, Event::Create) {
            return Pending::failed::<M>(error);
        }
        let values: Vec<(usize, Value)> = values.into_iter().map(|(i, v, _)| (i, v)).collect();
        Pending::new::<M>(move |db| Box::pin(insert::<M>(db, values)))
    }
}

crate::pending::pending_builder!(Create => M);

/// Inserts a row and reads it back whole: through RETURNING/OUTPUT where the server has it,
/// else (MySQL) by selecting the key it was given or generated.
pub(crate) async fn insert<M: Model>(db: &Database, values: Vec<(usize, Value)>) -> Result<M> {
    let dialect = db.dialect()?;
    let meta = M::meta();
    if db.insert_returns_rows().await? {
        let stmt = render_insert(dialect, meta, values, true);
        return db.fetch_all::<M>(stmt).await?.pop().ok_or_else(|| lost_row(meta));
    }
    let given_key: Vec<Option<Value>> =
        meta.primary_key.iter().map(|pk| values.iter().find(|(i, _)| i == pk).map(|(_, v)| v.clone())).collect();
    let done = db.execute(render_insert(dialect, meta, values, false)).await?;
    let key = given_key
        .into_iter()
        .zip(meta.key_columns())
        .map(|(given, column)| match (given, column.auto_increment, done.last_insert_id) {
            (Some(value), _, _) => Ok(value),
            (None, true, Some(id)) => Ok(Value::BigInt(Some(id))),
            _ => Err(Error::invalid(
                InvalidQueryKind::ReadBack,
                format!(
                    "{} was inserted without a value for its key column `{}`, so it cannot be read back on {dialect}; \
                 give the key in the payload",
                    meta.name, column.field
                ),
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    let stmt = Select::<M>::by_key(key).to_sql(dialect)?;
    db.fetch_all::<M>(stmt).await?.pop().ok_or_else(|| lost_row(meta))
}

/// Inserts a new instance: hooks and timestamps, the INSERT (a generated key still unset is
/// left to the database), the row read back into the instance, `after_save`.
pub(crate) async fn insert_new<M: Model>(db: &Database, model: &mut M) -> Result<()> {
    insert_new_rows(db, &mut [model], &[0]).await
}

/// [`insert_new`] for the rows of `rows` at `which`: with multi-row INSERTs that hand the rows
/// back where the dialect has them, else one by one. What the rows' relationship fields hold
/// stays in them.
pub(crate) async fn insert_new_rows<M: Model>(db: &Database, rows: &mut [&mut M], which: &[usize]) -> Result<()> {
    if which.is_empty() {
        return Ok(());
    }
    let meta = M::meta();
    let generated = meta.auto_increment_key().map(|_| meta.primary_key[0]);
    let mut values = Vec::with_capacity(which.len());
    for &i in which {
        lifecycle::before_save(&mut *rows[i], Event::Create)?;
        values.push(insert_values(meta, rows[i].values(), generated));
    }
    let fresh: Vec<M> = if which.len() > 1 && crate::query::bulk::returns_many(db).await? {
        crate::query::bulk::insert_returning_in_order::<M>(db, values).await?
    } else {
        let mut fresh = Vec::with_capacity(which.len());
        for row in values {
            fresh.push(insert::<M>(db, row).await?);
        }
        fresh
    };
    for (&i, fresh) in which.iter().zip(fresh) {
        crate::relation::save::replace_row(&mut *rows[i], fresh);
        lifecycle::after_save(&*rows[i])?;
    }
    Ok(())
}

/// The column values an INSERT of an instance sends: all of them, except an unset generated
/// key (left to the database) and a `None` whose column declares a default, which gets that
/// default (bound as a value when it is a literal, so rows of one level still share one
/// multi-row INSERT; left out when it is an SQL expression).
fn insert_values(meta: &ModelMeta, values: Vec<Value>, generated: Option<usize>) -> Vec<(usize, Value)> {
    use crate::model::ColumnDefault;
    values
        .into_iter()
        .enumerate()
        .filter_map(|(i, value)| {
            if Some(i) == generated && is_unset_key(&value) {
                return None;
            }
            let column = &meta.columns[i];
            if value != value.as_null() {
                return Some((i, value));
            }
            let literal = match column.default? {
                ColumnDefault::Bool(b) => Json::from(b),
                ColumnDefault::Int(n) => Json::from(n),
                ColumnDefault::Float(x) => Json::from(x),
                ColumnDefault::Str(text) => Json::from(text),
                ColumnDefault::Sql(_) => return None,
            };
            // A default the field's type cannot hold is left to the database.
            (column.from_json)(literal).ok().map(|default| (i, default))
        })
        .collect()
}

/// Writes an instance that has its key: updates it by key, and inserts it when no row has
/// that key yet. Returns whether it was inserted.
pub(crate) async fn save_existing<M: Model>(db: &Database, row: &mut M) -> Result<bool> {
    let meta = M::meta();
    lifecycle::before_save(row, Event::Update)?;
    let set = without_keys(meta, row.values());
    let found = if set.is_empty() {
        Select::<M>::by_key(row.key().key_values()).first().run_on(db).await?.is_some()
    } else {
        update_row(db, row, set).await?
    };
    let matched = RowMatch::of(row);
    if !found && matched.was_saved() {
        // Deleted by someone else after it was saved: not brought back.
        return Err(crate::transaction::noted(db, matched.stale(meta)).await);
    }
    if !found {
        lifecycle::stamp(row, Event::Create)?;
        let fresh = insert::<M>(db, insert_values(meta, row.values(), None)).await?;
        crate::relation::save::replace_row(row, fresh);
    }
    lifecycle::after_save(row)?;
    Ok(!found)
}

fn lost_row(meta: &ModelMeta) -> Error {
    Error::invalid(InvalidQueryKind::ReadBack, format!("the database accepted the new {} row but did not return it", meta.name))
}

/// A generated key the instance has not got yet (key fields are never `Option`).
pub(crate) fn is_unset_key(value: &Value) -> bool {
    matches!(value, Value::BigInt(Some(0)) | Value::Int(Some(0)) | Value::SmallInt(Some(0)))
}

pub(crate) fn without_keys(meta: &ModelMeta, values: Vec<Value>) -> Vec<(usize, Value)> {
    values.into_iter().enumerate().filter(|(i, _)| !meta.primary_key.contains(i)).collect()
}

/// A hand-edited statement waiting for a terminal (`all`, `first`).
pub struct FromStatement<M> {
    pub(crate) statement: SelectStatement,
    pub(crate) _marker: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model + crate::row::FromRow> FromStatement<M> {
    /// Every row, decoded as `M`.
    pub fn all<'a>(self) -> Pending<'a, Vec<M>> {
        Pending::new::<M>(move |db| Box::pin(async move { crate::query::fetch_statement(db, &self.statement).await }))
    }

    /// The first row, or `None`.
    pub fn first<'a>(mut self) -> Pending<'a, Option<M>> {
        self.statement.limit(1);
        let all = self.all();
        all.map(|rows| rows.into_iter().next())
    }
}
