//! End-to-end tests of the real `craft` binary in temporary directories.
//!
//! The apps `craft new` generates are compiled into the workspace's own target
//! directory (or `CRAFT_APPS_TARGET_DIR`): they start from the workspace's `Cargo.lock`
//! and profile, so most of the ORM's compiled dependencies are reused, and after the
//! first run only the app's own crate is compiled. The full flow (which compiles) is
//! one test function, so the app is built once per run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use orm_core::Connection;
use orm_migrate::Schema;

const CRAFT: &str = env!("CARGO_BIN_EXE_craft");

/// Where generated apps are compiled: the workspace's target directory (cargo has
/// released its lock on it by the time tests run), unless `CRAFT_APPS_TARGET_DIR` says
/// otherwise.
fn apps_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CRAFT_APPS_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = Path::new(CRAFT);
    // <target>/<profile>/craft
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("craft lives in <target>/<profile>/");
    target.to_path_buf()
}

fn craft(dir: &Path, args: &[&str]) -> Output {
    Command::new(CRAFT)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove(orm_core::testing::POSTGRES_URL_VAR)
        .env_remove("CRAFT_ORM_PATH")
        .env("CARGO_TARGET_DIR", apps_target_dir())
        .output()
        .expect("craft runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs craft and expects success; returns stdout.
#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> String {
    let output = craft(dir, args);
    assert!(
        output.status.success(),
        "craft {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    let out = stdout(&output);
    assert!(!out.contains('\x1b'), "plain output when piped: {out:?}");
    out
}

/// Runs craft and expects a failure with exactly one `error: ...` line on stderr (after
/// any build notice or compiler output); returns that line.
#[track_caller]
fn fails(dir: &Path, args: &[&str]) -> String {
    let output = craft(dir, args);
    assert!(
        !output.status.success(),
        "craft {args:?} should fail\nstdout:\n{}",
        stdout(&output)
    );
    let err = stderr(&output);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    let last = err.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with("error: ") && !errors.is_empty(),
        "one error line expected, got:\n{err}"
    );
    assert!(!err.contains('\x1b'), "plain errors when piped: {err:?}");
    last
}

/// Every file under `dir` with its contents (to prove nothing changed).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("readable dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let contents = std::fs::read(&path).expect("readable file");
                files.push((path, contents));
            }
        }
    }
    files.sort();
    files
}

fn new_app(parent: &Path, name: &str) -> PathBuf {
    let out = ok(parent, &["new", name]);
    assert!(out.contains("Created"), "{out}");
    parent.join(name)
}

fn migration_files(app: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.join("databases/migrations"))
        .expect("migrations dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "mod.rs")
        .collect();
    names.sort();
    names
}

fn has_table(conn: &mut Connection, table: &str) -> bool {
    Schema::new(conn).has_table(table).expect("introspection")
}

#[test]
fn new_app_has_the_masonite_layout() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        ".env",
        ".gitignore",
        "src/lib.rs",
        "src/main.rs",
        "src/bin/craft-migrate.rs",
        "app/mod.rs",
        "app/user.rs",
        "databases/mod.rs",
        "databases/migrations/mod.rs",
        "databases/migrations/2014_10_12_000000_create_users_table.rs",
        "databases/seeds/mod.rs",
        "databases/seeds/database_seeder.rs",
    ] {
        assert!(app.join(file).is_file(), "{file} missing");
    }
    let env = std::fs::read_to_string(app.join(".env")).unwrap();
    assert_eq!(env.trim(), "DATABASE_URL=sqlite://database.sqlite3");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let orm_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let orm_root = std::fs::canonicalize(orm_root).unwrap();
    assert!(
        manifest.contains(&format!("path = \"{}/orm-core\"", orm_root.display())),
        "{manifest}"
    );
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(leftovers.len(), 1);

    // Refused the second time; nothing changes.
    let before = snapshot(dir.path());
    let err = fails(dir.path(), &["new", "blog"]);
    assert!(err.contains("already exists"), "{err}");
    // Names the generated app could not build under: keywords, its own modules and
    // binary, the ORM's crates.
    for bad in [
        "Blog",
        "1blog",
        "my blog",
        "fn",
        "",
        "app",
        "craft-migrate",
        "orm-core",
    ] {
        let err = fails(dir.path(), &["new", bad]);
        assert!(err.contains("app name"), "{bad}: {err}");
    }
    // A bad --database URL is refused before anything is written.
    for bad in [
        "oracle://x/y",
        "postgres://u:p@host:notaport/db",
        "mysql://u:p@/db",
    ] {
        let err = fails(dir.path(), &["new", "shop", "--database", bad]);
        assert!(err.contains("invalid --database URL"), "{bad}: {err}");
        assert_eq!(snapshot(dir.path()), before, "{bad}");
    }

    // --database goes to .env (checked, not connected to).
    let url = "mysql://app:secret@127.0.0.1:3306/shop";
    ok(dir.path(), &["new", "shop", "--database", url]);
    let env = std::fs::read_to_string(dir.path().join("shop/.env")).unwrap();
    assert_eq!(env.trim(), format!("DATABASE_URL={url}"));
    // A `$` (a password's), a space or a quote reads back as given, not as a variable or
    // the end of the value (probe 47f: `my$db.sqlite3` was read as `my.sqlite3`).
    for (i, url) in [
        "postgres://app:pa$word@127.0.0.1:5432/shop",
        "sqlite://data base.sqlite3",
        "sqlite://q'uote.sqlite3",
        "mysql://app:a#b\\c\"d@127.0.0.1:3306/shop",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("quoted{i}");
        ok(dir.path(), &["new", &name, "--database", url]);
        let path = dir.path().join(&name).join(".env");
        let read: Vec<(String, String)> = dotenvy::from_path_iter(&path)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, [("DATABASE_URL".to_owned(), url.to_owned())], "{url}");
    }
}

