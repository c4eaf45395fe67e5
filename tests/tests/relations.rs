//! Relations and eager loading on a real many-table schema, on both backends.

use orm_core::prelude::*;
use orm_core::SOFT_DELETES;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(timestamps)]
pub struct Country {
    pub id: Option<i64>,
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(has_many(User))]
    pub users: HasMany<User>,
    #[model(has_many_through(Post, through = User))]
    pub posts: HasManyThrough<Post>,
    #[model(has_one_through(Profile, through = User))]
    pub profile: HasOneThrough<Profile>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    pub country_id: Option<i64>,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
    #[model(has_one(Profile))]
    pub profile: HasOne<Profile>,
    #[model(belongs_to(Country))]
    pub country: BelongsTo<Country>,
    #[model(belongs_to_many(Role, timestamps, with_pivot = ["active"]))]
    pub roles: BelongsToMany<Role>,
    #[model(has_many(Post, constrain = Post::including_trashed))]
    pub posts_with_trashed: HasMany<Post>,
    #[model(belongs_to_many(Role, constrain = Role::active_only))]
    pub active_roles: BelongsToMany<Role>,
    #[model(belongs_to_many(Role, timestamps, constrain = Role::granted))]
    pub granted_roles: BelongsToMany<Role>,
}

impl Role {
    fn active_only(q: Query<Role>) -> Query<Role> {
        q.where_pivot("active", "=", true)
    }

    fn granted(q: Query<Role>) -> Query<Role> {
        q.with_pivot_value("active", true)
    }
}

