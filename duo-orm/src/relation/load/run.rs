//! Running the plan: each selectin hop is one statement over the keys loaded so far; its rows
//! are loaded further, then handed out to their owners.

use super::*;

/// Where the statements of one eager load run: on one connection held for all of them, or,
/// inside a transaction (or with no idle connection at hand), each the usual way.
#[doc(hidden)]
pub struct Session<'a> {
    pub(super) db: &'a Database,
    pub(super) held: Option<Held>,
}

impl<'a> Session<'a> {
    pub(crate) async fn open(db: &'a Database) -> Result<Session<'a>> {
        Ok(Session { db, held: db.hold().await? })
    }

    pub(super) async fn fetch_decoded<T, D>(&mut self, stmt: Statement, model: &'static str, decode: D) -> Result<Vec<T>>
    where
        T: Send + 'static,
        D: Fn(&mut RowCursor<'_>) -> RowResult<T> + Send + Sync + 'static,
    {
        match &mut self.held {
            Some(held) => held.fetch_decoded(stmt, model, decode).await,
            None => self.db.fetch_decoded(stmt, model, decode).await,
        }
    }

    pub(super) async fn fetch_fold<A, F>(&mut self, stmt: Statement, model: &'static str, state: A, step: F) -> Result<A>
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
pub(super) async fn fetch_rows<M: Model>(session: &mut Session<'_>, stmt: Statement, nodes: &[LoadNode]) -> Result<Vec<M>> {
    if joined(nodes).next().is_none() {
        return session.fetch_decoded(stmt, M::meta().name, M::decode).await;
    }
    let joined_nodes: Vec<LoadNode> = joined(nodes).cloned().collect();
    if !may_repeat_owners(nodes) {
        return session
            .fetch_decoded(stmt, M::meta().name, move |row| {
                let mut model = M::decode(row)?;
                decode_joined(&mut model, row, &joined_nodes, Joining::First)?;
                Ok(model)
            })
            .await;
    }
    // A joined collection repeats its owner once per related row (a `has_one` without a unique
    // key may too), in no particular order: sorting an owner's rows together would cost the
    // database a sort. Each owner is decoded from its first row only and keeps that place; its
    // later rows add their collection rows to it (a repeated `has_one` keeps its first row).
    let meta = M::meta();
    // An integer key is read in place, as its column is declared; any other key (a field type
    // may read its column as another type than the column's declared one) from the decoded
    // owner.
    let key_in_place = meta.primary_key.iter().all(|&index| meta.columns[index].sql_type.is_integer());
    let state: (Vec<M>, HashMap<OwnerKey, usize>) = (Vec::new(), HashMap::new());
    let (owners, _) = session
        .fetch_fold(stmt, meta.name, state, move |(owners, seen), row| {
            let (key, decoded) = if key_in_place {
                (OwnerKey::read(meta, row)?, None)
            } else {
                let model = M::decode(row)?;
                (OwnerKey::of(&model), Some(model))
            };
            match seen.entry(key) {
                Entry::Occupied(entry) => {
                    if decoded.is_none() {
                        row.skip(meta.columns.len());
                    }
                    decode_joined(&mut owners[*entry.get()], row, &joined_nodes, Joining::Again)
                }
                Entry::Vacant(entry) => {
                    entry.insert(owners.len());
                    let mut model = match decoded {
                        Some(model) => model,
                        None => M::decode(row)?,
                    };
                    decode_joined(&mut model, row, &joined_nodes, Joining::First)?;
                    owners.push(model);
                    Ok(())
                }
            }
        })
        .await?;
    Ok(owners)
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
    /// Decodes the joined `node` from `row` into `owner` (one owner model), from the owner's
    /// first row or from a later one.
    fn decode_joined(&self, owner: &mut dyn Any, row: &mut RowCursor<'_>, node: &LoadNode, joining: Joining) -> Result<()>;
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
        journal: &'a mut crate::relation::save::Journal,
        owners: Vec<(&'a mut (dyn Any + Send), bool)>,
        depth: usize,
    ) -> BoxFuture<'a, Result<()>>;
    /// The relationship at which what `owner`'s field holds to save goes deeper than `budget`.
    fn too_deep(&self, owner: &dyn Any, budget: usize) -> Option<&'static RelationMeta>;
    /// After a save: marks the field (and those below it) as stored.
    fn settle(&self, owner: &mut dyn Any);
    /// After a failed save: gives the rows it inserted below `owner` their unset keys back.
    fn forget(&self, owner: &mut dyn Any, journal: &crate::relation::save::Journal);
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

    fn decode_joined(&self, owner: &mut dyn Any, row: &mut RowCursor<'_>, node: &LoadNode, joining: Joining) -> Result<()> {
        let relation = R::relation();
        if joining == Joining::Again && !relation.kind.is_collection() {
            // The owner's first row held its one related row already.
            row.skip(node.joined_width());
            return Ok(());
        }
        let owner = owner.downcast_mut::<R::Owner>().ok_or_else(|| {
            Error::invalid(InvalidQueryKind::Internal, format!("internal: joined rows of {} decoded into the wrong model", relation.name))
        })?;
        let mut rows = match joining {
            Joining::First => Vec::new(),
            Joining::Again => R::slot(owner).take_loaded().map(RelatedValue::into_rows).unwrap_or_default(),
        };
        if row.is_null_ahead(R::Target::meta().primary_key[0])? {
            // LEFT JOIN found nothing: every column of this hop and its joined hops is NULL.
            row.skip(node.joined_width());
        } else {
            let mut model = R::Target::decode(row)?;
            decode_joined(&mut model, row, &node.children, Joining::First)?;
            // A joined `has_one` below this collection may repeat its row (once per row of
            // the `has_one`, when the database does not keep its key unique): keep the first.
            let repeated = joining == Joining::Again && may_repeat_owners(&node.children) && {
                let key = OwnerKey::of(&model);
                rows.iter().any(|other| OwnerKey::of(other) == key)
            };
            if !repeated {
                rows.push(model);
            }
        }
        crate::relation::fill_stored::<R>(owner, R::Value::from_rows(rows, relation)?);
        Ok(())
    }

    fn delete_related<'a>(&'a self, db: &'a Database, owner: &'a (dyn Any + Send + Sync)) -> BoxFuture<'a, Result<()>> {
        Box::pin(crate::relation::assoc::delete_related::<R>(db, owner))
    }

    fn needs_save(&self, owner: &dyn Any) -> bool {
        owner.downcast_ref::<R::Owner>().is_some_and(|owner| R::slot_ref(owner).needs_save(crate::relation::owner_identity(owner)))
    }

    fn move_held(&self, from: &mut dyn Any, to: &mut dyn Any) {
        if let (Some(from), Some(to)) = (from.downcast_mut::<R::Owner>(), to.downcast_mut::<R::Owner>()) {
            *R::slot(to) = std::mem::take(R::slot(from));
        }
    }

    fn save_held<'a>(
        &'a self,
        db: &'a Database,
        journal: &'a mut crate::relation::save::Journal,
        owners: Vec<(&'a mut (dyn Any + Send), bool)>,
        depth: usize,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(crate::relation::save::save_held::<R>(db, journal, owners, depth))
    }

    fn too_deep(&self, owner: &dyn Any, budget: usize) -> Option<&'static RelationMeta> {
        crate::relation::save::too_deep_through::<R>(owner, budget)
    }

    fn settle(&self, owner: &mut dyn Any) {
        crate::relation::save::settle_through::<R>(owner);
    }

    fn forget(&self, owner: &mut dyn Any, journal: &crate::relation::save::Journal) {
        crate::relation::save::forget_through::<R>(owner, journal);
    }
}

pub(super) async fn load_selectin<R: RelationField>(
    session: &mut Session<'_>,
    owners: &mut (dyn Any + Send),
    node: &LoadNode,
) -> Result<()> {
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
                            decode_joined(&mut model, row, &nodes, Joining::First)?;
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

/// Gives each owner the rows of its key's group (the first owner with a key gets them: a
/// has_many's key is unique among its owners).
pub(super) fn hand_out_groups<R: RelationField>(
    owners: &mut [R::Owner],
    owner_index: usize,
    index: &KeyIndex,
    mut groups: Vec<Vec<R::Target>>,
) -> Result<()> {
    for owner in owners.iter_mut() {
        let rows = index.group(owner.value_at(owner_index)).map(|group| std::mem::take(&mut groups[group])).unwrap_or_default();
        crate::relation::fill_stored::<R>(owner, R::Value::from_rows(rows, R::relation())?);
    }
    Ok(())
}

/// A many-to-many hop: the rows come with the owner key of their join row, and several
/// owners may share one.
pub(super) async fn load_many_to_many<R: RelationField>(
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
                    decode_joined(&mut model, row, &nodes, Joining::First)?;
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

/// Rows several owners may share (`belongs_to`, `many_to_many`): `links` pairs an owner key
/// with a row.
pub(super) fn hand_out_shared<R: RelationField>(
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
pub(super) fn distribute<R: RelationField>(
    targets: Vec<R::Target>,
    links: Vec<(usize, usize)>,
    owners: usize,
) -> Result<Vec<Vec<R::Target>>> {
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
pub(super) fn fill<R: RelationField>(owners: &mut [R::Owner], rows: Vec<Vec<R::Target>>) -> Result<()> {
    for (owner, mine) in owners.iter_mut().zip(rows) {
        crate::relation::fill_stored::<R>(owner, R::Value::from_rows(mine, R::relation())?);
    }
    Ok(())
}
