//! What the workspace's test binaries share (the library tests, the CLI's and the web
//! example's): per-test isolated databases on every available backend, statement counting and
//! log capture.

use duo_orm::{Database, Dialect};

pub const POSTGRES_ENV: &str = "DUO_TEST_POSTGRES_URL";
pub const MYSQL_ENV: &str = "DUO_TEST_MYSQL_URL";

/// A database for one test on one backend.
pub struct TestDb {
    pub db: Database,
    pub dialect: Dialect,
    /// The URL of `db`, to open a second, independent pool on the same data.
    pub url: String,
}

impl TestDb {
    fn new(url: String, dialect: Dialect) -> Self {
        TestDb { db: Database::new(url.clone()), dialect, url }
    }

    /// Another `Database` (own pool) on the same data: sees only what `db` committed.
    pub fn other(&self) -> Database {
        Database::new(self.url.clone())
    }
}

/// Set by `.ci/run`: a backend whose URL is missing fails the tests instead of being skipped.
pub const REQUIRE_ALL_ENV: &str = "DUO_TEST_REQUIRE_ALL";

fn env_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os(REQUIRE_ALL_ENV).is_some() => {
            panic!("{var} is not set, but {REQUIRE_ALL_ENV} requires every live backend")
        }
        _ => {
            skip_notice(var);
            None
        }
    }
}

/// Says once per test binary, where the test runner does not hide it, that a backend's tests
/// did not run: they still count as passed, so the line is the only trace.
fn skip_notice(var: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if said.iter().any(|v| v == var) {
        return;
    }
    said.push(var.to_string());
    // Written to the stream itself: the test runner captures `println!`/`eprintln!` of
    // passing tests, and this must show.
    let _ = writeln!(
        std::io::stderr(),
        "\nnotice: {var} is not set, so the tests skip that backend (they still report ok); set it to run them\n"
    );
}

/// `base` with its database path replaced by `database`.
fn with_database(base: &str, database: &str) -> String {
    let (without_query, query) = base.split_once('?').map_or((base, None), |(a, b)| (a, Some(b)));
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let path_start = without_query[scheme_end..].find('/').map_or(without_query.len(), |i| scheme_end + i);
    let mut url = format!("{}/{database}", &without_query[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// One fresh database per available backend for test `name` (unique across the suite).
pub async fn backends(name: &str) -> Vec<TestDb> {
    // Set-up blocks briefly; `.wait()` is safe on an async test's thread.
    backends_sync(name)
}

/// [`backends`] for plain `#[test]` functions.
pub fn backends_sync(name: &str) -> Vec<TestDb> {
    let mut out = Vec::new();
    let file = std::env::temp_dir().join(format!("duo_orm_test_{name}_{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    out.push(TestDb::new(format!("sqlite://{}", file.display()), Dialect::Sqlite));

    if let Some(base) = env_url(POSTGRES_ENV) {
        let schema = format!("t_{name}");
        let admin = Database::new(base.clone());
        admin
            .execute_raw(format!("DROP SCHEMA IF EXISTS {} CASCADE", Dialect::Postgres.quote_identifier(&schema)))
            .wait()
            .expect("drop test schema");
        admin.execute_raw(format!("CREATE SCHEMA {}", Dialect::Postgres.quote_identifier(&schema))).wait().expect("create test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        out.push(TestDb::new(url, Dialect::Postgres));
    }

    if let Some(base) = env_url(MYSQL_ENV) {
        let database = format!("t_{name}");
        let admin = Database::new(base.clone());
        admin
            .execute_raw(format!("DROP DATABASE IF EXISTS {}", Dialect::MySql.quote_identifier(&database)))
            .wait()
            .expect("drop test database");
        admin.execute_raw(format!("CREATE DATABASE {}", Dialect::MySql.quote_identifier(&database))).wait().expect("create test database");
        out.push(TestDb::new(with_database(&base, &database), Dialect::MySql));
    }
    out
}

/// Registers the models and creates their tables.
#[macro_export]
macro_rules! setup {
    ($db:expr, $($model:ty),+ $(,)?) => {{
        $( $db.register::<$model>(); )+
        $db.create_all().await.expect("create_all");
    }};
}

/// [`setup!`] for plain `#[test]` functions.
#[macro_export]
macro_rules! setup_sync {
    ($db:expr, $($model:ty),+ $(,)?) => {{
        $( $db.register::<$model>(); )+
        $db.create_all().wait().expect("create_all");
    }};
}

/// Keeps tracing's process-wide maximum level at TRACE. tracing recomputes that maximum from
/// the live subscribers when one comes or goes; with scoped subscribers coming and going on
/// parallel test threads, a recomputation can miss one and switch spans off for a while. A
/// global subscriber that records nothing but wants every level prevents that.
pub fn keep_tracing_on() {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
}

/// A subscriber that records the SQL of every statement run on this thread (the statement
/// counts of eager loading and graph saves).
pub fn count_statements() -> (std::sync::Arc<std::sync::Mutex<Vec<String>>>, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::layer::SubscriberExt;
    struct Statements(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
    struct Sql(String);
    impl tracing::field::Visit for Sql {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "db.statement" {
                self.0 = format!("{value:?}");
            }
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
        fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
            if attrs.metadata().name() == "duo_orm.query" {
                let mut sql = Sql(String::new());
                attrs.record(&mut sql);
                self.0.lock().unwrap().push(sql.0);
            }
        }
    }
    keep_tracing_on();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(Statements(seen.clone())));
    (seen, guard)
}

/// Runs `work` and returns its value and the number of statements it ran.
pub async fn counted<T>(work: impl std::future::IntoFuture<Output = duo_orm::Result<T>>) -> (T, usize) {
    let (value, statements) = recorded(work).await;
    (value, statements.len())
}

/// Runs `work` and returns its value and the SQL of every statement it ran.
pub async fn recorded<T>(work: impl std::future::IntoFuture<Output = duo_orm::Result<T>>) -> (T, Vec<String>) {
    let (seen, guard) = count_statements();
    let value = work.await.unwrap();
    drop(guard);
    let statements = seen.lock().unwrap().clone();
    (value, statements)
}

/// The five dialects, with the names their exact-SQL snapshots use.
pub const DIALECTS: [(&str, Dialect); 5] = [
    ("postgres", Dialect::Postgres),
    ("mysql", Dialect::MySql),
    ("sqlite", Dialect::Sqlite),
    ("mssql", Dialect::MsSql),
    ("oracle", Dialect::Oracle),
];

/// A rendered query for a snapshot: its WHERE clause and bound values, or its error.
pub fn where_and_values(rendered: duo_orm::Result<duo_orm::Statement>) -> String {
    match rendered {
        Ok(statement) => {
            let sql = statement.sql;
            let where_clause = sql.split_once(" WHERE ").map_or(sql.as_str(), |(_, w)| w).to_string();
            format!("{where_clause}\n    values: {:?}", statement.values.0)
        }
        Err(error) => format!("error: {error}"),
    }
}

/// A writer that keeps everything a tracing subscriber formats.
#[derive(Clone, Default)]
pub struct LogBuffer(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
