//! Relationships, live: declarations, association helpers, eager loading (strategies, paths,
//! statement counts, refusals), relationship filters and cascades.

use std::cell::Cell;

use duo_orm::InvalidQueryKind;
use duo_orm::prelude::*;
use duo_orm::{Relation, path};
use serde_json::json;

use crate::setup;
use crate::support::{TestDb, backends, counted};

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "rel_users")]
pub struct User {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    #[duo(has_many(Post, foreign_key = author_id, cascade))]
    pub posts: Related<Vec<Post>>,
    #[duo(has_one(Profile, foreign_key = user_id))]
    pub profile: Related<Option<Profile>>,
}

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "rel_posts")]
pub struct Post {
    #[duo(primary_key)]
    pub id: i64,
    pub title: String,
    pub published: bool,
    #[duo(references = User, index)]
    pub author_id: i64,
    #[duo(references = User, on_delete = set_null)]
    pub editor_id: Option<i64>,
    #[duo(belongs_to(User, foreign_key = author_id))]
    pub author: Related<User>,
    #[duo(belongs_to(User, foreign_key = editor_id))]
    pub editor: Related<Option<User>>,
    #[duo(has_many(Comment, foreign_key = post_id))]
    pub comments: Related<Vec<Comment>>,
    #[duo(many_to_many(Tag, through = "rel_post_tags", owner_key = post_id, target_key = tag_id, cascade))]
    pub tags: Related<Vec<Tag>>,
}

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "rel_comments")]
pub struct Comment {
    #[duo(primary_key)]
    pub id: i64,
    pub body: String,
    pub likes: i32,
    // The database deletes a post's comments with it.
    #[duo(references = Post, on_delete = cascade, index)]
    pub post_id: i64,
    #[duo(belongs_to(Post))]
    pub post: Related<Post>,
}

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "rel_profiles")]
pub struct Profile {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(references = User, on_delete = cascade, unique)]
    pub user_id: i64,
    pub bio: String,
}

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "rel_tags")]
pub struct Tag {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    // The other side of the same join table, here through its own model.
    #[duo(many_to_many(Post, through = PostTag, owner_key = tag_id, target_key = post_id))]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "rel_post_tags")]
pub struct PostTag {
    #[duo(primary_key, references = Post, on_delete = cascade)]
    pub post_id: i64,
    #[duo(primary_key, references = Tag, on_delete = cascade)]
    pub tag_id: i64,
}

thread_local! {
    /// Posts deleted through the ORM on this thread (the cascade runs their hooks).
    static POSTS_DELETED: Cell<usize> = const { Cell::new(0) };
}

impl Hooks for Post {
    fn before_delete(&self) -> Result<()> {
        if self.title == "undeletable" {
            return Err(Error::validation("title", "this post cannot be deleted"));
        }
        POSTS_DELETED.set(POSTS_DELETED.get() + 1);
        Ok(())
    }
}

/// Alice (2 posts: 3 + 1 comments, tags rust/orm), Bob (1 post, no comments), Carol (none).
struct Fixture {
    alice: User,
    bob: User,
    carol: User,
}

async fn fixture(t: &TestDb) -> Fixture {
    let db = &t.db;
    setup!(db, User, Post, Comment, Profile, Tag, PostTag);
    let user = |name: &str| User::create(json!({ "name": name })).on(db);
    let (alice, bob, carol) = (user("Alice").await.unwrap(), user("Bob").await.unwrap(), user("Carol").await.unwrap());
    let rust = Tag::create(json!({"name": "rust"})).on(db).await.unwrap();
    let orm = Tag::create(json!({"name": "orm"})).on(db).await.unwrap();
    let first = alice.posts().create(json!({"title": "Rust ORMs", "published": true})).on(db).await.unwrap();
    let second = alice.posts().create(json!({"title": "Draft", "published": false, "editor_id": bob.id})).on(db).await.unwrap();
    bob.posts().create(json!({"title": "Bob's post", "published": true})).on(db).await.unwrap();
    for (body, likes) in [("great", 3), ("rust!", 1), ("meh", 0)] {
        first.comments().create(json!({"body": body, "likes": likes})).on(db).await.unwrap();
    }
    second.comments().create(json!({"body": "typo", "likes": 2})).on(db).await.unwrap();
    first.tags().attach(&rust).on(db).await.unwrap();
    first.tags().attach(&orm).on(db).await.unwrap();
    second.tags().attach(&rust).on(db).await.unwrap();
    alice.profile().create(json!({"bio": "writes"})).on(db).await.unwrap();
    Fixture { alice, bob, carol }
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.name.as_str()).collect()
}

