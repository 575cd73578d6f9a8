//! The `duo-orm` binary end to end, in temporary cargo projects, on SQLite, PostgreSQL and
//! MariaDB (the live backends come from `DUO_TEST_POSTGRES_URL` / `DUO_TEST_MYSQL_URL`, as in
//! the workspace's other tests).

use duo_orm_test_support as support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use duo_orm::migrate::{LiveSchema, introspect};
use duo_orm::{Database, Dialect};
use support::{TestDb, backends_sync};

const BIN: &str = env!("CARGO_BIN_EXE_duo-orm");

/// A temporary cargo project (a manifest and a `main.rs`; the CLI never compiles it).
struct TempProject {
    root: PathBuf,
}

impl TempProject {
    fn new(name: &str) -> TempProject {
        let root = std::env::temp_dir().join(format!("duo_cli_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"blog\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n# keep this comment\n[dependencies]\nserde = \"1\"\n",
        )
        .unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        TempProject { root }
    }

    /// A project after `init`, with the guide's models and their first migration.
    fn scaffolded(name: &str) -> TempProject {
        let project = TempProject::new(name);
        project.ok(&["init"]);
        project.write("src/db/models/mod.rs", MODELS);
        project.ok(&["migrate", "create", "initial"]);
        project
    }

    fn run(&self, args: &[&str]) -> Output {
        run_in(&self.root, args)
    }

    /// Runs and asserts success, returning stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let (stdout, stderr) = texts(&output);
        assert!(output.status.success(), "`duo-orm {}` failed: {stderr}\n{stdout}", args.join(" "));
        stdout
    }

    fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.root.join(relative), text).unwrap();
    }

    fn migration_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.root.join("migrations")).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).env_remove("DATABASE_URL").env("NO_COLOR", "1").output().unwrap()
}

fn texts(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A failure: the exit code is not 0, and stderr is one `error:` line, never a panic.
fn assert_fails_cleanly(output: &Output, expected: &str) {
    let (stdout, stderr) = texts(output);
    assert!(!output.status.success(), "expected a failure, got success: {stdout}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expected), "`{expected}` not in: {stderr}");
}

const MODELS: &str = r#"
use duo_orm::prelude::*;

#[derive(Model, Debug)]
#[duo(table = "users", db = crate::db::DB)]
pub struct User {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(unique, max_length = 200)]
    pub email: String,
    pub name: Option<String>,
    #[duo(has_many(Post))]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug)]
#[duo(table = "posts", db = crate::db::DB)]
pub struct Post {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(max_length = 120)]
    pub title: String,
    #[duo(references = User, on_delete = cascade, index)]
    pub user_id: i64,
    #[duo(default = false)]
    pub published: bool,
}
"#;

fn live(url: &str) -> LiveSchema {
    let db = Database::new(url.to_string());
    introspect(&db).wait().expect("introspect")
}

fn user_tables(schema: &LiveSchema) -> Vec<String> {
    let mut names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).filter(|n| n != "duo_migrations").collect();
    names.sort();
    names
}

