//! Values computed per row: arithmetic (`plus`, `minus`, `times`), `COALESCE`
//! (`coalesce`), `CASE` (`Condition::then_else`) and numeric casts (`as_i64`, `as_f64`). Each
//! is a [`Computed`] value of kind [`PerRow`]: picked by `select(..)`, compared in a filter,
//! ordered by, or aggregated (`u.price.times(u.units).sum()`).

use std::sync::Arc;

use sea_query::{Expr, ExprTrait};

use crate::column::{Column, Condition, Render};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::model::Model;
use crate::query::project::{Aggregate, Computed, PerRow};
use crate::types::{FieldType, SqlType};

/// What a computed value takes as its other part: a value of the type (`2`, `"anon"`), a
/// column, or another value computed per row, of the same type (or its `Option`'s).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `{T}` term",
    label = "not a `{T}`",
    note = "a computed value takes a value, a column or a value computed per row, of its type"
)]
pub trait Term<T> {
    /// How the term is written, and how deeply it nests.
    #[doc(hidden)]
    fn term(self) -> TermSql;
}

/// A term's SQL, depth, and whether it holds an aggregate.
#[doc(hidden)]
pub struct TermSql {
    render: Render,
    depth: u32,
    aggregate: bool,
}

fn value_term<T: FieldType>(value: sea_query::Value) -> TermSql {
    let expr = crate::types::param(&T::SQL_TYPE, value);
    TermSql { render: Arc::new(move |_| Ok(expr.clone())), depth: 0, aggregate: false }
}

impl<T: FieldType> Term<T> for T {
    fn term(self) -> TermSql {
        value_term::<T>(self.into_value())
    }
}

impl<T: FieldType> Term<Option<T>> for T {
    fn term(self) -> TermSql {
        value_term::<T>(self.into_value())
    }
}

impl Term<String> for &str {
    fn term(self) -> TermSql {
        value_term::<String>(self.into())
    }
}

impl Term<Option<String>> for &str {
    fn term(self) -> TermSql {
        value_term::<String>(self.into())
    }
}

/// Implements [`Term`] for columns and per-row values of `$own` in a value of `$of`.
macro_rules! column_terms {
    ($own:ty => $of:ty) => {
        impl<X: Model, T> Term<$of> for Column<X, $own> {
            fn term(self) -> TermSql {
                TermSql { render: column_render(self), depth: 0, aggregate: false }
            }
        }

        impl<X: Model, T> Term<$of> for Computed<X, $own, PerRow> {
            fn term(self) -> TermSql {
                TermSql { render: self.render, depth: self.depth, aggregate: self.aggregate }
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

/// `left <op> right`, written when the query renders. SQLite keeps decimals as text and would
/// compute with them in floating point: refused there, as their aggregates are.
fn binary<M: Model, T: FieldType>(left: TermSql, right: TermSql, op: fn(Expr, Expr) -> Expr) -> Computed<M, T, PerRow> {
    let depth = Ord::max(left.depth, right.depth).saturating_add(1);
    let aggregate = left.aggregate || right.aggregate;
    let (left, right) = (left.render, right.render);
    Computed::nested(
        move |dialect| {
            if dialect == Dialect::Sqlite && matches!(T::SQL_TYPE, SqlType::Decimal) {
                return Err(Error::unsupported(
                    dialect,
                    "arithmetic on a decimal column: SQLite keeps decimals as text and would compute in floating point",
                ));
            }
            Ok(op(left(dialect)?, right(dialect)?))
        },
        aggregate,
        depth,
    )
}

/// The numeric casts: an integer read as `i64`, a number as `f64`, on every backend.
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

        /// `self * other`. Computed in the column's type, as SQL does: an `i32` product past
        /// `i32::MAX` is an error on PostgreSQL and SQL Server, and reads as an error
        /// elsewhere; `as_i64()` first where it could pass it.
        pub fn times(self, other: impl Term<T>) -> Computed<M, T, PerRow> {
            binary($render(self), other.term(), |a, b| a.mul(b))
        }
    };
}

fn column_render<M: Model, T>(column: Column<M, T>) -> Render {
    let expr = column.expr();
    Arc::new(move |_| Ok(expr.clone()))
}

fn column_term<M: Model, T>(column: Column<M, T>) -> TermSql {
    TermSql { render: column_render(column), depth: 0, aggregate: false }
}

fn computed_term<M, T>(computed: Computed<M, T, PerRow>) -> TermSql {
    TermSql { render: computed.render, depth: computed.depth, aggregate: computed.aggregate }
}

impl<M: Model, T: Arithmetic> Column<M, T> {
    arithmetic_methods!(Column, column_term);
}

impl<M: Model, T: Arithmetic> Computed<M, T, PerRow> {
    arithmetic_methods!(Computed, computed_term);
}

impl<M: Model, T: FieldType> Column<M, T> {
    /// The column as a value computed per row, to aggregate or compute with.
    pub fn per_row(self) -> Computed<M, T, PerRow> {
        let expr = self.expr();
        Computed::new(move |_| Ok(expr.clone()))
    }
}

/// Integer types, which widen to `i64` exactly (a float would round on some databases and
/// truncate on others, so it has no `as_i64`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an integer type",
    note = "`as_i64` widens integers; floats and decimals have none"
)]
pub trait Integer: Arithmetic {}

