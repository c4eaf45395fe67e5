use crate::dialect::{Dialect, JsonScalar};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::value::Value;

/// The table a query's unqualified column names belong to when the query joins other
/// tables the user did not write (a relation through a pivot or an intermediate table,
/// whose columns may share names with the related table's: `id`, `body`), with that
/// table's columns: only those names are qualified, so a select alias stays as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HomeTable {
    pub(crate) table: &'static str,
    pub(crate) columns: &'static [&'static str],
}

/// Builds one SQL statement: raw SQL text, quoted identifiers and bound values.
///
/// The first invalid identifier is remembered and reported by [`SqlWriter::finish`], so
/// rendering code can push without checking each step.
#[derive(Debug)]
pub struct SqlWriter {
    dialect: &'static dyn Dialect,
    /// The table the plain column names of the query being written belong to, when it
    /// joins others (see [`HomeTable`]).
    home: Option<HomeTable>,
    /// The dialect's identifier quote when it is ASCII: plain names are quoted here.
    quote: Option<u8>,
    /// The dialect's longest identifier, in bytes.
    max_identifier_len: usize,
    sql: String,
    /// `false` while collecting only the values of a statement whose text is known
    /// ([`SqlWriter::binds_only`]).
    text: bool,
    binds: Vec<Value>,
    error: Option<Error>,
}

impl SqlWriter {
    /// An empty statement for `dialect`.
    pub fn new(dialect: &'static dyn Dialect) -> SqlWriter {
        let quote = dialect.identifier_quote();
        SqlWriter {
            dialect,
            home: None,
            quote: quote.is_ascii().then_some(quote as u8),
            max_identifier_len: dialect.max_identifier_len(),
            sql: String::with_capacity(256),
            text: true,
            binds: Vec::new(),
            error: None,
        }
    }

    /// A writer that collects the values of a statement rendered before (same clauses
    /// but for the values), in the order the text binds them, and writes no text:
    /// identifiers are neither quoted nor checked again. Checks of the values themselves
    /// (a `LIKE` pattern's) still run.
    /// `binds` is an empty list to fill (one kept from an earlier statement, so that
    /// collecting allocates nothing).
    pub(crate) fn binds_only(dialect: &'static dyn Dialect, binds: Vec<Value>) -> SqlWriter {
        debug_assert!(binds.is_empty());
        SqlWriter {
            dialect,
            home: None,
            quote: None,
            max_identifier_len: 0,
            sql: String::new(),
            text: false,
            binds,
            error: None,
        }
    }

    /// The dialect this statement renders for.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    /// Sets the table plain column names are qualified with from here on; returns the
    /// one set before, to put back once the query that set it is written.
    pub(crate) fn set_home(&mut self, home: Option<HomeTable>) -> Option<HomeTable> {
        std::mem::replace(&mut self.home, home)
    }

    /// `table.` before `name` when `name` is one of the home table's columns, unqualified.
    pub(crate) fn push_home_prefix(&mut self, name: &str) {
        let Some(home) = self.home else {
            return;
        };
        if self.text && home.columns.contains(&name) {
            self.push_table_name(home.table);
            self.sql.push('.');
        }
    }

    /// Appends SQL text written by this crate (keywords, punctuation). Never user input.
    pub fn push(&mut self, raw: &str) -> &mut Self {
        if self.text {
            self.sql.push_str(raw);
        }
        self
    }

