//! Rows as read from the database: [`Row`] borrows the driver's row (positional, no
//! copies), [`Record`] owns its values (the untyped results of `DB::select`).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::{DecodeError, FromValue, Value, ValueRef};

/// A column position or a column name.
pub trait RowIndex: private::Sealed {
    #[doc(hidden)]
    fn position(&self) -> ColumnRef<'_>;
}

#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum ColumnRef<'a> {
    Index(usize),
    Name(&'a str),
}

mod private {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for str {}
    impl Sealed for &str {}
    impl Sealed for String {}
}

impl RowIndex for usize {
    fn position(&self) -> ColumnRef<'_> {
        ColumnRef::Index(*self)
    }
}
impl RowIndex for str {
    fn position(&self) -> ColumnRef<'_> {
        ColumnRef::Name(self)
    }
}
impl RowIndex for &str {
    fn position(&self) -> ColumnRef<'_> {
        ColumnRef::Name(self)
    }
}
impl RowIndex for String {
    fn position(&self) -> ColumnRef<'_> {
        ColumnRef::Name(self)
    }
}

fn resolve<'n>(
    index: ColumnRef<'_>,
    len: usize,
    names: impl Fn(usize) -> &'n str,
) -> Result<usize> {
    match index {
        ColumnRef::Index(i) if i < len => Ok(i),
        ColumnRef::Index(i) => Err(Error::ColumnNotFound(i.to_string())),
        ColumnRef::Name(name) => (0..len)
            .find(|&i| names(i) == name)
            .ok_or_else(|| Error::ColumnNotFound(name.to_owned())),
    }
}

/// A row borrowed from the driver while a query runs. Read columns by position (fastest)
/// or by name.
pub struct Row<'r> {
    pub(crate) inner: RowInner<'r>,
    /// How many rows the whole result has, when the driver knows it up front (0: unknown),
    /// so collecting loops can allocate once.
    pub(crate) rows_hint: usize,
    /// Where a model's columns are in this result, when not in the model's own order
    /// (see [`Layout`]): [`Row::get_at`]'s position `i` reads column `positions[i]`.
    pub(crate) positions: Option<&'r [usize]>,
}

/// A driver's row, whose columns its backend decodes: the impls live in `backend/`, so
/// this module names no backend (statically dispatched: no cost on the per-column path).
pub(crate) trait DriverRow {
    /// Column `index`, borrowed; the error boxed to keep the `Ok` small.
    fn value_ref(&self, index: usize) -> std::result::Result<ValueRef<'_>, Box<Error>>;
}

