//! The conditions of a query: the `where_*` family and `having`, each in its `AND` form
//! and its `OR` form (`or_where_*`), written once through a private helper per kind of
//! condition.

use super::clause::{split_alias, Clauses, SelectItem, Selected, Where, WhereKind};
use super::operator::{IntoOperator, Operator};
use super::{bindings, Ident, Parts, Query};
use crate::dialect::{DatePart, TextMatch};
use crate::value::{ToValue, Value};

/// Appends a condition to the `WHERE` list (or, with `having`, the `HAVING` list), out
/// of line: the list's growth and the copy of shared clauses are compiled once here
/// rather than in every model's builder calls, and the condition moves straight in
/// (nothing between its making and its move that could unwind and drop it).
#[inline(never)]
fn push_condition(clauses: &mut Clauses, having: bool, condition: Where) {
    let parts = clauses.make_mut();
    if having {
        parts.havings.push(condition);
    } else {
        parts.wheres.push(condition);
    }
}

/// Records a building error (the first one wins), out of line like [`push_condition`].
#[cold]
#[inline(never)]
fn fail_with(clauses: &mut Clauses, error: crate::Error) {
    clauses.make_mut().fail_with(error);
}

/// Appends `inner`'s conditions as one parenthesized group (none when it has none),
/// keeping `inner`'s building error.
fn push_group(clauses: &mut Clauses, or: bool, inner: super::Parts, not: bool) {
    if let Some(message) = inner.error {
        clauses.make_mut().fail(message);
    }
    if !inner.wheres.is_empty() {
        let conditions = inner.wheres.into_vec();
        let kind = if not {
            WhereKind::NotGroup(conditions)
        } else {
            WhereKind::Group(conditions)
        };
        push_condition(clauses, false, Where { or, kind });
    }
}

/// Brackets the conditions from `before` on into one condition when they hold an `OR`,
/// and those before `before` likewise, so that neither side's `OR` reaches the other:
/// `a AND b` and a callback's `c OR d` become `a AND b AND (c OR d)`, not
/// `a AND b AND c OR d`. (Eloquent does the same around scopes and relation callbacks.)
#[inline(never)]
fn bracket_conditions_from(clauses: &mut Clauses, before: usize) {
    let wheres = &clauses.wheres;
    if wheres.len() <= before {
        return;
    }
    // The first condition's boolean joins it to nothing, so it is not an `OR` here;
    // the first added one's joins it to those before.
    let old_or = wheres[..before].iter().skip(1).any(|w| w.or);
    let new_or = wheres[before..].iter().any(|w| w.or) && wheres.len() - before > 1;
    if !old_or && !new_or {
        if before > 0 && wheres[before].or {
            // A lone `or_where` from the callback: a constraint narrows, never widens.
            clauses.make_mut().wheres[before].or = false;
        }
        return;
    }
    let parts = clauses.make_mut();
    let mut old = std::mem::take(&mut parts.wheres).into_vec();
    let new = old.split_off(before);
    for (slice, grouped) in [(old, old_or), (new, new_or)] {
        if slice.is_empty() {
            continue;
        }
        if grouped {
            parts.wheres.push(Where {
                or: false,
                kind: WhereKind::Group(slice),
            });
        } else {
            let first = parts.wheres.len();
            parts.wheres.extend(slice);
            if let Some(w) = parts.wheres.get_mut(first) {
                w.or = false;
            }
        }
    }
}

/// A date-time compared with a part of a date is that part of it, as Laravel formats a
/// `DateTimeInterface` (`Y-m-d`, `Y`, `m`, `d`): `where_date("created_at", "=", now)`
/// matches the rows of today, on every backend. (A `DateTime<Utc>` gives its UTC date.)
fn date_part_value(part: DatePart, value: Value) -> Value {
    use chrono::Datelike;
    if part == DatePart::Time {
        return time_of_day_value(value);
    }
    let date = match &value {
        Value::DateTime(v) => v.date(),
        Value::DateTimeUtc(v) => v.date_naive(),
        Value::Date(v) if !matches!(part, DatePart::Date) => *v,
        _ => return value,
    };
    match part {
        DatePart::Date => Value::Date(date),
        DatePart::Year => Value::Int(date.year().into()),
        DatePart::Month => Value::Int(date.month().into()),
        DatePart::Day => Value::Int(date.day().into()),
        DatePart::Time => value,
    }
}

/// `where_time`'s value: a time or date-time is its time of day as `HH:MM:SS` text (a
/// `DateTime<Utc>` its UTC time), what every backend's operand is; text is the caller's.
fn time_of_day_value(value: Value) -> Value {
    let time = match &value {
        Value::Time(v) => *v,
        Value::DateTime(v) => v.time(),
        Value::DateTimeUtc(v) => v.time(),
        _ => return value,
    };
    Value::Text(time.format("%H:%M:%S").to_string())
}

