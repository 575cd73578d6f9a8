//! Saving object graphs: `save()` writes what an instance's relationship fields hold.
//!
//! A graph is saved level by level, so that each table gets one multi-row INSERT per level
//! (where the dialect hands rows back from one): the rows a level's `belongs_to` fields hold
//! first (their keys fill the level's foreign keys), then the level's own rows, then the rows
//! its `has_many`/`has_one` fields hold (with their foreign keys filled) and the join rows of
//! its `many_to_many` fields. What a row is written for depends on where it came from
//! ([`Origin`]) and the part it plays ([`Role`]); rows loaded from the database and unchanged
//! are not written at all.

use std::any::Any;

use foldhash::{HashSet, HashSetExt};
use sea_query::Value;
use serde_json::Value as Json;

use super::assoc::{execute_unlink, link_inserts};
use super::load::LinkKey;
use super::{Memo, Orphans, Related, RelatedValue, RelationField, RelationKind, RelationMeta, column_index, key_column_meta, stored};
use crate::database::Database;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pending::BoxFuture;
use crate::query::select::Select;
use crate::query::write::{insert_new_rows, save_existing};
use crate::types::{FieldType, KeyValues};

/// How many relationship hops one save follows (a chain of self-referencing parents, say)
/// before it refuses: each hop is a level of recursion.
pub const MAX_GRAPH_DEPTH: usize = 32;

/// Where a row of a graph came from.
#[derive(Debug)]
pub(crate) enum Origin {
    /// The instance `save()` was called on: written as `save()` always writes it.
    Root,
    /// Put in a relationship field by the program: nothing is known of what the database
    /// holds.
    Assigned,
    /// Loaded from the database with these column values.
    Stored(Vec<Value>),
}

/// The part a row plays for the relationship field that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Root,
    /// The target of a `belongs_to` or a `many_to_many`: linking it takes only its key, so a
    /// row that already exists is written only when it was loaded and changed.
    Linked,
    /// A row of a `has_many`/`has_one`: it holds the foreign key, so it is written unless it
    /// was loaded and is unchanged.
    Child,
}

/// What a save did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Updated, or left alone.
    NotInserted,
    /// Inserted, the database generating its key.
    Inserted,
    /// Inserted with the key it had (`save()` of a row whose key matched no row).
    InsertedWithKey,
}

/// What a save does with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Insert,
    /// Update by key, inserting when no row has that key (what `save()` does).
    Save,
    Skip,
}

/// Whether `row` holds relationship rows a save must write.
pub(crate) fn holds_rows_to_save<M: Model>(row: &M) -> bool {
    M::meta().relations.iter().any(|relation| relation.loader.needs_save(row))
}

/// The first relationship of `row` that holds rows to write (for payloads, which write
/// columns only).
pub(crate) fn held_relationship<M: Model>(row: &M) -> Option<&'static RelationMeta> {
    M::meta().relations.iter().find(|relation| relation.loader.needs_save(row))
}

/// Puts `fresh` (a row as the database returned it) in place of `row`, keeping what `row`'s
/// relationship fields hold.
pub(crate) fn replace_row<M: Model>(row: &mut M, fresh: M) {
    let mut old = std::mem::replace(row, fresh);
    for relation in M::meta().relations {
        relation.loader.move_held(&mut old, row);
    }
}

/// Saves `rows`, one level of a graph, and everything their relationship fields hold.
pub(crate) fn save_level<'a, M: Model>(
    db: &'a Database,
    rows: &'a mut [M],
    origins: Vec<Origin>,
    role: Role,
    depth: usize,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let meta = M::meta();
        if depth > MAX_GRAPH_DEPTH {
            return Err(Error::invalid(format!(
                "cannot save the graph: it goes deeper than {MAX_GRAPH_DEPTH} relationship hops at {}; save \
                 the deeper rows separately",
                meta.name
            )));
        }
        let mut written = vec![Written::NotInserted; rows.len()];
        let outcome = write_level(db, rows, origins, role, &mut written, depth).await;
        if outcome.is_err() {
            forget_keys(rows, &written);
        }
        outcome
    })
}

