//! Typed column handles and the conditions and orderings built from them.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};
use std::sync::Arc;

use sea_query::{Expr, ExprTrait, Func, LikeExpr, Value};

use crate::dialect::Dialect;
use crate::error::{Invalid, InvalidQueryKind};
use crate::model::Model;
use crate::types::{FieldType, IntoColumnValue, TextType};

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

/// Comparisons: they take a `T` and bind it as the column's type.
impl<M: Model, T: FieldType> Column<M, T> {
    /// `value` as a parameter compared with this column (cast to a PostgreSQL enum type).
    #[inline]
    fn param(value: Value) -> Expr {
        crate::types::param(&T::SQL_TYPE, value)
    }

    /// `column <op> operand`, the operand bound as this column's type when it is a value.
    fn compare(self, operand: OperandSql, op: fn(Expr, Expr) -> Expr) -> Condition<M> {
        let column = self.expr();
        match operand.0 {
            OperandKind::Value(value) => Self::cond(op(column, Self::param(value))),
            OperandKind::Expr(expr) => Self::cond(op(column, expr)),
            OperandKind::Subquery(render, depth) => {
                Condition::around_subquery(move |dialect| Ok(op(column.clone(), render(dialect)?)), depth)
            }
        }
    }

    /// `column = value`; `None` on an optional column means `IS NULL`. The value may also be
    /// another column (`p.author_id.eq(u.id)`, which correlates a subquery with its outer
    /// query) or a one-column `select(..)` (a scalar subquery). Where one of those is NULL
    /// (a NULL column, an aggregate over no rows), the comparison is unknown and matches no
    /// row, as in SQL.
    pub fn eq(self, value: impl Operand<T>) -> Condition<M> {
        let operand = value.into_operand();
        if operand.is_null() { Self::cond(self.expr().is_null()) } else { self.compare(operand, |a, b| a.eq(b)) }
    }

    /// `column <> value`; `None` on an optional column means `IS NOT NULL`.
    pub fn ne(self, value: impl Operand<T>) -> Condition<M> {
        let operand = value.into_operand();
        if operand.is_null() { Self::cond(self.expr().is_not_null()) } else { self.compare(operand, |a, b| a.ne(b)) }
    }

    /// `column > value`.
    pub fn gt(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(value.into_operand(), |a, b| a.gt(b))
    }

    /// `column >= value`.
    pub fn ge(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(value.into_operand(), |a, b| a.gte(b))
    }

    /// `column < value`.
    pub fn lt(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(value.into_operand(), |a, b| a.lt(b))
    }

    /// `column <= value`.
    pub fn le(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(value.into_operand(), |a, b| a.lte(b))
    }

    /// `column BETWEEN low AND high` (inclusive).
    pub fn between(self, low: impl IntoColumnValue<T>, high: impl IntoColumnValue<T>) -> Condition<M> {
        Self::cond(self.expr().between(Self::param(low.into_column_value()), Self::param(high.into_column_value())))
    }

    /// `column IN (…)`: a list of values (an empty list matches no row), or a one-column
    /// `select(..)` (`x IN (SELECT ..)`).
    pub fn is_in(self, values: impl InList<T>) -> Condition<M> {
        self.in_list(values.into_list(), false)
    }

    /// `column NOT IN (…)`: a list of values (an empty list matches every row), or a one-column
    /// `select(..)`. As in SQL, a subquery that yields a NULL makes `NOT IN` match no row:
    /// filter NULLs out of it (`is_not_null`).
    pub fn not_in(self, values: impl InList<T>) -> Condition<M> {
        self.in_list(values.into_list(), true)
    }

    fn in_list(self, list: ListSql, negated: bool) -> Condition<M> {
        let column = self.expr();
        match list.0 {
            ListKind::Values(values) => {
                let values: Vec<Expr> = values.into_iter().map(Self::param).collect();
                Self::cond(if negated { column.is_not_in(values) } else { column.is_in(values) })
            }
            ListKind::Subquery(statement, depth) => Condition::around_subquery(
                move |dialect| {
                    let statement = statement(dialect)?;
                    Ok(if negated { column.clone().not_in_subquery(statement) } else { column.clone().in_subquery(statement) })
                },
                depth,
            ),
        }
    }
}

