//! The box's textual cell values.
//!
//! Every value travels as a decimal string (`"0"`…`"255"`), except that the box *reports* the
//! three cells 11, 920 and 921 as 8-character binary strings, **least significant bit first**
//! (value 1 ⇔ `"10000000"`, 76 ⇔ `"00110010"`). Writes to the box are always decimal.

use crate::{catalog::BINARY_INDICES, cell::Index, Value};

/// Whether the box reports `index` as a binary string.
pub fn is_binary(index: Index) -> bool {
    BINARY_INDICES.contains(&index)
}

/// Renders a value as the box's 8-character LSB-first binary string.
pub fn to_binary(value: Value) -> [u8; 8] {
    let mut out = [b'0'; 8];
    for (bit, slot) in out.iter_mut().enumerate() {
        if value.0 & (1 << bit) != 0 {
            *slot = b'1';
        }
    }
    out
}

/// Reads an 8-character LSB-first binary string; `None` unless it is exactly 8 `0`/`1`.
pub fn from_binary(text: &[u8]) -> Option<Value> {
    if text.len() != 8 {
        return None;
    }
    let mut value = 0u8;
    for (bit, c) in text.iter().enumerate() {
        match c {
            b'1' => value |= 1 << bit,
            b'0' => {}
            _ => return None,
        }
    }
    Some(Value(value))
}

/// Reads a decimal value `0`…`255` (no sign, no spaces, leading zeros allowed up to 3 digits).
pub fn from_decimal(text: &[u8]) -> Option<Value> {
    if text.is_empty() || text.len() > 3 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = text.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    u8::try_from(n).ok().map(Value)
}

/// Decodes a value as the box reports it for `index`: a binary string for 11/920/921 (a decimal
/// is accepted there too, from older tools), a decimal string elsewhere.
pub fn decode_reported(index: Index, text: &[u8]) -> Option<Value> {
    if is_binary(index) {
        from_binary(text).or_else(|| from_decimal(text))
    } else {
        from_decimal(text)
    }
}

/// Appends `value` as the box reports it for `index` (binary for 11/920/921, else decimal).
pub fn encode_reported(index: Index, value: Value, out: &mut Vec<u8>) {
    if is_binary(index) {
        out.extend_from_slice(&to_binary(value));
    } else {
        push_decimal(out, u32::from(value.0));
    }
}

/// Appends the decimal digits of `n` to `out` without allocating.
pub fn push_decimal(out: &mut Vec<u8>, n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The number of decimal digits of `n`.
pub const fn decimal_len(n: u32) -> usize {
    let mut len = 1;
    let mut n = n / 10;
    while n > 0 {
        len += 1;
        n /= 10;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_strings_are_lsb_first() {
        assert_eq!(&to_binary(Value(1)), b"10000000");
        assert_eq!(&to_binary(Value(76)), b"00110010");
        assert_eq!(from_binary(b"10000000"), Some(Value(1)));
        assert_eq!(from_binary(b"00110010"), Some(Value(76)));
        assert_eq!(from_binary(b"1000000"), None);
        assert_eq!(from_binary(b"1000000x"), None);
    }

    #[test]
    fn reported_values_decode_by_index() {
        let alerte = Index::known(11);
        let heating = Index::known(349);
        assert_eq!(decode_reported(alerte, b"10000000"), Some(Value(1)));
        assert_eq!(decode_reported(alerte, b"5"), Some(Value(5)));
        assert_eq!(decode_reported(heating, b"17"), Some(Value(17)));
        assert_eq!(decode_reported(heating, b"10000000"), None);
        assert_eq!(decode_reported(heating, b"256"), None);
        assert_eq!(decode_reported(heating, b""), None);
    }

    #[test]
    fn decimal_helpers_agree_with_std() {
        for n in [0u32, 9, 10, 99, 100, 255, 1499, 65_535, u32::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }
}
