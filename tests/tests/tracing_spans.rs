//! Every statement runs inside a `duo_orm.query` span with its SQL and duration; values
//! only when asked; never a password.

use std::io::Write;
use std::sync::{Arc, Mutex};

use duo_orm::prelude::*;
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Model, Debug)]
#[duo(table = "traced_items")]
struct Item {
    #[duo(primary_key)]
    id: i64,
    secret_value: String,
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured(log_values: bool, password_url: &str) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(FmtSpan::CLOSE)
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let file = std::env::temp_dir().join(format!("duo_traced_{log_values}_{}.db", std::process::id()));
            let _ = std::fs::remove_file(&file);
            let db = Database::new(format!("sqlite://{}", file.display())).log_values(log_values);
            db.register::<Item>();
            db.create_all().await.unwrap();
            Item::create(json!({"secret_value": "VALUE-42"})).on(&db).await.unwrap();
            Item::filter(|i| i.id.eq(1)).first().on(&db).await.unwrap();
            let failing = Database::new(password_url.to_string()).acquire_timeout(std::time::Duration::from_secs(2));
            let _ = failing.connect().await;
        });
    });
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
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
