//! Database URLs, dialects and pool options.

use std::fmt;
use std::time::Duration;

use crate::dialect::{Dialect, SCHEMES};
use crate::error::{ConfigurationKind, Error, Result};

fn accepted_schemes() -> String {
    SCHEMES.iter().map(|(s, _)| format!("{s}://")).collect::<Vec<_>>().join(", ")
}

/// A parsed, driverless database URL. Its `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
    /// The URL with the scheme the driver understands (`mariadb://` becomes `mysql://`).
    driver_url: String,
}

impl DatabaseUrl {
    /// Parses a driverless URL such as `postgres://user:pw@host/db` or `sqlite::memory:`.
    ///
    /// ```
    /// use duo_orm::{DatabaseUrl, Dialect};
    /// let url = DatabaseUrl::parse("postgresql://app:secret@db.internal/prod").unwrap();
    /// assert_eq!(url.dialect(), Dialect::Postgres);
    /// assert_eq!(url.to_string(), "postgresql://app:***@db.internal/prod");
    /// let err = DatabaseUrl::parse("postgresql+psycopg://db/prod").unwrap_err();
    /// assert!(err.to_string().contains("drop the driver part"));
    /// ```
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.is_empty() {
            return Err(Error::config(
                ConfigurationKind::Url,
                "the database URL is empty; set it to e.g. sqlite://./app.db or postgres://user@host/db",
            ));
        }
        let (scheme, rest) = match url.split_once("://") {
            Some(parts) => parts,
            // `sqlite::memory:` and `sqlite:path` have no `//`.
            None => match url.split_once(':') {
                Some(("sqlite", rest)) if !rest.is_empty() => ("sqlite", rest),
                _ => {
                    return Err(Error::config(
                        ConfigurationKind::Url,
                        format!("`{}` is not a database URL: expected SCHEME://…, with SCHEME one of {}", redact(url), accepted_schemes()),
                    ));
                }
            },
        };
        let lower = scheme.to_ascii_lowercase();
        if let Some((base, driver)) = lower.split_once('+') {
            return Err(Error::config(
                ConfigurationKind::Url,
                format!(
                    "database URLs are driverless: drop the driver part `+{driver}` and write `{base}://…` \
                 (duo-orm picks the driver itself)"
                ),
            ));
        }
        let Some(&(_, dialect)) = SCHEMES.iter().find(|(s, _)| *s == lower) else {
            return Err(Error::config(
                ConfigurationKind::Url,
                format!("unknown database URL scheme `{scheme}`; expected one of {}", accepted_schemes()),
            ));
        };
        if dialect != Dialect::Sqlite && rest.trim_start_matches('/').is_empty() {
            return Err(Error::config(
                ConfigurationKind::Url,
                format!("the {dialect} URL `{}` has no host; expected {lower}://user@host/database", redact(url)),
            ));
        }
        let driver_url = match (dialect, url.contains("://")) {
            (Dialect::MySql, _) => format!("mysql://{rest}"),
            (Dialect::Postgres, _) => format!("postgres://{rest}"),
            (Dialect::Sqlite, true) => format!("sqlite://{rest}"),
            (Dialect::Sqlite, false) => format!("sqlite:{rest}"),
            _ => url.to_string(),
        };
        let driver_url = match dialect {
            Dialect::Postgres | Dialect::MySql => server_driver_url(dialect, &driver_url)
                .map_err(|problem| Error::config(ConfigurationKind::Url, format!("the {dialect} URL `{}` {problem}", redact(url))))?,
            _ => driver_url,
        };
        Ok(DatabaseUrl { raw: url.to_string(), dialect, driver_url })
    }

    /// The dialect the URL names.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether this is an in-memory SQLite database (one connection, or the data would vanish).
    pub fn is_sqlite_memory(&self) -> bool {
        self.dialect == Dialect::Sqlite && self.driver_url.contains(":memory:")
    }

    /// The file a SQLite URL opens, percent-decoded as the driver reads it (`None` for an
    /// in-memory database, or a server's URL).
    ///
    /// ```
    /// use duo_orm::DatabaseUrl;
    /// let url = DatabaseUrl::parse("sqlite://./my%20app.db?mode=rwc").unwrap();
    /// assert_eq!(url.sqlite_file(), Some("./my app.db".into()));
    /// assert_eq!(DatabaseUrl::parse("sqlite://app.db?mode=memory").unwrap().sqlite_file(), None);
    /// ```
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        if self.dialect != Dialect::Sqlite || self.is_sqlite_memory() {
            return None;
        }
        let driver = self.driver_url();
        let rest = driver.strip_prefix("sqlite://").or_else(|| driver.strip_prefix("sqlite:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || query.split('&').any(|pair| pair == "mode=memory") {
            return None;
        }
        Some(std::path::PathBuf::from(percent_decode(path)))
    }

    pub(crate) fn driver_url(&self) -> &str {
        &self.driver_url
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseUrl").field("url", &redact(&self.raw)).field("dialect", &self.dialect).finish()
    }
}

