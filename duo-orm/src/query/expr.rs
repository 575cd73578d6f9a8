//! Values computed per row: arithmetic (`plus`, `minus`, `times`), `COALESCE`
//! (`coalesce`), `CASE` (`Condition::then_else`) and numeric casts (`as_i64`, `as_f64`). Each
//! is a [`Computed`] value of kind [`PerRow`]: picked by `select(..)`, compared in a filter,
//! ordered by, or aggregated (`u.price.times(u.units).sum()`).

use std::sync::Arc;

use sea_query::{Expr, ExprTrait};

use crate::column::{Column, Condition, Render};
use crate::dialect::Dialect;
use crate::model::Model;
use crate::query::project::{Computed, PerRow};
use crate::types::FieldType;

/// What a computed value takes as its other part: a value of the type (`2`, `"anon"`), a
/// column, or another value computed per row, of the same type (or its `Option`'s).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `{T}` term",
    label = "not a `{T}`",
    note = "a computed value takes a value, a column or a value computed per row, of its type"
)]
pub trait Term<T> {
    /// How the term is written.
    #[doc(hidden)]
    fn term(self) -> Render;
}

fn value_term<T: FieldType>(value: sea_query::Value) -> Render {
    let expr = crate::types::param(&T::SQL_TYPE, value);
    Arc::new(move |_| Ok(expr.clone()))
}

impl<T: FieldType> Term<T> for T {
    fn term(self) -> Render {
        value_term::<T>(self.into_value())
    }
}

impl<T: FieldType> Term<Option<T>> for T {
    fn term(self) -> Render {
        value_term::<T>(self.into_value())
    }
}

impl Term<String> for &str {
    fn term(self) -> Render {
        value_term::<String>(self.into())
    }
}

impl Term<Option<String>> for &str {
    fn term(self) -> Render {
        value_term::<String>(self.into())
    }
}

/// Implements [`Term`] for columns and per-row values of `$own` in a value of `$of`.
macro_rules! column_terms {
    ($own:ty => $of:ty) => {
        impl<X: Model, T> Term<$of> for Column<X, $own> {
            fn term(self) -> Render {
                column_render(self)
            }
        }

        impl<X: Model, T> Term<$of> for Computed<X, $own, PerRow> {
            fn term(self) -> Render {
                self.render
            }
        }
    };
}

column_terms!(T => T);
column_terms!(T => Option<T>);

/// Number types that add, subtract and multiply in SQL as in Rust (an `Option` is `NULL`
/// when either side is).
#[diagnostic::on_unimplemented(message = "`{Self}` values do not add up", note = "arithmetic applies to numbers and decimals")]
pub trait Arithmetic: FieldType {}

macro_rules! arithmetic {
    ($($ty:ty),*) => {$(
        impl Arithmetic for $ty {}
        impl Arithmetic for Option<$ty> {}
    )*};
}

arithmetic!(i16, i32, i64, f32, f64);
#[cfg(feature = "decimal")]
arithmetic!(rust_decimal::Decimal);

/// `left <op> right`, written when the query renders.
fn binary<M: Model, T: FieldType>(left: Render, right: Render, op: fn(Expr, Expr) -> Expr) -> Computed<M, T, PerRow> {
    Computed::new(move |dialect| Ok(op(left(dialect)?, right(dialect)?)))
}

/// The numeric casts: a value read as `i64` or `f64` on every backend.
fn cast_to(value: Render, double: bool) -> impl Fn(Dialect) -> crate::Result<Expr> + Send + Sync + 'static {
    move |dialect| {
        let value = value(dialect)?;
        Ok(match (dialect, double) {
            (Dialect::Postgres, false) | (Dialect::MsSql, false) => value.cast_as("BIGINT"),
            (Dialect::MySql, false) => value.cast_as("SIGNED"),
            (Dialect::Sqlite, false) => value.cast_as("INTEGER"),
            (Dialect::Oracle, false) => value.cast_as("NUMBER(19)"),
            // An integer stays one on SQLite unless cast.
            (Dialect::Sqlite, true) => value.cast_as("REAL"),
            (_, true) => crate::query::aggregate::as_double(value, dialect),
        })
    }
}

