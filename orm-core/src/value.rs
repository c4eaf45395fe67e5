//! Values bound to and read from the database, and their conversions to Rust types.

use std::borrow::Cow;
use std::fmt;

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, SubsecRound, Utc,
};

/// An owned SQL value: what is bound as a parameter, or read into an untyped [`crate::Record`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// A boolean (SQLite stores it as 0/1).
    Bool(bool),
    /// Any integer, widened to 64 bits.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A calendar date.
    Date(NaiveDate),
    /// A time of day.
    Time(NaiveTime),
    /// A date and time without time zone.
    DateTime(NaiveDateTime),
    /// A point in time, in UTC.
    DateTimeUtc(DateTime<Utc>),
    /// A JSON document (feature `json`).
    #[cfg(feature = "json")]
    Json(serde_json::Value),
    /// A one-dimensional array, bound as one parameter (PostgreSQL: `id = ANY(?)`).
    /// SQLite has no arrays and refuses it with [`crate::Error::Bind`].
    Array(Vec<Value>),
    /// An exact decimal number (PostgreSQL's `NUMERIC`; bound as text on SQLite).
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
}

/// A borrowed SQL value, as read from a row without copying text or bytes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ValueRef<'a> {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (borrowed from the row, or owned when the driver had to convert it).
    Text(Cow<'a, str>),
    /// Binary data.
    Bytes(&'a [u8]),
    /// A calendar date.
    Date(NaiveDate),
    /// A time of day.
    Time(NaiveTime),
    /// A date and time without time zone.
    DateTime(NaiveDateTime),
    /// A point in time, in UTC.
    DateTimeUtc(DateTime<Utc>),
    /// A JSON document (feature `json`).
    #[cfg(feature = "json")]
    Json(Cow<'a, serde_json::Value>),
    /// A one-dimensional array (see [`Value::Array`]).
    Array(Cow<'a, [Value]>),
    /// An exact decimal number.
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
}

impl Value {
    /// A short name of the value's SQL type, used in error messages.
    pub fn type_name(&self) -> &'static str {
        self.as_ref().type_name()
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a JSON array or object: a JSON path is compared with it as a
    /// document (`Dialect::push_json_document_compared`), not as text.
    pub(crate) fn is_json_document(&self) -> bool {
        #[cfg(feature = "json")]
        if let Value::Json(doc) = self {
            return doc.is_array() || doc.is_object();
        }
        false
    }

    /// This key as a key of a column of `family`, where an integer and its text are one
    /// key (Eloquent's `castKeys`): text holding an integer becomes the integer for an
    /// integer key, an integer its text for a text key; anything else is unchanged.
    pub(crate) fn into_key_of(self, family: TypeFamily) -> Value {
        match (self, family) {
            (Value::Text(text), TypeFamily::Integer) => match text.parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => Value::Text(text),
            },
            (Value::Int(n), TypeFamily::Text) => Value::Text(n.to_string()),
            (value, _) => value,
        }
    }

    /// This key as a lookup of a key column of `family` compares it, or `None` when no
    /// row can have it. Text given for an integer key is the integer it spells (`"7"`,
    /// `" 7"`, `"7.0"`: as found rows are matched to given keys); text that spells none
    /// (`"7abc"`, `"7 OR 1=1"`) has no row, where the databases each read their own
    /// forms of it (MySQL its leading digits: `"7abc"` found row 7).
    pub(crate) fn into_lookup_key(self, family: TypeFamily) -> Option<Value> {
        match (self, family) {
            (Value::Text(text), TypeFamily::Integer) => {
                let trimmed = text.trim();
                if let Ok(n) = trimmed.parse::<i64>() {
                    return Some(Value::Int(n));
                }
                trimmed
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| Value::Int(f as i64))
            }
            (value, family) => Some(value.into_key_of(family)),
        }
    }

    /// Drops the value, one that owns nothing (`NULL` or a number: nearly every key)
    /// without a call to the drop glue.
    #[inline(always)]
    pub(crate) fn discard(self) {
        if matches!(
            self,
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)
        ) {
            std::mem::forget(self);
        }
    }

    /// Borrows this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Bool(v) => ValueRef::Bool(*v),
            Value::Int(v) => ValueRef::Int(*v),
            Value::Float(v) => ValueRef::Float(*v),
            Value::Text(v) => ValueRef::Text(Cow::Borrowed(v)),
            Value::Bytes(v) => ValueRef::Bytes(v),
            Value::Date(v) => ValueRef::Date(*v),
            Value::Time(v) => ValueRef::Time(*v),
            Value::DateTime(v) => ValueRef::DateTime(*v),
            Value::DateTimeUtc(v) => ValueRef::DateTimeUtc(*v),
            #[cfg(feature = "json")]
            Value::Json(v) => ValueRef::Json(Cow::Borrowed(v)),
            Value::Array(v) => ValueRef::Array(Cow::Borrowed(v)),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => ValueRef::Decimal(*v),
        }
    }

    /// Reads this value as `T`, with the same rules as reading a column.
    pub fn get<T: FromValue>(&self) -> Result<T, DecodeError> {
        T::from_value(self.as_ref())
    }
}

