//! Connection URLs: `sqlite::memory:`, `sqlite://path/to.db`, `postgres://user:pass@host/db`,
//! `mysql://user:pass@host:3306/db` (or `mariadb://`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// Where and how to connect, parsed from a URL. `Debug` and `Display` never show a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub(crate) target: Target,
    pub(crate) busy_timeout: Duration,
    url: String,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    SqliteMemory,
    SqliteFile(PathBuf),
    Postgres(String),
    /// A `mysql://` URL (a `mariadb://` one is rewritten to it).
    Mysql(String),
}

/// How long a SQLite connection waits for a lock before reporting [`Error::Busy`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks the `user:password@host:port` part of a server URL, so that a malformed one
/// is refused when it is given (`craft new --database`, `DB::connect`), not at the first
/// connection: the port must be a number, and MySQL needs a host (PostgreSQL's empty
/// host is its local socket).
fn check_authority(url: &str, needs_host: bool) -> Result<()> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // The credentials end at the first `@`, as the drivers read them: a password may
    // hold `/`, `?` or `#` unencoded.
    let after_credentials = rest.split_once('@').map_or(rest, |(_, after)| after);
    let authority = after_credentials
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    // `[::1]:5432`: the port follows the bracket.
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return Err(Error::Config("unclosed `[` in the URL's host".into())),
        },
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if needs_host && host.is_empty() {
        return Err(Error::Config(
            "a mysql:// URL needs a host, e.g. mysql://root@127.0.0.1:3306/app".into(),
        ));
    }
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        if port.parse::<u16>().is_err() {
            // The text is not echoed: in a URL missing its `@` it is the password.
            return Err(Error::Config(
                "the URL's port is not a port number (1-65535)".into(),
            ));
        }
    }
    Ok(())
}

impl ConnectOptions {
    /// Options for [`crate::Connection::detached`]: no database, nothing allocated.
    pub(crate) fn detached() -> ConnectOptions {
        ConnectOptions {
            target: Target::SqliteMemory,
            busy_timeout: Duration::ZERO,
            url: String::new(),
        }
    }

    /// Parses a connection URL.
    ///
    /// SQLite: `sqlite::memory:`, `sqlite://relative/path.db`, `sqlite:///absolute/path.db`,
    /// with an optional `?busy_timeout=MILLIS`. PostgreSQL: `postgres://` or `postgresql://`
    /// URLs as libpq accepts them. MySQL and MariaDB: `mysql://user:password@host:3306/db`
    /// or `mariadb://...` (the same form), with the `mysql` crate's query options.
    pub fn parse(url: &str) -> Result<ConnectOptions> {
        let url = url.trim();
        let (target, query) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let (path, query) = split_query(rest);
            let path = path.strip_prefix("//").unwrap_or(path);
            let target = match path {
                ":memory:" | "" if !url.contains("//") || path == ":memory:" => {
                    Target::SqliteMemory
                }
                "" => {
                    return Err(Error::Config(
                        "a sqlite:// URL needs a file path, e.g. sqlite://database.sqlite3".into(),
                    ))
                }
                path => Target::SqliteFile(PathBuf::from(path)),
            };
            (target, query)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            check_authority(url, false)?;
            (Target::Postgres(url.to_owned()), None)
        } else if let Some(rest) = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
        {
            if rest.is_empty() {
                return Err(Error::Config(
                    "a mysql:// URL needs a host, e.g. mysql://root@127.0.0.1:3306/app".into(),
                ));
            }
            check_authority(url, true)?;
            (Target::Mysql(format!("mysql://{rest}")), None)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(Error::Config(format!(
                "unsupported database URL scheme `{scheme}`: use sqlite::memory:, sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB"
            )));
        };
        let mut options = ConnectOptions {
            target,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            url: redact(url),
        };
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "busy_timeout" => {
                    let millis: u64 = value.parse().map_err(|_| {
                        Error::Config(format!("busy_timeout must be milliseconds, got `{value}`"))
                    })?;
                    options.busy_timeout = Duration::from_millis(millis);
                }
                other => {
                    return Err(Error::Config(format!(
                        "unknown SQLite URL option `{other}` (allowed: busy_timeout)"
                    )))
                }
            }
        }
        Ok(options)
    }

    /// Sets how long SQLite waits for a lock before [`Error::Busy`].
    pub fn busy_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.busy_timeout = timeout;
        self
    }

    /// The backend this URL points at.
    pub fn backend(&self) -> crate::Backend {
        match self.target {
            Target::SqliteMemory | Target::SqliteFile(_) => crate::Backend::Sqlite,
            Target::Postgres(_) => crate::Backend::Postgres,
            Target::Mysql(_) => crate::Backend::Mysql,
        }
    }

    /// Whether this is a private in-memory SQLite database (one per connection).
    pub fn is_memory(&self) -> bool {
        self.target == Target::SqliteMemory
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.url
    }
}

fn split_query(rest: &str) -> (&str, Option<&str>) {
    match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    }
}

