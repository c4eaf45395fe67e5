//! `rust_decimal::Decimal` as a column and value type (feature `decimal`).
//!
//! PostgreSQL's `NUMERIC` travels exactly (binary, see the backend). SQLite has no decimal
//! type: a decimal of up to 15 significant digits is bound as the REAL holding it exactly
//! (one of more digits as text), which a `NUMERIC` column (what `decimal()` creates) keeps
//! as INTEGER or REAL, so a decimal reads back from whatever SQLite stored: an integer, a
//! REAL through its 15 significant digits (`19.99` stays `19.99`), or text.

use std::fmt::{self, Write};
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::value::{DecodeError, FromValue, ToValue, Value, ValueRef};

impl ToValue for Decimal {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Decimal(*self)
    }
}

impl From<Decimal> for Value {
    fn from(v: Decimal) -> Value {
        Value::Decimal(v)
    }
}

impl FromValue for Decimal {
    const FAMILY: crate::value::TypeFamily = crate::value::TypeFamily::Decimal;

    fn from_value(value: ValueRef<'_>) -> Result<Self, DecodeError> {
        match value {
            ValueRef::Decimal(d) => Ok(d),
            ValueRef::Int(i) => Ok(Decimal::from(i)),
            ValueRef::Float(f) => {
                // A double holds 15 significant decimal digits exactly: the decimal it
                // was written from, or the exact result of decimal arithmetic SQLite did
                // in doubles (0.1 added ten times is 0.9999999999999999 there, 1 here).
                let mut text = StackText::<64>::new();
                if !f.is_finite() || write!(text, "{f:.14e}").is_err() {
                    return Err(DecodeError::out_of_range("Decimal", f));
                }
                // Without the mantissa's trailing zeros, which would count against the
                // 28 decimal places a `Decimal` has (1e-15 is `1.00000000000000e-15`).
                let (mantissa, exponent) = text
                    .as_str()
                    .split_once('e')
                    .unwrap_or((text.as_str(), "0"));
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                let mut short = StackText::<64>::new();
                if write!(short, "{mantissa}e{exponent}").is_err() {
                    return Err(DecodeError::out_of_range("Decimal", f));
                }
                Decimal::from_scientific(short.as_str())
                    .map(|d| d.normalize())
                    .map_err(|_| DecodeError::out_of_range("Decimal", f))
            }
            ValueRef::Text(ref t) => parse(t).ok_or_else(|| DecodeError {
                expected: "Decimal".into(),
                found: format!("text {:?} that is not a decimal number", t.as_ref()),
            }),
            other => Err(DecodeError::new("Decimal", &other)),
        }
    }
}

/// Powers of ten a double holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The double nearest `d` when `d` has at most 15 significant digits (which a double
/// holds exactly, and SQLite keeps in a REAL); `None` for more.
pub(crate) fn as_exact_double(d: Decimal) -> Option<f64> {
    let d = d.normalize();
    let mantissa = d.mantissa();
    if mantissa.unsigned_abs() >= 1_000_000_000_000_000 {
        return None;
    }
    // Both operands are exact, and IEEE division rounds to the nearest double.
    let power = EXACT_POWERS_OF_TEN.get(d.scale() as usize)?;
    Some(mantissa as f64 / power)
}

/// Decimal text, plain (`-12.50`) or scientific (`1.5e3`), read without rounding.
fn parse(text: &str) -> Option<Decimal> {
    let text = text.trim();
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str_exact(text).ok()
    }
}

/// The value as an integer when it has no fractional part.
pub(crate) fn whole(d: Decimal) -> Option<i64> {
    if d.fract().is_zero() {
        d.to_i64()
    } else {
        None
    }
}

/// The value as an unsigned integer when it has no fractional part.
pub(crate) fn whole_u64(d: Decimal) -> Option<u64> {
    if d.fract().is_zero() {
        d.to_u64()
    } else {
        None
    }
}

/// The nearest `f64`, correctly rounded (through the decimal text, as a float literal).
pub(crate) fn nearest_f64(d: Decimal) -> f64 {
    let mut text = StackText::<64>::new();
    match write!(text, "{d}") {
        Ok(()) => f64::from_str(text.as_str()).unwrap_or(f64::NAN),
        Err(_) => d.to_f64().unwrap_or(f64::NAN),
    }
}

