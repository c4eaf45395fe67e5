//! The shape of a query: everything its SQL text depends on (identifiers, operators,
//! clause kinds, how many values a list binds, `LIMIT`), without the values it binds.
//! Two queries of one shape render the same SQL on one dialect, so the text rendered for
//! the first is reused for the next (see [`ShapeCache`]) and only the values are
//! collected again. A query builder called with the same arguments in a loop renders
//! once.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::clause::{Group, Ident, Join, Order, Parts, SelectItem, Selected, Where, WhereKind};
use crate::dialect::Dialect;
use crate::value::Value;

fn walk_orders(orders: &[Order], v: &mut ShapeWriter<'_>) -> bool {
    v.number(orders.len() as u64);
    for order in orders {
        match order {
            Order::Column(column, desc) => {
                v.number(u64::from(*desc));
                v.text(column);
            }
            Order::Raw(sql, bindings) => {
                v.number(2);
                v.text(sql);
                v.number(bindings.len() as u64);
            }
            Order::Random => v.number(3),
            Order::Nulls(column, desc, first) => {
                v.number(6 + u64::from(*desc) + 2 * u64::from(*first));
                v.text(column);
            }
            Order::Sub(sub, desc, nulls) => {
                let nulls = match nulls {
                    None => 0,
                    Some(first) => 10 + 2 * u64::from(*first),
                };
                v.number(4 + u64::from(*desc) + nulls);
                if !walk(sub, v) {
                    return false;
                }
            }
        }
    }
    true
}

/// Writes the shape of `parts` out through `v`. `false` when the query is not to be cached (a clause
/// whose text depends on a bound value, or an error met while building).
fn walk(parts: &Parts, v: &mut ShapeWriter<'_>) -> bool {
    // Every field named: a new clause does not compile until the shape covers it.
    let Parts {
        ctes,
        table,
        from_sub,
        columns,
        distinct,
        joins,
        wheres,
        scopes,
        groups,
        havings,
        orders,
        // How later orders join the list, not what the list renders.
        orders_before_union: _,
        limit,
        offset,
        unions,
        lock,
        error,
        home,
    } = parts;
    if error.is_some() {
        return false;
    }
    v.text(table);
    // One number for all four: the walk runs on every query, a subquery source, a home
    // table and common table expressions seldom.
    v.number(
        u64::from(*distinct)
            | u64::from(from_sub.is_some()) << 1
            | u64::from(home.is_some()) << 2
            | u64::from(!ctes.is_empty()) << 3,
    );
    if !ctes.is_empty() {
        v.number(ctes.len() as u64);
        for cte in ctes {
            v.number(u64::from(cte.recursive));
            v.text(&cte.name);
            if !walk(&cte.query, v) {
                return false;
            }
        }
    }
    if let Some(home) = home {
        v.text(&Ident::Borrowed(home.table));
    }
    if let Some(sub) = from_sub {
        if !walk(sub, v) {
            return false;
        }
    }
    v.number(columns.len() as u64);
    for item in columns.iter() {
        let item = match item {
            // As `SelectItem::Column(Ident::Borrowed(name))`: the same text.
            Selected::Name(name) => {
                v.number(0);
                v.text(&Ident::Borrowed(name));
                continue;
            }
            Selected::Item(item) => item,
        };
        match item {
            SelectItem::Column(column) => {
                v.number(0);
                v.text(column);
            }
            SelectItem::Raw(sql, bindings) => {
                v.number(1);
                v.text(sql);
                v.number(bindings.len() as u64);
            }
            SelectItem::Aggregate {
                function,
                column,
                float,
            } => {
                v.number(2);
                v.text(&Ident::Borrowed(function));
                v.number(u64::from(*float));
                match column {
                    Some(column) => {
                        v.number(1);
                        v.text(column);
                    }
                    None => v.number(0),
                }
            }
            SelectItem::CountDistinct(column) => {
                v.number(4);
                v.text(column);
            }
            SelectItem::JsonValue(column) => {
                v.number(6);
                v.text(column);
            }
            SelectItem::RowNumber { partition, orders } => {
                v.number(5);
                v.text(partition);
                if !walk_orders(orders, v) {
                    return false;
                }
            }
            SelectItem::Sub(query, alias) => {
                v.number(3);
                v.text(alias);
                if !walk(query, v) {
                    return false;
                }
            }
        }
    }
    v.number(joins.len() as u64);
    for Join {
        kind,
        table,
        sub,
        conditions,
    } in joins
    {
        v.number(*kind as u64 | u64::from(sub.is_some()) << 8);
        v.text(table);
        if let Some(sub) = sub {
            if !walk(sub, v) {
                return false;
            }
        }
        if !walk_conditions(conditions, v) {
            return false;
        }
    }
    v.number(scopes.len() as u64);
    for (name, conditions) in scopes {
        v.text(name);
        if !walk_conditions(conditions, v) {
            return false;
        }
    }
    if !walk_conditions(wheres, v) {
        return false;
    }
    v.number(groups.len() as u64);
    for group in groups {
        match group {
            Group::Column(name) => {
                v.number(0);
                v.text(name);
            }
            Group::Raw(sql, bindings) => {
                v.number(1);
                v.text(sql);
                v.number(bindings.len() as u64);
            }
        }
    }
    if !walk_conditions(havings, v) {
        return false;
    }
    if !walk_orders(orders, v) {
        return false;
    }
    for bound in [*limit, *offset] {
        match bound {
            Some(n) => {
                v.number(1);
                v.number(n);
            }
            None => v.number(0),
        }
    }
    v.number(lock.map_or(0, |(mode, wait)| 1 + mode as u64 * 3 + wait as u64));
    v.number(unions.len() as u64);
    for (union, compound) in unions {
        v.number(*compound as u64);
        if !walk(union, v) {
            return false;
        }
    }
    true
}

