//! duo-orm against hand-written sqlx on two of diesel's public `diesel_bench` workloads
//! (see `docs/src/benchmarks.md` and the "Reference workloads" of the design notes).
//!
//! * `trivial_query/<backend>`: N users (`name = "User {i}"`, `hair_color` NULL), then
//!   `SELECT id, name, hair_color FROM users` into a `Vec<User>`; N = 1, 100, 10 000.
//! * `insert/<backend>`: N users with `hair_color = "hair_color"`, N = 1, 100.
//! * `bulk_insert/<backend>`: 10 000 users in multi-row INSERTs of 1 000 rows, one transaction.
//! * `unit_of_work/<backend>`: 100 point lookups awaited plainly, inside an ambient
//!   transaction, and `.wait()`ed from a plain thread (no raw sqlx side: the baseline is the
//!   plain async path).
//! * `associations/<backend>`: 100 users × 10 posts × 10 comments; load the users, their
//!   posts and those posts' comments, grouped per owner. duo-orm's eager loading
//!   (`related(|u| u.posts.then(|p| p.comments))`) against hand-written sqlx that builds `IN`
//!   lists and groups the rows with hash maps.
//!
//! * `medium/<backend>`: N users, every other one with `hair_color = 'black'`, no posts; load
//!   `users LEFT JOIN posts WHERE hair_color = 'black'` as `(user, Option<post>)` pairs;
//!   N = 1, 100, 1 000. duo-orm's `left_join(|u| u.posts)` against a hand-written join decoded
//!   by position.
//!
//! Each group measures `duo-orm` and `raw sqlx` side by side on the same database file or
//! server database, each through its own connection pool. SQLite always runs (a temporary
//! file, so both pools see the same rows); PostgreSQL runs when `DUO_TEST_POSTGRES_URL` is set
//! and MariaDB/MySQL when `DUO_TEST_MYSQL_URL` is set. On a server the benchmark works in a
//! database of its own, `duo_orm_bench` (created when missing), so it never touches the tables
//! of the test suite; it falls back to the given database when it may not create one.
//!
//! Run: `cargo bench -p duo-orm-benches`, then `python3 benches/ratios.py`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use duo_orm::prelude::*;
use duo_orm_benches::associations::{self, ASSOCIATION_SHAPE, Loaded, normalize};
use duo_orm_benches::medium;
use futures_util::TryStreamExt;
use sqlx::{Connection, Executor, Row};

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "users")]
struct User {
    #[duo(primary_key)]
    id: i32,
    name: String,
    hair_color: Option<String>,
}

const TRIVIAL_SIZES: [usize; 3] = [1, 100, 10_000];
const INSERT_SIZES: [usize; 2] = [1, 100];
/// Rows of the bulk insert workload, and rows per INSERT statement on both sides (duo-orm's
/// default `batch_size`).
const BULK_ROWS: usize = 10_000;
const BULK_CHUNK: usize = 1_000;
/// Point lookups per iteration of the unit-of-work workload.
const LOOKUPS: usize = 100;
/// The servers' database of the benchmark (spelled out in the CREATE DATABASE statements too).
const BENCH_DATABASE: &str = "duo_orm_bench";

