use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
#[model(tabel = "users")]
struct User {
    id: Option<i64>,
}

fn main() {}
