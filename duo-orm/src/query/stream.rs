//! Streaming: [`Iterate`] walks a query's rows in batches, so memory stays flat however
//! large the table is.

use std::collections::VecDeque;

use futures_util::{TryStreamExt, stream};
use sea_query::Value;

use crate::database::Database;
use crate::dialect::Paging;
use crate::error::{ConfigurationKind, Error, Invalid, InvalidQueryKind, Result};
use crate::model::Model;
use crate::pending::BoxStream;
use crate::query::select::Select;
use crate::types::KeyValues;

/// `query.iterate()`: the query's rows, fetched `batch_size` at a time, as an async
/// stream ([`stream`](Iterate::stream)) or a blocking [`Iterator`] ([`iter`](Iterate::iter)).
///
/// Batches follow the primary key (keyset pagination: `WHERE key > last ORDER BY key LIMIT n`)
/// when the query is unordered or ordered by its key — ascending or descending, composite keys
/// included — so each batch costs the same however deep the walk. A query ordered by other
/// columns is paged with OFFSET (the key is added as a tie-breaker so no row is seen twice).
/// The query's own `limit` and `offset` are respected.
///
/// ```
/// # use duo_orm::prelude::*;
/// # static DB: Database = Database::from_url("sqlite::memory:");
/// # #[derive(Model, Debug)]
/// # #[duo(table = "events", db = DB)]
/// # struct Event { #[duo(primary_key)] id: i64, kind: String }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> duo_orm::Result<()> {
/// # DB.create_all().await?;
/// Event::create_bulk((0..250).map(|i| json!({"kind": if i % 2 == 0 { "even" } else { "odd" }}))).await?;
/// let mut events = Event::filter(|e| e.kind.eq("even")).iterate().batch_size(50).stream();
/// let mut seen = 0;
/// while let Some(event) = events.try_next().await? {
///     assert_eq!(event.kind, "even");
///     seen += 1;
/// }
/// assert_eq!(seen, 125);
/// # Ok(())
/// # }
/// ```
#[must_use = "an iteration does nothing until it is streamed or iterated"]
pub struct Iterate<'a, M> {
    query: Select<M>,
    database: Option<&'a Database>,
    batch_size: u64,
    error: Option<Invalid>,
}

impl<M: Model> Select<M> {
    /// Streams this query's rows in batches (1000 rows each unless `batch_size` says
    /// otherwise). See [`Iterate`].
    pub fn iterate<'a>(self) -> Iterate<'a, M> {
        Iterate { query: self, database: M::database(), batch_size: 1000, error: None }
    }
}

impl<'a, M: Model> Iterate<'a, M> {
    /// Rows fetched per statement. `0` is an error.
    pub fn batch_size(mut self, n: u64) -> Self {
        if n == 0 {
            self.error = Some(Invalid::new(InvalidQueryKind::OutOfRange, "iterate: batch_size must be at least 1, got 0"));
        } else if let Err(error) = crate::query::select::check_row_count("iterate: batch_size", n) {
            self.error = Some(Invalid::new(InvalidQueryKind::OutOfRange, error));
        }
        self.batch_size = n.max(1);
        self
    }

    /// Runs on `database` instead of the model's bound one.
    pub fn on(mut self, database: &'a Database) -> Self {
        self.database = Some(database);
        self
    }

    /// The SELECT of the first batch, or of the batch after key `after`, in `dialect` (for
    /// review and tests).
    pub fn batch_sql(self, dialect: crate::Dialect, after: Option<M::Key>) -> Result<crate::Statement> {
        let mut pager = Pager::new(self);
        pager.database = None;
        pager.after = after.map(|key| key.key_values());
        pager.page()?.to_sql(dialect)
    }