impl Post {
    fn including_trashed(q: Query<Post>) -> Query<Post> {
        q.with_trashed()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(soft_deletes)]
pub struct Post {
    pub id: Option<i64>,
    pub user_id: i64,
    pub title: String,
    pub published: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(belongs_to(User))]
    pub user: BelongsTo<User>,
    #[model(has_many(Comment))]
    pub comments: HasMany<Comment>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub post_id: i64,
    pub body: String,
    #[model(belongs_to(Post))]
    pub post: BelongsTo<Post>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Profile {
    pub id: Option<i64>,
    pub user_id: i64,
    pub bio: String,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Role {
    pub id: Option<i64>,
    pub name: String,
    #[model(belongs_to_many(User, timestamps))]
    pub users: BelongsToMany<User>,
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("countries", |t| {
            t.increments("id");
            t.string("name", 100);
            t.timestamps();
        })?;
        s.create("users", |t| {
            t.increments("id");
            t.string("name", 100);
            t.big_integer("country_id").nullable();
            t.foreign("country_id").references("id").on("countries");
        })?;
        s.create("posts", |t| {
            t.increments("id");
            t.big_integer("user_id");
            t.string("title", 200);
            t.boolean("published").default(false);
            t.soft_deletes();
            t.foreign("user_id")
                .references("id")
                .on("users")
                .on_delete("cascade");
        })?;
        s.create("comments", |t| {
            t.increments("id");
            t.big_integer("post_id");
            t.text("body");
            t.foreign("post_id")
                .references("id")
                .on("posts")
                .on_delete("cascade");
        })?;
        s.create("profiles", |t| {
            t.increments("id");
            t.big_integer("user_id").unique();
            t.string("bio", 200);
        })?;
        s.create("roles", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("role_user", |t| {
            t.big_integer("role_id");
            t.big_integer("user_id");
            t.boolean("active").default(true);
            t.timestamps();
            t.primary(&["role_id", "user_id"]);
        })
    })
    .map_err(|e| Error::other(e.to_string()))
}

/// 2 countries, 3 users, posts with comments, profiles and roles.
fn seed() -> Result<()> {
    schema()?;
    let mut fr = Country::create(Country {
        name: "France".into(),
        ..Default::default()
    })?;
    let uk = Country::create(Country {
        name: "UK".into(),
        ..Default::default()
    })?;
    let ada = User::create(User {
        name: "Ada".into(),
        country_id: uk.id,
        ..Default::default()
    })?;
    let grace = User::create(User {
        name: "Grace".into(),
        country_id: fr.id,
        ..Default::default()
    })?;
    let _linus = User::create(User {
        name: "Linus".into(),
        country_id: fr.id,
        ..Default::default()
    })?;
    for (user, titles) in [(&ada, vec!["a1", "a2", "a3"]), (&grace, vec!["g1"])] {
        for title in titles {
            let post = user.posts().create(Post {
                title: title.into(),
                published: title != "a2",
                ..Default::default()
            })?;
            for n in 0..2 {
                post.comments().create(Comment {
                    body: format!("{title}-c{n}"),
                    ..Default::default()
                })?;
            }
        }
    }
    ada.profile().create(Profile {
        bio: "mathematician".into(),
        ..Default::default()
    })?;
    let admin = Role::create(Role {
        name: "admin".into(),
        ..Default::default()
    })?;
    let editor = Role::create(Role {
        name: "editor".into(),
        ..Default::default()
    })?;
    ada.roles()
        .attach([admin.id.unwrap(), editor.id.unwrap()])?;
    grace.roles().attach([editor.id.unwrap()])?;
    fr.touch()?;
    Ok(())
}

fn names<M>(models: &[M], name: impl Fn(&M) -> &str) -> Vec<String> {
    let mut v: Vec<String> = models.iter().map(|m| name(m).to_owned()).collect();
    v.sort();
    v
}

on_every_backend! {
    fn lazy_cursor_and_each_load_the_eager_relations_of_each_page() {
        seed()?;
        // Ada has 3 posts, Grace 1, Linus none; pages of 2 users split them.
        let query = || User::query().with(&["posts.comments"]).with_count(&["roles"]).order_by("id");
        let loaded = |users: Vec<User>| -> Vec<(String, usize, usize, Option<u64>)> {
            users
                .into_iter()
                .map(|u| {
                    let comments = u.posts.iter().map(|p| p.comments.len()).sum();
                    (u.name, u.posts.len(), comments, u.roles.count())
                })
                .collect()
        };
        let expected = vec![
            ("Ada".to_owned(), 3, 6, Some(2)),
            ("Grace".to_owned(), 1, 2, Some(1)),
            ("Linus".to_owned(), 0, 0, Some(0)),
        ];
        assert_eq!(loaded(query().get()?), expected);
        assert_eq!(loaded(query().lazy(2).collect::<Result<Vec<_>>>()?), expected);
        assert_eq!(loaded(query().cursor().collect::<Result<Vec<_>>>()?), expected);
        let mut each = Vec::new();
        query().each(|u| {
            assert!(u.posts.is_loaded(), "loaded before it reaches the closure");
            each.push(u);
            Ok(())
        })?;
        assert_eq!(loaded(each), expected);
        // Stopping early still works.
        let mut seen = 0;
        query().each(|_| {
            seen += 1;
            Ok(seen < 2)
        })?;
        assert_eq!(seen, 2);
        Ok(())
    }

    fn pivot_writes_refuse_conditions_on_the_related_rows_they_cannot_apply() {
        seed()?;
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        let editor = Role::where_eq("name", "editor").first()?.unwrap().id.unwrap();
        let linked = |user: &User| -> Result<Vec<String>> {
            Ok(names(&user.roles().get()?, |r| &r.name))
        };
        // The pivot table cannot apply `roles.name = ?`: refused, nothing unlinked
        // (Eloquent ignores the condition and unlinks every role).
        for outcome in [
            ada.roles().where_eq("name", "admin").detach_all().map(|_| ()),
            ada.roles().where_eq("name", "admin").sync([editor]).map(|_| ()),
            ada.roles().where_eq("name", "admin").toggle([editor]).map(|_| ()),
        ] {
            assert!(
                matches!(&outcome, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, message, .. }) if message.contains("where_pivot")),
                "{outcome:?}"
            );
        }
        assert_eq!(linked(&ada)?, ["admin", "editor"]);
        // Pivot conditions are applied; keys name the rows; attaching only is fine.
        assert_eq!(ada.roles().where_pivot("active", "=", false).detach_all()?, 0);
        ada.roles().where_eq("name", "admin").sync_without_detaching([editor])?;
        assert_eq!(ada.roles().where_eq("name", "admin").detach([editor])?, 1);
        assert_eq!(linked(&ada)?, ["admin"]);
        Ok(())
    }

    fn lazy_relation_queries() {
        seed()?;
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        assert_eq!(ada.posts().count()?, 3);
        let published = ada.posts().where_("published", "=", true).order_by("title").get()?;
        assert_eq!(names(&published, |p| &p.title), ["a1", "a3"]);
        assert_eq!(ada.profile().first()?.unwrap().bio, "mathematician");
        assert_eq!(ada.country().first()?.unwrap().name, "UK");
        assert_eq!(names(&ada.roles().get()?, |r| &r.name), ["admin", "editor"]);
        let post = Post::where_eq("title", "g1").first()?.unwrap();
        assert_eq!(post.user().first()?.unwrap().name, "Grace");
        let france = Country::where_eq("name", "France").first()?.unwrap();
        assert_eq!(names(&france.users().get()?, |u| &u.name), ["Grace", "Linus"]);
        assert_eq!(names(&france.posts().get()?, |p| &p.title), ["g1"]);
        let editor = Role::where_eq("name", "editor").first()?.unwrap();
        assert_eq!(names(&editor.users().get()?, |u| &u.name), ["Ada", "Grace"]);
        Ok(())
    }

    fn eager_loading_matches_lazy_and_issues_one_query_per_level() {
        seed()?;
        DB::enable_query_log();
        let users = User::query()
            .with(&["posts", "posts.comments", "roles", "profile", "country"])
            .order_by("name")
            .get()?;
        let log = DB::query_log();
        DB::disable_query_log();
        // users + posts + comments + roles + profile + country
        assert_eq!(log.len(), 6, "{:#?}", log.iter().map(|q| &q.sql).collect::<Vec<_>>());

        let ada = &users[0];
        assert!(ada.posts.is_loaded());
        assert_eq!(names(&ada.posts, |p| &p.title), ["a1", "a2", "a3"]);
        for post in ada.posts.iter() {
            assert_eq!(post.comments.len(), 2);
            assert!(post.comments.iter().all(|c| c.body.starts_with(&post.title)));
        }
        assert_eq!(names(&ada.roles, |r| &r.name), ["admin", "editor"]);
        assert_eq!(ada.profile.get().unwrap().bio, "mathematician");
        assert_eq!(ada.country.get().unwrap().name, "UK");
        let linus = &users[2];
        assert!(linus.posts.is_loaded() && linus.posts.is_empty());
        assert!(linus.profile.is_loaded() && linus.profile.get().is_none());

        // Eager results equal lazy ones.
        for user in &users {
            let mut lazy = user.posts().get()?;
            lazy.sort_by_key(|p| p.id);
            let mut eager: Vec<Post> = user.posts.iter().cloned().map(|mut p| { p.comments = Default::default(); p }).collect();
            eager.sort_by_key(|p| p.id);
            assert_eq!(lazy, eager);
        }

        let countries = Country::query().with(&["posts", "users", "profile"]).order_by("name").get()?;
        assert_eq!(names(&countries[0].posts, |p| &p.title), ["g1"]);
        assert!(countries[0].profile.is_loaded() && countries[0].profile.get().is_none());
        assert_eq!(countries[1].profile.get().unwrap().bio, "mathematician");
        assert_eq!(countries[1].profile().first()?.unwrap().bio, "mathematician");
        assert_eq!(names(&countries[1].posts, |p| &p.title), ["a1", "a2", "a3"]);
        let comments = Comment::query().with(&["post.user"]).get()?;
        assert!(comments.iter().all(|c| c.post.get().unwrap().user.get().is_some()));
        Ok(())
    }

    fn eager_constraints_soft_deletes_and_load_on_loaded_models() {
        seed()?;
        let mut a2 = Post::where_eq("title", "a2").first()?.unwrap();
        a2.delete()?;
        let users = User::query()
            .with_where("posts", |q| q.where_("title", "<>", "a3"))
            .order_by("name")
            .get()?;
        assert_eq!(names(&users[0].posts, |p| &p.title), ["a1"]);

        let mut users = User::query().order_by("name").get()?;
        assert!(!users[0].posts.is_loaded());
        DB::enable_query_log();
        User::load(&mut users, &["posts.comments"])?;
        assert_eq!(DB::query_log().len(), 2);
        DB::disable_query_log();
        assert_eq!(names(&users[0].posts, |p| &p.title), ["a1", "a3"]);

        // A constraint on what is loaded onto models in memory (Eloquent's
        // load(['posts' => fn ($q) => ..])).
        let mut users = User::query().order_by("name").get()?;
        User::load_where(&mut users, "posts", |q| q.where_eq("title", "a3"))?;
        assert_eq!(names(&users[0].posts, |p| &p.title), ["a3"]);
        assert!(users[1].posts.is_loaded() && users[1].posts.is_empty());
        let none: &mut [User] = &mut [];
        let err = User::load_where(none, "nope", |q| q).unwrap_err();
        assert!(matches!(err, Error::UnknownRelation { .. }), "{err:?}");
        Ok(())
    }

    fn existence_queries_compile_to_exists() {
        seed()?;
        let with_posts = User::query().has("posts").order_by("name").get()?;
        assert_eq!(names(&with_posts, |u| &u.name), ["Ada", "Grace"]);
        let without = User::query().doesnt_have("posts").get()?;
        assert_eq!(names(&without, |u| &u.name), ["Linus"]);
        let prolific = User::query().has_count("posts", ">=", 3).get()?;
        assert_eq!(names(&prolific, |u| &u.name), ["Ada"]);
        let drafts = User::query().where_has("posts", |q| q.where_("published", "=", false)).get()?;
        assert_eq!(names(&drafts, |u| &u.name), ["Ada"]);
        let commented = User::query()
            .where_has("posts.comments", |q| q.where_("body", "=", "g1-c1"))
            .get()?;
        assert_eq!(names(&commented, |u| &u.name), ["Grace"]);
        assert_eq!(Country::query().has("users.posts").count()?, 2);
        let editors = User::query().where_has("roles", |q| q.where_("name", "=", "admin")).get()?;
        assert_eq!(names(&editors, |u| &u.name), ["Ada"]);

        let counted = User::query().with_count(&["posts", "roles"]).order_by("name").get()?;
        assert_eq!(counted.iter().map(|u| u.posts.count()).collect::<Vec<_>>(), [Some(3), Some(1), Some(0)]);
        assert_eq!(counted[0].roles.count(), Some(2));
        // Counts and loads in either order: each runs, whichever came first.
        for users in [
            User::query().with_count(&["posts"]).with(&["roles"]).order_by("name").get()?,
            User::query().with(&["roles"]).with_count(&["posts"]).order_by("name").get()?,
        ] {
            assert_eq!(users.iter().map(|u| u.posts.count()).collect::<Vec<_>>(), [Some(3), Some(1), Some(0)]);
            assert!(!users[0].posts.is_loaded(), "counted, not loaded");
            assert_eq!(users[0].roles.len(), 2);
        }
        assert!(matches!(User::query().has("nope").get(), Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })));
        Ok(())
    }

    fn one_relation_counted_several_ways_under_names_of_their_own() {
        seed()?;
        // The named count first: its order needs no other count before it.
        let mut users = User::query()
            .with_count_as("posts", "drafts_count", |q| q.where_eq("published", false))
            .with_count(&["posts"])
            .with_count_as("posts", "published_posts_count", |q| q.where_eq("published", true))
            .order_by_desc("drafts_count")
            .order_by("name")
            .get()?;
        assert_eq!(users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Ada", "Grace", "Linus"]);
        let counts = |users: &[User], name: &str| users.iter().map(|u| u.posts.count_as(name)).collect::<Vec<_>>();
        assert_eq!(users.iter().map(|u| u.posts.count()).collect::<Vec<_>>(), [Some(3), Some(1), Some(0)]);
        assert_eq!(counts(&users, "drafts_count"), [Some(1), Some(0), Some(0)]);
        assert_eq!(counts(&users, "published_posts_count"), [Some(2), Some(1), Some(0)]);
        assert_eq!(counts(&users, "other"), [None, None, None]);
        // Serialized under the names given, as Eloquent's attributes.
        let json = users[0].to_json()?;
        assert_eq!((json["posts_count"].as_i64(), json["drafts_count"].as_i64(), json["published_posts_count"].as_i64()), (Some(3), Some(1), Some(2)));
        // Onto models in memory (Eloquent's loadCount(['posts as ..'])).
        User::load_aggregate(&mut users, "posts", Aggregate::Count, "all_posts")?;
        assert_eq!(counts(&users, "all_posts"), [Some(3), Some(1), Some(0)]);
        let err = User::query().with_count_as("nope", "n", |q| q).get().unwrap_err();
        assert!(matches!(err, Error::UnknownRelation { .. }), "{err:?}");
        Ok(())
    }

    fn a_with_count_alias_orders_the_rows_by_the_count() {
        seed()?;
        let in_order = |users: &[User]| users.iter().map(|u| u.name.clone()).collect::<Vec<_>>();
        // Eloquent's withCount('posts')->orderBy('posts_count', 'desc'): Ada 3, Grace 1,
        // Linus 0, whichever comes first, the count or the order.
        let most = User::query().with_count(&["posts"]).order_by_desc("posts_count").get()?;
        assert_eq!(in_order(&most), ["Ada", "Grace", "Linus"]);
        assert_eq!(most.iter().map(|u| u.posts.count()).collect::<Vec<_>>(), [Some(3), Some(1), Some(0)]);
        let fewest = User::query().order_by("posts_count").with_count(&["posts"]).get()?;
        assert_eq!(in_order(&fewest), ["Linus", "Grace", "Ada"]);
        // A constrained count orders by what it counts, its values bound after the
        // query's own; twice, so the second run takes the cached text.
        for _ in 0..2 {
            let published = User::query()
                .where_("name", "<>", "Zed")
                .with_count_where("posts", |q| q.where_eq("published", true))
                .order_by_desc("posts_count")
                .order_by("name")
                .get()?;
            assert_eq!(in_order(&published), ["Ada", "Grace", "Linus"]);
            assert_eq!(published.iter().map(|u| u.posts.count()).collect::<Vec<_>>(), [Some(2), Some(1), Some(0)]);
        }
        let grace_first = User::query()
            .with_count_where("posts", |q| q.where_eq("title", "g1"))
            .latest_by("posts_count")
            .order_by("name")
            .first()?
            .unwrap();
        assert_eq!(grace_first.name, "Grace");
        let page = User::query().with_count(&["posts"]).order_by_desc("posts_count").paginate(2, 1)?;
        assert_eq!(page.total, 3);
        assert_eq!(in_order(&page.data), ["Ada", "Grace"]);
        // Without `with_count` the name is a column, and there is none.
        assert!(User::query().order_by("posts_count").get().is_err());
        Ok(())
    }

    fn declared_pivot_columns_are_read_by_eager_loads() {
        seed()?;
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        let admin = Role::where_eq("name", "admin").first()?.unwrap();
        ada.roles().update_existing_pivot(admin.id, orm_core::row! {"active" => false})?;

        DB::enable_query_log();
        let users = User::query().with(&["roles"]).order_by("name").get()?;
        // users + roles with their pivot columns: still one query per relation
        assert_eq!(DB::query_log().len(), 2);
        DB::disable_query_log();
        let pivots = users[0].roles.pivots().expect("read with the roles");
        assert_eq!(pivots.len(), users[0].roles.len());
        let mut seen = Vec::new();
        for (role, pivot) in users[0].roles.with_pivots() {
            assert_eq!(pivot.get::<i64, _>("role_id")?, role.id.unwrap());
            assert_eq!(pivot.get::<i64, _>("user_id")?, ada.id.unwrap());
            assert!(pivot.get::<Option<DateTime<Utc>>, _>("created_at")?.is_some());
            assert!(pivot.get::<Option<DateTime<Utc>>, _>("updated_at")?.is_some());
            seen.push((role.name.clone(), pivot.get::<bool, _>("active")?));
        }
        seen.sort();
        assert_eq!(seen, [("admin".to_owned(), false), ("editor".to_owned(), true)]);
        // Grace: editor only; Linus: nothing, still loaded.
        assert_eq!(users[1].roles.with_pivots().count(), 1);
        assert_eq!(users[2].roles.pivots().map(<[_]>::len), Some(0));

        // Lazily, the declared columns come without naming them.
        let lazy = ada.roles().get_with_pivot()?;
        let admin_pivot = &lazy.iter().find(|(r, _)| r.name == "admin").unwrap().1;
        assert!(!admin_pivot.get::<bool, _>("active")?);
        assert!(admin_pivot.get::<Option<DateTime<Utc>>, _>("updated_at")?.is_some());

        // From the other side (pivot timestamps, no declared column), and replaced models
        // forget their pivots.
        let mut roles = Role::query().with(&["users"]).order_by("name").get()?;
        let (user, pivot) = roles[0].users.with_pivots().next().unwrap();
        assert_eq!((user.name.as_str(), pivot.get::<i64, _>("user_id")?), ("Ada", ada.id.unwrap()));
        roles[0].users.set(Vec::new());
        assert!(roles[0].users.pivots().is_none());
        // A relation without pivot columns or timestamps reads none.
        let users = User::query().with(&["posts"]).get()?;
        assert!(users[0].posts.pivots().is_none());
        Ok(())
    }

    fn pivot_operations() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::all()?.iter().map(|r| r.id.unwrap()).collect();
        assert_eq!(linus.roles().attach(roles.clone())?, 2);
        assert_eq!(linus.roles().count()?, 2);
        let pivots = linus.roles().with_pivot(&["active", "created_at"]).get_with_pivot()?;
        assert_eq!(pivots.len(), 2);
        assert!(pivots.iter().all(|(_, p)| p.get::<bool, _>("active").unwrap()));
        assert!(pivots.iter().all(|(_, p)| p.get::<Option<DateTime<Utc>>, _>("created_at").unwrap().is_some()));

        assert_eq!(linus.roles().detach([roles[0]])?, 1);
        let changes = linus.roles().sync([roles[0]])?;
        assert_eq!(changes.attached, vec![Value::Int(roles[0])]);
        assert_eq!(changes.detached, vec![Value::Int(roles[1])]);
        assert_eq!(linus.roles().get()?.iter().map(|r| r.id.unwrap()).collect::<Vec<_>>(), [roles[0]]);
        let toggled = linus.roles().toggle(roles.clone())?;
        assert_eq!(toggled.detached, vec![Value::Int(roles[0])]);
        assert_eq!(toggled.attached, vec![Value::Int(roles[1])]);
        linus.roles().attach_with(roles[0], orm_core::row! {"active" => false})?;
        let inactive = linus.roles().with_pivot(&["active"]).get_with_pivot()?
            .into_iter().filter(|(_, p)| !p.get::<bool, _>("active").unwrap()).count();
        assert_eq!(inactive, 1);
        // Changing an existing pivot row (and its updated_at, with pivot timestamps).
        let long_ago = Utc::now() - chrono::Duration::days(3);
        DB::table("role_user").update(orm_core::row! {"updated_at" => long_ago})?;
        assert_eq!(linus.roles().update_existing_pivot(roles[0], orm_core::row! {"active" => true})?, 1);
        let pivots = linus.roles().with_pivot(&["active", "updated_at"]).get_with_pivot()?;
        assert!(pivots.iter().all(|(_, p)| p.get::<bool, _>("active").unwrap()));
        let touched = pivots.iter().find(|(r, _)| r.id == Some(roles[0])).unwrap().1.get::<DateTime<Utc>, _>("updated_at")?;
        assert!(touched > long_ago + chrono::Duration::days(1), "{touched}");
        // A key that is not attached changes nothing and attaches nothing.
        assert_eq!(linus.roles().update_existing_pivot(987_654, orm_core::row! {"active" => false})?, 0);
        assert_eq!(linus.roles().count()?, 2);
        // Deleting through the relation would delete roles other users hold too: refused,
        // nothing deleted (Rails' delete_all unlinks; detach_all is that here).
        let (roles_before, links_before) = (Role::count()?, DB::table("role_user").count()?);
        for refused in [linus.roles().delete(), linus.roles().where_eq("name", "admin").force_delete()] {
            let err = refused.unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. }), "{err:?}");
            assert!(err.to_string().contains("detach_all()"), "{err}");
        }
        assert_eq!((Role::count()?, DB::table("role_user").count()?), (roles_before, links_before));
        assert_eq!(linus.roles().detach_all()?, 2);
        assert_eq!(linus.roles().count()?, 0);
        assert_eq!(Role::count()?, roles_before);

        let mut post = Post { title: "new".into(), ..Default::default() };
        post.associate("user", &linus)?;
        assert_eq!(post.user_id, linus.id.unwrap());
        post.save()?;
        assert_eq!(linus.posts().count()?, 1);
        assert!(matches!(post.associate("comments", &linus), Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })));
        assert!(matches!(post.associate("nope", &linus), Err(Error::UnknownRelation { .. })));

        // A loaded relation follows (Laravel's EloquentBelongsToTest): associate sets
        // it to the owner, dissociate empties it.
        let mut ada = User::query().with(&["country"]).where_eq("name", "Ada").first()?.unwrap();
        assert_eq!(ada.country.get().map(|c| c.name.as_str()), Some("UK"));
        let france = Country::where_eq("name", "France").first()?.unwrap();
        ada.associate("country", &france)?;
        assert_eq!(ada.country.get().map(|c| c.name.as_str()), Some("France"));
        ada.dissociate("country")?;
        assert!(ada.country.is_loaded() && ada.country.get().is_none());
        assert_eq!(ada.country_id, None);
        Ok(())
    }

    fn force_delete_removes_the_trashed_rows_too() {
        seed()?;
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        assert_eq!(ada.posts().where_eq("title", "a2").delete()?, 1);
        // Eloquent's forceDelete runs without the soft-delete scope.
        assert_eq!(ada.posts().force_delete()?, 3);
        assert_eq!(Post::with_trashed().where_eq("user_id", ada.id).count()?, 0);
        assert_eq!(Post::with_trashed().count()?, 1);
        Post::where_eq("title", "g1").delete()?;
        assert_eq!(Post::where_eq("title", "g1").force_delete()?, 1);
        assert_eq!(Post::with_trashed().count()?, 0);
        Ok(())
    }

    fn attach_with_keeps_the_pivot_timestamp_given() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        let long_ago = Utc::now() - chrono::Duration::days(3);
        linus.roles().attach_with(roles[0], orm_core::row! {"created_at" => long_ago, "active" => false})?;
        let (_, pivot) = linus.roles().get_with_pivot()?.remove(0);
        let created = pivot.get::<DateTime<Utc>, _>("created_at")?;
        let updated = pivot.get::<DateTime<Utc>, _>("updated_at")?;
        assert!((created - long_ago).num_seconds().abs() <= 1, "{created}");
        assert!(updated > long_ago + chrono::Duration::days(2), "{updated}");
        assert!(!pivot.get::<bool, _>("active")?);
        Ok(())
    }

    fn push_saves_the_model_and_every_loaded_model_in_one_transaction() {
        // Laravel's EloquentPushTest: change what was loaded, push the parent.
        seed()?;
        let mut ada = User::query().with(&["posts.comments", "profile", "country"]).where_eq("name", "Ada").first()?.unwrap();
        ada.name = "Ada L.".into();
        let posts = ada.posts.loaded_mut().expect("loaded");
        posts[0].title = "renamed".into();
        posts[0].comments.loaded_mut().expect("loaded")[0].body = "edited".into();
        ada.profile.get_mut().expect("loaded").bio = "countess".into();
        ada.country.get_mut().expect("loaded").name = "United Kingdom".into();
        ada.push()?;
        let id = ada.id.unwrap();
        let stored = User::query().with(&["posts.comments", "profile", "country"]).find_or_fail(id)?;
        assert_eq!(stored.name, "Ada L.");
        assert_eq!(stored.posts[0].title, "renamed");
        assert_eq!(stored.posts[0].comments[0].body, "edited");
        assert_eq!(stored.profile.get().unwrap().bio, "countess");
        assert_eq!(stored.country.get().unwrap().name, "United Kingdom");

        // One model that cannot be saved: nothing of the push is kept.
        let mut ada = stored;
        ada.name = "Not kept".into();
        ada.posts.loaded_mut().unwrap()[0].title = "not kept either".into();
        ada.posts.loaded_mut().unwrap()[1].comments.loaded_mut().unwrap()[0].post_id = 999_999;
        let refused = ada.push();
        assert!(matches!(refused, Err(Error::ForeignKeyViolation { .. })), "{refused:?}");
        assert_eq!(User::find_or_fail(id)?.name, "Ada L.");
        assert_eq!(Post::where_eq("title", "renamed").count()?, 1);
        Ok(())
    }

    fn a_limit_in_an_eager_constraint_is_per_parent() {
        // Laravel's EloquentEagerLoadingLimitTest: each parent gets its own first rows.
        seed()?;
        let titles = |users: &[User]| -> Vec<Vec<String>> {
            users.iter().map(|u| u.posts.iter().map(|p| p.title.clone()).collect()).collect()
        };
        let users = User::query().with_where("posts", |q| q.order_by_desc("id").limit(2)).order_by("id").get()?;
        assert_eq!(titles(&users), [vec!["a3", "a2"], vec!["g1"], vec![]]);
        let users = User::query().with_where("posts", |q| q.order_by("id").limit(1).offset(1)).order_by("id").get()?;
        assert_eq!(titles(&users), [vec!["a2"], vec![], vec![]]);
        let users = User::query().with_where("roles", |q| q.order_by("roles.id").limit(1)).order_by("id").get()?;
        let roles: Vec<usize> = users.iter().map(|u| u.roles.len()).collect();
        assert_eq!(roles, [1, 1, 0]);
        // One statement for every parent (Laravel 11's window function), not one each.
        DB::enable_query_log();
        let users = User::query().with_where("posts", |q| q.order_by_desc("id").limit(2)).order_by("id").get()?;
        let statements = DB::query_log().len();
        DB::disable_query_log();
        assert_eq!(statements, 2);
        assert_eq!(titles(&users), [vec!["a3", "a2"], vec!["g1"], vec![]]);
        // Pivot columns (timestamps among them) still come with each related row.
        let users = User::query().with_where("roles", |q| q.order_by_desc("roles.id").limit(1)).order_by("id").get()?;
        let names: Vec<Vec<String>> = users.iter().map(|u| u.roles.iter().map(|r| r.name.clone()).collect()).collect();
        assert_eq!(names, [vec!["editor"], vec!["editor"], Vec::<&str>::new()]);
        let pivot = &users[0].roles.pivots().expect("pivots loaded")[0];
        assert!(pivot.get::<Option<DateTime<Utc>>, _>("created_at")?.is_some());
        assert_eq!(pivot.get::<i64, _>("user_id")?, users[0].id.unwrap());
        // Through another table: France's users have one post, the UK's three.
        let countries = Country::query()
            .with_where("posts", |q| q.order_by("posts.id").limit(1).offset(1))
            .order_by("id")
            .get()?;
        let through: Vec<Vec<String>> = countries.iter().map(|c| c.posts.iter().map(|p| p.title.clone()).collect()).collect();
        assert_eq!(through, [Vec::<&str>::new(), vec!["a2"]]);
        // A distinct constraint cannot be numbered by a window: one query per parent.
        let users = User::query().with_where("posts", |q| q.distinct().order_by("id").limit(1)).order_by("id").get()?;
        assert_eq!(titles(&users), [vec!["a1"], vec!["g1"], vec![]]);
        Ok(())
    }

    fn every_copy_of_a_repeated_parent_gets_its_children() {
        // Laravel's testLoadCountWithSameModels, for eager loads: the same row twice.
        seed()?;
        let mut users = User::query().order_by("id").get()?;
        users.push(users[0].clone());
        User::load(&mut users, &["posts", "profile", "roles"])?;
        let posts: Vec<usize> = users.iter().map(|u| u.posts.len()).collect();
        assert_eq!(posts, [3, 1, 0, 3]);
        assert!(users[3].profile.get().is_some(), "has one");
        assert_eq!(users[3].roles.len(), 2, "belongs to many");
        assert_eq!(users[3].roles.pivots().map(<[Record]>::len), Some(2));
        // Counted onto the same list (Eloquent's loadCount, with the same model twice).
        User::load_count(&mut users, &["posts", "roles"])?;
        let counts: Vec<Option<u64>> = users.iter().map(|u| u.posts.count()).collect();
        assert_eq!(counts, [Some(3), Some(1), Some(0), Some(3)]);
        assert_eq!(users[0].roles.count(), Some(2));
        assert!(matches!(User::load_count(&mut users, &["nope"]), Err(Error::UnknownRelation { .. })));
        assert!(matches!(User::load_count(&mut [], &["nope"]), Err(Error::UnknownRelation { .. })));
        User::load_count(&mut [], &["posts"])?;
        // A join repeating the parent rows: each copy has all its children.
        let joined = Post::query()
            .select(&["posts.*"])
            .join("comments", "comments.post_id", "=", "posts.id")
            .where_eq("posts.title", "a1")
            .with(&["comments"])
            .get()?;
        let counts: Vec<usize> = joined.iter().map(|p| p.comments.len()).collect();
        assert_eq!(counts, [2, 2]);
        Ok(())
    }

    fn sync_with_pivot_values_attaches_updates_and_detaches() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        Role::create(Role { name: "owner".into(), ..Default::default() })?;
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        linus.roles().sync([roles[0], roles[1]])?;
        // Laravel's sync([r0 => ['active' => false], r2 => ['active' => false]]).
        let changes = linus.roles().sync_with([
            (roles[0], orm_core::row! {"active" => false}),
            (roles[2], orm_core::row! {"active" => false}),
        ])?;
        assert_eq!(changes.attached, [Value::Int(roles[2])]);
        assert_eq!(changes.detached, [Value::Int(roles[1])]);
        assert_eq!(changes.updated, [Value::Int(roles[0])]);
        let active = |q: Query<Role>| -> Result<Vec<i64>> { q.order_by("roles.id").pluck("roles.id") };
        assert_eq!(active(linus.roles().where_pivot("active", "=", false))?, [roles[0], roles[2]]);
        assert_eq!(linus.roles().count()?, 2);
        // Without detaching: the others stay; a key with no values is not "updated".
        let changes = linus.roles().sync_without_detaching_with([
            (roles[1], orm_core::row! {"active" => true}.to_vec()),
            (roles[0], Vec::new()),
        ])?;
        assert_eq!(changes.attached, [Value::Int(roles[1])]);
        assert!(changes.detached.is_empty() && changes.updated.is_empty());
        assert_eq!(active(linus.roles())?, [roles[0], roles[1], roles[2]]);
        assert_eq!(active(linus.roles().where_pivot("active", "=", true))?, [roles[1]]);
        // The linked keys from the pivot alone (Eloquent's allRelatedIds).
        let mut ids = linus.roles().all_related_ids()?;
        ids.sort_by_key(|v| v.to_string());
        let mut expected: Vec<Value> = roles.iter().map(|&r| Value::Int(r)).collect();
        expected.sort_by_key(|v| v.to_string());
        assert_eq!(ids, expected);
        assert_eq!(linus.roles().where_pivot("active", "=", true).all_related_ids()?, [Value::Int(roles[1])]);
        // Another user's pivot rows are untouched.
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        let ada_before = ada.roles().with_pivot(&["active"]).get_with_pivot()?.len();
        linus.roles().sync_with([(roles[0], orm_core::row! {"active" => true})])?;
        assert_eq!(ada.roles().with_pivot(&["active"]).get_with_pivot()?.len(), ada_before);
        assert_eq!(active(linus.roles())?, [roles[0]]);
        Ok(())
    }

    fn pivot_conditions_orders_and_sync_without_detaching() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        linus.roles().attach_with(roles[0], orm_core::row! {"active" => false})?;
        let changes = linus.roles().sync_without_detaching([roles[1], roles[0]])?;
        assert_eq!((changes.attached, changes.detached), (vec![Value::Int(roles[1])], vec![]));
        assert_eq!(linus.roles().count()?, 2);
        // Nothing changed for the role already attached (its pivot row is kept).
        let active = |q: Query<Role>| -> Result<Vec<i64>> { q.pluck("roles.id") };
        assert_eq!(active(linus.roles().where_pivot("active", "=", true))?, [roles[1]]);
        assert_eq!(active(linus.roles().where_pivot("active", "=", false))?, [roles[0]]);
        // An OR on the pivot stays inside the relation: no other user's roles.
        let other = User::where_eq("name", "Ada").first()?.unwrap();
        let ada_roles = other.roles().count()?;
        assert!(ada_roles > 0);
        let either = linus.roles().where_pivot("active", "=", true).or_where_pivot("active", "=", false);
        assert_eq!(either.count()?, 2);
        assert_eq!(active(linus.roles().where_pivot_in("role_id", [roles[0]]))?, [roles[0]]);
        assert_eq!(active(linus.roles().where_pivot_not_in("role_id", [roles[0]]))?, [roles[1]]);
        assert_eq!(linus.roles().where_pivot_null("created_at").count()?, 0);
        assert_eq!(linus.roles().where_pivot_not_null("created_at").count()?, 2);
        assert_eq!(active(linus.roles().order_by_pivot("active"))?, [roles[0], roles[1]]);
        assert_eq!(active(linus.roles().order_by_pivot_desc("active"))?, [roles[1], roles[0]]);
        // Not a belongs-to-many relation query: a typed error, not a wrong answer.
        let misuse = linus.posts().where_pivot("active", "=", true).get();
        assert!(matches!(misuse, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })), "{misuse:?}");
        let misuse = Role::query().order_by_pivot("active").get();
        assert!(matches!(misuse, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })), "{misuse:?}");
        Ok(())
    }

    fn trashed_related_rows_can_be_counted_in_where_the_relation_says_so() {
        seed()?;
        Post::where_eq("title", "g1").delete()?;
        let names = |q: Query<User>| -> Result<Vec<String>> { q.order_by("name").pluck("name") };
        assert_eq!(names(User::query().has("posts"))?, ["Ada"]);
        // A declared constraint's with_trashed() holds in has, where_has and counts too.
        assert_eq!(names(User::query().has("posts_with_trashed"))?, ["Ada", "Grace"]);
        assert_eq!(names(User::query().where_has("posts_with_trashed", |q| q.where_eq("title", "g1")))?, ["Grace"]);
        // A callback drops the soft-delete scope by name (Eloquent's withTrashed/onlyTrashed).
        assert_eq!(names(User::query().where_has("posts", |q| q.without_scope(SOFT_DELETES)))?, ["Ada", "Grace"]);
        let only_trashed = |q: Query| q.without_scope(SOFT_DELETES).where_not_null("posts.deleted_at");
        assert_eq!(names(User::query().where_has("posts", only_trashed))?, ["Grace"]);
        let counted = User::query()
            .with_count(&["posts_with_trashed"])
            .with_count_where("posts", |q| q.without_scope(SOFT_DELETES))
            .order_by("name")
            .get()?;
        let grace = &counted[1];
        assert_eq!(grace.name, "Grace");
        assert_eq!(grace.posts_with_trashed.count(), Some(1));
        assert_eq!(User::query().where_eq("name", "Grace").with_count(&["posts"]).first()?.unwrap().posts.count(), Some(0));
        assert_eq!(grace.posts.count(), Some(1));
        // Lazily and eagerly, as before.
        let grace = User::where_eq("name", "Grace").first()?.unwrap();
        assert_eq!(grace.posts_with_trashed().count()?, 1);
        assert_eq!(grace.posts().count()?, 0);
        Ok(())
    }

    fn a_declared_constraint_may_name_pivot_columns() {
        // Eloquent's belongsToMany(..)->wherePivot(..) in the relation's definition.
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        linus.roles().attach_with(roles[0], orm_core::row! {"active" => false})?;
        linus.roles().attach(roles[1..].to_vec())?;
        let active = roles.len() - 1;
        assert_eq!(linus.active_roles().count()? as usize, active);
        let loaded = User::query().where_eq("name", "Linus").with(&["active_roles"]).first()?.unwrap();
        assert_eq!(loaded.active_roles.loaded().map(<[Role]>::len), Some(active));
        let counted = User::query().where_eq("name", "Linus").with_count(&["active_roles"]).first()?.unwrap();
        assert_eq!(counted.active_roles.count(), Some(active as u64));
        assert!(User::query().where_eq("name", "Linus").has("active_roles").exists()?);
        Ok(())
    }

    fn toggle_takes_each_key_once() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        // A key given twice is toggled once (Eloquent's toggle reads the keys as a set).
        let toggled = linus.roles().toggle([roles[0], roles[0]])?;
        assert_eq!((toggled.attached, toggled.detached), (vec![Value::Int(roles[0])], vec![]));
        assert_eq!(DB::table("role_user").where_eq("user_id", linus.id).count()?, 1);
        let toggled = linus.roles().toggle([roles[1], roles[0], roles[1], roles[0]])?;
        assert_eq!(toggled.attached, vec![Value::Int(roles[1])]);
        assert_eq!(toggled.detached, vec![Value::Int(roles[0])]);
        assert_eq!(linus.roles().pluck::<i64>("roles.id")?, [roles[1]]);
        Ok(())
    }

    fn with_pivot_value_filters_and_writes_the_pivot_column() {
        // Eloquent's belongsToMany(Role::class)->withPivotValue('active', true).
        seed()?;
        Role::create(Role { name: "owner".into(), ..Default::default() })?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        let active_of = |role: i64| -> Result<Vec<bool>> {
            DB::table("role_user").where_eq("user_id", linus.id).where_eq("role_id", role).pluck("active")
        };
        linus.roles().attach_with(roles[0], orm_core::row! {"active" => false})?;
        assert_eq!(linus.granted_roles().count()?, 0);
        linus.granted_roles().attach([roles[1]])?;
        assert_eq!(active_of(roles[1])?, [true]);
        // The declared value wins over one given: the row must be the relation's.
        linus.granted_roles().attach_with(roles[2], orm_core::row! {"active" => false})?;
        assert_eq!(active_of(roles[2])?, [true]);
        let made = linus.granted_roles().create(Role { name: "auditor".into(), ..Default::default() })?;
        assert_eq!(active_of(made.id.unwrap())?, [true]);
        let granted = |q: Query<Role>| -> Result<Vec<i64>> { q.order_by("roles.id").pluck("roles.id") };
        assert_eq!(granted(linus.granted_roles())?, [roles[1], roles[2], made.id.unwrap()]);
        let loaded = User::query().where_eq("name", "Linus").with(&["granted_roles"]).first()?.unwrap();
        assert_eq!(loaded.granted_roles.len(), 3);
        // Sync through it leaves the row it cannot see (roles[0], inactive) alone.
        let changes = linus.granted_roles().sync([roles[1]])?;
        assert_eq!(changes.detached, [Value::Int(roles[2]), Value::Int(made.id.unwrap())]);
        assert_eq!(active_of(roles[0])?, [false]);
        assert_eq!(granted(linus.granted_roles())?, [roles[1]]);
        // Not a belongs-to-many relation query: a typed error.
        let misuse = Role::query().with_pivot_value("active", true).get();
        assert!(matches!(misuse, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })), "{misuse:?}");
        Ok(())
    }

    fn pivot_between_and_or_forms() {
        seed()?;
        Role::create(Role { name: "owner".into(), ..Default::default() })?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        assert!(roles.len() >= 3);
        linus.roles().attach_with(roles[0], orm_core::row! {"active" => false})?;
        linus.roles().attach(roles[1..].to_vec())?;
        let ids = |q: Query<Role>| -> Result<Vec<i64>> { q.order_by("roles.id").pluck("roles.id") };
        assert_eq!(ids(linus.roles().where_pivot_between("role_id", roles[1], roles[2]))?, [roles[1], roles[2]]);
        assert_eq!(ids(linus.roles().where_pivot_not_between("role_id", roles[1], roles[2]))?, roles.iter().filter(|r| **r < roles[1] || **r > roles[2]).copied().collect::<Vec<_>>());
        let either = linus.roles().where_pivot("active", "=", false).or_where_pivot_between("role_id", roles[2], roles[2]);
        assert_eq!(ids(either)?, [roles[0], roles[2]]);
        let either = linus.roles().where_pivot("active", "=", false).or_where_pivot_not_between("role_id", roles[0], roles[1]);
        assert_eq!(ids(either)?, std::iter::once(roles[0]).chain(roles[2..].iter().copied()).collect::<Vec<_>>());
        let either = linus.roles().where_pivot("active", "=", false).or_where_pivot_in("role_id", [roles[1]]);
        assert_eq!(ids(either)?, [roles[0], roles[1]]);
        let either = linus.roles().where_pivot("active", "=", true).or_where_pivot_not_in("role_id", roles[1..].to_vec());
        assert_eq!(ids(either)?, roles);
        let either = linus.roles().where_pivot("active", "=", false).or_where_pivot_null("created_at");
        assert_eq!(ids(either)?, [roles[0]]);
        let either = linus.roles().where_pivot("active", "=", false).or_where_pivot_not_null("created_at");
        assert_eq!(ids(either)?, roles);
        // An OR on the pivot stays inside the relation, and detach sees the same rows.
        assert_eq!(linus.roles().where_pivot_between("role_id", roles[0], roles[1]).detach_all()?, 2);
        assert_eq!(ids(linus.roles())?, roles[2..].to_vec());
        let other = User::where_eq("name", "Ada").first()?.unwrap();
        assert!(other.roles().count()? > 0);
        Ok(())
    }

    fn a_nested_has_count_counts_the_last_relation() {
        // Orator's and Eloquent's has('posts.comments', '>=', 3): a user with a post
        // that has three comments, not a user with three posts that have comments.
        seed()?;
        let names = |q: Query<User>| -> Result<Vec<String>> { q.order_by("name").pluck("name") };
        assert_eq!(names(User::query().has_count("posts.comments", ">=", 2))?, ["Ada", "Grace"]);
        assert!(names(User::query().has_count("posts.comments", ">=", 3))?.is_empty());
        let g1 = Post::where_eq("title", "g1").first()?.unwrap();
        g1.comments().create(Comment { body: "g1-c2".into(), ..Default::default() })?;
        assert_eq!(names(User::query().has_count("posts.comments", ">=", 3))?, ["Grace"]);
        assert_eq!(names(User::query().where_has_count("posts.comments", |q| q.where_like("body", "a1%"), "=", 2))?, ["Ada"]);
        assert_eq!(names(User::query().has_count("posts.comments", "<", 1))?, Vec::<String>::new());
        Ok(())
    }

    fn save_many_and_create_many_write_all_or_nothing() {
        // Orator's save_many, Eloquent's saveMany and createMany.
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let mut posts = vec![
            Post { title: "l1".into(), ..Default::default() },
            Post { title: "l2".into(), ..Default::default() },
        ];
        linus.posts().save_many(&mut posts)?;
        assert!(posts.iter().all(|p| p.id.is_some() && p.user_id == linus.id.unwrap()));
        let created = linus.posts().create_many([Post { title: "l3".into(), ..Default::default() }])?;
        assert_eq!(created[0].user_id, linus.id.unwrap());
        assert_eq!(linus.posts().count()?, 3);
        // A failure part-way (a role attached twice: the pivot's key) keeps nothing.
        let admin = Role::where_eq("name", "admin").first()?.unwrap();
        linus.roles().attach([admin.id.unwrap()])?;
        let roles_before = Role::count()?;
        let failed = linus.roles().save_many(&mut [Role { name: "new".into(), ..Default::default() }, admin.clone()]);
        assert!(failed.is_err());
        assert_eq!(Role::count()?, roles_before);
        assert_eq!(linus.roles().count()?, 1);
        let failed = linus.roles().create_many([Role { name: "x".into(), ..Default::default() }, Role { id: admin.id, name: "dup".into(), ..Default::default() }]);
        assert!(failed.is_err());
        assert_eq!(Role::count()?, roles_before);
        Ok(())
    }

    fn plain_column_names_through_a_join_mean_the_related_table() {
        seed()?;
        // users and posts both have `id` (and `name`/`title` apart): Rails qualifies the
        // names a caller gives; unqualified, the databases refused them as ambiguous.
        let uk = Country::where_eq("name", "UK").first()?.unwrap();
        let mut ids = uk.posts().pluck::<i64>("id")?;
        ids.sort();
        let expected = Post::query().with_trashed().where_in("title", ["a1", "a2", "a3"]).order_by("id").pluck::<i64>("id")?;
        assert_eq!(ids, expected);
        assert_eq!(uk.posts().where_in("id", [expected[0], expected[2]]).count()?, 2);
        assert_eq!(uk.posts().order_by_desc("id").value::<i64>("id")?, Some(expected[2]));
        assert_eq!(uk.posts().max::<i64>("id")?, Some(expected[2]));
        assert_eq!(uk.posts().where_("id", ">", expected[0]).sum("id")?, (expected[1] + expected[2]) as f64);
        // The intermediate table's columns stay reachable by their qualified names, and
        // a name the related table lacks (an alias) stays as written.
        assert_eq!(uk.posts().where_eq("users.name", "Ada").count()?, 3);
        let titles = uk.posts().select(&["title as heading"]).order_by_desc("heading").pluck::<String>("heading")?;
        assert_eq!(titles, ["a3", "a2", "a1"]);
        // In a where_has and an eager load's constraint too.
        let second = expected[1];
        let found = Country::query().where_has("posts", move |q| q.where_eq("id", second)).pluck::<String>("name")?;
        assert_eq!(found, ["UK"]);
        let first = expected[0];
        let loaded = Country::query().with_where("posts", move |q| q.where_in("id", [first]).order_by("id")).where_eq("name", "UK").first()?.unwrap();
        assert_eq!(loaded.posts.iter().map(|p| p.id.unwrap()).collect::<Vec<_>>(), [first]);
        // A pivot relation: roles and role_user.
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        ada.roles().sync(roles.clone())?;
        assert_eq!(ada.roles().where_in("id", [roles[0]]).pluck::<i64>("id")?, [roles[0]]);
        Ok(())
    }

    fn writing_through_a_through_relation_says_how() {
        seed()?;
        let france = Country::where_eq("name", "France").first()?.unwrap();
        let refused = france.posts().create(Post { title: "x".into(), ..Default::default() });
        match refused {
            Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, message, .. }) => {
                assert!(message.contains("through") && !message.contains("associate"), "{message}");
            }
            other => panic!("expected a relation error, got {other:?}"),
        }
        Ok(())
    }

    fn toggle_with_writes_pivot_values_for_the_keys_it_attaches() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        linus.roles().attach([roles[0]])?;
        // Laravel's toggle([r0 => ['active' => false], r1 => ['active' => false]]).
        let changes = linus.roles().toggle_with([
            (roles[0], orm_core::row! {"active" => false}),
            (roles[1], orm_core::row! {"active" => false}),
            (roles[1], orm_core::row! {"active" => true}),
        ])?;
        assert_eq!((changes.attached, changes.detached), (vec![Value::Int(roles[1])], vec![Value::Int(roles[0])]));
        let active: Vec<bool> = DB::table("role_user").where_eq("user_id", linus.id).pluck("active")?;
        assert_eq!(active, [false]);
        Ok(())
    }

    fn prevent_lazy_loading_names_model_and_relation() {
        seed()?;
        DB::prevent_lazy_loading(true);
        let users = User::all()?;
        let err = users.iter().map(|u| u.posts().get()).find_map(|r| r.err()).expect("lazy load refused");
        match err {
            Error::LazyLoading { model, relation } => {
                assert_eq!((model.as_str(), relation.as_str()), ("User", "posts"));
            }
            other => panic!("expected LazyLoading, got {other:?}"),
        }
        let loaded = User::query().with(&["posts"]).get()?;
        for user in &loaded {
            user.posts().get()?; // loaded: reading through the relation is allowed
        }
        DB::prevent_lazy_loading(false);
        assert_eq!(users[0].posts().get()?.len(), users[0].posts().count()? as usize);
        Ok(())
    }

    fn hidden_and_loaded_relations_serialise() {
        seed()?;
        let users = User::query().with(&["posts"]).where_eq("name", "Grace").get()?;
        let json = users[0].to_json()?;
        assert_eq!(json["posts"][0]["title"], "g1");
        assert!(json.get("roles").is_none());
        assert!(json.get("posts_count").is_none(), "no count loaded, none written");
        // A loaded count is `{relation}_count`, as Eloquent serializes `withCount`.
        let counted = User::query().with_count(&["posts", "roles"]).where_eq("name", "Ada").get()?;
        let json = counted[0].to_json()?;
        assert_eq!((json["posts_count"].as_u64(), json["roles_count"].as_u64()), (Some(3), Some(2)));
        assert!(json.get("posts").is_none(), "counted, not loaded");
        Ok(())
    }
}

