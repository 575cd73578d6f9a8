//! Subqueries: `is_in`/`not_in` over a one-column projection, `exists`, scalar subqueries in
//! comparisons, correlated through column comparisons, on every live backend and as exact SQL
//! in five dialects, with the dialects' refusals.

use duo_orm::prelude::*;

use crate::setup;
use crate::support::{DIALECTS, backends};

/// A field type of the tests' own, which claims to read two columns.
#[derive(FieldType, Debug, Clone, PartialEq)]
pub struct Mark(i32);

impl duo_orm::RowOf<(Mark, Mark)> for Mark {}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "sq_ballots")]
pub struct Ballot {
    #[duo(primary_key)]
    pub id: i64,
    pub mark: Mark,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "sq_users")]
pub struct User {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub name: String,
    pub karma: i32,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "sq_posts")]
pub struct Post {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub author_id: Option<i64>,
    pub score: i32,
}

/// ada (karma 10) wrote posts scored 5 and 9; bob (karma 3) wrote one scored 1; cy (karma 7)
/// wrote none; one post has no author.
async fn seed(db: &Database) -> [User; 3] {
    let ada = User::create(json!({"name": "ada", "karma": 10})).on(db).await.unwrap();
    let bob = User::create(json!({"name": "bob", "karma": 3})).on(db).await.unwrap();
    let cy = User::create(json!({"name": "cy", "karma": 7})).on(db).await.unwrap();
    for (author, score) in [(Some(ada.id), 5), (Some(ada.id), 9), (Some(bob.id), 1), (None, 4)] {
        Post::create(json!({"author_id": author, "score": score})).on(db).await.unwrap();
    }
    [ada, bob, cy]
}

async fn names(db: &Database, query: Select<User>) -> Vec<String> {
    query.order_by(|u| u.name.asc()).select(|u| u.name).all().on(db).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn subqueries_filter_by_other_queries() {
    for t in backends("sq_filters").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, User, Post);
        seed(db).await;
        // IN over a nullable column's values, compared with a key.
        let writers = User::filter(|u| u.id.is_in(Post::filter(|p| p.score.ge(5)).select(|p| p.author_id)));
        assert_eq!(names(db, writers).await, ["ada"], "{d:?}");
        // NOT IN over a subquery that yields no NULL.
        let silent = User::filter(|u| u.id.not_in(Post::filter(|p| p.author_id.is_not_null()).select(|p| p.author_id)));
        assert_eq!(names(db, silent).await, ["cy"], "{d:?}");
        // EXISTS, correlated by comparing the inner query's column with the outer one's.
        let authors = User::filter(|u| exists(Post::filter(|p| p.author_id.eq(u.id))));
        assert_eq!(names(db, authors).await, ["ada", "bob"], "{d:?}");
        let without = User::filter(|u| !exists(Post::filter(|p| p.author_id.eq(u.id))));
        assert_eq!(names(db, without).await, ["cy"], "{d:?}");
        // A scalar subquery: users whose karma beats every post's score; an aggregate reads as an
        // `Option` and compares with a plain column.
        let above = User::filter(|u| u.karma.gt(Post::query().select(|p| p.score.max())));
        assert_eq!(names(db, above).await, ["ada"], "{d:?}");
        // Grouped: the authors of more than one post.
        let prolific =
            Post::filter(|p| p.author_id.is_not_null()).select(|p| p.author_id).group_by(|p| p.author_id).having(|p| p.id.count().gt(1));
        assert_eq!(names(db, User::filter(|u| u.id.is_in(prolific))).await, ["ada"], "{d:?}");
        // Paged: the best post's author, with ORDER BY and LIMIT inside the subquery.
        let best = Post::query().order_by(|p| p.score.desc()).limit(1).select(|p| p.author_id);
        assert_eq!(names(db, User::filter(|u| u.id.eq(best))).await, ["ada"], "{d:?}");
        // A column compared with a column of the same row (a nullable one with a key).
        let own = Post::filter(|p| p.author_id.eq(p.id)).select(|p| p.score).all().on(db).await.unwrap();
        assert_eq!(own, [5], "{d:?}");
    }
}

#[tokio::test]
async fn dialects_refuse_what_they_cannot_write() {
    let paged_in = User::filter(|u| u.id.is_in(Post::query().order_by(|p| p.score.desc()).limit(2).select(|p| p.author_id)));
    let error = paged_in.to_sql(Dialect::MySql).unwrap_err();
    assert!(matches!(&error, Error::UnsupportedOperation { .. }) && error.to_string().contains("IN"), "{error}");
    for dialect in [Dialect::MsSql, Dialect::Oracle] {
        let paged = User::filter(|u| u.id.eq(Post::query().order_by(|p| p.score.desc()).limit(1).select(|p| p.author_id)));
        assert!(matches!(paged.to_sql(dialect), Err(Error::UnsupportedOperation { .. })), "{dialect:?}");
    }
    // Several columns read as one value through `into_rows` are still not one value: only a
    // field type of one's own can claim to read two columns (`RowOf`).
    let two = Ballot::query().select(|b| (b.mark, b.mark)).into_rows::<Mark>();
    let error = Ballot::filter(|b| b.mark.eq(two)).to_sql(Dialect::Postgres).unwrap_err();
    assert!(matches!(&error, Error::InvalidQuery { message, .. } if message.contains("picks 2")), "{error}");
    // Subqueries count towards the nesting limit of conditions, however they nest.
    let nested = |levels: usize| {
        let mut condition = User::columns().id.eq(1);
        for _ in 0..levels {
            condition = exists(User::query().and_where(condition));
        }
        User::query().and_where(condition).to_sql(Dialect::Postgres)
    };
    assert!(nested(10).is_ok());
    let deep = nested(duo_orm::MAX_CONDITION_DEPTH as usize + 1).unwrap_err();
    assert!(matches!(&deep, Error::InvalidQuery { message, .. } if message.contains("nests deeper")), "{deep}");
    let mut scalar = User::columns().karma.eq(1);
    for _ in 0..40 {
        scalar = User::columns().karma.gt(User::query().and_where(scalar).select(|u| u.karma.max()));
    }
    assert!(matches!(User::query().and_where(scalar).to_sql(Dialect::Sqlite), Err(Error::InvalidQuery { .. })));
    // An invalid inner query fails the outer one.
    let invalid = User::filter(|_| exists(Post::query().order_by_str("nope")));
    assert!(matches!(invalid.to_sql(Dialect::Postgres), Err(Error::InvalidQuery { .. })));
}

#[test]
fn subqueries_in_five_dialects() {
    for (name, dialect) in DIALECTS {
        let queries = [
            User::filter(|u| u.id.is_in(Post::filter(|p| p.score.ge(5)).order_by(|p| p.id.asc()).select(|p| p.author_id))),
            User::filter(|u| exists(Post::filter(|p| p.author_id.eq(u.id).and(p.score.gt(3))))),
            User::filter(|u| u.karma.gt(Post::query().select(|p| p.score.max())).and(u.name.ne("x"))),
        ];
        let text =
            queries.iter().map(|q| q.to_sql(dialect).map(|s| s.sql).unwrap_or_else(|e| e.to_string())).collect::<Vec<_>>().join(";\n");
        insta::assert_snapshot!(format!("subqueries_{name}"), text);
    }
}
