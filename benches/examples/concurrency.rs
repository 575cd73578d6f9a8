//! The cost of the concurrency tools when nothing collides, against hand-written sqlx,
//! interleaved, 100 operations per round.
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example concurrency -- [sqlite|postgres|mariadb] [rounds] [--retry]
//! ```
//!
//! Default: upserts. Four variants: a plain INSERT of a new row and an upsert of an existing
//! one (`ON CONFLICT … DO UPDATE … RETURNING`; on MariaDB `ON DUPLICATE KEY UPDATE` and the
//! read of the row, as duo-orm does), each by hand and with duo-orm (`create` and
//! `create(..).on_conflict(|a| a.id).update(|a| a.name)`).
//!
//! `--retry`: a transaction of one UPDATE by key, by hand (`begin`, `execute`, `commit`; on
//! SQLite `BEGIN IMMEDIATE`, as duo-orm begins), with `db.transaction(..)`, and with
//! `db.transaction_with(..).retry(Retry::default())`, none of which ever conflicts.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use duo_orm::Retry;
use duo_orm::prelude::*;
use duo_orm_benches::associations::{Author, Comment, Post};
use duo_orm_benches::harness::{self, Pools, median, median_ratio};

const OPERATIONS: i32 = 100;

/// The next key an insert takes (every side takes its own).
static NEXT_ID: AtomicI32 = AtomicI32::new(OPERATIONS + 1);

/// A different name each round, so every upsert changes its row.
static ROUND: AtomicI32 = AtomicI32::new(0);

fn name(id: i32) -> String {
    format!("User {id} #{}", ROUND.load(Ordering::Relaxed))
}

macro_rules! raw_statement {
    ($name:ident, $pool:ty, $sql:literal) => {
        async fn $name(pool: &$pool, id: i32) {
            let row = sqlx::query($sql).bind(id).bind(name(id)).fetch_optional(pool).await.unwrap();
            std::hint::black_box(row);
        }
    };
}

raw_statement!(sqlite_insert, sqlx::SqlitePool, "INSERT INTO users (id, name) VALUES (?, ?) RETURNING id, name, hair_color");
raw_statement!(postgres_insert, sqlx::PgPool, "INSERT INTO users (id, name) VALUES ($1, $2) RETURNING id, name, hair_color");
raw_statement!(mysql_insert, sqlx::MySqlPool, "INSERT INTO users (id, name) VALUES (?, ?) RETURNING id, name, hair_color");
raw_statement!(
    sqlite_upsert,
    sqlx::SqlitePool,
    "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING id, name, hair_color"
);
raw_statement!(
    postgres_upsert,
    sqlx::PgPool,
    "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING id, name, hair_color"
);

async fn mysql_upsert(pool: &sqlx::MySqlPool, id: i32) {
    let sql = "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)";
    sqlx::query(sql).bind(id).bind(name(id)).execute(pool).await.unwrap();
    let row = sqlx::query("SELECT id, name, hair_color FROM users WHERE id = ?").bind(id).fetch_one(pool).await.unwrap();
    std::hint::black_box(row);
}

/// One UPDATE by key in a transaction of its own, by hand.
macro_rules! raw_transaction {
    ($name:ident, $pool:ty, $begin:expr, $sql:literal) => {
        async fn $name(pool: &$pool, id: i32) {
            let mut tx = match $begin {
                Some(begin) => pool.begin_with(begin).await.unwrap(),
                None => pool.begin().await.unwrap(),
            };
            let done = sqlx::query($sql).bind(name(id)).bind(id).execute(&mut *tx).await.unwrap();
            assert_eq!(done.rows_affected(), 1);
            tx.commit().await.unwrap();
        }
    };
}

