//! SQLite's table rebuild: SQLite cannot alter most of a table in place, so the stored
//! `CREATE TABLE` is parsed (by token), changed and the table recreated and refilled.

use crate::dialect::ddl::{
    finish, push_check, push_column_definition, push_foreign_key, push_identifier_list,
    push_primary_constraint, rename_table,
};
use crate::dialect::schema::{AlterCommand, ColumnDef, IndexKind};
use crate::dialect::sql_tokens::{self, TokenKind};
use crate::dialect::{Dialect, SqlWriter};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::value::Value;

/// SQLite statements around work that must not trip foreign keys (table rebuilds):
/// turning enforcement off and on again (only effective outside a transaction), and
/// the check run before committing.
pub mod sqlite_pragmas {
    /// Reads whether foreign keys are enforced (one row, one integer column).
    pub const FOREIGN_KEYS_STATE: &str = "PRAGMA foreign_keys";
    /// Turns enforcement off (no effect inside a transaction).
    pub const FOREIGN_KEYS_OFF: &str = "PRAGMA foreign_keys = OFF";
    /// Turns enforcement on.
    pub const FOREIGN_KEYS_ON: &str = "PRAGMA foreign_keys = ON";
    /// Lists rows violating foreign keys (no rows: all good).
    pub const FOREIGN_KEY_CHECK: &str = "PRAGMA foreign_key_check";
    /// Lists the other tables (column `name`, each once) with a foreign key to the table
    /// bound as `?` (bound twice; names compared case-insensitively, as SQLite does).
    pub const REFERENCING_TABLES: &str = "SELECT DISTINCT m.name AS name \
        FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f \
        WHERE m.type = 'table' AND f.\"table\" = ? COLLATE NOCASE \
        AND m.name <> ? COLLATE NOCASE ORDER BY m.name";
    /// The `CREATE TABLE` statement of the table bound as `?` (column `sql`).
    pub const TABLE_SQL: &str = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?";
    /// The explicitly created indexes of the table bound as `?` (columns `name`, `sql`).
    pub const INDEXES: &str = "SELECT name, sql FROM sqlite_master \
        WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name";
    /// The columns (column `name`) of the index bound as `?`, in order.
    pub const INDEX_COLUMNS: &str = "SELECT name FROM pragma_index_info(?) ORDER BY seqno";
    /// The triggers of the table bound as `?` (column `sql`).
    pub const TRIGGERS: &str = "SELECT sql FROM sqlite_master \
        WHERE type = 'trigger' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name";
    /// The database's views (`name`).
    pub const VIEWS: &str = "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name";
}

/// What SQLite knows about a table, read before rebuilding it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteTableSnapshot {
    /// The table name.
    pub table: String,
    /// Its `CREATE TABLE` statement, from `sqlite_master`.
    pub create_sql: String,
    /// Its explicitly created indexes.
    pub indexes: Vec<SqliteIndexSnapshot>,
    /// Its triggers' `CREATE TRIGGER` statements.
    pub triggers: Vec<String>,
    /// The database's views, which may read the table (see
    /// [`SqliteTableSnapshot::with_views`]).
    pub views: Vec<String>,
}

impl SqliteTableSnapshot {
    /// A snapshot from the parts read with the [`sqlite_pragmas`] queries.
    pub fn new(
        table: impl Into<String>,
        create_sql: impl Into<String>,
        indexes: Vec<SqliteIndexSnapshot>,
        triggers: Vec<String>,
    ) -> SqliteTableSnapshot {
        SqliteTableSnapshot {
            table: table.into(),
            create_sql: create_sql.into(),
            indexes,
            triggers,
            views: Vec::new(),
        }
    }

