use orm_core::prelude::*;

#[derive(DbEnum)]
pub enum Shape {
    Point,
    Circle(f64),
}

fn main() {}