#[test]
fn models_and_migrations_are_scaffolded_and_registered() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "shop");
    // A model named like a type the generated code uses is refused, nothing written.
    let before = snapshot(&app);
    for bad in ["Option", "vec", "date_time", "ModelState"] {
        let err = fails(&app, &["model", bad]);
        assert!(err.contains("model name"), "{bad}: {err}");
    }
    assert_eq!(snapshot(&app), before);
    // Laravel's names are aliases: `make:model`, `make:migration`, `make:seeder`.
    let help = ok(&app, &["--help"]);
    for alias in ["make:model", "make:migration", "make:seeder", "db:seed"] {
        assert!(help.contains(alias), "{alias}: {help}");
    }
    let out = ok(&app, &["make:model", "Gadget"]);
    assert!(out.contains("app/gadget.rs"), "{out}");
    let out = ok(&app, &["model", "blog-post", "-m"]);
    assert!(out.contains("app/blog_post.rs"), "{out}");
    let model = std::fs::read_to_string(app.join("app/blog_post.rs")).unwrap();
    for expected in [
        "use orm_core::prelude::*;",
        "#[derive(Debug, Clone, Default, Model)]",
        "#[model(table = \"blog_posts\", timestamps)]",
        "pub struct BlogPost {",
        "pub id: Option<i64>,",
        "// pub title: String,",
        "pub created_at: Option<DateTime<Utc>>,",
        "pub state: ModelState,",
    ] {
        assert!(model.contains(expected), "{expected} not in:\n{model}");
    }
    let app_mod = std::fs::read_to_string(app.join("app/mod.rs")).unwrap();
    assert!(app_mod.contains("pub mod blog_post;"), "{app_mod}");
    assert!(
        app_mod.contains("pub use blog_post::BlogPost;"),
        "{app_mod}"
    );
    let files = migration_files(&app);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[1].ends_with("_create_blog_posts_table.rs"),
        "{files:?}"
    );
    let migration =
        std::fs::read_to_string(app.join("databases/migrations").join(&files[1])).unwrap();
    assert!(
        migration.contains("schema.create(\"blog_posts\""),
        "{migration}"
    );
    assert!(
        migration.contains("table.increments(\"id\");"),
        "{migration}"
    );
    assert!(migration.contains("table.timestamps();"), "{migration}");

    // An existing model file is refused, and nothing else is written (no migration).
    let before = snapshot(&app);
    let err = fails(&app, &["model", "BlogPost", "-m"]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(snapshot(&app), before);
    // A migration of the migrator's own ledger table could never run: refused, nothing
    // written (the model file neither).
    for args in [
        &["model", "Migration", "-m"][..],
        &["migration", "make_ledger", "--create", "migrations"][..],
        &["migration", "create_migrations_table"][..],
    ] {
        let err = fails(&app, args);
        assert!(err.contains("ledger"), "{args:?}: {err}");
        assert_eq!(snapshot(&app), before, "{args:?}");
    }

    // Migrations: --table, --create, inferred and blank; listed in name order.
    ok(
        &app,
        &["migration", "add_votes_to_users", "--table", "users"],
    );
    ok(&app, &["migration", "create_tags_table"]);
    ok(&app, &["migration", "make_things", "--create", "things"]);
    ok(&app, &["migration", "tidy_up"]);
    let files = migration_files(&app);
    assert_eq!(files.len(), 6, "{files:?}");
    let read = |suffix: &str| {
        let file = files.iter().find(|f| f.ends_with(suffix)).expect(suffix);
        std::fs::read_to_string(app.join("databases/migrations").join(file)).unwrap()
    };
    assert!(read("_add_votes_to_users.rs").contains("schema.table(\"users\""));
    assert!(read("_add_votes_to_users.rs").contains("pub struct AddVotesToUsers;"));
    assert!(read("_create_tags_table.rs").contains("schema.create(\"tags\""));
    assert!(read("_make_things.rs").contains("schema.drop_if_exists(\"things\")"));
    assert!(read("_tidy_up.rs").contains("fn up(&self, _schema: &mut Schema)"));
    for file in &files {
        assert_named_by_stem(&app, file);
    }
    let list = std::fs::read_to_string(app.join("databases/migrations/mod.rs")).unwrap();
    let declared: Vec<&str> = list.lines().filter(|l| l.starts_with("mod m")).collect();
    let listed: Vec<&str> = list
        .lines()
        .filter(|l| l.trim_start().starts_with("Box::new("))
        .collect();
    assert_eq!(declared.len(), 6, "{list}");
    assert_eq!(listed.len(), 6, "{list}");
    let mut sorted = declared.clone();
    sorted.sort();
    assert_eq!(declared, sorted, "declarations in name order");
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "list in name order");

    // Bad input: one line, non-zero, nothing written.
    let before = snapshot(&app);
    let err = fails(
        &app,
        &["migration", "add_x", "--create", "a", "--table", "b"],
    );
    assert!(err.contains("not both"), "{err}");
    for bad in ["CreatePosts", "1_posts", "fn", "", "create-posts", "add x"] {
        let err = fails(&app, &["migration", bad]);
        assert!(err.contains("migration name"), "{bad}: {err}");
    }
    let err = fails(&app, &["migration", "create_tags_table"]);
    assert!(err.contains("already exists"), "{err}");
    // Names whose type would shadow one the generated code uses (`impl Migration for
    // Migration`) are refused; a name that only ends another one is not taken.
    for taken in ["migration", "schema", "result", "error", "vec"] {
        let err = fails(&app, &["migration", taken]);
        assert!(
            err.contains("invalid migration name") && err.contains("generated code"),
            "{taken}: {err}"
        );
    }
    let err = fails(&app, &["migration", "add_x", "--table", "bad table"]);
    assert!(err.contains("table name"), "{err}");
    for bad in ["1Post", "blog post", "Self", ""] {
        let err = fails(&app, &["model", bad]);
        assert!(err.contains("model name"), "{bad}: {err}");
    }
    assert_eq!(snapshot(&app), before);
    ok(&app, &["migration", "tags_table"]);
    assert_eq!(
        migration_files(&app).len(),
        7,
        "`tags_table` is not `create_tags_table`"
    );

    // A migrations list craft cannot read: the migration file is not left behind.
    let mod_rs = app.join("databases/migrations/mod.rs");
    std::fs::write(&mod_rs, "// hand-written, no list\n").unwrap();
    let before = snapshot(&app);
    let err = fails(&app, &["migration", "add_y", "--table", "users"]);
    assert!(err.contains("cannot register"), "{err}");
    assert_eq!(snapshot(&app), before);
}

