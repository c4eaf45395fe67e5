//! Every contender of the benchmark suite returns the same data on SQLite, and the MySQL
//! ones on MariaDB, and the ORM's pool path (`DB::connect`) on all three backends (so the
//! benchmarks compare equal work). Cheap: small seeds, no timing.

use orm_benches::data::Seed;
use orm_benches::diesel_impl::{self, sqlite as diesel_sqlite};
use orm_benches::grouping::Nested;
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::{new_users, raw_sqlite, PlainComment, PlainPost, PlainUser};

fn plain(user: &orm_benches::models::User) -> PlainUser {
    PlainUser {
        id: user.id.expect("a loaded user has a key"),
        name: user.name.clone(),
        hair_color: user.hair_color.clone(),
    }
}

#[test]
fn loads_agree() {
    let seed = Seed::users_posts_comments(7, 1, 0);
    let raw = raw_sqlite::open(&seed).unwrap();
    let mut diesel = diesel_impl::open_sqlite(&seed).unwrap();
    let mut conn = orm_impl::open_sqlite(&seed).unwrap();
    let _default = orm_impl::install_default_sqlite(&seed).unwrap();

    let expected = raw_sqlite::load_users(&raw).unwrap();
    assert_eq!(expected.len(), 7);
    let from_orm: Vec<PlainUser> = orm::load_users().unwrap().iter().map(plain).collect();
    assert_eq!(from_orm, expected);
    let from_orm_on: Vec<PlainUser> = orm_on::load_users(&mut conn)
        .unwrap()
        .iter()
        .map(plain)
        .collect();
    assert_eq!(from_orm_on, expected);
    let from_diesel: Vec<i64> = diesel_sqlite::load_users(&mut diesel)
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        from_diesel,
        expected.iter().map(|u| u.id).collect::<Vec<_>>()
    );

    let joined = raw_sqlite::load_users_with_posts(&raw).unwrap();
    assert_eq!(joined.len(), 4, "the black-haired users: 1, 3, 5, 7");
    let from_orm = orm::load_users_with_posts().unwrap();
    assert_eq!(from_orm.len(), joined.len());
    for ((user, post), row) in joined.iter().zip(&from_orm) {
        assert_eq!(&plain(&row.user), user);
        let orm_post = row
            .post
            .as_ref()
            .map(|p| (p.id, p.title.clone(), p.body.clone()));
        let raw_post = post
            .as_ref()
            .map(|p| (Some(p.id), p.title.clone(), p.body.clone()));
        assert_eq!(orm_post, raw_post);
    }
    assert_eq!(
        diesel_sqlite::load_users_with_posts(&mut diesel)
            .unwrap()
            .len(),
        joined.len()
    );

    let found = orm::find_user(3).unwrap().map(|u| plain(&u));
    assert_eq!(found, raw_sqlite::find_user(&raw, 3).unwrap());
    assert!(orm_on::find_user(&mut conn, 99).unwrap().is_none());
}

/// Users' keys with their posts' keys with their comments' keys.
type KeyTree = Vec<(i64, Vec<(i64, Vec<i64>)>)>;

/// The keys of nested users, posts and comments, read by `user`, `post` and `comment`.
fn key_tree<U, P, C>(
    nested: Nested<U, P, C>,
    user: impl Fn(&U) -> i64,
    post: impl Fn(&P) -> i64,
    comment: impl Fn(&C) -> i64,
) -> KeyTree {
    nested
        .into_iter()
        .map(|(u, posts)| {
            let posts = posts
                .into_iter()
                .map(|(p, cs)| (post(&p), cs.iter().map(&comment).collect()))
                .collect();
            (user(&u), posts)
        })
        .collect()
}

/// [`key_tree`] of what a raw driver returned.
fn raw_key_tree(nested: Nested<PlainUser, PlainPost, PlainComment>) -> KeyTree {
    key_tree(nested, |u| u.id, |p| p.id, |c| c.id)
}

#[test]
fn associations_agree() {
    let seed = Seed::users_posts_comments(4, 3, 2);
    let raw = raw_sqlite::open(&seed).unwrap();
    let mut diesel = diesel_impl::open_sqlite(&seed).unwrap();
    let _default = orm_impl::install_default_sqlite(&seed).unwrap();

    let expected = raw_key_tree(raw_sqlite::load_associations(&raw).unwrap());
    assert_eq!(expected.len(), 4);
    assert!(expected.iter().all(|(_, posts)| posts.len() == 3));
    assert!(expected
        .iter()
        .all(|(_, posts)| posts.iter().all(|(_, comments)| comments.len() == 2)));
    assert_eq!(orm_key_tree(), expected);
    let from_diesel = key_tree(
        diesel_sqlite::load_associations(&mut diesel).unwrap(),
        |u| u.id,
        |p| p.id,
        |c| c.id,
    );
    assert_eq!(from_diesel, expected);
}

