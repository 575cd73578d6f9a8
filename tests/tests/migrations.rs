//! Migrations through the library API: every step rendered in five dialects (exact SQL),
//! applied and reverted live with rows kept, and embedded migrations applied at start-up.

use duo_orm::migrate::{Migration, Migrations, Migrator, Operation, Schema, Target, diff, introspect};
use duo_orm::model::ReferentialAction;
use duo_orm::schema::{Column, ColumnType, DefaultValue, ForeignKey, Index, Table};
use duo_orm::{Dialect, Error};

use crate::support::{TestDb, backends};

fn column(name: &str, column_type: ColumnType) -> Column {
    Column { name: name.into(), column_type, nullable: false, auto_increment: false, max_length: None, default: None }
}

fn users() -> Table {
    Table {
        name: "users".into(),
        columns: vec![
            Column { auto_increment: true, ..column("id", ColumnType::BigInt) },
            Column { max_length: Some(200), ..column("email", ColumnType::Text) },
            Column { nullable: true, ..column("name", ColumnType::Text) },
        ],
        primary_key: vec!["id".into()],
        indexes: vec![Index { name: "uq_users_email".into(), columns: vec!["email".into()], unique: true }],
        foreign_keys: vec![],
    }
}

fn posts() -> Table {
    Table {
        name: "posts".into(),
        columns: vec![
            Column { auto_increment: true, ..column("id", ColumnType::BigInt) },
            Column { max_length: Some(100), ..column("title", ColumnType::Text) },
            column("user_id", ColumnType::BigInt),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        foreign_keys: vec![],
    }
}

fn author_key() -> ForeignKey {
    ForeignKey {
        name: "fk_posts_user_id".into(),
        columns: vec!["user_id".into()],
        references: "users".into(),
        referenced_columns: vec!["id".into()],
        on_delete: Some(ReferentialAction::Cascade),
        on_update: None,
    }
}

/// Two migrations: the tables, then one step of every other kind.
fn migrations() -> Migrations {
    let first = vec![Operation::CreateTable { table: users() }, Operation::CreateTable { table: posts() }];
    let widened = Column { max_length: Some(300), ..column("title", ColumnType::Text) };
    let second = vec![
        Operation::AddColumn {
            table: "posts".into(),
            column: Column { default: Some(DefaultValue::Int(0)), ..column("views", ColumnType::Integer) },
        },
        Operation::AlterColumn { table: "posts".into(), from: posts().columns[1].clone(), to: widened },
        Operation::AlterColumn {
            table: "users".into(),
            from: users().columns[2].clone(),
            to: Column { nullable: false, ..users().columns[2].clone() },
        },
        Operation::RenameColumn { table: "users".into(), from: "name".into(), to: "full_name".into() },
        Operation::CreateIndex {
            table: "posts".into(),
            index: Index { name: "ix_posts_user_id".into(), columns: vec!["user_id".into()], unique: false },
        },
        Operation::AddForeignKey { table: "posts".into(), foreign_key: author_key() },
        Operation::Sql {
            sql: Some("UPDATE posts SET views = 1".into()),
            postgres: None,
            mysql: None,
            sqlite: Some("UPDATE \"posts\" SET \"views\" = 1;\nUPDATE \"posts\" SET \"views\" = \"views\" + 0;".into()),
            mssql: None,
            oracle: None,
        },
        Operation::RenameTable { from: "posts".into(), to: "articles".into() },
    ];
    let comments_key = ForeignKey {
        name: "fk_comments_article_id".into(),
        columns: vec!["article_id".into()],
        references: "articles".into(),
        referenced_columns: vec!["id".into()],
        on_delete: Some(ReferentialAction::Cascade),
        on_update: None,
    };
    let comments = Table {
        name: "comments".into(),
        columns: vec![
            Column { auto_increment: true, ..column("id", ColumnType::BigInt) },
            column("article_id", ColumnType::BigInt),
            Column { nullable: true, ..column("body", ColumnType::Text) },
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        foreign_keys: vec![comments_key.clone()],
    };
    let body_index = Index { name: "ix_comments_body".into(), columns: vec!["body".into()], unique: false };
    let email = users().columns[1].clone();
    let third = vec![
        Operation::CreateTable { table: comments.clone() },
        // A rebuild on SQLite of a table that `articles` references with ON DELETE CASCADE.
        Operation::AlterColumn { table: "users".into(), from: email.clone(), to: Column { max_length: Some(250), ..email } },
        Operation::DropIndex { table: "users".into(), index: users().indexes[0].clone() },
        // An unbounded text column gains an index: bounded first on MySQL and SQL Server.
        Operation::CreateIndex { table: "comments".into(), index: body_index.clone() },
        // A default that is an SQL expression: a rebuild on SQLite.
        Operation::AddColumn {
            table: "users".into(),
            column: Column { max_length: Some(20), default: Some(DefaultValue::Sql("'none'".into())), ..column("note", ColumnType::Text) },
        },
        // A default changes (SQL Server drops and adds its named constraint).
        Operation::AlterColumn {
            table: "articles".into(),
            from: Column { default: Some(DefaultValue::Int(0)), ..column("views", ColumnType::Integer) },
            to: Column { default: Some(DefaultValue::Int(1)), ..column("views", ColumnType::Integer) },
        },
        Operation::DropIndex { table: "comments".into(), index: body_index },
        Operation::DropForeignKey { table: "comments".into(), foreign_key: comments_key },
        Operation::DropTable { table: Table { foreign_keys: vec![], ..comments } },
    ];
    let down = |up: &[Operation]| -> Vec<Operation> { up.iter().rev().filter_map(Operation::inverse).collect() };
    let migration = |id: &str, up: Vec<Operation>| Migration {
        id: id.into(),
        message: id.into(),
        down: down(&up),
        up,
        checksum: String::new(),
        legacy_checksum: String::new(),
    };
    Migrations::from_list(vec![
        migration("20260101000000_tables", first),
        migration("20260102000000_changes", second),
        migration("20260103000000_more", third),
    ])
    .unwrap()
}

fn rendered(dialect: Dialect, down: bool) -> String {
    let mut out = String::new();
    for (id, statements) in migrations().render(dialect, down).unwrap() {
        out.push_str(&format!("-- {id}\n"));
        for sql in statements {
            out.push_str(&sql);
            out.push_str(";\n");
        }
    }
    out
}

#[test]
fn every_step_renders_in_five_dialects() {
    for (name, dialect) in crate::support::DIALECTS {
        insta::assert_snapshot!(format!("migration_up_{name}"), rendered(dialect, false));
        insta::assert_snapshot!(format!("migration_down_{name}"), rendered(dialect, true));
    }
}

#[test]
fn what_a_dialect_cannot_do_is_an_error_not_wrong_sql() {
    let step = Operation::AddColumn { table: "users".into(), column: column("opens_at", ColumnType::Time) };
    let mut schema = Schema::default();
    schema.apply(&Operation::CreateTable { table: users() }).unwrap();
    let error = duo_orm::migrate::render_steps("m", &[step], &mut schema, Dialect::Oracle).unwrap_err();
    assert!(matches!(error, Error::UnsupportedOperation { dialect: Dialect::Oracle, .. }), "{error}");
    assert!(error.to_string().contains("TIME"), "{error}");
    // A hand-written step without SQL for the dialect names the key to add.
    let sql_only_postgres =
        Operation::Sql { sql: None, postgres: Some("SELECT 1".into()), mysql: None, sqlite: None, mssql: None, oracle: None };
    let error = duo_orm::migrate::render_steps("m", &[sql_only_postgres], &mut Schema::default(), Dialect::Oracle).unwrap_err();
    assert!(error.to_string().contains("`oracle = \"…\"`"), "{error}");
    // A step that does not fit the schema is refused before any SQL.
    let error = duo_orm::migrate::render_steps("m", &[Operation::DropTable { table: posts() }], &mut Schema::default(), Dialect::Postgres)
        .unwrap_err();
    assert!(error.to_string().contains("table `posts` does not exist"), "{error}");
}

#[test]
fn autogenerate_orders_steps_and_reverses_them() {
    let old = Schema { tables: vec![users()] };
    let mut with_fk = posts();
    with_fk.foreign_keys.push(author_key());
    let mut renamed = users();
    renamed.columns[2].name = "full_name".into();
    let new = Schema { tables: vec![renamed, with_fk] };
    let renames = duo_orm::migrate::Renames { tables: vec![], columns: vec![("users".into(), "name".into(), "full_name".into())] };
    let steps = diff(&old, &new, &renames).unwrap();
    let described: Vec<String> = steps.iter().map(Operation::describe).collect();
    assert_eq!(described, ["rename column users.name to full_name", "create table posts"]);
    // Without the rename: a drop and an add.
    let steps = diff(&old, &new, &Default::default()).unwrap();
    let described: Vec<String> = steps.iter().map(Operation::describe).collect();
    assert_eq!(described, ["create table posts", "drop column users.name", "add column users.full_name"]);
    // Applying the steps and then their inverses comes back to the start.
    let mut schema = old.clone();
    for step in &steps {
        schema.apply(step).unwrap();
    }
    assert_eq!(schema, new);
    for step in steps.iter().rev() {
        schema.apply(&step.inverse().unwrap()).unwrap();
    }
    assert_eq!(schema, old);
    assert!(diff(&new, &new, &Default::default()).unwrap().is_empty());
}

/// `SELECT COUNT(*)` through sqlx itself, on a connection of its own.
async fn count(backend: &TestDb, table: &str) -> i64 {
    use duo_orm::sqlx::{self, AssertSqlSafe, Connection};
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match backend.dialect {
        Dialect::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&backend.url).await.unwrap();
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap()
        }
        Dialect::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&backend.url).await.unwrap();
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap()
        }
        _ => {
            let mut conn = sqlx::MySqlConnection::connect(&backend.url).await.unwrap();
            sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap()
        }
    }
}

