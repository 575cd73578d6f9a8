//! Names the derive writes for the user: table names from struct names, foreign-key columns
//! from model names, enum labels under `rename_all`. heck splits words as a reader does:
//! `HTTPLog` is `http_log`, not `h_t_t_p_log`.

use heck::ToSnakeCase;

/// `BlogPost` → `blog_post`.
pub fn snake_case(name: &str) -> String {
    name.to_snake_case()
}

/// A variant name under a `rename_all` rule (one of `symbol::RENAME_RULES`). Words split as in
/// the other names the derive writes (`HTTPError` is `http_error`; serde writes `h_t_t_p_error`).
pub fn rename(variant: &str, rule: &str) -> String {
    use heck::{ToKebabCase, ToShoutySnakeCase};
    match rule {
        "lowercase" => variant.to_lowercase(),
        "UPPERCASE" => variant.to_uppercase(),
        "snake_case" => variant.to_snake_case(),
        "SCREAMING_SNAKE_CASE" => variant.to_shouty_snake_case(),
        "kebab-case" => variant.to_kebab_case(),
        _ => variant.to_string(),
    }
}
