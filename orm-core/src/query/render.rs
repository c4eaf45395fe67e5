//! Rendering: every clause goes through a [`SqlWriter`] (raw text written here, quoted
//! identifiers, bound values). Rendering consumes the clauses, so bound values move into
//! the statement without copies.

use super::clause::{
    split_alias, Columns, Compound, Conditions, Cte, Group, JoinKind, Joins, Order, Parts,
    SelectItem, Selected, Where, WhereKind,
};
use super::operator::Operator;
use crate::dialect::{check_like_pattern, Dialect, SqlWriter};
use crate::error::{Error, InvalidQueryKind};
use crate::value::Value;

/// Appends `name`, `table.name`, `table.*` or `expr as alias`, each part quoted.
pub(crate) fn push_column(w: &mut SqlWriter, expr: &str) {
    w.push_home_prefix(expr);
    if w.push_plain(expr, 3) {
        return;
    }
    let (name, alias) = split_alias(expr);
    if name.contains("->") {
        // A JSON path's value, named as written unless aliased (`row.get("options->theme")`).
        w.push_qualified_name(name)
            .push(" AS ")
            .push_identifier(alias.unwrap_or(name));
        return;
    }
    w.push_qualified(name);
    if let Some(alias) = alias {
        w.push(" AS ").push_identifier(alias);
    }
}

/// Appends a table: `name`, `schema.name` or `name as alias`, each part quoted (a `*` is
/// a name here, not the wildcard).
pub(crate) fn push_table(w: &mut SqlWriter, expr: &str) {
    if w.push_plain(expr, 2) {
        return;
    }
    let (name, alias) = split_alias(expr);
    w.push_table_name(name);
    if let Some(alias) = alias {
        w.push(" AS ").push_identifier(alias);
    }
}

/// The name a table is referred to by in the statement (its alias when it has one).
pub(crate) fn table_reference(table: &str) -> &str {
    match split_alias(table) {
        (_, Some(alias)) => alias,
        (name, None) => name,
    }
}

fn op_sql(dialect: &dyn Dialect, op: Operator) -> &'static str {
    match op {
        Operator::Eq => "=",
        Operator::Lt => "<",
        Operator::Gt => ">",
        Operator::Le => "<=",
        Operator::Ge => ">=",
        Operator::NotEq => "<>",
        Operator::Like => "LIKE",
        Operator::NotLike => "NOT LIKE",
        Operator::ILike => dialect.ilike_operator(false),
        Operator::NotILike => dialect.ilike_operator(true),
    }
}

fn push_op(w: &mut SqlWriter, op: Operator) {
    let sql = op_sql(w.dialect(), op);
    w.push(" ").push(sql).push(" ");
}

/// Appends the `ESCAPE` clause after the right side of a `LIKE` operator.
fn push_like_escape(w: &mut SqlWriter, op: Operator) {
    if op.is_like() {
        let clause = w.dialect().like_escape_clause();
        w.push(clause);
    }
}

/// Appends `value`, the right side of `op`; a `LIKE` pattern is checked first and
/// followed by its `ESCAPE` clause.
fn push_operand(w: &mut SqlWriter, op: Operator, value: Value) {
    if op.is_like() {
        if let Value::Text(pattern) = &value {
            if let Err(e) = check_like_pattern(w.dialect(), pattern) {
                w.fail(e);
            }
        }
    }
    w.push_bind(value);
    push_like_escape(w, op);
}

/// `where_json_contains`: the column's path checked, then the dialect's test.
#[cfg(feature = "json")]
fn push_json_contains(w: &mut SqlWriter, column: &str, value: serde_json::Value) {
    match json_column(column) {
        Ok((column, path)) => {
            let dialect = w.dialect();
            w.push("(");
            dialect.push_json_contains(w, column, &path, value);
            w.push(")");
        }
        Err(e) => {
            w.fail(e);
        }
    }
}

/// `where_json_length`: the number of elements at the column's path.
fn push_json_length(w: &mut SqlWriter, column: &str) {
    match json_column(column) {
        Ok((column, path)) => {
            let dialect = w.dialect();
            dialect.push_json_length(w, column, &path);
        }
        Err(e) => {
            w.fail(e);
        }
    }
}

/// A JSON column with an optional path: `options`, `options->languages`.
fn json_column(name: &str) -> crate::error::Result<(&str, Vec<&str>)> {
    Ok(crate::dialect::split_json_path(name)?.unwrap_or((name, Vec::new())))
}

pub(crate) fn render_conditions(w: &mut SqlWriter, conditions: impl IntoIterator<Item = Where>) {
    for (i, condition) in conditions.into_iter().enumerate() {
        if i > 0 {
            w.push(if condition.or { " OR " } else { " AND " });
        }
        render_condition(w, condition.kind);
    }
}

