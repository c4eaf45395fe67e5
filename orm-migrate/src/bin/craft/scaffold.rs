//! `craft new`, `craft model`, `craft migration`, `craft seed`: files written atomically (a temporary
//! file in the same directory, then a rename), and undone together when any step fails.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::names;
use crate::templates;

/// The environment variable that points `craft new` at the ORM's workspace (the
/// directory holding `orm-core/` and `orm-migrate/`).
pub const ORM_PATH_VAR: &str = "CRAFT_ORM_PATH";

const MIGRATIONS_DIR: &str = "databases/migrations";
const MIGRATIONS_MOD: &str = "databases/migrations/mod.rs";
const APP_MOD: &str = "app/mod.rs";
const SEEDS_DIR: &str = "databases/seeds";
const SEEDS_MOD: &str = "databases/seeds/mod.rs";
const DATABASE_SEEDER: &str = "databases/seeds/database_seeder.rs";

/// An app made by `craft new`: its root directory.
#[derive(Debug, Clone)]
pub struct App {
    pub root: PathBuf,
}

/// The app holding `start` (or a parent): a directory with a `Cargo.toml` and
/// `databases/migrations/mod.rs`.
pub fn find_app(start: &Path) -> Result<App, String> {
    let mut dir = Some(start);
    while let Some(candidate) = dir {
        if candidate.join("Cargo.toml").is_file() && candidate.join(MIGRATIONS_MOD).is_file() {
            return Ok(App {
                root: candidate.to_path_buf(),
            });
        }
        dir = candidate.parent();
    }
    Err(format!(
        "not inside a craft app: no Cargo.toml with {MIGRATIONS_MOD} in {} or its parents \
         (create one with `craft new NAME`)",
        start.display()
    ))
}

/// What `craft new` made.
#[derive(Debug)]
pub struct CreatedApp {
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
}

/// The ORM workspace the generated app depends on: `CRAFT_ORM_PATH`, else the one
/// this `craft` was built from.
fn orm_root() -> Result<PathBuf, String> {
    let root = match std::env::var_os(ORM_PATH_VAR) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    if !root.join("orm-core/Cargo.toml").is_file() || !root.join("orm-migrate/Cargo.toml").is_file()
    {
        return Err(format!(
            "cannot find the ORM's crates (orm-core/, orm-migrate/) in {}: set {ORM_PATH_VAR} \
             to the ORM's checkout",
            root.display()
        ));
    }
    Ok(fs::canonicalize(&root).unwrap_or(root))
}

/// `craft new NAME [--database URL]`: builds the app in a temporary directory next to
/// `NAME/`, then renames it into place. The URL (SQLite's `database.sqlite3` by
/// default) goes to `.env`; it is checked, not connected to.
pub fn new_app(parent: &Path, name: &str, database: Option<&str>) -> Result<CreatedApp, String> {
    let (package, crate_ident) = names::app_names(name)?;
    let url = database.unwrap_or(templates::DEFAULT_DATABASE_URL);
    if url.contains('\n') || url.contains('\r') {
        return Err("invalid --database URL: it spans several lines".into());
    }
    orm_core::ConnectOptions::parse(url).map_err(|e| format!("invalid --database URL: {e}"))?;
    let root = parent.join(name);
    if root.exists() {
        return Err(format!("`{}` already exists", root.display()));
    }
    let orm_root = orm_root()?;
    let orm_root_text = orm_root
        .to_str()
        .ok_or_else(|| format!("the ORM's path {} is not UTF-8", orm_root.display()))?;
    let files: Vec<(String, String)> = vec![
        (
            "Cargo.toml".into(),
            templates::cargo_toml(&package, orm_root_text),
        ),
        (".env".into(), templates::dot_env(url)),
        (".gitignore".into(), templates::GITIGNORE.into()),
        ("src/lib.rs".into(), templates::lib_rs(&package)),
        ("src/main.rs".into(), templates::main_rs(&crate_ident)),
        (
            format!("src/bin/{}.rs", templates::RUNNER_BIN),
            templates::runner_rs(&crate_ident),
        ),
        (APP_MOD.into(), templates::APP_MOD.into()),
        ("app/user.rs".into(), templates::USER_MODEL.into()),
        ("databases/mod.rs".into(), templates::DATABASES_MOD.into()),
        (MIGRATIONS_MOD.into(), templates::MIGRATIONS_MOD.into()),
        (
            format!("{MIGRATIONS_DIR}/{}.rs", templates::USERS_MIGRATION_STEM),
            templates::USERS_MIGRATION.into(),
        ),
        (SEEDS_MOD.into(), templates::SEEDS_MOD.into()),
        (DATABASE_SEEDER.into(), templates::DATABASE_SEEDER.into()),
    ];
    let staging = parent.join(format!(".{name}.craft-{}", std::process::id()));
    let build = || -> Result<bool, String> {
        for (relative, contents) in &files {
            let path = staging.join(relative);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
            }
            fs::write(&path, contents).map_err(|e| io_error("write", &path, &e))?;
        }
        // The ORM's lock file: the app starts on the dependency versions the ORM is
        // tested with (and shares their compiled artifacts).
        let lock = orm_root.join("Cargo.lock");
        let copied = lock.is_file();
        if copied {
            fs::copy(&lock, staging.join("Cargo.lock")).map_err(|e| io_error("copy", &lock, &e))?;
        }
        fs::rename(&staging, &root).map_err(|e| io_error("create", &root, &e))?;
        Ok(copied)
    };
    let lock_copied = match build() {
        Ok(copied) => copied,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let mut created: Vec<PathBuf> = files
        .iter()
        .map(|(relative, _)| root.join(relative))
        .collect();
    if lock_copied {
        created.insert(1, root.join("Cargo.lock"));
    }
    Ok(CreatedApp {
        files: created,
        root,
    })
}

