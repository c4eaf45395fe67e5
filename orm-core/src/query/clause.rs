//! The clauses a query is made of: plain enums, rendered once by `render.rs`.

use std::borrow::Cow;
use std::mem::ManuallyDrop;
use std::sync::{Arc, OnceLock};

use super::operator::Operator;
use crate::dialect::{DatePart, HomeTable, LockMode, LockWait, TextMatch};
use crate::error::{Error, InvalidQueryKind};
use crate::value::Value;

/// An identifier or a piece of hand-written SQL held by a query. String literals are
/// borrowed for free; a `String` moves in without copying.
pub type Ident = Cow<'static, str>;

/// A list of conditions (`WHERE`, `HAVING`, a join's `ON`, a group or scope). One is
/// kept inline: most lists have one condition, and a query is built, run and dropped per
/// call, so a list on the heap would be an allocation and a free per clause.
pub(crate) type Conditions = smallvec::SmallVec<[Where; 1]>;

/// The joins of a query, one inline (for the same reason as [`Conditions`]).
pub(crate) type Joins = smallvec::SmallVec<[Join; 1]>;

/// One condition of a `WHERE`, `HAVING` or join `ON`, with the boolean joining it to the
/// previous one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Where {
    pub(crate) or: bool,
    pub(crate) kind: WhereKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WhereKind {
    Basic {
        column: Ident,
        op: Operator,
        value: Value,
    },
    Column {
        first: Ident,
        op: Operator,
        second: Ident,
    },
    In {
        column: Ident,
        values: Vec<Value>,
        not: bool,
    },
    InSub {
        column: Ident,
        query: Box<Parts>,
        not: bool,
    },
    Null {
        column: Ident,
        not: bool,
    },
    Between {
        column: Ident,
        low: Value,
        high: Value,
        not: bool,
    },
    Exists {
        query: Box<Parts>,
        not: bool,
    },
    SubCompare {
        query: Box<Parts>,
        op: Operator,
        value: Value,
    },
    /// `where_json_contains`: the JSON at the column's path holds `value`.
    #[cfg(feature = "json")]
    JsonContains {
        column: Ident,
        value: serde_json::Value,
        not: bool,
    },
    /// `where_json_length`: the number of elements of the JSON array at the column's
    /// path compared with `value`.
    JsonLength {
        column: Ident,
        op: Operator,
        value: Value,
    },
    /// `where_json_contains_key`: the JSON document has the column's path (`not`: lacks
    /// it).
    JsonHasPath {
        column: Ident,
        not: bool,
    },
    /// `column op (SELECT ...)`.
    ColumnSub {
        column: Ident,
        op: Operator,
        query: Box<Parts>,
    },
    Date {
        column: Ident,
        part: DatePart,
        op: Operator,
        value: Value,
    },
    /// The column matches `text` literally (`where_contains`, ...).
    Text {
        column: Ident,
        kind: TextMatch,
        text: String,
    },
    Group(Vec<Where>),
    /// `NOT (...)`: a group negated (`where_not`).
    NotGroup(Vec<Where>),
    Raw {
        sql: Ident,
        bindings: Vec<Value>,
    },
}

/// A selected column, expression or aggregate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    Column(Ident),
    /// A JSON path (`options->tags`) as a JSON value, named as written: what a read into
    /// a JSON type selects, so that a JSON string comes back quoted, never as text that
    /// might parse as another JSON value.
    JsonValue(Ident),
    Raw(Ident, Vec<Value>),
    Aggregate {
        function: &'static str,
        column: Option<Ident>,
        float: bool,
    },
    /// `(SELECT ...) AS alias`.
    Sub(Box<Parts>, Ident),
    /// `COUNT(DISTINCT column) AS aggregate`.
    CountDistinct(Ident),
    /// `ROW_NUMBER() OVER (PARTITION BY partition ORDER BY orders) AS orm_row`: each
    /// row's place among the rows of its group (an eager load's limit per parent).
    RowNumber {
        partition: Ident,
        orders: Vec<Order>,
    },
}

