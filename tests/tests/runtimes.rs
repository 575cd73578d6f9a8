//! A `static` Database shared by many tokio runtimes (every `#[tokio::test]` has its own)
//! and by plain threads; two Databases are isolated.

use std::future::IntoFuture;

use duo_orm::prelude::*;
use tokio::sync::OnceCell;

/// Shared by every test in this module, each on its own runtime. PostgreSQL when available
/// (connections there are real sockets bound to a runtime), else in-memory SQLite.
static SHARED: Database = Database::from_env(crate::support::POSTGRES_ENV, "sqlite::memory:");

#[derive(Model, Debug)]
#[duo(table = "rt_shared_events", db = SHARED)]
struct Event {
    #[duo(primary_key)]
    id: i64,
    source: String,
}

/// Creates the table once, whichever runtime gets here first (tokio's OnceCell is not tied
/// to a runtime).
async fn ready() {
    static READY: OnceCell<()> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            SHARED.drop_all().await.unwrap();
            SHARED.create_all().await.unwrap();
        })
        .await;
}

async fn write_and_read(source: &str) {
    ready().await;
    for _ in 0..3 {
        Event::create(json!({"source": source})).await.unwrap();
    }
    let n = Event::filter(|e| e.source.eq(source)).count().await.unwrap();
    assert_eq!(n, 3, "{source}");
}

#[tokio::test]
async fn shared_static_runtime_a() {
    write_and_read("runtime-a").await;
}

#[tokio::test]
async fn shared_static_runtime_b() {
    write_and_read("runtime-b").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_static_runtime_c_multi_thread() {
    write_and_read("runtime-c").await;
}

#[test]
fn shared_static_from_runtimes_that_shut_down() {
    // Each runtime is dropped before the next starts: pooled connections must survive that.
    for i in 0..3 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(write_and_read(&format!("short-lived-{i}")));
        drop(runtime);
    }
}

#[test]
fn shared_static_from_plain_threads() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(write_and_read(&format!("thread-{i}")));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn models_bound_to_a_static_are_registered_for_create_all() {
    let tables: Vec<&str> = SHARED.models().iter().map(|m| m.table).collect();
    assert_eq!(tables, ["rt_shared_events"]);
}

#[derive(Model, Debug)]
#[duo(table = "iso_notes")]
struct Note {
    #[duo(primary_key)]
    id: i64,
    body: String,
}

#[tokio::test]
async fn two_databases_are_isolated() {
    let dir = std::env::temp_dir();
    let first = Database::new(format!("sqlite://{}/duo_iso_a_{}.db", dir.display(), std::process::id()));
    let second = Database::new(format!("sqlite://{}/duo_iso_b_{}.db", dir.display(), std::process::id()));
    first.register::<Note>();
    assert_eq!(first.models().len(), 1);
    assert!(second.models().is_empty(), "registries are per database");
    first.drop_all().await.unwrap();
    first.create_all().await.unwrap();
    second.create_all().await.unwrap();
    Note::create(json!({"body": "only in first"})).on(&first).await.unwrap();
    assert_eq!(Note::query().count().on(&first).await.unwrap(), 1);
    // `second` never created the table: its pool and schema are its own.
    assert!(Note::query().count().on(&second).await.is_err());
    first.disconnect().await.unwrap();
    // After disconnect the next use reconnects.
    assert_eq!(Note::query().count().on(&first).await.unwrap(), 1);
}

/// Statements from 30 runtimes that each shut down, some cancelled mid-flight, on a pool of
/// two connections: a connection lost to a dead runtime or a cancellation would exhaust the
/// pool (the next statement fails after the acquire timeout), and rows must all survive.
fn survive_dying_runtimes(db: &'static Database) {
    let block_on = |work: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(work);
    };
    block_on(Box::pin(async {
        db.execute_raw("DROP TABLE IF EXISTS rt_dying").await.unwrap();
        db.execute_raw("CREATE TABLE rt_dying (n INTEGER NOT NULL)").await.unwrap();
    }));
    for _ in 0..30 {
        block_on(Box::pin(async {
            for _ in 0..3 {
                db.execute_raw("INSERT INTO rt_dying (n) VALUES (1)").await.unwrap();
            }
            // Cancel a statement wherever it happens to be (or let it finish).
            let _ = tokio::time::timeout(std::time::Duration::ZERO, db.execute_raw("SELECT 2")).await;
        }));
    }
    block_on(Box::pin(async {
        let both = futures_util::future::join(db.execute_raw("SELECT 3").into_future(), db.execute_raw("SELECT 4").into_future()).await;
        both.0.unwrap();
        both.1.unwrap();
        assert_eq!(db.execute_raw("DELETE FROM rt_dying").await.unwrap(), 90, "every row survived");
    }));
}

#[test]
fn dying_runtimes_and_cancelled_statements_do_not_leak_connections() {
    // PostgreSQL when available (server sockets stay on the I/O runtime), else in-memory
    // SQLite (whose single connection must never close).
    static SMALL: Database = Database::from_env(crate::support::POSTGRES_ENV, "sqlite::memory:")
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(5));
    survive_dying_runtimes(&SMALL);
}

#[test]
fn dying_runtimes_do_not_leak_file_sqlite_connections() {
    // File SQLite connections are returned on the caller's runtime: that must not leak either.
    let file = std::env::temp_dir().join(format!("duo_dying_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let db = Database::new(format!("sqlite://{}", file.display())).max_connections(2).acquire_timeout(std::time::Duration::from_secs(5));
    survive_dying_runtimes(Box::leak(Box::new(db)));
}

/// Server connections live in a pool of the runtime that uses them, which goes (connections
/// closed) when that runtime shuts down: runtimes that come and go do not pile up connections.
#[test]
fn a_runtimes_connections_close_with_it() {
    let Some(base) = std::env::var(crate::support::POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!("notice: {} is not set; skipping the runtime-pool test", crate::support::POSTGRES_ENV);
        return;
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let tag = format!("duo_rt_pool_{}", std::process::id());
    let db = Database::new(format!("{base}{separator}application_name={tag}"));
    // The server's count of this database's connections, asked on a connection of its own.
    let connections = || -> i64 {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            use duo_orm::sqlx::{Connection, Row};
            let mut observer = duo_orm::sqlx::PgConnection::connect(&base).await.unwrap();
            let sql = format!("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '{tag}'");
            let n = duo_orm::sqlx::query(duo_orm::sqlx::AssertSqlSafe(sql)).fetch_one(&mut observer).await.unwrap().get("n");
            observer.close().await.unwrap();
            n
        })
    };
    for round in 0..5 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            db.execute_raw("SELECT 1").await.unwrap();
            // Three statements at once: the pool of this runtime opens up to three connections.
            let (a, b, c) = tokio::join!(
                db.execute_raw("SELECT pg_sleep(0.05)").into_future(),
                db.execute_raw("SELECT pg_sleep(0.05)").into_future(),
                db.execute_raw("SELECT pg_sleep(0.05)").into_future()
            );
            a.unwrap();
            b.unwrap();
            c.unwrap();
        });
        drop(runtime);
        // The server notices closed sockets at once; give it a moment.
        let mut open = connections();
        for _ in 0..50 {
            if open == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            open = connections();
        }
        assert_eq!(open, 0, "round {round}: the runtime's connections outlived it");
    }
}
