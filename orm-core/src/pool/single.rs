//! The pool without the `pool` feature: one connection per name, shared by the threads
//! under a lock. No r2d2 and no worker threads: an application that runs its statements
//! on one thread (a command-line tool, a script, a test) compiles and runs less.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{make_clean, this_thread, verify, PoolConfig};
use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::metrics::PoolMetrics;
use crate::url::ConnectOptions;
use crate::Backend;

/// A connection name's one connection (see [`PoolConfig`] for what applies).
#[derive(Clone, Debug)]
pub struct Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when the connection comes back (or a failed open gives up its turn).
    returned: Condvar,
    options: ConnectOptions,
    connection_timeout: Duration,
    metrics: PoolMetrics,
}

#[derive(Debug, Default)]
struct State {
    /// The connection while nobody uses it.
    idle: Option<Connection>,
    /// Whether a thread has it (or is opening it).
    busy: bool,
    /// Threads waiting for it: only then is the condition variable signalled (a signal
    /// with nobody waiting is still a system call).
    waiting: usize,
    /// The thread that has it ([`this_thread`]; 0: none).
    holder: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The connection checked out of a [`Pool`]; returns to it when dropped. Dereferences to
/// [`Connection`].
pub struct PooledConnection {
    conn: Option<Connection>,
    shared: Arc<Shared>,
}

impl PooledConnection {
    #[inline]
    pub(super) fn connection(&self) -> Option<&Connection> {
        self.conn.as_ref()
    }

    #[inline]
    pub(super) fn connection_mut(&mut self) -> Option<&mut Connection> {
        self.conn.as_mut()
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // A connection that cannot be made clean is closed (after the lock is released);
        // the next checkout opens another.
        let keep = make_clean(&mut conn);
        let (discarded, waiting) = {
            let mut state = self.shared.lock();
            state.busy = false;
            state.holder = 0;
            let discarded = if keep {
                state.idle = Some(conn);
                None
            } else {
                Some(conn)
            };
            (discarded, state.waiting > 0)
        };
        if waiting {
            self.shared.returned.notify_one();
        }
        if discarded.is_some() {
            self.shared.metrics.count_closed();
        }
    }
}

impl Pool {
    /// A connection for `url`, opened right away, so a bad URL or an unreachable server
    /// is reported here with its cause.
    pub fn with_config(url: &str, config: PoolConfig) -> Result<Pool> {
        let options = ConnectOptions::parse(url)?;
        config.check()?;
        let conn = Connection::open_within(&options, config.connection_timeout)?;
        let shared = Shared {
            state: Mutex::new(State {
                idle: Some(conn),
                ..State::default()
            }),
            returned: Condvar::new(),
            options,
            connection_timeout: config.connection_timeout,
            metrics: PoolMetrics::default(),
        };
        shared.metrics.count_opened();
        Ok(Pool {
            shared: Arc::new(shared),
        })
    }

    /// Checks the connection out, waiting up to the configured timeout while another
    /// thread has it ([`Error::ConnectionInUse`] at once when this thread has it). A
    /// connection the server closed is replaced by a new one.
    pub fn get(&self) -> Result<PooledConnection> {
        let shared = &*self.shared;
        let mut waited_since: Option<Instant> = None;
        let mut state = shared.lock();
        let me = this_thread();
        loop {
            if !state.busy {
                state.busy = true;
                state.holder = me;
                let idle = state.idle.take();
                drop(state);
                let waited = waited_since.map_or(Duration::ZERO, |at| at.elapsed());
                if let Some(mut conn) = idle {
                    if verify(&shared.options, &mut conn).is_ok() {
                        shared.metrics.count_checkout(waited);
                        return Ok(self.wrap(conn));
                    }
                    // Closed by its server: closed here too, and replaced.
                    drop(conn);
                    shared.metrics.count_closed();
                }
                return self.open(waited);
            }
            if state.holder == me {
                // This thread has it (a `PooledConnection` it holds): waiting would only
                // run out the timeout.
                drop(state);
                return Err(Error::ConnectionInUse(shared.options.redacted().to_owned()));
            }
            let since = *waited_since.get_or_insert_with(Instant::now);
            let left = shared
                .connection_timeout
                .checked_sub(since.elapsed())
                .filter(|left| !left.is_zero());
            let Some(left) = left else {
                shared.metrics.count_timeout();
                return Err(Error::Connection {
                    message: format!(
                        "no connection to {} available: timed out after {:?} waiting for \
                         the one connection (the `pool` feature is off)",
                        shared.options.redacted(),
                        shared.connection_timeout
                    ),
                    source: None,
                });
            };
            state.waiting += 1;
            state = shared
                .returned
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            state.waiting -= 1;
        }
    }

    /// Opens a new connection for a checkout that holds the turn (`busy`).
    #[cold]
    fn open(&self, waited: Duration) -> Result<PooledConnection> {
        let shared = &*self.shared;
        match Connection::open_with(&shared.options) {
            Ok(conn) => {
                shared.metrics.count_opened();
                shared.metrics.count_checkout(waited);
                Ok(self.wrap(conn))
            }
            Err(e) => {
                let waiting = {
                    let mut state = shared.lock();
                    state.busy = false;
                    state.holder = 0;
                    state.waiting > 0
                };
                if waiting {
                    shared.returned.notify_one();
                }
                Err(e)
            }
        }
    }

    #[inline]
    fn wrap(&self, conn: Connection) -> PooledConnection {
        PooledConnection {
            conn: Some(conn),
            shared: Arc::clone(&self.shared),
        }
    }

    /// The backend the pool connects to.
    pub fn backend(&self) -> Backend {
        self.shared.options.backend()
    }

    /// The most connections the pool opens: one.
    pub(crate) fn max_size(&self) -> u32 {
        1
    }

    /// Connections open (idle and in use): 1, or 0 while a closed one is replaced.
    pub fn connections(&self) -> u32 {
        let state = self.shared.lock();
        u32::from(state.busy || state.idle.is_some())
    }

    /// Connections open and idle.
    pub fn idle_connections(&self) -> u32 {
        let state = self.shared.lock();
        u32::from(!state.busy && state.idle.is_some())
    }

    pub(super) fn metrics(&self) -> &PoolMetrics {
        &self.shared.metrics
    }
}