#[test]
fn init_create_up_check_down_on_every_backend() {
    let project = TempProject::new("e2e");
    let init = project.ok(&["init"]);
    assert!(init.contains("created src/db/mod.rs"), "{init}");
    assert!(init.contains("updated Cargo.toml"), "{init}");
    assert!(init.contains("next:"), "{init}");
    let manifest = std::fs::read_to_string(project.root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("# keep this comment") && manifest.contains("[package.metadata.duo-orm]"), "{manifest}");
    // Built from this checkout: duo-orm (unpublished) comes from its path.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("duo-orm");
    assert!(manifest.contains(&format!("duo-orm = {{ path = \"{}\" }}", checkout.display())), "{manifest}");
    assert!(manifest.contains("tokio = {") && manifest.contains("serde = \"1\""), "kept serde, added tokio: {manifest}");
    assert!(std::fs::read_to_string(project.root.join("src/main.rs")).unwrap().starts_with("mod db;\n"));
    // Idempotent: nothing is created or overwritten the second time.
    let again = project.ok(&["init"]);
    assert!(!again.contains("created") && !again.contains("updated"), "{again}");
    assert!(again.contains("skipped src/db/mod.rs"), "{again}");

    project.write("src/db/models/mod.rs", MODELS);
    let created = project.ok(&["migrate", "create", "initial"]);
    assert!(created.contains("+ create table users") && created.contains("+ create table posts"), "{created}");
    assert_eq!(project.migration_files().len(), 1);
    let unchanged = project.ok(&["migrate", "create", "nothing"]);
    assert!(unchanged.contains("no changes"), "{unchanged}");
    assert_eq!(project.migration_files().len(), 1, "no file for no changes");

    let backends = backends_sync("cli_e2e");
    for backend in &backends {
        let url = backend.url.as_str();
        let applied = project.ok(&["migrate", "up", "--database-url", url]);
        assert!(applied.contains("applying") && applied.contains("applied 1 migration"), "{applied}");
        let schema = live(url);
        assert_eq!(user_tables(&schema), ["posts", "users"], "{:?}", backend.dialect);
        let users = schema.table("users").unwrap();
        assert_eq!(users.primary_key, ["id"]);
        assert!(users.columns.iter().any(|c| c.name == "name" && c.nullable));
        assert!(users.columns.iter().any(|c| c.name == "email" && !c.nullable));
        assert!(users.indexes.iter().any(|i| i.columns == ["email"] && i.unique), "{:?}", users.indexes);
        let posts = schema.table("posts").unwrap();
        assert!(posts.indexes.iter().any(|i| i.columns == ["user_id"] && !i.unique), "{:?}", posts.indexes);
        let fk = &posts.foreign_keys[0];
        assert_eq!((fk.columns.as_slice(), fk.references.as_str()), (&["user_id".to_string()][..], "users"));
        assert_eq!(fk.on_delete, Some(duo_orm::model::ReferentialAction::Cascade));
        let check = project.ok(&["migrate", "check", "--database-url", url]);
        assert!(check.contains("no drift"), "{check}");
    }

    // A column and an index more.
    project.write(
        "src/db/models/mod.rs",
        &MODELS.replace(
            "    pub published: bool,\n",
            "    pub published: bool,\n    #[duo(index, default = 0)]\n    pub views: i32,\n    #[duo(index)]\n    pub tag: Option<String>,\n",
        ),
    );
    let second = project.ok(&["migration", "create", "add views"]);
    assert!(second.contains("+ add column posts.views") && second.contains("+ create index ix_posts_views"), "{second}");
    // An unbounded text column with an index: bounded on MariaDB before it is indexed.
    assert!(second.contains("+ add column posts.tag") && second.contains("+ create index ix_posts_tag"), "{second}");
    for backend in &backends {
        let url = backend.url.as_str();
        // Drift until the new migration is applied.
        let drift = project.run(&["migrate", "check", "--database-url", url]);
        assert_eq!(drift.status.code(), Some(1));
        assert!(texts(&drift).0.contains("posts.views"), "{:?}", texts(&drift));
        project.ok(&["migration", "upgrade", "--database-url", url]);
        assert!(project.ok(&["migrate", "check", "--database-url", url]).contains("no drift"));
        let status = project.ok(&["migrate", "status", "--database-url", url]);
        assert_eq!(status.matches("applied 20").count(), 2, "{status}");
        project.ok(&["migrate", "down", "--database-url", url]);
        let after_one = live(url);
        assert!(after_one.table("posts").unwrap().columns.iter().all(|c| c.name != "views"), "{:?}", backend.dialect);
        project.ok(&["migration", "downgrade", "--database-url", url]);
        assert!(user_tables(&live(url)).is_empty(), "{:?}: schema back where it started", backend.dialect);
        let status = project.ok(&["migrate", "status", "--database-url", url]);
        assert_eq!(status.matches("pending").count(), 2, "{status}");
    }
    // The project root is found from a subdirectory too.
    let from_below = run_in(&project.root.join("src/db/models"), &["migration", "history"]);
    assert!(from_below.status.success() && texts(&from_below).0.contains("add views"), "{:?}", texts(&from_below));
    // A rename is explicit: without the flag a drop and an add, with it one step.
    let renamed = MODELS.replace("pub name: Option<String>,", "#[duo(column = \"full_name\")]\n    pub name: Option<String>,");
    project.write("src/db/models/mod.rs", &renamed.replace("    pub published: bool,\n", "    pub published: bool,\n    #[duo(index, default = 0)]\n    pub views: i32,\n    #[duo(index)]\n    pub tag: Option<String>,\n"));
    let guessed = project.ok(&["migrate", "create", "rename", "--rename-column", "users.name=full_name"]);
    assert!(guessed.contains("+ rename column users.name to full_name") && !guessed.contains("drop column"), "{guessed}");
    let bad = project.run(&["migrate", "create", "x", "--rename-column", "users.nope=full_name"]);
    assert_fails_cleanly(&bad, "cannot rename column `users.nope`");
    let history = project.ok(&["migration", "history"]);
    assert!(history.contains("initial") && history.contains("add views"), "{history}");
}

/// Five migrations, each creating a table.
fn five_migrations(project: &TempProject) {
    project.ok(&["init"]);
    for n in 0..5 {
        let models: String = (0..=n)
            .map(|i| {
                format!(
                    "#[derive(Model)]\n#[duo(table = \"t{i}\")]\npub struct T{i} {{ #[duo(primary_key)] pub id: i64, pub v: String }}\n"
                )
            })
            .collect();
        project.write("src/db/models/mod.rs", &format!("use duo_orm::prelude::*;\n{models}"));
        project.ok(&["migrate", "create", &format!("table {n}")]);
    }
}

fn applied_count(backend: &TestDb) -> i64 {
    let db = Database::new(backend.url.clone());
    let migrations = duo_orm::migrate::Migrations::default();
    let history = duo_orm::migrate::Migrator::new(&migrations).history(&db).wait().unwrap();
    history.len() as i64
}

