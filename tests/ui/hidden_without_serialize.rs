use orm_core::prelude::*;

#[derive(Debug, Default, Model, serde::Serialize)]
#[model(serialize = false)]
struct User {
    id: Option<i64>,
    #[model(hidden)]
    password: String,
}

fn main() {}
