//! `craft migrate*`: build the app's runner with cargo, then run it with the command.
//!
//! Interrupting `craft` (SIGINT, SIGTERM, SIGHUP) leaves no process behind: while cargo
//! builds, the signal is caught, cargo and its compilers (their own process group) are
//! killed and cargo waited for, and `craft` then dies of the same signal; the runner is
//! not a child at all on Unix (`craft` becomes it, as `cargo run` does), so the signal
//! reaches it directly and its end is `craft`'s.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use orm_migrate::cli::{MigrateCommand, Paint};

use crate::scaffold::App;
use crate::templates::RUNNER_BIN;

/// After this long, a build gets a one-line notice.
const SLOW_BUILD: Duration = Duration::from_secs(1);

/// Builds the runner, then runs `command` with it in the app's root (so `.env` and a
/// relative SQLite path resolve there), its output streaming through. The exit code is
/// the runner's: on Unix the runner replaces `craft`'s process (so a signal sent to
/// `craft` reaches it, and nothing is orphaned); elsewhere `craft` waits for it.
pub fn run(app: &App, command: &MigrateCommand) -> Result<ExitCode, String> {
    let interrupts = Interrupts::watch();
    let runner = own_runner(&app.root, &interrupts)?;
    let mut process = Command::new(&runner);
    process.args(command.to_args()).current_dir(&app.root);
    // A signal that came while the build ended is acted on here, not lost.
    interrupts.terminate_if_interrupted();
    hand_over(process, &runner)
}

/// Runs the runner in place of `craft` (Unix `exec`): only returns when it cannot be
/// started. The signal handlers `craft` installed are reset to the defaults by `exec`.
#[cfg(unix)]
fn hand_over(mut process: Command, runner: &Path) -> Result<ExitCode, String> {
    use std::os::unix::process::CommandExt;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let error = process.exec();
    Err(format!("cannot run {}: {error}", runner.display()))
}

/// Runs the runner as a child and passes its exit code through.
#[cfg(not(unix))]
fn hand_over(mut process: Command, runner: &Path) -> Result<ExitCode, String> {
    let _ = std::io::stdout().flush();
    let status = process
        .status()
        .map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// The termination signals (SIGINT, SIGTERM, SIGHUP) that reached `craft` while it
/// builds: noted by a handler instead of ending `craft` at once, so that the build can
/// be stopped first. A second one while the first is handled ends `craft` as the
/// default action would.
#[cfg(unix)]
struct Interrupts {
    signal: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[cfg(unix)]
impl Interrupts {
    /// Starts noting the signals that `craft` was not started ignoring (`nohup craft
    /// ...` keeps ignoring SIGHUP, and so does the runner: `exec` would reset a caught
    /// signal to its default action). A registration that fails leaves that signal's
    /// default action (`craft` ends at once; the build may outlive it).
    fn watch() -> Interrupts {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        use std::sync::Arc;
        let signal = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicBool::new(false));
        let ignored = ignored_signals();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            match &ignored {
                Some(ignored) if ignored.contains(&sig) => continue,
                // Where that cannot be read, SIGHUP (what `nohup` ignores) is left alone.
                None if sig == SIGHUP => continue,
                _ => {}
            }
            // In this order: a signal after the first one acts as by default.
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&seen));
            let _ = signal_hook::flag::register(sig, Arc::clone(&seen));
            let _ = signal_hook::flag::register_usize(
                sig,
                Arc::clone(&signal),
                usize::try_from(sig).unwrap_or(0),
            );
        }
        Interrupts { signal }
    }

    /// The signal that came, if any.
    fn pending(&self) -> Option<i32> {
        match self.signal.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            sig => i32::try_from(sig).ok(),
        }
    }

    /// Ends `craft` as the signal that came would have (so that its parent, e.g. a
    /// shell, sees it killed by that signal), when one came.
    fn terminate_if_interrupted(&self) {
        if let Some(sig) = self.pending() {
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            // Only reached if the default action did not end the process.
            std::process::exit(128 + sig);
        }
    }
}