#[tokio::test]
async fn steps_apply_and_revert_live_keeping_rows() {
    let set = migrations();
    for backend in backends("migrations_live").await {
        let db = &backend.db;
        let migrator = Migrator::new(&set);
        let report = migrator.up_to(db, Target::Id("20260101000000".into())).await.unwrap();
        assert_eq!(report.applied.len(), 1);
        db.execute_raw("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')").await.unwrap();
        db.execute_raw("INSERT INTO posts (title, user_id) VALUES ('one', 1)").await.unwrap();
        db.execute_raw("INSERT INTO posts (title, user_id) VALUES ('two', 1)").await.unwrap();
        // Alters, a rename, a foreign key (a table rebuild on SQLite): no row is lost, and
        // the rebuild of `posts` does not cascade to anything.
        let report = migrator.up_to(db, Target::Id("20260102000000".into())).await.unwrap();
        assert_eq!(report.applied.len(), 1, "{:?}", backend.dialect);
        assert_eq!(count(&backend, "articles").await, 2, "{:?}", backend.dialect);
        assert_eq!(count(&backend, "users").await, 1);
        let live = introspect(db).await.unwrap();
        let articles = live.table("articles").expect("renamed");
        assert!(articles.foreign_keys.iter().any(|f| f.references == "users" && f.on_delete == Some(ReferentialAction::Cascade)));
        assert!(articles.columns.iter().any(|c| c.name == "views"));
        let users_live = live.table("users").unwrap();
        assert!(users_live.columns.iter().any(|c| c.name == "full_name" && !c.nullable), "{:?}", users_live.columns);
        let views = db.execute_raw("UPDATE articles SET views = views WHERE views = 1").await.unwrap();
        assert_eq!(views, 2, "{:?}: the hand-written step ran", backend.dialect);
        // The foreign key exists and is enforced.
        let orphan = db.execute_raw("INSERT INTO articles (title, user_id, views) VALUES ('x', 99, 0)").await;
        assert!(matches!(orphan, Err(Error::Integrity { .. })), "{:?}: {orphan:?}", backend.dialect);

        // Rebuilding `users` (SQLite), which `articles` references with ON DELETE CASCADE,
        // deletes no article; the rebuilt tables keep their indexes.
        assert_eq!(migrator.up(db).await.unwrap().applied.len(), 1, "{:?}", backend.dialect);
        assert_eq!(count(&backend, "articles").await, 2, "{:?}: no cascade", backend.dialect);
        assert_eq!(count(&backend, "users").await, 1);
        let live = introspect(db).await.unwrap();
        let articles = live.table("articles").unwrap();
        assert!(articles.indexes.iter().any(|i| i.name == "ix_posts_user_id"), "{:?}: {:?}", backend.dialect, articles.indexes);
        let users_live = live.table("users").unwrap();
        assert!(users_live.columns.iter().any(|c| c.name == "note" && c.has_default), "{:?}", users_live.columns);
        assert!(users_live.indexes.is_empty(), "{:?}: {:?}", backend.dialect, users_live.indexes);
        assert!(live.table("comments").is_none());
        // `down head` is not a target.
        assert!(migrator.down(db, Target::Head).await.unwrap_err().to_string().contains("not `head`"));

        let report = migrator.down(db, Target::Steps(2)).await.unwrap();
        assert_eq!(report.reverted.len(), 2);
        assert_eq!(count(&backend, "posts").await, 2, "{:?}: rows kept through the down steps", backend.dialect);
        let statuses = migrator.status(db).await.unwrap();
        assert_eq!(statuses.iter().filter(|s| s.state == duo_orm::migrate::State::Pending).count(), 2);
        migrator.down(db, Target::Base).await.unwrap();
        let live = introspect(db).await.unwrap();
        assert!(live.table("users").is_none() && live.table("posts").is_none(), "{:?}", backend.dialect);
        assert!(migrator.history(db).await.unwrap().is_empty());
    }
}

