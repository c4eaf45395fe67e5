use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
#[model(created_at = "logged_at")]
struct Entry {
    id: Option<i64>,
    created_at: Option<DateTime<Utc>>,
}

fn main() {}
