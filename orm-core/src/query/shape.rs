//! The shape of a query: everything its SQL text depends on (identifiers, operators,
//! clause kinds, how many values a list binds, `LIMIT`), without the values it binds.
//! Two queries of one shape render the same SQL on one dialect, so the text rendered for
//! the first is reused for the next (see [`ShapeCache`]) and only the values are
//! collected again. A query builder called with the same arguments in a loop renders
//! once.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::clause::{Join, Order, Parts, SelectItem, Where, WhereKind};
use crate::dialect::Dialect;

/// Visits the parts of a shape in order.
trait Visitor {
    fn text(&mut self, text: &str);
    fn number(&mut self, number: u64);
}

/// Walks the shape of `parts`. `false` when the query is not to be cached (a clause
/// whose text depends on a bound value, or an error met while building).
fn walk(parts: &Parts, v: &mut impl Visitor) -> bool {
    // Every field named: a new clause does not compile until the shape covers it.
    let Parts {
        table,
        columns,
        distinct,
        joins,
        wheres,
        scopes,
        groups,
        havings,
        orders,
        limit,
        offset,
        unions,
        lock,
        error,
    } = parts;
    if error.is_some() {
        return false;
    }
    v.text(table);
    v.number(u64::from(*distinct));
    v.number(columns.len() as u64);
    for item in columns.iter() {
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
                v.text(function);
                v.number(u64::from(*float));
                match column {
                    Some(column) => {
                        v.number(1);
                        v.text(column);
                    }
                    None => v.number(0),
                }
            }
        }
    }
    v.number(joins.len() as u64);
    for Join {
        kind,
        table,
        conditions,
    } in joins
    {
        v.number(*kind as u64);
        v.text(table);
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
        v.text(group);
    }
    if !walk_conditions(havings, v) {
        return false;
    }
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
        }
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
    v.number(lock.map_or(0, |mode| mode as u64 + 1));
    v.number(unions.len() as u64);
    for (union, all) in unions {
        v.number(u64::from(*all));
        if !walk(union, v) {
            return false;
        }
    }
    true
}

