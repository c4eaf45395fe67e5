//! How `#[derive(Model)]` reaches a column field: through one trait, so that a field
//! type without a column mapping is one compile error naming the fix, not one error per
//! generated use (encode, bind, decode, serialize each needed their own trait before).

#[cfg(feature = "json")]
use serde::ser::SerializeStruct;

use crate::error::Result;
use crate::row::Row;
use crate::value::{Bind, DecodeError, FromValue, ToValue, TypeFamily, Value, ValueRef};

/// A model field stored in a column: [`ToValue`] and [`FromValue`], plus
/// `serde::Serialize` when the derived `Serialize` writes the field (`Mode` is
/// [`Serialized`] or [`NotSerialized`]). Only the derive uses it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model column",
    label = "not a column type",
    note = "column types: bool, i8, i16, i32, i64, u8, u16, u32, f32, f64, String, Vec<u8>, NaiveDate, NaiveTime, NaiveDateTime, DateTime<Utc>, Decimal, Uuid (feature `uuid`), serde_json::Value, Json<T> (T: Serialize + DeserializeOwned), and Option<..> of these",
    note = "another type needs `orm_core::ToValue` and `orm_core::FromValue`, and `serde::Serialize` when the derived Serialize writes it (not `hidden`, no `serialize = false`); or mark the field #[model(skip)]"
)]
pub trait ColumnField<Mode>: Sized {
    /// [`FromValue::FAMILY`].
    const FAMILY: TypeFamily;
    /// [`FromValue::NULLABLE`].
    const NULLABLE: bool;

    /// [`ToValue::to_value`].
    fn to_value(&self) -> Value;
    /// [`ToValue::to_bind`].
    fn to_bind(&self) -> Bind<'_>;
    /// [`ToValue::check_encode`].
    fn check_encode(&self) -> Result<()>;
    /// [`ToValue::truncate_to_stored`].
    fn truncate_to_stored(&mut self);
    /// [`FromValue::from_value`].
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError>;
    /// [`Row::get_at`].
    fn read(row: &Row<'_>, index: usize) -> Result<Self>;
    /// Sets `slot` from `value` (the derived `set_column`), a decode error naming
    /// `column`.
    fn set(slot: &mut Self, value: ValueRef<'_>, column: &str) -> Result<()>;
    /// Writes the field into the derived `Serialize`; `mode` proves the derive writes
    /// one ([`NotSerialized`] has no value, so that impl cannot be called).
    #[cfg(feature = "json")]
    fn serialize_field<S: SerializeStruct>(
        &self,
        state: &mut S,
        key: &'static str,
        mode: Mode,
    ) -> Result<(), S::Error>;
}

/// `serde::Serialize` with feature `json`; every type without it (no derived
/// `Serialize` to write).
#[cfg(feature = "json")]
pub trait SerializeIfJson: serde::Serialize {}
#[cfg(feature = "json")]
impl<T: serde::Serialize + ?Sized> SerializeIfJson for T {}
/// `serde::Serialize` with feature `json`; every type without it (no derived
/// `Serialize` to write).
#[cfg(not(feature = "json"))]
pub trait SerializeIfJson {}
#[cfg(not(feature = "json"))]
impl<T: ?Sized> SerializeIfJson for T {}

/// The derived `Serialize` writes the field (the default for a field not `hidden`).
#[derive(Debug, Clone, Copy)]
pub struct Serialized;

/// A `hidden` field, or any field of a `#[model(serialize = false)]` model.
#[derive(Debug, Clone, Copy)]
pub enum NotSerialized {}

// `do_not_recommend`: report the field type as "not a column" rather than the missing
// `ToValue`, `FromValue` and `Serialize` separately.
#[diagnostic::do_not_recommend]
impl<T: ToValue + FromValue + SerializeIfJson> ColumnField<Serialized> for T {
    const FAMILY: TypeFamily = T::FAMILY;
    const NULLABLE: bool = T::NULLABLE;

    #[inline(always)]
    fn to_value(&self) -> Value {
        ToValue::to_value(self)
    }

    #[inline(always)]
    fn to_bind(&self) -> Bind<'_> {
        ToValue::to_bind(self)
    }

    #[inline(always)]
    fn check_encode(&self) -> Result<()> {
        ToValue::check_encode(self)
    }

    #[inline(always)]
    fn truncate_to_stored(&mut self) {
        ToValue::truncate_to_stored(self)
    }

    #[inline(always)]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        FromValue::from_value(value)
    }

    #[inline(always)]
    fn read(row: &Row<'_>, index: usize) -> Result<Self> {
        row.get_at(index)
    }

    #[inline(always)]
    fn set(slot: &mut Self, value: ValueRef<'_>, column: &str) -> Result<()> {
        set_field(slot, value, column)
    }

    #[cfg(feature = "json")]
    #[inline]
    fn serialize_field<S: SerializeStruct>(
        &self,
        state: &mut S,
        key: &'static str,
        _: Serialized,
    ) -> Result<(), S::Error> {
        // A point in time is written as Eloquent writes it: in UTC, with six fraction
        // digits (`2012-12-04T00:00:00.000000Z`), so every value has the same width.
        if T::FAMILY == TypeFamily::DateTime {
            if let Value::DateTimeUtc(at) = ToValue::to_value(self) {
                return state.serialize_field(key, &UtcMicros(at));
            }
        }
        state.serialize_field(key, self)
    }
}

/// A UTC time serialized with six fraction digits and a `Z`.
#[cfg(feature = "json")]
struct UtcMicros(chrono::DateTime<chrono::Utc>);

#[cfg(feature = "json")]
impl serde::Serialize for UtcMicros {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

#[diagnostic::do_not_recommend]
impl<T: ToValue + FromValue> ColumnField<NotSerialized> for T {
    const FAMILY: TypeFamily = T::FAMILY;
    const NULLABLE: bool = T::NULLABLE;

    #[inline(always)]
    fn to_value(&self) -> Value {
        ToValue::to_value(self)
    }

    #[inline(always)]
    fn to_bind(&self) -> Bind<'_> {
        ToValue::to_bind(self)
    }

    #[inline(always)]
    fn check_encode(&self) -> Result<()> {
        ToValue::check_encode(self)
    }

    #[inline(always)]
    fn truncate_to_stored(&mut self) {
        ToValue::truncate_to_stored(self)
    }

    #[inline(always)]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        FromValue::from_value(value)
    }

    #[inline(always)]
    fn read(row: &Row<'_>, index: usize) -> Result<Self> {
        row.get_at(index)
    }

    #[inline(always)]
    fn set(slot: &mut Self, value: ValueRef<'_>, column: &str) -> Result<()> {
        set_field(slot, value, column)
    }

    #[cfg(feature = "json")]
    fn serialize_field<S: SerializeStruct>(
        &self,
        _: &mut S,
        _: &'static str,
        mode: NotSerialized,
    ) -> Result<(), S::Error> {
        match mode {}
    }
}

/// [`ColumnField::set`]: compiled once per field type, not once per column of every
/// model (inlined into each `set_column` arm, it cost a six-model app's release build
/// 2.4 % of its compiler's instructions).
#[inline(never)]
fn set_field<T: FromValue>(slot: &mut T, value: ValueRef<'_>, column: &str) -> Result<()> {
    *slot = T::from_value(value).map_err(|e| e.into_error(column))?;
    Ok(())
}
