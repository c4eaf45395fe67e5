//! Streaming terminals: `chunk`, `chunk_by_id`, `each` and the paged `Cursor` (`cursor`, `lazy`).

use super::*;

/// Rows per page fetched by [`Query::cursor`].
pub const CURSOR_PAGE_SIZE: u64 = 5000;

/// Successive `LIMIT/OFFSET` windows inside a query's own limit and offset.
#[derive(Debug, Clone)]
pub(super) struct Pager {
    pub(super) size: u64,
    pub(super) offset: u64,
    pub(super) remaining: Option<u64>,
}

impl Pager {
    pub(super) fn new(offset: Option<u64>, limit: Option<u64>, size: u64) -> Pager {
        Pager {
            size,
            offset: offset.unwrap_or(0),
            remaining: limit,
        }
    }

    /// The next `(offset, limit)`, or `None` when the query's own limit is used up.
    pub(super) fn window(&self) -> Option<(u64, u64)> {
        match self.remaining {
            Some(0) => None,
            Some(left) => Some((self.offset, left.min(self.size))),
            None => Some((self.offset, self.size)),
        }
    }

    pub(super) fn advance(&mut self, rows: u64) {
        self.offset = self.offset.saturating_add(rows);
        if let Some(left) = &mut self.remaining {
            *left = left.saturating_sub(rows);
        }
    }
}

/// How many columns an explicit select list names (`None` for `*` or `table.*`).
fn selected_count(columns: &crate::query::Columns) -> Option<usize> {
    if columns.is_empty() {
        return None;
    }
    let mut count = 0;
    for item in columns.iter() {
        if item.column().is_some_and(|c| c.ends_with('*')) {
            return None;
        }
        count += 1;
    }
    Some(count)
}

impl<T> Query<T> {
    /// The primary key column, qualified with the table when the query joins others.
    pub(super) fn paging_key(&self) -> Ident {
        if self.parts.joins.is_empty() || self.key.contains('.') {
            self.key.clone()
        } else {
            Ident::Owned(format!(
                "{}.{}",
                table_reference(&self.parts.table),
                self.key
            ))
        }
    }

    /// The query ordered for paging by `LIMIT/OFFSET`: every page must see one order of
    /// all the rows, or rows that tie in the caller's order may come twice on one page
    /// and never on another (PostgreSQL sorts ties differently per `LIMIT`). So the
    /// order ends with something unique: the primary key for a table's rows, or every
    /// selected column (by position) for grouped, distinct and union rows (rows equal in
    /// every column then still tie, but the caller cannot tell them apart). A random
    /// order cannot be paged.
    pub(super) fn ordered_for_paging(self) -> Self {
        if self.parts.orders.iter().any(|o| matches!(o, Order::Random)) {
            return self.fail(
                InvalidQueryKind::Clauses,
                "a random order cannot be paged (each page would draw a new one, repeating \
                 and skipping rows): read the rows with get() or each()",
            );
        }
        self.uniquely_ordered()
    }

    /// [`Query::ordered_for_paging`]'s order, for pages the caller asks for one by one
    /// (`paginate`): a random order stays as it is.
    pub(super) fn uniquely_ordered(mut self) -> Self {
        let parts = &self.parts;
        if parts.orders.iter().any(|o| matches!(o, Order::Random)) {
            return self;
        }
        let set = parts.distinct || !parts.groups.is_empty() || !parts.unions.is_empty();
        let selected = selected_count(&parts.columns);
        if !set && (self.model_info.is_some() || selected.is_none()) {
            let key = self.paging_key();
            if !self.ordered_by(&key) {
                self.parts_mut().orders.push(Order::Column(key, false));
            }
        } else if let Some(count) = selected {
            for position in 1..=count {
                self.parts_mut()
                    .orders
                    .push(Order::Raw(Ident::Owned(position.to_string()), Vec::new()));
            }
        }
        self
    }

    /// Whether one of the query's orders is the column `key` (qualified or bare).
    pub(super) fn ordered_by(&self, key: &str) -> bool {
        let bare = key.rsplit('.').next().unwrap_or_default();
        self.parts.orders.iter().any(|order| match order {
            Order::Column(column, _) | Order::Nulls(column, ..) => {
                **column == *key || **column == *bare
            }
            _ => false,
        })
    }

