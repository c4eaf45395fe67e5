//! `Json<T>`: a column holding a JSON document read into, and written from, the
//! application's own serde type (`JSONB` on PostgreSQL, `JSON` on MySQL/MariaDB, `TEXT`
//! on SQLite: what `Blueprint::json`/`jsonb` create).

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::value::{DecodeError, FromValue, ToValue, TypeFamily, Value, ValueRef};

/// A model field stored as JSON: `pub settings: Json<Settings>` where `Settings:
/// Serialize + DeserializeOwned`. Dereferences to the value; serialises as it (no
/// wrapper). A document that does not fit `T` is [`Error::Decode`] naming the column;
/// a value whose `Serialize` fails (a map with non-string keys, a refusing impl) is
/// [`Error::Bind`] when the model is written, before anything is sent.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// Takes the value out.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Serialize> Json<T> {
    /// The document to store, or [`Error::Bind`] when `T`'s `Serialize` fails.
    pub fn encode(&self) -> Result<Value, Error> {
        serde_json::to_value(&self.0)
            .map(Value::Json)
            .map_err(|e| Error::Bind {
                message: format!(
                    "cannot encode a {} as JSON: {e}",
                    std::any::type_name::<T>()
                ),
                source: Some(Box::new(e)),
            })
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Json<T> {
        Json(value)
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Json)
    }
}

impl<T: Serialize> ToValue for Json<T> {
    /// The document; JSON `null` when `T`'s `Serialize` fails. Every write of the
    /// library checks first ([`ToValue::try_to_value`]) and refuses such a value with
    /// [`Error::Bind`]; only a caller converting it by hand sees the `null`.
    fn to_value(&self) -> Value {
        self.encode()
            .unwrap_or(Value::Json(serde_json::Value::Null))
    }

    fn try_to_value(&self) -> Result<Value, Error> {
        self.encode()
    }

    fn check_encode(&self) -> Result<(), Error> {
        self.encode().map(drop)
    }
}

impl<T: DeserializeOwned> FromValue for Json<T> {
    const FAMILY: TypeFamily = TypeFamily::Json;

    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        let expected = || format!("Json<{}>", std::any::type_name::<T>());
        let misfit = |e: serde_json::Error| DecodeError {
            expected: expected(),
            found: format!("JSON that does not fit it ({e})"),
        };
        match value {
            ValueRef::Json(v) => serde_json::from_value(v.into_owned())
                .map(Json)
                .map_err(misfit),
            ValueRef::Text(t) => serde_json::from_str(&t).map(Json).map_err(misfit),
            ValueRef::Bytes(b) => serde_json::from_slice(b).map(Json).map_err(misfit),
            other => Err(DecodeError {
                expected: expected(),
                found: other.type_name().to_owned(),
            }),
        }
    }
}

impl ToValue for serde_json::Value {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Json(self.clone())
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        Value::Json(v)
    }
}
impl FromValue for serde_json::Value {
    const FAMILY: TypeFamily = TypeFamily::Json;

    #[inline]
    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Json(v) => Ok(v.into_owned()),
            ValueRef::Text(ref t) => serde_json::from_str(t).map_err(|e| DecodeError {
                expected: "serde_json::Value".into(),
                found: format!("text that is not JSON ({e})"),
            }),
            // A JSON path's number or boolean as SQLite's `json_extract` gives it.
            ValueRef::Int(n) => Ok(serde_json::Value::from(n)),
            ValueRef::Bool(b) => Ok(serde_json::Value::Bool(b)),
            ValueRef::Float(f) => serde_json::Number::from_f64(f)
                .map(serde_json::Value::Number)
                .ok_or_else(|| DecodeError::new("serde_json::Value", &value)),
            other => Err(DecodeError::new("serde_json::Value", &other)),
        }
    }
}
