//! The ActiveRecord API: [`ModelExt`], the methods every [`Model`] gets (`User::create(..)`,
//! `User::filter(..)`, `user.save()`, `user.posts()`, …). Each method builds a query or a
//! write from `query/` and returns it unrun, as a [`Pending`] to `.await` or `.wait()`.

use sea_query::SelectStatement;
use serde_json::{Map, Value as Json};

use crate::column::Condition;
use crate::dialect::{self, Dialect, Statement};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::lifecycle::{self, Event};
use crate::model::{Model, Payload, Purpose};
use crate::pending::Pending;
use crate::query::bulk::{CreateBulk, DeleteBulk, UpdateBulk};
use crate::query::select::Select;
use crate::query::write::{
    Create, FromStatement, RowMatch, insert_new, is_unset_key, render_delete, render_insert, render_update, resolve, save_existing,
    update_row, without_keys,
};
use crate::types::KeyValues;

/// The ActiveRecord API of every [`Model`]: `User::create(..)`, `User::filter(..)`,
/// `user.save()`, … (in the prelude).
pub trait ModelExt: Model {
    /// A query over every row.
    fn query() -> Select<Self> {
        Select::new()
    }

    /// Every row: `User::all()` is `User::query().all()`.
    fn all<'a>() -> Pending<'a, Vec<Self>> {
        Select::new().all()
    }

    /// Some row, or `None` for an empty table: `User::query().first()`. Order first
    /// (`User::order_by(..).first()`) for a particular one.
    fn first<'a>() -> Pending<'a, Option<Self>> {
        Select::new().first()
    }

    /// How many rows there are: `User::query().count()`.
    fn count<'a>() -> Pending<'a, u64> {
        Select::<Self>::new().count()
    }

    /// Every row, ordered: `User::order_by(|u| u.name.asc())` is
    /// `User::query().order_by(..)`.
    fn order_by<O: crate::column::OrderTerms<Self>>(order: impl FnOnce(&Self::Columns) -> O) -> Select<Self> {
        Select::new().order_by(order)
    }

    /// One page of every row: `User::paginate(Page { number: 2, size: 20 })`. See
    /// [`Select::paginate`]; order the query for stable pages.
    fn paginate(page: crate::Page) -> Select<Self> {
        Select::new().paginate(page)
    }

    /// Every row, streamed in batches: `User::iterate()` is `User::query().iterate()`.
    fn iterate<'a>() -> crate::Iterate<'a, Self> {
        Select::new().iterate()
    }

    /// A query over the rows matching `condition`: `User::filter(|u| u.age.ge(18))`.
    fn filter(condition: impl FnOnce(&Self::Columns) -> Condition<Self>) -> Select<Self> {
        Select::new().filter(condition)
    }

    /// A query over every row that also loads a relationship (or a path of them):
    /// `User::related(|u| u.posts).filter(..).all()`. See [`Select::related`].
    fn related<T>(path: impl FnOnce(&Self::Columns) -> crate::Relation<Self, T>) -> Select<Self> {
        Select::new().related(path)
    }

    /// [`related`](Self::related) with the path as a value: `User::related_path(path!(User::posts,
    /// Post::comments))`.
    fn related_path<T>(path: crate::Relation<Self, T>) -> Select<Self> {
        Select::new().related_path(path)
    }

    /// The row with primary key `key` (a tuple for a composite key), or `None`.
    fn get<'a>(key: impl Into<Self::Key>) -> Pending<'a, Option<Self>> {
        let key = key.into().key_values();
        Pending::new::<Self>(move |db| {
            Box::pin(async move {
                // No LIMIT: a key matches one row at most, and SQLite would plan a bound LIMIT
                // again on every call. The text is rendered once per model and dialect.
                let dialect = db.dialect()?;
                let by_key = |key| Select::<Self>::by_key(key).to_sql(dialect);
                let stmt = crate::query::cached::statement(Self::meta(), dialect, crate::query::cached::Shape::Select, key, by_key)?;
                Ok(db.fetch_all::<Self>(stmt).await?.pop())
            })
        })
    }