/// What a comparison (`eq`, `ne`, `gt`, `ge`, `lt`, `le`) compares a column of type `T` with: a
/// value that reads as `T` (`18`, `"ada"`, `None`), another column of the same type (one of
/// them may be optional), or a one-column `select(..)` reading it (a scalar subquery).
#[diagnostic::on_unimplemented(
    message = "a `{T}` column cannot be compared with `{Self}`",
    label = "not a `{T}`",
    note = "compare a column with a value of its type, a column of the same type, or a one-column `select(..)` of it"
)]
pub trait Operand<T> {
    /// The operand's SQL.
    #[doc(hidden)]
    fn into_operand(self) -> OperandSql;
}

/// An operand's SQL: a value to bind, an expression, or one written per dialect.
#[doc(hidden)]
pub struct OperandSql(OperandKind);

enum OperandKind {
    Value(Value),
    Expr(Expr),
    /// A subquery, and how deeply its conditions nest.
    Subquery(Render, u32),
}

impl OperandSql {
    pub(crate) fn subquery(render: impl Fn(Dialect) -> crate::Result<Expr> + Send + Sync + 'static, depth: u32) -> Self {
        OperandSql(OperandKind::Subquery(Arc::new(render), depth))
    }

    fn is_null(&self) -> bool {
        matches!(&self.0, OperandKind::Value(value) if is_null(value))
    }
}

// The values that read as a column's type: the impls of `IntoColumnValue`, one by one. One
// blanket impl over `IntoColumnValue` would overlap with the column and subquery operands
// below, since another crate could make those values of a type of its own. Written out rather
// than by a macro, so that a type error lists them plainly.

fn value_operand<T, V: IntoColumnValue<T>>(value: V) -> OperandSql {
    OperandSql(OperandKind::Value(value.into_column_value()))
}

impl<T: FieldType> Operand<T> for T {
    fn into_operand(self) -> OperandSql {
        value_operand::<T, T>(self)
    }
}

impl<T: FieldType> Operand<Option<T>> for T {
    fn into_operand(self) -> OperandSql {
        value_operand::<Option<T>, T>(self)
    }
}

impl Operand<String> for &str {
    fn into_operand(self) -> OperandSql {
        value_operand::<String, _>(self)
    }
}

impl Operand<String> for &String {
    fn into_operand(self) -> OperandSql {
        value_operand::<String, _>(self)
    }
}

impl Operand<Option<String>> for &str {
    fn into_operand(self) -> OperandSql {
        value_operand::<Option<String>, _>(self)
    }
}

impl Operand<Option<String>> for &String {
    fn into_operand(self) -> OperandSql {
        value_operand::<Option<String>, _>(self)
    }
}

/// Implements [`Operand`] for columns of `$other` compared with columns of `$column`.
macro_rules! column_operand {
    ($other:ty => $column:ty) => {
        impl<X: Model, T> Operand<$column> for Column<X, $other> {
            fn into_operand(self) -> OperandSql {
                OperandSql(OperandKind::Expr(self.expr()))
            }
        }
    };
}

column_operand!(T => T);
column_operand!(Option<T> => T);
column_operand!(T => Option<T>);

/// What `is_in` / `not_in` take for a column of type `T`: values that read as `T` (any
/// iterator of them), or a one-column `select(..)` reading `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of `{T}` values",
    label = "not a list of `{T}`",
    note = "`is_in` takes values of the column's type (an array, a `Vec`, any iterator) or a one-column `select(..)`"
)]
pub trait InList<T> {
    /// The list's SQL.
    #[doc(hidden)]
    fn into_list(self) -> ListSql;
}

/// A list's SQL: values to bind, or a subquery written per dialect.
#[doc(hidden)]
pub struct ListSql(ListKind);

type WrittenSubquery = Arc<dyn Fn(Dialect) -> crate::Result<sea_query::SelectStatement> + Send + Sync>;