#[tokio::test]
async fn a_relationship_is_not_a_column_and_reads_as_not_loaded() {
    for t in backends("rel_not_loaded").await {
        let f = fixture(&t).await;
        let alice = User::get(f.alice.id).on(&t.db).await.unwrap().unwrap();
        let error = alice.posts.get().unwrap_err();
        assert!(matches!(error, Error::NotLoaded { model: "User", relation: "posts" }), "{error:?}");
        assert!(error.to_string().contains("User.posts is not loaded"), "{error}");
        assert!(User::meta().column_by_field("posts").is_none());
        assert_eq!(User::meta().relations.iter().map(|r| r.name).collect::<Vec<_>>(), ["posts", "profile"]);
        // Not loaded serializes as null, never as an empty list.
        assert_eq!(serde_json::to_value(&alice).unwrap()["posts"], json!(null));
    }
}

#[tokio::test]
async fn association_helpers_create_load_attach_and_detach() {
    for t in backends("rel_assoc").await {
        let db = &t.db;
        let f = fixture(&t).await;
        let posts = f.alice.posts().all().on(db).await.unwrap();
        assert_eq!(posts.len(), 2, "{:?}", t.dialect);
        assert!(posts.iter().all(|p| p.author_id == f.alice.id));
        assert_eq!(f.carol.posts().get().on(db).await.unwrap().len(), 0);
        assert_eq!(f.alice.posts().count().on(db).await.unwrap(), 2);
        let draft = f.alice.posts().query().filter(|p| p.published.eq(false)).one().on(db).await.unwrap();
        assert_eq!(draft.author().get().on(db).await.unwrap().name, "Alice");
        assert_eq!(draft.editor().get().on(db).await.unwrap().map(|u| u.name), Some("Bob".to_string()));
        let published = f.alice.posts().query().filter(|p| p.published.eq(true)).one().on(db).await.unwrap();
        assert!(published.editor().get().on(db).await.unwrap().is_none());
        assert_eq!(f.alice.profile().get().on(db).await.unwrap().map(|p| p.bio), Some("writes".to_string()));
        assert!(f.bob.profile().get().on(db).await.unwrap().is_none());

        // Many-to-many: create through the owner links the new row; attach/detach the join row.
        let mut tags: Vec<String> = published.tags().all().on(db).await.unwrap().into_iter().map(|t| t.name).collect();
        tags.sort();
        assert_eq!(tags, ["orm", "rust"]);
        let fresh = published.tags().create(json!({"name": "fresh"})).on(db).await.unwrap();
        assert_eq!(fresh.posts().all().on(db).await.unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), [published.id]);
        assert!(published.tags().detach(&fresh).on(db).await.unwrap());
        assert!(!published.tags().detach(&fresh).on(db).await.unwrap(), "a second detach finds no link");
        assert_eq!(published.tags().count().on(db).await.unwrap(), 2);
        assert!(Tag::get(fresh.id).on(db).await.unwrap().is_some(), "detach keeps the row");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn eager_loading_costs_one_statement_per_selectin_hop() {
    for t in backends("rel_eager").await {
        let db = &t.db;
        let f = fixture(&t).await;
        let dialect = t.dialect;

        // users → posts → comments: the users, then one statement per hop.
        let (users, statements) = counted(User::related(|u| u.posts.then(|p| p.comments)).order_by(|u| u.id.asc()).all().on(db)).await;
        assert_eq!(statements, 3, "{dialect:?}");
        assert_eq!(names(&users), ["Alice", "Bob", "Carol"]);
        let mut comment_counts: Vec<usize> = users[0].posts.get().unwrap().iter().map(|p| p.comments.get().unwrap().len()).collect();
        comment_counts.sort();
        assert_eq!(comment_counts, [1, 3]);
        assert!(users[1].posts.get().unwrap()[0].comments.get().unwrap().is_empty());
        assert!(users[2].posts.get().unwrap().is_empty(), "loaded and empty, not missing");
        assert!(users[0].profile.get().is_err(), "only the asked paths load");

        // The same path twice, and its prefix, load once; a sibling path adds its own hop.
        let (users, statements) = counted(
            User::related(|u| u.posts)
                .related(|u| u.posts.then(|p| p.comments))
                .related_path(path!(User::posts, Post::comments))
                .related(|u| u.profile)
                .order_by(|u| u.id.asc())
                .all()
                .on(db),
        )
        .await;
        assert_eq!(statements, 3, "profile is joined to the users: {dialect:?}");
        assert_eq!(users[0].profile.get().unwrap().as_ref().map(|p| p.bio.as_str()), Some("writes"));
        assert!(users[1].profile.get().unwrap().is_none(), "LEFT JOIN found no profile");

        // To-one hops join: comments with their post and its author, in one statement, and
        // `selectin` asked on a to-one hop joins as well.
        let (comments, statements) =
            counted(Comment::related(|c| c.post.then(|p| p.author)).related(|c| c.post.selectin()).all().on(db)).await;
        assert_eq!(statements, 1, "{dialect:?}");
        assert_eq!(comments.len(), 4);
        assert!(comments.iter().all(|c| c.post.get().unwrap().author.get().unwrap().name == "Alice"));

        // Two joins to the same table (author, editor) get their own aliases; a NULL foreign key
        // loads as None.
        let (posts, statements) = counted(Post::related(|p| p.author).related(|p| p.editor).order_by(|p| p.id.asc()).all().on(db)).await;
        assert_eq!(statements, 1);
        let editors: Vec<Option<&str>> = posts.iter().map(|p| p.editor.get().unwrap().as_ref().map(|u| u.name.as_str())).collect();
        assert_eq!(editors, [None, Some("Bob"), None]);
        assert_eq!(posts[2].author.get().unwrap().name, "Bob");

        // A selectin hop below a joined one: comments + post (joined), then the posts' tags.
        let (comments, statements) = counted(Comment::related(|c| c.post.then(|p| p.tags)).all().on(db)).await;
        assert_eq!(statements, 2, "{dialect:?}");
        for comment in &comments {
            let post = comment.post.get().unwrap();
            let expected = if post.title == "Draft" { 1 } else { 2 };
            assert_eq!(post.tags.get().unwrap().len(), expected);
        }

        // Many-to-many both ways: a tag shared by two posts is handed to both.
        let (posts, statements) = counted(Post::related(|p| p.tags).order_by(|p| p.id.asc()).all().on(db)).await;
        assert_eq!(statements, 2);
        assert_eq!(posts.iter().map(|p| p.tags.get().unwrap().len()).collect::<Vec<_>>(), [2, 1, 0]);
        let (tags, _) = counted(Tag::related(|t| t.posts.then(|p| p.author)).order_by(|t| t.id.asc()).all().on(db)).await;
        assert_eq!(tags.iter().map(|t| t.posts.get().unwrap().len()).collect::<Vec<_>>(), [2, 1]);
        assert!(tags[0].posts.get().unwrap().iter().all(|p| p.author.get().unwrap().id == f.alice.id));

        // A collection joined (single hop): one statement, each owner once with all its rows.
        let (users, statements) = counted(User::related(|u| u.posts.joined()).order_by(|u| u.id.asc()).all().on(db)).await;
        assert_eq!(statements, 1, "{dialect:?}");
        assert_eq!(names(&users), ["Alice", "Bob", "Carol"]);
        assert_eq!(users.iter().map(|u| u.posts.get().unwrap().len()).collect::<Vec<_>>(), [2, 1, 0]);
        // Paging counts owners, not joined rows; a selectin hop below the joined one still loads.
        let (users, statements) = counted(
            User::related(|u| u.posts.joined()).related(|u| u.posts.then(|p| p.comments)).order_by(|u| u.name.desc()).limit(2).all().on(db),
        )
        .await;
        assert_eq!(statements, 2, "{dialect:?}");
        assert_eq!(names(&users), ["Carol", "Bob"]);
        assert_eq!(users[1].posts.get().unwrap().len(), 1);
        assert!(users[1].posts.get().unwrap()[0].comments.get().unwrap().is_empty());
        let alice = User::related(|u| u.posts.joined()).order_by(|u| u.id.asc()).first().on(db).await.unwrap().unwrap();
        assert_eq!(alice.posts.get().unwrap().len(), 2, "first() limits owners, not joined rows");
        // A paged count counts owners too, whatever `related(..)` joins.
        let count = User::related(|u| u.posts.joined()).limit(2).count().on(db).await.unwrap();
        assert_eq!(count, 2, "{dialect:?}: Alice's two posts are one user");
        assert_eq!(Post::related(|p| p.author).limit(10).count().on(db).await.unwrap(), 3, "{dialect:?}");

        // A many-to-many joined: through its join table, each post once with all its tags.
        let (posts, statements) = counted(Post::related(|p| p.tags.joined()).order_by(|p| p.id.asc()).all().on(db)).await;
        assert_eq!(statements, 1, "{dialect:?}");
        assert_eq!(posts.iter().map(|p| p.tags.get().unwrap().len()).collect::<Vec<_>>(), [2, 1, 0]);
        // A collection below a joined to-one hop: every comment's post gets all its comments,
        // although the post was joined once per comment.
        let (comments, statements) = counted(Comment::related(|c| c.post.then(|p| p.comments)).all().on(db)).await;
        assert_eq!(statements, 2, "{dialect:?}");
        for comment in &comments {
            let post = comment.post.get().unwrap();
            let expected = if post.title == "Draft" { 1 } else { 3 };
            assert_eq!(post.comments.get().unwrap().len(), expected, "{dialect:?}");
        }
        // Three hops: users → posts → tags → the tags' posts; one statement per hop.
        let (users, statements) =
            counted(User::related(|u| u.posts.then(|p| p.tags).then(|t| t.posts)).order_by(|u| u.id.asc()).all().on(db)).await;
        assert_eq!(statements, 4, "{dialect:?}");
        let rust_posts: Vec<usize> = users[0]
            .posts
            .get()
            .unwrap()
            .iter()
            .flat_map(|p| p.tags.get().unwrap().iter().filter(|t| t.name == "rust").map(|t| t.posts.get().unwrap().len()))
            .collect();
        assert_eq!(rust_posts, [2, 2]);

        // Inside a transaction, loading uses its connection and sees its uncommitted rows; the
        // sync API loads the same way.
        let loaded = db
            .transaction(async {
                f.carol.posts().create(json!({"title": "uncommitted", "published": false})).on(db).await?;
                let carol = User::related(|u| u.posts).filter(|u| u.id.eq(f.carol.id)).one().on(db).await?;
                Err::<(), _>(Error::validation("rollback", carol.posts.get()?.len().to_string()))
            })
            .await;
        assert!(matches!(loaded, Err(Error::Validation { ref detail, .. }) if detail == "1"), "{loaded:?}");
        let url = t.url.clone();
        let counts = tokio::task::spawn_blocking(move || {
            let db = Database::new(url);
            let users = User::related(|u| u.posts.then(|p| p.comments)).order_by(|u| u.id.asc()).all().on(&db).wait().unwrap();
            users.iter().map(|u| u.posts.get().unwrap().len()).collect::<Vec<_>>()
        })
        .await
        .unwrap();
        assert_eq!(counts, [2, 1, 0], "the rolled-back post is gone, and .wait() loads too");

        // Streaming loads each batch's relationships (two users per batch here).
        let mut streamed = Vec::new();
        let mut stream = User::related(|u| u.posts.then(|p| p.comments)).iterate().batch_size(2).on(db).stream();
        while let Some(user) = stream.try_next().await.unwrap() {
            streamed.push((user.name.clone(), user.posts.get().unwrap().len()));
        }
        assert_eq!(streamed, [("Alice".to_string(), 2), ("Bob".to_string(), 1), ("Carol".to_string(), 0)]);

        // Paths from a request, as text; first() and one() load too.
        let alice =
            User::query().related_names("posts.comments, profile").filter(|u| u.name.eq("Alice")).first().on(db).await.unwrap().unwrap();
        assert_eq!(alice.posts.get().unwrap().len(), 2);
        let bob = User::related(|u| u.posts).filter(|u| u.id.eq(f.bob.id)).one().on(db).await.unwrap();
        assert_eq!(bob.posts.get().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn selectin_rows_reach_their_owners_whatever_is_joined_below_and_however_sparse_the_keys() {
    for t in backends("rel_grouping").await {
        let db = &t.db;
        let d = t.dialect;
        let f = fixture(&t).await;
        // A key far from the others: the owners' keys no longer fit a small table and are hashed.
        let zed = User::create(json!({"id": 4_000_000, "name": "Zed"})).on(db).await.unwrap();
        assert_eq!(zed.id, 4_000_000, "{d:?}");
        zed.posts().create(json!({"title": "Far away", "published": true, "editor_id": f.alice.id})).on(db).await.unwrap();

        let titles = |users: &[User]| -> Vec<(String, Vec<String>)> {
            users
                .iter()
                .map(|u| {
                    let mut titles: Vec<String> = u.posts.get().unwrap().iter().map(|p| p.title.clone()).collect();
                    titles.sort();
                    (u.name.clone(), titles)
                })
                .collect()
        };
        let expected: Vec<(String, Vec<String>)> =
            [("Alice", vec!["Draft", "Rust ORMs"]), ("Bob", vec!["Bob's post"]), ("Carol", vec![]), ("Zed", vec!["Far away"])]
                .into_iter()
                .map(|(name, titles)| (name.to_string(), titles.into_iter().map(String::from).collect()))
                .collect();

        // The same hop alone, then with a joined hop below it: two statement texts, each kept
        // and each right, in one process.
        for _ in 0..2 {
            let plain = User::related(|u| u.posts).order_by(|u| u.id.asc()).all().on(db).await.unwrap();
            assert_eq!(titles(&plain), expected, "{d:?}");
            let edited = User::related(|u| u.posts.then(|p| p.editor)).order_by(|u| u.id.asc()).all().on(db).await.unwrap();
            assert_eq!(titles(&edited), expected, "{d:?}");
            let editors: Vec<(String, Option<String>)> = edited
                .iter()
                .flat_map(|u| u.posts.get().unwrap().iter())
                .map(|p| (p.title.clone(), p.editor.get().unwrap().as_ref().map(|e| e.name.clone())))
                .filter(|(_, editor)| editor.is_some())
                .collect();
            let mut editors = editors;
            editors.sort();
            assert_eq!(
                editors,
                [("Draft".to_string(), Some("Bob".to_string())), ("Far away".to_string(), Some("Alice".to_string()))],
                "{d:?}"
            );
        }
        // Only some of the owners, keys out of order: each still gets exactly its own rows.
        let some = User::related(|u| u.posts).filter(|u| u.name.ne("Bob")).order_by(|u| u.id.desc()).all().on(db).await.unwrap();
        let mut got = titles(&some);
        got.reverse();
        let without_bob: Vec<_> = expected.iter().filter(|(name, _)| name != "Bob").cloned().collect();
        assert_eq!(got, without_bob, "{d:?}");
    }
}

#[tokio::test]
async fn eager_loading_refuses_what_it_cannot_load() {
    for t in backends("rel_refusals").await {
        let db = &t.db;
        fixture(&t).await;
        let invalid = |result: Result<Vec<User>>, needle: &str| match result {
            Err(Error::InvalidQuery { message, .. }) => assert!(message.contains(needle), "{message}"),
            other => panic!("expected InvalidQuery containing {needle:?}, got {other:?}"),
        };
        let four_hops: Relation<User, User> = User::columns().posts.then(|p| p.comments).then(|c| c.post).then(|p| p.author);
        invalid(User::related_path(four_hops).all().on(db).await, "at most 3");
        invalid(User::related(|u| u.posts.then(|p| p.comments).joined()).all().on(db).await, "passes through the collection");
        invalid(User::related(|u| u.posts.selectin()).related(|u| u.posts.joined()).all().on(db).await, "both selectin and joined");
        invalid(User::query().related_names("comments").all().on(db).await, "User has no relationship `comments`");
        invalid(User::query().related_names("posts.author.nope").all().on(db).await, "User has no relationship `nope`");
        let posts = Post::related(|p| p.comments.joined()).related(|p| p.tags.joined()).all().on(db).await;
        assert!(
            matches!(posts, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relationship, message: ref m, .. }) if m.contains("cannot join the collections")),
            "{posts:?}"
        );
    }
}

#[tokio::test]
async fn relationship_filters_exists_all_and_count_across_paths() {
    for t in backends("rel_filters").await {
        let db = &t.db;
        fixture(&t).await;
        let users = |q: Select<User>| async move { q.order_by(|u| u.id.asc()).all().on(db).await.unwrap() };

        assert_eq!(names(&users(User::filter(|u| u.posts.exists())).await), ["Alice", "Bob"]);
        assert_eq!(names(&users(User::filter(|u| !u.posts.exists())).await), ["Carol"]);
        assert_eq!(names(&users(User::filter(|u| u.posts.any(|p| p.title.contains("Rust")))).await), ["Alice"]);
        // all: Carol has no posts, so all of them are published.
        assert_eq!(names(&users(User::filter(|u| u.posts.all(|p| p.published.eq(true)))).await), ["Bob", "Carol"]);
        assert_eq!(names(&users(User::filter(|u| u.posts.count().ge(2))).await), ["Alice"]);
        assert_eq!(names(&users(User::filter(|u| u.posts.count().eq(0) | u.name.eq("Bob"))).await), ["Bob", "Carol"]);

        // Across two hops: users → posts → comments.
        let comments = |u: &UserColumns| u.posts.then(|p| p.comments);
        assert_eq!(names(&users(User::filter(|u| comments(u).any(|c| c.body.eq("typo")))).await), ["Alice"]);
        assert_eq!(names(&users(User::filter(|u| comments(u).count().gt(3))).await), ["Alice"]);
        assert_eq!(names(&users(User::filter(|u| comments(u).all(|c| c.likes.ge(1)))).await), ["Bob", "Carol"]);
        assert_eq!(names(&users(User::filter(|u| comments(u).exists() & u.posts.count().lt(5))).await), ["Alice"]);

        // Through a join table, and ordered by a count (ties broken by id).
        let tagged = Post::filter(|p| p.tags.any(|t| t.name.eq("orm"))).all().on(db).await.unwrap();
        assert_eq!(tagged.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["Rust ORMs"]);
        let by_posts = User::query().order_by(|u| (u.posts.count().desc(), u.id.asc())).all().on(db).await.unwrap();
        assert_eq!(names(&by_posts), ["Alice", "Bob", "Carol"]);
        let by_comments = User::query().order_by(|u| (comments(u).count().asc(), u.id.desc())).all().on(db).await.unwrap();
        assert_eq!(names(&by_comments), ["Carol", "Bob", "Alice"]);
        let popular_tags = Tag::filter(|t| t.posts.count().ge(2)).all().on(db).await.unwrap();
        assert_eq!(popular_tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["rust"]);
        // A filter combined with loading: the users with a comment, with their posts.
        let loaded = User::related(|u| u.posts).filter(|u| comments(u).exists()).all().on(db).await.unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].posts.get().unwrap().len(), 2);
        // A path that visits a table twice cannot be written as a correlated subquery.
        let result = User::filter(|u| u.posts.then(|p| p.author).exists()).all().on(db).await;
        assert!(matches!(result, Err(Error::InvalidQuery { message: ref m, .. }) if m.contains("twice")), "{result:?}");
    }
}

