//! What the interleaved examples share: the raw sqlx pool of the backend under test, the
//! benchmark database's URL, and medians.

use std::path::Path;
use std::time::Duration;

/// The hand-written side's pool.
#[derive(Clone)]
pub enum Pools {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// Opens `backend` (`sqlite`, `postgres`, `mariadb`): a SQLite file at `sqlite_path`, or the
/// `duo_orm_bench` database of the server `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL` names.
/// Returns the raw pool and the URL for duo-orm.
pub async fn open(backend: &str, sqlite_path: &Path) -> (Pools, String) {
    match backend {
        "sqlite" => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(sqlite_path).create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            (Pools::Sqlite(pool), format!("sqlite://{}", sqlite_path.display()))
        }
        "postgres" => {
            let url = bench_url("DUO_TEST_POSTGRES_URL");
            (Pools::Postgres(sqlx::PgPool::connect(&url).await.unwrap()), url)
        }
        "mariadb" => {
            let url = bench_url("DUO_TEST_MYSQL_URL");
            (Pools::MySql(sqlx::MySqlPool::connect(&url).await.unwrap()), url)
        }
        other => panic!("unknown backend {other}"),
    }
}

/// The `duo_orm_bench` database on the server of the URL in `var`.
pub fn bench_url(var: &str) -> String {
    let url = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set"));
    let base = url.split('?').next().unwrap_or(&url).to_string();
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    format!("{}/duo_orm_bench", &base[..path])
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median of `sides.0[i] / sides.1[i]`: each round's ratio between two sides that ran back
/// to back, so a machine that slows down for a while slows both sides of the rounds it spans
/// (the ratio of the two medians mixes rounds run under different conditions).
pub fn median_ratio(sides: (&[Duration], &[Duration])) -> f64 {
    let mut ratios: Vec<f64> = sides.0.iter().zip(sides.1).map(|(a, b)| a.as_secs_f64() / b.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Removes a SQLite database file and its companions.
pub fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// What an interleaved example runs on: the application runtime, the raw pool and duo-orm's
/// database on the benchmark database of `backend`, emptied of `M`'s tables and created again.
pub struct Example {
    pub app: tokio::runtime::Runtime,
    pub raw: Pools,
    pub db: &'static duo_orm::Database,
    /// The database's URL (for more pools of the raw side).
    pub url: String,
    sqlite_path: std::path::PathBuf,
}

impl Example {
    /// Opens `backend` for the example `name` and lets `register` add its models, whose tables
    /// are then dropped and created.
    pub fn open(name: &str, backend: &str, register: impl FnOnce(&duo_orm::Database)) -> Self {
        let app = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let sqlite_path = std::env::temp_dir().join(format!("duo_orm_{name}_{}.db", std::process::id()));
        let (raw, url) = app.block_on(open(backend, &sqlite_path));
        let db: &'static duo_orm::Database = Box::leak(Box::new(duo_orm::Database::new(url.clone())));
        register(db);
        app.block_on(async {
            db.drop_all().await.unwrap();
            db.create_all().await.unwrap();
        });
        Example { app, raw, db, url, sqlite_path }
    }

    /// Times one load of `work` in a task on the application runtime, as a request handler
    /// would run it.
    pub fn time<F, O>(&self, work: F) -> Duration
    where
        F: std::future::Future<Output = O> + Send + 'static,
        O: Send + 'static,
    {
        self.app.block_on(async move {
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                drop(std::hint::black_box(work.await));
                started.elapsed()
            })
            .await
            .unwrap()
        })
    }

    /// Drops the example's tables and removes its SQLite file.
    pub fn finish(self) {
        self.app.block_on(async { self.db.drop_all().await.ok() });
        remove_sqlite(&self.sqlite_path);
    }
}

/// Runs each of `variants` variants (`run(i)`) once per round, `rounds` rounds after three
/// warm-up ones, rotating their order so no variant always follows another: each variant's
/// samples, in round order.
pub fn rotated(rounds: usize, variants: usize, mut run: impl FnMut(usize) -> Duration) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::with_capacity(rounds); variants];
    for round in 0..rounds + 3 {
        for step in 0..variants {
            let variant = (round + step) % variants;
            let time = run(variant);
            if round >= 3 {
                samples[variant].push(time);
            }
        }
    }
    samples
}

/// Runs `run(false)` (the raw side) and `run(true)` (duo-orm) `rounds` times after three
/// warm-up rounds, alternating which goes first so neither always follows the other, and
/// returns the two medians (raw, duo-orm).
pub fn interleaved(rounds: usize, mut run: impl FnMut(bool) -> Duration) -> (Duration, Duration) {
    let (mut raw_samples, mut orm_samples) = (Vec::new(), Vec::new());
    for round in 0..rounds + 3 {
        let (r, o) = if round % 2 == 0 {
            (run(false), run(true))
        } else {
            let o = run(true);
            (run(false), o)
        };
        if round >= 3 {
            raw_samples.push(r);
            orm_samples.push(o);
        }
    }
    (median(raw_samples), median(orm_samples))
}

/// An example's options after its backend and rounds: `--only raw|duo` (one side only, for an
/// instruction count) and the flags it takes.
pub struct Options {
    pub only: Option<String>,
    flags: Vec<String>,
}

impl Options {
    /// Reads `args`; an argument that is neither `--only` nor one of `flags` ends the example.
    pub fn parse(mut args: impl Iterator<Item = String>, flags: &[&str]) -> Options {
        let mut options = Options { only: None, flags: Vec::new() };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--only" => options.only = Some(args.next().expect("--only raw|duo")),
                flag if flags.contains(&flag) => options.flags.push(arg),
                other => panic!("unknown argument {other}: [--only raw|duo] {}", flags.join(" ")),
            }
        }
        options
    }

    /// Whether `flag` was given.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}
