//! The `duo-orm` command line. `main` is a thin shell over [`run`], so tests and other tools
//! can drive the CLI in-process.
//!
//! This version has `--help` and `--version`; `init` and `migrate` come next (they will read
//! models with `duo-orm-macros-core`, the parser the derive uses).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// duo-orm: scaffold projects and manage migrations for duo-orm models.
#[derive(Debug, Parser)]
#[command(
    name = "duo-orm",
    version,
    about = "Scaffold duo-orm projects and manage their migrations",
    long_about = "Scaffold duo-orm projects and manage their migrations.\n\n\
                  This release provides --help and --version only: `init` and `migrate` \
                  (create, up, down, status, history, sql, check) are being built next.",
    after_help = "Examples:\n  duo-orm --version\n  duo-orm --help"
)]
pub struct Cli {}

/// Parses `args` (program name first) and runs the command. Help and version go to stdout
/// with exit code 0; usage errors go to stderr with exit code 2.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(_cli) => {
            eprintln!("duo-orm: nothing to do yet; run `duo-orm --help`");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = error.print();
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
        }
    }
}
