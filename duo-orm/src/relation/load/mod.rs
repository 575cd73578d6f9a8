//! Eager loading: the tree of paths a query asked for, and how each hop is fetched.
//!
//! A query keeps its `related(..)` paths as a tree of [`LoadNode`]s (the same path twice is one
//! branch). Joined hops become `LEFT JOIN`s of the statement that loads their owners and are
//! decoded from the same rows; each selectin hop is one more statement over the keys of the
//! rows loaded so far (`= ANY($1)` on PostgreSQL, chunked `IN` lists elsewhere). Every hop's
//! rows are fetched once, loaded further, and only then handed out to their owners. A text key
//! that the database matched loosely (under its collation) costs one more statement, which asks
//! it which owner it matched (see `stored_owner_keys`).

use std::any::Any;
use std::collections::hash_map::Entry;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use foldhash::{HashMap, HashMapExt};
use sea_query::{Alias, BinOper, Expr, ExprTrait, JoinType, Query, SelectStatement, Value};

use super::{
    MAX_LOAD_DEPTH, Path, RelatedValue, RelationField, RelationKind, RelationMeta, Strategy, column_index, downcast, key_column_meta,
};
use crate::database::{Database, Held};
use crate::dialect::{self, Dialect, Paging, Statement};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta};
use crate::pending::BoxFuture;
use crate::types::{FieldType, RowCursor, RowResult};

/// One hop of the eager-loading tree.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct LoadNode {
    pub(crate) relation: &'static RelationMeta,
    pub(crate) strategy: Strategy,
    /// The strategy a path asked for, if any (to refuse conflicting requests).
    pub(crate) asked: Option<Strategy>,
    pub(crate) children: Vec<LoadNode>,
}

impl LoadNode {
    fn joined(&self) -> bool {
        self.strategy == Strategy::Joined
    }

    /// Whether anything below this node needs a statement of its own.
    fn needs_statements(&self) -> bool {
        self.children.iter().any(|child| !child.joined() || child.needs_statements())
    }

    /// Columns this joined hop adds to its owners' rows, its own joined hops included.
    fn joined_width(&self) -> usize {
        (self.relation.target)().columns.len() + joined(&self.children).map(LoadNode::joined_width).sum::<usize>()
    }
}

fn joined(nodes: &[LoadNode]) -> impl Iterator<Item = &LoadNode> {
    nodes.iter().filter(|node| node.joined())
}

/// Adds `path` to the tree `nodes` of a query over `meta`.
pub(crate) fn add_path(tree: &mut Vec<LoadNode>, meta: &'static ModelMeta, path: &Path) -> std::result::Result<(), String> {
    let name = path.name();
    if path.requested > MAX_LOAD_DEPTH {
        return Err(format!(
            "cannot load `{name}…`: it has {} hops, and eager loading follows at most {MAX_LOAD_DEPTH}; load \
             deeper rows with a second query",
            path.requested
        ));
    }
    let first = path.hops.first().expect("a relation path has at least one hop");
    if !std::ptr::eq((first.owner)(), meta) {
        return Err(format!(
            "cannot load `{name}` on a query of {}: the relationship `{}` belongs to {}; a path starts at the \
             query's model",
            meta.name,
            first.qualified_name(),
            (first.owner)().name
        ));
    }
    let collection = path.hops.iter().find(|hop| hop.kind.is_collection());
    if let (Some(Strategy::Joined), true, Some(collection)) = (path.strategy, path.hops.len() > 1, collection) {
        return Err(format!(
            "cannot load `{name}` joined: it passes through the collection `{}`, and one joined query would \
             repeat every owner once per row below it; leave the path to selectin (the default for collections)",
            collection.qualified_name()
        ));
    }
    let mut level = &mut *tree;
    for hop in &path.hops {
        let strategy = resolve(hop.kind, path.strategy);
        let index = match level.iter().position(|node| std::ptr::eq(node.relation, *hop)) {
            Some(index) => {
                let node = &mut level[index];
                match (node.asked, path.strategy) {
                    (Some(before), Some(now)) if before != now && node.relation.kind.is_collection() => {
                        return Err(format!(
                            "`{name}` is asked to load `{}` both {} and {}; ask for one strategy",
                            node.relation.qualified_name(),
                            strategy_name(before),
                            strategy_name(now)
                        ));
                    }
                    (None, Some(now)) => {
                        node.asked = Some(now);
                        node.strategy = strategy;
                    }
                    _ => {}
                }
                index
            }
            None => {
                level.push(LoadNode { relation: hop, strategy, asked: path.strategy, children: Vec::new() });
                level.len() - 1
            }
        };
        level = &mut level[index].children;
    }
    let joined_collections: Vec<String> =
        joined(tree).filter(|node| node.relation.kind.is_collection()).map(|node| node.relation.qualified_name()).collect();
    if joined_collections.len() > 1 {
        return Err(format!(
            "cannot join the collections {} in one query: every owner would come once per combination of \
             their rows; join at most one collection and load the others with selectin (the default)",
            joined_collections.join(" and ")
        ));
    }
    Ok(())
}

fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Selectin => "selectin",
        Strategy::Joined => "joined",
    }
}

/// To-one hops are always joined (`selectin` asked on one becomes joined: one row per owner
/// joins without repeating anything); collections are selectin unless asked joined.
fn resolve(kind: RelationKind, asked: Option<Strategy>) -> Strategy {
    if kind.is_collection() { asked.unwrap_or(Strategy::Selectin) } else { Strategy::Joined }
}

/// Whether the tree joins a collection (its owners then come once per related row, and are
/// merged back by [`fetch`]).
pub(crate) fn joins_collection(nodes: &[LoadNode]) -> bool {
    joined(nodes).any(|node| node.relation.kind.is_collection())
}

/// Whether an owner may come on several rows: a joined collection, or a joined `has_one`
/// whose foreign key the database does not keep unique.
fn may_repeat_owners(nodes: &[LoadNode]) -> bool {
    joined(nodes).any(|node| node.relation.kind.is_collection() || node.relation.kind == RelationKind::HasOne)
}