#[test]
fn two_simultaneous_runners_apply_each_migration_once() {
    let project = TempProject::new("concurrent");
    five_migrations(&project);
    for backend in backends_sync("cli_concurrent") {
        let spawn = || {
            Command::new(BIN)
                .args(["migrate", "up", "--database-url", &backend.url])
                .current_dir(&project.root)
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = (spawn(), spawn());
        let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
        assert!(first.status.success(), "{:?}", texts(&first));
        assert!(second.status.success(), "{:?}", texts(&second));
        let applied = |o: &Output| texts(o).0.matches("  applying ").count();
        assert_eq!(applied(&first) + applied(&second), 5, "{:?} / {:?}", texts(&first), texts(&second));
        assert_eq!(applied_count(&backend), 5, "{:?}", backend.dialect);
        assert_eq!(user_tables(&live(&backend.url)).len(), 5);
    }
}

#[test]
fn an_edited_or_missing_applied_migration_stops_the_run() {
    let project = TempProject::new("edited");
    five_migrations(&project);
    let files = project.migration_files();
    for backend in backends_sync("cli_edited") {
        let url = backend.url.as_str();
        project.ok(&["migrate", "up", files[1].file_stem().unwrap().to_str().unwrap(), "--database-url", url]);
        assert_eq!(applied_count(&backend), 2, "up to a target");
        let original = std::fs::read_to_string(&files[0]).unwrap();
        std::fs::write(&files[0], original.replace("name = \"v\"", "name = \"w\"")).unwrap();
        let refused = project.run(&["migrate", "up", "--database-url", url]);
        assert_fails_cleanly(&refused, "changed after it was applied");
        assert!(project.ok(&["migrate", "status", "--database-url", url]).contains("CHANGED"));
        std::fs::write(&files[0], &original).unwrap();

        std::fs::rename(&files[1], project.root.join("moved.txt")).unwrap();
        assert_fails_cleanly(&project.run(&["migrate", "up", "--database-url", url]), "its file is missing");
        std::fs::rename(project.root.join("moved.txt"), &files[1]).unwrap();
        assert_eq!(applied_count(&backend), 2, "nothing applied after a refusal");
        project.ok(&["migrate", "up", "--database-url", url]);
        assert_eq!(applied_count(&backend), 5);
    }
}

#[test]
fn a_failed_mariadb_migration_is_dirty_until_resolved() {
    let Some(backend) = backends_sync("cli_dirty").into_iter().find(|b| b.dialect == Dialect::MySql) else { return };
    let project = TempProject::new("dirty");
    project.ok(&["init"]);
    project.ok(&["migrate", "new", "broken"]);
    let file = project.migration_files().remove(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text.replacen(
        "-- write the SQL that applies this migration here",
        "CREATE TABLE half_done (id INT PRIMARY KEY);\nTHIS IS NOT SQL;",
        1,
    );
    std::fs::write(&file, broken).unwrap();
    let url = backend.url.as_str();
    let failed = project.run(&["migrate", "up", "--database-url", url]);
    assert_fails_cleanly(&failed, "failed at statement 2");
    assert!(project.ok(&["migrate", "status", "--database-url", url]).contains("DIRTY"));
    let refused = project.run(&["migrate", "up", "--database-url", url]);
    assert_fails_cleanly(&refused, "duo-orm migrate resolve");
    // Undo by hand, record it, and the run goes on.
    Database::new(url.to_string()).execute_raw("DROP TABLE half_done").wait().unwrap();
    let id = file.file_stem().unwrap().to_str().unwrap().to_string();
    project.ok(&["migrate", "resolve", &id, "--rolled-back", "--database-url", url]);
    assert!(project.ok(&["migrate", "status", "--database-url", url]).contains("pending"));
}

#[test]
fn bad_input_gives_one_line_and_a_non_zero_exit() {
    // No Cargo.toml anywhere above.
    let empty = std::env::temp_dir().join(format!("duo_cli_no_manifest_{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    if !empty.ancestors().any(|d| d.join("Cargo.toml").is_file()) {
        assert_fails_cleanly(&run_in(&empty, &["init"]), "no Cargo.toml");
        assert_fails_cleanly(&run_in(&empty, &["migrate", "status"]), "no Cargo.toml");
    }
    let _ = std::fs::remove_dir_all(&empty);

    let project = TempProject::new("bad_input");
    for dir in ["../elsewhere", "/abs/db", "src/9db", "src/fn", "db", "src/my-db"] {
        assert_fails_cleanly(&project.run(&["init", "--dir", dir]), "--dir");
    }
    project.ok(&["init", "--dir", "src/storage"]);
    assert!(std::fs::read_to_string(project.root.join("Cargo.toml")).unwrap().contains("models = \"src/storage/models\""));
    project.write("src/storage/models/mod.rs", MODELS);
    project.ok(&["migrate", "create", "initial"]);

    // init wrote a `.env` with the SQLite default; without it there is no URL at all.
    assert!(std::fs::read_to_string(project.root.join(".env")).unwrap().contains("DATABASE_URL=sqlite://"));
    std::fs::remove_file(project.root.join(".env")).unwrap();
    assert_fails_cleanly(&project.run(&["migrate", "up"]), "no database URL");
    assert_fails_cleanly(&project.run(&["migrate", "up", "--database-url", "postgresql+psycopg://u@h/db"]), "driver");
    assert_fails_cleanly(&project.run(&["migrate", "up", "--database-url", "nosuch://x"]), "nosuch");
    // Refused by the server (or unreachable without one): either way the password stays out.
    // Every URL shape, well-formed or not, through every command that reads one.
    for url in [
        "postgres://nosuchuser:s3cret-pw@127.0.0.1:5432/test",
        "postgres://app:s3cret#pw@127.0.0.1:1/app",
        "postgres://app:s3cret/pw@127.0.0.1:1/app",
        "postgres://app@127.0.0.1:1/app?PASSWORD=s3cret-pw",
        // Well-formed: the servers refuse the unknown user at once.
        "postgres://127.0.0.1:5432/app?user=nosuchuser&password=s3cret-pw",
        "mysql://127.0.0.1:3306/app?user=nosuchuser&password=s3cret-pw",
        "mysql://app:s3cret?pw@127.0.0.1:1/app",
    ] {
        for command in [&["migrate", "up"][..], &["migrate", "status"], &["migrate", "check"], &["migrate", "down", "-1"]] {
            let output = project.run(&[command, &["--database-url", url]].concat());
            assert_fails_cleanly(&output, "error");
            let (stdout, stderr) = texts(&output);
            assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"), "{url}: the password leaked: {stderr}{stdout}");
        }
    }

    let sqlite = format!("sqlite://{}", project.root.join("app.db").display());
    assert_fails_cleanly(&project.run(&["migrate", "up", "nosuch", "--database-url", &sqlite]), "no migration has the id `nosuch`");
    assert_fails_cleanly(&project.run(&["migrate", "down", "-0", "--database-url", &sqlite]), "not a target");
    assert_fails_cleanly(&project.run(&["migrate", "sql", "--dialect", "db2"]), "unknown dialect");
    // `.env` supplies the URL (init wrote the SQLite default).
    project.write(".env", &format!("DATABASE_URL={sqlite}\n"));
    assert!(project.ok(&["migrate", "up"]).contains("applied 1 migration"));

    // A message with control or zero-width characters is written as TOML reads it back.
    let message = "fix\ttabs\u{7}\u{200b} and \"quotes\" \\ back";
    project.ok(&["migrate", "new", message]);
    let newest = project.migration_files().pop().unwrap();
    let text = std::fs::read_to_string(&newest).unwrap();
    let read = duo_orm::migrate::Migration::parse(newest.file_stem().unwrap().to_str().unwrap(), &text).unwrap();
    assert_eq!(read.message, message);

    // A model error points at the file, line and column.
    project.write("src/storage/models/mod.rs", "#[derive(Model)]\nstruct Bad { #[duo(primary_key)] id: i64, #[duo(nonsense)] x: i32 }\n");
    assert_fails_cleanly(&project.run(&["migrate", "create", "bad"]), "src/storage/models/mod.rs:2:");
}

#[test]
fn every_command_has_help_with_examples_and_sql_renders_offline() {
    let project = TempProject::new("help");
    for command in
        [&["init"][..], &["migrate", "create"], &["migrate", "up"], &["migrate", "down"], &["migrate", "sql"], &["migrate", "check"]]
    {
        let mut args = command.to_vec();
        args.push("--help");
        let help = project.ok(&args);
        assert!(help.contains("Example"), "{args:?}: {help}");
    }
    project.ok(&["init"]);
    project.write("src/db/models/mod.rs", MODELS);
    project.ok(&["migrate", "create", "initial"]);
    for dialect in ["postgres", "mysql", "sqlite", "mssql", "oracle"] {
        let sql = project.ok(&["migrate", "sql", "--dialect", dialect]);
        // (MySQL declares every index inside CREATE TABLE.)
        let unique = if dialect == "mysql" { "UNIQUE KEY" } else { "CREATE UNIQUE INDEX" };
        assert!(sql.contains("CREATE TABLE") && sql.contains(unique), "{dialect}: {sql}");
        let down = project.ok(&["migrate", "sql", "--dialect", dialect, "--down"]);
        assert!(down.contains("DROP TABLE"), "{dialect}: {down}");
    }
}

#[test]
fn init_keeps_line_endings_and_inline_metadata_and_anchors_sqlite_at_the_root() {
    let project = TempProject::new("crlf");
    project.write("src/main.rs", "//! The app.\r\n\r\nfn main() {}\r\n");
    project
        .write("Cargo.toml", "[package]\r\nname = \"blog\"\r\nversion = \"0.1.0\"\r\nedition = \"2024\"\r\nmetadata = { other = 1 }\r\n");
    project.ok(&["init"]);
    let main = std::fs::read_to_string(project.root.join("src/main.rs")).unwrap();
    assert_eq!(main, "//! The app.\r\n\r\nmod db;\r\n\r\nfn main() {}\r\n");
    let manifest = std::fs::read_to_string(project.root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("other = 1") && manifest.contains("duo-orm = {"), "{manifest}");
    // The settings written inline are read back.
    project.write("src/db/models/mod.rs", MODELS);
    project.ok(&["migrate", "create", "initial"]);
    // `.env` says `sqlite://./app.db`: from a subdirectory it is still the project's file.
    let below = project.root.join("src/db");
    let output = run_in(&below, &["migrate", "up"]);
    assert!(output.status.success(), "{:?}", texts(&output));
    assert!(project.root.join("app.db").is_file());
    assert!(!below.join("app.db").exists());
}

#[test]
fn init_records_its_directory_in_an_existing_metadata_table() {
    let project = TempProject::new("init_existing_metadata");
    let manifest = project.root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[package.metadata.duo-orm]\nversion_table = \"my_versions\"\n")).unwrap();
    project.ok(&["init", "--dir", "src/store"]);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("version_table = \"my_versions\""), "kept: {text}");
    assert!(text.contains("models = \"src/store/models\""), "recorded: {text}");
    assert!(text.contains("migrations = \"migrations\""), "{text}");
    // The next `migrate create` reads the models where init put them.
    project.write("src/store/models/mod.rs", MODELS);
    let created = project.ok(&["migrate", "create", "initial"]);
    assert!(created.contains("created"), "{created}");
    assert_eq!(project.migration_files().len(), 1);
    // Run again: nothing changes.
    let again = project.ok(&["init", "--dir", "src/store"]);
    assert!(again.contains("skipped"), "{again}");
}