/// Replaces the password of `scheme://user:password@host` (and a `password=` query
/// parameter) with `***`.
/// `url` with the query option `option` (`key=value`, or several joined by `&`) added.
pub(crate) fn with_query_option(url: &str, option: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{option}")
}

pub(crate) fn redact(url: &str) -> String {
    let redacted = redact_userinfo(url);
    match redacted.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => redacted,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    // The PostgreSQL driver reads everything before the first `@` as `user:password`,
    // `/`, `?` and `#` included; a password may also hold `@` itself. So the password
    // runs from the first `:` before the first `@` to the last `@` (hiding too much
    // in an odd URL is harmless; showing part of a password is not).
    let (Some(first_at), Some(last_at)) = (rest.find('@'), rest.rfind('@')) else {
        return url.to_owned();
    };
    match rest[..first_at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..start],
            &rest[..colon],
            &rest[last_at..]
        ),
        None => url.to_owned(),
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url)
            .field("busy_timeout", &self.busy_timeout)
            .finish()
    }
}

impl fmt::Display for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_urls() {
        assert!(ConnectOptions::parse("sqlite::memory:")
            .unwrap()
            .is_memory());
        assert!(ConnectOptions::parse("sqlite://:memory:")
            .unwrap()
            .is_memory());
        let o = ConnectOptions::parse("sqlite://db/app.sqlite3?busy_timeout=250").unwrap();
        assert!(o.target == Target::SqliteFile("db/app.sqlite3".into()));
        assert_eq!(o.busy_timeout, Duration::from_millis(250));
        let o = ConnectOptions::parse("sqlite:///tmp/x.db").unwrap();
        assert!(o.target == Target::SqliteFile("/tmp/x.db".into()));
        assert!(ConnectOptions::parse("sqlite://").is_err());
        assert!(ConnectOptions::parse("sqlite://x.db?nope=1").is_err());
        assert!(matches!(
            ConnectOptions::parse("oracle://root@localhost/x"),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn parses_mysql_urls() {
        let o = ConnectOptions::parse("mysql://root@127.0.0.1:3306/app").unwrap();
        assert_eq!(o.backend(), crate::Backend::Mysql);
        assert!(o.target == Target::Mysql("mysql://root@127.0.0.1:3306/app".into()));
        let o = ConnectOptions::parse("mariadb://app:pw@db/app").unwrap();
        assert_eq!(o.backend(), crate::Backend::Mysql);
        assert!(o.target == Target::Mysql("mysql://app:pw@db/app".into()));
        assert!(ConnectOptions::parse("mysql://").is_err());
    }

    #[test]
    fn a_malformed_server_address_is_refused_when_given() {
        for bad in [
            "postgres://u:p@host:notaport/db",
            "postgresql://host:70000/db",
            "mysql://u:p@/db",
            "mysql://u:p@:3306/db",
            "mariadb://u@db:33o6/app",
            "postgres://u@[::1/db",
        ] {
            let err = ConnectOptions::parse(bad).err();
            assert!(matches!(err, Some(Error::Config(_))), "{bad}: {err:?}");
        }
        // A URL missing its `@`: what stands where the port would be is the password,
        // which the error does not repeat.
        let err = ConnectOptions::parse("postgres://app:Secret123/db").err();
        assert!(
            matches!(&err, Some(Error::Config(m)) if !m.contains("Secret123")),
            "{err:?}"
        );
        for good in [
            "postgres:///db",
            "postgres://u:p:q@host/db",
            "postgres://u@[::1]:5432/db",
            "postgres://host:/db",
            "postgresql://u%40x:p%3A@h.example:6543/db?sslmode=disable",
            "mysql://root@127.0.0.1:3306/app?returning=off",
            "mysql://root@db",
        ] {
            assert!(ConnectOptions::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn password_is_never_shown() {
        let o = ConnectOptions::parse("postgres://app:s3cret@db.example:5432/prod").unwrap();
        for shown in [format!("{o:?}"), o.to_string(), o.redacted().to_owned()] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("app:***@db.example:5432/prod"), "{shown}");
        }
        let o = ConnectOptions::parse("mysql://app:s3cret@db:3306/prod").unwrap();
        for shown in [format!("{o:?}"), o.to_string(), o.redacted().to_owned()] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("app:***@db:3306/prod"), "{shown}");
        }
        assert_eq!(
            redact("mariadb://a:p@ss@h/db?password=x"),
            "mariadb://a:***@h/db?password=***"
        );
        assert_eq!(redact("postgres://app@h/db"), "postgres://app@h/db");
        assert_eq!(redact("postgres://a:b:c@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("postgres://a:b/c@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("postgres://a:b?c@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("postgres://a:b@c@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("sqlite:///tmp/app.db"), "sqlite:///tmp/app.db");
        assert_eq!(
            redact("postgres://h/db?user=a&password=pw&sslmode=disable"),
            "postgres://h/db?user=a&password=***&sslmode=disable"
        );
    }
}
