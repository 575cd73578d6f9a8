//! Statements rendered once per shape: the fixed-shape statements a program runs over and over
//! (a lookup by primary key, an update or a delete by key, the INSERT of one row) keep their
//! SQL text per model and dialect, and each run binds new values to it instead of building and
//! rendering it again. Selectin loading
//! keeps its templates the same way (`relation/load/sql.rs`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use sea_query::{Value, Values};

use crate::dialect::{Dialect, Statement};
use crate::model::ModelMeta;

/// A statement whose text depends only on the model, the dialect and what the shape names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Shape {
    /// `SELECT <columns> FROM t WHERE <key> = ?`: `get`.
    Select,
    /// `DELETE FROM t WHERE <key> = ?`: `delete`.
    Delete,
    /// `UPDATE t SET <these columns, in this order> = ? WHERE <key> = ?`: `update`, `save`.
    Update(Vec<usize>),
    /// `INSERT INTO t (<these columns, in this order>) VALUES (?, …)`, handing the row back
    /// when `returning`: `create`, and `save` of a new instance.
    Insert { columns: Vec<usize>, returning: bool },
}

type Rendered = HashMap<(usize, Dialect, Shape), Arc<str>>;

/// The most texts kept. The columns an INSERT or UPDATE names follow its payload, which a
/// request may choose: past this many shapes, new ones are rendered each time instead of
/// growing the cache without bound.
const MAX_KEPT: usize = 4096;

/// The statement of `shape` for `meta` in `dialect` with `values` bound, in order: the kept
/// text when there is one, otherwise `render(values)`, whose text is kept when it bound exactly
/// `values`, in order (a value written into the text instead would make it unfit for others).
pub(crate) fn statement<E>(
    meta: &'static ModelMeta,
    dialect: Dialect,
    shape: Shape,
    values: Vec<Value>,
    render: impl FnOnce(Vec<Value>) -> Result<Statement, E>,
) -> Result<Statement, E> {
    static RENDERED: OnceLock<RwLock<Rendered>> = OnceLock::new();
    let rendered = RENDERED.get_or_init(Default::default);
    let key = (meta as *const ModelMeta as usize, dialect, shape);
    if let Some(sql) = rendered.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return Ok(Statement { sql: sql.to_string(), values: Values(values) });
    }
    let statement = render(values.clone())?;
    if statement.values.0 == values {
        let mut rendered = rendered.write().unwrap_or_else(PoisonError::into_inner);
        if rendered.len() < MAX_KEPT {
            rendered.entry(key).or_insert_with(|| statement.sql.as_str().into());
        }
    }
    Ok(statement)
}

/// [`statement`] for a shape whose rendering cannot fail.
pub(crate) fn rendered(
    meta: &'static ModelMeta,
    dialect: Dialect,
    shape: Shape,
    values: Vec<Value>,
    render: impl FnOnce(Vec<Value>) -> Statement,
) -> Statement {
    match statement(meta, dialect, shape, values, |values| Ok::<_, std::convert::Infallible>(render(values))) {
        Ok(statement) => statement,
        Err(never) => match never {},
    }
}
