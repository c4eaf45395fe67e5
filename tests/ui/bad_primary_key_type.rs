use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct User {
    id: f64,
}

fn main() {}
