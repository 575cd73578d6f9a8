//! Association helpers on one instance: `alice.posts().all()`, `post.author().get()`,
//! `alice.posts().create(..)`, `post.tags().attach(&tag)`, and the ORM-level delete cascade.

use std::any::Any;
use std::marker::PhantomData;

use sea_query::{Expr, ExprTrait, Query, Value};

use super::{RelatedValue, RelationField, RelationKind, RelationMeta, column_index, key_column_meta, kind};
use crate::active_record::ModelExt;
use crate::column::Condition;
use crate::database::Database;
use crate::dialect::{Statement, build_any};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta, Payload};
use crate::pending::Pending;
use crate::query::select::Select;
use crate::types::KeyValues;

/// The rows related to one instance through one relationship: what `alice.posts()` returns.
///
/// `O` is the owner, `T` the related model, `V` what the [`Related`](super::Related) field
/// holds (`Vec<T>`, `Option<T>` or `T`) and `K` the [`kind`] of relationship, which decides
/// whether [`create`](Association::create) and [`attach`](Association::attach) exist.
pub struct Association<'a, O, T, V, K> {
    owner: &'a O,
    relation: &'static RelationMeta,
    _marker: Types<T, V, K>,
}

/// The type parameters an [`Association`] carries without holding values of them.
type Types<T, V, K> = PhantomData<fn() -> (T, V, K)>;

impl<O, T, V, K> std::fmt::Debug for Association<'_, O, T, V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Association").field("relation", &self.relation.qualified_name()).finish()
    }
}

/// The owner's value of the column the relationship starts from.
fn owner_value<O: Model>(owner: &O, relation: &RelationMeta) -> Value {
    owner.value_at(column_index(O::meta(), (relation.owner_column)()))
}

/// The condition on the target table that selects the rows related to the owner key `key`.
pub(crate) fn related_rows(relation: &RelationMeta, key: Value) -> Expr {
    let target = (relation.target)();
    match &relation.through {
        Some(through) => {
            let join_table = (through.table)();
            let mut linked = Query::select();
            linked
                .column((join_table, (through.target_column)()))
                .from(join_table)
                .and_where(Expr::col((join_table, (through.owner_column)())).eq(relation.owner_column_meta().param(key)));
            Expr::col((target.table, key_column_meta(target).name)).in_subquery(linked)
        }
        None => Expr::col((target.table, (relation.target_column)())).eq(relation.target_column_meta().param(key)),
    }
}

impl<'a, O: Model, T: Model, V: RelatedValue<T>, K> Association<'a, O, T, V, K> {
    #[doc(hidden)]
    pub fn new(owner: &'a O, relation: &'static RelationMeta) -> Self {
        Association { owner, relation, _marker: PhantomData }
    }

    /// The related rows as a query to refine: `alice.posts().query().filter(..).order_by(..)`.
    /// It runs on the related model's database (give it with `.on(&db)` if only the owner is
    /// bound); the other helpers fall back to the owner's.
    pub fn query(&self) -> Select<T> {
        Select::new().and_where(Condition::from_expr(related_rows(self.relation, owner_value(self.owner, self.relation))))
    }

    /// Every related row.
    pub fn all(&self) -> Pending<'a, Vec<T>> {
        self.query().all().or_database(O::database())
    }

    /// The related rows as the relationship field holds them: a `Vec` for collections, an
    /// `Option` for optional to-one relationships, the row itself for a required
    /// `belongs_to` ([`Error::NotFound`] if it is missing).
    pub fn get(&self) -> Pending<'a, V> {
        let (query, relation) = (self.query(), self.relation);
        Pending::new::<T>(move |db| {
            Box::pin(async move {
                let rows = query.all().run_on(db).await?;
                V::from_rows(rows, relation)
            })
        })
        .or_database(O::database())
    }

    /// How many rows are related.
    pub fn count(&self) -> Pending<'a, u64> {
        self.query().count().or_database(O::database())
    }
}

/// Kinds of relationship whose related rows can be created through their owner.
pub trait CreateThrough {}
impl CreateThrough for kind::HasMany {}
impl CreateThrough for kind::HasOne {}
impl CreateThrough for kind::ManyToMany {}

