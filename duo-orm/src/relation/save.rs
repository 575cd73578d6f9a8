//! Saving object graphs: `save()` writes what an instance's relationship fields hold.
//!
//! A graph is saved level by level, so that each table gets one multi-row INSERT per level
//! (where the dialect ties the rows it hands back to the rows sent): the rows a level's
//! `belongs_to` fields hold first (their keys fill the level's foreign keys), then the level's
//! own rows, then the rows its `has_many`/`has_one` fields hold (with their foreign keys filled)
//! and the join rows of its `many_to_many` fields. What a row is written for depends on where
//! it came from ([`Origin`]) and the part it plays ([`Role`]); rows loaded from the database and
//! unchanged are not written at all.
//!
//! Rows stay in their fields while they are saved (the save borrows them), so a save that fails
//! or is cancelled loses nothing in memory. The [`Journal`] lists the keys the database
//! generated during the save: on success, fields whose rows are all known to match the database
//! are marked as stored ([`settle`]); on failure (or cancellation) the rolled-back keys are
//! forgotten again ([`forget`]), so that saving the graph again inserts those rows again.

use std::any::Any;

use foldhash::{HashMap, HashSet, HashSetExt};
use sea_query::Value;
use serde_json::Value as Json;

use super::assoc::{execute_unlink, link_inserts};
use super::load::LinkKey;
use super::{Orphans, RelatedValue, RelationField, RelationKind, RelationMeta, column_index, image, key_column_meta, owner_identity};
use crate::database::Database;
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::Model;
use crate::pending::BoxFuture;
use crate::query::select::Select;
use crate::query::write::{insert_new_rows, save_existing};
use crate::types::{FieldType, KeyValues};

/// How many relationship hops one save follows (a chain of self-referencing rows, say): the
/// graph is measured before anything is written, and a deeper one is refused.
pub const MAX_GRAPH_DEPTH: usize = 32;

/// The rows this save inserted, by address: rows stay where they are while a graph is saved
/// (the save borrows them in their fields), so the address names the row, where a key value
/// could also match a stale copy elsewhere in the graph.
#[doc(hidden)]
#[derive(Default)]
pub struct Journal {
    inserted: HashSet<usize>,
}

impl Journal {
    fn record<M: Model>(&mut self, row: &M) {
        self.inserted.insert(address(row));
    }

    fn inserted<M: Model>(&self, row: &M) -> bool {
        self.inserted.contains(&address(row))
    }
}

fn address<M>(row: &M) -> usize {
    std::ptr::from_ref(row) as usize
}

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
    held_relationship(row).is_some()
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

/// Saves `root` and what its relationship fields hold, in one transaction (a savepoint inside
/// an ambient one).
pub(crate) async fn save_graph<M: Model>(db: &Database, root: &mut M) -> Result<()> {
    if let Some(relation) = too_deep(root, MAX_GRAPH_DEPTH) {
        return Err(Error::Relationship {
            relation: relation.qualified_name(),
            detail: format!("the graph goes deeper than {MAX_GRAPH_DEPTH} relationship hops; save the deeper rows separately"),
        });
    }
    // Forgets the rolled-back keys however the save ends early: an error, or the caller
    // dropping the future (a timeout).
    struct Undo<'r, M: Model> {
        root: &'r mut M,
        journal: Journal,
        done: bool,
    }
    impl<M: Model> Drop for Undo<'_, M> {
        fn drop(&mut self) {
            if !self.done {
                forget(self.root, &self.journal);
            }
        }
    }
    let mut undo = Undo { root, journal: Journal::default(), done: false };
    let ambient = crate::transaction::current(db).is_some();
    let mut rows = [&mut *undo.root];
    crate::transaction::run_block(db, save_level(db, &mut undo.journal, &mut rows, vec![Origin::Root], Role::Root, 0)).await?;
    undo.done = true;
    // Inside a transaction of the caller's, nothing is final yet: if that one rolls back,
    // fields marked as stored would make a second save skip rows that are not there. They stay
    // as they were, so saving again writes them again.
    if !ambient {
        settle(undo.root);
    }
    Ok(())
}

