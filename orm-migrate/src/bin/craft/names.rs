//! Name checks and conversions for scaffolding.

/// Rust's keywords (strict and reserved, all editions): not usable as module names.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union",
];

/// Whether `name` is a Rust keyword.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Checks a snake_case identifier: lowercase ASCII letters, digits and single
/// underscores, starting with a letter, not a keyword.
pub fn check_snake_case(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} name is empty"));
    }
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if !valid {
        return Err(format!(
            "invalid {what} name `{name}`: use snake_case (lowercase letters, digits and \
             underscores, starting with a letter), e.g. create_posts_table"
        ));
    }
    if is_keyword(name) {
        return Err(format!(
            "invalid {what} name `{name}`: it is a Rust keyword"
        ));
    }
    Ok(())
}

/// Splits `Post`, `blog_post`, `blog-post` or `BlogPost` into its words, checking that
/// it only has ASCII letters, digits, `_` and `-` and starts with a letter.
fn words(what: &str, name: &str) -> Result<Vec<String>, String> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(if name.is_empty() {
            format!("{what} name is empty")
        } else {
            format!(
                "invalid {what} name `{name}`: use letters, digits, `_` or `-`, starting with a \
                 letter (e.g. Post, blog_post or blog-post)"
            )
        });
    }
    let snake = orm_inflector::snake_case(&name.replace('-', "_"));
    Ok(snake
        .split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The CamelCase type name of a model name (`blog-post` → `BlogPost`).
pub fn model_type_name(name: &str) -> Result<String, String> {
    let camel = camel_case(&words("model", name)?.join("_"));
    if camel == "Self" {
        return Err("invalid model name `Self`: it is a Rust keyword".to_owned());
    }
    if TAKEN_TYPE_NAMES.contains(&camel.as_str()) {
        return Err(format!(
            "invalid model name `{name}`: `{camel}` is a type the generated code uses \
             (choose another name, e.g. {camel}Record)"
        ));
    }
    Ok(camel)
}

/// The CamelCase type name of a migration (`add_slug_to_posts` → `AddSlugToPosts`),
/// refused when it would shadow a type the migration files and their module list name
/// (`impl Migration for Migration` does not compile).
pub fn migration_type_name(name: &str) -> Result<String, String> {
    let camel = camel_case(name);
    if TAKEN_BY_MIGRATIONS.contains(&camel.as_str()) {
        return Err(format!(
            "invalid migration name `{name}`: `{camel}` is a type the generated code uses \
             (choose another name, e.g. create_{name}_table)"
        ));
    }
    Ok(camel)
}

/// Types a migration file (`use orm_migrate::prelude::*`, `fn up(&self, schema: &mut
/// Schema) -> Result<()>`) and the migrations' module list (`Box<dyn Migration>`) name.
const TAKEN_BY_MIGRATIONS: &[&str] = &[
    "Migration",
    "Schema",
    "Result",
    "Error",
    "Blueprint",
    "Migrator",
    "RunOptions",
    "Seeder",
    "Box",
    "Vec",
    "Option",
    "Some",
    "None",
    "Ok",
    "Err",
    "String",
    "Self",
];

/// Types the scaffolded models and their module list name (`Option<i64>` keys,
/// `Option<DateTime<Utc>>` timestamps, `pub state: ModelState`, `Vec<..>` in `all()`,
/// the column types of `--from-table`): a model of that name would shadow them and the
/// app would not compile.
const TAKEN_TYPE_NAMES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Vec",
    "String",
    "Box",
    "DateTime",
    "Utc",
    "ModelState",
    "NaiveDate",
    "NaiveDateTime",
    "NaiveTime",
    "Decimal",
];

