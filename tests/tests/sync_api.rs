//! The sync API, live: plain `#[test]` functions, `.wait()` on the same builders, blocking
//! transactions, sync-only databases and `.wait()` called from async code.

use std::sync::{Arc, Barrier};

use duo_orm::ConfigurationKind;
use duo_orm::prelude::*;
use serde_json::json;

use crate::models::*;
use crate::setup_sync;
use crate::support::backends_sync;
use crate::transactions::Entry;

#[test]
fn crud_and_queries_block_without_a_runtime() {
    for t in backends_sync("sync_crud") {
        setup_sync!(t.db, User);
        let db = &t.db;
        let ada = User::create(user_create("Ada", 36, "ada@example.com")).on(db).wait().unwrap();
        assert_eq!(ada.id, 1, "{:?}", t.dialect);
        User::create(json!({"name": "Bob", "age": 17, "email": "bob@example.com"})).on(db).wait().unwrap();
        assert_eq!(User::get(ada.id).on(db).wait().unwrap().as_ref(), Some(&ada));
        let adults = User::filter(|u| u.age.ge(18)).all().on(db).wait().unwrap();
        assert_eq!(adults, std::slice::from_ref(&ada));
        assert_eq!(User::filter(|u| u.name.eq("Bob")).one().on(db).wait().unwrap().age, 17);
        assert_eq!(User::query().count().on(db).wait().unwrap(), 2);
        assert!(User::filter(|u| u.age.gt(100)).first().on(db).wait().unwrap().is_none());
        assert!(User::filter(|u| u.name.eq("Bob")).exists().on(db).wait().unwrap());

        let mut ada = ada;
        ada.update(json!({"age": 37})).on(db).wait().unwrap();
        ada.nickname = Some("countess".into());
        ada.save().on(db).wait().unwrap();
        let stored = User::get(ada.id).on(db).wait().unwrap().unwrap();
        assert_eq!((stored.age, stored.nickname.as_deref()), (37, Some("countess")), "{:?}", t.dialect);
        stored.delete().on(db).wait().unwrap();
        assert_eq!(User::query().count().on(db).wait().unwrap(), 1);
        // Closing and reopening the pool, blocking too.
        db.disconnect().wait().unwrap();
        db.connect().wait().unwrap();
        assert_eq!(User::query().count().on(db).wait().unwrap(), 1, "{:?}", t.dialect);
    }
}

#[test]
fn transaction_sync_commits_rolls_back_and_nests() {
    for t in backends_sync("sync_tx") {
        setup_sync!(t.db, Entry);
        let db = &t.db;
        let other = t.other();
        let label_count = |label: &str| Entry::filter(|e| e.label.eq(label)).count().on(&other).wait().unwrap();

        let id = db
            .transaction_sync(|| {
                let e = Entry::create(json!({"worker": 0, "label": "kept"})).on(db).wait()?;
                assert!(e.id > 0);
                assert_eq!(Entry::query().count().on(db).wait()?, 1, "own write visible");
                assert_eq!(Entry::query().count().on(&other).wait()?, 0, "uncommitted elsewhere");
                // Nested: a savepoint whose error undoes only its own write.
                let inner: Result<()> = db.transaction_sync(|| {
                    Entry::create(json!({"worker": 0, "label": "inner"})).on(db).wait()?;
                    Err(Error::validation("block", "inner fails"))
                });
                assert!(inner.is_err());
                Ok(e.id)
            })
            .unwrap();
        assert!(id > 0);
        assert_eq!((label_count("kept"), label_count("inner")), (1, 0), "{:?}", t.dialect);

        let failed: Result<()> = db.transaction_sync(|| {
            Entry::create(json!({"worker": 0, "label": "undone"})).on(db).wait()?;
            Err(Error::validation("block", "abort"))
        });
        assert!(matches!(failed, Err(Error::Validation { detail: m, .. }) if m == "abort"));
        assert_eq!(label_count("undone"), 0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.transaction_sync(|| {
                Entry::create(json!({"worker": 0, "label": "panicked"})).on(db).wait()?;
                panic!("boom");
                #[allow(unreachable_code)]
                Ok(())
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(label_count("panicked"), 0, "{:?}", t.dialect);

        // The explicit handle works synchronously too.
        let tx = db.begin().wait().unwrap();
        Entry::create(json!({"worker": 0, "label": "handle"})).using(&tx).wait().unwrap();
        tx.commit().wait().unwrap();
        assert_eq!(label_count("handle"), 1);
    }
}

/// Eight threads, each writing in its own blocking transaction.
#[test]
fn eight_threads_in_their_own_transactions_lose_nothing() {
    const THREADS: i32 = 8;
    const ROWS: usize = 5;
    for t in backends_sync("sync_concurrent") {
        setup_sync!(t.db, Entry);
        let db = Database::new(t.url.clone()).max_connections(THREADS as u32);
        db.register::<Entry>();
        let all_open = (t.dialect != Dialect::Sqlite).then(|| Arc::new(Barrier::new(THREADS as usize)));
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|worker| {
                    let (db, all_open) = (&db, all_open.clone());
                    scope.spawn(move || {
                        db.transaction_sync(|| {
                            for i in 0..ROWS {
                                Entry::create(json!({"worker": worker, "label": format!("t{worker}-{i}")})).on(db).wait()?;
                            }
                            // Everyone counts while all eight transactions are open and
                            // uncommitted, then everyone commits.
                            if let Some(barrier) = &all_open {
                                barrier.wait();
                            }
                            let visible = Entry::query().count().on(db).wait();
                            if let Some(barrier) = &all_open {
                                barrier.wait();
                            }
                            visible
                        })
                    })
                })
                .collect();
            for handle in handles {
                let visible = handle.join().unwrap().unwrap();
                if all_open.is_some() {
                    assert_eq!(visible, ROWS as u64, "saw uncommitted rows of another thread on {:?}", t.dialect);
                }
            }
        });
        assert_eq!(Entry::query().count().on(&db).wait().unwrap(), THREADS as u64 * ROWS as u64, "{:?}", t.dialect);
    }
}