/// [`save_level`]'s work: parents, the rows, then what they hold. `written` says what was
/// done to each row so far.
async fn write_level<M: Model>(
    db: &Database,
    rows: &mut [M],
    origins: Vec<Origin>,
    role: Role,
    written: &mut [Written],
    depth: usize,
) -> Result<()> {
    let meta = M::meta();
    for relation in meta.relations.iter().filter(|r| r.kind == RelationKind::BelongsTo) {
        let owners = rows.iter_mut().map(|row| (row as &mut (dyn Any + Send), false)).collect();
        relation.loader.save_held(db, owners, depth).await?;
    }
    write_rows(db, rows, origins, role, written).await?;
    for relation in meta.relations.iter().filter(|r| r.kind != RelationKind::BelongsTo) {
        let owners = rows
            .iter_mut()
            .zip(written.iter())
            .map(|(row, written)| (row as &mut (dyn Any + Send), *written != Written::NotInserted))
            .collect();
        relation.loader.save_held(db, owners, depth).await?;
    }
    Ok(())
}

/// After a failed save (rolled back), gives the rows it inserted their unset generated key
/// back, so that saving the graph again inserts them again rather than updating rows that do
/// not exist (and, on PostgreSQL, inserting keys its sequence has not handed out).
fn forget_keys<M: Model>(rows: &mut [M], written: &[Written]) {
    let meta = M::meta();
    let Some(key) = meta.auto_increment_key().map(|_| meta.primary_key[0]) else { return };
    for (row, _) in rows.iter_mut().zip(written).filter(|(_, written)| **written == Written::Inserted) {
        // A generated key is an integer, which 0 always fits.
        let _ = row.set_json(key, Json::from(0));
    }
}

/// Writes the rows of one level as their origin and role say, noting in `written` what was
/// done to each.
async fn write_rows<M: Model>(db: &Database, rows: &mut [M], origins: Vec<Origin>, role: Role, written: &mut [Written]) -> Result<()> {
    let meta = M::meta();
    let generated = meta.auto_increment_key().map(|_| meta.primary_key[0]);
    let mut actions = Vec::with_capacity(rows.len());
    for (row, origin) in rows.iter().zip(origins) {
        let values = row.values();
        let action = if generated.is_some_and(|key| crate::query::write::is_unset_key(&values[key])) {
            Action::Insert
        } else {
            match (origin, role) {
                (Origin::Stored(before), _) if before == values => Action::Skip,
                (Origin::Assigned, Role::Linked) if generated.is_some() => Action::Skip,
                (Origin::Assigned, Role::Linked) => {
                    // A natural key the program set: the row may or may not exist yet.
                    let exists = Select::<M>::by_key(row.key().key_values()).exists().run_on(db).await?;
                    if exists { Action::Skip } else { Action::Insert }
                }
                _ => Action::Save,
            }
        };
        actions.push(action);
    }
    let new: Vec<usize> = actions.iter().enumerate().filter(|(_, a)| **a == Action::Insert).map(|(i, _)| i).collect();
    let generated_key = generated.is_some();
    for &i in &new {
        // Marked before the INSERT: a key still unset is forgotten harmlessly.
        written[i] = if generated_key { Written::Inserted } else { Written::InsertedWithKey };
    }
    insert_new_rows(db, rows, &new).await?;
    for (i, action) in actions.iter().enumerate() {
        if *action == Action::Save && save_existing(db, &mut rows[i]).await? {
            written[i] = Written::InsertedWithKey;
        }
    }
    Ok(())
}

/// What a relationship field of `R` held, taken out of its owners for a save.
struct Taken<R: RelationField> {
    /// Every held row, owner after owner.
    rows: Vec<R::Target>,
    origins: Vec<Origin>,
    /// Per owner that held rows: its position, and how many of `rows` are its.
    owners: Vec<(usize, usize)>,
    /// Per owner (same order): the keys of the rows the database held, when known.
    stored_keys: Vec<Option<Vec<Vec<Value>>>>,
    /// Per owner (same order): what its field was, to put back if the save fails.
    memos: Vec<Memo<R::Value>>,
}