#[test]
fn tables_that_reference_each_other_drop_together() {
    let mut a = users();
    a.name = "a".into();
    let mut b = posts();
    b.name = "b".into();
    let to = |from: &str, target: &str, column: &str| ForeignKey {
        name: format!("fk_{from}_{column}"),
        columns: vec![column.into()],
        references: target.into(),
        referenced_columns: vec!["id".into()],
        on_delete: None,
        on_update: None,
    };
    a.foreign_keys.push(to("a", "b", "name"));
    b.foreign_keys.push(to("b", "a", "user_id"));
    let old = Schema { tables: vec![a, b] };
    let steps = diff(&old, &Schema::default(), &Default::default()).unwrap();
    let described: Vec<String> = steps.iter().map(Operation::describe).collect();
    assert_eq!(described, ["drop foreign key fk_a_name on a", "drop foreign key fk_b_user_id on b", "drop table b", "drop table a"]);
    let mut schema = old.clone();
    for step in &steps {
        schema.apply(step).unwrap();
    }
    for step in steps.iter().rev() {
        schema.apply(&step.inverse().unwrap()).unwrap();
    }
    assert_eq!(schema.tables.len(), 2);
    assert!(schema.tables.iter().all(|t| t.foreign_keys.len() == 1), "the cycle comes back whole");
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_migrated_schema() {
    let embedded = duo_orm::embed_migrations!("migrations").unwrap();
    let db = duo_orm::Database::new("sqlite::memory:");
    Migrator::new(&embedded).up(&db).await.unwrap();
    // The run's connection went back to the pool (closing it would drop the database).
    assert_eq!(db.execute_raw("UPDATE mig_accounts SET balance = balance").await.unwrap(), 2);
    assert_eq!(Migrator::new(&embedded).status(&db).await.unwrap().len(), 2);
}

#[tokio::test]
async fn embedded_migrations_apply_at_start_up() {
    let embedded = duo_orm::embed_migrations!("migrations").unwrap();
    assert_eq!(embedded.len(), 2);
    for backend in backends("migrations_embedded").await {
        let db = &backend.db;
        let migrator = Migrator::new(&embedded).version_table("app_versions");
        assert_eq!(migrator.up(db).await.unwrap().applied.len(), 2);
        // Idempotent at every start.
        assert!(migrator.up(db).await.unwrap().applied.is_empty());
        assert_eq!(count(&backend, "mig_accounts").await, 2, "{:?}", backend.dialect);
        let history = migrator.history(db).await.unwrap();
        assert_eq!(history.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["20260101000000_accounts", "20260102000000_seed"]);
        // The same from sync code.
        migrator.down(db, Target::Base).wait().unwrap();
        assert!(introspect(db).await.unwrap().table("mig_accounts").is_none());
    }
}

#[tokio::test]
async fn a_pending_migration_older_than_an_applied_one_is_refused() {
    let all: Vec<Migration> = migrations().iter().cloned().collect();
    for backend in backends("migrations_order").await {
        let db = &backend.db;
        // The first and the third are recorded as applied; the second arrives later (a
        // merged branch).
        let before_merge = Migrations::from_list(vec![all[0].clone(), all[2].clone()]).unwrap();
        Migrator::new(&before_merge).up_to(db, Target::Id(all[0].id.clone())).await.unwrap();
        Migrator::new(&before_merge).resolve(db, &all[2].id, true).await.unwrap();
        let merged = Migrations::from_list(all.clone()).unwrap();
        let error = Migrator::new(&merged).up(db).await.unwrap_err();
        assert!(error.to_string().contains("sorts before"), "{:?}: {error}", backend.dialect);
        // The refusal released the lock: the next run gets through to the same refusal.
        assert_eq!(Migrator::new(&merged).status(db).await.unwrap().len(), 3);
        assert!(Migrator::new(&merged).up(db).await.unwrap_err().to_string().contains("sorts before"));
    }
}

#[tokio::test]
async fn a_sqlite_rebuild_refuses_to_drop_what_hand_written_sql_added() {
    let set = migrations();
    let backend = backends("migrations_guard").await.into_iter().find(|b| b.dialect == Dialect::Sqlite).unwrap();
    let db = &backend.db;
    let migrator = Migrator::new(&set);
    migrator.up_to(db, Target::Id("20260101000000".into())).await.unwrap();
    db.execute_raw("ALTER TABLE users ADD COLUMN extra text").await.unwrap();
    let error = migrator.up(db).await.unwrap_err();
    assert!(error.to_string().contains("column extra"), "{error}");
    assert_eq!(migrator.history(db).await.unwrap().len(), 1, "nothing applied");
    db.execute_raw("ALTER TABLE users DROP COLUMN extra").await.unwrap();
    assert_eq!(migrator.up(db).await.unwrap().applied.len(), 2);
}

#[tokio::test]
async fn a_hostile_version_table_name_is_an_identifier_never_sql() {
    let embedded = duo_orm::embed_migrations!("migrations").unwrap();
    // Each would end a string literal or an identifier early if it were interpolated: the
    // first ran SLEEP(3) on MariaDB when only `'` was doubled.
    let hostile = ["v\\'; SELECT SLEEP(3); --x", "v\"q", "v`b", "v]s", "v'; DROP TABLE mig_accounts; --"];
    for backend in backends("migrations_hostile_table").await {
        let db = &backend.db;
        for name in hostile {
            let migrator = Migrator::new(&embedded).version_table(name);
            let d = backend.dialect;
            migrator.up(db).await.unwrap_or_else(|e| panic!("{d:?} {name:?}: {e}"));
            let history = migrator.history(db).await.unwrap();
            assert_eq!(history.len(), 2, "{d:?} {name:?}: recorded in its own table");
            assert!(introspect(db).await.unwrap().table(name).is_some(), "{d:?}: the table is named {name:?} exactly");
            migrator.down(db, Target::Base).await.unwrap();
            assert!(migrator.history(db).await.unwrap().is_empty());
        }
        assert_eq!(introspect(db).await.unwrap().table("mig_accounts").map(|_| ()), None, "nothing dropped by accident");
        for bad in ["", "   ", " padded", "tab\tname", "nul\0", &"x".repeat(64)] {
            let error = Migrator::new(&embedded).version_table(bad).up(db).await.unwrap_err();
            assert!(
                matches!(error, duo_orm::Error::Migration { kind: duo_orm::MigrationKind::Name, message: ref m, .. } if m.contains("version table name")),
                "{bad:?}: {error}"
            );
        }
    }
}

/// Earlier versions stored `applied_at` as `varchar(32)` ISO text. Reading such a table works
/// as it is; the first run that writes converts the column to a timestamp, keeping the times.
#[tokio::test]
async fn a_version_table_with_text_times_is_converted_keeping_them() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let embedded = duo_orm::embed_migrations!("migrations").unwrap();
    let first = embedded.iter().next().unwrap();
    let recorded_at = UNIX_EPOCH + Duration::from_secs(1_795_500_000);
    for backend in backends("migrations_applied_at").await {
        let db = &backend.db;
        let d = backend.dialect;
        let table = "legacy_versions";
        let migrator = Migrator::new(&embedded).version_table(table);
        migrator.up_to(db, Target::Id(first.id.clone())).await.unwrap();
        // The table and row exactly as the earlier version wrote them.
        db.execute_raw(format!("DROP TABLE {table}")).await.unwrap();
        db.execute_raw(format!(
            "CREATE TABLE {table} (id varchar(255) NOT NULL PRIMARY KEY, checksum varchar(32) NOT NULL, \
             applied_at varchar(32) NOT NULL, dirty bigint NOT NULL)"
        ))
        .await
        .unwrap();
        db.execute_raw(format!(
            "INSERT INTO {table} (id, checksum, applied_at, dirty) VALUES ('{}', '{}', '2026-11-24T06:00:00Z', 0)",
            first.id, first.checksum
        ))
        .await
        .unwrap();
        let history = migrator.history(db).await.unwrap();
        assert_eq!(history[0].applied_at, recorded_at, "{d:?}: read before conversion");

        assert_eq!(migrator.up(db).await.unwrap().applied.len(), 1, "{d:?}");
        let live = introspect(db).await.unwrap();
        let column = live.table(table).unwrap().columns.iter().find(|c| c.name == "applied_at").unwrap().sql_type.clone();
        let expected = match d {
            Dialect::Postgres => "timestamp with time zone",
            Dialect::MySql => "datetime(6)",
            _ => "varchar(32)",
        };
        assert_eq!(column.to_lowercase(), expected, "{d:?}");
        let history = migrator.history(db).await.unwrap();
        assert_eq!(history[0].applied_at, recorded_at, "{d:?}: kept through the conversion");
        // The new row has the server's time, in UTC whatever the session's time zone.
        let now = SystemTime::now();
        let skew = history[1].applied_at.duration_since(now).or_else(|e| Ok::<_, ()>(e.duration())).unwrap();
        assert!(skew < Duration::from_secs(3600), "{d:?}: {:?} is not now ({now:?})", history[1].applied_at);
        // Converted once: a second run finds the timestamp and leaves it alone.
        assert!(migrator.up(db).await.unwrap().applied.is_empty());
        if d == Dialect::Sqlite {
            // A time no one can read (a hand-edited row) shows as 1970; the history stays readable.
            db.execute_raw(format!("UPDATE {table} SET applied_at = 'last tuesday' WHERE id = '{}'", first.id)).await.unwrap();
            assert_eq!(migrator.history(db).await.unwrap()[0].applied_at, UNIX_EPOCH);
        }
        migrator.down(db, Target::Base).await.unwrap();
    }
}

