//! JSON columns: typed documents ([`Json<T>`]) and path expressions on any JSON column
//! (`u.settings.at("flags").at("beta").is_true()`), written natively for each dialect when
//! the query is rendered.
//!
//! | | PostgreSQL | MySQL / MariaDB | SQLite | SQL Server | Oracle |
//! |---|---|---|---|---|---|
//! | navigate, `as_text` / `as_integer` / `as_float` / `as_bool` | `->`, `->>` | `JSON_EXTRACT` | `json_extract` | `JSON_VALUE` | `JSON_VALUE` |
//! | `is_null` (missing counts), `has_key` | ✓ | ✓ | ✓ | ✓ (`OPENJSON`) | ✓ (`JSON_EXISTS`) |
//! | `contains` a scalar (in an array) | `@>` | `JSON_CONTAINS` | `json_each` | `OPENJSON` | `JSON_EXISTS` |
//! | `contains` an object or array fragment | `@>` | `JSON_CONTAINS` | unsupported | unsupported | unsupported |
//! | `eq` / `ne` an object or array | `=` (jsonb) | `JSON_EXTRACT` text | `json_extract` text | unsupported | `JSON_EQUAL` |
//!
//! "unsupported" is [`Error::UnsupportedOperation`] naming the dialect and the operation,
//! raised when the query is rendered, never SQL that would answer wrongly.

use std::marker::PhantomData;

use sea_query::extension::postgres::PgExpr;
use sea_query::{Alias, Expr, ExprTrait, Func, Query, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::column::{Column, Condition};
use crate::config::Dialect;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::types::FieldType;

/// A column holding `T` as a JSON document, (de)serialized with serde:
/// `settings: Json<Settings>`. Path expressions work on it like on `serde_json::Value`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

fn decode_error(index: usize, error: serde_json::Error) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: index.to_string(), source: Box::new(error) }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> FieldType for Json<T> {
    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))))
    }
    fn null_value() -> Value {
        Value::Json(None)
    }
    fn from_json(json: serde_json::Value) -> std::result::Result<Value, String> {
        // Checked against `T` now, so a bad payload is a validation error, not a decode error later.
        serde_json::from_value::<T>(json.clone()).map_err(|e| format!("expected a JSON document of this shape: {e}"))?;
        Ok(Value::Json(Some(Box::new(json))))
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null)
    }
    #[cfg(feature = "sqlite")]
    fn decode_sqlite(row: &sqlx::sqlite::SqliteRow, index: usize) -> std::result::Result<Self, sqlx::Error> {
        let json = serde_json::Value::decode_sqlite(row, index)?;
        serde_json::from_value(json).map(Json).map_err(|e| decode_error(index, e))
    }
    #[cfg(feature = "postgres")]
    fn decode_postgres(row: &sqlx::postgres::PgRow, index: usize) -> std::result::Result<Self, sqlx::Error> {
        let json = serde_json::Value::decode_postgres(row, index)?;
        serde_json::from_value(json).map(Json).map_err(|e| decode_error(index, e))
    }
    #[cfg(feature = "mysql")]
    fn decode_mysql(row: &sqlx::mysql::MySqlRow, index: usize) -> std::result::Result<Self, sqlx::Error> {
        let json = serde_json::Value::decode_mysql(row, index)?;
        serde_json::from_value(json).map(Json).map_err(|e| decode_error(index, e))
    }
}

/// Marks the column types the JSON helpers (`at`, `has_key`, `contains`, …) accept.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON column",
    label = "JSON path helpers work on `serde_json::Value` and `Json<T>` columns only",
    note = "store the field as `serde_json::Value` or `duo_orm::Json<T>` to query inside it"
)]
pub trait JsonType {}
impl JsonType for serde_json::Value {}
impl JsonType for Option<serde_json::Value> {}
impl<T> JsonType for Json<T> {}
impl<T> JsonType for Option<Json<T>> {}

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKey {
    /// An object key.
    Key(String),
    /// An array index (from 0).
    Index(u32),
}

