//! `#[derive(FromRow)]`: a struct a result row decodes into, field after field in order.
//! Parse and check with a `Ctxt`, then generate, as for models.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput};

use crate::ctxt::Ctxt;
use crate::symbol::DUO;

/// A checked `#[derive(FromRow)]` input.
pub struct RowDef {
    ident: syn::Ident,
    krate: syn::Path,
    /// Each field: its name in errors, its member (`name` or `0`) and its type.
    fields: Vec<(String, syn::Member, syn::Type)>,
}

/// Parses and checks `input`, reporting every error at its span.
pub fn parse_row(input: &DeriveInput) -> syn::Result<RowDef> {
    let cx = Ctxt::new();
    let def = parse(&cx, input);
    cx.check()?;
    Ok(def.expect("a definition is produced whenever no error was reported"))
}

fn parse(cx: &Ctxt, input: &DeriveInput) -> Option<RowDef> {
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "#[derive(FromRow)] needs a type without generic parameters");
    }
    let krate = crate::attr::crate_path_only(&input.attrs, "a row struct").unwrap_or_else(|error| {
        cx.syn_error(error);
        syn::parse_quote!(::duo_orm)
    });
    let Data::Struct(data) = &input.data else {
        cx.error_spanned_by(&input.ident, "#[derive(FromRow)] works on structs: one field per selected column, in order");
        return None;
    };
    if data.fields.is_empty() {
        cx.error_spanned_by(&input.ident, "a row struct needs a field per selected column; help: for a row of one column, use its type");
    }
    let fields = data
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            for attr in field.attrs.iter().filter(|a| a.path().is_ident(DUO)) {
                cx.error_spanned_by(attr, "a row struct's fields take no duo attribute: a field is the next column, by position");
            }
            match &field.ident {
                Some(ident) => {
                    let name = ident.to_string();
                    (name.trim_start_matches("r#").to_string(), syn::Member::Named(ident.clone()), field.ty.clone())
                }
                None => (i.to_string(), syn::Member::Unnamed(i.into()), field.ty.clone()),
            }
        })
        .collect();
    Some(RowDef { ident: input.ident.clone(), krate, fields })
}

/// The `FromRow` impl of a checked definition.
pub fn expand(def: &RowDef) -> TokenStream {
    let RowDef { ident, krate, fields } = def;
    let private = quote!(#krate::__private);
    let name = ident.to_string();
    let reads = fields.iter().map(|(field, member, ty)| {
        // Spanned at the type: a type that is no row type is reported there.
        let read = quote_spanned!(ty.span()=> row.next_field::<#ty>(#field)?);
        quote!(#member: #read)
    });
    let types: Vec<&syn::Type> = fields.iter().map(|(_, _, ty)| ty).collect();
    // A one-field struct also reads what its field reads: a single pick is not a tuple.
    let single = match types.as_slice() {
        [ty] => quote! {
            #[automatically_derived]
            impl #private::RowOf<#ty> for #ident {}
        },
        _ => quote!(),
    };
    quote! {
        #[automatically_derived]
        impl #private::RowOf<(#(#types,)*)> for #ident {}
        #single
        #[automatically_derived]
        impl #private::FromRow for #ident {
            const NAME: &'static str = #name;
            #[inline]
            fn from_row(row: &mut #private::RowCursor<'_>) -> #private::RowResult<Self> {
                #private::Ok(#ident { #(#reads,)* })
            }
        }
    }
}
