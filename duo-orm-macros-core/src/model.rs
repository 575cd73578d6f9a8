//! The validated model: what `#[derive(Model)]` generates code from and what the CLI diffs.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, ExprLit, Fields, Ident, Lit, LitStr, Path, Type};

use crate::case::snake_case;
use crate::ctxt::Ctxt;
use crate::relation::{RelationDef, is_relation_field, parse_relation};
use crate::symbol::*;
use crate::types::{map_type, option_inner};
use duo_orm_schema::{ColumnType, DefaultValue, ReferentialAction};

/// A model, parsed and validated.
#[derive(Debug, Clone)]
pub struct ModelDef {
    pub ident: Ident,
    pub vis: syn::Visibility,
    pub table: String,
    pub db: Option<Path>,
    pub krate: Path,
    pub fields: Vec<FieldDef>,
    pub indexes: Vec<IndexDef>,
    /// Relationship fields (`Related<…>`): not columns.
    pub relations: Vec<RelationDef>,
}

/// One column.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub ident: Ident,
    pub ty: Type,
    pub column: String,
    /// The column type; `None` when the field's type declares its own (`FieldType::SQL_TYPE`),
    /// which the derive asks the compiler for and the CLI finds among the models.
    pub sql_type: Option<ColumnType>,
    pub nullable: bool,
    pub primary_key: bool,
    pub auto_increment: bool,
    pub unique: bool,
    pub index: bool,
    pub default: Option<DefaultValue>,
    pub max_length: Option<u32>,
    pub references: Option<ReferenceDef>,
    pub guarded: bool,
    pub set_on: SetOnDef,
    /// The optimistic-lock version (`#[duo(version)]`): checked and bumped by every update.
    pub version: bool,
}

/// When the runtime stamps a timestamp field with the current time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOnDef {
    pub create: bool,
    pub update: bool,
}

/// A foreign key.
#[derive(Debug, Clone)]
pub struct ReferenceDef {
    pub target: Path,
    pub on_delete: Option<ReferentialAction>,
    pub on_update: Option<ReferentialAction>,
}

/// An index or unique constraint over column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub columns: Vec<String>,
    pub unique: bool,
}

impl ModelDef {
    pub fn primary_key(&self) -> impl Iterator<Item = (usize, &FieldDef)> {
        self.fields.iter().enumerate().filter(|(_, f)| f.primary_key)
    }
}

/// Parses and validates `#[derive(Model)]` input, reporting every problem at its span.
/// A model as parsed, before the checks of the whole model (`check.rs`) decide what no single
/// attribute can: which key the database generates, whether there is a key at all.
pub(crate) struct Unchecked {
    pub model: ModelDef,
    /// Each field's `auto_increment` as written (`None`: not written).
    pub auto_increment: Vec<Option<bool>>,
    /// Whether every column field parsed: a missing key is reported only then.
    pub complete: bool,
}

