use orm_core::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Option<i64>,
    #[model(morph_many(Comment))]
    pub comments: MorphMany<Comment>,
}

#[derive(Model)]
pub struct Comment {
    pub id: Option<i64>,
}

fn main() {}