impl ValueRef<'_> {
    /// A short name of the value's SQL type, used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Null => "null",
            ValueRef::Bool(_) => "bool",
            ValueRef::Int(_) => "integer",
            ValueRef::Float(_) => "float",
            ValueRef::Text(_) => "text",
            ValueRef::Bytes(_) => "bytes",
            ValueRef::Date(_) => "date",
            ValueRef::Time(_) => "time",
            ValueRef::DateTime(_) => "datetime",
            ValueRef::DateTimeUtc(_) => "datetime with time zone",
            #[cfg(feature = "json")]
            ValueRef::Json(_) => "json",
            ValueRef::Array(_) => "array",
            #[cfg(feature = "decimal")]
            ValueRef::Decimal(_) => "decimal",
        }
    }

    /// This value as an owned [`Value`], keeping text the driver already owned.
    #[inline]
    pub(crate) fn into_owned(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(v) => Value::Bool(v),
            ValueRef::Int(v) => Value::Int(v),
            ValueRef::Float(v) => Value::Float(v),
            ValueRef::Text(v) => Value::Text(v.into_owned()),
            ValueRef::Bytes(v) => Value::Bytes(v.to_vec()),
            ValueRef::Date(v) => Value::Date(v),
            ValueRef::Time(v) => Value::Time(v),
            ValueRef::DateTime(v) => Value::DateTime(v),
            ValueRef::DateTimeUtc(v) => Value::DateTimeUtc(v),
            #[cfg(feature = "json")]
            ValueRef::Json(v) => Value::Json(v.into_owned()),
            ValueRef::Array(v) => Value::Array(v.into_owned()),
            #[cfg(feature = "decimal")]
            ValueRef::Decimal(v) => Value::Decimal(v),
        }
    }

    /// Copies this value into an owned [`Value`].
    pub fn to_owned_value(&self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(v) => Value::Bool(*v),
            ValueRef::Int(v) => Value::Int(*v),
            ValueRef::Float(v) => Value::Float(*v),
            ValueRef::Text(v) => Value::Text(v.to_string()),
            ValueRef::Bytes(v) => Value::Bytes(v.to_vec()),
            ValueRef::Date(v) => Value::Date(*v),
            ValueRef::Time(v) => Value::Time(*v),
            ValueRef::DateTime(v) => Value::DateTime(*v),
            ValueRef::DateTimeUtc(v) => Value::DateTimeUtc(*v),
            #[cfg(feature = "json")]
            ValueRef::Json(v) => Value::Json(v.clone().into_owned()),
            ValueRef::Array(v) => Value::Array(v.clone().into_owned()),
            #[cfg(feature = "decimal")]
            ValueRef::Decimal(v) => Value::Decimal(*v),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "<{} bytes>", v.len()),
            Value::Date(v) => write!(f, "{v}"),
            Value::Time(v) => write!(f, "{v}"),
            Value::DateTime(v) => write!(f, "{v}"),
            Value::DateTimeUtc(v) => write!(f, "{v}"),
            #[cfg(feature = "json")]
            Value::Json(v) => write!(f, "{v}"),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => write!(f, "{v}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Why a value could not be read as the requested type; [`crate::Row::get`] turns it
/// into [`crate::Error::Decode`] naming the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The requested Rust type.
    pub expected: String,
    /// What the value was (type, and the reason when the type alone does not say it).
    pub found: String,
}

