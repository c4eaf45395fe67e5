//! Eager loading: one `IN (...)` query per relation and level (`with`, `with_count`).

use super::*;
use crate::row::Row;
use std::borrow::Cow;

/// Loads `plan`'s relations onto `models`, each with one query per level (per chunk of
/// keys under the bind limit). Its counts are [`run_plan_counting`]'s.
pub(crate) fn run_plan<M: Model>(
    models: &mut [M],
    plan: &LoadPlan,
    conn: &mut Connection,
) -> Result<()> {
    if models.is_empty() {
        // Nothing to load, but a misspelt relation is an error whatever the rows.
        return check_plan(M::meta(), plan);
    }
    for relation in &plan.relations {
        M::eager_load(models, &relation.name, relation, conn)?;
    }
    Ok(())
}

/// [`run_plan`], then the plan's counts (`with_count`, the only way a plan gets any).
/// Apart from it so that an app compiles the counting only for the models it counts
/// (with it in `run_plan`, the six-model app's release build compiled it for every
/// model eager loading reaches: 2 % of the compiler's instructions).
pub(super) fn run_plan_counting<M: Model>(
    models: &mut [M],
    plan: &LoadPlan,
    conn: &mut Connection,
) -> Result<()> {
    if models.is_empty() {
        return check_plan(M::meta(), plan);
    }
    run_plan(models, plan, conn)?;
    for (name, constraint) in &plan.counts {
        load_counts(models, M::meta().relation(name)?, constraint.as_ref(), conn)?;
    }
    for (name, constraint) in &plan.exists {
        load_exists(models, M::meta().relation(name)?, constraint.as_ref(), conn)?;
    }
    for request in &plan.aggregates {
        load_aggregates(
            models,
            M::meta().relation(&request.relation)?,
            request,
            conn,
        )?;
    }
    Ok(())
}

/// Whether every relation `plan` names exists on `meta` (and nested ones on the related
/// model; below a `morph_to`, whose model varies by row, nothing is checked).
#[inline(never)]
pub(super) fn check_plan(meta: &'static ModelMeta, plan: &LoadPlan) -> Result<()> {
    for eager in &plan.relations {
        let relation = meta.relation(&eager.name)?;
        if relation.kind != RelationKind::MorphTo {
            check_plan((relation.related)(), &eager.nested)?;
        }
    }
    let counted = plan.counts.iter().chain(&plan.exists).map(|(name, _)| name);
    for name in counted.chain(plan.aggregates.iter().map(|a| &a.relation)) {
        meta.relation(name)?;
    }
    Ok(())
}

/// A fast hasher for grouping keys (mostly integers): eager loading hashes one key per
/// related row, and SipHash's DoS resistance buys nothing for keys read from our own
/// tables.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, value: i64) {
        self.write_u64(value as u64);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

pub(super) type KeyMap<V> = HashMap<KeyRepr, V, BuildHasherDefault<KeyHasher>>;

/// A hashable form of a key value, for grouping related rows by key. Text holding an
/// integer in its canonical form (`"1"`, not `"01"`) is that integer, as in PHP's array
/// keys: a text foreign key then finds its integer key, as the lazy query does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum KeyRepr {
    Int(i64),
    Text(String),
    Other(String),
}

impl KeyRepr {
    pub(super) fn of(value: &Value) -> Option<KeyRepr> {
        Self::of_ref(&value.as_ref())
    }

    /// [`KeyRepr::of`] taking the value (its text is kept, not copied). Runs once per
    /// related row: always inlined (with a plain `#[inline]`, whether it was inlined
    /// depended on what else shared its codegen unit).
    #[inline(always)]
    pub(super) fn from_value(value: Value) -> Option<KeyRepr> {
        if let Value::Int(v) = value {
            value.discard();
            return Some(KeyRepr::Int(v));
        }
        Self::from_other_value(value)
    }

    fn from_other_value(value: Value) -> Option<KeyRepr> {
        match value {
            Value::Text(v) => Some(Self::text(Cow::Owned(v))),
            other => Self::of(&other),
        }
    }

    pub(super) fn of_ref(value: &ValueRef<'_>) -> Option<KeyRepr> {
        match value {
            ValueRef::Null => None,
            ValueRef::Int(v) => Some(KeyRepr::Int(*v)),
            ValueRef::Bool(v) => Some(KeyRepr::Int(i64::from(*v))),
            ValueRef::Text(v) => Some(Self::text(Cow::Borrowed(v.as_ref()))),
            other => Some(KeyRepr::Other(other.to_owned_value().to_string())),
        }
    }

    fn text(text: Cow<'_, str>) -> KeyRepr {
        match canonical_integer(&text) {
            Some(n) => KeyRepr::Int(n),
            None => KeyRepr::Text(text.into_owned()),
        }
    }

    /// The key in column `index` of `row` (integers without any allocation or drop).
    #[inline]
    pub(super) fn read(row: &crate::row::Row<'_>, index: usize) -> Result<Option<KeyRepr>> {
        let value = row.value_at(index)?;
        if let ValueRef::Int(v) = value {
            // Nothing to drop in an integer: skip the enum's drop-glue call.
            std::mem::forget(value);
            return Ok(Some(KeyRepr::Int(v)));
        }
        Ok(Self::of_ref(&value))
    }
}

/// The integer `text` spells in its canonical form (what `i64::to_string` gives): `"1"`
/// and `"-7"`, not `"01"`, `"+1"`, `"-0"` or `" 1"`.
fn canonical_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = match digits.as_bytes() {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [b'0', ..] => false,
        bytes => bytes.iter().all(u8::is_ascii_digit),
    };
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

/// The parents' values of a relation's parent column: each one's group key, and the
/// distinct ones to look the children up by.
pub(super) struct ParentKeys {
    keys: Vec<Option<KeyRepr>>,
    distinct: Vec<Value>,
}

impl ParentKeys {
    /// The values of `column` over `models` (generic only in reading the column).
    pub(super) fn of<M: Model>(models: &[M], column: &str) -> ParentKeys {
        ParentKeys::new(models.iter().map(|m| m.column_value(column)).collect())
    }