/// Adds the joined hops of `nodes` (and theirs, depth first) to `stmt`, whose owner rows come
/// from `owner` (a table name or alias): `LEFT JOIN "users" AS "users_1" ON …` and their
/// columns, in the order [`decode_joined`] reads them.
pub(crate) fn add_joins(stmt: &mut SelectStatement, owner: &str, nodes: &[LoadNode], counter: &mut usize) {
    for node in joined(nodes) {
        let relation = node.relation;
        let target = (relation.target)();
        *counter += 1;
        let alias = format!("{}_{}", target.table, counter);
        stmt.columns(target.columns.iter().map(|c| (Alias::new(alias.as_str()), c.name)));
        let on = match &relation.through {
            // owner → join rows → targets; the join table adds no columns.
            Some(through) => {
                let link = format!("{}_{}_link", (through.table)(), counter);
                stmt.join_as(
                    JoinType::LeftJoin,
                    (through.table)(),
                    Alias::new(link.as_str()),
                    Expr::col((Alias::new(link.as_str()), (through.owner_column)())).equals((Alias::new(owner), (relation.owner_column)())),
                );
                Expr::col((Alias::new(alias.as_str()), (relation.target_column)()))
                    .equals((Alias::new(link.as_str()), (through.target_column)()))
            }
            None => {
                Expr::col((Alias::new(alias.as_str()), (relation.target_column)())).equals((Alias::new(owner), (relation.owner_column)()))
            }
        };
        stmt.join_as(JoinType::LeftJoin, target.table, Alias::new(alias.as_str()), on);
        add_joins(stmt, &alias, &node.children, counter);
    }
}

/// Decodes the joined hops of `nodes` from the rest of `row` into `owner`.
pub(crate) fn decode_joined(owner: &mut dyn Any, row: &mut RowCursor<'_>, nodes: &[LoadNode]) -> Result<()> {
    for node in joined(nodes) {
        node.relation.loader.decode_joined(owner, row, node)?;
    }
    Ok(())
}

/// Where the statements of one eager load run: on one connection held for all of them, or,
/// inside a transaction (or with no idle connection at hand), each the usual way.
#[doc(hidden)]
pub struct Session<'a> {
    db: &'a Database,
    held: Option<Held>,
}

impl<'a> Session<'a> {
    pub(crate) async fn open(db: &'a Database) -> Result<Session<'a>> {
        Ok(Session { db, held: db.hold().await? })
    }

    async fn fetch_decoded<T, D>(&mut self, stmt: Statement, model: &'static str, decode: D) -> Result<Vec<T>>
    where
        T: Send + 'static,
        D: Fn(&mut RowCursor<'_>) -> RowResult<T> + Send + Sync + 'static,
    {
        match &mut self.held {
            Some(held) => held.fetch_decoded(stmt, model, decode).await,
            None => self.db.fetch_decoded(stmt, model, decode).await,
        }
    }

    async fn fetch_fold<A, F>(&mut self, stmt: Statement, model: &'static str, state: A, step: F) -> Result<A>
    where
        A: Send + 'static,
        F: FnMut(&mut A, &mut RowCursor<'_>) -> Result<()> + Send + 'static,
    {
        match &mut self.held {
            Some(held) => held.fetch_fold(stmt, model, state, step).await,
            None => self.db.fetch_fold(stmt, model, state, step).await,
        }
    }
}

/// Rows of `M` from `stmt`, with the joined hops of `nodes` decoded into them.
async fn fetch_rows<M: Model>(session: &mut Session<'_>, stmt: Statement, nodes: &[LoadNode]) -> Result<Vec<M>> {
    if joined(nodes).next().is_none() {
        return session.fetch_decoded(stmt, M::meta().name, M::decode).await;
    }
    let joined_nodes: Vec<LoadNode> = joined(nodes).cloned().collect();
    let rows = session
        .fetch_decoded(stmt, M::meta().name, move |row| {
            let mut model = M::decode(row)?;
            decode_joined(&mut model, row, &joined_nodes)?;
            Ok(model)
        })
        .await?;
    if may_repeat_owners(nodes) { merge_repeated_owners(rows, nodes) } else { Ok(rows) }
}

/// A joined collection repeats its owner once per related row (a `has_one` without a unique
/// key may too): keeps the first copy of each owner, in order, and gathers the related rows
/// of the collection into it (a repeated `has_one` keeps its first row).
fn merge_repeated_owners<M: Model>(rows: Vec<M>, nodes: &[LoadNode]) -> Result<Vec<M>> {
    let key_of = |row: &M| -> Vec<LinkKey> { M::meta().primary_key.iter().map(|&i| row.value_at(i).into()).collect() };
    let mut merged: Vec<M> = Vec::with_capacity(rows.len());
    let mut positions: HashMap<Vec<LinkKey>, usize> = HashMap::new();
    for mut row in rows {
        match positions.get(&key_of(&row)) {
            Some(&position) => {
                for node in joined(nodes).filter(|node| node.relation.kind.is_collection()) {
                    node.relation.loader.merge_joined(&mut merged[position], &mut row)?;
                }
            }
            None => {
                positions.insert(key_of(&row), merged.len());
                merged.push(row);
            }
        }
    }
    Ok(merged)
}

/// Runs a query whose statement carries the joined hops of `nodes`, then loads the rest.
pub(crate) async fn fetch<M: Model>(db: &Database, stmt: Statement, nodes: &[LoadNode]) -> Result<Vec<M>> {
    let mut session = Session::open(db).await?;
    let mut rows = fetch_rows::<M>(&mut session, stmt, nodes).await?;
    load_below(&mut session, &mut rows, nodes).await?;
    Ok(rows)
}

/// Loads every hop of `nodes` that the statement loading `owners` did not: selectin hops, and
/// the selectin hops below joined ones.
pub(crate) async fn load_below(session: &mut Session<'_>, owners: &mut (dyn Any + Send), nodes: &[LoadNode]) -> Result<()> {
    for node in nodes {
        let loader = node.relation.loader;
        if !node.joined() {
            loader.load_selectin(session, owners, node).await?;
        } else if node.needs_statements() {
            loader.load_below_joined(session, owners, node).await?;
        }
    }
    Ok(())
}

/// A relationship's loading code, with the owner and target types erased so that paths can
/// be walked through any models. Implemented by [`RelationLoader`].
#[doc(hidden)]
pub trait Loader: Send + Sync + 'static {
    /// Loads `node` for `owners` (a `Vec` of the owner model) with statements of its own.
    fn load_selectin<'a>(
        &'a self,
        session: &'a mut Session<'_>,
        owners: &'a mut (dyn Any + Send),
        node: &'a LoadNode,
    ) -> BoxFuture<'a, Result<()>>;
    /// Loads what lies below the joined `node`, already decoded into `owners`.
    fn load_below_joined<'a>(
        &'a self,
        session: &'a mut Session<'_>,
        owners: &'a mut (dyn Any + Send),
        node: &'a LoadNode,
    ) -> BoxFuture<'a, Result<()>>;
    /// Decodes the joined `node` from `row` into `owner` (one owner model).
    fn decode_joined(&self, owner: &mut dyn Any, row: &mut RowCursor<'_>, node: &LoadNode) -> Result<()>;
    /// Moves the joined rows of `node`'s relationship from `from` into `into` (two copies of
    /// one owner).
    fn merge_joined(&self, into: &mut dyn Any, from: &mut dyn Any) -> Result<()>;
    /// The ORM-level cascade: deletes `owner`'s related rows (with their hooks), or the join
    /// rows of a many-to-many.
    fn delete_related<'a>(&'a self, db: &'a Database, owner: &'a (dyn Any + Send + Sync)) -> BoxFuture<'a, Result<()>>;
    /// Whether `owner`'s field holds rows a save must write.
    fn needs_save(&self, owner: &dyn Any) -> bool;
    /// Moves what `from`'s field holds into `to`'s (two copies of one row, before and after
    /// the database handed it back).
    fn move_held(&self, from: &mut dyn Any, to: &mut dyn Any);
    /// Saves what the field holds for `owners` (each with whether it was just inserted); see
    /// `relation::save`.
    fn save_held<'a>(
        &'a self,
        db: &'a Database,
        journal: &'a mut super::save::Journal,
        owners: Vec<(&'a mut (dyn Any + Send), bool)>,
        depth: usize,
    ) -> BoxFuture<'a, Result<()>>;
    /// The relationship at which what `owner`'s field holds to save goes deeper than `budget`.
    fn too_deep(&self, owner: &dyn Any, budget: usize) -> Option<&'static RelationMeta>;
    /// After a save: marks the field (and those below it) as stored.
    fn settle(&self, owner: &mut dyn Any);
    /// After a failed save: gives the rows it inserted below `owner` their unset keys back.
    fn forget(&self, owner: &mut dyn Any, journal: &super::save::Journal);
}

/// The [`Loader`] of relationship field `R`.
#[doc(hidden)]
pub struct RelationLoader<R>(PhantomData<fn() -> R>);

impl<R> RelationLoader<R> {
    pub const NEW: Self = RelationLoader(PhantomData);
}

impl<R: RelationField> Loader for RelationLoader<R> {
    fn load_selectin<'a>(
        &'a self,
        session: &'a mut Session<'_>,
        owners: &'a mut (dyn Any + Send),
        node: &'a LoadNode,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(load_selectin::<R>(session, owners, node))
    }

    fn load_below_joined<'a>(
        &'a self,
        session: &'a mut Session<'_>,
        owners: &'a mut (dyn Any + Send),
        node: &'a LoadNode,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(load_below_joined::<R>(session, owners, node))
    }

