//! How eager loading scales with the number of owners: N owners with two items each (64-bit
//! keys), loaded as `Owner::query().related(|o| o.items).all()`, for N from 10 000 to 100 000
//! (a profiling aid
//! for `docs/src/benchmarks.md`, not part of the criterion suite). Linear growth means the
//! time per owner stays flat.
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example eager_scale -- [sqlite|postgres|mariadb] [rounds]
//! ```
//!
//! Uses a temporary SQLite file, or `duo_orm_scale` on the servers named by
//! `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL`.

use std::time::{Duration, Instant};

use duo_orm::prelude::*;

#[derive(Model, Debug, Clone)]
#[duo(table = "scale_owners")]
struct Owner {
    #[duo(primary_key)]
    id: i64,
    name: String,
    #[duo(has_many(Item, foreign_key = owner_id))]
    items: Related<Vec<Item>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "scale_items")]
struct Item {
    #[duo(primary_key)]
    id: i64,
    #[duo(references = Owner, index)]
    owner_id: i64,
    title: String,
}

const SIZES: [usize; 4] = [10_000, 25_000, 50_000, 100_000];

fn main() -> duo_orm::Result<()> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rounds: usize = args.next().map_or(3, |a| a.parse().expect("rounds"));
    let url = match backend.as_str() {
        "sqlite" => format!("sqlite://{}", std::env::temp_dir().join(format!("duo_orm_scale_{}.db", std::process::id())).display()),
        "postgres" => server_url("DUO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
        "mariadb" => server_url("DUO_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        other => panic!("unknown backend {other}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        if backend != "sqlite" {
            let admin = Database::new(url.replace("/duo_orm_scale", "/test"));
            let create =
                if backend == "postgres" { "CREATE DATABASE duo_orm_scale" } else { "CREATE DATABASE IF NOT EXISTS duo_orm_scale" };
            let _ = admin.execute_raw(create).await;
        }
        let db = Database::new(url.clone());
        db.register::<Owner>().register::<Item>();
        println!("{backend}: owners, median of {rounds} loads, per owner");
        for n in SIZES {
            db.drop_all().await?;
            db.create_all().await?;
            Owner::create_bulk((0..n).map(|i| json!({"name": format!("Owner {i}")}))).on(&db).await?;
            let first = Owner::query().order_by(|o| o.id.asc()).first().on(&db).await?.expect("seeded").id;
            Item::create_bulk((0..2 * n).map(|i| json!({"owner_id": first + (i / 2) as i64, "title": format!("Item {i}")})))
                .on(&db)
                .await?;
            let mut times = Vec::new();
            for _ in 0..rounds {
                let started = Instant::now();
                let loaded = Owner::query().related(|o| o.items).all().on(&db).await?;
                times.push(started.elapsed());
                assert_eq!(loaded.len(), n);
                assert!(loaded.iter().all(|o| o.items.get().is_ok_and(|items| items.len() == 2)));
            }
            times.sort();
            let median: Duration = times[times.len() / 2];
            println!("{n:>7} {:>9.1} ms {:>6.2} µs", median.as_secs_f64() * 1e3, median.as_secs_f64() * 1e6 / n as f64);
        }
        db.drop_all().await
    })
}

fn server_url(var: &str, default: &str) -> String {
    let base = std::env::var(var).unwrap_or_else(|_| default.into());
    let base = base.split('?').next().unwrap_or(&base).to_string();
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    format!("{}/duo_orm_scale", &base[..path])
}
