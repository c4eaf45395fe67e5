use orm_core::prelude::*;

#[derive(Debug, Default, Model)]
#[model(with = ["author", "comments.author"])]
struct Post {
    id: Option<i64>,
    author_id: i64,
    #[model(belongs_to(Author))]
    author: BelongsTo<Author>,
}

#[derive(Debug, Default, Model)]
struct Author {
    id: Option<i64>,
}

fn main() {}
