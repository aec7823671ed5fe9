//! How the box writes a value in `mystatus` (`legacy-protocol.md` §4), written here
//! independently of core's codec so that the two check each other.
//!
//! Every value is one byte sent as a decimal string, except the three cells 11 (`Alerte`), 920
//! (`EtatBP1`) and 921 (`EtatBP2`): those are 8-character binary strings, **least significant
//! bit first** (value 1 is `10000000`, 76 = 0x4C is `00110010`). Several old docs show them
//! MSB-first; the firmware code is LSB-first.

/// The cells reported as LSB-first binary strings: Alerte, EtatBP1, EtatBP2.
pub(crate) const BINARY_CELLS: [u16; 3] = [11, 920, 921];

/// The text the box reports for cell `raw` holding `value`: a binary string for 11/920/921,
/// decimal otherwise.
pub(crate) fn reported(raw: u16, value: u8) -> String {
    if BINARY_CELLS.contains(&raw) {
        binary_string(value)
    } else {
        value.to_string()
    }
}

/// `value` as 8 characters `0`/`1`, bit 0 first.
pub(crate) fn binary_string(value: u8) -> String {
    (0..8)
        .map(|bit| if value >> bit & 1 == 1 { '1' } else { '0' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of [`binary_string`], written apart from it: the character at position `i`
    /// weighs `2^i`.
    fn from_binary_string(text: &str) -> Option<u8> {
        if text.len() != 8 {
            return None;
        }
        let mut value = 0u8;
        let mut weight = 1u8;
        for c in text.chars() {
            match c {
                '1' => value += weight,
                '0' => {}
                _ => return None,
            }
            weight = weight.wrapping_mul(2);
        }
        Some(value)
    }

    #[test]
    fn the_documented_examples_are_lsb_first() {
        // legacy-protocol.md §4.
        assert_eq!(binary_string(1), "10000000");
        assert_eq!(binary_string(76), "00110010");
        assert_eq!(binary_string(0x4C), "00110010");
        // The §2 mystatus example: {k:11,v:"00000000"},{k:920,v:"10000000"} and {k:349,v:"17"}.
        assert_eq!(reported(11, 0), "00000000");
        assert_eq!(reported(920, 1), "10000000");
        assert_eq!(reported(349, 17), "17");
        // §4: 920 b0 alarm armed, b1 alarm triggered; 11 b1 washing-machine leak.
        assert_eq!(reported(920, 0b10), "01000000");
        assert_eq!(reported(11, 0b10), "01000000");
        assert_eq!(reported(921, 255), "11111111");
        assert_eq!(reported(613, 64), "64");
    }

    #[test]
    fn binary_strings_round_trip() {
        for value in 0..=255u8 {
            let text = binary_string(value);
            assert_eq!(text.len(), 8);
            assert_eq!(from_binary_string(&text), Some(value), "{text}");
        }
        assert_eq!(from_binary_string("1000000"), None);
        assert_eq!(from_binary_string("1000000x"), None);
    }

    /// The sim's codec must agree with core's: if this fails, one of the two is wrong (the
    /// documented examples above say which).
    #[test]
    fn core_agrees_with_the_sim() {
        use essensys_core::{codec, Index, Value};
        for value in 0..=255u8 {
            let theirs = codec::to_binary(Value(value));
            assert_eq!(theirs, binary_string(value).as_bytes(), "value {value}");
        }
        for raw in 0..953u16 {
            let index = Index::new(raw).expect("below 953");
            assert_eq!(
                codec::is_binary(index),
                BINARY_CELLS.contains(&raw),
                "cell {raw}"
            );
        }
    }
}