fn render_condition(w: &mut SqlWriter, kind: WhereKind) {
    match kind {
        WhereKind::Basic { column, op, value } => {
            if column.contains("->") && !value.is_null() {
                // A JSON path's value, compared as the dialect says.
                let [before_value, after_value] = w.push_json_compared(&column, &value);
                push_op(w, op);
                w.push(before_value);
                push_operand(w, op, value);
                w.push(after_value);
                return;
            }
            if value.is_null() && matches!(op, Operator::Eq | Operator::NotEq) {
                // `= NULL` is never true: compare with NULL the way the caller meant.
                w.push_null_check(&column, op == Operator::NotEq);
                return;
            }
            w.push_qualified_name(&column);
            if op.is_like() {
                let cast = w.dialect().like_subject_cast();
                w.push(cast);
            }
            push_op(w, op);
            push_operand(w, op, value);
        }
        WhereKind::Column { first, op, second } => {
            if !op.is_like() && first.contains("->") && second.contains("->") {
                match (json_column(&first), json_column(&second)) {
                    (Ok((a, a_path)), Ok((b, b_path))) => {
                        let (dialect, sql) = (w.dialect(), op_sql(w.dialect(), op));
                        dialect.push_json_paths_compared(w, (a, &a_path), sql, (b, &b_path));
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        w.fail(e);
                    }
                }
                return;
            }
            w.push_qualified_name(&first);
            push_op(w, op);
            w.push_qualified_name(&second);
            push_like_escape(w, op);
        }
        WhereKind::In {
            column,
            values,
            not,
        } => {
            if values.is_empty() {
                // An empty list matches nothing (NOT IN: everything).
                w.push(if not { "1 = 1" } else { "1 = 0" });
                return;
            }
            w.push_qualified_name(&column);
            w.dialect().push_in_list(w, values, not);
        }
        WhereKind::InSub { column, query, not } => {
            w.push_qualified_name(&column)
                .push(if not { " NOT IN (" } else { " IN (" });
            // MySQL refuses `LIMIT` inside `IN (...)`, not inside a derived table there.
            let limited = query.limit.is_some() || query.offset.is_some();
            match w.dialect().write_subquery_wrapper().filter(|_| limited) {
                Some((prefix, suffix)) => {
                    w.push(prefix);
                    query.render_select(w);
                    w.push(suffix);
                }
                None => query.render_select(w),
            }
            w.push(")");
        }
        WhereKind::Null { column, not } => {
            w.push_null_check(&column, not);
        }
        WhereKind::Between {
            column,
            low,
            high,
            not,
        } => {
            // A JSON path's value is compared as a `where_` compares it with `low`: a
            // number as a number (PostgreSQL's `->>` and MySQL's paths give text).
            let [before, after] = if column.contains("->") && !low.is_null() {
                w.push_json_compared(&column, &low)
            } else {
                w.push_qualified_name(&column);
                ["", ""]
            };
            w.push(if not { " NOT BETWEEN " } else { " BETWEEN " })
                .push(before)
                .push_bind(low)
                .push(after)
                .push(" AND ")
                .push(before)
                .push_bind(high)
                .push(after);
        }
        WhereKind::Exists { query, not } => {
            w.push(if not { "NOT EXISTS (" } else { "EXISTS (" });
            query.render_select(w);
            w.push(")");
        }
        WhereKind::SubCompare { query, op, value } => {
            w.push("(");
            query.render_select(w);
            w.push(")");
            push_op(w, op);
            push_operand(w, op, value);
        }
        #[cfg(feature = "json")]
        WhereKind::JsonContains { column, value, not } => {
            if not {
                w.push("NOT ");
            }
            push_json_contains(w, &column, value);
        }
        WhereKind::JsonLength { column, op, value } => {
            push_json_length(w, &column);
            push_op(w, op);
            push_operand(w, op, value);
        }
        WhereKind::JsonHasPath { column, not } => {
            match json_column(&column) {
                Ok((_, path)) if path.is_empty() => {
                    w.fail(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    format!("where_json_contains_key needs a path into the column (`{column}->key`)"),
                ));
                }
                Ok((column, path)) => {
                    let dialect = w.dialect();
                    dialect.push_json_has_path(w, column, &path, not);
                }
                Err(e) => {
                    w.fail(e);
                }
            }
        }
        WhereKind::ColumnSub { column, op, query } => {
            w.push_qualified_name(&column);
            push_op(w, op);
            w.push("(");
            query.render_select(w);
            w.push(")");
        }
        WhereKind::Date {
            column,
            part,
            op,
            value,
        } => {
            w.dialect().push_date_part(w, part, &column);
            push_op(w, op);
            push_operand(w, op, value);
        }
        WhereKind::Text { column, kind, text } => {
            w.dialect().push_text_match(w, &column, kind, &text);
        }
        WhereKind::Group(conditions) => {
            w.push("(");
            render_conditions(w, conditions);
            w.push(")");
        }
        WhereKind::NotGroup(conditions) => {
            w.push("NOT (");
            render_conditions(w, conditions);
            w.push(")");
        }
        WhereKind::Raw { sql, bindings } => {
            // Always parenthesised: `a OR b` written raw must not escape the conditions
            // around it (a relation's key, a soft-delete or global scope).
            w.push("(");
            w.push_raw_with_bindings(&sql, bindings);
            w.push(")");
        }
    }
}

/// Whether a list of conditions must be parenthesised to be ANDed with others (a raw
/// condition is parenthesised on its own).
fn needs_parens(conditions: &[Where]) -> bool {
    conditions.len() > 1 && conditions.iter().any(|c| c.or)
}

/// Appends ` WHERE ...`: the scopes' conditions ANDed with the query's own.
pub(crate) fn render_where(
    w: &mut SqlWriter,
    scopes: Vec<(super::Ident, Conditions)>,
    wheres: Conditions,
) {
    let mut first = true;
    let scoped = scopes.iter().any(|(_, c)| !c.is_empty());
    for (_, conditions) in scopes {
        if conditions.is_empty() {
            continue;
        }
        w.push(if first { " WHERE " } else { " AND " });
        first = false;
        render_group(w, conditions);
    }
    if wheres.is_empty() {
        return;
    }
    w.push(if first { " WHERE " } else { " AND " });
    if scoped {
        render_group(w, wheres);
    } else {
        render_conditions(w, wheres);
    }
}

fn render_group(w: &mut SqlWriter, conditions: Conditions) {
    if needs_parens(&conditions) {
        w.push("(");
        render_conditions(w, conditions);
        w.push(")");
    } else {
        render_conditions(w, conditions);
    }
}