    /// Restricts the query to the rows after `last` by `key` (keyset paging), ANDed with
    /// all its conditions, `OR`s included: `key > last`, or `key < last` going down.
    pub(super) fn past_key(&mut self, key: Ident, last: Value, descending: bool) {
        let after = Where {
            or: false,
            kind: WhereKind::Basic {
                column: key,
                op: if descending {
                    Operator::Lt
                } else {
                    Operator::Gt
                },
                value: last,
            },
        };
        self.parts_mut()
            .scopes
            .push((Ident::Borrowed(AFTER_KEY_SCOPE), smallvec::smallvec![after]));
    }
}

/// What a `chunk`/`each` callback returns: `()` to go on, or a `bool` (`false` stops).
pub trait Continue {
    /// Whether to go on with the next chunk or row.
    fn go_on(self) -> bool;
}

impl Continue for () {
    fn go_on(self) -> bool {
        true
    }
}

impl Continue for bool {
    fn go_on(self) -> bool {
        self
    }
}

impl<T: FromRow> Query<T> {
    pub(super) fn chunk_with(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<bool>,
        mut fetch: impl FnMut(Self) -> Result<Vec<T>>,
    ) -> Result<bool> {
        if size == 0 {
            return Err(Error::invalid_query(
                InvalidQueryKind::Argument,
                "chunk size must be at least 1",
            ));
        }
        let base = self.ordered_for_paging();
        let mut pager = Pager::new(base.parts.offset, base.parts.limit, size);
        while let Some((offset, limit)) = pager.window() {
            let mut page = base.clone();
            page.parts_mut().offset = Some(offset);
            page.parts_mut().limit = Some(limit);
            let rows = fetch(page)?;
            let n = rows.len() as u64;
            if n == 0 {
                break;
            }
            if !f(rows)? {
                return Ok(false);
            }
            if n < limit {
                break;
            }
            pager.advance(n);
        }
        Ok(true)
    }

    /// Calls `f` with successive pages of `size` rows (`LIMIT/OFFSET`, ordered by the
    /// primary key when the query has no order) until the rows run out or `f` returns
    /// `Ok(false)`. Returns `Ok(false)` when `f` stopped early. The connection is free
    /// while `f` runs, so `f` may run queries itself.
    ///
    /// Pages are counted by offset: when `f` changes rows so that they no longer match
    /// (or move in the order), later pages skip rows. Use [`Query::chunk_by_id`] when the
    /// callback changes the rows it gets.
    pub fn chunk<R: Continue>(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<R>,
    ) -> Result<bool> {
        self.chunk_with(size, |rows| f(rows).map(Continue::go_on), |q| q.get())
    }

    /// Maps every row through `f`, reading them in pages of `size` rows as
    /// [`Query::chunk`] does, and collects the results (Eloquent's `chunkMap`): only
    /// one page of rows is held at a time.
    pub fn chunk_map<R>(self, size: u64, mut f: impl FnMut(T) -> R) -> Result<Vec<R>> {
        let mut mapped = Vec::new();
        self.chunk(size, |rows| {
            mapped.extend(rows.into_iter().map(&mut f));
            Ok(())
        })?;
        Ok(mapped)
    }

