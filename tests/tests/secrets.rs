//! Passwords never surface: every URL shape, through `Debug`, `Display`, errors and tracing at
//! TRACE (live, where the drivers log), and a property test over arbitrary passwords.

use duo_orm::config::redact;
use duo_orm::{Database, DatabaseUrl, Dialect, Error};
use proptest::prelude::*;

use crate::support::{LogBuffer, MYSQL_ENV, POSTGRES_ENV};

/// The password's first and last characters: a leak of any part of it shows one of them.
const HEAD: &str = "Zq";
const TAIL: &str = "Xw";

fn leaks(text: &str) -> bool {
    text.contains(HEAD) || text.contains(TAIL)
}

/// The URL shapes a password can sit in, for `scheme`, `host` (with port) and `password`.
///
/// In a query value, an unencoded `&` followed by `key=` starts the next parameter (for the
/// drivers too), so query shapes carry `&` encoded.
fn shapes(scheme: &str, host: &str, password: &str) -> Vec<String> {
    let in_query = password.replace('&', "%26");
    let mut shapes = vec![
        format!("{scheme}://{host}/app?user=app&password={in_query}"),
        format!("{scheme}://{host}/app?user=app&password={in_query}&sslmode=disable"),
        format!("{scheme}://app@{host}/app?PASSWORD={in_query}"),
        format!("{scheme}://app@{host}/app?Pwd={in_query}"),
        format!("{scheme}://app@{host}/app?sslpassword={in_query}"),
        // A password cut by an unencoded `&` without a `=` after it.
        format!("{scheme}://{host}/app?user=app&password={}", password.replace('=', "%3D")),
    ];
    shapes.extend([
        format!("{scheme}://app:{password}@{host}/app"),
        format!("{scheme}://app:{password}@{host}/app?sslmode=disable"),
        format!("{scheme}://app:{password}@{host}"),
    ]);
    shapes
}

/// Everything a URL shows without connecting, with what went wrong where it was refused.
fn shown_offline(url: &str) -> String {
    let mut shown = format!("{}\n{:?}\n", redact(url), Database::new(url));
    match DatabaseUrl::parse(url) {
        Ok(parsed) => shown.push_str(&format!("{parsed}\n{parsed:?}\n")),
        Err(error) => shown.push_str(&format!("{error}\n{error:?}\n")),
    }
    match Database::new(url).expect_dialect(Dialect::Oracle).url() {
        Ok(parsed) => shown.push_str(&format!("{parsed}\n")),
        Err(error) => shown.push_str(&format!("{error}\n{error:?}\n")),
    }
    shown
}

fn password_text() -> impl Strategy<Value = String> {
    let characters = prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec!['/', '#', '?', '@', ':', '&', '=', ';', '%', '+', ' ', '\'', '"', '\\', '[', ']']),
            prop::char::range('a', 'z'),
            prop::char::range('0', '9'),
            prop::sample::select(vec!['é', 'ß', '中', '\u{200b}']),
        ],
        0..12,
    );
    characters.prop_map(|middle| format!("{HEAD}{}{TAIL}", middle.into_iter().collect::<String>()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_url_shape_shows_its_password(password in password_text(), scheme in prop::sample::select(vec!["postgres", "postgresql", "mysql", "mariadb", "mssql", "oracle"])) {
        for url in shapes(scheme, "db.internal:5432", &password) {
            let shown = shown_offline(&url);
            prop_assert!(!leaks(&shown), "{url} shows its password:\n{shown}");
        }
    }
}

#[test]
fn refused_shapes_say_why_without_the_value() {
    let refused = [
        ("postgres://app:pa/ss@db/app", "percent-encode"),
        ("postgres://app:pa#ss@db/app", "percent-encode"),
        ("mysql://app:12?ss@db/app", "percent-encode"),
        ("postgres://app@db/app?PASSWORD=s3cret", "`PASSWORD`"),
        ("mysql://app@db/app?Password=s3cret", "`Password`"),
        ("mysql://db/app", "`root`"),
        ("mysql://app@db/app?user=other", "twice"),
        ("postgres://db/app?password=s3&cret", "without `="),
    ];
    for (url, says) in refused {
        match DatabaseUrl::parse(url) {
            Err(Error::Configuration { message, .. }) => {
                assert!(message.contains(says), "{url}: {message}");
                assert!(!message.contains("s3cret") && !message.contains("pa/ss") && !message.contains("ss@"), "{message}");
            }
            other => panic!("{url} must be refused, got {other:?}"),
        }
    }
    // Accepted: an `@` in a query value, and MySQL's `user=`/`password=` (moved where its
    // driver reads them).
    DatabaseUrl::parse("postgres://app@db:5432/app?application_name=me@host").unwrap();
    DatabaseUrl::parse("mysql://db.internal/app?user=app&password=s3cret").unwrap();
    assert_eq!(redact("postgres://db/app?password=s3&cret&sslmode=require"), "postgres://db/app?password=***&sslmode=require");
    // A name the drivers decode is a secret's name too; a tail after an unencoded `&` that is
    // no parameter any driver reads is still the secret's.
    assert_eq!(redact("postgres://db/app?p%61ssword=s3cret"), "postgres://db/app?p%61ssword=***");
    assert_eq!(redact("postgres://db/app?password=s3&cret=x&sslmode=require"), "postgres://db/app?password=***&sslmode=require");
    DatabaseUrl::parse("postgres://app@db/app?p%61ssword=s3cret").unwrap();
}

/// Connects (and runs a statement) with `url` under a TRACE subscriber on this thread, where
/// a current-thread test runs the driver's work too; returns the log and the outcome.
async fn traced_attempt(url: &str) -> String {
    let captured = LogBuffer::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    crate::support::keep_tracing_on();
    let db = Database::new(url).acquire_timeout(std::time::Duration::from_secs(1));
    let outcome = match db.execute_raw("SELECT 1").await {
        Ok(_) => "connected".to_string(),
        Err(error) => format!("{error}\n{error:?}"),
    };
    let _ = db.disconnect().await;
    drop(_guard);
    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    format!("{outcome}\n{log}")
}

#[tokio::test]
async fn drivers_and_errors_never_log_the_password() {
    let password = format!("{HEAD}p@ss#w/rd?&{TAIL}");
    let encoded = format!("{HEAD}p%40ss%23w%2Frd%3F%26{TAIL}");
    let mut urls = Vec::new();
    // A port nothing listens on: the connect error path.
    for scheme in ["postgres", "mysql"] {
        urls.extend(shapes(scheme, "127.0.0.1:1", &password).into_iter().step_by(2));
        urls.extend(shapes(scheme, "127.0.0.1:1", &encoded).into_iter().skip(1).step_by(2));
    }
    // The live servers: PostgreSQL trusts any password; MariaDB's root refuses one.
    for (var, scheme) in [(POSTGRES_ENV, "postgres"), (MYSQL_ENV, "mysql")] {
        if let Ok(base) = std::env::var(var) {
            let host = base.split_once('@').map_or("127.0.0.1", |(_, rest)| rest.split('/').next().unwrap_or(rest));
            for url in shapes(scheme, host, &encoded) {
                urls.push(url.replace("://app", "://root").replace("user=app", "user=root"));
            }
        }
    }
    for url in urls {
        let shown = traced_attempt(&url).await;
        assert!(!leaks(&shown), "{url} leaked its password:\n{shown}");
        let decoded = password.replace(HEAD, "").replace(TAIL, "");
        assert!(!shown.contains(&decoded), "{url} leaked the decoded password:\n{shown}");
    }
}
