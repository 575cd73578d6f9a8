//! `#[derive(FieldType)]`: a Rust enum stored as text labels (in a PostgreSQL enum type with
//! `#[duo(postgres_enum = "plan")]`, or as integers with `#[duo(repr = "i32")]`), or a newtype
//! (`struct Email(String)`) stored as its one field.
//! Parse and check with a `Ctxt`, then generate, as for models.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

use crate::case;
use crate::ctxt::Ctxt;
use crate::symbol::{CRATE, DUO, POSTGRES_ENUM, RENAME, RENAME_ALL, RENAME_RULES, REPR, REPRS};
use crate::types::map_type;
use duo_orm_schema::{ColumnType, EnumType};

/// A checked `#[derive(FieldType)]` input.
pub struct FieldTypeDef {
    pub ident: Ident,
    krate: syn::Path,
    pub shape: Shape,
}

/// What the type is stored as.
pub enum Shape {
    /// Unit variants stored as text labels, in the PostgreSQL enum type named by the second
    /// field when there is one.
    Labels(Vec<(Ident, String)>, Option<LitStr>),
    /// Unit variants stored as their discriminants, of this integer type.
    Integers(Ident, Vec<Ident>),
    /// A tuple struct of one field, stored as that field.
    Newtype(Box<syn::Type>),
}

impl FieldTypeDef {
    /// The column type, as the CLI maps it without compiling (`None` when a newtype wraps a
    /// type that declares its own).
    pub fn sql_type(&self) -> Result<Option<ColumnType>, String> {
        match &self.shape {
            Shape::Labels(_, None) => Ok(Some(ColumnType::Text)),
            Shape::Labels(labels, Some(name)) => {
                Ok(Some(ColumnType::Enum(EnumType { name: name.value(), labels: labels.iter().map(|(_, label)| label.clone()).collect() })))
            }
            Shape::Integers(repr, _) => Ok(Some(match repr.to_string().as_str() {
                "i16" => ColumnType::SmallInt,
                "i32" => ColumnType::Integer,
                _ => ColumnType::BigInt,
            })),
            Shape::Newtype(inner) => map_type(inner),
        }
    }
}

/// Parses and checks `input`, reporting every error at its span.
pub fn parse_field_type(input: &DeriveInput) -> syn::Result<FieldTypeDef> {
    let cx = Ctxt::new();
    let def = parse(&cx, input);
    cx.check()?;
    Ok(def.expect("a definition is produced whenever no error was reported"))
}

#[derive(Default)]
struct Container {
    krate: Option<syn::Path>,
    repr: Option<Ident>,
    rename_all: Option<LitStr>,
    postgres_enum: Option<LitStr>,
}

