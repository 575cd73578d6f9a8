//! Statements rendered once per shape: the fixed-shape statements a program runs over and over
//! (a lookup by primary key, an update or a delete by key, the INSERT of one row) keep their
//! SQL text per model and dialect, and each run binds new values to it instead of building and
//! rendering it again. So do the SELECTs of `first`, `one` and `all`, per shape of their
//! condition ([`select`]). Selectin loading
//! keeps its templates the same way (`relation/load/sql.rs`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use sea_query::{Expr, Value, Values};

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
/// request may choose: past this many shapes, new ones of those are rendered each time instead
/// of growing the cache without bound.
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
        // (Two lookups by key per model and dialect: always kept, whatever payloads came first.)
        if rendered.len() < MAX_KEPT || matches!(key.2, Shape::Select | Shape::Delete) {
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

/// A SELECT of a model's rows whose text is kept: its text depends only on the model, the
/// dialect, the shape of its condition (the condition without the values bound in it), its
/// order and its limit (which SQLite writes as a literal).
struct KeptSelect {
    /// A condition of this shape; its values are not used.
    filter: Option<Expr>,
    /// The columns ordered by, descending or not.
    order: Vec<(&'static str, bool)>,
    limit: Option<u64>,
    sql: Arc<str>,
}

type KeptSelects = HashMap<(usize, Dialect), Vec<KeptSelect>>;

/// The most SELECT shapes kept per model and dialect. A shape may follow a request (the
/// length of an `is_in` list, which columns a search names): past this many, new shapes are
/// rendered each time.
const MAX_SELECT_SHAPES: usize = 64;

/// The most values a kept SELECT's condition binds: each kept shape holds a condition of its
/// own, and a long `is_in` list a request sends is no shape worth keeping.
const MAX_KEPT_SELECT_VALUES: usize = 64;

/// The SELECT of `meta`'s rows in `dialect` with the condition `filter` (written for this
/// dialect), ordered by the columns of `order` and limited to `limit` rows: the kept text of
/// its shape with `filter`'s values and the limit bound, otherwise `render(filter)`, whose
/// text is kept when it binds exactly those values, in the order this module reads them (a
/// value written into the text, or one sea-query adds or drops, would make it unfit for
/// others).
///
/// A condition holding a subquery, a `CASE`, an aggregate filter or SQL with placeholders of
/// its own is rendered every time: the order its values bind in is not known here. So is one
/// with an empty `is_in` list, which sea-query writes with values of its own.
pub(crate) fn select(
    meta: &'static ModelMeta,
    dialect: Dialect,
    filter: Option<Expr>,
    order: Vec<(&'static str, bool)>,
    limit: Option<u64>,
    render: impl FnOnce(Option<Expr>) -> Statement,
) -> Statement {
    static KEPT: OnceLock<RwLock<KeptSelects>> = OnceLock::new();
    let mut values = Vec::new();
    if filter.as_ref().is_some_and(|filter| !bound_values(filter, &mut values)) || values.len() > MAX_KEPT_SELECT_VALUES {
        return render(filter);
    }
    values.extend(crate::dialect::bound_paging(dialect, crate::dialect::Paging { limit, offset: None }));
    let kept = KEPT.get_or_init(Default::default);
    let key = (meta as *const ModelMeta as usize, dialect);
    let fits = |entry: &KeptSelect| entry.limit == limit && entry.order == order && same_condition(&entry.filter, &filter);
    if let Some(entries) = kept.read().unwrap_or_else(PoisonError::into_inner).get(&key)
        && let Some(entry) = entries.iter().find(|entry| fits(entry))
    {
        return Statement { sql: entry.sql.to_string(), values: Values(values) };
    }
    let room = |kept: &KeptSelects| kept.get(&key).is_none_or(|entries| entries.len() < MAX_SELECT_SHAPES);
    if !room(&kept.read().unwrap_or_else(PoisonError::into_inner)) {
        return render(filter);
    }
    let statement = render(filter.clone());
    if statement.values.0 == values {
        let mut kept = kept.write().unwrap_or_else(PoisonError::into_inner);
        if room(&kept) {
            let entries = kept.entry(key).or_default();
            if !entries.iter().any(fits) {
                entries.push(KeptSelect { filter, order, limit, sql: statement.sql.as_str().into() });
            }
        }
    }
    statement
}

/// Appends the values `expr` binds to `values`, in the order they appear in its text; `false`
/// when that order is not known here.
fn bound_values(expr: &Expr, values: &mut Vec<Value>) -> bool {
    crate::query::expr::visit_leaves(expr, &mut |leaf| match leaf {
        Expr::Value(value) => values.push(value.clone()),
        Expr::Values(list) => values.extend(list.iter().cloned()),
        _ => {}
    })
}

/// Whether two bound values are of one kind: the same variant, and for arrays the same
/// element type (PostgreSQL casts an array of enum labels to its type).
fn same_kind(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(a, _), Value::Array(b, _)) => a == b,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn same_condition(a: &Option<Expr>, b: &Option<Expr>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_shape(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Whether `a` and `b` render to the same text: equal but for the values they bind (which
/// must be of the same kinds). Only the expressions [`bound_values`] reads are compared.
fn same_shape(a: &Expr, b: &Expr) -> bool {
    let all = |a: &[Expr], b: &[Expr]| a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_shape(a, b));
    match (a, b) {
        (Expr::Value(a), Expr::Value(b)) => same_kind(a, b),
        (Expr::Values(a), Expr::Values(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_kind(a, b)),
        (Expr::Column(a), Expr::Column(b)) => a == b,
        (Expr::Custom(a), Expr::Custom(b)) => a == b,
        (Expr::Keyword(a), Expr::Keyword(b)) => a == b,
        (Expr::Constant(a), Expr::Constant(b)) => a == b,
        (Expr::TypeName(a), Expr::TypeName(b)) => a == b,
        (Expr::Tuple(a), Expr::Tuple(b)) => all(a, b),
        (Expr::Unary(op_a, a), Expr::Unary(op_b, b)) => op_a == op_b && same_shape(a, b),
        (Expr::AsEnum(type_a, a), Expr::AsEnum(type_b, b)) => type_a == type_b && same_shape(a, b),
        (Expr::Binary(left_a, op_a, right_a), Expr::Binary(left_b, op_b, right_b)) => {
            op_a == op_b && same_shape(left_a, left_b) && same_shape(right_a, right_b)
        }
        (Expr::FunctionCall(a), Expr::FunctionCall(b)) => {
            a.get_func() == b.get_func()
                && a.get_mods() == b.get_mods()
                && a.get_filter().is_none()
                && b.get_filter().is_none()
                && all(a.get_args(), b.get_args())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use sea_query::{Alias, ExprTrait};

    use super::*;
    use crate::model::ModelMeta;

    static META: ModelMeta =
        ModelMeta { name: "T", table: "kept_t", columns: &[], primary_key: &[], version: None, indexes: &[], relations: &[] };

    /// `select` for `filter` on `dialect`, counting the renders in `renders`.
    fn kept(dialect: Dialect, filter: Expr, renders: &Cell<usize>) -> Statement {
        select(&META, dialect, Some(filter), vec![("a", false)], Some(1), |filter| {
            renders.set(renders.get() + 1);
            let mut stmt = sea_query::Query::select();
            stmt.column(Alias::new("a")).from(Alias::new("kept_t"));
            stmt.and_where(filter.expect("a condition"));
            stmt.order_by(Alias::new("a"), sea_query::Order::Asc);
            crate::dialect::render_select(dialect, stmt, crate::dialect::Paging { limit: Some(1), offset: None }, true)
        })
    }

    fn column(name: &str) -> Expr {
        Expr::col(Alias::new(name))
    }

    /// A shape rendered once is reused, with the new values and the limit where each dialect
    /// binds it; another shape is rendered.
    #[test]
    fn a_kept_text_is_reused_with_its_own_values() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql, Dialect::MsSql, Dialect::Oracle] {
            let renders = Cell::new(0);
            let first = kept(dialect, column("a").gt(1).and(column("b").is_in([1, 2])), &renders);
            let again = kept(dialect, column("a").gt(5).and(column("b").is_in([6, 7])), &renders);
            assert_eq!(renders.get(), 1, "{dialect:?}: the second query of the shape was rendered again");
            assert_eq!(first.sql, again.sql, "{dialect:?}");
            let limit: &[Value] = match dialect {
                Dialect::Sqlite => &[],
                Dialect::Postgres | Dialect::MySql => &[Value::BigUnsigned(Some(1))],
                _ => &[Value::BigInt(Some(0)), Value::BigInt(Some(1))],
            };
            let expected: Vec<Value> = [5, 6, 7].map(Value::from).into_iter().chain(limit.iter().cloned()).collect();
            assert_eq!(again.values.0, expected, "{dialect:?}: {}", again.sql);
            kept(dialect, column("a").gt(5).or(column("b").is_in([6, 7])), &renders);
            kept(dialect, column("a").gt(5).and(column("b").is_in([6, 7, 8])), &renders);
            assert_eq!(renders.get(), 3, "{dialect:?}: another operator or list length is another shape");
        }
    }

    /// sea-query writes `x IN ()` as `1 = 2` with values of its own: such a condition is
    /// rendered every time, whatever values happen to follow it.
    #[test]
    fn an_empty_in_list_is_rendered_every_time() {
        let renders = Cell::new(0);
        let empty: [i32; 0] = [];
        let first = kept(Dialect::Postgres, column("b").is_in(empty).or(column("a").gt(1)), &renders);
        let second = kept(Dialect::Postgres, column("b").is_in(empty).or(column("a").gt(30)), &renders);
        assert_eq!(renders.get(), 2);
        assert_eq!(first.values.0[..3], [1, 2, 1].map(Value::from));
        assert_eq!(second.values.0[..3], [1, 2, 30].map(Value::from));
    }
}