#[test]
fn seeders_are_scaffolded_and_registered() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "shop");
    let out = ok(&app, &["seed", "Users"]);
    assert!(
        out.contains("databases/seeds/users_table_seeder.rs"),
        "{out}"
    );
    ok(&app, &["seed", "blog-posts"]);
    let seeder =
        std::fs::read_to_string(app.join("databases/seeds/users_table_seeder.rs")).unwrap();
    for expected in [
        "use orm_migrate::prelude::*;",
        "pub struct UsersTableSeeder;",
        "impl Seeder for UsersTableSeeder {",
        "fn run(&self) -> Result<()> {",
    ] {
        assert!(seeder.contains(expected), "{expected} not in:\n{seeder}");
    }
    let module = std::fs::read_to_string(app.join("databases/seeds/mod.rs")).unwrap();
    for expected in [
        "mod blog_posts_table_seeder;\nmod database_seeder;\nmod users_table_seeder;\n",
        "pub use blog_posts_table_seeder::BlogPostsTableSeeder;\npub use database_seeder::DatabaseSeeder;\npub use users_table_seeder::UsersTableSeeder;\n",
        "        Box::new(DatabaseSeeder),\n        Box::new(UsersTableSeeder),\n        Box::new(BlogPostsTableSeeder),\n",
    ] {
        assert!(module.contains(expected), "{expected} not in:\n{module}");
    }
    let database = std::fs::read_to_string(app.join("databases/seeds/database_seeder.rs")).unwrap();
    assert!(
        database.contains("self.call(&[\n            &UsersTableSeeder,\n            &BlogPostsTableSeeder,\n        ])"),
        "called in the order made:\n{database}"
    );

    // Bad input: one line, non-zero, nothing written.
    let before = snapshot(&app);
    let err = fails(&app, &["seed", "users"]);
    assert!(err.contains("already exists"), "{err}");
    for bad in ["1users", "my users", "Seeder", ""] {
        let err = fails(&app, &["seed", bad]);
        assert!(err.contains("seeder name"), "{bad}: {err}");
    }
    assert_eq!(snapshot(&app), before);

    // A DatabaseSeeder craft cannot read: the seeder file is not left behind.
    std::fs::write(
        app.join("databases/seeds/database_seeder.rs"),
        "// by hand\n",
    )
    .unwrap();
    let before = snapshot(&app);
    let err = fails(&app, &["seed", "tags"]);
    assert!(err.contains("cannot register the seeder"), "{err}");
    assert_eq!(snapshot(&app), before);

    // An app from before seeders: a clear line, for scaffolding and for running.
    std::fs::remove_dir_all(app.join("databases/seeds")).unwrap();
    let before = snapshot(&app);
    for args in [
        &["seed", "tags"][..],
        &["seed:run"],
        &["migrate:fresh", "--seed"],
    ] {
        let err = fails(&app, args);
        assert!(err.contains("databases/seeds/mod.rs"), "{args:?}: {err}");
    }
    assert_eq!(snapshot(&app), before);
}

/// Each migration file craft writes names itself with its own stem.
fn assert_named_by_stem(app: &Path, file: &str) {
    let contents = std::fs::read_to_string(app.join("databases/migrations").join(file)).unwrap();
    let stem = file.strip_suffix(".rs").unwrap();
    let expected = format!("fn name(&self) -> &str {{\n        \"{stem}\"\n    }}");
    assert!(
        contents.contains(&expected),
        "{expected} not in {file}:\n{contents}"
    );
}

#[test]
fn migrations_created_one_after_another_run_in_creation_order() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");
    ok(&app, &["model", "Post", "-m"]);
    ok(
        &app,
        &["migration", "add_slug_to_posts", "--table", "posts"],
    );
    ok(
        &app,
        &["migration", "add_body_to_posts", "--table", "posts"],
    );
    let files = migration_files(&app);
    assert_eq!(files.len(), 4, "{files:?}");
    // Name order is run order: the order of creation, even within one second.
    assert!(files[0].ends_with("_create_users_table.rs"), "{files:?}");
    assert!(files[1].ends_with("_create_posts_table.rs"), "{files:?}");
    assert!(files[2].ends_with("_add_slug_to_posts.rs"), "{files:?}");
    assert!(files[3].ends_with("_add_body_to_posts.rs"), "{files:?}");
    for file in &files {
        assert_named_by_stem(&app, file);
    }

    // A migration stamped ahead of this clock (a teammate's): the next one follows it.
    let migrations = app.join("databases/migrations");
    std::fs::rename(
        migrations.join(&files[3]),
        migrations.join("2099_12_31_235959_add_body_to_posts.rs"),
    )
    .unwrap();
    ok(
        &app,
        &["migration", "add_tags_to_posts", "--table", "posts"],
    );
    let files = migration_files(&app);
    assert_eq!(
        files.last().map(String::as_str),
        Some("2100_01_01_000000_add_tags_to_posts.rs"),
        "{files:?}"
    );
}

#[test]
fn outside_an_app_and_unknown_commands_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["migrate"][..],
        &["migrate:status"],
        &["model", "Post"],
        &["migration", "create_posts_table"],
        &["seed", "Users"],
        &["seed:run"],
        &["migrate", "--seed"],
    ] {
        let err = fails(dir.path(), args);
        assert!(err.contains("not inside a craft app"), "{args:?}: {err}");
    }
    assert!(snapshot(dir.path()).is_empty());

    // Usage errors are one line too.
    for args in [
        &["frobnicate"][..],
        &["migrate:rollback", "--step", "-1"],
        &["model", "Post", "--from-table", "posts", "-m"],
    ] {
        let output = craft(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error:"), "{args:?}: {err}");
    }
    assert!(stderr(&craft(dir.path(), &["frobnicate"])).contains("unrecognized subcommand"));
    // A missing required flag is named on that one line (clap puts it on the next).
    let missing = stderr(&craft(dir.path(), &["migrate:resolve", "x"]));
    assert_eq!(missing.trim_end().lines().count(), 1, "{missing}");
    assert!(missing.contains("--applied|--rolled-back"), "{missing}");

    let help = ok(dir.path(), &["--help"]);
    for command in [
        "new",
        "model",
        "migration",
        "migrate",
        "migrate:rollback",
        "migrate:reset",
        "migrate:refresh",
        "migrate:fresh",
        "migrate:status",
        "seed",
        "seed:run",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} in:\n{help}"
        );
        let own = ok(dir.path(), &[command, "--help"]);
        assert!(own.contains("Usage: craft"), "{own}");
        if command.starts_with("migrate") || command == "seed:run" {
            assert!(own.contains("--database <URL>"), "{own}");
        }
    }
    for command in ["migrate", "migrate:refresh", "migrate:fresh"] {
        assert!(
            ok(dir.path(), &[command, "--help"]).contains("--seed"),
            "{command}"
        );
    }
    assert!(ok(dir.path(), &["migrate:rollback", "--help"]).contains("--step <N>"));
    assert!(ok(dir.path(), &["migrate", "--help"]).contains("--pretend"));
}