/// The boolean joining a condition to the previous one.
const AND: bool = false;
const OR: bool = true;

impl<T> Query<T> {
    /// `f(self)`, with the conditions `f` adds bracketed when they hold an `OR` (see
    /// [`bracket_conditions_from`]): how a callback constrains a relation's rows
    /// (`where_has`, a relation's declared constraint, an eager-loading constraint, a
    /// model's global scopes inside `has`).
    pub(crate) fn bracketed(self, f: impl FnOnce(Self) -> Self) -> Self {
        let before = self.parts.wheres.len();
        let mut query = f(self);
        bracket_conditions_from(&mut query.parts, before);
        query
    }

    /// Applies a local scope the way Orator and Eloquent call one (`callScope`): when
    /// the query's conditions so far or the scope's own hold an `OR`, each side is
    /// grouped, so `User::where_eq("a", 1).or_where_eq("b", 2)` then a scope adding
    /// `votes > 100` reads `(a = 1 OR b = 2) AND votes > 100`, not `a = 1 OR (b = 2 AND
    /// votes > 100)`. Write a chainable scope as `self.call_scope(|q| q.where_(..))`.
    pub fn call_scope(self, scope: impl FnOnce(Self) -> Self) -> Self {
        self.bracketed(scope)
    }

    // ----- one helper per kind of condition --------------------------------------------

    fn push_where(mut self, or: bool, kind: WhereKind) -> Self {
        push_condition(&mut self.parts, false, Where { or, kind });
        self
    }

    /// The operator, or `None` with an unknown one recorded (reported as
    /// `Error::InvalidQuery` by the terminal method).
    pub(crate) fn operator(&mut self, op: impl IntoOperator) -> Option<Operator> {
        match op.into_operator() {
            Ok(op) => Some(op),
            Err(error) => {
                fail_with(&mut self.parts, error);
                None
            }
        }
    }

    fn push_compared(
        mut self,
        or: bool,
        op: impl IntoOperator,
        make: impl FnOnce(Operator) -> WhereKind,
    ) -> Self {
        match self.operator(op) {
            Some(op) => self.push_where(or, make(op)),
            None => self,
        }
    }

    /// `column op value`. NULL compares only by `=` / `<>` (`IS NULL` / `IS NOT NULL`):
    /// `votes > NULL` is never true, so a query asking for it is refused (as Laravel's
    /// "illegal operator and value combination") rather than quietly matching no row.
    fn basic(mut self, or: bool, column: Ident, op: impl IntoOperator, value: Value) -> Self {
        let Some(op) = self.operator(op) else {
            return self;
        };
        if value.is_null() && !matches!(op, Operator::Eq | Operator::NotEq) {
            return self.fail(
                crate::error::InvalidQueryKind::Operator,
                format!(
                    "`{column} {op} NULL` is never true: compare with NULL by `=` or `<>` \
                     (where_null / where_not_null), or pass a value"
                ),
            );
        }
        self.push_where(or, WhereKind::Basic { column, op, value })
    }

    fn group(mut self, or: bool, f: impl FnOnce(Self) -> Self) -> Self {
        let inner = self.group_conditions(f);
        push_group(&mut self.parts, or, inner, false);
        self
    }

    fn not_group(mut self, or: bool, f: impl FnOnce(Self) -> Self) -> Self {
        let inner = self.group_conditions(f);
        push_group(&mut self.parts, or, inner, true);
        self
    }

    /// What `f` builds on a fresh query holding this one's scopes. A scope `f` removes
    /// (a local scope that calls `without_scope`) is removed from this query, as Eloquent
    /// merges a nested where's removed scopes.
    fn group_conditions(&mut self, f: impl FnOnce(Self) -> Self) -> super::Parts {
        let mut fresh = self.fresh();
        if self.parts.scopes.is_empty() {
            return f(fresh).into_parts();
        }
        fresh.parts_mut().scopes = self.parts.scopes.clone();
        let inner = f(fresh).into_parts();
        let kept = |name: &Ident| inner.scopes.iter().any(|(n, _)| n == name);
        if !self.parts.scopes.iter().all(|(name, _)| kept(name)) {
            self.parts_mut().scopes.retain(|(name, _)| kept(name));
        }
        inner
    }

    fn in_list<V: Into<Value>>(
        self,
        or: bool,
        column: Ident,
        values: impl IntoIterator<Item = V>,
        not: bool,
    ) -> Self {
        let values = values.into_iter().map(Into::into);
        // `NOT IN (1, NULL)` is never true: NULL is no value to leave out, so it is
        // dropped (as Django does); in `IN (..)` it matches nothing either way.
        let values = if not {
            values.filter(|v| !v.is_null()).collect()
        } else {
            values.collect()
        };
        self.push_where(
            or,
            WhereKind::In {
                column,
                values,
                not,
            },
        )
    }