    fn decode_joined(&self, owner: &mut dyn Any, row: &mut RowCursor<'_>, node: &LoadNode) -> Result<()> {
        let relation = R::relation();
        let owner = owner.downcast_mut::<R::Owner>().ok_or_else(|| {
            Error::invalid(InvalidQueryKind::Internal, format!("internal: joined rows of {} decoded into the wrong model", relation.name))
        })?;
        let target = R::Target::meta();
        let rows = if row.is_null_ahead(target.primary_key[0])? {
            // LEFT JOIN found nothing: every column of this hop and its joined hops is NULL.
            row.skip(node.joined_width());
            Vec::new()
        } else {
            let mut model = R::Target::decode(row)?;
            decode_joined(&mut model, row, &node.children)?;
            vec![model]
        };
        super::fill_stored::<R>(owner, R::Value::from_rows(rows, relation)?);
        Ok(())
    }

    fn merge_joined(&self, into: &mut dyn Any, from: &mut dyn Any) -> Result<()> {
        let relation = R::relation();
        let wrong = || {
            Error::invalid(InvalidQueryKind::Internal, format!("internal: joined rows of {} merged into the wrong model", relation.name))
        };
        let from = from.downcast_mut::<R::Owner>().ok_or_else(wrong)?;
        let more = R::slot(from).take_loaded().map(RelatedValue::into_rows).unwrap_or_default();
        let into = into.downcast_mut::<R::Owner>().ok_or_else(wrong)?;
        let mut rows = R::slot(into).take_loaded().map(RelatedValue::into_rows).unwrap_or_default();
        rows.extend(more);
        super::fill_stored::<R>(into, R::Value::from_rows(rows, relation)?);
        Ok(())
    }

    fn delete_related<'a>(&'a self, db: &'a Database, owner: &'a (dyn Any + Send + Sync)) -> BoxFuture<'a, Result<()>> {
        Box::pin(super::assoc::delete_related::<R>(db, owner))
    }

    fn needs_save(&self, owner: &dyn Any) -> bool {
        owner.downcast_ref::<R::Owner>().is_some_and(|owner| R::slot_ref(owner).needs_save(super::owner_identity(owner)))
    }

    fn move_held(&self, from: &mut dyn Any, to: &mut dyn Any) {
        if let (Some(from), Some(to)) = (from.downcast_mut::<R::Owner>(), to.downcast_mut::<R::Owner>()) {
            *R::slot(to) = std::mem::take(R::slot(from));
        }
    }

    fn save_held<'a>(
        &'a self,
        db: &'a Database,
        journal: &'a mut super::save::Journal,
        owners: Vec<(&'a mut (dyn Any + Send), bool)>,
        depth: usize,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(super::save::save_held::<R>(db, journal, owners, depth))
    }

    fn too_deep(&self, owner: &dyn Any, budget: usize) -> Option<&'static RelationMeta> {
        super::save::too_deep_through::<R>(owner, budget)
    }

    fn settle(&self, owner: &mut dyn Any) {
        super::save::settle_through::<R>(owner);
    }

    fn forget(&self, owner: &mut dyn Any, journal: &super::save::Journal) {
        super::save::forget_through::<R>(owner, journal);
    }
}

/// A key value as a hash-map key. Integer keys (nearly all of them) hash as one `i64`, as a
/// hand-written `HashMap<i64, _>` would: hashing the whole `Value` enum doubled the cost of
/// grouping rows.
#[derive(PartialEq, Eq)]
pub(crate) enum LinkKey {
    Int(i64),
    Other(Value),
}

