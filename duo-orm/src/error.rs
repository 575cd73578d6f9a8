//! The one error type of duo-orm.

use std::fmt;

use crate::Dialect;

/// The error a driver's own error type is carried as: boxed, so that duo-orm's public API
/// names no driver. Reach the driver's error with `downcast_ref` (e.g. to `sqlx::Error`).
pub type DriverError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error the database (or its driver) reported that duo-orm has no variant of its own for:
/// SQL syntax, a missing table, a permission. (A lost race with a concurrent transaction is
/// [`Error::Conflict`]; no connection within the pool's timeout is
/// [`Error::Configuration`] with [`ConfigurationKind::Connect`], which says why.)
///
/// It keeps what the server said, whatever the driver: the code (PostgreSQL's and MySQL's
/// SQLSTATE, SQLite's extended result code), the constraint when there is one, and the message.
/// The driver's own error is the [`source`](std::error::Error::source).
///
/// ```
/// # use duo_orm::prelude::*;
/// # static DB: Database = Database::from_url("sqlite::memory:");
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::error::Error as _;
/// let Err(Error::Database(error)) = DB.execute_raw("SELEC 1").await else { panic!() };
/// assert!(error.message().contains("syntax error"));
/// assert_eq!(error.code(), Some("1"));
/// // The driver's error, for what duo-orm does not carry.
/// assert!(error.source().unwrap().downcast_ref::<sqlx::Error>().is_some());
/// # }
/// ```
#[derive(Debug)]
pub struct DatabaseError {
    code: Option<String>,
    constraint: Option<String>,
    message: String,
    source: DriverError,
}

impl DatabaseError {
    /// The server's error code, when it gave one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The constraint the server named, when it named one.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    /// The server's (or driver's) message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A server's error that duo-orm has no variant for, as a driver reports it: the code,
    /// the constraint when there is one, the message, and the driver's own error as `source`.
    /// Tests build one to script an error (see the `mock` feature's `MockDatabase`).
    ///
    /// ```
    /// use duo_orm::DatabaseError;
    /// let deadlock = DatabaseError::new(Some("40P01".into()), None, "deadlock detected", "scripted".into());
    /// assert_eq!(deadlock.to_string(), "deadlock detected (40P01)");
    /// ```
    pub fn new(code: Option<String>, constraint: Option<String>, message: impl Into<String>, source: DriverError) -> Self {
        DatabaseError { code, constraint, message: message.into(), source }
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
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
    /// The database URL, pool options or a model binding are invalid, or no connection could be
    /// opened: nothing was sent to a database. `kind` says which, for a `match`.
    #[error("configuration error: {message}")]
    Configuration {
        /// What is wrong.
        kind: ConfigurationKind,
        /// What exactly, and what to do.
        message: String,
    },

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

    /// An instance of a model with a `#[duo(version)]` field was saved, updated or deleted,
    /// but its row's version is no longer the one the instance read: someone else changed the
    /// row since. Nothing was written. Read the row again, apply the change to it, and save
    /// that (or run the whole transaction again with `transaction_with(..).retry(..)`).
    #[error(
        "{model} {key} was changed by someone else since it was read (it is no longer at version {version}); nothing was written: read it again and reapply the change"
    )]
    StaleObject {
        /// The model.
        model: &'static str,
        /// The row's primary key, as text.
        key: String,
        /// The version the instance had.
        version: i64,
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

    /// The query or payload is invalid before it reaches the database (an unknown field, a page
    /// of 0, …), or the work cannot go on (a transaction that has ended). `kind` says which.
    #[error("invalid query: {message}")]
    InvalidQuery {
        /// What is wrong.
        kind: InvalidQueryKind,
        /// What exactly, and what to do.
        message: String,
    },

    /// A migration cannot be read, planned or applied. `kind` says which; the message names the
    /// migration and why.
    #[error("migration error: {message}")]
    Migration {
        /// What is wrong.
        kind: MigrationKind,
        /// What exactly, and what to do.
        message: String,
    },

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
    /// fresh connection: inside a transaction (nothing of it committed), or after some rows
    /// were handed over. Outside those, duo-orm sends the statement again by itself. (While
    /// `COMMIT` was in flight it is [`Error::CommitUnknown`].)
    #[error("the database server closed the connection {during}")]
    ConnectionLost {
        /// When it happened, and what that means for the work.
        during: String,
        /// The driver's error (a `sqlx::Error` today: reach it with `downcast_ref`).
        #[source]
        source: DriverError,
    },

    /// The transaction lost a race with a concurrent one: the database refused to serialize
    /// it, broke a deadlock by choosing it, or a lock it waited for was not granted in time.
    /// After any kind but [`LockNotAvailable`](ConflictKind::LockNotAvailable) nothing of the
    /// transaction commits: a block that goes on after one runs nothing more (each later
    /// statement, and the `COMMIT`, fails with this error unsent). Run
    /// the whole transaction again: [`Database::transaction_with`](crate::Database::transaction_with)
    /// with `.retry(..)` does it for you. `kind` says which, for a `match`.
    #[error("{kind}: {message}; run the transaction again (`transaction_with(..).retry(..)` does)")]
    Conflict {
        /// What happened.
        kind: ConflictKind,
        /// The database's own message.
        message: String,
        /// The driver's error, when the database reported it (none when duo-orm refused to
        /// commit a transaction that had already lost).
        #[source]
        source: Option<DriverError>,
    },

    /// `COMMIT` was sent but its answer never came (the server closed the connection while it
    /// was in flight): the transaction may or may not have committed, and no client can
    /// tell. It is never run again on its own; check before running it again, or make it
    /// idempotent (see the transactions guide).
    #[error(
        "the database server closed the connection while COMMIT was in flight: the transaction may or may not have committed; check before running it again"
    )]
    CommitUnknown {
        /// The driver's error (a `sqlx::Error` today: reach it with `downcast_ref`).
        #[source]
        source: DriverError,
    },

    /// Any other error the database or its driver reported: see [`DatabaseError`]. Its
    /// `source()` is the driver's error.
    #[error("database error: {0}")]
    Database(#[source] DatabaseError),

    /// An I/O error (reading a file, a socket).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// An [`Error::InvalidQuery`] found while a query was built, kept until the query runs
/// (builders do not return `Result`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) kind: InvalidQueryKind,
    pub(crate) message: String,
}

