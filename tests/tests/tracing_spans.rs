//! Every statement runs inside a `duo_orm.query` span with its SQL and duration; values
//! only when asked; never a password.

use duo_orm::prelude::*;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::support::LogBuffer as Buffer;

#[derive(Model, Debug)]
#[duo(table = "traced_items")]
struct Item {
    #[duo(primary_key)]
    id: i64,
    secret_value: String,
}

/// The tracing output of `work`, run on a fresh runtime.
fn capture(work: impl std::future::Future<Output = ()>) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(FmtSpan::CLOSE)
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    crate::support::keep_tracing_on();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(work);
    });
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

fn temp_db(name: &str) -> Database {
    let file = std::env::temp_dir().join(format!("duo_traced_{name}_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    // One connection, so `settle` runs on the connection that ran everything else.
    Database::new(format!("sqlite://{}", file.display())).max_connections(1)
}

fn captured(log_values: bool, password_url: &str) -> String {
    capture(async {
        let file = std::env::temp_dir().join(format!("duo_traced_{log_values}_{}.db", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let db = Database::new(format!("sqlite://{}", file.display())).log_values(log_values);
        db.register::<Item>();
        db.create_all().await.unwrap();
        Item::create(json!({"secret_value": "VALUE-42"})).on(&db).await.unwrap();
        Item::filter(|i| i.id.eq(1)).first().on(&db).await.unwrap();
        let failing = Database::new(password_url.to_string()).acquire_timeout(std::time::Duration::from_secs(2));
        let _ = failing.connect().await;
    })
}

/// Runs one more statement. sqlx's SQLite worker thread holds the span of the last command
/// it ran until it receives the next one, so without this the last span may close (and be
/// logged) only after the capture has ended.
async fn settle(db: &Database) {
    db.execute_raw("SELECT 1").await.unwrap();
}

/// The statements (`db.statement` of each closed span) in captured output, in order.
fn statements(out: &str) -> Vec<String> {
    out.lines()
        .filter(|line| line.contains("close"))
        .filter_map(|line| line.split("db.statement=").nth(1))
        .map(|rest| rest.split(" duration_ms=").next().unwrap_or(rest).trim_matches('"').to_string())
        .collect()
}

#[test]
fn reads_outside_a_transaction_write_nothing_and_transactions_are_traced() {
    let reads = capture(async {
        let db = temp_db("reads");
        db.register::<Item>();
        db.create_all().await.unwrap();
        Item::create(json!({"secret_value": "x"})).on(&db).await.unwrap();
        let _ = tracing::info_span!("reads_only").entered();
        Item::query().all().on(&db).await.unwrap();
        Item::get(1).on(&db).await.unwrap();
        Item::query().count().on(&db).await.unwrap();
        settle(&db).await;
    });
    let all = statements(&reads);
    let after_insert: Vec<_> = all.iter().skip_while(|sql| !sql.starts_with("INSERT")).skip(1).collect();
    assert!(after_insert.len() >= 3, "{all:?}\nraw:\n{reads}");
    assert!(after_insert.iter().all(|sql| sql.starts_with("SELECT")), "reads issue SELECTs only: {all:?}");
    assert!(!all.iter().any(|sql| sql.starts_with("BEGIN") || sql.starts_with("COMMIT")), "{all:?}");

    let unit_of_work = capture(async {
        let db = temp_db("unit_of_work");
        db.register::<Item>();
        db.create_all().await.unwrap();
        db.transaction(async {
            Item::create(json!({"secret_value": "y"})).on(&db).await?;
            db.transaction(async { Err::<(), _>(Error::validation("block", "inner")) }).await.unwrap_err();
            Ok(())
        })
        .await
        .unwrap();
        settle(&db).await;
    });
    let all = statements(&unit_of_work);
    let control: Vec<_> =
        all.iter().filter(|sql| ["BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT"].iter().any(|c| sql.starts_with(c))).collect();
    assert_eq!(control, ["BEGIN IMMEDIATE", "SAVEPOINT", "ROLLBACK TO SAVEPOINT", "COMMIT"], "{unit_of_work}");
}

#[test]
fn statements_are_traced_without_values_or_passwords() {
    let out = captured(false, "postgres://u:pa55word@127.0.0.1:1/x");
    assert!(out.contains("duo_orm.query"), "{out}");
    assert!(out.contains(r#"INSERT INTO "traced_items""#), "{out}");
    assert!(out.contains(r#"SELECT "traced_items"."id""#), "{out}");
    assert!(out.contains("duration_ms"), "{out}");
    assert!(out.contains("db.system=\"sqlite\"") || out.contains("db.system=sqlite"), "{out}");
    assert!(!out.contains("VALUE-42"), "values are logged only when asked: {out}");
    assert!(!out.contains("pa55word"), "{out}");
}

#[test]
fn values_are_traced_when_asked() {
    let out = captured(true, "postgres://u:pa55word@127.0.0.1:1/x");
    assert!(out.contains("VALUE-42"), "{out}");
    assert!(!out.contains("pa55word"), "{out}");
}

/// Each run of a retried block is a `duo_orm.transaction` span with its attempt number, its
/// statements inside it.
#[test]
fn each_attempt_of_a_retried_transaction_is_a_span() {
    let log = capture(async {
        let mock = duo_orm::mock::MockDatabase::new(Dialect::Postgres);
        let db = mock.database();
        db.register::<Item>();
        let deadlock = Error::Conflict { kind: duo_orm::ConflictKind::Deadlock, message: "scripted".into(), source: None };
        mock.exec_error(deadlock).executed(1);
        let update = || Item::filter(|i| i.id.eq(1)).update_bulk(json!({"secret_value": "x"})).on(&db);
        let fast = duo_orm::Retry::attempts(3).backoff(std::time::Duration::ZERO, std::time::Duration::ZERO);
        db.transaction_with(update).isolation(duo_orm::Isolation::Serializable).retry(fast).await.unwrap();
    });
    let attempts: Vec<&str> = log.lines().filter(|line| line.contains("duo_orm::transaction: close")).collect();
    assert_eq!(attempts.len(), 2, "{log}");
    assert!(attempts[0].contains("attempt=1") && attempts[1].contains("attempt=2"), "{attempts:?}");
    assert!(attempts.iter().all(|a| a.contains("isolation=\"SERIALIZABLE\"")), "{attempts:?}");
    let statements = |attempt: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("attempt={attempt} ")) && l.contains("duo_orm.query{") && l.contains("engine: close"))
            .count()
    };
    assert_eq!((statements("1"), statements("2")), (3, 3), "BEGIN, UPDATE, ROLLBACK / COMMIT in each: {log}");
    assert!(log.contains("running it again"), "{log}");
}
