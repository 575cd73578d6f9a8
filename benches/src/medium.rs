//! diesel_bench's "medium" workload: black-haired users `LEFT JOIN` their posts, read as
//! `(user, Option<post>)` pairs. N users, every other one black-haired, and no posts, as
//! diesel_bench seeds it. duo-orm's side is one joined query; the hand-written side runs the
//! same SQL and decodes each row by position.

use duo_orm::prelude::*;
use futures_util::TryStreamExt;
use sqlx::Row;

use crate::associations::{Author, Post, RawPost, RawUser};
use crate::harness::Pools;

/// The sizes measured.
pub const SIZES: [usize; 3] = [1, 100, 1_000];

/// What both sides load: each black-haired user with one of its posts, or none.
pub type Medium = Vec<(RawUser, Option<RawPost>)>;

/// The hair colour of the `i`th user: every other one is black.
pub fn hair_color(i: usize) -> Option<&'static str> {
    Some(if i.is_multiple_of(2) { "black" } else { "brown" })
}

/// duo-orm's side.
pub async fn load_duo(db: &Database) -> Vec<(Author, Option<Post>)> {
    Author::query().left_join(|u| u.posts).filter(|(u, _)| u.hair_color.eq("black")).all().on(db).await.expect("duo-orm medium")
}

/// The same rows through eager loading: each black-haired user holding its posts, joined in the
/// same statement.
pub async fn load_duo_related(db: &Database) -> Vec<Author> {
    Author::related(|u| u.posts.joined()).filter(|u| u.hair_color.eq("black")).all().on(db).await.expect("duo-orm medium, related")
}

/// duo-orm's rows in the hand-written side's shape, to compare them.
pub fn as_medium(rows: Vec<(Author, Option<Post>)>) -> Medium {
    let user = |a: Author| RawUser { id: a.id, name: a.name, hair_color: a.hair_color };
    let post = |p: Post| RawPost { id: p.id, user_id: p.user_id, title: p.title, body: p.body };
    rows.into_iter().map(|(a, p)| (user(a), p.map(post))).collect()
}

/// The hand-written query, ending with the backend's placeholder.
macro_rules! medium_sql {
    ($placeholder:literal) => {
        concat!(
            "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body ",
            "FROM users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = ",
            $placeholder
        )
    };
}

/// The hand-written side, once per backend: only the pool, row type and placeholder differ.
macro_rules! raw_medium {
    ($name:ident, $pool:ty, $row:ty, $placeholder:literal) => {
        /// The medium query by hand, decoded by position as the rows stream in; the post is
        /// `None` when its key is NULL.
        pub async fn $name(pool: &$pool) -> sqlx::Result<Medium> {
            let mut rows = sqlx::query(medium_sql!($placeholder)).bind("black").fetch(pool);
            let mut out = Vec::new();
            while let Some(row) = rows.try_next().await? {
                let row: $row = row;
                let user = RawUser { id: row.try_get(0)?, name: row.try_get(1)?, hair_color: row.try_get(2)? };
                let post = match row.try_get::<Option<i32>, _>(3)? {
                    Some(id) => Some(RawPost { id, user_id: row.try_get(4)?, title: row.try_get(5)?, body: row.try_get(6)? }),
                    None => None,
                };
                out.push((user, post));
            }
            Ok(out)
        }
    };
}

raw_medium!(load_sqlite, sqlx::SqlitePool, sqlx::sqlite::SqliteRow, "?");
raw_medium!(load_postgres, sqlx::PgPool, sqlx::postgres::PgRow, "$1");
raw_medium!(load_mysql, sqlx::MySqlPool, sqlx::mysql::MySqlRow, "?");

/// The hand-written side on whichever backend `pools` holds.
pub async fn load_raw(pools: &Pools) -> Medium {
    match pools {
        Pools::Sqlite(pool) => load_sqlite(pool).await,
        Pools::Postgres(pool) => load_postgres(pool).await,
        Pools::MySql(pool) => load_mysql(pool).await,
    }
    .expect("raw sqlx medium")
}