impl DecodeError {
    pub(crate) fn new(expected: &str, value: &ValueRef<'_>) -> DecodeError {
        DecodeError {
            expected: expected.to_owned(),
            found: value.type_name().to_owned(),
        }
    }

    pub(crate) fn out_of_range(expected: &str, value: impl fmt::Display) -> DecodeError {
        DecodeError {
            expected: expected.to_owned(),
            found: format!("{value} (out of range)"),
        }
    }

    /// Names the column, producing the crate's error.
    pub fn into_error(self, column: impl Into<String>) -> crate::Error {
        crate::Error::Decode {
            column: column.into(),
            expected: self.expected,
            found: self.found,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

impl std::error::Error for DecodeError {}

/// Converts a Rust value into a bound SQL [`Value`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a database column",
    label = "no column mapping for this type",
    note = "implement `orm_core::ToValue` and `orm_core::FromValue` for it, or mark the field `#[model(skip)]`"
)]
pub trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> Value;

    /// The value to bind, borrowing text and bytes where the type holds them (model
    /// inserts bind fields without copying them). The default binds [`ToValue::to_value`].
    #[doc(hidden)]
    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        Bind::Owned(self.to_value())
    }

    /// The value to bind, or why it cannot be encoded (a `Json<T>` whose `Serialize`
    /// fails). The default: [`ToValue::to_value`], which cannot fail.
    #[inline]
    fn try_to_value(&self) -> Result<Value, crate::Error> {
        Ok(self.to_value())
    }

    /// Whether the value encodes (see [`ToValue::try_to_value`]): model writes check
    /// every field before building their statement. The default: `Ok`.
    #[doc(hidden)]
    #[inline(always)]
    fn check_encode(&self) -> Result<(), crate::Error> {
        Ok(())
    }

    /// Cuts from the value what no backend stores, so that a model holds what it
    /// writes: a date-time's or time's fraction beyond whole microseconds (every backend
    /// keeps microseconds and floors the rest; [`now`] is already whole). Model writes
    /// call it on every field before binding. The default: nothing to cut.
    #[doc(hidden)]
    #[inline(always)]
    fn truncate_to_stored(&mut self) {}
}

/// Floors a date-time or time to whole microseconds, in place, as the backends store
/// it (a value already whole is left alone: the usual case costs one remainder).
#[inline]
fn truncate_subsec_micros<T: chrono::Timelike + SubsecRound + Copy>(value: &mut T) {
    if value.nanosecond() % 1_000 != 0 {
        *value = value.trunc_subsecs(6);
    }
}

/// A parameter as the backends bind it: a [`Value`] borrowed or owned, or text and bytes
/// borrowed straight from a model's fields.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum Bind<'a> {
    /// A borrowed value.
    Value(&'a Value),
    /// An owned value (numbers, dates: nothing to borrow).
    Owned(Value),
    /// Borrowed text.
    Text(&'a str),
    /// Borrowed bytes.
    Bytes(&'a [u8]),
}

/// One model's column values as binds, in column order: what [`crate::Model`]'s
/// `write_binds` fills. Up to 16 stay on the stack, so writing one model allocates no list.
pub type Binds<'a> = smallvec::SmallVec<[Bind<'a>; 16]>;

/// What the backends accept as parameters: [`Value`]s or [`Bind`]s, seen as a [`Bind`]
/// borrowing from them (never copying).
pub(crate) trait Param {
    fn param(&self) -> Bind<'_>;
    /// [`Param::param`] as a type that owns nothing, so binding it drops nothing (the
    /// SQLite backend binds these).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    fn param_ref(&self) -> ParamRef<'_>;
}

/// A parameter, borrowed: what a [`Bind`] borrows or owns, seen by reference.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) enum ParamRef<'a> {
    Value(&'a Value),
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl Param for Value {
    #[inline]
    fn param(&self) -> Bind<'_> {
        Bind::Value(self)
    }
    #[inline]
    fn param_ref(&self) -> ParamRef<'_> {
        ParamRef::Value(self)
    }
}

