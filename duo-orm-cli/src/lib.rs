//! The `duo-orm` command line: `init` scaffolds a project, `migrate …` autogenerates,
//! applies, reverts and checks migrations. `main` is a thin shell over [`run`], so tests and
//! other tools can drive the CLI in-process.
//!
//! Models are read with `duo-orm-macros-core`, the parser `#[derive(Model)]` uses, so the CLI
//! sees exactly what the derive sees without compiling the user's crate.

mod database;
mod init;
mod migrate;
mod output;
mod project;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A failure the CLI reports as one line, `error: <message>`, with exit code 1.
#[derive(Debug)]
pub struct Failure {
    message: String,
    /// The exit code (1 unless a command says otherwise, like `check` finding drift).
    code: u8,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 1 }
    }
}

impl From<duo_orm::Error> for Failure {
    fn from(error: duo_orm::Error) -> Self {
        // duo-orm's errors never carry a password.
        let message = error.to_string();
        // The server has no such database (PostgreSQL 3D000, MySQL/MariaDB "Unknown database").
        let missing = matches!(error, duo_orm::Error::Configuration { kind: duo_orm::ConfigurationKind::Connect, .. })
            && (message.contains("(3D000)") || message.contains("Unknown database"));
        if missing {
            return Failure::new(format!("{message}; help: create it with `duo-orm database create`"));
        }
        Failure::new(message)
    }
}

/// Scaffold duo-orm projects and manage their migrations.
#[derive(Debug, Parser)]
#[command(
    name = "duo-orm",
    version,
    about = "Scaffold duo-orm projects and manage their migrations",
    after_help = "Examples:\n  \
                  duo-orm init                           # src/db, migrations/, Cargo.toml settings\n  \
                  duo-orm migrate create \"initial\"       # autogenerate from the models\n  \
                  duo-orm migrate up                     # apply, with progress\n  \
                  duo-orm migrate sql --dialect postgres # render without a database\n  \
                  duo-orm migrate check                  # models vs live database; exit 1 on drift\n  \
                  duo-orm database reset -y              # drop, create, apply every migration"
)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    directory: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scaffold the database module, models/ and schemas/, migrations/ and the Cargo.toml settings.
    #[command(after_help = "Examples:\n  duo-orm init\n  duo-orm init --dir src/storage\n\n\
                            Never overwrites a file: run it again safely; it reports what it created and skipped.")]
    #[command(group(clap::ArgGroup::new("source").args(["path", "git", "crate_version"])))]
    Init {
        /// Where the database module goes, relative to the project root and inside src/.
        #[arg(long, default_value = "src/db", value_name = "DIR")]
        dir: String,
        /// Take duo-orm from this checkout's `duo-orm` crate directory (default: the checkout
        /// this CLI was built from, if any).
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// Take duo-orm from this git repository.
        #[arg(long, value_name = "URL")]
        git: Option<String>,
        /// Take this duo-orm version from crates.io.
        #[arg(long = "version", value_name = "VERSION")]
        crate_version: Option<String>,
    },
    /// Create, apply, revert and inspect migrations (alias: `migration`).
    #[command(visible_alias = "migration")]
    Migrate(MigrateArgs),
    /// Create, drop or reset the database DATABASE_URL names.
    Database(DatabaseArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  duo-orm completions bash > ~/.local/share/bash-completion/completions/duo-orm\n  \
                            duo-orm completions zsh > ~/.zfunc/_duo-orm")]
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    #[command(subcommand)]
    command: database::DatabaseCommand,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(subcommand)]
    command: migrate::MigrateCommand,
}

/// Parses `args` (program name first) and runs the command. Help and version go to stdout
/// with exit code 0; usage errors go to stderr with exit code 2; a failure prints
/// `error: <cause>` on stderr and exits 1 (`migrate check` exits 1 on drift).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                // One line: the cause and what to do.
                let style = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Red.into()));
                anstream::eprintln!("{}error:{} {}", style.render(), style.render_reset(), failure.message.replace('\n', " "));
            }
            ExitCode::from(failure.code)
        }
    }
}

fn execute(cli: Cli) -> Result<(), Failure> {
    // `-C DIR` is a real change of directory, so that `.env` and relative SQLite paths are
    // found from there, exactly as for the app started in that directory.
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir).map_err(|e| Failure::new(format!("cannot enter {}: {e}", dir.display())))?;
    }
    let cwd = std::env::current_dir().map_err(|e| Failure::new(format!("cannot read the current directory: {e}")))?;
    let mut out = output::Output::stdout();
    match cli.command {
        Command::Init { dir, path, git, crate_version } => {
            let source = match (path, git, crate_version) {
                (Some(path), _, _) => init::Source::Path(std::path::absolute(&path).unwrap_or(path)),
                (_, Some(git), _) => init::Source::Git(git),
                (_, _, Some(version)) => init::Source::Version(version),
                _ => init::Source::of_this_build(),
            };
            init::init(&cwd, &dir, &source, &mut out)
        }
        Command::Migrate(args) => migrate::run(&cwd, args.command, &mut out),
        Command::Database(args) => database::run(&cwd, args.command, &mut out),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "duo-orm", &mut std::io::stdout());
            Ok(())
        }
    }
}
