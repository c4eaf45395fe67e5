//! Groups eager-loaded children under their parents (one pass, keys looked up in a map):
//! the Rust half of a "manual eager load", shared by the raw drivers and the ORM so they
//! do the same work.

use std::collections::HashMap;

/// Splits `children` into one `Vec` per parent, in `parent_keys` order; a child whose
/// parent is not listed is dropped.
pub fn group_by_parent<C>(
    parent_keys: impl IntoIterator<Item = i64>,
    children: Vec<C>,
    parent_of: impl Fn(&C) -> i64,
) -> Vec<Vec<C>> {
    let positions: HashMap<i64, usize> = parent_keys
        .into_iter()
        .enumerate()
        .map(|(position, key)| (key, position))
        .collect();
    let mut groups: Vec<Vec<C>> = (0..positions.len()).map(|_| Vec::new()).collect();
    for child in children {
        if let Some(&position) = positions.get(&parent_of(&child)) {
            groups[position].push(child);
        }
    }
    groups
}

/// Users with their posts, each post with its comments.
pub type Nested<U, P, C> = Vec<(U, Vec<(P, Vec<C>)>)>;

/// Nests three eager-loaded levels: comments under posts, posts under users.
pub fn nest<U, P, C>(
    users: Vec<U>,
    posts: Vec<P>,
    comments: Vec<C>,
    user_key: impl Fn(&U) -> i64,
    post_key: impl Fn(&P) -> i64,
    post_parent: impl Fn(&P) -> i64,
    comment_parent: impl Fn(&C) -> i64,
) -> Nested<U, P, C> {
    let comments_by_post = group_by_parent(posts.iter().map(&post_key), comments, comment_parent);
    let posts_with_comments: Vec<(P, Vec<C>)> = posts.into_iter().zip(comments_by_post).collect();
    let posts_by_user = group_by_parent(
        users.iter().map(&user_key),
        posts_with_comments,
        |(post, _)| post_parent(post),
    );
    users.into_iter().zip(posts_by_user).collect()
}