    fn in_sub<U>(self, or: bool, column: Ident, query: Query<U>, not: bool) -> Self {
        let query = Box::new(query.into_parts());
        if query.columns.len() > 1 {
            return self.fail(
                crate::error::InvalidQueryKind::Clauses,
                format!(
                    "the subquery of `{column} IN (...)` selects {} columns: select the one \
                     column to compare",
                    query.columns.len()
                ),
            );
        }
        self.push_where(or, WhereKind::InSub { column, query, not })
    }

    fn null(self, or: bool, column: Ident, not: bool) -> Self {
        self.push_where(or, WhereKind::Null { column, not })
    }

    fn between(self, or: bool, column: Ident, low: Value, high: Value, not: bool) -> Self {
        let kind = WhereKind::Between {
            column,
            low,
            high,
            not,
        };
        self.push_where(or, kind)
    }

    fn text_match(self, or: bool, column: Ident, kind: TextMatch, text: &str) -> Self {
        let text = text.to_owned();
        self.push_where(or, WhereKind::Text { column, kind, text })
    }

    fn column_cmp(self, or: bool, first: Ident, op: impl IntoOperator, second: Ident) -> Self {
        self.push_compared(or, op, |op| WhereKind::Column { first, op, second })
    }

    fn exists_sub<U>(self, or: bool, query: Query<U>, not: bool) -> Self {
        let query = Box::new(query.into_parts());
        self.push_where(or, WhereKind::Exists { query, not })
    }

    fn sub_compare<U>(
        self,
        or: bool,
        query: Query<U>,
        op: impl IntoOperator,
        value: Value,
    ) -> Self {
        let query = Box::new(query.into_parts());
        self.push_compared(or, op, |op| WhereKind::SubCompare { query, op, value })
    }

    fn column_sub<U>(
        self,
        or: bool,
        column: Ident,
        op: impl IntoOperator,
        query: Query<U>,
    ) -> Self {
        let query = Box::new(query.into_parts());
        self.push_compared(or, op, |op| WhereKind::ColumnSub { column, op, query })
    }

    fn date(
        self,
        or: bool,
        part: DatePart,
        column: Ident,
        op: impl IntoOperator,
        value: Value,
    ) -> Self {
        let value = date_part_value(part, value);
        self.push_compared(or, op, |op| WhereKind::Date {
            column,
            part,
            op,
            value,
        })
    }

    fn raw(mut self, or: bool, sql: Ident, values: &[&dyn ToValue]) -> Self {
        let bindings = bindings(self.parts_mut(), values);
        self.push_where(or, WhereKind::Raw { sql, bindings })
    }

    fn push_having(mut self, or: bool, kind: WhereKind) -> Self {
        push_condition(&mut self.parts, true, Where { or, kind });
        self
    }

    // ----- comparisons ------------------------------------------------------------------

    /// `column op value`. `op` is an [`Operator`] or its text: one of `= < > <= >= <> !=
    /// like, not like, ilike, not ilike` (case-insensitive); any other text makes the
    /// query fail with [`crate::Error::InvalidQuery`]. Comparing with NULL (`None`) by
    /// `=` / `<>` renders `IS NULL` / `IS NOT NULL`.
    pub fn where_(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.basic(AND, column.into(), op, value.into())
    }

    /// `OR column op value`.
    pub fn or_where(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.basic(OR, column.into(), op, value.into())
    }

    /// `column = value`.
    pub fn where_eq(self, column: impl Into<Ident>, value: impl Into<Value>) -> Self {
        self.basic(AND, column.into(), Operator::Eq, value.into())
    }

    /// `OR column = value`.
    pub fn or_where_eq(self, column: impl Into<Ident>, value: impl Into<Value>) -> Self {
        self.basic(OR, column.into(), Operator::Eq, value.into())
    }

    /// `first op second`, comparing two columns.
    pub fn where_column(
        self,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.column_cmp(AND, first.into(), op, second.into())
    }

    /// `OR first op second`.
    pub fn or_where_column(
        self,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.column_cmp(OR, first.into(), op, second.into())
    }

    /// `(SELECT ...) op value`: compares a single-value subquery (e.g. a count).
    pub fn where_sub<U>(
        self,
        query: Query<U>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.sub_compare(AND, query, op, value.into())
    }

    /// `OR (SELECT ...) op value`.
    pub fn or_where_sub<U>(
        self,
        query: Query<U>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.sub_compare(OR, query, op, value.into())
    }

    /// `column op (SELECT ...)`: compares a column with a single-value subquery
    /// (Eloquent's `where($column, $operator, fn ($query) => ...)`):
    /// `where_column_sub("price", ">", DB::table("products").select_raw("AVG(price)", &[]))`.
    /// The subquery may name the enclosing query's tables (a correlated subquery).
    pub fn where_column_sub<U>(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        query: Query<U>,
    ) -> Self {
        self.column_sub(AND, column.into(), op, query)
    }

