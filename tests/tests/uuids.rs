//! `uuid::Uuid` fields (feature `uuid`): a UUID primary key and a nullable UUID column,
//! written, found and compared on every backend (native `UUID` on PostgreSQL,
//! `CHAR(36)` on SQLite and MySQL).

use orm_core::prelude::*;
use orm_migrate::{Blueprint, Schema};
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Device {
    pub id: Uuid,
    pub name: String,
    pub paired_with: Option<Uuid>,
}

/// A device with its readings, related by a UUID key.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "devices")]
pub struct Gadget {
    pub id: Uuid,
    pub name: String,
    pub paired_with: Option<Uuid>,
    #[model(has_many(Reading, foreign_key = "device_id"))]
    pub readings: HasMany<Reading>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Reading {
    pub id: Option<i64>,
    pub device_id: Uuid,
    pub value: i64,
    #[model(belongs_to(Gadget, foreign_key = "device_id"))]
    pub device: BelongsTo<Gadget>,
}

/// A UUID key the ORM makes when it is `None` (Eloquent's `HasUuids`).
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "devices")]
pub struct Sensor {
    pub id: Option<Uuid>,
    pub name: String,
    pub paired_with: Option<Uuid>,
    #[model(has_many(Probe, foreign_key = "device_id"))]
    pub probes: HasMany<Probe>,
}

/// A child whose own key is made too, created through its parent.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "probes")]
pub struct Probe {
    pub id: Option<Uuid>,
    pub device_id: Uuid,
    pub label: String,
}

/// [`Sensor`] with a state: `save` of a new model inserts it.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "devices")]
pub struct TrackedSensor {
    pub id: Option<Uuid>,
    pub name: String,
    pub paired_with: Option<Uuid>,
    #[model(state)]
    pub state: ModelState,
}

/// The `devices` table: a UUID key and a nullable UUID column.
fn devices_table(t: &mut Blueprint) {
    t.uuid("id").primary();
    t.string("name", 50);
    t.uuid("paired_with").nullable();
}

const A: Uuid = Uuid::from_u128(0x9f1c_2b3a_4d5e_4f60_8a7b_1c2d_3e4f_5a6b);
const B: Uuid = Uuid::from_u128(0x0123_4567_89ab_4cde_8f01_2345_6789_abcd);

on_every_backend! {
    fn uuid_keys_and_columns_round_trip() {
        Schema::on_default(|s| {
            s.create("devices", devices_table)
        })
        .map_err(Error::other)?;
        Device::create(Device { id: A, name: "phone".into(), paired_with: None })?;
        Device::create(Device { id: B, name: "watch".into(), paired_with: Some(A) })?;

        assert_eq!(Device::find(A)?.unwrap().name, "phone");
        let watch = Device::find_or_fail(B)?;
        assert_eq!(watch.paired_with, Some(A));
        assert_eq!(Device::where_eq("paired_with", A).first()?.unwrap().id, B);
        // Stored as the hyphenated text (or natively on PostgreSQL).
        let raw: String = DB::select("SELECT name FROM devices WHERE id = ?", &[&B])?[0].get("name")?;
        assert_eq!(raw, "watch");
        // A duplicate key is refused as on any other key type.
        let dup = Device::create(Device { id: A, name: "again".into(), paired_with: None });
        assert!(matches!(dup, Err(Error::UniqueViolation { .. })), "{dup:?}");
        let report = Device::check_schema()?;
        assert!(report.is_ok(), "{report}");
        Ok(())
    }
}