/// The hand-written side: a plain sqlx pool of the backend's own type.
enum RawPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// Generates the raw-sqlx operations once per backend: the code is the same, only the pool
/// type, the row type and the placeholder syntax differ.
macro_rules! raw_backend {
    ($module:ident, $db:ty, $pool:ty, $row:ty, $insert:literal) => {
        mod $module {
            use super::*;

            /// `SELECT id, name, hair_color FROM users`, decoded by position as the rows stream
            /// in. (`query(..).try_map(..).fetch_all(..)` reads the same but goes through one
            /// more stream adapter of sqlx: 5-10 % more CPU per row under callgrind.)
            pub async fn load_users(pool: &$pool) -> sqlx::Result<Vec<User>> {
                let mut rows = sqlx::query("SELECT id, name, hair_color FROM users").fetch(pool);
                let mut users = Vec::new();
                while let Some(row) = rows.try_next().await? {
                    let row: $row = row;
                    users.push(User { id: row.try_get(0)?, name: row.try_get(1)?, hair_color: row.try_get(2)? });
                }
                Ok(users)
            }

            /// One single-row INSERT (no RETURNING: a hand-written insert that does not need
            /// the row back does not ask for it).
            pub async fn insert_user(pool: &$pool, name: &str, hair_color: Option<&str>) -> sqlx::Result<()> {
                sqlx::query($insert).bind(name).bind(hair_color).execute(pool).await.map(drop)
            }

            /// `n` users in multi-row INSERTs of `BULK_CHUNK` rows, in one transaction: what
            /// one writes by hand with sqlx's `QueryBuilder`.
            pub async fn insert_bulk(pool: &$pool, n: usize) -> sqlx::Result<()> {
                let rows: Vec<(String, &str)> = (0..n).map(|i| (format!("User {i}"), "hair_color")).collect();
                let mut tx = pool.begin().await?;
                for chunk in rows.chunks(BULK_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO users (name, hair_color) ");
                    insert.push_values(chunk, |mut row, (name, hair_color)| {
                        row.push_bind(name).push_bind(*hair_color);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await
            }

            /// `n` users named `User {i}` with `hair_color(i)`, in one transaction.
            pub async fn seed(pool: &$pool, n: usize, hair_color: fn(usize) -> Option<&'static str>) -> sqlx::Result<()> {
                let mut tx = pool.begin().await?;
                tx.execute("DELETE FROM users").await?;
                for i in 0..n {
                    sqlx::query($insert).bind(format!("User {i}")).bind(hair_color(i)).execute(&mut *tx).await?;
                }
                tx.commit().await
            }
        }
    };
}

raw_backend!(raw_sqlite, sqlx::Sqlite, sqlx::SqlitePool, sqlx::sqlite::SqliteRow, "INSERT INTO users (name, hair_color) VALUES (?, ?)");
raw_backend!(raw_postgres, sqlx::Postgres, sqlx::PgPool, sqlx::postgres::PgRow, "INSERT INTO users (name, hair_color) VALUES ($1, $2)");
raw_backend!(raw_mysql, sqlx::MySql, sqlx::MySqlPool, sqlx::mysql::MySqlRow, "INSERT INTO users (name, hair_color) VALUES (?, ?)");

impl RawPool {
    async fn load_users(&self) -> sqlx::Result<Vec<User>> {
        match self {
            RawPool::Sqlite(pool) => raw_sqlite::load_users(pool).await,
            RawPool::Postgres(pool) => raw_postgres::load_users(pool).await,
            RawPool::MySql(pool) => raw_mysql::load_users(pool).await,
        }
    }

    async fn insert_user(&self, name: &str, hair_color: Option<&str>) -> sqlx::Result<()> {
        match self {
            RawPool::Sqlite(pool) => raw_sqlite::insert_user(pool, name, hair_color).await,
            RawPool::Postgres(pool) => raw_postgres::insert_user(pool, name, hair_color).await,
            RawPool::MySql(pool) => raw_mysql::insert_user(pool, name, hair_color).await,
        }
    }

    async fn insert_bulk(&self, n: usize) -> sqlx::Result<()> {
        match self {
            RawPool::Sqlite(pool) => raw_sqlite::insert_bulk(pool, n).await,
            RawPool::Postgres(pool) => raw_postgres::insert_bulk(pool, n).await,
            RawPool::MySql(pool) => raw_mysql::insert_bulk(pool, n).await,
        }
    }

    async fn seed(&self, n: usize, hair_color: fn(usize) -> Option<&'static str>) -> sqlx::Result<()> {
        match self {
            RawPool::Sqlite(pool) => raw_sqlite::seed(pool, n, hair_color).await,
            RawPool::Postgres(pool) => raw_postgres::seed(pool, n, hair_color).await,
            RawPool::MySql(pool) => raw_mysql::seed(pool, n, hair_color).await,
        }
    }

    async fn load_medium(&self) -> medium::Medium {
        match self {
            RawPool::Sqlite(pool) => medium::load_sqlite(pool).await,
            RawPool::Postgres(pool) => medium::load_postgres(pool).await,
            RawPool::MySql(pool) => medium::load_mysql(pool).await,
        }
        .expect("raw sqlx medium")
    }

    async fn load_associations(&self) -> sqlx::Result<Loaded> {
        match self {
            RawPool::Sqlite(pool) => associations::load_sqlite(pool).await,
            RawPool::Postgres(pool) => associations::load_postgres(pool).await,
            RawPool::MySql(pool) => associations::load_mysql(pool).await,
        }
    }

    async fn execute(&self, sql: &'static str) -> sqlx::Result<()> {
        match self {
            RawPool::Sqlite(pool) => pool.execute(sql).await.map(drop),
            RawPool::Postgres(pool) => pool.execute(sql).await.map(drop),
            RawPool::MySql(pool) => pool.execute(sql).await.map(drop),
        }
    }

    async fn close(&self) {
        match self {
            RawPool::Sqlite(pool) => pool.close().await,
            RawPool::Postgres(pool) => pool.close().await,
            RawPool::MySql(pool) => pool.close().await,
        }
    }
}

/// One backend run: the duo-orm database and the raw pool on the same data.
struct Backend {
    name: &'static str,
    db: Database,
    raw: RawPool,
    /// The reference schema (`users(id serial pk, name varchar not null, hair_color varchar)`,
    /// index on `hair_color`), written for this backend.
    ddl: &'static [&'static str],
    /// Removed when the run ends (SQLite's temporary file).
    cleanup: Option<std::path::PathBuf>,
}

// diesel_bench's schema (without foreign-key constraints, so the other workloads may empty
// `users` while posts remain).
const SQLITE_DDL: &[&str] = &[
    "DROP TABLE IF EXISTS comments",
    "DROP TABLE IF EXISTS posts",
    "DROP TABLE IF EXISTS users",
    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR NOT NULL, hair_color VARCHAR)",
    "CREATE INDEX users_hair_color ON users (hair_color)",
    "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, title VARCHAR NOT NULL, body TEXT)",
    "CREATE INDEX posts_user_id ON posts (user_id)",
    "CREATE TABLE comments (id INTEGER PRIMARY KEY AUTOINCREMENT, post_id INTEGER NOT NULL, text TEXT NOT NULL)",
    "CREATE INDEX comments_post_id ON comments (post_id)",
];
const POSTGRES_DDL: &[&str] = &[
    "DROP TABLE IF EXISTS comments",
    "DROP TABLE IF EXISTS posts",
    "DROP TABLE IF EXISTS users",
    "CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR NOT NULL, hair_color VARCHAR)",
    "CREATE INDEX users_hair_color ON users (hair_color)",
    "CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR NOT NULL, body TEXT)",
    "CREATE INDEX posts_user_id ON posts (user_id)",
    "CREATE TABLE comments (id SERIAL PRIMARY KEY, post_id INTEGER NOT NULL, text TEXT NOT NULL)",
    "CREATE INDEX comments_post_id ON comments (post_id)",
];
const MYSQL_DDL: &[&str] = &[
    "DROP TABLE IF EXISTS comments",
    "DROP TABLE IF EXISTS posts",
    "DROP TABLE IF EXISTS users",
    "CREATE TABLE users (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, hair_color VARCHAR(255))",
    "CREATE INDEX users_hair_color ON users (hair_color)",
    "CREATE TABLE posts (id INTEGER AUTO_INCREMENT PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(255) NOT NULL, body TEXT)",
    "CREATE INDEX posts_user_id ON posts (user_id)",
    "CREATE TABLE comments (id INTEGER AUTO_INCREMENT PRIMARY KEY, post_id INTEGER NOT NULL, text TEXT NOT NULL)",
    "CREATE INDEX comments_post_id ON comments (post_id)",
];

/// `url` with its database (path) replaced by `database`, query string kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}/{database}{query}", &base[..path])
}

