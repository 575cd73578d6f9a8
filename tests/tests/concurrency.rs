//! Concurrency control: row locks (a job queue with SKIP LOCKED, NOWAIT), isolation levels,
//! retried transactions, and concurrent read-modify-write cycles that lose nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use duo_orm::mock::MockDatabase;
use duo_orm::prelude::*;
use duo_orm::{ConflictKind, InvalidQueryKind, Isolation, Retry, Statement};
use serde_json::json;

use crate::setup;
use crate::sql::{per_dialect, show};
use crate::support::backends;

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cc_jobs")]
pub struct Job {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub done: bool,
    pub worker: Option<i32>,
    pub runs: i32,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cc_accounts")]
pub struct Account {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub balance: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cc_docs")]
pub struct Doc {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub title: String,
    pub hits: i64,
    #[duo(version)]
    pub version: i64,
}

fn leak(db: Database) -> &'static Database {
    Box::leak(Box::new(db))
}

// ----- Row locks -----

/// The lock clauses in five dialects, and what a dialect cannot write.
#[test]
fn row_locks_in_five_dialects() {
    let claim = |d| Job::filter(|j| j.done.eq(false)).order_by(|j| j.id.asc()).limit(10).for_update().skip_locked().to_sql(d);
    let one = |d| Job::filter(|j| j.id.eq(3)).for_update().to_sql(d);
    let nowait = |d| Job::filter(|j| j.id.eq(3)).for_update().nowait().to_sql(d);
    let share = |d| Job::filter(|j| j.id.eq(3)).for_share().to_sql(d);
    let share_skip = |d| Job::filter(|j| j.id.eq(3)).for_share().skip_locked().to_sql(d);
    insta::assert_snapshot!(per_dialect(|d| [
        format!("claim: {}", show(claim(d))),
        format!("for_update: {}", show(one(d))),
        format!("nowait: {}", show(nowait(d))),
        format!("for_share: {}", show(share(d))),
        format!("for_share skip_locked: {}", show(share_skip(d))),
    ]
    .join("\n")));
}

/// Where a lock cannot be taken, the query fails before anything is sent.
#[tokio::test]
async fn a_lock_is_refused_outside_a_transaction_and_where_it_cannot_apply() {
    let refused = |result: Result<Statement>, says: &str| {
        let error = result.unwrap_err();
        assert!(
            matches!(error, Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }) && error.to_string().contains(says),
            "{error}"
        );
    };
    refused(Job::query().skip_locked().to_sql(Dialect::Postgres), "for_update() or for_share() first");
    refused(Job::query().nowait().for_update().to_sql(Dialect::Postgres), "for_update() or for_share() first");
    refused(Job::query().for_update().count_sql(Dialect::Postgres), "count()");
    refused(Job::query().for_update().exists_sql(Dialect::MySql), "exists()");

    for t in backends("cc_lock_refused").await {
        setup!(t.db, Job);
        let db = &t.db;
        Job::create(json!({"done": false, "runs": 0})).on(db).await.unwrap();
        let outside = Job::query().for_update().all().on(db).await.unwrap_err();
        assert!(
            matches!(&outside, Error::InvalidQuery { kind: InvalidQueryKind::Transaction, message } if message.contains("outside a transaction")),
            "{outside}"
        );
        // Inside a transaction it reads the rows (on SQLite, under the transaction's write lock).
        let locked = db.transaction(async { Job::query().for_update().first().on(db).await }).await.unwrap();
        assert_eq!(locked.map(|j| j.id), Some(1), "{:?}", t.dialect);
        let read_only = db.read_only_transaction(async { Job::query().for_update().all().on(db).await }).await;
        match t.dialect {
            Dialect::Sqlite => assert!(matches!(read_only, Err(Error::UnsupportedOperation { .. })), "{read_only:?}"),
            // The servers refuse the lock in a read-only transaction themselves.
            _ => assert!(read_only.is_err(), "{:?}", t.dialect),
        }
        let stream =
            db.transaction(async { Job::query().for_update().iterate().batch_size(5).on(db).stream().try_collect::<Vec<_>>().await }).await;
        assert!(matches!(stream, Err(Error::InvalidQuery { .. })), "{stream:?}");
    }
}

/// A row another transaction holds is passed over by `skip_locked()` and refused at once by
/// `nowait()`, on the servers (SQLite has no row locks: its transactions queue for the
/// database's write lock).
#[tokio::test]
async fn skip_locked_passes_over_held_rows_and_nowait_refuses_them() {
    for t in backends("cc_skip_locked").await {
        if t.dialect == Dialect::Sqlite {
            continue;
        }
        setup!(t.db, Job);
        let db = &t.db;
        let other = t.other();
        other.register::<Job>();
        Job::create_bulk((0..6).map(|_| json!({"done": false, "runs": 0})).collect::<Vec<_>>()).on(db).await.unwrap();
        let holder = db.begin().await.unwrap();
        let held = Job::query().order_by(|j| j.id.asc()).limit(3).for_update().all().using(&holder).await.unwrap();
        assert_eq!(held.iter().map(|j| j.id).collect::<Vec<_>>(), [1, 2, 3]);

        // Another connection, while the first three are held.
        let passed = other
            .transaction(async { Job::query().order_by(|j| j.id.asc()).limit(3).for_update().skip_locked().all().on(&other).await })
            .await
            .unwrap();
        assert_eq!(passed.iter().map(|j| j.id).collect::<Vec<_>>(), [4, 5, 6], "{:?}", t.dialect);
        let refused = other.transaction(async { Job::filter(|j| j.id.eq(2)).for_update().nowait().all().on(&other).await }).await;
        let expected = if t.dialect == Dialect::MySql { ConflictKind::LockTimeout } else { ConflictKind::LockNotAvailable };
        assert!(matches!(&refused, Err(Error::Conflict { kind, .. }) if *kind == expected), "{:?}: {refused:?}", t.dialect);
        holder.rollback().await.unwrap();
        other.disconnect().await.unwrap();
    }
}

