//! Constraint violations are typed, on both backends; hostile identifiers round-trip.

use orm_core::dialect::SqlWriter;
use orm_core::{ConstraintKind, Error, InvalidQueryKind, Value, DB};
use orm_tests::{on_both_backends, on_every_backend, per_backend};

fn schema() -> orm_core::Result<()> {
    DB::statement("CREATE TABLE parents (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")?;
    DB::statement(
        "CREATE TABLE children (id INTEGER PRIMARY KEY, \
         parent_id INTEGER NOT NULL REFERENCES parents (id), \
         age INTEGER CHECK (age >= 0))",
    )?;
    DB::insert(
        "INSERT INTO parents (id, email) VALUES (?, ?)",
        &[&1, &"a@x"],
    )?;
    Ok(())
}

fn kind_of(result: orm_core::Result<u64>) -> Option<ConstraintKind> {
    let err = result.expect_err("the statement must fail");
    assert!(err.sql().is_some_and(|s| s.contains("INSERT")), "{err:?}");
    err.constraint_kind()
}

on_every_backend! {
    fn constraint_violations_have_kinds() {
        schema()?;
        assert_eq!(
            kind_of(DB::insert("INSERT INTO parents (id, email) VALUES (?, ?)", &[&2, &"a@x"])),
            Some(ConstraintKind::Unique)
        );
        assert_eq!(
            kind_of(DB::insert("INSERT INTO parents (id, email) VALUES (?, ?)", &[&1, &"b@x"])),
            Some(ConstraintKind::Unique)
        );
        assert_eq!(
            kind_of(DB::insert("INSERT INTO children (id, parent_id) VALUES (?, ?)", &[&1, &99])),
            Some(ConstraintKind::ForeignKey)
        );
        assert_eq!(
            kind_of(DB::insert("INSERT INTO parents (id, email) VALUES (?, ?)", &[&3, &None::<String>])),
            Some(ConstraintKind::NotNull)
        );
        assert_eq!(
            kind_of(DB::insert("INSERT INTO children (id, parent_id, age) VALUES (?, ?, ?)", &[&1, &1, &-1])),
            Some(ConstraintKind::Check)
        );
        let err = DB::insert("INSERT INTO parents (id, email) VALUES (?, ?)", &[&2, &"a@x"]).unwrap_err();
        assert!(matches!(err, Error::UniqueViolation { .. }));
        Ok(())
    }

    fn a_restricted_delete_or_update_is_a_foreign_key_violation() {
        // SQLite raises RESTRICT from a trigger (SQLITE_CONSTRAINT_TRIGGER), not as the
        // foreign key error NO ACTION gives: both are ForeignKeyViolation, as elsewhere.
        schema()?;
        DB::statement(per_backend(
            "CREATE TABLE pets (id INTEGER PRIMARY KEY, \
             parent_id INTEGER REFERENCES parents (id) ON DELETE RESTRICT ON UPDATE RESTRICT)",
            "CREATE TABLE pets (id INTEGER PRIMARY KEY, parent_id INTEGER, \
             FOREIGN KEY (parent_id) REFERENCES parents (id) ON DELETE RESTRICT ON UPDATE RESTRICT)",
        ))?;
        DB::insert("INSERT INTO children (id, parent_id) VALUES (?, ?)", &[&1, &1])?;
        DB::insert("INSERT INTO parents (id, email) VALUES (?, ?)", &[&2, &"b@x"])?;
        DB::insert("INSERT INTO pets (id, parent_id) VALUES (?, ?)", &[&1, &2])?;
        for (sql, id) in [
            ("DELETE FROM parents WHERE id = ?", 1),
            ("UPDATE parents SET id = 10 WHERE id = ?", 1),
            ("DELETE FROM parents WHERE id = ?", 2),
            ("UPDATE parents SET id = 20 WHERE id = ?", 2),
        ] {
            let err = DB::execute(sql, &[&id]).unwrap_err();
            assert!(matches!(err, Error::ForeignKeyViolation { .. }), "{sql} ({id}): {err:?}");
            assert!(err.sql().is_some_and(|s| s.starts_with(&sql[..6])), "{err:?}");
        }
        assert_eq!(DB::select("SELECT id FROM parents", &[])?.len(), 2);
        Ok(())
    }
}