#[tokio::test]
async fn deleting_a_parent_honours_declared_cascades() {
    for t in backends("rel_cascade").await {
        let db = &t.db;
        let f = fixture(&t).await;
        let alice_posts: Vec<i64> = f.alice.posts().all().on(db).await.unwrap().iter().map(|p| p.id).collect();
        POSTS_DELETED.set(0);
        // ORM cascade: User.posts is declared `cascade`, so each post is deleted with its hooks;
        // Post.tags removes the join rows; the database cascade removes the comments.
        f.alice.delete().on(db).await.unwrap();
        assert_eq!(POSTS_DELETED.get(), 2, "{:?}", t.dialect);
        assert_eq!(Post::filter(|p| p.id.is_in(alice_posts.clone())).count().on(db).await.unwrap(), 0);
        assert_eq!(Comment::query().count().on(db).await.unwrap(), 0, "the database cascade removed the comments");
        assert_eq!(PostTag::query().count().on(db).await.unwrap(), 0);
        assert_eq!(Profile::query().count().on(db).await.unwrap(), 0, "ON DELETE CASCADE from the foreign key");
        assert_eq!(Tag::query().count().on(db).await.unwrap(), 2, "tags are not owned by posts");

        // A child's hook refuses: the whole delete is undone, parent and children.
        let bobs_first = f.bob.posts().all().on(db).await.unwrap().remove(0);
        f.bob.posts().create(json!({"title": "undeletable", "published": true})).on(db).await.unwrap();
        let refused = f.bob.delete().on(db).await;
        assert!(matches!(refused, Err(Error::Validation { .. })), "{refused:?}");
        assert!(User::get(f.bob.id).on(db).await.unwrap().is_some());
        assert_eq!(f.bob.posts().count().on(db).await.unwrap(), 2, "the first post's delete was rolled back");
        Post::filter(|p| p.title.eq("undeletable")).delete_bulk().on(db).await.unwrap();
        // Bulk deletes with hooks run the ORM cascade too.
        POSTS_DELETED.set(0);
        let removed = User::filter(|u| u.id.eq(f.bob.id)).delete_bulk().with_hooks(true).on(db).await.unwrap();
        assert_eq!((removed, POSTS_DELETED.get()), (1, 1));
        assert!(Post::get(bobs_first.id).on(db).await.unwrap().is_none());

        // ON DELETE SET NULL: a post edited by Carol loses its editor when Carol goes.
        let carols = f.carol.posts().create(json!({"title": "by Carol", "published": true})).on(db).await.unwrap();
        let dave = User::create(json!({"name": "Dave"})).on(db).await.unwrap();
        let edited = dave.posts().create(json!({"title": "edited", "published": true, "editor_id": f.carol.id})).on(db).await.unwrap();
        Post::filter(|p| p.id.eq(carols.id)).delete_bulk().on(db).await.unwrap();
        User::filter(|u| u.id.eq(f.carol.id)).delete_bulk().on(db).await.unwrap();
        assert_eq!(Post::get(edited.id).on(db).await.unwrap().unwrap().editor_id, None);
    }
}

