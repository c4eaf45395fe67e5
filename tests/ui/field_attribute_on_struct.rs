use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
#[model(hidden)]
struct User {
    id: Option<i64>,
}

fn main() {}
