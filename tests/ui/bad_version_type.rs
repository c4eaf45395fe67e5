use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
struct Account {
    id: Option<i64>,
    #[model(version)]
    version: Option<i64>,
}

fn main() {}
