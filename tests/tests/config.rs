//! URL parsing, dialect expectations, laziness and password hygiene (no server needed).

use duo_orm::{Database, DatabaseUrl, Dialect, Error};

fn config_message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Configuration { message, .. }) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn driverless_urls_and_aliases() {
    let cases = [
        ("postgres://u@h/db", Dialect::Postgres),
        ("postgresql://u@h/db", Dialect::Postgres),
        ("mysql://u@h/db", Dialect::MySql),
        ("mariadb://u@h/db", Dialect::MySql),
        ("sqlite://./app.db", Dialect::Sqlite),
        ("sqlite::memory:", Dialect::Sqlite),
        ("sqlite:app.db", Dialect::Sqlite),
        ("mssql://sa@h/db", Dialect::MsSql),
        ("oracle://u@h/svc", Dialect::Oracle),
    ];
    for (url, dialect) in cases {
        assert_eq!(DatabaseUrl::parse(url).unwrap().dialect(), dialect, "{url}");
        assert_eq!(Database::new(url).dialect().unwrap(), dialect, "{url}");
    }
    assert!(DatabaseUrl::parse("sqlite::memory:").unwrap().is_sqlite_memory());
}

#[test]
fn bad_urls_say_what_is_wrong() {
    let m = config_message(DatabaseUrl::parse("postgresql+psycopg://u:pw@h/db"));
    assert!(m.contains("drop the driver part") && m.contains("postgresql://"), "{m}");
    let m = config_message(DatabaseUrl::parse("redis://h/0"));
    assert!(m.contains("unknown database URL scheme `redis`") && m.contains("postgres://") && m.contains("sqlite://"), "{m}");
    let m = config_message(DatabaseUrl::parse("   "));
    assert!(m.contains("empty"), "{m}");
    let m = config_message(DatabaseUrl::parse("localhost:5432"));
    assert!(m.contains("not a database URL"), "{m}");
    let m = config_message(DatabaseUrl::parse("postgres://"));
    assert!(m.contains("no host"), "{m}");
    let m = config_message(Database::new("mysql://u@h/db").expect_dialect(Dialect::Postgres).url());
    assert!(m.contains("PostgreSQL") && m.contains("MySQL"), "the error names both dialects: {m}");
}

#[tokio::test]
async fn nothing_connects_until_used_and_connect_surfaces_errors() {
    // Port 1 refuses connections: constructing and rendering must not try it.
    let db = Database::new("postgres://app:s3cret-pw@127.0.0.1:1/none").acquire_timeout(std::time::Duration::from_secs(2));
    assert_eq!(db.dialect().unwrap(), Dialect::Postgres);
    let err = db.connect().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
    assert!(!text.contains("s3cret-pw"), "password leaked: {text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn sql_server_and_oracle_render_but_do_not_connect() {
    let db = Database::new("mssql://sa:pw@localhost/app");
    let err = db.connect().await.unwrap_err();
    assert!(matches!(err, Error::UnsupportedOperation { dialect: Dialect::MsSql, .. }), "{err:?}");
}

#[test]
fn passwords_never_appear_in_debug_or_display() {
    let url = "postgres://app:hunter2@db.internal:5432/prod?sslmode=require&password=hunter2";
    let parsed = DatabaseUrl::parse(url).unwrap();
    for shown in [format!("{parsed}"), format!("{parsed:?}"), format!("{:?}", Database::new(url))] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
    }
    let bad = Database::new("postgres://app:hunter2@db/x").expect_dialect(Dialect::MySql);
    let m = config_message(bad.url());
    assert!(!m.contains("hunter2") && m.contains("***"), "{m}");
    assert_eq!(duo_orm::config::redact("mysql://root@h/db"), "mysql://root@h/db");
}

#[test]
fn pool_options_are_const_and_exposed() {
    static DB: Database = Database::from_env("DUO_ORM_UNSET_VARIABLE_FOR_TESTS", "sqlite::memory:")
        .max_connections(3)
        .acquire_timeout(std::time::Duration::from_secs(5));
    assert_eq!(DB.options().max_connections, 3);
    assert_eq!(DB.options().acquire_timeout, std::time::Duration::from_secs(5));
    assert_eq!(DB.dialect().unwrap(), Dialect::Sqlite);
}