/// `create_posts_table` → `CreatePostsTable`.
pub fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// What `craft seed NAME` writes: the module (`users_table_seeder`), the type
/// (`UsersTableSeeder`) and the table it is about (`users`), from `Users`, `users`,
/// `blog-posts`, `UsersTableSeeder` or `users_seeder`.
pub fn seeder_names(name: &str) -> Result<(String, String, String), String> {
    let mut words = words("seeder", name)?;
    if words.last().is_some_and(|w| w == "seeder") {
        words.pop();
        if words.last().is_some_and(|w| w == "table") {
            words.pop();
        }
    }
    if words.is_empty() {
        return Err(format!(
            "invalid seeder name `{name}`: name the table it seeds, e.g. Users"
        ));
    }
    let table = words.join("_");
    let module = format!("{table}_table_seeder");
    let type_name = format!("{}TableSeeder", camel_case(&table));
    Ok((module, type_name, table))
}

/// The package name of an app (`my-blog` stays `my-blog`) and its crate identifier
/// (`my_blog`).
pub fn app_names(name: &str) -> Result<(String, String), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        return Err(format!(
            "invalid app name `{name}`: use lowercase letters, digits, `_` or `-`, starting with a \
             letter (e.g. blog)"
        ));
    }
    let ident = name.replace('-', "_");
    if is_keyword(&ident) || matches!(ident.as_str(), "test" | "core" | "std" | "alloc") {
        return Err(format!(
            "invalid app name `{name}`: it clashes with a Rust keyword or crate"
        ));
    }
    // The app's own modules and binary, and the ORM's crates it depends on.
    if matches!(
        ident.as_str(),
        "app"
            | "databases"
            | "craft_migrate"
            | "orm_core"
            | "orm_derive"
            | "orm_migrate"
            | "orm_inflector"
    ) {
        return Err(format!(
            "invalid app name `{name}`: it clashes with a module, binary or crate of the \
             generated app (e.g. call it my-{name})"
        ));
    }
    Ok((name.to_owned(), ident))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        assert!(check_snake_case("migration", "create_posts_table").is_ok());
        assert!(check_snake_case("migration", "add_v2_to_users").is_ok());
        for bad in [
            "",
            "CreatePosts",
            "1_posts",
            "_posts",
            "posts_",
            "create__posts",
            "create-posts",
            "fn",
            "mod",
            "crème",
        ] {
            assert!(check_snake_case("migration", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_names() {
        assert_eq!(model_type_name("Post").unwrap(), "Post");
        assert_eq!(model_type_name("post").unwrap(), "Post");
        assert_eq!(model_type_name("blog_post").unwrap(), "BlogPost");
        assert_eq!(model_type_name("blog-post").unwrap(), "BlogPost");
        assert_eq!(model_type_name("BlogPost").unwrap(), "BlogPost");
        for bad in [
            "",
            "1Post",
            "blog post",
            "Self",
            "-post",
            "post!",
            "Option",
            "vec",
            "date_time",
            "Utc",
            "model_state",
        ] {
            assert!(model_type_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seeder_names_name_the_table() {
        let users = (
            "users_table_seeder".to_owned(),
            "UsersTableSeeder".to_owned(),
            "users".to_owned(),
        );
        for name in [
            "Users",
            "users",
            "UsersTableSeeder",
            "users_seeder",
            "users-table-seeder",
        ] {
            assert_eq!(seeder_names(name).unwrap(), users, "{name}");
        }
        assert_eq!(
            seeder_names("blog-posts").unwrap(),
            (
                "blog_posts_table_seeder".to_owned(),
                "BlogPostsTableSeeder".to_owned(),
                "blog_posts".to_owned()
            )
        );
        for bad in ["", "Seeder", "TableSeeder", "1users", "my users", "users!"] {
            assert!(seeder_names(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_names_are_package_names() {
        assert_eq!(
            app_names("my-blog").unwrap(),
            ("my-blog".into(), "my_blog".into())
        );
        for bad in [
            "",
            "Blog",
            "1blog",
            "my blog",
            "fn",
            "std",
            "app",
            "databases",
            "craft-migrate",
            "orm-core",
            "orm_migrate",
            "orm-derive",
            "orm-inflector",
        ] {
            assert!(app_names(bad).is_err(), "{bad}");
        }
        assert!(app_names("my-app").is_ok());
    }
}
