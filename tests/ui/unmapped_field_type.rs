use orm_core::prelude::*;

#[derive(Debug, Default)]
struct Address {
    street: String,
}

#[derive(Debug, Default, Model)]
struct User {
    id: Option<i64>,
    address: Address,
}

fn main() {}
