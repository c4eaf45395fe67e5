use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct User {
    id: Option<i64>,
    name: String,
    #[model(column = "name")]
    display_name: String,
}

fn main() {}
