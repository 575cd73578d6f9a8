//! Joined hops: `LEFT JOIN`s of the statement that loads their owners, decoded from the same rows.

use super::*;

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

/// Which of its owner's rows a joined row is.
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Joining {
    /// The owner's first row: its joined hops are decoded into it.
    First,
    /// A later row of an owner already decoded: only collection hops add their row.
    Again,
}

/// Decodes the joined hops of `nodes` from the rest of `row` into `owner`.
pub(crate) fn decode_joined(owner: &mut dyn Any, row: &mut RowCursor<'_>, nodes: &[LoadNode], joining: Joining) -> Result<()> {
    for node in joined(nodes) {
        node.relation.loader.decode_joined(owner, row, node, joining)?;
    }
    Ok(())
}

pub(super) async fn load_below_joined<R: RelationField>(
    session: &mut Session<'_>,
    owners: &mut (dyn Any + Send),
    node: &LoadNode,
) -> Result<()> {
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

/// The joined hops of `nodes`, depth first, as relationship addresses (each followed by a
/// 0 that closes its children): what, besides the hop itself, shapes a selectin statement.
pub(super) fn joined_shape(nodes: &[LoadNode], shape: &mut Vec<usize>) {
    for node in joined(nodes) {
        shape.push(node.relation as *const RelationMeta as usize);
        joined_shape(&node.children, shape);
        shape.push(0);
    }
}
