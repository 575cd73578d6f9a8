//! The one error type of duo-orm.

use std::fmt;

use crate::Dialect;

/// The driver's message for an error: a server's own message with its code, without the
/// server's source-file position that sqlx appends (` at line 948` of PostgreSQL's C file).
pub(crate) fn driver_message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(database) => match database.code() {
            Some(code) => format!("{} ({code})", database.message()),
            None => database.message().to_string(),
        },
        other => other.to_string(),
    }
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in duo-orm.
///
/// Every message says what to do next. Messages never contain a password: URLs are
/// redacted before they reach an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL, pool options or a model binding are invalid (nothing was sent to a database).
    #[error("configuration error: {0}")]
    Configuration(String),

    /// A query that must return exactly one row (`one()`) returned none.
    #[error("no {model} matched the query; use `first()` if no row is a valid answer")]
    NotFound {
        /// The model that was queried.
        model: &'static str,
    },

    /// A query that must return exactly one row (`one()`) returned more than one.
    #[error("more than one {model} matched the query; narrow the filter or use `first()`")]
    MultipleFound {
        /// The model that was queried.
        model: &'static str,
    },

    /// A relationship field was read but its rows were never loaded.
    #[error(
        "{model}.{relation} is not loaded; help: load it with the query \
         (`{model}::related(|m| m.{relation})`) or fetch it for this row (`row.{relation}().get()`)"
    )]
    NotLoaded {
        /// The model holding the relationship.
        model: &'static str,
        /// The relationship field.
        relation: &'static str,
    },

    /// What a relationship field holds cannot be saved with its owner (the message says why);
    /// nothing of the save was kept.
    #[error("cannot save {relation}: {detail}")]
    Relationship {
        /// The relationship, as `User.posts`.
        relation: String,
        /// Why, and what to do instead.
        detail: String,
    },

    /// The query is invalid before it reaches the database (an unknown column, an empty value list, …).
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// A migration cannot be read, planned or applied (the message says which one and why).
    #[error("migration error: {0}")]
    Migration(String),

    /// The dialect cannot do what was asked (the SQL would be wrong, so none is produced).
    #[error("{dialect} does not support {operation}")]
    UnsupportedOperation {
        /// The dialect that was asked.
        dialect: Dialect,
        /// What was asked of it.
        operation: String,
    },

    /// The database refused a write: a unique, foreign-key, not-null or check constraint.
    #[error("{kind} violation{}: {message}", constraint_suffix(.constraint, .column))]
    Integrity {
        /// Which kind of constraint failed.
        kind: IntegrityKind,
        /// The constraint's name, when the database says it.
        constraint: Option<String>,
        /// The column, when the database says it.
        column: Option<String>,
        /// The database's own message.
        message: String,
    },

    /// A payload or model failed validation before anything was written.
    #[error("validation failed for `{field}`: {detail}")]
    Validation {
        /// The first field that failed (fields are reported in name order).
        field: String,
        /// What is wrong with it, and with any other failing field.
        detail: String,
    },

    /// A value read from the database could not be turned into the field's Rust type.
    #[error("cannot decode column {column} of {model}: {detail}")]
    Decode {
        /// The model being decoded.
        model: &'static str,
        /// The column position or name.
        column: String,
        /// Why it failed.
        detail: String,
    },

    /// The database server closed the connection (a restart, `pg_terminate_backend`,
    /// MySQL's `KILL`, an idle timeout) where the statement could not simply go again on a
    /// fresh connection: inside a transaction, after some rows were handed over, or while
    /// `COMMIT` was in flight. Outside those, duo-orm sends the statement again by itself.
    #[error("the database server closed the connection {during}")]
    ConnectionLost {
        /// When it happened, and what that means for the work.
        during: String,
        /// The connection closed while `COMMIT` was in flight: the transaction may or may not
        /// have committed, and no client can tell. Check before running it again, or make it
        /// idempotent (see the transactions guide).
        commit_unknown: bool,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// Any other error reported by the database driver.
    #[error("database error: {}", driver_message(.0))]
    Database(#[source] sqlx::Error),

    /// An I/O error (reading a file, a socket).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The kind of constraint behind an [`Error::Integrity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityKind {
    /// A unique or primary-key constraint.
    Unique,
    /// A foreign-key constraint.
    ForeignKey,
    /// A `NOT NULL` constraint.
    NotNull,
    /// A `CHECK` constraint.
    Check,
}

impl fmt::Display for IntegrityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrityKind::Unique => "unique constraint",
            IntegrityKind::ForeignKey => "foreign key",
            IntegrityKind::NotNull => "not-null constraint",
            IntegrityKind::Check => "check constraint",
        })
    }
}

