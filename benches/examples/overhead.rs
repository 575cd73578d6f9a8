//! Where duo-orm's time goes on the trivial query, compared with raw sqlx (a profiling aid
//! for `docs/src/benchmarks.md`, not part of the criterion suite).
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example overhead -- [sqlite|postgres|mariadb] [N] [rounds]
//! valgrind --tool=callgrind target/release/examples/overhead sqlite 10000 5 --only duo|raw
//! cargo run --release -p duo-orm-benches --example overhead -- insert [sqlite|postgres|mariadb] 0 [rounds]
//! cargo run --release -p duo-orm-benches --example overhead -- bulk [sqlite|postgres|mariadb] 0 [rounds]
//! ```
//!
//! Variants, run interleaved (A B C D, A B C D, …) so that load from other processes hits
//! them alike; each is timed inside a task on a multi-threaded "application" runtime:
//! * `raw sqlx`: the hand-written query on the application runtime;
//! * `raw sqlx + hop`: the same, but spawned onto a second 2-worker runtime and awaited
//!   through its join handle — what duo-orm does for every statement (its own I/O runtime);
//! * `duo-orm`: `User::query().all().on(&db)`;
//! * `duo-orm to_sql`: only building the SQL text (sea-query) — no I/O.
//!
//! Uses the database of the benchmark: a temporary SQLite file, or `duo_orm_bench` on the
//! servers named by `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL`.

use std::time::{Duration, Instant};

use duo_orm::prelude::*;
use futures_util::TryStreamExt;
use sqlx::{Executor, Row};

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "users")]
struct User {
    #[duo(primary_key)]
    id: i32,
    name: String,
    hair_color: Option<String>,
}

#[derive(Clone)]
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// The raw side of the benchmark (`benches/diesel_bench.rs`): streamed, decoded by position.
macro_rules! load {
    ($pool:expr, $row:ty) => {{
        let mut rows = sqlx::query("SELECT id, name, hair_color FROM users").fetch($pool);
        let mut users = Vec::new();
        while let Some(row) = rows.try_next().await.unwrap() {
            let row: $row = row;
            users.push(User { id: row.try_get(0).unwrap(), name: row.try_get(1).unwrap(), hair_color: row.try_get(2).unwrap() });
        }
        users
    }};
}

impl Raw {
    /// Runs trusted SQL with no parameters.
    async fn execute(&self, sql: &'static str) {
        match self {
            Raw::Sqlite(p) => drop(p.execute(sql).await.unwrap()),
            Raw::Postgres(p) => drop(p.execute(sql).await.unwrap()),
            Raw::MySql(p) => drop(p.execute(sql).await.unwrap()),
        }
    }

    async fn load(&self) -> Vec<User> {
        match self {
            Raw::Sqlite(p) => load!(p, sqlx::sqlite::SqliteRow),
            Raw::Postgres(p) => load!(p, sqlx::postgres::PgRow),
            Raw::MySql(p) => load!(p, sqlx::mysql::MySqlRow),
        }
    }

    /// A plain single-row INSERT (the raw side of the insert benchmark).
    async fn insert(&self, name: &str) {
        let hair = Some("hair_color");
        match self {
            Raw::Sqlite(p) => {
                let _ = sqlx::query("INSERT INTO users (name, hair_color) VALUES (?, ?)").bind(name).bind(hair).execute(p).await.unwrap();
            }
            Raw::Postgres(p) => {
                let _ = sqlx::query("INSERT INTO users (name, hair_color) VALUES ($1, $2)").bind(name).bind(hair).execute(p).await.unwrap();
            }
            Raw::MySql(p) => {
                let _ = sqlx::query("INSERT INTO users (name, hair_color) VALUES (?, ?)").bind(name).bind(hair).execute(p).await.unwrap();
            }
        }
    }