/// 8 workers claim 1 000 jobs, 10 at a time, with `for_update().skip_locked()`: every job is
/// processed exactly once. Each worker's transaction sets a short lock wait timeout, so a
/// worker that waited out another's transaction would fail the test (that `skip_locked()`
/// never waits on a held row at all is `skip_locked_passes_over_held_rows_and_nowait_refuses_them`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_queue_of_eight_workers_processes_every_job_once_without_waiting() {
    for t in backends("cc_job_queue").await {
        if t.dialect == Dialect::Sqlite {
            continue;
        }
        setup!(t.db, Job);
        Job::create_bulk((0..1000).map(|_| json!({"done": false, "runs": 0})).collect::<Vec<_>>()).on(&t.db).await.unwrap();
        let db = leak(Database::new(t.url.clone()).max_connections(8));
        db.register::<Job>();
        let no_waiting = match t.dialect {
            // Short enough that waiting out another worker's transaction fails the test, long
            // enough that a loaded machine's scheduling does not (1 ms did, once in a while).
            Dialect::Postgres => "SET LOCAL lock_timeout = '200ms'",
            // Its smallest: 0 makes MariaDB fail the COMMIT itself.
            _ => "SET SESSION innodb_lock_wait_timeout = 1",
        };
        let workers: Vec<_> = (0..8)
            .map(|worker: i32| {
                tokio::spawn(async move {
                    let mut claimed = 0;
                    loop {
                        let batch = db
                            .transaction(async {
                                db.execute_raw(no_waiting).await?;
                                let jobs = Job::filter(|j| j.done.eq(false))
                                    .order_by(|j| j.id.asc())
                                    .limit(10)
                                    .for_update()
                                    .skip_locked()
                                    .all()
                                    .on(db)
                                    .await?;
                                let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
                                if !ids.is_empty() {
                                    Job::filter(|j| j.id.is_in(ids.clone()))
                                        .update_bulk(json!({"done": true, "worker": worker}))
                                        .set(|j| j.runs.to(j.runs.plus(1)))
                                        .on(db)
                                        .await?;
                                }
                                Ok(ids.len())
                            })
                            .await
                            .unwrap_or_else(|e| panic!("worker {worker}: {e}"));
                        if batch == 0 {
                            return claimed;
                        }
                        claimed += batch;
                    }
                })
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            total += worker.await.unwrap();
        }
        assert_eq!(total, 1000, "{:?}", t.dialect);
        let jobs = Job::query().all().on(&t.db).await.unwrap();
        assert!(jobs.iter().all(|j| j.done && j.runs == 1 && j.worker.is_some()), "{:?}", t.dialect);
        db.disconnect().await.unwrap();
    }
}

// ----- Isolation levels -----

/// What begins a transaction at each level, as each dialect is sent it (the mock records the
/// statements): a level the dialect lacks is refused before anything is sent.
#[tokio::test]
async fn isolation_levels_in_five_dialects() {
    let levels = [Isolation::ReadUncommitted, Isolation::ReadCommitted, Isolation::RepeatableRead, Isolation::Serializable];
    let mut shown = String::new();
    for dialect in Dialect::ALL {
        shown.push_str(&format!("-- {dialect}\n"));
        for (level, read_only) in levels.iter().flat_map(|level| [(*level, false), (*level, true)]) {
            let mock = MockDatabase::new(dialect);
            let db = mock.database();
            let mut block = db.transaction_with(|| async { Ok(()) }).isolation(level);
            if read_only {
                block = block.read_only();
            }
            let began = match block.await {
                Ok(()) => mock.statements().first().map(|s| s.sql.clone()).unwrap_or_default(),
                Err(error) => format!("error: {error}"),
            };
            shown.push_str(&format!("{level}{}: {began}\n", if read_only { ", read only" } else { "" }));
        }
    }
    insta::assert_snapshot!(shown);
}

/// A level applies to a whole transaction: a nested block may only ask for the one it runs at.
#[tokio::test]
async fn a_nested_block_may_only_ask_for_its_transactions_level() {
    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    let outcome = db
        .transaction_with(|| async {
            db.transaction_with(|| async { Ok(()) }).isolation(Isolation::Serializable).await?;
            db.transaction_with(|| async { Ok(()) }).isolation(Isolation::ReadCommitted).await
        })
        .isolation(Isolation::Serializable)
        .await;
    let error = outcome.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidQuery { kind: InvalidQueryKind::Transaction, message } if message.contains("READ COMMITTED")),
        "{error}"
    );
    let sent: Vec<String> = mock.statements().into_iter().map(|s| s.sql).collect();
    assert_eq!(
        sent,
        ["BEGIN ISOLATION LEVEL SERIALIZABLE", "SAVEPOINT duo_orm_savepoint_1", "RELEASE SAVEPOINT duo_orm_savepoint_1", "ROLLBACK"]
    );
    let inside = db.transaction(async { db.transaction_with(|| async { Ok(()) }).isolation(Isolation::Serializable).await }).await;
    assert!(matches!(inside, Err(Error::InvalidQuery { .. })), "{inside:?}");
}

// ----- Retried transactions -----

fn deadlock() -> Error {
    Error::Conflict { kind: ConflictKind::Deadlock, message: "scripted deadlock".into(), source: None }
}