impl std::hash::Hash for LinkKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            LinkKey::Int(i) => state.write_i64(*i),
            LinkKey::Other(value) => value.hash(state),
        }
    }
}

impl From<Value> for LinkKey {
    #[inline]
    fn from(value: Value) -> Self {
        match integer_key(&value) {
            Some(i) => LinkKey::Int(i),
            None => LinkKey::Other(value),
        }
    }
}

/// An integer key as one `i64` (`None`: not an integer, or NULL).
#[inline(always)]
fn integer_key(value: &Value) -> Option<i64> {
    match *value {
        Value::TinyInt(Some(i)) => Some(i.into()),
        Value::SmallInt(Some(i)) => Some(i.into()),
        Value::Int(Some(i)) => Some(i.into()),
        Value::BigInt(Some(i)) => Some(i),
        Value::TinyUnsigned(Some(i)) => Some(i.into()),
        Value::SmallUnsigned(Some(i)) => Some(i.into()),
        Value::Unsigned(Some(i)) => Some(i.into()),
        _ => None,
    }
}

/// How a has_many hop finds the group of a row's key: owner keys are numbered in first-seen
/// order, and the rows of key number `g` gather in group `g`.
enum KeyIndex {
    /// Integer keys spread over a range at most a few times their number (auto-increment ids,
    /// nearly always): a table indexed by `key - base`, where a row's group costs one array
    /// read instead of a hash lookup. [`NO_GROUP`] marks the gaps.
    Dense { base: i64, groups: Vec<u32> },
    /// Any other keys.
    Hashed(HashMap<LinkKey, u32>),
}

const NO_GROUP: u32 = u32::MAX;

impl KeyIndex {
    /// The distinct non-NULL keys of the owner keys `values` in first-seen order (what the
    /// statements select by), and their index.
    fn new(values: Vec<Value>) -> (Vec<Value>, KeyIndex) {
        let mut keys = Vec::with_capacity(values.len());
        if let Some((base, span)) = dense_range(&values) {
            let mut groups = vec![NO_GROUP; span];
            for value in values {
                let Some(key) = integer_key(&value) else { continue };
                let slot = &mut groups[(key - base) as usize];
                if *slot == NO_GROUP {
                    *slot = keys.len() as u32;
                    keys.push(value);
                }
            }
            return (keys, KeyIndex::Dense { base, groups });
        }
        let mut groups = HashMap::with_capacity(values.len());
        for value in values {
            if value == value.as_null() {
                continue;
            }
            if let Entry::Vacant(slot) = groups.entry(LinkKey::from(value.clone())) {
                slot.insert(keys.len() as u32);
                keys.push(value);
            }
        }
        (keys, KeyIndex::Hashed(groups))
    }

    /// The group of the key `value`, if an owner has it.
    /// Called once per row: inlined, with no drop of the (heap-free) integer value.
    #[inline(always)]
    fn group(&self, value: Value) -> Option<usize> {
        let group = match integer_key(&value) {
            Some(key) => {
                // `integer_key` only answers for the integer variants, which own no heap
                // memory: forgetting one frees nothing, and saves the out-of-line drop of a
                // `Value` per row.
                std::mem::forget(value);
                match self {
                    KeyIndex::Dense { base, groups } => *groups.get(usize::try_from(key.wrapping_sub(*base)).ok()?)?,
                    KeyIndex::Hashed(groups) => *groups.get(&LinkKey::Int(key))?,
                }
            }
            None => match self {
                KeyIndex::Dense { .. } => return None,
                KeyIndex::Hashed(groups) => *groups.get(&LinkKey::Other(value))?,
            },
        };
        (group != NO_GROUP).then_some(group as usize)
    }
}

/// The lowest key and the span of `values` when they are all integers or NULL (at least one
/// integer) spread over at most four slots per value (64 at least, 4 Mi at most): the table of
/// [`KeyIndex::Dense`] then stays within a few bytes per owner.
fn dense_range(values: &[Value]) -> Option<(i64, usize)> {
    let (mut low, mut high) = (i64::MAX, i64::MIN);
    for value in values {
        match integer_key(value) {
            Some(key) => {
                low = Ord::min(low, key);
                high = Ord::max(high, key);
            }
            None if *value == value.as_null() => {}
            None => return None,
        }
    }
    let span = usize::try_from(high.checked_sub(low)?).ok()?.checked_add(1)?;
    (span <= (values.len() * 4).clamp(64, 1 << 22)).then_some((low, span))
}

async fn load_selectin<R: RelationField>(session: &mut Session<'_>, owners: &mut (dyn Any + Send), node: &LoadNode) -> Result<()> {
    let relation = R::relation();
    let owners = downcast::<Vec<R::Owner>>(owners, relation.name)?;
    let owner_index = column_index(R::Owner::meta(), (relation.owner_column)());
    let (keys, mut index) = KeyIndex::new(owners.iter().map(|owner| owner.value_at(owner_index)).collect());
    if relation.through.is_some() {
        return load_many_to_many::<R>(session, owners, owner_index, keys, node).await;
    }
    // A has_many: each row belongs to the owner its foreign key names.
    let mut groups: Vec<Vec<R::Target>> = (0..keys.len()).map(|_| Vec::new()).collect();
    // Rows whose key equals no owner key exactly, with that key (see `stored_owner_keys`).
    let mut unmatched: Vec<(Value, R::Target)> = Vec::new();
    if !keys.is_empty() {
        let statements = selectin_statements(session.db.dialect()?, relation, keys, &node.children);
        let foreign_key = column_index(R::Target::meta(), (relation.target_column)());
        if node.needs_statements() || may_repeat_owners(&node.children) {
            // The rows are loaded further (or merged) as one batch before they are grouped.
            let mut targets: Vec<R::Target> = Vec::new();
            for stmt in statements {
                let rows = fetch_rows::<R::Target>(session, stmt, &node.children).await?;
                if targets.is_empty() {
                    targets = rows;
                } else {
                    targets.extend(rows);
                }
            }
            load_below(session, &mut targets, &node.children).await?;
            for target in targets {
                place(&index, &mut groups, &mut unmatched, target, foreign_key);
            }
        } else {
            // Nothing more to load below: each row joins its group as it is decoded, with no
            // list of all the rows in between.
            let mut state = (index, groups, unmatched);
            for stmt in statements {
                let nodes: Vec<LoadNode> = joined(&node.children).cloned().collect();
                state = session
                    .fetch_fold(stmt, R::Target::meta().name, state, move |(index, groups, unmatched), row| {
                        let mut model = R::Target::decode(row)?;
                        if !nodes.is_empty() {
                            decode_joined(&mut model, row, &nodes)?;
                        }
                        place(index, groups, unmatched, model, foreign_key);
                        Ok(())
                    })
                    .await?;
            }
            (index, groups, unmatched) = state;
        }
        if !unmatched.is_empty() {
            let column = (relation.target_column)();
            let keys = unmatched.iter().map(|(key, _)| key.clone()).collect();
            let stored = stored_owner_keys::<R>(session, keys, R::Target::meta().name, column).await?;
            for (key, target) in unmatched {
                let owner_key = stored.get(&LinkKey::from(key.clone())).cloned();
                let group = owner_key.and_then(|owner_key| index.group(owner_key));
                let group = group.ok_or_else(|| unresolved_key(R::Target::meta().name, column, relation, &key, 1))?;
                groups[group].push(target);
            }
        }
    }
    hand_out_groups::<R>(owners, owner_index, &index, groups)
}

