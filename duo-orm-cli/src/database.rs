//! `duo-orm database create | drop | reset`: the database `DATABASE_URL` names, as sqlx-cli
//! and diesel_cli manage it.

use std::io::{BufRead, IsTerminal, Write};

use clap::Subcommand;
use duo_orm::migrate::{self, Target};

use crate::Failure;
use crate::migrate::DbArgs;
use crate::output::Output;
use crate::project::Project;

#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Create the database (a SQLite file, or a database on the server) if it does not exist.
    #[command(after_help = "Example:\n  duo-orm database create --database-url postgres://app@localhost/blog")]
    Create {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Drop the database and everything in it (asks first unless -y).
    #[command(after_help = "Example:\n  duo-orm database drop -y")]
    Drop {
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Drop the database, create it again and apply every migration (asks first unless -y).
    #[command(after_help = "Example:\n  duo-orm database reset -y")]
    Reset {
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(cwd: &std::path::Path, command: DatabaseCommand, out: &mut Output) -> Result<(), Failure> {
    let project = Project::open(cwd)?;
    match command {
        DatabaseCommand::Create { db } => {
            let url = project.database_url(db.url())?;
            let shown = duo_orm::config::redact(&url);
            if crate::migrate::block_on(async { migrate::create_database(&url).await })? {
                out.line(&format!("created the database at {shown}"));
            } else {
                out.line(&format!("the database at {shown} already exists"));
            }
            Ok(())
        }
        DatabaseCommand::Drop { yes, db } => {
            let url = project.database_url(db.url())?;
            drop_confirmed(&url, yes, out)
        }
        DatabaseCommand::Reset { yes, db } => {
            let url = project.database_url(db.url())?;
            drop_confirmed(&url, yes, out)?;
            crate::migrate::block_on(async { migrate::create_database(&url).await })?;
            out.line(&format!("created the database at {}", duo_orm::config::redact(&url)));
            crate::migrate::apply(&project, &db, out, true, Target::parse("head")?)
        }
    }
}

/// Drops the database after asking (on a terminal) unless `yes`.
fn drop_confirmed(url: &str, yes: bool, out: &mut Output) -> Result<(), Failure> {
    let shown = duo_orm::config::redact(url);
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::new(format!("not dropping the database at {shown} without confirmation; help: pass -y to confirm")));
        }
        eprint!("Drop the database at {shown} and everything in it? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map_err(|e| Failure::new(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Failure::new("not dropped"));
        }
    }
    if crate::migrate::block_on(async { migrate::drop_database(url).await })? {
        out.line(&format!("dropped the database at {shown}"));
    } else {
        out.line(&format!("the database at {shown} does not exist"));
    }
    Ok(())
}