/// Saves `rows`, one level of a graph, and everything their relationship fields hold.
pub(crate) fn save_level<'a, M: Model>(
    db: &'a Database,
    journal: &'a mut Journal,
    rows: &'a mut [&mut M],
    origins: Vec<Origin>,
    role: Role,
    depth: usize,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let meta = M::meta();
        for relation in meta.relations.iter().filter(|r| r.kind == RelationKind::BelongsTo) {
            let owners = rows.iter_mut().map(|row| (&mut **row as &mut (dyn Any + Send), false)).collect();
            relation.loader.save_held(db, journal, owners, depth).await?;
        }
        let inserted = write_rows(db, journal, rows, origins, role).await?;
        for relation in meta.relations.iter().filter(|r| r.kind != RelationKind::BelongsTo) {
            let owners = rows.iter_mut().zip(&inserted).map(|(row, new)| (&mut **row as &mut (dyn Any + Send), *new)).collect();
            relation.loader.save_held(db, journal, owners, depth).await?;
        }
        Ok(())
    })
}

/// Writes the rows of one level as their origin and role say; returns which were inserted.
async fn write_rows<M: Model>(
    db: &Database,
    journal: &mut Journal,
    rows: &mut [&mut M],
    origins: Vec<Origin>,
    role: Role,
) -> Result<Vec<bool>> {
    let meta = M::meta();
    let generated = meta.auto_increment_key().map(|_| meta.primary_key[0]);
    let mut actions = Vec::with_capacity(rows.len());
    let mut new_keys: HashSet<Vec<LinkKey>> = HashSet::new();
    for (row, origin) in rows.iter().zip(origins) {
        let values = row.values();
        let action = if generated.is_some_and(|key| crate::query::write::is_unset_key(&values[key])) {
            Action::Insert
        } else {
            match (origin, role) {
                (Origin::Stored(before), _) if before == values => Action::Skip,
                (Origin::Assigned, Role::Linked) if generated.is_some() => Action::Skip,
                (Origin::Assigned, Role::Linked) => {
                    // A natural key the program set: the row may or may not exist yet, and the
                    // same new row may be held twice (a tag of two posts): inserted once.
                    let key = link_keys(row.key().key_values());
                    if new_keys.contains(&key) || Select::<M>::by_key(row.key().key_values()).exists().run_on(db).await? {
                        Action::Skip
                    } else {
                        new_keys.insert(key);
                        Action::Insert
                    }
                }
                _ => Action::Save,
            }
        };
        actions.push(action);
    }
    let new: Vec<usize> = actions.iter().enumerate().filter(|(_, a)| **a == Action::Insert).map(|(i, _)| i).collect();
    let outcome = insert_new_rows(db, rows, &new).await;
    // Noted even when the INSERTs failed part-way: rows that got a key before the failure
    // must give it back (noting a row still without one is harmless).
    let mut inserted = vec![false; rows.len()];
    for &i in &new {
        inserted[i] = true;
        journal.record(&*rows[i]);
    }
    outcome?;
    for (i, action) in actions.iter().enumerate() {
        if *action == Action::Save {
            inserted[i] = save_existing(db, &mut *rows[i]).await?;
        }
    }
    Ok(inserted)
}

/// The rows relationship field `R` holds for a save, borrowed from their owners.
struct Held<'r, R: RelationField> {
    /// Every held row, owner after owner.
    rows: Vec<&'r mut R::Target>,
    origins: Vec<Origin>,
    /// Per owner that holds rows (its position among the owners): how many of `rows` are its.
    counts: Vec<(usize, usize)>,
    /// Per owner (same order): the keys of the rows the database held, when known.
    stored_keys: Vec<Option<Vec<Vec<Value>>>>,
}

/// Borrows the rows `R`'s field holds, for the owners at `positions` (those whose field has
/// rows to write).
fn borrow_held<'r, R: RelationField>(owners: &'r mut [(&mut R::Owner, bool)], positions: &[usize]) -> Held<'r, R> {
    let key_columns = R::Target::meta().primary_key;
    let keys_of = |values: &[Value]| -> Vec<Value> { key_columns.iter().map(|&i| values[i].clone()).collect() };
    let mut wanted = vec![false; owners.len()];
    for &position in positions {
        wanted[position] = true;
    }
    let mut held = Held::<R> { rows: Vec::new(), origins: Vec::new(), counts: Vec::new(), stored_keys: Vec::new() };
    for (position, (owner, _)) in owners.iter_mut().enumerate().filter(|(position, _)| wanted[*position]) {
        let identity = owner_identity(&**owner);
        let Some((value, stored)) = R::slot(owner).rows_to_save(identity) else { continue };
        let by_key: HashMap<Vec<LinkKey>, &Vec<Value>> =
            stored.iter().flat_map(|rows| rows.iter()).map(|values| (link_keys(keys_of(values)), values)).collect();
        let rows = value.rows_mut();
        held.counts.push((position, rows.len()));
        for row in rows {
            let before = by_key.get(&link_keys(row.key().key_values()));
            held.origins.push(before.map_or(Origin::Assigned, |values| Origin::Stored((*values).clone())));
            held.rows.push(row);
        }
        held.stored_keys.push(stored.map(|rows| rows.iter().map(|values| keys_of(values)).collect()));
    }
    held
}