    /// [`ParentKeys::of`] leaving out the models that `loaded` marks (`load_missing`).
    fn of_unloaded<M: Model>(models: &[M], column: &str, loaded: Option<&[bool]>) -> ParentKeys {
        let Some(loaded) = loaded else {
            return ParentKeys::of(models, column);
        };
        let values = models.iter().zip(loaded);
        ParentKeys::new(
            values
                .map(|(m, l)| m.column_value(column).filter(|_| !l))
                .collect(),
        )
    }

    fn new(values: Vec<Option<Value>>) -> ParentKeys {
        let mut seen: HashSet<KeyRepr, BuildHasherDefault<KeyHasher>> =
            HashSet::with_capacity_and_hasher(values.len(), Default::default());
        let mut distinct = Vec::new();
        let keys = values
            .into_iter()
            .map(|value| {
                let key = KeyRepr::of(value.as_ref()?)?;
                if seen.insert(key.clone()) {
                    distinct.extend(value);
                }
                Some(key)
            })
            .collect();
        ParentKeys { keys, distinct }
    }

    /// For each child (by its group key), the position of the parent it belongs to: the
    /// first parent with that key.
    fn parent_of_each(&self, children: &[Option<KeyRepr>]) -> Vec<Option<usize>> {
        let first = first_positions(&self.keys);
        let mut missed = false;
        let mut owners: Vec<Option<usize>> = children
            .iter()
            .map(|key| {
                let owner = first.get(key.as_ref()?).copied();
                missed |= owner.is_none();
                owner
            })
            .collect();
        // Apart from the loop above, which runs once per related row: a key matched only
        // under a collation is rare (MySQL only).
        if missed {
            let mut folded = FoldedKeys::default();
            for (owner, key) in owners.iter_mut().zip(children) {
                if let (None, Some(key)) = (*owner, key) {
                    *owner = folded.find(&self.keys, key);
                }
            }
        }
        owners
    }

    /// For each parent, the earlier parent with the same key when it repeats one (the
    /// same row read twice, or a list built by hand); `None` when no key repeats.
    fn repeats(&self) -> Option<Vec<Option<usize>>> {
        if self.distinct.len() == self.keys.iter().flatten().count() {
            return None;
        }
        let first = first_positions(&self.keys);
        Some(
            self.keys
                .iter()
                .enumerate()
                .map(|(i, key)| first.get(key.as_ref()?).copied().filter(|&f| f != i))
                .collect(),
        )
    }

    /// For each parent, the position of its child: the first child with its key (shared
    /// by every parent with that key).
    /// (Exact: which of two keys differing in case a parent's lazy read would find
    /// depends on the column's collation, which the result does not tell.)
    fn child_of_each(&self, children: &[Option<KeyRepr>]) -> Vec<Option<usize>> {
        let first = first_positions(children);
        self.keys
            .iter()
            .map(|key| first.get(key.as_ref()?).copied())
            .collect()
    }
}

/// The parent a related row belongs to when its key equals none of the parents' exactly:
/// the database matched it to one of them under the column's collation (MySQL's pad
/// trailing spaces, and its `_ci` ones ignore case), so grouping by the exact text would
/// drop a row a lazy read (and `with_count`) finds. Tried with trailing spaces removed,
/// then also case folded. Built on the first miss, which SQLite and PostgreSQL, comparing
/// text exactly, never cause.
#[derive(Default)]
struct FoldedKeys(Option<FoldedIndex<usize>>);

impl FoldedKeys {
    /// The position of the first of `keys` that folds to what `key` folds to.
    fn find(&mut self, keys: &[Option<KeyRepr>], key: &KeyRepr) -> Option<usize> {
        let entries = keys.iter().enumerate();
        let index = self.0.get_or_insert_with(|| {
            FoldedIndex::of(entries.filter_map(|(i, key)| Some((key.as_ref()?, i))))
        });
        index.get(key)
    }
}

/// Text keys folded two ways (trailing spaces removed; then also lower-cased), each with
/// the first value given for it.
struct FoldedIndex<T>([HashMap<String, T>; 2]);

impl<T: Copy> FoldedIndex<T> {
    fn folds(key: &KeyRepr) -> Option<[String; 2]> {
        match key {
            KeyRepr::Text(text) => {
                let trimmed = text.trim_end_matches(' ');
                Some([trimmed.to_owned(), trimmed.to_lowercase()])
            }
            _ => None,
        }
    }

    fn of<'k>(entries: impl Iterator<Item = (&'k KeyRepr, T)>) -> Self {
        let mut maps = [HashMap::new(), HashMap::new()];
        for (key, value) in entries {
            let Some(folds) = Self::folds(key) else {
                continue;
            };
            for (map, folded) in maps.iter_mut().zip(folds) {
                map.entry(folded).or_insert(value);
            }
        }
        FoldedIndex(maps)
    }

    /// The value of the key `key` folds to: with its trailing spaces removed, else also
    /// lower-cased.
    fn get(&self, key: &KeyRepr) -> Option<T> {
        let wanted = Self::folds(key)?;
        self.0
            .iter()
            .zip(&wanted)
            .find_map(|(map, folded)| map.get(folded).copied())
    }
}

/// A parent's value in a grouped result (`with_count`, `with_exists`, `with_sum`, ...),
/// keyed by the related rows' column. For a relation whose rows point at the parent
/// (has-many and the like), a group the database matched to the parent under the
/// column's collation is found as [`FoldedKeys`] finds a child's parent; a belongs-to's
/// group is its owner's own key, matched exactly, as eager loading matches it.
struct GroupLookup<'a, V> {
    groups: &'a KeyMap<V>,
    fold: bool,
    folded: Option<FoldedIndex<&'a V>>,
}

