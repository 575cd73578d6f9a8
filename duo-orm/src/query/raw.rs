//! Hand-written SQL with bound parameters: `db.raw("SELECT … WHERE id = ?").bind(7)`.
//!
//! The SQL takes portable `?` placeholders, rewritten to the dialect's own (`$1`, `@P1`,
//! `:1`) by a small lexer that leaves string literals, quoted identifiers and comments alone.
//! `??` stands for a literal `?` (PostgreSQL's `jsonb ?` operator).

use std::marker::PhantomData;

use sea_query::{Value, Values};

use crate::database::Database;
use crate::dialect::{Dialect, Statement};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::pending::Pending;
use crate::row::FromRow;
use crate::types::FieldType;

/// A value a raw statement binds: any field type (`i64`, `String`, `Option<T>`, an enum of
/// `#[derive(FieldType)]`, …), or a `&str`.
pub trait IntoParam {
    /// The bound parameter.
    fn into_param(self) -> Value;
}

impl<T: FieldType> IntoParam for T {
    fn into_param(self) -> Value {
        self.into_value()
    }
}

impl IntoParam for &str {
    fn into_param(self) -> Value {
        Value::String(Some(self.to_string()))
    }
}

/// Hand-written SQL with bound parameters, from [`Database::raw`]. It runs in the ambient
/// transaction, like every other statement of the database.
///
/// ```
/// # use duo_orm::prelude::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> duo_orm::Result<()> {
/// let db = Database::new("sqlite::memory:");
/// db.execute_raw("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, stars INTEGER)").await?;
/// let inserted = db.raw("INSERT INTO notes (body, stars) VALUES (?, ?), (?, ?)").bind("a ? in a value").bind(3).bind("b").bind(5).execute().await?;
/// assert_eq!(inserted, 2);
/// // A `?` inside a string literal or a comment is not a placeholder.
/// let rows: Vec<(String, i64)> = db
///     .raw("SELECT body, stars FROM notes WHERE stars >= ? AND body <> '?' /* ? */ ORDER BY stars")
///     .bind(3)
///     .all()
///     .await?;
/// assert_eq!(rows, [("a ? in a value".to_string(), 3), ("b".to_string(), 5)]);
/// let total: Option<i64> = db.raw("SELECT SUM(stars) FROM notes").first().await?;
/// assert_eq!(total, Some(8));
/// # Ok(())
/// # }
/// ```
#[must_use = "a raw statement does nothing until `.all()`, `.first()` or `.execute()` is awaited"]
pub struct RawSql<'a> {
    db: &'a Database,
    sql: String,
    values: Vec<Value>,
}

impl Database {
    /// Hand-written SQL with `?` placeholders, whose values are bound with
    /// [`bind`](RawSql::bind): never formatted into the text. See [`RawSql`].
    pub fn raw(&self, sql: impl Into<String>) -> RawSql<'_> {
        RawSql { db: self, sql: sql.into(), values: Vec::new() }
    }
}

impl<'a> RawSql<'a> {
    /// Binds the next `?`.
    pub fn bind(mut self, value: impl IntoParam) -> Self {
        self.values.push(value.into_param());
        self
    }

    /// The statement as it is sent to `dialect`: the placeholders rewritten, the values in
    /// order. An error when the placeholders and the values do not pair up, or a quote or a
    /// comment is not closed.
    pub fn to_sql(&self, dialect: Dialect) -> Result<Statement> {
        let (sql, placeholders) =
            rewrite_placeholders(&self.sql, dialect).map_err(|why| Error::invalid(InvalidQueryKind::Argument, why))?;
        if placeholders != self.values.len() {
            return Err(Error::invalid(
                InvalidQueryKind::Argument,
                format!(
                    "the SQL has {placeholders} placeholder{} but {} value{} bound; help: bind one value per `?` (write `??` \
                     for a literal `?`)",
                    if placeholders == 1 { "" } else { "s" },
                    self.values.len(),
                    if self.values.len() == 1 { " is" } else { "s are" }
                ),
            ));
        }
        Ok(Statement { sql, values: Values(self.values.clone()) })
    }