fn render_joins(w: &mut SqlWriter, joins: Joins) {
    for join in joins {
        w.push(match join.kind {
            JoinKind::Inner => " INNER JOIN ",
            JoinKind::Left => " LEFT JOIN ",
            JoinKind::Right => " RIGHT JOIN ",
            JoinKind::Cross => " CROSS JOIN ",
            JoinKind::Full => " FULL OUTER JOIN ",
        });
        if join.kind == JoinKind::Full && !w.dialect().supports_full_join() {
            w.fail(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                "this database has no FULL OUTER JOIN (MySQL, MariaDB): union a left_join \
                 with the right_join rows the left side lacks",
            ));
        }
        match join.sub {
            Some(sub) => push_derived_table(w, *sub, &join.table),
            None => push_table(w, &join.table),
        }
        if !join.conditions.is_empty() {
            w.push(" ON ");
            render_conditions(w, join.conditions);
        } else if join.kind != JoinKind::Cross {
            // PostgreSQL refuses a join without `ON`; SQLite and MySQL would run a cross
            // join. The same answer everywhere: say so (`cross_join` is the explicit form).
            w.fail(Error::invalid_query(
                InvalidQueryKind::Clauses,
                format!(
                    "the join of `{}` has no condition: add one (`on`, `where_`) in the \
                     closure, or use `cross_join`",
                    join.table
                ),
            ));
        }
    }
}

/// ` ORDER BY ...`, or nothing for no terms.
fn render_orders(w: &mut SqlWriter, orders: Vec<Order>) {
    for (i, order) in orders.into_iter().enumerate() {
        w.push(if i == 0 { " ORDER BY " } else { ", " });
        match order {
            Order::Column(column, desc) => {
                w.push_order_name(&column)
                    .push(if desc { " DESC" } else { " ASC" });
            }
            Order::Raw(sql, bindings) => {
                w.push_raw_with_bindings(&sql, bindings);
            }
            Order::Random => {
                let random = w.dialect().random_function();
                w.push(random);
            }
            Order::Nulls(column, desc, first) => {
                let dialect = w.dialect();
                dialect.push_nulls_order(w, &column, desc, first);
            }
            Order::Sub(sub, desc, nulls) => {
                let clause = w.dialect().has_nulls_clause();
                w.push("(");
                if let Some(first) = nulls.filter(|_| !clause) {
                    // `(sub) IS NULL DESC, (sub) ASC`, as `push_nulls_order` writes a
                    // column there; its values are collected twice to match.
                    (*sub).clone().render_select(w);
                    w.push(if first {
                        ") IS NULL DESC, ("
                    } else {
                        ") IS NULL ASC, ("
                    });
                }
                sub.render_select(w);
                w.push(if desc { ") DESC" } else { ") ASC" });
                if let Some(first) = nulls.filter(|_| clause) {
                    w.push(if first { " NULLS FIRST" } else { " NULLS LAST" });
                }
            }
        }
    }
}

/// The name of the column [`SelectItem::RowNumber`] selects.
pub(crate) const ROW_NUMBER_COLUMN: &str = "orm_row";

/// `(SELECT ...) AS alias`: a subquery read as a table (`from_sub`, `join_sub`).
fn push_derived_table(w: &mut SqlWriter, sub: Parts, alias: &str) {
    w.push("(");
    sub.render_select(w);
    w.push(") AS ").push_identifier(alias);
}

fn render_groups(w: &mut SqlWriter, groups: Vec<Group>) {
    for (i, group) in groups.into_iter().enumerate() {
        w.push(if i == 0 { " GROUP BY " } else { ", " });
        match group {
            Group::Column(name) => {
                w.push_qualified_name(&name);
            }
            Group::Raw(sql, bindings) => {
                w.push_raw_with_bindings(&sql, bindings);
            }
        }
    }
}

/// `WITH [RECURSIVE] "a" AS (SELECT ..), "b" AS (..) `: `RECURSIVE` once, before them
/// all, when any refers to itself (the three databases' syntax).
fn render_ctes(w: &mut SqlWriter, ctes: Vec<Cte>) {
    w.push(if ctes.iter().any(|cte| cte.recursive) {
        "WITH RECURSIVE "
    } else {
        "WITH "
    });
    for (i, cte) in ctes.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.push_identifier(&cte.name).push(" AS (");
        cte.query.render_select(w);
        w.push(")");
    }
    w.push(" ");
}

/// Whether an order of a compound query is an expression, not one of its output columns:
/// SQLite and PostgreSQL order a `UNION` by output columns only.
fn orders_an_expression(order: &Order) -> bool {
    match order {
        Order::Column(column, _) | Order::Nulls(column, ..) => column.contains("->"),
        Order::Raw(..) | Order::Random | Order::Sub(..) => true,
    }
}

fn render_select_item(w: &mut SqlWriter, item: Selected<'_>) {
    let item = match item {
        Selected::Name(name) => return push_column(w, name),
        Selected::Item(item) => item,
    };
    match item {
        SelectItem::Column(column) => push_column(w, column),
        SelectItem::JsonValue(column) => {
            let (name, alias) = split_alias(column);
            w.push_json_value(name)
                .push(" AS ")
                .push_identifier(alias.unwrap_or(name));
        }
        SelectItem::Raw(sql, bindings) => {
            w.push_raw_with_bindings(sql, bindings.clone());
        }
        SelectItem::CountDistinct(column) => {
            w.push("COUNT(DISTINCT ")
                .push_qualified(column)
                .push(") AS ")
                .push_identifier("aggregate");
        }
        SelectItem::Sub(query, alias) => {
            w.push("(");
            Parts::clone(query).render_select(w);
            w.push(") AS ").push_identifier(alias);
        }
        SelectItem::RowNumber { partition, orders } => {
            w.push("ROW_NUMBER() OVER (PARTITION BY ")
                .push_qualified_name(partition);
            render_orders(w, orders.clone());
            w.push(") AS ").push_identifier(ROW_NUMBER_COLUMN);
        }
        SelectItem::Aggregate {
            function,
            column,
            float,
        } => {
            let ((prefix, suffix), (before, after)) = if *float {
                let dialect = w.dialect();
                (dialect.float_cast(), dialect.float_argument_cast())
            } else {
                (("", ""), ("", ""))
            };
            if column.as_ref().is_some_and(|c| c.contains("->")) {
                // Each database would read the path's text here ("9" > "10"), or refuse
                // the path as one column name.
                w.fail(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    format!(
                        "{function} of a JSON path is not supported: aggregate a typed \
                         expression with select_raw, or read the values with pluck"
                    ),
                ));
            }
            w.push(prefix).push(function).push("(");
            match column {
                Some(column) => w.push(before).push_qualified(column).push(after),
                None => w.push("*"),
            };
            w.push(")")
                .push(suffix)
                .push(" AS ")
                .push_identifier("aggregate");
        }
    }
}