/// Creates the benchmark's own database on the server at `url` and returns its URL, or the
/// given URL (with a notice) when that is not possible.
async fn bench_database_url(name: &str, url: &str, postgres: bool) -> String {
    let created: sqlx::Result<()> = async {
        if postgres {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let exists =
                sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1").bind(BENCH_DATABASE).fetch_optional(&mut conn).await?.is_some();
            if !exists {
                conn.execute("CREATE DATABASE duo_orm_bench").await?;
            }
            conn.close().await
        } else {
            let mut conn = sqlx::MySqlConnection::connect(url).await?;
            conn.execute("CREATE DATABASE IF NOT EXISTS duo_orm_bench").await?;
            conn.close().await
        }
    }
    .await;
    match created {
        Ok(()) => with_database(url, BENCH_DATABASE),
        Err(e) => {
            eprintln!("notice: {name}: cannot create database `{BENCH_DATABASE}` ({e}); using the given database");
            url.to_string()
        }
    }
}

async fn sqlite_backend() -> Backend {
    let path = std::env::temp_dir().join(format!("duo_orm_bench_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("cannot open the SQLite benchmark file");
    // Persistent in the file, so the duo-orm pool's connections use it too: each INSERT then
    // costs a WAL append instead of a rollback-journal fsync dance.
    pool.execute("PRAGMA journal_mode = WAL").await.expect("cannot switch SQLite to WAL");
    Backend { name: "sqlite", db: Database::new(url), raw: RawPool::Sqlite(pool), ddl: SQLITE_DDL, cleanup: Some(path) }
}

async fn server_backend(name: &'static str, var: &str, postgres: bool) -> Option<Backend> {
    let Ok(url) = std::env::var(var) else {
        eprintln!("notice: {var} is not set: skipping the {name} benchmarks");
        return None;
    };
    let url = bench_database_url(name, &url, postgres).await;
    let raw = if postgres {
        sqlx::PgPool::connect(&url).await.map(RawPool::Postgres)
    } else {
        sqlx::MySqlPool::connect(&url).await.map(RawPool::MySql)
    };
    match raw {
        Ok(raw) => {
            let ddl = if postgres { POSTGRES_DDL } else { MYSQL_DDL };
            Some(Backend { name, db: Database::new(url), raw, ddl, cleanup: None })
        }
        Err(e) => {
            eprintln!("notice: cannot connect to {name} ({e}): skipping the {name} benchmarks");
            None
        }
    }
}

/// Times `work` the way an application runs it: inside a task spawned on the multi-threaded
/// benchmark runtime (a request handler), not in `block_on` on the main thread, where every
/// I/O wake-up of the raw side would need a cross-thread hand-off that an application never
/// pays. With `reset`, the table is emptied before each iteration, untimed.
fn measure<W, F, O>(b: &mut criterion::Bencher<'_>, rt: &tokio::runtime::Runtime, backend: &'static Backend, reset: bool, work: W)
where
    W: Fn() -> F + Copy + Send + 'static,
    F: std::future::Future<Output = O> + Send,
    O: Send,
{
    b.to_async(rt).iter_custom(|iters| async move {
        tokio::spawn(async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if reset {
                    backend.raw.execute("DELETE FROM users").await.expect("emptying users");
                }
                let started = Instant::now();
                black_box(work().await);
                total += started.elapsed();
            }
            total
        })
        .await
        .expect("benchmark task")
    });
}

