//! JSON columns: typed documents ([`Json<T>`]) and path expressions on any JSON column
//! (`u.settings.at("flags").at("beta").is_true()`), written natively for each dialect when
//! the query is rendered.
//!
//! | | PostgreSQL | MySQL / MariaDB | SQLite | SQL Server | Oracle |
//! |---|---|---|---|---|---|
//! | navigate, `as_text` / `as_integer` / `as_float` / `as_bool` | `->`, `->>`, `jsonb_typeof` | `JSON_EXTRACT`, `JSON_TYPE` | `json_extract`, `json_type` | `JSON_VALUE`, `OPENJSON` | `JSON_VALUE`, `JSON_EXISTS` |
//! | `is_null` (missing counts), `has_key` | ✓ | ✓ | ✓ | ✓ (`OPENJSON`) | ✓ (`JSON_EXISTS`) |
//! | `contains` a scalar (in an array) | `@>` | `JSON_CONTAINS` | `json_each` | `OPENJSON` | `JSON_EXISTS` |
//! | `contains` an object or array fragment | `@>` | `JSON_CONTAINS` | unsupported | unsupported | unsupported |
//! | `eq` / `ne` an object or array | `=` (jsonb) | `JSON_EXTRACT` | `json_extract` text | unsupported | `JSON_EQUAL` |
//!
//! "unsupported" is [`Error::UnsupportedOperation`] naming the dialect and the operation,
//! raised when the query is rendered, never SQL that would answer wrongly.

use std::marker::PhantomData;

use sea_query::extension::postgres::PgExpr;
use sea_query::{Alias, Expr, ExprTrait, Func, Query, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::column::{Column, Condition};
use crate::dialect::Dialect;
use crate::error::{Error, Invalid, InvalidQueryKind, Result};
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

/// What [`JsonPath::at`] accepts: a string (an object key) or an integer (an array index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a JSON path step",
    label = "a path step is a string (an object key) or an integer (an array index)"
)]
pub trait IntoPathKey {
    #[doc(hidden)]
    fn into_path_key(self) -> std::result::Result<PathKey, String>;
}

impl IntoPathKey for &str {
    fn into_path_key(self) -> std::result::Result<PathKey, String> {
        Ok(PathKey::Key(self.to_string()))
    }
}
impl IntoPathKey for String {
    fn into_path_key(self) -> std::result::Result<PathKey, String> {
        Ok(PathKey::Key(self))
    }
}
macro_rules! index_key {
    ($($ty:ty),*) => {$(
        impl IntoPathKey for $ty {
            fn into_path_key(self) -> std::result::Result<PathKey, String> {
                // Up to i32::MAX: PostgreSQL reads a larger bound index as a negative one.
                i32::try_from(self)
                    .ok()
                    .filter(|n| *n >= 0)
                    .map(|n| PathKey::Index(n as u32))
                    .ok_or_else(|| format!("`{self}` is not a JSON array index (0 to {})", i32::MAX))
            }
        }
    )*};
}
index_key!(i32, i64, u8, u16, u32, u64, usize);

impl<M: Model, T: JsonType> Column<M, T> {
    /// The document at `key` (an object key, or an array index): `u.settings.at("flags")`.
    pub fn at(self, key: impl IntoPathKey) -> JsonPath<M> {
        self.json().at(key)
    }