/// The largest `LIMIT`/`OFFSET` written: the databases take no larger (PostgreSQL's
/// `BIGINT`, SQLite's integer), and no table has that many rows, so a limit past it
/// is no limit and an offset past it leaves no rows, as the number asked for would.
const MAX_LIMIT: u64 = i64::MAX as u64;

fn render_limit_offset(w: &mut SqlWriter, limit: Option<u64>, offset: Option<u64>) {
    // Values from requests (`for_page(page, per_page)`) may be anything up to u64::MAX.
    let limit = limit.map(|n| n.min(MAX_LIMIT));
    let offset = offset.map(|n| n.min(MAX_LIMIT));
    if limit.is_some() || offset.is_some() {
        let mut text = String::new();
        w.dialect().push_limit_offset(&mut text, limit, offset);
        w.push(&text);
    }
}

/// The values [`render_conditions`] binds, in its order, without its text: taken out of
/// the conditions, not copied (see [`Parts::collect_binds`]).
fn collect_conditions(w: &mut SqlWriter, conditions: &mut [Where]) {
    for condition in conditions {
        match &mut condition.kind {
            WhereKind::Basic { op, value, .. } => {
                if !(matches!(op, Operator::Eq | Operator::NotEq) && value.is_null()) {
                    push_operand(w, *op, std::mem::take(value));
                }
            }
            WhereKind::Column { .. } | WhereKind::Null { .. } => {}
            WhereKind::In { values, not, .. } => {
                if !values.is_empty() {
                    w.dialect().push_in_list(w, std::mem::take(values), *not);
                }
            }
            WhereKind::InSub { query, .. } | WhereKind::Exists { query, .. } => {
                query.collect_binds(w);
            }
            WhereKind::Between { low, high, .. } => {
                w.push_bind(std::mem::take(low))
                    .push_bind(std::mem::take(high));
            }
            WhereKind::SubCompare { query, op, value } => {
                query.collect_binds(w);
                push_operand(w, *op, std::mem::take(value));
            }
            WhereKind::ColumnSub { query, .. } => query.collect_binds(w),
            #[cfg(feature = "json")]
            WhereKind::JsonContains { column, value, .. } => {
                push_json_contains(w, column, std::mem::take(value));
            }
            WhereKind::JsonLength { column, op, value } => {
                push_json_length(w, column);
                push_operand(w, *op, std::mem::take(value));
            }
            WhereKind::JsonHasPath { .. } => {}
            WhereKind::Date {
                column,
                part,
                op,
                value,
            } => {
                w.dialect().push_date_part(w, *part, column);
                push_operand(w, *op, std::mem::take(value));
            }
            WhereKind::Text { column, kind, text } => {
                w.dialect().push_text_match(w, column, *kind, text);
            }
            WhereKind::Group(conditions) | WhereKind::NotGroup(conditions) => {
                collect_conditions(w, conditions)
            }
            WhereKind::Raw { sql, bindings } => {
                w.push_raw_with_bindings(sql, std::mem::take(bindings));
            }
        }
    }
}

/// The values `ORDER BY` terms bind, taken out of them.
fn collect_order_binds(w: &mut SqlWriter, orders: &mut [Order]) {
    for order in orders {
        match order {
            Order::Raw(sql, bindings) => {
                w.push_raw_with_bindings(sql, std::mem::take(bindings));
            }
            Order::Sub(sub, _, nulls) => {
                if nulls.is_some() && !w.dialect().has_nulls_clause() {
                    (**sub).clone().collect_binds(w);
                }
                sub.collect_binds(w)
            }
            Order::Column(..) | Order::Nulls(..) | Order::Random => {}
        }
    }
}

impl Parts {
    /// The values [`Parts::render_select`] binds, in its order, and the checks of those
    /// values (a `LIKE` pattern's), into a [`SqlWriter::binds_only`] writer: for a query
    /// whose text was rendered before (see `shape`), so nothing that depends only on the
    /// shape is looked at again. Follows `render_select` clause by clause; debug builds
    /// check the two agree on every query that takes this path. The values are taken out
    /// of the clauses (left `NULL`), not copied: the clauses are spent.
    pub(crate) fn collect_binds(&mut self, w: &mut SqlWriter) {
        for cte in &mut self.ctes {
            cte.query.collect_binds(w);
        }
        for item in self.columns.iter() {
            match item {
                Selected::Item(SelectItem::Raw(sql, bindings)) => {
                    w.push_raw_with_bindings(sql, bindings.clone());
                }
                Selected::Item(SelectItem::Sub(query, _)) => Parts::clone(query).collect_binds(w),
                Selected::Item(SelectItem::RowNumber { orders, .. }) => {
                    collect_order_binds(w, &mut orders.clone());
                }
                _ => {}
            }
        }
        if let Some(sub) = &mut self.from_sub {
            sub.collect_binds(w);
        }
        for join in &mut self.joins {
            if let Some(sub) = &mut join.sub {
                sub.collect_binds(w);
            }
            collect_conditions(w, &mut join.conditions);
        }
        for (_, conditions) in &mut self.scopes {
            collect_conditions(w, conditions);
        }
        collect_conditions(w, &mut self.wheres);
        for group in &mut self.groups {
            if let Group::Raw(sql, bindings) = group {
                w.push_raw_with_bindings(sql, std::mem::take(bindings));
            }
        }
        collect_conditions(w, &mut self.havings);
        for (union, _) in &mut self.unions {
            union.collect_binds(w);
        }
        collect_order_binds(w, &mut self.orders);
    }