/// A stand-in for cargo and for the app's runner, so that what `craft` does around
/// them is tested without compiling: `cargo` writes its pid to `cargo.pid`, runs
/// `build` (shell), then prints the artifact message naming `runner`; `runner` writes
/// its pid to `runner.pid` and runs `run` (shell). Returns the fake cargo's path.
#[cfg(unix)]
fn fake_toolchain(dir: &Path, build: &str, run: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = |name: &str, body: String| {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let d = dir.display();
    // Asked which app it belongs to (as `run_app_in` answers): the one it runs in, or
    // what the test wrote to `answer` (another app's runner).
    let answer = format!(
        "[ -n \"${}\" ] && {{ cat '{d}/answer' 2>/dev/null || pwd -P; exit 0; }}",
        orm_migrate::cli::APP_DIR_QUERY
    );
    let runner = script(
        "runner",
        format!("{answer}\necho $$ > '{d}/runner.pid'\n{run}"),
    );
    let artifact = format!(
        r#"{{"reason":"compiler-artifact","target":{{"name":"craft-migrate"}},"executable":"{}"}}"#,
        runner.display()
    );
    script(
        "cargo",
        format!(
            "echo $$ > '{d}/cargo.pid'\necho build >> '{d}/builds'\n{build}\nprintf '%s\\n' '{artifact}'"
        ),
    )
}

/// `craft ARGS` in `app` with the fake `cargo`, started (not waited for).
#[cfg(unix)]
fn spawn_with(app: &Path, cargo: &Path, args: &[&str]) -> std::process::Child {
    Command::new(CRAFT)
        .args(args)
        .current_dir(app)
        .env("CARGO", cargo)
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("craft starts")
}

/// The pid a fake wrote to `file`, once it has (at most 30 s).
#[cfg(unix)]
fn wait_for_pid(file: &Path) -> u32 {
    let started = Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(30) {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{} was never written", file.display());
}

/// Whether process `pid` is running (a zombie, finished but not reaped, is not).
#[cfg(unix)]
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        if Path::new("/proc/self/stat").exists() {
            return false;
        }
        // No /proc: ask ps for the state.
        let out = Command::new("ps")
            .args(["-o", "stat=", "-p", &pid.to_string()])
            .output()
            .expect("ps runs");
        let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        return !state.is_empty() && !state.starts_with('Z');
    };
    // `pid (comm) STATE ...`; comm may hold spaces and parentheses.
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    !matches!(state, Some(Some('Z')) | Some(None))
}

/// Whether this process ignores signal `n` (and so would the `craft` it starts): a test
/// run in a script's background job ignores SIGINT.
#[cfg(unix)]
fn ignores(n: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .is_some_and(|mask| mask & (1 << (n - 1)) != 0)
}

/// `craft migrate` interrupted while cargo builds, and while the runner runs, by
/// SIGTERM (a supervisor, `kill`) and SIGINT (Ctrl-C sent to `craft` alone): `craft`
/// ends by that signal at once, and neither cargo nor the runner outlives it.
#[cfg(unix)]
#[test]
fn an_interrupted_craft_leaves_no_build_or_runner_behind() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");
    for (signal, number) in [("TERM", 15), ("INT", 2)] {
        if ignores(number) {
            eprintln!("skipped: SIG{signal} is ignored by this test process");
            continue;
        }
        for phase in ["build", "runner"] {
            let fakes = tempfile::tempdir().unwrap();
            // The build phase's cargo has started a compiler of its own (as cargo starts
            // rustc), which must not outlive craft either.
            let compiler = format!(
                "sleep 60 & echo $! > '{}/rustc.pid'; exec sleep 60",
                fakes.path().display()
            );
            let (build, run) = match phase {
                "build" => (compiler.as_str(), ""),
                _ => ("", "exec sleep 60"),
            };
            let cargo = fake_toolchain(fakes.path(), build, run);
            let mut craft = spawn_with(&app, &cargo, &["migrate"]);
            let pid = wait_for_pid(&fakes.path().join(format!(
                "{}.pid",
                if phase == "build" { "cargo" } else { "runner" }
            )));
            // Give craft the moment between writing the pid and polling/exec'ing.
            std::thread::sleep(Duration::from_millis(100));
            let sent = Command::new("kill")
                .args(["-s", signal, &craft.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let started = Instant::now();
            let status = loop {
                if let Some(status) = craft.try_wait().unwrap() {
                    break status;
                }
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = craft.kill();
                    panic!("{phase}, SIG{signal}: craft did not end");
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let left = running(pid);
            if left {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            assert!(
                !left,
                "{phase}, SIG{signal}: the {phase} process {pid} outlived craft"
            );
            if phase == "build" {
                let compiler = wait_for_pid(&fakes.path().join("rustc.pid"));
                let deadline = Instant::now() + Duration::from_secs(5);
                while running(compiler) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let left = running(compiler);
                if left {
                    let _ = Command::new("kill")
                        .args(["-9", &compiler.to_string()])
                        .status();
                }
                assert!(
                    !left,
                    "SIG{signal}: cargo's compiler {compiler} outlived craft"
                );
            }
            assert!(!status.success(), "{phase}, SIG{signal}: {status:?}");
            assert_eq!(
                status.signal(),
                Some(number as i32),
                "{phase}, SIG{signal}: craft ends by the signal ({status:?})"
            );
        }
    }
}

/// Six `craft migration` at once in one app: every migration is written, listed in
/// `mod.rs` and given a timestamp of its own (each read the list and wrote it back, so
/// all but one entry were lost, and they shared a timestamp).
#[test]
fn concurrent_make_commands_keep_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");
    let names: Vec<String> = (0..6).map(|i| format!("create_things{i}_table")).collect();
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            Command::new(CRAFT)
                .args(["migration", name])
                .current_dir(&app)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("craft starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let files = migration_files(&app);
    let mod_rs = std::fs::read_to_string(app.join("databases/migrations/mod.rs")).unwrap();
    let mut stamps = Vec::new();
    for name in &names {
        let file = files
            .iter()
            .find(|f| f.ends_with(&format!("{name}.rs")))
            .unwrap_or_else(|| panic!("{name}: {files:?}"));
        let stem = file.trim_end_matches(".rs");
        assert!(mod_rs.contains(stem), "{stem} not in mod.rs:\n{mod_rs}");
        stamps.push(stem[..17].to_owned());
    }
    stamps.sort();
    stamps.dedup();
    assert_eq!(stamps.len(), names.len(), "{files:?}");
    assert!(!app.join(".craft-writing").exists());
}

/// A runner that says it is another app's (apps sharing a `CARGO_TARGET_DIR`, whose
/// builds replace each other's runner) is built again and never started; after three
/// builds `craft` says why and fails.
#[cfg(unix)]
#[test]
fn another_apps_runner_is_never_started() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");
    let fakes = tempfile::tempdir().unwrap();
    let cargo = fake_toolchain(fakes.path(), "", "echo ran \"$@\"");
    std::fs::write(fakes.path().join("answer"), "/srv/another-app\n").unwrap();
    let output = spawn_with(&app, &cargo, &["migrate"])
        .wait_with_output()
        .unwrap();
    assert!(!output.status.success());
    assert!(!stdout(&output).contains("ran"), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("another app's 3 times (apps sharing a CARGO_TARGET_DIR"),
        "{}",
        stderr(&output)
    );
    let builds = std::fs::read_to_string(fakes.path().join("builds")).unwrap();
    assert_eq!(builds.lines().count(), 3);
    // Its own again: started.
    std::fs::remove_file(fakes.path().join("answer")).unwrap();
    let output = spawn_with(&app, &cargo, &["migrate:status"])
        .wait_with_output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "ran migrate:status");
}

/// A migration file that `databases/migrations/mod.rs` does not bring in is named on
/// stderr by every migrate command (and the command still runs); one declared but left
/// out of `all()` too.
#[cfg(unix)]
#[test]
fn migration_files_missing_from_mod_rs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");
    let fakes = tempfile::tempdir().unwrap();
    let cargo = fake_toolchain(fakes.path(), "", "echo ran \"$@\"");
    let run = |args: &[&str]| {
        let output = spawn_with(&app, &cargo, args).wait_with_output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        (stdout(&output), stderr(&output))
    };
    // Everything listed: not a word.
    let (out, err) = run(&["migrate:status"]);
    assert_eq!(out.trim(), "ran migrate:status");
    assert_eq!(err, "");

    let migrations = app.join("databases/migrations");
    std::fs::write(
        migrations.join("2024_02_01_000000_create_posts_table.rs"),
        "// copied by hand\n",
    )
    .unwrap();
    let mod_rs = migrations.join("mod.rs");
    let listed = std::fs::read_to_string(&mod_rs).unwrap();
    let edited = listed.replacen(
        "/// Every migration",
        "// #[path = \"2024_02_01_000000_create_posts_table.rs\"]\n\
         // mod m2024_02_01_000000_create_posts_table;\n\
         #[path = \"2024_03_01_000000_add_slug_to_posts.rs\"]\n\
         mod m2024_03_01_000000_add_slug_to_posts;\n\n\
         /// Every migration",
        1,
    );
    assert_ne!(edited, listed);
    std::fs::write(&mod_rs, edited).unwrap();
    std::fs::write(
        migrations.join("2024_03_01_000000_add_slug_to_posts.rs"),
        "// declared, not listed\n",
    )
    .unwrap();
    // Temporary files are not migrations.
    std::fs::write(migrations.join(".mod.rs.craft-1.tmp"), "").unwrap();
    std::fs::write(migrations.join(".#2024_x.rs"), "").unwrap();

    for command in [
        "migrate",
        "migrate:status",
        "migrate:rollback",
        "migrate:refresh",
    ] {
        let (out, err) = run(&[command]);
        assert_eq!(
            out.trim(),
            format!("ran {command}"),
            "the command still runs"
        );
        let warnings: Vec<&str> = err.lines().collect();
        assert_eq!(
            warnings,
            [
                "warning: databases/migrations/2024_02_01_000000_create_posts_table.rs is not \
                 listed in databases/migrations/mod.rs, so it is not compiled and never runs: \
                 declare it there and add it to `all()` (as `craft migration` does), or move \
                 it out of databases/migrations/",
                "warning: databases/migrations/2024_03_01_000000_add_slug_to_posts.rs is \
                 declared in databases/migrations/mod.rs (`mod \
                 m2024_03_01_000000_add_slug_to_posts`) but not listed in its `all()`, so it \
                 never runs: add it to the list",
            ],
            "{command}"
        );
    }
    // Seeding and schema:check run no migration: nothing said.
    let (_, err) = run(&["seed:run"]);
    assert_eq!(err, "");
}