impl From<&str> for PathKey {
    fn from(key: &str) -> Self {
        PathKey::Key(key.to_string())
    }
}
impl From<String> for PathKey {
    fn from(key: String) -> Self {
        PathKey::Key(key)
    }
}
impl From<u32> for PathKey {
    fn from(index: u32) -> Self {
        PathKey::Index(index)
    }
}
impl From<u16> for PathKey {
    fn from(index: u16) -> Self {
        PathKey::Index(index.into())
    }
}
impl From<u8> for PathKey {
    fn from(index: u8) -> Self {
        PathKey::Index(index.into())
    }
}

impl<M: Model, T: JsonType> Column<M, T> {
    /// The document at `key` (an object key, or an array index): `u.settings.at("flags")`.
    pub fn at(self, key: impl Into<PathKey>) -> JsonPath<M> {
        self.json().at(key)
    }

    /// The whole document, for the path helpers: `u.tags.json().contains("orm")`.
    pub fn json(self) -> JsonPath<M> {
        JsonPath { table: M::meta().table, column: self.name(), path: Vec::new(), _marker: PhantomData }
    }

    /// Documents holding `key` at their top level.
    pub fn has_key(self, key: impl Into<String>) -> Condition<M> {
        self.json().has_key(key)
    }

    /// Documents containing `fragment` (see [`JsonPath::contains`]).
    pub fn contains_json(self, fragment: impl Serialize) -> Condition<M> {
        self.json().contains(fragment)
    }
}

/// A place inside a JSON column: navigate with [`at`](Self::at), then test or extract.
pub struct JsonPath<M> {
    table: &'static str,
    column: &'static str,
    path: Vec<PathKey>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for JsonPath<M> {
    fn clone(&self) -> Self {
        JsonPath { table: self.table, column: self.column, path: self.path.clone(), _marker: PhantomData }
    }
}

impl<M> std::fmt::Debug for JsonPath<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonPath({}.{} {})", self.table, self.column, path_text(&self.path))
    }
}

/// The scalar an extraction reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Text,
    Integer,
    Float,
}

/// A value a JSON path is compared with. Its type chooses the comparison: an integer
/// compares as an integer, a bool as a boolean, a string as text, an object or array as a
/// document.
pub trait JsonOperand {
    #[doc(hidden)]
    fn into_operand(self) -> Operand;
}

#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Null,
    Document(serde_json::Value),
}

macro_rules! operand {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl JsonOperand for $ty {
            fn into_operand(self) -> Operand {
                Operand::$variant(self.into())
            }
        }
    )*};
}
operand!(i64 => Int, i32 => Int, i16 => Int, u32 => Int, f64 => Float, f32 => Float, bool => Bool, String => Text, &str => Text);

impl JsonOperand for serde_json::Value {
    fn into_operand(self) -> Operand {
        match self {
            serde_json::Value::Null => Operand::Null,
            serde_json::Value::Bool(b) => Operand::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Operand::Int(i),
                None => Operand::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Operand::Text(s),
            document => Operand::Document(document),
        }
    }
}

