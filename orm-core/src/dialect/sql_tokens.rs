//! A small tokenizer for SQL text the ORM reads back from a database (SQLite's stored
//! `CREATE TABLE` statements): enough to tell identifiers from string literals, quoted
//! names, numbers and comments, so a rebuild matches names by token, never by substring.

use std::borrow::Cow;
use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An unquoted word: a keyword, a name or a function name.
    Word,
    /// A name in `"..."`, `` `...` `` or `[...]`.
    QuotedName,
    /// A string literal in `'...'`.
    String,
    /// A number (or anything else starting with a digit).
    Number,
    /// A `-- ...` or `/* ... */` comment.
    Comment,
    /// One other character: punctuation or an operator.
    Symbol,
}

/// One token of `sql`, by its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Range<usize>,
}

impl Token {
    /// The token's text in `sql`, quotes included.
    pub(crate) fn text<'s>(&self, sql: &'s str) -> &'s str {
        &sql[self.span.clone()]
    }

    /// The name this token spells, unquoted, when it is a word or a quoted name.
    pub(crate) fn name<'s>(&self, sql: &'s str) -> Option<Cow<'s, str>> {
        let text = self.text(sql);
        match self.kind {
            TokenKind::Word => Some(Cow::Borrowed(text)),
            TokenKind::QuotedName => {
                let (open, inner) = text.split_at(1);
                let close = if open == "[" { "]" } else { open };
                let inner = inner.strip_suffix(close).unwrap_or(inner);
                if close == "]" || !inner.contains(close) {
                    Some(Cow::Borrowed(inner))
                } else {
                    Some(Cow::Owned(inner.replace(&close.repeat(2), close)))
                }
            }
            _ => None,
        }
    }

    /// Whether this token is the symbol `c`.
    pub(crate) fn is_symbol(&self, sql: &str, c: char) -> bool {
        self.kind == TokenKind::Symbol && self.text(sql).starts_with(c)
    }

    /// Whether this token is the unquoted keyword `keyword` (any case).
    pub(crate) fn is_keyword(&self, sql: &str, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text(sql).eq_ignore_ascii_case(keyword)
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// The end of a quoted run starting at `start` (the opening quote) in `sql`: after the
/// closing quote, a doubled closing quote standing for one (except for `[...]`).
fn quoted_end(sql: &str, start: usize, close: char) -> usize {
    let mut chars = sql[start + 1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == close {
            if close != ']' && chars.peek().map(|(_, d)| *d) == Some(close) {
                chars.next();
                continue;
            }
            return start + 1 + i + c.len_utf8();
        }
    }
    sql.len()
}

/// Splits `sql` into tokens (whitespace is dropped; an unterminated literal or comment
/// runs to the end).
pub(crate) fn tokenize(sql: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = sql.char_indices().peekable();
    while let Some((start, c)) = rest.next() {
        if c.is_whitespace() {
            continue;
        }
        let next = sql[start + c.len_utf8()..].chars().next();
        let (kind, end) = match c {
            '-' if next == Some('-') => (
                TokenKind::Comment,
                sql[start..].find('\n').map_or(sql.len(), |n| start + n),
            ),
            '/' if next == Some('*') => (
                TokenKind::Comment,
                sql[start + 2..]
                    .find("*/")
                    .map_or(sql.len(), |n| start + 2 + n + 2),
            ),
            '\'' => (TokenKind::String, quoted_end(sql, start, '\'')),
            '"' | '`' => (TokenKind::QuotedName, quoted_end(sql, start, c)),
            '[' => (TokenKind::QuotedName, quoted_end(sql, start, ']')),
            c if c.is_ascii_digit() => (
                TokenKind::Number,
                sql[start..]
                    .find(|d: char| !(d.is_ascii_alphanumeric() || d == '.'))
                    .map_or(sql.len(), |n| start + n),
            ),
            c if is_word_start(c) => (
                TokenKind::Word,
                sql[start..]
                    .find(|d: char| !is_word_char(d))
                    .map_or(sql.len(), |n| start + n),
            ),
            c => (TokenKind::Symbol, start + c.len_utf8()),
        };
        while rest.peek().is_some_and(|(i, _)| *i < end) {
            rest.next();
        }
        tokens.push(Token {
            kind,
            span: start..end,
        });
    }
    tokens
}

/// Where the quoted run opened by the quote at `start` ends (past its closing quote; a
/// doubled quote stands for one inside, and with `backslash_escapes` so does `\'`), or
/// the end of `bytes` when it is not closed.
pub(crate) fn quoted_run_end(
    bytes: &[u8],
    start: usize,
    quote: u8,
    backslash_escapes: bool,
) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Calls `f` with the first two words of each `;`-separated statement of `sql` (empty
/// when a statement has fewer), skipping comments, and never splitting inside a literal,
/// a quoted name or a comment; stops at the first `true` and returns it. Allocates
/// nothing: it runs on every statement of a transaction on MySQL.
pub(crate) fn any_statement_head(sql: &str, mut f: impl FnMut(&str, &str) -> bool) -> bool {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let mut words: [&str; 2] = ["", ""];
        let mut count = 0;
        // One statement: up to a `;` outside literals, names and comments.
        while i < bytes.len() && bytes[i] != b';' {
            match bytes[i] {
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                }
                b'#' => {
                    // MySQL's own line comment.
                    i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = sql[i + 2..]
                        .find("*/")
                        .map_or(bytes.len(), |n| i + 2 + n + 2);
                }
                quote @ (b'\'' | b'"' | b'`') => {
                    i = quoted_run_end(bytes, i, quote, false);
                    count = 2; // a statement's words come before any literal
                }
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    let start = i;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                    if count < 2 {
                        words[count] = &sql[start..i];
                        count += 1;
                    }
                }
                b if b.is_ascii_whitespace() => i += 1,
                _ => {
                    i += 1;
                    if count > 0 {
                        count = 2; // only leading words count
                    }
                }
            }
        }
        if words[0].is_empty() && i >= bytes.len() {
            return false;
        }
        if !words[0].is_empty() && f(words[0], words[1]) {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether `sql` holds a statement that begins, ends or marks a transaction (`BEGIN`,
/// `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`).
pub(crate) fn controls_transaction(sql: &str) -> bool {
    const CONTROL: [&str; 8] = [
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
    ];
    any_statement_head(sql, |first, second| {
        let start = first.eq_ignore_ascii_case("START");
        CONTROL.iter().any(|k| first.eq_ignore_ascii_case(k))
            && (!start || second.eq_ignore_ascii_case("TRANSACTION"))
    })
}

/// Whether every statement of `sql` only reads (`SELECT`, `WITH`, `VALUES`, `TABLE`,
/// `SHOW`, `EXPLAIN`, `DESCRIBE`): what a read replica may run. A `SELECT ... FOR
/// UPDATE` or a `WITH` that writes is not told apart (the caller says `on_primary`).
pub(crate) fn only_reads(sql: &str) -> bool {
    const READING: [&str; 8] = [
        "SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "DESC",
    ];
    !any_statement_head(sql, |first, _| {
        !READING.iter().any(|k| first.eq_ignore_ascii_case(k))
    })
}

/// Whether the SQL expression `sql` refers to the column `column` (names compare
/// without regard to ASCII case, as SQLite's do). A word followed by `(` is a function
/// call, not a column; literals and comments never match.
pub(crate) fn mentions_column(sql: &str, column: &str) -> bool {
    let tokens = tokenize(sql);
    let code: Vec<&Token> = tokens
        .iter()
        .filter(|t| t.kind != TokenKind::Comment)
        .collect();
    code.iter().enumerate().any(|(i, token)| {
        let calls = token.kind == TokenKind::Word
            && code.get(i + 1).is_some_and(|next| next.is_symbol(sql, '('));
        !calls
            && token
                .name(sql)
                .is_some_and(|name| name.eq_ignore_ascii_case(column))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(TokenKind, &str)> {
        tokenize(sql)
            .iter()
            .map(|t| (t.kind, t.text(sql)))
            .collect()
    }

    #[test]
    fn literals_names_and_comments_are_single_tokens() {
        assert_eq!(
            kinds(
                r#"CHECK ("a""b" <> 'it''s, (x)' -- note, here
            AND [c d] > 1.5e3 /* note */)"#
            ),
            vec![
                (TokenKind::Word, "CHECK"),
                (TokenKind::Symbol, "("),
                (TokenKind::QuotedName, r#""a""b""#),
                (TokenKind::Symbol, "<"),
                (TokenKind::Symbol, ">"),
                (TokenKind::String, "'it''s, (x)'"),
                (TokenKind::Comment, "-- note, here"),
                (TokenKind::Word, "AND"),
                (TokenKind::QuotedName, "[c d]"),
                (TokenKind::Symbol, ">"),
                (TokenKind::Number, "1.5e3"),
                (TokenKind::Comment, "/* note */"),
                (TokenKind::Symbol, ")"),
            ]
        );
        let sql = r#""a""b""#;
        assert_eq!(tokenize(sql)[0].name(sql).as_deref(), Some(r#"a"b"#));
    }

    #[test]
    fn statement_heads_skip_comments_and_literals() {
        let heads = |sql: &str| {
            let mut out = Vec::new();
            any_statement_head(sql, |a, b| {
                out.push(format!("{a} {b}"));
                false
            });
            out
        };
        assert_eq!(heads("/* x */ CREATE TABLE t (a INT)"), ["CREATE TABLE"]);
        assert_eq!(heads("-- note\nDROP TEMPORARY TABLE t"), ["DROP TEMPORARY"]);
        assert_eq!(
            heads("INSERT INTO t VALUES ('a; drop table t'); COMMIT"),
            ["INSERT INTO", "COMMIT "]
        );
        assert_eq!(
            heads("# mysql\n  begin;  ; select 1"),
            ["begin ", "select "]
        );
        assert!(controls_transaction("/* c */ COMMIT"));
        assert!(controls_transaction("INSERT INTO t VALUES (1); rollback"));
        assert!(controls_transaction("start transaction"));
        assert!(!controls_transaction("START SLAVE"));
        assert!(!controls_transaction("INSERT INTO t (a) VALUES ('COMMIT')"));
        assert!(!controls_transaction("SELECT 1 -- ; COMMIT"));
        assert!(!controls_transaction("UPDATE t SET `end` = 1"));
        assert!(only_reads("/* report */ select 1; SELECT 2"));
        assert!(only_reads("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!only_reads("INSERT INTO t (a) VALUES (1) RETURNING id"));
        assert!(!only_reads("SELECT 1; DELETE FROM t"));
    }

    #[test]
    fn columns_are_matched_by_name_not_substring() {
        assert!(!mentions_column("CHECK (notes_count >= 0)", "note"));
        assert!(!mentions_column("CHECK (x <> 'note')", "note"));
        assert!(!mentions_column("CHECK (x > 0) -- note", "note"));
        assert!(!mentions_column("CHECK (length(x) > 0)", "length"));
        assert!(mentions_column("CHECK (NOTE <> '')", "note"));
        assert!(mentions_column(r#"CHECK ("note" <> '')"#, "Note"));
        assert!(mentions_column("CHECK (t.note <> '')", "note"));
        assert!(mentions_column("CHECK ([my col] > 0)", "my col"));
        assert!(mentions_column("CHECK (`a``b` > 0)", "a`b"));
    }
}