/// Arithmetic and casts, the same on columns and on values computed per row.
macro_rules! arithmetic_methods {
    ($self_ty:ident, $render:ident) => {
        /// `self + other`.
        pub fn plus(self, other: impl Term<T>) -> Computed<M, T, PerRow> {
            binary($render(self), other.term(), |a, b| a.add(b))
        }

        /// `self - other`.
        pub fn minus(self, other: impl Term<T>) -> Computed<M, T, PerRow> {
            binary($render(self), other.term(), |a, b| a.sub(b))
        }

        /// `self * other`.
        pub fn times(self, other: impl Term<T>) -> Computed<M, T, PerRow> {
            binary($render(self), other.term(), |a, b| a.mul(b))
        }
    };
}

fn column_render<M: Model, T>(column: Column<M, T>) -> Render {
    let expr = column.expr();
    Arc::new(move |_| Ok(expr.clone()))
}

fn computed_render<M, T>(computed: Computed<M, T, PerRow>) -> Render {
    computed.render
}

impl<M: Model, T: Arithmetic> Column<M, T> {
    arithmetic_methods!(Column, column_render);
}

impl<M: Model, T: Arithmetic> Computed<M, T, PerRow> {
    arithmetic_methods!(Computed, computed_render);
}

impl<M: Model, T: FieldType> Column<M, T> {
    /// The column as a value computed per row, to aggregate or compute with.
    pub fn per_row(self) -> Computed<M, T, PerRow> {
        let expr = self.expr();
        Computed::new(move |_| Ok(expr.clone()))
    }
}

/// Numeric casts of integer and float columns and values.
impl<M: Model, T: Arithmetic> Computed<M, T, PerRow> {
    /// The value as an `i64` (`CAST(… AS BIGINT)`, each dialect's spelling); a float is
    /// rounded or truncated as the database does.
    pub fn as_i64(self) -> Computed<M, i64, PerRow> {
        Computed::new(cast_to(self.render, false))
    }

    /// The value as an `f64` (double precision on every backend).
    pub fn as_f64(self) -> Computed<M, f64, PerRow> {
        Computed::new(cast_to(self.render, true))
    }
}

impl<M: Model, T: Arithmetic> Column<M, T> {
    /// The column as an `i64`: see [`Computed::as_i64`].
    pub fn as_i64(self) -> Computed<M, i64, PerRow> {
        self.per_row().as_i64()
    }

    /// The column as an `f64`: see [`Computed::as_f64`].
    pub fn as_f64(self) -> Computed<M, f64, PerRow> {
        self.per_row().as_f64()
    }
}

impl<M: Model, T: FieldType> Column<M, Option<T>>
where
    Option<T>: FieldType,
{
    /// `COALESCE(column, fallback)`: the column's value, or `fallback` where it is `NULL`.
    pub fn coalesce(self, fallback: impl Term<T>) -> Computed<M, T, PerRow> {
        let (value, fallback) = (column_render(self), fallback.term());
        Computed::new(move |dialect| Ok(sea_query::Func::coalesce([value(dialect)?, fallback(dialect)?]).into()))
    }
}

impl<M: Model, T: FieldType, K> Computed<M, Option<T>, K>
where
    Option<T>: FieldType,
{
    /// `COALESCE(value, fallback)`: the value, or `fallback` where it is `NULL` (an aggregate
    /// over no rows: `s.units.sum().coalesce(0)`).
    pub fn coalesce(self, fallback: impl Term<T>) -> Computed<M, T, K> {
        let (value, fallback) = (self.render, fallback.term());
        Computed::new(move |dialect| Ok(sea_query::Func::coalesce([value(dialect)?, fallback(dialect)?]).into()))
    }
}

impl<M: Model> Condition<M> {
    /// `CASE WHEN condition THEN yes ELSE no END`: `yes` where the condition holds, else `no`
    /// (also where it is unknown, on NULLs).
    pub fn then_else<T: FieldType>(self, yes: impl Term<T>, no: impl Term<T>) -> Computed<M, T, PerRow> {
        let (condition, error) = self.into_parts();
        let (yes, no) = (yes.term(), no.term());
        Computed::new(move |dialect| {
            if let Some(invalid) = &error {
                return Err(invalid.clone().into());
            }
            Ok(Expr::case(condition.resolve(dialect)?, yes(dialect)?).finally(no(dialect)?).into())
        })
    }
}