    /// Appends an identifier, quoted by the dialect.
    pub fn push_identifier(&mut self, ident: &str) -> &mut Self {
        if self.push_plain(ident, 1) || !self.text {
            return self;
        }
        if let Err(e) = self.dialect.push_identifier(&mut self.sql, ident) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Appends the name of an index or constraint: as [`SqlWriter::push_identifier`], but a
    /// name longer than the database allows (`{table}_{columns}_unique` of long names)
    /// keeps its start and kind and ends in a hash of the whole, the
    /// same for every statement that names it, where the database would refuse it.
    pub fn push_constraint_name(&mut self, name: &str) -> &mut Self {
        if !self.text || name.len() <= self.max_identifier_len {
            return self.push_identifier(name);
        }
        let fitted = fitted_name(name, self.max_identifier_len);
        self.push_identifier(&fitted)
    }

    /// [`SqlWriter::push_qualified_name`] for an `ORDER BY` term: a JSON path is ordered
    /// by its value where the database can (see `Dialect::push_json_order`).
    pub fn push_order_name(&mut self, name: &str) -> &mut Self {
        if !self.text || !name.contains("->") {
            return self.push_qualified_name(name);
        }
        match split_json_path(name) {
            Ok(Some((column, path))) => {
                let dialect = self.dialect;
                dialect.push_json_order(self, column, &path);
                self
            }
            Ok(None) => self.push_qualified_name(name),
            Err(e) => self.fail(e),
        }
    }

    /// Appends a possibly qualified column (`column`, `table.column`,
    /// `schema.table.column`), quoting each part; a trailing `*` is kept as the wildcard
    /// (`*`, `table.*`). More parts is an invalid identifier.
    pub fn push_qualified(&mut self, name: &str) -> &mut Self {
        self.push_home_prefix(name);
        if self.push_plain(name, MAX_PARTS) || !self.text {
            return self;
        }
        let (count, parts) = dotted_parts(name);
        // `table.*` at most: SQLite has no `schema.table.*`.
        let wildcard = count <= MAX_PARTS && parts[count - 1] == "*";
        let max_parts = if wildcard && count > 1 { 2 } else { MAX_PARTS };
        if count > max_parts {
            return self.parts_error(name, max_parts);
        }
        for (i, part) in parts[..count].iter().enumerate() {
            if i > 0 {
                self.sql.push('.');
            }
            // Only a trailing `*` is the wildcard (`*`, `t.*`); `*.a` names a table `*`.
            if wildcard && i == count - 1 {
                self.sql.push('*');
            } else {
                self.push_identifier(part);
            }
        }
        self
    }

    /// Appends a possibly qualified table (`table`, `schema.table`), quoting every part
    /// (a `*` is a name here). More than two parts is an invalid identifier.
    pub fn push_table_name(&mut self, name: &str) -> &mut Self {
        self.push_parts(name, 2)
    }

    /// Records that `name` has more than `max` dot-separated parts.
    #[cold]
    fn parts_error(&mut self, name: &str, max: usize) -> &mut Self {
        self.error.get_or_insert(Error::InvalidIdentifier {
            identifier: name.to_owned(),
            reason: if name.ends_with(".*") {
                "a wildcard takes at most a table (table.*)"
            } else if max == 2 {
                "a table name has at most two parts (schema.table)"
            } else {
                "a column name has at most three parts (schema.table.column)"
            },
        });
        self
    }

    /// Appends a possibly qualified column (`column`, `table.column`,
    /// `schema.table.column`), quoting every part: a `*` part is a name here, never the
    /// wildcard. For columns outside a select list, where a bare `*` would be malformed
    /// SQL. More than three parts is an invalid identifier.
    ///
    /// A name with a JSON path (`options->language`, `meta->tags->0`: Laravel's arrow
    /// syntax) is the value at that path, as text, in the dialect's JSON functions.
    pub fn push_qualified_name(&mut self, name: &str) -> &mut Self {
        self.push_home_prefix(name);
        if self.push_plain(name, MAX_PARTS) || !self.text {
            return self;
        }
        match split_json_path(name) {
            Ok(Some((column, path))) => {
                let dialect = self.dialect;
                dialect.push_json_path(self, column, &path, true);
                self
            }
            Ok(None) => self.push_parts(name, MAX_PARTS),
            Err(e) => self.fail(e),
        }
    }

    /// The JSON path `name` (`options->tags`) as a JSON value (see
    /// [`Dialect::push_json_path`]); a name without a path as itself.
    pub fn push_json_value(&mut self, name: &str) -> &mut Self {
        if !self.text {
            return self;
        }
        match split_json_path(name) {
            Ok(Some((column, path))) => {
                let dialect = self.dialect;
                dialect.push_json_path(self, column, &path, false);
                self
            }
            Ok(None) => self.push_qualified_name(name),
            Err(e) => self.fail(e),
        }
    }

    /// The JSON path `name` (`options->size`) as a condition comparing it with `value`
    /// reads it (see [`Dialect::push_json_compared`]); returns the text to put before
    /// and after the value's placeholder.
    pub fn push_json_compared(&mut self, name: &str, value: &Value) -> [&'static str; 2] {
        if !self.text {
            return ["", ""];
        }
        match split_json_path(name) {
            Ok(Some((column, path))) => {
                let dialect = self.dialect;
                match JsonScalar::of(value) {
                    Some(scalar) => dialect.push_json_compared(self, column, &path, scalar),
                    None if value.is_json_document() => {
                        dialect.push_json_document_compared(self, column, &path)
                    }
                    None => {
                        dialect.push_json_text(self, column, &path);
                        ["", ""]
                    }
                }
            }
            Ok(None) => {
                self.push_qualified_name(name);
                ["", ""]
            }
            Err(e) => {
                self.fail(e);
                ["", ""]
            }
        }
    }

    /// `name IS NULL` (`not`: `IS NOT NULL`); on a JSON path, the dialect's test, which
    /// counts a JSON `null` as NULL as the path's text does on SQLite and PostgreSQL.
    pub fn push_null_check(&mut self, name: &str, not: bool) -> &mut Self {
        if self.text && name.contains("->") {
            if let Ok(Some((column, path))) = split_json_path(name) {
                let dialect = self.dialect;
                dialect.push_json_null_check(self, column, &path, not);
                return self;
            }
        }
        self.push_qualified_name(name)
            .push(if not { " IS NOT NULL" } else { " IS NULL" })
    }

    /// Appends `name`'s dot-separated parts, each quoted, refusing more than `max`.
    fn push_parts(&mut self, name: &str, max: usize) -> &mut Self {
        if self.push_plain(name, max) || !self.text {
            return self;
        }
        let (count, parts) = dotted_parts(name);
        if count > max {
            return self.parts_error(name, max);
        }
        for (i, part) in parts[..count].iter().enumerate() {
            if i > 0 {
                self.sql.push('.');
            }
            self.push_identifier(part);
        }
        self
    }

    /// Appends identifiers separated by `, `, each quoted by the dialect.
    pub fn push_identifiers<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for (i, name) in names.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_identifier(name);
        }
        self
    }

    /// Appends the dialect's placeholder for the `index`-th (1-based) value without
    /// recording a binding: for statement text rendered once and cached, whose values are
    /// bound at each execution.
    pub fn push_placeholder(&mut self, index: usize) -> &mut Self {
        if !self.text {
            return self;
        }
        self.dialect.push_placeholder(&mut self.sql, index);
        self
    }

    /// Appends a placeholder and records `value` as its binding.
    pub fn push_bind(&mut self, value: Value) -> &mut Self {
        self.binds.push(value);
        if self.text {
            self.dialect
                .push_placeholder(&mut self.sql, self.binds.len());
        }
        self
    }

    /// Appends `value` as an escaped SQL literal (see [`Dialect::push_literal`]), for DDL
    /// where bind parameters are not allowed.
    pub fn push_literal(&mut self, value: &Value) -> &mut Self {
        if !self.text {
            return self;
        }
        if let Err(e) = self.dialect.push_literal(&mut self.sql, value) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Appends hand-written SQL whose `?` placeholders take `bindings` in order (the
    /// explicitly raw entry point). The number of `?` must equal the number of bindings.
    pub fn push_raw_with_bindings(&mut self, raw: &str, bindings: Vec<Value>) -> &mut Self {
        if !self.text {
            // The text, and so its number of placeholders, was checked when rendered.
            self.binds.extend(bindings);
            return self;
        }
        let mut count = 0;
        let offset = self.binds.len();
        let dialect = self.dialect;
        let rendered = super::rewrite_question_marks(raw, |out, i| {
            count = i;
            dialect.push_placeholder(out, offset + i);
        });
        if count != bindings.len() {
            self.error.get_or_insert(Error::invalid_query(
                InvalidQueryKind::Placeholders,
                format!(
                    "raw SQL `{raw}` has {count} placeholder(s) but {} binding(s)",
                    bindings.len()
                ),
            ));
        }
        self.sql.push_str(&rendered);
        self.binds.extend(bindings);
        self
    }

    /// Records an error found while rendering; the first one wins.
    pub fn fail(&mut self, error: Error) -> &mut Self {
        self.error.get_or_insert(error);
        self
    }

    /// The SQL rendered so far.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The values bound so far.
    pub fn binds(&self) -> &[Value] {
        &self.binds
    }

    /// The statement text and its bindings, or the first error met while rendering.
    #[inline]
    pub fn finish(self) -> Result<(String, Vec<Value>)> {
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.sql, self.binds)),
        }
    }

    /// Appends `name` with each part quoted when it is plain: at most `max_parts`
    /// dot-separated parts, each of 1 to the dialect's longest identifier in ASCII letters,
    /// digits and `_`. Such a name is valid on every dialect and has nothing to escape,
    /// so the dialect is not asked (see [`Dialect::push_identifier`]); nearly every name
    /// a query renders is one. Writes nothing and returns `false` for any other name.
    #[inline]
    pub(crate) fn push_plain(&mut self, name: &str, max_parts: usize) -> bool {
        let Some(quote) = self.quote else {
            // Writing no text, every name is handled.
            return !self.text;
        };
        // One pass over the bytes: each is a name byte or a dot; the dots' places are kept.
        let bytes = name.as_bytes();
        let mut dots = [0usize; MAX_PARTS - 1];
        let (mut parts, mut start) = (1, 0);
        for (i, &b) in bytes.iter().enumerate() {
            match NAME_BYTES[usize::from(b)] {
                NAME => {}
                DOT => {
                    if i == start || i - start > self.max_identifier_len || parts == max_parts {
                        return false;
                    }
                    dots[parts - 1] = i;
                    parts += 1;
                    start = i + 1;
                }
                _ => return false,
            }
        }
        if bytes.len() == start || bytes.len() - start > self.max_identifier_len {
            return false;
        }
        let quote = char::from(quote);
        self.sql.reserve(name.len() + 2 * parts);
        let mut from = 0;
        for &dot in &dots[..parts - 1] {
            self.sql.push(quote);
            self.sql.push_str(&name[from..dot]);
            self.sql.push(quote);
            self.sql.push('.');
            from = dot + 1;
        }
        self.sql.push(quote);
        self.sql.push_str(&name[from..]);
        self.sql.push(quote);
        true
    }
}

