//! Diesel 2.3, written the way Diesel's own benchmarks and guides write it: `table!`
//! schema, `Selectable` structs, `belonging_to` + `grouped_by` for associations.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::NewUser;

/// The schema.
pub mod schema {
    diesel::table! {
        users (id) {
            id -> BigInt,
            name -> Text,
            hair_color -> Nullable<Text>,
        }
    }

    diesel::table! {
        posts (id) {
            id -> BigInt,
            user_id -> BigInt,
            title -> Text,
            body -> Nullable<Text>,
        }
    }

    diesel::table! {
        comments (id) {
            id -> BigInt,
            post_id -> BigInt,
            text -> Text,
        }
    }

    diesel::joinable!(posts -> users (user_id));
    diesel::joinable!(comments -> posts (post_id));
    diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
}

use schema::{comments, posts, users};

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct DieselUser {
    /// Primary key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
}

/// A post.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(belongs_to(DieselUser, foreign_key = user_id))]
#[diesel(table_name = posts)]
pub struct DieselPost {
    /// Primary key.
    pub id: i64,
    /// The author.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(belongs_to(DieselPost, foreign_key = post_id))]
#[diesel(table_name = comments)]
pub struct DieselComment {
    /// Primary key.
    pub id: i64,
    /// The post commented on.
    pub post_id: i64,
    /// Text.
    pub text: String,
}

/// A user to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewDieselUser<'a> {
    /// Name.
    pub name: &'a str,
    /// Hair colour.
    pub hair_color: Option<&'a str>,
}

impl<'a> From<&'a NewUser> for NewDieselUser<'a> {
    fn from(user: &'a NewUser) -> Self {
        NewDieselUser {
            name: &user.name,
            hair_color: user.hair_color.as_deref(),
        }
    }
}

/// Users with posts with comments.
pub type DieselNested = Vec<(DieselUser, Vec<(DieselPost, Vec<DieselComment>)>)>;

macro_rules! diesel_workloads {
    ($module:ident, $connection:ty, $streaming_mode:ty) => {
        /// Every workload on one Diesel backend.
        pub mod $module {
            use diesel::prelude::*;

            use super::schema::{posts, users};
            use super::{DieselComment, DieselNested, DieselPost, DieselUser, NewDieselUser};
            use crate::NewUser;

            /// Trivial query: every user.
            pub fn load_users(conn: &mut $connection) -> QueryResult<Vec<DieselUser>> {
                users::table.select(DieselUser::as_select()).load(conn)
            }

            /// Medium query: black-haired users with their post, if any.
            pub fn load_users_with_posts(
                conn: &mut $connection,
            ) -> QueryResult<Vec<(DieselUser, Option<DieselPost>)>> {
                users::table
                    .left_join(posts::table)
                    .filter(users::hair_color.eq("black"))
                    .select((DieselUser::as_select(), Option::<DieselPost>::as_select()))
                    .load(conn)
            }

            /// Inserts every user in one statement, returning the generated keys.
            pub fn insert_many(
                conn: &mut $connection,
                new_users: &[NewUser],
            ) -> QueryResult<Vec<i64>> {
                let rows: Vec<NewDieselUser<'_>> = new_users.iter().map(Into::into).collect();
                diesel::insert_into(users::table)
                    .values(&rows)
                    .returning(users::id)
                    .get_results(conn)
            }

            /// Inserts one user and returns its key.
            pub fn insert_one(conn: &mut $connection, user: &NewUser) -> QueryResult<i64> {
                diesel::insert_into(users::table)
                    .values(NewDieselUser::from(user))
                    .returning(users::id)
                    .get_result(conn)
            }

            /// Inserts each user with its own statement, all in one transaction.
            pub fn insert_each_in_transaction(
                conn: &mut $connection,
                new_users: &[NewUser],
            ) -> QueryResult<Vec<i64>> {
                conn.transaction(|conn| {
                    new_users
                        .iter()
                        .map(|user| insert_one(conn, user))
                        .collect()
                })
            }

            /// Looks one user up by primary key.
            pub fn find_user(conn: &mut $connection, id: i64) -> QueryResult<Option<DieselUser>> {
                users::table
                    .find(id)
                    .select(DieselUser::as_select())
                    .first(conn)
                    .optional()
            }

            /// Associations: `belonging_to` + `grouped_by`, three queries.
            pub fn load_associations(conn: &mut $connection) -> QueryResult<DieselNested> {
                let users = users::table.select(DieselUser::as_select()).load(conn)?;
                let posts = DieselPost::belonging_to(&users)
                    .select(DieselPost::as_select())
                    .load(conn)?;
                let comments = DieselComment::belonging_to(&posts)
                    .select(DieselComment::as_select())
                    .load(conn)?;
                let comments = comments.grouped_by(&posts);
                let posts = posts.into_iter().zip(comments).grouped_by(&users);
                Ok(users.into_iter().zip(posts).collect())
            }

            /// Streams every user (`load_iter`, row by row), calling `f` on each.
            pub fn stream_users(
                conn: &mut $connection,
                mut f: impl FnMut(DieselUser),
            ) -> QueryResult<usize> {
                let mut count = 0;
                for user in users::table
                    .select(DieselUser::as_select())
                    .order(users::id)
                    .load_iter::<DieselUser, $streaming_mode>(conn)?
                {
                    f(user?);
                    count += 1;
                }
                Ok(count)
            }
        }
    };
}

diesel_workloads!(
    sqlite,
    diesel::SqliteConnection,
    diesel::connection::DefaultLoadingMode
);
diesel_workloads!(pg, diesel::PgConnection, diesel::pg::PgRowByRowLoadingMode);

/// Opens an in-memory SQLite database with the schema and `seed`.
pub fn open_sqlite(seed: &crate::data::Seed) -> QueryResult<SqliteConnection> {
    let mut conn = SqliteConnection::establish(":memory:")
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    conn.batch_execute(crate::data::schema(crate::data::Database::Sqlite))?;
    conn.batch_execute(&seed.script())?;
    Ok(conn)
}

/// Opens a new SQLite database file at `path` with the schema and `seed`, set up as the
/// ORM sets up a file (WAL, `synchronous = NORMAL`, foreign keys on).
pub fn open_sqlite_file(
    seed: &crate::data::Seed,
    path: &std::path::Path,
) -> QueryResult<SqliteConnection> {
    let url = path.display().to_string();
    let connect = || {
        SqliteConnection::establish(&url)
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
    };
    let mut seeder = connect()?;
    seeder.batch_execute("PRAGMA journal_mode = WAL")?;
    seeder.batch_execute(crate::data::schema(crate::data::Database::Sqlite))?;
    seeder.batch_execute(&seed.script())?;
    drop(seeder);
    let mut conn = connect()?;
    conn.batch_execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")?;
    Ok(conn)
}

/// Connects to PostgreSQL with `schema` as the search path.
pub fn connect_postgres(url: &str, schema: &str) -> QueryResult<PgConnection> {
    let mut conn = PgConnection::establish(url)
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    conn.batch_execute(&format!("SET search_path TO \"{schema}\""))?;
    Ok(conn)
}
