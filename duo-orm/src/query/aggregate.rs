//! Aggregates over a column (`count`, `count_distinct`, `sum`, `avg`, `min`, `max`), typed so
//! that one Rust type reads the result on every backend, and refused at compile time for a
//! column type they do not apply to (the `sum` of a `String`).
//!
//! Databases widen aggregates differently (`SUM` of an `integer` is a `bigint` on PostgreSQL
//! and a `DECIMAL` on MySQL; `AVG` is `numeric` on PostgreSQL and integer division on SQL
//! Server), so each result is cast where a dialect would return another type. A result that
//! SQLite cannot compute exactly (decimals, stored there as text) is refused with
//! `UnsupportedOperation` instead of an approximation.

use sea_query::{Expr, ExprTrait, Func};

use crate::column::Column;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::project::{Computed, PerRow};
use crate::types::FieldType;

/// How an aggregate of a column type is written, and the type it reads as.
fn cast(expr: impl Into<Expr>, sql_type: &'static str) -> Expr {
    expr.into().cast_as(sql_type)
}

/// Column types `min` and `max` apply to; [`Base`](Self::Base) is the type without its `Option`
/// (an empty set gives `None`).
#[diagnostic::on_unimplemented(
    message = "`min`/`max` do not apply to a `{Self}` column",
    note = "they apply to numbers, text, dates and times, and decimals"
)]
pub trait Ordered: FieldType {
    /// The column type without its `Option`.
    type Base: FieldType;
    /// Whether SQLite compares the stored values in their order (not decimals, stored as text).
    #[doc(hidden)]
    const SQLITE_ORDERS: bool = true;
}

/// Column types `sum` applies to, and what their sum reads as.
#[diagnostic::on_unimplemented(message = "`sum` does not apply to a `{Self}` column", note = "it applies to numbers and decimals")]
pub trait Summable: FieldType {
    /// The sum's type: `i64` for `i16`/`i32`, a `Decimal` for `i64` (whose sum can pass
    /// `i64::MAX`), `f64` for floats, a `Decimal` for decimals.
    type Sum: FieldType;
    /// `SUM(column)` as `Sum` in `dialect`.
    #[doc(hidden)]
    fn sum(column: Expr, dialect: Dialect) -> Result<Expr>;
}

/// Column types `avg` applies to, and what their average reads as.
#[diagnostic::on_unimplemented(message = "`avg` does not apply to a `{Self}` column", note = "it applies to numbers and decimals")]
pub trait Averageable: FieldType {
    /// The average's type: `f64` for integers and floats, a `Decimal` for decimals.
    type Avg: FieldType;
    /// `AVG(column)` as `Avg` in `dialect`.
    #[doc(hidden)]
    fn avg(column: Expr, dialect: Dialect) -> Result<Expr>;
}

macro_rules! ordered {
    ($($ty:ty),*) => {$(
        impl Ordered for $ty { type Base = $ty; }
        impl Ordered for Option<$ty> { type Base = $ty; }
    )*};
}

ordered!(i16, i32, i64, f32, f64, String);
#[cfg(feature = "chrono")]
ordered!(chrono::DateTime<chrono::Utc>, chrono::NaiveDateTime, chrono::NaiveDate, chrono::NaiveTime);
#[cfg(feature = "decimal")]
impl Ordered for rust_decimal::Decimal {
    type Base = rust_decimal::Decimal;
    const SQLITE_ORDERS: bool = false;
}
#[cfg(feature = "decimal")]
impl Ordered for Option<rust_decimal::Decimal> {
    type Base = rust_decimal::Decimal;
    const SQLITE_ORDERS: bool = false;
}

/// An `i64` sum of a narrower integer column.
fn widened_sum(column: Expr, dialect: Dialect) -> Result<Expr> {
    Ok(match dialect {
        // PostgreSQL's sum of `smallint`/`integer` is already a `bigint`; SQLite's an integer.
        Dialect::Postgres | Dialect::Sqlite => Func::sum(column).into(),
        Dialect::MySql => cast(Func::sum(column), "SIGNED"),
        // SQL Server sums in the column's type, and overflows there.
        Dialect::MsSql => Func::sum(cast(column, "BIGINT")).into(),
        Dialect::Oracle => cast(Func::sum(column), "NUMBER(19)"),
    })
}

/// An `f64` sum or average of a float or integer column, computed in double precision
/// everywhere: the column is made a double first (PostgreSQL and Oracle would add up a
/// single-precision column in single precision, MySQL average integers as a decimal rounded to
/// four places, SQL Server average integers as integers).
fn double(aggregate: fn(Expr) -> Expr, column: Expr, dialect: Dialect) -> Result<Expr> {
    Ok(aggregate(as_double(column, dialect)))
}