/// What of a compared value decides the SQL around it: `= NULL` renders as `IS NULL`,
/// and a JSON path (`options->size`) is compared by the value's kind
/// (`SqlWriter::push_json_compared`).
fn compared_kind(value: &Value) -> u64 {
    match value {
        Value::Null => 0,
        Value::Int(_) | Value::Float(_) => 2,
        Value::Bool(_) => 3,
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => 2,
        _ if value.is_json_document() => 4,
        _ => 1,
    }
}

fn walk_conditions(conditions: &[Where], v: &mut ShapeWriter<'_>) -> bool {
    v.number(conditions.len() as u64);
    for Where { or, kind } in conditions {
        v.number(u64::from(*or));
        let cacheable = match kind {
            WhereKind::Basic { column, op, value } => {
                v.number(0);
                v.text(column);
                v.number(*op as u64);
                // `= NULL` renders as `IS NULL`; a JSON path (`options->size`) is
                // compared by the value's kind (`Dialect::push_json_compared`).
                v.number(compared_kind(value));
                true
            }
            WhereKind::Column { first, op, second } => {
                v.number(1);
                v.text(first);
                v.number(*op as u64);
                v.text(second);
                true
            }
            WhereKind::In {
                column,
                values,
                not,
            } => {
                v.number(2);
                v.text(column);
                v.number(values.len() as u64);
                v.number(u64::from(*not));
                // A long list of integers is written into the text.
                !crate::dialect::inlines_integers(values)
            }
            WhereKind::InSub { column, query, not } => {
                v.number(3);
                v.text(column);
                v.number(u64::from(*not));
                walk(query, v)
            }
            WhereKind::Null { column, not } => {
                v.number(4);
                v.text(column);
                v.number(u64::from(*not));
                true
            }
            WhereKind::Between {
                column,
                low,
                high,
                not,
            } => {
                v.number(5);
                v.text(column);
                v.number(u64::from(*not));
                v.number(u64::from(low.is_null()) * 2 + u64::from(high.is_null()));
                // A JSON path's bounds are compared as `low` says (as a `where_`'s value).
                v.number(compared_kind(low));
                true
            }
            WhereKind::Exists { query, not } => {
                v.number(6);
                v.number(u64::from(*not));
                walk(query, v)
            }
            WhereKind::SubCompare { query, op, value } => {
                v.number(7);
                v.number(*op as u64);
                v.number(u64::from(value.is_null()));
                walk(query, v)
            }
            WhereKind::ColumnSub { column, op, query } => {
                v.number(12);
                v.text(column);
                v.number(*op as u64);
                walk(query, v)
            }
            WhereKind::Date {
                column,
                part,
                op,
                value,
            } => {
                v.number(8);
                v.text(column);
                v.number(*part as u64);
                v.number(*op as u64);
                v.number(u64::from(value.is_null()));
                true
            }
            // A dialect may render a text match differently by the text's length, and
            // SQLite a JSON containment by the value's.
            WhereKind::Text { .. } => false,
            #[cfg(feature = "json")]
            WhereKind::JsonContains { .. } => false,
            WhereKind::JsonHasPath { column, not } => {
                v.number(20 + u64::from(*not));
                v.text(column);
                true
            }
            WhereKind::JsonLength { column, op, value } => {
                v.number(13);
                v.text(column);
                v.number(*op as u64);
                v.number(u64::from(value.is_null()));
                true
            }
            WhereKind::Group(conditions) => {
                v.number(9);
                walk_conditions(conditions, v)
            }
            WhereKind::NotGroup(conditions) => {
                v.number(11);
                walk_conditions(conditions, v)
            }
            WhereKind::Raw { sql, bindings } => {
                v.number(10);
                v.text(sql);
                v.number(bindings.len() as u64);
                true
            }
        };
        if !cacheable {
            return false;
        }
    }
    true
}

