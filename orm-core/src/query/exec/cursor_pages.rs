//! Cursor pagination (`cursor_paginate`, Eloquent's `cursorPaginate`): pages by the
//! order columns' values of the last row read, so every page costs the same and rows
//! added or removed meanwhile neither repeat nor go missing.

use super::*;
use crate::query::clause::{split_alias, Columns, Parts};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// One page of results with opaque cursors to the pages around it (from
/// [`Query::cursor_paginate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPaginator<T> {
    /// The rows of this page, in the query's order.
    pub data: Vec<T>,
    /// Rows per page.
    pub per_page: u64,
    /// The cursor of the next page (`None` on the last one): pass it to
    /// `cursor_paginate` to read that page. URL-safe text.
    pub next_cursor: Option<String>,
    /// The cursor of the previous page (`None` on the first one).
    pub previous_cursor: Option<String>,
}

impl<T> CursorPaginator<T> {
    /// Whether a page follows or precedes this one.
    pub fn has_pages(&self) -> bool {
        self.next_cursor.is_some() || self.previous_cursor.is_some()
    }
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> CursorPaginator<T> {
    /// The page as JSON (its `Serialize`), or [`Error::Serialization`].
    pub fn to_json(&self) -> crate::error::Result<serde_json::Value> {
        serde_json::to_value(self).map_err(crate::error::Error::Serialization)
    }
}

/// Laravel's cursor page as JSON, the URLs left out: `{"data", "per_page",
/// "next_cursor", "prev_cursor"}`.
#[cfg(feature = "json")]
impl<T: serde::Serialize> serde::Serialize for CursorPaginator<T> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut page = serializer.serialize_struct("CursorPaginator", 4)?;
        page.serialize_field("data", &self.data)?;
        page.serialize_field("per_page", &self.per_page)?;
        page.serialize_field("next_cursor", &self.next_cursor)?;
        page.serialize_field("prev_cursor", &self.previous_cursor)?;
        page.end()
    }
}

/// The scope name of the cursor's condition.
const CURSOR_SCOPE: &str = "cursor_page";

impl<T: FromRow> Query<T> {
    /// A page of `per_page` rows after (or before) `cursor`, ordered by the query's
    /// `order_by` columns (by the primary key when it has none). The primary key is
    /// added as the last order column when missing (selected under an alias when the
    /// query does not select it), so that rows with equal order values are neither
    /// repeated nor skipped; a grouped query (or a `DISTINCT` one not selecting the
    /// key) pages by its order alone, which must then be unique. One query per page (one extra row tells whether
    /// another page follows); the query's own limit and offset are replaced.
    ///
    /// The order values are read from each page's rows: a select alias is compared
    /// through its expression, another table's column is selected under an alias of its
    /// own. Models carry their own columns only, so a model query orders by them (a
    /// pivot's or a joined table's column is `InvalidQuery`; page a `DB::table` query
    /// for those). NULLs are paged where the database sorts them; random or raw orders
    /// are refused, as is a cursor this query did not make. A union is paged as one
    /// table of its result (its order names result columns and must be unique).
    pub fn cursor_paginate(
        self,
        per_page: u64,
        cursor: Option<&str>,
    ) -> Result<CursorPaginator<T>> {
        let cursor = cursor.map(str::to_owned);
        self.run_read(move |q, c| q.cursor_paginate_on(c, per_page, cursor.as_deref()))
    }

    fn cursor_paginate_on(
        mut self,
        conn: &mut Connection,
        per_page: u64,
        cursor: Option<&str>,
    ) -> Result<CursorPaginator<T>> {
        if per_page == 0 {
            return Err(Error::invalid_query(
                InvalidQueryKind::Argument,
                "per_page must be at least 1",
            ));
        }
        if !self.parts.unions.is_empty() {
            self.read_union_as_a_table();
        }
        let columns = self.cursor_columns()?;
        let cursor = cursor
            .map(|c| PageCursor::decode(c, columns.len()))
            .transpose()?;
        let backwards = cursor.as_ref().is_some_and(|c| !c.forwards);
        let parts = self.parts_mut();
        parts.limit = Some(per_page.saturating_add(1));
        parts.offset = None;
        parts.orders = columns
            .iter()
            .map(|c| Order::Column(c.order.clone(), c.descending != backwards))
            .collect();
        if let Some(cursor) = &cursor {
            let nulls_first = conn.dialect().nulls_sort_first();
            let after = beyond(&columns, &cursor.values, backwards, nulls_first);
            parts
                .scopes
                .push((Ident::Borrowed(CURSOR_SCOPE), smallvec::smallvec![after]));
        }
        let mut data = self.get_on(conn)?;
        let more = data.len() as u64 > per_page;
        data.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
        if backwards {
            data.reverse();
        }
        let (next, previous) = match (&cursor, backwards) {
            (None, _) => (more, false),
            (Some(_), false) => (more, true),
            (Some(_), true) => (true, more),
        };
        let cursor_of = |row: Option<&T>, forwards: bool| -> Result<Option<String>> {
            match row {
                Some(row) => PageCursor::of(row, &columns, forwards).map(Some),
                None => Ok(None),
            }
        };
        Ok(CursorPaginator {
            next_cursor: if next {
                cursor_of(data.last(), true)?
            } else {
                None
            },
            previous_cursor: if previous {
                cursor_of(data.first(), false)?
            } else {
                None
            },
            data,
            per_page,
        })
    }

