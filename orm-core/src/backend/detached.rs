//! The stand-in a borrowed connection leaves behind while it is lent to a thread scope
//! ([`crate::Executor::scope`]): it holds no database, and every call fails.

use crate::dialect::{Backend, Dialect};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::Param;

/// Unreachable through the API (the lent `&mut Connection` stays borrowed while the
/// scope runs), so its answers only need to be safe: fail, and report itself closed.
pub(crate) struct Detached {
    pub(crate) backend: Backend,
    /// The lent connection's dialect.
    pub(crate) dialect: &'static dyn Dialect,
}

fn lent() -> Error {
    Error::ConnectionInUse("a connection lent to a scope".into())
}

impl Detached {
    pub(crate) fn execute<P: Param>(&mut self, _sql: &str, _params: &[P]) -> Result<u64> {
        Err(lent())
    }

    pub(crate) fn query_each<P: Param>(
        &mut self,
        _sql: &str,
        _params: &[P],
        _f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        _caught: &mut Option<Error>,
        _streamed: bool,
    ) -> Result<()> {
        Err(lent())
    }

    pub(crate) fn execute_batch(&mut self, _sql: &str) -> Result<()> {
        Err(lent())
    }

    pub(crate) fn after_failure(&mut self) -> super::AfterFailure {
        super::AfterFailure::Kept
    }

    pub(crate) fn is_closed(&self) -> bool {
        true
    }

    pub(crate) fn still_open(&mut self, _verify: bool) -> bool {
        false
    }

    pub(crate) fn has_open_transaction(&mut self) -> bool {
        false
    }
}
