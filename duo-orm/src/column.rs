//! Typed column handles and the conditions and orderings built from them.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};
use std::sync::Arc;

use sea_query::{Expr, ExprTrait, Func, LikeExpr, Value};

use crate::config::Dialect;
use crate::model::Model;
use crate::types::{IntoColumnValue, TextType};

/// A column of model `M` holding Rust type `T`. Comparisons take a `T` (or a value that reads
/// as one, like `&str` for `String`), so a value of the wrong type does not compile.
pub struct Column<M, T> {
    name: &'static str,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Column<M, T> {}

impl<M, T> std::fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Column({})", self.name)
    }
}

/// The escape character of generated LIKE patterns: not `\`, which MySQL string literals
/// would eat.
const LIKE_ESCAPE: char = '!';

/// Escapes LIKE wildcards (`%`, `_`, and SQL Server's `[`) so the value matches literally.
pub fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '[' | LIKE_ESCAPE) {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

impl<M: Model, T> Column<M, T> {
    #[doc(hidden)]
    pub const fn new(name: &'static str) -> Self {
        Column { name, _marker: PhantomData }
    }

    /// The column name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The column as a sea-query expression, qualified by its table (`"users"."name"`).
    pub fn expr(&self) -> Expr {
        Expr::col((M::meta().table, self.name))
    }

    fn cond(expr: Expr) -> Condition<M> {
        Condition::from_expr(expr)
    }

    /// `column = value`; `None` on an optional column means `IS NULL`.
    pub fn eq(self, value: impl IntoColumnValue<T>) -> Condition<M> {
        let value = value.into_column_value();
        if is_null(&value) { Self::cond(self.expr().is_null()) } else { Self::cond(self.expr().eq(value)) }
    }

    /// `column <> value`; `None` on an optional column means `IS NOT NULL`.
    pub fn ne(self, value: impl IntoColumnValue<T>) -> Condition<M> {
        let value = value.into_column_value();
        if is_null(&value) { Self::cond(self.expr().is_not_null()) } else { Self::cond(self.expr().ne(value)) }
    }

    /// `column > value`.
    pub fn gt(self, value: impl IntoColumnValue<T>) -> Condition<M> {
        Self::cond(self.expr().gt(value.into_column_value()))
    }

    /// `column >= value`.
    pub fn ge(self, value: impl IntoColumnValue<T>) -> Condition<M> {
        Self::cond(self.expr().gte(value.into_column_value()))
    }

    /// `column < value`.
    pub fn lt(self, value: impl IntoColumnValue<T>) -> Condition<M> {
        Self::cond(self.expr().lt(value.into_column_value()))
    }

    /// `column <= value`.
    pub fn le(self, value: impl IntoColumnValue<T>) -> Condition<M> {
        Self::cond(self.expr().lte(value.into_column_value()))
    }

    /// `column BETWEEN low AND high` (inclusive).
    pub fn between(self, low: impl IntoColumnValue<T>, high: impl IntoColumnValue<T>) -> Condition<M> {
        Self::cond(self.expr().between(low.into_column_value(), high.into_column_value()))
    }

    /// `column IN (…)`. An empty list matches no row.
    pub fn is_in<V: IntoColumnValue<T>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        let values: Vec<Value> = values.into_iter().map(IntoColumnValue::into_column_value).collect();
        Self::cond(self.expr().is_in(values))
    }

    /// `column NOT IN (…)`. An empty list matches every row.
    pub fn not_in<V: IntoColumnValue<T>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        let values: Vec<Value> = values.into_iter().map(IntoColumnValue::into_column_value).collect();
        Self::cond(self.expr().is_not_in(values))
    }

    /// `column IS NULL`.
    pub fn is_null(self) -> Condition<M> {
        Self::cond(self.expr().is_null())
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(self) -> Condition<M> {
        Self::cond(self.expr().is_not_null())
    }

    /// Ascending order on this column.
    pub fn asc(self) -> OrderBy<M> {
        OrderBy::new(self.name, false)
    }

    /// Descending order on this column.
    pub fn desc(self) -> OrderBy<M> {
        OrderBy::new(self.name, true)
    }
}