fn walk_conditions(conditions: &[Where], v: &mut impl Visitor) -> bool {
    v.number(conditions.len() as u64);
    for Where { or, kind } in conditions {
        v.number(u64::from(*or));
        let cacheable = match kind {
            WhereKind::Basic { column, op, value } => {
                v.number(0);
                v.text(column);
                v.number(*op as u64);
                // `= NULL` renders as `IS NULL`.
                v.number(u64::from(value.is_null()));
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
                true
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
            // A dialect may render a text match differently by the text's length.
            WhereKind::Text { .. } => false,
            WhereKind::Group(conditions) => {
                v.number(9);
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

/// A fast, non-cryptographic hash of a shape (the keys are the program's own queries).
struct ShapeHash(u64);

impl ShapeHash {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl Visitor for ShapeHash {
    /// A text's length and its first and last (up to) eight bytes: enough to tell the
    /// shapes of one program apart nearly always, and a match is compared in full anyway.
    #[inline]
    fn text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let n = bytes.len();
        // Fixed-size reads (possibly overlapping), so no copy of a variable length.
        let (head, tail) = if n >= 8 {
            (read_u64(&bytes[..8]), read_u64(&bytes[n - 8..]))
        } else if n >= 4 {
            (read_u32(&bytes[..4]), read_u32(&bytes[n - 4..]))
        } else if n > 0 {
            let spread = |i: usize| u64::from(bytes[i]);
            (spread(0) | spread(n / 2) << 8 | spread(n - 1) << 16, 0)
        } else {
            (0, 0)
        };
        self.add(n as u64);
        self.add(head);
        self.add(tail);
    }

    fn number(&mut self, number: u64) {
        self.add(number);
    }
}

fn read_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map_or(0, u64::from_le_bytes)
}

fn read_u32(bytes: &[u8]) -> u64 {
    bytes
        .try_into()
        .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
}

/// One part of a remembered shape.
#[derive(Debug, PartialEq)]
enum Token {
    Text(Box<str>),
    Number(u64),
}

/// Records a shape, to remember it.
struct Record(Vec<Token>);

impl Visitor for Record {
    fn text(&mut self, text: &str) {
        self.0.push(Token::Text(text.into()));
    }

    fn number(&mut self, number: u64) {
        self.0.push(Token::Number(number));
    }
}

/// Compares a shape with a remembered one, part by part.
struct Compare<'a> {
    tokens: std::slice::Iter<'a, Token>,
    same: bool,
}

impl Visitor for Compare<'_> {
    fn text(&mut self, text: &str) {
        self.same &= matches!(self.tokens.next(), Some(Token::Text(t)) if **t == *text);
    }

    fn number(&mut self, number: u64) {
        self.same &= matches!(self.tokens.next(), Some(Token::Number(n)) if *n == number);
    }
}

struct Entry {
    dialect: &'static dyn Dialect,
    shape: Vec<Token>,
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

/// A query's shape, recorded.
pub(crate) struct Shape(Vec<Token>);

/// The key under which a query's SQL is cached: its shape's hash and the dialect.
pub(crate) struct ShapeKey {
    hash: u64,
    dialect: &'static dyn Dialect,
}

impl ShapeCache {
    const CAPACITY: usize = 512;

    /// The key of `parts` on `dialect`, or `None` when the query is not cached.
    pub(crate) fn key(parts: &Parts, dialect: &'static dyn Dialect) -> Option<ShapeKey> {
        let mut hash = ShapeHash(0);
        walk(parts, &mut hash).then_some(ShapeKey {
            hash: hash.0,
            dialect,
        })
    }

    /// The SQL rendered before for a query of `parts`' shape, if any.
    pub(crate) fn get(&self, key: &ShapeKey, parts: &Parts) -> Option<Arc<str>> {
        self.entries.get(&key.hash)?.iter().find_map(|entry| {
            if !same_dialect(entry.dialect, key.dialect) {
                return None;
            }
            let mut compare = Compare {
                tokens: entry.shape.iter(),
                same: true,
            };
            walk(parts, &mut compare);
            (compare.same && compare.tokens.next().is_none()).then(|| Arc::clone(&entry.sql))
        })
    }

    /// `parts`' shape, to remember with its SQL once rendered (see [`ShapeCache::insert`]).
    pub(crate) fn record(parts: &Parts) -> Shape {
        let mut record = Record(Vec::new());
        walk(parts, &mut record);
        Shape(record.0)
    }

    /// Remembers `sql` as the text of `shape`.
    pub(crate) fn insert(&mut self, key: ShapeKey, shape: Shape, sql: Arc<str>) {
        if self.len >= Self::CAPACITY {
            self.entries.clear();
            self.len = 0;
        }
        self.entries.entry(key.hash).or_default().push(Entry {
            dialect: key.dialect,
            shape: shape.0,
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

    fn shape(query: &Query) -> Vec<Token> {
        let mut record = Record(Vec::new());
        assert!(walk(&query.parts, &mut record), "cacheable: {query:?}");
        record.0
    }

    fn q() -> Query {
        Query::new("users")
    }

    #[test]
    fn values_do_not_change_a_shape() {
        let same = [
            (q().where_eq("name", "Ada"), q().where_eq("name", "Grace")),
            (q().where_("votes", ">", 1), q().where_("votes", ">", 2.5)),
            (q().where_in("id", [1, 2]), q().where_in("id", [3, 4])),
            (
                q().where_between("votes", 1, 2),
                q().where_between("votes", 3, 4),
            ),
            (
                q().where_raw("votes > ?", &[&1]),
                q().where_raw("votes > ?", &[&2]),
            ),
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
        ];
        for (a, b) in different {
            assert_ne!(shape(&a), shape(&b), "{a:?} / {b:?}");
        }
    }

    #[test]
    fn text_matches_and_build_errors_are_not_cached() {
        let contains = q().where_contains("name", "da");
        assert!(ShapeCache::key(&contains.parts, &SqliteDialect).is_none());
        let invalid = q().where_("votes", "=>", 1);
        assert!(ShapeCache::key(&invalid.parts, &SqliteDialect).is_none());
    }

    #[test]
    fn the_cache_answers_per_dialect_and_shape() {
        let mut cache = ShapeCache::default();
        let ada = q().where_eq("name", "Ada");
        let key = ShapeCache::key(&ada.parts, &SqliteDialect).unwrap();
        assert!(cache.get(&key, &ada.parts).is_none());
        cache.insert(key, ShapeCache::record(&ada.parts), "lite".into());
        let grace = q().where_eq("name", "Grace");
        let key = ShapeCache::key(&grace.parts, &SqliteDialect).unwrap();
        assert_eq!(cache.get(&key, &grace.parts).as_deref(), Some("lite"));
        let on_pg = ShapeCache::key(&grace.parts, &PostgresDialect).unwrap();
        assert!(cache.get(&on_pg, &grace.parts).is_none());
        let other = q().where_eq("email", "Ada");
        let key = ShapeCache::key(&other.parts, &SqliteDialect).unwrap();
        assert!(cache.get(&key, &other.parts).is_none());
    }

    #[test]
    fn a_full_cache_starts_over() {
        let mut cache = ShapeCache::default();
        for i in 0..=ShapeCache::CAPACITY {
            let query = q().limit(i as u64);
            let key = ShapeCache::key(&query.parts, &SqliteDialect).unwrap();
            cache.insert(key, ShapeCache::record(&query.parts), "sql".into());
        }
        assert_eq!(cache.len, 1);
    }
}