// Models private to their module declare relationships like public ones.
#[derive(Model, Debug, Clone)]
#[duo(table = "rel_teams")]
struct Team {
    #[duo(primary_key)]
    id: i64,
    name: String,
    #[duo(has_many(Member, foreign_key = team_id))]
    members: Related<Vec<Member>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "rel_members")]
struct Member {
    #[duo(primary_key)]
    id: i64,
    team_id: i64,
    #[duo(belongs_to(Team))]
    team: Related<Team>,
}

#[tokio::test]
async fn private_models_declare_relationships_too() {
    for t in backends("rel_private").await {
        let db = &t.db;
        setup!(db, Team, Member);
        let team = Team::create(json!({"name": "core"})).on(db).await.unwrap();
        team.members().create(json!({})).on(db).await.unwrap();
        let teams = Team::related(|t| t.members.then(|m| m.team)).all().on(db).await.unwrap();
        let members = teams[0].members.get().unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].team.get().unwrap().name, "core");
    }
}

/// Text keys: countries by code, their cities, and the languages spoken there.
#[derive(Model, Debug, Clone)]
#[duo(table = "rel_countries")]
pub struct Country {
    #[duo(primary_key, max_length = 8)]
    pub code: String,
    #[duo(has_many(City, foreign_key = country_code))]
    pub cities: Related<Vec<City>>,
    #[duo(many_to_many(Language, through = CountryLanguage, owner_key = country_code, target_key = language_id))]
    pub languages: Related<Vec<Language>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "rel_cities")]
