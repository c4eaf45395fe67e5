//! Links that point at a column other than the far table's key: a pivot holding the
//! related rows' `slug` (`belongs_to_many(.., related_key = "slug")`, Eloquent's
//! `relatedKey`) and a through relation whose related rows hold the intermediate rows'
//! `vin` (`has_many_through(.., second_local_key = "vin")`, Eloquent's
//! `secondLocalKey`). Reads, eager loads, existence, counts and writes all follow the
//! named column, on every backend.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    #[model(belongs_to_many(
        Permission,
        related_pivot_key = "permission_slug",
        related_key = "slug"
    ))]
    pub permissions: BelongsToMany<Permission>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Permission {
    pub id: Option<i64>,
    pub slug: String,
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Mechanic {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many_through(Owner, through = Car, second_key = "car_vin", second_local_key = "vin"))]
    pub owners: HasManyThrough<Owner>,
    #[model(has_one_through(Owner, through = Car, second_key = "car_vin", second_local_key = "vin"))]
    pub first_owner: HasOneThrough<Owner>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Car {
    pub id: Option<i64>,
    pub vin: String,
    pub mechanic_id: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Owner {
    pub id: Option<i64>,
    pub car_vin: String,
    pub name: String,
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("users", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("permissions", |t| {
            t.increments("id");
            t.string("slug", 50).unique();
            t.string("label", 50);
        })?;
        s.create("permission_user", |t| {
            t.big_integer("user_id");
            t.string("permission_slug", 50);
        })?;
        s.create("mechanics", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("cars", |t| {
            t.increments("id");
            t.string("vin", 20).unique();
            t.big_integer("mechanic_id");
        })?;
        s.create("owners", |t| {
            t.increments("id");
            t.string("car_vin", 20);
            t.string("name", 50);
        })
    })
    .map_err(Error::other)
}

fn labels(permissions: &[Permission]) -> Vec<&str> {
    let mut labels: Vec<&str> = permissions.iter().map(|p| p.label.as_str()).collect();
    labels.sort();
    labels
}

on_every_backend! {
    fn a_pivot_linking_the_related_rows_by_another_column() {
        schema()?;
        // Keys that differ from the slugs' order, so that a join on `id` would mismatch.
        for (slug, label) in [("zz", "filler"), ("edit", "Edit"), ("view", "View"), ("admin", "Admin")] {
            Permission::create(Permission { slug: slug.into(), label: label.into(), ..Default::default() })?;
        }
        let ada = User::create(User { name: "Ada".into(), ..Default::default() })?;
        let grace = User::create(User { name: "Grace".into(), ..Default::default() })?;
        assert_eq!(ada.permissions().attach(["edit", "view"])?, 2);
        let stored: Vec<String> = DB::table("permission_user").order_by("permission_slug").pluck("permission_slug")?;
        assert_eq!(stored, ["edit", "view"]);

        assert_eq!(labels(&ada.permissions().get()?), ["Edit", "View"]);
        assert_eq!(ada.permissions().count()?, 2);
        let eager = User::query().with(&["permissions"]).order_by("id").get()?;
        assert_eq!(labels(&eager[0].permissions), ["Edit", "View"]);
        assert!(eager[1].permissions.is_empty());
        let having = User::query().where_has("permissions", |q| q.where_eq("label", "View")).get()?;
        assert_eq!(having.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Ada"]);
        let counted = User::query().with_count(&["permissions"]).order_by("id").get()?;
        assert_eq!(counted.iter().map(|u| u.permissions.count()).collect::<Vec<_>>(), [Some(2), Some(0)]);

        // Writes through the relation attach the named column's value, not the key.
        let created = grace.permissions().create(Permission { slug: "audit".into(), label: "Audit".into(), ..Default::default() })?;
        assert!(created.id.is_some());
        let found = grace.permissions().first_or_create(row! {"slug" => "admin"}, row! {"label" => "unused"})?;
        assert_eq!(found.label, "Admin");
        assert_eq!(labels(&grace.permissions().get()?), ["Admin", "Audit"]);
        let grace_slugs: Vec<String> = DB::table("permission_user")
            .where_eq("user_id", grace.id)
            .order_by("permission_slug")
            .pluck("permission_slug")?;
        assert_eq!(grace_slugs, ["admin", "audit"]);

        let changes = ada.permissions().sync(["view", "admin"])?;
        assert_eq!((changes.attached.len(), changes.detached.len()), (1, 1));
        assert_eq!(labels(&ada.permissions().get()?), ["Admin", "View"]);
        assert_eq!(ada.permissions().detach(["view"])?, 1);
        assert_eq!(labels(&ada.permissions().get()?), ["Admin"]);
        Ok(())
    }

    fn a_through_relation_reaching_the_intermediate_rows_by_another_column() {
        schema()?;
        let tom = Mechanic::create(Mechanic { name: "Tom".into(), ..Default::default() })?;
        let ray = Mechanic::create(Mechanic { name: "Ray".into(), ..Default::default() })?;
        // Car keys 1, 2, 3; the owners point at VINs, which a join on the key would miss.
        for (vin, mechanic) in [("VIN-A", &ray), ("VIN-B", &tom), ("VIN-C", &tom)] {
            Car::create(Car { vin: vin.into(), mechanic_id: mechanic.id.unwrap(), ..Default::default() })?;
        }
        for (vin, name) in [("VIN-B", "Bo"), ("VIN-C", "Cy"), ("VIN-A", "Al"), ("2", "decoy")] {
            Owner::create(Owner { car_vin: vin.into(), name: name.into(), ..Default::default() })?;
        }
        let names = |owners: &[Owner]| {
            let mut names: Vec<String> = owners.iter().map(|o| o.name.clone()).collect();
            names.sort();
            names
        };
        assert_eq!(names(&tom.owners().get()?), ["Bo", "Cy"]);
        assert_eq!(tom.owners().count()?, 2);
        assert_eq!(ray.first_owner().first()?.map(|o| o.name), Some("Al".to_owned()));
        let eager = Mechanic::query().with(&["owners", "first_owner"]).order_by("id").get()?;
        assert_eq!(names(&eager[0].owners), ["Bo", "Cy"]);
        assert_eq!(names(&eager[1].owners), ["Al"]);
        assert_eq!(eager[1].first_owner.get().map(|o| o.name.as_str()), Some("Al"));
        let having = Mechanic::query().where_has("owners", |q| q.where_eq("name", "Cy")).get()?;
        assert_eq!(having.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["Tom"]);
        Ok(())
    }
}
