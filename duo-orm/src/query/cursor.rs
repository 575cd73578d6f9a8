//! Cursor pagination for APIs: `page_after(cursor, 20)` / `page_before(cursor, 20)` over the
//! query's order, with the primary key as tie-break. A page comes with opaque cursors for the
//! pages next to it.
//!
//! A cursor holds the values of the query's order columns (and key) in the row at the page's
//! edge, and a fingerprint of the query's order: nothing else of the row, no column names and
//! no SQL. Decoding checks its size, its fingerprint, and each value against its column's type;
//! the values are then bound like any other, so a forged cursor can move to another position in
//! the same order, and nothing more.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_query::{Expr, ExprTrait, Value};

use crate::column::{Condition, OrderBy};
use crate::dialect::{Dialect, Statement};
use crate::error::{Error, Invalid, InvalidQueryKind, Result};
use crate::model::{ColumnMeta, Model, ModelMeta};
use crate::pending::Pending;
use crate::query::select::Select;
use crate::types::{SqlType, value_to_json};

/// The longest cursor accepted, in bytes: far above any real one (a few order columns), well
/// below what would cost anything to refuse.
pub const MAX_CURSOR_LEN: usize = 4096;

/// One page of a cursor-paginated query, from [`Select::page_after`] or
/// [`Select::page_before`]: its rows, in the query's order, and the cursors of the pages on
/// either side.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CursorPage<M> {
    /// The page's rows, in the query's order.
    pub rows: Vec<M>,
    /// The cursor of the next page (`page_after(next, ..)`), or `None` on the last page.
    pub next: Option<String>,
    /// The cursor of the previous page (`page_before(previous, ..)`), or `None` on the first.
    pub previous: Option<String>,
}

/// Which way a page goes from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    After,
    Before,
}

/// One column of a cursor's order: the column and whether the query orders it descending.
struct Key {
    index: usize,
    column: &'static ColumnMeta,
    descending: bool,
}