/// What `craft migration` writes: from `--create`, `--table` or the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationKind {
    Create(String),
    Alter(String),
    Blank,
}

impl MigrationKind {
    /// From the flags; with neither, `create_X_table` creates `X`.
    pub fn from_flags(
        name: &str,
        create: Option<String>,
        table: Option<String>,
    ) -> Result<MigrationKind, String> {
        let kind = match (create, table) {
            (Some(_), Some(_)) => {
                return Err("pass either --create TABLE or --table TABLE, not both".to_owned())
            }
            (Some(create), None) => MigrationKind::Create(create),
            (None, Some(table)) => MigrationKind::Alter(table),
            (None, None) => match name
                .strip_prefix("create_")
                .and_then(|rest| rest.strip_suffix("_table"))
            {
                Some(table) if !table.is_empty() => MigrationKind::Create(table.to_owned()),
                _ => MigrationKind::Blank,
            },
        };
        if let MigrationKind::Create(table) | MigrationKind::Alter(table) = &kind {
            check_table_name(table)?;
        }
        Ok(kind)
    }
}

fn check_table_name(table: &str) -> Result<(), String> {
    let valid = table.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid table name `{table}`: use letters, digits and underscores"
        ))
    }
}

/// `craft migration NAME`: the written file.
pub fn new_migration(app: &App, name: &str, kind: &MigrationKind) -> Result<PathBuf, String> {
    let mut changes = Changes::default();
    let file = plan_migration(app, name, kind, &mut changes)?;
    changes.apply()?;
    Ok(file)
}

/// `craft model NAME [-m]`: the written files.
///
/// With `from`, the table and its live columns: the fields are written from them.
pub fn new_model(
    app: &App,
    name: &str,
    with_migration: bool,
    from: Option<(&str, Vec<orm_migrate::ColumnInfo>)>,
) -> Result<Vec<PathBuf>, String> {
    let type_name = names::model_type_name(name)?;
    let module = orm_inflector::snake_case(&type_name);
    if names::is_keyword(&module) {
        return Err(format!(
            "invalid model name `{name}`: its module `{module}` is a Rust keyword"
        ));
    }
    let table = orm_inflector::table_name(&type_name);
    let relative = format!("app/{module}.rs");
    let path = app.root.join(&relative);
    if path.exists() {
        return Err(format!(
            "model file {relative} already exists; not overwriting it"
        ));
    }
    let app_mod = app.root.join(APP_MOD);
    let current = read(&app_mod)?;
    let declaration = format!("pub mod {module};");
    if current.lines().any(|line| line.trim() == declaration) {
        return Err(format!("{APP_MOD} already declares `{declaration}`"));
    }

    let mut changes = Changes::default();
    let source = match &from {
        Some((from_table, columns)) => {
            crate::from_table::model_source(&type_name, from_table, columns)?
        }
        None => templates::model(&type_name, &table),
    };
    changes.create(path.clone(), source);
    changes.modify(app_mod, register_model(&current, &module, &type_name));
    let mut files = vec![path];
    if with_migration {
        let migration = format!("create_{table}_table");
        files.push(plan_migration(
            app,
            &migration,
            &MigrationKind::Create(table),
            &mut changes,
        )?);
    }
    changes.apply()?;
    Ok(files)
}

fn plan_migration(
    app: &App,
    name: &str,
    kind: &MigrationKind,
    changes: &mut Changes,
) -> Result<PathBuf, String> {
    names::check_snake_case("migration", name)?;
    let type_name = names::migration_type_name(name)?;
    if let MigrationKind::Create(table) | MigrationKind::Alter(table) = kind {
        if table.as_str() == orm_migrate::LEDGER_TABLE {
            return Err(format!(
                "table `{table}` is the migrator's own ledger: a migration cannot create or \
                 change it (give the model another table: `#[model(table = \"..\")]`)"
            ));
        }
    }
    let dir = app.root.join(MIGRATIONS_DIR);
    let entries = fs::read_dir(&dir).map_err(|e| io_error("read", &dir, &e))?;
    let mut stems = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(stem) = file_name.strip_suffix(".rs").filter(|s| is_stem(s)) else {
            continue;
        };
        // The name after the timestamp (`2024_01_01_000000_`), exactly: `users_table` is
        // not `create_users_table`.
        if stem[18..] == *name {
            return Err(format!(
                "a migration named `{name}` already exists: {MIGRATIONS_DIR}/{file_name}"
            ));
        }
        stems.push(stem.to_owned());
    }
    let stem = format!(
        "{}_{name}",
        next_timestamp(chrono::Utc::now().naive_utc(), &stems)
    );
    let contents = match kind {
        MigrationKind::Create(table) => templates::create_migration(&type_name, table, &stem),
        MigrationKind::Alter(table) => templates::alter_migration(&type_name, table, &stem),
        MigrationKind::Blank => templates::blank_migration(&type_name, &stem),
    };
    let mod_path = app.root.join(MIGRATIONS_MOD);
    let current = read(&mod_path)?;
    let registered = register_migration(&current, &stem, &type_name)?;
    let path = dir.join(format!("{stem}.rs"));
    changes.create(path.clone(), contents);
    changes.modify(mod_path, registered);
    Ok(path)
}