    /// `OR column op (SELECT ...)`.
    pub fn or_where_column_sub<U>(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        query: Query<U>,
    ) -> Self {
        self.column_sub(OR, column.into(), op, query)
    }

    // ----- JSON ---------------------------------------------------------------------------
    //
    // A column may also name a path inside a JSON document in every condition and order:
    // `where_eq("options->language", "en")` (Laravel's arrow syntax).

    /// Only rows whose JSON at `column` (a path allowed: `options->languages`) contains
    /// `value` (Laravel's `whereJsonContains`): an array holding it, or each element of
    /// an array given: `where_json_contains("options->languages", "en")`,
    /// `where_json_contains("tags", serde_json::json!(["a", "b"]))`. On SQLite (no
    /// containment test there) only scalars, or arrays of scalars, can be looked for.
    #[cfg(feature = "json")]
    pub fn where_json_contains(
        self,
        column: impl Into<Ident>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.json_contains(AND, column.into(), value.into(), false)
    }

    /// `OR` [`Query::where_json_contains`].
    #[cfg(feature = "json")]
    pub fn or_where_json_contains(
        self,
        column: impl Into<Ident>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.json_contains(OR, column.into(), value.into(), false)
    }

    /// Only rows whose JSON at `column` does not contain `value` (Laravel's
    /// `whereJsonDoesntContain`). A row without the path (NULL) matches neither form.
    #[cfg(feature = "json")]
    pub fn where_json_doesnt_contain(
        self,
        column: impl Into<Ident>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.json_contains(AND, column.into(), value.into(), true)
    }

    /// `OR` [`Query::where_json_doesnt_contain`].
    #[cfg(feature = "json")]
    pub fn or_where_json_doesnt_contain(
        self,
        column: impl Into<Ident>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.json_contains(OR, column.into(), value.into(), true)
    }

    /// Only rows whose JSON array at `column` has a number of elements that compares
    /// with `length` (Laravel's `whereJsonLength`): `where_json_length("tags", ">", 1)`.
    pub fn where_json_length(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        length: i64,
    ) -> Self {
        let column = column.into();
        self.push_compared(AND, op, |op| WhereKind::JsonLength {
            column,
            op,
            value: Value::Int(length),
        })
    }

    /// `OR` [`Query::where_json_length`].
    pub fn or_where_json_length(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        length: i64,
    ) -> Self {
        let column = column.into();
        self.push_compared(OR, op, |op| WhereKind::JsonLength {
            column,
            op,
            value: Value::Int(length),
        })
    }

    /// Only rows whose JSON document has the path (Laravel's `whereJsonContainsKey`):
    /// `where_json_contains_key("options->languages->en")`, `"tags->[2]"` (an array
    /// with a third element). A key holding JSON `null` is there.
    pub fn where_json_contains_key(self, path: impl Into<Ident>) -> Self {
        let column = path.into();
        self.push_where(AND, WhereKind::JsonHasPath { column, not: false })
    }

    /// `OR` [`Query::where_json_contains_key`].
    pub fn or_where_json_contains_key(self, path: impl Into<Ident>) -> Self {
        let column = path.into();
        self.push_where(OR, WhereKind::JsonHasPath { column, not: false })
    }

    /// Only rows whose JSON document lacks the path (Laravel's
    /// `whereJsonDoesntContainKey`); a NULL document lacks every path.
    pub fn where_json_doesnt_contain_key(self, path: impl Into<Ident>) -> Self {
        let column = path.into();
        self.push_where(AND, WhereKind::JsonHasPath { column, not: true })
    }

    /// `OR` [`Query::where_json_doesnt_contain_key`].
    pub fn or_where_json_doesnt_contain_key(self, path: impl Into<Ident>) -> Self {
        let column = path.into();
        self.push_where(OR, WhereKind::JsonHasPath { column, not: true })
    }

    #[cfg(feature = "json")]
    fn json_contains(self, or: bool, column: Ident, value: serde_json::Value, not: bool) -> Self {
        self.push_where(or, WhereKind::JsonContains { column, value, not })
    }

    // ----- groups -----------------------------------------------------------------------

    /// A parenthesised group of conditions built by `f`: `AND (a OR b)`.
    pub fn where_group(self, f: impl FnOnce(Self) -> Self) -> Self {
        self.group(AND, f)
    }

    /// `OR (...)`, a group built by `f`.
    pub fn or_where_group(self, f: impl FnOnce(Self) -> Self) -> Self {
        self.group(OR, f)
    }

    /// `AND NOT (...)`, a group built by `f` negated (Eloquent's `whereNot`):
    /// `where_not(|q| q.where_eq("status", "banned").or_where("votes", "<", 0))`. A NULL
    /// inside makes `NOT (...)` unknown, so such a row matches neither the group nor
    /// its negation, as in SQL.
    pub fn where_not(self, f: impl FnOnce(Self) -> Self) -> Self {
        self.not_group(AND, f)
    }