    /// Renders the whole `SELECT` statement (or subquery) into `w`.
    /// Names the table of a bare column in a JSON containment condition where the
    /// dialect needs it (see [`Dialect::json_contains_needs_table`]).
    #[cfg(feature = "json")]
    fn qualify_json_contains(&mut self, dialect: &dyn Dialect) {
        fn qualify(conditions: &mut [Where], table: &str, dialect: &dyn Dialect) {
            for condition in conditions {
                match &mut condition.kind {
                    WhereKind::JsonContains { column, .. } => {
                        let name = column.split("->").next().unwrap_or_default();
                        if !name.contains('.') && dialect.json_contains_needs_table(name.trim()) {
                            *column = super::Ident::Owned(format!("{table}.{column}"));
                        }
                    }
                    WhereKind::Group(inner) | WhereKind::NotGroup(inner) => {
                        qualify(inner, table, dialect)
                    }
                    _ => {}
                }
            }
        }
        let Parts {
            table,
            scopes,
            wheres,
            ..
        } = self;
        let table = table_reference(table);
        for (_, conditions) in scopes {
            qualify(conditions, table, dialect);
        }
        qualify(wheres, table, dialect);
    }

    /// The compound query read from a derived table, its order, limit, offset and lock
    /// moved out to the whole: `SELECT * FROM (a UNION b) AS "orm_compound" ORDER BY ..`.
    pub(crate) fn compound_as_table(mut self) -> Parts {
        let mut outer = Parts::new(super::Ident::Borrowed("orm_compound"));
        // The parts may read the common table expressions: they stay visible to all.
        outer.ctes = std::mem::take(&mut self.ctes);
        outer.orders = std::mem::take(&mut self.orders);
        outer.limit = self.limit.take();
        outer.offset = self.offset.take();
        outer.lock = self.lock.take();
        self.orders_before_union = false;
        outer.from_sub = Some(Box::new(self));
        outer
    }

    pub(crate) fn render_select(self, w: &mut SqlWriter) {
        let outer = w.set_home(self.home);
        self.render_select_here(w);
        w.set_home(outer);
    }