const TIMESTAMP_FORMAT: &str = "%Y_%m_%d_%H%M%S";

/// The timestamp of a new migration: `now` (to the second), or one second after the
/// newest of the `existing` stems when that is not earlier (a migration made in the
/// same second, or a teammate's clock ahead of ours), so that creation order is run
/// order.
fn next_timestamp(now: chrono::NaiveDateTime, existing: &[String]) -> String {
    use chrono::Timelike;
    let now = now.with_nanosecond(0).unwrap_or(now);
    let newest = existing
        .iter()
        .filter_map(|stem| {
            chrono::NaiveDateTime::parse_from_str(stem.get(..17)?, TIMESTAMP_FORMAT).ok()
        })
        .max();
    let stamp = match newest {
        Some(newest) if newest >= now => newest + chrono::Duration::seconds(1),
        _ => now,
    };
    stamp.format(TIMESTAMP_FORMAT).to_string()
}

/// `2024_01_31_120000_name`.
fn is_stem(stem: &str) -> bool {
    let bytes = stem.as_bytes();
    bytes.len() > 18
        && bytes[..17].iter().enumerate().all(|(i, b)| {
            if matches!(i, 4 | 7 | 10) {
                *b == b'_'
            } else {
                b.is_ascii_digit()
            }
        })
        && bytes[17] == b'_'
}

/// Why each file in `databases/migrations/` that `mod.rs` leaves out of the runner is
/// left out, one line each, in file name order: a `.rs` file that `mod.rs` does not
/// declare (it is not compiled, so it never runs), or a migration module it declares
/// but does not name in `pub fn all()` (compiled, never run). `mod.rs` is read as text
/// with its comments removed: a declaration commented out does not count. Files whose
/// name starts with a dot (editors' and craft's temporary files) are skipped.
pub fn unlisted_migrations(app: &App) -> Result<Vec<String>, String> {
    let dir = app.root.join(MIGRATIONS_DIR);
    let mod_rs = strip_comments(&read(&app.root.join(MIGRATIONS_MOD))?);
    let (declared, modules) = declared_modules(&mod_rs);
    let listed: Option<Vec<&str>> = function_body(&mod_rs, "all").map(|body| {
        body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect()
    });
    let mut files: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| io_error("read", &dir, &e))?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs") && name != "mod.rs" && !name.starts_with('.'))
        .collect();
    files.sort();
    let mut unlisted = Vec::new();
    for file in files {
        let Some(module) = declared
            .iter()
            .position(|f| *f == file)
            .map(|i| &modules[i])
        else {
            unlisted.push(format!(
                "{MIGRATIONS_DIR}/{file} is not listed in {MIGRATIONS_MOD}, so it is not \
                 compiled and never runs: declare it there and add it to `all()` (as `craft \
                 migration` does), or move it out of {MIGRATIONS_DIR}/"
            ));
            continue;
        };
        let stem = file.trim_end_matches(".rs");
        let named = listed
            .as_ref()
            .is_none_or(|words| words.contains(&module.as_str()));
        if is_stem(stem) && !named {
            unlisted.push(format!(
                "{MIGRATIONS_DIR}/{file} is declared in {MIGRATIONS_MOD} (`mod {module}`) but \
                 not listed in its `all()`, so it never runs: add it to the list"
            ));
        }
    }
    Ok(unlisted)
}

