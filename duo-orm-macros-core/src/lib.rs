//! The model parser and code generator behind `#[derive(Model)]` and `#[derive(Schema)]`.
//!
//! An ordinary library (not a proc-macro crate) so the `duo-orm` CLI can read model
//! definitions with exactly the parser the derive uses. The pipeline follows serde_derive:
//! parse attributes → validate the whole model (every error reported at its span) →
//! generate code from the validated [`ModelDef`] only.

mod ctxt;
mod expand;
pub mod model;
pub mod relation;
mod symbol;
pub mod types;

use proc_macro2::TokenStream;
use syn::DeriveInput;

pub use model::{DefaultDef, FieldDef, IndexDef, ModelDef, ReferenceDef, parse_model};
pub use relation::{RelationDef, RelationKind};
pub use types::SqlType;

/// Expands `#[derive(Model)]`: the generated code, or the compile errors.
pub fn expand_model(input: &DeriveInput) -> TokenStream {
    match parse_model(input) {
        Ok(def) => expand::model(&def),
        Err(errors) => errors.to_compile_error(),
    }
}

/// Expands `#[derive(Schema)]`.
pub fn expand_schema(input: &DeriveInput) -> TokenStream {
    let mut krate: syn::Path = syn::parse_quote!(::duo_orm);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident(symbol::DUO)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(symbol::CRATE) {
                let lit: syn::LitStr = meta.value()?.parse()?;
                krate = lit.parse()?;
                Ok(())
            } else {
                Err(meta.error("unknown duo attribute on a schema; expected `crate`"))
            }
        });
        if let Err(error) = result {
            return error.to_compile_error();
        }
    }
    expand::schema(input, &krate)
}

#[cfg(test)]
mod tests;
