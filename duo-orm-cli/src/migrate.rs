//! `duo-orm migrate …`: create (autogenerate), new, up, down, status, history, sql, check,
//! resolve.

use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::{ArgGroup, Args, Subcommand};
use duo_orm::migrate::{self, Migration, Migrator, Operation, Progress, Renames, State, Target};
use duo_orm::{Database, Dialect};

use crate::Failure;
use crate::output::Output;
use crate::project::Project;

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The database URL (else DATABASE_URL, else DATABASE_URL in the nearest .env).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON document on stdout, for scripts.
    Json,
}

impl DbArgs {
    /// The URL given with `--database-url`, if any.
    pub fn url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Autogenerate a migration (up and down) from what changed in the models.
    #[command(after_help = "Examples:\n  \
        duo-orm migrate create \"add users\"\n  \
        duo-orm migrate create \"rename name\" --rename-column users.name=full_name\n\n\
        Reads the models with the derive's parser (nothing is compiled) and compares them with the \
        schema the existing migrations build. Renames are explicit: without --rename-* a renamed \
        column is a drop and an add.")]
    Create {
        /// What the migration does (becomes part of its file name).
        message: String,
        /// Rename a table instead of dropping and creating it.
        #[arg(long = "rename-table", value_name = "OLD=NEW")]
        rename_table: Vec<String>,
        /// Rename a column (table by its new name) instead of dropping and adding it.
        #[arg(long = "rename-column", value_name = "TABLE.OLD=NEW")]
        rename_column: Vec<String>,
        /// Accepted like every other subcommand's, but not needed: `create` reads the models
        /// and the migrations, never a database.
        #[arg(long, value_name = "URL", hide_short_help = true)]
        database_url: Option<String>,
    },
    /// Write a hand-written migration: SQL for every dialect, or per dialect.
    #[command(after_help = "Example:\n  duo-orm migrate new \"backfill emails\"")]
    New {
        /// What the migration does.
        message: String,
    },
    /// Apply pending migrations, up to TARGET (default: all) (alias: `upgrade`).
    #[command(visible_alias = "upgrade", after_help = "Examples:\n  duo-orm migrate up\n  duo-orm migrate up 20261124061500")]
    Up {
        /// `head` or a migration id (a unique prefix is enough).
        target: Option<String>,
        /// Apply a pending migration that sorts before an applied one (from a branch merged
        /// later), in id order, with a warning, instead of refusing.
        #[arg(long)]
        allow_out_of_order: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revert migrations: the last one, `-N` of them, down to an id (kept), or `base` (alias: `downgrade`).
    #[command(
        visible_alias = "downgrade",
        allow_negative_numbers = true,
        after_help = "Examples:\n  duo-orm migrate down\n  duo-orm migrate down -2\n  duo-orm migrate down base"
    )]
    Down {
        /// `-N`, a migration id, or `base` (default: -1).
        target: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show each migration as applied, pending, changed, dirty or missing.
    #[command(after_help = "Examples:\n  duo-orm migrate status --database-url sqlite://./app.db\n  \
        duo-orm migrate status --exit-code || echo \"run duo-orm migrate up\"")]
    Status {
        /// Exit with code 1 when a migration is pending, changed, dirty or missing (for CI and
        /// deploy scripts).
        #[arg(long)]
        exit_code: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the migrations in order, with their steps (no database needed).
    #[command(after_help = "Examples:\n  duo-orm migrate history\n  duo-orm migrate history --format json")]
    History {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Record migrations as applied without running them, up to TARGET (default: all): for a
    /// database whose schema already exists (alembic's `stamp`).
    #[command(after_help = "Examples:\n  duo-orm migrate stamp\n  duo-orm migrate stamp 20261124061500")]
    Stamp {
        /// `head` or a migration id (a unique prefix is enough).
        target: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revert the last applied migration and apply it again (while writing it).
    #[command(after_help = "Example:\n  duo-orm migrate redo")]
    Redo {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the SQL of every migration without a database (offline mode).
    #[command(after_help = "Examples:\n  duo-orm migrate sql --dialect postgres\n  duo-orm migrate sql --dialect mssql --down")]
    Sql {
        /// postgres (pg), mysql (mariadb), sqlite, mssql (sqlserver) or oracle (default: the
        /// database URL's dialect).
        #[arg(long, value_name = "DIALECT")]
        dialect: Option<String>,
        /// Print the down steps, last migration first.
        #[arg(long)]
        down: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Compare the models with the live database; exit 1 and list the differences on drift.
    #[command(after_help = "Example:\n  duo-orm migrate check || echo \"run duo-orm migrate create\"")]
    Check {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Record by hand whether a migration left dirty by a failure (MySQL/MariaDB) is applied.
    #[command(
        group(ArgGroup::new("outcome").required(true).args(["applied", "rolled_back"])),
        after_help = "Example:\n  duo-orm migrate resolve 20261124061500 --rolled-back"
    )]
    Resolve {
        /// The migration id (a unique prefix is enough).
        id: String,
        /// Its steps have all been completed by hand.
        #[arg(long)]
        applied: bool,
        /// Its steps have all been undone by hand.
        #[arg(long)]
        rolled_back: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(cwd: &Path, command: MigrateCommand, out: &mut Output) -> Result<(), Failure> {
    let project = Project::open(cwd)?;
    match command {
        MigrateCommand::Create { message, rename_table, rename_column, database_url: _ } => {
            create(&project, &message, renames(&rename_table, &rename_column)?, out)
        }
        MigrateCommand::New { message } => new(&project, &message, out),
        MigrateCommand::History { format } => history(&project, format, out),
        MigrateCommand::Redo { db } => redo(&project, &db, out),
        MigrateCommand::Stamp { target, db } => {
            let migrations = project.migrations()?;
            let database = connect(&project, &db, Missing::Refuse)?;
            let migrator = Migrator::new(&migrations).version_table(&project.settings.version_table);
            let target = target.unwrap_or_else(|| "head".to_string());
            let recorded = block_on(async { migrator.stamp(&database, &target).await })?;
            if recorded.is_empty() {
                out.line("nothing to record: those migrations are already applied");
            }
            for id in recorded {
                out.line(&format!("recorded {id} as applied (its steps were not run)"));
            }
            Ok(())
        }
        MigrateCommand::Sql { dialect, down, db } => {
            let dialect = match dialect {
                Some(name) => name.parse::<Dialect>()?,
                None => Database::new(project.database_url(db.database_url.as_deref())?).dialect()?,
            };
            let migrations = project.migrations()?;
            out.line("-- Rendered offline by `duo-orm migrate sql`: this SQL does not record what it applies in");
            out.line(&format!(
                "-- the version table ({}); `duo-orm migrate up` does, in transactions, with a lock.",
                project.settings.version_table
            ));
            if dialect == Dialect::Sqlite {
                out.line("-- SQLite: run it with `PRAGMA foreign_keys = OFF;` first, or a table rebuild cascades deletes.");
            }
            for (id, statements) in migrations.render(dialect, down)? {
                out.line(&format!("-- {id} ({})", if down { "down" } else { "up" }));
                for sql in statements {
                    out.line(&format!("{sql};"));
                }
                out.line("");
            }
            Ok(())
        }
        MigrateCommand::Up { target, allow_out_of_order, db } => {
            let target = Target::parse(target.as_deref().unwrap_or("head"))?;
            if allow_out_of_order {
                out.line("warning: --allow-out-of-order: a migration older than an applied one is applied in id order");
            }
            apply_with(&project, &db, out, true, target, allow_out_of_order)
        }
        MigrateCommand::Down { target, db } => {
            let given = target.as_deref().unwrap_or("-1");
            let parsed = Target::parse(given)?;
            apply(&project, &db, out, false, parsed).map_err(|failure| {
                // `down 5` names a migration id; reverting five is `down -5`.
                let count = given.len() < 6 && given.chars().all(|c| c.is_ascii_digit());
                if count && failure.message.contains("no migration has the id") {
                    Failure::new(format!("{}; to revert {given} migrations, use `duo-orm migrate down -{given}`", failure.message))
                } else {
                    failure
                }
            })
        }
        MigrateCommand::Status { exit_code, format, db } => status(&project, &db, exit_code, format, out),
        MigrateCommand::Check { format, db } => check(&project, &db, format, out),
        MigrateCommand::Resolve { id, applied, rolled_back: _, db } => {
            let migrations = project.migrations()?;
            let database = connect(&project, &db, Missing::Refuse)?;
            let migrator = Migrator::new(&migrations).version_table(&project.settings.version_table);
            block_on(async { migrator.resolve(&database, &id, applied).await })?;
            out.line(&format!("recorded {id} as {}", if applied { "applied" } else { "not applied" }));
            Ok(())
        }
    }
}

fn renames(tables: &[String], columns: &[String]) -> Result<Renames, Failure> {
    let mut renames = Renames::default();
    for spec in tables {
        let (from, to) = spec.split_once('=').ok_or_else(|| Failure::new(format!("--rename-table `{spec}`: expected OLD=NEW")))?;
        renames.tables.push((from.trim().into(), to.trim().into()));
    }
    for spec in columns {
        let parsed = spec.split_once('=').and_then(|(left, to)| left.split_once('.').map(|(t, from)| (t, from, to)));
        let (table, from, to) = parsed.ok_or_else(|| Failure::new(format!("--rename-column `{spec}`: expected TABLE.OLD=NEW")))?;
        renames.columns.push((table.trim().into(), from.trim().into(), to.trim().into()));
    }
    Ok(renames)
}

pub(crate) fn block_on<T>(work: impl Future<Output = duo_orm::Result<T>>) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(work)?)
}

/// Whether a command may create the database it names (only `up` does: a SQLite file opened
/// by any other command must exist, or a typo in its path would report on an empty database).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    Create,
    Refuse,
}

fn connect(project: &Project, db: &DbArgs, missing: Missing) -> Result<Database, Failure> {
    let url = project.database_url(db.database_url.as_deref())?;
    if missing == Missing::Refuse
        && let Some(file) = duo_orm::DatabaseUrl::parse(&url).ok().and_then(|parsed| parsed.sqlite_file())
        && !file.exists()
    {
        return Err(Failure::new(format!(
            "the SQLite database {} does not exist; help: check DATABASE_URL, or create it with `duo-orm database create` (or `duo-orm migrate up`)",
            file.display()
        )));
    }
    // A CLI user waiting on an unreachable server wants to know soon.
    let database = Database::new(url).acquire_timeout(Duration::from_secs(10));
    database.dialect()?;
    Ok(database)
}

fn write_migration(project: &Project, migration: &Migration, out: &mut Output) -> Result<(), Failure> {
    let relative = format!("{}/{}.toml", project.settings.migrations, migration.id);
    let path = project.root.join(&relative);
    if path.exists() {
        return Err(Failure::new(format!("{relative} already exists")));
    }
    std::fs::write(&path, migration.to_text()?).map_err(|e| Failure::new(format!("cannot write {relative}: {e}")))?;
    out.created(&relative, &format!("\"{}\"", migration.message));
    Ok(())
}

fn create(project: &Project, message: &str, renames: Renames, out: &mut Output) -> Result<(), Failure> {
    let migrations = project.migrations()?;
    let models = project.model_schema()?;
    if models.tables.is_empty() && migrations.is_empty() {
        return Err(Failure::new(format!(
            "no models found in {} (structs with #[derive(Model)]); help: define one there, as in the guide's \
             \"Defining models\", then run this again",
            project.settings.models
        )));
    }
    let history = migrations.schemas()?.pop().unwrap_or_default();
    let up = migrate::diff(&history, &models, &renames)?;
    if up.is_empty() {
        out.line(&format!("no changes: the models match the schema of the {} existing migration(s); nothing written", migrations.len()));
        return Ok(());
    }
    let down: Vec<Operation> = up.iter().rev().filter_map(Operation::inverse).collect();
    let id = migrate::new_id(message, &migrations, SystemTime::now());
    let migration =
        Migration { id, message: message.to_string(), up: up.clone(), down, checksum: String::new(), legacy_checksum: String::new() };
    write_migration(project, &migration, out)?;
    for step in &up {
        out.step('+', &step.describe());
        if let Operation::AddColumn { table, column } = step
            && !column.nullable
            && column.default.is_none()
        {
            let warning = out.yellow("warning:");
            out.line(&format!(
                "      {warning} {table}.{} is NOT NULL without a default: `up` fails if {table} has rows; \
                 give it #[duo(default = …)] or make it an Option",
                column.name
            ));
        }
    }
    out.line("next: review the file, then `duo-orm migrate up`");
    Ok(())
}

fn new(project: &Project, message: &str, out: &mut Output) -> Result<(), Failure> {
    let migrations = project.migrations()?;
    let id = migrate::new_id(message, &migrations, SystemTime::now());
    let relative = format!("{}/{id}.toml", project.settings.migrations);
    // A TOML string, escaped by TOML's rules (Rust's `{:?}` writes escapes TOML rejects).
    let message_toml = toml_edit::Value::from(message).decorated("", "").to_string();
    let text = format!(
        "# duo-orm migration {id} (hand-written)\n\
         # `sql` runs on every dialect; `postgres`, `mysql`, `sqlite`, `mssql` or `oracle` replace it\n\
         # on that dialect. End each statement with `;` at the end of a line.\n\
         message = {message_toml}\n\
         \n\
         [[up]]\n\
         op = \"sql\"\n\
         sql = \"\"\"\n\
         -- write the SQL that applies this migration here\n\
         \"\"\"\n\
         \n\
         [[down]]\n\
         op = \"sql\"\n\
         sql = \"\"\"\n\
         -- and the SQL that reverts it here\n\
         \"\"\"\n"
    );
    // The template must read back as a migration.
    Migration::parse(&id, &text)?;
    std::fs::write(project.root.join(&relative), text).map_err(|e| Failure::new(format!("cannot write {relative}: {e}")))?;
    out.created(&relative, &format!("\"{}\" (hand-written)", message.escape_debug()));
    Ok(())
}

fn history(project: &Project, format: Format, out: &mut Output) -> Result<(), Failure> {
    let migrations = project.migrations()?;
    if format == Format::Json {
        let list: Vec<serde_json::Value> = migrations
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "message": m.message,
                    "up": m.up.iter().map(Operation::describe).collect::<Vec<_>>(),
                    "down": m.down.iter().map(Operation::describe).collect::<Vec<_>>(),
                })
            })
            .collect();
        out.line(&serde_json::Value::Array(list).to_string());
        return Ok(());
    }
    if migrations.is_empty() {
        out.line("no migrations yet; help: `duo-orm migrate create \"initial\"`");
        return Ok(());
    }
    for migration in &migrations {
        out.line(&format!("{}  {}", out.bold(&migration.id), migration.message));
        for step in &migration.up {
            out.step('+', &step.describe());
        }
    }
    Ok(())
}