/// The first hour: `init` writes a dependency that resolves, the features of the database the
/// URL names, `tokio` and `serde`, and a `.gitignore`; the scaffolded app with a model from the
/// guide compiles offline against this workspace's lockfile.
#[test]
fn a_scaffolded_app_compiles_with_what_init_wrote() {
    let project = TempProject::new("scaffold_check");
    project.ok(&["init"]);
    let ignored = std::fs::read_to_string(project.root.join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == ".env") && ignored.lines().any(|l| l == "/app.db*"), "{ignored}");
    // The models and `main.rs` exactly as the setup chapter shows them.
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src/migrations.md")).unwrap();
    project.write("src/db/models/mod.rs", &guide_block(&guide, "Now define models in", "```rust,standalone_crate\n"));
    project.write("src/main.rs", &guide_block(&guide, "Use the models from `src/main.rs`", "```rust,standalone_crate,no_run\n"));
    project.ok(&["migrate", "create", "initial"]);
    project.ok(&["migrate", "up"]);
    project.ok(&["migrate", "check"]);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), project.root.join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--offline", "--quiet"])
        .current_dir(&project.root)
        // A target directory of its own, kept between runs (the workspace's is locked by the
        // test run itself).
        .env("CARGO_TARGET_DIR", workspace.join("target/scaffolded-app"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "the scaffolded app does not compile:\n{stderr}\n{stdout}");
}