pub struct City {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    #[duo(references = Country, max_length = 8)]
    pub country_code: String,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "rel_languages")]
pub struct Language {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "rel_country_languages")]
pub struct CountryLanguage {
    #[duo(primary_key, references = Country, max_length = 8)]
    pub country_code: String,
    #[duo(primary_key, references = Language)]
    pub language_id: i64,
}

#[tokio::test]
async fn text_keys_the_database_matches_loosely_reach_the_owner_it_matched() {
    for t in backends("rel_text_keys").await {
        let db = &t.db;
        let d = t.dialect;
        setup!(db, Country, City, Language, CountryLanguage);
        for code in ["FR", "DE", "CAFE", "ES"] {
            Country::create(json!({ "code": code })).on(db).await.unwrap();
        }
        let french = Language::create(json!({"name": "French"})).on(db).await.unwrap();
        let german = Language::create(json!({"name": "German"})).on(db).await.unwrap();
        City::create(json!({"name": "Paris", "country_code": "FR"})).on(db).await.unwrap();
        CountryLanguage::create(json!({"country_code": "FR", "language_id": french.id})).on(db).await.unwrap();
        // MariaDB's (and MySQL 8's) default collation ignores case and accents, and foreign keys
        // compare that way too: these rows belong to FR, DE and CAFE there. Elsewhere keys
        // compare exactly, so the same rows are written with the exact keys.
        let loose = d == duo_orm::Dialect::MySql;
        let spelled = |exact: &'static str, loosely: &'static str| if loose { loosely } else { exact };
        City::create(json!({"name": "Lyon", "country_code": spelled("FR", "fr")})).on(db).await.unwrap();
        City::create(json!({"name": "Berlin", "country_code": spelled("DE", "dE")})).on(db).await.unwrap();
        City::create(json!({"name": "Nowhere", "country_code": spelled("CAFE", "café")})).on(db).await.unwrap();
        CountryLanguage::create(json!({"country_code": spelled("DE", "de"), "language_id": german.id})).on(db).await.unwrap();
        CountryLanguage::create(json!({"country_code": spelled("CAFE", "Café"), "language_id": french.id})).on(db).await.unwrap();

        let countries = Country::related(|c| c.cities).related(|c| c.languages).order_by(|c| c.code.asc()).all().on(db).await.unwrap();
        let loaded: Vec<(String, Vec<String>, Vec<String>)> = countries
            .iter()
            .map(|c| {
                let mut cities: Vec<String> = c.cities.get().unwrap().iter().map(|x| x.name.clone()).collect();
                cities.sort();
                let languages = c.languages.get().unwrap().iter().map(|l| l.name.clone()).collect();
                (c.code.clone(), cities, languages)
            })
            .collect();
        let row = |code: &str, cities: &[&str], languages: &[&str]| {
            (code.to_string(), cities.iter().map(|s| s.to_string()).collect(), languages.iter().map(|s| s.to_string()).collect())
        };
        assert_eq!(
            loaded,
            [
                row("CAFE", &["Nowhere"], &["French"]),
                row("DE", &["Berlin"], &["German"]),
                row("ES", &[], &[]),
                row("FR", &["Lyon", "Paris"], &["French"]),
            ],
            "{d:?}: every row reaches the owner the database matched it to"
        );
    }
}