/// The signals this process ignores (it inherited that from its parent), read from
/// `/proc/self/status` (`SigIgn`, a hexadecimal mask with bit `n - 1` for signal `n`);
/// `None` where that cannot be read.
#[cfg(unix)]
fn ignored_signals() -> Option<Vec<i32>> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_ignored(&status)
}

#[cfg(unix)]
fn parse_ignored(status: &str) -> Option<Vec<i32>> {
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))?
        .trim();
    let mask = u64::from_str_radix(mask, 16).ok()?;
    Some((1..=64).filter(|n| mask & (1 << (n - 1)) != 0).collect())
}

/// Elsewhere, signals keep their default actions.
#[cfg(not(unix))]
struct Interrupts;

#[cfg(not(unix))]
impl Interrupts {
    fn watch() -> Interrupts {
        Interrupts
    }

    fn pending(&self) -> Option<i32> {
        None
    }

    fn terminate_if_interrupted(&self) {}
}

/// How often a runner that turned out to be another app's is built again.
const REBUILDS: usize = 3;

/// The app's runner: built, linked to a path of this app's own next to it (apps that
/// share a `CARGO_TARGET_DIR` build their runners to one path, where another app's
/// build can replace it at any time), and asked which app it belongs to. A runner from
/// a template that cannot say (apps made before `run_app_in`) is started as it is.
fn own_runner(root: &Path, interrupts: &Interrupts) -> Result<PathBuf, String> {
    let expected = canonical(root);
    for _ in 0..REBUILDS {
        let built = build_runner(root, interrupts)?;
        let own = private_path(&built, &expected);
        let _ = std::fs::remove_file(&own);
        if std::fs::hard_link(&built, &own).is_err() {
            std::fs::copy(&built, &own)
                .map_err(|e| format!("cannot copy the runner to {}: {e}", own.display()))?;
        }
        match runner_app_dir(&own, root, interrupts) {
            Some(dir) if canonical(&dir) != expected => continue,
            _ => return Ok(own),
        }
    }
    Err(format!(
        "the runner cargo built in {} was another app's {REBUILDS} times (apps sharing a \
         CARGO_TARGET_DIR, building at once): run craft again, or give this app its own \
         target directory",
        root.display()
    ))
}

/// `built`'s path with a name of the app at `root` (the same for every build of it).
fn private_path(built: &Path, root: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut hasher);
    let name = format!(
        "{RUNNER_BIN}-{:016x}{}",
        hasher.finish(),
        std::env::consts::EXE_SUFFIX
    );
    built.with_file_name(name)
}

/// The app directory a runner says it belongs to (`run_app_in`); `None` when it says
/// nothing (a runner from an older template fails without a command) or takes longer
/// than [`QUERY_TIMEOUT`] to say it. An interruption meanwhile ends `craft`.
fn runner_app_dir(runner: &Path, root: &Path, interrupts: &Interrupts) -> Option<PathBuf> {
    let mut child = Command::new(runner)
        .env(orm_migrate::cli::APP_DIR_QUERY, "1")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take().map(drain);
    let stop = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    let status = wait_watched(&mut child, interrupts, stop, |waited| {
        waited > QUERY_TIMEOUT
    })
    .ok()
    .flatten()?;
    let text = stdout.map(join).unwrap_or_default();
    let line = text.trim();
    (status.success() && !line.is_empty() && !line.contains('\n')).then(|| PathBuf::from(line))
}