/// The first code block opening with `fence` after `after` in a guide page, without the lines
/// `#` hides from the reader.
fn guide_block(page: &str, after: &str, fence: &str) -> String {
    let from = page.find(after).unwrap_or_else(|| panic!("the guide no longer says {after:?}"));
    let block = page[from..].split_once(fence).and_then(|(_, rest)| rest.split_once("```")).map(|(block, _)| block);
    let block = block.unwrap_or_else(|| panic!("no {fence:?} block after {after:?}"));
    block.lines().filter(|line| !line.starts_with("# ")).map(|line| format!("{line}\n")).collect()
}

#[test]
fn init_takes_the_source_and_backend_it_is_given() {
    let project = TempProject::new("init_sources");
    let output = Command::new(BIN)
        .args(["init", "--version", "0.3"])
        .current_dir(&project.root)
        .env("DATABASE_URL", "postgres://app@localhost/app")
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", texts(&output));
    let manifest = std::fs::read_to_string(project.root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains(r#"duo-orm = { version = "0.3", default-features = false, features = ["postgres"] }"#), "{manifest}");
    // A server URL names no file to ignore.
    let ignored = std::fs::read_to_string(project.root.join(".gitignore")).unwrap();
    assert_eq!(ignored, ".env\n");

    let project = TempProject::new("init_git");
    project.ok(&["init", "--git", "https://example.invalid/duo-orm.git"]);
    let manifest = std::fs::read_to_string(project.root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains(r#"duo-orm = { git = "https://example.invalid/duo-orm.git" }"#), "{manifest}");
    // Usage errors are clap's: exit code 2, with the usage line.
    let both = project.run(&["init", "--git", "x", "--version", "1"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(texts(&both).1.contains("cannot be used with"), "{:?}", texts(&both));
}

/// The CLI reads `DATABASE_URL` as the app does: the environment first, then `.env` as dotenvy
/// reads it (comments, quotes, `${VAR}`), a relative SQLite path from the `.env` file's
/// directory. Only `migrate up` creates a missing SQLite file.
#[test]
fn the_cli_and_the_app_read_one_env_and_a_missing_database_is_an_error() {
    let project = TempProject::scaffolded("dotenv");

    // An inline comment is a comment, not part of the file name.
    project.write(".env", "DATABASE_URL=sqlite://./app.db   # dev database\n");
    for command in [&["migrate", "status"][..], &["migrate", "check"], &["migrate", "down"]] {
        let output = project.run(command);
        assert_fails_cleanly(&output, "does not exist");
        assert!(texts(&output).1.contains("duo-orm migrate up"), "{:?}", texts(&output));
    }
    assert!(std::fs::read_dir(&project.root).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with("app.db")));
    project.ok(&["migrate", "up"]);
    assert!(project.root.join("app.db").is_file());
    assert!(!project.root.join("app.db   # dev database").exists());
    // Pending migrations, `--exit-code`: non-zero until they are applied.
    project.ok(&["migrate", "new", "more"]);
    let pending = project.run(&["migrate", "status", "--exit-code"]);
    assert_fails_cleanly(&pending, "not applied");
    assert!(project.run(&["migrate", "status"]).status.success(), "without --exit-code, status only reports");
    project.ok(&["migrate", "up"]);
    project.ok(&["migrate", "status", "--exit-code"]);

    // `${VAR}` expands; a subdirectory still means the project's file.
    project.write(".env", "NAME=app\nDATABASE_URL=\"sqlite://./${NAME}.db\"\n");
    let below = project.root.join("src/db");
    let output = run_in(&below, &["migrate", "status", "--exit-code"]);
    assert!(output.status.success(), "{:?}", texts(&output));

    // The environment wins over `.env`.
    let elsewhere = project.root.join("other.db");
    let output = Command::new(BIN)
        .args(["migrate", "up"])
        .current_dir(&project.root)
        .env("DATABASE_URL", format!("sqlite://{}", elsewhere.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", texts(&output));
    assert!(elsewhere.is_file());
}

/// A connection that fails says where it tried and why: the first connect error is kept
/// (refused, unknown host, unknown database, bad credentials), not "pool timed out".
#[test]
fn connection_errors_say_where_they_tried_and_why() {
    let project = TempProject::new("connect_errors");
    project.ok(&["init"]);
    let mut cases = vec![
        ("postgres://app:s3cret@127.0.0.1:1/app", vec!["127.0.0.1:1/app", "refused"]),
        ("postgres://app:s3cret@nosuchhost.invalid/app", vec!["nosuchhost.invalid", "lookup"]),
    ];
    if let Ok(base) = std::env::var(support::POSTGRES_ENV) {
        let (head, _) = base.rsplit_once('/').unwrap();
        cases.push((Box::leak(format!("{head}/duo_no_such_db").into_boxed_str()), vec!["duo_no_such_db", "does not exist", "3D000"]));
    }
    if let Ok(base) = std::env::var(support::MYSQL_ENV) {
        let host = base.split('@').nth(1).unwrap_or("127.0.0.1:3306/test");
        cases.push((Box::leak(format!("mysql://nosuchuser:s3cret@{host}").into_boxed_str()), vec!["nosuchuser", "Access denied", "28000"]));
    }
    for (url, expected) in cases {
        let output = project.run(&["migrate", "status", "--database-url", url]);
        assert_fails_cleanly(&output, "cannot connect");
        let (_, stderr) = texts(&output);
        for part in expected {
            assert!(stderr.contains(part), "{url}: `{part}` missing from: {stderr}");
        }
        assert!(!stderr.contains("s3cret") && !stderr.contains("at line") && !stderr.contains("timed out"), "{stderr}");
    }
}

/// `database create | drop | reset` on every backend; `drop` asks unless `-y`, and a missing
/// database points at `database create`.
#[test]
fn database_create_drop_and_reset_on_every_backend() {
    let project = TempProject::scaffolded("database_commands");
    let mut urls = vec![format!("sqlite://{}", project.root.join("made.db").display())];
    let name = format!("duo_cli_made_{}", std::process::id());
    for var in [support::POSTGRES_ENV, support::MYSQL_ENV] {
        if let Ok(base) = std::env::var(var) {
            let (head, _) = base.rsplit_once('/').unwrap();
            urls.push(format!("{head}/{name}"));
        }
    }
    for url in &urls {
        let with = |args: &[&'static str]| -> Vec<String> {
            args.iter().map(|a| a.to_string()).chain(["--database-url".to_string(), url.clone()]).collect()
        };
        // Leftovers of an earlier run go first.
        let ok = |args: &[&'static str]| project.ok(&with(args).iter().map(String::as_str).collect::<Vec<_>>());
        let run = |args: &[&'static str]| project.run(&with(args).iter().map(String::as_str).collect::<Vec<_>>());
        ok(&["database", "drop", "-y"]);
        let missing = run(&["migrate", "status"]);
        assert_fails_cleanly(&missing, "database create");
        assert!(ok(&["database", "create"]).contains("created the database"), "{url}");
        assert!(ok(&["database", "create"]).contains("already exists"), "{url}");
        if url.starts_with("postgres") {
            // `?dbname=` names the database the driver opens; the path is then ignored.
            let (head, _) = url.rsplit_once('/').unwrap();
            let by_parameter = format!("{head}/elsewhere?dbname={name}");
            assert!(project.ok(&["database", "create", "--database-url", &by_parameter]).contains("already exists"), "{by_parameter}");
        }
        assert!(ok(&["migrate", "up"]).contains("applied 1 migration"), "{url}");
        // Not on a terminal and without -y: refused, and the database stays.
        assert_fails_cleanly(&run(&["database", "drop"]), "pass -y");
        ok(&["migrate", "status", "--exit-code"]);
        // Reset: dropped, created, migrated.
        let reset = ok(&["database", "reset", "-y"]);
        assert!(reset.contains("dropped") && reset.contains("created") && reset.contains("applied 1 migration"), "{url}: {reset}");
        assert!(ok(&["database", "drop", "-y"]).contains("dropped"), "{url}");
        assert!(ok(&["database", "drop", "-y"]).contains("does not exist"), "{url}");
    }
}

/// The CLI's smaller helps: completions, `create` without models, `down 5`, `check` after a
/// `down`.
#[test]
fn the_cli_points_at_the_next_step() {
    let project = TempProject::new("next_step");
    let bash = project.ok(&["completions", "bash"]);
    assert!(bash.contains("duo-orm") && bash.contains("migrate") && bash.contains("database"), "{bash}");
    project.ok(&["init"]);
    assert_fails_cleanly(&project.run(&["migrate", "create", "initial"]), "no models found in src/db/models");
    project.write("src/db/models/mod.rs", MODELS);
    // `create` needs no database, but takes `--database-url` like every other subcommand.
    project.ok(&["migrate", "create", "initial", "--database-url", "sqlite://./app.db"]);
    project.ok(&["migrate", "up"]);
    let output = project.run(&["migrate", "down", "5"]);
    assert_fails_cleanly(&output, "migrate down -5");
    project.ok(&["migrate", "down"]);
    let output = project.run(&["migrate", "check"]);
    assert_fails_cleanly(&output, "run `duo-orm migrate up`");
}

/// `--format json` on status, history and check; `redo` reverts the last migration and applies
/// it again.
#[test]
fn json_reports_and_redo() {
    let project = TempProject::scaffolded("json_redo");
    project.ok(&["migrate", "new", "second"]);
    let history: serde_json::Value = serde_json::from_str(project.ok(&["migrate", "history", "--format", "json"]).trim()).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert!(history[0]["up"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains("users")), "{history}");
    project.ok(&["migrate", "up", &history[0]["id"].as_str().unwrap()[..14]]);
    let status: serde_json::Value = serde_json::from_str(project.ok(&["migrate", "status", "--format", "json"]).trim()).unwrap();
    assert_eq!(status[0]["state"], "applied");
    assert!(status[0]["applied_at"].is_string());
    assert_eq!(status[1]["state"], "pending");
    assert_eq!(status[1]["applied_at"], serde_json::Value::Null);
    let output = project.run(&["migrate", "check", "--format", "json"]);
    let check: serde_json::Value = serde_json::from_str(texts(&output).0.trim()).unwrap();
    assert!(output.status.success(), "the first migration makes the models' tables: {check}");
    assert_eq!(check["pending"], 1);
    assert_eq!(check["drift"].as_array().unwrap().len(), 0);

    project.ok(&["migrate", "up"]);
    let redo = project.ok(&["migrate", "redo"]);
    assert!(redo.contains("reverting") && redo.contains("applying"), "{redo}");
    project.ok(&["migrate", "status", "--exit-code"]);
}

/// `stamp` records migrations as applied without running them (under the migration lock):
/// the baseline of a database whose tables already exist, on every backend.
#[test]
fn stamp_baselines_an_existing_database() {
    let project = TempProject::scaffolded("stamp");
    for backend in backends_sync("cli_stamp") {
        let url = backend.url.as_str();
        // The tables exist already (made outside the migrations): `up` would fail on them.
        project.ok(&["migrate", "up", "--database-url", url]);
        backend.db.execute_raw("DROP TABLE duo_migrations").wait().unwrap();
        let stamped = project.ok(&["migrate", "stamp", "--database-url", url]);
        assert!(stamped.contains("recorded") && stamped.contains("steps were not run"), "{:?}: {stamped}", backend.dialect);
        project.ok(&["migrate", "status", "--exit-code", "--database-url", url]);
        assert!(project.ok(&["migrate", "stamp", "--database-url", url]).contains("nothing to record"));
    }
}

/// A migration from a branch merged after a later one was applied: refused, unless
/// `--allow-out-of-order`, which applies it in id order with a warning.
#[test]
fn a_merged_branch_migration_applies_only_when_allowed() {
    let project = TempProject::scaffolded("out_of_order");
    project.ok(&["migrate", "up"]);
    project.ok(&["migrate", "new", "from a branch"]);
    let newest = project.migration_files().pop().unwrap();
    let name = newest.file_name().unwrap().to_string_lossy().to_string();
    let (_, rest) = name.split_once('_').unwrap();
    std::fs::rename(&newest, newest.with_file_name(format!("20000101000000_{rest}"))).unwrap();
    let refused = project.run(&["migrate", "up"]);
    assert_fails_cleanly(&refused, "--allow-out-of-order");
    let applied = project.ok(&["migrate", "up", "--allow-out-of-order"]);
    assert!(applied.contains("warning") && applied.contains("20000101000000"), "{applied}");
    project.ok(&["migrate", "status", "--exit-code"]);
}

/// Checksums are SHA-256 now; an FNV checksum an earlier version recorded still matches its
/// file, and a wrong one is still a changed file.
#[test]
fn checksums_recorded_by_earlier_versions_still_match() {
    let project = TempProject::scaffolded("legacy_checksum");
    project.ok(&["migrate", "up"]);
    let file = project.migration_files().pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let db = Database::new(format!("sqlite://{}", project.root.join("app.db").display()));
    let recorded = |checksum: &str| {
        db.execute_raw(format!("UPDATE duo_migrations SET checksum = '{checksum}'")).wait().unwrap();
    };
    assert_eq!(duo_orm::migrate::checksum(&text).len(), 32);
    recorded(&duo_orm::migrate::legacy_checksum(&text));
    project.ok(&["migrate", "status", "--exit-code"]);
    recorded("0123456789abcdef");
    assert_fails_cleanly(&project.run(&["migrate", "status", "--exit-code"]), "not applied as written");
}

#[path = "fixtures/field_type_models.rs"]
mod field_type_models;

/// Enums and newtypes deriving `FieldType` get the same columns from `migrate create` (which
/// reads the models without compiling them) as from `create_all` (which asks the compiler).
#[test]
fn field_types_make_the_same_columns_in_a_migration_and_in_create_all() {
    use duo_orm::Model;
    // The same statements, in five dialects: the migration's (read from the source) and
    // create_all's (compiled).
    let fresh = TempProject::new("field_types_sql");
    fresh.ok(&["init"]);
    fresh.write("src/db/models/mod.rs", include_str!("fixtures/field_type_models.rs"));
    fresh.ok(&["migrate", "create", "subscriptions"]);
    let statement = |sql: &str| sql.trim().trim_end_matches(';').trim_end().to_string();
    for (name, dialect) in [
        ("postgres", Dialect::Postgres),
        ("mysql", Dialect::MySql),
        ("sqlite", Dialect::Sqlite),
        ("mssql", Dialect::MsSql),
        ("oracle", Dialect::Oracle),
    ] {
        let rendered = fresh.ok(&["migrate", "sql", "--dialect", name]);
        let migrated: Vec<String> = rendered.lines().filter(|l| !l.starts_with("--") && !l.trim().is_empty()).map(statement).collect();
        let created = duo_orm::ddl::create_all_sql(&[field_type_models::Subscription::meta()], dialect, false).unwrap();
        let created: Vec<String> = created.iter().map(|sql| statement(sql)).collect();
        assert_eq!(migrated, created, "{name}");
        assert_eq!(migrated[0].starts_with(r#"CREATE TYPE "cli_tier" AS ENUM ('basic', 'premium')"#), dialect == Dialect::Postgres);
    }

    let project = TempProject::scaffolded("field_types");
    project.write("src/db/models/mod.rs", include_str!("fixtures/field_type_models.rs"));
    project.ok(&["migrate", "create", "subscriptions"]);
    for backend in backends_sync("cli_field_types") {
        let url = backend.url.as_str();
        project.ok(&["migrate", "up", "--database-url", url]);
        let migrated = live(url).table("cli_subscriptions").cloned().expect("migrated table");
        assert!(project.ok(&["migrate", "check", "--database-url", url]).contains("no drift"), "{:?}", backend.dialect);
        project.ok(&["migrate", "down", "--database-url", url]);
        project.ok(&["migrate", "down", "--database-url", url]);
        let db = Database::new(url.to_string());
        db.register::<field_type_models::Subscription>();
        db.create_all().wait().expect("create_all");
        let created = live(url).table("cli_subscriptions").cloned().expect("created table");
        // (Index names may differ: SQLite's create_all writes UNIQUE inline, which names its index itself.)
        let shape = |table: &duo_orm::migrate::LiveTable| {
            let mut indexes: Vec<_> = table.indexes.iter().map(|i| (i.columns.clone(), i.unique)).collect();
            indexes.sort();
            (table.columns.clone(), table.primary_key.clone(), indexes)
        };
        assert_eq!(shape(&migrated), shape(&created), "{:?}", backend.dialect);
        let plan = created.columns.iter().find(|c| c.name == "plan").unwrap();
        let priority = created.columns.iter().find(|c| c.name == "priority").unwrap();
        assert!(plan.sql_type.to_lowercase().contains("text"), "{:?}: {plan:?}", backend.dialect);
        let small = if backend.dialect == Dialect::Sqlite { "integer" } else { "smallint" };
        assert!(priority.sql_type.to_lowercase().contains(small), "{:?}: {priority:?}", backend.dialect);
        let tier = created.columns.iter().find(|c| c.name == "tier").unwrap();
        let stored = if backend.dialect == Dialect::Postgres { "cli_tier" } else { "varchar(63)" };
        assert!(tier.sql_type.to_lowercase().contains(stored), "{:?}: {tier:?}", backend.dialect);
    }
    // A field type the CLI cannot see is an error naming it, not a guessed column.
    project.write(
        "src/db/models/mod.rs",
        &include_str!("fixtures/field_type_models.rs")
            .replace("#[derive(FieldType, Debug, Clone, PartialEq)]\npub struct Email", "pub struct Email"),
    );
    assert_fails_cleanly(&project.run(&["migrate", "create", "again"]), "`Subscription.email` has the type `Email`");
    // Two types of one name stored differently: the CLI cannot tell which a field means.
    let ambiguous = include_str!("fixtures/field_type_models.rs").replace(
        "pub struct Price(pub Cents);",
        "pub struct Price(pub Cents);\n\npub mod other {\n    use duo_orm::prelude::*;\n    #[derive(FieldType)]\n    pub struct Cents(pub String);\n}",
    );
    project.write("src/db/models/mod.rs", &ambiguous);
    assert_fails_cleanly(&project.run(&["migrate", "create", "again"]), "two types named `Cents`");
    // A newtype that wraps itself (it would not compile) is an error, not a hang or a panic.
    let cycle = include_str!("fixtures/field_type_models.rs").replace("pub struct Cents(pub i64);", "pub struct Cents(pub Price);");
    project.write("src/db/models/mod.rs", &cycle);
    assert_fails_cleanly(&project.run(&["migrate", "create", "again"]), "wraps itself");
}
