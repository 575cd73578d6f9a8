//! Relationship fields: `#[duo(has_many(..))]`, `has_one`, `belongs_to`, `many_to_many` on a
//! `Related<…>` field. Parsed here, checked against the whole model in `model::validate`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Path, Type};

use crate::case::snake_case;
use crate::ctxt::Ctxt;
use crate::symbol::*;
use crate::types::wrapper_inner;

/// A relationship field, parsed.
#[derive(Debug, Clone)]
pub struct RelationDef {
    pub ident: Ident,
    pub kind: RelationKind,
    /// The related model.
    pub target: Path,
    /// What `Related<…>` holds: `Vec<Post>`, `Option<Profile>`, `User`.
    pub value_ty: Type,
    pub shape: Shape,
    /// `has_*`: the target's foreign-key field; `belongs_to`: this model's foreign-key field.
    pub foreign_key: Ident,
    pub through: Option<ThroughDef>,
    pub cascade: bool,
    /// `orphans = delete | keep | refuse` (`Orphans` variant name), when given.
    pub orphans: Option<Ident>,
    /// The span of the relationship keyword, for errors about the declaration as a whole.
    pub span: Span,
}

pub use duo_orm_schema::RelationKind;

/// What a `Related<…>` field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Many,
    Optional,
    One,
}

/// The join table of a many-to-many relationship.
#[derive(Debug, Clone)]
pub struct ThroughDef {
    pub table: ThroughTable,
    /// The join table's column (or, with a model, field) holding the owner's key.
    pub owner_key: Ident,
    /// The one holding the target's key.
    pub target_key: Ident,
}

#[derive(Debug, Clone)]
pub enum ThroughTable {
    /// `through = "post_tags"`: a bare table.
    Table(LitStr),
    /// `through = PostTag`: a model of its own.
    Model(Path),
}

/// Whether `field` declares a relationship (a relationship attribute, or a `Related<…>` type).
pub fn is_relation_field(field: &syn::Field) -> bool {
    if wrapper_inner(&field.ty, RELATED).is_some() {
        return true;
    }
    field.attrs.iter().filter(|a| a.path().is_ident(DUO)).any(|attr| {
        let mut found = false;
        let _ = attr.parse_nested_meta(|meta| {
            found |= meta.path.get_ident().is_some_and(|i| RELATION_KEYS.contains(&i.to_string().as_str()));
            crate::attr::skip_value(&meta)
        });
        found
    })
}

