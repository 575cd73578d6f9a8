//! What the interleaved examples share: the raw sqlx pool of the backend under test, the
//! benchmark database's URL, and medians.

use std::path::Path;
use std::time::Duration;

/// The hand-written side's pool.
#[derive(Clone)]
pub enum Pools {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// Opens `backend` (`sqlite`, `postgres`, `mariadb`): a SQLite file at `sqlite_path`, or the
/// `duo_orm_bench` database of the server `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL` names.
/// Returns the raw pool and the URL for duo-orm.
pub async fn open(backend: &str, sqlite_path: &Path) -> (Pools, String) {
    match backend {
        "sqlite" => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(sqlite_path).create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            (Pools::Sqlite(pool), format!("sqlite://{}", sqlite_path.display()))
        }
        "postgres" => {
            let url = bench_url("DUO_TEST_POSTGRES_URL");
            (Pools::Postgres(sqlx::PgPool::connect(&url).await.unwrap()), url)
        }
        "mariadb" => {
            let url = bench_url("DUO_TEST_MYSQL_URL");
            (Pools::MySql(sqlx::MySqlPool::connect(&url).await.unwrap()), url)
        }
        other => panic!("unknown backend {other}"),
    }
}

/// The `duo_orm_bench` database on the server of the URL in `var`.
pub fn bench_url(var: &str) -> String {
    let url = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set"));
    let base = url.split('?').next().unwrap_or(&url).to_string();
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    format!("{}/duo_orm_bench", &base[..path])
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Removes a SQLite database file and its companions.
pub fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