#[derive(Clone, Copy)]
pub(crate) enum RowInner<'r> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'r rusqlite::Row<'r>),
    #[cfg(feature = "postgres")]
    Postgres(&'r postgres::Row),
    #[cfg(feature = "mysql")]
    Mysql(&'r mysql::Row),
    /// Keeps the lifetime used whatever the features; never made (uninhabited), so
    /// the decoders compile no arm for it.
    #[allow(dead_code)]
    Never(std::convert::Infallible, std::marker::PhantomData<&'r ()>),
}

impl<'r> Row<'r> {
    /// Number of columns.
    pub fn len(&self) -> usize {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            RowInner::Sqlite(row) => row.as_ref().column_count(),
            #[cfg(feature = "postgres")]
            RowInner::Postgres(row) => row.len(),
            #[cfg(feature = "mysql")]
            RowInner::Mysql(row) => row.len(),
            RowInner::Never(never, _) => match *never {},
        }
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of column `index` (empty when out of range).
    pub fn column_name(&self, index: usize) -> &str {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            RowInner::Sqlite(row) => row.as_ref().column_name(index).unwrap_or(""),
            #[cfg(feature = "postgres")]
            RowInner::Postgres(row) => row.columns().get(index).map_or("", |c| c.name()),
            #[cfg(feature = "mysql")]
            RowInner::Mysql(row) => row
                .columns_ref()
                .get(index)
                .and_then(|c| std::str::from_utf8(c.name_ref()).ok())
                .unwrap_or(""),
            RowInner::Never(never, _) => match *never {},
        }
    }

    /// The position of a column, by index or name.
    pub fn column_index<I: RowIndex + ?Sized>(&self, index: &I) -> Result<usize> {
        resolve(index.position(), self.len(), |i| self.column_name(i))
    }

    /// The value of a column, borrowed from the row.
    pub fn value<I: RowIndex + ?Sized>(&self, index: &I) -> Result<ValueRef<'_>> {
        let i = self.column_index(index)?;
        self.value_at(i)
    }

    #[inline]
    pub(crate) fn value_at(&self, index: usize) -> Result<ValueRef<'_>> {
        self.read_at(index).map_err(|e| *e)
    }

    /// [`Row::value_at`] with the error boxed: the per-column decode path keeps its
    /// `Result` the size of a [`ValueRef`]. Always inlined into the decoders: as a call
    /// it was a third of the ORM's per-row cost over rusqlite (loading 10 000 rows: 1.04
    /// → 1.02 of rusqlite's instructions), for no measurable build time (a six-model
    /// app's release build of its own crate: 3.9 → 4.0 CPU s, within run-to-run spread).
    #[inline(always)]
    fn read_at(&self, index: usize) -> std::result::Result<ValueRef<'_>, Box<Error>> {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            RowInner::Sqlite(row) => row.value_ref(index),
            #[cfg(feature = "postgres")]
            RowInner::Postgres(row) => row.value_ref(index),
            #[cfg(feature = "mysql")]
            RowInner::Mysql(row) => row.value_ref(index),
            RowInner::Never(never, _) => match *never {},
        }
    }

    #[cold]
    #[inline(never)]
    fn decode_error(&self, index: usize, error: DecodeError) -> Error {
        error.into_error(self.column_name(index))
    }

    /// Reads a column as `T`: `row.get::<i64>(0)`, `row.get::<String>("name")`.
    /// A value that does not fit is [`Error::Decode`] naming the column.
    pub fn get<T: FromValue, I: RowIndex + ?Sized>(&self, index: &I) -> Result<T> {
        let i = self.column_index(index)?;
        let value = self.value_at(i)?;
        T::from_value(value).map_err(|e| e.into_error(self.column_name(i)))
    }

    /// Reads the column at `index` as `T`: the positional fast path model decoders use.
    /// On a row a model query has re-ordered (a custom `select`, raw SQL), `index` is the
    /// model's column position, and the column of that name is read.
    #[inline(always)]
    pub fn get_at<T: FromValue>(&self, index: usize) -> Result<T> {
        let index = match self.positions {
            None => index,
            Some(positions) => positions.get(index).copied().unwrap_or(usize::MAX),
        };
        match self.read_at(index) {
            Ok(value) => match T::from_value(value) {
                Ok(decoded) => Ok(decoded),
                Err(e) => Err(self.decode_error(index, e)),
            },
            Err(e) => Err(*e),
        }
    }

    /// Copies the row into an owned [`Record`] sharing `columns`.
    pub fn to_record(&self, columns: &Arc<[String]>) -> Result<Record> {
        let values = (0..self.len())
            .map(|i| self.value_at(i).map(|v| v.to_owned_value()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Record {
            columns: Arc::clone(columns),
            values,
        })
    }

    /// This row read through `positions` (see [`Layout`]).
    pub(crate) fn with_positions<'a>(&'a self, positions: &'a [usize]) -> Row<'a> {
        Row {
            inner: self.inner,
            rows_hint: self.rows_hint,
            positions: Some(positions),
        }
    }

    /// The column names of this row.
    pub fn column_names(&self) -> Arc<[String]> {
        (0..self.len())
            .map(|i| self.column_name(i).to_owned())
            .collect()
    }
}

/// How a result's columns line up with what a model decodes by position: checked once
/// per result, so a `SELECT id, last, first` into a struct declared `(id, first, last)`
/// decodes by name rather than swapping two fields.
pub(crate) enum Layout {
    /// The result starts with the model's columns in its order (its own queries), or the
    /// row type does not decode by position against names (records, tuples).
    Trusted,
    /// Not known yet: the first row is compared with the model's columns.
    Check {
        model: &'static str,
        columns: &'static [&'static str],
    },
    /// The model's column `i` is the result's column `positions[i]`.
    Mapped(Box<[usize]>),
}

impl Layout {
    /// A layout to check on the first row when `T` is a model (see [`FromRow::expected_columns`]).
    pub(crate) fn check<T: FromRow>() -> Layout {
        match T::expected_columns() {
            Some((model, columns)) => Layout::Check { model, columns },
            None => Layout::Trusted,
        }
    }

    /// Decodes `row` as `T` through this layout (checking it on the first row). The
    /// trusted case, every model query's own, is the caller's inlined fast path.
    #[inline(always)]
    pub(crate) fn decode<T: FromRow>(
        &mut self,
        row: &Row<'_>,
        names: &mut Option<Arc<[String]>>,
    ) -> Result<T> {
        if let Layout::Trusted = self {
            return decode_row(row, names);
        }
        self.decode_other(row, names)
    }