/// The whole flow, compiling the generated app (once: the later builds only
/// recompile the app's own crate).
#[test]
fn new_model_migrate_status_rollback_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "blog");

    // The app builds as generated; the users migration runs.
    let started = Instant::now();
    let out = ok(&app, &["migrate"]);
    eprintln!(
        "first `craft migrate` (builds the app) took {:.1?}",
        started.elapsed()
    );
    assert!(
        out.contains("Migrating: 2014_10_12_000000_create_users_table\n"),
        "{out}"
    );
    assert!(
        out.contains("Migrated:  2014_10_12_000000_create_users_table ("),
        "{out}"
    );
    let database = app.join("database.sqlite3");
    let url = format!("sqlite://{}", database.display());
    let mut conn = Connection::open(&url).unwrap();
    assert!(has_table(&mut conn, "users"));

    ok(&app, &["model", "Post", "-m"]);
    let started = Instant::now();
    let out = ok(&app, &["migrate"]);
    eprintln!(
        "`craft migrate` after `craft model Post -m` took {:.1?}",
        started.elapsed()
    );
    assert!(out.contains("_create_posts_table ("), "{out}");
    assert!(!out.contains("create_users_table"), "{out}");
    assert!(has_table(&mut conn, "posts"));
    assert_eq!(ok(&app, &["migrate"]).trim(), "Nothing to migrate.");

    let status = ok(&app, &["migrate:status"]);
    assert!(status.contains("| Ran? | Migration"), "{status}");
    assert!(
        status.contains("| Yes  | 2014_10_12_000000_create_users_table | 1     |"),
        "{status}"
    );
    assert!(status.contains("_create_posts_table | 2     |"), "{status}");

    let out = ok(&app, &["migrate:rollback"]);
    assert!(out.contains("Rolled back:  "), "{out}");
    assert!(!has_table(&mut conn, "posts"), "posts is gone");
    assert!(has_table(&mut conn, "users"), "users stays");

    let out = ok(&app, &["migrate:refresh"]);
    assert!(
        out.contains("Rolling back: 2014_10_12_000000_create_users_table"),
        "{out}"
    );
    assert!(
        out.contains("Migrated:  2014_10_12_000000_create_users_table"),
        "{out}"
    );
    assert!(has_table(&mut conn, "posts") && has_table(&mut conn, "users"));
    let status = ok(&app, &["migrate:status"]);
    assert_eq!(
        status.matches("| 1     |").count(),
        2,
        "one batch: {status}"
    );

    ok(&app, &["migrate:rollback", "--step", "1"]);
    assert!(!has_table(&mut conn, "posts") && has_table(&mut conn, "users"));
    let pretend = ok(&app, &["migrate", "--pretend"]);
    assert!(pretend.contains("CREATE TABLE \"posts\""), "{pretend}");
    assert!(!has_table(&mut conn, "posts"), "pretend runs nothing");
    ok(&app, &["migrate:fresh"]);
    assert!(has_table(&mut conn, "posts") && has_table(&mut conn, "users"));
    ok(&app, &["migrate:reset"]);
    assert!(!has_table(&mut conn, "posts") && !has_table(&mut conn, "users"));
    ok(&app, &["migrate"]);
    drop(conn);

    // schema:check compares every model with its table: the scaffolded ones match...
    let check = ok(&app, &["schema:check"]);
    assert!(check.contains("ok User (users): ok\n"), "{check}");
    assert!(check.contains("ok Post (posts): ok\n"), "{check}");
    assert!(check.contains("2 models match their tables."), "{check}");
    // ... and a field added to a model without its migration is caught.
    let post_rs = app.join("app/post.rs");
    let original = std::fs::read_to_string(&post_rs).unwrap();
    let drifted = original.replacen(
        "pub id: Option<i64>,",
        "pub id: Option<i64>,\n    pub subtitle: String,",
        1,
    );
    assert_ne!(drifted, original);
    std::fs::write(&post_rs, drifted).unwrap();
    let error = fails(&app, &["schema:check"]);
    assert_eq!(
        error,
        "error: schema check failed: 1 of 2 models differ from their tables"
    );
    let report = stdout(&craft(&app, &["schema:check"]));
    assert!(
        report.contains("differs Post (posts):\n  - field `subtitle` has no column in the table"),
        "{report}"
    );
    std::fs::write(&post_rs, original).unwrap();

    // A model written from a live table matches it.
    let mut conn = Connection::open(&url).unwrap();
    conn.execute_batch(
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(50) NOT NULL, \
         weight REAL, sortOrder INTEGER, created_at DATETIME, updated_at DATETIME, \
         deleted_at DATETIME)",
    )
    .unwrap();
    drop(conn);
    ok(&app, &["model", "Tag", "--from-table", "tags"]);
    let tag_rs = std::fs::read_to_string(app.join("app/tag.rs")).unwrap();
    assert!(
        tag_rs.contains("#[model(table = \"tags\", timestamps, soft_deletes)]"),
        "{tag_rs}"
    );
    assert!(tag_rs.contains("pub id: Option<i64>,"), "{tag_rs}");
    assert!(tag_rs.contains("pub label: String,"), "{tag_rs}");
    assert!(tag_rs.contains("pub weight: Option<f64>,"), "{tag_rs}");
    assert!(
        tag_rs.contains("#[model(column = \"sortOrder\")]\n    pub sort_order: Option<i64>,"),
        "{tag_rs}"
    );
    let check = ok(&app, &["schema:check"]);
    assert!(check.contains("ok Tag (tags): ok\n"), "{check}");
    assert!(check.contains("3 models match their tables."), "{check}");
    let error = fails(&app, &["model", "Missing", "--from-table", "no_such_table"]);
    assert_eq!(error, "error: the database has no table `no_such_table`");
    assert!(!app.join("app/missing.rs").exists());

    // The app itself runs and uses the User model.
    let run = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", apps_target_dir())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(run.status.success(), "cargo run: {}", stderr(&run));
    assert!(
        stdout(&run).contains("Created user #1: Ada Lovelace"),
        "{}",
        stdout(&run)
    );

    let posts_seeder = seeding_flow(&app, &url);

    postgres_flow(&app, &posts_seeder);
    mysql_flow(&app, &posts_seeder);

    // Unreachable databases: one line, non-zero.
    let err = fails(
        &app,
        &[
            "migrate",
            "--database",
            "postgres://postgres@127.0.0.1:1/nowhere",
        ],
    );
    assert!(err.contains("cannot connect to the database"), "{err}");
    let err = fails(
        &app,
        &[
            "migrate:status",
            "--database",
            "sqlite:///no/such/dir/db.sqlite3",
        ],
    );
    assert!(err.contains("cannot connect to the database"), "{err}");

    // The alter and blank stubs compile and run as generated.
    ok(
        &app,
        &["migration", "add_votes_to_users", "--table", "users"],
    );
    ok(&app, &["migration", "tidy_up"]);
    let out = ok(&app, &["migrate"]);
    assert!(
        out.contains("_add_votes_to_users (") && out.contains("_tidy_up ("),
        "{out}"
    );

    // An applied migration edited afterwards. Its down(): rolling back says so on
    // stderr, then runs it.
    let tidy = migration_files(&app)
        .into_iter()
        .find(|f| f.ends_with("_tidy_up.rs"))
        .unwrap();
    let tidy_path = app.join("databases/migrations").join(&tidy);
    let tidy_stem = tidy.trim_end_matches(".rs").to_owned();
    let original = std::fs::read_to_string(&tidy_path).unwrap();
    let edited_down = original.replacen(
        "fn down(&self, _schema: &mut Schema) -> Result<()> {\n        Ok(())",
        "fn down(&self, schema: &mut Schema) -> Result<()> {\n        \
         schema.statement(\"DELETE FROM users WHERE 1 = 0\")",
        1,
    );
    assert_ne!(edited_down, original);
    std::fs::write(&tidy_path, &edited_down).unwrap();
    let output = craft(&app, &["migrate:rollback"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "warning: {tidy_stem} changed after it was applied (its down() differs from the \
             one it had when it ran); rolling it back with its code as it is now"
        )),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains(&format!("Rolled back:  {tidy_stem}")),
        "{}",
        stdout(&output)
    );
    std::fs::write(&tidy_path, &original).unwrap();
    ok(&app, &["migrate"]);
    // Its up(): `migrate` refuses; `migrate --force` names it and does not run it again.
    let edited_up = original.replacen(
        "fn up(&self, _schema: &mut Schema) -> Result<()> {\n        Ok(())",
        "fn up(&self, schema: &mut Schema) -> Result<()> {\n        \
         schema.statement(\"DELETE FROM users WHERE 1 = 0\")",
        1,
    );
    assert_ne!(edited_up, original);
    std::fs::write(&tidy_path, &edited_up).unwrap();
    let err = fails(&app, &["migrate"]);
    assert!(
        err.contains(&format!(
            "migration `{tidy_stem}` changed after it was applied"
        )),
        "{err}"
    );
    let output = craft(&app, &["migrate", "--force"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "warning: {tidy_stem} changed after it was applied (its up() differs from the one \
             that ran); --force does not run it again: roll it back and migrate to apply the \
             change"
        )),
        "{}",
        stderr(&output)
    );
    assert_eq!(stdout(&output).trim(), "Nothing to migrate.");
    std::fs::write(&tidy_path, &original).unwrap();

    // A migration file left out of mod.rs is named, and not run.
    let unlisted = app.join("databases/migrations/2099_01_01_000000_create_drafts_table.rs");
    std::fs::write(&unlisted, "this is not even compiled").unwrap();
    let output = craft(&app, &["migrate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "warning: databases/migrations/2099_01_01_000000_create_drafts_table.rs is not \
             listed in databases/migrations/mod.rs"
        ),
        "{}",
        stderr(&output)
    );
    assert_eq!(stdout(&output).trim(), "Nothing to migrate.");
    std::fs::remove_file(&unlisted).unwrap();

    // A failing migration: its name and the database's message; nothing of it kept.
    ok(&app, &["migration", "break_things"]);
    let file = migration_files(&app)
        .into_iter()
        .find(|f| f.ends_with("_break_things.rs"))
        .unwrap();
    let path = app.join("databases/migrations").join(&file);
    let source = std::fs::read_to_string(&path).unwrap().replacen(
        "fn up(&self, _schema: &mut Schema) -> Result<()> {\n        Ok(())",
        "fn up(&self, schema: &mut Schema) -> Result<()> {\n        \
         schema.create(\"half_done\", |table| { table.increments(\"id\"); })?;\n        \
         schema.statement(\"ALTER TABLE no_such_table ADD COLUMN x INTEGER\")",
        1,
    );
    assert!(source.contains("no_such_table"));
    std::fs::write(&path, source).unwrap();
    let err = fails(&app, &["migrate"]);
    let stem = file.trim_end_matches(".rs");
    assert!(err.contains(stem), "{err}");
    assert!(err.contains("no such table: no_such_table"), "{err}");
    let mut conn = Connection::open(&url).unwrap();
    assert!(
        !has_table(&mut conn, "half_done"),
        "the failed migration left nothing"
    );
    let status = ok(&app, &["migrate:status"]);
    assert!(status.contains(&format!("| No   | {stem}")), "{status}");

    // A migration that does not compile: cargo's errors, then one error line.
    std::fs::write(&path, "this is not rust").unwrap();
    let output = craft(&app, &["migrate"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("error: expected"),
        "cargo's errors shown: {err}"
    );
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("error: cannot compile the migrations"),
        "{err}"
    );
}

