//! Joins into tuples: inner and left joins along relationships and column pairs, up to three
//! models, with conditions and orders on any of them, on every live backend and as exact SQL in
//! five dialects.

use duo_orm::prelude::*;

use crate::setup;
use crate::support::{DIALECTS, backends};

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "jn_users")]
pub struct User {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub name: String,
    pub hair_color: Option<String>,
    #[duo(has_many(Post, foreign_key = author_id))]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "jn_posts")]
pub struct Post {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub author_id: i64,
    #[duo(max_length = 40)]
    pub title: String,
    #[duo(belongs_to(User, foreign_key = author_id))]
    pub author: Related<Option<User>>,
    #[duo(has_many(Comment, foreign_key = post_id))]
    pub comments: Related<Vec<Comment>>,
    #[duo(many_to_many(Tag, through = "jn_post_tags", owner_key = post_id, target_key = tag_id))]
    pub tags: Related<Vec<Tag>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "jn_comments")]
pub struct Comment {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub post_id: i64,
    #[duo(max_length = 40)]
    pub body: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "jn_tags")]
pub struct Tag {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub label: String,
}

/// A table with no declared relationship to users: joined on a column pair.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "jn_badges")]
pub struct Badge {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub holder_id: Option<i64>,
    #[duo(max_length = 40)]
    pub label: String,
}

/// A model whose key is not its first column, after NOT NULL columns: a left join that finds
/// none must still read as `None`.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "jn_notes")]
pub struct Note {
    #[duo(max_length = 40)]
    pub body: String,
    pub pinned: bool,
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub user_id: i64,
}

/// ada (black hair) has two posts, the first with two comments; bob (black hair) has none;
/// cy (red hair) has one post. ada's first post is tagged "rust".
async fn seed(db: &Database) -> (User, User, Post, Post) {
    let ada = User::create(json!({"name": "ada", "hair_color": "black"})).on(db).await.unwrap();
    let bob = User::create(json!({"name": "bob", "hair_color": "black"})).on(db).await.unwrap();
    let cy = User::create(json!({"name": "cy", "hair_color": "red"})).on(db).await.unwrap();
    let first = Post::create(json!({"author_id": ada.id, "title": "first"})).on(db).await.unwrap();
    let second = Post::create(json!({"author_id": ada.id, "title": "second"})).on(db).await.unwrap();
    Post::create(json!({"author_id": cy.id, "title": "red"})).on(db).await.unwrap();
    for body in ["nice", "more"] {
        Comment::create(json!({"post_id": first.id, "body": body})).on(db).await.unwrap();
    }
    let rust = Tag::create(json!({"label": "rust"})).on(db).await.unwrap();
    first.tags().attach(&rust).on(db).await.unwrap();
    Badge::create(json!({"holder_id": ada.id, "label": "founder"})).on(db).await.unwrap();
    Badge::create(json!({"holder_id": null, "label": "unclaimed"})).on(db).await.unwrap();
    Note::create(json!({"body": "hello", "pinned": true, "user_id": ada.id})).on(db).await.unwrap();
    (ada, bob, first, second)
}

fn names<T>(rows: &[(User, T)]) -> Vec<&str> {
    rows.iter().map(|(u, _)| u.name.as_str()).collect()
}

