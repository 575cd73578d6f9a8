//! Connections the server closes (`pg_terminate_backend`, MariaDB's `KILL`): a statement
//! outside a transaction never fails because its pooled connection (or one kept since the
//! last statement) was already dead; a transaction that loses its connection says so and is
//! never retried. And the connections duo-orm keeps between statements: only in a known
//! state, never starving a caller waiting on the pool.

use std::time::Duration;

use duo_orm::prelude::*;
use duo_orm::{Dialect, sea_query};

use crate::models::User;
use crate::setup;
use crate::support::{TestDb, backends};

/// A server database for test `name` whose connections can be told apart from every other
/// test's: PostgreSQL tags them with an application name; MariaDB's test database is its own.
async fn server_backends(name: &str) -> Vec<(TestDb, Database)> {
    let mut out = Vec::new();
    for mut t in backends(name).await {
        match t.dialect {
            Dialect::Postgres => {
                t.url = format!("{}&application_name=duo_{name}", t.url);
                t.db = Database::new(t.url.clone()).max_connections(4);
            }
            Dialect::MySql => t.db = Database::new(t.url.clone()).max_connections(4),
            _ => continue,
        }
        // One connection of its own, to kill the others with.
        let admin = Database::new(t.url.replace(&format!("application_name=duo_{name}"), "application_name=duo_admin")).max_connections(1);
        out.push((t, admin));
    }
    out
}

/// Closes every connection of `t`'s pool from the server side; returns how many.
async fn kill_all(t: &TestDb, admin: &Database, name: &str) -> u64 {
    use sea_query::{Alias, Expr, Query};
    let query = match t.dialect {
        Dialect::Postgres => Query::select()
            .expr(Expr::cust("pid::bigint"))
            .from(Alias::new("pg_stat_activity"))
            .and_where(Expr::cust(format!("application_name = 'duo_{name}' AND pid <> pg_backend_pid()")))
            .to_owned(),
        _ => Query::select()
            .expr(Expr::cust("id"))
            .from((Alias::new("information_schema"), Alias::new("processlist")))
            .and_where(Expr::cust("db = DATABASE() AND id <> CONNECTION_ID()"))
            .to_owned(),
    };
    let ids = ids(admin, query).await;
    for id in &ids {
        let kill = match t.dialect {
            Dialect::Postgres => format!("SELECT pg_terminate_backend({id})"),
            _ => format!("KILL {id}"),
        };
        admin.execute_raw(kill).await.unwrap();
    }
    // Give the server a moment to close the sockets.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    ids.len() as u64
}

/// The first column of `query`'s rows.
async fn ids(db: &Database, query: sea_query::SelectStatement) -> Vec<i64> {
    #[derive(Model, Debug)]
    #[duo(table = "ids")]
    struct Id {
        #[duo(primary_key)]
        id: i64,
    }
    Id::from_statement(query).all().on(db).await.unwrap().into_iter().map(|row| row.id).collect()
}

/// Opens `n` connections in the pool (by running `n` statements at once).
async fn warm(t: &TestDb, n: usize) {
    let sleep = if t.dialect == Dialect::Postgres { "SELECT pg_sleep(0.05)" } else { "SELECT SLEEP(0.05)" };
    let statements = (0..n).map(|_| t.db.execute_raw(sleep).into_future());
    for result in futures_util::future::join_all(statements).await {
        result.unwrap();
    }
}

#[tokio::test]
async fn statements_outside_transactions_survive_killed_connections() {
    let name = "conn_killed";
    for (t, admin) in server_backends(name).await {
        let d = t.dialect;
        setup!(t.db, User);
        for round in 0..3 {
            warm(&t, 4).await;
            let killed = kill_all(&t, &admin, name).await;
            assert!(killed >= 2, "{d:?}: the pool had connections to kill ({killed})");
            for i in 0..20 {
                let email = format!("u{round}_{i}@x.io");
                match i % 5 {
                    0 => {
                        User::create(json!({"name": "n", "age": i, "email": email})).on(&t.db).await.unwrap();
                    }
                    1 => assert!(User::query().count().on(&t.db).await.unwrap() > 0, "{d:?}"),
                    2 => {
                        User::filter(|u| u.age.ge(0)).order_by(|u| u.id.asc()).all().on(&t.db).await.unwrap();
                    }
                    3 => {
                        let mut first = User::query().first().on(&t.db).await.unwrap().unwrap();
                        first.age += 1;
                        first.save().on(&t.db).await.unwrap();
                    }
                    _ => assert!(User::query().exists().on(&t.db).await.unwrap(), "{d:?}"),
                }
            }
            // Transactions begin on a pooled connection too.
            kill_all(&t, &admin, name).await;
            t.db.transaction(async { User::query().count().on(&t.db).await }).await.unwrap();
            // A large statement pings its connection first instead of keeping a copy.
            warm(&t, 4).await;
            kill_all(&t, &admin, name).await;
            let ids: Vec<i64> = (0..2000).collect();
            User::filter(|u| u.id.is_in(ids)).count().on(&t.db).await.unwrap();
            kill_all(&t, &admin, name).await;
            let rows = (0..40).map(|i| json!({"name": "bulk", "age": i, "email": format!("b{round}_{i}@x.io")}));
            assert_eq!(User::create_bulk(rows).atomic(false).on(&t.db).await.unwrap(), 40, "{d:?}");
        }
        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 12 + 3 * 40, "{d:?}: every create landed once");
    }
}