impl Invalid {
    pub(crate) fn new(kind: InvalidQueryKind, message: impl Into<String>) -> Self {
        Invalid { kind, message: message.into() }
    }

    /// What `error` says, as an `Invalid` (an `InvalidQuery` keeps its kind).
    pub(crate) fn from_error(error: Error) -> Self {
        match error {
            Error::InvalidQuery { kind, message } => Invalid { kind, message },
            other => Invalid { kind: InvalidQueryKind::Internal, message: other.to_string() },
        }
    }
}

impl From<Invalid> for Error {
    fn from(Invalid { kind, message }: Invalid) -> Self {
        Error::InvalidQuery { kind, message }
    }
}

/// What an [`Error::Configuration`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigurationKind {
    /// The database URL is empty, malformed, of an unknown scheme or missing a part, or a
    /// dialect or database name is unknown or unusable.
    Url,
    /// An environment variable or a `.env` file cannot be read.
    Environment,
    /// Pool options out of range (`max_connections` of 0, fewer than `min_connections`).
    Pool,
    /// duo-orm was built without the Cargo feature of the URL's backend.
    MissingFeature,
    /// A model bound to no database (and no `.on(&db)`), or a database whose URL is of another
    /// dialect than `expect_dialect` says.
    Binding,
    /// No connection could be opened: refused, an unknown host, a timeout, or the server's
    /// refusal (credentials, an unknown database).
    Connect,
    /// An API called where it cannot work: `.await` on a sync-only database, `.wait()` on
    /// duo-orm's I/O threads or while this task holds the transaction's connection, a runtime
    /// that has shut down.
    Runtime,
    /// A model's declaration cannot work at run time (a `set_on` field that cannot hold the time).
    Model,
}