#[test]
fn pivot_table_defaults_to_singular_tables_in_alphabetical_order() {
    let roles = User::meta().relation("roles").unwrap();
    assert_eq!(roles.pivot(), "role_user");
    assert_eq!(roles.foreign_key, "user_id");
    assert_eq!(roles.related_key, "role_id");
    assert_eq!(Role::meta().relation("users").unwrap().pivot(), "role_user");
}

/// A nested test database's lazy-loading setting ends with it (docs/09: the setting
/// "is reset when the guard drops"; guards nest).
#[test]
fn a_nested_test_database_keeps_its_lazy_loading_setting_to_itself() -> Result<()> {
    let _outer = orm_core::testing::sqlite();
    seed()?;
    let ada = User::where_eq("name", "Ada").first()?.expect("seeded");
    {
        let _inner = orm_core::testing::sqlite();
        DB::prevent_lazy_loading(true);
    }
    assert!(
        ada.posts().get().is_ok(),
        "the inner guard's setting outlived it"
    );
    // Set on the outer guard, it holds inside a nested one and after it.
    DB::prevent_lazy_loading(true);
    {
        let _inner = orm_core::testing::sqlite();
        assert!(matches!(ada.posts().get(), Err(Error::LazyLoading { .. })));
    }
    assert!(matches!(ada.posts().get(), Err(Error::LazyLoading { .. })));
    DB::prevent_lazy_loading(false);
    assert!(ada.posts().get().is_ok());
    Ok(())
}