impl Param for Bind<'_> {
    #[inline]
    fn param(&self) -> Bind<'_> {
        match self {
            Bind::Value(v) => Bind::Value(v),
            Bind::Owned(v) => Bind::Value(v),
            Bind::Text(v) => Bind::Text(v),
            Bind::Bytes(v) => Bind::Bytes(v),
        }
    }
    #[inline]
    fn param_ref(&self) -> ParamRef<'_> {
        match self {
            Bind::Value(v) => ParamRef::Value(v),
            Bind::Owned(v) => ParamRef::Value(v),
            Bind::Text(v) => ParamRef::Text(v),
            Bind::Bytes(v) => ParamRef::Bytes(v),
        }
    }
}

impl Bind<'_> {
    /// Drops the bind, one that borrows or owns nothing (`NULL`, an integer) without a
    /// call to the drop glue.
    #[inline(always)]
    pub(crate) fn discard(self) {
        if matches!(
            self,
            Bind::Value(_)
                | Bind::Text(_)
                | Bind::Bytes(_)
                | Bind::Owned(Value::Null | Value::Int(_))
        ) {
            std::mem::forget(self);
        }
    }

    /// Whether this is SQL `NULL`.
    #[inline]
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Bind::Value(Value::Null) | Bind::Owned(Value::Null))
    }

    /// The value, borrowed.
    #[inline]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Bind::Value(v) => v.as_ref(),
            Bind::Owned(v) => v.as_ref(),
            Bind::Text(v) => ValueRef::Text(Cow::Borrowed(v)),
            Bind::Bytes(v) => ValueRef::Bytes(v),
        }
    }

    /// The value when it is one (not borrowed text or bytes).
    #[inline]
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            Bind::Value(v) => Some(v),
            Bind::Owned(v) => Some(v),
            Bind::Text(_) | Bind::Bytes(_) => None,
        }
    }
}

/// Reads a Rust value from a SQL value. Reading widens losslessly (an `INT4` reads into
/// `i64`, an integer into `f64` when exact); anything lossy is a [`DecodeError`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a database column",
    label = "no column mapping for this type",
    note = "implement `orm_core::ToValue` and `orm_core::FromValue` for it, or mark the field `#[model(skip)]`"
)]
pub trait FromValue: Sized {
    /// Converts the value, or says why it cannot.
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError>;

    /// The kind of column the type is read from, for comparing a model with its live
    /// table (`Model::check_schema`). [`TypeFamily::Any`] (the default): not checked.
    const FAMILY: TypeFamily = TypeFamily::Any;

    /// Whether the type reads NULL (`Option<T>`).
    const NULLABLE: bool = false;
}

/// The kind of column a Rust type is read from: what `Model::check_schema` compares
/// with the family of a live column's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeFamily {
    /// Integers (`i64`, `INTEGER`, `BIGINT`, ...).
    Integer,
    /// Floating point (`f64`, `REAL`, `DOUBLE PRECISION`).
    Float,
    /// Exact decimals (`Decimal`, `NUMERIC(p, s)`).
    Decimal,
    /// Text (`String`, `VARCHAR`, `TEXT`).
    Text,
    /// Bytes (`Vec<u8>`, `BLOB`, `BYTEA`).
    Bytes,
    /// Booleans.
    Bool,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time (`TIMESTAMP`, `DATETIME`), with or without a zone.
    DateTime,
    /// JSON documents.
    Json,
    /// Anything (a `Value`, a type of the application's, an unrecognised SQL type).
    Any,
}

impl ToValue for Value {
    #[inline]
    fn to_value(&self) -> Value {
        self.clone()
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        Bind::Value(self)
    }