impl<M: 'static> JsonPath<M> {
    /// One step further: an object key or an array index.
    pub fn at(mut self, key: impl Into<PathKey>) -> Self {
        self.path.push(key.into());
        self
    }

    /// The value here, as text.
    pub fn as_text(self) -> JsonScalar<M, String> {
        JsonScalar { path: self, scalar: Scalar::Text, _marker: PhantomData }
    }

    /// The value here, as an integer.
    pub fn as_integer(self) -> JsonScalar<M, i64> {
        JsonScalar { path: self, scalar: Scalar::Integer, _marker: PhantomData }
    }

    /// The value here, as a float.
    pub fn as_float(self) -> JsonScalar<M, f64> {
        JsonScalar { path: self, scalar: Scalar::Float, _marker: PhantomData }
    }

    /// The value here equals `value`, compared by its type (see [`JsonOperand`]); `NULL` /
    /// `Value::Null` means [`is_null`](Self::is_null).
    pub fn eq(self, value: impl JsonOperand) -> Condition<M> {
        self.compare(value.into_operand(), false)
    }

    /// The value here differs from `value` (a missing value differs from everything but null).
    pub fn ne(self, value: impl JsonOperand) -> Condition<M> {
        self.compare(value.into_operand(), true)
    }

    fn compare(self, operand: Operand, negate: bool) -> Condition<M> {
        let condition = match operand {
            Operand::Int(i) => self.as_integer().eq(i),
            Operand::Float(f) => self.as_float().eq(f),
            Operand::Text(s) => self.as_text().eq(s),
            Operand::Bool(b) => self.bool_is(b),
            Operand::Null => self.is_null(),
            Operand::Document(doc) => Condition::per_dialect(move |dialect| self.equals_document(dialect, &doc)),
        };
        if negate { !condition } else { condition }
    }

    /// The value here is JSON `true`.
    pub fn is_true(self) -> Condition<M> {
        self.bool_is(true)
    }

    /// The value here is JSON `false`.
    pub fn is_false(self) -> Condition<M> {
        self.bool_is(false)
    }

    /// Nothing here: the key is missing, or holds JSON `null` (or the column is NULL).
    pub fn is_null(self) -> Condition<M> {
        Condition::per_dialect(move |dialect| self.null_here(dialect))
    }

    /// Something here other than JSON `null`.
    pub fn is_not_null(self) -> Condition<M> {
        !self.is_null()
    }

    /// The object here has `key`.
    pub fn has_key(self, key: impl Into<String>) -> Condition<M> {
        let key = key.into();
        Condition::per_dialect(move |dialect| self.key_here(dialect, &key))
    }

    /// The document here contains `fragment`: an array holding a scalar
    /// (`tags.json().contains("orm")`) on every dialect; an object or array fragment
    /// (`{"flags": {"beta": true}}`) on PostgreSQL and MySQL/MariaDB.
    pub fn contains(self, fragment: impl Serialize) -> Condition<M> {
        match serde_json::to_value(fragment) {
            Ok(fragment) => Condition::per_dialect(move |dialect| self.contains_here(dialect, &fragment)),
            Err(e) => Condition::invalid(format!("the fragment given to contains() is not JSON: {e}")),
        }
    }

    fn bool_is(self, value: bool) -> Condition<M> {
        Condition::per_dialect(move |dialect| self.bool_here(dialect, value))
    }

    // ---- rendering -------------------------------------------------------------------

    fn column(&self) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(self.column)))
    }

    /// `$."flags"."beta"[0]`: the SQL/JSON path of the standard dialects.
    fn path_text(&self) -> String {
        path_text(&self.path)
    }

    /// The path as an SQL string literal (SQL Server and Oracle want a literal path).
    fn path_literal(&self, extra: Option<&str>) -> Expr {
        let mut path = self.path.clone();
        if let Some(key) = extra {
            path.push(PathKey::Key(key.to_string()));
        }
        Expr::cust(format!("'{}'", path_text(&path).replace('\'', "''")))
    }

    /// The path as a bound parameter.
    fn path_value(&self, extra: Option<&str>) -> Expr {
        let mut path = self.path.clone();
        if let Some(key) = extra {
            path.push(PathKey::Key(key.to_string()));
        }
        Expr::val(path_text(&path))
    }

    /// PostgreSQL: `col -> $1 -> $2` (jsonb), or `… ->> $n` (text) with `text`.
    fn pg_node(&self, text: bool) -> Expr {
        let mut expr = self.column();
        let last = self.path.len();
        if last == 0 && text {
            return Expr::cust_with_expr("$1 #>> '{}'", expr);
        }
        for (i, step) in self.path.iter().enumerate() {
            let key: Expr = match step {
                PathKey::Key(k) => Expr::val(k.clone()),
                PathKey::Index(n) => Expr::val(*n as i32),
            };
            expr = if text && i + 1 == last { expr.cast_json_field(key) } else { expr.get_json_field(key) };
        }
        expr
    }

    /// The scalar here, read as `scalar`.
    fn extract(&self, dialect: Dialect, scalar: Scalar) -> Result<Expr> {
        let cast = |expr: Expr, name: &str| -> Expr {
            match scalar {
                Scalar::Text => expr,
                _ => expr.cast_as(Alias::new(name)),
            }
        };
        Ok(match dialect {
            Dialect::Postgres => {
                let text = self.pg_node(true);
                match scalar {
                    Scalar::Text => text,
                    Scalar::Integer => text.cast_as(Alias::new("bigint")),
                    Scalar::Float => text.cast_as(Alias::new("double precision")),
                }
            }
            Dialect::MySql => {
                let text = Func::cust("JSON_UNQUOTE")
                    .arg(Func::cust("JSON_EXTRACT").arg(self.column()).arg(self.path_value(None)))
                    .into();
                match scalar {
                    Scalar::Integer => cast(text, "SIGNED"),
                    Scalar::Float => cast(text, "DOUBLE"),
                    Scalar::Text => text,
                }
            }
            Dialect::Sqlite => {
                let value: Expr = Func::cust("json_extract").arg(self.column()).arg(self.path_value(None)).into();
                match scalar {
                    Scalar::Text => value.cast_as(Alias::new("TEXT")),
                    Scalar::Integer => value.cast_as(Alias::new("INTEGER")),
                    Scalar::Float => value.cast_as(Alias::new("REAL")),
                }
            }
            Dialect::MsSql => {
                let value: Expr = Func::cust("JSON_VALUE").arg(self.column()).arg(self.path_literal(None)).into();
                match scalar {
                    Scalar::Text => value,
                    Scalar::Integer => value.cast_as(Alias::new("BIGINT")),
                    Scalar::Float => value.cast_as(Alias::new("FLOAT")),
                }
            }
            Dialect::Oracle => {
                let value: Expr = Func::cust("JSON_VALUE").arg(self.column()).arg(self.path_literal(None)).into();
                match scalar {
                    Scalar::Text => value,
                    Scalar::Integer => value.cast_as(Alias::new("NUMBER(19)")),
                    Scalar::Float => value.cast_as(Alias::new("BINARY_DOUBLE")),
                }
            }
        })
    }

    fn bool_here(&self, dialect: Dialect, value: bool) -> Result<Expr> {
        let word = if value { "true" } else { "false" };
        Ok(match dialect {
            Dialect::Postgres => self.pg_node(false).eq(Expr::cust(format!("'{word}'::jsonb"))),
            Dialect::Sqlite => Func::cust("json_type").arg(self.column()).arg(self.path_value(None)).eq(word),
            // JSON_VALUE / JSON_UNQUOTE write a JSON boolean as the text `true` / `false`;
            // a string "true" is excluded by its type where the dialect can tell.
            Dialect::MySql => {
                let node = Func::cust("JSON_EXTRACT").arg(self.column()).arg(self.path_value(None));
                Expr::expr(Func::cust("JSON_TYPE").arg(node.clone()))
                    .eq("BOOLEAN")
                    .and(Expr::expr(Func::cust("JSON_UNQUOTE").arg(node)).eq(word))
            }
            Dialect::MsSql | Dialect::Oracle => {
                // A JSON string "true" reads the same through JSON_VALUE: SQL Server and
                // Oracle check the type with a filter/condition on the path instead.
                let value = self.extract(dialect, Scalar::Text)?;
                let typed = self.boolean_type_check(dialect)?;
                typed.and(value.eq(word))
            }
        })
    }

    /// SQL Server: `ISJSON`-free type check through OPENJSON's `type` (3 = boolean); Oracle:
    /// `JSON_EXISTS` with a `boolean()` item method.
    fn boolean_type_check(&self, dialect: Dialect) -> Result<Expr> {
        let (parent, last) = match self.path.split_last() {
            Some((last, parent)) => (parent.to_vec(), last.clone()),
            None => return Err(Error::unsupported(dialect, "a boolean test on a whole JSON document")),
        };
        Ok(match dialect {
            Dialect::MsSql => {
                let key = match last {
                    PathKey::Key(k) => k,
                    PathKey::Index(n) => n.to_string(),
                };
                let parent = JsonPath::<M> { path: parent, ..self.clone() };
                let mut select = Query::select();
                select
                    .expr(Expr::val(1))
                    .from_function(Func::cust("OPENJSON").arg(self.column()).arg(parent.path_literal(None)), Alias::new("j"))
                    .and_where(Expr::col((Alias::new("j"), Alias::new("key"))).eq(key))
                    .and_where(Expr::col((Alias::new("j"), Alias::new("type"))).eq(3));
                Expr::exists(select)
            }
            _ => Expr::cust(format!(
                "JSON_EXISTS({}, '{}?(@.type() == \"boolean\")')",
                self.oracle_column(),
                self.path_text().replace('\'', "''")
            )),
        })
    }

    /// The quoted column for templates written as text (Oracle).
    fn oracle_column(&self) -> String {
        format!("\"{}\".\"{}\"", self.table.replace('"', "\"\""), self.column.replace('"', "\"\""))
    }

    fn null_here(&self, dialect: Dialect) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => {
                let node = self.pg_node(false);
                node.clone().is_null().or(node.eq(Expr::cust("'null'::jsonb")))
            }
            Dialect::MySql => {
                let node = Func::cust("JSON_EXTRACT").arg(self.column()).arg(self.path_value(None));
                Expr::expr(node.clone()).is_null().or(Expr::expr(Func::cust("JSON_TYPE").arg(node)).eq("NULL"))
            }
            Dialect::Sqlite => {
                let kind = Func::cust("json_type").arg(self.column()).arg(self.path_value(None));
                Expr::expr(kind.clone()).is_null().or(Expr::expr(kind).eq("null"))
            }
            Dialect::MsSql | Dialect::Oracle => {
                // JSON_VALUE is NULL for a missing key, a JSON null and an object or array;
                // JSON_QUERY is not NULL for an object or array.
                let value = Func::cust("JSON_VALUE").arg(self.column()).arg(self.path_literal(None));
                let query = Func::cust("JSON_QUERY").arg(self.column()).arg(self.path_literal(None));
                Expr::expr(value).is_null().and(Expr::expr(query).is_null())
            }
        })
    }

    fn key_here(&self, dialect: Dialect, key: &str) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => self.clone().at(key).pg_node(false).is_not_null(),
            Dialect::MySql => {
                Func::cust("JSON_CONTAINS_PATH").arg(self.column()).arg("one").arg(self.path_value(Some(key))).into()
            }
            Dialect::Sqlite => Expr::expr(Func::cust("json_type").arg(self.column()).arg(self.path_value(Some(key)))).is_not_null(),
            Dialect::MsSql => {
                let mut select = Query::select();
                select
                    .expr(Expr::val(1))
                    .from_function(Func::cust("OPENJSON").arg(self.column()).arg(self.path_literal(None)), Alias::new("j"))
                    .and_where(Expr::col((Alias::new("j"), Alias::new("key"))).eq(key));
                Expr::exists(select)
            }
            Dialect::Oracle => Expr::cust(format!(
                "JSON_EXISTS({}, '{}')",
                self.oracle_column(),
                path_text(&[self.path.clone(), vec![PathKey::Key(key.to_string())]].concat()).replace('\'', "''")
            )),
        })
    }

    fn contains_here(&self, dialect: Dialect, fragment: &serde_json::Value) -> Result<Expr> {
        let scalar = !matches!(fragment, serde_json::Value::Object(_) | serde_json::Value::Array(_));
        Ok(match dialect {
            Dialect::Postgres => self.pg_node(false).contains(Expr::val(fragment.clone())),
            Dialect::MySql => Func::cust("JSON_CONTAINS")
                .arg(self.column())
                .arg(Expr::val(fragment.to_string()))
                .arg(self.path_value(None))
                .into(),
            _ if !scalar => {
                return Err(Error::unsupported(
                    dialect,
                    "JSON contains() with an object or array fragment (it has no JSON containment); \
                     test the members one by one with at(..).eq(..)",
                ));
            }
            Dialect::Sqlite | Dialect::MsSql => {
                let (function, path) = if dialect == Dialect::Sqlite {
                    ("json_each", self.path_value(None))
                } else {
                    ("OPENJSON", self.path_literal(None))
                };
                let member = Expr::col((Alias::new("j"), Alias::new("value")));
                let mut select = Query::select();
                select.expr(Expr::val(1)).from_function(Func::cust(function).arg(self.column()).arg(path), Alias::new("j"));
                match fragment {
                    serde_json::Value::String(s) => select.and_where(member.eq(s.clone())),
                    serde_json::Value::Number(n) if dialect == Dialect::Sqlite => match n.as_i64() {
                        Some(i) => select.and_where(member.eq(i)),
                        None => select.and_where(member.eq(n.as_f64().unwrap_or(f64::NAN))),
                    },
                    // OPENJSON's value column is text.
                    other => select.and_where(member.eq(other.to_string())),
                };
                Expr::exists(select)
            }
            Dialect::Oracle => {
                // The member is a bound variable of the path filter (`PASSING :1 AS "v"`).
                let member: Value = match fragment {
                    serde_json::Value::String(s) => s.clone().into(),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => i.into(),
                        None => n.as_f64().unwrap_or(f64::NAN).into(),
                    },
                    other => other.to_string().into(),
                };
                Expr::cust_with_exprs(
                    format!(
                        "JSON_EXISTS({}, '{}[*]?(@ == $v)' PASSING :1 AS \"v\")",
                        self.oracle_column(),
                        self.path_text().replace('\'', "''")
                    ),
                    [Expr::val(member)],
                )
            }
        })
    }

    fn equals_document(&self, dialect: Dialect, document: &serde_json::Value) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => self.pg_node(false).eq(Expr::val(document.clone())),
            // Both sides go through the same function, so they are written the same way.
            Dialect::MySql => Expr::expr(Func::cust("JSON_EXTRACT").arg(self.column()).arg(self.path_value(None)))
                .eq(Func::cust("JSON_EXTRACT").arg(Expr::val(document.to_string())).arg("$")),
            Dialect::Sqlite => Expr::expr(Func::cust("json_extract").arg(self.column()).arg(self.path_value(None)))
                .eq(Func::cust("json_extract").arg(Expr::val(document.to_string())).arg("$")),
            Dialect::Oracle => Expr::cust_with_exprs(
                format!("JSON_EQUAL(JSON_QUERY({}, '{}'), :1)", self.oracle_column(), self.path_text().replace('\'', "''")),
                [Expr::val(document.to_string())],
            ),
            Dialect::MsSql => {
                return Err(Error::unsupported(
                    dialect,
                    "comparing a JSON object or array with eq/ne (SQL Server has no JSON equality); \
                     compare its members with at(..).eq(..)",
                ));
            }
        })
    }
}

