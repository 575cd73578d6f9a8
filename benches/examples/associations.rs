//! The associations workload (`benches/src/associations.rs`) timed interleaved — hand-written
//! sqlx, then duo-orm, then again — so that load from other processes hits both alike; a
//! steadier ratio than separate criterion groups on a small machine.
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example associations -- [sqlite|postgres|mariadb] [rounds] [--joined]
//! valgrind --tool=callgrind target/release/examples/associations sqlite 20 --only duo|raw
//! ```
//!
//! `--joined` loads the posts joined to their authors instead of by selectin.
//!
//! Uses a temporary SQLite file, or the `duo_orm_bench` database of the servers named by
//! `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL` (created by the criterion benchmark).

use std::time::Duration;

use duo_orm_benches::associations::{self, Author, Comment, Loaded, Post};
use duo_orm_benches::harness::{self, Pools as Raw};

async fn load_raw(raw: &Raw) -> Loaded {
    match raw {
        Raw::Sqlite(pool) => associations::load_sqlite(pool).await,
        Raw::Postgres(pool) => associations::load_postgres(pool).await,
        Raw::MySql(pool) => associations::load_mysql(pool).await,
    }
    .expect("raw associations")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rounds: usize = args.next().map_or(30, |a| a.parse().expect("rounds"));
    let options = harness::Options::parse(args, &["--joined"]);
    let (only, joined) = (options.only.clone(), options.has("--joined"));
    let load_tree =
        move |db| async move { if joined { associations::load_tree_joined(db).await } else { associations::load_tree(db).await } };
    let example = harness::Example::open("associations", &backend, |db| {
        db.register::<Author>().register::<Post>().register::<Comment>();
    });
    let (raw, db) = (&example.raw, example.db);
    example.app.block_on(async {
        associations::seed(db).await.unwrap();
        let mut raw_tree = load_raw(raw).await;
        let mut orm_tree = associations::as_loaded(load_tree(db).await);
        associations::normalize(&mut raw_tree);
        associations::normalize(&mut orm_tree);
        assert_eq!(raw_tree, orm_tree, "both sides load the same tree");
    });

    let run = |duo: bool| {
        let raw = raw.clone();
        example.time(async move {
            if duo {
                drop(std::hint::black_box(load_tree(db).await));
            } else {
                drop(std::hint::black_box(load_raw(&raw).await));
            }
        })
    };
    if let Some(only) = only {
        // One side, `rounds` times: for an instruction count under callgrind.
        let total: Duration = (0..rounds).map(|_| run(only != "raw")).sum();
        println!("{backend}: {rounds} × {only} in {total:?}");
    } else {
        let (r, o) = harness::interleaved(rounds, run);
        println!("associations, {backend}, {rounds} rounds; median per load:");
        println!("  raw sqlx (IN lists + hash maps) {:>8.2} ms", r.as_secs_f64() * 1e3);
        println!(
            "  duo-orm related(..){}           {:>8.2} ms   ({:.3} × raw sqlx)",
            if joined { ", joined" } else { "" },
            o.as_secs_f64() * 1e3,
            o.as_secs_f64() / r.as_secs_f64()
        );
    }
    example.finish();
}
