diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
        email -> Text,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    categories (id) {
        id -> Integer,
        name -> Text,
        parent_id -> Nullable<Integer>,
    }
}

diesel::table! {
    posts (id) {
        id -> Integer,
        user_id -> Integer,
        category_id -> Nullable<Integer>,
        title -> Text,
        body -> Text,
        published -> Bool,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    comments (id) {
        id -> Integer,
        post_id -> Integer,
        user_id -> Integer,
        body -> Text,
    }
}

diesel::table! {
    tags (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    profiles (id) {
        id -> Integer,
        user_id -> Integer,
        bio -> Nullable<Text>,
        website -> Nullable<Text>,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::joinable!(posts -> categories (category_id));
diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(profiles -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, categories, posts, comments, tags, profiles);
