//! Checks of the whole model, after every field and relationship has been parsed (as
//! serde_derive's `check.rs`): rules that no single attribute can check alone.

use syn::DeriveInput;

use crate::ctxt::Ctxt;
use crate::model::{FieldDef, Unchecked};
use crate::relation::{RelationDef, RelationKind, Shape, ThroughTable};

/// Every model-wide rule, and the decisions they imply (which key is generated).
pub(crate) fn model(cx: &Ctxt, input: &DeriveInput, parsed: &mut Unchecked) {
    fields(cx, input, &mut parsed.model.fields, &parsed.auto_increment, parsed.complete);
    relations(cx, &parsed.model.fields, &parsed.model.relations);
}

/// Model-wide rules: a primary key exists, auto-increment only on a single integer key,
/// column names are unique, one version field at most.
fn fields(cx: &Ctxt, input: &DeriveInput, fields: &mut [FieldDef], explicit: &[Option<bool>], complete: bool) {
    let keys: Vec<usize> = fields.iter().enumerate().filter(|(_, f)| f.primary_key).map(|(i, _)| i).collect();
    if keys.is_empty() && complete {
        cx.error_spanned_by(&input.ident, "a model needs a primary key; help: mark a field with #[duo(primary_key)]");
    }
    for (index, field) in fields.iter_mut().enumerate() {
        let said = explicit[index];
        field.auto_increment = match said {
            Some(on) => on && keys.len() == 1,
            None => keys == [index] && field.sql_type.as_ref().is_some_and(|t| t.is_integer()),
        };
        if said == Some(true) && keys.len() > 1 {
            cx.error_spanned_by(&field.ident, "auto_increment cannot be used with a composite primary key");
        }
    }
    for extra in fields.iter().filter(|f| f.version).skip(1) {
        cx.error_spanned_by(&extra.ident, "a model has at most one #[duo(version)] field");
    }
    let mut seen: Vec<&str> = Vec::new();
    for field in fields.iter() {
        if seen.contains(&field.column.as_str()) {
            cx.error_spanned_by(
                &field.ident,
                format!("two fields map to column `{}`; help: rename one with #[duo(column = \"...\")]", field.column),
            );
        }
        seen.push(&field.column);
    }
}

/// What a relationship needs of its own model: a foreign key field of the right nullability
/// (`belongs_to`), a single-column primary key (the others), distinct names.
fn relations(cx: &Ctxt, fields: &[FieldDef], relations: &[RelationDef]) {
    let keys: Vec<&FieldDef> = fields.iter().filter(|f| f.primary_key).collect();
    for relation in relations {
        match relation.kind {
            RelationKind::BelongsTo => match fields.iter().find(|f| f.ident == relation.foreign_key) {
                None => cx.error_spanned_by(
                    &relation.foreign_key,
                    format!(
                        "belongs_to needs its foreign key in this model: no column field named `{}`; help: add the field, or name it with foreign_key = …",
                        relation.foreign_key
                    ),
                ),
                Some(fk) if fk.nullable && relation.shape == Shape::One => cx.error_spanned_by(
                    &relation.value_ty,
                    format!(
                        "the foreign key `{}` is optional, so the related row may be missing; help: use `Related<Option<…>>`",
                        fk.ident
                    ),
                ),
                Some(_) => {}
            },
            _ if keys.len() > 1 => cx.syn_error(syn::Error::new(
                relation.span,
                "relationships link single-column primary keys; this model's key has several columns",
            )),
            _ => {}
        }
        if let Some(ThroughTable::Table(table)) = relation.through.as_ref().map(|t| &t.table)
            && table.value().trim().is_empty()
        {
            cx.error_spanned_by(table, "the join table name is empty");
        }
    }
    for (index, relation) in relations.iter().enumerate() {
        if relations[..index].iter().any(|r| r.ident == relation.ident) {
            cx.error_spanned_by(&relation.ident, "duplicate relationship name");
        }
    }
}