/// The files `mod.rs` (comments removed) declares as modules, and each one's module:
/// `#[path = "FILE"] mod NAME;`, or `mod NAME;` for `NAME.rs` (with `pub` or other
/// attributes in between or not).
fn declared_modules(source: &str) -> (Vec<String>, Vec<String>) {
    let tokens = rust_tokens(source);
    let mut files = Vec::new();
    let mut modules = Vec::new();
    let mut path: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "#" if tokens.get(i + 1).map(String::as_str) == Some("[")
                && tokens.get(i + 2).map(String::as_str) == Some("path")
                && tokens.get(i + 3).map(String::as_str) == Some("=") =>
            {
                if let Some(literal) = tokens.get(i + 4).and_then(|t| string_literal(t)) {
                    let literal = literal.strip_prefix("./").unwrap_or(&literal).to_owned();
                    path = Some(literal);
                }
                i += 4;
            }
            "mod" => {
                let name = tokens.get(i + 1);
                if let (Some(name), Some(";")) = (name, tokens.get(i + 2).map(String::as_str)) {
                    let name = name.strip_prefix("r#").unwrap_or(name).to_owned();
                    files.push(path.take().unwrap_or_else(|| format!("{name}.rs")));
                    modules.push(name);
                } else {
                    path = None;
                }
                i += 1;
            }
            ";" | "{" | "}" => {
                path = None;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (files, modules)
}

/// The text between the braces of `fn NAME` in `source`, if it has one.
fn function_body<'s>(source: &'s str, name: &str) -> Option<&'s str> {
    let mut from = 0;
    while let Some(at) = source[from..].find("fn ") {
        let start = from + at;
        from = start + 3;
        let before_ok = source[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let rest = source[from..].trim_start();
        let after = rest
            .strip_prefix(name)
            .filter(|after| !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
        if let (true, Some(after)) = (before_ok, after) {
            let open = source.len() - after.len() + after.find('{')?;
            let close = closing_bracket(source, open + 1)?;
            return Some(&source[open + 1..close]);
        }
    }
    None
}

/// `source` without its `//` and (nested) `/* */` comments; string and character
/// literals are kept whole, so a `//` inside one is not a comment.
fn strip_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        Some('*') if chars.peek() == Some(&'/') => {
                            chars.next();
                            depth -= 1;
                        }
                        Some('/') if chars.peek() == Some(&'*') => {
                            chars.next();
                            depth += 1;
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                out.push(' ');
            }
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    out.push(c);
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                out.push(escaped);
                            }
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Identifiers (with `r#`), string literals (with their quotes) and single punctuation
/// characters; whitespace separates.
fn rust_tokens(source: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' {
            let mut literal = String::from('"');
            while let Some(c) = chars.next() {
                literal.push(c);
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            literal.push(escaped);
                        }
                    }
                    '"' => break,
                    _ => {}
                }
            }
            tokens.push(literal);
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::from(c);
            while let Some(&next) = chars.peek() {
                if next.is_alphanumeric() || next == '_' || (next == '#' && word == "r") {
                    word.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// The text of a plain string literal token (`"x.rs"` → `x.rs`); `None` for one with
/// escapes, which no file name of craft's needs.
fn string_literal(token: &str) -> Option<String> {
    let inner = token.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then(|| inner.to_owned())
}

/// `app/mod.rs` with `pub mod MODULE;` and `pub use MODULE::TYPE;` added to the last
/// run of lines of their kind, in sorted position as rustfmt keeps them (or at the end).
pub fn register_model(current: &str, module: &str, type_name: &str) -> String {
    let mut lines: Vec<String> = current.lines().map(str::to_owned).collect();
    insert_in_run(&mut lines, "pub mod ", format!("pub mod {module};"));
    insert_in_run(
        &mut lines,
        "pub use ",
        format!("pub use {module}::{type_name};"),
    );
    // The `schema:check` list (`pub fn all()`), when the app has one.
    const CHECK: &str = "        orm_migrate::cli::model::<";
    if lines.iter().any(|l| l.starts_with(CHECK)) {
        insert_in_run(&mut lines, CHECK, format!("{CHECK}{type_name}>(),"));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    // A list written another way (`vec![orm_migrate::cli::model::<User>()]` on one
    // line, as the docs give it for older apps): appended to, one entry per line.
    if !out.contains(&format!("{CHECK}{type_name}>(),")) && out.contains("cli::model::<") {
        let entry = format!("orm_migrate::cli::model::<{type_name}>()");
        if let Some(listed) = append_to_list(&out, "pub fn all()", "vec![", &entry) {
            out = listed;
        }
    }
    out
}

/// Inserts `line` into the last run of lines starting with `prefix`, in sorted position
/// as rustfmt keeps them (or after a blank line at the end when there is none).
fn insert_in_run(lines: &mut Vec<String>, prefix: &str, line: String) {
    match lines.iter().rposition(|l| l.starts_with(prefix)) {
        Some(last) => {
            let mut first = last;
            while first > 0 && lines[first - 1].starts_with(prefix) {
                first -= 1;
            }
            let at = (first..=last)
                .find(|&i| lines[i] > line)
                .unwrap_or(last + 1);
            lines.insert(at, line);
        }
        None => {
            if lines.last().is_some_and(|l| !l.is_empty()) {
                lines.push(String::new());
            }
            lines.push(line);
        }
    }
}

/// Checks that the app has seeders before a command that runs them.
pub fn check_seeders(app: &App) -> Result<(), String> {
    if app.root.join(SEEDS_MOD).is_file() {
        Ok(())
    } else {
        Err(format!(
            "this app has no seeders ({SEEDS_MOD} is missing; it predates craft's seeders)"
        ))
    }
}

/// `craft seed NAME`: the written seeder file, declared and listed in
/// `databases/seeds/mod.rs` and called last by `DatabaseSeeder`.
pub fn new_seeder(app: &App, name: &str) -> Result<PathBuf, String> {
    let (module, type_name, table) = names::seeder_names(name)?;
    let mod_path = app.root.join(SEEDS_MOD);
    let database_seeder = app.root.join(DATABASE_SEEDER);
    if !mod_path.is_file() || !database_seeder.is_file() {
        return Err(format!(
            "this app has no {SEEDS_MOD} and {DATABASE_SEEDER} (it predates craft's \
             seeders): add them as `craft new` writes them, then retry"
        ));
    }
    let relative = format!("{SEEDS_DIR}/{module}.rs");
    let path = app.root.join(&relative);
    if path.exists() {
        return Err(format!(
            "seeder file {relative} already exists; not overwriting it"
        ));
    }
    let current = read(&mod_path)?;
    if current
        .lines()
        .any(|l| l.trim() == format!("mod {module};"))
    {
        return Err(format!("{SEEDS_MOD} already declares `mod {module};`"));
    }
    let unregistrable =
        |file: &str, what: &str| format!("cannot register the seeder: {file} has no {what}");
    let mut lines: Vec<String> = current.lines().map(str::to_owned).collect();
    insert_in_run(&mut lines, "mod ", format!("mod {module};"));
    insert_in_run(
        &mut lines,
        "pub use ",
        format!("pub use {module}::{type_name};"),
    );
    let mut declared = lines.join("\n");
    declared.push('\n');
    let listed = append_to_list(
        &declared,
        "pub fn all()",
        "vec![",
        &format!("Box::new({type_name})"),
    )
    .ok_or_else(|| unregistrable(SEEDS_MOD, "`pub fn all()` returning `vec![...]`"))?;
    let calls = append_to_list(
        &read(&database_seeder)?,
        "self.call(",
        "&[",
        &format!("&{type_name}"),
    )
    .ok_or_else(|| unregistrable(DATABASE_SEEDER, "`self.call(&[...])`"))?;

    let mut changes = Changes::default();
    changes.create(path.clone(), templates::seeder(&type_name, &table));
    changes.modify(mod_path, listed);
    changes.modify(database_seeder, calls);
    changes.apply()?;
    Ok(path)
}

/// `current` with `entry` appended to the list opened by `opener` after the first
/// `anchor`, re-rendered one entry per line; `None` when there is no such list.
pub fn append_to_list(current: &str, anchor: &str, opener: &str, entry: &str) -> Option<String> {
    let open = current.find(anchor)?;
    let open = open + current[open..].find(opener)?;
    let body_start = open + opener.len();
    let close = closing_bracket(current, body_start);
    let close = close?;
    let mut entries = split_top_level(&current[body_start..close]);
    // After the last entry with code: comments closing the list stay last.
    let at = entries
        .iter()
        .rposition(|e| !e.code.is_empty())
        .map_or(0, |i| i + 1);
    entries.insert(at, ListEntry::code(entry.split_whitespace().collect()));
    let line_start = current[..open].rfind('\n').map_or(0, |i| i + 1);
    let line = &current[line_start..open];
    let indent = line.len() - line.trim_start().len();
    let mut list = format!("{opener}\n");
    render_entries(&mut list, &entries, indent + 4);
    list.push_str(&" ".repeat(indent));
    Some(format!("{}{list}{}", &current[..open], &current[close..]))
}

/// The position of the bracket closing the list whose body starts at `body_start`
/// (brackets inside it balanced), if any.
fn closing_bracket(text: &str, body_start: usize) -> Option<usize> {
    let mut depth = 1usize;
    for (offset, c) in text[body_start..].char_indices() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(body_start + offset);
                }
            }
            _ => {}
        }
    }
    None
}