/// How long a runner may take to say which app it belongs to.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// `path` with its links resolved, where it exists; else as given.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Waits for `child`. An interruption meanwhile stops it (`stop`) and ends `craft`;
/// `give_up`, called with the time waited on every turn, stops it when it says so
/// (`Ok(None)`).
fn wait_watched(
    child: &mut std::process::Child,
    interrupts: &Interrupts,
    stop: impl Fn(&mut std::process::Child),
    mut give_up: impl FnMut(Duration) -> bool,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if interrupts.pending().is_some() {
            stop(child);
            interrupts.terminate_if_interrupted();
        }
        if give_up(started.elapsed()) {
            stop(child);
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `cargo build --quiet --bin craft-migrate`, its output captured (shown when the
/// build fails); the path of the built binary. When `craft` is interrupted meanwhile,
/// cargo is killed and waited for, and `craft` ends by the signal.
fn build_runner(root: &Path, interrupts: &Interrupts) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
            "--bin",
            RUNNER_BIN,
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // cargo and the compilers it starts in a process group of their own, which an
    // interruption ends whole: killed alone, cargo leaves its rustc running. A
    // terminal's Ctrl-C then reaches `craft` only, which stops the build.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run cargo (is it installed and on PATH?): {e}"))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let mut noticed = false;
    let waited = wait_watched(&mut child, interrupts, stop_build, |waited| {
        if !noticed && waited >= SLOW_BUILD {
            noticed = true;
            eprintln!(
                "{}",
                Paint::stderr().note("Compiling migrations and seeders...")
            );
        }
        false
    });
    let status = waited
        .map_err(|e| format!("cannot wait for cargo: {e}"))?
        .ok_or_else(|| "the build was stopped".to_owned())?;
    // A terminal's Ctrl-C reaches cargo too, which may end before the loop saw the
    // signal: the build was interrupted, not a failure to compile.
    interrupts.terminate_if_interrupted();
    let messages = stdout.map(join).unwrap_or_default();
    let diagnostics = stderr.map(join).unwrap_or_default();
    if !status.success() {
        eprint!("{diagnostics}");
        return Err(format!(
            "cannot compile the migrations and seeders (cargo build --bin {RUNNER_BIN} failed in {})",
            root.display()
        ));
    }
    runner_path(&messages)
        .ok_or_else(|| format!("cargo built no `{RUNNER_BIN}` binary in {}", root.display()))
}

/// Ends cargo and everything in its process group (the compilers it started), and
/// waits for cargo.
fn stop_build(cargo: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let group = format!("-{}", cargo.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = cargo.kill();
    let _ = cargo.wait();
}

/// The executable of the runner from cargo's JSON messages.
fn runner_path(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == RUNNER_BIN)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

fn drain(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(handle: std::thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_runner_in_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"orm_core"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"craft-migrate"},"executable":"/t/debug/craft-migrate"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            runner_path(messages),
            Some(PathBuf::from("/t/debug/craft-migrate"))
        );
        assert_eq!(runner_path(""), None);
    }

    #[test]
    fn each_app_links_its_runner_to_a_name_of_its_own() {
        let built = Path::new("/t/debug/craft-migrate");
        let a = private_path(built, Path::new("/apps/a"));
        assert_eq!(a, private_path(built, Path::new("/apps/a")));
        assert_ne!(a, private_path(built, Path::new("/apps/b")));
        assert_eq!(a.parent(), built.parent());
    }

    /// A runner that answers the app query (as `run_app_in` does), and one that does not
    /// (an older template's, which fails without a command).
    #[cfg(unix)]
    #[test]
    fn asks_a_runner_which_app_it_belongs_to() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let answering = script(
            "answering",
            &format!(
                "[ -n \"${}\" ] && echo /apps/b && exit 0; exit 9",
                orm_migrate::cli::APP_DIR_QUERY
            ),
        );
        let interrupts = Interrupts::watch();
        let here = dir.path();
        assert_eq!(
            runner_app_dir(&answering, here, &interrupts),
            Some(PathBuf::from("/apps/b"))
        );
        let older = script(
            "older",
            "echo 'error: a subcommand is required' >&2; exit 2",
        );
        assert_eq!(runner_app_dir(&older, here, &interrupts), None);
    }

    #[cfg(unix)]
    #[test]
    fn reads_the_ignored_signals() {
        // SIGINT (2) and SIGQUIT (3) ignored, as in a background job of a script.
        let status = "Name:\tcraft\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000006\n";
        assert_eq!(parse_ignored(status), Some(vec![2, 3]));
        assert_eq!(parse_ignored("SigIgn:\t0000000000000000\n"), Some(vec![]));
        assert_eq!(parse_ignored("Name:\tcraft\n"), None);
        assert_eq!(parse_ignored("SigIgn:\tnot hex\n"), None);
    }
}
