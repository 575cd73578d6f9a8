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
type Assignments = Vec<(usize, Value, Json)>;

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

/// `UPDATE t SET <set> WHERE <key>`: its text is kept per model, dialect and list of set
/// columns, in their order (the values bind in that order).
pub(crate) fn render_update(dialect: Dialect, meta: &'static ModelMeta, set: Vec<(usize, Value)>, key: Vec<Value>) -> Statement {
    let (columns, mut values): (Vec<usize>, Vec<Value>) = set.into_iter().unzip();
    values.extend(key);
    let shape = Shape::Update(columns.clone());
    let render = |values: Vec<Value>| {
        let mut values = values.into_iter();
        let mut stmt = Query::update();
        stmt.table(meta.table);
        let set: Vec<(usize, Value)> = columns.iter().map(|&i| (i, values.next().unwrap_or(Value::Int(None)))).collect();
        stmt.values(set.into_iter().map(|(i, v)| (meta.columns[i].name, meta.columns[i].param(v))));
        stmt.and_where(meta.key_condition(values.collect()));
        Statement::new(build_any!(dialect, stmt))
    };
    cached::rendered(meta, dialect, shape, values, render)
}

pub(crate) fn render_delete(dialect: Dialect, meta: &'static ModelMeta, key: Vec<Value>) -> Statement {
    let render = |key| {
        let mut stmt = Query::delete();
        stmt.from_table(meta.table);
        stmt.and_where(meta.key_condition(key));
        Statement::new(build_any!(dialect, stmt))
    };
    cached::rendered(meta, dialect, Shape::Delete, key, render)
}

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
    let key = row.key().key_values();
    let set = without_keys(meta, row.values());
    let found = if set.is_empty() {
        Select::<M>::by_key(key).first().run_on(db).await?.is_some()
    } else {
        db.execute(render_update(db.dialect()?, meta, set, key)).await?.rows_affected > 0
    };
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