enum ListKind {
    Values(Vec<Value>),
    /// A subquery, and how deeply its conditions nest.
    Subquery(WrittenSubquery, u32),
}

impl ListSql {
    pub(crate) fn subquery(statement: WrittenSubquery, depth: u32) -> Self {
        ListSql(ListKind::Subquery(statement, depth))
    }
}

impl<T, I, V> InList<T> for I
where
    I: IntoIterator<Item = V>,
    V: IntoColumnValue<T>,
{
    fn into_list(self) -> ListSql {
        ListSql(ListKind::Values(self.into_iter().map(IntoColumnValue::into_column_value).collect()))
    }
}

/// Text-only operators: they exist only on `String` and `Option<String>` columns.
///
/// `contains`, `startswith` and `endswith` are case- and accent-sensitive on every backend;
/// the `i` variants ignore case (see the querying guide for how each dialect folds letters
/// beyond ASCII). Wildcards in the value match literally.
impl<M: Model, T: TextType> Column<M, T> {
    /// `column LIKE pattern`, with the pattern used as given (`%` and `_` are wildcards; `!`
    /// escapes them). Case-sensitivity follows the database (SQLite's LIKE and MySQL's
    /// default collations ignore case): prefer the helpers below.
    pub fn like(self, pattern: impl Into<String>) -> Condition<M> {
        let pattern = pattern.into();
        if pattern.contains('\0') {
            let column = self.expr();
            return text_with_nul(pattern, TextUse::Pattern, move |_, pattern| Ok(like_expr(column.clone(), pattern)));
        }
        Condition::from_expr(like_expr(self.expr(), pattern))
    }

    /// Contains `value`, with the same case and accents.
    pub fn contains(self, value: &str) -> Condition<M> {
        self.matching(Match::Contains, value)
    }

    /// Starts with `value`, with the same case and accents.
    pub fn startswith(self, value: &str) -> Condition<M> {
        self.matching(Match::Prefix, value)
    }

    /// Ends with `value`, with the same case and accents.
    pub fn endswith(self, value: &str) -> Condition<M> {
        self.matching(Match::Suffix, value)
    }

    /// Contains `value`, ignoring case.
    pub fn icontains(self, value: &str) -> Condition<M> {
        self.matching_folded(Match::Contains, value)
    }

    /// Starts with `value`, ignoring case.
    pub fn istartswith(self, value: &str) -> Condition<M> {
        self.matching_folded(Match::Prefix, value)
    }

    /// Ends with `value`, ignoring case.
    pub fn iendswith(self, value: &str) -> Condition<M> {
        self.matching_folded(Match::Suffix, value)
    }

    /// `column = value`, character for character on every backend: where a column's
    /// collation ignores case, accents or trailing spaces (MySQL/MariaDB and SQL Server
    /// defaults), [`eq`](Column::eq) follows it, and this does not. An index on the column
    /// still narrows the search.
    pub fn eq_exact(self, value: &str) -> Condition<M> {
        let value = value.to_string();
        let (column, table, name) = (self.expr(), M::meta().table, self.name);
        let render = move |dialect: Dialect, value: String| {
            let column = column.clone();
            Ok(match dialect {
                Dialect::MySql | Dialect::MsSql => column.clone().eq(value.clone()).and(byte_for_byte(dialect, table, name).eq(value)),
                _ => column.eq(value),
            })
        };
        text_condition(value, TextUse::Value, render)
    }

    /// The case-sensitive match, per dialect: LIKE where it already compares case
    /// (PostgreSQL, Oracle), GLOB on SQLite (whose LIKE folds ASCII), and on MySQL and SQL
    /// Server a LIKE in the column's collation (which an index can serve) ANDed with the same
    /// LIKE compared byte for byte.
    fn matching(self, shape: Match, value: &str) -> Condition<M> {
        let value = value.to_string();
        let (column, table, name) = (self.expr(), M::meta().table, self.name);
        text_condition(value, TextUse::Pattern, move |dialect, value| {
            let column = column.clone();
            Ok(match dialect {
                Dialect::Sqlite => sea_query::extension::sqlite::SqliteExpr::glob(column, shape.pattern(&escape_glob(&value), '*')),
                Dialect::MySql | Dialect::MsSql => {
                    let pattern = shape.pattern(&escape_like(&value), '%');
                    like_expr(column, pattern.clone()).and(like_expr(byte_for_byte(dialect, table, name), pattern))
                }
                _ => like_expr(column, shape.pattern(&escape_like(&value), '%')),
            })
        })
    }