/// `\"` and `\\` escaped inside a double-quoted path step or JSON string.
fn escape_path_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn path_text(path: &[PathKey]) -> String {
    let mut text = String::from("$");
    for step in path {
        match step {
            PathKey::Key(key) => {
                text.push_str(".\"");
                text.push_str(&escape_path_string(key));
                text.push('"');
            }
            PathKey::Index(n) => text.push_str(&format!("[{n}]")),
        }
    }
    text
}

/// A scalar read from a JSON path ([`JsonPath::as_integer`] and friends), to compare.
pub struct JsonScalar<M, T> {
    path: JsonPath<M>,
    scalar: Scalar,
    _marker: PhantomData<fn() -> T>,
}

impl<M: 'static, T: FieldType + Clone> JsonScalar<M, T> {
    fn compare(self, value: T, op: fn(Expr, Expr) -> Expr) -> Condition<M> {
        let value = value.into_value();
        Condition::per_dialect(move |dialect| Ok(op(self.path.extract(dialect, self.scalar)?, Expr::val(value.clone()))))
    }

    /// `value here = value`.
    pub fn eq(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.eq(b))
    }

    /// `value here <> value` (a missing value is neither equal nor different: use
    /// `is_null`).
    pub fn ne(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.ne(b))
    }

    /// `value here > value`.
    pub fn gt(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.gt(b))
    }

    /// `value here >= value`.
    pub fn ge(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.gte(b))
    }

    /// `value here < value`.
    pub fn lt(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.lt(b))
    }

    /// `value here <= value`.
    pub fn le(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.lte(b))
    }
}