// SQLite's and PostgreSQL's DDL (an expression index, inline named constraints);
// MySQL's own version follows.
on_both_backends! {
    fn constraint_violations_name_their_constraint_and_keep_the_driver_error() {
        DB::unprepared(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, team TEXT, \
                handle TEXT, nick TEXT, votes INTEGER CONSTRAINT votes_not_negative CHECK (votes >= 0), \
                parent_id INTEGER CONSTRAINT accounts_parent_fk REFERENCES accounts (id));
             CREATE UNIQUE INDEX accounts_email_unique ON accounts (email);
             CREATE UNIQUE INDEX accounts_team_handle ON accounts (team, handle);
             CREATE UNIQUE INDEX accounts_lower_nick ON accounts (lower(nick));
             INSERT INTO accounts (id, email, team, handle, nick, votes) VALUES (1, 'a@x', 'red', 'ada', 'Ada', 1)",
        )?;
        let insert = |id: i64, email: Option<&str>, team: &str, handle: &str, votes: i64, parent: Option<i64>| {
            DB::insert(
                "INSERT INTO accounts (id, email, team, handle, votes, parent_id) VALUES (?, ?, ?, ?, ?, ?)",
                &[&id, &email, &team, &handle, &votes, &parent],
            )
            .unwrap_err()
        };
        let on_postgres = orm_tests::backend() == orm_core::Backend::Postgres;
        let named = |pg: &str| on_postgres.then(|| pg.to_owned());
        // PostgreSQL names the columns in the error's detail (`Key (team, handle)=...`).
        let columns = |names: &[&str]| -> Vec<String> { names.iter().map(|c| c.to_string()).collect() };

        let email = insert(2, Some("a@x"), "blue", "grace", 1, None);
        assert!(email.to_string().starts_with("unique constraint violated: "), "{email}");
        match &email {
            Error::UniqueViolation { constraint, columns: cols, message, .. } => {
                assert_eq!(*constraint, named("accounts_email_unique"), "{message}");
                assert_eq!(*cols, columns(&["email"]), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let pair = insert(2, Some("b@x"), "red", "ada", 1, None);
        assert!(matches!(&pair, Error::UniqueViolation { constraint, columns: cols, .. }
            if *constraint == named("accounts_team_handle") && *cols == columns(&["team", "handle"])), "{pair:?}");
        let key = insert(1, Some("b@x"), "blue", "grace", 1, None);
        assert!(matches!(&key, Error::UniqueViolation { constraint, columns: cols, .. }
            if *constraint == named("accounts_pkey") && *cols == columns(&["id"])), "{key:?}");
        // An expression index is named on both backends.
        let lower = DB::insert("INSERT INTO accounts (id, email, nick) VALUES (?, ?, ?)", &[&2, &"b@x", &"ADA"])
            .unwrap_err();
        assert_eq!(lower.constraint_name(), Some("accounts_lower_nick"), "{lower:?}");
        let check = insert(2, Some("b@x"), "blue", "grace", -1, None);
        assert!(matches!(&check, Error::CheckViolation { .. }), "{check:?}");
        assert_eq!(check.constraint_name(), Some("votes_not_negative"), "{check:?}");
        let not_null = insert(2, None, "blue", "grace", 1, None);
        assert!(matches!(&not_null, Error::NotNullViolation { constraint: None, columns: cols, .. }
            if *cols == ["email"]), "{not_null:?}");
        let parent = insert(2, Some("b@x"), "blue", "grace", 1, Some(99));
        assert!(matches!(&parent, Error::ForeignKeyViolation { .. }), "{parent:?}");
        if on_postgres {
            assert!(matches!(&parent, Error::ForeignKeyViolation { columns: cols, .. } if *cols == ["parent_id"]), "{parent:?}");
        }
        assert_eq!(parent.constraint_name().map(str::to_owned), named("accounts_parent_fk"));

        // The driver's error is the source; the message stays the database's.
        for err in [&email, &pair, &lower, &check, &not_null, &parent] {
            let source = std::error::Error::source(err).expect("the driver error is kept");
            let (Error::UniqueViolation { message, .. }
                | Error::CheckViolation { message, .. }
                | Error::NotNullViolation { message, .. }
                | Error::ForeignKeyViolation { message, .. }) = err
            else {
                panic!("{err:?}")
            };
            let database_message = format!("{:?}", message.split(" (").next().unwrap());
            assert!(format!("{source:?}").contains(&database_message), "{source:?} / {message}");
        }
        Ok(())
    }
}

on_every_backend! {
    fn syntax_errors_are_database_errors_with_the_sql() {
        let err = DB::statement("SELEKT nonsense").unwrap_err();
        match &err {
            Error::Database { sql, .. } => assert_eq!(sql.as_deref(), Some("SELEKT nonsense")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("SELEKT"));
        assert!(std::error::Error::source(&err).is_some(), "{err:?}");
        Ok(())
    }

    fn wrong_number_of_bindings_is_an_error_not_a_panic() {
        schema()?;
        // The same typed error on every backend, naming both counts.
        let (one, two, three) = (&1 as &dyn orm_core::ToValue, &2 as &dyn orm_core::ToValue, &3 as &dyn orm_core::ToValue);
        for binds in [&[][..], &[one, two][..], &[one, two, three][..]] {
            let err = DB::select("SELECT * FROM parents WHERE id = ?", binds).unwrap_err();
            let given = format!("but {} value(s)", binds.len());
            assert!(
                matches!(&err, Error::Bind { message, .. }
                    if message.contains("1 placeholder") && message.contains(&given)),
                "{err:?}"
            );
        }
        Ok(())
    }

    fn hostile_identifiers_are_quoted_and_round_trip() {
        let names = [
            "plain", "with space", "we\"ird", "semi;colon", "dash--comment", "select",
            "order", "ünïcødé", "日本", "back`tick", "it's", "x); DROP TABLE t; --",
            "/*open", "percent%", "a.b",
        ];
        for (i, name) in names.iter().enumerate() {
            let table = format!("t{i} {name}");
            let dialect = DB::with_connection(|c| Ok(c.dialect()))?;
            let mut create = SqlWriter::new(dialect);
            create.push("CREATE TABLE ").push_identifier(&table).push(" (")
                .push_identifier(name).push(" TEXT)");
            let (sql, _) = create.finish()?;
            DB::statement(&sql)?;

            let mut insert = SqlWriter::new(dialect);
            insert.push("INSERT INTO ").push_identifier(&table).push(" (")
                .push_identifier(name).push(") VALUES (")
                .push_bind(Value::Text(name.to_string())).push(")");
            let (sql, binds) = insert.finish()?;
            DB::with_connection(|c| c.execute_values(&sql, &binds))?;

            let mut select = SqlWriter::new(dialect);
            select.push("SELECT ").push_identifier(name).push(" FROM ").push_identifier(&table);
            let (sql, _) = select.finish()?;
            let rows = DB::with_connection(|c| c.select_values(&sql, &[]))?;
            assert_eq!(rows[0].get::<String, _>(*name)?, *name);
        }
        let tables: i64 = DB::select(per_backend(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()",
        ), &[])?[0].get("n")?;
        assert_eq!(tables, names.len() as i64);
        Ok(())
    }
}

#[test]
fn a_value_a_postgres_parameter_cannot_take_is_a_bind_error() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    schema()?;
    // Text for an integer parameter (the type the server inferred from `id`).
    let err = DB::select(
        "SELECT * FROM parents WHERE email = ? AND id = ?",
        &[&"a@x", &"abc"],
    )
    .unwrap_err();
    match &err {
        Error::Bind { message, .. } => {
            assert!(message.contains("parameter 2"), "{message}");
            // The driver's error is kept as the source.
            assert!(std::error::Error::source(&err).is_some(), "{err:?}");
            assert!(
                message.contains("text") && message.contains("int4"),
                "{message}"
            );
        }
        other => panic!("expected Error::Bind, got {other:?}"),
    }
    // An integer out of the parameter's range, written by an INSERT or an UPDATE: the
    // column cannot hold it, as MySQL and PostgreSQL's own SQL report.
    let err = DB::insert(
        "INSERT INTO parents (id, email) VALUES (?, ?)",
        &[&(1i64 << 40), &"big@x"],
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::ValueOutOfRange { message: m, .. } if m.contains("parameter 1")),
        "{err:?}"
    );
    // Nothing was sent: the connection goes on (also inside a transaction).
    DB::transaction(|| {
        let refused = DB::insert(
            "INSERT INTO parents (id, email) VALUES (?, ?)",
            &[&"x", &"x@x"],
        );
        assert!(matches!(refused, Err(Error::Bind { .. })), "{refused:?}");
        let refused = DB::update(
            "UPDATE parents SET id = ? WHERE id = ?",
            &[&(1i64 << 40), &1],
        );
        assert!(
            matches!(refused, Err(Error::ValueOutOfRange { .. })),
            "{refused:?}"
        );
        // Compared, it matches nothing: the transaction goes on.
        assert_eq!(
            DB::update(
                "UPDATE parents SET email = ? WHERE id = ?",
                &[&"y@x", &(1i64 << 40)]
            )?,
            0
        );
        DB::insert(
            "INSERT INTO parents (id, email) VALUES (?, ?)",
            &[&2, &"b@x"],
        )
    })?;
    assert_eq!(DB::table("parents").count()?, 2);
    Ok(())
}

#[test]
fn a_password_in_a_url_is_never_shown() {
    let url = "postgres://app:sup3rs3cret@127.0.0.1:1/db";
    let err = orm_core::Connection::open(url).unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("sup3rs3cret"), "{shown}");
        assert!(shown.contains("app:***@127.0.0.1:1/db"), "{shown}");
    }
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the driver's error is kept"
    );
    let err = orm_core::Pool::new(url).unwrap_err();
    assert!(!format!("{err:?}").contains("sup3rs3cret"));
    let options = orm_core::ConnectOptions::parse(url).unwrap();
    assert!(!format!("{options:?} {options}").contains("sup3rs3cret"));
}