/// Text-only operators: they exist only on `String` and `Option<String>` columns.
impl<M: Model, T: TextType> Column<M, T> {
    /// `column LIKE pattern`, with the pattern used as given (`%` and `_` are wildcards; `!`
    /// escapes them).
    pub fn like(self, pattern: impl Into<String>) -> Condition<M> {
        like(self.expr(), pattern.into())
    }

    /// Contains `value` (wildcards in `value` match literally).
    pub fn contains(self, value: &str) -> Condition<M> {
        like(self.expr(), format!("%{}%", escape_like(value)))
    }

    /// Starts with `value`.
    pub fn startswith(self, value: &str) -> Condition<M> {
        like(self.expr(), format!("{}%", escape_like(value)))
    }

    /// Ends with `value`.
    pub fn endswith(self, value: &str) -> Condition<M> {
        like(self.expr(), format!("%{}", escape_like(value)))
    }

    /// Contains `value`, ignoring case.
    pub fn icontains(self, value: &str) -> Condition<M> {
        ilike(self.expr(), format!("%{}%", escape_like(&value.to_lowercase())))
    }

    /// Starts with `value`, ignoring case.
    pub fn istartswith(self, value: &str) -> Condition<M> {
        ilike(self.expr(), format!("{}%", escape_like(&value.to_lowercase())))
    }

    /// Ends with `value`, ignoring case.
    pub fn iendswith(self, value: &str) -> Condition<M> {
        ilike(self.expr(), format!("%{}", escape_like(&value.to_lowercase())))
    }
}

// The pattern is a bound parameter; only the escape character is written into the SQL.
fn like<M>(column: Expr, pattern: String) -> Condition<M> {
    Condition::from_expr(column.like(LikeExpr::new(pattern).escape(LIKE_ESCAPE)))
}

// LOWER() of the column against a lower-cased pattern works in every dialect, whatever the
// column's collation.
fn ilike<M>(column: Expr, lowered_pattern: String) -> Condition<M> {
    Condition::from_expr(Expr::expr(Func::lower(column)).like(LikeExpr::new(lowered_pattern).escape(LIKE_ESCAPE)))
}

fn is_null(value: &Value) -> bool {
    *value == value.as_null()
}

/// A condition's SQL: the same in every dialect, or written per dialect when the query is
/// rendered (JSON paths and array operators, whose syntax differs between dialects).
#[derive(Clone)]
pub(crate) enum CondExpr {
    /// One expression for every dialect.
    Portable(Expr),
    /// Written for the dialect at hand; an error when that dialect cannot express it.
    PerDialect(Arc<dyn Fn(Dialect) -> crate::Result<Expr> + Send + Sync>),
}

impl std::fmt::Debug for CondExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CondExpr::Portable(expr) => expr.fmt(f),
            CondExpr::PerDialect(_) => f.write_str("<written per dialect>"),
        }
    }
}

impl CondExpr {
    /// The expression for `dialect`.
    pub(crate) fn resolve(&self, dialect: Dialect) -> crate::Result<Expr> {
        match self {
            CondExpr::Portable(expr) => Ok(expr.clone()),
            CondExpr::PerDialect(render) => render(dialect),
        }
    }

    /// `f` applied to the expression, whenever it is written.
    pub(crate) fn map(self, f: impl Fn(Expr) -> Expr + Send + Sync + 'static) -> CondExpr {
        match self {
            CondExpr::Portable(expr) => CondExpr::Portable(f(expr)),
            CondExpr::PerDialect(render) => CondExpr::PerDialect(Arc::new(move |dialect| render(dialect).map(&f))),
        }
    }