    pub(super) fn chunk_by_id_with(
        self,
        size: u64,
        descending: bool,
        mut f: impl FnMut(Vec<T>) -> Result<bool>,
        mut fetch: impl FnMut(Self) -> Result<Vec<T>>,
    ) -> Result<bool> {
        if size == 0 {
            return Err(Error::invalid_query(
                InvalidQueryKind::Argument,
                "chunk size must be at least 1",
            ));
        }
        if !pages_by_key(&self.parts) {
            return Err(Error::invalid_query(
                InvalidQueryKind::Clauses,
                "chunk_by_id pages by the primary key: the query must have no order_by, \
                 union or grouping (use chunk for those)",
            ));
        }
        let key = self.paging_key();
        let key_name = key.rsplit('.').next().unwrap_or_default().to_owned();
        let mut base = self;
        base.parts_mut()
            .orders
            .push(Order::Column(key.clone(), descending));
        // An offset skips rows before the first page only (Eloquent's chunkById): the
        // later pages start after the last key read.
        let mut offset = base.parts_mut().offset.take();
        let mut remaining = base.parts.limit;
        let mut last: Option<Value> = None;
        loop {
            let limit = match remaining {
                Some(0) => break,
                Some(left) => left.min(size),
                None => size,
            };
            let mut page = base.clone();
            page.parts_mut().limit = Some(limit);
            page.parts_mut().offset = offset.take();
            if let Some(last) = last.take() {
                page.past_key(key.clone(), last, descending);
            }
            let rows = fetch(page)?;
            let n = rows.len() as u64;
            let Some(row) = rows.last() else { break };
            let next = row
                .decoded_column(&key_name)
                .filter(|key| !key.is_null())
                .ok_or_else(|| {
                    Error::invalid_query(
                        InvalidQueryKind::Clauses,
                        format!(
                            "chunk_by_id reads each page's last key: select the key column \
                         `{key_name}` (non-null) and read rows as models or records"
                        ),
                    )
                })?;
            if !f(rows)? {
                return Ok(false);
            }
            if n < limit {
                break;
            }
            if let Some(left) = &mut remaining {
                *left -= n;
            }
            last = Some(next);
        }
        Ok(true)
    }

    /// Calls `f` with successive pages of `size` rows, paging by the primary key
    /// (`WHERE key > last ORDER BY key LIMIT size`, ANDed with the query's own conditions;
    /// the key qualified with the table when the query joins others), until the rows run
    /// out or `f` returns `Ok(false)`. Returns `Ok(false)` when `f` stopped early.
    ///
    /// Unlike [`Query::chunk`], every matching row is seen exactly once even when `f`
    /// updates the rows it gets (a flag the query filters on, the column it orders by),
    /// and every page costs the same. The query's own limit caps the total; a query with
    /// an `order_by` or a union is [`Error::InvalidQuery`], and so is a row type that
    /// cannot tell its key (select the key column; rows are models or records). An offset
    /// skips that many rows before the first page.
    pub fn chunk_by_id<R: Continue>(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<R>,
    ) -> Result<bool> {
        self.chunk_by_id_with(
            size,
            false,
            |rows| f(rows).map(Continue::go_on),
            |q| q.get(),
        )
    }

    /// [`Query::chunk_by_id`] from the highest key down (`WHERE key < last ORDER BY key
    /// DESC`; Eloquent's `chunkByIdDesc`): newest rows first, each seen once.
    pub fn chunk_by_id_desc<R: Continue>(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<R>,
    ) -> Result<bool> {
        self.chunk_by_id_with(size, true, |rows| f(rows).map(Continue::go_on), |q| q.get())
    }