fn parse(cx: &Ctxt, input: &DeriveInput) -> Option<FieldTypeDef> {
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "#[derive(FieldType)] needs a type without generic parameters: a column has one type");
    }
    let container = parse_container(cx, input);
    let shape = match &input.data {
        Data::Enum(data) => {
            if data.variants.is_empty() {
                cx.error_spanned_by(&input.ident, "an enum without variants has no value to store; help: add a variant");
            }
            let mut labels: Vec<(Ident, String)> = Vec::new();
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    cx.error_spanned_by(
                        &variant.fields,
                        "#[derive(FieldType)] stores enums of unit variants only; help: store data-carrying enums as `duo_orm::Json<T>`",
                    );
                }
                let rename = variant_rename(cx, variant);
                if let (Some(rename), Some(_)) = (&rename, &container.repr) {
                    cx.error_spanned_by(rename, "`rename` names a text label; an enum with `repr` is stored as its discriminants");
                }
                if container.repr.is_some() && variant.discriminant.is_none() {
                    cx.error_spanned_by(
                        &variant.ident,
                        "with `repr`, every variant writes out the number it is stored as (`Low = 1`): an implicit one \
                         changes when a variant is inserted before it, and rows already stored would read as another variant",
                    );
                }
                let name = variant.ident.to_string();
                let name = name.trim_start_matches("r#");
                let label = match (rename, &container.rename_all) {
                    (Some(rename), _) => rename.value(),
                    (None, Some(rule)) => case::rename(name, &rule.value()),
                    (None, None) => name.to_string(),
                };
                if label.is_empty() {
                    cx.error_spanned_by(
                        &variant.ident,
                        "an empty label cannot be told from an empty string; help: #[duo(rename = \"...\")]",
                    );
                }
                if let Some((other, _)) = labels.iter().find(|(_, l)| *l == label) {
                    cx.error_spanned_by(&variant.ident, format!("`{}` and `{other}` are both stored as \"{label}\"", variant.ident));
                }
                labels.push((variant.ident.clone(), label));
            }
            match container.repr {
                Some(repr) => {
                    if let Some(rule) = &container.rename_all {
                        cx.error_spanned_by(rule, "`rename_all` names text labels; an enum with `repr` is stored as its discriminants");
                    }
                    if let Some(name) = &container.postgres_enum {
                        cx.error_spanned_by(
                            name,
                            "`postgres_enum` stores the labels in a PostgreSQL enum type; an enum with `repr` is stored as its \
                             discriminants: choose one",
                        );
                    }
                    Shape::Integers(repr, labels.into_iter().map(|(ident, _)| ident).collect())
                }
                None => {
                    if let Some(name) = &container.postgres_enum {
                        if let Err(why) = EnumType::<String>::check_name(&name.value()) {
                            cx.error_spanned_by(name, why);
                        }
                        // Empty and repeated labels are reported at their variants above.
                        for (variant, label) in labels.iter().filter(|(_, l)| !l.is_empty()) {
                            if let Err(why) = EnumType::<String>::check_label(label) {
                                cx.error_spanned_by(variant, format!("{why} (a PostgreSQL enum label)"));
                            }
                        }
                    }
                    Shape::Labels(labels, container.postgres_enum)
                }
            }
        }
        Data::Struct(data) => {
            for (key, set) in [
                (REPR, container.repr.is_some()),
                (RENAME_ALL, container.rename_all.is_some()),
                (POSTGRES_ENUM, container.postgres_enum.is_some()),
            ] {
                if set {
                    cx.error_spanned_by(&input.ident, format!("`{key}` applies to enums; a newtype is stored as its field"));
                }
            }
            match &data.fields {
                Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                    let inner = &fields.unnamed[0].ty;
                    if crate::types::option_inner(inner).is_some() {
                        cx.error_spanned_by(
                            inner,
                            "a newtype stores a value, not its absence; help: wrap the value (`struct Email(String)`) and \
                             write `Option<Email>` on the model's field",
                        );
                    }
                    Shape::Newtype(Box::new(inner.clone()))
                }
                _ => {
                    cx.error_spanned_by(
                        &input.ident,
                        "#[derive(FieldType)] on a struct needs exactly one unnamed field: `struct Email(String);`",
                    );
                    return None;
                }
            }
        }
        Data::Union(_) => {
            cx.error_spanned_by(&input.ident, "#[derive(FieldType)] works on enums and one-field tuple structs");
            return None;
        }
    };
    Some(FieldTypeDef { ident: input.ident.clone(), krate: container.krate.unwrap_or_else(|| syn::parse_quote!(::duo_orm)), shape })
}