/// A block that loses to a concurrent transaction runs again in a new one; what is not a
/// conflict is not retried; the attempts are bounded.
#[tokio::test]
async fn retry_runs_the_block_again_after_a_conflict_and_only_then() {
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        let mock = MockDatabase::new(dialect);
        let db = mock.database();
        mock.exec_error(deadlock()).exec_error(deadlock()).executed(1);
        let runs = AtomicU32::new(0);
        let bump = || {
            runs.fetch_add(1, Ordering::SeqCst);
            async { Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await }
        };
        let updated = db.transaction_with(bump).retry(Retry::attempts(3).backoff(Default::default(), Default::default())).await.unwrap();
        assert_eq!((updated, runs.load(Ordering::SeqCst)), (1, 3), "{dialect:?}");
        let sent: Vec<String> = mock.take_statements().into_iter().map(|s| s.sql).collect();
        let (begin, commit) = (sent[0].clone(), sent.last().unwrap().clone());
        assert_eq!(sent.iter().filter(|s| **s == begin).count(), 3, "{sent:?}");
        assert_eq!(sent.iter().filter(|s| *s == "ROLLBACK").count(), 2, "{sent:?}");
        assert_eq!(commit, "COMMIT");

        // The attempts run out: the last conflict is the error.
        runs.store(0, Ordering::SeqCst);
        mock.exec_error(deadlock()).exec_error(deadlock());
        let bump = || {
            runs.fetch_add(1, Ordering::SeqCst);
            async { Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await }
        };
        let lost = db.transaction_with(bump).retry(Retry::attempts(2).backoff(Default::default(), Default::default())).await;
        assert!(matches!(lost, Err(Error::Conflict { kind: ConflictKind::Deadlock, .. })), "{lost:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 2);

        // Anything else fails at once, and so does a conflict without `retry`.
        runs.store(0, Ordering::SeqCst);
        mock.exec_error(Error::validation("balance", "scripted")).exec_error(deadlock());
        let bump = || {
            runs.fetch_add(1, Ordering::SeqCst);
            async { Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await }
        };
        let failed = db.transaction_with(bump).retry(Retry::attempts(5)).await;
        assert!(matches!(failed, Err(Error::Validation { .. })), "{failed:?}");
        let bump = || async { Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await };
        let once = db.transaction_with(bump).await;
        assert!(matches!(once, Err(Error::Conflict { .. })), "{once:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(mock.remaining(), (0, 0));
    }
}

/// A block that catches a deadlock and goes on runs nothing more, and cannot commit: the
/// database has already ended its transaction (MySQL would run what follows in autocommit).
#[tokio::test]
async fn a_transaction_that_lost_a_deadlock_runs_and_commits_nothing_more() {
    let mock = MockDatabase::new(Dialect::MySql);
    let db = mock.database();
    mock.exec_error(deadlock());
    let outcome = db
        .transaction(async {
            let lost = Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await;
            assert!(lost.is_err());
            let refused = Account::filter(|a| a.id.eq(2)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await;
            assert!(matches!(refused, Err(Error::Conflict { kind: ConflictKind::Deadlock, .. })), "{refused:?}");
            let nested = db.transaction(async { Ok(()) }).await;
            assert!(matches!(nested, Err(Error::Conflict { .. })), "{nested:?}");
            Ok(())
        })
        .await;
    assert!(matches!(&outcome, Err(Error::Conflict { kind: ConflictKind::Deadlock, .. })), "{outcome:?}");
    let sent: Vec<String> = mock.statements().into_iter().map(|s| s.sql).collect();
    assert_eq!(sent.len(), 3, "BEGIN, the failed UPDATE, ROLLBACK: {sent:?}");
    assert_eq!(sent.last().map(String::as_str), Some("ROLLBACK"));
}

/// A `COMMIT` whose answer never came may have committed: a retried block does not run again.
#[tokio::test]
async fn retry_never_runs_a_block_again_after_its_commit_was_lost() {
    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    mock.executed(1).drop_next_commit();
    let runs = AtomicU32::new(0);
    let bump = || {
        runs.fetch_add(1, Ordering::SeqCst);
        async { Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await }
    };
    let outcome = db.transaction_with(bump).retry(Retry::attempts(5)).await;
    assert!(matches!(outcome, Err(Error::CommitUnknown { .. })), "{outcome:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// A deadlock between two transactions that lock two rows in opposite orders: the one the
/// database picks fails with `Conflict`; its block catches that and writes a marker, which
/// is refused and never lands. The other commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swallowed_deadlock_lands_no_later_write() {
    for t in backends("cc_deadlock").await {
        if t.dialect == Dialect::Sqlite {
            continue;
        }
        setup!(t.db, Account, Job);
        let db = leak(Database::new(t.url.clone()).max_connections(4));
        db.register::<Account>().register::<Job>();
        let (a, b) = (
            Account::create(json!({"balance": 0})).on(db).await.unwrap().id,
            Account::create(json!({"balance": 0})).on(db).await.unwrap().id,
        );
        let both_locked = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = [(a, b), (b, a)]
            .into_iter()
            .map(|(first, second)| {
                let both_locked = both_locked.clone();
                tokio::spawn(async move {
                    db.transaction(async {
                        Account::filter(|x| x.id.eq(first)).for_update().one().on(db).await?;
                        both_locked.wait().await;
                        if let Err(lost) = Account::filter(|x| x.id.eq(second)).for_update().one().on(db).await {
                            assert!(matches!(lost, Error::Conflict { kind: ConflictKind::Deadlock, .. }), "{lost}");
                            // Swallowed: the block goes on as if nothing happened.
                            let _ = Job::create(json!({"done": false, "runs": 0})).on(db).await;
                        }
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let lost = outcomes.iter().filter(|o| matches!(o, Err(Error::Conflict { kind: ConflictKind::Deadlock, .. }))).count();
        assert_eq!((lost, outcomes.iter().filter(|o| o.is_ok()).count()), (1, 1), "{:?}: {outcomes:?}", t.dialect);
        assert_eq!(Job::query().count().on(db).await.unwrap(), 0, "{:?}: the swallowed write landed", t.dialect);
        db.disconnect().await.unwrap();
    }
}

/// After a failed statement PostgreSQL ignores the rest of the transaction and answers COMMIT
/// with a silent rollback: a block that catches the error and returns `Ok` gets an error,
/// not a false success. In a nested transaction (a savepoint) the block goes on on every
/// backend; MySQL and SQLite undo only the failed statement.
#[tokio::test]
async fn a_caught_failure_cannot_commit_on_postgres_unless_a_savepoint_took_it() {
    for t in backends("cc_caught_failure").await {
        setup!(t.db, Member);
        let db = &t.db;
        let d = t.dialect;
        let member = |email: &str| json!({"email": email, "name": "M", "age": 1});
        let caught = db
            .transaction(async {
                Member::create(member("a@example.com")).on(db).await?;
                assert!(Member::create(member("a@example.com")).on(db).await.is_err());
                Ok(())
            })
            .await;
        match d {
            Dialect::Postgres => {
                assert!(matches!(&caught, Err(Error::InvalidQuery { kind: InvalidQueryKind::Transaction, .. })), "{caught:?}");
                assert_eq!(Member::query().count().on(db).await.unwrap(), 0);
            }
            _ => {
                assert!(caught.is_ok(), "{d:?}: {caught:?}");
                assert_eq!(Member::query().count().on(db).await.unwrap(), 1, "{d:?}");
            }
        }
        if d == Dialect::Postgres {
            // A NUL the server refuses (duo-orm's `UnsupportedOperation`) aborts the transaction too.
            let caught = db
                .transaction(async {
                    Member::create(member("n@example.com")).on(db).await?;
                    let nul = Member::create(json!({"email": "x@example.com", "name": "a\u{0}b", "age": 1})).on(db).await;
                    assert!(matches!(nul, Err(Error::UnsupportedOperation { .. })), "{nul:?}");
                    Ok(())
                })
                .await;
            assert!(matches!(&caught, Err(Error::InvalidQuery { kind: InvalidQueryKind::Transaction, .. })), "{caught:?}");
        }
        Member::query().delete_bulk().require_filter(false).on(db).await.unwrap();
        db.transaction(async {
            Member::create(member("b@example.com")).on(db).await?;
            let duplicate = db.transaction(async { Member::create(member("b@example.com")).on(db).await }).await;
            assert!(matches!(duplicate, Err(Error::Integrity { .. })), "{duplicate:?}");
            Member::create(member("c@example.com")).on(db).await
        })
        .await
        .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(Member::query().count().on(db).await.unwrap(), 2, "{d:?}");
    }
}

/// Two SERIALIZABLE transfers out of one account, interleaved so that both read its balance
/// before either writes: the database fails one with the typed conflict (PostgreSQL: a
/// serialization failure; MariaDB: a deadlock), and only the other's debit lands. With
/// `retry`, the loser runs again and both land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serializable_transfers_conflict_without_retry_and_all_land_with_it() {
    for t in backends("cc_serializable").await {
        if t.dialect == Dialect::Sqlite {
            continue;
        }
        setup!(t.db, Account);
        let db = leak(Database::new(t.url.clone()).max_connections(4));
        db.register::<Account>();
        for retry in [false, true] {
            Account::query().delete_bulk().require_filter(false).on(db).await.unwrap();
            let from = Account::create(json!({"balance": 100})).on(db).await.unwrap().id;
            let to = Account::create(json!({"balance": 0})).on(db).await.unwrap().id;
            let both_read = Arc::new(tokio::sync::Barrier::new(2));
            let runs = Arc::new(AtomicU32::new(0));
            let transfers: Vec<_> = (0..2)
                .map(|_| {
                    let (both_read, runs) = (both_read.clone(), runs.clone());
                    tokio::spawn(async move {
                        let transfer = move || {
                            let first_run = runs.fetch_add(1, Ordering::SeqCst) < 2;
                            let both_read = both_read.clone();
                            async move {
                                let mut source = Account::get(from).on(db).await?.expect("source account");
                                if first_run {
                                    both_read.wait().await;
                                }
                                source.balance -= 10;
                                source.save().on(db).await?;
                                Account::filter(|a| a.id.eq(to)).set(|a| a.balance.to(a.balance.plus(10))).on(db).await?;
                                Ok(())
                            }
                        };
                        let block = db.transaction_with(transfer).isolation(Isolation::Serializable);
                        if retry { block.retry(Retry::attempts(5)).await } else { block.await }
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for transfer in transfers {
                outcomes.push(transfer.await.unwrap());
            }
            let balances =
                (Account::get(from).on(db).await.unwrap().unwrap().balance, Account::get(to).on(db).await.unwrap().unwrap().balance);
            if retry {
                assert!(outcomes.iter().all(Result::is_ok), "{:?}: {outcomes:?}", t.dialect);
                assert_eq!(balances, (80, 20), "{:?}", t.dialect);
                assert_eq!(runs.load(Ordering::SeqCst), 3, "{:?}: one transfer ran twice", t.dialect);
            } else {
                let conflicts = outcomes.iter().filter(|o| matches!(o, Err(Error::Conflict { kind, .. }) if kind.is_retryable())).count();
                assert_eq!((conflicts, outcomes.iter().filter(|o| o.is_ok()).count()), (1, 1), "{:?}: {outcomes:?}", t.dialect);
                assert_eq!(balances, (90, 10), "{:?}", t.dialect);
            }
        }
        db.disconnect().await.unwrap();
    }
}

/// 8 workers make 20 random transfers each between 4 accounts, SERIALIZABLE with `retry`:
/// every transfer lands, and the total is conserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_serializable_transfers_with_retry_all_land() {
    for t in backends("cc_transfers").await {
        setup!(t.db, Account);
        let db = leak(Database::new(t.url.clone()).max_connections(8));
        db.register::<Account>();
        for _ in 0..4 {
            Account::create(json!({"balance": 1000})).on(db).await.unwrap();
        }
        let workers: Vec<_> = (0..8u64)
            .map(|worker| {
                tokio::spawn(async move {
                    let mut moved = [0i64; 4];
                    for i in 0..20u64 {
                        let from = ((worker + i) % 4) as i64 + 1;
                        let to = ((worker * 3 + i * 7 + 1) % 4) as i64 + 1;
                        let to = if to == from { to % 4 + 1 } else { to };
                        let amount = ((worker + 1) * (i + 1) % 17) as i64 + 1;
                        let transfer = move || async move {
                            let mut source = Account::get(from).on(db).await?.expect("account");
                            let mut target = Account::get(to).on(db).await?.expect("account");
                            source.balance -= amount;
                            target.balance += amount;
                            source.save().on(db).await?;
                            target.save().on(db).await?;
                            Ok(())
                        };
                        db.transaction_with(transfer)
                            .isolation(Isolation::Serializable)
                            .retry(Retry::attempts(100))
                            .await
                            .unwrap_or_else(|e| panic!("worker {worker}, transfer {i}: {e}"));
                        moved[from as usize - 1] -= amount;
                        moved[to as usize - 1] += amount;
                    }
                    moved
                })
            })
            .collect();
        let mut expected = [1000i64; 4];
        for worker in workers {
            for (balance, moved) in expected.iter_mut().zip(worker.await.unwrap()) {
                *balance += moved;
            }
        }
        let stored: Vec<i64> = Account::query().order_by(|a| a.id.asc()).all().on(db).await.unwrap().iter().map(|a| a.balance).collect();
        assert_eq!(stored, expected, "{:?}", t.dialect);
        assert_eq!(stored.iter().sum::<i64>(), 4000);
        db.disconnect().await.unwrap();
    }
}

// ----- Lost updates -----

/// Runs `increment` 25 times in each of 8 concurrent tasks.
async fn eight_writers_25_times<F, Fut>(increment: F)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let increment = increment.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    increment().await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
}

/// 8 writers each read a counter and write it back plus one, 25 times, inside a transaction.
/// Read with `for_update()`, no increment is lost, on every backend. (Expression updates,
/// the other way, are in `bulk::expression_updates_lose_no_concurrent_increment`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_modify_write_with_for_update_loses_no_increment() {
    for t in backends("cc_for_update").await {
        setup!(t.db, Account);
        let db = leak(Database::new(t.url.clone()).max_connections(8));
        db.register::<Account>();
        let id = Account::create(json!({"balance": 0})).on(db).await.unwrap().id;
        eight_writers_25_times(move || async move {
            db.transaction(async {
                let mut account = Account::filter(|a| a.id.eq(id)).for_update().one().on(db).await?;
                account.balance += 1;
                account.save().on(db).await
            })
            .await
            .unwrap();
        })
        .await;
        assert_eq!(Account::get(id).on(db).await.unwrap().unwrap().balance, 200, "{:?}", t.dialect);
        db.disconnect().await.unwrap();
    }
}

/// The same workload with `#[duo(version)]` and `.retry(..)` instead of a lock: a writer
/// whose row changed since it read it gets `StaleObject`, runs again, and no increment is
/// lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_modify_write_with_a_version_and_retry_loses_no_increment() {
    for t in backends("cc_version_retry").await {
        setup!(t.db, Doc);
        let db = leak(Database::new(t.url.clone()).max_connections(8));
        db.register::<Doc>();
        let id = Doc::create(json!({"title": "counter", "hits": 0})).on(db).await.unwrap().id;
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        eight_writers_25_times(move || {
            let runs = counted.clone();
            async move {
                let increment = move || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let mut doc = Doc::get(id).on(db).await?.expect("counter");
                        doc.hits += 1;
                        doc.save().on(db).await
                    }
                };
                db.transaction_with(increment).retry(Retry::attempts(1000)).await.unwrap();
            }
        })
        .await;
        let stored = Doc::get(id).on(db).await.unwrap().unwrap();
        assert_eq!((stored.hits, stored.version), (200, 200), "{:?}", t.dialect);
        eprintln!("{:?}: 200 increments took {} runs", t.dialect, runs.load(Ordering::SeqCst));
        db.disconnect().await.unwrap();
    }
}

/// `#[duo(version)]`: two copies of a row are edited; the second's save, update and delete
/// are refused with `StaleObject` and nothing is overwritten. Bulk updates move the version
/// too.
#[tokio::test]
async fn versioned_rows_refuse_stale_saves_updates_and_deletes() {
    for t in backends("cc_versions").await {
        setup!(t.db, Doc);
        let db = &t.db;
        let d = t.dialect;
        // A payload cannot set the version: a new row starts at 0.
        let created = Doc::create(json!({"title": "draft", "hits": 0, "version": 41})).on(db).await.unwrap();
        assert_eq!(created.version, 0, "{d:?}");
        let id = created.id;
        let mut first = Doc::get(id).on(db).await.unwrap().unwrap();
        let mut second = Doc::get(id).on(db).await.unwrap().unwrap();
        first.title = "first".into();
        first.save().on(db).await.unwrap();
        assert_eq!(first.version, 1, "{d:?}");

        second.title = "second".into();
        let stale = second.save().on(db).await.unwrap_err();
        assert!(matches!(&stale, Error::StaleObject { model: "Doc", key, version: 0 } if *key == id.to_string()), "{d:?}: {stale}");
        let refused = second.update(json!({"title": "third"})).on(db).await.unwrap_err();
        assert!(matches!(refused, Error::StaleObject { .. }), "{d:?}: {refused}");
        let refused = second.delete().on(db).await.unwrap_err();
        assert!(matches!(refused, Error::StaleObject { .. }), "{d:?}: {refused}");
        let stored = Doc::get(id).on(db).await.unwrap().unwrap();
        assert_eq!((stored.title.as_str(), stored.version), ("first", 1), "{d:?}");

        // An update by payload moves the instance to the new version, and may go on.
        first.update(json!({"hits": 5})).on(db).await.unwrap();
        first.update(json!({"hits": 6})).on(db).await.unwrap();
        assert_eq!((first.hits, first.version), (6, 3), "{d:?}");

        // Bulk updates move every row's version: a copy read before cannot save over them.
        assert_eq!(Doc::filter(|x| x.id.eq(id)).update_bulk(json!({"title": "bulk"})).on(db).await.unwrap(), 1);
        assert_eq!(Doc::filter(|x| x.id.eq(id)).set(|x| x.hits.to(x.hits.plus(1))).on(db).await.unwrap(), 1);
        let refused = first.save().on(db).await.unwrap_err();
        assert!(matches!(refused, Error::StaleObject { version: 3, .. }), "{d:?}: {refused}");
        let fresh = Doc::get(id).on(db).await.unwrap().unwrap();
        assert_eq!((fresh.title.as_str(), fresh.hits, fresh.version), ("bulk", 7, 5), "{d:?}");

        // A read copy deletes; a stale copy of a row that is gone is not an error.
        fresh.delete().on(db).await.unwrap();
        first.delete().on(db).await.unwrap();
        assert_eq!(Doc::query().count().on(db).await.unwrap(), 0);
    }
}

/// The versioned UPDATE and DELETE of an instance, and a bulk update, in five dialects.
#[test]
fn versioned_writes_in_five_dialects() {
    let doc = Doc { id: 7, title: "t".into(), hits: 1, version: 3 };
    insta::assert_snapshot!(per_dialect(|d| [
        format!("update: {}", show(doc.update_sql(json!({"title": "new"}), d))),
        format!("delete: {}", show(Ok(doc.delete_sql(d)))),
        format!("bulk: {}", show(Doc::filter(|x| x.hits.gt(0)).update_bulk(json!({"title": "all"})).to_sql(d))),
    ]
    .join("\n")));
    let refused = Doc::filter(|x| x.hits.gt(0)).set(|x| x.version.to(x.version.plus(1))).to_sql(Dialect::Postgres).unwrap_err();
    assert!(refused.to_string().contains("version"), "{refused}");
}

// ----- Upserts -----

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cc_members")]
pub struct Member {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(unique, max_length = 80)]
    pub email: String,
    #[duo(max_length = 40)]
    pub name: String,
    pub age: i32,
    #[duo(max_length = 20, default = "new")]
    pub status: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cc_slugs", unique(org, slug))]
pub struct Slug {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub org: i64,
    #[duo(max_length = 40)]
    pub slug: String,
    pub hits: i64,
    #[duo(version)]
    pub version: i64,
}

/// The upserts in five dialects: ON CONFLICT, ON DUPLICATE KEY UPDATE, MERGE.
#[test]
fn upserts_in_five_dialects() {
    let ada = || json!({"email": "ada@example.com", "name": "Ada", "age": 36});
    let rows = || vec![json!({"org": 1, "slug": "a", "hits": 1}), json!({"org": 1, "slug": "b", "hits": 2})];
    insta::assert_snapshot!(per_dialect(|d| [
        format!("update: {}", show(Member::create(ada()).on_conflict(|m| m.email).update(|m| (m.name, m.age)).to_sql(d))),
        format!("do_nothing: {}", show(Member::create(ada()).on_conflict(|m| m.email).do_nothing().to_sql(d))),
        format!(
            "versioned, composite: {}",
            show(Slug::create(json!({"org": 1, "slug": "a", "hits": 1})).on_conflict(|s| (s.org, s.slug)).update(|s| s.hits).to_sql(d))
        ),
        format!(
            "bulk: {}",
            match Slug::create_bulk(rows()).on_conflict(|s| (s.org, s.slug)).update(|s| s.hits).to_sql(d) {
                Ok(statements) => statements.into_iter().map(|s| show(Ok(s))).collect::<Vec<_>>().join("\n"),
                Err(e) => format!("error: {e}"),
            }
        ),
    ]
    .join("\n")));
}

/// What would not mean the same everywhere is refused before anything is sent.
#[test]
fn upserts_refuse_targets_that_are_not_unique_keys_and_updates_of_keys() {
    let ada = || json!({"email": "ada@example.com", "name": "Ada", "age": 36});
    let refused = |result: Result<Statement>, says: &str| {
        let error = result.unwrap_err();
        assert!(error.to_string().contains(says), "{error}");
    };
    refused(Member::create(ada()).on_conflict(|m| m.name).do_nothing().to_sql(Dialect::Postgres), "needs a unique key");
    refused(Member::create(ada()).on_conflict(|m| m.email).update(|m| m.email).to_sql(Dialect::Postgres), "is a key it matches on");
    refused(Member::create(ada()).on_conflict(|m| m.email).update(|m| m.status).to_sql(Dialect::Sqlite), "no value in the payload");
    refused(
        Member::create(json!({"name": "x", "age": 1})).on_conflict(|m| m.email).do_nothing().to_sql(Dialect::Sqlite),
        "no value for `email`",
    );
    refused(
        Slug::create(json!({"org": 1, "slug": "a", "hits": 1}))
            .on_conflict(|s| (s.org, s.slug))
            .update(|s| s.version)
            .to_sql(Dialect::Sqlite),
        "version",
    );
    refused(Member::create(ada()).on_conflict(|m| m.email).update(|m| (m.name, m.name)).to_sql(Dialect::Postgres), "named twice");
    // Two rows with one key: PostgreSQL refuses that in one statement, the others keep the last.
    let twice = vec![json!({"org": 1, "slug": "a", "hits": 1}), json!({"org": 1, "slug": "a", "hits": 2})];
    let error = Slug::create_bulk(twice).on_conflict(|s| (s.org, s.slug)).update(|s| s.hits).to_sql(Dialect::Sqlite).unwrap_err();
    assert!(error.to_string().contains("same (org, slug)"), "{error}");
    // MySQL matches any unique key: a row that carries its key as well could meet another row.
    let with_key = json!({"id": 5, "email": "ada@example.com", "name": "Ada", "age": 36});
    let error = Member::create(with_key.clone()).on_conflict(|m| m.email).update(|m| m.name).to_sql(Dialect::MySql).unwrap_err();
    assert!(matches!(error, Error::UnsupportedOperation { .. }), "{error}");
    assert!(Member::create(with_key).on_conflict(|m| m.email).update(|m| m.name).to_sql(Dialect::Postgres).is_ok());
}

/// `create(..).on_conflict(..)` live: the first inserts (with its defaults), the second
/// updates the same row, `do_nothing` leaves it; bulk upserts do the same per row, and bump
/// a version.
#[tokio::test]
async fn upserts_insert_then_update_or_leave_the_row() {
    for t in backends("cc_upserts").await {
        setup!(t.db, Member, Slug);
        let db = &t.db;
        let d = t.dialect;
        let first = Member::create(json!({"email": "ada@example.com", "name": "Ada", "age": 36}))
            .on_conflict(|m| m.email)
            .update(|m| (m.name, m.age))
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!((first.name.as_str(), first.status.as_str()), ("Ada", "new"), "{d:?}");
        let second = Member::create(json!({"email": "ada@example.com", "name": "Ada L.", "age": 37}))
            .on_conflict(|m| m.email)
            .update(|m| (m.name, m.age))
            .on(db)
            .await
            .unwrap();
        assert_eq!((second.id, second.name.as_str(), second.age), (first.id, "Ada L.", 37), "{d:?}");
        let skipped = Member::create(json!({"email": "ada@example.com", "name": "Other", "age": 1}))
            .on_conflict(|m| m.email)
            .do_nothing()
            .on(db)
            .await
            .unwrap();
        assert_eq!(skipped, None, "{d:?}");
        let added =
            Member::create(json!({"email": "bob@example.com", "name": "Bob", "age": 5})).on_conflict(|m| m.email).do_nothing().on(db).await;
        assert_eq!(added.unwrap().map(|m| m.name), Some("Bob".to_string()), "{d:?}");
        let stored = Member::filter(|m| m.email.eq("ada@example.com")).one().on(db).await.unwrap();
        assert_eq!((stored.name.as_str(), stored.age), ("Ada L.", 37), "{d:?}");
        assert_eq!(Member::query().count().on(db).await.unwrap(), 2);
        // Another unique violation than the target's is still an error.
        let clash = Member::create(json!({"id": stored.id, "email": "new@example.com", "name": "N", "age": 1}))
            .on_conflict(|m| m.email)
            .do_nothing()
            .on(db)
            .await;
        match d {
            Dialect::MySql => assert!(matches!(clash, Err(Error::UnsupportedOperation { .. })), "{clash:?}"),
            _ => assert!(matches!(clash, Err(Error::Integrity { .. })), "{d:?}: {clash:?}"),
        }

        let rows = |hits: i64| (0..3).map(|i| json!({"org": 1, "slug": format!("s{i}"), "hits": hits + i})).collect::<Vec<_>>();
        Slug::create_bulk(rows(0)).on_conflict(|s| (s.org, s.slug)).update(|s| s.hits).on(db).await.unwrap();
        Slug::create_bulk(rows(10)).batch_size(2).on_conflict(|s| (s.org, s.slug)).update(|s| s.hits).on(db).await.unwrap();
        Slug::create_bulk(rows(50)).on_conflict(|s| (s.org, s.slug)).do_nothing().on(db).await.unwrap();
        let slugs = Slug::query().order_by(|s| s.slug.asc()).all().on(db).await.unwrap();
        let seen: Vec<(i64, i64)> = slugs.iter().map(|s| (s.hits, s.version)).collect();
        assert_eq!(seen, [(10, 1), (11, 1), (12, 1)], "{d:?}");
    }
}

/// `get_or_create` from 8 concurrent callers creates one row, and tells exactly one caller it
/// did; `update_or_create` creates, then updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_or_create_is_race_safe_and_update_or_create_updates() {
    for t in backends("cc_get_or_create").await {
        setup!(t.db, Member);
        let db = leak(Database::new(t.url.clone()).max_connections(8));
        db.register::<Member>();
        let d = t.dialect;
        let callers: Vec<_> = (0..8)
            .map(|i| {
                tokio::spawn(async move {
                    Member::get_or_create(json!({"email": "race@example.com"}), json!({"name": format!("caller {i}"), "age": i}))
                        .on(db)
                        .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for caller in callers {
            outcomes.push(caller.await.unwrap().unwrap_or_else(|e| panic!("{d:?}: {e}")));
        }
        assert_eq!(outcomes.iter().filter(|(_, created)| *created).count(), 1, "{d:?}");
        assert!(outcomes.windows(2).all(|w| w[0].0 == w[1].0), "{d:?}: every caller gets the one row");
        assert_eq!(Member::query().count().on(db).await.unwrap(), 1);

        // 8 concurrent update_or_create of one existing key: all land (MySQL's deadlocks between
        // them are run again), none creates.
        let callers: Vec<_> = (0..8)
            .map(|i| {
                tokio::spawn(async move {
                    Member::update_or_create(json!({"email": "race@example.com"}), json!({"name": format!("updater {i}"), "age": i}))
                        .on(db)
                        .await
                })
            })
            .collect();
        for caller in callers {
            let (_, created) = caller.await.unwrap().unwrap_or_else(|e| panic!("{d:?}: {e}"));
            assert!(!created, "{d:?}");
        }
        assert_eq!(Member::query().count().on(db).await.unwrap(), 1);
        let refused = Member::update_or_create(json!({"email": "race@example.com"}), json!({"id": 99})).on(db).await.unwrap_err();
        assert!(refused.to_string().contains("is a key"), "{refused}");

        let (made, created) =
            Member::update_or_create(json!({"email": "u@example.com"}), json!({"name": "U", "age": 1})).on(db).await.unwrap();
        assert!(created && made.age == 1, "{d:?}");
        let (updated, created) =
            Member::update_or_create(json!({"email": "u@example.com"}), json!({"name": "U2", "age": 2})).on(db).await.unwrap();
        assert_eq!((updated.id, updated.name.as_str(), updated.age, created), (made.id, "U2", 2, false), "{d:?}");
        let refused = Member::get_or_create(json!({"name": "U2"}), json!({"age": 3})).on(db).await.unwrap_err();
        assert!(refused.to_string().contains("unique key"), "{refused}");
        db.disconnect().await.unwrap();
    }
}

// ----- Expression updates of an instance, and the database's clock -----

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cc_visits")]
pub struct Visit {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub hits: i64,
    pub seen_at: Option<chrono::DateTime<chrono::Utc>>,
    pub naive_at: Option<chrono::NaiveDateTime>,
}

/// `now()` and an instance's `set` in five dialects.
#[test]
fn instance_expression_updates_and_now_in_five_dialects() {
    let visit = || Visit { id: 3, hits: 1, seen_at: None, naive_at: None };
    let doc = || Doc { id: 7, title: "t".into(), hits: 1, version: 2 };
    insta::assert_snapshot!(per_dialect(|d| [
        format!(
            "instance: {}",
            show(
                visit()
                    .set(|v| v.hits.to(v.hits.plus(1)))
                    .set(|v| v.seen_at.to(duo_orm::now()))
                    .set(|v| v.naive_at.to(duo_orm::now()))
                    .to_sql(d)
            )
        ),
        format!("versioned: {}", show(doc().set(|x| x.hits.to(x.hits.plus(1))).to_sql(d))),
    ]
    .join("\n")));
}

/// An instance's `set` writes in the database, refreshes the instance with what was stored,
/// and loses no concurrent increment; `now()` stores the database's UTC time in the form a
/// bound value has, so it compares with one; a versioned instance is matched and bumped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_set_refreshes_the_row_and_now_is_the_database_clock() {
    for t in backends("cc_instance_set").await {
        setup!(t.db, Visit, Doc);
        let db = leak(Database::new(t.url.clone()).max_connections(8));
        db.register::<Visit>().register::<Doc>();
        let d = t.dialect;
        let mut visit = Visit::create(json!({"hits": 0})).on(db).await.unwrap();
        visit
            .set(|v| v.hits.to(v.hits.plus(1)))
            .set(|v| v.seen_at.to(duo_orm::now()))
            .set(|v| v.naive_at.to(duo_orm::now()))
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(visit.hits, 1, "{d:?}");
        assert_eq!(Visit::get(visit.id).on(db).await.unwrap().as_ref(), Some(&visit), "{d:?}: the instance is what was stored");
        // The database's clock is UTC: within a generous margin of this machine's.
        let (seen, naive) = (visit.seen_at.unwrap(), visit.naive_at.unwrap());
        let skew = |at: chrono::DateTime<chrono::Utc>| (chrono::Utc::now() - at).num_minutes().abs();
        assert!(skew(seen) < 10 && skew(naive.and_utc()) < 10, "{d:?}: {seen} / {naive}");
        // Stored as a bound value is: comparisons with one work (SQLite compares text).
        let hour = chrono::Duration::hours(1);
        assert_eq!(Visit::filter(|v| v.seen_at.gt(seen - hour) & v.seen_at.lt(seen + hour)).count().on(db).await.unwrap(), 1, "{d:?}");
        let naive_hour = (naive - hour, naive + hour);
        assert_eq!(Visit::filter(|v| v.naive_at.gt(naive_hour.0) & v.naive_at.lt(naive_hour.1)).count().on(db).await.unwrap(), 1, "{d:?}");

        let id = visit.id;
        eight_writers_25_times(move || async move {
            let mut copy = Visit::get(id).on(db).await.unwrap().unwrap();
            copy.set(|v| v.hits.to(v.hits.plus(1))).on(db).await.unwrap();
        })
        .await;
        assert_eq!(Visit::get(id).on(db).await.unwrap().unwrap().hits, 201, "{d:?}");

        let mut doc = Doc::create(json!({"title": "d", "hits": 0})).on(db).await.unwrap();
        let mut stale = doc.clone();
        doc.set(|x| x.hits.to(x.hits.plus(5))).on(db).await.unwrap();
        assert_eq!((doc.hits, doc.version), (5, 1), "{d:?}");
        let refused = stale.set(|x| x.hits.to(x.hits.plus(5))).on(db).await.unwrap_err();
        assert!(matches!(refused, Error::StaleObject { .. }), "{d:?}: {refused}");
        doc.clone().delete().on(db).await.unwrap();
        let gone = doc.set(|x| x.hits.to(x.hits.plus(1))).on(db).await.unwrap_err();
        assert!(matches!(gone, Error::NotFound { .. }), "{d:?}: {gone}");
        db.disconnect().await.unwrap();
    }
}

/// A block with its own error type retries as one returning `duo_orm::Error` does: what it
/// lost to is seen on its transaction, not read from its error.
#[tokio::test]
async fn a_block_with_its_own_error_type_is_retried_too() {
    #[derive(Debug)]
    enum AppError {
        Db(#[allow(dead_code)] Error),
    }
    impl From<Error> for AppError {
        fn from(error: Error) -> Self {
            AppError::Db(error)
        }
    }
    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    mock.exec_error(deadlock()).executed(1);
    let runs = AtomicU32::new(0);
    let bump = || {
        runs.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, AppError>(Account::filter(|a| a.id.eq(1)).set(|a| a.balance.to(a.balance.plus(1))).on(&db).await?) }
    };
    let fast = Retry::attempts(3).backoff(Default::default(), Default::default());
    let updated = db.transaction_with_as(bump).retry(fast).await.unwrap();
    assert_eq!((updated, runs.load(Ordering::SeqCst)), (1, 2));
}