    #[cfg_attr(not(feature = "json"), allow(unused_mut))]
    fn render_select_here(mut self, w: &mut SqlWriter) {
        if !self.unions.is_empty() && self.orders.iter().any(orders_an_expression) {
            return self.compound_as_table().render_select_here(w);
        }
        #[cfg(feature = "json")]
        self.qualify_json_contains(w.dialect());
        if let Some((kind, message)) = self.error {
            w.fail(Error::invalid_query(kind, message));
        }
        if !self.ctes.is_empty() {
            render_ctes(w, std::mem::take(&mut self.ctes));
        }
        w.push(if self.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        });
        if self.columns.is_empty() {
            w.push("*");
        }
        for (i, item) in self.columns.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            render_select_item(w, item);
        }
        w.push(" FROM ");
        match self.from_sub {
            Some(sub) => push_derived_table(w, *sub, &self.table),
            None => push_table(w, &self.table),
        }
        // Rows of the query's own table alone are locked past a LEFT JOIN, where a
        // database cannot lock its nullable side (see `Dialect::push_lock_of`).
        let lock_own_rows = self.lock.is_some() && {
            let kinds = || self.joins.iter().map(|j| j.kind);
            kinds().any(|k| k == JoinKind::Left) && !kinds().any(|k| k == JoinKind::Right)
        };
        render_joins(w, self.joins);
        render_where(w, self.scopes, self.wheres);
        render_groups(w, self.groups);
        if !self.havings.is_empty() {
            w.push(" HAVING ");
            render_conditions(w, self.havings);
        }
        let mut before_intersect = false;
        for (union, compound) in self.unions {
            if compound == Compound::Intersect && before_intersect {
                w.fail(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    "an INTERSECT after a UNION or EXCEPT: SQLite applies them in the order \
                     written, PostgreSQL and MySQL apply INTERSECT first; read the union \
                     from a derived table (from_sub) and intersect that",
                ));
            }
            before_intersect |= compound != Compound::Intersect;
            if union.lock.is_some() {
                w.fail(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    "a query in a union cannot lock its rows; lock the outer query",
                ));
            }
            w.push(compound.keyword());
            // A part with compound parts, an order or a limit of its own is read from a
            // derived table: written inline, `a EXCEPT b UNION c` would combine a and b
            // first, and SQLite refuses a parenthesised part.
            if union.unions.is_empty()
                && union.ctes.is_empty()
                && union.orders.is_empty()
                && union.limit.is_none()
                && union.offset.is_none()
            {
                union.render_select(w);
            } else {
                w.push("SELECT * FROM ");
                push_derived_table(w, union, "orm_compound");
            }
        }
        render_orders(w, self.orders);
        render_limit_offset(w, self.limit, self.offset);
        if let Some((mode, wait)) = self.lock {
            let dialect = w.dialect();
            w.push(dialect.lock_clause(mode));
            if lock_own_rows {
                dialect.push_lock_of(w, table_reference(&self.table));
            }
            w.push(dialect.lock_wait_clause(wait));
        }
    }

    /// Gives a column selected twice under the same name (`SELECT DISTINCT a, a`, or
    /// `users.id, posts.id`) an alias of its own, so the query can be a derived table:
    /// MySQL refuses duplicate column names there. The rows, and their number, are the
    /// same.
    fn alias_duplicate_columns(&mut self) {
        let mut seen: Vec<&str> = Vec::new();
        let mut duplicates = Vec::new();
        for (i, item) in self.columns.iter().enumerate() {
            if let Some(ident) = item.column() {
                let (expr, alias) = split_alias(ident);
                let name = alias.unwrap_or_else(|| expr.rsplit('.').next().unwrap_or(expr));
                if alias.is_none() && seen.contains(&name) {
                    duplicates.push(i);
                }
                seen.push(name);
            }
        }
        if duplicates.is_empty() {
            return;
        }
        let mut items = self.columns.to_vec();
        for i in duplicates {
            if let SelectItem::Column(ident) = &items[i] {
                items[i] = SelectItem::Column(super::Ident::Owned(format!(
                    "{ident} as aggregate_column_{i}"
                )));
            }
        }
        self.columns = items.into();
    }

    /// Whether an aggregate must wrap this query as a subquery (its rows are not the
    /// table's rows: grouped, distinct, limited or a union).
    /// Whether the query's own select list (not a model's default one) gives a column
    /// named `name` (a column's name or alias, a raw expression's alias).
    fn selects_output(&self, name: &str) -> bool {
        if !self.columns.chosen() {
            return false;
        }
        let name = name.rsplit('.').next().unwrap_or(name);
        self.columns.iter().any(|item| {
            let expression: &str = match item {
                Selected::Name(column) => column,
                Selected::Item(SelectItem::Column(column) | SelectItem::Raw(column, _)) => column,
                Selected::Item(SelectItem::Sub(_, alias)) => alias,
                Selected::Item(_) => return false,
            };
            let output = match split_alias(expression) {
                (_, Some(alias)) => alias.trim_matches(['"', '`']),
                (column, None) => column.rsplit('.').next().unwrap_or(column),
            };
            output == name
        })
    }

    fn aggregate_needs_subquery(&self) -> bool {
        self.distinct
            || !self.groups.is_empty()
            || !self.unions.is_empty()
            || self.limit.is_some()
            || self.offset.is_some()
    }

    /// The one column a `DISTINCT` query selects, when a count of its rows is the count
    /// of that column's distinct values (no grouping, union, limit or offset besides).
    fn counted_distinct_column(
        &self,
        function: &str,
        column: &Option<super::Ident>,
    ) -> Option<String> {
        if !self.distinct
            || !self.groups.is_empty()
            || !self.unions.is_empty()
            || self.limit.is_some()
            || self.offset.is_some()
        {
            return None;
        }
        // `distinct().count_column(col)`: the column's distinct values, whatever the
        // query selects (Laravel's `distinct()->count('col')`).
        let name = match column {
            Some(column) if function == "COUNT" => column.as_ref(),
            Some(_) => return None,
            None if self.columns.len() == 1 => self.columns.iter().next()?.column()?,
            None => return None,
        };
        match split_alias(name) {
            (name, None) if name != "*" && !name.ends_with(".*") && !name.contains("->") => {
                Some(name.to_owned())
            }
            _ => None,
        }
    }

    /// Renders `SELECT function(column) AS aggregate` over this query's rows.
    pub(crate) fn render_aggregate(
        mut self,
        w: &mut SqlWriter,
        function: &'static str,
        column: Option<super::Ident>,
        float: bool,
    ) {
        self.lock = None;
        if let Some(distinct) = self.counted_distinct_column(function, &column) {
            // `select(col).distinct().count()`: the distinct values, NULL not among them,
            // as Orator's and Laravel's `COUNT(DISTINCT col)`.
            self.distinct = false;
            self.orders.clear();
            self.columns = Columns::from(vec![SelectItem::CountDistinct(super::Ident::Owned(
                distinct,
            ))]);
            self.render_select(w);
            return;
        }
        self.render_aggregate_of_rows(w, function, column, float);
    }

    /// Renders `SELECT COUNT(*) AS aggregate` of the rows this query returns: a distinct
    /// query of one column is counted in a subquery, its NULL row among them (the
    /// paginators' totals, which must agree with their pages).
    pub(crate) fn render_row_count(self, w: &mut SqlWriter) {
        self.render_aggregate_of_rows(w, "COUNT", None, false);
    }

    fn render_aggregate_of_rows(
        mut self,
        w: &mut SqlWriter,
        function: &'static str,
        column: Option<super::Ident>,
        float: bool,
    ) {
        if let Some(column) = &column {
            if !self.groups.is_empty() && !self.selects_output(column) {
                // `group_by(g).sum(x)`: a grouped row has no single `x`. Without HAVING
                // the groups leave out no row, so the aggregate is over the rows the
                // query matches; with it, which rows count is for the caller to say.
                if self.havings.is_empty()
                    && self.unions.is_empty()
                    && self.limit.is_none()
                    && self.offset.is_none()
                    && !self.distinct
                {
                    self.groups.clear();
                    self.orders.clear();
                } else {
                    w.fail(Error::invalid_query(
                        InvalidQueryKind::Clauses,
                        format!(
                            "{function} of `{column}` over grouped rows with HAVING, a limit \
                             or a union has no single meaning: select the value per group \
                             (`select_raw(\"{function}({column}) AS total\", &[])`) and \
                             aggregate that column"
                        ),
                    ));
                    return;
                }
            }
        }
        if self.aggregate_needs_subquery() {
            let counting = column.is_none();
            // Aggregate over the inner query's result columns (unqualified).
            let column = column.map(|c| match c.rsplit_once('.') {
                Some((_, last)) => super::Ident::Owned(last.to_owned()),
                None => c,
            });
            w.push("SELECT ");
            render_select_item(
                w,
                Selected::Item(&SelectItem::Aggregate {
                    function,
                    column,
                    float,
                }),
            );
            // Counting the groups of a query that selects nothing of its own: the inner
            // query selects the grouped columns (`SELECT *` beside `GROUP BY` is refused
            // by PostgreSQL and by MySQL's ONLY_FULL_GROUP_BY).
            if counting && !self.columns.chosen() && !self.groups.is_empty() {
                // Nothing chosen: `*`, or a model's own column list.
                // A raw group's expression is not selected: its values would be bound
                // twice, as two parameters PostgreSQL does not take for one expression.
                let raw = self.groups.iter().any(|g| matches!(g, Group::Raw(..)));
                let items: Vec<SelectItem> = if raw {
                    vec![SelectItem::Raw("1".into(), Vec::new())]
                } else {
                    let names = self.groups.iter().filter_map(|group| match group {
                        Group::Column(name) => Some(SelectItem::Column(name.clone())),
                        Group::Raw(..) => None,
                    });
                    names.collect()
                };
                self.columns = Columns::from(items);
            }
            w.push(" FROM (");
            self.alias_duplicate_columns();
            self.render_select(w);
            w.push(") AS ").push_identifier("aggregate_table");
        } else {
            self.orders.clear();
            self.columns.clear();
            self.columns.push(SelectItem::Aggregate {
                function,
                column,
                float,
            });
            self.render_select(w);
        }
    }

    /// Renders `SELECT EXISTS (query) AS "exists"`.
    pub(crate) fn render_exists(mut self, w: &mut SqlWriter) {
        self.lock = None;
        if !self.groups.is_empty() && !self.columns.chosen() && self.unions.is_empty() {
            // A group's row has only its grouped columns: PostgreSQL refuses `*` there.
            self.columns.clear();
            self.columns
                .push(SelectItem::Raw(super::Ident::Borrowed("1"), Vec::new()));
        }
        w.push("SELECT EXISTS (");
        self.render_select(w);
        w.push(") AS ").push_identifier("exists");
    }

    /// Why the query cannot update or delete rows: a grouped query or a union, whose
    /// rows are groups or rows of several queries. Written `WHERE key IN (SELECT key ..
    /// GROUP BY ..)` it would name one row of each group (SQLite and MySQL take a bare
    /// column there), and the write would report success for part of the rows.
    ///
    /// A `DISTINCT` query with an order, a limit or an offset too: which rows its first
    /// distinct values stand for is not one answer (and PostgreSQL refuses an order
    /// outside a `DISTINCT` select list).
    pub(crate) fn write_refused(&self) -> Option<Error> {
        let grouped =
            !self.groups.is_empty() || !self.havings.is_empty() || !self.unions.is_empty();
        let distinct_part = self.distinct
            && (!self.orders.is_empty() || self.limit.is_some() || self.offset.is_some());
        let what = if grouped {
            "a grouped query (group_by, having) or a union"
        } else if distinct_part {
            "a distinct query with an order, a limit or an offset"
        } else {
            return None;
        };
        Some(Error::invalid_query(
            InvalidQueryKind::Clauses,
            format!(
                "{what} cannot update or delete; select the keys in a subquery and write \
                 through where_in_sub(key, ..) on the table"
            ),
        ))
    }

    /// Appends the ` WHERE` of an `UPDATE` or `DELETE`. Joins, ordering and limits are
    /// not portable there, so such a query becomes `WHERE key IN (SELECT key ...)`,
    /// except that ordering and a limit alone stay the statement's own where the
    /// dialect takes them ([`Dialect::orders_writes`]), so the rows are written in order.
    pub(crate) fn render_write_where(mut self, w: &mut SqlWriter, key: &str) {
        #[cfg(feature = "json")]
        self.qualify_json_contains(w.dialect());
        if let Some((kind, message)) = self.error.take() {
            w.fail(Error::invalid_query(kind, message));
        }
        if self.from_sub.is_some() {
            w.fail(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                "a query reading a subquery (`from_sub`) cannot update or delete; \
                 write through a query on the table",
            ));
        }
        if let Some(refused) = self.write_refused() {
            w.fail(refused);
        }
        let ordered = self.limit.is_some() || !self.orders.is_empty();
        let single_table = self.joins.is_empty()
            && self.offset.is_none()
            && self.ctes.is_empty()
            && split_alias(&self.table).1.is_none();
        if ordered && single_table && w.dialect().orders_writes() {
            render_where(w, self.scopes, self.wheres);
            render_orders(w, self.orders);
            render_limit_offset(w, self.limit, None);
            return;
        }
        // A common table expression is read by the key subquery, the only `SELECT`.
        let needs_subquery =
            !self.joins.is_empty() || ordered || self.offset.is_some() || !self.ctes.is_empty();
        if needs_subquery {
            let reference = table_reference(&self.table);
            let qualified = format!("{reference}.{key}");
            w.push(" WHERE ").push_identifier(key).push(" IN (");
            let wrapper = w.dialect().write_subquery_wrapper();
            if let Some((prefix, _)) = wrapper {
                w.push(prefix);
            }
            self.columns.clear();
            self.columns.push(SelectItem::Column(qualified.into()));
            self.lock = None;
            self.render_select(w);
            if let Some((_, suffix)) = wrapper {
                w.push(suffix);
            }
            w.push(")");
        } else {
            render_where(w, self.scopes, self.wheres);
        }
    }
}

