//! `morph_to`: a parent that may be one of several models, named by a type column
//! (`comments.commentable_type`) beside its key (`comments.commentable_id`). The possible
//! parents are the variants of an enum (`#[derive(MorphTo)]`), so reading one is typed.

use super::*;

/// The enum of the models a `morph_to` relation may hold, one variant per model
/// (`enum Commentable { Post(Post), Video(Video) }`). `#[derive(MorphTo)]` implements it.
pub trait MorphTarget: Sized + 'static {
    /// The possible parents' metadata, in variant order.
    const MODELS: &'static [fn() -> &'static ModelMeta];

    /// The morph name of the model held (what the type column stores for it).
    fn morph_name(&self) -> &'static str;

    /// The key of the model held.
    fn key_value(&self) -> Value;

    /// Reads the models whose morph name is `type_name` and key one of `keys`, each with
    /// its key; `None` when no variant's model has that morph name.
    #[doc(hidden)]
    fn load_type(
        type_name: &str,
        keys: Vec<Value>,
        eager: Option<&EagerRelation>,
        connection: Option<&str>,
        conn: &mut Connection,
    ) -> Option<Result<Vec<(Value, Self)>>>;
}

/// The loaded parent of a `morph_to` relation (`comment.commentable`): a [`One`] of the
/// relation's enum.
pub type MorphTo<E> = One<E>;
/// A model related by a key and a type column on its table (at most one).
pub type MorphOne<T> = One<T>;
/// Models related by a key and a type column on their table.
pub type MorphMany<T> = Many<T>;
/// Models related through a polymorphic pivot table (`taggables`), from the owner.
pub type MorphToMany<T> = Many<T>;
/// Models related through a polymorphic pivot table, from the shared side (the tag).
pub type MorphedByMany<T> = Many<T>;

/// Reads the `M` models with these keys (in chunks under the bind limit), wrapped in the
/// enum's variant; loads `eager`'s nested relations onto them. The generated
/// [`MorphTarget::load_type`] calls it once per variant.
#[doc(hidden)]
pub fn morph_load<M: Model, E>(
    keys: Vec<Value>,
    eager: Option<&EagerRelation>,
    connection: Option<&str>,
    conn: &mut Connection,
    wrap: fn(M) -> E,
) -> Result<Vec<(Value, E)>> {
    let meta = M::meta();
    let mut query = M::query();
    // What the model's global scopes load (`with`, `with_count`).
    let own_plan = query.model.eager.take().map(|loads| loads.plan);
    if let Some(name) = connection {
        query = query.use_connection(name.to_owned());
    }
    if let Some(constraint) = eager.and_then(|e| e.constraint.as_ref()) {
        query = query
            .into_rows::<Record>()
            .bracketed(|q| constraint(q))
            .into_rows::<M>();
    }
    let key = qualify(meta.table, meta.primary_key);
    let chunk = conn.dialect().max_bind_params().saturating_sub(1000).max(1);
    let mut models: Vec<M> = Vec::with_capacity(keys.len());
    let mut layout = query.layout();
    let mut names = None;
    for keys in keys.chunks(chunk) {
        let (sql, binds) = query
            .clone()
            .where_in(key.clone(), keys.to_vec())
            .render_owned(conn.dialect())?;
        conn.query_each_native(&sql, &binds, |row| {
            models.push(layout.decode::<M>(row, &mut names)?);
            Ok(true)
        })?;
    }
    M::remember_connection(&mut models, query.connection_name());
    if let Some(plan) = &own_plan {
        run_plan_counting(&mut models, plan, conn)?;
    }
    if let Some(eager) = eager {
        // Each type loads the nested relations it declares (Eloquent's `morphWith`:
        // `with(&["commentable.author"])` loads posts' authors, videos having none);
        // `load_morph_to` refused a name no type declares.
        for nested in &eager.nested.relations {
            if meta.relations.iter().any(|r| r.name == nested.name) {
                M::eager_load(&mut models, &nested.name, nested, conn)?;
            }
        }
    }
    Ok(models
        .into_iter()
        .map(|m| (m.key_value(), wrap(m)))
        .collect())
}

/// The type and key a `morph_to` parent names (`None` when either is NULL).
fn morph_pointer<P: Model>(parent: &P, relation: &RelationMeta) -> Result<Option<(String, Value)>> {
    let type_name = match parent.column_value(relation.morph_type) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Text(name)) => name,
        Some(other) => {
            return Err(Error::Decode {
                column: relation.morph_type.to_owned(),
                expected: "a morph name (text)".to_owned(),
                found: other.type_name().to_owned(),
            })
        }
    };
    match parent.column_value(relation.foreign_key) {
        None | Some(Value::Null) => Ok(None),
        Some(key) => Ok(Some((type_name, key))),
    }
}

