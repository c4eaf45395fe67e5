//! `ModelHooks`: global scopes and the lifecycle hooks a model may override.

use super::*;

/// Callbacks around every write. Returning `Err` from a `saving`/`creating`/`updating`/
/// `deleting` hook cancels the write (nothing is written) and returns that error
/// (`Error::Cancelled("why")` says so plainly).
///
/// `#[derive(Model)]` implements this trait with no hooks unless the struct says
/// `#[model(hooks)]`; then implement it yourself, overriding the hooks you need. With
/// hooks, mass updates and deletes on the model's queries (`User::where_(..).delete()`)
/// load the matching models and write them one by one, so the hooks run for each.
pub trait ModelHooks {
    /// Global scopes: conditions added to every query of the model (`Model::query`,
    /// `find`, `all`, ...). Add them with `query.scope("name", |q| ..)` so a query can
    /// remove them with `without_scope("name")`.
    fn global_scopes(query: Query<Self>) -> Query<Self>
    where
        Self: Sized,
    {
        query
    }

    /// Before an insert or an update (on a model with a [`ModelState`], before every
    /// `save`, even one that then finds nothing changed and writes nothing).
    fn saving(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an insert or an update (on a model with a [`ModelState`], after every
    /// `save`).
    fn saved(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before an insert.
    fn creating(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an insert.
    fn created(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before an update (on a model with a [`ModelState`], only when columns changed; the
    /// hook may change more, which are written too).
    fn updating(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an update.
    fn updated(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before a delete (soft or hard).
    fn deleting(&mut self) -> Result<()> {
        Ok(())
    }
    /// After a delete (soft or hard).
    fn deleted(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before a model with soft deletes is deleted for real (`force_delete`,
    /// `force_destroy`; Eloquent's `forceDeleting`), before `deleting`; an `Err` cancels
    /// it.
    fn force_deleting(&mut self) -> Result<()> {
        Ok(())
    }
    /// After such a delete, after `deleted` (Eloquent's `forceDeleted`).
    fn force_deleted(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before a soft-deleted model is restored (then `saving` and `updating` run, as
    /// for a save); an `Err` cancels the restore.
    fn restoring(&mut self) -> Result<()> {
        Ok(())
    }
    /// After a restore (after `updated` and `saved`).
    fn restored(&mut self) -> Result<()> {
        Ok(())
    }
}

/// `M`'s global scopes on a query of its rows read as records: what the derive puts in
/// [`ModelMeta::scopes`] of a model with hooks.
#[doc(hidden)]
pub fn global_scopes_of<M: Model>(query: Query<Record>) -> Query<Record> {
    M::global_scopes(query.into_rows::<M>()).into_rows()
}