/// `create_all` and a migration autogenerated from the same models write the same DDL, in every
/// dialect: a database made either way takes the same later migrations.
mod same_ddl {
    use duo_orm::migrate::{Schema, diff, render_steps};
    use duo_orm::prelude::*;

    #[derive(FieldType, Debug, Clone, Copy, PartialEq)]
    #[duo(rename_all = "snake_case")]
    pub enum Role {
        Writer,
        Editor,
    }

    /// In a PostgreSQL enum type: `create_all` creates it first, as the migration does.
    #[derive(FieldType, Debug, Clone, Copy, PartialEq)]
    #[duo(postgres_enum = "ddl_seniority", rename_all = "snake_case")]
    pub enum Seniority {
        Junior,
        Senior,
    }

    #[derive(Model, Debug, Clone)]
    #[duo(table = "ddl_authors", unique(first_name, last_name))]
    pub struct Author {
        #[duo(primary_key)]
        pub id: i64,
        #[duo(unique, max_length = 200)]
        pub email: String,
        #[duo(max_length = 80)]
        pub first_name: String,
        #[duo(max_length = 80)]
        pub last_name: String,
        #[duo(index, default = "writer")]
        pub role: Role,
        #[duo(default = true)]
        pub active: bool,
        pub seniority: Option<Seniority>,
    }