    /// The database's views (read with [`sqlite_pragmas::VIEWS`]). SQLite checks every
    /// view when the rebuilt table is renamed into place, and fails on one that reads
    /// the table (which is gone at that moment); with views, the rename is made the
    /// legacy way, which leaves views alone, and each view is read once afterwards, so
    /// that a change breaking one (a dropped column it reads) fails and rolls back.
    pub fn with_views(mut self, views: Vec<String>) -> SqliteTableSnapshot {
        self.views = views;
        self
    }
}

/// One explicitly created index of a SQLite table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteIndexSnapshot {
    /// The index name.
    pub name: String,
    /// Its `CREATE INDEX` statement.
    pub sql: String,
    /// The indexed columns (empty entries for expressions).
    pub columns: Vec<String>,
}

impl SqliteIndexSnapshot {
    /// An index snapshot.
    pub fn new(name: impl Into<String>, sql: impl Into<String>, columns: Vec<String>) -> Self {
        SqliteIndexSnapshot {
            name: name.into(),
            sql: sql.into(),
            columns,
        }
    }
}

/// Splits `text` at top-level commas, outside parentheses, literals, quoted names and
/// comments. Comments are left out of the items (a `--` comment would otherwise swallow
/// whatever follows once the items are joined again).
fn split_top_level(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut last_end = 0;
    for token in sql_tokens::tokenize(text) {
        let gap = &text[last_end..token.span.start];
        last_end = token.span.end;
        if token.kind == TokenKind::Comment {
            current.push(' ');
            continue;
        }
        if depth == 0 && token.is_symbol(text, ',') {
            items.push(current.trim().to_owned());
            current.clear();
            continue;
        }
        if token.is_symbol(text, '(') {
            depth += 1;
        } else if token.is_symbol(text, ')') {
            depth = depth.saturating_sub(1);
        }
        current.push_str(gap);
        current.push_str(token.text(text));
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_owned());
    }
    items
}

/// `column_sql` (one column definition) without its column-level CHECK constraints
/// that refer to `column` (a column that is being dropped).
fn without_checks_on(column_sql: &str, column: &str) -> String {
    let tokens: Vec<_> = sql_tokens::tokenize(column_sql)
        .into_iter()
        .filter(|t| t.kind != TokenKind::Comment)
        .collect();
    let mut cuts = Vec::new();
    let mut i = 1;
    while i + 1 < tokens.len() {
        if !(tokens[i].is_keyword(column_sql, "CHECK") && tokens[i + 1].is_symbol(column_sql, '('))
        {
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        let mut close = tokens.len() - 1;
        for (j, token) in tokens.iter().enumerate().skip(i + 1) {
            if token.is_symbol(column_sql, '(') {
                depth += 1;
            } else if token.is_symbol(column_sql, ')') {
                depth -= 1;
                if depth == 0 {
                    close = j;
                    break;
                }
            }
        }
        let condition = &column_sql[tokens[i + 1].span.start..tokens[close].span.end];
        if sql_tokens::mentions_column(condition, column) {
            let named = i >= 2 && tokens[i - 2].is_keyword(column_sql, "CONSTRAINT");
            let from = if named { i - 2 } else { i };
            cuts.push(tokens[from - 1].span.end..tokens[close].span.end);
        }
        i = close + 1;
    }
    let mut out = column_sql.to_owned();
    for cut in cuts.into_iter().rev() {
        out.replace_range(cut, "");
    }
    out
}

/// The first token of `text` (an identifier, unquoted) and the rest.
fn first_token(text: &str) -> (String, &str) {
    let text = text.trim_start();
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '`' | '['))) => {
            let close = if q == '[' { ']' } else { q };
            let mut name = String::new();
            let mut iter = text[1..].char_indices().peekable();
            while let Some((i, c)) = iter.next() {
                if c == close {
                    if close != ']' && iter.peek().map(|(_, d)| *d) == Some(close) {
                        name.push(close);
                        iter.next();
                        continue;
                    }
                    return (name, &text[1 + i + c.len_utf8()..]);
                }
                name.push(c);
            }
            (name, "")
        }
        Some(_) => {
            let end = text
                .find(|c: char| c.is_whitespace() || c == '(')
                .unwrap_or(text.len());
            (text[..end].to_owned(), &text[end..])
        }
        None => (String::new(), ""),
    }
}