    /// `OR NOT (...)` (see [`Query::where_not`]).
    pub fn or_where_not(self, f: impl FnOnce(Self) -> Self) -> Self {
        self.not_group(OR, f)
    }

    /// At least one of `columns` compares with `value` (Laravel's `whereAny`):
    /// `where_any(&["name", "email"], "like", "%ada%")` is `AND (name LIKE ? OR email
    /// LIKE ?)`.
    pub fn where_any(
        self,
        columns: &[&str],
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.each_column(AND, columns, op, value.into(), ColumnsMatch::Any)
    }

    /// Every one of `columns` compares with `value` (Laravel's `whereAll`): `AND (a op ?
    /// AND b op ?)`.
    pub fn where_all(
        self,
        columns: &[&str],
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.each_column(AND, columns, op, value.into(), ColumnsMatch::All)
    }

    /// None of `columns` compares with `value` (Laravel's `whereNone`): `AND NOT (a op ?
    /// OR b op ?)` (a NULL column makes its comparison unknown, as in SQL).
    pub fn where_none(
        self,
        columns: &[&str],
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.each_column(AND, columns, op, value.into(), ColumnsMatch::None)
    }

    /// `OR` at least one of `columns` compares with `value`.
    pub fn or_where_any(
        self,
        columns: &[&str],
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.each_column(OR, columns, op, value.into(), ColumnsMatch::Any)
    }

    fn each_column(
        mut self,
        or: bool,
        columns: &[&str],
        op: impl IntoOperator,
        value: Value,
        matching: ColumnsMatch,
    ) -> Self {
        let Some(op) = self.operator(op) else {
            return self;
        };
        let compare = |q: Self| {
            columns.iter().fold(q, |q, column| match matching {
                ColumnsMatch::All => q.where_((*column).to_owned(), op, value.clone()),
                ColumnsMatch::Any | ColumnsMatch::None => {
                    q.or_where((*column).to_owned(), op, value.clone())
                }
            })
        };
        match (matching, or) {
            (ColumnsMatch::None, false) => self.where_not(compare),
            (ColumnsMatch::None, true) => self.or_where_not(compare),
            (_, false) => self.where_group(compare),
            (_, true) => self.or_where_group(compare),
        }
    }

    // ----- lists and subqueries -----------------------------------------------------------

    /// `column IN (values)`. An empty list matches nothing (renders `1 = 0`).
    pub fn where_in<V: Into<Value>>(
        self,
        column: impl Into<Ident>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.in_list(AND, column.into(), values, false)
    }

    /// `OR column IN (values)`.
    pub fn or_where_in<V: Into<Value>>(
        self,
        column: impl Into<Ident>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.in_list(OR, column.into(), values, false)
    }

    /// `column NOT IN (values)`. An empty list matches everything (renders `1 = 1`). A
    /// NULL in the list is left out (SQL's `NOT IN (1, NULL)` would match no row); rows
    /// whose `column` is NULL never match, as with `!=`.
    pub fn where_not_in<V: Into<Value>>(
        self,
        column: impl Into<Ident>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.in_list(AND, column.into(), values, true)
    }

    /// `OR column NOT IN (values)`.
    pub fn or_where_not_in<V: Into<Value>>(
        self,
        column: impl Into<Ident>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.in_list(OR, column.into(), values, true)
    }

    /// `column IN (SELECT ...)`.
    pub fn where_in_sub<U>(self, column: impl Into<Ident>, query: Query<U>) -> Self {
        self.in_sub(AND, column.into(), query, false)
    }

    /// `OR column IN (SELECT ...)`.
    pub fn or_where_in_sub<U>(self, column: impl Into<Ident>, query: Query<U>) -> Self {
        self.in_sub(OR, column.into(), query, false)
    }

    /// `column NOT IN (SELECT ...)`.
    pub fn where_not_in_sub<U>(self, column: impl Into<Ident>, query: Query<U>) -> Self {
        self.in_sub(AND, column.into(), query, true)
    }

    /// `OR column NOT IN (SELECT ...)`.
    pub fn or_where_not_in_sub<U>(self, column: impl Into<Ident>, query: Query<U>) -> Self {
        self.in_sub(OR, column.into(), query, true)
    }

    /// `EXISTS (SELECT ...)`.
    pub fn where_exists<U>(self, query: Query<U>) -> Self {
        self.exists_sub(AND, query, false)
    }

    /// `OR EXISTS (SELECT ...)`.
    pub fn or_where_exists<U>(self, query: Query<U>) -> Self {
        self.exists_sub(OR, query, false)
    }

    /// `NOT EXISTS (SELECT ...)`.
    pub fn where_not_exists<U>(self, query: Query<U>) -> Self {
        self.exists_sub(AND, query, true)
    }

