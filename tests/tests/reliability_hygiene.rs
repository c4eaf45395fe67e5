//! Hygiene: no password in any `Debug` or `Display` output — connection options, open
//! connections, pools, and the errors of failed connections and bad URLs — for every
//! shape of URL the PostgreSQL driver accepts a password in.

use orm_core::{testing, ConnectOptions, Connection, Pool, PoolConfig, DB};

const SECRET: &str = "Sup3rS3cret";

/// URLs whose password (as the driver reads it: everything between the first `:` and
/// the first `@` of the credentials) contains `SECRET`.
fn urls_with_passwords(host_and_db: &str) -> Vec<String> {
    vec![
        format!("postgres://app:{SECRET}@{host_and_db}"),
        format!("postgresql://app:{SECRET}@{host_and_db}"),
        format!("postgres://app:{SECRET}:more@{host_and_db}"),
        format!("postgres://app:a/{SECRET}@{host_and_db}"),
        format!("postgres://app:a?{SECRET}@{host_and_db}"),
        format!("postgres://app:a#{SECRET}@{host_and_db}"),
        format!("postgres://app:{SECRET}@x@{host_and_db}"),
        format!("postgres://app:%2F{SECRET}%40@{host_and_db}"),
        format!("postgres://{host_and_db}?user=app&password={SECRET}"),
        format!("postgres://{host_and_db}?password={SECRET}&user=app"),
        format!("postgres://{host_and_db}?user=app&PASSWORD={SECRET}"),
    ]
}

fn assert_hidden(shown: &str) {
    assert!(!shown.contains(SECRET), "a password is shown: {shown}");
    assert!(
        !shown.contains("S3cret"),
        "part of a password is shown: {shown}"
    );
}

#[test]
fn options_never_show_a_password() {
    for url in urls_with_passwords("db.example:5432/prod") {
        let options = ConnectOptions::parse(&url).expect("parses");
        assert_hidden(&format!("{options:?}"));
        assert_hidden(&options.to_string());
        assert_hidden(options.redacted());
    }
}

#[test]
fn connection_errors_never_show_a_password() {
    // Nothing listens on port 1: every URL fails to connect (or to parse).
    for url in urls_with_passwords("127.0.0.1:1/db") {
        let error = Connection::open(&url).expect_err("nothing listens on port 1");
        assert_hidden(&error.to_string());
        assert_hidden(&format!("{error:?}"));
        let error = Pool::new(&url).expect_err("nothing listens on port 1");
        assert_hidden(&error.to_string());
        assert_hidden(&format!("{error:?}"));
        let error = DB::connect_named("hygiene_unreachable", &url).expect_err("unreachable");
        assert_hidden(&format!("{error} {error:?}"));
    }
    // A URL the driver cannot parse.
    let error = Connection::open(&format!("postgres://app:{SECRET}@host:notaport/db"))
        .expect_err("bad port");
    assert_hidden(&format!("{error} {error:?}"));
}

#[test]
fn open_connections_and_pools_never_show_a_password() {
    // The local test server trusts local connections, so a password in the URL is
    // accepted (and ignored) and we can look at live objects.
    let Some(_probe) = testing::postgres() else {
        return;
    };
    drop(_probe);
    let base = testing::postgres_url();
    let Some(rest) = base.strip_prefix("postgres://") else {
        return;
    };
    let (user, host_and_db) = match rest.split_once('@') {
        Some((user, host)) if !user.contains(':') => (user.to_owned(), host.to_owned()),
        _ => return, // the test server URL already holds a password: nothing to add
    };
    let url = format!("postgres://{user}:{SECRET}@{host_and_db}");
    let connection = Connection::open(&url).expect("trusted local server");
    assert_hidden(&format!("{connection:?}"));
    assert_hidden(&format!("{:?}", connection.options()));
    let pool = Pool::with_config(&url, PoolConfig::default()).expect("pool");
    let checked_out = pool.get().expect("checkout");
    assert_hidden(&format!("{pool:?}"));
    assert_hidden(&format!("{checked_out:?}"));
    DB::connect_named("hygiene_live", &url).expect("connect");
    assert_hidden(&format!("{:?}", DB::pool("hygiene_live").expect("pool")));
    let error = DB::connection("hygiene_live")
        .statement("SELECT * FROM no_such_table_here")
        .expect_err("no such table");
    assert_hidden(&format!("{error} {error:?}"));
    DB::disconnect("hygiene_live");
}