#[test]
fn sync_only_database_refuses_async_calls() {
    let file = std::env::temp_dir().join(format!("duo_sync_only_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let db = Database::new(format!("sqlite://{}", file.display())).sync_only();
    db.register::<Entry>();
    db.create_all().wait().unwrap();
    Entry::create(json!({"worker": 1, "label": "sync"})).on(&db).wait().unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let refused = runtime.block_on(async { Entry::query().count().on(&db).await });
    match refused {
        Err(Error::Configuration { message, .. }) => {
            assert!(message.contains("sync-only") && message.contains(".wait()"), "{message}")
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    let refused = runtime.block_on(db.transaction(async { Ok(()) }));
    assert!(matches!(refused, Err(Error::Configuration { .. })), "{refused:?}");
    assert_eq!(Entry::query().count().on(&db).wait().unwrap(), 1);
}

/// `.wait()` on an async runtime's thread works (a helper thread runs it) instead of
/// panicking or deadlocking — on a single-threaded runtime too.
#[tokio::test(flavor = "current_thread")]
async fn wait_inside_an_async_runtime_works() {
    for t in backends_sync("sync_in_async") {
        setup_sync!(t.db, Entry);
        let created = Entry::create(json!({"worker": 1, "label": "blocking"})).on(&t.db).wait().unwrap();
        assert_eq!(Entry::get(created.id).on(&t.db).await.unwrap(), Some(created.clone()));
        // Inside an async transaction, `.wait()` joins it.
        t.db.transaction(async {
            Entry::create(json!({"worker": 2, "label": "mixed"})).on(&t.db).wait()?;
            assert_eq!(Entry::query().count().on(&t.db).await?, 2);
            Err::<(), _>(Error::validation("block", "roll back"))
        })
        .await
        .unwrap_err();
        assert_eq!(Entry::query().count().on(&t.db).await.unwrap(), 1, "{:?}", t.dialect);
    }
}

#[test]
fn bulk_writes_and_iteration_block_without_a_runtime() {
    for t in backends_sync("sync_bulk_iter") {
        setup_sync!(t.db, Entry);
        let db = &t.db;
        let rows: Vec<_> = (0..450).map(|i| json!({"worker": i % 3, "label": format!("s{i:03}")})).collect();
        assert_eq!(Entry::create_bulk(rows).batch_size(100).on(db).wait().unwrap(), 450, "{:?}", t.dialect);
        let returned = Entry::create_bulk(vec![json!({"worker": 9, "label": "r"})]).returning().on(db).wait().unwrap();
        assert!(returned[0].id > 450);

        let ids: Vec<i64> = Entry::query().iterate().batch_size(64).on(db).iter().map(|e| e.unwrap().id).collect();
        assert_eq!(ids.len(), 451);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let batches: Vec<usize> =
            Entry::filter(|e| e.worker.eq(0)).iterate().batch_size(100).on(db).iter_batches().map(|b| b.unwrap().len()).collect();
        assert_eq!(batches, [100, 50], "{:?}", t.dialect);

        let updated = Entry::filter(|e| e.worker.eq(1)).update_bulk(json!({"label": "one"})).on(db).wait().unwrap();
        assert_eq!(updated, 150);
        let refused = Entry::delete_bulk_all().on(db).wait();
        assert!(matches!(refused, Err(Error::InvalidQuery { .. })));
        let deleted = Entry::filter(|e| e.label.eq("one")).delete_bulk().with_hooks(true).batch_size(40).on(db).wait().unwrap();
        assert_eq!(deleted, 150, "{:?}", t.dialect);
        db.transaction_sync(|| {
            Entry::filter(|e| e.worker.eq(9)).delete_bulk().on(db).wait()?;
            assert_eq!(Entry::query().iterate().on(db).iter().count(), 300);
            Err::<(), _>(Error::validation("block", "undo"))
        })
        .unwrap_err();
        assert_eq!(Entry::query().count().on(db).wait().unwrap(), 301);
    }
}

/// A sync-only database does everything through `.wait()`: bulk writes with hooks (which load
/// rows internally), iteration and blocking transactions included.
#[test]
fn sync_only_database_runs_every_blocking_path() {
    let file = std::env::temp_dir().join(format!("duo_sync_only_all_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let db = Database::new(format!("sqlite://{}", file.display())).sync_only();
    db.register::<Entry>();
    db.create_all().wait().unwrap();
    let rows: Vec<_> = (0..30).map(|i| json!({"worker": i % 2, "label": format!("o{i}")})).collect();
    Entry::create_bulk(rows).with_hooks(true).on(&db).wait().unwrap();
    let updated = Entry::filter(|e| e.worker.eq(0)).update_bulk(json!({"label": "even"})).with_hooks(true).on(&db).wait().unwrap();
    assert_eq!(updated, 15);
    let mut first = Entry::query().first().on(&db).wait().unwrap().unwrap();
    first.save().on(&db).wait().unwrap();
    assert_eq!(Entry::query().iterate().batch_size(7).on(&db).iter().count(), 30);
    db.transaction_sync(|| {
        let deleted = Entry::filter(|e| e.label.eq("even")).delete_bulk().with_hooks(true).batch_size(4).on(&db).wait()?;
        assert_eq!(deleted, 15);
        Ok(())
    })
    .unwrap();
    assert_eq!(Entry::query().count().on(&db).wait().unwrap(), 15);
}

/// The blocking call either ran (its connection was free) or was refused for the reason
/// that would have made it hang.
fn done_or_refused<T: std::fmt::Debug>(outcome: Result<T>, dialect: Dialect) {
    match outcome {
        Ok(_) => {}
        Err(Error::Configuration { kind: ConfigurationKind::Runtime, message, .. }) => {
            assert!(message.contains("would never return"), "{message}")
        }
        Err(other) => panic!("{dialect:?}: {other:?}"),
    }
}

/// `.wait()` joined with an awaited ORM call inside a transaction, on a single-threaded
/// runtime: the awaited call holds the transaction's connection while suspended, so blocking
/// would never end. It must come back (with an error when it would have hung), not hang.
#[test]
fn wait_never_hangs_on_a_connection_its_own_task_holds() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            for t in crate::support::backends("sync_wait_joined").await {
                t.db.register::<Entry>();
                t.db.create_all().await.unwrap();
                let db = &t.db;
                let outcome = db
                    .transaction(async {
                        let (awaited, waited) = futures_util::future::join(
                            async { Entry::create(json!({"worker": 1, "label": "awaited"})).on(db).await },
                            async { Entry::create(json!({"worker": 2, "label": "waited"})).on(db).wait() },
                        )
                        .await;
                        awaited?;
                        Ok(waited)
                    })
                    .await
                    .unwrap();
                done_or_refused(outcome, t.dialect);
                // The same with a blocking transaction block.
                let outcome = db
                    .transaction(async {
                        let (awaited, blocked) = futures_util::future::join(
                            async { Entry::create(json!({"worker": 3, "label": "awaited"})).on(db).await },
                            async { db.transaction_sync(|| Entry::create(json!({"worker": 4, "label": "sync"})).on(db).wait()) },
                        )
                        .await;
                        awaited?;
                        Ok(blocked)
                    })
                    .await
                    .unwrap();
                done_or_refused(outcome, t.dialect);
            }
        });
        done.send(()).unwrap();
    });
    finished.recv_timeout(std::time::Duration::from_secs(60)).expect("`.wait()` hung on a connection its own task holds");
}

/// An explicit handle given with `using` wins over the sync block the call is made in.
#[test]
fn explicit_handle_inside_a_sync_block_stays_its_own_transaction() {
    for t in backends_sync("sync_handle_in_block") {
        if t.dialect == Dialect::Sqlite {
            // Two writing transactions at once: SQLite has one writer, the second would wait
            // for the first (which waits for it) until the busy timeout.
            continue;
        }
        setup_sync!(t.db, Entry);
        let db = &t.db;
        let tx = db.begin().wait().unwrap();
        db.transaction_sync(|| {
            Entry::create(json!({"worker": 1, "label": "in the handle"})).using(&tx).wait()?;
            Entry::create(json!({"worker": 1, "label": "in the block"})).on(db).wait()?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{:?}: {e}", t.dialect));
        tx.rollback().wait().unwrap();
        let labels: Vec<String> = Entry::query().all().on(db).wait().unwrap().into_iter().map(|e| e.label).collect();
        assert_eq!(labels, ["in the block"], "{:?}", t.dialect);
    }
}

/// Every operation's `.wait()`, called from async code on a runtime whose own pool the database
/// has already used, completes (it used to hang in `disconnect()`, which waited for
/// connections only the blocked runtime could close). A watchdog turns a hang into a failure.
#[test]
fn every_wait_completes_inside_a_runtime_after_async_use() {
    for flavor in ["current_thread", "multi_thread"] {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = match flavor {
                "current_thread" => tokio::runtime::Builder::new_current_thread().enable_all().build(),
                _ => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build(),
            }
            .unwrap();
            runtime.block_on(async {
                for t in backends_sync(&format!("sync_wait_{flavor}")) {
                    let db = &t.db;
                    db.register::<User>();
                    db.create_all().await.unwrap();
                    // Used from async code first: this runtime now has connections of its own.
                    let ada = User::create(user_create("Ada", 36, "ada@example.com")).on(db).await.unwrap();
                    User::query().count().on(db).await.unwrap();
                    let mut bob = User::create(json!({"name": "Bob", "age": 17, "email": "bob@example.com"})).on(db).wait().unwrap();
                    assert!(User::get(ada.id).on(db).wait().unwrap().is_some());
                    User::filter(|u| u.age.ge(18)).all().on(db).wait().unwrap();
                    User::query().first().on(db).wait().unwrap();
                    User::query().exists().on(db).wait().unwrap();
                    bob.age = 18;
                    bob.save().on(db).wait().unwrap();
                    User::create_bulk([json!({"name": "Cy", "age": 41, "email": "cy@example.com"})]).on(db).wait().unwrap();
                    User::filter(|u| u.age.gt(40)).update_bulk(json!({"status": "senior"})).on(db).wait().unwrap();
                    assert_eq!(User::query().iterate().batch_size(2).on(db).iter().count(), 3);
                    db.transaction_sync(|| User::query().count().on(db).wait()).unwrap();
                    db.execute_raw("UPDATE users SET age = age").wait().unwrap();
                    User::filter(|u| u.name.eq("Cy")).delete_bulk().on(db).wait().unwrap();
                    db.disconnect().wait().unwrap();
                    db.connect().wait().unwrap();
                    assert_eq!(User::query().count().on(db).wait().unwrap(), 2, "{:?}", t.dialect);
                    // And async again after all that.
                    assert_eq!(User::query().count().on(db).await.unwrap(), 2);
                    db.disconnect().await.unwrap();
                }
            });
            let _ = done.send(());
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("a `.wait()` hung on a {flavor} runtime (or the run panicked)"));
    }
}
