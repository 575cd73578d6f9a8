//! Runs the built `duo-orm` binary and checks exit codes and output.

use std::process::Command;

fn duo_orm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_duo-orm")).args(args).output().expect("run duo-orm")
}

#[test]
fn help_describes_the_tool() {
    let out = duo_orm(&["--help"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Usage: duo-orm") && stdout.contains("--version") && stdout.contains("Examples:"), "{stdout}");
}

#[test]
fn version_is_the_crate_version() {
    let out = duo_orm(&["--version"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), format!("duo-orm {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_arguments_fail_with_usage_and_exit_2() {
    let out = duo_orm(&["migrate", "up"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unexpected argument") && !stderr.contains("panicked"), "{stderr}");
}
