//! Validation, lifecycle hooks and `set_on` timestamps, live.

use std::cell::{Cell, RefCell};

use chrono::{DateTime, Utc};
use duo_orm::prelude::*;
use serde_json::json;

use crate::setup;
use crate::support::backends;

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "hooked_articles")]
pub struct Article {
    #[duo(primary_key)]
    pub id: i64,
    pub title: String,
    pub words: i32,
    #[duo(set_on(create))]
    pub created_at: DateTime<Utc>,
    #[duo(auto_now)]
    pub updated_at: DateTime<Utc>,
}

// Per thread: each test runs on its own thread, and hooks run in the caller's future, so
// tests running in parallel do not see each other's counts.
thread_local! {
    static SAVED: Cell<usize> = const { Cell::new(0) };
    static DELETED: Cell<usize> = const { Cell::new(0) };
    /// The order hooks ran in, checked by the ordering test.
    static ORDER: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

fn saved() -> usize {
    SAVED.get()
}

fn deleted() -> usize {
    DELETED.get()
}

impl Hooks for Article {
    fn validate(&self) -> Result<()> {
        ORDER.with_borrow_mut(|o| o.push("validate"));
        if self.title.is_empty() {
            return Err(Error::validation("title", "an article needs a title"));
        }
        if self.words < 0 {
            return Err(Error::validation("words", "cannot be negative"));
        }
        Ok(())
    }

    fn before_save(&mut self) -> Result<()> {
        ORDER.with_borrow_mut(|o| o.push("before_save"));
        self.title = self.title.trim().to_string();
        Ok(())
    }

    fn after_save(&self) -> Result<()> {
        ORDER.with_borrow_mut(|o| o.push("after_save"));
        assert!(self.id > 0, "after_save sees the row as written, key included");
        SAVED.set(SAVED.get() + 1);
        Ok(())
    }

    fn before_delete(&self) -> Result<()> {
        ORDER.with_borrow_mut(|o| o.push("before_delete"));
        if self.title == "undeletable" {
            return Err(Error::validation("title", "this article is protected"));
        }
        Ok(())
    }

    fn after_delete(&self) -> Result<()> {
        ORDER.with_borrow_mut(|o| o.push("after_delete"));
        DELETED.set(DELETED.get() + 1);
        Ok(())
    }
}

/// A model without hooks but with stamps: bulk paths stamp it too.
#[derive(Model, Debug, Clone)]
#[duo(table = "stamped_notes")]
pub struct Note {
    #[duo(primary_key)]
    pub id: i64,
    pub text: String,
    #[duo(auto_now_add)]
    pub created_at: DateTime<Utc>,
    #[duo(set_on(create, update))]
    pub touched_at: Option<DateTime<Utc>>,
}

#[tokio::test]
async fn hooks_run_in_order_and_validation_stops_writes() {
    for t in backends("hooks_order").await {
        setup!(t.db, Article);
        let db = &t.db;
        ORDER.with_borrow_mut(Vec::clear);
        let before = Utc::now() - chrono::Duration::seconds(1);
        let mut article = Article::create(json!({"title": "  Rust  ", "words": 10})).on(db).await.unwrap();
        assert_eq!(ORDER.with_borrow(Vec::clone), ["before_save", "validate", "after_save"]);
        assert_eq!(article.title, "Rust", "before_save trimmed it on {:?}", t.dialect);
        assert!(article.created_at >= before && article.created_at == article.updated_at, "{article:?}");
        assert_eq!(Article::get(article.id).on(db).await.unwrap().as_ref(), Some(&article), "{:?}", t.dialect);

        let invalid = Article::create(json!({"title": "   ", "words": 1})).on(db).await;
        match invalid {
            Err(Error::Validation { field, detail }) => {
                assert_eq!((field.as_str(), detail.as_str()), ("title", "an article needs a title"))
            }
            other => panic!("{:?}: {other:?}", t.dialect),
        }
        assert_eq!(Article::query().count().on(db).await.unwrap(), 1, "nothing written");

        // save and update run the hooks; updated_at moves, created_at stays.
        let created = article.created_at;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        article.update(json!({"title": " Rust 2024 "})).on(db).await.unwrap();
        assert_eq!(article.title, "Rust 2024");
        assert!(article.updated_at > created && article.created_at == created, "{article:?}");
        let stored = Article::get(article.id).on(db).await.unwrap().unwrap();
        assert_eq!(stored, article, "{:?}", t.dialect);
        article.words = -5;
        let refused = article.save().on(db).await;
        assert!(matches!(refused, Err(Error::Validation { ref field, .. }) if field == "words"), "{refused:?}");
        assert_eq!(Article::get(article.id).on(db).await.unwrap().unwrap().words, 10);

        // Delete hooks, and a before_delete that refuses.
        let protected = Article::create(json!({"title": "undeletable", "words": 1})).on(db).await.unwrap();
        assert!(matches!(protected.delete().on(db).await, Err(Error::Validation { .. })));
        let deleted_before = deleted();
        ORDER.with_borrow_mut(Vec::clear);
        stored.delete().on(db).await.unwrap();
        assert_eq!(deleted(), deleted_before + 1);
        assert_eq!(ORDER.with_borrow(Vec::clone), ["before_delete", "after_delete"]);
        assert_eq!(Article::query().count().on(db).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn bulk_operations_run_hooks_only_when_asked() {
    for t in backends("hooks_bulk").await {
        setup!(t.db, Article);
        let db = &t.db;
        let rows = || vec![json!({"title": " a ", "words": 1}), json!({"title": "", "words": 2}), json!({"title": "c", "words": 3})];
        // Hooks on: the empty title fails validation and the atomic insert writes nothing.
        let failed = Article::create_bulk(rows()).with_hooks(true).on(db).await;
        assert!(matches!(failed, Err(Error::Validation { .. })), "{failed:?}");
        assert_eq!(Article::query().count().on(db).await.unwrap(), 0, "{:?}", t.dialect);
        // Hooks off (the default): no validation, but timestamps are still stamped.
        assert_eq!(Article::create_bulk(rows()).on(db).await.unwrap(), 3);
        let all = Article::query().order_by(|a| a.id.asc()).all().on(db).await.unwrap();
        assert_eq!(all[0].title, " a ", "no before_save without hooks");
        assert!(all.iter().all(|a| a.created_at.timestamp() > 0 && a.updated_at == a.created_at));

        // update_bulk with hooks saves row by row (before_save trims, validation applies).
        let saved_before = saved();
        let n = Article::filter(|a| a.words.ge(2))
            .update_bulk(json!({"title": "  renamed "}))
            .with_hooks(true)
            .batch_size(1)
            .on(db)
            .await
            .unwrap();
        assert_eq!(n, 2, "{:?}", t.dialect);
        assert_eq!(saved() - saved_before, 2);
        assert_eq!(Article::filter(|a| a.title.eq("renamed")).count().on(db).await.unwrap(), 2);
        // Without hooks: one UPDATE; updated_at is stamped in it.
        let first = all[0].clone();
        Article::filter(|a| a.id.eq(first.id)).update_bulk(json!({"words": 100})).on(db).await.unwrap();
        let after = Article::get(first.id).on(db).await.unwrap().unwrap();
        assert!(after.updated_at > first.updated_at && after.created_at == first.created_at, "{after:?}");

        let deleted_before = deleted();
        let n = Article::filter(|a| a.title.eq("renamed")).delete_bulk().with_hooks(true).on(db).await.unwrap();
        assert_eq!((n, deleted() - deleted_before), (2, 2), "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn timestamps_are_stamped_on_every_write_path() {
    for t in backends("hooks_stamps").await {
        setup!(t.db, Note);
        let db = &t.db;
        let start = Utc::now() - chrono::Duration::seconds(1);
        let note = Note::create(json!({"text": "one", "created_at": "2000-01-01T00:00:00Z"})).on(db).await.unwrap();
        assert!(note.created_at >= start, "the stamp wins over a payload value on {:?}", t.dialect);
        assert_eq!(note.touched_at, Some(note.created_at));
        let mut built = Note::from_schema(json!({"text": "two"})).unwrap();
        built.save().on(db).await.unwrap();
        assert!(built.id > 0 && built.created_at >= start && built.touched_at.is_some(), "{built:?}");
        let bulk = Note::create_bulk(vec![json!({"text": "three"})]).returning().on(db).await.unwrap();
        assert!(bulk[0].created_at >= start, "{:?}", t.dialect);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        built.text = "two, edited".into();
        built.save().on(db).await.unwrap();
        let stored = Note::get(built.id).on(db).await.unwrap().unwrap();
        assert!(stored.touched_at > Some(stored.created_at), "{stored:?}");
        // An update never backdates a create-stamped field.
        let mut edited = stored.clone();
        edited.update(json!({"created_at": "2000-01-01T00:00:00Z", "text": "edited"})).on(db).await.unwrap();
        Note::filter(|n| n.id.eq(stored.id)).update_bulk(json!({"created_at": "2000-01-01T00:00:00Z", "text": "x"})).on(db).await.unwrap();
        let after = Note::get(stored.id).on(db).await.unwrap().unwrap();
        assert_eq!(after.created_at, stored.created_at, "{:?}", t.dialect);
        assert_eq!(stored.touched_at, built.touched_at, "the instance holds what was stored on {:?}", t.dialect);
    }
}