impl<'a, V> GroupLookup<'a, V> {
    fn new(groups: &'a KeyMap<V>, relation: &RelationMeta) -> Self {
        let fold = !matches!(
            relation.kind,
            RelationKind::BelongsTo | RelationKind::MorphTo
        );
        GroupLookup {
            groups,
            fold,
            folded: None,
        }
    }

    fn get(&mut self, key: Option<&KeyRepr>) -> Option<&'a V> {
        let key = key?;
        if let Some(value) = self.groups.get(key) {
            return Some(value);
        }
        if !self.fold {
            return None;
        }
        let groups = self.groups;
        let index = self
            .folded
            .get_or_insert_with(|| FoldedIndex::of(groups.iter()));
        index.get(key)
    }
}

/// The position of the first of `keys` with each key.
fn first_positions(keys: &[Option<KeyRepr>]) -> KeyMap<usize> {
    let mut first: KeyMap<usize> = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
    for (i, key) in keys.iter().enumerate() {
        if let Some(key) = key {
            first.entry(key.clone()).or_insert(i);
        }
    }
    first
}

/// Moves each child into its parent's bucket (`owners` from [`ParentKeys::parent_of_each`]).
fn distribute<C>(children: Vec<C>, owners: &[Option<usize>], parents: usize) -> Vec<Vec<C>> {
    // Each bucket allocated once, at its size: no growing (and moving) as children come.
    let mut buckets: Vec<Vec<C>> = bucket_sizes(owners, parents)
        .into_iter()
        .map(Vec::with_capacity)
        .collect();
    for (child, owner) in children.into_iter().zip(owners) {
        if let Some(&i) = owner.as_ref() {
            buckets[i].push(child);
        }
    }
    buckets
}

/// Gives each repeated parent a copy of the children of the first parent with its key
/// (`distribute` gave them all to the first one).
fn copy_to_repeats<C: Clone>(buckets: &mut [Vec<C>], repeats: &[Option<usize>]) {
    for (i, first) in repeats.iter().enumerate() {
        if let Some(&f) = first.as_ref() {
            buckets[i] = buckets[f].clone();
        }
    }
}

/// How many children each of `parents` gets (not generic: compiled once, not per model).
fn bucket_sizes(owners: &[Option<usize>], parents: usize) -> Vec<usize> {
    let mut sizes = vec![0usize; parents];
    for &i in owners.iter().flatten() {
        sizes[i] += 1;
    }
    sizes
}

/// What [`fetch_children`] read: the children, each one's group key and, when pivot
/// columns were asked for, each one's pivot row.
pub(super) type Fetched<C> = (Vec<C>, Vec<Option<KeyRepr>>, Vec<Record>);

/// Runs `query` restricted to `group_column IN keys` (in chunks under the bind limit),
/// decoding each row into `C` and reading its group key — from the model's own column
/// when the relation's key is one (has one/many, belongs to), else from the key column
/// selected after the model's, followed by the `pivot` columns (a record per child);
/// then loads `eager`'s nested relations onto all the children at once.
pub(super) fn fetch_children<C: Model>(
    conn: &mut Connection,
    query: Query<Record>,
    relation: &'static RelationMeta,
    group_column: Ident,
    keys: Vec<Value>,
    eager: &EagerRelation,
    pivot: &[&'static str],
) -> Result<Fetched<C>> {
    let mut children: Vec<C> = Vec::new();
    if keys.is_empty() {
        return Ok((children, Vec::new(), Vec::new()));
    }
    // At least one child per parent key is the common case: start there.
    children.reserve(keys.len());
    // The common case (no constraint that selects) decodes positionally. The group key,
    // when it is one of the model's columns, is read from the decoded model.
    let mut decode = |row: &Row<'_>,
                      layout: &mut Layout,
                      names: &mut Option<Arc<[String]>>,
                      key_column: Option<usize>| {
        layout.decode_into(row, names, &mut children)?;
        Ok(key_column
            .and_then(|i| children.last()?.column_value_at(i))
            .and_then(KeyRepr::from_value))
    };
    let fetch = Fetch {
        columns: C::meta().columns,
        expected: C::expected_columns(),
        relation,
        group_column,
        keys: &keys,
        eager,
        pivot,
    };
    let (groups, pivots, connection) = fetch_rows(conn, query, fetch, &mut decode)?;
    C::remember_connection(&mut children, &connection);
    run_plan(&mut children, &eager.nested, conn)?;
    Ok((children, groups, pivots))
}

/// What [`fetch_rows`] reads: the related model's columns as data, the relation, the
/// column holding each row's parent key, the keys, nested loads and pivot columns.
struct Fetch<'a> {
    columns: &'static [&'static str],
    expected: Option<(&'static str, &'static [&'static str])>,
    relation: &'static RelationMeta,
    group_column: Ident,
    keys: &'a [Value],
    eager: &'a EagerRelation,
    pivot: &'a [&'static str],
}

/// Decodes one child row (through the layout) and keeps it; returns the child's value
/// of the model column at the given position as a group key.
type DecodeChild<'a> = dyn FnMut(
        &Row<'_>,
        &mut Layout,
        &mut Option<Arc<[String]>>,
        Option<usize>,
    ) -> Result<Option<KeyRepr>>
    + 'a;