    #[inline]
    fn truncate_to_stored(&mut self) {
        match self {
            Value::Time(v) => truncate_subsec_micros(v),
            Value::DateTime(v) => truncate_subsec_micros(v),
            Value::DateTimeUtc(v) => truncate_subsec_micros(v),
            _ => {}
        }
    }
}

impl FromValue for Value {
    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        Ok(value.to_owned_value())
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        (**self).to_bind()
    }

    #[inline]
    fn try_to_value(&self) -> Result<Value, crate::Error> {
        (**self).try_to_value()
    }

    #[inline(always)]
    fn check_encode(&self) -> Result<(), crate::Error> {
        (**self).check_encode()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    #[inline]
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        match self {
            Some(v) => v.to_bind(),
            // Borrowed: a bind that owns nothing needs no drop.
            None => Bind::Value(&Value::Null),
        }
    }

    #[inline]
    fn try_to_value(&self) -> Result<Value, crate::Error> {
        match self {
            Some(v) => v.try_to_value(),
            None => Ok(Value::Null),
        }
    }

    #[inline(always)]
    fn check_encode(&self) -> Result<(), crate::Error> {
        match self {
            Some(v) => v.check_encode(),
            None => Ok(()),
        }
    }

    #[inline(always)]
    fn truncate_to_stored(&mut self) {
        if let Some(v) = self {
            v.truncate_to_stored();
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const FAMILY: TypeFamily = T::FAMILY;
    const NULLABLE: bool = true;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Null => {
                // Nothing to drop in NULL: skip the enum's drop-glue call.
                std::mem::forget(value);
                Ok(None)
            }
            other => T::from_value(other).map(Some),
        }
    }
}

impl<T: Into<Value> + Clone> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

macro_rules! int_conversions {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            #[inline]
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Int(i64::from(v))
            }
        }
        impl FromValue for $t {
            const FAMILY: TypeFamily = TypeFamily::Integer;

            #[inline]
            fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
                if let ValueRef::Int(v) = value {
                    // Nothing to drop in an integer: skip the enum's drop-glue call.
                    std::mem::forget(value);
                    return <$t>::try_from(v)
                        .map_err(|_| DecodeError::out_of_range(stringify!($t), v));
                }
                int_from_other(value, stringify!($t))
            }
        }
    )*};
}

/// An integer from anything but `Int`: out of line, so the hot `Int` arm of the
/// integer decoders stays small enough to inline into every model's row decoder.
#[cold]
#[inline(never)]
fn int_from_other<T: TryFrom<i64> + From<bool>>(
    value: ValueRef<'_>,
    name: &str,
) -> Result<T, DecodeError> {
    match value {
        ValueRef::Bool(b) => Ok(T::from(b)),
        #[cfg(feature = "decimal")]
        ValueRef::Decimal(d) => crate::decimal::whole(d)
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| DecodeError::out_of_range(name, d)),
        other => Err(DecodeError::new(name, &other)),
    }
}
int_conversions!(i8, i16, i32, i64, u8, u16, u32);

impl FromValue for u64 {
    const FAMILY: TypeFamily = TypeFamily::Integer;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Int(v) => u64::try_from(v).map_err(|_| DecodeError::out_of_range("u64", v)),
            other => u64_from_other(other),
        }
    }
}

/// A `u64` from anything but `Int`: a whole decimal (PostgreSQL's `NUMERIC`, MySQL's
/// `BIGINT UNSIGNED` past `i64::MAX`) in range. Out of line, as [`int_from_other`].
#[cold]
#[inline(never)]
fn u64_from_other(value: ValueRef<'_>) -> Result<u64, DecodeError> {
    match value {
        #[cfg(feature = "decimal")]
        ValueRef::Decimal(d) => {
            crate::decimal::whole_u64(d).ok_or_else(|| DecodeError::out_of_range("u64", d))
        }
        // Without feature `decimal`, MySQL's `BIGINT UNSIGNED` past `i64::MAX` arrives as
        // its digits.
        #[cfg(not(feature = "decimal"))]
        ValueRef::Text(ref text)
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse()
                .map_err(|_| DecodeError::out_of_range("u64", text))
        }
        other => Err(DecodeError::new("u64", &other)),
    }
}