    /// Both expressions joined by `op`.
    pub(crate) fn combine(self, other: CondExpr, op: fn(Expr, Expr) -> Expr) -> CondExpr {
        match (self, other) {
            (CondExpr::Portable(a), CondExpr::Portable(b)) => CondExpr::Portable(op(a, b)),
            (a, b) => CondExpr::PerDialect(Arc::new(move |dialect| Ok(op(a.resolve(dialect)?, b.resolve(dialect)?)))),
        }
    }
}

/// Stands for a condition whose SQL depends on the dialect where none was given: a call to a
/// function no database has, so the statement fails (naming it) instead of answering wrongly.
pub(crate) fn needs_a_dialect() -> Expr {
    Expr::cust("duo_orm_condition_needs_a_dialect_use_into_expr_for() = 1")
}

/// A boolean condition on model `M`. Combine with `&`, `|` and `!`.
pub struct Condition<M> {
    expr: CondExpr,
    /// Why the condition cannot be written (an invalid relationship path): the query it joins
    /// fails with [`Error::InvalidQuery`](crate::Error::InvalidQuery).
    error: Option<String>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for Condition<M> {
    fn clone(&self) -> Self {
        Condition { expr: self.expr.clone(), error: self.error.clone(), _marker: PhantomData }
    }
}

impl<M> std::fmt::Debug for Condition<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Condition").field(&self.expr).finish()
    }
}

impl<M> Condition<M> {
    /// Wraps a hand-built sea-query expression (the escape hatch).
    pub fn from_expr(expr: Expr) -> Self {
        Condition { expr: CondExpr::Portable(expr), error: None, _marker: PhantomData }
    }

    /// A condition from its parts.
    pub(crate) fn from_cond_expr(expr: CondExpr) -> Self {
        Condition { expr, error: None, _marker: PhantomData }
    }

    /// A condition written per dialect when its query is rendered.
    pub(crate) fn per_dialect(render: impl Fn(Dialect) -> crate::Result<Expr> + Send + Sync + 'static) -> Self {
        Condition { expr: CondExpr::PerDialect(Arc::new(render)), error: None, _marker: PhantomData }
    }

    /// A condition that makes its query fail with `InvalidQuery` and `error`.
    pub(crate) fn invalid(error: String) -> Self {
        // Never `1 = 0`: negated, that would select every row through the escape hatch.
        Condition { expr: CondExpr::Portable(Expr::cust("duo_orm_invalid_condition_see_its_query_error() = 1")), error: Some(error), _marker: PhantomData }
    }

    /// This condition, failing with `error` when there is one.
    pub(crate) fn with_error(mut self, error: Option<String>) -> Self {
        self.error = self.error.or(error);
        self
    }

    /// The condition as a sea-query expression for `dialect`: `UnsupportedOperation` when the
    /// dialect cannot express it (a JSON or array operator), `InvalidQuery` when it cannot be
    /// written at all (an invalid relationship path).
    pub fn into_expr_for(self, dialect: Dialect) -> crate::Result<Expr> {
        if let Some(error) = self.error {
            return Err(crate::Error::InvalidQuery(error));
        }
        self.expr.resolve(dialect)
    }

    /// The underlying sea-query expression, for a condition written the same in every dialect.
    /// A condition that cannot be written (an invalid relationship path) calls a function no
    /// database has here, and
    /// one whose SQL depends on the dialect (JSON paths, arrays) calls a function no database
    /// has, so it fails when it runs: use [`into_expr_for`](Self::into_expr_for) for those.
    pub fn into_expr(self) -> Expr {
        match self.expr {
            CondExpr::Portable(expr) => expr,
            CondExpr::PerDialect(_) => needs_a_dialect(),
        }
    }

    /// The expression and why the condition is invalid, if it is.
    pub(crate) fn into_parts(self) -> (CondExpr, Option<String>) {
        (self.expr, self.error)
    }

    /// Both conditions.
    pub fn and(self, other: Condition<M>) -> Self {
        self.combine(other, ExprTrait::and)
    }

