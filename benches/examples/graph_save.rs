//! Saving an object graph — one user with 10 posts of 5 comments each — with duo-orm's
//! `save()` against hand-written sqlx doing the same in one transaction (an INSERT per table,
//! multi-row with `RETURNING id`), interleaved so that load from other processes hits both
//! alike.
//!
//! ```text
//! cargo run --release -p duo-orm-benches --example graph_save -- [sqlite|postgres|mariadb] [rounds]
//! ```
//!
//! Uses a temporary SQLite file, or the `duo_orm_bench` database of the servers named by
//! `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL` (create it first).

use std::time::{Duration, Instant};

use duo_orm::prelude::*;
use duo_orm_benches::harness::{self, Pools as Raw, median};

const POSTS: usize = 10;
const COMMENTS: usize = 5;

#[derive(Model, Debug, Clone)]
#[duo(table = "gb_users")]
pub struct GUser {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(max_length = 100)]
    pub name: String,
    #[duo(has_many(GPost, foreign_key = user_id))]
    pub posts: Related<Vec<GPost>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "gb_posts")]
pub struct GPost {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(max_length = 100)]
    pub title: String,
    #[duo(references = GUser, index)]
    pub user_id: i64,
    #[duo(has_many(GComment, foreign_key = post_id))]
    pub comments: Related<Vec<GComment>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "gb_comments")]
pub struct GComment {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(max_length = 100)]
    pub body: String,
    #[duo(references = GPost, index)]
    pub post_id: i64,
}

fn graph(round: usize) -> GUser {
    let posts = (0..POSTS)
        .map(|p| GPost {
            id: 0,
            title: format!("post {round}.{p}"),
            user_id: 0,
            comments: Related::loaded((0..COMMENTS).map(|c| GComment { id: 0, body: format!("comment {c}"), post_id: 0 }).collect()),
        })
        .collect();
    GUser { id: 0, name: format!("user {round}"), posts: Related::loaded(posts) }
}

