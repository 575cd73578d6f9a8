//! Applying and reverting migrations against a database.
//!
//! Safety rules, for every dialect:
//! - Concurrent runners are serialised: a session advisory lock (PostgreSQL), `GET_LOCK`
//!   (MySQL/MariaDB), or one exclusive transaction per migration that re-reads what is
//!   applied (SQLite). Two simultaneous `up`s apply each migration once.
//! - A migration runs in a transaction where DDL is transactional (PostgreSQL, SQLite). On
//!   MySQL/MariaDB, whose DDL commits implicitly, its version row is written *dirty* first and
//!   cleaned when every statement succeeded: a failure leaves it dirty, and later runs refuse
//!   until [`Migrator::resolve`] records what was done by hand.
//! - An applied migration whose file changed (checksum) or disappeared stops the run.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sea_query::{Alias, Expr, ExprTrait, Order, Query};

use super::{Migrations, legacy_checksum};
use crate::database::{Control, Database, Held};
use crate::ddl::alter::{REBUILD_NOTE, RebuildGuard};
use crate::ddl::{CreateTable, render_create_table};
use crate::dialect::{Dialect, Statement, build_any};
use crate::error::{Error, MigrationKind, Result};
use crate::pending::Pending;
use crate::schema::{Column, ColumnType, Table};

/// Where `up` or `down` stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every migration (`up`).
    Head,
    /// Before every migration (`down`: revert all).
    Base,
    /// Up to and including this migration (`up`), or down to it, keeping it (`down`).
    Id(String),
    /// This many migrations (`down -N`).
    Steps(usize),
}

impl Target {
    /// Reads `head`, `base`, `-N`, or a migration id (or unique prefix of one).
    pub fn parse(text: &str) -> Result<Target> {
        let text = text.trim();
        Ok(match text {
            "head" => Target::Head,
            "base" => Target::Base,
            _ if text.starts_with('-') => match text[1..].parse::<usize>() {
                Ok(n) if n > 0 => Target::Steps(n),
                _ => {
                    return Err(Error::migration(
                        MigrationKind::Target,
                        format!("`{text}` is not a target; help: use `-N` (a positive count), `head`, `base` or a migration id"),
                    ));
                }
            },
            _ if text.is_empty() => {
                return Err(Error::migration(MigrationKind::Target, "an empty target; help: use `head`, `base`, `-N` or an id"));
            }
            _ => Target::Id(text.to_string()),
        })
    }
}

/// What happened to one migration during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The migration.
    pub id: String,
    /// How long its statements took.
    pub elapsed: Duration,
    /// How many statements ran.
    pub statements: usize,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Migrations applied, in order.
    pub applied: Vec<Step>,
    /// Migrations reverted, in order.
    pub reverted: Vec<Step>,
}

/// A migration recorded in the version table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its id.
    pub id: String,
    /// The checksum of its file when it was applied.
    pub checksum: String,
    /// When it was applied, by the database server's clock, to the second. Stored in a
    /// timestamp column (`timestamptz`, `datetime(6)` in UTC; ISO 8601 text on SQLite);
    /// [`iso_timestamp`](super::iso_timestamp) formats it.
    pub applied_at: SystemTime,
    /// Whether it failed part-way (MySQL/MariaDB) and awaits [`Migrator::resolve`].
    pub dirty: bool,
}

/// Where a migration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Applied, file unchanged.
    Applied {
        /// When ([`AppliedMigration::applied_at`]).
        at: SystemTime,
    },
    /// Not applied yet.
    Pending,
    /// Applied, but the file changed since.
    Changed,
    /// Failed part-way; needs [`Migrator::resolve`].
    Dirty,
    /// Applied, but no file has its id any more.
    Missing,
}

/// One line of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration.
    pub id: String,
    /// Its message (empty for a missing file).
    pub message: String,
    /// Where it stands.
    pub state: State,
}