/// What an `UPDATE` sets a column to.
pub(crate) enum SetValue {
    /// A bound value.
    Value(Value),
    /// The column plus a bound value.
    Add(Value),
    /// The column minus a bound value.
    Sub(Value),
    /// Raw assignments (`votes = votes * ?`) with their values, written as given (the
    /// column name beside it is not used).
    Raw(super::Ident, Vec<Value>),
}

/// Renders `UPDATE table SET ...` followed by the query's conditions.
pub(crate) fn render_update(
    w: &mut SqlWriter,
    parts: Parts,
    key: &str,
    sets: Vec<(&str, SetValue)>,
) {
    // `UPDATE table AS alias` keeps the alias the conditions may use (both backends).
    w.push("UPDATE ");
    push_table(w, &parts.table);
    w.push(" SET ");
    let mut sets: Vec<(&str, Option<SetValue>)> =
        sets.into_iter().map(|(c, v)| (c, Some(v))).collect();
    for i in 0..sets.len() {
        // SET takes bare column names (PostgreSQL refuses qualified ones).
        let column = sets[i].0;
        let column = column.rsplit_once('.').map_or(column, |(_, c)| c);
        let Some(value) = sets[i].1.take() else {
            continue; // a JSON path written with an earlier one of its column
        };
        if i > 0 {
            w.push(", ");
        }
        if let SetValue::Raw(sql, bindings) = value {
            w.push_raw_with_bindings(&sql, bindings);
            continue;
        }
        if column.contains("->") {
            push_json_sets(w, column, value, &mut sets[i + 1..]);
            continue;
        }
        if let SetValue::Add(step) | SetValue::Sub(step) = &value {
            if !is_numeric_step(step) {
                // Laravel's "Non-numeric value passed to increment method": SQLite
                // would add the text's leading digits, or 0.
                w.fail(Error::invalid_query(
                    InvalidQueryKind::Argument,
                    format!(
                        "the step of `{column}` must be a number, not {}",
                        step.type_name()
                    ),
                ));
            }
        }
        w.push_identifier(column).push(" = ");
        match value {
            SetValue::Value(v) => {
                w.push_bind(v);
            }
            SetValue::Add(v) => w.dialect().push_step(w, column, v, false),
            SetValue::Sub(v) => w.dialect().push_step(w, column, v, true),
            SetValue::Raw(..) => unreachable!("written above"),
        }
    }
    parts.render_write_where(w, key);
}

