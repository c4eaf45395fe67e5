//! `Persist`: a model seen through one vtable. The write path (save, insert, update,
//! delete, touch) is written once over `&mut dyn Persist` and compiled once, in this
//! crate, instead of once per model type in every application crate.

use super::*;

/// The instance half of [`Model`] (and its hooks), object safe. Every model has it.
pub(crate) trait Persist: ModelHooks {
    fn meta(&self) -> &'static ModelMeta;
    fn to_values(&self) -> Vec<Value>;
    fn write_binds<'a>(&'a self, out: &mut Binds<'a>);
    /// Floors date-time fields to what is stored ([`Model::truncate_to_stored`]), then
    /// checks that every field encodes ([`Model::check_values`]): writes call it after
    /// the hooks, before binding.
    fn prepare_values(&mut self) -> Result<()>;
    /// [`Model::truncate_to_stored`].
    fn truncate_to_stored(&mut self);
    fn key_value(&self) -> Value;
    fn state(&self) -> Option<&ModelState>;
    fn state_mut(&mut self) -> Option<&mut ModelState>;
    fn set_column(&mut self, column: &str, value: ValueRef<'_>) -> Result<()>;
    fn column_value(&self, column: &str) -> Option<Value>;
    /// `saving` then `creating`: one call, none for a derived model without hooks.
    /// Before them, an unset key the ORM makes ([`Model::GENERATES_KEY`]) is filled.
    fn before_create(&mut self) -> Result<()>;
    /// Fills an unset key the ORM makes ([`Model::GENERATES_KEY`]).
    fn fill_new_key(&mut self) -> Result<()>;
    /// `created` then `saved`.
    fn after_create(&mut self) -> Result<()>;
    /// Whether the model's own hooks run on its writes (not for a quiet write).
    fn runs_hooks(&self) -> bool {
        self.meta().hooks && !crate::untimed::events_paused()
    }
}

impl<M: Model> Persist for M {
    fn meta(&self) -> &'static ModelMeta {
        M::meta()
    }
    fn to_values(&self) -> Vec<Value> {
        Model::to_values(self)
    }
    fn write_binds<'a>(&'a self, out: &mut Binds<'a>) {
        Model::write_binds(self, out)
    }
    fn prepare_values(&mut self) -> Result<()> {
        Model::truncate_to_stored(self);
        Model::check_values(self)
    }
    fn truncate_to_stored(&mut self) {
        Model::truncate_to_stored(self)
    }
    fn key_value(&self) -> Value {
        Model::key_value(self)
    }
    fn state(&self) -> Option<&ModelState> {
        Model::state(self)
    }
    fn state_mut(&mut self) -> Option<&mut ModelState> {
        Model::state_mut(self)
    }
    fn set_column(&mut self, column: &str, value: ValueRef<'_>) -> Result<()> {
        Model::set_column(self, column, value)
    }
    fn column_value(&self, column: &str) -> Option<Value> {
        Model::column_value(self, column)
    }
    fn before_create(&mut self) -> Result<()> {
        self.fill_new_key()?;
        if M::HOOKS {
            self.saving()?;
            self.creating()?;
        }
        Ok(())
    }
    #[inline]
    fn fill_new_key(&mut self) -> Result<()> {
        if M::GENERATES_KEY && Model::key_value(self).is_null() {
            Model::set_column(self, M::meta().primary_key, M::new_key().as_ref())?;
        }
        Ok(())
    }
    fn after_create(&mut self) -> Result<()> {
        if M::HOOKS {
            self.created()?;
            self.saved()?;
        }
        Ok(())
    }
}

/// A model whose hooks do not run (`save_quietly`, `delete_quietly`); everything else
/// is the model's own.
pub(super) struct Quiet<'a>(pub(super) &'a mut dyn Persist);

impl ModelHooks for Quiet<'_> {}