impl FromValue for usize {
    const FAMILY: TypeFamily = TypeFamily::Integer;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Int(v) => {
                usize::try_from(v).map_err(|_| DecodeError::out_of_range("usize", v))
            }
            other => Err(DecodeError::new("usize", &other)),
        }
    }
}

/// Largest integer magnitude an `f64` represents exactly.
const F64_EXACT_INT: i64 = 1 << 53;

impl ToValue for f64 {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl FromValue for f64 {
    const FAMILY: TypeFamily = TypeFamily::Float;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Float(v) => Ok(v),
            ValueRef::Int(v) if (-F64_EXACT_INT..=F64_EXACT_INT).contains(&v) => Ok(v as f64),
            ValueRef::Int(v) => Err(DecodeError::out_of_range("f64", v)),
            #[cfg(feature = "decimal")]
            ValueRef::Decimal(d) => Ok(crate::decimal::nearest_f64(d)),
            other => Err(DecodeError::new("f64", &other)),
        }
    }
}

/// `v` as the `f64` of its shortest decimal form: `19.99f32` is `19.99`, not the
/// `19.989999771118164` its bits widen to. PostgreSQL and MySQL print a single-precision
/// value so, and drivers reading their text read it so; a value read from a `REAL` or
/// `FLOAT` column, or written from an `f32` field, keeps the digits it was given.
pub(crate) fn widen_f32(v: f32) -> f64 {
    use std::io::Write;
    if !v.is_finite() {
        return f64::from(v);
    }
    // `{:e}` is the shortest digits with an exponent: at most 15 bytes for an f32.
    let mut buf = [0u8; 24];
    let mut out = std::io::Cursor::new(&mut buf[..]);
    if write!(out, "{v:e}").is_err() {
        return f64::from(v);
    }
    let len = usize::try_from(out.position()).unwrap_or(0);
    match std::str::from_utf8(&buf[..len]).map(str::parse::<f64>) {
        // Past `f32::MAX` (`3.4028235e38` is): a database checking a FLOAT's range
        // would refuse it, so the extremes keep their exact bits.
        Ok(Ok(wide)) if wide.abs() <= f64::from(f32::MAX) => wide,
        _ => f64::from(v),
    }
}

/// The `f32` that `v` is, when it is one: its bits widened exactly, or its shortest
/// decimal form ([`widen_f32`]); `None` for a value a single-precision float cannot
/// hold without losing digits.
pub(crate) fn narrow_f64(v: f64) -> Option<f32> {
    let narrow = v as f32;
    if f64::from(narrow) == v || v.is_nan() {
        return Some(narrow);
    }
    if !narrow.is_finite() {
        return None;
    }
    // Rounding the decimal to f64 and then to f32 may land one step off the f32 it
    // came from: its neighbours (one unit of the bits either way) are tried too.
    let bits = narrow.to_bits();
    [Some(bits), bits.checked_sub(1), bits.checked_add(1)]
        .into_iter()
        .flatten()
        .map(f32::from_bits)
        .find(|candidate| candidate.is_finite() && widen_f32(*candidate) == v)
}

impl ToValue for f32 {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Float(widen_f32(*self))
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Float(widen_f32(v))
    }
}
impl FromValue for f32 {
    const FAMILY: TypeFamily = TypeFamily::Float;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        let wide = f64::from_value(value).map_err(|mut e| {
            e.expected = "f32".into();
            e
        })?;
        narrow_f64(wide).ok_or_else(|| DecodeError::out_of_range("f32", wide))
    }
}

impl ToValue for bool {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl FromValue for bool {
    const FAMILY: TypeFamily = TypeFamily::Bool;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Bool(v) => Ok(v),
            ValueRef::Int(0) => Ok(false),
            ValueRef::Int(1) => Ok(true),
            ValueRef::Int(v) => Err(DecodeError::out_of_range("bool", v)),
            other => Err(DecodeError::new("bool", &other)),
        }
    }
}

