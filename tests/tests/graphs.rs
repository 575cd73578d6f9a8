//! Saving object graphs, live: `save()` writes what relationship fields hold (parents first,
//! then the row, then children and join rows), in one transaction, one INSERT per table level,
//! writing only what changed, with orphans handled as declared.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use duo_orm::prelude::*;
use serde_json::json;

use crate::setup;
use crate::support::{TestDb, backends, count_statements, recorded};

#[derive(Model, Debug, Clone)]
#[duo(table = "graph_authors")]
pub struct Author {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    #[duo(default = "new")]
    pub status: Option<String>,
    // Removing a loaded article from the Vec is refused (the default).
    #[duo(has_many(Article, foreign_key = author_id))]
    pub articles: Related<Vec<Article>>,
    #[duo(has_one(Bio, foreign_key = author_id, orphans = keep))]
    pub bio: Related<Option<Bio>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "graph_articles")]
pub struct Article {
    #[duo(primary_key)]
    pub id: i64,
    pub title: String,
    #[duo(references = Author, index)]
    pub author_id: i64,
    #[duo(references = Author)]
    pub reviewer_id: Option<i64>,
    #[duo(belongs_to(Author, foreign_key = author_id))]
    pub author: Related<Author>,
    #[duo(belongs_to(Author, foreign_key = reviewer_id))]
    pub reviewer: Related<Option<Author>>,
    #[duo(has_many(Note, foreign_key = article_id, orphans = delete))]
    pub notes: Related<Vec<Note>>,
    #[duo(many_to_many(Label, through = "graph_article_labels", owner_key = article_id, target_key = label_slug))]
    pub labels: Related<Vec<Label>>,
    #[duo(many_to_many(Label, through = Pin, owner_key = article_id, target_key = label_slug))]
    pub pins: Related<Vec<Label>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "graph_notes")]
pub struct Note {
    #[duo(primary_key)]
    pub id: i64,
    pub body: String,
    #[duo(references = Article, on_delete = cascade, index)]
    pub article_id: i64,
    #[duo(set_on(create))]
    pub created_at: DateTime<Utc>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "graph_bios")]
pub struct Bio {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(references = Author, on_delete = cascade)]
    pub author_id: i64,
    pub text: String,
}

/// A natural key: the program sets it, so a save asks the database whether the row exists.
#[derive(Model, Debug, Clone)]
#[duo(table = "graph_labels")]
pub struct Label {
    #[duo(primary_key, max_length = 40)]
    pub slug: String,
    pub title: String,
}

/// A join model with a required column of its own: links cannot be made from two keys.
#[derive(Model, Debug, Clone)]
#[duo(table = "graph_pins")]
pub struct Pin {
    #[duo(primary_key, references = Article, on_delete = cascade)]
    pub article_id: i64,
    #[duo(primary_key, references = Label, on_delete = cascade, max_length = 40)]
    pub label_slug: String,
    pub position: i32,
}

thread_local! {
    /// Notes through `before_save` on this thread.
    static NOTES_SAVED: Cell<usize> = const { Cell::new(0) };
}

impl Hooks for Note {
    fn validate(&self) -> Result<()> {
        if self.body.is_empty() {
            return Err(Error::validation("body", "a note needs a body"));
        }
        Ok(())
    }

    fn before_save(&mut self) -> Result<()> {
        NOTES_SAVED.set(NOTES_SAVED.get() + 1);
        self.body = self.body.trim().to_string();
        Ok(())
    }
}

impl Hooks for Bio {
    fn before_save(&mut self) -> Result<()> {
        assert!(self.text != "panic", "a hook panicked");
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if self.text.is_empty() {
            return Err(Error::validation("text", "a bio needs text"));
        }
        Ok(())
    }
}

thread_local! {
    /// Articles through `after_save` on this thread.
    static ARTICLES_AFTER_SAVE: Cell<usize> = const { Cell::new(0) };
}

impl Hooks for Article {
    fn after_save(&self) -> Result<()> {
        ARTICLES_AFTER_SAVE.set(ARTICLES_AFTER_SAVE.get() + 1);
        Ok(())
    }
}

async fn tables(t: &TestDb) {
    let db = &t.db;
    // create_all also creates the bare join table graph_article_labels.
    setup!(db, Author, Article, Note, Bio, Label, Pin);
}

fn author(name: &str) -> Author {
    Author { id: 0, name: name.into(), status: None, articles: Related::not_loaded(), bio: Related::not_loaded() }
}

