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

/// A new key for a model whose key is an `Option<Uuid>` left `None` (Eloquent's
/// `HasUuids`): a version 7 UUID, so keys sort by creation time, as the index of a
/// `UUID`/`CHAR(36)` key column prefers. Its 74 random bits come from SipHash under the
/// keys std seeds from the operating system once per thread, over a per-thread counter
/// and the clock's nanoseconds: unique without a random-number crate, not a secret.
#[doc(hidden)]
pub fn new_key() -> Value {
    use std::hash::{BuildHasher, Hasher};
    use std::time::{SystemTime, UNIX_EPOCH};

    thread_local! {
        static SEED: (std::collections::hash_map::RandomState, std::cell::Cell<u64>) =
            (std::collections::hash_map::RandomState::new(), std::cell::Cell::new(0));
    }
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let random = SEED.with(|(state, counter)| {
        let n = counter.get().wrapping_add(1);
        counter.set(n);
        let word = |salt: u64| {
            let mut hasher = state.build_hasher();
            hasher.write_u64(n);
            hasher.write_u64(salt);
            hasher.write_u128(since.as_nanos());
            hasher.finish().to_le_bytes()
        };
        let (a, b) = (word(0), word(1));
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&a);
        bytes[8..].copy_from_slice(&b[..2]);
        bytes
    });
    let millis = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_value()
}
