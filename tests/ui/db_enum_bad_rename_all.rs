use orm_core::prelude::*;

#[derive(DbEnum)]
#[db_enum(rename_all = "camel")]
pub enum Status {
    Draft,
}

#[derive(DbEnum)]
pub enum Twice {
    #[db_enum(rename = "same")]
    First,
    #[db_enum(rename = "same")]
    Second,
}

fn main() {}