    /// `OR NOT EXISTS (SELECT ...)`.
    pub fn or_where_not_exists<U>(self, query: Query<U>) -> Self {
        self.exists_sub(OR, query, true)
    }

    // ----- NULL and ranges --------------------------------------------------------------

    /// `column IS NULL`.
    pub fn where_null(self, column: impl Into<Ident>) -> Self {
        self.null(AND, column.into(), false)
    }

    /// `OR column IS NULL`.
    pub fn or_where_null(self, column: impl Into<Ident>) -> Self {
        self.null(OR, column.into(), false)
    }

    /// `column IS NOT NULL`.
    pub fn where_not_null(self, column: impl Into<Ident>) -> Self {
        self.null(AND, column.into(), true)
    }

    /// `OR column IS NOT NULL`.
    pub fn or_where_not_null(self, column: impl Into<Ident>) -> Self {
        self.null(OR, column.into(), true)
    }

    /// `column BETWEEN low AND high` (inclusive).
    pub fn where_between(
        self,
        column: impl Into<Ident>,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        self.between(AND, column.into(), low.into(), high.into(), false)
    }

    /// `OR column BETWEEN low AND high`.
    pub fn or_where_between(
        self,
        column: impl Into<Ident>,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        self.between(OR, column.into(), low.into(), high.into(), false)
    }

    /// `column NOT BETWEEN low AND high`.
    pub fn where_not_between(
        self,
        column: impl Into<Ident>,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        self.between(AND, column.into(), low.into(), high.into(), true)
    }

    /// `OR column NOT BETWEEN low AND high`.
    pub fn or_where_not_between(
        self,
        column: impl Into<Ident>,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        self.between(OR, column.into(), low.into(), high.into(), true)
    }

    /// `column` lies between two other columns of the row, bounds included (Laravel's
    /// `whereBetweenColumns`): `where_between_columns("weight", "min_weight",
    /// "max_weight")`.
    pub fn where_between_columns(
        self,
        column: impl Into<Ident>,
        low: impl Into<Ident>,
        high: impl Into<Ident>,
    ) -> Self {
        self.between_columns(AND, column.into(), low.into(), high.into(), false)
    }

    /// `OR` `column` lies between two other columns.
    pub fn or_where_between_columns(
        self,
        column: impl Into<Ident>,
        low: impl Into<Ident>,
        high: impl Into<Ident>,
    ) -> Self {
        self.between_columns(OR, column.into(), low.into(), high.into(), false)
    }

    /// `column` lies outside two other columns (`NOT (low <= column <= high)`).
    pub fn where_not_between_columns(
        self,
        column: impl Into<Ident>,
        low: impl Into<Ident>,
        high: impl Into<Ident>,
    ) -> Self {
        self.between_columns(AND, column.into(), low.into(), high.into(), true)
    }

    fn between_columns(self, or: bool, column: Ident, low: Ident, high: Ident, not: bool) -> Self {
        let within = |q: Self| {
            q.where_column(column.clone(), Operator::Ge, low)
                .where_column(column, Operator::Le, high)
        };
        match (or, not) {
            (false, false) => self.where_group(within),
            (true, false) => self.or_where_group(within),
            (false, true) => self.where_not(within),
            (true, true) => self.or_where_not(within),
        }
    }

    // ----- patterns and literal text ------------------------------------------------------

    /// `column LIKE pattern`: `%` matches any text, `_` one character, and `\` escapes
    /// the next character (`50\%` matches `50%`), the same on every backend. A pattern
    /// ending in a lone `\`, or longer than the backend accepts (50 000 bytes on SQLite),
    /// makes the query fail with [`crate::Error::InvalidQuery`]. To match user text
    /// literally use [`Query::where_contains`] and its siblings.
    ///
    /// Note: SQLite's `LIKE` ignores ASCII case, PostgreSQL's does not; use
    /// `where_("col", Operator::ILike, ..)` for case-insensitive matching on both.
    pub fn where_like(self, column: impl Into<Ident>, pattern: impl Into<Value>) -> Self {
        self.basic(AND, column.into(), Operator::Like, pattern.into())
    }

    /// `OR column LIKE pattern`.
    pub fn or_where_like(self, column: impl Into<Ident>, pattern: impl Into<Value>) -> Self {
        self.basic(OR, column.into(), Operator::Like, pattern.into())
    }

    /// `column NOT LIKE pattern`.
    pub fn where_not_like(self, column: impl Into<Ident>, pattern: impl Into<Value>) -> Self {
        self.basic(AND, column.into(), Operator::NotLike, pattern.into())
    }

    /// `OR column NOT LIKE pattern`.
    pub fn or_where_not_like(self, column: impl Into<Ident>, pattern: impl Into<Value>) -> Self {
        self.basic(OR, column.into(), Operator::NotLike, pattern.into())
    }