/// `up` (applying up to `target`) or `down`, with a line per migration as it starts and ends.
pub(crate) fn apply(project: &Project, db: &DbArgs, out: &mut Output, up: bool, target: Target) -> Result<(), Failure> {
    apply_with(project, db, out, up, target, false)
}

/// [`apply`], optionally applying migrations out of order.
fn apply_with(project: &Project, db: &DbArgs, out: &mut Output, up: bool, target: Target, out_of_order: bool) -> Result<(), Failure> {
    let migrations = project.migrations()?;
    let database = connect(project, db, if up { Missing::Create } else { Missing::Refuse })?;
    let (green, done) = (out.green("ok"), out.bold("done"));
    let migrator = Migrator::new(&migrations).version_table(&project.settings.version_table).allow_out_of_order(out_of_order).on_progress(
        move |event| {
            let mut out = Output::stdout();
            match event {
                Progress::Started { id, up, statements } => {
                    let verb = if *up { "applying" } else { "reverting" };
                    out.line(&format!("  {verb} {id} ({statements} statement{})", if *statements == 1 { "" } else { "s" }));
                }
                Progress::Finished(step) => {
                    out.line(&format!("    {green} {} in {:.1?}", step.id, step.elapsed));
                }
            }
        },
    );
    let report = block_on(async { if up { migrator.up_to(&database, target).await } else { migrator.down(&database, target).await } })?;
    let count = report.applied.len() + report.reverted.len();
    if count == 0 {
        out.line("nothing to do: the database is already there");
    } else if !report.applied.is_empty() {
        out.line(&format!("{done}: applied {} migration(s)", report.applied.len()));
    } else {
        out.line(&format!("{done}: reverted {} migration(s)", report.reverted.len()));
    }
    Ok(())
}