on_every_backend! {
    fn eager_loading_groups_children_by_a_uuid_key() {
        Schema::on_default(|s| {
            s.create("devices", devices_table)?;
            s.create("readings", |t| {
                t.increments("id");
                t.uuid("device_id");
                t.big_integer("value");
            })
        })
        .map_err(Error::other)?;
        Device::create(Device { id: A, name: "phone".into(), paired_with: None })?;
        Device::create(Device { id: B, name: "watch".into(), paired_with: None })?;
        for (device, value) in [(A, 1), (B, 2), (A, 3)] {
            Reading { device_id: device, value, ..Reading::default() }.save()?;
        }

        let gadgets = Gadget::query().with(&["readings"]).order_by("name").get()?;
        let values = |g: &Gadget| g.readings.iter().map(|r| r.value).collect::<Vec<_>>();
        assert_eq!(gadgets[0].name, "phone");
        assert_eq!(values(&gadgets[0]), [1, 3]);
        assert_eq!(values(&gadgets[1]), [2]);

        let readings = Reading::query().with(&["device"]).order_by("value").get()?;
        let owners: Vec<_> = readings.iter().map(|r| r.device.get().map(|d| d.name.clone())).collect();
        assert_eq!(owners, [Some("phone".into()), Some("watch".into()), Some("phone".into())]);
        Ok(())
    }
}

on_every_backend! {
    fn an_unset_uuid_key_is_made_by_the_orm_on_every_insert_path() {
        Schema::on_default(|s| {
            s.create("devices", devices_table)?;
            s.create("probes", |t| {
                t.uuid("id").primary();
                t.uuid("device_id");
                t.string("label", 20);
            })
        })
        .map_err(Error::other)?;
        let phone = Sensor::create(Sensor { name: "phone".into(), ..Default::default() })?;
        let id = phone.id.expect("create fills the key");
        assert_eq!(id.get_version_num(), 7, "a time-ordered UUID");
        assert_eq!(Sensor::find_or_fail(id)?.name, "phone");

        // `save` of a model without a state, `save_quietly`, and one with a state.
        let mut watch = Sensor { name: "watch".into(), ..Default::default() };
        watch.save()?;
        let mut quiet = Sensor { name: "quiet".into(), ..Default::default() };
        quiet.save_quietly()?;
        let mut tracked = TrackedSensor { name: "tracked".into(), ..Default::default() };
        tracked.save()?;
        tracked.name = "tracked, renamed".into();
        tracked.save()?;
        assert!(watch.id.is_some() && quiet.id.is_some() && tracked.id.is_some());
        assert_eq!(TrackedSensor::find_or_fail(tracked.id.unwrap())?.name, "tracked, renamed");

        // `insert_many`: every model its own key, in creation order.
        let mut many: Vec<Sensor> = (0..50).map(|i| Sensor { name: format!("s{i:02}"), ..Default::default() }).collect();
        Sensor::insert_many(&mut many)?;
        let keys: Vec<Uuid> = many.iter().map(|s| s.id.unwrap()).collect();
        let mut distinct = keys.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 50);
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "every key after the one before");
        assert_eq!(Sensor::count()?, 54);

        // A key given in capitals is the same key where the database compares UUIDs by
        // value (PostgreSQL's `UUID`; SQLite and MySQL compare the stored text, MySQL under
        // the column's collation: see docs/02).
        if orm_tests::backend() == orm_core::Backend::Postgres {
            let upper = id.hyphenated().to_string().to_uppercase();
            assert_eq!(Sensor::find_many_or_fail([upper.as_str()])?[0].id, Some(id));
        }
        // A key chosen by the application is kept.
        let chosen = Sensor::create(Sensor { id: Some(A), name: "chosen".into(), ..Default::default() })?;
        assert_eq!(chosen.id, Some(A));
        assert_eq!(Sensor::find_or_fail(A)?.name, "chosen");

        // Through a relation: the child's key is made, its foreign key set.
        let probe = phone.probes().create(Probe { label: "temp".into(), ..Default::default() })?;
        assert_eq!(probe.device_id, id);
        let read = Sensor::query().with(&["probes"]).where_eq("id", id).first()?.unwrap();
        assert_eq!(read.probes.first().map(|p| p.id), Some(probe.id));
        assert!(probe.id.is_some());
        Ok(())
    }
}

#[test]
fn generated_keys_only_grow_across_threads() {
    let made: Vec<Vec<Uuid>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..5_000)
                        .map(|_| orm_core::__private::new_uuid_key().get::<Uuid>().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut all: Vec<Uuid> = Vec::new();
    for keys in &made {
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "each thread's keys grow"
        );
        assert!(keys.iter().all(|k| k.get_version_num() == 7));
        all.extend(keys);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20_000, "no key twice");
}
