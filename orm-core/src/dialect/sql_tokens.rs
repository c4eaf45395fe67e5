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