fn article(title: &str) -> Article {
    Article {
        id: 0,
        title: title.into(),
        author_id: 0,
        reviewer_id: None,
        author: Related::not_loaded(),
        reviewer: Related::not_loaded(),
        notes: Related::not_loaded(),
        labels: Related::not_loaded(),
        pins: Related::not_loaded(),
    }
}

fn note(body: &str) -> Note {
    Note { id: 0, body: body.into(), article_id: 0, created_at: DateTime::<Utc>::MIN_UTC }
}

fn label(slug: &str) -> Label {
    Label { slug: slug.into(), title: slug.to_uppercase() }
}

fn inserts(sql: &[String]) -> Vec<&String> {
    sql.iter().filter(|s| s.trim_start_matches('"').starts_with("INSERT")).collect()
}

fn starting(sql: &[String], word: &str) -> usize {
    sql.iter().filter(|s| s.trim_start_matches('"').starts_with(word)).count()
}

#[tokio::test(flavor = "current_thread")]
async fn an_assigned_parent_fills_the_foreign_key_and_an_unsaved_one_is_saved_first() {
    for t in backends("graph_parent").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let alice = Author::create(json!({"name": "Alice"})).on(db).await.unwrap();

        // DuoORM's `Post(title=..., author=alice).save()`: the saved author is linked, not written.
        let mut post = Article { author: Related::loaded(alice.clone()), ..article("Hello") };
        let ((), seen) = recorded(post.save().on(db)).await;
        assert_eq!(post.author_id, alice.id, "{dialect:?}");
        assert!(post.id != 0);
        assert!(!seen.iter().any(|s| s.contains("graph_authors")), "alice is linked, not written: {seen:?}");
        assert_eq!(post.author.get().unwrap().id, alice.id, "the field still holds the author");
        // A row linked by its key is not written, even when changed in memory before the save.
        let mut renamed = alice.clone();
        renamed.name = "Alice, renamed before".into();
        let mut other = Article { author: Related::loaded(renamed), ..article("Other") };
        let ((), seen) = recorded(other.save().on(db)).await;
        assert!(!seen.iter().any(|s| s.contains("graph_authors")), "{seen:?}");
        assert_eq!(Author::get(alice.id).on(db).await.unwrap().unwrap().name, "Alice");
        // Once saved, the field is as loaded: a change through get_mut is written.
        post.author.get_mut().unwrap().name = "Alice, renamed after".into();
        post.save().on(db).await.unwrap();
        assert_eq!(Author::get(alice.id).on(db).await.unwrap().unwrap().name, "Alice, renamed after", "{dialect:?}");
        let stored = Article::get(post.id).on(db).await.unwrap().unwrap();
        assert_eq!(stored.author_id, alice.id);

        // An unsaved author (and an unsaved optional reviewer) are inserted first.
        let mut post =
            Article { author: Related::loaded(author("Bob")), reviewer: Related::loaded(Some(author("Carol"))), ..article("Second") };
        post.save().on(db).await.unwrap();
        let bob = post.author.get().unwrap();
        assert!(bob.id != 0 && bob.id != alice.id, "{dialect:?}");
        assert_eq!(bob.status.as_deref(), Some("new"), "database defaults come back into every node");
        assert_eq!(post.author_id, bob.id);
        let carol_id = post.reviewer.get().unwrap().as_ref().unwrap().id;
        assert_eq!(post.reviewer_id, Some(carol_id));
        let loaded = Article::related(|a| a.author).filter(|a| a.id.eq(post.id)).one().on(db).await.unwrap();
        assert_eq!(loaded.author.get().unwrap().name, "Bob");

        // Assigning no reviewer clears the foreign key.
        post.reviewer.set(None);
        post.save().on(db).await.unwrap();
        assert_eq!(Article::get(post.id).on(db).await.unwrap().unwrap().reviewer_id, None, "{dialect:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_parent_with_children_is_one_insert_per_table_level() {
    for t in backends("graph_levels").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        NOTES_SAVED.set(0);
        ARTICLES_AFTER_SAVE.set(0);
        let mut alice = Author {
            articles: Related::loaded(vec![
                Article { notes: Related::loaded(vec![note(" one "), note("two")]), ..article("First") },
                Article { notes: Related::loaded(vec![note("three")]), ..article("Second") },
                Article { notes: Related::loaded(vec![note("four"), note("five"), note("six")]), ..article("Third") },
            ]),
            bio: Related::loaded(Some(Bio { id: 0, author_id: 0, text: "writes".into() })),
            ..author("Alice")
        };
        alice.save().on(db).await.unwrap();
        // Keys and defaults are back in every node, and every foreign key is filled.
        assert!(alice.id != 0);
        assert_eq!(alice.status.as_deref(), Some("new"), "{dialect:?}");
        let articles = alice.articles.get().unwrap();
        assert_eq!(articles.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(), ["First", "Second", "Third"]);
        for a in articles {
            assert!(a.id != 0 && a.author_id == alice.id, "{a:?}");
            for n in a.notes.get().unwrap() {
                assert!(n.id != 0 && n.article_id == a.id, "{n:?}");
                assert!(n.created_at > DateTime::<Utc>::MIN_UTC, "set_on(create) stamped every node");
            }
        }
        assert_eq!(articles[0].notes.get().unwrap()[0].body, "one", "before_save ran on every node");
        assert_eq!(NOTES_SAVED.get(), 6);
        assert_eq!(ARTICLES_AFTER_SAVE.get(), 3, "after_save ran on every node");
        let bio = alice.bio.get().unwrap().as_ref().unwrap();
        assert_eq!(bio.author_id, alice.id);

        // Read back with everything eager-loaded: each child under the right parent.
        let loaded =
            Author::related(|a| a.articles.then(|p| p.notes)).related(|a| a.bio).filter(|a| a.id.eq(alice.id)).one().on(db).await.unwrap();
        let mut shape: Vec<(String, Vec<String>)> = loaded
            .articles
            .get()
            .unwrap()
            .iter()
            .map(|a| (a.title.clone(), a.notes.get().unwrap().iter().map(|n| n.body.clone()).collect()))
            .collect();
        shape.sort();
        for (_, notes) in &mut shape {
            notes.sort();
        }
        assert_eq!(
            shape,
            [
                ("First".to_string(), vec!["one".to_string(), "two".to_string()]),
                ("Second".to_string(), vec!["three".to_string()]),
                ("Third".to_string(), vec!["five".to_string(), "four".to_string(), "six".to_string()]),
            ],
            "{dialect:?}"
        );
        assert_eq!(loaded.bio.get().unwrap().as_ref().unwrap().text, "writes");

        // One INSERT per table: authors, articles, notes, bios (every backend here can hand
        // rows back from a multi-row INSERT; MariaDB since 10.5).
        let mut fresh = Author {
            articles: Related::loaded(vec![
                Article { notes: Related::loaded(vec![note("a"), note("b")]), ..article("x") },
                Article { notes: Related::loaded(vec![note("c")]), ..article("y") },
            ]),
            bio: Related::loaded(Some(Bio { id: 0, author_id: 0, text: "bio".into() })),
            ..author("Dora")
        };
        let ((), seen) = recorded(fresh.save().on(db)).await;
        let inserts = inserts(&seen);
        assert_eq!(inserts.len(), 4, "{dialect:?}: {seen:#?}");
        assert_eq!(starting(&seen, "UPDATE") + starting(&seen, "DELETE"), 0, "{seen:#?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn many_to_many_inserts_missing_rows_and_join_rows_and_unlinks_removed_ones() {
    for t in backends("graph_m2m").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let rust = Label::create(json!({"slug": "rust", "title": "Rust"})).on(db).await.unwrap();
        let alice = Author::create(json!({"name": "Alice"})).on(db).await.unwrap();

        let mut post =
            Article { author_id: alice.id, labels: Related::loaded(vec![rust.clone(), label("orm"), label("sql")]), ..article("Tagged") };
        let ((), seen) = recorded(post.save().on(db)).await;
        // The post, the two missing labels, and the three join rows: one INSERT each.
        assert_eq!(inserts(&seen).len(), 3, "{dialect:?}: {seen:#?}");
        let labels_of = |id: i64| async move {
            let post = Article::related(|a| a.labels).filter(|a| a.id.eq(id)).one().on(db).await.unwrap();
            let mut slugs: Vec<String> = post.labels.get().unwrap().iter().map(|l| l.slug.clone()).collect();
            slugs.sort();
            slugs
        };
        assert_eq!(labels_of(post.id).await, ["orm", "rust", "sql"], "{dialect:?}");
        assert_eq!(Label::get("rust".to_string()).on(db).await.unwrap().unwrap().title, "Rust", "an existing row is linked, not written");

        // Loaded, one removed and one added: the join rows follow, the label rows stay.
        let mut loaded = Article::related(|a| a.labels).filter(|a| a.id.eq(post.id)).one().on(db).await.unwrap();
        let labels = loaded.labels.get_mut().unwrap();
        labels.retain(|l| l.slug != "orm");
        labels.push(label("db"));
        loaded.save().on(db).await.unwrap();
        assert_eq!(labels_of(post.id).await, ["db", "rust", "sql"], "{dialect:?}");
        assert!(Label::get("orm".to_string()).on(db).await.unwrap().is_some());

        // The same new label held by two posts of one save is inserted once.
        let mut two = Author {
            articles: Related::loaded(vec![
                Article { labels: Related::loaded(vec![label("shared")]), ..article("one") },
                Article { labels: Related::loaded(vec![label("shared")]), ..article("two") },
            ]),
            ..author("Two")
        };
        two.save().on(db).await.unwrap();
        assert!(Label::get("shared".to_string()).on(db).await.unwrap().is_some(), "{dialect:?}");
        assert_eq!(Article::filter(|a| a.labels.any(|l| l.slug.eq("shared"))).count().on(db).await.unwrap(), 2);

        // Assigned again without loading: existing links are kept, missing ones added.
        let mut again = Article::get(post.id).on(db).await.unwrap().unwrap();
        again.labels.set(vec![rust.clone(), label("new")]);
        again.save().on(db).await.unwrap();
        assert_eq!(labels_of(post.id).await, ["db", "new", "rust", "sql"], "{dialect:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn changed_children_are_updated_and_unchanged_ones_write_nothing() {
    for t in backends("graph_changes").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let mut alice = Author { articles: Related::loaded(vec![article("a"), article("b"), article("c")]), ..author("Alice") };
        alice.save().on(db).await.unwrap();

        // A second save of the same graph: only the row save() was called on is written.
        let ((), seen) = recorded(alice.save().on(db)).await;
        assert_eq!(seen.len(), 1, "{dialect:?}: {seen:#?}");

        // Loaded, one child changed, one added: one UPDATE for it, one INSERT.
        let mut loaded = Author::related(|a| a.articles).filter(|a| a.id.eq(alice.id)).one().on(db).await.unwrap();
        let articles = loaded.articles.get_mut().unwrap();
        articles.sort_by_key(|a| a.id);
        articles[1].title = "b, edited".into();
        articles.push(article("d"));
        let ((), seen) = recorded(loaded.save().on(db)).await;
        let updates: Vec<&String> = seen.iter().filter(|s| s.trim_start_matches('"').starts_with("UPDATE")).collect();
        assert_eq!(updates.len(), 2, "the author and the edited article: {dialect:?}: {seen:#?}");
        assert!(updates.iter().any(|s| s.contains("graph_articles")));
        assert_eq!(inserts(&seen).len(), 1, "{seen:#?}");
        let mut titles: Vec<String> =
            Article::filter(|a| a.author_id.eq(alice.id)).all().on(db).await.unwrap().into_iter().map(|a| a.title).collect();
        titles.sort();
        assert_eq!(titles, ["a", "b, edited", "c", "d"], "{dialect:?}");

        // A loaded field copied to another owner counts as assigned there: a parent linked, rows
        // written with the new owner's key.
        let mut with_author = Article::related(|a| a.author).filter(|a| a.title.eq("a")).one().on(db).await.unwrap();
        let mut copy = Article { author: with_author.author.clone(), ..article("copy") };
        let dora = Author::create(json!({"name": "Dora"})).on(db).await.unwrap();
        copy.author_id = dora.id;
        copy.save().on(db).await.unwrap();
        assert_eq!(copy.author_id, alice.id, "{dialect:?}: the copied author field was linked");
        // The field the row was loaded with is the row's own: changing the key by hand wins.
        with_author.author_id = dora.id;
        with_author.save().on(db).await.unwrap();
        assert_eq!(Article::get(with_author.id).on(db).await.unwrap().unwrap().author_id, dora.id, "{dialect:?}");

        // A child moved from another owner's loaded field is written with its new key.
        let mut bob = Author::create(json!({"name": "Bob"})).on(db).await.unwrap();
        let mut moved = loaded.articles.get_mut().unwrap().pop().unwrap();
        moved.author_id = 0;
        bob.articles.set(vec![moved]);
        bob.save().on(db).await.unwrap();
        assert_eq!(Article::filter(|a| a.author_id.eq(bob.id)).count().on(db).await.unwrap(), 1, "{dialect:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn orphans_are_refused_deleted_or_kept_as_declared() {
    for t in backends("graph_orphans").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let mut alice = Author {
            articles: Related::loaded(vec![
                Article { notes: Related::loaded(vec![note("keep"), note("drop")]), ..article("a") },
                article("b"),
            ]),
            bio: Related::loaded(Some(Bio { id: 0, author_id: 0, text: "old".into() })),
            ..author("Alice")
        };
        alice.save().on(db).await.unwrap();

        // Author.articles refuses orphans (the default): nothing is written.
        let mut loaded = Author::related(|a| a.articles).filter(|a| a.id.eq(alice.id)).one().on(db).await.unwrap();
        loaded.name = "Alice, renamed".into();
        loaded.articles.get_mut().unwrap().retain(|a| a.title != "b");
        let error = loaded.save().on(db).await.unwrap_err();
        assert!(matches!(&error, Error::Relationship { relation, .. } if relation == "Author.articles"), "{dialect:?}: {error:?}");
        assert!(error.to_string().contains("orphans = delete"), "{error}");
        assert_eq!(Article::filter(|a| a.author_id.eq(alice.id)).count().on(db).await.unwrap(), 2);
        assert_eq!(Author::get(alice.id).on(db).await.unwrap().unwrap().name, "Alice", "the whole save was undone");
        assert_eq!(loaded.articles.get().unwrap().len(), 1, "the field still holds what the program left in it");
        assert!(loaded.save().on(db).await.is_err(), "and still remembers what was loaded");

        // Article.notes deletes them.
        let mut post = Article::related(|a| a.notes).filter(|a| a.title.eq("a")).one().on(db).await.unwrap();
        post.notes.get_mut().unwrap().retain(|n| n.body != "drop");
        post.save().on(db).await.unwrap();
        let bodies: Vec<String> =
            Note::filter(|n| n.article_id.eq(post.id)).all().on(db).await.unwrap().into_iter().map(|n| n.body).collect();
        assert_eq!(bodies, ["keep"], "{dialect:?}");

        // Author.bio keeps them: the replaced bio stays, a new one is inserted.
        let mut loaded = Author::related(|a| a.bio).filter(|a| a.id.eq(alice.id)).one().on(db).await.unwrap();
        loaded.bio.set(Some(Bio { id: 0, author_id: 0, text: "new".into() }));
        loaded.save().on(db).await.unwrap();
        let mut bios: Vec<String> =
            Bio::filter(|b| b.author_id.eq(alice.id)).all().on(db).await.unwrap().into_iter().map(|b| b.text).collect();
        bios.sort();
        assert_eq!(bios, ["new", "old"], "{dialect:?}");

        // take() leaves the relationship alone.
        let mut loaded = Author::related(|a| a.articles).filter(|a| a.id.eq(alice.id)).one().on(db).await.unwrap();
        loaded.articles.take();
        loaded.save().on(db).await.unwrap();
        assert_eq!(Article::filter(|a| a.author_id.eq(alice.id)).count().on(db).await.unwrap(), 2);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_graph_save_is_atomic_and_joins_the_ambient_transaction() {
    for t in backends("graph_atomic").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        // The second note fails validation after the author and the article were inserted.
        let mut alice = Author {
            articles: Related::loaded(vec![Article { notes: Related::loaded(vec![note("fine"), note("  ")]), ..article("a") }]),
            ..author("Alice")
        };
        let error = alice.save().on(db).await.unwrap_err();
        assert!(matches!(error, Error::Validation { .. }), "{dialect:?}: {error:?}");
        assert_eq!(Author::count().on(db).await.unwrap(), 0, "{dialect:?}");
        assert_eq!(Article::count().on(db).await.unwrap(), 0);
        // The graph is still in memory, its rolled-back keys forgotten: fixed, it saves once.
        assert_eq!(alice.id, 0, "{dialect:?}");
        let articles = alice.articles.get_mut().unwrap();
        assert_eq!(articles[0].id, 0);
        assert_eq!(articles[0].notes.get().unwrap().len(), 2);
        articles[0].notes.get_mut().unwrap()[1].body = "also fine".into();
        alice.save().on(db).await.unwrap();
        assert_eq!((Author::count().on(db).await.unwrap(), Article::count().on(db).await.unwrap()), (1, 1), "{dialect:?}");
        assert_eq!(Note::count().on(db).await.unwrap(), 2);

        // Inside a transaction the save is part of it: rolled back with it.
        let outcome: Result<()> = db
            .transaction(async {
                let mut bob = Author { articles: Related::loaded(vec![article("x")]), ..author("Bob") };
                bob.save().on(db).await?;
                assert_eq!(Article::count().on(db).await?, 2);
                Err(Error::validation("test", "roll back"))
            })
            .await;
        assert!(outcome.is_err());
        assert_eq!(Author::count().on(db).await.unwrap(), 1, "{dialect:?}");
        assert_eq!(Article::count().on(db).await.unwrap(), 1);

        // Saved inside a transaction that then rolls back, and saved again outside: the fields
        // were not marked as stored, so the second save writes every row again.
        let mut carol = Author { articles: Related::loaded(vec![article("y"), article("z")]), ..author("Carol") };
        let rolled_back: Result<()> = db
            .transaction(async {
                carol.save().on(db).await?;
                Err(Error::validation("test", "roll back"))
            })
            .await;
        assert!(rolled_back.is_err());
        carol.save().on(db).await.unwrap();
        assert_eq!(Author::filter(|a| a.name.eq("Carol")).count().on(db).await.unwrap(), 1, "{dialect:?}");
        assert_eq!(Article::filter(|a| a.author_id.eq(carol.id)).count().on(db).await.unwrap(), 2, "{dialect:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn what_cannot_be_saved_is_an_error_naming_the_relationship() {
    for t in backends("graph_errors").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let alice = Author::create(json!({"name": "Alice"})).on(db).await.unwrap();

        // A join model with a required column of its own.
        let mut post = Article { author_id: alice.id, pins: Related::loaded(vec![label("pinned")]), ..article("p") };
        let error = post.save().on(db).await.unwrap_err();
        assert!(
            matches!(&error, Error::Relationship { relation, detail } if relation == "Article.pins" && detail.contains("position")),
            "{dialect:?}: {error:?}"
        );
        assert_eq!(Article::count().on(db).await.unwrap(), 0, "nothing was kept");

        // A row claimed by two owners through one foreign key: refused, not one silently winning.
        let mut carol = Author {
            articles: Related::loaded(vec![Article { author: Related::loaded(author("Dan")), ..article("whose?") }]),
            ..author("Carol")
        };
        let error = carol.save().on(db).await.unwrap_err();
        assert!(
            matches!(&error, Error::Relationship { relation, detail } if relation == "Author.articles" && detail.contains("Article.author")),
            "{dialect:?}: {error:?}"
        );
        assert_eq!(Author::count().on(db).await.unwrap(), 1, "nothing was kept");
        assert_eq!(carol.id, 0);

        // A payload writes columns only: a model holding rows to save is refused, not truncated.
        let holding = Author { articles: Related::loaded(vec![article("lost?")]), ..author("Eve") };
        let error = Author::create(holding.clone()).on(db).await.unwrap_err();
        assert!(matches!(&error, Error::Relationship { relation, .. } if relation == "Author.articles"), "{error:?}");
        assert!(error.to_string().contains("save()"), "{error}");
        let error = Author::create_bulk(vec![holding.clone()]).on(db).await.unwrap_err();
        assert!(matches!(&error, Error::Relationship { .. }), "{error:?}");
        let error = Author::filter(|a| a.id.eq(0)).update_bulk(holding).on(db).await.unwrap_err();
        assert!(matches!(&error, Error::Relationship { .. }), "update_bulk keeps the variant: {error:?}");
        assert_eq!(Author::count().on(db).await.unwrap(), 1);
    }
}

/// A chain of children deeper than a save follows.
#[derive(Model, Debug, Clone)]
#[duo(table = "graph_categories")]
pub struct Category {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    #[duo(references = Category)]
    pub parent_id: Option<i64>,
    #[duo(has_many(Category, foreign_key = parent_id))]
    pub children: Related<Vec<Category>>,
}

#[tokio::test(flavor = "current_thread")]
async fn a_graph_deeper_than_the_limit_is_refused_before_anything_is_sent() {
    for t in backends("graph_depth").await {
        let db = &t.db;
        setup!(db, Category);
        let chain = |levels: usize| {
            let mut node = Category { id: 0, name: "leaf".into(), parent_id: None, children: Related::loaded(Vec::new()) };
            for level in 0..levels {
                node = Category { id: 0, name: format!("level {level}"), parent_id: None, children: Related::loaded(vec![node]) };
            }
            node
        };
        let mut shallow = chain(5);
        shallow.save().on(db).await.unwrap();
        assert_eq!(Category::count().on(db).await.unwrap(), 6, "{:?}", t.dialect);
        let mut deep = chain(duo_orm::relation::MAX_GRAPH_DEPTH + 5);
        let (seen, guard) = count_statements();
        let error = deep.save().on(db).await.unwrap_err();
        drop(guard);
        assert!(matches!(&error, Error::Relationship { relation, .. } if relation == "Category.children"), "{error:?}");
        assert!(error.to_string().contains("deeper than"), "{error}");
        assert!(seen.lock().unwrap().is_empty(), "measured before anything was sent");
        assert_eq!(Category::count().on(db).await.unwrap(), 6, "{:?}", t.dialect);
    }
}

/// A tree of names, as generated and as read back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shape(String, Vec<Shape>);

fn shape() -> impl proptest::strategy::Strategy<Value = Shape> {
    use proptest::prelude::*;
    let leaf = "[a-z]{1,6}".prop_map(|name| Shape(name, Vec::new()));
    // Depth 3 below the root: what eager loading reads back in one query.
    leaf.prop_recursive(3, 40, 5, |inner| {
        ("[a-z]{1,6}", prop::collection::vec(inner, 0..5)).prop_map(|(name, children)| Shape(name, children))
    })
}

fn build(shape: &Shape) -> Category {
    Category { id: 0, name: shape.0.clone(), parent_id: None, children: Related::loaded(shape.1.iter().map(build).collect()) }
}

/// The shape a loaded category holds (children sorted: rows come back in no promised order).
fn read(category: &Category) -> Shape {
    let mut children: Vec<Shape> = category.children.get().map(|c| c.iter().map(read).collect()).unwrap_or_default();
    children.sort();
    Shape(category.name.clone(), children)
}

fn sorted(shape: &Shape) -> Shape {
    let mut children: Vec<Shape> = shape.1.iter().map(sorted).collect();
    children.sort();
    Shape(shape.0.clone(), children)
}

/// Random trees saved in one `save()` read back with every row under its own parent: the rows
/// a multi-row INSERT hands back are tied to the rows sent, on every backend.
#[test]
fn random_trees_read_back_as_saved() {
    use proptest::test_runner::{Config, TestRunner};
    for t in crate::support::backends_sync("graph_prop_trees") {
        crate::setup_sync!(t.db, Category);
        let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
        runner
            .run(&shape(), |generated| {
                let mut root = build(&generated);
                root.save().on(&t.db).wait().unwrap();
                // Every node holds its key and its parent's, in memory.
                fn check(node: &Category) -> bool {
                    node.id != 0 && node.children.get().unwrap().iter().all(|c| c.parent_id == Some(node.id) && check(c))
                }
                proptest::prop_assert!(check(&root), "{:?}", t.dialect);
                let path = duo_orm::path!(Category::children, Category::children, Category::children);
                let loaded = Category::related_path(path).filter(|c| c.id.eq(root.id)).one().on(&t.db).wait().unwrap();
                proptest::prop_assert_eq!(read(&loaded), sorted(&generated), "{:?}", t.dialect);
                Ok(())
            })
            .unwrap();
    }
}

/// Every row a failed save inserted holds its unset key again, whatever level failed: a sibling
/// relationship, or a level below a parent that was saved first.
#[tokio::test(flavor = "current_thread")]
async fn a_failed_save_forgets_every_key_it_had_handed_out() {
    for t in backends("graph_retry").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        // articles (and their notes) are saved, then the bio fails validation.
        let mut alice = Author {
            articles: Related::loaded(vec![Article { notes: Related::loaded(vec![note("n")]), ..article("a") }]),
            bio: Related::loaded(Some(Bio { id: 0, author_id: 0, text: String::new() })),
            ..author("Alice")
        };
        let error = alice.save().on(db).await.unwrap_err();
        assert!(matches!(error, Error::Validation { .. }), "{dialect:?}: {error:?}");
        let first = &alice.articles.get().unwrap()[0];
        assert_eq!((alice.id, first.id, first.notes.get().unwrap()[0].id), (0, 0, 0), "{dialect:?}");
        alice.bio.get_mut().unwrap().as_mut().unwrap().text = "fixed".into();
        alice.save().on(db).await.unwrap();
        assert_eq!(
            (Author::count().on(db).await.unwrap(), Article::count().on(db).await.unwrap(), Note::count().on(db).await.unwrap()),
            (1, 1, 1),
            "{dialect:?}"
        );
        let first = &alice.articles.get().unwrap()[0];
        assert_eq!(Article::get(first.id).on(db).await.unwrap().unwrap().author_id, alice.id);

        // The parent (a belongs_to) is inserted first, then the note below the article fails.
        let mut post = Article { author: Related::loaded(author("Bob")), notes: Related::loaded(vec![note("  ")]), ..article("b") };
        assert!(post.save().on(db).await.is_err());
        assert_eq!((post.id, post.author.get().unwrap().id), (0, 0), "{dialect:?}");
        post.notes.get_mut().unwrap()[0].body = "ok".into();
        post.save().on(db).await.unwrap();
        let bob = post.author.get().unwrap();
        assert_eq!(post.author_id, bob.id);
        assert_eq!(Author::filter(|a| a.name.eq("Bob")).count().on(db).await.unwrap(), 1, "{dialect:?}");
    }
}

/// Dropping a save part-way (a timeout) rolls it back and leaves the graph whole in memory,
/// with no key of a rolled-back row; saving it again then writes it once. The save runs inside
/// a block that never commits, so that no cancellation lands on a COMMIT in flight (which may
/// commit whatever the client does; see the transactions guide). Where a cancellation lands
/// depends on how fast the database answers (one poll may see several statements through);
/// the panic test below stops a save at a chosen row.
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_save_loses_nothing_and_can_run_again() {
    use std::future::Future;
    use std::task::Poll;
    for t in backends("graph_cancel").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let graph = || Author {
            articles: Related::loaded(vec![Article { notes: Related::loaded(vec![note("x"), note("y")]), ..article("a") }, article("b")]),
            bio: Related::loaded(Some(Bio { id: 0, author_id: 0, text: "bio".into() })),
            ..author("Alice")
        };
        // Cancelled as the n-th statement goes out, for every n until the save gets through.
        for n in 1..100 {
            let mut alice = graph();
            let saved = Cell::new(false);
            {
                let (seen, _guard) = count_statements();
                let work = db.transaction(async {
                    alice.save().on(db).await?;
                    saved.set(true);
                    std::future::pending::<()>().await;
                    Ok(())
                });
                let mut work = std::pin::pin!(work);
                while !saved.get() && seen.lock().unwrap().len() < n {
                    if let Poll::Ready(outcome) = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await {
                        panic!("{dialect:?}: the block cannot end, got {outcome:?}");
                    }
                    tokio::task::yield_now().await;
                }
            }
            if saved.get() {
                break;
            }
            // Cancelled inside the save: every row is still there, none holds a key.
            let articles = alice.articles.get().unwrap();
            assert_eq!(articles.len(), 2, "{dialect:?} at statement {n}");
            assert_eq!(articles[0].notes.get().unwrap().len(), 2);
            assert_eq!(alice.id, 0, "{dialect:?} at statement {n}");
            assert!(articles.iter().all(|a| a.id == 0) && articles[0].notes.get().unwrap().iter().all(|n| n.id == 0));
            assert_eq!(alice.bio.get().unwrap().as_ref().unwrap().id, 0);
        }
        // Nothing of the cancelled saves was kept; the graph then saves once.
        assert_eq!(Author::count().on(&t.other()).await.unwrap(), 0, "{dialect:?}");
        let mut alice = graph();
        alice.save().on(db).await.unwrap();
        let other = t.other();
        assert_eq!(
            (
                Author::count().on(&other).await.unwrap(),
                Article::count().on(&other).await.unwrap(),
                Note::count().on(&other).await.unwrap()
            ),
            (1, 2, 2),
            "{dialect:?}"
        );
    }
}

/// A save that unwinds part-way (a hook panics after the author, articles and notes were
/// inserted) undoes itself like a cancelled one: rolled back, every rolled-back key forgotten.
#[tokio::test(flavor = "current_thread")]
async fn a_save_that_panics_part_way_forgets_its_keys() {
    use futures_util::FutureExt;
    for t in backends("graph_panic").await {
        let db = &t.db;
        tables(&t).await;
        let dialect = t.dialect;
        let mut alice = Author {
            articles: Related::loaded(vec![Article { notes: Related::loaded(vec![note("x")]), ..article("a") }]),
            bio: Related::loaded(Some(Bio { id: 0, author_id: 0, text: "panic".into() })),
            ..author("Alice")
        };
        let outcome = std::panic::AssertUnwindSafe(alice.save().on(db).into_future()).catch_unwind().await;
        assert!(outcome.is_err(), "{dialect:?}: the hook's panic comes through");
        let first = &alice.articles.get().unwrap()[0];
        assert_eq!((alice.id, first.id, first.notes.get().unwrap()[0].id), (0, 0, 0), "{dialect:?}");
        assert_eq!((Author::count().on(db).await.unwrap(), Note::count().on(db).await.unwrap()), (0, 0), "{dialect:?}");
        alice.bio.get_mut().unwrap().as_mut().unwrap().text = "calm".into();
        alice.save().on(db).await.unwrap();
        assert_eq!((Author::count().on(db).await.unwrap(), Note::count().on(db).await.unwrap()), (1, 1), "{dialect:?}");
    }
}
