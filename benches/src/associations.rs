//! The diesel_bench associations workload: 100 users × 10 posts × 10 comments, loaded as each
//! user with its posts and each post with its comments. duo-orm's side is one eager-loading
//! query; the hand-written side builds `IN` lists and groups rows with hash maps.

use std::collections::HashMap;

use duo_orm::prelude::*;
use futures_util::TryStreamExt;
use sqlx::Row;

/// A user as the hand-written side loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawUser {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

/// The associations workload's models: the same `users` table, with relationships.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "users")]
pub struct Author {
    #[duo(primary_key)]
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
    #[duo(has_many(Post, foreign_key = user_id))]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "posts")]
pub struct Post {
    #[duo(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
    #[duo(has_many(Comment, foreign_key = post_id))]
    pub comments: Related<Vec<Comment>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "comments")]
pub struct Comment {
    #[duo(primary_key)]
    pub id: i32,
    pub post_id: i32,
    pub text: String,
}

/// What the hand-written side builds: each user with its posts, each post with its comments.
pub type Loaded = Vec<(RawUser, Vec<(RawPost, Vec<RawComment>)>)>;

#[derive(Debug, Clone, PartialEq)]
pub struct RawPost {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawComment {
    pub id: i32,
    pub post_id: i32,
    pub text: String,
}

/// Users, posts per user and comments per post of the associations workload.
pub const ASSOCIATION_SHAPE: (usize, usize, usize) = (100, 10, 10);

/// Seeds the workload's rows (the three tables must be empty) with `create_bulk`.
pub async fn seed(db: &Database) -> Result<()> {
    let (users, posts_per_user, comments_per_post) = ASSOCIATION_SHAPE;
    Author::create_bulk((0..users).map(|i| json!({"name": format!("User {i}")}))).on(db).await?;
    let authors = Author::query().all().on(db).await?;
    let post_rows: Vec<_> = authors
        .iter()
        .flat_map(|a| (0..posts_per_user).map(move |i| json!({"user_id": a.id, "title": format!("Post {i} by {}", a.name)})))
        .collect();
    Post::create_bulk(post_rows).on(db).await?;
    let posts = Post::query().all().on(db).await?;
    let comment_rows: Vec<_> = posts
        .iter()
        .flat_map(|p| (0..comments_per_post).map(move |i| json!({"post_id": p.id, "text": format!("Comment {i} on {}", p.title)})))
        .collect();
    Comment::create_bulk(comment_rows).on(db).await?;
    Ok(())
}

/// duo-orm's side: one query with a two-hop eager-loading path.
pub async fn load_tree(db: &Database) -> Vec<Author> {
    Author::related(|a| a.posts.then(|p| p.comments)).all().on(db).await.expect("duo-orm associations")
}

/// The same tree with the posts joined to their authors (one statement for both, each author
/// repeated once per post), and the comments loaded by selectin.
pub async fn load_tree_joined(db: &Database) -> Vec<Author> {
    Author::related(|a| a.posts.joined())
        .related(|a| a.posts.then(|p| p.comments))
        .all()
        .on(db)
        .await
        .expect("duo-orm associations, posts joined")
}

/// duo-orm's tree in the hand-written side's shape, to compare them.
pub fn as_loaded(authors: Vec<Author>) -> Loaded {
    authors
        .into_iter()
        .map(|a| {
            let user = RawUser { id: a.id, name: a.name, hair_color: a.hair_color };
            let posts = a.posts.into_inner().expect("posts loaded").into_iter().map(|p| {
                let comments = p.comments.into_inner().expect("comments loaded").into_iter();
                let comments = comments.map(|c| RawComment { id: c.id, post_id: c.post_id, text: c.text });
                (RawPost { id: p.id, user_id: p.user_id, title: p.title, body: p.body }, comments.collect())
            });
            (user, posts.collect())
        })
        .collect()
}

/// Sorts a tree by key at every level (each side gets a group's rows in the database's order).
pub fn normalize(tree: &mut Loaded) {
    tree.sort_by_key(|(user, _)| user.id);
    for (_, posts) in tree.iter_mut() {
        posts.sort_by_key(|(post, _)| post.id);
        for (_, comments) in posts.iter_mut() {
            comments.sort_by_key(|c| c.id);
        }
    }
}

/// The hand-written side, once per backend: only the pool, row type and placeholders differ.
macro_rules! raw_associations {
    ($name:ident, $pool:ty, $row:ty, numbered = $numbered:literal) => {
        /// The associations workload by hand: the users, then their posts with an `IN` list of
        /// user ids, then those posts' comments with an `IN` list of post ids, grouped with
        /// hash maps.
        pub async fn $name(pool: &$pool) -> sqlx::Result<Loaded> {
            // `IN (…)` placeholders for `n` values.
            let placeholders =
                |n: usize| (1..=n).map(|i| if $numbered { format!("${i}") } else { "?".to_string() }).collect::<Vec<_>>().join(", ");
            // One connection for the three queries, as a careful hand-written version would.
            let mut conn = pool.acquire().await?;
            let mut rows = sqlx::query("SELECT id, name, hair_color FROM users").fetch(&mut *conn);
            let mut users = Vec::new();
            while let Some(row) = rows.try_next().await? {
                let row: $row = row;
                users.push(RawUser { id: row.try_get(0)?, name: row.try_get(1)?, hair_color: row.try_get(2)? });
            }
            drop(rows);
            let user_ids: Vec<i32> = users.iter().map(|u| u.id).collect();
            let sql = format!("SELECT id, user_id, title, body FROM posts WHERE user_id IN ({})", placeholders(user_ids.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &user_ids {
                query = query.bind(*id);
            }
            let mut rows = query.fetch(&mut *conn);
            let mut posts = Vec::new();
            while let Some(row) = rows.try_next().await? {
                let row: $row = row;
                posts.push(RawPost { id: row.try_get(0)?, user_id: row.try_get(1)?, title: row.try_get(2)?, body: row.try_get(3)? });
            }
            drop(rows);
            let post_ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
            let sql = format!("SELECT id, post_id, text FROM comments WHERE post_id IN ({})", placeholders(post_ids.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &post_ids {
                query = query.bind(*id);
            }
            let mut rows = query.fetch(&mut *conn);
            let mut comments: HashMap<i32, Vec<RawComment>> = HashMap::new();
            while let Some(row) = rows.try_next().await? {
                let row: $row = row;
                let comment = RawComment { id: row.try_get(0)?, post_id: row.try_get(1)?, text: row.try_get(2)? };
                comments.entry(comment.post_id).or_default().push(comment);
            }
            let mut by_user: HashMap<i32, Vec<(RawPost, Vec<RawComment>)>> = HashMap::new();
            for post in posts {
                let mine = comments.remove(&post.id).unwrap_or_default();
                by_user.entry(post.user_id).or_default().push((post, mine));
            }
            Ok(users
                .into_iter()
                .map(|user| {
                    let posts = by_user.remove(&user.id).unwrap_or_default();
                    (user, posts)
                })
                .collect())
        }
    };
}

raw_associations!(load_sqlite, sqlx::SqlitePool, sqlx::sqlite::SqliteRow, numbered = false);
raw_associations!(load_postgres, sqlx::PgPool, sqlx::postgres::PgRow, numbered = true);
raw_associations!(load_mysql, sqlx::MySqlPool, sqlx::mysql::MySqlRow, numbered = false);