on_every_backend! {
    fn syncing_nothing_without_detaching_runs_no_statement() {
        // Laravel's testSyncMethodWithEmptyValueDoesNotQueryWhenDetachingDisabled.
        seed()?;
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        DB::enable_query_log();
        let changes = ada.roles().sync_without_detaching(Vec::<i64>::new())?;
        let statements = DB::query_log().len();
        DB::disable_query_log();
        assert_eq!((statements, changes), (0, orm_core::SyncChanges::default()));
        assert_eq!(ada.roles().count()?, 2);
        Ok(())
    }

    fn make_and_find_or_new_through_a_relation() {
        seed()?;
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        let grace = User::where_eq("name", "Grace").first()?.unwrap();
        // Eloquent's `make`: linked to the parent, not saved.
        let draft = ada.posts().make(Post { title: "draft".into(), ..Default::default() })?;
        assert_eq!((draft.id, draft.user_id, draft.title.as_str()), (None, ada.id.unwrap(), "draft"));
        assert_eq!(ada.posts().count()?, 3);
        let mut draft = draft;
        draft.save()?;
        assert_eq!(ada.posts().count()?, 4);
        // `findOrNew`: Ada's own post is found; Grace's post is not Ada's, so a new
        // one linked to Ada comes back, unsaved.
        let a1 = ada.posts().where_eq("title", "a1").first()?.unwrap();
        assert_eq!(ada.posts().find_or_new(a1.id.unwrap())?, a1);
        let g1 = grace.posts().first()?.unwrap();
        let fresh = ada.posts().find_or_new(g1.id.unwrap())?;
        assert_eq!((fresh.id, fresh.user_id, fresh.title.as_str()), (None, ada.id.unwrap(), ""));
        assert_eq!(Post::count()?, 5);
        // On a model query: the model's Default.
        assert_eq!(Post::query().find_or_new(-1)?, Post::default());
        Ok(())
    }

    fn find_or_create_forms_through_a_relation() {
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let ada = User::where_eq("name", "Ada").first()?.unwrap();
        // Ada has a post "a1": Linus does not see it, so his is created, linked to him.
        let post = linus.posts().first_or_create(row! {"title" => "a1"}, row! {"published" => true})?;
        assert_eq!((post.user_id, post.published), (linus.id.unwrap(), true));
        let again = linus.posts().first_or_create(row! {"title" => "a1"}, row! {"published" => false})?;
        assert_eq!(again.id, post.id);
        assert_eq!(ada.posts().where_eq("title", "a1").count()?, 1);
        // Not saved: the parent's key is set, the row is not there yet.
        let draft = linus.posts().first_or_new(row! {"title" => "draft"}, row! {})?;
        assert_eq!((draft.id, draft.user_id), (None, linus.id.unwrap()));
        assert_eq!(linus.posts().count()?, 1);
        let updated = linus.posts().update_or_create(row! {"title" => "a1"}, row! {"published" => false})?;
        assert_eq!((updated.id, updated.published), (post.id, false));
        assert!(!Post::find_or_fail(post.id.unwrap())?.published);
        let created = linus.posts().update_or_create(row! {"title" => "l2"}, row! {"published" => true})?;
        assert_eq!(created.user_id, linus.id.unwrap());
        assert_eq!(linus.posts().count()?, 2);
        // Through a belongs-to-many relation: attached once, updated in place.
        let role = linus.roles().first_or_create(row! {"name" => "auditor"}, row! {})?;
        assert_eq!(linus.roles().count()?, 1);
        let same = linus.roles().update_or_create(row! {"name" => "auditor"}, row! {})?;
        assert_eq!(same.id, role.id);
        assert_eq!(DB::table("role_user").where_eq("user_id", linus.id).count()?, 1);
        // A role that exists but is not Linus's is attached, not created twice
        // (Eloquent's BelongsToMany::firstOrCreate).
        let roles_before = Role::count()?;
        let admin = linus.roles().first_or_create(row! {"name" => "admin"}, row! {})?;
        assert_eq!(Role::count()?, roles_before);
        assert_eq!(admin.id, Role::where_eq("name", "admin").value::<i64>("id")?);
        assert_eq!(linus.roles().count()?, 2);
        assert_eq!(linus.roles().first_or_create(row! {"name" => "admin"}, row! {})?.id, admin.id);
        assert_eq!(linus.roles().count()?, 2);
        // update_or_create too (Laravel's testUpdateOrCreateUnrelatedExisting): "editor"
        // exists, not Linus's: attached and updated, not created a second time.
        let editor = linus.roles().update_or_create(row! {"name" => "editor"}, row! {"name" => "editor in chief"})?;
        assert_eq!(Role::count()?, roles_before);
        assert_eq!(linus.roles().count()?, 3);
        assert_eq!(Role::find_or_fail(editor.id.unwrap())?.name, "editor in chief");
        // create_or_first: the insert first; a role name taken by a role that is not
        // Grace's yet is attached to her, not created again.
        DB::statement("CREATE UNIQUE INDEX roles_name_unique ON roles (name)")?;
        let grace = User::where_eq("name", "Grace").first()?.unwrap();
        let grace_roles = grace.roles().count()?;
        let taken = grace.roles().create_or_first(row! {"name" => "admin"}, row! {})?;
        assert_eq!((taken.id, Role::count()?), (admin.id, roles_before));
        assert_eq!(grace.roles().count()?, grace_roles + 1);
        let fresh = grace.roles().create_or_first(row! {"name" => "owner"}, row! {})?;
        assert_eq!((Role::count()?, grace.roles().count()?), (roles_before + 1, grace_roles + 2));
        assert_eq!(grace.roles().create_or_first(row! {"name" => "owner"}, row! {})?.id, fresh.id);
        // Model-level: find_or_new and without_trashed.
        assert_eq!(Post::find_or_new(987_654)?.id, None);
        assert_eq!(Post::find_or_new(post.id.unwrap())?.title, "a1");
        Post::where_eq("title", "l2").delete()?;
        assert_eq!(Post::with_trashed().where_eq("title", "l2").count()?, 1);
        assert_eq!(Post::with_trashed().without_trashed().where_eq("title", "l2").count()?, 0);
        // On a model query (not a relation): found among what the query sees, else
        // created as `Model::create` would.
        let trashed = Post::with_trashed().first_or_create(row! {"title" => "l2"}, row! {"user_id" => linus.id})?;
        assert!(trashed.trashed());
        let made = Post::query().first_or_create(row! {"title" => "l3"}, row! {"user_id" => linus.id})?;
        assert_eq!(Post::find_or_fail(made.id)?.title, "l3");
        assert_eq!(Post::query().first_or_new(row! {"title" => "l4"}, row! {})?.id, None);
        let updated = Post::query().update_or_create(row! {"title" => "l3"}, row! {"published" => true})?;
        assert_eq!((updated.id, updated.published), (made.id, true));
        let created = Post::query().create(Post { user_id: linus.id.unwrap(), title: "l5".into(), ..Default::default() })?;
        assert!(Post::find(created.id)?.is_some());
        Ok(())
    }
}