    /// The rows in batches, as an async stream.
    pub fn batches(self) -> BoxStream<'a, Result<Vec<M>>> {
        let pager = Pager::new(self);
        Box::pin(stream::try_unfold(pager, |mut pager| async move {
            let Some((query, database)) = pager.next_page()? else { return Ok(None) };
            let rows = query.all().on(database).await?;
            pager.advance(&rows);
            Ok(if rows.is_empty() { None } else { Some((rows, pager)) })
        }))
    }

    /// The rows one at a time, as an async stream (fetched a batch at a time).
    pub fn stream(self) -> BoxStream<'a, Result<M>> {
        Box::pin(self.batches().map_ok(|rows| stream::iter(rows.into_iter().map(Ok))).try_flatten())
    }

    /// The rows in batches, as a blocking iterator (each batch is fetched with `.wait()`).
    pub fn iter_batches(self) -> impl Iterator<Item = Result<Vec<M>>> + 'a {
        let mut pager = Some(Pager::new(self));
        std::iter::from_fn(move || {
            let current = pager.as_mut()?;
            let page = match current.next_page() {
                Ok(Some((query, database))) => query.all().on(database).wait(),
                Ok(None) => return None,
                Err(error) => Err(error),
            };
            match page {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    current.advance(&rows);
                    Some(Ok(rows))
                }
                Err(error) => {
                    pager = None; // stop after reporting the error
                    Some(Err(error))
                }
            }
        })
    }

    /// The rows one at a time, as a blocking iterator (fetched a batch at a time).
    pub fn iter(self) -> impl Iterator<Item = Result<M>> + 'a {
        let mut batches = self.iter_batches();
        let mut buffer: VecDeque<M> = VecDeque::new();
        std::iter::from_fn(move || {
            loop {
                if let Some(row) = buffer.pop_front() {
                    return Some(Ok(row));
                }
                match batches.next()? {
                    Ok(rows) => buffer.extend(rows),
                    Err(error) => return Some(Err(error)),
                }
            }
        })
    }
}

/// How the walk moves from one batch to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// After the last key seen, in key order.
    Keyset { descending: bool },
    /// By OFFSET, in the query's own order.
    Offset,
}

/// The state of a walk: the next batch's query, and what the walk has seen so far.
struct Pager<'a, M> {
    query: Select<M>,
    database: Option<&'a Database>,
    error: Option<Invalid>,
    walk: Walk,
    batch_size: u64,
    /// Rows still allowed by the query's own limit.
    remaining: Option<u64>,
    /// The next batch's offset (the query's own, then rows seen, for OFFSET walks).
    offset: u64,
    after: Option<Vec<Value>>,
    finished: bool,
}

impl<'a, M: Model> Pager<'a, M> {
    fn new(iterate: Iterate<'a, M>) -> Self {
        let Iterate { mut query, database, batch_size, error } = iterate;
        let meta = M::meta();
        let key_columns: Vec<&'static str> = meta.key_columns().map(|c| c.name).collect();
        let by_key = query.order.len() == key_columns.len()
            && query.order.iter().zip(&key_columns).all(|(term, column)| term.column == *column)
            && query.order.iter().all(|term| term.descending == query.order[0].descending);
        let walk = if query.order.is_empty() {
            Walk::Keyset { descending: false }
        } else if by_key {
            Walk::Keyset { descending: query.order[0].descending }
        } else {
            // A stable order for OFFSET pages: the key breaks ties.
            for column in key_columns {
                if !query.order.iter().any(|term| term.column == column) {
                    query.order.push(crate::column::OrderBy::new(column, false));
                }
            }
            Walk::Offset
        };
        let Paging { limit, offset } = query.paging;
        query.paging = Paging::default();
        Pager { query, database, error, walk, batch_size, remaining: limit, offset: offset.unwrap_or(0), after: None, finished: false }
    }

    /// The next batch's query, or `None` when the walk is over.
    fn next_page(&mut self) -> Result<Option<(Select<M>, &'a Database)>> {
        let database = self.database.ok_or_else(|| {
            Error::config(
                ConfigurationKind::Binding,
                format!(
                    "{} is not bound to a database: add `db = path::to::DB` to its #[duo(...)] attribute, \
                 or iterate with `.on(&db)`",
                    M::meta().name
                ),
            )
        })?;
        if self.finished || self.remaining == Some(0) {
            return Ok(None);
        }
        Ok(Some((self.page()?, database)))
    }

    /// The query of the next batch.
    fn page(&self) -> Result<Select<M>> {
        if let Some(invalid) = &self.error {
            return Err(invalid.clone().into());
        }
        self.query.check_unlocked("a stream (its batches are separate statements)")?;
        let size = self.remaining.map_or(self.batch_size, |remaining| remaining.min(self.batch_size));
        let mut page = match self.walk {
            Walk::Keyset { descending } => self.query.keyset_page(self.after.as_deref(), descending, size),
            Walk::Offset => self.query.clone().limit(size),
        };
        // The query's own offset applies to the first keyset batch; OFFSET walks add rows seen.
        if self.offset > 0 && (self.walk == Walk::Offset || self.after.is_none()) {
            page = page.offset(self.offset);
        }
        Ok(page)
    }

    fn advance(&mut self, rows: &[M]) {
        let fetched = rows.len() as u64;
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(fetched);
        }
        match self.walk {
            Walk::Keyset { .. } => {
                self.after = rows.last().map(|row| row.key().key_values());
                self.offset = 0;
            }
            Walk::Offset => self.offset += fetched,
        }
        // A short batch is the last one.
        if fetched < self.batch_size && self.remaining.is_none_or(|r| r > 0) {
            self.finished = true;
        }
    }
}
