//! `craft migrate*`: build the app's runner with cargo, then run it with the command.

use std::io::Read;
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
/// the runner's.
pub fn run(app: &App, command: &MigrateCommand) -> Result<ExitCode, String> {
    let runner = build_runner(&app.root)?;
    let status = Command::new(&runner)
        .args(command.to_args())
        .current_dir(&app.root)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// `cargo build --quiet --bin craft-migrate`, its output captured (shown when the
/// build fails); the path of the built binary.
fn build_runner(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
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
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo (is it installed and on PATH?): {e}"))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let started = Instant::now();
    let mut noticed = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for cargo: {e}")),
        }
        if !noticed && started.elapsed() >= SLOW_BUILD {
            noticed = true;
            eprintln!(
                "{}",
                Paint::stderr()
                    .note("Compiling migrations and seeders... (the first build takes a while)")
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    };
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
}