/// Checks a PostgreSQL or MySQL URL the way its driver will read it, and returns the URL to
/// hand the driver. Refused, with the reason (which never quotes a value):
/// - user info the driver would split elsewhere: a `/`, `?` or `#` left unencoded in the
///   password moves the end of the host part, so the driver would read part of the password as
///   a host or path (and print it in its messages);
/// - a credential-bearing query parameter the driver does not read, such as `PASSWORD=` (the
///   drivers' names are case-sensitive; sqlx logs parameters it ignores, value included);
/// - for MySQL, a URL that names no user (sqlx would silently connect as `root`).
///
/// MySQL's driver ignores `user=` and `password=` query parameters; they are moved into the
/// user info, where it reads them.
fn server_driver_url(dialect: Dialect, url: &str) -> std::result::Result<String, String> {
    let parts = UrlParts::split(url);
    if parts.userinfo_spills() {
        return Err("has a user name or password with an unencoded `/`, `?` or `#`; \
                    percent-encode them in the URL (`%2F`, `%3F`, `%23`)"
            .into());
    }
    let (mut user, mut password) = match parts.userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (user.to_string(), Some(password.to_string())),
            None => (info.to_string(), None),
        },
        None => (String::new(), None),
    };
    let mut query = Vec::new();
    for pair in parts.query.split('&').filter(|pair| !pair.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            // Not quoted: it may be the tail of a password cut by an unencoded `&`.
            return Err("has a query parameter without `=` (an unencoded `&` in a value?); \
                        percent-encode `&` as `%26`"
                .into());
        };
        // The drivers decode a parameter's name before reading it (`p%61ssword` is `password`).
        let key = percent_decode(key);
        let key = key.as_str();
        let lower = key.to_ascii_lowercase();
        let credential = lower == "user" || is_secret_key(&lower);
        match (dialect, key) {
            (Dialect::MySql, "user" | "password") => {
                let slot = if key == "user" { &mut user } else { password.get_or_insert_with(String::new) };
                if !slot.is_empty() {
                    return Err(format!("gives the {key} twice (before the host and as `{key}=`); keep one"));
                }
                *slot = percent_encode_userinfo(&percent_decode(&value.replace('+', " ")));
            }
            (Dialect::Postgres, "user" | "password") => query.push(pair),
            // sqlx-postgres logs a parameter it does not read with its value: keep those from
            // it (a password's tail after an unencoded `&` would be one), and say so here.
            (Dialect::Postgres, _) if !credential && !POSTGRES_PARAMETERS.contains(&key) && !key.starts_with("options[") => {
                // Named only when it is one of libpq's: an unknown name may be a password's tail.
                let parameter = if LIBPQ_PARAMETERS.contains(&key) { key } else { "(a name libpq does not have)" };
                tracing::warn!(parameter, "ignoring a connect parameter the PostgreSQL driver does not read");
            }
            _ if credential => {
                return Err(format!(
                    "has a query parameter `{key}` that its driver does not read (parameter names are \
                     case-sensitive); put the credentials before the host (`user:password@host`){}",
                    if dialect == Dialect::Postgres { " or in `user=` / `password=`" } else { "" }
                ));
            }
            _ => query.push(pair),
        }
    }
    if dialect == Dialect::MySql && user.is_empty() {
        return Err("names no user, and its driver would then connect as `root`; write the user before the host \
                    (`mysql://user@host/db`, `mysql://root@host/db` if root is meant)"
            .into());
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.scheme);
    out.push_str("://");
    if !user.is_empty() || password.is_some() {
        out.push_str(&user);
        if let Some(password) = &password {
            out.push(':');
            out.push_str(password);
        }
        out.push('@');
    }
    out.push_str(parts.host_and_path);
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    if let Some(fragment) = parts.fragment {
        out.push('#');
        out.push_str(fragment);
    }
    Ok(out)
}

/// The query parameters sqlx-postgres reads (`options[…]` too).
const POSTGRES_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "application_name",
    "options",
];