/// The most dot-separated parts a name has (`schema.table.column`).
const MAX_PARTS: usize = 3;

/// What each byte is in a plain name ([`SqlWriter::push_plain`]): a name byte (ASCII
/// letter, digit, `_`), the dot between parts, or neither.
const NAME: u8 = 1;
const DOT: u8 = 2;
static NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_alphanumeric() || byte == b'_' {
            NAME
        } else if byte == b'.' {
            DOT
        } else {
            0
        };
        b += 1;
    }
    table
};

/// FNV-1a (32 bits) of a generated name: stable across builds and platforms, for the
/// hashed end of names shortened to fit the database's limit.
pub(crate) fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// `name` shortened to `max` bytes: its start, an FNV-1a hash of the whole, and its kind
/// suffix (`_unique`, `_index`, `_foreign`, `_primary`, `_check`) kept, so that names of
/// one table and columns stay distinct and recognisable.
pub(crate) fn fitted_name(name: &str, max: usize) -> String {
    let suffix = [
        "_unique",
        "_index",
        "_foreign",
        "_primary",
        "_check",
        "_unsigned",
    ]
    .into_iter()
    .find(|s| name.ends_with(s))
    .unwrap_or("");
    let hash = name_hash(name);
    let mut keep = max.saturating_sub(suffix.len() + 9);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}_{hash:08x}{suffix}", &name[..keep])
}

