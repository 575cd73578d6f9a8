//! Bulk writes, live: chunked multi-row INSERTs, atomicity, returned keys, filtered
//! update/delete, the require_filter guard and keyset batches with composite keys.

use duo_orm::InvalidQueryKind;
use duo_orm::prelude::*;
use serde_json::json;

use crate::models::*;
use crate::setup;
use crate::support::backends;

fn users(n: usize, prefix: &str) -> Vec<serde_json::Value> {
    (0..n).map(|i| json!({"name": format!("{prefix}{i}"), "age": (i % 90) as i32, "email": format!("{prefix}{i}@example.com")})).collect()
}

#[tokio::test]
async fn create_bulk_chunks_counts_and_returns_generated_keys() {
    for t in backends("bulk_create").await {
        setup!(t.db, User);
        let db = &t.db;
        let inserted = User::create_bulk(users(2500, "u")).batch_size(1000).on(db).await.unwrap();
        assert_eq!(inserted, 2500, "{:?}", t.dialect);
        assert_eq!(User::query().count().on(db).await.unwrap(), 2500);
        // Default-filled columns and generated keys, as `create` gives them.
        let returned = User::create_bulk(users(5, "r")).batch_size(2).returning().on(db).await.unwrap();
        assert_eq!(returned.len(), 5, "{:?}", t.dialect);
        let ids: Vec<i64> = returned.iter().map(|u| u.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > 2500, "{:?}: {ids:?}", t.dialect);
        assert_eq!(returned.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["r0", "r1", "r2", "r3", "r4"]);
        assert!(returned.iter().all(|u| u.status == "active"), "{:?}", t.dialect);
        assert_eq!(User::get(ids[2]).on(db).await.unwrap().as_ref(), Some(&returned[2]));

        // Rows assigning different columns go in separate statements, in order.
        let mixed = vec![
            json!({"name": "m0", "age": 1, "email": "m0@example.com"}),
            json!({"name": "m1", "age": 1, "email": "m1@example.com", "nickname": "one"}),
            json!({"name": "m2", "age": 1, "email": "m2@example.com"}),
        ];
        let mixed = User::create_bulk(mixed).returning().on(db).await.unwrap();
        assert_eq!(mixed.iter().map(|u| u.nickname.as_deref()).collect::<Vec<_>>(), [None, Some("one"), None]);

        // Empty input writes nothing; a zero batch size is refused even then.
        assert_eq!(User::create_bulk(Vec::<serde_json::Value>::new()).on(db).await.unwrap(), 0);
        let zero = User::create_bulk(Vec::<serde_json::Value>::new()).batch_size(0).on(db).await;
        assert!(
            matches!(zero, Err(Error::InvalidQuery { kind: InvalidQueryKind::OutOfRange, message: ref m, .. }) if m.contains("batch_size")),
            "{zero:?}"
        );
    }
}