    /// The column contains `text` literally: `%`, `_` and `\` in it are not wildcards
    /// (for a search box). Case sensitivity is `LIKE`'s: ASCII case is ignored on SQLite,
    /// not on PostgreSQL. Any length works: on SQLite, text too long for a `LIKE` pattern
    /// is matched without one, with the same answer.
    pub fn where_contains(self, column: impl Into<Ident>, text: &str) -> Self {
        self.text_match(AND, column.into(), TextMatch::Contains, text)
    }

    /// `OR` the column contains `text` literally (see [`Query::where_contains`]).
    pub fn or_where_contains(self, column: impl Into<Ident>, text: &str) -> Self {
        self.text_match(OR, column.into(), TextMatch::Contains, text)
    }

    /// The column starts with `text` literally (see [`Query::where_contains`]).
    pub fn where_starts_with(self, column: impl Into<Ident>, text: &str) -> Self {
        self.text_match(AND, column.into(), TextMatch::StartsWith, text)
    }

    /// `OR` the column starts with `text` literally (see [`Query::where_contains`]).
    pub fn or_where_starts_with(self, column: impl Into<Ident>, text: &str) -> Self {
        self.text_match(OR, column.into(), TextMatch::StartsWith, text)
    }

    /// The column ends with `text` literally (see [`Query::where_contains`]).
    pub fn where_ends_with(self, column: impl Into<Ident>, text: &str) -> Self {
        self.text_match(AND, column.into(), TextMatch::EndsWith, text)
    }

    /// `OR` the column ends with `text` literally (see [`Query::where_contains`]).
    pub fn or_where_ends_with(self, column: impl Into<Ident>, text: &str) -> Self {
        self.text_match(OR, column.into(), TextMatch::EndsWith, text)
    }

    // ----- parts of dates -----------------------------------------------------------------

    /// Compares the date part of a date/time column: `where_date("created_at", "=",
    /// NaiveDate)` (a `YYYY-MM-DD` string works too).
    pub fn where_date(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(AND, DatePart::Date, column.into(), op, value.into())
    }

    /// `OR` the date part of a date/time column compares (see [`Query::where_date`]).
    pub fn or_where_date(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(OR, DatePart::Date, column.into(), op, value.into())
    }

    /// Compares the year of a date/time column with an integer.
    pub fn where_year(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(AND, DatePart::Year, column.into(), op, value.into())
    }

    /// `OR` the year of a date/time column compares with an integer.
    pub fn or_where_year(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(OR, DatePart::Year, column.into(), op, value.into())
    }

    /// Compares the month (1-12) of a date/time column with an integer.
    pub fn where_month(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(AND, DatePart::Month, column.into(), op, value.into())
    }

    /// `OR` the month (1-12) of a date/time column compares with an integer.
    pub fn or_where_month(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(OR, DatePart::Month, column.into(), op, value.into())
    }

    /// Compares the day of the month of a date/time column with an integer.
    pub fn where_day(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(AND, DatePart::Day, column.into(), op, value.into())
    }

    /// `OR` the day of the month of a date/time column compares with an integer.
    pub fn or_where_day(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(OR, DatePart::Day, column.into(), op, value.into())
    }

    /// Compares the time of day of a date/time or time column, to the second, with a
    /// time (`NaiveTime`, or a date-time's time of day) or `"HH:MM:SS"` text:
    /// `where_time("starts_at", ">=", "09:00:00")`. The fraction of a second is dropped on
    /// both sides; a `DateTime<Utc>` gives its UTC time, as stored instants are compared.
    pub fn where_time(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(AND, DatePart::Time, column.into(), op, value.into())
    }

    /// `OR` the time of day of a date/time column compares (see [`Query::where_time`]).
    pub fn or_where_time(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.date(OR, DatePart::Time, column.into(), op, value.into())
    }

    // ----- raw SQL and conditional clauses --------------------------------------------------

    /// Raw SQL condition with `?` placeholders: `where_raw("votes > ? * 2", &[&10])`.
    /// Explicitly raw: never pass user input as `sql`.
    pub fn where_raw(self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        self.raw(AND, sql.into(), bindings)
    }

    /// `OR` raw SQL condition.
    pub fn or_where_raw(self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        self.raw(OR, sql.into(), bindings)
    }

    /// Applies `f` only when `condition` holds: `.when(only_active, |q| q.where_eq("active", true))`.
    pub fn when(self, condition: bool, f: impl FnOnce(Self) -> Self) -> Self {
        if condition {
            f(self)
        } else {
            self
        }
    }

    /// Applies `f` only when `condition` does not hold (Laravel's `unless`).
    pub fn unless(self, condition: bool, f: impl FnOnce(Self) -> Self) -> Self {
        self.when(!condition, f)
    }