/// The same graph, written by hand: per table one multi-row INSERT returning the new keys
/// (in key order, as a multi-row INSERT numbers its rows), the children's foreign keys filled
/// from them, all in one transaction.
macro_rules! raw_save {
    ($name:ident, $db:ty) => {
        async fn $name(pool: &sqlx::Pool<$db>, round: usize) -> i64 {
            let mut tx = pool.begin().await.unwrap();
            let (user_id,): (i64,) = sqlx::query_as(if stringify!($db).contains("Postgres") {
                "INSERT INTO gb_users (name) VALUES ($1) RETURNING id"
            } else {
                "INSERT INTO gb_users (name) VALUES (?) RETURNING id"
            })
            .bind(format!("user {round}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            let mut posts = sqlx::QueryBuilder::<$db>::new("INSERT INTO gb_posts (title, user_id) ");
            posts.push_values(0..POSTS, |mut row, p| {
                row.push_bind(format!("post {round}.{p}")).push_bind(user_id);
            });
            posts.push(" RETURNING id");
            let mut post_ids: Vec<i64> =
                posts.build_query_as::<(i64,)>().fetch_all(&mut *tx).await.unwrap().into_iter().map(|(id,)| id).collect();
            post_ids.sort_unstable();
            let mut comments = sqlx::QueryBuilder::<$db>::new("INSERT INTO gb_comments (body, post_id) ");
            comments.push_values(post_ids.iter().flat_map(|id| (0..COMMENTS).map(move |c| (*id, c))), |mut row, (id, c)| {
                row.push_bind(format!("comment {c}")).push_bind(id);
            });
            comments.push(" RETURNING id");
            let comment_ids = comments.build_query_as::<(i64,)>().fetch_all(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
            user_id + comment_ids.len() as i64
        }
    };
}

raw_save!(raw_sqlite, sqlx::Sqlite);
raw_save!(raw_postgres, sqlx::Postgres);
raw_save!(raw_mysql, sqlx::MySql);

async fn save_raw(raw: &Raw, round: usize) -> i64 {
    match raw {
        Raw::Sqlite(pool) => raw_sqlite(pool, round).await,
        Raw::Postgres(pool) => raw_postgres(pool, round).await,
        Raw::MySql(pool) => raw_mysql(pool, round).await,
    }
}

/// The same writes with duo-orm's own primitives, no graph: `create`, then `create_bulk`
/// returning the posts, then `create_bulk` of the comments, in one `transaction`. What the
/// graph adds is the difference between this and `save()`.
async fn duo_by_hand(db: &Database, round: usize) -> u64 {
    db.transaction(async {
        let user = GUser::create(json!({"name": format!("user {round}")})).on(db).await?;
        let posts = (0..POSTS).map(|p| json!({"title": format!("post {round}.{p}"), "user_id": user.id}));
        let mut posts = GPost::create_bulk(posts).returning().on(db).await?;
        posts.sort_by_key(|p| p.id);
        let comments = posts.iter().flat_map(|p| (0..COMMENTS).map(move |c| json!({"body": format!("comment {c}"), "post_id": p.id})));
        GComment::create_bulk(comments.collect::<Vec<_>>()).on(db).await
    })
    .await
    .unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rounds: usize = args.next().map_or(100, |a| a.parse().expect("rounds"));
    let app = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let sqlite_path = std::env::temp_dir().join(format!("duo_orm_graph_save_{}.db", std::process::id()));
    let (raw, url) = app.block_on(harness::open(&backend, &sqlite_path));
    let db: &'static Database = Box::leak(Box::new(Database::new(url)));
    app.block_on(async {
        db.register::<GUser>().register::<GPost>().register::<GComment>();
        db.drop_all().await.unwrap();
        db.create_all().await.unwrap();
        // Both sides write the same rows.
        let mut user = graph(0);
        user.save().on(db).await.unwrap();
        save_raw(&raw, 0).await;
        assert_eq!(GComment::count().on(db).await.unwrap(), (2 * POSTS * COMMENTS) as u64);
    });

    let run = |variant: &'static str, round: usize| {
        let raw = raw.clone();
        app.block_on(async move {
            tokio::spawn(async move {
                let mut user = graph(round);
                let started = Instant::now();
                match variant {
                    "raw" => drop(std::hint::black_box(save_raw(&raw, round).await)),
                    "primitives" => drop(std::hint::black_box(duo_by_hand(db, round).await)),
                    _ => user.save().on(db).await.unwrap(),
                }
                let elapsed = started.elapsed();
                std::hint::black_box(user);
                elapsed
            })
            .await
            .unwrap()
        })
    };
    let (mut raw_samples, mut orm_samples, mut by_hand_samples) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..rounds + 4 {
        // Rotate which side runs first, so none always follows another.
        let mut times = [Duration::ZERO; 3];
        for k in 0..3 {
            let which = (round + k) % 3;
            times[which] = run(["raw", "duo", "primitives"][which], round * 3 + k);
        }
        if round > 3 {
            raw_samples.push(times[0]);
            orm_samples.push(times[1]);
            by_hand_samples.push(times[2]);
        }
    }
    let (r, o, h) = (median(raw_samples), median(orm_samples), median(by_hand_samples));
    println!("graph save, {backend}, {rounds} rounds; 1 user, {POSTS} posts, {} comments; median per save:", POSTS * COMMENTS);
    println!("  raw sqlx (3 multi-row INSERTs)   {:>8.3} ms", r.as_secs_f64() * 1e3);
    println!(
        "  duo-orm user.save()              {:>8.3} ms   ({:.3} × raw sqlx)",
        o.as_secs_f64() * 1e3,
        o.as_secs_f64() / r.as_secs_f64()
    );
    println!(
        "  duo-orm create + create_bulk ×2  {:>8.3} ms   ({:.3} × raw sqlx)",
        h.as_secs_f64() * 1e3,
        h.as_secs_f64() / r.as_secs_f64()
    );
    app.block_on(async { db.drop_all().await.ok() });
    harness::remove_sqlite(&sqlite_path);
}
