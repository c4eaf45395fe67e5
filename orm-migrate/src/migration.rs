//! The `Migration` trait and the migrations orm-migrate ships.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::error::Result;
use crate::schema::Schema;

/// One step of the schema's history, with its way back.
///
/// Do all database work through `schema` (use [`Schema::statement`] for raw SQL): that
/// is what `pretend` shows and what the ledger's checksum covers.
pub trait Migration {
    /// The migration's identity in the ledger, and its place in the run order
    /// (migrations run in name order): its file's stem, e.g.
    /// `2024_01_01_000000_create_posts_table`. `craft` writes it into every migration it
    /// generates; in a hand-written one return a literal, or
    /// [`migration_name!()`](crate::migration_name) for the stem of the file it is
    /// written in.
    ///
    /// Without it, the name is derived from the type's path (`std::any::type_name`): a
    /// module named after the file stem (`m2024_01_01_000000_create_posts_table`, the `m`
    /// dropped) when there is one, else the type name in snake case
    /// (`CreatePostsTable` → `create_posts_table`). Rust does not promise that path's
    /// form, so name every migration an app ships; should a derived name ever change,
    /// `migrate` stops with `Error::MissingMigration` for the applied name it no longer
    /// finds instead of running the migration again.
    fn name(&self) -> &str {
        default_name(std::any::type_name::<Self>())
    }

    /// Applies the change.
    fn up(&self, schema: &mut Schema) -> Result<()>;

    /// Reverts [`Migration::up`].
    fn down(&self, schema: &mut Schema) -> Result<()>;

    /// Whether the migration and its ledger row run in one transaction (the default).
    /// Return `false` for statements that cannot run inside one (e.g. PostgreSQL's
    /// `CREATE INDEX CONCURRENTLY`); a failure may then leave part of it applied.
    fn transactional(&self) -> bool {
        true
    }
}

/// The `users` table: `id`, `name`, `email` (unique), `password`, `remember_token`,
/// `created_at`, `updated_at`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateUsersTable;

impl Migration for CreateUsersTable {
    fn name(&self) -> &str {
        "2014_10_12_000000_create_users_table"
    }

    fn up(&self, schema: &mut Schema) -> Result<()> {
        schema.create("users", |table| {
            table.increments("id");
            table.string("name", 255);
            table.string("email", 255).unique();
            table.string("password", 255);
            table.remember_token();
            table.timestamps();
        })
    }

    fn down(&self, schema: &mut Schema) -> Result<()> {
        schema.drop_if_exists("users")
    }
}

/// The default migration name for a type path (see [`Migration::name`]), computed once
/// per type.
fn default_name(type_path: &'static str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut names = names
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    names
        .entry(type_path)
        .or_insert_with(|| Box::leak(derive_name(type_path).into_boxed_str()))
}

fn derive_name(type_path: &str) -> String {
    let path = type_path.split('<').next().unwrap_or(type_path);
    let segments: Vec<&str> = path.split("::").collect();
    let is_stem = |segment: &str| {
        let digits = segment.strip_prefix('m').unwrap_or(segment);
        let bytes = digits.as_bytes();
        bytes.len() > 18
            && bytes[..17].iter().enumerate().all(|(i, b)| {
                if matches!(i, 4 | 7 | 10) {
                    *b == b'_'
                } else {
                    b.is_ascii_digit()
                }
            })
            && bytes[17] == b'_'
    };
    if let Some(stem) = segments.iter().rev().find(|s| is_stem(s)) {
        return stem.strip_prefix('m').unwrap_or(stem).to_owned();
    }
    let type_name = segments.last().copied().unwrap_or(path);
    let mut out = String::with_capacity(type_name.len() + 4);
    for (i, c) in type_name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The stem of a source file's path (`.../2024_01_01_000000_x.rs` → `2024_01_01_000000_x`),
/// for [`migration_name!`](crate::migration_name).
#[doc(hidden)]
pub fn file_stem(path: &'static str) -> &'static str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".rs").unwrap_or(name)
}

/// The stem of the file it is written in, as a migration's name:
/// `fn name(&self) -> &str { orm_migrate::migration_name!() }` in
/// `databases/migrations/2024_01_01_000000_create_posts_table.rs` is
/// `2024_01_01_000000_create_posts_table`, whatever module the file is mounted as.
#[macro_export]
macro_rules! migration_name {
    () => {
        $crate::file_stem(::core::file!())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        assert_eq!(
            derive_name("app::migrations::CreatePostsTable"),
            "create_posts_table"
        );
        assert_eq!(
            derive_name("app::m2024_01_01_000000_create_posts_table::CreatePostsTable"),
            "2024_01_01_000000_create_posts_table"
        );
    }

    #[test]
    fn file_stems() {
        assert_eq!(
            file_stem("src/../databases/migrations/2024_01_01_000000_create_posts_table.rs"),
            "2024_01_01_000000_create_posts_table"
        );
        assert_eq!(file_stem("databases\\migrations\\2024_x.rs"), "2024_x");
        assert_eq!(file_stem("plain.rs"), "plain");
        assert_eq!(migration_name!(), "migration");
    }
}