fn parse_container(cx: &Ctxt, input: &DeriveInput) -> Container {
    let mut container = Container::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident(DUO)) {
        let result = attr.parse_nested_meta(|meta| {
            let lit: LitStr = meta.value()?.parse()?;
            if meta.path.is_ident(CRATE) {
                container.krate = Some(lit.parse()?);
            } else if meta.path.is_ident(REPR) {
                if !REPRS.contains(&lit.value().as_str()) {
                    return Err(syn::Error::new(lit.span(), format!("repr is one of {}", REPRS.join(", "))));
                }
                container.repr = Some(Ident::new(&lit.value(), lit.span()));
            } else if meta.path.is_ident(POSTGRES_ENUM) {
                container.postgres_enum = Some(lit);
            } else if meta.path.is_ident(RENAME_ALL) {
                if !RENAME_RULES.contains(&lit.value().as_str()) {
                    return Err(syn::Error::new(lit.span(), format!("rename_all is one of {}", RENAME_RULES.join(", "))));
                }
                container.rename_all = Some(lit);
            } else {
                return Err(meta.error("unknown duo attribute here; expected `repr`, `rename_all`, `postgres_enum` or `crate`"));
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    container
}

fn variant_rename(cx: &Ctxt, variant: &syn::Variant) -> Option<LitStr> {
    let mut rename = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident(DUO)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(RENAME) {
                rename = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error("unknown duo attribute on a variant; expected `rename`"))
            }
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
    rename
}

/// The `FieldType` impl of a checked definition.
pub fn expand(def: &FieldTypeDef) -> TokenStream {
    let FieldTypeDef { ident, krate, shape } = def;
    let private = quote!(#krate::__private);
    let name = ident.to_string();
    let mut checks = TokenStream::new();
    let body = match shape {
        Shape::Labels(labels, postgres_enum) => {
            let (variants, labels): (Vec<_>, Vec<_>) = labels.iter().cloned().unzip();
            let expected = format!("a {name} label (one of {})", labels.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", "));
            let sql_type = match postgres_enum {
                Some(type_name) => quote! {
                    #private::SqlType::Enum(#private::EnumType { name: #type_name, labels: &[#(#labels),*] })
                },
                None => quote!(#private::SqlType::Text),
            };
            quote! {
                const SQL_TYPE: #private::SqlType = #sql_type;
                fn to_value(&self) -> #private::Value {
                    let label = match self { #(#ident::#variants => #labels,)* };
                    #private::Value::String(#private::Some(::std::string::String::from(label)))
                }
                fn from_value(value: #private::Value) -> #private::Result<Self, #private::ValueError> {
                    match value {
                        #private::Value::String(#private::Some(label)) => match label.as_str() {
                            #(#labels => #private::Ok(#ident::#variants),)*
                            _ => #private::Err(#private::ValueError::unknown_label(#expected, &label)),
                        },
                        other => #private::Err(#private::ValueError::unexpected(#expected, &other)),
                    }
                }
            }
        }
        Shape::Integers(repr, variants) => {
            let value_variant = match repr.to_string().as_str() {
                "i16" => format_ident!("SmallInt"),
                "i32" => format_ident!("Int"),
                _ => format_ident!("BigInt"),
            };
            let sql_variant = match repr.to_string().as_str() {
                "i16" => format_ident!("SmallInt"),
                "i32" => format_ident!("Integer"),
                _ => format_ident!("BigInt"),
            };
            let consts: Vec<_> = (0..variants.len()).map(|i| format_ident!("__DUO_{}", i)).collect();
            let expected = format!("a {name} discriminant ({repr})");
            // `as` would wrap a discriminant the column type cannot hold.
            let range_checks = variants.iter().map(|v| {
                let message = format!("the discriminant of {name}::{v} does not fit the `repr` ({repr})");
                quote_spanned! {v.span()=>
                    ::core::assert!(
                        (#ident::#v as ::core::primitive::i128) >= ::core::primitive::#repr::MIN as ::core::primitive::i128
                            && (#ident::#v as ::core::primitive::i128) <= ::core::primitive::#repr::MAX as ::core::primitive::i128,
                        #message
                    );
                }
            });
            checks = quote! {
                const _: () = {
                    #(#range_checks)*
                };
            };
            quote! {
                const SQL_TYPE: #private::SqlType = #private::SqlType::#sql_variant;
                fn to_value(&self) -> #private::Value {
                    let discriminant = match self { #(#ident::#variants => #ident::#variants as ::core::primitive::#repr,)* };
                    #private::Value::#value_variant(#private::Some(discriminant))
                }
                fn from_value(value: #private::Value) -> #private::Result<Self, #private::ValueError> {
                    #(const #consts: ::core::primitive::#repr = #ident::#variants as ::core::primitive::#repr;)*
                    match value {
                        #private::Value::#value_variant(#private::Some(discriminant)) => match discriminant {
                            #(#consts => #private::Ok(#ident::#variants),)*
                            other => #private::Err(#private::ValueError::unknown_label(#expected, &other.to_string())),
                        },
                        other => #private::Err(#private::ValueError::unexpected(#expected, &other)),
                    }
                }
            }
        }
        Shape::Newtype(inner) => {
            let inner_field = quote_spanned!(inner.span()=> <#inner as #private::FieldType>);
            quote! {
                const SQL_TYPE: #private::SqlType = #inner_field::SQL_TYPE;
                const NULLABLE: bool = #inner_field::NULLABLE;
                fn to_value(&self) -> #private::Value {
                    #inner_field::to_value(&self.0)
                }
                fn from_value(value: #private::Value) -> #private::Result<Self, #private::ValueError> {
                    #inner_field::from_value(value).map(#ident)
                }
                fn into_value(self) -> #private::Value {
                    #inner_field::into_value(self.0)
                }
                fn null_value() -> #private::Value {
                    #inner_field::null_value()
                }
                fn from_json(json: #private::Json) -> #private::Result<#private::Value, ::std::string::String> {
                    #inner_field::from_json(json)
                }
                fn to_json(&self) -> #private::Json {
                    #inner_field::to_json(&self.0)
                }
            }
        }
    };
    quote! {
        #[automatically_derived]
        impl #private::FieldType for #ident {
            #body
        }
        #checks
    }
}