/// Puts `target` in the group of its foreign key at `foreign_key`, or, when that key equals no
/// owner key exactly, in `unmatched` with the key. Called once per row.
#[inline(always)]
fn place<T: Model>(index: &KeyIndex, groups: &mut [Vec<T>], unmatched: &mut Vec<(Value, T)>, target: T, foreign_key: usize) {
    match index.group(target.value_at(foreign_key)) {
        Some(group) => groups[group].push(target),
        None => unmatched.push((target.value_at(foreign_key), target)),
    }
}

/// The owner key as the owners' table stores it, for each key of `keys` (keys of related rows
/// that equal no loaded owner key exactly). The database returned those rows for one of the
/// owners' keys, comparing text under its collation: MySQL/MariaDB and SQL Server ignore case,
/// and trailing spaces or accents, by default. Only the database knows which key it matched,
/// so it is asked, once per distinct key: `SELECT key FROM owners WHERE key = ?`. `model` and
/// `column` name the related rows' key column in errors.
async fn stored_owner_keys<R: RelationField>(
    session: &mut Session<'_>,
    keys: Vec<Value>,
    model: &'static str,
    column: &str,
) -> Result<HashMap<LinkKey, Value>> {
    let relation = R::relation();
    let owner = (relation.owner)();
    let owner_column = (relation.owner_column)();
    let dialect = session.db.dialect()?;
    let mut stored: HashMap<LinkKey, Value> = HashMap::new();
    for key in keys {
        if stored.contains_key(&LinkKey::from(key.clone())) {
            continue;
        }
        let mut stmt = Query::select();
        stmt.column((owner.table, owner_column)).from(owner.table).and_where(Expr::col((owner.table, owner_column)).eq(key.clone()));
        let stmt = dialect::render_select(dialect, stmt, Paging::default(), false);
        let matches = session.fetch_decoded(stmt, owner.name, |row| Ok(row.next_column::<R::OwnerKey>()?.into_value())).await?;
        match <[Value; 1]>::try_from(matches) {
            Ok([owner_key]) => {
                stored.insert(LinkKey::from(key), owner_key);
            }
            Err(matches) => return Err(unresolved_key(model, column, relation, &key, matches.len())),
        }
    }
    Ok(stored)
}

/// A related row whose key the database matched to `matches` owner rows instead of one, or
/// (`matches` 1) to an owner that was not loaded: it cannot be handed out, and dropping it
/// would lose it.
fn unresolved_key(model: &'static str, column: &str, relation: &'static RelationMeta, key: &Value, matches: usize) -> Error {
    unresolved_key_error(model, column, &relation.qualified_name(), (relation.owner)().name, key, matches)
}

fn unresolved_key_error(model: &'static str, column: &str, relation: &str, owner: &str, key: &Value, matches: usize) -> Error {
    let key = match key {
        Value::String(Some(text)) => format!("{text:?}"),
        other => format!("{other:?}"),
    };
    let matched = match matches {
        1 => format!("to a {owner} row that was not loaded"),
        n => format!("to {n} {owner} rows instead of one"),
    };
    Error::Decode {
        model,
        column: column.to_string(),
        detail: format!(
            "a row loaded for `{relation}` has the key {key}, which equals none of the loaded {owner} \
             keys exactly, and which the database matches {matched}; give the keys one spelling, or \
             load these rows with a query of their own",
        ),
    }
}

/// Gives each owner the rows of its key's group (the first owner with a key gets them: a
/// has_many's key is unique among its owners).
fn hand_out_groups<R: RelationField>(
    owners: &mut [R::Owner],
    owner_index: usize,
    index: &KeyIndex,
    mut groups: Vec<Vec<R::Target>>,
) -> Result<()> {
    for owner in owners.iter_mut() {
        let rows = index.group(owner.value_at(owner_index)).map(|group| std::mem::take(&mut groups[group])).unwrap_or_default();
        super::fill_stored::<R>(owner, R::Value::from_rows(rows, R::relation())?);
    }
    Ok(())
}

/// A many-to-many hop: the rows come with the owner key of their join row, and several
/// owners may share one.
async fn load_many_to_many<R: RelationField>(
    session: &mut Session<'_>,
    owners: &mut [R::Owner],
    owner_index: usize,
    keys: Vec<Value>,
    node: &LoadNode,
) -> Result<()> {
    let mut targets: Vec<R::Target> = Vec::new();
    // (owner key, index in `targets`) per join row.
    let mut links: Vec<(Value, usize)> = Vec::new();
    if !keys.is_empty() {
        let statements = selectin_statements(session.db.dialect()?, R::relation(), keys, &node.children);
        let mut positions: HashMap<LinkKey, usize> = HashMap::new();
        let key_index = R::Target::meta().primary_key[0];
        for stmt in statements {
            let nodes: Vec<LoadNode> = joined(&node.children).cloned().collect();
            let rows = session
                .fetch_decoded(stmt, R::Target::meta().name, move |row| {
                    let link = row.next_column::<R::OwnerKey>()?.into_value();
                    let mut model = R::Target::decode(row)?;
                    decode_joined(&mut model, row, &nodes)?;
                    Ok((link, model))
                })
                .await?;
            for (link, model) in rows {
                // A target joined to several owners comes once per join row: keep one.
                let position = *positions.entry(model.value_at(key_index).into()).or_insert_with(|| {
                    targets.push(model);
                    targets.len() - 1
                });
                links.push((link, position));
            }
        }
        load_below(session, &mut targets, &node.children).await?;
        resolve_loose_links::<R>(session, owners, owner_index, &mut links).await?;
    }
    hand_out_shared::<R>(owners, owner_index, targets, links)
}