pub(crate) fn parse(cx: &Ctxt, input: &DeriveInput) -> Option<Unchecked> {
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "a model cannot be generic: a table has one fixed set of column types");
    }
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named),
            _ => {
                cx.error_spanned_by(&input.ident, "#[derive(Model)] needs a struct with named fields (one per column)");
                None
            }
        },
        _ => {
            cx.error_spanned_by(&input.ident, "#[derive(Model)] works on structs only; help: declare `struct Name { … }`");
            None
        }
    };
    let container = parse_container(cx, input);
    let mut fields = Vec::new();
    let mut explicit = Vec::new();
    let mut relations = Vec::new();
    let mut relation_fields = 0;
    for field in named.map(|n| n.named.iter()).into_iter().flatten() {
        if is_relation_field(field) {
            relation_fields += 1;
            relations.extend(parse_relation(cx, field, &input.ident));
        } else if let Some((parsed, auto_increment)) = parse_field(cx, field) {
            fields.push(parsed);
            explicit.push(auto_increment);
        }
    }
    let named = named?;
    let declared = named.named.len() - relation_fields;
    let complete = declared > 0 && fields.len() == declared;

    let mut indexes: Vec<IndexDef> = Vec::new();
    for field in &fields {
        if field.unique && !field.primary_key {
            indexes.push(IndexDef { columns: vec![field.column.clone()], unique: true });
        }
        if field.index {
            indexes.push(IndexDef { columns: vec![field.column.clone()], unique: false });
        }
    }
    for (unique, names) in &container.indexes {
        let mut columns = Vec::new();
        for name in names {
            match fields.iter().find(|f| f.ident == *name) {
                Some(f) => columns.push(f.column.clone()),
                None => cx.error_spanned_by(
                    name,
                    format!(
                        "no field named `{name}` in this model; expected one of {}",
                        fields.iter().map(|f| format!("`{}`", f.ident)).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        let def = IndexDef { columns, unique: *unique };
        if !indexes.contains(&def) {
            indexes.push(def);
        }
    }

    let model = ModelDef {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        table: container.table.unwrap_or_else(|| snake_case(&input.ident.to_string())),
        db: container.db,
        krate: container.krate.unwrap_or_else(|| syn::parse_quote!(::duo_orm)),
        fields,
        indexes,
        relations,
    };
    Some(Unchecked { model, auto_increment: explicit, complete })
}

#[derive(Default)]
struct Container {
    table: Option<String>,
    db: Option<Path>,
    krate: Option<Path>,
    /// (unique, field names)
    indexes: Vec<(bool, Vec<Ident>)>,
}

/// Sets an attribute once; a second occurrence is an error at its span.
fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, span_of: &impl quote::ToTokens, key: &str) {
    if slot.is_some() {
        cx.error_spanned_by(span_of, format!("duplicate duo attribute `{key}`"));
    } else {
        *slot = Some(value);
    }
}

fn parse_container(cx: &Ctxt, input: &DeriveInput) -> Container {
    let mut container = Container::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident(DUO)) {
        let result = attr.parse_nested_meta(|meta| {
            let path = meta.path.clone();
            let key = path.get_ident().map(Ident::to_string).unwrap_or_default();
            match key.as_str() {
                // #[duo(table = "users")]
                TABLE => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().trim().is_empty() {
                        cx.error_spanned_by(&lit, "the table name is empty; help: #[duo(table = \"users\")]");
                    }
                    set_once(cx, &mut container.table, lit.value(), &path, TABLE);
                }
                // #[duo(db = crate::db::DB)]
                DB => {
                    let value: Path = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "expected a path to a `static Database`; help: the correct format is #[duo(db = crate::db::DB)]",
                        )
                    })?;
                    set_once(cx, &mut container.db, value, &path, DB);
                }
                // #[duo(crate = "my_reexport::duo_orm")]
                CRATE => {
                    let lit: LitStr = meta.value()?.parse()?;
                    match lit.parse::<Path>() {
                        Ok(p) => set_once(cx, &mut container.krate, p, &path, CRATE),
                        Err(_) => cx.error_spanned_by(&lit, "expected a path; help: #[duo(crate = \"::duo_orm\")]"),
                    }
                }
                // #[duo(index(a, b))] / #[duo(unique(a, b))]
                INDEX | UNIQUE => {
                    let mut names = Vec::new();
                    meta.parse_nested_meta(|inner| {
                        match inner.path.get_ident() {
                            Some(ident) => names.push(ident.clone()),
                            None => cx.error_spanned_by(&inner.path, "expected a field name"),
                        }
                        Ok(())
                    })
                    .map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            format!("expected field names in `{key}(...)`; help: the correct format is #[duo({key}(field_a, field_b))]"),
                        )
                    })?;
                    if names.is_empty() {
                        cx.error_spanned_by(&path, format!("`{key}(...)` needs at least one field name"));
                    }
                    container.indexes.push((key == UNIQUE, names));
                }
                _ => {
                    cx.error_spanned_by(
                        &path,
                        format!("unknown duo attribute `{}` on a model; expected one of {}", quote::quote!(#path), one_of(CONTAINER_KEYS)),
                    );
                    crate::attr::skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    container
}

/// A field's raw attributes, before validation.
#[derive(Default)]
struct RawField {
    primary_key: Option<Span>,
    auto_increment: Option<(bool, Span)>,
    column: Option<String>,
    unique: Option<Span>,
    index: Option<Span>,
    default: Option<(DefaultValue, Span)>,
    max_length: Option<(u32, Span)>,
    references: Option<Path>,
    on_delete: Option<(String, Span)>,
    on_update: Option<(String, Span)>,
    guarded: Option<Span>,
    sql_type: Option<String>,
    set_on: Option<(SetOnDef, Span)>,
    version: Option<Span>,
}

fn parse_field(cx: &Ctxt, field: &syn::Field) -> Option<(FieldDef, Option<bool>)> {
    let ident = field.ident.clone()?;
    let mut raw = RawField::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident(DUO)) {
        let result = attr.parse_nested_meta(|meta| {
            let path = meta.path.clone();
            let key = path.get_ident().map(Ident::to_string).unwrap_or_default();
            let span = path.span();
            match key.as_str() {
                // #[duo(primary_key)]
                PRIMARY_KEY => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.primary_key, span, &path, &key);
                }
                // #[duo(auto_increment)] / #[duo(auto_increment = false)]
                AUTO_INCREMENT => {
                    let on = if meta.input.peek(syn::Token![=]) { meta.value()?.parse::<syn::LitBool>()?.value } else { true };
                    set_once(cx, &mut raw.auto_increment, (on, span), &path, &key);
                }
                // #[duo(column = "name")]
                COLUMN => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().trim().is_empty() {
                        cx.error_spanned_by(&lit, "the column name is empty");
                    }
                    set_once(cx, &mut raw.column, lit.value(), &path, &key);
                }
                // #[duo(unique)]
                UNIQUE => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.unique, span, &path, &key);
                }
                // #[duo(index)]
                INDEX => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.index, span, &path, &key);
                }
                // #[duo(default = true | 42 | -1.5 | "text")]
                DEFAULT => {
                    let expr: Expr = meta.value()?.parse()?;
                    match literal_default(&expr) {
                        Some(def) => set_once(cx, &mut raw.default, (def, expr.span()), &path, &key),
                        None => cx.error_spanned_by(&expr, "expected a literal default (true, 42, 1.5 or \"text\"); help: for an SQL expression use #[duo(default_sql = \"CURRENT_TIMESTAMP\")]"),
                    }
                }
                // #[duo(default_sql = "CURRENT_TIMESTAMP")]
                DEFAULT_SQL => {
                    let lit: LitStr = meta.value()?.parse()?;
                    set_once(cx, &mut raw.default, (DefaultValue::Sql(lit.value()), lit.span()), &path, DEFAULT);
                }
                // #[duo(max_length = 255)]
                MAX_LENGTH => {
                    let lit: syn::LitInt = meta.value()?.parse()?;
                    match lit.base10_parse::<u32>() {
                        Ok(n) if n > 0 => set_once(cx, &mut raw.max_length, (n, lit.span()), &path, &key),
                        _ => cx.error_spanned_by(&lit, "max_length must be a positive integer"),
                    }
                }
                // #[duo(references = User)]
                REFERENCES => {
                    let target: Path = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(e.span(), "expected a model type; help: the correct format is #[duo(references = User)]")
                    })?;
                    set_once(cx, &mut raw.references, target, &path, &key);
                }
                // #[duo(on_delete = cascade)] / #[duo(on_update = cascade)]
                ON_DELETE | ON_UPDATE => {
                    let actions = ReferentialAction::KEYWORDS.map(|(keyword, _)| keyword);
                    let action: Ident = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(e.span(), format!("expected one of {}", one_of(&actions)))
                    })?;
                    if ReferentialAction::from_keyword(&action.to_string()).is_none() {
                        cx.error_spanned_by(&action, format!("unknown action `{action}`; expected one of {}", one_of(&actions)));
                    }
                    let slot = if key == ON_DELETE { &mut raw.on_delete } else { &mut raw.on_update };
                    set_once(cx, slot, (action.to_string(), action.span()), &path, &key);
                }
                // #[duo(guarded)]
                GUARDED => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.guarded, span, &path, &key);
                }
                // #[duo(set_on(create))] / #[duo(set_on(create, update))] / #[duo(set_on(update))]
                SET_ON => {
                    let mut events = SetOnDef::default();
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let names = content.parse_terminated(Ident::parse_any, syn::Token![,])?;
                    for event in &names {
                        match event.to_string().as_str() {
                            ON_CREATE => events.create = true,
                            ON_UPDATE_EVENT => events.update = true,
                            _ => cx.error_spanned_by(event, format!("unknown set_on event; expected {}", one_of(SET_ON_EVENTS))),
                        }
                    }
                    if events == SetOnDef::default() {
                        cx.error_spanned_by(&path, "set_on needs an event; help: #[duo(set_on(create))] or #[duo(set_on(create, update))]");
                    }
                    set_once(cx, &mut raw.set_on, (events, span), &path, SET_ON);
                }
                // #[duo(auto_now_add)]: set_on(create)
                AUTO_NOW_ADD => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.set_on, (SetOnDef { create: true, update: false }, span), &path, SET_ON);
                }
                // #[duo(auto_now)]: set_on(create, update)
                AUTO_NOW => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.set_on, (SetOnDef { create: true, update: true }, span), &path, SET_ON);
                }
                // #[duo(version)]
                VERSION => {
                    no_arguments(&meta, &key)?;
                    set_once(cx, &mut raw.version, span, &path, &key);
                }
                // #[duo(sql_type = "citext")]
                SQL_TYPE => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().trim().is_empty() {
                        cx.error_spanned_by(&lit, "sql_type is empty; help: #[duo(sql_type = \"citext\")]");
                    }
                    set_once(cx, &mut raw.sql_type, lit.value(), &path, &key);
                }
                _ => {
                    cx.error_spanned_by(
                        &path,
                        format!("unknown duo attribute `{}` on a field; expected one of {}", quote::quote!(#path), one_of(FIELD_KEYS)),
                    );
                    crate::attr::skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    check_field(cx, field, ident, raw)
}

/// A flag such as `unique` takes nothing: `unique(a, b)` belongs on the struct.
fn no_arguments(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
        return Ok(());
    }
    let hint = if key == UNIQUE || key == INDEX {
        format!("; help: for a multi-column {key}, put #[duo({key}(field_a, field_b))] on the struct")
    } else {
        String::new()
    };
    Err(meta.error(format!("`{key}` on a field takes no arguments{hint}")))
}

fn literal_default(expr: &Expr) -> Option<DefaultValue> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Bool(b) => Some(DefaultValue::Bool(b.value)),
            Lit::Int(i) => i.base10_parse().ok().map(DefaultValue::Int),
            Lit::Float(f) => f.base10_parse().ok().map(DefaultValue::Float),
            Lit::Str(s) => Some(DefaultValue::Str(s.value())),
            _ => None,
        },
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => match literal_default(expr)? {
            DefaultValue::Int(i) => Some(DefaultValue::Int(-i)),
            DefaultValue::Float(f) => Some(DefaultValue::Float(-f)),
            _ => None,
        },
        _ => None,
    }
}