/// The identifiers inside the first parenthesised list of `text`.
fn first_column_list(text: &str) -> Vec<String> {
    let Some(open) = text.find('(') else {
        return Vec::new();
    };
    let Some(close) = text[open..].find(')') else {
        return Vec::new();
    };
    split_top_level(&text[open + 1..open + close])
        .iter()
        .map(|item| first_token(item).0)
        .collect()
}

#[derive(Debug, Clone)]
enum TableItem {
    Column { name: String, sql: String },
    Constraint { name: Option<String>, sql: String },
}

impl TableItem {
    fn parse(sql: String) -> TableItem {
        let (first, rest) = first_token(&sql);
        let keyword = first.to_ascii_uppercase();
        let quoted = sql.trim_start().starts_with(['"', '`', '[']);
        if !quoted
            && matches!(
                keyword.as_str(),
                "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN"
            )
        {
            let name = (keyword == "CONSTRAINT").then(|| first_token(rest).0);
            TableItem::Constraint { name, sql }
        } else {
            TableItem::Column { name: first, sql }
        }
    }

    /// The body of a constraint after `CONSTRAINT name`, uppercased keywords first.
    fn constraint_body(sql: &str) -> &str {
        let (first, rest) = first_token(sql);
        if first.eq_ignore_ascii_case("CONSTRAINT") {
            first_token(rest).1.trim_start()
        } else {
            sql.trim_start()
        }
    }

    fn is_check_body(body: &str) -> bool {
        body.get(..5)
            .is_some_and(|word| word.eq_ignore_ascii_case("CHECK"))
    }

    /// Whether this is a CHECK table constraint named `wanted`.
    fn is_check_named(&self, wanted: &str) -> bool {
        matches!(self, TableItem::Constraint { name: Some(name), sql }
            if name == wanted && Self::is_check_body(Self::constraint_body(sql)))
    }

    fn is_primary_constraint(&self) -> bool {
        match self {
            TableItem::Constraint { sql, .. } => Self::constraint_body(sql)
                .to_ascii_uppercase()
                .starts_with("PRIMARY"),
            TableItem::Column { .. } => false,
        }
    }

    /// Whether this table constraint involves `column`.
    fn constraint_mentions(&self, column: &str) -> bool {
        let TableItem::Constraint { sql, .. } = self else {
            return false;
        };
        let body = Self::constraint_body(sql);
        if Self::is_check_body(body) {
            return sql_tokens::mentions_column(body, column);
        }
        first_column_list(body)
            .iter()
            .any(|c| c.eq_ignore_ascii_case(column))
    }
}