/// The selected items: usually owned, or shared with a model's template query (so
/// `Model::query()` copies no column list), or a list of plain column names given as
/// `&'static str`s (`select(&["id", "name"])`: a copy of the pointers, with nothing to
/// drop per name). Equal when their items are equal, whichever way they are held.
#[derive(Debug, Clone)]
pub(crate) enum Columns {
    Items(Cow<'static, [SelectItem]>),
    Names(Vec<&'static str>),
}

/// One selected item, as [`Columns::iter`] yields it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Selected<'a> {
    /// A plain column name given as a `&'static str`: as `SelectItem::Column`.
    Name(&'static str),
    Item(&'a SelectItem),
}

impl<'a> Selected<'a> {
    /// The column's name (possibly qualified or aliased), when this is a plain column.
    pub(crate) fn column(self) -> Option<&'a str> {
        match self {
            Selected::Name(name) => Some(name),
            Selected::Item(SelectItem::Column(ident)) => Some(ident),
            Selected::Item(_) => None,
        }
    }

    fn to_item(self) -> SelectItem {
        match self {
            Selected::Name(name) => SelectItem::Column(Ident::Borrowed(name)),
            Selected::Item(item) => item.clone(),
        }
    }
}

impl PartialEq for Selected<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Selected::Item(a), Selected::Item(b)) => a == b,
            _ => self.column().is_some() && self.column() == other.column(),
        }
    }
}

/// The iterator of [`Columns::iter`].
pub(crate) enum SelectedIter<'a> {
    Items(std::slice::Iter<'a, SelectItem>),
    Names(std::slice::Iter<'a, &'static str>),
}

impl<'a> Iterator for SelectedIter<'a> {
    type Item = Selected<'a>;

    #[inline]
    fn next(&mut self) -> Option<Selected<'a>> {
        match self {
            SelectedIter::Items(items) => items.next().map(Selected::Item),
            SelectedIter::Names(names) => names.next().map(|name| Selected::Name(name)),
        }
    }
}

impl Default for Columns {
    fn default() -> Columns {
        Columns::Items(Cow::Borrowed(&[]))
    }
}

impl Columns {
    pub(crate) fn shared(items: &'static [SelectItem]) -> Columns {
        Columns::Items(Cow::Borrowed(items))
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Columns::Items(items) => items.len(),
            Columns::Names(names) => names.len(),
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub(crate) fn iter(&self) -> SelectedIter<'_> {
        match self {
            Columns::Items(items) => SelectedIter::Items(items.iter()),
            Columns::Names(names) => SelectedIter::Names(names.iter()),
        }
    }

    /// The items as a list of their own, to change.
    fn items_mut(&mut self) -> &mut Vec<SelectItem> {
        if let Columns::Names(names) = self {
            let items = names.iter().map(|name| Selected::Name(name).to_item());
            *self = Columns::Items(Cow::Owned(items.collect()));
        }
        match self {
            Columns::Items(items) => items.to_mut(),
            Columns::Names(_) => unreachable!("names were turned into items above"),
        }
    }

    /// The items, copied.
    pub(crate) fn to_vec(&self) -> Vec<SelectItem> {
        self.iter().map(Selected::to_item).collect()
    }

