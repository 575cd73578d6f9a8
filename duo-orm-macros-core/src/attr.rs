//! What the derives' attributes share in parsing them.

use syn::Expr;

/// Consumes an unknown attribute's `= value` or `(...)` so the next one still parses.
pub(crate) fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

/// The crate path of a derive whose only container attribute is `#[duo(crate = "...")]`
/// (`::duo_orm` without one); `what` names the item in the error for any other attribute.
pub(crate) fn crate_path_only(attrs: &[syn::Attribute], what: &str) -> syn::Result<syn::Path> {
    let mut krate: syn::Path = syn::parse_quote!(::duo_orm);
    for attr in attrs.iter().filter(|a| a.path().is_ident(crate::symbol::DUO)) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(crate::symbol::CRATE) {
                let lit: syn::LitStr = meta.value()?.parse()?;
                krate = lit.parse()?;
                Ok(())
            } else {
                Err(meta.error(format!("unknown duo attribute on {what}; expected `crate`")))
            }
        })?;
    }
    Ok(krate)
}
