//! Relations from a model to itself (a category's `children` and `parent`, a user's
//! `friends` through a pivot): existence queries, counts and eager loading, on both
//! backends. The related table is the parent's own, so an existence subquery must alias
//! it to compare a row with its relatives rather than with itself.

use orm_core::dialect::SqliteDialect;
use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(soft_deletes)]
pub struct Category {
    pub id: Option<i64>,
    pub name: String,
    pub parent_id: Option<i64>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(has_many(Category, foreign_key = "parent_id"))]
    pub children: HasMany<Category>,
    #[model(belongs_to(Category, foreign_key = "parent_id"))]
    pub parent: BelongsTo<Category>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    #[model(belongs_to_many(
        User,
        table = "friend_user",
        foreign_pivot_key = "user_id",
        related_pivot_key = "friend_id"
    ))]
    pub friends: BelongsToMany<User>,
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("categories", |t| {
            t.increments("id");
            t.string("name", 100);
            t.big_integer("parent_id").nullable();
            t.soft_deletes();
        })?;
        s.create("users", |t| {
            t.increments("id");
            t.string("name", 100);
        })?;
        s.create("friend_user", |t| {
            t.big_integer("user_id");
            t.big_integer("friend_id");
            t.primary(&["user_id", "friend_id"]);
        })
    })
    .map_err(|e| Error::other(e.to_string()))
}

fn category(name: &str, parent: Option<&Category>) -> Result<Category> {
    Category::create(Category {
        name: name.into(),
        parent_id: parent.and_then(|p| p.id),
        ..Default::default()
    })
}

/// `root` → (`a` → `a1`), `b`; `lonely` → a soft-deleted child; users ann → bob, cat and
/// bob → cat, dan alone.
fn seed() -> Result<()> {
    schema()?;
    let root = category("root", None)?;
    let a = category("a", Some(&root))?;
    category("b", Some(&root))?;
    category("a1", Some(&a))?;
    let lonely = category("lonely", None)?;
    category("gone", Some(&lonely))?.delete()?;

    let mut users = Vec::new();
    for name in ["ann", "bob", "cat", "dan"] {
        users.push(User::create(User {
            name: name.into(),
            ..Default::default()
        })?);
    }
    let id = |i: usize| users[i].id.unwrap();
    users[0].friends().attach([id(1), id(2)])?;
    users[1].friends().attach([id(2)])?;
    Ok(())
}

fn names<M: Model>(query: Query<M>, name: impl Fn(&M) -> &str) -> Result<Vec<String>> {
    let mut v: Vec<String> = query.get()?.iter().map(|m| name(m).to_owned()).collect();
    v.sort();
    Ok(v)
}

fn categories(query: Query<Category>) -> Result<Vec<String>> {
    names(query, |c| &c.name)
}

fn users(query: Query<User>) -> Result<Vec<String>> {
    names(query, |u| &u.name)
}

