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
/// `UUID`/`CHAR(36)` key column prefers. Within the process the keys only grow: the 12
/// bits after the millisecond are a counter (RFC 9562, method 1) that starts at a random
/// value each millisecond and carries into the next. The other 62 bits are random: SipHash
/// under the keys std seeds from the operating system once per thread, over a per-thread
/// counter and the clock's nanoseconds; unique without a random-number crate, not a
/// secret.
#[doc(hidden)]
pub fn new_key() -> Value {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::Mutex;
    use std::time::{SystemTime, UNIX_EPOCH};

    thread_local! {
        static SEED: (std::collections::hash_map::RandomState, std::cell::Cell<u64>) =
            (std::collections::hash_map::RandomState::new(), std::cell::Cell::new(0));
    }
    /// The last key's millisecond and counter, which the next key must pass.
    static LAST: Mutex<(u64, u16)> = Mutex::new((0, 0));

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
    let now = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
    let (millis, counter) = {
        let mut last = LAST
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = if now > last.0 {
            // A fresh millisecond: the counter starts low enough to leave room.
            (now, u16::from_le_bytes([random[8], random[9]]) & 0x07FF)
        } else if last.1 < 0x0FFF {
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last
    };
    let mut bytes = random;
    bytes[0] = (counter >> 8) as u8;
    bytes[1] = counter as u8;
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_value()
}