    pub(crate) fn push(&mut self, item: SelectItem) {
        self.items_mut().push(item);
    }

    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = SelectItem>) {
        self.items_mut().extend(items);
    }

    /// Adds plain column names: kept as names while the list is nothing else.
    pub(crate) fn extend_names(&mut self, names: &[&'static str]) {
        match self {
            Columns::Names(list) => list.extend_from_slice(names),
            Columns::Items(items) if items.is_empty() => *self = Columns::Names(names.to_vec()),
            Columns::Items(_) => self.extend(
                names
                    .iter()
                    .map(|name| SelectItem::Column(Ident::Borrowed(name))),
            ),
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = Columns::default();
    }

    /// Whether a `select` chose these columns: not none, nor a model's own list (the
    /// one [`Columns::shared`] holds, which `select`/`add_select` replace or copy).
    pub(crate) fn chosen(&self) -> bool {
        match self {
            Columns::Items(Cow::Borrowed(_)) => false,
            Columns::Items(Cow::Owned(items)) => !items.is_empty(),
            Columns::Names(names) => !names.is_empty(),
        }
    }
}

impl From<Vec<SelectItem>> for Columns {
    fn from(items: Vec<SelectItem>) -> Columns {
        Columns::Items(Cow::Owned(items))
    }
}

impl PartialEq for Columns {
    fn eq(&self, other: &Columns) -> bool {
        match (self, other) {
            (Columns::Items(a), Columns::Items(b)) => {
                (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a[..] == b[..]
            }
            _ => self.len() == other.len() && self.iter().eq(other.iter()),
        }
    }
}

/// The kind of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Cross,
    /// `FULL OUTER JOIN` (not on MySQL).
    Full,
}

/// One `JOIN` with its conditions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Join {
    pub(crate) kind: JoinKind,
    /// The table, or the alias of `sub`.
    pub(crate) table: Ident,
    /// A subquery joined as a derived table (`join_sub`): `(SELECT ...) AS table`.
    pub(crate) sub: Option<Box<Parts>>,
    pub(crate) conditions: Conditions,
}

/// One `GROUP BY` term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Group {
    Column(Ident),
    Raw(Ident, Vec<Value>),
}

/// One `ORDER BY` term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    Column(Ident, bool),
    Raw(Ident, Vec<Value>),
    Random,
    /// `(SELECT ...) ASC|DESC`: a `with_count` alias ordered by its count subquery; with
    /// its NULLs placed (`Some(first)`) after `nulls_first`/`nulls_last`.
    Sub(Box<Parts>, bool, Option<bool>),
    /// A column order with its NULLs placed (`nulls_first`: before the other values),
    /// whatever the database's default.
    Nulls(Ident, bool, bool),
}

/// The columns `conditions` name (as written: maybe qualified, maybe a JSON path), in
/// their own and nested groups; raw conditions and subqueries are not looked into.
pub(crate) fn condition_columns<'a>(conditions: &'a [Where], out: &mut Vec<&'a str>) {
    for condition in conditions {
        match &condition.kind {
            WhereKind::Basic { column, .. }
            | WhereKind::In { column, .. }
            | WhereKind::InSub { column, .. }
            | WhereKind::Null { column, .. }
            | WhereKind::Between { column, .. }
            | WhereKind::JsonLength { column, .. }
            | WhereKind::JsonHasPath { column, .. }
            | WhereKind::ColumnSub { column, .. }
            | WhereKind::Date { column, .. }
            | WhereKind::Text { column, .. } => out.push(column),
            #[cfg(feature = "json")]
            WhereKind::JsonContains { column, .. } => out.push(column),
            WhereKind::Column { first, second, .. } => {
                out.push(first);
                out.push(second);
            }
            WhereKind::Group(group) | WhereKind::NotGroup(group) => condition_columns(group, out),
            WhereKind::Exists { .. } | WhereKind::SubCompare { .. } | WhereKind::Raw { .. } => {}
        }
    }
}

/// A common table expression: `WITH [RECURSIVE] name AS (query)` before the `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cte {
    pub(crate) name: Ident,
    pub(crate) query: Parts,
    pub(crate) recursive: bool,
}

/// How a query is combined with the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compound {
    Union,
    UnionAll,
    Intersect,
    Except,
}

impl Compound {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Compound::Union => " UNION ",
            Compound::UnionAll => " UNION ALL ",
            Compound::Intersect => " INTERSECT ",
            Compound::Except => " EXCEPT ",
        }
    }
}