/// `value` in double precision (SQLite's numbers are already what it adds up).
pub(crate) fn as_double(value: Expr, dialect: Dialect) -> Expr {
    match dialect {
        Dialect::Postgres => cast(value, "DOUBLE PRECISION"),
        // (`CAST(… AS DOUBLE)` needs MySQL 8.0.17; adding a double literal works everywhere.)
        Dialect::MySql => value.add(Expr::cust("0E0")),
        Dialect::Sqlite => value,
        Dialect::MsSql => cast(value, "FLOAT"),
        Dialect::Oracle => cast(value, "BINARY_DOUBLE"),
    }
}

/// A decimal sum: exact where the database computes in decimals.
#[cfg(feature = "decimal")]
fn decimal_sum(column: Expr, dialect: Dialect) -> Result<Expr> {
    if dialect == Dialect::Sqlite {
        return Err(decimals_on_sqlite("sum"));
    }
    Ok(sum_of(column))
}

/// A decimal average, rounded to 10 places on every backend (each would keep its own number).
#[cfg(feature = "decimal")]
fn decimal_avg(column: Expr, dialect: Dialect) -> Result<Expr> {
    Ok(match dialect {
        Dialect::Sqlite => return Err(decimals_on_sqlite("avg")),
        Dialect::Postgres => cast(avg_of(column), "NUMERIC(38, 10)"),
        Dialect::Oracle => cast(avg_of(column), "NUMBER(38, 10)"),
        Dialect::MySql | Dialect::MsSql => cast(avg_of(column), "DECIMAL(38, 10)"),
    })
}

fn decimals_on_sqlite(what: &str) -> Error {
    Error::unsupported(
        Dialect::Sqlite,
        format!(
            "`{what}` of a decimal column: SQLite keeps decimals as text and would compute it in floating point; \
             help: read the rows and add them up in Rust, or use a database with decimals"
        ),
    )
}

fn sum_of(column: Expr) -> Expr {
    Func::sum(column).into()
}

fn avg_of(column: Expr) -> Expr {
    Func::avg(column).into()
}

macro_rules! numeric {
    ($ty:ty, sum: $sum:ty => $sum_fn:expr, avg: $avg:ty => $avg_fn:expr) => {
        numeric!(@one $ty, sum: $sum => $sum_fn, avg: $avg => $avg_fn);
        numeric!(@one Option<$ty>, sum: $sum => $sum_fn, avg: $avg => $avg_fn);
    };
    (@one $ty:ty, sum: $sum:ty => $sum_fn:expr, avg: $avg:ty => $avg_fn:expr) => {
        impl Summable for $ty {
            type Sum = $sum;
            fn sum(column: Expr, dialect: Dialect) -> Result<Expr> {
                $sum_fn(column, dialect)
            }
        }
        impl Averageable for $ty {
            type Avg = $avg;
            fn avg(column: Expr, dialect: Dialect) -> Result<Expr> {
                $avg_fn(column, dialect)
            }
        }
    };
}

numeric!(i16, sum: i64 => widened_sum, avg: f64 => |c, d| double(avg_of, c, d));
numeric!(i32, sum: i64 => widened_sum, avg: f64 => |c, d| double(avg_of, c, d));
numeric!(f32, sum: f64 => |c, d| double(sum_of, c, d), avg: f64 => |c, d| double(avg_of, c, d));
numeric!(f64, sum: f64 => |c, d| double(sum_of, c, d), avg: f64 => |c, d| double(avg_of, c, d));
#[cfg(feature = "decimal")]
numeric!(i64, sum: rust_decimal::Decimal => i64_sum, avg: f64 => |c, d| double(avg_of, c, d));
// Without decimals, an `i64` column still averages (its sum needs the `decimal` feature).
#[cfg(not(feature = "decimal"))]
impl Averageable for i64 {
    type Avg = f64;
    fn avg(column: Expr, dialect: Dialect) -> Result<Expr> {
        double(avg_of, column, dialect)
    }
}
#[cfg(not(feature = "decimal"))]
impl Averageable for Option<i64> {
    type Avg = f64;
    fn avg(column: Expr, dialect: Dialect) -> Result<Expr> {
        double(avg_of, column, dialect)
    }
}
#[cfg(feature = "decimal")]
numeric!(
    rust_decimal::Decimal,
    sum: rust_decimal::Decimal => decimal_sum,
    avg: rust_decimal::Decimal => decimal_avg
);

/// The sum of an `i64` column, as a decimal: it can pass `i64::MAX` (PostgreSQL and MySQL
/// widen it to a decimal themselves; SQLite fails on overflow, and its integer sum is read as
/// an exact decimal).
#[cfg(feature = "decimal")]
fn i64_sum(column: Expr, dialect: Dialect) -> Result<Expr> {
    Ok(match dialect {
        Dialect::Postgres | Dialect::MySql | Dialect::Oracle | Dialect::Sqlite => Func::sum(column).into(),
        Dialect::MsSql => Func::sum(cast(column, "DECIMAL(38, 0)")).into(),
    })
}

