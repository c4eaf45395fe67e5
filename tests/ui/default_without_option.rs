use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct Post {
    id: Option<i64>,
    #[model(default)]
    status: String,
}

fn main() {}