    /// An INSERT that reads the row back the way `create` does: RETURNING, or on MySQL an
    /// INSERT then a SELECT by `LAST_INSERT_ID()`.
    async fn insert_returning(&self, name: &str) -> User {
        let hair = Some("hair_color");
        macro_rules! user {
            ($row:expr) => {{
                let row = $row;
                User { id: row.try_get(0).unwrap(), name: row.try_get(1).unwrap(), hair_color: row.try_get(2).unwrap() }
            }};
        }
        match self {
            Raw::Sqlite(p) => user!(
                sqlx::query("INSERT INTO users (name, hair_color) VALUES (?, ?) RETURNING id, name, hair_color")
                    .bind(name)
                    .bind(hair)
                    .fetch_one(p)
                    .await
                    .unwrap()
            ),
            Raw::Postgres(p) => user!(
                sqlx::query("INSERT INTO users (name, hair_color) VALUES ($1, $2) RETURNING id, name, hair_color")
                    .bind(name)
                    .bind(hair)
                    .fetch_one(p)
                    .await
                    .unwrap()
            ),
            Raw::MySql(p) => {
                let done =
                    sqlx::query("INSERT INTO users (name, hair_color) VALUES (?, ?)").bind(name).bind(hair).execute(p).await.unwrap();
                user!(
                    sqlx::query("SELECT id, name, hair_color FROM users WHERE id = ?")
                        .bind(done.last_insert_id() as i64)
                        .fetch_one(p)
                        .await
                        .unwrap()
                )
            }
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let insert = args.next_if_eq("insert").is_some();
    let bulk = !insert && args.next_if_eq("bulk").is_some();
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let n: usize = args.next().map_or(10_000, |a| a.parse().expect("N"));
    let rounds: usize = args.next().map_or(30, |a| a.parse().expect("rounds"));
    let only = match args.next().as_deref() {
        Some("--only") => Some(args.next().expect("--only raw|duo")),
        _ => None,
    };

    let app = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let hop = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sqlite_path = std::env::temp_dir().join(format!("duo_orm_overhead_{}.db", std::process::id()));

    let (raw, url, dialect) = app.block_on(async {
        let with_db = |url: String| {
            let base = url.split('?').next().unwrap().to_string();
            let authority = base.find("://").map_or(0, |i| i + 3);
            let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
            format!("{}/duo_orm_bench", &base[..path])
        };
        match backend.as_str() {
            "sqlite" => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&sqlite_path).create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                pool.execute("PRAGMA journal_mode = WAL").await.unwrap(); // as in the benchmark
                (Raw::Sqlite(pool), format!("sqlite://{}", sqlite_path.display()), Dialect::Sqlite)
            }
            "postgres" => {
                let url = with_db(std::env::var("DUO_TEST_POSTGRES_URL").expect("DUO_TEST_POSTGRES_URL"));
                (Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap()), url, Dialect::Postgres)
            }
            "mariadb" => {
                let url = with_db(std::env::var("DUO_TEST_MYSQL_URL").expect("DUO_TEST_MYSQL_URL"));
                (Raw::MySql(sqlx::MySqlPool::connect(&url).await.unwrap()), url, Dialect::MySql)
            }
            other => panic!("unknown backend {other}"),
        }
    });
    let db: &'static Database = Box::leak(Box::new(Database::new(url)));

    // Fresh table with N rows.
    app.block_on(async {
        let ddl: &[&'static str] = match &raw {
            Raw::Sqlite(_) => &[
                "DROP TABLE IF EXISTS users",
                "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR NOT NULL, hair_color VARCHAR)",
            ],
            Raw::Postgres(_) => {
                &["DROP TABLE IF EXISTS users", "CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR NOT NULL, hair_color VARCHAR)"]
            }
            Raw::MySql(_) => &[
                "DROP TABLE IF EXISTS users",
                "CREATE TABLE users (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, hair_color VARCHAR(255))",
            ],
        };
        for sql in ddl {
            raw.execute(sql).await;
        }
        macro_rules! seed {
            ($pool:expr, $insert:literal) => {{
                let mut tx = $pool.begin().await.unwrap();
                for i in 0..n {
                    sqlx::query($insert).bind(format!("User {i}")).execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }};
        }
        match &raw {
            Raw::Sqlite(p) => seed!(p, "INSERT INTO users (name) VALUES (?)"),
            Raw::Postgres(p) => seed!(p, "INSERT INTO users (name) VALUES ($1)"),
            Raw::MySql(p) => seed!(p, "INSERT INTO users (name) VALUES (?)"),
        }
        assert_eq!(raw.load().await, User::query().all().on(db).await.unwrap());
    });

    let hop_handle = hop.handle().clone();
    if let Some(only) = only {
        // One variant, `rounds` times, for an instruction count under
        // `valgrind --tool=callgrind` (compare two iteration counts: the difference is the cost
        // of the extra queries, free of set-up and of other processes' load).
        let started = Instant::now();
        let variant = only.clone();
        app.block_on(async move {
            tokio::spawn(async move {
                for _ in 0..rounds {
                    match variant.as_str() {
                        "raw" => drop(std::hint::black_box(raw.load().await)),
                        "duo" => drop(std::hint::black_box(User::query().all().on(db).await.unwrap())),
                        other => panic!("--only raw|duo, not {other}"),
                    }
                }
            })
            .await
            .unwrap()
        });
        println!("{backend}, N = {n}: {rounds} × {only} in {:?}", started.elapsed());
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path.display()));
        }
        return;
    }
    if insert || bulk {
        if insert {
            insert_variants(&app, &hop_handle, raw, db, dialect, rounds, &backend);
        } else {
            bulk_variants(&app, raw, db, rounds, &backend);
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path.display()));
        }
        return;
    }
    let names = ["raw sqlx", "raw sqlx + hop", "duo-orm", "duo-orm to_sql"];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    // Enough iterations per sample for ~10 ms of work.
    let iters = (200_000 / n.max(1)).clamp(1, 200) as u32;
    for round in 0..rounds + 3 {
        for (variant, out) in samples.iter_mut().enumerate() {
            let raw = raw.clone();
            let hop_handle = hop_handle.clone();
            let elapsed = app.block_on(async move {
                tokio::spawn(async move {
                    let started = Instant::now();
                    for _ in 0..iters {
                        match variant {
                            0 => drop(std::hint::black_box(raw.load().await)),
                            1 => {
                                let raw = raw.clone();
                                drop(std::hint::black_box(hop_handle.spawn(async move { raw.load().await }).await.unwrap()))
                            }
                            2 => drop(std::hint::black_box(User::query().all().on(db).await.unwrap())),
                            _ => drop(std::hint::black_box(User::query().to_sql(dialect).unwrap())),
                        }
                    }
                    started.elapsed() / iters
                })
                .await
                .unwrap()
            });
            if round >= 3 {
                out.push(elapsed); // the first rounds warm up
            }
        }
    }
    report(&format!("{backend}, N = {n}, {rounds} rounds × {iters} iterations; median per query:"), &names, samples, Unit::Micros);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path.display()));
    }
}