/// [`fetch_children`] without the model type: the statements and the keys, compiled
/// once; `decode` keeps each child. Returns each child's group key, its pivot record
/// (when asked for) and the connection the query named.
fn fetch_rows(
    conn: &mut Connection,
    mut query: Query<Record>,
    fetch: Fetch<'_>,
    decode: &mut DecodeChild<'_>,
) -> Result<(Vec<Option<KeyRepr>>, Vec<Record>, String)> {
    let Fetch {
        columns,
        expected,
        relation,
        group_column,
        keys,
        eager,
        pivot,
    } = fetch;
    let mut groups = Vec::new();
    let mut pivots = Vec::new();
    if let Some(constraint) = &eager.constraint {
        query = query.bracketed(|q| constraint(q));
    }
    let own_key = match relation.kind {
        RelationKind::HasOne
        | RelationKind::HasMany
        | RelationKind::MorphOne
        | RelationKind::MorphMany => Some(relation.foreign_key),
        RelationKind::BelongsTo => Some(relation.owner_key()),
        _ => None,
    }
    .and_then(|key| columns.iter().position(|c| *c == key));
    // A limit per parent: one statement numbering each parent's rows (see
    // `limited_per_group`), whose number comes last. The columns read by position are
    // then aliased: the derived table it reads from may not repeat a name (MySQL).
    let limited = query.is_limited();
    let alias = |column: String, name: String| {
        if limited {
            format!("{column} as {name}")
        } else {
            column
        }
    };
    if own_key.is_none() {
        query = match limited {
            true => query.add_select(vec![format!("{group_column} as orm_group")]),
            false => query.add_select(vec![group_column.clone()]),
        };
    }
    // The pivot columns come last, after the group column.
    let pivot_table = if pivot.is_empty() {
        ""
    } else {
        relation.pivot()
    };
    if !pivot.is_empty() {
        query = query.add_select(
            pivot
                .iter()
                .enumerate()
                .map(|(i, c)| alias(format!("{pivot_table}.{c}"), format!("orm_pivot_{i}")))
                .collect::<Vec<_>>(),
        );
    }
    let pivot_names: Arc<[String]> = pivot.iter().map(|c| (*c).to_owned()).collect();
    // A constraint's limit or offset is per parent (Eloquent's eager-load limit): one
    // statement numbers each parent's rows, or, for a query whose rows cannot be
    // numbered so (distinct, grouped), the query runs once per parent key, so that one
    // parent's rows cannot use up another's.
    let per_group = limited && query.numbers_per_group();
    let chunk = if limited && !per_group {
        1
    } else {
        conn.dialect().max_bind_params().saturating_sub(1000).max(1)
    };
    // The row number after the pivot columns.
    let trailing = usize::from(per_group);
    // At least one child per parent key is the common case: start there.
    groups.reserve(keys.len());
    // A constraint may have changed the select list: the children are then decoded by
    // name, and the key read where the layout puts it.
    let mut layout = query.layout_for(expected);
    let mut names = None;
    // A group column appended to the select list is the last one.
    let mut appended_at = None;
    for keys in keys.chunks(chunk) {
        let mut chunk_query = query.clone().where_in(group_column.clone(), keys.to_vec());
        if per_group {
            chunk_query = chunk_query.limited_per_group(group_column.clone());
        }
        let (sql, binds) = chunk_query.render_owned(conn.dialect())?;
        conn.query_each_native(&sql, &binds, |row| {
            let end = row.len().saturating_sub(trailing);
            if !pivot.is_empty() {
                let values = (end.saturating_sub(pivot.len())..end)
                    .map(|i| row.value(&i).map(|v| v.to_owned_value()))
                    .collect::<Result<Vec<_>>>()?;
                pivots.push(Record::new(Arc::clone(&pivot_names), values));
            }
            let key = decode(row, &mut layout, &mut names, own_key)?;
            groups.push(match own_key {
                Some(_) => key,
                None => {
                    let at =
                        *appended_at.get_or_insert_with(|| end.saturating_sub(1 + pivot.len()));
                    KeyRepr::read(row, at)?
                }
            });
            Ok(true)
        })?;
    }
    Ok((groups, pivots, query.connection_name().to_owned()))
}

