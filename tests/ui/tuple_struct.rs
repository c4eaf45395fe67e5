use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct User(i64, String);

fn main() {}
