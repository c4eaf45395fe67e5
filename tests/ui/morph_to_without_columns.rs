use orm_core::prelude::*;

#[derive(Clone, Model)]
pub struct Post {
    pub id: Option<i64>,
}

#[derive(Clone, MorphTo)]
pub enum Commentable {
    Post(Post),
}

#[derive(Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub commentable_id: Option<i64>,
    #[model(morph_to)]
    pub commentable: MorphTo<Commentable>,
}

fn main() {}