impl Integer for i16 {}
impl Integer for i32 {}
impl Integer for i64 {}
impl Integer for Option<i16> {}
impl Integer for Option<i32> {}
impl Integer for Option<i64> {}

impl<M: Model, T: Integer> Computed<M, T, PerRow> {
    /// The value as an `i64` (`CAST(… AS BIGINT)`, each dialect's spelling).
    pub fn as_i64(self) -> Computed<M, i64, PerRow> {
        Computed::nested(cast_to(self.render, false), self.aggregate, self.depth.saturating_add(1))
    }
}

impl<M: Model, T: Arithmetic> Computed<M, T, PerRow> {
    /// The value as an `f64` (double precision on every backend).
    pub fn as_f64(self) -> Computed<M, f64, PerRow> {
        Computed::nested(cast_to(self.render, true), self.aggregate, self.depth.saturating_add(1))
    }
}

impl<M: Model, T: Integer> Column<M, T> {
    /// The column as an `i64`: see [`Computed::as_i64`].
    pub fn as_i64(self) -> Computed<M, i64, PerRow> {
        self.per_row().as_i64()
    }
}

impl<M: Model, T: Arithmetic> Column<M, T> {
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
        coalesce(column_term(self), fallback.term(), false)
    }
}

/// `COALESCE(value, fallback)`, as deep as its deeper part.
fn coalesce<M: Model, T: FieldType, K: crate::query::project::ComputedKind>(
    value: TermSql,
    fallback: TermSql,
    aggregate: bool,
) -> Computed<M, T, K> {
    let depth = Ord::max(value.depth, fallback.depth).saturating_add(1);
    let aggregate = aggregate || value.aggregate || fallback.aggregate;
    let (value, fallback) = (value.render, fallback.render);
    Computed::nested(move |dialect| Ok(sea_query::Func::coalesce([value(dialect)?, fallback(dialect)?]).into()), aggregate, depth)
}

impl<M: Model, T: FieldType> Computed<M, Option<T>, PerRow>
where
    Option<T>: FieldType,
{
    /// `COALESCE(value, fallback)`: the value, or `fallback` where it is `NULL`.
    pub fn coalesce(self, fallback: impl Term<T>) -> Computed<M, T, PerRow> {
        let aggregate = self.aggregate;
        coalesce(computed_term(self), fallback.term(), aggregate)
    }
}

impl<M: Model, T: FieldType> Computed<M, Option<T>, Aggregate>
where
    Option<T>: FieldType,
{
    /// `COALESCE(aggregate, fallback)`: the aggregate, or `fallback` over no rows
    /// (`s.units.sum().coalesce(0)`). The fallback is a value: a column there would be read
    /// from an arbitrary row of the group.
    pub fn coalesce(self, fallback: T) -> Computed<M, T, Aggregate> {
        let value = TermSql { render: self.render, depth: self.depth, aggregate: true };
        coalesce(value, value_term::<T>(fallback.into_value()), true)
    }
}

impl<M: Model> Condition<M> {
    /// `CASE WHEN condition THEN yes ELSE no END`: `yes` where the condition holds, else `no`
    /// (also where it is unknown, on NULLs).
    /// A condition on an aggregate (`s.units.sum().gt(10)`) makes the value one per group.
    pub fn then_else<T: FieldType>(self, yes: impl Term<T>, no: impl Term<T>) -> Computed<M, T, PerRow> {
        let (yes, no) = (yes.term(), no.term());
        let aggregate = self.has_aggregate() || yes.aggregate || no.aggregate;
        let depth = Ord::max(Ord::max(self.depth(), yes.depth), no.depth).saturating_add(1);
        let (condition, error) = self.into_parts();
        let (yes, no) = (yes.render, no.render);
        Computed::nested(
            move |dialect| {
                if let Some(invalid) = &error {
                    return Err(invalid.clone().into());
                }
                Ok(Expr::case(condition.resolve(dialect)?, yes(dialect)?).finally(no(dialect)?).into())
            },
            aggregate,
            depth,
        )
    }
}