/// What an [`Error::InvalidQuery`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidQueryKind {
    /// A name that is no field or relationship of the model (`order_by_str`, a load path).
    UnknownName,
    /// A payload that cannot become the model's row: not a JSON object, a schema that cannot be
    /// serialized or built, or nothing to assign.
    Payload,
    /// A number outside what duo-orm accepts: a page or batch size of 0, a limit above
    /// `i64::MAX`, a condition nested deeper than `MAX_CONDITION_DEPTH`.
    OutOfRange,
    /// An argument a query method cannot take: an empty value list, a JSON fragment that is
    /// not JSON, a negative JSON array index.
    Argument,
    /// A bulk update or delete that would touch every row (no filter), or that is paged.
    BulkScope,
    /// A relationship used in a way it cannot be: `attach` on a `has_many`, a load path that
    /// starts at another model or goes deeper than eager loading follows, a joined load through
    /// a collection.
    Relationship,
    /// The transaction cannot go on: it has ended, a statement of it was cancelled, or nested
    /// transactions overlapped. It was (or will be) rolled back.
    Transaction,
    /// The database accepted the write but did not hand back what duo-orm needs to read the
    /// rows back (a key neither given nor generated; rows that cannot be tied to those sent).
    ReadBack,
    /// duo-orm broke one of its own rules: a bug; please report it with the message.
    Internal,
}

/// What an [`Error::Migration`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationKind {
    /// A migration file cannot be read, parsed or written, or the set is inconsistent
    /// (two migrations with one id, an id that matches none or several).
    File,
    /// The change cannot be planned (autogenerate's refusals, a rename of something that does
    /// not exist), or a step does not apply to the schema it starts from.
    Plan,
    /// Applied migrations and files disagree: a file changed or missing, a migration left dirty,
    /// or a pending one that sorts before an applied one.
    History,
    /// A target `up` or `down` cannot take (`up -2`, `down head`, an empty target).
    Target,
    /// A statement failed while a migration was applied or reverted.
    Statement,
    /// Another run has held the migration lock too long.
    Lock,
    /// A SQLite table rebuild would drop what hand-written SQL added.
    Rebuild,
    /// The version table's configured name is not usable.
    Name,
}

/// What an [`Error::Conflict`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// The database could not serialize the transaction with a concurrent one (PostgreSQL
    /// 40001; MariaDB 1020 under snapshot isolation).
    Serialization,
    /// Two transactions waited on each other's locks and this one was chosen to end
    /// (PostgreSQL 40P01, MySQL 1213).
    Deadlock,
    /// A lock was waited for longer than the server allows (MySQL 1205, which MariaDB also
    /// reports for `nowait()`).
    LockTimeout,
    /// A lock asked for with `nowait()` was held by another transaction (PostgreSQL 55P03,
    /// which its `lock_timeout` also gives; MySQL 3572). Not retried: `nowait()` asks to fail.
    LockNotAvailable,
    /// SQLite's database was locked by another connection for longer than its busy timeout
    /// (`SQLITE_BUSY`, `SQLITE_LOCKED`).
    Busy,
}

impl ConflictKind {
    /// Whether running the transaction again may succeed where this attempt failed (all but
    /// [`LockNotAvailable`](Self::LockNotAvailable), which `nowait()` asked for).
    pub fn is_retryable(self) -> bool {
        self != ConflictKind::LockNotAvailable
    }

    /// Whether the transaction cannot go on after it: the database abandons the whole
    /// transaction on a serialization failure and a deadlock, SQLite on BUSY, and MySQL on a
    /// lock wait timeout when `innodb_rollback_on_timeout` is on (which a client cannot
    /// see, so every lock wait timeout is taken as one).
    pub(crate) fn dooms_transaction(self) -> bool {
        self != ConflictKind::LockNotAvailable
    }
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConflictKind::Serialization => "serialization failure",
            ConflictKind::Deadlock => "deadlock",
            ConflictKind::LockTimeout => "lock wait timeout",
            ConflictKind::LockNotAvailable => "row locked by another transaction",
            ConflictKind::Busy => "database busy",
        })
    }
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
    pub(crate) fn config(kind: ConfigurationKind, message: impl Into<String>) -> Self {
        Error::Configuration { kind, message: message.into() }
    }

    pub(crate) fn invalid(kind: InvalidQueryKind, message: impl Into<String>) -> Self {
        Error::InvalidQuery { kind, message: message.into() }
    }

    #[cfg(feature = "migrate")]
    pub(crate) fn migration(kind: MigrationKind, message: impl Into<String>) -> Self {
        Error::Migration { kind, message: message.into() }
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
