//! Array columns (`Vec<T>` of a scalar `T`): PostgreSQL arrays, with `includes`,
//! `includes_all` (`@>`), `includes_any` (`&&`), `equals`, `not_equals` and `length()`.
//!
//! Other dialects have no array type: their DDL refuses an array column (store
//! `Json<Vec<T>>` instead), and these operators are [`Error::UnsupportedOperation`] there.

use std::marker::PhantomData;

use sea_query::extension::postgres::PgExpr;
use sea_query::{ArrayType as SeaArrayType, Expr, ExprTrait, Func, Value};

use crate::column::{Column, Condition};
use crate::dialect::Dialect;
use crate::error::{Error, Invalid, InvalidQueryKind};
use crate::model::Model;
use crate::types::{ArrayOf, FieldType, SqlType, ValueError};

/// A scalar type arrays hold, with its sea-query array tag.
pub trait ArrayElement: FieldType + Clone {
    #[doc(hidden)]
    const ARRAY_TYPE: SeaArrayType;
}

/// Marks the column types the array operators accept: `Vec<T>` and `Option<Vec<T>>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an array column",
    label = "array operators work on `Vec<T>` columns (PostgreSQL arrays) only"
)]
pub trait ArrayColumn {
    /// The element type.
    type Element: ArrayElement;
}
impl<T: ArrayElement> ArrayColumn for Vec<T>
where
    Vec<T>: FieldType,
{
    type Element = T;
}
impl<T: ArrayElement> ArrayColumn for Option<Vec<T>>
where
    Vec<T>: FieldType,
{
    type Element = T;
}

fn array_value<T: ArrayElement>(values: Vec<T>) -> Value {
    Value::Array(T::ARRAY_TYPE, Some(Box::new(values.into_iter().map(FieldType::into_value).collect())))
}

fn unsupported(dialect: Dialect, operation: &str) -> Error {
    Error::unsupported(
        dialect,
        format!("the array operator {operation} (arrays are PostgreSQL's); store the list as `Json<Vec<T>>` and use contains()"),
    )
}

/// A PostgreSQL condition: `build(column)` on PostgreSQL, `UnsupportedOperation` elsewhere.
fn on_postgres<M>(column: Expr, operation: &'static str, build: impl Fn(Expr) -> Expr + Send + Sync + 'static) -> Condition<M> {
    Condition::per_dialect(move |dialect| match dialect {
        Dialect::Postgres => Ok(build(column.clone())),
        other => Err(unsupported(other, operation)),
    })
}

impl<M: Model, C: ArrayColumn> Column<M, C> {
    /// The array holds `value`: `value = ANY(column)`.
    pub fn includes(self, value: impl Into<C::Element>) -> Condition<M> {
        let value = value.into().into_value();
        on_postgres(self.expr(), "includes()", move |column| Expr::val(value.clone()).eq(Func::cust("ANY").arg(column)))
    }

    /// The array holds every one of `values`: `column @> $1`.
    pub fn includes_all<V: Into<C::Element>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        self.with_list("includes_all", values, |column, list| column.contains(list))
    }

    /// The array holds at least one of `values`: `column && $1`.
    pub fn includes_any<V: Into<C::Element>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        self.with_list("includes_any", values, |column, list| column.binary(sea_query::extension::postgres::PgBinOper::Overlap, list))
    }

    /// The array is exactly `values`, in order: `column = $1`.
    pub fn equals<V: Into<C::Element>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        self.with_list("equals", values, |column, list| column.eq(list))
    }

    /// The array is not exactly `values`: `column <> $1`.
    pub fn not_equals<V: Into<C::Element>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        self.with_list("not_equals", values, |column, list| column.ne(list))
    }

    /// The number of elements, to compare: `tags.length().ge(2)` (`cardinality(column)`).
    pub fn length(self) -> ArrayLength<M> {
        ArrayLength { column: self.expr(), _marker: PhantomData }
    }

    fn with_list<V: Into<C::Element>>(
        self,
        operation: &'static str,
        values: impl IntoIterator<Item = V>,
        build: fn(Expr, Expr) -> Expr,
    ) -> Condition<M> {
        let values: Vec<C::Element> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return Condition::invalid(Invalid::new(
                InvalidQueryKind::Argument,
                format!("{operation}() needs at least one value; help: test for an empty array with `length().eq(0)`"),
            ));
        }
        let list = array_value(values);
        let name = match operation {
            "includes_all" => "includes_all()",
            "includes_any" => "includes_any()",
            "equals" => "equals()",
            _ => "not_equals()",
        };
        on_postgres(self.expr(), name, move |column| build(column, Expr::val(list.clone())))
    }
}

