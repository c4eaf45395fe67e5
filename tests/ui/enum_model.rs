use orm_core::prelude::*;

#[derive(Debug, Model)]
enum User {
    Admin,
}

fn main() {}