on_every_backend! {
    fn pivot_writes_touch_only_the_pivot_rows_the_relation_sees() {
        // Eloquent's newPivotQuery applies wherePivot conditions to detach, sync and
        // updateExistingPivot.
        seed()?;
        let linus = User::where_eq("name", "Linus").first()?.unwrap();
        let roles: Vec<i64> = Role::query().order_by("id").pluck("id")?;
        let pivot_rows = || DB::table("role_user").where_eq("user_id", linus.id).count();
        let reset = || -> Result<()> {
            linus.roles().detach_all()?;
            linus.roles().attach_with(roles[0], orm_core::row! {"active" => false})?;
            linus.roles().attach_with(roles[1], orm_core::row! {"active" => true})?;
            Ok(())
        };
        // A condition added to the relation query.
        reset()?;
        assert_eq!(linus.roles().where_pivot("active", "=", false).detach_all()?, 1);
        assert_eq!(linus.roles().pluck::<i64>("roles.id")?, [roles[1]]);
        // A condition the relation declares: the inactive row is out of its reach.
        reset()?;
        assert_eq!(linus.active_roles().update_existing_pivot(roles[0], orm_core::row! {"active" => true})?, 0);
        assert_eq!(linus.active_roles().detach([roles[0], roles[1]])?, 1);
        assert_eq!(pivot_rows()?, 1);
        reset()?;
        let changes = linus.active_roles().sync(Vec::<i64>::new())?;
        assert_eq!((changes.attached, changes.detached), (vec![], vec![Value::Int(roles[1])]));
        assert_eq!(linus.roles().pluck::<i64>("roles.id")?, [roles[0]]);
        reset()?;
        assert_eq!(linus.active_roles().detach_all()?, 1);
        assert_eq!(pivot_rows()?, 1);
        Ok(())
    }
}