impl ToValue for str {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        Bind::Text(self)
    }
}
impl ToValue for String {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        Bind::Text(self)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl FromValue for String {
    const FAMILY: TypeFamily = TypeFamily::Text;

    #[inline(always)]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Text(v) => Ok(v.into_owned()),
            other => string_from_other(other),
        }
    }
}

/// A `String` from anything but `Text`: out of line, as [`int_from_other`].
#[cold]
#[inline(never)]
fn string_from_other(value: ValueRef<'_>) -> Result<String, DecodeError> {
    match value {
        // PostgreSQL's NUMERIC read as its exact text, as before decimals were typed.
        #[cfg(feature = "decimal")]
        ValueRef::Decimal(d) => Ok(d.to_string()),
        // Dates and times as the text SQLite stores them, so that a `String` read of a
        // date column gives the same text on every backend.
        ValueRef::Date(d) => Ok(d.format("%Y-%m-%d").to_string()),
        ValueRef::Time(t) => Ok(t.format(TIME_TEXT_FORMAT).to_string()),
        ValueRef::DateTime(dt) => Ok(dt.format(DATETIME_TEXT_FORMAT).to_string()),
        ValueRef::DateTimeUtc(dt) => Ok(dt.naive_utc().format(DATETIME_TEXT_FORMAT).to_string()),
        // A whole document as its JSON text, as SQLite's JSON columns read.
        #[cfg(feature = "json")]
        ValueRef::Json(doc) => Ok(doc.to_string()),
        other => Err(DecodeError::new("String", &other)),
    }
}

impl ToValue for [u8] {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        Bind::Bytes(self)
    }
}
impl ToValue for Vec<u8> {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }

    #[inline]
    fn to_bind(&self) -> Bind<'_> {
        Bind::Bytes(self)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }
}
impl FromValue for Vec<u8> {
    const FAMILY: TypeFamily = TypeFamily::Bytes;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Bytes(v) => Ok(v.to_vec()),
            other => Err(DecodeError::new("Vec<u8>", &other)),
        }
    }
}

/// Text format of a date-time stored in SQLite: fixed width, so it sorts correctly.
pub(crate) const DATETIME_TEXT_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// Text format of a time of day stored in SQLite.
pub(crate) const TIME_TEXT_FORMAT: &str = "%H:%M:%S%.6f";

fn parse_datetime_text(text: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.naive_utc());
    }
    if let Ok(dt) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(dt.naive_utc());
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(naive, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

impl ToValue for NaiveDate {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Date(*self)
    }
}
impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Value {
        Value::Date(v)
    }
}
impl FromValue for NaiveDate {
    const FAMILY: TypeFamily = TypeFamily::Date;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Date(v) => Ok(v),
            ValueRef::Text(ref t) => NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .map_err(|_| DecodeError::new("NaiveDate", &value)),
            // MySQL reads a bound date back as a DATETIME (`SELECT ?`): midnight is
            // that date exactly; any other time of day would be lost, and is refused.
            ValueRef::DateTime(dt) if dt.time() == NaiveTime::MIN => Ok(dt.date()),
            other => Err(DecodeError::new("NaiveDate", &other)),
        }
    }
}

impl ToValue for NaiveTime {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Time(*self)
    }

    #[inline]
    fn truncate_to_stored(&mut self) {
        truncate_subsec_micros(self);
    }
}
impl From<NaiveTime> for Value {
    fn from(v: NaiveTime) -> Value {
        Value::Time(v)
    }
}
impl FromValue for NaiveTime {
    const FAMILY: TypeFamily = TypeFamily::Time;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Time(v) => Ok(v),
            ValueRef::Text(ref t) => NaiveTime::parse_from_str(t.trim(), "%H:%M:%S%.f")
                .or_else(|_| NaiveTime::parse_from_str(t.trim(), "%H:%M"))
                .map_err(|_| DecodeError::new("NaiveTime", &value)),
            other => Err(DecodeError::new("NaiveTime", &other)),
        }
    }
}

