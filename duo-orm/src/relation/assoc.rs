//! Association helpers on one instance: `alice.posts().all()`, `post.author().get()`,
//! `alice.posts().create(..)`, `post.tags().attach(&tag)`, and the ORM-level delete cascade.

use std::any::Any;
use std::marker::PhantomData;

use sea_query::{Expr, ExprTrait, Query, Value};

use super::{RelatedValue, RelationField, RelationKind, RelationMeta, column_index, key_column_meta, kind};
use crate::column::Condition;
use crate::database::Database;
use crate::dialect::{Statement, build_any};
use crate::error::{Error, Result};
use crate::model::{Model, ModelMeta, Payload};
use crate::types::KeyValues;
use crate::pending::Pending;
use crate::query::select::Select;
use crate::query::write::ModelExt;

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
                .and_where(Expr::col((join_table, (through.owner_column)())).eq(key));
            Expr::col((target.table, key_column_meta(target).name)).in_subquery(linked)
        }
        None => Expr::col((target.table, (relation.target_column)())).eq(key),
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
                        let created = T::create(payload).run_on(db).await?;
                        execute_link(db, relation, LinkChange::Attach, key, key_of(&created)).await?;
                        Ok(created)
                    })
                    .await;
                }
                let mut map = payload.into_map()?;
                let foreign_key = &T::meta().columns[column_index(T::meta(), (relation.target_column)())];
                map.insert(foreign_key.field.to_string(), owner_json);
                T::create(map).run_on(db).await
            })
        })
        .or_database(O::database())
    }
}

impl<'a, O: Model, T: Model, V: RelatedValue<T>> Association<'a, O, T, V, kind::ManyToMany> {
    /// Links `target` to the owner: inserts a join row.
    pub fn attach(&self, target: &T) -> Pending<'a, ()> {
        self.change_link(LinkChange::Attach, target).map(|_| ())
    }

    /// Unlinks `target` from the owner: deletes the join row (the rows themselves stay).
    /// Returns whether there was a link.
    pub fn detach(&self, target: &T) -> Pending<'a, bool> {
        self.change_link(LinkChange::Detach, target).map(|removed| removed > 0)
    }

    fn change_link(&self, change: LinkChange, target: &T) -> Pending<'a, u64> {
        let (relation, owner_key, target_key) = (self.relation, owner_value(self.owner, self.relation), key_of(target));
        Pending::new::<T>(move |db| Box::pin(execute_link(db, relation, change, owner_key, target_key))).or_database(O::database())
    }
}

fn key_of<T: Model>(row: &T) -> Value {
    row.value_at(T::meta().primary_key[0])
}

#[derive(Clone, Copy)]
enum LinkChange {
    Attach,
    Detach,
}

/// Inserts or deletes the join row of `owner_key` and `target_key`; returns the rows affected.
async fn execute_link(db: &Database, relation: &RelationMeta, change: LinkChange, owner_key: Value, target_key: Value) -> Result<u64> {
    let stmt = link_statement(db.dialect()?, relation, change, owner_key, Some(target_key))?;
    Ok(db.execute(stmt).await?.rows_affected)
}

/// `INSERT INTO join (owner, target) VALUES (?, ?)`, or `DELETE FROM join WHERE owner = ?
/// [AND target = ?]`.
fn link_statement(
    dialect: crate::Dialect,
    relation: &RelationMeta,
    change: LinkChange,
    owner_key: Value,
    target_key: Option<Value>,
) -> Result<Statement> {
    let through = relation.through.as_ref().ok_or_else(|| {
        Error::invalid(format!("{} is not a many-to-many relationship: it has no join rows", relation.qualified_name()))
    })?;
    let (table, owner_column, target_column) = ((through.table)(), (through.owner_column)(), (through.target_column)());
    Ok(match (change, target_key) {
        (LinkChange::Attach, Some(target_key)) => {
            let mut stmt = Query::insert();
            stmt.into_table(table).columns([owner_column, target_column]);
            stmt.values([owner_key.into(), target_key.into()]).map_err(|e| Error::invalid(e.to_string()))?;
            Statement::new(build_any!(dialect, stmt))
        }
        (_, target_key) => {
            let mut stmt = Query::delete();
            stmt.from_table(table).and_where(Expr::col((table, owner_column)).eq(owner_key));
            if let Some(target_key) = target_key {
                stmt.and_where(Expr::col((table, target_column)).eq(target_key));
            }
            Statement::new(build_any!(dialect, stmt))
        }
    })
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
    let owner = owner
        .downcast_ref::<R::Owner>()
        .ok_or_else(|| Error::invalid(format!("internal: cascade of {} given the wrong model", relation.name)))?;
    let key = owner_value(owner, relation);
    match relation.kind {
        RelationKind::ManyToMany => {
            let stmt = link_statement(db.dialect()?, relation, LinkChange::Detach, key, None)?;
            db.execute(stmt).await?;
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
