//! Derive macros for duo-orm. This crate is a thin shim: the parser and code generator live
//! in `duo-orm-macros-core`, which the `duo-orm` CLI shares.

use proc_macro::TokenStream;

/// Turns a struct into a table-backed model. See the duo-orm user guide.
#[proc_macro_derive(Model, attributes(duo))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    duo_orm_macros_core::expand_model(&input).into()
}

/// Makes a Rust enum (stored as text labels, in a PostgreSQL enum type with
/// `#[duo(postgres_enum = "plan")]`, or as integers with `#[duo(repr = "i32")]`) or a newtype
/// such as `struct Email(String)` (stored as its field) a model field type: implements
/// `duo_orm::types::FieldType`.
#[proc_macro_derive(FieldType, attributes(duo))]
pub fn derive_field_type(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    duo_orm_macros_core::expand_field_type(&input).into()
}

/// Makes a struct a row type: a result row decodes into it field after field, by position
/// (implements `duo_orm::FromRow`). Each field's type is a field type or another row type.
#[proc_macro_derive(FromRow, attributes(duo))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    duo_orm_macros_core::expand_from_row(&input).into()
}

/// Makes a serde struct a write payload: implements `Payload` (validated when the struct
/// implements `validator::Validate`).
#[proc_macro_derive(Payload, attributes(duo))]
pub fn derive_payload(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    duo_orm_macros_core::expand_payload(&input).into()
}

/// Embeds the migration files of a directory (relative to the crate's `Cargo.toml`) at
/// compile time: `duo_orm::embed_migrations!("migrations")` is a
/// `duo_orm::Result<duo_orm::migrate::Migrations>`. Re-exported as `duo_orm::embed_migrations!`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let dir = syn::parse_macro_input!(input as syn::LitStr);
    duo_orm_macros_core::expand_embed_migrations(&dir).into()
}