/// Saves what relationship field `R` holds for `owners` (each with whether it was just
/// inserted): for a `belongs_to`, before the owners are written, filling their foreign keys.
pub(crate) async fn save_held<R: RelationField>(
    db: &Database,
    journal: &mut Journal,
    owners: Vec<(&mut (dyn Any + Send), bool)>,
    depth: usize,
) -> Result<()> {
    let relation = R::relation();
    let mut owners = owners
        .into_iter()
        .map(|(owner, inserted)| {
            let owner = owner.downcast_mut::<R::Owner>().ok_or_else(|| {
                Error::invalid(InvalidQueryKind::Internal, format!("internal: {} saved for the wrong model", relation.qualified_name()))
            })?;
            Ok((owner, inserted))
        })
        .collect::<Result<Vec<_>>>()?;
    let positions: Vec<usize> = owners
        .iter()
        .enumerate()
        .filter(|(_, (owner, _))| R::slot_ref(owner).needs_save(owner_identity(&**owner)))
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return Ok(());
    }
    let owner_column = column_index(R::Owner::meta(), (relation.owner_column)());
    let target_column = column_index(R::Target::meta(), (relation.target_column)());
    match relation.kind {
        RelationKind::BelongsTo => {
            let held = borrow_held::<R>(&mut owners, &positions);
            let (mut rows, counts) = (held.rows, held.counts);
            save_level(db, journal, &mut rows, held.origins, Role::Linked, depth + 1).await.map_err(|e| within(relation, e))?;
            // The key each owner's field now holds (NULL for an optional one that holds none).
            let mut keys = Vec::with_capacity(counts.len());
            let mut rows = rows.into_iter();
            for &(position, count) in &counts {
                let key = rows.by_ref().take(count).next().map_or(Json::Null, |row| row.json_values().swap_remove(target_column));
                keys.push((position, key));
            }
            for (position, key) in keys {
                owners[position].0.set_json(owner_column, key).map_err(|e| within(relation, e))?;
            }
            Ok(())
        }
        RelationKind::HasMany | RelationKind::HasOne => {
            let owner_keys: HashMap<usize, Json> =
                positions.iter().map(|&p| (p, owners[p].0.json_values().swap_remove(owner_column))).collect();
            let held = borrow_held::<R>(&mut owners, &positions);
            let orphans = orphans_of::<R>(&held)?;
            let mut rows = held.rows;
            let mut at = rows.iter_mut();
            for &(position, count) in &held.counts {
                for row in at.by_ref().take(count) {
                    claimed_once::<R>(row)?;
                    row.set_json(target_column, owner_keys[&position].clone()).map_err(|e| within(relation, e))?;
                }
            }
            delete_orphans::<R>(db, orphans).await?;
            save_level(db, journal, &mut rows, held.origins, Role::Child, depth + 1).await.map_err(|e| within(relation, e))
        }
        RelationKind::ManyToMany => {
            check_through(relation)?;
            let owner_keys: Vec<(Value, bool)> = owners.iter().map(|(owner, new)| (owner.value_at(owner_column), *new)).collect();
            let held = borrow_held::<R>(&mut owners, &positions);
            // Paired with the owners that held rows, by the positions `borrow_held` reports.
            let owner_keys: Vec<(Value, bool)> = held.counts.iter().map(|&(p, _)| owner_keys[p].clone()).collect();
            let mut rows = held.rows;
            save_level(db, journal, &mut rows, held.origins, Role::Linked, depth + 1).await.map_err(|e| within(relation, e))?;
            let target_key = column_index(R::Target::meta(), key_column_meta(R::Target::meta()).name);
            let mut rows = rows.into_iter();
            let links: Vec<Vec<Value>> =
                held.counts.iter().map(|&(_, count)| rows.by_ref().take(count).map(|row| row.value_at(target_key)).collect()).collect();
            save_links::<R>(db, &owner_keys, links, held.stored_keys).await
        }
    }
}