#[test]
fn inserts_fill_keys_and_streams_see_every_row() {
    let seed = Seed::users(0);
    let mut raw = raw_sqlite::open(&seed).unwrap();
    let mut diesel = diesel_impl::open_sqlite(&seed).unwrap();
    let mut conn = orm_impl::open_sqlite(&seed).unwrap();
    let _default = orm_impl::install_default_sqlite(&seed).unwrap();
    let users = new_users(5);

    assert_eq!(
        raw_sqlite::insert_many(&raw, &users).unwrap(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        raw_sqlite::insert_each_in_transaction(&mut raw, &users).unwrap(),
        vec![6, 7, 8, 9, 10]
    );
    assert_eq!(
        diesel_sqlite::insert_many(&mut diesel, &users).unwrap(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        diesel_sqlite::insert_one(&mut diesel, &users[0]).unwrap(),
        6
    );

    let mut models = orm_impl::models(&users);
    orm::insert_many(&mut models).unwrap();
    assert_eq!(
        models.iter().map(|m| m.id).collect::<Vec<_>>(),
        (1..=5).map(Some).collect::<Vec<_>>()
    );
    let mut models = orm_impl::models(&users);
    orm::save_each_in_transaction(&mut models).unwrap();
    assert_eq!(models[4].id, Some(10));
    let mut models = orm_impl::models(&users);
    orm_on::save_each_in_transaction(&mut conn, &mut models).unwrap();
    assert_eq!(models[0].id, Some(1));

    let mut seen = Vec::new();
    assert_eq!(orm::stream_users(|u| seen.push(u.id.unwrap())).unwrap(), 10);
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    assert_eq!(raw_sqlite::stream_users(&raw, drop).unwrap(), 10);
    assert_eq!(orm_on::stream_users(&mut conn, drop).unwrap(), 5);
    assert_eq!(diesel_sqlite::stream_users(&mut diesel, drop).unwrap(), 6);
}

#[test]
fn report_reads_criterion_output() {
    let dir = std::env::temp_dir().join(format!("orm-bench-report-{}", std::process::id()));
    for (function, median) in [("rusqlite", 100.0), ("orm", 104.0)] {
        let new = dir
            .join("sqlite_trivial_query")
            .join(function)
            .join("100")
            .join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            format!(
                r#"{{"group_id":"sqlite/trivial_query","function_id":"{function}","value_str":"100"}}"#
            ),
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            format!(r#"{{"median":{{"point_estimate":{median}}}}}"#),
        )
        .unwrap();
    }
    let measurements = orm_benches::report::collect(&dir);
    assert_eq!(measurements.len(), 2);
    let table = orm_benches::report::markdown_table(&measurements);
    assert!(
        table.contains("| sqlite/trivial_query | 100 | 100 ns | – | – | 104 ns (1.04) | – |"),
        "{table}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The seeding workload: the factory and the hand-written batches write the same rows.
#[test]
fn seeding_agrees() {
    use orm_benches::seeding::{orm_seed, raw_sqlite_seed};
    let seed = Seed::users(0);
    let mut raw = raw_sqlite::open(&seed).unwrap();
    let _default = orm_impl::install_default_sqlite(&seed).unwrap();
    let rows = 2_345;
    let keys = raw_sqlite_seed(&mut raw, rows, 7).unwrap();
    assert_eq!(keys.len(), rows);
    orm_seed(rows, 7).unwrap();
    let expected = raw_sqlite::load_users(&raw).unwrap();
    let from_orm: Vec<PlainUser> = orm::load_users().unwrap().iter().map(plain).collect();
    assert_eq!(from_orm.len(), rows);
    assert_eq!(from_orm, expected);
    assert_ne!(expected[0].name, expected[1].name, "fake names");
}

/// The MySQL contenders (raw `mysql` crate, the ORM on its default and an explicit
/// connection) return the same data, on one private database. Skipped without a server
/// outside CI.
#[test]
fn mysql_contenders_agree() {
    use mysql::prelude::Queryable;
    use orm_benches::data::{self, Database};
    use orm_benches::raw_mysql::RawMysql;
    let Some(default) = orm_impl::install_default_mysql() else {
        return;
    };
    let database = default.schema().expect("a private database").to_owned();
    let url = orm_core::testing::mysql_url();
    let mut raw = RawMysql::connect(&url, &database).unwrap();
    let mut conn = orm_impl::connect_mysql(&url, &database).unwrap();
    let seed = Seed::users_posts_comments(7, 2, 2);
    let script = format!(
        "{}\n{}\n{}",
        data::schema(Database::Mysql),
        data::reset(Database::Mysql),
        seed.script()
    );
    raw.conn().query_drop(script).unwrap();

    let expected = raw.load_users().unwrap();
    assert_eq!(expected.len(), 7);
    let from_orm: Vec<PlainUser> = orm::load_users().unwrap().iter().map(plain).collect();
    assert_eq!(from_orm, expected);
    let joined = raw.load_users_with_posts().unwrap();
    let from_orm = orm_on::load_users_with_posts(&mut conn).unwrap();
    assert_eq!(from_orm.len(), joined.len());
    assert_eq!(from_orm.len(), 8, "4 black-haired users, 2 posts each");
    let found = orm::find_user(3).unwrap().map(|u| plain(&u));
    assert_eq!(found, raw.find_user(3).unwrap());

    let tree: KeyTree = raw_key_tree(raw.load_associations().unwrap());
    assert_eq!(orm_key_tree(), tree);
    assert_eq!(tree.len(), 7);

    let users = new_users(5);
    assert_eq!(raw.insert_many(&users).unwrap(), vec![8, 9, 10, 11, 12]);
    assert_eq!(raw.insert_one(&users[0]).unwrap(), 13);
    assert_eq!(raw.insert_each_in_transaction(&users).unwrap()[4], 18);
    let mut models = orm_impl::models(&users);
    orm::insert_many(&mut models).unwrap();
    assert_eq!(
        models.iter().map(|m| m.id).collect::<Vec<_>>(),
        (19..=23).map(Some).collect::<Vec<_>>()
    );
    let mut models = orm_impl::models(&users);
    orm_on::save_each_in_transaction(&mut conn, &mut models).unwrap();
    assert_eq!(models[4].id, Some(28));
    assert_eq!(raw.stream_users(drop).unwrap(), 28);
    assert_eq!(orm::stream_users(drop).unwrap(), 28);
}

/// Users' keys, posts' keys and comments' keys of the ORM's eager loading.
fn orm_key_tree() -> KeyTree {
    key_tree(
        orm::load_associations().unwrap(),
        |u| u.id.unwrap(),
        |p| p.id.unwrap(),
        |c| c.id.unwrap(),
    )
}

/// What the raw driver returned, for the pool path to match.
struct Expected {
    users: Vec<PlainUser>,
    joined_rows: usize,
    tree: KeyTree,
    inserted: Vec<i64>,
    /// Users in the pool's database before the pool path writes (the raw driver's
    /// inserts land there too when the two share a database).
    rows_before_pool: usize,
}

/// The ORM's default connection (no thread-scoped connection installed: the pool made
/// by `DB::connect`) returns what the raw driver returned, and fills the same keys in.
fn pool_path_matches(expected: &Expected) {
    let from_pool: Vec<PlainUser> = orm::load_users().unwrap().iter().map(plain).collect();
    assert_eq!(from_pool, expected.users);
    assert_eq!(
        orm::load_users_with_posts().unwrap().len(),
        expected.joined_rows
    );
    assert_eq!(
        orm::find_user(3).unwrap().map(|u| plain(&u)),
        Some(expected.users[2].clone())
    );
    assert_eq!(orm_key_tree(), expected.tree);
    let users = new_users(5);
    let mut models = orm_impl::models(&users);
    orm::insert_many(&mut models).unwrap();
    let keys: Vec<i64> = models.iter().map(|m| m.id.unwrap()).collect();
    assert_eq!(keys, expected.inserted);
    let mut models = orm_impl::models(&users);
    orm::save_each_in_transaction(&mut models).unwrap();
    assert_eq!(models[0].id, Some(expected.inserted[4] + 1));
    let mut one = orm_impl::models(&users[..1]).remove(0);
    orm::save_one(&mut one).unwrap();
    assert_eq!(one.id, Some(expected.inserted[4] + 6));
    let streamed = orm::stream_users(drop).unwrap();
    assert_eq!(streamed, expected.rows_before_pool + 11);
}

/// The `orm_pool` contender: `DB::connect` to a SQLite file, a PostgreSQL schema (the
/// search path in the URL) and a MySQL database (named in the URL), each checked against
/// the raw driver on the same data. One test, as `DB::connect` configures the process's
/// default connection. PostgreSQL and MySQL are skipped without a server outside CI.
#[test]
fn pool_path_agrees() {
    let seed = Seed::users_posts_comments(7, 2, 2);
    let users = new_users(5);

    // SQLite: the pool's file against rusqlite on a file.
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_sqlite::open_file(&seed, &dir.path().join("raw.db")).unwrap();
    orm_impl::connect_default_sqlite_file(&seed, &dir.path().join("pool.db")).unwrap();
    let tree = raw_key_tree(raw_sqlite::load_associations(&raw).unwrap());
    let expected = Expected {
        users: raw_sqlite::load_users(&raw).unwrap(),
        joined_rows: raw_sqlite::load_users_with_posts(&raw).unwrap().len(),
        tree,
        inserted: raw_sqlite::insert_many(&raw, &users).unwrap(),
        rows_before_pool: 7,
    };
    assert_eq!(expected.inserted, vec![8, 9, 10, 11, 12]);
    pool_path_matches(&expected);
    orm_core::DB::disconnect("default");

    pool_path_agrees_postgres(&seed, &users);
    pool_path_agrees_mysql(&seed, &users);
}

fn unreachable_server(what: &str, e: &dyn std::fmt::Display) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} must be reachable in CI: {e}"
    );
    eprintln!("skipped: {what} pool path ({e})");
}

fn pool_path_agrees_postgres(seed: &Seed, users: &[orm_benches::NewUser]) {
    use orm_benches::data::{self, Database};
    use orm_benches::raw_postgres::RawPostgres;
    let url = orm_core::testing::postgres_url();
    let schema = format!("orm_bench_pool_test_{}", std::process::id());
    let mut raw = match RawPostgres::connect(&url, &schema) {
        Ok(raw) => raw,
        Err(e) => return unreachable_server("PostgreSQL", &e),
    };
    raw.client()
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\"; {} {} {}",
            data::schema(Database::Postgres),
            seed.script(),
            Seed::sequence_fixup()
        ))
        .unwrap();
    orm_impl::connect_default_postgres(&url, &schema).unwrap();
    // One database for both: the raw driver writes first, the pool then reads its rows.
    let inserted = raw.insert_many(users).unwrap();
    let tree: KeyTree = raw_key_tree(raw.load_associations().unwrap());
    let expected = Expected {
        users: raw.load_users().unwrap(),
        joined_rows: raw.load_users_with_posts().unwrap().len(),
        tree,
        inserted,
        rows_before_pool: 12,
    };
    pool_path_matches_after_raw_inserts(expected);
    raw.client()
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
}