/// The posts table seen with its comment counts always loaded (Eloquent's `$withCount`).
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "posts", hooks, soft_deletes)]
pub struct CountedPost {
    pub id: Option<i64>,
    pub user_id: i64,
    pub title: String,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(has_many(Comment, foreign_key = "post_id"))]
    pub comments: HasMany<Comment>,
}

impl ModelHooks for CountedPost {
    fn global_scopes(query: Query<Self>) -> Query<Self> {
        query.with_count(&["comments"])
    }
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "users")]
pub struct CountingUser {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(CountedPost, foreign_key = "user_id"))]
    pub posts: HasMany<CountedPost>,
}

on_every_backend! {
    fn a_related_models_own_loads_run_when_it_is_eager_loaded() {
        seed()?;
        let direct = CountedPost::query().order_by("id").get()?;
        assert!(direct.iter().all(|p| p.comments.count().is_some()));
        let users = CountingUser::query().where_eq("name", "Ada").with(&["posts"]).get()?;
        let posts = users[0].posts.loaded().expect("loaded");
        assert!(!posts.is_empty());
        for post in posts {
            let expected = Comment::where_eq("post_id", post.id).count()?;
            assert_eq!(post.comments.count(), Some(expected), "{}", post.title);
        }
        Ok(())
    }
}