    #[derive(Model, Debug, Clone)]
    #[duo(table = "ddl_articles", index(author_id, published))]
    pub struct Article {
        #[duo(primary_key)]
        pub id: i64,
        #[duo(references = Author, on_delete = cascade)]
        pub author_id: i64,
        #[duo(max_length = 120, unique)]
        pub slug: String,
        pub body: Option<String>,
        #[duo(default = false)]
        pub published: bool,
    }

    #[test]
    fn create_all_and_an_autogenerated_migration_write_the_same_ddl() {
        let schema = Schema { tables: vec![Author::meta().to_table(), Article::meta().to_table()] };
        let steps = diff(&Schema::default(), &schema, &Default::default()).unwrap();
        for (name, dialect) in crate::support::DIALECTS {
            let migrated = render_steps("m", &steps, &mut Schema::default(), dialect).unwrap();
            let created = duo_orm::ddl::create_all_sql(&[Author::meta(), Article::meta()], dialect, false).unwrap();
            assert_eq!(migrated, created, "{name}");
            let creates_type = created[0].starts_with(r#"CREATE TYPE "ddl_seniority" AS ENUM ('junior', 'senior')"#);
            assert_eq!(creates_type, dialect == Dialect::Postgres, "{name}: {created:#?}");
            // Unique indexes are indexes everywhere (MySQL declares every index with the table).
            let separate_unique = created.iter().filter(|sql| sql.starts_with("CREATE UNIQUE INDEX")).count();
            assert_eq!(separate_unique, if dialect == Dialect::MySql { 0 } else { 3 }, "{name}: {created:#?}");
        }
    }

    /// The reason for the rule: a unique index `create_all` made is one a migration can drop.
    #[tokio::test]
    async fn a_database_made_by_create_all_takes_a_migration_that_drops_a_unique_index() {
        use crate::setup;
        for t in crate::support::backends("ddl_drop_unique").await {
            setup!(t.db, Author);
            let before = Schema { tables: vec![Author::meta().to_table()] };
            let mut after = before.clone();
            after.tables[0].indexes.retain(|index| index.columns != ["email"]);
            let steps = diff(&before, &after, &Default::default()).unwrap();
            assert_eq!(steps.len(), 1, "{steps:?}");
            for sql in render_steps("m", &steps, &mut before.clone(), t.dialect).unwrap() {
                t.db.execute_raw(sql).await.unwrap_or_else(|e| panic!("{:?}: {e}", t.dialect));
            }
            let author = |first: &str| serde_json::json!({"email": "same@example.com", "first_name": first, "last_name": "Lovelace"});
            Author::create(author("Ada")).on(&t.db).await.unwrap();
            Author::create(author("Augusta")).on(&t.db).await.unwrap();
        }
    }
}

/// PostgreSQL enum types in migrations: the columns say which types exist, so steps and their
/// inverses create, extend and drop them; other dialects keep the labels as text.
mod enum_types {
    use super::*;
    use duo_orm::migrate::{Renames, compare};
    use duo_orm::schema::EnumType;