    /// The case-insensitive match: `LOWER(column) LIKE lower(pattern)`, except on SQLite,
    /// whose LIKE already ignores ASCII case and whose LOWER folds nothing else: the pattern
    /// is folded the same way there, so a value always matches itself.
    fn matching_folded(self, shape: Match, value: &str) -> Condition<M> {
        let value = value.to_string();
        let column = self.expr();
        text_condition(value, TextUse::Pattern, move |dialect, value| {
            Ok(match dialect {
                Dialect::Sqlite => like_expr(column.clone(), shape.pattern(&escape_like(&value.to_ascii_lowercase()), '%')),
                _ => like_expr(Expr::expr(Func::lower(column.clone())), shape.pattern(&escape_like(&value.to_lowercase()), '%')),
            })
        })
    }
}

/// `table.column` compared byte for byte, whatever its collation: `CAST(col AS BINARY)` on MySQL,
/// `col COLLATE Latin1_General_100_BIN2` on SQL Server (the column side, so that LIKE's
/// pattern and ESCAPE stay as sea-query writes them).
fn byte_for_byte(dialect: Dialect, table: &'static str, column: &'static str) -> Expr {
    match dialect {
        Dialect::MsSql => {
            Expr::cust(format!("{}.{} COLLATE Latin1_General_100_BIN2", dialect.quote_identifier(table), dialect.quote_identifier(column)))
        }
        // `CAST(… AS BINARY)`, not the `BINARY` operator MySQL 8.0.27 deprecates.
        _ => Expr::cust(format!("CAST({}.{} AS BINARY)", dialect.quote_identifier(table), dialect.quote_identifier(column))),
    }
}

/// Where a text helper's value must sit in its pattern.
#[derive(Clone, Copy)]
enum Match {
    Contains,
    Prefix,
    Suffix,
}

impl Match {
    fn pattern(self, escaped: &str, any: char) -> String {
        match self {
            Match::Contains => format!("{any}{escaped}{any}"),
            Match::Prefix => format!("{escaped}{any}"),
            Match::Suffix => format!("{any}{escaped}"),
        }
    }
}

/// Whether a text condition's value is a pattern (LIKE, GLOB) or a plain value (`=`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextUse {
    Pattern,
    Value,
}

/// A text condition written per dialect by `render`, refused where the dialect cannot hold
/// or match the value (a NUL character).
fn text_condition<M>(
    value: String,
    used_as: TextUse,
    render: impl Fn(Dialect, String) -> crate::Result<Expr> + Send + Sync + 'static,
) -> Condition<M> {
    if value.contains('\0') {
        return text_with_nul(value, used_as, render);
    }
    Condition::per_dialect(move |dialect| render(dialect, value.clone()))
}

/// A condition on text with a NUL character: PostgreSQL's text cannot hold one, and SQLite's
/// LIKE and GLOB stop reading a pattern at it (so `contains("\0")` would match every row);
/// SQLite's `=` compares it whole.
fn text_with_nul<M>(
    value: String,
    used_as: TextUse,
    render: impl Fn(Dialect, String) -> crate::Result<Expr> + Send + Sync + 'static,
) -> Condition<M> {
    Condition::per_dialect(move |dialect| match dialect {
        Dialect::Postgres => Err(crate::Error::unsupported(dialect, "text containing the NUL character (\\0)")),
        Dialect::Sqlite if used_as == TextUse::Pattern => {
            Err(crate::Error::unsupported(dialect, "a pattern containing the NUL character (\\0)"))
        }
        _ => render(dialect, value.clone()),
    })
}