/// Position of `needle` (ASCII, uppercase) in `haystack` outside quotes, ignoring case.
fn find_keyword(haystack: &str, needle: &str) -> Option<usize> {
    let upper = haystack.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
            None if upper[i..].starts_with(needle) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// The statements of SQLite's table-rebuild recipe carrying out `command` on the table
/// described by `snapshot`: create the new table under a temporary name, copy the rows
/// of the columns both have, drop the old table, rename the new one, recreate the
/// indexes (except those on dropped columns) and triggers. Foreign keys must be off
/// (or the table unreferenced) while they run, and `PRAGMA foreign_key_check` run after.
pub fn sqlite_rebuild(
    snapshot: &SqliteTableSnapshot,
    command: &AlterCommand,
) -> Result<Vec<String>> {
    let dialect: &'static dyn Dialect = &super::SqliteDialect;
    let table = snapshot.table.as_str();
    let create = snapshot.create_sql.as_str();
    let (Some(open), Some(close)) = (create.find('('), create.rfind(')')) else {
        return Err(Error::invalid_query(
            InvalidQueryKind::Schema,
            format!("cannot read the definition of table `{table}`"),
        ));
    };
    let suffix = &create[close + 1..];
    let mut items: Vec<TableItem> = split_top_level(&create[open + 1..close])
        .into_iter()
        .map(TableItem::parse)
        .collect();
    let old_columns: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            TableItem::Column { name, .. } => Some(name.clone()),
            TableItem::Constraint { .. } => None,
        })
        .collect();
    let column_position = |items: &[TableItem], wanted: &str| {
        items.iter().position(
            |item| matches!(item, TableItem::Column { name, .. } if name.eq_ignore_ascii_case(wanted)),
        )
    };
    let render_column = |column: &ColumnDef| -> Result<String> {
        let mut w = SqlWriter::new(dialect);
        push_column_definition(&mut w, column, column.primary || column.auto_increment);
        finish(w)
    };
    let missing_column = |name: &str| {
        Error::invalid_query(
            InvalidQueryKind::Schema,
            format!("table `{table}` has no column `{name}`"),
        )
    };
    let mut dropped_column: Option<String> = None;

    // SQLite has no index rename: the index is made again under its new name, from the
    // statement that made it; the table is not rebuilt.
    if let AlterCommand::RenameIndex { from, to } = command {
        let index = snapshot
            .indexes
            .iter()
            .find(|i| i.name == *from)
            .ok_or_else(|| {
                Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!("table `{table}` has no index named `{from}`"),
                )
            })?;
        let renamed = renamed_index_sql(&index.sql, from, to, dialect)?;
        let mut w = SqlWriter::new(dialect);
        w.push("DROP INDEX ").push_identifier(from);
        return Ok(vec![finish(w)?, renamed]);
    }

    match command {
        AlterCommand::AddColumn(column) => {
            if column_position(&items, &column.name).is_some() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!("table `{table}` already has a column `{}`", column.name),
                ));
            }
            let sql = render_column(column)?;
            let at = items
                .iter()
                .position(|i| matches!(i, TableItem::Constraint { .. }))
                .unwrap_or(items.len());
            items.insert(
                at,
                TableItem::Column {
                    name: column.name.clone(),
                    sql,
                },
            );
        }
        AlterCommand::ChangeColumn(column) => {
            let at = column_position(&items, &column.name)
                .ok_or_else(|| missing_column(&column.name))?;
            items[at] = TableItem::Column {
                name: column.name.clone(),
                sql: render_column(column)?,
            };
        }
        AlterCommand::DropColumn(name) => {
            let at = column_position(&items, name).ok_or_else(|| missing_column(name))?;
            items.remove(at);
            // As PostgreSQL's DROP COLUMN does: the constraints involving the column go
            // with it, table-level and column-level; the others stay.
            items.retain(|item| !item.constraint_mentions(name));
            for item in &mut items {
                if let TableItem::Column { sql, .. } = item {
                    *sql = without_checks_on(sql, name);
                }
            }
            dropped_column = Some(name.clone());
        }
        AlterCommand::AddForeign(fk) => {
            let mut w = SqlWriter::new(dialect);
            push_foreign_key(&mut w, fk);
            items.push(TableItem::Constraint {
                name: Some(fk.name.clone()),
                sql: finish(w)?,
            });
        }
        AlterCommand::DropForeign(name) => {
            let before = items.len();
            items.retain(
                |item| !matches!(item, TableItem::Constraint { name: Some(n), .. } if n == name),
            );
            if items.len() == before {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!("table `{table}` has no foreign key named `{name}`"),
                ));
            }
        }
        AlterCommand::AddCheck(check) => {
            if let Some(name) = &check.name {
                if items.iter().any(
                    |item| matches!(item, TableItem::Constraint { name: Some(n), .. } if n == name),
                ) {
                    return Err(Error::invalid_query(
                        InvalidQueryKind::Schema,
                        format!("table `{table}` already has a constraint named `{name}`"),
                    ));
                }
            }
            let mut w = SqlWriter::new(dialect);
            push_check(&mut w, check);
            items.push(TableItem::Constraint {
                name: check.name.clone(),
                sql: finish(w)?,
            });
        }
        AlterCommand::DropCheck(name) => {
            let before = items.len();
            items.retain(|item| !item.is_check_named(name));
            if items.len() == before {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!("table `{table}` has no CHECK constraint named `{name}`"),
                ));
            }
        }
        AlterCommand::AddIndex(index) if index.kind == IndexKind::Primary => {
            let mut w = SqlWriter::new(dialect);
            push_primary_constraint(&mut w, index);
            items.push(TableItem::Constraint {
                name: Some(index.name.clone()),
                sql: finish(w)?,
            });
        }
        AlterCommand::DropPrimary(_) => {
            let before = items.len();
            items.retain(|item| !item.is_primary_constraint());
            if items.len() == before {
                let mut found = false;
                for item in &mut items {
                    if let TableItem::Column { sql, .. } = item {
                        if let Some(at) = find_keyword(sql, "PRIMARY KEY") {
                            let mut end = at + "PRIMARY KEY".len();
                            for word in [" ASC", " DESC", " AUTOINCREMENT"] {
                                if sql[end..].to_ascii_uppercase().starts_with(word) {
                                    end += word.len();
                                }
                            }
                            let start = if sql[..at].ends_with(' ') { at - 1 } else { at };
                            sql.replace_range(start..end, "");
                            found = true;
                        }
                    }
                }
                if !found {
                    return Err(Error::invalid_query(
                        InvalidQueryKind::Schema,
                        format!("table `{table}` has no primary key"),
                    ));
                }
            }
        }
        other => {
            return Err(Error::invalid_query(
                InvalidQueryKind::Schema,
                format!("{} does not need a table rebuild", other.describe()),
            ))
        }
    }

    let new_columns: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            TableItem::Column { name, .. } => Some(name.clone()),
            TableItem::Constraint { .. } => None,
        })
        .collect();
    if new_columns.is_empty() {
        return Err(Error::invalid_query(
            InvalidQueryKind::Schema,
            format!("table `{table}` cannot lose its last column"),
        ));
    }
    let copied: Vec<String> = new_columns
        .iter()
        .filter(|c| old_columns.iter().any(|o| o.eq_ignore_ascii_case(c)))
        .cloned()
        .collect();
    let temporary = format!("orm_rebuild_{table}");

    let mut statements = Vec::new();
    let mut w = SqlWriter::new(dialect);
    w.push("CREATE TABLE ")
        .push_identifier(&temporary)
        .push(" (");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        // Definitions read back from SQLite's own schema, or rendered above.
        let (TableItem::Column { sql, .. } | TableItem::Constraint { sql, .. }) = item;
        w.push(sql);
    }
    w.push(")").push(suffix);
    statements.push(finish(w)?);

    if !copied.is_empty() {
        let mut w = SqlWriter::new(dialect);
        w.push("INSERT INTO ").push_identifier(&temporary).push(" ");
        push_identifier_list(&mut w, &copied);
        w.push(" SELECT ");
        for (i, column) in copied.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_identifier(column);
        }
        w.push(" FROM ").push_identifier(table);
        statements.push(finish(w)?);
    }
    let autoincrement = items.iter().any(|item| {
        let (TableItem::Column { sql, .. } | TableItem::Constraint { sql, .. }) = item;
        sql.to_ascii_uppercase().contains("AUTOINCREMENT")
    });
    if autoincrement {
        statements.extend(carry_sequence(dialect, table, &temporary)?);
    }
    let mut w = SqlWriter::new(dialect);
    w.push("DROP TABLE ").push_identifier(table);
    statements.push(finish(w)?);
    if snapshot.views.is_empty() {
        statements.push(rename_table(dialect, &temporary, table)?);
    } else {
        statements.push("PRAGMA legacy_alter_table = ON".to_owned());
        statements.push(rename_table(dialect, &temporary, table)?);
        statements.push("PRAGMA legacy_alter_table = OFF".to_owned());
        for view in &snapshot.views {
            let mut w = SqlWriter::new(dialect);
            w.push("SELECT 1 FROM ")
                .push_identifier(view)
                .push(" LIMIT 0");
            statements.push(finish(w)?);
        }
    }
    for index in &snapshot.indexes {
        let on_dropped = dropped_column
            .as_ref()
            .is_some_and(|d| index.columns.iter().any(|c| c.eq_ignore_ascii_case(d)));
        if !on_dropped {
            statements.push(index.sql.clone());
        }
    }
    statements.extend(snapshot.triggers.iter().cloned());
    Ok(statements)
}

