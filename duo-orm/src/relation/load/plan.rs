//! Planning: the tree of paths a query asked for ([`LoadNode`]), and the strategy of each hop.

use super::*;

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
    pub(super) fn joined(&self) -> bool {
        self.strategy == Strategy::Joined
    }

    /// Whether anything below this node needs a statement of its own.
    pub(super) fn needs_statements(&self) -> bool {
        self.children.iter().any(|child| !child.joined() || child.needs_statements())
    }

    /// Columns this joined hop adds to its owners' rows, its own joined hops included.
    pub(super) fn joined_width(&self) -> usize {
        (self.relation.target)().columns.len() + joined(&self.children).map(LoadNode::joined_width).sum::<usize>()
    }
}

pub(super) fn joined(nodes: &[LoadNode]) -> impl Iterator<Item = &LoadNode> {
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

pub(super) fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Selectin => "selectin",
        Strategy::Joined => "joined",
    }
}

/// To-one hops are always joined (`selectin` asked on one becomes joined: one row per owner
/// joins without repeating anything); collections are selectin unless asked joined.
pub(super) fn resolve(kind: RelationKind, asked: Option<Strategy>) -> Strategy {
    if kind.is_collection() { asked.unwrap_or(Strategy::Selectin) } else { Strategy::Joined }
}

/// Whether the tree joins a collection (its owners then come once per related row, and are
/// merged back by [`fetch`]).
pub(crate) fn joins_collection(nodes: &[LoadNode]) -> bool {
    joined(nodes).any(|node| node.relation.kind.is_collection())
}

/// Whether an owner may come on several rows: a joined collection, or a joined `has_one`
/// whose foreign key the database does not keep unique.
pub(super) fn may_repeat_owners(nodes: &[LoadNode]) -> bool {
    joined(nodes).any(|node| node.relation.kind.is_collection() || node.relation.kind == RelationKind::HasOne)
}