/// Escapes GLOB's wildcards (`*`, `?`, `[`) so the value matches literally.
fn escape_glob(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

// The pattern is a bound parameter; only the escape character is written into the SQL.
fn like_expr(column: Expr, pattern: String) -> Expr {
    column.like(LikeExpr::new(pattern).escape(LIKE_ESCAPE))
}

fn is_null(value: &Value) -> bool {
    *value == value.as_null()
}

/// How deeply `&`, `|`, `!`, relationship filters, subqueries and computed values (arithmetic,
/// `coalesce`, `then_else`) may nest in one condition or value. Chains of one operator are
/// flattened as they are built, so this bounds only alternations such as `((a | b) & c) | d`;
/// it keeps rendering (and dropping) a condition built from request input far from the end of a
/// 2 MiB thread stack.
pub const MAX_CONDITION_DEPTH: u32 = 32;

/// Terms folded into a left-leaning chain (`a AND b AND c`, as sea-query writes it); longer
/// lists are split in halves first, so the expression sea-query renders (recursively) is
/// `log2(n)` levels deep rather than `n`.
const CHAIN: usize = 8;

pub(crate) type Render = Arc<dyn Fn(Dialect) -> crate::Result<Expr> + Send + Sync>;

/// A condition's SQL: the same in every dialect, or written per dialect when the query is
/// rendered (JSON paths and array operators, whose syntax differs between dialects), joined
/// into flat AND/OR lists and wrapped (NOT, subqueries) as it is built.
#[derive(Clone)]
pub(crate) enum CondExpr {
    /// One expression for every dialect.
    Portable(Expr),
    /// Written for the dialect at hand; an error when that dialect cannot express it. The
    /// depth counts the nesting it holds (subqueries, computed values; 0 when none), and the
    /// flag says whether it holds an aggregate (a `having` condition).
    PerDialect(Render, u32, bool),
    /// Terms joined by OR (`any`) or AND, flattened as they are combined. `depth`: the
    /// nesting below, counting this list.
    Terms { any: bool, terms: Vec<CondExpr>, depth: u32 },
    /// The inner condition negated, or handed to a function (a subquery around it) when
    /// written.
    Wrapped { inner: Box<CondExpr>, wrap: Wrap, depth: u32 },
}

#[derive(Clone)]
pub(crate) enum Wrap {
    Not,
    Map(Arc<dyn Fn(Expr) -> Expr + Send + Sync>),
}

impl std::fmt::Debug for CondExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CondExpr::Portable(expr) => expr.fmt(f),
            CondExpr::PerDialect(..) => f.write_str("<written per dialect>"),
            CondExpr::Terms { any, terms, .. } => {
                f.write_str(if *any { "Any" } else { "All" })?;
                f.debug_list().entries(terms).finish()
            }
            CondExpr::Wrapped { inner, wrap: Wrap::Not, .. } => f.debug_tuple("Not").field(inner).finish(),
            CondExpr::Wrapped { inner, wrap: Wrap::Map(_), .. } => f.debug_tuple("Wrapped").field(inner).finish(),
        }
    }
}

impl CondExpr {
    /// The expression for `dialect`.
    pub(crate) fn resolve(&self, dialect: Dialect) -> crate::Result<Expr> {
        self.write(&|render: &Render| render(dialect))
    }

    /// The expression, with `leaf` writing the parts that depend on the dialect.
    fn write(&self, leaf: &dyn Fn(&Render) -> crate::Result<Expr>) -> crate::Result<Expr> {
        match self {
            CondExpr::Portable(expr) => Ok(expr.clone()),
            CondExpr::PerDialect(render, ..) => leaf(render),
            CondExpr::Terms { any, terms, .. } => {
                let exprs = terms.iter().map(|term| term.write(leaf)).collect::<crate::Result<Vec<_>>>()?;
                Ok(fold_terms(exprs, *any))
            }
            CondExpr::Wrapped { inner, wrap, .. } => {
                let expr = inner.write(leaf)?;
                Ok(match wrap {
                    Wrap::Not => expr.not(),
                    Wrap::Map(f) => f(expr),
                })
            }
        }
    }