/// The related rows of every parent with the group key of each (and its `pivot`
/// columns).
pub(super) fn load_children<P: Model, C: Model>(
    parents: &[P],
    keys: &ParentKeys,
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    pivot: &[&'static str],
) -> Result<Fetched<C>> {
    // Parents read from a named connection: their children come from it and remember it.
    // Otherwise the children come from their model's connection, which `conn` (the
    // parents') may not be.
    let connection = parents
        .first()
        .and_then(Model::state)
        .and_then(crate::ModelState::connection);
    let mut own = C::query();
    // What the related model's global scopes load (`with`, `with_count`): run on the
    // children as a query of theirs would.
    let mut own_plan = own.model.eager.take().map(|loads| loads.plan);
    // What the path loads below this relation (`posts.author`) is loaded once, by the
    // path, with its constraint: not a second time as the related model's own.
    if let Some(plan) = own_plan.as_mut() {
        let nested = &eager.nested.relations;
        plan.relations
            .retain(|own| !nested.iter().any(|path| path.name == own.name));
    }
    let (query, group_column) = children_query(own.into_rows(), relation, connection);
    let parents_connection = connection.unwrap_or(P::meta().connection);
    let children_connection = query.connection_name().to_owned();
    crate::db::on_named_or(conn, parents_connection, &children_connection, |conn| {
        let mut fetched = fetch_children(
            conn,
            query,
            relation,
            group_column,
            keys.distinct.clone(),
            eager,
            pivot,
        )?;
        if let Some(plan) = &own_plan {
            nested_default_loads(|| run_plan_counting(&mut fetched.0, plan, conn))?;
        }
        Ok(fetched)
    })
}

/// How deep related models' own loads (`#[model(with = [..])]`, a global scope's
/// `with`) may nest before they are taken for a cycle (`Post` loading its `user`, whose
/// model loads its `posts`, ...).
const MAX_NESTED_LOADS: u32 = 32;

thread_local! {
    static NESTED_LOADS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs `load` one level deeper in related models' own loads; past
/// [`MAX_NESTED_LOADS`], an error instead of endless queries.
fn nested_default_loads<T>(load: impl FnOnce() -> Result<T>) -> Result<T> {
    let depth = NESTED_LOADS.with(|d| d.get());
    if depth >= MAX_NESTED_LOADS {
        return Err(Error::invalid_query(
            InvalidQueryKind::Relation,
            format!(
                "related models' own eager loads nest deeper than {MAX_NESTED_LOADS} levels: \
                 two models whose `#[model(with = [..])]` (or global scopes) load each other?"
            ),
        ));
    }
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            NESTED_LOADS.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(depth);
    NESTED_LOADS.with(|d| d.set(depth + 1));
    load()
}

/// The query of a relation's rows (on the parents' connection, when they name one) and
/// the column holding each row's parent key.
fn children_query(
    mut children: Query<Record>,
    relation: &'static RelationMeta,
    connection: Option<&str>,
) -> (Query<Record>, Ident) {
    if let Some(name) = connection {
        children = children.use_connection(name.to_owned());
    }
    related_rows(children, relation, (relation.related)().table)
}

/// Eager loads a to-many relation (has many, belongs to many, has many through).
#[doc(hidden)]
pub fn load_many<P: Model, C: Model + Clone>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut Many<C>,
) -> Result<()> {
    let loaded = loaded_mask(eager, parents, |p| field(p).is_loaded());
    let keys = ParentKeys::of_unloaded(parents, relation.parent_column(), loaded.as_deref());
    let pivot = relation.eager_pivot_columns();
    let (children, groups, pivots) =
        load_children::<P, C>(parents, &keys, relation, eager, conn, &pivot)?;
    let owners = keys.parent_of_each(&groups);
    let mut buckets = distribute(children, &owners, parents.len());
    let repeats = keys.repeats();
    if let Some(repeats) = &repeats {
        copy_to_repeats(&mut buckets, repeats);
    }
    if pivot.is_empty() {
        for (i, (parent, items)) in parents.iter_mut().zip(buckets).enumerate() {
            if !is_marked(&loaded, i) {
                field(parent).set(items);
            }
        }
    } else {
        let mut pivots = distribute(pivots, &owners, parents.len());
        if let Some(repeats) = &repeats {
            copy_to_repeats(&mut pivots, repeats);
        }
        let rows = parents.iter_mut().zip(buckets).zip(pivots).enumerate();
        for (i, ((parent, items), pivots)) in rows {
            if !is_marked(&loaded, i) {
                field(parent).set_with_pivots(items, pivots);
            }
        }
    }
    if let Some(loaded) = loaded {
        let lists = parents.iter_mut().zip(loaded).filter(|(_, l)| *l);
        descend(
            lists.filter_map(|(p, _)| field(p).loaded_vec_mut()),
            &eager.nested,
            conn,
        )?;
    }
    Ok(())
}

/// Eager loads a to-one relation whose rows belong to one parent each (has one, has one
/// through).
#[doc(hidden)]
pub fn load_one<P: Model, C: Model + Clone>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut One<C>,
) -> Result<()> {
    let loaded = loaded_mask(eager, parents, |p| field(p).is_loaded());
    let keys = ParentKeys::of_unloaded(parents, relation.parent_column(), loaded.as_deref());
    let (children, groups, _) = load_children::<P, C>(parents, &keys, relation, eager, conn, &[])?;
    let owners = keys.parent_of_each(&groups);
    let mut buckets = distribute(children, &owners, parents.len());
    if let Some(repeats) = keys.repeats() {
        copy_to_repeats(&mut buckets, &repeats);
    }
    for (i, (parent, items)) in parents.iter_mut().zip(buckets).enumerate() {
        if !is_marked(&loaded, i) {
            field(parent).set(items.into_iter().next());
        }
    }
    descend_one(parents, loaded, field, eager, conn)
}

/// Eager loads a belongs-to relation (several parents may share one owner, so owners
/// are cloned).
#[doc(hidden)]
pub fn load_belongs_to<P: Model, C: Model + Clone>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut One<C>,
) -> Result<()> {
    let loaded = loaded_mask(eager, parents, |p| field(p).is_loaded());
    let keys = ParentKeys::of_unloaded(parents, relation.parent_column(), loaded.as_deref());
    let (children, groups, _) = load_children::<P, C>(parents, &keys, relation, eager, conn, &[])?;
    let owned = keys.child_of_each(&groups);
    for (i, (parent, owner)) in parents.iter_mut().zip(owned).enumerate() {
        if !is_marked(&loaded, i) {
            field(parent).set(owner.map(|i| children[i].clone()));
        }
    }
    descend_one(parents, loaded, field, eager, conn)
}

/// For `load_missing`, which parents have the relation loaded already (`None`
/// otherwise: every parent gets it).
fn loaded_mask<P>(
    eager: &EagerRelation,
    parents: &mut [P],
    is_loaded: impl Fn(&mut P) -> bool,
) -> Option<Vec<bool>> {
    eager
        .missing_only
        .then(|| parents.iter_mut().map(is_loaded).collect())
}

fn is_marked(mask: &Option<Vec<bool>>, i: usize) -> bool {
    mask.as_ref().is_some_and(|mask| mask[i])
}

/// `load_missing` of a nested path under a to-one relation some parents had loaded:
/// their loaded models get the rest of the path (what they lack of it).
fn descend_one<P, C: Model>(
    parents: &mut [P],
    loaded: Option<Vec<bool>>,
    field: fn(&mut P) -> &mut One<C>,
    eager: &EagerRelation,
    conn: &mut Connection,
) -> Result<()> {
    let Some(loaded) = loaded else {
        return Ok(());
    };
    let slots = parents.iter_mut().zip(loaded).filter(|(_, l)| *l);
    descend(
        slots.filter_map(|(p, _)| field(p).loaded_slot_mut()),
        &eager.nested,
        conn,
    )
}

/// What a loaded relation holds, moved out and back by [`descend`].
trait Held<C> {
    fn move_into(&mut self, all: &mut Vec<C>);
    fn take_back(&mut self, models: &mut impl Iterator<Item = C>, length: usize);
}

impl<C> Held<C> for Vec<C> {
    fn move_into(&mut self, all: &mut Vec<C>) {
        all.append(self);
    }
    fn take_back(&mut self, models: &mut impl Iterator<Item = C>, length: usize) {
        self.extend(models.take(length));
    }
}

impl<C> Held<C> for Option<C> {
    fn move_into(&mut self, all: &mut Vec<C>) {
        all.extend(self.take());
    }
    fn take_back(&mut self, models: &mut impl Iterator<Item = C>, length: usize) {
        *self = models.take(length).next();
    }
}