fn trivial_query(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &'static Backend) {
    let mut group = c.benchmark_group(format!("trivial_query/{}", backend.name));
    for n in TRIVIAL_SIZES {
        rt.block_on(async {
            backend.raw.seed(n, |_| None).await.expect("seeding users");
            // Both sides must load the same rows.
            let raw = backend.raw.load_users().await.expect("raw sqlx load");
            let orm = User::query().all().on(&backend.db).await.expect("duo-orm load");
            assert_eq!(raw.len(), n);
            assert_eq!(raw, orm, "duo-orm and raw sqlx disagree on {}", backend.name);
        });
        if n >= 10_000 {
            group.sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::new("duo-orm", n), &n, |b, _| {
            measure(b, rt, backend, false, move || async move { User::query().all().on(&backend.db).await.unwrap() })
        });
        group.bench_with_input(BenchmarkId::new("raw sqlx", n), &n, |b, _| {
            measure(b, rt, backend, false, move || async move { backend.raw.load_users().await.unwrap() })
        });
    }
    group.finish();
}

/// duo-orm has no bulk insert yet (`create_bulk` comes in a later issue), so both sides run N
/// single-row INSERT statements per iteration: duo-orm `User::create(..)` in a loop (which
/// also reads each row back: RETURNING on SQLite/PostgreSQL, a SELECT by key on MySQL), raw
/// sqlx the same number of plain INSERTs. The multi-row insert of the reference workload is
/// compared once `create_bulk` exists. The table is emptied before every iteration, untimed.
fn insert(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &'static Backend) {
    let mut group = c.benchmark_group(format!("insert/{}", backend.name));
    // One iteration of 100 inserts can take tens of milliseconds: flat sampling keeps the
    // iteration count (and the run time) bounded.
    group.sampling_mode(SamplingMode::Flat);
    for n in INSERT_SIZES {
        group.bench_with_input(BenchmarkId::new("duo-orm", n), &n, |b, &n| {
            measure(b, rt, backend, true, move || async move {
                for i in 0..n {
                    let user =
                        User::create(json!({"name": format!("User {i}"), "hair_color": "hair_color"})).on(&backend.db).await.unwrap();
                    black_box(user);
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("raw sqlx", n), &n, |b, &n| {
            measure(b, rt, backend, true, move || async move {
                for i in 0..n {
                    backend.raw.insert_user(&format!("User {i}"), Some("hair_color")).await.unwrap();
                }
            })
        });
    }
    group.finish();
    rt.block_on(async {
        // Sanity: duo-orm's rows are what the raw side would write.
        backend.raw.execute("DELETE FROM users").await.unwrap();
        let user = User::create(json!({"name": "User 0", "hair_color": "hair_color"})).on(&backend.db).await.unwrap();
        assert_eq!(user.hair_color.as_deref(), Some("hair_color"));
        assert_eq!(backend.raw.load_users().await.unwrap(), vec![user]);
    });
}

/// The reference workload's multi-row insert: 10 000 users, `create_bulk` (of model instances,
/// and of `json!` maps) against sqlx's `QueryBuilder::push_values`, all in chunks of 1 000 rows
/// inside one transaction. The table is emptied before every iteration, untimed.
fn bulk_insert(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &'static Backend) {
    let mut group = c.benchmark_group(format!("bulk_insert/{}", backend.name));
    group.sampling_mode(SamplingMode::Flat);
    // Typed rows (model instances: their values go straight to the binds) …
    group.bench_with_input(BenchmarkId::new("duo-orm", BULK_ROWS), &BULK_ROWS, |b, &n| {
        measure(b, rt, backend, true, move || async move {
            let rows = (0..n).map(|i| User { id: 0, name: format!("User {i}"), hair_color: Some("hair_color".into()) });
            User::create_bulk(rows).batch_size(BULK_CHUNK).on(&backend.db).await.unwrap()
        })
    });
    // … and JSON maps (each row a `json!` object, resolved by field name).
    group.bench_with_input(BenchmarkId::new("duo-orm json", BULK_ROWS), &BULK_ROWS, |b, &n| {
        measure(b, rt, backend, true, move || async move {
            let rows = (0..n).map(|i| json!({"name": format!("User {i}"), "hair_color": "hair_color"}));
            User::create_bulk(rows).batch_size(BULK_CHUNK).on(&backend.db).await.unwrap()
        })
    });
    group.bench_with_input(BenchmarkId::new("raw sqlx", BULK_ROWS), &BULK_ROWS, |b, &n| {
        measure(b, rt, backend, true, move || async move { backend.raw.insert_bulk(n).await.unwrap() })
    });
    group.finish();
    rt.block_on(async {
        backend.raw.execute("DELETE FROM users").await.unwrap();
        User::create_bulk((0..3).map(|i| json!({"name": format!("User {i}"), "hair_color": "hair_color"}))).on(&backend.db).await.unwrap();
        let orm = backend.raw.load_users().await.unwrap();
        backend.raw.execute("DELETE FROM users").await.unwrap();
        backend.raw.insert_bulk(3).await.unwrap();
        let raw = backend.raw.load_users().await.unwrap();
        let strip = |users: Vec<User>| users.into_iter().map(|u| (u.name, u.hair_color)).collect::<Vec<_>>();
        assert_eq!(strip(orm), strip(raw), "both sides write the same rows on {}", backend.name);
    });
}

/// What the unit of work and the sync API cost per operation: 100 point lookups
/// (`User::get`) awaited plainly ("async", the baseline), awaited inside one ambient
/// transaction ("ambient transaction"), and `.wait()`ed from a plain thread ("sync wait").
fn unit_of_work(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &'static Backend) {
    rt.block_on(async { backend.raw.seed(LOOKUPS, |_| None).await.expect("seeding users") });
    let first_id = rt.block_on(async { backend.raw.load_users().await.unwrap()[0].id });
    let mut group = c.benchmark_group(format!("unit_of_work/{}", backend.name));
    group.bench_function(BenchmarkId::new("async", LOOKUPS), |b| {
        measure(b, rt, backend, false, move || async move {
            for i in 0..LOOKUPS as i32 {
                black_box(User::get(first_id + i).on(&backend.db).await.unwrap());
            }
        })
    });
    group.bench_function(BenchmarkId::new("ambient transaction", LOOKUPS), |b| {
        measure(b, rt, backend, false, move || async move {
            backend
                .db
                .transaction(async {
                    for i in 0..LOOKUPS as i32 {
                        black_box(User::get(first_id + i).on(&backend.db).await?);
                    }
                    Ok(())
                })
                .await
                .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("sync wait", LOOKUPS), |b| {
        b.iter_custom(|iters| {
            std::thread::spawn(move || {
                let started = Instant::now();
                for _ in 0..iters {
                    for i in 0..LOOKUPS as i32 {
                        black_box(User::get(first_id + i).on(&backend.db).wait().unwrap());
                    }
                }
                started.elapsed()
            })
            .join()
            .expect("sync benchmark thread")
        })
    });
    group.finish();
}

/// The associations workload: seeds 100 users × 10 posts × 10 comments (untimed, with
/// `create_bulk`), checks that both sides load the same tree, then measures them.
fn associations(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &'static Backend) {
    let (users, posts_per_user, comments_per_post) = ASSOCIATION_SHAPE;
    rt.block_on(async {
        for sql in ["DELETE FROM comments", "DELETE FROM posts", "DELETE FROM users"] {
            backend.raw.execute(sql).await.expect("emptying the associations tables");
        }
        associations::seed(&backend.db).await.expect("seeding the associations workload");
        let db = &backend.db;
        // Both sides must load the same tree (order within a group is the database's).
        let orm = associations::load_tree(db).await;
        let mut raw = backend.raw.load_associations().await.expect("raw sqlx associations");
        normalize(&mut raw);
        let mut orm = associations::as_loaded(orm);
        normalize(&mut orm);
        assert_eq!(raw.len(), users);
        assert_eq!(
            raw.iter().map(|(_, p)| p.iter().map(|(_, c)| c.len()).sum::<usize>()).sum::<usize>(),
            users * posts_per_user * comments_per_post
        );
        assert_eq!(raw, orm, "duo-orm and raw sqlx load different trees on {}", backend.name);
    });
    let mut group = c.benchmark_group(format!("associations/{}", backend.name));
    let n = users * posts_per_user * comments_per_post;
    group.bench_with_input(BenchmarkId::new("duo-orm", n), &n, |b, _| {
        measure(b, rt, backend, false, move || async move { associations::load_tree(&backend.db).await })
    });
    group.bench_with_input(BenchmarkId::new("raw sqlx", n), &n, |b, _| {
        measure(b, rt, backend, false, move || async move { backend.raw.load_associations().await.unwrap() })
    });
    group.finish();
}

/// The medium workload: N users, every other one black-haired, and no posts (as diesel_bench
/// seeds it); load the black-haired users `LEFT JOIN` their posts as `(user, Option<post>)`.
fn medium(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &'static Backend) {
    let mut group = c.benchmark_group(format!("medium/{}", backend.name));
    for n in medium::SIZES {
        rt.block_on(async {
            backend.raw.execute("DELETE FROM comments").await.expect("emptying comments");
            backend.raw.execute("DELETE FROM posts").await.expect("emptying posts");
            backend.raw.seed(n, medium::hair_color).await.expect("seeding users");
            // Both sides must load the same rows.
            let raw = backend.raw.load_medium().await;
            let orm = medium::as_medium(medium::load_duo(&backend.db).await);
            assert_eq!(raw.len(), n.div_ceil(2));
            assert_eq!(raw, orm, "duo-orm and raw sqlx disagree on {}", backend.name);
        });
        group.bench_with_input(BenchmarkId::new("duo-orm", n), &n, |b, _| {
            measure(b, rt, backend, false, move || async move { medium::load_duo(&backend.db).await })
        });
        group.bench_with_input(BenchmarkId::new("raw sqlx", n), &n, |b, _| {
            measure(b, rt, backend, false, move || async move { backend.raw.load_medium().await })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");

    // Leaked: the measured tasks are spawned and so need `'static` borrows.
    let backends: &'static [Backend] = Vec::leak(rt.block_on(async {
        let mut backends = vec![sqlite_backend().await];
        backends.extend(server_backend("postgres", "DUO_TEST_POSTGRES_URL", true).await);
        backends.extend(server_backend("mariadb", "DUO_TEST_MYSQL_URL", false).await);
        backends
    }));

    for backend in backends {
        rt.block_on(async {
            for sql in backend.ddl {
                backend.raw.execute(sql).await.unwrap_or_else(|e| panic!("{}: `{sql}` failed: {e}", backend.name));
            }
            // Open duo-orm's pool now, not inside the first measured iteration.
            backend.db.connect().await.unwrap_or_else(|e| panic!("{}: duo-orm cannot connect: {e}", backend.name));
        });
        trivial_query(&mut c, &rt, backend);
        insert(&mut c, &rt, backend);
        bulk_insert(&mut c, &rt, backend);
        unit_of_work(&mut c, &rt, backend);
        associations(&mut c, &rt, backend);
        medium(&mut c, &rt, backend);
    }

    for backend in backends {
        rt.block_on(async {
            backend.db.disconnect().await.ok();
            for sql in ["DROP TABLE IF EXISTS comments", "DROP TABLE IF EXISTS posts", "DROP TABLE IF EXISTS users"] {
                backend.raw.execute(sql).await.ok();
            }
            backend.raw.close().await;
        });
        if let Some(path) = &backend.cleanup {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
    c.final_summary();
}