/// The length of an array column, to compare with an integer.
pub struct ArrayLength<M> {
    column: Expr,
    _marker: PhantomData<fn() -> M>,
}

impl<M> ArrayLength<M> {
    fn compare(self, value: i64, op: fn(Expr, Expr) -> Expr) -> Condition<M> {
        on_postgres(self.column, "length()", move |column| op(Func::cust("cardinality").arg(column).into(), Expr::val(value)))
    }

    /// `length = n`.
    pub fn eq(self, n: i64) -> Condition<M> {
        self.compare(n, |a, b| a.eq(b))
    }

    /// `length <> n`.
    pub fn ne(self, n: i64) -> Condition<M> {
        self.compare(n, |a, b| a.ne(b))
    }

    /// `length > n`.
    pub fn gt(self, n: i64) -> Condition<M> {
        self.compare(n, |a, b| a.gt(b))
    }

    /// `length >= n`.
    pub fn ge(self, n: i64) -> Condition<M> {
        self.compare(n, |a, b| a.gte(b))
    }

    /// `length < n`.
    pub fn lt(self, n: i64) -> Condition<M> {
        self.compare(n, |a, b| a.lt(b))
    }

    /// `length <= n`.
    pub fn le(self, n: i64) -> Condition<M> {
        self.compare(n, |a, b| a.lte(b))
    }
}

/// [`FieldType`] for `Vec<T>`: bound as one array parameter, decoded from a PostgreSQL array;
/// other backends have no array type (their DDL already refuses the column).
macro_rules! array_field {
    ($($ty:ty => $of:ident, $array:ident, $element:literal);* $(;)?) => {$(
        impl ArrayElement for $ty {
            const ARRAY_TYPE: SeaArrayType = SeaArrayType::$array;
        }

        impl FieldType for Vec<$ty> {
            const SQL_TYPE: SqlType = SqlType::Array(ArrayOf::$of);
            fn to_value(&self) -> Value {
                array_value(self.clone())
            }
            fn from_value(value: Value) -> std::result::Result<Self, ValueError> {
                match value {
                    Value::Array(_, Some(items)) => items.into_iter().map(<$ty>::from_value).collect(),
                    other => Err(ValueError::unexpected(concat!("an array of ", $element), &other)),
                }
            }
            fn into_value(self) -> Value {
                array_value(self)
            }
            fn null_value() -> Value {
                Value::Array(SeaArrayType::$array, None)
            }
            fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
                serde_json::from_value::<Vec<$ty>>(json)
                    .map(array_value)
                    .map_err(|e| format!("expected an array of {}: {e}", $element))
            }
            fn to_json(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
            }
        }
    )*};
}

/// A JSON payload value as an array of `of` (what a custom type stored as an array reads).
pub(crate) fn array_from_json(of: ArrayOf, json: serde_json::Value) -> std::result::Result<Value, String> {
    match of {
        ArrayOf::SmallInt => Vec::<i16>::from_json(json),
        ArrayOf::Integer => Vec::<i32>::from_json(json),
        ArrayOf::BigInt => Vec::<i64>::from_json(json),
        ArrayOf::Float => Vec::<f32>::from_json(json),
        ArrayOf::Double => Vec::<f64>::from_json(json),
        ArrayOf::Boolean => Vec::<bool>::from_json(json),
        ArrayOf::Text => Vec::<String>::from_json(json),
        #[cfg(feature = "uuid")]
        ArrayOf::Uuid => Vec::<uuid::Uuid>::from_json(json),
        #[cfg(not(feature = "uuid"))]
        ArrayOf::Uuid => Err("UUID arrays need duo-orm's `uuid` feature".into()),
    }
}

array_field! {
    i16 => SmallInt, SmallInt, "16-bit integers";
    i32 => Integer, Int, "32-bit integers";
    i64 => BigInt, BigInt, "64-bit integers";
    f32 => Float, Float, "numbers";
    f64 => Double, Double, "numbers";
    bool => Boolean, Bool, "booleans";
    String => Text, String, "strings";
}
#[cfg(feature = "uuid")]
array_field! { uuid::Uuid => Uuid, Uuid, "UUIDs" }