/// `databases/migrations/mod.rs` with the migration `STEM` (type `TYPE`) declared and
/// listed, both in name order.
pub fn register_migration(current: &str, stem: &str, type_name: &str) -> Result<String, String> {
    let module = format!("m{stem}");
    let unregistrable = || {
        format!(
            "cannot register the migration: {MIGRATIONS_MOD} has no `pub fn all()` returning \
             `vec![...]`"
        )
    };
    // The list: re-rendered, sorted, one entry per line.
    let function = current.find("pub fn all()").ok_or_else(unregistrable)?;
    let open = function
        + current[function..]
            .find("vec![")
            .ok_or_else(unregistrable)?;
    let body_start = open + "vec![".len();
    let close = closing_bracket(current, body_start);
    let close = close.ok_or_else(unregistrable)?;
    let mut entries = split_top_level(&current[body_start..close]);
    entries.push(ListEntry::code(format!("Box::new({module}::{type_name})")));
    // In name order, each entry with its comments; comments closing the list last.
    entries.sort_by(|a, b| (a.code.is_empty(), &a.code).cmp(&(b.code.is_empty(), &b.code)));
    let indent = current[..open]
        .rsplit('\n')
        .next()
        .map(|line| line.len() - line.trim_start().len())
        .unwrap_or(4);
    let mut list = String::from("vec![\n");
    render_entries(&mut list, &entries, indent + 4);
    list.push_str(&format!("{}]", " ".repeat(indent)));
    let head = &current[..open];
    let tail = &current[close + 1..];

    // The declaration: before the first later one, else after the last one, else
    // before the function's doc comment.
    let declaration = format!("#[path = \"{stem}.rs\"]\nmod {module};\n");
    let mut lines: Vec<&str> = head.split_inclusive('\n').collect();
    let declared: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            line.trim()
                .strip_prefix("#[path = \"")
                .and_then(|rest| rest.strip_suffix(".rs\"]"))
                .map(|stem| (i, stem))
        })
        .collect();
    let at = match declared.iter().find(|(_, existing)| *existing > stem) {
        Some((i, _)) => *i,
        None => match declared.last() {
            Some((i, _)) => (*i + 2).min(lines.len()),
            None => {
                let mut at = lines
                    .iter()
                    .position(|l| l.starts_with("pub fn all()"))
                    .ok_or_else(unregistrable)?;
                while at > 0 && lines[at - 1].starts_with("///") {
                    at -= 1;
                }
                at
            }
        },
    };
    let separated;
    let block: &str = if declared.is_empty() {
        separated = format!("{declaration}\n");
        &separated
    } else {
        &declaration
    };
    lines.insert(at, block);
    Ok(format!("{}{list}{tail}", lines.concat()))
}

/// One entry of a list craft edits: its code on one line, with the comments on the
/// lines above it and the one after it on its own line, which move with it.
#[derive(Debug, Default, Clone, PartialEq)]
struct ListEntry {
    comments: Vec<String>,
    code: String,
    trailing: Option<String>,
}

impl ListEntry {
    fn code(code: String) -> ListEntry {
        ListEntry {
            code,
            ..ListEntry::default()
        }
    }
}

