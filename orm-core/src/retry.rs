//! Transactions with options: `DB::transaction_with_retry` (run again when the database
//! gave it up to let a concurrent one through: serialization failure, deadlock) and
//! `DB::isolated` (at an isolation level).

use std::time::Duration;

use crate::db::{has_scope, transaction_named_at, ConnectionRef, DB, DEFAULT_CONNECTION};
use crate::dialect::IsolationLevel;
use crate::error::Result;

/// The pause before attempt `attempt + 1` (1-based `attempt`): 5 ms doubling, at most
/// 160 ms, so the transaction that won has time to finish.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(5 << attempt.saturating_sub(1).min(5))
}

fn with_retry<T>(
    name: &str,
    isolation: Option<IsolationLevel>,
    attempts: u32,
    mut f: impl FnMut() -> Result<T>,
) -> Result<T> {
    // Inside an open transaction the outer one is what failed: running the inner part
    // again cannot help, so it runs once and the failure goes up to the outer caller.
    if has_scope(name) {
        return transaction_named_at(name, isolation, f);
    }
    let attempts = attempts.max(1);
    let mut attempt = 1;
    loop {
        match transaction_named_at(name, isolation, &mut f) {
            Err(e) if e.is_retryable() && attempt < attempts => {
                log::debug!(
                    target: "orm::retry",
                    "transaction on `{name}` failed ({e}); attempt {} of {attempts}",
                    attempt + 1
                );
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            result => return result,
        }
    }
}

impl DB {
    /// [`DB::transaction`], run again (up to `attempts` times in all) when it fails with a
    /// serialization failure or a deadlock ([`crate::Error::is_retryable`]: PostgreSQL
    /// `40001`/`40P01`, MySQL/MariaDB `1213`), after a short pause. Any other error
    /// returns at once; after the last attempt its error returns. `f` must be safe to
    /// run again: each attempt's work was rolled back, but what `f` did outside the
    /// database (a message sent) was not. Inside an open transaction it runs once (the
    /// outer transaction is the one to retry).
    ///
    /// ```
    /// use orm_core::DB;
    /// DB::connect("sqlite::memory:")?;
    /// DB::statement("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")?;
    /// DB::insert("INSERT INTO accounts (balance) VALUES (?)", &[&100])?;
    /// DB::transaction_with_retry(3, || {
    ///     DB::update("UPDATE accounts SET balance = balance - ? WHERE id = ?", &[&30, &1])?;
    ///     Ok(())
    /// })?;
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn transaction_with_retry<T>(attempts: u32, f: impl FnMut() -> Result<T>) -> Result<T> {
        with_retry(DEFAULT_CONNECTION, None, attempts, f)
    }

    /// Transactions on the default connection at an isolation level:
    /// `DB::isolated(IsolationLevel::Serializable).transaction_with_retry(3, || ..)`.
    /// The level applies to the whole transaction, so inside an open one the
    /// transaction fails with [`crate::Error::InvalidQuery`] instead of running at
    /// another level. Each database gives at least the level asked for (see
    /// [`IsolationLevel`]).
    ///
    /// ```
    /// use orm_core::{IsolationLevel, DB};
    /// DB::connect("sqlite::memory:")?;
    /// DB::statement("CREATE TABLE seats (id INTEGER PRIMARY KEY, taken INTEGER)")?;
    /// DB::insert("INSERT INTO seats (taken) VALUES (0)", &[])?;
    /// DB::isolated(IsolationLevel::Serializable).transaction_with_retry(3, || {
    ///     DB::update("UPDATE seats SET taken = 1 WHERE id = ? AND taken = 0", &[&1])?;
    ///     Ok(())
    /// })?;
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn isolated(level: IsolationLevel) -> Isolated {
        Isolated {
            connection: DEFAULT_CONNECTION.to_owned(),
            level,
        }
    }
}

impl ConnectionRef {
    /// See [`DB::transaction_with_retry`].
    pub fn transaction_with_retry<T>(
        &self,
        attempts: u32,
        f: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        with_retry(self.name(), None, attempts, f)
    }

    /// See [`DB::isolated`]: transactions on this connection at an isolation level.
    pub fn isolated(&self, level: IsolationLevel) -> Isolated {
        Isolated {
            connection: self.name().to_owned(),
            level,
        }
    }
}

/// Transactions at an isolation level on one connection, from [`DB::isolated`] or
/// [`ConnectionRef::isolated`].
#[derive(Debug, Clone)]
#[must_use = "an isolation level applies to the transaction run through it"]
pub struct Isolated {
    connection: String,
    level: IsolationLevel,
}

impl Isolated {
    /// The level its transactions run at.
    pub fn level(&self) -> IsolationLevel {
        self.level
    }

    /// [`DB::transaction`] at this level.
    pub fn transaction<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        transaction_named_at(&self.connection, Some(self.level), f)
    }

    /// [`DB::transaction_with_retry`] at this level: what `SERIALIZABLE` transactions
    /// need, since the database gives one up when it cannot order it with the others.
    pub fn transaction_with_retry<T>(
        &self,
        attempts: u32,
        f: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        with_retry(&self.connection, Some(self.level), attempts, f)
    }
}
