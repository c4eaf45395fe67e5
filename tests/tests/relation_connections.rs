//! Writes through a relation query run on the query's connection: with
//! `use_connection("other")`, the related row and its pivot row both go to `other`, and
//! the default database is left alone. Two databases with the same tables: the test's
//! default one and a named one (a second in-memory SQLite database, or a second schema
//! on the PostgreSQL test server).

use orm_core::prelude::*;
use orm_tests::{on_every_backend, per_backend, SecondDatabase};

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
    #[model(belongs_to_many(
        User,
        table = "friend_user",
        foreign_pivot_key = "user_id",
        related_pivot_key = "friend_id"
    ))]
    pub friends: BelongsToMany<User>,
    /// A pivot table that exists on neither database: writes through it fail.
    #[model(belongs_to_many(
        User,
        table = "missing_pivot",
        foreign_pivot_key = "user_id",
        related_pivot_key = "friend_id"
    ))]
    pub blocked: BelongsToMany<User>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Post {
    pub id: Option<i64>,
    pub user_id: i64,
    pub title: String,
}

fn tables() -> String {
    let key = per_backend("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY");
    format!(
        "CREATE TABLE users (id {key}, name TEXT NOT NULL);
         CREATE TABLE posts (id {key}, user_id BIGINT NOT NULL, title TEXT NOT NULL);
         CREATE TABLE friend_user (user_id BIGINT NOT NULL, friend_id BIGINT NOT NULL,
                                   note TEXT, PRIMARY KEY (user_id, friend_id));"
    )
}

/// A second database registered under a name of its own, with the same tables.
struct Other {
    name: String,
    _database: SecondDatabase,
}

impl Other {
    fn connect() -> Result<Other> {
        let database = SecondDatabase::new("relation_connections")?;
        let name = database.name.clone();
        DB::connect_named(&name, &database.url)?;
        if let Some(schema) = database.schema() {
            let current = DB::connection(&name).select(
                orm_tests::per_backend3(
                    "",
                    "SELECT current_schema() AS s",
                    "SELECT DATABASE() AS s",
                ),
                &[],
            )?;
            assert_eq!(current[0].get::<String, _>("s")?, schema);
        }
        let other = Other {
            name,
            _database: database,
        };
        DB::unprepared(&tables())?;
        DB::connection(&other.name).unprepared(&tables())?;
        Ok(other)
    }

    fn count(&self, table: &'static str) -> Result<u64> {
        Query::<Record>::table(table)
            .use_connection(self.name.clone())
            .count()
    }
}

/// `john` (id 1) on both databases, and `kim` (id 2) on `other` only.
fn seed(other: &Other) -> Result<User> {
    let john = User::create(User {
        name: "john".into(),
        ..Default::default()
    })?;
    for name in ["john", "kim"] {
        Query::<Record>::table("users")
            .use_connection(other.name.clone())
            .insert(row! {"name" => name})?;
    }
    Ok(john)
}

on_every_backend! {
    fn has_many_writes_go_to_the_query_connection() {
        let other = Other::connect()?;
        let john = seed(&other)?;
        let on_other = || john.posts().use_connection(other.name.clone());
        let created = on_other().create(Post { title: "first".into(), ..Default::default() })?;
        assert_eq!(created.user_id, 1);
        let mut second = Post { title: "second".into(), ..Default::default() };
        on_other().save(&mut second)?;
        assert!(second.id.is_some());
        assert_eq!(other.count("posts")?, 2);
        assert_eq!(DB::table("posts").count()?, 0);
        assert_eq!(on_other().count()?, 2);
        assert_eq!(john.posts().count()?, 0);
        Ok(())
    }

    fn pivot_writes_and_reads_go_to_the_query_connection() {
        let other = Other::connect()?;
        let john = seed(&other)?;
        let friends = || john.friends().use_connection(other.name.clone());
        // The related row and its pivot row, both on `other`.
        let jane = friends().create(User { name: "jane".into(), ..Default::default() })?;
        let jane_id = jane.id.unwrap();
        assert_eq!(other.count("users")?, 3);
        assert_eq!(other.count("friend_user")?, 1);
        assert_eq!(DB::table("users").count()?, 1);
        assert_eq!(DB::table("friend_user").count()?, 0);

        assert_eq!(friends().attach([2])?, 1);
        friends().detach([2])?;
        friends().attach_with(2, row! {"note" => "met at work"})?;
        let pivots = friends().with_pivot(&["note"]).get_with_pivot()?;
        assert_eq!(pivots.len(), 2);
        assert!(pivots.iter().any(|(u, p)| u.name == "kim"
            && p.get::<Option<String>, _>("note").unwrap().as_deref() == Some("met at work")));
        let mut names: Vec<String> = friends().get()?.into_iter().map(|u| u.name).collect();
        names.sort();
        assert_eq!(names, ["jane", "kim"]);

        let changes = friends().sync([2])?;
        assert_eq!((changes.attached.len(), changes.detached.len()), (0, 1));
        let changes = friends().toggle([2, jane_id])?;
        assert_eq!(changes.attached, vec![Value::Int(jane_id)]);
        assert_eq!(changes.detached, vec![Value::Int(2)]);
        assert_eq!(other.count("friend_user")?, 1);
        assert_eq!(friends().detach_all()?, 1);
        assert_eq!(DB::table("friend_user").count()?, 0);
        assert_eq!(DB::table("users").count()?, 1);
        Ok(())
    }

    fn a_failed_attach_leaves_no_related_row() {
        let other = Other::connect()?;
        let john = seed(&other)?;
        let result = john
            .blocked()
            .use_connection(other.name.clone())
            .create(User { name: "ghost".into(), ..Default::default() });
        assert!(result.is_err());
        assert_eq!(other.count("users")?, 2);
        assert_eq!(DB::table("users").count()?, 1);
        Ok(())
    }
}