    /// Every row, decoded as `T` by position: a model, a `#[derive(FromRow)]` struct, a tuple
    /// or a single column's type.
    pub fn all<T: FromRow>(self) -> Pending<'a, Vec<T>> {
        let stmt = self.statement();
        Pending::on_database(self.db, move |db| {
            Box::pin(async move {
                let stmt = stmt?;
                crate::query::fetch_rows::<T>(db, stmt).await
            })
        })
    }

    /// The first row, decoded as `T`, or `None` when there is none. The statement runs as
    /// written: add a `LIMIT` so that the database stops at one row.
    pub fn first<T: FromRow>(self) -> Pending<'a, Option<T>> {
        let stmt = self.statement();
        Pending::on_database(self.db, move |db| {
            Box::pin(async move {
                db.fetch_fold(stmt?, T::NAME, None, |first: &mut Option<T>, row| {
                    if first.is_none() {
                        *first = Some(crate::query::read_whole::<T>(row)?);
                    }
                    Ok(())
                })
                .await
            })
        })
    }

    /// Runs the statement and returns the number of rows it affected.
    pub fn execute(self) -> Pending<'a, u64> {
        let stmt = self.statement();
        Pending::on_database(self.db, move |db| Box::pin(async move { Ok(db.execute(stmt?).await?.rows_affected) }))
    }

    fn statement(&self) -> Result<Statement> {
        self.to_sql(self.db.dialect()?)
    }
}

/// Typed rows of a hand-edited sea-query statement: [`Database::from_statement`].
#[must_use = "a statement does nothing until `.all()` or `.first()` is awaited"]
pub struct FromStatementAs<'a, T> {
    db: &'a Database,
    statement: sea_query::SelectStatement,
    _marker: PhantomData<fn() -> T>,
}

impl Database {
    /// Runs a sea-query statement (built by hand, or from [`Select::alchemize`](crate::Select::alchemize)
    /// with CTEs or window functions added) and decodes its rows as `T` by position: a model,
    /// a `#[derive(FromRow)]` struct, a tuple or a single column's type.
    pub fn from_statement<T: FromRow>(&self, statement: sea_query::SelectStatement) -> FromStatementAs<'_, T> {
        FromStatementAs { db: self, statement, _marker: PhantomData }
    }
}

impl<'a, T: FromRow> FromStatementAs<'a, T> {
    /// Every row.
    pub fn all(self) -> Pending<'a, Vec<T>> {
        Pending::on_database(self.db, move |db| Box::pin(async move { crate::query::fetch_statement(db, &self.statement).await }))
    }

    /// The first row, or `None` (the statement gets `LIMIT 1`).
    pub fn first(mut self) -> Pending<'a, Option<T>> {
        self.statement.limit(1);
        self.all().map(|rows| rows.into_iter().next())
    }
}