/// The number of dot-separated parts of `name`, and the first [`MAX_PARTS`] of them.
#[inline]
/// `column->key->0` as the column and its path's keys, or `None` for a name without a
/// path. Keys are letters, digits and underscores (they are written into the SQL as
/// they are); anything else is an [`Error::InvalidIdentifier`].
pub(crate) fn split_json_path(name: &str) -> Result<Option<(&str, Vec<&str>)>> {
    let Some((column, path)) = name.split_once("->") else {
        return Ok(None);
    };
    let invalid = || Error::InvalidIdentifier {
        identifier: name.to_owned(),
        reason: "a JSON path (`column->key->0`, or Laravel's `column->key[0]`) has keys of \
                 ASCII letters, digits and underscores, and array indexes of digits",
    };
    let plain =
        |key: &str| !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let mut keys = Vec::new();
    for segment in path.split("->") {
        // `key[1]`, `[0][2]`: Laravel's array indexes, the same as `key->1`, `0->2`.
        let (key, mut indexes) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if !key.is_empty() || indexes.is_empty() {
            keys.push(key);
        }
        while !indexes.is_empty() {
            let close = indexes.find(']').ok_or_else(invalid)?;
            let index = &indexes[1..close];
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            keys.push(index);
            indexes = &indexes[close + 1..];
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return Err(invalid());
            }
        }
    }
    if column.is_empty() || !keys.iter().all(|k| plain(k)) {
        return Err(invalid());
    }
    Ok(Some((column, keys)))
}

