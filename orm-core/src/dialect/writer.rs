use crate::dialect::Dialect;
use crate::error::{Error, InvalidQueryKind, Result};
use crate::value::Value;

/// Builds one SQL statement: raw SQL text, quoted identifiers and bound values.
///
/// The first invalid identifier is remembered and reported by [`SqlWriter::finish`], so
/// rendering code can push without checking each step.
#[derive(Debug)]
pub struct SqlWriter {
    dialect: &'static dyn Dialect,
    sql: String,
    binds: Vec<Value>,
    error: Option<Error>,
}

impl SqlWriter {
    /// An empty statement for `dialect`.
    pub fn new(dialect: &'static dyn Dialect) -> SqlWriter {
        SqlWriter {
            dialect,
            sql: String::with_capacity(256),
            binds: Vec::new(),
            error: None,
        }
    }

    /// The dialect this statement renders for.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    /// Appends SQL text written by this crate (keywords, punctuation). Never user input.
    pub fn push(&mut self, raw: &str) -> &mut Self {
        self.sql.push_str(raw);
        self
    }

    /// Appends an identifier, quoted by the dialect.
    pub fn push_identifier(&mut self, ident: &str) -> &mut Self {
        if let Err(e) = self.dialect.push_identifier(&mut self.sql, ident) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Appends a possibly qualified column (`column`, `table.column`,
    /// `schema.table.column`), quoting each part; a trailing `*` is kept as the wildcard
    /// (`*`, `table.*`). More parts is an invalid identifier.
    pub fn push_qualified(&mut self, name: &str) -> &mut Self {
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
    pub fn push_qualified_name(&mut self, name: &str) -> &mut Self {
        self.push_parts(name, MAX_PARTS)
    }

    /// Appends `name`'s dot-separated parts, each quoted, refusing more than `max`.
    fn push_parts(&mut self, name: &str, max: usize) -> &mut Self {
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
                self.sql.push_str(", ");
            }
            self.push_identifier(name);
        }
        self
    }

    /// Appends the dialect's placeholder for the `index`-th (1-based) value without
    /// recording a binding: for statement text rendered once and cached, whose values are
    /// bound at each execution.
    pub fn push_placeholder(&mut self, index: usize) -> &mut Self {
        self.dialect.push_placeholder(&mut self.sql, index);
        self
    }

    /// Appends a placeholder and records `value` as its binding.
    pub fn push_bind(&mut self, value: Value) -> &mut Self {
        self.binds.push(value);
        self.dialect
            .push_placeholder(&mut self.sql, self.binds.len());
        self
    }

    /// Appends `value` as an escaped SQL literal (see [`Dialect::push_literal`]), for DDL
    /// where bind parameters are not allowed.
    pub fn push_literal(&mut self, value: &Value) -> &mut Self {
        if let Err(e) = self.dialect.push_literal(&mut self.sql, value) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Appends hand-written SQL whose `?` placeholders take `bindings` in order (the
    /// explicitly raw entry point). The number of `?` must equal the number of bindings.
    pub fn push_raw_with_bindings(&mut self, raw: &str, bindings: Vec<Value>) -> &mut Self {
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
    pub fn finish(self) -> Result<(String, Vec<Value>)> {
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.sql, self.binds)),
        }
    }
}

/// The most dot-separated parts a name has (`schema.table.column`).
const MAX_PARTS: usize = 3;

/// The number of dot-separated parts of `name`, and the first [`MAX_PARTS`] of them.
#[inline]
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