/// Gives the join rows whose text owner key equals no owner key exactly the key of the owner
/// the database matched them to (see [`stored_owner_keys`]).
async fn resolve_loose_links<R: RelationField>(
    session: &mut Session<'_>,
    owners: &[R::Owner],
    owner_index: usize,
    links: &mut [(Value, usize)],
) -> Result<()> {
    // Only text compares loosely: other keys the database matched exactly.
    if !links.iter().any(|(key, _)| text_of(key).is_some()) {
        return Ok(());
    }
    let owner_keys: Vec<Value> = owners.iter().map(|owner| owner.value_at(owner_index)).collect();
    let exact: foldhash::HashSet<&str> = owner_keys.iter().filter_map(text_of).collect();
    let is_loose = |key: &Value| text_of(key).is_some_and(|text| !exact.contains(text));
    let loose: Vec<Value> = links.iter().filter(|(key, _)| is_loose(key)).map(|(key, _)| key.clone()).collect();
    if loose.is_empty() {
        return Ok(());
    }
    let relation = R::relation();
    let (model, column) = (R::Target::meta().name, link_column(relation));
    let stored = stored_owner_keys::<R>(session, loose, model, &column).await?;
    for (key, _) in links.iter_mut().filter(|(key, _)| is_loose(key)) {
        let owner_key =
            stored.get(&LinkKey::from(key.clone())).filter(|owner_key| text_of(owner_key).is_some_and(|text| exact.contains(text)));
        *key = owner_key.cloned().ok_or_else(|| unresolved_key(model, &column, relation, key, 1))?;
    }
    Ok(())
}

/// The join table's owner column of a many-to-many, as `table.column` (for errors).
fn link_column(relation: &'static RelationMeta) -> String {
    match &relation.through {
        Some(through) => format!("{}.{}", (through.table)(), (through.owner_column)()),
        None => (relation.target_column)().to_string(),
    }
}

/// The text of a text value.
fn text_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(Some(text)) => Some(text),
        _ => None,
    }
}

/// Rows several owners may share (`belongs_to`, `many_to_many`): `links` pairs an owner key
/// with a row.
fn hand_out_shared<R: RelationField>(
    owners: &mut [R::Owner],
    owner_index: usize,
    targets: Vec<R::Target>,
    links: Vec<(Value, usize)>,
) -> Result<()> {
    // Each owner key's join rows, and whether an owner claimed them.
    let mut groups: HashMap<LinkKey, (Vec<usize>, bool)> = HashMap::new();
    for (key, position) in links {
        groups.entry(key.into()).or_default().0.push(position);
    }
    let mut links: Vec<(usize, usize)> = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        if let Some((positions, claimed)) = groups.get_mut(&owner.value_at(owner_index).into()) {
            links.extend(positions.iter().map(|&position| (i, position)));
            *claimed = true;
        }
    }
    // Join rows keep their owners' keys exactly (loose text keys were resolved before), so a
    // row no owner claimed would be lost: refuse instead.
    if let Some((key, _)) = groups.iter().find(|(_, (_, claimed))| !claimed) {
        let relation = R::relation();
        let key = match key {
            LinkKey::Int(i) => Value::BigInt(Some(*i)),
            LinkKey::Other(value) => value.clone(),
        };
        return Err(unresolved_key(R::Target::meta().name, &link_column(relation), relation, &key, 0));
    }
    let rows = distribute::<R>(targets, links, owners.len())?;
    fill::<R>(owners, rows)
}

/// Hands `targets` out along `links` (owner index, row position): the last owner to need a
/// row gets it, the others a copy.
fn distribute<R: RelationField>(targets: Vec<R::Target>, links: Vec<(usize, usize)>, owners: usize) -> Result<Vec<Vec<R::Target>>> {
    let mut uses = vec![0usize; targets.len()];
    for &(_, position) in &links {
        uses[position] += 1;
    }
    let mut targets: Vec<Option<R::Target>> = targets.into_iter().map(Some).collect();
    let mut per_owner: Vec<Vec<R::Target>> = (0..owners).map(|_| Vec::new()).collect();
    for (owner, position) in links {
        uses[position] -= 1;
        let row = if uses[position] == 0 { targets[position].take() } else { targets[position].as_ref().and_then(R::share) };
        per_owner[owner].push(row.ok_or_else(|| {
            Error::invalid(
                InvalidQueryKind::Internal,
                format!("internal: a row of {} was handed out twice", R::relation().qualified_name()),
            )
        })?);
    }
    Ok(per_owner)
}

/// Sets each owner's relationship field to its rows.
fn fill<R: RelationField>(owners: &mut [R::Owner], rows: Vec<Vec<R::Target>>) -> Result<()> {
    for (owner, mine) in owners.iter_mut().zip(rows) {
        super::fill_stored::<R>(owner, R::Value::from_rows(mine, R::relation())?);
    }
    Ok(())
}

async fn load_below_joined<R: RelationField>(session: &mut Session<'_>, owners: &mut (dyn Any + Send), node: &LoadNode) -> Result<()> {
    let relation = R::relation();
    let owners = downcast::<Vec<R::Owner>>(owners, relation.name)?;
    // Move the joined rows out, once each (several comments join the same post), load below
    // them as one batch, and put them back: a row several owners joined goes to each of them.
    let key_index = R::Target::meta().primary_key[0];
    let mut positions: HashMap<LinkKey, usize> = HashMap::new();
    let mut targets: Vec<R::Target> = Vec::new();
    let mut links: Vec<(usize, usize)> = Vec::new();
    for (owner_index, owner) in owners.iter_mut().enumerate() {
        for row in R::slot(owner).take_loaded().map(RelatedValue::into_rows).unwrap_or_default() {
            let position = *positions.entry(row.value_at(key_index).into()).or_insert_with(|| {
                targets.push(row);
                targets.len() - 1
            });
            links.push((owner_index, position));
        }
    }
    load_below(session, &mut targets, &node.children).await?;
    let rows = distribute::<R>(targets, links, owners.len())?;
    fill::<R>(owners, rows)
}