impl ToValue for NaiveDateTime {
    #[inline]
    fn to_value(&self) -> Value {
        Value::DateTime(*self)
    }

    #[inline]
    fn truncate_to_stored(&mut self) {
        truncate_subsec_micros(self);
    }
}
impl From<NaiveDateTime> for Value {
    fn from(v: NaiveDateTime) -> Value {
        Value::DateTime(v)
    }
}
impl FromValue for NaiveDateTime {
    const FAMILY: TypeFamily = TypeFamily::DateTime;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::DateTime(v) => Ok(v),
            ValueRef::DateTimeUtc(v) => Ok(v.naive_utc()),
            ValueRef::Text(ref t) => {
                parse_datetime_text(t).ok_or_else(|| DecodeError::new("NaiveDateTime", &value))
            }
            other => Err(DecodeError::new("NaiveDateTime", &other)),
        }
    }
}

impl ToValue for DateTime<Utc> {
    #[inline]
    fn to_value(&self) -> Value {
        Value::DateTimeUtc(*self)
    }

    #[inline]
    fn truncate_to_stored(&mut self) {
        truncate_subsec_micros(self);
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Value {
        Value::DateTimeUtc(v)
    }
}
impl FromValue for DateTime<Utc> {
    const FAMILY: TypeFamily = TypeFamily::DateTime;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::DateTimeUtc(v) => Ok(v),
            ValueRef::DateTime(v) => Ok(v.and_utc()),
            ValueRef::Text(ref t) => parse_datetime_text(t)
                .map(|v| v.and_utc())
                .ok_or_else(|| DecodeError::new("DateTime<Utc>", &value)),
            other => Err(DecodeError::new("DateTime<Utc>", &other)),
        }
    }
}

/// A date-time with an offset is stored as its instant, in UTC (what every backend's
/// `timestamp` column keeps); it reads back at offset `+00:00` (the same instant: chrono
/// compares instants).
impl ToValue for DateTime<FixedOffset> {
    #[inline]
    fn to_value(&self) -> Value {
        Value::DateTimeUtc(self.with_timezone(&Utc))
    }

    fn truncate_to_stored(&mut self) {
        let mut utc = self.with_timezone(&Utc);
        truncate_subsec_micros(&mut utc);
        *self = utc.with_timezone(&self.offset().fix());
    }
}
impl From<DateTime<FixedOffset>> for Value {
    fn from(v: DateTime<FixedOffset>) -> Value {
        Value::DateTimeUtc(v.with_timezone(&Utc))
    }
}
impl FromValue for DateTime<FixedOffset> {
    const FAMILY: TypeFamily = TypeFamily::DateTime;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match DateTime::<Utc>::from_value(value) {
            Ok(utc) => Ok(utc.fixed_offset()),
            Err(e) => Err(DecodeError {
                expected: "DateTime<FixedOffset>".into(),
                found: e.found,
            }),
        }
    }
}

/// Converts each argument into a [`Value`], for binding a list of parameters:
/// `values![1, "Ada", None::<i64>]`.
#[macro_export]
macro_rules! values {
    ($($v:expr),* $(,)?) => { ::std::vec![$($crate::ToValue::to_value(&$v)),*] };
}

thread_local! {
    /// The time `testing::travel_to` stopped this thread's clock at.
    static TRAVELLED: std::cell::Cell<Option<DateTime<Utc>>> = const { std::cell::Cell::new(None) };
}

/// The current time as stored: UTC, microsecond precision (what both backends keep);
/// inside [`crate::testing::travel_to`], the time it gives.
pub fn now() -> DateTime<Utc> {
    TRAVELLED
        .with(std::cell::Cell::get)
        .unwrap_or_else(|| Utc::now().trunc_subsecs(6))
}

/// Stops this thread's clock at `at` (`None`: runs it again); returns the previous stop.
pub(crate) fn travel(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    TRAVELLED.with(|t| t.replace(at.map(|at| at.trunc_subsecs(6))))
}