#[tokio::test]
async fn left_and_inner_joins_read_both_sides() {
    for t in backends("jn_two_sides").await {
        let (db, d) = (&t.db, t.dialect);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        setup!(db, User, Post, Comment, Tag, Badge, Note);
        let (ada, bob, first, second) = seed(db).await;
        // diesel_bench's "medium" query: black-haired users and their posts, if any.
        let medium: Vec<(User, Option<Post>)> = User::query()
            .left_join(|u| u.posts)
            .filter(|(u, _)| u.hair_color.eq("black"))
            .order_by(|(u, _)| u.id.asc())
            .order_by(|(_, p)| p.id.asc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(names(&medium), ["ada", "ada", "bob"], "{d:?}");
        let posts: Vec<Option<i64>> = medium.iter().map(|(_, p)| p.as_ref().map(|p| p.id)).collect();
        // MySQL sorts NULL first: bob's missing post is last because bob's id is larger.
        assert_eq!(posts, [Some(first.id), Some(second.id), None], "{d:?}");
        assert_eq!(medium[2].0, bob);
        assert_eq!(medium[0].1.as_ref().map(|p| p.title.as_str()), Some("first"));
        // The joined rows are plain rows: relationships stay unloaded.
        assert!(!medium[0].0.posts.is_loaded());

        // An inner join leaves out users without posts; conditions on the joined side.
        let inner: Vec<(User, Post)> = User::query()
            .inner_join(|u| u.posts)
            .filter(|(_, p)| p.title.ne("red"))
            .order_by(|(_, p)| p.title.desc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(inner.iter().map(|(u, p)| (u.id, p.title.as_str())).collect::<Vec<_>>(), [(ada.id, "second"), (ada.id, "first")]);

        // From the other side: a to-one relationship, with limit and offset on the joined rows.
        let second_row =
            Post::query().order_by(|p| p.id.asc()).inner_join(|p| p.author).offset(1).first().on(db).await.unwrap_or_else(|e| fail(e));
        assert_eq!(second_row.map(|(p, u)| (p.id, u.name)), Some((second.id, "ada".to_string())), "{d:?}");
    }
}

#[tokio::test]
async fn three_models_many_to_many_and_column_pairs() {
    for t in backends("jn_three").await {
        let (db, d) = (&t.db, t.dialect);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        setup!(db, User, Post, Comment, Tag, Badge, Note);
        let (ada, _, first, second) = seed(db).await;
        let threads: Vec<(User, Post, Option<Comment>)> = User::query()
            .inner_join(|u| u.posts)
            .left_join(|(_, p)| p.comments)
            .filter(|(u, _, _)| u.name.eq("ada"))
            .order_by(|(_, p, _)| p.id.asc())
            .order_by(|(_, _, c)| c.body.asc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        let shape: Vec<(i64, Option<&str>)> = threads.iter().map(|(_, p, c)| (p.id, c.as_ref().map(|c| c.body.as_str()))).collect();
        assert_eq!(shape, [(first.id, Some("more")), (first.id, Some("nice")), (second.id, None)], "{d:?}");

        // A many-to-many joins through its join table, which adds no columns.
        let tagged: Vec<(Post, Tag)> = Post::query().inner_join(|p| p.tags).all().on(db).await.unwrap_or_else(|e| fail(e));
        assert_eq!(tagged.iter().map(|(p, t)| (p.id, t.label.as_str())).collect::<Vec<_>>(), [(first.id, "rust")], "{d:?}");
        let all_tags: Vec<(Post, Option<Tag>)> =
            Post::query().left_join(|p| p.tags).order_by(|(p, _)| p.id.asc()).all().on(db).await.unwrap_or_else(|e| fail(e));
        let labels: Vec<Option<&str>> = all_tags.iter().map(|(_, t)| t.as_ref().map(|t| t.label.as_str())).collect();
        assert_eq!(labels, [Some("rust"), None, None], "{d:?}");

        // The optional side's key is not its first column.
        let notes: Vec<(User, Option<Note>)> = User::query()
            .left_join_on(|u, n: &NoteColumns| (u.id, n.user_id))
            .order_by(|(u, _)| u.id.asc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        let bodies: Vec<Option<&str>> = notes.iter().map(|(_, n)| n.as_ref().map(|n| n.body.as_str())).collect();
        assert_eq!(bodies, [Some("hello"), None, None], "{d:?}");
        // Rows of the optional side with no match are NULL: kept by `is_null`, dropped by a
        // comparison unless it says otherwise.
        let unmatched = User::query().left_join(|u| u.posts).filter(|(_, p)| p.id.is_null()).all().on(db).await.unwrap();
        assert_eq!(unmatched.iter().map(|(u, _)| u.name.as_str()).collect::<Vec<_>>(), ["bob"], "{d:?}");
        let kept =
            User::query().left_join(|u| u.posts).filter(|(_, p)| p.title.ne("red") | p.id.is_null()).all().on(db).await.unwrap().len();
        assert_eq!(kept, 3, "{d:?}");

        // No declared relationship: a column pair, a key against a nullable column.
        let badges: Vec<(User, Option<Badge>)> = User::query()
            .left_join_on(|u, b: &BadgeColumns| (u.id, b.holder_id))
            .order_by(|(u, _)| u.id.asc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        let held: Vec<(&str, Option<&str>)> = badges.iter().map(|(u, b)| (u.name.as_str(), b.as_ref().map(|b| b.label.as_str()))).collect();
        assert_eq!(held, [("ada", Some("founder")), ("bob", None), ("cy", None)], "{d:?}");
        let holders: Vec<(Badge, User)> =
            Badge::query().inner_join_on(|b, u: &UserColumns| (b.holder_id, u.id)).all().on(db).await.unwrap_or_else(|e| fail(e));
        assert_eq!(holders.iter().map(|(b, u)| (b.label.as_str(), u.id)).collect::<Vec<_>>(), [("founder", ada.id)]);
    }
}

/// Projections of joined queries: picks of any joined model, grouped by a to-one
/// relationship's column, with `having` and an order on aggregates; a left join's optional
/// side counted per owner.
#[tokio::test]
async fn projections_group_by_a_joined_models_columns() {
    for t in backends("jn_group").await {
        let db = &t.db;
        setup!(db, User, Post, Comment, Tag, Badge, Note);
        let (ada, ..) = seed(db).await;
        let dialect = t.dialect;
        let fail = |e: Error| -> ! { panic!("{dialect:?}: {e}") };
        // Posts per author name, through the post's to-one relationship.
        let per_author: Vec<(String, i64)> = Post::query()
            .inner_join(|p| p.author)
            .select(|(p, u)| (u.name, p.id.count()))
            .group_by(|(_, u)| u.name)
            .order_by(|(p, _)| p.id.count().desc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(per_author, [("ada".to_string(), 2), ("cy".to_string(), 1)], "{:?}", t.dialect);
        // `having` on the joined query's aggregate, and a filter on the joined model.
        let busy: Vec<(i64, String)> = Post::query()
            .inner_join(|p| p.author)
            .filter(|(_, u)| u.hair_color.eq("black"))
            .select(|(_, u)| (u.id, u.name))
            .group_by(|(_, u)| (u.id, u.name))
            .having(|(p, _)| p.id.count().ge(2))
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(busy, [(ada.id, "ada".to_string())], "{:?}", t.dialect);
        // Every user with its number of posts: a left join's optional side is counted (0 where
        // nothing matched), and its largest title is `None` there.
        let counts: Vec<(String, i64, Option<String>)> = User::query()
            .left_join(|u| u.posts)
            .select(|(u, p)| (u.name, p.id.count(), p.title.max()))
            .group_by(|(u, _)| u.name)
            .order_by(|(u, _)| u.name.max().asc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        let expected = [("ada", 2, Some("second")), ("bob", 0, None), ("cy", 1, Some("red"))];
        let expected: Vec<_> = expected.iter().map(|(n, c, m)| (n.to_string(), *c, m.map(str::to_string))).collect();
        assert_eq!(counts, expected, "{:?}", t.dialect);
        // A grouped projection refuses a joined model's column it did not group by.
        let ungrouped =
            Post::query().inner_join(|p| p.author).select(|(p, u)| (u.name, p.title)).group_by(|(_, u)| u.name).all().on(db).await;
        assert!(matches!(&ungrouped, Err(Error::InvalidQuery { message, .. }) if message.contains("`title`")), "{ungrouped:?}");
        let ordered = Post::query()
            .inner_join(|p| p.author)
            .order_by(|(p, _)| p.title.asc())
            .select(|(_, u)| (u.name, u.id.count()))
            .group_by(|(_, u)| u.name)
            .all()
            .on(db)
            .await;
        assert!(matches!(&ordered, Err(Error::InvalidQuery { message, .. }) if message.contains("`title`")), "{ordered:?}");
    }
}

#[tokio::test]
async fn refusals_of_joined_queries() {
    let db = Database::new("sqlite::memory:");
    setup!(db, User, Post, Comment, Tag, Badge, Note);
    // A table joined twice would need aliases.
    let twice = Post::query().inner_join(|p| p.author).inner_join(|(_, u)| u.posts).all().on(&db).await;
    assert!(matches!(&twice, Err(Error::InvalidQuery { message, .. }) if message.contains("`jn_posts`")), "{twice:?}");
    // A join follows one relationship at a time.
    let path = User::query().left_join(|u| u.posts.then(|p| p.comments)).all().on(&db).await;
    assert!(matches!(&path, Err(Error::InvalidQuery { message, .. }) if message.contains("posts.comments")), "{path:?}");
    // Eager loading does not apply to plain joined rows.
    let related = User::related(|u| u.posts).left_join(|u| u.posts).all().on(&db).await;
    assert!(matches!(&related, Err(Error::InvalidQuery { message, .. }) if message.contains("related")), "{related:?}");
    // A relationship value that names other models than its own (built by hand).
    let posts_of_users = &User::meta().relations[0];
    let lying = Post::query().inner_join(|_| duo_orm::Relation::<Post, Tag>::new(posts_of_users)).all().on(&db).await;
    assert!(matches!(&lying, Err(Error::InvalidQuery { message, .. }) if message.contains("User.posts")), "{lying:?}");
    // The queried model's own error comes first.
    let first = User::query().order_by_str("nope").inner_join(|u| u.posts).inner_join(|(_, p)| p.author).all().on(&db).await;
    assert!(matches!(&first, Err(Error::InvalidQuery { message, .. }) if message.contains("nope")), "{first:?}");
}

#[test]
fn joins_in_five_dialects() {
    for (name, dialect) in DIALECTS {
        let medium = User::query().left_join(|u| u.posts).filter(|(u, _)| u.hair_color.eq("black"));
        let paged = User::query()
            .inner_join(|u| u.posts)
            .left_join(|(_, p)| p.tags)
            .filter(|(_, p, _)| p.title.startswith("a"))
            .order_by(|(_, _, t)| t.label.desc())
            .limit(10)
            .offset(20);
        let pair = Badge::query().left_join_on(|b, u: &UserColumns| (b.holder_id, u.id)).filter(|(_, u)| u.id.is_null());
        // The queried model's order first, then the joined one's; paging without an order.
        let orders = User::query().order_by(|u| u.name.desc()).inner_join(|u| u.posts).order_by(|(_, p)| p.id.asc());
        let unordered = User::query().inner_join(|u| u.posts).limit(5);
        // Grouped by the to-one side's column, paged (SQL Server and Oracle: OFFSET … FETCH).
        let grouped = Post::query()
            .inner_join(|p| p.author)
            .select(|(p, u)| (u.name, p.id.count()))
            .group_by(|(_, u)| u.name)
            .having(|(p, _)| p.id.count().gt(1))
            .order_by(|(p, _)| p.id.count().desc())
            .limit(10)
            .offset(20);
        let text = [
            medium.to_sql(dialect),
            paged.to_sql(dialect),
            pair.to_sql(dialect),
            orders.to_sql(dialect),
            unordered.to_sql(dialect),
            grouped.to_sql(dialect),
        ]
        .into_iter()
        .map(|sql| sql.map(|s| s.sql).unwrap_or_else(|e| e.to_string()))
        .collect::<Vec<_>>()
        .join(";\n");
        insta::assert_snapshot!(format!("joins_{name}"), text);
    }
}