impl<O, T> super::Relation<O, T> {
    /// The statements selectin loading runs for the last hop of this path, given the owner
    /// keys `keys` (for reviewing the SQL; loading renders them itself).
    pub fn selectin_sql(&self, dialect: Dialect, keys: Vec<Value>) -> Vec<Statement> {
        match self.hops().last() {
            Some(relation) => selectin_statements(dialect, relation, keys, &[]),
            None => Vec::new(),
        }
    }
}

/// The statements of one selectin hop for owner keys `keys`: `SELECT <target columns>
/// [<joined hops>] FROM target WHERE target.fk = ANY($1)` on PostgreSQL (one array parameter),
/// `IN (…)` lists chunked within the dialect's limits elsewhere. A many-to-many hop joins its
/// join table and selects the owner key first.
///
/// The text around the keys is rendered once per hop, joined hops below it and dialect (see
/// [`SelectinSql`]); the keys are moved into the statements, never copied.
pub(crate) fn selectin_statements(
    dialect: Dialect,
    relation: &'static RelationMeta,
    keys: Vec<Value>,
    below: &[LoadNode],
) -> Vec<Statement> {
    let keys = if dialect == Dialect::Postgres {
        match postgres_array(keys) {
            Ok(array) => {
                let sql = SelectinSql::get(dialect, relation, below, KeyShape::Array);
                return vec![Statement { sql: sql.head.clone(), values: sea_query::Values(vec![array]) }];
            }
            Err(keys) => keys,
        }
    } else {
        keys
    };
    let sql = SelectinSql::get(dialect, relation, below, KeyShape::List);
    let per_statement = max_in_list(dialect);
    let mut keys = keys.into_iter();
    let mut statements = Vec::with_capacity(keys.len().div_ceil(per_statement));
    while keys.len() > 0 {
        let chunk: Vec<Value> = keys.by_ref().take(per_statement).collect();
        statements.push(Statement { sql: sql.with_list(dialect, chunk.len()), values: sea_query::Values(chunk) });
    }
    statements
}

/// How a selectin statement carries its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyShape {
    /// One array parameter: `= ANY($1)` (PostgreSQL).
    Array,
    /// An `IN (…)` list of one placeholder per key.
    List,
}

/// A selectin statement's text around its keys. The model metadata is static, so there are
/// only as many of these as hops × joined shapes below them × dialects a program loads: each
/// is rendered once and kept for the life of the process.
struct SelectinSql {
    /// Everything up to the key list's `(`, or, for [`KeyShape::Array`], the whole statement.
    head: String,
    /// Everything after the key list's `)`.
    tail: String,
}

/// Where the key list goes in a rendered template: no identifier or SQL keyword contains
/// control characters.
const KEY_LIST: &str = "\u{1}duo-orm keys\u{1}";

type SelectinKey = (usize, Dialect, KeyShape, Vec<usize>);

impl SelectinSql {
    /// The text of `relation`'s selectin statement with the joined hops of `below`, rendered on
    /// first use.
    fn get(dialect: Dialect, relation: &'static RelationMeta, below: &[LoadNode], shape: KeyShape) -> Arc<SelectinSql> {
        static RENDERED: OnceLock<Mutex<HashMap<SelectinKey, Arc<SelectinSql>>>> = OnceLock::new();
        let mut joins = Vec::new();
        joined_shape(below, &mut joins);
        let key = (relation as *const RelationMeta as usize, dialect, shape, joins);
        let rendered = RENDERED.get_or_init(Default::default);
        if let Some(sql) = rendered.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return sql.clone();
        }
        let sql = Arc::new(Self::render(dialect, relation, below, shape));
        rendered.lock().unwrap_or_else(PoisonError::into_inner).entry(key).or_insert(sql).clone()
    }

    fn render(dialect: Dialect, relation: &'static RelationMeta, below: &[LoadNode], shape: KeyShape) -> SelectinSql {
        let target = (relation.target)();
        let mut stmt = Query::select();
        let key_column = match &relation.through {
            Some(through) => {
                let join_table = (through.table)();
                stmt.column((join_table, (through.owner_column)()));
                stmt.join(
                    JoinType::InnerJoin,
                    join_table,
                    Expr::col((join_table, (through.target_column)())).equals((target.table, key_column_meta(target).name)),
                );
                (join_table, (through.owner_column)())
            }
            None => (target.table, (relation.target_column)()),
        };
        stmt.columns(target.columns.iter().map(|c| (target.table, c.name)));
        stmt.from(target.table);
        add_joins(&mut stmt, target.table, below, &mut 0);
        match shape {
            KeyShape::Array => {
                let array = Value::Array(sea_query::ArrayType::BigInt, Some(Box::default()));
                stmt.and_where(Expr::col(key_column).eq(sea_query::extension::postgres::PgFunc::any(Expr::val(array))));
                let rendered = dialect::render_select(dialect, stmt, Paging::default(), false);
                SelectinSql { head: rendered.sql, tail: String::new() }
            }
            KeyShape::List => {
                stmt.and_where(Expr::col(key_column).binary(BinOper::In, Expr::cust(KEY_LIST)));
                let rendered = dialect::render_select(dialect, stmt, Paging::default(), false);
                debug_assert!(rendered.values.0.is_empty(), "a selectin template binds only its keys");
                let (head, tail) = rendered.sql.split_once(KEY_LIST).expect("the key list is in the rendered template");
                // sea-query puts the right side of `IN` in parentheses.
                let (mut head, mut tail) = (head.to_string(), tail.to_string());
                if !(head.ends_with('(') && tail.starts_with(')')) {
                    head.push('(');
                    tail.insert(0, ')');
                }
                SelectinSql { head, tail }
            }
        }
    }

    /// The statement for `keys` keys: the template with their placeholders, numbered from 1
    /// where the dialect numbers them.
    fn with_list(&self, dialect: Dialect, keys: usize) -> String {
        use std::fmt::Write;
        let mut sql = String::with_capacity(self.head.len() + self.tail.len() + keys * 7);
        sql.push_str(&self.head);
        for position in 1..=keys {
            if position > 1 {
                sql.push_str(", ");
            }
            match dialect {
                Dialect::MySql | Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => write!(sql, "${position}").expect("writing to a String"),
                Dialect::MsSql => write!(sql, "@P{position}").expect("writing to a String"),
                Dialect::Oracle => write!(sql, ":{position}").expect("writing to a String"),
            }
        }
        sql.push_str(&self.tail);
        sql
    }
}