    /// Whether the condition compares an aggregate.
    pub(crate) fn has_aggregate(&self) -> bool {
        match self {
            CondExpr::Portable(_) => false,
            CondExpr::PerDialect(_, _, aggregate) => *aggregate,
            CondExpr::Terms { terms, .. } => terms.iter().any(CondExpr::has_aggregate),
            CondExpr::Wrapped { inner, .. } => inner.has_aggregate(),
        }
    }

    /// Whether the condition is written the same in every dialect.
    pub(crate) fn is_portable(&self) -> bool {
        match self {
            CondExpr::Portable(_) => true,
            CondExpr::PerDialect(..) => false,
            CondExpr::Terms { terms, .. } => terms.iter().all(CondExpr::is_portable),
            CondExpr::Wrapped { inner, .. } => inner.is_portable(),
        }
    }

    /// How deeply lists and wrappers nest in this condition (0 for a single expression).
    pub(crate) fn depth(&self) -> u32 {
        match self {
            CondExpr::Portable(_) => 0,
            CondExpr::PerDialect(_, depth, _) | CondExpr::Terms { depth, .. } | CondExpr::Wrapped { depth, .. } => *depth,
        }
    }

    /// `f` applied to the expression, whenever it is written.
    pub(crate) fn map(self, f: impl Fn(Expr) -> Expr + Send + Sync + 'static) -> CondExpr {
        let depth = self.depth() + 1;
        CondExpr::Wrapped { inner: Box::new(self), wrap: Wrap::Map(Arc::new(f)), depth }
    }

    /// The negation (a double negation cancels out, so `!` repeated stays shallow).
    pub(crate) fn negate(self) -> CondExpr {
        match self {
            CondExpr::Wrapped { inner, wrap: Wrap::Not, .. } => *inner,
            other => {
                let depth = other.depth() + 1;
                CondExpr::Wrapped { inner: Box::new(other), wrap: Wrap::Not, depth }
            }
        }
    }

    /// Both conditions (`any`: either), as one flat list when either side already is one of
    /// the same operator.
    pub(crate) fn combine(self, other: CondExpr, any: bool) -> CondExpr {
        let mut terms = Vec::new();
        let mut depth = 1;
        for side in [self, other] {
            match side {
                CondExpr::Terms { any: side_any, terms: side_terms, depth: side_depth } if side_any == any => {
                    depth = Ord::max(depth, side_depth);
                    if terms.is_empty() {
                        terms = side_terms;
                    } else {
                        terms.extend(side_terms);
                    }
                }
                term => {
                    depth = Ord::max(depth, term.depth() + 1);
                    terms.push(term);
                }
            }
        }
        CondExpr::Terms { any, terms, depth }
    }
}