    /// A union's rows paged as a table's: the union (without its order and limit) read
    /// as a derived table, its order the outer query's (Laravel's cursor pagination of
    /// a union). The order names the union's result columns.
    fn read_union_as_a_table(&mut self) {
        let parts = self.parts_mut();
        let orders = std::mem::take(&mut parts.orders);
        let mut union = std::mem::replace(parts, Parts::new(Ident::Borrowed("orm_union")));
        union.limit = None;
        union.offset = None;
        parts.from_sub = Some(Box::new(union));
        parts.orders = orders;
    }

    /// The order columns, the key last when the rows are the table's (not grouped; a
    /// `DISTINCT` select that includes the key). A column of another table (or the key,
    /// when not selected) is selected under an alias of its own to be read back; a
    /// select alias is compared through its expression.
    fn cursor_columns(&mut self) -> Result<Vec<CursorColumn>> {
        let model = T::expected_columns().is_some();
        let own = table_reference(&self.parts.table).to_owned();
        let mut columns = Vec::with_capacity(self.parts.orders.len() + 1);
        for (i, order) in self.parts.orders.iter().enumerate() {
            let (column, descending) = match order {
                Order::Column(column, descending) => (column.clone(), *descending),
                Order::Raw(..) => return Err(refused("a raw order")),
                Order::Random => return Err(refused("a random order")),
                Order::Sub(..) => return Err(refused("an order by a count")),
                Order::Nulls(..) => return Err(refused("an order placing NULLs")),
            };
            let foreign = column
                .rsplit_once('.')
                .is_some_and(|(table, _)| table != own);
            let aliased = (!column.contains('.'))
                .then(|| selected_as(&self.parts.columns, &column))
                .flatten();
            if model && (foreign || aliased.is_some()) {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    format!(
                        "cursor_paginate reads each page's order values from the models: \
                         `{column}` is not a column of theirs (order by the model's own \
                         columns, or page a `DB::table` query)"
                    ),
                ));
            }
            let (filter, read) = match aliased {
                Some(filter) => (filter, column.to_string()),
                None if foreign => (Filter::Column(column.clone()), format!("orm_cursor_{i}")),
                None => (
                    Filter::Column(column.clone()),
                    column_name(&column).to_owned(),
                ),
            };
            columns.push(CursorColumn {
                order: column,
                descending,
                filter,
                read,
            });
        }
        let key = self.paging_key();
        let has_key = columns.iter().any(|c| match &c.filter {
            Filter::Column(column) => same_column(column, &key),
            Filter::Raw(..) => false,
        });
        // Grouped rows are not the table's: their order must be unique. DISTINCT rows
        // take the key only when they select it (selecting it more would change them).
        let selected = key_selected(&self.parts.columns, &key);
        // Nor are a derived table's (a union's): its order must be unique too.
        let keyed = self.parts.groups.is_empty()
            && self.parts.from_sub.is_none()
            && (selected || !self.parts.distinct);
        if !has_key && !key.is_empty() && keyed {
            // Ties broken in the last column's direction, so that an index on (column,
            // key) serves both; read under an alias when the query does not select it.
            let read = match selected {
                true => column_name(&key).to_owned(),
                false => "orm_cursor_key".to_owned(),
            };
            columns.push(CursorColumn {
                read,
                filter: Filter::Column(key.clone()),
                descending: columns.last().is_some_and(|c| c.descending),
                order: key,
            });
        }
        // Columns the rows do not carry under a name of their own (another table's, the
        // key), selected to be read back (after `*` when the query chose nothing).
        let extra: Vec<String> = columns
            .iter()
            .filter(|c| c.read.starts_with("orm_cursor_"))
            .map(|c| format!("{} as {}", c.order, c.read))
            .collect();
        if !extra.is_empty() {
            let parts = self.parts_mut();
            if !parts.columns.chosen() {
                parts.columns.push(SelectItem::Column(Ident::Borrowed("*")));
            }
            for column in extra {
                parts.columns.push(SelectItem::Column(Ident::Owned(column)));
            }
        }
        if columns.is_empty() {
            return Err(refused("no order and no primary key"));
        }
        Ok(columns)
    }
}