/// `sql` with each portable `?` placeholder written as `dialect` numbers them, and how many
/// there were. String literals, quoted identifiers and comments are copied untouched, as the
/// dialect reads them (backslash escapes in MySQL strings and PostgreSQL `E'…'` strings,
/// PostgreSQL's dollar quotes, nested block comments on PostgreSQL and SQL Server, `[…]` names
/// on SQL Server and SQLite, `` `…` `` names on MySQL and SQLite, MySQL's `#` comments). `??`
/// is a literal `?` where an operator is spelled so (PostgreSQL); a `?` directly followed by a
/// name or a number is refused (`?1` would be written `$11`).
pub(crate) fn rewrite_placeholders(sql: &str, dialect: Dialect) -> std::result::Result<(String, usize), String> {
    use std::fmt::Write;
    let (prefix, numbered) = dialect.placeholder();
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut count = 0usize;
    let mut i = 0;
    // Every boundary below is an ASCII byte, so each slice falls between characters.
    let mut copied = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let end = match c {
            b'?' => {
                out.push_str(&sql[copied..i]);
                if next == Some(b'?') {
                    if matches!(dialect, Dialect::MySql | Dialect::Sqlite) {
                        // No operator there is spelled `?`, so `??` can only be a mistake, and
                        // a server mode that reads quotes differently could make it one silently.
                        return Err(format!("`??` at byte {i}: a literal `?` is needed on PostgreSQL alone"));
                    }
                    out.push('?');
                    i += 2;
                } else if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    // `?1` would become `$11`: a placeholder is `?` alone.
                    return Err(format!("`?` at byte {i} is followed by a name or a number; help: write `? ` or `(?)`"));
                } else {
                    count += 1;
                    out.push_str(prefix);
                    if numbered {
                        write!(out, "{count}").expect("writing to a String");
                    }
                    i += 1;
                }
                copied = i;
                continue;
            }
            b'\'' => {
                let backslashes = dialect == Dialect::MySql || (dialect == Dialect::Postgres && is_escape_string(bytes, i));
                quoted(bytes, i, b'\'', backslashes).ok_or_else(|| unterminated("string literal", i))?
            }
            b'"' => quoted(bytes, i, b'"', dialect == Dialect::MySql).ok_or_else(|| unterminated("quoted name", i))?,
            b'`' if matches!(dialect, Dialect::MySql | Dialect::Sqlite) => {
                quoted(bytes, i, b'`', false).ok_or_else(|| unterminated("quoted name", i))?
            }
            b'[' if matches!(dialect, Dialect::MsSql | Dialect::Sqlite) => {
                quoted(bytes, i, b']', false).ok_or_else(|| unterminated("quoted name", i))?
            }
            b'-' if next == Some(b'-') && (dialect != Dialect::MySql || mysql_dash_comment(bytes, i)) => line_end(bytes, i),
            b'#' if dialect == Dialect::MySql => line_end(bytes, i),
            b'/' if next == Some(b'*') => {
                let nested = matches!(dialect, Dialect::Postgres | Dialect::MsSql);
                block_comment(bytes, i, nested).ok_or_else(|| unterminated("comment", i))?
            }
            b'$' if dialect == Dialect::Postgres => match dollar_tag(bytes, i) {
                Some(tag_end) => {
                    let tag = &bytes[i..tag_end];
                    find(bytes, tag_end, tag).map(|close| close + tag.len()).ok_or_else(|| unterminated("dollar-quoted string", i))?
                }
                None => i + 1,
            },
            _ => i + 1,
        };
        i = end;
    }
    out.push_str(&sql[copied..]);
    Ok((out, count))
}

fn unterminated(what: &str, at: usize) -> String {
    format!("the {what} starting at byte {at} of the SQL is not closed")
}