/// `overhead insert <backend> <ignored N> <rounds>`: one single-row insert per iteration.
fn insert_variants(
    app: &tokio::runtime::Runtime,
    hop: &tokio::runtime::Handle,
    raw: Raw,
    db: &'static Database,
    dialect: Dialect,
    rounds: usize,
    backend: &str,
) {
    let names = [
        "raw INSERT",
        "raw INSERT + hop",
        "raw INSERT + read back",
        "raw INSERT + read back + hop",
        "duo-orm create",
        "duo-orm insert_sql",
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let iters = 50u32;
    for round in 0..rounds + 3 {
        for (variant, out) in samples.iter_mut().enumerate() {
            let raw = raw.clone();
            let hop = hop.clone();
            let elapsed = app.block_on(async move {
                tokio::spawn(async move {
                    raw.execute("DELETE FROM users").await;
                    let started = Instant::now();
                    for i in 0..iters {
                        let name = format!("User {i}");
                        match variant {
                            0 => raw.insert(&name).await,
                            1 => {
                                let raw = raw.clone();
                                hop.spawn(async move { raw.insert(&name).await }).await.unwrap()
                            }
                            2 => drop(std::hint::black_box(raw.insert_returning(&name).await)),
                            3 => {
                                let raw = raw.clone();
                                drop(std::hint::black_box(hop.spawn(async move { raw.insert_returning(&name).await }).await.unwrap()))
                            }
                            4 => drop(std::hint::black_box(
                                User::create(json!({"name": name, "hair_color": "hair_color"})).on(db).await.unwrap(),
                            )),
                            _ => drop(std::hint::black_box(
                                User::insert_sql(json!({"name": name, "hair_color": "hair_color"}), dialect).unwrap(),
                            )),
                        }
                    }
                    started.elapsed() / iters
                })
                .await
                .unwrap()
            });
            if round >= 3 {
                out.push(elapsed);
            }
        }
    }
    report(&format!("insert, {backend}, {rounds} rounds × {iters} single-row inserts; median per insert:"), &names, samples, Unit::Micros);
}

/// `overhead bulk <backend> <ignored N> <rounds>`: 10 000 rows per iteration, in multi-row
/// INSERTs of 1 000 rows inside one transaction, interleaved.
fn bulk_variants(app: &tokio::runtime::Runtime, raw: Raw, db: &'static Database, rounds: usize, backend: &str) {
    const ROWS: usize = 10_000;
    const CHUNK: usize = 1_000;
    let names = ["raw QueryBuilder", "duo-orm create_bulk (models)", "duo-orm create_bulk (json)"];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    macro_rules! raw_bulk {
        ($pool:expr, $db:ty) => {{
            let rows: Vec<(String, &str)> = (0..ROWS).map(|i| (format!("User {i}"), "hair_color")).collect();
            let mut tx = $pool.begin().await.unwrap();
            for chunk in rows.chunks(CHUNK) {
                let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO users (name, hair_color) ");
                insert.push_values(chunk, |mut row, (name, hair)| {
                    row.push_bind(name).push_bind(*hair);
                });
                insert.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }};
    }
    // `DUO_BULK_ONLY=0|1|2` runs one variant (for `perf stat`).
    let only: Option<usize> = std::env::var("DUO_BULK_ONLY").ok().and_then(|v| v.parse().ok());
    for round in 0..rounds + 2 {
        for (variant, out) in samples.iter_mut().enumerate() {
            if only.is_some_and(|o| o != variant) {
                out.push(Duration::ZERO);
                continue;
            }
            let raw = raw.clone();
            let elapsed = app.block_on(async move {
                tokio::spawn(async move {
                    raw.execute("DELETE FROM users").await;
                    let started = Instant::now();
                    match (variant, &raw) {
                        (0, Raw::Sqlite(p)) => raw_bulk!(p, sqlx::Sqlite),
                        (0, Raw::Postgres(p)) => raw_bulk!(p, sqlx::Postgres),
                        (0, Raw::MySql(p)) => raw_bulk!(p, sqlx::MySql),
                        (1, _) => {
                            let rows = (0..ROWS).map(|i| User { id: 0, name: format!("User {i}"), hair_color: Some("hair_color".into()) });
                            User::create_bulk(rows).batch_size(CHUNK).on(db).await.unwrap();
                        }
                        _ => {
                            let rows = (0..ROWS).map(|i| json!({"name": format!("User {i}"), "hair_color": "hair_color"}));
                            User::create_bulk(rows).batch_size(CHUNK).on(db).await.unwrap();
                        }
                    }
                    started.elapsed()
                })
                .await
                .unwrap()
            });
            if round >= 2 {
                out.push(elapsed);
            }
        }
    }
    report(&format!("bulk, {backend}, {rounds} rounds × {ROWS} rows; median per run:"), &names, samples, Unit::Millis);
}

#[derive(Clone, Copy)]
enum Unit {
    Micros,
    Millis,
}

/// Prints each variant's median and its ratio to the first variant's.
fn report(title: &str, names: &[&str], samples: Vec<Vec<Duration>>, unit: Unit) {
    println!("{title}");
    let base = median(samples[0].clone());
    for (name, s) in names.iter().zip(samples) {
        let m = median(s);
        let (value, suffix) = match unit {
            Unit::Micros => (m.as_secs_f64() * 1e6, "µs"),
            Unit::Millis => (m.as_secs_f64() * 1e3, "ms"),
        };
        println!("  {name:<30} {value:>10.2} {suffix}   ({:.3} × {})", m.as_secs_f64() / base.as_secs_f64(), names[0]);
    }
}