/// Checks one field's attributes against its type.
/// Returns the field and whether it said `auto_increment` explicitly (true/false) or not at all.
fn check_field(cx: &Ctxt, field: &syn::Field, ident: Ident, raw: RawField) -> Option<(FieldDef, Option<bool>)> {
    let nullable_inner = option_inner(&field.ty);
    let nullable = nullable_inner.is_some();
    let value_ty = nullable_inner.unwrap_or(&field.ty);
    let sql_type = match (&raw.sql_type, map_type(value_ty)) {
        (Some(custom), _) => Some(ColumnType::Custom(custom.clone())),
        (None, Ok(mapped)) => mapped,
        (None, Err(message)) => {
            cx.error_spanned_by(&field.ty, message);
            Some(ColumnType::Custom(String::new()))
        }
    };
    let primary_key = raw.primary_key.is_some();
    if primary_key && nullable {
        cx.error_spanned_by(&field.ty, "a primary key cannot be nullable; help: remove the `Option`");
    }
    if let Some((true, span)) = raw.auto_increment {
        // (A type of the user's is checked at compile time against its `SQL_TYPE`.)
        if sql_type.as_ref().is_some_and(|t| !t.is_integer()) {
            cx.syn_error(syn::Error::new(span, "auto_increment needs an integer field (i16, i32 or i64, or a type stored as one)"));
        }
        if !primary_key {
            cx.syn_error(syn::Error::new(span, "auto_increment is for primary keys; help: add #[duo(primary_key)]"));
        }
    }
    if let Some((_, span)) = raw.max_length
        && !matches!(sql_type, Some(ColumnType::Text) | None)
    {
        cx.syn_error(syn::Error::new(span, "max_length applies to String fields only"));
    }
    if let Some((default, span)) = &raw.default {
        // (A type of the user's, or a custom SQL type, is checked at compile time or not at all.)
        let fits = |t: &ColumnType| match default {
            DefaultValue::Bool(_) => t.is_boolean(),
            DefaultValue::Int(_) => t.is_integer() || t.is_fractional(),
            DefaultValue::Float(_) => t.is_fractional(),
            DefaultValue::Str(_) => t.holds_strings(),
            DefaultValue::Sql(_) => true,
        };
        if let Some(sql_type) = sql_type.as_ref().filter(|t| !matches!(t, ColumnType::Custom(_)) && !fits(t)) {
            cx.syn_error(syn::Error::new(
                *span,
                format!("this default does not fit a {:?} column; help: for other values use #[duo(default_sql = \"...\")]", sql_type),
            ));
        }
    }
    for (action, key) in [(&raw.on_delete, ON_DELETE), (&raw.on_update, ON_UPDATE)] {
        let Some((action, span)) = action else { continue };
        if raw.references.is_none() {
            cx.syn_error(syn::Error::new(*span, format!("{key} needs a foreign key; help: add #[duo(references = Model)]")));
        }
        if action == "set_null" && !nullable {
            cx.syn_error(syn::Error::new(*span, "set_null needs a nullable field; help: make the field an `Option`"));
        }
        if action == "set_default" && raw.default.is_none() {
            cx.syn_error(syn::Error::new(*span, "set_default needs a column default; help: add #[duo(default = ...)]"));
        }
    }
    if let Some((_, span)) = raw.set_on {
        if !matches!(sql_type, Some(ColumnType::TimestampTz | ColumnType::Timestamp)) {
            cx.syn_error(syn::Error::new(span, "set_on (auto_now, auto_now_add) needs a timestamp field; help: use chrono::DateTime<Utc>"));
        }
        if primary_key {
            cx.syn_error(syn::Error::new(span, "a primary key cannot be set_on a write"));
        }
        if let Some((events, _)) = raw.set_on
            && events.update
            && !events.create
            && !nullable
        {
            cx.syn_error(syn::Error::new(
                span,
                "a field stamped only on update has no value when the row is inserted; help: make it an \
                 `Option`, or use #[duo(set_on(create, update))]",
            ));
        }
    }
    if let Some(span) = raw.version {
        let problem = if !sql_type.as_ref().is_some_and(ColumnType::is_integer) || nullable {
            Some("a version needs a non-optional integer field; help: `version: i64`")
        } else if primary_key {
            Some("a primary key cannot be the version")
        } else if raw.set_on.is_some() {
            Some("a version cannot also be set_on a write")
        } else if raw.default.is_some() {
            Some("a version starts at 0; remove the default")
        } else {
            None
        };
        if let Some(problem) = problem {
            cx.syn_error(syn::Error::new(span, problem));
        }
    }
    let explicit_auto_increment = raw.auto_increment.map(|(on, _)| on);
    let def = FieldDef {
        column: raw.column.unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string()),
        ident,
        ty: field.ty.clone(),
        sql_type,
        nullable,
        primary_key,
        // Decided model-wide in `validate`, which knows how many key fields there are.
        auto_increment: false,
        unique: raw.unique.is_some(),
        index: raw.index.is_some(),
        // A new row's version is 0.
        default: raw.default.map(|(d, _)| d).or(raw.version.map(|_| DefaultValue::Int(0))),
        max_length: raw.max_length.map(|(n, _)| n),
        references: raw.references.map(|target| ReferenceDef {
            target,
            on_delete: raw.on_delete.and_then(|(a, _)| ReferentialAction::from_keyword(&a)),
            on_update: raw.on_update.and_then(|(a, _)| ReferentialAction::from_keyword(&a)),
        }),
        // Payloads never set a version: every write does.
        guarded: raw.guarded.is_some() || raw.version.is_some(),
        set_on: raw.set_on.map(|(events, _)| events).unwrap_or_default(),
        version: raw.version.is_some(),
    };
    Some((def, explicit_auto_increment))
}