/// libpq's other connection parameters, which sqlx-postgres does not read.
const LIBPQ_PARAMETERS: &[&str] = &[
    "connect_timeout",
    "client_encoding",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslnegotiation",
    "sslcompression",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
    "channel_binding",
    "require_auth",
];

/// Every query parameter some driver reads: where a secret's value ends (see
/// [`secret_values`]).
fn known_parameter(key: &str) -> bool {
    const OTHERS: &[&str] =
        &["user", "password", "sslca", "charset", "collation", "socket", "timezone", "time-zone", "mode", "cache", "immutable", "vfs"];
    POSTGRES_PARAMETERS.contains(&key) || LIBPQ_PARAMETERS.contains(&key) || OTHERS.contains(&key) || key.starts_with("options[")
}

/// `scheme://[userinfo@]host/path?query#fragment`, split where the drivers' URL parser splits
/// it: the authority ends at the first `/`, `?` or `#`, and the user info at its last `@`.
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host_and_path: &'a str,
    query: &'a str,
    fragment: Option<&'a str>,
    /// Everything after `://`, to look for user info the split above misses.
    rest: &'a str,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Self {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (userinfo, host_start) = match rest[..authority_end].rfind('@') {
            Some(at) => (Some(&rest[..at]), at + 1),
            None => (None, 0),
        };
        let (before_fragment, fragment) = match rest[host_start..].split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (&rest[host_start..], None),
        };
        let (host_and_path, query) = before_fragment.split_once('?').unwrap_or((before_fragment, ""));
        UrlParts { scheme, userinfo, host_and_path, query, fragment, rest }
    }

    /// Whether what looks like `user:password@` runs past the authority: a password with an
    /// unencoded `/`, `?` or `#` (the drivers would read part of it as host, path or query).
    /// An `@` inside a query parameter's value (`?application_name=me@host`) is not one.
    fn userinfo_spills(&self) -> bool {
        let rest = self.rest;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let Some(at) = password_range_in(rest).map(|range| range.end) else { return false };
        if at <= authority_end {
            return false;
        }
        if rest.find('#').is_some_and(|fragment| fragment < at) {
            return true;
        }
        match rest.find('?') {
            Some(query) if query < at => {
                let pair_start = rest[..at].rfind('&').map_or(query + 1, |i| i + 1).max(query + 1);
                !rest[pair_start..at].contains('=')
            }
            _ => true,
        }
    }
}

/// Where the password of `user:password@…` sits in `rest` (the URL after `://`), read
/// generously so that it is hidden however the URL is malformed: from the first `:` of the
/// user info to the last `@` of the URL (one inside a secret query value does not count). A
/// colon after a `/`, `?` or `#` is a port, path or query, not a password.
fn password_range_in(rest: &str) -> Option<std::ops::Range<usize>> {
    let secrets = secret_values(rest);
    let at = rest.match_indices('@').map(|(i, _)| i).rfind(|i| !secrets.iter().any(|r| r.contains(i)))?;
    let colon = rest[..at].find(':')?;
    if rest[..colon].contains(['/', '?', '#']) {
        return None;
    }
    Some(colon + 1..at)
}

/// Where the password of `scheme://user:password@host/…` sits in `url`, if it has one.
pub(crate) fn password_range(url: &str) -> Option<std::ops::Range<usize>> {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        // A mistyped scheme (`postgres:/u:pw@h`, `mysql//u:pw@h`): no URL shape to trust, so
        // everything between the first `:` and the last `@` is hidden.
        let at = url.rfind('@')?;
        let colon = url[..at].find(':')?;
        return Some(colon + 1..at);
    };
    let range = password_range_in(&url[start..])?;
    Some(range.start + start..range.end + start)
}

/// The values of every `key=value` after a `?` or `&` whose key (decoded) names a secret. A
/// value runs to the next parameter some driver reads: an unencoded `&` inside a password
/// would otherwise leave its tail showing as a parameter of its own.
fn secret_values(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(eq) = text[from..].find('=').map(|i| from + i) {
        from = eq + 1;
        let Some(key_start) = text[..eq].rfind(['?', '&']).map(|i| i + 1) else { continue };
        if !is_secret_key(&percent_decode(&text[key_start..eq]).to_ascii_lowercase()) {
            continue;
        }
        let mut value_end = text.len();
        let mut at = eq + 1;
        while let Some(separator) = text[at..].find('&').map(|i| at + i) {
            let next = &text[separator + 1..];
            if is_parameter(&next[..next.find('&').unwrap_or(next.len())]) {
                value_end = separator;
                break;
            }
            at = separator + 1;
        }
        ranges.push(eq + 1..value_end);
        from = value_end;
    }
    ranges
}

