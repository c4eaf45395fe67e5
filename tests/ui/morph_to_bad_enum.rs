use orm_core::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Option<i64>,
}

#[derive(MorphTo)]
pub enum Commentable {
    Post { post: Post },
}

fn main() {}
