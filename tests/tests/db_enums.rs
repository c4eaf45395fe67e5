//! `#[derive(DbEnum)]`: fieldless enums stored as text or as integers, written, queried
//! and read back on every backend; a stored value that is no variant is a decode error.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Copy, Default, PartialEq, DbEnum, serde::Serialize)]
pub enum Status {
    #[default]
    Draft,
    InReview,
    #[db_enum(rename = "live")]
    Published,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, DbEnum, serde::Serialize)]
#[db_enum(integer)]
pub enum Priority {
    #[default]
    Low = 1,
    High = 10,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Ticket {
    pub id: Option<i64>,
    pub status: Status,
    pub priority: Priority,
    pub previous: Option<Status>,
}

on_every_backend! {
    fn enums_round_trip_as_text_and_integers() {
        Schema::on_default(|s| {
            s.create("tickets", |t| {
                t.increments("id");
                t.string("status", 20);
                t.integer("priority");
                t.string("previous", 20).nullable();
            })
        })
        .map_err(Error::other)?;
        Ticket::create(Ticket { status: Status::InReview, priority: Priority::High, previous: Some(Status::Draft), ..Default::default() })?;
        Ticket::create(Ticket { status: Status::Published, ..Default::default() })?;

        let stored = DB::select("SELECT status, priority FROM tickets ORDER BY id", &[])?;
        assert_eq!(stored[0].get::<String, _>("status")?, "in_review");
        assert_eq!(stored[0].get::<i64, _>("priority")?, 10);
        assert_eq!(stored[1].get::<String, _>("status")?, "live");

        let live = Ticket::where_eq("status", Status::Published).first()?.unwrap();
        assert_eq!((live.priority, live.previous), (Priority::Low, None));
        let high = Ticket::where_eq("priority", Priority::High).get()?;
        assert_eq!((high.len(), high[0].previous), (1, Some(Status::Draft)));

        DB::statement("UPDATE tickets SET status = 'archived'")?;
        let err = Ticket::all().unwrap_err();
        assert!(matches!(&err, Error::Decode { expected, .. } if expected == "Status"), "{err:?}");
        assert!(Ticket::check_schema()?.is_ok());
        Ok(())
    }
}
