use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct User {
    name: String,
}

fn main() {}