#[tokio::test]
async fn create_bulk_is_all_or_nothing_unless_asked() {
    for t in backends("bulk_atomic").await {
        setup!(t.db, User);
        let db = &t.db;
        // The fifth row repeats a unique email: the third statement fails.
        let mut rows = users(4, "a");
        rows.push(json!({"name": "dup", "age": 3, "email": "a0@example.com"}));
        let failed = User::create_bulk(rows.clone()).batch_size(2).on(db).await;
        assert!(matches!(failed, Err(Error::Integrity { .. })), "{:?}: {failed:?}", t.dialect);
        assert_eq!(User::query().count().on(db).await.unwrap(), 0, "atomic on {:?}", t.dialect);

        let failed = User::create_bulk(rows).batch_size(2).atomic(false).on(db).await;
        assert!(failed.is_err());
        assert_eq!(User::query().count().on(db).await.unwrap(), 4, "non-atomic keeps earlier chunks on {:?}", t.dialect);

        // Inside a transaction, a failing bulk insert (a savepoint) leaves earlier work alone.
        db.transaction(async {
            User::create(json!({"name": "kept", "age": 5, "email": "kept@example.com"})).on(db).await?;
            let dup = User::create_bulk(vec![json!({"name": "x", "age": 1, "email": "kept@example.com"})]).on(db).await;
            assert!(dup.is_err());
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(User::filter(|u| u.name.eq("kept")).count().on(db).await.unwrap(), 1, "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn update_and_delete_bulk_apply_to_the_filter_and_require_one() {
    for t in backends("bulk_update_delete").await {
        setup!(t.db, User);
        let db = &t.db;
        User::create_bulk(users(100, "b")).on(db).await.unwrap();
        let minors = User::filter(|u| u.age.lt(18)).count().on(db).await.unwrap();
        let updated = User::filter(|u| u.age.lt(18)).update_bulk(json!({"status": "minor"})).on(db).await.unwrap();
        assert_eq!(updated, minors, "{:?}", t.dialect);
        assert_eq!(User::filter(|u| u.status.eq("minor")).count().on(db).await.unwrap(), minors);
        // A payload that is not an object keeps its kind (it is the caller's mistake, not ours).
        let not_an_object = User::filter(|u| u.age.lt(18)).update_bulk(json!([1])).on(db).await;
        assert!(matches!(not_an_object, Err(Error::InvalidQuery { kind: InvalidQueryKind::Payload, .. })), "{not_an_object:?}");

        // No filter: refused, for update and delete, unless asked for explicitly.
        let refused = User::update_bulk_all(json!({"status": "x"})).on(db).await;
        assert!(
            matches!(refused, Err(Error::InvalidQuery { kind: InvalidQueryKind::BulkScope, message: ref m, .. }) if m.contains("require_filter(false)")),
            "{refused:?}"
        );
        let refused = User::query().delete_bulk().on(db).await;
        assert!(matches!(refused, Err(Error::InvalidQuery { .. })), "{refused:?}");
        assert_eq!(User::query().count().on(db).await.unwrap(), 100, "nothing touched");
        // Paging does not narrow a bulk write: refused rather than surprising.
        let paged = User::filter(|u| u.age.lt(18)).limit(3).delete_bulk().on(db).await;
        assert!(matches!(paged, Err(Error::InvalidQuery { kind: InvalidQueryKind::BulkScope, .. })), "{paged:?}");
        // Nothing to assign.
        let empty = User::filter(|u| u.age.lt(18)).update_bulk(json!({"shoe": 44})).on(db).await;
        assert!(matches!(empty, Err(Error::InvalidQuery { .. })), "{empty:?}");

        let deleted = User::filter(|u| u.status.eq("minor")).delete_bulk().on(db).await.unwrap();
        assert_eq!(deleted, minors);
        let all = User::update_bulk_all(json!({"nickname": "everyone"})).require_filter(false).on(db).await.unwrap();
        assert_eq!(all, 100 - minors, "{:?}", t.dialect);
        let wiped = User::delete_bulk_all().require_filter(false).on(db).await.unwrap();
        assert_eq!(wiped, 100 - minors);
        assert_eq!(User::query().count().on(db).await.unwrap(), 0);
    }
}

/// Row-by-row bulk writes walk the primary key in keyset batches: composite keys included,
/// one transaction per batch or for the whole run.
#[tokio::test]
async fn bulk_writes_with_hooks_walk_composite_keys_in_batches() {
    for t in backends("bulk_keyset").await {
        setup!(t.db, Membership);
        let db = &t.db;
        let rows: Vec<_> = ["acme", "beta", "core"]
            .iter()
            .flat_map(|org| (1..=7).map(move |user| json!({"org": org, "user_id": user, "role": "member"})))
            .collect();
        Membership::create_bulk(rows).on(db).await.unwrap();

        let promoted = Membership::filter(|m| m.user_id.le(3))
            .update_bulk(json!({"role": "admin"}))
            .with_hooks(true)
            .batch_size(2)
            .per_batch_transaction(true)
            .on(db)
            .await
            .unwrap();
        assert_eq!(promoted, 9, "{:?}", t.dialect);
        assert_eq!(Membership::filter(|m| m.role.eq("admin")).count().on(db).await.unwrap(), 9);

        let removed = Membership::filter(|m| m.org.ne("beta")).delete_bulk().with_hooks(true).batch_size(4).on(db).await.unwrap();
        assert_eq!(removed, 14, "{:?}", t.dialect);
        let left = Membership::query().order_by(|m| m.user_id.asc()).all().on(db).await.unwrap();
        assert_eq!(left.len(), 7);
        assert!(left.iter().all(|m| m.org == "beta"));
    }
}

/// Model instances go straight from their fields to the binds: trusted (guarded fields
/// written), `None` left to the column, an unset generated key to the database, a given key
/// kept.
#[tokio::test]
async fn create_bulk_of_model_instances() {
    for t in backends("bulk_models").await {
        setup!(t.db, User);
        let db = &t.db;
        let user = |id: i64, name: &str, nickname: Option<&str>| User {
            id,
            name: name.into(),
            age: 40,
            email: format!("{name}@example.com"),
            nickname: nickname.map(Into::into),
            status: "active".into(),
            is_admin: true,
        };
        let rows = vec![user(0, "ann", None), user(0, "ben", Some("b")), user(100, "cat", None)];
        let saved = User::create_bulk(rows).returning().on(db).await.unwrap();
        let by_name = |name: &str| saved.iter().find(|u| u.name == name).unwrap().clone();
        assert!(by_name("ann").id > 0 && by_name("ann").id != 100, "{:?}", t.dialect);
        assert_eq!(by_name("cat").id, 100);
        assert_eq!(by_name("ben").nickname.as_deref(), Some("b"));
        assert!(saved.iter().all(|u| u.is_admin), "model payloads are trusted on {:?}", t.dialect);
        assert_eq!(User::query().count().on(db).await.unwrap(), 3);
    }
}

/// With hooks, deletes go by key: `IN (…)` for a single key, ORed conditions in chunks for a
/// composite one — a full default batch of 1 000 rows stays within SQLite's expression depth.
#[tokio::test]
async fn delete_bulk_with_hooks_in_full_default_batches() {
    for t in backends("bulk_delete_batches").await {
        setup!(t.db, User, Membership);
        let db = &t.db;
        User::create_bulk(users(1200, "d")).on(db).await.unwrap();
        let gone = User::filter(|u| u.age.ge(0)).delete_bulk().with_hooks(true).on(db).await.unwrap();
        assert_eq!(gone, 1200, "{:?}", t.dialect);
        let rows: Vec<_> = (0..1100).map(|i| json!({"org": format!("o{}", i % 3), "user_id": i, "role": "r"})).collect();
        Membership::create_bulk(rows).on(db).await.unwrap();
        let gone = Membership::filter(|m| m.role.eq("r")).delete_bulk().with_hooks(true).on(db).await.unwrap();
        assert_eq!(gone, 1100, "{:?}", t.dialect);
    }
}

/// A composite-key model with hooks: `update_bulk(..).with_hooks(true)` runs them on every
/// row of every keyset batch.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "bulk_seats")]
pub struct Seat {
    #[duo(primary_key)]
    pub section: String,
    #[duo(primary_key)]
    pub number: i32,
    pub holder: String,
}

impl Hooks for Seat {
    fn before_save(&mut self) -> Result<()> {
        self.holder = self.holder.to_uppercase();
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if self.holder == "NOBODY" {
            return Err(Error::validation("holder", "a seat is held by somebody"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn update_bulk_with_hooks_on_a_composite_key() {
    for t in backends("bulk_composite_hooks").await {
        setup!(t.db, Seat);
        let db = &t.db;
        let seats: Vec<_> = ["a", "b"]
            .iter()
            .flat_map(|section| (1..=5).map(move |number| json!({"section": section, "number": number, "holder": "free"})))
            .collect();
        Seat::create_bulk(seats).on(db).await.unwrap();
        let n = Seat::filter(|s| s.number.ge(3)).update_bulk(json!({"holder": "ada"})).with_hooks(true).batch_size(2).on(db).await.unwrap();
        assert_eq!(n, 6, "{:?}", t.dialect);
        let held: Vec<(String, i32)> = Seat::filter(|s| s.holder.eq("ADA"))
            .order_by(|s| (s.section.asc(), s.number.asc()))
            .all()
            .on(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.section, s.number))
            .collect();
        let expected: Vec<(String, i32)> = ["a", "b"].iter().flat_map(|s| (3..=5).map(move |n| (s.to_string(), n))).collect();
        assert_eq!(held, expected, "before_save ran on every row on {:?}", t.dialect);
        // Validation fails on the first row: the run (one transaction by default) writes nothing.
        let refused = Seat::filter(|s| s.section.eq("b")).update_bulk(json!({"holder": "nobody"})).with_hooks(true).on(db).await;
        assert!(matches!(refused, Err(Error::Validation { .. })), "{refused:?}");
        assert_eq!(Seat::filter(|s| s.holder.eq("NOBODY")).count().on(db).await.unwrap(), 0);
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "bulk_counters")]
pub struct Counter {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub views: i64,
    pub balance: i32,
    #[duo(max_length = 40)]
    pub name: String,
    #[duo(max_length = 40)]
    pub label: Option<String>,
}

/// `set(|c| c.views.to(c.views.plus(1)))` is one UPDATE with no read before it: 8 writers ×
/// 25 increments of one row lose none, on every backend. A column can be set from another, and
/// from a value bound with arithmetic.
#[tokio::test]
async fn expression_updates_lose_no_concurrent_increment() {
    for t in backends("bulk_expr").await {
        setup!(t.db, Counter);
        let db: &'static Database = Box::leak(Box::new(Database::new(t.url.clone()).max_connections(8)));
        db.register::<Counter>();
        let d = t.dialect;
        let row = Counter::create(json!({"views": 0, "balance": 100, "name": "home"})).on(db).await.unwrap();
        let id = row.id;
        let writers: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..25 {
                        let updated = Counter::filter(|c| c.id.eq(id)).set(|c| c.views.to(c.views.plus(1))).on(db).await.unwrap();
                        assert_eq!(updated, 1);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let amount = 30;
        Counter::filter(|c| c.id.eq(id))
            .set(|c| c.balance.to(c.balance.minus(amount)))
            .set(|c| c.label.to(c.name))
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        let stored = Counter::get(id).on(db).await.unwrap().unwrap();
        assert_eq!((stored.views, stored.balance, stored.label.as_deref()), (200, 70, Some("home")), "{d:?}");
    }
}

/// What an expression update cannot do is refused before anything is sent.
#[test]
fn expression_updates_refuse_keys_double_assignments_aggregates_and_hooks() {
    let refused = |update: duo_orm::UpdateBulk<Counter>, says: &str| {
        let err = update.to_sql(Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }) && err.to_string().contains(says), "{err}");
    };
    refused(Counter::filter(|c| c.views.gt(1)).set(|c| c.id.to(c.id.plus(1))), "primary key");
    refused(Counter::filter(|c| c.views.gt(1)).update_bulk(json!({"views": 3})).set(|c| c.views.to(c.views.plus(1))), "assigned twice");
    refused(
        Counter::filter(|c| c.views.gt(1)).set(|c| c.views.to(c.views.plus(1))).set(|c| c.views.to(c.views.times(2))),
        "assigned twice",
    );
    refused(Counter::filter(|c| c.views.gt(1)).set(|c| c.balance.to(c.balance.sum().gt(1i64).then_else::<i32>(1, 0))), "aggregate");
    // An aggregate deep inside arithmetic is seen too.
    refused(
        Counter::filter(|c| c.views.gt(1)).set(|c| c.balance.to(c.balance.plus(c.balance.sum().gt(1i64).then_else::<i32>(1, 0)))),
        "aggregate",
    );
    // A create-only timestamp never changes; an `auto_now` one is stamped already.
    use crate::hooks::Article;
    let err = Article::filter(|a| a.words.gt(1)).set(|a| a.created_at.to(a.updated_at)).to_sql(Dialect::Postgres).unwrap_err();
    assert!(err.to_string().contains("stamped when a row is created"), "{err}");
    let err = Article::filter(|a| a.words.gt(1)).set(|a| a.updated_at.to(a.created_at)).to_sql(Dialect::Postgres).unwrap_err();
    assert!(err.to_string().contains("assigned twice"), "{err}");
    let stamped = Article::filter(|a| a.words.gt(1)).set(|a| a.words.to(a.words.plus(1))).to_sql(Dialect::Postgres).unwrap();
    assert!(
        stamped.sql.contains(r#""updated_at" = $1"#) && stamped.sql.contains(r#""words" = "hooked_articles"."words" + $2"#),
        "{}",
        stamped.sql
    );
    refused(Counter::filter(|c| c.views.gt(1)).set(|c| c.views.to(c.views.plus(1))).with_hooks(true), "with_hooks");
    refused(Counter::query().set(|c| c.views.to(c.views.plus(1))), "filter");
    // MySQL reads a column assigned earlier in the statement as its new value, the others as
    // its old one: a value computed from another assigned column means two things.
    refused(Counter::filter(|c| c.views.gt(1)).update_bulk(json!({"name": "x"})).set(|c| c.label.to(c.name)), "also assigns");
    refused(Counter::filter(|c| c.views.gt(1)).set(|c| c.label.to(c.name)).set(|c| c.name.to(c.name)), "also assigns");
    // Each reading only itself, or columns nobody assigns, is fine.
    let fine = Counter::filter(|c| c.views.gt(1)).set(|c| c.views.to(c.views.plus(1))).set(|c| c.label.to(c.name));
    fine.to_sql(Dialect::MySql).unwrap();
}

#[test]
fn expression_updates_in_five_dialects() {
    for (name, dialect) in crate::support::DIALECTS {
        let update = Counter::filter(|c| c.name.eq("home"))
            .update_bulk(json!({"label": "x"}))
            .set(|c| c.views.to(c.views.plus(1)))
            .set(|c| c.balance.to(c.balance.minus(5).times(2)));
        let copy = Counter::filter(|c| c.id.gt(0)).set(|c| c.label.to(c.name));
        let text = [update.to_sql(dialect), copy.to_sql(dialect)]
            .into_iter()
            .map(|sql| sql.map(|s| s.sql).unwrap_or_else(|e| e.to_string()))
            .collect::<Vec<_>>()
            .join(";\n");
        insta::assert_snapshot!(format!("expression_updates_{name}"), text);
    }
}