on_every_backend! {
    fn where_relation_and_with_where_has() {
        seed()?;
        let names_of = |q: Query<User>| -> Result<Vec<String>> { q.order_by("name").pluck("name") };
        assert_eq!(names_of(User::query().where_relation("posts", "title", "=", "g1"))?, ["Grace"]);
        assert_eq!(
            names_of(User::query().where_relation("posts", "title", "=", "g1").or_where_relation("profile", "bio", "like", "math%"))?,
            ["Ada", "Grace"]
        );
        assert_eq!(names_of(User::query().where_relation("roles", "name", "=", "admin"))?, ["Ada"]);
        let bad = User::query().where_relation("posts", "title", "=~", "x").get();
        assert!(matches!(bad, Err(Error::InvalidQuery { kind: InvalidQueryKind::Operator, .. })), "{bad:?}");
        // Filtered by, and loaded with, one constraint: Ada's unpublished a2 is left out.
        let users = User::query().with_where_has("posts", |q| q.where_eq("published", true)).order_by("name").get()?;
        assert_eq!(users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Ada", "Grace"]);
        assert_eq!(names(&users[0].posts, |p| &p.title), ["a1", "a3"]);
        assert_eq!(names(&users[1].posts, |p| &p.title), ["g1"]);
        Ok(())
    }

    fn refresh_loads_the_loaded_relations_again() {
        seed()?;
        let mut ada = User::where_eq("name", "Ada").with(&["posts", "roles"]).first_or_fail()?;
        Post::where_eq("title", "a1").update(row! {"title" => "a1, edited"})?;
        DB::table("role_user").where_eq("user_id", ada.id).delete()?;
        ada.refresh()?;
        assert_eq!(names(&ada.posts, |p| &p.title), ["a1, edited", "a2", "a3"]);
        assert!(ada.roles.is_loaded() && ada.roles.is_empty());
        // What was not loaded stays not loaded.
        assert!(!ada.profile.is_loaded() && !ada.country.is_loaded());
        Ok(())
    }

    fn where_belongs_to_filters_by_an_owner() {
        seed()?;
        let ada = User::where_eq("name", "Ada").first_or_fail()?;
        let titles = |q: Query<Post>| -> Result<Vec<String>> { q.order_by("title").pluck("title") };
        assert_eq!(titles(Post::query().where_belongs_to(&ada))?, ["a1", "a2", "a3"]);
        assert_eq!(titles(Post::query().where_belongs_to_relation(&ada, "user").where_eq("published", false))?, ["a2"]);
        // An owner never saved owns nothing.
        assert!(titles(Post::query().where_belongs_to(&User::default()))?.is_empty());
        // No belongs-to relation to that model, or not a belongs-to: typed errors.
        let none = Post::query().where_belongs_to(&Role::default()).get();
        assert!(matches!(none, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })), "{none:?}");
        let wrong = Post::query().where_belongs_to_relation(&ada, "comments").get();
        assert!(matches!(wrong, Err(Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. })), "{wrong:?}");
        Ok(())
    }

    fn load_missing_keeps_what_was_loaded_and_loads_the_rest() {
        seed()?;
        // Ada's posts loaded with a constraint (published only), and one changed in memory.
        let mut users = User::query()
            .with_where("posts", |q| q.where_eq("published", true))
            .order_by("name")
            .get()?;
        users[0].posts.loaded_mut().unwrap()[0].title = "changed".into();
        DB::enable_query_log();
        User::load_missing(&mut users, &["posts", "country"])?;
        let log = DB::query_log();
        DB::disable_query_log();
        // Only the countries: every user had its posts.
        assert_eq!(log.len(), 1, "{:#?}", log.iter().map(|q| &q.sql).collect::<Vec<_>>());
        assert_eq!(names(&users[0].posts, |p| &p.title), ["a3", "changed"]);
        assert_eq!(users[0].country.get().unwrap().name, "UK");
        assert_eq!(users[2].country.get().unwrap().name, "France");

        // A nested path: the posts loaded before get their comments too, in one query.
        DB::enable_query_log();
        User::load_missing(&mut users, &["posts.comments"])?;
        let log = DB::query_log();
        DB::disable_query_log();
        assert_eq!(log.len(), 1, "{:#?}", log.iter().map(|q| &q.sql).collect::<Vec<_>>());
        assert_eq!(names(&users[0].posts, |p| &p.title), ["a3", "changed"]);
        assert!(users[0].posts.iter().all(|p| p.comments.len() == 2));
        assert_eq!(users[1].posts[0].comments.len(), 2);

        // Everything there: no query at all.
        DB::enable_query_log();
        User::load_missing(&mut users, &["posts.comments", "country"])?;
        let log = DB::query_log();
        DB::disable_query_log();
        assert!(log.is_empty(), "{:#?}", log.iter().map(|q| &q.sql).collect::<Vec<_>>());
        Ok(())
    }

    fn load_missing_loads_only_onto_the_models_that_lack_it() {
        seed()?;
        let mut users = User::query().order_by("name").get()?;
        // Ada: posts set by hand (none); Grace: her roles loaded with their pivots.
        users[0].posts.set(Vec::new());
        User::load(&mut users[1..2], &["roles"])?;
        let mut grace_post = users[1].posts().first_or_fail()?;
        grace_post.title = "kept".into();
        users[1].posts.set(vec![grace_post]);
        users[1].posts.loaded_mut().unwrap()[0].comments.set(Vec::new());
        User::load_missing(&mut users, &["posts.comments", "roles", "profile"])?;
        assert!(users[0].posts.is_empty());
        assert_eq!(names(&users[1].posts, |p| &p.title), ["kept"]);
        // Grace's one post had its comments set: they stay as set.
        assert!(users[1].posts[0].comments.is_empty());
        assert!(users[2].posts.is_loaded() && users[2].posts.is_empty());
        assert_eq!(users[1].roles.pivots().unwrap().len(), 1);
        assert_eq!(names(&users[0].roles, |r| &r.name), ["admin", "editor"]);
        assert_eq!(users[0].roles.pivots().unwrap().len(), 2);
        assert_eq!(users[0].profile.get().unwrap().bio, "mathematician");
        // A misspelt relation is an error even where no row would load it.
        let none = || User::query().where_eq("name", "nobody");
        for typo in [none().with(&["postz"]), none().with(&["posts.commentz"]), none().with_count(&["postz"]), none().with_exists(&["postz"])] {
            let err = typo.get().unwrap_err();
            assert!(matches!(err, Error::UnknownRelation { .. }), "{err:?}");
        }
        let childless = User::query().with(&["posts.nope"]).where_eq("name", "Linus").get();
        assert!(matches!(childless, Err(Error::UnknownRelation { .. })), "{childless:?}");
        // An unknown relation is the typed error; nothing else changed.
        let unknown = User::load_missing(&mut users, &["posts.nope"]);
        assert!(matches!(unknown, Err(Error::UnknownRelation { .. })), "{unknown:?}");
        assert_eq!(names(&users[1].posts, |p| &p.title), ["kept"]);
        Ok(())
    }
}

/// `with_sum`, `with_avg`, `with_min`, `with_max` (Eloquent's `withSum`, ...): one grouped
/// query per aggregate, read from the relation field.
mod aggregates {
    use orm_core::prelude::*;
    use orm_core::Decimal;
    use orm_migrate::Schema;
    use orm_tests::on_every_backend;
    use std::str::FromStr;

    #[derive(Debug, Clone, Default, PartialEq, Model)]
    pub struct Shopper {
        pub id: Option<i64>,
        pub name: String,
        #[model(has_many(Order))]
        pub orders: HasMany<Order>,
        #[model(has_one(Order))]
        pub an_order: HasOne<Order>,
        #[model(has_many(Order, constrain = Order::newest_first))]
        pub newest_orders: HasMany<Order>,
    }

    impl Order {
        fn newest_first(q: Query<Order>) -> Query<Order> {
            q.order_by_desc("placed_at").limit(1)
        }
    }

