//! One `craft make:*` at a time per app. Each reads a `mod.rs` list, adds to it and
//! writes it back, and a new migration takes a timestamp after the existing ones: two
//! at once each wrote the list as it had read it (all but one entry lost) and took one
//! timestamp.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file, in the app's root while a `craft` writes to the app.
const FILE: &str = ".craft-writing";

/// How long a `craft` waits for another one's writes (which take milliseconds).
const WAIT: Duration = Duration::from_secs(15);

/// A lock file older than this was left by a `craft` that was killed.
const STALE: Duration = Duration::from_secs(10);

/// Held while this `craft` writes to the app; the file is removed when it drops.
pub struct WriteLock {
    path: Option<PathBuf>,
}

impl WriteLock {
    /// Takes the app's lock, waiting for another `craft` that holds it. Where the lock
    /// file cannot be made (a read-only app directory) there is nothing to lock: the
    /// writes themselves fail, with their own error.
    pub fn take(root: &Path) -> Result<WriteLock, String> {
        let path = root.join(FILE);
        let started = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(WriteLock { path: Some(path) });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let age = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|at| at.elapsed().ok());
                    if age.is_some_and(|age| age > STALE) {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > WAIT {
                        return Err(format!(
                            "another craft is writing to this app ({} exists; remove it if \
                             no craft is running)",
                            path.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return Ok(WriteLock { path: None }),
            }
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_holder_and_clears_a_stale_lock() {
        let dir = tempfile::tempdir().unwrap();
        let held = WriteLock::take(dir.path()).unwrap();
        assert!(dir.path().join(FILE).exists());
        let waiter = {
            let root = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let started = Instant::now();
                let _lock = WriteLock::take(&root).unwrap();
                started.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        drop(held);
        assert!(waiter.join().unwrap() >= Duration::from_millis(150));
        assert!(!dir.path().join(FILE).exists());
        // A lock file left behind long ago is taken over.
        let file = fs::File::create(dir.path().join(FILE)).unwrap();
        file.set_modified(std::time::SystemTime::now() - 2 * STALE)
            .unwrap();
        drop(file);
        let _lock = WriteLock::take(dir.path()).unwrap();
    }
}