/// Hands each leaf of `expr` (a column, a value, a list of values, a constant, a keyword, a
/// type name, SQL text) to `leaf`, in the order sea-query writes them; `false`, part way, at
/// what is not walked here: a subquery, a `CASE`, SQL text with expressions of its own (it may
/// number its placeholders in any order), a function with a filter, and `x IN ()`, which
/// sea-query writes as `1 = 2` with values of its own and without `x`.
pub(crate) fn visit_leaves(expr: &Expr, leaf: &mut impl FnMut(&Expr)) -> bool {
    match expr {
        Expr::Column(_) | Expr::Value(_) | Expr::Values(_) | Expr::Constant(_) | Expr::Keyword(_) | Expr::TypeName(_) | Expr::Custom(_) => {
            leaf(expr);
            true
        }
        Expr::Tuple(items) => items.iter().all(|item| visit_leaves(item, leaf)),
        Expr::Unary(_, inner) | Expr::AsEnum(_, inner) => visit_leaves(inner, leaf),
        Expr::Binary(_, sea_query::BinOper::In | sea_query::BinOper::NotIn, right) if matches!(right.as_ref(), Expr::Tuple(items) if items.is_empty()) => {
            false
        }
        Expr::Binary(left, _, right) => visit_leaves(left, leaf) && visit_leaves(right, leaf),
        Expr::FunctionCall(call) => call.get_filter().is_none() && call.get_args().iter().all(|arg| visit_leaves(arg, leaf)),
        // (And kinds sea-query may add later.)
        _ => false,
    }
}

/// The database's current time, in UTC, for a timestamp column: `c.seen_at.to(now())` (see
/// [`Column::to`]). Written per dialect so that the stored value reads back like one duo-orm
/// binds: `statement_timestamp()` (PostgreSQL), `UTC_TIMESTAMP(6)` (MySQL), `strftime(…, 'now')`
/// in the text form sqlx writes (SQLite, milliseconds), `SYSUTCDATETIME()` (SQL Server),
/// `SYS_EXTRACT_UTC(SYSTIMESTAMP)` (Oracle). Unlike a `set_on(update)` stamp, it is the
/// database's clock, read when the row is written. For `DateTime<Utc>` and `NaiveDateTime`
/// columns (feature `chrono`), optional or not; the guide's "Bulk operations" has an example.
pub fn now() -> Now {
    Now
}

/// The database's current time: [`now()`].
#[derive(Debug, Clone, Copy)]
pub struct Now;

impl Now {
    /// The SQL of the current UTC time in `dialect`, as a zoned timestamp or a naive one.
    fn sql(dialect: Dialect, zoned: bool) -> &'static str {
        match (dialect, zoned) {
            // `CURRENT_TIMESTAMP` would be the transaction's start, not the statement's.
            (Dialect::Postgres, true) => "statement_timestamp()",
            (Dialect::Postgres, false) => "(statement_timestamp() AT TIME ZONE 'UTC')",
            (Dialect::MySql, _) => "UTC_TIMESTAMP(6)",
            // sqlx writes no fraction for a whole second: neither does this, so equal times
            // are equal text.
            (Dialect::Sqlite, true) => "replace(strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), '.000+', '+')",
            (Dialect::Sqlite, false) => "replace(strftime('%Y-%m-%d %H:%M:%f', 'now'), '.000', '')",
            (Dialect::MsSql, true) => "TODATETIMEOFFSET(SYSUTCDATETIME(), 0)",
            (Dialect::MsSql, false) => "SYSUTCDATETIME()",
            (Dialect::Oracle, true) => "(SYSTIMESTAMP AT TIME ZONE 'UTC')",
            (Dialect::Oracle, false) => "SYS_EXTRACT_UTC(SYSTIMESTAMP)",
        }
    }

    /// Whether `sql` is the text of [`now()`] in some dialect (SQL text that reads no column).
    pub(crate) fn is_now(sql: &str) -> bool {
        Dialect::ALL.iter().any(|dialect| [true, false].iter().any(|zoned| Now::sql(*dialect, *zoned) == sql))
    }

    #[cfg(feature = "chrono")]
    fn computed<M: Model, T: FieldType>(zoned: bool) -> Computed<M, T, PerRow> {
        Computed::new(move |dialect| Ok(Expr::cust(Now::sql(dialect, zoned))))
    }
}

#[cfg(feature = "chrono")]
mod now_columns {
    use chrono::{DateTime, NaiveDateTime, Utc};

    use super::{Computed, Now, PerRow};
    use crate::model::Model;
    use crate::query::bulk::AssignedValue;

    impl<M: Model> AssignedValue<M, DateTime<Utc>> for Now {
        fn computed(self) -> Computed<M, DateTime<Utc>, PerRow> {
            Now::computed(true)
        }
    }

    impl<M: Model> AssignedValue<M, Option<DateTime<Utc>>> for Now {
        fn computed(self) -> Computed<M, Option<DateTime<Utc>>, PerRow> {
            Now::computed(true)
        }
    }

    impl<M: Model> AssignedValue<M, NaiveDateTime> for Now {
        fn computed(self) -> Computed<M, NaiveDateTime, PerRow> {
            Now::computed(false)
        }
    }

    impl<M: Model> AssignedValue<M, Option<NaiveDateTime>> for Now {
        fn computed(self) -> Computed<M, Option<NaiveDateTime>, PerRow> {
            Now::computed(false)
        }
    }
}