    /// Calls `f` with each row, read in pages of `size` by [`Query::chunk_by_id`]
    /// (Eloquent's `eachById`): `f` may change the rows it gets, and run queries; it
    /// returns `()` to go on or `false` to stop. Returns `Ok(false)` when `f` stopped.
    pub fn each_by_id<R: Continue>(
        self,
        size: u64,
        mut f: impl FnMut(T) -> Result<R>,
    ) -> Result<bool> {
        self.chunk_by_id(size, |rows| {
            for row in rows {
                if !f(row)?.go_on() {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    /// Streams the rows through `f` as the driver reads them (one query, nothing
    /// collected); `f` returns `Ok(false)` to stop. The connection is busy while `f`
    /// runs, so `f` must not run queries on it. A query with eager loads (`with`,
    /// `with_count`, ...) is read a page at a time instead, as [`Query::cursor`] reads
    /// it, so that each page's relations are loaded before its rows reach `f`.
    pub fn each<R: Continue>(self, mut f: impl FnMut(T) -> Result<R>) -> Result<()> {
        if self.model.eager.is_some() {
            for row in self.cursor() {
                if !f(row?)?.go_on() {
                    break;
                }
            }
            return Ok(());
        }
        let name = self.connection.clone();
        match self.read_replicas(&name) {
            // A replica lost before the first row is skipped and the stream starts again
            // elsewhere; once rows went to `f`, starting again would repeat them.
            Some(set) => {
                let delivered = std::cell::Cell::new(false);
                set.read_retrying_while(
                    &name,
                    || !delivered.get(),
                    |conn| {
                        self.clone().each_on(conn, |row| {
                            delivered.set(true);
                            f(row)
                        })
                    },
                )
            }
            None => with_named_on(&name, false, self, move |q, c| q.each_on(c, f)),
        }
    }

    pub(super) fn each_on<R: Continue>(
        mut self,
        conn: &mut Connection,
        mut f: impl FnMut(T) -> Result<R>,
    ) -> Result<()> {
        let connection = std::mem::replace(&mut self.connection, Ident::Borrowed(""));
        let mut layout = self.parts.layout::<T>();
        let (sql, binds) = self.render_owned(conn.dialect())?;
        let mut columns = None;
        conn.query_each_streamed(&sql, &binds, |row| {
            let mut decoded = layout.decode::<T>(row, &mut columns)?;
            T::remember_connection(std::slice::from_mut(&mut decoded), &connection);
            f(decoded).map(Continue::go_on)
        })
    }

    /// An iterator over every matching row that never holds more than one page in memory:
    /// pages of [`CURSOR_PAGE_SIZE`] rows are fetched lazily, each page on a connection
    /// taken only for that query — so the loop body may run queries. Eager loads
    /// (`with`, `with_count`, ...) run for each page as it is read. A query with no
    /// order, offset, join, grouping, `DISTINCT` or union that selects its primary key
    /// pages by key (`WHERE key > last ORDER BY key LIMIT n`: every page costs the same);
    /// any other pages with `LIMIT/OFFSET` (ordered by the primary key when it has no
    /// order). Use [`Query::each`] for a single-statement stream.
    ///
    /// On a SQLite file through `DB::connect` (a pool of more than one connection, no
    /// transaction or executor scope on this thread, no read replicas, no eager loads)
    /// the cursor is one statement instead, held open on a connection checked out for it
    /// and stepped one row per `next()`, each row decoded as it is asked for: the rows of
    /// the table as it was when the statement started, the loop body's queries on
    /// another connection of the pool, the connection back when the rows end, fail or
    /// the cursor is dropped.
    pub fn cursor(self) -> Cursor<T> {
        let mut cursor = Cursor::new(self, CURSOR_PAGE_SIZE);
        cursor.streaming = Streaming::Possible;
        cursor
    }

    /// [`Query::cursor`] with pages of `page_size` rows.
    pub fn lazy(self, page_size: u64) -> Cursor<T> {
        Cursor::new(self, page_size)
    }

    /// A [`Cursor`] that always pages by the primary key (Eloquent's `lazyById`: `WHERE
    /// key > last ORDER BY key LIMIT page_size`, the key qualified when the query joins
    /// others), so the loop body may change the rows it gets and every row is still
    /// seen once. As for [`Query::chunk_by_id`], a query with an `order_by` or a union,
    /// or rows that do not tell their key, yield [`Error::InvalidQuery`].
    pub fn lazy_by_id(self, page_size: u64) -> Cursor<T> {
        Cursor::by_id(self, page_size, false)
    }

    /// [`Query::lazy_by_id`] from the highest key down (Eloquent's `lazyByIdDesc`).
    pub fn lazy_by_id_desc(self, page_size: u64) -> Cursor<T> {
        Cursor::by_id(self, page_size, true)
    }
}

/// Whether the rows can be paged by their key (`chunk_by_id`, `lazy_by_id`): no order
/// of the query's own, no union, and rows of the table, not groups (which have no key).
fn pages_by_key(parts: &crate::query::Parts) -> bool {
    parts.orders.is_empty()
        && parts.unions.is_empty()
        && parts.groups.is_empty()
        && parts.havings.is_empty()
}

/// A lazy iterator over a query's rows, fetched a page at a time, or one row at a time
/// from a statement held open (see [`Query::cursor`]). Yields `Err` once and stops if a
/// page or a row cannot be read. Not `Send`: it may hold a statement of this thread's
/// connection.
pub struct Cursor<T> {
    pub(super) query: Query<T>,
    pub(super) pager: Pager,
    /// The current page, reused for every page (drained from the front).
    pub(super) buffer: std::collections::VecDeque<T>,
    pub(super) done: bool,
    /// The error that ended the cursor, yielded once the rows read before it are.
    pub(super) failed: Option<Error>,
    pub(super) keyset: Keyset,
    /// `lazy_by_id`: keyset paging or an error, never `OFFSET`.
    pub(super) by_id: Option<ById>,
    /// Whether the rows come from one statement held open instead of pages.
    pub(super) streaming: Streaming,
}

/// How a [`Cursor`] reads its rows.
pub(super) enum Streaming {
    /// `cursor()` before its first row: one statement held open on a connection checked
    /// out of the pool for the cursor, where there is one to take (a SQLite file through
    /// `DB::connect`, outside transactions and executor scopes, no eager loads), its rows
    /// decoded one at a time as they are consumed; pages otherwise.
    Possible,
    /// Pages: `lazy`, `lazy_by_id`, or a `cursor()` that could not hold a statement.
    Off,
    #[cfg(feature = "sqlite")]
    Open(Box<OpenStream>),
}

/// A cursor's statement held open, and how its rows decode.
#[cfg(feature = "sqlite")]
pub(super) struct OpenStream {
    rows: crate::backend::sqlite::SqliteStream,
    layout: crate::row::Layout,
    columns: Option<std::sync::Arc<[String]>>,
    connection: Ident,
    sql: String,
}

#[cfg(feature = "sqlite")]
impl OpenStream {
    /// The next row decoded (`None` at the end); a row that does not decode ends the
    /// stream after its error, as a failed page ends a paged cursor.
    #[inline]
    fn next_item<T: FromRow>(&mut self) -> Option<Result<T>> {
        let OpenStream {
            rows,
            layout,
            columns,
            connection,
            sql,
        } = self;
        match rows.next_decoded::<T>(layout, columns) {
            Some(Ok(mut row)) => {
                T::remember_connection(std::slice::from_mut(&mut row), connection);
                Some(Ok(row))
            }
            Some(Err(e)) => Some(Err(e.with_sql(sql))),
            None => None,
        }
    }
}

/// The paging of [`Query::lazy_by_id`].
#[derive(Debug, Clone, Copy)]
pub(super) struct ById {
    pub(super) descending: bool,
}

/// How a [`Cursor`] finds its next page.
#[derive(Debug, Clone)]
pub(super) enum Keyset {
    /// Keyset paging is possible; the first page tells where the key column is.
    Undecided,
    /// After the row with this key (`WHERE key > last`).
    After { position: usize, last: Value },
    /// `LIMIT/OFFSET` paging.
    Off,
}

/// The key column's position and the key of the last row read.
pub(super) type LastKey = (usize, Value);

/// The scope holding the `key > last` condition of keyset paging (`cursor`,
/// `chunk_by_id`).
pub(super) const AFTER_KEY_SCOPE: &str = "after_key";

impl<T> std::fmt::Debug for Cursor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("query", &self.query)
            .field("offset", &self.pager.offset)
            .field("done", &self.done)
            .finish()
    }
}

impl<T> Cursor<T> {
    pub(super) fn new(query: Query<T>, page_size: u64) -> Self {
        let parts = &query.parts;
        let by_key = parts.orders.is_empty()
            && parts.offset.is_none()
            && parts.joins.is_empty()
            && parts.groups.is_empty()
            && parts.havings.is_empty()
            && parts.unions.is_empty()
            && !parts.distinct;
        let query = query.ordered_for_paging();
        let pager = Pager::new(query.parts.offset, query.parts.limit, page_size.max(1));
        Cursor {
            query,
            pager,
            buffer: std::collections::VecDeque::new(),
            done: false,
            keyset: if by_key {
                Keyset::Undecided
            } else {
                Keyset::Off
            },
            by_id: None,
            streaming: Streaming::Off,
            failed: None,
        }
    }

    fn by_id(mut query: Query<T>, page_size: u64, descending: bool) -> Self {
        if !pages_by_key(&query.parts) {
            query = query.fail(
                InvalidQueryKind::Clauses,
                "lazy_by_id pages by the primary key: the query must have no order_by, \
                 union or grouping (use cursor for those)",
            );
        } else if page_size == 0 {
            query = query.fail(
                InvalidQueryKind::Argument,
                "lazy_by_id's page size must be at least 1",
            );
        }
        query.key = query.paging_key();
        let key = query.key.clone();
        query
            .parts_mut()
            .orders
            .push(Order::Column(key, descending));
        // An offset skips rows before the first page only; later pages start after a key.
        let offset = query.parts_mut().offset.take();
        let pager = Pager::new(offset, query.parts.limit, page_size.max(1));
        Cursor {
            query,
            pager,
            buffer: std::collections::VecDeque::new(),
            done: false,
            keyset: Keyset::Undecided,
            by_id: Some(ById { descending }),
            streaming: Streaming::Off,
            failed: None,
        }
    }
}

impl<T: FromRow> Cursor<T> {
    /// Reads one page, noting the key of its last row while keyset paging is possible.
    pub(super) fn fetch(
        mut page: Query<T>,
        conn: &mut Connection,
        keyset: &Keyset,
        rows: &mut std::collections::VecDeque<T>,
    ) -> Result<(u64, Option<LastKey>)> {
        let eager = page.model.eager.take();
        let key_name = page.key.rsplit('.').next().unwrap_or_default().to_owned();
        let mut position = match keyset {
            Keyset::After { position, .. } => Some(*position),
            Keyset::Undecided | Keyset::Off => None,
        };
        let find_key = matches!(keyset, Keyset::Undecided);
        let mut last = None;
        let mut last_value = None;
        let start = rows.len();
        let capacity = page
            .parts
            .limit
            .map_or(0, |n| n.min(CURSOR_PAGE_SIZE) as usize);
        let connection = page.connection.clone();
        let mut layout = page.parts.layout::<T>();
        let (sql, binds) = page.render_owned(conn.dialect())?;
        let mut columns = None;
        rows.reserve(capacity);
        let mut count = 0;
        // Models and records tell their key after decoding: only the last row's is read.
        let mut decoded_key = None;
        // A row that does not decode ends the page there: the rows before it are kept,
        // and its error is the cursor's after them.
        let mut undecoded = None;
        conn.query_each_native(&sql, &binds, |row| {
            if find_key && position.is_none() {
                position = (0..row.len()).find(|&i| row.column_name(i) == key_name);
            }
            let decoded = match layout.decode::<T>(row, &mut columns) {
                Ok(decoded) => decoded,
                Err(e) => {
                    undecoded = Some(e.with_sql(&sql));
                    return Ok(false);
                }
            };
            if let Some(i) = position {
                if *decoded_key.get_or_insert_with(|| decoded.decoded_column(&key_name).is_some()) {
                    last = Some(i);
                } else {
                    last_value = Some((i, row.value_at(i)?.to_owned_value()));
                }
            }
            rows.push_back(decoded);
            count += 1;
            Ok(true)
        })?;
        T::remember_connection(&mut rows.make_contiguous()[start..], &connection);
        if let Some(eager) = eager {
            // Rows whose relations failed to load are not handed out half-loaded.
            if let Err(e) =
                (eager.after_load)(&mut rows.make_contiguous()[start..], &eager.plan, conn)
            {
                rows.truncate(start);
                return Err(e);
            }
        }
        let last = match (last, last_value) {
            (_, Some(found)) => Some(found),
            (Some(i), None) => rows
                .back()
                .filter(|_| rows.len() > start)
                .and_then(|row| row.decoded_column(&key_name))
                .map(|key| (i, key)),
            (None, None) => None,
        };
        match undecoded {
            Some(e) => Err(e),
            None => Ok((count, last)),
        }
    }
}

#[cfg(feature = "sqlite")]
impl<T: FromRow> Cursor<T> {
    /// Opens the statement a `cursor()` holds, at its first row: `Streaming::Open`, or
    /// `Off` where it reads by pages; an error ends the cursor.
    #[cold]
    fn start_streaming(&mut self) -> Result<()> {
        self.streaming = Streaming::Off;
        match self.open_stream() {
            Ok(Some(open)) => {
                self.streaming = Streaming::Open(open);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// The held statement ended (or failed): the connection goes back now.
    #[cold]
    fn end_streaming(&mut self) {
        self.streaming = Streaming::Off;
        self.done = true;
    }

    /// Opens the cursor's statement on a connection held for it, or `None` where it
    /// reads by pages.
    fn open_stream(&mut self) -> Result<Option<Box<OpenStream>>> {
        if self.query.model.eager.is_some() || self.by_id.is_some() {
            return Ok(None);
        }
        let name = self.query.connection.clone();
        let Some(held) = crate::db::held_from_pool(&name)? else {
            return Ok(None);
        };
        if held.backend() != crate::dialect::Backend::Sqlite {
            return Ok(None);
        }
        let layout = self.query.parts.layout::<T>();
        let (sql, binds) = self.query.clone().render_owned(held.dialect())?;
        let _context = crate::log::Context::enter(&name, crate::log::Role::Primary);
        let started = crate::log::start();
        let rows = crate::backend::sqlite::SqliteStream::open(held, &sql, &binds);
        crate::log::finish(started, &sql, binds.len());
        let rows = rows.map_err(|e| e.with_sql(&sql))?;
        Ok(Some(Box::new(OpenStream {
            rows,
            layout,
            columns: None,
            connection: name,
            sql,
        })))
    }
}

impl<T: FromRow> Iterator for Cursor<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        #[cfg(feature = "sqlite")]
        {
            if let Streaming::Possible = self.streaming {
                if let Err(e) = self.start_streaming() {
                    return Some(Err(e));
                }
            }
            if let Streaming::Open(open) = &mut self.streaming {
                let item = open.next_item::<T>();
                if open.rows.is_done() {
                    self.end_streaming();
                }
                return item;
            }
        }
        loop {
            if let Some(row) = self.buffer.pop_front() {
                return Some(Ok(row));
            }
            if self.done {
                return self.failed.take().map(Err);
            }
            let Some((offset, limit)) = self.pager.window() else {
                self.done = true;
                return None;
            };
            let mut page = self.query.clone();
            page.parts_mut().limit = Some(limit);
            match &self.keyset {
                Keyset::After { last, .. } => {
                    let key = page.key.clone();
                    let descending = self.by_id.is_some_and(|by_id| by_id.descending);
                    page.past_key(key, last.clone(), descending);
                }
                // The first page of keyset paging: no `OFFSET 0`.
                Keyset::Undecided => page.parts_mut().offset = Some(offset).filter(|&n| n > 0),
                Keyset::Off => page.parts_mut().offset = Some(offset),
            }
            let keyset = &self.keyset;
            let buffer = &mut self.buffer;
            // A page read again (after a replica was lost) replaces what the lost read
            // left in the buffer.
            let start = buffer.len();
            let fetched = page.run_read(|page, conn| {
                buffer.truncate(start);
                Self::fetch(page, conn, keyset, buffer)
            });
            match fetched {
                Err(e) => {
                    // The rows read before the failure come first, then the error.
                    self.done = true;
                    self.failed = Some(e);
                    continue;
                }
                Ok((n, last)) => {
                    if n < limit {
                        self.done = true;
                    }
                    self.pager.advance(n);
                    if last.is_none() && n > 0 && self.by_id.is_some() {
                        self.done = true;
                        self.buffer.clear();
                        return Some(Err(Error::invalid_query(
                            InvalidQueryKind::Clauses,
                            "lazy_by_id reads each page's last key: select the key column \
                             (non-null) and read rows as models or records",
                        )));
                    }
                    if !matches!(self.keyset, Keyset::Off) {
                        self.keyset = match last {
                            Some((position, last)) => Keyset::After { position, last },
                            // The key is not among the selected columns.
                            None if n > 0 => Keyset::Off,
                            None => Keyset::Undecided,
                        };
                    }
                }
            }
        }
    }
}