    /// Applies `f` when `condition` holds, else `otherwise` (Laravel's `when` with its
    /// default callback): `.when_else(by_name, |q| q.order_by("name"), |q| q.latest())`.
    pub fn when_else(
        self,
        condition: bool,
        f: impl FnOnce(Self) -> Self,
        otherwise: impl FnOnce(Self) -> Self,
    ) -> Self {
        if condition {
            f(self)
        } else {
            otherwise(self)
        }
    }

    // ----- HAVING -------------------------------------------------------------------------

    /// `HAVING column op value`. `column` may be the alias of a `select_raw` expression
    /// or a `select_sub` given before (`select_raw("COUNT(*) AS n", &[])` then
    /// `having("n", ">", 1)`): the condition repeats the expression, since PostgreSQL
    /// does not accept select aliases in `HAVING`.
    pub fn having(
        mut self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        let (column, value) = (column.into(), value.into());
        match self.operator(op) {
            Some(op) => {
                let kind = self.having_kind(column, op, value);
                self.push_having(AND, kind)
            }
            None => self,
        }
    }

    /// `OR column op value` in `HAVING` (an alias as in [`Query::having`]).
    pub fn or_having(
        mut self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        let (column, value) = (column.into(), value.into());
        match self.operator(op) {
            Some(op) => {
                let kind = self.having_kind(column, op, value);
                self.push_having(OR, kind)
            }
            None => self,
        }
    }

    /// `column op value`, or the aliased expression compared when `column` is the alias
    /// of a raw selected expression or a subselect and `op` a plain comparison.
    fn having_kind(&self, column: Ident, op: Operator, value: Value) -> WhereKind {
        // A comparison's symbol is the same on every backend (its `Display`).
        if op.is_like() || value.is_null() {
            return WhereKind::Basic { column, op, value };
        }
        match self.aliased_expression(&column) {
            Some(Aliased::Raw(expression, mut bindings)) => {
                bindings.push(value);
                WhereKind::Raw {
                    sql: Ident::Owned(format!("({expression}) {op} ?")),
                    bindings,
                }
            }
            Some(Aliased::Sub(query)) => WhereKind::SubCompare { query, op, value },
            None => WhereKind::Basic { column, op, value },
        }
    }

    /// What the select alias `column` names, for a `HAVING` condition on it: PostgreSQL
    /// does not accept select aliases there, so the condition repeats the expression
    /// (a raw expression with its bindings, or the subselect).
    fn aliased_expression(&self, column: &str) -> Option<Aliased> {
        if column.contains('.') {
            return None;
        }
        let named = |alias: &str| alias.trim_matches(['"', '`']) == column;
        self.parts.columns.iter().find_map(|item| match item {
            Selected::Item(SelectItem::Raw(sql, bindings)) => match split_alias(sql) {
                (expression, Some(alias)) if named(alias) => {
                    Some(Aliased::Raw(expression.to_owned(), bindings.clone()))
                }
                _ => None,
            },
            Selected::Item(SelectItem::Sub(query, alias)) if named(alias) => {
                Some(Aliased::Sub(query.clone()))
            }
            _ => None,
        })
    }

    /// `HAVING column BETWEEN low AND high` (Laravel's `havingBetween`); `column` may be a
    /// `select_raw` alias, as in [`Query::having`].
    pub fn having_between(
        self,
        column: impl Into<Ident>,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        let (column, low, high) = (column.into(), low.into(), high.into());
        let kind = match self.aliased_expression(&column) {
            Some(Aliased::Raw(expression, mut bindings)) => {
                bindings.extend([low, high]);
                WhereKind::Raw {
                    sql: Ident::Owned(format!("({expression}) BETWEEN ? AND ?")),
                    bindings,
                }
            }
            _ => WhereKind::Between {
                column,
                low,
                high,
                not: false,
            },
        };
        self.push_having(AND, kind)
    }

    /// Raw `HAVING` condition: `having_raw("COUNT(*) > ?", &[&1])`.
    pub fn having_raw(mut self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        let kind = WhereKind::Raw {
            sql: sql.into(),
            bindings: super::bindings(self.parts_mut(), bindings),
        };
        self.push_having(AND, kind)
    }

    /// `OR` raw `HAVING` condition: `or_having_raw("SUM(votes) > ?", &[&100])`.
    pub fn or_having_raw(mut self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        let kind = WhereKind::Raw {
            sql: sql.into(),
            bindings: super::bindings(self.parts_mut(), bindings),
        };
        self.push_having(OR, kind)
    }
}

/// How [`Query::where_any`] and its siblings join their columns' comparisons.
#[derive(Clone, Copy)]
enum ColumnsMatch {
    Any,
    All,
    None,
}

/// The expression a select alias names (see `Query::aliased_expression`).
enum Aliased {
    Raw(String, Vec<Value>),
    Sub(Box<Parts>),
}