/// Whether `step` can be added to a number: a number, or text spelling one.
fn is_numeric_step(step: &Value) -> bool {
    match step {
        Value::Int(_) | Value::Float(_) => true,
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => true,
        Value::Text(text) => text.trim().parse::<f64>().is_ok_and(f64::is_finite),
        _ => false,
    }
}

/// `column = <its document with the paths set>` for a JSON path in `SET`
/// (`options->theme`), with every later path of the same column (taken out of `rest`)
/// nested in one expression: a column may be assigned once. Stepping a path is refused.
fn push_json_sets<'a>(
    w: &mut SqlWriter,
    name: &'a str,
    value: SetValue,
    rest: &mut [(&'a str, Option<SetValue>)],
) {
    let Ok(Some((column, path))) = crate::dialect::split_json_path(name) else {
        w.push_qualified_name(name); // records the invalid path's error
        return;
    };
    let mut paths = vec![(name, path, value)];
    for (other, slot) in rest.iter_mut() {
        let other: &'a str = other.rsplit_once('.').map_or(*other, |(_, c)| c);
        if let Ok(Some((c, path))) = crate::dialect::split_json_path(other) {
            if let (true, Some(value)) = (c == column, slot.take()) {
                paths.push((other, path, value));
            }
        }
    }
    let dialect = w.dialect();
    // The objects a deeper path needs, made first where setting a path does not make
    // them: each prefix once, before the first path below it, unless a path set it
    // (or a value above it) in this statement.
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(paths.len());
    if !dialect.json_set_makes_parents() {
        let mut ensured: Vec<&[&str]> = Vec::new();
        let mut set: Vec<&[&str]> = Vec::new();
        for (_, path, _) in &paths {
            let mut depths = Vec::new();
            for depth in 1..path.len() {
                let prefix = &path[..depth];
                let exists = ensured.contains(&prefix) || set.iter().any(|s| prefix.starts_with(s));
                if !exists {
                    ensured.push(prefix);
                    depths.push(depth);
                }
            }
            set.push(path);
            parents.push(depths);
        }
    }
    let steps = paths.len() + parents.iter().map(Vec::len).sum::<usize>();
    w.push_identifier(column).push(" = ");
    for _ in 0..steps {
        dialect.push_json_set_open(w);
    }
    // A NULL document is an empty object here: setting a path of NULL gives NULL, so the
    // row would be counted as updated and keep nothing.
    w.push("COALESCE(")
        .push_qualified_name(column)
        .push(", '{}')");
    let mut parents = parents.into_iter();
    for (name, path, value) in paths {
        for depth in parents.next().unwrap_or_default() {
            dialect.push_json_parent_close(w, column, &path[..depth]);
        }
        let SetValue::Value(value) = value else {
            w.fail(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                format!("`{name}`: a JSON path cannot be incremented or decremented"),
            ));
            return;
        };
        match crate::dialect::json_text(&value) {
            Ok(json) => dialect.push_json_set_close(w, &path, json),
            Err(e) => {
                w.fail(e);
                return;
            }
        }
    }
}

/// Renders `DELETE FROM table` followed by the query's conditions.
pub(crate) fn render_delete(w: &mut SqlWriter, parts: Parts, key: &str) {
    w.push("DELETE ");
    if let (_, Some(alias)) = split_alias(&parts.table) {
        if w.dialect().delete_names_alias() {
            w.push_identifier(alias).push(" ");
        }
    }
    w.push("FROM ");
    push_table(w, &parts.table);
    parts.render_write_where(w, key);
}

/// Renders `INSERT INTO table (columns) VALUES (...), (...)` for `rows` rows, taking
/// `rows * columns.len()` values from `values`.
pub(crate) fn render_insert(
    w: &mut SqlWriter,
    table: &str,
    columns: &[&str],
    rows: usize,
    values: &mut impl Iterator<Item = Value>,
) {
    let (table, _) = split_alias(table);
    w.push("INSERT INTO ").push_table_name(table);
    if columns.is_empty() {
        let dialect = w.dialect();
        w.push(dialect.default_values_clause());
        return;
    }
    w.push(" (")
        .push_identifiers(columns.iter().copied())
        .push(") VALUES ");
    for row in 0..rows {
        w.push(if row == 0 { "(" } else { ", (" });
        for i in 0..columns.len() {
            if i > 0 {
                w.push(", ");
            }
            w.push_bind(values.next().unwrap_or(Value::Null));
        }
        w.push(")");
    }
}