/// One column a cursor pages by.
struct CursorColumn {
    /// As the query orders by it.
    order: Ident,
    descending: bool,
    /// What the cursor's condition compares with the cursor's value.
    filter: Filter,
    /// The name each row carries its value under.
    read: String,
}

/// The left side of a cursor comparison.
enum Filter {
    Column(Ident),
    /// A select expression ordered by its alias, with its bindings.
    Raw(String, Vec<Value>),
}

/// The expression a select item names `alias` (`expr as alias`), if one does.
fn selected_as(columns: &Columns, alias: &str) -> Option<Filter> {
    columns.iter().find_map(|item| match item {
        Selected::Name(expr) => match split_alias(expr) {
            (name, Some(named)) if named == alias => {
                Some(Filter::Column(Ident::Owned(name.to_owned())))
            }
            _ => None,
        },
        Selected::Item(SelectItem::Column(expr)) => match split_alias(expr) {
            (name, Some(named)) if named == alias => {
                Some(Filter::Column(Ident::Owned(name.to_owned())))
            }
            _ => None,
        },
        Selected::Item(SelectItem::Raw(sql, bindings)) => match split_alias(sql) {
            (expr, Some(named)) if named == alias => {
                Some(Filter::Raw(expr.to_owned(), bindings.clone()))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Whether the rows carry the key under its own name: nothing chosen (a model's columns,
/// or `*`), `*`, `table.*` or the key itself among the selected items.
fn key_selected(columns: &Columns, key: &str) -> bool {
    if !columns.chosen() {
        return true;
    }
    columns.iter().any(|item| {
        let expr: &str = match item {
            Selected::Name(name) => name,
            Selected::Item(SelectItem::Column(expr)) => expr,
            Selected::Item(_) => return false,
        };
        match split_alias(expr) {
            (name, None) => name == "*" || name.ends_with(".*") || same_column(name, key),
            _ => false,
        }
    })
}

fn refused(what: &str) -> Error {
    Error::invalid_query(
        InvalidQueryKind::Clauses,
        format!("cursor_paginate pages by the order columns' values: the query has {what}"),
    )
}

/// The column's name without its table (`posts.id` → `id`), as a row names it.
fn column_name(column: &str) -> &str {
    column.rsplit('.').next().unwrap_or_default()
}

/// Whether two column references name one column: equal, or of one name where either
/// leaves the table out.
fn same_column(a: &str, b: &str) -> bool {
    a == b || ((!a.contains('.') || !b.contains('.')) && column_name(a) == column_name(b))
}

/// The rows after the cursor's values in the order of `columns` (before them when
/// `backwards`): `a > x OR (a = x AND b > y) OR ...`, each comparison in its column's
/// direction, with NULL where the database sorts it (`nulls_first`: before every value
/// in an ascending order), so that no row with a NULL order value is skipped.
fn beyond(columns: &[CursorColumn], values: &[Value], backwards: bool, nulls_first: bool) -> Where {
    let mut alternatives = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        let mut all = Vec::with_capacity(i + 1);
        for (column, value) in columns.iter().zip(values).take(i) {
            all.push(compare(&column.filter, Some(Operator::Eq), value));
        }
        let (column, value) = (&columns[i], &values[i]);
        // Whether this page's rows come after the value in ascending order.
        let upwards = column.descending == backwards;
        let Some(past) = past(&column.filter, value, upwards, nulls_first) else {
            continue;
        };
        all.push(past);
        alternatives.push(Where {
            or: !alternatives.is_empty(),
            kind: WhereKind::Group(all),
        });
    }
    if alternatives.is_empty() {
        // Nothing lies beyond (the cursor's row is last whichever way NULL sorts).
        alternatives.push(Where {
            or: false,
            kind: WhereKind::Raw {
                sql: Ident::Borrowed("1 = 0"),
                bindings: Vec::new(),
            },
        });
    }
    Where {
        or: false,
        kind: WhereKind::Group(alternatives),
    }
}

/// `filter op value`; with no operator (or a NULL value for `=`), `filter IS [NOT] NULL`
/// (`IS NULL` for `=`, `IS NOT NULL` for none).
fn compare(filter: &Filter, op: Option<Operator>, value: &Value) -> Where {
    let null = match op {
        None => Some(true),
        Some(Operator::Eq) if value.is_null() => Some(false),
        _ => None,
    };
    let kind = match (filter, null) {
        (Filter::Column(column), Some(not)) => WhereKind::Null {
            column: column.clone(),
            not,
        },
        (Filter::Column(column), None) => WhereKind::Basic {
            column: column.clone(),
            op: op.unwrap_or(Operator::Eq),
            value: value.clone(),
        },
        (Filter::Raw(expr, bindings), Some(not)) => WhereKind::Raw {
            sql: Ident::Owned(format!("({expr}) IS {}NULL", if not { "NOT " } else { "" })),
            bindings: bindings.clone(),
        },
        (Filter::Raw(expr, bindings), None) => {
            let op = match op {
                Some(Operator::Lt) => "<",
                Some(Operator::Gt) => ">",
                _ => "=",
            };
            let mut bindings = bindings.clone();
            bindings.push(value.clone());
            WhereKind::Raw {
                sql: Ident::Owned(format!("({expr}) {op} ?")),
                bindings,
            }
        }
    };
    Where { or: false, kind }
}

/// The rows strictly above `value` in ascending order (`upwards`), or below it, with
/// NULL lowest (`nulls_first`) or highest; `None` when there are none.
fn past(filter: &Filter, value: &Value, upwards: bool, nulls_first: bool) -> Option<Where> {
    // NULL is beyond every value when it sorts at the end being walked towards.
    let nulls_beyond = upwards != nulls_first;
    if value.is_null() {
        // Past a NULL: every value when NULLs come first, else nothing.
        return (!nulls_beyond).then(|| compare(filter, None, value));
    }
    let op = if upwards { Operator::Gt } else { Operator::Lt };
    let compared = compare(filter, Some(op), value);
    Some(match nulls_beyond {
        true => {
            let mut is_null = compare(filter, Some(Operator::Eq), &Value::Null);
            is_null.or = true;
            Where {
                or: false,
                kind: WhereKind::Group(vec![compared, is_null]),
            }
        }
        false => compared,
    })
}

/// What a cursor holds: the direction and the order columns' values of the row it
/// starts after.
struct PageCursor {
    forwards: bool,
    values: Vec<Value>,
}

impl PageCursor {
    /// The cursor of the page after (`forwards`) or before `row`.
    fn of<T: FromRow>(row: &T, columns: &[CursorColumn], forwards: bool) -> Result<String> {
        let mut text = String::from(if forwards { "n" } else { "p" });
        for column in columns {
            let name = column.read.as_str();
            let value = row.decoded_column(name).ok_or_else(|| {
                Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    format!(
                        "cursor_paginate reads the order column `{name}` from each page's \
                         rows: select it, and read rows as models or records"
                    ),
                )
            })?;
            push_value(&mut text, name, &value)?;
        }
        Ok(hex(text.as_bytes()))
    }

    fn decode(cursor: &str, columns: usize) -> Result<PageCursor> {
        let invalid = || {
            Error::invalid_query(
                InvalidQueryKind::Argument,
                format!("not a cursor of this query: {cursor:?}"),
            )
        };
        let bytes = unhex(cursor).ok_or_else(invalid)?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (forwards, mut rest) = match text.split_at_checked(1) {
            Some(("n", rest)) => (true, rest),
            Some(("p", rest)) => (false, rest),
            _ => return Err(invalid()),
        };
        let mut values = Vec::with_capacity(columns);
        while !rest.is_empty() {
            let (value, after) = read_value(rest).ok_or_else(invalid)?;
            values.push(value);
            rest = after;
        }
        if values.len() != columns {
            return Err(invalid());
        }
        Ok(PageCursor { forwards, values })
    }
}

const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// Appends `tag length ':' payload`.
fn push_value(text: &mut String, column: &str, value: &Value) -> Result<()> {
    let (tag, payload) = match value {
        Value::Int(i) => ('i', i.to_string()),
        Value::Bool(b) => ('b', u8::from(*b).to_string()),
        Value::Float(f) => ('f', format!("{:x}", f.to_bits())),
        Value::Text(s) => ('s', s.clone()),
        Value::Bytes(b) => ('x', hex(b)),
        Value::Date(d) => ('d', d.to_string()),
        Value::Time(t) => ('t', t.format("%H:%M:%S%.f").to_string()),
        Value::DateTime(dt) => ('D', dt.format(DATE_TIME).to_string()),
        Value::DateTimeUtc(dt) => ('U', dt.naive_utc().format(DATE_TIME).to_string()),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => ('m', d.to_string()),
        Value::Null => ('n', String::new()),
        other => {
            return Err(Error::invalid_query(
                InvalidQueryKind::Clauses,
                format!(
                    "cursor_paginate cannot order by `{column}`, a {}",
                    other.as_ref().type_name()
                ),
            ))
        }
    };
    text.push(tag);
    text.push_str(&payload.len().to_string());
    text.push(':');
    text.push_str(&payload);
    Ok(())
}

/// Reads one value written by [`push_value`], and what follows it.
fn read_value(text: &str) -> Option<(Value, &str)> {
    let mut chars = text.chars();
    let tag = chars.next()?;
    let (length, rest) = chars.as_str().split_once(':')?;
    let length: usize = length.parse().ok()?;
    let (payload, rest) = rest.split_at_checked(length)?;
    let value = match tag {
        'n' if payload.is_empty() => Value::Null,
        'i' => Value::Int(payload.parse().ok()?),
        'b' => Value::Bool(match payload {
            "0" => false,
            "1" => true,
            _ => return None,
        }),
        'f' => Value::Float(f64::from_bits(u64::from_str_radix(payload, 16).ok()?)),
        's' => Value::Text(payload.to_owned()),
        'x' => Value::Bytes(unhex(payload)?),
        'd' => Value::Date(payload.parse::<NaiveDate>().ok()?),
        't' => Value::Time(NaiveTime::parse_from_str(payload, "%H:%M:%S%.f").ok()?),
        'D' => Value::DateTime(NaiveDateTime::parse_from_str(payload, DATE_TIME).ok()?),
        'U' => Value::DateTimeUtc(
            NaiveDateTime::parse_from_str(payload, DATE_TIME)
                .ok()?
                .and_utc(),
        ),
        #[cfg(feature = "decimal")]
        'm' => Value::Decimal(payload.parse().ok()?),
        _ => return None,
    };
    Some((value, rest))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_reads_back_as_written() {
        let values = vec![
            Value::Null,
            Value::Int(-42),
            Value::Bool(true),
            Value::Float(0.1 + 0.2),
            Value::Text("a:b 1:2 ünï\u{0}".into()),
            Value::Bytes(vec![0, 255, 16]),
            Value::Date(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            Value::Time(NaiveTime::from_hms_micro_opt(23, 59, 59, 123_456).unwrap()),
            Value::DateTime(
                NaiveDate::from_ymd_opt(1999, 12, 31)
                    .unwrap()
                    .and_hms_micro_opt(1, 2, 3, 4)
                    .unwrap(),
            ),
            Value::DateTimeUtc(
                NaiveDate::from_ymd_opt(2026, 12, 6)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc(),
            ),
        ];
        let mut text = String::from("n");
        for value in &values {
            push_value(&mut text, "c", value).unwrap();
        }
        let cursor = PageCursor::decode(&hex(text.as_bytes()), values.len()).unwrap();
        assert!(cursor.forwards);
        assert_eq!(cursor.values, values);
    }

    #[test]
    fn a_cursor_not_made_here_is_refused() {
        // The last: "né1:x", a tag of two bytes.
        for bad in [
            "",
            "zz",
            "6",
            "6e",
            "6e69313a",
            "7169313a31",
            "6e69323a31",
            "6ec3a9313a78",
        ] {
            let err = PageCursor::decode(bad, 1).err().unwrap();
            assert_eq!(
                err.invalid_query_kind(),
                Some(InvalidQueryKind::Argument),
                "{bad}"
            );
        }
        // Right form, wrong number of columns.
        assert!(PageCursor::decode(&hex(b"ni1:1"), 2).is_err());
        assert!(PageCursor::decode(&hex(b"ni1:1"), 1).is_ok());
    }
}