/// Takes the rows `R`'s field holds out of `owners`: all of them for owners just inserted
/// (the rows of their has_* fields must all take the new key), else those assigned or changed.
fn take_held<R: RelationField>(owners: &mut [(&mut R::Owner, bool)]) -> Taken<R> {
    let key_columns = R::Target::meta().primary_key;
    let keys_of = |values: &[Value]| -> Vec<Value> { key_columns.iter().map(|&i| values[i].clone()).collect() };
    let mut taken =
        Taken::<R> { rows: Vec::new(), origins: Vec::new(), owners: Vec::new(), stored_keys: Vec::new(), memos: Vec::new() };
    for (position, (owner, inserted)) in owners.iter_mut().enumerate() {
        let every_row = *inserted && R::relation().kind != RelationKind::BelongsTo;
        let Some((value, memo)) = R::slot(owner).take_for_save(every_row) else { continue };
        let rows = value.into_rows();
        taken.owners.push((position, rows.len()));
        let stored = memo.stored_rows();
        for row in rows {
            let key = row.key().key_values();
            let before = stored.and_then(|stored| stored.iter().find(|before| keys_of(before) == key));
            taken.origins.push(before.cloned().map_or(Origin::Assigned, Origin::Stored));
            taken.rows.push(row);
        }
        taken.stored_keys.push(stored.map(|rows| rows.iter().map(|values| keys_of(values)).collect()));
        taken.memos.push(memo);
    }
    taken
}

/// Puts the rows back into their owners' fields: as stored after a save, as they were after a
/// failed one.
fn put_back<R: RelationField>(owners: &mut [(&mut R::Owner, bool)], taken: Taken<R>, saved: bool) -> Result<()> {
    let mut rows = taken.rows.into_iter();
    for (&(position, count), memo) in taken.owners.iter().zip(taken.memos) {
        let value = R::Value::from_rows(rows.by_ref().take(count).collect(), R::relation())?;
        *R::slot(owners[position].0) = if saved { stored::<R>(value) } else { Related::restore(value, memo) };
    }
    Ok(())
}