/// The end (one past the closing quote) of the quoted text opening at `start`. A doubled
/// quote is a quote; with `backslashes`, a backslash escapes the next byte.
fn quoted(bytes: &[u8], start: usize, close: u8, backslashes: bool) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslashes => i += 2,
            c if c == close => {
                if bytes.get(i + 1) == Some(&close) {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether the quote at `quote` opens a PostgreSQL escape string (`E'…'`): an `E` right
/// before it that does not end a longer word.
fn is_escape_string(bytes: &[u8], quote: usize) -> bool {
    quote >= 1
        && matches!(bytes[quote - 1], b'E' | b'e')
        && (quote < 2 || !(bytes[quote - 2].is_ascii_alphanumeric() || bytes[quote - 2] == b'_' || bytes[quote - 2] >= 0x80))
}

/// MySQL starts a `--` comment only when a space or a control character follows.
fn mysql_dash_comment(bytes: &[u8], start: usize) -> bool {
    bytes.get(start + 2).is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

/// The end of the line comment opening at `start` (its newline stays with the text after it).
fn line_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |n| start + n)
}

/// The end of the block comment opening at `start`; PostgreSQL's and SQL Server's nest.
fn block_comment(bytes: &[u8], start: usize, nested: bool) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = start + 2;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            (b'/', b'*') if nested => {
                depth += 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// The end of the dollar-quote tag (`$$`, `$body$`) opening at `start`, if one does: a `$`, an
/// identifier that does not start with a digit (or nothing), and a `$`. `$1` is not a tag.
fn dollar_tag(bytes: &[u8], start: usize) -> Option<usize> {
    if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
        return None;
    }
    let mut i = start + 1;
    if bytes.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while let Some(&c) = bytes.get(i) {
        match c {
            b'$' => return Some(i + 1),
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => i += 1,
            _ => return None,
        }
    }
    None
}

/// The first position at or after `from` where `needle` starts.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(sql: &str, dialect: Dialect) -> String {
        rewrite_placeholders(sql, dialect).unwrap().0
    }

    #[test]
    fn placeholders_outside_quotes_and_comments_are_numbered_per_dialect() {
        let sql = "SELECT '?', \"?\", x FROM t -- ?\nWHERE a = ? /* ? */ AND b = ?";
        assert_eq!(rewrite(sql, Dialect::Postgres), "SELECT '?', \"?\", x FROM t -- ?\nWHERE a = $1 /* ? */ AND b = $2");
        assert_eq!(rewrite(sql, Dialect::Sqlite), "SELECT '?', \"?\", x FROM t -- ?\nWHERE a = ? /* ? */ AND b = ?");
        assert_eq!(rewrite(sql, Dialect::MsSql), "SELECT '?', \"?\", x FROM t -- ?\nWHERE a = @P1 /* ? */ AND b = @P2");
        assert_eq!(rewrite(sql, Dialect::Oracle), "SELECT '?', \"?\", x FROM t -- ?\nWHERE a = :1 /* ? */ AND b = :2");
        assert_eq!(rewrite_placeholders(sql, Dialect::MySql).unwrap().1, 2);
    }

    #[test]
    fn each_dialect_quotes_and_comments_its_own_way() {
        // Escaped quotes: doubled everywhere, backslashed in MySQL and PostgreSQL's E-strings.
        assert_eq!(rewrite("'it''s ?' = ?", Dialect::Postgres), "'it''s ?' = $1");
        assert_eq!(rewrite(r"'a\' ?' = ?", Dialect::MySql), r"'a\' ?' = ?");
        assert_eq!(rewrite(r"E'a\' ?' = ?", Dialect::Postgres), r"E'a\' ?' = $1");
        assert_eq!(rewrite(r"'a\' = ? AND ''' = ?'", Dialect::Postgres), r"'a\' = $1 AND ''' = ?'");
        // Dollar quotes and nested comments (PostgreSQL), `$1` is not a tag.
        assert_eq!(rewrite("$f$ ? $f$ || $$?$$ || ?", Dialect::Postgres), "$f$ ? $f$ || $$?$$ || $1");
        assert_eq!(rewrite("/* a /* ? */ ? */ ?", Dialect::Postgres), "/* a /* ? */ ? */ $1");
        assert_eq!(rewrite("/* a /* ? */ ? */ ?", Dialect::MsSql), "/* a /* ? */ ? */ @P1");
        assert_eq!(rewrite("/* a /* ? */ ?", Dialect::Sqlite), "/* a /* ? */ ?");
        // `[…]` names on SQL Server only; `#` and `-- ` comments on MySQL.
        assert_eq!(rewrite("[a?] = ?", Dialect::MsSql), "[a?] = @P1");
        assert_eq!(rewrite("[a?] = `b?` AND ?", Dialect::Sqlite), "[a?] = `b?` AND ?");
        assert_eq!(rewrite("x[?]", Dialect::Postgres), "x[$1]");
        assert_eq!(rewrite("# ?\n`?` = ? --?", Dialect::MySql), "# ?\n`?` = ? --?");
        assert_eq!(rewrite_placeholders("1--? ?", Dialect::MySql).unwrap().1, 2);
        // `??` is a literal `?` (jsonb's operators), and a mistake where no operator is `?`.
        assert_eq!(rewrite("doc ?? 'k' AND id = ?", Dialect::Postgres), "doc ? 'k' AND id = $1");
        assert!(rewrite_placeholders("'q??'", Dialect::Sqlite).is_ok());
        assert!(rewrite_placeholders("a ?? b", Dialect::MySql).is_err());
        // `?1` is not a placeholder.
        assert!(rewrite_placeholders("a = ?1", Dialect::Postgres).is_err());
    }

    #[test]
    fn an_unclosed_quote_or_comment_is_an_error() {
        for sql in ["'open ?", "\"open", "/* open", "$a$ open", "/* /* */"] {
            assert!(rewrite_placeholders(sql, Dialect::Postgres).is_err(), "{sql}");
        }
        assert!(rewrite_placeholders("[open", Dialect::MsSql).is_err());
        assert!(rewrite_placeholders("[open", Dialect::Postgres).is_ok());
    }
}
