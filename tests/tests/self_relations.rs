//! Relations from a model to itself (a category's `children` and `parent`, a user's
//! `friends` through a pivot): existence queries, counts and eager loading, on both
//! backends. The related table is the parent's own, so an existence subquery must alias
//! it to compare a row with its relatives rather than with itself; so is the intermediate
//! table of a through relation that is the parent's or the related one.

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
    #[model(has_many_through(
        Category,
        through = Category,
        first_key = "parent_id",
        second_key = "parent_id"
    ))]
    pub grandchildren: HasManyThrough<Category>,
    #[model(has_many(Category, foreign_key = "parent_id", constrain = Category::trashed_only))]
    pub trashed_children: HasMany<Category>,
}

impl Category {
    fn trashed_only(q: Query<Category>) -> Query<Category> {
        q.only_trashed()
    }
}

/// Through its own table to another: the sales of the members it referred.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Member {
    pub id: Option<i64>,
    pub name: String,
    pub referrer_id: Option<i64>,
    #[model(has_many_through(
        Sale,
        through = Member,
        first_key = "referrer_id",
        second_key = "member_id"
    ))]
    pub referral_sales: HasManyThrough<Sale>,
    #[model(has_one_through(
        Sale,
        through = Member,
        first_key = "referrer_id",
        second_key = "member_id"
    ))]
    pub referral_sale: HasOneThrough<Sale>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Sale {
    pub id: Option<i64>,
    pub member_id: i64,
    pub amount: i64,
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
        })?;
        s.create("members", |t| {
            t.increments("id");
            t.string("name", 100);
            t.big_integer("referrer_id").nullable();
        })?;
        s.create("sales", |t| {
            t.increments("id");
            t.big_integer("member_id");
            t.big_integer("amount");
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
/// bob → cat, dan alone; members ann refers bob, bob refers cat; sales: bob 10, cat 20,
/// ann 5.
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

    let mut referrer = None;
    for name in ["ann", "bob", "cat"] {
        let member = Member::create(Member {
            name: name.into(),
            referrer_id: referrer,
            ..Default::default()
        })?;
        referrer = member.id;
    }
    for (member, amount) in [(2, 10), (3, 20), (1, 5)] {
        Sale::create(Sale {
            member_id: member,
            amount,
            ..Default::default()
        })?;
    }
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

fn members(query: Query<Member>) -> Result<Vec<String>> {
    names(query, |m| &m.name)
}

fn amounts(sales: &[Sale]) -> Vec<i64> {
    let mut v: Vec<i64> = sales.iter().map(|s| s.amount).collect();
    v.sort();
    v
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
        // A relation to the trashed ones (`only_trashed()` in its constraint): the
        // condition is on the related rows, not on the parent, in every form.
        assert_eq!(categories(Category::query().has("trashed_children"))?, ["lonely"]);
        assert_eq!(categories(Category::query().doesnt_have("trashed_children"))?, ["a", "a1", "b", "root"]);
        let counted = Category::query().with_count(&["trashed_children"]).order_by("name").get()?;
        let counts: Vec<_> = counted.iter().map(|c| (c.name.as_str(), c.trashed_children.count())).collect();
        assert_eq!(counts, [("a", Some(0)), ("a1", Some(0)), ("b", Some(0)), ("lonely", Some(1)), ("root", Some(0))]);
        let lonely = Category::where_eq("name", "lonely").with(&["trashed_children"]).first_or_fail()?;
        assert_eq!(lonely.trashed_children.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["gone"]);
        assert_eq!(lonely.trashed_children().count()?, 1);
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

    fn through_the_parents_own_table() {
        seed()?;
        for has in ["referral_sales", "referral_sale"] {
            assert_eq!(members(Member::query().has(has))?, ["ann", "bob"], "{has}");
            assert_eq!(members(Member::query().doesnt_have(has))?, ["cat"], "{has}");
            assert_eq!(
                members(Member::query().where_has(has, |q| q.where_("amount", ">", 15)))?,
                ["bob"],
                "{has}"
            );
        }
        assert_eq!(members(Member::query().has_count("referral_sales", "=", 1))?, ["ann", "bob"]);
        assert_eq!(
            members(Member::query().where_has_count("referral_sales", |q| q.where_("amount", "<", 15), ">=", 1))?,
            ["ann"]
        );
        assert_eq!(members(Member::query().has("referral_sales").or_where_eq("name", "cat"))?.len(), 3);

        let all = Member::query().with(&["referral_sales", "referral_sale"]).with_count(&["referral_sales"]).order_by("id").get()?;
        assert_eq!(all.iter().map(|m| amounts(&m.referral_sales)).collect::<Vec<_>>(), [vec![10], vec![20], vec![]]);
        assert_eq!(all.iter().map(|m| m.referral_sale.get().map(|s| s.amount)).collect::<Vec<_>>(), [Some(10), Some(20), None]);
        assert_eq!(all.iter().map(|m| m.referral_sales.count()).collect::<Vec<_>>(), [Some(1), Some(1), Some(0)]);
        assert_eq!(amounts(&all[0].referral_sales().get()?), [10]);
        assert_eq!(all[1].referral_sale().first()?.map(|s| s.amount), Some(20));
        Ok(())
    }

    fn through_its_own_table_to_itself() {
        seed()?;
        // Grandchildren: root → a → a1 (lonely's child is trashed, and has none).
        assert_eq!(categories(Category::query().has("grandchildren"))?, ["root"]);
        assert_eq!(
            categories(Category::query().doesnt_have("grandchildren"))?,
            ["a", "a1", "b", "lonely"]
        );
        // The intermediate rows have the same columns: name the related ones by their
        // alias (the parent's table is aliased in the subquery).
        assert_eq!(
            categories(Category::query().where_has("grandchildren", |q| q.where_("orm_self_1.name", "=", "a1")))?,
            ["root"]
        );
        assert!(categories(Category::query().where_has("grandchildren", |q| q.where_("orm_self_1.name", "=", "a")))?.is_empty());
        assert_eq!(categories(Category::query().has_count("grandchildren", "=", 1))?, ["root"]);
        assert_eq!(categories(Category::query().has("children.grandchildren"))?, Vec::<String>::new());
        assert_eq!(categories(Category::query().has("grandchildren.parent"))?, ["root"]);

        let tree = Category::query().with(&["grandchildren"]).with_count(&["grandchildren"]).order_by("id").get()?;
        let grand: Vec<(&str, Vec<&str>, Option<u64>)> = tree
            .iter()
            .map(|c| (c.name.as_str(), c.grandchildren.iter().map(|g| g.name.as_str()).collect(), c.grandchildren.count()))
            .collect();
        assert_eq!(
            grand,
            [
                ("root", vec!["a1"], Some(1)),
                ("a", vec![], Some(0)),
                ("b", vec![], Some(0)),
                ("a1", vec![], Some(0)),
                ("lonely", vec![], Some(0)),
            ]
        );
        let root = &tree[0];
        assert_eq!(root.grandchildren().pluck::<String>("categories.name")?, ["a1"]);
        assert_eq!(tree[1].grandchildren().count()?, 0);
        let tree = Category::query().with_where("grandchildren", |q| q.where_("categories.name", "!=", "a1")).order_by("id").get()?;
        assert!(tree[0].grandchildren.is_loaded() && tree[0].grandchildren.is_empty());
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
    // Through the parent's own table: the intermediate one is aliased.
    let (sql, _) = Member::query()
        .has("referral_sales")
        .to_sql_for(&SqliteDialect)?;
    assert!(
        sql.contains(r#"FROM "sales" INNER JOIN "members" AS "orm_through" ON "orm_through"."id" = "sales"."member_id" WHERE "orm_through"."referrer_id" = "members"."id""#),
        "{sql}"
    );
    Ok(())
}