impl Persist for Quiet<'_> {
    fn meta(&self) -> &'static ModelMeta {
        self.0.meta()
    }
    fn runs_hooks(&self) -> bool {
        false
    }
    fn to_values(&self) -> Vec<Value> {
        self.0.to_values()
    }
    fn write_binds<'a>(&'a self, out: &mut Binds<'a>) {
        self.0.write_binds(out)
    }
    fn prepare_values(&mut self) -> Result<()> {
        self.0.prepare_values()
    }
    fn truncate_to_stored(&mut self) {
        self.0.truncate_to_stored()
    }
    fn key_value(&self) -> Value {
        self.0.key_value()
    }
    fn state(&self) -> Option<&ModelState> {
        self.0.state()
    }
    fn state_mut(&mut self) -> Option<&mut ModelState> {
        self.0.state_mut()
    }
    fn set_column(&mut self, column: &str, value: ValueRef<'_>) -> Result<()> {
        self.0.set_column(column, value)
    }
    fn column_value(&self, column: &str) -> Option<Value> {
        self.0.column_value(column)
    }
    fn before_create(&mut self) -> Result<()> {
        self.0.fill_new_key()
    }
    fn fill_new_key(&mut self) -> Result<()> {
        self.0.fill_new_key()
    }
    fn after_create(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The positions of the columns that differ from the values as read or last saved
/// (every column of a new model).
pub(super) fn changed_columns(model: &dyn Persist, state: &ModelState) -> Vec<usize> {
    let mut values = Binds::new();
    model.write_binds(&mut values);
    match state.settled_original() {
        None => (0..values.len()).collect(),
        Some(original) => values
            .iter()
            .zip(original.iter())
            .enumerate()
            .filter(|(_, (current, original))| current.as_ref() != original.as_ref())
            .map(|(i, _)| i)
            .collect(),
    }
}

/// Marks a model with a state as stored, its current values the original ones.
#[inline(always)]
pub(super) fn mark_stored(model: &mut dyn Persist) {
    // A model without a state: nothing to record, no call.
    if model.state().is_some() {
        record_original(model);
    }
}

fn record_original(model: &mut dyn Persist) {
    let values = model.to_values().into_boxed_slice();
    let own = model.meta().connection;
    if let Some(state) = model.state_mut() {
        state.set_original(Some(values));
        // Read or saved in `DB::connection(name).scope(..)`: its later writes go there
        // too, as Eloquent's `User::on(name)->firstOrCreate(..)` models' do.
        if state.shared_connection().is_none() {
            if let Some(name) = crate::db::lent_name().filter(|name| **name != *own) {
                state.set_connection(Some(name));
            }
        }
    }
}

/// Records the current values of the columns at `positions` as saved.
pub(super) fn sync_original(model: &mut dyn Persist, positions: &[usize]) {
    if model.state().is_none_or(|s| !s.is_stored()) {
        return;
    }
    let columns = model.meta().columns;
    let values: Vec<(usize, Value)> = positions
        .iter()
        .filter_map(|&i| Some((i, model.column_value(columns[i])?)))
        .collect();
    if let Some(original) = model.state_mut().and_then(ModelState::original_mut) {
        for (i, value) in values {
            original[i] = value;
        }
    }
}

/// Records the columns an update wrote as the model's changes (Eloquent's
/// `syncChanges`), with their values before it: called before the original values are
/// synced. The version column is the update's own business, not a change.
pub(super) fn record_changes(model: &mut dyn Persist, positions: &[usize]) {
    let version = model.meta().version;
    if let Some(state) = model.state_mut() {
        let changed: Vec<usize> = positions
            .iter()
            .copied()
            .filter(|&i| Some(i) != version)
            .collect();
        state.record_changes(changed);
    }
}

/// Marks a model with a state as having inserted its row.
pub(super) fn record_created(model: &mut dyn Persist) {
    if let Some(state) = model.state_mut() {
        state.record_created();
    }
}

/// Before the state takes in a write that ran inside a transaction (`mark`, see
/// [`crate::model::On::run_write`]): remembers how to take it back should that
/// transaction roll back (an update's columns with the version column it bumps).
/// Nothing for a model without a state or a write outside a transaction.
pub(super) fn remember_write(
    model: &mut dyn Persist,
    mark: Option<Arc<WriteMark>>,
    written: Written<'_>,
) {
    let Some(mark) = mark else {
        return;
    };
    let version = model.meta().version;
    let Some(state) = model.state_mut() else {
        return;
    };
    match (written, version) {
        (Written::Columns(positions), Some(v)) if !positions.contains(&v) => {
            let mut all = positions.to_vec();
            all.push(v);
            state.remember_write(mark, Written::Columns(&all));
        }
        (written, _) => state.remember_write(mark, written),
    }
}

/// Takes back in the model's state what writes in transactions that rolled back did
/// (see [`ModelState::settle`]); every write of a model starts with it.
pub(super) fn settle(model: &mut dyn Persist) {
    if let Some(state) = model.state_mut() {
        state.settle();
    }
}

/// The model column a name written by `update` sets: the name itself, a column named
/// with the model's table (`users.name`), or the column of a JSON path
/// (`options->theme`). `None` for a column of another table.
pub(super) fn written_column<'n>(meta: &ModelMeta, name: &'n str) -> Option<&'n str> {
    let name = name.split("->").next().unwrap_or(name);
    match name.rsplit_once('.') {
        Some((table, column)) => {
            let own = table == meta.table || table.rsplit('.').next() == Some(meta.table);
            own.then_some(column)
        }
        None => Some(name),
    }
}