    /// Either condition.
    pub fn or(self, other: Condition<M>) -> Self {
        self.combine(other, ExprTrait::or)
    }

    fn combine(self, other: Condition<M>, op: fn(Expr, Expr) -> Expr) -> Self {
        Condition { expr: self.expr.combine(other.expr, op), error: self.error.or(other.error), _marker: PhantomData }
    }
}

impl<M> BitAnd for Condition<M> {
    type Output = Condition<M>;
    fn bitand(self, rhs: Self) -> Self {
        self.and(rhs)
    }
}

impl<M> BitOr for Condition<M> {
    type Output = Condition<M>;
    fn bitor(self, rhs: Self) -> Self {
        self.or(rhs)
    }
}

impl<M> Not for Condition<M> {
    type Output = Condition<M>;
    fn not(self) -> Self {
        Condition { expr: self.expr.map(ExprTrait::not), error: self.error, _marker: PhantomData }
    }
}

/// One `ORDER BY` term of model `M`.
pub struct OrderBy<M> {
    /// The column ordered by (empty when ordering by an expression).
    pub(crate) column: &'static str,
    pub(crate) descending: bool,
    /// An expression ordered by instead of a column (a related-row count), or why it could
    /// not be written.
    pub(crate) expr: Option<Result<Expr, String>>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for OrderBy<M> {
    fn clone(&self) -> Self {
        OrderBy { column: self.column, descending: self.descending, expr: self.expr.clone(), _marker: PhantomData }
    }
}

impl<M> OrderBy<M> {
    pub(crate) fn new(column: &'static str, descending: bool) -> Self {
        OrderBy { column, descending, expr: None, _marker: PhantomData }
    }

    pub(crate) fn by_expr(expr: Result<Expr, String>, descending: bool) -> Self {
        OrderBy { column: "", descending, expr: Some(expr), _marker: PhantomData }
    }
}

impl<M> std::fmt::Debug for OrderBy<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.descending { "-" } else { "" };
        match &self.expr {
            Some(expr) => write!(f, "{sign}{expr:?}"),
            None => write!(f, "{sign}{}", self.column),
        }
    }
}

impl<M: Model> OrderBy<M> {
    /// Parses `"field"` (ascending) or `"-field"` (descending), checked against `M`'s fields
    /// (or column names).
    pub fn parse(spec: &str) -> crate::Result<Self> {
        let (descending, name) = match spec.trim().strip_prefix('-') {
            Some(rest) => (true, rest.trim()),
            None => (false, spec.trim().trim_start_matches('+')),
        };
        let meta = M::meta();
        let column = meta
            .columns
            .iter()
            .find(|c| c.field == name || c.name == name)
            .ok_or_else(|| {
                crate::Error::invalid(format!(
                    "cannot order {} by `{name}`: no such field; expected one of {}",
                    meta.name,
                    meta.field_names().join(", ")
                ))
            })?;
        Ok(OrderBy::new(column.name, descending))
    }
}

/// One or several order terms (an [`OrderBy`], a tuple of them, or a `Vec`).
pub trait OrderTerms<M> {
    /// The terms in order.
    fn terms(self) -> Vec<OrderBy<M>>;
}

impl<M> OrderTerms<M> for OrderBy<M> {
    fn terms(self) -> Vec<OrderBy<M>> {
        vec![self]
    }
}

impl<M> OrderTerms<M> for Vec<OrderBy<M>> {
    fn terms(self) -> Vec<OrderBy<M>> {
        self
    }
}

impl<M> OrderTerms<M> for (OrderBy<M>, OrderBy<M>) {
    fn terms(self) -> Vec<OrderBy<M>> {
        vec![self.0, self.1]
    }
}

impl<M> OrderTerms<M> for (OrderBy<M>, OrderBy<M>, OrderBy<M>) {
    fn terms(self) -> Vec<OrderBy<M>> {
        vec![self.0, self.1, self.2]
    }
}