/// Runs `plan` on the models already in `lists` (each a loaded relation's contents), all
/// at once: they are moved into one list for it, then back where they were.
fn descend<'a, C: Model, L: Held<C> + 'a>(
    lists: impl Iterator<Item = &'a mut L>,
    plan: &LoadPlan,
    conn: &mut Connection,
) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let mut lists: Vec<&mut L> = lists.collect();
    let mut all = Vec::new();
    let mut lengths = Vec::with_capacity(lists.len());
    for list in &mut lists {
        let before = all.len();
        list.move_into(&mut all);
        lengths.push(all.len() - before);
    }
    // Put back even when loading failed: the models are the caller's.
    let result = run_plan(&mut all, plan, conn);
    let mut models = all.into_iter();
    for (list, length) in lists.into_iter().zip(lengths) {
        list.take_back(&mut models, length);
    }
    result
}

/// `with_count`: one grouped `COUNT(*)` query per relation.
pub(super) fn load_counts<M: Model>(
    models: &mut [M],
    relation: &'static RelationMeta,
    constraint: Option<&Constraint>,
    conn: &mut Connection,
) -> Result<()> {
    let keys = ParentKeys::of(models, relation.parent_column());
    let groups = count_related(&keys.distinct, relation, constraint, conn)?;
    let mut lookup = GroupLookup::new(&groups, relation);
    let counts = keys
        .keys
        .iter()
        .map(|key| lookup.get(key.as_ref()).copied().unwrap_or(0));
    for (model, count) in models.iter_mut().zip(counts) {
        if let Some(slot) = model.relation_count(relation.name) {
            *slot = Some(count);
        }
    }
    Ok(())
}

/// `with_exists`: one grouped query per relation, reading which parents have a row.
pub(super) fn load_exists<M: Model>(
    models: &mut [M],
    relation: &'static RelationMeta,
    constraint: Option<&Constraint>,
    conn: &mut Connection,
) -> Result<()> {
    let keys = ParentKeys::of(models, relation.parent_column());
    let any = |q: Query<Record>| q.select_raw("1", &[]);
    let found = grouped_by_parent(&keys.distinct, relation, constraint, any, conn)?;
    let mut lookup = GroupLookup::new(&found, relation);
    for (model, key) in models.iter_mut().zip(&keys.keys) {
        let exists = lookup.get(key.as_ref()).is_some();
        if let Some(slot) = model.relation_slot(relation.name) {
            slot.set_exists(exists);
        }
    }
    Ok(())
}

/// The number of `relation`'s rows per parent key (keys with none are absent).
fn count_related(
    keys: &[Value],
    relation: &'static RelationMeta,
    constraint: Option<&Constraint>,
    conn: &mut Connection,
) -> Result<KeyMap<u64>> {
    let count = |q: Query<Record>| q.select_raw("COUNT(*)", &[]);
    grouped_by_parent(keys, relation, constraint, count, conn)?
        .into_iter()
        .map(|(key, n)| {
            let n = <i64 as crate::value::FromValue>::from_value(n.as_ref())
                .map_err(|e| e.into_error("COUNT(*)"))?;
            Ok((key, n.max(0) as u64))
        })
        .collect()
}

/// One value per parent key (keys without related rows are absent): `select` adds the
/// aggregate to the related rows grouped by the column holding the parent's key, with
/// the constraint applied, in chunks of keys under the bind limit.
fn grouped_by_parent(
    keys: &[Value],
    relation: &'static RelationMeta,
    constraint: Option<&Constraint>,
    select: impl FnOnce(Query<Record>) -> Query<Record>,
    conn: &mut Connection,
) -> Result<KeyMap<Value>> {
    let mut values: KeyMap<Value> = KeyMap::default();
    if keys.is_empty() {
        return Ok(values);
    }
    let (mut query, group_column) = counting_query(relation, None)?;
    // A has-one read newest first counts its one row: the statement has no parent row to
    // correlate with, so one is looked up under an alias (which the related table's
    // name, unaliased inside `first_of_many`, cannot hide).
    let parent_key = || qualify(PARENT_ALIAS, relation.parent_column());
    if let Some(first) = first_of_many(relation, parent_key())? {
        let related = (relation.related)();
        let parent = format!("{} as {PARENT_ALIAS}", (relation.parent)().table);
        let held = Query::<Record>::new(parent)
            .select_raw("1", &[])
            .where_column(parent_key(), "=", group_column.clone())
            .where_column_sub(qualify(related.table, related.primary_key), "=", first);
        query = query.where_exists(held);
    }
    if let Some(constraint) = constraint {
        query = query.bracketed(|q| constraint(q));
    }
    let query = select(
        per_group(query)
            .group_by(vec![group_column.clone()])
            .select(vec![group_column.clone()]),
    );
    let chunk = conn.dialect().max_bind_params().saturating_sub(1000).max(1);
    for keys in keys.chunks(chunk) {
        let rows = query
            .clone()
            .where_in(group_column.clone(), keys.to_vec())
            .get_on(conn)?;
        for row in rows {
            let mut pair = row.into_values().into_iter();
            if let (Some(key), Some(value)) = (pair.next(), pair.next()) {
                if let Some(key) = KeyRepr::from_value(key) {
                    values.insert(key, value);
                }
            }
        }
    }
    Ok(values)
}

/// The parent table's alias in a count's has-one-of-many condition.
const PARENT_ALIAS: &str = "orm_parent";

/// A counting or aggregating query without the order, limit and offset that a
/// constraint (or the relation's `constrain`) may carry: they mean nothing to a count
/// per parent (Eloquent's correlated subquery ignores them too), and on the grouped
/// statement a limit would cut it to the first parents' groups, an order break it.
fn per_group(mut query: Query<Record>) -> Query<Record> {
    if query.is_limited() || query.is_ordered() {
        let parts = query.parts_mut();
        parts.orders.clear();
        parts.limit = None;
        parts.offset = None;
    }
    query
}