/// Whether `segment` reads as `key=value` with a key some driver reads, or one naming a
/// secret: anything else after a secret's value is taken for more of it.
fn is_parameter(segment: &str) -> bool {
    segment.split_once('=').is_some_and(|(key, _)| {
        let key = percent_decode(key).to_ascii_lowercase();
        known_parameter(&key) || is_secret_key(&key)
    })
}

/// Whether a query parameter (lower-cased) carries a secret.
fn is_secret_key(lower: &str) -> bool {
    ["pass", "pwd", "secret", "token"].iter().any(|word| lower.contains(word))
}

/// `text` with its `%XX` escapes decoded, as the drivers read a URL's parts (an invalid
/// escape stays as it is).
///
/// ```
/// assert_eq!(duo_orm::config::percent_decode("my%20app.db"), "my app.db");
/// ```
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes everything but RFC 3986's unreserved characters, so the text stays one user-info
/// part.
fn percent_encode_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Removes the password of `url` from a driver message, wherever the driver put it.
pub(crate) fn scrub(message: String, url: &str) -> String {
    let mut out = message.replace(url, &redact(url));
    if let Some(password) = password_range(url).map(|range| &url[range]).filter(|p| !p.is_empty()) {
        out = out.replace(password, "***");
        let decoded = percent_decode(password);
        if !decoded.is_empty() {
            out = out.replace(&decoded, "***");
        }
    }
    out
}

/// Replaces the password of `scheme://user:password@host` (however malformed its user info)
/// and the value of every credential-bearing query parameter (`password=`, `PWD=`,
/// `sslpassword=`, `…token=`, in any case) with `***`.
///
/// ```
/// use duo_orm::config::redact;
/// assert_eq!(redact("postgres://app:pa#ss@db/app"), "postgres://app:***@db/app");
/// assert_eq!(redact("mysql://db/app?user=app&PASSWORD=s3cret"), "mysql://db/app?user=app&PASSWORD=***");
/// // A mistyped scheme still hides the password.
/// assert!(!redact("postgres:/u:s3cret@h/db").contains("s3cret"));
/// assert!(!redact("mysql//u:s3cret@h/db").contains("s3cret"));
/// ```
pub fn redact(url: &str) -> String {
    let mut ranges = secret_values(url);
    ranges.extend(password_range(url));
    ranges.sort_by_key(|range| range.start);
    // Overlapping or touching ranges become one, so each secret is one `***`.
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut out = url.to_string();
    for range in merged.into_iter().rev() {
        out.replace_range(range, "***");
    }
    out
}

/// The database URL in environment variable `name`, as duo-orm reads it for
/// [`Database::from_env`](crate::Database::from_env) and as the `duo-orm` CLI reads
/// `DATABASE_URL`, so that both reach the same database:
///
/// - the process environment wins;
/// - else the nearest `.env` file (in the working directory or one of its parents, up to the
///   project's root: the first directory with a `Cargo.toml` or `.git`), read as dotenvy reads
///   it: quotes, `# comments`, `${VAR}` expansion. The file is only read, never loaded into the
///   process environment;
/// - a variable set to the empty string counts as unset.
///
/// A relative SQLite path (`sqlite://./app.db`) taken from a `.env` file is relative to the
/// directory of that file, so the CLI run from a subdirectory and the app run from the project
/// root open the same file; from the process environment it is relative to the working
/// directory, as the driver reads it.
///
/// ```
/// // Set in the environment: that value wins over any `.env` file.
/// // SAFETY: nothing else runs in this doctest.
/// unsafe { std::env::set_var("DUO_DOC_EXAMPLE_URL", "sqlite::memory:") };
/// assert_eq!(duo_orm::env_url("DUO_DOC_EXAMPLE_URL").unwrap().as_deref(), Some("sqlite::memory:"));
/// ```
pub fn env_url(name: &str) -> crate::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => return Ok(Some(value)),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(crate::Error::config(ConfigurationKind::Environment, format!("environment variable {name} is not valid UTF-8")));
        }
        _ => {}
    }
    let Ok(cwd) = std::env::current_dir() else { return Ok(None) };
    env_file_url(name, &cwd)
}