/// Writes a shape out as bytes (what a cached shape is compared with), hashing it as it
/// goes. Every part is self-delimiting (a tag, then fixed-size fields, or a length and
/// that many bytes), so two shapes write the same bytes only when they are the same.
struct ShapeWriter<'a> {
    bytes: &'a mut Vec<u8>,
    hash: u64,
}

/// The first byte of each part: a number up to `255 - SMALL_NUMBER` is that one byte
/// (most numbers of a shape are kinds, flags and short counts); a larger one is
/// `NUMBER` and eight bytes.
const NUMBER: u8 = 0;
const STATIC_TEXT: u8 = 1;
const OWNED_TEXT: u8 = 2;
const SMALL_NUMBER: u8 = 3;

impl ShapeWriter<'_> {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }

    #[inline(always)]
    fn text(&mut self, text: &Ident) {
        match text {
            // A `&'static str` never changes or goes away, so its address and length
            // name its text: nothing to read or copy. (The same text at another address
            // is another shape: one more cache entry, never a wrong match.)
            Ident::Borrowed(text) => {
                let (address, len) = (text.as_ptr() as usize as u64, text.len() as u64);
                self.mix(address);
                self.mix(len);
                let mut part = [STATIC_TEXT; 17];
                part[1..9].copy_from_slice(&address.to_le_bytes());
                part[9..].copy_from_slice(&len.to_le_bytes());
                self.bytes.extend_from_slice(&part);
            }
            Ident::Owned(text) => {
                let bytes = text.as_bytes();
                let len = bytes.len() as u64;
                // The hash takes the length and the first and last bytes (a match is
                // compared in full anyway).
                self.mix(len);
                self.mix(bytes.first().map_or(0, |&b| u64::from(b)));
                self.mix(bytes.last().map_or(0, |&b| u64::from(b)));
                let mut part = [OWNED_TEXT; 9];
                part[1..].copy_from_slice(&len.to_le_bytes());
                self.bytes.extend_from_slice(&part);
                self.bytes.extend_from_slice(bytes);
            }
        }
    }

    #[inline(always)]
    fn number(&mut self, number: u64) {
        self.mix(number);
        match u8::try_from(number) {
            Ok(small) if small <= u8::MAX - SMALL_NUMBER => self.bytes.push(SMALL_NUMBER + small),
            _ => {
                let mut part = [NUMBER; 9];
                part[1..].copy_from_slice(&number.to_le_bytes());
                self.bytes.extend_from_slice(&part);
            }
        }
    }
}

struct Entry {
    dialect: &'static dyn Dialect,
    shape: Box<[u8]>,
    sql: Arc<str>,
}

/// Whether two dialects are one: the same value of the same type. The built-in dialects
/// are zero-sized, so their addresses may coincide: the type is told by the vtable. (Two
/// copies of one type's vtable only cost a cache miss; two types sharing one vtable
/// would have the same methods, so render the same SQL.)
#[allow(ambiguous_wide_pointer_comparisons)]
fn same_dialect(a: &'static dyn Dialect, b: &'static dyn Dialect) -> bool {
    std::ptr::eq(a, b)
}