impl<'a, O: Model, T: Model, V: RelatedValue<T>, K: CreateThrough> Association<'a, O, T, V, K> {
    /// Creates a related row from `payload`, linked to the owner: its foreign key is set to
    /// the owner's key (`has_many`, `has_one`), or a join row is added in the same
    /// transaction (`many_to_many`).
    ///
    /// The payload goes through the rules of a schema or map payload: guarded fields are not
    /// written.
    pub fn create<P: Payload + 'a>(&self, payload: P) -> Pending<'a, T> {
        let relation = self.relation;
        let key = owner_value(self.owner, relation);
        let owner_json = self.owner.json_values().swap_remove(column_index(O::meta(), (relation.owner_column)()));
        Pending::new::<T>(move |db| {
            Box::pin(async move {
                payload.validate()?;
                if relation.through.is_some() {
                    return crate::transaction::run_block(db, async {
                        let created = T::create(payload).into_pending().run_on(db).await?;
                        for stmt in link_inserts(db.dialect()?, relation, vec![(key, key_of(&created))])? {
                            db.execute(stmt).await?;
                        }
                        Ok(created)
                    })
                    .await;
                }
                let mut map = payload.into_map()?;
                let foreign_key = &T::meta().columns[column_index(T::meta(), (relation.target_column)())];
                map.insert(foreign_key.field.to_string(), owner_json);
                T::create(map).into_pending().run_on(db).await
            })
        })
        .or_database(O::database())
    }
}

impl<'a, O: Model, T: Model, V: RelatedValue<T>> Association<'a, O, T, V, kind::ManyToMany> {
    /// Links `target` to the owner: inserts a join row.
    pub fn attach(&self, target: &T) -> Pending<'a, ()> {
        let (relation, owner_key, target_key) = (self.relation, owner_value(self.owner, self.relation), key_of(target));
        Pending::new::<T>(move |db| {
            Box::pin(async move {
                for stmt in link_inserts(db.dialect()?, relation, vec![(owner_key, target_key)])? {
                    db.execute(stmt).await?;
                }
                Ok(())
            })
        })
        .or_database(O::database())
    }

    /// Unlinks `target` from the owner: deletes the join row (the rows themselves stay).
    /// Returns whether there was a link.
    pub fn detach(&self, target: &T) -> Pending<'a, bool> {
        let (relation, owner_key, target_key) = (self.relation, owner_value(self.owner, self.relation), key_of(target));
        Pending::new::<T>(move |db| Box::pin(async move { Ok(execute_unlink(db, relation, owner_key, Some(vec![target_key])).await? > 0) }))
            .or_database(O::database())
    }

    /// The INSERTs of the join rows that link `targets` to the owner in `dialect`: what
    /// [`attach`](Self::attach) runs for one target, and what saving the owner runs for the
    /// targets its field gained (several rows per statement, within the dialect's limits).
    pub fn attach_sql(&self, targets: &[T], dialect: crate::Dialect) -> Result<Vec<Statement>> {
        let owner_key = owner_value(self.owner, self.relation);
        link_inserts(dialect, self.relation, targets.iter().map(|t| (owner_key.clone(), key_of(t))).collect())
    }

    /// The DELETEs of the join rows that link `targets` to the owner in `dialect`: what
    /// [`detach`](Self::detach) runs for one target, and what saving the owner runs for the
    /// loaded targets its field no longer holds.
    pub fn detach_sql(&self, targets: &[T], dialect: crate::Dialect) -> Result<Vec<Statement>> {
        link_deletes(dialect, self.relation, owner_value(self.owner, self.relation), Some(targets.iter().map(key_of).collect()))
    }
}

fn key_of<T: Model>(row: &T) -> Value {
    row.value_at(T::meta().primary_key[0])
}

fn through(relation: &RelationMeta) -> Result<&super::ThroughMeta> {
    relation.through.as_ref().ok_or_else(|| {
        Error::invalid(
            InvalidQueryKind::Relationship,
            format!("{} is not a many-to-many relationship: it has no join rows", relation.qualified_name()),
        )
    })
}