/// A row saved through a `has_many`/`has_one` whose own `belongs_to` over the same foreign key
/// also holds a row would be claimed by two owners: refused rather than one silently winning.
fn claimed_once<R: RelationField>(row: &R::Target) -> Result<()> {
    let relation = R::relation();
    let foreign_key = (relation.target_column)();
    let other = R::Target::meta()
        .relations
        .iter()
        .find(|r| r.kind == RelationKind::BelongsTo && (r.owner_column)() == foreign_key && r.loader.needs_save(row));
    match other {
        Some(other) => Err(Error::Relationship {
            relation: relation.qualified_name(),
            detail: format!(
                "a {} it holds also has {} assigned, and both set `{foreign_key}`; assign one of the two",
                R::Target::meta().name,
                other.qualified_name()
            ),
        }),
        None => Ok(()),
    }
}

/// The keys of rows that were loaded into a has_* field and are no longer held: to delete
/// under `orphans = delete`, none under `keep`, refused under `refuse`.
fn orphans_of<R: RelationField>(held: &Held<'_, R>) -> Result<Vec<Vec<Value>>> {
    let relation = R::relation();
    let kept: HashSet<Vec<LinkKey>> = held.rows.iter().map(|row| link_keys(row.key().key_values())).collect();
    let orphans: Vec<Vec<Value>> =
        held.stored_keys.iter().flatten().flatten().filter(|key| !kept.contains(&link_keys((*key).clone()))).cloned().collect();
    match relation.orphans {
        _ if orphans.is_empty() => Ok(orphans),
        Orphans::Keep => Ok(Vec::new()),
        Orphans::Delete => Ok(orphans),
        Orphans::Refuse => {
            let shown: Vec<String> = orphans.iter().take(5).map(|key| show_key(key)).collect();
            Err(Error::Relationship {
                relation: relation.qualified_name(),
                detail: format!(
                    "{} {} loaded into it and no longer held (key {}{}); declare what a save does with such \
                     rows: #[duo({}(.., orphans = delete))] deletes them, orphans = keep leaves them as they \
                     are; or delete them yourself, or take() the field to leave it alone",
                    orphans.len(),
                    if orphans.len() == 1 { "row was" } else { "rows were" },
                    shown.join(", "),
                    if orphans.len() > shown.len() { ", …" } else { "" },
                    relation.kind.keyword(),
                ),
            })
        }
    }
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
            crate::active_record::ModelExt::delete(&row).run_on(db).await?;
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
    let required = meta
        .columns
        .iter()
        .find(|c| !keys.contains(&c.name) && !c.nullable && c.default.is_none() && !c.auto_increment && !c.set_on.create);
    match required {
        Some(column) => Err(Error::Relationship {
            relation: relation.qualified_name(),
            detail: format!(
                "its join table {} has the required column `{}`, which a link made from the two keys cannot \
                 fill; create the {} rows yourself ({}::create(..))",
                meta.name, column.field, meta.name, meta.name
            ),
        }),
        None => Ok(()),
    }
}