/// This thread's SQL of the query shapes it rendered last (a bounded number: a program
/// building queries from changing identifiers starts over rather than grow it).
#[derive(Default)]
pub(crate) struct ShapeCache {
    entries: HashMap<u64, Vec<Entry>, BuildHasherDefault<AlreadyHashed>>,
    len: usize,
    /// The shape being looked up, written out (kept to reuse its allocation).
    scratch: Vec<u8>,
}

/// The map's keys are shape hashes already: used as they are.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What the cache knows of a query.
pub(crate) enum Lookup {
    /// Not to be cached: a clause whose text depends on a bound value, or an error met
    /// while building.
    Uncacheable,
    /// The SQL rendered before for a query of this shape on this dialect.
    Hit(Arc<str>),
    /// Not seen yet: render it, then [`ShapeCache::insert`] the text under this key.
    Miss(ShapeKey),
}

/// A shape not in the cache yet, with its dialect.
pub(crate) struct ShapeKey {
    hash: u64,
    dialect: &'static dyn Dialect,
    shape: Box<[u8]>,
}

impl ShapeCache {
    const CAPACITY: usize = 512;

    /// Looks `parts`' shape on `dialect` up: one walk of the clauses, one comparison.
    pub(crate) fn lookup(&mut self, parts: &Parts, dialect: &'static dyn Dialect) -> Lookup {
        self.scratch.clear();
        let mut writer = ShapeWriter {
            bytes: &mut self.scratch,
            hash: 0,
        };
        if !walk(parts, &mut writer) {
            return Lookup::Uncacheable;
        }
        let hash = writer.hash;
        let shape = self.scratch.as_slice();
        let found = self.entries.get(&hash).and_then(|entries| {
            entries
                .iter()
                .find(|e| same_dialect(e.dialect, dialect) && *e.shape == *shape)
        });
        match found {
            Some(entry) => Lookup::Hit(Arc::clone(&entry.sql)),
            None => Lookup::Miss(ShapeKey {
                hash,
                dialect,
                shape: shape.into(),
            }),
        }
    }

    /// Remembers `sql` as the text of the shape `key` was looked up for.
    pub(crate) fn insert(&mut self, key: ShapeKey, sql: Arc<str>) {
        if self.len >= Self::CAPACITY {
            self.entries.clear();
            self.len = 0;
        }
        self.entries.entry(key.hash).or_default().push(Entry {
            dialect: key.dialect,
            shape: key.shape,
            sql,
        });
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{PostgresDialect, SqliteDialect};
    use crate::query::Query;
    use crate::value::Value;

    fn shape(query: &Query) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut writer = ShapeWriter {
            bytes: &mut bytes,
            hash: 0,
        };
        assert!(walk(&query.parts, &mut writer), "cacheable: {query:?}");
        bytes
    }

    fn q() -> Query {
        Query::new("users")
    }

    /// The same builder code (one call site, as in a loop) run with two values.
    fn both<V>(build: impl Fn(V) -> Query, a: V, b: V) -> (Query, Query) {
        (build(a), build(b))
    }

    #[test]
    fn values_do_not_change_a_shape() {
        let same = [
            both(|v: &str| q().where_eq("name", v), "Ada", "Grace"),
            both(
                |v: Value| q().where_("votes", ">", v),
                Value::Int(1),
                Value::Float(2.5),
            ),
            both(|v: [i64; 2]| q().where_in("id", v), [1, 2], [3, 4]),
            both(
                |(low, high): (i64, i64)| q().where_between("votes", low, high),
                (1, 2),
                (3, 4),
            ),
            both(|v: i64| q().where_raw("votes > ?", &[&v]), 1, 2),
            // A column list of names is the same shape as the same columns one by one.
            // (One literal each, so both hold the same addresses.)
            {
                let (id, name) = ("id", "name");
                (q().select(&[id, name]), q().select(id).add_select(name))
            },
            // Names built at run time compare by their text.
            both(|v: i64| q().where_eq(format!("{}_id", "user"), v), 1, 2),
        ];
        for (a, b) in same {
            assert_eq!(shape(&a), shape(&b), "{a:?} / {b:?}");
        }
    }