/// The entries of a list's body, split at its top-level commas. Comments are kept: a
/// comment on the line of an entry's comma belongs to that entry, any other to the entry
/// after it (or, at the end, to none).
fn split_top_level(list: &str) -> Vec<ListEntry> {
    let mut entries: Vec<ListEntry> = Vec::new();
    let mut depth = 0i32;
    let mut current = ListEntry::default();
    // Whether a line ended since the last top-level comma.
    let mut new_line = true;
    let mut rest = list;
    while let Some(c) = rest.chars().next() {
        let comment_end = if rest.starts_with("//") {
            Some(rest.find('\n').unwrap_or(rest.len()))
        } else if rest.starts_with("/*") {
            Some(rest.find("*/").map_or(rest.len(), |end| end + 2))
        } else {
            None
        };
        if let Some(end) = comment_end {
            let comment = rest[..end].trim_end().to_owned();
            match entries.last_mut() {
                Some(previous)
                    if !new_line
                        && previous.trailing.is_none()
                        && current.code.trim().is_empty() =>
                {
                    previous.trailing = Some(comment);
                }
                _ => current.comments.push(comment),
            }
            rest = &rest[end..];
            continue;
        }
        if c == '"' {
            // A string literal, copied whole: no comment or comma inside it counts.
            let end = string_literal_len(rest);
            current.code.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            entries.push(std::mem::take(&mut current));
            new_line = false;
        } else {
            new_line |= c == '\n';
            current.code.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    entries.push(current);
    entries
        .into_iter()
        .map(|mut e| {
            // One line per entry whatever the layout (e.g. after rustfmt broke one up).
            e.code = squash_whitespace(&e.code).replace(",)", ")");
            e
        })
        .filter(|e| !e.code.is_empty() || !e.comments.is_empty() || e.trailing.is_some())
        .collect()
}

/// `code` without its whitespace, except inside string literals.
fn squash_whitespace(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        let len = if c == '"' {
            string_literal_len(rest)
        } else {
            c.len_utf8()
        };
        if !c.is_whitespace() {
            out.push_str(&rest[..len]);
        }
        rest = &rest[len..];
    }
    out
}

/// The length of the string literal `rest` starts with (its quotes included; the rest
/// of `rest` when it is not closed).
fn string_literal_len(rest: &str) -> usize {
    let mut escaped = false;
    for (i, c) in rest.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    rest.len()
}

/// Writes `entries` one per line at `indent`, each after its comments.
fn render_entries(out: &mut String, entries: &[ListEntry], indent: usize) {
    let pad = " ".repeat(indent);
    for entry in entries {
        for comment in &entry.comments {
            out.push_str(&format!("{pad}{comment}\n"));
        }
        if !entry.code.is_empty() {
            out.push_str(&format!("{pad}{},", entry.code));
            if let Some(trailing) = &entry.trailing {
                out.push_str(&format!(" {trailing}"));
            }
            out.push('\n');
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| io_error("read", path, &e))
}

fn io_error(action: &str, path: &Path, error: &std::io::Error) -> String {
    format!("cannot {action} {}: {error}", path.display())
}

/// Files to create and files to rewrite, applied together: each written to a temporary
/// file in its directory and renamed into place; on a failure, the ones done so far
/// are undone.
#[derive(Debug, Default)]
struct Changes {
    creates: Vec<(PathBuf, String)>,
    modifies: Vec<(PathBuf, String)>,
}

impl Changes {
    fn create(&mut self, path: PathBuf, contents: String) {
        self.creates.push((path, contents));
    }

    fn modify(&mut self, path: PathBuf, contents: String) {
        // A later change to the same file replaces the earlier one (it was computed
        // from the file as it is now, so plan changes to one file once).
        self.modifies.retain(|(p, _)| *p != path);
        self.modifies.push((path, contents));
    }

    fn apply(self) -> Result<(), String> {
        let mut created: Vec<&Path> = Vec::new();
        let mut modified: Vec<(&Path, String)> = Vec::new();
        let result = (|| {
            for (path, contents) in &self.creates {
                create_new(path, contents)?;
                created.push(path);
            }
            for (path, contents) in &self.modifies {
                let before = read(path)?;
                replace(path, contents)?;
                modified.push((path, before));
            }
            Ok(())
        })();
        if result.is_err() {
            for path in created {
                let _ = fs::remove_file(path);
            }
            for (path, before) in modified {
                let _ = replace(path, &before);
            }
        }
        result
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.craft-{}.tmp", std::process::id()))
}

fn write_temporary(path: &Path, contents: &str) -> Result<PathBuf, String> {
    let temporary = temporary_path(path);
    let written = fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(io_error("write", &temporary, &e));
    }
    Ok(temporary)
}

/// Creates `path` with `contents`, refusing to replace an existing file.
fn create_new(path: &Path, contents: &str) -> Result<(), String> {
    let temporary = write_temporary(path, contents)?;
    // A hard link fails when `path` exists: no window where it could be overwritten.
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    linked.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} already exists; not overwriting it", path.display())
        } else {
            io_error("create", path, &e)
        }
    })
}