on_every_backend! {
    fn has_many_to_itself() {
        seed()?;
        assert_eq!(categories(Category::query().has("children"))?, ["a", "root"]);
        assert_eq!(categories(Category::query().doesnt_have("children"))?, ["a1", "b", "lonely"]);
        assert_eq!(
            categories(Category::query().where_has("children", |q| q.where_("name", "=", "a1")))?,
            ["a"]
        );
        assert_eq!(
            categories(Category::query().where_doesnt_have("children", |q| q.where_("name", "=", "b")))?,
            ["a", "a1", "b", "lonely"]
        );
        assert_eq!(categories(Category::query().has_count("children", ">=", 2))?, ["root"]);
        assert_eq!(categories(Category::query().has_count("children", "=", 1))?, ["a"]);
        // Nested: grandchildren, great-grandchildren.
        assert_eq!(categories(Category::query().has("children.children"))?, ["root"]);
        assert!(categories(Category::query().has("children.children.children"))?.is_empty());
        assert_eq!(
            categories(Category::query().where_has("children.children", |q| q.where_("name", "=", "a1")))?,
            ["root"]
        );
        // The trashed child of `lonely` does not count.
        assert_eq!(Category::with_trashed().has("children").count()?, 2);
        Ok(())
    }

    fn belongs_to_itself() {
        seed()?;
        assert_eq!(categories(Category::query().has("parent"))?, ["a", "a1", "b"]);
        assert_eq!(categories(Category::query().doesnt_have("parent"))?, ["lonely", "root"]);
        assert_eq!(
            categories(Category::query().where_has("parent", |q| q.where_("name", "=", "root")))?,
            ["a", "b"]
        );
        assert_eq!(categories(Category::query().has("parent.parent"))?, ["a1"]);
        assert_eq!(categories(Category::query().has("parent.children"))?, ["a", "a1", "b"]);
        assert_eq!(categories(Category::query().has_count("parent", "=", 1))?, ["a", "a1", "b"]);
        Ok(())
    }

    fn belongs_to_many_to_itself_through_a_pivot() {
        seed()?;
        assert_eq!(users(User::query().has("friends"))?, ["ann", "bob"]);
        assert_eq!(users(User::query().doesnt_have("friends"))?, ["cat", "dan"]);
        assert_eq!(users(User::query().has_count("friends", ">=", 2))?, ["ann"]);
        assert_eq!(
            users(User::query().where_has("friends", |q| q.where_("name", "=", "cat")))?,
            ["ann", "bob"]
        );
        assert_eq!(
            users(User::query().where_has("friends", |q| q.where_("name", "=", "bob")))?,
            ["ann"]
        );
        assert_eq!(users(User::query().has("friends.friends"))?, ["ann"]);
        Ok(())
    }

    fn counts_and_eager_loading_of_self_relations() {
        seed()?;
        let counted = Category::query().with_count(&["children", "parent"]).order_by("id").get()?;
        let children: Vec<_> = counted.iter().map(|c| (c.name.as_str(), c.children.count())).collect();
        assert_eq!(
            children,
            [("root", Some(2)), ("a", Some(1)), ("b", Some(0)), ("a1", Some(0)), ("lonely", Some(0))]
        );
        let friends = User::query().with_count(&["friends"]).order_by("id").get()?;
        assert_eq!(
            friends.iter().map(|u| u.friends.count()).collect::<Vec<_>>(),
            [Some(2), Some(1), Some(0), Some(0)]
        );

        let tree = Category::query()
            .with(&["children.children", "parent"])
            .order_by("id")
            .get()?;
        let root = &tree[0];
        let mut kids: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        kids.sort();
        assert_eq!(kids, ["a", "b"]);
        let a = root.children.iter().find(|c| c.name == "a").unwrap();
        assert_eq!(a.children.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["a1"]);
        assert!(root.parent.is_loaded() && root.parent.get().is_none());
        let a1 = tree.iter().find(|c| c.name == "a1").unwrap();
        assert_eq!(a1.parent.get().map(|p| p.name.as_str()), Some("a"));
        assert!(tree.iter().find(|c| c.name == "lonely").unwrap().children.is_empty());

        let people = User::query().with(&["friends.friends"]).order_by("id").get()?;
        let ann_friends: Vec<&str> = people[0].friends.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(ann_friends.len(), 2);
        let bob = people[0].friends.iter().find(|u| u.name == "bob").unwrap();
        assert_eq!(bob.friends.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["cat"]);
        assert!(people[3].friends.is_empty());
        let ann = &people[0];
        assert_eq!(ann.friends().count()?, 2);
        Ok(())
    }
}

#[test]
fn the_subquery_aliases_the_related_table() -> Result<()> {
    let (sql, _) = Category::query()
        .has("children")
        .to_sql_for(&SqliteDialect)?;
    assert!(
        sql.contains(r#"FROM "categories" AS "orm_self_1" WHERE "orm_self_1"."deleted_at" IS NULL AND "orm_self_1"."parent_id" = "categories"."id""#),
        "{sql}"
    );
    // Through a pivot: the pivot is another table, the related one is aliased.
    let (sql, _) = User::query().has("friends").to_sql_for(&SqliteDialect)?;
    assert!(
        sql.contains(r#"FROM "users" AS "orm_self_1" INNER JOIN "friend_user" ON "friend_user"."friend_id" = "orm_self_1"."id" WHERE "friend_user"."user_id" = "users"."id""#),
        "{sql}"
    );
    Ok(())
}
