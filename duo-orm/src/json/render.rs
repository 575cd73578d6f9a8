//! How each dialect writes the JSON path operations of [`JsonPath`]: one method per
//! operation, with the five renderings side by side so that a reviewer can compare them.
//! The public API they serve is in `json/mod.rs`.

use sea_query::extension::postgres::PgExpr;
use sea_query::{Alias, Expr, ExprTrait, Func, Query, Value};

use super::{JsonPath, PathKey};
use crate::dialect::Dialect;
use crate::error::{Error, Result};

/// The scalar an extraction reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Text,
    Integer,
    Float,
    Boolean,
}

/// The JSON types a test can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Number,
    String,
    Boolean,
    Array,
}

/// `CASE WHEN test THEN 1 ELSE 0 END = 1`: true or false, never NULL, in every dialect (SQL
/// Server and Oracle have no boolean values to coalesce).
pub(super) fn two_valued(test: Expr) -> Expr {
    Expr::case(test, Expr::cust("1")).finally(Expr::cust("0")).eq(Expr::cust("1"))
}

/// `'…'`, or `N'…'` on SQL Server (whose plain literals lose characters outside the code page).
pub(super) fn sql_literal(dialect: Dialect, text: &str) -> String {
    let quoted = format!("'{}'", text.replace('\'', "''"));
    if dialect == Dialect::MsSql { format!("N{quoted}") } else { quoted }
}

/// Refuses an object key that `dialect`'s JSON paths cannot address, so that a condition on it
/// fails instead of silently matching nothing:
/// - SQLite reads a quoted path step verbatim up to the next `"`, with no escapes, and stops
///   at a NUL;
/// - MariaDB's path parser cannot address a key that starts with `-` (`$."--"` and `$."-a"`
///   find nothing), and the MySQL dialect serves MariaDB too.
pub(super) fn check_key(dialect: Dialect, key: &str) -> Result<()> {
    let problem = match dialect {
        Dialect::Sqlite if key.contains(['"', '\\']) || key.chars().any(char::is_control) => {
            "a JSON object key containing `\"`, `\\` or a control character (its paths cannot quote them)"
        }
        Dialect::MySql if key.starts_with('-') => "a JSON object key starting with `-` (MariaDB's JSON paths cannot address it)",
        _ => return Ok(()),
    };
    Err(Error::unsupported(dialect, problem))
}

pub(super) fn path_text(path: &[PathKey]) -> String {
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

impl<M: 'static> JsonPath<M> {
    pub(super) fn column(&self) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(self.column)))
    }

    pub(super) fn path_text(&self) -> String {
        path_text(&self.path)
    }

    pub(super) fn with_key(&self, key: &str) -> Vec<PathKey> {
        let mut path = self.path.clone();
        path.push(PathKey::Key(key.to_string()));
        path
    }

    /// The path as an SQL string literal (SQL Server and Oracle want a literal path).
    pub(super) fn path_literal(&self, dialect: Dialect) -> Expr {
        Expr::cust(sql_literal(dialect, &self.path_text()))
    }

    /// The path as a bound parameter.
    pub(super) fn path_value(&self) -> Expr {
        Expr::val(self.path_text())
    }

    /// PostgreSQL: `col -> $1 -> $2` (jsonb), or `… ->> $n` (text) with `text`.
    pub(super) fn pg_node(&self, text: bool) -> Expr {
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
    pub(super) fn my_node(&self) -> Expr {
        Func::cust("JSON_EXTRACT").arg(self.column()).arg(self.path_value()).into()
    }

    /// The text of the quoted column, for templates written as text (Oracle).
    pub(super) fn oracle_column(&self) -> String {
        format!("{}.{}", Dialect::Oracle.quote_identifier(self.table), Dialect::Oracle.quote_identifier(self.column))
    }

    /// Oracle: `JSON_EXISTS(col, '<path>?(<filter>)')`.
    pub(super) fn oracle_exists(&self, path: &str, filter: &str) -> Expr {
        Expr::cust(format!("JSON_EXISTS({}, {})", self.oracle_column(), sql_literal(Dialect::Oracle, &format!("{path}?({filter})"))))
    }

    /// SQL Server: the OPENJSON `type` of the value here (0 null, 1 string, 2 number,
    /// 3 boolean, 4 array, 5 object) is `code`: read from the parent's members.
    pub(super) fn mssql_type_is(&self, code: i32) -> Result<Expr> {
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
    pub(super) fn mssql_starts_with(&self, bracket: char) -> Expr {
        let text = Func::cust("JSON_QUERY").arg(self.column()).arg(self.path_literal(Dialect::MsSql));
        Expr::expr(Func::cust("LEFT").arg(text).arg(1)).eq(bracket.to_string())
    }

    /// The value here is of JSON type `kind`.
    pub(super) fn is_kind(&self, dialect: Dialect, kind: Kind) -> Result<Expr> {
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
    pub(super) fn extract(&self, dialect: Dialect, scalar: Scalar) -> Result<Expr> {
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
    pub(super) fn scalar_text(&self, dialect: Dialect, text: Expr) -> Result<Expr> {
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

    pub(super) fn null_here(&self, dialect: Dialect) -> Result<Expr> {
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

    pub(super) fn key_here(&self, dialect: Dialect, key: &str) -> Result<Expr> {
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

    pub(super) fn contains_here(&self, dialect: Dialect, fragment: &serde_json::Value) -> Result<Expr> {
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

    pub(super) fn equals_document(&self, dialect: Dialect, document: &serde_json::Value) -> Result<Expr> {
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