/// Replaces `path`'s contents atomically.
fn replace(path: &Path, contents: &str) -> Result<(), String> {
    let temporary = write_temporary(path, contents)?;
    fs::rename(&temporary, path).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        io_error("write", path, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_migration_sorts_after_every_existing_one() {
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, TIMESTAMP_FORMAT).unwrap();
        let stems = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let now = at("2024_05_01_120000") + chrono::Duration::milliseconds(700);
        assert_eq!(next_timestamp(now, &[]), "2024_05_01_120000");
        let older = stems(&["2014_10_12_000000_create_users_table"]);
        assert_eq!(next_timestamp(now, &older), "2024_05_01_120000");
        // Same second (`craft model Post -m` then `craft migration ...`): one later.
        let same = stems(&[
            "2014_10_12_000000_create_users_table",
            "2024_05_01_120000_create_posts_table",
        ]);
        assert_eq!(next_timestamp(now, &same), "2024_05_01_120001");
        // A clock behind the newest migration: still after it.
        let ahead = stems(&["2030_12_31_235959_from_the_future", "2024_05_01_120000_x"]);
        assert_eq!(next_timestamp(now, &ahead), "2031_01_01_000000");
    }

    #[test]
    fn migrations_register_in_name_order() {
        let one = register_migration(
            templates::MIGRATIONS_MOD,
            "2024_05_01_000000_create_posts_table",
            "CreatePostsTable",
        )
        .unwrap();
        let two = register_migration(
            &one,
            "2020_01_01_000000_create_tags_table",
            "CreateTagsTable",
        )
        .unwrap();
        let declarations: Vec<&str> = two.lines().filter(|l| l.starts_with("mod ")).collect();
        assert_eq!(
            declarations,
            [
                "mod m2014_10_12_000000_create_users_table;",
                "mod m2020_01_01_000000_create_tags_table;",
                "mod m2024_05_01_000000_create_posts_table;"
            ]
        );
        let entries: Vec<&str> = two
            .lines()
            .filter(|l| l.trim_start().starts_with("Box::new"))
            .collect();
        assert_eq!(
            entries,
            [
                "        Box::new(m2014_10_12_000000_create_users_table::CreateUsersTable),",
                "        Box::new(m2020_01_01_000000_create_tags_table::CreateTagsTable),",
                "        Box::new(m2024_05_01_000000_create_posts_table::CreatePostsTable),"
            ]
        );
    }

    #[test]
    fn registers_into_a_collapsed_or_empty_list() {
        let collapsed = "use orm_migrate::Migration;\n\n/// All.\npub fn all() -> Vec<Box<dyn Migration>> {\n    vec![]\n}\n";
        let out = register_migration(
            collapsed,
            "2024_05_01_000000_create_posts_table",
            "CreatePostsTable",
        )
        .unwrap();
        assert_eq!(
            out,
            "use orm_migrate::Migration;\n\n#[path = \"2024_05_01_000000_create_posts_table.rs\"]\nmod m2024_05_01_000000_create_posts_table;\n\n/// All.\npub fn all() -> Vec<Box<dyn Migration>> {\n    vec![\n        Box::new(m2024_05_01_000000_create_posts_table::CreatePostsTable),\n    ]\n}\n"
        );
        let rustfmt_broken = "#[path = \"2014_10_12_000000_create_users_table.rs\"]\nmod m2014_10_12_000000_create_users_table;\n\npub fn all() -> Vec<Box<dyn Migration>> {\n    vec![Box::new(\n        m2014_10_12_000000_create_users_table::CreateUsersTable,\n    )]\n}\n";
        let out = register_migration(
            rustfmt_broken,
            "2024_05_01_000000_create_posts_table",
            "CreatePostsTable",
        )
        .unwrap();
        assert!(
            out.ends_with("    vec![\n        Box::new(m2014_10_12_000000_create_users_table::CreateUsersTable),\n        Box::new(m2024_05_01_000000_create_posts_table::CreatePostsTable),\n    ]\n}\n"),
            "{out}"
        );
        assert!(register_migration("fn main() {}", "2024_05_01_000000_x", "X").is_err());
    }

    #[test]
    fn comments_in_a_list_stay_with_their_entries() {
        // A comment above an entry moves with it when the list is sorted; one after an
        // entry's comma stays on its line; one closing the list stays last. None of
        // them swallows an entry (they did: the comment and the next entry became one).
        let current = "pub fn all() -> Vec<Box<dyn Migration>> {\n    vec![\n        Box::new(m1_create_a_table::CreateATable),\n        // B must run after A\n        Box::new(m3_create_b_table::CreateBTable), // slow\n        /* more later */\n    ]\n}\n";
        let out = register_migration(current, "2_create_c_table", "CreateCTable").unwrap();
        assert!(
            out.contains("    vec![\n        Box::new(m1_create_a_table::CreateATable),\n        Box::new(m2_create_c_table::CreateCTable),\n        // B must run after A\n        Box::new(m3_create_b_table::CreateBTable), // slow\n        /* more later */\n    ]"),
            "{out}"
        );
        let calls = "        self.call(&[\n            &UsersTableSeeder,\n            // posts need users\n            &PostsTableSeeder,\n            &Named(\"a, // b\"),\n        ])\n";
        let out = append_to_list(calls, "self.call(", "&[", "&TagsTableSeeder").unwrap();
        assert_eq!(
            out,
            "        self.call(&[\n            &UsersTableSeeder,\n            // posts need users\n            &PostsTableSeeder,\n            &Named(\"a, // b\"),\n            &TagsTableSeeder,\n        ])\n"
        );
    }

    #[test]
    fn a_model_list_on_one_line_is_appended_to() {
        let current = "pub mod user;\npub use user::User;\n\npub fn all() -> Vec<orm_migrate::cli::ModelCheck> {\n    vec![orm_migrate::cli::model::<User>()]\n}\n";
        let out = register_model(current, "post", "Post");
        assert!(
            out.contains("    vec![\n        orm_migrate::cli::model::<User>(),\n        orm_migrate::cli::model::<Post>(),\n    ]"),
            "{out}"
        );
    }

    #[test]
    fn models_register_in_sorted_position() {
        let out = register_model(templates::APP_MOD, "post", "Post");
        assert!(out.contains("pub mod post;\npub mod user;\n"), "{out}");
        assert!(
            out.contains("pub use post::Post;\npub use user::User;\n"),
            "{out}"
        );
        assert!(
            out.contains("model::<Post>(),\n        orm_migrate::cli::model::<User>(),\n    ]"),
            "{out}"
        );
        let out = register_model(&out, "zebra", "Zebra");
        assert!(
            out.contains("model::<User>(),\n        orm_migrate::cli::model::<Zebra>(),\n    ]"),
            "{out}"
        );
        assert!(out.contains("pub mod user;\npub mod zebra;\n"), "{out}");
        assert!(
            out.contains("pub use user::User;\npub use zebra::Zebra;\n"),
            "{out}"
        );
    }

    #[test]
    fn seeders_register_in_the_module_and_the_call_list() {
        let calls = append_to_list(
            templates::DATABASE_SEEDER,
            "self.call(",
            "&[",
            "&UsersTableSeeder",
        )
        .unwrap();
        assert!(
            calls.contains("        self.call(&[\n            &UsersTableSeeder,\n        ])\n"),
            "{calls}"
        );
        // Appended, not sorted: the call order is the seeding order.
        let calls = append_to_list(&calls, "self.call(", "&[", "&ArticlesTableSeeder").unwrap();
        assert!(
            calls.contains(
                "            &UsersTableSeeder,\n            &ArticlesTableSeeder,\n        ])"
            ),
            "{calls}"
        );
        // What rustfmt makes of an empty list.
        let collapsed = "impl Seeder for DatabaseSeeder {\n    fn run(&self) -> Result<()> {\n        self.call(&[])\n    }\n}\n";
        assert_eq!(
            append_to_list(collapsed, "self.call(", "&[", "&UsersTableSeeder").unwrap(),
            "impl Seeder for DatabaseSeeder {\n    fn run(&self) -> Result<()> {\n        self.call(&[\n            &UsersTableSeeder,\n        ])\n    }\n}\n"
        );
        let listed = append_to_list(
            templates::SEEDS_MOD,
            "pub fn all()",
            "vec![",
            "Box::new(UsersTableSeeder)",
        )
        .unwrap();
        assert!(
            listed.contains("    vec![\n        Box::new(DatabaseSeeder),\n        Box::new(UsersTableSeeder),\n    ]\n"),
            "{listed}"
        );
        assert_eq!(
            append_to_list("fn main() {}", "self.call(", "&[", "&X"),
            None
        );
    }

    #[test]
    fn declared_modules_and_the_all_list_are_read_from_mod_rs() {
        let source = strip_comments(
            "use orm_migrate::Migration;\n\
             #[path = \"2014_10_12_000000_create_users_table.rs\"]\n\
             mod m2014_10_12_000000_create_users_table;\n\
             // #[path = \"2024_01_01_000000_commented.rs\"]\n\
             // mod m2024_01_01_000000_commented;\n\
             /* mod hidden; */\n\
             #[allow(dead_code)]\n\
             #[path = \"./2024_02_01_000000_declared_only.rs\"]\n\
             pub(crate) mod m2024_02_01_000000_declared_only;\n\
             mod helpers;\n\
             mod inline { pub fn x() {} }\n\
             pub fn all() -> Vec<Box<dyn Migration>> {\n\
                 vec![Box::new(m2014_10_12_000000_create_users_table::CreateUsersTable)]\n\
             }\n",
        );
        let (files, modules) = declared_modules(&source);
        assert_eq!(
            files,
            [
                "2014_10_12_000000_create_users_table.rs",
                "2024_02_01_000000_declared_only.rs",
                "helpers.rs"
            ]
        );
        assert_eq!(
            modules,
            [
                "m2014_10_12_000000_create_users_table",
                "m2024_02_01_000000_declared_only",
                "helpers"
            ]
        );
        let body = function_body(&source, "all").unwrap();
        assert!(
            body.contains("m2014_10_12_000000_create_users_table::"),
            "{body}"
        );
        assert!(!body.contains("declared_only"), "{body}");
        assert_eq!(function_body("fn alloc() {}", "all"), None);
        assert_eq!(
            strip_comments("let s = \"a // b\"; // c\n"),
            "let s = \"a // b\"; \n"
        );
    }

    #[test]
    fn migration_kinds() {
        let kind = |name, create: Option<&str>, table: Option<&str>| {
            MigrationKind::from_flags(name, create.map(Into::into), table.map(Into::into))
        };
        assert_eq!(
            kind("create_posts_table", None, None),
            Ok(MigrationKind::Create("posts".into()))
        );
        assert_eq!(
            kind("add_votes", None, Some("users")),
            Ok(MigrationKind::Alter("users".into()))
        );
        assert_eq!(kind("tidy_up", None, None), Ok(MigrationKind::Blank));
        assert!(kind("x", Some("a"), Some("b")).is_err());
        assert!(kind("x", Some("bad table"), None).is_err());
    }
}