fn constraint_suffix(constraint: &Option<String>, column: &Option<String>) -> String {
    match (constraint, column) {
        (Some(c), Some(col)) => format!(" on `{c}` (column `{col}`)"),
        (Some(c), None) => format!(" on `{c}`"),
        (None, Some(col)) => format!(" on column `{col}`"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Configuration(message.into())
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidQuery(message.into())
    }

    /// An [`Error::Validation`] for `field` (for [`Hooks::validate`](crate::Hooks::validate)).
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Validation { field: field.into(), detail: detail.into() }
    }

    pub(crate) fn unsupported(dialect: Dialect, operation: impl Into<String>) -> Self {
        Error::UnsupportedOperation { dialect, operation: operation.into() }
    }

    /// The error from a [`validator::ValidationErrors`], reported on its first field by name.
    pub fn from_validation(errors: &validator::ValidationErrors) -> Self {
        let mut fields: Vec<_> = errors.field_errors().into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let field = fields.first().map(|(f, _)| f.to_string()).unwrap_or_else(|| "__all__".into());
        let detail = fields
            .iter()
            .map(|(name, errs)| {
                let what: Vec<String> = errs
                    .iter()
                    .map(|e| match &e.message {
                        Some(m) => m.to_string(),
                        None => format!("failed the `{}` rule", e.code),
                    })
                    .collect();
                format!("{name}: {}", what.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let detail = if detail.is_empty() { errors.to_string() } else { detail };
        Error::Validation { field, detail }
    }
}

impl From<validator::ValidationErrors> for Error {
    fn from(errors: validator::ValidationErrors) -> Self {
        Error::from_validation(&errors)
    }
}

impl From<sqlx::Error> for Error {
    /// Constraint violations become [`Error::Integrity`]; everything else is wrapped.
    fn from(err: sqlx::Error) -> Self {
        let sqlx::Error::Database(db) = &err else {
            return Error::Database(err);
        };
        // PostgreSQL's text cannot hold NUL: say so instead of "invalid byte sequence".
        if db.code().as_deref() == Some("22021") && db.message().contains("0x00") {
            return Error::UnsupportedOperation {
                dialect: Dialect::Postgres,
                operation: "text containing the NUL character (\\0): its text types cannot hold it".into(),
            };
        }
        let kind = match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => IntegrityKind::Unique,
            sqlx::error::ErrorKind::ForeignKeyViolation => IntegrityKind::ForeignKey,
            sqlx::error::ErrorKind::NotNullViolation => IntegrityKind::NotNull,
            sqlx::error::ErrorKind::CheckViolation => IntegrityKind::Check,
            _ => return Error::Database(err),
        };
        let message = db.message().to_string();
        let mut constraint = db.constraint().map(str::to_string);
        let mut column = None;
        #[cfg(feature = "postgres")]
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            column = pg.column().map(str::to_string);
        }
        if constraint.is_none() && column.is_none() {
            (constraint, column) = constraint_from_message(kind, &message);
        }
        Error::Integrity { kind, constraint, column, message }
    }
}

/// SQLite and MySQL put the constraint or column only into the message text.
fn constraint_from_message(kind: IntegrityKind, message: &str) -> (Option<String>, Option<String>) {
    // SQLite: "UNIQUE constraint failed: users.email", "NOT NULL constraint failed: users.name"
    if let Some((_, rest)) = message.split_once("constraint failed: ") {
        let first = rest.split(',').next().unwrap_or(rest).trim();
        let column = first.rsplit('.').next().unwrap_or(first).to_string();
        return (None, Some(column));
    }
    // MySQL: "Duplicate entry 'x' for key 'users.email'" / "Column 'name' cannot be null"
    // / "... CONSTRAINT `fk_posts_author_id` FOREIGN KEY ..."
    let quoted = |after: &str, open: char, close: char| {
        message.split_once(after).and_then(|(_, rest)| {
            let rest = rest.trim_start().strip_prefix(open)?;
            rest.split_once(close).map(|(name, _)| name.to_string())
        })
    };
    match kind {
        IntegrityKind::Unique => (quoted("for key", '\'', '\''), None),
        IntegrityKind::NotNull => (None, quoted("Column", '\'', '\'')),
        IntegrityKind::ForeignKey | IntegrityKind::Check => (quoted("CONSTRAINT", '`', '`'), None),
    }
}
