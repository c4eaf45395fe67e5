//! English inflection for table and key names: `User` → `users`, `Category` →
//! `categories`, `Person` → `people`, `BlogPost` → `blog_posts`; and back (`roles` →
//! `role`, for pivot tables). Shared with orm-derive, which includes this file.

/// (singular, plural) pairs that do not follow the rules.
const IRREGULAR: &[(&str, &str)] = &[
    ("person", "people"),
    ("man", "men"),
    ("woman", "women"),
    ("child", "children"),
    ("mouse", "mice"),
    ("goose", "geese"),
    ("tooth", "teeth"),
    ("foot", "feet"),
    ("ox", "oxen"),
    ("leaf", "leaves"),
    ("knife", "knives"),
    ("life", "lives"),
    ("wife", "wives"),
    ("half", "halves"),
    ("criterion", "criteria"),
    ("datum", "data"),
    ("medium", "media"),
    ("analysis", "analyses"),
    ("status", "statuses"),
    ("quiz", "quizzes"),
];

/// Words that are the same in singular and plural.
const UNCOUNTABLE: &[&str] = &[
    "sheep",
    "fish",
    "deer",
    "series",
    "species",
    "news",
    "equipment",
    "information",
    "rice",
    "money",
    "metadata",
];

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// `BlogPost` → `blog_post`, `HTTPRequest` → `http_request`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0
                && (prev_lower || (next_lower && chars[i - 1].is_uppercase()))
                && !out.ends_with('_')
            {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn split_last_word(name: &str) -> (&str, &str) {
    match name.rfind('_') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    }
}

/// The plural of a snake_case name (only its last word changes): `blog_post` →
/// `blog_posts`.
pub fn pluralize(name: &str) -> String {
    let (head, word) = split_last_word(name);
    format!("{head}{}", pluralize_word(word))
}

fn pluralize_word(word: &str) -> String {
    if word.is_empty() || UNCOUNTABLE.contains(&word) {
        return word.to_owned();
    }
    if let Some((_, plural)) = IRREGULAR.iter().find(|(s, _)| *s == word) {
        return (*plural).to_owned();
    }
    let bytes = word.as_bytes();
    let last = bytes[bytes.len() - 1];
    let before = bytes.len().checked_sub(2).map(|i| bytes[i]);
    if last == b'y' && before.is_some_and(|b| !is_vowel(b)) {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with('s')
        || word.ends_with('x')
        || word.ends_with('z')
        || word.ends_with("ch")
        || word.ends_with("sh")
    {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// The singular of a snake_case plural (only its last word changes): `roles` → `role`,
/// `categories` → `category`, `people` → `person`.
pub fn singularize(name: &str) -> String {
    let (head, word) = split_last_word(name);
    format!("{head}{}", singularize_word(word))
}

fn singularize_word(word: &str) -> String {
    if word.is_empty() || UNCOUNTABLE.contains(&word) {
        return word.to_owned();
    }
    if let Some((singular, _)) = IRREGULAR.iter().find(|(_, p)| *p == word) {
        return (*singular).to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        if !stem.is_empty() {
            return format!("{stem}y");
        }
    }
    for suffix in ["ches", "shes", "sses", "xes", "zes"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}

/// The conventional table of a model type name: `User` → `users`.
pub fn table_name(type_name: &str) -> String {
    pluralize(&snake_case(type_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_follow_the_conventions() {
        for (model, table) in [
            ("User", "users"),
            ("Category", "categories"),
            ("Person", "people"),
            ("BlogPost", "blog_posts"),
            ("Box", "boxes"),
            ("Day", "days"),
            ("Child", "children"),
            ("Address", "addresses"),
            ("HTTPRequest", "http_requests"),
            ("Sheep", "sheep"),
            ("Status", "statuses"),
        ] {
            assert_eq!(table_name(model), table, "{model}");
        }
    }

    #[test]
    fn singular_inverts_plural() {
        for word in [
            "user",
            "role",
            "category",
            "person",
            "blog_post",
            "box",
            "day",
            "child",
            "address",
            "match",
            "status",
            "sheep",
        ] {
            assert_eq!(singularize(&pluralize(word)), word, "{word}");
        }
    }
}