impl<M: Model, T: FieldType> Column<M, T> {
    /// `COUNT(column)`: the rows where the column is not `NULL`.
    pub fn count(self) -> Computed<M, i64> {
        Computed::new(move |dialect| Ok(count(M::meta().table, self.name(), false, dialect)))
    }

    /// `COUNT(DISTINCT column)`: the different non-`NULL` values.
    pub fn count_distinct(self) -> Computed<M, i64> {
        Computed::new(move |dialect| Ok(count(M::meta().table, self.name(), true, dialect)))
    }

    /// `SUM(column)`: `None` over no rows (or only `NULL`s). See [`Summable`] for its type.
    pub fn sum(self) -> Computed<M, Option<T::Sum>>
    where
        T: Summable,
    {
        self.per_row().sum()
    }

    /// `AVG(column)`: `None` over no rows. See [`Averageable`] for its type.
    pub fn avg(self) -> Computed<M, Option<T::Avg>>
    where
        T: Averageable,
    {
        self.per_row().avg()
    }

    /// `MIN(column)`: `None` over no rows.
    pub fn min(self) -> Computed<M, Option<T::Base>>
    where
        T: Ordered,
    {
        self.per_row().min()
    }

    /// `MAX(column)`: `None` over no rows.
    pub fn max(self) -> Computed<M, Option<T::Base>>
    where
        T: Ordered,
    {
        self.per_row().max()
    }
}

/// The aggregates of a value computed per row (`u.price.times(u.units).sum()`), as those of a
/// column. An aggregate of a value that holds one already (a `then_else` on an aggregate
/// condition) fails its query with `InvalidQuery`: no database nests them.
impl<M: Model, T: FieldType> Computed<M, T, PerRow> {
    fn aggregate_of<U: FieldType>(self, aggregate: impl Fn(Expr, Dialect) -> Result<Expr> + Send + Sync + 'static) -> Computed<M, U> {
        let (value, nested) = (self.render, self.aggregate);
        Computed::nested(
            move |dialect| {
                if nested {
                    return Err(Error::invalid(
                        crate::error::InvalidQueryKind::Argument,
                        "an aggregate of a value that holds an aggregate already",
                    ));
                }
                aggregate(value(dialect)?, dialect)
            },
            true,
            self.depth.saturating_add(1),
        )
    }

    /// `SUM(value)`: `None` over no rows (or only `NULL`s). See [`Summable`] for its type.
    pub fn sum(self) -> Computed<M, Option<T::Sum>>
    where
        T: Summable,
    {
        self.aggregate_of(T::sum)
    }

    /// `AVG(value)`: `None` over no rows. See [`Averageable`] for its type.
    pub fn avg(self) -> Computed<M, Option<T::Avg>>
    where
        T: Averageable,
    {
        self.aggregate_of(T::avg)
    }

    /// `MIN(value)`: `None` over no rows.
    pub fn min(self) -> Computed<M, Option<T::Base>>
    where
        T: Ordered,
    {
        self.aggregate_of(|value, dialect| ordered::<T>("min", Func::min(value).into(), dialect))
    }

    /// `MAX(value)`: `None` over no rows.
    pub fn max(self) -> Computed<M, Option<T::Base>>
    where
        T: Ordered,
    {
        self.aggregate_of(|value, dialect| ordered::<T>("max", Func::max(value).into(), dialect))
    }
}

fn ordered<T: Ordered>(what: &str, aggregate: Expr, dialect: Dialect) -> Result<Expr> {
    if dialect == Dialect::Sqlite && !T::SQLITE_ORDERS {
        return Err(decimals_on_sqlite(what));
    }
    Ok(aggregate)
}

/// `COUNT` as a 64-bit integer: SQL Server's `COUNT` is a 32-bit `int` (`COUNT_BIG` is not),
/// Oracle's a `NUMBER`.
fn count(table: &'static str, column: &'static str, distinct: bool, dialect: Dialect) -> Expr {
    let expr = Expr::col((table, column));
    match (dialect, distinct) {
        (Dialect::MsSql, false) => Func::cust("COUNT_BIG").arg(expr).into(),
        // (sea-query writes DISTINCT inside its own COUNT only; the names are quoted here.)
        (Dialect::MsSql, true) => {
            let q = |name: &str| dialect.quote_identifier(name);
            Expr::cust(format!("COUNT_BIG(DISTINCT {}.{})", q(table), q(column)))
        }
        (Dialect::Oracle, _) => cast(if distinct { Func::count_distinct(expr) } else { Func::count(expr) }, "NUMBER(19)"),
        (_, false) => Func::count(expr).into(),
        (_, true) => Func::count_distinct(expr).into(),
    }
}