    #[derive(Debug, Clone, Default, PartialEq, Model)]
    #[model(soft_deletes)]
    pub struct Order {
        pub id: Option<i64>,
        pub shopper_id: i64,
        pub items: i64,
        pub total: Decimal,
        pub placed_at: DateTime<Utc>,
        pub deleted_at: Option<DateTime<Utc>>,
        #[model(belongs_to_many(Product, with_pivot = ["price"]))]
        pub products: BelongsToMany<Product>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Model)]
    pub struct Product {
        pub id: Option<i64>,
        pub price: i64,
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn at(hour: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(hour, 30, 0)
            .unwrap()
            .and_utc()
    }

    /// Ada: orders of 2 and 5 items (and a deleted one of 100), Grace: one of 1, Linus: none.
    fn seed() -> Result<Vec<i64>> {
        Schema::on_default(|s| {
            s.create("shoppers", |t| {
                t.increments("id");
                t.string("name", 50);
            })?;
            s.create("orders", |t| {
                t.increments("id");
                t.big_integer("shopper_id");
                t.big_integer("items");
                t.decimal("total", 10, 2);
                t.timestamp_tz("placed_at");
                t.soft_deletes();
            })?;
            s.create("products", |t| {
                t.increments("id");
                t.big_integer("price");
            })?;
            s.create("order_product", |t| {
                t.big_integer("order_id");
                t.big_integer("product_id");
                t.big_integer("price");
            })
        })
        .map_err(|e| Error::other(e.to_string()))?;
        let mut ids = Vec::new();
        for name in ["Ada", "Grace", "Linus"] {
            let shopper = Shopper::create(Shopper {
                name: name.into(),
                ..Default::default()
            })?;
            ids.push(shopper.id.unwrap());
        }
        let orders = [
            (ids[0], 2, "9.50", 9),
            (ids[0], 5, "10.10", 14),
            (ids[0], 100, "999.99", 20),
            (ids[1], 1, "0.01", 8),
        ];
        for (shopper_id, items, total, hour) in orders {
            Order::create(Order {
                shopper_id,
                items,
                total: dec(total),
                placed_at: at(hour),
                ..Default::default()
            })?;
        }
        Order::where_eq("items", 100).delete()?;
        let cheap = Product::create(Product {
            price: 3,
            ..Default::default()
        })?;
        let dear = Product::create(Product {
            price: 40,
            ..Default::default()
        })?;
        let first = Order::where_eq("items", 2).first_or_fail()?;
        // The pivot's `price` (what was paid) differs from the product's own.
        first
            .products()
            .attach_with(cheap.id.unwrap(), [("price", Value::Int(1000))])?;
        first
            .products()
            .attach_with(dear.id.unwrap(), [("price", Value::Int(2000))])?;
        Ok(ids)
    }

    fn by_name() -> Query<Shopper> {
        Shopper::query().order_by("name")
    }

    on_every_backend! {
        fn sums_averages_and_extremes_are_loaded_per_parent() {
            seed()?;
            let shoppers = by_name()
                .with_sum("orders", "items")
                .with_avg("orders", "items")
                .with_min("orders", "total")
                .with_max("orders", "placed_at")
                .get()?;
            let [ada, grace, linus] = &shoppers[..] else { panic!("{shoppers:?}") };
            // The soft-deleted order is left out, as the relation leaves it out.
            assert_eq!(ada.orders.sum("items"), Some(7.0));
            assert_eq!(ada.orders.avg("items"), Some(3.5));
            assert_eq!(ada.orders.min::<Decimal>("total")?, Some(dec("9.50")));
            assert_eq!(ada.orders.max::<DateTime<Utc>>("placed_at")?, Some(at(14)));
            assert_eq!(grace.orders.sum("items"), Some(1.0));
            assert_eq!(grace.orders.min::<Decimal>("total")?, Some(dec("0.01")));
            // No related rows: a sum of 0, no average or extremes; NULL underneath.
            assert_eq!(linus.orders.sum("items"), Some(0.0));
            assert_eq!(linus.orders.avg("items"), None);
            assert_eq!(linus.orders.min::<Decimal>("total")?, None);
            assert_eq!(linus.orders.aggregate(Aggregate::Sum, "items"), Some(&Value::Null));
            // What was not asked for is not there, and the models were not loaded.
            assert_eq!(ada.orders.sum("total"), None);
            assert_eq!(ada.orders.aggregate(Aggregate::Max, "items"), None);
            assert!(!ada.orders.is_loaded());
            // Read as a type the value is not: a typed error naming the aggregate.
            let wrong = ada.orders.max::<bool>("placed_at");
            assert!(matches!(&wrong, Err(Error::Decode { column, .. }) if column == "max(placed_at)"), "{wrong:?}");
            Ok(())
        }

        fn aggregates_combine_with_eager_loads_counts_and_constraints() {
            seed()?;
            let shoppers = by_name()
                .with(&["orders"])
                .with_count(&["orders"])
                .with_aggregate_where("orders", Aggregate::Sum, "items", |q| q.where_("items", ">", 2))
                .with_aggregate("an_order", Aggregate::Max, "items")
                .get()?;
            assert_eq!(shoppers[0].orders.len(), 2);
            assert_eq!(shoppers[0].orders.count(), Some(2));
            assert_eq!(shoppers[0].orders.sum("items"), Some(5.0));
            assert_eq!(shoppers[1].orders.sum("items"), Some(0.0));
            assert_eq!(shoppers[0].an_order.max::<i64>("items")?, Some(5));
            assert_eq!(shoppers[2].an_order.max::<i64>("items")?, None);
            // A to-one relation's count reads too.
            let counted = by_name().with_count(&["an_order"]).get()?;
            assert_eq!(counted.iter().map(|s| s.an_order.count()).collect::<Vec<_>>(), [Some(2), Some(1), Some(0)]);
            let loaded = by_name().with(&["an_order"]).get()?;
            assert_eq!(loaded.iter().map(|s| s.an_order.count()).collect::<Vec<_>>(), [Some(1), Some(1), Some(0)]);
            assert_eq!(Shopper::query().first_or_fail()?.an_order.count(), None);
            // A later request for the same aggregate replaces the earlier one.
            let again = by_name()
                .with_sum("orders", "items")
                .with_aggregate_where("orders", Aggregate::Sum, "items", |q| q.where_eq("items", 2))
                .first_or_fail()?;
            assert_eq!(again.orders.sum("items"), Some(2.0));
            Ok(())
        }

        fn an_aggregates_name_orders_by_that_aggregate() {
            // Probe 48c: `order_by("orders_sum_items")` was sent as a column the table
            // does not have. Each aggregate orders by its own subquery, given before or
            // after the order, as `with_count`'s alias does (NULLs, a parent without
            // orders, sort where each database puts them: only the others are compared).
            seed()?;
            let names = |shoppers: Vec<Shopper>| {
                shoppers
                    .into_iter()
                    .filter(|s| s.orders.sum("items") != Some(0.0))
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
            };
            let most = Shopper::query()
                .with_sum("orders", "items")
                .order_by_desc("orders_sum_items")
                .get()?;
            let most = names(most);
            let fewest = Shopper::query()
                .order_by("orders_sum_items")
                .with_sum("orders", "items")
                .get()?;
            let fewest = names(fewest);
            assert_eq!(most.len(), 2, "{most:?}");
            assert_eq!(most.iter().rev().collect::<Vec<_>>(), fewest.iter().collect::<Vec<_>>());
            let ada = Shopper::query().with_sum("orders", "items").get()?;
            let ada = ada.iter().find(|s| s.orders.sum("items") == Some(7.0)).unwrap();
            assert_eq!(most[0], ada.name);
            // The smallest total first: each function orders by its own aggregate.
            let by_min = Shopper::query()
                .with_min("orders", "total")
                .with_max("orders", "items")
                .order_by("orders_min_total")
                .order_by_desc("orders_max_items")
                .get()?;
            let totals: Vec<_> = by_min
                .iter()
                .filter_map(|s| s.orders.min::<Decimal>("total").transpose())
                .collect::<Result<_, _>>()?;
            assert_eq!(totals, [dec("0.01"), dec("9.50")]);
            // A constrained aggregate orders by the rows it counts.
            let constrained = Shopper::query()
                .with_aggregate_where("orders", Aggregate::Avg, "items", |q| q.where_("items", ">", 100))
                .order_by("orders_avg_items")
                .get()?;
            assert_eq!(constrained.len(), 3);
            // The NULL of a parent without orders placed alike on every backend (probe
            // 48h: refused before), a constraint's bound values included (MySQL writes
            // the subquery twice there).
            let names = |shoppers: Vec<Shopper>| shoppers.into_iter().map(|s| s.name).collect::<Vec<_>>();
            let last = names(Shopper::query().with_sum("orders", "items").order_by_desc("orders_sum_items").nulls_last().get()?);
            let first = names(Shopper::query().order_by_desc("orders_sum_items").nulls_first().with_sum("orders", "items").get()?);
            assert_eq!(&last[..2], &most[..]);
            assert_eq!(&first[1..], &most[..]);
            assert_eq!(last[2], first[0]);
            let over = |q: Query<Record>| q.where_("items", ">", 2);
            let constrained = names(
                Shopper::query()
                    .with_aggregate_where("orders", Aggregate::Max, "items", over)
                    .order_by("orders_max_items")
                    .nulls_first()
                    .get()?,
            );
            assert_eq!(constrained[2], most[0], "{constrained:?}");
            // `last()` turns the placement too.
            let reversed = Shopper::query().with_sum("orders", "items").order_by_desc("orders_sum_items").nulls_last().last()?;
            assert_eq!(reversed.map(|s| s.name), Some(last[2].clone()));
            Ok(())
        }

        fn a_constraints_order_and_limit_do_not_cut_counts_to_the_first_parents() {
            seed()?;
            // Eloquent's counts ignore them; on the grouped statement the limit would
            // leave every parent but the first with nothing.
            let shoppers = by_name()
                .with_count_where("orders", |q| q.order_by("items").limit(1))
                .with_aggregate_where("orders", Aggregate::Sum, "items", |q| q.order_by_desc("items").limit(1).offset(1))
                .get()?;
            let counts: Vec<_> = shoppers.iter().map(|s| s.orders.count()).collect();
            assert_eq!(counts, [Some(2), Some(1), Some(0)]);
            let sums: Vec<_> = shoppers.iter().map(|s| s.orders.sum("items")).collect();
            assert_eq!(sums, [Some(7.0), Some(1.0), Some(0.0)]);
            // A relation declared with an order and a limit: counted whole, and its eager
            // load keeps the limit per parent.
            let shoppers = by_name().with(&["newest_orders"]).with_max("newest_orders", "items").get()?;
            assert_eq!(shoppers[0].newest_orders.len(), 1);
            assert_eq!(shoppers[0].newest_orders[0].items, 5);
            assert_eq!(shoppers[1].newest_orders.max::<i64>("items")?, Some(1));
            let mut counted = by_name().get()?;
            Shopper::load_count(&mut counted, &["newest_orders"])?;
            assert_eq!(counted.iter().map(|s| s.newest_orders.count()).collect::<Vec<_>>(), [Some(2), Some(1), Some(0)]);
            // An order in a has_count constraint (PostgreSQL refuses one beside COUNT(*)).
            let busy = by_name().where_has_count("orders", |q| q.order_by("items"), ">=", 2).pluck::<String>("name")?;
            assert_eq!(busy, ["Ada"]);
            Ok(())
        }

        fn a_pivot_column_named_like_the_related_one_is_not_aggregated() {
            seed()?;
            let orders = Order::query().order_by("items").with_sum("products", "price").get()?;
            let two = orders.iter().find(|o| o.items == 2).unwrap();
            assert_eq!(two.products.sum("price"), Some(43.0));
            // Qualified by hand, the pivot's own column.
            let paid = Order::where_eq("items", 2).with_sum("products", "order_product.price").first_or_fail()?;
            assert_eq!(paid.products.sum("order_product.price"), Some(3000.0));
            Ok(())
        }

        fn cursor_pages_of_models_refuse_another_tables_order_column() {
            seed()?;
            let first = Order::where_eq("items", 2).first_or_fail()?;
            // Models carry their own columns only: a pivot's (or a joined table's) value
            // could not be read back, and reading the model's own `price` would skip rows.
            let by_pivot = first.products().order_by_pivot_desc("price").cursor_paginate(1, None);
            assert!(matches!(by_pivot, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{by_pivot:?}");
            let joined = Product::query()
                .join("order_product", "order_product.product_id", "=", "products.id")
                .order_by("order_product.price")
                .cursor_paginate(1, None);
            assert!(matches!(joined, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{joined:?}");
            // Their own columns page, qualified or not.
            let page = first.products().order_by_desc("products.price").cursor_paginate(1, None)?;
            assert_eq!(page.data[0].price, 40);
            let rest = first.products().order_by_desc("products.price").cursor_paginate(1, page.next_cursor.as_deref())?;
            assert_eq!(rest.data[0].price, 3);
            assert!(rest.next_cursor.is_none());
            Ok(())
        }

        fn aggregates_load_onto_models_already_in_memory() {
            let ids = seed()?;
            let mut shoppers = by_name().get()?;
            // The same row twice gets its aggregate twice.
            shoppers.push(shoppers[0].clone());
            Shopper::load_aggregate(&mut shoppers, "orders", Aggregate::Max, "items")?;
            assert_eq!(shoppers[0].id, Some(ids[0]));
            assert_eq!(shoppers[0].orders.max::<i64>("items")?, Some(5));
            assert_eq!(shoppers[3].orders.max::<i64>("items")?, Some(5));
            assert_eq!(shoppers[1].orders.max::<i64>("items")?, Some(1));
            assert_eq!(shoppers[2].orders.max::<i64>("items")?, None);
            // An unknown relation is the typed error, before any query.
            let unknown = Shopper::load_aggregate(&mut shoppers, "invoices", Aggregate::Sum, "items");
            assert!(matches!(unknown, Err(Error::UnknownRelation { .. })), "{unknown:?}");
            let unknown = by_name().with_sum("invoices", "items").get();
            assert!(matches!(unknown, Err(Error::UnknownRelation { .. })), "{unknown:?}");
            Ok(())
        }
    }
}