#[tokio::test]
async fn a_transaction_that_loses_its_connection_says_so_and_is_not_retried() {
    let name = "conn_tx_lost";
    for (t, admin) in server_backends(name).await {
        let d = t.dialect;
        setup!(t.db, User);
        let attempts = std::sync::atomic::AtomicUsize::new(0);
        let result: Result<()> =
            t.db.transaction(async {
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                User::create(json!({"name": "lost", "age": 1, "email": "lost@x.io"})).on(&t.db).await?;
                kill_all(&t, &admin, name).await;
                User::create(json!({"name": "after", "age": 2, "email": "after@x.io"})).on(&t.db).await?;
                Ok(())
            })
            .await;
        match result {
            Err(Error::ConnectionLost { during, .. }) => assert!(during.contains("transaction"), "{during}"),
            other => panic!("{d:?}: expected ConnectionLost, got {other:?}"),
        }
        assert_eq!(attempts.into_inner(), 1, "never retried");
        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 0, "{d:?}: rolled back by the server");
        User::create(json!({"name": "next", "age": 3, "email": "next@x.io"})).on(&t.db).await.unwrap();
    }
}

#[tokio::test]
async fn a_stream_whose_connections_are_killed_never_repeats_a_row() {
    let name = "conn_stream";
    for (t, admin) in server_backends(name).await {
        let d = t.dialect;
        setup!(t.db, User);
        User::create_bulk((0..100).map(|i| json!({"name": format!("u{i}"), "age": i, "email": format!("u{i}@x.io")})))
            .on(&t.db)
            .await
            .unwrap();
        let mut stream = User::query().iterate().batch_size(10).on(&t.db).stream();
        let mut seen = Vec::new();
        let mut failed = None;
        while let Some(row) = stream.next().await {
            match row {
                Ok(user) => seen.push(user.id),
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
            if seen.len() == 15 || seen.len() == 55 {
                kill_all(&t, &admin, name).await;
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique, seen, "{d:?}: no row twice");
        match failed {
            // The next batch's statement went again on a fresh connection.
            None => assert_eq!(seen.len(), 100, "{d:?}"),
            Some(error) => assert!(matches!(error, Error::ConnectionLost { .. }), "{d:?}: a clear error: {error:?}"),
        }
        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 100, "{d:?}: the next operation succeeds");
    }
}

/// duo-orm keeps a connection between statements only in a known state: a transaction
/// cancelled while it holds a row lock gives its connection back to the pool, which sends the
/// queued rollback at once, instead of keeping it (and the lock) until its next statement.
#[tokio::test]
async fn a_cancelled_transaction_releases_its_locks_at_once() {
    let name = "conn_cancelled_tx";
    for (t, other) in server_backends(name).await {
        let d = t.dialect;
        setup!(t.db, User);
        other.register::<User>();
        let id = User::create(json!({"name": "held", "age": 1, "email": "held@x.io"})).on(&t.db).await.unwrap().id;
        let holding = t.db.transaction(async {
            User::filter(|u| u.id.eq(id)).for_update().all().on(&t.db).await?;
            std::future::pending::<Result<()>>().await
        });
        assert!(tokio::time::timeout(Duration::from_millis(300), holding).await.is_err(), "cancelled while holding the lock");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let locked = other.transaction(async { User::filter(|u| u.id.eq(id)).for_update().nowait().all().on(&other).await }).await;
        assert_eq!(locked.as_ref().map(Vec::len).ok(), Some(1), "{d:?}: the row is free again: {locked:?}");
        // The cancelled transaction's own pool goes on as before.
        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 1, "{d:?}");
    }
}

/// Connections kept between statements never leave a caller waiting on the pool: 8 tasks
/// share a pool of 2 connections, running lookups, counts and transactions at once, with an
/// acquire timeout shorter than a connection may stay kept (a connection kept while someone
/// waited would make that caller time out); then the pool closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_pool_serves_every_caller() {
    for t in backends("conn_small_pool").await {
        let d = t.dialect;
        setup!(t.db, User);
        User::create_bulk((0..10).map(|i| json!({"name": format!("u{i}"), "age": i, "email": format!("u{i}@x.io")})))
            .on(&t.db)
            .await
            .unwrap();
        let db: &'static Database =
            Box::leak(Box::new(Database::new(t.url.clone()).max_connections(2).acquire_timeout(Duration::from_millis(1500))));
        db.register::<User>();
        let tasks = (0..8i64).map(|task| {
            tokio::spawn(async move {
                for i in 0..40i64 {
                    match (task + i) % 3 {
                        0 => assert!(User::get(1 + i % 10).on(db).await?.is_some()),
                        1 => assert_eq!(User::query().count().on(db).await?, 10),
                        _ => {
                            db.transaction(async {
                                User::get(1).on(db).await?;
                                User::query().count().on(db).await
                            })
                            .await?;
                        }
                    }
                }
                Ok::<_, Error>(())
            })
        });
        for done in futures_util::future::join_all(tasks).await {
            done.unwrap().unwrap_or_else(|error| panic!("{d:?}: {error}"));
        }
        tokio::time::timeout(Duration::from_secs(10), db.disconnect()).await.expect("the pool closes").unwrap();
    }
}