/// `sql` (a `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON ...` statement) with the
/// index's name replaced by `to`, quoted.
fn renamed_index_sql(
    sql: &str,
    from: &str,
    to: &str,
    dialect: &'static dyn Dialect,
) -> Result<String> {
    let tokens = sql_tokens::tokenize(sql);
    let name = tokens
        .iter()
        .position(|t| t.is_keyword(sql, "INDEX"))
        .and_then(|at| {
            tokens[at + 1..].iter().find(|t| {
                !t.is_keyword(sql, "IF")
                    && !t.is_keyword(sql, "NOT")
                    && !t.is_keyword(sql, "EXISTS")
            })
        })
        .filter(|t| t.name(sql).is_some_and(|n| n == from))
        .ok_or_else(|| {
            Error::invalid_query(
                InvalidQueryKind::Schema,
                format!("cannot read the definition of index `{from}`"),
            )
        })?;
    let mut quoted = SqlWriter::new(dialect);
    quoted.push_identifier(to);
    let quoted = finish(quoted)?;
    let mut renamed = sql.to_owned();
    renamed.replace_range(name.span.clone(), &quoted);
    Ok(renamed)
}

/// Gives the rebuilt `AUTOINCREMENT` table the old one's key counter (`sqlite_sequence`,
/// which the copy sets to the highest key copied only): a key deleted before the
/// rebuild is never handed out again, as `AUTOINCREMENT` promises.
fn carry_sequence(
    dialect: &'static dyn Dialect,
    table: &str,
    temporary: &str,
) -> Result<Vec<String>> {
    let old = Value::Text(table.to_owned());
    let new = Value::Text(temporary.to_owned());
    let mut raise = SqlWriter::new(dialect);
    raise
        .push("UPDATE sqlite_sequence SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN (")
        .push_literal(&old)
        .push(", ")
        .push_literal(&new)
        .push(")) WHERE name = ")
        .push_literal(&new);
    let mut add = SqlWriter::new(dialect);
    add.push("INSERT INTO sqlite_sequence (name, seq) SELECT ")
        .push_literal(&new)
        .push(", seq FROM sqlite_sequence WHERE name = ")
        .push_literal(&old)
        .push(" AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ")
        .push_literal(&new)
        .push(")");
    Ok(vec![finish(raise)?, finish(add)?])
}