/// A progress event, for output while a run goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A migration starts (`up`: applying, else reverting), with its statement count.
    Started {
        /// The migration.
        id: String,
        /// Whether it is being applied (else reverted).
        up: bool,
        /// How many statements it runs.
        statements: usize,
    },
    /// It finished.
    Finished(Step),
}

type ProgressFn = Box<dyn Fn(&Progress) + Send + Sync>;

/// Applies, reverts and inspects a [`Migrations`] set on a database.
pub struct Migrator<'m> {
    migrations: &'m Migrations,
    version_table: String,
    progress: Option<ProgressFn>,
    out_of_order: bool,
}

impl std::fmt::Debug for Migrator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator").field("migrations", &self.migrations.len()).field("version_table", &self.version_table).finish()
    }
}

impl<'m> Migrator<'m> {
    /// A migrator for `migrations`, recording them in `duo_migrations`.
    pub fn new(migrations: &'m Migrations) -> Self {
        Migrator { migrations, version_table: super::DEFAULT_VERSION_TABLE.to_string(), progress: None, out_of_order: false }
    }

    /// Records applied migrations in `table` instead of `duo_migrations`.
    pub fn version_table(mut self, table: impl Into<String>) -> Self {
        self.version_table = table.into();
        self
    }

    /// Applies a pending migration that sorts before an applied one (from a branch merged after
    /// the later one was applied) instead of refusing, in id order, with a warning. Refused
    /// all the same where a step of it must rebuild a table (SQLite), which, planned without
    /// the later migrations, could undo them.
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.out_of_order = allow;
        self
    }

    /// Calls `report` as each migration starts and finishes.
    pub fn on_progress(mut self, report: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(report));
        self
    }

    /// A connection for one operation, once the version table's name is known to be usable.
    async fn open(&self, db: &Database) -> Result<Held> {
        check_table_name(&self.version_table)?;
        db.dedicated().await
    }

    fn report(&self, event: Progress) {
        if let Some(report) = &self.progress {
            report(&event);
        }
    }

    /// Applies every pending migration, in order.
    pub fn up<'a>(&'a self, db: &'a Database) -> Pending<'a, Report> {
        self.up_to(db, Target::Head)
    }

    /// Applies pending migrations up to and including `target` ([`Target::Head`] or an id).
    pub fn up_to<'a>(&'a self, db: &'a Database, target: Target) -> Pending<'a, Report> {
        Pending::on_database(db, move |db| Box::pin(async move { self.run(db, target, true).await }))
    }

    /// Reverts applied migrations, last first: `Steps(n)`, down to an id (kept), or `Base`.
    pub fn down<'a>(&'a self, db: &'a Database, target: Target) -> Pending<'a, Report> {
        Pending::on_database(db, move |db| Box::pin(async move { self.run(db, target, false).await }))
    }

    /// Every migration with where it stands, then applied ones whose file is missing.
    pub fn status<'a>(&'a self, db: &'a Database) -> Pending<'a, Vec<MigrationStatus>> {
        Pending::on_database(db, move |db| {
            Box::pin(async move {
                let mut conn = self.open(db).await?;
                let applied = self.read_applied(&mut conn).await?;
                Ok(self.statuses(&applied))
            })
        })
    }

    /// The migrations recorded as applied, in id order.
    pub fn history<'a>(&'a self, db: &'a Database) -> Pending<'a, Vec<AppliedMigration>> {
        Pending::on_database(db, move |db| {
            Box::pin(async move {
                let mut conn = self.open(db).await?;
                self.read_applied(&mut conn).await
            })
        })
    }

    /// Records by hand that migration `id` is applied (`applied`) or not: for a migration
    /// left dirty by a failure on MySQL/MariaDB, after finishing or undoing its steps by hand.
    pub fn resolve<'a>(&'a self, db: &'a Database, id: &'a str, applied: bool) -> Pending<'a, ()> {
        Pending::on_database(db, move |db| {
            Box::pin(async move {
                let mut conn = self.open(db).await?;
                self.ensure_version_table(&mut conn).await?;
                let index = self.migrations.find(id)?;
                let migration = &self.migrations.iter().as_slice()[index];
                conn.execute(self.delete_row(conn.dialect(), &migration.id)).await?;
                if applied {
                    conn.execute(self.insert_row(conn.dialect(), &migration.id, &migration.checksum, false)).await?;
                }
                Ok(())
            })
        })
    }

    /// Records every migration up to and including `id` (`head`: all of them) as applied,
    /// without running their steps: for a database whose schema already exists (alembic's
    /// `stamp`), such as one created before it used migrations. Returns the ids recorded.
    pub fn stamp<'a>(&'a self, db: &'a Database, id: &'a str) -> Pending<'a, Vec<String>> {
        Pending::on_database(db, move |db| {
            Box::pin(async move {
                let last = if id == "head" { self.migrations.len().checked_sub(1) } else { Some(self.migrations.find(id)?) };
                let Some(last) = last else { return Ok(Vec::new()) };
                // Under the migration lock, so that a concurrent `up` and this never record
                // one migration twice.
                self.locked(db, async |conn: &mut Held| {
                    self.ensure_version_table(conn).await?;
                    let applied = self.read_applied(conn).await?;
                    let mut recorded = Vec::new();
                    for migration in &self.migrations.iter().as_slice()[..=last] {
                        if applied.iter().any(|a| a.id == migration.id) {
                            continue;
                        }
                        conn.execute(self.insert_row(conn.dialect(), &migration.id, &migration.checksum, false)).await?;
                        recorded.push(migration.id.clone());
                    }
                    Ok(recorded)
                })
                .await
            })
        })
    }

    fn statuses(&self, applied: &[AppliedMigration]) -> Vec<MigrationStatus> {
        let mut out: Vec<MigrationStatus> = self
            .migrations
            .iter()
            .map(|m| {
                let state = match applied.iter().find(|a| a.id == m.id) {
                    None => State::Pending,
                    Some(a) if a.dirty => State::Dirty,
                    Some(a) if !m.checksum_matches(&a.checksum) => State::Changed,
                    Some(a) => State::Applied { at: a.applied_at },
                };
                MigrationStatus { id: m.id.clone(), message: m.message.clone(), state }
            })
            .collect();
        for a in applied.iter().filter(|a| self.migrations.iter().all(|m| m.id != a.id)) {
            out.push(MigrationStatus { id: a.id.clone(), message: String::new(), state: State::Missing });
        }
        out
    }

    /// Refuses to go on when an applied migration is dirty, changed or missing, or when a
    /// pending one sorts before an applied one (a merged branch): its steps were planned
    /// against a schema without the later migrations, so applying it now could undo them.
    fn verify(&self, applied: &[AppliedMigration]) -> Result<()> {
        if let Some(last) = applied.iter().filter(|a| self.migrations.iter().any(|m| m.id == a.id)).map(|a| &a.id).max()
            && let Some(early) = self.migrations.iter().find(|m| m.id < *last && applied.iter().all(|a| a.id != m.id))
        {
            if self.out_of_order {
                tracing::warn!(migration = %early.id, after = %last, "applying a migration out of order");
            } else {
                return Err(Error::migration(
                    MigrationKind::History,
                    format!(
                        "migration {} is pending but sorts before {last}, which is applied (a merged branch?); \
                     help: recreate it after the applied ones (delete the file, then `duo-orm migrate create`), \
                     or apply it anyway with `--allow-out-of-order` if it does not touch what the later ones changed",
                        early.id
                    ),
                ));
            }
        }
        for status in self.statuses(applied) {
            let id = &status.id;
            match status.state {
                State::Dirty => {
                    return Err(Error::migration(
                        MigrationKind::History,
                        format!(
                            "migration {id} failed part-way (MySQL/MariaDB cannot roll back DDL) and is recorded as dirty; \
                         help: see its statements with `duo-orm migrate sql`, finish or undo them by hand, then run \
                         `duo-orm migrate resolve {id} --applied` (or `--rolled-back`)"
                        ),
                    ));
                }
                State::Changed => {
                    return Err(Error::migration(
                        MigrationKind::History,
                        format!(
                            "migration {id} changed after it was applied (its checksum differs); help: restore the file \
                         from version control, and put the change in a new migration (`duo-orm migrate create`)"
                        ),
                    ));
                }
                State::Missing => {
                    return Err(Error::migration(
                        MigrationKind::History,
                        format!(
                            "migration {id} is applied but its file is missing; help: restore the file from version \
                         control (if it was removed on purpose, revert its changes by hand and run \
                         `duo-orm migrate resolve {id} --rolled-back`)"
                        ),
                    ));
                }
                State::Applied { .. } | State::Pending => {}
            }
        }
        Ok(())
    }

    async fn run(&self, db: &Database, target: Target, up: bool) -> Result<Report> {
        // Resolved before anything else: an unknown target is the caller's mistake.
        let target_index = match &target {
            Target::Id(id) => Some(self.migrations.find(id)?),
            Target::Steps(_) if up => {
                return Err(Error::migration(MigrationKind::Target, "`up` takes `head` or a migration id, not a count"));
            }
            Target::Base if up => return Err(Error::migration(MigrationKind::Target, "`up` takes `head` or a migration id, not `base`")),
            Target::Head if !up => {
                return Err(Error::migration(MigrationKind::Target, "`down` takes `-N`, a migration id or `base`, not `head`"));
            }
            _ => None,
        };
        self.locked(db, async |conn: &mut Held| self.run_locked(conn, target, target_index, up).await).await
    }

    /// Runs `work` on one connection holding the migration lock (PostgreSQL's advisory lock,
    /// MySQL's `GET_LOCK`; SQLite's runs take an exclusive transaction of their own), so that
    /// runners of one migration set never interleave.
    async fn locked<T>(&self, db: &Database, work: impl AsyncFnOnce(&mut Held) -> Result<T>) -> Result<T> {
        let mut guard = RunConnection { conn: self.open(db).await?, keep: false };
        let conn = &mut guard.conn;
        let dialect = conn.dialect();
        let lock = dialect.migration_lock(self.lock_key());
        if let Some(lock) = &lock {
            let got = conn.fetch_decoded(lock.acquire.clone(), "lock", |row| row.next_column::<Option<i64>>()).await?;
            if got.first().copied().flatten() != Some(1) {
                return Err(Error::migration(
                    MigrationKind::Lock,
                    "another migration run has held the lock for 10 minutes; help: check for a stuck `duo-orm migrate` process",
                ));
            }
        }
        let result = work(conn).await;
        let unlocked = match lock {
            Some(lock) => conn.execute(lock.release).await.map(|_| ()),
            None => Ok(()),
        };
        // The connection goes back to its pool only in a known state: unlocked, and outside
        // a transaction (SQLite's failures are rolled back and its pragma restored). An
        // in-memory SQLite database lives in that one connection, so it must not close.
        guard.keep = unlocked.is_ok() && (result.is_ok() || dialect == Dialect::Sqlite);
        result
    }

    /// A lock key derived from the version table's name: runners of one migration set meet.
    fn lock_key(&self) -> i64 {
        i64::from_str_radix(&legacy_checksum(&format!("duo-orm:{}", self.version_table))[..15], 16).unwrap_or(0)
    }

    async fn run_locked(&self, conn: &mut Held, target: Target, target_index: Option<usize>, up: bool) -> Result<Report> {
        let dialect = conn.dialect();
        if dialect != Dialect::Sqlite {
            self.ensure_version_table(conn).await?;
        }
        let list = self.migrations.iter().as_slice();
        // What each migration starts from, replayed once per run and only as far as it goes.
        let mut schemas = Vec::new();
        let mut report = Report::default();
        // `down -N` counts from the migrations applied when the run starts.
        let mut remaining = match target {
            Target::Steps(n) => n,
            _ => usize::MAX,
        };
        loop {
            if remaining == 0 {
                break;
            }
            if dialect == Dialect::Sqlite {
                // Off before the transaction (SQLite ignores it inside one): a table rebuild
                // must not cascade. Checked with `foreign_key_check` before committing.
                conn.execute_raw("PRAGMA foreign_keys = OFF").await?;
                if let Err(e) = conn.control(Control::Begin(Some("BEGIN EXCLUSIVE"))).await {
                    return self.abandon(conn, e).await;
                }
                if let Err(e) = self.ensure_version_table(conn).await {
                    return self.abandon(conn, e).await;
                }
            } else if dialect == Dialect::Postgres {
                conn.control(Control::Begin(None)).await?;
            }
            let applied = match self.read_applied(conn).await.and_then(|a| self.verify(&a).map(|()| a)) {
                Ok(applied) => applied,
                Err(e) => return self.abandon(conn, e).await,
            };
            let is_applied = |id: &str| applied.iter().any(|a| a.id == id);
            let next = if up {
                list.iter().enumerate().find(|(i, m)| !is_applied(&m.id) && target_index.is_none_or(|t| *i <= t))
            } else {
                list.iter().enumerate().rev().find(|(i, m)| is_applied(&m.id) && target_index.is_none_or(|t| *i > t))
            };
            let Some((index, migration)) = next else {
                if let Err(e) = self.finish(conn).await {
                    return self.abandon(conn, e).await;
                }
                break;
            };
            let statements = match self
                .migrations
                .extend_schemas(&mut schemas, index + 1)
                .and_then(|()| self.migrations.statements(index, up, dialect, &schemas))
            {
                Ok(statements) => statements,
                Err(e) => return self.abandon(conn, e).await,
            };
            let late = up && applied.iter().any(|a| a.id > migration.id);
            if late && statements.iter().any(|s| s.starts_with(REBUILD_NOTE)) {
                let e = Error::migration(
                    MigrationKind::History,
                    format!(
                        "migration {} is out of order and rebuilds a table on {dialect}; planned without the later \
                     migrations, the rebuild could undo them: recreate it after the applied ones",
                        migration.id
                    ),
                );
                return self.abandon(conn, e).await;
            }
            let count = statements.iter().filter(|s| !s.starts_with(REBUILD_NOTE)).count();
            self.report(Progress::Started { id: migration.id.clone(), up, statements: count });
            let started = Instant::now();
            if let Err(e) = self.execute(conn, &migration.id, &migration.checksum, &statements, up).await {
                return self.abandon(conn, e).await;
            }
            if dialect == Dialect::Sqlite {
                let broken = conn
                    .fetch_decoded(Statement::raw("PRAGMA foreign_key_check".into()), "foreign key check", |row| {
                        row.next_column::<String>()
                    })
                    .await;
                match broken {
                    Ok(tables) if !tables.is_empty() => {
                        let e = Error::migration(
                            MigrationKind::Statement,
                            format!(
                                "migration {} leaves rows whose foreign keys point nowhere (in {}); nothing was applied",
                                migration.id,
                                tables.join(", ")
                            ),
                        );
                        return self.abandon(conn, e).await;
                    }
                    Ok(_) => {}
                    Err(e) => return self.abandon(conn, e).await,
                }
            }
            if let Err(e) = self.finish(conn).await {
                return self.abandon(conn, e).await;
            }
            let step = Step { id: migration.id.clone(), elapsed: started.elapsed(), statements: count };
            self.report(Progress::Finished(step.clone()));
            if up {
                report.applied.push(step);
            } else {
                report.reverted.push(step);
            }
            remaining -= 1;
        }
        Ok(report)
    }

    /// Runs a migration's statements and records it (`up`) or removes its record.
    async fn execute(&self, conn: &mut Held, id: &str, sum: &str, statements: &[String], up: bool) -> Result<()> {
        let dialect = conn.dialect();
        let annotate = |n: usize, e: Error| -> Error {
            Error::migration(MigrationKind::Statement, format!("migration {id} failed at statement {} ({}): {e}", n + 1, statements[n]))
        };
        if dialect == Dialect::MySql {
            // DDL commits implicitly here: the record says "dirty" while the statements run,
            // and one statement makes it clean (up) or removes it (down).
            if up {
                conn.execute(self.insert_row(dialect, id, sum, true)).await?;
            } else {
                conn.execute(self.set_dirty(dialect, id, true)).await?;
            }
            for (n, sql) in statements.iter().enumerate() {
                conn.execute_raw(sql).await.map_err(|e| annotate(n, e))?;
            }
            if up {
                conn.execute(self.set_dirty(dialect, id, false)).await?;
            } else {
                conn.execute(self.delete_row(dialect, id)).await?;
            }
            return Ok(());
        }
        for (n, sql) in statements.iter().enumerate() {
            if let Some(guard) = sql.strip_prefix(REBUILD_NOTE) {
                check_rebuild(conn, id, guard).await?;
                continue;
            }
            conn.execute_raw(sql).await.map_err(|e| annotate(n, e))?;
        }
        if up {
            conn.execute(self.insert_row(dialect, id, sum, false)).await?;
        } else {
            conn.execute(self.delete_row(dialect, id)).await?;
        }
        Ok(())
    }

    /// Commits the migration's transaction (PostgreSQL, SQLite) and restores SQLite's
    /// foreign-key enforcement. A failed commit leaves the transaction to [`abandon`](Self::abandon).
    async fn finish(&self, conn: &mut Held) -> Result<()> {
        match conn.dialect() {
            Dialect::Postgres => conn.control(Control::Commit).await,
            Dialect::Sqlite => {
                conn.control(Control::Commit).await?;
                conn.execute_raw("PRAGMA foreign_keys = ON").await.map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// Rolls back the migration's transaction and returns `error`.
    async fn abandon<T>(&self, conn: &mut Held, error: Error) -> Result<T> {
        match conn.dialect() {
            Dialect::Postgres => {
                let _ = conn.control(Control::Rollback).await;
            }
            Dialect::Sqlite => {
                let _ = conn.control(Control::Rollback).await;
                let _ = conn.execute_raw("PRAGMA foreign_keys = ON").await;
            }
            _ => {}
        }
        Err(error)
    }

    fn version_table_def(&self) -> Table {
        let column = |name: &str, column_type: ColumnType, max_length: Option<u32>| Column {
            name: name.into(),
            column_type,
            nullable: false,
            auto_increment: false,
            max_length,
            default: None,
        };
        Table {
            name: self.version_table.clone(),
            columns: vec![
                column("id", ColumnType::Text, Some(255)),
                column("checksum", ColumnType::Text, Some(32)),
                column("applied_at", ColumnType::TimestampTz, None),
                column("dirty", ColumnType::BigInt, None),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            foreign_keys: vec![],
        }
    }

    async fn ensure_version_table(&self, conn: &mut Held) -> Result<()> {
        let create = CreateTable { if_not_exists: true };
        for sql in render_create_table(&self.version_table_def(), conn.dialect(), create)? {
            conn.execute_raw(&sql).await?;
        }
        self.upgrade_applied_at(conn).await
    }

    /// Earlier versions stored `applied_at` as `varchar(32)` ISO 8601 text: converts it
    /// to the timestamp column, keeping every value. SQLite stores timestamps as that text
    /// anyway, so its tables stay as they are.
    async fn upgrade_applied_at(&self, conn: &mut Held) -> Result<()> {
        let dialect = conn.dialect();
        // Counted, not read as text: MySQL 8 sends information_schema's text with a binary
        // collation, which the driver refuses to decode as a string.
        let text_column = match dialect {
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = $1 \
                 AND table_schema = current_schema() AND column_name = 'applied_at' \
                 AND data_type IN ('character varying', 'text')"
            }
            Dialect::MySql => {
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = ? \
                 AND table_schema = DATABASE() AND column_name = 'applied_at' \
                 AND data_type IN ('varchar', 'text')"
            }
            _ => return Ok(()),
        };
        let found = conn
            .fetch_decoded(Statement::with_values(text_column, [self.version_table.as_str().into()]), "column type", |row| {
                row.next_column::<i64>()
            })
            .await?;
        if found.first().copied().unwrap_or(0) == 0 {
            return Ok(());
        }
        let table = dialect.quote_identifier(&self.version_table);
        let statements = match dialect {
            Dialect::Postgres => {
                vec![format!("ALTER TABLE {table} ALTER COLUMN \"applied_at\" TYPE timestamptz USING CAST(\"applied_at\" AS timestamptz)")]
            }
            // MySQL's DATETIME takes neither the `T` nor the `Z`; the text is UTC.
            _ => vec![
                format!("UPDATE {table} SET `applied_at` = REPLACE(REPLACE(`applied_at`, 'T', ' '), 'Z', '')"),
                format!("ALTER TABLE {table} MODIFY `applied_at` datetime(6) NOT NULL"),
            ],
        };
        for sql in statements {
            conn.execute_raw(&sql).await?;
        }
        Ok(())
    }

    async fn read_applied(&self, conn: &mut Held) -> Result<Vec<AppliedMigration>> {
        let dialect = conn.dialect();
        let name = sea_query::Value::from(self.version_table.as_str());
        let exists = match dialect {
            Dialect::Sqlite => Statement::with_values("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [name]),
            Dialect::Postgres => Statement::with_values(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1 AND table_schema = current_schema()",
                [name],
            ),
            _ => Statement::with_values(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = DATABASE()",
                [name],
            ),
        };
        let count = conn.fetch_decoded(exists, "version table", |row| row.next_column::<i64>()).await?;
        if count.first().copied().unwrap_or(0) == 0 {
            return Ok(Vec::new());
        }
        let table = Alias::new(&self.version_table);
        let select = Query::select()
            .columns([Alias::new("id"), Alias::new("checksum")])
            .expr(Expr::cust(applied_at_seconds(dialect)))
            .column(Alias::new("dirty"))
            .from(table)
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        let stmt = Statement::new(build_any!(dialect, select));
        conn.fetch_decoded(stmt, "applied migration", |row| {
            // A time the database cannot read (a hand-edited row) shows as 1970 rather than
            // making the whole history unreadable.
            let (id, checksum, seconds) = (row.next_column()?, row.next_column()?, row.next_column::<Option<i64>>()?);
            Ok(AppliedMigration {
                id,
                checksum,
                applied_at: from_unix_seconds(seconds.unwrap_or(0)),
                dirty: row.next_column::<i64>()? != 0,
            })
        })
        .await
    }

    fn insert_row(&self, dialect: Dialect, id: &str, sum: &str, dirty: bool) -> Statement {
        let insert = Query::insert()
            .into_table(Alias::new(&self.version_table))
            .columns([Alias::new("id"), Alias::new("checksum"), Alias::new("applied_at"), Alias::new("dirty")])
            .values_panic([id.into(), sum.into(), Expr::cust(server_now(dialect)), i64::from(dirty).into()])
            .to_owned();
        Statement::new(build_any!(dialect, insert))
    }

    fn set_dirty(&self, dialect: Dialect, id: &str, dirty: bool) -> Statement {
        let mut update = Query::update()
            .table(Alias::new(&self.version_table))
            .value(Alias::new("dirty"), i64::from(dirty))
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        if !dirty {
            // The row was written dirty before the statements ran: it is applied now.
            update.value(Alias::new("applied_at"), Expr::cust(server_now(dialect)));
        }
        Statement::new(build_any!(dialect, update))
    }

    fn delete_row(&self, dialect: Dialect, id: &str) -> Statement {
        let delete = Query::delete().from_table(Alias::new(&self.version_table)).and_where(Expr::col(Alias::new("id")).eq(id)).to_owned();
        Statement::new(build_any!(dialect, delete))
    }
}

/// `applied_at` as seconds since 1970, whether the column is the timestamp or the text that
/// earlier versions wrote (read-only commands do not convert the table).
fn applied_at_seconds(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => r#"CAST(FLOOR(EXTRACT(EPOCH FROM CAST("applied_at" AS timestamptz))) AS BIGINT)"#,
        Dialect::MySql => {
            "TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', \
             CAST(REPLACE(REPLACE(`applied_at`, 'T', ' '), 'Z', '') AS DATETIME(6)))"
        }
        _ => r#"CAST(strftime('%s', "applied_at") AS INTEGER)"#,
    }
}

/// The server's clock, in UTC, in the form `applied_at` stores.
fn server_now(dialect: Dialect) -> &'static str {
    match dialect {
        // Not CURRENT_TIMESTAMP, which is when the migration's transaction began.
        Dialect::Postgres => "clock_timestamp()",
        Dialect::MySql => "UTC_TIMESTAMP(6)",
        _ => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
    }
}

fn from_unix_seconds(seconds: i64) -> SystemTime {
    let offset = Duration::from_secs(seconds.unsigned_abs());
    let at = if seconds >= 0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) };
    at.unwrap_or(UNIX_EPOCH)
}

