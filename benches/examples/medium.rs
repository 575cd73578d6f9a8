//! The medium workload (`benches/src/medium.rs`) timed interleaved — hand-written sqlx, then
//! duo-orm, then again — for N = 1, 100 and 1 000 users, so that load from other processes
//! hits both alike.
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example medium -- [sqlite|postgres|mariadb] [rounds] [--related]
//! ```
//!
//! `--related` also times the same rows through eager loading (`related(|u| u.posts.joined())`)
//! against the same hand-written query.
//!
//! Each round times a batch of loads (100 at N = 1, 20 at 100, 3 at 1 000), so that a sample is
//! milliseconds long rather than one load of tens of microseconds, and the ratio printed is the
//! median of the rounds' own ratios (each round's two sides ran back to back).
//!
//! Uses a temporary SQLite file, or the `duo_orm_bench` database of the servers named by
//! `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL` (created by the criterion benchmark).

use duo_orm::prelude::*;
use duo_orm_benches::associations::{Author, Comment, Post};
use duo_orm_benches::harness;
use duo_orm_benches::medium;

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rounds: usize = args.next().map_or(40, |a| a.parse().expect("rounds"));
    let related = harness::Options::parse(args, &["--related"]).has("--related");
    let example = harness::Example::open("medium", &backend, |db| {
        db.register::<Author>().register::<Post>().register::<Comment>();
    });
    let (raw, db) = (&example.raw, example.db);
    println!("medium, {backend}, {rounds} rounds; median per load:");
    for n in medium::SIZES {
        example.app.block_on(async {
            Author::delete_bulk_all().require_filter(false).on(db).await.unwrap();
            let users: Vec<_> =
                (0..n).map(|i| json!({"id": i + 1, "name": format!("User {i}"), "hair_color": medium::hair_color(i)})).collect();
            Author::create_bulk(users).on(db).await.unwrap();
            let orm = medium::as_medium(medium::load_duo(db).await);
            assert_eq!(medium::load_raw(raw).await, orm, "both sides load the same rows");
            assert_eq!(orm.len(), n.div_ceil(2));
        });
        // Times duo-orm's `load` (eager loading when `related`) against the raw query.
        let loads: u32 = match n {
            1 => 100,
            100 => 20,
            _ => 3,
        };
        let measure = |related: bool| {
            let mut samples = harness::rotated(rounds, 2, |side| {
                let raw = raw.clone();
                example.time(async move {
                    for _ in 0..loads {
                        match (side, related) {
                            (0, _) => drop(std::hint::black_box(medium::load_raw(&raw).await)),
                            (_, false) => drop(std::hint::black_box(medium::load_duo(db).await)),
                            (_, true) => drop(std::hint::black_box(medium::load_duo_related(db).await)),
                        }
                    }
                })
            });
            let (o, r) = (samples.pop().unwrap(), samples.pop().unwrap());
            let ratio = harness::median_ratio((&o, &r));
            let (r, o) = (harness::median(r) / loads, harness::median(o) / loads);
            println!(
                "  N = {n:>5}: raw sqlx {:>8.1} µs, duo-orm {} {:>8.1} µs ({ratio:.3} × raw sqlx)",
                r.as_secs_f64() * 1e6,
                if related { "related(joined)" } else { "left_join" },
                o.as_secs_f64() * 1e6,
            );
        };
        measure(false);
        if related {
            example.app.block_on(async {
                let users = medium::load_duo_related(db).await;
                assert!(users.iter().all(|u| u.posts.get().is_ok_and(Vec::is_empty)) && users.len() == n.div_ceil(2));
            });
            measure(true);
        }
    }
    example.finish();
}