/// The same app on PostgreSQL, in a schema of its own (via the URL's `options`).
fn postgres_flow(app: &Path, posts_seeder: &str) {
    let base = orm_core::testing::postgres_url();
    let mut admin = match Connection::open(&base) {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: craft on PostgreSQL (no server reachable: {e})");
            return;
        }
        Err(e) => panic!("PostgreSQL must be reachable in CI: {e}"),
    };
    let schema = format!(
        "craft_e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    admin
        .execute_batch(&format!("CREATE SCHEMA \"{schema}\""))
        .unwrap();
    struct DropSchema<'a>(&'a mut Connection, String);
    impl Drop for DropSchema<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .execute_batch(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.1));
        }
    }
    let guard = DropSchema(&mut admin, schema.clone());
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    let mut conn = Connection::open(&url).unwrap();
    conn.execute_batch(&format!("SET search_path TO \"{schema}\""))
        .unwrap();

    let out = ok(app, &["migrate", "--database", &url]);
    assert!(
        out.contains("Migrated:  2014_10_12_000000_create_users_table"),
        "{out}"
    );
    assert!(out.contains("_create_posts_table ("), "{out}");
    assert!(has_table(&mut conn, "users") && has_table(&mut conn, "posts"));
    let status = ok(app, &["migrate:status", "--database", &url]);
    assert_eq!(status.matches("| Yes  |").count(), 2, "{status}");
    ok(
        app,
        &["migrate:rollback", "--step", "1", "--database", &url],
    );
    assert!(!has_table(&mut conn, "posts"), "posts is gone");
    assert!(has_table(&mut conn, "users"), "users stays");
    ok(app, &["migrate:refresh", "--database", &url]);
    assert!(has_table(&mut conn, "users") && has_table(&mut conn, "posts"));

    seeding_on_server(app, &url, &mut conn, posts_seeder);
    drop(conn);
    drop(guard);
}