    fn tier(labels: &[&str]) -> ColumnType {
        ColumnType::Enum(EnumType { name: "tier".into(), labels: labels.iter().map(|l| l.to_string()).collect() })
    }

    fn accounts(labels: &[&str], trial: ColumnType, kind: ColumnType) -> Table {
        Table {
            name: "tiered".into(),
            columns: vec![
                Column { auto_increment: true, ..column("id", ColumnType::BigInt) },
                Column { default: Some(DefaultValue::Str("free".into())), ..column("tier", tier(labels)) },
                Column { nullable: true, ..column("trial", trial) },
                Column { default: Some(DefaultValue::Str("free".into())), ..column("kind", kind) },
            ],
            primary_key: vec!["id".into()],
            indexes: vec![Index { name: "ix_tiered_tier".into(), columns: vec!["tier".into()], unique: false }],
            foreign_keys: vec![],
        }
    }

    fn log(labels: &[&str]) -> Table {
        Table {
            name: "tier_log".into(),
            columns: vec![Column { auto_increment: true, ..column("id", ColumnType::BigInt) }, column("tier", tier(labels))],
            primary_key: vec!["id".into()],
            indexes: vec![],
            foreign_keys: vec![],
        }
    }

    /// Autogenerated: the table; a label inserted before `pro` (both columns use the type) in
    /// the migration that also creates a table using the new label, and indexes `trial`;
    /// `trial` back to plain text, and `kind` from text (with a default) to the type.
    fn schemas() -> [Schema; 4] {
        let two = ["free", "pro"];
        let three = ["free", "team", "pro"];
        let mut indexed = accounts(&three, tier(&three), ColumnType::Text);
        indexed.indexes.push(Index { name: "ix_tiered_trial".into(), columns: vec!["trial".into()], unique: false });
        let mut last = accounts(&three, ColumnType::Text, tier(&three));
        last.indexes = indexed.indexes.clone();
        [
            Schema::default(),
            Schema { tables: vec![accounts(&two, tier(&two), ColumnType::Text)] },
            Schema { tables: vec![indexed, log(&three)] },
            Schema { tables: vec![last, log(&three)] },
        ]
    }