/// Sets what `update` names on the model: a column (see [`written_column`]), or, for a
/// JSON path, that path in the column's document (the rest of it kept).
pub(super) fn set_written(model: &mut dyn Persist, name: &str, value: Value) -> Result<()> {
    let meta = model.meta();
    let Some(column) = written_column(meta, name) else {
        return Err(Error::ColumnNotFound(format!("{}.{name}", meta.name)));
    };
    if !name.contains("->") {
        return model.set_column(column, value.as_ref());
    }
    #[cfg(feature = "json")]
    {
        // `column->key->..`, without the table the name may start with.
        let head = name.split("->").next().unwrap_or_default();
        let path = &name[head.len() - column.len()..];
        let Some((_, keys)) = crate::dialect::split_json_path(path)? else {
            return model.set_column(column, value.as_ref());
        };
        let mut document = match model.column_value(column) {
            Some(Value::Json(document)) => document,
            Some(Value::Text(text)) => serde_json::from_str(&text).unwrap_or_default(),
            Some(_) => serde_json::Value::Null,
            None => return Err(Error::ColumnNotFound(format!("{}.{name}", meta.name))),
        };
        let new: serde_json::Value =
            serde_json::from_str(&crate::dialect::json_text(&value)?).map_err(Error::other)?;
        set_json_path(&mut document, &keys, new);
        model.set_column(column, ValueRef::Json(std::borrow::Cow::Owned(document)))
    }
    #[cfg(not(feature = "json"))]
    {
        Err(Error::invalid_query(
            InvalidQueryKind::Unsupported,
            format!("`{name}`: JSON paths need the `json` feature"),
        ))
    }
}

/// Sets `keys` in `document` to `value`, making the objects on the way (an array's
/// element by its index, when it has one).
#[cfg(feature = "json")]
fn set_json_path(document: &mut serde_json::Value, keys: &[&str], value: serde_json::Value) {
    let Some((key, rest)) = keys.split_first() else {
        *document = value;
        return;
    };
    if let (serde_json::Value::Array(items), Ok(index)) = (&mut *document, key.parse::<usize>()) {
        if let Some(item) = items.get_mut(index) {
            return set_json_path(item, rest, value);
        }
    }
    if !document.is_object() {
        *document = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(members) = document {
        let member = members
            .entry((*key).to_owned())
            .or_insert(serde_json::Value::Null);
        set_json_path(member, rest, value);
    }
}
