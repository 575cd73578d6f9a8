//! Point lookups by primary key: duo-orm's `get` against hand-written sqlx, interleaved, 100
//! lookups per round. The raw side runs twice: through a default sqlx pool, which pings each
//! connection it hands out (`test_before_acquire`), and through one that does not, the floor
//! the issue sets for `get`.
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example lookup -- [sqlite|postgres|mariadb] [rounds] [--first]
//! valgrind --tool=callgrind target/release/examples/lookup sqlite 20 --only duo
//! ```
//!
//! `--only raw`, `--only floor` (the pool without the ping) and `--only duo` run one side alone.
//!
//! `--first` looks rows up with `filter(|a| a.id.eq(id)).first()` instead, against hand-written
//! SQL ending in `LIMIT 1`. `--save` writes each row back by key with `save()` (an UPDATE of
//! every column but the key), against the hand-written UPDATE. `--create` inserts 100 new rows
//! per round with `create` (an INSERT handing the row back), against the hand-written
//! `INSERT … RETURNING`.

use std::time::Duration;

use duo_orm::prelude::*;
use duo_orm_benches::associations::{Author, Comment, Post, RawUser};
use duo_orm_benches::harness::{self, Pools, median, median_ratio};
use futures_util::TryStreamExt;
use sqlx::Row;

const LOOKUPS: i32 = 100;

/// What each round does 100 times.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Get,
    First,
    Save,
    Create,
}

/// The next key a `--create` round inserts (every side takes its own).
static NEXT_ID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(LOOKUPS + 1);

fn next_id() -> i32 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The hand-written INSERT handing the row back, once per backend.
macro_rules! raw_create {
    ($name:ident, $pool:ty, $sql:literal) => {
        async fn $name(pool: &$pool, id: i32) -> RawUser {
            let row = sqlx::query($sql).bind(id).bind(format!("User {id}")).fetch_one(pool).await.unwrap();
            RawUser { id: row.try_get(0).unwrap(), name: row.try_get(1).unwrap(), hair_color: row.try_get(2).unwrap() }
        }
    };
}

raw_create!(sqlite_create, sqlx::SqlitePool, "INSERT INTO users (id, name) VALUES (?, ?) RETURNING id, name, hair_color");
raw_create!(postgres_create, sqlx::PgPool, "INSERT INTO users (id, name) VALUES ($1, $2) RETURNING id, name, hair_color");
raw_create!(mysql_create, sqlx::MySqlPool, "INSERT INTO users (id, name) VALUES (?, ?) RETURNING id, name, hair_color");

/// The hand-written UPDATE by key, once per backend.
macro_rules! raw_save {
    ($name:ident, $pool:ty, $sql:literal) => {
        async fn $name(pool: &$pool, user: &Author) -> u64 {
            let query = sqlx::query($sql).bind(&user.name).bind(&user.hair_color).bind(user.id);
            query.execute(pool).await.unwrap().rows_affected()
        }
    };
}

raw_save!(sqlite_save, sqlx::SqlitePool, "UPDATE users SET name = ?, hair_color = ? WHERE id = ?");
raw_save!(postgres_save, sqlx::PgPool, "UPDATE users SET name = $1, hair_color = $2 WHERE id = $3");
raw_save!(mysql_save, sqlx::MySqlPool, "UPDATE users SET name = ?, hair_color = ? WHERE id = ?");

/// The hand-written lookup, once per backend: only the pool, row type and placeholder differ.
macro_rules! raw_lookup {
    ($name:ident, $pool:ty, $row:ty, $sql:literal) => {
        async fn $name(pool: &$pool, id: i32, first: bool) -> Option<RawUser> {
            let sql = if first { concat!($sql, " LIMIT 1") } else { $sql };
            let mut rows = sqlx::query(sql).bind(id).fetch(pool);
            let row: $row = rows.try_next().await.unwrap()?;
            Some(RawUser { id: row.try_get(0).unwrap(), name: row.try_get(1).unwrap(), hair_color: row.try_get(2).unwrap() })
        }
    };
}

raw_lookup!(sqlite_lookup, sqlx::SqlitePool, sqlx::sqlite::SqliteRow, "SELECT id, name, hair_color FROM users WHERE id = ?");
raw_lookup!(postgres_lookup, sqlx::PgPool, sqlx::postgres::PgRow, "SELECT id, name, hair_color FROM users WHERE id = $1");
raw_lookup!(mysql_lookup, sqlx::MySqlPool, sqlx::mysql::MySqlRow, "SELECT id, name, hair_color FROM users WHERE id = ?");