/// The connection of one run: closed when dropped unless the run finished in a known state
/// (a dropped future, a failure on a server), so that a lock, a pragma or a transaction never
/// goes back to the pool with it.
struct RunConnection {
    conn: Held,
    keep: bool,
}

impl Drop for RunConnection {
    fn drop(&mut self) {
        if !self.keep {
            self.conn.close_on_drop();
        }
    }
}

/// Before a SQLite table rebuild: refuses when the live table has columns or indexes the
/// migrations do not know (added by hand-written SQL), which the rebuild would drop.
async fn check_rebuild(conn: &mut Held, id: &str, guard: &str) -> Result<()> {
    let guard: RebuildGuard = serde_json::from_str(guard)
        .map_err(|e| Error::migration(MigrationKind::Rebuild, format!("migration {id}: a damaged rebuild note: {e}")))?;
    let names = |sql: &str| Statement { sql: sql.to_string(), values: sea_query::Values(vec![guard.table.clone().into()]) };
    let columns = conn.fetch_decoded(names("SELECT name FROM pragma_table_info(?1)"), "column", |row| row.next_column::<String>()).await?;
    let indexes = conn
        .fetch_decoded(names("SELECT name FROM pragma_index_list(?1) WHERE origin = 'c'"), "index", |row| row.next_column::<String>())
        .await?;
    let triggers = conn
        .fetch_decoded(names("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1"), "trigger", |row| {
            row.next_column::<String>()
        })
        .await?;
    let unknown: Vec<String> = columns
        .iter()
        .filter(|c| !guard.columns.contains(c))
        .map(|c| format!("column {c}"))
        .chain(indexes.iter().filter(|i| !guard.indexes.contains(i)).map(|i| format!("index {i}")))
        .chain(triggers.iter().map(|t| format!("trigger {t}")))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::migration(
        MigrationKind::Rebuild,
        format!(
            "migration {id} rebuilds SQLite table `{}`, which has {} that no migration step created (hand-written SQL?); \
         the rebuild would drop them, so nothing was applied; help: describe them with steps \
         (`add_column`, `create_index`) in an earlier migration, or write this change as hand-written SQL",
            guard.table,
            unknown.join(", ")
        ),
    ))
}

/// Refuses a table name that no dialect can hold as given: empty, longer than PostgreSQL's
/// 63 bytes (it would silently truncate it), or with control characters. Every other
/// character is fine: the name is always quoted as an identifier, or bound as a value.
pub(crate) fn check_table_name(name: &str) -> Result<()> {
    let problem = if name.trim().is_empty() {
        "is empty"
    } else if name.trim() != name {
        "starts or ends with white space (MySQL refuses such names)"
    } else if name.len() > 63 {
        "is longer than 63 bytes (PostgreSQL would cut it short)"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(Error::migration(
        MigrationKind::Name,
        format!("the version table name {name:?} {problem}; help: use a plain name such as `duo_migrations`"),
    ))
}
