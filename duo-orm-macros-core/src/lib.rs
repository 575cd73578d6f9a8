pub fn expand_model(_: &syn::DeriveInput) -> proc_macro2::TokenStream { Default::default() }
pub fn expand_schema(_: &syn::DeriveInput) -> proc_macro2::TokenStream { Default::default() }
