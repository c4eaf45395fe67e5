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