/// Adds the join rows the owners' many-to-many fields now hold (`links`, per owner the target
/// keys) and deletes those of rows that were loaded and are no longer held.
async fn save_links<R: RelationField>(
    db: &Database,
    owners: &[(Value, bool)],
    links: Vec<Vec<Value>>,
    stored_keys: Vec<Option<Vec<Vec<Value>>>>,
) -> Result<()> {
    let relation = R::relation();
    let dialect = db.dialect()?;
    // Links that exist already, read for owners that existed before this save.
    let existing_owners: Vec<Value> = owners.iter().filter(|(_, new)| !new).map(|(key, _)| key.clone()).collect();
    let mut existing: HashSet<(LinkKey, LinkKey)> = HashSet::new();
    if !existing_owners.is_empty() {
        let target_key = column_index(R::Target::meta(), key_column_meta(R::Target::meta()).name);
        for stmt in super::load::selectin_statements(dialect, relation, existing_owners, &[]) {
            let pairs = db
                .fetch_decoded(stmt, R::Target::meta().name, move |row| {
                    let owner = row.next_column::<R::OwnerKey>()?.into_value();
                    let target = R::Target::decode(row)?;
                    Ok((owner, target.value_at(target_key)))
                })
                .await?;
            existing.extend(pairs.into_iter().map(|(o, t)| (LinkKey::from(o), LinkKey::from(t))));
        }
    }
    let mut add: Vec<(Value, Value)> = Vec::new();
    let mut remove: Vec<(Value, Vec<Value>)> = Vec::new();
    for (((owner_key, _), targets), stored) in owners.iter().zip(links).zip(stored_keys) {
        let mut held = HashSet::new();
        for target_key in targets {
            held.insert(LinkKey::from(target_key.clone()));
            if existing.insert((LinkKey::from(owner_key.clone()), LinkKey::from(target_key.clone()))) {
                add.push((owner_key.clone(), target_key));
            }
        }
        let gone: Vec<Value> = stored
            .into_iter()
            .flatten()
            .filter_map(|key| key.into_iter().next())
            .filter(|key| !held.contains(&LinkKey::from(key.clone())))
            .collect();
        if !gone.is_empty() {
            remove.push((owner_key.clone(), gone));
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

/// The error of a node's save, saying which relationship it was saved through.
fn within(relation: &RelationMeta, error: Error) -> Error {
    match error {
        // The innermost relationship already named itself; database and validation errors say
        // what failed in their own terms.
        Error::Relationship { .. }
        | Error::Integrity { .. }
        | Error::Validation { .. }
        | Error::ConnectionLost { .. }
        | Error::Database(_)
        | Error::Configuration { .. } => error,
        // What the transaction or the database did is not about the relationship: kept, so that
        // a caller matching on its kind (a cancelled transaction, a row not read back) sees it.
        Error::InvalidQuery { kind: InvalidQueryKind::Transaction | InvalidQueryKind::ReadBack | InvalidQueryKind::Internal, .. } => error,
        Error::InvalidQuery { message: detail, .. } => Error::Relationship { relation: relation.qualified_name(), detail },
        other => Error::Relationship { relation: relation.qualified_name(), detail: other.to_string() },
    }
}

/// The first relationship at which `row`'s graph of rows to save goes deeper than `budget`
/// hops (measured before anything is written; the walk itself stops at the budget).
pub(crate) fn too_deep<M: Model>(row: &M, budget: usize) -> Option<&'static RelationMeta> {
    M::meta().relations.iter().find_map(|relation| relation.loader.too_deep(row, budget))
}

/// [`too_deep`] through field `R` of `owner`.
pub(crate) fn too_deep_through<R: RelationField>(owner: &dyn Any, budget: usize) -> Option<&'static RelationMeta> {
    let owner = owner.downcast_ref::<R::Owner>()?;
    let slot = R::slot_ref(owner);
    if !slot.needs_save(owner_identity(owner)) {
        return None;
    }
    let rows = slot.get().map(RelatedValue::rows).unwrap_or_default();
    if rows.is_empty() {
        return None;
    }
    if budget == 0 {
        return Some(R::relation());
    }
    rows.into_iter().find_map(|row| too_deep(row, budget - 1))
}

/// After a save: marks every field it wrote as stored for its owner, so the next save writes
/// only what changes after this one. A linked row (assigned with its key, not written) counts
/// as stored as it is in memory: later changes through `get_mut` are written.
pub(crate) fn settle<M: Model>(row: &mut M) {
    for relation in M::meta().relations {
        relation.loader.settle(row);
    }
}

/// [`settle`] for field `R` of `owner`.
pub(crate) fn settle_through<R: RelationField>(owner: &mut dyn Any) {
    let Some(owner) = owner.downcast_mut::<R::Owner>() else { return };
    let identity = owner_identity(&*owner);
    let slot = R::slot(owner);
    let Some((value, _)) = slot.rows_to_save(identity) else { return };
    for row in value.rows_mut() {
        settle(row);
    }
    slot.mark_stored(R::relation(), image::<R>, identity);
}

/// After a failed or cancelled save (rolled back): gives every row it inserted its unset
/// generated key back, so that saving the graph again inserts it again rather than updating a
/// row that does not exist (or, on PostgreSQL, inserting a key its sequence never handed out).
pub(crate) fn forget<M: Model>(row: &mut M, journal: &Journal) {
    if journal.inserted.is_empty() {
        return;
    }
    let meta = M::meta();
    if let Some(key) = meta.auto_increment_key().map(|_| meta.primary_key[0])
        && journal.inserted(row)
    {
        // A generated key is an integer, which 0 always fits.
        let _ = row.set_json(key, Json::from(0));
    }
    for relation in meta.relations {
        relation.loader.forget(row, journal);
    }
}

/// [`forget`] for field `R` of `owner`.
pub(crate) fn forget_through<R: RelationField>(owner: &mut dyn Any, journal: &Journal) {
    let Some(owner) = owner.downcast_mut::<R::Owner>() else { return };
    let identity = owner_identity(&*owner);
    let Some((value, _)) = R::slot(owner).rows_to_save(identity) else { return };
    for row in value.rows_mut() {
        forget(row, journal);
    }
}