    /// [`Layout::decode`] for a layout not (yet) known to be trusted: out of line.
    #[inline(never)]
    pub(crate) fn decode_other<T: FromRow>(
        &mut self,
        row: &Row<'_>,
        names: &mut Option<Arc<[String]>>,
    ) -> Result<T> {
        // One call of `decode_row` for both layouts.
        let mapped = self.arrange(row)?;
        decode_row(mapped.as_ref().unwrap_or(row), names)
    }

    /// Decodes `row` as `T` through this layout onto the end of `out`: what collecting
    /// reads (`get`, eager loading) call, so each model's decoding is compiled once, in
    /// [`decode_push`], and writes its value straight into the list.
    #[inline(always)]
    pub(crate) fn decode_into<T: FromRow>(
        &mut self,
        row: &Row<'_>,
        names: &mut Option<Arc<[String]>>,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let mapped = match self {
            Layout::Trusted => None,
            _ => self.arrange(row)?,
        };
        decode_push(mapped.as_ref().unwrap_or(row), names, out)
    }

    /// Checks a [`Layout::Check`] against the first row it meets, turning it into
    /// [`Layout::Trusted`] or [`Layout::Mapped`]; then `row` as the decoder is to read
    /// it: `Some` view through the positions when mapped, `None` for the row as it is.
    pub(crate) fn arrange<'a>(&'a mut self, row: &'a Row<'_>) -> Result<Option<Row<'a>>> {
        if let Layout::Check { model, columns } = self {
            *self = match positions_by_name(row, model, columns)? {
                None => Layout::Trusted,
                Some(positions) => Layout::Mapped(positions),
            };
        }
        Ok(match self {
            Layout::Mapped(positions) => Some(row.with_positions(positions)),
            _ => None,
        })
    }
}

/// `T::from_row_in`, out of line: every place that decodes rows of a type calls this
/// one copy, so an app compiles each model's (inlined) decoding once rather than once
/// per kind of read.
#[inline(never)]
pub(crate) fn decode_row<T: FromRow>(
    row: &Row<'_>,
    names: &mut Option<Arc<[String]>>,
) -> Result<T> {
    T::from_row_in(row, names)
}

/// `T::from_row_in` pushed onto `out`, out of line, for the same reason as
/// [`decode_row`]: eager loading and `get` share this one copy per model. Decoding
/// where the value is kept saves moving each row through a returned `Result` (eager
/// loading 100×10×10 through `decode_row`: 0.8 % more instructions).
#[inline(never)]
pub(crate) fn decode_push<T: FromRow>(
    row: &Row<'_>,
    names: &mut Option<Arc<[String]>>,
    out: &mut Vec<T>,
) -> Result<()> {
    out.push(T::from_row_in(row, names)?);
    Ok(())
}