/// Everything a `SELECT` is made of, independent of the row type it decodes into (so
/// subqueries of any row type nest).
#[derive(Debug)]
pub(crate) struct Parts {
    /// The common table expressions the query reads (`with_expression`).
    pub(crate) ctes: Vec<Cte>,
    /// The table, or the alias of `from_sub`.
    pub(crate) table: Ident,
    /// A subquery read as a derived table (`from_sub`): `FROM (SELECT ...) AS table`.
    pub(crate) from_sub: Option<Box<Parts>>,
    pub(crate) columns: Columns,
    pub(crate) distinct: bool,
    pub(crate) joins: Joins,
    pub(crate) wheres: Conditions,
    pub(crate) scopes: Vec<(Ident, Conditions)>,
    pub(crate) groups: Vec<Group>,
    pub(crate) havings: Conditions,
    pub(crate) orders: Vec<Order>,
    /// The orders were all given before the first `union()`: they order the whole
    /// result until an order given after it replaces them.
    pub(crate) orders_before_union: bool,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    /// The queries combined with this one (`UNION`, `INTERSECT`, `EXCEPT`), in order.
    pub(crate) unions: Vec<(Parts, Compound)>,
    pub(crate) lock: Option<(LockMode, LockWait)>,
    /// The first error met while building (unknown operator, ...), reported by the
    /// terminal method.
    pub(crate) error: Option<Deferred>,
    /// The table plain column names belong to, for a relation query joining a pivot or
    /// an intermediate table (see [`HomeTable`]).
    pub(crate) home: Option<HomeTable>,
}

/// A query's [`Parts`], shared with the query it was cloned from (a model's default
/// query) until the first change copies them, and dropped, copied and taken out of line.
/// Every query drops its clauses: as a plain `Arc<Parts>` field, an app compiled the
/// drop of every clause type into each model's query code, in each codegen unit.
/// (Held in `ManuallyDrop` so that `Drop` can take it out without `unsafe`: it is `None`
/// only once taken, when nothing reads it any more.)
pub(crate) struct Clauses(ManuallyDrop<Option<Arc<Parts>>>);

impl Clauses {
    /// Inlined so that the clauses are built in their allocation, not moved into it.
    #[inline]
    pub(crate) fn new(parts: Parts) -> Clauses {
        Clauses(ManuallyDrop::new(Some(Arc::new(parts))))
    }

    /// The clauses, to change: copied first when another query shares them.
    #[inline(never)]
    pub(crate) fn make_mut(&mut self) -> &mut Parts {
        Arc::make_mut(self.0.get_or_insert_with(spent))
    }

    /// The clauses, owned (copied only when another query still shares them).
    #[inline(never)]
    pub(crate) fn into_parts(mut self) -> Parts {
        Arc::unwrap_or_clone(self.take())
    }

    /// Takes the clauses out, leaving the (shared) empty ones of a spent query.
    #[inline]
    pub(crate) fn take(&mut self) -> Arc<Parts> {
        self.0.take().unwrap_or_else(spent)
    }
}

/// What a spent query's clauses read as (allocated once, shared).
#[cold]
fn spent_shared() -> &'static Arc<Parts> {
    static SPENT: OnceLock<Arc<Parts>> = OnceLock::new();
    SPENT.get_or_init(|| Arc::new(Parts::new(Ident::Borrowed(""))))
}

#[cold]
fn spent() -> Arc<Parts> {
    Arc::clone(spent_shared())
}

impl Drop for Clauses {
    #[inline(never)]
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

impl Clone for Clauses {
    #[inline]
    fn clone(&self) -> Clauses {
        Clauses(ManuallyDrop::new(Some(match &*self.0 {
            Some(parts) => Arc::clone(parts),
            None => spent(),
        })))
    }
}

impl std::ops::Deref for Clauses {
    type Target = Parts;

    #[inline]
    fn deref(&self) -> &Parts {
        match &*self.0 {
            Some(parts) => parts,
            None => spent_shared(),
        }
    }
}

impl std::fmt::Debug for Clauses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Parts::fmt(self, f)
    }
}

/// An [`Error::InvalidQuery`] met while building, kept (cloneable) until the query runs.
pub(crate) type Deferred = (InvalidQueryKind, String);

/// Clones a list without a call when it is empty (the common case for a model query's
/// clauses, cloned on every `Model::query()`).
#[inline]
pub(crate) fn clone_list<T: Clone>(list: &[T]) -> Vec<T> {
    if list.is_empty() {
        Vec::new()
    } else {
        list.to_vec()
    }
}