/// Multi-row INSERTs of the join rows `(owner key, target key)`, with the join model's
/// `set_on(create)` stamps, within the dialect's parameter and row limits.
pub(crate) fn link_inserts(dialect: crate::Dialect, relation: &RelationMeta, links: Vec<(Value, Value)>) -> Result<Vec<Statement>> {
    let through = through(relation)?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let stamps: Vec<(&'static str, Value)> = match through.model {
        Some(model) => crate::lifecycle::timestamps(model(), crate::lifecycle::Event::Create)?
            .into_iter()
            .map(|(index, value, _)| (model().columns[index].name, value))
            .collect(),
        None => Vec::new(),
    };
    let mut columns = vec![(through.owner_column)(), (through.target_column)()];
    columns.extend(stamps.iter().map(|(name, _)| *name));
    let per_statement = crate::query::bulk::rows_per_statement(dialect, columns.len(), crate::query::bulk::DEFAULT_BATCH_SIZE);
    let (owner_key, target_key) = (relation.owner_column_meta(), key_column_meta((relation.target)()));
    let mut statements = Vec::new();
    for chunk in links.chunks(per_statement) {
        let mut stmt = Query::insert();
        stmt.into_table((through.table)()).columns(columns.iter().copied());
        for (owner, target) in chunk {
            let mut row: Vec<Expr> = vec![owner_key.param(owner.clone()), target_key.param(target.clone())];
            row.extend(stamps.iter().map(|(_, value)| Expr::val(value.clone())));
            stmt.values(row).map_err(|e| Error::invalid(InvalidQueryKind::Internal, e.to_string()))?;
        }
        statements.push(Statement::new(build_any!(dialect, stmt)));
    }
    Ok(statements)
}

/// `DELETE FROM join WHERE owner = ? [AND target IN (…)]`, the list chunked within the
/// dialect's parameter limit; every join row of the owner when `targets` is `None`.
pub(crate) fn link_deletes(
    dialect: crate::Dialect,
    relation: &RelationMeta,
    owner_key: Value,
    targets: Option<Vec<Value>>,
) -> Result<Vec<Statement>> {
    let through = through(relation)?;
    let table = (through.table)();
    let delete = |targets: Option<&[Value]>| {
        let mut stmt = Query::delete();
        stmt.from_table(table)
            .and_where(Expr::col((table, (through.owner_column)())).eq(relation.owner_column_meta().param(owner_key.clone())));
        if let Some(targets) = targets {
            let target_key = key_column_meta((relation.target)());
            stmt.and_where(Expr::col((table, (through.target_column)())).is_in(targets.iter().map(|t| target_key.param(t.clone()))));
        }
        Statement::new(build_any!(dialect, stmt))
    };
    Ok(match targets {
        None => vec![delete(None)],
        // The owner key takes one parameter besides the list.
        Some(targets) => {
            let per_statement = dialect.max_in_list().min(dialect.max_parameters() - 1);
            targets.chunks(per_statement).map(|chunk| delete(Some(chunk))).collect()
        }
    })
}

/// Runs [`link_deletes`]; returns the join rows deleted.
pub(crate) async fn execute_unlink(db: &Database, relation: &RelationMeta, owner_key: Value, targets: Option<Vec<Value>>) -> Result<u64> {
    let mut removed = 0;
    for stmt in link_deletes(db.dialect()?, relation, owner_key, targets)? {
        removed += db.execute(stmt).await?.rows_affected;
    }
    Ok(removed)
}

/// Whether `meta` declares an ORM-level cascade.
pub(crate) fn cascades(meta: &ModelMeta) -> bool {
    meta.relations.iter().any(|r| r.cascade)
}

/// Runs every ORM-level cascade of `row`'s model for `row`, about to be deleted (inside the
/// caller's transaction).
pub(crate) async fn delete_cascades<M: Model>(db: &Database, row: &M) -> Result<()> {
    for relation in M::meta().relations.iter().filter(|r| r.cascade) {
        relation.loader.delete_related(db, row).await?;
    }
    Ok(())
}

/// The ORM-level cascade of relationship `R` for one owner about to be deleted.
pub(crate) async fn delete_related<R: RelationField>(db: &Database, owner: &(dyn Any + Send + Sync)) -> Result<()> {
    let relation = R::relation();
    let owner = owner.downcast_ref::<R::Owner>().ok_or_else(|| {
        Error::invalid(InvalidQueryKind::Internal, format!("internal: cascade of {} given the wrong model", relation.name))
    })?;
    let key = owner_value(owner, relation);
    match relation.kind {
        RelationKind::ManyToMany => {
            execute_unlink(db, relation, key, None).await?;
        }
        RelationKind::HasMany | RelationKind::HasOne => {
            let rows = Select::<R::Target>::new().and_where(Condition::from_expr(related_rows(relation, key))).all().run_on(db).await?;
            // A self-referential relationship may list the owner itself (a row that is its own
            // parent): it is being deleted already.
            let owner_key = std::ptr::eq(R::Owner::meta(), R::Target::meta()).then(|| owner.key().key_values());
            for row in rows.iter().filter(|row| owner_key.as_ref() != Some(&row.key().key_values())) {
                row.delete().run_on(db).await?;
            }
        }
        // The derive refuses `cascade` on a belongs_to: deleting a post must not delete its author.
        RelationKind::BelongsTo => {}
    }
    Ok(())
}