/// `None` when `row` starts with `columns` in order; else where each column is, by name
/// (exact, then ignoring ASCII case: PostgreSQL folds unquoted aliases), or
/// [`Error::ColumnNotFound`] naming the first column the result lacks.
#[cold]
fn positions_by_name(row: &Row<'_>, model: &str, columns: &[&str]) -> Result<Option<Box<[usize]>>> {
    let len = row.len();
    if len >= columns.len()
        && columns
            .iter()
            .enumerate()
            .all(|(i, c)| row.column_name(i) == *c)
    {
        return Ok(None);
    }
    // Each column's candidates: the result's columns of that name (exact, else ignoring
    // case). A join selecting two tables' `*` has two `id`s: the one taken is the one
    // among the model's other columns (nearest to where its unique columns are), so a
    // model read through `select(&["users.*", "posts.*"])` keeps its own key, not the
    // other table's, whichever comes first (Eloquent keeps the last one).
    let candidates: Vec<Vec<usize>> = columns
        .iter()
        .map(|column| {
            let exact: Vec<usize> = (0..len)
                .filter(|&i| row.column_name(i) == *column)
                .collect();
            if !exact.is_empty() {
                return exact;
            }
            (0..len)
                .filter(|&i| row.column_name(i).eq_ignore_ascii_case(column))
                .collect()
        })
        .collect();
    let unique: Vec<usize> = candidates
        .iter()
        .filter(|c| c.len() == 1)
        .map(|c| c[0])
        .collect();
    let anchor = match unique.len() {
        0 => None,
        n => Some(unique.iter().sum::<usize>() as f64 / n as f64),
    };
    columns
        .iter()
        .zip(&candidates)
        .map(|(column, found)| {
            let chosen = match (found.as_slice(), anchor) {
                ([], _) => None,
                ([only], _) => Some(*only),
                (several, Some(anchor)) => several.iter().copied().min_by(|a, b| {
                    let (da, db) = ((*a as f64 - anchor).abs(), (*b as f64 - anchor).abs());
                    da.total_cmp(&db)
                }),
                (several, None) => several.first().copied(),
            };
            chosen.ok_or_else(|| {
                Error::ColumnNotFound(format!(
                    "{model}.{column} (the result has {}; select every column of the \
                         model, or read the rows as records)",
                    (0..len)
                        .map(|i| row.column_name(i))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect::<Result<Box<[usize]>>>()
        .map(Some)
}

impl std::fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for i in 0..self.len() {
            map.entry(&self.column_name(i), &self.value_at(i).ok());
        }
        map.finish()
    }
}

/// Decodes one result row into a Rust value, positionally (what `Query<T>` returns).
///
/// Models implement [`FromRow::from_row`] by reading their columns by position; the
/// untyped [`Record`] implements it by copying the row.
pub trait FromRow: Sized {
    /// Decodes one row.
    fn from_row(row: &Row<'_>) -> Result<Self>;

    /// Decodes one row of a result set. `columns` starts as `None` and lives for the
    /// whole result, so a decoder can compute per-result state once (e.g. [`Record`]
    /// shares one list of column names between rows). The default calls
    /// [`FromRow::from_row`].
    #[inline(always)]
    fn from_row_in(row: &Row<'_>, columns: &mut Option<Arc<[String]>>) -> Result<Self> {
        let _ = columns;
        Self::from_row(row)
    }

    /// The value a decoded row holds for `column`, when the type can tell (models and
    /// records can): `cursor()` reads the last row's key from it instead of reading the
    /// key column of every row. `None` (the default): the type cannot tell.
    #[doc(hidden)]
    fn decoded_column(&self, column: &str) -> Option<Value> {
        let _ = column;
        None
    }

    /// The type's name and the columns [`FromRow::from_row`] reads by position, in that
    /// order (models: their columns), so a result whose columns are in another order is
    /// decoded by name. `None` (the default): the type reads what the result holds.
    #[doc(hidden)]
    fn expected_columns() -> Option<(&'static str, &'static [&'static str])> {
        None
    }

    /// Tells rows decoded by a query on the named `connection` where they came from
    /// (models with a state remember it, so their writes go back there). The default
    /// does nothing.
    #[doc(hidden)]
    #[inline]
    fn remember_connection(rows: &mut [Self], connection: &str) {
        let _ = (rows, connection);
    }
}

impl FromRow for Record {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        row.to_record(&row.column_names())
    }

    fn from_row_in(row: &Row<'_>, columns: &mut Option<Arc<[String]>>) -> Result<Self> {
        let columns = columns.get_or_insert_with(|| row.column_names());
        row.to_record(columns)
    }

    fn decoded_column(&self, column: &str) -> Option<Value> {
        self.value(column).ok().cloned()
    }
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromValue),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row<'_>) -> Result<Self> {
                Ok(($(row.get::<$t, usize>(&$i)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

/// An owned row: column names (shared by all rows of a result) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Record {
    /// A record from names and values (of equal length).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Record {
        debug_assert_eq!(columns.len(), values.len());
        Record { columns, values }
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the record has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Takes the values out.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The value of a column.
    pub fn value<I: RowIndex + ?Sized>(&self, index: &I) -> Result<&Value> {
        let i = resolve(index.position(), self.len(), |i| &self.columns[i])?;
        Ok(&self.values[i])
    }

    /// Reads a column as `T`; a value that does not fit is [`Error::Decode`].
    pub fn get<T: FromValue, I: RowIndex + ?Sized>(&self, index: &I) -> Result<T> {
        let i = resolve(index.position(), self.len(), |i| &self.columns[i])?;
        T::from_value(self.values[i].as_ref()).map_err(|e| e.into_error(&*self.columns[i]))
    }

    /// Column name and value pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.columns
            .iter()
            .map(String::as_str)
            .zip(self.values.iter())
    }
}

#[cfg(feature = "json")]
impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(feature = "json")]
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_none(),
            Value::Bool(v) => serializer.serialize_bool(*v),
            Value::Int(v) => serializer.serialize_i64(*v),
            Value::Float(v) => serializer.serialize_f64(*v),
            Value::Text(v) => serializer.serialize_str(v),
            Value::Bytes(v) => serializer.serialize_bytes(v),
            Value::Date(v) => v.serialize(serializer),
            Value::Time(v) => v.serialize(serializer),
            Value::DateTime(v) => v.serialize(serializer),
            Value::DateTimeUtc(v) => v.serialize(serializer),
            Value::Json(v) => v.serialize(serializer),
            Value::Array(v) => v.serialize(serializer),
            // As exact text: a JSON number would pass through a float in most readers.
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => serializer.collect_str(v),
        }
    }
}