/// Saves what relationship field `R` holds for `owners` (each with whether it was just
/// inserted): for a `belongs_to`, before the owners are written, filling their foreign keys.
pub(crate) async fn save_held<R: RelationField>(db: &Database, owners: Vec<(&mut (dyn Any + Send), bool)>, depth: usize) -> Result<()> {
    let relation = R::relation();
    let mut owners = owners
        .into_iter()
        .map(|(owner, inserted)| {
            let owner = owner
                .downcast_mut::<R::Owner>()
                .ok_or_else(|| Error::invalid(format!("internal: {} saved for the wrong model", relation.qualified_name())))?;
            Ok((owner, inserted))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut taken = take_held::<R>(&mut owners);
    if taken.owners.is_empty() {
        return Ok(());
    }
    let outcome = save_taken::<R>(db, &mut owners, &mut taken, depth).await;
    let put = put_back::<R>(&mut owners, taken, outcome.is_ok());
    outcome.and(put)
}

async fn save_taken<R: RelationField>(
    db: &Database,
    owners: &mut [(&mut R::Owner, bool)],
    taken: &mut Taken<R>,
    depth: usize,
) -> Result<()> {
    let relation = R::relation();
    let origins = std::mem::take(&mut taken.origins);
    match relation.kind {
        RelationKind::BelongsTo => {
            save_level(db, &mut taken.rows, origins, Role::Linked, depth + 1).await.map_err(|e| within(relation, e))?;
            fill_foreign_keys::<R>(owners, &taken.owners, &taken.rows)
        }
        RelationKind::HasMany | RelationKind::HasOne => {
            let orphans = orphans_of::<R>(taken)?;
            let owner_key = column_index(R::Owner::meta(), (relation.owner_column)());
            let foreign_key = column_index(R::Target::meta(), (relation.target_column)());
            let mut rows = taken.rows.iter_mut();
            for &(position, count) in &taken.owners {
                let key = owners[position].0.json_values().swap_remove(owner_key);
                for row in rows.by_ref().take(count) {
                    row.set_json(foreign_key, key.clone()).map_err(|e| within(relation, e))?;
                }
            }
            delete_orphans::<R>(db, orphans).await?;
            save_level(db, &mut taken.rows, origins, Role::Child, depth + 1).await.map_err(|e| within(relation, e))
        }
        RelationKind::ManyToMany => {
            check_through(relation)?;
            save_level(db, &mut taken.rows, origins, Role::Linked, depth + 1).await.map_err(|e| within(relation, e))?;
            save_links::<R>(db, owners, taken).await
        }
    }
}

/// Sets each owner's foreign key to the key of the row its `belongs_to` holds (NULL for an
/// optional one that holds none).
fn fill_foreign_keys<R: RelationField>(owners: &mut [(&mut R::Owner, bool)], taken: &[(usize, usize)], rows: &[R::Target]) -> Result<()> {
    let relation = R::relation();
    let foreign_key = column_index(R::Owner::meta(), (relation.owner_column)());
    let target_key = column_index(R::Target::meta(), (relation.target_column)());
    let mut rows = rows.iter();
    for &(position, count) in taken {
        let key = match rows.by_ref().take(count).next() {
            Some(row) => row.json_values().swap_remove(target_key),
            None => Json::Null,
        };
        owners[position].0.set_json(foreign_key, key).map_err(|e| within(relation, e))?;
    }
    Ok(())
}

/// The keys of rows that were loaded into a has_* field and are no longer held, refused
/// unless the relationship says what to do with them.
fn orphans_of<R: RelationField>(taken: &Taken<R>) -> Result<Vec<Vec<Value>>> {
    let relation = R::relation();
    let held: HashSet<Vec<LinkKey>> = taken.rows.iter().map(|row| link_keys(row.key().key_values())).collect();
    let orphans: Vec<Vec<Value>> = taken
        .stored_keys
        .iter()
        .flatten()
        .flatten()
        .filter(|key| !held.contains(&link_keys((*key).clone())))
        .cloned()
        .collect();
    if orphans.is_empty() || relation.orphans == Orphans::Keep {
        return Ok(orphans.into_iter().filter(|_| false).collect());
    }
    if relation.orphans == Orphans::Delete {
        return Ok(orphans);
    }
    let shown: Vec<String> = orphans.iter().take(5).map(|key| show_key(key)).collect();
    Err(Error::Relationship {
        relation: relation.qualified_name(),
        detail: format!(
            "{} {} loaded into it and no longer held (key {}{}); declare what a save does with such rows: \
             #[duo({}(.., orphans = delete))] deletes them, orphans = keep leaves them as they are; or delete \
             them yourself, or take() the field to leave it alone",
            orphans.len(),
            if orphans.len() == 1 { "row was" } else { "rows were" },
            shown.join(", "),
            if orphans.len() > shown.len() { ", …" } else { "" },
            relation.kind.keyword(),
        ),
    })
}

fn show_key(key: &[Value]) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|value| match value {
            Value::BigInt(Some(n)) => n.to_string(),
            Value::Int(Some(n)) => n.to_string(),
            Value::SmallInt(Some(n)) => n.to_string(),
            Value::String(Some(text)) => format!("{text:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    parts.join(", ")
}

fn link_keys(values: Vec<Value>) -> Vec<LinkKey> {
    values.into_iter().map(LinkKey::from).collect()
}

/// Deletes orphaned rows one by one, with their hooks and cascades, as `delete()` does.
async fn delete_orphans<R: RelationField>(db: &Database, orphans: Vec<Vec<Value>>) -> Result<()> {
    for key in orphans {
        if let Some(row) = Select::<R::Target>::by_key(key).first().run_on(db).await? {
            crate::query::write::ModelExt::delete(&row).run_on(db).await?;
        }
    }
    Ok(())
}

/// A many-to-many whose join table is a model with required columns of its own cannot be
/// linked with the two keys alone.
fn check_through(relation: &'static RelationMeta) -> Result<()> {
    let Some(through) = &relation.through else { return Ok(()) };
    let Some(model) = through.model else { return Ok(()) };
    let meta = model();
    let keys = [(through.owner_column)(), (through.target_column)()];
    let stamped = |c: &crate::model::ColumnMeta| c.set_on.create;
    if let Some(column) = meta
        .columns
        .iter()
        .find(|c| !keys.contains(&c.name) && !c.nullable && c.default.is_none() && !c.auto_increment && !stamped(c))
    {
        return Err(Error::Relationship {
            relation: relation.qualified_name(),
            detail: format!(
                "its join table {} has the required column `{}`, which a link made from the two keys cannot \
                 fill; create the {} rows yourself ({}::create(..))",
                meta.name, column.field, meta.name, meta.name
            ),
        });
    }
    Ok(())
}

/// Adds the join rows the owners' many-to-many fields now hold and deletes those of rows that
/// were loaded and are no longer held.
async fn save_links<R: RelationField>(db: &Database, owners: &[(&mut R::Owner, bool)], taken: &Taken<R>) -> Result<()> {
    let relation = R::relation();
    let dialect = db.dialect()?;
    let owner_index = column_index(R::Owner::meta(), (relation.owner_column)());
    let target_index = key_column_meta_index::<R::Target>();
    // Links that exist already, read for owners that existed before this save.
    let existing_owners: Vec<Value> =
        taken.owners.iter().filter(|(p, _)| !owners[*p].1).map(|(p, _)| owners[*p].0.value_at(owner_index)).collect();
    let mut existing: HashSet<(LinkKey, LinkKey)> = HashSet::new();
    if !existing_owners.is_empty() {
        for stmt in super::load::selectin_statements(dialect, relation, existing_owners, &[]) {
            let pairs = db
                .fetch_decoded(stmt, R::Target::meta().name, move |row| {
                    let owner = row.next::<R::OwnerKey>()?.into_value();
                    let target = R::Target::decode(row)?;
                    Ok((owner, target.value_at(target_index)))
                })
                .await?;
            existing.extend(pairs.into_iter().map(|(o, t)| (LinkKey::from(o), LinkKey::from(t))));
        }
    }
    let mut add: Vec<(Value, Value)> = Vec::new();
    let mut remove: Vec<(Value, Vec<Value>)> = Vec::new();
    let mut rows = taken.rows.iter();
    for (&(position, count), stored) in taken.owners.iter().zip(&taken.stored_keys) {
        let owner_key = owners[position].0.value_at(owner_index);
        let mut held = HashSet::new();
        for row in rows.by_ref().take(count) {
            let target_key = row.value_at(target_index);
            held.insert(LinkKey::from(target_key.clone()));
            if existing.insert((LinkKey::from(owner_key.clone()), LinkKey::from(target_key.clone()))) {
                add.push((owner_key.clone(), target_key));
            }
        }
        let gone: Vec<Value> = stored
            .iter()
            .flatten()
            .filter_map(|key| key.first().cloned())
            .filter(|key| !held.contains(&LinkKey::from(key.clone())))
            .collect();
        if !gone.is_empty() {
            remove.push((owner_key, gone));
        }
    }
    for stmt in link_inserts(dialect, relation, add)? {
        db.execute(stmt).await?;
    }
    for (owner_key, targets) in remove {
        execute_unlink(db, relation, owner_key, Some(targets)).await?;
    }
    Ok(())
}

fn key_column_meta_index<T: Model>() -> usize {
    column_index(T::meta(), key_column_meta(T::meta()).name)
}

/// The error of a node's save, saying which relationship it was saved through.
fn within(relation: &RelationMeta, error: Error) -> Error {
    match error {
        // The innermost relationship already named itself.
        Error::Relationship { .. } => error,
        Error::Integrity { .. } | Error::Validation { .. } | Error::ConnectionLost { .. } | Error::Database(_) => error,
        Error::InvalidQuery(detail) => Error::Relationship { relation: relation.qualified_name(), detail },
        other => Error::Relationship { relation: relation.qualified_name(), detail: other.to_string() },
    }
}