    fn set() -> Migrations {
        let schemas = schemas();
        let ids = ["20260301000000_tiered", "20260302000000_team", "20260303000000_trial_text"];
        let list = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let up = diff(&schemas[i], &schemas[i + 1], &Renames::default()).unwrap();
                let down = up.iter().rev().filter_map(Operation::inverse).collect();
                Migration { id: id.to_string(), message: id.to_string(), up, down, checksum: String::new(), legacy_checksum: String::new() }
            })
            .collect();
        Migrations::from_list(list).unwrap()
    }

    fn rendered(dialect: Dialect, down: bool) -> String {
        let mut out = String::new();
        for (id, statements) in set().render(dialect, down).unwrap() {
            out.push_str(&format!("-- {id}\n"));
            statements.iter().for_each(|sql| out.push_str(&format!("{sql};\n")));
        }
        out
    }

    #[test]
    fn enum_types_follow_their_columns_in_five_dialects() {
        let described: Vec<String> = set().iter().flat_map(|m| m.up.iter().map(Operation::describe)).collect();
        assert_eq!(
            described,
            [
                "create table tiered",
                "create table tier_log",
                "alter column tiered.tier (labels of enum tier (free, pro) -> (free, team, pro))",
                "alter column tiered.trial (labels of enum tier (free, pro) -> (free, team, pro))",
                "create index ix_tiered_trial on tiered (trial)",
                "alter column tiered.trial (type enum:tier -> text)",
                "alter column tiered.kind (type text -> enum:tier)",
            ]
        );
        for (name, dialect) in crate::support::DIALECTS {
            insta::assert_snapshot!(format!("enum_types_up_{name}"), rendered(dialect, false));
            if dialect == Dialect::Postgres {
                // PostgreSQL cannot take a label back out of a type.
                let error = set().render(dialect, true).unwrap_err();
                assert!(matches!(&error, Error::UnsupportedOperation { .. }), "{error}");
                assert!(error.to_string().contains("cannot remove or reorder"), "{error}");
            } else {
                insta::assert_snapshot!(format!("enum_types_down_{name}"), rendered(dialect, true));
            }
        }
        // A migration file keeps the labels.
        let migration = &set().iter().next().unwrap().clone();
        let text = migration.to_text().unwrap();
        assert!(text.contains(r#"enum = "tier""#) && text.contains(r#"labels = ["free", "pro"]"#), "{text}");
        assert_eq!(Migration::parse(&migration.id, &text).unwrap().up, migration.up);
        // A type name that would need quoting inside quotes is refused, never written.
        let hostile = ColumnType::Enum(EnumType { name: "tier\" AS ENUM ('x'); DROP TABLE t; --".into(), labels: vec!["a".into()] });
        let hostile = Schema { tables: vec![accounts(&["a"], hostile, ColumnType::Text)] };
        let steps = diff(&Schema::default(), &hostile, &Renames::default()).unwrap();
        for (name, dialect) in crate::support::DIALECTS {
            // Refused everywhere, not only where PostgreSQL would create it: a file means the same on every dialect.
            let error = duo_orm::migrate::render_steps("m", &steps, &mut Schema::default(), dialect).unwrap_err();
            assert!(matches!(&error, Error::Migration { .. }) && error.to_string().contains("not a plain identifier"), "{name}: {error}");
        }
    }

    #[tokio::test]
    async fn enum_types_migrate_live_with_their_rows() {
        let set = set();
        for backend in backends("migrations_enum_types").await {
            let (db, d) = (&backend.db, backend.dialect);
            let migrator = Migrator::new(&set);
            migrator.up_to(db, Target::Id("20260301000000".into())).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
            db.execute_raw("INSERT INTO tiered (tier, trial) VALUES ('pro', 'free')").await.unwrap();
            migrator.up_to(db, Target::Id("20260302000000".into())).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
            db.execute_raw("INSERT INTO tiered (tier, trial) VALUES ('team', 'team')").await.unwrap();
            // The new table took the label the same migration added.
            db.execute_raw("INSERT INTO tier_log (tier) VALUES ('team')").await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
            let live = introspect(db).await.unwrap();
            assert!(compare(&schemas()[2], &live, &["duo_migrations"]).is_empty(), "{d:?}: {:?}", compare(&schemas()[2], &live, &[]));
            if d == Dialect::Postgres {
                assert_eq!(live.enum_types, [EnumType { name: "tier".into(), labels: vec!["free".into(), "team".into(), "pro".into()] }]);
                // PostgreSQL sorts by the type's order: `team` before `pro`.
                let sorted = db.execute_raw("UPDATE tiered SET trial = NULL WHERE tier < 'pro'").await.unwrap();
                assert_eq!(sorted, 1);
                // Drift in the labels is reported.
                let drift = compare(&schemas()[1], &live, &["duo_migrations"]);
                assert!(
                    drift.iter().any(|d| d.0.contains("enum type `tier` has the labels (free, team, pro) in the database")),
                    "{drift:?}"
                );
            }
            migrator.up(db).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
            assert_eq!(count(&backend, "tiered").await, 2, "{d:?}");
            // `kind` went from text with a default to the type, keeping its rows and its default.
            db.execute_raw("INSERT INTO tiered (tier) VALUES ('pro')").await.unwrap();
            let live = introspect(db).await.unwrap();
            assert!(compare(&schemas()[3], &live, &["duo_migrations"]).is_empty(), "{d:?}: {:?}", compare(&schemas()[3], &live, &[]));
            db.execute_raw("DELETE FROM tiered WHERE kind = 'free' AND tier = 'pro' AND trial IS NULL").await.unwrap();
            // `trial` is text now; the type stays for `tier`.
            db.execute_raw("UPDATE tiered SET trial = 'anything'").await.unwrap();
            db.execute_raw("UPDATE tiered SET trial = NULL").await.unwrap();
            if d == Dialect::Postgres {
                // `trial` goes back to the type; then the label cannot leave it.
                let error = migrator.down(db, Target::Base).await.unwrap_err();
                assert!(error.to_string().contains("cannot remove or reorder"), "{error}");
                assert_eq!(migrator.history(db).await.unwrap().len(), 2);
            } else {
                migrator.down(db, Target::Base).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
                assert!(introspect(db).await.unwrap().table("tiered").is_none());
            }
        }
    }

    /// Down to the table's migration and back: the type goes with its last column and comes back.
    #[tokio::test]
    async fn the_last_column_of_a_type_takes_it_along() {
        let schemas = schemas();
        for backend in backends("migrations_enum_drop").await {
            let (db, d) = (&backend.db, backend.dialect);
            let up = diff(&schemas[0], &schemas[1], &Renames::default()).unwrap();
            let down: Vec<Operation> = up.iter().rev().filter_map(Operation::inverse).collect();
            for steps in [&up, &down, &up] {
                let mut schema = if std::ptr::eq(steps, &down) { schemas[1].clone() } else { Schema::default() };
                for sql in duo_orm::migrate::render_steps("m", steps, &mut schema, d).unwrap() {
                    db.execute_raw(sql).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
                }
            }
            db.execute_raw("INSERT INTO tiered (tier) VALUES ('pro')").await.unwrap();
            assert_eq!(count(&backend, "tiered").await, 1);
        }
    }
}
