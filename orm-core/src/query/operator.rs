//! The comparison operators a condition may use: an enum the compiler checks, or the
//! same operators written as text (checked when the builder method is called).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, InvalidQueryKind};

/// A comparison operator of `where_`, `or_where`, `where_column`, `having`, joins, ...
///
/// Builder methods take an `Operator` or its text (`"<="`, `"not like"`, ...): the enum
/// cannot be misspelt; text is parsed when the method is called, and an unknown operator
/// makes the query fail with [`Error::InvalidQuery`] when it runs.
///
/// ```
/// use orm_core::{dialect::SqliteDialect, Operator, Query};
/// let q = Query::<orm_core::Record>::new("users")
///     .where_("votes", Operator::Ge, 100)
///     .or_where("name", "not like", "A%");
/// let (sql, _) = q.to_sql_for(&SqliteDialect)?;
/// assert_eq!(sql, r#"SELECT * FROM "users" WHERE "votes" >= ? OR "name" NOT LIKE ? ESCAPE '\'"#);
/// assert_eq!("<>".parse::<Operator>()?, Operator::NotEq);
/// # Ok::<(), orm_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// `=` (also written `==`). Compared with NULL it renders `IS NULL`.
    Eq,
    /// `<>` (also written `!=`). Compared with NULL it renders `IS NOT NULL`.
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (the pattern rules of [`crate::Query::where_like`]).
    Like,
    /// `NOT LIKE`
    NotLike,
    /// Case-insensitive `LIKE` on every backend (`ILIKE` on PostgreSQL).
    ILike,
    /// Case-insensitive `NOT LIKE`.
    NotILike,
}

impl Operator {
    /// Parses an operator (case-insensitive, surrounding spaces ignored).
    fn parse(op: &str) -> Option<Operator> {
        // The symbols as usually written, before any trimming or case folding.
        if let Some(symbol) = Operator::symbol(op) {
            return Some(symbol);
        }
        let op = op.trim();
        Some(match Operator::symbol(op) {
            Some(symbol) => symbol,
            _ if op.eq_ignore_ascii_case("like") => Operator::Like,
            _ if op.eq_ignore_ascii_case("ilike") => Operator::ILike,
            _ if is_two_words(op, "not", "like") => Operator::NotLike,
            _ if is_two_words(op, "not", "ilike") => Operator::NotILike,
            _ => return None,
        })
    }

    #[inline]
    fn symbol(op: &str) -> Option<Operator> {
        Some(match op {
            "=" | "==" => Operator::Eq,
            "<>" | "!=" => Operator::NotEq,
            "<" => Operator::Lt,
            "<=" => Operator::Le,
            ">" => Operator::Gt,
            ">=" => Operator::Ge,
            _ => return None,
        })
    }

    /// Whether this is one of the `LIKE` operators (whose right side is a pattern).
    pub(crate) fn is_like(self) -> bool {
        matches!(
            self,
            Operator::Like | Operator::NotLike | Operator::ILike | Operator::NotILike
        )
    }
}

fn is_two_words(op: &str, first: &str, second: &str) -> bool {
    let mut words = op.split_ascii_whitespace();
    matches!(
        (words.next(), words.next(), words.next()),
        (Some(a), Some(b), None) if a.eq_ignore_ascii_case(first) && b.eq_ignore_ascii_case(second)
    )
}

fn unknown_operator(op: &str) -> Error {
    Error::invalid_query(
        InvalidQueryKind::Operator,
        format!(
        "unknown operator {op:?}: use one of = < > <= >= <> != like, not like, ilike, not ilike"
    ),
    )
}

impl FromStr for Operator {
    type Err = Error;

    fn from_str(op: &str) -> Result<Operator, Error> {
        Operator::parse(op).ok_or_else(|| unknown_operator(op))
    }
}

impl TryFrom<&str> for Operator {
    type Error = Error;

    fn try_from(op: &str) -> Result<Operator, Error> {
        op.parse()
    }
}

impl fmt::Display for Operator {
    /// The operator as written in a condition (`ILIKE` is rendered per dialect).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::Eq => "=",
            Operator::NotEq => "<>",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Like => "LIKE",
            Operator::NotLike => "NOT LIKE",
            Operator::ILike => "ILIKE",
            Operator::NotILike => "NOT ILIKE",
        })
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Operator {}
    impl Sealed for &str {}
    impl Sealed for String {}
    impl Sealed for &String {}
}

/// What a builder method accepts as an operator: an [`Operator`] or its text.
pub trait IntoOperator: sealed::Sealed {
    /// The operator, or the [`Error::InvalidQuery`] an unknown text is.
    fn into_operator(self) -> Result<Operator, Error>;
}

impl IntoOperator for Operator {
    #[inline]
    fn into_operator(self) -> Result<Operator, Error> {
        Ok(self)
    }
}

impl IntoOperator for &str {
    #[inline]
    fn into_operator(self) -> Result<Operator, Error> {
        self.parse()
    }
}

impl IntoOperator for String {
    fn into_operator(self) -> Result<Operator, Error> {
        self.parse()
    }
}

impl IntoOperator for &String {
    fn into_operator(self) -> Result<Operator, Error> {
        self.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_come_from_the_whitelist() {
        assert_eq!(Operator::parse(" = "), Some(Operator::Eq));
        assert_eq!(Operator::parse("!="), Some(Operator::NotEq));
        assert_eq!(Operator::parse("NOT  Like"), Some(Operator::NotLike));
        assert_eq!(Operator::parse("ILIKE"), Some(Operator::ILike));
        assert_eq!(Operator::parse("not ilike"), Some(Operator::NotILike));
        assert_eq!(Operator::parse("; DROP TABLE users"), None);
        assert_eq!(Operator::parse("not like x"), None);
        assert_eq!(Operator::parse(""), None);
    }

    #[test]
    fn every_operator_parses_back_from_its_text() {
        use Operator::*;
        for op in [Eq, NotEq, Lt, Le, Gt, Ge, Like, NotLike, ILike, NotILike] {
            assert_eq!(op.to_string().parse::<Operator>().unwrap(), op);
        }
        assert!(matches!(
            Operator::try_from("=>"),
            Err(Error::InvalidQuery { message, .. }) if message.contains("\"=>\"")
        ));
    }
}