#[test]
fn unknown_url_schemes_are_configuration_errors() {
    assert!(matches!(
        orm_core::Connection::open("oracle://root@localhost/x"),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        orm_core::Connection::open("nonsense"),
        Err(Error::Config(_))
    ));
}

on_every_backend! {
    fn invalid_queries_say_which_rule_they_broke() {
        schema()?;
        let kind = |result: orm_core::Result<u64>| result.unwrap_err().invalid_query_kind();
        assert_eq!(kind(DB::table("parents").where_("id", "=>", 1).count()), Some(InvalidQueryKind::Operator));
        // NULL compares by `=` / `<>` only: `id > NULL` would quietly match no row.
        assert_eq!(kind(DB::table("parents").where_("id", ">", None::<i64>).count()), Some(InvalidQueryKind::Operator));
        assert_eq!(kind(DB::table("parents").or_where("email", "like", None::<String>).count()), Some(InvalidQueryKind::Operator));
        assert_eq!(DB::table("parents").where_("email", "<>", None::<String>).where_("id", "=", None::<i64>).count()?, 0);
        assert_eq!(kind(DB::table("parents").where_like("email", r"a\").count()), Some(InvalidQueryKind::LikePattern));
        assert_eq!(kind(DB::table("parents").update(Vec::<(&str, Value)>::new())), Some(InvalidQueryKind::Rows));
        assert_eq!(
            kind(DB::table("parents").insert_many([orm_core::row! {"id" => 2}, orm_core::row! {"email" => "b"}])),
            Some(InvalidQueryKind::Rows)
        );
        let placeholders = DB::select("SELECT * FROM parents WHERE id = ? AND email = ?", &[&1]).unwrap_err();
        assert!(
            matches!(placeholders, Error::Bind { .. }),
            "{placeholders:?}"
        );
        // Refused before anything was sent: the table is unchanged.
        assert_eq!(DB::table("parents").count()?, 1);
        Ok(())
    }

    fn application_errors_abort_a_transaction_and_keep_their_source() {
        schema()?;
        let parse = "seven".parse::<i64>().unwrap_err();
        let err = DB::transaction(|| {
            DB::insert("INSERT INTO parents (id, email) VALUES (?, ?)", &[&2, &"b@x"])?;
            Err::<(), _>(Error::other(parse.clone()))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Other(_)), "{err:?}");
        assert_eq!(err.to_string(), parse.to_string());
        assert_eq!(DB::table("parents").count()?, 1);
        Ok(())
    }
}

/// MySQL names the unique key (`PRIMARY` for the primary key), the CHECK and the foreign
/// key in its messages, and the column of a NOT NULL violation; the driver's error is kept.
#[test]
fn mysql_constraint_violations_name_their_constraint() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    DB::unprepared(
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, \
            team VARCHAR(20), handle VARCHAR(20), votes INTEGER, parent_id BIGINT, \
            CONSTRAINT votes_not_negative CHECK (votes >= 0), \
            CONSTRAINT accounts_parent_fk FOREIGN KEY (parent_id) REFERENCES accounts (id));
         CREATE UNIQUE INDEX accounts_email_unique ON accounts (email);
         CREATE UNIQUE INDEX accounts_team_handle ON accounts (team, handle);
         INSERT INTO accounts (id, email, team, handle, votes) VALUES (1, 'a@x', 'red', 'ada', 1)",
    )?;
    let insert = |id: i64, email: Option<&str>, team: &str, votes: i64, parent: Option<i64>| {
        DB::insert(
            "INSERT INTO accounts (id, email, team, handle, votes, parent_id) VALUES (?, ?, ?, ?, ?, ?)",
            &[&id, &email, &team, &"ada", &votes, &parent],
        )
        .unwrap_err()
    };
    let email = insert(2, Some("a@x"), "blue", 1, None);
    assert!(matches!(&email, Error::UniqueViolation { .. }), "{email:?}");
    assert_eq!(
        email.constraint_name(),
        Some("accounts_email_unique"),
        "{email:?}"
    );
    let pair = insert(2, Some("b@x"), "red", 1, None);
    assert_eq!(
        pair.constraint_name(),
        Some("accounts_team_handle"),
        "{pair:?}"
    );
    // Every table has a key named PRIMARY: its table is told from the statement.
    DB::statement("CREATE TABLE others (code VARCHAR(5) PRIMARY KEY)")?;
    let key = insert(1, Some("b@x"), "blue", 1, None);
    assert_eq!(key.constraint_name(), Some("PRIMARY"), "{key:?}");
    // The key's columns, read from the catalog as the other backends report them.
    let columns = |e: &Error| match e {
        Error::UniqueViolation { columns, .. } => columns.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(columns(&email), ["email"]);
    assert_eq!(columns(&pair), ["team", "handle"]);
    assert_eq!(columns(&key), ["id"]);
    DB::insert("INSERT INTO others (code) VALUES ('a')", &[])?;
    let other = DB::update(
        "UPDATE `others` SET code = 'a' WHERE code = 'a' OR 1 = 1",
        &[],
    );
    assert!(other.is_ok(), "{other:?}");
    DB::insert("INSERT INTO others (code) VALUES ('b')", &[])?;
    let other = DB::update("UPDATE `others` SET code = 'a' WHERE code = 'b'", &[]).unwrap_err();
    assert_eq!(columns(&other), ["code"]);
    let check = insert(2, Some("b@x"), "blue", -1, None);
    assert!(matches!(&check, Error::CheckViolation { .. }), "{check:?}");
    assert_eq!(
        check.constraint_name(),
        Some("votes_not_negative"),
        "{check:?}"
    );
    let not_null = insert(2, None, "blue", 1, None);
    assert!(
        matches!(&not_null, Error::NotNullViolation { constraint: None, columns, .. }
        if *columns == ["email"]),
        "{not_null:?}"
    );
    let parent = insert(2, Some("b@x"), "blue", 1, Some(99));
    assert!(
        matches!(&parent, Error::ForeignKeyViolation { columns, .. }
        if *columns == ["parent_id"]),
        "{parent:?}"
    );
    assert_eq!(
        parent.constraint_name(),
        Some("accounts_parent_fk"),
        "{parent:?}"
    );
    DB::insert(
        "INSERT INTO accounts (id, email, parent_id) VALUES (2, 'c@x', 1)",
        &[],
    )?;
    let referenced = DB::delete("DELETE FROM accounts WHERE id = 1", &[]).unwrap_err();
    assert!(
        matches!(&referenced, Error::ForeignKeyViolation { .. }),
        "{referenced:?}"
    );
    for err in [&email, &pair, &key, &check, &not_null, &parent, &referenced] {
        assert!(std::error::Error::source(err).is_some(), "{err:?}");
        assert!(err.sql().is_some(), "{err:?}");
    }
    Ok(())
}

/// A second connection to the test's MySQL database.
fn second_mysql_connection(
    db: &orm_core::testing::TestDatabase,
) -> orm_core::Result<orm_core::Connection> {
    let mut conn = orm_core::Connection::open(&orm_core::testing::mysql_url())?;
    conn.execute_batch(&format!("USE `{}`", db.schema().expect("a test database")))?;
    Ok(conn)
}

/// A lock wait that times out is `Error::Busy`; a deadlock too, and it aborts the
/// transaction it rolled back, so committing that transaction fails.
#[test]
fn mysql_lock_waits_and_deadlocks_are_busy() -> orm_core::Result<()> {
    let Some(db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    DB::statement("CREATE TABLE slots (id BIGINT PRIMARY KEY, n INTEGER NOT NULL)")?;
    DB::insert("INSERT INTO slots (id, n) VALUES (1, 0), (2, 0)", &[])?;
    let mut other = second_mysql_connection(&db)?;
    other.execute_batch("SET SESSION innodb_lock_wait_timeout = 1")?;
    DB::with_connection(|c| {
        c.transaction(|c| {
            c.execute("UPDATE slots SET n = 1 WHERE id = 1", &[])?;
            let waited = other
                .execute("UPDATE slots SET n = 2 WHERE id = 1", &[])
                .unwrap_err();
            assert!(waited.is_busy(), "{waited:?}");
            assert!(matches!(waited, Error::Busy { .. }), "{waited:?}");
            Ok(())
        })
    })?;

    // A deadlock: each side holds one row and asks for the other's.
    let mut mine = second_mysql_connection(&db)?;
    other.execute_batch("SET SESSION innodb_lock_wait_timeout = 10")?;
    let mut tx = mine.begin()?;
    tx.execute("UPDATE slots SET n = 3 WHERE id = 1", &[])?;
    let waiter = std::thread::spawn(move || -> orm_core::Result<orm_core::Result<()>> {
        let mut tx = other.begin()?;
        tx.execute("UPDATE slots SET n = 4 WHERE id = 2", &[])?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        let outcome = tx
            .execute("UPDATE slots SET n = 4 WHERE id = 1", &[])
            .map(|_| ());
        match outcome {
            Ok(()) => Ok(tx.commit()),
            Err(e) => Ok(Err(e)),
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mine_outcome = tx.execute("UPDATE slots SET n = 3 WHERE id = 2", &[]);
    let mine_result = match mine_outcome {
        Ok(_) => tx.commit(),
        Err(e) => {
            assert!(e.is_busy(), "{e:?}");
            // InnoDB rolled the whole transaction back: committing it must not pretend.
            let commit = tx.commit().unwrap_err();
            assert!(
                matches!(commit, Error::TransactionAborted { .. }),
                "{commit:?}"
            );
            Err(e)
        }
    };
    let theirs = waiter.join().expect("the other side finishes")?;
    // Exactly one side was chosen as the deadlock victim.
    assert_ne!(
        mine_result.is_err(),
        theirs.is_err(),
        "{mine_result:?} / {theirs:?}"
    );
    if let Err(e) = &theirs {
        assert!(e.is_busy(), "{e:?}");
    }
    Ok(())
}

/// A connection the server killed is `Error::Connection`, and the connection knows it
/// is broken (the pool then discards it).
#[test]
fn mysql_a_killed_connection_is_a_connection_error() -> orm_core::Result<()> {
    let Some(db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    let mut victim = second_mysql_connection(&db)?;
    let id: i64 = victim.select("SELECT CONNECTION_ID() AS id", &[])?[0].get("id")?;
    DB::statement(&format!("KILL CONNECTION {id}"))?;
    let err = victim.select("SELECT 1", &[]).unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(victim.ping().is_err());
    Ok(())
}

/// A value past the server's `max_allowed_packet`: the server closes the connection, and
/// the error says why (the driver only sees a reset).
#[test]
fn mysql_a_value_past_the_packet_limit_says_so() -> orm_core::Result<()> {
    let Some(db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    let mut conn = second_mysql_connection(&db)?;
    conn.execute_batch("CREATE TABLE blobs (body LONGTEXT NOT NULL)")?;
    let limit: i64 = conn.select("SELECT @@max_allowed_packet AS n", &[])?[0].get("n")?;
    let body = "x".repeat(usize::try_from(limit).unwrap() + (1 << 20));
    let err = conn
        .execute("INSERT INTO blobs (body) VALUES (?)", &[&body])
        .unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(err.to_string().contains("max_allowed_packet"), "{err}");
    assert_eq!(DB::table("blobs").count()?, 0, "nothing written");
    Ok(())
}

/// A mistyped column name in the builder: every statement fails, and no row changes.
fn mistyped_columns_fail(db: &orm_core::ConnectionRef) -> orm_core::Result<()> {
    db.statement("CREATE TABLE typos (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")?;
    for (id, name) in [(1, "Ada"), (2, "Grace"), (3, "Linus")] {
        db.table("typos")
            .insert([("id", Value::from(id)), ("name", Value::from(name))])?;
    }
    let typos = || db.table("typos");
    assert!(typos().where_("nmae", "<>", "Ada").delete().is_err());
    assert!(typos().where_not_null("emial").delete().is_err());
    assert!(typos()
        .where_("nmae", "<>", "Ada")
        .update([("email", Value::from("x@y"))])
        .is_err());
    assert!(typos().pluck::<String>("nme").is_err());
    assert!(typos().where_eq("id", 1).value::<String>("nme").is_err());
    assert!(typos().sum("nme").is_err());
    assert!(typos().order_by("nmae").get().is_err());
    assert_eq!(typos().count()?, 3);
    assert_eq!(typos().where_null("email").count()?, 3);
    Ok(())
}

on_every_backend! {
    fn a_mistyped_column_fails_and_changes_nothing() {
        mistyped_columns_fail(&DB::connection(orm_core::DEFAULT_CONNECTION))
    }
}

/// The same through `DB::connect` on a SQLite file (the pool's connections).
#[test]
fn a_mistyped_column_fails_on_a_sqlite_file() -> orm_core::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("typos.sqlite3").display());
    DB::connect_named("typos_file", &url)?;
    mistyped_columns_fail(&DB::connection("typos_file"))
}

on_every_backend! {
    fn more_values_than_the_database_binds_is_a_typed_error() {
        DB::statement("CREATE TABLE many_keys (id INTEGER PRIMARY KEY, code VARCHAR(10))")?;
        DB::table("many_keys").insert([("id", Value::from(7)), ("code", Value::from("7"))])?;
        // Integers are written into the SQL past 1 000 of them: no limit.
        let ints: Vec<i64> = (0..70_000).collect();
        assert_eq!(DB::table("many_keys").where_in("id", ints).count()?, 1);
        // Other values are bound, and held to the database's limit.
        let keys: Vec<String> = (0..70_000).map(|k| k.to_string()).collect();
        let count = DB::table("many_keys").where_in("code", keys.clone()).count();
        let deleted = DB::table("many_keys").where_in("code", keys).delete();
        if orm_tests::backend() == orm_core::Backend::Postgres {
            // One array parameter, whatever the list's length.
            assert_eq!(count?, 1);
            assert_eq!(deleted?, 1);
            return Ok(());
        }
        for result in [count, deleted] {
            let err = result.expect_err("70 000 values exceed the limit");
            assert!(
                matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("70001 values") || message.contains("70000 values"), "{message}");
            assert!(message.len() < 300, "no SQL in the message: {} bytes", message.len());
        }
        assert_eq!(DB::table("many_keys").count()?, 1);
        Ok(())
    }
}

on_every_backend! {
    fn a_statement_the_database_cancels_is_statement_cancelled() {
        let (timeout, slow) = match orm_tests::backend() {
            // SQLite has no statement timeout.
            orm_core::Backend::Sqlite => return Ok(()),
            orm_core::Backend::Postgres => ("SET statement_timeout = '100ms'", "SELECT pg_sleep(2)"),
            _ => ("SET SESSION max_statement_time = 0.1", "SELECT SLEEP(2)"),
        };
        DB::statement("CREATE TABLE kept (id INTEGER PRIMARY KEY)")?;
        DB::statement(timeout)?;
        let err = DB::select(slow, &[]).unwrap_err();
        match &err {
            Error::StatementCancelled { code, sql, .. } => {
                assert!(matches!(code.as_deref(), Some("57014" | "1969")), "{err:?}");
                assert_eq!(sql.as_deref(), Some(slow));
            }
            other => panic!("{other:?}"),
        }
        assert!(!err.is_retryable() && !err.is_busy());
        // Inside a transaction: what the transaction did is not kept on PostgreSQL (the
        // cancel aborts it), and the commit says so rather than report success.
        let result = DB::transaction(|| {
            DB::insert("INSERT INTO kept (id) VALUES (1)", &[])?;
            assert!(matches!(DB::select(slow, &[]), Err(Error::StatementCancelled { .. })));
            Ok(())
        });
        let kept = DB::table("kept").count()?;
        match result {
            Err(Error::TransactionAborted { first }) => {
                assert!(matches!(*first, Error::StatementCancelled { .. }));
                assert_eq!(kept, 0);
            }
            Ok(()) => assert_eq!(kept, 1, "the transaction went on and committed its row"),
            Err(other) => return Err(other),
        }
        Ok(())
    }
}

/// A table made by the schema builder, as an application's: an `increments` key
/// (`INTEGER`/`SERIAL`), a small integer and a short text.
fn narrow_table() -> orm_core::Result<()> {
    orm_migrate::Schema::on_default(|s| {
        s.create("gauges", |t| {
            t.increments("id");
            t.small_integer("level");
            t.string("code", 5);
        })
    })
    .map_err(Error::other)?;
    DB::table("gauges").insert(orm_core::row! {"level" => 7, "code" => "ok"})?;
    Ok(())
}

on_every_backend! {
    fn an_integer_past_the_columns_type_matches_nothing_when_compared() {
        narrow_table()?;
        let gauges = || DB::table("gauges");
        // PostgreSQL infers the column's own type for the parameter (`INTEGER`,
        // `SMALLINT`): a wider value is compared as a `BIGINT`, as elsewhere.
        assert_eq!(gauges().find(5_000_000_000i64)?, None);
        assert_eq!(gauges().where_("id", "<", 3_000_000_000i64).count()?, 1);
        assert_eq!(gauges().where_in("id", [1i64, i64::MAX]).count()?, 1);
        assert_eq!(gauges().where_("level", "<", 100_000).count()?, 1);
        assert_eq!(gauges().where_eq("id", "99999999999999999999").count()?, 0);
        // A whole float is that integer; a fraction compares by value.
        assert_eq!(gauges().where_eq("level", 7.0).count()?, 1);
        assert_eq!(gauges().where_eq("id", 1.0).count()?, 1);
        assert_eq!(gauges().where_eq("level", 7.5).count()?, 0);
        assert_eq!(gauges().where_("level", "<", 7.5).count()?, 1);
        assert_eq!(gauges().where_("level", ">", 6.5).where_("level", "<", 7.25).count()?, 1);
        // An increment wider than the column's type, whose result fits it.
        DB::table("gauges").insert(orm_core::row! {"level" => 1, "code" => "big"})?;
        DB::statement("UPDATE gauges SET id = 2000000000 WHERE code = 'big'")?;
        DB::table("gauges").where_eq("code", "big").decrement("id", 3_000_000_000i64)?;
        assert_eq!(DB::table("gauges").where_eq("code", "big").value::<i64>("id")?, Some(-1_000_000_000));
        Ok(())
    }

    fn a_value_the_column_cannot_hold_is_value_out_of_range_or_kept_on_sqlite() {
        narrow_table()?;
        let too_long = DB::table("gauges").insert(orm_core::row! {"level" => 1, "code" => "abcdef"});
        let too_big = DB::table("gauges").insert(orm_core::row! {"level" => 70_000, "code" => "x"});
        // 7 + 32 765 is past SMALLINT's 32 767: the database's own arithmetic refuses it.
        let grown = DB::table("gauges").where_eq("code", "ok").increment("level", 32_765);
        let backend = orm_tests::backend();
        if backend == orm_core::Backend::Sqlite {
            // SQLite keeps what it is given (documented).
            assert!(too_long.is_ok() && too_big.is_ok() && grown.is_ok());
            return Ok(());
        }
        for result in [too_long, grown] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::ValueOutOfRange { .. }), "{err:?}");
            assert!(err.sql().is_some(), "{err:?}");
        }
        // PostgreSQL's parameter is the column's SMALLINT: refused before it is sent, as
        // the same error the server gives.
        let err = too_big.unwrap_err();
        assert!(matches!(err, Error::ValueOutOfRange { .. }), "{err:?}");
        assert!(err.sql().is_some(), "{err:?}");
        assert_eq!(DB::table("gauges").count()?, 1, "nothing written");
        assert_eq!(DB::table("gauges").value::<i64>("level")?, Some(7));
        Ok(())
    }
}

on_every_backend! {
    fn a_column_change_its_values_do_not_fit_is_a_typed_error_and_keeps_the_rows() {
        orm_migrate::Schema::on_default(|s| {
            s.create("labels", |t| {
                t.increments("id");
                t.string("name", 20).nullable();
                t.string("code", 20);
            })
        })
        .map_err(Error::other)?;
        DB::table("labels").insert(orm_core::row! {"name" => Value::Null, "code" => "hello world"})?;
        let change = |f: fn(&mut orm_migrate::Blueprint)| {
            orm_migrate::Schema::on_default(|s| s.table("labels", f))
        };
        let not_null = change(|t| {
            t.string("name", 20).change();
        });
        let shorter = change(|t| {
            t.string("code", 3).change();
        });
        let backend = orm_tests::backend();
        if backend == orm_core::Backend::Sqlite {
            // SQLite keeps text past a VARCHAR's length (documented); its rebuild copies
            // the NULL into the NOT NULL column and is refused.
            let err = not_null.unwrap_err();
            assert!(matches!(&err, orm_migrate::Error::Database(e) if e.constraint_kind() == Some(ConstraintKind::NotNull)), "{err:?}");
            assert!(shorter.is_ok(), "{shorter:?}");
        } else {
            for result in [not_null, shorter] {
                let err = result.unwrap_err();
                let orm_migrate::Error::Database(err) = err else { panic!("{err:?}") };
                // PostgreSQL names the NULL a NOT NULL violation; MySQL reports both as
                // data truncated.
                assert!(
                    matches!(err, Error::ValueOutOfRange { .. })
                        || err.constraint_kind() == Some(ConstraintKind::NotNull),
                    "{err:?}"
                );
            }
        }
        let rows = DB::table("labels").get()?;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<Option<String>, _>("name")?, None);
        assert_eq!(rows[0].get::<String, _>("code")?, "hello world");
        Ok(())
    }
}

#[test]
fn mysql_text_it_cannot_store_is_value_out_of_range() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    orm_migrate::Schema::on_default(|s| {
        s.create("notes", |t| {
            t.increments("id");
            t.text("body");
            t.integer("n").nullable();
        })
    })
    .map_err(Error::other)?;
    // Past TEXT's 65 535 bytes in two-byte characters: MariaDB reports 1366 ("Incorrect
    // string value"), not 1406 as for ASCII.
    for body in ["é".repeat(200_000), "a".repeat(70_000)] {
        let err = DB::table("notes")
            .insert(orm_core::row! {"body" => body})
            .unwrap_err();
        assert!(matches!(err, Error::ValueOutOfRange { .. }), "{err:?}");
    }
    // Text where the column wants a number.
    let err = DB::insert("INSERT INTO notes (body, n) VALUES ('x', 'abc')", &[]).unwrap_err();
    assert!(matches!(err, Error::ValueOutOfRange { .. }), "{err:?}");
    assert_eq!(DB::table("notes").count()?, 0);
    Ok(())
}

#[test]
fn postgres_text_with_a_nul_is_value_out_of_range_and_an_untyped_null_says_to_cast(
) -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    narrow_table()?;
    let err = DB::table("gauges")
        .insert(orm_core::row! {"level" => 1, "code" => "a\0b"})
        .unwrap_err();
    assert!(matches!(err, Error::ValueOutOfRange { .. }), "{err:?}");
    let none: Option<String> = None;
    let err = DB::select(
        "SELECT code FROM gauges WHERE (? IS NULL OR code = ?)",
        &[&none, &none],
    )
    .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err:?}");
    assert!(err.to_string().contains("?::text"), "{err}");
    let rows = DB::select(
        "SELECT code FROM gauges WHERE (?::text IS NULL OR code = ?)",
        &[&none, &none],
    )?;
    assert_eq!(rows.len(), 1);
    Ok(())
}

#[test]
fn postgres_time_24_00_is_a_decode_error_not_midnight() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let err = DB::select("SELECT '24:00:00'::time AS late", &[]).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let rows = DB::select("SELECT '23:59:59.999999'::time AS last", &[])?;
    let last = rows[0].get::<chrono::NaiveTime, _>("last")?;
    assert_eq!(
        last,
        chrono::NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap()
    );
    Ok(())
}