/// `with_sum`, `with_avg`, `with_min`, `with_max`: one grouped query per request.
pub(super) fn load_aggregates<M: Model>(
    models: &mut [M],
    relation: &'static RelationMeta,
    request: &AggregateRequest,
    conn: &mut Connection,
) -> Result<()> {
    let keys = ParentKeys::of(models, relation.parent_column());
    // A bare column is the related table's (a pivot joined in may have one alike).
    let column = match request.column.contains('.') {
        true => Ident::Owned(request.column.clone()),
        false => qualify((relation.related)().table, &request.column),
    };
    let counting = request.function == Aggregate::Count;
    let aggregate = |q: Query<Record>| match counting {
        // The column is the count's name.
        true => q.select_raw("COUNT(*)", &[]),
        false => q.select_aggregate(request.function, column),
    };
    let constraint = request.constraint.as_ref();
    let values = grouped_by_parent(&keys.distinct, relation, constraint, aggregate, conn)?;
    let mut lookup = GroupLookup::new(&values, relation);
    for (model, key) in models.iter_mut().zip(&keys.keys) {
        let value = match lookup.get(key.as_ref()) {
            Some(value) if counting => Some(Value::Int(
                <i64 as crate::value::FromValue>::from_value(value.as_ref())
                    .map_err(|e| e.into_error("COUNT(*)"))?,
            )),
            Some(value) => Some(value.clone()),
            None if counting => Some(Value::Int(0)),
            None => None,
        };
        if let Some(slot) = model.relation_slot(relation.name) {
            slot.set_aggregate(request.function, &request.column, value.unwrap_or_default());
        }
    }
    Ok(())
}

impl<M: Model> Query<M> {
    /// Eager loads relations after the query (`"posts"`, nested `"posts.comments"`): one
    /// `IN (...)` query per relation and level, whatever the number of rows.
    pub fn with(mut self, relations: &[&str]) -> Self {
        let plan = self.model.eager_plan(run_plan::<M>);
        for path in relations {
            plan.add_path(path, None);
        }
        self
    }

    /// Leaves relations out of what the query eager loads, those the model declares
    /// with `#[model(with = [..])]` included (Eloquent's `without`): `"posts"` leaves out
    /// the posts and everything below them, `"posts.comments"` only the comments.
    pub fn without(mut self, relations: &[&str]) -> Self {
        if let Some(eager) = self.model.eager.as_mut() {
            for path in relations {
                eager.plan.remove_path(path);
            }
        }
        self
    }

    /// Eager loads these relations instead of any the query or the model's
    /// `#[model(with = [..])]` asked for (Eloquent's `withOnly`).
    pub fn with_only(mut self, relations: &[&str]) -> Self {
        if let Some(eager) = self.model.eager.as_mut() {
            eager.plan.relations.clear();
        }
        self.with(relations)
    }

    /// Eager loads one relation (or nested path) with a constraint on its query:
    /// `with_where("posts", |q| q.where_("published", "=", true))`.
    pub fn with_where(
        mut self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        self.model
            .eager_plan(run_plan::<M>)
            .add_path(relation, Some(Arc::new(constraint)));
        self
    }

    /// Loads the number of related rows of each relation into its container
    /// (`user.posts.count()`), with one grouped query per relation.
    pub fn with_count(mut self, relations: &[&str]) -> Self {
        self.counting_plan()
            .counts
            .extend(relations.iter().map(|r| ((*r).to_owned(), None)));
        for relation in relations {
            self.order_count_by(relation, &format!("{relation}_count"), None);
        }
        self
    }

    /// Loads a count of one relation under a name of its own, so one relation can be
    /// counted several ways (Eloquent's `withCount(['posts as drafts_count' => ..])`):
    /// `with_count_as("posts", "drafts_count", |q| q.where_eq("published", false))`,
    /// read with `user.posts.count_as("drafts_count")`, serialized as `drafts_count` and
    /// ordered by with `order_by("drafts_count")`. One grouped query per call.
    pub fn with_count_as(
        self,
        relation: &str,
        name: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        // The plan first: the order is recorded in it.
        let mut query = self.push_aggregate(
            relation,
            Aggregate::Count,
            name,
            Some(Arc::clone(&constraint)),
        );
        query.order_count_by(relation, name, Some(&constraint));
        query
    }

    /// The eager-load plan, run by the runner that loads counts and aggregates too (a
    /// plan begun by `with`, whose runner loads none, switches to it).
    fn counting_plan(&mut self) -> &mut LoadPlan {
        self.model.eager_plan_run_by(run_plan_counting::<M>)
    }

    /// Lets `order_by("{relation}_count")` order by the count `with_count` loads, as
    /// Eloquent's subselect does; a model column of that name keeps its own meaning.
    fn order_count_by(&mut self, relation: &str, alias: &str, constraint: Option<&Constraint>) {
        let parent = self.table_reference();
        if let Some(count) = aggregate_order(M::meta(), parent, relation, alias, None, constraint) {
            self.order_alias_by(alias.to_owned(), count);
        }
    }

    /// [`Query::with_count`] of one relation, counting only the related rows that match
    /// the constraint: `with_count_where("posts", |q| q.where_eq("published", true))`.
    pub fn with_count_where(
        mut self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.counting_plan()
            .counts
            .push((relation.to_owned(), Some(Arc::clone(&constraint))));
        self.order_count_by(relation, &format!("{relation}_count"), Some(&constraint));
        self
    }

    /// Loads whether each row has any related row of each relation (Eloquent's
    /// `withExists`), one grouped query per relation; read with `user.posts.exists()`,
    /// serialized as `posts_exists`.
    pub fn with_exists(mut self, relations: &[&str]) -> Self {
        self.counting_plan()
            .exists
            .extend(relations.iter().map(|r| ((*r).to_owned(), None)));
        self
    }

