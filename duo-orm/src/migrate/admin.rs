//! Creating and dropping the database a URL names (what `duo-orm database create | drop`
//! runs): a SQLite file, or a database on a PostgreSQL or MariaDB/MySQL server, reached through
//! the server's maintenance database.

use crate::config::{DatabaseUrl, percent_decode};
use crate::database::Database;
use crate::dialect::{Dialect, Statement};
use crate::error::{ConfigurationKind, Error, Result};

/// What a URL names, for creating or dropping it.
enum Target {
    /// A SQLite database file.
    File(std::path::PathBuf),
    /// A database on a server: its name, and the URL of the server's maintenance database.
    Server { name: String, dialect: Dialect, maintenance: String },
}

fn target(url: &str) -> Result<Target> {
    let parsed = DatabaseUrl::parse(url)?;
    let driver = parsed.driver_url();
    match parsed.dialect() {
        Dialect::Sqlite => parsed.sqlite_file().map(Target::File).ok_or_else(|| {
            Error::config(ConfigurationKind::Url, format!("`{parsed}` is an in-memory database: there is no file to create or drop"))
        }),
        dialect @ (Dialect::Postgres | Dialect::MySql) => {
            let (scheme, rest) = driver.split_once("://").unwrap_or(("", driver));
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, after) = rest.split_at(authority_end);
            let (path, query) = after.split_once('?').map_or((after, None), |(p, q)| (p, Some(q)));
            // PostgreSQL's driver lets `?dbname=` override the path: that is the database the
            // app uses, and it must not follow the maintenance connection.
            let mut name = percent_decode(path.trim_start_matches('/'));
            let mut kept = Vec::new();
            for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some((key, value)) if dialect == Dialect::Postgres && percent_decode(key) == "dbname" => {
                        name = percent_decode(value);
                    }
                    _ => kept.push(pair),
                }
            }
            let query = (!kept.is_empty()).then(|| kept.join("&"));
            if name.is_empty() {
                return Err(Error::config(ConfigurationKind::Url, format!("`{parsed}` names no database (the path after the host)")));
            }
            if name.contains('\0') {
                return Err(Error::config(ConfigurationKind::Url, "a database name cannot contain NUL"));
            }
            // PostgreSQL needs some database to connect to: its own `postgres`; MySQL none.
            let maintenance_db = if dialect == Dialect::Postgres { "postgres" } else { "" };
            let maintenance = match &query {
                Some(query) => format!("{scheme}://{authority}/{maintenance_db}?{query}"),
                None => format!("{scheme}://{authority}/{maintenance_db}"),
            };
            Ok(Target::Server { name, dialect, maintenance })
        }
        other => Err(Error::unsupported(other, "creating or dropping a database (no driver yet)")),
    }
}

/// Whether the database `url` names exists.
pub async fn database_exists(url: &str) -> Result<bool> {
    match target(url)? {
        Target::File(path) => Ok(path.is_file()),
        Target::Server { name, dialect, maintenance } => {
            let server = Database::new(maintenance);
            let sql = match dialect {
                Dialect::Postgres => "SELECT COUNT(*) FROM pg_database WHERE datname = $1",
                _ => "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            };
            let found = server.fetch_scalar(Statement { sql: sql.into(), values: sea_query::Values(vec![name.into()]) }).await;
            server.disconnect().await?;
            Ok(found?.unwrap_or(0) > 0)
        }
    }
}

/// Creates the database `url` names; `false` when it already existed.
pub async fn create_database(url: &str) -> Result<bool> {
    if database_exists(url).await? {
        return Ok(false);
    }
    match target(url)? {
        Target::File(_) => {
            // Opening a SQLite database creates its file.
            let database = Database::new(url);
            let opened = database.connect().await;
            database.disconnect().await?;
            opened?;
        }
        Target::Server { name, dialect, maintenance } => {
            on_server(maintenance, format!("CREATE DATABASE {}", dialect.quote_identifier(&name))).await?;
        }
    }
    Ok(true)
}

/// Drops the database `url` names, with everything in it; `false` when it did not exist. A
/// server refuses while other sessions are connected to it.
pub async fn drop_database(url: &str) -> Result<bool> {
    if !database_exists(url).await? {
        return Ok(false);
    }
    match target(url)? {
        Target::File(path) => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(Error::Io(error)),
                }
            }
        }
        Target::Server { name, dialect, maintenance } => {
            on_server(maintenance, format!("DROP DATABASE IF EXISTS {}", dialect.quote_identifier(&name))).await?;
        }
    }
    Ok(true)
}

/// Runs `sql` on the server's maintenance database, closing the connection after.
async fn on_server(maintenance: String, sql: String) -> Result<()> {
    let server = Database::new(maintenance);
    let outcome = server.execute_raw(sql).await;
    server.disconnect().await?;
    outcome.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> (String, String) {
        match target(url) {
            Ok(Target::Server { name, maintenance, .. }) => (name, maintenance),
            Ok(Target::File(path)) => panic!("{url}: a file {path:?}"),
            Err(error) => panic!("{url}: {error}"),
        }
    }

    #[test]
    fn the_maintenance_connection_keeps_the_options_and_never_the_database() {
        assert_eq!(server("postgres://u:p@h:5433/app"), ("app".into(), "postgres://u:p@h:5433/postgres".into()));
        assert_eq!(
            server("postgres://u@h/ignored?sslmode=disable&dbname=real%20one"),
            ("real one".into(), "postgres://u@h/postgres?sslmode=disable".into())
        );
        // MySQL has no `dbname` option: it is passed through, and the path names the database.
        assert_eq!(server("mysql://root@h/shop?dbname=x"), ("shop".into(), "mysql://root@h/?dbname=x".into()));
        assert_eq!(server("mysql://root@h/we%60ird"), ("we`ird".into(), "mysql://root@h/".into()));
    }

    #[test]
    fn what_cannot_be_created_says_why() {
        for url in ["postgres://h", "postgres://h/?sslmode=disable", "mysql://root@h"] {
            assert!(
                matches!(target(url), Err(Error::Configuration { kind: ConfigurationKind::Url, ref message }) if message.contains("names no database")),
                "{url}"
            );
        }
        assert!(matches!(target("postgres://h/a%00b"), Err(Error::Configuration { ref message, .. }) if message.contains("NUL")));
        assert!(
            matches!(target("sqlite::memory:"), Err(Error::Configuration { kind: ConfigurationKind::Url, ref message }) if message.contains("in-memory"))
        );
        for url in ["mssql://sa:pw@h/app", "oracle://u:pw@h/app"] {
            assert!(matches!(target(url), Err(Error::UnsupportedOperation { .. })), "{url}");
        }
    }
}