/// A one-line description of a SQLite table rebuild, used where the statements are
/// not run (pretend mode): `-- rebuild table "posts": drop column "body"`.
pub fn sqlite_rebuild_summary(table: &str, command: &AlterCommand) -> Result<String> {
    let mut w = SqlWriter::new(&super::SqliteDialect);
    w.push("-- rebuild table ")
        .push_identifier(table)
        .push(": ");
    // The description quotes names with Rust's escaping; strip line breaks.
    let description = command.describe().replace(['\n', '\r'], " ");
    w.push(&description);
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::schema::CheckDef;

    #[test]
    fn rebuild_drops_a_column_and_its_indexes() {
        let snapshot = SqliteTableSnapshot::new(
            "t",
            r#"CREATE TABLE "t" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "a, b" TEXT DEFAULT 'x,y', "c" INTEGER NOT NULL, CONSTRAINT "t_c_foreign" FOREIGN KEY ("c") REFERENCES "u" ("id"))"#,
            vec![
                SqliteIndexSnapshot::new(
                    "t_c_index",
                    r#"CREATE INDEX "t_c_index" ON "t" ("c")"#,
                    vec!["c".into()],
                ),
                SqliteIndexSnapshot::new(
                    "t_ab_index",
                    r#"CREATE INDEX "t_ab_index" ON "t" ("a, b")"#,
                    vec!["a, b".into()],
                ),
            ],
            vec![],
        );
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropColumn("c".into())).unwrap();
        assert_eq!(
            sql,
            vec![
                r#"CREATE TABLE "orm_rebuild_t" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "a, b" TEXT DEFAULT 'x,y')"#,
                r#"INSERT INTO "orm_rebuild_t" ("id", "a, b") SELECT "id", "a, b" FROM "t""#,
                r#"UPDATE sqlite_sequence SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('t', 'orm_rebuild_t')) WHERE name = 'orm_rebuild_t'"#,
                r#"INSERT INTO sqlite_sequence (name, seq) SELECT 'orm_rebuild_t', seq FROM sqlite_sequence WHERE name = 't' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'orm_rebuild_t')"#,
                r#"DROP TABLE "t""#,
                r#"ALTER TABLE "orm_rebuild_t" RENAME TO "t""#,
                r#"CREATE INDEX "t_ab_index" ON "t" ("a, b")"#,
            ]
        );
        let sql =
            sqlite_rebuild(&snapshot, &AlterCommand::DropForeign("t_c_foreign".into())).unwrap();
        assert!(!sql[0].contains("FOREIGN"));
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropPrimary("x".into())).unwrap();
        assert!(
            sql[0].starts_with(r#"CREATE TABLE "orm_rebuild_t" ("id" INTEGER NOT NULL, "#),
            "{}",
            sql[0]
        );
    }

    #[test]
    fn rebuild_keeps_checks_that_only_contain_the_dropped_name() {
        let snapshot = SqliteTableSnapshot::new(
            "t",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, notes_count INTEGER, -- note, ok\n              lo INTEGER CHECK (lo <= \"note\"), hi INTEGER CONSTRAINT hi_ok CHECK (hi > 0),              CHECK (notes_count >= 0), CONSTRAINT label CHECK (notes_count <> 'note'),              CONSTRAINT has_note CHECK (length(NOTE) > 0 /* ) */))",
            vec![],
            vec![],
        );
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropColumn("note".into())).unwrap();
        assert_eq!(
            sql[0],
            "CREATE TABLE \"orm_rebuild_t\" (id INTEGER PRIMARY KEY, notes_count INTEGER, \
             lo INTEGER, hi INTEGER CONSTRAINT hi_ok CHECK (hi > 0), CHECK (notes_count >= 0), \
             CONSTRAINT label CHECK (notes_count <> 'note'))"
        );
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropCheck("label".into())).unwrap();
        assert!(!sql[0].contains("CONSTRAINT label"), "{}", sql[0]);
        assert!(sql[0].contains("CONSTRAINT has_note"), "{}", sql[0]);
        assert!(sqlite_rebuild(&snapshot, &AlterCommand::DropCheck("hi_ok".into())).is_err());
        let sql = sqlite_rebuild(
            &snapshot,
            &AlterCommand::AddCheck(CheckDef::named("lo_ok", "lo >= 0")),
        )
        .unwrap();
        assert!(
            sql[0].ends_with(r#", CONSTRAINT "lo_ok" CHECK (lo >= 0))"#),
            "{}",
            sql[0]
        );
        assert!(sqlite_rebuild(
            &snapshot,
            &AlterCommand::AddCheck(CheckDef::named("label", "lo >= 0"))
        )
        .is_err());
    }
}