    /// [`Query::with_exists`] of one relation, over the related rows that match the
    /// constraint: `with_exists_where("posts", |q| q.where_eq("published", true))`.
    pub fn with_exists_where(
        mut self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        self.counting_plan()
            .exists
            .push((relation.to_owned(), Some(Arc::new(constraint))));
        self
    }

    /// Loads the sum of the related rows' `column` into the relation field, one grouped
    /// query per call (Eloquent's `withSum`): `with_sum("posts", "votes")`, read with
    /// `user.posts.sum("votes")`.
    pub fn with_sum(self, relation: &str, column: &str) -> Self {
        self.with_aggregate(relation, Aggregate::Sum, column)
    }

    /// Loads the average of the related rows' `column` (`user.posts.avg("votes")`).
    pub fn with_avg(self, relation: &str, column: &str) -> Self {
        self.with_aggregate(relation, Aggregate::Avg, column)
    }

    /// Loads the smallest of the related rows' `column` (`user.posts.min::<i64>("votes")`).
    pub fn with_min(self, relation: &str, column: &str) -> Self {
        self.with_aggregate(relation, Aggregate::Min, column)
    }

    /// Loads the largest of the related rows' `column` (`user.posts.max::<i64>("votes")`).
    pub fn with_max(self, relation: &str, column: &str) -> Self {
        self.with_aggregate(relation, Aggregate::Max, column)
    }

    /// Loads `function(column)` over each row's related rows (Eloquent's
    /// `withAggregate`); read with `user.posts.aggregate(function, column)`.
    pub fn with_aggregate(self, relation: &str, function: Aggregate, column: &str) -> Self {
        self.push_aggregate(relation, function, column, None)
    }

    /// [`Query::with_aggregate`] over the related rows that match the constraint:
    /// `with_aggregate_where("posts", Aggregate::Sum, "votes", |q| q.where_eq("published", true))`.
    pub fn with_aggregate_where(
        self,
        relation: &str,
        function: Aggregate,
        column: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        self.push_aggregate(relation, function, column, Some(Arc::new(constraint)))
    }

    fn push_aggregate(
        mut self,
        relation: &str,
        function: Aggregate,
        column: &str,
        constraint: Option<Constraint>,
    ) -> Self {
        let order = (function != Aggregate::Count).then(|| constraint.clone());
        // The plan first: the order is recorded in it.
        self.counting_plan().aggregates.push(AggregateRequest {
            relation: relation.to_owned(),
            function,
            column: column.to_owned(),
            constraint,
        });
        if let Some(constraint) = order {
            self.order_aggregate_by(relation, function, column, constraint.as_ref());
        }
        self
    }

    /// Lets `order_by("{relation}_{function}_{column}")` (`posts_sum_votes`, the name
    /// the aggregate is serialized under) order by that aggregate's subquery, as
    /// `order_count_by` does for a count (Eloquent's `withSum(..)->orderBy(..)`).
    fn order_aggregate_by(
        &mut self,
        relation: &str,
        function: Aggregate,
        column: &str,
        constraint: Option<&Constraint>,
    ) {
        let bare = column.rsplit('.').next().unwrap_or(column);
        let name = function.function().to_lowercase();
        let alias = format!("{relation}_{name}_{bare}");
        let parent = self.table_reference();
        let aggregate = Some((function, column));
        if let Some(sub) =
            aggregate_order(M::meta(), parent, relation, &alias, aggregate, constraint)
        {
            self.order_alias_by(alias, sub);
        }
    }
}

/// The subquery an `order_by(alias)` of a relation's count (`aggregate` `None`) or
/// `function(column)` orders by: one value per parent row of `parent`. `None` where the
/// alias keeps another meaning (a column of the model) or cannot be ordered by (a nested
/// path; an unknown relation, which fails when the counts load). Not generic: shared by
/// every model's `with_count` and `with_sum`-like calls.
fn aggregate_order(
    meta: &'static ModelMeta,
    parent: &str,
    relation: &str,
    alias: &str,
    aggregate: Option<(Aggregate, &str)>,
    constraint: Option<&Constraint>,
) -> Option<crate::query::Parts> {
    if relation.contains('.') || meta.columns.contains(&alias) {
        return None;
    }
    let Some((function, column)) = aggregate else {
        let count = existence_query(meta, parent, relation, "COUNT(*)", constraint, 1).ok()?;
        return Some(count.into_parts());
    };
    let related = (meta.relation(relation).ok()?.related)();
    // The subquery calls a related table of the parent's own name by an alias.
    let column = match (column.contains('.'), related.table == parent) {
        (true, _) => Ident::Owned(column.to_owned()),
        (false, true) => qualify(&format!("{SELF_ALIAS}1"), column),
        (false, false) => qualify(related.table, column),
    };
    let sub = existence_query(meta, parent, relation, "1", constraint, 1).ok()?;
    Some(sub.select_only_aggregate(function, column).into_parts())
}

/// Eager loads `relations` onto models already in memory.
pub(crate) fn load<M: Model>(
    models: &mut [M],
    relations: &[&str],
    conn: &mut Connection,
) -> Result<()> {
    let mut plan = LoadPlan::default();
    for path in relations {
        plan.add_path(path, None);
    }
    if plan.is_empty() {
        return Ok(());
    }
    run_plan(models, &plan, conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_an_integers_canonical_form_is_that_integer_key() {
        for (text, int) in [
            ("1", 1),
            ("0", 0),
            ("-7", -7),
            ("9223372036854775807", i64::MAX),
        ] {
            assert_eq!(
                KeyRepr::of(&Value::Text(text.into())),
                Some(KeyRepr::Int(int))
            );
            assert_eq!(
                KeyRepr::from_value(Value::Text(text.into())),
                Some(KeyRepr::Int(int))
            );
        }
        for text in [
            "01",
            "+1",
            "-0",
            " 1",
            "1 ",
            "",
            "-",
            "1.0",
            "9223372036854775808",
            "x1",
        ] {
            assert_eq!(
                KeyRepr::of(&Value::Text(text.into())),
                Some(KeyRepr::Text(text.into()))
            );
        }
    }
}
