//! `uuid::Uuid` as a column type (feature `uuid`). Bound as its hyphenated text, which
//! PostgreSQL's `UUID` columns take natively (the backend writes the 16 bytes) and SQLite
//! and MySQL store in the `CHAR(36)` that `Blueprint::uuid` creates; read back from that
//! text, or from 16 bytes (a `BLOB`/`BINARY(16)` column).

use uuid::Uuid;

use crate::value::{DecodeError, FromValue, ToValue, TypeFamily, Value, ValueRef};

impl ToValue for Uuid {
    fn to_value(&self) -> Value {
        Value::Text(self.hyphenated().to_string())
    }
}

impl From<Uuid> for Value {
    fn from(v: Uuid) -> Value {
        v.to_value()
    }
}

impl FromValue for Uuid {
    const FAMILY: TypeFamily = TypeFamily::Text;

    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        let parsed = match &value {
            ValueRef::Text(text) => Uuid::parse_str(text.trim()).ok(),
            ValueRef::Bytes(bytes) => Uuid::from_slice(bytes).ok(),
            _ => None,
        };
        parsed.ok_or_else(|| DecodeError::new("Uuid", &value))
    }
}
