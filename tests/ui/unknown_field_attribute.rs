use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct User {
    id: Option<i64>,
    #[model(secret)]
    password: String,
}

fn main() {}
