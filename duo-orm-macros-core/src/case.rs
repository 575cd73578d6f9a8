//! Names the derive writes for the user: table names from struct names, foreign-key columns
//! from model names, enum variants from attribute values. heck splits words as a reader does:
//! `HTTPLog` is `http_log`, not `h_t_t_p_log`.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// `BlogPost` → `blog_post`.
pub fn snake_case(name: &str) -> String {
    name.to_snake_case()
}

/// `set_null` → `SetNull`.
pub fn camel_case(snake: &str) -> String {
    snake.to_upper_camel_case()
}