/// Parses a relationship field. `owner` is the model's name (for default key names).
pub fn parse_relation(cx: &Ctxt, field: &syn::Field, owner: &Ident) -> Option<RelationDef> {
    let ident = field.ident.clone()?;
    let mut parsed: Option<(RelationKind, Span, RawRelation)> = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident(DUO)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
            let kind = match key.as_str() {
                HAS_MANY => RelationKind::HasMany,
                HAS_ONE => RelationKind::HasOne,
                BELONGS_TO => RelationKind::BelongsTo,
                MANY_TO_MANY => RelationKind::ManyToMany,
                _ => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`{key}` does not apply to a relationship field; expected one of {}", one_of(RELATION_KEYS)),
                    );
                    return crate::attr::skip_value(&meta);
                }
            };
            let raw = parse_arguments(cx, &meta, kind)?;
            if parsed.is_some() {
                cx.error_spanned_by(&meta.path, "a field declares one relationship");
            } else {
                parsed = Some((kind, meta.path.span(), raw));
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    let Some(value_ty) = wrapper_inner(&field.ty, RELATED).cloned() else {
        cx.error_spanned_by(
            &field.ty,
            "a relationship field has type `Related<…>`: `Related<Vec<Post>>` (has_many, many_to_many), \
             `Related<Option<Profile>>` (has_one), `Related<User>` (belongs_to)",
        );
        return None;
    };
    let Some((kind, span, raw)) = parsed else {
        cx.error_spanned_by(
            &field.ty,
            format!(
                "a `Related<…>` field needs a relationship attribute; expected one of {}; help: \
                 #[duo(has_many(Post, foreign_key = author_id))]",
                one_of(RELATION_KEYS)
            ),
        );
        return None;
    };
    let target = raw.target?;
    let shape = if wrapper_inner(&value_ty, "Vec").is_some() {
        Shape::Many
    } else if wrapper_inner(&value_ty, "Option").is_some() {
        Shape::Optional
    } else {
        Shape::One
    };
    let target_name = target.segments.last().map(|s| snake_case(&s.ident.to_string())).unwrap_or_default();
    let expected = match kind {
        RelationKind::HasMany | RelationKind::ManyToMany => (shape == Shape::Many).then_some(()).ok_or("Vec"),
        RelationKind::HasOne => (shape == Shape::Optional).then_some(()).ok_or("Option"),
        RelationKind::BelongsTo => (shape != Shape::Many).then_some(()).ok_or("one row"),
    };
    if let Err(wanted) = expected {
        let target_ty = quote::quote!(#target).to_string().replace(' ', "");
        let help = match wanted {
            "Vec" => format!("Related<Vec<{target_ty}>>"),
            "Option" => format!("Related<Option<{target_ty}>>"),
            _ => format!("Related<{target_ty}>` or `Related<Option<{target_ty}>>"),
        };
        cx.error_spanned_by(&field.ty, format!("a {} field has type `{help}`", kind.keyword()));
    }
    let foreign_key = raw.foreign_key.clone().unwrap_or_else(|| match kind {
        // `author: Related<User>` → `author_id`.
        RelationKind::BelongsTo => Ident::new(&format!("{}_id", ident.to_string().trim_start_matches("r#")), ident.span()),
        // `User` has many posts → `posts.user_id`.
        _ => Ident::new(&format!("{}_id", snake_case(&owner.to_string())), span),
    });
    let through = match (kind, raw.through.clone()) {
        (RelationKind::ManyToMany, Some(table)) => Some(ThroughDef {
            table,
            owner_key: raw.owner_key.clone().unwrap_or_else(|| Ident::new(&format!("{}_id", snake_case(&owner.to_string())), span)),
            target_key: raw.target_key.clone().unwrap_or_else(|| Ident::new(&format!("{target_name}_id"), span)),
        }),
        (RelationKind::ManyToMany, None) => {
            cx.syn_error(syn::Error::new(
                span,
                "many_to_many needs its join table; help: #[duo(many_to_many(Tag, through = \"post_tags\"))] or \
                 through = PostTag (a model)",
            ));
            None
        }
        (_, Some(_)) => {
            cx.syn_error(syn::Error::new(span, format!("`through` is for many_to_many, not {}", kind.keyword())));
            None
        }
        (_, None) => None,
    };
    if kind != RelationKind::ManyToMany {
        for key in [&raw.owner_key, &raw.target_key].into_iter().flatten() {
            cx.error_spanned_by(
                key,
                format!("owner_key / target_key name join-table columns of a many_to_many, not of a {}", kind.keyword()),
            );
        }
    }
    if let (Some(cascade), RelationKind::BelongsTo) = (raw.cascade, kind) {
        cx.syn_error(syn::Error::new(
            cascade,
            "cascade deletes related rows with their owner; a belongs_to points at the owner's parent, which \
             must not go with it; help: declare cascade on the parent's has_many",
        ));
    }
    if let (Some(policy), RelationKind::BelongsTo | RelationKind::ManyToMany) = (&raw.orphans, kind) {
        cx.error_spanned_by(
            policy,
            format!(
                "orphans applies to has_many and has_one, whose rows belong to their owner; {}",
                if kind == RelationKind::ManyToMany {
                    "a many_to_many row removed from the field loses its join row and stays itself"
                } else {
                    "a belongs_to points at a parent, which no save deletes"
                }
            ),
        );
    }
    if kind == RelationKind::ManyToMany && raw.foreign_key.is_some() {
        cx.error_spanned_by(
            &raw.foreign_key,
            "a many_to_many has no foreign key of its own; help: name the join-table columns with owner_key / target_key",
        );
    }
    Some(RelationDef {
        ident,
        kind,
        target,
        value_ty,
        shape,
        foreign_key,
        through,
        cascade: raw.cascade.is_some(),
        orphans: raw.orphans.clone(),
        span,
    })
}

#[derive(Default)]
struct RawRelation {
    target: Option<Path>,
    foreign_key: Option<Ident>,
    through: Option<ThroughTable>,
    owner_key: Option<Ident>,
    target_key: Option<Ident>,
    cascade: Option<Span>,
    orphans: Option<Ident>,
}

fn parse_arguments(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>, kind: RelationKind) -> syn::Result<RawRelation> {
    let keyword = kind.keyword();
    let mut raw = RawRelation::default();
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("{keyword} needs the related model; help: #[duo({keyword}(Post, …))]")));
    }
    meta.parse_nested_meta(|arg| {
        let key = arg.path.get_ident().map(Ident::to_string).unwrap_or_default();
        match key.as_str() {
            // foreign_key = author_id
            FOREIGN_KEY => raw.foreign_key = Some(arg.value()?.parse()?),
            // through = "post_tags" | through = PostTag
            THROUGH => {
                let value = arg.value()?;
                raw.through =
                    Some(if value.peek(LitStr) { ThroughTable::Table(value.parse()?) } else { ThroughTable::Model(value.parse()?) });
            }
            // owner_key = post_id
            OWNER_KEY => raw.owner_key = Some(arg.value()?.parse()?),
            // target_key = tag_id
            TARGET_KEY => raw.target_key = Some(arg.value()?.parse()?),
            // cascade
            CASCADE => raw.cascade = Some(arg.path.span()),
            // orphans = delete
            ORPHANS => {
                let policy: Ident = arg.value()?.parse()?;
                if ORPHAN_POLICIES.contains(&policy.to_string().as_str()) {
                    raw.orphans = Some(policy);
                } else {
                    cx.error_spanned_by(&policy, format!("unknown orphans policy `{policy}`; expected one of {}", one_of(ORPHAN_POLICIES)));
                }
            }
            // Post (the related model), first
            _ if raw.target.is_none() && (arg.input.is_empty() || arg.input.peek(syn::Token![,])) => {
                raw.target = Some(arg.path.clone());
            }
            _ => {
                let path = &arg.path;
                let shown = quote::quote!(#path).to_string().replace(' ', "");
                cx.error_spanned_by(
                    path,
                    format!("unknown {keyword} argument `{shown}`; expected the related model, then {}", one_of(RELATION_ARGS)),
                );
                crate::attr::skip_value(&arg)?;
            }
        }
        Ok(())
    })?;
    if raw.target.is_none() {
        cx.error_spanned_by(&meta.path, format!("{keyword} needs the related model first; help: #[duo({keyword}(Post, …))]"));
    }
    Ok(raw)
}