/// Text formatted on the stack (numbers read per row allocate nothing); writing more
/// than `N` bytes fails.
struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn reads_what_sqlite_stores() {
        assert_eq!(
            Decimal::from_value(ValueRef::Float(19.99)),
            Ok(dec("19.99"))
        );
        assert_eq!(Decimal::from_value(ValueRef::Float(0.3)), Ok(dec("0.3")));
        assert_eq!(
            Decimal::from_value(ValueRef::Float(-0.01)),
            Ok(dec("-0.01"))
        );
        assert_eq!(Decimal::from_value(ValueRef::Int(100)), Ok(dec("100")));
        assert_eq!(
            Decimal::from_value(ValueRef::Text("12345678901234567.89".into())),
            Ok(dec("12345678901234567.89"))
        );
        assert_eq!(
            Decimal::from_value(ValueRef::Text("1.5e3".into())),
            Ok(dec("1500"))
        );
        assert!(Decimal::from_value(ValueRef::Text("abc".into())).is_err());
        assert!(Decimal::from_value(ValueRef::Float(f64::NAN)).is_err());
        // Tiny values: up to the 28 places a Decimal has.
        assert_eq!(
            Decimal::from_value(ValueRef::Float(1e-15)),
            Ok(dec("0.000000000000001"))
        );
        assert_eq!(
            Decimal::from_value(ValueRef::Float(-1e-18)),
            Ok(dec("-0.000000000000000001"))
        );
        assert_eq!(
            Decimal::from_value(ValueRef::Float(1.5e-27)),
            Ok(dec("0.0000000000000000000000000015"))
        );
        assert_eq!(Decimal::from_value(ValueRef::Float(0.0)), Ok(dec("0")));
        assert!(Decimal::from_value(ValueRef::Float(1e300)).is_err());
        assert!(Decimal::from_value(ValueRef::Bool(true)).is_err());
    }

    #[test]
    fn reads_a_double_to_its_fifteen_significant_digits() {
        // What SQLite's arithmetic in doubles leaves: 0.1 added ten times, 19.99 + 0.40.
        assert_eq!(
            Decimal::from_value(ValueRef::Float(0.9999999999999999)),
            Ok(dec("1"))
        );
        assert_eq!(
            Decimal::from_value(ValueRef::Float(20.390000000000004)),
            Ok(dec("20.39"))
        );
        let read = Decimal::from_value(ValueRef::Float(19.99)).unwrap();
        assert_eq!(read.to_string(), "19.99");
        assert_eq!(
            Decimal::from_value(ValueRef::Float(123456789012345.0)),
            Ok(dec("123456789012345"))
        );
    }

    #[test]
    fn binds_as_a_double_only_what_a_double_holds_exactly() {
        assert_eq!(as_exact_double(dec("19.99")), Some(19.99));
        assert_eq!(as_exact_double(dec("-0.10")), Some(-0.1));
        assert_eq!(
            as_exact_double(dec("999999999999999")),
            Some(999_999_999_999_999.0)
        );
        assert_eq!(as_exact_double(dec("0.000000000000000000001")), Some(1e-21));
        assert_eq!(as_exact_double(dec("1234567890123456")), None);
        assert_eq!(as_exact_double(dec("0.1234567890123456")), None);
        assert_eq!(as_exact_double(dec("0.0000000000000000000000001")), None);
    }

    #[test]
    fn converts_to_floats_and_integers() {
        assert_eq!(nearest_f64(dec("19.99")), 19.99);
        assert_eq!(nearest_f64(dec("0.3")), 0.3);
        assert_eq!(whole(dec("42.000")), Some(42));
        assert_eq!(whole(dec("42.5")), None);
        assert_eq!(i32::from_value(ValueRef::Decimal(dec("7.00"))), Ok(7));
        assert!(i32::from_value(ValueRef::Decimal(dec("7.5"))).is_err());
        assert_eq!(f64::from_value(ValueRef::Decimal(dec("19.99"))), Ok(19.99));
        assert_eq!(
            String::from_value(ValueRef::Decimal(dec("19.90"))),
            Ok("19.90".to_owned())
        );
    }
}
