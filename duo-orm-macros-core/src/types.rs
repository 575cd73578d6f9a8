//! Maps Rust field types to portable column types, by their syntax (the CLI maps models
//! without compiling them, so this cannot ask the type checker).

use duo_orm_schema::{ArrayOf, ColumnType};
use syn::{GenericArgument, PathArguments, Type};

/// `Option<T>` → `Some(T)`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    wrapper_inner(ty, "Option")
}

/// `T` of `Wrapper<T>` (by the last path segment's name: `Option`, `Vec`, `Related`).
pub fn wrapper_inner<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    single_generic(&last.arguments)
}

fn single_generic(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else { return None };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// The column type of a (non-`Option`) field type, or a message saying why there is none.
/// `None`: a type of the user's, which declares its column type itself
/// (`FieldType::SQL_TYPE`): the derive asks the compiler; the CLI, which does not compile,
/// finds the type's `#[derive(FieldType)]` among the models.
pub fn map_type(ty: &Type) -> Result<Option<ColumnType>, String> {
    let unsupported = || {
        format!(
            "duo-orm cannot store `{}` in a column; help: use a type implementing `duo_orm::types::FieldType` \
             (`#[derive(FieldType)]` covers enums and newtypes such as `struct Email(String)`)",
            quote::quote!(#ty).to_string().replace(' ', "")
        )
    };
    let Type::Path(path) = ty else { return Err(unsupported()) };
    let Some(last) = path.path.segments.last() else { return Err(unsupported()) };
    let name = last.ident.to_string();
    let mapped = match name.as_str() {
        "i16" => ColumnType::SmallInt,
        "i32" => ColumnType::Integer,
        "i64" => ColumnType::BigInt,
        "f32" => ColumnType::Float,
        "f64" => ColumnType::Double,
        "bool" => ColumnType::Boolean,
        "String" => ColumnType::Text,
        "NaiveDateTime" => ColumnType::Timestamp,
        "NaiveDate" => ColumnType::Date,
        "NaiveTime" => ColumnType::Time,
        "Uuid" => ColumnType::Uuid,
        "Decimal" => ColumnType::Decimal,
        "JsonValue" => ColumnType::Json,
        // `duo_orm::Json<T>`: any serde type, stored as a JSON document.
        "Json" if single_generic(&last.arguments).is_some() => ColumnType::Json,
        "Value" if path.path.segments.len() >= 2 && path.path.segments[path.path.segments.len() - 2].ident == "serde_json" => {
            ColumnType::Json
        }
        "Vec" => match single_generic(&last.arguments) {
            Some(Type::Path(inner)) if inner.path.is_ident("u8") => ColumnType::Blob,
            // A PostgreSQL array of a scalar.
            Some(inner) => match map_type(inner).ok().flatten().as_ref().and_then(ArrayOf::of) {
                Some(of) => ColumnType::Array(of),
                None => {
                    return Err(format!(
                        "duo-orm cannot map `{}` to a column type: arrays hold integers, floats, booleans, strings \
                         or UUIDs; help: store other lists as JSON with `duo_orm::Json<Vec<T>>`",
                        quote::quote!(#ty).to_string().replace(' ', "")
                    ));
                }
            },
            None => return Err(unsupported()),
        },
        "DateTime" => match single_generic(&last.arguments) {
            Some(Type::Path(tz)) if tz.path.segments.last().is_some_and(|s| s.ident == "Utc") => ColumnType::TimestampTz,
            _ => {
                return Err("only `DateTime<Utc>` is supported for instants (store UTC, convert for display); \
                            help: use chrono::DateTime<chrono::Utc>"
                    .into());
            }
        },
        "Option" => return Err("nested `Option<Option<T>>` cannot be a column; use one `Option`".into()),
        _ => return Ok(None),
    };
    Ok(Some(mapped))
}
