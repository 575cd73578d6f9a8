//! Maps Rust field types to portable column types, by their syntax (the CLI maps models
//! without compiling them, so this cannot ask the type checker).

use syn::{GenericArgument, PathArguments, Type};

/// The portable column types (mirrors `duo_orm::types::SqlType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    Float,
    Double,
    Boolean,
    Text,
    Blob,
    TimestampTz,
    Timestamp,
    Date,
    Time,
    Uuid,
    Decimal,
    Json,
    Custom(String),
    /// `Vec<T>` of a scalar `T` (a PostgreSQL array).
    Array(Box<SqlType>),
    /// A type of the user's, which declares its column type itself
    /// (`FieldType::SQL_TYPE`): the derive asks the compiler; the CLI, which does not
    /// compile, finds the type's `#[derive(FieldType)]` among the models.
    Declared,
}

impl SqlType {
    /// The variant's name in `duo_orm::types::SqlType`.
    pub fn variant(&self) -> &'static str {
        match self {
            SqlType::SmallInt => "SmallInt",
            SqlType::Integer => "Integer",
            SqlType::BigInt => "BigInt",
            SqlType::Float => "Float",
            SqlType::Double => "Double",
            SqlType::Boolean => "Boolean",
            SqlType::Text => "Text",
            SqlType::Blob => "Blob",
            SqlType::TimestampTz => "TimestampTz",
            SqlType::Timestamp => "Timestamp",
            SqlType::Date => "Date",
            SqlType::Time => "Time",
            SqlType::Uuid => "Uuid",
            SqlType::Decimal => "Decimal",
            SqlType::Json => "Json",
            SqlType::Custom(_) => "Custom",
            SqlType::Array(_) => "Array",
            SqlType::Declared => "Declared",
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
    }
}

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
pub fn map_type(ty: &Type) -> Result<SqlType, String> {
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
        "i16" => SqlType::SmallInt,
        "i32" => SqlType::Integer,
        "i64" => SqlType::BigInt,
        "f32" => SqlType::Float,
        "f64" => SqlType::Double,
        "bool" => SqlType::Boolean,
        "String" => SqlType::Text,
        "NaiveDateTime" => SqlType::Timestamp,
        "NaiveDate" => SqlType::Date,
        "NaiveTime" => SqlType::Time,
        "Uuid" => SqlType::Uuid,
        "Decimal" => SqlType::Decimal,
        "JsonValue" => SqlType::Json,
        // `duo_orm::Json<T>`: any serde type, stored as a JSON document.
        "Json" if single_generic(&last.arguments).is_some() => SqlType::Json,
        "Value" if path.path.segments.len() >= 2 && path.path.segments[path.path.segments.len() - 2].ident == "serde_json" => SqlType::Json,
        "Vec" => match single_generic(&last.arguments) {
            Some(Type::Path(inner)) if inner.path.is_ident("u8") => SqlType::Blob,
            // A PostgreSQL array of a scalar.
            Some(inner) => match map_type(inner) {
                Ok(
                    element @ (SqlType::SmallInt
                    | SqlType::Integer
                    | SqlType::BigInt
                    | SqlType::Float
                    | SqlType::Double
                    | SqlType::Boolean
                    | SqlType::Text
                    | SqlType::Uuid),
                ) => SqlType::Array(Box::new(element)),
                _ => {
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
            Some(Type::Path(tz)) if tz.path.segments.last().is_some_and(|s| s.ident == "Utc") => SqlType::TimestampTz,
            _ => {
                return Err("only `DateTime<Utc>` is supported for instants (store UTC, convert for display); \
                            help: use chrono::DateTime<chrono::Utc>"
                    .into());
            }
        },
        "Option" => return Err("nested `Option<Option<T>>` cannot be a column; use one `Option`".into()),
        _ => SqlType::Declared,
    };
    Ok(mapped)
}
