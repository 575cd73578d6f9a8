//! Keys the database matched loosely (under its collation): one more statement asks it which
//! owner each row matched.

use super::*;

/// The owner key as the owners' table stores it, for each key of `keys` (keys of related rows
/// that equal no loaded owner key exactly). The database returned those rows for one of the
/// owners' keys, comparing text under its collation: MySQL/MariaDB and SQL Server ignore case,
/// and trailing spaces or accents, by default. Only the database knows which key it matched,
/// so it is asked, once per distinct key: `SELECT key FROM owners WHERE key = ?`. `model` and
/// `column` name the related rows' key column in errors.
pub(super) async fn stored_owner_keys<R: RelationField>(
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
        stmt.column((owner.table, owner_column))
            .from(owner.table)
            .and_where(Expr::col((owner.table, owner_column)).eq(relation.owner_column_meta().param(key.clone())));
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
pub(super) fn unresolved_key(model: &'static str, column: &str, relation: &'static RelationMeta, key: &Value, matches: usize) -> Error {
    unresolved_key_error(model, column, &relation.qualified_name(), (relation.owner)().name, key, matches)
}

pub(super) fn unresolved_key_error(model: &'static str, column: &str, relation: &str, owner: &str, key: &Value, matches: usize) -> Error {
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

/// Gives the join rows whose text owner key equals no owner key exactly the key of the owner
/// the database matched them to (see [`stored_owner_keys`]).
pub(super) async fn resolve_loose_links<R: RelationField>(
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
pub(super) fn link_column(relation: &'static RelationMeta) -> String {
    match &relation.through {
        Some(through) => format!("{}.{}", (through.table)(), (through.owner_column)()),
        None => (relation.target_column)().to_string(),
    }
}

/// The text of a text value.
pub(super) fn text_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(Some(text)) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use sea_query::Value;

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
}