    #[test]
    fn whatever_the_text_depends_on_changes_a_shape() {
        let different = [
            (q().where_eq("name", "Ada"), q().where_eq("email", "Ada")),
            (q().where_eq("name", "Ada"), q().where_("name", "<>", "Ada")),
            (
                q().where_eq("email", Value::Null),
                q().where_eq("email", "a@example.com"),
            ),
            (q().where_in("id", [1, 2]), q().where_in("id", [1, 2, 3])),
            (
                q().where_in("id", Vec::<i64>::new()),
                q().where_in("id", [1]),
            ),
            (q().limit(1), q().limit(2)),
            (q().with_expression("a", q()), q()),
            (q().with_expression("a", q()), q().with_expression("b", q())),
            (
                q().with_expression("a", q().where_eq("name", 1)),
                q().with_expression("a", q().where_eq("email", 1)),
            ),
            (
                q().with_expression("a", q()),
                q().with_recursive_expression("a", q()),
            ),
            // Around the one-byte numbers' limit.
            (q().limit(252), q().limit(253)),
            (q().limit(253), q().limit(254)),
            (q().limit(1 << 40), q().limit(1 << 41)),
            (q().offset(1), q().limit(1)),
            (
                q().where_eq("a", 1).where_eq("b", 1),
                q().where_eq("a", 1).or_where_eq("b", 1),
            ),
            (q().order_by("name"), q().order_by_desc("name")),
            (
                q().select(&["id", "name"]),
                q().select(&["id", "name as n"]),
            ),
            (q().distinct(), q()),
            (Query::new("users"), Query::new("posts")),
            (
                q().where_raw("votes > ?", &[&1]),
                q().where_raw("votes >= ?", &[&1]),
            ),
            (
                q().where_eq(String::from("name"), 1),
                q().where_eq(String::from("email"), 1),
            ),
            // A JSON path is compared by the value's kind, between bounds too.
            (
                q().where_between("doc->n", 1, 2),
                q().where_between("doc->n", "a", "b"),
            ),
            #[cfg(feature = "json")]
            (
                q().where_eq("doc->a", serde_json::json!([1])),
                q().where_eq("doc->a", "[1]"),
            ),
            // One name's text in a longer one's: the lengths tell them apart.
            (
                q().where_eq(String::from("ab"), 1)
                    .where_eq(String::from("c"), 1),
                q().where_eq(String::from("a"), 1)
                    .where_eq(String::from("bc"), 1),
            ),
        ];
        for (a, b) in different {
            assert_ne!(shape(&a), shape(&b), "{a:?} / {b:?}");
        }
    }

    #[test]
    fn text_matches_and_build_errors_are_not_cached() {
        let mut cache = ShapeCache::default();
        let contains = q().where_contains("name", "da");
        assert!(matches!(
            cache.lookup(&contains.parts, &SqliteDialect),
            Lookup::Uncacheable
        ));
        let invalid = q().where_("votes", "=>", 1);
        assert!(matches!(
            cache.lookup(&invalid.parts, &SqliteDialect),
            Lookup::Uncacheable
        ));
    }

    fn hit(cache: &mut ShapeCache, query: &Query, dialect: &'static dyn Dialect) -> Option<String> {
        match cache.lookup(&query.parts, dialect) {
            Lookup::Hit(sql) => Some(sql.to_string()),
            _ => None,
        }
    }

    #[test]
    fn the_cache_answers_per_dialect_and_shape() {
        let mut cache = ShapeCache::default();
        let by_name = |name: &str| q().where_eq("name", name.to_owned());
        let Lookup::Miss(key) = cache.lookup(&by_name("Ada").parts, &SqliteDialect) else {
            panic!("an empty cache has nothing");
        };
        cache.insert(key, "lite".into());
        assert_eq!(
            hit(&mut cache, &by_name("Grace"), &SqliteDialect).as_deref(),
            Some("lite")
        );
        assert_eq!(hit(&mut cache, &by_name("Grace"), &PostgresDialect), None);
        let other = q().where_eq("email", "Ada");
        assert_eq!(hit(&mut cache, &other, &SqliteDialect), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let mut cache = ShapeCache::default();
        for i in 0..=ShapeCache::CAPACITY {
            let query = q().limit(i as u64);
            let Lookup::Miss(key) = cache.lookup(&query.parts, &SqliteDialect) else {
                panic!("each limit is a shape of its own");
            };
            cache.insert(key, "sql".into());
        }
        assert_eq!(cache.len, 1);
    }
}