    /// Inserts a row from `payload` (a schema, a map, or a model) and returns it as saved, with
    /// its generated key and database defaults. Fields that are not columns are ignored;
    /// guarded fields are never taken from a schema or map. `set_on(create)` timestamps are
    /// stamped; a model with [`Hooks`](crate::Hooks) is built first and goes through them.
    ///
    /// `.on_conflict(|u| u.email)` makes it an upsert: `.update(|u| (u.name, u.age))` updates
    /// the row it meets, `.do_nothing()` leaves it (see [`Create::on_conflict`]).
    fn create(payload: impl Payload) -> Create<Self> {
        Create::new(payload)
    }

    /// The row matching `lookup` (field → value, a unique key of the model), or a new one
    /// from `lookup` and `defaults`; `true` when it was created. Race-safe: an INSERT that
    /// leaves a row it meets alone, then a read, so two concurrent callers create one row.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "tags", db = DB)]
    /// # struct Tag { #[duo(primary_key)] id: i64, #[duo(unique)] name: String, uses: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// let (rust, created) = Tag::get_or_create(json!({"name": "rust"}), json!({"uses": 1})).await?;
    /// assert!(created);
    /// let (again, created) = Tag::get_or_create(json!({"name": "rust"}), json!({"uses": 99})).await?;
    /// assert_eq!((again.id, again.uses, created), (rust.id, 1, false));
    /// # Ok(())
    /// # }
    /// ```
    fn get_or_create<'a>(lookup: impl Payload + 'a, defaults: impl Payload + 'a) -> Pending<'a, (Self, bool)> {
        crate::query::upsert::lookup_pending::<Self>(lookup, defaults, false)
    }

    /// The row matching `lookup` (a unique key of the model) updated with `values`, or a new
    /// one from both; `true` when it was created. Race-safe like
    /// [`get_or_create`](Self::get_or_create); the update bumps a `#[duo(version)]` and stamps
    /// `set_on(update)` timestamps.
    fn update_or_create<'a>(lookup: impl Payload + 'a, values: impl Payload + 'a) -> Pending<'a, (Self, bool)> {
        crate::query::upsert::lookup_pending::<Self>(lookup, values, true)
    }