/// The URL `name` holds in the `.env` file nearest to `dir` (the part of [`env_url`] after
/// the process environment).
fn env_file_url(name: &str, dir: &std::path::Path) -> crate::Result<Option<String>> {
    let Some(file) = nearest_env_file(dir) else { return Ok(None) };
    let entries =
        dotenvy::from_path_iter(&file).map_err(|error| crate::Error::config(ConfigurationKind::Environment, dotenv_error(&error)))?;
    for entry in entries {
        let (key, value) = entry.map_err(|error| crate::Error::config(ConfigurationKind::Environment, dotenv_error(&error)))?;
        if key == name {
            let dir = file.parent().unwrap_or(std::path::Path::new("."));
            return Ok(Some(value).filter(|v| !v.is_empty()).map(|url| anchor_sqlite(url, dir)));
        }
    }
    Ok(None)
}

/// `.env` in `dir` or the nearest parent that has one, without leaving the project: the
/// search stops at the first directory holding a `Cargo.toml` or `.git`, so another
/// project's (or the home directory's) `.env` is never read.
fn nearest_env_file(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut dir = dir.to_path_buf();
    loop {
        let candidate = dir.join(".env");
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join("Cargo.toml").is_file() || dir.join(".git").exists() || !dir.pop() {
            return None;
        }
    }
}

/// `sqlite://./app.db` → `sqlite:///<dir>/app.db`; absolute paths, `:memory:` and other URLs
/// as they are.
fn anchor_sqlite(url: String, dir: &std::path::Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else { return url };
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || path.starts_with('/') || path.starts_with(":memory:") {
        return url;
    }
    let absolute = dir.join(path.strip_prefix("./").unwrap_or(path));
    match query {
        Some(query) => format!("sqlite://{}?{query}", absolute.display()),
        None => format!("sqlite://{}", absolute.display()),
    }
}

/// A `.env` error without the text of the line, which may hold a password.
fn dotenv_error(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::LineParse(_, index) => {
            format!("cannot read .env: a line cannot be parsed (at character {index}); help: KEY=value, one per line")
        }
        dotenvy::Error::Io(io) => format!("cannot read .env: {io}"),
        _ => "cannot read .env".to_string(),
    }
}

/// Connection-pool options. Every setter is `const`, so a `static` [`Database`](crate::Database)
/// can carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long to wait for a free connection (or a new one) before failing.
    pub acquire_timeout: Duration,
    /// Close connections idle for longer than this (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Close connections older than this (`None`: never).
    pub max_lifetime: Option<Duration>,
}

impl PoolOptions {
    /// The defaults: 10 connections, 30 s acquire timeout, 10 min idle timeout, 30 min lifetime.
    pub const fn new() -> Self {
        PoolOptions {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
        }
    }
}

impl PoolOptions {
    /// Refuses options no pool can work with (nothing is connected yet).
    pub(crate) fn check(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::config(ConfigurationKind::Pool, "max_connections must be at least 1, got 0"));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::config(
                ConfigurationKind::Pool,
                format!("min_connections ({}) is larger than max_connections ({})", self.min_connections, self.max_connections),
            ));
        }
        Ok(())
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod env_tests {
    use super::env_file_url;

    #[test]
    fn a_dotenv_url_is_read_as_dotenvy_reads_it_and_anchored_at_its_file() {
        let root = std::env::temp_dir().join(format!("duo_env_url_{}", std::process::id()));
        let below = root.join("src/db");
        std::fs::create_dir_all(&below).unwrap();
        std::fs::write(
            root.join(".env"),
            "# the app's settings\nNAME=blog\nDUO_T_URL=sqlite://./${NAME}.db?mode=rwc   # dev\n\
             DUO_T_ABS=\"sqlite:///var/lib/app.db\"\nDUO_T_PG='postgres://u:p@h/db'\nDUO_T_EMPTY=\n",
        )
        .unwrap();
        let read = |name: &str| env_file_url(name, &below).unwrap();
        let expected = format!("sqlite://{}?mode=rwc", root.join("blog.db").display());
        assert_eq!(read("DUO_T_URL").as_deref(), Some(expected.as_str()));
        assert_eq!(read("DUO_T_ABS").as_deref(), Some("sqlite:///var/lib/app.db"));
        assert_eq!(read("DUO_T_PG").as_deref(), Some("postgres://u:p@h/db"));
        assert_eq!(read("DUO_T_EMPTY"), None);
        assert_eq!(read("DUO_T_UNSET"), None);

        // A line that cannot be parsed is an error that does not repeat the line (a password).
        std::fs::write(root.join(".env"), "DUO_T_URL=postgres://u:s3cret@h/db 'unterminated\n").unwrap();
        let error = env_file_url("DUO_T_URL", &below).unwrap_err().to_string();
        assert!(error.contains(".env") && !error.contains("s3cret"), "{error}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