raw_transaction!(sqlite_transaction, sqlx::SqlitePool, Some("BEGIN IMMEDIATE"), "UPDATE users SET name = ? WHERE id = ?");
raw_transaction!(postgres_transaction, sqlx::PgPool, None::<&'static str>, "UPDATE users SET name = $1 WHERE id = $2");
raw_transaction!(mysql_transaction, sqlx::MySqlPool, None::<&'static str>, "UPDATE users SET name = ? WHERE id = ?");

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    RawInsert,
    RawUpsert,
    DuoCreate,
    DuoUpsert,
    RawTransaction,
    DuoTransaction,
    DuoRetry,
}

async fn round(pools: Pools, db: &'static Database, variant: Variant) {
    for existing in 1..=OPERATIONS {
        let id =
            if matches!(variant, Variant::RawInsert | Variant::DuoCreate) { NEXT_ID.fetch_add(1, Ordering::Relaxed) } else { existing };
        match (variant, &pools) {
            (Variant::RawInsert, Pools::Sqlite(pool)) => sqlite_insert(pool, id).await,
            (Variant::RawInsert, Pools::Postgres(pool)) => postgres_insert(pool, id).await,
            (Variant::RawInsert, Pools::MySql(pool)) => mysql_insert(pool, id).await,
            (Variant::RawUpsert, Pools::Sqlite(pool)) => sqlite_upsert(pool, id).await,
            (Variant::RawUpsert, Pools::Postgres(pool)) => postgres_upsert(pool, id).await,
            (Variant::RawUpsert, Pools::MySql(pool)) => mysql_upsert(pool, id).await,
            (Variant::RawTransaction, Pools::Sqlite(pool)) => sqlite_transaction(pool, id).await,
            (Variant::RawTransaction, Pools::Postgres(pool)) => postgres_transaction(pool, id).await,
            (Variant::RawTransaction, Pools::MySql(pool)) => mysql_transaction(pool, id).await,
            (Variant::DuoCreate, _) => {
                let row = Author::create(json!({"id": id, "name": name(id)})).on(db).await.unwrap();
                std::hint::black_box(row);
            }
            (Variant::DuoUpsert, _) => {
                let upsert = Author::create(json!({"id": id, "name": name(id)})).on_conflict(|a| a.id).update(|a| a.name);
                std::hint::black_box(upsert.on(db).await.unwrap());
            }
            (Variant::DuoTransaction, _) => {
                let update = || Author::filter(|a| a.id.eq(id)).update_bulk(json!({"name": name(id)})).on(db);
                assert_eq!(db.transaction(async { update().await }).await.unwrap(), 1);
            }
            (Variant::DuoRetry, _) => {
                let update = move || Author::filter(|a| a.id.eq(id)).update_bulk(json!({"name": name(id)})).on(db);
                assert_eq!(db.transaction_with(update).retry(Retry::default()).await.unwrap(), 1);
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rounds: usize = args.next().map_or(30, |a| a.parse().expect("rounds"));
    let options = harness::Options::parse(args, &["--retry"]);
    let example = harness::Example::open("concurrency", &backend, |db| {
        db.register::<Author>().register::<Post>().register::<Comment>();
    });
    let db = example.db;
    example.app.block_on(async {
        let users: Vec<_> = (1..=OPERATIONS).map(|i| json!({"id": i, "name": format!("User {i}")})).collect();
        Author::create_bulk(users).on(db).await.unwrap();
    });
    let variants: &[(Variant, &str)] = if options.has("--retry") {
        &[
            (Variant::RawTransaction, "raw sqlx: begin, UPDATE, commit"),
            (Variant::DuoTransaction, "duo-orm: db.transaction(..)"),
            (Variant::DuoRetry, "duo-orm: transaction_with(..).retry(..)"),
        ]
    } else {
        &[
            (Variant::RawInsert, "raw sqlx: INSERT … RETURNING"),
            (Variant::RawUpsert, "raw sqlx: upsert of an existing row"),
            (Variant::DuoCreate, "duo-orm: create"),
            (Variant::DuoUpsert, "duo-orm: create(..).on_conflict(..).update(..)"),
        ]
    };
    let samples = harness::rotated(rounds, variants.len(), |index| {
        ROUND.fetch_add(1, Ordering::Relaxed);
        let (pools, variant) = (example.raw.clone(), variants[index].0);
        example.time(async move { round(pools, db, variant).await })
    });
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(OPERATIONS);
    println!("{backend}, {rounds} rounds of {OPERATIONS}; median per operation:");
    for ((_, label), times) in variants.iter().zip(&samples) {
        println!("  {label:<48} {:>7.1} µs", per(median(times.clone())));
    }
    let ratio = |a: usize, b: usize| median_ratio((&samples[a], &samples[b]));
    if options.has("--retry") {
        println!("  median of the rounds' own ratios: transaction {:.3} × raw, retry {:.3} × raw", ratio(1, 0), ratio(2, 0));
    } else {
        println!(
            "  median of the rounds' own ratios: duo upsert {:.3} × raw upsert; upsert ÷ insert: raw {:.3}, duo {:.3}",
            ratio(3, 1),
            ratio(1, 0),
            ratio(3, 2)
        );
    }
    example.finish();
}