/// `exprs` joined by OR (`any`) or AND: a left-leaning chain of up to [`CHAIN`] terms, halves
/// joined above that. An empty list is never built.
fn fold_terms(mut exprs: Vec<Expr>, any: bool) -> Expr {
    let join = |a: Expr, b: Expr| if any { a.or(b) } else { a.and(b) };
    if exprs.len() > CHAIN {
        let right = exprs.split_off(exprs.len() / 2);
        return join(fold_terms(exprs, any), fold_terms(right, any));
    }
    let mut exprs = exprs.into_iter();
    let first = exprs.next().unwrap_or_else(|| Expr::val(!any));
    exprs.fold(first, join)
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
    error: Option<Invalid>,
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
        Condition::checked(expr, None)
    }

    /// A condition written per dialect when its query is rendered.
    pub(crate) fn per_dialect(render: impl Fn(Dialect) -> crate::Result<Expr> + Send + Sync + 'static) -> Self {
        Condition { expr: CondExpr::PerDialect(Arc::new(render), 0, false), error: None, _marker: PhantomData }
    }

    /// A condition written per dialect around subqueries whose own conditions nest `depth`
    /// levels: it counts towards [`MAX_CONDITION_DEPTH`] like any nesting.
    pub(crate) fn around_subquery(render: impl Fn(Dialect) -> crate::Result<Expr> + Send + Sync + 'static, depth: u32) -> Self {
        Condition::nested(render, depth, false)
    }

    /// A condition written per dialect around a part nesting `depth` levels, which holds an
    /// aggregate when `aggregate` says so.
    pub(crate) fn nested(render: impl Fn(Dialect) -> crate::Result<Expr> + Send + Sync + 'static, depth: u32, aggregate: bool) -> Self {
        Condition::checked(CondExpr::PerDialect(Arc::new(render), depth.saturating_add(1), aggregate), None)
    }

    /// Whether the condition compares an aggregate (it belongs in `having`, and makes a value
    /// it chooses one per group).
    pub(crate) fn has_aggregate(&self) -> bool {
        self.expr.has_aggregate()
    }

    /// How deeply the condition nests.
    pub(crate) fn depth(&self) -> u32 {
        self.expr.depth()
    }

    /// A condition that makes its query fail with `InvalidQuery` and `error`.
    pub(crate) fn invalid(error: Invalid) -> Self {
        // Never `1 = 0`: negated, that would select every row through the escape hatch.
        Condition {
            expr: CondExpr::Portable(Expr::cust("duo_orm_invalid_condition_see_its_query_error() = 1")),
            error: Some(error),
            _marker: PhantomData,
        }
    }

    /// This condition, failing with `error` when there is one.
    pub(crate) fn with_error(mut self, error: Option<Invalid>) -> Self {
        self.error = self.error.or(error);
        self
    }

    /// The condition as a sea-query expression for `dialect`: `UnsupportedOperation` when the
    /// dialect cannot express it (a JSON or array operator), `InvalidQuery` when it cannot be
    /// written at all (an invalid relationship path).
    pub fn into_expr_for(self, dialect: Dialect) -> crate::Result<Expr> {
        if let Some(error) = self.error {
            return Err(error.into());
        }
        self.expr.resolve(dialect)
    }

    /// The underlying sea-query expression, for a condition written the same in every dialect.
    /// A condition that cannot be written (an invalid relationship path) calls a function no
    /// database has here, and
    /// one whose SQL depends on the dialect (JSON paths, arrays) calls a function no database
    /// has, so it fails when it runs: use [`into_expr_for`](Self::into_expr_for) for those.
    pub fn into_expr(self) -> Expr {
        self.expr.write(&|_| Ok(needs_a_dialect())).unwrap_or_else(|_| needs_a_dialect())
    }

    /// The expression and why the condition is invalid, if it is.
    pub(crate) fn into_parts(self) -> (CondExpr, Option<Invalid>) {
        (self.expr, self.error)
    }

    /// The same condition, as one of another model's query (a joined query's models share
    /// its conditions).
    pub(crate) fn retype<N>(self) -> Condition<N> {
        Condition { expr: self.expr, error: self.error, _marker: PhantomData }
    }

    /// Both conditions.
    pub fn and(self, other: Condition<M>) -> Self {
        self.combine(other, false)
    }

    /// Either condition.
    pub fn or(self, other: Condition<M>) -> Self {
        self.combine(other, true)
    }

    fn combine(self, other: Condition<M>, any: bool) -> Self {
        let error = self.error.or(other.error);
        Condition::checked(self.expr.combine(other.expr, any), error)
    }

    /// A condition from `expr`, made invalid when it nests deeper than
    /// [`MAX_CONDITION_DEPTH`].
    pub(crate) fn checked(expr: CondExpr, error: Option<Invalid>) -> Self {
        if expr.depth() > MAX_CONDITION_DEPTH {
            return Condition::invalid(Invalid::new(
                InvalidQueryKind::OutOfRange,
                format!(
                    "the condition nests deeper than {MAX_CONDITION_DEPTH} levels of `&`, `|`, `!`, relationship filters, \
                     subqueries and computed values; help: flatten it (chains of one operator do not count)"
                ),
            ));
        }
        Condition { expr, error, _marker: PhantomData }
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
        Condition::checked(self.expr.negate(), self.error)
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
        let column = meta.columns.iter().find(|c| c.field == name || c.name == name).ok_or_else(|| {
            crate::Error::invalid(
                InvalidQueryKind::UnknownName,
                format!("cannot order {} by `{name}`: no such field; expected one of {}", meta.name, meta.field_names().join(", ")),
            )
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