fn status(project: &Project, db: &DbArgs, exit_code: bool, format: Format, out: &mut Output) -> Result<(), Failure> {
    let migrations = project.migrations()?;
    let database = connect(project, db, Missing::Refuse)?;
    let migrator = Migrator::new(&migrations).version_table(&project.settings.version_table);
    let statuses = block_on(async { migrator.status(&database).await })?;
    let unsettled = statuses.iter().filter(|status| !matches!(status.state, State::Applied { .. })).count();
    if format == Format::Json {
        let list: Vec<serde_json::Value> = statuses
            .iter()
            .map(|status| {
                let (state, at) = match &status.state {
                    State::Applied { at } => ("applied", Some(migrate::iso_timestamp(*at))),
                    State::Pending => ("pending", None),
                    State::Changed => ("changed", None),
                    State::Dirty => ("dirty", None),
                    State::Missing => ("missing", None),
                };
                serde_json::json!({ "id": status.id, "message": status.message, "state": state, "applied_at": at })
            })
            .collect();
        out.line(&serde_json::Value::Array(list).to_string());
    } else if statuses.is_empty() {
        out.line("no migrations yet; help: `duo-orm migrate create \"initial\"`");
    }
    for status in statuses.into_iter().filter(|_| format == Format::Text) {
        let state = match &status.state {
            State::Applied { at } => out.green(&format!("applied {}", migrate::iso_timestamp(*at))),
            State::Pending => out.yellow("pending"),
            State::Changed => out.red("CHANGED since applied"),
            State::Dirty => out.red("DIRTY (failed part-way; see `duo-orm migrate resolve --help`)"),
            State::Missing => out.red("applied, file MISSING"),
        };
        out.line(&format!("{:<48} {state}  {}", status.id, status.message));
    }
    if exit_code && unsettled > 0 {
        return Err(Failure::new(format!(
            "{unsettled} migration(s) not applied as written; help: `duo-orm migrate up` (or see the states above)"
        )));
    }
    Ok(())
}

