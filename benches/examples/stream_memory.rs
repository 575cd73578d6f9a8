//! Peak memory of reading a whole table: `iterate()` (batches of 1 000) against `all()`.
//!
//! `cargo run --release -p duo-orm-benches --example stream_memory`
//!
//! Seeds a SQLite file with 100 000 rows, then reads 10 000, 50 000 and 100 000 of them in
//! child processes (one per measurement, so each peak is its own) and prints the peak resident
//! set (`VmHWM`) of each. Linux only (reads `/proc/self/status`).

use std::process::Command;

use duo_orm::prelude::*;

#[derive(Model, Debug)]
#[duo(table = "events")]
struct Event {
    #[duo(primary_key)]
    id: i64,
    kind: String,
    payload: String,
}

const TOTAL: usize = 100_000;

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of kB")
}

fn database(path: &str) -> Database {
    let db = Database::new(format!("sqlite://{path}"));
    db.register::<Event>();
    db
}

fn seed(path: &str) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let db = database(path);
    db.create_all().wait()?;
    // In slices, so the seeding itself stays small.
    for start in (0..TOTAL).step_by(10_000) {
        let rows = (start..start + 10_000).map(|i| Event { id: 0, kind: format!("kind {}", i % 17), payload: "x".repeat(200) });
        Event::create_bulk(rows).on(&db).wait()?;
    }
    Ok(())
}

/// Child process: read `limit` rows one way and print `rows peak_kib`.
fn measure(path: &str, how: &str, limit: u64) -> Result<()> {
    let db = database(path);
    let query = Event::query().limit(limit);
    let mut rows = 0u64;
    let mut bytes = 0usize;
    match how {
        "iterate" => {
            for event in query.iterate().batch_size(1_000).on(&db).iter() {
                let event = event?;
                rows += 1;
                bytes += event.payload.len() + event.kind.len();
            }
        }
        _ => {
            for event in query.all().on(&db).wait()? {
                rows += 1;
                bytes += event.payload.len() + event.kind.len();
            }
        }
    }
    assert!(bytes > 0);
    println!("{rows} {}", peak_kib());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, path, how, limit] = args.as_slice() {
        return measure(path, how, limit.parse().expect("a row count"));
    }
    let path = std::env::temp_dir().join(format!("duo_orm_stream_memory_{}.db", std::process::id()));
    let path = path.to_str().expect("a UTF-8 temp path").to_string();
    seed(&path)?;
    println!("| rows read | `iterate()` peak RSS | `all()` peak RSS |");
    println!("|---:|---:|---:|");
    for limit in [10_000u64, 50_000, 100_000] {
        let mut cells = Vec::new();
        for how in ["iterate", "all"] {
            let out = Command::new(std::env::current_exe().expect("own path")).args([&path, how, &limit.to_string()]).output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let mut parts = text.split_whitespace();
            let rows: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            assert_eq!(rows, limit, "{how} read {rows} rows: {}", String::from_utf8_lossy(&out.stderr));
            let kib: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            cells.push(format!("{:.1} MiB", kib as f64 / 1024.0));
        }
        println!("| {limit} | {} | {} |", cells[0], cells[1]);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    Ok(())
}