/// [`pool_path_matches`] on a database the raw driver shares and has just inserted its
/// 5 users into (`expected.inserted`): the pool's inserts continue after them. Then the
/// pool is closed.
fn pool_path_matches_after_raw_inserts(expected: Expected) {
    let inserted = expected.inserted.iter().map(|k| k + 5).collect();
    pool_path_matches(&Expected {
        inserted,
        ..expected
    });
    orm_core::DB::disconnect("default");
}

fn pool_path_agrees_mysql(seed: &Seed, users: &[orm_benches::NewUser]) {
    use mysql::prelude::Queryable;
    use orm_benches::data::{self, Database};
    use orm_benches::raw_mysql::RawMysql;
    let url = orm_core::testing::mysql_url();
    let database = format!("orm_bench_pool_test_{}", std::process::id());
    let created = orm_core::Connection::open(&url).and_then(|mut conn| {
        conn.execute_batch(&format!(
            "DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}`"
        ))
    });
    if let Err(e) = created {
        return unreachable_server("MySQL", &e);
    }
    let mut raw = RawMysql::connect(&url, &database).unwrap();
    raw.conn()
        .query_drop(format!(
            "{}\n{}",
            data::schema(Database::Mysql),
            seed.script()
        ))
        .unwrap();
    orm_impl::connect_default_mysql(&url, &database).unwrap();
    // One database for both: the raw driver writes first, the pool then reads its rows.
    let inserted = raw.insert_many(users).unwrap();
    let tree: KeyTree = raw_key_tree(raw.load_associations().unwrap());
    let expected = Expected {
        users: raw.load_users().unwrap(),
        joined_rows: raw.load_users_with_posts().unwrap().len(),
        tree,
        inserted,
        rows_before_pool: 12,
    };
    pool_path_matches_after_raw_inserts(expected);
    raw.conn()
        .query_drop(format!("DROP DATABASE `{database}`"))
        .unwrap();
}

#[test]
fn mysql_urls_name_the_database() {
    assert_eq!(
        orm_impl::with_mysql_database("mysql://root@127.0.0.1:3306/test", "b"),
        "mysql://root@127.0.0.1:3306/b"
    );
    assert_eq!(
        orm_impl::with_mysql_database("mysql://u:p@h/test?returning=off", "b"),
        "mysql://u:p@h/b?returning=off"
    );
    assert_eq!(
        orm_impl::with_mysql_database("mysql://root@127.0.0.1:3306", "b"),
        "mysql://root@127.0.0.1:3306/b"
    );
}