/// Seeding on a server database (`url`, `conn` on it), as `seeding_flow` does on SQLite:
/// `--seed` on refresh, fresh and migrate, one seeder by name, and a failing seeder that
/// keeps nothing.
fn seeding_on_server(app: &Path, url: &str, conn: &mut Connection, posts_seeder: &str) {
    let out = ok(app, &["migrate:refresh", "--seed", "--database", url]);
    assert!(out.contains("Seeded:  PostsTableSeeder ("), "{out}");
    assert_eq!(count(conn, "posts"), 3);
    ok(app, &["seed:run", "Posts", "--database", url]);
    assert_eq!(count(conn, "posts"), 6);
    ok(app, &["migrate:fresh", "--seed", "--database", url]);
    assert_eq!(count(conn, "posts"), 3);
    ok(app, &["migrate:rollback", "--step", "1", "--database", url]);
    ok(app, &["migrate", "--seed", "--database", url]);
    assert_eq!(count(conn, "posts"), 3);
    std::fs::write(posts_seeder, failing_seeder(posts_seeder)).unwrap();
    let err = fails(app, &["seed:run", "--database", url]);
    assert!(err.contains("seeder `PostsTableSeeder` failed"), "{err}");
    assert_eq!(count(conn, "posts"), 3, "the failed seeder kept nothing");
    std::fs::write(posts_seeder, working_seeder(posts_seeder)).unwrap();
}

fn count(conn: &mut Connection, table: &str) -> i64 {
    conn.select(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])
        .expect("count")[0]
        .get::<i64, _>("n")
        .expect("a count")
}

const SEEDER_BODY: &str = "        // Insert rows with the models";

/// The scaffolded seeder of posts, made to insert three posts with the `Post` model
/// (and report them, as factories do).
fn working_seeder(path: &str) -> String {
    let source = std::fs::read_to_string(path).unwrap();
    let start = source
        .find(SEEDER_BODY)
        .or_else(|| source.find("        let mut posts"))
        .unwrap();
    let end = source[start..].find("        Ok(())").unwrap() + start;
    format!(
        "{}        let mut posts = vec![crate::app::Post::default(); 3];\n        orm_core::Model::insert_many(&mut posts)?;\n        orm_migrate::report_inserted(\"posts\", posts.len());\n{}",
        &source[..start],
        &source[end..]
    )
}