async fn raw_round(pools: &Pools, mode: Mode, users: &'static [Author]) {
    if mode == Mode::Create {
        for _ in 0..LOOKUPS {
            let id = next_id();
            let user = match pools {
                Pools::Sqlite(pool) => sqlite_create(pool, id).await,
                Pools::Postgres(pool) => postgres_create(pool, id).await,
                Pools::MySql(pool) => mysql_create(pool, id).await,
            };
            assert_eq!(std::hint::black_box(user).id, id);
        }
        return;
    }
    if mode == Mode::Save {
        for user in users {
            let updated = match pools {
                Pools::Sqlite(pool) => sqlite_save(pool, user).await,
                Pools::Postgres(pool) => postgres_save(pool, user).await,
                Pools::MySql(pool) => mysql_save(pool, user).await,
            };
            assert_eq!(updated, 1);
        }
        return;
    }
    let first = mode == Mode::First;
    for id in 1..=LOOKUPS {
        let user = match pools {
            Pools::Sqlite(pool) => sqlite_lookup(pool, id, first).await,
            Pools::Postgres(pool) => postgres_lookup(pool, id, first).await,
            Pools::MySql(pool) => mysql_lookup(pool, id, first).await,
        };
        assert!(std::hint::black_box(user).is_some());
    }
}

async fn duo_round(db: &'static Database, mode: Mode, users: &'static [Author]) {
    if mode == Mode::Create {
        for _ in 0..LOOKUPS {
            let id = next_id();
            let user = Author::create(json!({"id": id, "name": format!("User {id}")})).on(db).await.unwrap();
            assert_eq!(std::hint::black_box(user).id, id);
        }
        return;
    }
    if mode == Mode::Save {
        for user in users {
            let mut user = user.clone();
            user.save().on(db).await.unwrap();
        }
        return;
    }
    for id in 1..=LOOKUPS {
        let user = if mode == Mode::First { Author::filter(|a| a.id.eq(id)).first().on(db).await } else { Author::get(id).on(db).await };
        assert!(std::hint::black_box(user.unwrap()).is_some());
    }
}

/// A second raw pool on the same database that does not ping connections it hands out.
async fn without_ping(pools: &Pools, url: &str) -> Pools {
    match pools {
        Pools::Sqlite(_) => Pools::Sqlite(sqlx::pool::PoolOptions::new().test_before_acquire(false).connect(url).await.unwrap()),
        Pools::Postgres(_) => Pools::Postgres(sqlx::pool::PoolOptions::new().test_before_acquire(false).connect(url).await.unwrap()),
        Pools::MySql(_) => Pools::MySql(sqlx::pool::PoolOptions::new().test_before_acquire(false).connect(url).await.unwrap()),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rounds: usize = args.next().map_or(40, |a| a.parse().expect("rounds"));
    let options = harness::Options::parse(args, &["--first", "--save", "--create"]);
    let only = options.only.clone();
    let mode = match (options.has("--first"), options.has("--save"), options.has("--create")) {
        (true, ..) => Mode::First,
        (_, true, _) => Mode::Save,
        (.., true) => Mode::Create,
        _ => Mode::Get,
    };
    let example = harness::Example::open("lookup", &backend, |db| {
        db.register::<Author>().register::<Post>().register::<Comment>();
    });
    let db = example.db;
    let (unpinged, users) = example.app.block_on(async {
        let users: Vec<_> = (1..=LOOKUPS).map(|i| json!({"id": i, "name": format!("User {i}")})).collect();
        Author::create_bulk(users).on(db).await.unwrap();
        let users: &'static [Author] = Author::query().order_by(|a| a.id.asc()).all().on(db).await.unwrap().leak();
        (without_ping(&example.raw, &example.url).await, users)
    });
    if let Some(only) = only {
        // One side, `rounds` times: for an instruction count under callgrind.
        let total: Duration = (0..rounds)
            .map(|_| {
                if only == "raw" || only == "floor" {
                    let raw = if only == "raw" { example.raw.clone() } else { unpinged.clone() };
                    example.time(async move { raw_round(&raw, mode, users).await })
                } else {
                    example.time(duo_round(db, mode, users))
                }
            })
            .sum();
        println!("{backend}: {rounds} × {only} in {total:?}");
    } else {
        let mut samples = harness::rotated(rounds, 3, |variant| match variant {
            0 | 1 => {
                let pools = if variant == 0 { example.raw.clone() } else { unpinged.clone() };
                example.time(async move { raw_round(&pools, mode, users).await })
            }
            _ => example.time(duo_round(db, mode, users)),
        });
        let (duo, floor, raw) = (samples.pop().unwrap(), samples.pop().unwrap(), samples.pop().unwrap());
        let (duo_to_raw, duo_to_floor) = (median_ratio((&duo, &raw)), median_ratio((&duo, &floor)));
        let (raw, floor, duo) = (median(raw), median(floor), median(duo));
        let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(LOOKUPS);
        println!("lookup by key, {backend}, {rounds} rounds of {LOOKUPS}; median per lookup:");
        println!("  raw sqlx (default pool)   {:>7.1} µs", per(raw));
        println!("  raw sqlx (no acquire ping) {:>6.1} µs   ({:.3} × default)", per(floor), per(floor) / per(raw));
        println!(
            "  duo-orm {:<17} {:>7.1} µs   ({:.3} × default, {:.3} × no-ping floor)",
            match mode {
                Mode::Get => "get",
                Mode::First => "filter().first()",
                Mode::Save => "save()",
                Mode::Create => "create()",
            },
            per(duo),
            per(duo) / per(raw),
            per(duo) / per(floor)
        );
        println!("  median of the rounds' own ratios: {duo_to_raw:.3} × default, {duo_to_floor:.3} × no-ping floor");
    }
    example.finish();
}
