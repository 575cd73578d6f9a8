//! What happens around a write: `set_on` timestamps and the model's [`Hooks`](crate::Hooks).

use sea_query::Value;
use serde_json::Value as Json;

use crate::error::{ConfigurationKind, Error, Result};
use crate::model::{Model, ModelMeta};

/// The kind of write a timestamp is stamped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Create,
    Update,
}

/// The current UTC time, to the microsecond (the finest every dialect stores), as the JSON a
/// zoned and a naive timestamp field deserialize from.
#[cfg(feature = "chrono")]
fn now_json() -> (Json, Json) {
    use chrono::SubsecRound;
    let now = chrono::Utc::now().trunc_subsecs(6);
    let zoned = serde_json::to_value(now).expect("a timestamp always serializes");
    let naive = serde_json::to_value(now.naive_utc()).expect("a timestamp always serializes");
    (zoned, naive)
}

#[cfg(not(feature = "chrono"))]
fn now_json() -> (Json, Json) {
    // Timestamp fields need chrono types, which need the `chrono` feature: unreachable.
    (Json::Null, Json::Null)
}

/// `(column, value, JSON)` for every column of `meta` stamped on `event`, all with one instant.
pub(crate) fn timestamps(meta: &ModelMeta, event: Event) -> Result<Vec<(usize, Value, Json)>> {
    let mut out = Vec::new();
    let mut now: Option<(Json, Json)> = None;
    for (index, column) in meta.columns.iter().enumerate() {
        let stamped = match event {
            Event::Create => column.set_on.create,
            Event::Update => column.set_on.update,
        };
        if !stamped {
            continue;
        }
        let (zoned, naive) = now.get_or_insert_with(now_json);
        let json = if column.sql_type == crate::types::SqlType::Timestamp { naive.clone() } else { zoned.clone() };
        let value = (column.from_json)(json.clone())
            .map_err(|detail| Error::config(ConfigurationKind::Model, format!("cannot stamp {}.{}: {detail}", meta.name, column.field)))?;
        out.push((index, value, json));
    }
    Ok(out)
}

/// Replaces (or adds) the stamped columns of `event` in `assignments`.
pub(crate) fn stamp_assignments(meta: &ModelMeta, assignments: &mut Vec<(usize, Value, Json)>, event: Event) -> Result<()> {
    let stamps = timestamps(meta, event)?;
    assignments.retain(|(index, _, _)| !stamps.iter().any(|(stamped, _, _)| stamped == index));
    assignments.extend(stamps);
    assignments.sort_by_key(|(index, _, _)| *index);
    Ok(())
}

/// Stamps the instance's timestamp fields for `event`.
pub(crate) fn stamp<M: Model>(model: &mut M, event: Event) -> Result<()> {
    for (index, _, json) in timestamps(M::meta(), event)? {
        model.set_json(index, json)?;
    }
    Ok(())
}

/// Everything before an instance is written: `before_save`, timestamps, `validate`.
pub(crate) fn before_save<M: Model>(model: &mut M, event: Event) -> Result<()> {
    let hooks = M::hooks();
    if let Some(hooks) = &hooks {
        (hooks.before_save)(model)?;
    }
    stamp(model, event)?;
    if let Some(hooks) = &hooks {
        (hooks.validate)(model)?;
    }
    Ok(())
}

/// `after_save`, when the model has hooks.
pub(crate) fn after_save<M: Model>(model: &M) -> Result<()> {
    M::hooks().map_or(Ok(()), |hooks| (hooks.after_save)(model))
}

/// `before_delete`, when the model has hooks.
pub(crate) fn before_delete<M: Model>(model: &M) -> Result<()> {
    M::hooks().map_or(Ok(()), |hooks| (hooks.before_delete)(model))
}

/// `after_delete`, when the model has hooks.
pub(crate) fn after_delete<M: Model>(model: &M) -> Result<()> {
    M::hooks().map_or(Ok(()), |hooks| (hooks.after_delete)(model))
}
