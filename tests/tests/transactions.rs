//! Units of work, live: the ambient transaction, savepoints, panics, cancellation, the
//! explicit handle, isolation and concurrent writers.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use duo_orm::InvalidQueryKind;
use duo_orm::prelude::*;
use futures_util::FutureExt;
use serde_json::json;

use crate::setup;
use crate::support::backends;

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "tx_entries")]
pub struct Entry {
    #[duo(primary_key)]
    pub id: i64,
    pub worker: i32,
    pub label: String,
}

fn entry(worker: i32, label: &str) -> serde_json::Value {
    json!({"worker": worker, "label": label})
}

async fn labels(db: &Database) -> Vec<String> {
    let rows = Entry::query().order_by(|e| e.id.asc()).all().on(db).await.unwrap();
    rows.into_iter().map(|e| e.label).collect()
}

#[tokio::test]
async fn ok_commits_err_rolls_back_and_is_returned_unchanged() {
    for t in backends("tx_commit_rollback").await {
        setup!(t.db, Entry);
        let db = &t.db;
        let ids = db
            .transaction(async {
                let a = Entry::create(entry(1, "a")).on(db).await?;
                // The generated key is there right after the write, and reads in the
                // transaction see its own uncommitted rows.
                assert!(a.id > 0);
                assert_eq!(Entry::get(a.id).on(db).await?, Some(a.clone()));
                let b = Entry::create(entry(1, "b")).on(db).await?;
                assert_eq!(Entry::query().count().on(db).await?, 2);
                Ok((a.id, b.id))
            })
            .await
            .unwrap();
        assert_ne!(ids.0, ids.1);
        assert_eq!(labels(db).await, ["a", "b"], "{:?}", t.dialect);

        let failed: Result<()> = db
            .transaction(async {
                Entry::create(entry(1, "c")).on(db).await?;
                let mut b = Entry::get(ids.1).on(db).await?.unwrap();
                b.label = "b-changed".into();
                b.save().on(db).await?;
                Err(Error::validation("block", "the caller's own error"))
            })
            .await;
        match failed {
            Err(Error::Validation { detail, .. }) => assert_eq!(detail, "the caller's own error"),
            other => panic!("{:?}: the block's error must come back unchanged, got {other:?}", t.dialect),
        }
        assert_eq!(labels(db).await, ["a", "b"], "rolled back on {:?}", t.dialect);

        // A database error inside the block rolls back too (a duplicate primary key).
        let duplicate = db
            .transaction(async {
                Entry::create(entry(2, "d")).on(db).await?;
                Entry::create(json!({"id": ids.0, "worker": 2, "label": "dup"})).on(db).await
            })
            .await;
        assert!(matches!(duplicate, Err(Error::Integrity { .. })), "{:?}: {duplicate:?}", t.dialect);
        assert_eq!(labels(db).await, ["a", "b"], "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn nested_transaction_is_a_savepoint() {
    for t in backends("tx_savepoint").await {
        setup!(t.db, Entry);
        let db = &t.db;
        db.transaction(async {
            Entry::create(entry(1, "outer-1")).on(db).await?;
            let inner: Result<()> = db
                .transaction(async {
                    Entry::create(entry(1, "inner-undone")).on(db).await?;
                    Err(Error::validation("block", "undo the inner block only"))
                })
                .await;
            assert!(inner.is_err());
            db.transaction(async { Entry::create(entry(1, "inner-kept")).on(db).await.map(drop) }).await?;
            // Two levels deep, rolled back, inside a committed level.
            db.transaction(async {
                Entry::create(entry(1, "level-2")).on(db).await?;
                let deeper: Result<()> = db
                    .transaction(async {
                        Entry::create(entry(1, "level-3-undone")).on(db).await?;
                        Err(Error::validation("block", "no"))
                    })
                    .await;
                assert!(deeper.is_err());
                Ok(())
            })
            .await?;
            Entry::create(entry(1, "outer-2")).on(db).await.map(drop)
        })
        .await
        .unwrap();
        assert_eq!(labels(db).await, ["outer-1", "inner-kept", "level-2", "outer-2"], "{:?}", t.dialect);

        // An outer rollback undoes committed savepoints too.
        let _ = db
            .transaction(async {
                db.transaction(async { Entry::create(entry(1, "gone")).on(db).await.map(drop) }).await?;
                Err::<(), _>(Error::validation("block", "outer fails"))
            })
            .await;
        assert_eq!(Entry::filter(|e| e.label.eq("gone")).count().on(db).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn panic_rolls_back_and_resumes() {
    for t in backends("tx_panic").await {
        setup!(t.db, Entry);
        let db = &t.db;
        let outcome = AssertUnwindSafe(db.transaction(async {
            Entry::create(entry(1, "before the panic")).on(db).await?;
            if Entry::query().count().on(db).await? == 1 {
                panic!("boom inside the block");
            }
            Ok(())
        }))
        .catch_unwind()
        .await;
        let payload = outcome.expect_err("the panic resumes in the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom inside the block"));
        assert!(labels(db).await.is_empty(), "{:?}", t.dialect);
        // The connection went back clean: the next unit of work commits normally.
        db.transaction(async { Entry::create(entry(1, "after")).on(db).await.map(drop) }).await.unwrap();
        assert_eq!(labels(&t.other()).await, ["after"], "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn cancelled_block_rolls_back_and_returns_a_clean_connection() {
    for t in backends("tx_cancel").await {
        setup!(t.db, Entry);
        // One connection: the statement after the cancellation must reuse it, so an open
        // transaction left on it would hide that statement's write from other connections.
        let db = Database::new(t.url.clone()).max_connections(1);
        db.register::<Entry>();
        let cancelled = tokio::time::timeout(
            Duration::from_millis(300),
            db.transaction(async {
                Entry::create(entry(1, "cancelled")).on(&db).await?;
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            }),
        )
        .await;
        assert!(cancelled.is_err(), "the block was cancelled by the timeout");
        Entry::create(entry(1, "autocommitted")).on(&db).await.unwrap();
        // Another pool sees the second write (committed) and not the first (rolled back).
        assert_eq!(labels(&t.other()).await, ["autocommitted"], "{:?}", t.dialect);

        // Cancelled inside a savepoint: the outer transaction is rolled back too.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(300),
            db.transaction(async {
                Entry::create(entry(1, "outer")).on(&db).await?;
                db.transaction(async {
                    Entry::create(entry(1, "inner")).on(&db).await?;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(())
                })
                .await
            }),
        )
        .await;
        assert!(cancelled.is_err());
        assert_eq!(labels(&db).await, ["autocommitted"], "{:?}", t.dialect);
        assert_eq!(labels(&t.other()).await, ["autocommitted"], "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn outside_a_transaction_each_call_commits_by_itself() {
    for t in backends("tx_autocommit").await {
        setup!(t.db, Entry);
        let other = t.other();
        let first = Entry::create(entry(1, "one")).on(&t.db).await.unwrap();
        assert_eq!(labels(&other).await, ["one"], "visible at once on {:?}", t.dialect);
        first.delete().on(&t.db).await.unwrap();
        assert!(labels(&other).await.is_empty());
    }
}

#[tokio::test]
async fn explicit_handle_commits_rolls_back_and_isolates() {
    for t in backends("tx_handle").await {
        setup!(t.db, Entry);
        let db = &t.db;
        let other = t.other();

        let tx = db.begin().await.unwrap();
        let a = Entry::create(entry(1, "handle-a")).using(&tx).await.unwrap();
        assert!(a.id > 0);
        assert_eq!(Entry::query().count().using(&tx).await.unwrap(), 1, "own write visible in the transaction");
        // Other connections do not see uncommitted rows.
        assert_eq!(Entry::query().count().on(&other).await.unwrap(), 0, "{:?}", t.dialect);
        assert_eq!(Entry::query().count().on(db).await.unwrap(), 0, "outside the handle, {:?}", t.dialect);
        tx.commit().await.unwrap();
        assert_eq!(labels(&other).await, ["handle-a"]);

        let tx = db.begin().await.unwrap();
        Entry::create(entry(1, "rolled-back")).using(&tx).await.unwrap();
        tx.rollback().await.unwrap();
        let tx = db.begin().await.unwrap();
        Entry::create(entry(1, "dropped")).using(&tx).await.unwrap();
        drop(tx);
        assert_eq!(labels(&other).await, ["handle-a"], "{:?}", t.dialect);

        // Inside an ambient transaction, `begin` is a savepoint of it.
        db.transaction(async {
            Entry::create(entry(1, "ambient")).on(db).await?;
            let tx = db.begin().await?;
            Entry::create(entry(1, "savepoint")).using(&tx).await?;
            tx.rollback().await?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(labels(&other).await, ["handle-a", "ambient"], "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn spawned_tasks_are_outside_the_transaction() {
    for t in backends("tx_spawned").await {
        setup!(t.db, Entry);
        let db: &'static Database = Box::leak(Box::new(Database::new(t.url.clone())));
        db.register::<Entry>();
        db.transaction(async {
            Entry::create(entry(1, "uncommitted")).on(db).await?;
            let seen_by_task = tokio::spawn(async move { Entry::query().count().on(db).await }).await.unwrap()?;
            assert_eq!(seen_by_task, 0, "a spawned task does not see the block's rows on {:?}", t.dialect);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(Entry::query().count().on(db).await.unwrap(), 1);
    }
}

/// Eight writers at once, each in its own transaction: no write is lost, and (on the servers,
/// where all eight transactions are open together) none sees another's uncommitted rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactions_lose_nothing_and_see_only_their_own_rows() {
    const WORKERS: i32 = 8;
    const ROWS: usize = 5;
    for t in backends("tx_concurrent_async").await {
        setup!(t.db, Entry);
        let db: &'static Database = Box::leak(Box::new(Database::new(t.url.clone()).max_connections(WORKERS as u32)));
        db.register::<Entry>();
        // SQLite has one writer at a time (transactions queue at BEGIN), so the writers
        // cannot all be open at once there.
        let all_open = (t.dialect != Dialect::Sqlite).then(|| Arc::new(tokio::sync::Barrier::new(WORKERS as usize)));
        let tasks: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let all_open = all_open.clone();
                tokio::spawn(async move {
                    db.transaction(async {
                        for i in 0..ROWS {
                            Entry::create(entry(worker, &format!("w{worker}-{i}"))).on(db).await?;
                        }
                        // Everyone counts while all eight transactions are open and
                        // uncommitted, then everyone commits.
                        if let Some(barrier) = &all_open {
                            barrier.wait().await;
                        }
                        let visible = Entry::query().count().on(db).await?;
                        let own = Entry::filter(|e| e.worker.eq(worker)).count().on(db).await?;
                        if let Some(barrier) = &all_open {
                            barrier.wait().await;
                        }
                        Ok((visible, own))
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            let (visible, own) = task.await.unwrap().unwrap();
            assert_eq!(own, ROWS as u64);
            if all_open.is_some() {
                assert_eq!(visible, ROWS as u64, "saw another transaction's uncommitted rows on {:?}", t.dialect);
            }
        }
        assert_eq!(Entry::query().count().on(db).await.unwrap(), (WORKERS as u64) * ROWS as u64, "{:?}", t.dialect);
    }
}

/// A cancelled savepoint is rolled back and the outer transaction goes on and commits; two
/// nested blocks open at once are refused instead of interleaving.
#[tokio::test]
async fn cancelled_savepoint_and_overlapping_savepoints() {
    for t in backends("tx_inner_cancel").await {
        setup!(t.db, Entry);
        let db = &t.db;
        db.transaction(async {
            Entry::create(entry(1, "outer-before")).on(db).await?;
            let cancelled = tokio::time::timeout(
                Duration::from_millis(200),
                db.transaction(async {
                    Entry::create(entry(1, "inner-cancelled")).on(db).await?;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(())
                }),
            )
            .await;
            assert!(cancelled.is_err());
            // Straight on, with no await in between (the SQLite worker may not have run the
            // queued rollback yet).
            Entry::create(entry(1, "outer-after")).on(db).await?;
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{:?}: {e}", t.dialect));
        assert_eq!(labels(&t.other()).await, ["outer-before", "outer-after"], "{:?}", t.dialect);

        let outcome = db
            .transaction(async {
                Entry::create(entry(2, "outer")).on(db).await?;
                let (first, second) = futures_util::future::join(
                    db.transaction(async {
                        Entry::create(entry(2, "first")).on(db).await?;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Entry::create(entry(2, "first-again")).on(db).await.map(drop)
                    }),
                    db.transaction(async { Entry::create(entry(2, "second")).on(db).await.map(drop) }),
                )
                .await;
                assert!(first.is_ok(), "{first:?}");
                assert!(matches!(second, Err(Error::InvalidQuery { kind: InvalidQueryKind::Transaction, message: ref m, .. }) if m.contains("concurrently")), "{second:?}");
                Ok(())
            })
            .await;
        outcome.unwrap();
        let worker_two: Vec<String> =
            Entry::filter(|e| e.worker.eq(2)).order_by(|e| e.id.asc()).all().on(db).await.unwrap().into_iter().map(|e| e.label).collect();
        assert_eq!(worker_two, ["outer", "first", "first-again"], "{:?}", t.dialect);
    }
}

/// Polls `work` until `budget` has passed (yielding, so I/O goes on), then drops it: a
/// cancellation point with sub-millisecond precision.
async fn cancel_after<T>(budget: Duration, work: impl std::future::Future<Output = T>) -> Option<T> {
    let started = std::time::Instant::now();
    let deadline = async {
        while started.elapsed() < budget {
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        biased;
        done = work => Some(done),
        () = deadline => None,
    }
}

/// Cancellation swept across a whole block (BEGIN, the INSERT, COMMIT) on a one-connection
/// pool: cancelled before its COMMIT was sent, a block never commits; a block that returned
/// `Ok` always did; cancelled while COMMIT was in flight, either can be true. Every try
/// starts on the connection the previous try left, so a connection left inside a transaction
/// would show as a later try's rows vanishing or leaking.
#[tokio::test(flavor = "current_thread")]
async fn cancellation_before_commit_never_commits() {
    for t in backends("tx_cancel_sweep").await {
        let d = t.dialect;
        setup!(t.db, Entry);
        let db = Database::new(t.url.clone()).max_connections(1);
        db.register::<Entry>();
        // How long a whole block takes here (on a warm connection), to sweep across it.
        let mut whole = Duration::ZERO;
        for _ in 0..3 {
            let started = std::time::Instant::now();
            db.transaction(async { Entry::create(entry(0, "timing")).on(&db).await.map(drop) }).await.unwrap();
            whole = whole.max(started.elapsed());
        }
        let (mut before_commit, mut during_commit, mut completed) = (0, 0, 0);
        for step in 0..60u32 {
            let label = format!("try{step}");
            // A connection ready for the next block (the last try may have closed it), so the
            // cancellation lands in BEGIN, the INSERT or COMMIT, not in connecting.
            tokio::time::timeout(Duration::from_secs(10), db.transaction(async { Ok(()) }))
                .await
                .unwrap_or_else(|_| panic!("{d:?} step {step}: a transaction could not start"))
                .unwrap();
            // Sees whether the COMMIT statement began before the cancellation.
            let log = crate::support::LogBuffer::default();
            let writer = log.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NEW)
                .with_max_level(tracing::Level::INFO)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            let guard = tracing::subscriber::set_default(subscriber);
            // From nothing to twice the time a block takes: the last tries always complete.
            let budget = if step == 59 { whole * 100 } else { whole * step / 30 };
            let outcome = cancel_after(budget, db.transaction(async { Entry::create(entry(1, &label)).on(&db).await.map(drop) })).await;
            drop(guard);
            let commit_began = String::from_utf8_lossy(&log.0.lock().unwrap()).contains("db.statement=COMMIT");
            // Whatever was in flight finishes (or is rolled back) before we look.
            Entry::query().count().on(&db).await.unwrap();
            let stored = Entry::filter(|e| e.label.eq(label.as_str())).count().on(&t.other()).await.unwrap();
            match outcome {
                Some(result) => {
                    result.unwrap();
                    assert_eq!(stored, 1, "{d:?} {label}: a block that returned Ok committed");
                    completed += 1;
                }
                None if !commit_began => {
                    assert_eq!(stored, 0, "{d:?} {label}: cancelled before COMMIT, yet committed");
                    before_commit += 1;
                }
                None => {
                    assert!(stored <= 1, "{d:?} {label}");
                    during_commit += 1;
                }
            }
        }
        eprintln!("{d:?}: {before_commit} cancelled before COMMIT, {during_commit} while it was in flight, {completed} completed");
        assert!(before_commit > 0 && completed > 0, "{d:?}: the sweep covers both ends");
        // The connection is clean: a write outside any transaction is visible to another pool.
        Entry::create(entry(2, "after")).on(&db).await.unwrap();
        assert_eq!(Entry::filter(|e| e.label.eq("after")).count().on(&t.other()).await.unwrap(), 1, "{d:?}");
    }
}

/// A block cancelled while its `BEGIN` is in flight, swept across the statement on a
/// one-connection pool: the next statement never runs inside a transaction left open on the
/// connection (sqlx issues 4385 and 4393: PostgreSQL until sqlx 0.9.1, MySQL still).
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_begin_leaves_no_transaction_behind() {
    for t in backends("tx_cancel_begin").await {
        let d = t.dialect;
        setup!(t.db, Entry);
        let db = Database::new(t.url.clone()).max_connections(1);
        db.register::<Entry>();
        // Pending forever once BEGIN is through: only BEGIN itself can be in flight when cut.
        let block = || db.transaction(async { std::future::pending::<Result<()>>().await });
        let started = std::time::Instant::now();
        assert!(cancel_after(Duration::from_millis(50), block()).await.is_none());
        let whole = started.elapsed();
        for step in 0..40u32 {
            assert!(cancel_after(whole * step / 40, block()).await.is_none());
            // Outside any transaction: committed at once, so another pool sees it.
            let label = format!("after{step}");
            Entry::create(entry(3, &label)).on(&db).await.unwrap();
            let seen = Entry::filter(|e| e.label.eq(label.as_str())).count().on(&t.other()).await.unwrap();
            assert_eq!(seen, 1, "{d:?} step {step}: the write ran inside a transaction left open by a cancelled BEGIN");
        }
    }
}

/// A statement cancelled while it runs inside a transaction that goes on: the connection's
/// state is unknown (a request half sent, an answer unread), so the transaction refuses every
/// further statement and its COMMIT, and nothing of it commits.
#[tokio::test(flavor = "current_thread")]
async fn a_transaction_whose_statement_was_cut_short_can_only_roll_back() {
    for t in backends("tx_cut_short").await {
        let d = t.dialect;
        if d == duo_orm::Dialect::Sqlite {
            continue; // SQLite's driver finishes or rolls back each command by itself.
        }
        setup!(t.db, Entry);
        let slow = if d == duo_orm::Dialect::Postgres { "SELECT pg_sleep(2)" } else { "SELECT SLEEP(2)" };
        let result: Result<()> =
            t.db.transaction(async {
                Entry::create(entry(1, "before")).on(&t.db).await?;
                assert!(cancel_after(Duration::from_millis(50), t.db.execute_raw(slow).into_future()).await.is_none());
                let next = Entry::create(entry(1, "after")).on(&t.db).await;
                assert!(matches!(next, Err(Error::InvalidQuery { message: ref m, .. }) if m.contains("cancelled")), "{d:?}: {next:?}");
                Ok(()) // the block even asks to commit
            })
            .await;
        assert!(matches!(result, Err(Error::InvalidQuery { .. })), "{d:?}: COMMIT refused: {result:?}");
        assert!(labels(&t.other()).await.is_empty(), "{d:?}: nothing committed");
        Entry::create(entry(2, "next")).on(&t.db).await.unwrap();
    }
}

/// An in-memory SQLite database is its one connection: a cancelled statement, in or out of a
/// transaction, must not close it (the data would go with it).
#[tokio::test(flavor = "current_thread")]
async fn cancelling_on_in_memory_sqlite_keeps_the_data() {
    let db = Database::new("sqlite::memory:");
    db.register::<Entry>();
    db.create_all().await.unwrap();
    Entry::create(entry(1, "kept")).on(&db).await.unwrap();
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT COUNT(*) FROM c";
    assert!(cancel_after(Duration::from_millis(20), db.execute_raw(slow).into_future()).await.is_none());
    assert_eq!(labels(&db).await, ["kept"]);
    let cancelled = cancel_after(
        Duration::from_millis(20),
        db.transaction(async {
            Entry::create(entry(1, "rolled back")).on(&db).await?;
            db.execute_raw(slow).await.map(drop)
        }),
    )
    .await;
    assert!(cancelled.is_none());
    assert_eq!(labels(&db).await, ["kept"], "the table and its row are still there; the cancelled block rolled back");
}

/// A block with its own error type (a web handler's): `Err` rolls back and comes back as it
/// was, `?` converts ORM errors into it.
#[tokio::test]
async fn a_block_with_its_own_error_type_rolls_back_and_keeps_it() {
    #[derive(Debug, PartialEq)]
    enum AppError {
        Db(String),
        Refused(&'static str),
    }
    impl From<Error> for AppError {
        fn from(error: Error) -> Self {
            AppError::Db(error.to_string())
        }
    }
    for t in backends("tx_own_error").await {
        setup!(t.db, Entry);
        let db = &t.db;
        let refused: std::result::Result<(), AppError> = db
            .transaction_as(async {
                Entry::create(entry(1, "refused")).on(db).await?;
                Err(AppError::Refused("no"))
            })
            .await;
        assert_eq!(refused, Err(AppError::Refused("no")), "{:?}", t.dialect);
        assert!(labels(db).await.is_empty(), "rolled back on {:?}", t.dialect);
        let failed: std::result::Result<(), AppError> = db
            .transaction_as(async {
                Entry::create(entry(1, "first")).on(db).await?;
                db.execute_raw("SELECT * FROM no_such_table").await?;
                Ok(())
            })
            .await;
        assert!(matches!(failed, Err(AppError::Db(_))), "{failed:?}");
        assert!(labels(db).await.is_empty(), "rolled back on {:?}", t.dialect);
        let kept: std::result::Result<i64, AppError> =
            db.transaction_as(async { Ok(Entry::create(entry(1, "kept")).on(db).await?.id) }).await;
        assert!(kept.is_ok());
        assert_eq!(labels(db).await, ["kept"]);
    }
}

/// Read-only blocks do not queue behind each other (SQLite: no `BEGIN IMMEDIATE`), and the
/// servers refuse a write inside one.
#[tokio::test]
async fn read_only_blocks_run_side_by_side_and_refuse_writes_on_the_servers() {
    for t in backends("tx_read_only").await {
        setup!(t.db, Entry);
        let db = &t.db;
        let other = t.other();
        Entry::create(entry(1, "before")).on(db).await.unwrap();
        let seen = db
            .read_only_transaction(async {
                let count = Entry::query().count().on(db).await?;
                // A second read-only block, on another pool, while this one is open.
                let second = other.read_only_transaction(async { Entry::query().count().on(&other).await });
                let beside = tokio::time::timeout(Duration::from_secs(3), second)
                    .await
                    .map_err(|_| Error::validation("block", "the second reader waited for the first"))??;
                let inside = Entry::create(entry(1, "inside")).on(db).await;
                Ok((count, beside, inside.is_err()))
            })
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", t.dialect));
        assert_eq!((seen.0, seen.1), (1, 1), "{:?}", t.dialect);
        assert_eq!(seen.2, t.dialect != Dialect::Sqlite, "{:?}: a write inside a read-only block", t.dialect);
    }
}
