//! The model parser and code generator behind `#[derive(Model)]` and `#[derive(Payload)]`.
//!
//! An ordinary library (not a proc-macro crate) so the `duo-orm` CLI can read model
//! definitions with exactly the parser the derive uses. The pipeline follows serde_derive:
//! parse attributes → validate the whole model (every error reported at its span) →
//! generate code from the validated [`ModelDef`] only.

mod attr;
pub mod case;
mod check;
mod ctxt;
mod expand;
pub mod field_type;
mod from_row;
pub mod model;
pub mod relation;
pub mod schema;
mod symbol;
pub mod types;

use proc_macro2::TokenStream;
use syn::DeriveInput;

pub use model::{FieldDef, IndexDef, ModelDef, ReferenceDef};
pub use relation::{RelationDef, RelationKind};

/// Parses `#[derive(Model)]`'s input, then checks the model as a whole (as serde_derive does:
/// parse, check, generate), reporting every error at its span.
pub fn parse_model(input: &DeriveInput) -> syn::Result<ModelDef> {
    let cx = ctxt::Ctxt::new();
    let model = model::parse(&cx, input).map(|mut parsed| {
        check::model(&cx, input, &mut parsed);
        parsed.model
    });
    cx.check()?;
    Ok(model.expect("a model is produced whenever no error was reported"))
}

/// Expands `#[derive(Model)]`: the generated code, or the compile errors.
pub fn expand_model(input: &DeriveInput) -> TokenStream {
    match parse_model(input) {
        Ok(def) => expand::model(&def),
        Err(errors) => errors.to_compile_error(),
    }
}

/// Expands `#[derive(FieldType)]`.
pub fn expand_field_type(input: &DeriveInput) -> TokenStream {
    match field_type::parse_field_type(input) {
        Ok(def) => field_type::expand(&def),
        Err(errors) => errors.to_compile_error(),
    }
}

/// Expands `#[derive(FromRow)]`.
pub fn expand_from_row(input: &DeriveInput) -> TokenStream {
    match from_row::parse_row(input) {
        Ok(def) => from_row::expand(&def),
        Err(errors) => errors.to_compile_error(),
    }
}

/// Expands `#[derive(Payload)]`.
pub fn expand_payload(input: &DeriveInput) -> TokenStream {
    match attr::crate_path_only(&input.attrs, "a payload") {
        Ok(krate) => expand::payload(input, &krate),
        Err(error) => error.to_compile_error(),
    }
}

#[cfg(test)]
mod tests;

/// Expands `embed_migrations!("dir")`: every `*.toml` file of `dir` (relative to the crate's
/// `Cargo.toml`), in name order, through `include_str!` so an edited file rebuilds the crate.
/// A new file needs a rebuild to be seen (`cargo:rerun-if-changed=migrations` in a build
/// script does that).
pub fn expand_embed_migrations(dir: &syn::LitStr) -> TokenStream {
    let root = std::env::var("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from).unwrap_or_default();
    let path = root.join(dir.value());
    let entries = match std::fs::read_dir(&path) {
        Ok(entries) => entries,
        Err(e) => {
            let message =
                format!("cannot read the migrations directory `{}`: {e}; help: the path is relative to Cargo.toml", path.display());
            return syn::Error::new(dir.span(), message).to_compile_error();
        }
    };
    let mut files: Vec<std::path::PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    files.sort();
    let pairs = files.iter().map(|file| {
        let id = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let absolute = file.display().to_string();
        quote::quote!((#id, include_str!(#absolute)))
    });
    quote::quote!(::duo_orm::migrate::Migrations::embedded(&[#(#pairs),*]))
}