/// The seeder of posts, made to insert its three posts and then fail.
fn failing_seeder(path: &str) -> String {
    working_seeder(path).replacen(
        "        Ok(())",
        "        orm_core::DB::statement(\"INSERT INTO no_such_table VALUES (1)\")?;\n        Ok(())",
        1,
    )
}

/// `seed → migrate --seed → seed:run` (and the refresh/fresh variants) on the SQLite
/// database at `url`, counting rows; returns the path of the posts seeder.
fn seeding_flow(app: &Path, url: &str) -> String {
    let out = ok(app, &["seed", "Posts"]);
    assert!(
        out.contains("databases/seeds/posts_table_seeder.rs"),
        "{out}"
    );
    let seeder = app.join("databases/seeds/posts_table_seeder.rs");
    let seeder = seeder.to_str().unwrap().to_owned();
    // As scaffolded it compiles and seeds nothing.
    let out = ok(app, &["seed:run"]);
    assert!(out.contains("Seeding: DatabaseSeeder\n"), "{out}");
    assert!(out.contains("Seeded:  PostsTableSeeder ("), "{out}");
    let mut conn = Connection::open(url).unwrap();
    assert_eq!(count(&mut conn, "posts"), 0);

    std::fs::write(&seeder, working_seeder(&seeder)).unwrap();
    ok(app, &["migrate:reset"]);
    let output = craft(app, &["migrate", "--seed"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("_create_posts_table ("), "{out}");
    assert!(out.contains("Seeded:  PostsTableSeeder ("), "{out}");
    assert!(out.contains("Seeded:  DatabaseSeeder ("), "{out}");
    assert!(
        stderr(&output).contains("seeded 3 rows into posts"),
        "{}",
        stderr(&output)
    );
    assert_eq!(count(&mut conn, "posts"), 3);
    ok(app, &["seed:run"]);
    assert_eq!(count(&mut conn, "posts"), 6);
    let out = ok(app, &["seed:run", "posts"]);
    assert!(
        !out.contains("DatabaseSeeder"),
        "only the one seeder: {out}"
    );
    assert_eq!(count(&mut conn, "posts"), 9);
    ok(app, &["migrate:refresh", "--seed"]);
    assert_eq!(count(&mut conn, "posts"), 3);
    ok(app, &["migrate:fresh", "--seed"]);
    assert_eq!(count(&mut conn, "posts"), 3);

    // Unknown seeder: one line, nothing run.
    let err = fails(app, &["seed:run", "Comments"]);
    assert!(err.contains("no seeder named `Comments`"), "{err}");
    let output = craft(app, &["migrate", "--seed", "--pretend"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );

    // A failing seeder: its name and the database's message; nothing of it kept.
    std::fs::write(&seeder, failing_seeder(&seeder)).unwrap();
    let err = fails(app, &["seed:run"]);
    assert!(err.contains("seeder `PostsTableSeeder` failed"), "{err}");
    assert!(err.contains("no such table: no_such_table"), "{err}");
    assert_eq!(
        count(&mut conn, "posts"),
        3,
        "the failed seeder kept nothing"
    );
    std::fs::write(&seeder, working_seeder(&seeder)).unwrap();
    seeder
}

/// The same app on MySQL/MariaDB, in a database of its own.
fn mysql_flow(app: &Path, posts_seeder: &str) {
    let base = orm_core::testing::mysql_url();
    let mut admin = match Connection::open(&base) {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: craft on MySQL (no server reachable: {e})");
            return;
        }
        Err(e) => panic!("MySQL must be reachable in CI: {e}"),
    };
    let database = format!("craft_e2e_{}", std::process::id());
    admin
        .execute_batch(&format!("CREATE DATABASE `{database}`"))
        .unwrap();
    struct DropDatabase<'a>(&'a mut Connection, String);
    impl Drop for DropDatabase<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .execute_batch(&format!("DROP DATABASE IF EXISTS `{}`", self.1));
        }
    }
    let guard = DropDatabase(&mut admin, database.clone());
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{database}"),
        None => panic!("{base} names no database"),
    };
    let mut conn = Connection::open(&url).unwrap();
    let out = ok(app, &["migrate", "--database", &url]);
    assert!(
        out.contains("Migrated:  2014_10_12_000000_create_users_table"),
        "{out}"
    );
    assert!(has_table(&mut conn, "users") && has_table(&mut conn, "posts"));
    let status = ok(app, &["migrate:status", "--database", &url]);
    assert_eq!(status.matches("| Yes  |").count(), 2, "{status}");
    ok(
        app,
        &["migrate:rollback", "--step", "1", "--database", &url],
    );
    assert!(!has_table(&mut conn, "posts"), "posts is gone");
    assert!(has_table(&mut conn, "users"), "users stays");
    ok(app, &["migrate:refresh", "--database", &url]);
    assert!(has_table(&mut conn, "users") && has_table(&mut conn, "posts"));

    seeding_on_server(app, &url, &mut conn, posts_seeder);
    // schema:check on MySQL too: the scaffolded models match; `tags` exists only in
    // the SQLite database the Tag model was written from.
    let output = craft(app, &["schema:check", "--database", &url]);
    assert!(!output.status.success());
    let report = stdout(&output);
    assert!(report.contains("ok User (users): ok\n"), "{report}");
    assert!(report.contains("ok Post (posts): ok\n"), "{report}");
    assert!(
        report.contains("differs Tag (tags):\n  - the table does not exist"),
        "{report}"
    );
    drop(conn);
    drop(guard);
}

#[test]
fn scaffolded_tables_use_the_inflection_of_the_derive() {
    let dir = tempfile::tempdir().unwrap();
    let app = new_app(dir.path(), "depot");
    for (name, module, table) in [
        ("bus", "bus", "buses"),
        ("Movie", "movie", "movies"),
        ("order-status", "order_status", "order_statuses"),
        ("Person", "person", "people"),
    ] {
        ok(&app, &["model", name, "-m"]);
        let model = std::fs::read_to_string(app.join(format!("app/{module}.rs"))).unwrap();
        assert!(
            model.contains(&format!("#[model(table = \"{table}\", timestamps)]")),
            "{name}: {model}"
        );
        // The derive names the table of a model without `table = ..` the same way.
        let type_name = orm_inflector::snake_case(name).replace('-', "_");
        assert_eq!(orm_inflector::pluralize(&type_name), table);
        let files = migration_files(&app);
        assert!(
            files
                .iter()
                .any(|f| f.ends_with(&format!("_create_{table}_table.rs"))),
            "{files:?}"
        );
    }
}
