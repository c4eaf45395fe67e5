use orm_core::prelude::*;

#[derive(Model)]
pub struct Tag {
    pub id: Option<i64>,
}

#[derive(Model)]
pub struct Post {
    pub id: Option<i64>,
    #[model(morph_to_many(Tag, name = "taggable", foreign_pivot_key = "post_id"))]
    pub tags: MorphToMany<Tag>,
}

fn main() {}
