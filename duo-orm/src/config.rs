//! Database URLs, dialects and pool options.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// The SQL dialects duo-orm renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL and MariaDB (`mysql://`, `mariadb://`).
    MySql,
    /// SQLite (`sqlite://path`, `sqlite::memory:`).
    Sqlite,
    /// Microsoft SQL Server (`mssql://`): SQL rendering only in this version.
    MsSql,
    /// Oracle Database (`oracle://`): SQL rendering only in this version.
    Oracle,
}

impl Dialect {
    /// Every dialect, in a stable order.
    pub const ALL: [Dialect; 5] =
        [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite, Dialect::MsSql, Dialect::Oracle];

    /// The dialect's name as users write it.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Sqlite => "SQLite",
            Dialect::MsSql => "SQL Server",
            Dialect::Oracle => "Oracle",
        }
    }

    /// The most bound parameters one statement may carry (bulk inserts are chunked by it).
    pub const fn max_parameters(self) -> usize {
        match self {
            // The wire protocols count parameters in 16 bits.
            Dialect::Postgres => 65_535,
            Dialect::MySql => 65_535,
            // SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32 (sqlx bundles a newer one).
            Dialect::Sqlite => 32_766,
            // "The server supports a maximum of 2100 parameters", and sp_executesql, which runs
            // every parameterised statement, takes two of them for itself.
            Dialect::MsSql => 2_098,
            Dialect::Oracle => 65_535,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// URL schemes we accept, with the dialect each one names.
const SCHEMES: &[(&str, Dialect)] = &[
    ("postgres", Dialect::Postgres),
    ("postgresql", Dialect::Postgres),
    ("mysql", Dialect::MySql),
    ("mariadb", Dialect::MySql),
    ("sqlite", Dialect::Sqlite),
    ("mssql", Dialect::MsSql),
    ("sqlserver", Dialect::MsSql),
    ("oracle", Dialect::Oracle),
];

fn accepted_schemes() -> String {
    SCHEMES.iter().map(|(s, _)| format!("{s}://")).collect::<Vec<_>>().join(", ")
}

/// A parsed, driverless database URL. Its `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
    /// The URL with the scheme the driver understands (`mariadb://` becomes `mysql://`).
    driver_url: String,
}

impl DatabaseUrl {
    /// Parses a driverless URL such as `postgres://user:pw@host/db` or `sqlite::memory:`.
    ///
    /// ```
    /// use duo_orm::{DatabaseUrl, Dialect};
    /// let url = DatabaseUrl::parse("postgresql://app:secret@db.internal/prod").unwrap();
    /// assert_eq!(url.dialect(), Dialect::Postgres);
    /// assert_eq!(url.to_string(), "postgresql://app:***@db.internal/prod");
    /// let err = DatabaseUrl::parse("postgresql+psycopg://db/prod").unwrap_err();
    /// assert!(err.to_string().contains("drop the driver part"));
    /// ```
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.is_empty() {
            return Err(Error::config(
                "the database URL is empty; set it to e.g. sqlite://./app.db or postgres://user@host/db",
            ));
        }
        let (scheme, rest) = match url.split_once("://") {
            Some(parts) => parts,
            // `sqlite::memory:` and `sqlite:path` have no `//`.
            None => match url.split_once(':') {
                Some(("sqlite", rest)) if !rest.is_empty() => ("sqlite", rest),
                _ => {
                    return Err(Error::config(format!(
                        "`{}` is not a database URL: expected SCHEME://…, with SCHEME one of {}",
                        redact(url),
                        accepted_schemes()
                    )));
                }
            },
        };
        let lower = scheme.to_ascii_lowercase();
        if let Some((base, driver)) = lower.split_once('+') {
            return Err(Error::config(format!(
                "database URLs are driverless: drop the driver part `+{driver}` and write `{base}://…` \
                 (duo-orm picks the driver itself)"
            )));
        }
        let Some(&(_, dialect)) = SCHEMES.iter().find(|(s, _)| *s == lower) else {
            return Err(Error::config(format!(
                "unknown database URL scheme `{scheme}`; expected one of {}",
                accepted_schemes()
            )));
        };
        if dialect != Dialect::Sqlite && rest.trim_start_matches('/').is_empty() {
            return Err(Error::config(format!(
                "the {dialect} URL `{}` has no host; expected {lower}://user@host/database",
                redact(url)
            )));
        }
        let driver_url = match (dialect, url.contains("://")) {
            (Dialect::MySql, _) => format!("mysql://{rest}"),
            (Dialect::Postgres, _) => format!("postgres://{rest}"),
            (Dialect::Sqlite, true) => format!("sqlite://{rest}"),
            (Dialect::Sqlite, false) => format!("sqlite:{rest}"),
            _ => url.to_string(),
        };
        Ok(DatabaseUrl { raw: url.to_string(), dialect, driver_url })
    }

    /// The dialect the URL names.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether this is an in-memory SQLite database (one connection, or the data would vanish).
    pub fn is_sqlite_memory(&self) -> bool {
        self.dialect == Dialect::Sqlite && self.driver_url.contains(":memory:")
    }

    pub(crate) fn driver_url(&self) -> &str {
        &self.driver_url
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("url", &redact(&self.raw))
            .field("dialect", &self.dialect)
            .finish()
    }
}

/// Where the password of `scheme://user:password@host/…` sits in `url`, if it has one.
pub(crate) fn password_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    let colon = url[start..at].find(':')? + start;
    Some(colon + 1..at)
}

/// Replaces the password of `scheme://user:password@host` (and of a `password=` query
/// parameter) with `***`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(range) = password_range(url) {
        out.replace_range(range, "***");
    }
    for key in ["password=", "pwd=", "sslpassword="] {
        let mut from = 0;
        while let Some(i) = out[from..].to_ascii_lowercase().find(key).map(|i| from + i + key.len()) {
            let end = out[i..].find('&').map_or(out.len(), |j| i + j);
            out.replace_range(i..end, "***");
            from = i + 3;
        }
    }
    out
}

/// Connection-pool options. Every setter is `const`, so a `static` [`Database`](crate::Database)
/// can carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long to wait for a free connection (or a new one) before failing.
    pub acquire_timeout: Duration,
    /// Close connections idle for longer than this (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Close connections older than this (`None`: never).
    pub max_lifetime: Option<Duration>,
}

impl PoolOptions {
    /// The defaults: 10 connections, 30 s acquire timeout, 10 min idle timeout, 30 min lifetime.
    pub const fn new() -> Self {
        PoolOptions {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
        }
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self::new()
    }
}