/// The joined hops of `nodes`, depth first, as relationship addresses (each followed by a
/// 0 that closes its children): what, besides the hop itself, shapes a selectin statement.
fn joined_shape(nodes: &[LoadNode], shape: &mut Vec<usize>) {
    for node in joined(nodes) {
        shape.push(node.relation as *const RelationMeta as usize);
        joined_shape(&node.children, shape);
        shape.push(0);
    }
}

/// The most values one `IN (…)` list carries: the parameter limit, and Oracle's 1 000
/// expressions per list (ORA-01795).
pub(crate) fn max_in_list(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Oracle => 1_000,
        other => other.max_parameters(),
    }
}

/// `keys` as one PostgreSQL array parameter, for the key types that have an array type
/// (others come back unchanged).
fn postgres_array(keys: Vec<Value>) -> std::result::Result<Value, Vec<Value>> {
    use sea_query::ArrayType;
    let array_type = match keys.first() {
        Some(Value::SmallInt(_)) => ArrayType::SmallInt,
        Some(Value::Int(_)) => ArrayType::Int,
        Some(Value::BigInt(_)) => ArrayType::BigInt,
        Some(Value::String(_)) => ArrayType::String,
        #[cfg(feature = "uuid")]
        Some(Value::Uuid(_)) => ArrayType::Uuid,
        _ => return Err(keys),
    };
    Ok(Value::Array(array_type, Some(Box::new(keys))))
}

#[cfg(test)]
mod tests {
    use sea_query::Value;

    use super::KeyIndex;

    fn int(i: i32) -> Value {
        Value::Int(Some(i))
    }

    #[test]
    fn dense_integer_keys_index_by_offset() {
        let (keys, index) = KeyIndex::new(vec![int(3), int(1), Value::Int(None), int(3), int(2)]);
        assert!(matches!(index, KeyIndex::Dense { base: 1, .. }));
        assert_eq!(keys, vec![int(3), int(1), int(2)], "distinct, first seen first, no NULL");
        assert_eq!(index.group(int(3)), Some(0));
        assert_eq!(index.group(Value::BigInt(Some(1))), Some(1), "integer widths compare by value");
        assert_eq!(index.group(Value::Unsigned(Some(2))), Some(2));
        for missing in [int(0), int(4), int(-1), Value::BigInt(Some(i64::MIN)), Value::BigInt(Some(i64::MAX))] {
            assert_eq!(index.group(missing.clone()), None, "{missing:?}");
        }
        assert_eq!(index.group(Value::String(Some("1".into()))), None);
        assert_eq!(index.group(Value::Int(None)), None);
    }

    #[test]
    fn gaps_in_a_dense_range_find_no_group() {
        let (keys, index) = KeyIndex::new(vec![int(-3), int(10), int(-1)]);
        assert!(matches!(index, KeyIndex::Dense { base: -3, .. }));
        assert_eq!(keys.len(), 3);
        assert_eq!((index.group(int(-3)), index.group(int(-1)), index.group(int(10))), (Some(0), Some(2), Some(1)));
        assert_eq!(index.group(int(0)), None, "a gap in the table");
    }

    #[test]
    fn a_table_spans_at_most_four_slots_per_key_and_at_least_64() {
        let dense = |keys: Vec<i32>| matches!(KeyIndex::new(keys.into_iter().map(int).collect()).1, KeyIndex::Dense { .. });
        assert!(dense(vec![0, 63]), "64 slots for two keys");
        assert!(!dense(vec![0, 64]), "65 slots for two keys");
        let twenty = |last: i32| (0..19).chain([last]).collect::<Vec<_>>();
        assert!(dense(twenty(79)), "80 slots for 20 keys");
        assert!(!dense(twenty(80)), "81 slots for 20 keys");
    }

    #[test]
    fn sparse_or_extreme_integer_keys_are_hashed() {
        let (_, index) = KeyIndex::new(vec![int(1), int(10_000_000)]);
        assert!(matches!(index, KeyIndex::Hashed(_)));
        assert_eq!((index.group(int(10_000_000)), index.group(int(1)), index.group(int(2))), (Some(1), Some(0), None));
        let (_, index) = KeyIndex::new(vec![Value::BigInt(Some(i64::MIN)), Value::BigInt(Some(i64::MAX))]);
        assert!(matches!(index, KeyIndex::Hashed(_)), "the span overflows: no table");
        assert_eq!(index.group(Value::BigInt(Some(i64::MAX))), Some(1));
    }

    #[test]
    fn a_key_the_database_cannot_tie_to_one_loaded_owner_is_a_decode_error() {
        let cases = [
            (0, "matches to 0 Country rows instead of one"),
            (2, "matches to 2 Country rows instead of one"),
            (1, "matches to a Country row that was not loaded"),
        ];
        for (matches, says) in cases {
            let err = super::unresolved_key_error(
                "City",
                "country_code",
                "Country.cities",
                "Country",
                &Value::String(Some("café".into())),
                matches,
            );
            let crate::Error::Decode { model, column, detail } = &err else { panic!("{err:?}") };
            assert_eq!((*model, column.as_str()), ("City", "country_code"));
            assert!(detail.contains("`Country.cities`") && detail.contains("\"café\"") && detail.contains(says), "{detail}");
            assert!(err.to_string().starts_with("cannot decode column country_code of City"), "{err}");
        }
    }

    #[test]
    fn other_keys_are_hashed_by_value() {
        let text = |s: &str| Value::String(Some(s.into()));
        let (keys, index) = KeyIndex::new(vec![text("b"), text("a"), text("b"), Value::String(None)]);
        assert!(matches!(index, KeyIndex::Hashed(_)));
        assert_eq!(keys, vec![text("b"), text("a")]);
        assert_eq!((index.group(text("a")), index.group(text("b")), index.group(text("c"))), (Some(1), Some(0), None));
        assert_eq!(index.group(int(1)), None);
        let (keys, index) = KeyIndex::new(vec![Value::Int(None)]);
        assert!(keys.is_empty());
        assert_eq!(index.group(int(1)), None);
    }
}