fn unknown_type<P: Model>(relation: &RelationMeta, type_name: &str) -> Error {
    Error::UnknownMorphType {
        model: P::meta().name.to_owned(),
        relation: relation.name.to_owned(),
        type_name: type_name.to_owned(),
        known: relation
            .morph_targets
            .iter()
            .map(|m| m().morph_name)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The connection a `morph_to` target of morph name `type_name` is read on: the one the
/// parents were read from when they remember one, else the target model's own.
fn target_connection<'a, E: MorphTarget>(
    type_name: &str,
    remembered: Option<&'a str>,
    parents: &'a str,
) -> &'a str {
    remembered
        .or_else(|| {
            E::MODELS
                .iter()
                .map(|meta| meta())
                .find(|meta| meta.morph_name == type_name)
                .map(|meta| meta.connection)
        })
        .unwrap_or(parents)
}

/// Eager loads a `morph_to` relation: one query per type present among the parents.
#[doc(hidden)]
pub fn load_morph_to<P: Model, E: MorphTarget + Clone>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut One<E>,
) -> Result<()> {
    // A nested relation is loaded onto the types that declare it; one no type declares
    // is a misspelling.
    for nested in &eager.nested.relations {
        let declared = |target: &fn() -> &'static ModelMeta| {
            target().relations.iter().any(|r| r.name == nested.name)
        };
        if !relation.morph_targets.is_empty() && !relation.morph_targets.iter().any(declared) {
            return Err(Error::UnknownRelation {
                model: format!("{} (no type of `{}`)", P::meta().name, relation.name),
                relation: nested.name.clone(),
            });
        }
    }
    // Per type, in order of first appearance: the distinct keys.
    let mut types: Vec<(String, Vec<Value>, HashSet<KeyRepr>)> = Vec::new();
    let mut pointers = Vec::with_capacity(parents.len());
    // `load_missing`: a parent with it loaded keeps what it has.
    let had = eager.missing_only.then(|| {
        parents
            .iter_mut()
            .map(|p| field(p).is_loaded())
            .collect::<Vec<_>>()
    });
    for (i, parent) in parents.iter().enumerate() {
        if had.as_ref().is_some_and(|had| had[i]) {
            pointers.push(None);
            continue;
        }
        let pointer = morph_pointer(parent, relation)?;
        if let Some((type_name, key)) = &pointer {
            let at = match types.iter().position(|(t, _, _)| t == type_name) {
                Some(at) => at,
                None => {
                    types.push((type_name.clone(), Vec::new(), HashSet::new()));
                    types.len() - 1
                }
            };
            let (_, keys, seen) = &mut types[at];
            if KeyRepr::of(key).is_some_and(|k| seen.insert(k)) {
                keys.push(key.clone());
            }
        }
        pointers.push(pointer);
    }
    let connection = parents
        .first()
        .and_then(Model::state)
        .and_then(crate::ModelState::connection)
        .map(str::to_owned);
    let parents_connection = connection.as_deref().unwrap_or(P::meta().connection);
    let mut loaded: HashMap<(String, KeyRepr), E> = HashMap::new();
    for (type_name, keys, _) in types {
        let wanted = target_connection::<E>(&type_name, connection.as_deref(), parents_connection);
        let rows = crate::db::on_named_or(conn, parents_connection, wanted, |conn| {
            E::load_type(&type_name, keys, Some(eager), connection.as_deref(), conn)
                .ok_or_else(|| unknown_type::<P>(relation, &type_name))?
        })?;
        for (key, model) in rows {
            if let Some(key) = KeyRepr::of(&key) {
                loaded.insert((type_name.clone(), key), model);
            }
        }
    }
    for (i, (parent, pointer)) in parents.iter_mut().zip(pointers).enumerate() {
        if had.as_ref().is_some_and(|had| had[i]) {
            continue;
        }
        let item = pointer.and_then(|(type_name, key)| {
            let key = KeyRepr::of(&key)?;
            loaded.get(&(type_name, key)).cloned()
        });
        field(parent).set(item);
    }
    Ok(())
}

/// Reads a `morph_to` relation of one model (`comment.commentable()`): `None` when
/// the type or the key is NULL, or no row has the key.
#[doc(hidden)]
pub fn morph_to_lazy<P: Model, E: MorphTarget>(
    parent: &P,
    relation: &'static RelationMeta,
    loaded: bool,
) -> Result<Option<E>> {
    if !loaded
        && crate::lazy_loading::lazy_loading_prevented()
        && super::writes::lazy_load_guarded(parent)
    {
        return Err(Error::LazyLoading {
            model: P::meta().name.to_owned(),
            relation: relation.name.to_owned(),
        });
    }
    let Some((type_name, key)) = morph_pointer(parent, relation)? else {
        return Ok(None);
    };
    let named = parent
        .state()
        .and_then(crate::ModelState::connection)
        .map(str::to_owned);
    let name = target_connection::<E>(&type_name, named.as_deref(), P::meta().connection);
    crate::db::with_named(name, |conn| {
        let rows = E::load_type(&type_name, vec![key], None, named.as_deref(), conn)
            .ok_or_else(|| unknown_type::<P>(relation, &type_name))??;
        Ok(rows.into_iter().next().map(|(_, model)| model))
    })
}