fn check(project: &Project, db: &DbArgs, format: Format, out: &mut Output) -> Result<(), Failure> {
    let models = project.model_schema()?;
    let database = connect(project, db, Missing::Refuse)?;
    let live = block_on(async { migrate::introspect(&database).await })?;
    let drift = migrate::compare(&models, &live, &[project.settings.version_table.as_str()]);
    // Drift with migrations not yet applied (after a `down`, say) is theirs to close first.
    let migrations = project.migrations()?;
    let migrator = Migrator::new(&migrations).version_table(&project.settings.version_table);
    let pending =
        block_on(async { migrator.status(&database).await })?.iter().filter(|status| matches!(status.state, State::Pending)).count();
    if format == Format::Json {
        let drift: Vec<String> = drift.iter().map(ToString::to_string).collect();
        out.line(&serde_json::json!({ "drift": drift, "pending": pending, "tables": models.tables.len() }).to_string());
        if drift.is_empty() {
            return Ok(());
        }
        return Err(Failure { message: String::new(), code: 1 });
    }
    if drift.is_empty() {
        out.line(&format!("no drift: the database matches the models ({} tables)", models.tables.len()));
        return Ok(());
    }
    for difference in &drift {
        out.line(&format!("  {} {difference}", out.red("drift:")));
    }
    let help = if pending > 0 {
        format!("{pending} migration(s) are not applied: run `duo-orm migrate up`, then check again")
    } else {
        "`duo-orm migrate create \"…\"` then `duo-orm migrate up`".to_string()
    };
    Err(Failure::new(format!("the database differs from the models in {} place(s); help: {help}", drift.len())))
}

/// `redo`: reverts the last applied migration and applies it again.
fn redo(project: &Project, db: &DbArgs, out: &mut Output) -> Result<(), Failure> {
    let migrations = project.migrations()?;
    let database = connect(project, db, Missing::Refuse)?;
    let migrator = Migrator::new(&migrations).version_table(&project.settings.version_table);
    let statuses = block_on(async { migrator.status(&database).await })?;
    let last = statuses
        .iter()
        .rev()
        .find(|status| matches!(status.state, State::Applied { .. } | State::Changed))
        .map(|status| status.id.clone())
        .ok_or_else(|| Failure::new("nothing to redo: no migration is applied; help: `duo-orm migrate up`"))?;
    apply(project, db, out, false, Target::Steps(1))?;
    apply(project, db, out, true, Target::Id(last))
}