impl<M: Model> Select<M> {
    /// The page of `size` rows after `cursor` in the query's order: the first page when
    /// `cursor` is `None`. The order is the query's `order_by` columns, then the primary key
    /// (as a tie-break, so that no row is skipped or repeated between pages). Pass the page's
    /// `next` back for the page after it, its `previous` to [`page_before`](Self::page_before).
    ///
    /// Fails with [`Error::InvalidQuery`] for a cursor that does not decode, is longer than
    /// [`MAX_CURSOR_LEN`], or comes from a query with another order; for an order on a
    /// nullable column (databases sort NULLs differently) or on an expression; for a query with
    /// its own `limit` or `offset`; and for `size` 0.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "articles")]
    /// # struct Article { #[duo(primary_key, auto_increment)] id: i64, title: String }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # let db = Database::new("sqlite::memory:");
    /// # db.register::<Article>(); db.create_all().await?;
    /// for title in ["a", "b", "c"] {
    ///     Article::create(json!({ "title": title })).on(&db).await?;
    /// }
    /// let by_title = || Article::query().order_by(|a| a.title.asc());
    /// let first = by_title().page_after(None, 2).on(&db).await?;
    /// assert_eq!(first.rows.len(), 2);
    /// let second = by_title().page_after(first.next.as_deref(), 2).on(&db).await?;
    /// assert_eq!(second.rows[0].title, "c");
    /// assert!(second.next.is_none());
    /// let back = by_title().page_before(second.previous.as_deref(), 2).on(&db).await?;
    /// assert_eq!(back.rows.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_after<'a>(self, cursor: Option<&str>, size: u64) -> Pending<'a, CursorPage<M>> {
        self.cursor_page(cursor, size, Direction::After)
    }

    /// The page of `size` rows before `cursor` in the query's order (the rows still come in
    /// that order): the last page when `cursor` is `None`. See [`page_after`](Self::page_after).
    pub fn page_before<'a>(self, cursor: Option<&str>, size: u64) -> Pending<'a, CursorPage<M>> {
        self.cursor_page(cursor, size, Direction::Before)
    }

    /// The SQL and values [`page_after`](Self::page_after) runs in `dialect`: the query's
    /// condition and the cursor's, its order then the key, and a limit of `size + 1` (the one
    /// more row says whether a next page exists).
    pub fn page_after_sql(&self, cursor: Option<&str>, size: u64, dialect: Dialect) -> Result<Statement> {
        self.clone().plan_page(cursor, size, Direction::After)?.0.to_sql(dialect)
    }

    /// The SQL and values [`page_before`](Self::page_before) runs in `dialect`: the order
    /// reversed, the rows put back in order once read.
    pub fn page_before_sql(&self, cursor: Option<&str>, size: u64, dialect: Dialect) -> Result<Statement> {
        self.clone().plan_page(cursor, size, Direction::Before)?.0.to_sql(dialect)
    }

    fn cursor_page<'a>(self, cursor: Option<&str>, size: u64, direction: Direction) -> Pending<'a, CursorPage<M>> {
        let planned = self.plan_page(cursor, size, direction);
        let given = cursor.map(str::to_owned);
        Pending::new::<M>(move |db| {
            Box::pin(async move {
                let (query, keys, fingerprint) = planned?;
                let stmt = query.to_sql(db.dialect()?)?;
                let mut rows = query.fetch(db, stmt).await?;
                // One row more than the page was asked for: whether the order goes on.
                let more = rows.len() as u64 > size;
                rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
                if direction == Direction::Before {
                    rows.reverse();
                }
                // An empty page (its rows deleted since) still leads back to where it started.
                let first = rows.first().map(|row| encode(fingerprint, &keys, row)).transpose()?.or_else(|| given.clone());
                let last = rows.last().map(|row| encode(fingerprint, &keys, row)).transpose()?.or_else(|| given.clone());
                // Ahead, in the direction of travel, is a page when more rows came; behind is
                // one when this page started from a cursor (at least the row it points at).
                let (next, previous) = match direction {
                    Direction::After => (last.filter(|_| more), first.filter(|_| given.is_some())),
                    Direction::Before => (last.filter(|_| given.is_some()), first.filter(|_| more)),
                };
                Ok(CursorPage { rows, next, previous })
            })
        })
    }

    /// The query one page runs, the order's columns, and the order's fingerprint.
    fn plan_page(self, cursor: Option<&str>, size: u64, direction: Direction) -> Result<(Self, Vec<Key>, u32)> {
        self.check()?;
        let invalid = |message: String| Error::invalid(InvalidQueryKind::Argument, message);
        if self.paging.is_set() {
            return Err(invalid("a cursor page sets its own limit: drop `limit`/`offset`/`paginate` from the query".into()));
        }
        if size == 0 {
            return Err(invalid("a cursor page needs at least one row".into()));
        }
        let fetched = size.checked_add(1).filter(|n| i64::try_from(*n).is_ok()).ok_or_else(|| {
            Error::invalid(InvalidQueryKind::OutOfRange, format!("a cursor page of {size} rows is larger than a database can count"))
        })?;
        let meta = M::meta();
        let keys = order_keys(meta, self.order_terms())?;
        let fingerprint = fingerprint(meta, &keys);
        let mut query = self;
        if let Some(cursor) = cursor {
            let values = decode(cursor, fingerprint, &keys)?;
            query = query.and_where(Condition::from_expr(beyond(meta, &keys, &values, direction)));
        }
        query.order = keys.iter().map(|key| OrderBy::new(key.column.name, key.descending != (direction == Direction::Before))).collect();
        Ok((query.limit(fetched), keys, fingerprint))
    }
}

/// The columns a cursor orders by: the query's `order_by` columns, then the primary key's that
/// are not among them (ascending).
fn order_keys<M>(meta: &'static ModelMeta, terms: &[OrderBy<M>]) -> Result<Vec<Key>> {
    let key_of = |name: &str, descending: bool| -> Result<Key> {
        let index = meta
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::invalid(InvalidQueryKind::Internal, format!("internal: {} has no column `{name}`", meta.name)))?;
        let column = &meta.columns[index];
        if matches!(column.sql_type, SqlType::Blob | SqlType::Json | SqlType::Array(_)) {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!(
                    "a cursor page cannot order by `{}`: binary, JSON and array values do not order alike on every \
                     database, and do not fit in a cursor; help: order by text, numbers, dates or keys",
                    column.field
                ),
            ));
        }
        if column.nullable {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!(
                    "a cursor page cannot order by `{}`, which may be NULL: databases sort NULLs first or last differently; \
                     help: order by columns that are never NULL",
                    column.field
                ),
            ));
        }
        Ok(Key { index, column, descending })
    };
    let mut keys = Vec::new();
    for term in terms {
        if term.expr.is_some() {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                "a cursor page orders by columns, not by expressions (a related-row count); help: order by columns",
            ));
        }
        if !keys.iter().any(|k: &Key| k.column.name == term.column) {
            keys.push(key_of(term.column, term.descending)?);
        }
    }
    for column in meta.key_columns() {
        if !keys.iter().any(|k| k.column.name == column.name) {
            keys.push(key_of(column.name, false)?);
        }
    }
    Ok(keys)
}

