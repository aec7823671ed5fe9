//! The exchange table's vocabulary: an [`Index`] names one of the 953 cells, a [`Value`] is the
//! byte it holds, and a [`Param`] is one `(index, value)` write or report.

use std::fmt;

use thiserror::Error;

/// The number of cells in the exchange table (indices `0..953`).
pub const TABLE_SIZE: u16 = 953;

/// A cell of the exchange table: always in `0..953`.
///
/// The box fails its whole cycle on an index ≥ 953, so no such index can be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Index(pub(crate) u16);

/// An index outside the exchange table.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("index {0} is out of the exchange table (0..=952)")]
pub struct IndexOutOfRange(pub u64);

impl Index {
    /// Builds an index, refusing anything ≥ 953.
    pub const fn new(raw: u16) -> Result<Self, IndexOutOfRange> {
        if raw < TABLE_SIZE {
            Ok(Self(raw))
        } else {
            Err(IndexOutOfRange(raw as u64))
        }
    }

    /// The index as a number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Every index of the table, in order.
    pub fn all() -> impl Iterator<Item = Index> {
        (0..TABLE_SIZE).map(Index)
    }

    /// Builds an index known at compile time; fails the build (or panics) if out of range.
    pub(crate) const fn known(raw: u16) -> Self {
        assert!(raw < TABLE_SIZE, "index out of range");
        Self(raw)
    }
}

impl TryFrom<u64> for Index {
    type Error = IndexOutOfRange;

    fn try_from(raw: u64) -> Result<Self, Self::Error> {
        if raw < u64::from(TABLE_SIZE) {
            Ok(Self(raw as u16))
        } else {
            Err(IndexOutOfRange(raw))
        }
    }
}

impl TryFrom<u16> for Index {
    type Error = IndexOutOfRange;

    fn try_from(raw: u16) -> Result<Self, Self::Error> {
        Self::new(raw)
    }
}

impl std::str::FromStr for Index {
    type Err = CellError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = parse_decimal(s).ok_or_else(|| CellError::NotAnIndex(s.to_string()))?;
        Ok(Index::try_from(raw)?)
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The byte held by a cell (0–255).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value(pub u8);

impl Value {
    /// The value as a byte.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl From<u8> for Value {
    fn from(raw: u8) -> Self {
        Self(raw)
    }
}

impl std::str::FromStr for Value {
    type Err = CellError;

    /// Parses a decimal value `"0"`…`"255"` (the form of every written value).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse_decimal(s) {
            Some(raw) if raw <= 255 => Ok(Value(raw as u8)),
            Some(_) => Err(CellError::ValueOutOfRange(s.to_string())),
            None => Err(CellError::NotAValue(s.to_string())),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One cell write or report: `{"k":613,"v":"64"}` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// The cell.
    pub index: Index,
    /// Its value.
    pub value: Value,
}

impl Param {
    /// A param from an index and a value.
    pub const fn new(index: Index, value: Value) -> Self {
        Self { index, value }
    }
}

/// Why a textual index or value was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CellError {
    /// The index is a number but not below 953.
    #[error(transparent)]
    IndexOutOfRange(#[from] IndexOutOfRange),
    /// The index is not a decimal number.
    #[error("index {0:?} is not a decimal number")]
    NotAnIndex(String),
    /// The value is a number above 255.
    #[error("value {0:?} is above 255 (a cell holds one byte)")]
    ValueOutOfRange(String),
    /// The value is not a decimal number.
    #[error("value {0:?} is not a decimal number 0..=255")]
    NotAValue(String),
}

/// Parses ASCII decimal digits (at most 9, no sign, no spaces) into a number.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > 9 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_refuses_953_and_above() {
        assert!(Index::new(952).is_ok());
        assert_eq!(Index::new(953), Err(IndexOutOfRange(953)));
        assert_eq!(
            Index::try_from(1_000_000u64),
            Err(IndexOutOfRange(1_000_000))
        );
        assert_eq!(
            IndexOutOfRange(953).to_string(),
            "index 953 is out of the exchange table (0..=952)"
        );
    }

    #[test]
    fn values_parse_as_decimal_bytes_only() {
        assert_eq!("0".parse::<Value>(), Ok(Value(0)));
        assert_eq!("255".parse::<Value>(), Ok(Value(255)));
        assert_eq!(
            "256".parse::<Value>(),
            Err(CellError::ValueOutOfRange("256".into()))
        );
        assert_eq!("".parse::<Value>(), Err(CellError::NotAValue("".into())));
        assert_eq!(
            "-1".parse::<Value>(),
            Err(CellError::NotAValue("-1".into()))
        );
        assert_eq!(
            " 1".parse::<Value>(),
            Err(CellError::NotAValue(" 1".into()))
        );
        assert_eq!(
            "abc".parse::<Value>(),
            Err(CellError::NotAValue("abc".into()))
        );
        assert_eq!(
            "9999999999".parse::<Value>(),
            Err(CellError::NotAValue("9999999999".into()))
        );
    }

    #[test]
    fn indices_parse_from_text() {
        assert_eq!("613".parse::<Index>(), Ok(Index(613)));
        assert!(matches!(
            "953".parse::<Index>(),
            Err(CellError::IndexOutOfRange(_))
        ));
        assert!(matches!(
            "x".parse::<Index>(),
            Err(CellError::NotAnIndex(_))
        ));
    }
}