    /// Writes this instance. A model with a generated key whose key is still `0` is inserted
    /// (and gets its key); any other instance is updated by its key, and inserted when no row
    /// has that key yet. After an insert the instance holds the row as saved. Timestamps and
    /// [`Hooks`](crate::Hooks) run as documented there.
    ///
    /// What the instance's relationship fields hold is saved with it, in one transaction (the
    /// ambient one when there is one): rows assigned with [`Related::loaded`](crate::Related::loaded)
    /// or `set`, and rows loaded from the database that were changed through `get_mut`. Foreign
    /// keys and join rows are filled from the saved keys. See the guide's "Saving object
    /// graphs".
    fn save<'a>(&'a mut self) -> Pending<'a, ()> {
        Pending::new::<Self>(move |db| {
            Box::pin(async move {
                if crate::relation::save::holds_rows_to_save(self) {
                    return crate::relation::save::save_graph(db, self).await;
                }
                let meta = Self::meta();
                if meta.auto_increment_key().is_some() && is_unset_key(&self.value_at(meta.primary_key[0])) {
                    return insert_new(db, self).await;
                }
                save_existing(db, self).await.map(|_| ())
            })
        })
    }

    /// Updates this row from a partial `payload`: missing and `None` fields are skipped, the
    /// primary key and guarded fields are never assigned; `set_on(update)` timestamps are
    /// stamped. The instance is updated too. [`Error::NotFound`] when the row no longer exists.
    /// A model with [`Hooks`](crate::Hooks) runs them on the updated instance and writes all its
    /// columns.
    fn update<'a>(&'a mut self, payload: impl Payload + 'a) -> Pending<'a, ()> {
        let assigned = match resolve::<Self, _>(payload, Purpose::Update) {
            Ok(assigned) => assigned,
            Err(error) => return Pending::failed::<Self>(error),
        };
        Pending::new::<Self>(move |db| {
            Box::pin(async move {
                if assigned.is_empty() {
                    return Ok(());
                }
                let meta = Self::meta();
                if Self::hooks().is_some() {
                    let mut updated = Self::from_json_map(self.to_map())?;
                    for (index, _, json) in assigned {
                        updated.set_json(index, json)?;
                    }
                    lifecycle::before_save(&mut updated, Event::Update)?;
                    let set = without_keys(meta, updated.values());
                    if !update_row(db, &mut updated, set).await? {
                        return Err(Error::NotFound { model: meta.name });
                    }
                    *self = updated;
                    return lifecycle::after_save(self);
                }
                let mut assigned = assigned;
                lifecycle::stamp_assignments(meta, &mut assigned, Event::Update)?;
                let set = assigned.iter().map(|(i, v, _)| (*i, v.clone())).collect();
                if !update_row(db, self, set).await? {
                    return Err(Error::NotFound { model: meta.name });
                }
                for (index, _, json) in assigned {
                    self.set_json(index, json)?;
                }
                Ok(())
            })
        })
    }

    /// Sets a column of this row to a value the database computes from it, and refreshes the
    /// instance with what was stored: `counter.set(|c| c.hits.to(c.hits.plus(1))).await`. No
    /// read comes before the write, so concurrent increments all land. Chain `.set(..)` for
    /// more columns; see [`InstanceSet`](crate::query::write::InstanceSet).
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "counters", db = DB)]
    /// # struct Counter { #[duo(primary_key)] id: i64, hits: i64, misses: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> duo_orm::Result<()> {
    /// # DB.create_all().await?;
    /// let mut counter = Counter::create(json!({"hits": 41, "misses": 0})).await?;
    /// counter.set(|c| c.hits.to(c.hits.plus(1))).set(|c| c.misses.to(c.misses.plus(2))).await?;
    /// assert_eq!((counter.hits, counter.misses), (42, 2));
    /// # Ok(())
    /// # }
    /// ```
    fn set<'a>(
        &'a mut self,
        assignment: impl FnOnce(&Self::Columns) -> crate::Assignment<Self>,
    ) -> crate::query::write::InstanceSet<'a, Self> {
        crate::query::write::InstanceSet::new(self, assignment(Self::columns()))
    }

    /// Deletes this row (a row already gone is not an error), between the model's
    /// `before_delete` and `after_delete` hooks.
    fn delete<'a>(&'a self) -> Pending<'a, ()> {
        Pending::new::<Self>(move |db| {
            Box::pin(async move {
                lifecycle::before_delete(self)?;
                let matched = RowMatch::of(self);
                let stmt = render_delete(db.dialect()?, Self::meta(), &matched);
                let cascades = crate::relation::assoc::cascades(Self::meta());
                let delete = async {
                    if cascades {
                        crate::relation::assoc::delete_cascades(db, self).await?;
                    }
                    if db.execute(stmt).await?.rows_affected == 0 {
                        // Gone already is fine; changed by someone else since it was read is not.
                        matched.check_not_stale::<Self>(db).await?;
                    }
                    Ok::<_, Error>(())
                };
                if cascades {
                    // Related rows go first (a foreign key would refuse otherwise), all or nothing.
                    crate::transaction::run_block(db, delete).await?;
                } else {
                    delete.await?;
                }
                lifecycle::after_delete(self)
            })
        })
    }

    /// Inserts many rows with multi-row INSERTs: `User::create_bulk(rows).batch_size(500).await`
    /// returns the number inserted; add `.returning()` for the models. See [`CreateBulk`].
    fn create_bulk<P: Payload + 'static>(rows: impl IntoIterator<Item = P>) -> CreateBulk<Self> {
        CreateBulk::new(rows)
    }

    /// Updates every row: refused with [`Error::InvalidQuery`] unless `.require_filter(false)`
    /// says that is meant. Filtered updates are `User::filter(..).update_bulk(..)`.
    fn update_bulk_all(payload: impl Payload) -> UpdateBulk<Self> {
        Self::query().update_bulk(payload)
    }

    /// Deletes every row: refused with [`Error::InvalidQuery`] unless `.require_filter(false)`
    /// says that is meant. Filtered deletes are `User::filter(..).delete_bulk()`.
    fn delete_bulk_all() -> DeleteBulk<Self> {
        Self::query().delete_bulk()
    }

    /// Runs a hand-edited sea-query statement (usually from [`Select::alchemize`]) and decodes
    /// its rows as models. It must select the model's columns in declaration order.
    fn from_statement(statement: SelectStatement) -> FromStatement<Self> {
        FromStatement { statement, _marker: std::marker::PhantomData }
    }

    /// Builds an instance (not saved) from a schema or map; a missing optional field is
    /// `None`, a missing generated key is `0`, a missing field with a literal default gets it.
    /// Like `create`, a schema or map cannot set guarded fields or a generated key (they keep
    /// their defaults), so `from_schema(untrusted).save()` always inserts.
    fn from_schema<P: Payload>(schema: P) -> Result<Self> {
        schema.validate()?;
        let mut map = schema.into_map()?;
        if !P::TRUSTED {
            for column in Self::meta().columns.iter().filter(|c| c.guarded || c.auto_increment) {
                map.remove(column.field);
            }
        }
        Self::from_json_map(map)
    }

    /// Copies a schema's fields into this instance (not saved), with the rules of `update`.
    fn apply_schema(&mut self, schema: impl Payload) -> Result<()> {
        for (index, _, json) in resolve::<Self, _>(schema, Purpose::Update)? {
            self.set_json(index, json)?;
        }
        Ok(())
    }

    /// Converts this instance into another serde type with the same field names.
    fn to_schema<S: serde::de::DeserializeOwned>(&self) -> Result<S> {
        serde_json::from_value(Json::Object(self.to_map()))
            .map_err(|e| Error::invalid(InvalidQueryKind::Payload, format!("cannot convert {} into the schema: {e}", Self::meta().name)))
    }

    /// Field name → value, as JSON.
    fn to_map(&self) -> Map<String, Json> {
        let meta = Self::meta();
        meta.columns.iter().map(|c| c.field.to_string()).zip(self.json_values()).collect()
    }

    /// Column name → value, as JSON (the column-map export).
    fn to_column_map(&self) -> Map<String, Json> {
        let meta = Self::meta();
        meta.columns.iter().map(|c| c.name.to_string()).zip(self.json_values()).collect()
    }

    /// The model's field names, in declaration order.
    fn field_names() -> Vec<&'static str> {
        Self::meta().field_names()
    }

    /// The INSERT that `create(payload)` runs in `dialect` (for review and tests).
    fn insert_sql(payload: impl Payload, dialect: Dialect) -> Result<Statement> {
        let values = resolve::<Self, _>(payload, Purpose::Create)?;
        let returning = dialect::insert_returns_row(dialect);
        Ok(render_insert(dialect, Self::meta(), values.into_iter().map(|(i, v, _)| (i, v)), returning))
    }

    /// The UPDATE that `update(payload)` runs on this instance in `dialect`.
    fn update_sql(&self, payload: impl Payload, dialect: Dialect) -> Result<Statement> {
        let set = resolve::<Self, _>(payload, Purpose::Update)?.into_iter().map(|(i, v, _)| (i, v)).collect();
        Ok(render_update(dialect, Self::meta(), set, &RowMatch::of(self))?.0)
    }

    /// The DELETE that `delete()` runs on this instance in `dialect`.
    fn delete_sql(&self, dialect: Dialect) -> Statement {
        render_delete(dialect, Self::meta(), &RowMatch::of(self))
    }

    /// The CREATE TABLE (and CREATE INDEX) statements of this model in `dialect`.
    fn create_table_sql(dialect: Dialect) -> Result<Vec<String>> {
        crate::ddl::create_table(Self::meta(), dialect, false)
    }
}

impl<M: Model> ModelExt for M {}