/// A hash of the table and its order: a cursor of another query's order is refused, not
/// read as values of other columns. FNV-1a, written out: the same on every platform and in
/// every version, so cursors handed out before an upgrade still read.
fn fingerprint(meta: &ModelMeta, keys: &[Key]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash = (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
        }
    };
    feed(meta.table.as_bytes());
    for key in keys {
        feed(&[0]);
        feed(key.column.name.as_bytes());
        feed(if key.descending { b"-" } else { b"+" });
    }
    hash
}

/// Rows beyond `values` in the direction of travel, written without row values so every
/// dialect accepts it: `a > x OR (a = x AND b < y)`, each column compared its own way.
fn beyond(meta: &ModelMeta, keys: &[Key], values: &[Value], direction: Direction) -> Expr {
    let mut condition: Option<Expr> = None;
    for (key, value) in keys.iter().zip(values).rev() {
        let column = Expr::col((meta.table, key.column.name));
        let value = key.column.param(value.clone());
        let descending = key.descending != (direction == Direction::Before);
        let past = if descending { column.clone().lt(value.clone()) } else { column.clone().gt(value.clone()) };
        condition = Some(match condition {
            None => past,
            Some(rest) => past.or(column.eq(value).and(rest)),
        });
    }
    condition.expect("a cursor orders by at least the primary key")
}

/// The cursor of `row`: base64url of `[fingerprint, [value, …]]`, the values of the order's
/// columns as JSON; floating-point values as text, which reads back exactly (a JSON number
/// could come back one unit off in its last place, and NaN and the infinities have none).
fn encode<M: Model>(fingerprint: u32, keys: &[Key], row: &M) -> Result<String> {
    let values: Vec<serde_json::Value> = keys
        .iter()
        .map(|key| match row.value_at(key.index) {
            Value::Double(Some(x)) => serde_json::Value::String(format!("{x:?}")),
            Value::Float(Some(x)) => serde_json::Value::String(format!("{x:?}")),
            value => value_to_json(value),
        })
        .collect();
    let cursor = URL_SAFE_NO_PAD.encode(serde_json::json!([fingerprint, values]).to_string());
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(Error::invalid(
            InvalidQueryKind::Argument,
            format!(
                "the values this page ends on make a cursor longer than {MAX_CURSOR_LEN} bytes; help: order by shorter \
                 columns (a bounded `max_length`)"
            ),
        ));
    }
    Ok(cursor)
}

/// The order's values a cursor holds, each checked against its column's type.
fn decode(cursor: &str, fingerprint: u32, keys: &[Key]) -> Result<Vec<Value>> {
    let refuse = |why: &str| Error::from(Invalid::new(InvalidQueryKind::Argument, format!("invalid cursor: {why}")));
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(refuse(&format!("longer than {MAX_CURSOR_LEN} bytes")));
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| refuse("not a cursor this query returned"))?;
    let (print, values): (u32, Vec<serde_json::Value>) =
        serde_json::from_slice(&bytes).map_err(|_| refuse("not a cursor this query returned"))?;
    if print != fingerprint || values.len() != keys.len() {
        return Err(refuse("it belongs to a query with another order"));
    }
    keys.iter()
        .zip(values)
        .map(|(key, json)| {
            let wrong = || refuse(&format!("`{}` holds a value of another type", key.column.field));
            match (&key.column.sql_type, json) {
                (_, serde_json::Value::Null) => Err(refuse("a value is missing")),
                (SqlType::Double, serde_json::Value::String(text)) => text.parse().map(|x| Value::Double(Some(x))).map_err(|_| wrong()),
                (SqlType::Float, serde_json::Value::String(text)) => text.parse().map(|x| Value::Float(Some(x))).map_err(|_| wrong()),
                (SqlType::Double | SqlType::Float, _) => Err(wrong()),
                // PostgreSQL refuses text holding NUL: a forged one is the client's error.
                (_, serde_json::Value::String(text)) if text.contains('\0') => Err(wrong()),
                (_, json) => (key.column.from_json)(json).map_err(|_| wrong()),
            }
        })
        .collect()
}