fn dotted_parts(name: &str) -> (usize, [&str; MAX_PARTS]) {
    let mut parts = [""; MAX_PARTS];
    let mut count = 0;
    let mut start = 0;
    for (i, &b) in name.as_bytes().iter().enumerate() {
        if b == b'.' {
            if count < MAX_PARTS {
                parts[count] = &name[start..i];
            }
            count += 1;
            start = i + 1;
        }
    }
    if count < MAX_PARTS {
        parts[count] = &name[start..];
    }
    (count + 1, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{PostgresDialect, SqliteDialect};

    #[test]
    fn renders_placeholders_per_dialect() {
        for (dialect, expected) in [
            (
                &SqliteDialect as &'static dyn Dialect,
                r#"SELECT * FROM "users" WHERE "users"."id" = ? AND x = ?"#,
            ),
            (
                &PostgresDialect,
                r#"SELECT * FROM "users" WHERE "users"."id" = $1 AND x = $2"#,
            ),
        ] {
            let mut w = SqlWriter::new(dialect);
            w.push("SELECT * FROM ")
                .push_identifier("users")
                .push(" WHERE ")
                .push_qualified("users.id")
                .push(" = ")
                .push_bind(Value::Int(1))
                .push(" AND ")
                .push_raw_with_bindings("x = ?", vec![Value::Int(2)]);
            let (sql, binds) = w.finish().unwrap();
            assert_eq!(sql, expected);
            assert_eq!(binds, vec![Value::Int(1), Value::Int(2)]);
        }
    }

    #[test]
    fn qualified_names_quote_a_star_part() {
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_qualified_name("*")
            .push(" ")
            .push_qualified_name("s.*");
        w.push(" ")
            .push_qualified("t.*")
            .push(" ")
            .push_qualified("*.a");
        assert_eq!(w.finish().unwrap().0, r#""*" "s"."*" "t".* "*"."a""#);
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_table_name("main.users");
        assert_eq!(w.finish().unwrap().0, r#""main"."users""#);
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_table_name("a.b.c");
        assert!(matches!(w.finish(), Err(Error::InvalidIdentifier { .. })));
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_qualified("s.t.*");
        assert!(matches!(w.finish(), Err(Error::InvalidIdentifier { .. })));
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_qualified("a.b.c.d");
        assert!(matches!(w.finish(), Err(Error::InvalidIdentifier { .. })));
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_qualified_name("a.b.c.d");
        assert!(matches!(w.finish(), Err(Error::InvalidIdentifier { .. })));
    }

    #[test]
    fn bad_identifier_and_binding_count_are_errors() {
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_identifier("a\0");
        assert!(matches!(w.finish(), Err(Error::InvalidIdentifier { .. })));
        let mut w = SqlWriter::new(&SqliteDialect);
        w.push_raw_with_bindings("a = ? AND b = ?", vec![Value::Int(1)]);
        assert!(matches!(
            w.finish(),
            Err(Error::InvalidQuery {
                kind: InvalidQueryKind::Placeholders,
                ..
            })
        ));
    }
}

#[cfg(test)]
mod json_path_tests {
    use super::split_json_path;

    #[test]
    fn laravel_array_indexes_are_path_keys() {
        let keys = |name: &'static str| split_json_path(name).unwrap().unwrap().1;
        assert_eq!(keys("c->a->0"), ["a", "0"]);
        assert_eq!(keys("c->a[1]"), ["a", "1"]);
        assert_eq!(keys("c->[0][2]->b"), ["0", "2", "b"]);
        for bad in [
            "c->a[", "c->a[x]", "c->a[1]b", "c->[]", "c->a]", "c->", "->a",
        ] {
            assert!(split_json_path(bad).is_err(), "{bad}");
        }
    }
}