    /// The whole document, for the path helpers: `u.tags.json().contains("orm")`.
    pub fn json(self) -> JsonPath<M> {
        JsonPath { table: M::meta().table, column: self.name(), path: Vec::new(), error: None, _marker: PhantomData }
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
///
/// Every test is two-valued on every dialect: where the path leads nowhere (a missing key,
/// a NULL column) a test is false, and its negation (`!`, `ne`) true.
pub struct JsonPath<M> {
    table: &'static str,
    column: &'static str,
    path: Vec<PathKey>,
    /// Why the path cannot be written (a negative index): its conditions fail with it.
    error: Option<String>,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Clone for JsonPath<M> {
    fn clone(&self) -> Self {
        JsonPath { table: self.table, column: self.column, path: self.path.clone(), error: self.error.clone(), _marker: PhantomData }
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
    Boolean,
}

/// The JSON types a test can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    String,
    Boolean,
    Array,
}

/// A value a JSON path is compared with. Its type chooses the comparison: an integer or a
/// float compares with JSON numbers, a bool with JSON booleans, a string with JSON strings,
/// an object or array as a document.
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

/// `CASE WHEN test THEN 1 ELSE 0 END = 1`: true or false, never NULL, in every dialect (SQL
/// Server and Oracle have no boolean values to coalesce).
fn two_valued(test: Expr) -> Expr {
    Expr::case(test, Expr::cust("1")).finally(Expr::cust("0")).eq(Expr::cust("1"))
}

/// `'…'`, or `N'…'` on SQL Server (whose plain literals lose characters outside the code page).
fn sql_literal(dialect: Dialect, text: &str) -> String {
    let quoted = format!("'{}'", text.replace('\'', "''"));
    if dialect == Dialect::MsSql { format!("N{quoted}") } else { quoted }
}

impl<M: 'static> JsonPath<M> {
    /// One step further: an object key (a string) or an array index (an integer).
    pub fn at(mut self, key: impl IntoPathKey) -> Self {
        if self.path.len() >= MAX_PATH_STEPS {
            self.error.get_or_insert(format!("a JSON path of more than {MAX_PATH_STEPS} steps"));
            return self;
        }
        match key.into_path_key() {
            Ok(key) => self.path.push(key),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// The value here, as text (any scalar, converted by the database).
    pub fn as_text(self) -> JsonScalar<M, String> {
        JsonScalar { path: self, scalar: Scalar::Text, _marker: PhantomData }
    }

    /// The value here, when it is a JSON number (else no value: NULL).
    pub fn as_integer(self) -> JsonScalar<M, i64> {
        JsonScalar { path: self, scalar: Scalar::Integer, _marker: PhantomData }
    }

    /// The value here, when it is a JSON number, as a float.
    pub fn as_float(self) -> JsonScalar<M, f64> {
        JsonScalar { path: self, scalar: Scalar::Float, _marker: PhantomData }
    }

    /// The value here, when it is a JSON boolean: compare with `eq` / `ne`.
    pub fn as_bool(self) -> JsonScalar<M, bool> {
        JsonScalar { path: self, scalar: Scalar::Boolean, _marker: PhantomData }
    }

    /// The value here equals `value`, compared by its type (see [`JsonOperand`]); `NULL` /
    /// `Value::Null` means [`is_null`](Self::is_null).
    pub fn eq(self, value: impl JsonOperand) -> Condition<M> {
        self.compare(value.into_operand())
    }

    /// Not [`eq`](Self::eq): a missing value differs from everything but null.
    pub fn ne(self, value: impl JsonOperand) -> Condition<M> {
        !self.compare(value.into_operand())
    }

    fn compare(self, operand: Operand) -> Condition<M> {
        match operand {
            Operand::Int(i) => self.as_integer().eq(i),
            Operand::Float(f) => self.as_float().eq(f),
            Operand::Bool(b) => self.as_bool().eq(b),
            Operand::Null => self.is_null(),
            Operand::Text(text) => self.condition(move |path, dialect| {
                Ok(path.is_kind(dialect, Kind::String)?.and(path.extract(dialect, Scalar::Text)?.eq(text.clone())))
            }),
            Operand::Document(doc) => self.condition(move |path, dialect| path.equals_document(dialect, &doc)),
        }
    }

    /// The value here is JSON `true` (not the string `"true"`).
    pub fn is_true(self) -> Condition<M> {
        self.as_bool().eq(true)
    }

    /// The value here is JSON `false`.
    pub fn is_false(self) -> Condition<M> {
        self.as_bool().eq(false)
    }

    /// Nothing here: the key is missing, or holds JSON `null` (or the column is NULL).
    pub fn is_null(self) -> Condition<M> {
        self.condition(|path, dialect| path.null_here(dialect))
    }

    /// Something here other than JSON `null`.
    pub fn is_not_null(self) -> Condition<M> {
        !self.is_null()
    }

    /// The object here has `key`.
    pub fn has_key(self, key: impl Into<String>) -> Condition<M> {
        let key = key.into();
        self.condition(move |path, dialect| path.key_here(dialect, &key))
    }

    /// The document here contains `fragment`: an array holding a scalar
    /// (`tags.json().contains("orm")`) on every dialect; an object or array fragment
    /// (`{"flags": {"beta": true}}`) on PostgreSQL and MySQL/MariaDB.
    pub fn contains(self, fragment: impl Serialize) -> Condition<M> {
        match serde_json::to_value(fragment) {
            Ok(fragment) => self.condition(move |path, dialect| path.contains_here(dialect, &fragment)),
            Err(e) => {
                Condition::invalid(Invalid::new(InvalidQueryKind::Argument, format!("the fragment given to contains() is not JSON: {e}")))
            }
        }
    }

    /// A condition written per dialect by `render`, made two-valued; the path's own error
    /// (a negative index) instead when it has one.
    fn condition(self, render: impl Fn(&Self, Dialect) -> Result<Expr> + Send + Sync + 'static) -> Condition<M> {
        if let Some(error) = &self.error {
            return Condition::invalid(Invalid::new(InvalidQueryKind::Argument, error.clone()));
        }
        Condition::per_dialect(move |dialect| {
            for step in &self.path {
                if let PathKey::Key(key) = step {
                    check_key(dialect, key)?;
                }
            }
            Ok(two_valued(render(&self, dialect)?))
        })
    }

    // ---- rendering -------------------------------------------------------------------

    fn column(&self) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(self.column)))
    }

    fn path_text(&self) -> String {
        path_text(&self.path)
    }

    fn with_key(&self, key: &str) -> Vec<PathKey> {
        let mut path = self.path.clone();
        path.push(PathKey::Key(key.to_string()));
        path
    }

    /// The path as an SQL string literal (SQL Server and Oracle want a literal path).
    fn path_literal(&self, dialect: Dialect) -> Expr {
        Expr::cust(sql_literal(dialect, &self.path_text()))
    }

    /// The path as a bound parameter.
    fn path_value(&self) -> Expr {
        Expr::val(self.path_text())
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

    /// MySQL: `JSON_EXTRACT(col, path)`.
    fn my_node(&self) -> Expr {
        Func::cust("JSON_EXTRACT").arg(self.column()).arg(self.path_value()).into()
    }

    /// The text of the quoted column, for templates written as text (Oracle).
    fn oracle_column(&self) -> String {
        format!("{}.{}", Dialect::Oracle.quote_identifier(self.table), Dialect::Oracle.quote_identifier(self.column))
    }

    /// Oracle: `JSON_EXISTS(col, '<path>?(<filter>)')`.
    fn oracle_exists(&self, path: &str, filter: &str) -> Expr {
        Expr::cust(format!("JSON_EXISTS({}, {})", self.oracle_column(), sql_literal(Dialect::Oracle, &format!("{path}?({filter})"))))
    }

    /// SQL Server: the OPENJSON `type` of the value here (0 null, 1 string, 2 number,
    /// 3 boolean, 4 array, 5 object) is `code`: read from the parent's members.
    fn mssql_type_is(&self, code: i32) -> Result<Expr> {
        let Some((last, parent)) = self.path.split_last() else {
            return Err(Error::unsupported(Dialect::MsSql, "a type test on a whole JSON document (give a path)"));
        };
        let key = match last {
            PathKey::Key(k) => k.clone(),
            PathKey::Index(n) => n.to_string(),
        };
        let parent = sql_literal(Dialect::MsSql, &path_text(parent));
        let mut select = Query::select();
        select
            .expr(Expr::val(1))
            .from_function(Func::cust("OPENJSON").arg(self.column()).arg(Expr::cust(parent)), Alias::new("j"))
            .and_where(Expr::col((Alias::new("j"), Alias::new("key"))).eq(key))
            .and_where(Expr::col((Alias::new("j"), Alias::new("type"))).eq(code));
        Ok(Expr::exists(select))
    }

    /// SQL Server: the object or array here starts with `bracket` (`[` array, `{` object).
    fn mssql_starts_with(&self, bracket: char) -> Expr {
        let text = Func::cust("JSON_QUERY").arg(self.column()).arg(self.path_literal(Dialect::MsSql));
        Expr::expr(Func::cust("LEFT").arg(text).arg(1)).eq(bracket.to_string())
    }

    /// The value here is of JSON type `kind`.
    fn is_kind(&self, dialect: Dialect, kind: Kind) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => {
                let name = match kind {
                    Kind::Number => "number",
                    Kind::String => "string",
                    Kind::Boolean => "boolean",
                    Kind::Array => "array",
                };
                Expr::expr(Func::cust("jsonb_typeof").arg(self.pg_node(false))).eq(name)
            }
            Dialect::MySql => {
                let names: &[&str] = match kind {
                    Kind::Number => &["INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER"],
                    Kind::String => &["STRING"],
                    Kind::Boolean => &["BOOLEAN"],
                    Kind::Array => &["ARRAY"],
                };
                Expr::expr(Func::cust("JSON_TYPE").arg(self.my_node())).is_in(names.iter().copied())
            }
            Dialect::Sqlite => {
                let names: &[&str] = match kind {
                    Kind::Number => &["integer", "real"],
                    Kind::String => &["text"],
                    Kind::Boolean => &["true", "false"],
                    Kind::Array => &["array"],
                };
                Expr::expr(Func::cust("json_type").arg(self.column()).arg(self.path_value())).is_in(names.iter().copied())
            }
            Dialect::MsSql => match kind {
                // JSON_QUERY returns an array's text (`[` is a wildcard in LIKE: compare it).
                Kind::Array => self.mssql_starts_with('['),
                Kind::Number => self.mssql_type_is(2)?,
                Kind::String => self.mssql_type_is(1)?,
                Kind::Boolean => self.mssql_type_is(3)?,
            },
            Dialect::Oracle => {
                let name = match kind {
                    Kind::Number => "number",
                    Kind::String => "string",
                    Kind::Boolean => "boolean",
                    Kind::Array => "array",
                };
                // Strict mode: in lax mode a filter on an array would test its elements.
                self.oracle_exists(&format!("strict {}", self.path_text()), &format!("@.type() == \"{name}\""))
            }
        })
    }

    /// The scalar here, read as `scalar`: text converts any scalar; numbers and booleans
    /// read only values of that JSON type (anything else is NULL, never an error).
    fn extract(&self, dialect: Dialect, scalar: Scalar) -> Result<Expr> {
        let text: Expr = match dialect {
            Dialect::Postgres => self.pg_node(true),
            Dialect::MySql => Func::cust("JSON_UNQUOTE").arg(self.my_node()).into(),
            Dialect::Sqlite => Func::cust("json_extract").arg(self.column()).arg(self.path_value()).into(),
            Dialect::MsSql | Dialect::Oracle => Func::cust("JSON_VALUE").arg(self.column()).arg(self.path_literal(dialect)).into(),
        };
        let kind = match scalar {
            Scalar::Text => return self.scalar_text(dialect, text),
            Scalar::Integer | Scalar::Float => Kind::Number,
            Scalar::Boolean => Kind::Boolean,
        };
        let value = match (dialect, scalar) {
            // Booleans compare as the text `true` / `false` every dialect writes for them.
            (Dialect::Sqlite, Scalar::Boolean) => Func::cust("json_type").arg(self.column()).arg(self.path_value()).into(),
            (_, Scalar::Boolean) => text,
            (Dialect::Postgres, Scalar::Integer) => text.cast_as(Alias::new("numeric")),
            (Dialect::Postgres, _) => text.cast_as(Alias::new("double precision")),
            (Dialect::MySql, Scalar::Integer) => text.cast_as(Alias::new("DECIMAL(65, 30)")),
            (Dialect::MySql, _) => text.cast_as(Alias::new("DOUBLE")),
            (Dialect::Sqlite, _) => text,
            // FLOAT reads every JSON number (serde writes large and small ones with an exponent).
            (Dialect::MsSql, _) => text.cast_as(Alias::new("FLOAT")),
            (Dialect::Oracle, _) => {
                Expr::cust(format!("JSON_VALUE({}, {} RETURNING NUMBER)", self.oracle_column(), sql_literal(dialect, &self.path_text())))
            }
        };
        Ok(Expr::case(self.is_kind(dialect, kind)?, value).into())
    }

    /// Any scalar here as text, the same in every dialect: `true` / `false` for booleans,
    /// nothing (NULL) for JSON null, objects and arrays.
    fn scalar_text(&self, dialect: Dialect, text: Expr) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => {
                let kind = Func::cust("jsonb_typeof").arg(self.pg_node(false));
                Expr::case(Expr::expr(kind).is_in(["object", "array"]), Expr::cust("NULL")).finally(text).into()
            }
            Dialect::MySql => {
                let kind = Func::cust("JSON_TYPE").arg(self.my_node());
                Expr::case(Expr::expr(kind).is_in(["NULL", "OBJECT", "ARRAY"]), Expr::cust("NULL")).finally(text).into()
            }
            Dialect::Sqlite => {
                let kind = || Expr::expr(Func::cust("json_type").arg(self.column()).arg(self.path_value()));
                Expr::case(kind().is_in(["true", "false"]), kind())
                    .case(kind().is_in(["object", "array"]), Expr::cust("NULL"))
                    .finally(text.cast_as(Alias::new("TEXT")))
                    .into()
            }
            // JSON_VALUE reads scalars only, booleans as `true` / `false`.
            Dialect::MsSql | Dialect::Oracle => text,
        })
    }

    fn null_here(&self, dialect: Dialect) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => {
                let node = self.pg_node(false);
                node.clone().is_null().or(node.eq(Expr::cust("'null'::jsonb")))
            }
            Dialect::MySql => self.my_node().is_null().or(Expr::expr(Func::cust("JSON_TYPE").arg(self.my_node())).eq("NULL")),
            Dialect::Sqlite => {
                let kind = Func::cust("json_type").arg(self.column()).arg(self.path_value());
                Expr::expr(kind.clone()).is_null().or(Expr::expr(kind).eq("null"))
            }
            Dialect::MsSql | Dialect::Oracle => {
                // JSON_VALUE is NULL for a missing key, a JSON null and an object or array;
                // JSON_QUERY is not NULL for an object or array.
                let value = Func::cust("JSON_VALUE").arg(self.column()).arg(self.path_literal(dialect));
                let query = Func::cust("JSON_QUERY").arg(self.column()).arg(self.path_literal(dialect));
                Expr::expr(value).is_null().and(Expr::expr(query).is_null())
            }
        })
    }

    fn key_here(&self, dialect: Dialect, key: &str) -> Result<Expr> {
        check_key(dialect, key)?;
        let path = path_text(&self.with_key(key));
        Ok(match dialect {
            Dialect::Postgres => self.clone().at(key).pg_node(false).is_not_null(),
            Dialect::MySql => Func::cust("JSON_CONTAINS_PATH").arg(self.column()).arg("one").arg(Expr::val(path)).into(),
            Dialect::Sqlite => Expr::expr(Func::cust("json_type").arg(self.column()).arg(Expr::val(path))).is_not_null(),
            Dialect::MsSql => {
                // OPENJSON lists an array's positions as keys too: objects only.
                let object = self.mssql_starts_with('{');
                let mut select = Query::select();
                select
                    .expr(Expr::val(1))
                    .from_function(Func::cust("OPENJSON").arg(self.column()).arg(self.path_literal(dialect)), Alias::new("j"))
                    .and_where(Expr::col((Alias::new("j"), Alias::new("key"))).eq(key));
                object.and(Expr::exists(select))
            }
            Dialect::Oracle => Expr::cust(format!("JSON_EXISTS({}, {})", self.oracle_column(), sql_literal(dialect, &path))),
        })
    }

    fn contains_here(&self, dialect: Dialect, fragment: &serde_json::Value) -> Result<Expr> {
        use serde_json::Value as J;
        let scalar = !matches!(fragment, J::Object(_) | J::Array(_));
        Ok(match dialect {
            Dialect::Postgres | Dialect::MySql => {
                let contains: Expr = if dialect == Dialect::Postgres {
                    self.pg_node(false).contains(Expr::val(fragment.clone()))
                } else {
                    Func::cust("JSON_CONTAINS").arg(self.column()).arg(Expr::val(fragment.to_string())).arg(self.path_value()).into()
                };
                // A scalar is looked for in an array, as on the other dialects (`"a" @> "a"`
                // holds too).
                if scalar { self.is_kind(dialect, Kind::Array)?.and(contains) } else { contains }
            }
            _ if !scalar => {
                return Err(Error::unsupported(
                    dialect,
                    "JSON contains() with an object or array fragment (it has no JSON containment); \
                     test the members one by one with at(..).eq(..)",
                ));
            }
            // An array (not an object's members) holding a member of the fragment's type
            // and value.
            Dialect::Sqlite | Dialect::MsSql => {
                let sqlite = dialect == Dialect::Sqlite;
                let (function, path) = if sqlite { ("json_each", self.path_value()) } else { ("OPENJSON", self.path_literal(dialect)) };
                let member = |column: &str| Expr::col((Alias::new("j"), Alias::new(column)));
                let mut select = Query::select();
                select.expr(Expr::val(1)).from_function(Func::cust(function).arg(self.column()).arg(path), Alias::new("j"));
                let matches = match (fragment, sqlite) {
                    (J::String(s), true) => member("type").eq("text").and(member("value").eq(s.clone())),
                    (J::String(s), false) => member("type").eq(1).and(member("value").eq(s.clone())),
                    (J::Number(n), true) => {
                        member("type").is_in(["integer", "real"]).and(member("value").eq(n.as_f64().unwrap_or(f64::NAN)))
                    }
                    // The CAST only reads numbers: SQL Server may evaluate it before the type test.
                    (J::Number(n), false) => member("type").eq(2).and(
                        Expr::expr(Expr::case(member("type").eq(2), member("value").cast_as(Alias::new("FLOAT"))))
                            .eq(n.as_f64().unwrap_or(f64::NAN)),
                    ),
                    (J::Bool(b), true) => member("type").eq(if *b { "true" } else { "false" }),
                    (J::Bool(b), false) => member("type").eq(3).and(member("value").eq(if *b { "true" } else { "false" })),
                    (_, true) => member("type").eq("null"),
                    (_, false) => member("type").eq(0),
                };
                select.and_where(matches);
                self.is_kind(dialect, Kind::Array)?.and(Expr::exists(select))
            }
            Dialect::Oracle => {
                // Strict mode: a value that is not an array is an error, which JSON_EXISTS
                // reads as false; each member must have the fragment's JSON type.
                let path = format!("strict {}[*]", self.path_text());
                match fragment {
                    // The member is a bound variable of the path filter (`PASSING :1 AS "v"`).
                    J::String(_) | J::Number(_) => {
                        let (kind, value): (&str, Value) = match fragment {
                            J::String(s) => ("string", s.clone().into()),
                            J::Number(n) => (
                                "number",
                                match n.as_i64() {
                                    Some(i) => i.into(),
                                    None => n.as_f64().unwrap_or(f64::NAN).into(),
                                },
                            ),
                            _ => unreachable!("matched above"),
                        };
                        Expr::cust_with_exprs(
                            format!(
                                "JSON_EXISTS({}, {} PASSING :1 AS \"v\")",
                                self.oracle_column(),
                                sql_literal(dialect, &format!("{path}?(@.type() == \"{kind}\" && @ == $v)"))
                            ),
                            [Expr::val(value)],
                        )
                    }
                    J::Bool(b) => self.oracle_exists(&path, &format!("@.type() == \"boolean\" && @ == {b}")),
                    _ => self.oracle_exists(&path, "@.type() == \"null\""),
                }
            }
        })
    }

    fn equals_document(&self, dialect: Dialect, document: &serde_json::Value) -> Result<Expr> {
        Ok(match dialect {
            Dialect::Postgres => self.pg_node(false).eq(Expr::val(document.clone())),
            // MySQL compares JSON values; MariaDB (JSON is text there) the text both sides
            // get from the same function.
            Dialect::MySql => self.my_node().eq(Func::cust("JSON_EXTRACT").arg(Expr::val(document.to_string())).arg("$")),
            // json_extract gives a string's text too: require an object or array.
            Dialect::Sqlite => {
                Expr::expr(Func::cust("json_type").arg(self.column()).arg(self.path_value())).is_in(["object", "array"]).and(
                    Expr::expr(Func::cust("json_extract").arg(self.column()).arg(self.path_value()))
                        .eq(Func::cust("json_extract").arg(Expr::val(document.to_string())).arg("$")),
                )
            }
            Dialect::Oracle => Expr::cust_with_exprs(
                format!("JSON_EQUAL(JSON_QUERY({}, {}), :1)", self.oracle_column(), sql_literal(dialect, &self.path_text())),
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

/// The most steps a JSON path takes: each is a level of the expression written for
/// PostgreSQL, so a path built from request input must not grow without bound.
pub const MAX_PATH_STEPS: usize = 64;

/// Refuses an object key that `dialect`'s JSON paths cannot address, so that a condition on it
/// fails instead of silently matching nothing:
/// - SQLite reads a quoted path step verbatim up to the next `"`, with no escapes, and stops
///   at a NUL;
/// - MariaDB's path parser cannot address a key that starts with `-` (`$."--"` and `$."-a"`
///   find nothing), and the MySQL dialect serves MariaDB too.
fn check_key(dialect: Dialect, key: &str) -> Result<()> {
    let problem = match dialect {
        Dialect::Sqlite if key.contains(['"', '\\']) || key.chars().any(char::is_control) => {
            "a JSON object key containing `\"`, `\\` or a control character (its paths cannot quote them)"
        }
        Dialect::MySql if key.starts_with('-') => "a JSON object key starting with `-` (MariaDB's JSON paths cannot address it)",
        _ => return Ok(()),
    };
    Err(Error::unsupported(dialect, problem))
}

fn path_text(path: &[PathKey]) -> String {
    let mut text = String::from("$");
    for step in path {
        match step {
            PathKey::Key(key) => {
                // Escaped as serde_json writes the documents: MariaDB compares a path step with
                // a document's keys as written, escapes included.
                text.push('.');
                text.push_str(&serde_json::to_string(key).unwrap_or_default());
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
        let scalar = self.scalar;
        let value = match (scalar, value.into_value()) {
            // JSON booleans read as the text `true` / `false`.
            (Scalar::Boolean, Value::Bool(Some(b))) => Value::from(if b { "true" } else { "false" }),
            (_, value) => value,
        };
        self.path.condition(move |path, dialect| Ok(op(path.extract(dialect, scalar)?, Expr::val(value.clone()))))
    }

    /// `value here = value`.
    pub fn eq(self, value: impl Into<T>) -> Condition<M> {
        self.compare(value.into(), |a, b| a.eq(b))
    }

    /// Not `eq`: true where the value differs or is missing.
    pub fn ne(self, value: impl Into<T>) -> Condition<M> {
        !self.eq(value)
    }
}

/// The scalars that order: numbers and text (not booleans).
pub trait Ordered {}
impl Ordered for i64 {}
impl Ordered for f64 {}
impl Ordered for String {}

impl<M: 'static, T: FieldType + Clone + Ordered> JsonScalar<M, T> {
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