/// [`clone_list`] for an inline list.
#[inline]
pub(crate) fn clone_small<A: smallvec::Array>(list: &smallvec::SmallVec<A>) -> smallvec::SmallVec<A>
where
    A::Item: Clone,
{
    if list.is_empty() {
        smallvec::SmallVec::new()
    } else {
        list.clone()
    }
}

impl Clone for Parts {
    fn clone(&self) -> Parts {
        Parts {
            ctes: clone_list(&self.ctes),
            table: self.table.clone(),
            from_sub: self.from_sub.clone(),
            columns: self.columns.clone(),
            distinct: self.distinct,
            joins: clone_small(&self.joins),
            wheres: clone_small(&self.wheres),
            scopes: clone_list(&self.scopes),
            groups: clone_list(&self.groups),
            havings: clone_small(&self.havings),
            orders: clone_list(&self.orders),
            orders_before_union: self.orders_before_union,
            limit: self.limit,
            offset: self.offset,
            unions: clone_list(&self.unions),
            lock: self.lock,
            error: self.error.clone(),
            home: self.home,
        }
    }
}

/// Compares lists without a call when both are empty.
#[inline]
fn same_list<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

impl PartialEq for Parts {
    fn eq(&self, other: &Parts) -> bool {
        self.distinct == other.distinct
            && self.limit == other.limit
            && self.offset == other.offset
            && self.lock == other.lock
            && same_list(&self.joins, &other.joins)
            && same_list(&self.wheres, &other.wheres)
            && same_list(&self.scopes, &other.scopes)
            && same_list(&self.groups, &other.groups)
            && same_list(&self.havings, &other.havings)
            && same_list(&self.orders, &other.orders)
            && self.orders_before_union == other.orders_before_union
            && same_list(&self.unions, &other.unions)
            && self.error == other.error
            && self.home == other.home
            && self.columns == other.columns
            && self.table == other.table
            && self.from_sub == other.from_sub
            && same_list(&self.ctes, &other.ctes)
    }
}

impl Parts {
    pub(crate) fn new(table: Ident) -> Parts {
        Parts {
            ctes: Vec::new(),
            table,
            from_sub: None,
            columns: Columns::default(),
            distinct: false,
            joins: Joins::new(),
            wheres: Conditions::new(),
            scopes: Vec::new(),
            groups: Vec::new(),
            havings: Conditions::new(),
            orders: Vec::new(),
            orders_before_union: false,
            limit: None,
            offset: None,
            unions: Vec::new(),
            lock: None,
            error: None,
            home: None,
        }
    }

    pub(crate) fn fail(&mut self, deferred: Deferred) {
        self.error.get_or_insert(deferred);
    }

    pub(crate) fn fail_with(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(deferred(error));
        }
    }
}

/// `error`, to be reported as an [`Error::InvalidQuery`] when the query runs.
pub(crate) fn deferred(error: Error) -> Deferred {
    match error {
        Error::InvalidQuery { kind, message } => (kind, message),
        other => (InvalidQueryKind::Clauses, other.to_string()),
    }
}

/// Splits `expr as alias` (case-insensitive ` as `, the last one) into its parts.
pub(crate) fn split_alias(expr: &str) -> (&str, Option<&str>) {
    let bytes = expr.as_bytes();
    if bytes.len() >= 4 && bytes.contains(&b' ') {
        for i in (0..=bytes.len() - 4).rev() {
            if bytes[i] == b' '
                && bytes[i + 3] == b' '
                && bytes[i + 1].eq_ignore_ascii_case(&b'a')
                && bytes[i + 2].eq_ignore_ascii_case(&b's')
            {
                return (expr[..i].trim_end(), Some(expr[i + 4..].trim_start()));
            }
        }
    }
    (expr, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_split_case_insensitively() {
        assert_eq!(split_alias("users.name AS n"), ("users.name", Some("n")));
        assert_eq!(split_alias("name as  n"), ("name", Some("n")));
        assert_eq!(split_alias("alias"), ("alias", None));
        assert_eq!(split_alias("basket"), ("basket", None));
    }
}
